"""Priors: distribution functions, conjugate updating, builders, ESS and conflict.

References are computed independently: scipy.stats.beta and mpmath at 30 digits
(incomplete beta functions, quadrature, beta-binomial sums).
"""

from __future__ import annotations

import math
import warnings

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from adaptive2._base.errors import DesignError
from adaptive2.model.priors import (
    Beta,
    BetaMixture,
    conflict,
    ess,
    ess_table,
    power_prior,
    prior_predictive_p,
    robustify,
)


@pytest.fixture(autouse=True, scope="module")
def _mp_precision():
    """mpmath works at 30 digits in this module (local, never a global side effect)."""
    with mp.workdps(30):
        yield

# Shapes used throughout: informative, Jeffreys, U-shaped, skewed, large.
BETAS = [
    (16.5, 4.5),
    (0.5, 0.5),
    (0.3, 0.7),
    (2.0, 30.0),
    (30.0, 2.0),
    (1.0, 1.0),
    (100.0, 200.0),
    (0.6, 0.4),
]

MIXTURES = [
    BetaMixture((0.8, 0.2), (16.5, 1.0), (4.5, 1.0)),
    BetaMixture((0.5, 0.3, 0.2), (2.0, 8.0, 0.5), (6.0, 3.0, 0.5)),
    BetaMixture((0.6, 0.4), (12.0, 3.0), (3.0, 12.0)),
]


# ---------------------------------------------------------------------------
# mpmath references
# ---------------------------------------------------------------------------
def mp_cdf(a: float, b: float, x: float) -> mp.mpf:
    return mp.betainc(a, b, 0, x, regularized=True)


def mp_sf(a: float, b: float, x: float) -> mp.mpf:
    # Upper tail as the mirrored lower tail: mpmath's betainc(a, b, x, 1) subtracts
    # two complete-looking integrals and cancels catastrophically for tiny tails.
    return mp.betainc(b, a, 0, 1 - mp.mpf(x), regularized=True)


def mp_pdf(a: float, b: float, x: float) -> mp.mpf:
    x = mp.mpf(x)
    return x ** (a - 1) * (1 - x) ** (b - 1) / mp.beta(a, b)


def mp_mix(fun, mix: BetaMixture, x: float) -> mp.mpf:
    return mp.fsum(
        mp.mpf(w) * fun(a, b, x) for w, a, b in zip(mix.weights, mix.a, mix.b, strict=True)
    )


def mp_betabinom(k: int, m: int, a: float, b: float) -> mp.mpf:
    return mp.binomial(m, k) * mp.beta(a + k, b + m - k) / mp.beta(a, b)


def mp_bisect(f, lo: float = 0.0, hi: float = 1.0, steps: int = 200) -> mp.mpf:
    """Root of an increasing function on [lo, hi] by bisection (robust in the tails)."""
    lo, hi = mp.mpf(lo), mp.mpf(hi)
    for _ in range(steps):
        mid = (lo + hi) / 2
        if f(mid) > 0:
            hi = mid
        else:
            lo = mid
    return (lo + hi) / 2


def rel_err(got: float, ref) -> float:
    ref = mp.mpf(ref)
    return float(abs(mp.mpf(got) - ref) / abs(ref))


# ---------------------------------------------------------------------------
# Beta: pdf, cdf, sf, ppf
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(("a", "b"), BETAS)
def test_beta_matches_scipy(a: float, b: float) -> None:
    prior = Beta(a, b)
    ref = stats.beta(a, b)
    x = np.array([1e-6, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 1 - 1e-6])
    np.testing.assert_allclose(prior.pdf(x), ref.pdf(x), rtol=1e-12, atol=0)
    np.testing.assert_allclose(prior.cdf(x), ref.cdf(x), rtol=1e-12, atol=0)
    np.testing.assert_allclose(prior.sf(x), ref.sf(x), rtol=1e-12, atol=0)
    q = np.array([1e-9, 0.001, 0.025, 0.5, 0.975, 0.999])
    np.testing.assert_allclose(prior.ppf(q), ref.ppf(q), rtol=1e-10, atol=0)


@pytest.mark.parametrize(("a", "b"), BETAS)
def test_beta_moments_closed_form(a: float, b: float) -> None:
    prior = Beta(a, b)
    assert prior.mean == pytest.approx(a / (a + b), rel=1e-14)
    assert prior.var == pytest.approx(a * b / ((a + b) ** 2 * (a + b + 1)), rel=1e-12)
    assert prior.sd == pytest.approx(math.sqrt(prior.var), rel=1e-14)


