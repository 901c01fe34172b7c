"""Trial-conduct simulation: accrual, delayed responses, overrun, dropout and duration.

Exact OC assume every interim happens when exactly ``n_k`` patients have a known
response. Here patients arrive over calendar time, their confirmed response is
known only after an assessment delay, some are never evaluable, and enrolment
may continue while an interim is pending (overrun) or pause until the decision.

Model of one cohort (all times in months)
-----------------------------------------
* Accrual: a Poisson process with a constant or piecewise-constant rate
  (``rates`` per period starting at ``starts``); an optional linear ramp-up is a
  first period with a lower rate.
* Each enrolled patient is non-evaluable (dropout before assessment) with
  probability ``p_nonevaluable``; non-evaluable patients are replaced, so
  enrolment continues until ``N`` evaluable patients have been enrolled.
* An evaluable patient's response is Bernoulli(p) and becomes known
  ``delay`` months after enrolment: fixed, uniform on [low, high], or gamma or
  lognormal with a given mean and sd (see :class:`Conduct`). Random delays are
  the inverse CDF of the patient's own delay uniform.
* Interim k is triggered when ``n_k`` evaluable patients have a known response;
  the decision uses exactly those ``n_k`` outcomes and the design's integer
  boundaries. ``on_interim="continue"`` keeps enrolling meanwhile (patients
  enrolled but pending count toward N and, if the trial continues, are analysed
  later); ``"pause"`` stops enrolment at the ``n_k``-th evaluable patient and
  resumes after the decision (``decision_lag`` months after the trigger).
* The final analysis uses the first ``N`` evaluable outcomes.

Several cohorts analysed jointly (``CohortDesign``)
-------------------------------------------------
Every cohort has its own patients and its own :class:`Conduct` (accrual process,
delay, non-evaluable probability, ``on_interim`` and ``decision_lag``). All
cohorts have the same number of looks; analysis k is joint:

* Trigger. For each still-active cohort j let ``t_jk`` be the time at which its
  ``n_jk``-th evaluable outcome becomes known (in ``"pause"`` mode: among the
  patients enrolled before the cohort paused). Analysis k happens at
  ``T_k = max(t_jk over active cohorts, last decision time of analysis k-1)``;
  cohort j's decision is known at ``D_jk = T_k + decision_lag_j``. Stopped
  cohorts never delay an analysis.
* Data. An active cohort contributes exactly its first ``n_jk`` evaluable
  outcomes (in the order they become known; later ones wait for the next look,
  as in the single-cohort simulator). A cohort stopped at look s contributes
  its ``(r, n_js)`` at stopping to every later analysis. The decisions are the
  exact engine's (:func:`adaptive2.model.cohorts._decisions_cached`: quadrature
  posteriors on the whole outcome lattice at the realised size tuple); trials
  are grouped by size tuple and decided by array look-up, with no loop over
  trials. Conduct therefore changes when decisions happen and how many patients
  are enrolled, never their probabilities: with any conduct the decision OC
  are those of :func:`adaptive2.engines.cohort_exact.cohort_oc`.
* Enrolment and overrun. ``"continue"``: cohort j keeps enrolling, also while
  an analysis waits for slower cohorts, until its ``N_j``-th evaluable patient;
  ``"pause"``: it enrols nobody after its ``n_jk``-th evaluable patient until
  ``D_jk``. When cohort j stops at an interim s, every patient it enrolled by
  ``D_js`` is counted in ``expected_enrolled``; those beyond the ``n_js``
  analysed (pending, known too late, or enrolled while waiting) are the
  overrun, followed up outside the design: their outcomes enter no analysis
  (the single-cohort convention). Patients pending at an interim after which
  the cohort continues are analysed at its later looks; the final analysis
  waits for all ``N_j`` evaluable outcomes (no overrun at the final look beyond
  the replaced non-evaluable patients).
* Duration. A cohort's duration is its stopping decision time ``D_js``; the
  trial's is the largest over its cohorts.
* Estimate. The ORR estimate of cohort j is its posterior mean under the
  design's model, with every cohort's data at cohort j's stopping analysis;
  its 95% equal-tailed credible interval covers the true rate iff
  ``0.025 <= P(p_j > p_true | data) <= 0.975``.

Reproducibility: random numbers are patient-level uniforms drawn per
(scenario key, chunk, block of 16 patients) from
``SeedSequence(entropy, spawn_key=(key, chunk, block))``
with a fixed chunk size, so results are bit-identical for any number of
workers, any completion order and after a resume; every design in one run sees
the same simulated patients (common random numbers). For a multi-cohort design
the key is per cohort, from the cohort's name and true rate, so a cohort sees
the same patients in every scenario where its true rate is the same.
"""

