"""Figure plumbing shared by every plot: palette, sizes, styles, axes, SVG and PNG output.

Every plot draws with :class:`matplotlib.figure.Figure` directly (no ``pyplot``,
no global backend state) and imports matplotlib only when called. A figure made
here (no ``ax`` given) is an ``SVGFigure``, a Figure subclass whose
``_repr_svg_`` is :func:`to_svg`, so it shows as inline SVG in Jupyter.
:func:`to_svg` renders deterministic SVG text (same figure, same bytes; element
ids made unique per figure) and :func:`to_png` PNG bytes.
"""

from __future__ import annotations

import functools
import hashlib
import io
import re
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from adaptive2._base.validation import check_probability, check_real, fail
from adaptive2.model.priors import Beta

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.typing import RcKeyType


__all__ = ["FIGSIZE", "PALETTE", "to_png", "to_svg"]


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


_PLANNING: dict[str, Any] = {"color": "0.35", "linestyle": "--", "linewidth": 0.9}


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
    rc: dict[RcKeyType, Any] = {
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
        # an Axes drawn here always belongs to a figure (the stubs allow None)
        return cast("Figure", ax.get_figure(root=True))
    except TypeError:  # matplotlib < 3.10
        fig = ax.figure
        while getattr(fig, "figure", fig) is not fig:  # a SubFigure
            fig = fig.figure
        return cast("Figure", fig)  # the root: no longer a SubFigure


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
    label = _plain(text)
    return "\u200b" + label if label.startswith("_") else label


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

    if isinstance(value, Beta):  # uncertain standard rate: mark its mean
        return value.mean
    return check_probability(value, name, owner)


def _is_dataset(obj: Any) -> bool:
    xr = sys.modules.get("xarray")
    return xr is not None and isinstance(obj, xr.Dataset)


def _is_cohort_design(obj: Any) -> bool:
    mc = sys.modules.get("adaptive2.model.cohorts")
    return mc is not None and isinstance(obj, mc.CohortDesign)
