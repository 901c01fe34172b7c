"""The protocol appendix: every design, prior, boundary and operating characteristic.

:func:`report` evaluates a set of designs under one scenario grid and writes

* ``index.html`` — a self-contained page (inline CSS and SVG, no script, no
  network access) that prints cleanly to A4 or Letter;
* ``report.md`` — the same content as Markdown, with ``figures/*.svg``;
* ``tables/*.csv`` and ``tables/*.json`` — every table at full precision;
* ``report.json`` — a manifest (files, design hashes, run time, versions);
* ``report.pdf`` — when a converter is available (headless Chromium, else
  WeasyPrint); never required.

The content follows BRIEF §8: design specification, boundary tables in protocol
form, priors (source, discounting, ESS with the method named, borrowing model),
prior-data conflict, the scenario grid, exact OC per scenario (and cohort),
worst-case type I error, simulated trial conduct (duration, overrun, bias,
coverage) with MCSE, sensitivity to the prior weight and to other priors, the
Simon two-stage comparator, worked example trials, the computation section and
provenance. Sections appear only when a design needs them, never as an empty
placeholder.

Writing is atomic: the report is assembled in a temporary sibling folder that
replaces ``out`` only when every file is written, so a failed run leaves the
previous report (or nothing) in place.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from adaptive2._base.errors import DesignError
from adaptive2._base.validation import check_choice, check_int, check_probability, fail
from adaptive2.model.designs import Design
from adaptive2.views.document import (
    Bullets,
    Code,
    Document,
    Figure,
    Heading,
    Para,
    Table,
    to_html,
    to_markdown,
)

__all__ = ["Built", "ReportResult", "build", "report", "round_mcse", "table"]



# ---------------------------------------------------------------------------
# MCSE-aware rounding (ArviZ convention)
# ---------------------------------------------------------------------------
def round_mcse(value: float, mcse: float, exact_digits: int = 4) -> tuple[float, int]:
    """Round an estimate to the decimal of twice its Monte Carlo standard error.

    Parameters
    ----------
    value, mcse : float
        Estimate and its MCSE (0 for exact figures).
    exact_digits : int
        Decimals kept for exact figures.

    Returns
    -------
    (rounded, decimals) : (float, int)

    Examples
    --------
    >>> round_mcse(0.07347, 0.0021)
    (0.073, 3)
    >>> round_mcse(0.07347, 0.0)
    (0.0735, 4)
    """
    if not math.isfinite(value):
        return value, exact_digits
    if not (mcse > 0 and math.isfinite(mcse)):
        return round(value, exact_digits), exact_digits
    decimals = max(0, -math.floor(math.log10(2 * mcse)))
    return round(value, decimals), decimals


def _with_mcse(value: float, mcse: float, exact_digits: int = 4) -> str:
    v, d = round_mcse(value, mcse, exact_digits)
    if not math.isfinite(v):
        return ""
    if mcse > 0:
        return f"{v:.{d}f} ± {float(f'{mcse:.2g}'):g}"
    return f"{v:.{d}f}"


def table(ds: Any, variables: Sequence[str] | None = None) -> Any:
    """Tidy table of a result Dataset, rounded the ArviZ way.

    Each variable with a ``_mcse`` twin is rounded to the decimal of twice its
    MCSE (the MCSE itself to two significant figures); exact figures (MCSE 0)
    keep four decimals.

    Parameters
    ----------
    ds : xarray.Dataset
        A result of :func:`~adaptive2.engines.exact.oc`,
        :func:`~adaptive2.engines.montecarlo.simulate`
        or :func:`adaptive2.model.cohorts.cohort_oc`.
    variables : sequence of str, optional
        Variables to keep (default: every variable with an ``_mcse`` twin whose
        dimensions are those of ``p_efficacy``).

    Returns
    -------
    pandas.DataFrame
        One row per cell of ``p_efficacy``'s dimensions; columns ``<var>`` and
        ``<var>_mcse``.
    """
    if "p_efficacy" not in getattr(ds, "data_vars", {}):
        raise fail("ds", "table", "a result Dataset with `p_efficacy`", type(ds).__name__)
    dims = ds["p_efficacy"].dims
    if variables is None:
        variables = [
            v
            for v in ds.data_vars
            if not v.endswith("_mcse") and f"{v}_mcse" in ds and ds[v].dims == dims
        ]
    missing = [v for v in variables if v not in ds]
    if missing:
        allowed = f"variables of the Dataset {sorted(ds.data_vars)}"
        raise fail("variables", "table", allowed, missing)
    frame = ds[[*variables, *[f"{v}_mcse" for v in variables if f"{v}_mcse" in ds]]].to_dataframe()
    keep = [c for c in frame.columns if c in ds.data_vars]
    frame = frame[keep].reset_index()
    for v in variables:
        if f"{v}_mcse" not in frame:
            continue
        est, err = frame[v].to_numpy(float), frame[f"{v}_mcse"].to_numpy(float)
        frame[v] = [round_mcse(x, e)[0] for x, e in zip(est, err, strict=True)]
        frame[f"{v}_mcse"] = [float(f"{e:.2g}") for e in err]
    return frame


# ---------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class _Item:
    design: Any
    path: Path | None
    text: str | None  # the design file's text, when the design came from a file

    @property
    def multi(self) -> bool:
        return not isinstance(self.design, Design)


def _items(designs: Any) -> list[_Item]:
    from adaptive2.io.design_files import load_any
    from adaptive2.model.cohorts import CohortDesign

    seq = [designs] if isinstance(designs, str | Path | Design | CohortDesign) else list(designs)
    if not seq:
        raise fail("designs", "report", "at least one design or design file", seq)
    out = []
    for d in seq:
        if isinstance(d, str | Path):
            p = Path(d)
            out.append(_Item(load_any(p), p, p.read_text(encoding="utf-8")))
        elif isinstance(d, Design | CohortDesign):
            out.append(_Item(d, None, None))
        else:
            raise fail("designs", "report", "Design, CohortDesign or design-file paths", d)
    names = [i.design.name for i in out]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise fail("designs", "report", "designs with distinct names", dup)
    return out


def _design_file(item: _Item) -> str:
    if item.text is not None:
        return item.text
    from adaptive2.io.design_files import dumps_toml

    return dumps_toml(item.design.to_dict())


@dataclass(frozen=True)
class _Group:
    """Single-cohort designs that share a null rate (one cohort of the programme)."""

    name: str
    p0: float
    p1: float | None
    scenarios: tuple[Any, ...]
    items: tuple[_Item, ...]


def _groups(items: list[_Item], grid: Any) -> list[_Group]:
    """Single-cohort designs grouped by their planning values (p0, p1).

    A group takes the scenario file's grid of the cohort with the same p0 (roles
    from the file); otherwise the designs' own rates, with roles from p0 and p1.
    """
    from adaptive2.model.scenarios import Scenario, _role

    order: dict[tuple[float | None, float | None], list[_Item]] = {}
    for i in items:
        if i.multi:
            continue
        p0 = i.design.p0
        # one group for designs without a fixed p0 (unset, or a Beta as in Thall & Simon)
        key0 = None if p0 is None or hasattr(p0, "a") else float(p0)
        order.setdefault((key0, i.design.p1), []).append(i)
    named = [k0 for k0, _ in order]
    groups = []
    for (key0, p1), its in order.items():
        p0 = math.nan if key0 is None else key0
        scen, name = None, "without a fixed p0" if key0 is None else f"p0 = {p0:g}"
        if grid is not None and key0 is not None:
            for cname, (q0, s) in grid.cohorts.items():
                if abs(q0 - p0) < 1e-12:
                    name, scen = cname, s
        if named.count(key0) > 1:  # same p0, different p1: say which
            name += f", p1 = {p1:g}" if p1 is not None else ", p1 not set"
        if scen is None:
            rates = sorted({float(r) for i in its for r in i.design.scenarios})
            scen = tuple(
                Scenario(f"p={r:g}", r, _role(r, None if key0 is None else p0, p1)) for r in rates
            )
        groups.append(_Group(name, p0, p1, tuple(scen), tuple(its)))
    return groups


def _uses_prior(design: Design) -> bool:
    """False when every rule is a fixed response boundary (e.g. a Simon design)."""
    from adaptive2.model.rules import Boundary

    rules = [design.futility, design.efficacy, design.final]
    return any(r is not None and not isinstance(r, Boundary) for r in rules)


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
class _Ctx:
    items: list[_Item]
    grid: Any
    groups: list[_Group]
    n_sims: int
    seed: int
    alpha: float
    power: float
    command: str
    timings: dict[str, float] = field(default_factory=dict)
    computation: list[dict[str, Any]] = field(default_factory=list)
    z_scores: list[float] = field(default_factory=list)
    oc: dict[tuple[str, tuple[Any, ...]], Any] = field(default_factory=dict)  # exact OC cache
    borrowing: dict[str, Any] = field(default_factory=dict)  # multi-cohort: BorrowingSummary

    def note(self, figure: str, method: str, **kw: Any) -> None:
        self.computation.append({"figure": figure, "method": method, **kw})


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
    from adaptive2.engines.compare import ScenarioGrid, load_scenarios

    n_sims = check_int(n_sims, "n_sims", "report", low=0)
    seed = check_int(seed, "seed", "report", low=0)
    alpha = check_probability(alpha, "alpha", "report")
    power = check_probability(power, "power", "report")
    items = _items(designs)
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


def _unique_names(doc: Document) -> None:
    """Give every table and figure its own file name (and HTML id).

    Names come from design and cohort names through :func:`_slug`, so two names
    can meet (``"a b"`` and ``"a-b"``); the later one gets a numbered suffix.
    """
    seen: set[tuple[str, str]] = set()
    for i, b in enumerate(doc.blocks):
        if not isinstance(b, Table | Figure):
            continue
        kind, name, k = type(b).__name__, b.name, 1
        while (kind, name) in seen:
            k += 1
            name = f"{b.name}-{k}"
        seen.add((kind, name))
        if name != b.name:
            doc.blocks[i] = dataclasses.replace(b, name=name)


def _version() -> str:
    from adaptive2._base.version import __version__

    return __version__


def _python_command(items: list[_Item], scenarios: Any) -> str:
    import shlex

    if all(i.path is not None for i in items):
        parts = ["adaptive2", "report", *[str(i.path) for i in items]]
        if isinstance(scenarios, str | Path):
            parts += ["--scenarios", str(scenarios)]
        return " ".join(shlex.quote(p) for p in parts)
    return "adaptive2.report(designs, out, ...) from Python (designs not read from files)"


# ---- sections ---------------------------------------------------------------
def _summary(ctx: _Ctx) -> tuple[list[Any], Any]:
    from adaptive2.engines.compare import compare

    designs = [i.design for i in ctx.items]
    nulls = {i.design.name: _borrowing(ctx, i.design).null_region for i in ctx.items if i.multi}
    summary = compare(designs, ctx.grid, results=_datasets(ctx), null_regions=nulls)
    ctx.note("Summary table, OC tables", "exact (dynamic programme / quadrature lattice)", mcse=0.0)
    shown = summary[
        ["design", "cohort", "scenario", "p", "label", "p_efficacy", "p_early_stop", "expected_n",
         "sd_n", "max_n", "fwer", "max_type1"]
    ].copy()
    if shown["fwer"].isna().all():
        shown = shown.drop(columns="fwer")
    if (shown["cohort"] == "").all():
        shown = shown.drop(columns="cohort")
    singles = [i.design for i in ctx.items if not i.multi]
    multis = [i.design for i in ctx.items if i.multi]
    text = (
        f"{len(ctx.items)} design(s) were evaluated under the scenario grid below: "
        f"{len(singles)} single-cohort and {len(multis)} multi-cohort design(s). "
        "p_efficacy is labelled type I error under a null scenario and power under an "
        "alternative one; a multi-cohort design has a row per scenario and cohort, so each "
        "cohort's power is shown under every joint scenario. max_type1 is the cohort's type I "
        "error supremum over the whole null region (its own rate anywhere at or below p0 and, "
        "under borrowing, the other cohorts' rates anywhere in their range). Every figure in "
        "this table is exact (no Monte Carlo error)."
    )
    blocks: list[Any] = [Para(text)]
    key = _key_figures(ctx, summary)
    if key:
        blocks.append(Bullets(tuple(key)))
    blocks.append(Table("summary", summary, "Operating characteristics, all designs", shown))
    return blocks, summary


def _key_figures(ctx: _Ctx, summary: Any) -> list[str]:
    out = []
    multi = {i.design.name for i in ctx.items if i.multi}
    for name, sub in summary.groupby("design", sort=False):
        if name in multi:
            out.extend(_multi_key_figures(ctx, str(name), sub))
            continue
        for cohort, s in sub.groupby("cohort", sort=False):
            null = s[s["role"] == "null"]
            alt = s[s["role"] == "alternative"]
            who = f"{name}" + (f" [{cohort}]" if cohort else "")
            parts = []
            if len(null):
                parts.append(f"largest type I error {null['p_efficacy'].max():.4f}")
            if len(alt):
                first = alt.sort_values("p").iloc[0]
                parts.append(f"power {first['p_efficacy']:.4f} at p = {first['p']:g}")
            if len(null):
                i = null["p"].idxmax()
                parts.append(
                    f"E[N] {null.loc[i, 'expected_n']:.1f} of {int(null.loc[i, 'max_n'])} "
                    f"at p = {null.loc[i, 'p']:g}"
                )
            out.append(f"{who}: " + ", ".join(parts) + ".")
    return out


def _multi_key_figures(ctx: _Ctx, name: str, sub: Any) -> list[str]:
    """Per cohort: the null-region worst case and the power under every joint alternative."""
    nr = ctx.borrowing[name].null_region
    out = []
    for cohort, s in sub.groupby("cohort", sort=False):
        sup = nr.cohorts[str(cohort)]
        where = ", ".join(f"{k} = {v:.3f}" for k, v in sup.argmax.items())
        parts = [f"type I error at most {sup.max_type1:.4f} over the whole null region "
                 f"(attained at {where})"]
        alt = s[s["role"] == "alternative"]
        if len(alt):
            powers = "; ".join(f"{r.p_efficacy:.3f} ({r.scenario})" for r in alt.itertuples())
            parts.append(f"power {powers}")
        out.append(f"{name} [{cohort}]: " + ", ".join(parts) + ".")
    out.append(
        f"{name}: FWER {nr.fwer_global_null:.4f} at the global null; its supremum over the null "
        f"region is {nr.max_fwer:.4f}"
        + (f" (design alpha {nr.alpha:g})." if nr.alpha is not None else ".")
    )
    return out


def _borrowing(ctx: _Ctx, design: Any) -> Any:
    """Null region and matched-α comparison of a multi-cohort design, computed once."""
    from adaptive2.engines.borrowing import borrowing_summary

    if design.name not in ctx.borrowing:
        ctx.borrowing[design.name] = borrowing_summary(design, _multi_scenarios(ctx, design))
    return ctx.borrowing[design.name]


def _specification(ctx: _Ctx) -> tuple[list[Any], Any]:
    blocks: list[Any] = []
    for it in ctx.items:
        d = it.design
        blocks.append(Heading(3, d.name + (f" — {d.title}" if d.title else "")))
        if it.multi:
            lines = [
                f"Cohorts: {', '.join(c.name for c in d.cohorts)}; analyses are joint "
                f"({d.n_looks} looks).",
                f"Borrowing model: {d.model.describe()}.",
            ]
            for c in d.cohorts:
                lines.append(
                    f"Cohort {c.name}: p0 = {c.p0:g}, p1 = {c.p1}, maximum N = {c.looks[-1]}, "
                    f"looks after {', '.join(map(str, c.looks))} evaluable patients."
                )
                for slot in ("futility", "efficacy", "final"):
                    r = d.rule(slot, c.name)
                    if r is not None:
                        lines.append(f"  {c.name} {slot}: {r.describe(slot)}")
        else:
            lines = [
                f"Single-arm design; maximum N = {d.n_max} evaluable patients; analyses after "
                f"{', '.join(map(str, d.looks))} evaluable patients.",
                f"Planning values: p0 = {_p(d.p0)}, p1 = {_p(d.p1)}.",
                f"Analysis prior: {d.prior_spec.describe()}.",
            ]
            for slot in ("futility", "efficacy", "final"):
                r = getattr(d, slot)
                if r is not None:
                    lines.append(f"{slot.capitalize()}: {r.describe(slot)}.")
        binding = "Stopping rules are evaluated as binding in the operating characteristics below"
        if not it.multi and d.futility is not None:
            binding += (
                "; the type I error section also gives the error if futility stopping is "
                "ignored (non-binding futility)"
            )
        lines.append(binding + ".")
        blocks.append(Bullets(tuple(lines)))
        if d.notes:
            blocks.append(Para(f"Notes: {d.notes}", "note"))
        where = f"design file {it.path}" if it.path else "design (as a design file)"
        blocks.append(Para(f"The {where} (design hash {d.hash[:16]}):", "note"))
        blocks.append(Code(_design_file(it), "toml"))
    return blocks, None


def _p(x: Any) -> str:
    if x is None:
        return "not set"
    if hasattr(x, "a"):
        return f"{x} (random reference rate, Thall & Simon)"
    return f"{float(x):g}"


def _boundaries(ctx: _Ctx) -> tuple[list[Any], Any]:
    import pandas as pd

    from adaptive2.views.plots import boundary_chart, to_svg

    blocks: list[Any] = [
        Para(
            "Protocol form: r is the number of confirmed responses among the first n "
            "evaluable patients. A look without a futility (efficacy) entry cannot stop for "
            "futility (efficacy)."
        )
    ]
    for it in ctx.items:
        d = it.design
        safe = _slug(d.name)
        if it.multi:
            frame = pd.DataFrame(d.boundary_table())
            blocks.append(
                Table(
                    f"boundaries-{safe}",
                    frame,
                    f"{d.name}: boundaries per cohort",
                    note=(
                        "Under borrowing a cohort's boundary depends on the other cohorts' data; "
                        "shown with every other cohort at its null rate (others_at). The exact "
                        "OC use the whole joint outcome lattice."
                    ),
                )
            )
            blocks.append(
                Table(
                    f"decision-table-{safe}",
                    _decision_frame(d),
                    f"{d.name}: the pre-specified rule as integers — responses each cohort "
                    "needs, given the other cohort's responses",
                    note=(
                        "Read a row as: at this look, with the other cohort at the stated "
                        "number of evaluable patients (running, or stopped earlier with its data "
                        "at stopping) and a response count in the stated range, the cohort stops "
                        "for futility (at the final look: fails) with at most the first count "
                        "of responses among its n patients, and stops for efficacy (at the final "
                        "look: succeeds) with at least the second. The table is the complete "
                        "rule: the exact OC follow from it alone."
                    ),
                )
            )
            continue
        frame = d.boundaries().to_frame().reset_index()
        blocks.append(Table(f"boundaries-{safe}", frame, f"{d.name}: stopping boundaries"))
        blocks.append(
            Figure(f"boundaries-{safe}", to_svg(boundary_chart(d)), f"{d.name}: boundaries by look")
        )
        inc = d.boundaries().incoherences()
        if inc:
            blocks.append(Para(f"{d.name}: incoherent interim rule: {'; '.join(inc)}.", "warning"))
    return blocks, None


def _decision_frame(design: Any) -> Any:
    """:meth:`CohortDesign.decision_table` with protocol column names."""
    import pandas as pd

    frame = pd.DataFrame(design.decision_table())
    final = frame["final"]
    out = pd.DataFrame({
        "look": frame["look"],
        "cohort": frame["cohort"],
        "n": frame["n"],
        "other cohort (n)": frame["others"],
    })
    if "other_r_from" in frame:
        out["other cohort's responses"] = [
            f"{a}" if a == b else f"{a}-{b}"
            for a, b in zip(frame["other_r_from"], frame["other_r_to"], strict=True)
        ]
    else:
        out["other cohorts' responses"] = frame["others_r"]
    out["stop for futility / fail if r <="] = [
        "-" if pd.isna(a) else int(a) for a in frame["futility_max_r"]
    ]
    out["stop for efficacy / succeed if r >="] = [
        "-" if pd.isna(b) else int(b) for b in frame["efficacy_min_r"]
    ]
    out["analysis"] = ["final" if f else "interim" for f in final]
    return out


def _priors(ctx: _Ctx) -> tuple[list[Any], Any]:
    import pandas as pd

    from adaptive2.model.priors import Beta, as_mixture, ess_table
    from adaptive2.views.plots import prior_density, to_svg

    blocks: list[Any] = []
    for g in ctx.groups:
        priors = {}
        rows = []
        users = [it for it in g.items if _uses_prior(it.design)]
        if not users:
            continue
        blocks.append(Heading(3, f"Cohort {g.name}"))
        for it in users:
            d = it.design
            spec = d.prior_spec
            tab = ess_table(d.prior)
            mix = as_mixture(d.prior)
            lo, hi = d.prior.interval(0.95) if hasattr(d.prior, "interval") else (np.nan, np.nan)
            rows.append(
                {
                    "design": d.name,
                    "construction": spec.describe(),
                    "source": spec.source or "not stated",
                    "discount (a0)": spec.power if spec.historical is not None else None,
                    "robust weight": spec.robust[0] if spec.robust else None,
                    "mean": mix.mean,
                    "95% interval": f"{lo:.3f} to {hi:.3f}",
                    "ESS (ELIR)": _ess(tab, "elir"),
                    "ESS (moment)": _ess(tab, "moment"),
                    "ESS (Morita)": _ess(tab, "morita"),
                }
            )
            priors[d.name] = d.prior
        frame = pd.DataFrame(rows)
        blocks.append(Table(f"priors-{_slug(g.name)}", frame, f"Analysis priors, cohort {g.name}",
                            note=_ESS_NOTE))
        hist = {it.design.prior_spec.historical for it in users} - {None}
        for r, n in sorted(hist):
            label = f"historical {r:g}/{n:g} alone (Beta(0.5, 0.5) base)"
            priors[label] = Beta(0.5 + r, 0.5 + n - r)
        fig = prior_density(priors, p0=None if math.isnan(g.p0) else g.p0, p1=g.p1)
        blocks.append(
            Figure(
                f"priors-{_slug(g.name)}",
                to_svg(fig),
                f"Analysis priors of cohort {g.name} with the planning values p0 and p1 (dashed)",
            )
        )
    for it in [i for i in ctx.items if i.multi]:
        blocks += _model_block(it)
    return blocks, None


_ESS_NOTE = (
    "ESS by ELIR (Neuenschwander et al. 2020; expected local information ratio), by moment "
    "matching (a + b of the Beta with the same mean and variance), and by Morita et al. (2008) "
    "at the prior mean. For a mixture, ELIR is negative when the components disagree strongly "
    "(the prior's local information is negative between its modes; the value still has ELIR's "
    "predictive consistency) and undefined when two components are unbounded at the same end."
)


def _ess(tab: dict[str, dict[str, Any]], method: str) -> Any:
    v = tab[method]["value"]
    return "n/a: " + str(tab[method]["reason"]) if v is None else round(float(v), 2)


def _model_block(it: _Item) -> list[Any]:
    import pandas as pd

    from adaptive2.engines.map_prior import map_prior
    from adaptive2.model.priors import ess

    d = it.design
    m = d.model
    blocks: list[Any] = [Heading(3, f"Borrowing model of {d.name}")]
    hyper = {
        "kind": m.kind,
        "scale": m.scale,
        "mu prior": f"N({m.mu_mean:g}, {m.mu_sd:g}^2)",
        "tau prior": f"{m.tau_prior}({m.tau_scale:g})"
        + (f", df {m.tau_df:g}" if m.tau_prior == "half_t" else ""),
    }
    if m.kind == "exnex":
        hyper["exchangeability weight"] = str(m.weight)
    if m.kind in ("exnex", "independent"):
        hyper["NEX prior"] = f"N({m.nex_mean}, {m.nex_sd}^2) on theta_j"
    blocks.append(Para(f"{m.describe()}."))
    blocks.append(
        Table(
            f"model-{_slug(d.name)}",
            pd.DataFrame([{"parameter": k, "value": v} for k, v in hyper.items()]),
            f"{d.name}: hyperpriors",
        )
    )
    if m.historical:
        rows = [
            {
                "stratum": h.name,
                "r": h.r,
                "n": h.n,
                "link": f"tied to {h.tie} (sd {h.tie_sd:g})" if h.tie else "exchangeable",
                "weight (a0)": h.weight,
            }
            for h in m.historical
        ]
        blocks.append(
            Table(f"historical-{_slug(d.name)}", pd.DataFrame(rows), f"{d.name}: historical strata")
        )
        free = [h for h in m.historical if h.tie is None]
        if free and m.kind == "hierarchical":
            mp_rows = []
            for c in d.cohorts:
                mp = map_prior(free, p0=c.p0, model=m)
                mp_rows.append(
                    {
                        "cohort": c.name,
                        "MAP mean": mp.mean,
                        "beta-mixture approximation": str(mp.mixture),
                        "ESS (ELIR)": round(ess(mp.mixture), 2),
                        "KL (nats)": mp.kl,
                    }
                )
            blocks.append(
                Table(
                    f"map-{_slug(d.name)}",
                    pd.DataFrame(mp_rows),
                    f"{d.name}: meta-analytic-predictive prior from the exchangeable historical "
                    "strata, per cohort (quadrature, no MCMC)",
                )
            )
    return blocks


def _conflict(ctx: _Ctx) -> tuple[list[Any], Any]:
    import pandas as pd

    from adaptive2.model.priors import as_mixture, conflict

    blocks: list[Any] = [
        Para(
            "The analysis prior (used in the decision rules) and the design prior (the true "
            "response rates of the scenarios, fixed in each scenario) are distinct: the "
            "operating characteristics are frequentist properties at fixed true rates. The table "
            "shows how each analysis prior reacts when the final data disagree with it: the "
            "prior-predictive probability of data as low as those observed (P(R <= r)), Box's "
            "p-value, and the posterior weight of the informative component."
        )
    ]
    rows = []
    for g in ctx.groups:
        for it in g.items:
            d = it.design
            if not _uses_prior(d):
                continue
            n = d.n_max
            for s in g.scenarios:
                r = round(s.p * n)
                c = conflict(d.prior, r, n)
                post = d.prior.update(r=r, n=n)
                comps = as_mixture(d.prior)
                label = [f"Beta({a:g}, {b:g})" for a, b in zip(comps.a, comps.b, strict=True)]
                rows.append(
                    {
                        "design": d.name,
                        "data": f"{r}/{n} (p = {s.p:g})",
                        "P(R <= r)": c.p_lower,
                        "Box p": c.p_box,
                        "prior weights": "; ".join(
                            f"{w:.3f} {lab}" for w, lab in zip(c.prior_weights, label, strict=True)
                        ),
                        "posterior weights": "; ".join(
                            f"{w:.3f} {lab}"
                            for w, lab in zip(c.posterior_weights, label, strict=True)
                        ),
                        "posterior mean": post.mean,
                    }
                )
    if not rows:
        return [], None
    blocks.append(
        Table(
            "conflict",
            pd.DataFrame(rows),
            "Prior-data conflict at the final analysis for data at each scenario rate",
            note="Each weight is followed by its prior component, Beta(a, b).",
        )
    )
    return blocks, None


def _scenarios(ctx: _Ctx) -> tuple[list[Any], Any]:
    import pandas as pd

    rows = [
        {"cohort": g.name, "p0": g.p0, "p1": g.p1, "scenario": s.name, "p": s.p, "role": s.role}
        for g in ctx.groups
        for s in g.scenarios
    ]
    blocks: list[Any] = []
    if rows:
        blocks.append(Table("scenarios", pd.DataFrame(rows), "Scenario grid per cohort"))
    multi = ctx.grid.multi if ctx.grid is not None else ()
    if not multi:
        multi = next((i.design.scenarios for i in ctx.items if i.multi), ())
    if multi:
        mrows = [{"scenario": s.name, **dict(s.rates)} for s in multi]
        blocks.append(
            Table(
                "scenarios-multi",
                pd.DataFrame(mrows),
                "Joint scenarios of the multi-cohort designs (global null and alternative, mixed, "
                "optimistic)",
            )
        )
    if any(not i.multi for i in ctx.items) and ctx.n_sims:
        blocks.append(
            Para(
                "Trial-conduct variations (accrual, response-assessment delay, non-evaluable "
                "patients, interim behaviour) are listed in the trial-conduct section."
            )
        )
    return blocks, None


def _oc(ctx: _Ctx) -> tuple[list[Any], Any]:
    import pandas as pd

    from adaptive2.engines.compare import oc_rows
    from adaptive2.views.plots import cohort_oc_plot, oc_curves, to_svg

    blocks: list[Any] = []
    shown = ["scenario", "p", "label", "p_efficacy", "p_futility", "p_early_stop", "expected_n",
             "sd_n"]
    for g in ctx.groups:
        blocks.append(Heading(3, f"Cohort {g.name}"))
        designs = [i.design for i in g.items]
        blocks.append(
            Figure(
                f"oc-curves-{_slug(g.name)}",
                to_svg(oc_curves(designs)),
                f"Cohort {g.name}: P(efficacy) and expected N against the true response rate "
                "(exact)",
            )
        )
        for d in designs:
            ds = _single_oc(ctx, d, g.scenarios)
            frame = pd.DataFrame(oc_rows(d, ds))
            correct = np.where(frame["role"] == "null", 1 - frame["p_efficacy"],
                               np.where(frame["role"] == "alternative", frame["p_efficacy"],
                                        np.nan))
            frame = frame[shown].assign(**{"P(correct decision)": correct})
            look_rows = []
            for si, sname in enumerate(ds["scenario"].values):
                for k, nk in enumerate(ds["look_n"].values):
                    lr = {"scenario": str(sname), "look": k + 1, "n": int(nk)}
                    for ri, reason in enumerate(ds["reason"].values):
                        lr[f"P(stop: {reason})"] = float(ds["p_stop_at"].values[si, k, ri])
                    lr["P(N = n)"] = float(ds["p_n"].values[si, k])
                    look_rows.append(lr)
            safe = _slug(d.name)
            blocks.append(Table(f"oc-{safe}", frame, f"{d.name}: exact OC per scenario"))
            lf = pd.DataFrame(look_rows)
            lf = lf.loc[:, (lf != 0).any(axis=0)]
            blocks.append(
                Table(
                    f"oc-by-look-{safe}",
                    lf,
                    f"{d.name}: stopping probabilities by look and reason, and P(N = n)",
                    note="At the final look 'futility' is a failed final analysis.",
                )
            )
    for it in [i for i in ctx.items if i.multi]:
        d = it.design
        ds = _cohort_oc(ctx, d, _multi_scenarios(ctx, d))
        frame = pd.DataFrame(oc_rows(d, ds))
        frame = frame[["scenario", "cohort", *shown[1:], "fwer", "p_all_correct"]].rename(
            columns={"fwer": "FWER", "p_all_correct": "P(all correct)"}
        )
        look_rows = [
            {
                "scenario": str(sname),
                "cohort": str(cname),
                "look": k + 1,
                **{
                    f"P(stop: {reason})": float(ds["p_stop_at"].values[si, ci, k, ri])
                    for ri, reason in enumerate(ds["reason"].values)
                },
            }
            for si, sname in enumerate(ds["scenario"].values)
            for ci, cname in enumerate(ds["cohort"].values)
            for k in range(ds.sizes["look"])
        ]
        safe = _slug(d.name)
        blocks.append(Heading(3, f"{d.name} (joint, with borrowing)"))
        blocks.append(
            Figure(f"oc-{safe}", to_svg(cohort_oc_plot(ds)), f"{d.name}: P(efficacy) per scenario "
                   "and cohort (exact)")
        )
        blocks.append(
            Table(
                f"oc-{safe}",
                frame,
                f"{d.name}: exact OC per scenario and cohort",
                note="FWER: P(any efficacy claim in a cohort whose true rate is at or below its "
                "p0). P(all correct): every cohort's decision matches its role (a cohort whose "
                "rate lies between p0 and p1 counts as correct whatever is decided).",
            )
        )
        blocks.append(
            Table(f"oc-by-look-{safe}", pd.DataFrame(look_rows),
                  f"{d.name}: stopping probabilities by look and reason")
        )
    return blocks, None


def _single_oc(ctx: _Ctx, design: Design, scen: tuple[Any, ...]) -> Any:
    """Exact single-cohort OC, computed once per design and scenario tuple."""
    from adaptive2.engines.exact import oc

    key = (design.name, tuple(scen))
    if key not in ctx.oc:
        ctx.oc[key] = oc(design, list(scen))
    return ctx.oc[key]


def _datasets(ctx: _Ctx) -> dict[str, Any]:
    """Every design's exact OC on the report's scenarios (for the summary and the sections)."""
    out = {it.design.name: _single_oc(ctx, it.design, g.scenarios)
           for g in ctx.groups for it in g.items}
    for it in ctx.items:
        if it.multi:
            out[it.design.name] = _cohort_oc(ctx, it.design, _multi_scenarios(ctx, it.design))
    return out


def _multi_scenarios(ctx: _Ctx, design: Any) -> tuple[Any, ...]:
    """The joint scenarios: the scenario file's ``[[two_cohort]]``, else the design's own."""
    if ctx.grid is not None and ctx.grid.multi:
        return tuple(ctx.grid.multi)
    return tuple(design.scenarios)


def _cohort_oc(ctx: _Ctx, design: Any, scen: tuple[Any, ...]) -> Any:
    """Exact multi-cohort OC, computed once per design and scenario tuple."""
    from adaptive2.model.cohorts import cohort_oc

    key = (design.name, scen)
    if key not in ctx.oc:
        ctx.oc[key] = cohort_oc(design, scen)
    return ctx.oc[key]


def _type1(ctx: _Ctx) -> tuple[list[Any], Any]:
    import pandas as pd

    from adaptive2.engines.calibration import worst_case_alpha

    blocks: list[Any] = []
    rows = []
    for g in ctx.groups:
        for it in g.items:
            d = it.design
            if d.p0 is None or hasattr(d.p0, "a"):
                continue  # no fixed null rate: no null space to maximise over
            a, where = worst_case_alpha(d)
            row = {
                "design": d.name,
                "cohort": g.name,
                "worst-case type I error": a,
                "at p": where,
                "null space": f"p <= {_p(d.p0)}",
            }
            if d.futility is not None:
                nb = d.replace(futility=None)
                row["ignoring futility (non-binding)"] = worst_case_alpha(nb)[0]
            rows.append(row)
    if rows:
        blocks.append(
            Para(
                "Single-cohort designs: the type I error is evaluated exactly on 101 rates in "
                "[0, p0] and at p0 itself; the maximum is reported with where it lies. "
                "The last column gives the type I error if the futility rule is not followed "
                "(non-binding futility), which bounds the error of any futility behaviour."
            )
        )
        blocks.append(Table("type1-single", pd.DataFrame(rows), "Worst-case type I error"))
    for it in [i for i in ctx.items if i.multi]:
        blocks += _null_region_blocks(ctx, it.design)
    cal = _calibration_rows(ctx)
    if cal:
        blocks.append(Heading(3, "How the thresholds compare with exact calibration"))
        blocks.append(
            Para(
                f"For each design the final threshold is re-calibrated here, exactly, to a "
                f"worst-case type I error of at most {ctx.alpha:g} with everything else fixed "
                "(adaptive2 calibrate: a search over the distinct boundary tables). 'same "
                "boundaries' says whether the design's own threshold already gives the calibrated "
                "boundary table; the last column quotes the design file's notes (where a file "
                "records how its thresholds were chosen, it says so there or in its comments)."
            )
        )
        blocks.append(Table("calibration", pd.DataFrame(cal), "Exact calibration check"))
    return blocks, None


def _null_region_blocks(ctx: _Ctx, d: Any) -> list[Any]:
    """A multi-cohort design's type I error over the whole null region, and the trade-off."""
    import pandas as pd

    from adaptive2.views.plots import null_region_plot, to_svg

    bs = _borrowing(ctx, d)
    nr = bs.null_region
    safe = _slug(d.name)
    ranges = "; ".join(f"{c} in [{lo:g}, {hi:g}]" for c, (lo, hi) in nr.ranges.items())
    claim = ""
    if nr.alpha is not None:
        ok = all(nr.within().values())
        claim = (f" The design claims alpha = {nr.alpha:g} for every cohort: the claim "
                 + ("holds." if ok else "does NOT hold for "
                    + ", ".join(c for c, v in nr.within().items() if not v) + "."))
    fw = nr.argmax_fwer or {"rates": {}, "null_cohorts": []}
    where = ", ".join(f"{k} = {v:.4f}" for k, v in fw["rates"].items())
    ctx.note(f"{d.name}: null-region type I error", "exact (lattice dynamic programme), grid "
             f"then local refinement to {nr.tol:g}", mcse=0.0, evaluations=nr.evaluations)
    blocks: list[Any] = [
        Heading(3, f"{d.name}: type I error over the whole null region"),
        Para(
            "Under borrowing a null cohort's chance of a false efficacy claim depends on the "
            "other cohorts' true rates. Each cohort's type I error is therefore maximised, "
            "exactly, over its own rate anywhere in [0, p0] and the other cohorts' rates "
            f"anywhere in their plausible range ({ranges}): a grid, then successively finer "
            f"grids around the best points to a resolution of {nr.tol:g} in the rates "
            f"({nr.evaluations} rate vectors evaluated exactly)." + claim
        ),
        Table(f"null-region-{safe}", _null_table(d, nr),
              f"{d.name}: type I error supremum per cohort",
              note="The last column ignores the futility rule (non-binding futility): it bounds "
              "the type I error whatever the futility stops."),
        Para(
            f"Family-wise error rate (P(any null cohort declared efficacious)): "
            f"{nr.fwer_global_null:.4f} at the global null (every cohort at its p0); "
            f"supremum over every configuration with at least one null cohort "
            f"{nr.max_fwer:.4f}, at {where} (null: {', '.join(fw['null_cohorts'])})."
        ),
        Figure(
            f"null-region-{safe}",
            to_svg(null_region_plot(bs, listed=_cohort_oc(ctx, d, _multi_scenarios(ctx, d)))),
            f"{d.name}: each cohort's type I error (top) and its power at p1 (bottom) against "
            "the other cohort's true rate, with borrowing and with independent analysis at "
            "matched alpha; listed scenarios marked; grey: outside the declared range (exact)",
        ),
        Table(
            f"matched-type1-{safe}",
            bs.type1.reset_index(),
            f"{d.name}: type I error with borrowing and with independent analysis",
            note="type1_same_cutoffs: the same cutoffs, no borrowing across cohorts; "
            "type1_inflation = max_type1 − type1_same_cutoffs. type1_independent: the "
            "independent twin re-calibrated (independent_cutoff) to the largest type I error "
            "not above max_type1, i.e. at matched alpha. All exact.",
        ),
        Table(
            f"matched-power-{safe}",
            pd.DataFrame(bs.power),
            f"{d.name}: power with borrowing and independent at matched alpha",
            note="power_gain = power with borrowing − power of the matched independent twin; "
            "negative where borrowing from a cohort that does not work pulls a working "
            "cohort down.",
        ),
    ]
    return blocks


