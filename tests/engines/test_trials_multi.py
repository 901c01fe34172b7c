"""Trial-conduct simulation of multi-cohort designs with joint (borrowing) analyses.

References: the exact multi-cohort engine (``cohort_oc``), closed forms for Poisson
accrual (Gamma arrival times, negative-binomial overrun while a cohort waits for
another), and one-dimensional quadrature of the posterior under independent
logit-normal priors.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from scipy import integrate, optimize, special, stats

import _simulation
from _reference import simulate_trials
from _simulation import assert_same
from adaptive2._base.errors import Adaptive2Error, DesignError
from adaptive2.cli import main
from adaptive2.engines.cohort_exact import _run_scenario, cohort_oc
from adaptive2.engines.exact import oc
from adaptive2.engines.montecarlo import simulate
from adaptive2.engines.posterior import posterior
from adaptive2.io.design_files import load_any
from adaptive2.model.cohorts import CohortDesign
from adaptive2.model.conduct import Conduct
from adaptive2.model.designs import Design
from adaptive2.model.hierarchical import Cohort, Model, QuadratureGrid
from adaptive2.model.priors import Beta
from adaptive2.model.rules import PosteriorProbability
from adaptive2.model.scenarios import CohortScenario

DESIGNS_DIR = Path(__file__).resolve().parents[2] / "designs"
GRID = QuadratureGrid(n_theta=201, n_mu=101, n_tau=20)  # coarse: fast, and shared by both engines
TRIVIAL = Conduct(delay=0.0, p_nonevaluable=0.0)
COHORTS = (Cohort("frontline", 0.4, 0.6, (10, 20)), Cohort("post_io", 0.1, 0.3, (10, 20)))
SCEN = (
    CohortScenario("null", {"frontline": 0.4, "post_io": 0.1}),
    CohortScenario("alt", {"frontline": 0.6, "post_io": 0.3}),
    CohortScenario("mixed", {"frontline": 0.6, "post_io": 0.1}),
)


def bhm(name: str = "bhm", futility: float = 0.2, **kw) -> CohortDesign:
    """Two-cohort BHM, looks at 10 and 20 per cohort, futility and early efficacy stops."""
    return CohortDesign(
        name=name,
        model=Model(kind="hierarchical"),
        cohorts=COHORTS,
        futility=PosteriorProbability(0.4, futility),
        efficacy=PosteriorProbability(0.4, 0.995),
        final={"frontline": PosteriorProbability(0.4, 0.9),
               "post_io": PosteriorProbability(0.1, 0.9)},
        scenarios=SCEN,
        grid=GRID,
        **kw,
    )


def no_interim(cohorts: tuple[Cohort, ...]) -> CohortDesign:
    """Two looks, final rule only: no cohort can stop before the last look."""
    return CohortDesign(
        name="no-interim",
        model=Model(kind="hierarchical"),
        cohorts=cohorts,
        final=PosteriorProbability(0.4, 0.9),
        grid=GRID,
    )


@pytest.fixture(scope="module")
def design() -> CohortDesign:
    return bhm()


@pytest.fixture(scope="module")
def exact(design) -> xr.Dataset:
    return cohort_oc(design, SCEN)


def run(designs, scenarios=SCEN, **kw) -> xr.Dataset:
    return _simulation.run(designs, scenarios, **kw)


def check_cell(sim: float, exact: float, mcse: float, n: float, what: object) -> None:
    """|sim - exact| <= 4 MCSE (the binomial MCSE at the exact value if larger); 0/1 exactly."""
    if exact in (0.0, 1.0):
        assert sim == exact, what
        return
    assert abs(sim - exact) <= 4 * mcse + 1e-12, (what, sim, exact, mcse)


def check_against_exact(sim: xr.Dataset, ex: xr.Dataset, variables: tuple[str, ...]) -> int:
    n = float(sim["n_sims"].min()) if "n_sims" in sim else float(sim.attrs["n_sims"])
    checked = 0
    for var in variables:
        s, m, e = sim[var].values, sim[f"{var}_mcse"].values, ex[var].values
        for idx in np.ndindex(e.shape):
            check_cell(float(s[idx]), float(e[idx]), float(m[idx]), n, (var, idx))
            checked += 1
    return checked


# ---------------------------------------------------------------------------
# 1. No delay, no dropout: the simulator reproduces the exact engine
# ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def trivial_run(design) -> xr.Dataset:
    assert TRIVIAL.trivial
    return run(design, conduct=TRIVIAL, n_sims=20_000, seed=11, chunk_size=5_000).isel(design=0)


def test_trivial_conduct_matches_exact(trivial_run, exact):
    assert np.all(trivial_run["n_sims"].values == 20_000)
    assert trivial_run["p_efficacy"].dims == exact["p_efficacy"].dims == ("scenario", "cohort")
    assert list(trivial_run["cohort"].values) == list(exact["cohort"].values)
    np.testing.assert_array_equal(trivial_run["role"].values, exact["role"].values)
    np.testing.assert_array_equal(trivial_run["rate"].values, exact["rate"].values)
    cells = check_against_exact(
        trivial_run,
        exact,
        ("p_efficacy", "p_futility", "p_early_stop", "expected_n", "fwer", "p_all_correct"),
    )
    assert cells == 4 * 6 + 2 * 3
    # every stop probability per look and reason (final look: no success / success)
    n = 20_000
    s_at, m_at = trivial_run["p_stop_at"].values, trivial_run["p_stop_at_mcse"].values
    e_at = exact["p_stop_at"].values
    for idx in np.ndindex(e_at.shape):
        e = e_at[idx]
        check_cell(s_at[idx], e, max(m_at[idx], np.sqrt(e * (1 - e) / n)), n, idx)
    np.testing.assert_allclose(trivial_run["p_stop_at"].sum(("look", "reason")), 1.0, atol=1e-12)
    # the comparison exercises both kinds of interim stop and the family-wise error
    assert e_at[:, :, 0, 0].min() > 0.003 and e_at[1, :, 0, 1].min() > 0.05
    assert exact["fwer"].sel(scenario="null").item() > 0.05


def test_trivial_conduct_matches_trials_decided_by_the_rule_objects(design, trivial_run):
    """Against trials whose every decision the rule objects take (tests/_reference.py).

    The exact engine and the simulator share the design's decision masks; this
    reference does not, so a wrong mask cannot pass both comparisons.
    """
    n_ref = 3000
    for i, scen in enumerate(SCEN):
        eff, n_used = simulate_trials(design, scen, n_ref, seed=20261205 + i)
        sim = trivial_run.sel(scenario=scen.name)
        for var, ref, ref_se in (
            ("p_efficacy", eff.mean(axis=0),
             np.sqrt(np.maximum(eff.mean(axis=0) * (1 - eff.mean(axis=0)), 1e-4) / n_ref)),
            ("expected_n", n_used.mean(axis=0),
             np.maximum(n_used.std(axis=0), 1e-9) / np.sqrt(n_ref)),
        ):
            got, got_se = sim[var].values, sim[f"{var}_mcse"].values
            assert (np.abs(got - ref) <= 4 * np.hypot(got_se, ref_se)).all(), (
                scen.name, var, got, ref)


def test_trivial_pause_enrols_exactly_the_analysed_patients(design, trivial_run):
    """Pausing at each look with no delay: no overrun at all, and the same decisions."""
    pause = run(design, conduct=Conduct(delay=0.0, on_interim="pause"), n_sims=20_000, seed=11,
                chunk_size=5_000).isel(design=0)
    np.testing.assert_array_equal(pause["expected_enrolled"].values, pause["expected_n"].values)
    np.testing.assert_array_equal(pause["p_stop_at"].values, trivial_run["p_stop_at"].values)
    np.testing.assert_array_equal(pause["fwer"].values, trivial_run["fwer"].values)
    # continuing enrolment while the joint analysis waits for the other cohort is overrun
    cont = trivial_run
    assert np.all(cont["expected_enrolled"].values >= cont["expected_n"].values)
    early = cont["p_early_stop"].values > 0.01
    assert np.all((cont["expected_enrolled"].values > cont["expected_n"].values + 0.05)[early])


def test_decision_oc_do_not_depend_on_conduct(design, exact):
    """Per-cohort accrual, delays, dropout, pausing and lags change timing, not decisions."""
    conduct = {
        "frontline": Conduct(rates=(1.0, 3.0), starts=(0.0, 4.0), delay=(1.0, 4.0),
                             p_nonevaluable=0.15, decision_lag=0.5),
        "post_io": Conduct(rates=(0.7,), delay=2.0, on_interim="pause", decision_lag=1.0),
    }
    sim = run(design, conduct=conduct, n_sims=10_000, seed=5, chunk_size=2_500).isel(design=0)
    check_against_exact(sim, exact, ("p_efficacy", "p_futility", "expected_n", "fwer"))
    assert json.loads(sim.attrs["conduct"])["post_io"]["on_interim"] == "pause"
    # dropouts are replaced: more patients enrolled than analysed in frontline
    fl = sim.sel(cohort="frontline")
    assert np.all(fl["expected_enrolled"].values > fl["expected_n"].values / 0.85 - 0.5)


# ---------------------------------------------------------------------------
# 2. Reproducibility
# ---------------------------------------------------------------------------
CONDUCT = {
    "frontline": Conduct(rates=(1.5, 3.0), starts=(0.0, 5.0), delay=(1.0, 3.0),
                         p_nonevaluable=0.1),
    "post_io": Conduct(rates=(1.0,), delay=2.0, on_interim="pause"),
}


def test_same_seed_identical_other_seed_differs(design):
    a = run(design, SCEN[:2], conduct=CONDUCT, n_sims=1_000, seed=7)
    b = run(design, SCEN[:2], conduct=CONDUCT, n_sims=1_000, seed=7)
    assert_same(a, b)
    c = run(design, SCEN[:2], conduct=CONDUCT, n_sims=1_000, seed=8)
    assert not np.array_equal(a["mean_duration"].values, c["mean_duration"].values)
    for key, value in (("seed_entropy", "7"), ("chunk_size", 500), ("n_sims", 1_000),
                       ("method", "monte_carlo"), ("design_hash", design.hash)):
        assert a.attrs[key] == value, key
    assert {"adaptive2_version", "wall_time_s", "stream_scheme", "analysis_timing"} <= set(
        a.attrs)


def test_workers_one_vs_two_bit_identical(design):
    a = run(design, SCEN[:2], conduct=CONDUCT, n_sims=1_500, seed=3, workers=1)
    b = run(design, SCEN[:2], conduct=CONDUCT, n_sims=1_500, seed=3, workers=2)
    assert_same(a, b)


def test_adding_a_scenario_keeps_other_scenarios(design):
    a = run(design, SCEN[:2], conduct=CONDUCT, n_sims=1_000, seed=3)
    b = run(design, SCEN, conduct=CONDUCT, n_sims=1_000, seed=3)
    assert_same(a, b.sel(scenario=["null", "alt"]))


def test_checkpoint_resume_identical(tmp_path, design):
    kw = dict(conduct=CONDUCT, n_sims=1_500, seed=21)
    ref = run(design, SCEN[:2], **kw)
    first = run(design, SCEN[:2], checkpoint=tmp_path, **kw)
    assert_same(ref, first)
    chunks = sorted(tmp_path.glob("chunk-*.npz"))
    assert len(chunks) == 2 * 3
    for path in chunks[::2]:
        path.unlink()
    resumed = run(design, SCEN[:2], checkpoint=tmp_path, **kw)
    assert_same(ref, resumed)
    assert len(list(tmp_path.glob("chunk-*.npz"))) == 6
    # a run with other settings refuses the directory
    with pytest.raises(Adaptive2Error, match=r"different run.*conduct"):
        run(design, SCEN[:2], checkpoint=tmp_path, **{**kw, "conduct": TRIVIAL})
    with pytest.raises(Adaptive2Error, match=r"different run.*designs"):
        run(bhm(futility=0.3), SCEN[:2], checkpoint=tmp_path, **kw)


def test_common_random_numbers_across_designs(design):
    """A rival design changes nothing for the first; paired differences have small MCSE."""
    rival = bhm(name="strict-futility", futility=0.35)
    alone = run(design, conduct=CONDUCT, n_sims=2_000, seed=4)
    both = run([design, rival], conduct=CONDUCT, n_sims=2_000, seed=4)
    for var in alone.data_vars:
        if "n_enrolled" not in alone[var].dims:
            np.testing.assert_array_equal(alone[var].values, both[var].sel(design=["bhm"]).values,
                                          err_msg=var)
    diff = both["p_efficacy"].sel(design="strict-futility") - both["p_efficacy"].sel(design="bhm")
    np.testing.assert_allclose(both["p_efficacy_diff"].sel(design="strict-futility"), diff,
                               atol=1e-12)
    unpaired = np.hypot(both["p_efficacy_mcse"].sel(design="strict-futility"),
                        both["p_efficacy_mcse"].sel(design="bhm"))
    assert (both["p_efficacy_diff_mcse"].sel(design="strict-futility") < unpaired).all()
    assert (both["p_futility"].sel(design="strict-futility")
            >= both["p_futility"].sel(design="bhm")).all()


@pytest.mark.slow
def test_dask_cluster_bit_identical(design):
    from dask import distributed

    a = run(design, SCEN[:2], conduct=CONDUCT, n_sims=1_500, seed=3)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            b = run(design, SCEN[:2], conduct=CONDUCT, n_sims=1_500, seed=3, client=client)
    assert b.attrs["workers"] == "dask"
    assert_same(a, b)


# ---------------------------------------------------------------------------
# 3. Conduct effects against closed forms
# ---------------------------------------------------------------------------
def test_fixed_delay_shifts_every_decision_and_adds_overrun(design):
    """A fixed delay d: same decisions, every decision exactly d later, more patients enrolled."""
    kw = dict(n_sims=4_000, seed=6, chunk_size=1_000)
    d0 = run(design, conduct=Conduct(delay=0.0), **kw).isel(design=0)
    d3 = run(design, conduct=Conduct(delay=3.0), **kw).isel(design=0)
    np.testing.assert_array_equal(d3["p_stop_at"].values, d0["p_stop_at"].values)
    np.testing.assert_array_equal(d3["expected_n"].values, d0["expected_n"].values)
    for var in ("mean_duration", "mean_trial_duration", "mean_time_to_decision"):
        np.testing.assert_allclose(d3[var].values, d0[var].values + 3.0, rtol=0, atol=1e-9)
    e0, e3 = d0["expected_enrolled"].values, d3["expected_enrolled"].values
    assert np.all(e3 >= e0)
    early = d0["p_early_stop"].values > 0.01
    # at 2 patients a month a cohort stopped at 10 evaluable has ~6 more enrolled
    assert np.all((e3 - e0)[early] > 0.5 * 6 * d0["p_early_stop"].values[early])


def _nbinom_overrun(n: int, cap: int, own: float, other: float) -> float:
    """E[min(cap, max(n, M))], M = own arrivals before the other cohort's n-th (NegBin)."""
    m = np.arange(0, 400)
    pmf = stats.nbinom.pmf(m, n, other / (own + other))
    return float(pmf @ np.minimum(cap, np.maximum(n, m)))


