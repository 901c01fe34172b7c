"""Lee & Liu (2008) predictive-probability design: published values and an mpmath brute force.

Sources
-------
* Lee JJ, Liu DD (2008). A predictive probability design for phase II cancer
  clinical trials. Clinical Trials 5:93-106. Worked example (p. 97): Nmax = 40,
  prior Beta(0.6, 0.4), p0 = 0.6, θ_T = 0.90; after 16 responses among 23
  patients PP = 0.5656 (four decimals),
  and reproduced by the R package ph2bayes 0.0.2 (``predprob(16, 23, 40, 0.6, 0.4, 0.6, 0.9)``,
  documented example "# p. 97, PP = 0.5656", output 0.5655589).
* ph2bayes 0.0.2 (K. Nagashima, CRAN), help page of ``stopbound_pred``, example
  ``stopbound_pred(0.05, "futility", 40, 0.6, 1.4, 0.3, 0.85)`` and its printed output
  (rdrr.io/cran/ph2bayes/man/stopbound_pred.html, "Example output"): Lee & Liu's futility
  boundary L_n under continuous monitoring. The function keeps only the rows where the
  boundary changes (``boundset[!duplicated(boundset$bound), ]``, see its sibling
  ``stopbound_post`` in the same package), so the printed rows
  n = 1, 4, 8, 11, 14, 17, 20, 22, 25, 27, 29 with bounds NA, 0, ..., 9 fix L_n for every
  n <= 29 (the stored copy of the page is cut after the n = 29 row).

Tolerance: half a unit in the last printed digit (PP to 4 decimals); boundaries exactly.
The paper's own boundary tables could not be retrieved; the boundaries of the worked-example
design are therefore also checked against an independent mpmath brute force.
"""

from __future__ import annotations

import functools

import mpmath as mp
import numpy as np
import pytest

from adaptive2.model.designs import Design
from adaptive2.model.priors import Beta
from adaptive2.model.rules import (
    Look,
    PosteriorProbability,
    PredictiveProbability,
    predictive_success,
)


@pytest.fixture(autouse=True, scope="module")
def _mp_precision():
    """mpmath works at 25 digits in this module (local, never a global side effect)."""
    with mp.workdps(25):
        yield

PRIOR = Beta(0.6, 0.4)
N_MAX, P0, THETA_T = 40, 0.6, 0.90


def example_design(threshold: float = 0.1, looks: tuple[int, ...] = (23, 40)) -> Design:
    return Design(
        name="lee-liu-2008",
        prior=PRIOR,
        looks=looks,
        futility=PredictiveProbability(threshold),
        final=PosteriorProbability(p0=P0, cutoff=THETA_T),
    )


# ---------------------------------------------------------------------------
# Independent mpmath implementation of Lee & Liu's predictive probability
# ---------------------------------------------------------------------------
def mp_post_exceeds(a: float, b: float, r: int, n: int, p0: float) -> mp.mpf:
    # upper tail as the mirrored lower tail (mpmath's betainc(a, b, p0, 1) cancels)
    return mp.betainc(b + n - r, a + r, 0, 1 - mp.mpf(p0), regularized=True)


def mp_pp(a: float, b: float, r: int, n: int, n_max: int, p0: float, theta_t: float) -> mp.mpf:
    """PP = sum_x P(X = x | r) 1[P(p > p0 | r + x of n_max) > θ_T] (Lee & Liu 2008, eq. 2)."""
    m = n_max - n
    aa, bb = a + r, b + n - r
    return mp.fsum(
        mp.binomial(m, x) * mp.beta(aa + x, bb + m - x) / mp.beta(aa, bb)
        for x in range(m + 1)
        if mp_post_exceeds(a, b, r + x, n_max, p0) > theta_t
    )


def test_final_success_count_matches_brute_force() -> None:
    s = example_design().boundaries().efficacy_min_r[-1]
    brute = next(
        k for k in range(N_MAX + 1) if mp_post_exceeds(PRIOR.a, PRIOR.b, k, N_MAX, P0) > THETA_T
    )
    assert s == brute
    assert s == 28


