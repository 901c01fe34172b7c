"""Exact OC curve: 101 true rates, N = 60, 4 looks (target <= 5 ms)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from adaptive2 import Beta, Design, PosteriorProbability, PredictiveProbability
from adaptive2.engines.exact import oc
from adaptive2.model.designs import _boundaries

from _timing import median_time, report, save

P = np.linspace(0.0, 1.0, 101)
DESIGN = Design(
    name="bench-pp",
    prior=Beta(0.5, 0.5),
    looks=(15, 30, 45, 60),
    futility=PredictiveProbability(threshold=0.05),
    final=PosteriorProbability(p0=0.4, cutoff=0.95),
    p0=0.4,
    p1=0.6,
)


def warm() -> None:
    oc(DESIGN, P)


def cold() -> None:
    _boundaries.cache_clear()
    oc(DESIGN, P)


def main() -> None:
    repeat = 15
    records = [
        report(
            "exact OC, 101 rates, N=60, 4 looks (boundaries cached)",
            median_time(warm, repeat=repeat),
            0.005,
            repeat,
        ),
        report(
            "exact OC, 101 rates, N=60, 4 looks (boundaries recomputed)",
            median_time(cold, repeat=repeat),
            0.005,
            repeat,
        ),
    ]
    save(records, "oc")


if __name__ == "__main__":
    main()
