"""Toxicity boundaries and their exact OC: clinfun's printed examples, brute force, mpmath, MC.

Published reference (the one found): the rendered examples of clinfun's ``toxbdry`` help page,
as printed on the package's pkgdown site (https://veseshan.github.io/clinfun/reference/toxbdry.html;
stored copy: github.com/veseshan/clinfun, ``reference/toxbdry.md`` at commit
6a654d9c599cbf6b7600fb7861410caf5fd84479). The four example calls are those of ``man/toxbdry.Rd``
(CRAN clinfun 1.1.5). No table of Ivanova, Qaqish & Schell (2005, Biometrics 61:540-545) itself
could be retrieved: the stored sources give only its abstract.

clinfun prints the *largest acceptable* count r per look ("stop if the number of toxicities exceeds
r"); adaptive2 stores the smallest stopping count c = r + 1. For continuous monitoring it prints
r/n only where r is about to grow ("1/3 2/8" means r = 1 for n <= 3, r = 2 for n = 4..8).
"pcross" is P(stop at any look, the last included), "pstop" P(stop before the last look),
"ess" the expected sample size; all printed with 3 (ess: 1) decimals, so the tolerance is half a
unit of the last printed digit.
"""

from __future__ import annotations

import itertools
from fractions import Fraction

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adaptive2.kernels.toxicity import (
    calibrate_pocock,
    expected_n,
    nominal_levels,
    pocock_boundary,
    posterior_boundary,
    posterior_exceeds,
    stop_probabilities,
)


def expand(printed: list[tuple[int, int]], looks: list[int]) -> list[int]:
    """clinfun's condensed "r/n" list -> stopping counts c = r + 1 at every look."""
    out = []
    for n in looks:
        r = next(r for r, upto in printed if n <= upto)
        out.append(r + 1)
    return out


# (call, looks, ptox grid, low boundary, high boundary, rows: ptox, pcross.lo, pstop.lo, ess.lo,
#  pcross.hi, pstop.hi, ess.hi), transcribed from the printed output.
CLINFUN = {
    "toxbdry(0.2, 0.35, c(20,40,60,75))": dict(
        looks=[20, 40, 60, 75],
        acceptable=0.2,
        cP0=0.10,
        priority="null",
        lo=[(7, 20), (12, 40), (17, 60), (20, 75)],
        hi=[(7, 20), (12, 40), (17, 60), (21, 75)],
        rows=[
            (0.20, 0.101, 0.079, 72.0, 0.088, 0.079, 72.0),
            (0.23, 0.247, 0.188, 68.1, 0.214, 0.188, 68.1),
            (0.26, 0.456, 0.354, 62.1, 0.406, 0.354, 62.1),
            (0.29, 0.672, 0.548, 54.7, 0.619, 0.548, 54.7),
            (0.32, 0.838, 0.727, 47.0, 0.797, 0.727, 47.0),
            (0.35, 0.935, 0.859, 39.9, 0.911, 0.859, 39.9),
        ],
    ),
    "toxbdry(0.2, 0.3, c(20,40,60,75), cP0=0.15, cP1=0.8)": dict(
        looks=[20, 40, 60, 75],
        acceptable=0.2,
        cP0=0.15,
        priority="null",
        lo=[(6, 20), (12, 40), (16, 60), (20, 75)],
        hi=[(7, 20), (12, 40), (16, 60), (20, 75)],
        rows=[
            (0.20, 0.152, 0.140, 69.1, 0.117, 0.103, 71.6),
            (0.22, 0.253, 0.229, 65.7, 0.213, 0.186, 69.0),
            (0.24, 0.381, 0.342, 61.4, 0.341, 0.297, 65.4),
            (0.26, 0.522, 0.469, 56.5, 0.487, 0.427, 61.0),
            (0.28, 0.659, 0.598, 51.2, 0.632, 0.562, 56.1),
            (0.30, 0.777, 0.715, 45.9, 0.758, 0.688, 51.0),
        ],
    ),
    "toxbdry(0.1, 0.3, 2:30)": dict(
        looks=list(range(2, 31)),
        acceptable=0.1,
        cP0=0.10,
        priority="null",
        lo=[(1, 3), (2, 8), (3, 13), (4, 20), (5, 26), (6, 30)],
        hi=[(1, 3), (2, 8), (3, 13), (4, 19), (5, 26), (6, 30)],
        rows=[
            (0.10, 0.100, 0.099, 28.1, 0.097, 0.096, 28.1),
            (0.14, 0.250, 0.245, 25.7, 0.245, 0.239, 25.8),
            (0.18, 0.448, 0.437, 22.4, 0.441, 0.430, 22.5),
            (0.22, 0.644, 0.631, 18.8, 0.638, 0.624, 19.0),
            (0.26, 0.799, 0.786, 15.5, 0.795, 0.781, 15.6),
            (0.30, 0.901, 0.891, 12.6, 0.898, 0.888, 12.7),
        ],
    ),
    'toxbdry(0.1, 0.3, 2:25, priority="alt")': dict(
        looks=list(range(2, 26)),
        acceptable=0.1,
        cP0=0.10,
        priority="alt",  # tuned to P(stop | 0.3) = 0.9: OC checked, calibration not offered
        lo=[(1, 4), (2, 10), (3, 16), (4, 23), (5, 25)],
        hi=[(1, 4), (2, 10), (3, 16), (4, 22), (5, 25)],
        rows=[
            (0.10, 0.146, 0.145, 22.8, 0.140, 0.139, 22.8),
            (0.14, 0.312, 0.310, 20.5, 0.300, 0.296, 20.5),
            (0.18, 0.504, 0.499, 17.8, 0.488, 0.480, 17.8),
            (0.22, 0.679, 0.673, 15.0, 0.663, 0.652, 15.1),
            (0.26, 0.813, 0.807, 12.5, 0.800, 0.790, 12.5),
            (0.30, 0.902, 0.897, 10.3, 0.893, 0.885, 10.3),
        ],
    ),
}
HALF_3DP = 5e-4 + 1e-9
HALF_1DP = 5e-2 + 1e-9