@pytest.mark.parametrize(("a", "b"), BETAS)
@pytest.mark.parametrize("tail", [1e-3, 1e-6, 1e-9, 1e-12])
def test_beta_tails_match_mpmath(a: float, b: float, tail: float) -> None:
    """cdf in the lower tail and sf in the upper tail to 1e-12 relative accuracy."""
    x_lo = float(mp_bisect(lambda z: mp_cdf(a, b, z) - tail))
    x_hi = float(mp_bisect(lambda z: tail - mp_sf(a, b, z)))
    prior = Beta(a, b)
    if 0.0 < x_lo:
        assert rel_err(prior.cdf(x_lo), mp_cdf(a, b, x_lo)) < 1e-12
        assert rel_err(prior.pdf(x_lo), mp_pdf(a, b, x_lo)) < 1e-12
    if x_hi < 1.0:
        assert rel_err(prior.sf(x_hi), mp_sf(a, b, x_hi)) < 1e-12
    assert 0.0 < x_lo or x_hi < 1.0  # at least one tail is representable


@pytest.mark.parametrize(
    ("a", "b", "x", "side"),
    [
        (16.5, 4.5, 0.2, "cdf"),  # P(p <= 0.2) under the phase 1 posterior: ~3.4e-9
        (16.5, 4.5, 0.05, "cdf"),  # ~7e-19
        (16.5, 4.5, 0.4, "cdf"),
        (4.5, 16.5, 0.8, "sf"),
        (0.5, 0.5, 1e-10, "cdf"),
        (0.3, 0.7, 1e-8, "cdf"),
        (100.0, 200.0, 0.1, "cdf"),  # ~2.8e-28
        (50.5, 3.5, 0.3, "cdf"),  # ~9.8e-24
        (3.5, 50.5, 0.55, "sf"),  # ~4e-15
        (3.5, 50.5, 0.7, "sf"),  # ~1e-23
        (2.0, 30.0, 0.9, "sf"),  # ~2.8e-29
    ],
)
def test_beta_extreme_tails_match_mpmath(a: float, b: float, x: float, side: str) -> None:
    prior = Beta(a, b)
    if side == "cdf":
        assert rel_err(prior.cdf(x), mp_cdf(a, b, x)) < 1e-12
    else:
        assert rel_err(prior.sf(x), mp_sf(a, b, x)) < 1e-12


@pytest.mark.parametrize(("a", "b"), BETAS)
@pytest.mark.parametrize("q", [1e-12, 1e-6, 0.025, 0.5, 0.975])
def test_beta_ppf_inverts_mpmath_cdf(a: float, b: float, q: float) -> None:
    x_ref = mp_bisect(lambda z: mp_cdf(a, b, z) - q)
    if float(x_ref) == 0.0:
        pytest.fail("reference quantile underflows; choose another case")  # pragma: no cover
    assert rel_err(Beta(a, b).ppf(q), x_ref) < 1e-9


def test_beta_ppf_rejects_non_probabilities() -> None:
    with pytest.raises(DesignError, match="`q`"):
        Beta(1, 1).ppf(1.5)
    with pytest.raises(DesignError, match="`q`"):
        Beta(1, 1).ppf(float("nan"))


# ---------------------------------------------------------------------------
# BetaMixture
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("mix", MIXTURES, ids=str)
def test_mixture_matches_weighted_scipy(mix: BetaMixture) -> None:
    x = np.array([1e-5, 0.05, 0.2, 0.5, 0.8, 0.95, 1 - 1e-5])
    comps = list(zip(mix.weights, mix.a, mix.b, strict=True))
    pdf = sum(w * stats.beta(a, b).pdf(x) for w, a, b in comps)
    cdf = sum(w * stats.beta(a, b).cdf(x) for w, a, b in comps)
    sf = sum(w * stats.beta(a, b).sf(x) for w, a, b in comps)
    np.testing.assert_allclose(mix.pdf(x), pdf, rtol=1e-12, atol=0)
    np.testing.assert_allclose(mix.cdf(x), cdf, rtol=1e-12, atol=0)
    np.testing.assert_allclose(mix.sf(x), sf, rtol=1e-12, atol=0)


