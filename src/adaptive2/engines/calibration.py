"""Exact calibration of design parameters to type I error and power targets.

Exact OC are step functions of a design's cutoffs: they change only when an
integer boundary moves. The searches here therefore work on the finite set of
distinct boundary tables, not on a float grid of OC values:

* :func:`calibrate` tunes one named parameter (``objective="max-power"``, the
  default) or, with ``objective="min-EN0"``, the futility parameter (and the
  final cutoff if needed) for the smallest E[N | p0] meeting both targets.
  For ``"max-power"``: when the worst-case type I error
  is monotone in the parameter (cutoffs, thresholds, λ, the power-prior
  weight), it bisects to the exact switch point where the boundary table
  changes, and returns a value from the middle of the interval of parameter
  values that give the chosen table (the shortest decimal there), so the
  result does not sit on a knife edge. Otherwise it scans the distinct tables.
* :func:`calibrate_bop2` searches BOP2's (λ, γ) and, with early efficacy
  stopping, η on a grid, evaluating each distinct boundary table once.
* :func:`worst_case_alpha` evaluates ``p_efficacy`` over the whole null space
  p ≤ p0 (a grid plus p0 itself) and reports where the maximum lies.
* :func:`weight_curve` shows how α and power move with the power-prior weight.

Type I error is always the worst case over the null space.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np

from adaptive2._base.errors import CalibrationError, DesignError
from adaptive2._base.resources import require_memory
from adaptive2._base.validation import check_choice, check_probability, fail
from adaptive2.engines.sizes import REMEDY_CALIBRATE, calibration_cost, single_oc_cost
from adaptive2.kernels.binomial import stop_probabilities
from adaptive2.kernels.cutoffs import central_cutoff, shortest_decimal
from adaptive2.model.designs import Boundaries, Design
from adaptive2.model.priors import Beta, ess
from adaptive2.model.rules import BOP2, PosteriorProbability

__all__ = [
    "CalibrationResult",
    "calibrate",
    "calibrate_bop2",
    "set_parameter",
    "weight_curve",
    "worst_case_alpha",
]

NULL_GRID = 101
#: What :func:`calibrate` and :func:`calibrate_bop2` optimise: the largest power with
#: α controlled, or the smallest E[N | p0] with α and power controlled.
OBJECTIVES = ("max-power", "min-EN0")
# A boundary table's identity: (futility_max_r, efficacy_min_r).
_TableKey = tuple[tuple[int | None, ...], tuple[int | None, ...]]
_BISECT_STEPS = 60


@dataclass(frozen=True)
class CalibrationResult:
    """Outcome of a calibration.

    Attributes
    ----------
    design : Design
        The calibrated design.
    parameters : dict
        Parameter name → chosen value.
    alpha : float
        Worst-case ``p_efficacy`` over the null space p ≤ p0 (exact).
    worst_case_p : float
        True rate at which that worst case is attained.
    power : float
        ``p_efficacy`` at p1 (exact).
    expected_n_p0 : float
        Expected sample size at p0.
    feasible : bool
        Whether the targets are met.
    target_alpha, target_power : float or None
        The targets asked for.
    interval : dict
        Parameter name → (low, high) interval of values giving the same
        boundaries (one-parameter calibration).
    message : str
        What was done, or why no value meets the targets.
    """

    design: Design
    parameters: dict[str, float]
    alpha: float
    worst_case_p: float
    power: float
    expected_n_p0: float
    feasible: bool
    target_alpha: float
    target_power: float | None = None
    interval: dict[str, tuple[float, float]] = field(default_factory=dict)
    message: str = ""
    n_tables: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict with the documented CLI keys."""
        return {
            "parameters": dict(self.parameters),
            "alpha": self.alpha,
            "worst_case_p": self.worst_case_p,
            "power": self.power if math.isfinite(self.power) else None,
            "expected_n_p0": self.expected_n_p0,
            "boundaries": self.design.boundaries().to_records(),
            "incoherences": self.design.boundaries().incoherences(),
            "feasible": self.feasible,
            "target_alpha": self.target_alpha,
            "target_power": self.target_power,
            "interval": {k: list(v) for k, v in self.interval.items()},
            "message": self.message,
        }


# ---------------------------------------------------------------------------
# Parameters
# ---------------------------------------------------------------------------
_ATTR = {"lambda": "lambda_"}


def set_parameter(design: Design, name: str, value: float) -> Design:
    """A copy of ``design`` with the parameter ``name`` set to ``value``.

    Names: ``<slot>.<field>`` for a rule field (``final.cutoff``,
    ``futility.threshold``, ``futility.lambda``, ``futility.gamma``,
    ``efficacy.eta``, ``final.delta``, ...), ``prior.power`` (power-prior
    weight a0) and ``prior.robust.weight``.
    """
    parts = name.split(".")
    if parts[0] == "prior":
        spec = design.prior_spec
        if spec is None:
            raise DesignError(
                f"`parameter` {name!r} needs a prior built from a specification "
                "(historical data / robust weight); this design's prior is given directly."
            )
        if parts[1:] == ["power"]:
            if spec.historical is None:
                raise DesignError(f"`parameter` {name!r} needs historical data in the prior.")
            new_spec = dataclasses.replace(spec, power=value)
        elif parts[1:] == ["robust", "weight"]:
            if spec.robust is None:
                raise DesignError(f"`parameter` {name!r} needs a robust component in the prior.")
            new_spec = dataclasses.replace(spec, robust=(value, *spec.robust[1:]))
        else:
            raise _bad_parameter(design, name)
        return design.replace(prior=new_spec)
    if len(parts) != 2 or parts[0] not in ("futility", "efficacy", "final"):
        raise _bad_parameter(design, name)
    slot, attr = parts
    rule = getattr(design, slot)
    attr = _ATTR.get(attr, attr)
    if rule is None or attr == "p0" or attr not in {f.name for f in dataclasses.fields(rule)}:
        raise _bad_parameter(design, name)
    return design.replace(**{slot: rule.replace(**{attr: value})})