from __future__ import annotations

import json
import signal
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, cast

import numpy as np

from adaptive2._base.checkpoint import ChunkStore
from adaptive2._base.errors import DesignError, PrecisionWarning
from adaptive2._base.progress import progress_bar, wanted
from adaptive2._base.resources import require_memory
from adaptive2._base.rng import seed_sequence, stream
from adaptive2._base.validation import check_int, check_real, fail
from adaptive2._base.version import __version__
from adaptive2.engines.simulation_summaries import _dataset, _Task, _worst_mcse
from adaptive2.engines.sizes import (
    REMEDY_SIMULATE,
    cohort_trials_cost,
    trials_cost,
)
from adaptive2.engines.trials_multi import (
    _cohort_conducts,
    _cohort_key,
    _cohort_scenarios,
    _Conducts,
    _dataset_multi,
    _is_cohort_design,
    _multi_chunk,
    _MultiSetup,
)
from adaptive2.engines.trials_single import _chunk_stats, _kernel
from adaptive2.kernels.sizes import Cost
from adaptive2.model.conduct import Conduct
from adaptive2.model.designs import Design
from adaptive2.model.scenarios import as_scenarios

__all__ = ["simulate"]


CHUNK_SIZE = 10_000


# ---------------------------------------------------------------------------
# Running tasks: in process, processes, or Dask
# ---------------------------------------------------------------------------
def _run_task(payload: tuple[Any, ...]) -> tuple[int, int, dict[str, dict[str, np.ndarray]]]:
    designs, conduct, entropy, spawn, task, chunk_size = payload
    root = np.random.SeedSequence(entropy, spawn_key=tuple(spawn))
    if isinstance(task.p, tuple):
        return task.scenario, task.chunk, _multi_chunk(designs, conduct, root, task, chunk_size)
    raw = _kernel(
        designs,
        conduct,
        task.p,
        lambda b: stream(root, task.key, task.chunk, b),
        task.size,
        chunk_size,
    )
    stats = {d.name: _chunk_stats(raw[d.name], d, task.p) for d in designs}
    # paired differences against the first design (common random numbers)
    ref = raw[designs[0].name]
    for d in designs:
        res = raw[d.name]
        de = (res["reason"] == 1).astype(float) - (ref["reason"] == 1)
        dn = res["enrolled"].astype(float) - ref["enrolled"]
        stats[d.name]["paired_eff"] = np.array([de.sum(), (de**2).sum()])
        stats[d.name]["paired_enrolled"] = np.array([dn.sum(), (dn**2).sum()])
    return task.scenario, task.chunk, stats


def _manifest(
    designs: Sequence[Any],
    scen: Sequence[Any],
    conduct: Conduct | _Conducts,
    root: np.random.SeedSequence,
    chunk_size: int,
) -> dict[str, Any]:

    multi = not isinstance(conduct, Conduct)
    manifest = {
        "adaptive2_version": __version__,
        "designs": {d.name: d.hash for d in designs},
        "scenarios": [
            [s.name, [[c, s.rate(c)] for c in designs[0].names] if multi else s.p] for s in scen
        ],
        "conduct": asdict(conduct) if isinstance(conduct, Conduct) else {
            c: asdict(x) for c, x in conduct
        },
        "seed_entropy": str(root.entropy),
        "chunk_size": chunk_size,
        "chunk_stats": CHUNK_STATS,
    }
    return cast(dict[str, Any], json.loads(json.dumps(manifest)))


#: Version of the per-chunk statistics saved in a checkpoint (2: duration quantile
#: sketches replaced the thinned samples); a checkpoint of another version is refused.
CHUNK_STATS = 2


