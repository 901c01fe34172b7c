"""The protocol appendix: every design, prior, boundary and operating characteristic.

:func:`report` evaluates a set of designs under one scenario grid and writes

* ``index.html`` — a self-contained page (inline CSS and SVG, no script, no
  network access) that prints cleanly to A4 or Letter;
* ``report.md`` — the same content as Markdown, with ``figures/*.svg``;
* ``tables/*.csv`` and ``tables/*.json`` — every table at full precision;
* ``report.json`` — a manifest (files, design hashes, run time, versions);
* ``report.pdf`` — when a converter is available (headless Chromium, else
  WeasyPrint); never required.

The content: design specification, boundary tables in protocol form, priors
(source, discounting, ESS with the method named, borrowing model), prior-data
conflict, the scenario grid, exact OC per scenario (and cohort), worst-case type
I error and the type I error over the whole null region, simulated trial
conduct (duration, overrun, bias, coverage) with MCSE, sensitivity to the prior
weight and to other priors, the Simon two-stage comparator, worked example
trials, the computation section and provenance. Sections appear only when a
design needs them, never as an empty placeholder.

The report is a document assembled first (:func:`build`: blocks of headings,
paragraphs, tables and figures) and rendered and written afterwards
(:mod:`adaptive2.views.report.output`). Writing is atomic: the report is
assembled in a temporary sibling folder that replaces ``out`` only when every
file is written, so a failed run leaves the previous report (or nothing) in
place.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from adaptive2._base.files import make_temp_dir, replace_dir
from adaptive2._base.validation import check_choice, check_int, check_probability, fail
from adaptive2.io.scenario_files import load_scenarios
from adaptive2.model.scenarios import ScenarioGrid
from adaptive2.views.document import (
    Code,
    Document,
    Heading,
    Para,
    Table,
)
from adaptive2.views.report.conduct_sections import _conduct, _examples, _sensitivity, _simon
from adaptive2.views.report.context import (
    _Ctx,
    _groups,
    _items,
    _python_command,
    _unique_names,
    _version,
)
from adaptive2.views.report.design_sections import (
    _boundaries,
    _conflict,
    _priors,
    _scenarios,
    _specification,
    _summary,
)
from adaptive2.views.report.oc_sections import _oc, _type1
from adaptive2.views.report.output import (
    _change_log,
    _check_out,
    _pdf,
    _versions,
    _write_files,
)

__all__ = ["Built", "ReportResult", "build", "report"]


# ---------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------
@dataclass
class ReportResult:
    """What :func:`report` wrote.

    Attributes
    ----------
    path : pathlib.Path
        The report folder.
    files : list of pathlib.Path
        Every file written (relative to ``path``).
    summary : pandas.DataFrame
        The comparison table (one row per design, scenario and cohort).
    pdf : str
        How the PDF was made ("chromium", "weasyprint") or why not.
    run_time_s : float
        Wall time of the whole report.
    """

    path: Path
    files: list[Path]
    summary: Any
    pdf: str
    run_time_s: float
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class Built:
    """The assembled report, before it is written.

    Attributes
    ----------
    document : Document
        The blocks (headings, paragraphs, tables, figures) in order.
    summary : pandas.DataFrame
        The comparison table.
    timings : dict
        Seconds per section.
    design_hashes : dict
        Design name → design hash.
    """

    document: Document
    summary: Any
    timings: dict[str, float]
    design_hashes: dict[str, str]


def build(
    designs: Any,
    scenarios: Any = None,
    *,
    n_sims: int = 20_000,
    seed: int = 20261126,
    alpha: float = 0.10,
    power: float = 0.80,
    command: str | None = None,
    progress: bool = False,
) -> Built:
    """Assemble the report without writing it (see :func:`report` for the parameters)."""
    n_sims = check_int(n_sims, "n_sims", "report", low=0)
    seed = check_int(seed, "seed", "report", low=0)
    alpha = check_probability(alpha, "alpha", "report")
    power = check_probability(power, "power", "report")
    items = _items(designs)
    grid: ScenarioGrid | None
    if isinstance(scenarios, str | Path):
        grid = load_scenarios(scenarios)
    elif scenarios is None or isinstance(scenarios, ScenarioGrid):
        grid = scenarios
    else:
        raise fail("scenarios", "report", "a ScenarioGrid or a scenario-file path", scenarios)
    ctx = _Ctx(
        items=items,
        grid=grid,
        groups=_groups(items, grid),
        n_sims=n_sims,
        seed=seed,
        alpha=alpha,
        power=power,
        command=command or _python_command(items, scenarios),
    )
    names = ", ".join(i.design.name for i in items)
    doc = Document(
        title="Simulation report: operating characteristics of the candidate designs",
        subtitle=(
            f"Designs: {names}. Generated {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by adaptive2 "
            f"{_version()}."
        ),
    )
    summary = None
    for title, fn in _SECTIONS:
        t0 = time.perf_counter()
        if progress:
            print(f"  report: {title} ...", file=sys.stderr, flush=True)
        blocks, out = fn(ctx)
        if blocks:
            doc.add(Heading(2, title), *blocks)
        if title == "Summary":
            summary = out
        ctx.timings[title] = time.perf_counter() - t0
    # The computation section reports the run time of every other section, so it is built last.
    doc.add(Heading(2, "Computation"), *_computation(ctx))
    doc.add(Heading(2, "Provenance"), *_provenance(ctx))
    _unique_names(doc)
    hashes = {i.design.name: i.design.hash for i in items}
    return Built(doc, summary, ctx.timings, hashes)


def _computation(ctx: _Ctx) -> list[Any]:
    import pandas as pd

    frame = pd.DataFrame(ctx.computation)
    versions = _versions()
    timing = pd.DataFrame(
        [{"section": k, "seconds": round(v, 2)} for k, v in ctx.timings.items()]
    )
    blocks: list[Any] = [
        Para(
            "Exact figures come from a forward dynamic programme over the number of responses "
            "(single cohort) or from the joint outcome lattice with quadrature posteriors "
            "(multi-cohort; no MCMC was run, so there are no MCMC diagnostics to report). "
            "Monte Carlo figures use patient-level random streams addressed by the seed, a key "
            "and the chunk and block numbers (the scheme of each run is in the table's "
            "stream_scheme column), with a fixed chunk size, so they are bit-identical for any "
            "number of workers and after a resume; every Monte Carlo figure carries its MCSE."
        ),
        Table("computation", frame, "Method per figure"),
        *_cross_check_block(ctx),
        Table("versions", pd.DataFrame(list(versions.items()), columns=["software", "version"]),
              "Software versions"),
        Table("timings", timing, "Run time per section (seconds)"),
    ]
    return blocks


def _cross_check_block(ctx: _Ctx) -> list[Any]:
    if not ctx.z_scores:
        return []
    z = np.asarray(ctx.z_scores)
    bad = int(np.sum(z > 4))
    text = (
        f"Cross-check of the simulator against the exact engine: in {z.size} cells where both "
        "give P(efficacy) (and, for multi-cohort designs, FWER), the largest "
        f"|Monte Carlo − exact| / MCSE is {z.max():.2f}; {bad} cell(s) exceed 4."
    )
    return [Para(text, "warning" if bad else "")]


def _provenance(ctx: _Ctx) -> list[Any]:
    import pandas as pd

    rows = []
    for it in ctx.items:
        rows.append(
            {
                "design": it.design.name,
                "file": str(it.path) if it.path else "(built in Python)",
                "design hash (SHA-256 of canonical JSON)": it.design.hash,
                "file SHA-256": hashlib.sha256(it.text.encode()).hexdigest() if it.text else "",
            }
        )
    blocks: list[Any] = [
        Table("provenance", pd.DataFrame(rows), "Designs and their hashes"),
        Para("Reproduce this report with:"),
        Code(ctx.command, "sh"),
    ]
    log = _change_log([i.path for i in ctx.items if i.path is not None])
    blocks.append(Heading(3, "Change log of the design files"))
    if log:
        blocks.append(Code(log, "text"))
    else:
        blocks.append(
            Para("The design files are not under git version control here; no change log.", "note")
        )
    return blocks


_SECTIONS = [
    ("Summary", _summary),
    ("Design specification", _specification),
    ("Boundary tables", _boundaries),
    ("Priors and borrowing", _priors),
    ("Prior-data conflict", _conflict),
    ("Scenario grid", _scenarios),
    ("Operating characteristics", _oc),
    ("Type I error", _type1),
    ("Trial conduct (simulated)", _conduct),
    ("Sensitivity analyses", _sensitivity),
    ("Simon two-stage comparator", _simon),
    ("Worked example trials", _examples),
]


# ---------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------
def report(
    designs: Any,
    out: str | Path,
    scenarios: Any = None,
    *,
    n_sims: int = 20_000,
    seed: int = 20261126,
    alpha: float = 0.10,
    power: float = 0.80,
    pdf: str = "auto",
    command: str | None = None,
    progress: bool = False,
) -> ReportResult:
    """Write the protocol appendix for ``designs`` into the folder ``out``.

    Parameters
    ----------
    designs : Design, CohortDesign, path, or a sequence of them
        Design objects or design files (files are quoted verbatim in the report).
    out : path
        Report folder; replaced atomically when the report is complete.
    scenarios : ScenarioGrid or path, optional
        Scenario grid (see ``designs/scenarios.toml``); default each design's own.
    n_sims : int
        Simulated trials per design, scenario and conduct setting for the
        trial-conduct section (0 leaves the section out).
    seed : int
        Root seed of the simulations.
    alpha, power : float
        Targets of the Simon comparator (and the α line of the weight plot).
    pdf : {"auto", "always", "never"}
        Make ``report.pdf`` with headless Chromium (or WeasyPrint) when available;
        ``always`` fails if neither is.
    command : str, optional
        Command line recorded as the reproduce-me command.
    progress : bool
        Print one line per section.

    Returns
    -------
    ReportResult
    """
    check_choice(pdf, "pdf", "report", ("auto", "always", "never"))
    out = _check_out(out)
    t0 = time.perf_counter()
    built = build(
        designs, scenarios, n_sims=n_sims, seed=seed, alpha=alpha, power=power,
        command=command, progress=progress,
    )
    doc, summary, timings = built.document, built.summary, built.timings
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = make_temp_dir(out.parent, prefix=f".{out.name}.")  # the umask's folder mode
    try:
        files = _write_files(doc, tmp)
        how = "not requested"
        if pdf != "never":
            how = _pdf(tmp / "index.html", tmp / "report.pdf")
            if how.startswith("not made") and pdf == "always":
                raise fail("pdf", "report", "a converter: chromium or weasyprint", how)
            if (tmp / "report.pdf").exists():
                files.append(Path("report.pdf"))
        run_time = time.perf_counter() - t0
        manifest = {
            "title": doc.title,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "adaptive2_version": _version(),
            "designs": built.design_hashes,
            "n_sims": n_sims,
            "seed": seed,
            "pdf": how,
            "run_time_s": round(run_time, 2),
            "timings_s": {k: round(v, 3) for k, v in timings.items()},
            "files": sorted(str(f) for f in files),
        }
        (tmp / "report.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
        files.append(Path("report.json"))
        replace_dir(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return ReportResult(out, files, summary, how, run_time, timings)
