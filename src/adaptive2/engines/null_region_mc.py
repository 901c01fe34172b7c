"""Type I error over the null region by simulation, for designs beyond the exact lattice.

The exact search (:func:`adaptive2.engines.null_region.null_region`) needs the
joint outcome lattice, within reach up to about three cohorts. For more, each
cohort j's worst case

    sup { P(cohort j declared efficacious | p) : p_j ≤ p0_j, p_k ∈ [lo_k, hi_k], k ≠ j }

is estimated by simulation over a design of points: cohort j at its p0 (the
decisions of a cohort are monotone in its own responses, so its type I error
grows with its own rate), the other cohorts' rates at the points of a
scrambled Sobol sequence over their plausible ranges plus the two corners (all
at their lows, all at their highs). Every point is simulated
(:func:`adaptive2.engines.cohort_montecarlo.cohort_simulate`, Monte Carlo over
outcomes with quadrature posteriors); the largest estimate is biased upwards
by the selection, so the point that gives it is simulated again with fresh
random numbers and more trials, and that confirmed value, with its MCSE, is
the reported worst case. It is a lower bound of the true supremum up to Monte
Carlo error (a sharper maximum between the points can be missed); the
screening maximum is reported beside it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from adaptive2._base.provenance import provenance
from adaptive2._base.rng import seed_sequence
from adaptive2._base.validation import check_int, fail
from adaptive2.engines.cohort_montecarlo import cohort_simulate
from adaptive2.model.cohorts import CohortDesign
from adaptive2.model.scenarios import Scenario

__all__ = ["SimulatedNullRegion", "SimulatedSupremum", "null_region_simulated"]


@dataclass(frozen=True)
class SimulatedSupremum:
    """One cohort's simulated worst-case type I error over the null region.

    Attributes
    ----------
    cohort : str
    p0 : float
    max_type1, mcse : float
        The confirmed estimate at the worst point, and its Monte Carlo standard error.
    argmax : dict
        Cohort → true rate at the worst point (this cohort at its p0).
    screened_max, screened_mcse : float
        The largest screening estimate (biased upwards by the selection) and its MCSE.
    """

    cohort: str
    p0: float
    max_type1: float
    mcse: float
    argmax: dict[str, float]
    screened_max: float
    screened_mcse: float


@dataclass(frozen=True)
class SimulatedNullRegion:
    """Result of :func:`null_region_simulated` (see the module docstring)."""

    design: str
    design_hash: str
    alpha: float | None
    ranges: dict[str, tuple[float, float]]
    cohorts: dict[str, SimulatedSupremum]
    points: int
    n_sims: int
    confirm_sims: int
    attrs: dict[str, Any]

    @property
    def max_type1(self) -> float:
        """Largest per-cohort confirmed estimate."""
        return max(c.max_type1 for c in self.cohorts.values())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of ``adaptive2 oc DESIGN --null-region --simulate --json``."""
        return {
            "design": self.design,
            "design_hash": self.design_hash,
            "method": "monte_carlo",
            "alpha": self.alpha,
            "cohorts": {
                k: {
                    "p0": c.p0,
                    "max_type1": c.max_type1,
                    "max_type1_mcse": c.mcse,
                    "argmax": c.argmax,
                    "screened_max": c.screened_max,
                    "screened_mcse": c.screened_mcse,
                    **({"within_alpha": bool(c.max_type1 <= self.alpha)}
                       if self.alpha is not None else {}),
                }
                for k, c in self.cohorts.items()
            },
            "ranges": {k: list(v) for k, v in self.ranges.items()},
            "points": self.points,
            "n_sims": self.n_sims,
            "confirm_sims": self.confirm_sims,
            "seed_entropy": self.attrs["seed_entropy"],
            "wall_time_s": self.attrs["wall_time_s"],
        }


