"""Plots of priors and of results.

Prior densities, power-prior weight curves, analyses, calibrations, searches, Simon
designs, the type I error over the null region and the toxicity stopping curve of a
co-monitored design.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from adaptive2._base.validation import check_choice, check_probability, fail

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

from adaptive2.engines.analysis_results import AnalysisResult
from adaptive2.engines.calibration import CalibrationResult
from adaptive2.engines.posterior import posterior_density
from adaptive2.engines.search import SearchResult
from adaptive2.engines.simon import SimonResult
from adaptive2.engines.toxicity_oc import oc_toxicity
from adaptive2.model.designs import Design
from adaptive2.model.priors import Beta, BetaMixture, PriorSpec
from adaptive2.model.scenarios import Scenario
from adaptive2.views.figures import (
    _LABEL_SIZE,
    _NOTE_SIZE,
    FIGSIZE,
    PALETTE,
    _axes,
    _entry,
    _is_cohort_design,
    _legend,
    _plain,
    _planning_lines,
    _planning_value,
    _style,
    _svg_figure_class,
)
from adaptive2.views.oc_plots import boundary_chart

__all__ = [
    "analysis_plot",
    "calibration_plot",
    "null_region_plot",
    "prior_density",
    "search_plot",
    "simon_plot",
    "toxicity_oc_plot",
    "weight_curve_plot",
]


# ---------------------------------------------------------------------------
# Prior densities
# ---------------------------------------------------------------------------
def prior_density(
    priors: Any,
    *,
    p0: float | None = None,
    p1: float | None = None,
    posterior: Any = None,
    ax: Any = None,
) -> Figure:
    """Density curves of one or several priors (and optionally posteriors) on (0, 1).

    The grid clusters points near 0 and 1 (x = (1 − cos πt) / 2), so U-shaped
    densities such as Jeffreys' Beta(0.5, 0.5) are drawn up to the edges; when
    a density is unbounded at an edge the y-axis is clipped at the largest
    value on [0.01, 0.99].

    Parameters
    ----------
    priors : Beta, BetaMixture, PriorSpec, or mapping of label to one of these
    p0, p1 : float, optional
        Planning values, drawn as dashed vertical lines.
    posterior : Beta, BetaMixture, or mapping of label to one of these, optional
        Drawn dashed, after the priors.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    owner = "prior_density"
    curves = _priors_iv(priors, "priors", "prior")
    post = [] if posterior is None else _priors_iv(posterior, "posterior", "posterior")
    planning = (_planning_value(p0, "p0", owner), _planning_value(p1, "p1", owner))
    fig, (axis,) = _axes(ax, 1, owner)
    t = np.linspace(0.0, 1.0, 1201)[1:-1]
    x = 0.5 * (1.0 - np.cos(np.pi * t))
    central = (x >= 0.01) & (x <= 0.99)
    ys, unbounded = [], False
    for i, (label, dist) in enumerate([*curves, *post]):
        y = np.asarray(dist.pdf(x), dtype=float)
        ys.append(y)
        style: dict[str, Any] = {
            "color": PALETTE[i % len(PALETTE)], "linestyle": "--" if i >= len(curves) else "-"
        }
        axis.plot(x, y, lw=1.6, label=_entry(label), gid=f"density-{i + 1}", **style)
        comps = dist.components()
        unbounded |= any(c["w"] > 0 and (c["a"] < 1 or c["b"] < 1) for c in comps)
    top = max(float(np.max(y[central] if unbounded else y)) for y in ys)
    _planning_lines(axis, *planning, label=True, panel="density")
    axis.set_xlim(0, 1)
    axis.set_ylim(0, top * 1.08 if top > 0 else 1)
    _style(axis, "response rate p", "density", "Prior density")
    _legend(axis, loc="best")
    return fig


def _priors_iv(obj: Any, name: str, default_label: str) -> list[tuple[str, Any]]:

    owner = "prior_density"
    allowed = "a Beta, BetaMixture or PriorSpec, or a non-empty mapping of label to one"

    def one(value: Any) -> Any:
        if isinstance(value, PriorSpec):
            return value.build()
        if isinstance(value, Beta | BetaMixture):
            return value
        raise fail(name, owner, allowed, type(value).__name__)

    if isinstance(obj, Mapping):
        if not obj:
            raise fail(name, owner, allowed, dict(obj))
        out = []
        for label, value in obj.items():
            if not isinstance(label, str) or not label:
                raise fail(name, owner, "a mapping with non-empty string labels", label)
            out.append((label, one(value)))
        return out
    dist = one(obj)
    return [(f"{default_label} {dist}" if default_label == "posterior" else str(dist), dist)]