@pytest.mark.parametrize("mix", MIXTURES, ids=str)
@pytest.mark.parametrize("x", [1e-6, 0.01, 0.3, 0.7, 0.99, 1 - 1e-6])
def test_mixture_cdf_sf_pdf_match_mpmath(mix: BetaMixture, x: float) -> None:
    assert rel_err(mix.cdf(x), mp_mix(mp_cdf, mix, x)) < 1e-12
    assert rel_err(mix.sf(x), mp_mix(mp_sf, mix, x)) < 1e-12
    assert rel_err(mix.pdf(x), mp_mix(mp_pdf, mix, x)) < 1e-12


@pytest.mark.parametrize("mix", MIXTURES, ids=str)
@pytest.mark.parametrize("q", [1e-6, 0.05, 0.5, 0.95])
def test_mixture_ppf_matches_mpmath_quantile(mix: BetaMixture, q: float) -> None:
    x_ref = mp_bisect(lambda z: mp_mix(mp_cdf, mix, z) - q)
    assert rel_err(mix.ppf(q), x_ref) < 1e-9


@pytest.mark.parametrize("q", [1e-8, 1e-12])
def test_mixture_ppf_lower_tail(q: float) -> None:
    """A robust mixture with a Beta(0.5, 0.5) component has quantiles far below 1e-14.

    The true q = 1e-8 quantile is about 1e-15; a quantile of 0.0 (cdf 0 < q) is wrong.
    """
    mix = BetaMixture((0.5, 0.5), (0.5, 3.0), (0.5, 3.0))
    x_ref = mp_bisect(lambda z: mp_mix(mp_cdf, mix, z) - q)
    got = mix.ppf(q)
    assert got > 0.0
    assert rel_err(got, x_ref) < 1e-9


@pytest.mark.parametrize("mix", MIXTURES, ids=str)
def test_mixture_mean_and_var_against_quadrature(mix: BetaMixture) -> None:
    def dens(x):
        return mp_mix(mp_pdf, mix, x)

    m1 = mp.quad(lambda x: x * dens(x), [0, 0.5, 1])
    m2 = mp.quad(lambda x: x * x * dens(x), [0, 0.5, 1])
    assert rel_err(mix.mean, m1) < 1e-12
    assert rel_err(mix.var, m2 - m1**2) < 1e-10


def test_mixture_weights_are_normalised_and_validated() -> None:
    mix = BetaMixture((0.3, 0.7 + 5e-7), (1, 2), (1, 2))
    assert sum(mix.weights) == pytest.approx(1.0, abs=1e-15)
    with pytest.raises(DesignError, match="`weights`"):
        BetaMixture((0.3, 0.6), (1, 2), (1, 2))
    with pytest.raises(DesignError, match="`weights`"):
        BetaMixture((1.2, -0.2), (1, 2), (1, 2))


# ---------------------------------------------------------------------------
# Conjugate updating
# ---------------------------------------------------------------------------
def test_phase1_conjugate_update() -> None:
    post = Beta(0.5, 0.5).update(r=16, n=20)
    assert post == Beta(16.5, 4.5)
    assert post.mean == pytest.approx(16.5 / 21, rel=1e-15)


def _mp_posterior_weights(mix: BetaMixture, r: int, n: int) -> list[mp.mpf]:
    """w_k * integral f_k(p) p^r (1-p)^(n-r) dp, normalised, by quadrature."""
    raw = []
    for w, a, b in zip(mix.weights, mix.a, mix.b, strict=True):
        integral = mp.quad(
            lambda p, a=a, b=b: mp_pdf(a, b, p) * p**r * (1 - p) ** (n - r), [0, 0.5, 1]
        )
        raw.append(mp.mpf(w) * integral)
    total = mp.fsum(raw)
    return [x / total for x in raw]


@pytest.mark.parametrize("mix", MIXTURES, ids=str)
@pytest.mark.parametrize(("r", "n"), [(0, 10), (3, 30), (12, 30), (16, 20), (25, 25)])
def test_mixture_update_weights_against_quadrature(mix: BetaMixture, r: int, n: int) -> None:
    post = mix.update(r, n)
    assert isinstance(post, BetaMixture)
    ref = _mp_posterior_weights(mix, r, n)
    for got, want in zip(post.weights, ref, strict=True):
        assert abs(got - float(want)) < 1e-12 + 1e-10 * float(want)
    assert post.a == tuple(a + r for a in mix.a)
    assert post.b == tuple(b + n - r for b in mix.b)


_shape = st.floats(0.2, 40.0, allow_nan=False)


