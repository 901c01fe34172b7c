"""BOP2 joint efficacy-toxicity kernel (kernels.bop2_joint): posteriors, rectangles, exact DP.

The references share no code with the kernel:

* the Beta tails against mpmath (30 digits), and the claim that the Dirichlet
  posterior's margins are those Betas against draws from the Dirichlet itself;
* the stop region recomputed on the whole (x_R, x_T) lattice from mpmath tails,
  which must be the rectangle {x_R <= a_k} ∪ {x_T >= b_k};
* brute-force enumeration of all 4^N outcome sequences (N <= 8), each trial walked
  through its looks, for BOP2 rules (decided from mpmath tails, no table) and for
  arbitrary, non-rectangular tables with early-Go tables;
* patient-level Monte Carlo with a seeded Generator: totals within 3 MCSE of the
  exact values, every (look, reason) cell within 4 MCSE.
"""

from __future__ import annotations

import itertools
import math
import re
from functools import cache
from typing import Any

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adaptive2._base.errors import DesignError
from adaptive2.kernels.bop2_joint import (
    REASONS,
    efftox_boundaries,
    marginal_tail,
    rectangle_tables,
    stopping_cutoffs,
    table_oc,
)
from adaptive2.kernels.joint import cell_probabilities, joint_oc

TOL = 1e-12
RESPONDS = np.array([1, 1, 0, 0])  # cells: 0 = R and T, 1 = R only, 2 = T only, 3 = neither
TOXIC = np.array([1, 0, 1, 0])
ZHOU_LOOKS = (10, 15, 20, 25, 30, 35, 40)
ZHOU_NULL = (0.15, 0.30, 0.15, 0.40)  # phi_E = 0.45, phi_T = 0.30
ZHOU_ALT = (0.18, 0.42, 0.02, 0.38)


@pytest.fixture(autouse=True, scope="module")
def _mp_precision():
    """mpmath at 30 digits in this module only (never a global side effect)."""
    with mpmath.workdps(30):
        yield


@cache
def mp_tail(n: int, x: int, phi: float, a: float, b: float, upper: bool) -> float:
    """P(p > phi) (upper) or P(p <= phi) under Beta(a + x, b + n - x), by mpmath.

    At 60 digits: mpmath's integral over [phi, 1] is found as a difference, so a tail
    of 1e-26 needs well over 30 digits to keep 15 significant ones.
    """
    lo, hi = (phi, 1) if upper else (0, phi)
    with mpmath.workdps(60):
        return float(mpmath.betainc(a + x, b + n - x, lo, hi, regularized=True))


# ---------------------------------------------------------------------------
# Marginal posteriors
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("n", "phi", "a", "b"),
    [(0, 0.45, 0.45, 0.55), (1, 0.3, 0.3, 0.7), (10, 0.45, 0.45, 0.55), (40, 0.3, 0.3, 0.7),
     (40, 0.05, 2.0, 38.0), (25, 0.9, 0.9, 0.1)],
)
def test_marginal_tail_matches_mpmath(n: int, phi: float, a: float, b: float) -> None:
    for upper in (True, False):
        got = marginal_tail(n, phi, a, b, upper=upper)
        want = np.array([mp_tail(n, x, phi, a, b, upper) for x in range(n + 1)])
        np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-300)
    # the two tails are complementary; the upper one never falls as the count grows (it
    # saturates at 1.0 in floating point), the lower one never rises
    up, lo = marginal_tail(n, phi, a, b, upper=True), marginal_tail(n, phi, a, b, upper=False)
    np.testing.assert_allclose(up + lo, 1.0, atol=1e-14)
    assert np.all(np.diff(up) >= 0) and np.all(np.diff(lo) <= 0)


