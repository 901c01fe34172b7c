"""Command-line interface: documented JSON keys, numbers, exit codes and one-line errors."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from scipy import stats

from adaptive2.cli import main
from adaptive2.io.design_files import dumps_toml, load_design

from _shipped import SINGLE_COHORT

ROOT = Path(__file__).resolve().parents[2]
DESIGNS_DIR = ROOT / "designs"

# Fixed copies of two designs (the shipped files may be re-tuned; these values may not).
PP_DESIGN = {
    "name": "pp",
    "title": "predictive-probability futility at 15 and 25, final at 40",
    "prior": {"base": [0.5, 0.5], "historical": {"r": 16, "n": 20}, "power": 0.5,
              "robust": {"weight": 0.5, "mean": 0.5, "n": 1}},
    "cohort": {"p0": 0.4, "p1": 0.6, "looks": [15, 25, 40]},
    "futility": {"rule": "predictive", "threshold": 0.05},
    "final": {"rule": "posterior", "cutoff": 0.95},
    "scenarios": {"p": [0.3, 0.4, 0.5, 0.6, 0.7]},
}
SIMON_DESIGN = {
    "name": "simon",
    "title": "Simon optimal two-stage 7/18, 22/46",
    "prior": {"beta": [1, 1]},
    "cohort": {"p0": 0.4, "p1": 0.6, "looks": [18, 46]},
    "futility": {"rule": "boundary", "r": [7]},
    "final": {"rule": "boundary", "r": 22},
    "scenarios": {"p": [0.3, 0.4, 0.5, 0.6, 0.7]},
}


@pytest.fixture(scope="module")
def design_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("designs")
    (d / "pp.toml").write_text(dumps_toml(PP_DESIGN), encoding="utf-8")
    (d / "simon.toml").write_text(dumps_toml(SIMON_DESIGN), encoding="utf-8")
    return d


@pytest.fixture(scope="module")
def pp_file(design_dir) -> str:
    return str(design_dir / "pp.toml")


@pytest.fixture(scope="module")
def simon_file(design_dir) -> str:
    return str(design_dir / "simon.toml")

# Documented JSON interface (the issue); set equality, so additions are deliberate.
PRIOR_KEYS = {"components", "mean", "sd", "quantiles", "ess", "ess_reasons", "description"}
QUANTILE_KEYS = {"0.025", "0.05", "0.5", "0.95", "0.975"}
ESS_KEYS = {"elir", "moment", "morita"}
SIMON_KEYS = {"optimal", "minimax", "admissible"}
SIMON_DESIGN_KEYS = {"r1", "n1", "r", "n", "expected_n_p0", "pet_p0", "alpha", "power"}
BOUNDARY_KEYS = {"look", "n", "futility_max_r", "efficacy_min_r"}
OC_KEYS = {"scenario", "p", "role", "p_efficacy", "p_futility", "p_early_stop", "expected_n",
           "sd_n", "p_stop_at"}
OC_MC_VARS = ("p_efficacy", "p_futility", "p_early_stop", "expected_n", "sd_n")
STOP_KEYS = {"look", "n", "futility", "efficacy", "consider"}


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys, *argv: str):
    code, out, err = run(capsys, *argv, "--json")
    assert code == 0, err
    assert err == ""
    return json.loads(out)


def assert_bad_input(capsys, *argv: str, contains: tuple[str, ...] = ()) -> str:
    """Exit code 2, nothing on stdout, exactly one line on stderr naming the problem."""
    code, out, err = run(capsys, *argv)
    assert code == 2, (code, out, err)
    assert out == ""
    assert err.endswith("\n") and err.count("\n") == 1, repr(err)
    assert err.startswith("adaptive2: error: ")
    assert "Traceback" not in err
    for text in contains:
        assert text in err, (text, err)
    return err


# ---------------------------------------------------------------------------
# prior
# ---------------------------------------------------------------------------
def test_prior_json_keys_are_the_documented_ones(capsys):
    got = run_json(capsys, "prior", "--beta", "0.5,0.5", "--historical", "16/20")
    assert set(got) == PRIOR_KEYS


def test_prior_historical_numbers(capsys):
    got = run_json(capsys, "prior", "--beta", "0.5,0.5", "--historical", "16/20")
    assert got["components"] == [{"w": 1.0, "a": 16.5, "b": 4.5}]
    assert [set(c) for c in got["components"]] == [{"w", "a", "b"}]
    assert got["mean"] == pytest.approx(16.5 / 21, abs=1e-12)
    assert got["sd"] == pytest.approx(stats.beta(16.5, 4.5).std(), abs=1e-12)
    assert set(got["quantiles"]) == QUANTILE_KEYS
    for key, value in got["quantiles"].items():
        assert value == pytest.approx(stats.beta(16.5, 4.5).ppf(float(key)), abs=1e-10)
    assert set(got["ess"]) == ESS_KEYS
    for method in ESS_KEYS:
        assert got["ess"][method] == pytest.approx(21.0, abs=1e-9), method
    assert got["ess_reasons"] == {}


def test_prior_power_and_robust_match_the_file(capsys, pp_file):
    flags = run_json(capsys, "prior", "--beta", "0.5,0.5", "--historical", "16/20",
                     "--power", "0.5", "--robust", "0.5")
    assert flags["components"] == [{"w": 0.5, "a": 8.5, "b": 2.5},
                                   {"w": 0.5, "a": 0.5, "b": 0.5}]
    assert flags["mean"] == pytest.approx(0.5 * 8.5 / 11 + 0.5 * 0.5, abs=1e-12)
    from_file = run_json(capsys, "prior", pp_file)
    for key in ("components", "mean", "sd", "quantiles", "ess", "ess_reasons"):
        assert from_file[key] == flags[key], key


def test_prior_mixture(capsys):
    got = run_json(capsys, "prior", "--mixture", "0.8,16.5,4.5;0.2,1,1")
    assert got["components"] == [{"w": 0.8, "a": 16.5, "b": 4.5}, {"w": 0.2, "a": 1.0, "b": 1.0}]
    assert got["mean"] == pytest.approx(0.8 * 16.5 / 21 + 0.2 * 0.5, abs=1e-12)
    q = got["quantiles"]
    assert set(q) == QUANTILE_KEYS
    assert [q[k] for k in ("0.025", "0.05", "0.5", "0.95", "0.975")] == sorted(q.values())
    for key, value in q.items():
        cdf = 0.8 * stats.beta(16.5, 4.5).cdf(value) + 0.2 * value
        assert cdf == pytest.approx(float(key), abs=1e-9)
    assert all(isinstance(got["ess"][m], float) for m in ESS_KEYS)


@pytest.mark.parametrize(("mixture", "undefined"), [
    ("0.5,0.5,1;0.5,0.8,1", "elir"),  # two different shapes unbounded at 0
    ("0.5,1,30;0.5,30,1", "morita"),  # mean deep in the trough of a bimodal mixture
])
def test_prior_undefined_ess_is_null_with_a_reason(capsys, mixture, undefined):
    got = run_json(capsys, "prior", "--mixture", mixture)
    assert set(got["ess"]) == ESS_KEYS
    assert got["ess"][undefined] is None
    assert set(got["ess_reasons"]) == {m for m, v in got["ess"].items() if v is None}
    assert got["ess_reasons"][undefined].startswith("undefined")


def test_prior_table_output(capsys):
    code, out, err = run(capsys, "prior", "--beta", "0.5,0.5", "--historical", "16/20")
    assert code == 0 and err == ""
    assert "mean 0.7857" in out
    assert "ESS (elir) 21.00" in out


def test_prior_zero_weight_component_is_clean(capsys):
    # A zero-weight component must not put "RuntimeWarning: divide by zero" on stderr.
    got = run_json(capsys, "prior", "--mixture", "1,2,2;0,1,1")
    assert got["mean"] == pytest.approx(0.5)
    assert got["ess"]["elir"] == pytest.approx(4.0)
    got = run_json(capsys, "prior", "--beta", "2,2", "--robust", "0")
    assert got["components"][0] == {"w": 1.0, "a": 2.0, "b": 2.0}


def test_prior_extreme_beta_does_not_crash(capsys):
    # BUG (priors._ess_with_reason, method "moment"): Beta(1e300, 1e300) passes
    # validation but its variance underflows to 0.0 and `m * (1 - m) / v` raises
    # ZeroDivisionError, which escapes cli.main as a traceback (exit 1).
    code, out, err = run(capsys, "prior", "--beta", "1e300,1e300", "--json")
    assert code in (0, 2)
    assert "Traceback" not in err
    if code == 0:
        assert json.loads(out)["mean"] == pytest.approx(0.5)
    else:
        assert out == "" and err.count("\n") == 1


# ---------------------------------------------------------------------------
# simon
# ---------------------------------------------------------------------------
def test_simon_json(capsys):
    got = run_json(capsys, "simon", "--p0", "0.1", "--p1", "0.3", "--alpha", "0.05",
                   "--beta", "0.2", "--nmax", "100")
    assert set(got) == SIMON_KEYS
    assert set(got["optimal"]) == SIMON_DESIGN_KEYS
    assert set(got["minimax"]) == SIMON_DESIGN_KEYS
    assert isinstance(got["admissible"], list) and got["admissible"]
    for d in got["admissible"]:
        assert SIMON_DESIGN_KEYS <= set(d)
    # Simon (1989), Table 1: p0 = 0.10, p1 = 0.30, alpha = 0.05, beta = 0.20
    opt, mm = got["optimal"], got["minimax"]
    assert (opt["r1"], opt["n1"], opt["r"], opt["n"]) == (1, 10, 5, 29)
    assert (mm["r1"], mm["n1"], mm["r"], mm["n"]) == (1, 15, 5, 25)
    assert opt["expected_n_p0"] == pytest.approx(15.0, abs=0.05)
    assert opt["pet_p0"] == pytest.approx(0.74, abs=0.005)
    assert mm["expected_n_p0"] == pytest.approx(19.5, abs=0.05)
    assert mm["pet_p0"] == pytest.approx(0.55, abs=0.005)
    for d in (opt, mm):
        assert d["alpha"] <= 0.05 and d["power"] >= 0.8


def test_simon_default_nmax_and_table(capsys):
    assert run_json(capsys, "simon", "--p0", "0.1", "--p1", "0.3") == run_json(
        capsys, "simon", "--p0", "0.1", "--p1", "0.3", "--alpha", "0.05", "--beta", "0.2",
        "--nmax", "100")
    code, out, err = run(capsys, "simon", "--p0", "0.1", "--p1", "0.3")
    assert code == 0 and err == "" and "optimal" in out and "minimax" in out


def test_simon_bad_input(capsys):
    assert_bad_input(capsys, "simon", "--p0", "0.1", "--p1", "0.3", "--alpha", "1.5")
    assert_bad_input(capsys, "simon", "--p0", "0.1")
    assert_bad_input(capsys, "simon", "--p0", "abc", "--p1", "0.3")


# ---------------------------------------------------------------------------
# boundaries
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("path", SINGLE_COHORT, ids=lambda p: p.stem)
def test_boundaries_json_matches_python(capsys, path):
    got = run_json(capsys, "boundaries", str(path))
    design = load_design(path)
    if design.toxicity is not None:  # a co-monitored design: {"efficacy": rows, "toxicity": rows}
        assert set(got) == {"efficacy", "toxicity"}
        stops = design.toxicity.boundaries()
        assert [(r["n"], r["stop_at_or_above"]) for r in got["toxicity"]] == [
            (n, k if k <= n else None) for n, k in zip(design.toxicity.monitor, stops, strict=True)
        ]
        got = got["efficacy"]
    assert isinstance(got, list)
    assert all(set(row) == BOUNDARY_KEYS for row in got)
    assert got == design.boundaries().to_records()


def test_boundaries_values_and_nulls(capsys, pp_file, simon_file):
    got = run_json(capsys, "boundaries", simon_file)
    assert got == [
        {"look": 1, "n": 18, "futility_max_r": 7, "efficacy_min_r": None},
        {"look": 2, "n": 46, "futility_max_r": 22, "efficacy_min_r": 23},
    ]
    pp = run_json(capsys, "boundaries", pp_file)
    assert [r["efficacy_min_r"] for r in pp[:-1]] == [None, None]  # no efficacy stop


def test_boundaries_table_output(capsys, simon_file):
    code, out, err = run(capsys, "boundaries", simon_file)
    assert code == 0 and err == ""
    assert "Design simon: Simon optimal two-stage 7/18, 22/46" in out
    assert "stop for futility if <= 7 responses among the first 18 evaluable patients" in out


# ---------------------------------------------------------------------------
# oc
# ---------------------------------------------------------------------------
def test_oc_json_keys_and_python_values(capsys, pp_file):
    from adaptive2.engines.exact import oc

    got = run_json(capsys, "oc", pp_file, "--p", "0.3,0.4,0.6")
    assert [set(row) for row in got] == [OC_KEYS] * 3
    ds = oc(load_design(pp_file), [0.3, 0.4, 0.6])
    assert [row["p"] for row in got] == [0.3, 0.4, 0.6]
    assert [row["role"] for row in got] == ["null", "null", "alternative"]
    assert [row["scenario"] for row in got] == [str(s) for s in ds["scenario"].values]
    for var in ("p_efficacy", "p_futility", "p_early_stop", "expected_n", "sd_n"):
        assert [row[var] for row in got] == ds[var].values.tolist(), var
    for i, row in enumerate(got):
        assert [set(s) for s in row["p_stop_at"]] == [STOP_KEYS] * 3
        assert [s["look"] for s in row["p_stop_at"]] == [1, 2, 3]
        assert [s["n"] for s in row["p_stop_at"]] == [15, 25, 40]
        total = sum(s["futility"] + s["efficacy"] + s["consider"] for s in row["p_stop_at"])
        assert total == pytest.approx(1.0, abs=1e-12)
        stops = ds["p_stop_at"].values[i]
        assert [[s["futility"], s["efficacy"], s["consider"]] for s in row["p_stop_at"]] == (
            stops.tolist()
        )
        assert row["p_efficacy"] == pytest.approx(row["p_stop_at"][-1]["efficacy"], abs=1e-15)


def test_oc_default_scenarios_from_file(capsys, simon_file):
    got = run_json(capsys, "oc", simon_file)
    assert [row["p"] for row in got] == [0.3, 0.4, 0.5, 0.6, 0.7]
    for row in got:
        total = sum(s["futility"] + s["efficacy"] + s["consider"] for s in row["p_stop_at"])
        assert total == pytest.approx(1.0, abs=1e-12)
        assert math.isclose(row["p_futility"], row["p_stop_at"][0]["futility"], abs_tol=1e-15)
    # Simon 7/18, 22/46 at p = 0.4: PET = P(Bin(18, 0.4) <= 7), E(N) = 18 + 28 (1 - PET)
    p0_row = got[1]
    assert p0_row["p_early_stop"] == pytest.approx(stats.binom.cdf(7, 18, 0.4), abs=1e-12)
    assert p0_row["expected_n"] == pytest.approx(
        18 + 28 * (1 - stats.binom.cdf(7, 18, 0.4)), abs=1e-10
    )


def test_oc_simulate_is_reproducible_and_has_mcse(capsys, pp_file):
    argv = ("oc", pp_file, "--p", "0.4,0.6", "--simulate", "--n-sims", "4000", "--seed", "1",
            "--json")
    code1, out1, err1 = run(capsys, *argv)
    code2, out2, err2 = run(capsys, *argv)
    assert code1 == code2 == 0 and err1 == err2 == ""
    assert out1 == out2
    rows = json.loads(out1)
    mc_keys = OC_KEYS | {f"{v}_mcse" for v in OC_MC_VARS}
    assert [set(row) for row in rows] == [mc_keys] * 2
    exact = run_json(capsys, "oc", pp_file, "--p", "0.4,0.6")
    for mc, ex in zip(rows, exact, strict=True):
        total = sum(s["futility"] + s["efficacy"] + s["consider"] for s in mc["p_stop_at"])
        assert total == pytest.approx(1.0, abs=1e-12)
        for var in OC_MC_VARS:
            assert mc[f"{var}_mcse"] > 0
            assert abs(mc[var] - ex[var]) <= 4 * mc[f"{var}_mcse"], var
    other = run(capsys, *argv[:-3], "--seed", "2", "--json")[1]
    assert other != out1


@pytest.fixture(scope="module")
def two_cohort_file(design_dir) -> str:
    from adaptive2.io.design_files import cohort_design_to_dict
    from adaptive2.model.cohorts import CohortDesign
    from adaptive2.model.hierarchical import Cohort, Model, QuadratureGrid
    from adaptive2.model.rules import PosteriorProbability
    from adaptive2.model.scenarios import CohortScenario

    design = CohortDesign(
        name="two", model=Model(kind="hierarchical"),
        cohorts=(Cohort("frontline", 0.4, 0.6, (8, 16)), Cohort("post_io", 0.1, 0.3, (8, 16))),
        futility=PosteriorProbability(0.4, 0.2), final=PosteriorProbability(0.4, 0.9),
        scenarios=(CohortScenario("null", {"frontline": 0.4, "post_io": 0.1}),
                   CohortScenario("between", {"frontline": 0.5, "post_io": 0.3})),
        grid=QuadratureGrid(n_theta=201, n_mu=101, n_tau=20),
    )
    path = design_dir / "two.toml"
    path.write_text(dumps_toml(cohort_design_to_dict(design)), encoding="utf-8")
    return str(path)


def test_oc_simulate_multi_cohort_rows_carry_mcse_twins(capsys, two_cohort_file):
    """`oc --simulate` on a multi-cohort design: oc(design, method="simulate") in JSON rows.

    (It used to be refused.) Every figure has its `_mcse` twin, the numbers are those of
    the Python call with the same seed, and they are within 4 MCSE of the exact OC.
    """
    from adaptive2.engines.exact import oc
    from adaptive2.io.design_files import load_any

    rows = run_json(capsys, "oc", two_cohort_file, "--simulate", "--n-sims", "3000",
                    "--seed", "5")
    mc_vars = (*OC_MC_VARS, "fwer", "p_all_correct")
    keys = {"scenario", "cohort", "rate", "role", "p_stop_at", *mc_vars,
            *(f"{v}_mcse" for v in mc_vars)}
    assert [set(r) for r in rows] == [keys] * 4
    design = load_any(two_cohort_file)
    ds = oc(design, method="simulate", n_sims=3000, seed=5)
    exact = run_json(capsys, "oc", two_cohort_file)
    for row, ex in zip(rows, exact, strict=True):
        sel = ds.sel(scenario=row["scenario"], cohort=row["cohort"])
        assert row["role"] == ex["role"] == str(sel["role"].values)
        for var in mc_vars:
            assert row[var] == float(sel[var]) and row[f"{var}_mcse"] == float(sel[f"{var}_mcse"])
            assert abs(row[var] - ex[var]) <= 4 * row[f"{var}_mcse"] + 1e-12, (var, row, ex)
    assert [r["role"] for r in rows] == ["null", "null", "other", "alternative"]
    code, out, err = run(capsys, "oc", two_cohort_file, "--simulate", "--n-sims", "500",
                         "--seed", "5")
    assert code == 0 and err == ""
    assert "Monte Carlo operating characteristics (500 trials per scenario" in out
    assert "p_efficacy_mcse" in out
    assert_bad_input(capsys, "oc", two_cohort_file, "--p", "0.3", contains=("--p",))


def test_simulate_out_is_written_atomically(capsys, monkeypatch, tmp_path):
    """A failure while writing --out leaves no partial file (an earlier file is kept)."""
    import xarray as xr

    out = tmp_path / "sim.nc"
    argv = ["simulate", str(DESIGNS_DIR / "frontline-pp.toml"), "--p", "0.4", "--n-sims",
            "300", "--seed", "1", "--json", "--out", str(out)]
    real = xr.Dataset.to_netcdf

    def broken(self, path, *args, **kwargs):
        Path(path).write_bytes(b"CDF\x01 partial")  # half a file, then the disk fills up
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(xr.Dataset, "to_netcdf", broken)
    code, stdout, err = run(capsys, *argv)  # a failure of the run, not of the input: exit 1
    assert (code, stdout, err.count("\n")) == (1, "", 1), (code, stdout, err)
    assert "--out" in err and "No space left on device" in err and "Traceback" not in err
    assert "sim.nc" in err
    assert list(tmp_path.iterdir()) == []  # neither the target nor a temporary file
    out.write_bytes(b"an earlier result")
    assert run(capsys, *argv)[0] == 1
    assert out.read_bytes() == b"an earlier result"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sim.nc"]
    monkeypatch.setattr(xr.Dataset, "to_netcdf", real)
    assert run(capsys, *argv)[0] == 0
    with xr.open_dataset(out, engine="scipy") as ds:
        assert ds.sizes["scenario"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sim.nc"]


def test_oc_table_output(capsys, pp_file):
    code, out, err = run(capsys, "oc", pp_file, "--p", "0.4,0.6")
    assert code == 0 and err == ""
    assert "Operating characteristics of pp (exact)" in out
    assert "p_efficacy" in out


# ---------------------------------------------------------------------------
# Bad input: exit 2, one line, no traceback
# ---------------------------------------------------------------------------
def test_bad_input_missing_file(capsys, tmp_path):
    missing = str(tmp_path / "nope.toml")
    for cmd in ("oc", "boundaries", "prior"):
        assert_bad_input(capsys, cmd, missing, contains=(missing, "file not found"))


@pytest.mark.parametrize("p", ["0.3,abc", "1.5", "", "nan", "0.3;0.4", "-0.1"])
def test_bad_input_p(capsys, p, pp_file):
    assert_bad_input(capsys, "oc", pp_file, f"--p={p}")


def test_bad_input_p_message_names_the_flag(capsys, pp_file):
    assert_bad_input(capsys, "oc", pp_file, "--p", "0.3,abc", contains=("--p", "0.3,abc"))


@pytest.mark.parametrize("hist", ["16-20", "16/20/3", "a/20", "25/20", "0/0", "16/"])
def test_bad_input_historical(capsys, hist):
    assert_bad_input(capsys, "prior", "--beta", "0.5,0.5", f"--historical={hist}")


def test_bad_input_historical_message(capsys):
    assert_bad_input(capsys, "prior", "--historical", "16-20",
                     contains=("--historical", "r/n", "16-20"))


@pytest.mark.parametrize("mixture", [
    "0.8,16.5;0.2,1,1", ";", "0.5,1,1;0.4,1,1", "a,b,c", "0.8,16.5,4.5;0.2,1,-1", "",
])
def test_bad_input_mixture(capsys, mixture):
    assert_bad_input(capsys, "prior", f"--mixture={mixture}")


def test_bad_input_mixture_message(capsys):
    assert_bad_input(capsys, "prior", "--mixture", "0.8,16.5;0.2,1,1",
                     contains=("--mixture", "3", "0.8,16.5"))


def test_bad_input_power_without_historical(capsys):
    assert_bad_input(capsys, "prior", "--beta", "0.5,0.5", "--power", "0.5",
                     contains=("--power", "--historical"))


@pytest.mark.parametrize("argv", [
    ("prior",),
    ("prior", "--beta", "1"),
    ("prior", "--beta=-1,1"),
    ("prior", "--historical", "16/20", "--power", "1.5"),
    ("prior", "--beta", "1,1", "--robust", "2"),
    ("prior", "--beta", "1,1", "--robust", "0.5,0.5,1,2"),
    ("prior", "--beta", "1,1", "--mixture", "1,1,1"),
    ("prior", "{pp}", "--beta", "1,1"),
    ("oc", "{pp}", "--simulate", "--n-sims", "0"),
    ("oc", "{pp}", "--simulate", "--n-sims", "abc"),
    ("oc", "{pp}", "--simulate", "--seed", "-1"),
    ("oc",),
    ("boundaries", str(DESIGNS_DIR)),
])
def test_bad_input_other(capsys, argv, pp_file):
    assert_bad_input(capsys, *(a.replace("{pp}", pp_file) for a in argv))


def test_bad_input_unknown_subcommand(capsys):
    assert_bad_input(capsys, "frobnicate", contains=("frobnicate", "prior", "oc"))
    assert_bad_input(capsys)


def test_bad_input_design_file_with_bad_key(capsys, tmp_path, pp_file):
    with open(pp_file, "rb") as fh:
        import tomllib

        data = tomllib.load(fh)
    data["final"]["cutof"] = 0.9
    path = tmp_path / "typo.toml"
    path.write_text(dumps_toml(data), encoding="utf-8")
    for cmd in ("oc", "boundaries"):
        assert_bad_input(capsys, cmd, str(path),
                         contains=(str(path), "[final]", "cutof", "allowed keys: rule, cutoff"))


def test_bad_input_invalid_toml(capsys, tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text('name = "x"\n[cohort\n', encoding="utf-8")
    assert_bad_input(capsys, "boundaries", str(path), contains=(str(path), "not valid TOML"))


# ---------------------------------------------------------------------------
# The installed entry point, end to end
# ---------------------------------------------------------------------------
def test_entry_point_subprocess(tmp_path, simon_file):
    ok = subprocess.run(
        [sys.executable, "-m", "adaptive2", "boundaries", simon_file, "--json"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )
    assert ok.returncode == 0, ok.stderr
    assert ok.stderr == ""
    assert json.loads(ok.stdout)[0] == {"look": 1, "n": 18, "futility_max_r": 7,
                                        "efficacy_min_r": None}
    missing = str(tmp_path / "missing.toml")
    bad = subprocess.run(
        [sys.executable, "-m", "adaptive2", "oc", missing, "--json"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )
    assert bad.returncode == 2
    assert bad.stdout == ""
    assert bad.stderr == f"adaptive2: error: {missing}: file not found.\n"
    assert "Traceback" not in bad.stderr


def test_oc_of_a_design_too_big_for_the_lattice_falls_back_to_monte_carlo(capsys, monkeypatch):
    """Beyond the exact programme's reach, oc simulates (over outcomes) and says so."""
    from adaptive2.cli import designs as cli_designs

    monkeypatch.setattr(cli_designs, "_EXACT_MAX_SECONDS", 0.0)
    monkeypatch.setattr(cli_designs, "_AUTO_N_SIMS", 2_000)
    code, out, err = run(capsys, "oc", "designs/two-cohort-bhm.toml", "--json")
    assert code == 0 and err.startswith("adaptive2: note: the exact lattice OC of two-cohort-bhm")
    assert "Monte Carlo over outcomes" in err and "2000 trials per scenario" in err
    rows = json.loads(out)
    exact = run_json(capsys, "oc", "designs/two-cohort-bhm.toml", "--simulate", "--n-sims",
                     "2000", "--seed", "3")
    assert set(rows[0]) == set(exact[0]) and "p_efficacy_mcse" in rows[0]
    monkeypatch.undo()
    plain = run_json(capsys, "oc", "designs/two-cohort-bhm.toml")
    for row, ex in zip(rows, plain, strict=True):
        assert abs(row["p_efficacy"] - ex["p_efficacy"]) <= 4 * row["p_efficacy_mcse"] + 1e-9
    code, out, _ = run(capsys, "oc", "designs/two-cohort-bhm.toml")
    assert code == 0 and not out.startswith("Note:")


