"""Predictive-probability rules in multi-cohort designs with borrowing.

PP_j(r) = Σ_x P(x | r, model) · 1{cohort j's final rule succeeds at r_j + x of N_j, the
other cohorts at their current data}. The references share no code with the engine:

* independent cohorts with a Beta(a, b) prior: the single-cohort beta-binomial
  ``predictive_success`` and the single-cohort ``Design`` boundaries. The engine's
  independent model has a normal prior on the logit; a Beta(a, b) prior is the same
  as a flat logit prior times the binomial kernel p^a (1 − p)^b, i.e. a nearly flat
  NEX prior (sd 10⁴) and a stratum of a of a + b pseudo-responses tied to the cohort
  with tie sd 1e-4;
* a brute-force BHM / EXNEX integral written below (Gauss–Legendre in u = F(τ),
  in μ on panels refined towards μ = 0, and in θ — on θ itself for τ ≥ 0.5, on
  z = (θ − μ)/τ below — of the closed-form binomial likelihoods, with the
  predictive P(x | data) integrated literally against Bin(x; m, p_j));
* trials simulated patient by patient (numpy, fixed seed), the procedure written
  out in the test.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy import interpolate, special, stats

from adaptive2 import Beta, Design
from adaptive2._base.errors import DesignError, DesignFileError
from adaptive2.engines.cohort_exact import cohort_oc
from adaptive2.engines.posterior import lattice, predictive
from adaptive2.io.design_files import cohort_design_from_dict, cohort_design_to_dict
from adaptive2.model.cohorts import CohortDesign, predictive_probability
from adaptive2.model.hierarchical import Cohort, Historical, Model
from adaptive2.model.rules import (
    PosteriorProbability,
    PredictiveProbability,
    predictive_success,
)
from adaptive2.model.scenarios import CohortScenario

TOL = 1e-4  # quadrature accuracy of hierarchical.py (P(p > p0), means; here also P(x | data))

FRONT = Cohort("frontline", 0.40, 0.60, (6, 14))
POST = Cohort("post_io", 0.10, 0.30, (6, 12))
SMALL = (FRONT, POST)
FINAL = {"frontline": PosteriorProbability(0.40, 0.90), "post_io": PosteriorProbability(0.10, 0.90)}
PHASE1_TIED = Historical("phase1", 16, 20, tie="frontline", tie_sd=0.5, weight=0.5)


def _design(model: Model, cohorts=SMALL, **kw) -> CohortDesign:
    kw.setdefault("futility", PredictiveProbability(0.1))
    kw.setdefault("final", FINAL)
    return CohortDesign(name="pp", model=model, cohorts=cohorts, **kw)


def _interim_sizes(design: CohortDesign, k: int) -> tuple[int, ...]:
    return tuple(c.looks[k] for c in design.cohorts)


# ---------------------------------------------------------------------------
# Independent cohorts with Beta priors = the single-cohort predictive probability
# ---------------------------------------------------------------------------
BETA_PRIORS = {"frontline": Beta(4.0, 3.0), "post_io": Beta(2.5, 7.5)}
BETA_COHORTS = (Cohort("frontline", 0.40, 0.60, (10, 20, 30)),
                Cohort("post_io", 0.10, 0.30, (8, 16, 25)))


def _beta_as_model(priors: dict[str, Beta]) -> Model:
    """Independent cohorts whose logit prior is flat × p^a (1 − p)^b, i.e. Beta(a, b).

    Needs a, b ≥ 2 or so: the NEX prior's mass beyond ±12 sits on the end nodes, where
    the kernel is about expit(−12)^a (for a = 1.5 that already shifts PP by 4e-5).
    """
    strata = []
    for name, b in priors.items():
        w = 0.5 if (2 * b.a) % 2 else 1.0  # a = w r, b = w (n − r) with integers r, n
        assert (b.a / w).is_integer() and (b.b / w).is_integer()
        strata.append(Historical(f"beta-{name}", round(b.a / w), round((b.a + b.b) / w),
                                 tie=name, tie_sd=1e-4, weight=w))
    return Model(kind="independent", nex_sd=1e4, historical=tuple(strata))


def test_independent_model_with_beta_priors_is_the_single_cohort_predictive_probability():
    """Every outcome of every interim look, for both cohorts; decisions = single-cohort boundaries.

    The representation of the Beta prior is exact up to the NEX prior's curvature
    (θ²/2·10⁻⁸) and its mass lumped at ±12 (weight × p^a at θ = −12 ≈ 1e-13 here);
    PP agrees to 3e-8, well inside the quadrature accuracy.
    """
    fut, eff = PredictiveProbability(0.05), PredictiveProbability(0.95)
    design = _design(_beta_as_model(BETA_PRIORS), BETA_COHORTS, futility=fut, efficacy=eff,
                     final={"frontline": PosteriorProbability(0.4, 0.95),
                            "post_io": PosteriorProbability(0.1, 0.9)})
    table = design.boundaries()
    for j, c in enumerate(design.cohorts):
        single = Design(name=c.name, prior=BETA_PRIORS[c.name], looks=c.looks, futility=fut,
                        efficacy=eff, final=design.rule("final", c.name))
        bounds = single.boundaries()
        s = bounds.efficacy_min_r[-1]
        # the engine's final analysis succeeds exactly from s responses on (with a margin)
        n_final = tuple(x.looks[-1] for x in design.cohorts)
        post = np.moveaxis(lattice(design.model, design.cohorts, n_final).p_above[c.name], j, 0)
        exact = stats.beta.sf(c.p0, BETA_PRIORS[c.name].a + np.arange(c.looks[-1] + 1),
                              BETA_PRIORS[c.name].b + c.looks[-1] - np.arange(c.looks[-1] + 1))
        # (the step of P(p > p0) at p0 is integrated to about 2e-6 on the θ grid)
        assert np.abs(post - exact[:, None]).max() <= 1e-5
        cutoff = design.rule("final", c.name).cutoff
        assert np.abs(exact - cutoff).min() > 1e-4
        assert s == int(np.argmax(exact > cutoff))
        for k in range(design.n_looks - 1):
            n = _interim_sizes(design, k)
            pp = np.moveaxis(_pp_lattice(design, n, j), j, 0)  # (r_j, r_other)
            r = np.arange(n[j] + 1)
            ref = predictive_success(BETA_PRIORS[c.name], r, n[j], c.looks[-1], s)
            assert np.abs(pp - ref[:, None]).max() <= 1e-7, (c.name, k)
            # the other cohort's data never matter without borrowing
            assert np.abs(pp - pp[:, :1]).max() <= 1e-12
            assert np.abs(ref - 0.05).min() > 1e-6 and np.abs(ref - 0.95).min() > 1e-6
            row = next(x for x in table if x["look"] == k + 1 and x["cohort"] == c.name)
            assert row["futility_max_r"] == bounds.futility_max_r[k]
            assert row["efficacy_min_r"] == bounds.efficacy_min_r[k]


def test_three_independent_cohorts_with_beta_priors():
    """Three cohorts (3-D lattice, the contraction's einsum path): every cohort, every outcome."""
    priors = {"a": Beta(3.0, 5.0), "b": Beta(2.5, 2.5), "c": Beta(3.0, 4.0)}
    cohorts = (Cohort("a", 0.2, 0.4, (5, 10)), Cohort("b", 0.3, 0.5, (4, 9)),
               Cohort("c", 0.1, 0.3, (3, 8)))
    fut, final = PredictiveProbability(0.1), PosteriorProbability(0.2, 0.8)
    design = _design(_beta_as_model(priors), cohorts, futility=fut, final=final)
    n = _interim_sizes(design, 0)
    for j, c in enumerate(cohorts):
        single = Design(name=c.name, prior=priors[c.name], looks=c.looks, futility=fut,
                        final=design.rule("final", c.name))
        s = single.boundaries().efficacy_min_r[-1]
        ref = predictive_success(priors[c.name], np.arange(n[j] + 1), n[j], c.looks[-1], s)
        shape = [1, 1, 1]
        shape[j] = -1
        pp = _pp_lattice(design, n, j)
        assert pp.shape == (6, 5, 4)
        assert np.abs(pp - ref.reshape(shape)).max() <= 1e-6, c.name


def _pp_lattice(design: CohortDesign, n: tuple[int, ...], j: int) -> np.ndarray:
    """PP_j over the lattice at sizes n, through the public per-data function."""
    shape = tuple(x + 1 for x in n)
    out = np.empty(shape)
    for idx in np.ndindex(shape):
        data = {c.name: (idx[i], n[i]) for i, c in enumerate(design.cohorts)}
        out[idx] = predictive_probability(design, data)[design.cohorts[j].name]
    return out


# ---------------------------------------------------------------------------
# Brute-force reference for two cohorts (BHM / EXNEX, tied strata)
# ---------------------------------------------------------------------------
def _gl(edges, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Composite Gauss–Legendre nodes and weights on the panels between ``edges``."""
    x, w = np.polynomial.legendre.leggauss(k)
    a, b = np.asarray(edges[:-1])[:, None], np.asarray(edges[1:])[:, None]
    return (a + (b - a) * (x + 1) / 2).ravel(), (w * (b - a) / 2).ravel()


_MU_EDGES = np.array(sorted({0.0, *(s * e for s in (-1, 1)
                                     for e in (1e-3, 1e-2, 0.05, 0.2, 0.5, 1.0, 2.0, 4.0, 10.0))}))
_U_EDGES = [0.0, 1e-4, 1e-3, 0.01, 0.05, 0.15, 0.3, 0.5, 0.7, 0.85, 0.95, 0.99, 0.999, 1.0]
_Z_MAX, _THETA_MAX, _TAU_SWITCH = 10.0, 16.0, 0.5


def _tie_factor(model: Model, name: str, off: float):
    """log of ∏ ∫ L_h(θ_h) N(θ_h; θ, sd²) dθ_h over strata tied to ``name`` (a spline in θ)."""
    grid = np.linspace(-30, 30, 6001)
    z, wz = np.polynomial.legendre.leggauss(64)
    z, wz = 9 * z, 9 * wz * stats.norm.pdf(9 * z)
    log_f = np.zeros_like(grid)
    for h in model.historical:
        if h.tie == name:
            eta = grid[:, None] + h.tie_sd * z[None, :] + off
            ll = h.weight * (h.r * special.log_expit(eta) + (h.n - h.r) * special.log_expit(-eta))
            log_f += np.log(np.exp(ll) @ wz)
    return interpolate.CubicSpline(grid, log_f)


def brute_predictive(model: Model, cohorts, n, cutoffs, k_mu=8, k_u=16, k_z=80):
    """Per cohort j: {"pmf": P(x | r) (lattice × x), "p_final", "pp", "margin"}.

    ``n`` are the current sizes, each cohort's N its last look, ``cutoffs`` the final
    posterior cutoffs. Refining every rule (k_mu 20, k_u 24, k_z 200, θ and z ranges
    ±20 and ±12) changes no pmf entry by more than 1e-5, no final posterior by more
    than 1e-6 and no PP by more than 1e-6 (BHM and EXNEX with the tied phase 1 below).
    """
    assert model.kind in ("hierarchical", "exnex") and model.scale == "logit-offset"
    J = len(cohorts)
    off = [float(special.logit(c.p0)) for c in cohorts]
    ties = [_tie_factor(model, c.name, off[i]) for i, c in enumerate(cohorts)]
    mu, w_mu = _gl(_MU_EDGES * model.mu_sd + model.mu_mean, k_mu)
    w_mu = w_mu * stats.norm.pdf(mu, model.mu_mean, model.mu_sd)
    u, w_u = _gl(_U_EDGES, k_u)
    s = model.tau_scale
    tau = s * stats.norm.ppf((1 + u) / 2) if model.tau_prior == "half_normal" else None
    assert tau is not None
    z, w_z = _gl(np.linspace(-_Z_MAX, _Z_MAX, 21), k_z // 20)
    w_z = w_z * stats.norm.pdf(z)
    xg, wg = np.polynomial.legendre.leggauss(k_z)
    th, w_th = _gl(np.linspace(-_THETA_MAX, _THETA_MAX, 65), 8)

    def parts(i, theta):
        """L at n_i (rows r), Bin(x; m_i, p) (rows x), L at N_i (rows s): rows × theta."""
        c = cohorts[i]
        nn, big = n[i], c.looks[-1]
        m = big - nn
        shape = (-1,) + (1,) * theta.ndim
        lp = special.log_expit(theta + off[i])[None]
        lq = special.log_expit(-theta - off[i])[None]
        tie = ties[i](theta)[None]
        r, x, t = np.arange(nn + 1), np.arange(m + 1), np.arange(big + 1)
        lcomb = special.gammaln(m + 1) - special.gammaln(x + 1) - special.gammaln(m - x + 1)
        lik = np.exp(r.reshape(shape) * lp + (nn - r).reshape(shape) * lq + tie)
        binom = np.exp(lcomb.reshape(shape) + x.reshape(shape) * lp + (m - x).reshape(shape) * lq)
        fin = np.exp(t.reshape(shape) * lp + (big - t).reshape(shape) * lq + tie)
        return lik, binom, fin

    G = (len(tau), len(mu))
    acc = []
    for i, c in enumerate(cohorts):
        nn, big = n[i], c.looks[-1]
        A = np.zeros((nn + 1, big - nn + 1, *G))  # ∫ N · L · Bin(x)
        F = np.zeros((big + 1, *G))  # ∫ N · L at N
        Fq = np.zeros_like(F)  # the same over θ > 0 (p > p0)
        lik_t, bin_t, fin_t = parts(i, th)
        for it, t in enumerate(tau):
            if t >= _TAU_SWITCH:
                kern = stats.norm.pdf(th[None, :], mu[:, None], t) * w_th[None, :]
                A[:, :, it] = np.einsum("rt,xt,mt->rxm", lik_t, bin_t, kern, optimize=True)
                F[:, it] = fin_t @ kern.T
                Fq[:, it] = fin_t @ (kern * (th > 0)[None, :]).T
                continue
            lik, binom, fin = parts(i, mu[:, None] + t * z[None, :])
            A[:, :, it] = np.einsum("rmz,xmz,z->rxm", lik, binom, w_z, optimize=True)
            F[:, it] = fin @ w_z
            lo = np.clip(-mu / t, -_Z_MAX, _Z_MAX)[:, None]  # θ > 0  ⇔  z > −μ/τ
            zq = lo + (_Z_MAX - lo) * (xg[None, :] + 1) / 2
            wq = wg[None, :] * (_Z_MAX - lo) / 2 * stats.norm.pdf(zq)
            _, _, fin_q = parts(i, mu[:, None] + t * zq)
            Fq[:, it] = (fin_q * wq[None]).sum(-1)
        if model.kind == "exnex":
            w = model.value("weight", c.name)
            mean, sd = model.value("nex_mean", c.name), model.value("nex_sd", c.name)
            tn, wn = _gl(np.linspace(mean - 12 * sd, mean + 12 * sd, 97), 8)
            wn = wn * stats.norm.pdf(tn, mean, sd)
            lik, binom, fin = parts(i, tn)
            A = w * A + (1 - w) * np.einsum("rt,xt,t->rx", lik, binom, wn)[:, :, None, None]
            F = w * F + (1 - w) * (fin @ wn)[:, None, None]
            Fq = w * Fq + (1 - w) * (fin @ (wn * (tn > 0)))[:, None, None]
        acc.append((A, F, Fq))
    w = (w_u[:, None] * w_mu[None, :]).ravel()
    out = {}
    for j, c in enumerate(cohorts):
        assert J == 2
        k = 1 - j
        A, F, Fq = (a.reshape(*a.shape[: a.ndim - 2], -1) for a in acc[j])
        Bk = acc[k][0].sum(axis=1).reshape(n[k] + 1, -1) * w[None, :]  # L_k at n_k
        num = np.einsum("rxg,sg->rsx", A, Bk)
        pmf = num / num.sum(-1, keepdims=True)  # (r_j, r_k, x)
        p_final = (Fq @ Bk.T) / (F @ Bk.T)  # (r_j + x, r_k)
        m = c.looks[-1] - n[j]
        total = np.arange(n[j] + 1)[:, None] + np.arange(m + 1)[None, :]
        hits = np.moveaxis(p_final[total] > cutoffs[c.name], 2, 1)  # (r_j, r_k, x)
        pp = (pmf * hits).sum(-1)
        if j == 1:
            pmf, pp = np.swapaxes(pmf, 0, 1), pp.T
        out[c.name] = {"pmf": pmf, "p_final": p_final, "pp": pp,
                       "margin": float(np.abs(p_final - cutoffs[c.name]).min())}
    return out


def _check_against_brute(model: Model) -> None:
    design = _design(model)
    n = _interim_sizes(design, 0)
    ref = brute_predictive(model, design.cohorts, n, {c: r.cutoff for c, r in FINAL.items()})
    for j, c in enumerate(design.cohorts):
        b = ref[c.name]
        # the brute force's own final posterior against the engine's (validated elsewhere)
        n_final = tuple(c.looks[-1] if i == j else x for i, x in enumerate(n))
        eng_final = np.moveaxis(lattice(model, design.cohorts, n_final).p_above[c.name], j, 0)
        assert np.abs(eng_final - b["p_final"]).max() <= TOL
        # final decisions are not within the tolerance of the cutoff: the indicators agree
        assert b["margin"] > 2 * TOL, (c.name, b["margin"])
        pmf = predictive(model, design.cohorts, n, cohort=c.name, m=c.looks[-1] - n[j])
        assert pmf.shape == b["pmf"].shape
        assert np.abs(pmf - b["pmf"]).max() <= TOL, c.name
        pp = predictive_probability(design, {x.name: (0, n[i]) for i, x in enumerate(SMALL)})
        assert pp[c.name] == pytest.approx(b["pp"][0, 0], abs=TOL)
        got = _pp_lattice(design, n, j)
        assert np.abs(got - b["pp"]).max() <= TOL, (c.name, np.abs(got - b["pp"]).max())
        assert 0.05 < got.mean() < 0.95  # the check is not vacuous


def test_bhm_predictive_probability_matches_brute_force():
    """BHM, 6 + 6 patients now, 14 and 12 at the end: every outcome, both cohorts."""
    _check_against_brute(Model(kind="hierarchical"))


def test_exnex_with_tied_phase1_predictive_probability_matches_brute_force():
    """EXNEX (weight 0.5, NEX N(0, 2²)) with phase 1 16/20 tied to frontline at weight 0.5."""
    _check_against_brute(Model(kind="exnex", historical=(PHASE1_TIED,)))


def test_predictive_distribution_is_a_distribution_and_m_zero_is_the_final_decision():
    model = Model(historical=(PHASE1_TIED,))
    pmf = predictive(model, SMALL, (6, 6), cohort="post_io", m=6)
    assert pmf.shape == (7, 7, 7)
    assert np.abs(pmf.sum(-1) - 1).max() <= 1e-12 and pmf.min() >= 0
    assert (predictive(model, SMALL, (6, 6), cohort="post_io", m=0) == 1).all()
    design = _design(model)
    post = lattice(model, SMALL, (14, 12)).p_above
    for r in [(0, 0), (9, 3), (14, 12), (6, 1)]:
        pp = predictive_probability(design, {"frontline": (r[0], 14), "post_io": (r[1], 12)})
        assert pp["frontline"] == float(post["frontline"][r] > 0.9)
        assert pp["post_io"] == float(post["post_io"][r] > 0.9)


# ---------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["hierarchical", "exnex", "pooled", "independent"])
def test_pp_is_monotone_in_own_responses(kind: str):
    """More own responses: a stochastically larger predictive and a lower bar; PP rises."""
    hist = (PHASE1_TIED,)
    cohorts = (Cohort("frontline", 0.4, 0.6, (10, 20)), Cohort("post_io", 0.1, 0.3, (10, 20)))
    design = _design(Model(kind=kind, historical=hist), cohorts)
    for j in range(2):
        pp = _lattice_pp(design, (10, 10), j)
        steps = np.diff(pp, axis=j)
        assert steps.min() >= -1e-9, (kind, j, steps.min())
        assert pp.max() > 0.5 and pp.min() < 0.01  # not flat


def _lattice_pp(design: CohortDesign, n: tuple[int, ...], j: int) -> np.ndarray:
    from adaptive2.model.cohorts import _lattice_stat

    c = design.cohorts[j]
    return np.asarray(_lattice_stat(design, n, c, design.rule("futility", c.name)))


def test_pp_lattice_equals_the_per_data_function_and_drives_the_decisions():
    from adaptive2.model.cohorts import _decisions

    model = Model(historical=(PHASE1_TIED,))
    design = _design(model, futility=PredictiveProbability(0.2),
                     efficacy={"frontline": PredictiveProbability(0.9),
                               "post_io": PosteriorProbability(0.1, 0.99)})
    n = _interim_sizes(design, 0)
    masks = _decisions(design, 0, n)
    for j, c in enumerate(design.cohorts):
        pp = _pp_lattice(design, n, j)
        np.testing.assert_array_equal(pp, _lattice_pp(design, n, j))
        np.testing.assert_array_equal(masks[c.name]["futility"], pp < 0.2)
    eff_front = _pp_lattice(design, n, 0) > 0.9
    np.testing.assert_array_equal(masks["frontline"]["efficacy"],
                                  eff_front & ~masks["frontline"]["futility"])
    assert masks["frontline"]["efficacy"].any() and masks["post_io"]["futility"].any()


# ---------------------------------------------------------------------------
# Exact OC against Monte Carlo
# ---------------------------------------------------------------------------
MC_COHORTS = (Cohort("frontline", 0.40, 0.60, (8, 16, 24)),
              Cohort("post_io", 0.10, 0.30, (8, 14, 20)))
MC_SCENARIOS = (
    CohortScenario("null", {"frontline": 0.40, "post_io": 0.10}),
    CohortScenario("alt", {"frontline": 0.60, "post_io": 0.30}),
    CohortScenario("mixed", {"frontline": 0.60, "post_io": 0.10}),
)


def _mc_design() -> CohortDesign:
    return CohortDesign(
        name="pp-mc", model=Model(historical=(PHASE1_TIED,)), cohorts=MC_COHORTS,
        futility=PredictiveProbability(0.15),
        efficacy={"frontline": PredictiveProbability(0.97), "post_io": PredictiveProbability(0.99)},
        final={"frontline": PosteriorProbability(0.4, 0.95),
               "post_io": PosteriorProbability(0.1, 0.9)},
        scenarios=MC_SCENARIOS,
    )


def _simulate(design: CohortDesign, scen: CohortScenario, n_sims: int, seed: int):
    """Trials patient by patient: futility (PP < θ_L) before efficacy (PP > θ_U) at interim
    looks, the final posterior rule at the last; stopped cohorts keep their data."""
    rng = np.random.default_rng(seed)
    cohorts = design.cohorts
    J, K = len(cohorts), design.n_looks
    rates = np.array([scen.rate(c.name) for c in cohorts])
    looks = np.array([c.looks for c in cohorts])  # (J, K)
    responses = rng.random((n_sims, J, looks[:, -1].max())) < rates[None, :, None]
    r = np.zeros((n_sims, J), dtype=int)
    n = np.zeros((n_sims, J), dtype=int)
    status = np.zeros((n_sims, J), dtype=int)  # 0 running, 1 futility/fail, 2 efficacy/success
    for k in range(K):
        run = status == 0
        for j in range(J):
            new = looks[j, k]
            r[:, j] = np.where(run[:, j], responses[:, j, :new].sum(axis=1), r[:, j])
            n[:, j] = np.where(run[:, j], new, n[:, j])
        keys, inverse = np.unique(np.concatenate([r, n], axis=1), axis=0, return_inverse=True)
        inverse = inverse.ravel()
        decided = np.zeros((len(keys), J), dtype=int)
        for u, key in enumerate(keys):
            data = {c.name: (int(key[i]), int(key[J + i])) for i, c in enumerate(cohorts)}
            if k == K - 1:
                res = lattice(design.model, cohorts, [d[1] for d in data.values()])
                for i, c in enumerate(cohorts):
                    p = res.p_above[c.name][tuple(d[0] for d in data.values())]
                    decided[u, i] = 2 if p > design.rule("final", c.name).cutoff else 1
                continue
            pp = predictive_probability(design, data)
            for i, c in enumerate(cohorts):
                if pp[c.name] < design.rule("futility", c.name).threshold:
                    decided[u, i] = 1
                elif pp[c.name] > design.rule("efficacy", c.name).threshold:
                    decided[u, i] = 2
        status = np.where(run, decided[inverse], status)
    return status == 2, n


def test_exact_oc_with_predictive_rules_matches_monte_carlo():
    design = _mc_design()
    exact = cohort_oc(design)
    np.testing.assert_allclose(exact["p_stop_at"].sum(("look", "reason")).values, 1, atol=1e-12)
    n_sims = 4000
    for i, scen in enumerate(MC_SCENARIOS):
        eff, n_used = _simulate(design, scen, n_sims, seed=20261126 + i)
        p_hat = eff.mean(axis=0)
        se = np.sqrt(np.maximum(p_hat * (1 - p_hat), 1e-4) / n_sims)
        pe = exact["p_efficacy"].values[i]
        assert (np.abs(p_hat - pe) <= 4 * se).all(), (scen.name, p_hat, pe)
        en_hat = n_used.mean(axis=0)
        en_se = np.maximum(n_used.std(axis=0), 1e-9) / np.sqrt(n_sims)
        assert (np.abs(en_hat - exact["expected_n"].values[i]) <= 4 * en_se).all()
        early = (n_used < np.array([c.looks[-1] for c in design.cohorts])).mean(axis=0)
        es = np.sqrt(np.maximum(early * (1 - early), 1e-4) / n_sims)
        assert (np.abs(early - exact["p_early_stop"].values[i]) <= 4 * es).all()
        null = np.array([scen.rate(c.name) <= c.p0 for c in design.cohorts])
        fwer = (eff & null).any(axis=1).mean()
        fse = np.sqrt(max(fwer * (1 - fwer), 1e-4) / n_sims)
        assert abs(fwer - exact["fwer"].values[i]) <= 4 * fse
    # the predictive rules act: early stops for futility under the null, for efficacy under H1
    assert exact["p_futility"].sel(scenario="null").min() > 0.2
    stop_eff = exact["p_stop_at"].sel(scenario="alt", reason="efficacy").isel(look=[0, 1])
    assert stop_eff.sum("look").min() > 0.1


# ---------------------------------------------------------------------------
# Validation and design files
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("bad", [0.0, 1.0, 1.5, -0.1, float("nan"), "0.1"])
def test_threshold_out_of_range_names_the_field(bad):
    with pytest.raises(DesignError, match=r"`threshold` of PredictiveProbability must be a "
                                          r"probability in \(0, 1\)"):
        PredictiveProbability(bad)


def test_predictive_final_rule_is_refused_naming_the_slot():
    with pytest.raises(DesignError, match=r"`final` of CohortDesign 'pp' must be a posterior, "
                                          r"bop2 or boundary rule; got 'predictive'"):
        _design(Model(), final=PredictiveProbability(0.1))
    with pytest.raises(DesignError, match=r"`final` of CohortDesign"):
        _design(Model(), final={"frontline": FINAL["frontline"],
                                "post_io": PredictiveProbability(0.1)})


def test_predictive_probability_rejects_bad_data_naming_the_field():
    design = _design(Model())
    with pytest.raises(DesignError, match="`data`"):
        predictive_probability(design, {"elsewhere": (1, 2)})
    with pytest.raises(DesignError, match=r"`data\['frontline'\]` of predictive_probability must "
                                          r"be counts with n <= 14 \(the final look\); got '1/15'"):
        predictive_probability(design, {"frontline": (1, 15)})
    with pytest.raises(DesignError, match=r"`data\['post_io'\]` of predictive_probability must "
                                          r"be counts with r <= n; got '4/3'"):
        predictive_probability(design, {"post_io": (4, 3)})
    with pytest.raises(DesignError, match="`cohort`"):
        predictive(Model(), SMALL, (3, 3), cohort="elsewhere", m=2)
    with pytest.raises(DesignError, match="`m`"):
        predictive(Model(), SMALL, (3, 3), cohort="frontline", m=-1)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"frontline": (3, 10, 1)}, r"`data\['frontline'\]` of predictive_probability must be a "
                                    r"pair \(r, n\) or the string 'r/n' of whole numbers; got "
                                    r"\(3, 10, 1\)"),
        ({"frontline": "3/10/2"}, r"`data\['frontline'\]` of predictive_probability must be a "
                                  r"pair .*; got '3/10/2'"),
        ({"frontline": (3.5, 10)}, r"`data\['frontline'\]` of predictive_probability must be a "
                                   r"pair .*; got \(3.5, 10\)"),
        ("3/10", r"`data` of predictive_probability must be a mapping cohort -> \(r, n\) or "
                 r"'r/n' for cohorts \{frontline, post_io\}; got '3/10'"),
        ((3, 10, 1), r"`data` of predictive_probability must be a mapping"),
    ],
)
def test_predictive_probability_validates_data_shapes_like_analyze(data, message):
    # regression: these used to fail with "too many values to unpack" (or a TypeError)
    with pytest.raises(DesignError, match=message):
        predictive_probability(_design(Model()), data)


def test_predictive_probability_accepts_r_slash_n_strings_like_analyze():
    design = _design(Model())
    pairs = predictive_probability(design, {"frontline": (3, 6), "post_io": (1, 6)})
    texts = predictive_probability(design, {"frontline": "3/6", "post_io": " 1 / 6 "})
    assert texts == pairs
    assert 0.0 < pairs["frontline"] < 1.0


def _file_dict(futility: dict) -> dict:
    return {
        "name": "two-pp",
        "model": {"kind": "hierarchical", "historical": [dataclasses.asdict(PHASE1_TIED)]},
        "cohorts": {
            "frontline": {"p0": 0.4, "p1": 0.6, "looks": [6, 14],
                          "final": {"rule": "posterior", "cutoff": 0.9}},
            "post_io": {"p0": 0.1, "p1": 0.3, "looks": [6, 12],
                        "final": {"rule": "posterior", "cutoff": 0.9}},
        },
        "futility": futility,
        "scenarios": [{"name": "null", "frontline": 0.4, "post_io": 0.1}],
    }


def test_design_file_with_predictive_futility_loads_round_trips_and_matches():
    d = cohort_design_from_dict(_file_dict({"rule": "predictive", "threshold": 0.1}))
    assert d.rule("futility", "post_io") == PredictiveProbability(0.1)
    assert cohort_design_from_dict(cohort_design_to_dict(d)) == d
    assert "PP(final success) < 0.1" in d.describe()
    same = _design(Model(historical=(PHASE1_TIED,)))
    assert cohort_oc(d)["p_efficacy"].values == pytest.approx(
        cohort_oc(same, d.scenarios)["p_efficacy"].values, abs=1e-12)


@pytest.mark.parametrize("bad", [1.2, 0.0])
def test_design_file_threshold_out_of_range_names_the_key(bad):
    with pytest.raises(DesignFileError, match=r"two\.toml.*\[futility\].*`threshold`"):
        cohort_design_from_dict(_file_dict({"rule": "predictive", "threshold": bad}),
                                source="two.toml")
    with pytest.raises(DesignFileError, match=r"\[futility\].*needs `threshold`"):
        cohort_design_from_dict(_file_dict({"rule": "predictive"}), source="two.toml")
