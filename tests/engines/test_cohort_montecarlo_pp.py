"""Monte Carlo OC of multi-cohort designs with predictive-probability rules.

PP_j of the simulated data sets (cohort_montecarlo.pp_data) against the exact engine's
lattice statistic (model.cohorts._predictive_stat), the decisions trial by trial against
the exact decision tables, and the simulated OC against the exact lattice OC.
"""

import dataclasses
import itertools

import numpy as np
import pytest

from _cohort_mc import chunk_and_replay, within_mcse
from _cohort_mc import joint_design as _design
from adaptive2._base.errors import DesignError
from adaptive2.engines import cohort_montecarlo as cm
from adaptive2.engines.cohort_exact import cohort_oc_table
from adaptive2.engines.cohort_montecarlo import cohort_simulate, pp_data, unsupported
from adaptive2.engines.trials_multi import _cohort_key
from adaptive2.io.design_files import load_design
from adaptive2.model.cohorts import _predictive_stat
from adaptive2.model.hierarchical import Model, QuadratureGrid
from adaptive2.model.rules import BOP2, Boundary, PosteriorProbability, PredictiveProbability
from adaptive2.model.toxicity import ToxicityMonitor

from _shipped import DESIGNS_DIR

FIGURES = ("p_efficacy", "p_futility", "expected_n", "sd_n", "fwer", "p_all_correct")
SCEN2 = (("null", (0.2, 0.2)), ("mixed", (0.2, 0.4)), ("alt", (0.4, 0.4)))
SCEN3 = (("null", (0.2, 0.2, 0.2)), ("mixed", (0.2, 0.4, 0.4)), ("alt", (0.4, 0.4, 0.35)))
SMALL_GRID = QuadratureGrid(n_theta=241, n_mu=201, n_tau=20)
TWO_BHM = load_design(DESIGNS_DIR / "two-cohort-bhm.toml")  # its model has a tied stratum


def _same_decisions(design, scen, seed=11, size=500):
    (at, reason), (at_x, reason_x) = chunk_and_replay(design, scen, seed, size)
    np.testing.assert_array_equal(at, at_x)
    np.testing.assert_array_equal(reason, reason_x)
    return at, reason


# ---------------------------------------------------------------------------
# The statistic: PP_j of data sets = the exact engine's lattice PP_j
# ---------------------------------------------------------------------------
FINALS = {
    "posterior": PosteriorProbability(0.2, 0.9),
    "posterior-delta": PosteriorProbability(0.2, 0.8, delta=0.05),
    "bop2": BOP2(p0=0.2, lambda_=0.85),
    "boundary": Boundary((4,)),
}
MODELS = {"bhm": Model(), "exnex": Model(kind="exnex", weight=0.5)}


@pytest.mark.parametrize("model", sorted(MODELS))
@pytest.mark.parametrize("final", sorted(FINALS))
def test_pp_of_data_sets_is_the_lattice_statistic(final, model):
    """Two cohorts, three looks: every interim size pair (the other cohort stopped or not)."""
    d = _design(2, MODELS[model], looks=(4, 7, 10), futility=PredictiveProbability(0.1),
                final=FINALS[final])
    values = []
    for n in [(4, 4), (7, 4), (4, 7), (7, 7), (10, 4)]:
        counts = np.array(list(itertools.product(*[range(x + 1) for x in n])))
        for j in range(2):
            if n[j] == 10:
                continue  # cohort j at its last look: no interim statistic
            got = pp_data(d, n, counts, j)
            want = _predictive_stat(d, n, j)[tuple(counts.T)]
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
            values.append(got)
    pp = np.concatenate(values)
    assert ((pp > 0.01) & (pp < 0.99)).sum() > 20  # not only 0s and 1s


def test_pp_with_a_tied_historical_stratum_and_three_cohorts():
    # two-cohort-bhm's model (phase 1 16/20 tied to frontline, half weight), PP futility
    d = dataclasses.replace(TWO_BHM, futility=PredictiveProbability(0.1),
                            cohorts=tuple(dataclasses.replace(c, looks=(6, 12))
                                          for c in TWO_BHM.cohorts))
    for n in [(6, 6), (12, 6), (6, 12)]:
        counts = np.array(list(itertools.product(*[range(x + 1) for x in n])))
        for j in range(2):
            if n[j] < 12:
                np.testing.assert_allclose(pp_data(d, n, counts, j),
                                           _predictive_stat(d, n, j)[tuple(counts.T)],
                                           rtol=0, atol=1e-12)
    three = _design(3, Model(kind="exnex"), looks=(3, 6), futility=PredictiveProbability(0.1),
                    final=PosteriorProbability(0.2, 0.9))
    counts = np.array(list(itertools.product(range(4), range(4), range(4))))
    for j in range(3):
        np.testing.assert_allclose(pp_data(three, (3, 3, 3), counts, j),
                                   _predictive_stat(three, (3, 3, 3), j)[tuple(counts.T)],
                                   rtol=0, atol=1e-12)


