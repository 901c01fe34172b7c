"""Simulated trials of single-cohort designs: one chunk of one scenario for every design.

Patients arrive by the conduct's accrual process, their responses become known
after the delay, interims trigger on known evaluable outcomes, and the design's
integer boundaries decide; every design in one run sees the same patients.

Toxicity co-monitoring
----------------------
A design with a toxicity monitor (``design.toxicity``, a
:class:`~adaptive2.model.toxicity.ToxicityMonitor`) is also checked for its
safety event, and stopping for either reason ends the trial:

* Each evaluable patient's event is drawn jointly with the response from the
  four cells of :func:`adaptive2.kernels.joint.cell_probabilities` (true
  toxicity rate ``q``, odds ratio ``psi``): the response is the patient's
  usual draw (``u < p``), the event ``v < P(T | R)`` of a second uniform ``v``
  of the same patient, with ``P(T | R) = pi11 / p`` for a responder and
  ``pi01 / (1 - p)`` otherwise, so (R, T) falls in each cell with its
  probability and the response draws are those of a run without toxicity.
  Non-evaluable patients (replaced) count for neither endpoint.
* The event is known ``tox_delay`` months after enrolment
  (:attr:`adaptive2.model.conduct.Conduct.tox_delay_form`; inverse CDF of a
  third uniform of the patient). Check ``j`` happens when ``m_j`` evaluable
  patients (among the first ``N`` evaluable, as for efficacy) have a known
  toxicity status and uses exactly those ``m_j`` patients, in the order their
  status became known; it stops if their events reach the boundary ``c_j``.
  Checks beyond ``N`` patients never happen. The stop takes effect
  ``decision_lag`` months after the check (the lag of the efficacy
  analyses).
* The trial ends at the first stop, whichever endpoint gives it: a toxicity
  stop counts if it comes no later than the efficacy decision that would end
  the trial (on a tie the toxicity check acts first, as in
  :func:`adaptive2.kernels.joint.joint_oc`), and efficacy looks decided after
  it did not happen. A trial stopped for toxicity after ``m_j`` patients has
  ``n_analysed = m_j``; its enrolment counts every patient who arrived by the
  stop, its duration is the stop's time, and its ORR estimate uses the
  responses known when the check happened.
* The toxicity uniforms come from their own streams
  ``(scenario key, chunk, block, TOX_STREAM)``, drawn only when some design of
  the run has a monitor: designs without one get bit-identical results, and
  every design of a run sees the same patients (common random numbers).

With no delays and no dropout the simulated OC are those of
:func:`adaptive2.kernels.joint.joint_oc` (``tox_first=True``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import cast

import numpy as np

from adaptive2._base.errors import Adaptive2Error
from adaptive2.engines.simulation_summaries import _sketch
from adaptive2.kernels.joint import cell_probabilities
from adaptive2.model.conduct import Conduct
from adaptive2.model.designs import Design
from adaptive2.model.toxicity import ToxicityMonitor

# ---------------------------------------------------------------------------
# The vectorised kernel: one chunk of one scenario for every design
# ---------------------------------------------------------------------------
BLOCK = 16  # patients per random-number block
TOX_STREAM = 1  # last word of the toxicity uniforms' stream address (scenario, chunk, block, 1)


def toxicity_monitor(design: Design) -> ToxicityMonitor | None:
    """The design's toxicity monitor, or ``None`` (a design without the field has none)."""
    mon = getattr(design, "toxicity", None)
    return mon if isinstance(mon, ToxicityMonitor) else None


@dataclass(frozen=True, slots=True)
class ToxicityTruth:
    """True toxicity of one scenario: the event rate and its odds ratio with response.

    Attributes
    ----------
    rate : float
        True rate ``q`` of the monitored event, in [0, 1].
    odds_ratio : float
        Odds ratio ``psi`` of response and the event (1: independent).
    """

    rate: float
    odds_ratio: float = 1.0


