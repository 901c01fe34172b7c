"""Bryant & Day two-stage designs: published design, brute-force search, exact OC.

Reference design (Bryant & Day 1995, Biometrics 51:1372-1383, worked example on p. 1379):
p0 = 0.3, p1 = 0.5 (response), q0 = 0.6, q1 = 0.8 (non-toxicity); n1 = 19, r1 = 5, t1 = 11,
n = 33, r = 12, t = 22. The paper itself was not available to us: the design and rates are
as quoted, with the page, in the comments of github.com/gjmzajac/BayesMultiStage
(BayesMultiStageEx.R). The error levels of the example are not quoted there; the design's
exact errors (0.145, 0.146, 0.146) and the search point to alpha_r = alpha_t = beta = 0.15,
under which it is the unique optimal design (see the tests below).
"""

from __future__ import annotations

import itertools
import json
import math
import pickle
from functools import cache

import numpy as np
import pytest

from adaptive2._base.errors import DesignError
from adaptive2.engines.bryant_day import (
    BryantDayDesign,
    BryantDayResult,
    _search,
    bryant_day,
)
from adaptive2.kernels.joint import cell_probabilities

PUBLISHED = (19, 5, 11, 33, 12, 22)  # n1, r1, t1, n, r, t
Feasible = tuple[float, int, int, int, int, int, int, float]  # objective, design, power
Case = tuple[float, float, float, float, float, float, float, int]


def key(d: BryantDayDesign | None) -> tuple[int, ...] | None:
    return None if d is None else (d.n1, d.r1, d.t1, d.n, d.r, d.t)


# ---------------------------------------------------------------------------
# independent brute force (pure Python, math.comb)
# ---------------------------------------------------------------------------
def _pmf(m: int, p: float) -> list[float]:
    return [math.comb(m, k) * p**k * (1 - p) ** (m - k) for k in range(m + 1)]


@cache
def _joint_pmf(m: int, cells: tuple[float, ...]) -> dict[tuple[int, int], float]:
    """P(x responses, y non-toxic) among m patients, by summing the multinomial."""
    c0, c1, c2, c3 = cells  # R&T, R only, T only, neither
    out: dict[tuple[int, int], float] = {}
    for a in range(m + 1):
        for b in range(m + 1 - a):
            for c in range(m + 1 - a - b):
                d = m - a - b - c
                w = math.factorial(m) // (
                    math.factorial(a) * math.factorial(b) * math.factorial(c) * math.factorial(d)
                )
                prob = w * c0**a * c1**b * c2**c * c3**d
                k = (a + b, b + d)
                out[k] = out.get(k, 0.0) + prob
    return out


@cache
def _joint_surv(m: int, cells: tuple[float, ...]) -> dict[tuple[int, int], float]:
    """P(X > i, Y > j) for i, j = -1..m."""
    f = _joint_pmf(m, cells)
    return {
        (i, j): math.fsum(v for (x, y), v in f.items() if x > i and y > j)
        for i in range(-1, m + 1)
        for j in range(-1, m + 1)
    }


def joint_declare(design: tuple[int, ...], cells: tuple[float, ...]) -> tuple[float, float]:
    """(P(declare), P(continue)) from the joint law of (X, Y), summed cell by cell."""
    n1, r1, t1, n, r, t = design
    m = n - n1
    f1, s2 = _joint_pmf(n1, cells), _joint_surv(m, cells)

    def surv(i: int, j: int) -> float:
        return s2[(max(min(i, m), -1), max(min(j, m), -1))]

    dec = math.fsum(v * surv(r - x, t - y) for (x, y), v in f1.items() if x > r1 and y > t1)
    cont = math.fsum(v for (x, y), v in f1.items() if x > r1 and y > t1)
    return dec, cont


