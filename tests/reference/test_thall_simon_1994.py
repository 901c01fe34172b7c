"""Thall & Simon (1994) posterior-probability boundaries against an independent mpmath version.

Source of the method
--------------------
Thall PF, Simon R (1994). Practical Bayesian guidelines for phase IIB clinical trials.
Biometrics 50:337-349. The standard therapy's rate p_S is uncertain, p_S ~ Beta(a_S, b_S);
the experimental rate p_E has a vague Beta prior (concentration c_E = 2 with the mean of
p_S is their recommendation), independent of p_S a priori. After r responses in n
patients: stop as "not promising" if P(p_E > p_S + δ0 | data) <= p_L, stop as
"promising" if P(p_E > p_S | data) > p_U.

No published boundary table (paper or R-peer output) could be retrieved with the
search tools: the ph2bayes help page for ``stopbound_post`` (which implements this
criterion) lists the examples ``stopbound_post(0.05, "futility", 40, 0.6, 1.4, 15, 35, 0)``
etc. but its stored copy carries no printed output. The inputs below follow those
examples (p_E ~ Beta(0.6, 1.4), p_S ~ Beta(15, 35), so both have mean 0.3), and the
reference values are computed here independently: the posterior probability is the
iterated integral  ∫ f_S(y) P(p_E > y + δ | data) dy  with the inner probability the
regularised incomplete beta function (mpmath.betainc) and the outer integral by
tanh-sinh quadrature (mpmath.quad) at 20 digits.
"""

from __future__ import annotations

import functools

import mpmath as mp
import numpy as np
import pytest

from adaptive2.model.designs import Design
from adaptive2.model.priors import Beta
from adaptive2.model.rules import Look, PosteriorProbability

PRIOR_E = Beta(0.6, 1.4)
PRIOR_S = Beta(15, 35)
P_L, P_U, DELTA0 = 0.05, 0.95, 0.15
LOOKS = (10, 20, 30, 40)


@functools.cache
def mp_prob(r: int, n: int, delta: float) -> mp.mpf:
    """P(p_E > p_S + delta | r of n) by iterated integration (20 digits)."""
    with mp.workdps(20):
        a, b = PRIOR_E.a + r, PRIOR_E.b + n - r
        norm = mp.beta(PRIOR_S.a, PRIOR_S.b)

        def outer(y):
            dens = y ** (PRIOR_S.a - 1) * (1 - y) ** (PRIOR_S.b - 1) / norm
            # P(p_E > y + delta) as the mirrored lower tail (no cancellation)
            return dens * mp.betainc(b, a, 0, 1 - y - delta, regularized=True)

        top = 1 - mp.mpf(delta)
        mode = mp.mpf(PRIOR_S.a - 1) / (PRIOR_S.a + PRIOR_S.b - 2)
        return +mp.quad(outer, [0, mode, top])


def thall_simon_design(looks=LOOKS) -> Design:
    return Design(
        name="thall-simon",
        prior=PRIOR_E,
        looks=looks,
        futility=PosteriorProbability(p0=PRIOR_S, cutoff=P_L, delta=DELTA0),
        efficacy=PosteriorProbability(p0=PRIOR_S, cutoff=P_U),
        final=PosteriorProbability(p0=PRIOR_S, cutoff=P_U),
        p0=PRIOR_S,
    )


@pytest.mark.parametrize(("r", "n"), [(0, 10), (3, 10), (5, 20), (9, 20), (14, 30)])
@pytest.mark.parametrize("delta", [0.0, DELTA0])
def test_posterior_probability_with_uncertain_standard(r: int, n: int, delta: float) -> None:
    rule = PosteriorProbability(p0=PRIOR_S, cutoff=0.5, delta=delta)
    look = Look(index=0, n=n, n_max=40, prior=PRIOR_E, final_success_min_r=41)
    got = float(rule.statistic(look, np.array([r]))[0])
    assert got == pytest.approx(float(mp_prob(r, n, delta)), rel=1e-8, abs=1e-13)


def test_boundaries_against_brute_force() -> None:
    """Each look's futility bound a and efficacy bound b bracket the cutoffs exactly."""
    bnd = thall_simon_design().boundaries()
    for k, n in enumerate(LOOKS[:-1]):
        a, b = bnd.futility_max_r[k], bnd.efficacy_min_r[k]
        assert a is not None and b is not None
        # futility: P(p_E > p_S + δ0) <= p_L exactly for r <= a
        assert mp_prob(a, n, DELTA0) <= P_L < mp_prob(a + 1, n, DELTA0)
        # efficacy: P(p_E > p_S) > p_U exactly for r >= b
        assert mp_prob(b - 1, n, 0.0) <= P_U < mp_prob(b, n, 0.0)
    n = LOOKS[-1]
    s = bnd.efficacy_min_r[-1]
    assert s is not None
    assert mp_prob(s - 1, n, 0.0) <= P_U < mp_prob(s, n, 0.0)
    assert bnd.futility_max_r[-1] == s - 1
