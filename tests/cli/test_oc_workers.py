"""`adaptive2 oc --simulate --workers N`: the workers of the Monte Carlo OC.

Threads of the multi-cohort Monte Carlo over outcomes, processes of the trial-conduct
simulator; both give bit-identical results for any number of workers, so the option
changes the speed only. Where nothing is simulated, giving it is an input error (exit 2).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from _cli import run

ROOT = Path(__file__).resolve().parents[2]
BASKET = str(ROOT / "examples" / "basket-bhm.toml")
TWO = str(ROOT / "designs" / "two-cohort-bhm.toml")
PP = str(ROOT / "designs" / "frontline-pp.toml")
MC = ("--simulate", "--n-sims", "400", "--seed", "7")


def bad(capsys: pytest.CaptureFixture[str], *argv: str, contains: tuple[str, ...]) -> str:
    """Exit code 2, nothing on stdout, one line on stderr naming the problem."""
    code, out, err = run(capsys, *argv)
    assert code == 2, (code, out, err)
    assert out == ""
    assert err.startswith("adaptive2: error: ") and err.count("\n") == 1, repr(err)
    assert "Traceback" not in err
    for text in contains:
        assert text in err, (text, err)
    return err


def test_results_do_not_depend_on_the_number_of_workers(capsys):
    outs = {}
    for workers in ("1", "2"):
        code, out, err = run(capsys, "oc", BASKET, *MC, "--json", "--workers", workers)
        assert code == 0 and err == "", err
        outs[workers] = out
    assert outs["1"] == outs["2"]  # every number, bit for bit
    code, out, _ = run(capsys, "oc", BASKET, *MC, "--json")  # the default: one thread
    assert code == 0 and out == outs["1"]
    rows = json.loads(outs["2"])
    assert rows and all("p_efficacy_mcse" in row and "workers" not in row for row in rows)


def _spy_workers(monkeypatch: pytest.MonkeyPatch, name: str, **fixed: int) -> list[int]:
    """Record the ``workers`` each call of ``adaptive2.cli.designs.<name>`` receives."""
    from adaptive2.cli import designs

    seen: list[int] = []
    real = getattr(designs, name)

    def spy(*args, **kwargs):
        seen.append(kwargs["workers"])
        return real(*args, **{**kwargs, **fixed})

    monkeypatch.setattr(designs, name, spy)
    return seen


def test_workers_reach_the_engine(capsys, monkeypatch):
    seen = _spy_workers(monkeypatch, "cohort_simulate")
    for extra in (("--workers", "3"), ()):
        code, _, err = run(capsys, "oc", TWO, "--simulate", "--n-sims", "50", "--seed", "1",
                           *extra)
        assert code == 0, err
    assert seen == [3, 1]


def test_workers_go_to_the_automatic_fallback_to_monte_carlo(capsys, monkeypatch):
    from adaptive2.cli import designs

    seen = _spy_workers(monkeypatch, "cohort_simulate")
    monkeypatch.setattr(designs, "_EXACT_MAX_SECONDS", 0.0)
    monkeypatch.setattr(designs, "_AUTO_N_SIMS", 200)
    code, out, err = run(capsys, "oc", TWO, "--workers", "2", "--json")
    assert code == 0 and err.startswith("adaptive2: note: the exact lattice OC"), err
    assert seen == [2] and "p_efficacy_mcse" in json.loads(out)[0]


@pytest.mark.parametrize("workers", ["0", "-2", "x"])
def test_workers_must_be_a_whole_number_of_at_least_one(capsys, workers):
    bad(capsys, "oc", BASKET, *MC, f"--workers={workers}",
        contains=("--workers", ">= 1", repr(workers)))


@pytest.mark.parametrize("design", [TWO, PP])
def test_workers_without_simulate_on_an_exact_design(capsys, design):
    bad(capsys, "oc", design, "--workers", "2", contains=("--workers", "--simulate"))


def test_workers_with_the_null_region(capsys):
    bad(capsys, "oc", TWO, "--null-region", "--workers", "2",
        contains=("--workers", "--simulate"))
    bad(capsys, "oc", TWO, "--null-region", "--simulate", "--n-sims", "50", "--workers", "2",
        contains=("--workers", "--null-region"))


def test_workers_reach_the_single_cohort_simulator(capsys, monkeypatch):
    seen = _spy_workers(monkeypatch, "oc", workers=1)  # no processes in the test
    code, _, err = run(capsys, "oc", PP, "--simulate", "--n-sims", "50", "--seed", "1",
                       "--workers", "2")
    assert code == 0, err
    assert seen == [2]


def test_oc_refuses_workers_with_the_exact_method():
    from adaptive2._base.errors import DesignError
    from adaptive2.engines.exact import oc
    from adaptive2.io.design_files import load_design

    with pytest.raises(DesignError, match="`workers`"):
        oc(load_design(PP), method="exact", workers=2)
