"""Trial conduct: distributed response delays, conduct settings in scenario files, CLI.

References: the delay distributions' moments by quadrature of the inverse CDF over
(0, 1); scipy.stats' gamma and lognormal CDFs (regularised incomplete gamma and
the normal CDF, not the inverse functions the sampler uses); a closed form for the
time at which the first N patients' outcomes are known under Poisson accrual
(below), for any delay distribution, mixed over the look at which the trial stops
when it has interim looks.

Closed form. With Poisson accrual at rate lambda, the N-th arrival A_N is
Gamma(N, 1/lambda) and, given A_N = a, the first N - 1 arrival times are iid
uniform on (0, a). The outcomes of the first N patients are all known by t iff
A_i + D_i <= t for every i, so

    P(T <= t) = int_0^t g_N(a) F_D(t - a) H(t, a)^(N-1) da,
    H(t, a) = (I(t) - I(t - a)) / a,   I(z) = int_0^z F_D = z F_D(z) - E[D; D <= z],

with E[D; D <= z] = mean * P(k + 1, z / theta) for a gamma delay (shape k, scale
theta) and mean * Phi((log z - mu - sigma^2) / sigma) for a lognormal one.
Non-evaluable patients (probability q, replaced) thin the process: evaluable
patients arrive at rate lambda (1 - q).
"""

from __future__ import annotations

import dataclasses
import json
import pickle
import tomllib
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from scipy import integrate, optimize, special, stats

from _simulation import run, strip
from adaptive2._base.errors import DesignError, DesignFileError
from adaptive2._base.rng import seed_sequence, stream
from adaptive2.cli import main
from adaptive2.engines.exact import oc
from adaptive2.engines.montecarlo import simulate
from adaptive2.engines.trials_single import _patients
from adaptive2.io.design_files import design_from_dict
from adaptive2.io.scenario_files import load_scenarios
from adaptive2.model.cohorts import CohortDesign
from adaptive2.model.conduct import Conduct
from adaptive2.model.designs import Design
from adaptive2.model.hierarchical import Cohort, Model, QuadratureGrid
from adaptive2.model.priors import Beta
from adaptive2.model.rules import PosteriorProbability
from adaptive2.model.scenarios import CohortScenario, ScenarioGrid

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "designs" / "scenarios.toml"
GRID = QuadratureGrid(n_theta=201, n_mu=101, n_tau=20)

# designs/frontline-pp.toml as it was in 2026 (a predictive futility rule, three looks)
FRONTLINE_PP = """
name = "frontline-pp"
[prior]
base = [0.5, 0.5]
historical = { r = 16, n = 20 }
power = 0.5
robust = { weight = 0.5, mean = 0.5, n = 1 }
[cohort]
p0 = 0.40
p1 = 0.60
looks = [15, 25, 40]
[futility]
rule = "predictive"
threshold = 0.05
[final]
rule = "posterior"
cutoff = 0.95
"""


@pytest.fixture(scope="module")
def pp() -> Design:
    return design_from_dict(tomllib.loads(FRONTLINE_PP))


def single_look(n: int) -> Design:
    return Design(
        name=f"single-{n}",
        prior=Beta(1, 1),
        looks=(n,),
        final=PosteriorProbability(p0=0.3, cutoff=0.9),
        p0=0.3,
        p1=0.5,
    )


def gamma_params(mean: float, sd: float) -> tuple[float, float]:
    """Shape and scale of the gamma with this mean and sd."""
    return (mean / sd) ** 2, sd * sd / mean


def lognormal_params(mean: float, sd: float) -> tuple[float, float]:
    """mu and sigma (log scale) of the lognormal with this mean and sd (natural scale)."""
    s2 = np.log1p((sd / mean) ** 2)
    return np.log(mean) - s2 / 2, np.sqrt(s2)


def reference_dist(kind: str, mean: float, sd: float):
    """scipy.stats frozen distribution with this mean and sd."""
    if kind == "gamma":
        k, theta = gamma_params(mean, sd)
        return stats.gamma(k, scale=theta)
    mu, sigma = lognormal_params(mean, sd)
    return stats.lognorm(sigma, scale=np.exp(mu))


# ---------------------------------------------------------------------------
# 1. The delay sampler (inverse CDF of the patient's delay uniform)
# ---------------------------------------------------------------------------
DISTS = [
    ("gamma", 2.5, 0.5),
    ("gamma", 3.0, 0.75),
    ("gamma", 1.0, 1.5),  # shape < 1: density unbounded at 0
    ("lognormal", 2.5, 0.5),
    ("lognormal", 1.0, 1.5),
]


@pytest.mark.parametrize("delay", DISTS)
def test_delay_moments_by_quadrature_of_the_inverse_cdf(delay):
    """int_0^1 F^-1(u) du = mean and int_0^1 F^-1(u)^2 du = mean^2 + sd^2."""
    c = Conduct(delay=delay)
    _, mean, sd = delay

    def ppf(u: float) -> float:
        return float(c.delay_ppf(u))

    # split at 1/2: the tails near 0 and 1 are integrable singularities of the ppf
    m1 = sum(integrate.quad(ppf, a, b, limit=200, epsabs=1e-13)[0] for a, b in ((0, 0.5), (0.5, 1)))
    m2 = sum(
        integrate.quad(lambda u: ppf(u) ** 2, a, b, limit=200, epsabs=1e-13)[0]
        for a, b in ((0, 0.5), (0.5, 1))
    )
    assert m1 == pytest.approx(mean, rel=1e-6)
    assert np.sqrt(m2 - m1 * m1) == pytest.approx(sd, rel=1e-5)
    assert c.delay_mean == mean and c.delay_sd == sd


