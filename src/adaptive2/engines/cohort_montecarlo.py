"""OC of multi-cohort designs by Monte Carlo over outcomes, with quadrature posteriors.

The exact engine (:mod:`adaptive2.engines.cohort_exact`) enumerates the joint
outcome lattice Π (n_j + 1), which is out of reach beyond about three cohorts.
Here the outcomes are simulated instead, and only the simulated data sets are
analysed: at each look the posterior probabilities P(p_j > threshold | every
cohort's data) of the running cohorts come from the same quadrature as the
exact engine's (:func:`adaptive2.kernels.quadrature.p_above_data`, the lattice's
numbers at the data sets drawn), and the rules act on them exactly as in
:func:`adaptive2.model.cohorts._compute_decisions`: futility first, efficacy
only where not futile, the final rule at the last look; cohorts stop
independently, and a stopped cohort keeps informing the others with its data at
stopping. The cost grows with the number of distinct simulated data sets and
the number of cohorts, not with the lattice, so 1 to 8 cohorts are in reach.

Algorithm, per scenario and chunk of trials: draw each cohort's binomial
responses among the patients added at each look; then look by look, group the
trials whose cohorts have data at the same looks (running cohorts at this look,
stopped ones at their stopping look), evaluate each group's distinct data sets
once, and record which cohorts stop, when and why. Only integer counts are kept
(per cohort, look and reason; trials with a false positive; trials decided
correctly), so the totals do not depend on how chunks are scheduled.

Reproducibility: the responses of cohort j in chunk c come from
``SeedSequence(entropy, spawn_key=(key_j, c))`` (:func:`adaptive2._base.rng.stream`),
where ``key_j`` is a stable 32-bit key of the cohort's name and true rate (the
multi-cohort simulator's key), so a cohort sees the same patients in every
scenario where its rate is the same (common random numbers), and adding a
scenario leaves the others unchanged. As in :mod:`adaptive2.engines.montecarlo`
the chunk size is part of the stream address: with a fixed ``seed`` and
``chunk_size`` the results are bit-identical for any number of workers and any
order of completion; another chunk size draws other (equally valid) trials.
The last chunk of a scenario draws the first trials of its full chunk.

Predictive-probability rules (futility and efficacy slots) compare PP_j, the
exact engine's statistic (:func:`adaptive2.model.cohorts._predictive_stat`): the
posterior predictive of cohort j's N_j − n_j patients to come, under the
borrowing model given every cohort's data, times the success of cohort j's
final rule at r_j + x of N_j with every other cohort held at its current data,
summed over x. :func:`pp_data` computes it for the simulated data sets alone
(:func:`adaptive2.kernels.data_sets.predictive_data` and
:func:`~adaptive2.kernels.data_sets.predictive_final_data`: one contraction
over the (μ, τ) columns per distinct value of the other cohorts' counts), so
predictive rules too are simulated for 1 to 8 cohorts.

Not supported: toxicity monitors (this engine does not stop cohorts for
toxicity); they are refused with a :class:`DesignError`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from adaptive2._base.errors import DesignError
from adaptive2._base.progress import progress_bar, wanted
from adaptive2._base.provenance import provenance
from adaptive2._base.resources import one_blas_thread, require_memory
from adaptive2._base.rng import seed_sequence, stream
from adaptive2._base.validation import check_int, fail
from adaptive2.engines.oc_schema import OCTable, cohort_coords
from adaptive2.engines.sizes import REMEDY_GRID, REMEDY_SIMULATE
from adaptive2.engines.trials_multi import _cohort_key
from adaptive2.kernels.data_sets import predictive_data, predictive_final_data
from adaptive2.kernels.quadrature import p_above_data
from adaptive2.kernels.sizes import cohort_outcomes_cost
from adaptive2.model.cohorts import CohortDesign, _act, _threshold, cohort_roles
from adaptive2.model.rules import BOP2, Boundary, PosteriorProbability, PredictiveProbability, Rule
from adaptive2.model.scenarios import Scenario

__all__ = ["CHUNK_SIZE", "STREAM_SCHEME", "cohort_simulate", "pp_data", "unsupported"]

CHUNK_SIZE = 2_000
"""Default trials per chunk (part of the random-stream address)."""

STREAM_SCHEME = (
    "per cohort and chunk: SeedSequence(entropy, spawn_key=(cohort_key, chunk)), "
    "cohort_key = first 4 bytes (little-endian) of sha256('cohort\\0<name>\\0<repr(rate)>'); "
    "PCG64; Generator.binomial(patients added at each look, rate, size=(trials, looks))"
)
"""How the random streams are addressed (recorded in the result's attrs)."""

_OWNER = "cohort_simulate"
_POSTERIOR_RULES = (PosteriorProbability, BOP2)


# ---------------------------------------------------------------------------
# Input checks
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class _Run:
    """A checked run: design, scenarios and the chunking of each scenario's trials."""

    design: CohortDesign
    scenarios: tuple[Scenario, ...]
    n_sims: int
    chunk_size: int
    workers: int

    @property
    def chunks(self) -> list[tuple[int, int]]:
        """(chunk index, trials) of one scenario: full chunks, the last one partial."""
        n, size = self.n_sims, self.chunk_size
        return [(c, min(size, n - c * size)) for c in range(math.ceil(n / size))]


def _cohort_simulate_iv(
    design: Any,
    scenarios: Iterable[Scenario] | None,
    n_sims: Any,
    chunk_size: Any,
    workers: Any,
) -> _Run:
    """Check and normalise every argument of :func:`cohort_simulate`."""
    if not isinstance(design, CohortDesign):
        raise fail("design", _OWNER, "a CohortDesign", type(design).__name__)
    _check_supported(design)
    n_sims = check_int(n_sims, "n_sims", _OWNER, low=1)
    chunk_size = check_int(chunk_size, "chunk_size", _OWNER, low=1)
    workers = check_int(workers, "workers", _OWNER, low=1)
    scen = tuple(design.scenarios if scenarios is None else scenarios)
    if not scen:
        raise fail("scenarios", _OWNER, "at least one joint Scenario (a rate per cohort)", scen)
    names = design.names
    for s in scen:
        if not (isinstance(s, Scenario) and s.joint):
            raise fail("scenarios", _OWNER, "joint Scenario objects (a rate per cohort)", s)
        given = [c for c, _ in s.rates]
        unknown = sorted(set(given) - set(names))
        missing = [c for c in names if c not in given]
        if unknown or missing:
            raise fail(
                "scenarios", _OWNER,
                f"scenarios giving a rate for each cohort {names} and no other "
                f"(scenario {s.name!r}: unknown {unknown}, missing {missing})",
                dict(s.rates),
            )
    labels = [s.name for s in scen]
    if len(set(labels)) != len(labels):
        raise fail("scenarios", _OWNER, "scenarios with distinct names", labels)
    return _Run(design, scen, n_sims, chunk_size, workers)


def unsupported(design: CohortDesign) -> str | None:
    """Why :func:`cohort_simulate` cannot run ``design`` (``None`` if it can)."""
    try:
        _check_supported(design)
    except DesignError as exc:
        return str(exc)
    return None


def _check_supported(design: CohortDesign) -> None:
    """Refuse what this engine cannot simulate: toxicity monitors, unknown kinds of rule.

    Predictive-probability rules are simulated where the exact engine allows
    them (futility and efficacy; a final rule cannot be one).
    """
    if design.toxicity is not None:
        raise DesignError(
            f"cohort_simulate cannot run CohortDesign {design.name!r}: it has toxicity monitors "
            "(`toxicity`), and this engine does not stop cohorts for toxicity; use cohort_oc "
            "(exact, up to about 3 cohorts), or dataclasses.replace(design, toxicity=None) to "
            "simulate the efficacy rules alone."
        )
    for slot in ("futility", "efficacy", "final"):
        for name in design.names:
            rule = design.rule(slot, name)
            if rule is None or isinstance(rule, Boundary | PosteriorProbability | BOP2):
                continue
            if isinstance(rule, PredictiveProbability) and slot != "final":
                continue
            kind = getattr(rule, "kind", type(rule).__name__)
            why = (
                "a predictive probability needs a final rule to predict"
                if isinstance(rule, PredictiveProbability)
                else "this engine computes posterior probabilities, predictive probabilities "
                "of final success and response counts only"
            )
            allowed = (
                "a posterior, bop2 or boundary rule"
                if slot == "final"
                else "a posterior, predictive, bop2 or boundary rule"
            )
            raise DesignError(
                f"`{slot}` of CohortDesign {design.name!r} (cohort {name!r}) is a {kind!r} rule, "
                f"which cohort_simulate does not support: {why}. Use cohort_oc (exact, up to "
                f"about 3 cohorts) for it, or {allowed}."
            )


# ---------------------------------------------------------------------------
# One chunk of trials
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class _Counts:
    """Integer tallies of one chunk (or of a whole scenario: their sums).

    ``stop[j, k, reason]``: trials whose cohort j stopped at look k for futility
    (0; at the last look: failed) or efficacy (1; at the last look: succeeded);
    ``fwer``: trials with efficacy declared in a null cohort; ``correct``: trials
    with every cohort decided correctly.
    """

    stop: np.ndarray
    fwer: int
    correct: int

    def __add__(self, other: _Counts) -> _Counts:
        return _Counts(self.stop + other.stop, self.fwer + other.fwer,
                       self.correct + other.correct)


def _responses(
    design: CohortDesign, rates: Sequence[float], keys: Sequence[int],
    root: np.random.SeedSequence, chunk: int, size: int,
) -> np.ndarray:
    """Cumulative responses (trials × cohorts × looks) of one chunk, one stream per cohort."""
    looks = np.array([c.looks for c in design.cohorts], dtype=np.int64)
    added = np.diff(looks, axis=1, prepend=0)
    out = np.empty((size, *looks.shape), dtype=np.int64)
    for j, (p, key) in enumerate(zip(rates, keys, strict=True)):
        draws = stream(root, key, chunk).binomial(added[j], p, size=(size, looks.shape[1]))
        out[:, j, :] = np.cumsum(draws, axis=1)
    return out


_PREDICTIVE = "predictive"
_StatKey = tuple[int, float | str | None]
"""(cohort index, threshold of P(p_j > threshold | data)), (cohort index, None): r_j, or
(cohort index, "predictive"): PP_j, the predictive probability of final success."""


def _stat_key(design: CohortDesign, j: int, rule: Rule) -> _StatKey:
    """Which statistic ``rule`` of cohort ``j`` compares (as ``_lattice_stat`` picks it)."""
    if isinstance(rule, Boundary):
        return (j, None)
    if isinstance(rule, PredictiveProbability):
        return (j, _PREDICTIVE)
    return (j, _threshold(rule, design.cohorts[j]))


def pp_data(design: CohortDesign, n: Sequence[int], counts: Any, j: int) -> np.ndarray:
    """PP_j, the predictive probability of cohort ``j``'s final success, for G data sets.

    The statistic of the exact engine's predictive rules
    (:func:`adaptive2.model.cohorts._predictive_stat`) at the outcomes ``counts``,
    without the lattice: with m = N_j − n_j patients of cohort j to come,

        PP_j = Σ_{x=0..m} P(X = x | data) · 1{cohort j's final rule succeeds at
               r_j + x of N_j, every other cohort k at its current r_k of n_k},

    P(X = x | data) the posterior predictive under the design's borrowing model
    (:func:`adaptive2.kernels.data_sets.predictive_data`). A boundary final rule
    acts on the count r_j + x; a posterior or BOP2 final rule on P(p_j > its
    threshold | r_j + x of N_j, the others' current data)
    (:func:`adaptive2.kernels.data_sets.predictive_final_data`, the numbers of
    :func:`~adaptive2.kernels.quadrature.p_above_data` at those sizes), both as the
    exact engine acts at the last look.

    Parameters
    ----------
    design : CohortDesign
    n : sequence of int
        Patients per cohort now (cohort j's at most its last look N_j).
    counts : array_like of int, shape (G, J)
        Response counts, one row per data set (0..n_k).
    j : int
        Index of the cohort in ``design.cohorts``.

    Returns
    -------
    numpy.ndarray
        Shape (G,): PP_j of each data set, in [0, 1] (at n_j = N_j the final
        decision itself, 0 or 1).

    Examples
    --------
    >>> from adaptive2.model.cohorts import _predictive_stat
    >>> from adaptive2.model.hierarchical import Cohort, Model
    >>> d = CohortDesign(name="two", model=Model(),
    ...                  cohorts=(Cohort("a", 0.2, 0.4, (5, 10)), Cohort("b", 0.2, 0.4, (5, 10))),
    ...                  futility=PredictiveProbability(0.1), final=PosteriorProbability(0.2, 0.9))
    >>> pp = pp_data(d, (5, 5), [[1, 3], [4, 0]], 0)
    >>> lattice = _predictive_stat(d, (5, 5), 0)
    >>> bool(abs(pp[0] - lattice[1, 3]) < 1e-12 and abs(pp[1] - lattice[4, 0]) < 1e-12)
    True
    """
    owner = "pp_data"
    if not isinstance(design, CohortDesign):
        raise fail("design", owner, "a CohortDesign", type(design).__name__)
    J = len(design.cohorts)
    if isinstance(j, bool) or not isinstance(j, int | np.integer) or not 0 <= j < J:
        raise fail("j", owner, f"a cohort index in 0..{J - 1}", j)
    j = int(j)
    c = design.cohorts[j]
    if isinstance(n, str | bytes) or len(n) != J:
        raise fail("n", owner, f"one sample size per cohort ({J})", n)
    sizes = tuple(check_int(x, "n", owner, low=0) for x in n)
    n_max = c.looks[-1]
    if sizes[j] > n_max:
        raise fail("n", owner, f"cohort {c.name!r}'s size at most its last look {n_max}",
                   list(sizes))
    final = cast(Rule, design.rule("final", c.name))  # never None: a final rule is required
    m = n_max - sizes[j]
    if isinstance(final, Boundary):
        pmf = predictive_data(design.model, design.cohorts, sizes, counts, cohort=c.name, m=m,
                              grid=design.grid)
        data = np.asarray(counts).reshape(pmf.shape[0], J)
        stat = (data[:, j][:, None] + np.arange(m + 1)[None, :]).astype(float)
    else:
        pmf, stat = predictive_final_data(design.model, design.cohorts, sizes, counts,
                                          cohort=c.name, m=m, threshold=_threshold(final, c),
                                          grid=design.grid)
    success = _act(final, "final", stat, 1.0, design.n_looks - 1)
    return cast(np.ndarray, np.clip((pmf * success).sum(axis=-1), 0.0, 1.0))


def _statistics(
    design: CohortDesign, n: tuple[int, ...], counts: np.ndarray, keys: Iterable[_StatKey]
) -> dict[_StatKey, np.ndarray]:
    """The statistics ``keys`` for the data sets ``counts`` (G × J) at sizes ``n``.

    Thresholds of different cohorts share one call of :func:`p_above_data`; a
    cohort with two thresholds (rules with different ``delta``) needs a second.
    Predictive probabilities come from :func:`pp_data`, once per cohort.
    """
    out: dict[_StatKey, np.ndarray] = {}
    needed: dict[int, list[float]] = {}
    for j, thr in keys:
        if thr is None:
            out[(j, None)] = counts[:, j].astype(float)
        elif isinstance(thr, str):
            if (j, thr) not in out:
                out[(j, thr)] = pp_data(design, n, counts, j)
        elif thr not in needed.setdefault(j, []):
            needed[j].append(thr)
    while any(needed.values()):
        round_ = {j: ts.pop(0) for j, ts in needed.items() if ts}
        thresholds = {design.cohorts[j].name: t for j, t in round_.items()}
        p = p_above_data(design.model, design.cohorts, n, counts, thresholds=thresholds,
                         grid=design.grid)
        for j, t in round_.items():
            out[(j, t)] = p[design.cohorts[j].name]
    return out


def _decide(
    design: CohortDesign, k: int, n: tuple[int, ...], counts: np.ndarray, running: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(futility, efficacy) of each running cohort (G × R bool), as the exact engine decides.

    At the last look efficacy is the final rule's success and futility its
    complement; before it, futility first and efficacy only where not futile.
    """
    last = k == design.n_looks - 1
    slots = ("final",) if last else ("futility", "efficacy")
    rules = [
        (int(j), slot, rule)
        for j in running
        for slot in slots
        if (rule := design.rule(slot, design.cohorts[j].name)) is not None
    ]
    stats = _statistics(design, n, counts, [_stat_key(design, j, rule) for j, _, rule in rules])
    G = counts.shape[0]
    fut = np.zeros((G, len(running)), dtype=bool)
    eff = np.zeros((G, len(running)), dtype=bool)
    col = {int(j): i for i, j in enumerate(running)}
    for j, slot, rule in rules:
        t = n[j] / design.cohorts[j].looks[-1]
        acts = rule.act(slot, stats[_stat_key(design, j, rule)], index=k, fraction=t)
        if slot == "final":
            eff[:, col[j]] = acts
            fut[:, col[j]] = ~acts
        elif slot == "futility":
            fut[:, col[j]] = acts
        else:
            eff[:, col[j]] = acts & ~fut[:, col[j]]
    return fut, eff


def _simulate_chunk(
    design: CohortDesign,
    rates: Sequence[float],
    keys: Sequence[int],
    root: np.random.SeedSequence,
    chunk: int,
    size: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Stopping look and reason of every cohort of ``size`` trials (each trials × cohorts)."""
    r = _responses(design, rates, keys, root, chunk, size)
    J, K = len(design.cohorts), design.n_looks
    looks = np.array([c.looks for c in design.cohorts], dtype=np.int64)
    at = np.full((size, J), -1, dtype=np.int64)  # stopping look, -1 while running
    reason = np.zeros((size, J), dtype=np.int8)  # 0 futility / fail, 1 efficacy / success
    cohorts = np.arange(J)
    for k in range(K):
        live = np.flatnonzero((at < 0).any(axis=1))
        if live.size == 0:
            break
        data_at = np.where(at[live] < 0, k, at[live])  # look of each cohort's data
        groups, inverse = np.unique(data_at, axis=0, return_inverse=True)
        inverse = inverse.ravel()
        for g, where in enumerate(groups):
            members = live[inverse == g]
            running = np.flatnonzero(where == k)
            n = tuple(int(looks[j, where[j]]) for j in range(J))
            counts = r[members[:, None], cohorts[None, :], where[None, :]]
            fut, eff = _decide(design, k, n, counts, running)
            stop = fut | eff
            rows, cols = np.nonzero(stop)
            at[members[rows], running[cols]] = k
            reason[members[rows], running[cols]] = eff[rows, cols]
    return at, reason


def _tally(
    design: CohortDesign, scen: Scenario, at: np.ndarray, reason: np.ndarray
) -> _Counts:
    """The integer counts of one chunk's trials."""
    J, K = len(design.cohorts), design.n_looks
    cell = (np.arange(J)[None, :] * K + at) * 2 + reason
    stop = np.bincount(cell.ravel(), minlength=J * K * 2).reshape(J, K, 2)
    roles = cohort_roles(design, scen)
    null = np.array([x == "null" for x in roles])
    alt = np.array([x == "alternative" for x in roles])
    eff = reason.astype(bool)
    false_go = (eff & null[None, :]).any(axis=1)
    missed = (~eff & alt[None, :]).any(axis=1)
    return _Counts(stop.astype(np.int64), int(false_go.sum()), int((~false_go & ~missed).sum()))


def _run_chunk(
    run: _Run, root: np.random.SeedSequence, s: int, chunk: int, size: int
) -> tuple[int, int, _Counts]:
    """Simulate and tally chunk ``chunk`` (``size`` trials) of scenario ``s``."""
    design, scen = run.design, run.scenarios[s]
    rates = [scen.rate(c) for c in design.names]
    keys = [_cohort_key(c, p) for c, p in zip(design.names, rates, strict=True)]
    at, reason = _simulate_chunk(design, rates, keys, root, chunk, size)
    return s, chunk, _tally(design, scen, at, reason)


# ---------------------------------------------------------------------------
# Running the chunks
# ---------------------------------------------------------------------------
def _warm_up(design: CohortDesign) -> None:
    """Compute every cohort's quadrature pieces once, before the chunks run in threads.

    Each (cohort, look size, threshold) the rules meet, and for predictive rules the
    pieces of cohort j at its last look and their log scale; threads then only read
    them (a cohort stopped at an earlier look enters with the pieces of that look).
    """
    J = len(design.cohorts)
    for k in range(design.n_looks):
        n = tuple(c.looks[k] for c in design.cohorts)
        slots = ("final",) if k == design.n_looks - 1 else ("futility", "efficacy")
        keys = [
            _stat_key(design, j, rule)
            for j in range(J)
            for slot in slots
            if (rule := design.rule(slot, design.names[j])) is not None
        ]
        zeros = np.zeros((1, J), dtype=np.int64)
        p_above_data(design.model, design.cohorts, n, zeros, grid=design.grid)
        _statistics(design, n, zeros, keys)


def _execute(run: _Run, root: np.random.SeedSequence, show: bool) -> list[_Counts]:
    """Every chunk of every scenario; the counts summed per scenario."""
    tasks = [(s, c, size) for s in range(len(run.scenarios)) for c, size in run.chunks]
    done: dict[tuple[int, int], _Counts] = {}
    bar = progress_bar(len(tasks), "simulate", enabled=show and len(tasks) > 1)

    def keep(out: tuple[int, int, _Counts]) -> None:
        done[(out[0], out[1])] = out[2]
        bar.update(1)

    try:
        if run.workers > 1 and len(tasks) > 1:
            with ThreadPoolExecutor(max_workers=run.workers) as ex:
                futures = [ex.submit(_run_chunk, run, root, *t) for t in tasks]
                for f in futures:
                    keep(f.result())
        else:
            for t in tasks:
                keep(_run_chunk(run, root, *t))
    finally:
        bar.close()
    J, K = len(run.design.cohorts), run.design.n_looks
    totals = []
    for s in range(len(run.scenarios)):
        total = _Counts(np.zeros((J, K, 2), dtype=np.int64), 0, 0)
        for c, _ in run.chunks:
            total = total + done[(s, c)]
        totals.append(total)
    return totals


# ---------------------------------------------------------------------------
# Summaries
# ---------------------------------------------------------------------------
def _binomial_mcse(p: np.ndarray | float, n: int) -> np.ndarray:
    return cast(np.ndarray, np.sqrt(np.clip(np.asarray(p) * (1 - np.asarray(p)), 0.0, None) / n))


def _summarise(design: CohortDesign, counts: _Counts, n: int) -> dict[str, np.ndarray]:
    """The OC of one scenario and their MCSE from its integer counts."""
    stop = counts.stop / n  # J × K × 2
    looks = np.array([c.looks for c in design.cohorts], dtype=float)
    p_n = stop.sum(axis=-1)  # P(N_j = looks[j, k])
    en = (p_n * looks).sum(axis=1)
    dev = looks - en[:, None]
    var = (p_n * dev**2).sum(axis=1)
    m4 = (p_n * dev**4).sum(axis=1)
    sd = np.sqrt(np.maximum(var, 0.0))
    with np.errstate(invalid="ignore", divide="ignore"):
        # delta method: Var(s) ≈ (μ4 − σ⁴) / (4 σ² n)
        sd_mcse = np.where(var > 0, np.sqrt(np.maximum(m4 - var**2, 0.0) / (4 * var * n)), 0.0)
    out = {
        "p_efficacy": stop[..., 1].sum(axis=1),
        "p_futility": stop[:, :-1, 0].sum(axis=1),
        "p_early_stop": p_n[:, :-1].sum(axis=1),
        "expected_n": en,
        "sd_n": sd,
        "p_stop_at": stop,
        "fwer": np.array(counts.fwer / n),
        "p_all_correct": np.array(counts.correct / n),
    }
    mcse = {k: _binomial_mcse(v, n) for k, v in out.items() if k not in ("expected_n", "sd_n")}
    mcse["expected_n"] = sd / math.sqrt(n)
    mcse["sd_n"] = sd_mcse
    return {**out, **{f"{k}_mcse": v for k, v in mcse.items()}}


_DIMS = {
    "p_efficacy": ("scenario", "cohort"),
    "p_futility": ("scenario", "cohort"),
    "p_early_stop": ("scenario", "cohort"),
    "expected_n": ("scenario", "cohort"),
    "sd_n": ("scenario", "cohort"),
    "p_stop_at": ("scenario", "cohort", "look", "reason"),
    "fwer": ("scenario",),
    "p_all_correct": ("scenario",),
}


def _table(
    run: _Run, totals: list[_Counts], root: np.random.SeedSequence, seconds: float
) -> OCTable:
    """The OCTable of the run (the layout of :func:`cohort_oc_table`)."""
    design, scen = run.design, run.scenarios
    rows = [_summarise(design, t, run.n_sims) for t in totals]
    data: dict[str, tuple[tuple[str, ...], np.ndarray]] = {}
    for name, dims in _DIMS.items():
        data[name] = (dims, np.stack([r[name] for r in rows]))
    for name, dims in _DIMS.items():
        data[f"{name}_mcse"] = (dims, np.stack([r[f"{name}_mcse"] for r in rows]))
    coords = cohort_coords(design, scen)
    attrs = provenance(
        method="monte_carlo",
        engine="outcomes with quadrature posteriors",
        design_name=design.name,
        design_hash=design.hash,
        model=design.model.describe(),
        n_sims=run.n_sims,
        seed_entropy=str(root.entropy),
        chunk_size=run.chunk_size,
        stream_scheme=STREAM_SCHEME,
        workers=run.workers,
        wall_time_s=round(seconds, 6),
    )
    return OCTable(data, coords=coords, attrs=attrs)


def _guard(run: _Run) -> None:
    """Refuse the run before it starts if its estimated memory is over the limit."""
    d = run.design
    cost = cohort_outcomes_cost(d, n_sims=run.n_sims, chunk_size=run.chunk_size,
                                workers=run.workers, scenarios=len(run.scenarios))
    what = (
        f"Monte Carlo OC of {run.n_sims} trials x {len(run.scenarios)} scenario"
        f"{'s' * (len(run.scenarios) != 1)} of the {len(d.cohorts)}-cohort design {d.name!r} "
        f"(chunks of {min(run.chunk_size, run.n_sims)})"
    )
    # the pieces grow with the patients and the grid, the chunks with the trials per chunk
    require_memory(cost.nbytes, what, f"{REMEDY_GRID}; or {REMEDY_SIMULATE}",
                   seconds=cost.seconds)


def cohort_simulate(
    design: CohortDesign,
    scenarios: Iterable[Scenario] | None = None,
    *,
    n_sims: int = 10_000,
    seed: int | np.random.SeedSequence | None = None,
    chunk_size: int = CHUNK_SIZE,
    workers: int = 1,
    progress: bool | None = False,
) -> OCTable:
    """OC of a multi-cohort design by Monte Carlo over outcomes (any number of cohorts).

    Parameters
    ----------
    design : CohortDesign
        Posterior-probability, BOP2 or boundary rules, and predictive-probability
        futility or efficacy rules (PP_j as the exact engine defines it,
        :func:`pp_data`), without toxicity monitors (refused with a DesignError).
    scenarios : iterable of Scenario, optional
        Joint scenarios, each giving a rate for every cohort and no other;
        default: the design's.
    n_sims : int
        Simulated trials per scenario (≥ 1).
    seed : int or SeedSequence, optional
        Root seed; ``None`` draws fresh entropy (recorded as ``seed_entropy``).
    chunk_size : int
        Trials per chunk; part of the random-stream address (keep it fixed to
        reproduce a run).
    workers : int
        Chunks run at once in threads (numpy releases the GIL); the results do
        not depend on it.
    progress : bool, optional
        Show a progress bar over the chunks (``None``: on a terminal or in Jupyter).

    Returns
    -------
    OCTable
        The variables, dims and coords of
        :func:`adaptive2.engines.cohort_exact.cohort_oc_table`: ``p_efficacy``,
        ``p_futility``, ``p_early_stop``, ``expected_n``, ``sd_n`` (scenario ×
        cohort), ``p_stop_at`` (scenario × cohort × look × reason), ``fwer``,
        ``p_all_correct`` (scenario), coordinates ``rate`` and ``role``; each
        with a ``_mcse`` twin: binomial sqrt(p (1 − p) / n_sims) for
        probabilities, sd_n / sqrt(n_sims) for ``expected_n`` and the delta
        method sqrt((μ4 − σ⁴) / (4 σ² n_sims)) for ``sd_n``. ``.to_dataset()``
        gives the xarray Dataset. Attrs: provenance, ``method="monte_carlo"``,
        ``n_sims``, ``seed_entropy``, ``chunk_size``, ``stream_scheme``.

    Notes
    -----
    See the module docstring for the algorithm and the random streams. The
    decisions are the exact engine's for the data sets simulated (the same
    quadrature, to about 1e-14), so with the same design both engines agree
    within Monte Carlo error.

    Examples
    --------
    >>> from adaptive2.model.hierarchical import Cohort, Model
    >>> from adaptive2.model.scenarios import CohortScenario
    >>> design = CohortDesign(
    ...     name="two", model=Model(kind="exnex"),
    ...     cohorts=(Cohort("a", 0.15, 0.35, (5, 10)), Cohort("b", 0.15, 0.35, (5, 10))),
    ...     futility=PosteriorProbability(0.15, 0.1), final=PosteriorProbability(0.15, 0.9),
    ...     scenarios=(CohortScenario("null", {"a": 0.15, "b": 0.15}),))
    >>> oc = cohort_simulate(design, n_sims=200, seed=1)
    >>> oc["p_efficacy"].shape, oc.attrs["method"]
    ((1, 2), 'monte_carlo')
    """
    t0 = time.perf_counter()
    run = _cohort_simulate_iv(design, scenarios, n_sims, chunk_size, workers)
    _guard(run)
    root = seed_sequence(seed)
    with one_blas_thread():  # products of a few thousand rows: see one_blas_thread
        _warm_up(run.design)
        totals = _execute(run, root, wanted(progress))
    return _table(run, totals, root, time.perf_counter() - t0)
