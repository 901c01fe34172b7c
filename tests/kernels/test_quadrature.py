"""Quadrature engine for borrowing (BHM, EXNEX, pooled, independent): brute force, limits, checks.

The reference below shares no code or quadrature rule with the engine:

* θ and μ live on one uniform grid (step ``H``); θ-integrals are trapezoid sums
  with an Euler–Maclaurin end correction (h²/12)·g'(th) where P(p > p0) cuts the
  integrand, so they are fourth-order accurate; the mass of N(μ, τ²) beyond the
  grid is put on the end nodes (exact there because the likelihood is flat);
* each normal kernel N(μ, τ²) is applied to the whole μ grid by FFT convolution;
  for τ < 0.15 the θ-integral is instead Gauss–Legendre in z = (θ − μ)/τ on a
  cubic spline of the log likelihood (the spline only interpolates between grid
  nodes);
* τ is integrated by composite Gauss–Legendre in its prior CDF u = F(τ) (so the
  heavy half-Cauchy tail is integrated out to τ ≈ 10⁴·scale, not truncated),
  μ by the trapezoid rule against its normal density;
* tied strata are integrated by Gauss–Legendre in their own z.

Refining it (H 0.02 → 0.01, 16 → 48 nodes per τ panel, half-width 16 → 30)
changes no figure below by more than 6e-7 (case "tau-small" uses H = 0.005,
within 4e-7 of H = 0.0025); a nested ``scipy.integrate.quad`` of a single-cohort
model (prior = normal scale mixture) agrees to 2e-6 (test below), and of the
half-Cauchy "extreme" data to 3e-7.
"""

from __future__ import annotations

import functools
import itertools
import math

import numpy as np
import pytest
from scipy import integrate, interpolate, signal, special, stats

from adaptive2._base.errors import DesignError
from adaptive2._base.resources import limit_memory
from adaptive2.engines.posterior import lattice, posterior
from adaptive2.kernels import quadrature
from adaptive2.model.hierarchical import FINE_GRID, Cohort, Historical, Model, QuadratureGrid

TOL = 1e-4  # quadrature accuracy promised for P(p_j > p0_j) and posterior means


def _engine_bug(reason: str) -> pytest.MarkDecorator:
    """A known quadrature error above TOL (strict: the test fails once it is fixed)."""
    return pytest.mark.xfail(strict=True, reason=f"engine accuracy: {reason}")


OFF_GRID = _engine_bug(
    "threshold off the μ cell edges (`thresholds=`): for τ below the θ step the μ-integrand "
    "of P(p > threshold) is a step there, summed on the n_mu grid; error 1.6e-4 for post-IO "
    "at 0.2 (the coarse-level fractions of the Richardson step, once 1.4e-3, are fixed)"
)
SMALL_TAU = _engine_bug(
    "τ prior concentrated below the θ step (half-t, scale 0.01): default and fine grids "
    "still differ by more than 1e-4, although the brute-force and τ → 0 checks pass since "
    "the μ cells near the threshold were refined"
)


FRONT = Cohort("frontline", 0.40, 0.60)
POST = Cohort("post_io", 0.10, 0.30)
COHORTS = (FRONT, POST)
PHASE1 = Historical("phase1", 16, 20)


# ---------------------------------------------------------------------------
# Brute-force reference
# ---------------------------------------------------------------------------
H = 0.02  # grid step of θ and μ
HALF = 16.0  # grid half-width
TAU_SMALL = 0.15  # below: Gauss–Legendre in z instead of the FFT convolution
GL_Z = np.polynomial.legendre.leggauss(64)
GL_U = np.polynomial.legendre.leggauss(16)
U_PANELS = np.array([0.0, 0.02, 0.25, 0.5, 0.75, 0.9, 0.975, 0.995, 1.0])


def _npdf(x):
    return np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)


def _loglik(theta, r, n, off, weight=1.0):
    eta = theta + off
    return weight * (r * special.log_expit(eta) + (n - r) * special.log_expit(-eta))


def _tau_nodes(model: Model) -> tuple[np.ndarray, np.ndarray]:
    """Composite Gauss–Legendre nodes in u = F(τ); the weights sum to 1."""
    x, w = GL_U
    a, b = U_PANELS[:-1, None], U_PANELS[1:, None]
    u = (a + (b - a) * (x + 1) / 2).ravel()
    wt = (w * (b - a) / 2).ravel()
    s = model.tau_scale
    if model.tau_prior == "half_normal":
        tau = s * stats.norm.ppf((1 + u) / 2)
    elif model.tau_prior == "half_cauchy":
        tau = s * np.tan(np.pi * u / 2)
    else:
        tau = s * stats.t.ppf((1 + u) / 2, model.tau_df)
    return tau, wt


class _Stratum:
    """One likelihood factor on the grid: a cohort (threshold ``th``) or a historical stratum."""

    def __init__(self, grid, r, n, off, th=None, weight=1.0, ties=()):
        self.grid, self.off, self.th = grid, off, th
        self.h = h = grid[1] - grid[0]
        logl = _loglik(grid, r, n, off, weight)
        z, wz = GL_Z
        z, wz = 9 * z, 9 * wz * _npdf(9 * z)
        for rh, nh, oh, sd, wh in ties:  # θ_h ~ N(θ, sd²), integrated out
            logl = logl + np.log((np.exp(_loglik(grid[:, None] + sd * z, rh, nh, oh, wh)) * wz)
                                 .sum(1))
        self.spline = interpolate.CubicSpline(grid, logl)
        self.dlog = self.spline.derivative()
        self.L = np.exp(logl)
        self.trap = np.full(len(grid), h)
        self.trap[[0, -1]] *= 0.5
        self.f = {"m": np.ones_like(grid)}
        self.q_ok = th is not None and abs(grid - th).min() < 1e-9 * h
        if th is not None:
            self.i_th = int(np.argmin(np.abs(grid - th)))
            above = (grid > th).astype(float)
            above[self.i_th] = 0.5 if self.q_ok else above[self.i_th]
            self.f.update(q=above, e=special.expit(grid + off))

    def _end_correction(self, mean, sd):
        """(h²/12)·g'(th) for g = L·N(mean, sd²): the trapezoid's error at the cut."""
        if not self.q_ok:
            return 0.0
        x = self.th - mean
        g = self.L[self.i_th] * _npdf(x / sd) / sd
        return self.h**2 / 12 * g * (self.dlog(self.th) - x / sd**2)

    def ex(self, tau, mu):
        """θ-integrals of L·f against N(μ, τ²) for every μ of the grid."""
        res = {}
        if tau < TAU_SMALL:
            x, w = GL_Z
            for key in self.f:
                if key == "q":
                    a = np.clip((self.th - mu) / tau, -9, 9)[:, None]
                    z, ww = a + (9 - a) * (x + 1) / 2, w * (9 - a) / 2
                else:
                    z, ww = np.broadcast_to(9 * x, (len(mu), len(x))), 9 * w
                theta = mu[:, None] + tau * z
                val = np.exp(self.spline(theta)) * _npdf(z) * ww
                if key == "e":
                    val = val * special.expit(theta + self.off)
                res[key] = val.sum(1)
            return res
        g, n = self.grid, len(self.grid)
        kern = _npdf(np.arange(-(n - 1), n) * self.h / tau) / tau
        upper = stats.norm.sf((g[-1] - mu) / tau)
        lower = stats.norm.cdf((g[0] - mu) / tau)
        for key, f in self.f.items():
            c = signal.fftconvolve(self.L * f * self.trap, kern)[n - 1 : 2 * n - 1]
            c = c + upper * self.L[-1] * f[-1] + lower * self.L[0] * f[0]
            if key == "q":
                c = c + self._end_correction(mu, tau)
            res[key] = np.maximum(c, 0.0)
        return res

    def normal(self, mean, sd):
        """θ-integrals of L·f against a fixed N(mean, sd²)."""
        dens = _npdf((self.grid - mean) / sd) / sd * self.trap
        out = {k: float((self.L * f * dens).sum()) for k, f in self.f.items()}
        if "q" in out:
            out["q"] += float(self._end_correction(mean, sd))
        return out