def _kernel(
    designs: Sequence[Design],
    conduct: Conduct,
    p: float,
    blocks: Callable[[int], np.random.Generator],
    size: int,
    chunk_size: int,
    *,
    tox: ToxicityTruth | None = None,
    tox_blocks: Callable[[int], np.random.Generator] | None = None,
) -> dict[str, dict[str, np.ndarray]]:
    """Simulate ``size`` trials; return per-design per-trial results.

    Patient-level uniforms come in blocks of ``BLOCK`` patients, block b drawn from
    its own stream ``blocks(b)``, so a trial's first patients are the same whatever
    number of patients the run needs (other designs, dropout) — common random
    numbers in the strict sense. Designs with a toxicity monitor also need
    ``tox`` (the true rates) and ``tox_blocks`` (the toxicity uniforms' streams,
    block by block); see the module docstring.
    """
    n_max = max(d.n_max for d in designs)
    gaps, evaluable, response, delay, ev_rank = _patients(
        conduct, p, n_max, blocks, size, chunk_size
    )
    monitored = [d for d in designs if toxicity_monitor(d) is not None]
    u_event = tox_delay = None
    if monitored:
        if tox is None or tox_blocks is None:
            raise Adaptive2Error(
                "internal: a design with a toxicity monitor was simulated without its true "
                "toxicity; report this as a bug."
            )
        u_event, tox_delay = _toxicity_draws(
            conduct, n_max, tox_blocks, evaluable, ev_rank, size, chunk_size
        )
    out = {}
    for d in designs:
        events = None
        if toxicity_monitor(d) is not None:
            assert tox is not None and u_event is not None
            events = _events(u_event, response, p, tox.rate, tox.odds_ratio)
        out[d.name] = _one_design(
            d, conduct, gaps, evaluable, response, delay, ev_rank,
            toxicity=None if events is None else (events, cast(np.ndarray, tox_delay)),
        )
    return out