def test_dirichlet_posterior_margins_are_beta() -> None:
    """Draws from Dirichlet(a + counts): P(p_E > φ_E), P(p_T <= φ_T) equal the Beta tails."""
    prior = np.array(ZHOU_NULL)  # BOP2: mean = null cells, ESS 1
    counts = np.array([2, 3, 1, 4])  # 10 patients: x_R = 5 responses, x_T = 3 toxicities
    draws = np.random.default_rng(20170301).dirichlet(prior + counts, size=400_000)
    p_e, p_t = draws @ RESPONDS, draws @ TOXIC
    n, x_r, x_t = 10, 5, 3
    for mc, exact in (
        ((p_e > 0.45).mean(), marginal_tail(n, 0.45, 0.45, 0.55, upper=True)[x_r]),
        ((p_t <= 0.30).mean(), marginal_tail(n, 0.30, 0.30, 0.70, upper=False)[x_t]),
    ):
        se = math.sqrt(exact * (1 - exact) / draws.shape[0])
        assert abs(mc - exact) <= 4 * se


def test_stopping_cutoffs() -> None:
    got = stopping_cutoffs(ZHOU_LOOKS, 0.625, 0.98)
    want = [1 - 0.625 * (n / 40) ** 0.98 for n in ZHOU_LOOKS]
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-15)
    assert stopping_cutoffs([5, 10], 0.8, 0.0).tolist() == pytest.approx([0.2, 0.2])
    grid = stopping_cutoffs([5, 10], np.array([[0.6], [0.9]]), np.array([0.5, 1.0, 2.0]))
    assert grid.shape == (2, 3, 2)


# ---------------------------------------------------------------------------
# Boundaries: the rectangle, and monotonicity
# ---------------------------------------------------------------------------
def lattice_stop(n: int, n_max: int, phi_e: float, phi_t: float, lam: float, gamma: float,
                 prior_e: tuple[float, float], prior_t: tuple[float, float]) -> np.ndarray:
    """The BOP2 No-Go table on the whole lattice, from the paper's form with mpmath tails.

    Stop if P(p_E <= φ_E | x_R) > C(n) or P(p_T > φ_T | x_T) > C(n), C(n) = 1 - λ (n/N)^γ.
    """
    c = 1 - mpmath.mpf(lam) * (mpmath.mpf(n) / n_max) ** mpmath.mpf(gamma)
    out = np.zeros((n + 1, n + 1), dtype=bool)
    for r, t in itertools.product(range(n + 1), repeat=2):
        fut = 1 - mp_tail(n, r, phi_e, *prior_e, True) > c
        tox = 1 - mp_tail(n, t, phi_t, *prior_t, False) > c
        out[r, t] = fut or tox
    return out


@pytest.mark.parametrize(
    ("looks", "phi_e", "phi_t", "lam", "gamma", "ess"),
    [((10, 15, 20), 0.45, 0.30, 0.625, 0.98, 1.0), ((5, 10, 15, 20), 0.2, 0.25, 0.9, 1.0, 1.0),
     ((4, 8, 12), 0.3, 0.2, 0.7, 0.0, 1.0), ((6, 12), 0.45, 0.3, 0.55, 2.0, 4.0)],
)
def test_stop_region_is_the_rectangle(looks, phi_e, phi_t, lam, gamma, ess) -> None:
    prior_e, prior_t = (ess * phi_e, ess * (1 - phi_e)), (ess * phi_t, ess * (1 - phi_t))
    a, b = efftox_boundaries(looks, phi_e, phi_t, lam, gamma,
                             prior_response=prior_e, prior_toxicity=prior_t)
    fut, tox = rectangle_tables(looks, a, b)
    for k, n in enumerate(looks):
        want = lattice_stop(n, looks[-1], phi_e, phi_t, lam, gamma, prior_e, prior_t)
        np.testing.assert_array_equal(fut[k] | tox[k], want)
        r, t = np.arange(n + 1)[:, None], np.arange(n + 1)[None, :]
        np.testing.assert_array_equal(want, (r <= a[k]) | (t >= b[k]))
        # and the reason tables are the bands themselves
        np.testing.assert_array_equal(fut[k], np.broadcast_to(r <= a[k], want.shape))
        np.testing.assert_array_equal(tox[k], np.broadcast_to(t >= b[k], want.shape))


