"""Lee & Liu (2008) design search (`adaptive2.engines.search.lee_liu`).

Published anchors and brute force.

Sources and what could be checked
---------------------------------
* Lee JJ, Liu DD (2008). A predictive probability design for phase II cancer clinical
  trials. Clinical Trials 5:93-106. The paper's design tables (p0, p1, alpha, beta, Nmax,
  theta_L, theta_T, type I error, power, E(N | p0), PET(p0)) could **not** be retrieved in
  this workplace. A second, dedicated search (about 40 look-ups, recorded in
  tests/reference/README.md) found: the stored copies of the paper (pdfslide.us
  "a-predictive-probability-design-for-phase-ii-cancer-size-exact-computation" and the PMC
  author manuscript PMC5626665) are served only from their opening (title, abstract, first
  lines of the Introduction), whatever the query (table captions, "Table 2", theta values,
  "rejection region", "PET", the worked-example numbers), so the tables on later pages are
  out of reach; secondary sources (ph2bayes, ph2bye, phase1b, PhIIdesign, BDP2, mtdesign
  documentation and code, a re-implementation of the MD Anderson PP software) reproduce
  the worked example, boundary tables or simulated OC of user-chosen designs, never a
  design found by the Lee & Liu search. No published design row is therefore asserted
  here. Instead:

  1. the published worked example (p. 97: Nmax = 40, prior Beta(0.6, 0.4), p0 = 0.6,
     theta_T = 0.90, 16 responses of 23 patients, PP = 0.5656) is checked *through the
     search*: the futility boundary the search reports at n = 23 moves from r <= 15 to
     r <= 16 exactly when theta_L crosses 0.5656 (to half a unit in the 4th decimal);
  2. the continuous-monitoring futility boundary printed by ph2bayes 0.0.2
     (``stopbound_pred(0.05, "futility", 40, 0.6, 1.4, 0.3, 0.85)``, rows n = 1..29; see
     tests/reference/test_lee_liu_2008.py for the citation) is checked through the search;
  3. the whole search (feasible set, minimax and optimal designs, their theta values,
     type I error, power, E(N | p0) and PET(p0)) is checked against an independent
     brute force written here in pure Python (math.lgamma for the beta-binomial
     predictive probabilities, mpmath for the posterior tail at N, a list-based dynamic
     programme for the operating characteristics), for a Lee & Liu style problem:
     p0 = 0.2, p1 = 0.4, alpha = 0.10, power = 0.80, prior Beta(0.2, 0.8), continuous
     monitoring from the 10th patient, Nmax = 20..30.

Tolerance: PP to half a unit in the 4th decimal; boundaries exactly; probabilities 1e-10.
"""

from __future__ import annotations

import functools
import itertools
import math

import mpmath as mp
import pytest

from adaptive2.engines.lee_liu import lee_liu
from adaptive2.model.priors import Beta

# ---------------------------------------------------------------------------
# 1. Published worked example, through the search
# ---------------------------------------------------------------------------


def test_worked_example_pp_through_the_search() -> None:
    """Lee & Liu (2008), p. 97: PP(16 of 23) = 0.5656 with Nmax = 40, Beta(0.6, 0.4), θ_T = 0.9."""
    res = lee_liu(
        0.6,
        0.8,
        alpha=0.999,
        power=0.001,
        prior=Beta(0.6, 0.4),
        n_range=(40, 40),
        first_look=23,
        looks=17,  # a single interim look, at n = 23
        theta_t_grid=[0.90],
        theta_l_grid=[0.56555, 0.56565],  # 0.5656 -/+ half a unit in the 4th decimal
    )
    rows = {d.parameters["futility.threshold"]: d for d in res.designs}
    assert set(rows) == {0.56555, 0.56565}
    for d in rows.values():
        assert d.looks == (23, 40)
        assert d.boundaries.efficacy_min_r[-1] == 28  # P(p > 0.6 | 28 of 40) > 0.9
    # PP(16) >= 0.56555: 16 of 23 continues; PP(16) < 0.56565: 16 of 23 stops
    assert rows[0.56555].boundaries.futility_max_r[0] == 15
    assert rows[0.56565].boundaries.futility_max_r[0] == 16


# ph2bayes stopbound_pred(0.05, "futility", 40, 0.6, 1.4, 0.3, 0.85): printed (n, L_n) rows.
PH2BAYES_ROWS = [
    (1, None),
    (4, 0),
    (8, 1),
    (11, 2),
    (14, 3),
    (17, 4),
    (20, 5),
    (22, 6),
    (25, 7),
    (27, 8),
    (29, 9),
]


def test_continuous_monitoring_boundary_through_the_search() -> None:
    res = lee_liu(
        0.3,
        0.5,
        alpha=0.999,
        power=0.001,
        prior=Beta(0.6, 1.4),
        n_range=(40, 40),
        first_look=1,
        theta_t_grid=[0.85],
        theta_l_grid=[0.05],
    )
    (d,) = res.designs
    assert d.looks == tuple(range(1, 41))
    want = {}
    for (n0, bound), (n1, _) in itertools.pairwise([*PH2BAYES_ROWS, (30, None)]):
        for n in range(n0, n1):
            want[n] = bound
    got = {n: d.boundaries.futility_max_r[n - 1] for n in range(1, 30)}
    assert got == want


# ---------------------------------------------------------------------------
# 3. Independent brute-force search
# ---------------------------------------------------------------------------
P0, P1, ALPHA, POWER = 0.2, 0.4, 0.10, 0.80
A, B = 0.2, 0.8
FIRST, N_RANGE = 10, (20, 30)
TT = (0.80, 0.85, 0.90, 0.95)
TL = (0.001, 0.01, 0.05, 0.10, 0.15, 0.20)


