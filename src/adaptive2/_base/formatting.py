"""One number formatter for every table, and one JSON sanitiser.

:func:`number` is how adaptive2 writes a number into a table meant for people —
the CLI's tables, the report's HTML and Markdown, the notebook cards: integers as
integers, other numbers to a stated number of decimals, a tiny non-zero value with
two significant digits (never as 0.0000), a missing value as a dash.
:func:`jsonable` is how every ``to_dict()`` and ``--json`` output is made safe
for :func:`json.dumps` with ``allow_nan=False``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from numbers import Integral, Real
from typing import Any

__all__ = ["DASH", "jsonable", "number"]

DASH = "\u2013"
"""Written where a value does not exist (no futility stop at a look, a missing cell)."""


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, Real) and not isinstance(value, Integral):
        return math.isnan(float(value))
    return type(value).__name__ in ("NAType", "NaTType")  # pandas NA / NaT


def number(value: Any, digits: int = 4, *, trim: bool = False, missing: str = DASH) -> str:
    """A value written for a table.

    Parameters
    ----------
    value : Any
        ``None``, NaN and pandas NA give ``missing``; ``bool`` gives yes/no; an
        integer (Python or numpy) is written as it is; a float with ``digits``
        decimals, or two significant digits when it is non-zero but would round
        to zero; anything else as ``str(value)``.
    digits : int
        Decimals of a float.
    trim : bool
        Drop trailing zeros of a float, keeping at least two decimals.
    missing : str
        Text for a missing value.

    Examples
    --------
    >>> number(40), number(0.07345), number(1.2e-7), number(None), number(True)
    ('40', '0.0735', '1.2e-07', '–', 'yes')
    >>> number(0.1, trim=True), number(float("nan"), missing="-")
    ('0.10', '-')
    """
    if _is_missing(value):
        return missing
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Integral):
        return str(int(value))
    if isinstance(value, Real):
        x = float(value)
        if math.isinf(x):
            return str(x)
        if x != 0 and abs(x) < 0.5 * 10.0**-digits:
            return f"{x:.2g}"
        text = f"{x:.{digits}f}"
        if trim and digits > 0:
            whole, _, frac = text.partition(".")
            text = f"{whole}.{frac.rstrip('0').ljust(min(2, digits), '0')}"
        return text
    return str(value)


def jsonable(obj: Any) -> Any:
    """``obj`` with numpy scalars as Python numbers and non-finite or missing numbers as None.

    Mappings (keys made strings), lists and tuples are converted recursively;
    numpy arrays become lists.

    Examples
    --------
    >>> import numpy as np
    >>> jsonable({"a": np.float64(0.5), "b": [float("nan"), np.int64(3)], 1: (2,)})
    {'a': 0.5, 'b': [None, 3], '1': [2]}
    """
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    tolist = getattr(obj, "tolist", None)
    if tolist is not None and hasattr(obj, "dtype"):  # numpy scalar or array
        return jsonable(tolist())
    if _is_missing(obj):
        return None
    if isinstance(obj, float) and math.isinf(obj):
        return None
    return obj