def _null_table(design: Any, nr: Any) -> Any:
    """The null-region table, with the supremum when futility is ignored (non-binding)."""
    from adaptive2.engines.null_region import null_region

    frame = nr.table()
    if design.futility is not None:
        free = null_region(dataclasses.replace(design, futility=None), ranges=nr.ranges,
                           fwer=False)
        frame["futility ignored (non-binding)"] = [
            free.cohorts[c].max_type1 for c in frame["cohort"]
        ]
    return frame


def _calibration_rows(ctx: _Ctx) -> list[dict[str, Any]]:
    from adaptive2.engines.calibration import calibrate, parameters_of

    rows = []
    for g in ctx.groups:
        for it in g.items:
            d = it.design
            if d.p0 is None or hasattr(d.p0, "a"):
                continue
            record = d.notes or "not recorded in the design file"
            params = [p for p in ("final.cutoff", "final.lambda") if p in parameters_of(d)]
            if not params:
                rows.append({"design": d.name, "parameter": "none (fixed boundaries)",
                             "design notes": record})
                continue
            res = calibrate(d, params[0], alpha=ctx.alpha)
            value = res.parameters[params[0]]
            rows.append(
                {
                    "design": d.name,
                    "parameter": params[0],
                    "calibrated value": value,
                    "calibrated worst-case type I error": res.alpha,
                    "same boundaries as the design": res.design.boundaries() == d.boundaries(),
                    "feasible": res.feasible,
                    "design notes": record,
                }
            )
    from adaptive2.engines.cohort_calibration import calibrate_cohorts

    for it in [i for i in ctx.items if i.multi]:
        d = it.design
        target = d.alpha if d.alpha is not None else ctx.alpha
        try:
            cal = calibrate_cohorts(d, alpha=target, scenarios=())
        except DesignError as exc:  # e.g. a final rule that is not a posterior probability
            rows.append({"design": d.name, "parameter": "final cutoff per cohort",
                         "design notes": f"not calibrated: {exc}"})
            continue
        for c, r in cal.table.iterrows():
            own = float(d.rule("final", str(c)).cutoff)
            rows.append(
                {
                    "design": d.name,
                    "parameter": f"{c}: final.cutoff",
                    "calibrated value": r["cutoff"],
                    "calibrated worst-case type I error": r["max_type1"],
                    "same boundaries as the design": bool(r["gap_low"] < own < r["gap_high"]),
                    "feasible": bool(r["feasible"]),
                    "design notes": (d.notes or "not recorded in the design file")
                    + f" (null region, alpha {target:g})",
                }
            )
    return rows


