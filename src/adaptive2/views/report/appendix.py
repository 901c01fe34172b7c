"""The protocol appendix: every design, prior, boundary and operating characteristic.

:func:`report` evaluates a set of designs under one scenario grid and writes

* ``index.html`` — a self-contained page (inline CSS and SVG, no script, no
  network access) that prints cleanly to A4 or Letter;
* ``report.md`` — the same content as Markdown, with ``figures/*.svg``;
* ``tables/*.csv`` and ``tables/*.json`` — every table at full precision;
* ``report.json`` — a manifest (files, design hashes, run time, versions);
* ``report.pdf`` — when a converter is available (headless Chromium, else
  WeasyPrint); never required.

The content, in numbered sections with a table of contents under a title block
naming the trial (the scenario file's ``[trial]`` table, or ``title``): a summary
of every design against its type I error and power targets; a specification box
per design (population, endpoint, hypotheses, looks, prior with its ESS, decision
rules, targets next to the values achieved); boundary tables in protocol form;
priors (source, discounting, ESS with the method named, borrowing model);
prior-data conflict; the scenario grid; exact OC per scenario (and cohort);
worst-case type I error and the type I error over the whole null region;
safety monitoring of designs co-monitored for toxicity (the toxicity boundary in
protocol words, joint efficacy-toxicity OC, P(stop for toxicity) against the
true toxicity rate); simulated trial conduct (duration, overrun, bias, coverage) with MCSE;
sensitivity to the prior weight and to other priors; the Simon two-stage
comparator of each population; worked example trials; the computation section
and provenance (commit and state of the design files, command line, platform,
versions, seeds). Sections appear only when a design needs them, never as an
empty placeholder.

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
import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from adaptive2._base.files import make_temp_dir, replace_dir
from adaptive2._base.validation import check_choice, check_int, check_probability, fail
from adaptive2.io.scenario_files import TRIAL_KEYS, load_scenarios
from adaptive2.model.scenarios import ScenarioGrid
from adaptive2.views.document import (
    Code,
    Document,
    Heading,
    Para,
)
from adaptive2.views.report.conduct_sections import _conduct, _examples, _sensitivity, _simon
from adaptive2.views.report.context import (
    Col,
    _Ctx,
    _groups,
    _items,
    _python_command,
    _tab,
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
from adaptive2.views.report.safety_sections import _safety

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
    timings : dict
        Seconds per section.
    document : Document
        The assembled blocks (specification boxes, tables, figures) as rendered.
    """

    path: Path
    files: list[Path]
    summary: Any
    pdf: str
    run_time_s: float
    timings: dict[str, float] = field(default_factory=dict)
    document: Document | None = None


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


TITLE = "Statistical appendix: design and operating characteristics"
RUNNING = "Statistical appendix: operating characteristics"


def build(
    designs: Any,
    scenarios: Any = None,
    *,
    n_sims: int = 20_000,
    seed: int = 20261126,
    alpha: float = 0.10,
    power: float = 0.80,
    title: str | None = None,
    command: str | None = None,
    progress: bool = False,
    out: str | Path | None = None,
) -> Built:
    """Assemble the report without writing it (see :func:`report` for the parameters)."""
    n_sims = check_int(n_sims, "n_sims", "report", low=0)
    seed = check_int(seed, "seed", "report", low=0)
    alpha = check_probability(alpha, "alpha", "report")
    power = check_probability(power, "power", "report")
    if title is not None and (not isinstance(title, str) or not title.strip()):
        raise fail("title", "report", "a non-empty string naming the trial", title)
    items = _items(designs)
    grid: ScenarioGrid | None
    if isinstance(scenarios, str | Path):
        grid = load_scenarios(scenarios)
    elif scenarios is None or isinstance(scenarios, ScenarioGrid):
        grid = scenarios
    else:
        raise fail("scenarios", "report", "a ScenarioGrid or a scenario-file path", scenarios)
    trial = dict(getattr(grid, "trial", ()) or ())
    if title is not None:
        trial["name"] = title.strip()
    ctx = _Ctx(
        items=items,
        grid=grid,
        groups=_groups(items, grid),
        n_sims=n_sims,
        seed=seed,
        alpha=alpha,
        power=power,
        command=command or _python_command(items, scenarios, n_sims=n_sims, seed=seed,
                                           alpha=alpha, power=power, title=title, out=out),
        trial=trial,
        scenario_file=Path(scenarios) if isinstance(scenarios, str | Path) else None,
    )
    created = datetime.now(UTC)
    doc = Document(
        title=TITLE,
        subtitle=trial.get("name", ""),
        title_block=_title_block(ctx, created),
        running_header=f"{_short_name(trial)} — {RUNNING}" if _short_name(trial) else RUNNING,
    )
    summary = None
    for title_, label, fn in _SECTIONS:
        t0 = time.perf_counter()
        if progress:
            print(f"  report: {title_} ...", file=sys.stderr, flush=True)
        blocks, result = fn(ctx)
        if blocks:
            doc.add(Heading(2, title_, label=label), *blocks)
        if label == "summary":
            summary = result
        ctx.timings[title_] = time.perf_counter() - t0
    # The computation section reports the run time of every other section, so it is built last.
    doc.add(Heading(2, "Computation", label="computation"), *_computation(ctx))
    doc.add(Heading(2, "Provenance", label="provenance"), *_provenance(ctx, created))
    _unique_names(doc)
    hashes = {i.design.name: i.design.hash for i in items}
    return Built(doc, summary, ctx.timings, hashes)


