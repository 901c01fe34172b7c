"""The safety-monitoring section of the appendix, and the words other sections borrow from it.

For every design co-monitored for toxicity (``Design.toxicity``): the toxicity
boundary in protocol words, the joint efficacy-toxicity operating
characteristics (exact, from :func:`adaptive2.engines.toxicity_oc.oc_toxicity`
through :func:`adaptive2.engines.exact.oc`) and the probability of a toxicity
stop against the true toxicity rate; and, as a comparator, the optimal Bryant & Day
(1995) two-stage design for the same targets
(:func:`adaptive2.engines.bryant_day.bryant_day`), exact as well.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from adaptive2.engines.bryant_day import bryant_day
from adaptive2.engines.cohort_exact import cohort_oc
from adaptive2.engines.toxicity_oc import oc_toxicity
from adaptive2.model.designs import Design, toxicity_protocol, toxicity_records
from adaptive2.model.toxicity import ToxicityMonitor
from adaptive2.views.document import Figure, Heading, Para
from adaptive2.views.figures import to_svg
from adaptive2.views.report.context import (
    Col,
    _and,
    _Ctx,
    _monitored,
    _multi_scenarios,
    _single_oc,
    _slug,
    _tab,
)
from adaptive2.views.result_plots import toxicity_oc_plot

__all__: list[str] = []


# ---- words ---------------------------------------------------------------------------
def _signs(text: str) -> str:
    return text.replace(">=", "≥").replace("<=", "≤")


def _short_event(monitor: ToxicityMonitor) -> str:
    """The event's name without its parenthetical definition (``grade ≥ 3 ... event``)."""
    short = re.sub(r"\s*\(.*\)\s*$", "", monitor.event.strip(), flags=re.S) or monitor.event
    return _signs(short.strip())


def _checks_text(monitor: ToxicityMonitor) -> str:
    pts = list(monitor.monitor)
    steps = np.diff([0, *pts])
    if len(pts) > 3 and len(set(steps.tolist())) == 1:
        return f"every {int(steps[0])} patients evaluated for the event, up to {pts[-1]}"
    return f"after {_and([str(n) for n in pts])} patients evaluated for the event"


def _rule_sentence(monitor: ToxicityMonitor) -> str:
    """The toxicity rule in one sentence (its boundary is tabulated separately)."""
    if monitor.rule == "posterior":
        head = (f"stop enrolment if P(toxicity rate > {monitor.limit:g} | data) > "
                f"{monitor.cutoff:g}")
    else:
        head = (f"stop enrolment when the event count exceeds the binomial critical value at "
                f"the acceptable rate {monitor.acceptable:g} (Pocock-type boundary, shape "
                f"{monitor.shape:g}, nominal level {monitor.nominal_level:.4g}, tuned so that "
                f"P(stop | {monitor.acceptable:g}) ≤ {monitor.p_stop_acceptable:g})")
    return f"Checked {_checks_text(monitor)}: {head}"


def _prior_sentence(design: Design) -> str:
    """Where the toxicity prior (or, for a Pocock rule, the rates) come from: one sentence."""
    m = design.toxicity
    assert m is not None
    source = _signs(design.toxicity_source.strip()).rstrip(".") or "not stated in the design file"
    if m.rule == "posterior":
        a, b = m.prior
        return (f"Source of the toxicity prior Beta({a:g}, {b:g}) (mean {a / (a + b):.3g}, worth "
                f"{a + b:g} patients) and of the limit and acceptable rates: {source}.")
    return (f"The Pocock-type rule uses no prior; source of its limit and acceptable rates: "
            f"{source}.")


def _protocol_frame(monitor: ToxicityMonitor) -> Any:
    """The toxicity boundary in protocol form, one row per check point."""
    import pandas as pd

    words = toxicity_protocol(monitor.replace(event=_short_event(monitor)))
    rows = [
        {"check": r["check"], "n": r["n"], "stop_at_or_above": r["stop_at_or_above"],
         "rule": _signs(w)[:1].upper() + _signs(w)[1:] + "."}
        for r, w in zip(toxicity_records(monitor), words, strict=True)
    ]
    return pd.DataFrame(rows)