def _toxicity_draws(
    conduct: Conduct,
    n_max: int,
    tox_blocks: Callable[[int], np.random.Generator],
    evaluable: np.ndarray,
    ev_rank: np.ndarray,
    size: int,
    chunk_size: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-patient toxicity uniforms and toxicity delays, (size, m) each.

    Blocks of ``BLOCK`` patients as in :func:`_patients`, from their own streams;
    fixed-size draws keep partial chunks on the same streams.
    """
    m = evaluable.shape[1]
    u = np.concatenate(
        [tox_blocks(b).random((chunk_size, 2, BLOCK))[:size] for b in range(m // BLOCK)], axis=2
    )
    u_event, u_delay = u[:, 0], u[:, 1]
    if conduct.tox_delay_kind in ("fixed", "uniform"):
        return u_event, conduct.tox_delay_ppf(u_delay)
    delay = np.full(u_delay.shape, np.nan)  # inverse CDF only where it can be used
    used = evaluable & (ev_rank <= n_max)
    delay[used] = conduct.tox_delay_ppf(u_delay[used])
    return u_event, delay


def _events(
    u_event: np.ndarray, response: np.ndarray, p: float, q: float, odds_ratio: float
) -> np.ndarray:
    """Toxicity events given the responses: ``u_event < P(T | R)`` (module docstring)."""
    p11, _, p01, _ = (float(x) for x in cell_probabilities(p, q, odds_ratio))
    if_response = p11 / p if p > 0.0 else 0.0
    if_not = p01 / (1.0 - p) if p < 1.0 else 0.0
    return cast(np.ndarray, u_event < np.where(response, if_response, if_not))


def _patients(
    conduct: Conduct,
    p: float,
    n_max: int,
    blocks: Callable[[int], np.random.Generator],
    size: int,
    chunk_size: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Simulated patients of ``size`` trials: (gaps, evaluable, response, delay, ev_rank).

    Arrays are (size, m) in enrolment order: unit-exponential inter-arrival
    gaps, evaluability, response (False if not evaluable), delay to a known
    response, and the number of evaluable patients among the first i + 1.
    """
    q = conduct.p_nonevaluable
    # patients to draw: enough to find n_max evaluable ones with overwhelming probability
    m = int(np.ceil(n_max / (1 - q) + 8 * np.sqrt(n_max * q / (1 - q) ** 2 + 1))) + 5
    n_blocks = -(-m // BLOCK)
    m = n_blocks * BLOCK
    # fixed-size draws (chunk_size, not size) keep streams identical for partial chunks
    u = np.concatenate(
        [blocks(b).random((chunk_size, 4, BLOCK))[:size] for b in range(n_blocks)], axis=2
    )
    u_gap, u_eval, u_resp, u_delay = u[:, 0], u[:, 1], u[:, 2], u[:, 3]
    gaps = -np.log1p(-u_gap)  # unit exponential
    evaluable = u_eval >= q
    response = (u_resp < p) & evaluable
    # index (enrolment order) of each trial's evaluable patients
    ev_rank = np.cumsum(evaluable, axis=1)  # number of evaluable among first i+1
    if conduct.delay_kind in ("fixed", "uniform"):
        delay = conduct.delay_ppf(u_delay)
    else:
        # inverse CDF only where a delay is ever used: the first n_max evaluable
        # patients (each patient's delay depends on its own uniform only)
        delay = np.full(u_delay.shape, np.nan)
        used = evaluable & (ev_rank <= n_max)
        delay[used] = conduct.delay_ppf(u_delay[used])
    if (ev_rank[:, -1] < n_max).any():
        raise Adaptive2Error("internal: too few simulated patients; report this as a bug.")
    return gaps, evaluable, response, delay, ev_rank


def _positions(ev_rank: np.ndarray, n: int) -> np.ndarray:
    """Enrolment index of the j-th evaluable patient, j = 1..n: shape (size, n)."""
    return cast(
        np.ndarray, np.argmax(ev_rank[:, :, None] >= np.arange(1, n + 1)[None, None, :], axis=1)
    )


def _trigger(
    conduct: Conduct,
    arrival: np.ndarray,
    delay: np.ndarray,
    evaluable: np.ndarray,
    response: np.ndarray,
    enrolled_mask: np.ndarray,
    pos_k: np.ndarray,
    nk: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Time the ``nk``-th evaluable outcome is known, and responses among the first ``nk``."""
    m = arrival.shape[1]
    mask = enrolled_mask
    if conduct.on_interim == "pause":
        # enrolment is paused after the n_k-th evaluable patient
        mask = mask & (np.arange(m)[None, :] <= pos_k[:, None])
    known = np.where(evaluable & mask, arrival + delay, np.inf)
    # trigger: n_k evaluable outcomes known -> the n_k-th smallest known time
    part = np.partition(known, nk - 1, axis=1)
    t_trig = part[:, nk - 1]
    in_analysis = known <= t_trig[:, None]
    # ties at t_trig (fixed delays and identical times) cannot happen with continuous gaps
    return t_trig, (response & in_analysis).sum(axis=1)


def _pause_shift(arrival: np.ndarray, pos_k: np.ndarray, t_dec: np.ndarray) -> np.ndarray:
    """Delay arrivals after the ``pos_k``-th patient until the decision at ``t_dec``."""
    size, m = arrival.shape
    shift = np.maximum(t_dec - arrival[np.arange(size), pos_k], 0.0)
    later = np.arange(m)[None, :] > pos_k[:, None]
    return np.where(later, arrival + shift[:, None], arrival)


def _enrolled(
    conduct: Conduct,
    arrival: np.ndarray,
    t_stop: np.ndarray,
    final: np.ndarray,
    cap: np.ndarray,
    pos_stop: np.ndarray,
) -> np.ndarray:
    """Patients enrolled by the stopping decision (all up to the N-th evaluable at the final)."""
    enrolled_by_time = (arrival <= t_stop[:, None]).sum(axis=1)
    if conduct.on_interim == "pause":
        # no enrolment while an interim is pending: at most the n_k-th evaluable patient
        return np.where(final, cap, np.minimum(enrolled_by_time, pos_stop))
    return np.where(final, cap, np.minimum(enrolled_by_time, cap))


def _one_design(
    design: Design,
    conduct: Conduct,
    gaps: np.ndarray,
    evaluable: np.ndarray,
    response: np.ndarray,
    delay: np.ndarray,
    ev_rank: np.ndarray,
    *,
    toxicity: tuple[np.ndarray, np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """Per-trial results of one design; ``toxicity`` = (events, toxicity delays) if monitored."""
    size, m = gaps.shape
    looks = np.asarray(design.looks)
    _, a, b = design.boundaries().arrays()
    K = len(looks)
    N = design.n_max
    rows = np.arange(size)
    # position (enrolment index) of the j-th evaluable patient, j = 1..N
    pos_of = _positions(ev_rank, N)
    last_needed = pos_of[:, N - 1]  # index of the N-th evaluable patient (enrolment stops)
    enrolled_mask = np.arange(m)[None, :] <= last_needed[:, None]  # enrolment closes there
    alive = np.ones(size, dtype=bool)
    stop_look = np.full(size, K - 1)
    reason = np.full(size, -1)  # 0 futility, 1 efficacy, 2 final fail/consider
    t_stop = np.zeros(size)
    r_at_stop = np.zeros(size, dtype=int)
    n_at_stop = np.zeros(size, dtype=int)
    t_decision = np.full((size, K), np.nan)
    # arrival times; in pause mode each interim shifts later arrivals
    arrival = conduct.arrival_times(gaps)
    for k in range(K):
        nk = int(looks[k])
        pos_k = pos_of[:, nk - 1]  # enrolment index of the n_k-th evaluable patient
        t_trig, r_k = _trigger(
            conduct, arrival, delay, evaluable, response, enrolled_mask, pos_k, nk
        )
        t_dec = t_trig + conduct.decision_lag
        t_decision[alive, k] = t_dec[alive]
        fut = alive & (r_k <= a[k])
        eff = alive & (r_k >= b[k])
        consider = alive & ~fut & ~eff if k == K - 1 else np.zeros(size, dtype=bool)
        stopping = fut | eff | consider
        reason[fut] = 0
        reason[eff] = 1
        reason[consider] = 2  # final look between the boundaries (dual designs)
        stop_look[stopping] = k
        t_stop[stopping] = t_dec[stopping]
        r_at_stop[stopping] = r_k[stopping]
        n_at_stop[stopping] = nk
        alive &= ~stopping
        if conduct.on_interim == "pause" and k < K - 1:
            # enrolment paused after the n_k-th evaluable patient until the decision
            arrival = _pause_shift(arrival, pos_k, t_dec)
    # patients enrolled: every patient who arrived by the stopping time, but never
    # beyond the N-th evaluable one (enrolment closes there); at the final look all
    # up to the N-th evaluable patient
    final = stop_look == K - 1
    cap = last_needed + 1
    pos_stop = pos_of[rows, looks[stop_look] - 1] + 1
    enrolled = _enrolled(conduct, arrival, t_stop, final, cap, pos_stop)
    duration = t_stop
    # posterior mean and 95% interval of the ORR at the stopping analysis
    est, lo, hi = _estimate_tables(design)
    idx = np.searchsorted(looks, n_at_stop)
    out = {
        "stop_look": stop_look,
        "reason": reason,
        "n_analysed": n_at_stop,
        "enrolled": enrolled,
        "duration": duration,
        "t_decision": t_decision,
        "post_mean": est[idx, r_at_stop],
        "lo": lo[idx, r_at_stop],
        "hi": hi[idx, r_at_stop],
        "n_drawn": m,
    }
    mon = toxicity_monitor(design)
    if mon is not None and toxicity is not None:
        _apply_toxicity(
            out, design, mon, conduct, arrival, evaluable, response, delay, toxicity,
            enrolled_mask, cap,
        )
    return out


#: ``reason`` of a trial stopped by the toxicity monitor (0-2: futility, efficacy, final).
REASON_TOXICITY = 3


def _apply_toxicity(
    out: dict[str, np.ndarray],
    design: Design,
    mon: ToxicityMonitor,
    conduct: Conduct,
    arrival: np.ndarray,
    evaluable: np.ndarray,
    response: np.ndarray,
    delay: np.ndarray,
    toxicity: tuple[np.ndarray, np.ndarray],
    enrolled_mask: np.ndarray,
    cap: np.ndarray,
) -> None:
    """Stop the trials whose toxicity check comes first; edit ``out`` in place.

    Adds ``tox_check``: the 0-based monitoring point that stopped the trial, -1
    if none did (see the module docstring for the timing).
    """
    events, tox_delay = toxicity
    size = arrival.shape[0]
    N = design.n_max
    counts = mon.boundaries()
    # toxicity status known at arrival + tox_delay, for the first N evaluable patients
    known = np.where(evaluable & enrolled_mask, arrival + tox_delay, np.inf)
    order = np.argsort(known, axis=1, kind="stable")
    t_sorted = np.take_along_axis(known, order, axis=1)
    cum_events = np.cumsum(
        np.take_along_axis(events & evaluable & enrolled_mask, order, axis=1), axis=1
    )
    check = np.full(size, -1)
    t_check = np.full(size, np.inf)
    # the earliest check that stops wins: walk back from the last, overwriting
    for j in reversed(range(len(mon.monitor))):
        mj, cj = mon.monitor[j], counts[j]
        if mj > N or cj > mj:  # never reached, or no count stops there
            continue
        hit = cum_events[:, mj - 1] >= cj
        check[hit] = j
        t_check[hit] = t_sorted[hit, mj - 1]
    t_stop_tox = t_check + conduct.decision_lag
    stop = (check >= 0) & (t_stop_tox <= out["duration"])  # a tie: toxicity acts first
    out["tox_check"] = np.where(stop, check, -1)
    if not stop.any():
        return
    at = np.flatnonzero(stop)
    monitor = np.asarray(mon.monitor)
    t_tox = t_stop_tox[at]
    out["reason"][at] = REASON_TOXICITY
    out["stop_look"][at] = -1
    out["duration"][at] = t_tox
    out["n_analysed"][at] = monitor[check[at]]
    by_time = (arrival[at] <= t_tox[:, None]).sum(axis=1)
    out["enrolled"][at] = np.minimum(by_time, cap[at])
    td = out["t_decision"][at]
    out["t_decision"][at] = np.where(td >= t_tox[:, None], np.nan, td)  # looks not reached
    # ORR estimate from the responses known when the stopping check happened
    seen = evaluable[at] & enrolled_mask[at] & (arrival[at] + delay[at] <= t_check[at, None])
    n_known = seen.sum(axis=1)
    r_known = (seen & response[at]).sum(axis=1)
    for n in np.unique(n_known).tolist():
        est, lo, hi = _estimate_row(design, int(n))
        sel = at[n_known == n]
        r = r_known[n_known == n]
        out["post_mean"][sel] = est[r]
        out["lo"][sel] = lo[r]
        out["hi"][sel] = hi[r]


_ESTIMATES: dict[Design, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}


def _estimate_tables(design: Design) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Posterior mean and 95% equal-tailed interval for every (look, r)."""
    if design in _ESTIMATES:
        return _ESTIMATES[design]
    K, N = design.n_looks, design.n_max
    est = np.full((K, N + 1), np.nan)
    lo = np.full((K, N + 1), np.nan)
    hi = np.full((K, N + 1), np.nan)
    for k, n in enumerate(design.looks):
        for r in range(n + 1):
            post = design.prior.update(r, n)
            est[k, r] = post.mean
            lo[k, r], hi[k, r] = post.interval(0.95)
    _ESTIMATES[design] = (est, lo, hi)
    return est, lo, hi


_ESTIMATE_ROWS: dict[tuple[Design, int], tuple[np.ndarray, np.ndarray, np.ndarray]] = {}


def _estimate_row(design: Design, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Posterior mean and 95% equal-tailed interval for r = 0..n of ``n`` patients."""
    key = (design, n)
    if key not in _ESTIMATE_ROWS:
        rows = [design.prior.update(r, n) for r in range(n + 1)]
        bounds = np.array([post.interval(0.95) for post in rows], dtype=float).reshape(-1, 2)
        _ESTIMATE_ROWS[key] = (
            np.array([post.mean for post in rows], dtype=float),
            bounds[:, 0],
            bounds[:, 1],
        )
    return _ESTIMATE_ROWS[key]


# ---------------------------------------------------------------------------
# Summaries
# ---------------------------------------------------------------------------
def _chunk_stats(res: dict[str, np.ndarray], design: Design, p: float) -> dict[str, np.ndarray]:
    """Sufficient statistics of one chunk (sums, so chunks add up in a fixed order)."""
    K = design.n_looks
    stop = np.zeros((K, 3))
    for k in range(K):
        at = res["stop_look"] == k
        for j in range(3):
            stop[k, j] = np.count_nonzero(at & (res["reason"] == j))
    n = res["n_analysed"].astype(float)
    e = res["enrolled"].astype(float)
    t = res["duration"]
    err = res["post_mean"] - p
    cov = (res["lo"] <= p) & (res["hi"] >= p)
    td = res["t_decision"]
    extra = {}
    mon = toxicity_monitor(design)
    if mon is not None and "tox_check" in res:  # stops per toxicity monitoring point
        hit = res["tox_check"][res["tox_check"] >= 0]
        extra["tox_stop"] = np.bincount(hit, minlength=len(mon.monitor)).astype(float)
    return {
        **extra,
        "count": np.array([len(n)], dtype=float),
        "stop": stop,
        "n_sum": np.array([n.sum(), (n**2).sum()]),
        "enrolled_sum": np.array([e.sum(), (e**2).sum()]),
        "enrolled_hist": np.bincount(res["enrolled"], minlength=res["n_drawn"] + 1).astype(float),
        "duration_sum": np.array([t.sum(), (t**2).sum()]),
        "duration_sketch": _sketch(t),
        "bias_sum": np.array([err.sum(), (err**2).sum()]),
        "cover_sum": np.array([cov.sum()], dtype=float),
        "t_decision_sum": np.nan_to_num(np.nansum(td, axis=0)),
        "t_decision_count": (~np.isnan(td)).sum(axis=0).astype(float),
    }