@pytest.mark.parametrize("call", list(CLINFUN))
@pytest.mark.parametrize("which", ["lo", "hi"])
def test_printed_boundaries_have_the_printed_oc(call: str, which: str) -> None:
    ex = CLINFUN[call]
    looks = ex["looks"]
    counts = expand(ex[which], looks)
    rows = np.array(ex["rows"])
    col = 1 if which == "lo" else 4
    at = stop_probabilities(counts, looks, rows[:, 0])
    np.testing.assert_allclose(at.sum(axis=1), rows[:, col], rtol=0, atol=HALF_3DP)
    np.testing.assert_allclose(at[:, :-1].sum(axis=1), rows[:, col + 1], rtol=0, atol=HALF_3DP)
    np.testing.assert_allclose(expected_n(at, looks), rows[:, col + 2], rtol=0, atol=HALF_1DP)


@pytest.mark.parametrize("call", [c for c in CLINFUN if CLINFUN[c]["priority"] == "null"])
def test_calibration_reproduces_the_printed_high_boundary(call: str) -> None:
    """clinfun's "high" boundary: the Pocock-family member with P(stop | pLo) just <= cP0."""
    ex = CLINFUN[call]
    looks = ex["looks"]
    cal = calibrate_pocock(looks, ex["acceptable"], ex["cP0"], shape=0.0)
    assert list(cal.counts) == expand(ex["hi"], looks)
    assert cal.p_stop <= ex["cP0"]
    assert abs(cal.p_stop - ex["rows"][0][4]) <= HALF_3DP
    # its neighbour in the family is clinfun's "low" boundary, which stops too often
    lo = expand(ex["lo"], looks)
    assert sum(h - low for h, low in zip(cal.counts, lo, strict=True)) == 1
    assert stop_probabilities(lo, looks, [ex["acceptable"]]).sum() > ex["cP0"]
    assert list(pocock_boundary(looks, ex["acceptable"], cal.eta)) == list(cal.counts)


# ---------------------------------------------------------------------------
# The DP against brute-force enumeration of all 2^N outcome sequences (exact rationals)
# ---------------------------------------------------------------------------
def brute_force(
    counts: list[int], looks: list[int], rate: Fraction
) -> tuple[list[Fraction], Fraction]:
    """P(first stop at look k) and E[N] by walking every sequence of N = looks[-1] patients."""
    n_max = looks[-1]
    weight = [rate**s * (1 - rate) ** (n_max - s) for s in range(n_max + 1)]
    p_at = [Fraction(0)] * len(looks)
    e_n = Fraction(0)
    for seq in itertools.product((0, 1), repeat=n_max):
        w = weight[sum(seq)]
        stopped_at = n_max
        for k, n in enumerate(looks):
            if sum(seq[:n]) >= counts[k]:
                p_at[k] += w
                stopped_at = n
                break
        e_n += w * stopped_at
    return p_at, e_n


