"""The ``[toxicity]`` section of design files, toxicity in scenarios, and the shipped efftox design.

The shipped design's stated figures are checked against an independent computation
(posterior tails by scipy, stopping probabilities by convolving binomial pmfs), not
against the toxicity kernel that chose them.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from adaptive2._base.errors import DesignError, DesignFileError
from adaptive2.io.design_files import (
    design_from_dict,
    design_to_dict,
    dumps_toml,
    load_design,
    read_toml,
    save_any,
)
from adaptive2.io.scenario_files import load_scenarios
from adaptive2.model.cohorts import CohortDesign, cohort_design_to_dict
from adaptive2.model.designs import Design, toxicity_protocol, toxicity_records
from adaptive2.model.priors import Beta
from adaptive2.model.rules import PosteriorProbability
from adaptive2.model.scenarios import Scenario
from adaptive2.model.toxicity import ToxicityMonitor

from _shipped import DESIGNS_DIR

EFFTOX = DESIGNS_DIR / "frontline-efftox.toml"
PP = DESIGNS_DIR / "frontline-pp.toml"
BHM = DESIGNS_DIR / "two-cohort-bhm.toml"
SECTION = {
    "event": "grade >= 3 treatment-related adverse event",
    "limit": 0.30,
    "acceptable": 0.15,
    "prior": {"a": 0.5, "b": 4.5},
    "source": "planning assumptions",
    "rule": "posterior",
    "cutoff": 0.90,
    "monitor": [5, 10, 15, 20, 25, 30, 35, 40],
}


def _pp(**tables) -> dict:
    data = read_toml(PP)
    for k, v in tables.items():
        if v is None:
            data.pop(k, None)
        else:
            data[k] = v
    return data


def _write(tmp_path: Path, data: dict, name: str = "design.toml") -> Path:
    path = tmp_path / name
    path.write_text(dumps_toml(data), encoding="utf-8")
    return path


def _f(path: Path) -> str:
    return re.escape(str(path))


# ---------------------------------------------------------------------------
# Independent references
# ---------------------------------------------------------------------------
def _posterior_counts(monitor, limit, cutoff, a, b) -> list[int]:
    """Smallest event count with P(rate > limit | data) > cutoff, per point (n + 1: none)."""
    return [next((c for c in range(n + 1) if stats.beta.sf(limit, a + c, b + n - c) > cutoff),
                 n + 1) for n in monitor]


def _p_stop(monitor, counts, q) -> float:
    """P(the event count reaches a boundary at some point), by convolving binomial pmfs."""
    state = np.array([1.0])  # running mass by event count
    stopped, prev = 0.0, 0
    for n, c in zip(monitor, counts, strict=True):
        pmf = stats.binom.pmf(np.arange(n - prev + 1), n - prev, q)
        state = np.convolve(state, pmf)
        stopped += state[c:].sum()
        state[c:] = 0.0
        prev = n
    return stopped


# ---------------------------------------------------------------------------
# The shipped design
# ---------------------------------------------------------------------------
def test_the_shipped_efftox_design_is_frontline_pp_with_a_monitor():
    d, pp = load_design(EFFTOX), load_design(PP)
    m = d.toxicity
    assert m is not None
    assert m.event == "grade >= 3 treatment-related adverse event"
    assert "capillary leak" in EFFTOX.read_text(encoding="utf-8")  # the event's definition
    assert (m.rule, m.limit, m.acceptable, m.prior, m.cutoff) == ("posterior", 0.30, 0.15,
                                                                   (0.5, 4.5), 0.36)
    assert m.monitor == tuple(range(5, 41, 5))
    assert d.toxicity_source.startswith("Planning assumptions")
    assert d.toxicity_rates == (0.15, 0.30) and d.toxicity_odds_ratio == 1.0
    # the efficacy part and the targets are frontline-pp's
    same = d.replace(name=pp.name, title=pp.title, notes=pp.notes, toxicity=None)
    assert same == pp and same.hash == pp.hash
    assert d.hash != pp.hash


def test_the_shipped_cutoff_meets_its_stated_figures():
    """P(stop | 0.15) <= 0.10 with the largest P(stop | 0.30), as the file's comment says."""
    m = load_design(EFFTOX).toxicity
    counts = _posterior_counts(m.monitor, 0.30, 0.36, 0.5, 4.5)
    assert tuple(counts) == m.boundaries() == (3, 4, 5, 7, 8, 10, 11, 13)
    acc, lim = _p_stop(m.monitor, counts, 0.15), _p_stop(m.monitor, counts, 0.30)
    assert acc == pytest.approx(0.0995, abs=5e-5) and acc <= 0.10
    assert lim == pytest.approx(0.691, abs=5e-4)
    # the file says every cutoff in (0.3538, 0.3751) gives these boundaries ...
    for cut in (0.3539, 0.3750):
        assert _posterior_counts(m.monitor, 0.30, cut, 0.5, 4.5) == counts
    # ... and that the next lower boundaries stop more than 10% of safe trials
    lower = _posterior_counts(m.monitor, 0.30, 0.3537, 0.5, 4.5)
    assert lower != counts and _p_stop(m.monitor, lower, 0.15) > 0.10


