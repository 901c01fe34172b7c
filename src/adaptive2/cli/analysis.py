"""``adaptive2 posterior`` and ``adaptive2 analyze``: observed data."""

from __future__ import annotations

import argparse
import sys

from adaptive2._base.errors import StatisticalWarning
from adaptive2.cli._common import _BadInput, _emit, _is_multi, _load, _table
from adaptive2.engines.analysis import analyze, parse_data
from adaptive2.engines.posterior import posterior
from adaptive2.engines.pymc_fit import fit, summary


def _cmd_posterior(args: argparse.Namespace) -> None:

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
