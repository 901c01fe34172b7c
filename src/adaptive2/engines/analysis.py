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

Toxicity co-monitoring
----------------------
A single-cohort design with a toxicity monitor (``design.toxicity``) also
analyses toxicity data (``toxicity=(events, n)``, or ``"tox=events/n"`` in the
data string): the posterior of the event rate under the monitor's Beta prior
(mean, 95% interval, P(rate > limit | data)) and the monitor's decision at the
last monitoring point passed, against its integer boundary. Toxicity data
between monitoring points are analysed like efficacy data between looks: the
rule of the last point passed is applied to all ``n`` patients (its boundary
recomputed at ``n``), with a
:class:`~adaptive2._base.errors.StatisticalWarning` that says so; data before
the first point continue (with a warning). The toxicity ``n`` may differ from
the efficacy ``n`` (toxicity is usually known sooner) but not exceed the
design's maximum N. Stopping for toxicity ends the trial whatever the
efficacy decision, which is reported unchanged.
"""

from __future__ import annotations

import re
import types
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, cast

import numpy as np

from adaptive2._base.errors import DesignError, StatisticalWarning
from adaptive2._base.provenance import provenance
from adaptive2._base.validation import check_choice, fail
from adaptive2.engines.analysis_multi import _analyze_multi
from adaptive2.engines.analysis_results import (
    _OWNER,
    CONTINUE,
    ENGINES,
    LEVEL,
    STOP_TOXICITY,
    AnalysisResult,
    CohortAnalysis,
    ToxicityAnalysis,
)
from adaptive2.engines.analysis_text import (
    _Bounds,
    _decide,
    _distance,
    _locate,
    _next_look,
    _reason,
    _toxicity_distance,
    _toxicity_reason,
    _warn,
)
from adaptive2.kernels.toxicity import (
    nominal_levels,
    pocock_boundary,
    posterior_boundary,
    posterior_exceeds,
)
from adaptive2.model.cohorts import CohortDesign
from adaptive2.model.data import SINGLE_COHORT_NAME, data_pair
from adaptive2.model.designs import Design
from adaptive2.model.priors import Beta, as_mixture, conflict
from adaptive2.model.rules import posterior_prob_exceeds, predictive_success
from adaptive2.model.toxicity import ToxicityMonitor

__all__ = ["analyze", "parse_data"]

#: The toxicity data inside a data string: ``tox=events/n`` (a separate token).
_TOX_TOKEN = re.compile(r"(?<![^\s,])tox\s*=\s*([^\s,]*)")
_TOX_FIELD = "toxicity"  # the keyword of analyze; tox= in a data string


# ---------------------------------------------------------------------------
# Public function
# ---------------------------------------------------------------------------
def analyze(
    design: Any,
    data: Any,
    *,
    toxicity: Any = None,
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
        (r, n) or ``"r/n"``; cohorts left out have no data yet (0/0). The
        string may carry the toxicity data as a second token,
        ``"7/15 tox=2/15"`` (a mapping: the key ``"tox"``), as
        :func:`parse_data` returns them.
    toxicity : (events, n) or "events/n", optional
        Toxicity data of a single-cohort design with a toxicity monitor
        (``design.toxicity``): patients with the monitored event among those
        evaluated for it (see the module docstring). Give it here or in
        ``data``, not both; an error for a design without a monitor.
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
        is named ``"cohort"``) and, with toxicity data, a
        :class:`~adaptive2.engines.analysis_results.ToxicityAnalysis` as
        ``result.toxicity``; ``to_dict()``, ``to_frame()``, ``str()`` and an
        HTML card.

    Raises
    ------
    DesignError
        For r > n, negative counts, n beyond the final look, an unknown cohort
        name, a look out of range or inconsistent with the data, or an unknown
        engine; toxicity data that are malformed, have more events than
        patients or more patients than the design's maximum N, or are given
        for a design without a toxicity monitor. The message names the value
        and the allowed ones.

    Warns
    -----
    StatisticalWarning
        Data between looks or before the first look, toxicity data between
        monitoring points or before the first, or a cohort of a multi-cohort
        design reported as stopped at an earlier look than another cohort's
        (see the module docstring).
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

    With a toxicity monitor (stop if P(rate > 0.3 | data) > 0.8, checked at 10
    and 20 patients):

    >>> from adaptive2.model.toxicity import ToxicityMonitor
    >>> tox = ToxicityMonitor(event="DLT", limit=0.3, acceptable=0.1, rule="posterior",
    ...                       cutoff=0.8, monitor=(10, 20))
    >>> res = analyze(d.replace(toxicity=tox), "3/10 tox=5/10")
    >>> res.toxicity.decision, res.toxicity.boundary
    ('stop enrolment for toxicity', 5)
    """
    engine = check_choice(engine, "engine", _OWNER, ENGINES)
    data, tox = _split_toxicity(design, data, toxicity)
    if isinstance(design, Design):
        if engine == "pymc":
            raise fail(
                "engine",
                _OWNER,
                "'quadrature' for a single-cohort design (its posterior is exact, "
                "conjugate; NUTS is for borrowing models)",
                engine,
            )
        return _analyze_single(design, data, look, tox)

    if not isinstance(design, CohortDesign):
        raise fail("design", _OWNER, "a Design or CohortDesign", type(design).__name__)
    if tox is not None:
        raise fail(
            _TOX_FIELD,
            _OWNER,
            "None for a multi-cohort design (toxicity data are analysed for single-cohort "
            "designs; give each cohort's own design)",
            tox,
        )
    pymc_opts = {"seed": seed, "draws": draws, "tune": tune, "chains": chains}
    return _analyze_multi(design, data, look, engine, pymc_opts)


