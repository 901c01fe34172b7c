"""Sections of the appendix that simulate or vary.

Trial conduct, sensitivity analyses, the Simon comparator and worked example trials.
"""

from __future__ import annotations

import ast
import dataclasses
import math
from typing import Any

import numpy as np

from adaptive2.engines.analysis import analyze
from adaptive2.engines.calibration import set_parameter, weight_curve, worst_case_alpha
from adaptive2.engines.exact import oc
from adaptive2.engines.montecarlo import simulate
from adaptive2.engines.toxicity_oc import oc_toxicity
from adaptive2.model.conduct import Conduct
from adaptive2.model.priors import Beta, PriorSpec
from adaptive2.views.document import (
    Figure,
    Heading,
    Para,
)
from adaptive2.views.figures import to_svg
from adaptive2.views.report.context import (
    Col,
    _cohort_oc,
    _comparator,
    _Ctx,
    _efficacy_oc,
    _ess_text,
    _is_simon,
    _monitored,
    _multi_groups,
    _multi_scenarios,
    _names_of,
    _slug,
    _tab,
    _tox_view,
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
    if not math.isfinite(est):
        return ""
    if err == 0 and v.startswith("p_"):
        # 0 or every trial: the binomial MCSE estimate is 0; say so instead of "± 0".
        return f"{est:.3f} ({'every trial' if est == 1 else 'no trial'})"
    return _with_mcse(est, err, 3)


_CELLS = [
    Col("p_efficacy", "P(declare efficacy)", "text"),
    Col("p_early_stop", "P(stop early)", "text"),
    Col("expected_n", "Evaluable N", "text"),
    Col("expected_enrolled", "Enrolled N", "text"),
    Col("mean_duration", "Duration (months)", "text"),
    Col("duration_q10_q90", "Duration, 10th to 90th percentile (months)", "text"),
    Col("bias", "Bias of the posterior mean", "text"),
    Col("coverage", "Coverage of the 95% interval", "text"),
]


def _conduct(ctx: _Ctx) -> tuple[list[Any], Any]:
    import pandas as pd

    multis = [i.design for i in ctx.items if i.multi]
    watched = [d for d in multis if getattr(d, "toxicity", None)]
    multis = [d for d in multis if not getattr(d, "toxicity", None)]
    if not ctx.n_sims or not (ctx.groups or multis):
        return [], None
    settings = _conduct_settings(ctx)
    blocks: list[Any] = [
        Para(
            f"Monte Carlo, {ctx.n_sims:,} simulated trials per design, scenario and conduct "
            f"setting (seed {ctx.seed}); the designs of a cohort see the same simulated patients "
            "(common random numbers). Every figure is shown ± its Monte Carlo standard error "
            "(MCSE). Overrun: patients enrolled while an interim or the final analysis is "
            "pending are followed up and counted in 'Enrolled N'. Decision probabilities do not "
            "depend on the conduct (interims are triggered on evaluable patients with known "
            "outcome); sample size enrolled and calendar time do. {tab:conduct-settings} lists "
            "the settings."
        ),
        _tab(
            "conduct-settings", pd.DataFrame(_settings_rows(ctx, settings)),
            "Trial-conduct settings",
            [Col("setting", "Setting", "int"), Col("name", "Name", "text"),
             Col("cohort", "Cohort", "text"), Col("assumptions", "Assumptions", "text")],
        ),
    ]
    for g in ctx.groups:
        designs = [i.design for i in g.items]
        rates = {s.name: s.p for s in g.scenarios}
        batches = _batches(designs)
        monitored = [d for d in designs if _monitored(d)]
        rows = []
        for ci, (name, conduct) in enumerate(settings):
            sims: dict[str, tuple[Any, int]] = {}
            for bi, (batch, tox) in enumerate(batches):
                ds = simulate(batch, list(g.scenarios),
                              conduct=_for_cohort(ctx, name, conduct, g.name), n_sims=ctx.n_sims,
                              seed=ctx.seed, progress=False, **tox)
                which = "" if len(batches) == 1 else \
                    f" ({', '.join(d.name for d in batch)})" if bi else \
                    f" ({', '.join(d.name for d in batch)}; the others apart)"
                _note_mc(ctx, f"Trial conduct, cohort {g.name}, setting {ci + 1}{which}", ds)
                for di, d in enumerate(batch):
                    sims[d.name] = (ds, di)
                    # like with like: the exact OC at the toxicity rate and odds ratio simulated
                    exact = _efficacy_oc(ctx, d, g.scenarios)
                    for v in ("p_efficacy", "p_stop_toxicity") if _monitored(d) else \
                            ("p_efficacy",):
                        _cross_check(ctx, ds[v].values[di], ds[f"{v}_mcse"].values[di],
                                     exact[v].values)
            for d in designs:
                ds, di = sims[d.name]
                for si, sname in enumerate(ds["scenario"].values):
                    row = {
                        "setting": ci + 1,
                        "design": d.name,
                        "scenario": str(sname),
                        "p": rates.get(str(sname)),
                        **_conduct_cells(ds, (di, si)),
                    }
                    if monitored:
                        row["p_stop_toxicity"] = _mc(ds, "p_stop_toxicity", (di, si)) \
                            if _monitored(d) else "not monitored"
                    rows.append(row)
        safe = _slug(g.name)
        text = f"{{tab:conduct-{safe}}}: the designs of the {g.name} cohort."
        for d in monitored:
            text += (f" {d.name} is simulated {_tox_view(d)}, the setting of its efficacy OC "
                     "in {sec:oc} (the exact cross-check below compares like with like).")
        blocks.append(Para(text))
        tox_col = [Col("p_stop_toxicity", "P(stop for toxicity)", "text")] if monitored else []
        blocks.append(_tab(
            f"conduct-{safe}", pd.DataFrame(rows),
            f"Cohort {g.name}: simulated trial conduct (estimate ± MCSE)",
            [Col("setting", "Setting", "int"), Col("design", "Design", "text"),
             Col("p", "True rate", "num"), *_CELLS, *tox_col],
            note=_CONDUCT_NOTE + (" Toxicity stops are counted in P(stop early), the sample "
                                  "sizes and the duration; the time to the toxicity event is "
                                  "the setting's toxicity delay." if monitored else ""),
        ))
    if watched:
        blocks.append(Para(
            f"Not simulated: {', '.join(d.name for d in watched)}, a multi-cohort design with "
            "toxicity monitoring (the multi-cohort simulator does not stop cohorts for "
            "toxicity yet).", "warning"))
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
                        rows.append({
                            "setting": ci + 1,
                            "design": str(dname),
                            "scenario": str(sname),
                            "cohort": str(cname),
                            **_conduct_cells(ds, (di, si, ki)),
                        })
                    trial_rows.append({
                        "setting": ci + 1,
                        "design": str(dname),
                        "scenario": str(sname),
                        "fwer": _mc(ds, "fwer", (di, si)),
                        "p_all_correct": _mc(ds, "p_all_correct", (di, si)),
                        "enrolled_total": _mc(ds, "expected_enrolled_total", (di, si)),
                        "trial_duration": _mc(ds, "mean_trial_duration", (di, si)),
                    })
        slug = _slug("-".join(names))
        blocks.append(Para(f"{{tab:conduct-multi-{slug}}} gives the multi-cohort designs per "
                           f"cohort and {{tab:conduct-multi-trial-{slug}}} the whole trial."))
        blocks.append(_tab(
            f"conduct-multi-{slug}", pd.DataFrame(rows),
            f"Multi-cohort designs ({', '.join(names)}): simulated conduct per cohort "
            "(estimate ± MCSE)",
            [Col("setting", "Setting", "int"), Col("design", "Design", "text"),
             Col("scenario", "Scenario", "text"), Col("cohort", "Cohort", "text"), *_CELLS],
            note=_CONDUCT_NOTE,
        ))
        blocks.append(_tab(
            f"conduct-multi-trial-{slug}", pd.DataFrame(trial_rows),
            "Multi-cohort designs: whole-trial figures (simulated, estimate ± MCSE)",
            [Col("setting", "Setting", "int"), Col("design", "Design", "text"),
             Col("scenario", "Scenario", "text"), Col("fwer", "FWER", "text"),
             Col("p_all_correct", "P(all correct)", "text"),
             Col("enrolled_total", "Enrolled N, all cohorts", "text"),
             Col("trial_duration", "Trial duration (months)", "text")],
            note="The trial ends when its last cohort's decision is made.",
        ))
    return blocks, None


def _batches(designs: list[Any]) -> list[tuple[list[Any], dict[str, Any]]]:
    """Designs simulated together, with the toxicity truth of each run.

    A co-monitored design is simulated at its acceptable toxicity rate and its odds ratio,
    the setting of its efficacy OC; designs without a monitor join the first run (they never
    stop for toxicity), so the cohort's designs share their simulated patients. Monitored
    designs with another rate or odds ratio run apart.
    """
    runs: dict[Any, list[Any]] = {}
    for d in designs:
        key = None
        if _monitored(d):
            key = (d.toxicity.acceptable, d.toxicity_odds_ratio)
        runs.setdefault(key, []).append(d)
    keys = [k for k in runs if k is not None]
    if not keys:
        return [(designs, {})]
    out = []
    for i, k in enumerate(keys):
        batch = runs[k] + (runs.get(None, []) if i == 0 else [])
        out.append((batch, {"tox": k[0], "odds_ratio": k[1]}))
    return out


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
        "expected_n": _mc(ds, "expected_n", idx),
        "expected_enrolled": _mc(ds, "expected_enrolled", idx),
        "mean_duration": _mc(ds, "mean_duration", idx),
        "duration_q10_q90": f"{q10:.1f} to {q90:.1f}",
        "bias": _mc(ds, "bias", idx),
        "coverage": _mc(ds, "coverage", idx),
    }


