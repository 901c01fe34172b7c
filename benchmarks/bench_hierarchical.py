"""Borrowing across two cohorts: quadrature for every outcome vs one NUTS fit.

1. Quadrature posterior (P(p_j > p0_j) and E p_j) for every outcome of a 40 + 40
   two-cohort BHM with the phase 1 stratum (16/20, exchangeable), caches cleared
   before each run (target <= 1 s).
2. If PyMC is installed: the cost of one NUTS fit of one data set (4 chains x
   (1000 tuning + 2000 kept) draws, the ``bayes.fit`` defaults), median of 3 after
   one warm-up fit that pays the compilation, so the README can quote the
   per-trial MCMC cost honestly. A simulation with MCMC in the loop pays this per
   simulated trial and per analysis.
"""

from __future__ import annotations

import importlib.util
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from adaptive2._base.cache import MEMO
from adaptive2.engines.posterior import lattice, posterior
from adaptive2.io.design_files import load_design
from adaptive2.model.hierarchical import Cohort, Historical, Model

from _timing import median_time, report, save

COHORTS = (Cohort("frontline", 0.40, 0.60), Cohort("post_io", 0.10, 0.30))
MODEL = Model(historical=(Historical("phase1", 16, 20),))
N = (40, 40)
DATA = {"frontline": (18, 25), "post_io": (8, 25)}


def cold_lattice() -> None:
    MEMO.clear()  # every quadrature engine, piece and lattice
    lattice(MODEL, COHORTS, N)


def one_posterior() -> None:
    MEMO.clear("quadrature.lattice")  # the engine (kernels) stays cached
    posterior(MODEL, COHORTS, DATA)


def nuts_records() -> list[dict]:
    from adaptive2.engines import pymc_fit as bayes

    t0 = time.perf_counter()
    bayes.fit(MODEL, COHORTS, DATA, seed=1)
    first = time.perf_counter() - t0
    print(f"NUTS first fit in this process (imports, graph compilation, sampling): {first:.1f} s")
    times = []
    for seed in (2, 3, 4):
        t0 = time.perf_counter()
        idata = bayes.fit(MODEL, COHORTS, DATA, seed=seed)
        times.append(time.perf_counter() - t0)
    fit_s = statistics.median(times)
    sampling = idata.posterior.attrs["sampling_time"]
    outcomes = (N[0] + 1) * (N[1] + 1)
    print(
        f"  per fit: {fit_s:.1f} s (of which {sampling:.1f} s in pm.sample); the "
        f"{outcomes} outcomes of 40 + 40 would take {outcomes * fit_s / 3600:.1f} h by NUTS"
    )
    rec = report("NUTS fit of one data set, 4 x (1000 + 2000) draws", fit_s, None, 3)
    rec["first_fit_ms"] = first * 1e3
    return [rec]


def main() -> None:
    records = [
        report(
            "BHM + phase 1, every outcome of 40 + 40 (cold caches)",
            median_time(cold_lattice, repeat=5),
            1.0,
            5,
        ),
        report(
            "BHM + phase 1, posterior of one data set (kernels cached)",
            median_time(one_posterior, repeat=7),
            None,
            7,
        ),
    ]
    if importlib.util.find_spec("pymc") is not None:
        records += nuts_records()
    else:
        print("PyMC not installed: NUTS timing skipped (pip install adaptive2[bayes]).")
    save(records, "hierarchical")



def bench_two_cohort_oc() -> None:
    """Exact two-cohort OC of the shipped BHM design, per scenario (target <= 2 s), cold."""
    from adaptive2.engines.cohort_exact import cohort_oc

    design = load_design(Path(__file__).resolve().parent.parent / "designs" / "two-cohort-bhm.toml")

    def cold() -> None:
        MEMO.clear()  # engines, lattices and decision tables
        cohort_oc(design)

    n = len(design.scenarios)
    sec = median_time(cold, repeat=3)
    report(f"exact two-cohort OC, two-cohort-bhm, 2 looks, per scenario ({n} scenarios, cold)",
           sec / n, 2.0, 3)


if __name__ == "__main__":
    main()
    bench_two_cohort_oc()
