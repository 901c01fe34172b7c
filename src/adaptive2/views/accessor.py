"""The ``a2`` accessor of :class:`xarray.Dataset`: ``ds.a2.plot()`` and ``ds.a2.table()``.

The results of :func:`adaptive2.engines.exact.oc`, :func:`adaptive2.model.cohorts.cohort_oc` and
:func:`adaptive2.engines.montecarlo.simulate` register it themselves; otherwise run (importing
:mod:`adaptive2.views.plots` does it too)::

    import adaptive2.views.accessor

Every Dataset then has an ``a2`` attribute. The OC results of
:func:`adaptive2.engines.exact.oc`, :func:`adaptive2.engines.montecarlo.simulate` and
:func:`adaptive2.model.cohorts.cohort_oc` plot themselves with
``ds.a2.plot()`` (OC curves for single-cohort designs, one per design;
P(efficacy) bars per scenario and cohort for multi-cohort designs) and give
their MCSE-aware table with ``ds.a2.table()``. The accessor is not registered by
``import adaptive2`` (which must not import xarray).

Examples
--------
>>> import adaptive2 as a2
>>> import adaptive2.views.accessor
>>> d = a2.Design(name="one-look", prior=a2.Beta(1, 1), looks=(20,),
...               final=a2.PosteriorProbability(p0=0.2, cutoff=0.95))
>>> ds = a2.oc(d, [0.2, 0.4])
>>> print(ds.a2.table()[["scenario", "p_efficacy"]].to_string(index=False))
scenario  p_efficacy
   p=0.2      0.0867
   p=0.4      0.7500
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import xarray as xr

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from matplotlib.figure import Figure

__all__ = ["A2DatasetAccessor"]


@xr.register_dataset_accessor("a2")
class A2DatasetAccessor:
    """``ds.a2``: plots and tables of an adaptive2 OC Dataset.

    Parameters
    ----------
    ds : xarray.Dataset
    """

    def __init__(self, ds: xr.Dataset) -> None:
        self._ds = ds

    def plot(
        self, *, p0: float | None = None, p1: float | None = None, ax: Any = None
    ) -> Figure:
        """OC curves (single cohort) or P(efficacy) bars (several cohorts).

        See :func:`adaptive2.views.plots.dataset_plot`.

        Parameters
        ----------
        p0, p1 : float, optional
            Planning values drawn as dashed lines on OC curves.
        ax : matplotlib Axes, or a sequence of them, optional

        Returns
        -------
        matplotlib.figure.Figure
            Displayed as inline SVG in Jupyter.
        """
        from adaptive2.views.plots import dataset_plot

        return dataset_plot(self._ds, p0=p0, p1=p1, ax=ax)

    def table(self, variables: Sequence[str] | None = None) -> pd.DataFrame:
        """Tidy table rounded by MCSE: :func:`adaptive2.views.report.table` of the Dataset.

        Parameters
        ----------
        variables : sequence of str, optional
            Variables to keep (default: those with an ``_mcse`` twin shaped like
            ``p_efficacy``).

        Returns
        -------
        pandas.DataFrame
        """
        # `adaptive2.views.report` the attribute is the function report(); fetch the module.
        report = importlib.import_module("adaptive2.views.report")
        return report.table(self._ds, variables)
