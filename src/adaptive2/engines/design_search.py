"""Simon-style searches over a family of Bayesian designs, and the Pareto front.

:func:`design_search` calibrates every design of a family (predictive,
posterior or BOP2 rules) over sample sizes and look schedules to α and power
exactly, and marks the optimal, minimax, admissible and Pareto-optimal ones;
:func:`pareto` classifies any list of designs the same way.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from adaptive2._base.errors import CalibrationError, DesignError
from adaptive2._base.resources import require_memory
from adaptive2._base.validation import check_probability, fail
from adaptive2.engines.calibration import NULL_GRID, calibrate, calibrate_bop2, worst_case_alpha
from adaptive2.engines.sizes import (
    REMEDY_CALIBRATE,
    REMEDY_SEARCH,
    calibration_cost,
    single_oc_cost,
)
from adaptive2.kernels.binomial import stop_probabilities
from adaptive2.kernels.sizes import Cost
from adaptive2.model.designs import Design
from adaptive2.model.priors import Beta, Prior, PriorSpec
from adaptive2.model.rules import (
    BOP2,
    PosteriorProbability,
    PredictiveProbability,
)

if TYPE_CHECKING:  # pragma: no cover

    from adaptive2.engines.calibration import CalibrationResult

from adaptive2.engines.search import (
    _TOL,
    SearchResult,
    _finish,
    _looks_text,
    _n_values_iv,
    _prior_iv,
    _rates_iv,
    _schedules_iv,
)

__all__ = ["design_search", "pareto"]


# ---------------------------------------------------------------------------
# Simon-style search over a rule family
# ---------------------------------------------------------------------------
_FAMILIES = ("predictive", "posterior", "bop2")


_CALIBRATE_KEYS = ("within",)


_BOP2_KEYS = ("lambdas", "gammas", "etas")


def design_search(
    family: str | Design,
    p0: float,
    p1: float,
    *,
    alpha: float,
    power: float,
    n_values: Iterable[int],
    look_schedules: Iterable[int | Sequence[float]] = (2, 3, 4),
    prior: Prior | PriorSpec | None = None,
    parameter: str | None = None,
    calibration: Mapping[str, Any] | None = None,
) -> SearchResult:
    """Simon-style search for Bayesian designs of one rule family.

    For every maximum sample size in ``n_values`` and every look schedule, the
    family's tuning parameter is calibrated so that the worst-case type I error
    is at most ``alpha`` with the largest power
    (:func:`adaptive2.engines.calibration.calibrate`); designs whose power also reaches
    ``power`` are listed, and the optimal, minimax, admissible and Pareto
    designs marked (see :class:`SearchResult`).

    Parameters
    ----------
    family : {"predictive", "posterior", "bop2"} or Design
        Rule family, with prior Beta(p0, 1 − p0) unless ``prior`` is given:

        * ``"predictive"``: futility if PP(final success) < 0.05 (Lee & Liu),
          final success if P(p > p0 | data) > cutoff; the cutoff is tuned;
        * ``"posterior"``: futility if P(p > p0 | data) ≤ 0.05, same final
          rule; the cutoff is tuned;
        * ``"bop2"``: BOP2 futility 1 − λ (n/N)^γ with final success if
          P(p > p0 | data) > λ; (λ, γ) tuned by
          :func:`~adaptive2.engines.calibration.calibrate_bop2`;
        * a template Design: its rules and prior are kept, its looks replaced.
          The tuned parameter is ``parameter`` (default ``"final.cutoff"``, or
          BOP2's grid search when the futility rule is BOP2).
    p0, p1 : float
        Null and target response rates.
    alpha, power : float
        Error targets.
    n_values : iterable of int
        Maximum sample sizes N.
    look_schedules : iterable of int or sequence of float
        An integer k: k equally spaced looks (round(j N / k), j = 1..k; k = 1
        is a single-stage design). A sequence of fractions in (0, 1] ending
        at 1: looks at round(f N). Schedules giving repeated looks are skipped.
    prior : Beta, BetaMixture or PriorSpec, optional
        Prior for the string families (ignored for a template Design).
    parameter : str, optional
        Tuned parameter, see :func:`adaptive2.engines.calibration.set_parameter`.
    calibration : mapping, optional
        Extra keyword arguments for the calibration functions: ``within`` for
        :func:`~adaptive2.engines.calibration.calibrate`; ``lambdas``, ``gammas`` and
        ``etas`` for :func:`~adaptive2.engines.calibration.calibrate_bop2` (each is
        passed only to the function that takes it).

    Returns
    -------
    SearchResult
        ``table`` has one row per (N, schedule) meeting both targets, with the
        calibrated ``parameters``, the worst-case ``alpha``, ``power``,
        ``expected_n_p0`` and ``pet_p0``.

    Examples
    --------
    >>> res = design_search("predictive", 0.2, 0.4, alpha=0.1, power=0.8,
    ...                     n_values=range(24, 31, 2), look_schedules=[2])
    >>> res.minimax.n_max, res.minimax.looks
    (28, (14, 28))
    >>> res.minimax.parameters
    {'final.cutoff': 0.9}
    """
    owner = "design_search"
    p0f, p1f = _rates_iv(p0, p1, owner)
    alpha = check_probability(alpha, "alpha", owner)
    power = check_probability(power, "power", owner)
    ns = _n_values_iv(n_values, owner)
    schedules = _schedules_iv(look_schedules, owner)
    template = _template(family, p0f, p1f, prior, owner)
    if calibration is not None and not isinstance(calibration, Mapping):
        raise fail("calibration", owner, "a mapping of keyword arguments or None", calibration)
    extra = dict(calibration or {})
    unknown = sorted(set(extra) - set(_CALIBRATE_KEYS) - set(_BOP2_KEYS))
    if unknown:
        allowed = "a mapping with keys among {'within', 'lambdas', 'gammas', 'etas'}"
        raise fail("calibration", owner, allowed, dict(calibration or {}))
    if parameter is not None and not isinstance(parameter, str):
        raise fail("parameter", owner, "a parameter name such as 'final.cutoff'", parameter)
    family_name = family if isinstance(family, str) else template.name
    bop2 = parameter is None and isinstance(template.futility, BOP2)
    cost = Cost()
    for n_max in ns:
        for sched in schedules:
            looks = _schedule_looks(sched, n_max)
            if looks is not None:
                cost = cost.then(calibration_cost(
                    template, designs=441 if bop2 else 250, tables=441 if bop2 else 50,
                    n_rates=NULL_GRID + 2, looks=looks))
    require_memory(cost.nbytes,
                   f"the {family_name} design search over N = {ns[0]}..{ns[-1]} patients",
                   REMEDY_SEARCH, seconds=cost.seconds)

    records: list[dict[str, Any]] = []
    designs: dict[int, Design] = {}
    n_evaluated = 0
    skipped: list[str] = []
    best: tuple[float, str] = (-1.0, "")
    for n_max in ns:
        for sched in schedules:
            looks = _schedule_looks(sched, n_max)
            label = _schedule_label(sched)
            if looks is None:
                continue
            try:
                cand = _with_looks(template, looks, f"{family_name}-N{n_max}-{label}", p0f, p1f)
                res = _calibrate_one(
                    cand, parameter, alpha, power, p0f, p1f, extra, calibrate, calibrate_bop2
                )
            except (CalibrationError, DesignError) as exc:
                skipped.append(f"N = {n_max}, {label}: {exc}")
                continue
            n_evaluated += 1
            if res.alpha <= alpha + _TOL and res.power > best[0]:
                best = (res.power, f"N = {n_max}, looks = {_looks_text(looks)}")
            if not res.feasible:
                continue
            design = res.design
            bnd = design.boundaries()
            n_arr, a_arr, b_arr = bnd.arrays()
            stop0 = stop_probabilities(n_arr, a_arr, b_arr, [p0f])[0]
            p_n0 = stop0.sum(axis=-1)
            rec = {
                "n_max": n_max,
                "looks": tuple(int(x) for x in n_arr),
                "n_looks": len(n_arr),
                "schedule": label,
                "family": family_name,
                "parameters": dict(res.parameters),
                "alpha": float(res.alpha),
                "worst_case_p": float(res.worst_case_p),
                "power": float(res.power),
                "expected_n_p0": float(p_n0 @ n_arr),
                "pet_p0": float(p_n0[:-1].sum()),
                "_name": design.name,
                "_bnd": bnd,
            }
            designs[id(rec)] = design
            records.append(rec)
    if records:
        message = (
            f"{len(records)} of {n_evaluated} calibrated designs meet alpha <= {alpha:g} and "
            f"power >= {power:g}"
        )
    elif best[1]:
        message = (
            f"no design meets power >= {power:g}: the most powerful calibrated design with "
            f"alpha <= {alpha:g} has power {best[0]:.4f} ({best[1]})"
        )
    else:
        message = f"no design meets alpha <= {alpha:g} for the sizes and schedules given"
    if skipped:
        message += f"; {len(skipped)} (N, schedule) pairs could not be calibrated ({skipped[0]})"
    cfg = {
        "p0": p0f,
        "p1": p1f,
        "alpha": alpha,
        "power": power,
        "settings": {
            "family": family_name,
            "prior": str(template.prior),
            "n_values": list(ns),
            "look_schedules": [s if isinstance(s, int) else list(s) for s in schedules],
            "parameter": parameter,
            "rules": template.describe().splitlines()[2:],
            "type1": "worst case of P(efficacy) over p <= p0",
        },
    }
    return _finish(
        "design_search",
        records,
        cfg,
        criterion="expected_n",
        message=message,
        n_evaluated=n_evaluated,
        make_builder=lambda rec: _constant(designs[id(rec)]),
        parameters_of=lambda rec: dict(rec["parameters"]),
        name_of=lambda rec: rec["_name"],
        n_top=max(ns),
    )


def _calibrate_one(
    design: Design,
    parameter: str | None,
    alpha: float,
    power: float,
    p0: float,
    p1: float,
    extra: dict[str, Any],
    calibrate: Callable[..., CalibrationResult],
    calibrate_bop2: Callable[..., CalibrationResult],
) -> CalibrationResult:
    if parameter is None and isinstance(design.futility, BOP2):
        kw = {k: v for k, v in extra.items() if k in _BOP2_KEYS}
        return calibrate_bop2(design, alpha=alpha, power=power, p0=p0, p1=p1, **kw)
    if parameter is None:
        parameter = "final.lambda" if isinstance(design.final, BOP2) else "final.cutoff"
    kw = {k: v for k, v in extra.items() if k in _CALIBRATE_KEYS}
    return calibrate(design, parameter, alpha=alpha, power=power, p0=p0, p1=p1, **kw)


def _constant(design: Design) -> Callable[[], Design]:
    return functools.partial(_identity, design)


def _identity(design: Design) -> Design:
    return design


def _template(family: Any, p0: float, p1: float, prior: Any, owner: str) -> Design:
    if isinstance(family, Design):
        return family
    if not isinstance(family, str) or family not in _FAMILIES:
        allowed = "one of {" + ", ".join(repr(f) for f in _FAMILIES) + "} or a template Design"
        raise fail("family", owner, allowed, family)
    prior_arg, _ = _prior_iv(prior, p0, owner)
    final: PosteriorProbability | BOP2 = PosteriorProbability(p0=p0, cutoff=0.9)
    futility: Any
    if family == "predictive":
        futility = PredictiveProbability(threshold=0.05)
    elif family == "posterior":
        futility = PosteriorProbability(p0=p0, cutoff=0.05)
    else:
        futility = BOP2(p0=p0, lambda_=0.9, gamma=1.0)
        final = BOP2(p0=p0, lambda_=0.9)
    return Design(
        name=family,
        prior=prior_arg,
        looks=(1, 2),
        futility=futility,
        final=final,
        p0=p0,
        p1=p1,
    )


def _with_looks(
    template: Design, looks: tuple[int, ...], name: str, p0: float, p1: float
) -> Design:
    changes: dict[str, Any] = {"looks": looks, "name": name, "p0": p0, "p1": p1}
    if len(looks) == 1:
        changes["futility"] = None
        changes["efficacy"] = None
    return template.replace(**changes)


def _schedule_looks(sched: int | tuple[float, ...], n_max: int) -> tuple[int, ...] | None:
    if isinstance(sched, int):
        fr = [j / sched for j in range(1, sched + 1)]
    else:
        fr = list(sched)
    looks = [math.floor(f * n_max + 0.5) for f in fr]
    looks[-1] = n_max
    if looks[0] < 1 or any(b <= a for a, b in itertools.pairwise(looks)):
        return None
    return tuple(looks)


def _schedule_label(sched: int | tuple[float, ...]) -> str:
    if isinstance(sched, int):
        return f"{sched} equal" if sched > 1 else "single"
    return "at " + "/".join(f"{f:g}" for f in sched)


# ---------------------------------------------------------------------------
# Classify a list of designs you already have
# ---------------------------------------------------------------------------
def pareto(
    designs: Iterable[Design],
    *,
    p0: float | None = None,
    p1: float | None = None,
    alpha: float | None = None,
    power: float | None = None,
) -> SearchResult:
    """Exact figures, optimal / minimax / admissible flags and Pareto front of given designs.

    Parameters
    ----------
    designs : iterable of Design
        Candidate designs (any rules, any looks).
    p0, p1 : float, optional
        Null and target rates; default the designs' planning values (which
        must then agree).
    alpha, power : float, optional
        If given, only designs meeting the target(s) are listed.

    Returns
    -------
    SearchResult
        Type I error is the worst case over p ≤ p0
        (:func:`adaptive2.engines.calibration.worst_case_alpha`).

    Examples
    --------
    >>> from adaptive2 import Beta, PosteriorProbability, PredictiveProbability
    >>> base = Design(name="a", prior=Beta(0.2, 0.8), looks=(15, 30),
    ...               futility=PredictiveProbability(0.05),
    ...               final=PosteriorProbability(p0=0.2, cutoff=0.9))
    >>> res = pareto([base, base.replace(name="b", looks=(10, 20, 30))], p0=0.2, p1=0.4)
    >>> res.optimal.name
    'b'
    """
    owner = "pareto"
    items: list[Design] = list(designs) if not isinstance(designs, Design) else [designs]
    if not items or not all(isinstance(d, Design) for d in items):
        raise fail("designs", owner, "a non-empty list of Design objects", designs)
    names = [d.name for d in items]
    if len(set(names)) != len(names):
        raise fail("designs", owner, "designs with distinct names", names)
    p0f = _planning_value(items, p0, "p0", owner)
    p1f = _planning_value(items, p1, "p1", owner)
    p0f, p1f = _rates_iv(p0f, p1f, owner)
    if alpha is not None:
        alpha = check_probability(alpha, "alpha", owner)
    if power is not None:
        power = check_probability(power, "power", owner)
    cost = Cost()
    for d in items:
        cost = cost.then(single_oc_cost(d, NULL_GRID + 2))
    big = max(items, key=lambda d: d.n_max)
    require_memory(cost.nbytes, f"the exact figures of {len(items)} designs (up to {big.n_max} "
                   "patients)", REMEDY_CALIBRATE, seconds=cost.seconds)
    records: list[dict[str, Any]] = []
    by_id: dict[int, Design] = {}
    for d in items:
        bnd = d.boundaries()
        n_arr, a_arr, b_arr = bnd.arrays()
        stop = stop_probabilities(n_arr, a_arr, b_arr, [p0f, p1f])
        a_wc, p_wc = worst_case_alpha(d, p0f)
        p_n0 = stop[0].sum(axis=-1)
        pw = float(stop[1, :, 1].sum())
        if alpha is not None and a_wc > alpha + _TOL:
            continue
        if power is not None and pw < power - _TOL:
            continue
        rec = {
            "n_max": int(n_arr[-1]),
            "looks": tuple(int(x) for x in n_arr),
            "n_looks": len(n_arr),
            "name": d.name,
            "parameters": {},
            "alpha": float(a_wc),
            "worst_case_p": float(p_wc),
            "power": pw,
            "expected_n_p0": float(p_n0 @ n_arr),
            "pet_p0": float(p_n0[:-1].sum()),
            "_name": d.name,
            "_bnd": bnd,
        }
        by_id[id(rec)] = d
        records.append(rec)
    message = f"{len(records)} of {len(items)} designs listed"
    cfg = {
        "p0": p0f,
        "p1": p1f,
        "alpha": alpha,
        "power": power,
        "settings": {"designs": names, "type1": "worst case of P(efficacy) over p <= p0"},
    }
    return _finish(
        "pareto",
        records,
        cfg,
        criterion="expected_n",
        message=message,
        n_evaluated=len(items),
        make_builder=lambda rec: _constant(by_id[id(rec)]),
        parameters_of=lambda rec: {},
        name_of=lambda rec: rec["_name"],
    )


def _planning_value(items: list[Design], value: Any, name: str, owner: str) -> Any:
    if value is not None:
        return value
    vals = {getattr(d, name) for d in items}
    if len(vals) != 1 or None in vals:
        raise fail(name, owner, "given (the designs' planning values are missing or differ)", None)
    v = vals.pop()
    return v.mean if isinstance(v, Beta) else v
