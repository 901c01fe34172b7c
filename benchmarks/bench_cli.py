"""Start-up: whole-process times (median of 10 runs) and peak memory of the CLI commands.

Users meet the command line cold: every figure here is a fresh process, from
``python`` start to exit, with Python's bytecode cache in use (as after any
installation; ``PYTHONDONTWRITEBYTECODE`` is removed from the environment, and
one warm-up run writes the cache). Peak memory is the child's maximum resident
set size. Targets are those of the speed work (issue "Speed where users wait").
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _timing import report, save

ROOT = Path(__file__).resolve().parent.parent
EXE = Path(sys.executable).parent / "adaptive2"
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
REPEAT = 10

BASKET4 = "nsclc=4/10,melanoma=2/10,rcc=5/10,hnscc=1/10"
# eight tumour types: examples/basket-exnex.toml's model and rules, cohorts c1..c8 (written
# by write_eight() into benchmarks/results/)
EIGHT = Path(__file__).parent / "results" / "basket-8-exnex.toml"
BASKET8 = ",".join(f"c{j + 1}={r}/10" for j, r in enumerate((4, 2, 5, 1, 3, 0, 2, 6)))


def write_eight() -> None:
    """The 8-cohort EXNEX design of the K = 8 figures (from examples/basket-exnex.toml)."""
    from adaptive2.io.design_files import dumps_toml, read_toml

    data = read_toml(ROOT / "examples" / "basket-exnex.toml")
    one = next(iter(data["cohorts"].values()))
    data["name"] = "basket-8-exnex"
    data["title"] = "Eight tumour types, p0 0.15, p1 0.35, EXNEX (benchmark)"
    data["cohorts"] = {f"c{j + 1}": dict(one) for j in range(8)}
    data["scenarios"] = [{"name": "global null", **{f"c{j + 1}": 0.15 for j in range(8)}}]
    EIGHT.parent.mkdir(exist_ok=True)
    EIGHT.write_text(dumps_toml(data), encoding="utf-8")


# (label, argv, target seconds, target peak MiB)
COMMANDS: list[tuple[str, list[str], float | None, float | None]] = [
    ("python -c 'pass' (interpreter alone, baseline)", [sys.executable, "-c", "pass"], None,
     None),
    ("python -c 'import numpy, scipy.special' (the floor of any exact command)",
     [sys.executable, "-c", "import numpy, scipy.special"], None, None),
    ("python -c 'import adaptive2'", [sys.executable, "-c", "import adaptive2"], 0.30, None),
    ("adaptive2 oc designs/frontline-pp.toml", [str(EXE), "oc", "designs/frontline-pp.toml"],
     0.35, None),
    ("adaptive2 oc designs/frontline-pp.toml --json",
     [str(EXE), "oc", "designs/frontline-pp.toml", "--json"], 0.35, None),
    ("adaptive2 oc designs/frontline-efftox.toml --p 0.4,0.6 --tox 0.15,0.4",
     [str(EXE), "oc", "designs/frontline-efftox.toml", "--p", "0.4,0.6", "--tox", "0.15,0.4"],
     0.5, None),
    ("adaptive2 boundaries designs/frontline-pp.toml",
     [str(EXE), "boundaries", "designs/frontline-pp.toml"], 0.35, None),
    # (a mixture prior's quantiles and ESS use scipy.optimize and scipy.integrate: + ~0.2 s)
    ("adaptive2 prior designs/frontline-pp.toml", [str(EXE), "prior", "designs/frontline-pp.toml"],
     None, None),
    ("adaptive2 simon --p0 0.4 --p1 0.6 --alpha 0.1 --beta 0.2",
     [str(EXE), "simon", "--p0", "0.4", "--p1", "0.6", "--alpha", "0.1", "--beta", "0.2"],
     0.40, None),
    ("adaptive2 analyze designs/frontline-pp.toml --data 7/15",
     [str(EXE), "analyze", "designs/frontline-pp.toml", "--data", "7/15"], 0.5, None),
    ("adaptive2 analyze designs/two-cohort-bhm.toml --data frontline=12/20,post_io=3/15",
     [str(EXE), "analyze", "designs/two-cohort-bhm.toml", "--data",
      "frontline=12/20,post_io=3/15"], 0.5, 250.0),
    ("adaptive2 posterior designs/two-cohort-bhm.toml --data frontline=12/20,post_io=3/15",
     [str(EXE), "posterior", "designs/two-cohort-bhm.toml", "--data",
      "frontline=12/20,post_io=3/15"], 0.5, 250.0),
    # K cohorts (the issue: analyze and posterior for K <= 8 in <= 0.5 s)
    ("adaptive2 analyze examples/basket-bhm.toml --data nsclc=4/10,... (4 cohorts)",
     [str(EXE), "analyze", "examples/basket-bhm.toml", "--data", BASKET4], 0.5, 250.0),
    ("adaptive2 analyze examples/basket-exnex.toml --data nsclc=4/10,... (4 cohorts)",
     [str(EXE), "analyze", "examples/basket-exnex.toml", "--data", BASKET4], 0.5, 250.0),
    ("adaptive2 posterior examples/basket-exnex.toml --data nsclc=4/10,... (4 cohorts)",
     [str(EXE), "posterior", "examples/basket-exnex.toml", "--data", BASKET4], 0.5, 250.0),
    ("adaptive2 analyze basket-8-exnex.toml --data c1=4/10,... (8 cohorts)",
     [str(EXE), "analyze", str(EIGHT), "--data", BASKET8], 0.5, 250.0),
    ("adaptive2 posterior basket-8-exnex.toml --data c1=4/10,... (8 cohorts)",
     [str(EXE), "posterior", str(EIGHT), "--data", BASKET8], 0.5, 250.0),
]

# Runs ``argv`` in a child and prints the child's wall time and peak RSS (KiB on Linux).
_PROBE = (
    "import resource, subprocess, sys, time\n"
    "t0 = time.perf_counter()\n"
    "p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)\n"
    "dt = time.perf_counter() - t0\n"
    "if p.returncode: sys.exit(p.stderr.decode())\n"
    "print(dt, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
)


def measure(argv: list[str]) -> tuple[float, float]:
    """Median wall seconds over REPEAT fresh processes (after a warm-up) and peak MiB."""
    runs = []
    for i in range(REPEAT + 1):
        out = subprocess.run([sys.executable, "-c", _PROBE, *argv], check=True, cwd=ROOT,
                             env=ENV, capture_output=True, text=True).stdout.split()
        if i:  # the first run writes the bytecode cache
            runs.append((float(out[0]), float(out[1]) / 1024.0))
    return statistics.median(r[0] for r in runs), max(r[1] for r in runs)


def main() -> None:
    records = []
    t0 = time.perf_counter()
    write_eight()
    for label, argv, target, mib_target in COMMANDS:
        seconds, mib = measure(argv)
        rec = report(label, seconds, target, REPEAT)
        note = f" (target <= {mib_target:g} MiB)" if mib_target else ""
        print(f"    peak memory {mib:.0f} MiB{note}")
        rec["peak_mib"] = round(mib, 1)
        rec["target_mib"] = mib_target
        records.append(rec)
    save(records, "cli")
    print(f"(bench_cli: {time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