def _mean_max_gamma(k: int | tuple[int, ...], rates: tuple[float, ...]) -> float:
    """E[max_j T_j], T_j the k_j-th arrival of a Poisson(rate_j) process: Gamma(k_j, 1/rate_j)."""
    ks = k if isinstance(k, tuple) else (k,) * len(rates)

    def surv(t):
        cdfs = [stats.gamma.cdf(t, kj, scale=1 / r) for kj, r in zip(ks, rates, strict=True)]
        return 1.0 - np.prod(cdfs)

    return integrate.quad(surv, 0, np.inf, limit=200)[0]


def test_waiting_for_the_slower_cohort_overrun_closed_form(design, exact):
    """No delay, rates 1 and 4 a month: at look 1 both cohorts wait for the later 10th arrival.

    A cohort stopping at look 1 has then enrolled min(20, max(10, M)) patients, M its own
    arrivals before the other cohort's 10th: negative binomial. Decisions do not depend
    on arrival times, so E[enrolled] = P(stop at 1) E[min(20, max(10, M))] + P(go on) 20.
    Durations: look 2 happens at max_i A_i(n_i), A_i(m) cohort i's m-th arrival and n_i = 20
    if cohort i is still active, else 10 (it stopped at look 1, whose decision look 2 cannot
    precede); averaged over the exact joint terminal states.
    """
    rates = {"frontline": 1.0, "post_io": 4.0}
    conduct = {c: Conduct(rates=(r,), delay=0.0) for c, r in rates.items()}
    sim = run(design, conduct=conduct, n_sims=20_000, seed=9, chunk_size=5_000).isel(design=0)
    t1 = _mean_max_gamma(10, tuple(rates.values()))
    for c, own in rates.items():
        other = rates["post_io" if c == "frontline" else "frontline"]
        over = _nbinom_overrun(10, 20, own, other)
        for s in SCEN:
            p1 = float(exact["p_stop_at"].sel(scenario=s.name, cohort=c).isel(look=0).sum())
            ref = p1 * over + (1 - p1) * 20
            got = sim.sel(scenario=s.name, cohort=c)
            en, en_se = float(got["expected_enrolled"]), float(got["expected_enrolled_mcse"])
            assert abs(en - ref) <= 4 * en_se + 1e-12, (c, s.name, en, ref)
            # the first joint analysis: the later of the two 10th arrivals
            tk = got["mean_time_to_decision"].isel(look=0)
            mc = got["mean_time_to_decision_mcse"].isel(look=0)
            assert abs(float(tk) - t1) <= 4 * float(mc), (c, float(tk), t1)
    assert over > 10.5  # the fast cohort really overruns
    names = list(rates)
    for s in SCEN:
        terminal = _run_scenario(design, s)  # exact P of each (status, look) per cohort
        ref = dict.fromkeys(names, 0.0)
        trial = 0.0
        for state, prob in terminal.items():
            sizes = tuple(20 if look == 1 else 10 for _, look in state)
            t2 = _mean_max_gamma(sizes, tuple(rates.values()))
            trial += prob * t2
            for c, (_, look) in zip(names, state, strict=True):
                ref[c] += prob * (t2 if look == 1 else t1)
        got = sim.sel(scenario=s.name)
        for c in names:
            m, se = float(got["mean_duration"].sel(cohort=c)), float(
                got["mean_duration_mcse"].sel(cohort=c))
            assert abs(m - ref[c]) <= 4 * se, (s.name, c, m, ref[c])
        m, se = float(got["mean_trial_duration"]), float(got["mean_trial_duration_mcse"])
        assert abs(m - trial) <= 4 * se, (s.name, m, trial)


