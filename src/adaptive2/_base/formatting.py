"""Number formatters for tables meant for people, and one JSON sanitiser.

:func:`cell` is how the report writes a table cell: a *kind* per column
(``"prob"``, ``"int"``, ``"mean1"``, ...; :func:`column_kind` infers it from the
whole column), so a probability reads ``0.074``, ``< 0.001`` or ``1`` and a
sample size ``40`` — never ``40.0000``, ``nan`` or ``<NA>``.
:func:`number` is the older fixed-decimals formatter of the CLI's tables and the
notebook cards: integers as integers, other numbers to a stated number of
decimals, a tiny non-zero value with two significant digits, a missing value as
a dash.
:func:`jsonable` is how every ``to_dict()`` and ``--json`` output is made safe
for :func:`json.dumps` with ``allow_nan=False``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from numbers import Integral, Real
from typing import Any

import numpy as np

from adaptive2._base.validation import fail

__all__ = ["DASH", "KINDS", "cell", "column_kind", "jsonable", "number"]

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


KINDS = ("auto", "int", "prob", "prob4", "mean1", "num2", "num", "pct1", "text")
"""The kinds of :func:`cell`."""


def _cell_missing(value: Any) -> bool:
    return (isinstance(value, str) and value == "<NA>") or _is_missing(value)


def _is_list(value: Any) -> bool:
    return isinstance(value, list | tuple) or (
        isinstance(value, np.ndarray) and value.ndim >= 1
    )


def _real(value: Any) -> float | None:
    """``value`` as a float if it is a number (not a bool), else None."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, Real):
        return None
    return float(value)


def _integral(x: float) -> bool:
    return math.isfinite(x) and x == math.floor(x)


def _unsigned_zero(text: str) -> str:
    """``-0.000`` → ``0.000``: a value that rounds to zero has no sign."""
    if text.startswith("-") and not any(c in "123456789" for c in text):
        return text[1:]
    return text


def _prob(x: float, decimals: int) -> str:
    if x == 0:
        return "0"
    if x == 1:
        return "1"
    half = 0.5 * 10.0**-decimals
    if 0 < x < half:
        return f"< {10.0**-decimals:.{decimals}f}"
    if 1 - half <= x < 1:
        return f"> {1 - 10.0**-decimals:.{decimals}f}"
    return _unsigned_zero(f"{x:.{decimals}f}")


def _pct(x: float) -> str:
    if x == 0:
        return "0%"
    if x == 1:
        return "100%"
    if 0 < x < 0.0005:
        return "< 0.1%"
    if 0.9995 <= x < 1:
        return "> 99.9%"
    return _unsigned_zero(f"{100 * x:.1f}") + "%"


def _num(x: float) -> str:
    """Up to 4 significant digits, trailing zeros trimmed (units above 9999)."""
    if x == 0:
        return "0"
    if abs(x) < 1e-4:
        return f"{x:.4g}"
    decimals = max(0, 3 - math.floor(math.log10(abs(x))))
    text = f"{x:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return _unsigned_zero(text)


def _auto_kind(x: float) -> str:
    if _integral(x):
        return "int"
    return "prob" if 0 <= x <= 1 else "num"


def _format_real(x: float, kind: str) -> str:
    if math.isinf(x):
        return "∞" if x > 0 else "-∞"
    if kind == "auto":
        kind = _auto_kind(x)
    if kind == "int":
        return str(int(x)) if _integral(x) else _unsigned_zero(f"{x:.1f}")
    if kind == "prob":
        return _prob(x, 3)
    if kind == "prob4":
        return _prob(x, 4)
    if kind == "mean1":
        return _unsigned_zero(f"{x:.1f}")
    if kind == "num2":
        return _unsigned_zero(f"{x:.2f}")
    if kind == "pct1":
        return _pct(x)
    return _num(x)  # "num"