def brute(
    model: Model,
    cohorts,
    data,
    *,
    thresholds=None,
    anchor: float = 0.0,
    h: float = H,
    half: float = HALF,
) -> dict[str, tuple[float, float]]:
    """Cohort → (P(p_j > threshold_j | data), E(p_j | data)), on a grid of step h.

    The grid passes through ``anchor``. P is computed (else NaN) for the cohorts
    whose threshold logit(threshold_j) − o_j lies on the grid: 0 on the
    logit-offset scale with threshold p0; otherwise run once per cohort with its
    threshold as the anchor.
    """
    thresholds = thresholds or {}
    grid = anchor + h * np.arange(-round(half / h), round(half / h) + 1)

    def off_of(p0):
        return float(special.logit(p0)) if model.scale == "logit-offset" else 0.0

    off = {c.name: off_of(c.p0) for c in cohorts}
    ties: dict[str, list] = {c.name: [] for c in cohorts}
    exch = []
    for hs in model.historical:
        if hs.tie is not None:
            o = off[hs.tie] if hs.p0 is None else off_of(hs.p0)
            ties[hs.tie].append((hs.r, hs.n, o, hs.tie_sd, hs.weight))
        else:
            o = off_of(hs.p0 if hs.p0 is not None else cohorts[0].p0)
            exch.append(_Stratum(grid, hs.r, hs.n, o, weight=hs.weight))
    strata = []
    for c in cohorts:
        r, n = data.get(c.name, (0, 0))
        th = float(special.logit(thresholds.get(c.name, c.p0))) - off[c.name]
        strata.append(_Stratum(grid, r, n, off[c.name], th, ties=ties[c.name]))
    if model.kind == "independent":
        out = {}
        for c, s in zip(cohorts, strata, strict=True):
            v = s.normal(model.value("nex_mean", c.name), model.value("nex_sd", c.name))
            out[c.name] = (v["q"] / v["m"] if s.q_ok else math.nan, v["e"] / v["m"])
        return out
    mu = grid
    w_mu = stats.norm.pdf(mu, model.mu_mean, model.mu_sd) * strata[0].trap
    taus, w_tau = (np.zeros(1), np.ones(1)) if model.kind == "pooled" else _tau_nodes(model)
    terms = [{k: np.empty((len(taus), len(mu))) for k in "mqe"} for _ in strata]
    hist = np.ones((len(taus), len(mu)))
    for it, tau in enumerate(taus):
        for j, s in enumerate(strata):
            v = {k: s.L * f for k, f in s.f.items()} if tau == 0 else s.ex(tau, mu)
            if model.kind == "exnex":
                name = cohorts[j].name
                w = model.value("weight", name)
                nex = s.normal(model.value("nex_mean", name), model.value("nex_sd", name))
                v = {k: w * v[k] + (1 - w) * nex[k] for k in v}
            for k in "mqe":
                terms[j][k][it] = v[k]
        for s in exch:
            hist[it] *= s.L if tau == 0 else s.ex(tau, mu)["m"]
    base = w_tau[:, None] * w_mu[None, :] * hist
    out = {}
    for j, c in enumerate(cohorts):
        others = base.copy()
        for k in range(len(strata)):
            if k != j:
                others = others * terms[k]["m"]
        den = (others * terms[j]["m"]).sum()
        q = (others * terms[j]["q"]).sum()
        if model.kind == "pooled":  # the μ-integrand jumps at th: end correction
            i = strata[j].i_th
            g = others[0] / strata[0].trap * terms[j]["m"][0]
            q += h**2 / 12 * (g[i - 2] - 8 * g[i - 1] + 8 * g[i + 1] - g[i + 2]) / (12 * h)
        out[c.name] = (q / den if strata[j].q_ok else math.nan,
                       (others * terms[j]["e"]).sum() / den)
    return out


def _engine_at(model, cohorts, data, grid=None, thresholds=None):
    n = [data.get(c.name, (0, 0))[1] for c in cohorts]
    idx = tuple(data.get(c.name, (0, 0))[0] for c in cohorts)
    kw = {} if grid is None else {"grid": grid}
    res = lattice(model, cohorts, n, thresholds=thresholds, **kw)
    return {c.name: (float(res.p_above[c.name][idx]), float(res.mean[c.name][idx]))
            for c in cohorts}


TIED = Historical("phase1", 16, 20, tie="frontline", weight=0.5)

