"""``adaptive2.plot(obj)`` and ``adaptive2.html_card(obj)``: views chosen by type.

Designs, priors and results know nothing of figures or HTML. These two
:func:`functools.singledispatch` functions give each type its natural plot
(:mod:`adaptive2.views.plots`) and its HTML card (:mod:`adaptive2.views.cards`).
``import adaptive2`` in IPython registers :func:`html_card` with the notebook's
HTML formatter for every type with a card (``adaptive2._CARD_TYPES``), so a design or a
result shown as the last expression of a cell renders as its card.

Examples
--------
>>> import adaptive2 as a2
>>> d = a2.Design(name="one-look", prior=a2.Beta(1, 1), looks=(20,),
...               final=a2.PosteriorProbability(p0=0.2, cutoff=0.95))
>>> a2.html_card(d.boundaries()).startswith('<div class="a2-card">')
True
>>> type(a2.plot(d)).__name__
'SVGFigure'
"""

from __future__ import annotations

import functools
import html
from typing import Any

from adaptive2._base.errors import DesignError
from adaptive2.engines.analysis_results import AnalysisResult
from adaptive2.engines.borrowing import BorrowingSummary
from adaptive2.engines.calibration import CalibrationResult
from adaptive2.engines.null_region import NullRegion
from adaptive2.engines.search import SearchResult
from adaptive2.engines.simon import SimonDesign, SimonResult
from adaptive2.model.cohorts import CohortDesign
from adaptive2.model.designs import Boundaries, Design
from adaptive2.model.hierarchical import Model
from adaptive2.model.priors import Beta, BetaMixture
from adaptive2.views import cards
from adaptive2.views.oc_plots import boundary_chart, cohort_boundary_chart
from adaptive2.views.result_plots import (
    analysis_plot,
    calibration_plot,
    null_region_plot,
    prior_density,
    search_plot,
    simon_plot,
)

__all__ = ["html_card", "plot"]

@functools.singledispatch
def plot(obj: Any, **kwargs: Any) -> Any:
    """The natural figure of an adaptive2 object.

    Designs and boundaries: the boundary chart; a multi-cohort design: the
    per-cohort boundary chart; a prior: its density (``p0=``, ``p1=`` as dashed
    lines); calibration, search, Simon and analysis results: their plots (an
    analysis of a multi-cohort design takes ``design=`` for the densities); a
    null region or borrowing summary: each cohort's type I error (and power)
    against the other cohorts' rates (``listed=`` marks the listed scenarios).
    Every form takes ``ax=``.
    """
    raise DesignError(f"`obj` of plot must be an adaptive2 design, prior or result; got "
                      f"{type(obj).__name__!r}.")


@plot.register
def _(obj: Design, **kwargs: Any) -> Any:
    return boundary_chart(obj, **kwargs)


@plot.register
def _(obj: Boundaries, **kwargs: Any) -> Any:
    return boundary_chart(obj, **kwargs)


@plot.register
def _(obj: CohortDesign, **kwargs: Any) -> Any:
    return cohort_boundary_chart(obj, **kwargs)


@plot.register(Beta)
@plot.register(BetaMixture)
def _(obj: Any, **kwargs: Any) -> Any:
    return prior_density(obj, **kwargs)


@plot.register
def _(obj: CalibrationResult, **kwargs: Any) -> Any:
    return calibration_plot(obj, **kwargs)


@plot.register
def _(obj: SearchResult, **kwargs: Any) -> Any:
    return search_plot(obj, **kwargs)


@plot.register
def _(obj: SimonResult, **kwargs: Any) -> Any:
    return simon_plot(obj, **kwargs)


@plot.register
def _(obj: AnalysisResult, **kwargs: Any) -> Any:
    design = kwargs.pop("design", None)
    return analysis_plot(obj, design, **kwargs)


@plot.register(NullRegion)
@plot.register(BorrowingSummary)
def _(obj: Any, **kwargs: Any) -> Any:
    return null_region_plot(obj, **kwargs)


@functools.singledispatch
def html_card(obj: Any) -> str:
    """The HTML card of an adaptive2 object (its escaped text for any other object)."""
    return f"<pre>{html.escape(str(obj))}</pre>"


html_card.register(Design, cards.design_card)
html_card.register(Boundaries, cards.boundaries_card)
html_card.register(CohortDesign, cards.cohort_design_card)
html_card.register(Model, cards.model_card)
html_card.register(Beta, cards.prior_card)
html_card.register(BetaMixture, cards.prior_card)
html_card.register(AnalysisResult, cards.analysis_card)
html_card.register(CalibrationResult, cards.calibration_card)
html_card.register(NullRegion, cards.null_region_card)
html_card.register(SearchResult, cards.search_card)
html_card.register(SimonDesign, cards.simon_card)
