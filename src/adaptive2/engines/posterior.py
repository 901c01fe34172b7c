"""Posteriors of borrowing models for observed data, and over whole outcome lattices.

The public face of the quadrature kernel (:mod:`adaptive2.kernels.quadrature`)
with the default grid: :func:`posterior` summarises every cohort's response
rate for one data set (``adaptive2.posterior``), :func:`posterior_density` gives
one cohort's density, :func:`lattice` the posterior probabilities of every
outcome at given sample sizes, and :func:`predictive` the posterior predictive
of a cohort's future responses.

The posterior of one data set is one quadrature at that data set alone (each
cohort's marginal at its observed count), not the lattice at the observed sizes:
its size guard (:func:`adaptive2.kernels.sizes.data_set_cost`) grows with the
number of cohorts, not with Π (n_j + 1).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from adaptive2._base.resources import one_blas_thread, require_memory
from adaptive2.engines.sizes import REMEDY_GRID
from adaptive2.kernels import posterior_summaries, quadrature
from adaptive2.kernels.quadrature import LatticeResult
from adaptive2.kernels.sizes import FLOAT, Cost, data_set_cost, quadrature_cost
from adaptive2.model.hierarchical import DEFAULT_GRID, Cohort, Model, QuadratureGrid

__all__ = ["LatticeResult", "lattice", "posterior", "posterior_density", "predictive"]


def _guard(job: str, cost: Cost, cohorts: Sequence[Cohort], sizes: Sequence[int]) -> None:
    """Refuse a quadrature job whose estimated memory is over the limit."""
    where = ", ".join(f"{c.name} {n}" for c, n in zip(cohorts, sizes, strict=False))
    require_memory(cost.nbytes, f"{job} of {len(sizes)} cohorts ({where} patients)", REMEDY_GRID,
                   seconds=cost.seconds)


def _data_sizes(cohorts: Sequence[Cohort], data: Mapping[str, Any]) -> list[int] | None:
    """Each cohort's n in ``data``, or None if ``data`` is malformed (the kernel says why)."""
    try:
        return [max(int(data.get(c.name, (0, 0))[1]), 0) for c in cohorts]
    except (TypeError, ValueError, IndexError, KeyError, AttributeError):
        return None


def _posterior_guard(
    model: Model, cohorts: Sequence[Cohort], data: Mapping[str, Any], grid: QuadratureGrid
) -> None:
    """Refuse the posterior of one data set (one quadrature, no lattice) over the limit."""
    sizes = _data_sizes(cohorts, data)
    if sizes is not None and len(cohorts) > 0:
        _guard("the posterior", data_set_cost(model, cohorts, sizes, grid), cohorts, sizes)


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
    _posterior_guard(model, cohorts, data, grid)
    with one_blas_thread():  # a few rows times the kernels: see one_blas_thread
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
    _posterior_guard(model, cohorts, data, grid)
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
    sizes = [int(x) for x in n]
    _guard("the outcome lattice", quadrature_cost(model, cohorts, sizes, grid), cohorts, sizes)
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
    names = [c.name for c in cohorts]
    if cohort in names and len(n) == len(names):
        j = names.index(cohort)
        sizes = [int(x) + (int(m) if i == j else 0) for i, x in enumerate(n)]
        # the lattice with cohort j m patients further, and 4 arrays of (lattice at n, m + 1)
        table = FLOAT * 4 * math.prod(int(x) + 1 for x in n) * (int(m) + 1)
        cost = quadrature_cost(model, cohorts, sizes, grid).holding(table)
        _guard("the posterior predictive", cost, cohorts, sizes)
    return quadrature.predictive(model, cohorts, n, cohort=cohort, m=m, grid=grid)