def parameters_of(design: Design) -> list[str]:
    """Names of the numeric parameters :func:`set_parameter` accepts for ``design``."""
    out = []
    for slot in ("futility", "efficacy", "final"):
        rule = getattr(design, slot)
        if rule is None:
            continue
        for f in dataclasses.fields(rule):
            v = getattr(rule, f.name)
            if isinstance(v, float) and f.name != "p0":
                out.append(f"{slot}.{f.metadata.get('key', f.name)}")
    spec = design.prior_spec
    if spec is not None and spec.historical is not None:
        out.append("prior.power")
    if spec is not None and spec.robust is not None:
        out.append("prior.robust.weight")
    return out


def _bad_parameter(design: Design, name: str) -> DesignError:
    allowed = ", ".join(parameters_of(design))
    if not allowed:
        return DesignError(
            f"design {design.name!r} has nothing to calibrate (its rules are explicit "
            f"boundaries and its prior has no weight); got `parameter` {name!r}."
        )
    return DesignError(f"`parameter` of calibrate must be one of {{{allowed}}}; got {name!r}.")


def _default_range(name: str) -> tuple[float, float]:
    last = name.rsplit(".", 1)[-1]
    if last in ("gamma", "eta"):
        return (0.01, 5.0)
    if last == "delta":
        return (0.0, 0.5)
    if name.startswith("prior."):
        return (0.0, 1.0)
    return (0.5, 0.9999) if last in ("cutoff", "lambda") else (0.0001, 0.9999)


# ---------------------------------------------------------------------------
# OC of a boundary table
# ---------------------------------------------------------------------------
def _null_rates(p0: float) -> np.ndarray:
    return np.unique(np.concatenate([np.linspace(0.0, p0, NULL_GRID), [p0]]))


def _planning(design: Design, p0: float | None, p1: float | None) -> tuple[float, float | None]:
    if p0 is None:
        if design.p0 is None:
            raise DesignError("`p0` of calibrate must be given: the design has no planning p0.")
        p0 = design.p0.mean if isinstance(design.p0, Beta) else design.p0
    p0 = check_probability(p0, "p0", "calibrate")
    if p1 is None:
        p1 = design.p1
    if p1 is not None:
        p1 = check_probability(p1, "p1", "calibrate")
        if p1 <= p0:
            raise fail("p1", "calibrate", f"a rate above p0 = {p0:g}", p1)
    return p0, p1


def _need_p1(power: float | None, p1: float | None, owner: str) -> None:
    if power is not None and p1 is None:
        raise DesignError(
            f"`p1` of {owner} must be given with a `power` target (the design has no planning "
            "p1); got None."
        )


@dataclass(frozen=True)
class _Eval:
    alpha: float
    worst_p: float
    power: float
    en_p0: float


def _evaluate(bnd: Boundaries, p0: float, p1: float | None) -> _Eval:
    n, a, b = bnd.arrays()
    null = _null_rates(p0)
    rates = np.concatenate([null, [p1 if p1 is not None else p0]])
    stop = stop_probabilities(n, a, b, rates)
    p_eff = stop[..., 1].sum(axis=-1)
    p_n = stop.sum(axis=-1)
    i = int(np.argmax(p_eff[:-1] - 1e-15 * np.arange(len(null))))  # first of ties
    idx0 = int(np.searchsorted(null, p0))
    return _Eval(
        alpha=float(p_eff[:-1].max()),
        worst_p=float(null[i]),
        power=float(p_eff[-1]) if p1 is not None else math.nan,
        en_p0=float((p_n[idx0] * n).sum()),
    )


def worst_case_alpha(design: Design, p0: float | None = None) -> tuple[float, float]:
    """Worst-case type I error over the null space p ≤ p0, and where it lies.

    The null space is evaluated exactly on a grid of 101 rates in [0, p0]
    plus p0 itself. For a single-cohort design with monotone boundaries
    ``p_efficacy`` is non-decreasing in p, so the maximum is at p0; the grid
    confirms it rather than assuming it.

    Returns
    -------
    (alpha, p) : tuple of float
    """
    p0f, _ = _planning(design, p0, None)
    cost = single_oc_cost(design, NULL_GRID + 1)
    require_memory(cost.nbytes, _what("the worst-case type I error", design), REMEDY_CALIBRATE,
                   seconds=cost.seconds)
    ev = _evaluate(design.boundaries(), p0f, None)
    return ev.alpha, ev.worst_p


def _what(job: str, design: Design) -> str:
    """A calibration job in words, for the size guard's message."""
    return f"{job} of design {design.name!r} ({design.n_max} patients, {design.n_looks} looks)"


def _result(
    design: Design,
    params: dict[str, float],
    ev: _Eval,
    alpha: float,
    power: float | None,
    *,
    interval: dict[str, tuple[float, float]] | None = None,
    message: str = "",
    n_tables: int = 0,
) -> CalibrationResult:
    feasible = ev.alpha <= alpha + 1e-12 and (power is None or ev.power >= power - 1e-12)
    return CalibrationResult(
        design=design,
        parameters=params,
        alpha=ev.alpha,
        worst_case_p=ev.worst_p,
        power=ev.power,
        expected_n_p0=ev.en_p0,
        feasible=bool(feasible),
        target_alpha=alpha,
        target_power=power,
        interval=interval or {},
        message=message,
        n_tables=n_tables,
    )