@pytest.mark.parametrize("delay", DISTS)
def test_delay_ppf_inverts_the_reference_cdf(delay):
    u = np.concatenate([np.linspace(1e-9, 1 - 1e-9, 2001), [1e-15, 0.5, 1 - 1e-12]])
    x = Conduct(delay=delay).delay_ppf(u)
    assert np.all(np.diff(x[:2001]) > 0)
    np.testing.assert_allclose(reference_dist(*delay).cdf(x), u, rtol=1e-9, atol=1e-13)


def test_fixed_and_uniform_ppf_and_moments():
    u = np.array([0.0, 0.25, 0.999])
    np.testing.assert_array_equal(Conduct(delay=2.5).delay_ppf(u), [2.5, 2.5, 2.5])
    np.testing.assert_array_equal(Conduct(delay=(2.0, 3.0)).delay_ppf(u), 2.0 + u)
    c = Conduct(delay=(2.0, 3.0))
    assert (c.delay_kind, c.delay_mean, c.delay_sd) == ("uniform", 2.5, 1 / np.sqrt(12))
    assert (Conduct().delay_kind, Conduct().delay_sd) == ("fixed", 0.0)


@pytest.mark.parametrize("kind", ["gamma", "lognormal"])
def test_simulated_patients_delays_ks_and_independent_of_response(kind):
    """The simulator's own delays: KS against scipy.stats; same law for responders.

    Fixed seed: the statistics are deterministic, and the bounds are the 0.1%
    critical values (a wrong parameterisation or a delay drawn from the response
    uniform fails by far).
    """
    delay = (kind, 2.5, 0.5)
    c = Conduct(delay=delay, p_nonevaluable=0.2)
    root = seed_sequence(20240611)
    _, evaluable, response, d, ev_rank = _patients(
        c, 0.5, 30, lambda b: stream(root, 11, 0, b), 2000, 2000
    )
    used = evaluable & (ev_rank <= 30)
    assert np.isnan(d[~used]).all() and np.isfinite(d[used]).all()
    x = d[used]  # 60,000 delays
    ks = stats.kstest(x, reference_dist(*delay).cdf)
    assert ks.statistic < 1.95 / np.sqrt(x.size), ks
    two = stats.ks_2samp(d[used & response], d[used & ~response])
    assert two.pvalue > 0.001, two


def test_every_delay_form_sees_the_same_patients():
    """Gaps, evaluability and responses do not depend on the delay; delays share uniforms."""
    root = seed_sequence(5)
    pats = {
        name: _patients(Conduct(delay=d), 0.4, 25, lambda b: stream(root, 3, 1, b), 300, 500)
        for name, d in (("u", (0.0, 1.0)), ("g", ("gamma", 2.5, 0.5)), ("l", ("lognormal", 3, 1)))
    }
    u = pats["u"][3][:, :25]  # a uniform(0, 1) delay is the patient's delay uniform itself
    for name, delay in (("g", ("gamma", 2.5, 0.5)), ("l", ("lognormal", 3, 1))):
        for i in (0, 1, 2, 4):
            np.testing.assert_array_equal(pats[name][i], pats["u"][i])
        np.testing.assert_array_equal(pats[name][3][:, :25], Conduct(delay=delay).delay_ppf(u))


# ---------------------------------------------------------------------------
# 2. Closed forms for the duration (time at which N outcomes are known)
# ---------------------------------------------------------------------------
def partial_mean(kind: str, mean: float, sd: float, z):
    """E[D; D <= z] in closed form: mean * P(k + 1, z / theta) for a gamma delay,
    mean * Phi((log z - mu - sigma^2) / sigma) for a lognormal one."""
    z = np.asarray(z, dtype=float)
    if kind == "gamma":
        k, theta = gamma_params(mean, sd)
        return mean * special.gammainc(k + 1, np.maximum(z, 0.0) / theta)
    mu, sigma = lognormal_params(mean, sd)
    lz = np.log(np.maximum(z, 1e-300))
    return np.where(z > 0, mean * special.ndtr((lz - mu - sigma**2) / sigma), 0.0)


@pytest.mark.parametrize("delay", DISTS)
def test_partial_mean_closed_form(delay):
    dist = reference_dist(*delay)
    for z in (0.3, 1.0, 2.5, 4.0):
        assert partial_mean(*delay, z) == pytest.approx(dist.expect(lb=0, ub=z), rel=1e-7)


def nth_known_cdf(t: float, n: int, rate: float, kind: str, mean: float, sd: float) -> float:
    """P(the outcomes of the first n patients are all known by t), by adaptive quadrature.

    Module docstring, with scipy.stats distributions: the cross-check of the
    vectorised form below (slow).
    """
    dist = reference_dist(kind, mean, sd)

    def big_i(z):
        return z * dist.cdf(z) - partial_mean(kind, mean, sd, z) if z > 0 else 0.0

    i_t = big_i(t)

    def integrand(a):
        h = (i_t - big_i(t - a)) / a
        return stats.gamma.pdf(a, n, scale=1 / rate) * dist.cdf(t - a) * h ** (n - 1)

    return integrate.quad(integrand, 0, t, limit=200, epsabs=1e-11)[0]


