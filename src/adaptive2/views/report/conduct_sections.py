"""Sections of the appendix that simulate or vary.

Trial conduct, sensitivity analyses, the Simon comparator and worked example trials.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from adaptive2.engines.analysis import analyze
from adaptive2.engines.calibration import weight_curve, worst_case_alpha
from adaptive2.engines.exact import oc
from adaptive2.engines.montecarlo import simulate
from adaptive2.engines.simon import simon
from adaptive2.model.conduct import Conduct
from adaptive2.model.priors import Beta, PriorSpec
from adaptive2.views.document import (
    Figure,
    Heading,
    Para,
    Table,
)
from adaptive2.views.figures import to_svg
from adaptive2.views.report.context import (
    _cohort_oc,
    _Ctx,
    _multi_groups,
    _multi_scenarios,
    _names_of,
    _single_oc,
    _slug,
    _uses_prior,
)
from adaptive2.views.report.design_sections import _ESS_NOTE
from adaptive2.views.result_plots import weight_curve_plot
from adaptive2.views.tables import _with_mcse


def _conduct_settings(ctx: _Ctx) -> list[tuple[str, Any]]:
    """The scenario file's ``[[conduct]]`` settings, else two documented defaults."""
    given = tuple(getattr(ctx.grid, "conduct", ()) or ())
    if given:
        return [(name, c) for name, c in given]
    return [
        (
            "base (default): 2 patients/month, response known 2-3 months after enrolment, "
            "enrolment continues during interims",
            Conduct(rates=(2.0,), delay=(2.0, 3.0), on_interim="continue"),
        ),
        (
            "slow (default): ramp-up 1 then 2 patients/month from month 6, 10% non-evaluable, "
            "enrolment paused until each interim decision (1 month)",
            Conduct(
                rates=(1.0, 2.0),
                starts=(0.0, 6.0),
                delay=(2.0, 3.0),
                p_nonevaluable=0.10,
                on_interim="pause",
                decision_lag=1.0,
            ),
        ),
    ]


def _for_cohort(ctx: _Ctx, name: str, conduct: Any, cohort: str) -> Any:
    """A cohort's conduct: the scenario file's per-cohort override when it has one."""
    if ctx.grid is not None and bool(getattr(ctx.grid, "conduct", ())):
        return ctx.grid.conduct_for(name, cohort)
    return conduct


