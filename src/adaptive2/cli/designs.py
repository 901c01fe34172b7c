"""``adaptive2 boundaries``, ``oc`` (``--null-region``) and ``calibrate`` (``--futility``)."""

from __future__ import annotations

import argparse
import math
from typing import Any

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
)
from adaptive2.engines.borrowing import borrowing_summary
from adaptive2.engines.calibration import calibrate, calibrate_bop2, worst_case_alpha
from adaptive2.engines.cohort_calibration import calibrate_cohorts
from adaptive2.engines.exact import oc
from adaptive2.engines.futility import calibrate_futility
from adaptive2.engines.null_region import null_region
from adaptive2.io.design_files import save_design
from adaptive2.kernels.binomial import stop_probabilities
from adaptive2.model.rules import BOP2


def _cmd_boundaries(args: argparse.Namespace) -> None:
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
        _emit(args, rows, text)
        return
    bnd = design.boundaries()
    payload = bnd.to_records()
    lines = [design.describe(), "", bnd.to_frame().to_string()]
    _emit(args, payload, "\n".join(lines))


def _cmd_null_region(args: argparse.Namespace, design: Any) -> None:
    """``oc --null-region``: the type I error supremum over the whole null region."""
    if args.simulate or args.p is not None:
        raise _BadInput("--null-region is exact and searches the rates itself: drop --simulate/--p")
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
    if args.null_region:
        _cmd_null_region(args, design)
        return
    if args.range:
        raise _BadInput("--range goes with --null-region")
    if _is_multi(design):
        _cmd_oc_multi(args, design)
        return
    scen = None
    if args.p is not None:
        scen = _floats(args.p, "--p")
    method = "simulate" if args.simulate else "exact"
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
        for var in ("p_efficacy", "p_futility", "p_early_stop", "expected_n", "sd_n"):
            row[var] = float(ds[var].values[i])
            if mc:
                row[f"{var}_mcse"] = float(ds[f"{var}_mcse"].values[i])
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
        rows.append(row)
    cols = ["p", "role", "p_efficacy", "p_futility", "p_early_stop", "expected_n", "sd_n"]
    if mc:
        cols.insert(3, "p_efficacy_mcse")
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
    stop_rows = []
    for row in rows:
        rec: dict[str, Any] = {"p": row["p"]}
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


def _cmd_oc_multi(args: argparse.Namespace, design: Any) -> None:
    """OC of a multi-cohort design: exact, or Monte Carlo with ``--simulate``.

    ``--simulate`` runs :func:`adaptive2.engines.exact.oc` with ``method="simulate"`` (the
    trial-conduct simulator with no delay and no dropout); every figure of a row
    then has its ``_mcse`` twin.
    """
    if args.p is not None:
        raise _BadInput(
            "--p applies to single-cohort designs; a multi-cohort design takes its "
            "[[scenarios]]"
        )
    if not design.scenarios:
        raise _BadInput(f"{args.design}: a multi-cohort design needs [[scenarios]] for its OC")
    mc = bool(args.simulate)
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
    text = (
        f"{label} of {design.name} ({design.model.describe()})\n"
        "p_efficacy is type I error for role=null and power for role=alternative; fwer = "
        "P(any null cohort declared efficacious)\n" + _table(rows, cols)
    )
    if not args.json and not mc:  # the null region is exact: not with --simulate

        text += "\n\n" + _null_region_text(null_region(design))
    _emit(args, rows, text)


# ---------------------------------------------------------------------------
# calibrate
# ---------------------------------------------------------------------------
def _cmd_calibrate(args: argparse.Namespace) -> None:

    design = _load(args.design)
    if args.write:
        _output(args.write, "--write")
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
        args.alpha = 0.10
    if args.parameter is None and isinstance(design.futility, BOP2):
        res = calibrate_bop2(design, alpha=args.alpha, power=args.power)
    else:
        within = None
        if args.within is not None:
            lo, hi = _floats(args.within, "--within", 2)
            within = (lo, hi)
        res = calibrate(
            design,
            args.parameter or "final.cutoff",
            alpha=args.alpha,
            power=args.power,
            within=within,
        )
    if args.write:
        save_design(res.design, args.write)
    payload = res.to_dict()
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
        lines.append(f"written to {args.write}")
    lines += ["", res.design.boundaries().to_frame().to_string()]
    _emit(args, payload, "\n".join(lines))


def _cmd_calibrate_multi(args: argparse.Namespace, design: Any) -> None:

    if args.parameter not in (None, "final.cutoff") or args.power is not None or args.within:
        raise _BadInput("a multi-cohort design is calibrated on each cohort's final.cutoff "
                        "against --alpha (or its futility with --futility) only")
    alpha = args.alpha if args.alpha is not None else design.alpha
    res = calibrate_cohorts(design, alpha=alpha, control=args.control,
                            binding=not args.non_binding, ranges=_ranges_arg(args, design))
    if args.write:
        _write_design(res.design, args.write)
    records = res.table.reset_index().to_dict("records")
    nr = res.null_region
    what = "FWER" if args.control == "fwer" else "type I error of each cohort"
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
        text += f"\nwritten to {args.write}"
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
    if args.write:
        _write_design(res.design, args.write)
    rows = res.table.reset_index().to_dict("records")
    cols = ["cohort", "parameter", "before", "after", "p_early_stop_null_before",
            "p_early_stop_null_after", "expected_n_null_after", "power_no_futility",
            "power_after", "power_loss"]
    text = (
        "Futility calibration (exact): P(early stop | null) as large as possible with power "
        f"loss <= {args.max_power_loss:g} against no futility stop\n"
        + _table(rows, cols) + f"\n{res.message}"
    )
    if args.write:
        text += f"\nwritten to {args.write}"
    _emit(args, res.to_dict(), text)