# data set name → (model, cohorts, data)
BRUTE_CASES = {
    "bhm": (Model(), COHORTS, {"frontline": (18, 25), "post_io": (8, 25)}),
    "bhm-mid": (Model(), COHORTS, {"frontline": (11, 25), "post_io": (4, 25)}),
    "bhm-phase1": (Model(historical=(PHASE1,)), COHORTS,
                   {"frontline": (18, 25), "post_io": (8, 25)}),
    "bhm-phase1-mid": (Model(historical=(PHASE1,)), COHORTS,
                       {"frontline": (12, 30), "post_io": (4, 30)}),
    "tied-phase1": (Model(historical=(TIED,)), COHORTS,
                    {"frontline": (12, 30), "post_io": (3, 20)}),
    "exnex": (Model(kind="exnex"), COHORTS, {"frontline": (18, 25), "post_io": (2, 25)}),
    "exnex-tied": (Model(kind="exnex", historical=(TIED,)), COHORTS,
                   {"frontline": (8, 25), "post_io": (6, 25)}),
    "half-cauchy": (Model(tau_prior="half_cauchy", tau_scale=0.5), COHORTS,
                    {"frontline": (12, 25), "post_io": (5, 25)}),
    "half-cauchy-extreme": (Model(tau_prior="half_cauchy", tau_scale=0.5), COHORTS,
                            {"frontline": (0, 15), "post_io": (15, 15)}),
    "half-t": (Model(tau_prior="half_t", tau_df=3.0), COHORTS,
               {"frontline": (9, 20), "post_io": (20, 20)}),
    "tau-small": (Model(tau_scale=0.01), COHORTS, {"frontline": (11, 25), "post_io": (4, 25)}),
    "pooled": (Model(kind="pooled", historical=(PHASE1,)), COHORTS,
               {"frontline": (10, 25), "post_io": (4, 25)}),
    "large-tau": (Model(tau_scale=20.0, mu_sd=3.0), COHORTS,
                  {"frontline": (14, 25), "post_io": (5, 25)}),
    "vague-mu": (Model(tau_scale=20.0, mu_sd=30.0), COHORTS,
                 {"frontline": (14, 25), "post_io": (5, 25)}),
}
BRUTE_STEP = {
    # τ ≈ 0.01 is below the step H: the μ-integrand of P(p > p0) is nearly a jump there
    "tau-small": {"h": 0.005, "half": 8.0},
    # μ ~ N(0, 30²): the grid must hold ±5 prior sd of μ
    "vague-mu": {"h": 0.04, "half": 155.0},
}


@functools.cache
def _brute_case(name: str) -> dict[str, tuple[float, float]]:
    model, cohorts, data = BRUTE_CASES[name]
    return brute(model, cohorts, data, **BRUTE_STEP.get(name, {}))


KNOWN: dict[str, pytest.MarkDecorator] = {}  # vague μ priors: fixed by refined_grid


@pytest.mark.filterwarnings("ignore::adaptive2._base.errors.ConvergenceWarning")  # tau_scale 0.01
@pytest.mark.parametrize(
    "name", [pytest.param(k, marks=KNOWN.get(k, ())) for k in BRUTE_CASES]
)
def test_quadrature_matches_brute_force(name: str) -> None:
    model, cohorts, data = BRUTE_CASES[name]
    ref = _brute_case(name)
    got = _engine_at(model, cohorts, data)
    for c in cohorts:
        (pa, ma), (pb, mb) = got[c.name], ref[c.name]
        assert abs(pa - pb) <= TOL, f"{name} {c.name}: P(p > p0) {pa:.7f} vs brute {pb:.7f}"
        assert abs(ma - mb) <= TOL, f"{name} {c.name}: mean {ma:.7f} vs brute {mb:.7f}"


@OFF_GRID
def test_threshold_off_the_grid_matches_brute_force() -> None:
    """``lattice(thresholds=...)``: P(p > 0.5) for frontline, P(p > 0.2) for post-IO."""
    model = Model(historical=(PHASE1,))
    data = {"frontline": (14, 25), "post_io": (5, 25)}
    thresholds = {"frontline": 0.5, "post_io": 0.2}
    got = _engine_at(model, COHORTS, data, thresholds=thresholds)
    for c in COHORTS:  # the reference grid passes through each threshold in turn
        anchor = float(special.logit(thresholds[c.name]) - special.logit(c.p0))
        ref = brute(model, COHORTS, data, thresholds=thresholds, anchor=anchor)[c.name]
        assert got[c.name][0] == pytest.approx(ref[0], abs=TOL), c.name


def test_logit_scale_matches_brute_force() -> None:
    model = Model(scale="logit", mu_mean=-1.0, historical=(PHASE1,))
    data = {"frontline": (14, 25), "post_io": (5, 25)}
    got = _engine_at(model, COHORTS, data)
    for c in COHORTS:  # the grid must pass through each cohort's own threshold
        ref = brute(model, COHORTS, data, anchor=float(special.logit(c.p0)))[c.name]
        assert got[c.name][0] == pytest.approx(ref[0], abs=TOL), c.name
        assert got[c.name][1] == pytest.approx(ref[1], abs=TOL), c.name


def test_posterior_matches_brute_force_and_lattice() -> None:
    model, cohorts, data = BRUTE_CASES["bhm-phase1-mid"]
    ref = _brute_case("bhm-phase1-mid")
    post = posterior(model, cohorts, data)
    grid = _engine_at(model, cohorts, data)
    for c in cohorts:
        s = post[c.name]
        assert (s["r"], s["n"]) == data[c.name]
        assert abs(s["p_above_p0"] - ref[c.name][0]) <= TOL
        assert abs(s["mean"] - ref[c.name][1]) <= TOL
        assert s["p_above_p0"] == pytest.approx(grid[c.name][0], abs=1e-12)
        assert s["mean"] == pytest.approx(grid[c.name][1], abs=TOL)
        lo, hi = s["interval"]
        assert 0 < lo < s["median"] < hi < 1
        assert 0 < s["sd"] < 0.5


def _scale_mixture_check(model: Model, p0: float, r: int, n: int, tau_pdf) -> None:
    """Single cohort by nested ``scipy.integrate.quad``: θ ~ ∫ N(0, mu_sd² + τ²) dF(τ).

    The tail beyond ±60, where the likelihood is flat, is added as prior mass.
    """
    o = math.log(p0 / (1 - p0))

    def prior(t: float) -> float:
        def f(tau: float) -> float:
            v = model.mu_sd**2 + tau**2
            return math.exp(-0.5 * t * t / v) / math.sqrt(2 * math.pi * v) * tau_pdf(tau)

        return integrate.quad(f, 0, math.inf, epsabs=1e-14, epsrel=1e-11, limit=200)[0]

    def upper_tail(c: float) -> float:
        def f(tau: float) -> float:
            return 0.5 * math.erfc(c / math.sqrt(2 * (model.mu_sd**2 + tau**2))) * tau_pdf(tau)

        return integrate.quad(f, 0, math.inf, epsabs=1e-15, epsrel=1e-11, limit=200)[0]

    def lik(t: float) -> float:
        return math.exp(float(_loglik(t, r, n, o)))

    def integral(f, cuts=(-60, -20, -5, 0, 5, 20, 60)) -> float:
        return sum(integrate.quad(lambda t: prior(t) * lik(t) * f(t), a, b, epsabs=1e-14,
                                  epsrel=1e-11, limit=200)[0]
                   for a, b in itertools.pairwise(cuts))

    tails = (lik(60.0) * upper_tail(60.0), lik(-60.0) * upper_tail(60.0))
    m = integral(lambda t: 1.0) + sum(tails)
    q = (integral(lambda t: 1.0, (0, 5, 20, 60)) + tails[0]) / m
    e = (integral(lambda t: float(special.expit(t + o))) + tails[0]) / m
    ref = brute(model, (Cohort("a", p0, 0.5),), {"a": (r, n)})["a"]
    assert ref[0] == pytest.approx(q, abs=2e-6)
    assert ref[1] == pytest.approx(e, abs=2e-6)


