"""Bad input: one test per mistake a new user made (issue 'every bad input gets a short error').

Each runs the real console script in a subprocess, as the user did, and asserts the exit
code, that stderr is one short line without a traceback, and that it names the field,
option or file at fault.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from adaptive2.io.design_files import dumps_toml, read_toml

ROOT = Path(__file__).resolve().parents[2]
DESIGNS = ROOT / "designs"
PP = DESIGNS / "frontline-pp.toml"


def cli(*argv: str, timeout: float = 120) -> tuple[int, str, str, float]:
    """Run ``adaptive2 ARGV`` in a fresh process: (exit code, stdout, stderr, seconds)."""
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "adaptive2", *argv], capture_output=True,
                       text=True, timeout=timeout, cwd=ROOT)
    return p.returncode, p.stdout, p.stderr, time.perf_counter() - t0


def one_line_error(code: int, out: str, err: str, expected_code: int, *names: str) -> None:
    assert code == expected_code, (code, out, err)
    assert out == ""
    assert err.startswith("adaptive2: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err and "internal error" not in err
    for name in names:
        assert name in err, (name, err)


def pp_with(tmp_path: Path, name: str, **cohort) -> Path:
    data = read_toml(PP)
    data["cohort"].update(cohort)
    path = tmp_path / name
    path.write_text(dumps_toml(data), encoding="utf-8")
    return path


def test_p1_below_p0_is_refused(tmp_path):
    code, out, err, _ = cli("oc", str(pp_with(tmp_path, "low.toml", p1=0.30)))
    one_line_error(code, out, err, 2, "low.toml", "[cohort]", "`p1`", "above", "0.3")


def test_multi_cohort_p1_below_p0_names_the_cohort(tmp_path):
    data = read_toml(DESIGNS / "two-cohort-bhm.toml")
    data["cohorts"]["post_io"]["p1"] = 0.05
    path = tmp_path / "bhm.toml"
    path.write_text(dumps_toml(data), encoding="utf-8")
    code, out, err, _ = cli("boundaries", str(path))
    one_line_error(code, out, err, 2, "`p1`", "post_io", "0.05")


def test_design_file_in_latin1(tmp_path):
    text = PP.read_text(encoding="utf-8").replace("# Frontline", "# Frontline (café)", 1)
    path = tmp_path / "latin1.toml"
    path.write_bytes(text.encode("latin-1"))
    code, out, err, _ = cli("oc", str(path))
    one_line_error(code, out, err, 2, "latin1.toml", "UTF-8", "line 1")


@pytest.mark.parametrize("looks", [[50000, 100000], [5000, 20000]])
def test_huge_looks_are_refused_at_once(tmp_path, looks, capsys):
    """Refused from the estimate: nothing big is allocated first (numpy reports to tracemalloc).

    The time of the refusal is in benchmarks/bench_cli.py, not here.
    """
    import tracemalloc

    from adaptive2.cli import main

    path = str(pp_with(tmp_path, "big.toml", looks=looks))
    code, out, err, _ = cli("oc", path)
    one_line_error(code, out, err, 2, "GiB", "--max-memory", "looks")
    tracemalloc.start()
    try:
        assert main(["oc", path]) == 2
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    capsys.readouterr()
    assert peak < 64 * 2**20, f"{peak / 2**20:.0f} MiB allocated before the refusal"


@pytest.mark.parametrize("workers", ["0", "-2", "two"])
def test_workers_must_be_a_positive_integer(workers):
    code, out, err, _ = cli("simulate", str(PP), "--n-sims", "100", f"--workers={workers}")
    one_line_error(code, out, err, 2, "--workers", ">= 1", repr(workers))


def test_checkpoint_that_is_a_file(tmp_path):
    path = tmp_path / "ckpt"
    path.write_text("not a folder")
    code, out, err, _ = cli("simulate", str(PP), "--n-sims", "100", "--checkpoint", str(path))
    one_line_error(code, out, err, 2, "--checkpoint", "folder", str(path))
    assert path.read_text() == "not a folder"


def test_unreachable_scheduler_fails_fast_naming_the_address():
    # was: a hang of more than 30 s; a hang now fails the test through the process timeout
    code, out, err, _ = cli("simulate", str(PP), "--n-sims", "100", "--scheduler",
                            "tcp://127.0.0.1:1", "--scheduler-timeout", "2", timeout=60)
    one_line_error(code, out, err, 1, "tcp://127.0.0.1:1", "--scheduler", "2 s")


def test_scheduler_timeout_defaults_to_10_seconds():
    from adaptive2.cli import _parser

    args = _parser().parse_args(["simulate", str(PP), "--scheduler", "tcp://h:1"])
    assert args.scheduler_timeout == 10.0


def test_report_out_that_cannot_be_written(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    out_dir = blocker / "reports" / "ilkn421h"  # its parent is a file: cannot be created
    code, out, err, _ = cli("report", str(PP), "--out", str(out_dir), "--n-sims", "0",
                            "--pdf", "never", "--quiet")
    one_line_error(code, out, err, 2, "--out", str(blocker))
    assert blocker.read_text() == "x"


def test_misspelt_cohort_in_a_per_cohort_weight(tmp_path):
    data = read_toml(DESIGNS / "two-cohort-exnex.toml")
    data["model"]["weight"] = {"frontline": 0.5, "post_oi": 0.3}
    path = tmp_path / "exnex.toml"
    path.write_text(dumps_toml(data), encoding="utf-8")
    code, out, err, _ = cli("oc", str(path))
    one_line_error(code, out, err, 2, "weight", "post_oi", "post_io")


def test_out_creates_missing_parent_folders(tmp_path):
    out_file = tmp_path / "new" / "deeper" / "sim.nc"
    code, _, err, _ = cli("simulate", str(PP), "--p", "0.4", "--n-sims", "200", "--seed", "1",
                          "--quiet", "--out", str(out_file))
    assert code == 0, err
    assert out_file.is_file()


def test_debug_shows_the_traceback(tmp_path):
    path = pp_with(tmp_path, "low.toml", p1=0.30)
    code, _, err, _ = cli("oc", str(path), "--debug")
    assert code == 2
    assert err.startswith("adaptive2: error: ") and "Traceback (most recent call last)" in err


def test_an_internal_error_is_one_line_and_exit_1(monkeypatch, capsys):
    """A bug still ends in one line (and asks for --debug), never a bare traceback."""
    from adaptive2 import cli as cli_module
    from adaptive2.cli import designs

    def broken(args):
        raise ZeroDivisionError("float division by zero")

    monkeypatch.setattr(designs, "_cmd_oc", broken)
    assert cli_module.main(["oc", str(PP)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("adaptive2: internal error: ZeroDivisionError")
    assert "--debug" in err


def test_memory_limit_option_refuses_a_job_that_would_otherwise_run():
    code, out, err, _ = cli("oc", str(PP), "--max-memory", "1K")
    one_line_error(code, out, err, 2, "--max-memory", "limit 1.0 KiB")
    code, out, err, _ = cli("oc", str(PP), "--max-memory", "lots")
    one_line_error(code, out, err, 2, "--max-memory", "512M")


def test_ignored_option_is_an_error():
    code, out, err, _ = cli("oc", str(PP), "--n-sims", "1000")
    one_line_error(code, out, err, 2, "--n-sims", "--simulate")
    code, out, err, _ = cli("calibrate", str(PP), "--max-power-loss", "0.05")
    one_line_error(code, out, err, 2, "--max-power-loss", "--futility")


@pytest.mark.skipif(os.name != "posix", reason="umask is POSIX")
@pytest.mark.parametrize("umask", [0o022, 0o027, 0o077])
def test_outputs_follow_the_umask(tmp_path, umask):
    """Design files, netCDF and comparison tables get 0666 & ~umask, folders 0777 & ~umask."""
    env = dict(os.environ)
    script = (
        f"import os, sys; os.umask({umask}); from adaptive2.cli import main; "
        "sys.exit(main(sys.argv[1:]))"
    )

    def run(*argv: str) -> None:
        p = subprocess.run([sys.executable, "-c", script, *argv], capture_output=True,
                           text=True, env=env, cwd=ROOT, timeout=300)
        assert p.returncode == 0, p.stderr

    sim = tmp_path / "sims" / "sim.nc"
    run("simulate", str(PP), "--p", "0.4", "--n-sims", "200", "--seed", "1", "--quiet",
        "--out", str(sim))
    written = tmp_path / "tables" / "calibrated.toml"
    run("calibrate", str(PP), "--alpha", "0.1", "--write", str(written))
    run("compare", str(PP), "--out", str(tmp_path / "cmp"))
    for f in (sim, written, *sorted((tmp_path / "cmp").iterdir())):
        assert f.stat().st_mode & 0o777 == 0o666 & ~umask, f
    for d in (sim.parent, written.parent, tmp_path / "cmp"):
        assert d.stat().st_mode & 0o777 == 0o777 & ~umask, d


@pytest.mark.parametrize("method", ["boundaries", "decision_table"])
def test_multi_cohort_tables_are_guarded(method):
    """Three cohorts of 2000: the lattice is refused before it is built, in well under 1 s."""
    from adaptive2 import Cohort, CohortDesign, Model, PosteriorProbability, ResourceError

    design = CohortDesign(
        name="big", model=Model(),
        cohorts=tuple(Cohort(name, 0.2, 0.4, (1000, 2000)) for name in ("a", "b", "c")),
        final=PosteriorProbability(0.2, 0.9),
    )
    t0 = time.perf_counter()
    with pytest.raises(ResourceError, match=r"3-cohort design 'big'.*GiB.*--max-memory"):
        getattr(design, method)()
    assert time.perf_counter() - t0 < 1


def test_checkpoint_of_another_run_is_refused_and_the_matching_one_resumed(tmp_path):
    ckpt = tmp_path / "ckpt"
    base = ("simulate", str(PP), "--p", "0.4", "--n-sims", "200", "--quiet", "--json",
            "--checkpoint", str(ckpt))
    code, first, err, _ = cli(*base, "--seed", "1")
    assert code == 0, err
    code, out, err, _ = cli(*base, "--seed", "2")
    one_line_error(code, out, err, 2, str(ckpt), "different run", "seed_entropy")
    code, again, err, _ = cli(*base, "--seed", "1")
    assert code == 0, err
    assert again == first  # resumed from the saved chunk: the same numbers
