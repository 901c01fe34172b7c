"""Sections of the appendix about the designs.

Summary, specification boxes, boundary and decision tables, priors, prior-data
conflict and the scenario grid.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from adaptive2._base.formatting import cell
from adaptive2.engines.compare import compare
from adaptive2.engines.exact import oc
from adaptive2.engines.map_prior import map_prior
from adaptive2.model.designs import Design
from adaptive2.model.priors import Beta, as_mixture, conflict, ess, ess_table
from adaptive2.model.rules import Boundary
from adaptive2.views.document import (
    Box,
    Bullets,
    Code,
    Figure,
    Heading,
    Para,
)
from adaptive2.views.figures import to_svg
from adaptive2.views.oc_plots import boundary_chart
from adaptive2.views.report.context import (
    ENDPOINT,
    Col,
    _and,
    _borrowing,
    _comparator,
    _Ctx,
    _datasets,
    _design_file,
    _efficacy_oc,
    _ess_text,
    _fmt_prob,
    _is_simon,
    _Item,
    _monitored,
    _multi_scenarios,
    _p,
    _population,
    _rate,
    _simon_text,
    _slug,
    _tab,
    _tox_view,
    _uses_prior,
)
from adaptive2.views.report.safety_sections import _safety_row
from adaptive2.views.result_plots import prior_density

_NAN = float("nan")


# ---- shared figures -----------------------------------------------------------
def _fixed_p0(design: Design) -> bool:
    return design.p0 is not None and not hasattr(design.p0, "a")


def _at(ctx: _Ctx, design: Design, p: float) -> dict[str, float]:
    """Exact OC of a single-cohort design at one true rate.

    A co-monitored design: at its acceptable toxicity rate, toxicity stops counted.
    """
    ds = _efficacy_oc(ctx, design, (float(p),))
    return {v: float(ds[v].values[0])
            for v in ("p_efficacy", "p_early_stop", "expected_n", "sd_n")}


def _single_figures(ctx: _Ctx, d: Design) -> dict[str, Any]:
    """Targets and achieved values of a single-cohort design (all exact)."""
    out: dict[str, Any] = {
        "alpha_target": ctx.alpha_of(d), "power_target": ctx.power_of(d),
        "max_type1": _NAN, "max_type1_at": _NAN, "non_binding": _NAN,
        "power_p1": _NAN, "expected_n_p0": _NAN, "p_early_stop_p0": _NAN, "expected_n_p1": _NAN,
    }
    if _fixed_p0(d):
        out["max_type1"], out["max_type1_at"] = ctx.worst_alpha(d)
        if d.futility is not None:
            out["non_binding"] = ctx.worst_alpha(d, binding=False)[0]
        at0 = _at(ctx, d, float(d.p0))  # type: ignore[arg-type]
        out["expected_n_p0"], out["p_early_stop_p0"] = at0["expected_n"], at0["p_early_stop"]
    if d.p1 is not None:
        at1 = _at(ctx, d, float(d.p1))
        out["power_p1"], out["expected_n_p1"] = at1["p_efficacy"], at1["expected_n"]
    return out


def _multi_figures(ctx: _Ctx, d: Any, summary: Any) -> dict[str, dict[str, Any]]:
    """Per cohort of a multi-cohort design: worst-case α (null region), power, E[N] (exact)."""
    nr = _borrowing(ctx, d).null_region
    scen = _multi_scenarios(ctx, d)
    global_null = next(
        (s.name for s in scen
         if all(abs(s.rate(c.name) - c.p0) < 1e-12 for c in d.cohorts)), None)
    out = {}
    for c in d.cohorts:
        rows = summary[(summary["design"] == d.name) & (summary["cohort"] == c.name)]
        at_p1 = rows[(rows["role"] == "alternative") & (np.abs(rows["p"] - c.p1) < 1e-12)] \
            if c.p1 is not None else rows.iloc[:0]
        at_gn = rows[rows["scenario"] == global_null]
        sup = nr.cohorts[c.name]
        out[c.name] = {
            "alpha_target": ctx.alpha_of(d), "power_target": ctx.power_of(d),
            "max_type1": sup.max_type1,
            "max_type1_at": ", ".join(f"{k} = {_rate(round(v, 3))}"
                                      for k, v in sup.argmax.items() if k != c.name),
            "power_p1": float(at_p1["p_efficacy"].min()) if len(at_p1) else _NAN,
            "expected_n_p0": float(at_gn["expected_n"].iloc[0]) if len(at_gn) else _NAN,
            "p_early_stop_p0": float(at_gn["p_early_stop"].iloc[0]) if len(at_gn) else _NAN,
            "max_fwer": nr.max_fwer,
            "fwer_global_null": nr.fwer_global_null,
            "powers": [(r.scenario, float(r.p_efficacy)) for r in
                       rows[rows["role"] == "alternative"].itertuples()],
        }
    return out


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


# ---- summary ------------------------------------------------------------------
def _summary(ctx: _Ctx) -> tuple[list[Any], Any]:
    import pandas as pd

    designs = [i.design for i in ctx.items]
    nulls = {i.design.name: _borrowing(ctx, i.design).null_region for i in ctx.items if i.multi}
    summary = compare(designs, ctx.grid, results=_datasets(ctx), null_regions=nulls)
    ctx.summary = summary
    ctx.note("Summary, specification boxes, OC tables", "exact (dynamic programme / quadrature "
             "lattice)")
    rows = []
    group_of = {it.design.name: g.name for g in ctx.groups for it in g.items}
    for it in ctx.items:
        d = it.design
        if it.multi:
            per = _multi_figures(ctx, d, summary)
            for c in d.cohorts:
                f = per[c.name]
                rows.append({"design": d.name, "cohort": c.name, "p0": c.p0, "p1": c.p1,
                             "max_n": c.looks[-1], **{k: v for k, v in f.items()
                                                      if k not in ("powers", "max_type1_at")}})
        else:
            f = _single_figures(ctx, d)
            rows.append({"design": d.name, "cohort": group_of.get(d.name, ""),
                         "p0": d.p0 if _fixed_p0(d) else None, "p1": d.p1, "max_n": d.n_max,
                         **{k: v for k, v in f.items() if k != "max_type1_at"},
                         "max_fwer": _NAN})
    key = pd.DataFrame(rows)
    key["targets_met"] = [_targets_met(r) for r in key.to_dict("records")]
    alpha_t = [(a,) for a in key["alpha_target"]]
    power_t = [(b,) for b in key["power_target"]]
    cols = [
        Col("design", "Design", "text"), Col("cohort", "Cohort", "text"),
        Col("p0", "p0", "num"), Col("p1", "p1", "num"), Col("max_n", "Max N", "int"),
        Col("alpha_target", "α target", "num"),
        Col("max_type1", "Worst-case type I error", "prob", alpha_t),
        Col("power_target", "Power target", "num"),
        Col("power_p1", "Power at p1", "prob", power_t),
        Col("expected_n_p0", "E[N] at p0", "mean1"),
        Col("p_early_stop_p0", "P(stop early) at p0", "prob"),
    ]
    multi = [i for i in ctx.items if i.multi]
    if multi:
        cols.append(Col("max_fwer", "Worst-case FWER", "prob", alpha_t))
    cols.append(Col("targets_met", "Targets met", "text"))
    monitored = [i.design for i in ctx.items if _monitored(i.design)]
    notes = []
    if multi:
        notes.append(
            "Multi-cohort designs: power at p1 is the lowest over the joint scenarios in "
            "which the cohort's true rate is p1, E[N] and P(stop early) at p0 are at the global "
            "null (every cohort at its p0), and the worst-case FWER is the largest P(any null "
            "cohort declared efficacious) over the null region.")
    for d in monitored:
        notes.append(
            f"{d.name} is co-monitored for toxicity: its power, E[N] and P(stop early) are "
            f"{_tox_view(d)} (a trial stopped for toxicity declares nothing); its worst-case "
            "type I error is that of the efficacy rules alone, which toxicity monitoring can "
            "only lower (see {sec:safety}).")
    blocks: list[Any] = [
        Para(
            f"{_count(len(ctx.items), 'candidate design')} for the trial "
            f"({len(ctx.items) - len(multi)} single-cohort, {len(multi)} multi-cohort), each "
            "set against its targets in "
            "{tab:summary}. The worst-case type I error is the largest P(declare efficacy) "
            "over the whole null space (a single cohort: every true rate at or below p0; a "
            "cohort of a multi-cohort design: its own rate at or below p0 with the other "
            "cohorts' rates anywhere in their plausible range). Every figure in this section "
            "is exact (no Monte Carlo error)."
        ),
        _tab("summary", key, "Key figures of every design against its type I error and power "
             "targets (exact)", cols, note=" ".join(notes)),
    ]
    if multi:
        blocks.append(_power_table(ctx, summary))
    bullets = _simon_bullets(ctx)
    if bullets:
        blocks.append(Para("Against the Simon two-stage comparator of each population "
                           "({sec:simon}):"))
        blocks.append(Bullets(tuple(bullets)))
    return blocks, summary


def _shortfalls(alpha: float, alpha_target: float, power: float, power_target: float
                ) -> list[str]:
    """The targets a design misses ("type I error", "power"); a missing value misses none."""
    out = []
    if alpha == alpha and alpha > alpha_target + 1e-12:
        out.append("type I error")
    if power == power and power < power_target - 1e-12:
        out.append("power")
    return out


def _targets_met(row: Mapping[Any, Any]) -> str:
    a, b = row["max_type1"], row["power_p1"]
    if a != a and b != b:
        return ""
    miss = _shortfalls(a, row["alpha_target"], b, row["power_target"])
    return "yes" if not miss else f"no ({', '.join(miss)})"


def _power_table(ctx: _Ctx, summary: Any) -> Any:
    """Power of every cohort under every joint scenario in which it works."""
    import pandas as pd

    rows = []
    for it in [i for i in ctx.items if i.multi]:
        d = it.design
        scen = {s.name: s for s in _multi_scenarios(ctx, d)}
        sub = summary[(summary["design"] == d.name) & (summary["role"] == "alternative")]
        for r in sub.itertuples():
            s = scen[str(r.scenario)]
            others = ", ".join(f"{c} {_rate(v)}" for c, v in s.rates if c != r.cohort)
            rows.append({"design": d.name, "cohort": r.cohort, "scenario": r.scenario,
                         "p": r.p, "others": others, "p_efficacy": r.p_efficacy,
                         "power_target": ctx.power_of(d), "expected_n": r.expected_n,
                         "fwer": r.fwer})
    frame = pd.DataFrame(rows)
    return _tab(
        "summary-power", frame,
        "Multi-cohort designs: each cohort's power under every joint scenario in which it works "
        "(exact)",
        [Col("design", "Design", "text"), Col("cohort", "Cohort", "text"),
         Col("scenario", "Scenario", "text"), Col("p", "True rate", "num"),
         Col("others", "Other cohorts' true rates", "text"),
         Col("p_efficacy", "P(declare efficacy)", "prob",
             [(t,) for t in frame["power_target"]] if len(frame) else ()),
         Col("expected_n", "E[N]", "mean1"), Col("fwer", "FWER", "prob")],
        note="A cohort works when its true rate is at or above its p1. FWER: P(any cohort "
        "whose true rate is at or below its p0 declared efficacious) in that scenario.",
    )


def _simon_bullets(ctx: _Ctx) -> list[str]:
    out = []
    for g in ctx.groups:
        s = _comparator(ctx, g)
        if s is None:
            continue
        for it in g.items:
            d = it.design
            if _is_simon(d) or not _fixed_p0(d) or d.p1 is None:
                continue
            f = _single_figures(ctx, d)
            a_t, b_t = s.alpha_target, s.power_target
            matched = abs(f["alpha_target"] - a_t) < 1e-12
            den = f["expected_n_p0"] - s.expected_n_p0
            text = (
                f"{d.name} against {s.label} ({_simon_text(s)}), "
                + (f"both designed for type I error ≤ {a_t:g} and power ≥ {b_t:g}, i.e. at a "
                   "matched α target: " if matched else
                   f"NOT at a matched α target ({f['alpha_target']:g} against {a_t:g}): ")
                + f"worst-case type I error {_fmt_prob(f['max_type1'], a_t)} against "
                f"{_fmt_prob(s.alpha, a_t)}, power at p1 {_fmt_prob(f['power_p1'], b_t)} against "
                f"{_fmt_prob(s.power, b_t)}, E[N] at p0 {f['expected_n_p0']:.1f} of "
                f"{d.n_max} against {s.expected_n_p0:.1f} of {s.n} "
                f"({abs(den):.1f} {'fewer' if den < 0 else 'more'} patients on average)."
            )
            if _monitored(d):
                text += (f" {d.name}'s power and E[N] are {_tox_view(d)}; the Simon design "
                         "does not monitor toxicity.")
            if abs(f["max_type1"] - s.alpha) >= 0.005:
                text += (" The achieved type I errors differ, so this is not a comparison at "
                         "equal achieved α.")
            out.append(text)
    return out


# ---- specification --------------------------------------------------------------
def _words(text: str) -> str:
    """A rule's description for a sentence (≤, ≥; PP explained)."""
    text = text.replace("<=", "≤").replace(">=", "≥")
    if "PP(" in text:
        text += " (PP: the predictive probability that the final analysis succeeds)"
    return text


