"""Tests of adaptive2.engines.simon: the vectorised search against a brute force, exact figures."""

from __future__ import annotations

import itertools
import json
import math
from functools import cache

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adaptive2._base.errors import DesignError
from adaptive2.engines.simon import AdmissibleDesign, SimonDesign, SimonResult, simon

DESIGN_KEYS = {"r1", "n1", "r", "n", "expected_n_p0", "pet_p0", "alpha", "power"}

# (p0, p1, alpha, beta, nmax): small problems the brute force handles quickly.
SMALL = [
    (0.10, 0.30, 0.05, 0.20, 35),
    (0.10, 0.30, 0.05, 0.20, 27),  # optimal (n = 29) out of range: the search must cap it
    (0.05, 0.25, 0.05, 0.20, 30),
    (0.20, 0.50, 0.10, 0.10, 30),
    (0.30, 0.60, 0.05, 0.20, 40),
    (0.60, 0.85, 0.05, 0.20, 35),
    (0.15, 0.40, 0.08, 0.15, 33),
]


# ---------------------------------------------------------------------------
# independent brute force (pure Python, math.comb)
# ---------------------------------------------------------------------------
def _pmf(m: int, p: float) -> list[float]:
    return [math.comb(m, k) * p**k * (1 - p) ** (m - k) for k in range(m + 1)]


@cache
def brute_force(p0: float, p1: float, alpha: float, beta: float, nmax: int) -> tuple:
    """Every feasible (n, n1, r1) with its smallest feasible r: (n, n1, r1, r, EN0, PET0).

    Exhaustive over 0 <= r1 < n1 < n <= nmax and r1 < r < n, except that r stops
    once P1(X1 + X2 > r) < 1 - beta (rejection implies X1 + X2 > r).
    """
    pmf = {p: [_pmf(m, p) for m in range(nmax + 1)] for p in (p0, p1)}

    def surv(p: float, m: int, k: int) -> float:  # P(Bin(m, p) > k)
        if k < 0:
            return 1.0
        return math.fsum(pmf[p][m][k + 1 :])

    out = []
    for n in range(2, nmax + 1):
        for n1 in range(1, n):
            m = n - n1
            b0, b1 = pmf[p0][n1], pmf[p1][n1]
            first: dict[int, int] = {}
            for r in range(1, n):
                if surv(p1, n, r) < 1 - beta:
                    break
                a0 = a1 = 0.0
                for x1 in range(n1, 0, -1):
                    a0 += b0[x1] * surv(p0, m, r - x1)
                    a1 += b1[x1] * surv(p1, m, r - x1)
                    r1 = x1 - 1
                    if r1 < r and a0 <= alpha and a1 >= 1 - beta and r1 not in first:
                        first[r1] = r
            for r1, r in sorted(first.items()):
                pet = math.fsum(b0[: r1 + 1])
                out.append((n, n1, r1, r, n1 + (1 - pet) * m, pet))
    return tuple(out)


def per_n_best(feas: tuple) -> dict[int, tuple]:
    best: dict[int, tuple] = {}
    for d in feas:  # ordered by n, n1, r1: strict < keeps the first of ties
        if d[0] not in best or d[4] < best[d[0]][4]:
            best[d[0]] = d
    return best


def mp_figures(r1: int, n1: int, r: int, n: int, p: float) -> tuple:
    """(P(reject), PET, EN) with 40-digit arithmetic."""
    with mpmath.workdps(40):
        pp = mpmath.mpf(p)

        def b(k: int, m: int):
            return mpmath.binomial(m, k) * pp**k * (1 - pp) ** (m - k)

        m = n - n1
        pet = mpmath.fsum(b(x, n1) for x in range(r1 + 1))
        rej = mpmath.fsum(
            b(x1, n1) * mpmath.fsum(b(x2, m) for x2 in range(max(r - x1 + 1, 0), m + 1))
            for x1 in range(r1 + 1, n1 + 1)
        )
        return float(rej), float(pet), float(n1 + (1 - pet) * m)


def _key(d: SimonDesign) -> tuple[int, int, int, int]:
    return (d.n, d.n1, d.r1, d.r)


# ---------------------------------------------------------------------------
# search against brute force
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(("p0", "p1", "alpha", "beta", "nmax"), SMALL)
def test_optimal_and_minimax_match_brute_force(p0, p1, alpha, beta, nmax) -> None:
    feas = brute_force(p0, p1, alpha, beta, nmax)
    assert feas, "the test problems are chosen to be feasible"
    opt = min(feas, key=lambda d: (d[4], d[0], d[1], d[2]))
    mm = min(feas, key=lambda d: (d[0], d[4], d[1], d[2]))
    res = simon(p0, p1, alpha, beta, nmax)
    assert _key(res.optimal) == opt[:4]
    assert _key(res.minimax) == mm[:4]
    assert res.optimal.expected_n_p0 == pytest.approx(opt[4], rel=1e-12)
    assert res.optimal.pet_p0 == pytest.approx(opt[5], rel=1e-12)
    assert res.minimax.expected_n_p0 == pytest.approx(mm[4], rel=1e-12)
    assert res.minimax.pet_p0 == pytest.approx(mm[5], rel=1e-12)