@pytest.mark.parametrize("on_interim", ["continue", "pause"])
@pytest.mark.parametrize("rates", [(1.5,), (1.0, 3.0)])
def test_duration_without_interim_stops_closed_form(rates, on_interim):
    """No interim stops, fixed delay d, looks at 10 and N = 20.

    Continue: duration = max_j(N-th arrival of cohort j) + d; one cohort N / lambda + d,
    two cohorts E[max of two Gammas] + d by quadrature (also its median). Pause: every
    cohort waits for the look-1 decision D1 = max_j(10th arrival) + d, then enrols its
    last 10 (memoryless gaps): E = 2 E[max_j Gamma(10, 1/lambda_j)] + 2d.
    """
    d, N = 2.5, 20
    cohorts = COHORTS[: len(rates)]
    names = [c.name for c in cohorts]
    design = no_interim(cohorts)
    scen = [CohortScenario("s", {c: 0.3 for c in names})]
    conduct = {c: Conduct(rates=(r,), delay=d, on_interim=on_interim)
               for c, r in zip(names, rates, strict=True)}
    sim = run(design, scen, conduct=conduct, n_sims=20_000, seed=12, chunk_size=5_000).isel(
        design=0, scenario=0)
    first = _mean_max_gamma(10, rates) + d
    if on_interim == "pause":
        ref = 2 * first
    else:
        ref = (N / rates[0] if len(rates) == 1 else _mean_max_gamma(N, rates)) + d
    for c in names:
        got = sim.sel(cohort=c)
        assert float(got["p_early_stop"]) == 0.0
        assert float(got["expected_enrolled"]) == float(got["expected_n"]) == N
        assert abs(float(got["mean_duration"]) - ref) <= 4 * float(got["mean_duration_mcse"]), (
            c, float(got["mean_duration"]), ref)
    t = sim["mean_trial_duration"]
    assert abs(float(t) - ref) <= 4 * float(sim["mean_trial_duration_mcse"])
    tk = sim["mean_time_to_decision"].isel(look=0)
    assert np.all(np.abs(tk.values - first) <= 4 * sim["mean_time_to_decision_mcse"].isel(
        look=0).values)
    if on_interim == "pause":
        return
    # median: product of the Gamma cdfs is 1/2
    med = optimize.brentq(
        lambda x: np.prod([stats.gamma.cdf(x, N, scale=1 / r) for r in rates]) - 0.5, 0, 200) + d
    q50, q50_se = float(sim["trial_duration_q50"]), float(sim["trial_duration_q50_mcse"])
    assert 0 < q50_se < 0.2 and abs(q50 - med) <= 4 * q50_se, (q50, med, q50_se)
    # the SD of the duration and its MCSE: against the exact SD of the Gamma (one cohort)
    if len(rates) == 1:
        sd = np.sqrt(N) / rates[0]
        got = sim.sel(cohort=names[0])
        assert abs(float(got["sd_duration"]) - sd) <= 4 * float(got["sd_duration_mcse"])


