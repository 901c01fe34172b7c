"""Sections of the appendix about the designs.

Summary, specification, boundary and decision tables, priors, prior-data conflict
and the scenario grid.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from adaptive2.engines.compare import compare
from adaptive2.engines.map_prior import map_prior
from adaptive2.model.priors import Beta, as_mixture, conflict, ess, ess_table
from adaptive2.views.document import (
    Bullets,
    Code,
    Figure,
    Heading,
    Para,
    Table,
)
from adaptive2.views.figures import to_svg
from adaptive2.views.oc_plots import boundary_chart
from adaptive2.views.report.context import (
    _borrowing,
    _Ctx,
    _datasets,
    _design_file,
    _Item,
    _p,
    _slug,
    _uses_prior,
)
from adaptive2.views.result_plots import prior_density


# ---- sections ---------------------------------------------------------------
def _summary(ctx: _Ctx) -> tuple[list[Any], Any]:

    designs = [i.design for i in ctx.items]
    nulls = {i.design.name: _borrowing(ctx, i.design).null_region for i in ctx.items if i.multi}
    summary = compare(designs, ctx.grid, results=_datasets(ctx), null_regions=nulls)
    ctx.note("Summary table, OC tables", "exact (dynamic programme / quadrature lattice)", mcse=0.0)
    shown = summary[
        ["design", "cohort", "scenario", "p", "label", "p_efficacy", "p_early_stop", "expected_n",
         "sd_n", "max_n", "fwer", "max_type1"]
    ].copy()
    if shown["fwer"].isna().all():
        shown = shown.drop(columns="fwer")
    if (shown["cohort"] == "").all():
        shown = shown.drop(columns="cohort")
    singles = [i.design for i in ctx.items if not i.multi]
    multis = [i.design for i in ctx.items if i.multi]
    text = (
        f"{len(ctx.items)} design(s) were evaluated under the scenario grid below: "
        f"{len(singles)} single-cohort and {len(multis)} multi-cohort design(s). "
        "p_efficacy is labelled type I error under a null scenario and power under an "
        "alternative one; a multi-cohort design has a row per scenario and cohort, so each "
        "cohort's power is shown under every joint scenario. max_type1 is the cohort's type I "
        "error supremum over the whole null region (its own rate anywhere at or below p0 and, "
        "under borrowing, the other cohorts' rates anywhere in their range). Every figure in "
        "this table is exact (no Monte Carlo error)."
    )
    blocks: list[Any] = [Para(text)]
    key = _key_figures(ctx, summary)
    if key:
        blocks.append(Bullets(tuple(key)))
    blocks.append(Table("summary", summary, "Operating characteristics, all designs", shown))
    return blocks, summary


def _key_figures(ctx: _Ctx, summary: Any) -> list[str]:
    out = []
    multi = {i.design.name for i in ctx.items if i.multi}
    for name, sub in summary.groupby("design", sort=False):
        if name in multi:
            out.extend(_multi_key_figures(ctx, str(name), sub))
            continue
        for cohort, s in sub.groupby("cohort", sort=False):
            null = s[s["role"] == "null"]
            alt = s[s["role"] == "alternative"]
            who = f"{name}" + (f" [{cohort}]" if cohort else "")
            parts = []
            if len(null):
                parts.append(f"largest type I error {null['p_efficacy'].max():.4f}")
            if len(alt):
                first = alt.sort_values("p").iloc[0]
                parts.append(f"power {first['p_efficacy']:.4f} at p = {first['p']:g}")
            if len(null):
                i = null["p"].idxmax()
                parts.append(
                    f"E[N] {null.loc[i, 'expected_n']:.1f} of {int(null.loc[i, 'max_n'])} "
                    f"at p = {null.loc[i, 'p']:g}"
                )
            out.append(f"{who}: " + ", ".join(parts) + ".")
    return out


def _multi_key_figures(ctx: _Ctx, name: str, sub: Any) -> list[str]:
    """Per cohort: the null-region worst case and the power under every joint alternative."""
    nr = ctx.borrowing[name].null_region
    out = []
    for cohort, s in sub.groupby("cohort", sort=False):
        sup = nr.cohorts[str(cohort)]
        where = ", ".join(f"{k} = {v:.3f}" for k, v in sup.argmax.items())
        parts = [f"type I error at most {sup.max_type1:.4f} over the whole null region "
                 f"(attained at {where})"]
        alt = s[s["role"] == "alternative"]
        if len(alt):
            powers = "; ".join(f"{r.p_efficacy:.3f} ({r.scenario})" for r in alt.itertuples())
            parts.append(f"power {powers}")
        out.append(f"{name} [{cohort}]: " + ", ".join(parts) + ".")
    out.append(
        f"{name}: FWER {nr.fwer_global_null:.4f} at the global null; its supremum over the null "
        f"region is {nr.max_fwer:.4f}"
        + (f" (design alpha {nr.alpha:g})." if nr.alpha is not None else ".")
    )
    return out


def _specification(ctx: _Ctx) -> tuple[list[Any], Any]:
    blocks: list[Any] = []
    for it in ctx.items:
        d = it.design
        blocks.append(Heading(3, d.name + (f" — {d.title}" if d.title else "")))
        if it.multi:
            lines = [
                f"Cohorts: {', '.join(c.name for c in d.cohorts)}; analyses are joint "
                f"({d.n_looks} looks).",
                f"Borrowing model: {d.model.describe()}.",
            ]
            for c in d.cohorts:
                lines.append(
                    f"Cohort {c.name}: p0 = {c.p0:g}, p1 = {c.p1}, maximum N = {c.looks[-1]}, "
                    f"looks after {', '.join(map(str, c.looks))} evaluable patients."
                )
                for slot in ("futility", "efficacy", "final"):
                    r = d.rule(slot, c.name)
                    if r is not None:
                        lines.append(f"  {c.name} {slot}: {r.describe(slot)}")
        else:
            lines = [
                f"Single-arm design; maximum N = {d.n_max} evaluable patients; analyses after "
                f"{', '.join(map(str, d.looks))} evaluable patients.",
                f"Planning values: p0 = {_p(d.p0)}, p1 = {_p(d.p1)}.",
                f"Analysis prior: {d.prior_spec.describe()}.",
            ]
            for slot in ("futility", "efficacy", "final"):
                r = getattr(d, slot)
                if r is not None:
                    lines.append(f"{slot.capitalize()}: {r.describe(slot)}.")
        binding = "Stopping rules are evaluated as binding in the operating characteristics below"
        if not it.multi and d.futility is not None:
            binding += (
                "; the type I error section also gives the error if futility stopping is "
                "ignored (non-binding futility)"
            )
        lines.append(binding + ".")
        blocks.append(Bullets(tuple(lines)))
        if d.notes:
            blocks.append(Para(f"Notes: {d.notes}", "note"))
        where = f"design file {it.path}" if it.path else "design (as a design file)"
        blocks.append(Para(f"The {where} (design hash {d.hash[:16]}):", "note"))
        blocks.append(Code(_design_file(it), "toml"))
    return blocks, None


def _boundaries(ctx: _Ctx) -> tuple[list[Any], Any]:
    import pandas as pd


    blocks: list[Any] = [
        Para(
            "Protocol form: r is the number of confirmed responses among the first n "
            "evaluable patients. A look without a futility (efficacy) entry cannot stop for "
            "futility (efficacy)."
        )
    ]
    for it in ctx.items:
        d = it.design
        safe = _slug(d.name)
        if it.multi:
            frame = pd.DataFrame(d.boundary_table())
            blocks.append(
                Table(
                    f"boundaries-{safe}",
                    frame,
                    f"{d.name}: boundaries per cohort",
                    note=(
                        "Under borrowing a cohort's boundary depends on the other cohorts' data; "
                        "shown with every other cohort at its null rate (others_at). The exact "
                        "OC use the whole joint outcome lattice."
                    ),
                )
            )
            blocks.append(
                Table(
                    f"decision-table-{safe}",
                    _decision_frame(d),
                    f"{d.name}: the pre-specified rule as integers — responses each cohort "
                    "needs, given the other cohort's responses",
                    note=(
                        "Read a row as: at this look, with the other cohort at the stated "
                        "number of evaluable patients (running, or stopped earlier with its data "
                        "at stopping) and a response count in the stated range, the cohort stops "
                        "for futility (at the final look: fails) with at most the first count "
                        "of responses among its n patients, and stops for efficacy (at the final "
                        "look: succeeds) with at least the second. The table is the complete "
                        "rule: the exact OC follow from it alone."
                    ),
                )
            )
            continue
        frame = d.boundaries().to_frame().reset_index()
        blocks.append(Table(f"boundaries-{safe}", frame, f"{d.name}: stopping boundaries"))
        blocks.append(
            Figure(f"boundaries-{safe}", to_svg(boundary_chart(d)), f"{d.name}: boundaries by look")
        )
        inc = d.boundaries().incoherences()
        if inc:
            blocks.append(Para(f"{d.name}: incoherent interim rule: {'; '.join(inc)}.", "warning"))
    return blocks, None


def _decision_frame(design: Any) -> Any:
    """:meth:`CohortDesign.decision_table` with protocol column names."""
    import pandas as pd

    frame = pd.DataFrame(design.decision_table())
    final = frame["final"]
    out = pd.DataFrame({
        "look": frame["look"],
        "cohort": frame["cohort"],
        "n": frame["n"],
        "other cohort (n)": frame["others"],
    })
    if "other_r_from" in frame:
        out["other cohort's responses"] = [
            f"{a}" if a == b else f"{a}-{b}"
            for a, b in zip(frame["other_r_from"], frame["other_r_to"], strict=True)
        ]
    else:
        out["other cohorts' responses"] = frame["others_r"]
    out["stop for futility / fail if r <="] = [
        "-" if pd.isna(a) else int(a) for a in frame["futility_max_r"]
    ]
    out["stop for efficacy / succeed if r >="] = [
        "-" if pd.isna(b) else int(b) for b in frame["efficacy_min_r"]
    ]
    out["analysis"] = ["final" if f else "interim" for f in final]
    return out


def _priors(ctx: _Ctx) -> tuple[list[Any], Any]:
    import pandas as pd


    blocks: list[Any] = []
    for g in ctx.groups:
        priors = {}
        rows = []
        users = [it for it in g.items if _uses_prior(it.design)]
        if not users:
            continue
        blocks.append(Heading(3, f"Cohort {g.name}"))
        for it in users:
            d = it.design
            spec = d.prior_spec
            tab = ess_table(d.prior)
            mix = as_mixture(d.prior)
            lo, hi = d.prior.interval(0.95) if hasattr(d.prior, "interval") else (np.nan, np.nan)
            rows.append(
                {
                    "design": d.name,
                    "construction": spec.describe(),
                    "source": spec.source or "not stated",
                    "discount (a0)": spec.power if spec.historical is not None else None,
                    "robust weight": spec.robust[0] if spec.robust else None,
                    "mean": mix.mean,
                    "95% interval": f"{lo:.3f} to {hi:.3f}",
                    "ESS (ELIR)": _ess(tab, "elir"),
                    "ESS (moment)": _ess(tab, "moment"),
                    "ESS (Morita)": _ess(tab, "morita"),
                }
            )
            priors[d.name] = d.prior
        frame = pd.DataFrame(rows)
        blocks.append(Table(f"priors-{_slug(g.name)}", frame, f"Analysis priors, cohort {g.name}",
                            note=_ESS_NOTE))
        hist = {it.design.prior_spec.historical for it in users} - {None}
        for r, n in sorted(hist):
            label = f"historical {r:g}/{n:g} alone (Beta(0.5, 0.5) base)"
            priors[label] = Beta(0.5 + r, 0.5 + n - r)
        fig = prior_density(priors, p0=None if math.isnan(g.p0) else g.p0, p1=g.p1)
        blocks.append(
            Figure(
                f"priors-{_slug(g.name)}",
                to_svg(fig),
                f"Analysis priors of cohort {g.name} with the planning values p0 and p1 (dashed)",
            )
        )
    for it in [i for i in ctx.items if i.multi]:
        blocks += _model_block(it)
    return blocks, None


_ESS_NOTE = (
    "ESS by ELIR (Neuenschwander et al. 2020; expected local information ratio), by moment "
    "matching (a + b of the Beta with the same mean and variance), and by Morita et al. (2008) "
    "at the prior mean. For a mixture, ELIR is negative when the components disagree strongly "
    "(the prior's local information is negative between its modes; the value still has ELIR's "
    "predictive consistency) and undefined when two components are unbounded at the same end."
)


def _ess(tab: dict[str, dict[str, Any]], method: str) -> Any:
    v = tab[method]["value"]
    return "n/a: " + str(tab[method]["reason"]) if v is None else round(float(v), 2)


def _model_block(it: _Item) -> list[Any]:
    import pandas as pd


    d = it.design
    m = d.model
    blocks: list[Any] = [Heading(3, f"Borrowing model of {d.name}")]
    hyper = {
        "kind": m.kind,
        "scale": m.scale,
        "mu prior": f"N({m.mu_mean:g}, {m.mu_sd:g}^2)",
        "tau prior": f"{m.tau_prior}({m.tau_scale:g})"
        + (f", df {m.tau_df:g}" if m.tau_prior == "half_t" else ""),
    }
    if m.kind == "exnex":
        hyper["exchangeability weight"] = str(m.weight)
    if m.kind in ("exnex", "independent"):
        hyper["NEX prior"] = f"N({m.nex_mean}, {m.nex_sd}^2) on theta_j"
    blocks.append(Para(f"{m.describe()}."))
    blocks.append(
        Table(
            f"model-{_slug(d.name)}",
            pd.DataFrame([{"parameter": k, "value": v} for k, v in hyper.items()]),
            f"{d.name}: hyperpriors",
        )
    )
    if m.historical:
        rows = [
            {
                "stratum": h.name,
                "r": h.r,
                "n": h.n,
                "link": f"tied to {h.tie} (sd {h.tie_sd:g})" if h.tie else "exchangeable",
                "weight (a0)": h.weight,
            }
            for h in m.historical
        ]
        blocks.append(
            Table(f"historical-{_slug(d.name)}", pd.DataFrame(rows), f"{d.name}: historical strata")
        )
        free = [h for h in m.historical if h.tie is None]
        if free and m.kind == "hierarchical":
            mp_rows = []
            for c in d.cohorts:
                mp = map_prior(free, p0=c.p0, model=m)
                mp_rows.append(
                    {
                        "cohort": c.name,
                        "MAP mean": mp.mean,
                        "beta-mixture approximation": str(mp.mixture),
                        "ESS (ELIR)": round(ess(mp.mixture), 2),
                        "KL (nats)": mp.kl,
                    }
                )
            blocks.append(
                Table(
                    f"map-{_slug(d.name)}",
                    pd.DataFrame(mp_rows),
                    f"{d.name}: meta-analytic-predictive prior from the exchangeable historical "
                    "strata, per cohort (quadrature, no MCMC)",
                )
            )
    return blocks


def _conflict(ctx: _Ctx) -> tuple[list[Any], Any]:
    import pandas as pd


    blocks: list[Any] = [
        Para(
            "The analysis prior (used in the decision rules) and the design prior (the true "
            "response rates of the scenarios, fixed in each scenario) are distinct: the "
            "operating characteristics are frequentist properties at fixed true rates. The table "
            "shows how each analysis prior reacts when the final data disagree with it: the "
            "prior-predictive probability of data as low as those observed (P(R <= r)), Box's "
            "p-value, and the posterior weight of the informative component."
        )
    ]
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
                rows.append(
                    {
                        "design": d.name,
                        "data": f"{r}/{n} (p = {s.p:g})",
                        "P(R <= r)": c.p_lower,
                        "Box p": c.p_box,
                        "prior weights": "; ".join(
                            f"{w:.3f} {lab}" for w, lab in zip(c.prior_weights, label, strict=True)
                        ),
                        "posterior weights": "; ".join(
                            f"{w:.3f} {lab}"
                            for w, lab in zip(c.posterior_weights, label, strict=True)
                        ),
                        "posterior mean": post.mean,
                    }
                )
    if not rows:
        return [], None
    blocks.append(
        Table(
            "conflict",
            pd.DataFrame(rows),
            "Prior-data conflict at the final analysis for data at each scenario rate",
            note="Each weight is followed by its prior component, Beta(a, b).",
        )
    )
    return blocks, None


def _scenarios(ctx: _Ctx) -> tuple[list[Any], Any]:
    import pandas as pd

    rows = [
        {"cohort": g.name, "p0": g.p0, "p1": g.p1, "scenario": s.name, "p": s.p, "role": s.role}
        for g in ctx.groups
        for s in g.scenarios
    ]
    blocks: list[Any] = []
    if rows:
        blocks.append(Table("scenarios", pd.DataFrame(rows), "Scenario grid per cohort"))
    multi = ctx.grid.multi if ctx.grid is not None else ()
    if not multi:
        multi = next((i.design.scenarios for i in ctx.items if i.multi), ())
    if multi:
        mrows = [{"scenario": s.name, **dict(s.rates)} for s in multi]
        blocks.append(
            Table(
                "scenarios-multi",
                pd.DataFrame(mrows),
                "Joint scenarios of the multi-cohort designs (global null and alternative, mixed, "
                "optimistic)",
            )
        )
    if any(not i.multi for i in ctx.items) and ctx.n_sims:
        blocks.append(
            Para(
                "Trial-conduct variations (accrual, response-assessment delay, non-evaluable "
                "patients, interim behaviour) are listed in the trial-conduct section."
            )
        )
    return blocks, None
