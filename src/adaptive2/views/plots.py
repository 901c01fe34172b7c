"""Plots for notebooks and the protocol-appendix report.

Every function draws with :class:`matplotlib.figure.Figure` directly (no
``pyplot``, no global backend state) and imports matplotlib only when called,
so ``import adaptive2.views.plots`` stays cheap. Each takes an optional ``ax`` to draw
on (its figure is returned) and otherwise makes a small print-friendly figure
(6.5 x 3.2 inches) in the Okabe–Ito colour-blind-safe palette, with line styles
and hatches that survive greyscale printing.

:func:`to_svg` renders a figure as deterministic SVG text for inline embedding
in HTML (same figure, same bytes; element ids made unique per figure), and
:func:`to_png` as PNG bytes.

Result objects plot themselves with these functions: ``result.plot()`` on
:class:`~adaptive2.engines.analysis.AnalysisResult` (:func:`analysis_plot`),
:class:`~adaptive2.engines.calibration.CalibrationResult` (:func:`calibration_plot`),
:class:`~adaptive2.engines.search.SearchResult` (:func:`search_plot`),
:class:`~adaptive2.engines.simon.SimonResult` (:func:`simon_plot`),
:class:`~adaptive2.model.designs.Design` and :class:`~adaptive2.model.designs.Boundaries`
(:func:`boundary_chart`), :class:`~adaptive2.model.cohorts.CohortDesign`
(:func:`cohort_boundary_chart`) and the priors (:func:`prior_density`); OC
Datasets through the ``a2`` accessor, ``ds.a2.plot()`` (:func:`dataset_plot`)
and ``ds.a2.table()``, which ``import adaptive2.views.accessor`` registers (importing
this module does it too).

Display in Jupyter: a figure made here (no ``ax`` given) is a
``SVGFigure``, a :class:`matplotlib.figure.Figure` subclass whose
``_repr_svg_`` is :func:`to_svg`, so a plot returned as the last expression of
a cell is shown as inline SVG with no ``%matplotlib`` magic and no pyplot.
A figure you pass in through ``ax`` is returned as it is (display it as you
would any of your figures, or with ``IPython.display.SVG(to_svg(fig))``).

Examples
--------
>>> from adaptive2 import Beta, Design, PosteriorProbability
>>> from adaptive2.views.plots import boundary_chart, to_svg
>>> d = Design(name="one-look", prior=Beta(1, 1), looks=(20,),
...            final=PosteriorProbability(p0=0.2, cutoff=0.95))
>>> svg = to_svg(boundary_chart(d))
>>> svg.startswith("<svg")
True
"""

from __future__ import annotations

import functools
import hashlib
import io
import re
import sys
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

import adaptive2.views.accessor  # noqa: F401 - registers the Dataset accessor `a2`
from adaptive2._base.errors import DesignError
from adaptive2._base.validation import check_choice, check_probability, check_real, fail

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "FIGSIZE",
    "PALETTE",
    "analysis_plot",
    "boundary_chart",
    "calibration_plot",
    "cohort_boundary_chart",
    "cohort_oc_plot",
    "dataset_plot",
    "null_region_plot",
    "oc_curves",
    "prior_density",
    "search_plot",
    "simon_plot",
    "to_png",
    "to_svg",
    "weight_curve_plot",
]

#: Okabe & Ito (2008) colour-blind-safe palette (yellow last: weak on white paper).
PALETTE = (
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#000000",  # black
    "#F0E442",  # yellow
)
#: Default figure size in inches (fits a portrait page with margins).
FIGSIZE = (6.5, 3.2)
_LINESTYLES = ("-", (0, (6, 2)), "-.", (0, (1, 1.5)))
_PLANNING = {"color": "0.35", "linestyle": "--", "linewidth": 0.9}
_LABEL_SIZE = 9
_TICK_SIZE = 8
_LEGEND_SIZE = 7.5
_NOTE_SIZE = 7
_SVG_SALT = "adaptive2"
_ID_PREFIX = re.compile(r"[A-Za-z][A-Za-z0-9_-]*\Z")
_HASHED_ID = re.compile(r"(.*?)([0-9a-f]{10})")  # matplotlib's _make_id: type + 10 hex digits
_DEFAULT_RATES = np.round(np.linspace(0.0, 1.0, 101), 10)


