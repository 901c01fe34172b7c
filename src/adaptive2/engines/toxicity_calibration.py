"""Calibrate a toxicity monitor to a false-alarm probability, exactly.

:func:`calibrate_toxicity` tunes the one free parameter of a
:class:`~adaptive2.model.toxicity.ToxicityMonitor` so that the exact
probability of stopping for toxicity when the event rate is only
``acceptable`` (a false alarm) is at most a target, while the probability of
stopping when the rate is at the ``limit`` is as large as possible:

* ``rule="posterior"``: the posterior-probability ``cutoff``;
* ``rule="pocock"``: the nominal level ``η`` (through
  :func:`~adaptive2.kernels.toxicity.calibrate_pocock`, which the monitor
  already runs for its ``p_stop_acceptable``).

Posterior rule
--------------
At look ``k`` the monitor stops on ``x`` events of ``n_k`` patients iff
``P(rate > limit | x, n_k) > cutoff + tol`` (``tol`` =
:data:`~adaptive2.kernels.toxicity.TIE_TOLERANCE`), i.e. iff
``cutoff < v(n_k, x) := P(rate > limit | x, n_k) - tol``. The boundary vector —
and with it every operating characteristic — is therefore a step function of
the cutoff whose only breakpoints are the values ``v(n_k, x)``. Sorted, the
distinct breakpoints ``v_1 < ... < v_m`` in (0, 1) cut (0, 1) into the
intervals ``(0, v_1), (v_1, v_2), ..., (v_m, 1)``; on the ``i``-th interval the
stopping set is ``{(n_k, x): v(n_k, x) >= v_{i+1}}``, and on the last one the
monitor never stops. The stopping sets shrink from interval to interval, so
P(stop | rate) does not increase, at every rate: the best interval is the
first (smallest cutoff) whose exact P(stop | acceptable) is at most the
target — it has the largest P(stop | limit) of all feasible intervals. It is
found by bisection over the sorted intervals, each probe an exact dynamic
programme (:func:`~adaptive2.kernels.toxicity.stop_probabilities`). The
cutoff returned is the shortest decimal in the middle half of its interval,
so that perturbing it by less than a quarter of the interval's width (and
intervals narrower than ``4e-6`` are never chosen: by at least ``1e-6``)
leaves the boundaries unchanged.

A monitor that can never stop meets any target and monitors nothing; when only
such a monitor meets the target the result is reported infeasible, carrying
the monitor that stops least (with its P(stop | acceptable) above the target).

References
----------
Ivanova A, Qaqish BF, Schell MJ (2005). Continuous toxicity monitoring in
phase II trials in oncology. Biometrics 61:540-545.
Thall PF, Simon R, Estey EH (1995). Bayesian sequential monitoring designs
for single-arm clinical trials with multiple outcomes. Stat Med 14:357-379.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from scipy import special

from adaptive2._base.validation import check_probability, fail
from adaptive2.kernels.toxicity import (
    TIE_TOLERANCE,
    expected_n,
    pocock_boundary,
    posterior_exceeds,
    stop_probabilities,
)
from adaptive2.model.toxicity import ToxicityMonitor

__all__ = ["MIN_INTERVAL", "ToxicityCalibration", "calibrate_toxicity"]

_OWNER = "calibrate_toxicity"
MIN_INTERVAL = 4e-6
"""Cutoff intervals narrower than this are not chosen (no robust cutoff lies inside)."""
_Z_EDGE = 38.5  # Φ(±38.5) is 0 and 1 in double precision


@dataclass(frozen=True, slots=True, kw_only=True)
class ToxicityCalibration:
    """Result of :func:`calibrate_toxicity`.

    Attributes
    ----------
    monitor : ToxicityMonitor
        The calibrated monitor (``cutoff`` set for ``posterior``;
        ``p_stop_acceptable`` set to the target for ``pocock``). When the
        target cannot be met by a monitor that can stop, the monitor that
        stops least.
    parameter : {"cutoff", "eta"}
        The tuned parameter: the posterior cutoff, or the nominal level η of
        the ``pocock`` rule.
    value : float
        Its calibrated value.
    interval : tuple of float or None
        ``posterior`` only: every cutoff in this open interval gives the same
        boundaries (``value`` lies in its middle half); None for ``pocock``.
    target : float
        The largest P(stop | acceptable) allowed.
    p_stop_acceptable, p_stop_limit : float
        Exact P(stop for toxicity at any monitoring point) at the acceptable
        rate (achieved false-alarm probability) and at the limit.
    expected_n_acceptable, expected_n_limit : float
        Expected patients evaluated for the event at those rates.
    boundaries : tuple of int
        ``c_k``: stop if at least ``c_k`` of the first ``monitor[k]`` patients
        have the event (``monitor[k] + 1``: no stop there).
    feasible : bool
        True if a monitor that can stop meets the target.
    message : str
        The outcome in words.
    """

    monitor: ToxicityMonitor
    parameter: Literal["cutoff", "eta"]
    value: float
    interval: tuple[float, float] | None
    target: float
    p_stop_acceptable: float
    p_stop_limit: float
    expected_n_acceptable: float
    expected_n_limit: float
    boundaries: tuple[int, ...]
    feasible: bool
    message: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (the monitor as a dictionary of its fields)."""
        m = self.monitor
        monitor = {
            "event": m.event,
            "limit": m.limit,
            "acceptable": m.acceptable,
            "rule": m.rule,
            "monitor": list(m.monitor),
            "cutoff": m.cutoff,
            "prior": list(m.prior),
            "shape": m.shape,
            "p_stop_acceptable": m.p_stop_acceptable,
        }
        return {
            "monitor": monitor,
            "parameter": self.parameter,
            "value": self.value,
            "interval": None if self.interval is None else list(self.interval),
            "target": self.target,
            "p_stop_acceptable": self.p_stop_acceptable,
            "p_stop_limit": self.p_stop_limit,
            "expected_n_acceptable": self.expected_n_acceptable,
            "expected_n_limit": self.expected_n_limit,
            "boundaries": list(self.boundaries),
            "feasible": self.feasible,
            "message": self.message,
        }

    def __str__(self) -> str:
        return self.message