def nth_known_cdf_gl(t, n: int, rate: float, kind: str, mean: float, sd: float,
                     nodes: int = 400) -> np.ndarray:
    """The same CDF for a vector of t: Gauss-Legendre over the N-th arrival time a in (0, t)."""
    t = np.atleast_1d(np.asarray(t, dtype=float))[:, None]
    x, w = np.polynomial.legendre.leggauss(nodes)
    a, wa = t * (x + 1) / 2, t * w / 2
    if kind == "gamma":
        k, theta = gamma_params(mean, sd)

        def cdf(z):
            return special.gammainc(k, np.maximum(z, 0.0) / theta)
    else:
        mu, sigma = lognormal_params(mean, sd)

        def cdf(z):
            return np.where(z > 0, special.ndtr((np.log(np.maximum(z, 1e-300)) - mu) / sigma), 0.0)

    def big_i(z):
        return np.where(z > 0, z * cdf(z) - partial_mean(kind, mean, sd, z), 0.0)

    h = (big_i(t) - big_i(t - a)) / a
    log_g = n * np.log(rate) + (n - 1) * np.log(a) - rate * a - special.gammaln(n)
    return (wa * np.exp(log_g) * cdf(t - a) * h ** (n - 1)).sum(axis=1)


def moments_of(cdf, upper: float, nodes: int = 400) -> tuple[float, float]:
    """Mean and sd of a non-negative variable from its (vectorised) CDF, by Gauss-Legendre."""
    x, w = np.polynomial.legendre.leggauss(nodes)
    t, wt = upper * (x + 1) / 2, upper * w / 2
    sf = 1 - cdf(t)
    e1, e2 = (wt * sf).sum(), (wt * 2 * t * sf).sum()
    return float(e1), float(np.sqrt(e2 - e1 * e1))


@pytest.mark.parametrize(
    ("kind", "mean", "sd", "rate"), [("gamma", 2.5, 0.5, 2.0), ("lognormal", 2.0, 1.0, 1.35)]
)
def test_vectorised_closed_form_equals_adaptive_quadrature(kind, mean, sd, rate):
    ts = (3.0, 7.0, 10.0, 14.0)
    fast = nth_known_cdf_gl(ts, 12, rate, kind, mean, sd)
    slow = [nth_known_cdf(t, 12, rate, kind, mean, sd) for t in ts]
    np.testing.assert_allclose(fast, slow, rtol=1e-8, atol=1e-12)
    assert 0 < fast[0] < fast[-1] < 1


@pytest.mark.parametrize(
    ("delay", "rate", "q", "lag", "on_interim"),
    [
        (("gamma", 2.5, 0.5), 2.0, 0.0, 0.0, "pause"),
        (("lognormal", 3.0, 1.0), 2.0, 0.2, 0.5, "continue"),
    ],
)
def test_single_look_duration_closed_form(delay, rate, q, lag, on_interim):
    """Duration = time the N-th outcome is known + decision lag (no interims)."""
    n = 12
    lam = rate * (1 - q)  # evaluable patients

    def cdf(t):
        return nth_known_cdf_gl(t, n, lam, *delay)

    upper = n / lam + delay[1] + 12 * (np.sqrt(n) / lam + delay[2])
    mean, sd = moments_of(cdf, upper)
    conduct = Conduct(rates=(rate,), delay=delay, p_nonevaluable=q, on_interim=on_interim,
                      decision_lag=lag)
    sim = run(single_look(n), [0.4], conduct=conduct, n_sims=20_000, seed=31, chunk_size=5_000)
    got = sim.isel(design=0, scenario=0)
    m, se = float(got["mean_duration"]), float(got["mean_duration_mcse"])
    assert abs(m - (mean + lag)) <= 4 * se, (m, mean + lag, se)
    # SD: delta-method MCSE bound, se(s) <= s * sqrt((kurtosis - 1) / (4 n)), kurtosis < 6 here
    s = float(got["sd_duration"])
    assert abs(s - sd) <= 4 * sd * np.sqrt(5 / (4 * 20_000)), (s, sd)
    med = optimize.brentq(lambda t: cdf(t)[0] - 0.5, 0.1, upper) + lag
    dens = float(np.diff(cdf([med - lag - 0.01, med - lag + 0.01]))[0] / 0.02)
    q50 = float(got["duration_q50"])
    # order-statistic MCSE of the median, plus the thinning of the sorted sample kept per
    # chunk (every 25th of 5,000: 0.005 apart in probability)
    assert abs(q50 - med) <= (4 * 0.5 / np.sqrt(20_000) + 0.005) / dens, (q50, med)
    assert float(got["mean_time_to_decision"].isel(look=0)) == pytest.approx(m, rel=1e-12)


def test_two_cohort_trial_duration_closed_form():
    """No interim stop: the trial ends when both cohorts' last outcomes are known.

    The cohorts' patients are independent, so P(T <= t) = F_1(t) F_2(t), with F_j
    the closed form above (cohort 2 thinned by its non-evaluable patients).
    """
    n = 12
    design = CohortDesign(
        name="no-interim",
        model=Model(kind="independent"),
        cohorts=(Cohort("frontline", 0.4, 0.6, (n,)), Cohort("post_io", 0.1, 0.3, (n,))),
        final=PosteriorProbability(0.4, 0.9),
        grid=GRID,
    )
    conduct = {
        "frontline": Conduct(rates=(2.0,), delay=("gamma", 2.5, 0.5)),
        "post_io": Conduct(rates=(1.5,), delay=("lognormal", 2.0, 1.0), p_nonevaluable=0.1),
    }

    def cdf(t):
        return nth_known_cdf_gl(t, n, 2.0, "gamma", 2.5, 0.5) * nth_known_cdf_gl(
            t, n, 1.35, "lognormal", 2.0, 1.0
        )

    mean, sd = moments_of(cdf, 40.0)
    scen = [CohortScenario("s", {"frontline": 0.5, "post_io": 0.2})]
    sim = run(design, scen, conduct=conduct, n_sims=20_000, seed=8, chunk_size=5_000).isel(
        design=0, scenario=0
    )
    m, se = float(sim["mean_trial_duration"]), float(sim["mean_trial_duration_mcse"])
    assert abs(m - mean) <= 4 * se, (m, mean, se)
    s, s_se = float(sim["sd_trial_duration"]), float(sim["sd_trial_duration_mcse"])
    assert 0 < s_se < 0.05 and abs(s - sd) <= 4 * s_se, (s, sd, s_se)
    np.testing.assert_allclose(sim["mean_duration"].values, [m, m], rtol=1e-14)


