"""Multi-cohort designs: exact OC against independent references and Monte Carlo."""

import json

import numpy as np
import pytest
from scipy import integrate, special

from _reference import simulate_trials
from adaptive2 import Beta, Design, oc
from adaptive2._base.errors import DesignError, DesignFileError
from adaptive2.cli import main
from adaptive2.engines.cohort_exact import cohort_oc
from adaptive2.io.design_files import (
    cohort_design_from_dict,
    cohort_design_to_dict,
    load_any,
    read_toml,
    save_any,
)
from adaptive2.model.cohorts import CohortDesign, _decisions_cached
from adaptive2.model.hierarchical import Cohort, Historical, Model
from adaptive2.model.rules import Boundary, PosteriorProbability, PredictiveProbability
from adaptive2.model.scenarios import CohortScenario

from _shipped import MULTI_COHORT

COHORTS = (Cohort("frontline", 0.4, 0.6, (12, 24)), Cohort("post_io", 0.1, 0.3, (10, 20)))
SCEN = (
    CohortScenario("null", {"frontline": 0.4, "post_io": 0.1}),
    CohortScenario("alt", {"frontline": 0.6, "post_io": 0.3}),
    CohortScenario("mixed", {"frontline": 0.6, "post_io": 0.1}),
)


def test_independent_boundary_design_is_the_product_of_single_cohort_designs():
    d = CohortDesign(
        name="b", model=Model(kind="independent"), cohorts=COHORTS,
        futility={"frontline": Boundary((4,)), "post_io": Boundary((0,))},
        final={"frontline": Boundary((12,)), "post_io": Boundary((3,))}, scenarios=SCEN,
    )
    res = cohort_oc(d)
    f = oc(Design(name="f", prior=Beta(1, 1), looks=(12, 24), futility=Boundary((4,)),
                  final=Boundary((12,))), [0.4, 0.6])
    p = oc(Design(name="p", prior=Beta(1, 1), looks=(10, 20), futility=Boundary((0,)),
                  final=Boundary((3,))), [0.1, 0.3])
    fe, pe = f["p_efficacy"].values, p["p_efficacy"].values
    np.testing.assert_allclose(res["p_efficacy"].values,
                               [[fe[0], pe[0]], [fe[1], pe[1]], [fe[1], pe[0]]], atol=1e-12)
    np.testing.assert_allclose(res["expected_n"].sel(scenario="null").values,
                               [f["expected_n"].values[0], p["expected_n"].values[0]], atol=1e-10)
    # family-wise error under the global null: P(any false Go) for independent cohorts
    assert res["fwer"].sel(scenario="null").item() == pytest.approx(
        1 - (1 - fe[0]) * (1 - pe[0]), abs=1e-12)
    # mixed: only post-IO is null
    assert res["fwer"].sel(scenario="mixed").item() == pytest.approx(pe[0], abs=1e-12)
    assert res["p_all_correct"].sel(scenario="alt").item() == pytest.approx(fe[1] * pe[1],
                                                                            abs=1e-12)
    total = res["p_stop_at"].sum(("look", "reason")).values
    np.testing.assert_allclose(total, 1.0, atol=1e-12)


def _posterior_above_normal_prior(r, n, p0, m, s):
    """P(p > p0 | r of n) with logit(p) - logit(p0) ~ N(m, s^2), by 1-D quadrature."""
    off = special.logit(p0)

    def f(t, upper):
        p = special.expit(t + off)
        like = np.exp(r * np.log(p) + (n - r) * np.log1p(-p))
        dens = np.exp(-0.5 * ((t - m) / s) ** 2)
        return like * dens * (1.0 if not upper or t > 0 else 0.0)

    num = integrate.quad(f, 0, 30, args=(False,), epsabs=1e-14)[0]
    den = integrate.quad(f, -30, 30, args=(False,), points=[0], epsabs=1e-14, limit=200)[0]
    return num / den


def test_independent_posterior_rules_match_one_dimensional_quadrature():
    model = Model(kind="independent", nex_mean=0.0, nex_sd=2.0)
    d = CohortDesign(name="ind", model=model, cohorts=COHORTS,
                     futility=PosteriorProbability(0.4, 0.1),
                     final=PosteriorProbability(0.4, 0.9), scenarios=SCEN)
    masks = _decisions_cached(d, 1, (24, 20))
    succ = masks["frontline"]["efficacy"][:, 0]
    probs = np.array([_posterior_above_normal_prior(r, 24, 0.4, 0.0, 2.0) for r in range(25)])
    np.testing.assert_array_equal(succ, probs > 0.9)
    # the other cohort's data never matter without borrowing
    assert (masks["frontline"]["efficacy"] == succ[:, None]).all()


