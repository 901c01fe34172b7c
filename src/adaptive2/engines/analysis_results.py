"""What an analysis of observed data returns.

Per cohort: the posterior, the predictive probability, the decision in words and
the distance to the next boundary. The result objects print as text, give a
DataFrame (``to_frame``) and the JSON of ``adaptive2 analyze`` (``to_dict``);
their HTML cards and plots live in the views.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from adaptive2._base.formatting import jsonable, number
from adaptive2.model.priors import Beta, Conflict
from adaptive2.model.rules import Decision

__all__ = [
    "AnalysisResult",
    "CohortAnalysis",
    "NextLook",
    "ToxicityAnalysis",
]

LEVEL = 0.95

_OWNER = "analyze"

ENGINES = ("quadrature", "pymc")


# The decisions in words (one vocabulary: adaptive2.model.rules.Decision)
CONTINUE = Decision.CONTINUE.label


STOP_FUTILITY = Decision.STOP_FUTILITY.label


STOP_EFFICACY = Decision.STOP_EFFICACY.label


SUCCESS = Decision.SUCCESS.label


FAILURE = Decision.FAILURE.label


GO = Decision.GO.label


CONSIDER = Decision.CONSIDER.label


NO_GO = Decision.NO_GO.label


STOP_TOXICITY = "stop enrolment for toxicity"


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
            out["pymc"] = jsonable(dict(self.pymc))
        return out


@dataclass(frozen=True, slots=True)
class ToxicityAnalysis:
    """The analysis of the toxicity data of a design with a toxicity monitor.

    Attributes
    ----------
    event : str
        The monitored event (``ToxicityMonitor.event``).
    events, n : int
        Patients with the event, and patients evaluated for it.
    limit : float
        The unacceptable event rate of the monitor.
    prior : (float, float)
        The monitor's Beta(a, b) prior of the event rate (the ``pocock`` rule
        does not use it; its default Beta(1, 1) then gives the posterior).
    rule : str
        ``"posterior"`` or ``"pocock"``.
    check, n_check : int or None
        1-based monitoring point analysed (the last one passed) and its
        patients; ``None`` before the first point.
    boundary : int or None
        Smallest event count that stops enrolment at the analysed point,
        recomputed at ``n`` when the data lie between points (the rule of the
        last point passed applied to all ``n`` patients); ``None`` before the
        first point or when no count stops there.
    boundary_n : int or None
        The patients ``boundary`` refers to (``n`` once a point is passed).
    posterior_mean : float
        Posterior mean of the event rate, Beta(a + events, b + n - events).
    interval : (float, float)
        95% equal-tailed credible interval of the event rate.
    p_above_limit : float
        P(rate > limit | data).
    decision : str
        ``"stop enrolment for toxicity"`` or ``"continue"``.
    reason : str
        Why, in terms of the boundary.
    distance : str
        Where the count stands against the next monitoring point, in words.
    next_check : mapping or None
        The next point: ``check``, ``n``, ``boundary`` (``None``: no count
        stops there) and ``events_to_stop`` (further events among the
        patients still to come that would stop enrolment there; more than
        those patients: out of reach); ``None`` after the last point.
    """

    event: str
    events: int
    n: int
    limit: float
    prior: tuple[float, float]
    rule: str
    check: int | None
    n_check: int | None
    boundary: int | None
    boundary_n: int | None
    posterior_mean: float
    interval: tuple[float, float]
    p_above_limit: float
    decision: str
    reason: str
    distance: str
    next_check: Mapping[str, int | None] | None = field(default=None, compare=False)

    @property
    def stops(self) -> bool:
        """True if the monitor stops enrolment at this point."""
        return self.decision == STOP_TOXICITY

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (the ``toxicity`` object of the CLI's ``--json``)."""
        return {
            "event": self.event,
            "events": self.events,
            "n": self.n,
            "limit": self.limit,
            "prior": {"a": self.prior[0], "b": self.prior[1]},
            "rule": self.rule,
            "check": self.check,
            "n_check": self.n_check,
            "posterior_mean": self.posterior_mean,
            "interval": list(self.interval),
            "p_above_limit": self.p_above_limit,
            "decision": self.decision,
            "reason": self.reason,
            "boundary": self.boundary,
            "boundary_n": self.boundary_n,
            "distance": self.distance,
            "next_check": None if self.next_check is None else dict(self.next_check),
        }


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
    toxicity : ToxicityAnalysis or None
        The toxicity data's analysis (a design with a toxicity monitor, when
        toxicity data were given); stopping for toxicity ends the trial
        whatever the efficacy decision.
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
    toxicity: ToxicityAnalysis | None = None

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
        ``numpy_version``, ``scipy_version``, ``method``, and ``toxicity``
        (:meth:`ToxicityAnalysis.to_dict`: ``events``, ``n``, ``posterior_mean``,
        ``interval``, ``p_above_limit``, ``decision``, ``reason``, ``boundary``,
        ...; ``null`` without toxicity data). A single-cohort design's cohort is
        named ``"cohort"``.
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
            "toxicity": None if self.toxicity is None else self.toxicity.to_dict(),
        }
        if self.diagnostics is not None:
            out["diagnostics"] = jsonable(dict(self.diagnostics))
        out.update(jsonable(dict(self.provenance)))
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
        if self.toxicity is not None:
            lines += _toxicity_text(self.toxicity)
        if self.diagnostics is not None:
            probs = self.diagnostics.get("problems") or []
            lines.append(
                "NUTS diagnostics: " + ("; ".join(probs) if probs else "all checks passed")
            )
        for w in self.warnings:
            lines.append(f"warning: {w}")
        return "\n".join(lines)


# ---------------------------------------------------------------------------
# Formatting
# ---------------------------------------------------------------------------
def _fmt(x: float | None, digits: int = 4) -> str:
    return number(x, digits, missing="-")


def _p0_text(p0: float | Beta | None) -> str:
    if isinstance(p0, Beta):
        return f"p_S ~ {p0}"
    return "p0" if p0 is None else f"{p0:g}"


def _p0_json(p0: float | Beta | None) -> Any:
    if isinstance(p0, Beta):
        return {"beta": [p0.a, p0.b]}
    return p0


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


def _toxicity_text(t: ToxicityAnalysis) -> list[str]:
    where = "before the first monitoring point" if t.check is None else (
        f"monitoring point {t.check} (n = {t.n_check})"
    )
    a, b = t.prior
    lines = [f"toxicity ({t.event}): {t.events}/{t.n} patients had the event, {where}"]
    lines.append(
        f"  posterior Beta({a + t.events:g}, {b + t.n - t.events:g}) from the prior "
        f"Beta({a:g}, {b:g}): mean {t.posterior_mean:.4f}, {LEVEL:.0%} interval "
        f"[{t.interval[0]:.4f}, {t.interval[1]:.4f}], P(rate > {t.limit:g}) = "
        f"{_fmt(t.p_above_limit)}"
    )
    lines.append(f"  decision: {t.decision} ({t.reason})")
    lines.append(f"  next: {t.distance}")
    if t.stops:
        lines.append("  enrolment stops for toxicity, whatever the efficacy decision")
    return lines