@pytest.mark.parametrize(("p0", "p1", "alpha", "beta", "nmax"), SMALL)
def test_admissible_designs_match_brute_force(p0, p1, alpha, beta, nmax) -> None:
    res = simon(p0, p1, alpha, beta, nmax)
    best = per_n_best(brute_force(p0, p1, alpha, beta, nmax))
    adm = res.admissible
    # each admissible design is the brute-force best for its n
    for d in adm:
        assert _key(d) == best[d.n][:4]
    # for any weight q, the design with the smallest loss among the per-n best
    # designs is the admissible design whose q-interval contains q
    qs = np.linspace(0.0, 1.0, 401)
    for q in qs:
        losses = {n: q * n + (1 - q) * d[4] for n, d in best.items()}
        low = min(losses.values())
        winners = {n for n, v in losses.items() if v <= low + 1e-9}
        holders = [d for d in adm if d.q_low - 1e-12 <= q <= d.q_high + 1e-12]
        assert holders
        assert {d.n for d in holders} <= winners
        if len(winners) == 1:
            assert [d.n for d in holders] == list(winners)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    p0=st.sampled_from([0.05, 0.1, 0.15, 0.2, 0.3, 0.45, 0.6]),
    delta=st.sampled_from([0.15, 0.2, 0.25, 0.3]),
    alpha=st.sampled_from([0.05, 0.1, 0.2]),
    beta=st.sampled_from([0.1, 0.2, 0.3]),
    nmax=st.integers(min_value=2, max_value=36),
)
def test_property_search_equals_brute_force(p0, delta, alpha, beta, nmax) -> None:
    p1 = round(p0 + delta, 10)
    feas = brute_force(p0, p1, alpha, beta, nmax)
    res = simon(p0, p1, alpha, beta, nmax)
    if not feas:
        assert res.optimal is None and res.minimax is None and res.admissible == ()
        return
    opt = min(feas, key=lambda d: (d[4], d[0], d[1], d[2]))
    mm = min(feas, key=lambda d: (d[0], d[4], d[1], d[2]))
    assert _key(res.optimal) == opt[:4]
    assert _key(res.minimax) == mm[:4]


# ---------------------------------------------------------------------------
# structure of the result
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("p0", "p1", "alpha", "beta", "nmax"), [*SMALL, (0.2, 0.4, 0.05, 0.2, 100)]
)
def test_admissible_set_structure(p0, p1, alpha, beta, nmax) -> None:
    res = simon(p0, p1, alpha, beta, nmax)
    adm = res.admissible
    assert all(isinstance(d, AdmissibleDesign) for d in adm)
    assert _key(adm[0]) == _key(res.minimax)
    assert _key(adm[-1]) == _key(res.optimal)
    assert [d.n for d in adm] == sorted({d.n for d in adm})
    ens = [d.expected_n_p0 for d in adm]
    assert all(a > b for a, b in itertools.pairwise(ens))
    # q-intervals partition [0, 1]
    assert adm[0].q_high == 1.0
    assert adm[-1].q_low == 0.0
    for d in adm:
        assert 0.0 <= d.q_low < d.q_high <= 1.0
    for a, b in itertools.pairwise(adm):
        assert a.q_low == b.q_high
    # at the interval ends the neighbouring designs have equal loss
    for a, b in itertools.pairwise(adm):
        q = a.q_low
        la = q * a.n + (1 - q) * a.expected_n_p0
        lb = q * b.n + (1 - q) * b.expected_n_p0
        assert la == pytest.approx(lb, rel=1e-12)


def test_admissible_design_fields_equal_simon_design() -> None:
    res = simon(0.1, 0.3)
    d = res.admissible[-1]
    plain = SimonDesign.from_boundaries(d.r1, d.n1, d.r, d.n, 0.1, 0.3)
    assert plain == res.optimal
    assert {k: getattr(d, k) for k in SimonDesign.__dataclass_fields__} == {
        k: getattr(plain, k) for k in SimonDesign.__dataclass_fields__
    }


