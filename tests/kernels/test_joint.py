"""Exact joint efficacy/toxicity OC (kernels.joint): brute force, reductions, Monte Carlo, errors.

The references share no code with the DP:

* brute force enumerates all 4^N outcome sequences, walks each trial through its
  decisions in integer arithmetic, and weighs the counts with cell probabilities
  found by an mpmath root-find of the odds-ratio equation at 50 digits;
* with no toxicity monitoring, the existing single-cohort exact engine
  (``adaptive2.oc``, a binomial DP over looks) on every shipped design;
* the marginal toxicity process, by a one-dimensional binomial DP written here;
* a numpy simulation of 200,000 patient-level trials per scenario.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from functools import cache
from typing import Any

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize, stats

import adaptive2
from adaptive2._base.errors import DesignError
from adaptive2.kernels import lattice
from adaptive2.kernels.joint import cell_probabilities, check_cells, joint_oc

from _shipped import SINGLE_COHORT

TOL = 1e-12

# outcome cells: 0 = R and T, 1 = R only, 2 = T only, 3 = neither
RESPONDS = (1, 1, 0, 0)
TOXIC = (1, 0, 1, 0)


# ---------------------------------------------------------------------------
# Cell probabilities
# ---------------------------------------------------------------------------
def _odds_equation(x: float, p: float, q: float, psi: float) -> float:
    return x * (1.0 - p - q + x) - psi * (p - x) * (q - x)


def _brentq_cell(p: float, q: float, psi: float) -> float:
    lo, hi = max(0.0, p + q - 1.0), min(p, q)
    if hi - lo <= 0.0:
        return lo
    return float(
        optimize.brentq(
            _odds_equation, lo, hi, args=(p, q, psi), xtol=1e-16, rtol=4 * np.finfo(float).eps
        )
    )


RATES = (0.0, 1e-9, 0.1, 0.5, 0.93, 1.0 - 1e-9, 1.0)
ODDS = (1e-6, 0.2, 1.0 - 1e-9, 1.0, 1.0 + 1e-9, 3.0, 1e6)


def test_cells_match_root_find_of_odds_ratio_equation() -> None:
    p = np.array(RATES)[:, None, None]
    q = np.array(RATES)[None, :, None]
    psi = np.array(ODDS)[None, None, :]
    cells = cell_probabilities(p, q, psi)
    assert cells.shape == (len(RATES), len(RATES), len(ODDS), 4)
    for (i, pi), (j, qj), (k, pk) in itertools.product(
        enumerate(RATES), enumerate(RATES), enumerate(ODDS)
    ):
        x = _brentq_cell(pi, qj, pk)
        expected = [x, pi - x, qj - x, 1.0 - pi - qj + x]
        np.testing.assert_allclose(
            cells[i, j, k], expected, rtol=0, atol=TOL, err_msg=f"p={pi}, q={qj}, psi={pk}"
        )
    assert (cells >= 0).all()
    np.testing.assert_allclose(cells.sum(axis=-1), 1.0, rtol=0, atol=1e-15)
    # psi = 1 is independence, exactly
    ind = cell_probabilities(np.array(RATES)[:, None], np.array(RATES)[None, :])
    np.testing.assert_array_equal(ind[..., 0], np.multiply.outer(RATES, RATES))


@settings(max_examples=200, deadline=None)
@given(
    p=st.floats(0.01, 0.99),
    q=st.floats(0.01, 0.99),
    log_psi=st.floats(-5.0, 5.0),
)
def test_cells_reproduce_margins_and_odds_ratio(p: float, q: float, log_psi: float) -> None:
    psi = float(np.exp(log_psi))
    c = cell_probabilities(p, q, psi)
    assert c[0] + c[1] == pytest.approx(p, abs=1e-14)
    assert c[0] + c[2] == pytest.approx(q, abs=1e-14)
    if min(c) > 1e-6:
        assert c[0] * c[3] / (c[1] * c[2]) == pytest.approx(psi, rel=1e-8)


# ---------------------------------------------------------------------------
# Brute force over all 4^N outcome sequences
# ---------------------------------------------------------------------------
@cache
def _walk_counts(
    n_max: int,
    looks: tuple[int, ...],
    a: tuple[int, ...],
    b: tuple[int, ...],
    t_looks: tuple[int, ...],
    c: tuple[int, ...],
    tox_first: bool,
) -> dict[tuple[Any, int], Counter[tuple[int, int, int, int]]]:
    """For each (outcome, N): how many sequences with each cell-count vector end so."""
    table: dict[tuple[Any, int], Counter[tuple[int, int, int, int]]] = {}
    for seq in itertools.product(range(4), repeat=n_max):
        counts = (seq.count(0), seq.count(1), seq.count(2), seq.count(3))
        r = t = 0
        outcome: Any = None
        for n, cell in enumerate(seq, start=1):
            r += RESPONDS[cell]
            t += TOXIC[cell]
            checks = []
            if n in t_looks:
                checks.append("tox")
            if n in looks:
                checks.insert(len(checks) if tox_first else 0, "eff")
            for what in checks:
                if what == "tox":
                    j = t_looks.index(n)
                    if t >= c[j]:
                        outcome = ("toxicity", j)
                elif what == "eff":
                    k = looks.index(n)
                    if r <= a[k]:
                        outcome = ("futility", k)
                    elif r >= b[k]:
                        outcome = ("efficacy", k)
                    elif n == n_max:
                        outcome = ("consider", k)
                if outcome is not None:
                    break
            if outcome is not None:
                table.setdefault((outcome, n), Counter())[counts] += 1
                break
        assert outcome is not None
    return table


def _mp_cells(p: float, q: float, psi: float) -> list[Any]:
    """Cells at 50 digits from an mpmath root-find (no closed form)."""
    with mpmath.workdps(50):
        mp, mq, mpsi = mpmath.mpf(p), mpmath.mpf(q), mpmath.mpf(psi)
        if psi == 1.0:
            x = mp * mq
        else:
            lo, hi = max(mpmath.mpf(0), mp + mq - 1), min(mp, mq)
            x = mpmath.findroot(
                lambda x: x * (1 - mp - mq + x) - mpsi * (mp - x) * (mq - x),
                (lo, hi),
                solver="anderson",
            )
        return [x, mp - x, mq - x, 1 - mp - mq + x]


def _brute(
    design: dict[str, Any], p: float, q: float, psi: float, tox_first: bool
) -> dict[str, Any]:
    key = (
        design["n_max"],
        tuple(design["eff_looks"]),
        tuple(design["fut_bounds"]),
        tuple(design["eff_bounds"]),
        tuple(design["tox_looks"]),
        tuple(design["tox_bounds"]),
        tox_first,
    )
    table = _walk_counts(*key)
    cells = _mp_cells(p, q, psi)
    k_looks, j_looks = len(design["eff_looks"]), len(design["tox_looks"])
    with mpmath.workdps(50):
        out: dict[str, Any] = {
            "toxicity": [mpmath.mpf(0)] * j_looks,
            "futility": [mpmath.mpf(0)] * k_looks,
            "efficacy": [mpmath.mpf(0)] * k_looks,
            "consider": [mpmath.mpf(0)] * k_looks,
        }
        en = en2 = mpmath.mpf(0)
        total = mpmath.mpf(0)
        for ((reason, idx), n), counter in table.items():
            prob = mpmath.fsum(
                m * mpmath.fprod(ci**e for ci, e in zip(cells, cnt, strict=True))
                for cnt, m in counter.items()
            )
            out[reason][idx] += prob
            en += n * prob
            en2 += n * n * prob
            total += prob
        out["expected_n"] = en
        out["var_n"] = en2 - en * en
        out["total"] = total
        return {
            k: (np.array([float(x) for x in v]) if isinstance(v, list) else float(v))
            for k, v in out.items()
        }


# interim efficacy look at 4, toxicity checks before it, between the looks and at the end
BRUTE_A: dict[str, Any] = {
    "n_max": 8,
    "eff_looks": [4, 8],
    "fut_bounds": [0, 3],
    "eff_bounds": [4, 5],
    "tox_looks": [3, 6, 8],
    "tox_bounds": [2, 3, 3],
}
# a toxicity check on the interim efficacy look itself, and one between the looks
BRUTE_B: dict[str, Any] = {
    "n_max": 7,
    "eff_looks": [3, 7],
    "fut_bounds": [0, 2],
    "eff_bounds": [3, 4],
    "tox_looks": [2, 3, 5],
    "tox_bounds": [2, 2, 3],
}
BRUTE_SCENARIOS = np.array(
    [
        (0.4, 0.3, 1.0),
        (0.4, 0.3, 4.0),
        (0.25, 0.5, 0.2),
        (0.7, 0.6, 3.0),
        (0.55, 0.15, 25.0),
    ]
)


@pytest.mark.parametrize("tox_first", [True, False])
@pytest.mark.parametrize("design", [BRUTE_A, BRUTE_B], ids=["A", "B"])
def test_dp_equals_brute_force_enumeration(design: dict[str, Any], tox_first: bool) -> None:
    p, q, psi = BRUTE_SCENARIOS.T
    out = joint_oc(**design, p=p, q=q, odds_ratio=psi, tox_first=tox_first)
    for s, (ps, qs, psis) in enumerate(BRUTE_SCENARIOS):
        ref = _brute(design, float(ps), float(qs), float(psis), tox_first)
        assert ref["total"] == pytest.approx(1.0, abs=1e-40)
        np.testing.assert_allclose(out["p_toxicity_at"][s], ref["toxicity"], rtol=0, atol=TOL)
        np.testing.assert_allclose(out["p_efficacy_at"][s], ref["efficacy"], rtol=0, atol=TOL)
        np.testing.assert_allclose(out["p_futility_at"][s], ref["futility"], rtol=0, atol=TOL)
        assert out["p_consider"][s] == pytest.approx(ref["consider"][-1], abs=TOL)
        assert out["expected_n"][s] == pytest.approx(ref["expected_n"], abs=TOL)
        assert out["sd_n"][s] ** 2 == pytest.approx(ref["var_n"], abs=TOL)
    total = out["p_toxicity"] + out["p_futility"] + out["p_efficacy"] + out["p_final_fail"]
    np.testing.assert_allclose(total, 1.0, rtol=0, atol=TOL)


def test_brute_force_distinguishes_the_order_at_a_shared_point() -> None:
    """A check on the efficacy look: the two orders differ, so the test above can fail."""
    p, q, psi = 0.7, 0.6, 3.0
    first = joint_oc(**BRUTE_B, p=p, q=q, odds_ratio=psi, tox_first=True)
    after = joint_oc(**BRUTE_B, p=p, q=q, odds_ratio=psi, tox_first=False)
    assert first["p_efficacy_at"][0] < after["p_efficacy_at"][0] - 0.01
    assert first["p_toxicity_at"][1] > after["p_toxicity_at"][1] + 0.01
    # with tox_first=False a check at n_max has no effect: the final analysis ends every trial
    late = joint_oc(**BRUTE_A, p=p, q=q, odds_ratio=psi, tox_first=False)
    assert late["p_toxicity_at"][-1] == 0.0
    assert joint_oc(**BRUTE_A, p=p, q=q, odds_ratio=psi)["p_toxicity_at"][-1] > 0.01


# ---------------------------------------------------------------------------
# Reductions: no toxicity monitoring; toxicity alone
# ---------------------------------------------------------------------------
def _no_tox_variants(n_max: int) -> dict[str, dict[str, Any]]:
    checks = sorted({1, max(1, n_max // 3), n_max // 2 + 1, n_max})
    return {
        "no checks": {"tox_looks": [], "tox_bounds": [], "q": 0.3, "odds_ratio": 2.0},
        "checks that never stop": {
            "tox_looks": checks,
            "tox_bounds": [m + 1 for m in checks],
            "q": 0.9,
            "odds_ratio": 0.3,
        },
        "no toxicity": {
            "tox_looks": checks,
            "tox_bounds": [1] * len(checks),
            "q": 0.0,
            "odds_ratio": 1.0,
        },
    }


@pytest.mark.parametrize("variant", ["no checks", "checks that never stop", "no toxicity"])
@pytest.mark.parametrize("path", SINGLE_COHORT, ids=lambda p: p.stem)
def test_without_toxicity_stops_equals_exact_efficacy_oc(path: Any, variant: str) -> None:
    design = adaptive2.load_design(path)
    if design.toxicity is not None:  # the efficacy engine alone: a design without its monitor
        design = design.replace(toxicity=None)
    n, a, b = design.boundaries().arrays()
    n_max = int(n[-1])
    grid = np.linspace(0.0, 1.0, 21)
    ref = adaptive2.oc(design, list(grid))
    out = joint_oc(n_max, n, a, b, p=grid, **_no_tox_variants(n_max)[variant])
    for name in ("p_efficacy", "p_futility", "p_early_stop", "p_final_fail", "p_consider"):
        np.testing.assert_allclose(out[name], ref[name].values, rtol=0, atol=TOL, err_msg=name)
    stop_at = ref["p_stop_at"].values
    np.testing.assert_allclose(out["p_futility_at"], stop_at[..., 0], rtol=0, atol=TOL)
    np.testing.assert_allclose(out["p_efficacy_at"], stop_at[..., 1], rtol=0, atol=TOL)
    np.testing.assert_allclose(out["p_toxicity"], 0.0, rtol=0, atol=0)
    # N: same distribution over the looks (toxicity checks carry no mass here)
    on_looks = np.isin(out["n_support"], n)
    np.testing.assert_allclose(out["p_n"][:, on_looks], ref["p_n"].values, rtol=0, atol=TOL)
    np.testing.assert_allclose(out["p_n"][:, ~on_looks], 0.0, rtol=0, atol=0)
    np.testing.assert_allclose(
        out["expected_n"], ref["expected_n"].values, rtol=0, atol=TOL * n_max
    )
    # the engine's sd_n is sqrt(E[N²] − E[N]²), which loses ~1e-13 to cancellation, so
    # variances are compared (relative to n_max²); sd_n itself is checked by brute force
    np.testing.assert_allclose(
        out["sd_n"] ** 2, ref["sd_n"].values ** 2, rtol=0, atol=TOL * n_max**2
    )


def _toxicity_only(checks: list[int], bounds: list[int], q: float) -> np.ndarray:
    """P(stop for toxicity at each check) from a binomial DP over the event count alone."""
    dist = np.array([1.0])
    stops = []
    n = 0
    for m, cj in zip(checks, bounds, strict=True):
        step = stats.binom.pmf(np.arange(m - n + 1), m - n, q)
        dist = np.convolve(dist, step)
        stops.append(dist[cj:].sum())
        dist[cj:] = 0.0
        n = m
    return np.array(stops)


# efficacy acts only at the final look; toxicity is checked throughout (and at n_max)
END_ONLY: dict[str, Any] = {
    "n_max": 30,
    "eff_looks": [10, 20, 30],
    "fut_bounds": [-1, -1, 7],
    "eff_bounds": [11, 21, 8],
    "tox_looks": [5, 12, 15, 22, 30],
    "tox_bounds": [3, 4, 5, 6, 8],
}
MARGINAL_P = np.array([0.1, 0.3, 0.45, 0.8])
MARGINAL_Q = np.array([0.05, 0.2, 0.35, 0.5])


@pytest.mark.parametrize("psi", [1.0, 0.3, 5.0])
def test_toxicity_stops_equal_marginal_toxicity_dp(psi: float) -> None:
    """With no efficacy stopping before the end, toxicity stops depend on q alone."""
    out = joint_oc(**END_ONLY, p=MARGINAL_P[:, None], q=MARGINAL_Q[None, :], odds_ratio=psi)
    for j, qj in enumerate(MARGINAL_Q):
        ref = _toxicity_only(END_ONLY["tox_looks"], END_ONLY["tox_bounds"], float(qj))
        for i in range(MARGINAL_P.size):
            np.testing.assert_allclose(out["p_toxicity_at"][i, j], ref, rtol=0, atol=TOL)


def test_independence_gives_product_of_safety_and_efficacy() -> None:
    p, q = MARGINAL_P[:, None], MARGINAL_Q[None, :]
    safe = 1.0 - joint_oc(**END_ONLY, p=p, q=q)["p_toxicity"]
    eff = stats.binom.sf(END_ONLY["eff_bounds"][-1] - 1, END_ONLY["n_max"], p)
    out = joint_oc(**END_ONLY, p=p, q=q, odds_ratio=1.0)
    np.testing.assert_allclose(out["p_efficacy"], safe * eff, rtol=0, atol=TOL)
    # and the product fails under association (responders with more toxicity)
    assoc = joint_oc(**END_ONLY, p=p, q=q, odds_ratio=5.0)
    assert np.abs(assoc["p_efficacy"] - safe * eff).max() > 1e-2


# ---------------------------------------------------------------------------
# Monte Carlo
# ---------------------------------------------------------------------------
MC_DESIGN: dict[str, Any] = {
    "n_max": 20,
    "eff_looks": [8, 14, 20],
    "fut_bounds": [1, 3, 6],
    "eff_bounds": [6, 10, 7],
    "tox_looks": [5, 10, 14, 20],
    "tox_bounds": [3, 4, 5, 6],
}
MC_SCENARIOS = [(0.35, 0.25, 3.0), (0.2, 0.3, 0.4), (0.5, 0.2, 1.0)]
N_SIMS = 200_000


def _simulate(
    design: dict[str, Any], cells: np.ndarray, n_sims: int, seed: np.random.SeedSequence
) -> dict[str, np.ndarray]:
    """Patient-level trials: draw each patient's cell, then walk the decisions."""
    rng = np.random.default_rng(seed)
    n_max = design["n_max"]
    u = rng.random((n_sims, n_max))
    cell = np.searchsorted(np.cumsum(cells)[:-1], u, side="right")  # 0..3
    r = np.cumsum(np.isin(cell, (0, 1)), axis=1)
    t = np.cumsum(np.isin(cell, (0, 2)), axis=1)
    alive = np.ones(n_sims, dtype=bool)
    size = np.full(n_sims, n_max)
    tox = np.zeros(len(design["tox_looks"]))
    fut = np.zeros(len(design["eff_looks"]))
    eff = np.zeros(len(design["eff_looks"]))
    for n in range(1, n_max + 1):
        if n in design["tox_looks"]:  # toxicity first
            j = design["tox_looks"].index(n)
            hit = alive & (t[:, n - 1] >= design["tox_bounds"][j])
            tox[j] = hit.mean()
            size[hit] = n
            alive &= ~hit
        if n in design["eff_looks"]:
            k = design["eff_looks"].index(n)
            low = alive & (r[:, n - 1] <= design["fut_bounds"][k])
            high = alive & (r[:, n - 1] >= design["eff_bounds"][k])
            fut[k], eff[k] = low.mean(), high.mean()
            size[low | high] = n
            alive &= ~(low | high)
    return {
        "p_toxicity_at": tox,
        "p_futility_at": fut,
        "p_efficacy_at": eff,
        "p_consider": np.array(alive.mean()),
        "expected_n": np.array(size.mean()),
        "sd_n": np.array(size.std()),
    }


