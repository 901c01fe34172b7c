"""Decision rules: posterior and predictive probabilities against mpmath, value-object checks."""

from __future__ import annotations

import dataclasses
import math
import pickle

import mpmath as mp
import numpy as np
import pytest

from adaptive2._base.errors import DesignError
from adaptive2.model.priors import Beta, BetaMixture
from adaptive2.model.rules import (
    BOP2,
    Boundary,
    DualCriterion,
    Look,
    PosteriorProbability,
    PredictiveProbability,
    posterior_prob_exceeds,
    predictive_success,
)


@pytest.fixture(autouse=True, scope="module")
def _mp_precision():
    """mpmath works at 30 digits in this module (local, never a global side effect)."""
    with mp.workdps(30):
        yield


# ---------------------------------------------------------------------------
# mpmath references
# ---------------------------------------------------------------------------
def mp_post_weights(prior, r: int, n: int) -> list[tuple[mp.mpf, float, float]]:
    """Posterior mixture as (weight, a, b) with weights from beta-function ratios."""
    mix = prior.as_mixture()
    raw = [
        (mp.mpf(w) * mp.beta(a + r, b + n - r) / mp.beta(a, b), a + r, b + n - r)
        for w, a, b in zip(mix.weights, mix.a, mix.b, strict=True)
    ]
    total = mp.fsum(x[0] for x in raw)
    return [(w / total, a, b) for w, a, b in raw]


def mp_upper(a, b, x) -> mp.mpf:
    """P(X > x) for X ~ Beta(a, b), as the mirrored lower tail P(1 - X < 1 - x).

    mpmath's betainc(a, b, x, 1) subtracts two large integrals and cancels
    catastrophically for tails below ~10^-dps; the lower tail has no such problem.
    """
    return mp.betainc(b, a, 0, 1 - mp.mpf(x), regularized=True)


def mp_exceeds(prior, r: int, n: int, t: float) -> mp.mpf:
    return mp.fsum(w * mp_upper(a, b, t) for w, a, b in mp_post_weights(prior, r, n))


def mp_exceeds_uncertain(prior, r: int, n: int, ps: Beta, delta: float = 0.0) -> mp.mpf:
    """P(p > p_S + delta | data), p_S ~ ps independent of p: iterated integral over (p_S, p).

    The inner integral over p is the regularised incomplete beta function of the
    posterior; the outer one over p_S is done by tanh-sinh quadrature.
    """
    post = mp_post_weights(prior, r, n)
    norm = mp.beta(ps.a, ps.b)

    def outer(y):
        dens = y ** (ps.a - 1) * (1 - y) ** (ps.b - 1) / norm
        inner = mp.fsum(
            w * mp_upper(a, b, y + delta) for w, a, b in post
        )
        return dens * inner

    top = 1 - mp.mpf(delta)
    mode = mp.mpf(ps.a - 1) / (ps.a + ps.b - 2) if ps.a > 1 and ps.b > 1 else mp.mpf("0.5")
    pts = sorted({mp.mpf(0), min(mode, top / 2), top})
    return mp.quad(outer, pts)


def mp_betabinom(k: int, m: int, a, b) -> mp.mpf:
    return mp.binomial(m, k) * mp.beta(a + k, b + m - k) / mp.beta(a, b)


def rel_close(got: float, want, rel: float) -> bool:
    want = mp.mpf(want)
    if want == 0:
        return got == 0.0
    return float(abs(mp.mpf(got) - want) / abs(want)) < rel


PRIORS = [
    Beta(1, 1),
    Beta(0.6, 0.4),
    Beta(16.5, 4.5),
    BetaMixture((0.8, 0.2), (16.5, 1.0), (4.5, 1.0)),
    BetaMixture((0.5, 0.5), (2.0, 9.0), (8.0, 3.0)),
]