# ---------------------------------------------------------------------------
# One parameter
# ---------------------------------------------------------------------------
class _Family:
    """Boundary tables of a one-parameter family of designs, memoised."""

    def __init__(self, design: Design, name: str) -> None:
        self.design = design
        self.name = name
        self.cache: dict[float, Boundaries | None] = {}

    def design_at(self, v: float) -> Design:
        return set_parameter(self.design, self.name, v)

    def table(self, v: float) -> Boundaries | None:
        if v not in self.cache:
            try:
                self.cache[v] = self.design_at(v).boundaries()
            except DesignError:
                self.cache[v] = None  # invalid there (e.g. overlapping regions)
        return self.cache[v]


def calibrate(
    design: Design,
    parameter: str | None = None,
    *,
    alpha: float = 0.10,
    power: float | None = None,
    p0: float | None = None,
    p1: float | None = None,
    within: tuple[float, float] | None = None,
    objective: str = "max-power",
    grid: Sequence[float] | None = None,
    final_grid: Sequence[float] | None = None,
    tune_final: bool | None = None,
) -> CalibrationResult:
    """Tune a design to its type I error (and power) targets, exactly.

    With ``objective="max-power"`` (the default) one parameter is tuned so that
    the worst-case type I error is at most ``alpha`` with the largest power.
    With ``objective="min-EN0"`` the futility parameter (and the final cutoff
    if needed) is chosen to give the smallest E[N | p0] among the settings with
    worst-case α ≤ ``alpha`` and power ≥ ``power``.

    Parameters
    ----------
    design : Design
        Starting design; only the tuned parameter(s) change.
    parameter : str, optional
        See :func:`set_parameter` (e.g. ``"final.cutoff"``, ``"futility.threshold"``,
        ``"futility.lambda"``, ``"prior.power"``). Default ``"final.cutoff"``
        for ``"max-power"``; for ``"min-EN0"`` the futility rule's parameter
        (``futility.threshold``, ``futility.cutoff``, ``futility.gamma`` or
        ``futility.lambda``, the first the rule has).
    alpha : float
        Target for the worst-case ``p_efficacy`` over p ≤ p0.
    power : float, optional
        Target ``p_efficacy`` at p1. ``"max-power"``: the result is flagged
        infeasible if unmet. ``"min-EN0"``: required.
    p0, p1 : float, optional
        Null and alternative rates; default the design's planning values.
    within : (low, high), optional
        Search range of the parameter (defaults by parameter kind). For
        ``"min-EN0"``: the default ``grid`` is 201 evenly spaced values in it.
    objective : {"max-power", "min-EN0"}
        What is optimised (see above).
    grid : sequence of float, optional
        ``"min-EN0"`` only: the values of ``parameter`` tried. Default: for a
        futility threshold or cutoff 0.001, 0.002, ..., 0.099, then 0.10,
        0.11, ..., 0.99 (189 values); otherwise 201 evenly spaced values over
        ``within`` or the parameter's default range.
    final_grid : sequence of float, optional
        ``"min-EN0"`` only: final-cutoff values from which one per distinct
        final boundary is tried when the final cutoff is tuned (default 200
        evenly spaced values over [0.5, 0.9999]).
    tune_final : bool, optional
        ``"min-EN0"`` only: also tune the final cutoff (``final.cutoff``, or
        ``final.lambda`` for a BOP2 final rule). ``None`` (default): only if
        no value of ``parameter`` meets both targets with the design's own
        final cutoff.

    Returns
    -------
    CalibrationResult
        Exact α (worst case) and power of the chosen design, ``feasible``, and
        for ``"max-power"`` the interval of parameter values giving the same
        boundaries.

    Raises
    ------
    CalibrationError
        ``"min-EN0"`` when no setting meets both targets; the message gives
        the most power reached with α controlled (or the smallest α reached).

    Notes
    -----
    ``"min-EN0"`` evaluates every grid setting's boundary table exactly (each
    distinct table once) and keeps the smallest E[N | p0] with worst-case
    α ≤ ``alpha`` and power ≥ ``power``; ties go to the larger power, then the
    smaller α. The value reported for a tuned parameter is the middle one of
    the grid values giving the chosen boundaries. The final cutoff matters
    only through the final boundary s (a predictive futility rule predicts
    reaching s), so one final value per distinct s is tried, and an s whose
    power without futility stopping is below ``power`` is skipped (futility
    stopping can only lower power).

    Examples
    --------
    >>> from adaptive2 import Beta, Design, PosteriorProbability, PredictiveProbability
    >>> d = Design(name="x", prior=Beta(1, 1), looks=(40,), p0=0.2, p1=0.4,
    ...            final=PosteriorProbability(p0=0.2, cutoff=0.9))
    >>> res = calibrate(d, "final.cutoff", alpha=0.05)
    >>> res.design.boundaries().efficacy_min_r, round(res.alpha, 4)
    ((13,), 0.0432)
    >>> pp = Design(name="pp", prior=Beta(0.2, 0.8), looks=(15, 30), p0=0.2, p1=0.4,
    ...             futility=PredictiveProbability(0.05),
    ...             final=PosteriorProbability(p0=0.2, cutoff=0.9))
    >>> res = calibrate(pp, alpha=0.1, power=0.8, objective="min-EN0")
    >>> res.parameters, round(res.expected_n_p0, 2)
    ({'futility.threshold': 0.038}, 24.03)
    """
    alpha = check_probability(alpha, "alpha", "calibrate")
    if power is not None:
        power = check_probability(power, "power", "calibrate")
    objective = check_choice(objective, "objective", "calibrate", OBJECTIVES)
    p0f, p1f = _planning(design, p0, p1)
    _need_p1(power, p1f, "calibrate")
    if objective == "min-EN0":
        return _calibrate_min_en(design, parameter, alpha, power, p0f, p1f, within, grid,
                                 final_grid, tune_final)
    for key, value in (("grid", grid), ("final_grid", final_grid), ("tune_final", tune_final)):
        if value is not None:
            raise fail(key, "calibrate", "None unless objective='min-EN0'", value)
    if parameter is None:
        parameter = "final.cutoff"
    # about 41 grid values, 60 bisection steps and 150 more for the interval of equal tables
    cost = calibration_cost(design, designs=250, tables=50, n_rates=NULL_GRID + 2)
    require_memory(cost.nbytes, _what(f"the calibration of {parameter}", design),
                   REMEDY_CALIBRATE, seconds=cost.seconds)
    set_parameter(design, parameter, _current(design, parameter))  # validates the name
    lo, hi = within if within is not None else _default_range(parameter)
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise fail("within", "calibrate", "an interval (low, high) with low < high", within)
    fam = _Family(design, parameter)
    evals: dict[_TableKey, _Eval] = {}

    def ev_at(v: float) -> _Eval | None:
        t = fam.table(v)
        if t is None:
            return None
        key = (t.futility_max_r, t.efficacy_min_r)
        if key not in evals:
            evals[key] = _evaluate(t, p0f, p1f)
        return evals[key]

    start = np.linspace(lo, hi, 41)
    seq = [ev_at(float(v)) for v in start]
    valid = [(float(v), e) for v, e in zip(start, seq, strict=True) if e is not None]
    if not valid:
        raise CalibrationError(
            f"no value of {parameter} in [{lo:g}, {hi:g}] gives a valid design "
            "(every table was rejected, e.g. overlapping futility and efficacy regions)."
        )
    alphas = np.array([e.alpha for _, e in valid])
    diffs = np.diff(alphas)
    if np.all(diffs <= 1e-15) or np.all(diffs >= -1e-15):
        decreasing = alphas[0] >= alphas[-1]
        return _calibrate_monotone(fam, ev_at, valid, decreasing, alpha, power, p1f)
    return _calibrate_scan(fam, ev_at, lo, hi, alpha, power, len(evals))


