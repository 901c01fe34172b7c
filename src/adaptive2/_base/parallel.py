"""Independent array computations side by side on the machine's cores (threads).

The one-data-set quadrature of a K-cohort design does the same work for each
cohort: rows of its likelihood times the engine's kernels. numpy's array
operations release the GIL, so K such tasks on threads use every core; each
result is the same whichever thread computes it (the memo,
:data:`adaptive2._base.cache.MEMO`, is thread-safe), and results come back in
the tasks' order. The Monte Carlo engines schedule their own chunks.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

__all__ = ["side_by_side", "usable_cores"]

T = TypeVar("T")


def usable_cores() -> int:
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def side_by_side(task: Callable[[int], T], count: int) -> list[T]:
    """[task(0), ..., task(count − 1)], on up to :func:`usable_cores` threads.

    Examples
    --------
    >>> side_by_side(lambda j: j * j, 4)
    [0, 1, 4, 9]
    """
    workers = min(count, usable_cores())
    if workers <= 1:
        return [task(j) for j in range(count)]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(task, range(count)))
