"""Analysis of observed data under a borrowing model.

Posteriors by quadrature, the design's decisions at the data, EXNEX exchangeability
probabilities, conflict diagnostics, and the PyMC fit side by side.

Everything is computed for the one data set: its posterior is one quadrature (each
cohort's marginal at its observed r), and what the design's decision lattices would
give at the data — the decision, the integer boundaries of this and the next look,
the predictive probability of final success — needs only points of the *line* of
the lattice through the data along the cohort's own count (r_j varies, the other
cohorts stay at their data), computed with the same kernels
(:func:`adaptive2.kernels.quadrature.lattice` and
:func:`~adaptive2.kernels.quadrature.predictive` at selected outcomes), never the
lattice itself. At the cohort's own size the whole line is computed (the conflict
diagnostic needs it); at other looks the boundaries are searched along the line,
whose statistics rise with r_j (:func:`_search_bounds`, a few rows per round). The
OC engines build the lattices; the analysis reads points of their lines.
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from adaptive2._base.errors import ConvergenceWarning
from adaptive2._base.parallel import side_by_side
from adaptive2._base.provenance import provenance
from adaptive2._base.resources import one_blas_thread, require_memory
from adaptive2.engines import pymc_fit as bayes
from adaptive2.engines.analysis_results import (
    CONTINUE,
    FAILURE,
    LEVEL,
    STOP_EFFICACY,
    STOP_FUTILITY,
    SUCCESS,
    AnalysisResult,
    CohortAnalysis,
)
from adaptive2.engines.analysis_text import _Bounds, _distance, _locate, _next_look, _reason, _warn
from adaptive2.engines.sizes import REMEDY_GRID
from adaptive2.kernels import posterior_summaries, quadrature
from adaptive2.kernels.sizes import analysis_cost
from adaptive2.model.cohorts import _act, _threshold
from adaptive2.model.data import cohort_data
from adaptive2.model.priors import Conflict, prior_predictive_p
from adaptive2.model.rules import Boundary, PredictiveProbability, Rule


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
            row = quadrature.marginal(eng, c.name, n, c.p0, rows=[r])[0]
            others = others * row / max(float(row.max()), 1e-300)
    r, n = rn[j]
    z = []
    for value in (1.0, 0.0):  # the EX and the NEX branch; same grid and per-r scaling
        row = quadrature.marginal(eng, cohorts[j].name, n, cohorts[j].p0, rows=[r], weight=value)
        z.append(float(row[0] @ others))
    ex, nex = w * z[0], (1 - w) * z[1]
    return w, ex / (ex + nex) if ex + nex > 0 else w


def _mask_bounds(mask_f: np.ndarray, mask_e: np.ndarray, n: int, final: bool) -> _Bounds:
    a = int(np.flatnonzero(mask_f).max()) if mask_f.any() else None
    b = int(np.flatnonzero(mask_e).min()) if mask_e.any() else None
    return _Bounds(n, a, b, final, False)


def _line_rows(
    n: Sequence[int], r: Sequence[int], j: int, counts: Sequence[int] | None = None
) -> list[list[int]]:
    """The outcomes of a line: cohort j's ``counts`` (default all of 0..n_j), the others at r."""
    own = list(range(n[j] + 1)) if counts is None else list(counts)
    return [own if i == j else [int(x)] for i, x in enumerate(r)]


def _line_stat(
    design: Any,
    n: tuple[int, ...],
    r: tuple[int, ...],
    j: int,
    rule: Rule,
    counts: Sequence[int] | None = None,
) -> np.ndarray:
    """The statistic ``rule`` of cohort j compares, along the line through r at sizes n.

    The line of the design's lattice statistic (``model.cohorts._lattice_stat``): the
    response count (boundary rules), the predictive probability of final success, or
    P(p_j > p0_j + δ | data), at cohort j's ``counts`` (default 0..n_j) with every
    other cohort at its r.
    """
    c = design.cohorts[j]
    own = list(range(n[j] + 1)) if counts is None else list(counts)
    if isinstance(rule, Boundary):
        return np.asarray(own, dtype=float)
    if isinstance(rule, PredictiveProbability):
        return _line_pp(design, n, r, j, own)
    thr = _threshold(rule, c)
    thresholds = {} if thr == c.p0 else {c.name: thr}
    res = quadrature.lattice(design.model, design.cohorts, n, thresholds=thresholds,
                             grid=design.grid, rows=_line_rows(n, r, j, own), means=False,
                             only=c.name)
    return np.asarray(res.p_above[c.name]).reshape(-1)