def calibrate_toxicity(
    monitor: ToxicityMonitor, target: float | None = None
) -> ToxicityCalibration:
    """Tune a toxicity monitor so that P(stop | acceptable) <= ``target``, exactly.

    Parameters
    ----------
    monitor : ToxicityMonitor
        The monitor to calibrate; its ``cutoff`` (``posterior``) or
        ``p_stop_acceptable`` (``pocock``) is replaced, everything else kept.
    target : float, optional
        Largest P(stop for toxicity at any monitoring point | acceptable
        rate), in (0, 1); default the monitor's ``p_stop_acceptable``.

    Returns
    -------
    ToxicityCalibration
        The calibrated monitor with its exact operating characteristics at
        the acceptable rate and at the limit. ``feasible`` is False (and
        ``message`` says why) when only a monitor that never stops meets the
        target.

    Raises
    ------
    DesignError
        If ``monitor`` is not a ToxicityMonitor or ``target`` is not a
        probability in (0, 1).

    Notes
    -----
    ``posterior``: of all cutoffs with P(stop | acceptable) <= ``target``, the
    one chosen has the largest P(stop | limit); both probabilities are
    non-increasing step functions of the cutoff with breakpoints at the
    posterior probabilities of the lattice (see the module docstring), so the
    optimum is exact, not a grid approximation. ``pocock``: the boundary of
    the power family with the largest P(stop | acceptable) not above the
    target (:func:`~adaptive2.kernels.toxicity.calibrate_pocock`); within that
    one-parameter family this also maximises P(stop | limit).

    References
    ----------
    Ivanova A, Qaqish BF, Schell MJ (2005). Continuous toxicity monitoring in
    phase II trials in oncology. Biometrics 61:540-545.

    Examples
    --------
    >>> m = ToxicityMonitor(event="DLT", limit=0.3, acceptable=0.1, rule="posterior",
    ...                     cutoff=0.5, monitor=(10, 20, 30))
    >>> cal = calibrate_toxicity(m, target=0.05)
    >>> cal.boundaries, round(cal.p_stop_acceptable, 4), round(cal.p_stop_limit, 4)
    ((4, 7, 10), 0.014, 0.5606)
    >>> cal.value, [round(v, 4) for v in cal.interval], cal.feasible
    (0.6, [0.5696, 0.6879], True)
    """
    if not isinstance(monitor, ToxicityMonitor):
        raise fail("monitor", _OWNER, "a ToxicityMonitor", monitor)
    goal = monitor.p_stop_acceptable if target is None else target
    goal = check_probability(goal, "target", _OWNER)
    if monitor.rule == "posterior":
        return _calibrate_posterior(monitor, goal)
    return _calibrate_pocock(monitor, goal)


