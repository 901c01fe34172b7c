"""Plots of designs and operating characteristics: OC curves, boundary charts, OC bars."""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from adaptive2._base.errors import DesignError
from adaptive2._base.validation import fail

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

from adaptive2.engines.exact import oc
from adaptive2.engines.toxicity_oc import oc_toxicity
from adaptive2.model.designs import Boundaries, Design
from adaptive2.views.figures import (
    _DEFAULT_RATES,
    _LABEL_SIZE,
    _LEGEND_SIZE,
    _NOTE_SIZE,
    PALETTE,
    _axes,
    _entry,
    _is_cohort_design,
    _is_dataset,
    _legend,
    _line_style,
    _plain,
    _planning_lines,
    _planning_value,
    _style,
)

__all__ = ["boundary_chart", "cohort_boundary_chart", "cohort_oc_plot", "dataset_plot", "oc_curves"]


# ---------------------------------------------------------------------------
# Operating-characteristic curves
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class _Curve:
    name: str
    p: np.ndarray
    p_efficacy: np.ndarray
    expected_n: np.ndarray


def oc_curves(
    designs: Any,
    rates: Sequence[float] | None = None,
    *,
    p0: float | None = None,
    p1: float | None = None,
    ax: Any = None,
) -> Figure:
    """P(efficacy) and expected N against the true response rate, one line per design.

    Parameters
    ----------
    designs : Design, sequence of Design, or xarray.Dataset
        Single-cohort designs (their exact OC are computed with
        :func:`adaptive2.engines.exact.oc` at ``rates``), or a Dataset already returned by
        ``oc`` (one design, or several along ``design``). A design with a toxicity
        monitor is drawn at one true toxicity rate, its monitor's ``acceptable``
        rate, with toxicity stops counted (its legend entry says so); a Dataset
        crossed over toxicity rates (coordinate ``toxicity_rate``) is drawn at
        its first toxicity rate and odds ratio (the first block of rows).
    rates : sequence of float, optional
        True response rates in [0, 1] (at least two; sorted before use).
        Default 0, 0.01, ..., 1. Must be None with a Dataset.
    p0, p1 : float, optional
        Planning values drawn as dashed vertical lines. Default: those of the
        first design (the mean of ``p0`` if it is a Beta); none for a Dataset.
    ax : pair of matplotlib Axes, optional
        Axes for the P(efficacy) and expected-N panels.

    Returns
    -------
    matplotlib.figure.Figure
    """
    curves, planning = _oc_curves_iv(designs, rates, p0, p1)
    fig, (ax_eff, ax_n) = _axes(ax, 2, "oc_curves")
    for i, c in enumerate(curves):
        style = _line_style(i)
        label = _entry(c.name)
        ax_eff.plot(c.p, c.p_efficacy, lw=1.6, label=label, gid=f"p_efficacy-{i + 1}", **style)
        ax_n.plot(c.p, c.expected_n, lw=1.6, label=label, gid=f"expected_n-{i + 1}", **style)
    _planning_lines(ax_eff, *planning, label=True, panel="p_efficacy")
    _planning_lines(ax_n, *planning, label=False, panel="expected_n")
    lo = min(float(c.p[0]) for c in curves)
    hi = max(float(c.p[-1]) for c in curves)
    for a in (ax_eff, ax_n):
        a.set_xlim(lo, hi)
    ax_eff.set_ylim(-0.02, 1.02)
    top = max(float(np.nanmax(c.expected_n)) for c in curves)
    ax_n.set_ylim(0, top * 1.06 if top > 0 else 1)
    _style(ax_eff, "true response rate p", "P(declare efficacy)", "Probability of efficacy")
    _style(ax_n, "true response rate p", "expected N (patients)", "Expected sample size")
    _legend(ax_eff, loc="upper left")
    return fig


