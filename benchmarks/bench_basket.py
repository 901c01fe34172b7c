"""Basket trials: exact 3-cohort OC, 10,000 simulated 6-cohort trials, and NUTS per trial.

Three figures, each the median of several cold runs (every quadrature engine, piece
and lattice cleared first):

* the 3-cohort exact OC: 3 cohorts x 25 patients (one analysis), p0 0.15, p1 0.35,
  Berry's hierarchical model (BHM) and EXNEX, 2 scenarios. bhmbasket (JAGS, 1,000
  Monte Carlo trials) takes 313 s for the same task side by side, as stated in the
  speed issue; the target is a speed-up of at least 200x, i.e. <= 1.565 s;
* 10,000 simulated trials of a 6-cohort EXNEX design (looks 10 and 20) by Monte Carlo
  over outcomes with quadrature posteriors (target <= 30 s on 2 cores), 1 and 2 workers;
* the cost of one NUTS fit (PyMC, the package's default draws) of one data set of the
  same 6-cohort model: what each simulated trial would cost if its posteriors came
  from MCMC, so the speed-up is stated honestly (needs the ``bayes`` extra).
"""

from __future__ import annotations

import importlib.util
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from adaptive2._base.cache import MEMO
from adaptive2.engines.cohort_exact import cohort_oc_table
from adaptive2.engines.cohort_montecarlo import cohort_simulate
from adaptive2.model.cohorts import CohortDesign
from adaptive2.model.hierarchical import Cohort, Model
from adaptive2.model.rules import PosteriorProbability
from adaptive2.model.scenarios import CohortScenario

from _timing import report, save

BHMBASKET_S = 313.0  # bhmbasket, 3 cohorts x 25 patients, 2 scenarios, 1,000 JAGS trials


def _design(kind: str, k: int, looks: tuple[int, ...], futility: bool) -> CohortDesign:
    names = [f"tumour{i + 1}" for i in range(k)]
    cohorts = tuple(Cohort(n, 0.15, 0.35, looks) for n in names)
    null = {n: 0.15 for n in names}
    one = {**null, names[0]: 0.35}
    model = Model(kind=kind) if kind == "hierarchical" else Model(kind=kind, nex_sd=2.0)
    return CohortDesign(
        name=f"basket-{k}-{kind}", model=model, cohorts=cohorts,
        futility=PosteriorProbability(0.15, 0.3) if futility else None,
        final=PosteriorProbability(0.15, 0.95),
        scenarios=(CohortScenario("global null", null), CohortScenario("one works", one)),
    )


def _cold_median(fn: object, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        MEMO.clear()
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    records = []
    target = BHMBASKET_S / 200
    for kind in ("hierarchical", "exnex"):
        d = _design(kind, 3, (25,), futility=False)
        t = _cold_median(lambda d=d: cohort_oc_table(d), repeat=3)
        rec = report(f"exact OC, 3 cohorts x 25 patients, {kind}, 2 scenarios (cold)", t, target,
                     3)
        print(f"    {BHMBASKET_S / t:.0f}x faster than bhmbasket's {BHMBASKET_S:g} s")
        rec["speedup_vs_bhmbasket"] = round(BHMBASKET_S / t)
        records.append(rec)
    six = _design("exnex", 6, (10, 20), futility=True)
    one = (six.scenarios[1],)
    for workers in (1, 2):
        t = _cold_median(lambda w=workers: cohort_simulate(six, one, n_sims=10_000, seed=1,
                                                           workers=w), repeat=3)
        records.append(report(f"10,000 simulated trials, 6-cohort EXNEX, {workers} worker(s) "
                              "(cold)", t, 30.0, 3))
    sim_s = records[-2]["median_ms"] / 1e3
    if importlib.util.find_spec("pymc") is None:  # the bayes extra is not installed
        print("NUTS per trial: skipped (pip install -e '.[bayes]')")
    else:
        from adaptive2.engines import pymc_fit

        data = {c.name: (3, 10) for c in six.cohorts}
        pymc_fit.fit(six.model, six.cohorts, data, seed=1)  # compile once
        t = statistics.median(
            _timed(lambda s=s: pymc_fit.fit(six.model, six.cohorts, data, seed=s))
            for s in (2, 3, 4))
        rec = report("one NUTS fit of the 6-cohort EXNEX model (one data set, compiled)", t,
                     None, 3)
        per_trial = 2 * t  # a trial with an interim needs a fit at each of its 2 looks
        print(f"    10,000 trials by NUTS: about {10_000 * per_trial / 3600:.1f} h on one core, "
              f"{10_000 * per_trial / sim_s:.0f}x the quadrature Monte Carlo")
        rec["nuts_10000_trials_h"] = round(10_000 * per_trial / 3600, 2)
        records.append(rec)
    save(records, "basket")


def _timed(fn: object) -> float:
    t0 = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - t0


if __name__ == "__main__":
    main()