# ---------------------------------------------------------------------------
# 3. Fixed and uniform delays with interim stops: against the stop-look mixture
# ---------------------------------------------------------------------------
def nth_known_cdf_uniform(t, n: int, rate: float, lo: float, hi: float,
                          nodes: int = 400) -> np.ndarray:
    """The closed form of the module docstring for a delay uniform on (lo, hi).

    F_D(z) = clip((z - lo) / (hi - lo), 0, 1) and I(z) = int_0^z F_D: zero below lo,
    (z - lo)^2 / (2 (hi - lo)) on (lo, hi), (hi - lo) / 2 + (z - hi) above. A fixed
    delay (lo = hi = d) is the shifted Gamma: P(A_n <= t - d).
    """
    t = np.atleast_1d(np.asarray(t, dtype=float))
    if hi == lo:
        return special.gammainc(n, rate * np.maximum(t - lo, 0.0))
    t = t[:, None]
    x, w = np.polynomial.legendre.leggauss(nodes)
    a, wa = t * (x + 1) / 2, t * w / 2
    width = hi - lo

    def cdf(z):
        return np.clip((z - lo) / width, 0.0, 1.0)

    def big_i(z):
        return np.where(z <= lo, 0.0, np.where(z <= hi, (z - lo) ** 2 / (2 * width),
                                               width / 2 + (z - hi)))

    h = (big_i(t) - big_i(t - a)) / a
    log_g = n * np.log(rate) + (n - 1) * np.log(a) - rate * a - special.gammaln(n)
    return (wa * np.exp(log_g) * cdf(t - a) * h ** (n - 1)).sum(axis=1)


def test_uniform_closed_form_against_direct_sampling():
    """The uniform-delay CDF against max_i(A_i + D_i) drawn directly (numpy, not adaptive2)."""
    rng = np.random.default_rng(5)
    n, rate, lo, hi, draws = 15, 2.0, 2.0, 3.0, 200_000
    arrivals = np.cumsum(rng.exponential(1 / rate, size=(draws, n)), axis=1)
    known = (arrivals + rng.uniform(lo, hi, size=(draws, n))).max(axis=1)
    for t in (8.0, 9.5, 11.0, 13.0):
        emp = (known <= t).mean()
        ref = nth_known_cdf_uniform(t, n, rate, lo, hi)[0]
        assert abs(emp - ref) <= 4 * np.sqrt(ref * (1 - ref) / draws) + 1e-6, (t, emp, ref)


@pytest.mark.parametrize("delay", [2.5, (2.0, 3.0)], ids=["fixed", "uniform"])
def test_duration_with_interim_stops_is_the_stop_look_mixture(pp, delay):
    """Enrolment continues through the interims, so arrivals and delays are independent
    of the responses and the duration is the mixture, over the look k at which the trial
    stops (exact probabilities from ``oc``), of T(n_k): the time the first n_k outcomes
    are known (closed form above). Mean, SD and median within their Monte Carlo error;
    for a fixed delay d the patients enrolled by a stop at an interim look are
    min(n_k + Poisson(lambda d), N), and N at the final look.
    """
    rate, n_sims = 2.0, 40_000
    lo, hi = (delay, delay) if np.isscalar(delay) else delay
    p_k = oc(pp, [0.45])["p_stop_at"].sum("reason").values[0]
    looks = pp.looks

    def cdf(t):
        return sum(p * nth_known_cdf_uniform(t, n, rate, lo, hi) for p, n in zip(p_k, looks,
                                                                                  strict=True))

    upper = looks[-1] / rate + hi + 12 * np.sqrt(looks[-1]) / rate
    mean, sd = moments_of(cdf, upper)
    got = run(pp, [0.45], conduct=Conduct(rates=(rate,), delay=delay), n_sims=n_sims,
              seed=20240611, chunk_size=5_000).isel(design=0, scenario=0)
    m, se = float(got["mean_duration"]), float(got["mean_duration_mcse"])
    assert abs(m - mean) <= 4 * se, (m, mean, se)
    # SD: the MCSE of a sample SD, sqrt(mu4 - sigma^4) / (2 sigma sqrt(n)), mu4 by quadrature
    x, w = np.polynomial.legendre.leggauss(800)
    tt, wt = upper * (x + 1) / 2, upper * w / 2
    dens = np.gradient(cdf(tt), tt)
    mu4 = float((wt * dens * (tt - mean) ** 4).sum())
    sd_se = np.sqrt(max(mu4 - sd**4, 0.0)) / (2 * sd * np.sqrt(n_sims))
    assert abs(float(got["sd_duration"]) - sd) <= 4 * sd_se + 1e-3, (float(got["sd_duration"]), sd)
    med = optimize.brentq(lambda t: cdf(t)[0] - 0.5, 0.1, upper)
    q50, q50_se = float(got["duration_q50"]), float(got["duration_q50_mcse"])
    assert abs(q50 - med) <= 4 * q50_se + 1e-3, (q50, med, q50_se)
    if hi == lo:
        n_max = looks[-1]
        extra = stats.poisson(rate * lo)
        enrolled = sum(
            p * (n_max if k == len(looks) - 1 else
                 sum(min(n + j, n_max) * extra.pmf(j) for j in range(200)))
            for k, (p, n) in enumerate(zip(p_k, looks, strict=True))
        )
        e, e_se = float(got["expected_enrolled"]), float(got["expected_enrolled_mcse"])
        assert abs(e - enrolled) <= 4 * e_se, (e, enrolled, e_se)