# ---------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------
def to_svg(fig: Figure, *, id_prefix: str | None = None, text_as_paths: bool = True) -> str:
    """SVG text of ``fig`` for inline embedding in HTML.

    The XML prolog and DOCTYPE are stripped, the date is left out, ids are
    derived from a fixed salt and matplotlib's content-hash ids are numbered
    by order of appearance, so the same figure gives byte-identical text.
    Every element id (and every reference to it) is then prefixed so that
    several figures can sit in one HTML page without their glyph, clip-path or
    marker definitions clashing, and matplotlib's ``*{...}`` style rule is
    scoped to this figure's ``<svg>`` element (``id="<prefix>svg"``).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    id_prefix : str, optional
        Prefix of every id (a letter, then letters, digits, ``_`` or ``-``).
        Default: ``"a2"`` and the first 10 hex digits of the SHA-256 of the
        SVG, so distinct figures get distinct prefixes deterministically.
        ``""`` leaves the ids unprefixed (the root is ``id="svg"``).
    text_as_paths : bool
        True (default): glyphs are drawn as paths, so the figure looks the same
        in any viewer. False: text stays text (smaller, searchable, but drawn
        in the viewer's fonts).

    Returns
    -------
    str
        Starts with ``<svg``.
    """
    import matplotlib as mpl

    _check_figure(fig, "to_svg")
    if id_prefix is not None and id_prefix != "" and not _is_prefix(id_prefix):
        raise fail("id_prefix", "to_svg", "a letter followed by letters, digits, _ or -", id_prefix)
    if not isinstance(text_as_paths, bool):
        raise fail("text_as_paths", "to_svg", "True or False", text_as_paths)
    rc = {
        "svg.hashsalt": _SVG_SALT,
        "svg.fonttype": "path" if text_as_paths else "none",
        "svg.id": "svg",
    }
    buf = io.StringIO()
    with mpl.rc_context(rc):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    text = buf.getvalue()
    text = _canonical_ids(text[text.index("<svg") :].rstrip() + "\n")
    if id_prefix is None:
        id_prefix = "a2" + hashlib.sha256(text.encode()).hexdigest()[:10] + "-"
    if not id_prefix:
        return text
    text = _rename_ids(text, {name: id_prefix + name for name in _svg_ids(text)})
    style = '<style type="text/css">*{'
    return text.replace(style, f'<style type="text/css">#{id_prefix}svg *{{', 1)


def to_png(fig: Figure, *, dpi: float = 150) -> bytes:
    """PNG bytes of ``fig`` at ``dpi`` dots per inch."""
    _check_figure(fig, "to_png")
    dpi = check_real(dpi, "dpi", "to_png", low=10.0, high=2400.0)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return buf.getvalue()


def _is_prefix(value: Any) -> bool:
    return isinstance(value, str) and _ID_PREFIX.match(value) is not None


def _svg_ids(text: str) -> list[str]:
    """Element ids in order of first appearance."""
    return list(dict.fromkeys(re.findall(r'\bid="([^"]+)"', text)))


def _canonical_ids(text: str) -> str:
    """Replace matplotlib's content-hash ids by their rank of appearance.

    Clip-path ids hash the clip rectangle's float bounds, which a constrained
    layout moves by ~1e-13 at every draw: the same figure saved twice would
    differ in those ids alone. Numbering them by order of appearance removes
    that noise (distinct hashes keep distinct names).
    """
    mapping: dict[str, str] = {}
    counts: dict[str, int] = {}
    for name in _svg_ids(text):
        m = _HASHED_ID.fullmatch(name)
        if m is not None:
            kind = m.group(1) or "id"
            counts[kind] = counts.get(kind, 0) + 1
            mapping[name] = f"{kind}-{counts[kind]}"
    return _rename_ids(text, mapping)


def _rename_ids(text: str, mapping: dict[str, str]) -> str:
    """Rename ids in ``id`` attributes and in in-document references to them."""
    if not mapping:
        return text

    def sub(m: re.Match[str]) -> str:
        new = mapping.get(m.group(2))
        return m.group(0) if new is None else f"{m.group(1)}{new}{m.group(3)}"

    text = re.sub(r'(\bid=")([^"]+)(")', sub, text)
    text = re.sub(r'(href="#)([^"]+)(")', sub, text)
    return re.sub(r"(url\(#)([^)]+)(\))", sub, text)


