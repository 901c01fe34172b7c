"""Monte Carlo OC of multi-cohort designs over outcomes, against the exact lattice engine."""

import dataclasses
import warnings

import numpy as np
import pytest
from scipy import integrate, special

from _cohort_mc import chunk_and_replay, within_mcse
from _cohort_mc import joint_design as _design
from adaptive2._base.errors import DesignError, ResourceError
from adaptive2._base.resources import limit_memory
from adaptive2.engines.cohort_exact import cohort_oc_table
from adaptive2.engines.cohort_montecarlo import cohort_simulate
from adaptive2.kernels.quadrature import p_above_data
from adaptive2.model.hierarchical import DEFAULT_GRID, Cohort, Model
from adaptive2.model.rules import Boundary, PosteriorProbability
from adaptive2.model.scenarios import CohortScenario
from adaptive2.model.toxicity import ToxicityMonitor

FIGURES = ("p_efficacy", "p_futility", "expected_n", "fwer", "p_all_correct")


# ---------------------------------------------------------------------------
# Against the exact engine
# ---------------------------------------------------------------------------
SCEN3 = (("null", (0.2, 0.2, 0.2)), ("mixed", (0.2, 0.4, 0.4)), ("alt", (0.4, 0.4, 0.35)))


@pytest.mark.parametrize("model", [Model(), Model(kind="exnex", weight=0.5)],
                         ids=["bhm", "exnex"])
def test_three_cohorts_agree_with_the_exact_lattice_engine(model):
    d = _design(3, model, scenarios=SCEN3,
                futility=PosteriorProbability(0.2, 0.15),
                efficacy=PosteriorProbability(0.2, 0.995, delta=0.05),
                final=PosteriorProbability(0.2, 0.9))
    exact = cohort_oc_table(d)
    mc = cohort_simulate(d, n_sims=4_000, seed=20240611)
    within_mcse(mc, exact, FIGURES)
    assert mc["p_stop_at"].shape == exact["p_stop_at"].shape
    np.testing.assert_array_equal(mc["role"], exact["role"])
    # the decisions themselves are the exact engine's, data set by data set
    (at, reason), (at_x, reason_x) = chunk_and_replay(d, d.scenarios[1], size=300)
    np.testing.assert_array_equal(at, at_x)
    np.testing.assert_array_equal(reason, reason_x)


def test_one_cohort_reproduces_the_single_cohort_engine():
    scen = (("null", (0.2,)), ("alt", (0.4,)))
    d = _design(1, Model(kind="independent"), looks=(10, 20, 30), scenarios=scen,
                futility=PosteriorProbability(0.2, 0.1),
                efficacy=PosteriorProbability(0.2, 0.999),
                final=PosteriorProbability(0.2, 0.95))
    exact = cohort_oc_table(d)
    mc = cohort_simulate(d, n_sims=5_000, seed=3)
    within_mcse(mc, exact, ("p_efficacy", "p_futility", "expected_n", "sd_n"))
    for s in d.scenarios:
        (at, reason), (at_x, reason_x) = chunk_and_replay(d, s, size=1_000)
        np.testing.assert_array_equal(at, at_x)
        np.testing.assert_array_equal(reason, reason_x)


def test_boundary_rules_act_on_the_response_counts():
    """Overlapping interim boundaries (2 of 5 is both): futility comes first."""
    scen = (("mixed", (0.2, 0.4)),)
    d = _design(2, Model(), scenarios=scen, futility=Boundary((2,)), efficacy=Boundary((1,)),
                final=Boundary((3,)))
    (at, reason), (at_x, reason_x) = chunk_and_replay(d, d.scenarios[0], size=300)
    np.testing.assert_array_equal(at, at_x)
    np.testing.assert_array_equal(reason, reason_x)
    within_mcse(cohort_simulate(d, n_sims=3_000, seed=2), cohort_oc_table(d), FIGURES)


