"""A reference multi-cohort trial, run patient data set by data set from the rule objects.

The exact multi-cohort engine and the trial-conduct simulator both read the design's
decision masks (``adaptive2.model.cohorts``). A Monte Carlo check that reused those
masks would pass with a wrong mask. Here every decision of every simulated trial is
taken afresh: the rule's statistic is computed for that one data set (the joint
posterior's tail probability, the posterior predictive probability summed over the
cohort's future responses, or the response count), and the rule object itself says
what to do (:meth:`adaptive2.model.rules.Rule.act`). Nothing here reads a decision
table.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from adaptive2.engines.posterior import lattice, predictive
from adaptive2.model.cohorts import CohortDesign
from adaptive2.model.rules import BOP2, Boundary, PosteriorProbability, PredictiveProbability, Rule
from adaptive2.model.scenarios import Scenario


@cache
def statistic(design: CohortDesign, j: int, rule: Rule, n: tuple[int, ...],
              r: tuple[int, ...]) -> float:
    """The statistic ``rule`` compares for cohort ``j`` with r responses of n patients."""
    c = design.cohorts[j]
    if isinstance(rule, Boundary):
        return float(r[j])
    if isinstance(rule, PosteriorProbability | BOP2):
        delta = rule.delta if isinstance(rule, PosteriorProbability) else 0.0
        thr = {c.name: c.p0 + delta} if delta else {}
        res = lattice(design.model, design.cohorts, n, thresholds=thr, grid=design.grid)
        return float(res.p_above[c.name][r])
    if isinstance(rule, PredictiveProbability):
        # PP = sum over x of P(X = x | data) 1[final rule succeeds with r_j + x of N_j]
        final = design.rule("final", c.name)
        assert final is not None
        n_max = c.looks[-1]
        m = n_max - n[j]
        pmf = predictive(design.model, design.cohorts, n, cohort=c.name, m=m,
                         grid=design.grid)[r]
        n_final = tuple(n_max if i == j else x for i, x in enumerate(n))
        hits = [
            bool(final.act("final", statistic(
                design, j, final, n_final,
                tuple(x + xi if i == j else x for i, x in enumerate(r)))))
            for xi in range(m + 1)
        ]
        return float(np.clip(np.dot(pmf, hits), 0.0, 1.0))
    raise TypeError(f"no reference for {type(rule).__name__}")


def decide(design: CohortDesign, k: int, n: tuple[int, ...], r: tuple[int, ...],
           j: int) -> str | None:
    """Cohort j at look k: ``"efficacy"``, ``"futility"`` or None (continue)."""
    c = design.cohorts[j]
    t = n[j] / c.looks[-1]
    if k == design.n_looks - 1:
        final = design.rule("final", c.name)
        assert final is not None
        stat = statistic(design, j, final, n, r)
        return "efficacy" if bool(final.act("final", stat, index=0, fraction=t)) else "futility"
    fut = design.rule("futility", c.name)
    if fut is not None and bool(fut.act("futility", statistic(design, j, fut, n, r),
                                        index=k, fraction=t)):
        return "futility"
    eff = design.rule("efficacy", c.name)
    if eff is not None and bool(eff.act("efficacy", statistic(design, j, eff, n, r),
                                        index=k, fraction=t)):
        return "efficacy"
    return None


def simulate_trials(design: CohortDesign, scen: Scenario, n_sims: int,
                    seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Simulated trials with instant responses: (efficacy flags, patients used) per cohort.

    Cohorts analyse jointly at each look; a cohort that stopped keeps its data at
    stopping, as the design's conduct prescribes.
    """
    rng = np.random.default_rng(seed)
    J, K = len(design.cohorts), design.n_looks
    rates = [scen.rate(c.name) for c in design.cohorts]
    eff = np.zeros((n_sims, J), dtype=bool)
    n_used = np.zeros((n_sims, J))
    for i in range(n_sims):
        r = [0] * J
        status: list[str | None] = [None] * J
        stop_look = [K - 1] * J
        for k in range(K):
            for j, c in enumerate(design.cohorts):
                if status[j] is None:
                    prev = c.looks[k - 1] if k else 0
                    r[j] += int(rng.binomial(c.looks[k] - prev, rates[j]))
            n = tuple(c.looks[k] if status[j] is None else c.looks[stop_look[j]]
                      for j, c in enumerate(design.cohorts))
            decided = [(j, decide(design, k, n, tuple(r), j)) for j in range(J)
                       if status[j] is None]
            for j, what in decided:
                if what is not None:
                    status[j], stop_look[j] = what, k
        for j, c in enumerate(design.cohorts):
            eff[i, j] = status[j] == "efficacy"
            n_used[i, j] = c.looks[stop_look[j]]
    return eff, n_used