def _empty_note(monitor: ToxicityMonitor) -> str:
    if all(c <= n for c, n in zip(monitor.boundaries(), monitor.monitor, strict=True)):
        return ""
    return "An empty count: no number of events stops enrolment at that check point."


def _group_scenarios(ctx: _Ctx, design: Design) -> tuple[Any, ...]:
    for g in ctx.groups:
        if any(it.design is design for it in g.items):
            return g.scenarios
    return tuple(design.scenarios)


def _joint(ctx: _Ctx, design: Design) -> Any:
    """``adaptive2.oc(design, scenarios)``: response scenarios × the design's toxicity rates."""
    return _single_oc(ctx, design, _group_scenarios(ctx, design))


def _planning(design: Design) -> list[tuple[str, float]]:
    out = []
    if design.p0 is not None and not hasattr(design.p0, "a"):
        out.append(("p0", float(design.p0)))
    if design.p1 is not None:
        out.append(("p1", float(design.p1)))
    return out


def _stop_points(ctx: _Ctx, design: Design) -> Any:
    """Exact joint OC at p0 and p1 × the acceptable and limit toxicity rates, computed once."""
    m = design.toxicity
    assert m is not None
    plan = _planning(design)
    key = (f"{design.name}\0safety points", tuple(v for _, v in plan))
    if key not in ctx.oc:
        ctx.oc[key] = oc_toxicity(design, [v for _, v in plan], tox=[m.acceptable, m.limit])
    return ctx.oc[key]


def _safety_row(ctx: _Ctx, design: Design) -> str:
    """The specification box's "Safety monitoring" row."""
    m = design.toxicity
    assert m is not None
    safe = _slug(design.name)
    text = (f"{_rule_sentence(m)}; boundary in {{tab:safety-boundaries-{safe}}}. "
            f"Event: {_signs(m.event)}. Limit (unacceptable rate) {m.limit:g}; acceptable rate "
            f"{m.acceptable:g}. {_prior_sentence(design)}")
    plan = _planning(design)
    if plan:
        ds = _stop_points(ctx, design)
        stop = np.asarray(ds["p_stop_toxicity"].values, dtype=float)
        k = len(plan)
        parts = []
        for j, (label, q) in enumerate((("acceptable", m.acceptable), ("limit", m.limit))):
            at = _and([f"{stop[j * k + i]:.3f} at {name}" for i, (name, _) in enumerate(plan)])
            parts.append(f"{at} when the true toxicity rate is at the {label} {q:g}")
        text += (" P(stop for toxicity), exact and with the efficacy rules in force: "
                 + "; ".join(parts) + ".")
    alone = m.oc()
    text += (f" The monitor alone, over all {m.n_max} patients: {alone.p_stop[0]:.3f} at "
             f"{m.acceptable:g} and {alone.p_stop[1]:.3f} at {m.limit:g}.")
    if design.toxicity_odds_ratio != 1.0:
        text += (f" Response and toxicity linked by an odds ratio of "
                 f"{design.toxicity_odds_ratio:g} in a patient.")
    return text


# ---- the section -----------------------------------------------------------------------
_INTRO = (
    "A co-monitored design stops enrolment as soon as the toxicity boundary is reached, "
    "whatever the responses; a toxicity check at the same patient as an efficacy look comes "
    "first, and a trial stopped for toxicity declares nothing. Every figure in this section is "
    "exact: the joint dynamic programme over responses and events (no simulation)."
)

_JOINT_NOTE = (
    "P(declare efficacy) + P(stop for futility) + P(final analysis fails) + P(stop for "
    "toxicity) = 1: the efficacy outcomes count only trials not stopped for toxicity. E[N] "
    "counts every patient enrolled, toxicity stops included."
)