def _line_pp(
    design: Any, n: tuple[int, ...], r: tuple[int, ...], j: int, counts: Sequence[int]
) -> np.ndarray:
    """PP_j at cohort j's ``counts`` of n_j, the other cohorts at r (``_predictive_stat``).

    PP_j = Σ_x P(x | data) 1{final rule succeeds at r_j + x of N_j, the others at r},
    with the predictive P(x | data) of the m = N_j − n_j patients to come
    (:func:`adaptive2.kernels.quadrature.predictive` at those outcomes only); see
    :func:`_pp_from`.
    """
    return _pp_from(_Joint(design, r, n), j, n, counts)


def _line_masks(
    design: Any, k: int, n: tuple[int, ...], r: tuple[int, ...], j: int
) -> dict[str, np.ndarray]:
    """Cohort j's decision masks at look k along r_j = 0..n_j, the others at r.

    The line through r of the design's masks (``model.cohorts._decisions``): at
    interim looks ``futility`` and ``efficacy`` (stop), at the last ``efficacy``
    (success) and ``futility`` its complement. Every count is computed: the analysis
    searches the boundaries instead (:func:`_search_bounds`), and the tests check the
    search against these masks (:func:`_mask_bounds`).
    """
    c = design.cohorts[j]
    t = n[j] / c.looks[-1]
    if k == design.n_looks - 1:
        final = cast(Rule, design.rule("final", c.name))
        succ = _act(final, "final", _line_stat(design, n, r, j, final), t, k)
        return {"efficacy": succ, "futility": ~succ}
    fut = np.zeros(n[j] + 1, dtype=bool)
    eff = np.zeros(n[j] + 1, dtype=bool)
    rule = design.rule("futility", c.name)
    if rule is not None:
        fut = _act(rule, "futility", _line_stat(design, n, r, j, rule), t, k)
    rule = design.rule("efficacy", c.name)
    if rule is not None:
        eff = _act(rule, "efficacy", _line_stat(design, n, r, j, rule), t, k) & ~fut
    return {"futility": fut, "efficacy": eff}


class _LineStat:
    """The statistic of one rule of cohort j along its count, the others at r: on demand.

    The values of :func:`_line_stat` (a predictive probability: of :func:`_pp_from`
    with the final rule's line) at the counts asked for, each computed once; the
    counts missing from a request are computed together (one quadrature of those
    rows, :func:`adaptive2.kernels.quadrature.lattice` with ``rows``).
    """

    def __init__(self, joint: _Joint, j: int, n: tuple[int, ...], rule: Rule) -> None:
        self.joint, self.j, self.n, self.rule = joint, j, n, rule
        self.values: dict[int, float] = {}

    def at(self, counts: Sequence[int]) -> np.ndarray:
        """The statistic at cohort j's ``counts``."""
        missing = sorted({int(x) for x in counts} - self.values.keys())
        if missing:
            if isinstance(self.rule, PredictiveProbability):
                got = _pp_from(self.joint, self.j, self.n, missing)
            else:
                got = _line_stat(self.joint.design, self.n, self.joint.r, self.j, self.rule,
                                 missing)
            self.values.update(zip(missing, (float(v) for v in got), strict=True))
        return np.array([self.values[int(x)] for x in counts])


def _pp_from(joint: _Joint, j: int, n: tuple[int, ...], counts: Sequence[int]) -> np.ndarray:
    """PP_j at cohort j's ``counts`` of n_j (the others at their data), as :func:`_line_pp`.

    The final rule's statistic at r_j + x comes from the joint's final line, so the
    predictive probability at the data, a predictive rule's line and the final
    look's boundaries share its values; the final line's rows r..r + m are those of
    the predictive's own quadrature (kept in the memo), so they cost nothing more.
    """
    design = joint.design
    c = design.cohorts[j]
    final = cast(Rule, design.rule("final", c.name))  # never None: a final rule is required
    n_max = c.looks[-1]
    m = n_max - n[j]
    own = np.asarray(counts, dtype=int)
    first = int(own.min())
    n_final = tuple(n_max if i == j else x for i, x in enumerate(n))
    stat = joint.line(j, n_final, final).at(range(first, int(own.max()) + m + 1))
    success = _act(final, "final", stat, 1.0, design.n_looks - 1)
    pmf = quadrature.predictive(design.model, design.cohorts, n, cohort=c.name, m=m,
                                grid=design.grid, rows=_line_rows(n, joint.r, j, counts))
    pmf = np.moveaxis(pmf, j, 0).reshape(len(own), m + 1)
    hits = success[(own - first)[:, None] + np.arange(m + 1)[None, :]]
    return cast(np.ndarray, np.clip((pmf * hits).sum(axis=-1), 0.0, 1.0))


_PROBES = 4
"""Counts evaluated per round of a boundary search (one quadrature of that many rows)."""