def _looks_text(looks: Any) -> str:
    return _and([str(n) for n in looks])


def _single_rules(d: Design) -> list[tuple[str, str]]:
    b = d.boundaries()
    rows = []
    if isinstance(d.futility, Boundary):
        parts = [f"after {n} evaluable patients, stop for futility if "
                 + ("no patient responds" if a == 0 else f"{a} or fewer respond")
                 for n, a in zip(d.looks[:-1], b.futility_max_r[:-1], strict=True)
                 if a is not None]
        rows.append(("Futility rule", ("; ".join(parts) or "no futility stop").capitalize()
                     + "."))
    elif d.futility is not None:
        rows.append(("Futility rule",
                     f"At each interim analysis: {_words(d.futility.describe('futility'))}."))
    else:
        rows.append(("Futility rule", "No futility stop at the interim analyses."))
    if d.efficacy is not None:
        rows.append(("Efficacy rule (interim)",
                     f"At each interim analysis: {_words(d.efficacy.describe('efficacy'))}."))
    final_min = b.efficacy_min_r[-1]
    if isinstance(d.final, Boundary):
        text = (f"After {d.looks[-1]} evaluable patients, declare efficacy if {final_min} or more "
                "respond." if final_min is not None else "Efficacy cannot be declared.")
    else:
        text = f"After {d.looks[-1]} evaluable patients: {_words(d.final.describe('final'))}"
        text += (f" (that is, {final_min} or more responses)." if final_min is not None
                 else "; no response count meets it.")
    rows.append(("Final analysis", text))
    return rows


