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
  are those of :func:`adaptive2.model.cohorts.cohort_oc`.
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

import hashlib
import itertools
import json
import os
import signal
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from adaptive2._base.errors import Adaptive2Error, DesignError, PrecisionWarning
from adaptive2._base.rng import seed_sequence, stream
from adaptive2._base.validation import check_choice, check_int, check_real, fail
from adaptive2.model.designs import Design
from adaptive2.model.scenarios import Scenario, _role, as_scenarios

__all__ = ["Conduct", "delay_forms", "simulate"]

CHUNK_SIZE = 10_000

#: The accepted delay forms, spelt in each input syntax: fixed, uniform, gamma,
#: lognormal, and the names of (low, high, mean, sd) in the constraints.
_DELAY_SYNTAX = {
    "python": (
        ("a number >= 0 (fixed)", "(low, high) (uniform)", "('gamma', mean, sd)",
         "('lognormal', mean, sd)"),
        ("low", "high", "mean", "sd"),
    ),
    "cli": (
        ("D (fixed months)", "LO,HI (uniform)", "gamma:MEAN,SD", "lognormal:MEAN,SD"),
        ("LO", "HI", "MEAN", "SD"),
    ),
    "toml": (
        ("a number of months (fixed)", "{ uniform = [low, high] }", "{ gamma = [mean, sd] }",
         "{ lognormal = [mean, sd] }"),
        ("low", "high", "mean", "sd"),
    ),
}


def delay_forms(syntax: str = "python") -> str:
    """The accepted response-delay forms, for error messages: the one definition.

    Parameters
    ----------
    syntax : {"python", "cli", "toml"}
        How the forms are spelt: :class:`Conduct` arguments, the CLI's
        ``--delay`` or the ``delay`` key of a scenario file's ``[[conduct]]``.

    Examples
    --------
    >>> delay_forms("cli")
    'D (fixed months), LO,HI (uniform), gamma:MEAN,SD or lognormal:MEAN,SD (0 <= LO <= HI; MEAN > 0, SD > 0)'
    """  # noqa: E501
    check_choice(syntax, "syntax", "delay_forms", tuple(_DELAY_SYNTAX))
    (fixed, uniform, gamma, lognormal), (lo, hi, mean, sd) = _DELAY_SYNTAX[syntax]
    return (
        f"{fixed}, {uniform}, {gamma} or {lognormal} "
        f"(0 <= {lo} <= {hi}; {mean} > 0, {sd} > 0)"
    )


DELAY_FORMS = delay_forms("python")


