"""Simulated trials of single-cohort designs: one chunk of one scenario for every design.

Patients arrive by the conduct's accrual process, their responses become known
after the delay, interims trigger on known evaluable outcomes, and the design's
integer boundaries decide; every design in one run sees the same patients.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import cast

import numpy as np

from adaptive2._base.errors import Adaptive2Error
from adaptive2.engines.simulation_summaries import _sketch
from adaptive2.model.conduct import Conduct
from adaptive2.model.designs import Design

# ---------------------------------------------------------------------------
# The vectorised kernel: one chunk of one scenario for every design
# ---------------------------------------------------------------------------
BLOCK = 16  # patients per random-number block


def _kernel(
    designs: Sequence[Design],
    conduct: Conduct,
    p: float,
    blocks: Callable[[int], np.random.Generator],
    size: int,
    chunk_size: int,
) -> dict[str, dict[str, np.ndarray]]:
    """Simulate ``size`` trials; return per-design per-trial results.

    Patient-level uniforms come in blocks of ``BLOCK`` patients, block b drawn from
    its own stream ``blocks(b)``, so a trial's first patients are the same whatever
    number of patients the run needs (other designs, dropout) — common random
    numbers in the strict sense.
    """
    n_max = max(d.n_max for d in designs)
    gaps, evaluable, response, delay, ev_rank = _patients(
        conduct, p, n_max, blocks, size, chunk_size
    )
    return {
        d.name: _one_design(d, conduct, gaps, evaluable, response, delay, ev_rank) for d in designs
    }


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
) -> dict[str, np.ndarray]:
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
    post_mean = est[idx, r_at_stop]
    return {
        "stop_look": stop_look,
        "reason": reason,
        "n_analysed": n_at_stop,
        "enrolled": enrolled,
        "duration": duration,
        "t_decision": t_decision,
        "post_mean": post_mean,
        "lo": lo[idx, r_at_stop],
        "hi": hi[idx, r_at_stop],
        "n_drawn": m,
    }


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
    return {
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