# ---------------------------------------------------------------------------
# Limits at six cohorts
# ---------------------------------------------------------------------------
def _closed_form(r, n, p0, mean=0.0, sd=2.0):
    """P(p > p0 | r of n) with logit p − logit p0 ~ N(mean, sd²), by adaptive 1-D quadrature."""
    off = special.logit(p0)

    def f(t):
        ll = r * special.log_expit(t + off) + (n - r) * special.log_expit(-t - off)
        return np.exp(ll - 0.5 * ((t - mean) / sd) ** 2)

    below = integrate.quad(f, -30, 0, epsabs=0, limit=200)[0]
    above = integrate.quad(f, 0, 30, epsabs=0, limit=200)[0]
    return above / (below + above)


SIX = tuple(Cohort(f"c{j}", 0.2) for j in range(6))
N6 = (10, 20, 10, 20, 10, 20)


def _six_data_sets():
    rng = np.random.default_rng(0)
    return np.stack([rng.binomial(m, 0.15 + 0.04 * j, size=15) for j, m in enumerate(N6)],
                    axis=1)


def test_six_cohorts_tau_to_zero_is_pooling():
    """tau ~ half-normal(1e-3): one shared effect, P(p_j > p0 | all data) from the total.

    The first-order effect of a small tau cancels (theta_j = mu + tau eta, eta symmetric),
    so the BHM differs from pooling by O(tau^2) ~ 1e-6; what remains is the quadrature
    error of a tau grid this close to 0 (the engine warns about it; 4.5e-5 measured),
    hence 2e-4. The pooled model's own grid is within 1e-5 of the closed form.
    """
    counts = _six_data_sets()
    ref = np.array([_closed_form(c.sum(), sum(N6), 0.2) for c in counts])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: tau scale below 0.25
        bhm = p_above_data(Model(tau_scale=1e-3), SIX, N6, counts, grid=DEFAULT_GRID)
    pooled = p_above_data(Model(kind="pooled"), SIX, N6, counts, grid=DEFAULT_GRID)
    for c in SIX:
        np.testing.assert_allclose(bhm[c.name], ref, atol=2e-4)
        np.testing.assert_allclose(pooled[c.name], ref, atol=1e-5)
    # the limit is not trivial: with tau ~ half-normal(1) cohorts differ
    free = p_above_data(Model(), SIX, N6, counts, grid=DEFAULT_GRID)
    assert np.abs(free["c0"] - ref).max() > 0.05


def test_six_cohorts_tau_large_is_independence():
    """tau fixed at T, mu ~ N(0, 1): as T grows the BHM becomes independent N(0, 1 + T^2).

    Both give every theta_j the prior N(0, 1 + T^2); the BHM couples the cohorts only
    through mu (prior correlation rho = 1/(1 + T^2)). Given the others, theta_j's prior
    mean moves by about d = rho * sum_k E(theta_k | data) (K - 1 = 5 terms), a shift of a
    prior of variance ~T^2 that moves theta_j's posterior (sd sigma_j <= 1 here) by
    sigma_j^2 d / T^2, hence P(p_j > p0) by about 0.4 sigma_j d / T^2. Informative
    cohorts have E theta_k = O(1): a gap ~ rho / T^2. A cohort with 0 responses (0 of 10
    in c0, four of the data sets) follows its prior's lower half, E theta_k ~ -0.8 T: a
    gap ~ 0.4 * 0.8 rho / T ~ 0.3 rho / T, which dominates for large T. Measured gaps
    (exact, by nested quadrature in tests/kernels/test_fixed_tau.py, to 1e-9): 3.0e-2,
    1.7e-3, 3.1e-5 at T = 2, 5, 20, i.e. 0.30, 0.22, 0.25 rho / T. The bound checked is
    rho / T (1.2e-4 at T = 20); both engines are within 1e-4 of brute force. T = 20 is
    far inside the largest fixed tau the engine takes without a PrecisionWarning (1e4).
    """
    counts = _six_data_sets()
    ts = np.array([2.0, 5.0, 20.0])
    gaps = []
    for t in ts:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no accuracy warning at these T
            bhm = p_above_data(Model(tau_prior="fixed", tau_scale=t, mu_sd=1.0), SIX, N6,
                               counts, grid=DEFAULT_GRID)
            indep = p_above_data(Model(kind="independent", nex_sd=float(np.hypot(1.0, t))),
                                 SIX, N6, counts, grid=DEFAULT_GRID)
        gaps.append(max(float(np.abs(bhm[c.name] - indep[c.name]).max()) for c in SIX))
    rho = 1 / (1 + ts**2)
    assert gaps[0] > 1e-2, gaps  # at T = 2 the cohorts still borrow
    assert (np.diff(gaps) < 0).all(), gaps
    assert (np.array(gaps) <= rho / ts).all(), (gaps, rho / ts)