@dataclass(frozen=True, slots=True)
class Conduct:
    """How a trial is run in calendar time.

    Parameters
    ----------
    rates : tuple of float
        Accrual rates (patients per month) for successive periods.
    starts : tuple of float
        Start of each period (months); the first must be 0.
    delay : float, (low, high), ("gamma", mean, sd) or ("lognormal", mean, sd)
        Months from enrolment to a known confirmed response: fixed; uniform on
        [low, high]; gamma with the given mean and sd; or lognormal with the
        given mean and sd (on the natural scale, not the log scale).
        ``("fixed", d)`` and ``("uniform", low, high)`` are accepted and stored
        as ``d`` and ``(low, high)``.
    p_nonevaluable : float
        Probability that a patient is never evaluable (replaced).
    on_interim : {"continue", "pause"}
        Keep enrolling while an interim is pending, or pause until the decision.
    decision_lag : float
        Months from an interim trigger to its decision.

    Notes
    -----
    Each patient's delay is ``delay_ppf(u)`` of the patient's own uniform ``u``
    (inverse CDF), so random streams stay addressed per patient.

    * gamma: shape ``k = (mean / sd)^2``, scale ``theta = sd^2 / mean``;
      ``F^-1(u) = theta * P^-1(k, u)`` with ``P^-1`` the inverse regularised lower
      incomplete gamma function (:func:`scipy.special.gammaincinv`).
    * lognormal: ``sigma^2 = log(1 + sd^2 / mean^2)``,
      ``mu = log(mean) - sigma^2 / 2``; ``F^-1(u) = exp(mu + sigma * Phi^-1(u))``
      (:func:`scipy.special.ndtri`).

    Examples
    --------
    >>> Conduct(delay=("gamma", 2.5, 0.5)).delay_kind
    'gamma'
    >>> Conduct(delay=("uniform", 2, 3)).delay
    (2.0, 3.0)
    """

    rates: tuple[float, ...] = (2.0,)
    starts: tuple[float, ...] = (0.0,)
    delay: float | tuple[float, float] | tuple[str, float, float] = 2.5
    p_nonevaluable: float = 0.0
    on_interim: str = "continue"
    decision_lag: float = 0.0

    def __post_init__(self) -> None:
        owner = "Conduct"
        rates = tuple(
            _finite(r, "rates", owner, low=0.0, low_open=True, allowed="finite rates > 0")
            for r in (self.rates if isinstance(self.rates, Iterable) else (self.rates,))
        )
        starts = tuple(
            _finite(s, "starts", owner, low=0.0, allowed="finite numbers >= 0")
            for s in (self.starts if isinstance(self.starts, Iterable) else (self.starts,))
        )
        if not rates or len(rates) != len(starts) or starts[0] != 0.0:
            raise fail("starts", owner, "one start per rate, the first 0", list(starts))
        if any(b <= a for a, b in itertools.pairwise(starts)):
            raise fail("starts", owner, "increasing period starts", list(starts))
        object.__setattr__(self, "rates", rates)
        object.__setattr__(self, "starts", starts)
        object.__setattr__(self, "delay", _delay_iv(self.delay, owner))
        object.__setattr__(
            self,
            "p_nonevaluable",
            check_real(self.p_nonevaluable, "p_nonevaluable", owner, low=0.0, high=0.95),
        )
        check_choice(self.on_interim, "on_interim", owner, ("continue", "pause"))
        object.__setattr__(
            self,
            "decision_lag",
            _finite(self.decision_lag, "decision_lag", owner, low=0.0, allowed="a number >= 0"),
        )

    @property
    def delay_kind(self) -> str:
        """Form of the delay: ``"fixed"``, ``"uniform"``, ``"gamma"`` or ``"lognormal"``."""
        d = self.delay
        if not isinstance(d, tuple):
            return "fixed"
        return "uniform" if len(d) == 2 else str(d[0])

    @property
    def delay_mean(self) -> float:
        """Mean delay to a known response (months)."""
        d = self.delay
        if not isinstance(d, tuple):
            return float(d)
        return (d[0] + d[1]) / 2 if len(d) == 2 else float(d[1])

    @property
    def delay_sd(self) -> float:
        """Standard deviation of the delay to a known response (months)."""
        d = self.delay
        if not isinstance(d, tuple):
            return 0.0
        return (d[1] - d[0]) / np.sqrt(12.0) if len(d) == 2 else float(d[2])

    def delay_ppf(self, u: np.ndarray | float) -> np.ndarray:
        """Delays for patient uniforms ``u`` in [0, 1): the inverse CDF (see Notes).

        A fixed delay ignores ``u``; a uniform one is ``low + (high - low) * u``.
        """
        from scipy import special

        u = np.asarray(u, dtype=float)
        d = self.delay
        kind = self.delay_kind
        if kind == "fixed":
            return np.full(u.shape, d)
        if kind == "uniform":
            return d[0] + (d[1] - d[0]) * u
        mean, sd = float(d[1]), float(d[2])
        if kind == "gamma":
            shape = (mean / sd) ** 2
            return (sd * sd / mean) * special.gammaincinv(shape, u)
        sigma2 = np.log1p((sd / mean) ** 2)
        return np.exp(np.log(mean) - sigma2 / 2 + np.sqrt(sigma2) * special.ndtri(u))

    def describe(self) -> str:
        """One line for tables and reports: accrual, delay, dropout, interim behaviour."""
        periods = ", ".join(
            f"{r:g}/month from month {s:g}" for r, s in zip(self.rates, self.starts, strict=True)
        )
        d, kind = self.delay, self.delay_kind
        if kind == "fixed":
            delay = f"{d:g} months"
        elif kind == "uniform":
            delay = f"uniform on [{d[0]:g}, {d[1]:g}] months"
        else:
            delay = f"{kind} with mean {d[1]:g} and sd {d[2]:g} months"
        return (
            f"accrual {periods}; response known after {delay}; "
            f"P(non-evaluable) {self.p_nonevaluable:g}; at interims enrolment "
            f"{self.on_interim}s; decision lag {self.decision_lag:g} months"
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


def _finite(value: Any, name: str, owner: str, **kwargs: Any) -> float:
    """``check_real`` that also refuses +inf (which it lets through when ``high`` is inf)."""
    x = check_real(value, name, owner, **kwargs)
    if not np.isfinite(x):
        raise fail(name, owner, kwargs.get("allowed") or "a finite number", value)
    return x


def _delay_iv(d: Any, owner: str) -> float | tuple[float, float] | tuple[str, float, float]:
    """Validate a ``delay`` and return its stored form (float, (low, high) or (kind, mean, sd))."""

    def bad() -> DesignError:
        return fail("delay", owner, DELAY_FORMS, d)

    def num(x: Any, low: float = 0.0, low_open: bool = False) -> float:
        try:
            return _finite(x, "delay", owner, low=low, low_open=low_open)
        except DesignError:
            raise bad() from None

    if isinstance(d, str) or not isinstance(d, Sequence):
        return num(d)
    items = tuple(d)
    if items and isinstance(items[0], str):
        kind, args = items[0], items[1:]
        if kind == "fixed" and len(args) == 1:
            return num(args[0])
        if kind == "uniform" and len(args) == 2:
            items = args
        elif kind in ("gamma", "lognormal") and len(args) == 2:
            return (kind, num(args[0], low_open=True), num(args[1], low_open=True))
        else:
            raise bad()
    if len(items) != 2:
        raise bad()
    lo = num(items[0])
    return (lo, num(items[1], low=lo))


@dataclass(frozen=True)
class _Task:
    """One chunk of one scenario.

    Single-cohort: ``key`` is the scenario key and ``p`` the true rate.
    Multi-cohort: ``key`` holds one stream key per cohort and ``p`` the pairs
    (cohort, true rate), in the run's cohort order.
    """

    scenario: int
    key: int | tuple[int, ...]
    p: float | tuple[tuple[str, float], ...]
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
    gaps, evaluable, response, delay, ev_rank = _patients(
        conduct, p, n_max, blocks, size, chunk_size
    )
    return {
        d.name: _one_design(d, conduct, gaps, evaluable, response, delay, ev_rank) for d in designs
    }


def _patients(
    conduct: Conduct,
    p: float,
    n_max: int,
    blocks: Callable[[int], np.random.Generator],
    size: int,
    chunk_size: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Simulated patients of ``size`` trials: (gaps, evaluable, response, delay, ev_rank).

    Arrays are (size, m) in enrolment order: unit-exponential inter-arrival
    gaps, evaluability, response (False if not evaluable), delay to a known
    response, and the number of evaluable patients among the first i + 1.
    """
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
    # index (enrolment order) of each trial's evaluable patients
    ev_rank = np.cumsum(evaluable, axis=1)  # number of evaluable among first i+1
    if conduct.delay_kind in ("fixed", "uniform"):
        delay = conduct.delay_ppf(u_delay)
    else:
        # inverse CDF only where a delay is ever used: the first n_max evaluable
        # patients (each patient's delay depends on its own uniform only)
        delay = np.full(u_delay.shape, np.nan)
        used = evaluable & (ev_rank <= n_max)
        delay[used] = conduct.delay_ppf(u_delay[used])
    if (ev_rank[:, -1] < n_max).any():
        raise Adaptive2Error("internal: too few simulated patients; report this as a bug.")
    return gaps, evaluable, response, delay, ev_rank


def _positions(ev_rank: np.ndarray, n: int) -> np.ndarray:
    """Enrolment index of the j-th evaluable patient, j = 1..n: shape (size, n)."""
    return np.argmax(ev_rank[:, :, None] >= np.arange(1, n + 1)[None, None, :], axis=1)


def _trigger(
    conduct: Conduct,
    arrival: np.ndarray,
    delay: np.ndarray,
    evaluable: np.ndarray,
    response: np.ndarray,
    enrolled_mask: np.ndarray,
    pos_k: np.ndarray,
    nk: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Time the ``nk``-th evaluable outcome is known, and responses among the first ``nk``."""
    m = arrival.shape[1]
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
    return t_trig, (response & in_analysis).sum(axis=1)


def _pause_shift(arrival: np.ndarray, pos_k: np.ndarray, t_dec: np.ndarray) -> np.ndarray:
    """Delay arrivals after the ``pos_k``-th patient until the decision at ``t_dec``."""
    size, m = arrival.shape
    shift = np.maximum(t_dec - arrival[np.arange(size), pos_k], 0.0)
    later = np.arange(m)[None, :] > pos_k[:, None]
    return np.where(later, arrival + shift[:, None], arrival)


def _enrolled(
    conduct: Conduct,
    arrival: np.ndarray,
    t_stop: np.ndarray,
    final: np.ndarray,
    cap: np.ndarray,
    pos_stop: np.ndarray,
) -> np.ndarray:
    """Patients enrolled by the stopping decision (all up to the N-th evaluable at the final)."""
    enrolled_by_time = (arrival <= t_stop[:, None]).sum(axis=1)
    if conduct.on_interim == "pause":
        # no enrolment while an interim is pending: at most the n_k-th evaluable patient
        return np.where(final, cap, np.minimum(enrolled_by_time, pos_stop))
    return np.where(final, cap, np.minimum(enrolled_by_time, cap))


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
    pos_of = _positions(ev_rank, N)
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
        t_trig, r_k = _trigger(
            conduct, arrival, delay, evaluable, response, enrolled_mask, pos_k, nk
        )
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
            arrival = _pause_shift(arrival, pos_k, t_dec)
    # patients enrolled: every patient who arrived by the stopping time, but never
    # beyond the N-th evaluable one (enrolment closes there); at the final look all
    # up to the N-th evaluable patient
    final = stop_look == K - 1
    cap = last_needed + 1
    pos_stop = pos_of[rows, looks[stop_look] - 1] + 1
    enrolled = _enrolled(conduct, arrival, t_stop, final, cap, pos_stop)
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
        "duration_sketch": _sketch(t),
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
        if k.endswith("_sketch"):  # weighted quantile summaries, pooled along the last axis
            out[k] = np.concatenate([v, new[k]], axis=-1)
        else:
            out[k] = v + new[k]
    return out


# ---------------------------------------------------------------------------
# Duration quantiles: a fixed-size weighted summary per chunk
# ---------------------------------------------------------------------------
QUANTILES = (0.1, 0.5, 0.9)
SKETCH_POINTS = 1000  # points of each chunk's quantile summary (whatever the chunk size)


def _sketch(x: np.ndarray) -> np.ndarray:
    """Fixed-size quantile summary of one chunk along the last axis: shape (..., 2, k).

    ``[..., 0, i]`` is the chunk's empirical quantile at the mid-offset
    ``(i + 0.5) / k`` (the "hazen" definition, so that with ``m`` trials per
    point each point is the centre of its block of ``m`` order statistics), and
    ``[..., 1, i]`` its weight ``size / k``: chunks of every size are weighted by
    their number of trials, and the summary depends on the chunk's trials only
    (bit-identical for any number of workers and after a resume).
    """
    size = x.shape[-1]
    k = SKETCH_POINTS
    probs = (np.arange(k) + 0.5) / k
    points = np.moveaxis(np.quantile(x, probs, axis=-1, method="hazen"), 0, -1)
    return np.stack([points, np.full(points.shape, size / k)], axis=-2)


def _pooled_quantile(sketch: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Quantiles at ``probs`` of pooled sketches (..., 2, m): shape (..., len(probs)).

    The pooled distribution puts each point's weight on it; its CDF is
    interpolated linearly between the mid-points of the cumulative weights (the
    "hazen" rule again, so one chunk summarised at full resolution gives
    ``numpy.quantile(..., method="hazen")``).
    """
    points, weights = sketch[..., 0, :], sketch[..., 1, :]
    lead = points.shape[:-1]
    out = np.empty((*lead, len(probs)))
    for idx in np.ndindex(*lead):
        order = np.argsort(points[idx], kind="stable")
        x, w = points[idx][order], weights[idx][order]
        cum = np.cumsum(w)
        out[idx] = np.interp(probs, (cum - w / 2) / cum[-1], x)
    return out


SKETCH_WINDOW = 25  # fewest summary points on each side of q in the MCSE's slope


def _quantiles(sketch: np.ndarray, n: float) -> tuple[np.ndarray, np.ndarray]:
    """Quantiles ``QUANTILES`` of the pooled chunk summaries and their MCSE: (..., 3) each.

    MCSE by the order-statistic (binomial) approximation with the real number
    of trials ``n``: the empirical quantile at q has standard error
    ``s Q'(q)``, ``s = sqrt(q (1 - q) / n)``, i.e. ``(Q(q + s) - Q(q - s)) / 2``
    for the sample quantile function Q. The slope ``Q'(q)`` is the difference
    quotient of the pooled summary over ``q +/- h``, ``h = max(s, W / m)`` with
    ``m`` summary points and ``W = SKETCH_WINDOW``: with fewer points than
    trials, a window of ``s`` alone would hold too few points for a stable
    slope.
    """
    q = np.asarray(QUANTILES)
    s = np.sqrt(q * (1 - q) / n)
    h = np.maximum(s, SKETCH_WINDOW / sketch.shape[-1])
    lo_p, hi_p = np.clip(q - h, 0.0, 1.0), np.clip(q + h, 0.0, 1.0)
    est = _pooled_quantile(sketch, q)
    lo = _pooled_quantile(sketch, lo_p)
    hi = _pooled_quantile(sketch, hi_p)
    return est, s * (hi - lo) / (hi_p - lo_p)


# ---------------------------------------------------------------------------
# Running tasks: in process, processes, or Dask
# ---------------------------------------------------------------------------
def _run_task(payload: tuple) -> tuple[int, int, dict[str, dict[str, np.ndarray]]]:
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
    conduct: Conduct | tuple[tuple[str, Conduct], ...],
    root: np.random.SeedSequence,
    chunk_size: int,
) -> dict[str, Any]:
    from adaptive2._base.version import __version__

    multi = not isinstance(conduct, Conduct)
    manifest = {
        "adaptive2_version": __version__,
        "designs": {d.name: d.hash for d in designs},
        "scenarios": [
            [s.name, [[c, s.rate(c)] for c in designs[0].names] if multi else s.p] for s in scen
        ],
        "conduct": {c: asdict(x) for c, x in conduct} if multi else asdict(conduct),
        "seed_entropy": str(root.entropy),
        "chunk_size": chunk_size,
        "chunk_stats": CHUNK_STATS,
    }
    return json.loads(json.dumps(manifest))


#: Version of the per-chunk statistics saved in a checkpoint (2: duration quantile
#: sketches replaced the thinned samples); a checkpoint of another version is refused.
CHUNK_STATS = 2


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
        CohortScenario objects (or mappings ``{"name": ..., cohort: rate}``).
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
    if not multi:
        conduct = Conduct() if conduct is None else conduct
        if not isinstance(conduct, Conduct):
            raise fail("conduct", "simulate", "a Conduct", conduct)
    else:
        conduct = _cohort_conducts(conduct, items[0].names)
    chunk_size = check_int(chunk_size, "chunk_size", "simulate", low=100)
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

    setup = None
    if multi:
        # every process decides with the parent's tables: identical bits for any worker count
        setup = _MultiSetup.factory(items, conduct)
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
                    tasks.append(_task(items, i, s, c, size))
            _execute(
                tasks, items, conduct, root, chunk_size, workers, client, ckpt, results, show, setup
            )
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
    return (_dataset_multi if multi else _dataset)(
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
    if isinstance(s, Scenario):
        return _Task(i, s.key, s.p, chunk, size)
    rates = tuple((c, s.rate(c)) for c in designs[0].names)
    return _Task(i, tuple(_cohort_key(c, p) for c, p in rates), rates, chunk, size)


def _progress_on(progress: bool | None) -> bool:
    """Explicit choice, else on for a terminal or a Jupyter kernel (carriage returns work there)."""
    if progress is not None:
        return bool(progress)
    return sys.stderr.isatty() or "ipykernel" in sys.modules


def _execute(
    tasks, designs, conduct, root, chunk_size, workers, client, ckpt, results, show, setup=None
) -> None:
    """Run the chunks not yet in ``ckpt``; ``setup(task)``, if given, replaces ``conduct``."""
    todo = []
    for t in tasks:
        path = None if ckpt is None else ckpt / f"chunk-{t.scenario:04d}-{t.chunk:06d}.npz"
        if path is not None and path.exists():
            results[(t.scenario, t.chunk)] = _load_chunk(path)
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
            width = 30
            fill = int(width * self.done / max(self.total, 1))
            sys.stderr.write(
                f"\r[{'#' * fill}{'.' * (width - fill)}] {self.done}/{self.total} chunks"
            )
            sys.stderr.flush()

    def close(self) -> None:
        if self.show:
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
    """Largest MCSE of ``p_efficacy`` (of any cohort for multi-cohort designs)."""
    acc = _collect(results, designs, scen, n_chunks)
    worst = 0.0
    for d in designs:
        for a in acc[d.name]:
            n = a["count"][0]
            # stop: (look, reason) or (cohort, look, reason); efficacy is reason 1
            pe = a["stop"][..., 1].sum(axis=-1) / n
            worst = max(worst, float(np.sqrt(np.maximum(pe * (1 - pe), 1.0 / n) / n).max()))
    return worst


def _dataset(
    designs, scen, results, n_chunks, root, chunk_size, conduct, wall, workers, client
) -> Any:
    import xarray as xr

    import adaptive2.views.accessor  # noqa: F401  (registers ds.a2.plot() / ds.a2.table())
    from adaptive2._base.provenance import provenance

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
            "duration_q10",
            "duration_q50",
            "duration_q90",
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
            qs, qs_se = _quantiles(a["duration_sketch"], n)
            for i, q in enumerate(QUANTILES):
                v[f"duration_q{round(q * 100):02d}"][di, si] = qs[i]
                mc[f"duration_q{round(q * 100):02d}"][di, si] = qs_se[i]
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


# ---------------------------------------------------------------------------
# Several cohorts analysed jointly (CohortDesign)
# ---------------------------------------------------------------------------
LEVEL = 0.95  # credible level of the interval whose coverage is reported


def _is_cohort_design(x: Any) -> bool:
    """True for a ``CohortDesign`` (its module is loaded iff one exists: keeps imports light)."""
    module = sys.modules.get("adaptive2.model.cohorts")
    return module is not None and isinstance(x, module.CohortDesign)


def _cohort_key(cohort: str, p: float) -> int:
    """Stable 32-bit stream key of a cohort's patients at true rate ``p``."""
    digest = hashlib.sha256(f"cohort\x00{cohort}\x00{float(p)!r}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


def _cohort_conducts(conduct: Any, names: list[str]) -> tuple[tuple[str, Conduct], ...]:
    """One Conduct per cohort, in cohort order."""
    if conduct is None:
        conduct = Conduct()
    if isinstance(conduct, Conduct):
        return tuple((c, conduct) for c in names)
    allowed = f"a Conduct, or a mapping giving a Conduct for each cohort of {names}"
    if not isinstance(conduct, Mapping):
        raise fail("conduct", "simulate", allowed, conduct)
    if set(conduct) != set(names):
        raise fail("conduct", "simulate", allowed, sorted(conduct))
    bad = {c: v for c, v in conduct.items() if not isinstance(v, Conduct)}
    if bad:
        raise fail("conduct", "simulate", allowed, bad)
    return tuple((c, conduct[c]) for c in names)


def _cohort_scenarios(scenarios: Any, designs: Sequence[Any]) -> tuple[Any, ...]:
    """CohortScenario objects (mappings accepted), each with a rate for every cohort."""
    from adaptive2.model.cohorts import CohortScenario

    items = list(designs[0].scenarios if scenarios is None else scenarios)
    allowed = "CohortScenario objects (or mappings with `name` and a rate per cohort)"
    if not items:
        raise fail("scenarios", "simulate", allowed, items)
    out = []
    for s in items:
        if isinstance(s, Mapping):
            d = dict(s)
            name = d.pop("name", None)
            s = CohortScenario(name, tuple(d.items()))
        if not isinstance(s, CohortScenario):
            raise fail("scenarios", "simulate", allowed, s)
        for c in designs[0].names:
            s.rate(c)  # every cohort needs a true rate
        out.append(s)
    names = [s.name for s in out]
    if len(set(names)) != len(names):
        raise fail("scenarios", "simulate", "scenarios with distinct names", names)
    return tuple(out)


@dataclass(frozen=True)
class _Tables:
    """Decision and estimate tables of one CohortDesign for one scenario.

    ``masks[(k, n)]``: (futility, efficacy) boolean stacks (cohort, *lattice) at look
    k and size tuple n (at the last look efficacy = success). ``estimates[n]``:
    (posterior means, 95%-interval-covers-the-truth) stacks (cohort, *lattice).
    """

    masks: dict[tuple[int, tuple[int, ...]], tuple[np.ndarray, np.ndarray]]
    estimates: dict[tuple[int, ...], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class _MultiSetup:
    """What a worker needs besides the designs: conduct per cohort and the tables.

    The tables are computed once, in the calling process, for every size tuple a
    trial can reach, and shipped with each task: the quadrature engine's last bits
    depend on the BLAS thread count, which differs between processes (Dask workers
    run single-threaded), so computing them in the workers could break the
    bit-identity of results across worker counts.
    """

    conduct: tuple[tuple[str, Conduct], ...]
    tables: dict[str, _Tables]

    @staticmethod
    def factory(
        designs: Sequence[Any], conduct: tuple[tuple[str, Conduct], ...]
    ) -> Callable[[_Task], _MultiSetup]:
        """``task -> _MultiSetup`` for the task's scenario; tables built on first use."""
        cache: dict[int, _MultiSetup] = {}
        masks: dict[str, Any] = {}

        def setup(task: _Task) -> _MultiSetup:
            if task.scenario not in cache:
                if not masks:
                    masks.update({d.name: _decision_tables(d) for d in designs})
                true = dict(task.p)
                cache[task.scenario] = _MultiSetup(
                    conduct,
                    {
                        d.name: _Tables(
                            masks[d.name], _estimate_tables_multi(d, masks[d.name], true)
                        )
                        for d in designs
                    },
                )
            return cache[task.scenario]

        return setup


def _sizes(design: Any, status: tuple[int, ...], k: int) -> tuple[int, ...]:
    """Size tuple at look k; status per cohort: look it stopped at, or K if still active."""
    K = design.n_looks
    return tuple(c.looks[k if s == K else s] for c, s in zip(design.cohorts, status, strict=True))


def _decision_tables(design: Any) -> dict[tuple[int, tuple[int, ...]], tuple[np.ndarray, ...]]:
    """Decision masks at every (look, size tuple) a trial can reach.

    Forward over the looks, as the exact engine: a cohort can stop at an interim
    look if its futility or efficacy mask is non-empty there; a trial goes on while
    any cohort is active. Stopped cohorts keep their size at stopping.
    """
    from adaptive2.model.cohorts import _decisions_cached

    K, J = design.n_looks, len(design.cohorts)
    tables: dict[tuple[int, tuple[int, ...]], tuple[np.ndarray, ...]] = {}
    current = {(K,) * J}
    for k in range(K):
        following: set[tuple[int, ...]] = set()
        for status in sorted(current):
            n = _sizes(design, status, k)
            masks = _decisions_cached(design, k, n)
            fut = np.stack([masks[c.name]["futility"] for c in design.cohorts])
            eff = np.stack([masks[c.name]["efficacy"] for c in design.cohorts])
            tables[(k, n)] = (fut, eff)
            options = [
                (s,) if s != K else ((K, k) if (fut[j] | eff[j]).any() else (K,))
                for j, s in enumerate(status)
            ]
            following.update(x for x in itertools.product(*options) if K in x)
        current = following
    return tables


def _estimate_tables_multi(
    design: Any, masks: Mapping[tuple[int, tuple[int, ...]], tuple[np.ndarray, ...]], true: dict
) -> dict[tuple[int, ...], tuple[np.ndarray, np.ndarray]]:
    """Posterior means and interval coverage of the true rates at every stopping size tuple."""
    from adaptive2.model.hierarchical import lattice

    K = design.n_looks
    half = (1 - LEVEL) / 2
    out = {}
    for (k, n), (fut, eff) in masks.items():
        if n in out or (k < K - 1 and not (fut | eff).any()):
            continue
        res = lattice(
            design.model,
            design.cohorts,
            n,
            thresholds={c.name: true[c.name] for c in design.cohorts},
            grid=design.grid,
        )
        above = np.stack([res.p_above[c.name] for c in design.cohorts])
        out[n] = (
            np.stack([res.mean[c.name] for c in design.cohorts]),
            (above >= half) & (above <= 1 - half),
        )
    return out


def _multi_chunk(
    designs: Sequence[Any],
    setup: _MultiSetup,
    root: np.random.SeedSequence,
    task: _Task,
    chunk_size: int,
) -> dict[str, dict[str, np.ndarray]]:
    """Statistics of one chunk of one scenario for every multi-cohort design."""
    conducts = dict(setup.conduct)
    rates = dict(task.p)
    names = [c for c, _ in task.p]
    pats = {}
    for c, key in zip(names, task.key, strict=True):
        n_max = max(d.cohorts[d.names.index(c)].looks[-1] for d in designs)
        pats[c] = _patients(
            conducts[c],
            rates[c],
            n_max,
            lambda b, key=key: stream(root, key, task.chunk, b),
            task.size,
            chunk_size,
        )
    raw = {
        d.name: _one_cohort_design(d, setup.tables[d.name], pats, conducts, rates, names)
        for d in designs
    }
    stats = {d.name: _multi_chunk_stats(raw[d.name], [rates[c] for c in names]) for d in designs}
    # paired differences against the first design (common random numbers)
    ref = raw[designs[0].name]
    for d in designs:
        res = raw[d.name]
        de = (res["reason"] == 1).astype(float) - (ref["reason"] == 1)
        dn = res["enrolled"].astype(float) - ref["enrolled"]
        df = res["fwer"].astype(float) - ref["fwer"]
        stats[d.name]["paired_eff"] = _moments(de, 2)
        stats[d.name]["paired_enrolled"] = _moments(dn, 2)
        stats[d.name]["paired_fwer"] = _moments(df, 2)
    return stats


def _one_cohort_design(
    design: Any,
    tables: _Tables,
    pats: Mapping[str, tuple[np.ndarray, ...]],
    conducts: Mapping[str, Conduct],
    rates: Mapping[str, float],
    names: Sequence[str],
) -> dict[str, np.ndarray]:
    """Conduct of ``size`` trials of one CohortDesign; arrays (cohort, trial) in ``names`` order.

    Looks are joint (module docstring). Per look the active cohorts' trigger times
    and first-``n_jk`` responses are computed for all trials at once; decisions
    and estimates are looked up in the lattice tables, one look-up per distinct
    size tuple.
    """
    cohorts = design.cohorts
    J, K = len(cohorts), design.n_looks
    size = pats[cohorts[0].name][0].shape[0]
    rows = np.arange(size)
    lags = np.array([conducts[c.name].decision_lag for c in cohorts])
    track = []
    for c in cohorts:
        gaps, evaluable, response, delay, ev_rank = pats[c.name]
        pos_of = _positions(ev_rank, c.looks[-1])
        last_needed = pos_of[:, -1]  # index of the N-th evaluable patient (enrolment closes)
        track.append(
            {
                "evaluable": evaluable,
                "response": response,
                "delay": delay,
                "pos_of": pos_of,
                "last_needed": last_needed,
                "enrolled_mask": np.arange(gaps.shape[1])[None, :] <= last_needed[:, None],
                "arrival": conducts[c.name].arrival_times(gaps),
            }
        )
    alive = np.ones((J, size), dtype=bool)
    stop_look = np.full((J, size), K - 1)
    reason = np.full((J, size), -1)  # 0 futility (final: no success), 1 efficacy
    t_stop = np.zeros((J, size))
    r_cur = np.zeros((J, size), dtype=int)
    n_cur = np.zeros((J, size), dtype=int)
    t_decision = np.full((J, size, K), np.nan)
    post_mean = np.full((J, size), np.nan)
    covered = np.zeros((J, size), dtype=bool)
    last_dec = np.zeros(size)
    for k in range(K):
        trig = np.full((J, size), -np.inf)
        for j, c in enumerate(cohorts):
            if not alive[j].any():
                continue
            tr = track[j]
            t_j, r_j = _trigger(
                conducts[c.name],
                tr["arrival"],
                tr["delay"],
                tr["evaluable"],
                tr["response"],
                tr["enrolled_mask"],
                tr["pos_of"][:, c.looks[k] - 1],
                c.looks[k],
            )
            trig[j] = np.where(alive[j], t_j, -np.inf)
            r_cur[j] = np.where(alive[j], r_j, r_cur[j])
            n_cur[j] = np.where(alive[j], c.looks[k], n_cur[j])
        active = alive.any(axis=0)
        t_dec = np.maximum(trig.max(axis=0), last_dec)[None, :] + lags[:, None]  # (J, size)
        t_decision[:, :, k] = np.where(alive, t_dec, np.nan)
        stopping = np.zeros((J, size), dtype=bool)
        efficacy = np.zeros((J, size), dtype=bool)
        # group trials by status (look at which each cohort stopped, K = active)
        status = np.where(alive, K, stop_look)
        code = (status * ((K + 1) ** np.arange(J))[:, None]).sum(axis=0)
        for value in np.unique(code[active]):
            idx = np.flatnonzero(active & (code == value))
            st = status[:, idx[0]]
            n = _sizes(design, tuple(int(s) for s in st), k)
            if (k, n) not in tables.masks:
                raise Adaptive2Error(f"internal: no decision table at look {k + 1}, sizes {n}.")
            fut, eff = tables.masks[(k, n)]
            at = (slice(None), *r_cur[:, idx])  # (cohort, trial) look-ups
            act = st == K
            stop_g = np.ones((J, idx.size), dtype=bool) if k == K - 1 else fut[at] | eff[at]
            stop_g &= act[:, None]
            stopping[:, idx] = stop_g
            efficacy[:, idx] = eff[at] & act[:, None]
            if stop_g.any():
                mean, cover = tables.estimates[n]
                post_mean[:, idx] = np.where(stop_g, mean[at], post_mean[:, idx])
                covered[:, idx] = np.where(stop_g, cover[at], covered[:, idx])
        reason[stopping] = np.where(efficacy[stopping], 1, 0)
        stop_look[stopping] = k
        t_stop[stopping] = t_dec[stopping]
        last_dec = np.where(active, np.where(alive, t_dec, -np.inf).max(axis=0), last_dec)
        alive &= ~stopping
        for j, c in enumerate(cohorts):
            if k < K - 1 and conducts[c.name].on_interim == "pause" and alive[j].any():
                # paused after its n_k-th evaluable patient until its decision
                tr = track[j]
                shifted = _pause_shift(tr["arrival"], tr["pos_of"][:, c.looks[k] - 1], t_dec[j])
                tr["arrival"] = np.where(alive[j][:, None], shifted, tr["arrival"])
    enrolled = np.zeros((J, size), dtype=int)
    for j, c in enumerate(cohorts):
        tr = track[j]
        pos_stop = tr["pos_of"][rows, np.asarray(c.looks)[stop_look[j]] - 1] + 1
        enrolled[j] = _enrolled(
            conducts[c.name],
            tr["arrival"],
            t_stop[j],
            stop_look[j] == K - 1,
            tr["last_needed"] + 1,
            pos_stop,
        )
    roles = [_role(rates[c.name], c.p0, c.p1) for c in cohorts]
    null = np.array([r == "null" for r in roles])[:, None]
    alt = np.array([r == "alternative" for r in roles])[:, None]
    eff = reason == 1
    order = [design.names.index(c) for c in names]
    return {
        "stop_look": stop_look[order],
        "reason": reason[order],
        "n_analysed": n_cur[order],
        "enrolled": enrolled[order],
        "duration": t_stop[order],
        "trial_duration": t_stop.max(axis=0),
        "t_decision": t_decision[order],
        "post_mean": post_mean[order],
        "covered": covered[order],
        "fwer": (eff & null).any(axis=0),
        # correct: no efficacy where null, efficacy where alternative; a cohort in
        # between (role "other", the indifference zone) is correct either way
        "all_correct": (~(eff & null) & ~(alt & ~eff)).all(axis=0),
        "n_drawn": np.array([pats[c][0].shape[1] for c in names]),
    }


def _moments(x: np.ndarray, order: int = 4) -> np.ndarray:
    """Power sums of ``x`` over its last axis, ``[sum x, sum x^2, ...]`` (last axis)."""
    x = np.asarray(x, dtype=float)
    return np.stack([(x**p).sum(axis=-1) for p in range(1, order + 1)], axis=-1)


def _multi_chunk_stats(res: dict[str, np.ndarray], true: Sequence[float]) -> dict[str, np.ndarray]:
    """Sufficient statistics of one chunk (sums; arrays with a leading cohort axis)."""
    J, size, K = res["t_decision"].shape
    stop = np.zeros((J, K, 2))
    for k in range(K):
        for j in range(2):
            stop[:, k, j] = ((res["stop_look"] == k) & (res["reason"] == j)).sum(axis=1)
    err = res["post_mean"] - np.asarray(true)[:, None]
    cover = res["covered"]
    td = res["t_decision"]
    seen = ~np.isnan(td)
    td0 = np.where(seen, td, 0.0)
    width = int(res["n_drawn"].max()) + 1
    return {
        "count": np.array([size], dtype=float),
        "stop": stop,
        "n_sum": _moments(res["n_analysed"]),
        "enrolled_sum": _moments(res["enrolled"]),
        "n_total_sum": _moments(res["n_analysed"].sum(axis=0)),
        "enrolled_total_sum": _moments(res["enrolled"].sum(axis=0)),
        "enrolled_hist": np.stack(
            [np.bincount(e, minlength=width)[:width] for e in res["enrolled"]]
        ).astype(float),
        "duration_sum": _moments(res["duration"]),
        "duration_sketch": _sketch(res["duration"]),
        "trial_duration_sum": _moments(res["trial_duration"]),
        "trial_duration_sketch": _sketch(res["trial_duration"]),
        "bias_sum": _moments(err),
        "cover_sum": cover.sum(axis=1).astype(float),
        "t_decision_sum": td0.sum(axis=1),
        "t_decision_sq": (td0**2).sum(axis=1),
        "t_decision_count": seen.sum(axis=1).astype(float),
        "fwer_sum": np.array([res["fwer"].sum()], dtype=float),
        "all_correct_sum": np.array([res["all_correct"].sum()], dtype=float),
    }


def _mean_sd(s: np.ndarray, n: float) -> tuple[np.ndarray, ...]:
    """Mean, its MCSE, SD and its MCSE from power sums (last axis, orders 1-4).

    MCSE of the SD by the delta method: Var(s^2) ~ (mu4 - sigma^4) / n and
    se(s) = se(s^2) / (2 s).
    """
    m1, m2, m3, m4 = (s[..., i] / n for i in range(4))
    var = np.maximum(m2 - m1 * m1, 0.0)
    sd = np.sqrt(var)
    mu4 = m4 - 4 * m1 * m3 + 6 * m1 * m1 * m2 - 3 * m1**4
    se_var = np.sqrt(np.maximum(mu4 - var * var, 0.0) / n)
    with np.errstate(invalid="ignore", divide="ignore"):
        sd_mcse = np.where(sd > 0, se_var / (2 * sd), 0.0)
    return m1, sd / np.sqrt(n), sd, sd_mcse


def _binomial(count: np.ndarray, n: float) -> tuple[np.ndarray, np.ndarray]:
    p = count / n
    return p, np.sqrt(p * (1 - p) / n)


def _dataset_multi(
    designs, scen, results, n_chunks, root, chunk_size, conduct, wall, workers, client
) -> Any:
    """The xarray Dataset of a multi-cohort run.

    Dims ``design``, ``scenario``, ``cohort``, ``look``, ``reason`` (futility,
    efficacy; at the final look: no success / success), ``n_enrolled``.
    Per design x scenario x cohort: ``p_efficacy``, ``p_futility`` (interim
    futility stops), ``p_early_stop``, ``p_final_fail``, ``expected_n``,
    ``sd_n``, ``expected_enrolled``, ``sd_enrolled``, ``mean_duration``,
    ``sd_duration``, ``duration_q10/q50/q90``, ``bias``, ``rmse``, ``coverage``,
    ``p_efficacy_diff`` and ``expected_enrolled_diff`` (paired, against the
    first design). Per design x scenario: ``fwer``, ``p_all_correct``,
    ``expected_n_total``, ``expected_enrolled_total``, ``mean_trial_duration``,
    ``sd_trial_duration``, ``trial_duration_q10/q50/q90``, ``fwer_diff``,
    ``n_sims``. ``p_stop_at`` (cohort x look x reason), ``mean_time_to_decision``
    (cohort x look; over the trials where the cohort reached the look) and
    ``p_enrolled`` (cohort x n_enrolled). Every figure has a ``_mcse`` twin.
    """
    import xarray as xr

    import adaptive2.views.accessor  # noqa: F401  (registers ds.a2.plot() / ds.a2.table())
    from adaptive2._base.provenance import provenance

    acc = _collect(results, designs, scen, n_chunks)
    names = designs[0].names
    D, S, J = len(designs), len(scen), len(names)
    K = max(d.n_looks for d in designs)
    width = max(acc[d.name][si]["enrolled_hist"].shape[-1] for d in designs for si in range(S))
    out: dict[str, np.ndarray] = {}
    dims: dict[str, tuple[str, ...]] = {}

    def put(name: str, where: tuple[int, int], value: Any, shape: tuple[str, ...]) -> None:
        if name not in out:
            extent = {"cohort": J, "look": K, "reason": 2, "n_enrolled": width}
            out[name] = np.full((D, S, *(extent[x] for x in shape)), np.nan)
            dims[name] = ("design", "scenario", *shape)
        value = np.asarray(value, dtype=float)
        out[name][(*where, *(slice(0, x) for x in value.shape))] = value

    c3 = ("cohort",)
    for di, d in enumerate(designs):
        for si in range(S):
            a = acc[d.name][si]
            n = a["count"][0]
            at = (di, si)
            stop, stop_se = _binomial(a["stop"], n)
            put("p_stop_at", at, stop, ("cohort", "look", "reason"))
            put("p_stop_at_mcse", at, stop_se, ("cohort", "look", "reason"))
            counts = {
                "p_efficacy": a["stop"][..., 1].sum(axis=-1),
                "p_futility": a["stop"][:, :-1, 0].sum(axis=-1),
                "p_early_stop": a["stop"][:, :-1].sum(axis=(-1, -2)),
                "p_final_fail": a["stop"][:, -1, 0],
                "coverage": a["cover_sum"],
            }
            for name, count in counts.items():
                p, se = _binomial(count, n)
                put(name, at, p, c3)
                put(f"{name}_mcse", at, se, c3)
            for name, count, shape in (
                ("fwer", a["fwer_sum"][0], ()),
                ("p_all_correct", a["all_correct_sum"][0], ()),
            ):
                p, se = _binomial(count, n)
                put(name, at, p, shape)
                put(f"{name}_mcse", at, se, shape)
            for mean, sd, key, shape in (
                ("expected_n", "sd_n", "n_sum", c3),
                ("expected_enrolled", "sd_enrolled", "enrolled_sum", c3),
                ("mean_duration", "sd_duration", "duration_sum", c3),
                ("expected_n_total", "sd_n_total", "n_total_sum", ()),
                ("expected_enrolled_total", "sd_enrolled_total", "enrolled_total_sum", ()),
                ("mean_trial_duration", "sd_trial_duration", "trial_duration_sum", ()),
            ):
                m, m_se, s, s_se = _mean_sd(a[key], n)
                put(mean, at, m, shape)
                put(f"{mean}_mcse", at, m_se, shape)
                put(sd, at, s, shape)
                put(f"{sd}_mcse", at, s_se, shape)
            for prefix, key, shape in (
                ("duration", "duration_sketch", c3),
                ("trial_duration", "trial_duration_sketch", ()),
            ):
                qs, qs_se = _quantiles(a[key], n)
                for i, q in enumerate(QUANTILES):
                    put(f"{prefix}_q{round(q * 100):02d}", at, qs[..., i], shape)
                    put(f"{prefix}_q{round(q * 100):02d}_mcse", at, qs_se[..., i], shape)
            b, b_se, _, _ = _mean_sd(a["bias_sum"], n)
            put("bias", at, b, c3)
            put("bias_mcse", at, b_se, c3)
            mse = a["bias_sum"][..., 1] / n
            rmse = np.sqrt(mse)
            se_mse = np.sqrt(np.maximum(a["bias_sum"][..., 3] / n - mse * mse, 0.0) / n)
            with np.errstate(invalid="ignore", divide="ignore"):
                put("rmse", at, rmse, c3)
                put("rmse_mcse", at, np.where(rmse > 0, se_mse / (2 * rmse), 0.0), c3)
                cnt = a["t_decision_count"]
                t1 = a["t_decision_sum"] / cnt
                t_sd = np.sqrt(np.maximum(a["t_decision_sq"] / cnt - t1 * t1, 0.0))
                put("mean_time_to_decision", at, t1, ("cohort", "look"))
                put("mean_time_to_decision_mcse", at, t_sd / np.sqrt(cnt), ("cohort", "look"))
            dist, dist_se = _binomial(a["enrolled_hist"], n)
            put("p_enrolled", at, dist, ("cohort", "n_enrolled"))
            put("p_enrolled_mcse", at, dist_se, ("cohort", "n_enrolled"))
            for name, key, shape in (
                ("p_efficacy_diff", "paired_eff", c3),
                ("expected_enrolled_diff", "paired_enrolled", c3),
                ("fwer_diff", "paired_fwer", ()),
            ):
                m1, m2 = a[key][..., 0] / n, a[key][..., 1] / n
                put(name, at, m1, shape)
                put(f"{name}_mcse", at, np.sqrt(np.maximum(m2 - m1 * m1, 0.0) / n), shape)
            put("n_sims", at, n, ())
    used = np.flatnonzero(np.nan_to_num(out["p_enrolled"]).sum(axis=(0, 1, 2)))
    last = int(used[-1]) + 1 if used.size else 1
    for name in ("p_enrolled", "p_enrolled_mcse"):
        out[name] = out[name][..., :last]
    first = designs[0]
    rate = np.array([[s.rate(c) for c in names] for s in scen])
    planning = [first.cohorts[first.names.index(c)] for c in names]
    role = np.array([[_role(r, c.p0, c.p1) for r, c in zip(row, planning, strict=True)]
                     for row in rate])
    hashes = {d.name: d.hash for d in designs}
    ds = xr.Dataset(
        {name: (dims[name], arr) for name, arr in out.items()},
        coords={
            "design": [d.name for d in designs],
            "design_hash": ("design", list(hashes.values())),
            "scenario": [s.name for s in scen],
            "cohort": names,
            "rate": (("scenario", "cohort"), rate),
            "role": (("scenario", "cohort"), role),
            "look": np.arange(1, K + 1),
            "reason": ["futility", "efficacy"],
            "n_enrolled": np.arange(last),
        },
        attrs=provenance(
            method="monte_carlo",
            engine="quadrature",
            n_sims=int(out["n_sims"].min()),
            seed_entropy=str(root.entropy),
            chunk_size=int(chunk_size),
            design_hash=first.hash if D == 1 else json.dumps(hashes),
            model=first.model.describe() if D == 1 else "",
            stream_scheme=(
                "SeedSequence(entropy, spawn_key=(cohort_key, chunk, block)); cohort_key from "
                "the cohort's name and true rate"
            ),
            analysis_timing=(
                "analysis k when every active cohort has its first n_jk evaluable outcomes "
                "known (and not before the previous decision); stopped cohorts contribute "
                "their data at stopping"
            ),
            conduct=json.dumps({c: asdict(x) for c, x in conduct}),
            wall_time_s=round(wall, 3),
            workers="dask" if client is not None else str(workers),
        ),
    )
    return ds