def test_default_prior_is_bop2s() -> None:
    """Default prior: Beta(φ, 1 - φ), the margins of Dirichlet(null cells) with ESS 1."""
    args = (ZHOU_LOOKS, 0.45, 0.30, np.linspace(0.5, 0.95, 10)[:, None], [0.5, 1.0])
    explicit = efftox_boundaries(*args, prior_response=(0.45, 0.55), prior_toxicity=(0.3, 0.7))
    for got, want in zip(efftox_boundaries(*args), explicit, strict=True):
        np.testing.assert_array_equal(got, want)
    assert explicit[0].shape == (10, 2, 7)


def test_boundaries_grid_equals_pointwise() -> None:
    lam, gam = np.array([0.55, 0.7, 0.9]), np.array([0.0, 0.5, 1.0, 1.5])
    a, b = efftox_boundaries(ZHOU_LOOKS, 0.45, 0.3, lam[:, None], gam[None, :])
    for i, j in itertools.product(range(3), range(4)):
        ai, bi = efftox_boundaries(ZHOU_LOOKS, 0.45, 0.3, lam[i], gam[j])
        assert a[i, j].tolist() == ai.tolist() and b[i, j].tolist() == bi.tolist()


@settings(max_examples=60, deadline=None)
@given(
    phi_e=st.floats(0.05, 0.8), phi_t=st.floats(0.05, 0.6),
    lams=st.lists(st.floats(0.3, 0.99), min_size=2, max_size=2, unique=True),
    gams=st.lists(st.floats(0.0, 3.0), min_size=2, max_size=2, unique=True),
    looks=st.lists(st.integers(1, 30), min_size=1, max_size=5, unique=True).map(sorted),
)
def test_boundaries_are_monotone(phi_e, phi_t, lams, gams, looks) -> None:
    """Larger λ stops more (nested regions); larger γ stops less before the final look."""
    l1, l2 = sorted(lams)
    g1, g2 = sorted(gams)
    a1, b1 = efftox_boundaries(looks, phi_e, phi_t, l1, g1)
    a2, b2 = efftox_boundaries(looks, phi_e, phi_t, l2, g1)
    assert np.all(a2 >= a1) and np.all(b2 <= b1)
    a3, b3 = efftox_boundaries(looks, phi_e, phi_t, l1, g2)
    assert np.all(a3 <= a1) and np.all(b3 >= b1)
    assert a3[-1] == a1[-1] and b3[-1] == b1[-1]  # t = 1 at the final look
    n = np.asarray(looks)
    assert np.all((a1 >= -1) & (a1 <= n) & (b1 >= 0) & (b1 <= n + 1))
    # the tables are closed downwards in x_R and upwards in x_T
    fut, tox = rectangle_tables(looks, a1, b1)
    for f, t in zip(fut, tox, strict=True):
        stop = f | t
        assert np.all(stop[:-1, :] >= stop[1:, :])
        assert np.all(stop[:, 1:] >= stop[:, :-1])


# ---------------------------------------------------------------------------
# Brute force: all 4^N outcome sequences
# ---------------------------------------------------------------------------
@cache
def sequences(n_max: int) -> tuple[np.ndarray, np.ndarray]:
    """All 4^N sequences of cells: cumulative (responses, toxicities) after each patient."""
    seqs = np.array(list(itertools.product(range(4), repeat=n_max)), dtype=np.int8)
    return seqs, np.stack([np.cumsum(RESPONDS[seqs], axis=1), np.cumsum(TOXIC[seqs], axis=1)])


