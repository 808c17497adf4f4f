"""Trend: hand-checked numbers, the pandas reference, and SQLite == DuckDB."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_analyses_support import build, frame_of, ms, ref_trend, to_duckdb

from hypothesis_budget import examples
from seglab.core.analyses import TREND_COLUMNS, SeriesSpec, TrendRequest, run_trend
from seglab.core.errors import AnalysisError

D = dt.date
USERS = [("u1", "A"), ("u2", "A"), ("u3", "B"), ("u4", None)]
EVENTS = [
    ("u1", "view", ms("2024-01-01T00:00:00.000")),  # Monday 00:00: first ms of week 1
    ("u1", "view", ms("2024-01-07T23:59:59.999")),  # last ms of week 1
    ("u1", "view", ms("2024-01-08T00:00:00.000")),  # first ms of week 2
    ("u2", "view", ms("2024-01-03T12:00:00.000")),
    ("u2", "buy", ms("2024-01-03T12:00:00.000")),
    ("u3", "view", ms("2024-01-10T08:00:00.000")),
    ("u3", "view", ms("2024-01-10T08:00:00.000")),  # same ms twice: two events
    ("u4", "buy", ms("2024-01-15T00:00:00.000")),
    ("u1", "view", ms("2024-01-20T10:00:00.000")),
    ("u1", "view", ms("2024-01-20T11:00:00.000")),
]
AS_OF = ms("2024-01-20T09:00:00.000")


@pytest.fixture
def proj(tmp_path):
    project = build(tmp_path / "t.seglab", EVENTS, USERS)
    yield project
    project.close()


def trend(conn, **kw):
    kw.setdefault("as_of_ms", AS_OF)
    kw.setdefault("date_from", D(2024, 1, 1))
    kw.setdefault("date_to", D(2024, 1, 21))
    return run_trend(conn, TrendRequest(**kw))


def values(frame, label="everyone"):
    return list(frame[frame.segment == label].value)


def test_weekly_count_by_hand(proj):
    frame = trend(proj.conn, event="view", measure="count", interval="week")
    assert list(frame.columns) == TREND_COLUMNS
    assert list(frame.period_start) == ["2024-01-01", "2024-01-08", "2024-01-15"]
    assert values(frame) == [3, 3, 0]  # the 2024-01-20 views are after as-of


@pytest.mark.parametrize(
    ("measure", "expected"),
    [("users", [2, 2, 0]), ("accounts", [1, 2, 0]), ("per_user", [1.5, 1.5, 0.0])],
)
def test_weekly_measures_by_hand(proj, measure, expected):
    assert values(trend(proj.conn, event="view", measure=measure, interval="week")) == expected


def test_as_of_inside_a_day_counts_only_events_up_to_it(proj):
    # as-of between the two 2024-01-20 views: the roll-up row holds both, only one counts
    frame = trend(proj.conn, event="view", interval="week", as_of_ms=ms("2024-01-20T10:30:00"))
    assert values(frame) == [3, 3, 1]
    frame = trend(proj.conn, event="view", interval="week", as_of_ms=ms("2024-01-20T10:00:00"))
    assert values(frame) == [3, 3, 1]  # an event exactly at as-of counts
    frame = trend(proj.conn, event="*", interval="day", as_of_ms=ms("2024-01-20T10:00:00"))
    assert values(frame)[19] == 1


def test_from_on_a_wednesday_keeps_the_monday_but_counts_only_the_range(proj):
    frame = trend(proj.conn, event="view", interval="week", date_from=D(2024, 1, 3))
    assert frame.period_start.iloc[0] == "2024-01-01"
    assert values(frame) == [2, 3, 0]


def test_daily_lists_every_day_and_any_event(proj):
    frame = trend(proj.conn, event="*", interval="day")
    assert len(frame) == 21
    vals = values(frame)
    assert vals[0] == 1 and vals[2] == 2 and vals[14] == 1 and vals[19] == 0


def test_monthly(proj):
    frame = trend(proj.conn, event="*", measure="users", interval="month", date_to=D(2024, 2, 2))
    assert list(frame.period_start) == ["2024-01-01", "2024-02-01"]
    assert values(frame) == [4, 0]


def test_series_of_users_and_of_accounts(proj):
    keys = proj.user_keys
    series = (
        SeriesSpec("first two", "user", (keys["u1"], keys["u3"])),
        SeriesSpec("acct A", "account", (proj.account_keys["A"],)),
        SeriesSpec("all accounts", "account", None),
    )
    frame = trend(proj.conn, event="view", measure="count", interval="week", series=series)
    assert values(frame, "first two") == [2, 3, 0]
    assert values(frame, "acct A") == [3, 1, 0]
    assert values(frame, "all accounts") == [3, 3, 0]
    frame = trend(proj.conn, event="*", measure="users", interval="week", series=series)
    assert values(frame, "all accounts") == [2, 2, 0]  # u4 has no account


def test_unknown_event_gives_zeros(proj):
    assert values(trend(proj.conn, event="nope", interval="week")) == [0, 0, 0]


def test_bad_requests(proj):
    with pytest.raises(AnalysisError, match="after"):
        trend(proj.conn, date_from=D(2024, 2, 1), date_to=D(2024, 1, 1))
    with pytest.raises(AnalysisError, match="measure"):
        trend(proj.conn, measure="sum")
    with pytest.raises(AnalysisError, match="interval"):
        trend(proj.conn, interval="year")


def test_default_range_is_90_days_up_to_as_of(proj):
    frame = run_trend(proj.conn, TrendRequest(as_of_ms=AS_OF))
    assert len(frame) == 90
    assert frame.period_start.iloc[-1] == "2024-01-20"
    assert frame.period_start.iloc[0] == "2023-10-23"


CASES = [
    dict(event="view", measure=m, interval=i, date_from=f, date_to=t, as_of_ms=a)
    for m in ("count", "users", "accounts", "per_user")
    for i in ("day", "week", "month")
    for f, t, a in [
        (D(2024, 1, 1), D(2024, 1, 21), AS_OF),
        (D(2024, 1, 3), D(2024, 1, 31), ms("2024-01-20T10:30:00")),
        (D(2023, 12, 30), D(2024, 1, 9), ms("2024-02-01T00:00:00")),
        (D(2023, 9, 1), D(2024, 1, 31), AS_OF),  # 153 days: three 62-day words of bits
    ]
]


@pytest.mark.parametrize("case", CASES)
def test_matches_reference_and_duckdb(proj, case):
    df = frame_of(EVENTS, USERS)
    got = run_trend(proj.conn, TrendRequest(**case))
    ref = ref_trend(
        df,
        event=case["event"],
        measure=case["measure"],
        interval=case["interval"],
        as_of=case["as_of_ms"],
        date_from=case["date_from"],
        date_to=case["date_to"],
    )
    assert list(got.period_start) == [r[0] for r in ref]
    assert list(got.value) == pytest.approx([r[1] for r in ref], rel=1e-12)
    duck = to_duckdb(proj.conn)
    try:
        assert run_trend(duck, TrendRequest(**case)).equals(got)
    finally:
        duck.close()


@pytest.mark.parametrize("measure", ["count", "users", "accounts", "per_user"])
@pytest.mark.parametrize("interval", ["day", "week"])
def test_account_series_match_reference(proj, measure, interval):
    acc_a = proj.account_keys["A"]
    series = (SeriesSpec("all accounts", "account", None), SeriesSpec("A", "account", (acc_a,)))
    kw = dict(event="*", measure=measure, interval=interval, as_of_ms=ms("2024-01-20T10:30:00"),
              date_from=D(2024, 1, 2), date_to=D(2024, 1, 25))  # fmt: skip
    got = run_trend(proj.conn, TrendRequest(series=series, **kw))
    df = frame_of(EVENTS, USERS)
    for label, members in (("all accounts", None), ("A", {"A"})):
        ref = ref_trend(
            df,
            event="*",
            measure=measure,
            interval=interval,
            as_of=kw["as_of_ms"],
            date_from=kw["date_from"],
            date_to=kw["date_to"],
            level="account",
            members=members,
        )
        part = got[got.segment == label]
        assert list(part.value) == pytest.approx([r[1] for r in ref], rel=1e-12)


def test_cancel_stops_the_analysis(proj):
    from seglab.core.errors import Cancelled
    from seglab.core.progress import CancelToken

    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        run_trend(proj.conn, TrendRequest(as_of_ms=AS_OF, measure="users"), token)


def test_no_as_of_means_the_projects(proj):
    frame = run_trend(proj.conn, TrendRequest(event="view", interval="week", date_from=D(2024, 1, 1),
                                              date_to=D(2024, 1, 21)))  # fmt: skip
    assert values(frame) == [3, 3, 2]  # the latest event is the as-of: both 2024-01-20 views count


event_st = st.tuples(
    st.sampled_from(["u1", "u2", "u3", "u4", "u5"]),
    st.sampled_from(["view", "buy"]),
    st.integers(0, 24 * 80).map(lambda h: ms("2023-12-20T00:00:00") + h * 3_600_000 + (h % 3) * 17),
)


@settings(max_examples=examples(0.25), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    events=st.lists(event_st, min_size=1, max_size=30),
    event=st.sampled_from(["view", "*"]),
    measure=st.sampled_from(["count", "users", "accounts", "per_user"]),
    interval=st.sampled_from(["day", "week", "month"]),
    as_of_h=st.integers(24 * 10, 24 * 85),
    level=st.sampled_from(["user", "account"]),
)
def test_random_data_matches_reference(events, event, measure, interval, as_of_h, level):
    users = [("u1", "X"), ("u2", "X"), ("u3", "Y")]
    as_of = ms("2023-12-20T00:00:00") + as_of_h * 3_600_000 + 1_800_000
    kw = dict(event=event, measure=measure, interval=interval, as_of_ms=as_of,
              date_from=D(2023, 12, 27), date_to=D(2024, 2, 29))  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp, build(Path(tmp) / "t.seglab", events, users) as p:
        got = run_trend(p.conn, TrendRequest(series=(SeriesSpec("s", level),), **kw))
        ref = ref_trend(frame_of(events, users), event=event, measure=measure, interval=interval, as_of=as_of,
                        date_from=kw["date_from"], date_to=kw["date_to"], level=level)  # fmt: skip
        assert list(got.period_start) == [r[0] for r in ref]
        assert list(got.value) == pytest.approx([r[1] for r in ref], rel=1e-12)