def _conduct_settings(ctx: _Ctx) -> list[tuple[str, Any]]:
    """The scenario file's ``[[conduct]]`` settings, else two documented defaults."""
    from adaptive2.engines.montecarlo import Conduct

    given = tuple(getattr(ctx.grid, "conduct", ()) or ())
    if given:
        return [(name, c) for name, c in given]
    return [
        (
            "base (default): 2 patients/month, response known 2-3 months after enrolment, "
            "enrolment continues during interims",
            Conduct(rates=(2.0,), delay=(2.0, 3.0), on_interim="continue"),
        ),
        (
            "slow (default): ramp-up 1 then 2 patients/month from month 6, 10% non-evaluable, "
            "enrolment paused until each interim decision (1 month)",
            Conduct(
                rates=(1.0, 2.0),
                starts=(0.0, 6.0),
                delay=(2.0, 3.0),
                p_nonevaluable=0.10,
                on_interim="pause",
                decision_lag=1.0,
            ),
        ),
    ]


def _for_cohort(ctx: _Ctx, name: str, conduct: Any, cohort: str) -> Any:
    """A cohort's conduct: the scenario file's per-cohort override when it has one."""
    if ctx.grid is not None and getattr(ctx.grid, "conduct", ()):
        return ctx.grid.conduct_for(name, cohort)
    return conduct