def _short_name(trial: dict[str, str]) -> str:
    """The trial's short name: its name up to a colon, else its protocol id, else its name."""
    name = trial.get("name", "")
    if ":" in name:
        return name.split(":", 1)[0].strip()
    if trial.get("protocol"):
        return trial["protocol"]
    return name if len(name) <= 60 else name[:57].rstrip() + "..."


_TRIAL_LABELS = {"name": "Trial", "protocol": "Protocol", "version": "Version", "date": "Date",
                 "programme": "Programme", "sponsor": "Sponsor"}


def _title_block(ctx: _Ctx, created: datetime) -> tuple[tuple[str, str], ...]:
    rows = [("Trial", ctx.trial.get("name") or "not stated (give a [trial] table in the "
             "scenario file, or --title)")]
    rows += [(_TRIAL_LABELS[k], ctx.trial[k]) for k in TRIAL_KEYS if k != "name" and k in ctx.trial]
    rows.append(("Designs", ", ".join(i.design.name for i in ctx.items)))
    rows.append(("Software", f"adaptive2 {_version()}"))
    rows.append(("Generated", f"{created:%Y-%m-%d %H:%M} UTC"))
    return tuple(rows)


def _computation(ctx: _Ctx) -> list[Any]:
    import pandas as pd

    frame = pd.DataFrame(ctx.computation)
    timing = pd.DataFrame(
        [{"section": k, "seconds": v} for k, v in ctx.timings.items()]
    )
    blocks: list[Any] = [
        Para(
            "Exact figures come from a forward dynamic programme over the number of responses "
            "(single cohort) or from the joint outcome lattice with quadrature posteriors "
            "(multi-cohort; no MCMC was run, so there are no MCMC diagnostics to report). "
            "Monte Carlo figures use patient-level random streams addressed by the seed, a key "
            "and the chunk and block numbers (the scheme of each run is in {tab:computation}), "
            "with a fixed chunk size, so they are bit-identical for any number of workers and "
            "after a resume; every Monte Carlo figure carries its MCSE. Software versions and "
            "the platform are in {sec:provenance}; {tab:timings} gives the run time."
        ),
        _tab("computation", frame, "Method per figure",
             [Col("figure", "Figure or table", "text"), Col("method", "Method", "text"),
              Col("evaluations", "Rate vectors evaluated", "int"),
              Col("n_sims", "Simulated trials per cell", "int"), Col("seed", "Seed", "int"),
              Col("chunk_size", "Chunk size", "int"),
              Col("max_mcse_p_efficacy", "Largest MCSE of P(declare efficacy)", "prob4"),
              Col("stream_scheme", "Random-stream scheme", "text")]),
        *_cross_check_block(ctx),
        _tab("timings", timing, "Run time per section",
             [Col("section", "Section", "text"), Col("seconds", "Run time (seconds)", "mean1")]),
    ]
    return blocks


def _cross_check_block(ctx: _Ctx) -> list[Any]:
    if not ctx.z_scores:
        return []
    z = np.asarray(ctx.z_scores)
    bad = int(np.sum(z > 4))
    text = (
        f"Cross-check of the simulator against the exact engine: in {z.size} cells where both "
        "give P(efficacy) (and, for multi-cohort designs, FWER; for designs co-monitored for "
        "toxicity, P(stop for toxicity) too), the largest "
        f"|Monte Carlo − exact| / MCSE is {z.max():.2f}; {bad} cell(s) exceed 4."
    )
    return [Para(text, "warning" if bad else "")]