# ---------------------------------------------------------------------------
# posterior rule
# ---------------------------------------------------------------------------
def _breakpoints(monitor: ToxicityMonitor) -> NDArray[np.float64]:
    """Sorted distinct cutoff breakpoints v(n_k, x) in (0, 1)."""
    a, b = monitor.prior
    values = [
        posterior_exceeds(np.arange(n + 1), n, monitor.limit, a, b) - TIE_TOLERANCE
        for n in monitor.monitor
    ]
    v = np.unique(np.concatenate(values))
    return np.asarray(v[(v > 0.0) & (v < 1.0)], dtype=float)


def _counts_at(monitor: ToxicityMonitor, cutoff: float) -> tuple[int, ...]:
    return monitor.replace(cutoff=cutoff).boundaries()


def _stop(monitor: ToxicityMonitor, counts: tuple[int, ...]) -> tuple[float, float]:
    """Exact P(stop) at (acceptable, limit)."""
    at = stop_probabilities(counts, monitor.monitor, [monitor.acceptable, monitor.limit])
    total = at.sum(axis=1)
    return float(total[0]), float(total[1])


def _nice(lo: float, hi: float) -> float:
    """The shortest decimal in the middle half of (lo, hi), nearest its middle."""
    mid = 0.5 * (lo + hi)
    a, b = lo + 0.25 * (hi - lo), hi - 0.25 * (hi - lo)
    for digits in range(1, 18):
        scale = 10.0**digits
        cands = [math.floor(mid * scale) / scale, math.ceil(mid * scale) / scale]
        inside = [c for c in cands if a <= c <= b and 0.0 < c < 1.0]
        if inside:
            return min(inside, key=lambda c: (abs(c - mid), c))
    return mid


def _calibrate_posterior(monitor: ToxicityMonitor, target: float) -> ToxicityCalibration:
    v = _breakpoints(monitor)
    edges = np.concatenate([[0.0], v, [1.0]])
    lows, highs = edges[:-1], edges[1:]
    # Intervals (lows[i], highs[i]); the last never stops. Keep those wide enough for a
    # robust cutoff; the stopping sets shrink, so P(stop) is non-increasing along them.
    wide = np.flatnonzero(highs - lows > MIN_INTERVAL)
    stopping = wide[wide < lows.size - 1]
    if stopping.size == 0:  # no robust cutoff stops at all (a monitor of 0 patients)
        raise fail("monitor", _OWNER, "a monitor whose cutoff intervals allow stopping", monitor)

    def probe(i: int) -> tuple[float, tuple[int, ...], float, float]:
        cutoff = _nice(float(lows[i]), float(highs[i]))
        counts = _counts_at(monitor, cutoff)
        p_acc, p_lim = _stop(monitor, counts)
        return cutoff, counts, p_acc, p_lim

    # first index j of `stopping` with P(stop | acceptable) <= target (bisection)
    lo, hi = 0, stopping.size  # answer in [lo, hi]; hi = size means none
    cache: dict[int, tuple[float, tuple[int, ...], float, float]] = {}
    while lo < hi:
        mid = (lo + hi) // 2
        cache[mid] = probe(int(stopping[mid]))
        if cache[mid][2] <= target:
            hi = mid
        else:
            lo = mid + 1
    feasible = lo < stopping.size
    j = lo if feasible else stopping.size - 1
    if j not in cache:
        cache[j] = probe(int(stopping[j]))
    cutoff, counts, p_acc, p_lim = cache[j]
    interval = (float(lows[stopping[j]]), float(highs[stopping[j]]))
    calibrated = monitor.replace(cutoff=cutoff)
    if feasible:
        message = (
            f"cutoff {cutoff:g} (every cutoff in ({interval[0]:.6g}, {interval[1]:.6g}) gives "
            f"the same boundaries): P(stop | {monitor.acceptable:g}) = {p_acc:.4g} <= "
            f"{target:g}, P(stop | {monitor.limit:g}) = {p_lim:.4g}"
        )
    else:
        message = _infeasible_message(monitor, target, p_acc, counts)
    return _result(calibrated, "cutoff", cutoff, interval, target, counts, feasible, message)


