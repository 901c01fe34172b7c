"""What the kernels' arrays cost: memory and time estimates from sizes alone.

The size guard (:func:`adaptive2._base.resources.require_memory`) refuses a job
before it allocates, so its estimate must come from the job's sizes (looks,
mixture components, cohorts, quadrature grid, true rates) without computing
anything big. This module holds the estimates of the kernels' arrays, for the
engines and for the value objects that compute tables when they are built:

* :func:`boundary_cost` — compiling a single-cohort design's rules to integer
  boundaries: posterior tail probabilities for every ``r = 0..n`` of a look, and
  for a predictive-probability rule the beta-binomial predictive of every future
  count for every current count, ``(n + 1) × (N − n + 1) × K`` cells per interim
  look (K mixture components);
* :func:`dp_cost` — the forward dynamic programme
  (:func:`adaptive2.kernels.binomial.stop_probabilities`);
* :func:`quadrature_cost` and :func:`cohort_cost` — the quadrature engine
  (:mod:`adaptive2.kernels.quadrature`) on the joint outcome lattice of several
  cohorts, and the exact lattice programme of a multi-cohort design built on it.
  Per cohort and look the quadrature pieces hold about
  ``8 (n + 1) (5 G + 5 G0 + 50 G1 + 8 T)`` bytes while they are computed (G
  columns of the (μ, τ) grid, G0 of them at τ = 0, G1 with 0 < τ below two θ steps,
  integrated by Gauss–Hermite nodes, 24 per column at most on average up to 256 patients
  (:func:`narrow_nodes`), T θ nodes: :func:`grid_columns`), and
  each array on the joint lattice of J cohorts has ``Π (n_j + 1)`` cells.

How the constants were found: each formula counts the arrays alive at the peak, in
units of the job's natural cells, with the number of arrays measured as the peak of
``tracemalloc`` over a range of sizes and rounded up, so the estimates err high (by
1.1x to 2x for jobs big enough to matter; tests/engines/test_size_guard.py checks
measured peaks against them). Times are rough (2x to 5x either way), measured on an
AMD EPYC (2 cores, one BLAS thread, numpy 2.4, Python 3.11).

Value objects are read through their attributes only (as in
:mod:`adaptive2.kernels.quadrature`): nothing here imports the model layer.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from adaptive2._base.cache import MEMO
from adaptive2.kernels import quadrature

__all__ = [
    "FLOAT",
    "Columns",
    "Cost",
    "analysis_cost",
    "boundary_cost",
    "cohort_cost",
    "cohort_outcomes_cost",
    "data_set_cost",
    "dp_cost",
    "engine_build_cost",
    "engine_cost",
    "grid_columns",
    "piece_cost",
    "quadrature_cost",
    "size_tuples",
]

FLOAT = 8
"""Bytes of a float64."""

_BASE = 1 << 20  # small arrays and Python objects of any job
_BLOCK = 1 << 21  # cells per status array in a batch of the lattice DP (cohort_exact)


@dataclass(frozen=True, slots=True)
class Cost:
    """Estimated peak memory (bytes) and run time (seconds) of a job.

    Examples
    --------
    >>> a, b = Cost(2e6, 1.0), Cost(1e6, 3.0)
    >>> a.then(b)                 # one after the other: the larger peak, times add
    Cost(nbytes=2000000.0, seconds=4.0)
    >>> a.holding(5e5).nbytes     # with 0.5 MB held throughout
    2500000.0
    """

    nbytes: float = 0.0
    seconds: float = 0.0

    def then(self, other: Cost) -> Cost:
        """``self`` followed by ``other``: the larger peak, the sum of the times."""
        return Cost(max(self.nbytes, other.nbytes), self.seconds + other.seconds)

    def holding(self, nbytes: float) -> Cost:
        """The same job while ``nbytes`` more are held throughout."""
        return Cost(self.nbytes + nbytes, self.seconds)

    def repeated(self, times: float) -> Cost:
        """The job run ``times`` times in turn: the same peak, ``times`` the time."""
        return Cost(self.nbytes, self.seconds * times)


# ---------------------------------------------------------------------------
# Single cohort: boundaries and the dynamic programme
# ---------------------------------------------------------------------------
# Predictive probability, one interim look: arrays of (n + 1) (N - n + 1) K cells; the
# peak holds (6 K + 8) / K such arrays (measured 13.3, 8.8 and 7.9 for K = 1, 2, 3).
_PP_ARRAYS_PER_K = 6.0
_PP_ARRAYS = 8.0
_PP_SECONDS = 300e-9  # per (r, x, component) cell (measured 150-370 ns)
# Posterior tail tables: (n + 1) x K arrays; the peak holds 7 + 14 / K of them (measured
# 18-19 for K = 1, 10.8-11.2 for K = 3).
_TAIL_ARRAYS_PER_K = 7.0
_TAIL_ARRAYS = 14.0
_TAIL_SECONDS = 4e-6  # per response count and component (measured 3.5 us)
_QUAD_SECONDS = 8e-3  # per response count when p0 is a Beta (adaptive quadrature per r)
# Dynamic programme, one table: the peak holds 3 arrays of (rates, N + 1) (measured 2.1-2.9).
_DP_ARRAYS = 3.0
_DP_BATCH_ARRAYS = 5.0  # several tables at once: state, new, cumsum and two temporaries
_DP_SECONDS = 1.2e-9  # per (rate, table, r, new responses) cell (measured 1.1-3.6 ns)
_DP_STEP_SECONDS = 1.5e-6  # per new patient of a look (one numpy call each)


def _slots(design: Any) -> list[tuple[str, Any]]:
    return [
        (slot, rule)
        for slot in ("futility", "efficacy", "final")
        if (rule := getattr(design, slot, None)) is not None
    ]


def boundary_cost(design: Any, looks: Sequence[int] | None = None) -> Cost:
    """Cost of compiling a single-cohort design's rules to integer boundaries.

    Reads ``design.looks``, ``design.prior.n_components`` and the rules in the
    ``futility``, ``efficacy`` and ``final`` slots (their ``kind`` and ``p0``),
    as :meth:`adaptive2.model.designs.Design.boundaries` uses them; nothing is
    computed.

    Parameters
    ----------
    design : Design
        A single-cohort design (or any object with those attributes).
    looks : sequence of int, optional
        Looks to cost instead of the design's (a design search's candidates).

    Returns
    -------
    Cost
        Peak bytes and seconds. A predictive-probability rule dominates: for
        each interim look n of a design with N patients it holds about
        ``8 (n + 1) (N - n + 1) (6 K + 8)`` bytes.

    Examples
    --------
    >>> from types import SimpleNamespace as NS
    >>> pp, final = NS(kind="predictive"), NS(kind="posterior", p0=0.4)
    >>> d = NS(looks=(5000, 20000), prior=NS(n_components=2), futility=pp, final=final)
    >>> round(boundary_cost(d).nbytes / 2**30, 1)    # measured: 10.8 GB of RSS
    11.2
    """
    sizes = [int(n) for n in (design.looks if looks is None else looks)]
    n_max = sizes[-1]
    k = max(int(design.prior.n_components), 1)
    nbytes = FLOAT * (n_max + 1) * (_TAIL_ARRAYS_PER_K * k + _TAIL_ARRAYS)
    seconds = 0.0
    for slot, rule in _slots(design):
        at = sizes[-1:] if slot == "final" else sizes[:-1]
        kind = getattr(rule, "kind", "")
        if kind == "predictive":
            cells = [(n + 1) * (n_max - n + 1) for n in at]
            per_cell = FLOAT * (_PP_ARRAYS_PER_K * k + _PP_ARRAYS)
            nbytes = max(nbytes, per_cell * max(cells, default=0))
            # the predictive tables, and the final rule's tail table they predict
            seconds += _PP_SECONDS * sum(cells) * k + _TAIL_SECONDS * (n_max + 1) * k
        elif kind in ("posterior", "bop2", "dual"):
            counts = sum(n + 1 for n in at) * (2 if kind == "dual" else 1)
            beta_p0 = hasattr(getattr(rule, "p0", None), "a")
            seconds += counts * (_QUAD_SECONDS if beta_p0 else _TAIL_SECONDS * k)
    return Cost(nbytes + _BASE, seconds)


def dp_cost(looks: Sequence[int], n_rates: int, n_tables: int = 1) -> Cost:
    """Cost of the exact dynamic programme over ``looks`` for ``n_rates`` true rates.

    Parameters
    ----------
    looks : sequence of int
        Cumulative patients at each look.
    n_rates : int
        True response rates evaluated at once.
    n_tables : int
        Boundary tables evaluated at once (the batched form of
        :func:`adaptive2.kernels.binomial.stop_probabilities`).

    Returns
    -------
    Cost
        About ``8 × 3 × rates × (N + 1)`` bytes for one table (5 per table for
        a batch) and ``1.2 ns`` per (rate, table, current count, new responses).

    Examples
    --------
    >>> c = dp_cost((5000, 20000), 21)
    >>> round(c.nbytes / 2**20, 1), round(c.seconds, 1)
    (10.6, 1.9)
    """
    sizes = [int(n) for n in looks]
    n_max = sizes[-1] if sizes else 0
    rates, tables = max(int(n_rates), 1), max(int(n_tables), 1)
    arrays = _DP_ARRAYS if tables == 1 else _DP_BATCH_ARRAYS * tables
    nbytes = FLOAT * arrays * rates * (n_max + 1) + FLOAT * rates * tables * len(sizes) * 3
    prev, cells, steps = 0, 0, 0
    for n in sizes:
        m = n - prev
        cells += (m + 1) * (prev + 1)
        steps += m + 1
        prev = n
    seconds = _DP_SECONDS * cells * rates * tables + _DP_STEP_SECONDS * steps
    return Cost(nbytes + _BASE, seconds)


# ---------------------------------------------------------------------------
# Quadrature: the (mu, tau) grid of a borrowing model
# ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Columns:
    """Quadrature columns of a model on a grid, counted as the quadrature engine builds them.

    Attributes
    ----------
    total : int
        (μ, τ) columns G.
    wide : int
        Columns integrated on the θ grid (τ above two θ steps).
    narrow : int
        Columns integrated by their own nodes (0 < τ ≤ two θ steps; :func:`narrow_nodes`).
    point : int
        Columns at τ = 0 (point masses).
    theta : int
        θ nodes.
    tie : bool
        A historical stratum is tied to a cohort (a θ × θ kernel is built).
    """

    total: int
    wide: int
    narrow: int
    point: int
    theta: int
    tie: bool


def narrow_nodes(n: int) -> int:
    """A bound on the mean number of nodes per narrow column for cohorts of ``n`` patients.

    The quadrature integrates a narrow column by as many Gauss–Hermite nodes as the tilt
    τ · n needs (:func:`adaptive2.kernels.quadrature._hermite_order`, from 4 to 64): on the
    default grid 8.5 on average up to 32 patients, 23.3 at 256; 64 at most, and 60 for
    the columns a threshold cuts.
    """
    return 24 if n <= 256 else 64


@functools.lru_cache(maxsize=64)
def grid_columns(model: Any, grid: Any, cohorts: tuple[Any, ...] = ()) -> Columns:
    """The quadrature columns of ``model`` on ``grid``, without building the engine.

    Mirrors the node construction of :mod:`adaptive2.kernels.quadrature` on the
    small μ and τ axes only (microseconds; nothing of the lattice's size), on the
    grid the engine integrates on: ``grid`` refined for ``model`` and ``cohorts``
    as :func:`~adaptive2.kernels.quadrature.refined_grid` refines it. The default grid
    has 19,500 columns for a hierarchical model with τ ~ half-normal(1), 12,960 of
    them narrow.
    """
    if cohorts:
        grid = quadrature.refined_grid(model, cohorts, grid)
    theta = int(grid.n_theta)
    tie = any(h.tie is not None for h in model.historical)
    if model.kind == "independent":
        return Columns(1, 0, 0, 1, theta, tie)
    limit = grid.theta_max - 1.0
    if model.kind == "pooled":
        mu, _, _ = quadrature._mu_nodes(model, grid.n_mu * 16, limit)
        return Columns(len(mu), 0, 0, len(mu), theta, tie)
    tau, _ = quadrature._tau_nodes(model, grid.n_tau)
    mu, _, width = quadrature._mu_nodes(model, grid.n_mu, limit)
    fine, _, _ = quadrature._refine_mu(model, mu, width, centre=0.0, half=0.5, factor=8)
    h = 2 * grid.theta_max / (grid.n_theta - 1)
    wide = narrow = point = 0
    for t in tau:
        if t <= 0:
            point += len(fine)
        elif t <= 2 * h:
            narrow += len(fine)
        else:
            wide += len(mu)
    return Columns(wide + narrow + point, wide, narrow, point, theta, tie)


# engine: hat-function weights of the wide columns (and of a tied stratum's theta x theta
# kernel), 11 arrays of (theta, columns) while built (measured 10); 200 ns per cell
_ENGINE_ARRAYS = 11.0
_ENGINE_SECONDS = 2e-7
# pieces of one cohort at one size, per response count: 5 arrays of the columns, 5 more of
# the point columns, 2 x 24 nodes of the narrow ones and 8 of the theta grid (measured 4,
# 4.5, 48 and 6.5 when every narrow column had 24 nodes), plus 8 arrays of the narrow
# columns' nodes whatever the size (measured 6); 80 ns per (r, narrow node or column)
_PIECE_COLUMNS, _PIECE_POINT, _PIECE_NARROW, _PIECE_THETA = 5.0, 5.0, 50.0, 8.0
_PIECE_NODES = 8.0
_PIECE_SECONDS = 8e-8
_PIECE_KEPT = 3.0  # marginal, above-threshold and mean parts, kept in the memo
# joint lattice: 2 J + 3 arrays of the lattice (the results and one contraction) and the
# rescaled pieces; contractions cost 0.5 ns (two cohorts: matrix products) or 5 ns (three
# or more: einsum) per (cell, column)
_LATTICE_EXTRA = 3.0
_CONTRACT_SECONDS = {1: 1e-9, 2: 5e-10}
_CONTRACT_SECONDS_MANY = 5e-9
# DP on the lattice: live status arrays (each cohort running or stopped at an earlier look
# for one of the interim reasons) plus 4 temporaries; 0.4 ns per (cell, new patient, status)
_DP_TEMPORARIES = 4.0
_LATTICE_DP_SECONDS = 4e-10
# predictive probabilities of cohort j: 4 arrays of (lattice, m_j + 1) (measured 3)
_PP_LATTICE_ARRAYS = 4.0
_PP_LATTICE_SECONDS = 2e-8


def engine_cost(cols: Columns) -> tuple[Cost, float]:
    """Building the quadrature engine: its cost, and the bytes it keeps."""
    cells = cols.theta * (cols.wide + (cols.theta if cols.tie else 0))
    kept = FLOAT * (1.5 * cols.theta * cols.wide + 8 * cols.total)
    return Cost(FLOAT * _ENGINE_ARRAYS * cells, _ENGINE_SECONDS * cells), kept


def piece_cost(cols: Columns, n: int) -> tuple[Cost, float]:
    """One cohort's quadrature pieces at size ``n``: their cost, and the bytes the memo keeps."""
    r = n + 1
    per_r = (
        _PIECE_COLUMNS * cols.total
        + _PIECE_POINT * cols.point
        + _PIECE_NARROW * cols.narrow
        + _PIECE_THETA * cols.theta
    )
    seconds = _PIECE_SECONDS * r * (narrow_nodes(n) * cols.narrow + cols.total + cols.theta)
    kept = FLOAT * r * (_PIECE_KEPT * cols.total + cols.theta)
    nodes = FLOAT * _PIECE_NODES * narrow_nodes(n) * cols.narrow
    return Cost(FLOAT * r * per_r + nodes, seconds), kept


def _lattice(cols: Columns, sizes: Sequence[int]) -> tuple[Cost, float]:
    """One joint lattice at ``sizes`` (pieces given): its transient cost and kept bytes."""
    r = [n + 1 for n in sizes]
    cells = math.prod(r)
    j = len(r)
    scaled = FLOAT * (3 * sum(r) + 2 * max(r)) * cols.total
    nbytes = scaled + FLOAT * (2 * j + _LATTICE_EXTRA) * cells
    rate = _CONTRACT_SECONDS.get(j, _CONTRACT_SECONDS_MANY)
    seconds = rate * (2 * j + 1) * cells * cols.total
    return Cost(nbytes, seconds), FLOAT * 2 * j * cells


def quadrature_cost(model: Any, cohorts: Sequence[Any], sizes: Sequence[int], grid: Any) -> Cost:
    """Posterior probabilities and means on the joint outcome lattice at ``sizes``.

    The cost of :func:`adaptive2.kernels.quadrature.lattice` from nothing: the
    engine, every cohort's pieces, and the lattice of ``Π (n_j + 1)`` cells.
    """
    cols = grid_columns(model, grid, tuple(cohorts))
    build, held = engine_cost(cols)
    peak, seconds = build.nbytes, build.seconds
    for n in sizes:
        piece, piece_kept = piece_cost(cols, int(n))
        peak = max(peak, held + piece.nbytes)
        held += piece_kept
        seconds += piece.seconds
    lat, _ = _lattice(cols, [int(n) for n in sizes])
    peak = max(peak, held + lat.nbytes)
    return Cost(peak + _BASE, seconds + lat.seconds)


# ---------------------------------------------------------------------------
# Several cohorts: the exact lattice programme and everything built on it
# ---------------------------------------------------------------------------
def _thresholds(design: Any, j: int) -> int:
    """Distinct posterior thresholds the rules of cohort ``j`` need beyond its p0."""
    name = design.cohorts[j].name
    extra = set()
    for slot in ("futility", "efficacy", "final"):
        rule = design.rule(slot, name)
        delta = float(getattr(rule, "delta", 0.0) or 0.0) if rule is not None else 0.0
        if delta:
            extra.add(delta)
    return len(extra)


def size_tuples(design: Any) -> list[tuple[int, ...]]:
    """Cohort sizes the lattice programme visits: at look k each cohort at a look up to k."""
    out: set[tuple[int, ...]] = set()
    for k in range(design.n_looks):
        sizes = []
        for c in design.cohorts:
            here = set(c.looks[: k + 1])
            # a cohort stopped for toxicity informs the others with its data at the check
            monitor = design.toxicity_of(c.name) if getattr(design, "toxicity", None) else None
            if monitor is not None:
                here.update(m for m in monitor.monitor if m <= c.looks[k])
            sizes.append(sorted(here))
        out.update(itertools.product(*sizes))
    return sorted(out)


def _event_cells(design: Any) -> int:
    """Event-count cells per lattice cell in the DP (1 without toxicity monitors).

    A monitored cohort's event axis is cut at each check's stopping count, so it
    holds at most the largest count plus the longest gap between checks.
    """
    if not getattr(design, "toxicity", None):
        return 1
    out = 1
    for c in design.cohorts:
        monitor = design.toxicity_of(c.name)
        if monitor is None:
            continue
        checks = (0, *monitor.monitor)
        gap = max(b - a for a, b in itertools.pairwise(checks))
        out *= min(c.looks[-1] + 1, max(monitor.boundaries()) + gap)
    return out


def _dp_arrays(design: Any) -> float:
    """Most status arrays alive at once in the lattice DP (an upper bound).

    Per cohort, the statuses at look k are: running, stopped for a reason at an
    earlier look, or stopped for toxicity at a check up to look k.
    """
    k_max = design.n_looks
    monitored = bool(getattr(design, "toxicity", None))

    def statuses(k: int) -> int:
        out = 1
        for c in design.cohorts:
            reasons = sum(design.rule(s, c.name) is not None for s in ("futility", "efficacy"))
            monitor = design.toxicity_of(c.name) if monitored else None
            checks = sum(m <= c.looks[min(k, k_max - 1)] for m in monitor.monitor) if monitor else 0
            out *= 1 + reasons * k + checks
        return out

    live = max(statuses(k) + statuses(k + 1) * (k < k_max - 1) for k in range(k_max))
    return float(live) + _DP_TEMPORARIES


def cohort_cost(
    design: Any,
    *,
    rates: int = 1,
    dp_runs: int = 1,
    lattices: int = 1,
    estimates: int = 0,
    true_rates: int | None = None,
    dp: bool = True,
) -> Cost:
    """The exact lattice programme of a multi-cohort design (and the jobs built on it).

    Parameters
    ----------
    design : CohortDesign
        Read through its ``cohorts``, ``names``, ``n_looks``, ``model``,
        ``grid`` and ``rule(slot, cohort)``.
    rates : int
        True-rate vectors evaluated in one batch (the DP holds at most 2**21
        lattice cells per status array, one whole lattice if it is larger).
    dp_runs : int
        Batches of rates evaluated (time only).
    lattices : int
        Times every decision lattice is rebuilt (time only: calibrations
        rebuild the decisions for each cutoff they try).
    estimates : int
        Scenarios whose posterior means and interval coverage are tabulated on
        every lattice (the multi-cohort simulator).
    true_rates : int, optional
        Most distinct true rates of one cohort among those scenarios (each
        needs the cohort's quadrature pieces at that threshold); default
        ``estimates``.
    dp : bool
        Whether the DP runs (an analysis needs the lattices only).

    Returns
    -------
    Cost
        The peak is what the memo keeps (engine, pieces, lattices and decision
        masks, at most the memo's byte limit) plus the largest transient: one
        cohort's pieces, one lattice, the DP's status arrays or a table of
        predictive probabilities.
    """
    cols = grid_columns(design.model, design.grid, tuple(design.cohorts))
    build, engine_kept = engine_cost(cols)
    names = list(design.names)
    kept, transient, seconds = 0.0, 0.0, build.seconds
    rates_per_cohort = estimates if true_rates is None else min(true_rates, estimates)
    for j, c in enumerate(design.cohorts):
        variants = 1 + _thresholds(design, j) + rates_per_cohort
        for n in c.looks:
            piece, piece_kept = piece_cost(cols, int(n))
            transient = max(transient, piece.nbytes)
            kept += piece_kept * variants
            seconds += piece.seconds * variants
    tuples = size_tuples(design)
    variants = 1 + sum(_thresholds(design, j) > 0 for j in range(len(names))) + estimates
    biggest = 1
    for n in tuples:
        lat, lat_kept = _lattice(cols, n)
        cells = math.prod(x + 1 for x in n)
        biggest = max(biggest, cells)
        transient = max(transient, lat.nbytes)
        kept += (lat_kept + 2 * len(names) * cells) * variants  # results and decision masks
        seconds += lat.seconds * variants * lattices
    for j, name in enumerate(names):
        if not any(getattr(design.rule(s, name), "kind", "") == "predictive"
                   for s in ("futility", "efficacy")):
            continue
        c = design.cohorts[j]
        for k in range(design.n_looks - 1):
            for n in tuples:
                if n[j] == c.looks[k]:
                    cells = math.prod(x + 1 for x in n)
                    m = c.looks[-1] - c.looks[k] + 1
                    transient = max(transient, FLOAT * _PP_LATTICE_ARRAYS * cells * m)
                    kept += FLOAT * cells
                    seconds += _PP_LATTICE_SECONDS * cells * m * lattices
    if estimates:  # the simulator's posterior means and coverage, per scenario
        kept += estimates * len(tuples) * (FLOAT + 1) * len(names) * biggest
    if dp:
        cells = biggest * _event_cells(design)
        batch = max(cells, min(int(rates), max(1, _BLOCK // cells)) * cells)
        arrays = _dp_arrays(design)
        transient = max(transient, FLOAT * arrays * batch)
        steps = sum(max(c.looks) for c in design.cohorts)
        seconds += _LATTICE_DP_SECONDS * arrays * batch * steps * max(int(dp_runs), 1)
    held = engine_kept + min(float(MEMO.limit), kept)
    return Cost(max(build.nbytes, held + transient) + _BASE, seconds)


# ---------------------------------------------------------------------------
# One observed data set: its posterior, and the lines of the lattices through it
# ---------------------------------------------------------------------------
# the engine as built now, column block by column block: what it keeps (engine_cost's) and
# about 14 arrays of one block of hat weights; the banded node weights of the columns
# narrower than the grid (an index and a weight per band cell, kept for the densities) and
# about 12 arrays of one tau's bands while they are built
_HAT_BLOCK_ARRAYS = 14.0
_BAND_ARRAYS = 12.0
# selected outcomes of one cohort at one size, per selected count: the stacked likelihoods
# (3 theta rows), the EX parts and totals (3 + 3 columns rows) and the kept parts (3); the
# exact columns' integrands a block of rows at a time (7 arrays of at least one row of
# the narrow columns' nodes), their theta terms kept per cohort (3 arrays) and the nodes
# and weights (6 arrays); the likelihood of every count (4 arrays)
_ROW_PARTS = 9.0
_ROW_BLOCK_ARRAYS = 7.0
_THETA_TERMS = 3.0
_GL_ARRAYS = 6.0
_TERMS_ARRAYS = 4.0
_ROW_SECONDS = 1e-8  # per (count, narrow node or column) (measured 8 ns)


def _band_cells(model: Any, cohorts: tuple[Any, ...], grid: Any) -> tuple[int, int]:
    """(all band cells, the largest τ's) of the columns narrower than the θ grid."""
    if model.kind == "independent":
        return 0, 0
    grid = quadrature.refined_grid(model, cohorts, grid)
    h = 2 * grid.theta_max / (grid.n_theta - 1)
    limit = grid.theta_max - 1.0

    def width(tau: float) -> int:
        cells: int = math.ceil(2 * (quadrature._BAND * tau + 2 * h) / h)
        return min(int(grid.n_theta), cells + 2)

    if model.kind == "pooled":
        mu, _, _ = quadrature._mu_nodes(model, grid.n_mu * 16, limit)
        cells = width(0.0) * len(mu)
        return cells, cells
    tau, _ = quadrature._tau_nodes(model, grid.n_tau)
    mu, _, w = quadrature._mu_nodes(model, grid.n_mu, limit)
    fine = len(quadrature._refine_mu(model, mu, w, centre=0.0, half=0.5, factor=8)[0])
    per_tau = [width(float(t)) * fine for t in tau if t <= 2 * h]
    return sum(per_tau), max(per_tau, default=0)


def engine_build_cost(model: Any, cohorts: tuple[Any, ...], grid: Any) -> tuple[Cost, float]:
    """The engine as built now, and the banded node weights: their cost, and the bytes kept.

    Column block by column block (:func:`engine_cost`'s peak assumes the whole kernel's
    temporaries at once, which the engine no longer allocates), with the node weights
    of the columns narrower than the θ grid within their bands (``mix_theta``).
    """
    cols = grid_columns(model, grid, cohorts)
    build, kept = engine_cost(cols)
    bands, band_max = _band_cells(model, cohorts, grid)
    block = FLOAT * _HAT_BLOCK_ARRAYS * quadrature._HAT_BLOCK
    ties = sum(h.tie is not None for h in model.historical)
    peak = float(kept + block + (FLOAT * 1.5 * cols.theta**2 if ties else 0.0))
    peak = max(peak, kept + FLOAT * _BAND_ARRAYS * band_max)
    kept += 2 * FLOAT * bands
    return Cost(peak, build.seconds / 2), kept


def _rows_cost(cols: Columns, n: int, rows: int, terms: bool) -> tuple[Cost, float]:
    """``rows`` response counts of one cohort at size ``n``: their cost, and the bytes kept.

    With ``terms``, the cohort's θ terms of the exact columns are computed (and kept).
    """
    nodes = narrow_nodes(n) * cols.narrow
    block = max(quadrature._ROW_BLOCK, nodes)
    per_row = _ROW_PARTS * cols.total + 3 * cols.theta
    transient = FLOAT * (rows * per_row + _ROW_BLOCK_ARRAYS * block + _GL_ARRAYS * nodes)
    transient = transient + FLOAT * _TERMS_ARRAYS * (n + 1) * cols.theta
    kept = float(FLOAT * (3 * rows * cols.total + (n + 1) * cols.theta))
    if terms:
        kept += FLOAT * _THETA_TERMS * (nodes + cols.point)
    seconds = _ROW_SECONDS * rows * (nodes + cols.total + cols.theta)
    return Cost(transient, seconds), kept


def data_set_cost(model: Any, cohorts: Sequence[Any], sizes: Sequence[int], grid: Any) -> Cost:
    """Posterior summaries of one observed data set at ``sizes``: one quadrature, no lattice.

    The engine (and the banded node weights of the θ densities), then each cohort's
    pieces at its observed count only (at p0 and at one more threshold, p1), while
    the engine and the earlier cohorts' pieces are held: the cost grows with the
    number of cohorts, not with the lattice Π (n_j + 1).

    Examples
    --------
    >>> from adaptive2.model.hierarchical import DEFAULT_GRID, Cohort, Model
    >>> coh = (Cohort("a", 0.4), Cohort("b", 0.1))
    >>> round(data_set_cost(Model(), coh, [20, 15], DEFAULT_GRID).nbytes / 2**20)
    100
    """
    coh = tuple(cohorts)
    cols = grid_columns(model, grid, coh)
    build, held = engine_build_cost(model, coh, grid)
    peak, seconds = build.nbytes, build.seconds
    for n in sizes:
        for terms in (True, False):  # at p0 (the θ terms computed), then at p1
            piece, piece_kept = _rows_cost(cols, int(n), 1, terms)
            peak = max(peak, held + piece.nbytes)
            held += piece_kept
            seconds += piece.seconds
    return Cost(peak + _BASE, seconds)


def analysis_cost(design: Any, sizes: Sequence[int]) -> Cost:
    """The analysis of one data set of a multi-cohort design at ``sizes``.

    :func:`data_set_cost`, then for each cohort the lines of the decision lattices
    through the data: every count of the cohort at its current size, at its next
    look and at its last (the predictive probability of final success), the other
    cohorts at their data; each line's pieces are kept. No lattice.
    """
    coh = tuple(design.cohorts)
    cols = grid_columns(design.model, design.grid, coh)
    base = data_set_cost(design.model, coh, sizes, design.grid)
    held = engine_build_cost(design.model, coh, design.grid)[1]
    held += sum(_rows_cost(cols, int(n), 1, True)[1] * 2 for n in sizes)
    peak, seconds = base.nbytes, base.seconds
    for c, n in zip(coh, sizes, strict=True):
        later = [x for x in c.looks if x > int(n)]
        for size in {int(n), *later[:1], int(c.looks[-1])}:
            for _ in range(2):  # two thresholds (rules with a δ), or the predictive
                line, line_kept = _rows_cost(cols, size, size + 1, False)
                peak = max(peak, held + line.nbytes + _BASE)
                held += line_kept
                seconds += line.seconds
    return Cost(peak, seconds)


# ---------------------------------------------------------------------------
# Monte Carlo over outcomes: quadrature posteriors of the simulated data sets only
# ---------------------------------------------------------------------------
# per (trial, cohort, look) of a chunk: the binomial draws, cumulative counts, look indices,
# gathered counts and statistics (about 10 int64 / float arrays alive at once)
_CHUNK_ARRAYS = 12.0
# p_above_data: per (distinct data set, cohort, column) (measured 1.5 ns, 6 cohorts, 19,500
# columns, one BLAS thread)
_DATA_SECONDS = 2e-9


def cohort_outcomes_cost(
    design: Any, *, n_sims: int, chunk_size: int, workers: int = 1, scenarios: int = 1
) -> Cost:
    """Monte Carlo OC of a multi-cohort design over simulated outcomes (no lattice).

    The engine of :func:`adaptive2.engines.cohort_montecarlo.cohort_simulate`:
    each cohort's quadrature pieces at each look size and rule threshold, kept
    in the memo with their scaled marginal and threshold parts (at most the
    memo's byte limit), then per running chunk its trials' draws and statistics
    and one block of :func:`adaptive2.kernels.quadrature.p_above_data`'s
    (data sets × columns) temporaries. Nothing grows with Π (n_j + 1).

    Parameters
    ----------
    design : CohortDesign
        Read through its ``cohorts``, ``names``, ``n_looks``, ``model``,
        ``grid`` and ``rule(slot, cohort)``.
    n_sims : int
        Simulated trials per scenario.
    chunk_size : int
        Trials per chunk.
    workers : int
        Chunks running at once (threads).
    scenarios : int
        Scenarios simulated (time only).

    Returns
    -------
    Cost
        The peak is the engine, the kept pieces, the largest piece being
        computed and ``workers`` chunks at once; the time is the pieces' plus
        one posterior per trial, look and threshold (an upper bound: identical
        data sets are evaluated once).
    """
    coh = tuple(design.cohorts)
    cols = grid_columns(design.model, design.grid, coh)
    build, engine_kept = engine_build_cost(design.model, coh, design.grid)
    peak, seconds = build.nbytes, build.seconds
    kept = 0.0
    for j, c in enumerate(coh):
        variants = 1 + _thresholds(design, j)
        # the θ terms of the exact columns, kept per cohort (every size shares them)
        kept += FLOAT * _THETA_TERMS * (narrow_nodes(max(c.looks)) * cols.narrow + cols.point)
        for n in c.looks:
            piece, piece_kept = piece_cost(cols, int(n))
            peak = max(peak, engine_kept + min(float(MEMO.limit), kept) + piece.nbytes)
            kept += (piece_kept + FLOAT * 2 * (int(n) + 1) * cols.total) * variants
            seconds += piece.seconds * variants
    held = engine_kept + min(float(MEMO.limit), kept)
    chunk = max(1, min(int(chunk_size), int(n_sims)))
    n_chunks = scenarios * math.ceil(int(n_sims) / chunk)
    per_chunk = FLOAT * _CHUNK_ARRAYS * chunk * len(coh) * design.n_looks
    per_chunk += quadrature._DATA_BLOCK_BYTES
    running = max(1, min(int(workers), n_chunks))
    peak = max(peak, held + running * per_chunk)
    rounds = max(1 + _thresholds(design, j) for j in range(len(coh)))
    data_sets = scenarios * int(n_sims) * design.n_looks * rounds
    seconds += _DATA_SECONDS * data_sets * len(coh) * cols.total
    return Cost(peak + _BASE, seconds)