def test_six_cohorts_without_borrowing_are_independent():
    """Model(kind="independent"): each cohort's own data under its N(0, 2²) NEX prior (1e-5)."""
    counts = _six_data_sets()
    got = p_above_data(Model(kind="independent"), SIX, N6, counts, grid=DEFAULT_GRID)
    for j, c in enumerate(SIX):
        ref = [_closed_form(int(r), N6[j], 0.2) for r in counts[:, j]]
        np.testing.assert_allclose(got[c.name], ref, atol=1e-5)


def test_six_independent_cohorts_simulate_as_six_single_cohort_designs():
    rates = (0.2, 0.2, 0.2, 0.4, 0.4, 0.3)
    rules = {"futility": PosteriorProbability(0.2, 0.35), "final": PosteriorProbability(0.2, 0.9)}
    d6 = _design(6, Model(kind="independent"), scenarios=(("mixed", rates),), **rules)
    mc = cohort_simulate(d6, n_sims=3_000, seed=5)
    singles = []
    for p in (0.2, 0.4, 0.3):
        d1 = _design(1, Model(kind="independent"), scenarios=(("s", (p,)),), **rules)
        singles.append(cohort_oc_table(d1))
    one = {0.2: singles[0], 0.4: singles[1], 0.3: singles[2]}
    for v in ("p_efficacy", "p_futility", "expected_n"):
        want = np.array([[one[p][v][0, 0] for p in rates]])
        assert (mc[f"{v}_mcse"] > 0).all(), v
        assert (np.abs(mc[v] - want) <= 3 * mc[f"{v}_mcse"]).all(), v
    # FWER of independent cohorts: 1 - prod over the null cohorts of (1 - P(efficacy))
    fwer = 1 - (1 - one[0.2]["p_efficacy"][0, 0]) ** 3
    assert abs(mc["fwer"][0] - fwer) <= 3 * mc["fwer_mcse"][0]


def test_six_pooled_cohorts_simulate_as_one_cohort_with_all_the_patients():
    """Pooling: every cohort decides on the total, like one cohort of 6 x the patients."""
    d6 = _design(6, Model(kind="pooled"), scenarios=(("null", (0.2,) * 6), ("alt", (0.3,) * 6)))
    mc = cohort_simulate(d6, n_sims=3_000, seed=8)
    d1 = _design(1, Model(kind="independent"), looks=(30, 60),
                 scenarios=(("null", (0.2,)), ("alt", (0.3,))))
    exact = cohort_oc_table(d1)
    assert (np.ptp(mc["p_efficacy"], axis=1) == 0).all()  # the cohorts decide together
    np.testing.assert_array_equal(mc["fwer"][:1], mc["p_efficacy"][:1, 0])
    for v in ("p_efficacy", "p_futility"):
        assert (np.abs(mc[v][:, 0] - exact[v][:, 0]) <= 3 * mc[f"{v}_mcse"][:, 0]).all(), v


# ---------------------------------------------------------------------------
# Reproducibility
# ---------------------------------------------------------------------------
def _arrays_equal(a, b):
    assert set(a.data_vars) == set(b.data_vars)
    for v in a.data_vars:
        np.testing.assert_array_equal(a[v], b[v], err_msg=v)