def _cross_check(ctx: _Ctx, mc: Any, mcse: Any, exact: Any) -> None:
    """Record |Monte Carlo − exact| / MCSE for cells the exact engine also gives (probabilities).

    Where the simulation saw no variation (every trial or none: an estimated MCSE of 0), the
    MCSE is the binomial one at the exact value, sqrt(x (1 − x) / n_sims): seeing no efficacy
    in 600 trials when the exact P(efficacy) is 0.002 is no discrepancy.
    """
    mc, mcse, exact = (np.asarray(x, float).ravel() for x in (mc, mcse, exact))
    for m, e, x in zip(mc, mcse, exact, strict=True):
        if e <= 0 and ctx.n_sims > 0:
            e = math.sqrt(max(x * (1.0 - x), 0.0) / ctx.n_sims)
        if e > 0:
            ctx.z_scores.append(abs(m - x) / e)
        else:  # the exact value is 0 or 1 too: agreement is equality
            ctx.z_scores.append(0.0 if abs(m - x) < 1e-12 else math.inf)


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


def _bounds(text: Any) -> Any:
    """A boundary list from its text (``"[None, None, 21]"``), else the value itself."""
    if isinstance(text, str):
        try:
            return ast.literal_eval(text)
        except (ValueError, SyntaxError):
            return text
    return text


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
            a_t, b_t = ctx.alpha_of(d), ctx.power_of(d)
            blocks.append(Heading(3, f"Sensitivity of {d.name} to the analysis prior"))
            if spec.historical is not None:
                curve = _monitored_curve(d, weight_curve(d))
                ctx.note(f"Weight curve, {d.name}", "exact (21 weights)")
                blocks.append(Para(
                    f"{{fig:weight-{safe}}} and {{tab:weight-{safe}}}: the worst-case type I "
                    "error and the power as the weight of the historical data moves from 0 to "
                    f"1 (design value a0 = {spec.power:g}); {{tab:sensitivity-{safe}}}: the "
                    "same rules under other analysis priors."
                    + (f" Power and E[N] are {_tox_view(d)}; the worst-case type I error is that "
                       "of the efficacy rules alone, the worst case over every toxicity rate."
                       if _monitored(d) else "")
                ))
                blocks.append(Figure(
                    f"weight-{safe}",
                    to_svg(weight_curve_plot(curve, alpha=a_t)),
                    f"{d.name}: worst-case type I error and power as the power-prior weight "
                    f"a0 moves from 0 to 1 (design value a0 = {spec.power:g})",
                    alt=f"Line chart for {d.name}: worst-case type I error and power at p1 "
                    f"against the power-prior weight a0 from 0 to 1, with the α target {a_t:g} "
                    "and the design's a0 marked.",
                ))
                curve = curve.assign(
                    futility_max_r=[_bounds(x) for x in curve["futility_max_r"]],
                    efficacy_min_r=[_bounds(x) for x in curve["efficacy_min_r"]],
                )
                blocks.append(_tab(
                    f"weight-{safe}", curve,
                    f"{d.name}: type I error and power against the prior weight (exact)",
                    [Col("weight", "Weight a0", "num2"),
                     Col("alpha", "Worst-case type I error", "prob", (a_t,)),
                     Col("worst_case_p", "At true rate", "num"),
                     Col("power", "Power at p1", "prob", (b_t,)),
                     Col("expected_n_p0", "E[N] at p0", "mean1"),
                     Col("ess_elir", "ESS (ELIR)", "text",
                         values=[_ess_text(v) for v in curve["ess_elir"]]),
                     Col("futility_max_r", "Futility boundaries (r ≤)", "int"),
                     Col("efficacy_min_r", "Efficacy boundaries (r ≥)", "int")],
                    note=_ESS_NOTE,
                ))
            else:
                blocks.append(Para(f"{{tab:sensitivity-{safe}}}: the same rules under other "
                                   "analysis priors."
                                   + (f" Power is {_tox_view(d)}." if _monitored(d) else "")))
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
            for label, sp in alt.items():
                v = d.replace(prior=sp)
                a, _ = worst_case_alpha(v)
                res = _at_rate(v, float(g.p1))
                b = v.boundaries()
                rows.append({
                    "prior": label,
                    "worst_case_type1": a,
                    "power_p1": float(res["p_efficacy"].values[0]),
                    "futility_max_r": list(b.futility_max_r),
                    "efficacy_min_r": list(b.efficacy_min_r),
                })
            blocks.append(_tab(
                f"sensitivity-{safe}", pd.DataFrame(rows),
                f"{d.name}: the same rules under other analysis priors (exact)",
                [Col("prior", "Analysis prior", "text"),
                 Col("worst_case_type1", "Worst-case type I error", "prob", (a_t,)),
                 Col("power_p1", f"Power at p1 = {g.p1:g}", "prob", (b_t,)),
                 Col("futility_max_r", "Futility boundaries (r ≤)", "int"),
                 Col("efficacy_min_r", "Efficacy boundaries (r ≥)", "int")],
                note="Boundaries per look; a dash: no stop for that reason at that look.",
            ))
    if blocks:
        blocks.insert(
            0,
            Para(
                "How the type I error and power move when the analysis prior changes, the rules "
                "(cutoffs, thresholds, looks) held fixed. For the multi-cohort designs the "
                "no-borrowing comparison is in {sec:type1}."
            ),
        )
    return blocks, None


