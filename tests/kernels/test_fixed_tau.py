"""τ fixed at a value (``tau_prior="fixed"``): brute force, limits, grid and validation.

With τ fixed at T the cohorts are conditionally independent given μ alone, so

    p(data) = ∫ N(μ; m, s²) Π_j g_j(μ) dμ,   g_j(μ) = ∫ N(θ; μ, T²) L_j(θ) dθ,

and every posterior quantity is a ratio of such integrals. The reference below
(:func:`nested`) computes them by nested adaptive quadrature (``scipy.integrate.quad``
for each g_j in z = (θ − μ)/T, ``scipy.integrate.quad_vec`` over μ), sharing no grid,
rule or code with the engine; it is checked against a one-dimensional integral in
the single-cohort case, where θ ~ N(m, s² + T²) exactly.
"""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pytest
from scipy import integrate, special

from adaptive2._base.errors import DesignError, PrecisionWarning
from adaptive2.engines.posterior import lattice
from adaptive2.kernels import quadrature, sizes
from adaptive2.model.hierarchical import DEFAULT_GRID, Cohort, Historical, Model

TOL = 1e-4  # quadrature accuracy promised for P(p_j > p0_j) and posterior means

FRONT = Cohort("frontline", 0.40, 0.60)
POST = Cohort("post_io", 0.10, 0.30)
COHORTS = (FRONT, POST)
PHASE1 = Historical("phase1", 16, 20)
Z = 12.0  # N(μ, T²) is integrated over μ ± 12 T; μ over m ± 12 s
QUAD = {"epsabs": 0.0, "epsrel": 1e-12, "limit": 400}


# ---------------------------------------------------------------------------
# Reference: nested adaptive quadrature
# ---------------------------------------------------------------------------
def _likelihood(r: int, n: int, off: float):
    """θ ↦ binomial likelihood of r of n at logit p = θ + off, divided by its maximum."""

    def loglik(t: float) -> float:
        eta = t + off
        return -r * math.log1p(math.exp(-eta)) - (n - r) * math.log1p(math.exp(eta)) \
            if abs(eta) < 700 else r * min(eta, 0.0) + (n - r) * min(-eta, 0.0)

    rr = min(max(r, 0.5), n - 0.5)
    top = loglik(math.log(rr / (n - rr)) - off) if 0 < r < n else 0.0
    return lambda t: math.exp(loglik(t) - top)


def _npdf(z: float) -> float:
    return math.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)


