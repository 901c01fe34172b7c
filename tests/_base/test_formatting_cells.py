"""`cell` and `column_kind`: the one human formatter of report table cells."""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from adaptive2._base.errors import DesignError
from adaptive2._base.formatting import KINDS, cell, column_kind


# ---- missing values -----------------------------------------------------------
@pytest.mark.parametrize("missing", [None, float("nan"), np.nan, np.float32("nan"), pd.NA,
                                     pd.NaT, "<NA>"])
@pytest.mark.parametrize("kind", KINDS)
def test_a_missing_value_is_an_empty_cell_in_every_kind(missing, kind) -> None:
    assert cell(missing, kind) == ""


def test_bool_str_and_other_objects() -> None:
    assert (cell(True), cell(False), cell(np.bool_(True)), cell(np.False_)) == (
        "yes", "no", "yes", "no")
    assert cell(True, "prob") == "yes"  # a bool is never a number
    assert cell("≤ 4 of 15") == "≤ 4 of 15"
    assert cell("0.123456789", "prob") == "0.123456789"  # strings are shown as they are
    assert cell("") == ""
    assert cell(pd.Timestamp("2024-06-11")) == "2024-06-11 00:00:00"
    assert cell(0.5, "text") == "0.5"


# ---- kinds ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.0004999, "< 0.001"),
        (0.0005, "0.001"),  # not below the half unit: rounds to 0.001
        (1e-12, "< 0.001"),
        (0.07345, "0.073"),
        (0.5, "0.500"),
        (0.9994999, "0.999"),
        (0.9995, "> 0.999"),  # would round to 1.000
        (0.9999999, "> 0.999"),
        (1.0, "1"),
        (0.0, "0"),
        (-0.0, "0"),
        (-1e-12, "0.000"),  # rounding noise below zero shows no sign
        (np.float64(0.25), "0.250"),
        (np.float32(0.25), "0.250"),
        (1, "1"),
        (np.int64(0), "0"),
    ],
)
def test_prob(value, expected) -> None:
    assert cell(value, "prob") == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.00004999, "< 0.0001"),
        (0.00005, "0.0001"),
        (0.049999, "0.0500"),
        (0.99995, "> 0.9999"),
        (0.99994, "0.9999"),
        (1.0, "1"),
        (0.0, "0"),
    ],
)
def test_prob4(value, expected) -> None:
    assert cell(value, "prob4") == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (40.0, "40"),
        (40, "40"),
        (np.int64(40), "40"),
        (np.float64(40.0), "40"),
        (-0.0, "0"),
        (40.25, "40.2"),  # a non-integer keeps one decimal (half to even)
        (40.26, "40.3"),
        (12345678901234567891, "12345678901234567891"),  # exact, not through a float
        (float("inf"), "∞"),
    ],
)
def test_int(value, expected) -> None:
    assert cell(value, "int") == expected


@pytest.mark.parametrize(
    ("value", "kind", "expected"),
    [
        (23.456, "mean1", "23.5"),
        (40.0, "mean1", "40.0"),
        (40, "mean1", "40.0"),
        (-0.04, "mean1", "0.0"),
        (1.005, "num2", "1.00"),  # the float just below 1.005
        (2.5, "num2", "2.50"),
        (0.1234, "pct1", "12.3%"),
        (0.0, "pct1", "0%"),
        (1.0, "pct1", "100%"),
        (0.0004, "pct1", "< 0.1%"),
        (0.9996, "pct1", "> 99.9%"),
        (0.5, "pct1", "50.0%"),
        (12.345678, "num", "12.35"),
        (1234.5678, "num", "1235"),
        (123456.7, "num", "123457"),
        (0.1, "num", "0.1"),
        (0.000123456, "num", "0.0001235"),
        (0.0000123456, "num", "1.235e-05"),
        (2.0, "num", "2"),
        (9.99996, "num", "10"),
        (-3.14159, "num", "-3.142"),
        (0.0, "num", "0"),
        (float("-inf"), "num", "-∞"),
        (Fraction(1, 4), "prob", "0.250"),
    ],
)
def test_other_kinds(value, kind, expected) -> None:
    assert cell(value, kind) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (40.0, "40"),
        (np.float64(40.0), "40"),
        (np.int32(7), "7"),
        (0.07345, "0.073"),
        (1.0, "1"),
        (0.0, "0"),
        (-0.0, "0"),
        (0.0002, "< 0.001"),
        (1e-12, "< 0.001"),
        (23.456, "23.46"),
        (-0.5, "-0.5"),
        (1.5, "1.5"),
        (Decimal("2.5"), "2.5"),  # not a numbers.Real: its text
    ],
)
def test_auto(value, expected) -> None:
    assert cell(value) == expected


def test_lists_join_their_elements_and_show_a_missing_one_as_a_dash() -> None:
    assert cell([None, None, 21]) == "–, –, 21"
    assert cell((None, np.nan, 21.0)) == "–, –, 21"
    assert cell([4, 9, 14], "int") == "4, 9, 14"
    assert cell([0.5, 1.0, None], "prob") == "0.500, 1, –"
    assert cell([0.5, 1.0]) == "0.500, 1"  # "auto": the elements' column kind
    assert cell(np.array([1.0, 2.0])) == "1, 2"
    assert cell([pd.NA, "x"]) == "–, x"
    assert cell([]) == ""


def test_an_unknown_kind_is_refused_by_name() -> None:
    with pytest.raises(DesignError, match=r"`kind` of cell must be one of .*'prob'.*got 'percent'"):
        cell(0.5, "percent")


def test_no_cell_reads_like_a_machine_value() -> None:
    values = [None, np.nan, pd.NA, pd.NaT, 40.0, 0.5, 1.0, 0.0, 1e-12, [None, 2.0], 3]
    for kind in ("auto", "int", "num", "text", column_kind(values)):
        for v in values:
            text = cell(v, kind)
            bad = ("nan", "None", "<NA>", "NaT", ".0000")
            assert not any(b in text for b in bad), (v, kind)


# ---- column_kind ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([40.0, 12, None], "int"),
        ([0.0, 1.0], "int"),  # integer-valued: 0 and 1 read the same either way
        ([1.0, 0.25, 0.0], "prob"),  # a probability column keeps its exact 1.0 as "prob"
        ([0.5, np.nan, pd.NA], "prob"),
        ([0.5, 2.5], "num"),
        ([-0.1, 0.5], "num"),
        ([23.4, 40.0], "num"),
        ([[None, None, 21], [4, 9]], "int"),  # list elements count
        ([[0.2, 0.4], None], "prob"),
        (["a", "b", None], "text"),
        (["≤ 4", 0.25], "prob"),  # numbers decide; strings pass through cell unchanged
        ([True, False], "auto"),
        ([None, np.nan], "auto"),
        ([], "auto"),
        ([float("inf"), 2.0], "int"),  # infinities do not decide
        (np.array([1, 2, 3]), "int"),
        (pd.Series([0.1, 0.2]), "prob"),
    ],
)
def test_column_kind(values, expected) -> None:
    assert column_kind(values) == expected


def test_column_kind_and_cell_together_format_a_probability_column_alike() -> None:
    col = [1.0, 0.25, 0.9996, 0.0, None]
    kind = column_kind(col)
    assert [cell(v, kind) for v in col] == ["1", "0.250", "> 0.999", "0", ""]
    col = [40.0, 38.0, math.nan]
    assert [cell(v, column_kind(col)) for v in col] == ["40", "38", ""]