def test_pp_data_checks_its_arguments():
    d = _design(2, Model(), futility=PredictiveProbability(0.1),
                final=PosteriorProbability(0.2, 0.9))
    with pytest.raises(DesignError, match="`j` of pp_data"):
        pp_data(d, (5, 5), [[1, 2]], 2)
    with pytest.raises(DesignError, match="`n` of pp_data"):
        pp_data(d, (5,), [[1, 2]], 0)
    with pytest.raises(DesignError, match="`n` of pp_data"):
        pp_data(d, (11, 5), [[1, 2]], 0)
    with pytest.raises(DesignError, match="`counts` of predictive_final_data"):
        pp_data(d, (5, 5), [[1, 7]], 0)
    with pytest.raises(DesignError, match="`design` of pp_data"):
        pp_data("d", (5, 5), [[1, 2]], 0)
    # at the last look PP is the final decision itself
    last = pp_data(d, (10, 5), [[0, 2], [10, 2]], 0)
    np.testing.assert_array_equal(last, [0.0, 1.0])


# ---------------------------------------------------------------------------
# Simulated OC against the exact lattice OC
# ---------------------------------------------------------------------------
def test_two_cohorts_pp_futility_agree_with_the_exact_engine():
    """two-cohort-bhm (tied stratum, p0 0.40 and 0.10) with PP futility at the interims."""
    d = dataclasses.replace(TWO_BHM, futility=PredictiveProbability(0.1),
                            cohorts=tuple(dataclasses.replace(c, looks=(8, 16))
                                          for c in TWO_BHM.cohorts),
                            scenarios=TWO_BHM.scenarios[:4])
    exact = cohort_oc_table(d)
    mc = cohort_simulate(d, n_sims=4_000, seed=1)
    within_mcse(mc, exact, FIGURES)
    assert (exact["p_futility"] > 0.05).any()  # the PP rule stops cohorts
    _same_decisions(d, d.scenarios[2])


def test_two_cohorts_pp_efficacy_agree_with_the_exact_engine():
    d = _design(2, Model(kind="exnex", weight=0.5), looks=(6, 12), scenarios=SCEN2,
                futility=PosteriorProbability(0.2, 0.1),
                efficacy=PredictiveProbability(0.9), final=PosteriorProbability(0.2, 0.9))
    exact = cohort_oc_table(d)
    mc = cohort_simulate(d, n_sims=4_000, seed=7)
    within_mcse(mc, exact, FIGURES)
    assert exact["p_stop_at"][-1, :, 0, 1].min() > 0.05  # early efficacy stops happen
    _same_decisions(d, d.scenarios[1])


def test_three_cohorts_pp_futility_and_efficacy_agree_with_the_exact_engine():
    d = _design(3, Model(), scenarios=SCEN3, futility=PredictiveProbability(0.1),
                efficacy=PredictiveProbability(0.95), final=PosteriorProbability(0.2, 0.9))
    exact = cohort_oc_table(d)
    mc = cohort_simulate(d, n_sims=4_000, seed=4)
    within_mcse(mc, exact, FIGURES)
    for s in d.scenarios:
        _same_decisions(d, s, size=300)


def test_results_do_not_depend_on_workers():
    d = _design(3, Model(kind="exnex"), scenarios=SCEN3[:2], futility=PredictiveProbability(0.2),
                final=PosteriorProbability(0.2, 0.9))
    assert unsupported(d) is None
    one = cohort_simulate(d, n_sims=900, seed=42, chunk_size=200, workers=1)
    two = cohort_simulate(d, n_sims=900, seed=42, chunk_size=200, workers=2)
    assert set(one.data_vars) == set(two.data_vars)
    for v in one.data_vars:
        np.testing.assert_array_equal(one[v], two[v], err_msg=v)
    # the predictive rule changes the trials' fates: not the posterior rule's numbers
    post = dataclasses.replace(d, futility=PosteriorProbability(0.2, 0.2))
    other = cohort_simulate(post, n_sims=900, seed=42, chunk_size=200)
    assert not np.array_equal(one["p_stop_at"], other["p_stop_at"])


