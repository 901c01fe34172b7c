"""The exact CLI commands load no heavy library: numpy and scipy only (start-up time).

Each command runs in a fresh interpreter (``main`` called in-process there), which
then reports which heavy modules ended up in ``sys.modules``. xarray (with pandas
and dask behind it) and matplotlib cost more than the whole answer; an exact result
is printed from plain arrays (``OCTable``) and becomes a Dataset only when a user
asks for one in Python. The times themselves are in ``benchmarks/bench_cli.py``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DESIGNS = ROOT / "designs"

HEAVY = ("xarray", "pandas", "dask", "matplotlib", "pymc")

_PROBE = """
import contextlib, io, json, sys
from adaptive2.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    code = main(sys.argv[2:])
heavy = json.loads(sys.argv[1])
print(json.dumps({"code": code, "loaded": [m for m in heavy if m in sys.modules]}))
"""


def _loaded(*argv: str) -> list[str]:
    """The heavy modules imported by ``adaptive2 ARGV...`` in a fresh interpreter."""
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(HEAVY), *argv],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["code"] == 0, proc.stderr
    return list(out["loaded"])


def _designs_with_prior() -> list[str]:
    names = []
    for path in sorted(DESIGNS.glob("*.toml")):
        with path.open("rb") as fh:
            if "prior" in tomllib.load(fh):
                names.append(path.name)
    return names


COMMANDS = [
    ("oc", "designs/frontline-pp.toml"),
    ("oc", "designs/frontline-pp.toml", "--p", "0.3,0.5", "--json"),
    ("oc", "designs/frontline-efftox.toml", "--p", "0.4", "--tox", "0.15,0.3"),
    ("oc", "designs/frontline-simon.toml", "--json"),
    ("boundaries", "designs/frontline-pp.toml"),
    ("boundaries", "designs/frontline-efftox.toml", "--json"),
    ("boundaries", "designs/two-cohort-bhm.toml"),
    ("simon", "--p0", "0.4", "--p1", "0.6", "--alpha", "0.1", "--beta", "0.2"),
    ("analyze", "designs/frontline-pp.toml", "--data", "7/15"),
    ("analyze", "designs/frontline-efftox.toml", "--data", "7/15 tox=2/15", "--json"),
    ("analyze", "designs/two-cohort-bhm.toml", "--data", "frontline=12/20,post_io=3/15"),
    ("posterior", "designs/two-cohort-bhm.toml", "--data", "frontline=12/20,post_io=3/15"),
    ("posterior", "designs/two-cohort-exnex.toml", "--data", "frontline=12/20,post_io=3/15",
     "--json"),
]


@pytest.mark.parametrize("argv", COMMANDS, ids=[" ".join(a[:2]) for a in COMMANDS])
def test_exact_commands_load_no_heavy_module(argv: tuple[str, ...]) -> None:
    assert _loaded(*argv) == []


@pytest.mark.parametrize("design", _designs_with_prior())
def test_prior_of_a_shipped_design_loads_no_heavy_module(design: str) -> None:
    assert _loaded("prior", str(DESIGNS / design), "--json") == []


def test_the_probe_sees_a_heavy_import() -> None:
    """The check can fail: a Monte Carlo run (results as a Dataset) does load xarray."""
    loaded = _loaded("simulate", "designs/frontline-pp.toml", "--p", "0.4", "--n-sims", "20",
                     "--seed", "1", "--quiet")
    assert "xarray" in loaded


_LAZY_PROBE = """
import contextlib, io, json, sys
from adaptive2.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    code = main(sys.argv[1:])
before = sorted(m for m in sys.modules if m.startswith(("numpy.testing", "numpy.f2py")))
import numpy.testing, numpy.f2py
numpy.testing.assert_allclose([1.0], [1.0])  # first use: the module runs in full
after = "numpy.testing._private.utils" in sys.modules and callable(numpy.f2py.run_main)
print(json.dumps({"code": code, "before": before, "after": after}))
"""


def test_numpy_testing_and_f2py_wait_for_their_first_use() -> None:
    """scipy.special imports them; an analysis never uses them, and their code does not run.

    Read later, they load in full (resources.defer_unused_modules).
    """
    proc = subprocess.run(
        [sys.executable, "-c", _LAZY_PROBE, "analyze", "designs/two-cohort-bhm.toml",
         "--data", "frontline=12/20,post_io=3/15"],
        capture_output=True, text=True, cwd=ROOT, check=False)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["code"] == 0
    assert out["before"] == ["numpy.f2py", "numpy.testing"]  # registered, none of their parts
    assert out["after"] is True
