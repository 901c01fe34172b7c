"""Helpers of the simulator's tests: a quiet run, and bit-identity up to volatile attributes."""

from __future__ import annotations

from typing import Any

import xarray as xr

from adaptive2.engines.montecarlo import simulate

VOLATILE_ATTRS = ("created_at", "wall_time_s", "workers")
"""Attributes that differ between two runs of the same job (time, machine, workers)."""


def run(designs: Any, scenarios: Any, **kw: Any) -> xr.Dataset:
    """:func:`simulate` with chunks of 500 and no progress bar unless told otherwise."""
    kw.setdefault("chunk_size", 500)
    kw.setdefault("progress", False)
    return simulate(designs, scenarios, **kw)


def strip(ds: xr.Dataset) -> xr.Dataset:
    """A copy without the volatile attributes."""
    out = ds.copy()
    out.attrs = {k: v for k, v in ds.attrs.items() if k not in VOLATILE_ATTRS}
    return out


def assert_same(a: xr.Dataset, b: xr.Dataset) -> None:
    """Bit-identical values, coords and non-volatile attrs."""
    xr.testing.assert_identical(strip(a), strip(b))
