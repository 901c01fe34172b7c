"""Fixtures shared by several test files.

The tests mirror the package's layers (tests/_base, kernels, model, engines, io,
views, cli); whole-product tests (API, README, notebooks) and the published
reference tables (tests/reference) sit beside them. The helper modules next to
this file (``_shipped``, ``_reference``, ``_need``) are importable from every
test directory.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from hypothesis import settings

sys.path.insert(0, str(Path(__file__).resolve().parent))

from adaptive2.model.designs import Design
from adaptive2.model.priors import Beta
from adaptive2.model.rules import PosteriorProbability

# Property tests draw the same examples on every run, so CI cannot fail by chance;
# ADAPTIVE2_HYPOTHESIS=explore (make fuzz) draws fresh ones to look for new failures.
settings.register_profile("ci", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False)
settings.load_profile("explore" if os.environ.get("ADAPTIVE2_HYPOTHESIS") == "explore" else "ci")


@pytest.fixture(scope="module")
def one_look() -> Design:
    """One analysis at 20 patients; success needs 7 or more (the oc() docstring example)."""
    return Design(
        name="one-look",
        prior=Beta(1, 1),
        looks=(20,),
        final=PosteriorProbability(p0=0.2, cutoff=0.95),
        p0=0.2,
        p1=0.4,
    )
