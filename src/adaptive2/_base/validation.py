"""One home for argument checks and their message template.

Every message follows one template::

    `cutoff` of PosteriorProbability must be a probability in (0, 1); got 1.2.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Integral, Real
from typing import Any

from adaptive2._base.errors import DesignError

__all__ = [
    "check_choice",
    "check_int",
    "check_int_sequence",
    "check_probability",
    "check_real",
    "fail",
]


def fail(name: str, owner: str, allowed: str, value: Any) -> DesignError:
    """Build the standard error for argument ``name`` of ``owner``."""
    return DesignError(f"`{name}` of {owner} must be {allowed}; got {value!r}.")


def check_real(
    value: Any,
    name: str,
    owner: str,
    *,
    low: float = -math.inf,
    high: float = math.inf,
    low_open: bool = False,
    high_open: bool = False,
    allowed: str | None = None,
    finite: bool = False,
) -> float:
    """Return ``value`` as a float inside the interval, or raise DesignError.

    NaN is always refused; +inf passes an unbounded interval unless ``finite``.
    """
    lo = "(" if low_open or (finite and math.isinf(low)) else "["
    hi = ")" if high_open or (finite and math.isinf(high)) else "]"
    text = allowed or f"a number in {lo}{_fmt(low)}, {_fmt(high)}{hi}"
    if finite and not allowed:
        text = "a finite number" if math.isinf(low) and math.isinf(high) else text
    if isinstance(value, bool) or not isinstance(value, Real):
        raise fail(name, owner, text, value)
    x = float(value)
    if not math.isfinite(x) and (finite or not (math.isinf(x) and math.isinf(high) and x > 0)):
        raise fail(name, owner, text, value)
    if x < low or (low_open and x == low) or x > high or (high_open and x == high):
        raise fail(name, owner, text, value)
    return x


def check_probability(value: Any, name: str, owner: str, *, closed: bool = False) -> float:
    """Return ``value`` as a probability, in (0, 1) or, if ``closed``, in [0, 1]."""
    allowed = "a probability in [0, 1]" if closed else "a probability in (0, 1)"
    return check_real(
        value,
        name,
        owner,
        low=0.0,
        high=1.0,
        low_open=not closed,
        high_open=not closed,
        allowed=allowed,
    )


def check_int(
    value: Any, name: str, owner: str, *, low: int | None = None, high: int | None = None
) -> int:
    """Return ``value`` as an int in [low, high], or raise DesignError."""
    if low is not None and high is not None:
        allowed = f"an integer in [{low}, {high}]"
    elif low is not None:
        allowed = f"an integer >= {low}"
    else:
        allowed = "an integer"
    if isinstance(value, bool):
        raise fail(name, owner, allowed, value)
    if isinstance(value, Real) and not isinstance(value, Integral):
        if not float(value).is_integer():
            raise fail(name, owner, allowed, value)
    elif not isinstance(value, Integral):
        raise fail(name, owner, allowed, value)
    x = int(value)
    if (low is not None and x < low) or (high is not None and x > high):
        raise fail(name, owner, allowed, value)
    return x


def check_int_sequence(
    value: Any, name: str, owner: str, *, low: int | None = None, min_length: int = 1
) -> tuple[int, ...]:
    """Return ``value`` as a tuple of ints (each >= ``low``)."""
    allowed = f"a list of at least {min_length} integer(s)" + (
        f" >= {low}" if low is not None else ""
    )
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        try:
            value = list(value)
        except TypeError:
            raise fail(name, owner, allowed, value) from None
    if len(value) < min_length:
        raise fail(name, owner, allowed, list(value))
    out = []
    for v in value:
        try:
            out.append(check_int(v, name, owner, low=low))
        except DesignError:
            raise fail(name, owner, allowed, list(value)) from None
    return tuple(out)


def check_choice(value: Any, name: str, owner: str, choices: Sequence[str]) -> str:
    """Return ``value`` if it is one of ``choices``."""
    if not isinstance(value, str) or value not in choices:
        allowed = "one of {" + ", ".join(repr(c) for c in choices) + "}"
        raise fail(name, owner, allowed, value)
    return value


def _fmt(x: float) -> str:
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return f"{x:g}"
