"""Checkpoints of long runs: one file per finished chunk, and a manifest.

A run that is interrupted keeps every finished chunk; rerunning it with the same
settings skips them. The manifest records what the chunks belong to (designs
and their hashes, scenarios, conduct, seed entropy, chunk size, package
version); a folder whose manifest differs is refused with a message saying
what differs, never silently reused. Chunks are numpy ``.npz`` files of nested
``{design: {statistic: array}}`` dictionaries, written atomically
(:mod:`adaptive2._base.files`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from adaptive2._base.errors import Adaptive2Error, DesignError
from adaptive2._base.files import atomic_path, dir_mode, write_text

__all__ = ["ChunkStore"]

Stats = dict[str, dict[str, np.ndarray]]


class ChunkStore:
    """The chunks of one run in ``folder`` (created if missing).

    Parameters
    ----------
    folder : path
        A directory (created with its parents if missing); a path that exists
        and is not a directory is refused.
    manifest : dict
        JSON-ready description of the run; must equal the one already saved in
        ``folder``, if any.
    """

    def __init__(self, folder: str | Path, manifest: dict[str, Any]) -> None:
        self.folder = Path(folder)
        if self.folder.exists() and not self.folder.is_dir():
            raise DesignError(
                f"`checkpoint` must be a directory for the run's chunks; {self.folder} is a file."
            )
        try:
            self.folder.mkdir(parents=True, exist_ok=True, mode=dir_mode())
        except OSError as exc:
            raise DesignError(
                f"`checkpoint` directory {self.folder} cannot be created: {exc.strerror}."
            ) from None
        path = self.folder / "manifest.json"
        if path.exists():
            old = json.loads(path.read_text(encoding="utf-8"))
            if old != manifest:
                diff = sorted(k for k in set(manifest) | set(old) if old.get(k) != manifest.get(k))
                raise Adaptive2Error(
                    f"checkpoint {self.folder} belongs to a different run (differs in {diff}); "
                    "use another directory or delete it."
                )
        else:
            write_text(path, json.dumps(manifest, indent=1, sort_keys=True))

    @staticmethod
    def saved_seed(folder: str | Path) -> int | None:
        """The seed entropy recorded in ``folder``'s manifest, if there is one."""
        path = Path(folder) / "manifest.json"
        if not path.is_file():
            return None
        return int(json.loads(path.read_text(encoding="utf-8"))["seed_entropy"])

    def path(self, scenario: int, chunk: int) -> Path:
        """File of one chunk of one scenario."""
        return self.folder / f"chunk-{scenario:04d}-{chunk:06d}.npz"

    def has(self, scenario: int, chunk: int) -> bool:
        """Whether that chunk is saved."""
        return self.path(scenario, chunk).exists()

    def load(self, scenario: int, chunk: int) -> Stats:
        """The saved statistics of one chunk."""
        out: Stats = {}
        with np.load(self.path(scenario, chunk)) as z:
            for key in z.files:
                d, k = key.split("::", 1)
                out.setdefault(d, {})[k] = z[key]
        return out

    def save(self, scenario: int, chunk: int, stats: Stats) -> None:
        """Save one chunk (atomically)."""
        # Any: numpy's stub lets ``**kwds`` reach the keyword-only ``allow_pickle: bool``
        flat: dict[str, Any] = {f"{d}::{k}": v for d, s in stats.items() for k, v in s.items()}
        with atomic_path(self.path(scenario, chunk)) as tmp, tmp.open("wb") as fh:
            np.savez(fh, **flat)

    def count(self) -> int:
        """Chunks saved."""
        return len(list(self.folder.glob("chunk-*.npz")))