def _points(design: CohortDesign, j: int, n_points: int, rng: np.random.Generator) -> np.ndarray:
    """Rate vectors: cohort j at its p0, the others at Sobol points and the two corners."""
    from scipy.stats import qmc  # only the simulated search needs it

    others = [k for k in range(len(design.cohorts)) if k != j]
    lo = np.array([design.range_of(design.names[k])[0] for k in others])
    hi = np.array([design.range_of(design.names[k])[1] for k in others])
    sobol = qmc.Sobol(d=len(others), scramble=True, seed=rng).random(n_points)
    unit = np.vstack([np.zeros(len(others)), np.ones(len(others)), sobol])
    rates = np.empty((len(unit), len(design.cohorts)))
    rates[:, j] = design.cohorts[j].p0
    rates[:, others] = lo + unit * (hi - lo)
    return np.round(rates, 6)  # rates as written in the result (and the stream keys)


def _scenarios(design: CohortDesign, rates: np.ndarray) -> list[Scenario]:
    return [
        Scenario(f"point {i + 1}", rates=dict(zip(design.names, map(float, row), strict=True)))
        for i, row in enumerate(rates)
    ]


def null_region_simulated(
    design: CohortDesign,
    *,
    points: int = 64,
    n_sims: int = 2_000,
    confirm_sims: int = 20_000,
    seed: int | np.random.SeedSequence | None = None,
) -> SimulatedNullRegion:
    """Each cohort's worst-case type I error over the null region, by simulation.

    Parameters
    ----------
    design : CohortDesign
        With posterior-probability, BOP2 or boundary rules (those
        :func:`~adaptive2.engines.cohort_montecarlo.cohort_simulate` runs).
    points : int
        Sobol points over the other cohorts' ranges (plus the two corners).
    n_sims : int
        Simulated trials per point in the screening.
    confirm_sims : int
        Simulated trials at the worst point (fresh random numbers).
    seed : int or SeedSequence, optional
        Root seed (recorded; ``None`` draws one).

    Returns
    -------
    SimulatedNullRegion
    """
    owner = "null_region_simulated"
    if not isinstance(design, CohortDesign):
        raise fail("design", owner, "a multi-cohort CohortDesign", type(design).__name__)
    points = check_int(points, "points", owner, low=1)
    n_sims = check_int(n_sims, "n_sims", owner, low=1)
    confirm_sims = check_int(confirm_sims, "confirm_sims", owner, low=1)
    t0 = time.perf_counter()
    root = seed_sequence(seed)
    out: dict[str, SimulatedSupremum] = {}
    for j, (name, child) in enumerate(zip(design.names, root.spawn(len(design.names)),
                                          strict=True)):
        pick, screen, confirm = child.spawn(3)
        rates = _points(design, j, points, np.random.default_rng(pick))
        scen = _scenarios(design, rates)
        res = cohort_simulate(design, scen, n_sims=n_sims, seed=screen)
        values = res["p_efficacy"][:, j]
        best = int(np.argmax(values))
        again = cohort_simulate(design, [scen[best]], n_sims=confirm_sims, seed=confirm)
        out[name] = SimulatedSupremum(
            cohort=name,
            p0=float(design.cohorts[j].p0),
            max_type1=float(again["p_efficacy"][0, j]),
            mcse=float(again["p_efficacy_mcse"][0, j]),
            argmax=dict(zip(design.names, map(float, rates[best]), strict=True)),
            screened_max=float(values[best]),
            screened_mcse=float(res["p_efficacy_mcse"][best, j]),
        )
    return SimulatedNullRegion(
        design=design.name,
        design_hash=design.hash,
        alpha=design.alpha,
        ranges={n: design.range_of(n) for n in design.names},
        cohorts=out,
        points=points + 2,
        n_sims=n_sims,
        confirm_sims=confirm_sims,
        attrs=provenance(method="monte_carlo", design_name=design.name,
                         design_hash=design.hash, seed_entropy=str(root.entropy),
                         wall_time_s=round(time.perf_counter() - t0, 3)),
    )