# ---------------------------------------------------------------------------
# Prior-weight sensitivity
# ---------------------------------------------------------------------------
_WEIGHT_LABELS = {
    "prior.power": "power-prior weight a0",
    "prior.robust.weight": "weight of the vague (robust) component",
}


def weight_curve_plot(
    curve: Any,
    *,
    alpha: float | None = None,
    parameter: str = "prior.power",
    ax: Any = None,
) -> Figure:
    """Worst-case α and power against the prior weight (from ``calibrate.weight_curve``).

    Parameters
    ----------
    curve : pandas.DataFrame
        As returned by :func:`adaptive2.engines.calibration.weight_curve`: columns
        ``weight``, ``alpha`` (worst case over p ≤ p0) and ``power`` (at p1;
        missing or empty when the design has no p1).
    alpha : float, optional
        Type I error target, drawn as a horizontal line on the α panel.
    parameter : {"prior.power", "prior.robust.weight"}
        The weight that ``weight_curve`` moved (labels the x-axis).
    ax : pair of matplotlib Axes, optional
        Axes for the α and power panels.

    Returns
    -------
    matplotlib.figure.Figure
    """
    owner = "weight_curve_plot"
    w, a, power = _weight_curve_iv(curve)
    if alpha is not None:
        alpha = check_probability(alpha, "alpha", owner)
    check_choice(parameter, "parameter", owner, tuple(_WEIGHT_LABELS))
    fig, (ax_a, ax_p) = _axes(ax, 2, owner)
    xlabel = _WEIGHT_LABELS[parameter]
    ax_a.plot(
        w,
        a,
        marker="o",
        ms=3.5,
        lw=1.4,
        color=PALETTE[1],
        label="worst-case α (p ≤ p0)",
        gid="alpha",
    )
    if alpha is not None:
        ax_a.axhline(
            alpha, color="0.35", ls="--", lw=0.9, label=f"α target = {alpha:g}", gid="alpha_target"
        )
    top = max(float(np.nanmax(a)), alpha or 0.0)
    ax_a.set_ylim(0, top * 1.25 if top > 0 else 0.1)
    _style(ax_a, xlabel, "worst-case type I error", "Type I error")
    _legend(ax_a, loc="best")
    if power is not None:
        ax_p.plot(
            w, power, marker="s", ms=3.5, lw=1.4, color=PALETTE[0], label="power at p1", gid="power"
        )
        _legend(ax_p, loc="best")
    else:
        ax_p.text(
            0.5,
            0.5,
            "power not computed\n(no p1)",
            ha="center",
            va="center",
            transform=ax_p.transAxes,
            fontsize=_LABEL_SIZE,
            color="0.4",
        )
    ax_p.set_ylim(0, 1.02)
    _style(ax_p, xlabel, "power", "Power")
    for axis in (ax_a, ax_p):
        axis.set_xlim(float(w.min()), float(w.max()) if w.max() > w.min() else float(w.min()) + 1)
    return fig