def _single_box(ctx: _Ctx, it: _Item) -> Box:
    d = it.design
    f = _single_figures(ctx, d)
    safe = _slug(d.name)
    a_t, b_t = f["alpha_target"], f["power_target"]
    k = len(d.looks)
    if _fixed_p0(d):
        hyp = f"H0: p ≤ {_p(d.p0)} (uninteresting response rate p0)"
    else:
        hyp = f"H0: p ≤ p0 with p0 uncertain, {_p(d.p0)}"
    hyp += f"; H1: p = {_p(d.p1)} (target response rate p1)" if d.p1 is not None \
        else "; H1: no target rate p1 set"
    if _uses_prior(d):
        tab = ess_table(d.prior)
        elir = tab["elir"]
        ess_words = _ess_text(elir["value"], elir["reason"])
        prior = (f"{d.prior_spec.describe()}; source: {d.prior_spec.source or 'not stated'}; "
                 f"effective sample size {ess_words}"
                 + (" patients" if ess_words[:1].isdigit() else "") + " (ELIR)")
    else:
        prior = "Not used: every rule is a fixed response boundary."
    rows: list[tuple[str, str]] = [
        ("Population", _population(d)[:1].upper() + _population(d)[1:]),
        ("Endpoint", ENDPOINT),
        ("Hypotheses", hyp),
        ("Analyses and maximum N",
         f"After {_looks_text(d.looks)} evaluable patients ({k - 1} interim and 1 final "
         f"analysis); maximum N = {d.n_max}."),
        ("Analysis prior", prior),
        *_single_rules(d),
        ("Boundaries", "Integer boundaries per look in {tab:boundaries-" + safe + "}"
         + ("; the toxicity boundary in {tab:safety-boundaries-" + safe + "}"
            if _monitored(d) else "")
         + "; the operating characteristics treat every stopping rule as binding."),
    ]
    if _monitored(d):
        rows.append(("Safety monitoring", _safety_row(ctx, d)))
    if _fixed_p0(d):
        where = (f"over p ≤ {_p(d.p0)}, attained at p = {_rate(f['max_type1_at'])}"
                 if not _monitored(d) else _tox_where(d, f["max_type1_at"]))
        text = (f"Target ≤ {a_t:g}; achieved {_fmt_prob(f['max_type1'], a_t)} (exact worst case "
                f"{where})")
        if _shortfalls(f["max_type1"], a_t, _NAN, b_t):
            text += " — ABOVE the target"
        if d.futility is not None:
            text += (f"; {_fmt_prob(f['non_binding'], a_t)} if the futility rule is ignored "
                     "(non-binding futility)")
        if _monitored(d):
            at0 = _at(ctx, d, float(d.p0))
            text += f"; {_fmt_prob(at0['p_efficacy'], a_t)} at p0 {_tox_view(d)}"
        rows.append(("Type I error", text + "."))
    else:
        rows.append(("Type I error", f"Target ≤ {a_t:g}; not defined as a worst case: p0 is "
                     "uncertain, so there is no fixed null space."))
    if d.p1 is not None:
        short = " — BELOW the target" if _shortfalls(_NAN, a_t, f["power_p1"], b_t) else ""
        if _monitored(d):
            plain = _at_plain(d, float(d.p1))
            rows.append(("Power", f"Target ≥ {b_t:g}; achieved {_fmt_prob(f['power_p1'], b_t)} "
                         f"at p = p1 = {_p(d.p1)} {_tox_view(d)} (exact; a trial stopped for "
                         f"toxicity declares nothing){short}; "
                         f"{_fmt_prob(plain['p_efficacy'], b_t)} without toxicity monitoring."))
        else:
            rows.append(("Power", f"Target ≥ {b_t:g}; achieved {_fmt_prob(f['power_p1'], b_t)} "
                         f"at p = p1 = {_p(d.p1)} (exact){short}."))
    if _fixed_p0(d):
        where = f", {_tox_view(d)}, toxicity stops included" if _monitored(d) else ""
        rows.append(("Sample size", f"E[N] {f['expected_n_p0']:.1f} at p0"
                     + (f" and {f['expected_n_p1']:.1f} at p1" if d.p1 is not None else "")
                     + f"; P(stop early) at p0 {_fmt_prob(f['p_early_stop_p0'])} (exact{where})."))
    if _is_simon(d) and _fixed_p0(d) and d.p1 is not None:
        rows.append(("Role", "Simon two-stage comparator of this population "
                     "({sec:simon})."))
    return Box(f"design-{safe}", f"{d.name}: {d.title}" if d.title else d.name, tuple(rows),
               note=f"Notes: {d.notes}" if d.notes else "")


