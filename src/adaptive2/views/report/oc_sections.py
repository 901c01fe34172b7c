"""Sections of the appendix about operating characteristics.

Exact OC, type I error over the null space and over the whole null region (with
the matched-alpha comparison) and the exact calibration check.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from adaptive2._base.errors import DesignError
from adaptive2.engines.calibration import calibrate, parameters_of
from adaptive2.engines.cohort_calibration import calibrate_cohorts
from adaptive2.engines.compare import oc_rows
from adaptive2.engines.null_region import null_region
from adaptive2.views.document import (
    Figure,
    Heading,
    Para,
)
from adaptive2.views.figures import to_svg
from adaptive2.views.oc_plots import cohort_oc_plot, oc_curves
from adaptive2.views.report.context import (
    READING,
    Col,
    _and,
    _borrowing,
    _cohort_oc,
    _Ctx,
    _efficacy_oc,
    _fmt_prob,
    _monitored,
    _multi_scenarios,
    _p,
    _rate,
    _slug,
    _tab,
    _tox_view,
)
from adaptive2.views.result_plots import null_region_plot

_OC_NOTE = (
    "Reading: P(declare efficacy) is the type I error where the true rate is at or below p0, "
    "the power where it is at or above p1, and neither in between. P(correct decision): "
    "1 − P(declare efficacy) under a null rate, P(declare efficacy) under an alternative one."
)


def _oc(ctx: _Ctx) -> tuple[list[Any], Any]:
    import pandas as pd

    blocks: list[Any] = []
    for g in ctx.groups:
        safe_g = _slug(g.name)
        blocks.append(Heading(3, f"Operating characteristics of the {g.name} cohort"))
        designs = [i.design for i in g.items]
        names = [d.name for d in designs]
        refs = ", ".join("{tab:oc-" + _slug(n) + "}" for n in names)
        monitored = [d for d in designs if _monitored(d)]
        tox_text = "".join(f"; {d.name} {_tox_view(d)}" for d in monitored)
        blocks.append(Para(
            f"{{fig:oc-curves-{safe_g}}} shows P(declare efficacy) and E[N] against the true "
            f"response rate for the designs of the {g.name} cohort; the OC per scenario are in "
            f"{refs}, each followed by its stopping probabilities by look."
            + "".join(f" {d.name} is co-monitored for toxicity: its curves and tables here are "
                      f"{_tox_view(d)} (a trial stopped for toxicity declares nothing); its OC "
                      f"at other toxicity rates are in {{tab:safety-oc-{_slug(d.name)}}}."
                      for d in monitored)
        ))
        blocks.append(Figure(
            f"oc-curves-{safe_g}", to_svg(oc_curves(designs)),
            f"Cohort {g.name}: P(declare efficacy) and expected N against the true response "
            f"rate (exact{tox_text})",
            alt=f"Two panels for the designs {_and(names)}: P(declare efficacy) (top) and "
            "expected sample size (bottom) against the true response rate, with p0 and p1 "
            "marked.",
        ))
        for d in designs:
            ds = _efficacy_oc(ctx, d, g.scenarios)
            frame = pd.DataFrame(oc_rows(d, ds))
            frame["label"] = [READING[r] for r in frame["role"]]
            frame["p_correct"] = np.where(
                frame["role"] == "null", 1 - frame["p_efficacy"],
                np.where(frame["role"] == "alternative", frame["p_efficacy"], np.nan))
            a_t, b_t = ctx.alpha_of(d), ctx.power_of(d)
            targets = [(a_t,) if r == "null" else (b_t,) if r == "alternative" else ()
                       for r in frame["role"]]
            safe = _slug(d.name)
            at = f", {_tox_view(d)}" if _monitored(d) else ""
            blocks.append(_tab(
                f"oc-{safe}", frame, f"{d.name}: exact OC per scenario{at}",
                [Col("p", "True rate", "num"), Col("label", "Reading", "text"),
                 Col("p_efficacy", "P(declare efficacy)", "prob", targets),
                 Col("p_futility", "P(stop for futility)", "prob"),
                 Col("p_early_stop", "P(stop early)", "prob"),
                 Col("expected_n", "E[N]", "mean1"), Col("sd_n", "SD(N)", "mean1"),
                 Col("p_correct", "P(correct decision)", "prob")],
                note=_OC_NOTE,
            ))
            look_rows = []
            for si, s in enumerate(ds["scenario"].values):
                for k, nk in enumerate(ds["look_n"].values):
                    lr: dict[str, Any] = {"scenario": str(s), "p": float(ds["p"].values[si]),
                                          "look": k + 1, "n": int(nk)}
                    for ri, reason in enumerate(ds["reason"].values):
                        lr[f"p_stop_{reason}"] = float(ds["p_stop_at"].values[si, k, ri])
                    lr["p_n"] = float(ds["p_n"].values[si, k])
                    look_rows.append(lr)
            lf = pd.DataFrame(look_rows)
            reasons = [str(r) for r in ds["reason"].values if (lf[f"p_stop_{r}"] != 0).any()]
            blocks.append(_tab(
                f"oc-by-look-{safe}", lf,
                f"{d.name}: stopping probabilities by look and reason, and P(N = n){at}",
                [Col("p", "True rate", "num"), Col("look", "Look", "int"),
                 Col("n", "Evaluable patients (n)", "int"),
                 *[Col(f"p_stop_{r}", f"P(stop for {r})", "prob") for r in reasons],
                 Col("p_n", "P(N = n)", "prob")],
                note="At the final look 'stop for futility' is a failed final analysis."
                + (" Stops for toxicity (between looks, or at a look before its efficacy "
                   "analysis) are not efficacy stops: they are in "
                   f"{{tab:safety-oc-{safe}}}, and P(N = n) at a look includes them."
                   if _monitored(d) else ""),
            ))
    for it in [i for i in ctx.items if i.multi]:
        d = it.design
        ds = _cohort_oc(ctx, d, _multi_scenarios(ctx, d))
        frame = pd.DataFrame(oc_rows(d, ds))
        frame["label"] = [READING[r] for r in frame["role"]]
        a_t, b_t = ctx.alpha_of(d), ctx.power_of(d)
        targets = [(a_t,) if r == "null" else (b_t,) if r == "alternative" else ()
                   for r in frame["role"]]
        look_rows = [
            {
                "scenario": str(sname),
                "cohort": str(cname),
                "look": k + 1,
                **{
                    f"p_stop_{reason}": float(ds["p_stop_at"].values[si, ci, k, ri])
                    for ri, reason in enumerate(ds["reason"].values)
                },
            }
            for si, sname in enumerate(ds["scenario"].values)
            for ci, cname in enumerate(ds["cohort"].values)
            for k in range(ds.sizes["look"])
        ]
        safe = _slug(d.name)
        blocks.append(Heading(3, f"Operating characteristics of {d.name} (joint, with "
                                 "borrowing)"))
        blocks.append(Para(
            f"{{fig:oc-{safe}}} shows each cohort's P(declare efficacy) in every joint "
            f"scenario; {{tab:oc-{safe}}} gives the OC per scenario and cohort and "
            f"{{tab:oc-by-look-{safe}}} the stopping probabilities by look."
        ))
        blocks.append(Figure(
            f"oc-{safe}", to_svg(cohort_oc_plot(ds)),
            f"{d.name}: P(declare efficacy) per scenario and cohort (exact)",
            alt=f"Bar chart of P(declare efficacy) of each cohort of {d.name} in each joint "
            "scenario.",
        ))
        blocks.append(_tab(
            f"oc-{safe}", frame, f"{d.name}: exact OC per scenario and cohort",
            [Col("scenario", "Scenario", "text"), Col("cohort", "Cohort", "text"),
             Col("p", "True rate", "num"), Col("label", "Reading", "text"),
             Col("p_efficacy", "P(declare efficacy)", "prob", targets),
             Col("p_futility", "P(stop for futility)", "prob"),
             Col("p_early_stop", "P(stop early)", "prob"),
             Col("expected_n", "E[N]", "mean1"), Col("sd_n", "SD(N)", "mean1"),
             Col("fwer", "FWER", "prob", (a_t,)),
             Col("p_all_correct", "P(all correct)", "prob")],
            note="FWER: P(any efficacy claim in a cohort whose true rate is at or below its "
            "p0). P(all correct): every cohort's decision matches its role (a cohort whose "
            "rate lies between p0 and p1 counts as correct whatever is decided).",
        ))
        lf = pd.DataFrame(look_rows)
        blocks.append(_tab(
            f"oc-by-look-{safe}", lf, f"{d.name}: stopping probabilities by look and reason",
            [Col("scenario", "Scenario", "text"), Col("cohort", "Cohort", "text"),
             Col("look", "Look", "int"),
             *[Col(f"p_stop_{r}", f"P(stop for {r})", "prob") for r in ds["reason"].values]],
        ))
    return blocks, None


def _type1(ctx: _Ctx) -> tuple[list[Any], Any]:
    import pandas as pd

    blocks: list[Any] = []
    rows = []
    monitored: list[str] = []
    for g in ctx.groups:
        for it in g.items:
            d = it.design
            if d.p0 is None or hasattr(d.p0, "a"):
                continue  # no fixed null rate: no null space to maximise over
            a, where = ctx.worst_alpha(d)
            if _monitored(d):
                monitored.append(d.name)
            rows.append({
                "design": d.name,
                "cohort": g.name,
                "alpha_target": ctx.alpha_of(d),
                "worst-case type I error": a,
                "at_p": where,
                "null_space": f"p ≤ {_p(d.p0)}",
                "ignoring futility (non-binding)": ctx.worst_alpha(d, binding=False)[0]
                if d.futility is not None else None,
            })
    if rows:
        frame = pd.DataFrame(rows)
        targets = [(t,) for t in frame["alpha_target"]]
        blocks.append(Para(
            "Single-cohort designs ({tab:type1-single}): the type I error is evaluated exactly "
            "on 101 rates in [0, p0] and at p0 itself; the maximum is reported with where it "
            "lies. The last column gives the type I error if the futility rule is not followed "
            "(non-binding futility), which bounds the error of any futility behaviour."
        ))
        blocks.append(_tab(
            "type1-single", frame, "Worst-case type I error of the single-cohort designs (exact)",
            [Col("design", "Design", "text"), Col("cohort", "Cohort", "text"),
             Col("alpha_target", "α target", "num"),
             Col("worst-case type I error", "Worst-case type I error", "prob", targets),
             Col("at_p", "At true rate", "num"), Col("null_space", "Null space", "text"),
             Col("ignoring futility (non-binding)", "Ignoring futility (non-binding)", "prob",
                 targets)],
            note=(f"{_and(monitored)} (co-monitored for toxicity): the efficacy rules alone, "
                  "the worst case over every toxicity rate, since a trial stopped for toxicity "
                  "declares nothing ({sec:safety})." if monitored else ""),
        ))
    for it in [i for i in ctx.items if i.multi]:
        blocks += _null_region_blocks(ctx, it.design)
    cal = _calibration_rows(ctx)
    if cal:
        frame = pd.DataFrame(cal)
        blocks.append(Heading(3, "How the thresholds compare with exact calibration"))
        blocks.append(Para(
            "For each design the final threshold is re-calibrated here, exactly, to its "
            "worst-case type I error target with everything else fixed (adaptive2 calibrate: a "
            "search over the distinct boundary tables); {tab:calibration} says whether the "
            "design's own threshold already gives the calibrated boundary table, and quotes "
            "the design file's notes (where a file records how its thresholds were chosen, it "
            "says so there or in its comments)."
        ))
        blocks.append(_tab(
            "calibration", frame, "Exact calibration check",
            [Col("design", "Design", "text"), Col("parameter", "Parameter", "text"),
             Col("alpha_target", "α target", "num"),
             Col("calibrated value", "Calibrated value", "num"),
             Col("calibrated worst-case type I error", "Calibrated worst-case type I error",
                 "prob", [(t,) for t in frame["alpha_target"]]),
             Col("same boundaries as the design", "Same boundaries as the design", "text"),
             Col("feasible", "Feasible", "text"), Col("design notes", "Design notes", "text")],
        ))
    return blocks, None


def _null_region_blocks(ctx: _Ctx, d: Any) -> list[Any]:
    """A multi-cohort design's type I error over the whole null region, and the trade-off."""
    import pandas as pd

    bs = _borrowing(ctx, d)
    nr = bs.null_region
    safe = _slug(d.name)
    a_t = ctx.alpha_of(d)
    ranges = "; ".join(f"{c} in [{lo:g}, {hi:g}]" for c, (lo, hi) in nr.ranges.items())
    claim = ""
    if nr.alpha is not None:
        ok = all(nr.within().values())
        claim = (f" The design claims α = {nr.alpha:g} for every cohort: the claim "
                 + ("holds." if ok else "does NOT hold for "
                    + ", ".join(c for c, v in nr.within().items() if not v) + "."))
    fw = nr.argmax_fwer or {"rates": {}, "null_cohorts": []}
    where = ", ".join(f"{k} = {_rate(round(v, 4))}" for k, v in fw["rates"].items())
    ctx.note(f"{d.name}: null-region type I error", "exact (lattice dynamic programme), grid "
             f"then local refinement to {nr.tol:g}", evaluations=nr.evaluations)
    matched = bs.type1.reset_index()
    power = pd.DataFrame(bs.power)
    blocks: list[Any] = [
        Heading(3, f"{d.name}: type I error over the whole null region"),
        Para(
            "Under borrowing a null cohort's chance of a false efficacy claim depends on the "
            "other cohorts' true rates. Each cohort's type I error is therefore maximised, "
            "exactly, over its own rate anywhere in [0, p0] and the other cohorts' rates "
            f"anywhere in their plausible range ({ranges}): a grid, then successively finer "
            f"grids around the best points to a resolution of {nr.tol:g} in the rates "
            f"({nr.evaluations:,} rate vectors evaluated exactly). {{tab:null-region-{safe}}} "
            f"gives the worst case per cohort and {{fig:null-region-{safe}}} draws it against "
            "the other cohort's rate." + claim
        ),
        _tab(
            f"null-region-{safe}", _null_table(d, nr),
            f"{d.name}: worst-case type I error per cohort over the null region (exact)",
            [Col("cohort", "Cohort", "text"), Col("p0", "p0", "num"),
             Col("max type I error", "Worst-case type I error", "prob", (a_t,)),
             Col("attained at", "Attained at", "text"),
             Col("neighbour range", "Other cohorts' range", "text"),
             Col("alpha", "α target", "num"), Col("within alpha", "Within the α target", "text"),
             Col("futility ignored (non-binding)", "Ignoring futility (non-binding)", "prob",
                 (a_t,))],
            note="The last column ignores the futility rule (non-binding futility): it bounds "
            "the type I error whatever the futility stops.",
        ),
        Para(
            f"Family-wise error rate (P(any null cohort declared efficacious)): "
            f"{_fmt_prob(nr.fwer_global_null, a_t)} at the global null (every cohort at its "
            f"p0); worst case over every configuration with at least one null cohort "
            f"{_fmt_prob(nr.max_fwer, a_t)}, at {where} (null: {', '.join(fw['null_cohorts'])})."
        ),
        Figure(
            f"null-region-{safe}",
            to_svg(null_region_plot(bs, listed=_cohort_oc(ctx, d, _multi_scenarios(ctx, d)))),
            f"{d.name}: each cohort's type I error (top) and its power at p1 (bottom) against "
            "the other cohort's true rate, with borrowing and with independent analysis at "
            "matched α; listed scenarios marked; grey: outside the declared range (exact)",
            alt=f"Line charts for {d.name}: for each cohort, the type I error at p0 and the "
            "power at p1 as the other cohort's true rate runs from 0 to 1, with borrowing and "
            "for an independent analysis calibrated to the same type I error.",
        ),
        Para(
            f"{{tab:matched-type1-{safe}}} compares the type I error with and without "
            f"borrowing; {{tab:matched-power-{safe}}} compares power with borrowing against an "
            "independent analysis re-calibrated to the same worst-case type I error, so every "
            "power gain there is at matched α."
        ),
        _tab(
            f"matched-type1-{safe}", matched,
            f"{d.name}: type I error with borrowing and with independent analysis",
            [Col("cohort", "Cohort", "text"),
             Col("max_type1", "Worst-case type I error with borrowing", "prob", (a_t,)),
             Col("attained_at", "Attained at", "text"),
             Col("type1_same_cutoffs", "Same cutoffs, no borrowing", "prob", (a_t,)),
             Col("type1_inflation", "Inflation from borrowing", "prob"),
             Col("type1_independent", "Independent analysis at matched α", "prob", (a_t,)),
             Col("design_cutoff", "Final cutoff of the design", "num"),
             Col("independent_cutoff", "Final cutoff, independent at matched α", "num")],
            note="Same cutoffs, no borrowing: the design's cutoffs with each cohort analysed "
            "alone; inflation from borrowing = worst case with borrowing − that. Independent "
            "analysis at matched α: the independent twin re-calibrated to the largest type I "
            "error not above the worst case with borrowing. All exact.",
        ),
        _tab(
            f"matched-power-{safe}", power,
            f"{d.name}: power with borrowing and independent analysis at matched α",
            [Col("cohort", "Cohort", "text"), Col("configuration", "True rates", "text"),
             Col("scenario", "Scenario", "text"),
             Col("power", "Power with borrowing", "prob", (ctx.power_of(d),)),
             Col("power_independent", "Power, independent analysis at matched α", "prob",
                 (ctx.power_of(d),)),
             Col("power_gain", "Power gain from borrowing (at matched α)", "prob")],
            note="Power gain = power with borrowing − power of the independent twin at the same "
            "worst-case type I error; negative where borrowing from a cohort that does not "
            "work pulls a working cohort down.",
        ),
    ]
    return blocks