def test_dp_agrees_with_monte_carlo_within_3_mcse() -> None:
    p, q, psi = np.array(MC_SCENARIOS).T
    out = joint_oc(**MC_DESIGN, p=p, q=q, odds_ratio=psi)
    root = np.random.SeedSequence(20240611)
    for s, seed in enumerate(root.spawn(len(MC_SCENARIOS))):
        cells = cell_probabilities(p[s], q[s], psi[s])
        mc = _simulate(MC_DESIGN, cells, N_SIMS, seed)
        for name in ("p_toxicity_at", "p_futility_at", "p_efficacy_at", "p_consider"):
            exact = np.asarray(out[name][s])
            mcse = np.sqrt(exact * (1.0 - exact) / N_SIMS)
            assert (np.abs(mc[name] - exact) <= 3.0 * mcse).all(), (name, s, mc[name], exact)
        mcse_n = out["sd_n"][s] / np.sqrt(N_SIMS)
        assert abs(mc["expected_n"] - out["expected_n"][s]) <= 3.0 * mcse_n
        assert mc["sd_n"] == pytest.approx(out["sd_n"][s], rel=0.01)


# ---------------------------------------------------------------------------
# Batches
# ---------------------------------------------------------------------------
def test_batch_broadcasts_and_equals_one_scenario_at_a_time(monkeypatch: Any) -> None:
    p = np.array([0.1, 0.4, 0.7])[:, None]
    q = np.array([0.2, 0.5])[None, :]
    out = joint_oc(**MC_DESIGN, p=p, q=q, odds_ratio=2.0)
    assert out["p_efficacy"].shape == (3, 2)
    assert out["p_toxicity_at"].shape == (3, 2, 4)
    assert out["p_efficacy_at"].shape == (3, 2, 3)
    assert out["p_n"].shape == (3, 2, out["n_support"].size)
    assert out["n_support"].tolist() == [5, 8, 10, 14, 20]
    total = out["p_toxicity"] + out["p_futility"] + out["p_efficacy"] + out["p_final_fail"]
    np.testing.assert_allclose(total, 1.0, rtol=0, atol=TOL)
    np.testing.assert_allclose(out["p_n"].sum(axis=-1), 1.0, rtol=0, atol=TOL)
    one = joint_oc(**MC_DESIGN, p=0.4, q=0.5, odds_ratio=2.0)
    assert one["p_efficacy"].shape == ()
    for name, arr in one.items():
        if name != "n_support":
            np.testing.assert_array_equal(out[name][1, 1], arr, err_msg=name)
    monkeypatch.setattr(lattice, "_CHUNK_ELEMENTS", 1)  # one scenario per chunk
    chunked = joint_oc(**MC_DESIGN, p=p, q=q, odds_ratio=2.0)
    for name, arr in out.items():
        np.testing.assert_array_equal(chunked[name], arr, err_msg=name)


