"""The ``search`` and ``simon`` commands (``simon --write`` writes the chosen design)."""

from __future__ import annotations

import argparse
import itertools
from collections.abc import Sequence
from typing import Any, cast

from adaptive2.cli import priors
from adaptive2.cli._common import (
    _BadInput,
    _check_name,
    _emit,
    _is_multi,
    _load,
    _output,
    _write_design,
    _written_header,
)
from adaptive2.engines.design_search import design_search, pareto
from adaptive2.engines.lee_liu import lee_liu
from adaptive2.engines.search import SearchDesign, SearchResult
from adaptive2.engines.simon import SimonDesign, SimonResult, simon
from adaptive2.model.designs import Design

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
