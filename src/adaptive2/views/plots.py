"""Plots for notebooks and the protocol-appendix report (the public collection).

Every function draws with :class:`matplotlib.figure.Figure` directly (no
``pyplot``, no global backend state) and imports matplotlib only when called.
Each takes an optional ``ax`` to draw on (its figure is returned) and otherwise
makes a small print-friendly figure (6.5 x 3.2 inches) in the Okabe–Ito
colour-blind-safe palette, with line styles and hatches that survive greyscale
printing. The functions are defined in :mod:`adaptive2.views.figures` (plumbing:
SVG/PNG output, styles), :mod:`adaptive2.views.oc_plots` (designs and OC) and
:mod:`adaptive2.views.result_plots` (priors and results); this module gathers
them for users.

``adaptive2.plot(obj)`` draws the natural plot of any adaptive2 object (a design,
boundaries, a prior, a calibration, search, Simon, analysis or null-region
result); OC Datasets plot themselves with ``ds.a2.plot()``.

Display in Jupyter: a figure made here (no ``ax`` given) is a ``SVGFigure``, a
:class:`matplotlib.figure.Figure` subclass whose ``_repr_svg_`` is
:func:`to_svg`, so a plot returned as the last expression of a cell is shown as
inline SVG with no ``%matplotlib`` magic and no pyplot.

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

from typing import Any

from adaptive2.views.figures import FIGSIZE, PALETTE, to_png, to_svg
from adaptive2.views.figures import __getattr__ as _figures_getattr
from adaptive2.views.oc_plots import (
    boundary_chart,
    cohort_boundary_chart,
    cohort_oc_plot,
    dataset_plot,
    oc_curves,
)
from adaptive2.views.result_plots import (
    analysis_plot,
    calibration_plot,
    null_region_plot,
    prior_density,
    search_plot,
    simon_plot,
    weight_curve_plot,
)

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


def __getattr__(name: str) -> Any:
    # ``SVGFigure`` subclasses a matplotlib class, so it is built on first use.
    return _figures_getattr(name)