def _git(folder: Path, *args: str) -> str | None:
    """``git -C folder ARGS`` output, or None when git or the repository is absent."""
    if shutil.which("git") is None:
        return None
    try:
        res = subprocess.run(["git", "-C", str(folder), *args], capture_output=True, text=True,
                             timeout=20, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return res.stdout if res.returncode == 0 else None


def _git_state(paths: list[Path]) -> list[tuple[str, str]]:
    """Commit and working-tree state of the folder(s) holding the design (and scenario) files."""
    if not paths:
        return [("Source control", "designs built in Python, not read from files")]
    rows = []
    for folder in sorted({p.resolve().parent for p in paths}):
        mine = [str(p.resolve()) for p in paths if p.resolve().parent == folder]
        label = f"Folder {_shown_path(folder)}"
        head = (_git(folder, "rev-parse", "HEAD") or "").strip()
        if not head:
            rows.append((label, "not a git repository (no commit to cite)"))
            continue
        status = _git(folder, "status", "--porcelain", "--", *mine) or ""
        kinds = {"??": "untracked", "A": "added", "D": "deleted", "R": "renamed"}
        dirty = [f"{line[3:]} ({kinds.get(line[:2].strip(), 'modified')})"
                 for line in status.splitlines() if len(line) > 3]
        state = ("clean: the files read are as committed" if not dirty else
                 "NOT clean: uncommitted changes in " + ", ".join(dirty))
        rows.append((label, f"git commit {head[:12]}; {state}"))
    return rows


def _shown_path(path: Path) -> str:
    """``path`` relative to the working folder when it lies inside it."""
    try:
        return str(path.relative_to(Path.cwd())) or "."
    except ValueError:
        return str(path)


def _provenance(ctx: _Ctx, created: datetime) -> list[Any]:
    import pandas as pd

    rows = []
    for it in ctx.items:
        rows.append({
            "design": it.design.name,
            "file": str(it.path) if it.path else "(built in Python)",
            "design_hash": it.design.hash,
            "file_sha256": hashlib.sha256(it.text.encode()).hexdigest() if it.text else "",
        })
    paths = [i.path for i in ctx.items if i.path is not None]
    versions = _versions()
    env = [
        *_git_state(paths + ([ctx.scenario_file] if ctx.scenario_file else [])),
        ("Command", ctx.command),
        ("Generated", f"{created:%Y-%m-%d %H:%M:%S} UTC"),
        ("Platform", platform.platform()),
        ("Python", f"{platform.python_version()} ({platform.python_implementation()})"),
        ("CPU count", str(os.cpu_count() or "unknown")),
        ("Seeds", f"root seed {ctx.seed} for every simulation; streams "
         "SeedSequence(seed, spawn_key=(key, chunk, block)), so results do not depend on the "
         "number of workers" if ctx.n_sims else "no simulation was run (every figure is exact)"),
        ("Simulated trials", f"{ctx.n_sims:,} per design, scenario and conduct setting"
         if ctx.n_sims else "none"),
    ]
    env_frame = pd.DataFrame(env, columns=["item", "value"])
    blocks: list[Any] = [
        Para("{tab:provenance} identifies every design by hash; {tab:environment} records "
             "where and how the report was made, and {tab:versions} the software versions."),
        _tab("provenance", pd.DataFrame(rows), "Designs and their hashes",
             [Col("design", "Design", "text"), Col("file", "File", "text"),
              Col("design_hash", "Design hash (SHA-256 of canonical JSON)", "text"),
              Col("file_sha256", "File SHA-256", "text")]),
        _tab("environment", env_frame, "How this report was made",
             [Col("item", "Item", "text"), Col("value", "Value", "text")]),
        _tab("versions", pd.DataFrame(list(versions.items()), columns=["software", "version"]),
             "Software versions",
             [Col("software", "Software", "text"), Col("version", "Version", "text")]),
        Para("Reproduce this report with:"),
        Code(ctx.command, "sh"),
    ]
    log = _change_log(paths)
    blocks.append(Heading(3, "Change log of the design files"))
    if log:
        blocks.append(Code(log, "text"))
    else:
        blocks.append(
            Para("The design files are not under git version control here; no change log.", "note")
        )
    return blocks


_SECTIONS = [
    ("Summary", "summary", _summary),
    ("Design specification", "specification", _specification),
    ("Boundary tables", "boundaries", _boundaries),
    ("Priors and borrowing", "priors", _priors),
    ("Prior-data conflict", "conflict", _conflict),
    ("Scenario grid", "scenarios", _scenarios),
    ("Operating characteristics", "oc", _oc),
    ("Type I error", "type1", _type1),
    ("Safety monitoring", "safety", _safety),
    ("Trial conduct (simulated)", "conduct", _conduct),
    ("Sensitivity analyses", "sensitivity", _sensitivity),
    ("Simon two-stage comparator", "simon", _simon),
    ("Worked example trials", "examples", _examples),
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
    title: str | None = None,
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
        Type I error and power targets of a design that states none (design
        keys ``alpha`` and ``power``); the Simon comparator of a population is
        designed for its Bayesian designs' targets.
    pdf : {"auto", "always", "never"}
        Make ``report.pdf`` with headless Chromium (or WeasyPrint) when available;
        ``always`` fails if neither is.
    title : str, optional
        The trial's name for the title block and running header (default: the
        scenario file's ``[trial]`` name).
    command : str, optional
        Command line recorded as the reproduce-me command (default: the
        equivalent ``adaptive2 report`` command, when the designs are files).
    progress : bool
        Print one line per section.

    Returns
    -------
    ReportResult
    """
    check_choice(pdf, "pdf", "report", ("auto", "always", "never"))
    given = out
    out = _check_out(out)
    t0 = time.perf_counter()
    built = build(
        designs, scenarios, n_sims=n_sims, seed=seed, alpha=alpha, power=power, title=title,
        command=command, progress=progress, out=given,
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
            "trial": dict(doc.title_block),
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
    return ReportResult(out, files, summary, how, run_time, timings, doc)