def test_bhm_borrowing_moves_the_other_cohort():
    d = CohortDesign(name="bhm", model=Model(kind="hierarchical"), cohorts=COHORTS,
                     final=PosteriorProbability(0.4, 0.9), scenarios=SCEN)
    masks = _decisions_cached(d, 1, (24, 20))
    succ = masks["post_io"]["efficacy"]
    first = succ.argmax(axis=1)  # smallest post-IO count that succeeds, per frontline count
    # From the frontline null count upwards, better frontline data lower the post-IO bar.
    # (Far below its null, frontline data signal heterogeneity, tau grows and post-IO is
    # shrunk less: the bar is not monotone there, a known feature of the BHM.)
    tail = first[10:]
    assert (np.diff(tail) <= 0).all() and tail[0] > tail[-1]


MC_DESIGNS = {
    "exnex-posterior": dict(
        model=Model(kind="exnex", historical=(Historical("phase1", 16, 20, tie="frontline"),)),
        futility=PosteriorProbability(0.4, 0.2), final=PosteriorProbability(0.4, 0.9)),
    "bhm-predictive-margin": dict(
        model=Model(kind="hierarchical"), futility=PredictiveProbability(0.1),
        efficacy=PosteriorProbability(0.4, 0.98, delta=0.05),
        final={"frontline": PosteriorProbability(0.4, 0.9),
               "post_io": Boundary((3,))}),
}


@pytest.mark.parametrize("kind", sorted(MC_DESIGNS))
def test_exact_two_cohort_oc_agrees_with_monte_carlo_of_the_same_procedure(kind):
    """Decisions in the simulated trials come from the rule objects (tests/_reference.py)."""
    d = CohortDesign(name="mc", cohorts=COHORTS, scenarios=SCEN, **MC_DESIGNS[kind])
    res = cohort_oc(d)
    n_sims = 3000
    for i, scen in enumerate(SCEN):
        eff, n_used = simulate_trials(d, scen, n_sims, seed=20261126 + i)
        p_hat = eff.mean(axis=0)
        se = np.sqrt(np.maximum(p_hat * (1 - p_hat), 1e-4) / n_sims)
        exact = res["p_efficacy"].values[i]
        assert (np.abs(p_hat - exact) <= 4 * se + 1e-12).all(), (scen.name, p_hat, exact)
        en_hat = n_used.mean(axis=0)
        en_se = np.maximum(n_used.std(axis=0), 1e-9) / np.sqrt(n_sims)
        assert (np.abs(en_hat - res["expected_n"].values[i]) <= 4 * en_se + 1e-9).all()
        null = np.array([scen.rate(c.name) <= c.p0 for c in d.cohorts])
        fwer_hat = (eff & null).any(axis=1).mean()
        fse = np.sqrt(max(fwer_hat * (1 - fwer_hat), 1e-4) / n_sims)
        assert abs(fwer_hat - res["fwer"].values[i]) <= 4 * fse


def test_the_reference_trials_never_read_a_decision_table(monkeypatch):
    """tests/_reference.py decides from the rule objects: with the tables gone it still runs."""
    import adaptive2.model.cohorts as cohorts

    def gone(*args, **kwargs):
        raise AssertionError("the reference read a decision table")

    monkeypatch.setattr(cohorts, "_decisions_cached", gone)
    monkeypatch.setattr(cohorts, "_compute_decisions", gone)
    d = CohortDesign(name="ref", model=Model(kind="hierarchical"), cohorts=COHORTS,
                     futility=PredictiveProbability(0.05),
                     efficacy=PosteriorProbability(0.4, 0.99, delta=0.05),
                     final=PosteriorProbability(0.4, 0.9), scenarios=SCEN)
    eff, n_used = simulate_trials(d, SCEN[1], 50, seed=1)
    assert eff.shape == n_used.shape == (50, 2) and set(np.unique(n_used)) <= {10, 12, 20, 24}
    with pytest.raises(AssertionError, match="read a decision table"):
        cohort_oc(d)


@pytest.mark.parametrize("path", MULTI_COHORT, ids=lambda p: p.stem)
def test_shipped_multi_cohort_designs_round_trip(path):
    d = load_any(path)
    assert cohort_design_from_dict(cohort_design_to_dict(d)) == d
    res = oc(d)
    assert set(res["scenario"].values) >= {"global null", "global alternative"}
    np.testing.assert_allclose(res["p_stop_at"].sum(("look", "reason")).values, 1, atol=1e-12)


