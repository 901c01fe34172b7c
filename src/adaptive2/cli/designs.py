"""Design commands ``boundaries`` and ``oc`` (with ``--null-region``).

An exact answer is computed as plain arrays (:class:`~adaptive2.engines.oc_schema.OCTable`)
and printed without xarray or pandas.
"""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any

from adaptive2.cli._common import (
    _BadInput,
    _emit,
    _floats,
    _is_multi,
    _load,
    _ranges_arg,
    _table,
)
from adaptive2.engines.borrowing import borrowing_summary
from adaptive2.engines.calibration import worst_case_alpha
from adaptive2.engines.cohort_exact import cohort_oc_table
from adaptive2.engines.cohort_montecarlo import cohort_simulate, unsupported
from adaptive2.engines.exact import CHUNK_SIZE as _OC_CHUNK_SIZE
from adaptive2.engines.exact import oc, oc_table
from adaptive2.engines.null_region import null_region
from adaptive2.engines.oc_schema import OCTable
from adaptive2.engines.toxicity_oc import oc_toxicity_table
from adaptive2.kernels.binomial import stop_probabilities
from adaptive2.model.designs import toxicity_protocol, toxicity_records


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
    lines = [design.describe(), "",
             _table(bnd.to_rows(), ["look", "n", "futility_max_r", "efficacy_min_r", "rule"])]
    if design.toxicity is not None:
        payload = {"efficacy": payload, "toxicity": toxicity_records(design.toxicity)}
        lines += ["", "Toxicity stopping rule (checked before an efficacy look at the same "
                  "patient; a trial stopped for toxicity declares nothing):"]
        lines += [f"  {line}" for line in toxicity_protocol(design.toxicity)]
    _emit(args, payload, "\n".join(lines))


def _cmd_null_region(args: argparse.Namespace, design: Any, n_given: int | None = None) -> None:
    """``oc --null-region``: the type I error supremum over the whole null region.

    Exact; for a multi-cohort design ``--simulate`` estimates it by simulation over a
    design of points instead (:func:`adaptive2.engines.null_region_mc.null_region_simulated`),
    for designs beyond the exact lattice.
    """
    if args.p is not None or (args.simulate and not _is_multi(design)):
        raise _BadInput("--null-region searches the rates itself and is exact for a "
                        "single-cohort design: drop --p/--simulate")
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

    if args.simulate:
        _cmd_null_region_simulated(args, design, n_given)
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


