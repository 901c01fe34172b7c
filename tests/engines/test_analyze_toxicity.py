"""`analyze` with toxicity data: the monitor's posterior and decision next to the efficacy one.

References: scipy.stats.beta for the posterior (mean, equal-tailed interval, upper
tail at the limit) and scipy.stats.binom for the Pocock-type rule's critical
values, computed here without the package's kernels; the monitor's own integer
boundaries (``ToxicityMonitor.boundaries()``) for the decisions at the
monitoring points.
"""

from __future__ import annotations

import dataclasses
import json
import warnings

import pytest
from scipy import stats

from adaptive2._base.errors import DesignError, StatisticalWarning
from adaptive2.engines.analysis import analyze, parse_data
from adaptive2.engines.analysis_results import STOP_TOXICITY
from adaptive2.kernels.toxicity import nominal_levels
from adaptive2.model.cohorts import CohortDesign
from adaptive2.model.designs import Design
from adaptive2.model.hierarchical import Cohort, Model
from adaptive2.model.priors import Beta
from adaptive2.model.rules import PosteriorProbability, PredictiveProbability
from adaptive2.model.toxicity import ToxicityMonitor

TOX_KEYS = {"events", "n", "posterior_mean", "interval", "p_above_limit", "decision", "reason",
            "boundary"}


@pytest.fixture(scope="module")
def plain() -> Design:
    return Design(name="plain", prior=Beta(1, 1), looks=(10, 20, 30),
                  futility=PredictiveProbability(threshold=0.05),
                  final=PosteriorProbability(p0=0.2, cutoff=0.9), p0=0.2, p1=0.4)


POSTERIOR = ToxicityMonitor(event="grade>=3 irAE", limit=0.3, acceptable=0.15,
                            rule="posterior", cutoff=0.8, prior=(0.5, 2.0),
                            monitor=(6, 10, 15, 20, 30))
POCOCK = ToxicityMonitor(event="DLT", limit=0.35, acceptable=0.2, rule="pocock", shape=0.3,
                         monitor=(6, 10, 15, 20, 30))