def _current(design: Design, name: str) -> float:
    parts = name.split(".")
    if parts[0] == "prior":
        spec = design.prior_spec
        if spec is None:
            raise _bad_parameter(design, name)
        if parts[1:] == ["power"]:
            return spec.power
        if parts[1:] == ["robust", "weight"] and spec.robust is not None:
            return spec.robust[0]
        raise _bad_parameter(design, name)
    if len(parts) != 2 or parts[0] not in ("futility", "efficacy", "final"):
        raise _bad_parameter(design, name)
    rule = getattr(design, parts[0])
    attr = _ATTR.get(parts[1], parts[1])
    value = getattr(rule, attr, None) if rule is not None else None
    if not isinstance(value, float):
        raise _bad_parameter(design, name)
    return value


def _calibrate_monotone(
    fam: _Family,
    ev_at: Any,
    valid: list[tuple[float, _Eval]],
    decreasing: bool,
    alpha: float,
    power: float | None,
    p1: float | None,
) -> CalibrationResult:
    # Orient so that alpha is non-increasing along the walk from `start` to `end`.
    pts = valid if decreasing else valid[::-1]
    ok = [i for i, (_, e) in enumerate(pts) if e.alpha <= alpha + 1e-12]
    if not ok:
        v, e = pts[-1]
        return _finish(
            fam, v, e, alpha, power, feasible_alpha=False, decreasing=decreasing, ev_at=ev_at
        )
    i = ok[0]
    if i == 0:
        v, e = pts[0]
        return _finish(
            fam, v, e, alpha, power, feasible_alpha=True, decreasing=decreasing, ev_at=ev_at
        )
    # bisect between pts[i-1] (alpha too high) and pts[i] (alpha ok)
    bad, good = pts[i - 1][0], pts[i][0]
    for _ in range(_BISECT_STEPS):
        mid = (bad + good) / 2
        e = ev_at(mid)
        if e is not None and e.alpha <= alpha + 1e-12:
            good = mid
        else:
            bad = mid
        if abs(good - bad) < 1e-13:
            break
    return _finish(
        fam,
        good,
        ev_at(good),
        alpha,
        power,
        feasible_alpha=True,
        decreasing=decreasing,
        ev_at=ev_at,
    )


def _finish(
    fam: _Family,
    v: float,
    e: _Eval,
    alpha: float,
    power: float | None,
    *,
    feasible_alpha: bool,
    decreasing: bool,
    ev_at: Any,
) -> CalibrationResult:
    table = fam.table(v)
    lo, hi = _same_table_interval(fam, v, table)
    # the middle of the interval of values giving this table: no knife edge
    value = central_cutoff(lo, hi)
    if value is None:
        value = shortest_decimal(lo, hi)
    if fam.table(value) != table:  # guard against float edge effects
        value = v
    design = fam.design_at(value)
    name = fam.name
    if not feasible_alpha:
        msg = (
            f"no value of {name} meets alpha <= {alpha:g}; closest achievable worst-case "
            f"alpha is {e.alpha:.4g} (power {e.power:.4g})"
        )
    elif power is not None and e.power < power - 1e-12:
        msg = (
            f"alpha <= {alpha:g} is met but power {e.power:.4g} < {power:g}: no value of "
            f"{name} meets both; this is the most powerful design with alpha controlled"
        )
    else:
        msg = f"{name} = {value:g} maximises power subject to worst-case alpha <= {alpha:g}"
    return _result(design, {name: value}, e, alpha, power, interval={name: (lo, hi)}, message=msg)


