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
  ``delay`` months after enrolment (fixed, or uniform on [low, high]).
* Interim k is triggered when ``n_k`` evaluable patients have a known response;
  the decision uses exactly those ``n_k`` outcomes and the design's integer
  boundaries. ``on_interim="continue"`` keeps enrolling meanwhile (patients
  enrolled but pending count toward N and, if the trial continues, are analysed
  later); ``"pause"`` stops enrolment at the ``n_k``-th evaluable patient and
  resumes after the decision (``decision_lag`` months after the trigger).
* The final analysis uses the first ``N`` evaluable outcomes.

Reproducibility: random numbers are patient-level uniforms drawn per
(scenario key, chunk, block of 16 patients) from
``SeedSequence(entropy, spawn_key=(key, chunk, block))``
with a fixed chunk size, so results are bit-identical for any number of
workers, any completion order and after a resume; every design in one run sees
the same simulated patients (common random numbers).
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from adaptive2._rng import seed_sequence, stream
from adaptive2._validation import check_choice, check_int, check_real, fail
from adaptive2.designs import Design
from adaptive2.errors import Adaptive2Error, DesignError, PrecisionWarning
from adaptive2.scenarios import Scenario, as_scenarios

__all__ = ["Conduct", "simulate"]

CHUNK_SIZE = 10_000


@dataclass(frozen=True, slots=True)
class Conduct:
    """How a trial is run in calendar time.

    Parameters
    ----------
    rates : tuple of float
        Accrual rates (patients per month) for successive periods.
    starts : tuple of float
        Start of each period (months); the first must be 0.
    delay : float or (low, high)
        Months from enrolment to a known confirmed response: fixed, or uniform.
    p_nonevaluable : float
        Probability that a patient is never evaluable (replaced).
    on_interim : {"continue", "pause"}
        Keep enrolling while an interim is pending, or pause until the decision.
    decision_lag : float
        Months from an interim trigger to its decision.
    """

    rates: tuple[float, ...] = (2.0,)
    starts: tuple[float, ...] = (0.0,)
    delay: float | tuple[float, float] = 2.5
    p_nonevaluable: float = 0.0
    on_interim: str = "continue"
    decision_lag: float = 0.0

    def __post_init__(self) -> None:
        owner = "Conduct"
        rates = tuple(
            check_real(r, "rates", owner, low=0.0, low_open=True, allowed="rates > 0")
            for r in (self.rates if isinstance(self.rates, Iterable) else (self.rates,))
        )
        starts = tuple(
            check_real(s, "starts", owner, low=0.0)
            for s in (self.starts if isinstance(self.starts, Iterable) else (self.starts,))
        )
        if not rates or len(rates) != len(starts) or starts[0] != 0.0:
            raise fail("starts", owner, "one start per rate, the first 0", list(starts))
        if any(b <= a for a, b in itertools.pairwise(starts)):
            raise fail("starts", owner, "increasing period starts", list(starts))
        object.__setattr__(self, "rates", rates)
        object.__setattr__(self, "starts", starts)
        d = self.delay
        if isinstance(d, Sequence) and not isinstance(d, str):
            if len(d) != 2:
                raise fail("delay", owner, "a number or (low, high)", d)
            lo = check_real(d[0], "delay", owner, low=0.0)
            hi = check_real(d[1], "delay", owner, low=lo)
            object.__setattr__(self, "delay", (lo, hi))
        else:
            object.__setattr__(self, "delay", check_real(d, "delay", owner, low=0.0))
        object.__setattr__(
            self,
            "p_nonevaluable",
            check_real(self.p_nonevaluable, "p_nonevaluable", owner, low=0.0, high=0.95),
        )
        check_choice(self.on_interim, "on_interim", owner, ("continue", "pause"))
        object.__setattr__(
            self, "decision_lag", check_real(self.decision_lag, "decision_lag", owner, low=0.0)
        )

    @property
    def trivial(self) -> bool:
        """True if conduct cannot change the exact OC (no delay, no dropout)."""
        return self.delay == 0.0 and self.p_nonevaluable == 0.0

    def arrival_times(self, exp_gaps: np.ndarray, start: np.ndarray | float = 0.0) -> np.ndarray:
        """Map unit-rate Poisson event times to calendar times (piecewise rates)."""
        # Unit-rate cumulative "work" W; calendar time t with Lambda(t) = W, Lambda
        # the integrated rate from `start`.
        work = np.cumsum(exp_gaps, axis=-1)
        if len(self.rates) == 1:
            return start + work / self.rates[0]
        starts = np.asarray(self.starts)
        rates = np.asarray(self.rates)
        # integrated rate at each period start, measured from time 0; shift by start
        base = np.concatenate([[0.0], np.cumsum(np.diff(starts) * rates[:-1])])
        st = np.asarray(start, dtype=float)
        k = np.searchsorted(starts, st, "right") - 1  # period containing `start`
        lam_start = base[k] + (st - starts[k]) * rates[k]
        target = (lam_start[..., None] if np.ndim(lam_start) else lam_start) + work
        j = np.searchsorted(base, target, "right") - 1
        return starts[j] + (target - base[j]) / rates[j]