def _at_plain(design: Design, p: float) -> dict[str, float]:
    """Exact OC of a co-monitored design at one true rate with its toxicity monitor removed.

    Not cached in ``ctx.oc``: the design without its monitor keeps the design's name.
    """
    ds = oc(design.replace(toxicity=None), [float(p)])
    return {v: float(ds[v].values[0]) for v in ("p_efficacy", "expected_n")}


def _tox_where(d: Design, at: float) -> str:
    """Where the worst-case type I error of a co-monitored design lies, in words.

    It is the efficacy rules' alone: a trial stopped for toxicity declares nothing, so the
    monitor can only lower P(declare efficacy), and a monitor that stops on no count of 0
    never stops when no patient has the event, where the bound is attained.
    """
    m = d.toxicity
    assert m is not None
    if all(c >= 1 for c in m.boundaries()):
        return (f"over p ≤ {_p(d.p0)} and every toxicity rate, attained at p = {_rate(at)} when "
                "no patient has the event: the toxicity monitor can only lower it, since a "
                "trial stopped for toxicity declares nothing")
    return (f"over p ≤ {_p(d.p0)} of the efficacy rules alone, attained at p = {_rate(at)}: an "
            "upper bound at every toxicity rate, since a trial stopped for toxicity declares "
            "nothing")