def test_stop_tables_act_in_turn_and_batches_change_no_bit(monkeypatch: Any) -> None:
    """The DP under joint_oc: overlapping tables, design batches and chunks."""
    cells = cell_probabilities(np.array([0.2, 0.5, 0.9]), 0.3, 2.0)
    r, t = np.ogrid[:5, :5]
    full = np.ones((5, 5), dtype=bool)
    low_r, high_t = full & (r <= 1), full & (t >= 2)
    one = [np.stack([low_r, high_t, full])[None]]  # (1, 3, 5, 5): futility, toxicity, rest
    turn = lattice.joint_stop_probabilities([4], one, cells)[0][0]
    fut = stats.binom.cdf(1, 4, cells[:, :2].sum(axis=1))
    np.testing.assert_allclose(turn[:, 0], fut, rtol=0, atol=TOL)  # all of r <= 1
    np.testing.assert_allclose(turn.sum(axis=1), 1.0, rtol=0, atol=TOL)
    swapped = lattice.joint_stop_probabilities([4], [one[0][:, [1, 0, 2]]], cells)[0][0]
    assert (swapped[:, 1] < turn[:, 0]).all()  # futility now sees only what toxicity left
    # a batch of designs: each design's and scenario's bits are its own
    designs = [np.stack([full & (r <= k), high_t, full])[None] for k in (-1, 0, 1, 3)]
    batch = lattice.joint_stop_probabilities([4], [np.concatenate(designs)], cells)[0]
    monkeypatch.setattr(lattice, "_CHUNK_ELEMENTS", 1)  # one design and scenario per chunk
    for d, tab in enumerate(designs):
        alone = lattice.joint_stop_probabilities([4], [tab], cells)[0][0]
        np.testing.assert_array_equal(batch[d], alone)
    with pytest.raises(DesignError, match=re.escape("`tables` of joint_stop_probabilities")):
        lattice.joint_stop_probabilities([4], [low_r], cells)
    with pytest.raises(DesignError, match=re.escape("`looks` of joint_stop_probabilities")):
        lattice.joint_stop_probabilities([4, 4], one * 2, cells)


