"""`adaptive2 boundaries` and `adaptive2 oc` on designs that co-monitor toxicity.

JSON shapes (the README's CLI table):

* ``boundaries`` of a design without ``[toxicity]``: the list of efficacy rows, as before;
  with one: ``{"efficacy": [...the same rows...], "toxicity": [{check, n,
  stop_at_or_above}, ...]}`` (multi-cohort: the toxicity rows carry ``cohort``);
* ``oc`` of a monitored design: one row per (toxicity rate, response rate), each with
  ``tox``, ``odds_ratio``, ``p_stop_toxicity`` and ``p_stop_toxicity_at`` besides the usual
  keys.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from scipy import stats

from _cli import run, run_json
from adaptive2.engines.toxicity_oc import oc_toxicity
from adaptive2.io.design_files import dumps_toml, load_design, read_toml

from _shipped import DESIGNS_DIR

EFFTOX = DESIGNS_DIR / "frontline-efftox.toml"
PP = DESIGNS_DIR / "frontline-pp.toml"
BHM = DESIGNS_DIR / "two-cohort-bhm.toml"
OC_KEYS = {"scenario", "p", "role", "p_efficacy", "p_futility", "p_early_stop", "expected_n",
           "sd_n", "p_stop_at"}
TOX_KEYS = {"tox", "odds_ratio", "p_stop_toxicity", "p_stop_toxicity_at"}


def bad_input(capsys, *argv: str, contains: tuple[str, ...]) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2, (code, err)
    assert out == "" and err.startswith("adaptive2: error: ") and err.count("\n") == 1, err
    for text in contains:
        assert text in err, (text, err)


def _bhm_with_toxicity(tmp_path: Path) -> Path:
    data = read_toml(BHM)
    data["toxicity"] = {"event": "grade >= 3 AE", "limit": 0.3, "acceptable": 0.15,
                        "rule": "posterior", "cutoff": 0.5, "prior": {"a": 0.5, "b": 4.5}}
    path = tmp_path / "bhm-tox.toml"
    path.write_text(dumps_toml(data), encoding="utf-8")
    return path


# ---------------------------------------------------------------------------
# boundaries
# ---------------------------------------------------------------------------
def test_boundaries_text_states_the_rule_in_protocol_words(capsys):
    code, out, _ = run(capsys, "boundaries", str(EFFTOX))
    assert code == 0
    assert ("stop enrolment if 4 or more of the first 10 patients have a grade >= 3 "
            "treatment-related adverse event") in out
    assert "stop enrolment if 13 or more of the first 40 patients" in out


def test_boundaries_json_adds_toxicity_to_the_efficacy_rows(capsys):
    got = run_json(capsys, "boundaries", str(EFFTOX))
    assert set(got) == {"efficacy", "toxicity"}
    assert got["efficacy"] == run_json(capsys, "boundaries", str(PP))  # the same efficacy part
    m = load_design(EFFTOX).toxicity
    for j, (row, n) in enumerate(zip(got["toxicity"], m.monitor, strict=True)):
        assert set(row) == {"check", "n", "stop_at_or_above"}
        assert row["check"] == j + 1 and row["n"] == n
        # independent: the smallest count with P(rate > 0.30 | data) > 0.36, Beta(0.5, 4.5)
        want = next(c for c in range(n + 1) if stats.beta.sf(0.3, 0.5 + c, 4.5 + n - c) > 0.36)
        assert row["stop_at_or_above"] == want


def test_boundaries_json_of_a_design_without_toxicity_is_unchanged(capsys):
    got = run_json(capsys, "boundaries", str(PP))
    assert isinstance(got, list)
    assert got == load_design(PP).boundaries().to_records()


def test_boundaries_of_a_multi_cohort_design_with_toxicity(capsys, tmp_path):
    path = _bhm_with_toxicity(tmp_path)
    got = run_json(capsys, "boundaries", str(path))
    assert got["efficacy"] == run_json(capsys, "boundaries", str(BHM))
    design = load_design(path)
    assert {r["cohort"] for r in got["toxicity"]} == set(design.names)
    assert [r["n"] for r in got["toxicity"] if r["cohort"] == "post_io"] == [15, 30]
    code, out, _ = run(capsys, "boundaries", str(path))
    assert code == 0 and "post_io:" in out and "no borrowing" in out


# ---------------------------------------------------------------------------
# oc
# ---------------------------------------------------------------------------
def test_oc_crosses_response_and_toxicity_rates(capsys):
    rows = run_json(capsys, "oc", str(EFFTOX), "--p", "0.4,0.6", "--tox", "0.15,0.40",
                    "--odds-ratio", "2")
    assert len(rows) == 4
    assert [(r["tox"], r["p"]) for r in rows] == [(0.15, 0.4), (0.15, 0.6), (0.4, 0.4),
                                                 (0.4, 0.6)]
    ds = oc_toxicity(load_design(EFFTOX), [0.4, 0.6], tox=[0.15, 0.40], odds_ratio=2.0)
    for i, row in enumerate(rows):
        assert set(row) == OC_KEYS | TOX_KEYS
        assert row["odds_ratio"] == 2.0
        for key in ("p_efficacy", "p_futility", "p_early_stop", "expected_n", "sd_n",
                    "p_stop_toxicity"):
            assert row[key] == float(ds[key].values[i]), key
        assert [c["n"] for c in row["p_stop_toxicity_at"]] == list(range(5, 41, 5))
        assert sum(c["toxicity"] for c in row["p_stop_toxicity_at"]) == pytest.approx(
            row["p_stop_toxicity"], abs=1e-14)
        total = (row["p_efficacy"] + row["p_futility"] + row["p_stop_toxicity"]
                 + row["p_stop_at"][-1]["futility"] + row["p_stop_at"][-1]["consider"])
        assert total == pytest.approx(1.0, abs=1e-12)


def test_oc_defaults_to_the_files_toxicity_rates(capsys):
    rows = run_json(capsys, "oc", str(EFFTOX))
    assert len(rows) == 10  # five response rates at toxicity 0.15 and 0.30
    assert [r["tox"] for r in rows] == [0.15] * 5 + [0.3] * 5
    code, out, _ = run(capsys, "oc", str(EFFTOX), "--p", "0.4")
    assert code == 0 and "p_stop_toxicity" in out and "tox@40" in out


def test_oc_of_a_design_without_toxicity_has_no_toxicity_keys(capsys):
    rows = run_json(capsys, "oc", str(PP), "--p", "0.4")
    assert set(rows[0]) == OC_KEYS


@pytest.mark.parametrize("option", [("--tox", "0.2"), ("--odds-ratio", "2")])
def test_toxicity_options_need_a_toxicity_section(capsys, option):
    bad_input(capsys, "oc", str(PP), *option,
              contains=(option[0], "frontline-pp", "no [toxicity] section"))


@pytest.mark.parametrize(("option", "contains"), [
    (("--tox", "1.5"), ("--tox", "[0, 1]")),
    (("--tox", "0.2,0.2"), ("--tox", "distinct")),
    (("--tox", "x"), ("--tox", "comma-separated numbers")),
    (("--odds-ratio", "0"), ("--odds-ratio", "> 0")),
    (("--odds-ratio", "1,2"), ("--odds-ratio", "1 comma-separated")),
    (("--tox", "0.2", "--null-region"), ("--tox", "--null-region")),
    (("--simulate",), ("exact", "toxicity monitor")),
])
def test_bad_toxicity_options(capsys, option, contains):
    bad_input(capsys, "oc", str(EFFTOX), *option, contains=contains)


def test_null_region_of_a_monitored_design_says_it_is_a_bound(capsys):
    got = run_json(capsys, "oc", str(EFFTOX), "--null-region")
    plain = run_json(capsys, "oc", str(PP), "--null-region")
    assert got["max_fwer"] == plain["max_fwer"]
    assert "at most this" in got["toxicity"]


def test_multi_cohort_oc_with_toxicity_is_exact_joint_oc(capsys, tmp_path):
    """Rows cross the scenarios with --tox and carry the toxicity keys (values: engine tests)."""
    path = _bhm_with_toxicity(tmp_path)
    rows = run_json(capsys, "oc", str(path), "--tox", "0.1,0.5", "--odds-ratio", "2")
    design = load_design(path)
    assert len(rows) == 2 * 2 * len(design.scenarios)
    for row in rows:
        assert row["odds_ratio"] == 2.0 and row["tox"] in (0.1, 0.5)
        total = (row["p_efficacy"] + row["p_futility"] + row["p_stop_toxicity"]
                 + row["p_stop_at"][-1]["futility"])
        assert abs(total - 1.0) < 1e-12
        assert abs(sum(x["p"] for x in row["p_stop_toxicity_at"]) - row["p_stop_toxicity"]) < 1e-12
    high = [r["p_stop_toxicity"] for r in rows if r["tox"] == 0.5]
    low = [r["p_stop_toxicity"] for r in rows if r["tox"] == 0.1]
    assert min(high) > max(low)
    code, text, _ = run(capsys, "oc", str(path))
    assert code == 0 and "Exact joint efficacy-toxicity operating characteristics" in text
    assert set(rows[0]) >= TOX_KEYS
    bad_input(capsys, "oc", str(path), "--null-region", contains=("not available yet",))
    bad_input(capsys, "oc", str(path), "--simulate", contains=("--simulate", "toxicity"))
    bad_input(capsys, "calibrate", str(path), "--alpha", "0.1",
              contains=("calibrate", "[toxicity]", "not available"))


# ---------------------------------------------------------------------------
# calibrate --toxicity and simulate --tox
# ---------------------------------------------------------------------------
def test_calibrate_toxicity_matches_the_engine_and_writes_a_renamed_design(tmp_path, capsys):
    from adaptive2.engines.toxicity_calibration import calibrate_toxicity

    out = tmp_path / "cal.toml"
    code, text, err = run(capsys, "calibrate", str(EFFTOX), "--toxicity", "--target", "0.05",
                          "--write", str(out), "--json")
    assert code == 0, err
    got = json.loads(text)
    ref = calibrate_toxicity(load_design(EFFTOX).toxicity, 0.05)
    assert got["value"] == ref.value and got["p_stop_acceptable"] == ref.p_stop_acceptable
    assert got["p_stop_acceptable"] <= 0.05 < load_design(EFFTOX).toxicity.oc().p_stop[0]
    written = load_design(out)
    assert written.name == "frontline-efftox-calibrated"
    assert written.toxicity.cutoff == ref.value
    assert written.toxicity.boundaries() == ref.boundaries
    assert written.boundaries() == load_design(EFFTOX).boundaries()  # efficacy untouched
    assert any("Toxicity rule calibrated" in line for line in out.read_text().splitlines()[:8])


@pytest.mark.parametrize(("argv", "names"), [
    (["calibrate", str(PP), "--toxicity"], ["--toxicity", "[toxicity]"]),
    (["calibrate", str(EFFTOX), "--toxicity", "--target", "1.5"], ["--target", "(0, 1)"]),
    (["calibrate", str(EFFTOX), "--target", "0.05"], ["--target", "--toxicity"]),
    (["calibrate", str(EFFTOX), "--toxicity", "--futility"], ["--toxicity", "--futility"]),
    (["calibrate", str(BHM), "--toxicity"], ["--toxicity", "single-cohort"]),
])
def test_calibrate_toxicity_bad_input_is_one_line(capsys, argv, names):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == "" and err.count("\n") == 1, err
    for name in names:
        assert name in err, (name, err)


def test_simulate_tox_agrees_with_the_exact_joint_oc(capsys):
    code, out, err = run(capsys, "simulate", str(EFFTOX), "--p", "0.4,0.6", "--tox", "0.15,0.3",
                         "--n-sims", "4000", "--seed", "7", "--delay", "0", "--tox-delay", "0",
                         "--quiet", "--json")
    assert code == 0, err
    rows = json.loads(out)["rows"]
    exact = oc_toxicity(load_design(EFFTOX), [0.4, 0.6], tox=[0.15, 0.3])
    assert len(rows) == 4
    for row in rows:
        sel = exact.where((exact["p"] == row["p"]) & (exact["toxicity_rate"]
                                                      == row["toxicity_rate"]), drop=True)
        for key in ("p_efficacy", "p_stop_toxicity"):
            want = float(sel[key].values.ravel()[0])
            assert abs(row[key] - want) <= 4 * row[f"{key}_mcse"] + 1e-12, (row, key, want)
