"""Accuracy of the quadrature engine over the range of priors it is tested on.

Each row of REGIMES is one borrowing model (with the phase 1 stratum 16/20, exchangeable,
unless the row says otherwise) on two cohorts, frontline (p0 0.40) and post-IO (p0 0.10).
For n + n patients (n = 40 and 100) the script takes the largest difference, over every
outcome r1 x r2 (0/n and n/n included), in P(p_j > p0_j) and in the posterior mean of p_j
between a much finer and wider reference grid and

* ``engine``: the default grid as the engine uses it, i.e. refined where the prior needs
  it (``adaptive2.kernels.quadrature.refined_grid``; the ``grid`` column gives the
  refined n_theta/theta_max/n_mu/n_tau, ``-`` where the default grid is used as is);
* ``given``: the default grid without that refinement (``QuadratureGrid(adapt=False)``;
  its μ cells beyond ±11 for vague μ priors are the engine's in both columns: before
  them, μ was cut at ±11 and "mu sd 10, no strata" was off by 3e-3 in means).

The reference is ``QuadratureGrid(n_theta=1601, theta_max=30, n_mu=601, n_tau=120,
adapt=False)``: θ step 0.0375 (the default's 0.05), θ range ±30 (a refined grid's ±24.2),
1.3 to 3 times the τ nodes, and n_mu = 1201 where the μ prior sd exceeds 2.2 so that its
μ cells stay finer than the engine's. Checked against the independent brute force of
tests/kernels/test_quadrature.py (τ integrated over 400 Gauss-Legendre panels in τ) at
the engine's worst outcomes: the reference agrees with it to 7e-7 in P and 2e-9 in means
for half-normal(0.5) (0/40, 13/39) and half-Cauchy(1) (15/35, 0/39), and the refined
engine to 1e-5 at 0/40, 40/40, 0/39, 1/1 and 20/3 for μ sd 10 and 100 (no strata). The
row "half-t(1)" compares the half-t prior with 1 degree of freedom, whose τ grid stops at
50 scales, with the reference of the same prior written as half-Cauchy(1).

Measured with this script (AMD EPYC, 2 cores, one BLAS thread), P / mean; (W): the
engine warns for this prior.

================================  ===============  ==========  ==========  ==========  ==========
regime                            grid             engine 40   engine 100  given 40    given 100
================================  ===============  ==========  ==========  ==========  ==========
half-normal(1)                    -                6e-6/2e-6   1e-5/4e-6   6e-6/2e-6   1e-5/4e-6
half-normal(2)                    -                6e-6/6e-6   1e-5/1e-5   6e-6/6e-6   1e-5/1e-5
mu sd 0.5                         -                2e-6/2e-6   9e-6/4e-6   2e-6/2e-6   9e-6/4e-6
mu sd 5.4                         -                5e-6/2e-6   1e-5/5e-6   5e-6/2e-6   1e-5/5e-6
no strata                         -                1e-5/4e-6   2e-5/7e-6   1e-5/4e-6   2e-5/7e-6
EXNEX, weight 0.5                 -                2e-6/7e-7   8e-6/1e-6   2e-6/7e-7   8e-6/1e-6
EXNEX, weight 0.1                 -                1e-6/7e-8   8e-6/1e-7   1e-6/7e-8   8e-6/1e-7
EXNEX, weight 0.9                 -                5e-6/1e-6   1e-5/3e-6   5e-6/1e-6   1e-5/3e-6
EXNEX, NEX sd 6                   -                4e-6/3e-5   1e-5/3e-5   4e-6/3e-5   1e-5/3e-5
pooled                            -                1e-6/3e-15  2e-6/5e-15  1e-6/3e-15  2e-6/5e-15
pooled, mu sd 6, no strata        -                4e-7/4e-6   9e-7/2e-6   4e-7/4e-6   9e-7/2e-6
independent                       -                1e-6/2e-9   8e-6/1e-9   1e-6/2e-9   8e-6/1e-9
independent, NEX sd 0.5           -                1e-6/2e-5   8e-6/2e-5   1e-6/2e-5   8e-6/2e-5
independent, NEX sd 6             -                1e-6/3e-5   8e-6/3e-5   1e-6/3e-5   8e-6/3e-5
shipped BHM (tied 0.5, w 0.5)     -                2e-5/4e-6   3e-5/7e-6   2e-5/4e-6   3e-5/7e-6
shipped EXNEX (tied 0.5, w 0.5)   -                8e-6/2e-6   2e-5/4e-6   8e-6/2e-6   2e-5/4e-6
tied, sd 0.05, weight 1           -                4e-5/5e-6   5e-5/8e-6   4e-5/5e-6   5e-5/8e-6
tied, sd 2, weight 0.5            -                1e-5/4e-6   2e-5/7e-6   1e-5/4e-6   2e-5/7e-6
tied, sd 0.5, weight 0.1          -                1e-5/4e-6   3e-5/7e-6   1e-5/4e-6   3e-5/7e-6
logit scale, mu mean -1           -                1e-5/4e-6   6e-5/7e-6   1e-5/4e-6   6e-5/7e-6
half-normal(0.25)                 481/12/401/77    1e-5/5e-6   2e-5/9e-6   3e-3/2e-3   3e-3/1e-3
half-normal(0.5)                  481/12/401/55    9e-6/3e-6   1e-5/5e-6   3e-5/1e-4   9e-5/2e-4
half-normal(0.75)                 481/12/401/45    6e-6/2e-6   1e-5/5e-6   6e-6/2e-5   1e-5/3e-5
half-t(3), scale 0.25             481/12/401/90    1e-5/2e-5   2e-5/4e-5   3e-5/9e-5   3e-5/5e-5
half-t(3), scale 0.5              481/12/401/64    7e-6/2e-5   1e-5/4e-5   1e-5/2e-5   2e-5/4e-5
half-Cauchy(0.25)                 969/24.2/401/77  1e-5/5e-6   2e-5/8e-6   2e-4/1e-4   3e-4/2e-4
half-Cauchy(1)                    969/24.2/401/77  5e-6/1e-6   1e-5/2e-6   1e-4/1e-4   2e-4/2e-4
half-Cauchy(10)                   969/24.2/401/77  6e-6/2e-6   9e-6/2e-6   3e-5/3e-4   6e-5/3e-4
half-t(3), scale 1                969/24.2/401/46  6e-6/2e-6   1e-5/3e-6   7e-6/3e-5   1e-5/5e-5
half-t(3), scale 30               969/24.2/401/46  2e-5/1e-5   1e-5/1e-5   5e-5/5e-4   8e-5/5e-4
half-t(2)                         969/24.2/401/46  6e-6/5e-6   1e-5/3e-6   8e-6/5e-5   2e-5/9e-5
half-normal(2.2)                  969/24.2/401/40  5e-6/1e-6   9e-6/2e-6   5e-6/8e-6   1e-5/1e-5
half-normal(10)                   969/24.2/401/40  9e-6/4e-6   1e-5/3e-6   3e-5/2e-4   4e-5/2e-4
half-normal(30)                   969/24.2/401/40  2e-5/1e-5   2e-5/1e-5   5e-5/5e-4   8e-5/5e-4
mu sd 10, no strata               969/24.2/846/40  6e-6/4e-6   1e-5/6e-6   6e-6/2e-4   1e-5/2e-4
mu sd 100, no strata              969/24.2/846/40  6e-6/4e-6   1e-5/6e-6   2e-5/5e-3   1e-5/3e-3
mu sd 1000, no strata             969/24.2/846/40  6e-6/4e-6   1e-5/6e-6   2e-4/2e-2   1e-5/7e-3
pooled, mu sd 100, no strata      969/24.2/846/40  4e-7/2e-8   9e-7/1e-8   4e-7/4e-7   9e-7/4e-7
EXNEX, NEX sd 10                  969/24.2/401/40  5e-6/1e-6   9e-6/2e-6   2e-5/2e-4   2e-5/2e-4
independent, NEX sd 10            969/24.2/401/40  1e-6/5e-11  8e-6/6e-11  1e-6/2e-4   8e-6/2e-4
independent, NEX sd 100           969/24.2/401/40  1e-6/3e-8   8e-6/3e-8   5e-5/5e-3   8e-6/4e-3
independent, NEX sd 10000         969/24.2/401/40  1e-6/3e-6   8e-6/3e-6   4e-3/2e-2   1e-5/1e-2
half-normal(0.1) (W)              -                3e-2/9e-3   5e-2/8e-3   3e-2/9e-3   5e-2/8e-3
half-t(1) (W)                     969/24.2/401/46  2e-5/1e-4   2e-5/5e-5   2e-5/1e-4   3e-5/2e-4
================================  ===============  ==========  ==========  ==========  ==========

So the tested range is (adaptive2.kernels.quadrature states it, and these rows run it):

* used as is: τ ~ half-normal of scale >= 0.96 (0.3 sqrt(s) >= the default's τ step
  0.294 in log τ) and a θ prior spread <= 6 on the log-odds (NEX sd; μ sd; or
  sqrt(μ sd² + q²), q the τ prior's 99% quantile; plus the prior centre): all within
  6e-5 (the shipped designs 3e-5) at 100 + 100; at 200 + 200 (``--n 200``, run for the
  shipped designs, "half-normal(1)" and "independent, NEX sd 6") within 4e-5;
* refined, and within 2e-5 / 4e-5 at 100 + 100: more τ nodes for half-normal scales from
  0.25 to 0.96 and for half-t(3) and half-Cauchy priors, whose τ grids span a wider log
  range (up to 3e-3 / 2e-3 without); a θ range of ±(22 + largest |offset|), ±24.2 here,
  at the same step beyond a spread of 6 (up to 4e-3 / 2e-2 without); up to half-normal
  and half-t(3) scale 30, half-Cauchy scale 10, half-t with 2 degrees of freedom, μ sd
  1000, NEX sd 10,000;
* beyond, a PrecisionWarning says by how much answers may be off: half-t(1) (1e-4 in
  means), larger scales and sds, more than 100 patients per cohort; below a τ scale of
  0.25 a ConvergenceWarning (half-normal(0.1): 5e-2).

Run with ``python benchmarks/accuracy_hierarchical.py [--n 40,100] [--only TEXT]``: about
30 s per regime and size (the reference grid), 45 minutes for all; the reference needs up
to 8 GB, so the memory limit is raised to 16 GiB here.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

from adaptive2._base.cache import MEMO
from adaptive2._base.resources import limit_memory
from adaptive2.engines.posterior import LatticeResult, lattice
from adaptive2.kernels.quadrature import refined_grid
from adaptive2.model.hierarchical import DEFAULT_GRID, Cohort, Historical, Model, QuadratureGrid

PHASE1 = Historical("phase1", 16, 20)
SHIPPED = Historical("phase1-frontline", 16, 20, tie="frontline", tie_sd=0.5, weight=0.5)
AS_GIVEN = QuadratureGrid(adapt=False)


def _tied(sd: float, weight: float) -> tuple[Historical, ...]:
    return (Historical("phase1", 16, 20, tie="frontline", tie_sd=sd, weight=weight),)


H = {"historical": (PHASE1,)}
# regime -> (model, model of the reference if another parametrisation of the same prior)
REGIMES: dict[str, tuple[Model, Model | None]] = {
    # -- the default grid as given -------------------------------------------------------
    "half-normal(1)": (Model(**H), None),
    "half-normal(2)": (Model(tau_scale=2.0, **H), None),
    "mu sd 0.5": (Model(mu_sd=0.5, **H), None),
    "mu sd 5.4": (Model(mu_sd=5.4, **H), None),
    "no strata": (Model(), None),
    "EXNEX, weight 0.5": (Model(kind="exnex", **H), None),
    "EXNEX, weight 0.1": (Model(kind="exnex", weight=0.1, **H), None),
    "EXNEX, weight 0.9": (Model(kind="exnex", weight=0.9, **H), None),
    "EXNEX, NEX sd 6": (Model(kind="exnex", nex_sd=6.0, **H), None),
    "pooled": (Model(kind="pooled", **H), None),
    "pooled, mu sd 6, no strata": (Model(kind="pooled", mu_sd=6.0), None),
    "independent": (Model(kind="independent"), None),
    "independent, NEX sd 0.5": (Model(kind="independent", nex_sd=0.5), None),
    "independent, NEX sd 6": (Model(kind="independent", nex_sd=6.0), None),
    "shipped BHM (tied 0.5, w 0.5)": (Model(historical=(SHIPPED,)), None),
    "shipped EXNEX (tied 0.5, w 0.5)": (Model(kind="exnex", historical=(SHIPPED,)), None),
    "tied, sd 0.05, weight 1": (Model(historical=_tied(0.05, 1.0)), None),
    "tied, sd 2, weight 0.5": (Model(historical=_tied(2.0, 0.5)), None),
    "tied, sd 0.5, weight 0.1": (Model(historical=_tied(0.5, 0.1)), None),
    "logit scale, mu mean -1": (Model(scale="logit", mu_mean=-1.0, **H), None),
    # -- refined: more tau nodes ---------------------------------------------------------
    "half-normal(0.25)": (Model(tau_scale=0.25, **H), None),
    "half-normal(0.5)": (Model(tau_scale=0.5, **H), None),
    "half-normal(0.75)": (Model(tau_scale=0.75, **H), None),
    "half-t(3), scale 0.25": (Model(tau_prior="half_t", tau_scale=0.25, **H), None),
    "half-t(3), scale 0.5": (Model(tau_prior="half_t", tau_scale=0.5, **H), None),
    # -- refined: tau nodes and theta range ----------------------------------------------
    "half-Cauchy(0.25)": (Model(tau_prior="half_cauchy", tau_scale=0.25, **H), None),
    "half-Cauchy(1)": (Model(tau_prior="half_cauchy", tau_scale=1.0, **H), None),
    "half-Cauchy(10)": (Model(tau_prior="half_cauchy", tau_scale=10.0, **H), None),
    "half-t(3), scale 1": (Model(tau_prior="half_t", tau_scale=1.0, **H), None),
    "half-t(3), scale 30": (Model(tau_prior="half_t", tau_scale=30.0, **H), None),
    "half-t(2)": (Model(tau_prior="half_t", tau_df=2.0, **H), None),
    # -- refined: theta range ------------------------------------------------------------
    "half-normal(2.2)": (Model(tau_scale=2.2, **H), None),
    "half-normal(10)": (Model(tau_scale=10.0, **H), None),
    "half-normal(30)": (Model(tau_scale=30.0, **H), None),
    "mu sd 10, no strata": (Model(mu_sd=10.0), None),
    "mu sd 100, no strata": (Model(mu_sd=100.0), None),
    "mu sd 1000, no strata": (Model(mu_sd=1000.0), None),
    "pooled, mu sd 100, no strata": (Model(kind="pooled", mu_sd=100.0), None),
    "EXNEX, NEX sd 10": (Model(kind="exnex", nex_sd=10.0, **H), None),
    "independent, NEX sd 10": (Model(kind="independent", nex_sd=10.0), None),
    "independent, NEX sd 100": (Model(kind="independent", nex_sd=100.0), None),
    "independent, NEX sd 10000": (Model(kind="independent", nex_sd=1e4), None),
    # -- beyond: warned --------------------------------------------------------------------
    "half-normal(0.1)": (Model(tau_scale=0.1, **H), None),
    "half-t(1)": (Model(tau_prior="half_t", tau_df=1.0, **H),
                  Model(tau_prior="half_cauchy", tau_scale=1.0, **H)),
}


def cohorts(n: int) -> tuple[Cohort, Cohort]:
    """Frontline (p0 0.40) and post-IO (p0 0.10) with one look at ``n`` patients."""
    return (Cohort("frontline", 0.40, 0.60, (n,)), Cohort("post_io", 0.10, 0.30, (n,)))


def reference(model: Model) -> QuadratureGrid:
    """The reference grid for ``model`` (finer μ cells for a vague μ prior)."""
    n_mu = 1201 if model.kind != "independent" and model.mu_sd > 2.2 else 601
    return QuadratureGrid(n_theta=1601, theta_max=30.0, n_mu=n_mu, n_tau=120, adapt=False)


def largest_differences(a: LatticeResult, b: LatticeResult,
                        coh: tuple[Cohort, ...]) -> tuple[float, float]:
    """Largest |difference| over the lattice and the cohorts: (P(p > p0), posterior mean)."""
    dp = max(float(np.abs(a.p_above[c.name] - b.p_above[c.name]).max()) for c in coh)
    dm = max(float(np.abs(a.mean[c.name] - b.mean[c.name]).max()) for c in coh)
    return dp, dm


def run(name: str, n: int) -> str:
    """One row of the table: regime, n, refinement, engine and as-given differences."""
    model, ref_model = REGIMES[name]
    coh = cohorts(n)
    sizes = (n, n)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t0 = time.perf_counter()
        engine = lattice(model, coh, sizes)
        seconds = time.perf_counter() - t0
    warned = sorted({type(w.message).__name__ for w in caught})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        given = lattice(model, coh, sizes, grid=AS_GIVEN)
        ref = lattice(ref_model or model, coh, sizes, grid=reference(ref_model or model))
    g = refined_grid(model, coh, DEFAULT_GRID)
    grid = "-" if g == DEFAULT_GRID else f"{g.n_theta}/{g.theta_max:.3g}/{g.n_mu}/{g.n_tau}"
    e = largest_differences(engine, ref, coh)
    a = largest_differences(given, ref, coh)
    MEMO.clear()
    note = f"  ({seconds:.1f} s{'; ' + ', '.join(warned) if warned else ''})"
    return (f"{name:32s}  {n:4d}  {grid:15s}  {e[0]:.0e} / {e[1]:.0e}  "
            f"{a[0]:.0e} / {a[1]:.0e}{note}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", default="40,100", help="patients per cohort, comma-separated")
    parser.add_argument("--only", default="", help="run the regimes whose name contains this")
    args = parser.parse_args()
    sizes = [int(x) for x in args.n.split(",")]
    print(f"{'regime':32s}  {'n':>4s}  {'grid':15s}  {'engine':15s}  given", flush=True)
    with limit_memory("16G"):
        for name in REGIMES:
            if args.only in name:
                for n in sizes:
                    print(run(name, n), flush=True)


if __name__ == "__main__":
    main()
