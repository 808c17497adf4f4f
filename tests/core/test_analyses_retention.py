"""Retention: hand-checked cohorts, the pandas reference on random data, SQLite == DuckDB."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_analyses_support import DAY, build, frame_of, ms, ref_retention, to_duckdb

from hypothesis_budget import examples
from seglab.core.analyses import RETENTION_COLUMNS, RetentionRequest, SeriesSpec, run_retention
from seglab.core.errors import AnalysisError

D = dt.date
USERS = [("a", "X"), ("b", "X"), ("c", "Y")]
EVENTS = [
    ("a", "signup", ms("2024-01-01T00:00:00")),  # Monday 00:00 → cohort week 2024-01-01
    ("a", "use", ms("2024-01-07T23:59:59.999")),  # still week 0
    ("a", "use", ms("2024-01-15T08:00:00")),  # week 2
    ("b", "signup", ms("2024-01-10T10:00:00")),  # cohort week 2024-01-08
    ("b", "signup", ms("2024-01-17T10:00:00")),  # entering twice: the first start counts
    ("b", "use", ms("2024-01-08T09:00:00")),  # before the signup, same week: period 0
    ("b", "use", ms("2024-01-16T10:00:00")),  # period 1
    ("c", "signup", ms("2023-12-31T23:00:00")),  # before the range: c is not in any cohort
    ("c", "use", ms("2024-01-02T10:00:00")),
    ("a", "use", ms("2024-01-29T10:00:00")),  # after as-of: never counts
]
AS_OF = ms("2024-01-24T12:00:00")


def retention(conn, **kw):
    kw.setdefault("start_event", "signup")
    kw.setdefault("return_event", "use")
    kw.setdefault("interval", "week")
    kw.setdefault("periods", 4)
    kw.setdefault("as_of_ms", AS_OF)
    kw.setdefault("date_from", D(2024, 1, 1))
    kw.setdefault("date_to", D(2024, 1, 21))
    return run_retention(conn, RetentionRequest(**kw))


def as_rows(frame, label="everyone"):
    part = frame[frame.segment == label]
    return [
        (r.cohort_start, r.cohort_size, r.period, r.retained, r.rate, bool(r.complete))
        for r in part.itertuples()
    ]


def test_weekly_by_hand(tmp_path):
    with build(tmp_path / "r.seglab", EVENTS, USERS) as p:
        frame = retention(p.conn)
        assert list(frame.columns) == RETENTION_COLUMNS
        assert as_rows(frame) == [
            ("2024-01-01", 1, 0, 1, 1.0, True),
            ("2024-01-01", 1, 1, 0, 0.0, True),
            ("2024-01-01", 1, 2, 1, 1.0, True),  # week of 01-15 ended 01-21 23:59:59.999
            ("2024-01-01", 1, 3, 0, 0.0, False),  # week of 01-22 has not ended by as-of
            ("2024-01-08", 1, 0, 1, 1.0, True),
            ("2024-01-08", 1, 1, 1, 1.0, True),
            ("2024-01-08", 1, 2, 0, 0.0, False),
            ("2024-01-08", 1, 3, 0, 0.0, False),
        ]


def test_complete_when_period_ends_exactly_at_as_of(tmp_path):
    with build(tmp_path / "r.seglab", EVENTS, USERS) as p:
        frame = retention(p.conn, interval="day", periods=2, as_of_ms=ms("2024-01-01T23:59:59.999"))
        assert as_rows(frame) == [
            ("2024-01-01", 1, 0, 0, 0.0, True),
            ("2024-01-01", 1, 1, 0, 0.0, False),
        ]


def test_account_unit(tmp_path):
    with build(tmp_path / "r.seglab", EVENTS, USERS) as p:
        series = (SeriesSpec("acc", "account", None), SeriesSpec("Y", "account", (p.account_keys["Y"],)))
        frame = retention(p.conn, series=series)
        # account X: first signup by a in week 01-01; returns by a or b
        assert [r[3] for r in as_rows(frame, "acc")] == [1, 1, 1, 0]
        assert as_rows(frame, "Y") == []  # c signed up before the range


def test_any_event_default_and_unknown_event(tmp_path):
    with build(tmp_path / "r.seglab", EVENTS, USERS) as p:
        frame = retention(p.conn, start_event="*", return_event="*", periods=1)
        assert as_rows(frame) == [
            ("2024-01-01", 2, 0, 2, 1.0, True),
            ("2024-01-08", 1, 0, 1, 1.0, True),
        ]
        assert len(retention(p.conn, start_event="nope")) == 0
        with pytest.raises(AnalysisError):
            retention(p.conn, periods=0)


event_st = st.tuples(
    st.sampled_from(["u1", "u2", "u3", "u4", "u5"]),
    st.sampled_from(["s", "r", "x"]),
    st.integers(0, 24 * 75).map(lambda h: ms("2024-01-25T00:00:00") + h * 3_600_000 + 1),
)


@settings(max_examples=examples(0.3), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    events=st.lists(event_st, min_size=1, max_size=30),
    interval=st.sampled_from(["day", "week", "month"]),
    start=st.sampled_from(["s", "*"]),
    ret=st.sampled_from(["r", "*"]),
    as_of_h=st.integers(24 * 20, 24 * 80),
)
def test_matches_reference(events, interval, start, ret, as_of_h):
    users = [("u1", "X"), ("u2", "X"), ("u3", "Y")]
    as_of = ms("2024-01-25T00:00:00") + as_of_h * 3_600_000
    kw = dict(
        start_event=start, return_event=ret, interval=interval, periods=3,
        as_of_ms=as_of, date_from=D(2024, 1, 31), date_to=D(2024, 3, 5),
    )  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        with build(Path(tmp) / "r.seglab", events, users) as p:
            df = frame_of(events, users)
            for level in ("user", "account"):
                got = run_retention(p.conn, RetentionRequest(series=(SeriesSpec("s", level),), **kw))
                ref = ref_retention(
                    df, start_event=start, return_event=ret, interval=interval, periods=3, as_of=as_of,
                    date_from=kw["date_from"], date_to=kw["date_to"], level=level,
                )  # fmt: skip
                assert as_rows(got, "s") == ref


def test_sqlite_and_duckdb_agree(tmp_path):
    events = [(u, n, ms("2024-01-01T00:00:00") + i * 37 * 3_600_000) for i, (u, n) in
              enumerate([("a", "s"), ("b", "s"), ("a", "r"), ("c", "s"), ("b", "r")] * 6)]  # fmt: skip
    with build(tmp_path / "r.seglab", events, [("a", "X"), ("b", "X")]) as p:
        for interval in ("day", "week", "month"):
            req = RetentionRequest(
                start_event="s", return_event="r", interval=interval, periods=5,
                series=(SeriesSpec("everyone"), SeriesSpec("X", "account", None)),
                as_of_ms=ms("2024-01-20T00:00:00") + 5 * DAY,
                date_from=D(2024, 1, 1), date_to=D(2024, 1, 20),
            )  # fmt: skip
            got = run_retention(p.conn, req)
            assert len(got) > 0
            duck = to_duckdb(p.conn)
            try:
                assert run_retention(duck, req).equals(got)
            finally:
                duck.close()


def test_daily_over_a_long_range_matches_reference(tmp_path):
    # 91 days + 10 periods of daily buckets span three 62-bit words
    base = ms("2024-01-01T08:00:00")
    events = [(f"u{i % 7}", "s" if i % 3 == 0 else "r", base + i * 31 * 3_600_000) for i in range(80)]
    as_of = ms("2024-04-20T00:00:00")
    kw = dict(start_event="s", return_event="r", interval="day", periods=10, as_of_ms=as_of,
              date_from=D(2024, 1, 1), date_to=D(2024, 3, 31))  # fmt: skip
    with build(tmp_path / "r.seglab", events) as p:
        got = run_retention(p.conn, RetentionRequest(**kw))
        ref = ref_retention(frame_of(events), start_event="s", return_event="r", interval="day", periods=10,
                            as_of=as_of, date_from=kw["date_from"], date_to=kw["date_to"])  # fmt: skip
        assert as_rows(got) == ref and len(ref) == 70
