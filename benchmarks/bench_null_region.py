"""Type I error over the whole null region of the shipped two-cohort designs (target <= 10 s
per design, cold: a fresh process that loads the design, builds the quadrature lattices and
searches the region), the same search warm (lattices cached), and the null-region
calibration of the final cutoffs."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from adaptive2.engines.cohort_calibration import calibrate_cohorts
from adaptive2.engines.null_region import null_region
from adaptive2.io.design_files import load_any

from _timing import median_time, report, save

ROOT = Path(__file__).resolve().parents[1]
DESIGNS = [ROOT / "designs" / f"two-cohort-{k}.toml" for k in ("bhm", "exnex")]
CLI = [sys.executable, "-m", "adaptive2", "oc"]


def cold(path: Path, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run([*CLI, str(path), "--null-region", "--json"], check=True,
                       capture_output=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    records = []
    for path in DESIGNS:
        d = load_any(path)
        nr = null_region(d)
        print(f"  {d.name}: " + ", ".join(
            f"{c} {s.max_type1:.4f}" for c, s in nr.cohorts.items()
        ) + f"; FWER sup {nr.max_fwer:.4f}; {nr.evaluations} rate vectors")
        records.append(report(f"null region, {path.name}, cold (whole process, CLI)",
                              cold(path, 5), 10.0, 5))
        records.append(report(f"null region, {path.name}, warm (lattices cached)",
                              median_time(lambda d=d: null_region(d), repeat=5), None, 5))
        records.append(report(
            f"calibrate final cutoffs to the null region, {path.name}, warm",
            median_time(lambda d=d: calibrate_cohorts(d, alpha=0.10, binding=False),
                        repeat=3), None, 3))
    save(records, "null_region")


if __name__ == "__main__":
    main()
