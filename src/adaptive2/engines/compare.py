"""Designs side by side under one scenario grid.

Single-cohort designs are evaluated exactly (:func:`adaptive2.engines.exact.oc`) on the grid
of the cohort whose null rate they share; multi-cohort designs exactly with the
borrowing engine (:func:`adaptive2.engines.cohort_exact.cohort_oc`) on the two-cohort
scenarios. ``p_efficacy`` is labelled type I error or power by the scenario's
role. All figures here are exact, so no MCSE column is needed (it would be 0).


Scenario files are read by :func:`adaptive2.io.scenario_files.load_scenarios`;
the comparison is written out by :func:`adaptive2.views.comparison.write_outputs`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from adaptive2._base.validation import fail
from adaptive2.engines.calibration import worst_case_alpha
from adaptive2.engines.cohort_exact import cohort_oc
from adaptive2.engines.exact import oc
from adaptive2.engines.null_region import null_region
from adaptive2.model.cohorts import CohortDesign
from adaptive2.model.designs import Design
from adaptive2.model.scenarios import ScenarioGrid

__all__ = ["compare", "design_scenarios", "oc_rows"]

LABEL = {"null": "type I error", "alternative": "power", "other": "P(efficacy)"}


def compare(
    designs: Sequence[Any],
    scenarios: ScenarioGrid | None = None,
    *,
    results: Mapping[str, Any] | None = None,
    null_regions: Mapping[str, Any] | None = None,
) -> Any:
    """One tidy table of OC for every design, scenario (and cohort).

    Parameters
    ----------
    designs : sequence of Design or CohortDesign
    scenarios : ScenarioGrid, optional
        Default: each design's own scenarios.
    results : mapping, optional
        Design name → its OC Dataset (from :func:`adaptive2.engines.exact.oc` or
        :func:`adaptive2.engines.cohort_exact.cohort_oc` on the scenarios given by
        :func:`design_scenarios`), used instead of computing it again.
    null_regions : mapping, optional
        Design name → its :func:`adaptive2.engines.null_region.null_region` (multi-cohort
        designs), used instead of computing it again.

    Returns
    -------
    pandas.DataFrame
        Columns ``design``, ``cohort``, ``scenario``, ``p``, ``role``, ``label``,
        ``p_efficacy``, ``p_futility``, ``p_early_stop``, ``expected_n``, ``sd_n``,
        ``max_n``, ``fwer`` (multi-cohort only), ``max_type1`` and ``max_type1_at``
        (the cohort's type I error supremum over the whole null region and where it
        sits: p ≤ p0 for a single cohort; with the other cohorts anywhere in their
        range under borrowing), ``max_fwer`` and ``fwer_global_null`` (multi-cohort
        only), ``method``.
    """
    import pandas as pd


    items = list(designs) if isinstance(designs, Sequence) else [designs]
    if not items:
        raise fail("designs", "compare", "at least one design", items)
    if scenarios is not None and not isinstance(scenarios, ScenarioGrid):
        raise fail("scenarios", "compare",
                   "a ScenarioGrid (adaptive2.load_scenarios(file)) or None for each design's "
                   "own scenarios", scenarios)
    rows = []
    for d in items:
        if not isinstance(d, Design | CohortDesign):
            raise fail("designs", "compare", "Design or CohortDesign objects", type(d).__name__)
        ds = (results or {}).get(d.name)
        if ds is None:
            scen = design_scenarios(d, scenarios)
            ds = cohort_oc(d, scen) if isinstance(d, CohortDesign) else oc(d, scen)
        worst = _worst_cases(d, (null_regions or {}).get(d.name))
        rows += [{**r, **worst[r["cohort"]]} for r in oc_rows(d, ds)]
    return pd.DataFrame(rows)


def _worst_cases(design: Any, nr: Any) -> dict[str, dict[str, Any]]:
    """Per cohort ("" for a single cohort): the null-region supremum columns of :func:`compare`."""
    nan = float("nan")
    if not isinstance(design, CohortDesign):
        if design.p0 is None or hasattr(design.p0, "a"):
            return {"": {"max_type1": nan, "max_type1_at": "", "max_fwer": nan,
                         "fwer_global_null": nan}}
        a, where = worst_case_alpha(design)
        return {"": {"max_type1": a, "max_type1_at": f"p={where:g}", "max_fwer": nan,
                     "fwer_global_null": nan}}
    nr = nr if nr is not None else null_region(design)
    return {
        c: {
            "max_type1": sup.max_type1,
            "max_type1_at": ", ".join(f"{n}={v:.4f}" for n, v in sup.argmax.items()),
            "max_fwer": nr.max_fwer,
            "fwer_global_null": nr.fwer_global_null,
        }
        for c, sup in nr.cohorts.items()
    }


def design_scenarios(design: Any, scenarios: ScenarioGrid | None) -> Any:
    """The scenarios a design is compared on: its cohort's grid, else its own (``None``)."""
    if scenarios is None:
        return None
    if isinstance(design, CohortDesign):
        return scenarios.multi or None
    p0 = design.p0
    return None if p0 is None or hasattr(p0, "a") else scenarios.for_p0(float(p0))


def oc_rows(design: Any, ds: Any) -> list[dict[str, Any]]:
    """Rows of the comparison table for one design's exact OC Dataset.

    Multi-cohort Datasets give one row per scenario and cohort (with ``fwer``
    and ``p_all_correct``); single-cohort ones one row per scenario.
    """
    multi = "cohort" in ds.dims
    rows = []
    for si, sname in enumerate(ds["scenario"].values):
        for ci, cname in enumerate(ds["cohort"].values if multi else [""]):
            idx = (si, ci) if multi else (si,)
            role = str(ds["role"].values[idx])
            rows.append(
                {
                    "design": design.name,
                    "cohort": str(cname),
                    "scenario": str(sname),
                    "p": float(ds["rate" if multi else "p"].values[idx]),
                    "role": role,
                    "label": LABEL[role],
                    **{
                        v: float(ds[v].values[idx])
                        for v in ("p_efficacy", "p_futility", "p_early_stop", "expected_n",
                                  "sd_n")
                    },
                    "max_n": design.cohorts[ci].looks[-1] if multi else design.n_max,
                    "fwer": float(ds["fwer"].values[si]) if multi else float("nan"),
                    "p_all_correct": float(ds["p_all_correct"].values[si]) if multi
                    else float("nan"),
                    "method": "exact (quadrature)" if multi else "exact",
                }
            )
    return rows
