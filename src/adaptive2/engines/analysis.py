"""Interim and final analyses of observed data with a design: :func:`analyze`.

Given the responses observed so far, :func:`analyze` reports per cohort the
posterior of the response rate, the predictive probability of final success,
the decision the design prescribes at this look (from its integer boundaries),
how far the data are from the boundaries of the next look, and the prior-data
conflict diagnostics (always shown).

Single-cohort designs (:class:`~adaptive2.model.designs.Design`) are analysed exactly
(conjugate beta / beta-mixture updating). Multi-cohort designs
(:class:`~adaptive2.model.cohorts.CohortDesign`) use the deterministic quadrature
engine of :mod:`adaptive2.model.hierarchical`; with ``engine="pymc"`` a NUTS fit
(:mod:`adaptive2.engines.pymc_fit`) is reported next to the quadrature figures.

Look handling
-------------
* By default each cohort is analysed at the look whose ``n`` equals its data's
  ``n``. Data with ``n`` strictly between two looks are analysed against the
  last look passed: that look's rule is applied to all ``n`` patients (integer
  boundaries recomputed at the observed ``n``, an "overrun" analysis), and a
  :class:`~adaptive2._base.errors.StatisticalWarning` says so. Data with ``n`` below
  the first look reach no look: the decision is "continue" (with a warning) and
  the next-look figures refer to look 1.
* An explicit ``look`` (1-based) asserts which look the data belong to: it is an
  error if the data have not reached it (``n`` below the look's size) or have
  passed it (``n`` at or beyond the next look's size). Data between the given
  look and the next are analysed as above, with the same warning. For a
  multi-cohort design the same ``look`` applies to every cohort (omit it when a
  cohort stopped at an earlier look).
* Multi-cohort analyses are joint: every cohort still running is analysed at
  each look. A cohort whose data are at an earlier look than another cohort's
  has therefore stopped at that look, and its decision was taken then, with
  the other cohorts' data *at that look*, which the data given here do not
  hold. Its decision is reported as ``"stopped at look k"`` (with a
  :class:`~adaptive2._base.errors.StatisticalWarning`), not re-decided;
  :attr:`CohortAnalysis.hypothetical_decision` holds what the rule of look k
  gives with the other cohorts' current data, a combination the design never
  evaluates (for information only). The other cohorts are analysed with the
  stopped cohort's data at its stopping look, as the design does.
"""

from __future__ import annotations

import dataclasses
import math
import types
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from adaptive2._base.errors import ConvergenceWarning, DesignError, StatisticalWarning
from adaptive2._base.provenance import provenance
from adaptive2._base.validation import check_choice, check_int, fail
from adaptive2.engines import pymc_fit as bayes
from adaptive2.kernels import quadrature
from adaptive2.model.cohorts import CohortDesign, _decisions, predictive_probability
from adaptive2.model.data import SINGLE_COHORT_NAME, cohort_data, data_pair
from adaptive2.model.designs import Design
from adaptive2.model.priors import Beta, Conflict, as_mixture, conflict
from adaptive2.model.rules import Decision, posterior_prob_exceeds, predictive_success

__all__ = ["AnalysisResult", "CohortAnalysis", "NextLook", "analyze", "parse_data"]

ENGINES = ("quadrature", "pymc")
#: Cohort name used for the single cohort of a :class:`~adaptive2.model.designs.Design`.
LEVEL = 0.95
_OWNER = "analyze"

# The decisions in words (one vocabulary: adaptive2.model.rules.Decision)
CONTINUE = Decision.CONTINUE.label
STOP_FUTILITY = Decision.STOP_FUTILITY.label
STOP_EFFICACY = Decision.STOP_EFFICACY.label
SUCCESS = Decision.SUCCESS.label
FAILURE = Decision.FAILURE.label
GO = Decision.GO.label
CONSIDER = Decision.CONSIDER.label
NO_GO = Decision.NO_GO.label