def _safety(ctx: _Ctx) -> tuple[list[Any], Any]:
    import pandas as pd

    designs = [it.design for it in ctx.items if _monitored(it.design)]
    multi = [it.design for it in ctx.items if it.multi and getattr(it.design, "toxicity", None)]
    if not designs and not multi:
        return [], None
    ctx.note("Safety monitoring", "exact (joint efficacy-toxicity dynamic programme)")
    blocks: list[Any] = [Para(_INTRO)]
    for d in designs:
        m = d.toxicity
        assert m is not None
        safe = _slug(d.name)
        ds = _joint(ctx, d)
        ratios = sorted({float(x) for x in ds["odds_ratio"].values})
        frame = pd.DataFrame({
            "scenario": [str(s) for s in ds["scenario"].values],
            "p": ds["p"].values,
            "toxicity_rate": ds["toxicity_rate"].values,
            "odds_ratio": ds["odds_ratio"].values,
            **{v: ds[v].values for v in ("p_efficacy", "p_futility", "p_final_fail",
                                          "p_stop_toxicity", "expected_n")},
        })
        rates = sorted({float(q) for q in frame["toxicity_rate"]})
        named = _and([f"{q:g}" + (" (acceptable)" if abs(q - m.acceptable) < 1e-12 else
                                  " (limit)" if abs(q - m.limit) < 1e-12 else "")
                      for q in rates])
        odds = [Col("odds_ratio", "Odds ratio, response and toxicity", "num")] \
            if len(ratios) > 1 or ratios != [1.0] else []
        blocks += [
            Heading(3, f"Safety monitoring of {d.name}"),
            Para(
                f"{d.name} monitors one safety event: {_signs(m.event)}. {_rule_sentence(m)}; "
                f"{{tab:safety-boundaries-{safe}}} gives the boundary in protocol words. "
                f"{_prior_sentence(d)} {{tab:safety-oc-{safe}}} gives the joint operating "
                f"characteristics at the true toxicity rates {named}, and "
                f"{{fig:safety-{safe}}} the probability of a toxicity stop against the true "
                "toxicity rate."
            ),
            _boundary_table(m, safe, f"{d.name}: toxicity stopping boundary per check point"),
            _tab(
                f"safety-oc-{safe}", frame,
                f"{d.name}: joint efficacy and toxicity operating characteristics (exact)",
                [Col("p", "True response rate", "num"),
                 Col("toxicity_rate", "True toxicity rate", "num"), *odds,
                 Col("p_efficacy", "P(declare efficacy)", "prob"),
                 Col("p_futility", "P(stop for futility)", "prob"),
                 Col("p_final_fail", "P(final analysis fails)", "prob"),
                 Col("p_stop_toxicity", "P(stop for toxicity)", "prob"),
                 Col("expected_n", "E[N]", "mean1")],
                note=_JOINT_NOTE,
            ),
            _figure(d),
            *_bryant_day_blocks(ctx, d),
        ]
    for d in multi:
        blocks += _multi_blocks(ctx, d)
    return blocks, None


# ---- the Bryant & Day comparator ---------------------------------------------------------
_BD_NMAX = 60  # largest total sample size searched for the Bryant & Day comparator