# ---------------------------------------------------------------------------
# pocock rule
# ---------------------------------------------------------------------------
def _never(counts: tuple[int, ...], looks: tuple[int, ...]) -> bool:
    return all(c > n for c, n in zip(counts, looks, strict=True))


def _least_stopping_pocock(monitor: ToxicityMonitor) -> float:
    """P(stop | acceptable) of the first member of the power family that can stop."""
    looks = monitor.monitor

    def counts(z: float) -> tuple[int, ...]:
        eta = float(special.ndtr(z))
        out = pocock_boundary(looks, monitor.acceptable, eta, monitor.shape)
        return tuple(int(c) for c in out)

    lo, hi = -_Z_EDGE, _Z_EDGE  # never stops at lo; stops at hi (η = 1 stops on any event)
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if not lo < mid < hi:
            break
        if _never(counts(mid), looks):
            lo = mid
        else:
            hi = mid
    return _stop(monitor, counts(hi))[0]


def _calibrate_pocock(monitor: ToxicityMonitor, target: float) -> ToxicityCalibration:
    calibrated = monitor.replace(p_stop_acceptable=target)
    counts = calibrated.boundaries()
    feasible = not _never(counts, monitor.monitor)
    if feasible:
        p_acc, p_lim = _stop(monitor, counts)
        eta = calibrated.nominal_level
        assert eta is not None  # the pocock rule always has one
        message = (
            f"nominal level eta = {eta:.6g}: P(stop | {monitor.acceptable:g}) = {p_acc:.4g} "
            f"<= {target:g}, P(stop | {monitor.limit:g}) = {p_lim:.4g}"
        )
    else:
        least = _least_stopping_pocock(monitor)
        calibrated = monitor.replace(p_stop_acceptable=least)
        counts = calibrated.boundaries()
        message = _infeasible_message(monitor, target, least, counts)
    eta = calibrated.nominal_level
    assert eta is not None
    return _result(calibrated, "eta", eta, None, target, counts, feasible, message)


# ---------------------------------------------------------------------------
# shared
# ---------------------------------------------------------------------------
def _infeasible_message(
    monitor: ToxicityMonitor, target: float, p_acc: float, counts: tuple[int, ...]
) -> str:
    where = ", ".join(
        f">= {c} of {n}" for c, n in zip(counts, monitor.monitor, strict=True) if c <= n
    )
    return (
        f"infeasible: no {monitor.rule} monitor that can stop has P(stop | "
        f"{monitor.acceptable:g}) <= {target:g}; the one that stops least (stop if {where}) "
        f"has P(stop | {monitor.acceptable:g}) = {p_acc:.4g}. Raise the target or monitor "
        "later or less often"
        + (", or use a more informative prior." if monitor.rule == "posterior" else ".")
    )


def _result(
    monitor: ToxicityMonitor,
    parameter: Literal["cutoff", "eta"],
    value: float,
    interval: tuple[float, float] | None,
    target: float,
    counts: tuple[int, ...],
    feasible: bool,
    message: str,
) -> ToxicityCalibration:
    at = stop_probabilities(counts, monitor.monitor, [monitor.acceptable, monitor.limit])
    en = expected_n(at, monitor.monitor)
    total = at.sum(axis=1)
    return ToxicityCalibration(
        monitor=monitor,
        parameter=parameter,
        value=float(value),
        interval=interval,
        target=target,
        p_stop_acceptable=float(total[0]),
        p_stop_limit=float(total[1]),
        expected_n_acceptable=float(en[0]),
        expected_n_limit=float(en[1]),
        boundaries=tuple(int(c) for c in counts),
        feasible=feasible,
        message=message,
    )