def test_duration_quantiles_without_interim_stops_closed_form():
    """q10/q50/q90 of every duration against the exact quantiles, within 4 MCSE.

    No interim stops, fixed delay d, continue: every cohort stops at the final analysis,
    max_j(N-th arrival of cohort j) + d, so cohort and trial durations all have the cdf
    prod_j Gamma(N, 1 / lambda_j).cdf(x - d). 200,000 trials in unequal chunks (3 x
    60,000 and 20,000). The MCSE is the order-statistic one with the real n. (The old
    thinned sample, indices 0, 300, ... of each chunk, sat about 6 MCSE low at q90.)
    """
    rates, d, N, n_sims = (1.0, 3.0), 2.0, 20, 200_000
    design = no_interim(COHORTS)
    scen = [CohortScenario("s", {c.name: 0.3 for c in COHORTS})]
    conduct = {c.name: Conduct(rates=(r,), delay=d) for c, r in zip(COHORTS, rates, strict=True)}
    sim = run(design, scen, conduct=conduct, n_sims=n_sims, seed=5, chunk_size=60_000).isel(
        design=0, scenario=0)

    def cdf(x):
        return np.prod([stats.gamma.cdf(x - d, N, scale=1 / r) for r in rates])

    for q in (0.1, 0.5, 0.9):
        exact = optimize.brentq(lambda x, q=q: cdf(x) - q, d, 200)
        density = (cdf(exact + 1e-4) - cdf(exact - 1e-4)) / 2e-4
        theory = np.sqrt(q * (1 - q) / n_sims) / density
        key = f"q{round(q * 100):02d}"
        for got, se in [(sim[f"trial_duration_{key}"], sim[f"trial_duration_{key}_mcse"])] + [
            (sim[f"duration_{key}"].sel(cohort=c.name),
             sim[f"duration_{key}_mcse"].sel(cohort=c.name)) for c in COHORTS
        ]:
            got, se = float(got), float(se)
            assert abs(got - exact) <= 4 * se, (q, got, exact, se)
            assert 0.8 < se / theory < 1.25, (q, se, theory)