def simulate(
    designs: Any,
    scenarios: Iterable[Any] | None = None,
    *,
    conduct: Conduct | Mapping[str, Conduct] | None = None,
    n_sims: int | None = None,
    mcse: float | None = None,
    seed: int | np.random.SeedSequence | None = None,
    workers: int | Callable[..., Any] = 1,
    client: Any = None,
    checkpoint: str | Path | None = None,
    chunk_size: int = CHUNK_SIZE,
    max_sims: int = 2_000_000,
    progress: bool | None = None,
) -> Any:
    """Simulate trial conduct for single-cohort or multi-cohort designs.

    Parameters
    ----------
    designs : Design or CohortDesign, or a sequence of either kind
        Designs compared on the same simulated patients (common random numbers).
        Multi-cohort designs (:class:`adaptive2.model.cohorts.CohortDesign`) in one
        run must have the same cohort names; their joint analyses are described
        in the module docstring.
    scenarios : iterable, optional
        Single-cohort: true response rates (floats or Scenario). Multi-cohort:
        joint Scenario objects (or mappings ``{"name": ..., cohort: rate}``).
        Default: the first design's scenarios.
    conduct : Conduct or mapping cohort -> Conduct, optional
        Accrual, delay, dropout and interim behaviour (default: 2 patients per
        month, 2.5-month delay, no dropout, enrolment continues at interims).
        For a multi-cohort design one Conduct applies to every cohort (each
        with its own accrual process), or a mapping gives one per cohort.
    n_sims : int, optional
        Trials per scenario (rounded up to whole chunks). Default 10,000 unless
        ``mcse`` is given.
    mcse : float, optional
        Target Monte Carlo standard error of every ``p_efficacy``: chunks are
        added until it is met (or ``max_sims`` is reached, with a
        PrecisionWarning).
    seed : int or SeedSequence, optional
        Root seed; ``None`` draws fresh entropy (recorded in the result).
    workers : int
        Local processes (1 = in process).
    client : dask.distributed.Client, optional
        Submit chunks to an existing Dask cluster instead.
    checkpoint : path, optional
        Directory for per-chunk results and a manifest; a rerun resumes.
    chunk_size : int
        Trials per chunk (part of the random-stream address; keep it fixed).

    Returns
    -------
    xarray.Dataset
        Dims ``design``, ``scenario``, ``look``, ``reason``; the OC variables of
        :func:`adaptive2.engines.exact.oc` with ``_mcse`` twins, plus ``expected_enrolled``,
        ``mean_duration`` and duration quantiles ``duration_q10/q50/q90`` (each
        with its ``_mcse``: see Notes), ``mean_time_to_decision`` per
        look, ``bias`` and ``coverage`` of the posterior-mean ORR estimate,
        ``p_enrolled`` (distribution of patients enrolled), and the paired
        differences against the first design ``p_efficacy_diff`` and
        ``expected_enrolled_diff`` with their own ``_mcse`` (common random numbers
        make them much smaller than the unpaired MCSE).

        Multi-cohort designs add the dim ``cohort``: per design x scenario x cohort ``p_efficacy``,
        ``p_futility``, ``p_early_stop``, ``p_final_fail``, ``p_stop_at`` (per
        look and reason), ``expected_n`` (evaluable patients analysed),
        ``expected_enrolled``, duration mean, sd and quantiles,
        ``mean_time_to_decision`` per look, ``bias``, ``rmse`` and ``coverage``
        of the posterior-mean ORR, ``p_enrolled`` and the paired differences;
        per design x scenario ``fwer`` (P(efficacy declared in any cohort whose
        true rate is at or below its p0)), ``p_all_correct`` (no null cohort
        declared efficacious and every alternative cohort declared efficacious;
        a cohort between p0 and p1, role ``other``, is correct either way), the
        total numbers analysed and enrolled, and the trial's duration (its last
        cohort's); every figure with its ``_mcse`` twin (duration quantiles:
        order-statistic approximation; SDs: delta method). The ``role``
        coordinate (scenario x cohort) is null at or below the cohort's p0,
        alternative at or above its p1, other in between
        (:func:`adaptive2.model.cohorts.cohort_roles`).

    Raises
    ------
    ResourceError
        If the job's estimated memory is over the limit (``--max-memory``,
        :func:`adaptive2.set_memory_limit`): refused before anything is computed.

    Notes
    -----
    Duration quantiles: each chunk keeps a fixed-size summary of its durations,
    its empirical quantiles at the ``SKETCH_POINTS`` mid-offsets
    ``(i + 0.5) / k``, each weighted by the chunk's size over ``k``; the
    quantiles are those of the pooled weighted summary (chunks weigh by their
    number of trials), and their MCSE is ``(Q(q + s) - Q(q - s)) / 2`` with
    ``s = sqrt(q (1 - q) / n)`` and ``n`` the number of trials simulated.
    """
    t0 = time.perf_counter()
    items = _as_designs(designs)
    multi = _is_cohort_design(items[0])
    run_conduct: Conduct | _Conducts
    if not multi:
        conduct = Conduct() if conduct is None else conduct
        if not isinstance(conduct, Conduct):
            raise fail("conduct", "simulate", "a Conduct", conduct)
        run_conduct = conduct
    else:
        run_conduct = _cohort_conducts(conduct, items[0].names)
    chunk_size = check_int(chunk_size, "chunk_size", "simulate", low=100)
    if not callable(workers):
        workers = check_int(workers, "workers", "simulate", low=1)
    if n_sims is not None and mcse is not None:
        raise DesignError("give `n_sims` or `mcse` to simulate, not both.")
    if mcse is not None:
        mcse = check_real(mcse, "mcse", "simulate", low=0.0, low_open=True, high=0.5)
    n_sims = 10_000 if n_sims is None and mcse is None else n_sims
    if n_sims is not None:
        n_sims = check_int(n_sims, "n_sims", "simulate", low=1)
    if multi:
        scen: tuple[Any, ...] = _cohort_scenarios(scenarios, items)
    else:
        scen = as_scenarios(
            scenarios,
            p0=items[0].p0,
            p1=items[0].p1,
            default=items[0].scenarios or (0.3, 0.4, 0.5, 0.6),
        )
    _guard(items, scen, run_conduct, n_sims if n_sims is not None else max_sims, chunk_size,
           workers if client is None else 1)
    if seed is None and checkpoint is not None:
        # resuming without a seed: continue the saved run's random streams
        seed = ChunkStore.saved_seed(checkpoint)
    root = seed_sequence(seed)
    manifest = _manifest(items, scen, run_conduct, root, chunk_size)
    ckpt = None if checkpoint is None else ChunkStore(checkpoint, manifest)

    setup = None
    if multi:
        # every process decides with the parent's tables: identical bits for any worker count
        setup = _MultiSetup.factory(items, cast(_Conducts, run_conduct))
    results: dict[tuple[int, int], dict[str, dict[str, np.ndarray]]] = {}
    show = wanted(progress)
    target_chunks = None if n_sims is None else -(-n_sims // chunk_size)
    done_chunks = 0
    step = target_chunks or 2
    try:
        while True:
            upto = target_chunks if target_chunks is not None else done_chunks + step
            tasks = []
            for i, s in enumerate(scen):
                for c in range(done_chunks, upto):
                    size = chunk_size
                    if n_sims is not None and c == upto - 1:
                        size = n_sims - c * chunk_size
                    tasks.append(_task(items, i, s, c, size))
            _execute(
                tasks, items, run_conduct, root, chunk_size, workers, client, ckpt, results, show,
                setup,
            )
            done_chunks = upto
            if target_chunks is not None:
                break
            worst = _worst_mcse(results, items, scen, done_chunks)
            assert mcse is not None  # target_chunks is None only when mcse is given
            if worst <= mcse or done_chunks * chunk_size >= max_sims:
                if worst > mcse:
                    warnings.warn(
                        f"p_efficacy MCSE {worst:.2g} is above the requested {mcse:g} after "
                        f"{done_chunks * chunk_size} trials per scenario (max_sims).",
                        PrecisionWarning,
                        stacklevel=2,
                    )
                break
            step = done_chunks  # double the run
    except KeyboardInterrupt:
        saved = ckpt.count() if ckpt is not None else 0
        total = len(scen) * (target_chunks or done_chunks)
        msg = (
            f"interrupted: {saved} of {total} chunks saved in {ckpt.folder}; rerun the same "
            "command to resume"
            if ckpt is not None
            else "interrupted (no --checkpoint: nothing saved)"
        )
        raise KeyboardInterrupt(msg) from None
    head = (items, scen, results, done_chunks, root, chunk_size)
    tail = (time.perf_counter() - t0, workers, client)
    if isinstance(run_conduct, Conduct):  # single-cohort designs (multi is False)
        return _dataset(*head, run_conduct, *tail)
    return _dataset_multi(*head, run_conduct, *tail)


def _guard(
    items: Sequence[Any],
    scen: Sequence[Any],
    conduct: Conduct | _Conducts,
    n_sims: int,
    chunk_size: int,
    workers: Any,
) -> None:
    """Refuse the run before it starts if its estimated memory is over the limit."""
    if isinstance(conduct, Conduct):
        cost = trials_cost(items, len(scen), n_sims, chunk_size, conduct, workers)
        remedy = REMEDY_SIMULATE
        size = f"{max(d.n_max for d in items)} patients"
    else:
        rates = max(len({s.rate(c) for s in scen}) for c in items[0].names)
        tables, chunks = cohort_trials_cost(items, len(scen), n_sims, chunk_size, conduct, workers,
                                            true_rates=rates)
        cost = Cost(tables.nbytes + chunks.nbytes, tables.seconds + chunks.seconds)
        remedy = (
            "use fewer cohorts or patients, or a coarser QuadratureGrid"
            if tables.nbytes > chunks.nbytes
            else REMEDY_SIMULATE
        )
        size = f"{len(items[0].cohorts)} cohorts"
    what = (
        f"simulation of {n_sims} trials x {len(scen)} scenario{'s' * (len(scen) != 1)} of "
        + (f"design {items[0].name!r}" if len(items) == 1 else f"{len(items)} designs")
        + f" ({size}, chunks of {min(chunk_size, n_sims)})"
    )
    require_memory(cost.nbytes, what, remedy, seconds=cost.seconds)


def _as_designs(designs: Any) -> list[Any]:
    """The designs of one run: all single-cohort or all multi-cohort, distinct names."""

    def kind(d: Any) -> str | None:
        return "single" if isinstance(d, Design) else "multi" if _is_cohort_design(d) else None

    items = [designs] if kind(designs) else list(designs) if isinstance(designs, Iterable) else []
    kinds = {kind(d) for d in items}
    if not items or len(kinds) != 1 or None in kinds:
        raise fail(
            "designs",
            "simulate",
            "a Design, a CohortDesign, or a list of designs of one of these kinds",
            designs,
        )
    names = [d.name for d in items]
    if len(set(names)) != len(names):
        raise fail("designs", "simulate", "designs with distinct names", names)
    if _is_cohort_design(items[0]):
        cohorts = sorted(items[0].names)
        for d in items[1:]:
            if sorted(d.names) != cohorts:
                raise fail(
                    "designs", "simulate", f"CohortDesigns with the cohorts {cohorts}", d.names
                )
    return items


def _task(designs: Sequence[Any], i: int, s: Any, chunk: int, size: int) -> _Task:
    if not s.joint:
        return _Task(i, s.key, s.p, chunk, size)
    rates = tuple((c, s.rate(c)) for c in designs[0].names)
    return _Task(i, tuple(_cohort_key(c, p) for c, p in rates), rates, chunk, size)


def _execute(
    tasks: Sequence[_Task],
    designs: Sequence[Any],
    conduct: Conduct | _Conducts,
    root: np.random.SeedSequence,
    chunk_size: int,
    workers: int | Callable[..., Any],
    client: Any,
    ckpt: ChunkStore | None,
    results: dict[tuple[int, int], dict[str, dict[str, np.ndarray]]],
    show: bool,
    setup: Callable[[_Task], _MultiSetup] | None = None,
) -> None:
    """Run the chunks not yet in ``ckpt``; ``setup(task)``, if given, replaces ``conduct``."""
    todo = []
    for t in tasks:
        if ckpt is not None and ckpt.has(t.scenario, t.chunk):
            results[(t.scenario, t.chunk)] = ckpt.load(t.scenario, t.chunk)
        else:
            todo.append(t)
    payloads = [
        (
            tuple(designs),
            conduct if setup is None else setup(t),
            root.entropy,
            tuple(root.spawn_key),
            t,
            chunk_size,
        )
        for t in todo
    ]
    bar = progress_bar(len(tasks), "simulate", enabled=show and len(tasks) > 1,
                       initial=len(tasks) - len(todo))

    def keep(out: tuple[int, int, dict[str, dict[str, np.ndarray]]]) -> None:
        i, c, stats = out
        results[(i, c)] = stats
        if ckpt is not None:
            ckpt.save(i, c, stats)
        bar.update(1)

    if client is not None:
        from dask.distributed import as_completed as dask_as_completed

        futures = client.map(_run_task, payloads, pure=False)
        # dask's as_completed is an unannotated class
        for fut in dask_as_completed(futures):  # type: ignore[no-untyped-call]
            keep(fut.result())
    elif callable(workers):
        for out in workers(_run_task, payloads):
            keep(out)
    elif workers > 1 and len(payloads) > 1:
        from concurrent.futures import ProcessPoolExecutor, as_completed

        with ProcessPoolExecutor(
            max_workers=int(workers),
            initializer=signal.signal,
            initargs=(signal.SIGINT, signal.SIG_IGN),
        ) as ex:
            futs = [ex.submit(_run_task, p) for p in payloads]
            for f in as_completed(futs):
                keep(f.result())
    else:
        for p in payloads:
            keep(_run_task(p))
    bar.close()