def brute_force(
    p0: float,
    p1: float,
    q0: float,
    q1: float,
    ar: float,
    at: float,
    beta: float,
    nmax: int,
    odds_ratio: float = 1.0,
) -> list[Feasible]:
    """Every feasible design: (objective, n, n1, r1, t1, r, t, P(declare | p1, q1)).

    Exhaustive over 1 <= n1 < n <= nmax, 0 <= r1 < r < n, 0 <= t1 < t < n. Under
    independence the probabilities are products of binomial sums; otherwise joint sums.
    """
    cell = {
        s: tuple(float(c) for c in cell_probabilities(p, 1 - q, odds_ratio))
        for s, (p, q) in {"01": (p0, q1), "10": (p1, q0), "11": (p1, q1)}.items()
    }
    out = []
    for n in range(2, nmax + 1):
        for n1 in range(1, n):
            m = n - n1
            if odds_ratio == 1.0:
                acc: dict[tuple[float, int, int], float] = {}
                cont: dict[tuple[float, int], float] = {}
                for rate in {p0, p1, q0, q1}:
                    f1, f2 = _pmf(n1, rate), _pmf(m, rate)
                    for b1 in range(n1):
                        cont[(rate, b1)] = math.fsum(f1[b1 + 1 :])
                        for b in range(b1 + 1, n):
                            acc[(rate, b1, b)] = math.fsum(
                                f1[x] * math.fsum(f2[max(b - x + 1, 0) :])
                                for x in range(b1 + 1, n1 + 1)
                            )
            for r1, t1 in itertools.product(range(n1), range(n1)):
                if odds_ratio == 1.0:
                    c01 = cont[(p0, r1)] * cont[(q1, t1)]
                    c10 = cont[(p1, r1)] * cont[(q0, t1)]
                else:
                    c01 = joint_declare((n1, r1, t1, n, n - 1, n - 1), cell["01"])[1]
                    c10 = joint_declare((n1, r1, t1, n, n - 1, n - 1), cell["10"])[1]
                obj = n1 + m * max(c01, c10)
                for r, t in itertools.product(range(r1 + 1, n), range(t1 + 1, n)):
                    if odds_ratio == 1.0:
                        d01 = acc[(p0, r1, r)] * acc[(q1, t1, t)]
                        d10 = acc[(p1, r1, r)] * acc[(q0, t1, t)]
                        d11 = acc[(p1, r1, r)] * acc[(q1, t1, t)]
                    else:
                        design = (n1, r1, t1, n, r, t)
                        d01 = joint_declare(design, cell["01"])[0]
                        d10 = joint_declare(design, cell["10"])[0]
                        d11 = joint_declare(design, cell["11"])[0]
                    if d01 <= ar and d10 <= at and d11 >= 1 - beta:
                        out.append((obj, n, n1, r1, t1, r, t, d11))
    return out


def brute_choice(feasible: list[Feasible], optimal: bool) -> tuple[float, tuple[int, ...]]:
    """The brute force's optimal (or minimax) design, with the search's tie rules."""
    if optimal:
        obj, n = min((f[0], f[1]) for f in feasible)
        # objectives equal up to rounding of the two computations count as ties
        first = [f for f in feasible if f[1] == n and abs(f[0] - obj) < 1e-12]
    else:
        n = min(f[1] for f in feasible)
        obj = min(f[0] for f in feasible if f[1] == n)
        first = [f for f in feasible if f[1] == n and abs(f[0] - obj) < 1e-12]
    n1, r1, t1 = min((f[2], f[3], f[4]) for f in first)
    cands = [f for f in first if (f[2], f[3], f[4]) == (n1, r1, t1)]
    best = max(f[7] for f in cands)
    r, t = min((f[5], f[6]) for f in cands if f[7] == best)
    return obj, (n1, r1, t1, n, r, t)