@st.composite
def mixtures(draw) -> BetaMixture:
    k = draw(st.integers(1, 3))
    raw = draw(st.lists(st.floats(0.05, 1.0), min_size=k, max_size=k))
    w = tuple(x / sum(raw) for x in raw)
    a = tuple(draw(st.lists(_shape, min_size=k, max_size=k)))
    b = tuple(draw(st.lists(_shape, min_size=k, max_size=k)))
    return BetaMixture(w, a, b)


@settings(max_examples=100, deadline=None)
@given(
    mix=mixtures(),
    n1=st.integers(0, 30),
    n2=st.integers(0, 30),
    f1=st.floats(0, 1),
    f2=st.floats(0, 1),
)
def test_sequential_update_equals_pooled_update(
    mix: BetaMixture, n1: int, n2: int, f1: float, f2: float
) -> None:
    r1, r2 = round(f1 * n1), round(f2 * n2)
    seq = mix.update(r1, n1).update(r2, n2)
    once = mix.update(r1 + r2, n1 + n2)
    np.testing.assert_allclose(seq.weights, once.weights, rtol=0, atol=1e-10)
    np.testing.assert_allclose(seq.a, once.a, rtol=0, atol=1e-10)
    np.testing.assert_allclose(seq.b, once.b, rtol=0, atol=1e-10)


def test_update_validates_data() -> None:
    with pytest.raises(DesignError, match="`r`"):
        Beta(1, 1).update(r=5, n=4)
    with pytest.raises(DesignError, match="`n`"):
        Beta(1, 1).update(r=0, n=-1)


# ---------------------------------------------------------------------------
# Predictive (beta-binomial) distribution
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("prior", [Beta(16.5, 4.5), Beta(0.5, 0.5), *MIXTURES], ids=str)
@pytest.mark.parametrize("m", [1, 7, 40])
def test_predictive_pmf_is_beta_binomial(prior, m: int) -> None:
    pred = prior.predictive(m)
    k = np.arange(m + 1)
    pmf = pred.pmf(k)
    assert float(np.sum(pmf)) == pytest.approx(1.0, abs=1e-13)
    mix = prior.as_mixture()
    for kk in range(m + 1):
        want = mp.fsum(
            mp.mpf(w) * mp_betabinom(kk, m, a, b)
            for w, a, b in zip(mix.weights, mix.a, mix.b, strict=True)
        )
        assert rel_err(pmf[kk], want) < 1e-11
    assert float(pred.pmf(-1)) == 0.0
    assert float(pred.pmf(m + 1)) == 0.0
    np.testing.assert_allclose(pred.cdf(k), np.cumsum(pmf), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(pred.sf(k), 1 - np.cumsum(pmf), rtol=1e-9, atol=1e-14)
    assert pred.mean == pytest.approx(float(np.sum(k * pmf)), rel=1e-12)


# ---------------------------------------------------------------------------
# Builders: power prior and robustify
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("a0", [0.0, 0.1, 0.5, 1.0])
@pytest.mark.parametrize("base", [Beta(0.5, 0.5), Beta(1, 1), Beta(2.0, 3.0)])
def test_power_prior_formula(a0: float, base: Beta) -> None:
    got = power_prior(16, 20, a0=a0, base=base)
    assert isinstance(got, Beta)
    assert got.a == pytest.approx(base.a + a0 * 16, abs=1e-14)
    assert got.b == pytest.approx(base.b + a0 * 4, abs=1e-14)


def test_power_prior_defaults_and_extremes() -> None:
    assert power_prior(16, 20) == Beta(16.5, 4.5)  # Jeffreys base, full pooling
    assert power_prior(16, 20, a0=0.0) == Beta(0.5, 0.5)  # history ignored
    assert power_prior(16, 20, a0=0.5) == Beta(8.5, 2.5)


def test_power_prior_validation_names_argument() -> None:
    with pytest.raises(DesignError, match="`a0`"):
        power_prior(16, 20, a0=1.5)
    with pytest.raises(DesignError, match="`a0`"):
        power_prior(16, 20, a0=-0.1)
    with pytest.raises(DesignError, match="`r`"):
        power_prior(21, 20)


@pytest.mark.parametrize("weight", [0.1, 0.3, 0.5])
def test_robustify_components(weight: float) -> None:
    inf = BetaMixture((0.7, 0.3), (16.5, 5.0), (4.5, 5.0))
    rob = robustify(inf, weight=weight, mean=0.4, n=2.0)
    assert rob.weights == pytest.approx(((1 - weight) * 0.7, (1 - weight) * 0.3, weight))
    assert rob.a == pytest.approx((16.5, 5.0, 0.8))
    assert rob.b == pytest.approx((4.5, 5.0, 1.2))
    default = robustify(Beta(16.5, 4.5), weight=weight)
    assert default.weights == pytest.approx((1 - weight, weight))
    assert default.a == pytest.approx((16.5, 0.5))
    assert default.b == pytest.approx((4.5, 0.5))
    # the mixture's mean is the weighted mean of its parts
    assert rob.mean == pytest.approx((1 - weight) * inf.mean + weight * 0.4, rel=1e-13)


@pytest.mark.parametrize("weight", [0.0, 1.0])
def test_robustify_boundary_weights_update_without_warnings(weight: float) -> None:
    """weight = 0 and 1 are allowed, so a zero-weight component must be harmless."""
    rob = robustify(Beta(16.5, 4.5), weight=weight)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        post = rob.update(3, 10)
        pmf = rob.predictive(10).pmf(np.arange(11))
        c = conflict(rob, 3, 10)
        e = ess(rob, "moment")
    live = 0 if weight == 0.0 else 1
    assert post.weights[live] == pytest.approx(1.0, abs=1e-15)
    assert post.weights[1 - live] == 0.0
    ref = Beta(*((16.5, 4.5) if weight == 0.0 else (0.5, 0.5))).predictive(10).pmf(np.arange(11))
    np.testing.assert_allclose(pmf, ref, rtol=1e-12)
    assert c.posterior_weights == post.weights
    assert e == pytest.approx(21.0 if weight == 0.0 else 1.0, rel=1e-12)


def test_robustify_validation() -> None:
    with pytest.raises(DesignError, match="`weight`"):
        robustify(Beta(1, 1), weight=1.2)
    with pytest.raises(DesignError, match="`mean`"):
        robustify(Beta(1, 1), weight=0.2, mean=1.0)
    with pytest.raises(DesignError, match="`n`"):
        robustify(Beta(1, 1), weight=0.2, n=0.0)


# ---------------------------------------------------------------------------
# Effective sample size
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("a", "b"), [(16.5, 4.5), (2.0, 3.0), (0.3, 0.7), (0.5, 0.5), (1.0, 1.0), (0.6, 5.0)]
)
@pytest.mark.parametrize("method", ["elir", "moment", "morita"])
def test_ess_of_beta_is_a_plus_b(a: float, b: float, method: str) -> None:
    assert ess(Beta(a, b), method) == pytest.approx(a + b, rel=1e-10)


