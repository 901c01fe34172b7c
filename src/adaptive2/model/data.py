"""Observed data checked against a design: counts (r, n) per cohort.

The data of an interim or final analysis are given as a pair ``(r, n)`` or the
string ``"r/n"`` (one cohort), or a mapping cohort → pair or string. Every
count is checked here, once, with errors that name ``data`` (``data['cohort']``)
and the function the user called.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from numbers import Integral, Real
from typing import Any, SupportsInt, cast

from adaptive2._base.validation import fail

__all__ = ["SINGLE_COHORT_NAME", "cohort_data", "data_pair"]

SINGLE_COHORT_NAME = "cohort"
"""Name of the one cohort of a single-cohort design in analyses and their JSON."""


def _count(value: Any) -> int:
    if isinstance(value, bool):
        raise TypeError
    if isinstance(value, Integral):
        return int(value)
    if isinstance(value, Real) and float(value).is_integer():
        return int(cast(SupportsInt, value))  # typeshed's Real declares no __int__
    raise TypeError


def data_pair(value: Any, label: str, n_max: int, owner: str = "analyze") -> tuple[int, int]:
    """(r, n) from a pair or "r/n", checked against the final look ``n_max``.

    Errors name ``data`` (``data['label']`` for a cohort) of function ``owner``.
    """
    where = f"data[{label!r}]" if label != SINGLE_COHORT_NAME else "data"
    shape = "a pair (r, n) or the string 'r/n' of whole numbers"
    if isinstance(value, str):
        parts = value.strip().split("/")
        if len(parts) != 2:
            raise fail(where, owner, shape, value)
        try:
            r, n = (int(p.strip()) for p in parts)
        except ValueError:
            raise fail(where, owner, shape, value) from None
    elif isinstance(value, Sequence) and not isinstance(value, bytes) and len(value) == 2:
        try:
            r, n = _count(value[0]), _count(value[1])
        except TypeError:
            raise fail(where, owner, shape, value) from None
    else:
        raise fail(where, owner, shape, value)
    if r < 0 or n < 0:
        raise fail(where, owner, "non-negative counts r and n", f"{r}/{n}")
    if r > n:
        raise fail(where, owner, "counts with r <= n", f"{r}/{n}")
    if n > n_max:
        raise fail(where, owner, f"counts with n <= {n_max} (the final look)", f"{r}/{n}")
    return r, n


def cohort_data(design: Any, data: Any, owner: str = "analyze") -> list[tuple[int, int]]:
    """Per cohort (r, n) from a mapping cohort -> (r, n) or "r/n" (left out: (0, 0)).

    ``owner`` names the function in the errors (``analyze``,
    ``predictive_probability``).
    """
    names = design.names
    if not isinstance(data, Mapping):
        allowed = f"a mapping cohort -> (r, n) or 'r/n' for cohorts {{{', '.join(names)}}}"
        raise fail("data", owner, allowed, data)
    for key in data:
        if key not in names:
            raise fail("data", owner, f"keyed by cohort names in {{{', '.join(names)}}}", key)
    return [
        data_pair(data[c.name], c.name, c.looks[-1], owner) if c.name in data else (0, 0)
        for c in design.cohorts
    ]