def _cmd_null_region_simulated(args: argparse.Namespace, design: Any,
                               n_given: int | None) -> None:
    """``oc --null-region --simulate``: each cohort's worst case over a design of points."""
    from adaptive2.engines.null_region_mc import null_region_simulated

    if args.range:
        raise _BadInput("--range goes with the exact --null-region; the simulated search uses "
                        "the design's [cohorts.NAME] range")
    if args.workers is not None:
        raise _BadInput("--workers does not go with --null-region (the simulated null-region "
                        "search runs on one thread)")
    n = 2_000 if n_given is None else n_given
    res = null_region_simulated(design, n_sims=n, confirm_sims=10 * n, seed=args.seed)
    rows = [
        {"cohort": k, "p0": c.p0, "max_type1": c.max_type1, "mcse": c.mcse,
         "screened_max": c.screened_max,
         "attained_at": ", ".join(f"{o} = {v:.4g}" for o, v in c.argmax.items() if o != k)}
        for k, c in res.cohorts.items()
    ]
    text = (
        f"Type I error of {design.name} over the null region, by simulation (Monte Carlo over "
        f"outcomes; {res.points} points per cohort, {n} trials each; the worst point "
        f"re-simulated with {10 * n} fresh trials; seed entropy {res.attrs['seed_entropy']})\n"
        + _table(rows, ["cohort", "p0", "max_type1", "mcse", "screened_max", "attained_at"])
        + "\n\nmax_type1 is the confirmed estimate at the worst point found: a lower bound of "
        "the supremum up to Monte Carlo error (the exact search, without --simulate, brackets "
        "it for designs within the lattice's reach)."
    )
    _emit(args, res.to_dict(), text)


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
    if args.workers is not None and not args.simulate and (
        args.null_region or not _is_multi(design)
    ):  # a multi-cohort design may fall back to Monte Carlo: _cmd_oc_multi decides
        raise _BadInput(_WORKERS_NEED_SIMULATE)
    n_given = args.n_sims
    if args.n_sims is None:
        args.n_sims = 100_000
    tox, odds = _toxicity_args(args, design)
    if args.null_region:
        _cmd_null_region(args, design, n_given)
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
    ds: OCTable  # plain arrays: an exact answer needs neither xarray nor pandas
    if monitored and not args.simulate:
        ds = oc_toxicity_table(design, scen, tox, odds)
    elif not args.simulate:
        ds = oc_table(design, scen)
    else:  # Monte Carlo of a monitored design is refused by oc (it would ignore toxicity)
        ds = OCTable.from_dataset(oc(design, scen, method=method, n_sims=args.n_sims,
                                     seed=args.seed, workers=args.workers or 1))
    rows = []
    looks = [int(x) for x in ds["look_n"]]
    mc = method == "simulate"
    for i, name in enumerate(ds["scenario"]):
        row: dict[str, Any] = {
            "scenario": str(name),
            "p": float(ds["p"][i]),
            "role": str(ds["role"][i]),
        }
        if monitored:
            row["tox"] = float(ds["toxicity_rate"][i])
            row["odds_ratio"] = float(ds["odds_ratio"][i])
        for var in ("p_efficacy", "p_futility", "p_early_stop", "expected_n", "sd_n"):
            row[var] = float(ds[var][i])
            if mc:
                row[f"{var}_mcse"] = float(ds[f"{var}_mcse"][i])
        if monitored:
            row["p_stop_toxicity"] = float(ds["p_stop_toxicity"][i])
        stops = ds["p_stop_at"][i]
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
            checks = [int(x) for x in ds["tox_check_n"]]
            at = ds["p_stop_toxicity_at"][i]
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
                     ["p", "tox", *(f"tox@{n}" for n in ds["tox_check_n"])])
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


# The exact lattice programme is used when it fits the memory guard and its estimated
# time is at most this; otherwise oc falls back to Monte Carlo over outcomes, with a note.
_EXACT_MAX_SECONDS = 120.0
_AUTO_N_SIMS = 20_000  # trials per scenario of that fallback (MCSE <= 0.0036 on any probability)
_WORKERS_NEED_SIMULATE = ("--workers goes with --simulate (exact OC simulate no trials to share "
                          "among threads)")