def _expit(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x > -700 else 0.0


def _normal_parts(lik, off: float, peak: float, mean: float, sd: float) -> np.ndarray:
    """∫ N(θ; mean, sd²) L(θ) f(θ) dθ for f = 1, 1{θ > 0}, expit(θ + off).

    Integrated in z = (θ − mean)/sd over ±12, split at θ = 0 and, for sd > 1, with
    break points every 0.3 within ±6 of the likelihood's peak (its width is ~0.4 on
    25 patients, a spike in z once sd is large).
    """
    f = lambda z: _npdf(z) * lik(mean + sd * z)  # noqa: E731
    fe = lambda z: f(z) * _expit(mean + sd * z + off)  # noqa: E731
    cut = min(max(-mean / sd, -Z), Z)
    marks = [(peak + 0.3 * k - mean) / sd for k in range(-20, 21)] if sd > 1 else []

    def quad(g, a: float, b: float) -> float:
        pts = sorted(p for p in marks if a < p < b)
        return integrate.quad(g, a, b, points=pts or None, **QUAD)[0]

    below, above = quad(f, -Z, cut), quad(f, cut, Z)
    return np.array([below + above, above, quad(fe, -Z, cut) + quad(fe, cut, Z)])


def nested(model: Model, cohorts, data) -> dict[str, tuple[float, float]]:
    """Cohort → (P(p_j > p0_j | data), E(p_j | data)) with τ fixed at ``model.tau_scale``.

    Hierarchical or EXNEX (each cohort's factor w g_j(μ) + (1 − w) × its NEX
    integral) on the logit-offset scale, without historical strata.
    """
    t, m, s = model.tau_scale, model.mu_mean, model.mu_sd
    offs = [float(special.logit(c.p0)) for c in cohorts]
    liks, peaks, nex = [], [], []
    for c, o in zip(cohorts, offs, strict=True):
        r, n = data[c.name]
        rr = min(max(r, 0.5), n - 0.5)
        liks.append(_likelihood(r, n, o))
        peaks.append(math.log(rr / (n - rr)) - o)
        w = model.value("weight", c.name) if model.kind == "exnex" else 1.0
        mean, sd = model.value("nex_mean", c.name), model.value("nex_sd", c.name)
        nex.append((w, (1 - w) * _normal_parts(liks[-1], o, peaks[-1], mean, sd)))
    k = len(cohorts)

    def outer(mu: float) -> np.ndarray:
        parts = [w * _normal_parts(lik, o, pk, mu, t) + rest
                 for lik, o, pk, (w, rest) in zip(liks, offs, peaks, nex, strict=True)]
        marg = np.array([p[0] for p in parts])
        joint = _npdf((mu - m) / s) * np.prod(marg)
        q = np.array([p[1] for p in parts]) / marg
        e = np.array([p[2] for p in parts]) / marg
        return np.concatenate([[joint], joint * q, joint * e])

    a, b = m - Z * s, m + Z * s
    cuts = sorted({a, b} | {x for x in (0.0, m, -3 * t, -t, t, 3 * t) if a < x < b})
    tot = sum(integrate.quad_vec(outer, lo, hi, epsabs=0.0, epsrel=1e-11, limit=400)[0]
              for lo, hi in itertools.pairwise(cuts))
    return {c.name: (tot[1 + j] / tot[0], tot[1 + k + j] / tot[0])
            for j, c in enumerate(cohorts)}


def one_dimensional(r: int, n: int, p0: float, mean: float, sd: float) -> tuple[float, float]:
    """(P(p > p0), E p) for r of n with logit p − logit p0 ~ N(mean, sd²): 1-D ``quad``."""
    off = float(special.logit(p0))
    lik = _likelihood(r, n, off)
    rr = min(max(r, 0.5), n - 0.5)
    peak = math.log(rr / (n - rr)) - off
    f = lambda t: lik(t) * _npdf((t - mean) / sd)  # noqa: E731
    fe = lambda t: f(t) * _expit(t + off)  # noqa: E731
    lo, hi = mean - 40 * sd, mean + 40 * sd
    cuts = sorted({lo, hi} | {x for x in (0.0, peak - 10, peak + 10) if lo < x < hi})

    def quad(g, a: float, b: float) -> float:
        return sum(integrate.quad(g, x, y, **{**QUAD, "epsabs": 1e-15})[0]
                   for x, y in itertools.pairwise(cuts) if x >= a and y <= b)

    den = quad(f, lo, hi)
    return quad(f, 0.0, hi) / den, quad(fe, lo, hi) / den


def _engine_at(model: Model, cohorts, data) -> dict[str, tuple[float, float]]:
    n = [data[c.name][1] for c in cohorts]
    idx = tuple(data[c.name][0] for c in cohorts)
    res = lattice(model, cohorts, n)
    return {c.name: (float(res.p_above[c.name][idx]), float(res.mean[c.name][idx]))
            for c in cohorts}


def _fixed(t: float, **kw) -> Model:
    return Model(tau_prior="fixed", tau_scale=t, **kw)


# ---------------------------------------------------------------------------
# The reference itself
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(("t", "r", "n"), [(0.05, 7, 12), (2.0, 0, 15), (20.0, 15, 15)])
def test_nested_reference_of_one_cohort_is_the_marginal_normal(t: float, r: int, n: int) -> None:
    """One cohort: θ ~ N(m, s² + T²) exactly; the nested and 1-D integrals agree to 1e-8."""
    model = _fixed(t, mu_mean=0.3, mu_sd=1.5)
    cohort = Cohort("a", 0.3, 0.5)
    got = nested(model, (cohort,), {"a": (r, n)})["a"]
    ref = one_dimensional(r, n, 0.3, 0.3, math.hypot(1.5, t))
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-8)


# ---------------------------------------------------------------------------
# Engine against the reference
# ---------------------------------------------------------------------------
DATA = {
    "mid": {"frontline": (11, 25), "post_io": (4, 25)},
    "conflict": {"frontline": (0, 15), "post_io": (15, 15)},
}


BRUTE_CASES = [(t, "hierarchical", d) for t in (0.05, 0.15, 0.5, 2.0) for d in DATA]
BRUTE_CASES += [(0.05, "exnex", "conflict"), (2.0, "exnex", "mid")]


@pytest.mark.parametrize(("t", "kind", "data"), BRUTE_CASES)
def test_fixed_tau_matches_nested_quadrature(t: float, kind: str, data: str) -> None:
    """Two cohorts, τ fixed below two θ steps (0.05: narrow columns) and above (wide).

    Largest differences measured (hierarchical): 3.4e-5 (means, T = 0.05), 7e-5
    (P(p > p0), T = 0.3, "conflict"), under 1e-6 for T ≥ 0.5.
    """
    model = _fixed(t, kind=kind)
    ref = nested(model, COHORTS, DATA[data])
    got = _engine_at(model, COHORTS, DATA[data])
    for c in COHORTS:
        (pa, ma), (pb, mb) = got[c.name], ref[c.name]
        assert abs(pa - pb) <= TOL, f"T={t} {c.name}: P(p > p0) {pa:.7f} vs ref {pb:.7f}"
        assert abs(ma - mb) <= TOL, f"T={t} {c.name}: mean {ma:.7f} vs ref {mb:.7f}"


