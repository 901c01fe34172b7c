"""The ``a2`` accessor of :class:`xarray.Dataset`: ``ds.a2.plot()`` and ``ds.a2.table()``.

Importing this module registers the accessor; ``adaptive2.oc``, ``simulate``,
``compare``, ``report`` and ``plot`` do it on first use through the
``adaptive2`` namespace (the engines that compute the Datasets know nothing of
views, so they do not). Otherwise run::

    import adaptive2.views.accessor

Every Dataset then has an ``a2`` attribute. The OC results of
:func:`adaptive2.engines.exact.oc`, :func:`adaptive2.engines.montecarlo.simulate`
and :func:`adaptive2.engines.cohort_exact.cohort_oc` plot themselves with
``ds.a2.plot()`` (OC curves for single-cohort designs, one per design;
P(efficacy) bars per scenario and cohort for multi-cohort designs) and give
their MCSE-aware table with ``ds.a2.table()``. ``import adaptive2`` alone does
not register it (it must not import xarray).

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

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import xarray as xr

from adaptive2.views.oc_plots import dataset_plot
from adaptive2.views.tables import table

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from matplotlib.figure import Figure

__all__ = ["A2DatasetAccessor"]


@xr.register_dataset_accessor("a2")  # type: ignore[no-untyped-call]  # unannotated in xarray
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
        return dataset_plot(self._ds, p0=p0, p1=p1, ax=ax)

    def table(self, variables: Sequence[str] | None = None) -> pd.DataFrame:
        """Tidy table rounded by MCSE: :func:`adaptive2.views.tables.table` of the Dataset.

        Parameters
        ----------
        variables : sequence of str, optional
            Variables to keep (default: those with an ``_mcse`` twin shaped like
            ``p_efficacy``).

        Returns
        -------
        pandas.DataFrame
        """
        return table(self._ds, variables)