@functools.cache
def _svg_figure_class() -> type[Figure]:
    """``SVGFigure``: a Figure that IPython displays through :func:`to_svg` (built lazily)."""
    from matplotlib.figure import Figure

    class SVGFigure(Figure):
        """A :class:`matplotlib.figure.Figure` that Jupyter displays as inline SVG.

        ``_repr_svg_`` returns :func:`to_svg` of the figure (ids prefixed by a
        content hash, so several figures can share one notebook page). It is an
        ordinary Figure otherwise: save it, draw on it, pass it to :func:`to_png`.
        """

        def _repr_svg_(self) -> str:
            return to_svg(self)

    SVGFigure.__module__ = __name__
    SVGFigure.__qualname__ = "SVGFigure"  # pickled by reference: adaptive2.views.plots.SVGFigure
    return SVGFigure


def __getattr__(name: str) -> Any:
    # PEP 562: ``adaptive2.views.plots.SVGFigure`` subclasses a matplotlib class, so it is
    # built on first use; matplotlib stays unimported until a plot is drawn.
    if name == "SVGFigure":
        return _svg_figure_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _check_figure(fig: Any, owner: str) -> None:
    from matplotlib.figure import Figure

    if not isinstance(fig, Figure):
        raise fail("fig", owner, "a matplotlib Figure", type(fig).__name__)


# ---------------------------------------------------------------------------
# Shared helpers
# ---------------------------------------------------------------------------
def _axes(ax: Any, n: int, owner: str, *, stack: bool = False) -> tuple[Figure, list[Axes]]:
    """A new figure with ``n`` panels in a row (``stack``: in a column), or the user's axes.

    A new figure is an ``SVGFigure`` (displayed as inline SVG in Jupyter).
    """
    from matplotlib.axes import Axes

    if ax is None:
        size = (FIGSIZE[0], FIGSIZE[1] * n) if stack else FIGSIZE
        fig = _svg_figure_class()(figsize=size, layout="constrained")
        rows, cols = (n, 1) if stack else (1, n)
        return fig, list(np.atleast_1d(fig.subplots(rows, cols)))
    if n == 1:
        if not isinstance(ax, Axes):
            raise fail("ax", owner, "a matplotlib Axes or None", type(ax).__name__)
        return _root_figure(ax), [ax]
    allowed = f"a sequence of {n} matplotlib Axes (one per panel) or None"
    if isinstance(ax, Axes | str) or not isinstance(ax, Iterable):
        raise fail("ax", owner, allowed, type(ax).__name__)
    axes = list(np.ravel(np.asarray(ax, dtype=object)))
    if len(axes) != n or not all(isinstance(a, Axes) for a in axes):
        raise fail("ax", owner, allowed, [type(a).__name__ for a in axes])
    return _root_figure(axes[0]), axes


def _root_figure(ax: Axes) -> Figure:
    try:
        return ax.get_figure(root=True)  # type: ignore[call-arg,return-value]
    except TypeError:  # matplotlib < 3.10
        fig = ax.figure
        while getattr(fig, "figure", fig) is not fig:  # a SubFigure
            fig = fig.figure  # type: ignore[assignment]
        return fig  # type: ignore[return-value]


def _plain(text: Any) -> str:
    """User text (a design, cohort, scenario or prior label) drawn as it is.

    Every ``$`` is escaped, so that matplotlib never reads the text as mathtext:
    a name such as ``"$x^$"`` would otherwise raise a ValueError when the figure
    is drawn, and ``"a $b$"`` would be typeset as maths.
    """
    return str(text).replace("$", r"\$")


def _entry(text: Any) -> str:
    """A legend label from user text: :func:`_plain`, and kept if it starts with ``_``.

    matplotlib leaves out of legends every label that starts with an
    underscore; such a label gets a zero-width space in front (invisible).
    """
    text = _plain(text)
    return "\u200b" + text if text.startswith("_") else text


def _style(ax: Axes, xlabel: str, ylabel: str, title: str | None = None) -> None:
    """Axis labels, title (names in it drawn literally), grid and spines."""
    ax.set_xlabel(xlabel, fontsize=_LABEL_SIZE)
    ax.set_ylabel(ylabel, fontsize=_LABEL_SIZE)
    if title:
        ax.set_title(_plain(title), fontsize=_LABEL_SIZE)
    ax.tick_params(labelsize=_TICK_SIZE)
    ax.grid(True, color="0.88", linewidth=0.6)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _legend(ax: Axes, **kwargs: Any) -> None:
    handles, _ = ax.get_legend_handles_labels()
    if handles:
        ax.legend(fontsize=_LEGEND_SIZE, framealpha=0.9, **kwargs)