def _oc_curves_iv(
    designs: Any, rates: Any, p0: Any, p1: Any
) -> tuple[list[_Curve], tuple[float | None, float | None]]:
    owner = "oc_curves"
    if _is_dataset(designs):
        if rates is not None:
            raise fail("rates", owner, "None when `designs` is an oc() Dataset", rates)
        curves = _curves_from_dataset(designs)
        planning = (_planning_value(p0, "p0", owner), _planning_value(p1, "p1", owner))
        return curves, planning
    items = _single_cohort_designs(designs)
    grid = _rates_iv(rates)

    curves = []
    for d in items:
        if d.toxicity is not None:  # one toxicity rate: the acceptable one, monitor in force
            q = d.toxicity.acceptable
            ds = oc_toxicity(d, grid, tox=q)
            name = f"{d.name} (toxicity rate {q:g})"
        else:
            ds, name = oc(d, grid), d.name
        curves.append(
            _Curve(name, grid, ds["p_efficacy"].values, ds["expected_n"].values)
        )
    first = items[0]
    planning = (
        _planning_value(first.p0 if p0 is None else p0, "p0", owner),
        _planning_value(first.p1 if p1 is None else p1, "p1", owner),
    )
    return curves, planning


def _single_cohort_designs(designs: Any) -> list[Any]:

    owner = "oc_curves"
    allowed = "a single-cohort Design, a non-empty list of them, or an oc() Dataset"
    if _is_cohort_design(designs):
        raise DesignError(
            f"`designs` of {owner} must be {allowed}; got the multi-cohort CohortDesign "
            f"{designs.name!r} (plot its OC with cohort_oc_plot)."
        )
    if isinstance(designs, Design):
        return [designs]
    if isinstance(designs, str | bytes | Mapping) or not isinstance(designs, Iterable):
        raise fail("designs", owner, allowed, type(designs).__name__)
    items = list(designs)
    if not items:
        raise fail("designs", owner, allowed, items)
    for d in items:
        if _is_cohort_design(d):
            raise DesignError(
                f"`designs` of {owner} must hold single-cohort Design objects; got the "
                f"multi-cohort CohortDesign {d.name!r} (plot its OC with cohort_oc_plot)."
            )
        if not isinstance(d, Design):
            raise fail("designs", owner, allowed, type(d).__name__)
    return items


def _rates_iv(rates: Any) -> np.ndarray:
    if rates is None:
        return _DEFAULT_RATES
    allowed = "at least two distinct true response rates in [0, 1]"
    if isinstance(rates, str | bytes):
        raise fail("rates", "oc_curves", allowed, rates)
    try:
        arr = np.asarray(rates, dtype=float)
    except (TypeError, ValueError):
        raise fail("rates", "oc_curves", allowed, rates) from None
    if arr.ndim != 1 or not np.all(np.isfinite(arr)) or np.any((arr < 0) | (arr > 1)):
        raise fail("rates", "oc_curves", allowed, rates)
    arr = np.unique(arr)
    if arr.size < 2:
        raise fail("rates", "oc_curves", allowed, rates)
    return arr