def test_brute_force_reference_agrees_with_nested_quad() -> None:
    """The reference itself: heavy half-Cauchy tail with 15/15, and a half-t(3) case."""
    s = 0.5
    _scale_mixture_check(Model(tau_prior="half_cauchy", tau_scale=s), 0.1, 15, 15,
                         lambda t: 2 / (math.pi * s * (1 + (t / s) ** 2)))
    s, nu = 0.7, 3.0
    c = 2 * math.exp(math.lgamma((nu + 1) / 2) - math.lgamma(nu / 2)) / math.sqrt(nu * math.pi)
    _scale_mixture_check(Model(tau_prior="half_t", tau_df=nu, tau_scale=s), 0.3, 7, 12,
                         lambda t: c / s * (1 + (t / s) ** 2 / nu) ** (-(nu + 1) / 2))


# ---------------------------------------------------------------------------
# Grid convergence: the default grid against FINE_GRID over whole lattices
# ---------------------------------------------------------------------------
CONVERGENCE_CASES = {
    # τ near 0 (scale 0.01) under a half-t(3) prior, with an exchangeable phase 1 stratum
    "tau-0.01-half-t-phase1": Model(tau_prior="half_t", tau_df=3.0, tau_scale=0.01,
                                    historical=(PHASE1,)),
    # EXNEX, half-Cauchy τ, phase 1 tied to frontline with weight 0.5
    "exnex-half-cauchy-tied": Model(kind="exnex", tau_prior="half_cauchy", tau_scale=0.5,
                                    historical=(TIED,)),
}


@pytest.mark.filterwarnings("ignore::adaptive2._base.errors.ConvergenceWarning")
@pytest.mark.parametrize(
    "name",
    [pytest.param(k, marks=SMALL_TAU if "0.01" in k else ()) for k in CONVERGENCE_CASES],
)
def test_default_grid_matches_fine_grid(name: str) -> None:
    """Every outcome of 12 + 12 patients, the extremes 0/12 and 12/12 included."""
    model = CONVERGENCE_CASES[name]
    a = lattice(model, COHORTS, (12, 12))
    # FINE_GRID's EXNEX engine holds 4.6 GB at its peak (50,400 wide columns x 1,201 nodes),
    # over the size guard's default limit of 4 GiB: this test raises it
    with limit_memory("8G"):
        b = lattice(model, COHORTS, (12, 12), grid=FINE_GRID)
    for c in COHORTS:
        dp = np.abs(a.p_above[c.name] - b.p_above[c.name])
        dm = np.abs(a.mean[c.name] - b.mean[c.name])
        worst = np.unravel_index(np.argmax(dp), dp.shape)
        assert dp.max() <= TOL, f"{name} {c.name}: P(p > p0) off by {dp.max():.2e} at r={worst}"
        worst = np.unravel_index(np.argmax(dm), dm.shape)
        assert dm.max() <= TOL, f"{name} {c.name}: mean off by {dm.max():.2e} at r={worst}"


# ---------------------------------------------------------------------------
# Limiting cases
# ---------------------------------------------------------------------------
def _max_diff(a, b, cohorts) -> tuple[float, float]:
    dp = max(float(np.abs(a.p_above[c.name] - b.p_above[c.name]).max()) for c in cohorts)
    dm = max(float(np.abs(a.mean[c.name] - b.mean[c.name]).max()) for c in cohorts)
    return dp, dm


@pytest.mark.filterwarnings("ignore::adaptive2._base.errors.ConvergenceWarning")
def test_tau_to_zero_is_pooled() -> None:
    """τ ~ half-normal(1e-4): the cohorts' log-odds differ by ~1e-4, so the models agree.

    The exact difference is O(τ²) ≈ 1e-8; the tolerance is the quadrature's.
    """
    hist = (PHASE1,)
    bhm = lattice(Model(tau_scale=1e-4, historical=hist), COHORTS, (15, 15))
    pooled = lattice(Model(kind="pooled", historical=hist), COHORTS, (15, 15))
    dp, dm = _max_diff(bhm, pooled, COHORTS)
    assert dp <= TOL and dm <= TOL, (dp, dm)


def test_single_cohort_pooled_is_independent_with_the_mu_prior() -> None:
    """One cohort, τ = 0: θ = μ ~ N(mu_mean, mu_sd²), i.e. that NEX prior; exact identity."""
    pooled = lattice(Model(kind="pooled", mu_mean=0.5, mu_sd=1.5), (FRONT,), (30,))
    indep = lattice(Model(kind="independent", nex_mean=0.5, nex_sd=1.5), (FRONT,), (30,))
    dp, dm = _max_diff(pooled, indep, (FRONT,))
    assert dp <= TOL and dm <= TOL, (dp, dm)


def test_large_tau_single_cohort_is_independent_with_flat_prior() -> None:
    """One cohort, μ ~ N(0, 50²), τ ~ half-normal(50), and independent with NEX N(0, 100²).

    Both priors are flat over the likelihood, so both posteriors are the normalised
    likelihood: p ~ Beta(r, n − r) (flat on the logit). The priors' relative slope
    over the likelihood, |θ̂| / (prior sd)² ≲ 4 / 50², shifts θ by at most
    var(θ | data) × 2e-3 ≈ 2e-3 and p by ≈ 5e-5 (the brute force gives 4e-5 at
    r = 1). Tolerance: the quadrature's 1e-4 plus 5e-5. 0/n and n/n have no
    flat-prior limit (improper posteriors) and are left out.
    """
    n = 25
    bhm = lattice(Model(mu_sd=50.0, tau_scale=50.0), (FRONT,), (n,))
    indep = lattice(Model(kind="independent", nex_sd=100.0), (FRONT,), (n,))
    r = np.arange(1, n)
    flat_p = stats.beta.sf(FRONT.p0, r, n - r)
    for res in (bhm, indep):
        assert np.abs(res.p_above["frontline"][r] - flat_p).max() <= TOL + 5e-5
        assert np.abs(res.mean["frontline"][r] - r / n).max() <= TOL + 5e-5


