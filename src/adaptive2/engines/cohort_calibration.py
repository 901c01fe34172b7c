"""Calibration of multi-cohort designs against the whole null region.

:func:`calibrate_cohorts` sets each cohort's final posterior cutoff so that the
supremum of its type I error over the null region
(:func:`adaptive2.engines.null_region.null_region`: its own rate anywhere in [0, p0], every
other cohort's anywhere in its plausible range) is at most α — or, with
``control="fwer"``, so that the supremum of the family-wise error rate is at most α.

Exact decisions are step functions of a cutoff: on the finite outcome lattice
the posterior probability a rule compares takes finitely many values
(:func:`adaptive2.model.cohorts.attainable`), and every cutoff strictly between two
neighbouring values gives the same decisions. The search therefore runs over
these gaps, and only over gaps wide enough to hold a cutoff at least ``margin``
from both ends; the cutoff written is the shortest decimal in the middle half
of its gap (:func:`adaptive2.kernels.cutoffs.central_cutoff`). A perturbation of every
posterior by less than ``margin`` (default 1e-5, above the default quadrature
grid's measured accuracy for the shipped models) changes no decision.

A cohort's type I error is non-increasing in its own final cutoff, so each
cutoff is found by bisection over its gaps. A cohort's final cutoff changes no
other cohort's decisions unless interim rules are predictive probabilities
(which look ahead to the cohort's own final rule); the cohorts are cycled until
no cutoff moves. The calibration ends with a verification pass on a grid twice
as fine, with more starting points; a cohort found above α there moves to its
next gap until the verification holds.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from adaptive2._base.errors import CalibrationError, DesignError
from adaptive2._base.formatting import jsonable
from adaptive2._base.resources import require_memory
from adaptive2._base.validation import check_choice, check_int, check_probability, check_real, fail
from adaptive2.engines.cohort_exact import cohort_oc
from adaptive2.engines.null_region import NullRegion, null_region, null_region_cost
from adaptive2.engines.sizes import REMEDY_COHORTS
from adaptive2.kernels.cutoffs import central_cutoff
from adaptive2.model.cohorts import CohortDesign, attainable, cohort_roles
from adaptive2.model.rules import PosteriorProbability, PredictiveProbability
from adaptive2.model.scenarios import Scenario

__all__ = ["CohortCalibration", "calibrate_cohorts", "gaps"]


@dataclass(frozen=True)
class CohortCalibration:
    """Result of :func:`calibrate_cohorts`.

    Unpacks as ``design, table = calibrate_cohorts(...)``.

    Attributes
    ----------
    design : CohortDesign
        The calibrated design (``alpha`` set to the target).
    table : pandas.DataFrame
        One row per cohort: ``cutoff``, ``gap_low``/``gap_high`` (the attainable
        posterior values on either side of it), ``margin`` (its distance to the
        nearest), ``max_type1`` and ``argmax`` (verified null-region supremum
        and where it sits), ``listed_max_type1`` and ``listed_scenario`` (worst
        over the listed scenarios where the cohort is null), ``mean_power``
        (over listed scenarios where it is an alternative), ``feasible``.
    null_region : NullRegion
        The verification pass.
    alpha : float
    control : str
        ``"cohort"`` or ``"fwer"``.
    binding : bool
        Whether the futility rule counted when α was controlled.
    message : str
    """

    design: CohortDesign
    table: Any
    null_region: NullRegion
    alpha: float
    control: str
    binding: bool
    message: str

    def __iter__(self) -> Any:
        return iter((self.design, self.table))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (``adaptive2 calibrate DESIGN --json`` for a multi-cohort design)."""
        records = self.table.reset_index().to_dict("records")
        nr = self.null_region
        return {
            "parameters": {f"{r['cohort']}.final.cutoff": r["cutoff"] for r in records},
            "alpha": nr.max_type1,
            "target_alpha": self.alpha,
            "control": self.control,
            "binding_futility": self.binding,
            "worst_case": {
                r["cohort"]: {
                    "alpha": r["max_type1"],
                    "argmax": nr.cohorts[r["cohort"]].argmax,
                    "scenario": r["argmax"],
                    "listed_alpha": jsonable(r["listed_max_type1"]),
                    "listed_scenario": r["listed_scenario"],
                }
                for r in records
            },
            "gaps": {
                r["cohort"]: {"low": r["gap_low"], "high": r["gap_high"], "margin": r["margin"]}
                for r in records
            },
            "max_fwer": nr.max_fwer,
            "fwer_global_null": nr.fwer_global_null,
            "power": {r["cohort"]: jsonable(r["mean_power"]) for r in records},
            "feasible": all(bool(r["feasible"]) for r in records),
            "message": self.message,
        }


