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
