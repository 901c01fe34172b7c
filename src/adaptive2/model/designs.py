"""Single-cohort designs and their integer stopping boundaries.

A :class:`Design` is a prior, a schedule of looks (cumulative evaluable
patients) and rules in named slots. At an interim look the futility rule is
applied first, then the efficacy rule; the ``final`` rule decides at the last
look. Every beta-binomial rule compiles to integer boundaries per look:
"stop for futility if r ≤ a_k", "stop for efficacy if r ≥ b_k"; exact operating
characteristics then follow by dynamic programming (:mod:`adaptive2.engines.exact`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from adaptive2._base.cache import memoized
from adaptive2._base.errors import DesignError, StatisticalWarning
from adaptive2._base.resources import require_memory
from adaptive2._base.validation import check_int_sequence, check_probability, check_real, fail
from adaptive2.kernels.sizes import boundary_cost
from adaptive2.model.priors import Beta, BetaMixture, Prior, PriorSpec
from adaptive2.model.rules import (
    BOP2,
    Boundary,
    DualCriterion,
    Look,
    PosteriorProbability,
    Rule,
)
from adaptive2.model.toxicity import ToxicityMonitor

__all__ = [
    "Boundaries",
    "Design",
    "check_monitor_points",
    "toxicity_from_parts",
    "toxicity_protocol",
    "toxicity_records",
    "toxicity_to_dict",
]


@dataclass(frozen=True, slots=True)
class Boundaries:
    """Integer stopping boundaries of a design, per look.

    Attributes
    ----------
    looks : tuple of int
        Cumulative evaluable patients.
    futility_max_r : tuple of int or None
        Largest response count that stops for futility (interim looks) or fails
        / gives No-Go (final look); ``None`` where no count does.
    efficacy_min_r : tuple of int or None
        Smallest response count that stops for efficacy (interim looks) or
        succeeds / gives Go (final look); ``None`` where no count does.
    dual : bool
        True if the final rule is Go / Consider / No-Go (counts strictly between
        the two boundaries at the final look are "Consider").
    """

    looks: tuple[int, ...]
    futility_max_r: tuple[int | None, ...]
    efficacy_min_r: tuple[int | None, ...]
    dual: bool = False

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(n, a, b) int arrays with a = -1 and b = n + 1 where a look cannot stop."""
        n = np.asarray(self.looks, dtype=int)
        a = np.array([-1 if x is None else x for x in self.futility_max_r], dtype=int)
        b = np.array(
            [nk + 1 if x is None else x for x, nk in zip(self.efficacy_min_r, n, strict=True)],
            dtype=int,
        )
        return n, a, b

    def incoherences(self) -> list[str]:
        """Looks where an interim stop contradicts every possible final analysis.

        A futility stop at r responses is incoherent if r already reaches the
        final success count (the final analysis would succeed for every
        continuation); an efficacy stop is incoherent if even all remaining
        patients responding could not reach it.
        """
        n_max = self.looks[-1]
        s = self.efficacy_min_r[-1]
        s_eff = n_max + 1 if s is None else s
        out = []
        for k, (n, a, b) in enumerate(
            zip(self.looks[:-1], self.futility_max_r[:-1], self.efficacy_min_r[:-1], strict=True)
        ):
            if a is not None and a >= s_eff:
                out.append(
                    f"look {k + 1} (n = {n}): futility stops at r <= {a}, but r >= {s_eff} "
                    "already guarantees final success"
                )
            if b is not None and b + (n_max - n) < s_eff:
                out.append(
                    f"look {k + 1} (n = {n}): efficacy stops at r >= {b}, but the final "
                    f"analysis needs {s_eff} responses, out of reach from r = {b}"
                )
        return out

    def to_records(self) -> list[dict[str, int | None]]:
        """JSON-ready rows ``{look, n, futility_max_r, efficacy_min_r}`` (look is 1-based)."""
        return [
            {"look": k + 1, "n": n, "futility_max_r": a, "efficacy_min_r": b}
            for k, (n, a, b) in enumerate(
                zip(self.looks, self.futility_max_r, self.efficacy_min_r, strict=True)
            )
        ]

    def to_rows(self) -> list[dict[str, int | str | None]]:
        """The rows of :meth:`to_records` with a protocol-language ``rule`` column."""
        rows = []
        last = len(self.looks) - 1
        for rec in self.to_records():
            k = cast(int, rec["look"]) - 1
            row: dict[str, int | str | None] = dict(rec)
            row["rule"] = self._protocol_text(k, k == last)
            rows.append(row)
        return rows

    def to_frame(self) -> Any:
        """Boundary table (pandas DataFrame) with a protocol-language column."""
        import pandas as pd

        df = pd.DataFrame(self.to_rows()).set_index("look")
        return df.astype({"futility_max_r": "Int64", "efficacy_min_r": "Int64"})

    def _protocol_text(self, k: int, final: bool) -> str:
        n, a, b = self.looks[k], self.futility_max_r[k], self.efficacy_min_r[k]
        first = f"among the first {n} evaluable patients"
        if final:
            if self.dual:
                parts = []
                if b is not None:
                    parts.append(f"Go if >= {b}")
                if a is not None:
                    parts.append(f"No-Go if <= {a}")
                if a is not None and b is not None and b - a > 1:
                    parts.append(f"Consider if {a + 1}-{b - 1}")
                return "; ".join(parts) + f" responses {first}"
            if b is None:
                return f"efficacy cannot be declared with {n} patients"
            return f"declare efficacy if >= {b} responses {first}"
        parts = []
        if a is not None:
            parts.append(f"stop for futility if <= {a}")
        if b is not None:
            parts.append(f"stop for efficacy if >= {b}")
        if not parts:
            return f"continue whatever the responses {first}"
        return "; ".join(parts) + f" responses {first}"

    def __str__(self) -> str:
        return cast(str, self.to_frame().to_string())


