"""Fixtures shared by several test files."""

from __future__ import annotations

import pytest

from adaptive2.model.designs import Design
from adaptive2.model.priors import Beta
from adaptive2.model.rules import PosteriorProbability


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