N_BRUTE = 12
BRUTE_CASES = [
    ("group", [3, 5, 8, 12], [2, 3, 4, 5]),
    ("sentinels", [3, 5, 8, 12], [4, 6, 4, 13]),  # no stop at looks 1, 2 and 4
    ("non-monotone", [2, 6, 7, 12], [2, 5, 3, 7]),
    ("stop at once", [4, 12], [0, 3]),
    ("continuous", list(range(1, 13)), [2, 2, 3, 3, 3, 4, 4, 4, 5, 5, 5, 6]),
    ("one look", [12], [5]),
]
RATES = [Fraction(0), Fraction(1, 10), Fraction(1, 4), Fraction(1, 2), Fraction(7, 10), Fraction(1)]


@pytest.mark.parametrize(("name", "looks", "counts"), BRUTE_CASES, ids=[c[0] for c in BRUTE_CASES])
def test_dp_equals_enumeration(name: str, looks: list[int], counts: list[int]) -> None:
    assert looks[-1] == N_BRUTE
    at = stop_probabilities(counts, looks, [float(r) for r in RATES])
    en = expected_n(at, looks)
    for i, rate in enumerate(RATES):
        p_at, e_n = brute_force(counts, looks, rate)
        np.testing.assert_allclose(at[i], [float(p) for p in p_at], rtol=0, atol=1e-12)
        assert abs(en[i] - float(e_n)) <= 1e-12 * N_BRUTE


def test_dp_equals_enumeration_for_calibrated_and_posterior_boundaries() -> None:
    looks = [2, 4, 6, 8, 10, 12]
    cal = calibrate_pocock(looks, 0.15, 0.1)
    post = posterior_boundary(looks, limit=0.3, cutoff=0.85, a=0.5, b=1.5)
    for counts in (list(cal.counts), post.tolist()):
        at = stop_probabilities(counts, looks, [0.15, 0.3])
        for i, rate in enumerate((Fraction(15, 100), Fraction(3, 10))):
            p_at, _ = brute_force(counts, looks, rate)
            np.testing.assert_allclose(at[i], [float(p) for p in p_at], rtol=0, atol=1e-12)
    exact = brute_force(list(cal.counts), looks, Fraction(15, 100))[0]
    assert abs(float(sum(exact)) - cal.p_stop) <= 1e-12
    assert float(sum(exact)) <= 0.1


# ---------------------------------------------------------------------------
# The DP against Monte Carlo (fixed seed, |mc - exact| <= 3 MCSE in every cell)
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("rate", [0.1, 0.25, 0.4])
def test_dp_agrees_with_monte_carlo(rate: float) -> None:
    looks = np.array([3, 6, 10, 15, 20, 25, 30])
    counts = calibrate_pocock(looks, 0.1, 0.1).counts
    n_sims = 100_000
    rng = np.random.default_rng(20240611)
    events = rng.random((n_sims, looks[-1])) < rate
    cum = np.cumsum(events, axis=1)[:, looks - 1]
    crossed = cum >= np.asarray(counts)
    stopped = crossed.any(axis=1)
    first = np.where(stopped, crossed.argmax(axis=1), -1)
    mc_at = np.array([(first == k).mean() for k in range(looks.size)])
    n_eval = np.where(stopped, looks[np.maximum(first, 0)], looks[-1])

    exact = stop_probabilities(counts, looks, [rate])[0]
    se = np.sqrt(exact * (1 - exact) / n_sims)
    assert np.all(np.abs(mc_at - exact) <= 3 * se + 1e-12)
    total = exact.sum()
    assert abs(stopped.mean() - total) <= 3 * np.sqrt(total * (1 - total) / n_sims)
    en = expected_n(exact, looks)
    assert abs(n_eval.mean() - en) <= 3 * n_eval.std(ddof=1) / np.sqrt(n_sims)


# ---------------------------------------------------------------------------
# Posterior rule against mpmath
# ---------------------------------------------------------------------------
def mp_exceeds(limit: float, x: int, n: int, a: float, b: float) -> mp.mpf:
    """P(rate > limit | x of n), the Beta(a + x, b + n - x) upper tail as a mirrored lower tail."""
    with mp.workdps(40):
        return mp.betainc(b + n - x, a + x, 0, 1 - mp.mpf(limit), regularized=True)