def _curves_from_dataset(ds: Any) -> list[_Curve]:
    owner = "oc_curves"
    allowed = "an oc() Dataset of single-cohort designs (variables p_efficacy, expected_n)"
    if "cohort" in ds.dims:
        raise DesignError(
            f"`designs` of {owner} must be {allowed}; got a multi-cohort Dataset with dims "
            f"{tuple(ds.dims)} (plot it with cohort_oc_plot)."
        )
    missing = [v for v in ("p_efficacy", "expected_n", "p") if v not in ds.variables]
    if missing or "scenario" not in ds.dims:
        raise fail("designs", owner, allowed, f"a Dataset without {missing or ['scenario']}")
    if "design" in ds.dims:
        names = [str(x) for x in ds["design"].values]
        subsets = [ds.isel(design=i) for i in range(len(names))]
    else:
        names = [str(ds.attrs.get("design_name", "design"))]
        subsets = [ds]
    curves = []
    for name, sub in zip(names, subsets, strict=True):
        if "toxicity_rate" in sub.coords and sub.sizes["scenario"] > 0:
            # crossed over toxicity: the first block (first toxicity rate and odds ratio)
            q = np.asarray(sub["toxicity_rate"].values, dtype=float)
            psi = np.asarray(sub["odds_ratio"].values, dtype=float) if "odds_ratio" in sub.coords \
                else np.ones_like(q)
            first = (q == q[0]) & (psi == psi[0])
            if not first.all():
                sub = sub.isel(scenario=np.flatnonzero(first))
            name = f"{name} (toxicity rate {q[0]:g})"
        p = np.asarray(sub["p"].values, dtype=float)
        eff = np.asarray(sub["p_efficacy"].values, dtype=float)
        en = np.asarray(sub["expected_n"].values, dtype=float)
        if eff.ndim != 1 or en.ndim != 1:
            raise fail("designs", owner, allowed, f"p_efficacy with dims {sub['p_efficacy'].dims}")
        keep = np.isfinite(p) & np.isfinite(eff) & np.isfinite(en)
        order = np.argsort(p[keep], kind="stable")
        if order.size == 0:
            raise fail("designs", owner, allowed, f"no finite OC for design {name!r}")
        curves.append(_Curve(name, p[keep][order], eff[keep][order], en[keep][order]))
    return curves


