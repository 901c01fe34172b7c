"""The design workflow without Python: search -> oc -> calibrate -> oc, through files.

``calibrate`` takes its α and power targets from the design file when the options are not
given, writes a new name and a comment header recording the calibration, and with
``--objective min-EN0`` minimises E[N | p0] subject to both targets."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from _cli import run, run_json
from adaptive2.engines.calibration import calibrate, worst_case_alpha
from adaptive2.engines.exact import oc
from adaptive2.io.design_files import dumps_toml, load_design, read_toml

ROOT = Path(__file__).resolve().parents[2]
DESIGNS = ROOT / "designs"
PP = DESIGNS / "frontline-pp.toml"


def with_targets(tmp_path: Path, name: str, **targets: float) -> Path:
    data = read_toml(PP)
    data.update(targets)
    path = tmp_path / name
    path.write_text(dumps_toml(data), encoding="utf-8")
    return path


def comments(path: Path) -> list[str]:
    return [line for line in path.read_text(encoding="utf-8").splitlines()
            if line.startswith("#")]


# ---------------------------------------------------------------------------
# targets from the file
# ---------------------------------------------------------------------------
def test_calibrate_takes_alpha_and_power_from_the_file(tmp_path, capsys) -> None:
    path = with_targets(tmp_path, "t.toml", alpha=0.05, power=0.75)
    payload = run_json(capsys, "calibrate", str(path))
    assert payload["target_alpha"] == 0.05 and payload["target_power"] == 0.75
    ref = calibrate(load_design(path), "final.cutoff", alpha=0.05, power=0.75)
    assert payload["parameters"] == ref.parameters
    # an option given wins over the file
    payload = run_json(capsys, "calibrate", str(path), "--alpha", "0.2", "--power", "0.9")
    assert payload["target_alpha"] == 0.2 and payload["target_power"] == 0.9


def test_without_targets_the_defaults_are_unchanged(tmp_path, capsys) -> None:
    data = read_toml(PP)
    data.pop("alpha", None)
    data.pop("power", None)
    path = tmp_path / "no-targets.toml"
    path.write_text(dumps_toml(data), encoding="utf-8")
    payload = run_json(capsys, "calibrate", str(path))
    assert payload["target_alpha"] == 0.10 and payload["target_power"] is None


# ---------------------------------------------------------------------------
# calibrate --write: a new name and a header
# ---------------------------------------------------------------------------
def test_calibrate_write_renames_and_records(tmp_path, capsys) -> None:
    out = tmp_path / "cal.toml"
    payload = run_json(capsys, "calibrate", str(PP), "--alpha", "0.1", "--power", "0.8",
                       "--write", str(out))
    assert payload["written"] == {"path": str(out), "name": "frontline-pp-calibrated"}
    d = load_design(out)
    assert d.name == "frontline-pp-calibrated"
    assert (d.alpha, d.target_power) == (0.1, 0.8)  # the targets it was calibrated to
    assert d.final.cutoff == payload["parameters"]["final.cutoff"]
    assert worst_case_alpha(d)[0] == pytest.approx(payload["alpha"], abs=1e-12)
    lines = comments(out)
    assert lines[0] == (f"# Calibrated by: adaptive2 calibrate {PP} --alpha 0.1 --power 0.8 "
                        f"--write {out} --json")
    assert "UTC with adaptive2" in lines[1]
    text = "\n".join(lines)
    assert f"final.cutoff = {payload['parameters']['final.cutoff']:g}" in text
    assert "Targets: type I error <= 0.1, power >= 0.8" in text
    assert f"worst-case type I error {payload['alpha']:.4f}" in text
    assert f"power {payload['power']:.4f}" in text
    assert "frontline-pp" in text


def test_calibrate_write_with_name(tmp_path, capsys) -> None:
    out = tmp_path / "named.toml"
    run_json(capsys, "calibrate", str(PP), "--write", str(out), "--name", "frontline-final")
    assert load_design(out).name == "frontline-final"


def test_futility_calibration_write_renames_and_records(tmp_path, capsys) -> None:
    out = tmp_path / "fut.toml"
    payload = run_json(capsys, "calibrate", str(PP), "--futility", "--write", str(out))
    d = load_design(out)
    assert d.name == "frontline-pp-calibrated"
    assert d.futility.threshold == payload["parameters"]["futility.threshold"]
    text = "\n".join(comments(out))
    assert "Calibrated by: adaptive2 calibrate" in text and "--futility" in text
    assert "power loss" in text


# ---------------------------------------------------------------------------
# calibrate --objective min-EN0
# ---------------------------------------------------------------------------
def test_min_en_objective_from_the_command_line(tmp_path, capsys) -> None:
    path = with_targets(tmp_path, "t.toml", alpha=0.1, power=0.8)
    out = tmp_path / "min-en.toml"
    payload = run_json(capsys, "calibrate", str(path), "--objective", "min-EN0",
                       "--write", str(out))
    ref = calibrate(load_design(path), alpha=0.1, power=0.8, objective="min-EN0")
    assert payload["objective"] == "min-EN0"
    assert payload["parameters"] == ref.parameters
    assert payload["expected_n_p0"] == pytest.approx(ref.expected_n_p0, abs=1e-12)
    assert payload["alpha"] <= 0.1 and payload["power"] >= 0.8
    # smaller E[N | p0] than the max-power calibration of the same design
    maxp = run_json(capsys, "calibrate", str(path))
    assert payload["expected_n_p0"] <= maxp["expected_n_p0"] + 1e-12
    d = load_design(out)
    got = oc(d, [0.4])
    assert float(got["expected_n"].item()) == pytest.approx(payload["expected_n_p0"], abs=1e-9)
    assert any("objective min-EN0" in line for line in comments(out))


def test_min_en_objective_for_bop2(capsys) -> None:
    payload = run_json(capsys, "calibrate", str(DESIGNS / "frontline-bop2.toml"), "--objective",
                       "min-EN0", "--power", "0.8")
    assert set(payload["parameters"]) == {"futility.lambda", "futility.gamma"}
    assert payload["alpha"] <= 0.1 and payload["power"] >= 0.8


@pytest.mark.parametrize(("argv", "names"), [
    (["calibrate", "NO-TARGETS", "--objective", "min-EN0"], ["--objective min-EN0", "--power"]),
    (["calibrate", str(PP), "--objective", "min-EN0", "--futility"], ["--objective", "--futility"]),
    (["calibrate", str(DESIGNS / "two-cohort-bhm.toml"), "--objective", "min-EN0"],
     ["--objective", "multi-cohort"]),
    (["calibrate", str(PP), "--objective", "fast"], ["--objective", "max-power", "min-EN0"]),
    (["calibrate", str(PP), "--objective", "min-EN0", "--alpha", "0.001", "--power", "0.9"],
     ["alpha <= 0.001", "power >= 0.9", "reaches power"]),
    (["calibrate", str(PP), "--name", "x"], ["--name", "--write"]),
])
def test_bad_calibrate_input_is_one_line(tmp_path, capsys, argv, names) -> None:
    if "NO-TARGETS" in argv:  # the shipped design without its alpha and power targets
        data = {k: v for k, v in read_toml(PP).items() if k not in ("alpha", "power")}
        path = tmp_path / "no-targets.toml"
        path.write_text(dumps_toml(data), encoding="utf-8")
        argv = [str(path) if a == "NO-TARGETS" else a for a in argv]
    code, out, err = run(capsys, *argv)
    assert code == 2, (code, err)
    assert out == "" and err.startswith("adaptive2: error: ") and err.count("\n") == 1, err
    for name in names:
        assert name in err, (name, err)


# ---------------------------------------------------------------------------
# the whole workflow, as a user runs it
# ---------------------------------------------------------------------------
def adaptive2(*argv: str, cwd: Path) -> str:
    p = subprocess.run([sys.executable, "-m", "adaptive2", *argv], capture_output=True,
                       text=True, timeout=300, cwd=cwd)
    assert p.returncode == 0, p.stderr
    return p.stdout


def test_search_then_calibrate_then_oc_in_fresh_processes(tmp_path) -> None:
    adaptive2("search", "--family", "lee-liu", "--p0", "0.2", "--p1", "0.4", "--n-range",
              "20,30", "--look-every", "5", "--objective", "balanced", "--write", "found.toml",
              cwd=tmp_path)
    found = load_design(tmp_path / "found.toml")
    assert (found.alpha, found.target_power) == (0.1, 0.8)
    assert comments(tmp_path / "found.toml")[0] == (
        "# Found by: adaptive2 search --family lee-liu --p0 0.2 --p1 0.4 --n-range 20,30 "
        "--look-every 5 --objective balanced --write found.toml")
    # calibrate reads the targets from the file: no --alpha / --power needed
    cal = json.loads(adaptive2("calibrate", "found.toml", "--objective", "min-EN0", "--write",
                               "tuned.toml", "--json", cwd=tmp_path))
    assert cal["target_alpha"] == 0.1 and cal["target_power"] == 0.8
    assert cal["alpha"] <= 0.1 and cal["power"] >= 0.8
    tuned = load_design(tmp_path / "tuned.toml")
    assert tuned.name == f"{found.name}-calibrated"
    rows = json.loads(adaptive2("oc", "tuned.toml", "--p", "0.2,0.4", "--json", cwd=tmp_path))
    assert rows[0]["p_efficacy"] == pytest.approx(cal["alpha"], abs=1e-12)
    assert rows[1]["p_efficacy"] == pytest.approx(cal["power"], abs=1e-12)
    assert rows[0]["expected_n"] == pytest.approx(cal["expected_n_p0"], abs=1e-9)