def test_rate_between_p0_and_p1_is_role_other_in_simulate(design):
    """frontline at 0.5 (p0 0.4, p1 0.6): role "other", as in cohort_oc and single cohorts.

    P(all correct) ignores it (the indifference zone): within 4 MCSE of the exact engine,
    and equal to P(post-IO declared efficacious) trial by trial.
    """
    scen = (CohortScenario("between", {"frontline": 0.5, "post_io": 0.3}),
            CohortScenario("alt", {"frontline": 0.6, "post_io": 0.3}))
    sim = run(design, scen, conduct=TRIVIAL, n_sims=4_000, seed=3, chunk_size=1_000).isel(
        design=0)
    ex = cohort_oc(design, scen)
    assert sim["role"].values.tolist() == [["other", "alternative"],
                                           ["alternative", "alternative"]]
    np.testing.assert_array_equal(sim["role"].values, ex["role"].values)
    check_against_exact(sim, ex, ("p_all_correct", "fwer"))
    between = sim.sel(scenario="between")
    assert float(between["p_all_correct"]) == float(between["p_efficacy"].sel(cohort="post_io"))


def test_decision_lag_closed_form():
    """Each cohort learns the joint decision ``decision_lag`` after the analysis.

    Two cohorts, lags 0.5 and 2: look 1 at E[max of the 10th arrivals] + lag_j. One cohort,
    delay d and lag L: look 2 waits for the look-1 decision, so with A10 the 10th arrival and
    G the gap to the 20th, duration = d + A10 + max(G, L) + L.
    """
    lags = {"frontline": 0.5, "post_io": 2.0}
    conduct = {c: Conduct(rates=(2.0,), delay=0.0, decision_lag=lag) for c, lag in lags.items()}
    sim = run(no_interim(COHORTS), [CohortScenario("s", {"frontline": 0.4, "post_io": 0.1})],
              conduct=conduct, n_sims=10_000, seed=15, chunk_size=2_500).isel(design=0, scenario=0)
    first = _mean_max_gamma(10, (2.0, 2.0))
    t1 = sim["mean_time_to_decision"].isel(look=0)
    np.testing.assert_allclose(float(t1.sel(cohort="post_io") - t1.sel(cohort="frontline")), 1.5,
                               rtol=0, atol=1e-9)
    for c, lag in lags.items():
        se = float(sim["mean_time_to_decision_mcse"].isel(look=0).sel(cohort=c))
        assert abs(float(t1.sel(cohort=c)) - first - lag) <= 4 * se, (c, float(t1.sel(cohort=c)))
    rate, d, lag = 1.5, 1.0, 8.0
    one = run(no_interim(COHORTS[:1]), [CohortScenario("s", {"frontline": 0.4})],
              conduct=Conduct(rates=(rate,), delay=d, decision_lag=lag), n_sims=10_000, seed=15,
              chunk_size=2_500).isel(design=0, scenario=0, cohort=0)
    gap = stats.gamma(10, scale=1 / rate)
    e_max = lag + integrate.quad(gap.sf, lag, np.inf)[0]  # E[max(G, L)]
    ref = d + 10 / rate + e_max + lag
    assert abs(ref - (20 / rate + d + lag)) > 0.5  # the wait for the look-1 decision matters
    got, se = float(one["mean_duration"]), float(one["mean_duration_mcse"])
    assert abs(got - ref) <= 4 * se, (got, ref)