def test_null_region_by_simulation_for_a_multi_cohort_design(capsys):
    """`oc --null-region --simulate`: each cohort's worst case over a design of points."""
    got = run_json(capsys, "oc", "designs/two-cohort-bhm.toml", "--null-region", "--simulate",
                   "--n-sims", "200", "--seed", "3")
    assert got["method"] == "monte_carlo" and got["n_sims"] == 200
    assert got["confirm_sims"] == 2000 and got["seed_entropy"] == "3"
    for name, c in got["cohorts"].items():
        assert set(c) >= {"p0", "max_type1", "max_type1_mcse", "argmax", "screened_max"}
        assert c["argmax"][name] == c["p0"] and 0 <= c["max_type1"] <= 1
    assert_bad_input(capsys, "oc", "designs/frontline-pp.toml", "--null-region", "--simulate",
                     contains=("--null-region", "--simulate"))
    assert_bad_input(capsys, "oc", "designs/two-cohort-bhm.toml", "--null-region", "--simulate",
                     "--range", "post_io=0,0.5", contains=("--range",))


def test_the_console_script_runs_main_after_freezing_its_imports(monkeypatch, capsys) -> None:
    """`adaptive2` is adaptive2.__main__:run: the imports with the collector paused, then main."""
    import gc
    import importlib.metadata

    from adaptive2 import __main__ as entry

    (script,) = importlib.metadata.entry_points(group="console_scripts", name="adaptive2")
    assert script.value == "adaptive2.__main__:run"
    monkeypatch.setattr(sys, "argv", ["adaptive2", "simon", "--p0", "0.4", "--p1", "0.6",
                                      "--alpha", "0.1", "--beta", "0.2", "--json"])
    before = gc.get_freeze_count()
    try:
        with pytest.raises(SystemExit) as done:
            entry.run()
        assert done.value.code == 0
        assert gc.isenabled()
        assert gc.get_freeze_count() > before  # what was imported is out of the collector's way
    finally:
        gc.unfreeze()
    assert json.loads(capsys.readouterr().out)
