"""Sections of the appendix about operating characteristics.

Exact OC, type I error over the null space and over the whole null region (with
the matched-alpha comparison) and the exact calibration check.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from adaptive2._base.errors import DesignError
from adaptive2.engines.calibration import calibrate, parameters_of, worst_case_alpha
from adaptive2.engines.cohort_calibration import calibrate_cohorts
from adaptive2.engines.compare import oc_rows
from adaptive2.engines.null_region import null_region
from adaptive2.views.document import (
    Figure,
    Heading,
    Para,
    Table,
)
from adaptive2.views.figures import to_svg
from adaptive2.views.oc_plots import cohort_oc_plot, oc_curves
from adaptive2.views.report.context import (
    _borrowing,
    _cohort_oc,
    _Ctx,
    _multi_scenarios,
    _p,
    _single_oc,
    _slug,
)
from adaptive2.views.result_plots import null_region_plot


def _oc(ctx: _Ctx) -> tuple[list[Any], Any]:
    import pandas as pd


    blocks: list[Any] = []
    shown = ["scenario", "p", "label", "p_efficacy", "p_futility", "p_early_stop", "expected_n",
             "sd_n"]
    for g in ctx.groups:
        blocks.append(Heading(3, f"Cohort {g.name}"))
        designs = [i.design for i in g.items]
        blocks.append(
            Figure(
                f"oc-curves-{_slug(g.name)}",
                to_svg(oc_curves(designs)),
                f"Cohort {g.name}: P(efficacy) and expected N against the true response rate "
                "(exact)",
            )
        )
        for d in designs:
            ds = _single_oc(ctx, d, g.scenarios)
            frame = pd.DataFrame(oc_rows(d, ds))
            correct = np.where(frame["role"] == "null", 1 - frame["p_efficacy"],
                               np.where(frame["role"] == "alternative", frame["p_efficacy"],
                                        np.nan))
            frame = frame[shown].assign(**{"P(correct decision)": correct})
            look_rows = []
            for si, sname in enumerate(ds["scenario"].values):
                for k, nk in enumerate(ds["look_n"].values):
                    lr = {"scenario": str(sname), "look": k + 1, "n": int(nk)}
                    for ri, reason in enumerate(ds["reason"].values):
                        lr[f"P(stop: {reason})"] = float(ds["p_stop_at"].values[si, k, ri])
                    lr["P(N = n)"] = float(ds["p_n"].values[si, k])
                    look_rows.append(lr)
            safe = _slug(d.name)
            blocks.append(Table(f"oc-{safe}", frame, f"{d.name}: exact OC per scenario"))
            lf = pd.DataFrame(look_rows)
            lf = lf.loc[:, (lf != 0).any(axis=0)]
            blocks.append(
                Table(
                    f"oc-by-look-{safe}",
                    lf,
                    f"{d.name}: stopping probabilities by look and reason, and P(N = n)",
                    note="At the final look 'futility' is a failed final analysis.",
                )
            )
    for it in [i for i in ctx.items if i.multi]:
        d = it.design
        ds = _cohort_oc(ctx, d, _multi_scenarios(ctx, d))
        frame = pd.DataFrame(oc_rows(d, ds))
        frame = frame[["scenario", "cohort", *shown[1:], "fwer", "p_all_correct"]].rename(
            columns={"fwer": "FWER", "p_all_correct": "P(all correct)"}
        )
        look_rows = [
            {
                "scenario": str(sname),
                "cohort": str(cname),
                "look": k + 1,
                **{
                    f"P(stop: {reason})": float(ds["p_stop_at"].values[si, ci, k, ri])
                    for ri, reason in enumerate(ds["reason"].values)
                },
            }
            for si, sname in enumerate(ds["scenario"].values)
            for ci, cname in enumerate(ds["cohort"].values)
            for k in range(ds.sizes["look"])
        ]
        safe = _slug(d.name)
        blocks.append(Heading(3, f"{d.name} (joint, with borrowing)"))
        blocks.append(
            Figure(f"oc-{safe}", to_svg(cohort_oc_plot(ds)), f"{d.name}: P(efficacy) per scenario "
                   "and cohort (exact)")
        )
        blocks.append(
            Table(
                f"oc-{safe}",
                frame,
                f"{d.name}: exact OC per scenario and cohort",
                note="FWER: P(any efficacy claim in a cohort whose true rate is at or below its "
                "p0). P(all correct): every cohort's decision matches its role (a cohort whose "
                "rate lies between p0 and p1 counts as correct whatever is decided).",
            )
        )
        blocks.append(
            Table(f"oc-by-look-{safe}", pd.DataFrame(look_rows),
                  f"{d.name}: stopping probabilities by look and reason")
        )
    return blocks, None


def _type1(ctx: _Ctx) -> tuple[list[Any], Any]:
    import pandas as pd


    blocks: list[Any] = []
    rows = []
    for g in ctx.groups:
        for it in g.items:
            d = it.design
            if d.p0 is None or hasattr(d.p0, "a"):
                continue  # no fixed null rate: no null space to maximise over
            a, where = worst_case_alpha(d)
            row = {
                "design": d.name,
                "cohort": g.name,
                "worst-case type I error": a,
                "at p": where,
                "null space": f"p <= {_p(d.p0)}",
            }
            if d.futility is not None:
                nb = d.replace(futility=None)
                row["ignoring futility (non-binding)"] = worst_case_alpha(nb)[0]
            rows.append(row)
    if rows:
        blocks.append(
            Para(
                "Single-cohort designs: the type I error is evaluated exactly on 101 rates in "
                "[0, p0] and at p0 itself; the maximum is reported with where it lies. "
                "The last column gives the type I error if the futility rule is not followed "
                "(non-binding futility), which bounds the error of any futility behaviour."
            )
        )
        blocks.append(Table("type1-single", pd.DataFrame(rows), "Worst-case type I error"))
    for it in [i for i in ctx.items if i.multi]:
        blocks += _null_region_blocks(ctx, it.design)
    cal = _calibration_rows(ctx)
    if cal:
        blocks.append(Heading(3, "How the thresholds compare with exact calibration"))
        blocks.append(
            Para(
                f"For each design the final threshold is re-calibrated here, exactly, to a "
                f"worst-case type I error of at most {ctx.alpha:g} with everything else fixed "
                "(adaptive2 calibrate: a search over the distinct boundary tables). 'same "
                "boundaries' says whether the design's own threshold already gives the calibrated "
                "boundary table; the last column quotes the design file's notes (where a file "
                "records how its thresholds were chosen, it says so there or in its comments)."
            )
        )
        blocks.append(Table("calibration", pd.DataFrame(cal), "Exact calibration check"))
    return blocks, None


def _null_region_blocks(ctx: _Ctx, d: Any) -> list[Any]:
    """A multi-cohort design's type I error over the whole null region, and the trade-off."""
    import pandas as pd


    bs = _borrowing(ctx, d)
    nr = bs.null_region
    safe = _slug(d.name)
    ranges = "; ".join(f"{c} in [{lo:g}, {hi:g}]" for c, (lo, hi) in nr.ranges.items())
    claim = ""
    if nr.alpha is not None:
        ok = all(nr.within().values())
        claim = (f" The design claims alpha = {nr.alpha:g} for every cohort: the claim "
                 + ("holds." if ok else "does NOT hold for "
                    + ", ".join(c for c, v in nr.within().items() if not v) + "."))
    fw = nr.argmax_fwer or {"rates": {}, "null_cohorts": []}
    where = ", ".join(f"{k} = {v:.4f}" for k, v in fw["rates"].items())
    ctx.note(f"{d.name}: null-region type I error", "exact (lattice dynamic programme), grid "
             f"then local refinement to {nr.tol:g}", mcse=0.0, evaluations=nr.evaluations)
    blocks: list[Any] = [
        Heading(3, f"{d.name}: type I error over the whole null region"),
        Para(
            "Under borrowing a null cohort's chance of a false efficacy claim depends on the "
            "other cohorts' true rates. Each cohort's type I error is therefore maximised, "
            "exactly, over its own rate anywhere in [0, p0] and the other cohorts' rates "
            f"anywhere in their plausible range ({ranges}): a grid, then successively finer "
            f"grids around the best points to a resolution of {nr.tol:g} in the rates "
            f"({nr.evaluations} rate vectors evaluated exactly)." + claim
        ),
        Table(f"null-region-{safe}", _null_table(d, nr),
              f"{d.name}: type I error supremum per cohort",
              note="The last column ignores the futility rule (non-binding futility): it bounds "
              "the type I error whatever the futility stops."),
        Para(
            f"Family-wise error rate (P(any null cohort declared efficacious)): "
            f"{nr.fwer_global_null:.4f} at the global null (every cohort at its p0); "
            f"supremum over every configuration with at least one null cohort "
            f"{nr.max_fwer:.4f}, at {where} (null: {', '.join(fw['null_cohorts'])})."
        ),
        Figure(
            f"null-region-{safe}",
            to_svg(null_region_plot(bs, listed=_cohort_oc(ctx, d, _multi_scenarios(ctx, d)))),
            f"{d.name}: each cohort's type I error (top) and its power at p1 (bottom) against "
            "the other cohort's true rate, with borrowing and with independent analysis at "
            "matched alpha; listed scenarios marked; grey: outside the declared range (exact)",
        ),
        Table(
            f"matched-type1-{safe}",
            bs.type1.reset_index(),
            f"{d.name}: type I error with borrowing and with independent analysis",
            note="type1_same_cutoffs: the same cutoffs, no borrowing across cohorts; "
            "type1_inflation = max_type1 − type1_same_cutoffs. type1_independent: the "
            "independent twin re-calibrated (independent_cutoff) to the largest type I error "
            "not above max_type1, i.e. at matched alpha. All exact.",
        ),
        Table(
            f"matched-power-{safe}",
            pd.DataFrame(bs.power),
            f"{d.name}: power with borrowing and independent at matched alpha",
            note="power_gain = power with borrowing − power of the matched independent twin; "
            "negative where borrowing from a cohort that does not work pulls a working "
            "cohort down.",
        ),
    ]
    return blocks