# ---------------------------------------------------------------------------
# 4. Bias and coverage of the posterior-mean ORR
# ---------------------------------------------------------------------------
def _logit_normal_posterior(r: int, n: int, p0: float, p_true: float, sd: float = 2.0):
    """Posterior mean and P(p > p_true) with logit p - logit p0 ~ N(0, sd^2), by quadrature."""
    off = special.logit(p0)
    cut = special.logit(p_true) - off

    def like(t):
        p = special.expit(t + off)
        return np.exp(r * np.log(p) + (n - r) * np.log1p(-p) - 0.5 * (t / sd) ** 2)

    kw = dict(limit=200, epsabs=0)
    den = integrate.quad(like, -30, 30, points=[cut], **kw)[0]
    mean = integrate.quad(lambda t: like(t) * special.expit(t + off), -30, 30, **kw)[0] / den
    above = integrate.quad(like, cut, 30, **kw)[0] / den
    return mean, above


def test_bias_and_coverage_independent_single_look():
    cohorts = (Cohort("frontline", 0.4, 0.6, (12,)), Cohort("post_io", 0.1, 0.3, (8,)))
    design = CohortDesign(name="one-look", model=Model(kind="independent"), cohorts=cohorts,
                          final=PosteriorProbability(0.4, 0.9))
    truth = {"frontline": 0.45, "post_io": 0.15}
    sim = run(design, [CohortScenario("s", truth)], conduct=Conduct(delay=1.0), n_sims=20_000,
              seed=13, chunk_size=5_000).isel(design=0, scenario=0)
    for c in cohorts:
        n, p = c.looks[0], truth[c.name]
        pmf = stats.binom(n, p).pmf(np.arange(n + 1))
        post = np.array([_logit_normal_posterior(r, n, c.p0, p) for r in range(n + 1)])
        # no cell sits on the edge of the 95% interval, where a 1e-4 error could flip it
        edge = np.minimum(np.abs(post[:, 1] - 0.025), np.abs(post[:, 1] - 0.975))
        assert edge.min() > 2e-3
        bias = float(pmf @ post[:, 0]) - p
        cover = float(pmf @ ((post[:, 1] >= 0.025) & (post[:, 1] <= 0.975)))
        rmse = np.sqrt(float(pmf @ (post[:, 0] - p) ** 2))
        got = sim.sel(cohort=c.name)
        for var, ref in (("bias", bias), ("coverage", cover), ("rmse", rmse)):
            assert abs(float(got[var]) - ref) <= 4 * float(got[f"{var}_mcse"]) + 2e-4, (
                c.name, var, float(got[var]), ref)
        assert cover < 0.99  # the check can fail


def test_bias_hierarchical_single_look_against_posterior():
    """Borrowing: the estimate is the model's joint posterior mean (both cohorts' data)."""
    cohorts = (Cohort("frontline", 0.4, 0.6, (8,)), Cohort("post_io", 0.1, 0.3, (6,)))
    design = CohortDesign(name="bhm-one-look", model=Model(kind="hierarchical"), cohorts=cohorts,
                          final=PosteriorProbability(0.4, 0.9), grid=GRID)
    truth = {"frontline": 0.55, "post_io": 0.1}
    sim = run(design, [CohortScenario("s", truth)], conduct=TRIVIAL, n_sims=20_000, seed=14,
              chunk_size=5_000).isel(design=0, scenario=0)
    pa = stats.binom(8, truth["frontline"]).pmf(np.arange(9))
    pb = stats.binom(6, truth["post_io"]).pmf(np.arange(7))
    ref = {"frontline": 0.0, "post_io": 0.0}
    for ra in range(9):
        for rb in range(7):
            post = posterior(design.model, cohorts, {"frontline": (ra, 8), "post_io": (rb, 6)},
                             grid=GRID)
            for c in ref:
                ref[c] += pa[ra] * pb[rb] * (post[c]["mean"] - truth[c])
    for c, bias in ref.items():
        got = sim.sel(cohort=c)
        assert abs(float(got["bias"]) - bias) <= 4 * float(got["bias_mcse"]) + 1e-4, (
            c, float(got["bias"]), bias)
    # borrowing pulls the two cohorts' estimates towards each other (offset scale)
    assert ref["post_io"] > 0.005 and ref["frontline"] < -0.005


