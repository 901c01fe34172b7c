"""The outcome Monte Carlo's decisions replayed by the exact engine's decision tables.

Shared by the tests of :mod:`adaptive2.engines.cohort_montecarlo` (posterior and
predictive rules): a chunk of simulated trials, and the same trials' stopping looks
and reasons read from :func:`adaptive2.model.cohorts._decisions_cached`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from adaptive2.engines import cohort_montecarlo as cm
from adaptive2.engines.trials_multi import _cohort_key
from adaptive2.model.cohorts import _decisions_cached


def replay(design: Any, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Stopping look and reason of every trial's cohorts by the exact engine's decision masks.

    ``r``: cumulative responses, trials × cohorts × looks. One trial at a time, as
    cohort_exact's DP walks the lattice: masks at the realised size tuple.
    """
    T, J, K = r.shape
    at = np.full((T, J), -1)
    reason = np.zeros((T, J), dtype=np.int8)
    for t in range(T):
        for k in range(K):
            running = [j for j in range(J) if at[t, j] < 0]
            if not running:
                break
            where = [k if at[t, j] < 0 else at[t, j] for j in range(J)]
            n = tuple(design.cohorts[j].looks[where[j]] for j in range(J))
            idx = tuple(int(r[t, j, where[j]]) for j in range(J))
            masks = _decisions_cached(design, k, n)
            for j in running:
                m = masks[design.names[j]]
                if m["futility"][idx] or m["efficacy"][idx]:
                    at[t, j] = k
                    reason[t, j] = bool(m["efficacy"][idx])
    return at, reason


def chunk_and_replay(
    design: Any, scen: Any, seed: int = 11, size: int = 400
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """(the simulator's stopping looks and reasons, the replayed ones) of one chunk."""
    root = np.random.SeedSequence(seed)
    rates = [scen.rate(c) for c in design.names]
    keys = [_cohort_key(c, p) for c, p in zip(design.names, rates, strict=True)]
    got = cm._simulate_chunk(design, rates, keys, root, 0, size)
    want = replay(design, cm._responses(design, rates, keys, root, 0, size))
    return got, want