def test_large_tau_two_cohorts_borrowing_fades_but_a_floor_remains() -> None:
    """Two cohorts, μ ~ N(0, 3²), τ ~ half-normal(s) for s = 1, 5, 20, against independent.

    The limit "τ → ∞ is independent" is not reached by enlarging the prior's scale:
    every offered τ prior keeps positive density at τ = 0, and where τ is below the
    likelihood width (~0.4) the cohorts are effectively pooled with a marginal
    likelihood larger by a factor ~ width / τ. That region keeps a posterior weight
    that decays only like 1/log(s) (and like 1/mu_sd for a flatter μ), so P(p > p0)
    stays 0.01–0.02 above the flat-prior independent value (brute force: 0.0108 and
    0.0188 at s = 20, 0.0101 and 0.0176 at s = 1000). So the test checks that the
    gap shrinks with s and is below 0.025 at s = 20; the brute-force case
    "large-tau" checks the engine's value at s = 20 to 1e-4.
    """
    data = {"frontline": (14, 25), "post_io": (5, 25)}
    indep = _engine_at(Model(kind="independent", nex_sd=100.0), COHORTS, data)
    gaps = []
    for s in (1.0, 5.0, 20.0):
        bhm = _engine_at(Model(tau_scale=s, mu_sd=3.0), COHORTS, data)
        gaps.append([abs(bhm[c.name][0] - indep[c.name][0]) for c in COHORTS])
    gaps = np.array(gaps)
    assert (np.diff(gaps, axis=0) < 0).all(), gaps
    assert gaps[-1].max() <= 0.025, gaps


def _independent_cases() -> list:
    return [  # the vague NEX prior (sd 100) was off by up to 1e-3 before refined_grid
        pytest.param(scale, m, s, r)
        for scale, m, s in [("logit-offset", 0.3, 1.5), ("logit", 0.3, 1.5),
                            ("logit-offset", 0.0, 100.0)]
        for r in (0, 1, 7, 19, 20)
    ]


@pytest.mark.parametrize(("scale", "m", "s", "r"), _independent_cases())
def test_independent_is_a_one_dimensional_integral(scale: str, m: float, s: float,
                                                   r: int) -> None:
    """P(p > p0) and E p under binomial likelihood × N(m, s²) on θ, by scipy quad."""
    n = 20
    model = Model(kind="independent", scale=scale, nex_mean=m, nex_sd=s)
    off = float(special.logit(FRONT.p0)) if scale == "logit-offset" else 0.0
    th = float(special.logit(FRONT.p0)) - off

    def integral(f, a, b):
        g = lambda t: math.exp(_loglik(t, r, n, off)) * stats.norm.pdf(t, m, s) * f(t)  # noqa: E731
        return integrate.quad(g, a, b, epsabs=1e-15, epsrel=1e-12, limit=400)[0]

    lo, hi = m - 12 * s, m + 12 * s
    total = integral(lambda t: 1.0, lo, th) + integral(lambda t: 1.0, th, hi)
    p_above = integral(lambda t: 1.0, th, hi) / total
    mean = (integral(lambda t: special.expit(t + off), lo, th)
            + integral(lambda t: special.expit(t + off), th, hi)) / total
    res = lattice(model, (FRONT,), (n,))
    assert res.p_above["frontline"][r] == pytest.approx(p_above, abs=TOL)
    assert res.mean["frontline"][r] == pytest.approx(mean, abs=TOL)


def test_exnex_with_weight_one_or_zero_is_bhm_or_independent() -> None:
    kw = {"nex_mean": 0.2, "nex_sd": 1.5}
    ex1 = lattice(Model(kind="exnex", weight=1.0, **kw), COHORTS, (10, 10))
    bhm = lattice(Model(), COHORTS, (10, 10))  # a BHM has no NEX prior (setting one is an error)
    ex0 = lattice(Model(kind="exnex", weight=0.0, **kw), COHORTS, (10, 10))
    ind = lattice(Model(kind="independent", **kw), COHORTS, (10, 10))
    assert max(_max_diff(ex1, bhm, COHORTS)) <= 1e-10
    assert max(_max_diff(ex0, ind, COHORTS)) <= 1e-10


def test_tied_stratum_with_tiny_tie_sd_equals_more_data() -> None:
    """A tie with sd → 0 and weight 1 adds 16/20 to the frontline cohort's own data."""
    model = Model(kind="independent",
                  historical=(Historical("phase1", 16, 20, tie="frontline", tie_sd=1e-4),))
    tied = lattice(model, (FRONT,), (10,))
    plain = lattice(Model(kind="independent"), (FRONT,), (30,))
    r = np.arange(11)
    assert np.abs(tied.p_above["frontline"] - plain.p_above["frontline"][r + 16]).max() <= TOL
    assert np.abs(tied.mean["frontline"] - plain.mean["frontline"][r + 16]).max() <= TOL


def test_power_weight_scales_the_historical_likelihood() -> None:
    """Tied with sd → 0: weight 0.5 on 16/20 is the same likelihood as 8/10 at weight 1."""
    def tied(r, n, w):
        h = Historical("phase1", r, n, tie="frontline", tie_sd=1e-4, weight=w)
        return lattice(Model(kind="independent", historical=(h,)), (FRONT,), (15,))

    a, b = tied(16, 20, 0.5), tied(8, 10, 1.0)
    assert max(_max_diff(a, b, (FRONT,))) <= 1e-9


# ---------------------------------------------------------------------------
# Symmetry and monotonicity
# ---------------------------------------------------------------------------
def test_exchangeable_cohorts_are_symmetric() -> None:
    a, b = Cohort("a", 0.25, 0.45), Cohort("b", 0.25, 0.45)
    res = lattice(Model(historical=(Historical("h", 6, 20),)), (a, b), (12, 12))
    assert np.abs(res.p_above["a"] - res.p_above["b"].T).max() <= 1e-12
    assert np.abs(res.mean["a"] - res.mean["b"].T).max() <= 1e-12


@pytest.mark.parametrize("kind", ["hierarchical", "exnex", "pooled", "independent"])
def test_monotone_in_own_responses(kind: str) -> None:
    """P(p_1 > p0_1) and E p_1 increase with r_1 whatever r_2 is."""
    model = Model(kind=kind, historical=(PHASE1,) if kind != "independent" else ())
    res = lattice(model, COHORTS, (20, 20))
    p, m = res.p_above["frontline"], res.mean["frontline"]
    assert (np.diff(m, axis=0) > 0).all()
    assert (np.diff(p, axis=0) >= -1e-12).all()
    inner = (p[:-1] > 1e-9) & (p[1:] < 1 - 1e-9)  # strictly, where P is not saturated
    assert (np.diff(p, axis=0)[inner] > 0).all()
    if kind == "independent":
        assert np.abs(np.diff(p, axis=1)).max() <= 1e-12
        assert np.abs(np.diff(m, axis=1)).max() <= 1e-12


