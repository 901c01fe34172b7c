"""Command-line interface: ``adaptive2 <command> [--json]``.

Exit codes: 0 success; 2 bad input (one line on stderr); anything else is a bug.
JSON keys are a documented interface (see README.md).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from typing import Any

from adaptive2._base.errors import Adaptive2Error

__all__ = ["main"]

QUANTILE_PROBS = (0.025, 0.05, 0.5, 0.95, 0.975)


class _BadInput(Exception):
    """Bad command-line input: exit 2 with one line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse's own errors also exit 2, one line
        raise _BadInput(f"{self.prog}: {message}")


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------
def _floats(text: str, what: str, count: int | None = None) -> list[float]:
    try:
        vals = [float(x) for x in text.replace(" ", "").split(",") if x != ""]
    except ValueError:
        raise _BadInput(f"{what} must be comma-separated numbers; got {text!r}") from None
    if count is not None and len(vals) != count:
        raise _BadInput(f"{what} must have {count} comma-separated numbers; got {text!r}")
    if not vals or not all(math.isfinite(v) for v in vals):
        raise _BadInput(f"{what} must be finite comma-separated numbers; got {text!r}")
    return vals


def _fmt(x: Any, digits: int = 4) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if isinstance(x, float):
        return f"{x:.{digits}f}"
    return str(x)


