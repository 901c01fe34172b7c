"""Posteriors of borrowing models for observed data, and over whole outcome lattices.

The public face of the quadrature kernel (:mod:`adaptive2.kernels.quadrature`)
with the default grid: :func:`posterior` summarises every cohort's response
rate for one data set (``adaptive2.posterior``), :func:`posterior_density` gives
one cohort's density, :func:`lattice` the posterior probabilities of every
outcome at given sample sizes, and :func:`predictive` the posterior predictive
of a cohort's future responses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from adaptive2.kernels import posterior_summaries, quadrature
from adaptive2.kernels.quadrature import LatticeResult
from adaptive2.model.hierarchical import DEFAULT_GRID, Cohort, Model, QuadratureGrid

__all__ = ["LatticeResult", "lattice", "posterior", "posterior_density", "predictive"]


def posterior(
    model: Model,
    cohorts: Sequence[Cohort],
    data: Mapping[str, tuple[int, int]],
    *,
    level: float = 0.95,
    grid: QuadratureGrid = DEFAULT_GRID,
) -> dict[str, dict[str, Any]]:
    """Posterior summaries of every cohort's response rate for observed data.

    Parameters
    ----------
    model : Model
    cohorts : sequence of Cohort
    data : mapping
        Cohort → (r, n); cohorts without data may be omitted (n = 0).
    level : float
        Credible level of the equal-tailed interval.
    grid : QuadratureGrid

    Returns
    -------
    dict
        Cohort → ``{"mean", "sd", "median", "interval": [lo, hi], "p_above_p0",
        "r", "n"}``.

    Examples
    --------
    >>> from adaptive2 import Cohort, Model
    >>> post = posterior(Model(kind="independent"), (Cohort("a", 0.2, 0.4, (20,)),),
    ...                  {"a": (8, 20)})
    >>> round(post["a"]["p_above_p0"], 3)
    0.974
    """
    return posterior_summaries.posterior(model, cohorts, data, level=level, grid=grid)


def posterior_density(
    model: Model,
    cohorts: Sequence[Cohort],
    data: Mapping[str, tuple[int, int]],
    cohort: str,
    *,
    grid: QuadratureGrid = DEFAULT_GRID,
) -> tuple[np.ndarray, np.ndarray]:
    """Posterior density of one cohort's response rate on the quadrature nodes.

    See :func:`adaptive2.kernels.posterior_summaries.posterior_density`.
    """
    return posterior_summaries.posterior_density(model, cohorts, data, cohort, grid=grid)


def lattice(
    model: Model,
    cohorts: Sequence[Cohort],
    n: Sequence[int],
    *,
    thresholds: Mapping[str, float] | None = None,
    grid: QuadratureGrid = DEFAULT_GRID,
) -> LatticeResult:
    """P(p_j > threshold_j | data) and posterior means for every outcome at sizes ``n``.

    See :func:`adaptive2.kernels.quadrature.lattice`.
    """
    return quadrature.lattice(model, cohorts, n, thresholds=thresholds, grid=grid)


def predictive(
    model: Model,
    cohorts: Sequence[Cohort],
    n: Sequence[int],
    *,
    cohort: str,
    m: int,
    grid: QuadratureGrid = DEFAULT_GRID,
) -> np.ndarray:
    """Posterior predictive of the responses among ``cohort``'s next ``m`` patients.

    See :func:`adaptive2.kernels.quadrature.predictive`.
    """
    return quadrature.predictive(model, cohorts, n, cohort=cohort, m=m, grid=grid)