def _same_table_interval(fam: _Family, v: float, table: Boundaries | None) -> tuple[float, float]:
    """Interval of parameter values around ``v`` whose boundary table equals ``table``."""
    lo_lim, hi_lim = _default_range(fam.name)
    lo_lim, hi_lim = min(lo_lim, v), max(hi_lim, v)

    def edge(direction: int) -> float:
        inside, step = v, 1e-6
        limit = hi_lim if direction > 0 else lo_lim
        outside = None
        while True:
            cand = inside + direction * step
            if (direction > 0 and cand >= limit) or (direction < 0 and cand <= limit):
                if fam.table(limit) == table:
                    return limit
                outside = limit
                break
            if fam.table(cand) == table:
                inside, step = cand, step * 4
            else:
                outside = cand
                break
        for _ in range(_BISECT_STEPS):
            mid = (inside + outside) / 2
            if fam.table(mid) == table:
                inside = mid
            else:
                outside = mid
            if abs(outside - inside) < 1e-12:
                break
        return inside

    return edge(-1), edge(+1)


def _calibrate_scan(
    fam: _Family,
    ev_at: Any,
    lo: float,
    hi: float,
    alpha: float,
    power: float | None,
    n_tables: int,
) -> CalibrationResult:
    grid = np.linspace(lo, hi, 401)
    best: tuple[float, _Eval] | None = None
    closest: tuple[float, _Eval] | None = None
    for v in grid:
        e = ev_at(float(v))
        if e is None:
            continue
        if e.alpha <= alpha + 1e-12:
            if best is None or (e.power, -e.en_p0) > (best[1].power, -best[1].en_p0):
                best = (float(v), e)
        elif closest is None or e.alpha < closest[1].alpha:
            closest = (float(v), e)
    name = fam.name
    if best is None:
        if closest is None:
            raise CalibrationError(f"no value of {name} in [{lo:g}, {hi:g}] gives a valid design.")
        v, e = closest
        msg = (
            f"{name} is not monotone in alpha; scanned 401 values: none meets alpha <= "
            f"{alpha:g}; closest worst-case alpha {e.alpha:.4g}"
        )
        return _result(fam.design_at(v), {name: v}, e, alpha, power, message=msg)
    v, e = best
    msg = (
        f"{name} is not monotone in alpha; scanned 401 values in [{lo:g}, {hi:g}] and kept "
        "the most powerful design with alpha controlled"
    )
    return _result(fam.design_at(v), {name: v}, e, alpha, power, message=msg, n_tables=n_tables)


# ---------------------------------------------------------------------------
# Smallest E[N | p0] with alpha and power controlled
# ---------------------------------------------------------------------------
_FUTILITY_PREFERENCE = ("futility.threshold", "futility.cutoff", "futility.gamma",
                        "futility.lambda")
_FINAL_GRID_SIZE = 200


def _futility_parameter(design: Design) -> str:
    """The futility rule's tuning parameter (the first of ``_FUTILITY_PREFERENCE`` it has)."""
    names = parameters_of(design)
    for name in _FUTILITY_PREFERENCE:
        if name in names:
            return name
    raise DesignError(
        f"design {design.name!r} has no futility parameter to tune for objective 'min-EN0' "
        "(its futility rule is missing or an explicit boundary); give `parameter` "
        f"(one of {{{', '.join(names)}}})" if names else
        f"design {design.name!r} has no parameter to tune for objective 'min-EN0'."
    )


def _final_parameter(design: Design) -> str | None:
    """``final.cutoff`` or ``final.lambda`` (a BOP2 final rule); None for other final rules."""
    if isinstance(design.final, PosteriorProbability):
        return "final.cutoff"
    if isinstance(design.final, BOP2):
        return "final.lambda"
    return None