def _bryant_day_blocks(ctx: _Ctx, d: Design) -> list[Any]:
    """The optimal Bryant & Day design at the design's targets, against it at the four corners.

    Bryant & Day's constraints at the design's targets: P(declare | p0, acceptable
    toxicity) <= alpha, P(declare | p1, toxicity at the limit) <= alpha (the same
    value: a too-toxic drug declared is as much an error as an inactive one) and
    P(declare | p1, acceptable toxicity) >= power; q are non-toxicity rates.
    """
    import pandas as pd

    m = d.toxicity
    assert m is not None
    plan = dict(_planning(d))
    if "p0" not in plan or "p1" not in plan:
        return []
    p0, p1 = plan["p0"], plan["p1"]
    alpha, power = ctx.alpha_of(d), ctx.power_of(d)
    psi = float(d.toxicity_odds_ratio)
    res = bryant_day(p0, p1, 1.0 - m.limit, 1.0 - m.acceptable, alpha_r=alpha, alpha_t=alpha,
                     beta=1.0 - power, nmax=_BD_NMAX, odds_ratio=psi)
    safe = _slug(d.name)
    event = _short_event(m)
    link = ("response and toxicity independent in a patient (Bryant & Day's working "
            "assumption, and this design's)" if psi == 1.0 else
            f"response and toxicity linked by an odds ratio of {psi:g} in a patient, as in "
            "this design")
    targets = (f"the same targets as {d.name}: P(declare efficacy) ≤ {alpha:g} at p0 = {p0:g} "
               f"with toxicity at the acceptable rate {m.acceptable:g}, ≤ {alpha:g} (the same "
               f"value as the type I error target) at p1 = {p1:g} with toxicity at the limit "
               f"{m.limit:g}, and ≥ {power:g} at p1 with toxicity at the acceptable rate; "
               f"{link}")
    bd = res.optimal
    if bd is None:
        return [Para(f"Comparator: no Bryant & Day (1995) two-stage design with at most "
                     f"{_BD_NMAX} patients meets {targets} (exhaustive exact search).")]
    ds = _stop_points(ctx, d)
    p = np.asarray(ds["p"].values, dtype=float)
    tox = np.asarray(ds["toxicity_rate"].values, dtype=float)
    b = bd.oc(p, 1.0 - tox, psi)
    frame = pd.DataFrame({
        "p": p, "toxicity_rate": tox,
        "p_declare_bryant_day": b.p_declare, "p_efficacy": ds["p_efficacy"].values,
        "expected_n_bryant_day": b.expected_n, "expected_n": ds["expected_n"].values,
    })
    text = (
        f"Comparator: the optimal Bryant & Day (1995) two-stage design for {targets}. "
        f"Stage 1: enrol {bd.n1} patients, and continue only if more than {bd.r1} respond and "
        f"more than {bd.t1} are without a {event}; stage 2: enrol {bd.n - bd.n1} more "
        f"({bd.n} in all), and declare efficacy if more than {bd.r} of the {bd.n} respond and "
        f"more than {bd.t} are without a {event}. It is optimal among designs with at most "
        f"{_BD_NMAX} patients: the smallest of the larger expected sample size in the two "
        f"null cases (exhaustive exact search). {{tab:safety-bryant-day-{safe}}} compares it "
        f"with {d.name} (at most {d.looks[-1]} patients) at the four corners of the true "
        "response rate (p0, p1) and toxicity rate (acceptable, limit)."
    )
    return [
        Para(text),
        _tab(
            f"safety-bryant-day-{safe}", frame,
            f"{d.name} against the optimal Bryant & Day (1995) two-stage design at matched "
            "targets: P(declare efficacy) and E[N], both exact",
            [Col("p", "True response rate", "num"),
             Col("toxicity_rate", "True toxicity rate", "num"),
             Col("p_declare_bryant_day", "P(declare efficacy), Bryant & Day", "prob"),
             Col("p_efficacy", f"P(declare efficacy), {d.name}", "prob"),
             Col("expected_n_bryant_day", "E[N], Bryant & Day", "mean1"),
             Col("expected_n", f"E[N], {d.name}", "mean1")],
        ),
    ]


def _figure(d: Design) -> Figure:
    m = d.toxicity
    assert m is not None
    plan = _planning(d)
    at = _and([f"{name} = {v:g}" for name, v in plan]) or "the design's rates"
    return Figure(
        f"safety-{_slug(d.name)}", to_svg(toxicity_oc_plot(d)),
        f"{d.name}: P(stop for toxicity) (left) and expected N (right) against the true "
        f"toxicity rate, with the true response rate at {at}; acceptable rate {m.acceptable:g} "
        f"and limit {m.limit:g} marked (exact)",
        alt=f"Two line charts for {d.name}, one curve per true response rate ({at}): on the "
        "left the probability that the trial stops for toxicity, rising from 0 as the true "
        "toxicity rate goes from 0 upwards, and on the right the expected number of patients "
        f"enrolled, which falls as toxicity stops become likely; dotted and dashed vertical "
        f"lines mark the acceptable rate {m.acceptable:g} and the limit {m.limit:g}, where the "
        "stopping probability of each curve is marked and written.",
    )


