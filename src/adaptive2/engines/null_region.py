"""Type I error of multi-cohort designs over the whole null region, computed exactly.

Under borrowing, the chance that a null cohort j is declared efficacious depends
on the other cohorts' true rates. The claim "type I error ≤ α" must hold for
every configuration the design allows, so for each cohort j this module finds

    sup { P(cohort j declared efficacious | p) :
          p_j ∈ [0, p0_j],  p_k ∈ [lo_k, hi_k] for k ≠ j },

where [lo_k, hi_k] is cohort k's plausible range (``[cohorts.NAME] range`` in a
design file; default [0, 1], i.e. anywhere). Where a range is declared, the
supremum with the neighbours anywhere in [0, 1] is reported beside it: the
inflation the protocol accepts outside the range. It also finds the supremum of the
family-wise error rate, P(any null cohort declared efficacious), over every
configuration with at least one null cohort (null cohorts anywhere in
[0, p0_j], the others anywhere in their range above their p0), and the FWER at
the global null (every cohort at its p0).

Method. Every probability here is a polynomial in the true rates, computed
exactly by the lattice dynamic programme of :mod:`adaptive2.model.cohorts`
(the decision tables do not depend on the rates, so a whole batch of rate
vectors runs through one programme). The search evaluates a coarse grid (by
default steps of 0.01 on the neighbours' rates and 11 points on [0, p0_j] for
two cohorts; 0.05 and 6 points for three or more), then refines from the best
local maxima of the grid by successively finer grids around the best point
(each level 9 points per axis over ± the previous spacing, clipped to the
region) until the spacing is below ``tol`` (1e-4). Coordinates are reported at
that resolution; the probabilities are exact at the reported point, so the
supremum is bracketed from below by the reported value and the grid search
leaves only the gap between the found local maximum and a sharper one missed
by every start. The brute-force checks in the test suite bound that gap.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np

from adaptive2._base.resources import require_memory
from adaptive2._base.validation import check_int, check_real, fail
from adaptive2.engines.cohort_exact import efficacy_matrix
from adaptive2.engines.sizes import REMEDY_COHORTS
from adaptive2.kernels.sizes import Cost, cohort_cost
from adaptive2.model.cohorts import CohortDesign, _ranges

__all__ = ["CohortSupremum", "NullRegion", "null_region"]


@dataclass(frozen=True)
class CohortSupremum:
    """The null-region worst case of one cohort's type I error.

    Attributes
    ----------
    cohort : str
    p0 : float
    max_type1 : float
        Supremum of P(cohort declared efficacious) over the null region.
    argmax : dict
        Cohort → true rate where it is attained (resolution ``tol``).
    grid_max : float
        Largest value on the coarse grid (before refinement).
    surface : xarray.DataArray
        P(efficacy) of this cohort on the coarse grid: one dimension per cohort
        (named after it), this cohort's on [0, p0], the others' on their range.
    anywhere : float or None
        When a neighbour's range is restricted: the supremum with every neighbour
        anywhere in [0, 1], i.e. the inflation the declared range accepts outside it.
    argmax_anywhere : dict or None
        Where that one sits.
    """

    cohort: str
    p0: float
    max_type1: float
    argmax: dict[str, float]
    grid_max: float
    surface: Any = field(repr=False)
    anywhere: float | None = None
    argmax_anywhere: dict[str, float] | None = None

    def curve(self, against: str) -> Any:
        """Type I error against cohort ``against``'s rate: the sup over every other axis."""
        if against == self.cohort or against not in self.surface.dims:
            others = [d for d in self.surface.dims if d != self.cohort]
            raise fail("against", "CohortSupremum.curve", f"one of {others}", against)
        rest = [d for d in self.surface.dims if d != against]
        return self.surface.max(dim=rest)