@pytest.mark.parametrize("t", [0.05, 2.0, 20.0, 1e3, quadrature.MAX_TAU_SCALE["fixed"]])
def test_one_cohort_with_fixed_tau_is_independent_with_the_marginal_prior(t: float) -> None:
    """K = 1: θ ~ N(m, s² + T²), so the BHM is the independent model of that NEX prior.

    An exact identity, over the whole lattice 0..20 (0/n and n/n included), for T
    from narrow columns to the largest value without a PrecisionWarning; both also
    match the 1-D reference at r = 0, 5, 20.
    """
    cohort = (Cohort("a", 0.2, 0.4),)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bhm = lattice(_fixed(t, mu_mean=0.5), cohort, (20,))
    sd = math.hypot(2.0, t)
    with warnings.catch_warnings():  # an sd just above MAX_NEX_SD at the largest T
        warnings.simplefilter("ignore", PrecisionWarning)
        indep = lattice(Model(kind="independent", nex_mean=0.5, nex_sd=sd), cohort, (20,))
    assert np.abs(bhm.p_above["a"] - indep.p_above["a"]).max() <= TOL
    assert np.abs(bhm.mean["a"] - indep.mean["a"]).max() <= TOL
    for r in (0, 5, 20):
        p, e = one_dimensional(r, 20, 0.2, 0.5, sd)
        assert abs(bhm.p_above["a"][r] - p) <= TOL and abs(bhm.mean["a"][r] - e) <= TOL, r


def test_tiny_fixed_tau_is_pooled() -> None:
    """τ = 1e-4: the cohorts' log-odds differ by ~1e-4, so BHM and pooled agree (O(τ²)).

    Unlike a half-normal(1e-4) prior, no ConvergenceWarning: a fixed τ has no tail
    for the data to push it into.
    """
    hist = (PHASE1,)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bhm = lattice(_fixed(1e-4, historical=hist), COHORTS, (15, 15))
    pooled = lattice(Model(kind="pooled", historical=hist), COHORTS, (15, 15))
    for c in COHORTS:
        assert np.abs(bhm.p_above[c.name] - pooled.p_above[c.name]).max() <= TOL
        assert np.abs(bhm.mean[c.name] - pooled.mean[c.name]).max() <= TOL


def test_large_fixed_tau_approaches_independence_as_the_exact_gap_says() -> None:
    """K = 2, μ ~ N(0, 1): BHM with τ fixed at T against independent with N(0, 1 + T²).

    Both models give each θ_j the prior N(0, 1 + T²); the BHM couples the cohorts
    through μ only (prior correlation ρ = 1/(1 + T²)). Given θ_k, θ_j's prior mean
    moves by ρ (θ_k − m), a shift of a prior of variance ~T² which moves θ_j's
    posterior (sd σ_j ≈ 0.4 on 25 patients) by σ_j² ρ (θ_k − m) / T²: with
    informative data the gap in P(p_j > p0_j) falls like ρ / T² ~ T⁻⁴.

    The gap is computed exactly (nested and 1-D references: 2.49e-3, 9.59e-5 and
    4.10e-7 at T = 2, 5, 20) and by the engine (equal to 1e-8); the test checks the
    engine against the exact gap to TOL, the decrease, and the T⁻⁴ law (gap × T⁴
    0.040, 0.060, 0.066: within 20% between T = 5 and 20).
    """
    data = DATA["mid"]
    ts = np.array([2.0, 5.0, 20.0])
    exact, engine = [], []
    for t in ts:
        sd = math.hypot(1.0, t)
        bhm = nested(_fixed(t, mu_sd=1.0), COHORTS, data)
        got = _engine_at(_fixed(t, mu_sd=1.0), COHORTS, data)
        ind = _engine_at(Model(kind="independent", nex_sd=sd), COHORTS, data)
        one = {c.name: one_dimensional(*data[c.name], c.p0, 0.0, sd) for c in COHORTS}
        exact.append(max(abs(bhm[c.name][0] - one[c.name][0]) for c in COHORTS))
        engine.append(max(abs(got[c.name][0] - ind[c.name][0]) for c in COHORTS))
    np.testing.assert_allclose(engine, exact, rtol=0, atol=TOL)
    assert (np.diff(exact) < 0).all() and exact[0] > 1e-3, exact  # borrowing, then less
    scaled = np.array(exact) * ts**4
    assert scaled[2] == pytest.approx(scaled[1], rel=0.2), scaled


SIX = tuple(Cohort(f"c{j}", 0.2) for j in range(6))  # as tests/engines/test_cohort_montecarlo.py
N6 = (10, 20, 10, 20, 10, 20)