def _multi_box(ctx: _Ctx, it: _Item, summary: Any) -> Box:
    d = it.design
    safe = _slug(d.name)
    f = _multi_figures(ctx, d, summary)
    a_t, b_t = ctx.alpha_of(d), ctx.power_of(d)
    nr = _borrowing(ctx, d).null_region
    rows: list[tuple[str, str]] = [
        ("Populations", "; ".join(f"cohort {c.name}: {_population(d, c.name)}"
                                  for c in d.cohorts) + "."),
        ("Endpoint", ENDPOINT),
        ("Hypotheses", "; ".join(f"cohort {c.name}: H0: p ≤ {_p(c.p0)}, H1: p = {_p(c.p1)}"
                                 for c in d.cohorts) + "."),
        ("Analyses and maximum N",
         "; ".join(f"cohort {c.name} after {_looks_text(c.looks)} evaluable patients, maximum "
                   f"N = {c.looks[-1]}" for c in d.cohorts)
         + f"; the cohorts are analysed together at each of the {d.n_looks} looks."),
        ("Borrowing model and priors", f"{d.model.describe()}."),
        ("Effective sample size", "Not a single number under borrowing: what a cohort borrows "
         "depends on the other cohorts' data. The type I error is therefore maximised over the "
         "whole null region (below)."),
    ]
    for c in d.cohorts:
        for slot, label in (("futility", "futility rule"), ("efficacy", "efficacy rule (interim)"),
                            ("final", "final analysis")):
            r = d.rule(slot, c.name)
            if r is not None:
                lead = "At the interim analyses: " if slot != "final" else \
                    f"After {c.looks[-1]} evaluable patients: "
                rows.append((f"Cohort {c.name}: {label}",
                             (lead + r.describe(slot)).replace("<=", "≤").replace(">=", "≥")
                             + ", with P computed under the borrowing model from all cohorts' "
                             "data."))
    rows.append(("Boundaries", "The complete rule as integers, given the other cohort's "
                 "responses, in {tab:decision-table-" + safe + "}; per cohort with the other "
                 "cohorts at their null rates in {tab:boundaries-" + safe + "}. The operating "
                 "characteristics treat every stopping rule as binding."))
    rows.append(("Type I error", f"Target ≤ {a_t:g} for every cohort; achieved, as the exact "
                 "worst case over the whole null region: "
                 + "; ".join(f"cohort {c} {_fmt_prob(v['max_type1'], a_t)} "
                             f"(with {v['max_type1_at']})"
                             + (" — ABOVE the target" if v["max_type1"] > a_t + 1e-12 else "")
                             for c, v in f.items()) + "."))
    rows.append(("FWER", f"{_fmt_prob(nr.fwer_global_null, a_t)} at the global null (every "
                 f"cohort at its p0); worst case over the null region "
                 f"{_fmt_prob(nr.max_fwer, a_t)} (exact)."))
    rows.append(("Power", f"Target ≥ {b_t:g} for every cohort; achieved (exact) under every "
                 "joint scenario in which the cohort works: "
                 + "; ".join(f"cohort {c} " + ", ".join(
                     f"{_fmt_prob(p, b_t)} ({s}" + (", BELOW the target)" if p < b_t - 1e-12
                                                    else ")") for s, p in v["powers"])
                     for c, v in f.items() if v["powers"]) + "."))
    rows = [(label, text[:1].upper() + text[1:]) for label, text in rows]
    return Box(f"design-{safe}", f"{d.name}: {d.title}" if d.title else d.name, tuple(rows),
               note=f"Notes: {d.notes}" if d.notes else "")


def _specification(ctx: _Ctx) -> tuple[list[Any], Any]:
    summary = ctx.summary
    if summary is None:  # the summary section builds it
        designs = [i.design for i in ctx.items]
        nulls = {i.design.name: _borrowing(ctx, i.design).null_region
                 for i in ctx.items if i.multi}
        summary = compare(designs, ctx.grid, results=_datasets(ctx), null_regions=nulls)
    blocks: list[Any] = [Para(
        "One specification box per design: population, endpoint, hypotheses, analyses, prior, "
        "decision rules, and the type I error and power targets next to the values achieved. "
        "The design file follows each box verbatim, with its hash."
    )]
    for it in ctx.items:
        d = it.design
        blocks.append(Heading(3, f"Design {d.name}"))
        blocks.append(_multi_box(ctx, it, summary) if it.multi else _single_box(ctx, it))
        where = f"design file {it.path}" if it.path else "design, written as a design file"
        blocks.append(Para(f"The {where} (design hash {d.hash[:16]}):", "note"))
        blocks.append(Code(_design_file(it), "toml"))
    return blocks, None