# ---------------------------------------------------------------------------
# 5. Output schema, MCSE target and validation
# ---------------------------------------------------------------------------
def test_schema_and_distribution(design):
    ds = run(design, conduct=CONDUCT, n_sims=1_000, seed=2)
    per_cohort = ("p_efficacy", "p_futility", "p_early_stop", "p_final_fail", "expected_n",
                  "sd_n", "expected_enrolled", "sd_enrolled", "mean_duration", "sd_duration",
                  "duration_q10", "duration_q50", "duration_q90", "bias", "rmse", "coverage",
                  "p_efficacy_diff", "expected_enrolled_diff")
    per_scenario = ("fwer", "p_all_correct", "expected_n_total", "expected_enrolled_total",
                    "mean_trial_duration", "trial_duration_q50", "fwer_diff")
    for var in per_cohort:
        assert ds[var].dims == ("design", "scenario", "cohort"), var
        assert ds[f"{var}_mcse"].dims == ds[var].dims, var
    for var in per_scenario:
        assert ds[var].dims == ("design", "scenario"), var
        assert f"{var}_mcse" in ds, var
    assert ds["p_stop_at"].dims == ("design", "scenario", "cohort", "look", "reason")
    assert ds["mean_time_to_decision"].dims == ("design", "scenario", "cohort", "look")
    assert "p_stop_at_mcse" in ds and "mean_time_to_decision_mcse" in ds
    # every data variable has its MCSE twin (or is one, or is the simulation count)
    for var in ds.data_vars:
        assert var.endswith("_mcse") or var == "n_sims" or f"{var}_mcse" in ds, var
    dist = ds["p_enrolled"]
    np.testing.assert_allclose(dist.sum("n_enrolled"), 1.0, atol=1e-12)
    np.testing.assert_allclose((dist * dist["n_enrolled"]).sum("n_enrolled"),
                               ds["expected_enrolled"], rtol=1e-12)
    np.testing.assert_allclose(ds["expected_enrolled"].sum("cohort"),
                               ds["expected_enrolled_total"], rtol=1e-12)
    # the trial lasts as long as its longest cohort
    assert np.all(ds["mean_trial_duration"] >= ds["mean_duration"].max("cohort") - 1e-12)
    assert np.all(ds["duration_q10"] <= ds["duration_q50"])
    assert np.all(ds["duration_q50"] <= ds["duration_q90"])
    assert list(ds["role"].sel(scenario="mixed").values) == ["alternative", "null"]


def test_mcse_target_met(design):
    ds = run(design, SCEN[:1], mcse=0.015, seed=1, chunk_size=250)
    assert float(ds["p_efficacy_mcse"].max()) <= 0.015
    n = float(ds["n_sims"].max())
    assert n % 250 == 0 and n >= 250


def test_scenarios_as_mappings_and_defaults(design):
    a = run(design, [{"name": "null", "frontline": 0.4, "post_io": 0.1}], n_sims=300, seed=1)
    b = run(design, SCEN[:1], n_sims=300, seed=1)
    assert_same(a, b)
    c = run(design, None, n_sims=300, seed=1)  # the design's own scenarios
    assert list(c["scenario"].values) == [s.name for s in SCEN]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"conduct": {"frontline": Conduct()}}, "conduct"),
        ({"conduct": {"frontline": Conduct(), "post_io": Conduct(), "x": Conduct()}}, "conduct"),
        ({"conduct": {"frontline": Conduct(), "post_io": {"delay": 1.0}}}, "conduct"),
        ({"conduct": 2.0}, "conduct"),
        ({"scenarios": []}, "scenarios"),
        ({"scenarios": [0.3, 0.4]}, "scenarios"),
        ({"scenarios": [SCEN[0], SCEN[0]]}, "scenarios"),
        ({"n_sims": 0}, "n_sims"),
        ({"seed": np.random.default_rng(1)}, "seed"),
    ],
)
def test_bad_arguments(design, kwargs, field):
    kw = {"scenarios": SCEN[:1], "n_sims": 100, "progress": False, **kwargs}
    with pytest.raises(DesignError, match=f"`{field}`"):
        simulate(design, **kw)


def test_scenario_missing_a_cohort(design):
    with pytest.raises(DesignError, match="post_io"):
        simulate(design, [CohortScenario("x", {"frontline": 0.4})], n_sims=100, progress=False)


def test_bad_design_mixtures(design):
    single = Design(name="single", prior=Beta(1, 1), looks=(10,),
                    final=PosteriorProbability(p0=0.3, cutoff=0.9))
    other = CohortDesign(name="other", model=Model(), cohorts=(Cohort("a", 0.3, None, (10,)),),
                         final=PosteriorProbability(0.3, 0.9))
    for bad in ([design, single], [design, other], [design, design], "bhm", []):
        with pytest.raises(DesignError, match="`designs`"):
            simulate(bad, SCEN[:1], n_sims=100, progress=False)