def _check_planning_values(design: Design) -> None:
    """p1 above p0, and the final rule's p0 equal to the design's (no silent disagreement)."""
    p0, p1, name = design.p0, design.p1, design.name
    ref = p0.mean if isinstance(p0, Beta) else p0
    if p1 is not None and ref is not None and not p1 > ref:
        what = f"the mean of `p0` ({ref:g})" if isinstance(p0, Beta) else f"`p0` ({ref:g})"
        raise DesignError(
            f"`p1` of Design {name!r} must be above {what}: the target response rate is the "
            f"alternative, above the uninteresting rate; got {p1:g}."
        )
    # the final rule tests H0: p <= p0; an interim rule may use its own reference rate
    # ("stop for futility if P(p > 0.15 | data) <= 0.05"), a statistician's choice
    rule_p0 = getattr(design.final, "p0", None)
    if p0 is not None and rule_p0 is not None and rule_p0 != p0:
        raise DesignError(
            f"`final.p0` ({rule_p0}) of Design {name!r} differs from the design's `p0` ({p0}): "
            "the final rule would test another null rate than the one its type I error is "
            "reported at; give p0 once (a rule table without p0 takes the design's)."
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Design:
    """A single-cohort design with a binary endpoint.

    Parameters
    ----------
    name : str
        Identifier used in tables and file names.
    prior : Beta, BetaMixture or PriorSpec
        Analysis prior, or its specification (kept for reports and files).
    looks : tuple of int
        Cumulative evaluable patients at each analysis; the last is the final.
    final : Rule
        Rule deciding success at the last look (posterior, BOP2, boundary or
        dual criterion).
    futility, efficacy : Rule, optional
        Rules applied at the interim looks (futility first).
    title : str
        One-line description.
    p0, p1 : float, optional
        Planning values: uninteresting and target response rates.
    scenarios : tuple of float
        True response rates for operating characteristics.
    notes : str
        Free text (assumptions), shown in reports.
    alpha : float, optional
        Target type I error the design is meant to meet (worst case over
        p ≤ p0), in (0, 1); ``None``: no claim. ``calibrate`` uses it as its
        default α target. File key ``alpha``.
    target_power : float, optional
        Target power at ``p1``, in (0, 1); ``None``: no claim. ``calibrate``
        uses it as its default power target. File key ``power``.
    toxicity : ToxicityMonitor, optional
        A safety stopping rule co-monitored with the efficacy rules: the trial
        stops (and declares nothing) as soon as the toxicity boundary is
        reached at one of its monitoring points, which must lie within the
        design's maximum N. File table ``[toxicity]``, whose ``monitor``
        defaults to the design's looks. ``None``: no toxicity monitoring.
    toxicity_source : str
        Where the toxicity prior and limit come from (text shown in reports;
        file key ``toxicity.source``). Only with ``toxicity``.
    toxicity_rates : tuple of float
        True toxicity rates at which the OC are reported, each crossed with the
        response scenarios (file key ``scenarios.toxicity``); empty: the
        monitor's ``acceptable`` and ``limit``. Only with ``toxicity``.
    toxicity_odds_ratio : float
        Odds ratio between response and toxicity in a patient assumed by the
        OC, > 0; 1 (default): independent (file key ``scenarios.odds_ratio``).
        Only with ``toxicity``.

    Examples
    --------
    >>> from adaptive2 import Beta, PosteriorProbability, PredictiveProbability
    >>> d = Design(name="demo", prior=Beta(1, 1), looks=(10, 20),
    ...            futility=PredictiveProbability(threshold=0.05),
    ...            final=PosteriorProbability(p0=0.2, cutoff=0.9))
    >>> d.boundaries().futility_max_r
    (1, 6)
    >>> d.boundaries().efficacy_min_r
    (None, 7)
    """

    name: str
    prior: Prior
    looks: tuple[int, ...]
    final: Rule
    futility: Rule | None = None
    efficacy: Rule | None = None
    title: str = ""
    p0: float | Beta | None = None
    p1: float | None = None
    scenarios: tuple[float, ...] = ()
    notes: str = ""
    prior_spec: PriorSpec | None = field(default=None, compare=True)
    """How the prior was specified (derived from ``prior`` when not given)."""
    alpha: float | None = None
    target_power: float | None = None
    toxicity: ToxicityMonitor | None = None
    toxicity_source: str = ""
    toxicity_rates: tuple[float, ...] = ()
    toxicity_odds_ratio: float = 1.0

    if TYPE_CHECKING:  # ``prior`` may be given as a PriorSpec: __post_init__ builds it

        def __init__(
            self,
            *,
            name: str,
            prior: Prior | PriorSpec,
            looks: tuple[int, ...],
            final: Rule,
            futility: Rule | None = None,
            efficacy: Rule | None = None,
            title: str = "",
            p0: float | Beta | None = None,
            p1: float | None = None,
            scenarios: tuple[float, ...] = (),
            notes: str = "",
            prior_spec: PriorSpec | None = None,
            alpha: float | None = None,
            target_power: float | None = None,
            toxicity: ToxicityMonitor | None = None,
            toxicity_source: str = "",
            toxicity_rates: tuple[float, ...] = (),
            toxicity_odds_ratio: float = 1.0,
        ) -> None: ...

    def __post_init__(self) -> None:
        owner = "Design"
        if not isinstance(self.name, str) or not self.name.strip():
            raise fail("name", owner, "a non-empty string", self.name)
        for key in ("title", "notes"):
            if not isinstance(getattr(self, key), str):
                raise fail(key, owner, "a string", getattr(self, key))
        if isinstance(self.prior, PriorSpec):
            object.__setattr__(self, "prior_spec", self.prior)
            object.__setattr__(self, "prior", self.prior.build())
        if not isinstance(self.prior, Beta | BetaMixture):
            raise fail("prior", owner, "a Beta, BetaMixture or PriorSpec", self.prior)
        if self.prior_spec is None:  # a prior given directly is its own specification
            spec = (
                PriorSpec(beta=self.prior)
                if isinstance(self.prior, Beta)
                else PriorSpec(mixture=self.prior)
            )
            object.__setattr__(self, "prior_spec", spec)
        elif self.prior_spec.build() != self.prior:
            raise fail(
                "prior_spec", owner, f"a specification that builds {self.prior}", self.prior_spec
            )
        looks = check_int_sequence(self.looks, "looks", owner, low=1)
        if any(b <= a for a, b in itertools.pairwise(looks)):
            raise fail("looks", owner, "strictly increasing patient counts", list(looks))
        object.__setattr__(self, "looks", looks)
        allowed_final = (PosteriorProbability, BOP2, Boundary, DualCriterion)
        if not isinstance(self.final, allowed_final):
            got = getattr(self.final, "kind", type(self.final).__name__)
            raise fail("final", owner, "a posterior, bop2, boundary or dual rule", got)
        for slot in ("futility", "efficacy"):
            rule = getattr(self, slot)
            if rule is None:
                continue
            if not isinstance(rule, Rule):
                raise fail(slot, owner, "a rule or None", rule)
            if len(looks) < 2:
                raise DesignError(
                    f"`{slot}` of Design {self.name!r} needs at least two looks (an interim "
                    f"and the final); got looks = {list(looks)}."
                )
            if isinstance(rule, Boundary) and len(rule.r) != len(looks) - 1:
                raise DesignError(
                    f"`{slot}.r` of Design {self.name!r} must have one entry per interim look "
                    f"({len(looks) - 1}); got {list(rule.r)}."
                )
        if isinstance(self.final, Boundary) and len(self.final.r) != 1:
            raise fail("final.r", owner, "a single response count", list(self.final.r))
        if self.p0 is not None and not isinstance(self.p0, Beta):
            object.__setattr__(self, "p0", check_probability(self.p0, "p0", owner))
        if self.p1 is not None:
            object.__setattr__(self, "p1", check_probability(self.p1, "p1", owner))
        for key in ("alpha", "target_power"):
            if getattr(self, key) is not None:
                object.__setattr__(self, key, check_probability(getattr(self, key), key, owner))
        _check_planning_values(self)
        scen = tuple(check_probability(p, "scenarios", owner, closed=True) for p in self.scenarios)
        object.__setattr__(self, "scenarios", scen)
        _check_toxicity(self)
        cost = boundary_cost(self)  # the size guard, before the tables are computed
        require_memory(
            cost.nbytes,
            f"computing the stopping boundaries of Design {self.name!r} ({self.n_max} patients, "
            f"looks {list(looks) if len(looks) <= 6 else f'{list(looks[:3])}...'})",
            "use fewer or smaller looks",
            seconds=cost.seconds,
        )
        bnd = _boundaries(self)  # validate on construction: monotone, no overlapping regions
        for problem in bnd.incoherences():
            warnings.warn(
                f"Design {self.name!r} is incoherent at {problem}.",
                StatisticalWarning,
                stacklevel=3,
            )

    # -- derived ---------------------------------------------------------------
    @property
    def n_max(self) -> int:
        """Patients at the final look."""
        return self.looks[-1]

    @property
    def n_looks(self) -> int:
        """Number of analyses, the final included."""
        return len(self.looks)

    def boundaries(self) -> Boundaries:
        """Integer stopping boundaries per look, computed exactly (cached).

        Raises
        ------
        DesignError
            If a rule is not monotone in r at some look, or futility and
            efficacy regions overlap; the message names the look.
        """
        return _boundaries(self)

    def replace(self, **changes: Any) -> Design:
        """A copy with ``changes`` applied (re-validated).

        ``toxicity=None`` also drops the monitor's companion settings
        (``toxicity_source``, ``toxicity_rates``, ``toxicity_odds_ratio``)
        unless they are given.
        """
        if "prior" in changes and not isinstance(changes["prior"], PriorSpec):
            changes.setdefault("prior_spec", None)
        if "toxicity" in changes and changes["toxicity"] is None:
            changes.setdefault("toxicity_source", "")
            changes.setdefault("toxicity_rates", ())
            changes.setdefault("toxicity_odds_ratio", 1.0)
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Design-file representation (mirrors the TOML keys)."""
        return design_to_dict(self)

    @property
    def hash(self) -> str:
        """SHA-256 of the canonical JSON of :meth:`to_dict` (sorted keys, repr floats)."""
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), allow_nan=False)
        return hashlib.sha256(text.encode()).hexdigest()

    def describe(self) -> str:
        """The design in words (for reports and ``print``)."""
        lines = [f"Design {self.name}" + (f": {self.title}" if self.title else "")]
        prior_txt = self.prior_spec.describe() if self.prior_spec else str(self.prior)
        lines.append(f"  prior: {prior_txt}")
        lines.append(f"  looks (cumulative evaluable patients): {', '.join(map(str, self.looks))}")
        if self.futility is not None:
            lines.append(f"  futility (interim): {self.futility.describe('futility')}")
        if self.efficacy is not None:
            lines.append(f"  efficacy (interim): {self.efficacy.describe('efficacy')}")
        lines.append(f"  final: {self.final.describe('final')}")
        targets = _targets_text(self.alpha, self.target_power)
        if targets:
            lines.append(f"  targets: {targets}")
        if self.toxicity is not None:
            lines.append(f"  toxicity: {self.toxicity.describe()}")
            if self.toxicity_source:
                lines.append(f"    source: {self.toxicity_source}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.describe()


def _check_toxicity(design: Design) -> None:
    """The toxicity monitor fits the design; its companion settings only come with it."""
    owner = "Design"
    tox = design.toxicity
    if tox is not None and not isinstance(tox, ToxicityMonitor):
        raise fail("toxicity", owner, "a ToxicityMonitor or None", tox)
    if not isinstance(design.toxicity_source, str):
        raise fail("toxicity_source", owner, "a string", design.toxicity_source)
    rates = design.toxicity_rates
    if isinstance(rates, str | bytes) or not isinstance(rates, tuple | list):
        raise fail("toxicity_rates", owner, "a tuple of toxicity rates in [0, 1]", rates)
    checked = tuple(check_probability(q, "toxicity_rates", owner, closed=True) for q in rates)
    if len(set(checked)) != len(checked):
        raise fail("toxicity_rates", owner, "distinct toxicity rates", list(checked))
    object.__setattr__(design, "toxicity_rates", checked)
    odds = check_real(design.toxicity_odds_ratio, "toxicity_odds_ratio", owner, low=0.0,
                      low_open=True, finite=True,
                      allowed="a finite number > 0 (1: response and toxicity independent)")
    object.__setattr__(design, "toxicity_odds_ratio", odds)
    if tox is None:
        for key, default in (("toxicity_source", ""), ("toxicity_rates", ()),
                             ("toxicity_odds_ratio", 1.0)):
            if getattr(design, key) != default:
                raise DesignError(
                    f"`{key}` of Design {design.name!r} is set but the design has no toxicity "
                    "monitor (`toxicity`), so it would be ignored; add the monitor or drop it."
                )
        return
    check_monitor_points(tox.monitor, design.n_max, f"Design {design.name!r}")
    if tox.rule == "bop2":
        _share_bop2_cutoff(design, tox)


def _share_bop2_cutoff(design: Design, tox: ToxicityMonitor) -> None:
    """A ``bop2`` toxicity rule takes λ and γ from the design's BOP2 futility rule.

    BOP2's joint rule has one cut-off 1 - λ (n/N)^γ for both endpoints, so the
    futility rule must be BOP2's, the monitor must end at the design's N, and
    λ, γ given on the monitor must be the futility rule's.
    """
    fut = design.futility
    if not isinstance(fut, BOP2) or fut.gamma is None:
        raise DesignError(
            f"`toxicity` of Design {design.name!r} has rule 'bop2', whose cut-off 1 - lambda "
            "(n/N)^gamma is shared with a BOP2 futility rule; the design's `futility` must be "
            f"a BOP2 rule with lambda and gamma; got {fut!r}."
        )
    if tox.monitor[-1] != design.n_max:
        raise DesignError(
            f"`toxicity.monitor` of Design {design.name!r} (rule 'bop2') must end at the "
            f"maximum N = {design.n_max} (the N of the shared cut-off 1 - lambda (n/N)^gamma); "
            f"got {list(tox.monitor)}."
        )
    if tox.lambda_ is not None and (tox.lambda_, tox.gamma) != (fut.lambda_, fut.gamma):
        raise DesignError(
            f"`toxicity` of Design {design.name!r} (rule 'bop2') has lambda {tox.lambda_:g}, "
            f"gamma {tox.gamma:g}; the cut-off is shared with the futility rule, so they must "
            f"be its lambda {fut.lambda_:g} and gamma {fut.gamma:g} (or left unset)."
        )
    object.__setattr__(design, "toxicity", tox.replace(lambda_=fut.lambda_, gamma=fut.gamma))


def check_monitor_points(monitor: tuple[int, ...], n_max: int, owner: str) -> None:
    """Refuse toxicity monitoring points beyond the maximum number of patients.

    Parameters
    ----------
    monitor : tuple of int
        The monitor's points (strictly increasing, >= 1: checked by the monitor).
    n_max : int
        Patients at the final look of the design (or cohort).
    owner : str
        The design (or cohort) in words, for the message.

    Raises
    ------
    DesignError
        If a point exceeds ``n_max``: a check that no trial can reach would be
        silently ignored.
    """
    if monitor and monitor[-1] > n_max:
        raise DesignError(
            f"`toxicity.monitor` of {owner} must be patient counts in [1, {n_max}] (the maximum "
            f"N: no patient is evaluated after the final look); got {list(monitor)}."
        )


def toxicity_records(monitor: ToxicityMonitor) -> list[dict[str, int | None]]:
    """The toxicity boundary as JSON-ready rows ``{check, n, stop_at_or_above}``.

    Parameters
    ----------
    monitor : ToxicityMonitor

    Returns
    -------
    list of dict
        Per monitoring point (``check`` 1-based): the patients ``n`` evaluated
        for the event and the smallest event count that stops enrolment there,
        ``None`` where no count does.

    Examples
    --------
    >>> m = ToxicityMonitor(event="DLT", limit=0.3, acceptable=0.1, rule="posterior",
    ...                     cutoff=0.95, monitor=(1, 10))
    >>> toxicity_records(m)
    [{'check': 1, 'n': 1, 'stop_at_or_above': None}, {'check': 2, 'n': 10, \
'stop_at_or_above': 6}]
    """
    return [
        {"check": j + 1, "n": n, "stop_at_or_above": c if c <= n else None}
        for j, (n, c) in enumerate(zip(monitor.monitor, monitor.boundaries(), strict=True))
    ]


_NO_ARTICLE = ("a ", "an ", "any ", "the ", "one ", "at least ")


def toxicity_protocol(monitor: ToxicityMonitor) -> list[str]:
    """The toxicity boundary in protocol words, one sentence per monitoring point.

    Parameters
    ----------
    monitor : ToxicityMonitor

    Returns
    -------
    list of str
        E.g. ``"stop enrolment if 4 or more of the first 10 patients have a
        grade >= 3 adverse event"``, or, where no count stops, ``"continue
        after the first patient whatever the number with a DLT"``.

    Examples
    --------
    >>> m = ToxicityMonitor(event="DLT", limit=0.3, acceptable=0.1, rule="posterior",
    ...                     cutoff=0.95, monitor=(1, 10))
    >>> toxicity_protocol(m)
    ['continue after the first patient whatever the number with a DLT', \
'stop enrolment if 6 or more of the first 10 patients have a DLT']
    """
    event = monitor.event.strip()
    noun = event if event.lower().startswith(_NO_ARTICLE) else f"a {event}"
    out = []
    for rec in toxicity_records(monitor):
        n, c = rec["n"], rec["stop_at_or_above"]
        first = "the first patient" if n == 1 else f"the first {n} patients"
        if c is None:
            out.append(f"continue after {first} whatever the number with {noun}")
        elif n == 1:
            out.append(f"stop enrolment if the first patient has {noun}")
        else:
            out.append(f"stop enrolment if {c} or more of {first} have {noun}")
    return out


def toxicity_to_dict(
    monitor: ToxicityMonitor, looks: tuple[int, ...], source: str = ""
) -> dict[str, Any]:
    """The ``[toxicity]`` table of a monitor (``toxicity_from_parts`` inverts it).

    Parameters
    ----------
    monitor : ToxicityMonitor
    looks : tuple of int
        The design's (or cohort's) looks: ``monitor`` is written only when it
        differs from them (the file's default).
    source : str
        Where the prior and limit come from (written when not empty).

    Returns
    -------
    dict
        The keys the monitor's rule reads, and nothing else.
    """
    out: dict[str, Any] = {
        "event": monitor.event,
        "limit": monitor.limit,
        "acceptable": monitor.acceptable,
        "rule": monitor.rule,
    }
    if monitor.rule == "posterior":
        out["cutoff"] = monitor.cutoff
        out["prior"] = {"a": monitor.prior[0], "b": monitor.prior[1]}
    elif monitor.rule == "bop2":  # lambda and gamma are the futility rule's
        out["prior"] = {"a": monitor.prior[0], "b": monitor.prior[1]}
    else:
        out["shape"] = monitor.shape
        out["p_stop_acceptable"] = monitor.p_stop_acceptable
    if tuple(monitor.monitor) != tuple(looks):
        out["monitor"] = list(monitor.monitor)
    if source:
        out["source"] = source
    return out


def toxicity_from_parts(table: dict[str, Any], looks: tuple[int, ...]) -> ToxicityMonitor:
    """A monitor from an already key-checked ``[toxicity]`` table (inverts ``toxicity_to_dict``).

    Parameters
    ----------
    table : dict
        The table's keys for the monitor's rule (``source`` is ignored here: it
        belongs to the design); ``prior`` is ``{a, b}``.
    looks : tuple of int
        The design's (or cohort's) looks: the ``monitor`` when the table has none.

    Returns
    -------
    ToxicityMonitor
        Validated on construction (a bad value raises ``DesignError``).
    """
    kw = {k: v for k, v in table.items() if k not in ("source", "prior", "monitor")}
    if "prior" in table:
        prior = table["prior"]
        kw["prior"] = (prior["a"], prior["b"])
    kw["monitor"] = tuple(table.get("monitor", looks))
    return ToxicityMonitor(**kw)


def _targets_text(alpha: float | None, power: float | None) -> str:
    """``"type I error <= 0.1, power >= 0.8"`` (the parts that are set), or ``""``."""
    parts = []
    if alpha is not None:
        parts.append(f"type I error <= {alpha:g}")
    if power is not None:
        parts.append(f"power >= {power:g}")
    return ", ".join(parts)


@memoized("designs.boundaries")
def _boundaries(design: Design) -> Boundaries:
    looks = design.looks
    n_max = looks[-1]
    last = len(looks) - 1
    prior = design.prior
    base = Look(index=last, n=n_max, n_max=n_max, prior=prior, final_success_min_r=n_max + 1)

    success = np.asarray(design.final.evaluate("final", base), dtype=bool)
    s = _suffix_start(success, design, "final", last)
    dual = isinstance(design.final, DualCriterion)
    if dual:
        nogo = cast(DualCriterion, design.final).no_go(base)
        a_final = _prefix_end(nogo, design, "final (No-Go)", last)
    else:
        a_final = s - 1
    fut: list[int | None] = []
    eff: list[int | None] = []
    for k, n in enumerate(looks[:-1]):
        look = dataclasses.replace(base, index=k, n=n, final_success_min_r=s)
        a = -1
        if design.futility is not None:
            stop = np.asarray(design.futility.evaluate("futility", look), dtype=bool)
            a = _prefix_end(stop, design, "futility", k)
        b = n + 1
        if design.efficacy is not None:
            stop = np.asarray(design.efficacy.evaluate("efficacy", look), dtype=bool)
            b = _suffix_start(stop, design, "efficacy", k)
        if b <= a:
            raise DesignError(
                f"Design {design.name!r}: at look {k + 1} (n = {n}) the futility and efficacy "
                f"regions overlap (futility stops at r <= {a}, efficacy at r >= {b})."
            )
        fut.append(None if a < 0 else a)
        eff.append(None if b > n else b)
    fut.append(None if a_final < 0 else a_final)
    eff.append(None if s > n_max else s)
    return Boundaries(tuple(looks), tuple(fut), tuple(eff), dual=dual)


def _prefix_end(stop: np.ndarray, design: Design, slot: str, k: int) -> int:
    """Last index of a True-prefix; error if ``stop`` is not of the form T..TF..F."""
    n_true = int(stop.sum())
    if not stop[:n_true].all():
        _not_monotone(stop, design, slot, k)
    return n_true - 1


def _suffix_start(act: np.ndarray, design: Design, slot: str, k: int) -> int:
    """First index of a True-suffix; error if ``act`` is not of the form F..FT..T."""
    n_true = int(act.sum())
    start = len(act) - n_true
    if not act[start:].all():
        _not_monotone(act, design, slot, k)
    return start


def _not_monotone(mask: np.ndarray, design: Design, slot: str, k: int) -> None:
    hits = np.flatnonzero(mask).tolist()
    raise DesignError(
        f"Design {design.name!r}: the {slot} rule is not monotone in r at look {k + 1} "
        f"(n = {design.looks[k]}); it acts at r = {hits}. A rule must act on a contiguous "
        "range of response counts."
    )


# ---------------------------------------------------------------------------
# The design-file dict (io writes it as TOML; the hash is its canonical JSON)
# ---------------------------------------------------------------------------
def _prior_to_dict(design: Design) -> dict[str, Any]:
    spec = design.prior_spec
    if spec is None:
        prior = design.prior
        if isinstance(prior, Beta):
            return {"beta": [prior.a, prior.b]}
        return {"mixture": [list(c.values()) for c in prior.components()]}
    out: dict[str, Any] = {}
    if spec.beta is not None:
        out["beta"] = [spec.beta.a, spec.beta.b]
    if spec.mixture is not None:
        out["mixture"] = [list(c.values()) for c in spec.mixture.components()]
    if spec.beta is None and spec.mixture is None:
        base = spec.base if spec.base is not None else Beta(0.5, 0.5)
        out["base"] = [base.a, base.b]
    if spec.historical is not None:
        out["historical"] = {"r": _num(spec.historical[0]), "n": _num(spec.historical[1])}
        out["power"] = spec.power
    if spec.robust is not None:
        w, m, n = spec.robust
        out["robust"] = {"weight": w, "mean": m, "n": n}
    if spec.source:
        out["source"] = spec.source
    return out


def _num(x: float) -> int | float:
    return int(x) if float(x).is_integer() else float(x)


def _p0_out(p0: float | Beta) -> Any:
    return {"beta": [p0.a, p0.b]} if isinstance(p0, Beta) else p0


def design_to_dict(design: Design) -> dict[str, Any]:
    """The design-file dict of ``design`` (``design_from_dict`` inverts it)."""
    out: dict[str, Any] = {"name": design.name}
    if design.title:
        out["title"] = design.title
    if design.notes:
        out["notes"] = design.notes
    if design.alpha is not None:
        out["alpha"] = design.alpha
    if design.target_power is not None:
        out["power"] = design.target_power
    out["prior"] = _prior_to_dict(design)
    cohort: dict[str, Any] = {}
    if design.p0 is not None:
        cohort["p0"] = _p0_out(design.p0)
    if design.p1 is not None:
        cohort["p1"] = design.p1
    cohort["looks"] = list(design.looks)
    out["cohort"] = cohort
    for slot in ("futility", "efficacy", "final"):
        rule = getattr(design, slot)
        if rule is None:
            continue
        d = rule.to_dict()
        if "p0" in d:
            p0 = rule.p0
            if design.p0 is not None and p0 == design.p0:
                del d["p0"]
            else:
                d["p0"] = _p0_out(p0)
        if slot == "final" and d["rule"] == "boundary":
            d["r"] = d["r"][0]
        if d["rule"] == "posterior" and d.get("delta") == 0.0:
            del d["delta"]
        out[slot] = d
    if design.toxicity is not None:
        out["toxicity"] = toxicity_to_dict(design.toxicity, design.looks, design.toxicity_source)
    scen: dict[str, Any] = {}
    if design.scenarios:
        scen["p"] = list(design.scenarios)
    if design.toxicity_rates:
        scen["toxicity"] = list(design.toxicity_rates)
    if design.toxicity_odds_ratio != 1.0:
        scen["odds_ratio"] = design.toxicity_odds_ratio
    if scen:
        out["scenarios"] = scen
    return out
