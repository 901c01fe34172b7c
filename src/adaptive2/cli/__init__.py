"""Command-line interface: ``adaptive2 <command> [--json]``.

Exit codes: 0 success; 2 bad input (a design file, an option, a job too big
for the memory limit); 1 the run failed (a scheduler that cannot be reached, a
disk that fills up, an internal error); 130 interrupted (Ctrl-C; finished
checkpoint chunks are kept). Every failure is one short message on stderr naming
the field, option or file and what is allowed; ``--debug`` adds the traceback.
JSON keys are a documented interface (see README.md). The parser is defined
here; each command group is a module (:mod:`~adaptive2.cli.priors`,
:mod:`~adaptive2.cli.designs`, :mod:`~adaptive2.cli.calibrate`, :mod:`~adaptive2.cli.search`,
:mod:`~adaptive2.cli.simulation`,
:mod:`~adaptive2.cli.reports`, :mod:`~adaptive2.cli.analysis`) imported only
when one of its commands runs.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import sys
import traceback
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from adaptive2._base.errors import Adaptive2Error, RunError
from adaptive2._base.resources import defer_unused_modules, keep_freed_memory, limit_memory
from adaptive2._base.version import __version__

defer_unused_modules()  # before the numeric imports below: numpy.testing, numpy.f2py

from adaptive2.cli._common import (  # noqa: E402
    _Parser,
    non_negative_int,
    positive_float,
    positive_int,
    probability,
)

__all__ = ["main"]

# the choices of `search`; kept here so that building the parser imports no engine
SEARCH_FAMILIES = ("simon", "lee-liu", "bop2", "pareto")
OBJECTIVES = ("min-EN0", "min-max-N", "balanced")  # = adaptive2.engines.search.OBJECTIVES


# ---------------------------------------------------------------------------
# parser
# ---------------------------------------------------------------------------
def _parser() -> argparse.ArgumentParser:

    p = _Parser(prog="adaptive2", description="Bayesian adaptive phase 2 designs.")
    p.add_argument("--version", action="version", version=f"adaptive2 {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def common(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--json", action="store_true", help="machine-readable output")
        sp.add_argument("--max-memory", default=None, dest="max_memory", metavar="SIZE",
                        help="refuse jobs estimated to need more memory, e.g. 8G (default: "
                             "ADAPTIVE2_MAX_MEMORY, else half the RAM up to 4G)")
        sp.add_argument("--debug", action="store_true",
                        help="on failure, show the Python traceback")

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
    sp.add_argument("--nmax", type=positive_int, default=100)
    sp.add_argument("--write", default=None, metavar="FILE",
                    help="save the chosen design (see --objective) as a design file")
    sp.add_argument("--objective", choices=OBJECTIVES, default=None,
                    help="with --write: which design to save: min-EN0 (the optimal design, the "
                         "default), min-max-N (minimax) or balanced (admissible for q = 0.5)")
    sp.add_argument("--name", default=None, help="with --write: name of the design written")
    common(sp)
    sp.set_defaults(func="search:_cmd_simon")

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
    sp.add_argument("--n-sims", type=positive_int, default=None, dest="n_sims",
                    help="with --simulate: simulated trials per scenario (default 100000)")
    sp.add_argument("--seed", type=int, default=None)
    sp.add_argument("--workers", type=positive_int, default=None,
                    help="with --simulate: workers running the trials (default 1; same results)")
    sp.add_argument("--null-region", action="store_true", dest="null_region",
                    help="type I error supremum over the whole null region (exact): each cohort "
                         "at or below its p0, the others anywhere in their range")
    sp.add_argument("--range", action="append", default=[], metavar="COHORT=LOW,HIGH",
                    help="with --null-region: plausible range of a neighbour's rate "
                         "(repeatable; default the design's [cohorts.NAME] range, else [0, 1])")
    sp.add_argument("--tox", default=None, metavar="Q[,Q...]",
                    help="designs with a [toxicity] table: true toxicity rates, crossed with "
                         "--p (default: the file's, else the monitor's acceptable and limit)")
    sp.add_argument("--odds-ratio", default=None, dest="odds_ratio", metavar="PSI",
                    help="designs with a [toxicity] table: odds ratio between response and "
                         "toxicity in a patient (default: the file's, else 1: independent)")
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
    sp.add_argument("--n-sims", type=non_negative_int, default=20_000, dest="n_sims",
                    help="simulated trials per design, scenario and conduct setting (0: none)")
    sp.add_argument("--seed", type=int, default=20261126)
    sp.add_argument("--alpha", type=float, default=0.10, help="Simon comparator type I error")
    sp.add_argument("--power", type=float, default=0.80, help="Simon comparator power")
    sp.add_argument("--pdf", choices=("auto", "always", "never"), default="auto")
    sp.add_argument("--title", default=None, metavar="TEXT", help="title of the report")
    sp.add_argument("--quiet", action="store_true", help="no progress lines")
    common(sp)
    sp.set_defaults(func="reports:_cmd_report")

    sp = sub.add_parser("simulate", help="trial-conduct Monte Carlo (accrual, delay, dropout)")
    sp.add_argument("designs", nargs="+")
    sp.add_argument("--p", help="true response rates (default: the first design's)")
    size = sp.add_mutually_exclusive_group()
    size.add_argument("--n-sims", type=positive_int, default=None, dest="n_sims")
    size.add_argument("--mcse", type=float, default=None, help="target MCSE of p_efficacy")
    sp.add_argument("--seed", type=int, default=None)
    sp.add_argument("--workers", type=positive_int, default=1,
                    help="local processes (a whole number >= 1)")
    sp.add_argument("--scheduler", default=None, help="Dask scheduler address tcp://HOST:PORT")
    sp.add_argument("--scheduler-timeout", type=positive_float, default=10.0,
                    dest="scheduler_timeout", metavar="SECONDS",
                    help="give up on an unreachable --scheduler after this long (default 10)")
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
    sp.add_argument("--tox", default=None, metavar="Q[,Q...]",
                    help="designs with a [toxicity] table: true toxicity rates, crossed with "
                         "the response rates (default: the design's, else acceptable and limit)")
    sp.add_argument("--odds-ratio", default=None, dest="odds_ratio", metavar="PSI",
                    help="designs with a [toxicity] table: odds ratio between response and "
                         "toxicity in a patient (default: the file's, else 1: independent)")
    sp.add_argument("--tox-delay", default=None, dest="tox_delay",
                    help="months to a known toxicity status, forms as --delay (default 1, or "
                         "the response delay when that is a number below 1)")
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
    sp.add_argument("--look", type=positive_int, default=None,
                    help="1-based look the data belong to (default: inferred from n)")
    sp.add_argument("--engine", choices=("quadrature", "pymc"), default="quadrature")
    sp.add_argument("--seed", type=int, default=None, help="seed for --engine pymc")
    common(sp)
    sp.set_defaults(func="analysis:_cmd_analyze")

    sp = sub.add_parser("calibrate", help="tune a parameter to type I error / power targets")
    sp.add_argument("design")
    sp.add_argument("--alpha", type=float, default=None,
                    help="worst-case type I error target (default: the design's alpha, else 0.10)")
    sp.add_argument("--power", type=float, default=None,
                    help="power target at p1 (default: the design's power, else none)")
    sp.add_argument("--control", choices=("cohort", "fwer"), default="cohort",
                    help="multi-cohort: control each cohort's type I error (default) or the FWER "
                         "over the whole null region")
    sp.add_argument("--non-binding", action="store_true", dest="non_binding",
                    help="multi-cohort: control alpha with the futility rule ignored")
    sp.add_argument("--range", action="append", default=[], metavar="COHORT=LOW,HIGH",
                    help="multi-cohort: plausible range of a neighbour's rate (repeatable)")
    sp.add_argument("--toxicity", action="store_true",
                    help="calibrate the [toxicity] rule instead: P(stop for toxicity | "
                         "acceptable) <= --target with P(stop | limit) as large as possible")
    sp.add_argument("--target", type=float, default=None,
                    help="with --toxicity: the largest P(stop for toxicity | acceptable) "
                         "(default: the rule's p_stop_acceptable, 0.10)")
    sp.add_argument("--futility", action="store_true",
                    help="calibrate the futility rule instead: largest P(early stop | null) with "
                         "power loss <= --max-power-loss against no futility stop")
    sp.add_argument("--max-power-loss", type=float, default=None, dest="max_power_loss",
                    help="with --futility: largest allowed power loss (default 0.02)")
    sp.add_argument(
        "--parameter",
        default=None,
        help="e.g. final.cutoff, futility.threshold, prior.power (default: "
        "final.cutoff; BOP2 designs: joint lambda/gamma[/eta] search)",
    )
    sp.add_argument("--within", default=None, help="search range low,high")
    sp.add_argument("--objective", choices=("max-power", "min-EN0"), default="max-power",
                    help="max-power (default): the largest power with alpha controlled; "
                         "min-EN0: the futility parameter (and the final cutoff if needed) "
                         "with the smallest E[N | p0] meeting both --alpha and --power")
    sp.add_argument("--write", default=None, help="save the calibrated design to this file")
    sp.add_argument("--name", default=None,
                    help="with --write: name of the design written (default: NAME-calibrated)")
    common(sp)
    sp.set_defaults(func="calibrate:_cmd_calibrate")

    sp = sub.add_parser(
        "search", help="search designs meeting alpha and power (Simon, Lee & Liu, BOP2) or "
                       "classify design files (pareto); print the candidates, save the chosen")
    sp.add_argument("designs", nargs="*", metavar="DESIGN",
                    help="with --family pareto: the single-cohort design files to choose among")
    sp.add_argument("--family", required=True, choices=SEARCH_FAMILIES,
                    help="simon: two-stage designs; lee-liu: predictive-probability designs "
                         "(N, theta_L, theta_T); bop2: BOP2 (lambda, gamma) over N and looks; "
                         "pareto: the design files given")
    sp.add_argument("--p0", type=probability, default=None,
                    help="uninteresting response rate (pareto: default the designs' p0)")
    sp.add_argument("--p1", type=probability, default=None,
                    help="target response rate (pareto: default the designs' p1)")
    sp.add_argument("--alpha", type=probability, default=0.10,
                    help="largest type I error (default 0.10)")
    sp.add_argument("--power", type=probability, default=0.80,
                    help="smallest power at p1 (default 0.80)")
    sp.add_argument("--objective", choices=OBJECTIVES, default="min-EN0",
                    help="min-EN0 (default): smallest E[N | p0]; min-max-N: smallest maximum "
                         "N, then E[N | p0]; balanced: smallest (N + E[N | p0]) / 2, the "
                         "admissible design for q = 0.5 (Jung et al. 2004)")
    sp.add_argument("--nmax", type=positive_int, default=None,
                    help="largest N searched (simon: default 100; lee-liu, bop2: the top of "
                         "--n-range)")
    sp.add_argument("--n-range", default=None, dest="n_range", metavar="LOW,HIGH",
                    help="lee-liu, bop2: maximum sample sizes searched (default 10,60)")
    sp.add_argument("--looks", default=None, metavar="K[,K...]",
                    help="bop2: numbers of equally spaced analyses to try, the final included "
                         "(default 2,3,4)")
    sp.add_argument("--first-look", type=positive_int, default=None, dest="first_look",
                    help="lee-liu: patients at the first interim look (default 10)")
    sp.add_argument("--look-every", type=positive_int, default=None, dest="look_every",
                    metavar="C", help="lee-liu: an interim look every C patients after the "
                                      "first (default 1: continuous monitoring)")
    sp.add_argument("--write", default=None, metavar="FILE",
                    help="save the chosen design as a design file")
    sp.add_argument("--name", default=None, help="with --write: name of the design written")
    common(sp)
    sp.set_defaults(func="search:_cmd_search")
    return p


# errno values that mean "the path the user gave is wrong", not "the run failed"
_PATH_ERRORS = {errno.ENOENT, errno.EACCES, errno.EPERM, errno.ENOTDIR, errno.EISDIR,
                errno.EROFS, errno.EEXIST, errno.ENAMETOOLONG, errno.ELOOP}
_MAX_MESSAGE = 600  # characters: a message fits in a few lines of a terminal


def _say(kind: str, message: object) -> None:
    text = " ".join(str(message).split())
    if len(text) > _MAX_MESSAGE:
        text = text[: _MAX_MESSAGE - 3] + "..."
    print(f"adaptive2: {kind}: {text}", file=sys.stderr)


@contextmanager
def _one_line_warnings() -> Iterator[None]:
    """Warnings as ``adaptive2: warning: ...`` lines, without Python's source excerpt."""
    old = warnings.showwarning

    def show(message: Any, category: Any, filename: str, lineno: int, file: Any = None,
             line: Any = None) -> None:
        _say("warning", f"{message} [{category.__name__}]")

    warnings.showwarning = show
    try:
        yield
    finally:
        warnings.showwarning = old


