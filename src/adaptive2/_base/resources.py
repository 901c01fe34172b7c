"""The size guard: estimate a job's memory before allocating it, refuse past a limit.

Every engine that allocates in proportion to its inputs (outcome lattices, quadrature
grids, simulated trials) calls :func:`require_memory` with an estimate computed
from the sizes alone, *before* it allocates. A job over the limit is refused at once
with a :class:`~adaptive2._base.errors.ResourceError` that states the estimate and the
way out (fewer looks, ``--simulate``, or a higher limit); a job within it runs as before.

The limit is, in order: the value given to :func:`set_memory_limit` (the CLI's
``--max-memory``), the environment variable ``ADAPTIVE2_MAX_MEMORY``, else half the
machine's physical memory capped at 4 GiB. Sizes are bytes or text such as ``"512M"``,
``"8G"``, ``"1.5GiB"``.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
from collections.abc import Iterator
from typing import Any

from adaptive2._base.errors import DesignError, ResourceError

__all__ = [
    "DEFAULT_CAP",
    "KEEP_FREED_BYTES",
    "UNUSED_MODULES",
    "defer_unused_modules",
    "format_bytes",
    "format_seconds",
    "keep_freed_memory",
    "limit_memory",
    "memory_limit",
    "one_blas_thread",
    "parse_size",
    "require_memory",
    "set_memory_limit",
]

DEFAULT_CAP = 4 * 1024**3
"""Largest default limit (bytes): 4 GiB, or half the physical memory if that is less."""

_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
_SIZE = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:e[+-]?[0-9]+)?)\s*([kmgt]?)(?:i?b)?\s*$", re.I)
_limit: int | None = None


def parse_size(value: str | float | int, name: str = "--max-memory") -> int:
    """Bytes from ``value``: a number of bytes or text such as ``"512M"``, ``"8G"``, ``"2GiB"``.

    Examples
    --------
    >>> parse_size("8G"), parse_size("512 MiB"), parse_size(1000)
    (8589934592, 536870912, 1000)
    """
    if isinstance(value, bool):
        raise DesignError(f"`{name}` must be a size such as 512M or 8G; got {value!r}.")
    if isinstance(value, int | float):
        number, unit = float(value), ""
    else:
        m = _SIZE.match(str(value))
        if m is None:
            raise DesignError(f"`{name}` must be a size such as 512M or 8G; got {value!r}.")
        number, unit = float(m.group(1)), m.group(2).lower()
    size = number * _UNITS[unit]
    if not math.isfinite(size) or size < 1:
        raise DesignError(f"`{name}` must be a positive size such as 512M or 8G; got {value!r}.")
    return int(size)


def _physical_memory() -> int | None:
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return None


def memory_limit() -> int:
    """The memory limit in bytes (see the module docstring for where it comes from)."""
    if _limit is not None:
        return _limit
    env = os.environ.get("ADAPTIVE2_MAX_MEMORY")
    if env:
        return parse_size(env, "ADAPTIVE2_MAX_MEMORY")
    physical = _physical_memory()
    return DEFAULT_CAP if physical is None else min(DEFAULT_CAP, physical // 2)


def set_memory_limit(value: str | float | int | None) -> None:
    """Set the memory limit for this process (``None``: back to the default).

    Examples
    --------
    >>> set_memory_limit("16G"); memory_limit()
    17179869184
    >>> set_memory_limit(None)
    """
    global _limit
    _limit = None if value is None else parse_size(value)


@contextlib.contextmanager
def limit_memory(value: str | float | int | None) -> Iterator[None]:
    """Temporarily set the memory limit (``with limit_memory("1G"): ...``)."""
    global _limit
    old = _limit
    set_memory_limit(value)
    try:
        yield
    finally:
        _limit = old


def format_bytes(n: float) -> str:
    """``n`` bytes in words: ``'37.3 GiB'``, ``'512 MiB'``, ``'880 KiB'``.

    Examples
    --------
    >>> format_bytes(40e9), format_bytes(2**29), format_bytes(900)
    ('37.3 GiB', '512 MiB', '900 bytes')
    """
    for unit, size in (("TiB", 1024**4), ("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if n >= size:
            v = n / size
            return f"{v:.1f} {unit}" if v < 100 else f"{v:.0f} {unit}"
    return f"{n:.0f} bytes"


def format_seconds(s: float) -> str:
    """A duration in words: ``'40 s'``, ``'12 min'``, ``'3.5 h'``, ``'2.1 days'``."""
    if s < 90:
        return f"{max(s, 1):.0f} s"
    if s < 5400:
        return f"{s / 60:.0f} min"
    if s < 172800:
        return f"{s / 3600:.1f} h"
    return f"{s / 86400:.1f} days"


def require_memory(
    nbytes: float, what: str, remedy: str = "", *, seconds: float | None = None
) -> None:
    """Refuse a job whose estimated memory ``nbytes`` exceeds :func:`memory_limit`.

    Parameters
    ----------
    nbytes : float
        Estimated peak memory of the job in bytes, from its sizes alone.
    what : str
        The job in words, e.g. ``"the outcome lattice of 100000 patients"``.
    remedy : str
        The way out in words, e.g. ``"use fewer or smaller looks, or --simulate"``.
    seconds : float, optional
        Estimated run time, stated in the message when given.

    Raises
    ------
    ResourceError
        If ``nbytes`` exceeds the limit; the message gives the estimate, the limit,
        the remedy and how to raise the limit.

    Examples
    --------
    >>> require_memory(1e6, "a small job")          # fits: nothing happens
    >>> with limit_memory("1G"):
    ...     require_memory(40e9, "the outcome lattice", "use fewer looks")
    Traceback (most recent call last):
    ...
    adaptive2._base.errors.ResourceError: the outcome lattice needs about 37.3 GiB of memory \