SMALL = [
    # p0, p1, q0, q1, alpha_r, alpha_t, beta, nmax: optimal and minimax differ in the first
    (0.2, 0.5, 0.6, 0.9, 0.2, 0.2, 0.2, 14),
    (0.1, 0.5, 0.5, 0.9, 0.1, 0.1, 0.2, 12),
    (0.2, 0.6, 0.5, 0.9, 0.2, 0.15, 0.2, 12),
    (0.1, 0.3, 0.7, 0.95, 0.3, 0.3, 0.3, 13),
    (0.2, 0.5, 0.6, 0.9, 0.05, 0.05, 0.1, 10),  # nothing feasible
]


# ---------------------------------------------------------------------------
# published design
# ---------------------------------------------------------------------------
def test_bryant_day_1995_worked_example() -> None:
    res = bryant_day(0.3, 0.5, 0.6, 0.8, alpha_r=0.15, alpha_t=0.15, beta=0.15, nmax=60)
    assert key(res.optimal) == PUBLISHED
    d = res.optimal
    assert d is not None
    assert d.alpha_r <= 0.15 and d.alpha_t <= 0.15 and d.beta <= 0.15
    assert (round(d.alpha_r, 3), round(d.alpha_t, 3), round(d.beta, 3)) == (0.145, 0.146, 0.146)
    assert round(d.expected_n_p0q1, 2) == 26.19 and round(d.expected_n_p1q0, 2) == 25.61


def test_published_design_is_not_optimal_at_other_levels() -> None:
    """The inferred levels matter: at beta = 0.10 the published design is infeasible."""
    res = bryant_day(0.3, 0.5, 0.6, 0.8, alpha_r=0.15, alpha_t=0.15, beta=0.10, nmax=45)
    assert key(res.optimal) != PUBLISHED


# ---------------------------------------------------------------------------
# the search against the brute force
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("case", SMALL)
def test_search_matches_brute_force(case: Case) -> None:
    p0, p1, q0, q1, ar, at, beta, nmax = case
    res = bryant_day(p0, p1, q0, q1, alpha_r=ar, alpha_t=at, beta=beta, nmax=nmax)
    feasible = brute_force(p0, p1, q0, q1, ar, at, beta, nmax)
    if not feasible:
        assert res.optimal is None and res.minimax is None
        assert "no design meets the constraints" in str(res)
        return
    for design, optimal in ((res.optimal, True), (res.minimax, False)):
        obj, ref = brute_choice(feasible, optimal)
        assert design is not None
        assert design.expected_n == pytest.approx(obj, abs=1e-12)
        assert key(design) == ref
    # no feasible design has a smaller objective, or (minimax) a smaller n
    assert res.optimal is not None and res.minimax is not None
    assert min(f[0] for f in feasible) >= res.optimal.expected_n - 1e-12
    assert min(f[1] for f in feasible) == res.minimax.n


def test_search_under_an_odds_ratio_matches_brute_force() -> None:
    res = bryant_day(
        0.1, 0.5, 0.5, 0.9, alpha_r=0.1, alpha_t=0.1, beta=0.2, nmax=10, odds_ratio=4.0
    )
    feasible = brute_force(0.1, 0.5, 0.5, 0.9, 0.1, 0.1, 0.2, 10, odds_ratio=4.0)
    for design, optimal in ((res.optimal, True), (res.minimax, False)):
        obj, ref = brute_choice(feasible, optimal)
        assert design is not None
        assert design.expected_n == pytest.approx(obj, abs=1e-12)
        assert key(design) == ref
        assert design.odds_ratio == 4.0


def test_joint_search_at_independence_equals_factorised_search() -> None:
    args = (0.3, 0.5, 0.6, 0.8, 0.15, 0.15, 0.15, 40, 1.0)
    fact = _search(*args, factorised=True)
    joint = _search(*args, factorised=False)
    assert [r[1:] for r in fact] == [r[1:] for r in joint]
    np.testing.assert_allclose([r[0] for r in fact], [r[0] for r in joint], rtol=0, atol=1e-12)


