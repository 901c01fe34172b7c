"""Posterior summaries of every cohort for one observed data set, by the quadrature engine.

The same engine as :mod:`adaptive2.kernels.quadrature` (its (μ, τ) grid, θ nodes and
marginal likelihoods), read at one outcome instead of over the whole lattice: the
posterior mean, sd, median and equal-tailed interval of each cohort's response
rate, P(p > p0 | data), and the posterior density on the θ nodes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

import numpy as np
from scipy import special

from adaptive2._base.parallel import side_by_side
from adaptive2._base.validation import check_int, check_probability, fail
from adaptive2.kernels.quadrature import _Engine, _row_pieces, engine, lattice, marginal

__all__ = ["p_above", "posterior", "posterior_density"]

Model = Any  # adaptive2.model.hierarchical.Model (kernels read attributes only)
Cohort = Any  # adaptive2.model.hierarchical.Cohort
QuadratureGrid = Any  # adaptive2.model.hierarchical.QuadratureGrid


def posterior(
    model: Model,
    cohorts: Sequence[Cohort],
    data: Mapping[str, tuple[int, int]],
    *,
    level: float = 0.95,
    grid: QuadratureGrid,
) -> dict[str, dict[str, Any]]:
    """Posterior summaries of every cohort's response rate for observed data.

    One quadrature for the one data set: each cohort's marginal at its observed r
    only, never the outcome lattice at the observed sizes (whose entry at the data
    the figures equal).

    Parameters
    ----------
    data : mapping
        Cohort → (r, n); cohorts without data may be omitted (n = 0).

    Returns
    -------
    dict
        Cohort → ``{"mean", "sd", "median", "interval": [lo, hi], "p_above_p0",
        "r", "n"}``. The mean and P(p > p0) are the lattice's (Richardson-extrapolated,
        exact τ → 0 columns); the sd, median and interval come from the posterior
        masses of the θ nodes (:func:`posterior_density`).
    """
    coh = tuple(cohorts)
    rn = _data_pairs(coh, data, "posterior")
    level = check_probability(level, "level", "posterior")
    eng = engine(model, coh, grid)
    # each cohort's row at its data, side by side (kept in the memo; the lattice reads them)
    side_by_side(lambda j: marginal(eng, coh[j].name, rn[j][1], coh[j].p0, rows=[rn[j][0]]),
                 len(coh))
    at = lattice(model, coh, [n for _, n in rn], rows=[[r] for r, _ in rn], grid=grid)
    base, marg = _base_and_marginals(eng, coh, rn)
    masses = _theta_masses(eng, coh, rn, range(len(coh)), base, marg)
    out = {}
    for j, c in enumerate(coh):
        r, n = rn[j]
        dens = masses[:, j]
        off = eng.offset[c.name]
        p = special.expit(eng.theta + off)
        mass_mean = float((dens * p).sum())
        sd = float(np.sqrt(max((dens * p**2).sum() - mass_mean**2, 0.0)))
        cdf_edges = np.concatenate([[0.0], np.cumsum(dens)])

        def q(x: float, cdf_edges: np.ndarray = cdf_edges, off: float = off) -> float:
            # piecewise-constant density within cells: linear CDF between cell edges
            return float(special.expit(np.interp(x, cdf_edges, eng.edges) + off))

        out[c.name] = {
            "r": r,
            "n": n,
            "mean": float(at.mean[c.name].ravel()[0]),
            "sd": sd,
            "median": q(0.5),
            "interval": [q((1 - level) / 2), q((1 + level) / 2)],
            "p_above_p0": float(at.p_above[c.name].ravel()[0]),
        }
    return out


def p_above(
    model: Model,
    cohorts: Sequence[Cohort],
    data: Mapping[str, tuple[int, int]],
    thresholds: Mapping[str, float],
    *,
    grid: QuadratureGrid,
) -> dict[str, float]:
    """P(p_j > threshold_j | data) of every cohort in ``thresholds``, for observed data.

    The entry of :func:`adaptive2.kernels.quadrature.lattice` at the data,
    computed for that data set alone.

    Parameters
    ----------
    data : mapping
        Cohort → (r, n); cohorts without data may be omitted (n = 0).
    thresholds : mapping
        Cohort → threshold (cohorts left out are not reported).

    Returns
    -------
    dict
        Cohort → probability.
    """
    coh = tuple(cohorts)
    rn = _data_pairs(coh, data, "p_above")
    at = lattice(model, coh, [n for _, n in rn], rows=[[r] for r, _ in rn],
                 thresholds=thresholds, grid=grid, means=False)
    return {name: float(at.p_above[name].ravel()[0]) for name in thresholds}


def _data_pairs(
    coh: tuple[Cohort, ...], data: Mapping[str, tuple[int, int]], owner: str
) -> list[tuple[int, int]]:
    """Each cohort's (r, n) in ``data`` (0/0 if left out), checked."""
    names = [c.name for c in coh]
    for k in data:
        if k not in names:
            raise fail("data", owner, f"cohort names in {{{', '.join(names)}}}", k)
    rn = []
    for c in coh:
        r, n = data.get(c.name, (0, 0))
        n = check_int(n, f"n ({c.name})", owner, low=0)
        r = check_int(r, f"r ({c.name})", owner, low=0, high=n)
        rn.append((r, n))
    return rn