def cell(value: Any, kind: str = "auto") -> str:
    """A value written for a table cell read by people.

    Parameters
    ----------
    value : Any
        ``None``, NaN, pandas NA/NaT and the text ``"<NA>"`` give an empty cell;
        a bool gives yes/no; a string is returned unchanged; a list or tuple
        (or 1-d array) gives its elements written with the same ``kind``,
        joined by ``", "``, a missing element shown as an en dash;
        an infinite number gives ``∞``; any other object ``str(value)``.
    kind : str
        How a number is written:

        - ``"int"``: an integer (``40.0`` → ``40``); a non-integer keeps 1 decimal.
        - ``"prob"``: 3 decimals; ``< 0.001`` for 0 < x < 0.0005, ``> 0.999``
          for 0.9995 ≤ x < 1, and exactly ``0`` and ``1`` for 0 and 1.
        - ``"prob4"``: the same with 4 decimals (``< 0.0001``, ``> 0.9999``),
          for a probability compared with a target.
        - ``"mean1"``: 1 decimal (E[N], SD(N), months).
        - ``"num2"``: 2 decimals.
        - ``"num"``: up to 4 significant digits, trailing zeros trimmed
          (whole units from 10 000 up, ``1.235e-05`` below 0.0001).
        - ``"pct1"``: a fraction as a percentage with 1 decimal (``0.1234`` →
          ``12.3%``; ``< 0.1%`` and ``> 99.9%`` as for ``"prob"``).
        - ``"text"``: ``str(value)``.
        - ``"auto"`` (default): an integer-valued number as ``"int"``, one in
          [0, 1] as ``"prob"``, any other as ``"num"``; the elements of a list
          get their :func:`column_kind`. Prefer :func:`column_kind` of the
          whole column, so a probability column holding an exact 1.0 does not
          mix ``1`` with ``0.500``-style cells of another kind.

    Returns
    -------
    str

    Raises
    ------
    DesignError
        If ``kind`` is not one of :data:`KINDS`.

    Examples
    --------
    >>> cell(40.0), cell(0.07345), cell(0.0002), cell(0.99971), cell(1.0), cell(None)
    ('40', '0.073', '< 0.001', '> 0.999', '1', '')
    >>> cell([None, None, 21]), cell(23.456, "mean1"), cell(1234.5678), cell(0.1234, "pct1")
    ('–, –, 21', '23.5', '1235', '12.3%')
    """
    if kind not in KINDS:
        raise fail("kind", "cell", f"one of {{{', '.join(map(repr, KINDS))}}}", kind)
    if _cell_missing(value):
        return ""
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, str):
        return value
    if _is_list(value):
        items = list(value)
        inner = column_kind(items) if kind == "auto" else kind
        return ", ".join(DASH if _cell_missing(v) else cell(v, inner) for v in items)
    x = _real(value)
    if x is None or kind == "text":
        return str(value)
    if isinstance(value, Integral) and kind in ("auto", "int", "num"):
        return str(int(value))  # exact, however large
    return _format_real(x, kind)


def _flat(values: Iterable[Any]) -> Iterator[Any]:
    for v in values:
        if _is_list(v):
            yield from _flat(v)
        else:
            yield v


def column_kind(values: Iterable[Any]) -> str:
    """The :func:`cell` kind of a whole column.

    Only finite numbers decide (bools, strings and missing values are passed
    over, list elements count): all integer-valued → ``"int"``; all in [0, 1]
    with at least one non-integer → ``"prob"``; other numbers → ``"num"``.
    A column of strings only is ``"text"``; one with no value at all ``"auto"``.

    Examples
    --------
    >>> column_kind([1.0, 0.25, 0.0]), column_kind([40.0, 12, None]), column_kind([0.5, 2.5])
    ('prob', 'int', 'num')
    """
    numbers: list[float] = []
    strings = False
    for v in _flat(values):
        if _cell_missing(v):
            continue
        x = _real(v)
        if x is not None:
            if math.isfinite(x):
                numbers.append(x)
        elif isinstance(v, str):
            strings = True
    if not numbers:
        return "text" if strings else "auto"
    if all(_integral(x) for x in numbers):
        return "int"
    if all(0 <= x <= 1 for x in numbers):
        return "prob"
    return "num"


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
