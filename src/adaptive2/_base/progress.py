"""One progress display for long runs: ``tqdm.auto``.

In Jupyter it is a widget (a text bar when ipywidgets is missing), on a terminal
a bar on stderr, and it stays silent when output is not a terminal (CI logs,
pipes) unless progress is asked for explicitly.
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["progress_bar", "wanted"]


def wanted(progress: bool | None) -> bool:
    """Resolve ``progress=None``: on when stderr is a terminal or Jupyter is running."""
    if progress is not None:
        return bool(progress)
    if "ipykernel" in sys.modules:
        return True
    return bool(getattr(sys.stderr, "isatty", lambda: False)())


def progress_bar(total: int, desc: str, *, enabled: bool, unit: str = "chunk",
                 initial: int = 0) -> Any:
    """A ``tqdm`` bar (disabled, and silent, when ``enabled`` is False).

    In Jupyter with ipywidgets installed the bar is a widget (``tqdm.auto``); anywhere
    else, and always when disabled, it is the text bar, so a notebook without
    ipywidgets gets no "IProgress not found" warning.
    Use as a context manager and call ``update(k)`` as work finishes.
    """
    import importlib.util
    import warnings

    from tqdm import TqdmExperimentalWarning
    from tqdm.std import tqdm

    if enabled and "ipykernel" in sys.modules and importlib.util.find_spec("ipywidgets"):
        from tqdm.auto import tqdm

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TqdmExperimentalWarning)
        return tqdm(total=total, desc=desc, unit=unit, initial=initial, disable=not enabled,
                    leave=False, dynamic_ncols=True)