def _null_table(design: Any, nr: Any) -> Any:
    """The null-region table, with the supremum when futility is ignored (non-binding)."""
    frame = nr.table()
    if design.futility is not None:
        # toxicity monitors off too: the null region is of the efficacy rules alone
        free = null_region(dataclasses.replace(design, futility=None, toxicity=None),
                           ranges=nr.ranges, fwer=False)
        frame["futility ignored (non-binding)"] = [
            free.cohorts[c].max_type1 for c in frame["cohort"]
        ]
    return frame


def _calibration_rows(ctx: _Ctx) -> list[dict[str, Any]]:
    rows = []
    for g in ctx.groups:
        for it in g.items:
            d = it.design
            if d.p0 is None or hasattr(d.p0, "a"):
                continue
            record = d.notes or "not recorded in the design file"
            target = ctx.alpha_of(d)
            params = [p for p in ("final.cutoff", "final.lambda") if p in parameters_of(d)]
            if not params:
                rows.append({"design": d.name, "parameter": "none (fixed boundaries)",
                             "alpha_target": target, "design notes": record})
                continue
            res = calibrate(d, params[0], alpha=target)
            rows.append({
                "design": d.name,
                "parameter": params[0],
                "alpha_target": target,
                "calibrated value": res.parameters[params[0]],
                "calibrated worst-case type I error": res.alpha,
                "same boundaries as the design": res.design.boundaries() == d.boundaries(),
                "feasible": res.feasible,
                "design notes": record,
            })
    for it in [i for i in ctx.items if i.multi]:
        d = it.design
        target = ctx.alpha_of(d)
        try:
            cal = calibrate_cohorts(d, alpha=target, scenarios=())
        except DesignError as exc:  # e.g. a final rule that is not a posterior probability
            rows.append({"design": d.name, "parameter": "final cutoff per cohort",
                         "alpha_target": target, "design notes": f"not calibrated: {exc}"})
            continue
        for c, r in cal.table.iterrows():
            own = float(d.rule("final", str(c)).cutoff)
            rows.append({
                "design": d.name,
                "parameter": f"{c}: final.cutoff",
                "alpha_target": target,
                "calibrated value": r["cutoff"],
                "calibrated worst-case type I error": r["max_type1"],
                "same boundaries as the design": bool(r["gap_low"] < own < r["gap_high"]),
                "feasible": bool(r["feasible"]),
                "design notes": (d.notes or "not recorded in the design file")
                + " (worst case over the null region)",
            })
    return rows
