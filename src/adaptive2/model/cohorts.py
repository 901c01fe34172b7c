"""Multi-cohort designs with borrowing, and their exact operating characteristics.

A :class:`CohortDesign` runs one single-arm design per cohort (its own looks and
rules) and analyses all cohorts together with a borrowing :class:`Model`
(independent, pooled, BHM or EXNEX, with historical strata). At every look the
posterior probabilities of every cohort come from the quadrature engine
(:mod:`adaptive2.model.hierarchical`) evaluated on the whole outcome lattice at once.

Predictive probabilities (Lee & Liu 2008) under borrowing. At an interim look
with outcomes r = (r_1, ..., r_J) at sizes n = (n_1, ..., n_J), cohort j has
m_j = N_j − n_j patients to come (N_j its last look), and

    PP_j(r) = Σ_{x=0}^{m_j} P(x | r, model) · 1{final rule of cohort j succeeds
              with cohort j at r_j + x of N_j and every other cohort k at r_k of n_k},

where P(x | r, model) = ∫ Bin(x; m_j, p_j) π(p_j | r) dp_j is the posterior
predictive of cohort j under the borrowing model (a beta-binomial mixture over
the quadrature posterior, :func:`adaptive2.kernels.quadrature.predictive`) and the
final analysis uses the same model. Holding the other cohorts at their current
data at cohort j's final analysis is a *convention* ("current data"): the
others will in truth enrol further patients, whose responses would move cohort
j's final posterior through the borrowing. Predicting them too would make PP_j
depend on the other cohorts' future schedule and rules (which may stop them),
not only on the data in hand. The convention makes PP_j a function of the
observed lattice point alone — exact, cheap, the same number at the analysis
as in the OC — and is what per-trial Monte Carlo tools (bhmbasket-like) cannot
compute exactly: they would need an MCMC fit per future outcome x. With the
``independent`` model it is exactly the single-cohort predictive probability.

Exact OC enumerate the joint outcome lattice look by look: the state is, per
cohort, whether it is still running or stopped (and why, and when), together
with the joint distribution of the response counts. Cohorts that stop early
keep informing the others with their data at stopping. No simulation is used.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np

from adaptive2._base.cache import MEMO
from adaptive2._base.errors import DesignError
from adaptive2._base.resources import require_memory
from adaptive2._base.validation import check_probability, fail
from adaptive2.kernels.quadrature import lattice, predictive
from adaptive2.kernels.sizes import cohort_cost
from adaptive2.model.data import cohort_data
from adaptive2.model.designs import check_monitor_points, toxicity_to_dict
from adaptive2.model.hierarchical import (
    DEFAULT_GRID,
    MODEL_READS,
    Cohort,
    Model,
    QuadratureGrid,
)
from adaptive2.model.rules import BOP2, Boundary, PosteriorProbability, PredictiveProbability, Rule
from adaptive2.model.scenarios import Scenario, _role
from adaptive2.model.toxicity import ToxicityMonitor

__all__ = [
    "CohortDesign",
    "attainable",
    "cohort_roles",
    "predictive_probability",
]


_SUPPORTED = (PosteriorProbability, PredictiveProbability, BOP2, Boundary)


def _check_per_cohort_keys(model: Model, names: list[str], design: str) -> None:
    """Per-cohort model settings (``weight``, ``nex_mean``, ``nex_sd``) name exactly the cohorts.

    A misspelt cohort would otherwise fall back to the default without a word.
    """
    for attr in ("weight", "nex_mean", "nex_sd"):
        value = getattr(model, attr)
        if not isinstance(value, tuple):
            continue
        keys = [k for k, _ in value]
        unknown = sorted(set(keys) - set(names) - {"*"})
        if unknown:
            raise DesignError(
                f"`model.{attr}` of CohortDesign {design!r} names {', '.join(unknown)}, not a "
                f"cohort of this design; its keys must be the cohort names "
                f"{{{', '.join(names)}}} (or \"*\" for every other cohort)."
            )
        missing = [n for n in names if n not in keys]
        if missing and "*" not in keys:
            raise DesignError(
                f"`model.{attr}` of CohortDesign {design!r} gives no value for "
                f"{', '.join(missing)}; give one for every cohort {{{', '.join(names)}}} "
                "(or \"*\" for the rest)."
            )


@dataclass(frozen=True, slots=True, kw_only=True)
class CohortDesign:
    """Several single-arm cohorts analysed together with a borrowing model.

    Parameters
    ----------
    name : str
    model : Model
    cohorts : tuple of Cohort
        Each with p0, p1 and looks (all cohorts have the same number of looks:
        analyses are joint).
    final : Rule or mapping cohort → Rule
        Posterior-probability, BOP2 or boundary rules. A rule's reference rate is
        the cohort's p0 (a rule's own ``p0`` is replaced by it, ``delta`` kept).
    futility, efficacy : Rule or mapping, optional
        The same kinds, or :class:`~adaptive2.model.rules.PredictiveProbability`:
        stop for futility if PP_j < ``threshold``, for efficacy if PP_j >
        ``threshold`` (the single-cohort convention), with PP_j the predictive
        probability of cohort j's final success under the borrowing model (see
        the module notes for its definition and the current-data convention).
    title, notes : str
    scenarios : tuple of Scenario
        Joint scenarios (a rate per cohort).
    alpha : float, optional
        The type I error the design claims for every cohort: the supremum over
        the null region (:func:`adaptive2.engines.null_region.null_region`) of each
        cohort's P(efficacy) must not exceed it. ``None``: no claim.
    target_power : float, optional
        The power the design is meant to reach at each cohort's p1, in (0, 1)
        (file key ``power``); recorded with the design, ``None``: no claim.
    ranges : mapping cohort → (low, high), optional
        Plausible range of each cohort's true rate when it is *another* cohort's
        neighbour: a null cohort's type I error is controlled with the other
        cohorts' rates anywhere in their ranges (default [0, 1], i.e. anywhere).
        Normalised to a tuple of (cohort, (low, high)) for every cohort.
    toxicity : ToxicityMonitor or mapping cohort → ToxicityMonitor, optional
        Safety stopping rules, one per monitored cohort, with no borrowing: a
        cohort whose own event count reaches its boundary stops enrolling. One
        monitor applies to every cohort; a mapping monitors the cohorts it
        names. Monitoring points must lie within each cohort's maximum N.
        Normalised to a tuple of (cohort, monitor) in cohort order, or
        ``None``. File tables ``[cohorts.NAME.toxicity]`` or a shared
        ``[toxicity]`` (each cohort's ``monitor`` defaulting to its looks).
    toxicity_source : str or mapping cohort → str
        Where each monitor's prior and limit come from (text; one for every
        monitored cohort, or per cohort). Normalised to (cohort, text) pairs.
    """

    name: str
    model: Model
    cohorts: tuple[Cohort, ...]
    final: Any
    futility: Any = None
    efficacy: Any = None
    title: str = ""
    notes: str = ""
    scenarios: tuple[Scenario, ...] = ()
    grid: QuadratureGrid = field(default=DEFAULT_GRID)
    alpha: float | None = None
    ranges: Any = ()
    target_power: float | None = None
    toxicity: Any = None
    toxicity_source: Any = ""

    def __post_init__(self) -> None:
        owner = "CohortDesign"
        if not isinstance(self.name, str) or not self.name.strip():
            raise fail("name", owner, "a non-empty string", self.name)
        if not isinstance(self.model, Model):
            raise fail("model", owner, "a Model", self.model)
        cohorts = tuple(self.cohorts)
        if not cohorts or not all(isinstance(c, Cohort) for c in cohorts):
            raise fail("cohorts", owner, "a non-empty tuple of Cohort", self.cohorts)
        names = [c.name for c in cohorts]
        if len(set(names)) != len(names):
            raise fail("cohorts", owner, "cohorts with distinct names", names)
        n_looks = {len(c.looks) for c in cohorts}
        if len(n_looks) != 1 or 0 in n_looks:
            raise DesignError(
                f"`looks` of every cohort of CohortDesign {self.name!r} must be given, with the "
                f"same number of analyses; got {[list(c.looks) for c in cohorts]}."
            )
        object.__setattr__(self, "cohorts", cohorts)
        for cohort in cohorts:
            if cohort.p1 is not None and not cohort.p1 > cohort.p0:
                raise DesignError(
                    f"`p1` of cohort {cohort.name!r} must be above its `p0` ({cohort.p0:g}): the "
                    "target response rate is the alternative, above the uninteresting rate; "
                    f"got {cohort.p1:g}."
                )
        _check_per_cohort_keys(self.model, names, self.name)
        for slot in ("futility", "efficacy", "final"):
            object.__setattr__(self, slot, self._slot(slot, getattr(self, slot), names))
        if self.final is None:
            raise fail("final", owner, "a rule (or one per cohort)", None)
        if (self.futility is not None or self.efficacy is not None) and n_looks == {1}:
            raise DesignError(
                f"`futility`/`efficacy` of CohortDesign {self.name!r} need at least two looks."
            )
        for h in self.model.historical:
            if h.tie is not None and h.tie not in names:
                raise DesignError(
                    f"`tie` of historical stratum {h.name!r} must be one of the cohorts "
                    f"{{{', '.join(names)}}}; got {h.tie!r}."
                )
        scen = tuple(self.scenarios)
        for s in scen:
            if not isinstance(s, Scenario) or not s.joint:
                raise fail("scenarios", owner, "joint Scenario objects (a rate per cohort)", s)
            for c in names:
                s.rate(c)
        object.__setattr__(self, "scenarios", scen)
        if not isinstance(self.grid, QuadratureGrid):
            raise fail("grid", owner, "a QuadratureGrid", self.grid)
        for key in ("alpha", "target_power"):
            if getattr(self, key) is not None:
                object.__setattr__(self, key, check_probability(getattr(self, key), key, owner))
        object.__setattr__(self, "ranges", _ranges(self.ranges, names, owner))
        self._check_toxicity(names)

    def _check_toxicity(self, names: list[str]) -> None:
        """Normalise ``toxicity`` and ``toxicity_source`` to (cohort, value) pairs."""
        owner = f"CohortDesign {self.name!r}"
        value = self.toxicity
        pairs: dict[str, Any]
        if value is None:
            pairs = {}
        elif isinstance(value, ToxicityMonitor):
            pairs = dict.fromkeys(names, value)
        elif isinstance(value, Mapping) or (
            isinstance(value, tuple) and all(isinstance(x, tuple) and len(x) == 2 for x in value)
        ):
            pairs = dict(value)
        else:
            raise fail("toxicity", owner, "a ToxicityMonitor or a mapping cohort → "
                       "ToxicityMonitor", value)
        unknown = sorted(set(map(str, pairs)) - set(names))
        if unknown:
            raise fail("toxicity", owner, f"monitors for cohorts in {names}", unknown)
        for c in self.cohorts:
            m = pairs.get(c.name)
            if m is None:
                continue
            if not isinstance(m, ToxicityMonitor):
                raise fail(f"toxicity[{c.name}]", owner, "a ToxicityMonitor", m)
            if m.rule == "bop2":
                raise fail(f"toxicity[{c.name}]", owner, "a 'posterior' or 'pocock' monitor "
                           "(rule 'bop2', whose cut-off is shared with a BOP2 futility rule, "
                           "is for single-cohort designs)", m.rule)
            check_monitor_points(m.monitor, c.looks[-1], f"cohort {c.name!r} of {owner}")
        tox = tuple((c.name, pairs[c.name]) for c in self.cohorts if pairs.get(c.name) is not None)
        object.__setattr__(self, "toxicity", tox or None)
        src = self.toxicity_source
        if isinstance(src, str):
            sources = {n: src for n, _ in tox} if src else {}
        elif isinstance(src, Mapping) or (
            isinstance(src, tuple) and all(isinstance(x, tuple) and len(x) == 2 for x in src)
        ):
            sources = dict(src)
        else:
            raise fail("toxicity_source", owner, "text, or a mapping cohort → text", src)
        monitored = [n for n, _ in tox]
        for n, text in sources.items():
            if n not in monitored:
                raise fail("toxicity_source", owner,
                           f"text for monitored cohorts only ({monitored})", n)
            if not isinstance(text, str):
                raise fail(f"toxicity_source[{n}]", owner, "text", text)
        object.__setattr__(self, "toxicity_source",
                           tuple((n, sources[n]) for n in monitored if sources.get(n)))

    def toxicity_of(self, cohort: str) -> ToxicityMonitor | None:
        """The toxicity monitor of ``cohort`` (``None`` if it is not monitored)."""
        found: dict[str, ToxicityMonitor] = dict(self.toxicity or ())
        return found.get(cohort)

    def toxicity_source_of(self, cohort: str) -> str:
        """Where ``cohort``'s toxicity prior and limit come from (``""`` if not said)."""
        found: dict[str, str] = dict(self.toxicity_source)
        return found.get(cohort, "")

    def _slot(self, slot: str, value: Any, names: list[str]) -> tuple[tuple[str, Rule], ...] | None:
        if value is None:
            return None
        if isinstance(value, tuple) and all(isinstance(x, tuple) for x in value):
            value = dict(value)
        if isinstance(value, Mapping):
            unknown = set(value) - set(names)
            if unknown:
                raise fail(slot, "CohortDesign", f"rules for cohorts in {names}", sorted(unknown))
            missing = [n for n in names if n not in value]
            if missing:
                raise fail(slot, "CohortDesign", f"a rule for every cohort {names}", missing)
            rules = {n: value[n] for n in names}
            for n, rule in rules.items():  # a cohort's own rule must not contradict its p0
                p0 = getattr(rule, "p0", None)
                cohort_p0 = next(c.p0 for c in self.cohorts if c.name == n)
                if p0 is not None and p0 != cohort_p0:
                    raise DesignError(
                        f"`{slot}.p0` for cohort {n!r} of CohortDesign {self.name!r} is {p0} "
                        f"but the cohort's p0 is {cohort_p0:g}: the rule would decide against "
                        "another null rate than the one its type I error is reported at; "
                        "drop the rule's p0 (the cohort's is used) or make them agree."
                    )
        else:  # one rule for every cohort is a template: each cohort uses its own p0
            rules = {n: value for n in names}
        out = []
        for c in self.cohorts:
            rule = rules[c.name]
            if not isinstance(rule, _SUPPORTED) or (
                slot == "final" and isinstance(rule, PredictiveProbability)
            ):
                kind = getattr(rule, "kind", type(rule).__name__)
                allowed = "posterior, bop2 or boundary" + (
                    "" if slot == "final" else " rule, or a predictive"
                )
                why = (
                    " (a predictive probability needs a final rule to predict)"
                    if slot == "final" and isinstance(rule, PredictiveProbability)
                    else ""
                )
                raise DesignError(
                    f"`{slot}` of CohortDesign {self.name!r} must be a {allowed} rule; "
                    f"got {kind!r}{why}."
                )
            if isinstance(rule, BOP2):
                shape = {"futility": "gamma", "efficacy": "eta"}.get(slot)
                if shape is not None and getattr(rule, shape) is None:
                    raise fail(f"{slot}.{shape}", f"CohortDesign {self.name!r}",
                               "a number > 0 (BOP2's cutoff shape in this slot)", None)
            if isinstance(rule, PosteriorProbability | BOP2):
                rule = rule.replace(p0=c.p0)
            if isinstance(rule, Boundary):
                need = 1 if slot == "final" else len(c.looks) - 1
                if len(rule.r) != need:
                    raise DesignError(
                        f"`{slot}.r` for cohort {c.name!r} must have {need} entr"
                        f"{'y' if need == 1 else 'ies'}; got {list(rule.r)}."
                    )
            out.append((c.name, rule))
        return tuple(out)

    # -- accessors ---------------------------------------------------------------
    def range_of(self, cohort: str) -> tuple[float, float]:
        """Plausible range (low, high) of ``cohort``'s true rate as a neighbour."""
        ranges: dict[str, tuple[float, float]] = dict(self.ranges)
        return ranges[cohort]

    @property
    def names(self) -> list[str]:
        """Cohort names."""
        return [c.name for c in self.cohorts]

    @property
    def n_looks(self) -> int:
        """Number of joint analyses."""
        return len(self.cohorts[0].looks)

    def rule(self, slot: str, cohort: str) -> Rule | None:
        """The rule of ``slot`` for ``cohort``."""
        rules = getattr(self, slot)
        return None if rules is None else dict(rules)[cohort]

    def describe(self) -> str:
        """The design in words."""
        lines = [f"CohortDesign {self.name}" + (f": {self.title}" if self.title else "")]
        lines.append(f"  model: {self.model.describe()}")
        for c in self.cohorts:
            lines.append(f"  cohort {c.name}: p0 = {c.p0:g}, p1 = {c.p1}, looks {list(c.looks)}")
            for slot in ("futility", "efficacy", "final"):
                r = self.rule(slot, c.name)
                if r is not None:
                    lines.append(f"    {slot}: {r.describe(slot)}")
            tox = self.toxicity_of(c.name)
            if tox is not None:
                lines.append(f"    toxicity: {tox.describe()}")
                if self.toxicity_source_of(c.name):
                    lines.append(f"      source: {self.toxicity_source_of(c.name)}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.describe()

    def to_dict(self) -> dict[str, Any]:
        """Design-file representation (mirrors the TOML keys)."""
        return cohort_design_to_dict(self)

    @property
    def hash(self) -> str:
        """SHA-256 of the canonical JSON of the design file representation."""
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    def _require_memory(self, what: str) -> None:
        """The size guard for the decision lattices, before they are built."""
        cost = cohort_cost(self, dp=False)
        require_memory(
            cost.nbytes,
            f"{what} of the {len(self.cohorts)}-cohort design {self.name!r}",
            "use fewer cohorts or patients, or a coarser QuadratureGrid",
            seconds=cost.seconds,
        )

    def boundaries(self) -> list[dict[str, Any]]:
        """Per look and cohort: the futility / efficacy response boundaries given the others.

        Under borrowing a cohort's boundary depends on the other cohorts' data; this
        reports the boundary for each cohort when every other cohort shows exactly its
        null rate (rounded) at the same look — a readable summary; the exact OC use
        the full lattice.
        """
        self._require_memory("the decision boundaries")
        rows = []
        for k in range(self.n_looks):
            n = [c.looks[k] for c in self.cohorts]
            masks = _decisions(self, k, tuple(n))
            for j, c in enumerate(self.cohorts):
                idx: list[Any] = []
                for i, other in enumerate(self.cohorts):
                    idx.append(slice(None) if i == j else round(other.p0 * n[i]))
                fut = masks[c.name]["futility"][tuple(idx)]
                eff = masks[c.name]["efficacy"][tuple(idx)]
                a = int(np.flatnonzero(fut).max()) if fut.any() else None
                b = int(np.flatnonzero(eff).min()) if eff.any() else None
                rows.append(
                    {
                        "look": k + 1,
                        "cohort": c.name,
                        "n": n[j],
                        "futility_max_r": a,
                        "efficacy_min_r": b,
                        "others_at": {
                            o.name: round(o.p0 * n[i])
                            for i, o in enumerate(self.cohorts)
                            if i != j
                        },
                    }
                )
        return rows

    def decision_table(self) -> list[dict[str, Any]]:
        """The rule as integers: responses each cohort needs, given the other cohorts' counts.

        For every look k, cohort j and every state the other cohorts can be in at that
        look (each still running with its look-k count, or stopped earlier with its data
        at stopping) and every count they can show: the largest r_j that stops cohort j
        for futility (at the final look: fails) and the smallest r_j that stops it for
        efficacy (at the final look: succeeds), among its first n_j patients. With two
        cohorts, consecutive counts of the other cohort that give the same boundaries are
        merged into one row (``other_r`` from ``other_r_from`` to ``other_r_to``), so the
        table states the pre-specified rule without software. Rows where a cohort's
        decisions are not monotone in its own count (never for posterior-probability
        rules) carry ``monotone = False``.

        Returns
        -------
        list of dict
            ``look``, ``cohort``, ``n``, ``others`` (text: each other cohort's name, n and
            whether it is running or stopped), ``other_r_from``, ``other_r_to`` (two
            cohorts) or ``others_r`` (text, three or more), ``futility_max_r``,
            ``efficacy_min_r`` (``None`` where no count stops for that reason), ``monotone``.
        """
        self._require_memory("the decision table")
        rows: list[dict[str, Any]] = []
        J = len(self.cohorts)
        last = self.n_looks - 1
        for k in range(self.n_looks):
            for j, c in enumerate(self.cohorts):
                others = [i for i in range(J) if i != j]
                states = itertools.product(
                    *[range(k + 1) for _ in others]
                )  # the look at which each other cohort's data were taken
                for st in states:
                    n = [0] * J
                    n[j] = c.looks[k]
                    for i, kk in zip(others, st, strict=True):
                        n[i] = self.cohorts[i].looks[kk]
                    masks = _decisions(self, k, tuple(n))[c.name]
                    fut = np.moveaxis(masks["futility"], j, -1)
                    eff = np.moveaxis(masks["efficacy"], j, -1)
                    who = ", ".join(
                        f"{self.cohorts[i].name} {n[i]}"
                        + (" (stopped)" if kk < k else "")
                        for i, kk in zip(others, st, strict=True)
                    )
                    block = []
                    for idx in itertools.product(*[self._reachable(i, kk, k) for i, kk in
                                                   zip(others, st, strict=True)]):
                        f, e = fut[idx], eff[idx]
                        a = int(np.flatnonzero(f).max()) if f.any() else None
                        b = int(np.flatnonzero(e).min()) if e.any() else None
                        mono = (a is None or bool(f[: a + 1].all())) and (
                            b is None or bool(e[b:].all())
                        )
                        block.append((idx, a, b, mono))
                    base = {"look": k + 1, "cohort": c.name, "n": c.looks[k], "others": who,
                            "final": k == last}
                    if J == 2:
                        start = 0
                        for t in range(1, len(block) + 1):
                            if t == len(block) or block[t][1:] != block[start][1:]:
                                rows.append({**base, "other_r_from": block[start][0][0],
                                             "other_r_to": block[t - 1][0][0],
                                             "futility_max_r": block[start][1],
                                             "efficacy_min_r": block[start][2],
                                             "monotone": block[start][3]})
                                start = t
                    else:
                        for idx, a, b, mono in block:
                            rows.append({**base, "others_r": ", ".join(map(str, idx)),
                                         "futility_max_r": a, "efficacy_min_r": b,
                                         "monotone": mono})
        return rows

    def _reachable(self, i: int, kk: int, k: int) -> range | list[int]:
        """Counts cohort i can show at look k with its data taken at look kk.

        Still running (kk = k): every count. Stopped at an earlier look kk: the counts
        that stop it there for some data of the others, all running at kk (exact for two
        cohorts; with more, cohorts stopped before kk could widen it, so every count is
        kept).
        """
        n_i = self.cohorts[i].looks[kk]
        if kk == k or len(self.cohorts) > 2:
            return range(n_i + 1)
        n = tuple(c.looks[kk] for c in self.cohorts)
        m = _decisions(self, kk, n)[self.cohorts[i].name]
        stops = np.moveaxis(m["futility"] | m["efficacy"], i, 0).reshape(n_i + 1, -1).any(axis=1)
        return [int(r) for r in np.flatnonzero(stops)]

    def boundary_table(self, rows: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
        """:meth:`boundaries` (or ``rows`` it returned) with ``others_at`` as text."""
        return [
            {**r, "others_at": ", ".join(f"{k}={v}" for k, v in r["others_at"].items())}
            for r in (self.boundaries() if rows is None else rows)
        ]


def _ranges(
    value: Any, names: list[str], owner: str
) -> tuple[tuple[str, tuple[float, float]], ...]:
    """Normalise per-cohort plausible ranges: every cohort, (low, high) in [0, 1]."""
    if isinstance(value, Mapping):
        items = dict(value)
    elif isinstance(value, tuple | list) and all(
        isinstance(x, tuple | list) and len(x) == 2 and isinstance(x[0], str) for x in value
    ):
        items = dict(value)
    else:
        raise fail("ranges", owner, "a mapping cohort → (low, high)", value)
    unknown = sorted(set(items) - set(names))
    if unknown:
        raise fail("ranges", owner, f"ranges for cohorts in {names}", unknown)
    out = []
    for n in names:
        rng = items.get(n, (0.0, 1.0))
        if not isinstance(rng, tuple | list) or len(rng) != 2:
            raise fail(f"ranges[{n}]", owner, "a pair (low, high) with 0 <= low < high <= 1", rng)
        lo = check_probability(rng[0], f"ranges[{n}] low", owner, closed=True)
        hi = check_probability(rng[1], f"ranges[{n}] high", owner, closed=True)
        if not lo < hi:
            raise fail(f"ranges[{n}]", owner, "a pair (low, high) with 0 <= low < high <= 1", rng)
        out.append((n, (lo, hi)))
    return tuple(out)


# ---------------------------------------------------------------------------
# Decisions on the lattice
# ---------------------------------------------------------------------------
def _threshold(rule: Rule, cohort: Cohort) -> float:
    if isinstance(rule, PosteriorProbability):
        return cohort.p0 + rule.delta
    return cohort.p0


def _decisions(
    design: CohortDesign, k: int, n: tuple[int, ...]
) -> dict[str, dict[str, np.ndarray]]:
    """Boolean masks over the lattice at sizes ``n`` for look ``k`` of each cohort.

    For interim looks: ``futility`` and ``efficacy`` (stop); for the last look
    ``efficacy`` is success and ``futility`` its complement.
    """
    return _decisions_cached(design, k, n)


def _lattice_stat(
    design: CohortDesign, n: tuple[int, ...], cohort: Cohort, rule: Rule
) -> np.ndarray:
    j = design.names.index(cohort.name)
    if isinstance(rule, Boundary):
        shape = [1] * len(n)
        shape[j] = n[j] + 1
        return np.arange(n[j] + 1, dtype=float).reshape(shape) * np.ones(tuple(x + 1 for x in n))
    if isinstance(rule, PredictiveProbability):
        return _predictive_stat(design, n, j)
    thr = _threshold(rule, cohort)
    # thresholds at p0 are the default: every such rule shares one lattice per n
    thresholds = {} if thr == cohort.p0 else {cohort.name: thr}
    res = lattice(design.model, design.cohorts, n, thresholds=thresholds, grid=design.grid)
    return res.p_above[cohort.name]


def attainable(design: CohortDesign, cohort: str, slot: str) -> np.ndarray:
    """Sorted distinct values of the statistic that ``slot``'s rule of ``cohort`` compares.

    Over every outcome the rule can meet: for ``final``, cohort j at its last
    look with every other cohort at any of its looks (still running, or stopped
    earlier with its data at stopping); for an interim slot, cohort j at each
    interim look k with the others at look k or earlier. A cutoff strictly
    between two neighbouring values gives the same decisions everywhere, so
    calibration searches these gaps (and places cutoffs in their middle).
    """
    j = design.names.index(cohort)
    c = design.cohorts[j]
    rule = design.rule(slot, cohort)
    if rule is None:
        raise fail(slot, "attainable", f"a rule for cohort {cohort!r}", None)
    K = design.n_looks
    looks_at = [K - 1] if slot == "final" else list(range(K - 1))
    vals = []
    for k in looks_at:
        choices = [
            (c.looks[k],) if i == j else tuple(o.looks[: k + 1])
            for i, o in enumerate(design.cohorts)
        ]
        for n in itertools.product(*choices):
            vals.append(np.ravel(_lattice_stat(design, tuple(n), c, rule)))
    return np.unique(np.concatenate(vals))


def _predictive_stat(design: CohortDesign, n: tuple[int, ...], j: int) -> np.ndarray:
    """PP_j over the whole lattice at sizes ``n`` (see the module notes).

    Kept in the memo by what PP_j depends on — model, cohorts, grid, cohort j's
    final rule and ``n`` — so designs that differ only in their interim rules or
    thresholds (calibration) share it.
    """
    final = design.rule("final", design.cohorts[j].name)
    key = ("cohorts.predictive", design.model, design.cohorts, design.grid, final, j, n)
    return MEMO.get(key, lambda: _compute_predictive_stat(design, n, j))


def _compute_predictive_stat(design: CohortDesign, n: tuple[int, ...], j: int) -> np.ndarray:
    c = design.cohorts[j]
    final = cast(Rule, design.rule("final", c.name))  # never None: a final rule is required
    n_max = c.looks[-1]
    m = n_max - n[j]
    n_final = tuple(n_max if i == j else x for i, x in enumerate(n))
    stat = _lattice_stat(design, n_final, c, final)
    success = np.moveaxis(_act(final, "final", stat, 1.0, design.n_looks - 1), j, 0)
    pmf = predictive(design.model, design.cohorts, n, cohort=c.name, m=m, grid=design.grid)
    total = np.arange(n[j] + 1)[:, None] + np.arange(m + 1)[None, :]  # r_j + x
    hits = np.moveaxis(np.moveaxis(success[total], 1, -1), 0, j)  # lattice × x
    return cast(np.ndarray, np.clip((pmf * hits).sum(axis=-1), 0.0, 1.0))


def _decisions_cached(
    design: CohortDesign, k: int, n: tuple[int, ...]
) -> dict[str, dict[str, np.ndarray]]:
    """The decision masks of look ``k`` at sizes ``n`` (kept in the memo; read-only)."""
    return MEMO.get(("cohorts.decisions", design, k, n), lambda: _compute_decisions(design, k, n))


def _compute_decisions(
    design: CohortDesign, k: int, n: tuple[int, ...]
) -> dict[str, dict[str, np.ndarray]]:
    out: dict[str, dict[str, np.ndarray]] = {}
    last = k == design.n_looks - 1
    shape = tuple(x + 1 for x in n)
    for j, c in enumerate(design.cohorts):
        n_max = c.looks[-1]
        t = n[j] / n_max
        if last:
            final = cast(Rule, design.rule("final", c.name))  # never None: a final rule is required
            stat = _lattice_stat(design, n, c, final)
            succ = _act(final, "final", stat, t, k)
            out[c.name] = {"efficacy": succ, "futility": ~succ}
            continue
        fut = np.zeros(shape, dtype=bool)
        eff = np.zeros(shape, dtype=bool)
        rule = design.rule("futility", c.name)
        if rule is not None:
            fut = _act(rule, "futility", _lattice_stat(design, n, c, rule), t, k)
        rule = design.rule("efficacy", c.name)
        if rule is not None:
            eff = _act(rule, "efficacy", _lattice_stat(design, n, c, rule), t, k) & ~fut
        out[c.name] = {"futility": fut, "efficacy": eff}
    return out


def _act(rule: Rule, slot: str, stat: np.ndarray, t: float, k: int) -> np.ndarray:
    """The rule's action on the lattice statistic (:meth:`Rule.act`), look ``k``, fraction ``t``."""
    return rule.act(slot, stat, index=k, fraction=t)


def cohort_roles(design: CohortDesign, scen: Scenario) -> list[str]:
    """Role of each cohort's true rate in ``scen``: ``null``, ``alternative`` or ``other``.

    The single-cohort rule (:func:`adaptive2.model.scenarios._role`): null at or below
    the cohort's p0, alternative at or above its p1 (above p0 when it has no
    p1), other strictly in between.
    """
    return [_role(scen.rate(c.name), c.p0, c.p1) for c in design.cohorts]


def predictive_probability(
    design: CohortDesign, data: Mapping[str, tuple[int, int]]
) -> dict[str, float]:
    """Predictive probability of final success of every cohort, for observed data.

    Parameters
    ----------
    design : CohortDesign
    data : mapping
        Cohort → (r, n) or ``"r/n"``: responses and evaluable patients so far
        (cohorts left out have n = 0); n may not exceed the cohort's last look
        N. Validated as :func:`adaptive2.engines.analysis.analyze` does (errors name
        ``data``).

    Returns
    -------
    dict
        Cohort → PP_j, the posterior-predictive probability (under the design's
        borrowing model) that cohort j's final rule succeeds at N_j, with the
        other cohorts held at their current data (the current-data convention of
        the module notes). At n_j = N_j it is the final decision itself (0 or 1).
    """
    owner = "predictive_probability"
    if not isinstance(design, CohortDesign):
        raise fail("design", owner, "a CohortDesign", type(design).__name__)
    rn = cohort_data(design, data, owner)  # a mapping of (r, n) or "r/n", checked
    idx = tuple(r for r, _ in rn)
    ns = [n for _, n in rn]
    return {
        c.name: float(_predictive_stat(design, tuple(ns), j)[idx])
        for j, c in enumerate(design.cohorts)
    }


def cohort_design_to_dict(design: Any) -> dict[str, Any]:
    """The design-file dict of a ``CohortDesign``."""
    m = design.model
    out: dict[str, Any] = {"name": design.name}
    if design.title:
        out["title"] = design.title
    if design.notes:
        out["notes"] = design.notes
    if design.alpha is not None:
        out["alpha"] = design.alpha
    if design.target_power is not None:
        out["power"] = design.target_power
    reads = MODEL_READS[m.kind]  # write only what the kind of model reads
    model: dict[str, Any] = {"kind": m.kind, "scale": m.scale}
    if "mu_mean" in reads:
        model["mu"] = {"mean": m.mu_mean, "sd": m.mu_sd}
    if "tau_scale" in reads:
        tau: dict[str, Any] = {m.tau_prior: m.tau_scale}
        if m.tau_prior == "half_t":
            tau["df"] = m.tau_df
        model["tau"] = tau

    def shared(value: Any) -> Any:  # the value for every cohort, or for the rest ("*")
        return dict(value).get("*") if isinstance(value, tuple) else value

    if "weight" in reads and shared(m.weight) is not None:
        model["weight"] = shared(m.weight)
    nex = {k: shared(v) for k, v in (("mean", m.nex_mean), ("sd", m.nex_sd))
           if "nex_mean" in reads and shared(v) is not None}
    if nex:
        model["nex"] = nex
    if m.historical:
        model["historical"] = [
            {
                k: v
                for k, v in (
                    ("name", h.name),
                    ("r", h.r),
                    ("n", h.n),
                    ("p0", h.p0),
                    ("tie", h.tie),
                    ("tie_sd", h.tie_sd),
                    ("weight", h.weight),
                )
                if v is not None
            }
            for h in m.historical
        ]
    out["model"] = model
    cohorts: dict[str, Any] = {}
    for c in design.cohorts:
        ct: dict[str, Any] = {"p0": c.p0}
        if c.p1 is not None:
            ct["p1"] = c.p1
        ct["looks"] = list(c.looks)
        if design.range_of(c.name) != (0.0, 1.0):
            ct["range"] = list(design.range_of(c.name))
        if "weight" in reads and isinstance(m.weight, tuple) and c.name in dict(m.weight):
            ct["weight"] = dict(m.weight)[c.name]
        nx = {}
        if "nex_mean" in reads:
            if isinstance(m.nex_mean, tuple) and c.name in dict(m.nex_mean):
                nx["mean"] = dict(m.nex_mean)[c.name]
            if isinstance(m.nex_sd, tuple) and c.name in dict(m.nex_sd):
                nx["sd"] = dict(m.nex_sd)[c.name]
        if nx:
            ct["nex"] = nx
        for slot in ("futility", "efficacy", "final"):
            rule = design.rule(slot, c.name)
            if rule is not None:
                d = rule.to_dict()
                d.pop("p0", None)
                if d.get("rule") == "posterior" and d.get("delta") == 0.0:
                    del d["delta"]
                if slot == "final" and d["rule"] == "boundary":
                    d["r"] = d["r"][0]
                ct[slot] = d
        tox = design.toxicity_of(c.name)
        if tox is not None:
            ct["toxicity"] = toxicity_to_dict(tox, c.looks, design.toxicity_source_of(c.name))
        cohorts[c.name] = ct
    out["cohorts"] = cohorts
    if design.scenarios:
        out["scenarios"] = [_scenario_to_dict(s) for s in design.scenarios]
    return out


def _scenario_to_dict(scen: Scenario) -> dict[str, Any]:
    """A joint scenario's ``[[scenarios]]`` table: name, a rate per cohort, toxicity settings."""
    out: dict[str, Any] = {"name": scen.name, **dict(scen.rates)}
    for key in ("toxicity", "odds_ratio"):
        value = getattr(scen, key)
        if value is not None:
            out[key] = value if isinstance(value, float) else dict(value)
    return out