def _weight_curve_iv(curve: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    import pandas as pd

    owner = "weight_curve_plot"
    allowed = "the DataFrame of calibrate.weight_curve (columns weight, alpha[, power])"
    if not isinstance(curve, pd.DataFrame):
        raise fail("curve", owner, allowed, type(curve).__name__)
    missing = [c for c in ("weight", "alpha") if c not in curve.columns]
    if missing or len(curve) == 0:
        raise fail("curve", owner, allowed, f"a DataFrame with columns {list(curve.columns)}")
    try:
        w = curve["weight"].to_numpy(dtype=float)
        a = curve["alpha"].to_numpy(dtype=float)
        power = None
        if "power" in curve.columns:
            power = pd.to_numeric(curve["power"], errors="raise").to_numpy(dtype=float)
    except (TypeError, ValueError):
        raise fail("curve", owner, "numeric columns weight, alpha, power", "non-numbers") from None
    if not np.all(np.isfinite(w)) or not np.all(np.isfinite(a)):
        raise fail("curve", owner, "finite weights and alphas", "NaN or infinite values")
    order = np.argsort(w, kind="stable")
    if power is not None:
        power = power[order] if np.any(np.isfinite(power)) else None
    return w[order], a[order], power


# ---------------------------------------------------------------------------
# Analyses (analyze)
# ---------------------------------------------------------------------------
_PRIOR_STYLE: dict[str, Any] = {"color": PALETTE[0], "linestyle": "-", "lw": 1.6}


_POSTERIOR_STYLE: dict[str, Any] = {"color": PALETTE[1], "linestyle": "--", "lw": 1.6}


_MARK_Y = {"quadrature": 0.04, "pymc": 0.10}  # marker heights (axes fraction)


@dataclass(frozen=True)
class _Panel:
    """What one cohort's panel of :func:`analysis_plot` draws."""

    title: str
    curves: tuple[tuple[str, str, np.ndarray, np.ndarray], ...]  # (kind, label, x, y)
    clip_top: float | None  # y-axis top when a density is unbounded at an edge
    note: str | None


def analysis_plot(result: Any, design: Any = None, *, ax: Any = None) -> Figure:
    """Prior and posterior density of each cohort's response rate, from ``analyze``.

    One panel per cohort: the prior (solid) and the posterior (dashed) density,
    the posterior mean and 95% credible interval of the result as a marker
    and a segment near the x-axis, and the cohort's p0 and p1 as dashed
    vertical lines (the mean of p0 when it is a Beta).

    Parameters
    ----------
    result : AnalysisResult
        As returned by :func:`adaptive2.engines.analysis.analyze`.
    design : Design or CohortDesign, optional
        The design the result was computed with (checked against the result's
        ``design_hash``). Single cohort: its prior is drawn; without it the
        prior is recovered from the result's conjugate posterior (each component
        ``Beta(a + r, b + n − r)`` with the prior weights), which is the same
        prior. Several cohorts: needed for the densities, which come from the
        quadrature engine (:mod:`adaptive2.model.hierarchical`) with the design's
        model, cohorts and grid; without it only the mean and interval markers
        are drawn (the result holds no density).
    ax : matplotlib Axes, or one per cohort, optional

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    Multi-cohort densities: the posterior of cohort j is the quadrature
    posterior of :func:`adaptive2.engines.posterior.posterior` (the same masses,
    whose mean is the result's ``mean``): cell masses m_i on the θ grid,
    drawn as the density of p_j = expit(θ + o_j), m_i / (h p (1 − p)). The
    prior is the same computation with no trial data in any cohort (historical
    strata included): the model's prior of p_j. With ``engine="pymc"`` the NUTS
    mean and interval are drawn as a second marker.
    """
    owner = "analysis_plot"
    if not isinstance(result, AnalysisResult):
        raise fail("result", owner, "an AnalysisResult (from analyze)", type(result).__name__)
    design = _analysis_design_iv(result, design, owner)
    if result.model is None:
        panels = [_single_panel(result, design)]
    else:
        panels = [_multi_panel(result, design, j) for j in range(len(result.cohorts))]
    fig, axes = _axes(ax, len(panels), owner)
    for j, (c, panel, axis) in enumerate(zip(result.cohorts, panels, axes, strict=True)):
        _draw_panel(axis, c, panel, j + 1)
    return fig


def _analysis_design_iv(result: Any, design: Any, owner: str) -> Any:
    if design is None:
        return None

    multi = result.model is not None
    kind = "CohortDesign" if multi else "Design"
    ok = _is_cohort_design(design) if multi else isinstance(design, Design)
    if not ok:
        raise fail("design", owner, f"None or the {kind} the result was computed with",
                   type(design).__name__)
    if design.hash != result.design_hash:
        raise fail(
            "design",
            owner,
            f"the {kind} the result was computed with (design hash {result.design_hash[:12]}...)",
            f"{design.name!r} with hash {design.hash[:12]}...",
        )
    return design


def _density_grid() -> np.ndarray:
    t = np.linspace(0.0, 1.0, 1201)[1:-1]
    return 0.5 * (1.0 - np.cos(np.pi * t))  # clustered near 0 and 1 (as prior_density)


def _single_panel(result: Any, design: Any) -> _Panel:

    c = result.cohorts[0]
    w, a, b = (np.array(x, dtype=float) for x in zip(*c.components, strict=True))
    if design is not None:
        prior = design.prior
    else:  # invert the conjugate update: Beta(a + r, b + n - r) -> Beta(a, b)
        a0, b0 = a - c.r, b - (c.n - c.r)
        weights = tuple(c.conflict.prior_weights)
        if len(weights) != len(a) or np.any(a0 <= 0) or np.any(b0 <= 0):
            raise fail("result", "analysis_plot", "a conjugate posterior of a beta prior",
                       c.components)
        prior = Beta(a0[0], b0[0]) if len(a) == 1 else BetaMixture(weights, tuple(a0), tuple(b0))
    post = Beta(a[0], b[0]) if len(a) == 1 else BetaMixture(tuple(w), tuple(a), tuple(b))
    x = _density_grid()
    y_prior = np.asarray(prior.pdf(x), dtype=float)
    y_post = np.asarray(post.pdf(x), dtype=float)
    comps = [*prior.components(), *post.components()]
    unbounded = any(k["w"] > 0 and (k["a"] < 1 or k["b"] < 1) for k in comps)
    clip = None
    if unbounded:
        central = (x >= 0.01) & (x <= 0.99)
        clip = max(float(y_prior[central].max()), float(y_post[central].max()))
    where = "before look 1" if c.look is None else f"look {c.look}"
    return _Panel(
        title=f"{result.design}: {c.r}/{c.n} responses, {where}: {c.decision}",
        curves=(
            ("prior", f"prior {prior}", x, y_prior),
            ("posterior", f"posterior {post}", x, y_post),
        ),
        clip_top=clip,
        note=None,
    )


def _multi_panel(result: Any, design: Any, j: int) -> _Panel:
    c = result.cohorts[j]
    where = "before look 1" if c.look is None else f"look {c.look}"
    title = f"{c.name}: {c.r}/{c.n}, {where}: {c.decision}"
    if design is None:
        return _Panel(title, (), None,
                      "no density in the result:\nuse a2.plot(result, design=design)")
    rn = [(x.r, x.n) for x in result.cohorts]
    p, prior = _quadrature_density(design, [(0, 0)] * len(rn), j)
    _, post = _quadrature_density(design, rn, j)
    curves = (
        ("prior", "prior (model, no trial data)", p, prior),
        ("posterior", "posterior (quadrature)", p, post),
    )
    return _Panel(title, curves, None, None)


def _quadrature_density(
    design: Any, rn: Sequence[tuple[int, int]], j: int
) -> tuple[np.ndarray, np.ndarray]:
    """(p, density) of cohort j's response rate given every cohort's (r, n)."""
    data = {c.name: x for c, x in zip(design.cohorts, rn, strict=True)}
    return posterior_density(
        design.model, design.cohorts, data, design.cohorts[j].name, grid=design.grid
    )


def _draw_panel(axis: Axes, c: Any, panel: _Panel, k: int) -> None:
    from matplotlib.transforms import blended_transform_factory

    styles = {"prior": _PRIOR_STYLE, "posterior": _POSTERIOR_STYLE}
    for kind, label, x, y in panel.curves:
        axis.plot(x, y, label=label, gid=f"{kind}-{k}", **styles[kind])
    p0 = _planning_value(c.p0, "p0", "analysis_plot")
    _planning_lines(axis, p0, c.p1, label=True, panel=f"cohort-{k}")
    on_axis = blended_transform_factory(axis.transData, axis.transAxes)
    marks = [("quadrature", "posterior mean, 95% interval", c.mean, c.interval, PALETTE[1])]
    if c.pymc is not None:
        pm = c.pymc
        marks.append(("pymc", "NUTS mean, 95% interval", pm["mean"], pm["interval"], PALETTE[2]))
    for key, label, mean, (lo, hi), colour in marks:
        height = _MARK_Y[key]
        axis.plot([lo, hi], [height, height], color=colour, lw=2.2, solid_capstyle="butt",
                  transform=on_axis, gid=f"{key}-interval-{k}", label="_nolegend_")
        axis.plot([mean], [height], marker="o", ms=5, color=colour, ls="none", transform=on_axis,
                  gid=f"{key}-mean-{k}", label=label)
    axis.set_xlim(0, 1)
    if panel.curves:
        top = panel.clip_top
        if top is None:
            top = max(float(np.max(y)) for *_, y in panel.curves)
        axis.set_ylim(0, top * 1.12 if top > 0 else 1)
    else:
        axis.set_ylim(0, 1)
        axis.set_yticks([])
    if panel.note:
        axis.text(0.5, 0.45, panel.note, transform=axis.transAxes, ha="center", va="center",
                  fontsize=_NOTE_SIZE, color="0.4", gid=f"note-{k}")
    _style(axis, "response rate p", "density", panel.title)
    _legend(axis, loc="upper left" if not panel.curves else "best")


# ---------------------------------------------------------------------------
# Calibration, design searches, Simon designs
# ---------------------------------------------------------------------------
def calibration_plot(result: Any, *, ax: Any = None) -> Figure:
    """Boundary chart of a calibrated design, with the achieved α and power.

    A :class:`~adaptive2.engines.calibration.CalibrationResult` holds the chosen design
    and its exact figures, not the values visited by the search, so there is
    no α-against-parameter curve here (for the prior weight, see
    :func:`adaptive2.engines.calibration.weight_curve` and :func:`weight_curve_plot`).

    Parameters
    ----------
    result : CalibrationResult
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    owner = "calibration_plot"
    if not isinstance(result, CalibrationResult):
        raise fail("result", owner, "a CalibrationResult (from calibrate)", type(result).__name__)
    fig, (axis,) = _axes(ax, 1, owner)
    boundary_chart(result.design, ax=axis)
    axis.set_title(_plain(f"Calibrated: {result.design.name}"), fontsize=_LABEL_SIZE)
    axis.text(
        0.98,
        0.03,
        _calibration_text(result),
        transform=axis.transAxes,
        ha="right",
        va="bottom",
        fontsize=_NOTE_SIZE,
        bbox={"boxstyle": "round,pad=0.4", "facecolor": "white", "edgecolor": "0.75"},
        gid="calibration",
    )
    return fig


def _calibration_text(result: Any) -> str:
    params = ", ".join(f"{k} = {v:.6g}" for k, v in result.parameters.items())
    lines = [
        params,
        f"worst-case α = {result.alpha:.4f} at p = {result.worst_case_p:.4g}"
        f" (target ≤ {result.target_alpha:g})",
    ]
    if np.isfinite(result.power):
        target = "" if result.target_power is None else f" (target ≥ {result.target_power:g})"
        lines.append(f"power at p1 = {result.power:.4f}{target}")
    lines.append(f"E[N | p0] = {result.expected_n_p0:.2f}")
    lines.append("targets met" if result.feasible else "targets NOT met")
    return "\n".join(lines)


def _empty(axis: Axes, text: str) -> None:
    axis.text(0.5, 0.5, text, transform=axis.transAxes, ha="center", va="center",
              fontsize=_LABEL_SIZE, color="0.4", gid="empty")


def _mark(axis: Axes, design: Any, key: str, marker: str, colour: str, size: float) -> None:
    n, en = design.n_max if hasattr(design, "n_max") else design.n, design.expected_n_p0
    axis.plot([n], [en], marker=marker, ms=size, color=colour, mec="black", mew=0.7, ls="none",
              zorder=4, gid=key, label=f"{key}: N = {n}, E[N | p0] = {en:.2f}")


def search_plot(result: Any, *, ax: Any = None) -> Figure:
    """Designs of a search in the (N, E[N | p0]) plane, coloured by power.

    Every listed design is a dot coloured by its power at p1; the Pareto front
    (not dominated in smaller N, smaller E[N | p0], larger power) is ringed,
    the admissible designs are joined by a dashed line (the lower convex hull),
    and the optimal (★) and minimax (◆) designs are marked.

    Parameters
    ----------
    result : SearchResult
        From :func:`~adaptive2.engines.lee_liu.lee_liu`,
        :func:`~adaptive2.engines.design_search.design_search`
        or :func:`~adaptive2.engines.design_search.pareto`.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    owner = "search_plot"
    if not isinstance(result, SearchResult):
        raise fail("result", owner, "a SearchResult (from lee_liu, design_search or pareto)",
                   type(result).__name__)
    fig, (axis,) = _axes(ax, 1, owner)
    title = f"{result.method}: p0 = {result.p0:g}, p1 = {result.p1:g}"
    if not result.designs:
        _empty(axis, f"no design meets the targets\n{result.message}")
        _style(axis, "maximum sample size N", "E[N | p0]", title)
        return fig

    def xy(items: Sequence[Any]) -> tuple[list[int], list[float]]:
        return [d.n_max for d in items], [d.expected_n_p0 for d in items]

    n, en = xy(result.designs)
    dots = axis.scatter(n, en, c=[d.power for d in result.designs], cmap="viridis", s=16,
                        zorder=2, gid="designs", label="designs (colour: power)")
    fig.colorbar(dots, ax=axis, label="power at p1")
    n, en = xy(result.pareto)
    axis.scatter(n, en, s=58, facecolors="none", edgecolors="black", linewidths=0.8, zorder=3,
                 gid="pareto", label="Pareto front (N, E[N | p0], power)")
    n, en = xy(result.admissible)
    axis.plot(n, en, color="0.3", lw=1.0, ls="--", zorder=3, gid="admissible",
              label="admissible (lower convex hull)")
    _mark(axis, result.optimal, "optimal", "*", PALETTE[1], 14)
    _mark(axis, result.minimax, "minimax", "D", PALETTE[3], 8)
    _style(axis, "maximum sample size N", "E[N | p0]", title)
    _legend(axis, loc="best")
    return fig


def simon_plot(result: Any, *, ax: Any = None) -> Figure:
    """Admissible Simon two-stage designs: n against EN(p0), optimal and minimax marked.

    Each admissible design is labelled ``r1/n1, r/n`` (stop if at most r1 of n1
    respond; efficacy if more than r of n respond).

    Parameters
    ----------
    result : SimonResult
        As returned by :func:`adaptive2.engines.simon.simon`.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    owner = "simon_plot"
    if not isinstance(result, SimonResult):
        raise fail("result", owner, "a SimonResult (from simon)", type(result).__name__)
    fig, (axis,) = _axes(ax, 1, owner)
    title = (
        f"Simon two-stage: p0 = {result.p0:g}, p1 = {result.p1:g}, "
        f"α ≤ {result.alpha:g}, power ≥ {1 - result.beta:g}"
    )
    if result.optimal is None or result.minimax is None:
        _empty(axis, f"no design with n ≤ {result.nmax} meets the constraints")
        _style(axis, "maximum sample size n", "EN(p0)", title)
        return fig
    adm = result.admissible
    n = [d.n for d in adm]
    en = [d.expected_n_p0 for d in adm]
    axis.plot(n, en, marker="o", ms=4, lw=1.0, color=PALETTE[0], zorder=3, gid="admissible",
              label="admissible designs")
    for d in adm:
        axis.annotate(f"{d.r1}/{d.n1}, {d.r}/{d.n}", (d.n, d.expected_n_p0), xytext=(4, 4),
                      textcoords="offset points", fontsize=_NOTE_SIZE, color="0.25")
    _mark(axis, result.optimal, "optimal", "*", PALETTE[1], 14)
    _mark(axis, result.minimax, "minimax", "D", PALETTE[3], 8)
    lo, hi = min(n), max(n)
    pad = max(1.0, 0.08 * (hi - lo))
    axis.set_xlim(lo - pad, hi + 3 * pad)
    _style(axis, "maximum sample size n", "EN(p0)", title)
    _legend(axis, loc="upper right")
    return fig


# ---------------------------------------------------------------------------
# Type I error over the null region, and the borrowing trade-off
# ---------------------------------------------------------------------------
def null_region_plot(result: Any, *, listed: Any = None, ax: Any = None) -> Figure:
    """Each cohort's type I error against each neighbour's true rate.

    Parameters
    ----------
    result : NullRegion or BorrowingSummary
        From :func:`adaptive2.engines.null_region.null_region` (one row of panels: type I
        error) or :func:`adaptive2.engines.borrowing.borrowing_summary` (a second row:
        power at the cohort's p1; both rows with the matched independent twin
        dashed).
    listed : xarray.Dataset, optional
        :func:`adaptive2.engines.cohort_exact.cohort_oc` of the listed scenarios: each
        scenario where a cohort is null is marked on its panel.
    ax : sequence of matplotlib Axes, optional
        One per panel (cohort × neighbour, type I error row first).

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    The type I error curve is the supremum over the cohort's own null rates
    [0, p0] at each neighbour rate (the other neighbours, with three or more
    cohorts, also at their worst), on the search's coarse grid; the refined
    supremum is marked with a dot. The shaded band is outside the neighbour's
    declared plausible range.
    """
    owner = "null_region_plot"
    nr, summary = _null_region_iv(result, owner)
    pairs = [(c, o) for c in nr.cohorts for o in nr.cohorts[c].surface.dims if o != c]
    rows = 2 if summary is not None else 1
    n = len(pairs) * rows
    if ax is None:
        fig = _svg_figure_class()(
            figsize=(FIGSIZE[0], 2.6 * rows * max(1, (len(pairs) + 1) // 2)), layout="constrained"
        )
        cols = min(2, len(pairs))
        grid = fig.subplots(rows * ((len(pairs) + cols - 1) // cols), cols, squeeze=False)
        axes = list(np.ravel(grid))[:n]
        for extra in list(np.ravel(grid))[n:]:
            extra.set_visible(False)
    else:
        fig, axes = _axes(ax, n, owner)
    for i, (c, o) in enumerate(pairs):
        sup = nr.cohorts[c]
        axis = axes[i]
        curve = sup.curve(o)
        x = curve[o].values
        axis.plot(x, curve.values, color=PALETTE[0], lw=1.5, label="with borrowing",
                  gid=f"type1-{i}")
        if summary is not None:
            cv = summary.curves[(summary.curves["cohort"] == c) & (summary.curves["against"] == o)]
            axis.plot(cv["rate"], cv["type1_independent"], color=PALETTE[1], lw=1.2,
                      ls=(0, (6, 2)), label="independent (matched α)", gid=f"type1-ind-{i}")
        if nr.alpha is not None:
            axis.axhline(nr.alpha, color="0.35", ls="--", lw=0.9, label=f"α = {nr.alpha:g}",
                         gid=f"alpha-{i}")
        lo, hi = nr.ranges[o]
        for a, b in ((0.0, lo), (hi, 1.0)):
            if b > a:
                axis.axvspan(a, b, color="0.85", alpha=0.6, lw=0, gid=f"outside-{i}")
        axis.plot([sup.argmax[o]], [sup.max_type1], "o", color=PALETTE[0], ms=5,
                  label=f"max {sup.max_type1:.4f}", gid=f"argmax-{i}")
        if listed is not None:
            _mark_listed(axis, listed, c, o, i)
        top = max(float(np.nanmax(curve.values)), nr.alpha or 0.0, sup.max_type1)
        axis.set_ylim(0, top * 1.3 if top > 0 else 0.1)
        axis.set_xlim(0, 1)
        _style(axis, f"true rate of {_plain(o)}", "type I error",
               f"{c}: P(efficacy) at p ≤ p0 = {sup.p0:g}")
        _legend(axis, loc="best")
        if summary is not None:
            axis = axes[len(pairs) + i]
            cv = summary.curves[(summary.curves["cohort"] == c) & (summary.curves["against"] == o)]
            axis.plot(cv["rate"], cv["power"], color=PALETTE[0], lw=1.5, label="with borrowing",
                      gid=f"power-{i}")
            axis.plot(cv["rate"], cv["power_independent"], color=PALETTE[1], lw=1.2,
                      ls=(0, (6, 2)), label="independent (matched α)", gid=f"power-ind-{i}")
            for a, b in ((0.0, lo), (hi, 1.0)):
                if b > a:
                    axis.axvspan(a, b, color="0.85", alpha=0.6, lw=0)
            axis.set_ylim(0, 1.02)
            axis.set_xlim(0, 1)
            _style(axis, f"true rate of {_plain(o)}", "power", f"{c}: power at its p1")
            _legend(axis, loc="lower right")
    return fig


def _null_region_iv(result: Any, owner: str) -> tuple[Any, Any]:
    nr = getattr(result, "null_region", None)
    if nr is not None and hasattr(result, "curves"):
        return nr, result
    if hasattr(result, "cohorts") and hasattr(result, "max_fwer"):
        return result, None
    raise fail("result", owner, "a NullRegion or a BorrowingSummary", type(result).__name__)


def _mark_listed(axis: Axes, ds: Any, cohort: str, against: str, i: int) -> None:
    roles = ds["role"].sel(cohort=cohort).values
    x = ds["rate"].sel(cohort=against).values
    y = ds["p_efficacy"].sel(cohort=cohort).values
    null = roles == "null"
    if null.any():
        axis.plot(x[null], y[null], "^", color=PALETTE[2], ms=5, ls="none",
                  label="listed scenarios", gid=f"listed-{i}")


# ---------------------------------------------------------------------------
# Toxicity co-monitoring: P(stop for toxicity) against the true toxicity rate
# ---------------------------------------------------------------------------
_TOX_STEP = 0.01


def toxicity_oc_plot(
    design: Any,
    rates: Sequence[float] | None = None,
    *,
    p: Sequence[float] | None = None,
    ax: Any = None,
) -> Figure:
    """P(stop for toxicity) and expected N against the true toxicity rate (exact).

    One curve per true response rate, from the joint efficacy-toxicity dynamic
    programme (:func:`adaptive2.engines.toxicity_oc.oc_toxicity`), so that the
    efficacy rules' own stops (which end the toxicity monitoring too) are counted.
    The monitor's acceptable and limit rates are drawn as vertical lines, and each
    curve's value there is marked and written.

    Parameters
    ----------
    design : Design
        A single-cohort design with a toxicity monitor (``design.toxicity``);
        its odds ratio between response and toxicity
        (``design.toxicity_odds_ratio``) is used.
    rates : sequence of float, optional
        True toxicity rates in [0, 1] (at least two; sorted, the acceptable and
        limit rates added). Default 0, 0.01, ..., 0.5 (up to 1.5 × the limit,
        rounded up to 0.05, when the limit is above 1/3).
    p : sequence of float, optional
        True response rates, one curve each. Default the design's p0 (the mean
        of its Beta when p0 is uncertain) and p1.
    ax : pair of matplotlib Axes, optional
        Axes for the P(stop for toxicity) and expected-N panels.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    DesignError
        If ``design`` has no toxicity monitor, or ``rates`` or ``p`` are invalid.
    """
    owner = "toxicity_oc_plot"
    monitor, grid, curves = _toxicity_plot_iv(design, rates, p, owner)
    scen = [Scenario(label, pr, "other") for label, pr in curves]
    ds = oc_toxicity(design, scen, tox=[float(x) for x in grid])
    fig, (ax_tox, ax_n) = _axes(ax, 2, owner)
    marks = (("acceptable", monitor.acceptable), ("limit", monitor.limit))
    for name, value in marks:
        for axis, panel in ((ax_tox, "p_stop_toxicity"), (ax_n, "expected_n")):
            axis.axvline(value, color="0.35", ls="--" if name == "limit" else ":", lw=0.9,
                         label=f"{name} = {value:g}" if axis is ax_tox else "_nolegend_",
                         gid=f"{panel}-{name}")
    q_all = np.asarray(ds["toxicity_rate"].values, dtype=float)
    p_all = np.asarray(ds["p"].values, dtype=float)
    top_n = 0.0
    for i, (label, pr) in enumerate(curves):
        rows = np.flatnonzero(np.isclose(p_all, pr, rtol=0.0, atol=1e-12))
        rows = rows[np.argsort(q_all[rows], kind="stable")]
        x = q_all[rows]
        stop = np.asarray(ds["p_stop_toxicity"].values, dtype=float)[rows]
        en = np.asarray(ds["expected_n"].values, dtype=float)[rows]
        colour = PALETTE[i % len(PALETTE)]
        style = "-" if i == 0 else (0, (6, 2))
        ax_tox.plot(x, stop, color=colour, ls=style, lw=1.6, label=_entry(label),
                    gid=f"p_stop_toxicity-{i + 1}")
        ax_n.plot(x, en, color=colour, ls=style, lw=1.6, label=_entry(label),
                  gid=f"expected_n-{i + 1}")
        top_n = max(top_n, float(np.nanmax(en)))
        for name, value in marks:
            k = int(np.argmin(np.abs(x - value)))
            ax_tox.plot([x[k]], [stop[k]], "o", color=colour, ms=4, gid=f"{name}-{i + 1}")
            ax_tox.annotate(f"{stop[k]:.3f}", (x[k], stop[k]), textcoords="offset points",
                            xytext=(4, -10 if i == 0 else 4), fontsize=_NOTE_SIZE, color=colour)
    for axis in (ax_tox, ax_n):
        axis.set_xlim(float(grid[0]), float(grid[-1]))
    ax_tox.set_ylim(-0.02, 1.02)
    ax_n.set_ylim(0, top_n * 1.06 if top_n > 0 else 1)
    _style(ax_tox, "true toxicity rate", "P(stop for toxicity)", "Probability of a toxicity stop")
    _style(ax_n, "true toxicity rate", "expected N (patients)", "Expected sample size")
    _legend(ax_tox, loc="upper left")
    return fig


def _toxicity_plot_iv(
    design: Any, rates: Any, p: Any, owner: str
) -> tuple[Any, np.ndarray, list[tuple[str, float]]]:
    """The monitor, the sorted toxicity grid and the (label, response rate) of each curve."""
    monitor = getattr(design, "toxicity", None)
    if not isinstance(design, Design) or monitor is None:
        raise fail("design", owner, "a single-cohort Design with a toxicity monitor",
                   getattr(design, "name", type(design).__name__))
    if rates is None:
        hi = 0.5 if monitor.limit <= 1 / 3 else min(1.0, np.ceil(monitor.limit * 30) / 20)
        grid = np.linspace(0.0, hi, round(hi / _TOX_STEP) + 1)
    else:
        allowed = "at least two distinct true toxicity rates in [0, 1]"
        if isinstance(rates, str | bytes):
            raise fail("rates", owner, allowed, rates)
        try:
            grid = np.asarray(rates, dtype=float)
        except (TypeError, ValueError):
            raise fail("rates", owner, allowed, rates) from None
        if grid.ndim != 1 or not np.all(np.isfinite(grid)) or np.any((grid < 0) | (grid > 1)):
            raise fail("rates", owner, allowed, rates)
        if np.unique(grid).size < 2:
            raise fail("rates", owner, allowed, rates)
    grid = np.unique(np.round(np.concatenate([grid, [monitor.acceptable, monitor.limit]]), 10))
    if p is None:
        curves: list[tuple[str, float]] = []
        for name, value in (("p0", design.p0), ("p1", design.p1)):
            v = _planning_value(value, name, owner)
            if v is not None and all(abs(v - q) > 1e-12 for _, q in curves):
                curves.append((f"response at {name} = {v:g}", v))
        if not curves:
            raise fail("p", owner, "true response rates (the design sets neither p0 nor p1)", p)
        return monitor, grid, curves
    if isinstance(p, str | bytes) or not isinstance(p, Sequence | np.ndarray):
        p = [p]
    values = [check_probability(v, "p", owner, closed=True) for v in p]
    if not values or len(set(values)) != len(values):
        raise fail("p", owner, "distinct true response rates in [0, 1]", list(p))
    return monitor, grid, [(f"response rate {v:g}", v) for v in values]