def brute_force(looks, decide, cells) -> dict[str, np.ndarray]:
    """Walk every sequence through the looks.

    ``decide(k, n, r, t)`` returns (futile, toxic, go) boolean arrays for counts r, t.
    """
    seqs, cum = sequences(looks[-1])
    prob = np.prod(np.asarray(cells)[seqs], axis=1)
    alive = np.ones(len(seqs), dtype=bool)
    stop_at = np.zeros((len(looks), 3))
    declare_at = np.zeros(len(looks))
    n_of = np.zeros(len(seqs))
    for k, n in enumerate(looks):
        r, t = cum[0][:, n - 1], cum[1][:, n - 1]
        fut, tox, go = decide(k, n, r, t)
        for j, hit in enumerate((fut & ~tox, ~fut & tox, fut & tox)):
            stop_at[k, j] = math.fsum(prob[alive & hit])
        final = k == len(looks) - 1
        go = ~(fut | tox) if final else go & ~(fut | tox)
        declare_at[k] = math.fsum(prob[alive & go])
        ended = alive & (fut | tox | go | final)
        n_of[ended] = n
        alive &= ~ended
    en = math.fsum(prob * n_of)
    return {
        "p_stop_at": stop_at, "p_declare_at": declare_at, "p_declare": declare_at.sum(),
        "expected_n": en, "sd_n": math.sqrt(math.fsum(prob * (n_of - en) ** 2)),
    }


def bop2_decide(looks, phi_e, phi_t, lam, gamma):
    """BOP2's rule from mpmath tails at each count (no boundary, no table)."""
    def decide(k, n, r, t):
        c = 1 - lam * (n / looks[-1]) ** gamma
        fut = np.array([1 - mp_tail(n, x, phi_e, phi_e, 1 - phi_e, True) > c for x in range(n + 1)])
        tox = np.array([1 - mp_tail(n, x, phi_t, phi_t, 1 - phi_t, False) > c
                        for x in range(n + 1)])
        return fut[r], tox[t], np.zeros_like(r, dtype=bool)
    return decide


SCENARIOS = [ZHOU_NULL, ZHOU_ALT, (0.0, 0.6, 0.0, 0.4), (0.25, 0.25, 0.25, 0.25),
             tuple(cell_probabilities(0.3, 0.4, 5.0).tolist())]


@pytest.mark.parametrize(
    ("looks", "phi_e", "phi_t", "lam", "gamma"),
    [((3, 6, 8), 0.45, 0.30, 0.625, 0.98), ((8,), 0.45, 0.30, 0.8, 1.0),
     ((1, 2, 3, 4, 5, 6), 0.3, 0.3, 0.9, 0.5), ((2, 7), 0.2, 0.4, 0.95, 0.0)],
)
def test_bop2_oc_equals_enumeration(looks, phi_e, phi_t, lam, gamma) -> None:
    a, b = efftox_boundaries(looks, phi_e, phi_t, lam, gamma)
    fut, tox = rectangle_tables(looks, a, b)
    out = table_oc(looks, fut, tox, SCENARIOS)
    decide = bop2_decide(looks, phi_e, phi_t, lam, gamma)
    for s, cells in enumerate(SCENARIOS):
        ref = brute_force(looks, decide, cells)
        for key, want in ref.items():
            np.testing.assert_allclose(out[key][s], want, rtol=0, atol=TOL, err_msg=key)


def test_general_tables_with_early_go_equal_enumeration() -> None:
    """Arbitrary (non-rectangular) tables and early-Go tables: the DP is exact for any table."""
    rng = np.random.default_rng(7)
    looks = (2, 4, 5, 8)
    fut = [rng.random((n + 1, n + 1)) < 0.25 for n in looks]
    tox = [rng.random((n + 1, n + 1)) < 0.2 for n in looks]
    go = [rng.random((n + 1, n + 1)) < 0.3 for n in looks[:-1]]

    def decide(k, n, r, t):
        g = go[k][r, t] if k < len(looks) - 1 else np.zeros_like(r, dtype=bool)
        return fut[k][r, t], tox[k][r, t], g

    out = table_oc(looks, fut, tox, SCENARIOS, efficacy=go)
    for s, cells in enumerate(SCENARIOS):
        ref = brute_force(looks, decide, cells)
        for key, want in ref.items():
            np.testing.assert_allclose(out[key][s], want, rtol=0, atol=TOL, err_msg=key)
    assert np.any(out["p_declare_at"][:, :-1] > 0)  # the early Go tables did act