@dataclass(frozen=True)
class _Task:
    scenario: int
    key: int
    p: float
    chunk: int
    size: int


# ---------------------------------------------------------------------------
# The vectorised kernel: one chunk of one scenario for every design
# ---------------------------------------------------------------------------
BLOCK = 16  # patients per random-number block


def _kernel(
    designs: Sequence[Design],
    conduct: Conduct,
    p: float,
    blocks: Callable[[int], np.random.Generator],
    size: int,
    chunk_size: int,
) -> dict[str, np.ndarray]:
    """Simulate ``size`` trials; return per-design per-trial results.

    Patient-level uniforms come in blocks of ``BLOCK`` patients, block b drawn from
    its own stream ``blocks(b)``, so a trial's first patients are the same whatever
    number of patients the run needs (other designs, dropout) — common random
    numbers in the strict sense.
    """
    n_max = max(d.n_max for d in designs)
    q = conduct.p_nonevaluable
    # patients to draw: enough to find n_max evaluable ones with overwhelming probability
    m = int(np.ceil(n_max / (1 - q) + 8 * np.sqrt(n_max * q / (1 - q) ** 2 + 1))) + 5
    n_blocks = -(-m // BLOCK)
    m = n_blocks * BLOCK
    # fixed-size draws (chunk_size, not size) keep streams identical for partial chunks
    u = np.concatenate(
        [blocks(b).random((chunk_size, 4, BLOCK))[:size] for b in range(n_blocks)], axis=2
    )
    u_gap, u_eval, u_resp, u_delay = u[:, 0], u[:, 1], u[:, 2], u[:, 3]
    gaps = -np.log1p(-u_gap)  # unit exponential
    evaluable = u_eval >= q
    response = (u_resp < p) & evaluable
    d = conduct.delay
    delay = d[0] + (d[1] - d[0]) * u_delay if isinstance(d, tuple) else np.full((size, m), d)
    # index (enrolment order) of each trial's evaluable patients
    ev_rank = np.cumsum(evaluable, axis=1)  # number of evaluable among first i+1
    if (ev_rank[:, -1] < n_max).any():
        raise Adaptive2Error("internal: too few simulated patients; report this as a bug.")
    return {
        d.name: _one_design(d, conduct, gaps, evaluable, response, delay, ev_rank) for d in designs
    }


def _one_design(
    design: Design,
    conduct: Conduct,
    gaps: np.ndarray,
    evaluable: np.ndarray,
    response: np.ndarray,
    delay: np.ndarray,
    ev_rank: np.ndarray,
) -> dict[str, np.ndarray]:
    size, m = gaps.shape
    looks = np.asarray(design.looks)
    _, a, b = design.boundaries().arrays()
    K = len(looks)
    N = design.n_max
    rows = np.arange(size)
    # position (enrolment index) of the j-th evaluable patient, j = 1..N
    pos_of = np.argmax(ev_rank[:, :, None] >= np.arange(1, N + 1)[None, None, :], axis=1)
    last_needed = pos_of[:, N - 1]  # index of the N-th evaluable patient (enrolment stops)
    enrolled_mask = np.arange(m)[None, :] <= last_needed[:, None]  # enrolment closes there
    alive = np.ones(size, dtype=bool)
    stop_look = np.full(size, K - 1)
    reason = np.full(size, -1)  # 0 futility, 1 efficacy, 2 final fail/consider
    t_stop = np.zeros(size)
    r_at_stop = np.zeros(size, dtype=int)
    n_at_stop = np.zeros(size, dtype=int)
    t_decision = np.full((size, K), np.nan)
    # arrival times; in pause mode each interim shifts later arrivals
    arrival = conduct.arrival_times(gaps)
    for k in range(K):
        nk = int(looks[k])
        pos_k = pos_of[:, nk - 1]  # enrolment index of the n_k-th evaluable patient
        mask = enrolled_mask
        if conduct.on_interim == "pause":
            # enrolment is paused after the n_k-th evaluable patient
            mask = mask & (np.arange(m)[None, :] <= pos_k[:, None])
        known = np.where(evaluable & mask, arrival + delay, np.inf)
        # trigger: n_k evaluable outcomes known -> the n_k-th smallest known time
        part = np.partition(known, nk - 1, axis=1)
        t_trig = part[:, nk - 1]
        in_analysis = known <= t_trig[:, None]
        # ties at t_trig (fixed delays and identical times) cannot happen with continuous gaps
        r_k = (response & in_analysis).sum(axis=1)
        t_dec = t_trig + conduct.decision_lag
        t_decision[alive, k] = t_dec[alive]
        fut = alive & (r_k <= a[k])
        eff = alive & (r_k >= b[k])
        consider = alive & ~fut & ~eff if k == K - 1 else np.zeros(size, dtype=bool)
        stopping = fut | eff | consider
        reason[fut] = 0
        reason[eff] = 1
        reason[consider] = 2  # final look between the boundaries (dual designs)
        stop_look[stopping] = k
        t_stop[stopping] = t_dec[stopping]
        r_at_stop[stopping] = r_k[stopping]
        n_at_stop[stopping] = nk
        alive &= ~stopping
        if conduct.on_interim == "pause" and k < K - 1:
            # enrolment paused after the n_k-th evaluable patient until the decision
            shift = np.maximum(t_dec - arrival[rows, pos_k], 0.0)
            later = np.arange(m)[None, :] > pos_k[:, None]
            arrival = np.where(later, arrival + shift[:, None], arrival)
    # patients enrolled: every patient who arrived by the stopping time, but never
    # beyond the N-th evaluable one (enrolment closes there); at the final look all
    # up to the N-th evaluable patient
    final = stop_look == K - 1
    cap = last_needed + 1
    enrolled_by_time = (arrival <= t_stop[:, None]).sum(axis=1)
    if conduct.on_interim == "pause":
        # no enrolment while an interim is pending: at most the n_k-th evaluable patient
        pos_stop = pos_of[rows, looks[stop_look] - 1] + 1
        enrolled = np.where(final, cap, np.minimum(enrolled_by_time, pos_stop))
    else:
        enrolled = np.where(final, cap, np.minimum(enrolled_by_time, cap))
    duration = t_stop
    # posterior mean and 95% interval of the ORR at the stopping analysis
    est, lo, hi = _estimate_tables(design)
    idx = np.searchsorted(looks, n_at_stop)
    post_mean = est[idx, r_at_stop]
    return {
        "stop_look": stop_look,
        "reason": reason,
        "n_analysed": n_at_stop,
        "enrolled": enrolled,
        "duration": duration,
        "t_decision": t_decision,
        "post_mean": post_mean,
        "lo": lo[idx, r_at_stop],
        "hi": hi[idx, r_at_stop],
        "n_drawn": m,
    }


_ESTIMATES: dict[Design, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}


def _estimate_tables(design: Design) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Posterior mean and 95% equal-tailed interval for every (look, r)."""
    if design in _ESTIMATES:
        return _ESTIMATES[design]
    K, N = design.n_looks, design.n_max
    est = np.full((K, N + 1), np.nan)
    lo = np.full((K, N + 1), np.nan)
    hi = np.full((K, N + 1), np.nan)
    for k, n in enumerate(design.looks):
        for r in range(n + 1):
            post = design.prior.update(r, n)
            est[k, r] = post.mean
            lo[k, r], hi[k, r] = post.interval(0.95)
    _ESTIMATES[design] = (est, lo, hi)
    return est, lo, hi


# ---------------------------------------------------------------------------
# Summaries
# ---------------------------------------------------------------------------
def _chunk_stats(res: dict[str, np.ndarray], design: Design, p: float) -> dict[str, np.ndarray]:
    """Sufficient statistics of one chunk (sums, so chunks add up in a fixed order)."""
    K = design.n_looks
    stop = np.zeros((K, 3))
    for k in range(K):
        at = res["stop_look"] == k
        for j in range(3):
            stop[k, j] = np.count_nonzero(at & (res["reason"] == j))
    n = res["n_analysed"].astype(float)
    e = res["enrolled"].astype(float)
    t = res["duration"]
    err = res["post_mean"] - p
    cov = (res["lo"] <= p) & (res["hi"] >= p)
    td = res["t_decision"]
    return {
        "count": np.array([len(n)], dtype=float),
        "stop": stop,
        "n_sum": np.array([n.sum(), (n**2).sum()]),
        "enrolled_sum": np.array([e.sum(), (e**2).sum()]),
        "enrolled_hist": np.bincount(res["enrolled"], minlength=res["n_drawn"] + 1).astype(float),
        "duration_sum": np.array([t.sum(), (t**2).sum()]),
        "duration_sample": np.sort(t)[:: max(1, len(t) // 200)],
        "bias_sum": np.array([err.sum(), (err**2).sum()]),
        "cover_sum": np.array([cov.sum()], dtype=float),
        "t_decision_sum": np.nan_to_num(np.nansum(td, axis=0)),
        "t_decision_count": (~np.isnan(td)).sum(axis=0).astype(float),
    }


def _add(acc: dict[str, np.ndarray] | None, new: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    if acc is None:
        return {k: v.copy() for k, v in new.items()}
    out = {}
    for k, v in acc.items():
        if k == "duration_sample":
            out[k] = np.concatenate([v, new[k]])
        else:
            out[k] = v + new[k]
    return out


# ---------------------------------------------------------------------------
# Running tasks: in process, processes, or Dask
# ---------------------------------------------------------------------------
def _run_task(payload: tuple) -> tuple[int, int, dict[str, dict[str, np.ndarray]]]:
    designs, conduct, entropy, spawn, task, chunk_size = payload
    root = np.random.SeedSequence(entropy, spawn_key=tuple(spawn))
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
    designs: Sequence[Design],
    scen: Sequence[Scenario],
    conduct: Conduct,
    root: np.random.SeedSequence,
    chunk_size: int,
) -> dict[str, Any]:
    from adaptive2 import __version__

    return {
        "adaptive2_version": __version__,
        "designs": {d.name: d.hash for d in designs},
        "scenarios": [[s.name, s.p] for s in scen],
        "conduct": json.loads(json.dumps(asdict(conduct))),
        "seed_entropy": str(root.entropy),
        "chunk_size": chunk_size,
    }


def _save_chunk(path: Path, stats: dict[str, dict[str, np.ndarray]]) -> None:
    flat = {f"{d}::{k}": v for d, s in stats.items() for k, v in s.items()}
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, **flat)
    os.replace(tmp, path)


def _load_chunk(path: Path) -> dict[str, dict[str, np.ndarray]]:
    out: dict[str, dict[str, np.ndarray]] = {}
    with np.load(path) as z:
        for key in z.files:
            d, k = key.split("::", 1)
            out.setdefault(d, {})[k] = z[key]
    return out


def simulate(
    designs: Design | Sequence[Design],
    scenarios: Iterable[float | Scenario] | None = None,
    *,
    conduct: Conduct | None = None,
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
    """Simulate trial conduct for one or several single-cohort designs.

    Parameters
    ----------
    designs : Design or sequence of Design
        Designs compared on the same simulated patients (common random numbers).
    scenarios : iterable of float or Scenario, optional
        True response rates; default the first design's scenarios.
    conduct : Conduct, optional
        Accrual, delay, dropout and interim behaviour (default: 2 patients per
        month, 2.5-month delay, no dropout, enrolment continues at interims).
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
        :func:`adaptive2.oc.oc` with ``_mcse`` twins, plus ``expected_enrolled``,
        ``mean_duration`` and duration quantiles, ``mean_time_to_decision`` per
        look, ``bias`` and ``coverage`` of the posterior-mean ORR estimate,
        ``p_enrolled`` (distribution of patients enrolled), and the paired
        differences against the first design ``p_efficacy_diff`` and
        ``expected_enrolled_diff`` with their own ``_mcse`` (common random numbers
        make them much smaller than the unpaired MCSE).
    """
    t0 = time.perf_counter()
    items = [designs] if isinstance(designs, Design) else list(designs)
    if not items or not all(isinstance(d, Design) for d in items):
        raise fail("designs", "simulate", "a Design or a list of single-cohort designs", designs)
    names = [d.name for d in items]
    if len(set(names)) != len(names):
        raise fail("designs", "simulate", "designs with distinct names", names)
    conduct = Conduct() if conduct is None else conduct
    if not isinstance(conduct, Conduct):
        raise fail("conduct", "simulate", "a Conduct", conduct)
    chunk_size = check_int(chunk_size, "chunk_size", "simulate", low=100)
    if n_sims is not None and mcse is not None:
        raise DesignError("give `n_sims` or `mcse` to simulate, not both.")
    if mcse is not None:
        mcse = check_real(mcse, "mcse", "simulate", low=0.0, low_open=True, high=0.5)
    n_sims = 10_000 if n_sims is None and mcse is None else n_sims
    if n_sims is not None:
        n_sims = check_int(n_sims, "n_sims", "simulate", low=1)
    scen = as_scenarios(
        scenarios,
        p0=items[0].p0,
        p1=items[0].p1,
        default=items[0].scenarios or (0.3, 0.4, 0.5, 0.6),
    )
    ckpt = None if checkpoint is None else Path(checkpoint)
    if seed is None and ckpt is not None and (ckpt / "manifest.json").exists():
        # resuming without a seed: continue the saved run's random streams
        seed = int(json.loads((ckpt / "manifest.json").read_text())["seed_entropy"])
    root = seed_sequence(seed)
    manifest = _manifest(items, scen, conduct, root, chunk_size)
    if ckpt is not None:
        ckpt.mkdir(parents=True, exist_ok=True)
        mpath = ckpt / "manifest.json"
        if mpath.exists():
            old = json.loads(mpath.read_text())
            if old != manifest:
                diff = sorted(k for k in manifest if old.get(k) != manifest[k])
                raise Adaptive2Error(
                    f"checkpoint {ckpt} belongs to a different run (differs in {diff}); "
                    "use another directory or delete it."
                )
        else:
            tmp = mpath.with_suffix(".tmp")
            tmp.write_text(json.dumps(manifest, indent=1, sort_keys=True))
            os.replace(tmp, mpath)

    results: dict[tuple[int, int], dict[str, dict[str, np.ndarray]]] = {}
    show = _progress_on(progress)
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
                    tasks.append(_Task(i, s.key, s.p, c, size))
            _execute(tasks, items, conduct, root, chunk_size, workers, client, ckpt, results, show)
            done_chunks = upto
            if target_chunks is not None:
                break
            worst = _worst_mcse(results, items, scen, done_chunks)
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
        saved = len(list(ckpt.glob("chunk-*.npz"))) if ckpt is not None else 0
        total = len(scen) * (target_chunks or done_chunks)
        msg = (
            f"interrupted: {saved} of {total} chunks saved in {ckpt}; rerun the same "
            "command to resume"
            if ckpt is not None
            else "interrupted (no --checkpoint: nothing saved)"
        )
        raise KeyboardInterrupt(msg) from None
    return _dataset(
        items,
        scen,
        results,
        done_chunks,
        root,
        chunk_size,
        conduct,
        time.perf_counter() - t0,
        workers,
        client,
    )


def _progress_on(progress: bool | None) -> bool:
    if progress is not None:
        return bool(progress)
    import sys

    return sys.stderr.isatty()


def _execute(
    tasks, designs, conduct, root, chunk_size, workers, client, ckpt, results, show
) -> None:
    todo = []
    for t in tasks:
        path = None if ckpt is None else ckpt / f"chunk-{t.scenario:04d}-{t.chunk:06d}.npz"
        if path is not None and path.exists():
            results[(t.scenario, t.chunk)] = _load_chunk(path)
        else:
            todo.append(t)
    payloads = [
        (tuple(designs), conduct, root.entropy, tuple(root.spawn_key), t, chunk_size) for t in todo
    ]
    bar = _Bar(len(tasks), len(tasks) - len(todo), show)

    def keep(out: tuple) -> None:
        i, c, stats = out
        results[(i, c)] = stats
        if ckpt is not None:
            _save_chunk(ckpt / f"chunk-{i:04d}-{c:06d}.npz", stats)
        bar.step()

    if client is not None:
        from dask.distributed import as_completed

        futures = client.map(_run_task, payloads, pure=False)
        for fut in as_completed(futures):
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


class _Bar:
    """Minimal progress line on stderr (no dependency)."""

    def __init__(self, total: int, done: int, show: bool) -> None:
        self.total, self.done, self.show = total, done, show and total > 1
        self._draw()

    def step(self) -> None:
        self.done += 1
        self._draw()

    def _draw(self) -> None:
        if self.show:
            import sys

            width = 30
            fill = int(width * self.done / max(self.total, 1))
            sys.stderr.write(
                f"\r[{'#' * fill}{'.' * (width - fill)}] {self.done}/{self.total} chunks"
            )
            sys.stderr.flush()

    def close(self) -> None:
        if self.show:
            import sys

            sys.stderr.write("\n")


def _collect(results, designs, scen, n_chunks) -> dict[str, list[dict[str, np.ndarray]]]:
    out: dict[str, list[dict[str, np.ndarray]]] = {d.name: [] for d in designs}
    for i in range(len(scen)):
        for d in designs:
            acc = None
            for c in range(n_chunks):  # fixed order: bit-identical sums
                acc = _add(acc, results[(i, c)][d.name])
            out[d.name].append(acc)
    return out


def _worst_mcse(results, designs, scen, n_chunks) -> float:
    acc = _collect(results, designs, scen, n_chunks)
    worst = 0.0
    for d in designs:
        for a in acc[d.name]:
            n = a["count"][0]
            pe = a["stop"][:, 1].sum() / n
            worst = max(worst, float(np.sqrt(max(pe * (1 - pe), 1.0 / n) / n)))
    return worst


def _dataset(
    designs, scen, results, n_chunks, root, chunk_size, conduct, wall, workers, client
) -> Any:
    import xarray as xr

    from adaptive2._provenance import provenance

    acc = _collect(results, designs, scen, n_chunks)
    K = max(d.n_looks for d in designs)
    D, S = len(designs), len(scen)
    shape = (D, S)
    v: dict[str, np.ndarray] = {
        k: np.full(shape, np.nan)
        for k in (
            "p_efficacy",
            "p_futility",
            "p_early_stop",
            "p_final_fail",
            "expected_n",
            "sd_n",
            "expected_enrolled",
            "sd_enrolled",
            "mean_duration",
            "sd_duration",
            "duration_q10",
            "duration_q50",
            "duration_q90",
            "bias",
            "rmse",
            "coverage",
            "n_sims",
        )
    }
    mc = {
        k: np.full(shape, np.nan)
        for k in (
            "p_efficacy",
            "p_futility",
            "p_early_stop",
            "p_final_fail",
            "expected_n",
            "expected_enrolled",
            "mean_duration",
            "bias",
            "coverage",
        )
    }
    p_stop_at = np.full((D, S, K, 3), np.nan)
    p_stop_mcse = np.full((D, S, K, 3), np.nan)
    t_dec = np.full((D, S, K), np.nan)
    for di, d in enumerate(designs):
        for si in range(len(scen)):
            a = acc[d.name][si]
            n = a["count"][0]
            stop = a["stop"] / n
            k = d.n_looks
            p_stop_at[di, si, :k] = stop
            p_stop_mcse[di, si, :k] = np.sqrt(stop * (1 - stop) / n)
            pe = stop[:, 1].sum()
            pf = stop[:-1, 0].sum()
            pes = stop[:-1].sum()
            pff = stop[-1, 0] + stop[-1, 2]
            for name, val in (
                ("p_efficacy", pe),
                ("p_futility", pf),
                ("p_early_stop", pes),
                ("p_final_fail", pff),
            ):
                v[name][di, si] = val
                mc[name][di, si] = np.sqrt(val * (1 - val) / n)
            for name, key in (
                ("expected_n", "n_sum"),
                ("expected_enrolled", "enrolled_sum"),
                ("mean_duration", "duration_sum"),
            ):
                m1, m2 = a[key][0] / n, a[key][1] / n
                sd = np.sqrt(max(m2 - m1 * m1, 0.0))
                v[name][di, si] = m1
                mc[name][di, si] = sd / np.sqrt(n)
                if name == "expected_n":
                    v["sd_n"][di, si] = sd
                elif name == "expected_enrolled":
                    v["sd_enrolled"][di, si] = sd
                else:
                    v["sd_duration"][di, si] = sd
            qs = np.quantile(a["duration_sample"], [0.1, 0.5, 0.9])
            v["duration_q10"][di, si], v["duration_q50"][di, si], v["duration_q90"][di, si] = qs
            b1, b2 = a["bias_sum"][0] / n, a["bias_sum"][1] / n
            v["bias"][di, si] = b1
            mc["bias"][di, si] = np.sqrt(max(b2 - b1 * b1, 0.0) / n)
            v["rmse"][di, si] = np.sqrt(b2)
            cov = a["cover_sum"][0] / n
            v["coverage"][di, si] = cov
            mc["coverage"][di, si] = np.sqrt(cov * (1 - cov) / n)
            v["n_sims"][di, si] = n
            with np.errstate(invalid="ignore", divide="ignore"):
                t_dec[di, si, :k] = a["t_decision_sum"] / a["t_decision_count"]
    data: dict[str, Any] = {}
    for name, arr in v.items():
        data[name] = (("design", "scenario"), arr)
    for name, arr in mc.items():
        data[f"{name}_mcse"] = (("design", "scenario"), arr)
    data["p_stop_at"] = (("design", "scenario", "look", "reason"), p_stop_at)
    data["p_stop_at_mcse"] = (("design", "scenario", "look", "reason"), p_stop_mcse)
    data["mean_time_to_decision"] = (("design", "scenario", "look"), t_dec)
    # paired differences against the first design, with their own (smaller) MCSE
    for name, key in (
        ("p_efficacy_diff", "paired_eff"),
        ("expected_enrolled_diff", "paired_enrolled"),
    ):
        val = np.full(shape, np.nan)
        err = np.full(shape, np.nan)
        for di, d in enumerate(designs):
            for si in range(S):
                a = acc[d.name][si]
                n = a["count"][0]
                m1, m2 = a[key][0] / n, a[key][1] / n
                val[di, si] = m1
                err[di, si] = np.sqrt(max(m2 - m1 * m1, 0.0) / n)
        data[name] = (("design", "scenario"), val)
        data[f"{name}_mcse"] = (("design", "scenario"), err)
    # distribution of the number of patients enrolled (overrun and replacements included)
    width = max(len(acc[d.name][si]["enrolled_hist"]) for d in designs for si in range(S))
    dist = np.zeros((D, S, width))
    for di, d in enumerate(designs):
        for si in range(S):
            h = acc[d.name][si]["enrolled_hist"]
            dist[di, si, : len(h)] = h / acc[d.name][si]["count"][0]
    last = int(np.flatnonzero(dist.sum(axis=(0, 1)))[-1]) + 1
    data["p_enrolled"] = (("design", "scenario", "n_enrolled"), dist[..., :last])
    ds = xr.Dataset(
        data,
        coords={
            "design": [d.name for d in designs],
            "design_hash": ("design", [d.hash for d in designs]),
            "scenario": [s.name for s in scen],
            "p": ("scenario", [s.p for s in scen]),
            "role": ("scenario", [s.role for s in scen]),
            "look": np.arange(1, K + 1),
            "reason": ["futility", "efficacy", "consider"],
            "n_enrolled": np.arange(last),
        },
        attrs=provenance(
            method="monte_carlo",
            n_sims=int(v["n_sims"].min()),
            seed_entropy=str(root.entropy),
            chunk_size=int(chunk_size),
            stream_scheme="SeedSequence(entropy, spawn_key=(scenario_key, chunk, block))",
            conduct=json.dumps(asdict(conduct)),
            wall_time_s=round(wall, 3),
            workers="dask" if client is not None else str(workers),
        ),
    )
    return ds