def _null_table(design: Any, nr: Any) -> Any:
    """The null-region table, with the supremum when futility is ignored (non-binding)."""
    frame = nr.table()
    if design.futility is not None:
        free = null_region(dataclasses.replace(design, futility=None), ranges=nr.ranges,
                           fwer=False)
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
            params = [p for p in ("final.cutoff", "final.lambda") if p in parameters_of(d)]
            if not params:
                rows.append({"design": d.name, "parameter": "none (fixed boundaries)",
                             "design notes": record})
                continue
            res = calibrate(d, params[0], alpha=ctx.alpha)
            value = res.parameters[params[0]]
            rows.append(
                {
                    "design": d.name,
                    "parameter": params[0],
                    "calibrated value": value,
                    "calibrated worst-case type I error": res.alpha,
                    "same boundaries as the design": res.design.boundaries() == d.boundaries(),
                    "feasible": res.feasible,
                    "design notes": record,
                }
            )

    for it in [i for i in ctx.items if i.multi]:
        d = it.design
        target = d.alpha if d.alpha is not None else ctx.alpha
        try:
            cal = calibrate_cohorts(d, alpha=target, scenarios=())
        except DesignError as exc:  # e.g. a final rule that is not a posterior probability
            rows.append({"design": d.name, "parameter": "final cutoff per cohort",
                         "design notes": f"not calibrated: {exc}"})
            continue
        for c, r in cal.table.iterrows():
            own = float(d.rule("final", str(c)).cutoff)
            rows.append(
                {
                    "design": d.name,
                    "parameter": f"{c}: final.cutoff",
                    "calibrated value": r["cutoff"],
                    "calibrated worst-case type I error": r["max_type1"],
                    "same boundaries as the design": bool(r["gap_low"] < own < r["gap_high"]),
                    "feasible": bool(r["feasible"]),
                    "design notes": (d.notes or "not recorded in the design file")
                    + f" (null region, alpha {target:g})",
                }
            )
    return rows