# ---------------------------------------------------------------------------
# Stopping boundaries
# ---------------------------------------------------------------------------
def boundary_chart(design: Any, *, ax: Any = None) -> Figure:
    """Stopping boundaries per look: "stop if r ≤ a_k" and "efficacy if r ≥ b_k" against n.

    Futility boundaries are drawn as downward triangles, efficacy boundaries as
    upward triangles (at the final look: the largest failing and the smallest
    successful count, or No-Go / Go for a dual-criterion rule), each labelled
    with its count. The counts that continue at an interim look are shaded; for
    a dual criterion the "Consider" counts at the final look are shaded too.

    Parameters
    ----------
    design : Design or Boundaries
        A single-cohort design (its :meth:`~adaptive2.model.designs.Design.boundaries`
        are drawn) or a boundary table.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    bnd, title = _boundaries_iv(design)
    fig, (axis,) = _axes(ax, 1, "boundary_chart")
    looks = list(bnd.looks)
    n_max, last = looks[-1], len(looks) - 1
    gaps = np.diff([0, *looks])
    width = float(min(max(0.025 * n_max, 0.5), 0.6 * gaps.min()))
    _continue_bars(axis, bnd, width)
    axis.plot(
        [0, n_max],
        [0, n_max],
        color="0.7",
        lw=0.8,
        ls=":",
        label="r = n (all respond)",
        gid="all_respond",
    )
    fut_label, eff_label = _boundary_labels(bnd)
    for slot, values, marker, colour, label, dy in (
        ("futility", bnd.futility_max_r, "v", PALETTE[1], fut_label, -9),
        ("efficacy", bnd.efficacy_min_r, "^", PALETTE[0], eff_label, 4),
    ):
        pts = [(n, r) for n, r in zip(looks, values, strict=True) if r is not None]
        if not pts:
            continue
        xs, ys = zip(*pts, strict=True)
        axis.plot(xs, ys, marker=marker, color=colour, lw=1.0, ms=6, label=label, gid=slot)
        for x, y in pts:
            axis.annotate(
                str(y),
                (x, y),
                xytext=(5, dy),
                textcoords="offset points",
                fontsize=_NOTE_SIZE,
                color=colour,
            )
    if bnd.dual:
        a, b = bnd.futility_max_r[last], bnd.efficacy_min_r[last]
        lo = 0 if a is None else a + 1
        hi = n_max if b is None else b - 1
        if hi >= lo:
            axis.bar(
                [n_max],
                [hi - lo + 1],
                bottom=lo - 0.5,
                width=width,
                color=PALETTE[4],
                alpha=0.4,
                label="final: Consider",
                gid="consider",
            )
    axis.set_xlim(0, n_max * 1.06 + 1)
    axis.set_ylim(-0.8, n_max + 1.5)
    axis.set_xticks(looks)
    _style(axis, "evaluable patients n (cumulative)", "responses r", title)
    _legend(axis, loc="upper left")
    return fig


def _boundaries_iv(design: Any) -> tuple[Any, str]:

    if isinstance(design, Design):
        return design.boundaries(), f"Stopping boundaries: {design.name}"
    if isinstance(design, Boundaries):
        return design, "Stopping boundaries"
    if _is_cohort_design(design):
        raise DesignError(
            "`design` of boundary_chart must be a single-cohort Design or a Boundaries table; "
            f"got the multi-cohort CohortDesign {design.name!r} (its boundaries depend on the "
            "other cohorts' data)."
        )
    raise fail("design", "boundary_chart", "a Design or a Boundaries table", type(design).__name__)


def _boundary_labels(bnd: Any) -> tuple[str, str]:
    interim_a = any(a is not None for a in bnd.futility_max_r[:-1])
    interim_b = any(b is not None for b in bnd.efficacy_min_r[:-1])
    fail_word, win_word = ("No-Go", "Go") if bnd.dual else ("fail", "success")
    fut = f"final {fail_word}: r ≤ a"
    eff = f"final {win_word}: r ≥ b"
    if interim_a:
        fut = f"stop for futility: r ≤ a_k ({fut})"
    if interim_b:
        eff = f"stop for efficacy: r ≥ b_k ({eff})"
    return fut, eff


def _continue_bars(axis: Axes, bnd: Any, width: float) -> None:
    looks = bnd.looks[:-1]
    if not looks:
        return
    lows, heights = [], []
    for n, a, b in zip(looks, bnd.futility_max_r[:-1], bnd.efficacy_min_r[:-1], strict=True):
        lo = 0 if a is None else a + 1
        hi = n if b is None else b - 1
        lows.append(lo - 0.5)
        heights.append(max(hi - lo + 1, 0))
    bars = axis.bar(
        looks,
        heights,
        bottom=lows,
        width=width,
        color=PALETTE[5],
        alpha=0.35,
        label="continue: a_k < r < b_k",
    )
    for k, patch in enumerate(bars.patches):
        patch.set_gid(f"continue-{k + 1}")


# ---------------------------------------------------------------------------
# Multi-cohort OC
# ---------------------------------------------------------------------------
_ROLE_STYLE = {
    "null": ("type I error", "////", 0.45),
    "alternative": ("power", "", 1.0),
    "other": ("P(efficacy)", "..", 0.7),
}


def cohort_oc_plot(ds: Any, *, ax: Any = None) -> Figure:
    """Grouped bars of ``p_efficacy`` per scenario and cohort (from ``cohort_oc``).

    Each bar is labelled with its value as type I error (``role`` = null,
    hatched) or power (``role`` = alternative, solid); one colour per cohort.
    Bars carry ±2 MCSE error bars when the Dataset holds Monte Carlo figures.

    Parameters
    ----------
    ds : xarray.Dataset
        As returned by :func:`adaptive2.engines.cohort_exact.cohort_oc`: ``p_efficacy``
        over (scenario, cohort) and a ``role`` coordinate over the same dims.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    values, roles, mcse, scenarios, cohorts = _cohort_oc_iv(ds)
    fig, (axis,) = _axes(ax, 1, "cohort_oc_plot")
    n_s, n_c = values.shape
    width = 0.8 / n_c
    x = np.arange(n_s)
    for j in range(n_c):
        colour = PALETTE[j % len(PALETTE)]
        pos = x + (j - (n_c - 1) / 2) * width
        err = 2 * mcse[:, j] if mcse is not None and np.any(mcse[:, j] > 0) else None
        bars = axis.bar(
            pos,
            values[:, j],
            width=width * 0.92,
            color=colour,
            edgecolor=colour,
            yerr=err,
            ecolor="0.2",
            capsize=2,
            label="_nolegend_",
        )
        for i, patch in enumerate(bars.patches):
            word, hatch, fill = _ROLE_STYLE[roles[i, j]]
            patch.set_hatch(hatch)
            patch.set_facecolor((*_rgb(colour), fill))
            patch.set_gid(f"p_efficacy-s{i + 1}-c{j + 1}")
            axis.annotate(
                f"{word} {values[i, j]:.3f}",
                (pos[i], values[i, j]),
                xytext=(0, 3),
                textcoords="offset points",
                rotation=90,
                ha="center",
                va="bottom",
                fontsize=6.5,
            )
    axis.set_xticks(x, [_plain(textwrap.fill(s, 18)) for s in scenarios])
    axis.set_xlim(-0.6, n_s - 0.4)
    axis.set_ylim(0, 1.38)
    axis.set_yticks(np.linspace(0, 1, 6))
    _style(axis, "scenario", "P(declare efficacy)", "Probability of efficacy per cohort")
    axis.tick_params(axis="x", labelsize=_NOTE_SIZE)
    handles = _legend_handles(cohorts, roles)
    axis.legend(
        handles=handles,
        fontsize=_LEGEND_SIZE,
        framealpha=0.9,
        loc="upper left",
        ncols=min(len(handles), 4),
    )
    return fig


