"""Optional dependencies a test needs: a missing one fails the test, never skips it silently."""

from __future__ import annotations

import os

import pytest


def need_pymc() -> None:
    """Fail (never skip) when PyMC/ArviZ are missing: ``make validate`` installs them."""
    try:
        import arviz  # noqa: F401
        import pymc  # noqa: F401
    except ImportError as exc:
        pytest.fail(f"PyMC/ArviZ missing ({exc}): install with `pip install -e .[bayes]`.")


def need_browser(missing: str) -> None:
    """Skip a browser test on a machine without chromium, but fail in CI, which has one."""
    if not missing:
        return
    if os.environ.get("ADAPTIVE2_REQUIRE_BROWSER") == "1":
        pytest.fail(f"browser test required in CI but {missing}")
    pytest.skip(missing)