def _base_dict():
    return cohort_design_to_dict(load_any(MULTI_COHORT[0]))


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda d: d["model"].update(kind="bhm"), r"\[model\] `kind` of Model must be one of"),
        (lambda d: d["model"].update(tau={"half_lognormal": 1}), r"`tau` must be"),
        (lambda d: d["model"].update(tau={"fixed": 0}),
         r"\[model\] `tau.fixed` must be a finite number > 0 .*tau = 0 is kind = \"pooled\""),
        (lambda d: d["model"].update(tau={"fixed": -1.0}), r"\[model\] `tau.fixed` must be"),
        (lambda d: d["model"].update(tau={"fixed": "2"}), r"\[model\] `tau.fixed` must be"),
        (lambda d: d["model"].update(tau={"fixed": 2.0, "df": 3}),
         r"\[model\] `tau` = \{ fixed = t \} takes no `df`"),
        (lambda d: d["model"].update(tau={"fixed": 2.0, "half_normal": 1.0}),
         r"`tau` must be .*\{ fixed = t \}"),
        (lambda d: d["model"].update(kind="pooled", tau={"fixed": 2.0}),
         r"\[model\] `tau` is not used by the pooled model"),
        (lambda d: d["model"]["historical"][0].update(tie="nowhere"), r"`tie` of historical"),
        (lambda d: d["scenarios"][0].pop("post_io"), r"missing \['post_io'\]"),
        (lambda d: d["cohorts"]["frontline"].update(p0=1.2), r"`p0` must be a probability"),
        (lambda d: d["model"].update(colour="red"), r"unknown key `colour`"),
        (lambda d: d["cohorts"]["post_io"].update(final={"rule": "predictive",
                                                         "threshold": 0.1}),
         r"\[final\] `rule` must be one of"),
    ],
)
def test_multi_cohort_file_errors_name_the_key(mutate, match):
    d = _base_dict()
    mutate(d)
    with pytest.raises(DesignFileError, match=match):
        cohort_design_from_dict(d, source="two.toml")


def test_fixed_tau_reads_and_round_trips_through_a_file(tmp_path):
    """`tau = { fixed = 2 }` is Model(tau_prior="fixed", tau_scale=2), for BHM and EXNEX."""
    for kind in ("hierarchical", "exnex"):
        d = _base_dict()
        d["model"].update(kind=kind, tau={"fixed": 2})
        if kind == "hierarchical":
            d["model"].pop("weight", None)
            d["model"].pop("nex", None)
        design = cohort_design_from_dict(d, source="two.toml")
        assert (design.model.kind, design.model.tau_prior) == (kind, "fixed")
        assert design.model.tau_scale == 2.0
        assert cohort_design_to_dict(design)["model"]["tau"] == {"fixed": 2.0}
        path = save_any(design, tmp_path / f"{kind}.toml")
        assert read_toml(path)["model"]["tau"] == {"fixed": 2.0}
        assert load_any(path) == design


def test_predictive_final_rules_are_refused_with_a_reason():
    # predictive futility / efficacy rules are supported (tests/test_multicohort_predictive.py)
    with pytest.raises(DesignError, match="a predictive probability needs a final rule"):
        CohortDesign(name="x", model=Model(), cohorts=COHORTS,
                     futility=PredictiveProbability(0.1), final=PredictiveProbability(0.1))