def test_protocol_words_and_records():
    m = load_design(EFFTOX).toxicity
    words = toxicity_protocol(m)
    assert words[1].startswith("stop enrolment if 4 or more of the first 10 patients have a "
                               "grade >= 3 treatment-related adverse event")
    assert toxicity_records(m)[0] == {"check": 1, "n": 5, "stop_at_or_above": 3}
    never = m.replace(monitor=(1, 40), cutoff=0.99)
    assert toxicity_records(never)[0]["stop_at_or_above"] is None
    assert toxicity_protocol(never)[0].startswith("continue after the first patient whatever")


# ---------------------------------------------------------------------------
# Reading and writing
# ---------------------------------------------------------------------------
def test_monitor_defaults_to_the_looks_and_is_then_not_written():
    section = {k: v for k, v in SECTION.items() if k != "monitor"}
    d = design_from_dict(_pp(toxicity=section))
    assert d.toxicity.monitor == (15, 25, 40) == d.looks
    out = design_to_dict(d)["toxicity"]
    assert "monitor" not in out
    assert design_from_dict(design_to_dict(d)) == d


def test_the_writer_writes_only_what_the_rule_reads():
    d = design_from_dict(_pp(toxicity=SECTION))
    assert design_to_dict(d)["toxicity"] == {**SECTION}
    pocock = {"event": "DLT", "limit": 0.35, "acceptable": 0.2, "rule": "pocock",
              "monitor": [10, 20, 30, 40]}
    d2 = design_from_dict(_pp(toxicity=pocock))
    written = design_to_dict(d2)["toxicity"]
    assert set(written) == {"event", "limit", "acceptable", "rule", "shape", "p_stop_acceptable",
                            "monitor"}  # no cutoff, no prior, no source
    assert design_from_dict(design_to_dict(d2)) == d2


def test_round_trip_through_a_file_keeps_the_design_and_its_hash(tmp_path):
    d = load_design(EFFTOX)
    back = load_design(save_any(d, tmp_path / "efftox.toml"))
    assert back == d and back.hash == d.hash


def test_the_hash_includes_the_toxicity_section():
    base = design_from_dict(_pp(toxicity=SECTION))
    for key, value in (("cutoff", 0.8), ("limit", 0.35), ("monitor", [10, 20, 40]),
                       ("source", "other"), ("event", "DLT")):
        other = design_from_dict(_pp(toxicity={**SECTION, key: value}))
        assert other.hash != base.hash, key
    # a design without [toxicity] writes no toxicity key: its hash is as before the feature
    assert "toxicity" not in design_to_dict(load_design(PP))