def test_ess_default_is_elir_and_published_sanity_value() -> None:
    # Neuenschwander, Weber, Schmidli & Wandel (2020), Biometrics 76:578-587: the ESS of a
    # Beta(a, b) prior is a + b by the ELIR and moment methods; Beta(16.5, 4.5) has ESS 21.
    assert ess(Beta(16.5, 4.5)) == pytest.approx(21.0, rel=1e-12)
    assert ess(Beta(16.5, 4.5), "moment") == pytest.approx(21.0, rel=1e-12)


def _mp_elir_integrand(mix: BetaMixture, p, q):
    """-(log prior)''(p) * p (1 - p) * prior(p), with q = 1 - p passed exactly.

    pi, pi' and pi'' are summed analytically over the components, then
    -(log pi)'' = -(pi''/pi - (pi'/pi)^2).
    """
    f0 = f1 = f2 = mp.mpf(0)
    for w, a, b in zip(mix.weights, mix.a, mix.b, strict=True):
        f = mp.mpf(w) * p ** (a - 1) * q ** (b - 1) / mp.beta(a, b)
        s = (a - 1) / p - (b - 1) / q
        ds = -(a - 1) / p**2 - (b - 1) / q**2
        f0 += f
        f1 += f * s
        f2 += f * (ds + s * s)
    return -(f2 / f0 - (f1 / f0) ** 2) * p * q * f0


def _mp_elir(mix: BetaMixture) -> mp.mpf:
    """E_prior[-(d²/dp² log prior(p)) p (1 - p)] by quadrature of the definition.

    The integrand may be unbounded at 0 and 1 (shapes in (1, 2)); substituting
    p = t^k near 0 and 1 - p = u^k near 1 makes it smooth for tanh-sinh.
    """
    k = 10
    c = mp.mpf("0.5") ** (mp.mpf(1) / k)
    lower = mp.quad(lambda t: _mp_elir_integrand(mix, t**k, 1 - t**k) * k * t ** (k - 1), [0, c])
    upper = mp.quad(lambda u: _mp_elir_integrand(mix, 1 - u**k, u**k) * k * u ** (k - 1), [0, c])
    return lower + upper