def gaps(
    values: np.ndarray, *, margin: float, within: tuple[float, float]
) -> list[tuple[float, float, float]]:
    """Usable gaps between sorted attainable values: (low, high, cutoff), ascending.

    The ends are closed by 0 and 1. A gap is usable when a cutoff fits at least
    ``margin`` from both ends (:func:`adaptive2.kernels.cutoffs.central_cutoff`) and
    inside ``within``.
    """
    edges = np.concatenate([[0.0], values[(values > 0.0) & (values < 1.0)], [1.0]])
    out = []
    for lo, hi in itertools.pairwise(edges):
        if hi <= within[0] or lo >= within[1]:
            continue
        c = central_cutoff(float(lo), float(hi), margin)
        if c is not None and within[0] <= c <= within[1]:
            out.append((float(lo), float(hi), c))
    return out


def _listed(
    design: CohortDesign, scenarios: Sequence[Any], name: str, ds: Any
) -> tuple[float, str, float]:
    j = design.names.index(name)
    roles = [cohort_roles(design, s)[j] for s in scenarios]
    pe = ds["p_efficacy"].sel(cohort=name).values if ds is not None else np.array([])
    null = [i for i, r in enumerate(roles) if r == "null"]
    alt = [i for i, r in enumerate(roles) if r == "alternative"]
    worst = max(null, key=lambda i: pe[i]) if null else None
    return (
        float(pe[worst]) if worst is not None else float("nan"),
        scenarios[worst].name if worst is not None else "",
        float(np.mean(pe[alt])) if alt else float("nan"),
    )