def test_worked_example_predictive_probability() -> None:
    """Lee & Liu (2008), p. 97: 16/23 responses, PP = 0.5656."""
    s = example_design().boundaries().efficacy_min_r[-1]
    pp = float(predictive_success(PRIOR, 16, 23, N_MAX, s)[0])
    assert abs(pp - 0.5656) <= 0.5e-4
    # and to full precision against the independent definition
    assert pp == pytest.approx(float(mp_pp(PRIOR.a, PRIOR.b, 16, 23, N_MAX, P0, THETA_T)),
                               rel=1e-12)


def test_worked_example_statistic_through_the_rule() -> None:
    design = example_design()
    bnd = design.boundaries()
    # with PP = 0.5656 the trial continues at n = 23 for any θ_L below it
    assert bnd.futility_max_r[0] is not None and bnd.futility_max_r[0] < 16
    stat = design.futility.statistic  # type: ignore[union-attr]
    look = Look(index=0, n=23, n_max=N_MAX, prior=PRIOR, final_success_min_r=28)
    assert abs(float(stat(look, np.array([16]))[0]) - 0.5656) <= 0.5e-4


@functools.cache
def _pp_row(n: int) -> tuple[mp.mpf, ...]:
    return tuple(mp_pp(PRIOR.a, PRIOR.b, r, n, N_MAX, P0, THETA_T) for r in range(n + 1))


@pytest.mark.parametrize("threshold", [0.001, 0.01, 0.05, 0.1, 0.2])
def test_worked_example_design_boundaries_brute_force(threshold: float) -> None:
    """Futility boundary at each look: largest r with PP(r) < θ_L, by mpmath."""
    looks = (10, 15, 20, 23, 30, 35, 40)
    bnd = example_design(threshold, looks).boundaries()
    for k, n in enumerate(looks[:-1]):
        pp = _pp_row(n)
        stops = [r for r in range(n + 1) if pp[r] < threshold]
        want = max(stops) if stops else None
        assert stops == list(range(len(stops)))  # contiguous from 0
        assert bnd.futility_max_r[k] == want, (n, bnd.futility_max_r[k], want)


# ph2bayes stopbound_pred(0.05, "futility", 40, 0.6, 1.4, 0.3, 0.85): printed (n, L_n) rows.
PH2BAYES_ROWS = [(1, None), (4, 0), (8, 1), (11, 2), (14, 3), (17, 4), (20, 5), (22, 6),
                 (25, 7), (27, 8), (29, 9)]


def _expand(rows: list[tuple[int, int | None]], last_n: int) -> dict[int, int | None]:
    out: dict[int, int | None] = {}
    for (n0, bound), (n1, _) in zip(rows, [*rows[1:], (last_n + 1, None)], strict=True):
        for n in range(n0, n1):
            out[n] = bound
    return out


def test_continuous_monitoring_futility_boundary_ph2bayes() -> None:
    """Lee & Liu futility boundary with Beta(0.6, 1.4), p_s = 0.3, θ_T = 0.85, θ_L = 0.05."""
    design = Design(
        name="ph2bayes-stopbound-pred",
        prior=Beta(0.6, 1.4),
        looks=tuple(range(1, 41)),
        futility=PredictiveProbability(0.05),
        final=PosteriorProbability(p0=0.3, cutoff=0.85),
    )
    bnd = design.boundaries()
    want = _expand(PH2BAYES_ROWS, 29)
    got = {n: bnd.futility_max_r[n - 1] for n in range(1, 30)}
    assert got == want


def test_continuous_monitoring_tail_brute_force() -> None:
    """Beyond the printed rows (n = 30..39): check each boundary against mpmath PP."""
    a, b, p_s, theta_t, theta_l = 0.6, 1.4, 0.3, 0.85, 0.05
    design = Design(
        name="ph2bayes-stopbound-pred",
        prior=Beta(a, b),
        looks=tuple(range(1, 41)),
        futility=PredictiveProbability(theta_l),
        final=PosteriorProbability(p0=p_s, cutoff=theta_t),
    )
    bnd = design.boundaries()
    for n in range(30, 40):
        bound = bnd.futility_max_r[n - 1]
        assert bound is not None
        assert mp_pp(a, b, bound, n, 40, p_s, theta_t) < theta_l
        assert mp_pp(a, b, bound + 1, n, 40, p_s, theta_t) >= theta_l
