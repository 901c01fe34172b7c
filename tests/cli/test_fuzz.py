"""Fuzz tests of the command line: mutated design files and random argument lists.

The property, for every input: exit 0 with a valid result (JSON that parses), or exit 2
(bad input) or 1 (the run failed) with a message of at most 6 lines on stderr, no
traceback, and not an internal error (an internal error is a bug the fuzzer found).

``make test`` runs a fixed budget; ``make validate`` sets ``ADAPTIVE2_FUZZ=long`` for ten
times as many examples. Both draw the same examples on every run (derandomized), so CI
cannot fail by chance; ``make fuzz`` (``ADAPTIVE2_FUZZ=explore``) draws fresh random
examples to look for new failures. Jobs run under ``--max-memory 256M`` so that a mutated size is
refused by the size guard instead of filling the machine.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import math
import os
import tempfile
import tomllib
import warnings
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adaptive2.cli import main

ROOT = Path(__file__).resolve().parents[2]
DESIGNS = ROOT / "designs"
SEEDS = {
    "pp": DESIGNS / "frontline-pp.toml",
    "post": DESIGNS / "frontline-post.toml",
    "bop2": DESIGNS / "frontline-bop2.toml",
    "simon": DESIGNS / "frontline-simon.toml",
    "efftox": DESIGNS / "frontline-efftox.toml",  # [toxicity]: every key of it is mutated too
    "bhm": DESIGNS / "two-cohort-bhm.toml",
    "exnex": DESIGNS / "two-cohort-exnex.toml",
}
MODE = os.environ.get("ADAPTIVE2_FUZZ", "")
LONG = MODE in ("long", "explore")
BUDGET = settings(
    max_examples=600 if LONG else 60,
    deadline=None,
    derandomize=MODE != "explore",  # make test / validate: the same examples every run
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
LIMIT = ["--max-memory", "256M"]
pytestmark = pytest.mark.fuzz


def run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), \
            warnings.catch_warnings():
        warnings.simplefilter("default")
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def check(argv: list[str], code: int, out: str, err: str) -> None:
    """The property of every run (see the module docstring)."""
    assert "Traceback" not in err, (argv, err)
    assert "internal error" not in err, (argv, err)
    if code == 0:
        if "--json" in argv:
            json.loads(out)  # a valid result
        return
    assert code in (1, 2, 130), (argv, code, err)
    errors = [line for line in err.splitlines() if line.startswith("adaptive2: error: ")]
    assert errors, (argv, err)
    assert len(err.splitlines()) <= 6, (argv, err)
    assert out == "", (argv, out)


# ---------------------------------------------------------------------------
# design files
# ---------------------------------------------------------------------------
ODD_VALUES = st.sampled_from([
    -1, 0, 1, 2, 1.5, -0.5, 1e300, -1e300, 10**12, math.nan, math.inf, -math.inf, True, "",
    "0.4", "posterior", [], [1], [0.5, 0.5], [-3, 5], [40, 20], [10, 10], {}, {"a": 1},
    {"beta": [1, 1]}, {"r": 16, "n": 20},
])


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path in a parsed TOML document (list items by index)."""
    out = []
    items = data.items() if isinstance(data, dict) else enumerate(data)
    for k, v in items:
        out.append((*prefix, k))
        if isinstance(v, dict | list):
            out += _paths(v, (*prefix, k))
    return out


def _parent(data: Any, path: tuple[Any, ...]) -> Any:
    for k in path[:-1]:
        data = data[k]
    return data


