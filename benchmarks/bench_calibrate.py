"""Calibration: BOP2 (λ, γ) on a 21 × 21 grid (target <= 1 s) and a one-parameter
``final.cutoff`` calibration of designs/frontline-pp.toml. Every run is cold: the
boundary cache is cleared before each call."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from adaptive2 import BOP2, Beta, Design
from adaptive2.engines.calibration import calibrate, calibrate_bop2
from adaptive2.io.design_files import load_design
from adaptive2.model.designs import _boundaries

from _timing import median_time, report, save

ROOT = Path(__file__).resolve().parents[1]
LAMBDAS = np.linspace(0.5, 0.99, 21)
GAMMAS = np.linspace(0.1, 3.0, 21)
BOP2_DESIGN = Design(
    name="bench-bop2",
    prior=Beta(0.2, 0.8),
    looks=(10, 20, 30, 40),
    futility=BOP2(p0=0.2, lambda_=0.9, gamma=1.0),
    final=BOP2(p0=0.2, lambda_=0.9),
    p0=0.2,
    p1=0.4,
)
PP_DESIGN = load_design(ROOT / "designs" / "frontline-pp.toml")


def bop2_cold() -> None:
    _boundaries.cache_clear()
    calibrate_bop2(BOP2_DESIGN, alpha=0.10, power=0.80, lambdas=LAMBDAS, gammas=GAMMAS)


def cutoff_cold() -> None:
    _boundaries.cache_clear()
    calibrate(PP_DESIGN, "final.cutoff", alpha=0.10, power=0.80)


def main() -> None:
    repeat = 5
    res = calibrate_bop2(BOP2_DESIGN, alpha=0.10, power=0.80, lambdas=LAMBDAS, gammas=GAMMAS)
    print(
        f"  BOP2 result: {res.parameters}, alpha {res.alpha:.4f}, power {res.power:.4f}, "
        f"{res.n_tables} distinct tables"
    )
    records = [
        report(
            "BOP2 (lambda, gamma) calibration, 21x21 grid, N=40, 4 looks (cold boundary cache)",
            median_time(bop2_cold, repeat=repeat),
            1.0,
            repeat,
        ),
        report(
            "calibrate final.cutoff, frontline-pp.toml (cold boundary cache)",
            median_time(cutoff_cold, repeat=repeat),
            None,
            repeat,
        ),
    ]
    save(records, "calibrate")


if __name__ == "__main__":
    main()