# ---------------------------------------------------------------------------
# 6. CLI
# ---------------------------------------------------------------------------
@pytest.mark.slow  # the shipped design's full quadrature grid: ~5-10 s
def test_cli_simulate_multi_cohort_json(capsys, tmp_path):
    path = DESIGNS_DIR / "two-cohort-bhm.toml"
    out = tmp_path / "sim.nc"
    rc = main(["simulate", str(path), "--n-sims", "2000", "--seed", "1", "--json", "--out",
               str(out)])
    assert rc == 0, capsys.readouterr().err
    payload = json.loads(capsys.readouterr().out)
    assert {"rows", "scenarios", "seed_entropy", "chunk_size", "conduct",
            "adaptive2_version"} <= payload.keys()
    assert payload["seed_entropy"] == "1" and payload["chunk_size"] == 10_000
    assert set(payload["conduct"]) == {"frontline", "post_io"}
    assert payload["conduct"]["post_io"]["delay"] == 2.5
    design = load_any(path)
    rows = payload["rows"]
    assert len(rows) == len(design.scenarios) * 2
    single_keys = {"design", "scenario", "p", "role", "p_efficacy", "p_efficacy_mcse",
                   "p_futility", "p_early_stop", "expected_n", "expected_enrolled",
                   "mean_duration", "duration_q10", "duration_q50", "duration_q90", "bias",
                   "coverage", "sd_n", "rmse", "n_sims"}
    for row in rows:
        assert single_keys | {"cohort"} <= row.keys()
        assert row["n_sims"] == 2000
        assert row["expected_enrolled"] >= row["expected_n"]
    assert {"fwer", "fwer_mcse", "p_all_correct", "mean_trial_duration",
            "trial_duration_q90"} <= payload["scenarios"][0].keys()
    # decisions are the exact ones whatever the conduct (default: 2/month, 2.5-month delay)
    ex = cohort_oc(design)
    for row in rows:
        e = float(ex["p_efficacy"].sel(scenario=row["scenario"], cohort=row["cohort"]))
        assert abs(row["p_efficacy"] - e) <= 4 * max(row["p_efficacy_mcse"],
                                                     np.sqrt(e * (1 - e) / 2000)), row
    # the API with the same settings gives the same numbers; the netCDF file holds them too
    api = simulate(design, None, n_sims=2000, seed=1, progress=False)
    np.testing.assert_array_equal(api["mean_duration"].values.ravel(),
                                  [r["mean_duration"] for r in rows])
    with xr.open_dataset(out, engine="scipy") as saved:
        np.testing.assert_array_equal(saved["fwer"].values.ravel(),
                                      [s["fwer"] for s in payload["scenarios"]])


@pytest.mark.slow  # the shipped design's full quadrature grid: ~5-10 s
def test_cli_simulate_multi_cohort_accrual_and_errors(capsys):
    path = str(DESIGNS_DIR / "two-cohort-bhm.toml")
    rc = main(["simulate", path, "--n-sims", "200", "--seed", "1", "--json",
               "--cohort-accrual", "post_io=0.5", "--delay", "1"])
    assert rc == 0, capsys.readouterr().err
    conduct = json.loads(capsys.readouterr().out)["conduct"]
    assert conduct["post_io"]["rates"] == [0.5] and conduct["frontline"]["rates"] == [2.0]
    assert conduct["post_io"]["delay"] == 1.0
    single = str(DESIGNS_DIR / "frontline-pp.toml")
    for argv in (
        [path, "--p", "0.3"],
        [path, single],
        [path, "--cohort-accrual", "nope=1"],
        [path, "--cohort-accrual", "post_io=x"],
        [single, "--cohort-accrual", "post_io=1"],
    ):
        assert main(["simulate", *argv, "--n-sims", "100"]) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("adaptive2: error:") and err.count("\n") == 1, err


def test_oc_method_simulate_is_monte_carlo_over_outcomes(design, trivial_run, exact):
    # `oc(..., method="simulate")` on a multi-cohort design with posterior rules is
    # cohort_simulate (Monte Carlo over outcomes with quadrature posteriors): the same numbers,
    # within 4 MCSE of the exact lattice OC, as is the trial-conduct run with no delay.
    from adaptive2.engines.cohort_montecarlo import cohort_simulate

    via_oc = oc(design, SCEN, method="simulate", n_sims=20_000, seed=11, chunk_size=5_000)
    direct = cohort_simulate(design, SCEN, n_sims=20_000, seed=11, chunk_size=5_000)
    for var in ("p_efficacy", "fwer", "expected_n"):
        np.testing.assert_array_equal(via_oc[var].values, direct[var])
    assert check_against_exact(via_oc, exact, ("p_efficacy", "fwer")) == 3 * 2 + 3
    assert check_against_exact(trivial_run, exact, ("p_efficacy", "fwer")) == 3 * 2 + 3
    with pytest.raises(DesignError, match="`method` of oc"):
        oc(design, SCEN, method="mcmc")