@dataclass(frozen=True)
class NullRegion:
    """Result of :func:`null_region`.

    Attributes
    ----------
    design, design_hash : str
    alpha : float or None
        The design's claimed type I error (its ``alpha``), if any.
    ranges : dict
        Cohort → (low, high) plausible range used for it as a neighbour.
    cohorts : dict
        Cohort → :class:`CohortSupremum`.
    max_fwer : float or None
        Supremum of the FWER over configurations with at least one null cohort
        (``None`` when not computed).
    argmax_fwer : dict or None
        Rates where it is attained, and which cohorts are null there.
    fwer_global_null : float or None
        P(any cohort declared efficacious) with every cohort at its p0.
    tol : float
        Resolution of the refined argmax.
    evaluations : int
        Rate vectors evaluated exactly.
    wall_time_s : float
    """

    design: str
    design_hash: str
    alpha: float | None
    ranges: dict[str, tuple[float, float]]
    cohorts: dict[str, CohortSupremum]
    max_fwer: float | None
    argmax_fwer: dict[str, Any] | None
    fwer_global_null: float | None
    tol: float
    evaluations: int
    wall_time_s: float

    @property
    def max_type1(self) -> float:
        """Largest per-cohort supremum."""
        return max(c.max_type1 for c in self.cohorts.values())

    def within(self, alpha: float | None = None) -> dict[str, bool]:
        """Say per cohort whether the supremum is at most ``alpha`` (default the design's)."""
        a = self.alpha if alpha is None else alpha
        if a is None:
            raise fail("alpha", "NullRegion.within", "a probability (the design has none)", a)
        return {k: c.max_type1 <= a + 1e-12 for k, c in self.cohorts.items()}

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready dict of ``adaptive2 oc DESIGN --null-region --json``."""
        out: dict[str, Any] = {
            "design": self.design,
            "design_hash": self.design_hash,
            "method": "exact",
            "alpha": self.alpha,
            "cohorts": {
                k: {
                    "p0": c.p0,
                    "max_type1": c.max_type1,
                    "argmax": c.argmax,
                    "grid_max": c.grid_max,
                    "max_type1_anywhere": c.anywhere,
                    "argmax_anywhere": c.argmax_anywhere,
                    **(
                        {"within_alpha": bool(c.max_type1 <= self.alpha + 1e-12)}
                        if self.alpha is not None
                        else {}
                    ),
                    "curves": {
                        o: {
                            "rate": [float(x) for x in c.curve(o)[o].values],
                            "type1": [float(x) for x in c.curve(o).values],
                        }
                        for o in c.surface.dims
                        if o != k
                    },
                }
                for k, c in self.cohorts.items()
            },
            "max_fwer": self.max_fwer,
            "argmax_fwer": self.argmax_fwer,
            "fwer_global_null": self.fwer_global_null,
            "ranges": {k: list(v) for k, v in self.ranges.items()},
            "tolerance": self.tol,
            "evaluations": self.evaluations,
            "wall_time_s": self.wall_time_s,
        }
        return out

    def table(self) -> Any:
        """One row per cohort: p0, the supremum, where it sits, and the claim."""
        import pandas as pd

        rows = []
        for k, c in self.cohorts.items():
            where = ", ".join(f"{n} = {v:.4f}" for n, v in c.argmax.items())
            row: dict[str, Any] = {
                "cohort": k,
                "p0": c.p0,
                "max type I error": c.max_type1,
                "attained at": where,
                "neighbour range": ", ".join(
                    f"{n} in [{lo:g}, {hi:g}]" for n, (lo, hi) in self.ranges.items() if n != k
                ),
            }
            if c.anywhere is not None:
                row["outside the range: max"] = c.anywhere
                row["outside the range: at"] = ", ".join(
                    f"{n} = {v:.4f}" for n, v in (c.argmax_anywhere or {}).items()
                )
            if self.alpha is not None:
                row["alpha"] = self.alpha
                row["within alpha"] = c.max_type1 <= self.alpha + 1e-12
            rows.append(row)
        return pd.DataFrame(rows)


# ---------------------------------------------------------------------------
# The search
# ---------------------------------------------------------------------------
class _Counter:
    def __init__(self, design: CohortDesign) -> None:
        self.design = design
        self.n = 0

    def matrix(self, rates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        self.n += len(rates)
        return efficacy_matrix(self.design, rates)


def _grid_axis(lo: float, hi: float, step: float, extra: Sequence[float] = ()) -> np.ndarray:
    n = max(2, round((hi - lo) / step) + 1)
    pts = np.linspace(lo, hi, n)
    pts = np.concatenate([pts, [x for x in extra if lo <= x <= hi]])
    return np.unique(np.round(pts, 12))


def _objective(E: np.ndarray, cols: Sequence[int]) -> np.ndarray:
    """Indicator per terminal state: any cohort in ``cols`` declared efficacious."""
    return E[:, list(cols)].any(axis=1).astype(float)


def _evaluate(counter: _Counter, axes: list[np.ndarray], cols: Sequence[int]) -> np.ndarray:
    mesh = np.meshgrid(*axes, indexing="ij")
    rates = np.stack([m.ravel() for m in mesh], axis=1)
    T, E = counter.matrix(rates)
    return cast(np.ndarray, (T @ _objective(E, cols)).reshape(mesh[0].shape))


def _local_maxima(values: np.ndarray, k: int) -> list[tuple[int, ...]]:
    """Indices of up to ``k`` largest grid points that are not below any neighbour."""
    from scipy.ndimage import maximum_filter

    peak = values >= maximum_filter(values, size=3, mode="nearest") - 1e-15
    idx = np.argwhere(peak)
    order = np.argsort([-values[tuple(i)] for i in idx], kind="stable")
    return [tuple(int(x) for x in idx[i]) for i in order[:k]]


def _refine(
    counter: _Counter,
    x0: np.ndarray,
    f0: float,
    bounds: list[tuple[float, float]],
    spacing: np.ndarray,
    cols: Sequence[int],
    tol: float,
) -> tuple[np.ndarray, float]:
    """Zoom in around ``x0``: 9 points per axis over ± ``spacing``, then spacing / 4."""
    x, fx = x0.copy(), f0
    h = spacing.astype(float).copy()
    while True:
        axes = [
            np.unique(np.clip(np.linspace(xi - hi, xi + hi, 9), lo, up))
            for xi, hi, (lo, up) in zip(x, h, bounds, strict=True)
        ]
        vals = _evaluate(counter, axes, cols)
        i = np.unravel_index(int(np.argmax(vals)), vals.shape)
        if vals[i] > fx:
            x = np.array([a[k] for a, k in zip(axes, i, strict=True)])
            fx = float(vals[i])
        if np.all(h / 4 < tol):
            return x, fx
        h = h / 4


def _search(
    counter: _Counter,
    axes: list[np.ndarray],
    bounds: list[tuple[float, float]],
    cols: Sequence[int],
    tol: float,
    starts: int,
) -> tuple[np.ndarray, float, float, np.ndarray]:
    """Grid, then refinement from the best local maxima: (argmax, max, grid max, grid)."""
    vals = _evaluate(counter, axes, cols)
    spacing = np.array([np.max(np.diff(a)) if len(a) > 1 else 0.0 for a in axes])
    best_x, best_f = np.zeros(len(axes)), -1.0
    for idx in _local_maxima(vals, starts):
        x0 = np.array([a[i] for a, i in zip(axes, idx, strict=True)])
        x, fx = _refine(counter, x0, float(vals[idx]), bounds, spacing, cols, tol)
        if fx > best_f:
            best_x, best_f = x, fx
    return best_x, best_f, float(vals.max()), vals


def null_region_cost(
    design: CohortDesign,
    ranges: Mapping[str, tuple[float, float]] | None,
    n_cohorts: int,
    fwer: bool,
    step: float,
    own_points: int,
    tol: float,
    starts: int,
) -> Cost:
    """Estimated cost of :func:`null_region` from its sizes (nothing is evaluated).

    Parameters
    ----------
    design : CohortDesign
    ranges : mapping or None
        Neighbour ranges as given to :func:`null_region` (None: the design's).
    n_cohorts : int
        Cohorts whose type I error is maximised.
    fwer : bool
        Whether the FWER is searched too (one search per set of null cohorts).
    step, own_points, tol, starts
        The search settings of :func:`null_region`.

    Returns
    -------
    Cost
        The largest coarse grid (own points times every neighbour's grid over
        its range, or over [0, 1]) is one batch of rate vectors through the
        lattice programme; each search then refines from ``starts`` points with
        9 points per axis and level, until the spacing is below ``tol``.
    """
    names = design.names
    rng = dict(design.ranges if ranges is None else _ranges(ranges, names, "null_region"))
    axis = [max(2, round((hi - lo) / step) + 1) + 1 for lo, hi in (rng[n] for n in names)]
    anywhere = max(2, round(1.0 / step) + 1) + 1
    restricted = any(rng[n] != (0.0, 1.0) for n in names)
    grid = own_points * max(
        math.prod(anywhere if restricted else axis[i] for i in range(len(names)) if i != j)
        for j in range(len(names))
    )
    searches = n_cohorts * (2 if restricted else 1) + (2 ** len(names) - 1 if fwer else 0)
    levels = max(1, math.ceil(math.log(max(step, tol) / tol, 4)) + 1)
    setup = cohort_cost(design, dp=False)
    coarse = cohort_cost(design, rates=grid, dp_runs=searches)
    fine = cohort_cost(design, rates=9 ** len(names), dp_runs=searches * starts * levels)
    return Cost(max(coarse.nbytes, fine.nbytes), coarse.seconds + fine.seconds - setup.seconds)


def null_region(
    design: CohortDesign,
    *,
    ranges: Mapping[str, tuple[float, float]] | None = None,
    cohorts: Sequence[str] | None = None,
    fwer: bool = True,
    step: float | None = None,
    own_points: int | None = None,
    tol: float = 1e-4,
    starts: int = 3,
) -> NullRegion:
    """Supremum of each cohort's type I error (and of the FWER) over the null region.

    Parameters
    ----------
    design : CohortDesign
    ranges : mapping cohort → (low, high), optional
        Plausible range of each cohort's rate as a neighbour; default the
        design's ``ranges`` ([0, 1] unless declared).
    cohorts : sequence of str, optional
        Cohorts whose type I error to maximise (default all).
    fwer : bool
        Also compute the FWER supremum and the FWER at the global null.
    step : float, optional
        Coarse grid step on the neighbours' rates (default 0.01 for two
        cohorts, 0.05 for more).
    own_points : int, optional
        Coarse grid points on [0, p0_j] (default 11 for two cohorts, 6 for more).
    tol : float
        Resolution of the refined argmax (default 1e-4).
    starts : int
        Local maxima of the coarse grid refined (default 3).

    Returns
    -------
    NullRegion

    Raises
    ------
    ResourceError
        If the job's estimated memory is over the limit (``--max-memory``,
        :func:`adaptive2.set_memory_limit`): refused before anything is computed.

    Notes
    -----
    See the module notes for the method. Every probability is exact (no Monte
    Carlo); ``max_type1`` is attained at ``argmax``.
    """
    owner = "null_region"
    if not isinstance(design, CohortDesign):
        raise fail("design", owner, "a CohortDesign", type(design).__name__)
    t0 = time.perf_counter()
    names = design.names
    J = len(names)
    rng: dict[str, tuple[float, float]] = dict(
        design.ranges if ranges is None else _ranges(ranges, names, owner)
    )
    chosen = list(names if cohorts is None else cohorts)
    for c in chosen:
        if c not in names:
            raise fail("cohorts", owner, f"cohort names from {names}", c)
    step = check_real(
        step if step is not None else (0.01 if J == 2 else 0.05),
        "step", owner, low=1e-3, high=0.5,
    )
    own_points = check_int(
        own_points if own_points is not None else (11 if J == 2 else 6),
        "own_points", owner, low=2,
    )
    tol = check_real(tol, "tol", owner, low=1e-7, high=0.05)
    starts = check_int(starts, "starts", owner, low=1)
    p0 = [c.p0 for c in design.cohorts]
    cost = null_region_cost(design, rng, len(chosen), fwer, step, own_points, tol, starts)
    sizes = ", ".join(str(c.looks[-1]) for c in design.cohorts)
    require_memory(
        cost.nbytes,
        f"the null-region search of {J}-cohort design {design.name!r} ({sizes} patients)",
        REMEDY_COHORTS,
        seconds=cost.seconds,
    )
    counter = _Counter(design)

    def null_axis(i: int) -> np.ndarray:
        return np.linspace(0.0, p0[i], own_points)

    results: dict[str, CohortSupremum] = {}
    import xarray as xr

    for name in chosen:
        j = names.index(name)
        axes = [null_axis(i) if i == j else _grid_axis(*rng[n], step, [p0[i]])
                for i, n in enumerate(names)]
        bounds = [(0.0, p0[i]) if i == j else rng[n] for i, n in enumerate(names)]
        x, fx, gmax, vals = _search(counter, axes, bounds, [j], tol, starts)
        surface = xr.DataArray(
            vals, dims=names, coords={n: a for n, a in zip(names, axes, strict=True)},
            name="type1",
        )
        anywhere = where_anywhere = None
        if any(rng[n] != (0.0, 1.0) for i, n in enumerate(names) if i != j):
            axes = [null_axis(i) if i == j else _grid_axis(0.0, 1.0, step, [p0[i]])
                    for i in range(J)]
            bounds = [(0.0, p0[i]) if i == j else (0.0, 1.0) for i in range(J)]
            xa, anywhere, _, _ = _search(counter, axes, bounds, [j], tol, starts)
            anywhere = max(anywhere, fx)
            where_anywhere = {n: float(v) for n, v in zip(names, xa, strict=True)}
        results[name] = CohortSupremum(
            cohort=name, p0=p0[j], max_type1=fx,
            argmax={n: float(v) for n, v in zip(names, x, strict=True)},
            grid_max=gmax, surface=surface, anywhere=anywhere, argmax_anywhere=where_anywhere,
        )

    max_fwer = argmax_fwer = fwer_null = None
    if fwer:
        T, E = counter.matrix(np.array([p0]))
        fwer_null = float((T @ _objective(E, range(J)))[0])
        max_fwer = -1.0
        for size in range(1, J + 1):
            for S in itertools.combinations(range(J), size):
                others = [i for i in range(J) if i not in S]
                if any(rng[names[i]][1] < p0[i] for i in others):
                    continue  # that cohort cannot be above its p0 within its range
                axes, bounds = [], []
                for i, n in enumerate(names):
                    if i in S:
                        axes.append(null_axis(i))
                        bounds.append((0.0, p0[i]))
                    else:
                        lo = max(rng[n][0], p0[i])
                        axes.append(_grid_axis(lo, rng[n][1], step))
                        bounds.append((lo, rng[n][1]))
                x, fx, _, _ = _search(counter, axes, bounds, S, tol, starts)
                if fx > max_fwer:
                    max_fwer = fx
                    argmax_fwer = {
                        "rates": {n: float(v) for n, v in zip(names, x, strict=True)},
                        "null_cohorts": [names[i] for i in S],
                    }
    return NullRegion(
        design=design.name,
        design_hash=design.hash,
        alpha=design.alpha,
        ranges=rng,
        cohorts=results,
        max_fwer=max_fwer,
        argmax_fwer=argmax_fwer,
        fwer_global_null=fwer_null,
        tol=tol,
        evaluations=counter.n,
        wall_time_s=round(time.perf_counter() - t0, 6),
    )

