"""Exact OC of multi-cohort designs with per-cohort toxicity monitoring.

References, none sharing the engine's dynamic programme:

* brute force: every outcome sequence (response × event per patient, 4^n per
  cohort) of a small two-cohort BHM design, the trial walked patient by patient
  as the protocol says (toxicity checks first, the stopped cohort's data at its
  check informing the other), weighted by its probability;
* independent cohorts with Beta priors: each cohort is then a single-cohort
  design, whose joint efficacy-toxicity OC come from the single-cohort engine
  (:func:`adaptive2.engines.toxicity_oc.oc_toxicity`, itself checked against
  brute force and Monte Carlo);
* limits: a toxicity rate of 0, or monitors that can never stop, give the
  efficacy-only OC.
"""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest

from adaptive2 import Beta, Design
from adaptive2.engines.cohort_exact import cohort_oc
from adaptive2.engines.toxicity_oc import oc_toxicity
from adaptive2.kernels.joint import cell_probabilities
from adaptive2.model.cohorts import CohortDesign, _decisions_cached
from adaptive2.model.hierarchical import Cohort, Historical, Model
from adaptive2.model.rules import PosteriorProbability
from adaptive2.model.scenarios import CohortScenario, Scenario
from adaptive2.model.toxicity import ToxicityMonitor

TIED = Model(kind="hierarchical", scale="logit-offset",
             historical=(Historical("phase1", 16, 20, tie="frontline", tie_sd=0.5, weight=0.5),))


def _monitor(monitor, cutoff=0.8, limit=0.3, acceptable=0.1):
    return ToxicityMonitor(event="grade >= 3 TRAE", limit=limit, acceptable=acceptable,
                           rule="posterior", cutoff=cutoff, prior=(0.5, 4.5), monitor=monitor)


def _tiny(toxicity, model=TIED):
    """Two cohorts of 4 patients, looks at 2 and 4, BHM with the phase 1 stratum."""
    cohorts = (Cohort("frontline", 0.40, 0.60, (2, 4)), Cohort("post_io", 0.10, 0.30, (2, 4)))
    return CohortDesign(
        name="tiny", model=model, cohorts=cohorts,
        futility=PosteriorProbability(0.4, 0.3),
        final={"frontline": PosteriorProbability(0.4, 0.7),
               "post_io": PosteriorProbability(0.1, 0.7)},
        toxicity=toxicity,
        scenarios=(CohortScenario("s", {"frontline": 0.5, "post_io": 0.2}),),
    )


def _brute(design: CohortDesign, rates, q, psi):
    """P(efficacy), P(stop for toxicity) and E[N] per cohort by enumerating every sequence."""
    J = len(design.cohorts)
    monitors = [design.toxicity_of(n) for n in design.names]
    checks = [m.monitor if m else () for m in monitors]
    counts = [m.boundaries() if m else () for m in monitors]
    n_max = [c.looks[-1] for c in design.cohorts]
    cells = [cell_probabilities(rates[j], q[j], psi[j]) for j in range(J)]
    outcomes = ((1, 1), (1, 0), (0, 1), (0, 0))  # (response, event), the order of CELLS
    seqs = [list(itertools.product(range(4), repeat=n)) for n in n_max]
    eff = np.zeros(J)
    tox = np.zeros(J)
    en = np.zeros(J)
    for combo in itertools.product(*seqs):
        w = np.prod([cells[j][i] for j in range(J) for i in combo[j]])
        if w == 0.0:
            continue
        status = ["run"] * J
        size = [0] * J
        for k in range(design.n_looks):
            for j, c in enumerate(design.cohorts):
                if status[j] != "run":
                    continue
                prev = c.looks[k - 1] if k else 0
                for m in range(prev + 1, c.looks[k] + 1):
                    size[j] = m
                    if m in checks[j]:
                        t = checks[j].index(m)
                        events = sum(outcomes[i][1] for i in combo[j][:m])
                        if events >= counts[j][t]:
                            status[j] = "tox"
                            break
            running = [j for j in range(J) if status[j] == "run"]
            if not running:
                break
            n = tuple(size)
            masks = _decisions_cached(design, k, n)
            r = tuple(sum(outcomes[i][0] for i in combo[j][: size[j]]) for j in range(J))
            for j in running:
                m = masks[design.cohorts[j].name]
                if m["efficacy"][r]:
                    status[j] = "eff"
                elif m["futility"][r] or k == design.n_looks - 1:
                    status[j] = "fut"
        for j in range(J):
            eff[j] += w * (status[j] == "eff")
            tox[j] += w * (status[j] == "tox")
            en[j] += w * size[j]
    return eff, tox, en