def test_pooled_borrowing_is_monotone_in_other_cohorts_responses() -> None:
    """τ = 0: more post-IO responses never lower frontline's posterior (likelihood ratio order).

    Under the BHM this fails even for a small τ scale (next test), so it is checked
    only for the pooled model.
    """
    res = lattice(Model(kind="pooled", historical=(PHASE1,)), COHORTS, (20, 20))
    p, m = res.p_above["frontline"], res.mean["frontline"]
    assert (np.diff(p, axis=1) >= -1e-9).all()
    assert (np.diff(m, axis=1) > 0).all()


def test_bhm_borrowing_is_not_monotone_under_conflict() -> None:
    """With τ unknown, borrowing is *not* monotone in the other cohort's responses.

    Frontline 0/20 and phase 1 16/20: as post-IO responses rise past ~6/20, τ is
    inferred larger, frontline is shrunk less towards μ, and its posterior mean
    falls. The brute force shows the same turn, so this is the model, not the
    quadrature: "P(p_1 > p0_1) weakly increases in r_2" is not a valid check for a
    BHM (it fails by up to 0.017 at r = (7, 19) here, and even with τ ~
    half-normal(0.3) frontline 20/20 loses 0.004 of posterior mean when post-IO
    goes from 0/20 to 1/20).
    """
    model = Model(historical=(PHASE1,))
    res = lattice(model, COHORTS, (20, 20))
    m = res.mean["frontline"][0]
    assert m[5] > m[0] and m[5] > m[8]
    ref = {r2: brute(model, COHORTS, {"frontline": (0, 20), "post_io": (r2, 20)})["frontline"][1]
           for r2 in (5, 8)}
    assert ref[5] > ref[8]
    assert m[5] == pytest.approx(ref[5], abs=TOL) and m[8] == pytest.approx(ref[8], abs=TOL)


def test_more_historical_responses_raise_the_pooled_posterior() -> None:
    low = lattice(Model(kind="pooled", historical=(Historical("phase1", 8, 20),)), COHORTS,
                  (10, 10))
    high = lattice(Model(kind="pooled", historical=(Historical("phase1", 16, 20),)), COHORTS,
                   (10, 10))
    for c in COHORTS:
        assert (high.mean[c.name] > low.mean[c.name]).all()
        assert (high.p_above[c.name] >= low.p_above[c.name] - 1e-12).all()


# ---------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: Model(kind="bhm"), "kind"),
        (lambda: Model(scale="probit"), "scale"),
        (lambda: Model(tau_prior="gamma"), "tau_prior"),
        (lambda: Model(tau_scale=0.0), "tau_scale"),
        (lambda: Model(tau_df=-1.0), "tau_df"),
        (lambda: Model(mu_sd=0.0), "mu_sd"),
        (lambda: Model(mu_mean=math.nan), "mu_mean"),
        (lambda: Model(weight=1.5), "weight"),
        (lambda: Model(weight={"frontline": -0.1}), "weight"),
        (lambda: Model(nex_sd=0.0), "nex_sd"),
        (lambda: Model(historical=((16, 20),)), "historical"),
        (lambda: Historical("h", 21, 20), "r"),
        (lambda: Historical("h", 1, 0), "n"),
        (lambda: Historical("", 1, 2), "name"),
        (lambda: Historical("h", 1, 2, weight=0.0), "weight"),
        (lambda: Historical("h", 1, 2, weight=1.5), "weight"),
        (lambda: Historical("h", 1, 2, tie_sd=0.0), "tie_sd"),
        (lambda: Historical("h", 1, 2, p0=1.0), "p0"),
        (lambda: Cohort("c", 1.5), "p0"),
        (lambda: Cohort("c", 0.2, 0.0), "p1"),
        (lambda: Cohort("c", 0.2, 0.4, (20, 10)), "looks"),
        (lambda: QuadratureGrid(n_theta=10), "n_theta"),
        (lambda: QuadratureGrid(theta_max=1.0), "theta_max"),
    ],
)
def test_bad_values_raise_design_error_naming_the_field(make, field: str) -> None:
    with pytest.raises(DesignError, match=f"`{field}`"):
        make()


def test_bad_ties_and_data_raise_design_error_naming_the_field() -> None:
    tied_elsewhere = Model(historical=(Historical("phase1", 16, 20, tie="nowhere"),))
    with pytest.raises(DesignError, match="`tie`"):
        lattice(tied_elsewhere, COHORTS, (5, 5))
    untied = Model(kind="independent", historical=(PHASE1,))
    with pytest.raises(DesignError, match="`tie`"):
        lattice(untied, COHORTS, (5, 5))
    with pytest.raises(DesignError, match="`data`"):
        posterior(Model(), COHORTS, {"elsewhere": (1, 2)})
    with pytest.raises(DesignError, match=r"`r \(frontline\)`"):
        posterior(Model(), COHORTS, {"frontline": (3, 2)})
    with pytest.raises(DesignError, match=r"`n \(post_io\)`"):
        posterior(Model(), COHORTS, {"post_io": (0, -1)})
    with pytest.raises(DesignError, match="`level`"):
        posterior(Model(), COHORTS, {"post_io": (0, 1)}, level=1.0)
    with pytest.raises(DesignError, match="`n`"):
        lattice(Model(), COHORTS, (5,))


@pytest.mark.parametrize("flush", [False, True])
def test_shift_tables_equal_the_hat_weights_cell_by_cell(monkeypatch, flush) -> None:
    """Columns read from one table of tails per (τ, position) equal the per-cell evaluation."""
    nodes = np.linspace(-12.0, 12.0, 481)
    rng = np.random.default_rng(3)
    on_grid = -10.0 + 0.025 + 0.05 * np.arange(400)  # a μ grid one θ step apart
    taus = [0.08, 0.3, 1.7, 7.0]
    mu = np.concatenate([on_grid] * len(taus) + [rng.uniform(-11, 11, 50)])
    tau = np.concatenate([np.full(400, t) for t in taus] + [rng.uniform(0.05, 3, 50)])
    groups, rest = quadrature._shift_groups(nodes, mu, tau)
    assert len(groups) == len(taus) and len(rest) == 50  # the random columns: cell by cell
    got = quadrature._hat_levels(nodes, mu, tau, flush=flush)
    monkeypatch.setattr(quadrature, "_SHIFT_MIN_COLUMNS", 10**9)
    want = quadrature._hat_levels(nodes, mu, tau, flush=flush)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-9, atol=1e-15)
        np.testing.assert_allclose(g.sum(axis=0), 1.0, rtol=0, atol=1e-12)
        assert (g >= 0).all()
        if flush:
            assert not ((g > 0) & (g < 1e-280)).any()


