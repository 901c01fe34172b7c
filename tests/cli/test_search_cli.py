"""``adaptive2 search`` and ``adaptive2 simon --write``: output, JSON keys, written design
files, and one-line errors naming the option."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from _cli import run, run_json
from adaptive2.cli import _parser
from adaptive2.engines.design_search import design_search
from adaptive2.engines.lee_liu import lee_liu
from adaptive2.engines.simon import simon
from adaptive2.io.design_files import load_design, read_toml
from adaptive2.model.rules import Boundary

ROOT = Path(__file__).resolve().parents[2]
DESIGNS = ROOT / "designs"
JSON_KEYS = {"family", "objective", "criterion", "p0", "p1", "alpha", "power", "settings",
             "message", "candidates", "chosen", "written"}
CANDIDATE_KEYS = {"name", "n_max", "looks", "parameters", "alpha", "power", "expected_n_p0",
                  "pet_p0", "optimal", "minimax", "admissible", "q_low", "q_high", "boundaries"}


def one_line_error(code: int, out: str, err: str, *names: str) -> None:
    assert code == 2, (code, out, err)
    assert out == ""
    assert err.startswith("adaptive2: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err and "internal error" not in err
    for name in names:
        assert name in err, (name, err)


# ---------------------------------------------------------------------------
# simon family
# ---------------------------------------------------------------------------
SIMON = ("search", "--family", "simon", "--p0", "0.1", "--p1", "0.3", "--alpha", "0.05",
         "--power", "0.8")


@pytest.mark.parametrize(("objective", "expected"), [("min-EN0", (1, 10, 5, 29)),
                                                     ("min-max-N", (1, 15, 5, 25)),
                                                     ("balanced", (1, 12, 5, 26))])
def test_simon_family_json(capsys, objective, expected) -> None:
    payload = run_json(capsys, *SIMON, "--objective", objective)
    assert set(payload) == JSON_KEYS
    assert payload["family"] == "simon" and payload["objective"] == objective
    assert (payload["p0"], payload["p1"], payload["alpha"], payload["power"]) == (
        0.1, 0.3, 0.05, 0.8)
    ref = simon(0.1, 0.3, alpha=0.05, beta=0.2)
    cands = payload["candidates"]
    assert [tuple(c["parameters"][k] for k in ("r1", "n1", "r", "n")) for c in cands] == [
        (d.r1, d.n1, d.r, d.n) for d in ref.admissible]
    for c in cands:
        assert set(c) == CANDIDATE_KEYS
    chosen = payload["chosen"]
    assert tuple(chosen["parameters"][k] for k in ("r1", "n1", "r", "n")) == expected
    d = ref.choose(objective)
    assert chosen["expected_n_p0"] == pytest.approx(d.expected_n_p0, abs=1e-12)
    assert chosen["alpha"] == pytest.approx(d.alpha, abs=1e-12)
    assert chosen["power"] == pytest.approx(d.power, abs=1e-12)
    assert payload["written"] is None


def test_simon_family_text_is_formatted_for_people(capsys) -> None:
    code, out, err = run(capsys, *SIMON)
    assert code == 0, err
    head = next(line for line in out.splitlines() if line.startswith("design"))
    for words in ("max N", "looks", "E[N | p0]", "P(early stop | p0)", "type I error", "power"):
        assert words in head
    row = next(line for line in out.splitlines() if line.startswith("simon-1/10-5/29"))
    # integers as integers, E[N] to 1 decimal, probabilities to 3 decimals
    assert re.search(r"\s29\s+10, 29\s+15\.0\s+0\.736\s+0\.047\s+0\.805\s", row), row
    assert "<- chosen" in row and "optimal" in row
    assert "Chosen by min-EN0" in out


def test_simon_family_write_then_oc(tmp_path, capsys) -> None:
    path = tmp_path / "sub" / "simon.toml"
    payload = run_json(capsys, *SIMON, "--write", str(path), "--name", "comparator")
    assert payload["written"] == {"path": str(path), "name": "comparator"}
    design = load_design(path)
    assert design.name == "comparator"
    assert (design.alpha, design.target_power) == (0.05, 0.8)
    assert design.looks == (10, 29)
    assert isinstance(design.futility, Boundary) and design.futility.r == (1,)
    assert isinstance(design.final, Boundary) and design.final.r == (5,)
    raw = read_toml(path)
    assert raw["futility"] == {"rule": "boundary", "r": [1]}
    assert raw["final"] == {"rule": "boundary", "r": 5}
    assert (raw["alpha"], raw["power"]) == (0.05, 0.8)
    text = path.read_text(encoding="utf-8")
    comments = [line for line in text.splitlines() if line.startswith("#")]
    assert comments[0].startswith("# Found by: adaptive2 search --family simon --p0 0.1")
    assert re.search(r"# on \d{4}-\d\d-\d\d \d\d:\d\d UTC with adaptive2 ", comments[1])
    assert any("min-EN0" in line for line in comments)
    assert any("exact type I error 0.0471, power 0.8051" in line for line in comments)
    # `adaptive2 oc FILE` loads it: the exact OC at p0 and p1 are the chosen design's
    oc = run_json(capsys, "oc", str(path), "--p", "0.1,0.3")
    assert oc[0]["p_efficacy"] == pytest.approx(payload["chosen"]["alpha"], abs=1e-12)
    assert oc[1]["p_efficacy"] == pytest.approx(payload["chosen"]["power"], abs=1e-12)
    assert oc[0]["expected_n"] == pytest.approx(payload["chosen"]["expected_n_p0"], abs=1e-10)


def test_infeasible_search_lists_nothing_and_writes_nothing(tmp_path, capsys) -> None:
    argv = ("search", "--family", "simon", "--p0", "0.1", "--p1", "0.3", "--nmax", "10")
    payload = run_json(capsys, *argv)
    assert payload["candidates"] == [] and payload["chosen"] is None
    path = tmp_path / "none.toml"
    one_line_error(*run(capsys, *argv, "--write", str(path)), "no design meets", str(path))
    assert not path.exists()


# ---------------------------------------------------------------------------
# lee-liu, bop2 and pareto families
# ---------------------------------------------------------------------------
def test_lee_liu_family_uses_the_engine(tmp_path, capsys) -> None:
    path = tmp_path / "ll.toml"
    payload = run_json(capsys, "search", "--family", "lee-liu", "--p0", "0.2", "--p1", "0.4",
                       "--n-range", "20,30", "--first-look", "10", "--look-every", "5",
                       "--objective", "min-max-N", "--write", str(path))
    ref = lee_liu(0.2, 0.4, alpha=0.1, power=0.8, n_range=(20, 30), first_look=10, looks=5)
    best = ref.choose("min-max-N")
    assert payload["settings"] == {"n_range": [20, 30], "first_look": 10, "look_every": 5}
    assert payload["chosen"]["name"] == best.name
    assert payload["chosen"]["looks"] == list(best.looks)
    assert payload["chosen"]["parameters"] == best.parameters
    assert len(payload["candidates"]) == len(ref.admissible)
    written = load_design(path)
    assert written.boundaries() == best.design.boundaries()
    assert (written.alpha, written.target_power) == (0.1, 0.8)


def test_bop2_family_uses_the_engine(capsys) -> None:
    payload = run_json(capsys, "search", "--family", "bop2", "--p0", "0.2", "--p1", "0.4",
                       "--n-range", "24,26", "--looks", "2", "--objective", "balanced")
    ref = design_search("bop2", 0.2, 0.4, alpha=0.1, power=0.8, n_values=range(24, 27),
                        look_schedules=[2])
    best = ref.choose("balanced")
    assert payload["chosen"]["name"] == best.name
    assert payload["chosen"]["expected_n_p0"] == pytest.approx(best.expected_n_p0, abs=1e-12)
    assert payload["settings"] == {"n_range": [24, 26], "looks": [2]}


def test_pareto_family_over_design_files(tmp_path, capsys) -> None:
    files = [str(DESIGNS / f"frontline-{k}.toml") for k in ("pp", "post", "bop2")]
    payload = run_json(capsys, "search", "--family", "pareto", *files, "--alpha", "0.1",
                       "--power", "0.8", "--objective", "min-max-N")
    assert payload["p0"] == 0.4 and payload["p1"] == 0.6  # the designs' planning values
    names = {c["name"] for c in payload["candidates"]}
    assert names <= {"frontline-pp", "frontline-post", "frontline-bop2"}
    assert payload["chosen"]["name"] in names


# ---------------------------------------------------------------------------
# simon --write
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(("objective", "expected"), [(None, (7, 16, 23, 46)),
                                                     ("min-max-N", (17, 34, 20, 39))])
def test_simon_write(tmp_path, capsys, objective, expected) -> None:
    path = tmp_path / "s.toml"
    extra = () if objective is None else ("--objective", objective)
    payload = run_json(capsys, "simon", "--p0", "0.4", "--p1", "0.6", "--write", str(path),
                       *extra)
    # the documented keys stay; the chosen design and the file are added
    assert {"optimal", "minimax", "admissible", "objective", "chosen", "written"} <= set(payload)
    assert tuple(payload["chosen"][k] for k in ("r1", "n1", "r", "n")) == expected
    d = load_design(path)
    r1, n1, r, n = expected
    assert d.looks == (n1, n) and d.futility.r == (r1,) and d.final.r == (r,)
    assert d.boundaries().futility_max_r[0] == r1 and d.boundaries().efficacy_min_r[-1] == r + 1
    assert (d.alpha, d.target_power) == (0.05, pytest.approx(0.8))
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# Found by: adaptive2 simon --p0 0.4 --p1 0.6")
    assert f"r1/n1 = {r1}/{n1}, r/n = {r}/{n}" in text


def test_simon_write_text_keeps_the_table(tmp_path, capsys) -> None:
    path = tmp_path / "s.toml"
    code, out, err = run(capsys, "simon", "--p0", "0.1", "--p1", "0.3", "--write", str(path),
                         "--name", "simon-optimal")
    assert code == 0, err
    assert out.startswith("Simon two-stage designs: p0 = 0.1")
    assert f"written to {path} as simon-optimal" in out


def test_simon_without_write_is_unchanged(capsys) -> None:
    payload = run_json(capsys, "simon", "--p0", "0.1", "--p1", "0.3")
    assert set(payload) == {"optimal", "minimax", "admissible"}


# ---------------------------------------------------------------------------
# bad input: one line naming the option and what is allowed, exit 2
# ---------------------------------------------------------------------------
BAD = [
    (["search", "--p0", "0.1", "--p1", "0.3"], ["--family", "required"]),
    (["search", "--family", "fast", "--p0", "0.1", "--p1", "0.3"],
     ["--family", "simon", "lee-liu", "bop2", "pareto"]),
    (["search", "--family", "simon", "--p0", "0.1", "--p1", "0.3", "--objective", "x"],
     ["--objective", "min-EN0", "min-max-N", "balanced"]),
    (["search", "--family", "simon", "--p1", "0.3"], ["--p0", "(0, 1)"]),
    (["search", "--family", "simon", "--p0", "1.2", "--p1", "0.3"], ["--p0", "(0, 1)", "1.2"]),
    (["search", "--family", "simon", "--p0", "0.1", "--p1", "nan"], ["--p1", "(0, 1)"]),
    (["search", "--family", "simon", "--p0", "0.3", "--p1", "0.1"], ["--p1", "above --p0"]),
    (["search", "--family", "simon", "--p0", "0.1", "--p1", "0.3", "--alpha", "0"],
     ["--alpha", "(0, 1)"]),
    (["search", "--family", "simon", "--p0", "0.1", "--p1", "0.3", "--power", "1"],
     ["--power", "(0, 1)"]),
    (["search", "--family", "simon", "--p0", "0.1", "--p1", "0.3", "--looks", "3"],
     ["--looks", "bop2"]),
    (["search", "--family", "bop2", "--p0", "0.1", "--p1", "0.3", "--look-every", "3"],
     ["--look-every", "lee-liu"]),
    (["search", "--family", "lee-liu", "--p0", "0.1", "--p1", "0.3", "--n-range", "30,10"],
     ["--n-range", "LOW <= HIGH <= 300", "'30,10'"]),
    (["search", "--family", "lee-liu", "--p0", "0.1", "--p1", "0.3", "--n-range", "10,20",
      "--nmax", "30"], ["--n-range", "--nmax"]),
    (["search", "--family", "lee-liu", "--p0", "0.1", "--p1", "0.3", "--nmax", "400"],
     ["--nmax", "[1, 300]"]),
    (["search", "--family", "bop2", "--p0", "0.1", "--p1", "0.3", "--looks", "0,2"],
     ["--looks", "[1, 50]"]),
    (["search", "--family", "pareto"], ["--family pareto", "design files"]),
    (["search", "--family", "simon", "--p0", "0.1", "--p1", "0.3", str(DESIGNS / "x.toml")],
     ["--family pareto"]),
    (["search", "--family", "pareto", str(DESIGNS / "two-cohort-bhm.toml")],
     ["single-cohort", "two-cohort-bhm.toml"]),
    (["search", "--family", "simon", "--p0", "0.1", "--p1", "0.3", "--name", "x"],
     ["--name", "--write"]),
    (["simon", "--p0", "0.1", "--p1", "0.3", "--objective", "balanced"],
     ["--objective", "--write"]),
    (["simon", "--p0", "0.1", "--p1", "0.3", "--objective", "max-power"],
     ["--objective", "min-EN0", "min-max-N", "balanced"]),
]


@pytest.mark.parametrize(("argv", "names"), BAD, ids=[" ".join(a[1:4]) for a, _ in BAD])
def test_bad_search_input_is_one_line(capsys, argv, names) -> None:
    one_line_error(*run(capsys, *argv), *names)


def test_write_to_a_folder_is_refused_before_the_search(tmp_path, capsys) -> None:
    one_line_error(*run(capsys, *SIMON, "--write", str(tmp_path)), "--write", "file name")


def test_report_takes_a_title() -> None:
    args = _parser().parse_args(["report", "d.toml", "--out", "r", "--title", "ILKN421H"])
    assert args.title == "ILKN421H"
    assert _parser().parse_args(["report", "d.toml", "--out", "r"]).title is None