def _lbeta(x: float, y: float) -> float:
    return math.lgamma(x) + math.lgamma(y) - math.lgamma(x + y)


@functools.cache
def _success_count(n_max: int, theta_t: float) -> int:
    """Smallest r with P(p > p0 | r of N) > θ_T (mpmath, mirrored lower tail)."""
    with mp.workdps(30):
        for r in range(n_max + 1):
            tail = mp.betainc(B + n_max - r, A + r, 0, 1 - mp.mpf(P0), regularized=True)
            if tail > theta_t:
                return r
    return n_max + 1


@functools.cache
def _pp(r: int, n: int, n_max: int, s: int) -> float:
    """Σ_x C(m, x) B(a + r + x, b + N − r − x) / B(a + r, b + n − r) over r + x >= s."""
    m = n_max - n
    base = _lbeta(A + r, B + n - r)
    terms = [
        math.comb(m, x) * math.exp(_lbeta(A + r + x, B + n_max - r - x) - base)
        for x in range(max(s - r, 0), m + 1)
    ]
    return math.fsum(terms)


def _futility_bound(n: int, n_max: int, s: int, theta_l: float) -> int:
    stops = [r for r in range(n + 1) if _pp(r, n, n_max, s) < theta_l]
    assert stops == list(range(len(stops)))  # a contiguous region from 0
    return len(stops) - 1


def _oc(n_max: int, bounds: list[int], s: int, p: float) -> tuple[float, float, float]:
    """(P(efficacy), E[N], P(stop early)) by a list-based forward recursion."""
    dist = [1.0]  # P(r responses among the patients so far, still running)
    en = pet = 0.0
    for n in range(1, n_max + 1):
        new = [0.0] * (n + 1)
        for r, pr in enumerate(dist):
            new[r] += pr * (1 - p)
            new[r + 1] += pr * p
        dist = new
        if FIRST <= n < n_max:
            a = bounds[n - FIRST]
            stop = math.fsum(dist[: a + 1]) if a >= 0 else 0.0
            en += n * stop
            pet += stop
            dist = [0.0 if r <= a else x for r, x in enumerate(dist)]
    reach = math.fsum(dist)
    return math.fsum(dist[s:]), en + n_max * reach, pet


@functools.cache
def brute_force() -> list[dict]:
    out = []
    for n_max, tt, tl in itertools.product(range(N_RANGE[0], N_RANGE[1] + 1), TT, TL):
        s = _success_count(n_max, tt)
        bounds = [_futility_bound(n, n_max, s, tl) for n in range(FIRST, n_max)]
        alpha, en0, pet0 = _oc(n_max, bounds, s, P0)
        power = _oc(n_max, bounds, s, P1)[0]
        if alpha <= ALPHA and power >= POWER:
            out.append(
                {
                    "n_max": n_max,
                    "theta_t": tt,
                    "theta_l": tl,
                    "key": (n_max, (*bounds, s - 1), s),
                    "alpha": alpha,
                    "power": power,
                    "expected_n_p0": en0,
                    "pet_p0": pet0,
                }
            )
    return out


@pytest.fixture(scope="module")
def searched():
    return lee_liu(
        P0,
        P1,
        alpha=ALPHA,
        power=POWER,
        prior=Beta(A, B),
        n_range=N_RANGE,
        first_look=FIRST,
        theta_t_grid=TT,
        theta_l_grid=TL,
    )


def _search_key(d) -> tuple:
    fut = tuple(-1 if x is None else x for x in d.boundaries.futility_max_r)
    return (d.n_max, fut, d.boundaries.efficacy_min_r[-1])


def test_feasible_set_matches_brute_force(searched) -> None:
    brute = brute_force()
    assert brute
    by_key: dict[tuple, list[dict]] = {}
    for row in brute:
        by_key.setdefault(row["key"], []).append(row)
    got = {_search_key(d): d for d in searched.designs}
    assert set(got) == set(by_key)
    for key, rows in by_key.items():
        d = got[key]
        ref = rows[0]
        for name in ("alpha", "power", "expected_n_p0", "pet_p0"):
            assert getattr(d, name) == pytest.approx(ref[name], abs=1e-10), (key, name)
        # the reported θ values are the smallest grid values producing this design
        assert d.parameters["final.cutoff"] == min(r["theta_t"] for r in rows)
        assert d.parameters["futility.threshold"] == min(
            r["theta_l"] for r in rows if r["theta_t"] == d.parameters["final.cutoff"]
        )


def test_minimax_and_optimal_match_brute_force(searched) -> None:
    brute = brute_force()
    n_min = min(r["n_max"] for r in brute)
    mm = min((r for r in brute if r["n_max"] == n_min), key=lambda r: r["expected_n_p0"])
    opt = min(brute, key=lambda r: r["expected_n_p0"])
    for got, ref in ((searched.minimax, mm), (searched.optimal, opt)):
        assert _search_key(got) == ref["key"]
        assert got.expected_n_p0 == pytest.approx(ref["expected_n_p0"], abs=1e-10)
        assert got.alpha == pytest.approx(ref["alpha"], abs=1e-10)
        assert got.power == pytest.approx(ref["power"], abs=1e-10)
    # the minimax design rebuilt as a Design object has the same boundaries
    assert searched.minimax.design.boundaries() == searched.minimax.boundaries
