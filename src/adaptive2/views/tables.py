"""Tables of results rounded the ArviZ way: MCSE to two significant digits.

:func:`table` turns an OC or simulation Dataset into a tidy DataFrame with each
Monte Carlo estimate rounded to the decimal its MCSE supports
(:func:`round_mcse`); exact figures (MCSE 0) keep four decimals.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from adaptive2._base.validation import fail

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["round_mcse", "table"]


# ---------------------------------------------------------------------------
# MCSE-aware rounding (ArviZ convention)
# ---------------------------------------------------------------------------
def round_mcse(value: float, mcse: float, exact_digits: int = 4) -> tuple[float, int]:
    """Round an estimate to the decimal of twice its Monte Carlo standard error.

    Parameters
    ----------
    value, mcse : float
        Estimate and its MCSE (0 for exact figures).
    exact_digits : int
        Decimals kept for exact figures.

    Returns
    -------
    (rounded, decimals) : (float, int)

    Examples
    --------
    >>> round_mcse(0.07347, 0.0021)
    (0.073, 3)
    >>> round_mcse(0.07347, 0.0)
    (0.0735, 4)
    """
    if not math.isfinite(value):
        return value, exact_digits
    if not (mcse > 0 and math.isfinite(mcse)):
        return round(value, exact_digits), exact_digits
    decimals = max(0, -math.floor(math.log10(2 * mcse)))
    return round(value, decimals), decimals


def _with_mcse(value: float, mcse: float, exact_digits: int = 4) -> str:
    v, d = round_mcse(value, mcse, exact_digits)
    if not math.isfinite(v):
        return ""
    if mcse > 0:
        return f"{v:.{d}f} ± {float(f'{mcse:.2g}'):g}"
    return f"{v:.{d}f}"


def table(ds: Any, variables: Sequence[str] | None = None) -> pd.DataFrame:
    """Tidy table of a result Dataset, rounded the ArviZ way.

    Each variable with a ``_mcse`` twin is rounded to the decimal of twice its
    MCSE (the MCSE itself to two significant figures); exact figures (MCSE 0)
    keep four decimals.

    Parameters
    ----------
    ds : xarray.Dataset
        A result of :func:`~adaptive2.engines.exact.oc`,
        :func:`~adaptive2.engines.montecarlo.simulate`
        or :func:`adaptive2.engines.cohort_exact.cohort_oc`.
    variables : sequence of str, optional
        Variables to keep (default: every variable with an ``_mcse`` twin whose
        dimensions are those of ``p_efficacy``).

    Returns
    -------
    pandas.DataFrame
        One row per cell of ``p_efficacy``'s dimensions; columns ``<var>`` and
        ``<var>_mcse``.
    """
    if "p_efficacy" not in getattr(ds, "data_vars", {}):
        raise fail("ds", "table", "a result Dataset with `p_efficacy`", type(ds).__name__)
    dims = ds["p_efficacy"].dims
    if variables is None:
        variables = [
            v
            for v in ds.data_vars
            if not v.endswith("_mcse") and f"{v}_mcse" in ds and ds[v].dims == dims
        ]
    missing = [v for v in variables if v not in ds]
    if missing:
        allowed = f"variables of the Dataset {sorted(ds.data_vars)}"
        raise fail("variables", "table", allowed, missing)
    frame: pd.DataFrame = ds[
        [*variables, *[f"{v}_mcse" for v in variables if f"{v}_mcse" in ds]]
    ].to_dataframe()
    keep = [c for c in frame.columns if c in ds.data_vars]
    frame = frame[keep].reset_index()
    for v in variables:
        if f"{v}_mcse" not in frame:
            continue
        est, err = frame[v].to_numpy(float), frame[f"{v}_mcse"].to_numpy(float)
        frame[v] = [round_mcse(x, e)[0] for x, e in zip(est, err, strict=True)]
        frame[f"{v}_mcse"] = [float(f"{e:.2g}") for e in err]
    return frame