def test_scenarios_toxicity_and_odds_ratio():
    d = design_from_dict(_pp(toxicity=SECTION, scenarios={"p": [0.4], "toxicity": [0.1, 0.3],
                                                          "odds_ratio": 2.0}))
    assert d.toxicity_rates == (0.1, 0.3) and d.toxicity_odds_ratio == 2.0
    assert design_to_dict(d)["scenarios"] == {"p": [0.4], "toxicity": [0.1, 0.3],
                                              "odds_ratio": 2.0}
    one = design_from_dict(_pp(toxicity=SECTION, scenarios={"toxicity": 0.2}))
    assert one.toxicity_rates == (0.2,)


# ---------------------------------------------------------------------------
# Errors: every key named, nothing silently ignored
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(("change", "message"), [
    ({"cutof": 0.9}, r"\[toxicity\] unknown key `cutof`; allowed keys: event, limit, acceptable, "
                     r"rule, cutoff, prior, monitor, source\."),
    ({"shape": 0.2}, r"\[toxicity\] `shape` is not read by rule 'posterior' \(only by 'pocock'\), "
                     r"so it would be ignored; allowed keys: event"),
    ({"p_stop_acceptable": 0.1}, r"\[toxicity\] `p_stop_acceptable` is not read by rule "
                                 r"'posterior'"),
    ({"rule": "pocock"}, r"\[toxicity\] `cutoff` is not read by rule 'pocock' \(only by "
                         r"'posterior'\)"),
    ({"rule": "bayes"},
     r"\[toxicity\] `rule` must be one of \{posterior, pocock, bop2\}.*got 'bayes'"),
    ({"cutoff": None}, r"\[toxicity\] missing `cutoff` \(stop if P\(rate > limit \| data\) > "
                       r"cutoff\)"),
    ({"event": None}, r"\[toxicity\] missing `event`"),
    ({"limit": 1.5}, r"\[toxicity\] `limit` of ToxicityMonitor must be a probability in "
                     r"\(0, 1\); got 1.5"),
    ({"acceptable": 0.4}, r"\[toxicity\] `acceptable` of ToxicityMonitor must be a probability "
                          r"in \(0, limit = 0.3\)"),
    ({"monitor": [5, 10, 50]}, r"\[toxicity\] `monitor` must be patient counts in \[1, 40\] "
                               r"\(the maximum N"),
    ({"monitor": [10, 5]}, r"\[toxicity\] `monitor` of ToxicityMonitor must be strictly "
                           r"increasing"),
    ({"monitor": 5}, r"\[toxicity\] `monitor` must be a list of increasing patient counts"),
    ({"prior": [0.5, 4.5]}, r"\[toxicity\] `prior` must be \{ a = <number>, b = <number> \}"),
    ({"prior": {"a": 0.5, "b": -1}}, r"\[toxicity\] `prior` of ToxicityMonitor must be a pair"),
    ({"source": 3}, r"\[toxicity\] `source` must be text; got 3"),
])
def test_section_errors_name_the_key(tmp_path, change, message):
    section = {k: v for k, v in {**SECTION, **change}.items() if v is not None}
    path = _write(tmp_path, _pp(toxicity=section))
    with pytest.raises(DesignFileError, match=rf"^{_f(path)}: {message}"):
        load_design(path)


def test_a_section_that_is_not_a_table(tmp_path):
    path = _write(tmp_path, _pp(toxicity=0.3))
    with pytest.raises(DesignFileError, match=r"`toxicity` must be a table; got 0.3"):
        load_design(path)


@pytest.mark.parametrize(("scenarios", "message"), [
    ({"p": [0.4], "toxicity": [0.2]}, r"\[scenarios\] `toxicity` needs a \[toxicity\] table"),
    ({"p": [0.4], "odds_ratio": 2}, r"\[scenarios\] `odds_ratio` needs a \[toxicity\] table"),
])
def test_toxicity_scenarios_without_a_monitor_are_errors(tmp_path, scenarios, message):
    path = _write(tmp_path, _pp(scenarios=scenarios))
    with pytest.raises(DesignFileError, match=rf"^{_f(path)}: {message}"):
        load_design(path)