def _table(rows: list[dict[str, Any]], columns: Sequence[str], digits: int = 4) -> str:
    cells = [[_fmt(r.get(c), digits) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.rjust(w) for c, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(v.rjust(w) for v, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(lines)


def _emit(args: argparse.Namespace, payload: Any, text: str) -> None:
    if args.json:
        print(json.dumps(payload, indent=2, allow_nan=False))
    else:
        print(text)


def _clean(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


# ---------------------------------------------------------------------------
# prior
# ---------------------------------------------------------------------------
def _prior_from_args(args: argparse.Namespace) -> Any:
    from adaptive2.io.design_files import load_prior
    from adaptive2.model.priors import Beta, BetaMixture, PriorSpec

    flags = any(
        v is not None for v in (args.beta, args.historical, args.power, args.robust, args.mixture)
    )
    if args.file and flags:
        raise _BadInput("give either a FILE or prior flags (--beta, --historical, ...), not both")
    if args.file:
        return load_prior(args.file)
    if not flags:
        raise _BadInput("give a FILE with a [prior] table, or --beta / --historical / --mixture")
    kwargs: dict[str, Any] = {}
    if args.mixture is not None:
        if args.beta is not None or args.historical is not None:
            raise _BadInput("--mixture cannot be combined with --beta or --historical")
        comps = [_floats(c, "--mixture component", 3) for c in args.mixture.split(";") if c.strip()]
        if not comps:
            raise _BadInput(f"--mixture must be 'w,a,b;w,a,b'; got {args.mixture!r}")
        kwargs["mixture"] = BetaMixture(
            tuple(c[0] for c in comps), tuple(c[1] for c in comps), tuple(c[2] for c in comps)
        )
    if args.historical is not None:
        parts = args.historical.split("/")
        if len(parts) != 2:
            raise _BadInput(f"--historical must be r/n, e.g. 16/20; got {args.historical!r}")
        r, n = (_floats(x, "--historical", 1)[0] for x in parts)
        kwargs["historical"] = (r, n)
        if args.beta is not None:
            kwargs["base"] = Beta(*_floats(args.beta, "--beta", 2))
    elif args.beta is not None:
        kwargs["beta"] = Beta(*_floats(args.beta, "--beta", 2))
    if args.power is not None:
        if args.historical is None:
            raise _BadInput("--power needs --historical r/n")
        kwargs["power"] = args.power
    if args.robust is not None:
        vals = _floats(args.robust, "--robust")
        if len(vals) > 3:
            raise _BadInput(f"--robust must be weight[,mean[,n]]; got {args.robust!r}")
        defaults = [None, 0.5, 1.0]
        vals = vals + defaults[len(vals) :]
        kwargs["robust"] = tuple(vals)
    return PriorSpec(**kwargs)


def _cmd_prior(args: argparse.Namespace) -> None:
    from adaptive2.model.priors import ess_table

    spec = _prior_from_args(args)
    prior = spec.build()
    q = prior.quantiles(QUANTILE_PROBS)
    ess = ess_table(prior)
    payload = {
        "description": spec.describe(),
        "components": prior.components(),
        "mean": prior.mean,
        "sd": prior.sd,
        "quantiles": {f"{p:g}": v for p, v in q.items()},
        "ess": {k: v["value"] for k, v in ess.items()},
        "ess_reasons": {k: v["reason"] for k, v in ess.items() if v["reason"]},
    }
    lines = [f"Prior: {spec.describe()}", ""]
    lines.append(_table(prior.components(), ["w", "a", "b"]))
    lines.append("")
    lines.append(f"mean {prior.mean:.4f}   sd {prior.sd:.4f}")
    lines.append("quantiles  " + "  ".join(f"{p:g}: {v:.4f}" for p, v in q.items()))
    for k, v in ess.items():
        val = f"{v['value']:.2f}" if v["value"] is not None else f"n/a ({v['reason']})"
        lines.append(f"ESS ({k}) {val}")
    _emit(args, payload, "\n".join(lines))


# ---------------------------------------------------------------------------
# simon
# ---------------------------------------------------------------------------
def _cmd_simon(args: argparse.Namespace) -> None:
    from adaptive2.engines.simon import simon

    res = simon(args.p0, args.p1, alpha=args.alpha, beta=args.beta, nmax=args.nmax)
    payload = res.to_dict()
    cols = ["design", "r1", "n1", "r", "n", "expected_n_p0", "pet_p0", "alpha", "power"]
    rows = []
    for label in ("optimal", "minimax"):
        d = payload[label]
        if d is not None:
            rows.append({"design": label, **d})
    for d in payload["admissible"]:
        rows.append({"design": f"admissible q∈[{d['q_low']:.2f},{d['q_high']:.2f}]", **d})
    head = (
        f"Simon two-stage designs: p0 = {args.p0:g}, p1 = {args.p1:g}, alpha = {args.alpha:g}, "
        f"beta = {args.beta:g}, nmax = {args.nmax}"
    )
    text = head + "\n" + (_table(rows, cols) if rows else "no design meets the constraints")
    _emit(args, payload, text)


# ---------------------------------------------------------------------------
# boundaries / oc
# ---------------------------------------------------------------------------
def _load(path: str) -> Any:
    from adaptive2.io.design_files import load_any

    return load_any(path)


def _is_multi(design: Any) -> bool:
    # the module is loaded iff a multi-cohort design was; keeps the single-cohort path light
    module = sys.modules.get("adaptive2.model.cohorts")
    return module is not None and isinstance(design, module.CohortDesign)


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


def _ranges_arg(args: argparse.Namespace, design: Any) -> dict[str, tuple[float, float]] | None:
    """``--range NAME=LO,HI`` (repeatable) over the design's own ranges."""
    if not args.range:
        return None
    if not _is_multi(design):
        raise _BadInput("--range applies to multi-cohort designs (a neighbour's plausible rates)")
    out = dict(design.ranges)
    for text in args.range:
        name, sep, rest = text.partition("=")
        if not sep or name not in out:
            raise _BadInput(
                f"--range must be COHORT=LOW,HIGH with COHORT one of {design.names}; got {text!r}"
            )
        lo, hi = _floats(rest, f"--range {name}", 2)
        if not 0.0 <= lo < hi <= 1.0:
            raise _BadInput(f"--range {name} must satisfy 0 <= LOW < HIGH <= 1; got {rest!r}")
        out[name] = (lo, hi)
    return out


def _cmd_null_region(args: argparse.Namespace, design: Any) -> None:
    """``oc --null-region``: the type I error supremum over the whole null region."""
    if args.simulate or args.p is not None:
        raise _BadInput("--null-region is exact and searches the rates itself: drop --simulate/--p")
    if not _is_multi(design):
        from adaptive2.engines.calibration import worst_case_alpha
        from adaptive2.kernels.binomial import stop_probabilities

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
    from adaptive2.engines.borrowing import borrowing_summary
    from adaptive2.engines.null_region import null_region

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
    from adaptive2.engines.exact import oc

    design = _load(args.design)
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
    from adaptive2.engines.exact import oc

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
        from adaptive2.engines.null_region import null_region

        text += "\n\n" + _null_region_text(null_region(design))
    _emit(args, rows, text)


def _cmd_posterior(args: argparse.Namespace) -> None:
    from adaptive2.engines.posterior import posterior

    design = _load(args.design)
    if not _is_multi(design):
        raise _BadInput("posterior needs a multi-cohort design ([cohorts.NAME] tables)")
    data: dict[str, tuple[int, int]] = {}
    for item in args.data.split(","):
        if not item.strip():
            continue
        if "=" not in item or "/" not in item:
            raise _BadInput(f"--data must be NAME=r/n,NAME=r/n; got {args.data!r}")
        name, rn = item.split("=", 1)
        r, n = rn.split("/", 1)
        try:
            data[name.strip()] = (int(r), int(n))
        except ValueError:
            raise _BadInput(f"--data counts must be integers; got {item!r}") from None
    if args.engine == "pymc":
        from adaptive2.engines.pymc_fit import fit, summary

        idata = fit(design.model, design.cohorts, data, seed=args.seed)
        summ = summary(idata, design.cohorts)
    else:
        summ = posterior(design.model, design.cohorts, data, grid=design.grid)
    payload = {
        "cohorts": summ,
        "engine": args.engine,
        "model": design.model.describe(),
        "design": design.name,
    }
    rows = [
        {
            "cohort": k,
            **{kk: vv for kk, vv in v.items() if kk != "interval"},
            "lo": v["interval"][0],
            "hi": v["interval"][1],
        }
        for k, v in summ.items()
    ]
    text = f"Posterior under {design.model.describe()} ({args.engine})\n" + _table(
        rows, ["cohort", "r", "n", "mean", "sd", "median", "lo", "hi", "p_above_p0"]
    )
    _emit(args, payload, text)


def _cmd_analyze(args: argparse.Namespace) -> None:
    import warnings

    from adaptive2._base.errors import StatisticalWarning
    from adaptive2.engines.analysis import analyze, parse_data

    design = _load(args.design)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", StatisticalWarning)
        res = analyze(design, parse_data(args.data), look=args.look, engine=args.engine,
                      seed=args.seed)
    for w in caught:  # statistical warnings: one line each (the text output lists them too)
        if not issubclass(w.category, StatisticalWarning):
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
        elif args.json:
            print(f"adaptive2: warning: {w.message}".replace("\n", " "), file=sys.stderr)
    _emit(args, res.to_dict(), str(res))


def _delay_arg(text: str) -> Any:
    """Parse ``--delay`` (``2.5``, ``2,3``, ``gamma:2.5,0.5``, ``lognormal:2.5,0.5``)."""
    from adaptive2._base.errors import DesignError
    from adaptive2.model.conduct import Conduct, delay_forms

    forms = delay_forms("cli")
    kind, sep, rest = text.partition(":")
    kind = kind.strip().lower() if sep else "fixed/uniform"
    parts = (rest if sep else text).replace(" ", "").split(",")
    try:
        values = [float(x) for x in parts]
    except ValueError:
        values = []
    sizes = {"fixed/uniform": (1, 2), "gamma": (2,), "lognormal": (2,)}
    if kind not in sizes or len(values) not in sizes[kind]:
        raise _BadInput(f"--delay must be {forms}; got {text!r}")
    if kind in ("gamma", "lognormal"):
        form: Any = (kind, *values)
    else:
        form = values[0] if len(values) == 1 else tuple(values)
    try:
        return Conduct(delay=form).delay
    except DesignError:
        raise _BadInput(f"--delay must be {forms}; got {text!r}") from None


def _write_netcdf(ds: Any, out: str) -> None:
    """Write ``ds`` to ``out`` atomically: a temporary sibling, then ``os.replace``.

    A failure (disk full, interrupt, unwritable folder) leaves no partial file at
    ``out`` (an earlier file there is kept) and no temporary file.
    """
    import os
    from pathlib import Path

    path = Path(out)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        ds.to_netcdf(tmp, engine="scipy")
        os.replace(tmp, path)
    except OSError as exc:
        raise _BadInput(f"--out: cannot write {out}: {exc}") from None
    finally:
        tmp.unlink(missing_ok=True)


def _cmd_simulate(args: argparse.Namespace) -> None:
    from adaptive2.engines.montecarlo import simulate
    from adaptive2.model.conduct import Conduct

    paths = args.designs
    designs = [_load(p) for p in paths]
    multi = [_is_multi(d) for d in designs]
    if any(multi) and not all(multi):
        raise _BadInput("simulate takes single-cohort or multi-cohort design files, not both")
    if any(multi) and args.p is not None:
        raise _BadInput("--p applies to single-cohort designs; a multi-cohort design is "
                        "simulated under its [[scenarios]]")
    if args.cohort_accrual and not any(multi):
        raise _BadInput("--cohort-accrual applies to multi-cohort designs")
    delay = _delay_arg(str(args.delay))
    rates = tuple(_floats(args.accrual, "--accrual"))
    starts = tuple(_floats(args.periods, "--periods")) if args.periods else (0.0,)
    conduct = Conduct(rates=rates, starts=starts, delay=delay,
                      p_nonevaluable=args.dropout, on_interim=args.on_interim,
                      decision_lag=args.decision_lag)
    if args.cohort_accrual:  # constant accrual per named cohort, the rest as --accrual
        import dataclasses

        per: dict[str, Any] = {c: conduct for c in designs[0].names}
        for item in args.cohort_accrual.split(","):
            name, _, rate = item.partition("=")
            per[name.strip()] = dataclasses.replace(
                conduct, rates=(_floats(rate, f"--cohort-accrual {name}", 1)[0],), starts=(0.0,))
        conduct = per
    scen = _floats(args.p, "--p") if args.p is not None else None
    client = None
    if args.scheduler:
        try:
            from dask.distributed import Client
        except ImportError:
            raise _BadInput("--scheduler needs dask.distributed: pip install adaptive2[dask]"
                            ) from None
        client = Client(args.scheduler)
    ds = simulate(designs, scen, conduct=conduct, n_sims=args.n_sims, mcse=args.mcse,
                  seed=args.seed, workers=args.workers, client=client,
                  checkpoint=args.checkpoint, progress=False if (args.json or args.quiet)
                  else None)
    if args.out:
        _write_netcdf(ds, args.out)
    if any(multi):
        _emit_simulate_multi(args, ds)
        return
    rows = [
        _simulate_row(ds.sel(design=d, scenario=s), {"design": str(d), "scenario": str(s)}, "p")
        for d in ds["design"].values
        for s in ds["scenario"].values
    ]
    payload = {"rows": rows, "seed_entropy": ds.attrs["seed_entropy"],
               "chunk_size": ds.attrs["chunk_size"], "conduct": json.loads(ds.attrs["conduct"]),
               "adaptive2_version": ds.attrs["adaptive2_version"]}
    cols = ["design", "p", "role", "p_efficacy", "p_efficacy_mcse", "expected_enrolled",
            "mean_duration", "duration_q90", "bias", "coverage"]
    text = (f"Trial-conduct simulation ({rows[0]['n_sims']} trials per scenario; seed entropy "
            f"{ds.attrs['seed_entropy']}; common random numbers across designs)\n"
            + _table(rows, cols))
    _emit(args, payload, text)


def _simulate_row(sel: Any, key: dict[str, Any], rate: str) -> dict[str, Any]:
    """One JSON row of ``simulate``: the cell's figures, each Monte Carlo one with its MCSE."""
    row: dict[str, Any] = {**key, "p": float(sel[rate]), "role": str(sel["role"].values)}
    for var in ("p_efficacy", "p_futility", "p_early_stop", "expected_n",
                "expected_enrolled", "mean_duration", "bias", "coverage"):
        row[var] = float(sel[var])
        row[f"{var}_mcse"] = float(sel[f"{var}_mcse"])
    for q in ("duration_q10", "duration_q50", "duration_q90", "sd_n", "rmse"):
        row[q] = float(sel[q])
    row["n_sims"] = int(sel["n_sims"])
    return row


def _emit_simulate_multi(args: argparse.Namespace, ds: Any) -> None:
    """Output of ``simulate`` for multi-cohort designs: the single-cohort keys per cohort."""
    rows, trials = [], []
    for d in ds["design"].values:
        for s in ds["scenario"].values:
            for c in ds["cohort"].values:
                key = {"design": str(d), "scenario": str(s), "cohort": str(c)}
                rows.append(_simulate_row(ds.sel(design=d, scenario=s, cohort=c), key, "rate"))
            sel = ds.sel(design=d, scenario=s)
            trial: dict[str, Any] = {"design": str(d), "scenario": str(s)}
            for var in ("fwer", "p_all_correct", "expected_enrolled_total",
                        "mean_trial_duration"):
                trial[var] = float(sel[var])
                trial[f"{var}_mcse"] = float(sel[f"{var}_mcse"])
            for q in ("trial_duration_q10", "trial_duration_q50", "trial_duration_q90"):
                trial[q] = float(sel[q])
            trial["n_sims"] = int(sel["n_sims"])
            trials.append(trial)
    payload = {"rows": rows, "scenarios": trials, "seed_entropy": ds.attrs["seed_entropy"],
               "chunk_size": ds.attrs["chunk_size"], "conduct": json.loads(ds.attrs["conduct"]),
               "adaptive2_version": ds.attrs["adaptive2_version"]}
    text = (f"Trial-conduct simulation, joint analyses ({rows[0]['n_sims']} trials per "
            f"scenario; seed entropy {ds.attrs['seed_entropy']})\n"
            + _table(rows, ["design", "scenario", "cohort", "p", "role", "p_efficacy",
                            "p_efficacy_mcse", "expected_enrolled", "mean_duration", "bias",
                            "coverage"])
            + "\n\n" + _table(trials, ["design", "scenario", "fwer", "fwer_mcse",
                                       "p_all_correct", "mean_trial_duration",
                                       "trial_duration_q90"]))
    _emit(args, payload, text)


def _cmd_compare(args: argparse.Namespace) -> None:
    from pathlib import Path

    from adaptive2.engines.compare import compare
    from adaptive2.io.scenario_files import load_scenarios
    from adaptive2.views.comparison import write_outputs

    # `designs/*.toml` also matches the scenario file itself: leave it out
    skip = Path(args.scenarios).resolve() if args.scenarios else None
    designs = [_load(p) for p in args.designs if Path(p).resolve() != skip]
    if not designs:
        raise _BadInput("give at least one design file")
    names = [d.name for d in designs]
    if len(set(names)) != len(names):
        raise _BadInput(f"design names must be distinct; got {names}")
    grid = load_scenarios(args.scenarios) if args.scenarios else None
    table = compare(designs, grid)
    written = write_outputs(table, args.out) if args.out else []
    records = [{k: (None if isinstance(v, float) and math.isnan(v) else v)
                for k, v in r.items()} for r in table.to_dict("records")]
    cols = ["design", "cohort", "scenario", "label", "p_efficacy", "p_early_stop",
            "expected_n", "sd_n", "max_n"]
    if table["fwer"].notna().any():
        cols.append("fwer")
    text = ("Designs side by side (all figures exact)\n" + _table(records, cols))
    if written:
        text += "\n\nwritten: " + ", ".join(str(p) for p in written)
    _emit(args, records, text)


# ---------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------
def _cmd_report(args: argparse.Namespace) -> None:
    import shlex
    from pathlib import Path

    from adaptive2.views.report.appendix import report

    skip = Path(args.scenarios).resolve() if args.scenarios else None
    paths = [p for p in args.designs if Path(p).resolve() != skip]
    if not paths:
        raise _BadInput("give at least one design file")
    for p in paths:
        _load(p)  # clear file errors before any computation
    command = shlex.join(["adaptive2", *args.argv])
    res = report(
        paths,
        args.out,
        args.scenarios,
        n_sims=args.n_sims,
        seed=args.seed,
        alpha=args.alpha,
        power=args.power,
        pdf=args.pdf,
        command=command,
        progress=not (args.json or args.quiet),
    )
    table = res.summary
    records = [{k: (None if isinstance(v, float) and math.isnan(v) else v)
                for k, v in r.items()} for r in table.to_dict("records")]
    payload = {
        "path": str(res.path),
        "index": str(res.path / "index.html"),
        "files": [str(f) for f in res.files],
        "pdf": res.pdf,
        "run_time_s": round(res.run_time_s, 2),
        "summary": records,
    }
    cols = ["design", "cohort", "scenario", "label", "p_efficacy", "p_early_stop",
            "expected_n", "max_n"]
    if table["fwer"].notna().any():
        cols.append("fwer")
    text = (
        "Summary (all figures exact)\n" + _table(records, cols)
        + f"\n\nreport: {res.path / 'index.html'} ({len(res.files)} files; PDF: {res.pdf}; "
        f"{res.run_time_s:.1f} s)"
    )
    _emit(args, payload, text)


# ---------------------------------------------------------------------------
# calibrate
# ---------------------------------------------------------------------------
def _cmd_calibrate(args: argparse.Namespace) -> None:
    from adaptive2.engines.calibration import calibrate, calibrate_bop2
    from adaptive2.io.design_files import save_design
    from adaptive2.model.rules import BOP2

    design = _load(args.design)
    if args.futility:
        _cmd_calibrate_futility(args, design)
        return
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
    from adaptive2.engines.cohort_calibration import calibrate_cohorts

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
    from adaptive2.engines.futility import calibrate_futility

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


def _write_design(design: Any, path: str) -> None:
    from adaptive2.io.design_files import save_any

    save_any(design, path)


# ---------------------------------------------------------------------------
# parser
# ---------------------------------------------------------------------------
def _parser() -> argparse.ArgumentParser:
    from adaptive2._base.version import __version__

    p = _Parser(prog="adaptive2", description="Bayesian adaptive phase 2 designs.")
    p.add_argument("--version", action="version", version=f"adaptive2 {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def common(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--json", action="store_true", help="machine-readable output")

    sp = sub.add_parser("prior", help="summarise a prior: components, mean, sd, quantiles, ESS")
    sp.add_argument("file", nargs="?", help="design or prior file with a [prior] table")
    sp.add_argument("--beta", help="Beta a,b (the base prior when --historical is given)")
    sp.add_argument("--historical", help="historical responses r/n, e.g. 16/20")
    sp.add_argument("--power", type=float, help="power-prior weight a0 in [0, 1]")
    sp.add_argument("--robust", help="vague component weight[,mean[,n]] (defaults 0.5, 1)")
    sp.add_argument("--mixture", help="mixture 'w,a,b;w,a,b'")
    common(sp)
    sp.set_defaults(func=_cmd_prior)

    sp = sub.add_parser("simon", help="Simon two-stage designs (optimal, minimax, admissible)")
    sp.add_argument("--p0", type=float, required=True)
    sp.add_argument("--p1", type=float, required=True)
    sp.add_argument("--alpha", type=float, default=0.05)
    sp.add_argument("--beta", type=float, default=0.20)
    sp.add_argument("--nmax", type=int, default=100)
    common(sp)
    sp.set_defaults(func=_cmd_simon)

    sp = sub.add_parser("boundaries", help="stopping boundaries of a design file")
    sp.add_argument("design")
    common(sp)
    sp.set_defaults(func=_cmd_boundaries)

    sp = sub.add_parser("oc", help="operating characteristics of a design file")
    sp.add_argument("design")
    sp.add_argument("--p", help="true response rates, comma-separated (default: the file's)")
    sp.add_argument("--simulate", action="store_true",
                    help="Monte Carlo instead of exact (multi-cohort: the conduct simulator "
                         "with no delay and no dropout)")
    sp.add_argument("--n-sims", type=int, default=100_000, dest="n_sims")
    sp.add_argument("--seed", type=int, default=None)
    sp.add_argument("--null-region", action="store_true", dest="null_region",
                    help="type I error supremum over the whole null region (exact): each cohort "
                         "at or below its p0, the others anywhere in their range")
    sp.add_argument("--range", action="append", default=[], metavar="COHORT=LOW,HIGH",
                    help="with --null-region: plausible range of a neighbour's rate "
                         "(repeatable; default the design's [cohorts.NAME] range, else [0, 1])")
    common(sp)
    sp.set_defaults(func=_cmd_oc)

    sp = sub.add_parser("compare", help="designs side by side under one scenario grid")
    sp.add_argument("designs", nargs="+")
    sp.add_argument("--scenarios", default=None, help="scenario file (designs/scenarios.toml)")
    sp.add_argument("--out", default=None, help="directory for compare.csv/.json/.md")
    common(sp)
    sp.set_defaults(func=_cmd_compare)

    sp = sub.add_parser("report", help="the protocol appendix: HTML, Markdown, CSV/JSON, PDF")
    sp.add_argument("designs", nargs="+")
    sp.add_argument("--scenarios", default=None, help="scenario file (designs/scenarios.toml)")
    sp.add_argument("--out", required=True, help="report folder, e.g. reports/ilkn421h")
    sp.add_argument("--n-sims", type=int, default=20_000, dest="n_sims",
                    help="simulated trials per design, scenario and conduct setting (0: none)")
    sp.add_argument("--seed", type=int, default=20261126)
    sp.add_argument("--alpha", type=float, default=0.10, help="Simon comparator type I error")
    sp.add_argument("--power", type=float, default=0.80, help="Simon comparator power")
    sp.add_argument("--pdf", choices=("auto", "always", "never"), default="auto")
    sp.add_argument("--quiet", action="store_true", help="no progress lines")
    common(sp)
    sp.set_defaults(func=_cmd_report)

    sp = sub.add_parser("simulate", help="trial-conduct Monte Carlo (accrual, delay, dropout)")
    sp.add_argument("designs", nargs="+")
    sp.add_argument("--p", help="true response rates (default: the first design's)")
    size = sp.add_mutually_exclusive_group()
    size.add_argument("--n-sims", type=int, default=None, dest="n_sims")
    size.add_argument("--mcse", type=float, default=None, help="target MCSE of p_efficacy")
    sp.add_argument("--seed", type=int, default=None)
    sp.add_argument("--workers", type=int, default=1)
    sp.add_argument("--scheduler", default=None, help="Dask scheduler address tcp://HOST:PORT")
    sp.add_argument("--checkpoint", default=None, help="directory for resumable chunks")
    sp.add_argument("--accrual", default="2", help="patients per month (per period: a,b,...)")
    sp.add_argument("--periods", default=None, help="period starts in months: 0,3,...")
    sp.add_argument("--cohort-accrual", default=None, dest="cohort_accrual",
                    help="multi-cohort: constant rate per cohort, e.g. frontline=2,post_io=1")
    sp.add_argument("--delay", default="2.5", help="months to a known response: D (fixed), "
                    "LO,HI (uniform), gamma:MEAN,SD or lognormal:MEAN,SD")
    sp.add_argument("--dropout", type=float, default=0.0, help="P(non-evaluable)")
    sp.add_argument("--on-interim", choices=("continue", "pause"), default="continue",
                    dest="on_interim")
    sp.add_argument("--decision-lag", type=float, default=0.0, dest="decision_lag")
    sp.add_argument("--out", default=None, help="write the xarray Dataset (netCDF)")
    sp.add_argument("--quiet", action="store_true", help="no progress bar")
    common(sp)
    sp.set_defaults(func=_cmd_simulate)

    sp = sub.add_parser("posterior", help="posterior per cohort of a multi-cohort design")
    sp.add_argument("design")
    sp.add_argument(
        "--data", required=True, help="observed data, e.g. frontline=12/20,post_io=3/20"
    )
    sp.add_argument("--engine", choices=("quadrature", "pymc"), default="quadrature")
    sp.add_argument("--seed", type=int, default=None, help="seed for --engine pymc")
    common(sp)
    sp.set_defaults(func=_cmd_posterior)

    sp = sub.add_parser(
        "analyze", help="analyse observed data: posterior, predictive probability, decision"
    )
    sp.add_argument("design")
    sp.add_argument(
        "--data", required=True,
        help="observed data: r/n for a single cohort, or frontline=12/20,post_io=3/18",
    )
    sp.add_argument("--look", type=int, default=None,
                    help="1-based look the data belong to (default: inferred from n)")
    sp.add_argument("--engine", choices=("quadrature", "pymc"), default="quadrature")
    sp.add_argument("--seed", type=int, default=None, help="seed for --engine pymc")
    common(sp)
    sp.set_defaults(func=_cmd_analyze)

    sp = sub.add_parser("calibrate", help="tune a parameter to type I error / power targets")
    sp.add_argument("design")
    sp.add_argument("--alpha", type=float, default=None,
                    help="worst-case type I error target (default: the design's alpha, else 0.10)")
    sp.add_argument("--power", type=float, default=None, help="power target at p1")
    sp.add_argument("--control", choices=("cohort", "fwer"), default="cohort",
                    help="multi-cohort: control each cohort's type I error (default) or the FWER "
                         "over the whole null region")
    sp.add_argument("--non-binding", action="store_true", dest="non_binding",
                    help="multi-cohort: control alpha with the futility rule ignored")
    sp.add_argument("--range", action="append", default=[], metavar="COHORT=LOW,HIGH",
                    help="multi-cohort: plausible range of a neighbour's rate (repeatable)")
    sp.add_argument("--futility", action="store_true",
                    help="calibrate the futility rule instead: largest P(early stop | null) with "
                         "power loss <= --max-power-loss against no futility stop")
    sp.add_argument("--max-power-loss", type=float, default=0.02, dest="max_power_loss",
                    help="with --futility: largest allowed power loss (default 0.02)")
    sp.add_argument(
        "--parameter",
        default=None,
        help="e.g. final.cutoff, futility.threshold, prior.power (default: "
        "final.cutoff; BOP2 designs: joint lambda/gamma[/eta] search)",
    )
    sp.add_argument("--within", default=None, help="search range low,high")
    sp.add_argument("--write", default=None, help="save the calibrated design to this file")
    common(sp)
    sp.set_defaults(func=_cmd_calibrate)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit code."""
    try:
        argv = list(sys.argv[1:] if argv is None else argv)
        args = _parser().parse_args(argv)
        args.argv = argv  # the command line, recorded by `report` as its reproduce-me command
        args.func(args)
    except _BadInput as exc:
        print(f"adaptive2: error: {exc}", file=sys.stderr)
        return 2
    except Adaptive2Error as exc:
        print(f"adaptive2: error: {exc}".replace("\n", " "), file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt as exc:
        print(f"adaptive2: {exc}", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