def _line_style(i: int) -> dict[str, Any]:
    n = len(PALETTE)
    return {"color": PALETTE[i % n], "linestyle": _LINESTYLES[(i // n + i) % len(_LINESTYLES)]}


def _planning_lines(
    ax: Axes, p0: float | None, p1: float | None, *, label: bool, panel: str
) -> None:
    for name, value in (("p0", p0), ("p1", p1)):
        if value is not None:
            text = f"{name} = {value:g}" if label else "_nolegend_"
            ax.axvline(value, label=text, gid=f"{panel}-{name}", **_PLANNING)


def _planning_value(value: Any, name: str, owner: str) -> float | None:
    if value is None:
        return None
    from adaptive2.model.priors import Beta

    if isinstance(value, Beta):  # uncertain standard rate: mark its mean
        return value.mean
    return check_probability(value, name, owner)


def _is_dataset(obj: Any) -> bool:
    xr = sys.modules.get("xarray")
    return xr is not None and isinstance(obj, xr.Dataset)


def _is_cohort_design(obj: Any) -> bool:
    mc = sys.modules.get("adaptive2.model.cohorts")
    return mc is not None and isinstance(obj, mc.CohortDesign)


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
        ``oc`` (one design, or several along ``design``).
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
    from adaptive2.engines.exact import oc

    curves = []
    for d in items:
        ds = oc(d, grid)
        curves.append(
            _Curve(d.name, grid, ds["p_efficacy"].values, ds["expected_n"].values)  # type: ignore[arg-type]
        )
    first = items[0]
    planning = (
        _planning_value(first.p0 if p0 is None else p0, "p0", owner),
        _planning_value(first.p1 if p1 is None else p1, "p1", owner),
    )
    return curves, planning


def _single_cohort_designs(designs: Any) -> list[Any]:
    from adaptive2.model.designs import Design

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
    from adaptive2.model.designs import Boundaries, Design

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
        style = {"color": PALETTE[i % len(PALETTE)], "linestyle": "--" if i >= len(curves) else "-"}
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
    from adaptive2.model.priors import Beta, BetaMixture, PriorSpec

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
        As returned by :func:`adaptive2.model.cohorts.cohort_oc`: ``p_efficacy``
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
        of :func:`~adaptive2.model.cohorts.cohort_oc` or a multi-cohort
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
# Analyses (analyze)
# ---------------------------------------------------------------------------
_PRIOR_STYLE = {"color": PALETTE[0], "linestyle": "-", "lw": 1.6}
_POSTERIOR_STYLE = {"color": PALETTE[1], "linestyle": "--", "lw": 1.6}
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
    posterior of :func:`adaptive2.model.hierarchical.posterior` (the same masses,
    whose mean is the result's ``mean``): cell masses m_i on the θ grid,
    drawn as the density of p_j = expit(θ + o_j), m_i / (h p (1 − p)). The
    prior is the same computation with no trial data in any cohort (historical
    strata included): the model's prior of p_j. With ``engine="pymc"`` the NUTS
    mean and interval are drawn as a second marker.
    """
    from adaptive2.engines.analysis import AnalysisResult

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
    from adaptive2.model.designs import Design

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
    from adaptive2.model.priors import Beta, BetaMixture

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
        return _Panel(title, (), None, "no density in the result:\nuse result.plot(design)")
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
    from adaptive2.model.hierarchical import posterior_density

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
        y = _MARK_Y[key]
        axis.plot([lo, hi], [y, y], color=colour, lw=2.2, solid_capstyle="butt",
                  transform=on_axis, gid=f"{key}-interval-{k}", label="_nolegend_")
        axis.plot([mean], [y], marker="o", ms=5, color=colour, ls="none", transform=on_axis,
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
    from adaptive2.engines.calibration import CalibrationResult

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
        From :func:`~adaptive2.engines.search.lee_liu`,
        :func:`~adaptive2.engines.search.design_search`
        or :func:`~adaptive2.engines.search.pareto`.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    from adaptive2.engines.search import SearchResult

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
    from adaptive2.engines.simon import SimonResult

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
    from adaptive2.model.designs import Boundaries

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
        :func:`adaptive2.model.cohorts.cohort_oc` of the listed scenarios: each
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
