"""``adaptive2 compare`` and ``adaptive2 report``."""

from __future__ import annotations

import argparse
import math

from adaptive2.cli._common import _BadInput, _emit, _load, _output, _table
from adaptive2.engines.compare import compare
from adaptive2.io.scenario_files import is_scenario_file, load_scenarios
from adaptive2.views.comparison import write_outputs
from adaptive2.views.report.appendix import report


def _design_paths(args: argparse.Namespace) -> list[str]:
    """The design files among ``args.designs``.

    ``designs/*.toml`` also matches the scenario file: the ``--scenarios`` file is
    left out, and so is any other file that reads as a scenario file (no design
    ``name``), so that without ``--scenarios`` each design keeps its own scenarios.
    """
    from pathlib import Path

    skip = Path(args.scenarios).resolve() if args.scenarios else None
    return [p for p in args.designs
            if Path(p).resolve() != skip and not is_scenario_file(p)]


def _cmd_compare(args: argparse.Namespace) -> None:
    designs = [_load(p) for p in _design_paths(args)]
    if not designs:
        raise _BadInput("give at least one design file")
    names = [d.name for d in designs]
    if len(set(names)) != len(names):
        raise _BadInput(f"design names must be distinct; got {names}")
    grid = load_scenarios(args.scenarios) if args.scenarios else None
    if args.out:
        _output(args.out, "--out", folder=True)
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

    paths = _design_paths(args)
    if not paths:
        raise _BadInput("give at least one design file")
    for p in paths:
        _load(p)  # clear file errors before any computation
    if args.scenarios:
        load_scenarios(args.scenarios)
    _output(args.out, "--out", folder=True)
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
        title=getattr(args, "title", None),
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
