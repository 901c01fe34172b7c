"""Command-line interface: ``adaptive2 <command> [--json]``.

Exit codes: 0 success; 2 bad input (one line on stderr); anything else is a bug.
JSON keys are a documented interface (see README.md). The parser is defined
here; each command group is a module (:mod:`~adaptive2.cli.priors`,
:mod:`~adaptive2.cli.designs`, :mod:`~adaptive2.cli.simulation`,
:mod:`~adaptive2.cli.reports`, :mod:`~adaptive2.cli.analysis`) imported only
when one of its commands runs.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from adaptive2._base.errors import Adaptive2Error
from adaptive2._base.version import __version__
from adaptive2.cli._common import _BadInput, _Parser

__all__ = ["main"]


# ---------------------------------------------------------------------------
# parser
# ---------------------------------------------------------------------------
def _parser() -> argparse.ArgumentParser:

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
    sp.set_defaults(func="priors:_cmd_prior")

    sp = sub.add_parser("simon", help="Simon two-stage designs (optimal, minimax, admissible)")
    sp.add_argument("--p0", type=float, required=True)
    sp.add_argument("--p1", type=float, required=True)
    sp.add_argument("--alpha", type=float, default=0.05)
    sp.add_argument("--beta", type=float, default=0.20)
    sp.add_argument("--nmax", type=int, default=100)
    common(sp)
    sp.set_defaults(func="priors:_cmd_simon")

    sp = sub.add_parser("boundaries", help="stopping boundaries of a design file")
    sp.add_argument("design")
    common(sp)
    sp.set_defaults(func="designs:_cmd_boundaries")

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
    sp.set_defaults(func="designs:_cmd_oc")

    sp = sub.add_parser("compare", help="designs side by side under one scenario grid")
    sp.add_argument("designs", nargs="+")
    sp.add_argument("--scenarios", default=None, help="scenario file (designs/scenarios.toml)")
    sp.add_argument("--out", default=None, help="directory for compare.csv/.json/.md")
    common(sp)
    sp.set_defaults(func="reports:_cmd_compare")

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
    sp.set_defaults(func="reports:_cmd_report")

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
    sp.set_defaults(func="simulation:_cmd_simulate")

    sp = sub.add_parser("posterior", help="posterior per cohort of a multi-cohort design")
    sp.add_argument("design")
    sp.add_argument(
        "--data", required=True, help="observed data, e.g. frontline=12/20,post_io=3/20"
    )
    sp.add_argument("--engine", choices=("quadrature", "pymc"), default="quadrature")
    sp.add_argument("--seed", type=int, default=None, help="seed for --engine pymc")
    common(sp)
    sp.set_defaults(func="analysis:_cmd_posterior")

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
    sp.set_defaults(func="analysis:_cmd_analyze")

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
    sp.set_defaults(func="designs:_cmd_calibrate")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit code."""
    try:
        argv = list(sys.argv[1:] if argv is None else argv)
        args = _parser().parse_args(argv)
        args.argv = argv  # the command line, recorded by `report` as its reproduce-me command
        # each command group is a module imported only when one of its commands runs,
        # so `adaptive2 oc` never loads the report, the simulator or PyMC
        module, name = args.func.split(":")
        getattr(importlib.import_module(f"adaptive2.cli.{module}"), name)(args)
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