# ---------------------------------------------------------------------------
# Four cohorts: beyond the lattice
# ---------------------------------------------------------------------------
def test_four_independent_cohorts_simulate_as_four_single_cohort_designs():
    """No borrowing: each cohort's PP is its own, so its OC are a one-cohort design's (exact)."""
    rules = {"futility": PredictiveProbability(0.15), "final": PosteriorProbability(0.2, 0.9)}
    rates = (0.2, 0.2, 0.4, 0.3)
    d4 = _design(4, Model(kind="independent"), looks=(8, 16), scenarios=(("mixed", rates),),
                 **rules)
    mc = cohort_simulate(d4, n_sims=3_000, seed=5)
    one = {}
    for p in sorted(set(rates)):
        d1 = _design(1, Model(kind="independent"), looks=(8, 16), scenarios=(("s", (p,)),),
                     **rules)
        one[p] = cohort_oc_table(d1)
    for v in ("p_efficacy", "p_futility", "expected_n"):
        want = np.array([[one[p][v][0, 0] for p in rates]])
        assert (mc[f"{v}_mcse"] > 0).all(), v
        assert (np.abs(mc[v] - want) <= 3 * mc[f"{v}_mcse"]).all(), (v, mc[v], want)
    fwer = 1 - (1 - one[0.2]["p_efficacy"][0, 0]) ** 2
    assert abs(mc["fwer"][0] - fwer) <= 3 * mc["fwer_mcse"][0]


def _basket_pp(grid=None):
    base = load_design(DESIGNS_DIR.parent / "examples" / "basket-bhm.toml")
    d = dataclasses.replace(base, futility=PredictiveProbability(0.05))
    return d if grid is None else dataclasses.replace(d, grid=grid)


def test_four_cohort_basket_with_pp_futility_runs_and_is_sane():
    """examples/basket-bhm.toml with PP futility (PP < 0.05 at 10 of 25 patients)."""
    d = _basket_pp(SMALL_GRID)
    mc = cohort_simulate(d, n_sims=2_000, seed=2026)
    assert mc["p_efficacy"].shape == (4, 4)
    np.testing.assert_allclose(mc["p_stop_at"].sum(axis=(2, 3)), 1.0, rtol=0, atol=1e-12)
    null, one, _, everything = range(4)
    assert (mc["p_efficacy"][null] < 0.06).all()  # final cutoff 0.95 under borrowing
    assert (mc["p_efficacy"][everything] > 0.8).all()
    assert (mc["p_futility"][null] > 0.4).all()  # the PP rule stops null cohorts early
    assert (mc["p_futility"][everything] < 0.05).all()
    assert mc["p_efficacy"][one, 0] > 3 * mc["p_efficacy"][one, 1:].max()
    assert ((mc["expected_n"] >= 10) & (mc["expected_n"] <= 25)).all()
    assert mc["fwer"][everything] == 0
    # the interim PP of the simulated data sets is the exact engine's, on its 4-cohort lattice
    r = cm._responses(d, [0.15] * 4, [_cohort_key(c, 0.15) for c in d.names],
                      np.random.SeedSequence(1), 0, 300)[:, :, 0]
    lattice = _predictive_stat(d, (10, 10, 10, 10), 1)
    np.testing.assert_allclose(pp_data(d, (10, 10, 10, 10), r, 1), lattice[tuple(r.T)],
                               rtol=0, atol=1e-12)


# ---------------------------------------------------------------------------
# Still refused
# ---------------------------------------------------------------------------
def test_toxicity_monitors_are_still_refused_and_pp_final_cannot_be_built():
    monitor = ToxicityMonitor(event="grade >= 3 TRAE", limit=0.3, acceptable=0.1,
                              rule="posterior", cutoff=0.8, prior=(0.5, 4.5), monitor=(5, 10))
    pp = _design(2, Model(), scenarios=SCEN2[:1], futility=PredictiveProbability(0.05),
                 final=PosteriorProbability(0.2, 0.9))
    assert unsupported(pp) is None
    tox = dataclasses.replace(pp, toxicity=monitor)
    with pytest.raises(DesignError, match="toxicity monitors"):
        cohort_simulate(tox, n_sims=10)
    with pytest.raises(DesignError, match="`final`"):
        _design(2, Model(), final=PredictiveProbability(0.5))