@pytest.mark.parametrize("th", [None, 0.3])
def test_consecutive_rows_step_by_the_odds_as_the_exponentials_do(th) -> None:
    """The narrow columns' sums for rows r, r + 1, ... (one product by p / (1 − p) per row)
    equal each row's own exponential to rounding; the steps are refused where they could
    underflow (a span over 600 nats), for rows that are not consecutive, and for 1–2 rows.
    """
    from adaptive2.model.hierarchical import DEFAULT_GRID

    eng = quadrature.engine(Model(kind="exnex", weight=0.5), COHORTS, DEFAULT_GRID)
    for reach, n, rows in [(32, 25, np.arange(0, 26)), (64, 40, np.arange(7, 19))]:
        _, theta, wts, runs, _, _ = eng._narrow_nodes(th, False, reach)
        columns = sum(g for _, g, _ in runs)
        assert columns > 1000 and len(runs) > 2 and theta.size == sum(g * m for _, g, m in runs)
        shift = eng.cohort_terms("post_io", n)["shift"][rows]
        terms = quadrature._row_loglik(eng, "post_io", n, rows.astype(float), shift)(
            theta, ("narrow", th, False, reach))
        got = terms.weighted_sums(wts, runs)
        want = quadrature._run_sums(np.exp(terms(slice(None))) * wts, runs)
        assert got is not None and got.shape == want.shape == (rows.size, columns)
        np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-300)
        assert want.max() > 1e-3  # rows that carry weight, not only the tails
    _, theta, wts, runs, _, _ = eng._narrow_nodes(th, False, 128)
    for n, rows in [(25, np.array([3, 5, 6])), (25, np.array([3, 4])), (100, np.arange(101))]:
        shift = eng.cohort_terms("post_io", n)["shift"][rows]
        terms = quadrature._row_loglik(eng, "post_io", n, rows.astype(float), shift)(
            theta, ("narrow", th, False, 128))
        assert terms.weighted_sums(wts, runs) is None, (n, rows)


def _narrow_reference(off: float, r: int, n: int, shift: float, mu: float, tau: float,
                      above: float | None) -> float:
    """∫ L(θ) N(θ | μ, τ²) dθ (over θ > ``above``), L scaled by e^-shift: scipy's adaptive rule."""

    def f(t: float) -> float:
        ll = r * special.log_expit(t + off) + (n - r) * special.log_expit(-t - off) - shift
        return float(np.exp(ll) * stats.norm.pdf(t, mu, tau))

    lo = mu - 40 * tau if above is None else max(above, mu - 40 * tau)
    return float(integrate.quad(f, lo, mu + 40 * tau, points=[m for m in (mu,) if lo < m],
                                epsabs=0, epsrel=2e-14, limit=400)[0])