def _first_true(
    pred: Callable[[list[int]], np.ndarray], lo: int, hi: int,
    known: dict[int, bool] | None = None,
) -> int | None:
    """The smallest x in lo..hi with ``pred`` true, for a predicate false then true in x.

    ``pred(xs)`` gives the predicate at a list of counts (one batch); ``known`` holds
    values already at hand. Each round evaluates up to :data:`_PROBES` counts spread
    over the open bracket, so a line of n counts takes about log_5(n) rounds.
    """
    a, b = lo - 1, hi + 1  # pred(a) false, pred(b) true (virtual ends)
    for x, v in (known or {}).items():
        if lo <= x <= hi:
            if v:
                b = min(b, x)
            else:
                a = max(a, x)
    while b - a > 1:
        gap = b - a
        k = min(_PROBES, gap - 1)
        probes = sorted({a + max(1, round((i + 1) * gap / (k + 1))) for i in range(k)} - {b})
        for x, v in zip(probes, pred(probes), strict=True):
            if v:
                b = min(b, x)
            else:
                a = max(a, x)
    return b if b <= hi else None


def _search_bounds(joint: _Joint, j: int, k: int, n: tuple[int, ...]) -> _Bounds:
    """Cohort j's integer boundaries at look k and sizes n, the others at their data.

    The bounds of :func:`_line_masks`' masks (futility r <= a, efficacy r >= b; at the
    last look success r >= b), found by searching the monotone statistics along the
    line rather than evaluating every count: counts already computed on the line
    (the current look's full line, the predictive's rows r..r + m at the last look)
    are used first.
    """
    design = joint.design
    c = design.cohorts[j]
    size = n[j]
    t = size / c.looks[-1]

    def acting(slot: str, rule: Rule) -> tuple[Callable[[list[int]], np.ndarray], dict[int, bool]]:
        line = joint.line(j, n, rule)

        def pred(xs: list[int]) -> np.ndarray:
            return np.asarray(_act(rule, slot, line.at(xs), t, k), dtype=bool)

        at_hand = list(line.values)
        return pred, dict(zip(at_hand, map(bool, pred(at_hand)), strict=True)) if at_hand else {}

    if k == design.n_looks - 1:
        pred, known = acting("final", cast(Rule, design.rule("final", c.name)))
        first = _first_true(pred, 0, size, known)
        fails = size if first is None else first - 1
        return _Bounds(size, None if fails < 0 else fails, first, True, False)
    a: int | None = None
    rule = design.rule("futility", c.name)
    if rule is not None:
        fut, known = acting("futility", rule)
        not_fut = _first_true(lambda xs: ~fut(xs), 0, size, {x: not v for x, v in known.items()})
        a = size if not_fut is None else (None if not_fut == 0 else not_fut - 1)
    b: int | None = None
    rule = design.rule("efficacy", c.name)
    if rule is not None:
        eff, known = acting("efficacy", rule)
        b_raw = _first_true(eff, 0, size, known)
        if b_raw is not None and max(b_raw, 0 if a is None else a + 1) <= size:
            b = max(b_raw, 0 if a is None else a + 1)
    return _Bounds(size, a, b, False, False)


@dataclass(frozen=True)
class _Joint:
    """The observed data of every cohort of a multi-cohort design (and its lines' values)."""

    design: Any
    r: tuple[int, ...]
    n: tuple[int, ...]
    lines: dict[tuple[Any, ...], _LineStat] = dataclasses.field(
        default_factory=dict, compare=False, repr=False
    )

    def line(self, j: int, n: tuple[int, ...], rule: Rule) -> _LineStat:
        """The statistic of ``rule`` along cohort j's count at sizes n (one per statistic)."""
        c = self.design.cohorts[j]
        what: tuple[Any, ...]
        if isinstance(rule, Boundary):
            what = ("count",)
        elif isinstance(rule, PredictiveProbability):
            what = ("pp",)
        else:
            what = ("p_above", _threshold(rule, c))
        key = (j, n, *what)
        if key not in self.lines:
            self.lines[key] = _LineStat(self, j, n, rule)
        return self.lines[key]

    def bounds(self, j: int, k: int, n_j: int) -> _Bounds:
        """Cohort j's integer boundaries at look k with n_j patients, the others at their data.

        At the cohort's own size the whole line is computed first (the conflict
        diagnostic's predictive needs the same rows, kept in the memo); elsewhere the
        boundaries are searched (:func:`_search_bounds`).
        """
        sizes = tuple(n_j if i == j else x for i, x in enumerate(self.n))
        if n_j == self.n[j]:
            c = self.design.cohorts[j]
            slots = ("final",) if k == self.design.n_looks - 1 else ("futility", "efficacy")
            for slot in slots:
                rule = self.design.rule(slot, c.name)
                if rule is not None:
                    self.line(j, sizes, rule).at(range(n_j + 1))
        return _search_bounds(self, j, k, sizes)

    def acts(self, j: int, k: int, r_j: int) -> tuple[bool, bool]:
        """(futility, efficacy) of cohort j's rules at look k, at r_j of its current size.

        Read from the statistics at r_j themselves (as :func:`_line_masks` decides),
        not from the boundaries: the decision never rests on the search.
        """
        c = self.design.cohorts[j]
        sizes = self.n
        t = sizes[j] / c.looks[-1]

        def act(slot: str, rule: Rule) -> bool:
            return bool(_act(rule, slot, self.line(j, sizes, rule).at([r_j]), t, k)[0])

        if k == self.design.n_looks - 1:
            success = act("final", cast(Rule, self.design.rule("final", c.name)))
            return not success, success
        rule = self.design.rule("futility", c.name)
        fut = rule is not None and act("futility", rule)
        rule = self.design.rule("efficacy", c.name)
        eff = rule is not None and act("efficacy", rule) and not fut
        return fut, eff