@pytest.mark.parametrize(("p0", "p1", "alpha", "beta", "nmax"), SMALL[:4])
def test_alpha_power_pet_en_match_mpmath(p0, p1, alpha, beta, nmax) -> None:
    res = simon(p0, p1, alpha, beta, nmax)
    for d in (res.optimal, res.minimax, *res.admissible):
        rej0, pet0, en0 = mp_figures(d.r1, d.n1, d.r, d.n, p0)
        rej1, _, _ = mp_figures(d.r1, d.n1, d.r, d.n, p1)
        assert d.alpha == pytest.approx(rej0, rel=1e-12, abs=1e-15)
        assert d.power == pytest.approx(rej1, rel=1e-12, abs=1e-15)
        assert d.pet_p0 == pytest.approx(pet0, rel=1e-12, abs=1e-15)
        assert d.expected_n_p0 == pytest.approx(en0, rel=1e-12)
        assert d.alpha <= alpha
        assert d.power >= 1 - beta
        assert 0 <= d.r1 < d.n1 < d.n
        assert d.r1 < d.r < d.n
        assert d.p0 == p0 and d.p1 == p1


def test_smallest_r_is_used() -> None:
    """The reported r is the smallest meeting alpha: one less would exceed alpha."""
    res = simon(0.2, 0.4, 0.05, 0.2)
    for d in (res.optimal, res.minimax, *res.admissible):
        if d.r - 1 > d.r1:
            looser = SimonDesign.from_boundaries(d.r1, d.n1, d.r - 1, d.n, d.p0, d.p1)
            assert looser.alpha > 0.05


def test_nmax_below_minimax_returns_none() -> None:
    res = simon(0.1, 0.3, 0.05, 0.2, nmax=20)
    assert isinstance(res, SimonResult)
    assert res.optimal is None and res.minimax is None
    assert res.admissible == ()
    assert res.to_dict() == {"optimal": None, "minimax": None, "admissible": []}
    assert "no design" in str(res)


def test_nmax_equal_to_minimax_n() -> None:
    res = simon(0.1, 0.3, 0.05, 0.2, nmax=25)
    assert _key(res.minimax) == (25, 15, 1, 5)
    assert res.optimal.n == 25
    assert _key(res.optimal) == _key(res.admissible[-1])


def test_to_dict_keys_and_json() -> None:
    res = simon(0.1, 0.3)
    out = res.to_dict()
    assert set(out) == {"optimal", "minimax", "admissible"}
    assert set(out["optimal"]) == DESIGN_KEYS
    assert set(out["minimax"]) == DESIGN_KEYS
    for row in out["admissible"]:
        assert set(row) == DESIGN_KEYS | {"q_low", "q_high"}
    assert out["optimal"] == {
        "r1": 1,
        "n1": 10,
        "r": 5,
        "n": 29,
        "expected_n_p0": res.optimal.expected_n_p0,
        "pet_p0": res.optimal.pet_p0,
        "alpha": res.optimal.alpha,
        "power": res.optimal.power,
    }
    for row in (out["optimal"], *out["admissible"]):
        for k in ("r1", "n1", "r", "n"):
            assert type(row[k]) is int
        for k in ("expected_n_p0", "pet_p0", "alpha", "power"):
            assert type(row[k]) is float
    assert json.loads(json.dumps(out)) == out


# ---------------------------------------------------------------------------
# exact OC at arbitrary p, and the Design
# ---------------------------------------------------------------------------
def test_oc_method_vectorised() -> None:
    d = simon(0.2, 0.4).optimal
    p = np.array([[0.0, 0.2], [0.4, 1.0]])
    out = d.oc(p)
    assert out["p_efficacy"].shape == (2, 2)
    assert out["p_efficacy"][0, 1] == pytest.approx(d.alpha, rel=1e-13)
    assert out["p_efficacy"][1, 0] == pytest.approx(d.power, rel=1e-13)
    assert out["p_early_stop"][0, 1] == pytest.approx(d.pet_p0, rel=1e-13)
    assert out["expected_n"][0, 1] == pytest.approx(d.expected_n_p0, rel=1e-13)
    # p = 0: nobody responds; p = 1: everybody does
    assert out["p_efficacy"][0, 0] == 0.0
    assert out["p_early_stop"][0, 0] == 1.0
    assert out["expected_n"][0, 0] == d.n1
    assert out["p_efficacy"][1, 1] == 1.0
    assert out["p_early_stop"][1, 1] == 0.0
    assert out["expected_n"][1, 1] == d.n
    for q in (0.13, 0.33, 0.71):
        rej, pet, en = mp_figures(d.r1, d.n1, d.r, d.n, q)
        got = d.oc(q)
        assert float(got["p_efficacy"]) == pytest.approx(rej, rel=1e-12, abs=1e-15)
        assert float(got["p_early_stop"]) == pytest.approx(pet, rel=1e-12, abs=1e-15)
        assert float(got["expected_n"]) == pytest.approx(en, rel=1e-12)
    scalar = d.oc(0.3)
    assert scalar["p_efficacy"].shape == ()


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan")])
def test_oc_method_rejects_bad_rates(bad) -> None:
    d = simon(0.1, 0.3).optimal
    with pytest.raises(DesignError, match=r"`p` of SimonDesign\.oc"):
        d.oc([0.2, bad])