def quiet(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        return analyze(*args, **kwargs)


def stops_by_scipy(mon: ToxicityMonitor, j: int, t: int, n: int) -> bool:
    """Monitoring point j's rule applied to t events of n patients, straight from scipy."""
    if mon.rule == "posterior":
        a, b = mon.prior
        return bool(stats.beta.sf(mon.limit, a + t, b + n - t) > mon.cutoff + 1e-12)
    level = nominal_levels(mon.nominal_level, mon.monitor, mon.shape)[j]
    crit = next(c for c in range(n + 1) if stats.binom.sf(c, n, mon.acceptable) <= level)
    return t > crit


@pytest.mark.parametrize("mon", [POSTERIOR, POCOCK], ids=["posterior", "pocock"])
def test_posterior_of_the_event_rate_is_scipys_beta(plain, mon):
    design = dataclasses.replace(plain, toxicity=mon)
    a, b = mon.prior
    for t, n in ((0, 0), (0, 6), (2, 10), (5, 12), (9, 15), (30, 30)):
        tox = quiet(design, (3, 10), toxicity=(t, n)).toxicity
        post = stats.beta(a + t, b + n - t)
        assert tox.posterior_mean == pytest.approx(post.mean(), rel=1e-12)
        assert tox.interval == pytest.approx(post.ppf([0.025, 0.975]), rel=1e-9, abs=1e-12)
        assert tox.p_above_limit == pytest.approx(post.sf(mon.limit), rel=1e-12, abs=1e-15)
        assert (tox.events, tox.n, tox.limit, tox.prior) == (t, n, mon.limit, (a, b))


@pytest.mark.parametrize("mon", [POSTERIOR, POCOCK], ids=["posterior", "pocock"])
def test_decisions_at_the_monitoring_points_follow_the_boundaries(plain, mon):
    """Every count at every point: stop iff events >= c_k, and c_k is scipy's too."""
    design = dataclasses.replace(plain, toxicity=mon)
    counts = mon.boundaries()
    seen = set()
    for j, m in enumerate(mon.monitor):
        for t in range(m + 1):
            with warnings.catch_warnings():
                warnings.simplefilter("error", StatisticalWarning)  # on a point: no warning
                tox = analyze(design, "3/10", toxicity=f"{t}/{m}").toxicity
            stop = t >= counts[j]
            assert tox.decision == (STOP_TOXICITY if stop else "continue"), (j, t)
            assert stop == stops_by_scipy(mon, j, t, m), (j, t)
            assert (tox.check, tox.n_check) == (j + 1, m)
            assert tox.boundary == (counts[j] if counts[j] <= m else None)
            assert tox.stops == stop
            seen.add(stop)
    assert seen == {True, False}


@pytest.mark.parametrize("mon", [POSTERIOR, POCOCK], ids=["posterior", "pocock"])
def test_between_points_the_last_rule_is_applied_to_all_patients_with_a_warning(plain, mon):
    design = dataclasses.replace(plain, toxicity=mon)
    for n, j in ((12, 1), (17, 2), (25, 3)):
        for t in range(n + 1):
            with pytest.warns(StatisticalWarning, match=rf"n = {n} lies between monitoring "
                              rf"point {j + 1} \(n = {mon.monitor[j]}\)"):
                res = analyze(design, (3, 10), toxicity=(t, n))
            tox = res.toxicity
            assert (tox.check, tox.n_check, tox.boundary_n) == (j + 1, mon.monitor[j], n)
            assert tox.stops == stops_by_scipy(mon, j, t, n), (n, t)
            assert any("lies between monitoring point" in w for w in res.warnings)


def test_before_the_first_point_no_check_is_due(plain):
    design = dataclasses.replace(plain, toxicity=POSTERIOR)
    with pytest.warns(StatisticalWarning, match="before the first monitoring point"):
        res = analyze(design, "3/10", toxicity="5/5")
    tox = res.toxicity
    assert tox.decision == "continue" and tox.check is None and tox.boundary is None
    c0 = POSTERIOR.boundaries()[0]
    assert f"the first is at n = 6 (stop enrolment if {c0} or more" in tox.reason
    assert "already reaches it" in tox.reason  # 5 events of 5 already reach c0 = 3
    assert tox.next_check == {"check": 1, "n": 6, "boundary": c0, "events_to_stop": 0}


def test_the_efficacy_analysis_is_unchanged_and_every_input_form_agrees(plain):
    design = dataclasses.replace(plain, toxicity=POSTERIOR)
    forms = [
        quiet(design, (7, 20), toxicity=(3, 22)),
        quiet(design, "7/20 tox=3/22"),
        quiet(design, parse_data("7/20, tox = 3/22")),
        quiet(design, {"cohort": "7/20", "tox": "3/22"}),
        quiet(design, "7/20", toxicity="3/22"),
    ]
    first = forms[0]
    for res in forms[1:]:
        assert res.toxicity == first.toxicity
        assert res.cohorts == first.cohorts
    without = quiet(plain, (7, 20))
    assert first.cohorts == without.cohorts and without.toxicity is None
    assert without.to_dict()["toxicity"] is None


def test_json_and_text_carry_the_toxicity_decision(plain):
    design = dataclasses.replace(plain, toxicity=POSTERIOR)
    c = POSTERIOR.boundaries()[2]  # at n = 15
    res = analyze(design, "7/10", toxicity=(c, 15))
    got = json.loads(json.dumps(res.to_dict(), allow_nan=False))["toxicity"]
    assert TOX_KEYS <= set(got)
    assert (got["events"], got["n"], got["boundary"], got["decision"]) == (
        c, 15, c, "stop enrolment for toxicity")
    assert f"{c} or more of the first 15 patients have the event" in got["reason"]
    text = str(res)
    assert "toxicity (grade>=3 irAE): " in text
    assert "decision: stop enrolment for toxicity" in text
    assert "enrolment stops for toxicity, whatever the efficacy decision" in text
    below = analyze(design, "7/10", toxicity=(c - 1, 15)).toxicity
    assert below.reason == f"{c - 1} of 15 patients had the event; the boundary at n = 15 is {c}"


@pytest.mark.parametrize(
    ("data", "toxicity", "message"),
    [
        ("7/15", (3, 2), "`toxicity` of analyze (tox= in the data) must be counts with "
                         "events <= n"),
        ("7/15 tox=3/2", None, "must be counts with events <= n"),
        ("7/15 tox=abc", None, "must be a pair (events, n) or the string 'events/n'"),
        ("7/15 tox=", None, "must be a pair (events, n) or the string 'events/n'"),
        ("7/15", (2.5, 10), "must be a pair (events, n) or the string 'events/n'"),
        ("7/15", (-1, 10), "must be non-negative counts"),
        ("7/15", "2/31", "must be counts with n <= 30 (the design's maximum N)"),
        ("7/15 tox=1/15", (1, 15), "`toxicity` of analyze must be given once"),
        ("7/15 tox=1/15 tox=2/15", None, "`data` of analyze must be at most one tox="),
    ],
)
def test_bad_toxicity_data_name_the_field(plain, data, toxicity, message):
    design = dataclasses.replace(plain, toxicity=POSTERIOR)
    with pytest.raises(DesignError) as err:
        quiet(design, data, toxicity=toxicity)
    assert message in str(err.value)


def test_toxicity_data_without_a_monitor_are_an_error(plain):
    for call in (lambda: analyze(plain, "7/15 tox=2/15"),
                 lambda: analyze(plain, (7, 15), toxicity=(2, 15))):
        with pytest.raises(DesignError, match=r"`toxicity` of Design 'plain' is not set"):
            call()
    two = CohortDesign(name="two", model=Model(kind="independent"),
                       cohorts=(Cohort("a", 0.2, 0.4, (10, 20)), Cohort("b", 0.2, 0.4, (10, 20))),
                       final=PosteriorProbability(p0=0.2, cutoff=0.9))
    with pytest.raises(DesignError, match=r"^`toxicity` of analyze must be None for a "
                                          "multi-cohort design"):
        analyze(two, parse_data("a=3/10,b=4/10 tox=2/10"))


def test_parse_data_keeps_the_toxicity_token():
    assert parse_data("7/15 tox=2/15") == "7/15 tox=2/15"
    assert parse_data(" 7/15 ,tox=2/15 ") == "7/15 tox=2/15"
    assert parse_data("tox=2/15 7/15") == "7/15 tox=2/15"
    assert parse_data("a=3/10, b=4/10 tox=2/10") == {"a": "3/10", "b": "4/10", "tox": "2/10"}
    assert parse_data("12/20") == "12/20"
    with pytest.raises(DesignError, match="responses r/n as well as tox=events/n"):
        parse_data("tox=2/15")
