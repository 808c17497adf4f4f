"""Batch timestamp parsing (numpy fast paths) agrees with the cell-by-cell parser."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from hypothesis_budget import examples
from seglab.core.importing.timestamps import TimestampError, TimestampParser, parse_column

PARSER = TimestampParser()

moments = st.datetimes(min_value=dt.datetime(1960, 1, 1), max_value=dt.datetime(2230, 12, 31))
shapes = st.sampled_from(
    [
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%SZ",
        "%Y-%m-%dT%H:%M:%S.{ms}",
        "%Y-%m-%d %H:%M:%S.{ms}Z",
        "%Y-%m-%dT%H:%M:%S.{us}Z",
        "%Y-%m-%d",
        "epoch_s",
        "epoch_ms",
    ]
)


def render(moment: dt.datetime, shape: str) -> str:
    if shape.startswith("epoch"):
        seconds = (moment - dt.datetime(1970, 1, 1)).total_seconds()
        return str(int(seconds)) if shape == "epoch_s" else str(int(seconds * 1000))
    text = moment.strftime(shape.replace("{ms}", "").replace("{us}", ""))
    if "{ms}" in shape:
        head, _, tail = moment.strftime(shape.replace("{ms}", "§")).partition("§")
        text = f"{head}{moment.microsecond // 1000:03d}{tail}"
    if "{us}" in shape:
        head, _, tail = moment.strftime(shape.replace("{us}", "§")).partition("§")
        text = f"{head}{moment.microsecond:06d}{tail}"
    return text


def one_by_one(values):
    out, bad = [], set()
    for i, v in enumerate(values):
        try:
            out.append(PARSER(v))
        except TimestampError:
            out.append(None)
            bad.add(i)
    return out, bad


def corrupt(text: str, position: int, char: str) -> str:
    position %= max(1, len(text))
    return text[:position] + char + text[position + 1 :]


@settings(max_examples=examples(3), deadline=None)
@given(
    st.lists(moments, min_size=1, max_size=40),
    shapes,
    st.lists(st.tuples(st.integers(0, 39), st.integers(0, 30), st.sampled_from("x9 -:T0+Zz./e")), max_size=4),
)
def test_batch_equals_cell_by_cell(when, shape, damage):
    values = [render(m, shape) for m in when]
    for index, position, char in damage:
        if index < len(values):
            values[index] = corrupt(values[index], position, char)
    got, reasons = parse_column(values, PARSER)
    expected, bad = one_by_one(values)
    assert got == expected
    assert set(reasons) == bad


def test_zone_letters_only_after_a_time():
    # Once the batch path dropped every "Z" of a column, accepting "00:00:00.Z00" and "2024-01-01Z".
    values = [
        "2000-01-01T00:00:00.Z00",
        "2000-01-01Z",
        "2000-01-01 00:00:00z",
        "2000-01-01T10:00Z",
        "2000-01-01T00:00:00.123456789Z",
        "2000-01-02T00:00:00.000Z",
    ]
    got, reasons = parse_column(values, PARSER)
    expected, bad = one_by_one(values)
    assert got == expected == [None, None, 946684800000, 946720800000, 946684800123, 946771200000]
    assert set(reasons) == bad == {0, 1}


def test_mixed_shapes_in_one_batch():
    values = ["2024-03-01T12:34:56.789Z", "2024-03-01 12:34:56", "1709296496", "2024-03-01", "2024-02-30"]
    got, reasons = parse_column(values, PARSER)
    assert got == [1709296496789, 1709296496000, 1709296496000, 1709251200000, None]
    assert list(reasons) == [4]