def _interrupted(args: argparse.Namespace | None, exc: KeyboardInterrupt) -> str:
    text = str(exc)
    if text:  # the simulator says what it kept and how to resume
        return text
    if args is not None and getattr(args, "checkpoint", None):
        return (f"interrupted; finished chunks are kept in {args.checkpoint}: rerun the same "
                "command to resume")
    if args is not None and getattr(args, "command", None) == "simulate":
        return "interrupted (nothing saved: add --checkpoint DIR to make a long run resumable)"
    return "interrupted"


def _os_error(exc: OSError) -> tuple[str, int]:
    where = " ".join(str(f) for f in (exc.filename, exc.filename2) if f)
    text = f"{where}: {exc.strerror or exc}" if where else str(exc.strerror or exc)
    return text, 2 if exc.errno in _PATH_ERRORS else 1


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit code (0 done, 2 bad input, 1 run failed, 130 interrupted)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    keep_freed_memory()  # the engines' temporaries reuse freed memory (glibc)
    args: argparse.Namespace | None = None
    try:
        with _one_line_warnings():
            args = _parser().parse_args(argv)
            args.argv = argv  # the command line, recorded by `report` as its reproduce-me command
            # each command group is a module imported only when one of its commands runs,
            # so `adaptive2 oc` never loads the report, the simulator or PyMC
            module, name = args.func.split(":")
            command = getattr(importlib.import_module(f"adaptive2.cli.{module}"), name)
            with limit_memory(args.max_memory):
                command(args)
    except BrokenPipeError:
        return 0
    except (Exception, KeyboardInterrupt) as exc:
        kind, text, code = _classify(exc, args)
        _say(kind, text)
        if debug:
            traceback.print_exception(exc)
        return code
    return 0


def _classify(exc: BaseException, args: argparse.Namespace | None) -> tuple[str, str, int]:
    """(kind, message, exit code) of a failure."""
    if isinstance(exc, RunError):
        return "error", str(exc), 1
    if isinstance(exc, Adaptive2Error):  # bad input, a bad option, a job over the memory limit
        return "error", str(exc), 2
    if isinstance(exc, UnicodeDecodeError):
        return ("error", f"a file is not UTF-8 text ({exc.reason} at byte {exc.start}); save it "
                         "as UTF-8", 2)
    if isinstance(exc, MemoryError):
        return ("error", "ran out of memory; lower the limit with --max-memory so that jobs too "
                         "big are refused before they start, or use fewer looks or --simulate", 1)
    if isinstance(exc, OSError):
        text, code = _os_error(exc)
        return "error", text, code
    if isinstance(exc, KeyboardInterrupt):
        return "error", _interrupted(args, exc), 130
    # a bug: say so in one line; the traceback with --debug
    return ("internal error", f"{type(exc).__name__}: {exc} (run again with --debug for the "
                              "traceback, and please report it)", 1)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