def _too_big_for_exact(design: Any) -> str:
    """Why the exact lattice OC of ``design`` are out of reach (``""`` if they are not).

    Only when Monte Carlo over outcomes can run the design (posterior-type rules);
    otherwise the exact engine's own memory guard answers.
    """
    from adaptive2._base.resources import format_bytes, format_seconds, memory_limit
    from adaptive2.kernels.sizes import cohort_cost

    cost = cohort_cost(design, dp_runs=len(design.scenarios))
    if cost.nbytes <= memory_limit() and cost.seconds <= _EXACT_MAX_SECONDS:
        return ""
    if unsupported(design) is not None:
        return ""
    return (
        f"the exact lattice OC of {design.name} ({len(design.cohorts)} cohorts) would need "
        f"about {format_bytes(cost.nbytes)} and {format_seconds(cost.seconds)}, so these are "
        f"Monte Carlo over outcomes with quadrature posteriors, {_AUTO_N_SIMS} trials per "
        "scenario (--simulate --n-sims N --seed S to choose them)"
    )


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

    ``--simulate`` runs what :func:`adaptive2.engines.exact.oc` with ``method="simulate"``
    runs (:func:`adaptive2.engines.cohort_montecarlo.cohort_simulate`, in ``--workers``
    threads; else the trial-conduct simulator with no delay and no dropout); every figure
    of a row then has its ``_mcse`` twin. A design with toxicity monitors gets the exact joint
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
    auto = "" if mc or monitored else _too_big_for_exact(design)
    if auto:
        mc = True
        args.n_sims = _AUTO_N_SIMS
    if args.workers is not None and not mc:
        raise _BadInput(_WORKERS_NEED_SIMULATE)
    if monitored and mc:
        raise _BadInput(
            f"--simulate: {args.design} monitors toxicity, and the multi-cohort simulator does "
            "not stop cohorts for toxicity yet; drop --simulate for the exact joint OC"
        )
    ds: OCTable  # plain arrays: an exact answer needs neither xarray nor pandas
    if mc and unsupported(design) is None:
        # what oc(design, method="simulate") runs, as the OCTable (no xarray on this path);
        # oc's chunk size, so the same random streams and the same numbers
        ds = cohort_simulate(design, n_sims=args.n_sims, seed=args.seed,
                             chunk_size=_OC_CHUNK_SIZE, workers=args.workers or 1)
    elif mc:  # rules cohort_simulate cannot run: the trial-conduct simulator
        ds = OCTable.from_dataset(oc(design, method="simulate", n_sims=args.n_sims,
                                     seed=args.seed, workers=args.workers or 1))
    else:
        ds = cohort_oc_table(design, tox=tox, odds_ratio=odds)
    rows = []
    looks = {c.name: list(c.looks) for c in design.cohorts}
    for i, sname in enumerate(ds["scenario"]):
        for j, cname in enumerate(ds["cohort"]):
            row: dict[str, Any] = {
                "scenario": str(sname),
                "cohort": str(cname),
                "rate": float(ds["rate"][i, j]),
                "role": str(ds["role"][i, j]),
            }
            if monitored:
                q = float(ds["toxicity_rate"][i, j])
                row["tox"] = None if math.isnan(q) else q
                row["odds_ratio"] = float(ds["odds_ratio"][i, j])
            for var in ("p_efficacy", "p_futility", "p_early_stop", "expected_n", "sd_n"):
                row[var] = float(ds[var][i, j])
                if mc:
                    row[f"{var}_mcse"] = float(ds[f"{var}_mcse"][i, j])
            stops = ds["p_stop_at"][i, j]
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
                row["p_stop_toxicity"] = float(ds["p_stop_toxicity"][i, j])
                at = ds["p_stop_toxicity_at"][i, j]
                row["p_stop_toxicity_at"] = [
                    {"check": t + 1, "n": int(n), "p": float(at[t])}
                    for t, n in enumerate(ds["tox_check_n"][j]) if n > 0
                ]
            for var in ("fwer", "p_all_correct"):
                row[var] = float(ds[var][i])
                if mc:
                    row[f"{var}_mcse"] = float(ds[f"{var}_mcse"][i])
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
    if auto and args.json:
        print(f"adaptive2: note: {auto}", file=sys.stderr)
    elif auto:
        text = f"Note: {auto}.\n\n{text}"
    if monitored:
        text += (
            "\n\nEach cohort's toxicity rule is checked at its own check points, before an "
            "efficacy look at the same patient, without borrowing; a cohort stopped for "
            "toxicity declares nothing and its data at the check keep informing the others. "
            "tox: true toxicity rate; p_stop_toxicity: P(the cohort stops for toxicity). The "
            "null-region search (--null-region) covers designs without toxicity monitors only."
        )
    elif not args.json and not mc:  # the null region is exact: not with --simulate
        # (and only where the lattice fits: _too_big_for_exact sent larger designs to MC)
        text += "\n\n" + _null_region_text(null_region(design))
    _emit(args, rows, text)