def test_totals_and_batches() -> None:
    lam = np.array([0.55, 0.7, 0.85])
    a, b = efftox_boundaries(ZHOU_LOOKS, 0.45, 0.30, lam, 1.0)
    fut, tox = rectangle_tables(ZHOU_LOOKS, a, b)
    cells = np.array([ZHOU_NULL, ZHOU_ALT])
    out = table_oc(ZHOU_LOOKS, fut, tox, cells)
    assert out["p_stop_at"].shape == (3, 2, 7, 3) and out["p_declare"].shape == (3, 2)
    np.testing.assert_allclose(out["p_declare"] + out["p_nogo"], 1.0, atol=TOL)
    np.testing.assert_allclose(out["p_n"].sum(axis=-1), 1.0, atol=TOL)
    assert np.all(out["p_declare_at"][..., :-1] == 0.0)  # no early Go in BOP2
    # P(declare) falls as λ grows (nested stop regions), under every scenario
    assert np.all(np.diff(out["p_declare"], axis=0) <= TOL)
    # batched = one at a time; a cell axis of any shape
    for i in range(3):
        one = table_oc(ZHOU_LOOKS, [f[i] for f in fut], [t[i] for t in tox], cells[1])
        for key in ("p_declare", "expected_n", "sd_n", "p_stop_at"):
            np.testing.assert_allclose(one[key], out[key][i, 1], rtol=0, atol=1e-15)
    two = table_oc(ZHOU_LOOKS, fut, tox, cells.reshape(2, 1, 4))
    assert two["p_declare"].shape == (3, 2, 1)


def test_degenerate_scenarios() -> None:
    a, b = efftox_boundaries(ZHOU_LOOKS, 0.45, 0.30, 0.625, 0.98)
    fut, tox = rectangle_tables(ZHOU_LOOKS, a, b)
    out = table_oc(ZHOU_LOOKS, fut, tox, [[0, 1, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0]])
    assert out["p_declare"].tolist() == [1.0, 0.0, 0.0]  # all respond safely / none respond
    assert out["p_stop_at"][1, 0].tolist() == [1.0, 0.0, 0.0]  # futility at the first look
    assert out["p_stop_at"][2, 0].tolist() == [0.0, 0.0, 1.0]  # both reasons at once
    assert out["expected_n"].tolist() == [40.0, 10.0, 10.0]


# ---------------------------------------------------------------------------
# Monte Carlo
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("cells", [ZHOU_NULL, ZHOU_ALT], ids=["null", "alternative"])
def test_monte_carlo_agrees(cells) -> None:
    """20,000 patient-level trials: totals within 3 MCSE, every (look, reason) within 4 MCSE."""
    a, b = efftox_boundaries(ZHOU_LOOKS, 0.45, 0.30, 0.625, 0.98)
    fut, tox = rectangle_tables(ZHOU_LOOKS, a, b)
    exact = table_oc(ZHOU_LOOKS, fut, tox, cells)
    n_sims, n_max = 20_000, ZHOU_LOOKS[-1]
    draws = np.random.default_rng(20171001).choice(4, size=(n_sims, n_max), p=cells)
    r_cum, t_cum = np.cumsum(RESPONDS[draws], axis=1), np.cumsum(TOXIC[draws], axis=1)
    alive = np.ones(n_sims, dtype=bool)
    stop = np.zeros((len(ZHOU_LOOKS), 3))
    n_of = np.full(n_sims, float(n_max))
    for k, n in enumerate(ZHOU_LOOKS):
        f, t = r_cum[:, n - 1] <= a[k], t_cum[:, n - 1] >= b[k]
        for j, hit in enumerate((f & ~t, ~f & t, f & t)):
            stop[k, j] = np.mean(alive & hit)
        n_of[alive & (f | t)] = n
        alive &= ~(f | t)
    declare = alive.mean()

    def close(mc: float, ex: float, z: float) -> bool:
        se = math.sqrt(ex * (1 - ex) / n_sims)
        return abs(mc - ex) <= z * se if se > 0 else mc == ex

    totals = [(declare, exact["p_declare"])] + [
        (stop[:, j].sum(), exact["p_stop_at"][:, j].sum()) for j in range(3)
    ] + [(stop[:-1].sum(), exact["p_early_stop"])]
    for mc, ex in totals:
        assert close(float(mc), float(ex), 3), (mc, ex)
    en_se = float(exact["sd_n"]) / math.sqrt(n_sims)
    assert abs(n_of.mean() - float(exact["expected_n"])) <= 3 * en_se
    for k, j in itertools.product(range(len(ZHOU_LOOKS)), range(3)):
        assert close(stop[k, j], float(exact["p_stop_at"][k, j]), 4), (k, REASONS[j])


