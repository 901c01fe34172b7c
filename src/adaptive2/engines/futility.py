"""Futility rules that earn their interim looks: exact futility calibration.

An interim look costs an analysis; a futility rule that almost never stops a
null cohort saves nothing for it. :func:`calibrate_futility` chooses the futility
cutoff (posterior ``cutoff``, predictive ``threshold`` or BOP2 ``lambda``) that
maximises P(early stop | null) subject to a power loss of at most δ
(``max_power_loss``, default 0.02) against the same design with no futility
stop, at the alternative. A larger cutoff stops more often, so P(early stop |
null) and the power loss both grow with it and the best cutoff is the largest
feasible one; it is found exactly, over the distinct decision tables, and
written in the middle of the interval of values giving that table.

* Single-cohort designs: the power is P(efficacy | p1) and the objective
  P(stop before the final look | p0), both from the exact dynamic programme.
* Multi-cohort designs: per cohort (posterior or predictive futility rules), the
  power loss is the largest over the alternative configurations — every listed
  scenario where the cohort's rate is at or above its p1, the global
  alternative, and the cohort at its p1 with every other cohort at its p0 —
  and the objective is P(the cohort stops early | global null). A cohort's
  futility stops change the others' data at their analyses, so the cohorts
  are cycled until no cutoff moves.

Futility reduces type I error when it is binding; its effect on α is reported
(with the futility rule binding) so that the final cutoffs can be re-calibrated
if wanted (``adaptive2 calibrate``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from adaptive2._base.errors import CalibrationError, DesignError
from adaptive2._base.formatting import jsonable
from adaptive2._base.resources import require_memory
from adaptive2._base.validation import check_int, check_probability, check_real, fail
from adaptive2.engines.borrowing import alternatives
from adaptive2.engines.calibration import (
    _ATTR,
    _Family,
    _planning,
    _same_table_interval,
    set_parameter,
)
from adaptive2.engines.cohort_calibration import gaps
from adaptive2.engines.cohort_exact import _run_batch, efficacy_matrix
from adaptive2.engines.sizes import REMEDY_CALIBRATE, REMEDY_COHORTS, calibration_cost
from adaptive2.kernels.binomial import stop_probabilities
from adaptive2.kernels.cutoffs import central_cutoff, shortest_decimal
from adaptive2.kernels.sizes import Cost, cohort_cost
from adaptive2.model.cohorts import CohortDesign, attainable
from adaptive2.model.designs import Boundaries, Design
from adaptive2.model.rules import PosteriorProbability, PredictiveProbability

__all__ = ["FutilityCalibration", "calibrate_futility"]

_PARAMETER = {"posterior": "futility.cutoff", "predictive": "futility.threshold",
              "bop2": "futility.lambda"}


@dataclass(frozen=True)
class FutilityCalibration:
    """Result of :func:`calibrate_futility`.

    Attributes
    ----------
    design : Design or CohortDesign
        The design with the calibrated futility rule(s).
    table : pandas.DataFrame
        One row per cohort (the design's name for a single cohort):
        ``parameter``, ``before`` and ``after`` (its value), ``p_early_stop_null_before``
        / ``_after``, ``expected_n_null_before`` / ``_after``, ``power_no_futility``,
        ``power_after``, ``power_loss`` (at the worst alternative), ``feasible``.
    max_power_loss : float
    message : str
    """

    design: Any
    table: Any
    max_power_loss: float
    message: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (``adaptive2 calibrate DESIGN --futility --json``)."""
        rows = self.table.reset_index().to_dict("records")
        return {
            "parameters": {f"{r['cohort']}.{r['parameter']}" if self._multi else r["parameter"]:
                           r["after"] for r in rows},
            "max_power_loss": self.max_power_loss,
            "cohorts": {r["cohort"]: {k: jsonable(v) for k, v in r.items() if k != "cohort"}
                        for r in rows},
            "feasible": bool(self.table["feasible"].all()),
            "message": self.message,
        }

    @property
    def _multi(self) -> bool:
        return isinstance(self.design, CohortDesign)


def calibrate_futility(
    design: Design | CohortDesign,
    *,
    max_power_loss: float = 0.02,
    parameter: str | None = None,
    within: tuple[float, float] | None = None,
    margin: float = 1e-5,
    rounds: int = 4,
) -> FutilityCalibration:
    """Most aggressive futility rule whose power loss is at most ``max_power_loss``.

    Parameters
    ----------
    design : Design or CohortDesign
        With a futility rule (single cohort: posterior, predictive or BOP2;
        multi-cohort: posterior or predictive, shared or per cohort).
    max_power_loss : float
        δ: largest allowed drop in P(efficacy) at the alternative against the
        design with no futility stop (default 0.02).
    parameter : str, optional
        Single cohort: the futility parameter (default by rule kind:
        ``futility.cutoff``, ``futility.threshold`` or ``futility.lambda``).
    within : (low, high), optional
        Allowed values (default (0.0001, 0.9999) for thresholds and cutoffs).
    margin : float
        Multi-cohort: smallest distance of a cutoff from any attainable value.
    rounds : int
        Multi-cohort: most passes over the cohorts.

    Returns
    -------
    FutilityCalibration

    Examples
    --------
    >>> from adaptive2 import Beta, Design, PosteriorProbability
    >>> d = Design(name="x", prior=Beta(0.2, 0.8), looks=(15, 30), p0=0.2, p1=0.4,
    ...            futility=PosteriorProbability(p0=0.2, cutoff=0.05),
    ...            final=PosteriorProbability(p0=0.2, cutoff=0.95))
    >>> res = calibrate_futility(d)
    >>> row = res.table.iloc[0]
    >>> gain = row.p_early_stop_null_after - row.p_early_stop_null_before
    >>> bool(row.power_loss <= 0.02), bool(gain > 0)
    (True, True)
    """
    owner = "calibrate_futility"
    delta = check_probability(max_power_loss, "max_power_loss", owner)
    lo, hi = within if within is not None else (0.0001, 0.9999)
    lo = check_probability(lo, "within[0]", owner)
    hi = check_probability(hi, "within[1]", owner)
    if not lo < hi:
        raise fail("within", owner, "(low, high) with low < high", within)
    _guard(design)
    if isinstance(design, CohortDesign):
        if parameter is not None:
            raise fail("parameter", owner, "None for a multi-cohort design (each cohort's "
                       "futility cutoff or threshold is calibrated)", parameter)
        return _cohorts(design, delta, (lo, hi),
                        check_real(margin, "margin", owner, low=0.0, high=0.01),
                        check_int(rounds, "rounds", owner, low=1))
    if not isinstance(design, Design):
        raise fail("design", owner, "a Design or a CohortDesign", type(design).__name__)
    return _single(design, delta, parameter, (lo, hi))


def _guard(design: Any) -> None:
    """Refuse a futility calibration whose estimated memory is over the limit."""
    cost: Cost
    if isinstance(design, CohortDesign):
        # each cohort's alternatives (a few rate vectors) through the lattice programme, for
        # about 10 cutoffs per cohort and round
        cost = cohort_cost(design, rates=len(design.scenarios) + 2,
                           lattices=20 * len(design.cohorts), dp_runs=20 * len(design.cohorts))
        sizes = ", ".join(str(c.looks[-1]) for c in design.cohorts)
        what = f"{len(design.cohorts)}-cohort design {design.name!r} ({sizes} patients)"
        remedy = REMEDY_COHORTS
    elif isinstance(design, Design):
        # 81 grid values, 60 bisection steps and about 150 for the interval of equal tables
        cost = calibration_cost(design, designs=300, tables=300, n_rates=2)
        what = f"design {design.name!r} ({design.n_max} patients, {design.n_looks} looks)"
        remedy = REMEDY_CALIBRATE
    else:
        return  # refused with its own message below
    require_memory(cost.nbytes, f"the futility calibration of {what}", remedy,
                   seconds=cost.seconds)


# ---------------------------------------------------------------------------
# One cohort
# ---------------------------------------------------------------------------
def _oc_at(bnd: Boundaries, rates: list[float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """P(efficacy), P(early stop) and E[N] at ``rates``."""
    n, a, b = bnd.arrays()
    stop = stop_probabilities(n, a, b, rates)
    p_n = stop.sum(axis=-1)
    return stop[..., 1].sum(axis=-1), p_n[:, :-1].sum(axis=-1), (p_n * n).sum(axis=-1)


def _single(
    design: Design, delta: float, parameter: str | None, within: tuple[float, float]
) -> FutilityCalibration:
    import pandas as pd

    rule = design.futility
    if rule is None or getattr(rule, "kind", None) not in _PARAMETER:
        raise DesignError(
            "`futility` of calibrate_futility must be a posterior, predictive or bop2 rule; "
            f"got {getattr(rule, 'kind', rule)!r}."
        )
    name = parameter or _PARAMETER[rule.kind]
    if not name.startswith("futility."):
        raise fail("parameter", "calibrate_futility", "a futility parameter "
                   f"({', '.join(sorted(set(_PARAMETER.values())))})", name)
    p0, p1 = _planning(design, None, None)
    if p1 is None:
        raise DesignError("`p1` of calibrate_futility: the design needs a planning p1 "
                          "(the power is measured there).")
    set_parameter(design, name, 0.5)  # validates the name
    before = float(getattr(rule, _ATTR.get(name.split(".")[1], name.split(".")[1])))
    ref_pe, _, _ = _oc_at(design.replace(futility=None).boundaries(), [p1])
    fam = _Family(design, name)

    def loss(v: float) -> float | None:
        t = fam.table(v)
        if t is None:
            return None
        return float(ref_pe[0] - _oc_at(t, [p1])[0][0])

    grid = np.linspace(within[0], within[1], 81)
    ok = [float(v) for v in grid if (x := loss(float(v))) is not None and x <= delta + 1e-12]
    if not ok:
        raise CalibrationError(
            f"no value of {name} in [{within[0]:g}, {within[1]:g}] keeps the power loss at "
            f"p1 = {p1:g} within {delta:g}."
        )
    good = max(ok)
    bad = next((float(v) for v in grid if v > good), None)
    if bad is not None:  # bisect to the switch point between feasible and not
        for _ in range(60):
            mid = (good + bad) / 2
            x = loss(mid)
            if x is not None and x <= delta + 1e-12:
                good = mid
            else:
                bad = mid
            if bad - good < 1e-12:
                break
    table = fam.table(good)
    ilo, ihi = _same_table_interval(fam, good, table)
    value = central_cutoff(ilo, ihi) or shortest_decimal(ilo, ihi)
    if fam.table(value) != table:
        value = good
    out = set_parameter(design, name, value)
    pe0, es0, en0 = _oc_at(design.boundaries(), [p0, p1])
    pe1, es1, en1 = _oc_at(out.boundaries(), [p0, p1])
    row = {
        "cohort": design.name,
        "parameter": name,
        "before": before,
        "after": value,
        "interval_low": ilo,
        "interval_high": ihi,
        "p_early_stop_null_before": float(es0[0]),
        "p_early_stop_null_after": float(es1[0]),
        "expected_n_null_before": float(en0[0]),
        "expected_n_null_after": float(en1[0]),
        "power_no_futility": float(ref_pe[0]),
        "power_before": float(pe0[1]),
        "power_after": float(pe1[1]),
        "power_loss": float(ref_pe[0] - pe1[1]),
        "type1_after": float(pe1[0]),
        "feasible": bool(ref_pe[0] - pe1[1] <= delta + 1e-12),
    }
    msg = (
        f"{name} = {value:g}: P(early stop | p0 = {p0:g}) {row['p_early_stop_null_before']:.3f}"
        f" -> {row['p_early_stop_null_after']:.3f}, power loss at p1 = {p1:g} "
        f"{row['power_loss']:.4f} (<= {delta:g})"
    )
    return FutilityCalibration(out, pd.DataFrame([row]).set_index("cohort"), delta, msg)


# ---------------------------------------------------------------------------
# Several cohorts
# ---------------------------------------------------------------------------
def _cohorts(
    design: CohortDesign,
    delta: float,
    within: tuple[float, float],
    margin: float,
    rounds: int,
) -> FutilityCalibration:
    import pandas as pd


    names = design.names
    J = len(names)
    if design.n_looks < 2:
        raise DesignError("`looks` of calibrate_futility: a futility rule needs an interim look.")
    rules: dict[str, PosteriorProbability | PredictiveProbability] = {}
    for c in names:
        r = design.rule("futility", c)
        if not isinstance(r, PosteriorProbability | PredictiveProbability):
            raise DesignError(
                f"`futility` of cohort {c!r} must be a posterior or predictive rule for "
                f"calibrate_futility; got {getattr(r, 'kind', r)!r}."
            )
        rules[c] = r
    attr = {c: "cutoff" if isinstance(rules[c], PosteriorProbability) else "threshold"
            for c in names}
    if any(co.p1 is None for co in design.cohorts):
        raise DesignError("`p1` of every cohort must be given for calibrate_futility "
                          "(the power is measured there).")
    options = {c: gaps(attainable(design, c, "futility"), margin=margin, within=within)
               for c in names}
    none = dataclasses.replace(design, futility=None)
    alts = {c: alternatives(design, j)[0] for j, c in enumerate(names)}
    ref = {c: _p_eff(none, alts[c])[:, j] for j, c in enumerate(names)}
    null = np.array([[c.p0 for c in design.cohorts]])

    def build(idx: dict[str, int]) -> CohortDesign:
        fut = {c: rules[c].replace(**{attr[c]: options[c][idx[c]][2]}) for c in names}
        return dataclasses.replace(design, futility=fut)

    def loss(c: str, idx: dict[str, int]) -> float:
        j = names.index(c)
        return float(np.max(ref[c] - _p_eff(build(idx), alts[c])[:, j]))

    # start from the least aggressive usable cutoff for every cohort
    idx = {c: 0 for c in names}
    for _ in range(rounds):
        moved = False
        for c in names:
            lo, hi = 0, len(options[c]) - 1
            if loss(c, {**idx, c: lo}) > delta + 1e-12:
                new = lo
            else:  # largest index with loss <= delta (loss non-decreasing in the index)
                while lo < hi:
                    mid = (lo + hi + 1) // 2
                    if loss(c, {**idx, c: mid}) <= delta + 1e-12:
                        lo = mid
                    else:
                        hi = mid - 1
                new = lo
            moved |= new != idx[c]
            idx[c] = new
        if not moved:
            break
    out = build(idx)
    def early(d: CohortDesign) -> tuple[np.ndarray, np.ndarray]:
        term = _run_batch(d, null)
        stop = np.zeros(J)
        en = np.zeros(J)
        for key, prob in term.items():
            for j, (_, k) in enumerate(key):
                if k < d.n_looks - 1:
                    stop[j] += prob[0]
                en[j] += prob[0] * d.cohorts[j].looks[k]
        return stop, en

    es0, en0 = early(design)
    es1, en1 = early(out)
    rows = []
    for j, c in enumerate(names):
        pe_before = _p_eff(design, alts[c])[:, j]
        pe_after = _p_eff(out, alts[c])[:, j]
        worst = int(np.argmax(ref[c] - pe_after))
        lo_g, hi_g, cut = options[c][idx[c]]
        rows.append({
            "cohort": c,
            "parameter": f"futility.{attr[c]}",
            "before": float(getattr(rules[c], attr[c])),
            "after": cut,
            "interval_low": lo_g,
            "interval_high": hi_g,
            "p_early_stop_null_before": float(es0[j]),
            "p_early_stop_null_after": float(es1[j]),
            "expected_n_null_before": float(en0[j]),
            "expected_n_null_after": float(en1[j]),
            "power_no_futility": float(ref[c][worst]),
            "power_before": float(pe_before[worst]),
            "power_after": float(pe_after[worst]),
            "power_loss": float(ref[c][worst] - pe_after[worst]),
            "worst_alternative": ", ".join(
                f"{n}={v:g}" for n, v in zip(names, alts[c][worst], strict=True)
            ),
            "feasible": bool(ref[c][worst] - pe_after[worst] <= delta + 1e-12),
        })
    table = pd.DataFrame(rows).set_index("cohort")
    msg = (
        "per-cohort futility cutoffs maximising P(early stop | global null) with power loss "
        f"<= {delta:g} at every alternative configuration"
    )
    return FutilityCalibration(out, table, delta, msg)


def _p_eff(design: CohortDesign, rates: np.ndarray) -> np.ndarray:
    T, E = efficacy_matrix(design, rates)
    return cast(np.ndarray, T @ E.astype(float))

