"""The ``calibrate`` command: efficacy cutoffs, ``--futility``, ``--toxicity`` and ``--write``.

``--write`` writes a new design file with a new name and a comment header recording the
calibration.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
from collections.abc import Sequence
from typing import Any

from adaptive2.cli._common import (
    _BadInput,
    _check_name,
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
from adaptive2.engines.calibration import calibrate, calibrate_bop2
from adaptive2.engines.cohort_calibration import calibrate_cohorts
from adaptive2.engines.futility import calibrate_futility
from adaptive2.engines.toxicity_calibration import calibrate_toxicity
from adaptive2.model.designs import Design
from adaptive2.model.rules import BOP2


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
    rows = [{"n": n, "stop_at_or_above": k if k <= n else None}
            for n, k in zip(res.monitor.monitor, res.boundaries, strict=True)]
    text = (f"Toxicity calibration of {design.name} (exact): {res.monitor.rule} rule, {what}\n"
            f"{achieved}\n" + _table(rows, ["n", "stop_at_or_above"]) + f"\n{res.message}")
    header = [f"Toxicity rule calibrated from design {design.name!r} ({args.design}): "
              f"{res.monitor.rule} rule, {what}.", f"Achieved (exact): {achieved}.", res.message]
    _finish(args, new, name, header, text, res.to_dict())


def _finish(args: argparse.Namespace, new: Any, name: str, header: Sequence[str], text: str,
            payload: dict[str, Any]) -> None:
    """Write the calibrated design (``--write``, with its header) and print the result."""
    if args.write:
        _write_design(_renamed(new, name), args.write, _calibrate_header_text(args, header))
        text += f"\nwritten to {args.write} as {name}"
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
    rows = [{"n": n, "futility_max_r": a, "toxicity_min_t": b if b <= n else None}
            for n, a, b in zip(res.looks, res.futility_max_r, res.toxicity_min_t, strict=True)]
    text = (f"BOP2 joint efficacy-toxicity calibration of {design.name} (exact): lambda "
            f"{res.lambda_:g}, gamma {res.gamma:g}\n{achieved}\n"
            + _table(rows, ["n", "futility_max_r", "toxicity_min_t"]) + f"\n{res.message}")
    header = [f"BOP2 joint efficacy-toxicity rule calibrated from design {design.name!r} "
              f"({args.design}): lambda {res.lambda_:g}, gamma {res.gamma:g}.",
              f"Achieved (exact): {achieved}.", res.message]
    _finish(args, new, name, header, text, res.to_dict())
