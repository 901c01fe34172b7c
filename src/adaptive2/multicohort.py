"""Multi-cohort designs with borrowing, and their exact operating characteristics.

A :class:`CohortDesign` runs one single-arm design per cohort (its own looks and
rules) and analyses all cohorts together with a borrowing :class:`Model`
(independent, pooled, BHM or EXNEX, with historical strata). At every look the
posterior probabilities of every cohort come from the quadrature engine
(:mod:`adaptive2.hierarchical`) evaluated on the whole outcome lattice at once.

Predictive probabilities (Lee & Liu 2008) under borrowing. At an interim look
with outcomes r = (r_1, ..., r_J) at sizes n = (n_1, ..., n_J), cohort j has
m_j = N_j − n_j patients to come (N_j its last look), and

    PP_j(r) = Σ_{x=0}^{m_j} P(x | r, model) · 1{final rule of cohort j succeeds
              with cohort j at r_j + x of N_j and every other cohort k at r_k of n_k},

where P(x | r, model) = ∫ Bin(x; m_j, p_j) π(p_j | r) dp_j is the posterior
predictive of cohort j under the borrowing model (a beta-binomial mixture over
the quadrature posterior, :func:`adaptive2.hierarchical.predictive`) and the
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

import itertools
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from adaptive2._validation import check_probability, fail
from adaptive2.errors import DesignError
from adaptive2.hierarchical import (
    DEFAULT_GRID,
    Cohort,
    Model,
    QuadratureGrid,
    lattice,
    predictive,
)
from adaptive2.rules import BOP2, Boundary, PosteriorProbability, PredictiveProbability, Rule
from adaptive2.scenarios import _role

__all__ = [
    "CohortDesign",
    "CohortScenario",
    "borrowing_summary",
    "cohort_oc",
    "cohort_roles",
    "predictive_probability",
]

_SUPPORTED = (PosteriorProbability, PredictiveProbability, BOP2, Boundary)


@dataclass(frozen=True, slots=True)
class CohortScenario:
    """True response rates per cohort, with a name.

    Parameters
    ----------
    name : str
    rates : mapping or tuple of (cohort, rate)
    """

    name: str
    rates: tuple[tuple[str, float], ...]

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise fail("name", "CohortScenario", "a non-empty string", self.name)
        items = self.rates.items() if isinstance(self.rates, Mapping) else self.rates
        rates = tuple(
            (str(k), check_probability(v, f"rates[{k}]", "CohortScenario", closed=True))
            for k, v in items
        )
        object.__setattr__(self, "rates", rates)

    def rate(self, cohort: str) -> float:
        """True rate of ``cohort``."""
        d = dict(self.rates)
        if cohort not in d:
            raise DesignError(
                f"scenario {self.name!r} must give a rate for cohort {cohort!r}; "
                f"got rates for {sorted(d)}."
            )
        return d[cohort]


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
        The same kinds, or :class:`~adaptive2.rules.PredictiveProbability`:
        stop for futility if PP_j < ``threshold``, for efficacy if PP_j >
        ``threshold`` (the single-cohort convention), with PP_j the predictive
        probability of cohort j's final success under the borrowing model (see
        the module notes for its definition and the current-data convention).
    title, notes : str
    scenarios : tuple of CohortScenario
    """

    name: str
    model: Model
    cohorts: tuple[Cohort, ...]
    final: Any
    futility: Any = None
    efficacy: Any = None
    title: str = ""
    notes: str = ""
    scenarios: tuple[CohortScenario, ...] = ()
    grid: QuadratureGrid = field(default=DEFAULT_GRID)

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
            if not isinstance(s, CohortScenario):
                raise fail("scenarios", owner, "CohortScenario objects", s)
            for c in names:
                s.rate(c)
        object.__setattr__(self, "scenarios", scen)
        if not isinstance(self.grid, QuadratureGrid):
            raise fail("grid", owner, "a QuadratureGrid", self.grid)

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
        else:
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
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.describe()

    def plot(self, *, ax: Any = None) -> Any:
        """Per-cohort boundary chart: :func:`adaptive2.plots.cohort_boundary_chart`."""
        from adaptive2.plots import cohort_boundary_chart

        return cohort_boundary_chart(self, ax=ax)

    def _repr_html_(self) -> str:
        from adaptive2._html import cohort_design_card

        return cohort_design_card(self)

    @property
    def hash(self) -> str:
        """SHA-256 of the canonical JSON of the design file representation."""
        import hashlib
        import json

        from adaptive2.io import cohort_design_to_dict

        text = json.dumps(cohort_design_to_dict(self), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    def boundaries(self) -> list[dict[str, Any]]:
        """Per look and cohort: the futility / efficacy response boundaries given the others.

        Under borrowing a cohort's boundary depends on the other cohorts' data; this
        reports the boundary for each cohort when every other cohort shows exactly its
        null rate (rounded) at the same look — a readable summary; the exact OC use
        the full lattice.
        """
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

    def boundary_table(self, rows: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
        """:meth:`boundaries` (or ``rows`` it returned) with ``others_at`` as text."""
        return [
            {**r, "others_at": ", ".join(f"{k}={v}" for k, v in r["others_at"].items())}
            for r in (self.boundaries() if rows is None else rows)
        ]


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


_PP_CACHE: dict[tuple, np.ndarray] = {}


def _predictive_stat(design: CohortDesign, n: tuple[int, ...], j: int) -> np.ndarray:
    """PP_j over the whole lattice at sizes ``n`` (see the module notes).

    Cached by what PP_j depends on — model, cohorts, grid, cohort j's final rule
    and ``n`` — so designs that differ only in their interim rules or thresholds
    (calibration) share it.
    """
    c = design.cohorts[j]
    final = design.rule("final", c.name)
    key = (design.model, design.cohorts, design.grid, final, j, n)
    if key in _PP_CACHE:
        return _PP_CACHE[key]
    n_max = c.looks[-1]
    m = n_max - n[j]
    n_final = tuple(n_max if i == j else x for i, x in enumerate(n))
    stat = _lattice_stat(design, n_final, c, final)
    success = np.moveaxis(_act(final, "final", stat, 1.0, design.n_looks - 1), j, 0)
    pmf = predictive(design.model, design.cohorts, n, cohort=c.name, m=m, grid=design.grid)
    total = np.arange(n[j] + 1)[:, None] + np.arange(m + 1)[None, :]  # r_j + x
    hits = np.moveaxis(np.moveaxis(success[total], 1, -1), 0, j)  # lattice × x
    pp = np.clip((pmf * hits).sum(axis=-1), 0.0, 1.0)
    pp.setflags(write=False)
    if len(_PP_CACHE) > 1024:
        _PP_CACHE.clear()
    _PP_CACHE[key] = pp
    return pp


_DECISION_CACHE: dict[tuple, dict[str, dict[str, np.ndarray]]] = {}


def _decisions_cached(
    design: CohortDesign, k: int, n: tuple[int, ...]
) -> dict[str, dict[str, np.ndarray]]:
    key = (design, k, n)
    if key in _DECISION_CACHE:
        return _DECISION_CACHE[key]
    out: dict[str, dict[str, np.ndarray]] = {}
    last = k == design.n_looks - 1
    shape = tuple(x + 1 for x in n)
    for j, c in enumerate(design.cohorts):
        n_max = c.looks[-1]
        t = n[j] / n_max
        if last:
            rule = design.rule("final", c.name)
            stat = _lattice_stat(design, n, c, rule)
            succ = _act(rule, "final", stat, t, k)
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
    if len(_DECISION_CACHE) > 4096:
        _DECISION_CACHE.clear()
    _DECISION_CACHE[key] = out
    return out


def _act(rule: Rule, slot: str, stat: np.ndarray, t: float, k: int) -> np.ndarray:
    if isinstance(rule, Boundary):
        crit = rule.r[0 if slot == "final" else k]
        return stat <= crit if slot == "futility" else stat > crit
    if isinstance(rule, PredictiveProbability):  # as rules.PredictiveProbability.evaluate
        return stat < rule.threshold if slot == "futility" else stat > rule.threshold
    if isinstance(rule, PosteriorProbability):
        return stat <= rule.cutoff if slot == "futility" else stat > rule.cutoff
    # BOP2
    if slot == "futility":
        return stat < rule.lambda_ * t ** (rule.gamma or 1.0)
    if slot == "efficacy":
        return stat >= 1 - (1 - rule.lambda_) * t ** (rule.eta or 1.0)
    return stat > rule.lambda_


# ---------------------------------------------------------------------------
# Exact OC
# ---------------------------------------------------------------------------
def _binom(m: int, p: float) -> np.ndarray:
    from adaptive2.oc import _binom_pmf

    return _binom_pmf(m, np.array([p]))[0]


def _advance(arr: np.ndarray, axis: int, m: int, p: float) -> np.ndarray:
    """Convolve the distribution along ``axis`` with Binomial(m, p) new responses."""
    if m == 0:
        return arr
    pmf = _binom(m, p)
    moved = np.moveaxis(arr, axis, -1)
    out = np.zeros((*moved.shape[:-1], moved.shape[-1] + m))
    width = moved.shape[-1]
    for x in range(m + 1):
        out[..., x : x + width] += moved * pmf[x]
    return np.moveaxis(out, -1, axis)


def _run_scenario(design: CohortDesign, scen: CohortScenario) -> dict[tuple, float]:
    """Probability of every terminal status tuple (per cohort: (status, look))."""
    J = len(design.cohorts)
    rates = [scen.rate(c.name) for c in design.cohorts]
    # state: per cohort ("run", k) or ("fut"/"eff"/"succ"/"fail", k) -> array over r lattice
    states: dict[tuple, np.ndarray] = {tuple(("run", -1) for _ in range(J)): np.ones((1,) * J)}
    terminal: dict[tuple, float] = {}
    for k in range(design.n_looks):
        new_states: dict[tuple, np.ndarray] = {}
        for key, arr in states.items():
            # enrol the next patients of running cohorts
            for j, c in enumerate(design.cohorts):
                if key[j][0] == "run":
                    prev = c.looks[k - 1] if k > 0 else 0
                    arr = _advance(arr, j, c.looks[k] - prev, rates[j])
            n = tuple(
                c.looks[k] if key[j][0] == "run" else c.looks[key[j][1]]
                for j, c in enumerate(design.cohorts)
            )
            masks = _decisions_cached(design, k, n)
            running = [j for j in range(J) if key[j][0] == "run"]
            last = k == design.n_looks - 1
            outcomes = ("succ", "fail") if last else ("run", "fut", "eff")
            for combo in itertools.product(outcomes, repeat=len(running)):
                weight = np.ones_like(arr, dtype=bool)
                new_key = list(key)
                for j, outcome in zip(running, combo, strict=True):
                    m = masks[design.cohorts[j].name]
                    if outcome in ("succ", "eff"):
                        sel = m["efficacy"]
                    elif outcome in ("fail", "fut"):
                        sel = m["futility"]
                    else:
                        sel = ~(m["futility"] | m["efficacy"])
                    weight &= sel
                    new_key[j] = (outcome, k)
                if not weight.any():
                    continue
                part = np.where(weight, arr, 0.0)
                tk = tuple(new_key)
                if all(s[0] != "run" for s in tk):
                    terminal[tk] = terminal.get(tk, 0.0) + float(part.sum())
                elif tk in new_states:
                    new_states[tk] = new_states[tk] + part
                else:
                    new_states[tk] = part
        states = new_states
    return terminal


def cohort_roles(design: CohortDesign, scen: CohortScenario) -> list[str]:
    """Role of each cohort's true rate in ``scen``: ``null``, ``alternative`` or ``other``.

    The single-cohort rule (:func:`adaptive2.scenarios._role`): null at or below
    the cohort's p0, alternative at or above its p1 (above p0 when it has no
    p1), other strictly in between.
    """
    return [_role(scen.rate(c.name), c.p0, c.p1) for c in design.cohorts]


def _summarise(design: CohortDesign, scen: CohortScenario, term: dict[tuple, float]) -> dict:
    J = len(design.cohorts)
    K = design.n_looks
    stop = np.zeros((J, K, 2))  # futility, efficacy by look (final: fail / success)
    fwer = 0.0
    all_correct = 0.0
    roles = cohort_roles(design, scen)
    null = [r == "null" for r in roles]
    alt = [r == "alternative" for r in roles]
    for key, prob in term.items():
        eff = []
        for j, (status, k) in enumerate(key):
            is_eff = status in ("eff", "succ")
            stop[j, k, 1 if is_eff else 0] += prob
            eff.append(is_eff)
        if any(e and nl for e, nl in zip(eff, null, strict=True)):
            fwer += prob
        if _all_correct(eff, null, alt):
            all_correct += prob
    looks = np.array([c.looks for c in design.cohorts], dtype=float)
    p_n = stop.sum(axis=-1)
    en = (p_n * looks).sum(axis=1)
    sd = np.sqrt(np.maximum((p_n * looks**2).sum(axis=1) - en**2, 0.0))
    return {
        "p_efficacy": stop[..., 1].sum(axis=1),
        "p_futility": stop[:, :-1, 0].sum(axis=1),
        "p_early_stop": p_n[:, :-1].sum(axis=1),
        "expected_n": en,
        "sd_n": sd,
        "p_stop_at": stop,
        "fwer": fwer,
        "p_all_correct": all_correct,
        "roles": roles,
    }


def _all_correct(eff: Sequence[bool], null: Sequence[bool], alt: Sequence[bool]) -> bool:
    """Every cohort decided correctly: no efficacy where null, efficacy where alternative.

    A cohort whose rate is strictly between p0 and p1 (role ``other``) lies in the
    indifference zone: either decision is acceptable there, so it never makes a
    trial incorrect (with every cohort in that zone the trial is always correct).
    """
    return all(
        not (e and n) and not (a and not e) for e, n, a in zip(eff, null, alt, strict=True)
    )


def cohort_oc(design: CohortDesign, scenarios: Iterable[CohortScenario] | None = None) -> Any:
    """Exact OC of a multi-cohort design under each scenario.

    Returns
    -------
    xarray.Dataset
        Dims ``scenario``, ``cohort``, ``look``, ``reason`` (futility, efficacy);
        variables ``p_efficacy``, ``p_futility``, ``p_early_stop``, ``expected_n``,
        ``sd_n`` (scenario × cohort), ``p_stop_at`` (scenario × cohort × look ×
        reason; at the final look: fail / success), ``fwer`` (P(any cohort whose
        true rate is at or below its p0 is declared efficacious)) and
        ``p_all_correct`` (scenario: P(no null cohort declared efficacious and
        every alternative cohort declared efficacious); a cohort with role
        ``other`` is in the indifference zone, where either decision counts as
        correct); ``rate`` and ``role`` coordinates (scenario × cohort; roles
        from :func:`cohort_roles`: null at or below p0, alternative at or above
        p1, other in between); ``_mcse`` twins are 0 (exact).
    """
    import xarray as xr

    import adaptive2.accessor  # noqa: F401  (registers ds.a2.plot() / ds.a2.table())
    from adaptive2._provenance import provenance

    t0 = time.perf_counter()
    scen = tuple(design.scenarios if scenarios is None else scenarios)
    if not scen:
        raise fail("scenarios", "cohort_oc", "at least one CohortScenario", scen)
    for s in scen:
        if not isinstance(s, CohortScenario):
            raise fail("scenarios", "cohort_oc", "CohortScenario objects", s)
    rows = [_summarise(design, s, _run_scenario(design, s)) for s in scen]
    names = design.names
    stack = lambda key: np.stack([r[key] for r in rows])  # noqa: E731
    data = {
        "p_efficacy": (("scenario", "cohort"), stack("p_efficacy")),
        "p_futility": (("scenario", "cohort"), stack("p_futility")),
        "p_early_stop": (("scenario", "cohort"), stack("p_early_stop")),
        "expected_n": (("scenario", "cohort"), stack("expected_n")),
        "sd_n": (("scenario", "cohort"), stack("sd_n")),
        "p_stop_at": (("scenario", "cohort", "look", "reason"), stack("p_stop_at")),
        "fwer": (("scenario",), np.array([r["fwer"] for r in rows])),
        "p_all_correct": (("scenario",), np.array([r["p_all_correct"] for r in rows])),
    }
    for k in list(data):
        dims, v = data[k]
        data[f"{k}_mcse"] = (dims, np.zeros_like(v))
    rate = np.array([[s.rate(n) for n in names] for s in scen])
    role = np.array([r["roles"] for r in rows])
    ds = xr.Dataset(
        data,
        coords={
            "scenario": [s.name for s in scen],
            "cohort": names,
            "look": np.arange(1, design.n_looks + 1),
            "reason": ["futility", "efficacy"],
            "rate": (("scenario", "cohort"), rate),
            "role": (("scenario", "cohort"), role),
        },
        attrs=provenance(
            method="exact",
            engine="quadrature",
            design_name=design.name,
            design_hash=design.hash,
            model=design.model.describe(),
            n_sims=0,
            seed_entropy="",
            wall_time_s=round(time.perf_counter() - t0, 6),
        ),
    )
    return ds


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
        N. Validated as :func:`adaptive2.analyze.analyze` does (errors name
        ``data``).

    Returns
    -------
    dict
        Cohort → PP_j, the posterior-predictive probability (under the design's
        borrowing model) that cohort j's final rule succeeds at N_j, with the
        other cohorts held at their current data (the current-data convention of
        the module notes). At n_j = N_j it is the final decision itself (0 or 1).
    """
    from adaptive2.analyze import _multi_data

    owner = "predictive_probability"
    if not isinstance(design, CohortDesign):
        raise fail("design", owner, "a CohortDesign", type(design).__name__)
    rn = _multi_data(design, data, owner)  # analyze's validation: mapping of (r, n) or "r/n"
    idx = tuple(r for r, _ in rn)
    ns = [n for _, n in rn]
    return {
        c.name: float(_predictive_stat(design, tuple(ns), j)[idx])
        for j, c in enumerate(design.cohorts)
    }


def _scenarios_from(obj: Sequence[Mapping[str, Any]]) -> tuple[CohortScenario, ...]:
    out = []
    for i, s in enumerate(obj):
        d = dict(s)
        name = d.pop("name", f"scenario {i + 1}")
        out.append(CohortScenario(name, tuple(d.items())))
    return tuple(out)


def borrowing_summary(
    design: CohortDesign,
    scenarios: Iterable[CohortScenario] | None = None,
    *,
    borrowed: Any = None,
):
    """Type I error inflation and power gain of borrowing, against independent analysis.

    The same design is evaluated exactly twice: with its model, and with
    ``Model(kind="independent")`` (each cohort alone with the model's NEX prior,
    historical strata tied to a cohort kept as they are). For each cohort the
    table gives, over the scenarios where the cohort is null, the worst-case
    ``p_efficacy`` (type I error) under both, and over the alternative scenarios
    the power under both. Roles come from :func:`cohort_roles`: a scenario
    whose rate for the cohort lies strictly between its p0 and p1 (role
    ``other``) counts as neither. ``borrowed`` may pass the design's already
    computed :func:`cohort_oc` result for the same scenarios.

    Returns
    -------
    pandas.DataFrame
        One row per cohort: ``worst_type1``, ``worst_type1_scenario``,
        ``worst_type1_independent``, ``type1_inflation``, ``mean_power``,
        ``mean_power_independent``, ``power_gain``.
    """
    import dataclasses

    import pandas as pd

    scen = tuple(design.scenarios if scenarios is None else scenarios)
    if borrowed is None:  # the design's own OC, unless the caller already has them
        borrowed = cohort_oc(design, scen)
    tied = tuple(h for h in design.model.historical if h.tie is not None)
    indep_model = dataclasses.replace(design.model, kind="independent", historical=tied)
    indep = cohort_oc(dataclasses.replace(design, model=indep_model), scen)
    rows = []
    by_scenario = [cohort_roles(design, s) for s in scen]
    for j, c in enumerate(design.names):
        roles = np.array([r[j] for r in by_scenario])
        pe = borrowed["p_efficacy"].sel(cohort=c).values
        pi = indep["p_efficacy"].sel(cohort=c).values
        null = roles == "null"
        alt = roles == "alternative"
        row: dict[str, Any] = {"cohort": c}
        if null.any():
            i = int(np.argmax(np.where(null, pe, -1.0)))
            row.update(worst_type1=float(pe[i]), worst_type1_scenario=scen[i].name,
                       worst_type1_independent=float(pi[null].max()),
                       type1_inflation=float(pe[i] - pi[null].max()))
        if alt.any():
            row.update(mean_power=float(pe[alt].mean()),
                       mean_power_independent=float(pi[alt].mean()),
                       power_gain=float(pe[alt].mean() - pi[alt].mean()))
        rows.append(row)
    return pd.DataFrame(rows).set_index("cohort")