@pytest.mark.parametrize("odds_ratio", [1.0, 0.25, 5.0])
def test_designs_meet_the_constraints_exactly(odds_ratio: float) -> None:
    res = bryant_day(
        0.2, 0.4, 0.7, 0.9, alpha_r=0.1, alpha_t=0.1, beta=0.2, nmax=50, odds_ratio=odds_ratio
    )
    for d in (res.optimal, res.minimax):
        assert d is not None
        oc = d.oc([0.2, 0.4, 0.4, 0.2], [0.9, 0.7, 0.9, 0.7], odds_ratio)
        assert oc.p_declare[0] <= 0.1 and oc.p_declare[1] <= 0.1 and oc.p_declare[2] >= 0.8
        assert oc.p_declare[3] <= min(oc.p_declare[0], oc.p_declare[1])
        np.testing.assert_allclose(
            oc.p_declare,
            [d.p_declare_p0q1, d.p_declare_p1q0, d.p_declare_p1q1, d.p_declare_p0q0],
            rtol=0,
            atol=1e-15,
        )
        np.testing.assert_allclose(
            oc.expected_n[:2], [d.expected_n_p0q1, d.expected_n_p1q0], rtol=0, atol=1e-12
        )
        np.testing.assert_allclose(
            oc.p_early_stop[:2], [d.pet_p0q1, d.pet_p1q0], rtol=0, atol=1e-15
        )
    assert res.optimal is not None and res.minimax is not None
    assert res.optimal.expected_n <= res.minimax.expected_n
    assert res.minimax.n <= res.optimal.n


def test_nmax_caps_the_search() -> None:
    full = bryant_day(0.3, 0.5, 0.6, 0.8, alpha_r=0.15, alpha_t=0.15, beta=0.15, nmax=45)
    capped = bryant_day(0.3, 0.5, 0.6, 0.8, alpha_r=0.15, alpha_t=0.15, beta=0.15, nmax=32)
    assert key(full.optimal) == PUBLISHED
    assert capped.optimal is None and capped.minimax is None  # n = 33 is the smallest feasible


# ---------------------------------------------------------------------------
# exact OC: outcome sequences and Monte Carlo
# ---------------------------------------------------------------------------
def enumerate_sequences(design: tuple[int, ...], cells: np.ndarray) -> tuple[float, float]:
    """(P(declare), PET) by summing over all 4**n patient outcome sequences."""
    n1, r1, t1, n, r, t = design
    resp = np.array([1, 1, 0, 0])
    safe = np.array([0, 1, 0, 1])
    dec, pet = [], []
    for seq in itertools.product(range(4), repeat=n):
        s = np.asarray(seq)
        prob = math.prod(float(cells[i]) for i in seq)
        x1, y1 = resp[s[:n1]].sum(), safe[s[:n1]].sum()
        if not (x1 > r1 and y1 > t1):
            pet.append(prob)
        elif resp[s].sum() > r and safe[s].sum() > t:
            dec.append(prob)
    return math.fsum(dec), math.fsum(pet)


@pytest.mark.parametrize(("p", "q", "psi"), [(0.4, 0.7, 1.0), (0.3, 0.6, 0.2), (0.6, 0.8, 6.0)])
def test_oc_equals_enumeration_of_outcome_sequences(p: float, q: float, psi: float) -> None:
    design = (3, 0, 1, 7, 2, 4)
    d = BryantDayDesign.from_boundaries(*design, 0.2, 0.6, 0.5, 0.9)
    cells = cell_probabilities(p, 1 - q, psi)
    dec, pet = enumerate_sequences(design, cells)
    oc = d.oc(p, q, psi)
    assert float(oc.p_declare[0]) == pytest.approx(dec, abs=1e-14)
    assert float(oc.p_early_stop[0]) == pytest.approx(pet, abs=1e-14)
    assert float(oc.expected_n[0]) == pytest.approx(3 + 4 * (1 - pet), abs=1e-13)


