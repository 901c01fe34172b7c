"""What every section of the appendix shares.

The designs and the files they came from, their groups by planning values, the
run's context (scenarios, seeds, targets) and the exact results each section
reuses, computed once.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from adaptive2._base.formatting import cell
from adaptive2._base.validation import fail
from adaptive2._base.version import __version__
from adaptive2.engines.borrowing import borrowing_summary
from adaptive2.engines.calibration import worst_case_alpha
from adaptive2.engines.cohort_exact import cohort_oc
from adaptive2.engines.exact import oc
from adaptive2.engines.simon import simon
from adaptive2.engines.toxicity_oc import oc_toxicity
from adaptive2.io.design_files import dumps_toml, load_any
from adaptive2.io.scenario_files import is_scenario_file
from adaptive2.model.cohorts import CohortDesign
from adaptive2.model.designs import Design
from adaptive2.model.rules import Boundary
from adaptive2.model.scenarios import Scenario, _role
from adaptive2.views.document import (
    Document,
    Figure,
    Table,
)


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

    seq = [designs] if isinstance(designs, str | Path | Design | CohortDesign) else list(designs)
    if not seq:
        raise fail("designs", "report", "at least one design or design file", seq)
    out = []
    for d in seq:
        if isinstance(d, str | Path):
            p = Path(d)
            if is_scenario_file(p):
                raise fail("designs", "report", "design files (a scenario file such as "
                           "designs/scenarios.toml goes in `scenarios`)", str(p))
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
    rules = [design.futility, design.efficacy, design.final]
    return any(r is not None and not isinstance(r, Boundary) for r in rules)


def _is_simon(design: Any) -> bool:
    """A single-cohort design of two looks whose every rule is a fixed response boundary."""
    return (
        isinstance(design, Design)
        and len(design.looks) == 2
        and isinstance(design.futility, Boundary)
        and isinstance(design.final, Boundary)
        and design.efficacy is None
    )


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
    trial: dict[str, str] = field(default_factory=dict)  # [trial] of the scenario file
    scenario_file: Path | None = None
    timings: dict[str, float] = field(default_factory=dict)
    computation: list[dict[str, Any]] = field(default_factory=list)
    z_scores: list[float] = field(default_factory=list)
    oc: dict[tuple[str, tuple[Any, ...]], Any] = field(default_factory=dict)  # exact OC cache
    borrowing: dict[str, Any] = field(default_factory=dict)  # multi-cohort: BorrowingSummary
    worst: dict[str, tuple[float, float]] = field(default_factory=dict)  # single: worst α
    simon: dict[str, _Simon | None] = field(default_factory=dict)  # group -> its comparator
    summary: Any = None  # the comparison table (compare()), set by the summary section

    def note(self, figure: str, method: str, **kw: Any) -> None:
        self.computation.append({"figure": figure, "method": method, **kw})

    def alpha_of(self, design: Any) -> float:
        """The design's type I error target (file key ``alpha``), else the report's."""
        a = getattr(design, "alpha", None)
        return float(a) if a is not None else self.alpha

    def power_of(self, design: Any) -> float:
        """The design's power target (file key ``power``), else the report's."""
        b = getattr(design, "target_power", None)
        return float(b) if b is not None else self.power

    def worst_alpha(self, design: Design, binding: bool = True) -> tuple[float, float]:
        """Exact worst-case type I error over p <= p0 and where it sits, computed once.

        ``binding=False``: with the futility rule ignored (non-binding futility).
        """
        key = design.name if binding else f"{design.name}\0non-binding"
        if key not in self.worst:
            d = design if binding or design.futility is None else design.replace(futility=None)
            self.worst[key] = worst_case_alpha(d)
        return self.worst[key]


# ---------------------------------------------------------------------------
# Words for the reader
# ---------------------------------------------------------------------------
ENDPOINT = (
    "Confirmed objective response (complete or partial response confirmed by a repeat "
    "assessment, RECIST 1.1) among evaluable patients; the response rate p is the confirmed ORR"
)

READING = {"null": "type I error", "alternative": "power", "other": "neither (p0 < p < p1)"}
"""How P(declare efficacy) reads under a scenario of each role."""

_POPULATIONS = (
    (("post-io", "post io", "postio", "prior immunotherapy", "after immunotherapy"),
     "advanced NSCLC after prior anti-PD-(L)1 immunotherapy (post-IO)"),
    (("frontline", "front-line", "first-line", "first line", "1l"),
     "frontline (first-line) advanced NSCLC"),
)


def _population_of(*texts: str) -> str | None:
    """The population named in a design or cohort name or title, if exactly one is."""
    t = " ".join(texts).lower().replace("_", "-")
    found = [label for keys, label in _POPULATIONS if any(k in t for k in keys)]
    return found[0] if len(found) == 1 else None


def _population(design: Any, cohort: str | None = None) -> str:
    """Population of a single-cohort design, or of one cohort of a multi-cohort design."""
    if cohort is not None:
        return _population_of(cohort) or f"cohort {cohort} (population as in the design title)"
    found = _population_of(design.name, design.title or "")
    if found is None:
        found = _population_of(design.title or "")
    if found is not None:
        return found
    return f"as in the design title: {design.title}" if design.title else "not stated"


def _ess_text(value: Any, reason: Any = None, method: str = "ELIR") -> str:
    """An effective sample size in words; a negative ELIR is not an ESS."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return f"not defined ({reason})" if reason else "not defined"
    v = float(value)
    if v < 0:
        return f"not defined ({method} < 0: the prior's components conflict)"
    return f"{v:.1f}"


