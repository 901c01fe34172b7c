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

from adaptive2._base.validation import fail
from adaptive2._base.version import __version__
from adaptive2.engines.borrowing import borrowing_summary
from adaptive2.engines.cohort_exact import cohort_oc
from adaptive2.engines.exact import oc
from adaptive2.io.design_files import dumps_toml, load_any
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


def _python_command(items: list[_Item], scenarios: Any) -> str:
    import shlex

    if all(i.path is not None for i in items):
        parts = ["adaptive2", "report", *[str(i.path) for i in items]]
        if isinstance(scenarios, str | Path):
            parts += ["--scenarios", str(scenarios)]
        return " ".join(shlex.quote(p) for p in parts)
    return "adaptive2.report(designs, out, ...) from Python (designs not read from files)"


def _borrowing(ctx: _Ctx, design: Any) -> Any:
    """Null region and matched-α comparison of a multi-cohort design, computed once."""
    if design.name not in ctx.borrowing:
        ctx.borrowing[design.name] = borrowing_summary(design, _multi_scenarios(ctx, design))
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
    key = (design.name, scen)
    if key not in ctx.oc:
        ctx.oc[key] = cohort_oc(design, scen)
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