def _base_and_marginals(
    eng: _Engine, coh: tuple[Cohort, ...], rn: Sequence[tuple[int, int]]
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Hyperprior (with historical strata) and each cohort's marginal at its observed r."""
    base = eng.log_prior + eng._hist[0]
    base = np.exp(base - base.max())
    marg = []
    for c, (r, n) in zip(coh, rn, strict=True):
        row = _row_pieces(eng, c.name, n, c.p0, (r,), means=True)[0][0]  # the lattice's own
        marg.append(row / max(row.max(), 1e-300))
    return base, marg


def _theta_masses(
    eng: _Engine,
    coh: tuple[Cohort, ...],
    rn: Sequence[tuple[int, int]],
    js: Sequence[int],
    base: np.ndarray,
    marg: list[np.ndarray],
) -> np.ndarray:
    """Posterior masses of the θ nodes of cohorts ``js``, given every cohort's data: (θ, js).

    Each column is normalised. The cohorts' EX parts are one pass over the kernels
    (:meth:`~adaptive2.kernels.quadrature._Engine.mix_theta` of a matrix).
    """
    others = np.empty((len(base), len(js)))
    for i, j in enumerate(js):
        col = base.copy()
        for k in range(len(coh)):
            if k != j:
                col *= marg[k]
        others[:, i] = col
    weights = [eng.weights_theta(coh[j].name) for j in js]
    uses_ex = [ex is not None and w_ex > 0 for ex, _, w_ex in weights]
    mixed = eng.mix_theta(others) if any(uses_ex) else None
    masses = np.zeros((len(eng.theta), len(js)))
    for i, j in enumerate(js):
        r, n = rn[j]
        _, nex, w_ex = weights[i]
        mass = masses[:, i]
        if mixed is not None and uses_ex[i]:
            mass += w_ex * mixed[:, i]
        if nex is not None and w_ex < 1:
            mass += (1 - w_ex) * nex * others[:, i].sum()
        mass *= eng.cohort_terms(coh[j].name, n)["lik"][r]
        mass /= mass.sum()
    return masses


def posterior_density(
    model: Model,
    cohorts: Sequence[Cohort],
    data: Mapping[str, tuple[int, int]],
    cohort: str,
    *,
    grid: QuadratureGrid,
) -> tuple[np.ndarray, np.ndarray]:
    """Posterior density of one cohort's response rate on the quadrature nodes.

    The masses are those behind :func:`posterior`; the density of
    p = expit(θ + offset) at node θ_i is m_i / (h p (1 − p)). The two end nodes
    (whose cells reach to ±∞) are dropped. With every ``n = 0`` this is the prior
    of the model (historical strata included).

    Returns
    -------
    (p, density) : tuple of numpy.ndarray
    """
    coh = tuple(cohorts)
    names = [c.name for c in coh]
    if cohort not in names:
        raise fail("cohort", "posterior_density", f"one of {{{', '.join(names)}}}", cohort)
    rn = [cast("tuple[int, int]", tuple(data.get(c.name, (0, 0)))) for c in coh]
    for c, (r, n) in zip(coh, rn, strict=True):
        check_int(n, f"n ({c.name})", "posterior_density", low=0)
        check_int(r, f"r ({c.name})", "posterior_density", low=0, high=n)
    eng = engine(model, coh, grid)
    base, marg = _base_and_marginals(eng, coh, rn)
    j = names.index(cohort)
    mass = _theta_masses(eng, coh, rn, [j], base, marg)[:, 0]
    p = special.expit(eng.theta + eng.offset[cohort])[1:-1]
    return p, mass[1:-1] / (eng.h * p * (1.0 - p))
