"""One way to write numbers for people (the app, the worksheet, exported pictures)."""

from __future__ import annotations

import math

import pytest

from seglab.core import formatting


@pytest.mark.parametrize(
    "value, text",
    [
        (0, "0"),
        (2.5, "2.50"),
        (12.34, "12.3"),
        (1234, "1,234"),
        (9980.5, "9,980"),  # an MRR: never 9.98e+03
        (9999, "9,999"),
        (12_345, "12.3k"),
        (123_456, "123k"),
        (999_500, "1.00M"),
        (1_234_567, "1.23M"),
        (-15_000, "-15.0k"),
        (None, "–"),
        (math.nan, "–"),
    ],
)
def test_number(value, text):
    assert formatting.number(value) == text


def test_exact_keeps_the_digits_without_exponents():
    assert formatting.exact(9980.5) == "9,980.5"
    assert formatting.exact(1_234_567.25) == "1,234,567.25"
    assert formatting.exact(0.000125) == "0.000125"
    assert formatting.exact(30) == "30"
    assert "e" not in formatting.exact(123456789.123)


def test_percent_and_duration():
    assert formatting.percent(0.4567) == "46%"
    assert formatting.percent(0.4567, 1) == "45.7%"
    assert formatting.percent(None) == "–"
    assert [formatting.duration(s) for s in (42, 600, 5400, 3 * 86400)] == [
        "42 s",
        "10.0 min",
        "1.5 h",
        "3.0 d",
    ]