def test_oc_against_monte_carlo() -> None:
    d = BryantDayDesign.from_boundaries(*PUBLISHED, 0.3, 0.5, 0.6, 0.8)
    rng = np.random.default_rng(20240611)
    n_sims = 200_000
    for p, q, psi in [(0.5, 0.8, 1.0), (0.4, 0.7, 3.0), (0.5, 0.6, 0.3)]:
        cells = cell_probabilities(p, 1 - q, psi)
        c1 = rng.multinomial(19, cells, size=n_sims)
        c2 = rng.multinomial(14, cells, size=n_sims)
        x1, y1 = c1[:, 0] + c1[:, 1], c1[:, 1] + c1[:, 3]
        x, y = x1 + c2[:, 0] + c2[:, 1], y1 + c2[:, 1] + c2[:, 3]
        go = (x1 > 5) & (y1 > 11)
        declare = go & (x > 12) & (y > 22)
        n_used = np.where(go, 33, 19)
        oc = d.oc(p, q, psi)
        for sims, exact in (
            (declare, oc.p_declare[0]),
            (~go, oc.p_early_stop[0]),
            (n_used, oc.expected_n[0]),
        ):
            mean = sims.mean()
            mcse = sims.std(ddof=1) / math.sqrt(n_sims)
            assert abs(mean - exact) <= 3 * mcse, (p, q, psi, mean, exact, mcse)


def test_oc_broadcasts_and_at_independence_is_a_product() -> None:
    d = BryantDayDesign.from_boundaries(*PUBLISHED, 0.3, 0.5, 0.6, 0.8)
    oc = d.oc([[0.3], [0.5]], [0.6, 0.8])
    assert oc.p_declare.shape == (4,) and oc.p.tolist() == [0.3, 0.3, 0.5, 0.5]
    resp = [BryantDayDesign.from_boundaries(*PUBLISHED, 0.3, 0.5, 0.6, 0.8)]
    assert resp  # the product form, computed independently of the joint DP:
    n1, r1, t1, n, r, t = PUBLISHED

    def acc(rate: float, b1: int, b: int) -> float:
        f1, f2 = _pmf(n1, rate), _pmf(n - n1, rate)
        return math.fsum(f1[x] * math.fsum(f2[max(b - x + 1, 0) :]) for x in range(b1 + 1, n1 + 1))

    expected = [acc(p, r1, r) * acc(q, t1, t) for p in (0.3, 0.5) for q in (0.6, 0.8)]
    np.testing.assert_allclose(oc.p_declare, expected, rtol=1e-12, atol=1e-15)
    # association changes the figures, and the extremes stay probabilities
    for psi in (1e-3, 0.5, 2.0, 1e3):
        other = d.oc(0.5, 0.8, psi)
        assert 0.0 <= other.p_declare[0] <= 1.0
        assert other.p_declare[0] != pytest.approx(oc.p_declare[3], abs=1e-6)


def test_oc_at_the_edges_of_the_rates() -> None:
    d = BryantDayDesign.from_boundaries(*PUBLISHED, 0.3, 0.5, 0.6, 0.8)
    oc = d.oc([0.0, 1.0, 1.0], [1.0, 1.0, 0.0])
    assert oc.p_declare.tolist() == [0.0, 1.0, 0.0]
    assert oc.p_early_stop.tolist() == [1.0, 0.0, 1.0]
    assert oc.expected_n.tolist() == [19.0, 33.0, 19.0]