def _rgb(colour: str) -> tuple[float, float, float]:
    from matplotlib.colors import to_rgb

    return to_rgb(colour)


def _legend_handles(cohorts: list[str], roles: np.ndarray) -> list[Any]:
    """One colour patch per cohort, then one grey patch per role present."""
    from matplotlib.patches import Patch

    handles = [
        Patch(facecolor=PALETTE[j % len(PALETTE)], edgecolor=PALETTE[j % len(PALETTE)],
              label=_entry(c))
        for j, c in enumerate(cohorts)
    ]
    for role in ("null", "alternative", "other"):
        if np.any(roles == role):
            word, hatch, fill = _ROLE_STYLE[role]
            grey = (0.5, 0.5, 0.5, fill)
            handles.append(Patch(facecolor=grey, edgecolor="0.4", hatch=hatch, label=word))
    return handles


def _cohort_oc_iv(
    ds: Any,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, list[str], list[str]]:
    owner = "cohort_oc_plot"
    allowed = "the Dataset of cohort_oc (p_efficacy over scenario x cohort, with a role coordinate)"
    if not _is_dataset(ds):
        raise fail("ds", owner, allowed, type(ds).__name__)
    if "p_efficacy" not in ds.data_vars or "role" not in ds.coords:
        raise fail(
            "ds", owner, allowed, f"a Dataset with variables {sorted(map(str, ds.variables))}"
        )
    eff = ds["p_efficacy"]
    if set(eff.dims) != {"scenario", "cohort"}:
        raise fail("ds", owner, allowed, f"p_efficacy with dims {eff.dims}")
    eff = eff.transpose("scenario", "cohort")
    roles = np.asarray(
        ds["role"].broadcast_like(eff).transpose("scenario", "cohort").values, dtype=str
    )
    bad = sorted(set(roles.ravel()) - set(_ROLE_STYLE))
    if bad:
        raise fail("ds", owner, f"roles in {sorted(_ROLE_STYLE)}", bad)
    values = np.asarray(eff.values, dtype=float)
    if not np.all(np.isfinite(values)):
        raise fail("ds", owner, "finite p_efficacy values", "NaN or infinite values")
    mcse = None
    if "p_efficacy_mcse" in ds.data_vars and set(ds["p_efficacy_mcse"].dims) == set(eff.dims):
        mcse = np.asarray(ds["p_efficacy_mcse"].transpose("scenario", "cohort").values, float)
    scenarios = [str(s) for s in eff["scenario"].values]
    cohorts = [str(c) for c in eff["cohort"].values]
    return values, roles, mcse, scenarios, cohorts