def _settings_rows(ctx: _Ctx, settings: list[tuple[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for i, (name, c) in enumerate(settings):
        rows.append({"setting": i + 1, "name": name, "cohort": "all", "assumptions": c.describe()})
        overrides = dict(getattr(ctx.grid, "conduct_cohorts", ()) or ()).get(name, ())
        for cohort, oc_ in overrides:
            rows.append(
                {"setting": i + 1, "name": name, "cohort": cohort, "assumptions": oc_.describe()}
            )
    return rows


def _mc(ds: Any, v: str, idx: tuple[int, ...]) -> str:
    est = float(ds[v].values[idx])
    err = float(ds[f"{v}_mcse"].values[idx])
    if err == 0 and v.startswith("p_"):
        # 0 or every trial: the binomial MCSE estimate is 0; say so instead of "± 0".
        return f"{est:.3f} ({'every trial' if est == 1 else 'no trial'})"
    return _with_mcse(est, err, 3)


def _conduct(ctx: _Ctx) -> tuple[list[Any], Any]:
    import pandas as pd

    from adaptive2.engines.montecarlo import simulate

    multis = [i.design for i in ctx.items if i.multi]
    if not ctx.n_sims or not (ctx.groups or multis):
        return [], None
    settings = _conduct_settings(ctx)
    blocks: list[Any] = [
        Para(
            f"Monte Carlo, {ctx.n_sims:,} simulated trials per design, scenario and conduct "
            f"setting (seed {ctx.seed}); the designs of a cohort see the same simulated patients "
            "(common random numbers). Every figure is shown ± its Monte Carlo standard error. "
            "Overrun: patients enrolled while an interim or the final analysis is pending are "
            "followed up and counted in 'enrolled'. Decision probabilities do not depend on the "
            "conduct (interims are triggered on evaluable patients with known outcome); sample "
            "size enrolled and calendar time do."
        ),
        Table(
            "conduct-settings",
            pd.DataFrame(_settings_rows(ctx, settings)),
            "Trial-conduct settings",
        ),
    ]
    for g in ctx.groups:
        designs = [i.design for i in g.items]
        rows = []
        for ci, (name, conduct) in enumerate(settings):
            ds = simulate(designs, list(g.scenarios),
                          conduct=_for_cohort(ctx, name, conduct, g.name), n_sims=ctx.n_sims,
                          seed=ctx.seed, progress=False)
            _note_mc(ctx, f"Trial conduct, cohort {g.name}, setting {ci + 1}", ds)
            for di, d in enumerate(designs):
                exact = _single_oc(ctx, d, g.scenarios)["p_efficacy"].values
                _cross_check(ctx, ds["p_efficacy"].values[di], ds["p_efficacy_mcse"].values[di],
                             exact)
            for di, dname in enumerate(ds["design"].values):
                for si, sname in enumerate(ds["scenario"].values):
                    idx = (di, si)
                    rows.append(
                        {
                            "setting": ci + 1,
                            "design": str(dname),
                            "scenario": str(sname),
                            **_conduct_cells(ds, idx),
                        }
                    )
        blocks.append(
            Table(
                f"conduct-{_slug(g.name)}",
                pd.DataFrame(rows),
                f"Cohort {g.name}: simulated trial conduct (estimate ± MCSE)",
                note=_CONDUCT_NOTE,
            )
        )
    for names, group in _multi_groups(multis):
        rows, trial_rows = [], []
        for ci, (name, conduct) in enumerate(settings):
            # one scenario tuple for the simulation and its exact cross-check
            scen = _multi_scenarios(ctx, group[0])
            per_cohort = {c: _for_cohort(ctx, name, conduct, c) for c in _names_of(group)}
            ds = simulate(group, list(scen), conduct=per_cohort,
                          n_sims=ctx.n_sims, seed=ctx.seed, progress=False)
            _note_mc(ctx, f"Trial conduct, {', '.join(d.name for d in group)}, setting {ci + 1}",
                     ds)
            for di, d in enumerate(group):
                exact = _cohort_oc(ctx, d, scen)
                for v in ("p_efficacy", "fwer"):
                    _cross_check(ctx, ds[v].values[di], ds[f"{v}_mcse"].values[di],
                                 exact[v].values)
            for di, dname in enumerate(ds["design"].values):
                for si, sname in enumerate(ds["scenario"].values):
                    for ki, cname in enumerate(ds["cohort"].values):
                        rows.append(
                            {
                                "setting": ci + 1,
                                "design": str(dname),
                                "scenario": str(sname),
                                "cohort": str(cname),
                                **_conduct_cells(ds, (di, si, ki)),
                            }
                        )
                    trial_rows.append(
                        {
                            "setting": ci + 1,
                            "design": str(dname),
                            "scenario": str(sname),
                            "FWER": _mc(ds, "fwer", (di, si)),
                            "P(all correct)": _mc(ds, "p_all_correct", (di, si)),
                            "enrolled (all cohorts)": _mc(ds, "expected_enrolled_total", (di, si)),
                            "trial duration (months)": _mc(ds, "mean_trial_duration", (di, si)),
                        }
                    )
        slug = _slug("-".join(names))
        blocks.append(
            Table(
                f"conduct-multi-{slug}",
                pd.DataFrame(rows),
                f"Multi-cohort designs ({', '.join(names)}): simulated conduct per cohort",
                note=_CONDUCT_NOTE,
            )
        )
        blocks.append(
            Table(
                f"conduct-multi-trial-{slug}",
                pd.DataFrame(trial_rows),
                "Multi-cohort designs: whole-trial figures (simulated)",
                note="The trial ends when its last cohort's decision is made.",
            )
        )
    return blocks, None


_CONDUCT_NOTE = (
    "Bias and coverage refer to the posterior mean and the 95% equal-tailed credible interval of "
    "the response rate at the cohort's final (or stopping) analysis."
)


def _conduct_cells(ds: Any, idx: tuple[int, ...]) -> dict[str, str]:
    q10 = float(ds["duration_q10"].values[idx])
    q90 = float(ds["duration_q90"].values[idx])
    return {
        "p_efficacy": _mc(ds, "p_efficacy", idx),
        "p_early_stop": _mc(ds, "p_early_stop", idx),
        "evaluable N": _mc(ds, "expected_n", idx),
        "enrolled N": _mc(ds, "expected_enrolled", idx),
        "duration (months)": _mc(ds, "mean_duration", idx),
        "duration q10-q90": f"{q10:.1f}-{q90:.1f}",
        "bias of posterior mean": _mc(ds, "bias", idx),
        "coverage of 95% interval": _mc(ds, "coverage", idx),
    }


def _cross_check(ctx: _Ctx, mc: Any, mcse: Any, exact: Any) -> None:
    """Record |Monte Carlo − exact| / MCSE for cells the exact engine also gives."""
    mc, mcse, exact = (np.asarray(x, float).ravel() for x in (mc, mcse, exact))
    for m, e, x in zip(mc, mcse, exact, strict=True):
        if e > 0:
            ctx.z_scores.append(abs(m - x) / e)
        else:  # no variation seen: the exact value must make that likely (0 or 1 within 1e-3)
            ctx.z_scores.append(0.0 if abs(m - x) < 1e-3 else math.inf)


def _note_mc(ctx: _Ctx, figure: str, ds: Any) -> None:
    ctx.note(
        figure,
        "Monte Carlo",
        n_sims=int(ds.attrs["n_sims"]),
        seed=ctx.seed,
        chunk_size=int(ds.attrs["chunk_size"]),
        max_mcse_p_efficacy=float(ds["p_efficacy_mcse"].max()),
        stream_scheme=str(ds.attrs.get("stream_scheme", "")),
    )


def _names_of(group: list[Any]) -> tuple[str, ...]:
    """Cohort names of a group of multi-cohort designs (they share them)."""
    return tuple(group[0].names)


def _multi_groups(designs: list[Any]) -> list[tuple[tuple[str, ...], list[Any]]]:
    """Multi-cohort designs with the same cohorts are simulated together (common numbers)."""
    out: dict[tuple[str, ...], list[Any]] = {}
    for d in designs:
        out.setdefault(tuple(d.names), []).append(d)
    return [(tuple(d.name for d in g), g) for g in out.values()]


def _sensitivity(ctx: _Ctx) -> tuple[list[Any], Any]:
    import pandas as pd

    from adaptive2.engines.calibration import weight_curve, worst_case_alpha
    from adaptive2.engines.exact import oc
    from adaptive2.model.priors import Beta, PriorSpec
    from adaptive2.views.plots import to_svg, weight_curve_plot

    blocks: list[Any] = []
    for g in ctx.groups:
        for it in g.items:
            d = it.design
            spec = d.prior_spec
            if d.p0 is None or hasattr(d.p0, "a") or g.p1 is None or not _uses_prior(d):
                continue
            safe = _slug(d.name)
            if spec.historical is not None:
                curve = weight_curve(d)
                ctx.note(f"Weight curve, {d.name}", "exact (21 weights)", mcse=0.0)
                blocks.append(Heading(3, f"{d.name}: weight of the phase 1 data"))
                blocks.append(
                    Figure(
                        f"weight-{safe}",
                        to_svg(weight_curve_plot(curve, alpha=ctx.alpha)),
                        f"{d.name}: worst-case type I error and power as the power-prior weight "
                        f"a0 moves from 0 to 1 (design value a0 = {spec.power:g})",
                    )
                )
                blocks.append(
                    Table(
                        f"weight-{safe}",
                        curve,
                        f"{d.name}: α and power against the prior weight",
                        note="ess_elir blank: undefined (two components unbounded at one end). "
                        + _ESS_NOTE,
                    )
                )
            alt = {
                "as designed": d.prior_spec,
                "vague: Beta(0.5, 0.5)": PriorSpec(beta=Beta(0.5, 0.5), source="sensitivity"),
                "sceptical: Beta centred at p0 with 10 patients' weight": PriorSpec(
                    beta=Beta(10 * float(d.p0), 10 * (1 - float(d.p0))), source="sensitivity"
                ),
            }
            if spec.historical is not None:
                alt["full phase 1 weight (a0 = 1)"] = dataclasses.replace(spec, power=1.0)
                if spec.robust is not None:
                    alt["no robust component"] = dataclasses.replace(spec, robust=None)
                    for w in (0.2, 0.8):
                        if abs(spec.robust[0] - w) > 1e-9:
                            alt[f"robust weight {w:g}"] = dataclasses.replace(
                                spec, robust=(w, *spec.robust[1:])
                            )
            rows = []
            for label, s in alt.items():
                v = d.replace(prior=s)
                a, _ = worst_case_alpha(v)
                res = oc(v, [float(g.p1)])
                b = v.boundaries()
                rows.append(
                    {
                        "analysis prior": label,
                        "worst-case type I error": a,
                        f"power at p1 = {g.p1:g}": float(res["p_efficacy"].values[0]),
                        "futility boundaries": str(list(b.futility_max_r)),
                        "efficacy boundaries": str(list(b.efficacy_min_r)),
                    }
                )
            blocks.append(
                Table(
                    f"sensitivity-{safe}",
                    pd.DataFrame(rows),
                    f"{d.name}: the same rules under other analysis priors (exact)",
                )
            )
    if blocks:
        blocks.insert(
            0,
            Para(
                "How the type I error and power move when the analysis prior changes, the rules "
                "(cutoffs, thresholds, looks) held fixed. For the multi-cohort designs the "
                "no-borrowing comparison is in the type I error section."
            ),
        )
    return blocks, None


def _simon(ctx: _Ctx) -> tuple[list[Any], Any]:
    import pandas as pd

    from adaptive2.engines.simon import simon

    rows = []
    for g in ctx.groups:
        if g.p1 is None or math.isnan(g.p0):
            continue
        res = simon(g.p0, g.p1, alpha=ctx.alpha, beta=1 - ctx.power)
        for kind in ("optimal", "minimax"):
            s = getattr(res, kind)
            if s is None:
                rows.append({"cohort": g.name, "design": kind, "r1/n1": "no feasible design"})
                continue
            rows.append(
                {
                    "cohort": g.name,
                    "design": kind,
                    "r1/n1": f"{s.r1}/{s.n1}",
                    "r/n": f"{s.r}/{s.n}",
                    "EN(p0)": s.expected_n_p0,
                    "PET(p0)": s.pet_p0,
                    "type I error": s.alpha,
                    "power": s.power,
                }
            )
    if not rows:
        return [], None
    text = (
        f"Simon (1989) two-stage designs for each cohort's p0 and p1 with type I error <= "
        f"{ctx.alpha:g} and power >= {ctx.power:g} (exact enumeration). Stop after stage 1 if at "
        "most r1 of n1 patients respond; declare efficacy if more than r of n respond."
    )
    return [Para(text), Table("simon", pd.DataFrame(rows), "Simon two-stage comparators")], None


def _examples(ctx: _Ctx) -> tuple[list[Any], Any]:
    import pandas as pd

    from adaptive2.engines.analysis import analyze

    rows = []
    for g in ctx.groups:
        for it in g.items:
            d = it.design
            for label, p in (("at p0", g.p0), ("at p1", g.p1)):
                if p is None or math.isnan(p):
                    continue
                for n in d.looks:
                    res = analyze(d, (round(p * n), n)).cohorts[0]
                    rows.append(_example_row(d.name, label, res))
                    if res.decision != "continue":
                        break
    for it in [i for i in ctx.items if i.multi]:
        d = it.design
        scen = _example_scenario(ctx, d)
        if scen is None:
            continue
        for k in range(d.n_looks):
            data = {c.name: (round(scen.rate(c.name) * c.looks[k]), c.looks[k]) for c in d.cohorts}
            res = analyze(d, data)
            for c in res.cohorts:
                rows.append(_example_row(d.name, f"{scen.name} [{c.name}]", c))
            if any(c.decision != "continue" for c in res.cohorts):
                break
    if not rows:
        return [], None
    blocks: list[Any] = [
        Para(
            "Hypothetical trials analysed look by look with adaptive2 analyze (the analysis a "
            "data monitoring committee would see): at each look the observed responses equal "
            "the planning rate times n (rounded); a trial ends at its first stop. For the "
            "multi-cohort designs, one joint scenario is followed with the borrowing model."
        ),
        Table(
            "examples",
            pd.DataFrame(rows),
            "Worked example trials",
            note="PP: predictive probability of final success. Conflict p: prior-predictive "
            "(Box) p-value of the observed data.",
        ),
    ]
    return blocks, None


def _example_row(design: str, trial: str, res: Any) -> dict[str, Any]:
    lo, hi = res.interval
    return {
        "design": design,
        "trial": trial,
        "look": res.look,
        "data": f"{res.r}/{res.n}",
        "posterior mean": res.mean,
        "95% interval": f"{lo:.3f} to {hi:.3f}",
        "P(p > p0)": res.p_above_p0,
        "PP": res.predictive_probability,
        "conflict p": res.conflict.p_box if res.conflict is not None else None,
        "decision": res.decision,
        "next": res.distance,
    }


def _example_scenario(ctx: _Ctx, design: Any) -> Any:
    scen = list(ctx.grid.multi) if ctx.grid is not None and ctx.grid.multi else []
    scen = scen or list(design.scenarios)
    for s in scen:  # prefer a mixed scenario: one cohort works, another does not
        rates = [s.rate(c.name) for c in design.cohorts]
        works = [r >= (c.p1 if c.p1 is not None else 1.0) for r, c in zip(rates, design.cohorts,
                                                                          strict=True)]
        if any(works) and not all(works):
            return s
    return scen[0] if scen else None


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


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version(), "adaptive2": _version()}
    for pkg in ("numpy", "scipy", "pandas", "xarray", "matplotlib"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:  # pragma: no cover - declared dependencies
            out[pkg] = "not installed"
    out["platform"] = f"{platform.system()} {platform.machine()}"
    return out


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


def _change_log(paths: list[Path]) -> str:
    if not paths or shutil.which("git") is None:
        return ""
    try:
        res = subprocess.run(
            ["git", "log", "--date=short", "--format=%ad %h %s", "-n", "20", "--",
             *[str(p.resolve()) for p in paths]],
            capture_output=True,
            text=True,
            timeout=20,
            cwd=paths[0].resolve().parent,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return res.stdout.strip() if res.returncode == 0 else ""


def _slug(s: str) -> str:
    import re

    return re.sub(r"[^A-Za-z0-9_.-]+", "-", s).strip("-") or "x"


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
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
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
        _swap(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return ReportResult(out, files, summary, how, run_time, timings)


def _check_out(out: str | Path) -> Path:
    """The report folder, refused where replacing it could destroy other files.

    ``out`` is replaced as a whole, so it must be new, empty, or an earlier
    report (it holds ``report.json``), and must not contain the working folder.
    """
    path = Path(out).resolve()
    where = f"`out` of report ({out})"
    if not path.name or path == Path.cwd() or Path.cwd().is_relative_to(path):
        raise DesignError(f"{where} must be a folder of its own, not the working folder or "
                          "one of its parents; e.g. reports/ilkn421h.")
    if path.exists() and not path.is_dir():
        raise DesignError(f"{where} exists and is not a folder.")
    if path.is_dir() and any(path.iterdir()) and not (path / "report.json").is_file():
        raise DesignError(f"{where} is a folder that holds other files (no report.json of an "
                          "earlier report); it would be replaced as a whole. Choose a new or "
                          "empty folder.")
    return path


def _write_files(doc: Document, folder: Path) -> list[Path]:
    (folder / "tables").mkdir()
    (folder / "figures").mkdir()
    files = []
    for t in doc.tables():
        csv = Path("tables") / f"{t.name}.csv"
        (folder / csv).write_text(t.frame.to_csv(index=False), encoding="utf-8")
        js = Path("tables") / f"{t.name}.json"
        records = [
            {k: _json_value(v) for k, v in r.items()} for r in t.frame.to_dict("records")
        ]
        (folder / js).write_text(
            json.dumps({"caption": t.caption, "rows": records}, indent=1) + "\n", encoding="utf-8"
        )
        files += [csv, js]
    for f in doc.figures():
        p = Path("figures") / f"{f.name}.svg"
        (folder / p).write_text(f.svg, encoding="utf-8")
        files.append(p)
    (folder / "index.html").write_text(to_html(doc), encoding="utf-8")
    (folder / "report.md").write_text(to_markdown(doc), encoding="utf-8")
    return [*files, Path("index.html"), Path("report.md")]


def _json_value(v: Any) -> Any:
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if v is None or isinstance(v, bool | int | float | str):
        return v
    try:  # pandas NA
        import pandas as pd

        if pd.isna(v):
            return None
    except (TypeError, ValueError):
        pass
    return str(v)


def _swap(tmp: Path, out: Path) -> None:
    """Replace ``out`` by ``tmp`` with two renames (the old report survives a failure)."""
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        os.replace(out, old)
    try:
        os.replace(tmp, out)
    except BaseException:
        if old is not None:
            os.replace(old, out)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def chromium_path() -> str | None:
    """Path of a headless-capable Chromium, if one is installed."""
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        p = shutil.which(name)
        if p:
            return p
    return None


CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def _pdf(html_path: Path, pdf_path: Path) -> str:
    exe = chromium_path()
    if exe is not None:
        with tempfile.TemporaryDirectory() as profile:
            try:
                subprocess.run(
                    [exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                     "--no-pdf-header-footer", f"--print-to-pdf={pdf_path}",
                     html_path.resolve().as_uri()],
                    capture_output=True,
                    timeout=120,
                    check=False,
                )
            except (OSError, subprocess.SubprocessError) as exc:
                return f"not made: chromium failed ({exc})"
        if pdf_path.exists() and pdf_path.stat().st_size > 0:
            return f"chromium ({exe})"
        return "not made: chromium produced no PDF"
    try:
        import weasyprint  # type: ignore[import-not-found]
    except ImportError:
        return "not made: no converter (install Debian's chromium, or pip install weasyprint)"
    weasyprint.HTML(filename=str(html_path)).write_pdf(str(pdf_path))
    return "weasyprint"