def test_multi_cohort_uniform_delays_closed_form():
    """Two cohorts, final rule only, uniform delays, enrolment continuing: each cohort's
    decision comes at the joint final analysis, when both cohorts' first N outcomes are
    known, so the duration's CDF is the product of the two cohorts' closed forms."""
    lo, hi, n_max, rates = 2.0, 3.0, 20, {"frontline": 1.5, "post_io": 2.5}
    design = CohortDesign(
        name="bhm",
        model=Model(kind="hierarchical"),
        cohorts=(Cohort("frontline", 0.4, 0.6, (10, 20)), Cohort("post_io", 0.1, 0.3, (10, 20))),
        final={"frontline": PosteriorProbability(0.4, 0.9),
               "post_io": PosteriorProbability(0.1, 0.9)},
        grid=GRID,
    )
    scen = [CohortScenario("s", {"frontline": 0.5, "post_io": 0.2})]
    conduct = {c: Conduct(rates=(r,), delay=(lo, hi)) for c, r in rates.items()}
    ds = run(design, scen, conduct=conduct, n_sims=20_000, seed=20240611,
             chunk_size=5_000).isel(design=0, scenario=0)

    def cdf(t):
        return np.prod([nth_known_cdf_uniform(t, n_max, r, lo, hi) for r in rates.values()],
                       axis=0)

    mean, _ = moments_of(cdf, n_max / min(rates.values()) + hi + 30)
    m, se = float(ds["mean_trial_duration"]), float(ds["mean_trial_duration_mcse"])
    assert abs(m - mean) <= 4 * se, (m, mean, se)
    for c in rates:
        m, se = (float(ds[v].sel(cohort=c)) for v in ("mean_duration", "mean_duration_mcse"))
        assert abs(m - mean) <= 4 * se, (c, m, mean, se)


# ---------------------------------------------------------------------------
# 4. Reproducibility with distributed delays
# ---------------------------------------------------------------------------
def test_workers_one_vs_two_bit_identical_gamma_and_lognormal(pp):
    simon = pp.replace(name="two-look", looks=(20, 40))
    for delay in (("gamma", 2.5, 0.5), ("lognormal", 3.0, 0.75)):
        conduct = Conduct(delay=delay, p_nonevaluable=0.1, on_interim="pause", decision_lag=0.5)
        kw = {"conduct": conduct, "n_sims": 1_500, "seed": 4}
        one = run([pp, simon], (0.4, 0.6), workers=1, **kw)
        two = run([pp, simon], (0.4, 0.6), workers=2, **kw)
        xr.testing.assert_identical(strip(one), strip(two))
        assert json.loads(one.attrs["conduct"])["delay"] == list(delay)
        assert np.isfinite(one["mean_duration"].values).all()


def test_workers_one_vs_two_bit_identical_multi_cohort_gamma():
    design = CohortDesign(
        name="bhm",
        model=Model(kind="hierarchical"),
        cohorts=(Cohort("frontline", 0.4, 0.6, (10, 20)), Cohort("post_io", 0.1, 0.3, (10, 20))),
        futility=PosteriorProbability(0.4, 0.2),
        final={"frontline": PosteriorProbability(0.4, 0.9),
               "post_io": PosteriorProbability(0.1, 0.9)},
        grid=GRID,
    )
    grid = load_scenarios(SCENARIOS)
    conduct = {c: grid.conduct_for("slow", c) for c in design.names}
    scen = [CohortScenario("s", {"frontline": 0.5, "post_io": 0.2})]
    kw = {"conduct": conduct, "n_sims": 1_500, "seed": 4}
    one = run(design, scen, workers=1, **kw)
    two = run(design, scen, workers=2, **kw)
    xr.testing.assert_identical(strip(one), strip(two))


# ---------------------------------------------------------------------------
# 5. Conduct validation and value-object behaviour
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("given", "stored"),
    [
        (2, 2.0),
        ((2, 3), (2.0, 3.0)),
        ([2, 3], (2.0, 3.0)),
        (("fixed", 1), 1.0),
        (("uniform", 2, 3), (2.0, 3.0)),
        (("gamma", 2.5, 0.5), ("gamma", 2.5, 0.5)),
        (["lognormal", 3, 1], ("lognormal", 3.0, 1.0)),
    ],
)
def test_delay_forms_are_normalised(given, stored):
    c = Conduct(delay=given)
    assert c.delay == stored and type(c.delay) is type(stored)
    assert c == pickle.loads(pickle.dumps(c)) and hash(c) == hash(Conduct(delay=stored))


@pytest.mark.parametrize(
    "delay",
    [
        -1.0,
        float("inf"),
        float("nan"),
        "2.5",
        True,
        (3.0, 1.0),
        (1.0, 2.0, 3.0),
        (-1.0, 2.0),
        (1.0, float("inf")),
        ("gamma", 2.5),
        ("gamma", 2.5, 0.5, 1.0),
        ("gamma", 0.0, 0.5),
        ("gamma", 2.5, 0.0),
        ("gamma", -2.5, 0.5),
        ("lognormal", 2.5, -0.5),
        ("lognormal", float("inf"), 0.5),
        ("weibull", 2.5, 0.5),
        ("uniform", 3.0, 1.0),
        ("fixed", -1.0),
        (),
    ],
)
def test_bad_delay_names_the_field_and_the_forms(delay):
    with pytest.raises(DesignError) as err:
        Conduct(delay=delay)
    msg = str(err.value)
    assert msg.startswith("`delay` of Conduct must be a number >= 0 (fixed), (low, high)")
    assert "('gamma', mean, sd) or ('lognormal', mean, sd)" in msg
    assert msg.endswith(f"; got {delay!r}.")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"decision_lag": float("inf")}, "decision_lag"),
        ({"rates": (float("inf"),)}, "rates"),
        ({"rates": (1.0, 2.0), "starts": (0.0, float("inf"))}, "starts"),
    ],
)
def test_infinite_conduct_values_refused(kwargs, field):
    with pytest.raises(DesignError, match=f"^`{field}` of Conduct"):
        Conduct(**kwargs)