@st.composite
def mutated_design_files(draw: Any) -> tuple[str, bytes]:
    """(seed name, file bytes): a shipped design with one to three mutations."""
    name = draw(st.sampled_from(sorted(SEEDS)))
    data = tomllib.loads(SEEDS[name].read_text(encoding="utf-8"))
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(data)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent, key = _parent(data, path), path[-1]
        op = draw(st.sampled_from(["drop", "rename", "retype", "scale"]))
        if op == "drop":
            del parent[key]
        elif op == "rename" and isinstance(parent, dict):
            new = draw(st.sampled_from([key + "s", key[:-1] or "x", key.upper(), "unknown"]))
            parent[new] = parent.pop(key)
        elif op == "scale" and isinstance(parent[key], int | float) and \
                not isinstance(parent[key], bool):
            parent[key] = parent[key] * draw(st.sampled_from([-1, 0, 10, 1000, 1e6]))
        else:  # a fresh copy: sampled lists and tables are shared objects
            parent[key] = copy.deepcopy(draw(ODD_VALUES))
    try:
        text = tomli_w.dumps(data)
    except (TypeError, ValueError):  # e.g. a list of mixed tables: not writable as TOML
        text = SEEDS[name].read_text(encoding="utf-8")
    raw = text.encode("utf-8")
    if draw(st.integers(0, 9)) == 0:  # bytes that are not UTF-8
        at = draw(st.integers(0, len(raw)))
        raw = raw[:at] + draw(st.sampled_from([b"\xe9", b"\xff\xfe", b"\x80abc"])) + raw[at:]
    return name, raw


@BUDGET
@given(mutated_design_files(), st.sampled_from(["boundaries", "oc"]))
def test_mutated_design_files_fail_cleanly_or_work(case: tuple[str, bytes], command: str) -> None:
    _, raw = case
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "design.toml"
        path.write_bytes(raw)
        argv = [command, str(path), "--json", *LIMIT]
        check(argv, *run(argv))


# ---------------------------------------------------------------------------
# argument lists
# ---------------------------------------------------------------------------
COMMANDS = {
    "prior": ["--beta", "--historical", "--power", "--robust", "--mixture"],
    "simon": ["--p0", "--p1", "--alpha", "--beta", "--nmax", "--objective", "--name"],
    "boundaries": [],
    "oc": ["--p", "--simulate", "--n-sims", "--seed", "--workers", "--null-region", "--range",
           "--tox", "--odds-ratio"],
    "posterior": ["--data", "--engine"],
    "analyze": ["--data", "--look", "--engine"],
    "calibrate": ["--alpha", "--power", "--parameter", "--within", "--objective", "--name"],
    "search": ["--family", "--p0", "--p1", "--alpha", "--power", "--objective", "--nmax",
               "--n-range", "--looks", "--first-look", "--look-every", "--name"],
    "simulate": ["--p", "--n-sims", "--mcse", "--seed", "--workers", "--accrual", "--delay",
                 "--dropout", "--on-interim", "--periods", "--cohort-accrual"],
}
# design files per command (multi-cohort calibration runs for many seconds: its own tests)
FILES = {"boundaries": ["pp", "simon", "efftox", "bhm"], "oc": ["pp", "simon", "efftox", "bhm"],
         "posterior": ["bhm", "pp"], "analyze": ["pp", "bhm"], "calibrate": ["pp", "simon"],
         "simulate": ["pp", "simon", "bhm"]}