# ---- boundaries -------------------------------------------------------------------
def _boundaries(ctx: _Ctx) -> tuple[list[Any], Any]:
    import pandas as pd

    blocks: list[Any] = [
        Para(
            "Protocol form: r is the number of confirmed responses among the first n "
            "evaluable patients. An empty cell means the look cannot stop for that reason."
        )
    ]
    for it in ctx.items:
        d = it.design
        safe = _slug(d.name)
        if it.multi:
            frame = pd.DataFrame(d.boundary_table())
            blocks.append(Para(
                f"{d.name}: {{tab:decision-table-{safe}}} is the complete pre-specified rule as "
                f"integers; {{tab:boundaries-{safe}}} summarises it with every other cohort at "
                "its null rate."
            ))
            blocks.append(_tab(
                f"boundaries-{safe}", frame, f"{d.name}: boundaries per cohort, the other "
                "cohorts at their null rates",
                [Col("look", "Look", "int"), Col("cohort", "Cohort", "text"),
                 Col("n", "Evaluable patients (n)", "int"),
                 Col("futility_max_r", "Stop for futility if responses ≤", "int"),
                 Col("efficacy_min_r", "Declare efficacy if responses ≥", "int"),
                 Col("others_at", "Other cohorts' responses", "text")],
                note="Under borrowing a cohort's boundary depends on the other cohorts' data; "
                "shown with every other cohort's responses at its null rate. The exact OC use "
                "the whole joint outcome lattice.",
            ))
            blocks.append(_tab(
                f"decision-table-{safe}", _decision_frame(d),
                f"{d.name}: the pre-specified rule as integers — responses each cohort needs, "
                "given the other cohort's responses",
                [Col("look", "Look", "int"), Col("cohort", "Cohort", "text"),
                 Col("n", "Evaluable patients (n)", "int"),
                 Col("others", "Other cohort (patients)", "text"),
                 Col("others_r", "Other cohort's responses", "text"),
                 Col("futility_max_r", "Stop for futility (final: fail) if r ≤", "int"),
                 Col("efficacy_min_r", "Declare efficacy (final: succeed) if r ≥", "int"),
                 Col("analysis", "Analysis", "text")],
                note="Read a row as: at this look, with the other cohort at the stated number of "
                "evaluable patients (running, or stopped earlier with its data at stopping) and a "
                "response count in the stated range, the cohort stops for futility (at the final "
                "look: fails) with at most the first count of responses among its n patients, and "
                "stops for efficacy (at the final look: succeeds) with at least the second. The "
                "table is the complete rule: the exact OC follow from it alone.",
            ))
            continue
        frame = d.boundaries().to_frame().reset_index()
        frame["rule"] = [str(t).replace("<=", "≤").replace(">=", "≥") for t in frame["rule"]]
        blocks.append(Para(f"{d.name}: {{tab:boundaries-{safe}}} gives the boundaries and "
                           f"{{fig:boundaries-{safe}}} draws them"
                           + (f"; its toxicity boundary is in {{tab:safety-boundaries-{safe}}}."
                              if _monitored(d) else ".")))
        blocks.append(_tab(
            f"boundaries-{safe}", frame, f"{d.name}: stopping boundaries",
            [Col("look", "Look", "int"), Col("n", "Evaluable patients (n)", "int"),
             Col("futility_max_r", "Stop for futility if responses ≤", "int"),
             Col("efficacy_min_r", "Declare efficacy if responses ≥", "int"),
             Col("rule", "Rule in words", "text")],
        ))
        blocks.append(Figure(
            f"boundaries-{safe}", to_svg(boundary_chart(d)), f"{d.name}: boundaries by look",
            alt=f"Chart of the {d.name} design: at each look (evaluable patients on the x axis) "
            "the largest response count that stops for futility and the smallest that declares "
            "efficacy.",
        ))
        inc = d.boundaries().incoherences()
        if inc:
            blocks.append(Para(f"{d.name}: incoherent interim rule: {'; '.join(inc)}.", "warning"))
    return blocks, None


def _decision_frame(design: Any) -> Any:
    """:meth:`CohortDesign.decision_table` in protocol form (ranges as text, missing empty)."""
    import pandas as pd

    frame = pd.DataFrame(design.decision_table())
    if "other_r_from" in frame:
        others_r = [f"{a}" if a == b else f"{a}–{b}"
                    for a, b in zip(frame["other_r_from"], frame["other_r_to"], strict=True)]
    else:
        others_r = [str(x) for x in frame["others_r"]]
    return pd.DataFrame({
        "look": frame["look"],
        "cohort": frame["cohort"],
        "n": frame["n"],
        "others": frame["others"],
        "others_r": others_r,
        "futility_max_r": [None if pd.isna(a) else int(a) for a in frame["futility_max_r"]],
        "efficacy_min_r": [None if pd.isna(b) else int(b) for b in frame["efficacy_min_r"]],
        "analysis": ["final" if f else "interim" for f in frame["final"]],
    })