def test_describe():
    c = Conduct(rates=(1.0, 2.0), starts=(0.0, 6.0), delay=("gamma", 2.5, 0.5),
                p_nonevaluable=0.1, on_interim="pause", decision_lag=1.0)
    assert c.describe() == (
        "accrual 1/month from month 0, 2/month from month 6; response known after gamma with "
        "mean 2.5 and sd 0.5 months; P(non-evaluable) 0.1; at interims enrolment pauses; "
        "decision lag 1 months"
    )
    assert "uniform on [2, 3] months" in Conduct(delay=(2, 3)).describe()
    assert "after 2.5 months" in Conduct().describe()


# ---------------------------------------------------------------------------
# 6. [[conduct]] in scenario files
# ---------------------------------------------------------------------------
def test_shipped_conduct_settings():
    grid = load_scenarios(SCENARIOS)
    assert grid.conduct == (
        ("base", Conduct(rates=(2.0,), delay=("gamma", 2.5, 0.5), on_interim="continue")),
        (
            "slow",
            Conduct(rates=(1.0, 2.0), starts=(0.0, 6.0), delay=("gamma", 2.5, 0.5),
                    p_nonevaluable=0.1, on_interim="pause", decision_lag=1.0),
        ),
        ("fast-overrun", Conduct(rates=(4.0,), delay=("gamma", 3.0, 0.75))),
    )
    assert grid.conduct_cohorts == ()
    assert grid.conduct_for("slow", "post_io") == grid.conduct[1][1]
    # the rest of the file is read as before
    assert set(grid.cohorts) == {"frontline", "post_io"} and len(grid.multi) == 7


BASE = """
[frontline]
p0 = 0.4
null = [0.4]
[post_io]
p0 = 0.1
alternative = [0.3]
"""


def write(tmp_path: Path, text: str) -> Path:
    """A scenario file with two cohort tables; top-level keys go before the tables."""
    f = tmp_path / "scen.toml"
    f.write_text(text + BASE if text.startswith("conduct =") else BASE + text)
    return f


def test_conduct_forms_defaults_and_cohort_overrides(tmp_path):
    f = write(tmp_path, """
[[conduct]]
name = "a"
accrual = 2
delay = 2.5
[[conduct]]
name = "b"
accrual = [1, 3]
starts = [0, 4]
delay = { uniform = [2, 3] }
p_nonevaluable = 0.05
on_interim = "pause"
decision_lag = 0.5
[conduct.cohorts.post_io]
accrual = [1.0]
starts = [0.0]
delay = { lognormal = [3.0, 1.0] }
[[conduct]]
name = "c"
accrual = [2.0]
delay = { fixed = 1.5 }
""")
    grid = load_scenarios(f)
    a, b, c = (x for _, x in grid.conduct)
    assert [n for n, _ in grid.conduct] == ["a", "b", "c"]
    assert a == Conduct(rates=(2.0,), delay=2.5)  # defaults: start 0, no dropout, continue
    assert b == Conduct(rates=(1.0, 3.0), starts=(0.0, 4.0), delay=(2.0, 3.0),
                        p_nonevaluable=0.05, on_interim="pause", decision_lag=0.5)
    assert c.delay == 1.5
    post_io = grid.conduct_for("b", "post_io")
    assert post_io == dataclasses.replace(b, rates=(1.0,), starts=(0.0,),
                                          delay=("lognormal", 3.0, 1.0))
    assert grid.conduct_for("b", "frontline") == b and grid.conduct_for("b") == b
    assert grid.conduct_for("a", "post_io") == a
    with pytest.raises(DesignError, match=r"`name` of ScenarioGrid.conduct_for must be one of "
                                          r"\['a', 'b', 'c'\]; got 'z'"):
        grid.conduct_for("z")
    assert ScenarioGrid(cohorts={}).conduct == ()


def test_override_cohorts_unchecked_without_cohort_tables(tmp_path):
    f = tmp_path / "s.toml"
    f.write_text('[[conduct]]\nname = "a"\naccrual = 1\ndelay = 2\n'
                 '[conduct.cohorts.anything]\ndecision_lag = 2.0\n')
    grid = load_scenarios(f)
    assert grid.conduct_for("a", "anything").decision_lag == 2.0


SETTING = '[[conduct]]\nname = "s"\naccrual = [2.0]\ndelay = 2.5\n'
WHERE = '[[conduct]] "s"'
DELAY_FORMS = (
    "`delay` must be a number of months (fixed), { uniform = [low, high] }, "
    "{ gamma = [mean, sd] } or { lognormal = [mean, sd] } (0 <= low <= high; mean > 0, sd > 0)"
)
ACCRUAL = "`accrual` must be a number or a list of numbers > 0 (patients per month, one per period)"