@pytest.mark.parametrize(
    ("rates", "q", "psi"),
    [((0.5, 0.2), (0.3, 0.2), (1.0, 1.0)), ((0.7, 0.1), (0.35, 0.45), (3.0, 0.4))],
)
def test_brute_force_enumeration_of_every_outcome_sequence(rates, q, psi):
    """Checks between looks and at them; the stopped cohort's data inform the other."""
    mon = {"frontline": _monitor((1, 2, 3, 4), cutoff=0.7),
           "post_io": _monitor((3, 4), cutoff=0.6)}
    d = _tiny(mon)
    scen = Scenario("s", rates={"frontline": rates[0], "post_io": rates[1]},
                    toxicity={"frontline": q[0], "post_io": q[1]},
                    odds_ratio={"frontline": psi[0], "post_io": psi[1]})
    ds = cohort_oc(d, [scen])
    eff, tox, en = _brute(d, rates, q, psi)
    assert tox.min() > 0.01 and eff.min() > 0.01  # both stops matter in this case
    np.testing.assert_allclose(ds["p_efficacy"].values[0], eff, atol=1e-12)
    np.testing.assert_allclose(ds["p_stop_toxicity"].values[0], tox, atol=1e-12)
    np.testing.assert_allclose(ds["expected_n"].values[0], en, atol=1e-11)
    total = (ds["p_efficacy"] + ds["p_futility"] + ds["p_stop_at"].isel(look=-1, reason=0)
             + ds["p_stop_toxicity"])
    np.testing.assert_allclose(total.values, 1.0, atol=1e-12)


def test_toxicity_stop_of_one_cohort_changes_the_other_through_borrowing():
    """Frontline stopped for toxicity at 3, 6 or 9 patients lends less to post-IO.

    Post-IO has no monitor and the same rates; only frontline's data at stopping
    differ, so post-IO's P(efficacy) moves towards what it would be without
    borrowing: up when frontline does not work, down when it does.
    """
    cohorts = (Cohort("frontline", 0.40, 0.60, (6, 12)), Cohort("post_io", 0.10, 0.30, (6, 12)))
    d = CohortDesign(
        name="m", model=TIED, cohorts=cohorts, futility=PosteriorProbability(0.4, 0.2),
        final={"frontline": PosteriorProbability(0.4, 0.9),
               "post_io": PosteriorProbability(0.1, 0.9)},
        toxicity={"frontline": _monitor((3, 6, 9), cutoff=0.7)},
    )
    moved = []
    for front in (0.2, 0.8):
        scen = Scenario("s", rates={"frontline": front, "post_io": 0.1},
                        toxicity={"frontline": 0.5})
        ds = cohort_oc(d, [scen])
        base = cohort_oc(dataclasses.replace(d, toxicity=None), [scen])
        assert ds["p_stop_toxicity"].values[0, 0] > 0.5
        assert ds["p_stop_toxicity"].values[0, 1] == 0.0
        moved.append(ds["p_efficacy"].values[0, 1] - base["p_efficacy"].values[0, 1])
    assert moved[0] > 0.01 and moved[1] < -0.01


# ---------------------------------------------------------------------------
# Independent cohorts with Beta priors = two single-cohort co-monitored designs
# ---------------------------------------------------------------------------
BETA = {"frontline": Beta(4.0, 3.0), "post_io": Beta(2.5, 7.5)}


def _beta_as_model(priors):
    """Independent cohorts whose logit prior is flat × p^a (1 − p)^b, i.e. Beta(a, b)."""
    strata = []
    for name, b in priors.items():
        w = 0.5 if (2 * b.a) % 2 else 1.0
        strata.append(Historical(f"beta-{name}", round(b.a / w), round((b.a + b.b) / w),
                                 tie=name, tie_sd=1e-4, weight=w))
    return Model(kind="independent", nex_sd=1e4, historical=tuple(strata))