POSTERIOR_CASES = [
    (1.0, 1.0, 0.3, 0.9),
    (0.5, 4.5, 0.2, 0.8),
    (0.3, 0.7, 0.33, 0.95),
    (2.0, 8.0, 0.25, 0.85),
    (0.5, 0.5, 0.4, 0.975),
]


@pytest.mark.parametrize(("a", "b", "limit", "cutoff"), POSTERIOR_CASES)
def test_posterior_boundary_equals_mpmath(a: float, b: float, limit: float, cutoff: float) -> None:
    looks = list(range(1, 41))
    got = posterior_boundary(looks, limit, cutoff, a, b)
    want = []
    for n in looks:
        tails = [mp_exceeds(limit, x, n, a, b) for x in range(n + 1)]
        # no tail within 1e-10 of the cutoff: the comparison is not a rounding tie
        assert min(abs(t - cutoff) for t in tails) > 1e-10
        want.append(next((x for x, t in enumerate(tails) if t > cutoff), n + 1))
    assert got.tolist() == want


@pytest.mark.parametrize(("a", "b", "limit", "cutoff"), POSTERIOR_CASES)
def test_posterior_tail_equals_mpmath(a: float, b: float, limit: float, cutoff: float) -> None:
    n = 25
    x = np.arange(n + 1)
    got = posterior_exceeds(x, n, limit, a, b)
    want = np.array([float(mp_exceeds(limit, int(k), n, a, b)) for k in x])
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


def test_posterior_tie_is_not_a_stop_whatever_the_rounding() -> None:
    """P(rate > 0.5 | 1 of 1, uniform prior) = 1 - 0.5^2 = 0.75 exactly: a tie with cutoff 0.75."""
    assert float(mp_exceeds(0.5, 1, 1, 1.0, 1.0)) == 0.75
    for cutoff in (0.75, np.nextafter(0.75, 0), np.nextafter(0.75, 1), 0.75 - 1e-13, 0.75 + 1e-9):
        assert posterior_boundary([1], 0.5, float(cutoff), 1.0, 1.0).tolist() == [2]
    # a change larger than the tolerance does flip it
    assert posterior_boundary([1], 0.5, 0.75 - 1e-9, 1.0, 1.0).tolist() == [1]


@pytest.mark.parametrize(("x", "n"), [(4, 10), (7, 30), (2, 3)])
def test_posterior_tie_at_a_computed_cutoff(x: int, n: int) -> None:
    """Cutoff set to the tail at x (from mpmath or from scipy): x does not stop, x + 1 does."""
    a, b, limit = 0.5, 1.5, 0.25
    for cutoff in (
        float(mp_exceeds(limit, x, n, a, b)),
        float(posterior_exceeds(x, n, limit, a, b)),
    ):
        for c in (cutoff, cutoff + 1e-13, cutoff - 1e-13, cutoff + 1e-9):
            assert posterior_boundary([n], limit, c, a, b).tolist() == [x + 1]
        assert posterior_boundary([n], limit, cutoff - 1e-9, a, b).tolist() == [x]


# ---------------------------------------------------------------------------
# Monotonicity and the Pocock family
# ---------------------------------------------------------------------------
@settings(max_examples=40, deadline=None)
@given(
    a=st.floats(0.1, 5.0),
    b=st.floats(0.1, 20.0),
    limit=st.floats(0.05, 0.6),
    cutoff=st.floats(0.5, 0.99),
    n_max=st.integers(1, 60),
)
def test_posterior_boundaries_non_decreasing_in_n(
    a: float, b: float, limit: float, cutoff: float, n_max: int
) -> None:
    c = posterior_boundary(list(range(1, n_max + 1)), limit, cutoff, a, b)
    steps = np.diff(c)
    assert np.all((steps >= 0) & (steps <= 1))  # one more patient moves it by 0 or 1


@settings(max_examples=40, deadline=None)
@given(acceptable=st.floats(0.02, 0.5), eta=st.floats(1e-6, 0.5), n_max=st.integers(1, 80))
def test_pocock_boundaries_non_decreasing_in_n(acceptable: float, eta: float, n_max: int) -> None:
    c = pocock_boundary(list(range(1, n_max + 1)), acceptable, eta, shape=0.0)
    assert np.all(np.diff(c) >= 0)
    assert np.all((c >= 1) & (c <= np.arange(2, n_max + 2)))  # 1 <= c_n <= n + 1