# ---------------------------------------------------------------------------
# result objects and validation
# ---------------------------------------------------------------------------
def test_results_are_frozen_picklable_and_json_ready() -> None:
    res = bryant_day(0.3, 0.5, 0.6, 0.8, alpha_r=0.15, alpha_t=0.15, beta=0.15, nmax=40)
    assert isinstance(res, BryantDayResult)
    d = res.optimal
    assert d is not None
    with pytest.raises(AttributeError):
        d.n = 40  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(res)) == res
    out = json.loads(json.dumps(res.to_dict()))
    assert out["problem"]["alpha_r"] == 0.15 and out["problem"]["nmax"] == 40
    opt = out["optimal"]
    assert (opt["n1"], opt["r1"], opt["t1"], opt["n"], opt["r"], opt["t"]) == PUBLISHED
    assert opt["expected_n"] == d.expected_n and opt["beta"] == d.beta
    fields = {
        k: opt[k] for k in ("n1", "r1", "t1", "n", "r", "t", "p0", "p1", "q0", "q1", "odds_ratio")
    }
    assert BryantDayDesign.from_boundaries(**fields) == d
    text = str(res)
    assert "optimal: n1 = 19 (continue if responses > 5 and non-toxic > 11)" in text
    assert "n = 33 (promising if responses > 12 and non-toxic > 22)" in text


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(p0=0.5), "`p1` of bryant_day must be a probability in (p0, 1) = (0.5, 1); got 0.5."),
        (
            dict(q1=0.5),
            "`q1` of bryant_day must be a non-toxicity rate in (q0, 1) = (0.6, 1); got 0.5.",
        ),
        (dict(p0=0.0), "`p0` of bryant_day must be a probability in (0, 1); got 0.0."),
        (dict(alpha_r=1.0), "`alpha_r` of bryant_day must be a probability in (0, 1); got 1.0."),
        (dict(alpha_t=-0.1), "`alpha_t` of bryant_day must be a probability in (0, 1); got -0.1."),
        (dict(beta=0.0), "`beta` of bryant_day must be a probability in (0, 1); got 0.0."),
        (dict(nmax=1), "`nmax` of bryant_day must be an integer in [2, 300]; got 1."),
        (dict(nmax=301), "`nmax` of bryant_day must be an integer in [2, 300]; got 301."),
        (dict(nmax=20.5), "`nmax` of bryant_day must be an integer in [2, 300]; got 20.5."),
        (dict(odds_ratio=0.0), "`odds_ratio` of bryant_day must be a finite number > 0; got 0.0."),
        (
            dict(odds_ratio=float("inf")),
            "`odds_ratio` of bryant_day must be a finite number > 0; got inf.",
        ),
    ],
)
def test_bryant_day_validation(kwargs: dict[str, float], message: str) -> None:
    args: dict[str, float] = dict(p0=0.3, p1=0.5, q0=0.6, q1=0.8, nmax=20)
    args.update(kwargs)
    with pytest.raises(DesignError) as err:
        bryant_day(**args)  # type: ignore[arg-type]
    assert str(err.value) == message


@pytest.mark.parametrize(
    ("design", "name"),
    [
        ((19, 5, 11, 19, 12, 22), "n1"),
        ((19, 19, 11, 33, 12, 22), "r1"),
        ((19, 5, 11, 33, 5, 22), "r"),
        ((19, 5, 11, 33, 12, 33), "t"),
        ((19, 5, -1, 33, 12, 22), "t1"),
    ],
)
def test_design_validation(design: tuple[int, int, int, int, int, int], name: str) -> None:
    with pytest.raises(DesignError, match=rf"^`{name}` of BryantDayDesign must be an integer"):
        BryantDayDesign.from_boundaries(*design, 0.3, 0.5, 0.6, 0.8)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((1.5, 0.8, 1.0), "`p` of BryantDayDesign.oc must be a probability in [0, 1]; got 1.5."),
        ((0.5, -0.1, 1.0), "`q` of BryantDayDesign.oc must be a probability in [0, 1]; got -0.1."),
        (
            (0.5, 0.8, 0.0),
            "`odds_ratio` of BryantDayDesign.oc must be a finite number > 0; got 0.0.",
        ),
    ],
)
def test_oc_validation(args: tuple[float, float, float], message: str) -> None:
    d = BryantDayDesign.from_boundaries(*PUBLISHED, 0.3, 0.5, 0.6, 0.8)
    with pytest.raises(DesignError) as err:
        d.oc(*args)
    assert str(err.value) == message
