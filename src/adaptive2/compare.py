"""Designs side by side under one scenario grid.

Single-cohort designs are evaluated exactly (:func:`adaptive2.oc.oc`) on the grid
of the cohort whose null rate they share; multi-cohort designs exactly with the
borrowing engine (:func:`adaptive2.multicohort.cohort_oc`) on the two-cohort
scenarios. ``p_efficacy`` is labelled type I error or power by the scenario's
role. All figures here are exact, so no MCSE column is needed (it would be 0).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adaptive2._validation import fail
from adaptive2.designs import Design
from adaptive2.errors import DesignFileError
from adaptive2.scenarios import Scenario

__all__ = ["ScenarioGrid", "compare", "load_scenarios"]

LABEL = {"null": "type I error", "alternative": "power", "other": "P(efficacy)"}


@dataclass(frozen=True)
class ScenarioGrid:
    """Per-cohort rates with roles, and multi-cohort scenarios."""

    cohorts: dict[str, tuple[float, tuple[Scenario, ...]]]  # name -> (p0, scenarios)
    multi: tuple[Any, ...] = ()

    def for_p0(self, p0: float) -> tuple[Scenario, ...] | None:
        """Scenarios of the cohort whose null rate is ``p0``."""
        for q0, scen in self.cohorts.values():
            if abs(q0 - p0) < 1e-12:
                return scen
        return None


def load_scenarios(path: str | Path) -> ScenarioGrid:
    """Read a scenario file (see ``designs/scenarios.toml``)."""
    from adaptive2.io import read_toml
    from adaptive2.multicohort import CohortScenario

    data = read_toml(path)
    cohorts: dict[str, tuple[float, tuple[Scenario, ...]]] = {}
    multi = []
    for key, value in data.items():
        if key == "two_cohort":
            if not isinstance(value, list):
                raise DesignFileError(f"{path}: [[two_cohort]] must be an array of tables.")
            for i, s in enumerate(value):
                d = dict(s)
                name = d.pop("name", f"scenario {i + 1}")
                try:
                    multi.append(CohortScenario(name, tuple(d.items())))
                except ValueError as exc:
                    raise DesignFileError(f"{path}: [[two_cohort]] {i + 1}: {exc}") from None
            continue
        if not isinstance(value, dict) or "p0" not in value:
            raise DesignFileError(
                f"{path}: [{key}] must be a cohort table with `p0` and "
                "`null` / `other` / `alternative` rates."
            )
        unknown = set(value) - {"p0", "null", "other", "alternative"}
        if unknown:
            raise DesignFileError(
                f"{path}: [{key}] unknown key `{sorted(unknown)[0]}`; allowed "
                "keys: p0, null, other, alternative."
            )
        scen = []
        for role in ("null", "other", "alternative"):
            for p in value.get(role, []):
                try:
                    scen.append(Scenario(f"p={p:g}", p, role))
                except (TypeError, ValueError) as exc:
                    raise DesignFileError(f"{path}: [{key}] `{role}`: {exc}") from None
        scen.sort(key=lambda s: s.p)
        cohorts[key] = (float(value["p0"]), tuple(scen))
    return ScenarioGrid(cohorts=cohorts, multi=tuple(multi))


def compare(designs: Sequence[Any], scenarios: ScenarioGrid | None = None) -> Any:
    """One tidy table of OC for every design, scenario (and cohort).

    Parameters
    ----------
    designs : sequence of Design or CohortDesign
    scenarios : ScenarioGrid, optional
        Default: each design's own scenarios.

    Returns
    -------
    pandas.DataFrame
        Columns ``design``, ``cohort``, ``scenario``, ``p``, ``role``, ``label``,
        ``p_efficacy``, ``p_futility``, ``p_early_stop``, ``expected_n``, ``sd_n``,
        ``max_n``, ``fwer`` (multi-cohort only), ``method``.
    """
    import pandas as pd

    from adaptive2.multicohort import CohortDesign, cohort_oc
    from adaptive2.oc import oc

    items = list(designs)
    if not items:
        raise fail("designs", "compare", "at least one design", items)
    rows = []
    for d in items:
        if isinstance(d, CohortDesign):
            scen = scenarios.multi if scenarios is not None and scenarios.multi else None
            ds = cohort_oc(d, scen)
            for si, sname in enumerate(ds["scenario"].values):
                for ci, cname in enumerate(ds["cohort"].values):
                    role = str(ds["role"].values[si, ci])
                    rows.append(
                        {
                            "design": d.name,
                            "cohort": str(cname),
                            "scenario": str(sname),
                            "p": float(ds["rate"].values[si, ci]),
                            "role": role,
                            "label": LABEL[role],
                            "p_efficacy": float(ds["p_efficacy"].values[si, ci]),
                            "p_futility": float(ds["p_futility"].values[si, ci]),
                            "p_early_stop": float(ds["p_early_stop"].values[si, ci]),
                            "expected_n": float(ds["expected_n"].values[si, ci]),
                            "sd_n": float(ds["sd_n"].values[si, ci]),
                            "max_n": d.cohorts[ci].looks[-1],
                            "fwer": float(ds["fwer"].values[si]),
                            "method": "exact (quadrature)",
                        }
                    )
            continue
        if not isinstance(d, Design):
            raise fail("designs", "compare", "Design or CohortDesign objects", type(d).__name__)
        scen = None
        if scenarios is not None and d.p0 is not None and not hasattr(d.p0, "a"):
            scen = scenarios.for_p0(float(d.p0))
        ds = oc(d, scen)
        for si, sname in enumerate(ds["scenario"].values):
            role = str(ds["role"].values[si])
            rows.append(
                {
                    "design": d.name,
                    "cohort": "",
                    "scenario": str(sname),
                    "p": float(ds["p"].values[si]),
                    "role": role,
                    "label": LABEL[role],
                    "p_efficacy": float(ds["p_efficacy"].values[si]),
                    "p_futility": float(ds["p_futility"].values[si]),
                    "p_early_stop": float(ds["p_early_stop"].values[si]),
                    "expected_n": float(ds["expected_n"].values[si]),
                    "sd_n": float(ds["sd_n"].values[si]),
                    "max_n": d.n_max,
                    "fwer": float("nan"),
                    "method": "exact",
                }
            )
    return pd.DataFrame(rows)


def write_outputs(table: Any, out: str | Path) -> list[Path]:
    """Write the comparison as CSV, JSON and Markdown into ``out`` (atomically)."""
    import json
    import math
    import os

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    records = [
        {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
        for r in table.to_dict("records")
    ]
    texts = {
        "compare.csv": table.to_csv(index=False),
        "compare.json": json.dumps(records, indent=1),
        "compare.md": _markdown(table),
    }
    for name, text in texts.items():
        path = out / name
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
        paths.append(path)
    return paths


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
    ]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in table.to_dict("records"):
        cells = []
        for c in cols:
            v = r[c]
            if isinstance(v, float):
                cells.append("" if v != v else f"{v:.4f}")
            else:
                cells.append(str(v).replace("|", "\\|"))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