# ---------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------
BASE: dict[str, Any] = {
    "n_max": 10,
    "eff_looks": [5, 10],
    "fut_bounds": [0, 3],
    "eff_bounds": [5, 4],
    "tox_looks": [3, 7],
    "tox_bounds": [2, 3],
    "p": 0.3,
    "q": 0.2,
}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"odds_ratio": 0.0}, "`odds_ratio` of joint_oc must be a finite number > 0; got 0.0."),
        (
            {"odds_ratio": [2.0, -1.0]},
            "`odds_ratio` of joint_oc must be a finite number > 0; got -1.0.",
        ),
        ({"odds_ratio": np.inf}, "`odds_ratio` of joint_oc must be a finite number > 0; got inf."),
        (
            {"odds_ratio": "high"},
            "`odds_ratio` of joint_oc must be a finite number > 0; got 'high'.",
        ),
        ({"p": 1.2}, "`p` of joint_oc must be a probability in [0, 1]; got 1.2."),
        ({"q": np.nan}, "`q` of joint_oc must be a probability in [0, 1]; got nan."),
        (
            {"p": [0.1, 0.2], "q": [0.1, 0.2, 0.3]},
            "`p, q, odds_ratio` of joint_oc must be arrays that broadcast together; "
            "got [(2,), (3,), ()].",
        ),
        ({"n_max": 0}, "`n_max` of joint_oc must be an integer >= 1; got 0."),
        (
            {"eff_looks": [5, 5, 10], "fut_bounds": [0, 0, 3], "eff_bounds": [6, 6, 4]},
            "`eff_looks` of joint_oc must be strictly increasing patient counts; got [5, 5, 10].",
        ),
        (
            {"eff_looks": [5, 9]},
            "`eff_looks` of joint_oc must be patient counts ending at n_max = 10; got [5, 9].",
        ),
        (
            {"eff_looks": [5, 12]},
            "`eff_looks` of joint_oc must be patient counts in [1, n_max = 10]; got [5, 12].",
        ),
        (
            {"tox_looks": [7, 3]},
            "`tox_looks` of joint_oc must be strictly increasing patient counts; got [7, 3].",
        ),
        (
            {"tox_looks": [0, 3]},
            "`tox_looks` of joint_oc must be patient counts in [1, n_max = 10]; got [0, 3].",
        ),
        (
            {"fut_bounds": [0]},
            "`fut_bounds` of joint_oc must be a list of 2 integer(s), one per entry of "
            "eff_looks; got [0].",
        ),
        (
            {"eff_bounds": [5, 4, 3]},
            "`eff_bounds` of joint_oc must be a list of 2 integer(s), one per entry of "
            "eff_looks; got [5, 4, 3].",
        ),
        (
            {"tox_bounds": [2]},
            "`tox_bounds` of joint_oc must be a list of 2 integer(s), one per entry of "
            "tox_looks; got [2].",
        ),
        (
            {"tox_bounds": [2, 9]},
            "`tox_bounds` of joint_oc must be integers in [0, tox_looks[k] + 1]; got [2, 9].",
        ),
        (
            {"fut_bounds": [-2, 3]},
            "`fut_bounds` of joint_oc must be integers in [-1, eff_looks[k]]; got [-2, 3].",
        ),
        (
            {"fut_bounds": [0, 3.5]},
            "`fut_bounds` of joint_oc must be a list of 2 integer(s), one per entry of "
            "eff_looks; got [0, 3.5].",
        ),
        (
            {"eff_bounds": [5, 3]},
            "`eff_bounds` of joint_oc must be greater than fut_bounds at every look (the futility "
            "and efficacy regions must not overlap; fut_bounds = [0, 3]); got [5, 3].",
        ),
        (
            {"eff_looks": []},
            "`eff_looks` of joint_oc must be a non-empty list of integers; got [].",
        ),
        ({"tox_looks": "3, 7"}, "`tox_looks` of joint_oc must be a list of integers; got '3, 7'."),
        ({"tox_first": 1}, "`tox_first` of joint_oc must be True or False; got 1."),
    ],
)
def test_invalid_arguments_name_the_field(change: dict[str, Any], message: str) -> None:
    with pytest.raises(DesignError, match=f"^{re.escape(message)}$"):
        joint_oc(**{**BASE, **change})