def _multi_decision(joint: _Joint, j: int, k: int | None) -> tuple[str, _Bounds | None]:
    if k is None:
        return CONTINUE, None
    bd = joint.bounds(j, k, joint.n[j])
    fut, eff = joint.acts(j, k, joint.r[j])
    if bd.final:
        return (SUCCESS if eff else FAILURE), bd
    return (STOP_FUTILITY if fut else (STOP_EFFICACY if eff else CONTINUE)), bd


def _multi_conflict(joint: _Joint, j: int) -> Conflict:
    """Predictive of cohort j's count given the model, the strata and the other cohorts."""
    design = joint.design
    n_without = tuple(0 if i == j else x for i, x in enumerate(joint.n))
    r_without = tuple(0 if i == j else x for i, x in enumerate(joint.r))
    pmf = quadrature.predictive(design.model, design.cohorts, n_without, cohort=design.names[j],
                                m=joint.n[j], grid=design.grid,
                                rows=[[x] for x in r_without]).reshape(-1)
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
            nl = _next_look(r, n, k_next, joint.bounds(j, k_next, c.looks[k_next]))
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
    # the posterior at the data, and the lines of the decision lattices through it
    cost = analysis_cost(design, [n for _, n in rn])
    counts = ", ".join(f"{r}/{n}" for r, n in rn)
    require_memory(cost.nbytes, f"the analysis of {len(rn)}-cohort design "
                   f"{design.name!r} (data {counts})", REMEDY_GRID, seconds=cost.seconds)
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
    with one_blas_thread():  # a few rows times the kernels: see one_blas_thread
        # each cohort's row at the data (at p0 and p1; kept in the memo), side by side:
        # the posterior summaries and every line read them
        eng = quadrature.engine(design.model, design.cohorts, design.grid)

        def rows_at_data(j: int) -> None:
            if j == 0:  # the node weights the densities read, while the first cohort's
                eng.band_weights()  # row sets up the terms every cohort shares
                return
            c = design.cohorts[j - 1]
            quadrature.warm_rows(eng, c.name, joint.n[j - 1], [joint.r[j - 1]],
                                 (c.p0, c.p0 if c.p1 is None else c.p1))

        side_by_side(rows_at_data, len(design.cohorts) + 1)
        by_name = dict(zip(design.names, rn, strict=True))
        summ = posterior_summaries.posterior(design.model, design.cohorts, by_name,
                                             level=LEVEL, grid=design.grid)
        p1s = {c.name: c.p1 for c in design.cohorts if c.p1 is not None}
        above_p1 = {}
        if p1s:
            above_p1 = posterior_summaries.p_above(design.model, design.cohorts, by_name, p1s,
                                                   grid=design.grid)

        def cohort(j: int) -> CohortAnalysis:
            c = design.cohorts[j]
            pp = float(_pp_from(joint, j, joint.n, [joint.r[j]])[0])
            return _multi_cohort(joint, j, located[j], summ[c.name], above_p1.get(c.name), pp,
                                 latest)

        results = side_by_side(cohort, len(design.cohorts))
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
    p_lower, p_upper, p_box = prior_predictive_p(pmf, r)
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
    b = joint.bounds(j, design.n_looks - 1, n_max).b
    success = np.arange(r, r + n_max - n + 1) >= (n_max + 1 if b is None else b)
    pp = float(np.clip(np.sum(pmf * success), 0.0, 1.0))
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
            "seed_entropy": str(
                idata.posterior.attrs.get("seed_entropy", "")
            ),
            "draws": opts["draws"],
            "tune": opts["tune"],
            "chains": opts["chains"],
        }
    )
    return idata, diagnostics, extra
