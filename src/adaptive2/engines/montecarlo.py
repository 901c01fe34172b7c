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
from adaptive2._base.validation import check_int, check_probability, check_real, fail
from adaptive2._base.version import __version__
from adaptive2.engines.simulation_summaries import _collect, _dataset, _Task, _worst_mcse
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
from adaptive2.engines.trials_single import (
    TOX_STREAM,
    ToxicityTruth,
    _chunk_stats,
    _kernel,
    toxicity_monitor,
)
from adaptive2.kernels.sizes import Cost
from adaptive2.model.conduct import Conduct
from adaptive2.model.designs import Design
from adaptive2.model.scenarios import Scenario, as_scenarios
from adaptive2.model.toxicity import ToxicityMonitor

__all__ = ["simulate"]


CHUNK_SIZE = 10_000


# ---------------------------------------------------------------------------
# Running tasks: in process, processes, or Dask
# ---------------------------------------------------------------------------
def _run_task(payload: tuple[Any, ...]) -> tuple[int, int, dict[str, dict[str, np.ndarray]]]:
    designs, conduct, entropy, spawn, task, chunk_size = payload[:6]
    tox = payload[6] if len(payload) > 6 else None  # ToxicityTruth of the task's scenario
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
        tox=tox,
        tox_blocks=None if tox is None else (
            lambda b: stream(root, task.key, task.chunk, b, TOX_STREAM)
        ),
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
    tox: Sequence[ToxicityTruth] | None = None,
) -> dict[str, Any]:

    multi = not isinstance(conduct, Conduct)

    def setting(c: Conduct) -> dict[str, Any]:
        out = asdict(c)
        if tox is None:  # no toxicity monitor: its delay plays no part (older manifests match)
            out.pop("tox_delay", None)
        return out

    manifest = {
        "adaptive2_version": __version__,
        "designs": {d.name: d.hash for d in designs},
        "scenarios": [
            [s.name, [[c, s.rate(c)] for c in designs[0].names] if multi else s.p] for s in scen
        ],
        "conduct": setting(conduct) if isinstance(conduct, Conduct) else {
            c: setting(x) for c, x in conduct
        },
        "seed_entropy": str(root.entropy),
        "chunk_size": chunk_size,
        "chunk_stats": CHUNK_STATS,
    }
    if tox is not None:
        manifest["toxicity"] = [[t.rate, t.odds_ratio] for t in tox]
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
    tox: float | Sequence[float] | None = None,
    odds_ratio: float | None = None,
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
    tox : float or sequence of float, optional
        Single-cohort designs with a toxicity monitor (``design.toxicity``):
        true rates of the monitored event, each crossed with every response
        scenario (scenarios named ``"<scenario>, q=<rate>"`` when there are
        several, toxicity-major: every response scenario at the first rate,
        then at the next, as in the exact OC). Default: a scenario's own
        ``toxicity``, else the first monitored design's ``toxicity_rates``,
        else its monitor's ``acceptable`` and ``limit`` rates (the grid of the
        exact OC). An error if no design has a monitor.
    odds_ratio : float, optional
        Odds ratio of response and the event in a patient, finite and > 0
        (1: independent; > 1: responders have the event more often). Default:
        a scenario's own ``odds_ratio``, else the first monitored design's
        ``toxicity_odds_ratio`` (1 unless set). Only with a toxicity monitor.
        The event's delay is the conduct's ``tox_delay``.

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

        When a design has a toxicity monitor (see
        :mod:`adaptive2.engines.trials_single` for the model) the Dataset also
        holds ``p_stop_toxicity`` (P(the trial stopped for toxicity)) with its
        ``_mcse`` (0 for a design without a monitor), ``p_stop_toxicity_at``
        (per monitoring point, dim ``tox_check``, with ``_mcse``; NaN beyond a
        design's points), the scenario coordinates ``toxicity_rate`` and
        ``odds_ratio``, and the attr ``tox_delay``. ``p_early_stop`` then counts
        toxicity stops before ``N`` patients, ``p_final_fail`` does not count
        toxicity stops, and ``p_efficacy + p_futility + p_final_fail +
        p_stop_toxicity = 1`` (the identity of
        :func:`adaptive2.kernels.joint.joint_oc`).

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
    scen, truth = _toxicity_iv(items, scen, tox, odds_ratio, multi)
    _guard(items, scen, run_conduct, n_sims if n_sims is not None else max_sims, chunk_size,
           workers if client is None else 1)
    if seed is None and checkpoint is not None:
        # resuming without a seed: continue the saved run's random streams
        seed = ChunkStore.saved_seed(checkpoint)
    root = seed_sequence(seed)
    manifest = _manifest(items, scen, run_conduct, root, chunk_size, truth)
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
                setup, truth,
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
        ds = _dataset(*head, run_conduct, *tail)
        if truth is not None:
            return _toxicity_variables(ds, items, scen, results, done_chunks, truth, run_conduct)
    else:
        ds = _dataset_multi(*head, run_conduct, *tail)
    _drop_tox_delay(ds)
    return ds


def _drop_tox_delay(ds: Any) -> None:
    """Without a toxicity monitor the ``conduct`` attr omits ``tox_delay``, as it always did."""

    def drop(d: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in d.items() if k != "tox_delay"}

    setting = json.loads(ds.attrs["conduct"])
    if "tox_delay" in setting:
        ds.attrs["conduct"] = json.dumps(drop(setting))
    elif all(isinstance(v, dict) for v in setting.values()):  # one setting per cohort
        ds.attrs["conduct"] = json.dumps({c: drop(v) for c, v in setting.items()})


def _toxicity_iv(
    items: Sequence[Any],
    scen: tuple[Any, ...],
    tox: Any,
    odds_ratio: Any,
    multi: bool,
) -> tuple[tuple[Any, ...], tuple[ToxicityTruth, ...] | None]:
    """The scenarios of the run and their true toxicity (None when no design has a monitor).

    A scenario that gives its own toxicity rate keeps it (and appears once); the
    others are crossed with ``tox`` or, by default, the first monitored design's
    rates, toxicity-major (the order of the exact engine,
    :mod:`adaptive2.engines.toxicity_oc`).
    """
    owner = "simulate"
    if multi:
        watched = [d.name for d in items if getattr(d, "toxicity", None)]
        if watched:  # refuse rather than leave the toxicity stops out silently
            raise DesignError(
                f"simulate cannot run the multi-cohort design(s) {watched} yet: they have "
                "toxicity monitors (`toxicity` of CohortDesign), and the multi-cohort "
                "trial-conduct simulation does not stop cohorts for toxicity; use the exact "
                "oc(), or drop the monitors to simulate efficacy alone."
            )
    monitored = [] if multi else [d for d in items if toxicity_monitor(d) is not None]
    if not monitored:
        for name, value in (("tox", tox), ("odds_ratio", odds_ratio)):
            if value is not None:
                raise fail(
                    name,
                    owner,
                    "None unless a single-cohort design has a toxicity monitor (`toxicity` of "
                    f"Design, the design file's [toxicity] table); {[d.name for d in items]} "
                    "have none",
                    value,
                )
        return scen, None
    first = monitored[0]
    if odds_ratio is not None:
        odds_ratio = check_real(
            odds_ratio, "odds_ratio", owner, low=0.0, low_open=True, finite=True,
            allowed="a finite number > 0 (1: response and toxicity independent)",
        )
    if tox is None:
        mon = cast(ToxicityMonitor, first.toxicity)
        rates = tuple(first.toxicity_rates) or (mon.acceptable, mon.limit)
    elif isinstance(tox, Iterable) and not isinstance(tox, str | bytes):
        rates = tuple(check_probability(q, "tox", owner, closed=True) for q in tox)
        if not rates or len(set(rates)) != len(rates):
            raise fail("tox", owner, "distinct true toxicity rates in [0, 1]", list(tox))
    else:
        rates = (check_probability(tox, "tox", owner, closed=True),)
    out, truth = [], []
    for i, q in enumerate(rates):  # toxicity-major, as the exact engine orders them
        for s in scen:
            own = s.tox_rate() if tox is None else None
            if own is not None and i > 0:
                continue  # a scenario with its own toxicity rate appears once
            psi = odds_ratio if odds_ratio is not None else s.odds_ratio_of()
            psi = float(first.toxicity_odds_ratio if psi is None else psi)
            if own is not None:
                out.append(s)
                truth.append(ToxicityTruth(float(own), psi))
                continue
            name = s.name if len(rates) == 1 else f"{s.name}, q={q:.4g}"
            out.append(Scenario(name, s.p, s.role, toxicity=q, odds_ratio=psi))
            truth.append(ToxicityTruth(q, psi))
    names = [s.name for s in out]
    if len(set(names)) != len(names):
        raise fail("scenarios", owner, "scenarios with distinct names", names)
    return tuple(out), tuple(truth)


def _toxicity_variables(
    ds: Any,
    items: Sequence[Any],
    scen: Sequence[Any],
    results: Any,
    n_chunks: int,
    truth: Sequence[ToxicityTruth],
    conduct: Conduct,
) -> Any:
    """Add the toxicity figures to the Dataset of a run with a monitored design."""
    acc = _collect(results, items, scen, n_chunks)
    D, S = len(items), len(scen)
    mons = [toxicity_monitor(d) for d in items]
    J = max(len(m.monitor) for m in mons if m is not None)
    p_tox = np.zeros((D, S))
    p_tox_at = np.full((D, S, J), np.nan)
    early = ds["p_early_stop"].values.copy()
    for di, (d, mon) in enumerate(zip(items, mons, strict=True)):
        if mon is None:  # never stops for toxicity
            continue
        for si in range(S):
            a = acc[d.name][si]
            at = a["tox_stop"] / a["count"][0]
            p_tox_at[di, si, : len(at)] = at
            p_tox[di, si] = at.sum()
            early[di, si] += at[np.asarray(mon.monitor) < d.n_max].sum()
    n_sims = ds["n_sims"].values
    cell, per_check = ("design", "scenario"), ("design", "scenario", "tox_check")
    ds = ds.copy()
    ds["p_stop_toxicity"] = (cell, p_tox)
    ds["p_stop_toxicity_mcse"] = (cell, np.sqrt(p_tox * (1 - p_tox) / n_sims))
    ds["p_stop_toxicity_at"] = (per_check, p_tox_at)
    ds["p_stop_toxicity_at_mcse"] = (
        per_check, np.sqrt(p_tox_at * (1 - p_tox_at) / n_sims[..., None])
    )
    ds["p_early_stop"] = (cell, early)
    ds["p_early_stop_mcse"] = (cell, np.sqrt(early * (1 - early) / n_sims))
    ds = ds.assign_coords(
        toxicity_rate=("scenario", [t.rate for t in truth]),
        odds_ratio=("scenario", [t.odds_ratio for t in truth]),
        tox_check=np.arange(1, J + 1),
    )
    ds.attrs["tox_delay"] = conduct.describe_toxicity()
    return ds


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
    truth: Sequence[ToxicityTruth] | None = None,
) -> None:
    """Run the chunks not yet in ``ckpt``; ``setup(task)``, if given, replaces ``conduct``.

    ``truth`` (one per scenario) is the true toxicity of runs with a monitored design.
    """
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
        + (() if truth is None else (truth[t.scenario],))
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
