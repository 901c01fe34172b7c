"""One way to write files: atomically, with the user's umask.

Every output of adaptive2 (design files, comparison tables, netCDF results,
checkpoint chunks and manifests, the report folder) is written to a temporary
sibling and moved into place with :func:`os.replace`, so a reader never sees a
half-written file and a failed run leaves the previous file intact. Temporary
files are created private (``mkstemp``); the final file gets the mode a plain
``open`` would have given it under the current umask (0644 for the usual 022),
and a folder the mode ``mkdir`` would give it (0755), so colleagues on a shared
server can read an appendix.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = [
    "atomic_path",
    "dir_mode",
    "file_mode",
    "make_temp_dir",
    "replace_dir",
    "write_bytes",
    "write_text",
]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """Mode of a new file under the current umask (0o666 & ~umask)."""
    return 0o666 & ~_umask()


def dir_mode() -> int:
    """Mode of a new folder under the current umask (0o777 & ~umask)."""
    return 0o777 & ~_umask()


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary sibling of ``path`` to write to; moved onto ``path`` on success.

    The sibling is removed if the block raises (the old ``path`` is untouched).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "out.txt"
    >>> with atomic_path(target) as tmp:
    ...     _ = tmp.write_text("done")
    >>> target.read_text()
    'done'
    """
    p = Path(path)
    fd, name = tempfile.mkstemp(dir=p.parent if str(p.parent) else ".", prefix=f".{p.name}.",
                                suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, file_mode())
        os.replace(tmp, p)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text(path: str | Path, text: str, *, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically; return the path."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding=encoding)
    return Path(path)


def write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; return the path."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def make_temp_dir(parent: str | Path, prefix: str) -> Path:
    """A new empty folder in ``parent`` with the umask's folder mode (not mkdtemp's 0700)."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    os.chmod(tmp, dir_mode())
    return tmp


def replace_dir(tmp: Path, out: Path) -> None:
    """Replace folder ``out`` by ``tmp`` with two renames (the old one survives a failure)."""
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        os.replace(out, old)
    try:
        os.replace(tmp, out)
    except BaseException:
        if old is not None:
            os.replace(old, out)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