# ---- priors -----------------------------------------------------------------------
def _priors(ctx: _Ctx) -> tuple[list[Any], Any]:
    import pandas as pd

    blocks: list[Any] = []
    for g in ctx.groups:
        priors = {}
        rows = []
        users = [it for it in g.items if _uses_prior(it.design)]
        if not users:
            continue
        safe = _slug(g.name)
        blocks.append(Heading(3, f"Analysis priors of the {g.name} cohort"))
        for it in users:
            d = it.design
            spec = d.prior_spec
            tab = ess_table(d.prior)
            mix = as_mixture(d.prior)
            lo, hi = d.prior.interval(0.95) if hasattr(d.prior, "interval") else (np.nan, np.nan)
            rows.append({
                "design": d.name,
                "construction": spec.describe(),
                "source": spec.source or "not stated",
                "a0": spec.power if spec.historical is not None else None,
                "robust_weight": spec.robust[0] if spec.robust else None,
                "mean": mix.mean,
                "interval": f"{cell(lo, 'prob')} to {cell(hi, 'prob')}",
                **{f"ess_{m}": tab[m]["value"] for m in ("elir", "moment", "morita")},
                **{f"ess_{m}_text": _ess_text(tab[m]["value"], tab[m]["reason"], m.upper()
                                              if m == "elir" else m)
                   for m in ("elir", "moment", "morita")},
            })
            priors[d.name] = d.prior
        frame = pd.DataFrame(rows)
        blocks.append(Para(f"{{tab:priors-{safe}}} describes each analysis prior of the "
                           f"{g.name} cohort with its effective sample size (ESS); "
                           f"{{fig:priors-{safe}}} draws them."))
        blocks.append(_tab(
            f"priors-{safe}", frame, f"Analysis priors, cohort {g.name}",
            [Col("design", "Design", "text"), Col("construction", "Construction", "text"),
             Col("source", "Source", "text"), Col("a0", "Power-prior weight a0", "num"),
             Col("robust_weight", "Robust weight", "num"), Col("mean", "Prior mean", "prob"),
             Col("interval", "95% interval", "text"),
             *[Col(f"ess_{m}", f"ESS ({label})", "text", values=frame[f"ess_{m}_text"])
               for m, label in (("elir", "ELIR"), ("moment", "moment"), ("morita", "Morita"))]],
            note=_ESS_NOTE,
        ))
        hist = {it.design.prior_spec.historical for it in users} - {None}
        for r, n in sorted(hist):
            label = f"historical {r:g}/{n:g} alone (Beta(0.5, 0.5) base)"
            priors[label] = Beta(0.5 + r, 0.5 + n - r)
        fig = prior_density(priors, p0=None if math.isnan(g.p0) else g.p0, p1=g.p1)
        blocks.append(Figure(
            f"priors-{safe}", to_svg(fig),
            f"Analysis priors of cohort {g.name} with the planning values p0 and p1 (dashed)",
            alt=f"Density curves of the analysis priors of the {g.name} cohort's designs"
            + (" and of the historical data alone" if hist else "")
            + ", over the response rate from 0 to 1, with p0 and p1 marked by dashed lines.",
        ))
    for it in [i for i in ctx.items if i.multi]:
        blocks += _model_block(it)
    return blocks, None


_ESS_NOTE = (
    "ESS by ELIR (Neuenschwander et al. 2020; expected local information ratio), by moment "
    "matching (a + b of the Beta with the same mean and variance), and by Morita et al. (2008) "
    "at the prior mean. For a mixture whose components disagree strongly, ELIR is negative: "
    "that is not a sample size, so no ESS is shown ('not defined'); it is also undefined when "
    "two components are unbounded at the same end."
)


def _model_block(it: _Item) -> list[Any]:
    import pandas as pd

    d = it.design
    m = d.model
    safe = _slug(d.name)
    blocks: list[Any] = [Heading(3, f"Borrowing model of {d.name}")]
    hyper = {
        "kind": m.kind,
        "scale": m.scale,
        "mu prior": f"N({m.mu_mean:g}, {m.mu_sd:g}^2)",
        "tau prior": (f"fixed at {m.tau_scale:g}" if m.tau_prior == "fixed"
                      else f"{m.tau_prior.replace('_', '-')}({m.tau_scale:g})"
                      + (f", df {m.tau_df:g}" if m.tau_prior == "half_t" else "")),
    }
    if m.kind == "exnex":
        hyper["exchangeability weight"] = f"{m.weight:g}"
    if m.kind in ("exnex", "independent"):
        hyper["NEX prior"] = f"N({m.nex_mean:g}, {m.nex_sd:g}^2) on theta_j"
    blocks.append(Para(f"{m.describe()}. {{tab:model-{safe}}} lists the hyperpriors."))
    blocks.append(_tab(
        f"model-{safe}", pd.DataFrame([{"parameter": k, "value": v} for k, v in hyper.items()]),
        f"{d.name}: hyperpriors",
        [Col("parameter", "Parameter", "text"), Col("value", "Value", "text")],
    ))
    if m.historical:
        rows = [
            {
                "stratum": h.name,
                "r": h.r,
                "n": h.n,
                "link": f"tied to {h.tie} (sd {h.tie_sd:g})" if h.tie else "exchangeable",
                "weight": h.weight,
            }
            for h in m.historical
        ]
        blocks.append(_tab(
            f"historical-{safe}", pd.DataFrame(rows), f"{d.name}: historical strata",
            [Col("stratum", "Stratum", "text"), Col("r", "Responses (r)", "int"),
             Col("n", "Patients (n)", "int"), Col("link", "Link to the cohorts", "text"),
             Col("weight", "Weight (a0)", "num")],
        ))
        free = [h for h in m.historical if h.tie is None]
        if free and m.kind == "hierarchical":
            mp_rows = []
            for c in d.cohorts:
                mp = map_prior(free, p0=c.p0, model=m)
                mp_rows.append({
                    "cohort": c.name,
                    "mean": mp.mean,
                    "mixture": str(mp.mixture),
                    "ess_elir": ess(mp.mixture),
                    "kl": mp.kl,
                })
            frame = pd.DataFrame(mp_rows)
            blocks.append(_tab(
                f"map-{safe}", frame,
                f"{d.name}: meta-analytic-predictive prior from the exchangeable historical "
                "strata, per cohort (quadrature, no MCMC)",
                [Col("cohort", "Cohort", "text"), Col("mean", "MAP mean", "prob"),
                 Col("mixture", "Beta-mixture approximation", "text"),
                 Col("ess_elir", "ESS (ELIR)", "text",
                     values=[_ess_text(v) for v in frame["ess_elir"]]),
                 Col("kl", "KL divergence (nats)", "num")],
            ))
    return blocks