FLAGS = {"--simulate", "--null-region", "--non-binding", "--json"}
# values a user might give to each option: plausible ones and their edges (PyMC is left out:
# a NUTS fit takes seconds; its own tests cover it)
PLAUSIBLE = {
    "--beta": ["1,1", "0.5,0.5", "0,1", "-1,2", "1e9,1", "nan,1", "1", "0.2"],
    "--historical": ["16/20", "0/0", "21/20", "-1/5", "16/20/3", "16 / 20"],
    "--power": ["0", "0.5", "0.8", "0.99", "1", "1.5", "-0.1", "nan"],  # prior a0, or power
    "--robust": ["0.5", "0.5,0.5", "0.5,0.5,1", "1.5", "0.5,2", "0,0.5"],
    "--mixture": ["0.5,1,1;0.5,2,2", "1,1,1", "0.5,1,1", "0.5,-1,1;0.5,1,1", ";"],
    "--p0": ["0.1", "0.4", "0", "1", "0.9", "0.6"],
    "--p1": ["0.3", "0.6", "0.2", "1", "0.05"],
    "--alpha": ["0.05", "0.1", "0", "1", "0.5", "0.2"],
    "--nmax": ["30", "60", "2", "1", "1000", "5000"],
    "--p": ["0.4", "0.4,0.6", "0,1", "1.5", "-0.1", "0.3,,0.5", "0.1,0.3"],
    "--tox": ["0.15", "0.15,0.4", "0,1", "0.3,0.3", "1.5", "-0.1", "nan", ""],
    "--odds-ratio": ["1", "2", "0.5", "0", "-1", "inf", "1e300", "1,2"],
    "--n-sims": ["1", "200", "500", "0", "-5"],
    "--seed": ["0", "1", "-1", "2026", "99999999999999999999999999"],
    "--range": ["post_io=0,0.5", "frontline=0.2,0.9", "nope=0,1", "post_io=0.5,0.2",
                "post_io=0,2", "post_io"],
    "--data": ["12/20", "frontline=12/20,post_io=3/15", "frontline=12/20", "25/12", "0/0",
               "frontline=41/40,post_io=1/1", "frontline=12/20,post_io=3/15,x=1/2", "15/15"],
    "--engine": ["quadrature", "quadrature", "exact"],
    "--look": ["1", "2", "3", "0"],
    "--parameter": ["final.cutoff", "prior.power", "futility.threshold", "nope", "final"],
    "--within": ["0.8,0.99", "0.99,0.8", "0,1", "0.5"],
    "--mcse": ["0.05", "0.02", "0", "1"],
    "--workers": ["1", "2", "0", "-2"],
    "--accrual": ["2", "1,3", "0", "-1"],
    "--delay": ["2.5", "2,3", "gamma:2,1", "lognormal:-1,1", "3,2", "gamma:2"],
    "--dropout": ["0", "0.1", "1", "-0.1", "0.99"],
    "--on-interim": ["continue", "pause", "stop"],
    "--periods": ["0,3", "3,0", "0", "0,3,6"],
    "--cohort-accrual": ["frontline=2,post_io=1", "nope=1", "frontline=0", "frontline"],
    "--family": ["simon", "lee-liu", "bop2", "pareto", "nope"],
    "--objective": ["min-EN0", "min-max-N", "balanced", "max-power", "fastest"],
    "--n-range": ["10,30", "20,24", "30,10", "0,5", "10", "1,400", "a,b"],
    "--looks": ["2", "2,3", "0", "51", "x"],
    "--first-look": ["5", "10", "0", "-1"],
    "--look-every": ["1", "5", "0"],
    "--name": ["fuzz-design", "", " ", "a/b"],
}
NOISE = st.text(st.characters(min_codepoint=32, max_codepoint=0x2FF), max_size=12)


@st.composite
def argument_lists(draw: Any) -> list[str]:
    command = draw(st.sampled_from(sorted(COMMANDS)))
    argv = [command]
    if command in FILES:
        argv.append(str(SEEDS[draw(st.sampled_from(FILES[command]))]))
    for option in draw(st.lists(st.sampled_from(COMMANDS[command] or ["--json"]), max_size=3,
                                unique=True)):
        argv.append(option)
        if option not in FLAGS:
            values = PLAUSIBLE[option]
            if command == "simon" and option == "--beta":  # here: the type II error
                values = ["0.2", "0.1", "0", "1"]
            noise = draw(st.integers(0, 9)) == 9  # hypothesis favours 0
            argv.append(draw(NOISE) if noise else draw(st.sampled_from(values)))
    if command in ("analyze", "posterior") and "--data" not in argv:
        argv += ["--data", draw(st.sampled_from(PLAUSIBLE["--data"]))]
    if command == "simon":
        for option, value in (("--p0", "0.1"), ("--p1", "0.3")):
            if option not in argv:
                argv += [option, value]
    if command == "simulate":  # keep simulations short
        if "--n-sims" not in argv and "--mcse" not in argv:
            argv += ["--n-sims", "200"]
        argv.append("--quiet")
    if command == "oc" and "--simulate" in argv and "--n-sims" not in argv:
        argv += ["--n-sims", "500"]
    return [*argv, "--json", *LIMIT]


@BUDGET
@given(argument_lists())
def test_random_argument_lists_fail_cleanly_or_work(argv: list[str]) -> None:
    check(argv, *run(argv))