# ---------------------------------------------------------------------------
# Result objects
# ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class NextLook:
    """Where the data stand against the boundaries of the next look.

    Attributes
    ----------
    look : int
        1-based number of the next look.
    n : int
        Patients at the next look.
    patients : int
        Patients still to be observed before it (``n`` minus the current n).
    futility_max_r, efficacy_min_r : int or None
        Its integer boundaries: stop for futility (final look: fail / No-Go) if
        r ≤ ``futility_max_r``; stop for efficacy (final: succeed / Go) if
        r ≥ ``efficacy_min_r``; ``None`` where no count does.
    final : bool
        True if the next look is the final analysis.
    dual : bool
        True if it is a Go / Consider / No-Go analysis.
    responses_to_avoid_futility : int
        Fewest further responses among ``patients`` for which the next look does
        not stop for futility (final: does not fail / give No-Go). 0 if the
        boundary can no longer be hit; more than ``patients`` if it cannot be
        avoided.
    responses_for_efficacy : int or None
        Fewest further responses for an efficacy stop (final: success / Go);
        ``None`` if the look has no such boundary; more than ``patients`` if out
        of reach.
    """

    look: int
    n: int
    patients: int
    futility_max_r: int | None
    efficacy_min_r: int | None
    final: bool
    dual: bool
    responses_to_avoid_futility: int
    responses_for_efficacy: int | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of the fields."""
        return dataclasses.asdict(self)


@dataclass(frozen=True, slots=True)
class CohortAnalysis:
    """The analysis of one cohort.

    Attributes
    ----------
    name : str
        Cohort name (``"cohort"`` for a single-cohort design).
    r, n : int
        Observed responses and evaluable patients.
    look, n_look : int or None
        1-based look analysed and its planned size (``None`` before look 1).
    p0, p1 : float, Beta or None
        Uninteresting rate (a Beta for an uncertain p_S) and planning target.
    mean, sd : float
        Posterior mean and standard deviation of the response rate.
    interval : (float, float)
        95% equal-tailed credible interval.
    p_above_p0, p_above_p1 : float or None
        P(p > p0 | data) and P(p > p1 | data).
    predictive_probability : float
        Probability, under the posterior predictive of the patients still to come
        up to the final look, that the final rule succeeds (1 or 0 at the final
        look). Interim stops are not taken into account (Lee & Liu 2008).
    decision : str
        ``"continue"``, ``"stop for futility"``, ``"stop for efficacy"``; at the
        final look ``"success"`` / ``"failure"`` or ``"Go"`` / ``"Consider"`` /
        ``"No-Go"`` for a dual criterion; ``"stopped at look k"`` for a cohort of
        a multi-cohort design whose data are at an earlier look than another
        cohort's (see the module notes).
    reason : str
        Why, in terms of the integer boundaries of this look.
    distance : str
        The distance to the boundaries of the next look, in words.
    next_look : NextLook or None
        The same in numbers (``None`` at the final look).
    components : tuple of (w, a, b)
        Posterior beta-mixture components (empty for a borrowing model).
    conflict : Conflict
        Prior-data conflict: prior-predictive tail probabilities of the observed
        r and the mixture weights before and after the data.
    p_exchangeable : float or None
        EXNEX: posterior probability that the cohort is exchangeable.
    pymc : mapping or None
        NUTS figures (``engine="pymc"``): mean, sd, interval, p_above_p0,
        p_above_p1, predictive_probability, Monte Carlo standard errors.
    hypothetical_decision : str or None
        For a cohort reported as ``"stopped at look k"``: the decision the rule
        of look k gives with the other cohorts' *current* data, a combination
        the design never evaluates (its real decision used their data at look
        k). ``None`` otherwise.
    """

    name: str
    r: int
    n: int
    look: int | None
    n_look: int | None
    p0: float | Beta | None
    p1: float | None
    mean: float
    sd: float
    interval: tuple[float, float]
    p_above_p0: float | None
    p_above_p1: float | None
    predictive_probability: float
    decision: str
    reason: str
    distance: str
    next_look: NextLook | None
    components: tuple[tuple[float, float, float], ...]
    conflict: Conflict
    p_exchangeable: float | None = None
    pymc: Mapping[str, Any] | None = field(default=None, compare=False)
    hypothetical_decision: str | None = None

    @property
    def conflict_p(self) -> float:
        """Box's (1980) prior-predictive p-value of the observed r (small = conflict)."""
        return self.conflict.p_box

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (the ``cohorts`` entries of the CLI's ``--json``)."""
        c = self.conflict
        out: dict[str, Any] = {
            "r": self.r,
            "n": self.n,
            "look": self.look,
            "n_look": self.n_look,
            "p0": _p0_json(self.p0),
            "p1": self.p1,
            "mean": self.mean,
            "sd": self.sd,
            "interval": list(self.interval),
            "p_above_p0": self.p_above_p0,
            "p_above_p1": self.p_above_p1,
            "predictive_probability": self.predictive_probability,
            "decision": self.decision,
            "reason": self.reason,
            "distance": self.distance,
            "next_look": None if self.next_look is None else self.next_look.to_dict(),
            "components": [{"w": w, "a": a, "b": b} for w, a, b in self.components],
            "conflict_p": c.p_box,
            "conflict": {
                "p_lower": c.p_lower,
                "p_upper": c.p_upper,
                "p_box": c.p_box,
                "prior_weights": list(c.prior_weights),
                "posterior_weights": list(c.posterior_weights),
            },
            "p_exchangeable": self.p_exchangeable,
            "hypothetical_decision": self.hypothetical_decision,
        }
        if self.pymc is not None:
            out["pymc"] = _jsonable(dict(self.pymc))
        return out


@dataclass(frozen=True, slots=True)
class AnalysisResult:
    """Result of :func:`analyze`: one :class:`CohortAnalysis` per cohort, plus provenance.

    Attributes
    ----------
    design : str
        Design name.
    design_hash : str
        SHA-256 of the design's canonical JSON.
    engine : str
        ``"quadrature"`` or ``"pymc"`` (the quadrature figures are always there).
    look : int or None
        Look analysed (1-based; for several cohorts the latest cohort look).
    n_look : int, mapping or None
        Its planned size (for several cohorts: cohort → size; also on each cohort).
    cohorts : tuple of CohortAnalysis
    model : str or None
        The borrowing model in words (multi-cohort designs).
    warnings : tuple of str
        The statistical warnings raised by the analysis.
    diagnostics : mapping or None
        NUTS diagnostics (``engine="pymc"``): R-hat, bulk ESS, divergences, problems.
    provenance : mapping
        Version, creation time, numpy and scipy versions.
    idata : arviz.InferenceData or None
        The NUTS fit (``engine="pymc"``).
    """

    design: str
    design_hash: str
    engine: str
    look: int | None
    n_look: int | Mapping[str, int | None] | None = field(compare=False)
    cohorts: tuple[CohortAnalysis, ...]
    model: str | None = None
    warnings: tuple[str, ...] = ()
    diagnostics: Mapping[str, Any] | None = field(default=None, compare=False)
    provenance: Mapping[str, Any] = field(default_factory=dict, compare=False)
    idata: Any = field(default=None, compare=False, repr=False)

    @property
    def names(self) -> list[str]:
        """Cohort names."""
        return [c.name for c in self.cohorts]

    def __getitem__(self, name: str) -> CohortAnalysis:
        for c in self.cohorts:
            if c.name == name:
                return c
        raise KeyError(f"no cohort {name!r}; cohorts are {self.names}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (the CLI's ``--json`` output).

        Keys: ``cohorts`` (name → :meth:`CohortAnalysis.to_dict`: ``mean``, ``sd``,
        ``interval``, ``p_above_p0``, ``p_above_p1``, ``predictive_probability``,
        ``decision``, ``reason``, ``distance``, ``next_look``, ``components``
        (``[{w, a, b}]``), ``conflict_p``, ``conflict``, ``p_exchangeable``, ``r``,
        ``n``, ``look``, ``n_look`` and, with NUTS, ``pymc``), ``look``, ``n_look``,
        ``design``, ``design_hash``, ``engine``, ``model``, ``warnings``,
        ``diagnostics`` (NUTS only), ``adaptive2_version``, ``created_at``,
        ``numpy_version``, ``scipy_version``, ``method``. A single-cohort design's
        cohort is named ``"cohort"``.
        """
        out: dict[str, Any] = {
            "cohorts": {c.name: c.to_dict() for c in self.cohorts},
            "look": self.look,
            "n_look": dict(self.n_look) if isinstance(self.n_look, Mapping) else self.n_look,
            "design": self.design,
            "design_hash": self.design_hash,
            "engine": self.engine,
            "model": self.model,
            "warnings": list(self.warnings),
        }
        if self.diagnostics is not None:
            out["diagnostics"] = _jsonable(dict(self.diagnostics))
        out.update(_jsonable(dict(self.provenance)))
        return out

    def to_frame(self) -> Any:
        """A pandas DataFrame, one row per cohort (index ``cohort``)."""
        import pandas as pd

        rows = []
        for c in self.cohorts:
            row: dict[str, Any] = {
                "cohort": c.name,
                "r": c.r,
                "n": c.n,
                "look": c.look,
                "n_look": c.n_look,
                "mean": c.mean,
                "sd": c.sd,
                "interval_low": c.interval[0],
                "interval_high": c.interval[1],
                "p_above_p0": c.p_above_p0,
                "p_above_p1": c.p_above_p1,
                "predictive_probability": c.predictive_probability,
                "decision": c.decision,
                "conflict_p": c.conflict_p,
                "p_exchangeable": c.p_exchangeable,
                "distance": c.distance,
            }
            if c.pymc is not None:
                for key in ("mean", "sd", "p_above_p0", "p_above_p1", "predictive_probability"):
                    row[f"pymc_{key}"] = c.pymc.get(key)
            rows.append(row)
        return pd.DataFrame(rows).set_index("cohort")

    def header(self) -> str:
        """One line: the design, the look and the engine."""
        where = "before look 1" if self.look is None else f"at look {self.look}"
        return f"Analysis of design {self.design!r} {where} (engine: {self.engine})"

    def __str__(self) -> str:
        lines = [self.header()]
        if self.model:
            lines.append(f"model: {self.model}")
        for c in self.cohorts:
            lines += _cohort_text(c)
        if self.diagnostics is not None:
            probs = self.diagnostics.get("problems") or []
            lines.append(
                "NUTS diagnostics: " + ("; ".join(probs) if probs else "all checks passed")
            )
        for w in self.warnings:
            lines.append(f"warning: {w}")
        return "\n".join(lines)


# ---------------------------------------------------------------------------
# Public function
# ---------------------------------------------------------------------------
def analyze(
    design: Any,
    data: Any,
    *,
    look: int | None = None,
    engine: str = "quadrature",
    seed: int | np.random.SeedSequence | None = None,
    draws: int = 2000,
    tune: int = 1000,
    chains: int = 4,
) -> AnalysisResult:
    """Analyse observed data with a design: posterior, predictive probability, decision.

    Parameters
    ----------
    design : Design or CohortDesign
        The design the trial follows.
    data : (r, n), "r/n" or mapping
        Single-cohort design: responses and evaluable patients, as a pair or the
        string ``"r/n"`` (a one-entry mapping keyed ``"cohort"`` or by the
        design name is accepted too). Multi-cohort design: mapping cohort name →
        (r, n) or ``"r/n"``; cohorts left out have no data yet (0/0).
    look : int, optional
        1-based look the data belong to; see the module docstring for how it is
        checked. Default: inferred from each cohort's ``n``.
    engine : {"quadrature", "pymc"}
        ``"pymc"`` (multi-cohort designs only; ``pip install adaptive2[bayes]``)
        adds a NUTS fit, reported side by side with the quadrature figures, and
        returns its InferenceData as ``result.idata``. Decisions always use the
        quadrature figures, as the design's boundaries do.
    seed : int, SeedSequence or None
        Seed of the NUTS fit (``engine="pymc"``).
    draws, tune, chains : int
        NUTS settings (``engine="pymc"``).

    Returns
    -------
    AnalysisResult
        One :class:`CohortAnalysis` per cohort (a single-cohort design's cohort
        is named ``"cohort"``); ``to_dict()``, ``to_frame()``, ``str()`` and an
        HTML card.

    Raises
    ------
    DesignError
        For r > n, negative counts, n beyond the final look, an unknown cohort
        name, a look out of range or inconsistent with the data, or an unknown
        engine; the message names the value and the allowed ones.

    Warns
    -----
    StatisticalWarning
        Data between looks or before the first look, or a cohort of a
        multi-cohort design reported as stopped at an earlier look than another
        cohort's (see the module docstring).
    ConvergenceWarning
        ``engine="pymc"``: an R-hat above 1.01, a bulk ESS below 400 or
        divergent transitions, with the numbers.

    Notes
    -----
    Single-cohort designs: the posterior is the conjugate update of the
    design's prior; P(p > p0) and the predictive probability are exact. The
    predictive probability of final success is
    ``sum_x P(X = x | data) 1{r + x >= s}``, X the beta-binomial (mixture)
    number of responses among the ``n_max - n`` patients still to come and s the
    final success boundary.

    Multi-cohort designs: posterior summaries come from
    :func:`adaptive2.engines.posterior.posterior` and the decisions from the same
    lattice computation as the design's exact OC. The predictive probability of a
    cohort (:func:`adaptive2.model.cohorts.predictive_probability`) sums over that
    cohort's future responses x with the quadrature engine, holding the other
    cohorts' data fixed:
    ``P(X = x | all data) ∝ C(m, x) Z(r + x of n + m)``, Z the model's marginal
    likelihood of all data (other cohorts and historical strata included), times
    1{final rule succeeds at r + x of n_max, the other cohorts at their current
    data}. The next-look boundaries are computed the same way (others fixed). The
    conflict p-value uses the predictive distribution of the cohort's count
    given the model, the historical strata and the other cohorts' data (a
    leave-one-cohort-out check, :func:`adaptive2.kernels.quadrature.predictive`); for
    EXNEX the posterior probability of exchangeability plays the role of the
    mixture weights.

    Examples
    --------
    >>> from adaptive2 import Beta, Design, PosteriorProbability, PredictiveProbability
    >>> d = Design(name="demo", prior=Beta(1, 1), looks=(10, 20),
    ...            futility=PredictiveProbability(threshold=0.05),
    ...            final=PosteriorProbability(p0=0.2, cutoff=0.9))
    >>> res = analyze(d, "3/10")
    >>> res["cohort"].decision
    'continue'
    >>> print(res["cohort"].distance)
    4 more responses among the next 10 patients would be needed for final success (r >= 7 at n = 20)
    """
    engine = check_choice(engine, "engine", _OWNER, ENGINES)
    if isinstance(design, Design):
        if engine == "pymc":
            raise fail(
                "engine",
                _OWNER,
                "'quadrature' for a single-cohort design (its posterior is exact, "
                "conjugate; NUTS is for borrowing models)",
                engine,
            )
        return _analyze_single(design, data, look)

    if not isinstance(design, CohortDesign):
        raise fail("design", _OWNER, "a Design or CohortDesign", type(design).__name__)
    pymc_opts = {"seed": seed, "draws": draws, "tune": tune, "chains": chains}
    return _analyze_multi(design, data, look, engine, pymc_opts)


def parse_data(text: str) -> str | dict[str, str]:
    """Parse the CLI's ``--data``: ``"12/20"`` or ``"frontline=12/20,post_io=3/18"``.

    Returns the string ``"r/n"`` or a mapping name → ``"r/n"`` (validated by
    :func:`analyze`).
    """
    if not isinstance(text, str) or not text.strip():
        raise fail("data", _OWNER, "r/n or NAME=r/n,NAME=r/n", text)
    items = [x.strip() for x in text.split(",") if x.strip()]
    named = ["=" in x for x in items]
    if not any(named):
        if len(items) != 1:
            raise fail("data", _OWNER, "r/n for a single cohort, or NAME=r/n,NAME=r/n", text)
        return items[0]
    if not all(named):
        raise fail("data", _OWNER, "NAME=r/n for every cohort", text)
    out: dict[str, str] = {}
    for item in items:
        name, value = (s.strip() for s in item.split("=", 1))
        if name in out:
            raise fail("data", _OWNER, "each cohort named once", text)
        out[name] = value
    return out


# ---------------------------------------------------------------------------
# Data and looks
# ---------------------------------------------------------------------------
def _locate(
    looks: tuple[int, ...], n: int, look: int | None, label: str
) -> tuple[int | None, str | None]:
    """0-based look index for ``n`` patients (None before look 1) and a warning text."""
    n_looks = len(looks)
    who = "the data" if label == SINGLE_COHORT_NAME else f"cohort {label!r}"
    have = "have" if label == SINGLE_COHORT_NAME else "has"
    if look is not None:
        look = check_int(look, "look", _OWNER, low=1, high=n_looks)
        k = look - 1
        if n < looks[k]:
            raise DesignError(
                f"`look` of analyze must be a look the data have reached; got look {look} "
                f"(n = {looks[k]}), but {who} {have} n = {n} (omit `look` to analyse at the "
                "last look passed)."
            )
        if k + 1 < n_looks and n >= looks[k + 1]:
            raise DesignError(
                f"`look` of analyze must be a look the data have not passed; got look {look} "
                f"(n = {looks[k]}), but {who} {have} n = {n}, which reaches look {look + 1} "
                f"(n = {looks[k + 1]})."
            )
    else:
        passed = [i for i, nk in enumerate(looks) if nk <= n]
        k = passed[-1] if passed else None
    if k is None:
        return None, (
            f"{who}: n = {n} is before look 1 (n = {looks[0]}); no analysis is due yet, so "
            "the decision is 'continue' and the next-look figures refer to look 1."
        )
    if n != looks[k]:
        return k, (
            f"{who}: n = {n} lies between look {k + 1} (n = {looks[k]}) and look {k + 2} "
            f"(n = {looks[k + 1]}); analysed against look {k + 1}, whose rule is applied "
            f"to all {n} patients."
        )
    return k, None


def _warn(
    message: str,
    sink: list[str],
    category: type[Warning] = StatisticalWarning,
    stacklevel: int = 4,
) -> None:
    """Record ``message`` on the result and warn (stacklevel 4: the caller of analyze)."""
    sink.append(message)
    warnings.warn(message, category, stacklevel=stacklevel)


# ---------------------------------------------------------------------------
# Decisions and sentences (shared by single- and multi-cohort designs)
# ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Bounds:
    """Integer boundaries of one look at size ``n``."""

    n: int
    a: int | None  # futility (final: failure / No-Go) if r <= a
    b: int | None  # efficacy (final: success / Go) if r >= b
    final: bool
    dual: bool


def _decide(r: int, bd: _Bounds) -> str:
    fut = bd.a is not None and r <= bd.a
    eff = bd.b is not None and r >= bd.b
    if bd.final:
        if bd.dual:
            return GO if eff else (NO_GO if fut else CONSIDER)
        return SUCCESS if eff else FAILURE
    return STOP_FUTILITY if fut else (STOP_EFFICACY if eff else CONTINUE)


def _plural(k: int, word: str) -> str:
    return f"{k} {word}{'' if k == 1 else 's'}"


def _reason(r: int, bd: _Bounds | None, first_n: int, decision: str, given: str) -> str:
    if bd is None:
        return f"no look reached yet: look 1 is at n = {first_n}"
    n, a, b = bd.n, bd.a, bd.b
    if bd.final and not bd.dual:
        if b is None:
            return f"no response count succeeds at n = {n}{given}"
        op = ">=" if decision == SUCCESS else "<"
        return f"r = {r} {op} {b}, the success boundary at n = {n}{given}"
    if decision in (STOP_FUTILITY, NO_GO):
        word = "futility" if decision == STOP_FUTILITY else "No-Go"
        return f"r = {r} <= {a}, the {word} boundary at n = {n}{given}"
    if decision in (STOP_EFFICACY, GO):
        word = "efficacy" if decision == STOP_EFFICACY else "Go"
        return f"r = {r} >= {b}, the {word} boundary at n = {n}{given}"
    lo = "no futility stop" if a is None else f"{'No-Go' if bd.final else 'futility'} if r <= {a}"
    hi = "no efficacy stop" if b is None else f"{'Go' if bd.final else 'efficacy'} if r >= {b}"
    return f"r = {r} at n = {n}: {lo}, {hi}{given}"


def _next_look(r: int, n: int, k_next: int, bd: _Bounds) -> NextLook:
    to_avoid = 0 if bd.a is None else max(bd.a + 1 - r, 0)
    to_eff = None if bd.b is None else max(bd.b - r, 0)
    return NextLook(
        look=k_next + 1,
        n=bd.n,
        patients=bd.n - n,
        futility_max_r=bd.a,
        efficacy_min_r=bd.b,
        final=bd.final,
        dual=bd.dual,
        responses_to_avoid_futility=to_avoid,
        responses_for_efficacy=to_eff,
    )


def _distance(
    r: int, nl: NextLook | None, bd_now: _Bounds | None, decision: str, given: str
) -> str:
    """The distance to the next look's boundaries, in words."""
    text = _distance_text(r, nl, bd_now, given)
    if decision in (STOP_FUTILITY, STOP_EFFICACY):
        return f"the design stops at this look; were the trial to continue: {text}"
    return text


def _distance_text(r: int, nl: NextLook | None, bd_now: _Bounds | None, given: str) -> str:
    if nl is None:  # final look analysed: nothing left
        assert bd_now is not None
        n, b = bd_now.n, bd_now.b
        if b is None:
            return f"no look left; no response count succeeds at n = {n}{given}"
        word = "Go" if bd_now.dual else "success"
        if r >= b:
            return (f"no look left; the {word} boundary r >= {b} at n = {n} was met with "
                    f"{_plural(r - b, 'response')} to spare{given}")
        return (f"no look left; the {word} boundary r >= {b} at n = {n} was missed by "
                f"{_plural(b - r, 'response')}{given}")
    m, n_next, look = nl.patients, nl.n, nl.look
    parts = []
    at = f"at n = {n_next}"
    if nl.final:
        s = nl.efficacy_min_r
        word = "Go" if nl.dual else "final success"
        if s is None:
            parts.append(f"{word} is impossible: no response count reaches it {at}")
        elif nl.responses_for_efficacy == 0:
            parts.append(f"{word} is assured (r >= {s} {at} is already met)")
        else:
            need = nl.responses_for_efficacy
            assert need is not None
            if need > m:
                parts.append(f"{word} is out of reach: it needs r >= {s} {at}, "
                             f"{_plural(need, 'more response')} among the last "
                             f"{_plural(m, 'patient')}")
            else:
                parts.append(f"{_plural(need, 'more response')} among the next "
                             f"{_plural(m, 'patient')} would be needed for {word} "
                             f"(r >= {s} {at})")
        if nl.dual and nl.futility_max_r is not None:
            parts.append(_avoid_text(r, m, nl, "No-Go", "avoid No-Go", at))
        return "; ".join(parts) + given
    if nl.futility_max_r is None:
        parts.append(f"look {look} ({at}) has no futility stop")
    else:
        parts.append(_avoid_text(r, m, nl, "a futility stop", "continue", at, look))
    if nl.efficacy_min_r is not None:
        b, need = nl.efficacy_min_r, nl.responses_for_efficacy
        assert need is not None
        if need == 0:
            parts.append(f"an efficacy stop at look {look} is assured (r >= {b} {at} is met)")
        elif need > m:
            parts.append(f"an efficacy stop at look {look} is out of reach (it needs r >= {b} "
                         f"{at}, {_plural(need, 'more response')} among the next "
                         f"{_plural(m, 'patient')})")
        else:
            parts.append(f"stopping for efficacy at look {look} would need r >= {b} {at} "
                         f"({_plural(need, 'more response')} among the next "
                         f"{_plural(m, 'patient')})")
    return "; ".join(parts) + given


def _avoid_text(r: int, m: int, nl: NextLook, event: str, verb: str, at: str,
                look: int | None = None) -> str:
    a = nl.futility_max_r
    assert a is not None
    where = "" if look is None else f" at look {look}"
    need = nl.responses_to_avoid_futility
    if need == 0:
        return f"{event}{where} is no longer possible (it needs r <= {a} {at})"
    if need > m:
        return (f"{event}{where} cannot be avoided whatever the next "
                f"{_plural(m, 'patient')} show: to {verb} would need r >= {a + 1} {at}, "
                f"{_plural(need, 'more response')}")
    stop = "stopping for futility" if event == "a futility stop" else event
    return (f"{_plural(need, 'more response')} among the next {_plural(m, 'patient')} "
            f"would be needed to {verb} ({stop}{where} would need r <= {a} {at})")


# ---------------------------------------------------------------------------
# Single-cohort designs
# ---------------------------------------------------------------------------
def _design_p0(design: Design) -> float | Beta | None:
    if design.p0 is not None:
        return design.p0
    for rule in (design.final, design.futility, design.efficacy):
        p0 = getattr(rule, "p0", None)
        if p0 is not None:
            return p0
    return None


def _single_bounds(design: Design, k: int, n: int) -> _Bounds:
    bnd = design.boundaries()
    final = k == design.n_looks - 1
    if n == design.looks[k]:
        return _Bounds(n, bnd.futility_max_r[k], bnd.efficacy_min_r[k], final, final and bnd.dual)
    # overrun: the rule of look k applied at the observed n (n is below the next look)
    looks = list(design.looks)
    looks[k] = n
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", StatisticalWarning)
            moved = design.replace(looks=tuple(looks)).boundaries()
    except DesignError as exc:
        raise DesignError(
            f"`data` of analyze: look {k + 1}'s rule cannot be applied at n = {n} ({exc})"
        ) from None
    return _Bounds(n, moved.futility_max_r[k], moved.efficacy_min_r[k], final, False)


def _single_data(design: Design, data: Any) -> tuple[int, int]:
    if isinstance(data, Mapping):
        keys = list(data)
        allowed = (SINGLE_COHORT_NAME, design.name)
        if len(keys) != 1 or keys[0] not in allowed:
            raise fail(
                "data",
                _OWNER,
                f"(r, n) or 'r/n', or a mapping with the one key {SINGLE_COHORT_NAME!r} or "
                f"{design.name!r} (single-cohort design)",
                keys,
            )
        data = data[keys[0]]
    return data_pair(data, SINGLE_COHORT_NAME, design.n_max)


def _analyze_single(design: Design, data: Any, look: int | None) -> AnalysisResult:

    r, n = _single_data(design, data)
    sink: list[str] = []
    k, message = _locate(design.looks, n, look, SINGLE_COHORT_NAME)
    if message:
        _warn(message, sink)
    prior = design.prior
    post = prior.update(r, n)
    p0 = _design_p0(design)
    p1 = design.p1
    p_above = lambda t: (  # noqa: E731
        None if t is None else float(posterior_prob_exceeds(prior, [r], n, t)[0])
    )
    bnd = design.boundaries()
    n_max = design.n_max
    s = bnd.efficacy_min_r[-1]
    s_eff = n_max + 1 if s is None else s
    if n == n_max:
        pp = 1.0 if r >= s_eff else 0.0
    else:
        pp = float(predictive_success(prior, [r], n, n_max, s_eff)[0])
    bd_now = None if k is None else _single_bounds(design, k, n)
    decision = CONTINUE if bd_now is None else _decide(r, bd_now)
    k_next = 0 if k is None else k + 1
    nl = None
    if k_next < design.n_looks:
        nl = _next_look(r, n, k_next, _single_bounds(design, k_next, design.looks[k_next]))
    lo, hi = post.interval(LEVEL)
    comps = tuple((c["w"], c["a"], c["b"]) for c in as_mixture(post).components())
    cohort = CohortAnalysis(
        name=SINGLE_COHORT_NAME,
        r=r,
        n=n,
        look=None if k is None else k + 1,
        n_look=None if k is None else design.looks[k],
        p0=p0,
        p1=p1,
        mean=float(post.mean),
        sd=float(post.sd),
        interval=(float(lo), float(hi)),
        p_above_p0=p_above(p0),
        p_above_p1=p_above(p1),
        predictive_probability=float(pp),
        decision=decision,
        reason=_reason(r, bd_now, design.looks[0], decision, ""),
        distance=_distance(r, nl, bd_now, decision, ""),
        next_look=nl,
        components=comps,
        conflict=conflict(prior, r, n),
    )
    return AnalysisResult(
        design=design.name,
        design_hash=design.hash,
        engine="quadrature",
        look=cohort.look,
        n_look=cohort.n_look,
        cohorts=(cohort,),
        model=None,
        warnings=tuple(sink),
        provenance=types.MappingProxyType(provenance(method="exact (conjugate)")),
    )


# ---------------------------------------------------------------------------
# Multi-cohort designs (quadrature engine)
# ---------------------------------------------------------------------------
def _p_exchangeable(design: Any, rn: list[tuple[int, int]], j: int) -> tuple[float, float]:
    """EXNEX: (prior, posterior) probability that cohort j is exchangeable.

    P(EX_j | data) = w Z_EX / (w Z_EX + (1 - w) Z_NEX), with Z_EX (Z_NEX) the
    quadrature marginal likelihood of all data when cohort j is exchangeable
    (not): the same engine with weight 1 (0), the other cohorts at their data.
    """
    model, cohorts, grid = design.model, design.cohorts, design.grid
    w = model.value("weight", cohorts[j].name)
    if w in (0.0, 1.0):
        return w, w
    eng = quadrature.engine(model, cohorts, grid)
    base = eng.log_prior + eng._hist[0]
    others = np.exp(base - base.max())
    for k, (c, (r, n)) in enumerate(zip(cohorts, rn, strict=True)):
        if k != j:
            row = quadrature.marginal(eng, c.name, n, c.p0)[r]
            others = others * row / max(float(row.max()), 1e-300)
    r, n = rn[j]
    z = []
    for value in (1.0, 0.0):  # the EX and the NEX branch; same grid and per-r scaling
        branch = quadrature.engine(dataclasses.replace(model, weight=value), cohorts, grid)
        z.append(float(quadrature.marginal(branch, cohorts[j].name, n, cohorts[j].p0)[r] @ others))
    ex, nex = w * z[0], (1 - w) * z[1]
    return w, ex / (ex + nex) if ex + nex > 0 else w


def _mask_bounds(mask_f: np.ndarray, mask_e: np.ndarray, n: int, final: bool) -> _Bounds:
    a = int(np.flatnonzero(mask_f).max()) if mask_f.any() else None
    b = int(np.flatnonzero(mask_e).min()) if mask_e.any() else None
    return _Bounds(n, a, b, final, False)


def _line(j: int, r_all: Sequence[int]) -> tuple[Any, ...]:
    return tuple(slice(None) if i == j else r for i, r in enumerate(r_all))


@dataclass(frozen=True)
class _Joint:
    """The observed data of every cohort of a multi-cohort design."""

    design: Any
    r: tuple[int, ...]
    n: tuple[int, ...]

    def masks(self, j: int, k: int, n_j: int) -> tuple[_Bounds, dict[str, np.ndarray]]:
        """Cohort j's decision masks at look k with n_j patients, the others at their data.

        Returns the integer boundaries along r_j (the others' r fixed) and the masks
        over the whole lattice (the design's own decision computation).
        """
        sizes = tuple(n_j if i == j else x for i, x in enumerate(self.n))
        masks = _decisions(self.design, k, sizes)[self.design.names[j]]
        line = _line(j, self.r)
        last = k == self.design.n_looks - 1
        return _mask_bounds(masks["futility"][line], masks["efficacy"][line], n_j, last), masks


def _multi_decision(joint: _Joint, j: int, k: int | None) -> tuple[str, _Bounds | None]:
    if k is None:
        return CONTINUE, None
    bd, masks = joint.masks(j, k, joint.n[j])
    fut = bool(masks["futility"][joint.r])
    eff = bool(masks["efficacy"][joint.r])
    if bd.final:
        return (SUCCESS if eff else FAILURE), bd
    return (STOP_FUTILITY if fut else (STOP_EFFICACY if eff else CONTINUE)), bd


def _multi_conflict(joint: _Joint, j: int) -> Conflict:
    """Predictive of cohort j's count given the model, the strata and the other cohorts."""
    design = joint.design
    n_without = tuple(0 if i == j else x for i, x in enumerate(joint.n))
    r_without = tuple(0 if i == j else x for i, x in enumerate(joint.r))
    pmf = quadrature.predictive(design.model, design.cohorts, n_without, cohort=design.names[j],
                     m=joint.n[j], grid=design.grid)[r_without]
    w_prior = w_post = None
    if design.model.kind == "exnex":
        w_prior, w_post = _p_exchangeable(design, list(zip(joint.r, joint.n, strict=True)), j)
    return _conflict_from_pmf(pmf, joint.r[j], joint.n[j], w_prior, w_post)


def _stopped_text(joint: _Joint, j: int, k: int, latest: int, hypothetical: str) -> str:
    """Why cohort j, at look k while another cohort is at look ``latest``, is reported stopped."""
    c = joint.design.cohorts[j]
    return (
        f"cohort {c.name!r} is at look {k + 1} (n = {joint.n[j]}) while another cohort has "
        f"reached look {latest + 1}: analyses are joint, so it stopped at look {k + 1}, with "
        f"a decision taken on the other cohorts' data at that look, which these data do not "
        f"hold; reported as 'stopped at look {k + 1}'. The rule of look {k + 1} with the other "
        f"cohorts' current data would give {hypothetical!r} (hypothetical: a combination the "
        "design never evaluates)."
    )


def _multi_cohort(
    joint: _Joint, j: int, k: int | None, summary: dict[str, Any], p_above_p1: float | None,
    pp: float, latest: int | None = None,
) -> CohortAnalysis:
    """Analysis of cohort j at look k; ``latest``: the latest look of any cohort.

    A cohort at an earlier look than ``latest`` has stopped there (analyses are
    joint): it is reported as stopped, its re-decision kept as hypothetical.
    """
    design = joint.design
    c = design.cohorts[j]
    r, n = joint.r[j], joint.n[j]
    given = " given the other cohorts' data"
    decision, bd_now = _multi_decision(joint, j, k)
    hypothetical = None
    k_next = 0 if k is None else k + 1
    nl = None
    if k is not None and latest is not None and k < latest:
        hypothetical, decision = decision, f"stopped at look {k + 1}"
        reason = _stopped_text(joint, j, k, latest, hypothetical)
        distance = f"the cohort stopped at look {k + 1}: it has no further look"
    else:
        if k_next < design.n_looks:
            nl = _next_look(r, n, k_next, joint.masks(j, k_next, c.looks[k_next])[0])
        reason = _reason(r, bd_now, c.looks[0], decision, given)
        distance = _distance(r, nl, bd_now, decision, given)
    cf = _multi_conflict(joint, j)
    return CohortAnalysis(
        name=c.name,
        r=r,
        n=n,
        look=None if k is None else k + 1,
        n_look=None if k is None else c.looks[k],
        p0=c.p0,
        p1=c.p1,
        mean=float(summary["mean"]),
        sd=float(summary["sd"]),
        interval=(float(summary["interval"][0]), float(summary["interval"][1])),
        p_above_p0=float(summary["p_above_p0"]),
        p_above_p1=p_above_p1,
        predictive_probability=pp,
        decision=decision,
        reason=reason,
        distance=distance,
        next_look=nl,
        components=(),
        conflict=cf,
        p_exchangeable=cf.posterior_weights[0] if cf.posterior_weights else None,
        hypothetical_decision=hypothetical,
    )


def _analyze_multi(
    design: Any, data: Any, look: int | None, engine: str, pymc_opts: dict[str, Any]
) -> AnalysisResult:
    rn = cohort_data(design, data)
    sink: list[str] = []
    located = []
    for c, (_, n) in zip(design.cohorts, rn, strict=True):
        k, message = _locate(c.looks, n, look, c.name)
        if message:
            _warn(message, sink)
        located.append(k)
    joint = _Joint(design, tuple(r for r, _ in rn), tuple(n for _, n in rn))
    latest = max((k for k in located if k is not None), default=None)
    for j, k in enumerate(located):
        if k is not None and latest is not None and k < latest:
            hypothetical = _multi_decision(joint, j, k)[0]
            _warn(_stopped_text(joint, j, k, latest, hypothetical), sink)
    by_name = dict(zip(design.names, rn, strict=True))
    summ = quadrature.posterior(design.model, design.cohorts, by_name, level=LEVEL,
                                grid=design.grid)
    p1s = {c.name: c.p1 for c in design.cohorts if c.p1 is not None}
    above_p1 = {}
    if p1s:
        above_p1 = quadrature.lattice(design.model, design.cohorts, joint.n, thresholds=p1s,
                                      grid=design.grid).p_above
    pps = predictive_probability(design, by_name)
    results = [
        _multi_cohort(joint, j, located[j], summ[c.name],
                      float(above_p1[c.name][joint.r]) if c.name in above_p1 else None,
                      pps[c.name], latest)
        for j, c in enumerate(design.cohorts)
    ]
    idata = diagnostics = None
    if engine == "pymc":
        idata, diagnostics, extra = _pymc(joint, sink, pymc_opts)
        results = [dataclasses.replace(res, pymc=types.MappingProxyType(extra[res.name]))
                   for res in results]
    looks_done = [k for k in located if k is not None]
    return AnalysisResult(
        design=design.name,
        design_hash=design.hash,
        engine=engine,
        look=max(looks_done) + 1 if looks_done else None,
        n_look=types.MappingProxyType({res.name: res.n_look for res in results}),
        cohorts=tuple(results),
        model=design.model.describe(),
        warnings=tuple(sink),
        diagnostics=diagnostics,
        provenance=types.MappingProxyType(provenance(method="quadrature")),
        idata=idata,
    )


def _conflict_from_pmf(
    pmf: np.ndarray, r: int, n: int, w_prior: float | None, w_post: float | None
) -> Conflict:
    """Tail probabilities of r under a predictive pmf (as ``priors.conflict`` gives them)."""
    p_lower = float(min(pmf[: r + 1].sum(), 1.0))
    p_upper = float(min(pmf[r:].sum(), 1.0))
    p_box = float(min(pmf[pmf <= pmf[r] * (1 + 1e-12)].sum(), 1.0))
    prior_w: tuple[float, ...] = ()
    post_w: tuple[float, ...] = ()
    if w_prior is not None and w_post is not None:
        prior_w, post_w = (w_prior, 1.0 - w_prior), (w_post, 1.0 - w_post)
    return Conflict(r=r, n=n, p_lower=p_lower, p_upper=p_upper, p_box=p_box,
                    prior_weights=prior_w, posterior_weights=post_w)


# ---------------------------------------------------------------------------
# Multi-cohort designs: NUTS side by side
# ---------------------------------------------------------------------------
def _nuts_cohort(joint: _Joint, j: int, idata: Any) -> dict[str, Any]:
    """Predictive probability and P(exchangeable) of cohort j from the NUTS draws.

    PP = sum_x E_draws[Bin(x; m, p_j)] 1{final success at r_j + x}, with the
    EXNEX branches weighted by each draw's conditional P(EX) (Rao-Blackwell).
    """
    from scipy import stats


    design = joint.design
    c = design.cohorts[j]
    r, n, n_max = joint.r[j], joint.n[j], c.looks[-1]
    pe, pn, w = bayes._branches(idata)
    a = pe.sel(cohort=c.name).values.ravel()
    b = pn.sel(cohort=c.name).values.ravel()
    wt = np.ones_like(a) if w is None else w.sel(cohort=c.name).values.ravel()
    x = np.arange(n_max - n + 1)[None, :]
    pmf = (wt[:, None] * stats.binom.pmf(x, n_max - n, a[:, None])
           + (1 - wt[:, None]) * stats.binom.pmf(x, n_max - n, b[:, None])).mean(axis=0)
    success = joint.masks(j, design.n_looks - 1, n_max)[1]["efficacy"][_line(j, joint.r)]
    pp = float(np.clip(np.sum(pmf * success[r : r + n_max - n + 1]), 0.0, 1.0))
    return {
        "predictive_probability": pp,
        "p_exchangeable": None if w is None else float(wt.mean()),
    }


def _pymc(
    joint: _Joint, sink: list[str], opts: dict[str, Any]
) -> tuple[Any, Any, dict[str, dict[str, Any]]]:

    design = joint.design
    cohorts = design.cohorts
    data = dict(zip(design.names, zip(joint.r, joint.n, strict=True), strict=True))
    idata = bayes.fit(design.model, cohorts, data, **opts)
    summ = bayes.summary(idata, cohorts, level=LEVEL, check=False)
    diag = bayes.diagnostics(idata, cohorts)
    if diag["problems"]:
        _warn(
            "NUTS fit (engine='pymc') failed its convergence checks: "
            + "; ".join(diag["problems"])
            + ". Its figures are unreliable (the quadrature figures and the decisions are "
            "not affected); run longer chains (`draws`, `tune`).",
            sink,
            ConvergenceWarning,
            stacklevel=5,
        )
    p1 = {c.name: (c.p1 if c.p1 is not None else c.p0) for c in cohorts}
    above_p1 = bayes._per_draw(idata, p1)["above"].mean(("chain", "draw"))
    extra = {
        c.name: {
            **_nuts_cohort(joint, j, idata),
            "mean": summ[c.name]["mean"],
            "sd": summ[c.name]["sd"],
            "interval": list(summ[c.name]["interval"]),
            "p_above_p0": summ[c.name]["p_above_p0"],
            "p_above_p1": float(above_p1.sel(cohort=c.name)) if c.p1 is not None else None,
            "mcse_mean": summ[c.name]["mcse_mean"],
            "mcse_p_above_p0": summ[c.name]["mcse_p_above_p0"],
        }
        for j, c in enumerate(cohorts)
    }
    diagnostics = types.MappingProxyType(
        {
            "rhat": diag["rhat"],
            "ess_bulk": diag["ess_bulk"],
            "divergences": diag["divergences"],
            "problems": list(diag["problems"]),
            "seed_entropy": str(idata.posterior.attrs.get("seed_entropy", "")),
            "draws": opts["draws"],
            "tune": opts["tune"],
            "chains": opts["chains"],
        }
    )
    return idata, diagnostics, extra


# ---------------------------------------------------------------------------
# Formatting
# ---------------------------------------------------------------------------
def _fmt(x: float | None, digits: int = 4) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def _p0_text(p0: float | Beta | None) -> str:
    if isinstance(p0, Beta):
        return f"p_S ~ {p0}"
    return "p0" if p0 is None else f"{p0:g}"


def _p0_json(p0: float | Beta | None) -> Any:
    if isinstance(p0, Beta):
        return {"beta": [p0.a, p0.b]}
    return p0


def _jsonable(obj: Any) -> Any:
    """Replace non-finite floats by None and numpy scalars by Python numbers, recursively."""
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def _cohort_text(c: CohortAnalysis) -> list[str]:
    look = "before look 1" if c.look is None else f"look {c.look} (n = {c.n_look})"
    lines = [f"{c.name}: {c.r}/{c.n} responses, {look}"]
    lines.append(
        f"  posterior mean {c.mean:.4f}, sd {c.sd:.4f}, {LEVEL:.0%} interval "
        f"[{c.interval[0]:.4f}, {c.interval[1]:.4f}]"
    )
    probs = [f"P(p > {_p0_text(c.p0)}) = {_fmt(c.p_above_p0)}"]
    if c.p1 is not None:
        probs.append(f"P(p > {c.p1:g}) = {_fmt(c.p_above_p1)}")
    lines.append("  " + ", ".join(probs))
    lines.append(f"  predictive probability of final success {c.predictive_probability:.4f}")
    lines.append(f"  decision: {c.decision} ({c.reason})")
    lines.append(f"  next: {c.distance}")
    cf = c.conflict
    text = (f"  prior-data conflict: prior-predictive p = {cf.p_box:.4f} (Box), "
            f"P(R <= {c.r}) = {cf.p_lower:.4f}, P(R >= {c.r}) = {cf.p_upper:.4f}")
    if c.p_exchangeable is not None:
        text += (f"; P(exchangeable) prior {cf.prior_weights[0]:.3f} -> posterior "
                 f"{c.p_exchangeable:.3f}")
    elif len(cf.posterior_weights) > 1:
        text += (f"; component weights prior {', '.join(f'{w:.3f}' for w in cf.prior_weights)}"
                 f" -> posterior {', '.join(f'{w:.3f}' for w in cf.posterior_weights)}")
    lines.append(text)
    if c.components:
        comps = " + ".join(f"{w:.4g}*Beta({a:g}, {b:g})" for w, a, b in c.components)
        lines.append(f"  posterior: {comps}")
    if c.pymc is not None:
        p = c.pymc
        lines.append(
            f"  NUTS: mean {p['mean']:.4f} (MCSE {p['mcse_mean']:.4f}), sd {p['sd']:.4f}, "
            f"interval [{p['interval'][0]:.4f}, {p['interval'][1]:.4f}], "
            f"P(p > p0) {p['p_above_p0']:.4f} (MCSE {p['mcse_p_above_p0']:.4f}), "
            f"P(p > p1) {_fmt(p['p_above_p1'])}, PP {p['predictive_probability']:.4f}"
        )
    return lines