def parse_data(text: str) -> str | dict[str, str]:
    """Parse the CLI's ``--data``: ``"12/20"`` or ``"frontline=12/20,post_io=3/18"``.

    Toxicity data come as one more token, ``tox=events/n``, after a space or a
    comma (``"7/15 tox=2/15"``; ``tox`` is therefore no cohort name here).

    Returns
    -------
    str or dict
        The string ``"r/n"`` (``"r/n tox=events/n"`` with toxicity data) or a
        mapping name → ``"r/n"`` (with the key ``"tox"`` for toxicity data),
        validated by :func:`analyze`.

    Examples
    --------
    >>> parse_data("7/15, tox=2/15")
    '7/15 tox=2/15'
    >>> parse_data("frontline=12/20,post_io=3/18")
    {'frontline': '12/20', 'post_io': '3/18'}
    """
    if not isinstance(text, str) or not text.strip():
        raise fail("data", _OWNER, "r/n or NAME=r/n,NAME=r/n", text)
    tox, text = _tox_token(text)
    if tox is not None:
        if not text.strip(" ,"):
            raise fail("data", _OWNER, "the responses r/n as well as tox=events/n", text)
        parsed = parse_data(text)
        if isinstance(parsed, str):
            return f"{parsed} tox={tox}"
        return {**parsed, "tox": tox}
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


def _tox_token(text: str) -> tuple[str | None, str]:
    """The ``tox=...`` token of a data string, and the string without it."""
    found = _TOX_TOKEN.findall(text)
    if len(found) > 1:
        raise fail("data", _OWNER, "at most one tox=events/n", text)
    if not found:
        return None, text
    return found[0], _TOX_TOKEN.sub(" ", text).strip()


def _split_toxicity(design: Any, data: Any, toxicity: Any) -> tuple[Any, Any]:
    """The efficacy data and the toxicity data (``toxicity=``, or inside ``data``)."""
    embedded = None
    if isinstance(data, str):
        embedded, data = _tox_token(data)
    elif isinstance(data, Mapping) and "tox" in data and not (
        isinstance(design, CohortDesign) and "tox" in design.names
    ):
        embedded = data["tox"]
        data = {k: v for k, v in data.items() if k != "tox"}
    if embedded is not None and toxicity is not None:
        raise fail(
            _TOX_FIELD,
            _OWNER,
            "given once: as `toxicity=` or as tox=events/n in `data`, not both",
            toxicity,
        )
    return data, (toxicity if toxicity is not None else embedded)


# ---------------------------------------------------------------------------
# Single-cohort designs
# ---------------------------------------------------------------------------
def _design_p0(design: Design) -> float | Beta | None:
    if design.p0 is not None:
        return design.p0
    for rule in (design.final, design.futility, design.efficacy):
        p0 = getattr(rule, "p0", None)
        if p0 is not None:
            return cast("float | Beta", p0)
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


def _analyze_single(
    design: Design, data: Any, look: int | None, tox: Any = None
) -> AnalysisResult:

    monitor = getattr(design, "toxicity", None)
    if tox is not None and not isinstance(monitor, ToxicityMonitor):
        raise DesignError(
            f"toxicity data (tox={_tox_text(tox)}) need a design with a toxicity monitor, but "
            f"`toxicity` of Design {design.name!r} is not set: add a [toxicity] table to the "
            "design file, or leave the toxicity data out."
        )
    r, n = _single_data(design, data)
    sink: list[str] = []
    k, message = _locate(design.looks, n, look, SINGLE_COHORT_NAME)
    if message:
        _warn(message, sink)
    prior = design.prior
    post = prior.update(r, n)
    p0 = _design_p0(design)
    p1 = design.p1

    def p_above(t: float | Beta | None) -> float | None:
        return None if t is None else float(posterior_prob_exceeds(prior, [r], n, t)[0])

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
    tox_result = None
    if tox is not None:
        assert isinstance(monitor, ToxicityMonitor)
        tox_result = _analyze_toxicity(monitor, tox, design.n_max, sink)
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
        toxicity=tox_result,
    )


# ---------------------------------------------------------------------------
# Toxicity co-monitoring
# ---------------------------------------------------------------------------
def _tox_text(value: Any) -> str:
    if isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 2:
        return f"{value[0]}/{value[1]}"
    return str(value)