(limit 1.0 GiB); use fewer looks, or raise the limit with --max-memory (Python: \
adaptive2.set_memory_limit).
    """
    limit = memory_limit()
    if not nbytes <= limit:  # also refuses NaN / inf estimates
        time = f" and about {format_seconds(seconds)}" if seconds is not None else ""
        way = f"{remedy}, or raise" if remedy else "raise"
        raise ResourceError(
            f"{what} needs about {format_bytes(nbytes)} of memory{time} "
            f"(limit {format_bytes(limit)}); {way} the limit with --max-memory "
            "(Python: adaptive2.set_memory_limit)."
        )


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameter numbers
KEEP_FREED_BYTES = 256 * 2**20
"""Freed heap memory a command keeps for reuse (:func:`keep_freed_memory`)."""


def keep_freed_memory() -> bool:
    """Let the C allocator keep freed memory for reuse instead of returning it at once.

    The quadrature engines allocate and free arrays of a few MiB many times per
    call. glibc returns such memory to the system as soon as the top of the heap
    holds more than a few MiB free, so the next array of that size faults its pages
    in afresh: on a virtual machine that can cost a third of a one-data-set
    analysis. Here arrays below 64 MiB come from the heap, and up to
    :data:`KEEP_FREED_BYTES` of freed heap is kept; larger arrays are mapped and
    returned as before. The command line calls this once per process; a library
    user's process is left as it is. Returns False where the C library has no
    ``mallopt`` (not glibc): nothing changes there.
    """
    try:
        import ctypes

        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, 64 * 2**20)) and bool(
        mallopt(_M_TRIM_THRESHOLD, KEEP_FREED_BYTES))


UNUSED_MODULES = ("numpy.testing", "numpy.f2py")
"""numpy modules that scipy.special imports on its way (its array-API layer copies every
attribute of numpy, and ``scipy._lib._testutils`` imports ``numpy.testing``) but no
command uses: about 0.05 s of a command's 0.25 s start-up on the benchmark machine."""


def defer_unused_modules(names: tuple[str, ...] = UNUSED_MODULES) -> list[str]:
    """Load ``names`` on first use instead of at import (:class:`importlib.util.LazyLoader`).

    Each module not imported yet is registered as a lazy module: importing it costs
    nothing, and it is executed, in full, when one of its attributes is first read.
    So nothing changes for code that uses it, and a process that never does skips
    the work. The command line calls this once, before its numeric imports. Returns
    the names deferred (modules already imported, or not found, are left alone).
    """
    import importlib.util
    import sys

    deferred = []
    for name in names:
        parent, _, child = name.rpartition(".")
        if name in sys.modules or (parent and parent not in sys.modules and not _import(parent)):
            continue
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            continue
        spec.loader = importlib.util.LazyLoader(spec.loader)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        if parent:  # `import numpy.testing as t` reads the attribute from the parent
            setattr(sys.modules[parent], child, module)
        deferred.append(name)
    return deferred


def _import(name: str) -> bool:
    """Import ``name``; False if it is not installed."""
    import importlib

    try:
        importlib.import_module(name)
    except ImportError:
        return False
    return True


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """BLAS on one thread inside the block (threadpoolctl); the previous limits after it.

    A one-data-set quadrature multiplies a few rows by the engine's kernels, and the
    outcome Monte Carlo blocks of simulated data sets by the column weights: such
    products are bound by memory, and a second BLAS thread for each costs more than
    it saves (0.1 s of a 0.5 s analysis on two cores; the Monte Carlo's own worker
    threads use the cores instead). The lattice engines keep every BLAS thread.
    """
    global _controller
    if _controller is None:  # finding the BLAS libraries takes a few ms: once per process
        from threadpoolctl import ThreadpoolController

        _controller = ThreadpoolController()
    with _controller.limit(limits=1, user_api="blas"):
        yield


_controller: Any = None