def calibrate_cohorts(
    design: CohortDesign,
    *,
    alpha: float | Mapping[str, float] | None = None,
    control: str = "cohort",
    binding: bool = True,
    scenarios: Sequence[Scenario] | None = None,
    ranges: Mapping[str, tuple[float, float]] | None = None,
    within: tuple[float, float] = (0.5, 0.9999),
    margin: float = 1e-5,
    rounds: int = 4,
) -> CohortCalibration:
    """Set each cohort's final cutoff so that the null-region worst case is at most α.

    Parameters
    ----------
    design : CohortDesign
        With a posterior-probability final rule for every cohort.
    alpha : float or mapping cohort → float, optional
        Target; default the design's ``alpha``, else 0.10. A mapping gives each
        cohort its own target (``control="cohort"`` only; the design's ``alpha``
        is then set to the largest).
    control : {"cohort", "fwer"}
        ``"cohort"``: each cohort's type I error supremum ≤ α (the most powerful
        cutoff for each). ``"fwer"``: the supremum of P(any null cohort declared
        efficacious) ≤ α, with every cohort calibrated to one common per-cohort
        level, the largest for which the FWER holds.
    binding : bool
        Count the futility rule (default). ``False`` controls α with futility
        ignored, so that the claim holds whether or not futility stops happen.
    scenarios : sequence of Scenario, optional
        Listed scenarios, reported beside the null region (default the design's).
    ranges : mapping, optional
        Plausible neighbour ranges (default the design's).
    within : (low, high)
        Allowed cutoffs.
    margin : float
        Smallest distance between a cutoff and any attainable posterior value.
    rounds : int
        Most passes over the cohorts (stops early once no cutoff moves).

    Returns
    -------
    CohortCalibration
    """
    owner = "calibrate_cohorts"
    if not isinstance(design, CohortDesign):
        raise fail("design", owner, "a CohortDesign", type(design).__name__)
    check_choice(control, "control", owner, ("cohort", "fwer"))
    if isinstance(alpha, Mapping):
        if control != "cohort":
            raise fail("alpha", owner, "one number with control='fwer'", dict(alpha))
        if set(alpha) != set(design.names):
            raise fail("alpha", owner, f"a target for each cohort {design.names}", dict(alpha))
        levels = {c: check_probability(alpha[c], f"alpha[{c}]", owner) for c in design.names}
    else:
        a = alpha if alpha is not None else (design.alpha if design.alpha is not None else 0.10)
        levels = dict.fromkeys(design.names, check_probability(a, "alpha", owner))
    target = max(levels.values())
    margin = check_real(margin, "margin", owner, low=0.0, high=0.01)
    rounds = check_int(rounds, "rounds", owner, low=1)
    lo_w = check_probability(within[0], "within[0]", owner)
    hi_w = check_probability(within[1], "within[1]", owner)
    if not lo_w < hi_w:
        raise fail("within", owner, "(low, high) with low < high", within)
    rules: dict[str, PosteriorProbability] = {}
    for c in design.names:
        rule = design.rule("final", c)
        if not isinstance(rule, PosteriorProbability):
            raise DesignError(
                f"`final` of cohort {c!r} must be a posterior rule for calibrate_cohorts; "
                f"got {getattr(rule, 'kind', rule)!r}."
            )
        rules[c] = rule
    scen = tuple(design.scenarios if scenarios is None else scenarios)
    rng = ranges if ranges is not None else dict(design.ranges)
    J = len(design.names)
    # the verification pass searches the finest grid; the bisections search each cohort's
    # type I error alone, about 10 times per cohort and round, at a fraction of the cost
    # (measured: 8 s for the shipped two-cohort designs, 2x their null region)
    one = null_region_cost(design, rng, J, True, 0.005 if J == 2 else 0.025,
                           21 if J == 2 else 11, 1e-4, 5)
    sizes = ", ".join(str(c.looks[-1]) for c in design.cohorts)
    require_memory(
        one.nbytes,
        f"the calibration of {J}-cohort design {design.name!r} ({sizes} patients)",
        REMEDY_COHORTS,
        seconds=one.seconds * (1 + J * min(rounds, 2)),
    )
    base = design if binding else dataclasses.replace(design, futility=None)
    options = {
        c: gaps(attainable(base, c, "final"), margin=margin, within=(lo_w, hi_w))
        for c in design.names
    }
    for c, g in options.items():
        if not g:
            raise CalibrationError(
                f"no cutoff in [{lo_w:g}, {hi_w:g}] for cohort {c!r} lies at least {margin:g} "
                "from every attainable posterior value; widen `within` or lower `margin`."
            )
    names = design.names
    index = {c: _start_index(options[c], float(rules[c].cutoff)) for c in names}

    def build(idx: Mapping[str, int], d: CohortDesign) -> CohortDesign:
        final = {c: rules[c].replace(cutoff=options[c][idx[c]][2]) for c in names}
        return dataclasses.replace(d, final=final)

    # Predictive interim rules look ahead to a cohort's own final rule, so its cutoff then
    # moves its stopping and, through the data at stopping, the other cohorts' decisions.
    coupled = any(
        isinstance(base.rule(slot, c), PredictiveProbability)
        for slot in ("futility", "efficacy")
        for c in names
    )
    memo: dict[tuple[str, tuple[int, ...] | int], float] = {}

    def type1(c: str, idx: Mapping[str, int]) -> float:
        key = (c, tuple(idx[n] for n in names)) if coupled else (c, idx[c])
        if key not in memo:
            nr = null_region(build(idx, base), ranges=rng, cohorts=[c], fwer=False)
            memo[key] = nr.cohorts[c].max_type1
        return memo[key]

    def per_cohort(level: float | Mapping[str, float], idx: dict[str, int]) -> dict[str, int]:
        lv = level if isinstance(level, Mapping) else dict.fromkeys(names, level)
        idx = dict(idx)
        for _ in range(rounds):
            moved = False
            for c in names:
                lo, hi = 0, len(options[c]) - 1
                if type1(c, {**idx, c: hi}) > lv[c] + 1e-12:
                    new = hi  # infeasible: the strictest cutoff allowed
                else:
                    while lo < hi:
                        mid = (lo + hi) // 2
                        if type1(c, {**idx, c: mid}) <= lv[c] + 1e-12:
                            hi = mid
                        else:
                            lo = mid + 1
                    new = lo
                moved |= new != idx[c]
                idx[c] = new
            if not moved:
                break
        return idx

    if control == "cohort":
        index = per_cohort(levels, index)
    else:
        index = _fwer_control(per_cohort, build, base, rng, index, options, target, rounds)

    # verification on a finer grid with more starts
    fine: dict[str, Any] = {"step": 0.005 if len(names) == 2 else 0.025,
            "own_points": 21 if len(names) == 2 else 11, "starts": 5}
    for _ in range(50):
        check = null_region(build(index, base), ranges=rng, fwer=True, **fine)
        over = [c for c in names if check.cohorts[c].max_type1 > levels[c] + 1e-12]
        if control == "fwer" and (check.max_fwer or 0.0) > target + 1e-12:
            over = names
        bumpable = [c for c in over if index[c] < len(options[c]) - 1]
        if not bumpable:
            break
        for c in bumpable:
            index[c] += 1
    out = dataclasses.replace(build(index, design), alpha=target)
    # the design as written (futility kept); with binding=False α was checked without it
    check = dataclasses.replace(check, design_hash=out.hash, alpha=target)
    ds = cohort_oc(out, scen) if scen else None
    rows = []
    for c in names:
        lo, hi, cut = options[c][index[c]]
        sup = check.cohorts[c]
        listed_a, listed_s, power = _listed(out, scen, c, ds)
        rows.append({
            "cohort": c,
            "cutoff": cut,
            "gap_low": lo,
            "gap_high": hi,
            "margin": min(cut - lo, hi - cut),
            "max_type1": sup.max_type1,
            "argmax": ", ".join(f"{n}={v:.4f}" for n, v in sup.argmax.items()),
            "listed_max_type1": listed_a,
            "listed_scenario": listed_s,
            "mean_power": power,
            "alpha": levels[c],
            "feasible": sup.max_type1 <= levels[c] + 1e-12,
        })
    import pandas as pd

    table = pd.DataFrame(rows).set_index("cohort")
    what = "FWER" if control == "fwer" else "each cohort's type I error"
    fut = "" if binding else " with futility ignored (non-binding)"
    ok = bool(table["feasible"].all()) and (
        control != "fwer" or (check.max_fwer or 0.0) <= target + 1e-12
    )
    msg = (
        f"final cutoffs with {what} <= {target:g} over the whole null region{fut} "
        f"(verified on a finer grid)"
        if ok
        else f"no cutoffs in [{lo_w:g}, {hi_w:g}] bring {what} to {target:g}{fut}"
    )
    return CohortCalibration(out, table, check, target, control, binding, msg)


