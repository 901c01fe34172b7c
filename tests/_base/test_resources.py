"""The memory limit: sizes in words, where the limit comes from, and the refusal message."""

from __future__ import annotations

import math

import pytest

import adaptive2
from adaptive2._base import resources
from adaptive2._base.errors import Adaptive2Error, DesignError, ResourceError
from adaptive2._base.resources import (
    DEFAULT_CAP,
    format_bytes,
    format_seconds,
    limit_memory,
    memory_limit,
    parse_size,
    require_memory,
    set_memory_limit,
)

GiB = 1024**3


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts from no limit set and no environment variable."""
    monkeypatch.setattr(resources, "_limit", None)
    monkeypatch.delenv("ADAPTIVE2_MAX_MEMORY", raising=False)


@pytest.mark.parametrize(
    ("text", "nbytes"),
    [
        ("8G", 8 * GiB),
        ("8g", 8 * GiB),
        ("512M", 512 * 1024**2),
        ("512 MiB", 512 * 1024**2),
        ("1.5GiB", int(1.5 * GiB)),
        ("2GB", 2 * GiB),
        ("640K", 640 * 1024),
        ("1T", 1024**4),
        ("1000", 1000),
        ("  12 b ", 12),
        ("1e3", 1000),
        (".5G", GiB // 2),
        (1000, 1000),
        (2.5e9, 2_500_000_000),
    ],
)
def test_parse_size_reads_bytes_and_units(text, nbytes) -> None:
    assert parse_size(text) == nbytes


@pytest.mark.parametrize(
    "bad", ["", "G", "abc", "-1G", "0", "0.1", "8X", "8 GiBs", "1,5G", True, float("nan"),
            float("inf"), -5, "inf"],
)
def test_parse_size_refuses_nonsense_and_names_the_option(bad) -> None:
    with pytest.raises(DesignError, match=r"`--max-memory` must be a (positive )?size"):
        parse_size(bad)
    with pytest.raises(DesignError, match="ADAPTIVE2_MAX_MEMORY"):
        parse_size(bad, "ADAPTIVE2_MAX_MEMORY")


@pytest.mark.parametrize(
    ("nbytes", "text"),
    [
        (0, "0 bytes"),
        (900, "900 bytes"),
        (1024, "1.0 KiB"),
        (1536, "1.5 KiB"),
        (2**29, "512 MiB"),
        (40e9, "37.3 GiB"),
        (99.94 * GiB, "99.9 GiB"),
        (150 * GiB, "150 GiB"),
        (3 * 1024**4, "3.0 TiB"),
    ],
)
def test_format_bytes(nbytes, text) -> None:
    assert format_bytes(nbytes) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.2, "1 s"), (40, "40 s"), (89, "89 s"), (600, "10 min"), (7200, "2.0 h"),
     (3 * 86400, "3.0 days")],
)
def test_format_seconds(seconds, text) -> None:
    assert format_seconds(seconds) == text


def test_default_is_half_the_memory_capped_at_4_gib(monkeypatch) -> None:
    monkeypatch.setattr(resources, "_physical_memory", lambda: 64 * GiB)
    assert memory_limit() == DEFAULT_CAP == 4 * GiB
    monkeypatch.setattr(resources, "_physical_memory", lambda: 6 * GiB)
    assert memory_limit() == 3 * GiB
    monkeypatch.setattr(resources, "_physical_memory", lambda: None)
    assert memory_limit() == DEFAULT_CAP


def test_default_on_this_machine() -> None:
    physical = resources._physical_memory()
    expected = DEFAULT_CAP if physical is None else min(DEFAULT_CAP, physical // 2)
    assert memory_limit() == expected > 0


def test_environment_variable_sets_the_limit(monkeypatch) -> None:
    monkeypatch.setenv("ADAPTIVE2_MAX_MEMORY", "8G")
    assert memory_limit() == 8 * GiB
    monkeypatch.setenv("ADAPTIVE2_MAX_MEMORY", "")  # empty: the default
    monkeypatch.setattr(resources, "_physical_memory", lambda: 64 * GiB)
    assert memory_limit() == DEFAULT_CAP


def test_bad_environment_variable_names_itself(monkeypatch) -> None:
    monkeypatch.setenv("ADAPTIVE2_MAX_MEMORY", "lots")
    with pytest.raises(DesignError, match=r"`ADAPTIVE2_MAX_MEMORY` must be a size"):
        memory_limit()


def test_set_memory_limit_beats_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("ADAPTIVE2_MAX_MEMORY", "8G")
    set_memory_limit("16G")
    assert memory_limit() == 16 * GiB
    set_memory_limit(None)
    assert memory_limit() == 8 * GiB
    with pytest.raises(DesignError, match="--max-memory"):
        set_memory_limit("no")
    assert memory_limit() == 8 * GiB  # a refused value changes nothing


def test_public_names() -> None:
    assert adaptive2.set_memory_limit is set_memory_limit
    assert adaptive2.memory_limit is memory_limit
    assert adaptive2.ResourceError is ResourceError


def test_limit_memory_restores_the_previous_limit(monkeypatch) -> None:
    monkeypatch.setenv("ADAPTIVE2_MAX_MEMORY", "2G")
    with limit_memory("1G"):
        assert memory_limit() == GiB
        with limit_memory(10_000):
            assert memory_limit() == 10_000
        assert memory_limit() == GiB
        with pytest.raises(RuntimeError), limit_memory("5M"):
            raise RuntimeError
        assert memory_limit() == GiB
    assert memory_limit() == 2 * GiB
    with limit_memory(None):  # None: the default (here the environment's)
        assert memory_limit() == 2 * GiB


def test_require_memory_passes_a_job_within_the_limit() -> None:
    with limit_memory("1G"):
        require_memory(GiB, "a job of exactly the limit")
        require_memory(0, "an empty job")


def test_require_memory_refuses_with_the_estimate_and_the_way_out() -> None:
    with limit_memory("1G"), pytest.raises(ResourceError) as info:
        require_memory(40e9, "the outcome lattice of 100000 patients", "use fewer looks",
                       seconds=7200)
    message = str(info.value)
    assert message == (
        "the outcome lattice of 100000 patients needs about 37.3 GiB of memory and about "
        "2.0 h (limit 1.0 GiB); use fewer looks, or raise the limit with --max-memory "
        "(Python: adaptive2.set_memory_limit)."
    )
    assert isinstance(info.value, MemoryError) and isinstance(info.value, Adaptive2Error)


def test_require_memory_without_remedy_or_time() -> None:
    with limit_memory("1M"), pytest.raises(ResourceError) as info:
        require_memory(2 * 1024**2, "a job")
    assert str(info.value) == (
        "a job needs about 2.0 MiB of memory (limit 1.0 MiB); raise the limit with "
        "--max-memory (Python: adaptive2.set_memory_limit)."
    )


@pytest.mark.parametrize("nbytes", [math.nan, math.inf])
def test_require_memory_refuses_an_estimate_that_is_not_a_number(nbytes) -> None:
    with pytest.raises(ResourceError):
        require_memory(nbytes, "a job")


def test_defer_unused_modules_leaves_imported_and_missing_modules_alone() -> None:
    import sys

    import numpy.linalg  # imported already: left as it is

    assert resources.defer_unused_modules(("numpy.linalg", "numpy.no_such_module")) == []
    assert sys.modules["numpy.linalg"] is numpy.linalg
    assert "numpy.no_such_module" not in sys.modules
