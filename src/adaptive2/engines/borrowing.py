"""What borrowing buys, and what it costs: against independent analysis at matched α.

With borrowing, a null cohort's type I error depends on its neighbours' true
rates; without it, it does not. A fair comparison therefore holds α fixed over
the whole null region: :func:`borrowing_summary` calibrates the *independent
twin* of a design — the same cohorts, looks and rules, each cohort analysed
alone (historical strata tied to it kept, since they are the cohort's own prior
information) — so that each cohort's type I error is the largest not above the
borrowing design's null-region supremum, and then compares power at every
alternative configuration and along the neighbour's rate.

It reports, per cohort:

* ``max_type1``: the borrowing design's null-region supremum and where it sits;
* ``type1_same_cutoffs`` and ``type1_inflation``: the independent twin with the
  design's own cutoffs, and how far borrowing lifts the supremum above it;
* ``type1_independent`` and ``independent_cutoff``: the matched twin;

and, per cohort and alternative configuration (listed scenarios where the cohort
is at or above its p1, the global alternative, the cohort at its p1 with every
other cohort at its p0), the power with borrowing, of the matched twin, and the
gain. Curves of power and type I error against each neighbour's rate show the
trade-off plainly: borrowing helps when the neighbour works and costs when it
does not (Kopp-Schneider et al. 2020, Biometrical Journal 62:361).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from adaptive2._base.validation import fail
from adaptive2.engines.cohort_calibration import calibrate_cohorts
from adaptive2.engines.cohort_exact import efficacy_matrix
from adaptive2.engines.null_region import NullRegion, null_region
from adaptive2.model.cohorts import CohortDesign, cohort_roles
from adaptive2.model.hierarchical import Model
from adaptive2.model.rules import PosteriorProbability

__all__ = ["BorrowingSummary", "alternatives", "borrowing_summary", "independent_twin"]


@dataclass(frozen=True)
class BorrowingSummary:
    """Result of :func:`borrowing_summary`.

    Attributes
    ----------
    type1 : pandas.DataFrame
        Per cohort (index): ``max_type1``, ``attained_at``, ``type1_same_cutoffs``,
        ``type1_inflation``, ``type1_independent``, ``design_cutoff``,
        ``independent_cutoff``.
    power : pandas.DataFrame
        Per cohort and alternative configuration: ``configuration`` (rates),
        ``scenario`` (its listed name, if any), ``power``, ``power_independent``,
        ``power_gain``.
    curves : pandas.DataFrame
        Per cohort and neighbour (``against``) and the neighbour's ``rate``:
        ``type1`` (borrowing, the sup over the cohort's own null rates),
        ``type1_independent``, ``power`` (cohort at its p1), ``power_independent``.
    null_region : NullRegion
        Of the borrowing design.
    independent : CohortDesign
        The matched independent twin.
    """

    type1: Any
    power: Any
    curves: Any
    null_region: NullRegion
    independent: CohortDesign

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "type1": self.type1.reset_index().to_dict("records"),
            "power": self.power.to_dict("records"),
        }


def independent_twin(design: CohortDesign) -> CohortDesign:
    """The same design analysed without borrowing across cohorts.

    Each cohort keeps its own NEX prior and any historical stratum tied to it;
    exchangeable strata (which inform every cohort through the hierarchy) go.
    """
    if not isinstance(design, CohortDesign):
        raise fail("design", "independent_twin", "a CohortDesign", type(design).__name__)
    tied = tuple(h for h in design.model.historical if h.tie is not None)
    m = design.model
    model = Model(kind="independent", scale=m.scale, nex_mean=m.nex_mean, nex_sd=m.nex_sd,
                  historical=tied)
    return dataclasses.replace(design, model=model, name=f"{design.name} (independent)")


def alternatives(
    design: CohortDesign, j: int, scenarios: Sequence[Any] | None = None
) -> tuple[np.ndarray, list[str]]:
    """Alternative configurations of cohort ``j`` and their listed names ("" if none).

    The global alternative (every cohort at its p1), cohort j at its p1 with every
    other cohort at its p0, and every listed scenario (default the design's) where
    cohort j's rate is at or above its p1; duplicates removed.
    """
    p0 = [c.p0 for c in design.cohorts]
    p1 = [c.p1 if c.p1 is not None else c.p0 for c in design.cohorts]
    rows: list[tuple[tuple[float, ...], str]] = [
        (tuple(p1), ""),
        (tuple(p1[i] if i == j else p0[i] for i in range(len(p0))), ""),
    ]
    for s in design.scenarios if scenarios is None else scenarios:
        if cohort_roles(design, s)[j] == "alternative":
            rows.append((tuple(s.rate(c.name) for c in design.cohorts), s.name))
    out: dict[tuple[float, ...], str] = {}
    for r, name in rows:
        if not out.get(r):
            out[r] = name
    return np.array(list(out), dtype=float), list(out.values())


def _p_eff(design: CohortDesign, rates: np.ndarray) -> np.ndarray:
    T, E = efficacy_matrix(design, rates)
    return cast(np.ndarray, T @ E.astype(float))


def borrowing_summary(
    design: CohortDesign,
    scenarios: Sequence[Any] | None = None,
    *,
    null: NullRegion | None = None,
) -> BorrowingSummary:
    """Type I error inflation and power gain of borrowing, at matched α.

    Parameters
    ----------
    design : CohortDesign
    scenarios : sequence of Scenario, optional
        Listed scenarios whose alternatives are compared (default the design's).
    null : NullRegion, optional
        The design's :func:`~adaptive2.engines.null_region.null_region`, if already computed.
        The curves are evaluated on its neighbour-rate grid.

    Returns
    -------
    BorrowingSummary
    """
    import pandas as pd

    if not isinstance(design, CohortDesign):
        raise fail("design", "borrowing_summary", "a CohortDesign", type(design).__name__)
    nr = null if null is not None else null_region(design)
    names = design.names
    twin = independent_twin(design)
    same = null_region(twin, fwer=False)
    matched = calibrate_cohorts(
        twin, alpha={c: nr.cohorts[c].max_type1 for c in names}, scenarios=()
    ).design
    flat = null_region(matched, fwer=False)
    type1 = []
    power = []
    for j, c in enumerate(names):
        sup = nr.cohorts[c]
        # final rules are posterior rules: calibrate_cohorts above refuses any other kind
        type1.append({
            "cohort": c,
            "max_type1": sup.max_type1,
            "attained_at": ", ".join(f"{n}={v:.4f}" for n, v in sup.argmax.items()),
            "type1_same_cutoffs": same.cohorts[c].max_type1,
            "type1_inflation": sup.max_type1 - same.cohorts[c].max_type1,
            "type1_independent": flat.cohorts[c].max_type1,
            "design_cutoff": float(cast(PosteriorProbability, design.rule("final", c)).cutoff),
            "independent_cutoff": float(
                cast(PosteriorProbability, matched.rule("final", c)).cutoff
            ),
        })
        rates, labels = alternatives(design, j, scenarios)
        pb = _p_eff(design, rates)[:, j]
        pi = _p_eff(matched, rates)[:, j]
        for r, lab, b, i in zip(rates, labels, pb, pi, strict=True):
            power.append({
                "cohort": c,
                "configuration": ", ".join(f"{n}={v:g}" for n, v in zip(names, r, strict=True)),
                "scenario": lab,
                "power": float(b),
                "power_independent": float(i),
                "power_gain": float(b - i),
            })
    curves = []
    for j, c in enumerate(names):
        p1 = design.cohorts[j].p1
        for k, o in enumerate(names):
            if k == j:
                continue
            t1 = nr.cohorts[c].curve(o)
            grid = t1[o].values
            t1i = flat.cohorts[c].curve(o).interp({o: grid})  # flat: exact at any rate
            rates = np.array([[design.cohorts[i].p0 for i in range(len(names))]] * len(grid))
            rates[:, k] = grid
            if p1 is not None:
                rates[:, j] = p1
                pb = _p_eff(design, rates)[:, j]
                pi = _p_eff(matched, rates)[:, j]
            else:
                pb = pi = np.full(len(grid), np.nan)
            for x, a, ai, b, i in zip(grid, t1.values, t1i.values, pb, pi, strict=True):
                curves.append({
                    "cohort": c,
                    "against": o,
                    "rate": float(x),
                    "type1": float(a),
                    "type1_independent": float(ai),
                    "power": float(b),
                    "power_independent": float(i),
                })
    return BorrowingSummary(
        type1=pd.DataFrame(type1).set_index("cohort"),
        power=pd.DataFrame(power),
        curves=pd.DataFrame(curves),
        null_region=nr,
        independent=matched,
    )
