"""The main job: `adaptive2 report` on every shipped design, as `make demo` runs it (<= 2 min)."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _timing import median_time, report, save

ROOT = Path(__file__).resolve().parent.parent
EXE = Path(sys.executable).parent / "adaptive2"


def main() -> None:
    repeat = 3
    designs = sorted(str(p) for p in (ROOT / "designs").glob("*.toml"))
    with tempfile.TemporaryDirectory() as tmp:
        args = [str(EXE), "report", *designs, "--scenarios", "designs/scenarios.toml",
                "--out", f"{tmp}/ilkn421h", "--quiet"]

        def run() -> None:
            subprocess.run(args, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)

        records = [
            report(
                "adaptive2 report designs/*.toml (make demo; 8 designs, 20,000 trials per "
                "conduct cell, with the PDF)",
                median_time(run, repeat=repeat),
                120.0,
                repeat,
            )
        ]
    save(records, "report")


if __name__ == "__main__":
    main()