@pytest.mark.parametrize(
    "mix",
    [
        BetaMixture((0.8, 0.2), (16.5, 1.5), (4.5, 1.5)),
        BetaMixture((0.5, 0.5), (12.0, 3.0), (3.0, 12.0)),
        BetaMixture((0.5, 0.3, 0.2), (2.0, 8.0, 1.2), (6.0, 3.0, 1.1)),
    ],
    ids=str,
)
def test_elir_of_mixture_against_definition(mix: BetaMixture) -> None:
    ref = _mp_elir(mix)
    assert rel_err(ess(mix, "elir"), ref) < 1e-9
    # the ELIR of a mixture is below the weighted ELIRs of its components
    comps = zip(mix.weights, mix.a, mix.b, strict=True)
    assert ess(mix, "elir") < sum(w * (a + b) for w, a, b in comps)


@pytest.mark.parametrize("mix", MIXTURES, ids=str)
def test_moment_ess_closed_form(mix: BetaMixture) -> None:
    m1 = mp_mix(lambda a, b, _x: mp.mpf(a) / (a + b), mix, 0)
    m2 = mp_mix(lambda a, b, _x: mp.mpf(a) * (a + 1) / ((a + b) * (a + b + 1)), mix, 0)
    v = m2 - m1**2
    assert rel_err(ess(mix, "moment"), m1 * (1 - m1) / v - 1) < 1e-10


@pytest.mark.parametrize(
    "mix",
    [
        BetaMixture((0.8, 0.2), (16.5, 1.0), (4.5, 1.0)),
        BetaMixture((0.6, 0.4), (8.0, 3.0), (4.0, 5.0)),
        BetaMixture((0.4, 0.4, 0.2), (4.0, 6.0, 5.0), (6.0, 5.0, 5.0)),
    ],
    ids=str,
)
def test_morita_ess_definition(mix: BetaMixture) -> None:
    """m = p̄(1-p̄)(D + 1/p̄² + 1/(1-p̄)²), D = -(log prior)''(p̄), evaluated independently."""
    pbar = mp.mpf(mix.mean)

    def logpi(p):
        return mp.log(mp_mix(mp_pdf, mix, p))

    d = -mp.diff(logpi, pbar, 2)
    want = pbar * (1 - pbar) * (d + 1 / pbar**2 + 1 / (1 - pbar) ** 2)
    assert want > 0
    assert rel_err(ess(mix, "morita"), want) < 1e-8


def test_morita_ess_undefined_in_a_trough() -> None:
    """A bimodal mixture whose mean sits in a trough: no positive Morita solution."""
    mix = BetaMixture((0.5, 0.3, 0.2), (2.0, 8.0, 0.5), (6.0, 3.0, 0.5))
    pbar = mp.mpf(mix.mean)
    d = -mp.diff(lambda p: mp.log(mp_mix(mp_pdf, mix, p)), pbar, 2)
    assert pbar * (1 - pbar) * (d + 1 / pbar**2 + 1 / (1 - pbar) ** 2) <= 0
    assert math.isnan(ess(mix, "morita"))
    row = ess_table(mix)["morita"]
    assert row["value"] is None
    assert isinstance(row["reason"], str) and row["reason"]


def test_ess_table_reports_undefined_elir_with_reason() -> None:
    mix = BetaMixture((0.5, 0.5), (0.5, 0.3), (0.5, 0.7))
    table = ess_table(mix)
    assert set(table) == {"elir", "moment", "morita"}
    assert table["elir"]["value"] is None
    assert isinstance(table["elir"]["reason"], str) and table["elir"]["reason"]
    assert math.isnan(ess(mix, "elir"))
    # the moment ESS is defined for every proper prior
    assert table["moment"]["value"] == pytest.approx(ess(mix, "moment"))
    assert table["moment"]["reason"] is None


def test_ess_table_all_defined_for_beta() -> None:
    table = ess_table(Beta(16.5, 4.5))
    for method in ("elir", "moment", "morita"):
        assert table[method]["value"] == pytest.approx(21.0, rel=1e-10)
        assert table[method]["reason"] is None


def test_ess_rejects_unknown_method() -> None:
    with pytest.raises(DesignError, match="`method`"):
        ess(Beta(1, 1), "fisher")


