"""The one way adaptive2 writes HTML: escaped text and tables of formatted numbers.

The report page (:mod:`adaptive2.views.document`) and the notebook cards
(:mod:`adaptive2.views.cards`) both build their tables here, so a number looks
the same in both (:func:`adaptive2._base.formatting.number`), every user string is
escaped once, in one place, and columns are classed alike: ``text`` (left-aligned)
or ``num`` (right-aligned), plus ``nowrap`` for short cells where asked.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from typing import Any

from adaptive2._base.formatting import DASH, number

__all__ = ["esc", "is_text_column", "table"]

_MISSING_TEXT = ("", DASH, "-")


def esc(value: Any) -> str:
    """``str(value)`` escaped for HTML text and attribute values."""
    return html.escape(str(value), quote=True)


def _numeric(s: str) -> bool:
    """True for ``0.5``, ``12 (3.1)``, ``< 0.001``, ``> 0.999``, ``12.3%`` and ``∞``."""
    s = s.lstrip("<>≤≥ ")
    first = s.split(" ")[0].removesuffix("%").replace("∞", "inf")
    try:
        float(first)
    except ValueError:
        return False
    return True


def is_text_column(values: Iterable[Any]) -> bool:
    """True if any value is a string that is not a number (a dash for "none" does not count)."""
    return any(isinstance(v, str) and v not in _MISSING_TEXT and not _numeric(v) for v in values)


def table(
    header: Sequence[Any],
    rows: Sequence[Sequence[Any]],
    *,
    caption: str = "",
    table_id: str | None = None,
    digits: int = 4,
    trim: bool = False,
    missing: str = DASH,
    nowrap_below: int = 0,
    text: Sequence[bool] | None = None,
) -> str:
    """An HTML table of values written by :func:`adaptive2._base.formatting.number`.

    Parameters
    ----------
    header : sequence
        Column titles (escaped).
    rows : sequence of sequences
        Cell values: numbers, strings (escaped), bools, None/NaN (``missing``).
    caption : str
        Caption above the table (escaped); none if empty.
    table_id : str, optional
        ``id`` attribute of the table (escaped).
    digits, trim, missing
        Passed to :func:`~adaptive2._base.formatting.number`.
    nowrap_below : int
        Cells whose text is at most this long get the ``nowrap`` class (0: none).
    text : sequence of bool, optional
        Per column, True for a text column (left-aligned), False for a number
        column; default :func:`is_text_column` of the column's cells. Give it
        when the cells are already formatted (``"< 0.001"``, ``"–, 21"``) and
        the kind is known from the raw values.

    Examples
    --------
    >>> table(["look", "P(stop)"], [[1, 0.123456], [2, None]])  # doctest: +NORMALIZE_WHITESPACE
    '<table><thead><tr><th class="num">look</th><th class="num">P(stop)</th></tr></thead><tbody><tr><td class="num">1</td><td class="num">0.1235</td></tr><tr><td class="num">2</td><td class="num">–</td></tr></tbody></table>'
    """  # noqa: E501
    if text is None:
        text = [is_text_column(row[i] for row in rows) for i in range(len(header))]
    elif len(text) != len(header):
        raise ValueError(f"`text` of table must have one flag per column ({len(header)}); "
                         f"got {len(text)}.")
    ident = f' id="{esc(table_id)}"' if table_id else ""
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    head = "".join(
        f'<th class="{"text" if t else "num"}">{esc(h)}</th>'
        for h, t in zip(header, text, strict=True)
    )
    body = []
    for row in rows:
        cells = []
        for v, t in zip(row, text, strict=True):
            shown = number(v, digits, trim=trim, missing=missing)
            cls = "text" if t else "num"
            if nowrap_below and len(shown) <= nowrap_below:
                cls += " nowrap"
            cells.append(f'<td class="{cls}">{esc(shown)}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (f"<table{ident}>{cap}<thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>")