# ---------------------------------------------------------------------------
# posterior_prob_exceeds
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("prior", PRIORS, ids=str)
@pytest.mark.parametrize(("n", "t"), [(10, 0.2), (20, 0.4), (30, 0.6), (40, 0.1), (25, 0.9)])
def test_posterior_prob_exceeds_matches_mpmath(prior, n: int, t: float) -> None:
    r = np.arange(n + 1)
    got = posterior_prob_exceeds(prior, r, n, t)
    assert got.shape == r.shape
    for rr in range(n + 1):
        want = mp_exceeds(prior, rr, n, t)
        if want > mp.mpf("1e-290"):
            assert rel_close(float(got[rr]), want, 1e-10), (rr, float(got[rr]), want)
    assert np.all(np.diff(got) >= -1e-14)  # non-decreasing in r (up to rounding near 1)


def test_posterior_prob_exceeds_scalar_and_trivial_thresholds() -> None:
    got = posterior_prob_exceeds(Beta(0.5, 0.5), 16, 20, 0.4)
    assert float(got) == pytest.approx(float(mp_exceeds(Beta(0.5, 0.5), 16, 20, 0.4)), rel=1e-12)
    r = np.arange(6)
    np.testing.assert_array_equal(posterior_prob_exceeds(Beta(1, 1), r, 5, 0.0), np.ones(6))
    np.testing.assert_array_equal(posterior_prob_exceeds(Beta(1, 1), r, 5, 1.0), np.zeros(6))


@pytest.mark.parametrize(
    ("prior", "ps", "r", "n"),
    [
        (Beta(0.6, 1.4), Beta(15, 35), 5, 20),
        (Beta(0.6, 1.4), Beta(15, 35), 10, 20),
        (Beta(0.6, 1.4), Beta(15, 35), 1, 12),
        (Beta(1, 1), Beta(20, 80), 4, 15),
        (BetaMixture((0.7, 0.3), (8.0, 1.0), (12.0, 1.0)), Beta(12, 28), 9, 25),
    ],
    ids=str,
)
def test_uncertain_reference_rate_against_iterated_integral(prior, ps, r, n) -> None:
    """Thall & Simon (1994): P(p_E > p_S | data) with p_S ~ Beta a priori."""
    got = posterior_prob_exceeds(prior, [r], n, ps)
    want = mp_exceeds_uncertain(prior, r, n, ps)
    assert float(got[0]) == pytest.approx(float(want), rel=1e-8, abs=1e-12)
    # it differs from plugging in the mean of p_S (the uncertainty matters)
    plug = posterior_prob_exceeds(prior, [r], n, ps.mean)
    assert abs(float(plug[0]) - float(want)) > 1e-6


@pytest.mark.parametrize(("r", "delta"), [(6, 0.05), (12, 0.15), (3, 0.1)])
def test_uncertain_reference_rate_with_margin(r: int, delta: float) -> None:
    prior, ps, n = Beta(0.6, 1.4), Beta(15, 35), 25
    rule = PosteriorProbability(p0=ps, cutoff=0.9, delta=delta)
    look = Look(index=0, n=n, n_max=40, prior=prior, final_success_min_r=41)
    got = rule.statistic(look, np.array([r]))
    want = mp_exceeds_uncertain(prior, r, n, ps, delta)
    assert float(got[0]) == pytest.approx(float(want), rel=1e-8, abs=1e-12)


def test_fixed_reference_with_margin_is_shifted_threshold() -> None:
    prior, n = Beta(1, 1), 30
    rule = PosteriorProbability(p0=0.2, cutoff=0.9, delta=0.15)
    look = Look(index=0, n=n, n_max=n, prior=prior, final_success_min_r=n + 1)
    r = np.arange(n + 1)
    got = rule.statistic(look, r)
    for rr in (0, 5, 10, 20, 30):
        assert rel_close(float(got[rr]), mp_exceeds(prior, rr, n, 0.35), 1e-10)


# ---------------------------------------------------------------------------
# predictive_success
# ---------------------------------------------------------------------------
def mp_predictive(prior, r: int, n: int, n_max: int, success) -> mp.mpf:
    """Sum of posterior-predictive beta-binomial masses over future x with success(r + x)."""
    m = n_max - n
    total = mp.mpf(0)
    for w, a, b in mp_post_weights(prior, r, n):
        for x in range(m + 1):
            if success(r + x):
                total += w * mp_betabinom(x, m, a, b)
    return total