@pytest.mark.parametrize("shape", [0.0, 0.1, 0.25, 0.5])
def test_family_shrinks_and_stops_more_as_the_level_grows(shape: float) -> None:
    looks = [5, 10, 15, 20, 25, 30]
    etas = np.geomspace(1e-5, 0.9, 60)
    counts = np.array([pocock_boundary(looks, 0.15, e, shape) for e in etas])
    assert np.all(np.diff(counts, axis=0) <= 0)
    p = np.array([stop_probabilities(c, looks, [0.15]).sum() for c in counts])
    assert np.all(np.diff(p) >= -1e-15)


def test_nominal_levels_shape() -> None:
    looks = [10, 20, 40]
    np.testing.assert_array_equal(nominal_levels(0.05, looks, 0.0), [0.05, 0.05, 0.05])
    obf = nominal_levels(0.05, looks, 0.5)
    assert obf[-1] == 0.05 and np.all(np.diff(obf) > 0)  # smaller levels early
    # Φ⁻¹(level_k) t_k^shape is the same at every look
    z = np.array([float(mp.sqrt(2) * mp.erfinv(2 * mp.mpf(float(v)) - 1)) for v in obf])
    t = np.array(looks) / looks[-1]
    np.testing.assert_allclose(z * t**0.5, z[-1], rtol=1e-9)


@pytest.mark.parametrize(
    "boundary",
    [
        [2, 3, 4, 5, 6],
        [1, 3, 6, 9, 11],
        [11, 11, 3, 7, 26],  # sentinels early
    ],
)
def test_p_stop_increases_with_the_rate(boundary: list[int]) -> None:
    looks = [5, 10, 15, 20, 25]
    rates = np.linspace(0.0, 1.0, 101)
    p = stop_probabilities(boundary, looks, rates).sum(axis=1)
    assert p[0] == 0.0 and abs(p[-1] - 1.0) <= 1e-15
    assert np.all(np.diff(p) >= -1e-15)
    assert np.all(np.diff(p[1:60]) > 0)
    en = expected_n(stop_probabilities(boundary, looks, rates), looks)
    assert np.all(np.diff(en) <= 1e-12)  # more toxic: stops sooner


@settings(max_examples=25, deadline=None)
@given(
    acceptable=st.floats(0.03, 0.4),
    target=st.floats(0.02, 0.3),
    looks=st.lists(st.integers(1, 40), min_size=1, max_size=8, unique=True).map(sorted),
)
def test_calibration_is_the_largest_member_not_above_target(
    acceptable: float, target: float, looks: list[int]
) -> None:
    """Independent of the bisection: the family only changes at the binomial tail values.

    With shape 0, b_k drops from c_k - 1 to c_k - 2 exactly when the level reaches
    P(Bin(n_k, p) > c_k - 2); the next member of the family is at the smallest of those levels.
    """
    from scipy import stats

    cal = calibrate_pocock(looks, acceptable, target)
    counts = np.array(cal.counts)
    assert cal.p_stop <= target
    assert abs(stop_probabilities(counts, looks, [acceptable]).sum() - cal.p_stop) <= 1e-15
    jumps = [
        float(stats.binom.sf(c - 2, n, acceptable))
        for c, n in zip(counts, looks, strict=True)
        if c >= 2
    ]
    if not jumps:  # already stops at the first event everywhere
        assert np.all(counts == 1)
        return
    nxt = min(jumps)
    assert pocock_boundary(looks, acceptable, nxt * (1 - 1e-9)).tolist() == counts.tolist()
    bigger = pocock_boundary(looks, acceptable, nxt)
    assert stop_probabilities(bigger, looks, [acceptable]).sum() > target


def test_calibration_when_any_first_event_is_acceptable() -> None:
    cal = calibrate_pocock([1, 2, 3], acceptable=0.01, target=0.2)
    assert cal.counts == (1, 1, 1)
    assert cal.eta == 1.0
    assert abs(cal.p_stop - (1 - 0.99**3)) <= 1e-15


def test_expected_n_broadcasts() -> None:
    at = np.zeros((2, 3, 4))
    at[..., 1] = 0.5
    np.testing.assert_array_equal(expected_n(at, [1, 2, 3, 4]), np.full((2, 3), 3.0))


@pytest.mark.parametrize(
    ("counts", "looks"), [([1, 2], [5]), ([1, 2], [5, 5]), ([1, 2], [6, 5]), ([], [])]
)
def test_stop_probabilities_refuses_mismatched_or_unordered_looks(
    counts: list[int], looks: list[int]
) -> None:
    with pytest.raises(ValueError, match="strictly increasing"):
        stop_probabilities(counts, looks, [0.2])
