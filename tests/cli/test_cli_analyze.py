"""`adaptive2 analyze`: documented JSON keys, the same numbers as analyze(), exit code 2."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

from adaptive2 import Cohort, CohortDesign, Model, PosteriorProbability, analyze
from adaptive2._base.errors import StatisticalWarning
from adaptive2.cli import main
from adaptive2.io.design_files import cohort_design_to_dict, dumps_toml, load_any

from _shipped import DESIGNS_DIR

PP_FILE = str(DESIGNS_DIR / "frontline-pp.toml")
COHORT_KEYS = {"mean", "sd", "interval", "p_above_p0", "p_above_p1", "predictive_probability",
               "decision", "components", "conflict_p", "r", "n", "look", "n_look", "reason",
               "distance", "next_look", "conflict"}
TOP_KEYS = {"cohorts", "look", "n_look", "design", "design_hash", "engine", "adaptive2_version",
            "warnings", "model"}


def run(capsys, *argv: str) -> tuple[int, str, str]:
    with warnings.catch_warnings():
        warnings.simplefilter("error", StatisticalWarning)  # the CLI must catch its own
        code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys, *argv: str) -> dict:
    code, out, err = run(capsys, *argv, "--json")
    assert code == 0, err
    return json.loads(out)


def assert_bad_input(capsys, *argv: str, contains: tuple[str, ...] = ()) -> None:
    """Exit code 2, nothing on stdout, exactly one line on stderr naming the problem."""
    code, out, err = run(capsys, *argv)
    assert code == 2, (code, out, err)
    assert out == ""
    assert err.startswith("adaptive2: error: ") and err.count("\n") == 1, repr(err)
    for text in contains:
        assert text in err, (text, err)


@pytest.fixture(scope="module")
def indep_file(tmp_path_factory) -> str:
    """A two-cohort design with independent cohorts (fast quadrature), written as TOML."""
    design = CohortDesign(
        name="two-indep",
        model=Model(kind="independent"),
        cohorts=(Cohort("frontline", 0.4, 0.6, (10, 20)), Cohort("post_io", 0.1, 0.3, (10, 25))),
        futility=PosteriorProbability(p0=0.4, cutoff=0.1),
        final=PosteriorProbability(p0=0.4, cutoff=0.9),
    )
    path = tmp_path_factory.mktemp("designs") / "two-indep.toml"
    path.write_text(dumps_toml(cohort_design_to_dict(design)), encoding="utf-8")
    return str(path)


def test_single_cohort_json_keys_and_numbers(capsys):
    got = run_json(capsys, "analyze", PP_FILE, "--data", "12/25")
    assert TOP_KEYS <= set(got)
    assert list(got["cohorts"]) == ["cohort"]
    c = got["cohorts"]["cohort"]
    assert COHORT_KEYS <= set(c)
    assert set(c["components"][0]) == {"w", "a", "b"}
    ref = analyze(load_any(PP_FILE), (12, 25))
    expected = json.loads(json.dumps(ref.to_dict()))
    assert {k: v for k, v in got.items() if k != "created_at"} == {
        k: v for k, v in expected.items() if k != "created_at"
    }
    assert got["look"] == 2 and got["n_look"] == 25 and got["engine"] == "quadrature"
    assert c["decision"] == "continue" and c["mean"] == ref["cohort"].mean
    assert got["design"] == "frontline-pp" and got["design_hash"] == ref.design_hash


def test_single_cohort_text_and_explicit_look(capsys):
    code, out, err = run(capsys, "analyze", PP_FILE, "--data", "3/15", "--look", "1")
    assert code == 0 and err == ""
    assert "decision: stop for futility (r = 3 <= 4" in out
    assert "predictive probability of final success" in out


def test_between_looks_warns_on_one_line(capsys):
    code, out, err = run(capsys, "analyze", PP_FILE, "--data", "10/18", "--json")
    assert code == 0
    got = json.loads(out)
    assert got["look"] == 1 and got["n_look"] == 15
    assert len(got["warnings"]) == 1 and "between look 1" in got["warnings"][0]
    assert err.startswith("adaptive2: warning: ") and err.count("\n") == 1
    code, out, err = run(capsys, "analyze", PP_FILE, "--data", "10/18")
    assert code == 0 and "warning: the data: n = 18 lies between look 1" in out


def test_multi_cohort_json(capsys, indep_file):
    got = run_json(capsys, "analyze", indep_file, "--data", "frontline=8/10,post_io=1/10")
    assert TOP_KEYS <= set(got)
    assert set(got["cohorts"]) == {"frontline", "post_io"}
    for c in got["cohorts"].values():
        assert COHORT_KEYS <= set(c)
        assert c["components"] == [] and 0 <= c["conflict_p"] <= 1
    assert got["n_look"] == {"frontline": 10, "post_io": 10} and got["look"] == 1
    ref = analyze(load_any(indep_file), {"frontline": (8, 10), "post_io": (1, 10)})
    for name in ("frontline", "post_io"):
        for key in ("mean", "sd", "p_above_p0", "p_above_p1", "predictive_probability"):
            assert got["cohorts"][name][key] == getattr(ref[name], key)
        assert got["cohorts"][name]["decision"] == ref[name].decision
    assert got["model"].startswith("independent")


@pytest.mark.parametrize(
    ("args", "contains"),
    [
        (("--data", "26/25"), ("r <= n", "26/25")),
        (("--data", "3/41"), ("n <= 40 (the final look)",)),
        (("--data", "12-20"), ("'r/n'",)),
        (("--data", "frontline=3/15"), ("one key 'cohort' or 'frontline-pp'",)),
        (("--data", "a=1/2,3/4"), ("NAME=r/n",)),
        (("--data", "12/25", "--look", "4"), ("`look` of analyze must be an integer in [1, 3]",)),
        (("--data", "12/25", "--look", "1"), ("reaches look 2",)),
        (("--data", "12/25", "--look", "x"), ("--look", "whole number >= 1")),
        (("--data", "12/25", "--engine", "pymc"), ("'quadrature' for a single-cohort design",)),
        (("--data", "12/25", "--engine", "stan"), ("invalid choice",)),
        ((), ("--data",)),
    ],
)
def test_bad_single_cohort_input_exits_2(capsys, args, contains):
    assert_bad_input(capsys, "analyze", PP_FILE, *args, contains=contains)


def test_bad_multi_cohort_input_exits_2(capsys, indep_file):
    assert_bad_input(capsys, "analyze", indep_file, "--data", "frontlin=3/10",
                     contains=("{frontline, post_io}", "'frontlin'"))
    assert_bad_input(capsys, "analyze", indep_file, "--data", "frontline=3/10,post_io=2/26",
                     contains=("data['post_io']", "n <= 25"))
    assert_bad_input(capsys, "analyze", indep_file, "--data", "3/10",
                     contains=("a mapping cohort",))
    assert_bad_input(capsys, "analyze", str(Path(indep_file).with_name("missing.toml")),
                     "--data", "3/10")


@pytest.mark.slow
def test_shipped_two_cohort_design(capsys):
    got = run_json(capsys, "analyze", str(DESIGNS_DIR / "two-cohort-exnex.toml"), "--data",
                   "frontline=12/20,post_io=3/15")
    assert set(got["cohorts"]) == {"frontline", "post_io"}
    for c in got["cohorts"].values():
        assert 0 < c["p_exchangeable"] < 1
        assert c["conflict"]["posterior_weights"][0] == c["p_exchangeable"]