@pytest.mark.parametrize("n", [10, 25, 100])
def test_narrow_columns_equal_direct_integrals(n: int) -> None:
    """The narrow columns (τ below twice the θ step: Gauss–Hermite nodes, as many as the
    tilt τ·n needs) against scipy's adaptive integration of L(θ) N(θ | μ, τ²) over θ:
    within 1e-11 for every count, τ and μ (the tails included, where the tilt is largest);
    the columns a threshold cuts (a composite Legendre rule above it) within 1e-10 of the
    column's whole integral (the part above a threshold 7 sd out is itself 1e-13 of it)."""
    from adaptive2.model.hierarchical import DEFAULT_GRID

    eng = quadrature.engine(Model(), COHORTS, DEFAULT_GRID)
    name = "post_io"
    off = eng.offset[name]
    narrow = np.flatnonzero(eng.narrow)
    taus = np.unique(eng.tau[narrow])
    picks = []
    for t in taus[[0, len(taus) // 3, 2 * len(taus) // 3, -1]]:
        cols = narrow[eng.tau[narrow] == t]
        for m in (-11.0, -3.0, 0.7, 11.0):
            picks.append(int(cols[np.argmin(abs(eng.mu[cols] - m))]))
    rows = np.array(sorted({0, 1, n // 3, n - 1, n}))
    shift = eng.cohort_terms(name, n)["shift"][rows]
    loglik = quadrature._row_loglik(eng, name, n, rows.astype(float), shift)
    out = np.zeros((rows.size, eng.mu.size))
    eng._exact_columns(out, loglik, None, slope=n)
    for i, r in enumerate(rows):
        for g in picks:
            want = _narrow_reference(off, int(r), n, shift[i], eng.mu[g], eng.tau[g], None)
            assert out[i, g] == pytest.approx(want, rel=1e-11, abs=1e-300), (r, g)
    if n > 25:  # (a tilt τ·n over 3 moves the mass towards the cut rule's window edge)
        return
    th = 0.05  # cuts the columns with |μ − 0.05| < 9τ
    q = np.zeros_like(out)
    eng._exact_columns(q, loglik, th, without_th=out, slope=n)
    cut = narrow[np.abs(eng.mu[narrow] - th) < 9 * eng.tau[narrow]]
    assert cut.size > 20
    for g in cut[:: max(1, cut.size // 40)]:
        for i, r in enumerate(rows):
            want = _narrow_reference(off, int(r), n, shift[i], eng.mu[g], eng.tau[g], th)
            assert abs(q[i, g] - want) <= 1e-10 * out[i, g], (r, g)
            assert 0 <= q[i, g] <= out[i, g] * (1 + 1e-11)


@pytest.mark.parametrize("kind", ["hierarchical", "exnex"])
def test_narrow_nodes_per_column_within_the_size_estimates(kind: str) -> None:
    """The memory and time estimates count ``sizes.narrow_nodes(n)`` nodes per narrow
    column: a bound on the mean the engine builds at every size, a threshold's cut
    columns included (the default grid and a finer τ grid)."""
    from adaptive2.kernels import sizes
    from adaptive2.model.hierarchical import DEFAULT_GRID

    for grid in (DEFAULT_GRID, QuadratureGrid(n_tau=80)):
        eng = quadrature.engine(Model(kind=kind), COHORTS, grid)
        narrow = int(eng.narrow.sum())
        for n in (1, 10, 32, 100, 256, 300, 1000, 5000):
            reach = quadrature._slope_bucket(n)
            for th in (None, 0.0):
                _, theta, _, runs, _, _ = eng._narrow_nodes(th, False, reach)
                assert sum(g for _, g, _ in runs) <= narrow
                assert theta.size <= sizes.narrow_nodes(n) * narrow, (n, th)


@pytest.mark.parametrize(("tie_sd", "weight", "n_h"), [(1e-4, 1.0, 20), (0.03, 0.5, 40),
                                                      (0.09, 1.0, 100)])
def test_narrow_tie_equals_direct_integrals(tie_sd: float, weight: float, n_h: int) -> None:
    """A stratum tied more tightly than the θ grid resolves (sd below two steps): its factor
    on the θ nodes, ∫ L_h(t)^w N(t | θ, sd²) dt by Gauss–Hermite, against scipy's adaptive
    integration to 1e-11 (where the factor is above 1e-250)."""
    from adaptive2.model.hierarchical import DEFAULT_GRID

    r_h = int(0.8 * n_h)
    model = Model(historical=(Historical("phase1", r_h, n_h, tie="frontline", tie_sd=tie_sd,
                                         weight=weight),))
    eng = quadrature.engine(model, COHORTS, DEFAULT_GRID)
    got = eng._hist[1]["frontline"]
    off = eng.offset["frontline"]

    def f(t: float, theta: float) -> float:
        ll = weight * (r_h * special.log_expit(t + off) + (n_h - r_h) * special.log_expit(-t - off))
        return float(np.exp(ll) * stats.norm.pdf(t, theta, tie_sd))

    for i in range(0, eng.theta.size, 37):
        theta = eng.theta[i]
        want = integrate.quad(f, theta - 40 * tie_sd, theta + 40 * tie_sd, args=(theta,),
                              points=[theta], epsabs=0, epsrel=2e-14, limit=400)[0]
        if want > 1e-250:
            assert got[i] == pytest.approx(want, rel=1e-11), (i, theta)


def test_run_sums_add_each_columns_nodes() -> None:
    """Runs of columns with as many nodes each: the sums of each column's nodes, any rows."""
    rng = np.random.default_rng(5)
    counts = [4] * 3 + [8] * 2 + [48] * 4
    runs = ((0, 3, 4), (12, 2, 8), (28, 4, 48))
    values = rng.random((3, sum(counts)))
    edges = np.concatenate([[0], np.cumsum(counts)])
    want = np.stack([values[:, a:b].sum(axis=1) for a, b in itertools.pairwise(edges)], axis=1)
    np.testing.assert_allclose(quadrature._run_sums(values, runs), want, rtol=1e-14)
    np.testing.assert_allclose(quadrature._run_sums(values[1], runs), want[1], rtol=1e-14)


def test_hermite_reach_is_where_the_rule_stops_integrating_a_tilt() -> None:
    """Each order's reach: m Gauss–Hermite nodes integrate E[e^{cZ}] = e^{c²/2} to 1e-13
    for every |c| up to it, and no longer 5% beyond it (so the table is not loose)."""
    z_tab, w_tab = quadrature._hermite_tables()
    for i, (m, reach) in enumerate(zip(quadrature._HERMITE_ORDERS, quadrature._HERMITE_REACH,
                                       strict=True)):
        z, w = z_tab[i, :m], w_tab[i, :m]
        assert w.sum() == pytest.approx(1.0, abs=1e-14)
        for c in np.linspace(-reach, reach, 41):
            assert abs(w @ np.exp(c * z) / np.exp(c * c / 2) - 1) <= 1e-13, (m, c)
        c = 1.05 * reach
        assert abs(w @ np.exp(c * z) / np.exp(c * c / 2) - 1) > 1e-13, m
    assert list(quadrature._hermite_order(np.array([0.0, 0.06, 0.061, 3.0, 50.0]))) == [
        0, 0, 1, 4, len(quadrature._HERMITE_ORDERS) - 1]


def test_stepped_products_equal_the_products_of_the_stepped_rows() -> None:
    """One pass over runs of nodes gives (rows ⊙ step) @ K for every threshold's step."""
    rng = np.random.default_rng(11)
    nodes = np.linspace(-12.0, 12.0, 481)
    kernel = rng.standard_normal((481, 300))
    rows, extra = rng.random((5, 481)), rng.random((5, 481))
    cases = [[quadrature._above_fraction(nodes, 0.0173)],
             [quadrature._above_fraction(nodes, t) for t in (-1.3, 0.05, 0.05, 2.0)],
             [np.zeros(481), np.ones(481)],  # thresholds at 0 and 1
             [quadrature._above_fraction(nodes, -20.0), quadrature._above_fraction(nodes, 20.0)]]
    for steps in cases:
        for ext in (None, extra):
            plain, stepped, more = quadrature._stepped_products(rows, steps, ext, kernel)
            np.testing.assert_allclose(plain, rows @ kernel, rtol=1e-12, atol=1e-12)
            assert len(stepped) == len(steps)
            for step, got in zip(steps, stepped, strict=True):
                np.testing.assert_allclose(got, (rows * step) @ kernel, rtol=1e-12, atol=1e-12)
            if ext is None:
                assert more is None
            else:
                np.testing.assert_allclose(more, ext @ kernel, rtol=1e-12, atol=1e-12)


def test_shared_band_weights_equal_each_columns_own() -> None:
    """Columns with the same position of mu between nodes share band weights; ends are their own."""
    nodes = np.linspace(-12.0, 12.0, 481)
    step = 0.05 / 8  # refined mu cells, as near the threshold
    mu = np.concatenate([-11.99 + step * np.arange(40), -0.5 + step * np.arange(160),
                         11.95 - step * np.arange(40)])  # both ends of the grid too
    for tau in (1e-4, 0.003, 0.1):
        index, got = quadrature._shared_bands(nodes, mu, tau)
        index_ref, want = quadrature._banded_hat_weights(nodes, mu, tau)
        np.testing.assert_array_equal(index, index_ref)
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-13 * want.max())
        assert (got.sum(axis=0) == pytest.approx(1.0, abs=1e-12))


def test_columns_are_a_slice_only_where_contiguous() -> None:
    mask = np.zeros(10, dtype=bool)
    mask[3:7] = True
    assert quadrature._columns(mask) == slice(3, 7)
    mask[8] = True
    np.testing.assert_array_equal(quadrature._columns(mask), [3, 4, 5, 6, 8])
    assert quadrature._columns(np.zeros(4, dtype=bool)).size == 0
    eng = quadrature.engine(Model(kind="exnex"), COHORTS, QuadratureGrid())
    a = np.arange(3.0 * len(eng.mu)).reshape(3, -1)
    np.testing.assert_array_equal(a[:, eng.wide_at], a[:, eng.wide])
    np.testing.assert_array_equal(a[:, eng.point_at], a[:, eng.point])
