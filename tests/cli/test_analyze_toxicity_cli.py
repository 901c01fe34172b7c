"""`adaptive2 analyze --data "r/n tox=e/m"`: the toxicity object, its text, and exit code 2."""

from __future__ import annotations

import json
import warnings

import pytest

from adaptive2._base.errors import StatisticalWarning
from adaptive2.cli import main
from adaptive2.engines.analysis import analyze
from adaptive2.io.design_files import load_any

from _shipped import DESIGNS_DIR

PP_FILE = DESIGNS_DIR / "frontline-pp.toml"
BHM_FILE = str(DESIGNS_DIR / "two-cohort-bhm.toml")
TOX_KEYS = {"events", "n", "posterior_mean", "interval", "p_above_limit", "decision", "reason",
            "boundary"}
TOXICITY_TABLE = """
[toxicity]
event = "grade>=3 irAE"
limit = 0.3
acceptable = 0.15
rule = "posterior"
cutoff = 0.8
monitor = [5, 10, 15, 20, 25, 30, 35, 40]
"""


@pytest.fixture(scope="module")
def tox_file(tmp_path_factory) -> str:
    """frontline-pp with a toxicity monitor every 5 patients."""
    path = tmp_path_factory.mktemp("designs") / "frontline-pp-tox.toml"
    path.write_text(PP_FILE.read_text(encoding="utf-8") + TOXICITY_TABLE, encoding="utf-8")
    return str(path)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    with warnings.catch_warnings():
        warnings.simplefilter("error", StatisticalWarning)  # the CLI must catch its own
        code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_json_has_the_toxicity_object_with_analyzes_numbers(capsys, tox_file):
    code, out, err = run(capsys, "analyze", tox_file, "--data", "7/15 tox=2/15", "--json")
    assert code == 0 and err == "", err
    got = json.loads(out)
    tox = got["toxicity"]
    assert TOX_KEYS <= set(tox)
    assert (tox["events"], tox["n"], tox["decision"]) == (2, 15, "continue")
    design = load_any(tox_file)
    ref = analyze(design, (7, 15), toxicity=(2, 15)).to_dict()
    assert tox == json.loads(json.dumps(ref["toxicity"]))
    assert got["cohorts"] == json.loads(json.dumps(ref["cohorts"]))
    assert tox["boundary"] == design.toxicity.boundaries()[2]  # the check at n = 15
    assert tox["reason"] == f"2 of 15 patients had the event; the boundary at n = 15 is " \
                           f"{tox['boundary']}"


def test_text_has_one_more_paragraph_and_says_enrolment_stops(capsys, tox_file):
    c = load_any(tox_file).toxicity.boundaries()[1]  # at n = 10
    code, out, _ = run(capsys, "analyze", tox_file, "--data", f"7/15,tox={c}/10")
    assert code == 0
    tail = out[out.index("toxicity (grade>=3 irAE)"):]
    assert f"{c}/10 patients had the event, monitoring point 2 (n = 10)" in tail
    assert "decision: stop enrolment for toxicity" in tail
    assert "enrolment stops for toxicity, whatever the efficacy decision" in tail
    code, out, _ = run(capsys, "analyze", str(PP_FILE), "--data", "7/15")
    assert code == 0 and "toxicity" not in out


def test_between_points_the_warning_is_one_stderr_line(capsys, tox_file):
    code, out, err = run(capsys, "analyze", tox_file, "--data", "7/15 tox=3/12", "--json")
    assert code == 0
    assert err.count("\n") == 1 and err.startswith("adaptive2: warning: toxicity data: n = 12 "
                                                  "lies between monitoring point 2 (n = 10)")
    got = json.loads(out)
    assert got["toxicity"]["check"] == 2 and got["toxicity"]["boundary_n"] == 12
    assert any("lies between monitoring point 2" in w for w in got["warnings"])


@pytest.mark.parametrize(
    ("design", "data", "contains"),
    [
        ("tox", "7/15 tox=3/2", ("`toxicity`", "tox=", "events <= n", "'3/2'")),
        ("tox", "7/15 tox=two/15", ("`toxicity`", "'events/n'", "'two/15'")),
        ("tox", "7/15 tox=", ("`toxicity`", "'events/n'")),
        ("tox", "7/15 tox=2/41", ("`toxicity`", "n <= 40")),
        ("tox", "tox=2/15", ("`data`", "r/n as well as tox=events/n")),
        ("tox", "7/15 tox=1/5 tox=2/10", ("`data`", "at most one tox=")),
        ("plain", "7/15 tox=2/15", ("`toxicity` of Design 'frontline-pp' is not set",
                                    "[toxicity]")),
        ("bhm", "frontline=3/10,post_io=1/10 tox=2/10", ("`toxicity` of analyze",
                                                        "multi-cohort")),
    ],
)
def test_bad_toxicity_data_exit_2_with_one_line(capsys, tox_file, design, data, contains):
    path = {"tox": tox_file, "plain": str(PP_FILE), "bhm": BHM_FILE}[design]
    code, out, err = run(capsys, "analyze", path, "--data", data)
    assert code == 2, (code, out, err)
    assert out == ""
    assert err.startswith("adaptive2: error: ") and err.count("\n") == 1, repr(err)
    for text in contains:
        assert text in err, (text, err)
