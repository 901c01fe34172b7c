"""What each engine's job costs, from its sizes alone: the estimates behind the size guard.

Every engine entry point computes its job's :class:`~adaptive2.kernels.sizes.Cost`
with a function of this module (or of :mod:`adaptive2.kernels.sizes`, for the
kernels' own arrays) and hands it to :func:`adaptive2._base.resources.require_memory`
before it allocates anything big: a job over the memory limit is refused at once,
with the estimate and the way out (the ``REMEDY_*`` texts).

The constants were found as in :mod:`adaptive2.kernels.sizes`: arrays alive at the
peak counted in the job's natural cells (patients of a chunk, binomial table
entries, predictive tail entries), their number measured with ``tracemalloc`` and
rounded up; times measured on an AMD EPYC (2 cores, one BLAS thread, numpy 2.4,
Python 3.11) and rough.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from adaptive2.kernels.sizes import (
    FLOAT,
    Cost,
    boundary_cost,
    cohort_cost,
    dp_cost,
    engine_build_cost,
    size_tuples,
)

__all__ = [
    "REMEDY_CALIBRATE",
    "REMEDY_COHORTS",
    "REMEDY_EXACT",
    "REMEDY_GRID",
    "REMEDY_SEARCH",
    "REMEDY_SIMON",
    "REMEDY_SIMULATE",
    "calibration_cost",
    "cohort_trials_cost",
    "lee_liu_cost",
    "map_prior_cost",
    "patients_drawn",
    "simon_cost",
    "single_oc_cost",
    "trials_cost",
]

REMEDY_EXACT = "use fewer or smaller looks, or Monte Carlo (oc --simulate)"
REMEDY_CALIBRATE = "use fewer or smaller looks"
REMEDY_COHORTS = "use fewer cohorts or patients, a coarser QuadratureGrid, or --simulate"
REMEDY_SIMULATE = (
    "use fewer simulated trials per chunk (chunk_size), fewer workers, or fewer scenarios"
)
REMEDY_SIMON = "use a smaller nmax"
REMEDY_SEARCH = "search smaller sample sizes or fewer looks"
REMEDY_GRID = "use a coarser QuadratureGrid or fewer patients"

_BASE = 1 << 20  # small arrays and Python objects of any job
_BLOCK = 1 << 21  # cells per block of the Simon search (simon._BLOCK_CELLS)


# ---------------------------------------------------------------------------
# Single cohort: exact OC, calibration, searches
# ---------------------------------------------------------------------------
def single_oc_cost(design: Any, n_rates: int, looks: Sequence[int] | None = None) -> Cost:
    """Exact OC of a single-cohort design at ``n_rates`` true rates.

    Its boundaries (recomputed if the memo no longer holds them), then the DP.
    """
    looks = design.looks if looks is None else looks
    return boundary_cost(design, looks).then(dp_cost(looks, n_rates))


def calibration_cost(
    design: Any,
    *,
    designs: int,
    tables: int,
    n_rates: int,
    looks: Sequence[int] | None = None,
) -> Cost:
    """A calibration: ``designs`` boundary tables compiled, ``tables`` DPs over ``n_rates``.

    The peak is the larger of one boundary computation and one DP (they never
    overlap); the time adds up.
    """
    looks = design.looks if looks is None else looks
    bnd = boundary_cost(design, looks).repeated(designs)
    return bnd.then(dp_cost(looks, n_rates).repeated(tables))


# simon: binomial tables (2, M, M) and (2, M, M + 1), two cumulative tables (M, M) (7 M^2
# floats, measured 6.1-7.0), then blocks of at most 2**21 cells, about M^3 / 16 cells for
# small problems (4 to 4.5 float arrays at the peak, measured); 5e-9 s per M^3 (the worst
# case measured: 3.4 s at nmax = 1000, most problems 30x faster). Problems that prune most
# first stages use far smaller blocks: up to 3x (nmax = 1000) and more (nmax < 300) below.
_SIMON_TABLES = 7.0
_SIMON_BLOCK_ARRAYS = 5.0
_SIMON_SECONDS = 5e-9


def simon_cost(nmax: int) -> Cost:
    """Simon's two-stage search up to ``nmax`` patients.

    Examples
    --------
    >>> round(simon_cost(1000).nbytes / 2**20)     # measured: 47 to 111 MiB
    135
    """
    m = int(nmax) + 1
    block = min(_BLOCK, m**3 // 16)
    nbytes = FLOAT * (_SIMON_TABLES * m * m + _SIMON_BLOCK_ARRAYS * block)
    return Cost(nbytes + _BASE, _SIMON_SECONDS * m**3)


# lee_liu: the predictive tails (L, N + 1, N + 2) of two consecutive N are alive at once,
# plus the chunk being computed (at most 2e6 (look, r, y) cells, 12 float arrays), the
# theta_L comparison (grid, L, N + 1) as booleans and the batched DP (measured 1.06-1.6x
# below the estimate); about 100 us per (interim look, N + 1) and N (measured 6-200 us).
_LL_TAIL_COPIES = 2.0
_LL_CHUNK_ARRAYS = 12.0
_LL_TAIL_CELLS = 2_000_000  # lee_liu._TAIL_CELLS
_LL_SECONDS = 1e-4


def lee_liu_cost(
    n_range: tuple[int, int], first_look: int, step: int, n_theta_l: int, theta_u: bool
) -> Cost:
    """Lee & Liu's search over N in ``n_range``, interim looks every ``step`` from ``first_look``.

    Examples
    --------
    >>> round(lee_liu_cost((295, 300), 10, 1, 200, False).nbytes / 2**20)   # measured: 592
    611
    """
    nbytes, seconds = 0.0, 0.0
    for n_max in range(int(n_range[0]), int(n_range[1]) + 1):
        size = n_max + 1
        n_int = len(range(first_look, n_max, step))
        chunk = min(n_int, max(1, _LL_TAIL_CELLS // (size * size)))
        tails = FLOAT * _LL_TAIL_COPIES * n_int * size * (size + 1)
        work = FLOAT * _LL_CHUNK_ARRAYS * chunk * size * size
        compare = n_theta_l * n_int * size * (2 if theta_u else 1)
        looks = [*range(first_look, n_max, step), n_max]
        dp = dp_cost(looks, 2, n_tables=n_theta_l).nbytes
        nbytes = max(nbytes, tails + work + compare + dp)
        seconds += _LL_SECONDS * n_int * size
    return Cost(nbytes + _BASE, seconds)


# ---------------------------------------------------------------------------
# Monte Carlo trials
# ---------------------------------------------------------------------------
_BLOCK_PATIENTS = 16  # trials_single.BLOCK
_SKETCH = 1000  # simulation_summaries.SKETCH_POINTS
# per patient of a chunk: uniforms (4 floats, with the block arrays they are cut from),
# gaps, delays, ranks, arrival and trigger times (measured 30-48 bytes), plus 2 n_max for
# the (trial, patient, evaluable index) booleans that locate the evaluable patients
_PATIENT_BYTES = 64.0
_KEPT_PATIENT_BYTES = 36.0  # what is kept of a patient: gaps, delay, rank, arrival, flags
_TRIAL_BYTES = FLOAT * 12.0  # per trial and design: stop look, reason, counts, estimates
_CHUNK_STATS_BYTES = 3000.0  # dict and small arrays of one chunk's statistics
# time per design: 150 ns + 1.5 ns per patient at the last look, per (trial, patient drawn),
# twice that with gamma or lognormal delays (inverse CDFs), and 3 ms per chunk (measured
# 130-470 ns per patient drawn); 40 us per (look, response count) for the posterior
# estimate tables (a Python loop)
_SIM_PATIENT_SECONDS = 1.5e-7
_SIM_POSITION_SECONDS = 1.5e-9
_SIM_CHUNK_SECONDS = 3e-3
_ESTIMATE_SECONDS = 4e-5
_SIM_MULTI = 3.0  # joint analyses: per look, every cohort's trigger and a grouped look-up


def patients_drawn(n_max: int, p_nonevaluable: float) -> int:
    """Patients drawn per simulated trial to find ``n_max`` evaluable ones (as the simulator)."""
    q = float(p_nonevaluable)
    m = math.ceil(n_max / (1 - q) + 8 * math.sqrt(n_max * q / (1 - q) ** 2 + 1)) + 5
    return -(-m // _BLOCK_PATIENTS) * _BLOCK_PATIENTS


_PROCESS_BYTES = 100 * 2**20  # a worker process's interpreter and libraries (55-100 MB RSS)


def _workers(workers: Any, tasks: int) -> int:
    """Chunks in memory at once: one per local process (Dask and callables: one here)."""
    if isinstance(workers, int) and not isinstance(workers, bool):
        return max(1, min(workers, tasks))
    return 1


def _processes(workers_n: int) -> float:
    """Memory of the worker processes themselves (none when the chunks run in this one)."""
    return _PROCESS_BYTES * workers_n if workers_n > 1 else 0.0


def _slow(conduct: Any) -> float:
    return 1.0 if conduct.delay_kind in ("fixed", "uniform") else 2.0


def trials_cost(
    designs: Sequence[Any],
    n_scenarios: int,
    n_sims: int,
    chunk_size: int,
    conduct: Any,
    workers: Any = 1,
) -> Cost:
    """Trial-conduct simulation of single-cohort ``designs``, one chunk per worker at a time.

    Per chunk: the patients of ``chunk_size`` trials (``m`` drawn per trial) and,
    one design at a time, ``chunk_size × m × n_max`` booleans locating the
    evaluable patients: about ``chunk_size × m × (2 n_max + 64)`` bytes. Per chunk
    and kept to the end: its statistics (a quantile sketch of 1000 points, the
    distribution of patients enrolled), about 20 kB per design and scenario.

    Examples
    --------
    >>> from types import SimpleNamespace as NS
    >>> d = NS(n_max=40, n_looks=3)
    >>> c = trials_cost([d], 5, 10_000, 10_000, NS(p_nonevaluable=0.0, delay_kind="fixed"))
    >>> round(c.nbytes / 2**20)      # measured: 69 MiB
    90
    """
    n_max = max(int(d.n_max) for d in designs)
    m = patients_drawn(n_max, conduct.p_nonevaluable)
    n_sims, n_scen = max(int(n_sims), 1), max(int(n_scenarios), 1)
    size = min(int(chunk_size), n_sims)
    chunks = -(-n_sims // int(chunk_size))
    tasks = chunks * n_scen
    k_max = max(int(d.n_looks) for d in designs)
    chunk = size * m * (2 * n_max + _PATIENT_BYTES) + sum(
        size * (_TRIAL_BYTES + FLOAT * int(d.n_looks)) for d in designs
    )
    per_stats = FLOAT * (2 * _SKETCH + m + 8 * k_max) + _CHUNK_STATS_BYTES
    results = tasks * len(designs) * per_stats
    # pooling: every design x scenario's sketches concatenated, and the sort of one of them
    pooled = FLOAT * 2 * _SKETCH * chunks * (len(designs) * n_scen + 3)
    workers_n = _workers(workers, tasks)
    per_trial = sum(
        _slow(conduct) * m * (_SIM_PATIENT_SECONDS + _SIM_POSITION_SECONDS * int(d.n_max))
        for d in designs
    )
    seconds = (n_sims * n_scen * per_trial + tasks * len(designs) * _SIM_CHUNK_SECONDS) / (
        workers_n
    ) + sum(_ESTIMATE_SECONDS * int(d.n_looks) * (int(d.n_max) + 1) for d in designs)
    return Cost(workers_n * chunk + _processes(workers_n) + results + pooled + _BASE, seconds)


def cohort_trials_cost(
    designs: Sequence[Any],
    n_scenarios: int,
    n_sims: int,
    chunk_size: int,
    conducts: Sequence[tuple[str, Any]],
    workers: Any = 1,
    true_rates: int | None = None,
) -> tuple[Cost, Cost]:
    """Trial-conduct simulation of multi-cohort ``designs``: (lattice tables, trial chunks).

    The decision and estimate tables of every design are built in this process,
    for every scenario (and shipped with each task to the workers); a chunk holds
    each cohort's patients and, one cohort at a time, the booleans that locate its
    evaluable patients. The run needs the sum of the two costs; they are returned
    apart so that the message can name the larger. ``true_rates``: the most
    distinct true rates of one cohort among the scenarios (default: one per
    scenario).
    """
    n_sims, n_scen = max(int(n_sims), 1), max(int(n_scenarios), 1)
    tables = Cost()
    table_bytes = 0.0
    for d in designs:
        tables = tables.then(cohort_cost(d, estimates=n_scen, true_rates=true_rates, dp=False))
        tuples = size_tuples(d)
        cells = max(math.prod(x + 1 for x in n) for n in tuples)
        table_bytes += len(tuples) * (2 + FLOAT + 1) * len(d.cohorts) * cells
    cond = dict(conducts)
    n_max = {
        c.name: max(x.looks[-1] for d in designs for x in d.cohorts if x.name == c.name)
        for c in designs[0].cohorts
    }
    drawn = {name: patients_drawn(n, cond[name].p_nonevaluable) for name, n in n_max.items()}
    size = min(int(chunk_size), n_sims)
    chunks = -(-n_sims // int(chunk_size))
    tasks = chunks * n_scen
    k_max = max(int(d.n_looks) for d in designs)
    # every cohort's patients are kept while the chunk runs; one cohort's are being drawn
    chunk = sum(size * drawn[c] * _KEPT_PATIENT_BYTES for c in n_max)
    chunk += max(size * drawn[c] * (_PATIENT_BYTES + 2 * n_max[c]) for c in n_max)
    chunk += len(designs) * sum(size * FLOAT * n for n in n_max.values())
    chunk += len(designs) * len(n_max) * size * (_TRIAL_BYTES + FLOAT * k_max)
    workers_n = _workers(workers, tasks)
    if workers_n > 1:
        chunk += table_bytes  # each worker holds its task's copy of the tables
    per_stats = len(n_max) * FLOAT * (4 * _SKETCH + max(drawn.values()) + 12 * k_max)
    results = tasks * len(designs) * (per_stats + _CHUNK_STATS_BYTES)
    per_trial = sum(
        _SIM_MULTI * len(designs) * _slow(cond[c]) * drawn[c]
        * (_SIM_PATIENT_SECONDS + _SIM_POSITION_SECONDS * n_max[c])
        for c in n_max
    )
    seconds = (n_sims * n_scen * per_trial + tasks * len(designs) * _SIM_CHUNK_SECONDS) / (
        workers_n
    )
    return tables, Cost(workers_n * chunk + _processes(workers_n) + results, seconds)


# ---------------------------------------------------------------------------
# MAP priors (one data set's posterior: kernels.sizes.data_set_cost)
# ---------------------------------------------------------------------------
def map_prior_cost(model: Any, grid: Any, cohorts: Sequence[Any] = ()) -> Cost:
    """A MAP prior by quadrature: the engine of one new cohort and its predictive of θ.

    The engine as built (:func:`~adaptive2.kernels.sizes.engine_build_cost`, with the
    banded node weights of θ's density), and about a second for the predictive.
    """
    build, _ = engine_build_cost(model, tuple(cohorts), grid)
    return Cost(build.nbytes + _BASE, build.seconds + 1.0)