def test_cli_multi_cohort_oc_and_posterior_json(capsys):
    path = str(MULTI_COHORT[0])
    assert main(["oc", path, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {"scenario", "cohort", "rate", "role", "p_efficacy", "p_futility", "p_early_stop",
            "expected_n", "sd_n", "p_stop_at", "fwer", "p_all_correct"} == set(rows[0])
    assert main(["posterior", path, "--data", "frontline=18/25,post_io=8/25", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["engine"] == "quadrature"
    assert set(out["cohorts"]) == {"frontline", "post_io"}
    for summ in out["cohorts"].values():
        assert {"mean", "sd", "median", "interval", "p_above_p0"} <= set(summ)
        assert summ["interval"][0] < summ["median"] < summ["interval"][1]
    assert main(["posterior", path, "--data", "frontline=18of25"]) == 2
    assert main(["oc", path, "--p", "0.3"]) == 2


BETWEEN = (
    CohortScenario("between", {"frontline": 0.5, "post_io": 0.3}),  # frontline: p0 < 0.5 < p1
    CohortScenario("alt", {"frontline": 0.6, "post_io": 0.3}),
    CohortScenario("null", {"frontline": 0.4, "post_io": 0.1}),
)


def _independent_boundary_design(cohorts=COHORTS):
    return CohortDesign(
        name="b", model=Model(kind="independent"), cohorts=cohorts,
        futility={"frontline": Boundary((4,)), "post_io": Boundary((0,))},
        final={"frontline": Boundary((12,)), "post_io": Boundary((3,))}, scenarios=BETWEEN,
    )


def test_rate_between_p0_and_p1_is_role_other_and_any_decision_is_correct():
    """frontline at 0.5 (p0 0.4, p1 0.6) is "other", as the single-cohort grid calls it.

    P(all correct) then asks only post-IO (alternative) to succeed: the single-cohort
    P(efficacy) of post-IO at 0.3 (independent cohorts), not the product with frontline's.
    """
    from adaptive2.model.scenarios import as_scenarios

    res = cohort_oc(_independent_boundary_design())
    assert res["role"].values.tolist() == [["other", "alternative"], ["alternative",
                                           "alternative"], ["null", "null"]]
    # the same rule as single-cohort scenarios (0.5 between 0.4 and 0.6)
    assert [s.role for s in as_scenarios([0.4, 0.5, 0.6], p0=0.4, p1=0.6)] == [
        "null", "other", "alternative"]
    f = oc(Design(name="f", prior=Beta(1, 1), looks=(12, 24), futility=Boundary((4,)),
                  final=Boundary((12,))), [0.5, 0.6])["p_efficacy"].values
    p = oc(Design(name="p", prior=Beta(1, 1), looks=(10, 20), futility=Boundary((0,)),
                  final=Boundary((3,))), [0.3])["p_efficacy"].values
    assert res["p_all_correct"].sel(scenario="between").item() == pytest.approx(p[0], abs=1e-12)
    assert res["p_all_correct"].sel(scenario="alt").item() == pytest.approx(f[1] * p[0],
                                                                            abs=1e-12)
    assert res["fwer"].sel(scenario="between").item() == pytest.approx(0.0, abs=1e-15)
    # compare() labels it P(efficacy), not power
    from adaptive2.engines.compare import compare

    rows = compare([_independent_boundary_design()]).set_index(["scenario", "cohort"])
    assert rows.loc[("between", "frontline"), "label"] == "P(efficacy)"
    assert rows.loc[("between", "post_io"), "label"] == "power"


def test_cohort_without_p1_is_alternative_above_p0_as_for_single_cohorts():
    cohorts = (Cohort("frontline", 0.4, None, (12, 24)), COHORTS[1])
    res = cohort_oc(_independent_boundary_design(cohorts))
    assert res["role"].sel(cohort="frontline").values.tolist() == [
        "alternative", "alternative", "null"]


def test_calibrate_cohorts_mean_power_is_over_alternative_scenarios_only():
    from adaptive2.engines.cohort_calibration import calibrate_cohorts

    cohorts = (Cohort("frontline", 0.4, 0.6, (12,)), Cohort("post_io", 0.1, 0.3, (10,)))
    d = CohortDesign(name="cal", model=Model(kind="independent"), cohorts=cohorts,
                     final=PosteriorProbability(0.4, 0.9), scenarios=BETWEEN)
    out, table = calibrate_cohorts(d, alpha=0.2)
    pe = cohort_oc(out)["p_efficacy"]
    assert table.loc["frontline", "mean_power"] == pytest.approx(
        pe.sel(cohort="frontline", scenario="alt").item(), abs=1e-12)


def test_three_cohorts_independent_boundaries_are_the_product():
    """Three cohorts (the lattice is small here): the DP handles any number of cohorts."""
    cohorts = (Cohort("a", 0.2, 0.4, (6, 12)), Cohort("b", 0.3, 0.5, (5, 10)),
               Cohort("c", 0.1, 0.3, (4, 8)))
    fut = {"a": Boundary((0,)), "b": Boundary((1,)), "c": Boundary((0,))}
    fin = {"a": Boundary((4,)), "b": Boundary((5,)), "c": Boundary((2,))}
    scen = (CohortScenario("null", {"a": 0.2, "b": 0.3, "c": 0.1}),
            CohortScenario("mixed", {"a": 0.4, "b": 0.3, "c": 0.3}))
    d = CohortDesign(name="three", model=Model(kind="independent"), cohorts=cohorts,
                     futility=fut, final=fin, scenarios=scen)
    res = cohort_oc(d)
    singles = {}
    for c in cohorts:
        single = Design(name=c.name, prior=Beta(1, 1), looks=c.looks, futility=fut[c.name],
                        final=fin[c.name])
        singles[c.name] = np.array(
            [oc(single, [s.rate(c.name)])["p_efficacy"].item() for s in scen])
    for j, c in enumerate(cohorts):
        np.testing.assert_allclose(res["p_efficacy"].values[:, j], singles[c.name], atol=1e-12)
    null_all = [singles[c.name][0] for c in cohorts]
    assert res["fwer"].sel(scenario="null").item() == pytest.approx(
        1 - np.prod([1 - x for x in null_all]), abs=1e-12)
    # mixed: only b is null
    assert res["fwer"].sel(scenario="mixed").item() == pytest.approx(singles["b"][1], abs=1e-12)