@pytest.mark.parametrize(("p0", "p1"), [(0.1, 0.3), (0.2, 0.4), (0.05, 0.25)])
def test_to_design_exact_oc_agree(p0, p1) -> None:
    from adaptive2.engines.exact import oc
    from adaptive2.model.designs import Design

    res = simon(p0, p1)
    for d in (res.optimal, res.minimax):
        design = d.to_design()
        assert isinstance(design, Design)
        assert design.looks == (d.n1, d.n)
        assert design.name == f"simon-{d.r1}/{d.n1}-{d.r}/{d.n}"
        bnd = design.boundaries()
        assert bnd.futility_max_r == (d.r1, d.r)
        assert bnd.efficacy_min_r == (None, d.r + 1)
        ds = oc(design, [p0, p1])
        eff = ds["p_efficacy"].values
        assert eff[0] == pytest.approx(d.alpha, abs=1e-12)
        assert eff[1] == pytest.approx(d.power, abs=1e-12)
        assert ds["p_early_stop"].values[0] == pytest.approx(d.pet_p0, abs=1e-12)
        assert ds["expected_n"].values[0] == pytest.approx(d.expected_n_p0, abs=1e-12)
        # and at other rates, against SimonDesign.oc
        grid = [0.0, 0.05, 0.5, 0.9, 1.0]
        ds = oc(design, grid)
        mine = d.oc(grid)
        np.testing.assert_allclose(ds["p_efficacy"].values, mine["p_efficacy"], atol=1e-12)
        np.testing.assert_allclose(ds["p_early_stop"].values, mine["p_early_stop"], atol=1e-12)
        np.testing.assert_allclose(ds["expected_n"].values, mine["expected_n"], atol=1e-12)


def test_to_design_name_and_prior() -> None:
    from adaptive2.model.priors import Beta

    d = simon(0.1, 0.3).minimax
    design = d.to_design(name="my-simon", prior=Beta(0.5, 0.5))
    assert design.name == "my-simon"
    assert design.prior == Beta(0.5, 0.5)
    assert design.p0 == 0.1 and design.p1 == 0.3
    assert design.title == "Simon two-stage: stop if <= 1/15, efficacy if > 5/25"


# ---------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"p0": 0.0}, "p0"),
        ({"p0": 1.0}, "p0"),
        ({"p0": -0.2}, "p0"),
        ({"p0": "0.1"}, "p0"),
        ({"p0": float("nan")}, "p0"),
        ({"p1": 1.0}, "p1"),
        ({"p1": 0.1}, "p1"),  # equal to p0
        ({"p1": 0.05}, "p1"),  # below p0
        ({"alpha": 0.0}, "alpha"),
        ({"alpha": 1.0}, "alpha"),
        ({"beta": 0.0}, "beta"),
        ({"beta": 1.2}, "beta"),
        ({"beta": None}, "beta"),
        ({"nmax": 1}, "nmax"),
        ({"nmax": 1001}, "nmax"),
        ({"nmax": 30.5}, "nmax"),
        ({"nmax": "100"}, "nmax"),
        ({"nmax": True}, "nmax"),
    ],
)
def test_bad_arguments_raise_design_error(kwargs, name) -> None:
    args = {"p0": 0.1, "p1": 0.3, "alpha": 0.05, "beta": 0.2, "nmax": 40, **kwargs}
    with pytest.raises(DesignError, match=f"`{name}` of simon"):
        simon(**args)


def test_design_error_is_value_error() -> None:
    with pytest.raises(ValueError, match="p1"):
        simon(0.3, 0.2)


def test_integral_float_nmax_accepted() -> None:
    assert simon(0.1, 0.3, nmax=40.0).optimal == simon(0.1, 0.3, nmax=40).optimal


@pytest.mark.parametrize(
    ("args", "name"),
    [
        ((1, 10, 5, 10, 0.1, 0.3), "n1"),
        ((10, 10, 5, 29, 0.1, 0.3), "r1"),
        ((-1, 10, 5, 29, 0.1, 0.3), "r1"),
        ((1, 10, 1, 29, 0.1, 0.3), "r"),
        ((1, 10, 29, 29, 0.1, 0.3), "r"),
        ((1, 10, 5, 29, 0.3, 0.1), "p1"),
        ((1, 10, 5, 29, 0.0, 0.3), "p0"),
    ],
)
def test_from_boundaries_validates(args, name) -> None:
    with pytest.raises(DesignError, match=f"`{name}` of SimonDesign"):
        SimonDesign.from_boundaries(*args)