# ---- prior-data conflict ----------------------------------------------------------
def _conflict(ctx: _Ctx) -> tuple[list[Any], Any]:
    import pandas as pd

    rows = []
    for g in ctx.groups:
        for it in g.items:
            d = it.design
            if not _uses_prior(d):
                continue
            n = d.n_max
            for s in g.scenarios:
                r = round(s.p * n)
                c = conflict(d.prior, r, n)
                post = d.prior.update(r=r, n=n)
                comps = as_mixture(d.prior)
                label = [f"Beta({a:g}, {b:g})" for a, b in zip(comps.a, comps.b, strict=True)]
                rows.append({
                    "design": d.name,
                    "data": f"{r}/{n}",
                    "p": s.p,
                    "p_lower": c.p_lower,
                    "p_box": c.p_box,
                    "prior_weights": "; ".join(
                        f"{w:.3f} {lab}" for w, lab in zip(c.prior_weights, label, strict=True)),
                    "posterior_weights": "; ".join(
                        f"{w:.3f} {lab}" for w, lab in zip(c.posterior_weights, label,
                                                          strict=True)),
                    "posterior_mean": post.mean,
                })
    if not rows:
        return [], None
    blocks: list[Any] = [
        Para(
            "The analysis prior (used in the decision rules) and the design prior (the true "
            "response rates of the scenarios, fixed in each scenario) are distinct: the "
            "operating characteristics are frequentist properties at fixed true rates. "
            "{tab:conflict} shows how each analysis prior reacts when the final data disagree "
            "with it: the prior-predictive probability of data as low as those observed "
            "(P(R ≤ r)), Box's prior-predictive p-value, and the posterior weight of each "
            "mixture component."
        ),
        _tab(
            "conflict", pd.DataFrame(rows),
            "Prior-data conflict at the final analysis for data at each scenario rate",
            [Col("design", "Design", "text"), Col("data", "Final data (r/n)", "text"),
             Col("p", "True rate", "num"), Col("p_lower", "P(R ≤ r) under the prior", "prob"),
             Col("p_box", "Box p-value", "prob"), Col("prior_weights", "Prior weights", "text"),
             Col("posterior_weights", "Posterior weights", "text"),
             Col("posterior_mean", "Posterior mean", "prob")],
            note="Each weight is followed by its prior component, Beta(a, b).",
        ),
    ]
    return blocks, None


# ---- scenarios ----------------------------------------------------------------------
def _scenarios(ctx: _Ctx) -> tuple[list[Any], Any]:
    import pandas as pd

    rows = [
        {"cohort": g.name, "p0": None if math.isnan(g.p0) else g.p0, "p1": g.p1,
         "scenario": s.name, "p": s.p, "role": s.role}
        for g in ctx.groups
        for s in g.scenarios
    ]
    blocks: list[Any] = []
    if rows:
        blocks.append(Para("{tab:scenarios} lists the true response rates of each cohort and "
                           "whether P(declare efficacy) there is a type I error (null), a power "
                           "(alternative) or neither (other)."))
        blocks.append(_tab(
            "scenarios", pd.DataFrame(rows), "Scenario grid per cohort",
            [Col("cohort", "Cohort", "text"), Col("p0", "p0", "num"), Col("p1", "p1", "num"),
             Col("p", "True rate", "num"), Col("role", "Role", "text")],
        ))
    multi = ctx.grid.multi if ctx.grid is not None else ()
    if not multi:
        multi = next((i.design.scenarios for i in ctx.items if i.multi), ())
    if multi:
        mrows = [{"scenario": s.name, **dict(s.rates)} for s in multi]
        frame = pd.DataFrame(mrows)
        cohorts = [c for c in frame.columns if c != "scenario"]
        blocks.append(Para("{tab:scenarios-multi} lists the joint scenarios of the multi-cohort "
                           "designs: global null and alternative, mixed and optimistic."))
        blocks.append(_tab(
            "scenarios-multi", frame,
            "Joint scenarios of the multi-cohort designs (true response rates)",
            [Col("scenario", "Scenario", "text"),
             *[Col(c, f"True rate, {c}", "num") for c in cohorts]],
        ))
    if ctx.n_sims:
        blocks.append(Para(
            "Trial-conduct variations (accrual, response-assessment delay, non-evaluable "
            "patients, interim behaviour) are listed in {sec:conduct}."
        ))
    return blocks, None