def test_cell_errors() -> None:
    with pytest.raises(
        DesignError,
        match=re.escape(
            "`cells` of check_cells must be probabilities >= 0 (within 1e-15); "
            "got [0.5, 0.6, -0.1, 0.0]."
        ),
    ):
        check_cells([0.5, 0.6, -0.1, 0.0])
    with pytest.raises(
        DesignError,
        match=re.escape(
            "`cells` of check_cells must be tables that sum to 1 (within 1e-12); "
            "got [0.5, 0.6, 0.1, 0.0]."
        ),
    ):
        check_cells([[0.25, 0.25, 0.25, 0.25], [0.5, 0.6, 0.1, 0.0]])
    with pytest.raises(
        DesignError, match=re.escape("`cells` of check_cells must be an array of shape (..., 4)")
    ):
        check_cells([0.5, 0.5])
    # rounding below zero is absorbed, and only that
    assert check_cells([0.5, 0.5, -1e-16, 0.0]).tolist() == [0.5, 0.5, 0.0, 0.0]
    with pytest.raises(
        DesignError,
        match=re.escape(
            "`odds_ratio` of cell_probabilities must be a finite number > 0; got -2.0."
        ),
    ):
        cell_probabilities(0.3, 0.2, -2.0)
    with pytest.raises(
        DesignError,
        match=re.escape("`q` of cell_probabilities must be a probability in [0, 1]; got -0.1."),
    ):
        cell_probabilities(0.3, [0.2, -0.1])