@pytest.mark.parametrize("prior", PRIORS, ids=str)
@pytest.mark.parametrize(("n", "n_max", "s"), [(23, 40, 28), (10, 30, 12), (5, 12, 7), (15, 20, 0)])
def test_predictive_success_brute_force(prior, n: int, n_max: int, s: int) -> None:
    r = np.arange(n + 1)
    got = predictive_success(prior, r, n, n_max, s)
    assert got.shape == r.shape
    for rr in range(n + 1):
        want = mp_predictive(prior, rr, n, n_max, lambda total, s=s: total >= s)
        assert float(got[rr]) == pytest.approx(float(want), rel=1e-10, abs=1e-14), rr
    assert np.all(np.diff(got) >= -1e-15)


def test_predictive_success_unreachable_and_certain() -> None:
    # s beyond r + (n_max - n): impossible; s <= r: certain
    got = predictive_success(Beta(1, 1), np.arange(11), 10, 20, 25)
    np.testing.assert_array_equal(got[:5], np.zeros(5))
    got = predictive_success(Beta(1, 1), np.arange(11), 10, 20, 3)
    np.testing.assert_array_equal(got[3:], np.ones(8))


def test_predictive_probability_rule_uses_final_posterior_rule() -> None:
    """Lee & Liu's PP from the definition: sum over future x of 1[P(p > p0 | r + x, N) > θ_T]."""
    prior, n, n_max, p0, theta_t = Beta(0.6, 0.4), 23, 40, 0.6, 0.9
    s = next(k for k in range(n_max + 1) if mp_exceeds(prior, k, n_max, p0) > theta_t)
    look = Look(index=0, n=n, n_max=n_max, prior=prior, final_success_min_r=s)
    pp = PredictiveProbability(threshold=0.1).statistic(look, np.arange(n + 1))
    for r in range(n + 1):
        want = mp_predictive(
            prior, r, n, n_max, lambda tot: mp_exceeds(prior, tot, n_max, p0) > theta_t
        )
        assert float(pp[r]) == pytest.approx(float(want), rel=1e-10, abs=1e-14)


def test_predictive_rule_is_refused_as_final_rule() -> None:
    look = Look(index=0, n=10, n_max=10, prior=Beta(1, 1), final_success_min_r=5)
    with pytest.raises(DesignError, match="`final`"):
        PredictiveProbability(threshold=0.1).evaluate("final", look)


def test_bop2_slot_needs_its_exponent() -> None:
    look = Look(index=0, n=10, n_max=20, prior=Beta(0.2, 0.8), final_success_min_r=8)
    with pytest.raises(DesignError, match="`gamma`"):
        BOP2(p0=0.2, lambda_=0.9).evaluate("futility", look)
    with pytest.raises(DesignError, match="`eta`"):
        BOP2(p0=0.2, lambda_=0.9).evaluate("efficacy", look)


def test_bop2_cutoffs_follow_information_fraction() -> None:
    prior, p0, lam, gam, eta, n, n_max = Beta(0.2, 0.8), 0.2, 0.9, 1.5, 0.7, 15, 40
    rule = BOP2(p0=p0, lambda_=lam, gamma=gam, eta=eta)
    look = Look(index=0, n=n, n_max=n_max, prior=prior, final_success_min_r=12)
    t = n / n_max
    stat = [mp_exceeds(prior, r, n, p0) for r in range(n + 1)]
    fut = rule.evaluate("futility", look)
    eff = rule.evaluate("efficacy", look)
    fin = rule.evaluate("final", look)
    for r in range(n + 1):
        assert bool(fut[r]) == bool(stat[r] < lam * t**gam)
        assert bool(eff[r]) == bool(stat[r] >= 1 - (1 - lam) * t**eta)
        assert bool(fin[r]) == bool(stat[r] > lam)