def _boundary_table(m: ToxicityMonitor, safe: str, caption: str) -> Any:
    """The toxicity boundary of one monitor, per check point, in protocol words."""
    return _tab(
        f"safety-boundaries-{safe}", _protocol_frame(m), caption,
        [Col("check", "Check", "int"),
         Col("n", "Patients evaluated for the event", "int"),
         Col("stop_at_or_above", "Stop if patients with the event ≥", "int"),
         Col("rule", "Rule in protocol words", "text")],
        note=_empty_note(m),
    )


def _multi_blocks(ctx: _Ctx, d: Any) -> list[Any]:
    """A multi-cohort design's toxicity boundaries and its joint OC (exact)."""
    import pandas as pd

    blocks: list[Any] = [Heading(3, f"Safety monitoring of {d.name}")]
    for cohort, m in d.toxicity:
        safe = _slug(f"{d.name}-{cohort}")
        blocks.append(Para(f"Cohort {cohort} of {d.name} monitors one safety event: "
                           f"{_signs(m.event)}. "
                           f"{_rule_sentence(m)}; {{tab:safety-boundaries-{safe}}} gives the "
                           "boundary."))
        blocks.append(_boundary_table(
            m, safe, f"{d.name}, cohort {cohort}: toxicity stopping boundary per check point"))
    ds = cohort_oc(d, _multi_scenarios(ctx, d))  # each monitor at its acceptable, then limit
    rows = []
    for i, scen in enumerate(ds["scenario"].values):
        for j, cohort in enumerate(ds["cohort"].values):
            q = float(ds["toxicity_rate"].values[i, j])
            rows.append({
                "scenario": str(scen), "cohort": str(cohort),
                "p": float(ds["rate"].values[i, j]),
                "toxicity_rate": q,
                **{v: float(ds[v].values[i, j]) for v in ("p_efficacy", "p_futility",
                                                          "p_stop_toxicity", "expected_n")},
            })
    safe = _slug(d.name)
    blocks += [
        Para(
            f"{{tab:safety-oc-{safe}}} gives the joint operating characteristics of {d.name} "
            "(exact), with every monitored cohort at its acceptable toxicity rate and then at "
            "its limit. Each cohort's toxicity rule is checked at its own check points, before "
            "an efficacy look at the same patient, without borrowing; a cohort stopped for "
            "toxicity declares nothing, and its data at the check keep informing the other "
            "cohorts. The other sections show this design with every cohort at its acceptable "
            "toxicity rate."
        ),
        _tab(
            f"safety-oc-{safe}", pd.DataFrame(rows),
            f"{d.name}: joint efficacy and toxicity operating characteristics per cohort "
            "(exact)",
            [Col("scenario", "Scenario", "text"), Col("cohort", "Cohort", "text"),
             Col("p", "True response rate", "num"),
             Col("toxicity_rate", "True toxicity rate", "num"),
             Col("p_efficacy", "P(declare efficacy)", "prob"),
             Col("p_futility", "P(stop for futility)", "prob"),
             Col("p_stop_toxicity", "P(stop for toxicity)", "prob"),
             Col("expected_n", "E[N]", "mean1")],
        ),
        Para(
            f"The worst-case type I error of {d.name} over the null region, and its "
            "calibration, are those of the efficacy rules alone: the null-region search does "
            "not stop cohorts for toxicity. Through borrowing, a cohort stopped for toxicity "
            "changes the data the others are judged on, in either direction, so those figures "
            "are not a bound for the co-monitored trial; the type I errors in the table above, "
            "at the listed scenarios, count toxicity stops.", "warning"),
    ]
    return blocks