def _at_rate(design: Any, p: float) -> Any:
    """Exact OC at one response rate; a co-monitored design at its acceptable toxicity rate."""
    if _monitored(design):
        return oc_toxicity(design, [p], tox=design.toxicity.acceptable)
    return oc(design, [p])


def _monitored_curve(design: Any, curve: Any) -> Any:
    """The weight curve with power and E[N | p0] of a co-monitored design, monitor in force.

    ``weight_curve`` evaluates the efficacy boundaries alone. Its worst-case type I error
    stands (toxicity stops can only lower it, and the monitor never stops when no patient
    has the event); power and E[N] are recomputed at the acceptable toxicity rate.
    """
    if not _monitored(design):
        return curve
    power, en = [], []
    for w in curve["weight"]:
        v = set_parameter(design, "prior.power", float(w))
        ds = oc_toxicity(v, [float(design.p0), float(design.p1)],
                         tox=design.toxicity.acceptable)
        en.append(float(ds["expected_n"].values[0]))
        power.append(float(ds["p_efficacy"].values[1]))
    return curve.assign(power=power, expected_n_p0=en)


def _simon(ctx: _Ctx) -> tuple[list[Any], Any]:
    import pandas as pd

    rows, comp, warn = [], [], []
    tox_notes: list[str] = []
    for g in ctx.groups:
        s = _comparator(ctx, g)
        if s is None:
            continue
        rows.append({
            "cohort": g.name, "comparator": s.label, "source": s.source,
            "stage1": f"stop after {s.n1} patients if "
            + ("no patient responds" if s.r1 == 0 else f"{s.r1} or fewer respond"),
            "final": f"declare efficacy if more than {s.r} of {s.n} respond",
            "alpha_target": s.alpha_target, "alpha": s.alpha,
            "power_target": s.power_target, "power": s.power,
            "expected_n_p0": s.expected_n_p0, "pet_p0": s.pet_p0, "max_n": s.n,
        })
        if s.design is not None and not s.meets:
            warn.append(f"{s.label} does not meet the targets of its population's designs "
                        f"(type I error ≤ {s.alpha_target:g}, power ≥ {s.power_target:g}).")
        if s.design is not None and s.optimal is not None and not s.is_optimal:
            o = s.optimal
            warn.append(f"{s.label} is not the Simon optimal design at these targets, which is "
                        f"{o.r1}/{o.n1}, {o.r}/{o.n}.")
        for it in g.items:
            d = it.design
            if _is_simon(d) or d.p0 is None or hasattr(d.p0, "a") or d.p1 is None:
                continue
            a, _ = ctx.worst_alpha(d)
            at = _efficacy_oc(ctx, d, (float(d.p0), float(d.p1)))
            if _monitored(d):
                tox_notes.append(f"{d.name}: power and E[N] {_tox_view(d)}.")
            comp.append({
                "cohort": g.name, "design": d.name, "alpha_target": ctx.alpha_of(d),
                "alpha": a, "simon_alpha": s.alpha,
                "power": float(at["p_efficacy"].values[1]), "simon_power": s.power,
                "expected_n_p0": float(at["expected_n"].values[0]),
                "simon_expected_n_p0": s.expected_n_p0,
                "max_n": d.n_max, "simon_max_n": s.n,
            })
    if not rows:
        return [], None
    frame = pd.DataFrame(rows)
    a_t = [(t,) for t in frame["alpha_target"]]
    b_t = [(t,) for t in frame["power_target"]]
    blocks: list[Any] = [
        Para(
            "One Simon (1989) two-stage design per population is the comparator used throughout "
            "this report ({tab:simon}): the Simon design file among the designs when there is "
            "one, otherwise the optimal design found here by exact enumeration. Either way it "
            "is designed for the same type I error and power targets as the population's "
            "Bayesian designs, so every comparison with it is at a matched α target; its type I "
            "error and power are exact. Stop after stage 1 if at most r1 of n1 patients "
            "respond; declare efficacy if more than r of n respond."
        ),
        _tab(
            "simon", frame, "Simon two-stage comparator of each population (exact)",
            [Col("cohort", "Cohort", "text"), Col("comparator", "Comparator", "text"),
             Col("source", "Source", "text"), Col("stage1", "Stage 1", "text"),
             Col("final", "Final analysis", "text"), Col("max_n", "Max N", "int"),
             Col("alpha_target", "α target", "num"),
             Col("alpha", "Type I error", "prob", a_t),
             Col("power_target", "Power target", "num"),
             Col("power", "Power at p1", "prob", b_t),
             Col("expected_n_p0", "E[N] at p0", "mean1"),
             Col("pet_p0", "P(stop early) at p0", "prob")],
        ),
    ]
    blocks += [Para(w, "warning") for w in warn]
    if comp:
        cf = pd.DataFrame(comp)
        ta = [(t,) for t in cf["alpha_target"]]
        blocks.append(Para(
            "{tab:simon-comparison} sets each Bayesian design beside its population's "
            "comparator, both designed for the same α target (matched α target); where their "
            "achieved type I errors differ, a difference in power or E[N] is partly a "
            "difference in α."
        ))
        blocks.append(_tab(
            "simon-comparison", cf,
            "Bayesian designs against the Simon comparator at the matched α target (exact)",
            [Col("cohort", "Cohort", "text"), Col("design", "Design", "text"),
             Col("alpha_target", "α target", "num"),
             Col("alpha", "Worst-case type I error", "prob", ta),
             Col("simon_alpha", "Simon: type I error", "prob", ta),
             Col("power", "Power at p1", "prob"), Col("simon_power", "Simon: power at p1", "prob"),
             Col("expected_n_p0", "E[N] at p0", "mean1"),
             Col("simon_expected_n_p0", "Simon: E[N] at p0", "mean1"),
             Col("max_n", "Max N", "int"), Col("simon_max_n", "Simon: max N", "int")],
            note=" ".join(tox_notes),
        ))
    return blocks, None