def _settings_rows(ctx: _Ctx, settings: list[tuple[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for i, (name, c) in enumerate(settings):
        rows.append({"setting": i + 1, "name": name, "cohort": "all", "assumptions": c.describe()})
        overrides = dict(getattr(ctx.grid, "conduct_cohorts", ()) or ()).get(name, ())
        for cohort, oc_ in overrides:
            rows.append(
                {"setting": i + 1, "name": name, "cohort": cohort, "assumptions": oc_.describe()}
            )
    return rows


def _mc(ds: Any, v: str, idx: tuple[int, ...]) -> str:
    est = float(ds[v].values[idx])
    err = float(ds[f"{v}_mcse"].values[idx])
    if err == 0 and v.startswith("p_"):
        # 0 or every trial: the binomial MCSE estimate is 0; say so instead of "± 0".
        return f"{est:.3f} ({'every trial' if est == 1 else 'no trial'})"
    return _with_mcse(est, err, 3)


def _conduct(ctx: _Ctx) -> tuple[list[Any], Any]:
    import pandas as pd


    multis = [i.design for i in ctx.items if i.multi]
    if not ctx.n_sims or not (ctx.groups or multis):
        return [], None
    settings = _conduct_settings(ctx)
    blocks: list[Any] = [
        Para(
            f"Monte Carlo, {ctx.n_sims:,} simulated trials per design, scenario and conduct "
            f"setting (seed {ctx.seed}); the designs of a cohort see the same simulated patients "
            "(common random numbers). Every figure is shown ± its Monte Carlo standard error. "
            "Overrun: patients enrolled while an interim or the final analysis is pending are "
            "followed up and counted in 'enrolled'. Decision probabilities do not depend on the "
            "conduct (interims are triggered on evaluable patients with known outcome); sample "
            "size enrolled and calendar time do."
        ),
        Table(
            "conduct-settings",
            pd.DataFrame(_settings_rows(ctx, settings)),
            "Trial-conduct settings",
        ),
    ]
    for g in ctx.groups:
        designs = [i.design for i in g.items]
        rows = []
        for ci, (name, conduct) in enumerate(settings):
            ds = simulate(designs, list(g.scenarios),
                          conduct=_for_cohort(ctx, name, conduct, g.name), n_sims=ctx.n_sims,
                          seed=ctx.seed, progress=False)
            _note_mc(ctx, f"Trial conduct, cohort {g.name}, setting {ci + 1}", ds)
            for di, d in enumerate(designs):
                exact = _single_oc(ctx, d, g.scenarios)["p_efficacy"].values
                _cross_check(ctx, ds["p_efficacy"].values[di], ds["p_efficacy_mcse"].values[di],
                             exact)
            for di, dname in enumerate(ds["design"].values):
                for si, sname in enumerate(ds["scenario"].values):
                    idx = (di, si)
                    rows.append(
                        {
                            "setting": ci + 1,
                            "design": str(dname),
                            "scenario": str(sname),
                            **_conduct_cells(ds, idx),
                        }
                    )
        blocks.append(
            Table(
                f"conduct-{_slug(g.name)}",
                pd.DataFrame(rows),
                f"Cohort {g.name}: simulated trial conduct (estimate ± MCSE)",
                note=_CONDUCT_NOTE,
            )
        )
    for names, group in _multi_groups(multis):
        rows, trial_rows = [], []
        for ci, (name, conduct) in enumerate(settings):
            # one scenario tuple for the simulation and its exact cross-check
            scen = _multi_scenarios(ctx, group[0])
            per_cohort = {c: _for_cohort(ctx, name, conduct, c) for c in _names_of(group)}
            ds = simulate(group, list(scen), conduct=per_cohort,
                          n_sims=ctx.n_sims, seed=ctx.seed, progress=False)
            _note_mc(ctx, f"Trial conduct, {', '.join(d.name for d in group)}, setting {ci + 1}",
                     ds)
            for di, d in enumerate(group):
                exact = _cohort_oc(ctx, d, scen)
                for v in ("p_efficacy", "fwer"):
                    _cross_check(ctx, ds[v].values[di], ds[f"{v}_mcse"].values[di],
                                 exact[v].values)
            for di, dname in enumerate(ds["design"].values):
                for si, sname in enumerate(ds["scenario"].values):
                    for ki, cname in enumerate(ds["cohort"].values):
                        rows.append(
                            {
                                "setting": ci + 1,
                                "design": str(dname),
                                "scenario": str(sname),
                                "cohort": str(cname),
                                **_conduct_cells(ds, (di, si, ki)),
                            }
                        )
                    trial_rows.append(
                        {
                            "setting": ci + 1,
                            "design": str(dname),
                            "scenario": str(sname),
                            "FWER": _mc(ds, "fwer", (di, si)),
                            "P(all correct)": _mc(ds, "p_all_correct", (di, si)),
                            "enrolled (all cohorts)": _mc(ds, "expected_enrolled_total", (di, si)),
                            "trial duration (months)": _mc(ds, "mean_trial_duration", (di, si)),
                        }
                    )
        slug = _slug("-".join(names))
        blocks.append(
            Table(
                f"conduct-multi-{slug}",
                pd.DataFrame(rows),
                f"Multi-cohort designs ({', '.join(names)}): simulated conduct per cohort",
                note=_CONDUCT_NOTE,
            )
        )
        blocks.append(
            Table(
                f"conduct-multi-trial-{slug}",
                pd.DataFrame(trial_rows),
                "Multi-cohort designs: whole-trial figures (simulated)",
                note="The trial ends when its last cohort's decision is made.",
            )
        )
    return blocks, None


_CONDUCT_NOTE = (
    "Bias and coverage refer to the posterior mean and the 95% equal-tailed credible interval of "
    "the response rate at the cohort's final (or stopping) analysis."
)


def _conduct_cells(ds: Any, idx: tuple[int, ...]) -> dict[str, str]:
    q10 = float(ds["duration_q10"].values[idx])
    q90 = float(ds["duration_q90"].values[idx])
    return {
        "p_efficacy": _mc(ds, "p_efficacy", idx),
        "p_early_stop": _mc(ds, "p_early_stop", idx),
        "evaluable N": _mc(ds, "expected_n", idx),
        "enrolled N": _mc(ds, "expected_enrolled", idx),
        "duration (months)": _mc(ds, "mean_duration", idx),
        "duration q10-q90": f"{q10:.1f}-{q90:.1f}",
        "bias of posterior mean": _mc(ds, "bias", idx),
        "coverage of 95% interval": _mc(ds, "coverage", idx),
    }


def _cross_check(ctx: _Ctx, mc: Any, mcse: Any, exact: Any) -> None:
    """Record |Monte Carlo − exact| / MCSE for cells the exact engine also gives."""
    mc, mcse, exact = (np.asarray(x, float).ravel() for x in (mc, mcse, exact))
    for m, e, x in zip(mc, mcse, exact, strict=True):
        if e > 0:
            ctx.z_scores.append(abs(m - x) / e)
        else:  # no variation seen: the exact value must make that likely (0 or 1 within 1e-3)
            ctx.z_scores.append(0.0 if abs(m - x) < 1e-3 else math.inf)


def _note_mc(ctx: _Ctx, figure: str, ds: Any) -> None:
    ctx.note(
        figure,
        "Monte Carlo",
        n_sims=int(ds.attrs["n_sims"]),
        seed=ctx.seed,
        chunk_size=int(ds.attrs["chunk_size"]),
        max_mcse_p_efficacy=float(ds["p_efficacy_mcse"].max()),
        stream_scheme=str(ds.attrs.get("stream_scheme", "")),
    )


def _sensitivity(ctx: _Ctx) -> tuple[list[Any], Any]:
    import pandas as pd


    blocks: list[Any] = []
    for g in ctx.groups:
        for it in g.items:
            d = it.design
            spec = d.prior_spec
            if d.p0 is None or hasattr(d.p0, "a") or g.p1 is None or not _uses_prior(d):
                continue
            safe = _slug(d.name)
            if spec.historical is not None:
                curve = weight_curve(d)
                ctx.note(f"Weight curve, {d.name}", "exact (21 weights)", mcse=0.0)
                blocks.append(Heading(3, f"{d.name}: weight of the phase 1 data"))
                blocks.append(
                    Figure(
                        f"weight-{safe}",
                        to_svg(weight_curve_plot(curve, alpha=ctx.alpha)),
                        f"{d.name}: worst-case type I error and power as the power-prior weight "
                        f"a0 moves from 0 to 1 (design value a0 = {spec.power:g})",
                    )
                )
                blocks.append(
                    Table(
                        f"weight-{safe}",
                        curve,
                        f"{d.name}: α and power against the prior weight",
                        note="ess_elir blank: undefined (two components unbounded at one end). "
                        + _ESS_NOTE,
                    )
                )
            alt = {
                "as designed": d.prior_spec,
                "vague: Beta(0.5, 0.5)": PriorSpec(beta=Beta(0.5, 0.5), source="sensitivity"),
                "sceptical: Beta centred at p0 with 10 patients' weight": PriorSpec(
                    beta=Beta(10 * float(d.p0), 10 * (1 - float(d.p0))), source="sensitivity"
                ),
            }
            if spec.historical is not None:
                alt["full phase 1 weight (a0 = 1)"] = dataclasses.replace(spec, power=1.0)
                if spec.robust is not None:
                    alt["no robust component"] = dataclasses.replace(spec, robust=None)
                    for w in (0.2, 0.8):
                        if abs(spec.robust[0] - w) > 1e-9:
                            alt[f"robust weight {w:g}"] = dataclasses.replace(
                                spec, robust=(w, *spec.robust[1:])
                            )
            rows = []
            for label, s in alt.items():
                v = d.replace(prior=s)
                a, _ = worst_case_alpha(v)
                res = oc(v, [float(g.p1)])
                b = v.boundaries()
                rows.append(
                    {
                        "analysis prior": label,
                        "worst-case type I error": a,
                        f"power at p1 = {g.p1:g}": float(res["p_efficacy"].values[0]),
                        "futility boundaries": str(list(b.futility_max_r)),
                        "efficacy boundaries": str(list(b.efficacy_min_r)),
                    }
                )
            blocks.append(
                Table(
                    f"sensitivity-{safe}",
                    pd.DataFrame(rows),
                    f"{d.name}: the same rules under other analysis priors (exact)",
                )
            )
    if blocks:
        blocks.insert(
            0,
            Para(
                "How the type I error and power move when the analysis prior changes, the rules "
                "(cutoffs, thresholds, looks) held fixed. For the multi-cohort designs the "
                "no-borrowing comparison is in the type I error section."
            ),
        )
    return blocks, None


def _simon(ctx: _Ctx) -> tuple[list[Any], Any]:
    import pandas as pd


    rows = []
    for g in ctx.groups:
        if g.p1 is None or math.isnan(g.p0):
            continue
        res = simon(g.p0, g.p1, alpha=ctx.alpha, beta=1 - ctx.power)
        for kind in ("optimal", "minimax"):
            s = getattr(res, kind)
            if s is None:
                rows.append({"cohort": g.name, "design": kind, "r1/n1": "no feasible design"})
                continue
            rows.append(
                {
                    "cohort": g.name,
                    "design": kind,
                    "r1/n1": f"{s.r1}/{s.n1}",
                    "r/n": f"{s.r}/{s.n}",
                    "EN(p0)": s.expected_n_p0,
                    "PET(p0)": s.pet_p0,
                    "type I error": s.alpha,
                    "power": s.power,
                }
            )
    if not rows:
        return [], None
    text = (
        f"Simon (1989) two-stage designs for each cohort's p0 and p1 with type I error <= "
        f"{ctx.alpha:g} and power >= {ctx.power:g} (exact enumeration). Stop after stage 1 if at "
        "most r1 of n1 patients respond; declare efficacy if more than r of n respond."
    )
    return [Para(text), Table("simon", pd.DataFrame(rows), "Simon two-stage comparators")], None


def _examples(ctx: _Ctx) -> tuple[list[Any], Any]:
    import pandas as pd


    rows = []
    for g in ctx.groups:
        for it in g.items:
            d = it.design
            for label, p in (("at p0", g.p0), ("at p1", g.p1)):
                if p is None or math.isnan(p):
                    continue
                for n in d.looks:
                    res = analyze(d, (round(p * n), n)).cohorts[0]
                    rows.append(_example_row(d.name, label, res))
                    if res.decision != "continue":
                        break
    for it in [i for i in ctx.items if i.multi]:
        d = it.design
        scen = _example_scenario(ctx, d)
        if scen is None:
            continue
        for k in range(d.n_looks):
            data = {c.name: (round(scen.rate(c.name) * c.looks[k]), c.looks[k]) for c in d.cohorts}
            joint = analyze(d, data)
            for c in joint.cohorts:
                rows.append(_example_row(d.name, f"{scen.name} [{c.name}]", c))
            if any(c.decision != "continue" for c in joint.cohorts):
                break
    if not rows:
        return [], None
    blocks: list[Any] = [
        Para(
            "Hypothetical trials analysed look by look with adaptive2 analyze (the analysis a "
            "data monitoring committee would see): at each look the observed responses equal "
            "the planning rate times n (rounded); a trial ends at its first stop. For the "
            "multi-cohort designs, one joint scenario is followed with the borrowing model."
        ),
        Table(
            "examples",
            pd.DataFrame(rows),
            "Worked example trials",
            note="PP: predictive probability of final success. Conflict p: prior-predictive "
            "(Box) p-value of the observed data.",
        ),
    ]
    return blocks, None


def _example_row(design: str, trial: str, res: Any) -> dict[str, Any]:
    lo, hi = res.interval
    return {
        "design": design,
        "trial": trial,
        "look": res.look,
        "data": f"{res.r}/{res.n}",
        "posterior mean": res.mean,
        "95% interval": f"{lo:.3f} to {hi:.3f}",
        "P(p > p0)": res.p_above_p0,
        "PP": res.predictive_probability,
        "conflict p": res.conflict.p_box if res.conflict is not None else None,
        "decision": res.decision,
        "next": res.distance,
    }


def _example_scenario(ctx: _Ctx, design: Any) -> Any:
    scen = list(ctx.grid.multi) if ctx.grid is not None and ctx.grid.multi else []
    scen = scen or list(design.scenarios)
    for s in scen:  # prefer a mixed scenario: one cohort works, another does not
        rates = [s.rate(c.name) for c in design.cohorts]
        works = [r >= (c.p1 if c.p1 is not None else 1.0) for r, c in zip(rates, design.cohorts,
                                                                          strict=True)]
        if any(works) and not all(works):
            return s
    return scen[0] if scen else None