def _start_index(options: list[tuple[float, float, float]], cutoff: float) -> int:
    for i, (_, hi, _) in enumerate(options):
        if cutoff < hi:
            return i
    return len(options) - 1


def _fwer_control(
    per_cohort: Callable[[float | Mapping[str, float], dict[str, int]], dict[str, int]],
    build: Callable[[Mapping[str, int], CohortDesign], CohortDesign],
    base: CohortDesign,
    rng: Mapping[str, tuple[float, float]],
    index: dict[str, int],
    options: Mapping[str, list[tuple[float, float, float]]],
    target: float,
    rounds: int,
) -> dict[str, int]:
    """Cutoffs whose FWER supremum is at most ``target``, each as low as the others allow.

    First the largest common per-cohort level whose calibrated cutoffs keep the
    FWER supremum at most ``target`` (bisection on the level); then each cohort in
    turn takes the lowest cutoff (most power) that keeps the FWER within target,
    the others fixed, until no cutoff moves. The FWER is non-increasing in every
    cutoff, so both searches are bisections.
    """
    memo: dict[tuple[int, ...], float] = {}
    names = base.names

    def fwer(idx: Mapping[str, int]) -> float:
        key = tuple(idx[n] for n in names)
        if key not in memo:
            nr = null_region(build(idx, base), ranges=rng, cohorts=[], fwer=True)
            memo[key] = float(nr.max_fwer or 0.0)
        return memo[key]

    best = per_cohort(target, index)
    if fwer(best) > target + 1e-12:
        lo, hi = 0.0, target
        best = {c: len(options[c]) - 1 for c in names}
        for _ in range(16):
            mid = (lo + hi) / 2
            idx = per_cohort(mid, index)
            if fwer(idx) <= target + 1e-12:
                lo, best = mid, idx
            else:
                hi = mid
    for _ in range(rounds):
        moved = False
        for c in names:
            lo_i, hi_i = 0, best[c]
            while lo_i < hi_i:
                mid_i = (lo_i + hi_i) // 2
                if fwer({**best, c: mid_i}) <= target + 1e-12:
                    hi_i = mid_i
                else:
                    lo_i = mid_i + 1
            moved |= lo_i != best[c]
            best[c] = lo_i
        if not moved:
            break
    return best
