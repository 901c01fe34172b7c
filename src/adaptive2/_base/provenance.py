"""Provenance attributes attached to every result."""

from __future__ import annotations

import datetime as _dt
from typing import Any

from adaptive2._base.version import __version__

__all__ = ["provenance"]


def provenance(**extra: Any) -> dict[str, Any]:
    """Version, creation time and dependency versions, plus ``extra``."""
    import numpy
    import scipy


    attrs: dict[str, Any] = {
        "adaptive2_version": __version__,
        "created_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "numpy_version": numpy.__version__,
        "scipy_version": scipy.__version__,
    }
    attrs.update(extra)
    return attrs