@pytest.mark.parametrize(
    ("text", "where", "expected"),
    [
        ('[conduct]\nname = "s"\n', "", "`conduct` must be an array of tables ([[conduct]]"),
        ("conduct = [1]\n", "", "`conduct` must be an array of tables ([[conduct]] with name, "
                                "accrual, delay, ...); got [1]."),
        ('[[conduct]]\naccrual = 2\ndelay = 2\n', "[[conduct]] 1",
         '`name` must be a non-empty string naming the setting (e.g. "base"); got None.'),
        ('[[conduct]]\nname = ""\naccrual = 2\ndelay = 2\n', "[[conduct]] 1",
         "`name` must be a non-empty string"),
        (SETTING + SETTING, "[[conduct]] \"s\"",
         "`name` must differ from the other settings' names ['s']; got 's'."),
        (SETTING + "dleay = 3\n", WHERE, "unknown key `dleay`; allowed keys: name, accrual, "
                                         "starts, delay, p_nonevaluable, on_interim, "
                                         "decision_lag, tox_delay, cohorts."),
        ('[[conduct]]\nname = "s"\ndelay = 2\n', WHERE, "missing key `accrual`; give a number "
                                                        "or a list of numbers > 0"),
        ('[[conduct]]\nname = "s"\naccrual = 2\n', WHERE, "missing key `delay`; give a number "
                                                          "of months (fixed), { uniform"),
        (SETTING.replace("[2.0]", "[-1.0]"), WHERE, ACCRUAL + "; got [-1.0]."),
        (SETTING.replace("[2.0]", "[]"), WHERE, ACCRUAL + "; got []."),
        (SETTING.replace("[2.0]", '"fast"'), WHERE, ACCRUAL + "; got 'fast'."),
        (SETTING.replace("[2.0]", "true"), WHERE, ACCRUAL + "; got True."),
        (SETTING + "starts = 0\n", WHERE, "`starts` must be a list of period starts in months, "
                                          "the first 0 (one per accrual rate); got 0."),
        (SETTING + "starts = [0, 3]\n", WHERE,
         "`starts` of Conduct must be one start per rate, the first 0; got [0.0, 3.0]."),
        (SETTING + "starts = [1]\n", WHERE,
         "`starts` of Conduct must be one start per rate, the first 0; got [1.0]."),
        (SETTING.replace("2.5", '"2.5"'), WHERE, DELAY_FORMS + "; got '2.5'."),
        (SETTING.replace("2.5", "[2, 3]"), WHERE, DELAY_FORMS + "; got [2, 3]."),
        (SETTING.replace("2.5", "-1"), WHERE, DELAY_FORMS + "; got -1."),
        (SETTING.replace("2.5", "{ gamma = [2.5] }"), WHERE,
         DELAY_FORMS + "; got {'gamma': [2.5]}."),
        (SETTING.replace("2.5", "{ gamma = [2.5, 0] }"), WHERE,
         DELAY_FORMS + "; got {'gamma': [2.5, 0]}."),
        (SETTING.replace("2.5", "{ lognormal = [-1, 0.5] }"), WHERE,
         DELAY_FORMS + "; got {'lognormal': [-1, 0.5]}."),
        (SETTING.replace("2.5", "{ weibull = [2, 1] }"), WHERE,
         DELAY_FORMS + "; got {'weibull': [2, 1]}."),
        (SETTING.replace("2.5", "{ gamma = [2.5, 0.5], uniform = [2, 3] }"), WHERE,
         DELAY_FORMS + "; got {'gamma': [2.5, 0.5], 'uniform': [2, 3]}."),
        (SETTING.replace("2.5", "{ uniform = [3, 2] }"), WHERE,
         DELAY_FORMS + "; got {'uniform': [3, 2]}."),
        (SETTING.replace("2.5", "{ gamma = 2.5 }"), WHERE, DELAY_FORMS + "; got {'gamma': 2.5}."),
        (SETTING + "p_nonevaluable = 1.2\n", WHERE,
         "`p_nonevaluable` of Conduct must be a number in [0, 0.95]; got 1.2."),
        (SETTING + 'on_interim = "wait"\n', WHERE,
         "`on_interim` of Conduct must be one of {'continue', 'pause'}; got 'wait'."),
        (SETTING + "decision_lag = -1\n", WHERE,
         "`decision_lag` of Conduct must be a number >= 0; got -1."),
        (SETTING + "cohorts = 3\n", WHERE,
         "`cohorts` must hold [conduct.cohorts.NAME] tables; got 3."),
        (SETTING + "[conduct.cohorts.postio]\naccrual = 1\n",
         "[conduct.cohorts.postio] of " + WHERE,
         "the cohort must be one of ['frontline', 'post_io'] (the file's cohorts); got 'postio'."),
        (SETTING + '[conduct.cohorts.post_io]\nname = "x"\n', "[conduct.cohorts.post_io] of "
         + WHERE, "unknown key `name`; allowed keys: accrual, starts, delay, p_nonevaluable, "
                  "on_interim, decision_lag, tox_delay."),
        (SETTING + "[conduct.cohorts.post_io]\ndelay = { gamma = [1, -1] }\n",
         "[conduct.cohorts.post_io] of " + WHERE, DELAY_FORMS + "; got {'gamma': [1, -1]}."),
        (SETTING + "[conduct.cohorts.post_io]\naccrual = [1, 2]\n",
         "[conduct.cohorts.post_io] of " + WHERE,
         "`starts` must be given in the override when its `accrual` has 2 periods and the "
         "setting's has 1 (the setting's starts [0.0] do not fit it); add starts = "
         "[0.0, ...], one start per rate, the first 0."),
        (SETTING + "[conduct.cohorts.post_io]\naccrual = [1, 2]\nstarts = [0]\n",
         "[conduct.cohorts.post_io] of " + WHERE,
         "`starts` of Conduct must be one start per rate, the first 0; got [0.0]."),
    ],
)
def test_bad_conduct_tables_name_file_table_key_and_value(tmp_path, text, where, expected):
    f = write(tmp_path, text)
    with pytest.raises(DesignFileError) as err:
        load_scenarios(f)
    prefix = f"{f}: {where}: " if where else f"{f}: "
    assert str(err.value).startswith(prefix), str(err.value)
    assert expected in str(err.value), str(err.value)