@pytest.mark.parametrize(("t", "counts"), [(5.0, (2, 4, 4, 8, 5, 7)), (20.0, (0, 5, 2, 4, 6, 4))])
def test_six_cohorts_with_fixed_tau_match_nested_quadrature(t: float, counts: tuple) -> None:
    """K = 6, μ ~ N(0, 1): the data sets of the largest BHM-vs-independent gap at T = 5, 20.

    Engine within 1e-7 (T = 5) and 2.4e-7 (T = 20) of the nested reference; the exact
    gaps to independent N(0, 1 + T²) are 1.66e-3 and 3.09e-5, the values quoted in
    ``test_six_cohorts_tau_large_is_independence`` (tests/engines/test_cohort_montecarlo.py).
    """
    data = {c.name: (r, n) for c, r, n in zip(SIX, counts, N6, strict=True)}
    model = _fixed(t, mu_sd=1.0)
    ref = nested(model, SIX, data)
    got = quadrature.p_above_data(model, SIX, N6, np.array([counts]), grid=DEFAULT_GRID)
    for c in SIX:
        assert abs(got[c.name][0] - ref[c.name][0]) <= TOL, c.name


# ---------------------------------------------------------------------------
# Grid planning
# ---------------------------------------------------------------------------
def test_tau_grid_is_one_node_of_weight_one() -> None:
    for t in (1e-4, 0.05, 2.0, 500.0):
        tau, w = quadrature._tau_nodes(_fixed(t), DEFAULT_GRID.n_tau)
        assert tau.tolist() == [t] and w.tolist() == [1.0]


@pytest.mark.parametrize(("t", "narrow"), [(0.05, True), (0.1, True), (0.11, False), (2.0, False)])
def test_columns_are_narrow_or_wide_by_the_theta_step(t: float, narrow: bool) -> None:
    """τ ≤ 2h (h = 0.05 on the default grid): narrow columns on the refined μ grid."""
    model = _fixed(t)
    eng = quadrature.engine(model, COHORTS, DEFAULT_GRID)
    cols = sizes.grid_columns(model, DEFAULT_GRID, COHORTS)
    assert not eng.point.any() and np.all(eng.tau == t)
    assert eng.narrow.all() == narrow and eng.wide.all() == (not narrow)
    assert (cols.narrow, cols.wide, cols.point) == (eng.narrow.sum(), eng.wide.sum(), 0)


def test_refined_grid_widens_theta_for_a_large_fixed_tau_only() -> None:
    assert quadrature.refined_grid(_fixed(2.0), COHORTS, DEFAULT_GRID) is DEFAULT_GRID
    wide = quadrature.refined_grid(_fixed(20.0), COHORTS, DEFAULT_GRID)
    assert wide.theta_max > 22 and wide.n_tau == DEFAULT_GRID.n_tau
    h = 2 * DEFAULT_GRID.theta_max / (DEFAULT_GRID.n_theta - 1)
    assert 2 * wide.theta_max / (wide.n_theta - 1) == pytest.approx(h)


def test_a_fixed_tau_beyond_the_tested_range_warns_naming_the_setting() -> None:
    top = quadrature.MAX_TAU_SCALE["fixed"]
    assert quadrature.accuracy_warnings(_fixed(top), COHORTS, DEFAULT_GRID) == []
    (msg,) = quadrature.accuracy_warnings(_fixed(10 * top), COHORTS, DEFAULT_GRID)
    assert "`tau_scale`" in msg and "fixed" in msg
    with pytest.warns(PrecisionWarning, match="`tau_scale`"):
        quadrature.engine(_fixed(10 * top), COHORTS, DEFAULT_GRID)


# ---------------------------------------------------------------------------
# The Model value
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("bad", [0.0, -1.0, math.inf, math.nan, "2"])
def test_fixed_tau_must_be_positive_and_finite(bad) -> None:
    with pytest.raises(DesignError, match=r"`tau_scale`.*> 0.*tau = 0 is kind='pooled'"):
        _fixed(bad)


def test_fixed_tau_settings_follow_the_rules_of_the_other_tau_priors() -> None:
    with pytest.raises(DesignError, match=r"`tau_df`.*fixes tau at 2 \(tau_df is for half_t\)"):
        _fixed(2.0, tau_df=4.0)
    for kind in ("independent", "pooled"):
        with pytest.raises(DesignError, match=rf"`tau_prior`.*the {kind} model"):
            _fixed(2.0, kind=kind)
    with pytest.raises(DesignError, match=r"`tau_prior`.*'fixed'"):
        Model(tau_prior="point")
    assert _fixed(2.0).describe().endswith("tau fixed at 2")
    assert Model().describe().endswith("tau ~ half-normal(1)")
    assert _fixed(2.0).tau_logpdf(np.array([1.0, 2.0])).tolist() == [-math.inf, 0.0]