# ---------------------------------------------------------------------------
# The two entry points of the one DP agree
# ---------------------------------------------------------------------------
# (response rate, toxicity rate, odds ratio): both entry points see the same cells
AGREE_P = np.array([0.45, 0.60, 0.40, 0.60, 1.0])
AGREE_Q = np.array([0.30, 0.20, 0.25, 0.35, 0.0])
AGREE_PSI = np.array([1.0, 2.0, 0.2, 6.0, 1.0])
AGREE_CELLS = cell_probabilities(AGREE_P, AGREE_Q, AGREE_PSI)


def assert_agree(pairs: list[tuple[np.ndarray, Any]]) -> None:
    """Probabilities within 1e-14; E[N] and sd(N) within 1e-14 relative."""
    for i, (got, want) in enumerate(pairs):
        np.testing.assert_allclose(got, want, rtol=1e-14, atol=1e-14, err_msg=f"pair {i}")


@pytest.mark.parametrize(("lam", "gamma"), [(0.625, 0.98), (0.55, 0.0), (0.9, 2.0)])
def test_bop2_rule_as_integer_boundaries_equals_its_tables(lam: float, gamma: float) -> None:
    """BOP2's rectangle through joint_oc (futility r <= a_k; toxicity t >= b_k, checked first).

    joint_oc counts a stop for both reasons as toxicity (it checks toxicity first);
    efficacy is r > a_K at the final look only, where BOP2 declares the drug acceptable.
    """
    a, b = efftox_boundaries(ZHOU_LOOKS, 0.45, 0.30, lam, gamma)
    tab = table_oc(ZHOU_LOOKS, *rectangle_tables(ZHOU_LOOKS, a, b), AGREE_CELLS)
    eff = [n + 1 for n in ZHOU_LOOKS[:-1]] + [int(a[-1]) + 1]
    ints = joint_oc(ZHOU_LOOKS[-1], ZHOU_LOOKS, a, eff, ZHOU_LOOKS, b, AGREE_P, AGREE_Q, AGREE_PSI)
    stop = tab["p_stop_at"]
    pairs = [
        (ints["p_futility_at"], stop[..., 0]),
        (ints["p_toxicity_at"], stop[..., 1] + stop[..., 2]),
        (ints["p_efficacy_at"], tab["p_declare_at"]),
        (ints["p_efficacy"], tab["p_declare"]),
        (ints["p_n"], tab["p_n"]),
        (ints["expected_n"], tab["expected_n"]),
        (ints["sd_n"], tab["sd_n"]),
        (ints["p_consider"], 0.0),
    ]
    assert_agree(pairs)


