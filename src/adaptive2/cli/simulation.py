"""``adaptive2 simulate``: trial-conduct Monte Carlo from the command line."""

from __future__ import annotations

import argparse
import json
from typing import Any

from adaptive2._base.errors import DesignError, RunError
from adaptive2._base.files import atomic_path
from adaptive2.cli._common import _BadInput, _emit, _floats, _is_multi, _load, _output, _table
from adaptive2.engines.montecarlo import simulate
from adaptive2.model.conduct import Conduct, delay_forms


def _delay_arg(text: str, option: str = "--delay") -> Any:
    """Parse ``--delay`` or ``--tox-delay`` (``2.5``, ``2,3``, ``gamma:2.5,0.5``, ...)."""
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
        raise _BadInput(f"{option} must be {forms}; got {text!r}")
    if kind in ("gamma", "lognormal"):
        form: Any = (kind, *values)
    else:
        form = values[0] if len(values) == 1 else tuple(values)
    try:
        return Conduct(delay=form).delay
    except DesignError:
        raise _BadInput(f"{option} must be {forms}; got {text!r}") from None


def _write_netcdf(ds: Any, out: str) -> None:
    """Write ``ds`` to ``out`` atomically (:func:`adaptive2._base.files.atomic_path`).

    A failure (disk full, interrupt, unwritable folder) leaves no partial file at
    ``out`` (an earlier file there is kept) and no temporary file.
    """
    try:
        with atomic_path(out) as tmp:
            ds.to_netcdf(tmp, engine="scipy")
    except OSError as exc:
        raise RunError(f"--out: cannot write {out}: {exc.strerror or exc}") from None


def _connect(address: str, timeout: float) -> Any:
    """A Dask client for ``--scheduler``, or a RunError within ``timeout`` seconds."""
    try:
        from dask.distributed import Client
    except ImportError:
        raise _BadInput("--scheduler needs dask.distributed: pip install 'dask[distributed]'"
                        ) from None
    if "://" not in address:
        raise _BadInput(f"--scheduler must be an address such as tcp://HOST:8786; got {address!r}")
    try:
        # unannotated __init__
        return Client(address, timeout=timeout)  # type: ignore[no-untyped-call]
    except (OSError, TimeoutError) as exc:
        raise RunError(
            f"--scheduler: cannot reach the Dask scheduler at {address} within {timeout:g} s "
            f"({type(exc).__name__}); check the address, or raise --scheduler-timeout"
        ) from None
    except ValueError as exc:
        raise _BadInput(f"--scheduler: {address!r} is not a valid address: {exc}") from None


def _cmd_simulate(args: argparse.Namespace) -> None:

    paths = args.designs
    designs = [_load(p) for p in paths]
    if args.out:
        _output(args.out, "--out")
    if args.checkpoint:
        _output(args.checkpoint, "--checkpoint", folder=True)
    multi = [_is_multi(d) for d in designs]
    if any(multi) and not all(multi):
        raise _BadInput("simulate takes single-cohort or multi-cohort design files, not both")
    if any(multi) and args.p is not None:
        raise _BadInput("--p applies to single-cohort designs; a multi-cohort design is "
                        "simulated under its [[scenarios]]")
    if args.cohort_accrual and not any(multi):
        raise _BadInput("--cohort-accrual applies to multi-cohort designs")
    delay = _delay_arg(str(args.delay))
    # toxicity co-monitoring options (read with getattr: absent from older parsers)
    tox_delay_text = getattr(args, "tox_delay", None)
    tox_delay = None if tox_delay_text is None else _delay_arg(str(tox_delay_text), "--tox-delay")
    tox_text = getattr(args, "tox", None)
    tox = None if tox_text is None else _floats(tox_text, "--tox")
    odds_text = getattr(args, "odds_ratio", None)
    odds_ratio = None if odds_text is None else _floats(str(odds_text), "--odds-ratio", 1)[0]
    rates = tuple(_floats(args.accrual, "--accrual"))
    starts = tuple(_floats(args.periods, "--periods")) if args.periods else (0.0,)
    conduct: Conduct | dict[str, Conduct]  # one setting, or one per cohort (below)
    conduct = Conduct(rates=rates, starts=starts, delay=delay,
                      p_nonevaluable=args.dropout, on_interim=args.on_interim,
                      decision_lag=args.decision_lag, tox_delay=tox_delay)
    if args.cohort_accrual:  # constant accrual per named cohort, the rest as --accrual
        import dataclasses

        per: dict[str, Conduct] = {c: conduct for c in designs[0].names}
        for item in args.cohort_accrual.split(","):
            name, _, rate = item.partition("=")
            per[name.strip()] = dataclasses.replace(
                conduct, rates=(_floats(rate, f"--cohort-accrual {name}", 1)[0],), starts=(0.0,))
        conduct = per
    scen = _floats(args.p, "--p") if args.p is not None else None
    client = None
    if args.scheduler:
        client = _connect(args.scheduler, args.scheduler_timeout)
    ds = simulate(designs, scen, conduct=conduct, n_sims=args.n_sims, mcse=args.mcse,
                  seed=args.seed, workers=args.workers, client=client,
                  checkpoint=args.checkpoint, progress=False if (args.json or args.quiet)
                  else None, tox=tox, odds_ratio=odds_ratio)
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
    if "p_stop_toxicity" in ds:  # a design with a toxicity monitor
        cols[3:3] = ["toxicity_rate"]
        cols[6:6] = ["p_stop_toxicity", "p_stop_toxicity_mcse"]
        payload["tox_delay"] = ds.attrs["tox_delay"]
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
    if "p_stop_toxicity" in sel:  # toxicity co-monitoring: the scenario's truth and the stops
        row["toxicity_rate"] = float(sel["toxicity_rate"])
        row["odds_ratio"] = float(sel["odds_ratio"])
        row["p_stop_toxicity"] = float(sel["p_stop_toxicity"])
        row["p_stop_toxicity_mcse"] = float(sel["p_stop_toxicity_mcse"])
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