def test_dual_criterion_regions() -> None:
    prior, n = Beta(1, 1), 20
    rule = DualCriterion(lrv=0.3, tv=0.5, lrv_cutoff=0.9, tv_cutoff=0.5)
    look = Look(index=0, n=n, n_max=n, prior=prior, final_success_min_r=n + 1)
    go = rule.evaluate("final", look)
    nogo = rule.no_go(look)
    stat = rule.statistic(look, np.arange(n + 1))
    for r in range(n + 1):
        sig = mp_exceeds(prior, r, n, 0.3) > 0.9
        rel = mp_exceeds(prior, r, n, 0.5) > 0.5
        assert bool(go[r]) == (sig and rel)
        assert bool(nogo[r]) == (not sig and not rel)
        assert int(stat[r]) == int(sig) + int(rel)
    np.testing.assert_array_equal(rule.evaluate("futility", look), nogo)


# ---------------------------------------------------------------------------
# Value-object behaviour of every rule class
# ---------------------------------------------------------------------------
RULES = [
    PosteriorProbability(p0=0.2, cutoff=0.9),
    PosteriorProbability(p0=Beta(15, 35), cutoff=0.95, delta=0.05),
    PredictiveProbability(threshold=0.05),
    BOP2(p0=0.2, lambda_=0.9, gamma=1.0, eta=0.5),
    Boundary(r=(1, 4)),
    DualCriterion(lrv=0.3, tv=0.5, lrv_cutoff=0.9, tv_cutoff=0.5),
]


@pytest.mark.parametrize("rule", RULES, ids=repr)
def test_rule_is_frozen(rule) -> None:
    name = dataclasses.fields(rule)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(rule, name, getattr(rule, name))
    with pytest.raises((AttributeError, TypeError)):
        rule.not_a_field = 1  # slots: no new attributes


@pytest.mark.parametrize("rule", RULES, ids=repr)
def test_rule_is_hashable_and_picklable(rule) -> None:
    twin = dataclasses.replace(rule)
    assert twin == rule and twin is not rule
    assert hash(twin) == hash(rule)
    assert len({rule, twin}) == 1
    back = pickle.loads(pickle.dumps(rule))
    assert back == rule
    assert hash(back) == hash(rule)
    assert type(back) is type(rule)


def test_rule_replace_revalidates() -> None:
    rule = PosteriorProbability(p0=0.2, cutoff=0.9)
    assert rule.replace(cutoff=0.95).cutoff == 0.95
    with pytest.raises(DesignError, match="`cutoff`"):
        rule.replace(cutoff=1.5)


_NAN = float("nan")
_INF = float("inf")

BAD_FIELDS = [
    # (class, valid kwargs, field, bad value, name in the message)
    *[
        (PosteriorProbability, {"p0": 0.2, "cutoff": 0.9}, "p0", v, "p0")
        for v in (0.0, 1.0, 1.5, -0.1, _NAN, "0.2", None, BetaMixture((1.0,), (1,), (1,)))
    ],
    *[
        (PosteriorProbability, {"p0": 0.2, "cutoff": 0.9}, "cutoff", v, "cutoff")
        for v in (0.0, 1.0, 1.2, -0.5, _NAN, None, "0.9", True)
    ],
    *[
        (PosteriorProbability, {"p0": 0.2, "cutoff": 0.9}, "delta", v, "delta")
        for v in (-0.1, 1.0, _NAN, _INF, 0.8)  # 0.8: p0 + delta >= 1
    ],
    *[
        (PredictiveProbability, {"threshold": 0.1}, "threshold", v, "threshold")
        for v in (0.0, 1.0, -1.0, 2.0, _NAN, "x", None)
    ],
    *[
        (BOP2, {"p0": 0.2, "lambda_": 0.9, "gamma": 1.0}, "p0", v, "p0")
        for v in (0.0, 1.2, _NAN, "a")
    ],
    *[
        (BOP2, {"p0": 0.2, "lambda_": 0.9, "gamma": 1.0}, "lambda_", v, "lambda_?")
        for v in (0.0, 1.0, 1.5, _NAN, None)
    ],
    *[
        (BOP2, {"p0": 0.2, "lambda_": 0.9, "gamma": 1.0}, "gamma", v, "gamma")
        for v in (0.0, -1.0, _NAN, _INF, "1")
    ],
    *[
        (BOP2, {"p0": 0.2, "lambda_": 0.9, "eta": 1.0}, "eta", v, "eta")
        for v in (0.0, -0.5, _NAN, _INF)
    ],
    *[
        (Boundary, {"r": (1, 2)}, "r", v, "r")
        for v in ((-2,), ("a",), (1.5,), "12", 3.5, None, (True,), (1, -5))
    ],
    *[
        (DualCriterion, {"lrv": 0.3, "tv": 0.5}, field, v, field)
        for field in ("lrv", "tv", "lrv_cutoff", "tv_cutoff")
        for v in (0.0, 1.0, 1.5, _NAN)
    ],
    (DualCriterion, {"lrv": 0.3, "tv": 0.5}, "tv", 0.3, "tv"),  # tv must exceed lrv
    (DualCriterion, {"lrv": 0.3, "tv": 0.5}, "tv", 0.2, "tv"),
]


