"""Design commands: ``boundaries``, ``oc``, ``calibrate``, ``search`` and ``simon --write``.

``oc`` takes ``--null-region``; ``calibrate`` takes ``--futility``, ``--objective`` and
``--write`` (a new name and a comment header recording the calibration).
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import math
from collections.abc import Sequence
from typing import Any, cast

from adaptive2.cli import priors
from adaptive2.cli._common import (
    _BadInput,
    _emit,
    _floats,
    _is_multi,
    _load,
    _output,
    _ranges_arg,
    _table,
    _write_design,
    _written_header,
)
from adaptive2.engines.bop2_efftox import calibrate_efftox_design
from adaptive2.engines.borrowing import borrowing_summary
from adaptive2.engines.calibration import calibrate, calibrate_bop2, worst_case_alpha
from adaptive2.engines.cohort_calibration import calibrate_cohorts
from adaptive2.engines.cohort_exact import cohort_oc
from adaptive2.engines.design_search import design_search, pareto
from adaptive2.engines.exact import oc
from adaptive2.engines.futility import calibrate_futility
from adaptive2.engines.lee_liu import lee_liu
from adaptive2.engines.null_region import null_region
from adaptive2.engines.search import SearchDesign, SearchResult
from adaptive2.engines.simon import SimonDesign, SimonResult, simon
from adaptive2.engines.toxicity_calibration import calibrate_toxicity
from adaptive2.engines.toxicity_oc import oc_toxicity
from adaptive2.kernels.binomial import stop_probabilities
from adaptive2.model.designs import Design, toxicity_protocol, toxicity_records
from adaptive2.model.rules import BOP2


def _cmd_boundaries(args: argparse.Namespace) -> None:
    """``adaptive2 boundaries``: the efficacy boundaries, and the toxicity boundary if any.

    The JSON of a design without a toxicity monitor is the list of efficacy rows
    (unchanged); with one it is ``{"efficacy": [...the same rows...], "toxicity":
    [{check, n, stop_at_or_above}, ...]}`` (multi-cohort: toxicity rows carry
    ``cohort``).
    """
    design = _load(args.design)
    if _is_multi(design):
        rows = design.boundaries()
        text = (
            design.describe() + "\n\nBoundaries per cohort when every other cohort is at "
            "its null rate (the exact OC use the full outcome lattice):\n"
        )
        text += _table(
            design.boundary_table(rows),
            ["look", "cohort", "n", "futility_max_r", "efficacy_min_r", "others_at"],
        )
        if design.toxicity is None:
            _emit(args, rows, text)
            return
        tox_rows = [{"cohort": name, **rec} for name, m in design.toxicity
                    for rec in toxicity_records(m)]
        text += ("\n\nToxicity stopping rules (each cohort on its own events, no borrowing; "
                 "checked before an efficacy look at the same patient):")
        for name, m in design.toxicity:
            text += f"\n  {name}:" + "".join(f"\n    {line}" for line in toxicity_protocol(m))
        _emit(args, {"efficacy": rows, "toxicity": tox_rows}, text)
        return
    bnd = design.boundaries()
    payload: Any = bnd.to_records()
    lines = [design.describe(), "", bnd.to_frame().to_string()]
    if design.toxicity is not None:
        payload = {"efficacy": payload, "toxicity": toxicity_records(design.toxicity)}
        lines += ["", "Toxicity stopping rule (checked before an efficacy look at the same "
                  "patient; a trial stopped for toxicity declares nothing):"]
        lines += [f"  {line}" for line in toxicity_protocol(design.toxicity)]
    _emit(args, payload, "\n".join(lines))


def _cmd_null_region(args: argparse.Namespace, design: Any) -> None:
    """``oc --null-region``: the type I error supremum over the whole null region."""
    if args.simulate or args.p is not None:
        raise _BadInput("--null-region is exact and searches the rates itself: drop --simulate/--p")
    if _is_multi(design) and design.toxicity is not None:
        raise _BadInput(
            f"{args.design}: --null-region of a multi-cohort design with toxicity monitoring is "
            "not available yet (a cohort stopped for toxicity changes the data the others "
            "borrow from, so the efficacy-only supremum is no bound)"
        )
    if not _is_multi(design):

        if args.range:
            raise _BadInput("--range applies to multi-cohort designs")
        if not isinstance(design.p0, float):
            raise _BadInput(f"{args.design}: --null-region needs a fixed p0 (this one is a prior)")
        a, where = worst_case_alpha(design)
        n, lo, hi = design.boundaries().arrays()
        at_p0 = float(stop_probabilities(n, lo, hi, [design.p0])[0, :, 1].sum())
        payload = {
            "design": design.name,
            "method": "exact",
            "alpha": None,
            "cohorts": {design.name: {"p0": design.p0, "max_type1": a, "argmax": {"p": where}}},
            "max_fwer": a,
            "argmax_fwer": {"rates": {"p": where}, "null_cohorts": [design.name]},
            "fwer_global_null": at_p0,
        }
        text = (f"Type I error of {design.name} over the null region p <= {design.p0:g} "
                f"(exact): {a:.4f} at p = {where:g}")
        if design.toxicity is not None:
            note = ("efficacy rules alone: a trial stopped for toxicity declares nothing, so "
                    "with toxicity stops the type I error is at most this, at any toxicity rate "
                    "and odds ratio")
            payload["toxicity"] = note
            text += f"\n({note})"
        _emit(args, payload, text)
        return

    nr = null_region(design, ranges=_ranges_arg(args, design))
    payload = nr.to_dict()
    text = _null_region_text(nr)
    if design.model.kind != "independent":
        bs = borrowing_summary(design, null=nr)
        payload["borrowing"] = bs.to_dict()
        t1 = bs.type1.reset_index().to_dict("records")
        text += (
            "\n\nAgainst independent analysis (no borrowing across cohorts; its final cutoffs "
            "calibrated so that each cohort's type I error is the largest not above the "
            "borrowing design's supremum)\n"
            + _table(t1, ["cohort", "max_type1", "type1_same_cutoffs", "type1_inflation",
                          "type1_independent", "design_cutoff", "independent_cutoff"])
            + "\n\nPower at each alternative configuration, with borrowing and independent at "
            "matched alpha\n"
            + _table(bs.power.to_dict("records"),
                     ["cohort", "configuration", "scenario", "power", "power_independent",
                      "power_gain"])
        )
    _emit(args, payload, text)


def _null_region_text(nr: Any) -> str:
    rows = nr.table().to_dict("records")
    cols = [c for c in ("cohort", "p0", "max type I error", "attained at", "neighbour range",
                        "outside the range: max", "outside the range: at", "alpha",
                        "within alpha") if any(c in r for r in rows)]
    where = ", ".join(f"{k} = {v:.4f}" for k, v in nr.argmax_fwer["rates"].items())
    return (
        f"Type I error of {nr.design} over the whole null region (exact; each cohort at or "
        "below its p0, the others anywhere in their range)\n"
        + _table(rows, cols)
        + f"\nFWER at the global null: {nr.fwer_global_null:.4f}; supremum over the null "
        f"region: {nr.max_fwer:.4f} at {where} "
        f"(null: {', '.join(nr.argmax_fwer['null_cohorts'])})"
    )


def _cmd_oc(args: argparse.Namespace) -> None:

    design = _load(args.design)
    if not args.simulate and (args.n_sims is not None or args.seed is not None):
        raise _BadInput("--n-sims and --seed go with --simulate (exact OC have no Monte Carlo "
                        "error and no seed)")
    if args.n_sims is None:
        args.n_sims = 100_000
    tox, odds = _toxicity_args(args, design)
    if args.null_region:
        _cmd_null_region(args, design)
        return
    if args.range:
        raise _BadInput("--range goes with --null-region")
    if _is_multi(design):
        _cmd_oc_multi(args, design, tox, odds)
        return
    scen = None
    if args.p is not None:
        scen = _floats(args.p, "--p")
    method = "simulate" if args.simulate else "exact"
    monitored = design.toxicity is not None
    if monitored and not args.simulate:
        ds = oc_toxicity(design, scen, tox, odds)
    else:  # Monte Carlo of a monitored design is refused by oc (it would ignore toxicity)
        ds = oc(design, scen, method=method, n_sims=args.n_sims, seed=args.seed)
    rows = []
    looks = [int(x) for x in ds["look_n"].values]
    mc = method == "simulate"
    for i, name in enumerate(ds["scenario"].values):
        row: dict[str, Any] = {
            "scenario": str(name),
            "p": float(ds["p"].values[i]),
            "role": str(ds["role"].values[i]),
        }
        if monitored:
            row["tox"] = float(ds["toxicity_rate"].values[i])
            row["odds_ratio"] = float(ds["odds_ratio"].values[i])
        for var in ("p_efficacy", "p_futility", "p_early_stop", "expected_n", "sd_n"):
            row[var] = float(ds[var].values[i])
            if mc:
                row[f"{var}_mcse"] = float(ds[f"{var}_mcse"].values[i])
        if monitored:
            row["p_stop_toxicity"] = float(ds["p_stop_toxicity"].values[i])
        stops = ds["p_stop_at"].values[i]
        row["p_stop_at"] = [
            {
                "look": k + 1,
                "n": looks[k],
                "futility": float(stops[k, 0]),
                "efficacy": float(stops[k, 1]),
                "consider": float(stops[k, 2]),
            }
            for k in range(len(looks))
        ]
        if monitored:
            checks = [int(x) for x in ds["tox_check_n"].values]
            at = ds["p_stop_toxicity_at"].values[i]
            row["p_stop_toxicity_at"] = [
                {"check": j + 1, "n": checks[j], "toxicity": float(at[j])}
                for j in range(len(checks))
            ]
        rows.append(row)
    cols = ["p", "role", "p_efficacy", "p_futility", "p_early_stop", "expected_n", "sd_n"]
    if mc:
        cols.insert(3, "p_efficacy_mcse")
    if monitored:
        cols[2:2] = ["tox", "odds_ratio"]
        cols.insert(cols.index("p_futility") + 1, "p_stop_toxicity")
    label = (
        "exact"
        if not mc
        else (
            f"Monte Carlo, {ds.attrs['n_sims']} trials per scenario, "
            f"seed entropy {ds.attrs['seed_entropy']}"
        )
    )
    text = (
        f"Operating characteristics of {design.name} ({label}); "
        "p_efficacy is type I error for role=null and power for role=alternative\n"
        + _table(rows, cols)
    )
    if monitored:
        assert design.toxicity is not None
        text = (
            text.replace("\n", f"; stopping for toxicity ({design.toxicity.event}) ends the "
                         "trial with no efficacy declared\n", 1)
            + "\n\nStop probabilities for toxicity at each check:\n"
            + _table([{"p": row["p"], "tox": row["tox"],
                       **{f"tox@{c['n']}": c["toxicity"] for c in row["p_stop_toxicity_at"]}}
                      for row in rows],
                     ["p", "tox", *(f"tox@{n}" for n in ds["tox_check_n"].values)])
        )
    stop_rows = []
    for row in rows:
        rec: dict[str, Any] = {"p": row["p"]}
        if monitored:
            rec["tox"] = row["tox"]
        for s in row["p_stop_at"][:-1]:
            rec[f"fut@{s['n']}"] = s["futility"]
            rec[f"eff@{s['n']}"] = s["efficacy"]
        stop_rows.append(rec)
    if len(looks) > 1:
        cols2 = list(stop_rows[0].keys())
        text += "\n\nStop probabilities at interim looks (futility / efficacy):\n" + _table(
            stop_rows, cols2
        )
    _emit(args, rows, text)


def _toxicity_args(args: argparse.Namespace, design: Any) -> tuple[list[float] | None,
                                                                   float | None]:
    """``--tox`` and ``--odds-ratio``: only for a design with a [toxicity] table."""
    given = [o for o, v in (("--tox", args.tox), ("--odds-ratio", args.odds_ratio))
             if v is not None]
    if not given:
        return None, None
    if design.toxicity is None:
        raise _BadInput(
            f"{given[0]} applies to designs that monitor toxicity; {args.design} (design "
            f"{design.name!r}) has no [toxicity] section"
        )
    if args.null_region or args.simulate:
        other = "--null-region" if args.null_region else "--simulate"
        raise _BadInput(f"{given[0]} does not go with {other} (exact joint OC only)")
    tox = None
    if args.tox is not None:
        tox = _floats(args.tox, "--tox")
        if not all(0.0 <= q <= 1.0 for q in tox) or len(set(tox)) != len(tox):
            raise _BadInput(f"--tox must be distinct true toxicity rates in [0, 1]; got "
                            f"{args.tox!r}")
    odds = None
    if args.odds_ratio is not None:
        odds = _floats(args.odds_ratio, "--odds-ratio", 1)[0]
        if not odds > 0:
            raise _BadInput("--odds-ratio must be a number > 0 (1: response and toxicity "
                            f"independent); got {args.odds_ratio!r}")
    return tox, odds


def _cmd_oc_multi(args: argparse.Namespace, design: Any, tox: list[float] | None = None,
                  odds: float | None = None) -> None:
    """OC of a multi-cohort design: exact, or Monte Carlo with ``--simulate``.

    ``--simulate`` runs :func:`adaptive2.engines.exact.oc` with ``method="simulate"`` (the
    trial-conduct simulator with no delay and no dropout); every figure of a row
    then has its ``_mcse`` twin. A design with toxicity monitors gets the exact joint
    OC (:func:`adaptive2.engines.cohort_exact.cohort_oc`), its scenarios crossed with
    ``--tox`` (default: each monitor's acceptable rate, then its limit); each row then
    carries ``tox``, ``odds_ratio``, ``p_stop_toxicity`` and ``p_stop_toxicity_at``.
    """
    if args.p is not None:
        raise _BadInput(
            "--p applies to single-cohort designs; a multi-cohort design takes its "
            "[[scenarios]]"
        )
    if not design.scenarios:
        raise _BadInput(f"{args.design}: a multi-cohort design needs [[scenarios]] for its OC")
    mc = bool(args.simulate)
    monitored = design.toxicity is not None
    if monitored and mc:
        raise _BadInput(
            f"--simulate: {args.design} monitors toxicity, and the multi-cohort simulator does "
            "not stop cohorts for toxicity yet; drop --simulate for the exact joint OC"
        )
    if monitored:
        ds = cohort_oc(design, tox=tox, odds_ratio=odds)
    else:
        ds = oc(design, method="simulate" if mc else "exact", n_sims=args.n_sims, seed=args.seed)
    rows = []
    looks = {c.name: list(c.looks) for c in design.cohorts}
    for i, sname in enumerate(ds["scenario"].values):
        for j, cname in enumerate(ds["cohort"].values):
            row: dict[str, Any] = {
                "scenario": str(sname),
                "cohort": str(cname),
                "rate": float(ds["rate"].values[i, j]),
                "role": str(ds["role"].values[i, j]),
            }
            if monitored:
                q = float(ds["toxicity_rate"].values[i, j])
                row["tox"] = None if math.isnan(q) else q
                row["odds_ratio"] = float(ds["odds_ratio"].values[i, j])
            for var in ("p_efficacy", "p_futility", "p_early_stop", "expected_n", "sd_n"):
                row[var] = float(ds[var].values[i, j])
                if mc:
                    row[f"{var}_mcse"] = float(ds[f"{var}_mcse"].values[i, j])
            stops = ds["p_stop_at"].values[i, j]
            row["p_stop_at"] = [
                {
                    "look": k + 1,
                    "n": looks[str(cname)][k],
                    "futility": float(stops[k, 0]),
                    "efficacy": float(stops[k, 1]),
                }
                for k in range(stops.shape[0])
            ]
            if monitored:
                row["p_stop_toxicity"] = float(ds["p_stop_toxicity"].values[i, j])
                at = ds["p_stop_toxicity_at"].values[i, j]
                row["p_stop_toxicity_at"] = [
                    {"check": t + 1, "n": int(n), "p": float(at[t])}
                    for t, n in enumerate(ds["tox_check_n"].values[j]) if n > 0
                ]
            for var in ("fwer", "p_all_correct"):
                row[var] = float(ds[var].values[i])
                if mc:
                    row[f"{var}_mcse"] = float(ds[f"{var}_mcse"].values[i])
            rows.append(row)
    cols = [
        "scenario",
        "cohort",
        "rate",
        "role",
        "p_efficacy",
        "p_futility",
        "expected_n",
        "fwer",
        "p_all_correct",
    ]
    label = "Exact operating characteristics"
    if mc:
        label = (f"Monte Carlo operating characteristics ({ds.attrs['n_sims']} trials per "
                 f"scenario, seed entropy {ds.attrs['seed_entropy']})")
        cols.insert(cols.index("p_efficacy") + 1, "p_efficacy_mcse")
    if monitored:
        label = "Exact joint efficacy-toxicity operating characteristics"
        cols[cols.index("role") + 1 : cols.index("role") + 1] = ["tox"]
        cols.insert(cols.index("p_futility") + 1, "p_stop_toxicity")
    text = (
        f"{label} of {design.name} ({design.model.describe()})\n"
        "p_efficacy is type I error for role=null and power for role=alternative; fwer = "
        "P(any null cohort declared efficacious)\n" + _table(rows, cols)
    )
    if monitored:
        text += (
            "\n\nEach cohort's toxicity rule is checked at its own check points, before an "
            "efficacy look at the same patient, without borrowing; a cohort stopped for "
            "toxicity declares nothing and its data at the check keep informing the others. "
            "tox: true toxicity rate; p_stop_toxicity: P(the cohort stops for toxicity). The "
            "null-region search (--null-region) covers designs without toxicity monitors only."
        )
    elif not args.json and not mc:  # the null region is exact: not with --simulate
        text += "\n\n" + _null_region_text(null_region(design))
    _emit(args, rows, text)


# ---------------------------------------------------------------------------
# calibrate
# ---------------------------------------------------------------------------
def _written_name(args: argparse.Namespace, old: str) -> str:
    """``--name``, else ``<old name>-calibrated``."""
    return args.name if args.name is not None else f"{old}-calibrated"


def _renamed(design: Any, name: str, **targets: float | None) -> Any:
    """``design`` under a new name, with the target fields given (None: left as they are)."""
    changes: dict[str, Any] = {"name": name}
    changes.update({k: v for k, v in targets.items() if v is not None})
    if isinstance(design, Design):
        return design.replace(**changes)
    return dataclasses.replace(design, **changes)  # a CohortDesign


def _check_name(args: argparse.Namespace) -> None:
    if args.name is not None:
        if args.write is None:
            raise _BadInput("--name goes with --write (it names the design written)")
        if not args.name.strip():
            raise _BadInput(f"--name must be a non-empty design name; got {args.name!r}")


def _cmd_calibrate(args: argparse.Namespace) -> None:

    design = _load(args.design)
    _check_name(args)
    if args.write:
        _output(args.write, "--write")
    if args.toxicity:
        _cmd_calibrate_toxicity(args, design)
        return
    if args.target is not None:
        raise _BadInput("--target goes with --toxicity")
    if _is_multi(design) and design.toxicity is not None:
        raise _BadInput(
            f"{args.design}: calibrate of a multi-cohort design with toxicity monitoring is not "
            "available (its type I error search does not stop cohorts for toxicity); calibrate "
            "the design without its [toxicity] tables, add them back, and check the joint OC "
            "with adaptive2 oc"
        )
    if args.objective != "max-power" and (args.futility or _is_multi(design)):
        raise _BadInput(
            "--objective min-EN0 applies to a single-cohort design's own calibration (not "
            "--futility, not a multi-cohort design)"
        )
    if args.futility:
        if args.max_power_loss is None:
            args.max_power_loss = 0.02
        _cmd_calibrate_futility(args, design)
        return
    if args.max_power_loss is not None:
        raise _BadInput("--max-power-loss goes with --futility")
    if _is_multi(design):
        _cmd_calibrate_multi(args, design)
        return
    if args.range or args.control != "cohort" or args.non_binding:
        raise _BadInput("--range, --control and --non-binding apply to multi-cohort designs")
    if args.alpha is None:
        args.alpha = design.alpha if design.alpha is not None else 0.10
    if args.power is None:
        args.power = design.target_power
    min_en = args.objective == "min-EN0"
    if min_en and args.power is None:
        raise _BadInput(
            "--objective min-EN0 needs a power target: give --power, or a top-level "
            f"`power` in {args.design}"
        )
    if args.parameter is None and isinstance(design.futility, BOP2):
        if args.within is not None:
            raise _BadInput("--within goes with --parameter for a BOP2 design (its (lambda, "
                            "gamma) search uses a fixed grid)")
        res = calibrate_bop2(design, alpha=args.alpha, power=args.power,
                             objective=args.objective)
    else:
        within = None
        if args.within is not None:
            lo, hi = _floats(args.within, "--within", 2)
            within = (lo, hi)
        res = calibrate(
            design,
            args.parameter if args.parameter is not None or min_en else "final.cutoff",
            alpha=args.alpha,
            power=args.power,
            within=within,
            objective=args.objective,
        )
    if args.write:
        new = _renamed(res.design, _written_name(args, design.name), alpha=args.alpha,
                       target_power=args.power)
        _write_design(new, args.write, _calibrate_header(args, design, res))
    payload = res.to_dict()
    payload["objective"] = args.objective
    payload["written"] = None if not args.write else {"path": args.write,
                                                      "name": _written_name(args, design.name)}
    lines = [res.message, ""]
    for k, v in res.parameters.items():
        interval = res.interval.get(k)
        extra = (
            f"  (same boundaries for {k} in [{interval[0]:.6g}, {interval[1]:.6g}))"
            if interval
            else ""
        )
        lines.append(f"{k} = {v:g}{extra}")
    lines.append(
        f"worst-case type I error {res.alpha:.4f} at p = {res.worst_case_p:g} "
        f"(target <= {res.target_alpha:g})"
    )
    if math.isfinite(res.power):
        tgt = f" (target >= {res.target_power:g})" if res.target_power is not None else ""
        lines.append(f"power {res.power:.4f}{tgt}")
    lines.append(f"expected N under p0 {res.expected_n_p0:.2f}")
    lines.append(f"feasible: {'yes' if res.feasible else 'no'}")
    if args.write:
        lines.append(f"written to {args.write} as {_written_name(args, design.name)}")
    lines += ["", res.design.boundaries().to_frame().to_string()]
    _emit(args, payload, "\n".join(lines))


def _calibrate_header(args: argparse.Namespace, design: Design, res: Any) -> str:
    """The comment header of a calibrated single-cohort design file."""
    what = ("the smallest E[N | p0] with worst-case type I error and power on target"
            if args.objective == "min-EN0" else
            "the largest power with the worst-case type I error on target")
    params = ", ".join(f"{k} = {v:g}" for k, v in res.parameters.items())
    power = f", power >= {res.target_power:g}" if res.target_power is not None else ""
    achieved = f"worst-case type I error {res.alpha:.4f} (at p = {res.worst_case_p:g})"
    if math.isfinite(res.power):
        achieved += f", power {res.power:.4f}"
    return _calibrate_header_text(args, [
        f"Calibrated from design {design.name!r} ({args.design}), objective {args.objective}: "
        f"{what}.",
        f"Parameter: {params}.",
        f"Targets: type I error <= {res.target_alpha:g}{power}.",
        f"Achieved (exact): {achieved}, E[N | p0] {res.expected_n_p0:.2f}; feasible: "
        f"{'yes' if res.feasible else 'no'}.",
        f"{res.message}.",
    ])


def _calibrate_header_text(args: argparse.Namespace, lines: Sequence[str]) -> str:
    return _written_header(args, "Calibrated by", lines)


def _cmd_calibrate_multi(args: argparse.Namespace, design: Any) -> None:

    if args.parameter not in (None, "final.cutoff") or args.power is not None or args.within:
        raise _BadInput("a multi-cohort design is calibrated on each cohort's final.cutoff "
                        "against --alpha (or its futility with --futility) only")
    alpha = args.alpha if args.alpha is not None else design.alpha
    res = calibrate_cohorts(design, alpha=alpha, control=args.control,
                            binding=not args.non_binding, ranges=_ranges_arg(args, design))
    records = res.table.reset_index().to_dict("records")
    nr = res.null_region
    what = "FWER" if args.control == "fwer" else "type I error of each cohort"
    if args.write:
        cutoffs = ", ".join(f"{r['cohort']}.final.cutoff = {r['cutoff']:g}" for r in records)
        header = _calibrate_header_text(args, [
            f"Calibrated from design {design.name!r} ({args.design}): each cohort's final "
            f"cutoff for the {what} <= {res.alpha:g} over the whole null region (control "
            f"{args.control}, {'binding' if not args.non_binding else 'non-binding'} futility).",
            f"Parameters: {cutoffs}.",
            f"Target: type I error <= {res.alpha:g}.",
            f"Achieved (exact): FWER supremum {nr.max_fwer:.4f}, at the global null "
            f"{nr.fwer_global_null:.4f}; feasible: "
            f"{'yes' if res.to_dict()['feasible'] else 'no'}.",
            f"{res.message}",
        ])
        _write_design(_renamed(res.design, _written_name(args, design.name), alpha=res.alpha),
                      args.write, header)
    binding = "" if not args.non_binding else ", futility ignored (non-binding)"
    text = (
        f"Final cutoffs with the {what} <= {res.alpha:g} over the whole null region (exact, "
        f"with borrowing{binding}; verified on a finer grid)\n"
        + _table(records, ["cohort", "cutoff", "margin", "max_type1", "argmax",
                           "listed_max_type1", "mean_power"], digits=6)
        + f"\nFWER at the global null {nr.fwer_global_null:.4f}; supremum {nr.max_fwer:.4f}"
        + f"\n{res.message}"
    )
    if args.write:
        text += f"\nwritten to {args.write} as {_written_name(args, design.name)}"
    payload = {**res.to_dict(), "boundaries": res.design.boundaries()}
    _emit(args, payload, text)


def _cmd_calibrate_futility(args: argparse.Namespace, design: Any) -> None:

    if args.power is not None or args.control != "cohort" or args.non_binding:
        raise _BadInput("--futility takes --max-power-loss (and --parameter, --within for a "
                        "single cohort); calibrate the final cutoffs separately")
    within = None
    if args.within is not None:
        lo, hi = _floats(args.within, "--within", 2)
        within = (lo, hi)
    res = calibrate_futility(design, max_power_loss=args.max_power_loss,
                             parameter=args.parameter, within=within)
    rows = res.table.reset_index().to_dict("records")
    if args.write:
        params = ", ".join(f"{k} = {v:g}" for k, v in res.to_dict()["parameters"].items())
        loss = ", ".join(f"{r['cohort']}: P(early stop | null) {r['p_early_stop_null_after']:.4f}"
                         f", power loss {r['power_loss']:.4f}" for r in rows)
        header = _calibrate_header_text(args, [
            f"Futility calibrated from design {design.name!r} ({args.design}): the largest "
            "P(early stop | null) with power loss <= "
            f"{args.max_power_loss:g} against no futility stop.",
            f"Parameters: {params}.",
            f"Achieved (exact): {loss}.",
            f"{res.message}",
        ])
        _write_design(_renamed(res.design, _written_name(args, design.name)), args.write, header)
    cols = ["cohort", "parameter", "before", "after", "p_early_stop_null_before",
            "p_early_stop_null_after", "expected_n_null_after", "power_no_futility",
            "power_after", "power_loss"]
    text = (
        "Futility calibration (exact): P(early stop | null) as large as possible with power "
        f"loss <= {args.max_power_loss:g} against no futility stop\n"
        + _table(rows, cols) + f"\n{res.message}"
    )
    if args.write:
        text += f"\nwritten to {args.write} as {_written_name(args, design.name)}"
    _emit(args, res.to_dict(), text)


# ---------------------------------------------------------------------------
# calibrate --toxicity
# ---------------------------------------------------------------------------
def _cmd_calibrate_toxicity(args: argparse.Namespace, design: Any) -> None:
    """``calibrate --toxicity``: the toxicity rule's cutoff (or Pocock level), exactly.

    A ``bop2`` toxicity rule shares its cut-off with the BOP2 futility rule, so λ and γ
    are calibrated jointly (:func:`adaptive2.engines.bop2_efftox.calibrate_efftox_design`).
    """
    joint = (not _is_multi(design) and design.toxicity is not None
             and design.toxicity.rule == "bop2")
    others = [name for name, given in (
        ("--futility", args.futility), ("--max-power-loss", args.max_power_loss is not None),
        ("--parameter", args.parameter is not None), ("--within", args.within is not None),
        ("--objective", args.objective != "max-power"),
        ("--alpha", args.alpha is not None and not joint),
        ("--power", args.power is not None), ("--range", bool(args.range)),
        ("--non-binding", args.non_binding), ("--control", args.control != "cohort"),
        ("--target", args.target is not None and joint),
    ) if given]
    if others:
        what = ("calibrates BOP2's joint rule (lambda, gamma; --alpha)" if joint
                else "calibrates the [toxicity] rule alone")
        raise _BadInput(f"--toxicity {what}; drop {others[0]}")
    if _is_multi(design):
        raise _BadInput("--toxicity applies to a single-cohort design with a [toxicity] table")
    if design.toxicity is None:
        raise _BadInput(f"--toxicity: {args.design} has no [toxicity] table to calibrate")
    if joint:
        _cmd_calibrate_efftox(args, design)
        return
    target = args.target
    if target is not None and not 0.0 < target < 1.0:
        raise _BadInput(f"--target must be a probability in (0, 1); got {target!r}")
    res = calibrate_toxicity(design.toxicity, target)
    new = design.replace(toxicity=res.monitor, toxicity_source=design.toxicity_source,
                         toxicity_rates=design.toxicity_rates,
                         toxicity_odds_ratio=design.toxicity_odds_ratio)
    name = _written_name(args, design.name)
    what = (f"cutoff {res.value:g}" if res.parameter == "cutoff"
            else f"nominal level {res.value:.6g}")
    achieved = (f"P(stop for toxicity | {res.monitor.acceptable:g}) = {res.p_stop_acceptable:.4f}"
                f" (target <= {res.target:g}), P(stop | {res.monitor.limit:g}) = "
                f"{res.p_stop_limit:.4f}")
    if args.write:
        header = _calibrate_header_text(args, [
            f"Toxicity rule calibrated from design {design.name!r} ({args.design}): "
            f"{res.monitor.rule} rule, {what}.",
            f"Achieved (exact): {achieved}.",
            res.message,
        ])
        _write_design(_renamed(new, name), args.write, header)
    rows = [{"n": n, "stop_at_or_above": k if k <= n else None}
            for n, k in zip(res.monitor.monitor, res.boundaries, strict=True)]
    text = (f"Toxicity calibration of {design.name} (exact): {res.monitor.rule} rule, {what}\n"
            f"{achieved}\n" + _table(rows, ["n", "stop_at_or_above"]) + f"\n{res.message}")
    if args.write:
        text += f"\nwritten to {args.write} as {name}"
    payload = res.to_dict()
    payload["written"] = {"path": args.write, "name": name} if args.write else None
    _emit(args, payload, text)


def _cmd_calibrate_efftox(args: argparse.Namespace, design: Any) -> None:
    """``calibrate --toxicity`` of a design with a ``bop2`` toxicity rule: λ, γ jointly."""
    alpha = args.alpha
    if alpha is not None and not 0.0 < alpha < 1.0:
        raise _BadInput(f"--alpha must be a probability in (0, 1); got {alpha!r}")
    new, res = calibrate_efftox_design(design, alpha)
    name = _written_name(args, design.name)
    acceptable = design.toxicity.acceptable
    achieved = (f"P(declare | p = {res.phi_e:g}, toxicity {res.phi_t:g}) = {res.alpha:.4f} "
                f"(target <= {res.target_alpha:g}); P(declare | p = {design.p1:g}, toxicity "
                f"{acceptable:g}) = {res.power:.4f}")
    if args.write:
        header = _calibrate_header_text(args, [
            f"BOP2 joint efficacy-toxicity rule calibrated from design {design.name!r} "
            f"({args.design}): lambda {res.lambda_:g}, gamma {res.gamma:g}.",
            f"Achieved (exact): {achieved}.",
            res.message,
        ])
        _write_design(_renamed(new, name), args.write, header)
    rows = [{"n": n, "futility_max_r": a, "toxicity_min_t": b if b <= n else None}
            for n, a, b in zip(res.looks, res.futility_max_r, res.toxicity_min_t, strict=True)]
    text = (f"BOP2 joint efficacy-toxicity calibration of {design.name} (exact): lambda "
            f"{res.lambda_:g}, gamma {res.gamma:g}\n{achieved}\n"
            + _table(rows, ["n", "futility_max_r", "toxicity_min_t"]) + f"\n{res.message}")
    if args.write:
        text += f"\nwritten to {args.write} as {name}"
    payload = res.to_dict()
    payload["written"] = {"path": args.write, "name": name} if args.write else None
    _emit(args, payload, text)


# ---------------------------------------------------------------------------
# search, simon --write
# ---------------------------------------------------------------------------
_CRITERION = {
    "min-EN0": "the smallest E[N | p0] among the designs meeting both targets",
    "min-max-N": "the smallest maximum N, ties broken by the smallest E[N | p0]",
    "balanced": "the smallest (N + E[N | p0]) / 2: the admissible design for q = 0.5 "
                "(Jung et al. 2004)",
}
_DEFAULT_N_RANGE = (10, 60)
_DEFAULT_FIRST_LOOK = 10
_DEFAULT_SCHEDULES = (2, 3, 4)
_MAX_N = 300  # largest N the Lee & Liu and BOP2 searches take
# options that only some families read: family -> options it takes
_FAMILY_OPTIONS = {
    "simon": {"--nmax"},
    "lee-liu": {"--nmax", "--n-range", "--first-look", "--look-every"},
    "bop2": {"--nmax", "--n-range", "--looks"},
    "pareto": set(),
}
_OPTION_DEST = {"--nmax": "nmax", "--n-range": "n_range", "--looks": "looks",
                "--first-look": "first_look", "--look-every": "look_every"}


def _search_iv(args: argparse.Namespace) -> None:
    """Options that do not fit ``--family``, and p1 below p0: one line naming the option."""
    family = args.family
    for option, dest in _OPTION_DEST.items():
        if getattr(args, dest) is not None and option not in _FAMILY_OPTIONS[family]:
            takes = [f for f, opts in _FAMILY_OPTIONS.items() if option in opts]
            raise _BadInput(f"{option} applies to --family {' or '.join(takes)}, not {family}")
    if family == "pareto":
        if not args.designs:
            raise _BadInput("--family pareto needs the design files to choose among, e.g. "
                            "adaptive2 search --family pareto designs/frontline-*.toml")
    else:
        if args.designs:
            raise _BadInput(f"design files go with --family pareto; --family {family} searches "
                            f"its own designs (got {args.designs[0]})")
        for option in ("--p0", "--p1"):
            if getattr(args, option[2:]) is None:
                raise _BadInput(f"--family {family} needs {option} (a probability in (0, 1))")
    if args.nmax is not None and args.n_range is not None:
        raise _BadInput("give --n-range LOW,HIGH or --nmax HIGH, not both")
    if args.p0 is not None and args.p1 is not None and not args.p1 > args.p0:
        raise _BadInput(f"--p1 must be above --p0 ({args.p0:g}); got {args.p1:g}")
    _check_name(args)


def _n_range_arg(args: argparse.Namespace) -> tuple[int, int]:
    """``--n-range LOW,HIGH`` (or ``--nmax HIGH``) for the Lee & Liu and BOP2 searches."""
    if args.nmax is not None:
        if args.nmax > _MAX_N:
            raise _BadInput(f"--nmax must be a whole number in [1, {_MAX_N}] for --family "
                            f"{args.family}; got {args.nmax}")
        return min(_DEFAULT_N_RANGE[0], args.nmax), args.nmax
    if args.n_range is None:
        return _DEFAULT_N_RANGE
    allowed = f"LOW,HIGH: whole numbers with 1 <= LOW <= HIGH <= {_MAX_N}"
    try:
        lo, hi = (int(x) for x in args.n_range.replace(" ", "").split(","))
    except ValueError:
        raise _BadInput(f"--n-range must be {allowed}; got {args.n_range!r}") from None
    if not 1 <= lo <= hi <= _MAX_N:
        raise _BadInput(f"--n-range must be {allowed}; got {args.n_range!r}")
    return lo, hi


def _looks_arg(args: argparse.Namespace) -> tuple[int, ...]:
    """``--looks K[,K...]``: numbers of equally spaced analyses (BOP2 search)."""
    if args.looks is None:
        return _DEFAULT_SCHEDULES
    allowed = "comma-separated whole numbers of analyses in [1, 50], e.g. 2,3,4"
    try:
        ks = [int(x) for x in args.looks.replace(" ", "").split(",")]
    except ValueError:
        raise _BadInput(f"--looks must be {allowed}; got {args.looks!r}") from None
    if not ks or not all(1 <= k <= 50 for k in ks):
        raise _BadInput(f"--looks must be {allowed}; got {args.looks!r}")
    return tuple(dict.fromkeys(ks))


def _run_search(args: argparse.Namespace) -> tuple[SearchResult | SimonResult, dict[str, Any],
                                                    str]:
    """Run the family's engine: (result, settings for the JSON, what was searched in words)."""
    family, alpha, power = args.family, args.alpha, args.power
    if family == "simon":
        nmax = 100 if args.nmax is None else args.nmax
        res: SearchResult | SimonResult = simon(args.p0, args.p1, alpha=alpha, beta=1.0 - power,
                                                nmax=nmax)
        return res, {"nmax": nmax}, f"Simon (1989) two-stage designs with n <= {nmax}"
    if family == "lee-liu":
        lo, hi = _n_range_arg(args)
        first = _DEFAULT_FIRST_LOOK if args.first_look is None else args.first_look
        every = 1 if args.look_every is None else args.look_every
        res = lee_liu(args.p0, args.p1, alpha=alpha, power=power, n_range=(lo, hi),
                      first_look=first, looks="every" if every == 1 else every)
        step = "every patient" if every == 1 else f"every {every} patients"
        return res, {"n_range": [lo, hi], "first_look": first, "look_every": every}, (
            f"Lee & Liu (2008) predictive-probability designs with N = {lo}..{hi}, interim "
            f"looks from {first} patients, {step} (prior Beta(p0, 1 - p0))")
    if family == "bop2":
        lo, hi = _n_range_arg(args)
        schedules = _looks_arg(args)
        res = design_search("bop2", args.p0, args.p1, alpha=alpha, power=power,
                            n_values=range(lo, hi + 1), look_schedules=schedules)
        looks = "/".join(str(k) for k in schedules)
        return res, {"n_range": [lo, hi], "looks": list(schedules)}, (
            f"BOP2 designs (Zhou, Lee & Yuan 2017) with N = {lo}..{hi} and {looks} equally "
            "spaced analyses, (lambda, gamma) calibrated for each (prior Beta(p0, 1 - p0))")
    designs = [_load(path) for path in args.designs]
    for path, d in zip(args.designs, designs, strict=True):
        if _is_multi(d):
            raise _BadInput(f"--family pareto takes single-cohort design files; {path} is "
                            "multi-cohort")
    for option in ("p0", "p1"):
        given = {_planning_mean(getattr(d, option)) for d in designs}
        if getattr(args, option) is None and (len(given) != 1 or None in given):
            raise _BadInput(f"--{option} must be given: the designs' planning {option} values "
                            f"are missing or differ ({sorted(given, key=str)})")
    if args.p0 is None or args.p1 is None:
        p0 = cast(float, args.p0 if args.p0 is not None else _planning_mean(designs[0].p0))
        p1 = cast(float, args.p1 if args.p1 is not None else _planning_mean(designs[0].p1))
        if not p1 > p0:
            raise _BadInput(f"--p1 must be above --p0 ({p0:g}); got {p1:g}")
    res = pareto(designs, p0=args.p0, p1=args.p1, alpha=alpha, power=power)
    args.p0, args.p1 = res.p0, res.p1
    return res, {"designs": list(args.designs)}, (
        f"the {len(designs)} designs given ({', '.join(d.name for d in designs)})")


def _planning_mean(value: Any) -> float | None:
    """A planning rate, or the mean of an uncertain one (a Beta); None if missing."""
    return cast("float | None", getattr(value, "mean", value))


def _simon_candidate(d: SimonDesign, res: SimonResult) -> dict[str, Any]:
    design = d.to_design()
    key = (d.r1, d.n1, d.r, d.n)

    def same(other: SimonDesign | None) -> bool:
        return other is not None and (other.r1, other.n1, other.r, other.n) == key

    q = (getattr(d, "q_low", None), getattr(d, "q_high", None))
    return {
        "name": design.name,
        "n_max": int(d.n),
        "looks": [int(d.n1), int(d.n)],
        "parameters": {"r1": int(d.r1), "n1": int(d.n1), "r": int(d.r), "n": int(d.n)},
        "alpha": float(d.alpha),
        "power": float(d.power),
        "expected_n_p0": float(d.expected_n_p0),
        "pet_p0": float(d.pet_p0),
        "optimal": same(res.optimal),
        "minimax": same(res.minimax),
        "admissible": q[0] is not None,
        "q_low": q[0],
        "q_high": q[1],
        "boundaries": design.boundaries().to_records(),
    }


def _search_candidate(d: SearchDesign, res: SearchResult) -> dict[str, Any]:
    q = d.q_interval
    out = d.to_dict()
    out.pop("index")
    out.pop("q_interval", None)
    return {
        **out,
        "optimal": d is res.optimal,
        "minimax": d is res.minimax,
        "admissible": q is not None,
        "q_low": None if q is None else q[0],
        "q_high": None if q is None else q[1],
    }


def _candidates(res: SearchResult | SimonResult, family: str, objective: str) -> tuple[
        list[Any], Any, str]:
    """(candidate designs, the chosen one or None, what the candidates are in words)."""
    chosen = res.choose(objective)
    if family == "pareto":
        assert isinstance(res, SearchResult)
        return list(res.designs), chosen, (
            f"every design given that meets both targets ({len(res.designs)} of "
            f"{res.n_evaluated})")
    items = list(res.admissible)
    return items, chosen, (
        "the admissible designs (Jung et al. 2004): each minimises q N + (1 - q) E[N | p0] "
        "for the weights q shown; every objective chooses one of them")


def _settings_text(c: dict[str, Any], family: str) -> str:
    p = c["parameters"]
    if family == "simon":
        return f"r1/n1 = {p['r1']}/{p['n1']}, r/n = {p['r']}/{p['n']}"
    short = {"futility.threshold": "theta_L", "final.cutoff": "theta_T",
             "efficacy.threshold": "theta_U", "futility.lambda": "lambda",
             "futility.gamma": "gamma", "efficacy.eta": "eta"}
    return ", ".join(f"{short.get(k, k)} = {v:g}" for k, v in p.items() if v is not None)


def _marks(c: dict[str, Any], chosen: bool) -> str:
    out = []
    if chosen:
        out.append("<- chosen")
    out += [k for k in ("minimax", "optimal") if c[k]]
    if c["admissible"]:
        out.append(f"q in [{c['q_low']:.2f}, {c['q_high']:.2f}]")
    return ", ".join(out)


def _looks_words(looks: Sequence[int]) -> str:
    looks = list(looks)
    if len(looks) > 6:
        step = looks[1] - looks[0]
        if all(b - a == step for a, b in itertools.pairwise(looks[:-1])):
            every = "every patient" if step == 1 else f"every {step}"
            return f"{looks[0]}..{looks[-2]} ({every}), {looks[-1]}"
    return ", ".join(str(n) for n in looks)


def _words_table(rows: list[dict[str, str]], numeric: set[str]) -> str:
    """A plain-text table of strings: numeric columns right-aligned, the others left."""
    if not rows:
        return ""
    cols = list(rows[0])
    widths = [max(len(c), *(len(r[c]) for r in rows)) for c in cols]

    def line(cells: list[str]) -> str:
        return "  ".join(v.rjust(w) if c in numeric else v.ljust(w)
                         for c, v, w in zip(cols, cells, widths, strict=True)).rstrip()

    return "\n".join([line(cols), *(line([r[c] for c in cols]) for r in rows)])


def _candidates_table(cands: list[dict[str, Any]], chosen: dict[str, Any] | None,
                      family: str) -> str:
    """Candidates in words: integers as integers, probabilities to 3 dp, E[N] to 1 dp."""
    rows = []
    for c in cands:
        rows.append({
            "design": c["name"],
            "max N": str(c["n_max"]),
            "looks": _looks_words(c["looks"]),
            "E[N | p0]": f"{c['expected_n_p0']:.1f}",
            "P(early stop | p0)": f"{c['pet_p0']:.3f}",
            "type I error": f"{c['alpha']:.3f}",
            "power": f"{c['power']:.3f}",
            "settings": _settings_text(c, family),
            "": _marks(c, chosen is not None and c["name"] == chosen["name"]
                       and c["looks"] == chosen["looks"]),
        })
    numeric = {"max N", "E[N | p0]", "P(early stop | p0)", "type I error", "power"}
    return _words_table(rows, numeric)


def _targets_words(args: argparse.Namespace) -> str:
    return (f"p0 = {args.p0:g}, p1 = {args.p1:g}, type I error <= {args.alpha:g}, power >= "
            f"{args.power:g}")


def _chosen_words(c: dict[str, Any], family: str, n_cands: int, objective: str) -> str:
    settings = _settings_text(c, family)
    return (f"{c['name']} (objective {objective}, of {n_cands} candidates): max N "
            f"{c['n_max']}, looks {_looks_words(c['looks'])}"
            + (f", {settings}" if settings else "")
            + f"; exact type I error {c['alpha']:.4f}, power {c['power']:.4f}, "
            f"E[N | p0] {c['expected_n_p0']:.1f}, P(early stop | p0) {c['pet_p0']:.3f}")


def _chosen_design(res: SearchResult | SimonResult, chosen: Any, args: argparse.Namespace
                   ) -> Design:
    """The chosen design as a Design named ``--name``, carrying the alpha / power targets."""
    design: Design = chosen.to_design() if isinstance(res, SimonResult) else chosen.design
    name = args.name if args.name is not None else design.name
    return design.replace(name=name, alpha=args.alpha, target_power=args.power)


def _cmd_search(args: argparse.Namespace) -> None:
    """``adaptive2 search``: run a design search, print the candidates, save the chosen one."""
    _search_iv(args)
    if args.write:
        _output(args.write, "--write")
    res, settings, searched = _run_search(args)
    items, chosen, what = _candidates(res, args.family, args.objective)
    to_dict = _simon_candidate if isinstance(res, SimonResult) else _search_candidate
    cands = [to_dict(d, res) for d in items]  # type: ignore[arg-type]
    pick = None if chosen is None else to_dict(chosen, res)  # type: ignore[arg-type]
    message = getattr(res, "message", None) or (
        f"{len(cands)} admissible designs" if cands else
        f"no Simon design with n <= {settings['nmax']} meets both targets")
    if pick is None and args.write:
        raise _BadInput(f"no design meets both targets, so nothing was written to "
                        f"{args.write}: {message}")
    if args.write:
        design = _chosen_design(res, chosen, args)
        header = _written_header(args, "Found by", [
            f"Search: {searched}; {_targets_words(args)}.",
            f"Objective {args.objective}: {_CRITERION[args.objective]}.",
            f"Chosen: {_chosen_words(pick, args.family, len(cands), args.objective)}."
            if pick is not None else "",
            f"Written as design {design.name!r} with its targets alpha = {args.alpha:g}, "
            f"power = {args.power:g}.",
        ])
        _write_design(design, args.write, header)
    payload = {
        "family": args.family,
        "objective": args.objective,
        "criterion": _CRITERION[args.objective],
        "p0": args.p0,
        "p1": args.p1,
        "alpha": args.alpha,
        "power": args.power,
        "settings": settings,
        "message": message,
        "candidates": cands,
        "chosen": pick,
        "written": None if not args.write else {"path": args.write, "name": design.name},
    }
    lines = [f"Search: {searched}", _targets_words(args), "", f"Candidates: {what}"]
    lines.append(_candidates_table(cands, pick, args.family) if cands else
                 "  (none: no design meets both targets)")
    lines += ["", message]
    if pick is not None:
        lines.append(f"Chosen by {args.objective} ({_CRITERION[args.objective]}):")
        lines.append("  " + _chosen_words(pick, args.family, len(cands), args.objective))
    if args.write:
        lines.append(f"written to {args.write} as {design.name}")
    _emit(args, payload, "\n".join(lines))


def _cmd_simon(args: argparse.Namespace) -> None:
    """``adaptive2 simon``: the designs (see :mod:`adaptive2.cli.priors`); ``--write`` saves one."""
    if args.write is None:
        if args.objective is not None or args.name is not None:
            raise _BadInput("--objective and --name go with --write (they choose and name the "
                            "design written)")
        priors._cmd_simon(args)
        return
    _check_name(args)
    _output(args.write, "--write")
    objective = args.objective or "min-EN0"
    res = simon(args.p0, args.p1, alpha=args.alpha, beta=args.beta, nmax=args.nmax)
    chosen = res.choose(objective)
    if chosen is None:
        raise _BadInput(
            f"no Simon design with n <= {args.nmax} meets alpha <= {args.alpha:g} and power >= "
            f"{1 - args.beta:g}, so nothing was written to {args.write}; raise --nmax or relax "
            "the targets"
        )
    power = 1.0 - args.beta
    design = chosen.to_design(name=args.name).replace(alpha=args.alpha, target_power=power)
    header = _written_header(args, "Found by", [
        f"Simon (1989) two-stage design for p0 = {args.p0:g}, p1 = {args.p1:g}, type I error "
        f"<= {args.alpha:g}, power >= {power:g} (beta = {args.beta:g}), n <= {args.nmax}.",
        f"Objective {objective}: {_CRITERION[objective]}.",
        f"Chosen: r1/n1 = {chosen.r1}/{chosen.n1}, r/n = {chosen.r}/{chosen.n}: stop after "
        f"{chosen.n1} patients if {chosen.r1} or fewer respond; efficacy if more than "
        f"{chosen.r} of {chosen.n} respond.",
        f"Exact type I error {chosen.alpha:.4f}, power {chosen.power:.4f}, E[N | p0] "
        f"{chosen.expected_n_p0:.1f}, P(early stop | p0) {chosen.pet_p0:.3f}.",
    ])
    _write_design(design, args.write, header)
    if args.json:
        payload = {**res.to_dict(), "objective": objective,
                   "chosen": {"name": design.name, **chosen.to_dict()},
                   "written": {"path": args.write, "name": design.name}}
        _emit(args, payload, "")
        return
    priors._cmd_simon(args)
    print(f"\nChosen by {objective} ({_CRITERION[objective]}): {chosen}\n"
          f"written to {args.write} as {design.name}")
