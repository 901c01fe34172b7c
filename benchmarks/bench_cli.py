"""End-to-end CLI and import times (targets: `adaptive2 oc` <= 1 s; import <= 0.3 s)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _timing import median_time, report, save

ROOT = Path(__file__).resolve().parent.parent
EXE = Path(sys.executable).parent / "adaptive2"


def run(args: list[str]) -> None:
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)


def main() -> None:
    repeat = 7
    design = "designs/frontline-pp.toml"
    records = [
        report(
            "python -c 'import adaptive2'",
            median_time(lambda: run([sys.executable, "-c", "import adaptive2"]), repeat=repeat),
            0.3,
            repeat,
        ),
        report(
            "python startup alone (baseline)",
            median_time(lambda: run([sys.executable, "-c", "pass"]), repeat=repeat),
            None,
            repeat,
        ),
        report(
            f"adaptive2 oc {design} --json (end to end)",
            median_time(lambda: run([str(EXE), "oc", design, "--json"]), repeat=repeat),
            1.0,
            repeat,
        ),
        report(
            f"adaptive2 boundaries {design} --json (end to end)",
            median_time(lambda: run([str(EXE), "boundaries", design, "--json"]), repeat=repeat),
            1.0,
            repeat,
        ),
    ]
    save(records, "cli")


if __name__ == "__main__":
    main()