# ---------------------------------------------------------------------------
# OC Datasets (the `a2` accessor)
# ---------------------------------------------------------------------------
def dataset_plot(
    ds: Any, *, p0: float | None = None, p1: float | None = None, ax: Any = None
) -> Figure:
    """Plot an OC Dataset: OC curves (single cohort) or P(efficacy) bars (several cohorts).

    This is ``ds.a2.plot()`` (:mod:`adaptive2.views.accessor`).

    Parameters
    ----------
    ds : xarray.Dataset
        A result of :func:`~adaptive2.engines.exact.oc` or
        :func:`~adaptive2.engines.montecarlo.simulate`
        for single-cohort designs (a ``p`` coordinate along ``scenario``; one
        curve per entry of a ``design`` dim): drawn by :func:`oc_curves`. A result
        of :func:`~adaptive2.engines.cohort_exact.cohort_oc` or a multi-cohort
        ``simulate`` (a ``cohort`` dim): drawn by :func:`cohort_oc_plot`, one
        panel per design (stacked) when the Dataset has a ``design`` dim.
    p0, p1 : float, optional
        Planning values drawn on OC curves (single cohort only).
    ax : matplotlib Axes, or a sequence of them, optional
        Two Axes for OC curves; one Axes per design for cohort bars.

    Returns
    -------
    matplotlib.figure.Figure
    """
    owner = "Dataset.a2.plot"
    allowed = "an OC Dataset from oc, simulate or cohort_oc (with a p_efficacy variable)"
    if not _is_dataset(ds):
        raise fail("ds", owner, allowed, type(ds).__name__)
    if "p_efficacy" not in ds.data_vars:
        got = f"a Dataset with variables {sorted(map(str, ds.data_vars))}"
        raise fail("ds", owner, allowed, got)
    if "cohort" not in ds.dims:
        if "p" not in ds.coords or "expected_n" not in ds.data_vars:
            raise fail(
                "ds",
                owner,
                "a single-cohort OC Dataset with a `p` coordinate and `expected_n`",
                f"a Dataset with coordinates {sorted(map(str, ds.coords))}",
            )
        return oc_curves(ds, p0=p0, p1=p1, ax=ax)
    for name, value in (("p0", p0), ("p1", p1)):
        if value is not None:
            raise fail(name, owner, "None for a multi-cohort Dataset (no OC curves)", value)
    if "design" not in ds.dims:
        return cohort_oc_plot(ds, ax=ax)
    names = [str(x) for x in ds["design"].values]
    fig, axes = _axes(ax, len(names), owner, stack=True)
    for i, (name, axis) in enumerate(zip(names, axes, strict=True)):
        cohort_oc_plot(ds.isel(design=i), ax=axis)
        axis.set_title(_plain(f"{name}: probability of efficacy per cohort"),
                       fontsize=_LABEL_SIZE)
    return fig


# ---------------------------------------------------------------------------
# Multi-cohort boundaries
# ---------------------------------------------------------------------------
def cohort_boundary_chart(design: Any, *, ax: Any = None) -> Figure:
    """Per-cohort stopping boundaries of a CohortDesign, the other cohorts at their null.

    Under borrowing, a cohort's boundaries depend on the other cohorts' data;
    each panel is :func:`boundary_chart` of the boundaries that
    :meth:`~adaptive2.model.cohorts.CohortDesign.boundaries` reports: every other
    cohort showing its p0 (rounded) at the same look.

    Parameters
    ----------
    design : CohortDesign
    ax : matplotlib Axes, or one per cohort, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    owner = "cohort_boundary_chart"
    if not _is_cohort_design(design):
        raise fail("design", owner, "a CohortDesign", type(design).__name__)
    records = design.boundaries()
    fig, axes = _axes(ax, len(design.cohorts), owner)
    for c, axis in zip(design.cohorts, axes, strict=True):
        rows = sorted((rec for rec in records if rec["cohort"] == c.name), key=lambda x: x["look"])
        bnd = Boundaries(
            tuple(rec["n"] for rec in rows),
            tuple(rec["futility_max_r"] for rec in rows),
            tuple(rec["efficacy_min_r"] for rec in rows),
        )
        boundary_chart(bnd, ax=axis)
        axis.set_title(_plain(f"{c.name} (other cohorts at their p0)"), fontsize=_LABEL_SIZE)
    return fig