@pytest.mark.parametrize(("scenarios", "message"), [
    ({"toxicity": [1.5]}, r"`toxicity` must be a list of distinct true toxicity rates"),
    ({"toxicity": [0.2, 0.2]}, r"`toxicity` must be a list of distinct"),
    ({"odds_ratio": 0}, r"`odds_ratio` must be a finite number > 0"),
    ({"odds_ratio": "2"}, r"`odds_ratio` must be a finite number > 0"),
    ({"toxic": [0.2]}, r"unknown key `toxic`; allowed keys: p, toxicity, odds_ratio"),
])
def test_bad_toxicity_scenarios(tmp_path, scenarios, message):
    path = _write(tmp_path, _pp(toxicity=SECTION, scenarios=scenarios))
    with pytest.raises(DesignFileError, match=rf"^{_f(path)}: \[scenarios\] {message}"):
        load_design(path)


def test_bad_looks_are_reported_as_looks_not_as_the_monitor(tmp_path):
    data = _pp(toxicity={k: v for k, v in SECTION.items() if k != "monitor"})
    data["cohort"]["looks"] = [25, 15, 40]
    path = _write(tmp_path, data)
    with pytest.raises(DesignFileError, match=rf"^{_f(path)}: \[cohort\] `looks`"):
        load_design(path)


def test_design_validates_its_monitor_and_companions():
    m = ToxicityMonitor(event="x", limit=0.3, acceptable=0.1, rule="posterior", cutoff=0.9,
                        monitor=(10, 30))
    kw = {"name": "d", "prior": Beta(1, 1), "looks": (10, 20), "p0": 0.2,
          "final": PosteriorProbability(p0=0.2, cutoff=0.9)}
    with pytest.raises(DesignError, match=r"`toxicity.monitor` of Design 'd' must be patient "
                                          r"counts in \[1, 20\]"):
        Design(**kw, toxicity=m)
    for key, value in (("toxicity_rates", (0.2,)), ("toxicity_odds_ratio", 2.0),
                       ("toxicity_source", "x")):
        with pytest.raises(DesignError, match=rf"`{key}` of Design 'd' is set but the design has "
                                              r"no toxicity monitor"):
            Design(**kw, **{key: value})
    ok = Design(**kw, toxicity=m.replace(monitor=(10, 20)), toxicity_rates=(0.1, 0.3))
    with pytest.raises(DesignError, match=r"`toxicity.monitor` of Design 'd'"):
        ok.replace(looks=(5, 15))  # a later change of looks is checked too
    assert ok.replace(toxicity=None).toxicity_rates == ()  # dropping the monitor drops its rates
    with pytest.raises(DesignError, match=r"`toxicity_odds_ratio` of Design must be a finite"):
        Design(**kw, toxicity=m.replace(monitor=(20,)), toxicity_odds_ratio=0.0)
    assert "toxicity: stop for x if P(rate > 0.3 | data) > 0.9" in str(ok)


# ---------------------------------------------------------------------------
# Multi-cohort designs: per cohort, no borrowing
# ---------------------------------------------------------------------------
def _bhm(**changes) -> dict:
    data = copy.deepcopy(read_toml(BHM))
    data.update(changes)
    return data


def test_a_shared_section_applies_to_every_cohort_with_its_own_looks(tmp_path):
    section = {k: v for k, v in SECTION.items() if k not in ("monitor", "source")}
    d = load_design(_write(tmp_path, _bhm(toxicity=section)))
    assert isinstance(d, CohortDesign)
    for c in d.cohorts:
        assert d.toxicity_of(c.name).monitor == c.looks
    back = cohort_design_to_dict(d)
    assert "toxicity" not in back  # written per cohort
    assert all("monitor" not in back["cohorts"][c]["toxicity"] for c in d.names)
    assert load_design(_write(tmp_path, back, "back.toml")) == d