def _rate(x: Any) -> str:
    """A response rate as written in a sentence (0.4, 0.312)."""
    return cell(float(x), "num")


def _fmt_prob(x: Any, *targets: float) -> str:
    """A probability to 3 decimals, to 4 within 0.005 of any of ``targets``."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    near = any(abs(float(x) - t) < 0.005 for t in targets)
    return cell(float(x), "prob4" if near else "prob")


def _and(items: list[str]) -> str:
    """``a, b and c``."""
    items = [str(i) for i in items]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


@dataclass(frozen=True)
class Col:
    """One shown column of a report table.

    ``key`` is the column of the frame (machine name, kept in the CSV/JSON files),
    ``header`` the words shown, ``kind`` the :func:`~adaptive2._base.formatting.cell`
    kind; ``targets`` (a tuple of numbers, or a list with one such tuple per row)
    switch a probability to 4 decimals within 0.005 of a target.
    """

    key: str
    header: str
    kind: str = "auto"
    targets: Any = ()
    values: Any = None  # shown instead of frame[key] (e.g. text for a number)


def _tab(name: str, frame: Any, caption: str, cols: list[Col], note: str = "") -> Table:
    """A Table whose HTML/Markdown show ``cols`` under their headers in words.

    The frame (full precision, machine column names) is what the CSV/JSON files
    hold; the display frame holds the shown columns, each written by the
    renderer with its kind, except probabilities compared with a target, which
    are written here (4 decimals within 0.005 of the target, else 3).
    """
    import pandas as pd

    shown = {}
    for c in cols:
        if c.values is not None:
            values = list(c.values)
        else:
            values = list(frame[c.key]) if c.key in frame else [None] * len(frame)
        if isinstance(c.targets, list):  # one tuple of targets per row
            per_row = [tuple(t or ()) for t in c.targets]
        else:
            per_row = [tuple(c.targets)] * len(values)
        if c.kind == "prob" and any(per_row):
            values = [
                _fmt_prob(v, *t) if _is_number(v) else cell(v, "prob")
                for v, t in zip(values, per_row, strict=True)
            ]
        shown[c.header] = values
    display = pd.DataFrame(shown, columns=[c.header for c in cols])
    formats = {c.header: c.kind for c in cols if c.kind != "auto"}
    return Table(name, frame, caption, display=display, note=note, formats=formats)


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float | np.floating | np.integer) and not isinstance(v, bool) \
        and not (isinstance(v, float) and math.isnan(v))


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

    return __version__


def _python_command(items: list[_Item], scenarios: Any, **options: Any) -> str:
    """The ``adaptive2 report`` command that reproduces a report built from Python.

    ``options`` are the report's arguments (``n_sims``, ``seed``, ``alpha``,
    ``power``, ``title``, ``out``); those at their defaults are left out.
    """
    import shlex

    if not all(i.path is not None for i in items):
        return "adaptive2.report(designs, out, ...) from Python (designs not read from files)"
    parts = ["adaptive2", "report", *[str(i.path) for i in items]]
    if isinstance(scenarios, str | Path):
        parts += ["--scenarios", str(scenarios)]
    defaults = {"n_sims": 20_000, "seed": 20261126, "alpha": 0.10, "power": 0.80}
    for key in ("n_sims", "seed", "alpha", "power"):
        value = options.get(key)
        if value is not None and value != defaults[key]:
            text = f"{value:g}" if isinstance(value, float) else str(value)
            parts += [f"--{key.replace('_', '-')}", text]
    if options.get("title"):
        parts += ["--title", str(options["title"])]
    if options.get("out"):
        parts += ["--out", str(options["out"])]
    return " ".join(shlex.quote(p) for p in parts)


def _borrowing(ctx: _Ctx, design: Any) -> Any:
    """Null region and matched-α comparison of a multi-cohort design, computed once."""
    if design.name not in ctx.borrowing:
        # of the efficacy rules alone for a design with toxicity monitors (the safety
        # section says so): the null-region search does not stop cohorts for toxicity
        rules = dataclasses.replace(design, toxicity=None) if design.toxicity else design
        ctx.borrowing[design.name] = borrowing_summary(rules, _multi_scenarios(ctx, design))
    return ctx.borrowing[design.name]


def _p(x: Any) -> str:
    if x is None:
        return "not set"
    if hasattr(x, "a"):
        return f"{x} (random reference rate, Thall & Simon)"
    return f"{float(x):g}"


def _single_oc(ctx: _Ctx, design: Design, scen: tuple[Any, ...]) -> Any:
    """Exact single-cohort OC, computed once per design and scenario tuple."""
    key = (design.name, tuple(scen))
    if key not in ctx.oc:
        ctx.oc[key] = oc(design, list(scen))
    return ctx.oc[key]


def _monitored(design: Any) -> bool:
    """A single-cohort design co-monitored for toxicity (``Design.toxicity``)."""
    return isinstance(design, Design) and design.toxicity is not None


def _efficacy_oc(ctx: _Ctx, design: Design, scen: tuple[Any, ...]) -> Any:
    """Exact OC with one row per response scenario, computed once.

    A co-monitored design is evaluated at its monitor's acceptable toxicity rate, with the
    monitor in force and the design's odds ratio (:func:`_tox_view`); every other design is
    as :func:`_single_oc`. The efficacy figures of the report (summary, specification box,
    OC curves and tables, Simon comparison, sensitivity, trial conduct) all come from here.
    """
    if not _monitored(design):
        return _single_oc(ctx, design, scen)
    key = (f"{design.name}\0efficacy view", tuple(scen))
    if key not in ctx.oc:
        assert design.toxicity is not None  # _monitored
        ctx.oc[key] = oc_toxicity(design, list(scen), tox=design.toxicity.acceptable)
    return ctx.oc[key]


def _tox_view(design: Design) -> str:
    """Where the efficacy figures of a co-monitored design sit, in words (empty otherwise)."""
    if not _monitored(design):
        return ""
    assert design.toxicity is not None
    text = f"at the acceptable toxicity rate {design.toxicity.acceptable:g}"
    if design.toxicity_odds_ratio != 1.0:
        text += f" (odds ratio {design.toxicity_odds_ratio:g} between response and toxicity)"
    return text + ", with toxicity monitoring"


def _datasets(ctx: _Ctx) -> dict[str, Any]:
    """Every design's exact OC on the report's scenarios (for the summary and the sections).

    One row per response scenario: a co-monitored design at its acceptable toxicity rate.
    """
    out = {it.design.name: _efficacy_oc(ctx, it.design, g.scenarios)
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
    """Exact multi-cohort OC, computed once per design and scenario tuple.

    A design with toxicity monitors is evaluated with every monitored cohort at its
    monitor's acceptable toxicity rate (the scenario names unchanged).
    """
    key = (design.name, scen)
    if key not in ctx.oc:
        tox = "acceptable" if design.toxicity is not None else None
        ctx.oc[key] = cohort_oc(design, scen, tox=tox)
    return ctx.oc[key]


def _names_of(group: list[Any]) -> tuple[str, ...]:
    """Cohort names of a group of multi-cohort designs (they share them)."""
    return tuple(group[0].names)


def _multi_groups(designs: list[Any]) -> list[tuple[tuple[str, ...], list[Any]]]:
    """Multi-cohort designs with the same cohorts are simulated together (common numbers)."""
    out: dict[tuple[str, ...], list[Any]] = {}
    for d in designs:
        out.setdefault(tuple(d.names), []).append(d)
    return [(tuple(d.name for d in g), g) for g in out.values()]


def _slug(s: str) -> str:
    import re

    return re.sub(r"[^A-Za-z0-9_.-]+", "-", s).strip("-") or "x"


# ---------------------------------------------------------------------------
# The Simon comparator: one per population
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class _Simon:
    """The Simon two-stage comparator of one population (cohort group).

    ``design`` is the Simon design file among the report's designs when there is
    one (then it *is* the comparator), else None (the optimal design found here
    by exact enumeration at the targets). ``optimal`` is the search's optimal
    design at the targets (None if infeasible), to check a design file against.
    """

    label: str
    source: str
    r1: int
    n1: int
    r: int
    n: int
    alpha: float  # exact type I error (at p0: the worst case over p <= p0)
    power: float  # exact, at p1
    expected_n_p0: float
    pet_p0: float
    alpha_target: float
    power_target: float
    design: Any = None
    optimal: Any = None

    @property
    def meets(self) -> bool:
        return self.alpha <= self.alpha_target + 1e-12 and self.power >= self.power_target - 1e-12

    @property
    def is_optimal(self) -> bool:
        o = self.optimal
        return o is not None and (o.r1, o.n1, o.r, o.n) == (self.r1, self.n1, self.r, self.n)


def _group_targets(ctx: _Ctx, group: _Group) -> tuple[float, float]:
    """The α and power targets of a population's Bayesian designs (the report's if they differ)."""
    targets = {(ctx.alpha_of(i.design), ctx.power_of(i.design))
               for i in group.items if not _is_simon(i.design)}
    return targets.pop() if len(targets) == 1 else (ctx.alpha, ctx.power)


def _comparator(ctx: _Ctx, group: _Group) -> _Simon | None:
    """The population's Simon comparator, computed once (None without fixed p0 and p1)."""
    if group.name in ctx.simon:
        return ctx.simon[group.name]
    if group.p1 is None or math.isnan(group.p0):
        return None
    a_t, b_t = _group_targets(ctx, group)
    res = simon(group.p0, group.p1, alpha=a_t, beta=1 - b_t)
    optimal = res.optimal
    files = [i for i in group.items if _is_simon(i.design)]
    files.sort(key=lambda i: "simon" not in i.design.name.lower())  # a file named Simon first
    out: _Simon | None
    if files:
        it = files[0]
        d = it.design
        b = d.boundaries()
        ds = _efficacy_oc(ctx, d, (float(group.p0), float(group.p1)))
        r_final = b.efficacy_min_r[-1]
        out = _Simon(
            label=d.name,
            source=f"design file {it.path}" if it.path else f"design {d.name}",
            r1=int(b.futility_max_r[0]),
            n1=int(d.looks[0]),
            r=int(r_final) - 1 if r_final is not None else int(d.looks[-1]),
            n=int(d.looks[-1]),
            alpha=ctx.worst_alpha(d)[0],
            power=float(ds["p_efficacy"].values[1]),
            expected_n_p0=float(ds["expected_n"].values[0]),
            pet_p0=float(ds["p_early_stop"].values[0]),
            alpha_target=a_t,
            power_target=b_t,
            design=d,
            optimal=optimal,
        )
    elif optimal is not None:
        out = _Simon(
            label=f"Simon optimal {optimal.r1}/{optimal.n1}, {optimal.r}/{optimal.n}",
            source="computed here: Simon (1989) optimal design by exact enumeration",
            r1=optimal.r1, n1=optimal.n1, r=optimal.r, n=optimal.n,
            alpha=float(optimal.alpha), power=float(optimal.power),
            expected_n_p0=float(optimal.expected_n_p0), pet_p0=float(optimal.pet_p0),
            alpha_target=a_t, power_target=b_t, optimal=optimal,
        )
    else:
        out = None
    ctx.simon[group.name] = out
    return out


def _simon_text(s: _Simon) -> str:
    """``5/12, 18/38``: stop after n1 if r <= r1; efficacy if r > r of n."""
    return f"{s.r1}/{s.n1}, {s.r}/{s.n}"