@pytest.mark.parametrize("psi", [1.0, 2.5])
def test_independent_cohorts_are_single_cohort_joint_oc(psi):
    cohorts = (Cohort("frontline", 0.40, 0.60, (10, 20)), Cohort("post_io", 0.10, 0.30, (8, 16)))
    fut = PosteriorProbability(0.4, 0.15)
    final = {"frontline": PosteriorProbability(0.4, 0.9),
             "post_io": PosteriorProbability(0.1, 0.9)}
    mon = {"frontline": _monitor((5, 10, 15, 20), cutoff=0.85),
           "post_io": _monitor((4, 8, 12, 16), cutoff=0.85, limit=0.35, acceptable=0.15)}
    d = CohortDesign(name="indep", model=_beta_as_model(BETA), cohorts=cohorts,
                     futility={"frontline": fut, "post_io": PosteriorProbability(0.1, 0.15)},
                     final=final, toxicity=mon,
                     scenarios=(CohortScenario("a", {"frontline": 0.6, "post_io": 0.1}),
                                CohortScenario("b", {"frontline": 0.4, "post_io": 0.3})))
    ds = cohort_oc(d, tox=[0.1, 0.35], odds_ratio=psi)
    assert list(ds["scenario"].values) == ["a, q=0.1", "b, q=0.1", "a, q=0.35", "b, q=0.35"]
    for j, c in enumerate(d.cohorts):
        single = Design(name=c.name, prior=BETA[c.name], looks=c.looks, p0=c.p0, p1=c.p1,
                        futility=d.rule("futility", c.name), final=d.rule("final", c.name),
                        toxicity=mon[c.name])
        ref = oc_toxicity(single, [ds["rate"].values[i, j] for i in range(2)],
                          tox=[0.1, 0.35], odds_ratio=psi)
        for var in ("p_efficacy", "p_futility", "p_stop_toxicity", "expected_n", "sd_n",
                    "p_early_stop"):
            np.testing.assert_allclose(ds[var].values[:, j], ref[var].values, atol=2e-6,
                                       err_msg=f"{c.name} {var}")
        np.testing.assert_allclose(ds["p_stop_toxicity_at"].values[:, j],
                                   ref["p_stop_toxicity_at"].values, atol=2e-6)
        assert list(ds["tox_check_n"].values[j]) == list(mon[c.name].monitor)


# ---------------------------------------------------------------------------
# Limits
# ---------------------------------------------------------------------------
def test_no_events_or_a_monitor_that_never_stops_give_the_efficacy_only_oc():
    mon = {"frontline": _monitor((1, 2, 3, 4), cutoff=0.7),
           "post_io": _monitor((3, 4), cutoff=0.6)}
    d = _tiny(mon)
    base = cohort_oc(dataclasses.replace(d, toxicity=None))
    none = cohort_oc(d, tox=0.0)
    never = cohort_oc(_tiny({"frontline": _monitor((4,), cutoff=0.9999999)}), tox=0.9)
    for ds in (none, never):
        for var in ("p_efficacy", "p_futility", "expected_n", "sd_n", "p_early_stop", "fwer",
                    "p_all_correct"):
            np.testing.assert_allclose(ds[var].values, base[var].values, atol=1e-13)
        assert float(ds["p_stop_toxicity"].max()) == 0.0


def test_default_blocks_and_scenario_rates():
    mon = {"frontline": _monitor((2, 4)), "post_io": _monitor((2, 4), acceptable=0.15)}
    d = _tiny(mon)
    ds = cohort_oc(d)
    assert list(ds["scenario"].values) == ["s, q=acceptable", "s, q=0.3"]
    np.testing.assert_array_equal(ds["toxicity_rate"].values, [[0.1, 0.15], [0.3, 0.3]])
    own = Scenario("own", rates={"frontline": 0.5, "post_io": 0.2}, toxicity={"post_io": 0.4})
    ds = cohort_oc(d, [own])
    assert list(ds["scenario"].values) == ["own"]
    np.testing.assert_array_equal(ds["toxicity_rate"].values, [[0.1, 0.4]])
    half = cohort_oc(_tiny({"post_io": _monitor((2, 4))}), tox=0.2)
    assert np.isnan(half["toxicity_rate"].values[0, 0])
    assert float(half["p_stop_toxicity"].values[0, 0]) == 0.0


@pytest.mark.parametrize(("kw", "field"), [({"tox": [0.1, 0.1]}, "tox"),
                                           ({"tox": 1.5}, "tox"),
                                           ({"odds_ratio": 0.0}, "odds_ratio")])
def test_bad_toxicity_arguments_name_the_field(kw, field):
    from adaptive2._base.errors import DesignError

    d = _tiny({"frontline": _monitor((2, 4))})
    with pytest.raises(DesignError, match=field):
        cohort_oc(d, **kw)
    with pytest.raises(DesignError, match=field):
        cohort_oc(dataclasses.replace(d, toxicity=None), **kw)


def test_one_named_block_keeps_the_scenario_names():
    mon = {"frontline": _monitor((2, 4)), "post_io": _monitor((2, 4), acceptable=0.15)}
    d = _tiny(mon)
    both = cohort_oc(d)
    for i, word in enumerate(("acceptable", "limit")):
        one = cohort_oc(d, tox=word)
        assert list(one["scenario"].values) == ["s"]
        np.testing.assert_array_equal(one["p_efficacy"].values, both["p_efficacy"].values[i:i + 1])
    from adaptive2._base.errors import DesignError

    with pytest.raises(DesignError, match="tox"):
        cohort_oc(d, tox="safe")
