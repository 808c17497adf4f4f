"""Distribution, top events, stickiness, lifecycle, overlap, distinguish, size over time, complements."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest
from test_analyses_support import build, ms, to_duckdb

from seglab.core.analyses import (
    DISTRIBUTION_COLUMNS,
    LIFECYCLE_COLUMNS,
    STICKINESS_COLUMNS,
    TOP_EVENTS_COLUMNS,
    DistinguishRequest,
    DistributionRequest,
    LifecycleRequest,
    OverlapRequest,
    SeriesSpec,
    SizeOverTimeRequest,
    StickinessRequest,
    TopEventsRequest,
    complement_series,
    run_distinguish,
    run_distribution,
    run_distribution_stats,
    run_jaccard,
    run_lifecycle,
    run_overlap,
    run_size_over_time,
    run_stickiness,
    run_top_events,
)
from seglab.core.errors import AnalysisError

D = dt.date
USERS = [("a", "X"), ("b", "X"), ("c", "Y"), ("d", None), ("e", None)]
EVENTS = [
    ("a", "view", ms("2024-01-01T10:00:00")),
    ("a", "view", ms("2024-01-01T11:00:00")),
    ("a", "view", ms("2024-01-02T10:00:00")),
    ("a", "buy", ms("2024-01-03T10:00:00")),
    ("a", "view", ms("2024-01-09T10:00:00")),
    ("b", "view", ms("2024-01-08T10:00:00")),
    ("b", "view", ms("2024-01-08T10:00:00")),
    ("b", "buy", ms("2024-01-10T10:00:00")),
    ("c", "view", ms("2023-12-27T10:00:00")),
    ("c", "view", ms("2024-01-10T10:00:00")),
    ("d", "buy", ms("2024-01-02T10:00:00")),
    ("e", "view", ms("2024-01-20T10:00:00")),  # after as-of
]
PROPS = {
    "a": {"plan": "pro", "seats": 10, "beta": 1, "email": "a@x"},
    "b": {"plan": "free", "seats": 2, "beta": 0, "email": "b@x"},
    "c": {"plan": "pro", "seats": 8, "email": "c@y"},
    "d": {"plan": "free", "email": "d@z"},
}
USER_PROP_TYPES = (("plan", "text"), ("seats", "integer"), ("beta", "boolean"), ("email", "text"))
AS_OF = ms("2024-01-14T23:59:59.999")
RANGE = dict(as_of_ms=AS_OF, date_from=D(2024, 1, 1), date_to=D(2024, 1, 14))


@pytest.fixture
def proj(tmp_path):
    p = build(tmp_path / "x.seglab", EVENTS, USERS, user_props=PROPS,
              user_prop_types=USER_PROP_TYPES,
              account_props={"X": {"tier": "gold"}, "Y": {"tier": "free"}},
              account_prop_types=(("tier", "text"),))  # fmt: skip
    yield p
    p.close()


def keys(p, *ids):
    return tuple(p.user_keys[i] for i in ids)


def test_distribution_bins_and_stats(proj):
    series = (SeriesSpec("everyone"), SeriesSpec("accounts", "account", None))
    frame = run_distribution(proj.conn, DistributionRequest(series=series, **RANGE))
    assert list(frame.columns) == DISTRIBUTION_COLUMNS
    every = frame[frame.segment == "everyone"]
    bins = list(zip(every.bin_low, every.bin_high, every.units))
    assert bins == [(1, 1, 2), (2, 2, 0), (3, 4, 1), (5, 8, 1)]
    assert list(frame[frame.segment == "accounts"].units) == [1, 0, 0, 1]  # X: 5 + 3 events, Y: 1
    stats = run_distribution_stats(proj.conn, DistributionRequest(**RANGE))
    row = stats.iloc[0]
    expected = np.percentile([5, 3, 1, 1], [50, 75, 90, 99])
    assert (row.units, row["mean"], row["max"]) == (4, 2.5, 5)
    assert [row["median"], row.p75, row.p90, row.p99] == pytest.approx(list(expected))


def test_top_events_share_and_lift(proj):
    seg = SeriesSpec("a+c", "user", keys(proj, "a", "c"))
    frame = run_top_events(proj.conn, TopEventsRequest(series=(seg, SeriesSpec("everyone")), **RANGE))
    assert list(frame.columns) == TOP_EVENTS_COLUMNS
    mine = frame[frame.segment == "a+c"]
    assert list(mine.event) == ["view", "buy"]
    assert list(mine.units) == [2, 1]
    assert list(mine.share) == [1.0, 0.5]
    assert list(mine.rest_units) == [1, 2]  # of b, d, e
    assert list(mine.rest_share) == pytest.approx([1 / 3, 2 / 3])
    assert list(mine.lift) == pytest.approx([3.0, 0.75])
    every = frame[frame.segment == "everyone"]
    assert list(every.units) == [3, 3] and every.lift.isna().all()


def test_stickiness_weekly(proj):
    frame = run_stickiness(proj.conn, StickinessRequest(interval="week", **RANGE))
    assert list(frame.columns) == STICKINESS_COLUMNS
    w1 = frame[frame.period_start == "2024-01-01"]
    w2 = frame[frame.period_start == "2024-01-08"]
    assert list(w1.days) == list(range(1, 8))
    assert list(w1.units) == [1, 0, 1, 0, 0, 0, 0]
    assert list(w2.units) == [2, 1, 0, 0, 0, 0, 0]
    assert list(w2.share)[:2] == pytest.approx([2 / 3, 1 / 3])
    with pytest.raises(AnalysisError):
        run_stickiness(proj.conn, StickinessRequest(interval="day", **RANGE))


def test_lifecycle_weekly(proj):
    frame = run_lifecycle(proj.conn, LifecycleRequest(interval="week", **RANGE))
    assert list(frame.columns) == LIFECYCLE_COLUMNS
    table = {(r.period_start, r.status): r.units for r in frame.itertuples()}
    assert [table[("2024-01-01", s)] for s in ("new", "returning", "resurrecting", "dormant")] == [2, 0, 0, 1]
    assert [table[("2024-01-08", s)] for s in ("new", "returning", "resurrecting", "dormant")] == [1, 1, 1, 1]
    acc = run_lifecycle(proj.conn, LifecycleRequest(interval="week", series=(SeriesSpec("acc", "account"),),
                                                     **RANGE))  # fmt: skip
    table = {(r.period_start, r.status): r.units for r in acc.itertuples()}
    # X: new in week 1 (a), returning in week 2; Y (c): dormant in week 1, resurrecting in week 2
    assert [table[("2024-01-01", s)] for s in ("new", "returning", "resurrecting", "dormant")] == [1, 0, 0, 1]
    assert [table[("2024-01-08", s)] for s in ("new", "returning", "resurrecting", "dormant")] == [0, 1, 1, 0]


def test_overlap_regions_and_jaccard(proj):
    req = OverlapRequest(series=(SeriesSpec("A", "user", (1, 2, 3)), SeriesSpec("B", "user", (2, 3, 4)),
                                 SeriesSpec("C", "user", (3, 5))))  # fmt: skip
    frame = run_overlap(proj.conn, req)
    regions = dict(zip(frame.region, frame.units))
    assert regions == {"A & B & C": 1, "A & B": 1, "A & C": 0, "B & C": 0, "A": 1, "B": 1, "C": 1}
    assert frame.share.sum() == pytest.approx(1.0)
    pairs = run_jaccard(proj.conn, req)
    assert list(pairs.jaccard) == [0.5, 0.25, 0.25]
    with pytest.raises(AnalysisError):
        run_overlap(proj.conn, OverlapRequest(series=(SeriesSpec("A", "user", (1,)),)))
    with pytest.raises(AnalysisError):
        mixed = (SeriesSpec("A", "user", (1,)), SeriesSpec("B", "account", (1,)))
        run_overlap(proj.conn, OverlapRequest(series=mixed))


def test_distinguish(proj):
    seg = SeriesSpec("a+c", "user", keys(proj, "a", "c"))
    frame = run_distinguish(proj.conn, DistinguishRequest(series=seg, **RANGE))
    top = frame.iloc[0]
    assert (top.kind, top["name"], top.value) == ("property", "plan", "pro")
    assert (top.segment_value, top.rest_value) == (1.0, 0.0)
    assert top.effect_size == pytest.approx(math.pi)
    assert 0 < top.p_value < 0.1
    seats = frame[frame["name"] == "seats"].iloc[0]
    assert seats.segment_value == 9.0 and seats.rest_value == 2.0 and math.isnan(seats.effect_size)
    beta = frame[frame["name"] == "beta"]
    assert list(beta.value) == ["true"]  # only values present in the segment are compared
    assert (beta.iloc[0].segment_value, beta.iloc[0].rest_value) == (0.5, 0.0)  # b is false, d/e unset
    gold = frame[(frame["name"] == "account.tier") & (frame.value == "gold")].iloc[0]
    assert (gold.segment_value, gold.rest_value) == (0.5, pytest.approx(1 / 3))  # a | b (d, e: none)
    accounts = run_distinguish(proj.conn, DistinguishRequest(SeriesSpec("X", "account", (1,)), **RANGE))
    assert set(accounts["name"]) == {"tier", "view", "buy"}  # an account has no account.* properties
    view = frame[(frame.kind == "event") & (frame["name"] == "view")].iloc[0]
    assert (view.segment_value, view.rest_value) == (1.0, pytest.approx(1 / 3))
    with pytest.raises(AnalysisError):
        run_distinguish(proj.conn, DistinguishRequest(series=SeriesSpec("everyone"), **RANGE))
    one = run_distinguish(proj.conn, DistinguishRequest(series=seg, max_values=1, **RANGE))
    assert "plan" in set(one["name"]) and "email" not in set(one["name"])  # identifier-like: skipped


def test_complement(proj):
    rest = complement_series(proj.conn, SeriesSpec("a+c", "user", keys(proj, "a", "c")))
    assert rest.label == "not a+c" and set(rest.keys) == set(keys(proj, "b", "d", "e"))
    acc = complement_series(proj.conn, SeriesSpec("X", "account", (proj.account_keys["X"],)))
    assert acc.keys == (proj.account_keys["Y"],)


def test_size_over_time(proj):
    segments = pytest.importorskip("seglab.core.segments")
    if not hasattr(segments, "load_definition"):
        pytest.skip("the segment engine is not in this tree")
    definition = segments.load_definition(
        {"version": 1, "level": "user", "match": "all", "conditions": [{"type": "behavior", "event": "*"}]}
    )
    frame = run_size_over_time(
        proj.conn, SizeOverTimeRequest(segments=(("active", definition),), interval="week", **RANGE)
    )
    assert list(frame["size"]) == [3, 4]
    assert list(frame.evaluated_at) == ["2024-01-07T23:59:59.999Z", "2024-01-14T23:59:59.999Z"]


@pytest.mark.parametrize("kind", ["distribution", "top", "stickiness", "lifecycle", "distinguish"])
def test_sqlite_and_duckdb_agree(proj, kind):
    seg = SeriesSpec("a+c", "user", keys(proj, "a", "c"))
    acc = SeriesSpec("acc", "account", None)
    run, req = {
        "distribution": (run_distribution, DistributionRequest(series=(seg, acc), **RANGE)),
        "top": (run_top_events, TopEventsRequest(series=(seg, acc), **RANGE)),
        "stickiness": (run_stickiness, StickinessRequest(series=(seg, acc), interval="month", **RANGE)),
        "lifecycle": (run_lifecycle, LifecycleRequest(series=(seg, acc), interval="day", **RANGE)),
        "distinguish": (run_distinguish, DistinguishRequest(series=seg, **RANGE)),
    }[kind]
    got = run(proj.conn, req)
    duck = to_duckdb(proj.conn)
    try:
        other = run(duck, req)
    finally:
        duck.close()
    assert len(got) > 0
    assert other.equals(got)


def test_distribution_counts_only_up_to_an_as_of_inside_a_day(tmp_path):
    events = [("x", "view", ms("2024-01-01T10:00:00")), ("x", "view", ms("2024-01-02T10:00:00")),
              ("x", "view", ms("2024-01-02T11:00:00")), ("y", "view", ms("2024-01-02T12:00:00"))]  # fmt: skip
    with build(tmp_path / "d.seglab", events) as p:
        req = DistributionRequest(as_of_ms=ms("2024-01-02T10:30:00"), date_from=D(2024, 1, 1),
                                  date_to=D(2024, 1, 2))  # fmt: skip
        stats = run_distribution_stats(p.conn, req)
        assert (stats.iloc[0].units, stats.iloc[0]["max"]) == (1, 2)  # x: 2 events by as-of; y: none yet


def test_an_empty_segment_gives_zeros_everywhere(proj):
    from seglab.core.analyses import (
        FunnelRequest,
        FunnelStep,
        RetentionRequest,
        TrendRequest,
        run_funnel,
        run_retention,
        run_trend,
    )

    empty_users, empty_accounts = SeriesSpec("nobody", "user", ()), SeriesSpec("no acc", "account", ())
    series = (empty_users, empty_accounts)
    for measure in ("count", "users", "accounts", "per_user"):
        assert run_trend(proj.conn, TrendRequest(measure=measure, series=series, **RANGE)).value.sum() == 0
    steps = (FunnelStep("view"), FunnelStep("buy"))
    assert run_funnel(proj.conn, FunnelRequest(steps=steps, series=series, **RANGE)).entered.sum() == 0
    lone = FunnelRequest(steps=steps, series=(empty_users,), **RANGE)  # filtered in SQL
    assert run_funnel(proj.conn, lone).entered.sum() == 0
    assert len(run_retention(proj.conn, RetentionRequest(series=series, **RANGE))) == 0
    assert run_distribution(proj.conn, DistributionRequest(series=series, **RANGE)).units.sum() == 0
    assert len(run_top_events(proj.conn, TopEventsRequest(series=series, **RANGE))) == 0
    assert run_stickiness(proj.conn, StickinessRequest(series=series, **RANGE)).units.sum() == 0
    assert run_lifecycle(proj.conn, LifecycleRequest(series=series, **RANGE)).units.sum() == 0
    frame = run_distinguish(proj.conn, DistinguishRequest(series=empty_users, **RANGE))
    assert (frame.segment_value.fillna(0) == 0).all()


def test_account_segment_against_its_rest(proj):
    x = SeriesSpec("X", "account", (proj.account_keys["X"],))
    top = run_top_events(proj.conn, TopEventsRequest(series=(x,), **RANGE))
    # X (users a, b) did view and buy; the rest is Y (c: view only)
    assert dict(zip(top.event, top.rest_units)) == {"view": 1, "buy": 0}
    assert dict(zip(top.event, top.rest_share)) == {"view": 1.0, "buy": 0.0}
    frame = run_distinguish(proj.conn, DistinguishRequest(series=x, **RANGE))
    buy = frame[(frame.kind == "event") & (frame["name"] == "buy")].iloc[0]
    assert (buy.segment_value, buy.rest_value) == (1.0, 0.0)
