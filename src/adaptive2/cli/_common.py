"""What every command shares: input errors, number lists, plain tables, JSON, design files."""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from typing import Any

from adaptive2._base.formatting import number
from adaptive2.io.design_files import load_any, save_any


class _BadInput(Exception):
    """Bad command-line input: exit 2 with one line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse's own errors also exit 2, one line
        raise _BadInput(f"{self.prog}: {message}")


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------
def _floats(text: str, what: str, count: int | None = None) -> list[float]:
    try:
        vals = [float(x) for x in text.replace(" ", "").split(",") if x != ""]
    except ValueError:
        raise _BadInput(f"{what} must be comma-separated numbers; got {text!r}") from None
    if count is not None and len(vals) != count:
        raise _BadInput(f"{what} must have {count} comma-separated numbers; got {text!r}")
    if not vals or not all(math.isfinite(v) for v in vals):
        raise _BadInput(f"{what} must be finite comma-separated numbers; got {text!r}")
    return vals


def _table(rows: list[dict[str, Any]], columns: Sequence[str], digits: int = 4) -> str:
    cells = [[number(r.get(c), digits, missing="-") for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.rjust(w) for c, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(v.rjust(w) for v, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(lines)


def _emit(args: argparse.Namespace, payload: Any, text: str) -> None:
    if args.json:
        print(json.dumps(payload, indent=2, allow_nan=False))
    else:
        print(text)


# ---------------------------------------------------------------------------
# boundaries / oc
# ---------------------------------------------------------------------------
def _load(path: str) -> Any:

    return load_any(path)


def _is_multi(design: Any) -> bool:
    # the module is loaded iff a multi-cohort design was; keeps the single-cohort path light
    module = sys.modules.get("adaptive2.model.cohorts")
    return module is not None and isinstance(design, module.CohortDesign)


def _ranges_arg(args: argparse.Namespace, design: Any) -> dict[str, tuple[float, float]] | None:
    """``--range NAME=LO,HI`` (repeatable) over the design's own ranges."""
    if not args.range:
        return None
    if not _is_multi(design):
        raise _BadInput("--range applies to multi-cohort designs (a neighbour's plausible rates)")
    out = dict(design.ranges)
    for text in args.range:
        name, sep, rest = text.partition("=")
        if not sep or name not in out:
            raise _BadInput(
                f"--range must be COHORT=LOW,HIGH with COHORT one of {design.names}; got {text!r}"
            )
        lo, hi = _floats(rest, f"--range {name}", 2)
        if not 0.0 <= lo < hi <= 1.0:
            raise _BadInput(f"--range {name} must satisfy 0 <= LOW < HIGH <= 1; got {rest!r}")
        out[name] = (lo, hi)
    return out


def _write_design(design: Any, path: str) -> None:

    save_any(design, path)
