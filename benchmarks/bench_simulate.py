"""Trial-conduct simulator throughput: frontline-pp, accrual 2/month, 2.5-month delay.

Targets: >= 1e6 simulated single-cohort trials per minute per core with ``workers=1``
(2 scenarios x 200,000 trials), and a speed-up >= 1.7x with ``workers=2`` (process
pool, start-up included). Medians of 3 runs after one warm-up.

Run ``python benchmarks/bench_simulate.py [--runs 3] [--n-sims 200000]``; results go
to ``benchmarks/results/simulate.json`` (git-ignored). On a machine with few cores
that is busy with other jobs the speed-up is bounded by the idle cores: the script
prints the load average next to it.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from adaptive2.engines.montecarlo import simulate
from adaptive2.io.design_files import load_design
from adaptive2.model.conduct import Conduct

from _timing import median_time, report, save

DESIGN = load_design(Path(__file__).resolve().parents[1] / "designs" / "frontline-pp.toml")
SCENARIOS = (0.4, 0.6)
CONDUCT = Conduct(rates=(2.0,), delay=2.5)
TARGET_PER_MIN_PER_CORE = 1e6
TARGET_SPEEDUP = 1.7


def run(n_sims: int, workers: int) -> None:
    simulate(DESIGN, SCENARIOS, conduct=CONDUCT, n_sims=n_sims, seed=1, workers=workers,
             progress=False)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--n-sims", type=int, default=200_000, dest="n_sims")
    args = ap.parse_args()
    trials = args.n_sims * len(SCENARIOS)

    t1 = median_time(lambda: run(args.n_sims, 1), repeat=args.runs)
    rec1 = report(f"simulate frontline-pp, {len(SCENARIOS)} x {args.n_sims} trials, workers=1",
                  t1, None, args.runs)
    rate1 = trials / t1 * 60
    ok1 = "OK" if rate1 >= TARGET_PER_MIN_PER_CORE else "SLOWER THAN TARGET"
    print(f"  {rate1:,.0f} trials/min/core (target >= {TARGET_PER_MIN_PER_CORE:,.0f})  {ok1}")
    rec1.update(trials=trials, trials_per_min_per_core=rate1,
                target_trials_per_min_per_core=TARGET_PER_MIN_PER_CORE)

    t2 = median_time(lambda: run(args.n_sims, 2), repeat=args.runs)
    rec2 = report(f"simulate frontline-pp, {len(SCENARIOS)} x {args.n_sims} trials, workers=2",
                  t2, None, args.runs)
    speedup = t1 / t2
    ok2 = "OK" if speedup >= TARGET_SPEEDUP else "BELOW TARGET"
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    print(f"  speed-up {speedup:.2f}x (target >= {TARGET_SPEEDUP}x)  {ok2}; "
          f"{trials / t2 * 60 / 2:,.0f} trials/min/core; cpus {os.cpu_count()}, "
          f"load average {load[0]:.2f}")
    rec2.update(trials=trials, trials_per_min_per_core=trials / t2 * 60 / 2, speedup=speedup,
                target_speedup=TARGET_SPEEDUP, cpus=os.cpu_count(), load_average=load[0])
    # the shipped base setting: gamma delay (inverse CDF per patient), the slowest delay form
    gamma = Conduct(rates=(2.0,), delay=("gamma", 2.5, 0.5))
    t3 = median_time(
        lambda: simulate(DESIGN, SCENARIOS, conduct=gamma, n_sims=args.n_sims, seed=1,
                         progress=False),
        repeat=args.runs,
    )
    rec3 = report(f"simulate frontline-pp, gamma(2.5, 0.5) delay, {len(SCENARIOS)} x "
                  f"{args.n_sims} trials, workers=1", t3, None, args.runs)
    rate3 = trials / t3 * 60
    ok3 = "OK" if rate3 >= TARGET_PER_MIN_PER_CORE else "SLOWER THAN TARGET"
    print(f"  {rate3:,.0f} trials/min/core (target >= {TARGET_PER_MIN_PER_CORE:,.0f})  {ok3}")
    rec3.update(trials=trials, trials_per_min_per_core=rate3)
    save([rec1, rec2, rec3], "simulate")


if __name__ == "__main__":
    main()
