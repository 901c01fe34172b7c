"""Benchmark of adaptive2.engines.simon: median wall time of the full design search.

Run ``python benchmarks/bench_simon.py [--runs 15] [--json PATH]``. Each case is
warmed up once, then timed with :mod:`timeit` (one call per run); the median
over the runs is printed in milliseconds and written to a JSON file
(default ``benchmarks/results/bench_simon.json``, gitignored).

For comparison, clinfun's ``ph2simon`` takes about 8-34 ms on such problems.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import timeit
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from adaptive2.engines.simon import simon

CASES = [
    {"p0": 0.1, "p1": 0.3, "alpha": 0.05, "beta": 0.2, "nmax": 100},
    {"p0": 0.2, "p1": 0.4, "alpha": 0.05, "beta": 0.2, "nmax": 100},
]
TARGET_MS = 30.0


def bench_case(case: dict, runs: int) -> dict:
    def call() -> object:
        return simon(case["p0"], case["p1"], case["alpha"], case["beta"], case["nmax"])

    res = call()  # warm-up (first-call costs: imports, allocator)
    times = timeit.repeat(call, repeat=runs, number=1)
    ms = [t * 1e3 for t in times]
    opt, mm = res.optimal, res.minimax
    return {
        **case,
        "runs": runs,
        "median_ms": statistics.median(ms),
        "min_ms": min(ms),
        "max_ms": max(ms),
        "optimal": None if opt is None else [opt.r1, opt.n1, opt.r, opt.n],
        "minimax": None if mm is None else [mm.r1, mm.n1, mm.r, mm.n],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="timed runs per case (>= 7)")
    parser.add_argument(
        "--json",
        type=Path,
        default=Path(__file__).resolve().parent / "results" / "bench_simon.json",
        help="where to write the results",
    )
    args = parser.parse_args(argv)
    runs = max(7, args.runs)
    rows = []
    for case in CASES:
        row = bench_case(case, runs)
        rows.append(row)
        print(
            f"simon nmax={case['nmax']} p0={case['p0']:g} p1={case['p1']:g}: "
            f"median {row['median_ms']:.1f} ms ({runs} runs)"
        )
    slow = [r for r in rows if r["median_ms"] > TARGET_MS]
    if slow:
        print(f"note: {len(slow)} case(s) above the {TARGET_MS:g} ms target")
    payload = {
        "benchmark": "simon",
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "platform": platform.platform(),
        "target_ms": TARGET_MS,
        "cases": rows,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(payload, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
