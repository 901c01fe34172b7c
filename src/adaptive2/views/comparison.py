"""The design comparison written out: CSV at full precision, JSON and Markdown."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from adaptive2._base.files import dir_mode, write_text
from adaptive2._base.formatting import jsonable, number

__all__ = ["write_outputs"]


def write_outputs(table: Any, out: str | Path) -> list[Path]:
    """Write the comparison as CSV, JSON and Markdown into ``out`` (each file atomically)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True, mode=dir_mode())
    texts = {
        "compare.csv": table.to_csv(index=False),
        "compare.json": json.dumps(jsonable(table.to_dict("records")), indent=1),
        "compare.md": _markdown(table),
    }
    return [write_text(out / name, text) for name, text in texts.items()]


def _markdown(table: Any) -> str:
    cols = [
        "design",
        "cohort",
        "scenario",
        "p",
        "label",
        "p_efficacy",
        "p_early_stop",
        "expected_n",
        "sd_n",
        "max_n",
        "fwer",
        "max_type1",
        "max_type1_at",
    ]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in table.to_dict("records"):
        cells = []
        for c in cols:
            cells.append(number(r[c], missing="").replace("|", "\\|"))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