# ---------------------------------------------------------------------------
# Prior-data conflict
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "prior",
    [Beta(16.5, 4.5), BetaMixture((0.8, 0.2), (16.5, 1.0), (4.5, 1.0)), Beta(1, 1)],
    ids=str,
)
@pytest.mark.parametrize(("r", "n"), [(3, 30), (12, 30), (16, 20), (0, 5), (20, 20)])
def test_conflict_tail_probabilities_brute_force(prior, r: int, n: int) -> None:
    mix = prior.as_mixture()
    pmf = [
        mp.fsum(
            mp.mpf(w) * mp_betabinom(k, n, a, b)
            for w, a, b in zip(mix.weights, mix.a, mix.b, strict=True)
        )
        for k in range(n + 1)
    ]
    lower = mp.fsum(pmf[: r + 1])
    upper = mp.fsum(pmf[r:])
    box = min(2 * min(lower, upper), mp.mpf(1))  # two-sided tail area
    c = conflict(prior, r, n)
    assert (c.r, c.n) == (r, n)
    assert c.p_lower == pytest.approx(float(lower), rel=1e-10, abs=1e-300)
    assert c.p_upper == pytest.approx(float(upper), rel=1e-10, abs=1e-300)
    assert c.p_box == pytest.approx(float(box), rel=1e-10, abs=1e-300)
    assert c.prior_weights == pytest.approx(mix.weights)


CONFLICT_LEVEL = 0.05  # the conventional level: p_box below it flags prior-data conflict


def _mp_predictive(a: float, b: float, n: int) -> list[mp.mpf]:
    return [mp_betabinom(k, n, mp.mpf(a), mp.mpf(b)) for k in range(n + 1)]


@pytest.mark.parametrize(("a", "b"), [(0.5, 0.5), (1.0, 1.0), (0.2, 0.2)])
def test_conflict_vague_prior_never_flags(a: float, b: float) -> None:
    """A vague prior (flat or U-shaped) flags no outcome of 20 patients.

    The density form of Box's p-value, sum of f(k) over f(k) <= f(r), flagged the
    mid-range counts of U-shaped priors (10/20: 0.031 under Beta(0.5, 0.5), 0.016
    under Beta(0.2, 0.2)), because their beta-binomial pmf is smallest in the middle.
    """
    n = 20
    pmf = _mp_predictive(a, b, n)
    assert mp.fsum(pmf) == pytest.approx(1, abs=1e-25)
    density_form = mp.fsum(x for x in pmf if x <= pmf[10])
    if a < 1:  # the bug this guards against
        assert density_form < CONFLICT_LEVEL
    for r in range(n + 1):
        c = conflict(Beta(a, b), r=r, n=n)
        lower, upper = mp.fsum(pmf[: r + 1]), mp.fsum(pmf[r:])
        assert c.p_lower == pytest.approx(float(lower), rel=1e-12)
        assert c.p_upper == pytest.approx(float(upper), rel=1e-12)
        assert c.p_box == pytest.approx(float(min(2 * min(lower, upper), 1)), rel=1e-12)
        assert c.p_box >= CONFLICT_LEVEL, (a, b, r, c.p_box)
    # the uniform prior's smallest value is 2/21, at 0/20 and 20/20
    if a == b == 1.0:
        assert conflict(Beta(1, 1), r=0, n=n).p_box == pytest.approx(2 / 21, rel=1e-12)


@pytest.mark.parametrize("prior", [Beta(16, 4), Beta(16.5, 4.5)], ids=str)
def test_conflict_informative_prior_in_conflict_is_flagged(prior: Beta) -> None:
    """An optimistic prior (mean 0.8, 20 patients' worth) against 2/20 observed."""
    c = conflict(prior, r=2, n=20)
    pmf = _mp_predictive(prior.a, prior.b, 20)
    lower = mp.fsum(pmf[:3])
    assert c.p_lower == pytest.approx(float(lower), rel=1e-10)
    assert c.p_box == pytest.approx(float(2 * lower), rel=1e-10)
    assert c.p_box < 1e-4 < CONFLICT_LEVEL
    # with scipy's beta-binomial as a second, independent reference
    ref = 2 * stats.betabinom.cdf(2, 20, prior.a, prior.b)
    assert c.p_box == pytest.approx(ref, rel=1e-8)
    # agreement is not flagged; the upper tail is flagged too
    assert conflict(prior, r=16, n=20).p_box > 0.5
    assert conflict(Beta(4, 16), r=18, n=20).p_box < 1e-4


def test_conflict_robust_mixture_flags_less_than_its_informative_part() -> None:
    informative = Beta(16.5, 4.5)
    mix = robustify(informative, weight=0.5)
    for r in range(0, 8):
        assert conflict(mix, r, 20).p_box > conflict(informative, r, 20).p_box


