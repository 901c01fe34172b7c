"""Seeding: the one place that turns a user's ``seed`` into generators.

Streams are addressed, not drawn in sequence: the stream of task ``key`` is
``SeedSequence(entropy, spawn_key=key)``, so results never depend on how many
workers ran or in which order tasks finished.
"""

from __future__ import annotations

import numpy as np

from adaptive2._base.errors import DesignError

__all__ = ["generator", "seed_sequence", "stream"]


def seed_sequence(seed: int | np.random.SeedSequence | None) -> np.random.SeedSequence:
    """Normalise ``seed`` to a root ``SeedSequence`` (fresh entropy for ``None``)."""
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if seed is None:
        return np.random.SeedSequence()
    if isinstance(seed, np.random.Generator | np.random.RandomState):
        raise DesignError(
            "`seed` must be an int, a numpy.random.SeedSequence or None; got a "
            f"{type(seed).__name__}. A Generator is refused because streams spawned "
            "from it depend on call order, which would make results depend on the "
            "number of workers."
        )
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or int(seed) < 0:
        raise DesignError(
            f"`seed` must be a non-negative int, a numpy.random.SeedSequence or None; got {seed!r}."
        )
    return np.random.SeedSequence(int(seed))


def stream(root: np.random.SeedSequence, *key: int) -> np.random.Generator:
    """Generator for the task addressed by ``key`` under ``root``."""
    ss = np.random.SeedSequence(root.entropy, spawn_key=(*root.spawn_key, *key))
    return np.random.Generator(np.random.PCG64(ss))


def generator(seed: int | np.random.SeedSequence | None) -> np.random.Generator:
    """A generator for a one-off draw (no global state is touched)."""
    return np.random.Generator(np.random.PCG64(seed_sequence(seed)))
