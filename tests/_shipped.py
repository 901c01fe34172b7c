"""The shipped design files, split by kind (single- and multi-cohort)."""

import tomllib
from pathlib import Path

DESIGNS_DIR = Path(__file__).resolve().parent.parent / "designs"


def _is_multi(path: Path) -> bool:
    with path.open("rb") as fh:
        return "cohorts" in tomllib.load(fh)


SCENARIOS = DESIGNS_DIR / "scenarios.toml"
ALL = sorted(p for p in DESIGNS_DIR.glob("*.toml") if p != SCENARIOS)
SINGLE_COHORT = [p for p in ALL if not _is_multi(p)]
MULTI_COHORT = [p for p in ALL if _is_multi(p)]