def _examples(ctx: _Ctx) -> tuple[list[Any], Any]:
    import pandas as pd

    monitored = [i.design for i in ctx.items if _monitored(i.design)]
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
            "data monitoring committee would see; {tab:examples}): at each look the observed "
            "responses equal the planning rate times n (rounded); a trial ends at its first "
            "stop. For the multi-cohort designs, one joint scenario is followed with the "
            "borrowing model."
        ),
        _tab(
            "examples", pd.DataFrame(rows), "Worked example trials",
            [Col("design", "Design", "text"), Col("trial", "Trial", "text"),
             Col("look", "Look", "int"), Col("data", "Data (r/n)", "text"),
             Col("posterior mean", "Posterior mean", "prob"),
             Col("95% interval", "95% credible interval", "text"),
             Col("P(p > p0)", "P(p > p0 | data)", "prob"),
             Col("PP", "Predictive probability of success", "prob"),
             Col("conflict p", "Conflict p-value (Box)", "prob"),
             Col("decision", "Decision", "text"), Col("next", "What would change it", "text")],
            note="Predictive probability of success: the probability, under the posterior "
            "predictive, that the final analysis succeeds. Conflict p-value: Box's "
            "prior-predictive p-value of the observed data."
            + "".join(f" {d.name}: response data only; its toxicity rule stops enrolment as in "
                      f"{{tab:safety-boundaries-{_slug(d.name)}}} whatever these decisions."
                      for d in monitored),
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
        "next": str(res.distance).replace("<=", "≤").replace(">=", "≥"),
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