def test_a_cohort_table_overrides_the_shared_one(tmp_path):
    data = _bhm(toxicity={k: v for k, v in SECTION.items() if k != "monitor"})
    data["cohorts"]["post_io"]["toxicity"] = {"event": "DLT", "limit": 0.35, "acceptable": 0.2,
                                              "rule": "pocock", "monitor": [10, 20, 30]}
    data["scenarios"][0]["toxicity"] = {"frontline": 0.15, "post_io": 0.25}
    data["scenarios"][0]["odds_ratio"] = 2.0
    d = load_design(_write(tmp_path, data))
    assert d.toxicity_of("frontline").rule == "posterior"
    assert d.toxicity_of("post_io").rule == "pocock"
    assert d.toxicity_source_of("frontline") == "planning assumptions"
    assert d.toxicity_source_of("post_io") == ""
    s = d.scenarios[0]
    assert s.tox_rate("post_io") == 0.25 and s.odds_ratio_of("frontline") == 2.0
    back = load_design(save_any(d, tmp_path / "back.toml"))
    assert back == d and back.hash == d.hash
    assert back.hash != load_design(BHM).hash
    assert "toxicity: stop for DLT" in d.describe()


def test_a_cohort_without_a_section_is_not_monitored(tmp_path):
    data = _bhm()
    data["cohorts"]["frontline"]["toxicity"] = {k: v for k, v in SECTION.items()
                                                if k != "monitor"}
    d = load_design(_write(tmp_path, data))
    assert d.toxicity_of("post_io") is None
    assert [n for n, _ in d.toxicity] == ["frontline"]


@pytest.mark.parametrize(("where", "change", "message"), [
    ("shared", {"monitor": [10, 20, 40]}, r"\[toxicity\] `monitor` must be patient counts in "
                                          r"\[1, 30\]"),  # post_io's looks end at 30
    ("frontline", {"shape": 0.1}, r"\[cohorts.frontline.toxicity\] `shape` is not read"),
    ("frontline", {"cutoff": None}, r"\[cohorts.frontline.toxicity\] missing `cutoff`"),
])
def test_multi_cohort_section_errors(tmp_path, where, change, message):
    section = {k: v for k, v in {**SECTION, **change}.items() if v is not None}
    if "monitor" not in change:
        del section["monitor"]  # each cohort's looks
    data = _bhm() if where != "shared" else _bhm(toxicity=section)
    if where != "shared":
        data["cohorts"][where]["toxicity"] = section
    path = _write(tmp_path, data)
    with pytest.raises(DesignFileError, match=rf"^{_f(path)}: {message}"):
        load_design(path)


def test_multi_cohort_toxicity_scenarios_need_a_monitor(tmp_path):
    data = _bhm()
    data["scenarios"][0]["toxicity"] = 0.2
    path = _write(tmp_path, data)
    with pytest.raises(DesignFileError, match=r"\[scenarios\[0\]\] `toxicity` needs a "
                                              r"\[toxicity\] table"):
        load_design(path)
    data = _bhm(toxicity={k: v for k, v in SECTION.items() if k != "monitor"})
    data["scenarios"][0]["toxicity"] = {"frontline": 0.2, "nope": 0.1}
    with pytest.raises(DesignFileError, match=r"\[scenarios\[0\]\] `toxicity` of Scenario must "
                                              r"be values for cohorts in"):
        load_design(_write(tmp_path, data, "b.toml"))


