"""Cutoffs that a rounding cannot flip.

A decision rule compares a statistic (a posterior or predictive probability)
with a cutoff. On a finite outcome lattice the statistic takes finitely many
values, so every cutoff strictly between two neighbouring attainable values
gives the same decisions. A cutoff placed next to an attainable value is
fragile: another platform, another engine or the rounding of a written file can
move the statistic across it. :func:`central_cutoff` picks the value with the
fewest decimals in the middle half of such a gap, at least ``margin`` from both
ends; :func:`shortest_decimal` is the underlying search.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal

__all__ = ["central_cutoff", "shortest_decimal"]


def shortest_decimal(lo: float, hi: float) -> float:
    """The number with the fewest decimals in [lo, hi) (``lo`` if none up to 15 digits).

    Examples
    --------
    >>> shortest_decimal(0.9123, 0.95)
    0.92
    >>> shortest_decimal(0.25, 0.26)
    0.25
    """
    if not hi > lo:
        return lo
    for digits in range(1, 16):
        step = Decimal(1).scaleb(-digits)
        cand = (Decimal(repr(lo)) / step).to_integral_value(rounding=ROUND_CEILING) * step
        if lo <= float(cand) < hi:
            return float(cand)
    return lo


def central_cutoff(lo: float, hi: float, margin: float = 0.0) -> float | None:
    """The shortest decimal in the middle of the gap (lo, hi), or None if it is too narrow.

    The candidate interval is [lo + m, hi − m] with m = max(margin, (hi − lo) / 4):
    the middle half of the gap, and never closer than ``margin`` to either end.

    Examples
    --------
    >>> central_cutoff(0.9371, 0.9544)
    0.95
    >>> central_cutoff(0.9, 0.9000015, margin=1e-6) is None
    True
    """
    m = max(margin, (hi - lo) / 4)
    a, b = lo + m, hi - m
    if not b >= a:
        return None
    value = shortest_decimal(a, b) if b > a else a
    return value if lo < value < hi else None