@pytest.mark.parametrize("tox_first", [True, False])
def test_integer_boundaries_with_checks_between_looks_equal_their_tables(tox_first: bool) -> None:
    """joint_oc's early efficacy and toxicity checks between looks, as table_oc's tables."""
    n_max, looks, fut_b, eff_b = 12, [4, 8, 12], [0, 2, 4], [4, 6, 5]
    checks, tox_b = [3, 6, 8, 10, 12], [2, 3, 4, 4, 5]
    ints = joint_oc(n_max, looks, fut_b, eff_b, checks, tox_b, AGREE_P, AGREE_Q, AGREE_PSI,
                    tox_first=tox_first)
    stages = sorted(set(looks) | set(checks))
    fut, tox, go = [], [], []
    for n in stages:
        r, t = np.ogrid[: n + 1, : n + 1]
        k = looks.index(n) if n in looks else None
        never = np.zeros((n + 1, n + 1), dtype=bool)
        f = never | (r <= fut_b[k]) if k is not None else never
        e = never | (r >= eff_b[k]) if k is not None else never
        x = never | (t >= tox_b[checks.index(n)]) if n in checks else never
        if not tox_first:  # the look acts first: toxicity sees only trials that continue
            x = x & ~f & ~e
        fut.append(f)
        tox.append(x)
        go.append(e & ~x)
    tab = table_oc(stages, fut, tox, AGREE_CELLS, efficacy=go[:-1])
    at_looks = [stages.index(n) for n in looks]
    at_checks = [stages.index(n) for n in checks]
    stop = tab["p_stop_at"]
    pairs = [
        (ints["p_toxicity_at"], (stop[..., 1] + stop[..., 2])[:, at_checks]),
        (ints["p_futility_at"], stop[..., 0][:, at_looks]),
        (ints["p_efficacy_at"], tab["p_declare_at"][:, at_looks]),
        (ints["p_n"], tab["p_n"]),
        (ints["expected_n"], tab["expected_n"]),
        (ints["sd_n"], tab["sd_n"]),
    ]
    assert_agree(pairs)


# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------
def _tables(looks):
    a, b = efftox_boundaries(looks, 0.45, 0.3, 0.7, 1.0)
    return rectangle_tables(looks, a, b)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: efftox_boundaries([10, 5], 0.45, 0.3, 0.7, 1.0), "`looks` of efftox_boundaries"),
        (lambda: efftox_boundaries([0, 5], 0.45, 0.3, 0.7, 1.0), "`looks` of efftox_boundaries"),
        (lambda: efftox_boundaries([5], 1.0, 0.3, 0.7, 1.0), "`phi_e` of efftox_boundaries"),
        (lambda: efftox_boundaries([5], 0.4, 0.0, 0.7, 1.0), "`phi_t` of efftox_boundaries"),
        (lambda: efftox_boundaries([5], 0.4, 0.3, 1.0, 1.0), "`lambda_` of efftox_boundaries"),
        (lambda: efftox_boundaries([5], 0.4, 0.3, 0.7, -1.0), "`gamma` of efftox_boundaries"),
        (lambda: efftox_boundaries([5], 0.4, 0.3, [0.7, 0.8], [1.0, 2.0, 3.0]),
         "`lambda_, gamma` of efftox_boundaries must be arrays that broadcast"),
        (lambda: efftox_boundaries([5], 0.4, 0.3, 0.7, 1.0, prior_response=(0.0, 1.0)),
         "`prior_response` of efftox_boundaries must be a pair"),
        (lambda: stopping_cutoffs([5], 0.0, 1.0), "`lambda_` of stopping_cutoffs"),
        (lambda: rectangle_tables([5, 10], [1], [3]), "`a, b` of rectangle_tables"),
        (lambda: table_oc([5], *_tables([5]), [0.5, 0.5, 0.5, 0.5]), "`cells` of table_oc"),
        (lambda: table_oc([5, 10], _tables([5, 10])[0][:1], _tables([5, 10])[1], [0, 1, 0, 0]),
         "`futility` of table_oc must be a list of 2 boolean"),
        (lambda: table_oc([5], [np.zeros((6, 6))], _tables([5])[1], [0, 1, 0, 0]),
         "`futility` of table_oc"),
        (lambda: table_oc([5], _tables([5])[0], [np.zeros((5, 5), bool)], [0, 1, 0, 0]),
         "`toxicity` of table_oc"),
        (lambda: table_oc([5, 10], *_tables([5, 10]), [0, 1, 0, 0],
                          efficacy=_tables([5, 10])[0]),
         "`efficacy` of table_oc must be a list of 1 boolean array"),
        (lambda: table_oc([5], [np.zeros((2, 6, 6), bool)], [np.zeros((3, 6, 6), bool)],
                          [0, 1, 0, 0]),
         "`futility, toxicity` of table_oc must be tables whose batch shapes broadcast"),
    ],
)
def test_errors_name_the_argument(call, match) -> None:
    with pytest.raises(DesignError, match=re.escape(match)):
        call()
