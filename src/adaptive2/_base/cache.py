"""One memo layer for the whole package, bounded by bytes.

Exact engines reuse large intermediate results: quadrature lattices, decision
tables, posterior tail tables, boundary tables. They all live in one
least-recently-used memo whose total size is bounded in bytes (default 512 MiB;
``ADAPTIVE2_CACHE_MB`` in the environment or :func:`set_cache_limit` changes it),
so evaluating many models cannot exhaust memory. Values are frozen when stored:
numpy arrays become read-only (``arr.flags.writeable`` is False), inside tuples,
lists, dicts and dataclass-like objects alike, so one caller's in-place change
cannot corrupt every later result. Keys are plain hashable values (value
objects, tuples, numbers), never bound methods, so the memo keeps nothing alive
beyond its byte budget.
"""

from __future__ import annotations

import functools
import math
import os
import sys
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar, cast

__all__ = ["MEMO", "Memo", "cache_info", "memoized", "set_cache_limit", "sizeof"]

T = TypeVar("T")
DEFAULT_LIMIT = 512 * 2**20


def _limit_from_env() -> int:
    text = os.environ.get("ADAPTIVE2_CACHE_MB")
    if not text:
        return DEFAULT_LIMIT
    try:
        mb = float(text)
    except ValueError:
        mb = math.nan
    if not math.isfinite(mb) or mb < 0:
        # a warning, not an error: the variable is read when adaptive2 is imported
        warnings.warn(
            f"ADAPTIVE2_CACHE_MB must be a number of MiB >= 0; got {text!r}. "
            f"Using the default, {DEFAULT_LIMIT // 2**20} MiB.",
            UserWarning,
            stacklevel=2,
        )
        return DEFAULT_LIMIT
    return int(mb * 2**20)


_SCALARS = (int, float, complex, str, bytes, bool, type(None))


def sizeof(value: Any, _depth: int = 0) -> int:
    """Bytes held by ``value``: array buffers, containers and object attributes, summed."""
    if isinstance(value, _SCALARS):
        return sys.getsizeof(value)
    if isinstance(value, tuple) and all(isinstance(v, _SCALARS) for v in value):
        return sys.getsizeof(value) + 32 * len(value)
    nbytes = getattr(value, "nbytes", None)
    if isinstance(nbytes, int) and hasattr(value, "dtype"):
        return nbytes + 112
    if _depth > 4:
        return sys.getsizeof(value)
    if isinstance(value, dict):
        return sys.getsizeof(value) + sum(
            sizeof(k, _depth + 1) + sizeof(v, _depth + 1) for k, v in value.items()
        )
    if isinstance(value, list | tuple | set | frozenset):
        return sys.getsizeof(value) + sum(sizeof(v, _depth + 1) for v in value)
    attrs = getattr(value, "__dict__", None)
    if attrs is None and hasattr(type(value), "__slots__"):
        attrs = {s: getattr(value, s, None) for s in type(value).__slots__}
    if isinstance(attrs, dict) and not isinstance(value, type):
        return sys.getsizeof(value) + sum(sizeof(v, _depth + 1) for v in attrs.values())
    return sys.getsizeof(value)


def freeze(value: Any, _depth: int = 0) -> Any:
    """Make every numpy array reachable from ``value`` read-only (in place); return it."""
    if hasattr(value, "setflags") and hasattr(value, "dtype"):
        value.setflags(write=False)
        return value
    if _depth > 4:
        return value
    if isinstance(value, dict):
        for v in value.values():
            freeze(v, _depth + 1)
    elif isinstance(value, list | tuple):
        for v in value:
            freeze(v, _depth + 1)
    elif hasattr(value, "__dict__") and not isinstance(value, type):
        for v in vars(value).values():
            freeze(v, _depth + 1)
    return value


class Memo:
    """A least-recently-used memo bounded by the bytes of its values.

    A value is computed once even when threads ask for it together: the first
    computes it, the others wait for it (cohorts analysed side by side share the
    terms of their θ sets).

    Parameters
    ----------
    limit : int
        Largest total size in bytes. A value larger than the limit is computed
        and returned but not kept.
    """

    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        self._items: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._bytes = 0
        self._limit = int(limit)
        self._lock = threading.RLock()
        # key -> (thread computing it, event set when it is done)
        self._pending: dict[Hashable, tuple[int, threading.Event]] = {}
        self.hits = 0
        self.misses = 0

    @property
    def limit(self) -> int:
        """Largest total size in bytes."""
        return self._limit

    @limit.setter
    def limit(self, nbytes: int) -> None:
        with self._lock:
            self._limit = max(0, int(nbytes))
            self._evict()

    @property
    def nbytes(self) -> int:
        """Bytes held now."""
        return self._bytes

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        """The value stored under ``key``, computing (and storing) it if absent.

        If another thread is computing it, waits for that value instead of computing
        it again; if that thread fails (or the value is too large to keep), computes
        it here.
        """
        me = threading.get_ident()
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                self.hits += 1
                return cast(T, self._items[key][0])
            owner, done = self._pending.get(key, (me, None))
            if done is None:
                done = threading.Event()
                self._pending[key] = (me, done)
                mine = True
            else:
                mine = False
        if not mine and owner != me:
            done.wait()
            with self._lock:
                if key in self._items:
                    self.hits += 1
                    return cast(T, self._items[key][0])
        try:
            value = cast(T, freeze(compute()))
            size = sizeof(value)
            with self._lock:
                self.misses += 1
                if key in self._items:  # computed meanwhile by another thread
                    return cast(T, self._items[key][0])
                if size <= self._limit:
                    self._items[key] = (value, size)
                    self._bytes += size
                    self._evict()
            return value
        finally:  # stored (or failed): the waiting threads read it (or compute it)
            if mine:
                with self._lock:
                    self._pending.pop(key, None)
                done.set()

    def _evict(self) -> None:
        while self._bytes > self._limit and self._items:
            _, (_, size) = self._items.popitem(last=False)
            self._bytes -= size

    def clear(self, namespace: str | None = None) -> None:
        """Forget everything (or the keys of one ``namespace``)."""
        with self._lock:
            if namespace is None:
                self._items.clear()
                self._bytes = 0
                return
            for key in [k for k in self._items if isinstance(k, tuple) and k[:1] == (namespace,)]:
                self._bytes -= self._items.pop(key)[1]

    def info(self) -> dict[str, int]:
        """Entries, bytes held, the limit, hits and misses."""
        return {"entries": len(self._items), "bytes": self._bytes, "limit": self._limit,
                "hits": self.hits, "misses": self.misses}


MEMO = Memo(_limit_from_env())
"""The memo every adaptive2 cache uses."""


def memoized(namespace: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Decorate a function of hashable arguments so that :data:`MEMO` keeps its results.

    The key is ``(namespace, args, sorted kwargs)``; ``fn.cache_clear()`` forgets
    this namespace.
    """

    def wrap(fn: Callable[..., T]) -> Callable[..., T]:
        @functools.wraps(fn)
        def inner(*args: Any, **kwargs: Any) -> T:
            key = (namespace, args, tuple(sorted(kwargs.items())))
            return MEMO.get(key, lambda: fn(*args, **kwargs))

        inner.cache_clear = lambda: MEMO.clear(namespace)  # type: ignore[attr-defined]
        return inner

    return wrap


def set_cache_limit(nbytes: int) -> None:
    """Set the byte bound of the memo (evicting the least recently used values now)."""
    MEMO.limit = nbytes


def cache_info() -> dict[str, int]:
    """Entries, bytes held, the limit, hits and misses of the memo."""
    return MEMO.info()
