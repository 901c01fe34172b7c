"""Helpers of the tests of :mod:`adaptive2.engines.cohort_montecarlo` (posterior and
predictive rules).

Small J-cohort designs, the comparison of simulated OC with exact ones within their
MCSE, and a chunk of simulated trials replayed by the exact engine's decision tables
(:func:`adaptive2.model.cohorts._decisions_cached`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from adaptive2.engines import cohort_montecarlo as cm
from adaptive2.engines.trials_multi import _cohort_key
from adaptive2.model.cohorts import CohortDesign, _decisions_cached
from adaptive2.model.hierarchical import Cohort
from adaptive2.model.rules import PosteriorProbability
from adaptive2.model.scenarios import CohortScenario


def joint_design(J: int, model: Any, looks: tuple[int, ...] = (5, 10),
                 scenarios: Any = (), **rules: Any) -> CohortDesign:
    """J cohorts c0.. with p0 0.2, p1 0.4 at ``looks``; default rules: posterior futility
    (cutoff 0.1) and final (0.9); ``scenarios``: (name, rates) pairs."""
    names = [f"c{j}" for j in range(J)]
    rules = rules or {"futility": PosteriorProbability(0.2, 0.1),
                      "final": PosteriorProbability(0.2, 0.9)}
    return CohortDesign(
        name=f"{J} cohorts", model=model,
        cohorts=tuple(Cohort(n, 0.2, 0.4, looks) for n in names),
        scenarios=tuple(CohortScenario(s, dict(zip(names, rates, strict=True)))
                        for s, rates in scenarios),
        **rules,
    )


def within_mcse(mc: Any, exact: Any, figures: tuple[str, ...], k: float = 3.0) -> None:
    """Every figure of ``mc`` within k MCSE of ``exact``.

    Where the exact figure is certain (a probability of 0 or 1, such as the FWER with
    no null cohort, or E[N] when every trial stops at one look) the MCSE is 0 and the
    figures must agree to rounding; elsewhere the MCSE must not be 0.
    """
    for v in figures:
        se, want = mc[f"{v}_mcse"], exact[v]
        sure = (want == 0) | (want == 1) | (exact["sd_n"] < 1e-9 if v == "expected_n" else False)
        assert (se[~sure] > 0).all(), v
        assert (np.abs(mc[v] - want) <= k * se + 1e-12).all(), (v, mc[v], want, se)


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