def test_results_do_not_depend_on_workers_and_are_recorded():
    d = _design(3, Model(kind="exnex"), scenarios=SCEN3[:2])
    state = np.random.get_state()  # noqa: NPY002 (the legacy global state)
    one = cohort_simulate(d, n_sims=900, seed=42, chunk_size=200, workers=1)
    two = cohort_simulate(d, n_sims=900, seed=42, chunk_size=200, workers=2)
    _arrays_equal(one, two)
    after = np.random.get_state()  # noqa: NPY002
    assert after[1].tolist() == state[1].tolist()  # global RNG untouched
    assert one.attrs["method"] == "monte_carlo"
    assert one.attrs["engine"] == "outcomes with quadrature posteriors"
    assert (one.attrs["n_sims"], one.attrs["chunk_size"]) == (900, 200)
    assert one.attrs["seed_entropy"] == "42" and one.attrs["design_hash"] == d.hash
    assert "spawn_key=(cohort_key, chunk)" in one.attrs["stream_scheme"]
    ds = one.to_dataset()
    assert ds["p_stop_at"].dims == ("scenario", "cohort", "look", "reason")
    np.testing.assert_allclose(ds["p_stop_at"].sum(("look", "reason")).values, 1.0)


def test_a_fresh_seed_is_recorded_and_reproduces_the_run():
    d = _design(2, Model(), scenarios=(("mixed", (0.2, 0.4)),))
    first = cohort_simulate(d, n_sims=300, seed=None)
    again = cohort_simulate(d, n_sims=300, seed=int(first.attrs["seed_entropy"]))
    _arrays_equal(first, again)


def test_chunk_size_is_part_of_the_stream_address_and_scenarios_are_independent():
    d = _design(3, Model(), scenarios=SCEN3)
    base = cohort_simulate(d, n_sims=600, seed=9, chunk_size=200)
    # another chunk size draws other trials (the engine's promise covers workers, not this)
    other = cohort_simulate(d, n_sims=600, seed=9, chunk_size=300)
    assert not np.array_equal(base["p_stop_at"], other["p_stop_at"])
    # adding or dropping a scenario leaves the others' trials unchanged
    alone = cohort_simulate(d, d.scenarios[1:2], n_sims=600, seed=9, chunk_size=200)
    for v in base.data_vars:
        np.testing.assert_array_equal(base[v][1], alone[v][0], err_msg=v)


# ---------------------------------------------------------------------------
# Refusals
# ---------------------------------------------------------------------------
def test_bad_input_names_the_field():
    d = _design(2, Model(), scenarios=(("mixed", (0.2, 0.4)),))
    with pytest.raises(DesignError, match="`n_sims` of cohort_simulate"):
        cohort_simulate(d, n_sims=0)
    with pytest.raises(DesignError, match="`chunk_size` of cohort_simulate"):
        cohort_simulate(d, chunk_size=0)
    bad = CohortScenario("typo", {"c0": 0.2, "c1": 0.4, "c9": 0.3})
    with pytest.raises(DesignError, match=r"`scenarios` of cohort_simulate.*unknown \['c9'\]"):
        cohort_simulate(d, [bad], n_sims=10)
    short = CohortScenario("short", {"c0": 0.2})
    with pytest.raises(DesignError, match=r"`scenarios` of cohort_simulate.*missing \['c1'\]"):
        cohort_simulate(d, [short], n_sims=10)
    with pytest.raises(DesignError, match="`seed`"):
        cohort_simulate(d, n_sims=10, seed=np.random.default_rng(1))


def test_toxicity_monitors_are_refused():
    """(Predictive rules are simulated: tests/engines/test_cohort_montecarlo_pp.py.)"""
    monitor = ToxicityMonitor(event="grade >= 3 TRAE", limit=0.3, acceptable=0.1,
                              rule="posterior", cutoff=0.8, prior=(0.5, 4.5), monitor=(5, 10))
    tox = dataclasses.replace(_design(2, Model(), scenarios=(("m", (0.2, 0.4)),)),
                              toxicity=monitor)
    with pytest.raises(DesignError, match="toxicity monitors"):
        cohort_simulate(tox, n_sims=10)


def test_the_size_guard_refuses_before_allocating():
    d = _design(6, Model(), scenarios=(("null", (0.2,) * 6),))
    with limit_memory("20M"), pytest.raises(ResourceError, match="Monte Carlo OC of 100 trials"):
        cohort_simulate(d, n_sims=100)