def _toxicity_pair(value: Any, n_max: int) -> tuple[int, int]:
    """(events, n) from a pair or "events/n", each count checked."""

    def bad(allowed: str, got: Any) -> DesignError:
        return DesignError(
            f"`{_TOX_FIELD}` of {_OWNER} (tox= in the data) must be {allowed}; got {got!r}."
        )

    shape = "a pair (events, n) or the string 'events/n' of whole numbers, e.g. tox=2/15"
    parts: Any = value.split("/") if isinstance(value, str) else value
    if isinstance(parts, Mapping | bytes | str) or not isinstance(parts, Sequence) or (
        len(parts) != 2
    ):
        raise bad(shape, value)
    try:
        events, n = (_whole(x) for x in parts)
    except (TypeError, ValueError):
        raise bad(shape, value) from None
    if events < 0 or n < 0:
        raise bad("non-negative counts", f"{events}/{n}")
    if events > n:
        raise bad("counts with events <= n (patients with the event among those evaluated)",
                  f"{events}/{n}")
    if n > n_max:
        raise bad(f"counts with n <= {n_max} (the design's maximum N)", f"{events}/{n}")
    return events, n


def _whole(x: Any) -> int:
    """A whole number from an int, an integral float or a string of digits."""
    if isinstance(x, str):
        return int(x.strip())
    if isinstance(x, bool) or not isinstance(x, int | float | np.integer | np.floating):
        raise TypeError
    if not float(x).is_integer():
        raise ValueError
    return int(x)


def _boundary_at(monitor: ToxicityMonitor, j: int, n: int) -> int:
    """Smallest stopping count of monitoring point ``j``'s rule applied to ``n`` patients."""
    if n == monitor.monitor[j]:
        return monitor.boundaries()[j]
    if monitor.rule == "posterior":
        a, b = monitor.prior
        return int(posterior_boundary([n], monitor.limit, cast(float, monitor.cutoff), a, b)[0])
    eta = cast(float, monitor.nominal_level)
    level = float(nominal_levels(eta, monitor.monitor, monitor.shape)[j])
    return int(pocock_boundary([n], monitor.acceptable, level)[0])


def _analyze_toxicity(
    monitor: ToxicityMonitor, value: Any, n_max: int, sink: list[str]
) -> ToxicityAnalysis:
    """The toxicity monitor's posterior and decision for ``value`` = (events, n)."""
    t, n = _toxicity_pair(value, n_max)
    a, b = monitor.prior
    post = Beta(a + t, b + n - t)
    lo, hi = post.interval(LEVEL)
    points, counts = monitor.monitor, monitor.boundaries()
    passed = [j for j, m in enumerate(points) if m <= n]
    j = passed[-1] if passed else None
    if j is None:
        _warn(
            f"toxicity data: n = {n} is before the first monitoring point (n = {points[0]}); "
            "no toxicity check is due yet, so the toxicity decision is 'continue'.",
            sink,
        )
        first = counts[0] if counts[0] <= points[0] else None
        stops = False
        reason = _toxicity_reason(t, n, first, None, points[0], stops)
        boundary = boundary_n = None
    else:
        m = points[j]
        c = _boundary_at(monitor, j, n)
        boundary = c if c <= n else None
        boundary_n = n
        if n != m:
            after = (
                f"monitoring point {j + 2} (n = {points[j + 1]})"
                if j + 1 < len(points)
                else "no later monitoring point"
            )
            _warn(
                f"toxicity data: n = {n} lies between monitoring point {j + 1} (n = {m}) and "
                f"{after}; analysed against point {j + 1}, whose rule is applied to all "
                f"{n} patients (boundary: stop if {c} or more events).",
                sink,
            )
        stops = boundary is not None and t >= boundary
        reason = _toxicity_reason(t, n, boundary, j + 1, m, stops)
    k = 0 if j is None else j + 1
    next_check = None
    if k < len(points):
        c_next = counts[k] if counts[k] <= points[k] else None
        next_check = {
            "check": k + 1,
            "n": points[k],
            "boundary": c_next,
            "events_to_stop": None if c_next is None else max(c_next - t, 0),
        }
        distance = _toxicity_distance(t, n, k + 1, points[k], c_next)
    else:
        distance = _toxicity_distance(t, n, None, None, None)
    if stops:
        distance = (
            f"the monitor stops enrolment at this point; were the trial to continue: {distance}"
        )
    return ToxicityAnalysis(
        event=monitor.event,
        events=t,
        n=n,
        limit=monitor.limit,
        prior=(a, b),
        rule=monitor.rule,
        check=None if j is None else j + 1,
        n_check=None if j is None else points[j],
        boundary=boundary,
        boundary_n=boundary_n,
        posterior_mean=float(post.mean),
        interval=(float(lo), float(hi)),
        p_above_limit=float(posterior_exceeds(t, n, monitor.limit, a, b)),
        decision=STOP_TOXICITY if stops else CONTINUE,
        reason=reason,
        distance=distance,
        next_check=next_check,
    )
