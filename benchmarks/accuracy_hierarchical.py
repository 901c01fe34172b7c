"""Accuracy of the quadrature engine: the default grid against FINE_GRID on a 40 + 40 lattice.

For each borrowing model (with the phase 1 stratum 16/20) the largest difference in
P(p_j > p0_j) and in the posterior mean over every outcome r1 x r2 of 40 + 40 patients,
0/40 and 40/40 included. These are the figures the README quotes; run with
``python benchmarks/accuracy_hierarchical.py`` (a few minutes: the fine grid is large, up
to 5 GiB for the half-Cauchy prior, so the memory limit is raised to 8 GiB here).
"""

from __future__ import annotations

import numpy as np

from adaptive2._base.resources import limit_memory
from adaptive2.engines.posterior import lattice
from adaptive2.model.hierarchical import FINE_GRID, Cohort, Historical, Model

COHORTS = (Cohort("frontline", 0.40, 0.60, (40,)), Cohort("post_io", 0.10, 0.30, (40,)))
PHASE1 = Historical("phase1", 16, 20)
MODELS = {
    "BHM, half-normal(1)": Model(historical=(PHASE1,)),
    "BHM, half-Cauchy(1)": Model(tau_prior="half_cauchy", tau_scale=1.0, historical=(PHASE1,)),
    "BHM, half-t(3), scale 0.5": Model(tau_prior="half_t", tau_df=3.0, tau_scale=0.5,
                                       historical=(PHASE1,)),
    "EXNEX, weight 0.5": Model(kind="exnex", weight=0.5, historical=(PHASE1,)),
    "pooled": Model(kind="pooled", historical=(PHASE1,)),
    "independent": Model(kind="independent"),
}


def main() -> None:
    n = (40, 40)
    for name, model in MODELS.items():
        a = lattice(model, COHORTS, n)
        with limit_memory("8G"):
            b = lattice(model, COHORTS, n, grid=FINE_GRID)
        dp = max(float(np.abs(a.p_above[c.name] - b.p_above[c.name]).max()) for c in COHORTS)
        dm = max(float(np.abs(a.mean[c.name] - b.mean[c.name]).max()) for c in COHORTS)
        print(f"{name}: max |P(p > p0)| difference {dp:.1e}, max |mean| difference {dm:.1e}",
              flush=True)


if __name__ == "__main__":
    main()
