"""Tiny timing helper shared by the benchmark scripts (median of repeated runs)."""

from __future__ import annotations

import json
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path


def median_time(fn: Callable[[], object], *, repeat: int = 7, number: int = 1) -> float:
    """Median wall time of ``fn`` in seconds, after one warm-up call."""
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - t0) / number)
    return statistics.median(times)


def report(name: str, seconds: float, target_s: float | None, repeat: int) -> dict:
    """Print one benchmark line and return it as a record."""
    ms = seconds * 1e3
    target = f" (target <= {target_s * 1e3:g} ms)" if target_s is not None else ""
    status = "" if target_s is None else ("  OK" if seconds <= target_s else "  SLOWER THAN TARGET")
    print(f"{name}: median {ms:.2f} ms over {repeat} runs{target}{status}")
    return {
        "name": name,
        "median_ms": ms,
        "target_ms": None if target_s is None else target_s * 1e3,
        "runs": repeat,
        "machine": f"{platform.machine()} {platform.processor()}".strip(),
        "python": platform.python_version(),
    }


def save(records: list[dict], stem: str) -> None:
    """Write records to benchmarks/results/<stem>.json (git-ignored)."""
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / f"{stem}.json").write_text(json.dumps(records, indent=2))