def _grid_iv(values: Any, name: str) -> np.ndarray:
    allowed = "a non-empty list of finite numbers"
    if isinstance(values, str | bytes):
        raise fail(name, "calibrate", allowed, values)
    try:
        arr = np.asarray(values, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        raise fail(name, "calibrate", allowed, values) from None
    if arr.size == 0 or not np.all(np.isfinite(arr)):
        raise fail(name, "calibrate", allowed, values)
    return np.unique(arr)


def _min_en_grid(parameter: str, within: tuple[float, float] | None) -> np.ndarray:
    """Default grid of ``parameter`` for objective ``"min-EN0"``."""
    if within is not None:
        lo, hi = within
        return np.unique(np.round(np.linspace(lo, hi, 201), 10))
    slot, _, last = parameter.partition(".")
    if slot in ("futility", "efficacy") and last in ("threshold", "cutoff"):
        return np.concatenate([np.arange(1, 100) / 1000, np.arange(10, 100) / 100])
    lo, hi = _default_range(parameter)
    return np.unique(np.round(np.linspace(lo, hi, 201), 10))


@dataclass(frozen=True)
class _Setting:
    """One evaluated grid setting: parameter values, the design there and its figures."""

    values: tuple[float, ...]
    key: _TableKey
    ev: _Eval


def _middle(values: list[tuple[float, ...]]) -> tuple[float, ...]:
    """The middle one of the grid settings giving the same table (sorted)."""
    return sorted(values)[len(values) // 2]


def _calibrate_min_en(
    design: Design,
    parameter: str | None,
    alpha: float,
    power: float | None,
    p0: float,
    p1: float | None,
    within: tuple[float, float] | None,
    grid: Sequence[float] | None,
    final_grid: Sequence[float] | None,
    tune_final: bool | None,
) -> CalibrationResult:
    """``calibrate(..., objective="min-EN0")``: see :func:`calibrate`."""
    owner = "calibrate"
    if power is None:
        raise DesignError(
            "`power` of calibrate must be given with objective 'min-EN0' (with only alpha "
            "controlled, the smallest E[N | p0] stops every trial at once); got None."
        )
    if parameter is None:
        parameter = _futility_parameter(design)
    set_parameter(design, parameter, _current(design, parameter))  # validates the name
    if within is not None and not (
        len(within) == 2 and all(math.isfinite(float(x)) for x in within) and within[0] < within[1]
    ):
        raise fail("within", owner, "an interval (low, high) with low < high", within)
    values = _grid_iv(grid, "grid") if grid is not None else _min_en_grid(parameter, within)
    if tune_final is not None and not isinstance(tune_final, bool):
        raise fail("tune_final", owner, "True, False or None", tune_final)
    final_name = _final_parameter(design)
    if final_name == parameter:
        final_name = None  # the parameter is the final cutoff itself
    if tune_final and final_name is None:
        raise DesignError(
            f"`tune_final` of calibrate needs a final rule with a cutoff (posterior or bop2) "
            f"other than the tuned parameter {parameter!r}; design {design.name!r} has "
            f"{design.final.kind!r}."
        )
    finals = (
        _grid_iv(final_grid, "final_grid") if final_grid is not None
        else np.linspace(0.5, 0.9999, _FINAL_GRID_SIZE)
    )
    size = len(values) * (1 + (len(finals) if final_name is not None else 0))
    cost = calibration_cost(design, designs=size, tables=size, n_rates=NULL_GRID + 2)
    require_memory(cost.nbytes, _what(f"the E[N | p0] search over {parameter}", design),
                   REMEDY_CALIBRATE, seconds=cost.seconds)
    evals: dict[_TableKey, _Eval] = {}

    def run(base: Design, final_value: float | None) -> list[_Setting]:
        out = []
        for v in values:
            try:
                d = set_parameter(base, parameter, float(v))
                t = d.boundaries()
            except DesignError:
                continue  # invalid there (e.g. overlapping regions)
            key = (t.futility_max_r, t.efficacy_min_r)
            if key not in evals:
                evals[key] = _evaluate(t, p0, p1)
            vals = (float(v),) if final_value is None else (float(v), final_value)
            out.append(_Setting(vals, key, evals[key]))
        return out

    settings = [] if tune_final else run(design, None)
    if final_name is None or tune_final is False or (
            tune_final is None and _feasible(settings, alpha, power)):
        return _min_en_result(design, [parameter], settings, [], alpha, power, len(evals), "")
    joint: list[_Setting] = []
    kept, dropped, top_power = _final_values(design, final_name, finals, p1, power)
    for fv in kept:
        joint += run(set_parameter(design, final_name, fv), fv)
    if not joint and top_power is not None:
        raise CalibrationError(
            f"no final boundary reaches power >= {power:g} even without futility stopping "
            f"(the most is {top_power:.4f}, over {final_name} in [{finals.min():g}, "
            f"{finals.max():g}]); relax the power target or enlarge the sample size."
        )
    if not _feasible(joint, alpha, power):  # say what the whole grid reaches
        for fv in dropped:
            joint += run(set_parameter(design, final_name, fv), fv)
    return _min_en_result(design, [parameter, final_name], joint, settings, alpha, power,
                          len(evals), "asked" if tune_final else "needed")


def _feasible(settings: list[_Setting], alpha: float, power: float) -> list[_Setting]:
    return [s for s in settings
            if s.ev.alpha <= alpha + 1e-12 and s.ev.power >= power - 1e-12]


def _final_values(
    design: Design, name: str, finals: np.ndarray, p1: float | None, power: float
) -> tuple[list[float], list[float], float | None]:
    """One final value per distinct final boundary s: (kept, dropped, most power).

    The value for s is the design's own when it gives s, else the shortest
    decimal between the grid values giving s. An s whose power without
    futility stopping is below ``power`` is dropped (futility stopping can only
    lower power); the most power is that of the best s without futility.
    """
    bare = design.replace(futility=None)

    def final_s(v: float) -> int | None:
        try:
            b = set_parameter(bare, name, v).boundaries().efficacy_min_r[-1]
        except DesignError:
            return None
        return design.n_max + 1 if b is None else b

    by_s: dict[int, list[float]] = {}
    for fv in finals:
        s = final_s(float(fv))
        if s is not None:
            by_s.setdefault(s, []).append(float(fv))
    own = _current(design, name)
    own_s = final_s(own)
    out = []
    dropped = []
    top: float | None = None
    for s, vals in sorted(by_s.items()):
        fv = own if s == own_s else shortest_decimal(min(vals), max(vals))
        if final_s(fv) != s:  # guard against float edge effects
            fv = _middle([(v,) for v in vals])[0]
        if p1 is not None:
            n, a, b = set_parameter(bare, name, fv).boundaries().arrays()
            single = float(stop_probabilities(n, a, b, [p1])[0, :, 1].sum())
            top = single if top is None else max(top, single)
            if single < power - 1e-12:
                dropped.append(fv)
                continue
        out.append(fv)
    return out, dropped, top


def _min_en_result(
    design: Design,
    names: list[str],
    settings: list[_Setting],
    earlier: list[_Setting],
    alpha: float,
    power: float,
    n_tables: int,
    tuned_final: str,
) -> CalibrationResult:
    """The chosen setting, or the error saying the best alpha / power reached.

    ``earlier``: the settings tried with the design's own final cutoff before
    the final cutoff was tuned too (their values name ``names[0]`` only).
    """
    what = " and ".join(names)
    tried = settings + earlier
    if not tried:
        raise CalibrationError(f"no value of {what} on the grid gives a valid design.")
    ok = _feasible(settings, alpha, power)
    if not ok:
        controlled = [s for s in tried if s.ev.alpha <= alpha + 1e-12]
        if controlled:
            b = max(controlled, key=lambda s: (s.ev.power, -s.ev.en_p0))
            reached = (f"the most powerful setting with alpha <= {alpha:g} reaches power "
                       f"{b.ev.power:.4f} (alpha {b.ev.alpha:.4f}; "
                       f"{_values_text(names, b.values)})")
        else:
            b = min(tried, key=lambda s: (s.ev.alpha, -s.ev.power))
            reached = (f"the smallest worst-case alpha reached is {b.ev.alpha:.4f} (power "
                       f"{b.ev.power:.4f}; {_values_text(names, b.values)})")
        raise CalibrationError(
            f"no setting of {what} on the grid meets alpha <= {alpha:g} and power >= "
            f"{power:g}: {reached}; relax the targets or change the design's sample size or "
            "looks."
        )
    best = min(ok, key=lambda s: (s.ev.en_p0, -s.ev.power, s.ev.alpha))
    same = [s.values for s in ok if s.key == best.key]
    chosen = _middle(same)
    d = design
    for name, v in zip(names, chosen, strict=True):
        d = set_parameter(d, name, v)
    params = dict(zip(names, chosen, strict=True))
    how = "" if not tuned_final else (
        " (the final cutoff tuned too: no futility setting alone met both targets)"
        if tuned_final == "needed" else "")
    msg = (f"{_values_text(names, chosen)} gives the smallest E[N | p0] "
           f"({best.ev.en_p0:.2f}) with worst-case alpha <= {alpha:g} and power >= {power:g}, "
           f"over {len(settings)} grid settings ({n_tables} distinct boundary tables){how}")
    return _result(d, params, best.ev, alpha, power, message=msg, n_tables=n_tables)


def _values_text(names: list[str], values: tuple[float, ...]) -> str:
    return ", ".join(f"{n} = {v:g}" for n, v in zip(names, values, strict=False))


# ---------------------------------------------------------------------------
# BOP2 (lambda, gamma[, eta]) grid search
# ---------------------------------------------------------------------------
def calibrate_bop2(
    design: Design,
    *,
    alpha: float = 0.10,
    power: float | None = None,
    lambdas: Sequence[float] | None = None,
    gammas: Sequence[float] | None = None,
    etas: Sequence[float] | None = None,
    p0: float | None = None,
    p1: float | None = None,
    objective: str = "max-power",
) -> CalibrationResult:
    """Search BOP2's (λ, γ) — and η for BOP2-FE — on a grid, exactly.

    Every grid point's boundary table is computed exactly; each distinct table
    is evaluated once by the dynamic programme (worst-case α over p ≤ p0, power
    at p1). The final rule must be ``bop2`` (its λ is tied to the futility λ)
    or a posterior rule whose cutoff is then set to λ.

    Parameters
    ----------
    design : Design
        A design with a BOP2 futility rule.
    alpha : float
        Target for the worst-case ``p_efficacy`` over p ≤ p0.
    power : float, optional
        Target ``p_efficacy`` at p1 (required for ``"min-EN0"``).
    lambdas, gammas, etas : sequence of float, optional
        Grids; default 21 values each (λ in [0.5, 0.99], γ and η in [0.1, 3]).
    p0, p1 : float, optional
        Null and alternative rates; default the design's planning values.
    objective : {"max-power", "min-EN0"}
        ``"max-power"`` (default): the largest power with α controlled, ties
        broken by the smaller E[N | p0]. ``"min-EN0"``: the smallest E[N | p0]
        with α ≤ ``alpha`` and power ≥ ``power``, ties broken by the larger
        power; a :class:`CalibrationError` if no grid point meets both.

    Returns
    -------
    CalibrationResult
        The chosen grid point's design and exact figures.
    """
    alpha = check_probability(alpha, "alpha", "calibrate_bop2")
    if power is not None:
        power = check_probability(power, "power", "calibrate_bop2")
    objective = check_choice(objective, "objective", "calibrate_bop2", OBJECTIVES)
    if objective == "min-EN0" and power is None:
        raise DesignError(
            "`power` of calibrate_bop2 must be given with objective 'min-EN0' (with only alpha "
            "controlled, the smallest E[N | p0] stops every trial at once); got None."
        )
    if not isinstance(design.futility, BOP2):
        raise DesignError("`design.futility` of calibrate_bop2 must be a BOP2 rule.")
    p0f, p1f = _planning(design, p0, p1)
    _need_p1(power, p1f, "calibrate_bop2")
    lam = np.linspace(0.5, 0.99, 21) if lambdas is None else np.asarray(lambdas, float)
    gam = np.linspace(0.1, 3.0, 21) if gammas is None else np.asarray(gammas, float)
    fe = isinstance(design.efficacy, BOP2)
    eta = (np.linspace(0.1, 3.0, 21) if etas is None else np.asarray(etas, float)) if fe else [None]
    points = len(lam) * len(gam) * len(eta)
    cost = calibration_cost(design, designs=points, tables=points, n_rates=NULL_GRID + 2)
    require_memory(cost.nbytes, _what(f"the BOP2 grid search ({points} points)", design),
                   REMEDY_CALIBRATE, seconds=cost.seconds)
    evals: dict[_TableKey, _Eval] = {}
    best: tuple[tuple[float, ...], Design, _Eval] | None = None
    closest: tuple[tuple[float, ...], Design, _Eval] | None = None
    lowest_en: tuple[tuple[float, ...], Design, _Eval] | None = None  # objective "min-EN0"
    for la in lam:
        final = design.final
        if isinstance(final, BOP2):
            final = final.replace(lambda_=float(la))
        elif isinstance(final, PosteriorProbability):
            final = final.replace(cutoff=float(la))
        else:
            raise DesignError("`design.final` of calibrate_bop2 must be a bop2 or posterior rule.")
        for ga in gam:
            for et in eta:
                changes: dict[str, Any] = {
                    "final": final,
                    "futility": design.futility.replace(lambda_=float(la), gamma=float(ga)),
                }
                if fe:
                    changes["efficacy"] = design.efficacy.replace(  # type: ignore[union-attr]
                        lambda_=float(la), eta=float(cast(float, et))  # et is a float when fe
                    )
                try:
                    cand = design.replace(**changes)
                    t = cand.boundaries()
                except DesignError:
                    continue
                key = (t.futility_max_r, t.efficacy_min_r)
                if key not in evals:
                    evals[key] = _evaluate(t, p0f, p1f)
                e = evals[key]
                params = (float(la), float(ga)) + ((float(cast(float, et)),) if fe else ())
                if (objective == "min-EN0" and e.alpha <= alpha + 1e-12
                        and e.power >= cast(float, power) - 1e-12 and (
                        lowest_en is None
                        or (e.en_p0, -e.power) < (lowest_en[2].en_p0, -lowest_en[2].power))):
                    lowest_en = (params, cand, e)
                if e.alpha <= alpha + 1e-12:
                    score = (e.power if p1f is not None else 0.0, -e.en_p0)
                    if best is None or score > (best[2].power if p1f else 0.0, -best[2].en_p0):
                        best = (params, cand, e)
                elif closest is None or e.alpha < closest[2].alpha:
                    closest = (params, cand, e)
    names = ["futility.lambda", "futility.gamma"] + (["efficacy.eta"] if fe else [])
    n_points = len(lam) * len(gam) * len(eta)
    if objective == "min-EN0":
        return _bop2_min_en(names, lowest_en, best, closest, alpha, cast(float, power),
                            n_points, len(evals))
    if best is None:
        if closest is None:
            raise CalibrationError("no grid point gives a valid BOP2 design.")
        params, cand, e = closest
        msg = f"no grid point meets alpha <= {alpha:g}; closest worst-case alpha {e.alpha:.4g}"
    else:
        params, cand, e = best
        msg = (
            f"best of {n_points} grid points ({len(evals)} distinct boundary tables) "
            f"with worst-case alpha <= {alpha:g}"
        )
    return _result(
        cand,
        dict(zip(names, params, strict=True)),
        e,
        alpha,
        power,
        message=msg,
        n_tables=len(evals),
    )


def _bop2_min_en(
    names: list[str],
    lowest_en: tuple[tuple[float, ...], Design, _Eval] | None,
    best: tuple[tuple[float, ...], Design, _Eval] | None,
    closest: tuple[tuple[float, ...], Design, _Eval] | None,
    alpha: float,
    power: float,
    n_points: int,
    n_tables: int,
) -> CalibrationResult:
    """The ``"min-EN0"`` result of :func:`calibrate_bop2`, or the error saying what was reached."""
    if lowest_en is None:
        if best is not None:
            params, _, e = best
            reached = (f"the most powerful grid point with alpha <= {alpha:g} reaches power "
                       f"{e.power:.4f} (alpha {e.alpha:.4f}; {_values_text(names, params)})")
        elif closest is not None:
            params, _, e = closest
            reached = (f"the smallest worst-case alpha reached is {e.alpha:.4f} (power "
                       f"{e.power:.4f}; {_values_text(names, params)})")
        else:
            raise CalibrationError("no grid point gives a valid BOP2 design.")
        raise CalibrationError(
            f"no BOP2 grid point meets alpha <= {alpha:g} and power >= {power:g}: {reached}; "
            "relax the targets or change the design's sample size or looks."
        )
    params, cand, e = lowest_en
    msg = (f"{_values_text(names, params)} gives the smallest E[N | p0] ({e.en_p0:.2f}) with "
           f"worst-case alpha <= {alpha:g} and power >= {power:g}, best of {n_points} grid "
           f"points ({n_tables} distinct boundary tables)")
    return _result(cand, dict(zip(names, params, strict=True)), e, alpha, power, message=msg,
                   n_tables=n_tables)


# ---------------------------------------------------------------------------
# Sensitivity to the prior weight
# ---------------------------------------------------------------------------
def weight_curve(
    design: Design,
    weights: Sequence[float] | None = None,
    *,
    parameter: str = "prior.power",
    p0: float | None = None,
    p1: float | None = None,
) -> Any:
    """Worst-case α, power and E[N | p0] as the prior weight moves from 0 to 1.

    Parameters
    ----------
    design : Design
        A design whose prior was built from a specification with historical
        data (``prior.power``) or a robust component (``prior.robust.weight``).
    weights : sequence of float, optional
        Weights to evaluate; default 0, 0.05, ..., 1.
    parameter : {"prior.power", "prior.robust.weight"}

    Returns
    -------
    pandas.DataFrame
        Columns ``weight``, ``alpha``, ``worst_case_p``, ``power``,
        ``expected_n_p0``, ``ess_elir``, and the boundary table as text.
    """
    import pandas as pd


    if parameter not in ("prior.power", "prior.robust.weight"):
        raise fail("parameter", "weight_curve", "'prior.power' or 'prior.robust.weight'", parameter)
    p0f, p1f = _planning(design, p0, p1)
    ws = np.linspace(0.0, 1.0, 21) if weights is None else np.asarray(weights, float)
    cost = calibration_cost(design, designs=len(ws), tables=len(ws), n_rates=NULL_GRID + 2)
    require_memory(cost.nbytes, _what("the prior-weight curve", design), REMEDY_CALIBRATE,
                   seconds=cost.seconds)
    rows = []
    for w in ws:
        d = set_parameter(design, parameter, float(w))
        t = d.boundaries()
        e = _evaluate(t, p0f, p1f)
        rows.append(
            {
                "weight": float(w),
                "alpha": e.alpha,
                "worst_case_p": e.worst_p,
                "power": e.power,
                "expected_n_p0": e.en_p0,
                "ess_elir": ess(d.prior),
                "futility_max_r": str(list(t.futility_max_r)),
                "efficacy_min_r": str(list(t.efficacy_min_r)),
            }
        )
    return pd.DataFrame(rows)