def test_override_changing_the_number_of_periods_needs_its_own_starts(tmp_path):
    """The example of designs/scenarios.toml's comment, under the two-period "slow" setting.

    Without `starts` the override inherited "slow"'s starts [0, 6] with one rate and failed
    with Conduct's generic message; now the file's error says what to add, and the
    comment's example (which gives starts) loads.
    """
    text = SCENARIOS.read_text(encoding="utf-8")
    lines = text.splitlines()
    start = next(i for i, ln in enumerate(lines) if "e.g. under \"slow\"" in ln) + 1
    example = []
    for ln in lines[start:]:
        if not ln.startswith("#   "):
            break
        example.append(ln[4:])
    assert example[0] == "[conduct.cohorts.post_io]" and "starts = [0.0]" in example
    cut = text.index("# Fast-overrun case")
    f = tmp_path / "scen.toml"
    f.write_text(text[:cut] + "\n".join(example) + "\n\n" + text[cut:], encoding="utf-8")
    grid = load_scenarios(f)
    slow = grid.conduct_for("slow")
    assert grid.conduct_for("slow", "post_io") == dataclasses.replace(
        slow, rates=(1.0,), starts=(0.0,))
    assert grid.conduct_for("slow", "frontline") == slow
    without = [ln for ln in example if not ln.startswith("starts")]
    f.write_text(text[:cut] + "\n".join(without) + "\n\n" + text[cut:], encoding="utf-8")
    with pytest.raises(DesignFileError, match=r"\[conduct.cohorts.post_io\] of \[\[conduct\]\] "
                                              r'"slow": `starts` must be given in the override '
                                              r"when its `accrual` has 1 period and the "
                                              r"setting's has 2 \(the setting's starts "
                                              r"\[0.0, 6.0\] do not fit it\); add starts = "
                                              r"\[0.0\]"):
        load_scenarios(f)


def test_delay_forms_have_one_definition(capsys):
    """Conduct, the CLI's --delay and the scenario file's `delay` spell the same forms."""
    from adaptive2.io.scenario_files import DELAY_TOML
    from adaptive2.model.conduct import delay_forms

    assert DELAY_TOML == delay_forms("toml") == DELAY_FORMS.removeprefix(
        "`delay` must be ")
    with pytest.raises(DesignError) as err:
        Conduct(delay=-1)
    assert str(err.value) == f"`delay` of Conduct must be {delay_forms('python')}; got -1."
    assert main(["simulate", str(ROOT / "designs" / "frontline-pp.toml"), "--delay", "x"]) == 2
    assert capsys.readouterr().err == (
        f"adaptive2: error: --delay must be {delay_forms('cli')}; got 'x'\n")
    with pytest.raises(DesignError, match="`syntax` of delay_forms must be one of"):
        delay_forms("yaml")


def test_compare_cli_still_reads_the_file_with_conduct(capsys):
    files = [str(ROOT / "designs" / "frontline-pp.toml"), str(SCENARIOS)]
    assert main(["compare", *files, "--scenarios", str(SCENARIOS), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["p"] for r in rows] == [0.3, 0.4, 0.48, 0.5, 0.6, 0.7, 0.8]


# ---------------------------------------------------------------------------
# 7. CLI --delay
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("flag", "stored"),
    [
        ("2.5", 2.5),
        ("1,3", [1.0, 3.0]),
        ("gamma:2.5,0.5", ["gamma", 2.5, 0.5]),
        ("lognormal:2.5, 0.5", ["lognormal", 2.5, 0.5]),
        ("Gamma:3,0.75", ["gamma", 3.0, 0.75]),
    ],
)
def test_cli_delay_forms(flag, stored, capsys):
    path = str(ROOT / "designs" / "frontline-pp.toml")
    rc = main(["simulate", path, "--p", "0.4", "--n-sims", "300", "--seed", "2", "--json",
               "--delay", flag])
    assert rc == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["conduct"]["delay"] == stored


def test_cli_gamma_delay_equals_the_api(pp, capsys):
    path = ROOT / "designs" / "frontline-pp.toml"
    rc = main(["simulate", str(path), "--p", "0.4", "--n-sims", "300", "--seed", "2", "--json",
               "--delay", "gamma:2.5,0.5"])
    assert rc == 0
    row = json.loads(capsys.readouterr().out)["rows"][0]
    api = simulate(design_from_dict(tomllib.loads(path.read_text())), [0.4],
                   conduct=Conduct(delay=("gamma", 2.5, 0.5)), n_sims=300, seed=2,
                   progress=False)
    assert row["mean_duration"] == float(api["mean_duration"].values[0, 0])


@pytest.mark.parametrize(
    "flag",
    ["gamma:2.5", "gamma:2.5,0.5,1", "weibull:1,2", "gamma:-1,0.5", "gamma:2.5,0",
     "lognormal:x,1", "3,1", "x", "nan", "inf,inf", "1,2,3", "gamma:", ":1,2"],
)
def test_cli_bad_delay(flag, capsys):
    rc = main(["simulate", str(ROOT / "designs" / "frontline-pp.toml"), "--delay", flag])
    assert rc == 2
    err = capsys.readouterr().err
    assert err == (
        "adaptive2: error: --delay must be D (fixed months), LO,HI (uniform), gamma:MEAN,SD or "
        f"lognormal:MEAN,SD (0 <= LO <= HI; MEAN > 0, SD > 0); got {flag!r}\n"
    )