@pytest.mark.parametrize(
    ("cls", "valid", "field", "bad", "name"),
    BAD_FIELDS,
    ids=[f"{c.__name__}.{f}={b!r}" for c, _, f, b, _ in BAD_FIELDS],
)
def test_rule_field_rejects_bad_value(cls, valid: dict, field: str, bad, name: str) -> None:
    cls(**valid)  # the baseline is valid
    with pytest.raises(DesignError, match=f"`{name}` of {cls.__name__}"):
        cls(**{**valid, field: bad})


def test_boundary_accepts_a_single_integer() -> None:
    assert Boundary(r=3).r == (3,)
    assert Boundary(r=[np.int64(2), 5]).r == (2, 5)


@pytest.mark.parametrize(
    ("rule", "slot", "numbers"),
    [
        (PosteriorProbability(p0=0.2, cutoff=0.9), "final", ["0.2", "0.9"]),
        (PosteriorProbability(p0=0.2, cutoff=0.05), "futility", ["0.2", "0.05", "<="]),
        (PosteriorProbability(p0=0.25, cutoff=0.975, delta=0.1), "efficacy", ["0.35", "0.975"]),
        (PosteriorProbability(p0=Beta(15, 35), cutoff=0.95), "final", ["15", "35", "0.95"]),
        (PredictiveProbability(threshold=0.05), "futility", ["0.05", "<"]),
        (PredictiveProbability(threshold=0.95), "efficacy", ["0.95", ">"]),
        (BOP2(p0=0.2, lambda_=0.909, gamma=1.5), "futility", ["0.2", "0.909", "1.5"]),
        (BOP2(p0=0.2, lambda_=0.9, eta=0.7), "efficacy", ["0.2", "0.1", "0.7"]),
        (BOP2(p0=0.2, lambda_=0.9), "final", ["0.2", "0.9"]),
        (Boundary(r=(3, 7)), "futility", ["3", "7"]),
        (Boundary(r=(11,)), "final", ["11"]),
        (DualCriterion(lrv=0.35, tv=0.55, lrv_cutoff=0.8, tv_cutoff=0.6), "final",
         ["0.35", "0.55", "0.8", "0.6"]),
    ],
)
def test_describe_contains_the_numbers(rule, slot: str, numbers: list[str]) -> None:
    text = rule.describe(slot)
    for num in numbers:
        assert num in text, (num, text)
    assert str(rule)  # printing never fails


def test_rules_see_only_data_and_prior() -> None:
    """The same rule gives the same statistic for the same (prior, r, n) whatever the look index."""
    rule = PosteriorProbability(p0=0.3, cutoff=0.8)
    a = Look(index=0, n=12, n_max=30, prior=Beta(1, 1), final_success_min_r=14)
    b = Look(index=2, n=12, n_max=50, prior=Beta(1, 1), final_success_min_r=20)
    r = np.arange(13)
    np.testing.assert_array_equal(rule.statistic(a, r), rule.statistic(b, r))
    assert not math.isnan(float(rule.statistic(a, np.arange(13)).sum()))