# ---------------------------------------------------------------------------
# Scenario objects and scenario files
# ---------------------------------------------------------------------------
def test_scenario_toxicity_settings():
    s = Scenario("a", 0.4, "null", toxicity=0.2, odds_ratio=2)
    assert s.tox_rate() == 0.2 and s.odds_ratio_of() == 2.0
    assert Scenario("b", 0.4).tox_rate() is None and Scenario("b", 0.4).odds_ratio_of() is None
    j = Scenario("j", rates={"a": 0.2, "b": 0.3}, toxicity=0.1, odds_ratio={"b": 3.0})
    assert j.tox_rate("a") == j.tox_rate("b") == 0.1
    assert j.odds_ratio_of("b") == 3.0 and j.odds_ratio_of("a") is None
    with pytest.raises(DesignError, match=r"`toxicity` of Scenario must be a probability in "
                                          r"\[0, 1\]; got 1.2"):
        Scenario("c", 0.4, toxicity=1.2)
    with pytest.raises(DesignError, match=r"`odds_ratio` of Scenario must be a finite number > 0"):
        Scenario("c", 0.4, odds_ratio=-1)
    with pytest.raises(DesignError, match=r"`toxicity` of Scenario must be a number"):
        Scenario("c", 0.4, toxicity={"a": 0.1})


def test_scenario_files_carry_toxicity(tmp_path):
    path = tmp_path / "scen.toml"
    path.write_text(
        "[frontline]\np0 = 0.4\nnull = [0.4]\nalternative = [0.6]\ntoxicity = [0.15, 0.3]\n"
        "odds_ratio = 2.0\n\n[[two_cohort]]\nname = 'x'\nfrontline = 0.4\npost_io = 0.1\n"
        "toxicity = { frontline = 0.15, post_io = 0.3 }\n",
        encoding="utf-8",
    )
    grid = load_scenarios(path)
    scen = grid.for_p0(0.4)
    assert [s.name for s in scen] == ["p=0.4, tox=0.15", "p=0.4, tox=0.3", "p=0.6, tox=0.15",
                                      "p=0.6, tox=0.3"]
    assert [s.tox_rate() for s in scen] == [0.15, 0.3, 0.15, 0.3]
    assert {s.odds_ratio_of() for s in scen} == {2.0}
    assert grid.multi[0].tox_rate("post_io") == 0.3


@pytest.mark.parametrize(("text", "message"), [
    ("toxicity = 1.5", r"\[frontline\] `toxicity` must be a true toxicity rate in \[0, 1\]"),
    ("toxicity = [0.1, 0.1]", r"\[frontline\] `toxicity` must be"),
    ("odds_ratio = 0", r"\[frontline\] `odds_ratio` must be a finite number > 0"),
    ("toxic = 0.2", r"\[frontline\]: unknown key `toxic`; allowed keys: p0, null, other, "
                    r"alternative, toxicity, odds_ratio"),
])
def test_bad_toxicity_in_scenario_files(tmp_path, text, message):
    path = tmp_path / "scen.toml"
    path.write_text(f"[frontline]\np0 = 0.4\nnull = [0.4]\n{text}\n", encoding="utf-8")
    with pytest.raises(DesignFileError, match=message):
        load_scenarios(path)


def test_conduct_settings_carry_the_toxicity_delay(tmp_path):
    path = tmp_path / "scen.toml"
    path.write_text(
        "[frontline]\np0 = 0.4\nnull = [0.4]\n\n[[conduct]]\nname = 'base'\naccrual = 2.0\n"
        "delay = 2.0\ntox_delay = { gamma = [1.0, 0.5] }\n\n[[conduct]]\nname = 'plain'\n"
        "accrual = 2.0\ndelay = 2.0\n\n[conduct.cohorts.frontline]\ntox_delay = 0.5\n",
        encoding="utf-8",
    )
    grid = load_scenarios(path)
    base = dict(grid.conduct)["base"]
    assert base.tox_delay == ("gamma", 1.0, 0.5) and base.tox_delay_form == ("gamma", 1.0, 0.5)
    assert dict(grid.conduct)["plain"].tox_delay is None  # the default (see Conduct)
    assert grid.conduct_for("plain", "frontline").tox_delay_form == 0.5
    bad = tmp_path / "bad.toml"
    bad.write_text("[[conduct]]\nname = 'base'\naccrual = 2.0\ndelay = 2.0\n"
                   "tox_delay = { weibull = [1, 2] }\n", encoding="utf-8")
    with pytest.raises(DesignFileError, match=r"`tox_delay` must be a number"):
        load_scenarios(bad)