@pytest.mark.parametrize("n", [0, 1, 7, 20])
def test_prior_predictive_p_on_arbitrary_pmfs(n: int) -> None:
    rng = np.random.default_rng(n)
    pmf = rng.dirichlet(np.ones(n + 1))
    for r in range(n + 1):
        lo, up, two = prior_predictive_p(pmf, r)
        assert lo == pytest.approx(pmf[: r + 1].sum(), rel=1e-12)
        assert up == pytest.approx(pmf[r:].sum(), rel=1e-12)
        assert two == pytest.approx(min(1.0, 2 * min(lo, up)), rel=1e-12)
        assert 0 < two <= 1 and lo + up >= 1 - 1e-12  # P(R = r) is counted in both tails
    assert prior_predictive_p(pmf, 0)[1] == pytest.approx(1.0)


def test_conflict_collapses_informative_component() -> None:
    """3/30 under 0.8 Beta(16.5, 4.5) + 0.2 Beta(1, 1): the optimistic part loses its weight."""
    prior = BetaMixture((0.8, 0.2), (16.5, 1.0), (4.5, 1.0))
    c = conflict(prior, r=3, n=30)
    ref = _mp_posterior_weights(prior, 3, 30)
    assert c.posterior_weights[0] == pytest.approx(float(ref[0]), rel=1e-9)
    assert c.posterior_weights[0] < 1e-4
    assert c.posterior_weights[1] > 1 - 1e-4
    # the informative part alone puts almost no predictive mass at or below 3/30
    assert conflict(Beta(16.5, 4.5), r=3, n=30).p_lower < 1e-5
    # no conflict when the data agree with the informative part
    agree = conflict(prior, r=24, n=30)
    assert agree.posterior_weights[0] > 0.8


def test_conflict_validation() -> None:
    with pytest.raises(DesignError, match="`r`"):
        conflict(Beta(1, 1), r=31, n=30)
    with pytest.raises(DesignError, match="`n`"):
        conflict(Beta(1, 1), r=1, n=2.5)


# ---------------------------------------------------------------------------
# Validation messages name the argument
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"a": -1, "b": 1}, "a"),
        ({"a": 0, "b": 1}, "a"),
        ({"a": 1, "b": 0}, "b"),
        ({"a": float("nan"), "b": 1}, "a"),
        ({"a": float("inf"), "b": 1}, "a"),
        ({"a": 1, "b": "2"}, "b"),
        ({"a": True, "b": 1}, "a"),
    ],
)
def test_beta_validation_names_field(kwargs: dict, field: str) -> None:
    with pytest.raises(DesignError, match=f"`{field}` of Beta"):
        Beta(**kwargs)


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (((0.5, 0.4), (1, 1), (1, 1)), "weights"),
        (((0.5, 0.5), (1, -1), (1, 1)), "a"),
        (((0.5, 0.5), (1, 1), (1, 0)), "b"),
        (((0.5, 0.5), (1,), (1, 1)), "weights"),
        (((), (), ()), "weights"),
    ],
)
def test_mixture_validation_names_field(args: tuple, field: str) -> None:
    with pytest.raises(DesignError, match=f"`{field}`"):
        BetaMixture(*args)


def test_design_error_is_value_error() -> None:
    with pytest.raises(ValueError):
        Beta(-1, 1)


@pytest.mark.parametrize(
    "prior",
    [
        # strongly disagreeing components: the ELIR ESS is negative (about -1.98)
        BetaMixture((0.5, 0.5), (2.9, 0.5), (1.1, 0.5)),
        # a robust phase 1 prior of the kind the shipped designs use
        BetaMixture((0.5, 0.5), (8.5, 0.5), (2.5, 0.5)),
        Beta(16.5, 4.5),
    ],
)
def test_elir_is_predictively_consistent(prior) -> None:
    # Neuenschwander et al. (2020): the ELIR ESS of the prior equals the expected ELIR ESS of
    # the posterior after n more patients, minus n (prior-predictive expectation, exact sum).
    for n in (5, 20):
        pmf = prior.predictive(n).pmf(np.arange(n + 1))
        expected = sum(pmf[r] * ess(prior.update(r=r, n=n)) for r in range(n + 1))
        assert expected - n == pytest.approx(ess(prior), abs=1e-8)
    if isinstance(prior, BetaMixture) and prior.a[0] == 2.9:
        assert ess(prior) < 0  # negative ELIR is a property of the prior, not a bug
