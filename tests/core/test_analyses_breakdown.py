"""Event filters, breakdowns, value measures and the previous period against pandas, on SQLite and DuckDB."""

from __future__ import annotations

import datetime as dt
import random

import pandas as pd
import pytest
from test_analyses_support import DAY, build, ms, to_duckdb

from seglab.core.analyses import (
    DistributionRequest,
    FunnelRequest,
    LifecycleRequest,
    RetentionRequest,
    SeriesSpec,
    StickinessRequest,
    TrendRequest,
    run_distribution,
    run_funnel,
    run_lifecycle,
    run_retention,
    run_stickiness,
    run_trend,
)
from seglab.core.analyses.breakdown import NONE, OTHER, parse_by, run_broken_down
from seglab.core.analyses.filters import EventSelector, PropertyFilter, format_event, parse_event
from seglab.core.errors import AnalysisError
from seglab.core.progress import NULL_PROGRESS
from seglab.core.segments import member_keys
from seglab.core.segments.model import load_definition

D = dt.date
T0 = ms("2024-03-04T00:00:00")  # a Monday
PLATFORMS = ["web", "ios", "android", "web app", None]
PLANS = ["free", "pro", "team", "enterprise", None]
TIERS = ["gold", "silver", "bronze", None]
AS_OF = T0 + 56 * DAY - 1
RANGE = {"as_of_ms": AS_OF, "date_from": D(2024, 3, 4), "date_to": D(2024, 4, 28)}


def _data(seed: int = 7):
    rnd = random.Random(seed)
    users = [(f"u{i}", f"a{i % 9}" if i % 7 else None) for i in range(60)]
    events = []
    for _ in range(1500):
        uid = f"u{rnd.randrange(60)}"
        name = rnd.choice(["buy", "view", "view", "login"])
        ts = T0 - 14 * DAY + rnd.randrange(70 * DAY)
        props = {}
        if rnd.random() < 0.85:
            props["platform"] = rnd.choice(PLATFORMS)
        if name == "buy" and rnd.random() < 0.9:
            props["amount"] = rnd.choice([5, 20, 99.5, 100, 150, 240.25])
        if rnd.random() < 0.5:
            props["paid_at"] = ms(f"2024-03-0{rnd.randrange(1, 4)}T{rnd.randrange(10, 20)}:00:00")
        events.append((uid, name, ts, props))
    user_props = {f"u{i}": {"plan": PLANS[i % 5]} for i in range(60) if PLANS[i % 5]}
    account_props = {f"a{j}": {"tier": TIERS[j % 4]} for j in range(9) if TIERS[j % 4]}
    return users, events, user_props, account_props


@pytest.fixture(scope="module")
def proj(tmp_path_factory):
    users, events, user_props, account_props = _data()
    p = build(
        tmp_path_factory.mktemp("bd") / "b.seglab",
        events,
        users,
        event_props=(("platform", "text"), ("amount", "real"), ("paid_at", "datetime")),
        user_props=user_props,
        user_prop_types=(("plan", "text"),),
        account_props=account_props,
        account_prop_types=(("tier", "text"),),
    )
    rows = [
        {"user": u, "event": n, "ts": ts, "platform": pr.get("platform"), "amount": pr.get("amount"),
         "paid_at": pr.get("paid_at")}
        for u, n, ts, pr in events
    ]  # fmt: skip
    frame = pd.DataFrame(rows)
    frame["user_key"] = frame["user"].map(p.user_keys)
    account_of = dict(users)
    frame["account"] = frame["user"].map(account_of)
    frame["plan"] = frame["user"].map(lambda u: user_props.get(u, {}).get("plan"))
    frame["tier"] = frame["account"].map(lambda a: account_props.get(a, {}).get("tier") if a else None)
    p.frame = frame
    yield p
    p.close()


def _in_range(df):
    return df[(df.ts >= ms("2024-03-04T00:00:00")) & (df.ts <= AS_OF)]


def _week(ts):
    day = dt.datetime.fromtimestamp(ts / 1000, dt.UTC).date()
    return (day - dt.timedelta(days=day.weekday())).isoformat()


# -- one operator table --------------------------------------------------------------------------

FILTERS = [
    [{"property": "amount", "op": "gte", "value": 100}, {"property": "platform", "op": "eq", "value": "web"}],
    [{"property": "platform", "op": "neq", "value": "web"}],
    [{"property": "platform", "op": "contains", "value": "WEB"}],
    [{"property": "paid_at", "op": "eq", "value": "2024-03-01"}],
    [{"property": "amount", "op": "between", "value": [20, 100]}],
    [{"property": "platform", "op": "not_in", "value": ["ios", "android"]}],
]


@pytest.mark.parametrize("where", FILTERS)
def test_the_same_filter_selects_the_same_people_as_a_segment_and_in_every_analysis(proj, where):
    conn = proj.conn
    definition = load_definition(
        {"level": "user", "conditions": [{
            "type": "behavior", "event": "buy", "where": where,
            "window": {"between": ["2024-03-04", "2024-04-28"]},
        }]}
    )  # fmt: skip
    members = set(member_keys(conn, definition, AS_OF))
    assert members  # the data is rich enough for every filter
    event = EventSelector("buy", tuple(PropertyFilter(w["property"], w["op"], w["value"]) for w in where))
    whole = {**RANGE}
    trend = run_trend(conn, TrendRequest(event=event, measure="users", interval="month", **whole))
    dist = run_distribution(conn, DistributionRequest(event, **whole))
    funnel = run_funnel(conn, FunnelRequest(steps=(event,), **whole))
    retention = run_retention(conn, RetentionRequest(start_event=event, periods=1, interval="month", **whole))
    life = run_lifecycle(conn, LifecycleRequest(event=event, interval="month", **whole))
    stick = run_stickiness(conn, StickinessRequest(event=event, interval="month", **whole))
    assert dist.units.sum() == len(members)
    assert funnel.entered.iloc[0] == len(members)
    assert retention.drop_duplicates("cohort_start").cohort_size.sum() == len(members)
    # Every unit is counted in some month of the trend, stickiness and lifecycle (new + others).
    assert trend.value.max() <= len(members) <= trend.value.sum()
    assert stick.groupby("period_start").units.sum().max() <= len(members)
    assert life[life.status != "dormant"].units.sum() >= len(members)
    # The events themselves: the trend's count equals the filtered events (pandas).
    df = _in_range(proj.frame)
    df = df[df.event == "buy"]
    mask = pd.Series(True, index=df.index)
    for w in where:
        col, op, v = df[w["property"]], w["op"], w["value"]
        if w["property"] == "paid_at":
            lo = ms(v + "T00:00:00")
            mask &= col.notna() & (col >= lo) & (col < lo + DAY)
        elif op == "gte":
            mask &= col.notna() & (col >= v)
        elif op == "eq":
            mask &= col == v
        elif op == "neq":
            mask &= col.isna() | (col != v)
        elif op == "contains":
            mask &= col.fillna("").str.lower().str.contains(v.lower(), regex=False) & col.notna()
        elif op == "between":
            mask &= col.notna() & (col >= v[0]) & (col <= v[1])
        elif op == "not_in":
            mask &= col.isna() | ~col.isin(v)
    assert set(df[mask].user_key) == members
    count = run_trend(conn, TrendRequest(event=event, measure="count", interval="month", **whole))
    assert count.value.sum() == int(mask.sum())


def test_a_datetime_filter_reads_a_date_as_its_day_like_a_segment(proj):
    # The bug of the second operator table: "paid_at = 2024-03-01" raised "is numeric".
    got = run_funnel(proj.conn, FunnelRequest(steps=("buy[paid_at=2024-03-01]",), **RANGE))
    assert got.entered.iloc[0] > 0
    assert got.event.iloc[0] == "buy[paid_at=2024-03-01]"


def test_filter_text_round_trips_and_quotes_what_needs_it():
    sel = parse_event('purchase[ amount >= 100 ;platform="a;b ]" ; page="say \\"hi\\""]')
    assert sel.event == "purchase"
    assert [(f.property, f.op, f.value) for f in sel.where] == [
        ("amount", "gte", "100"), ("platform", "eq", "a;b ]"), ("page", "eq", 'say "hi"'),
    ]  # fmt: skip
    assert format_event(sel) == 'purchase[amount>=100; platform="a;b ]"; page="say \\"hi\\""]'
    assert parse_event(format_event(sel)) == sel
    assert parse_event("*[platform=web]") == EventSelector("*", (PropertyFilter("platform", "eq", "web"),))
    for bad in ("buy[amount>=100", "buy[amount 100]", "[a=1]", "buy[a=1] x"):
        with pytest.raises(AnalysisError):
            parse_event(bad)


def test_any_event_with_a_filter(proj):
    got = run_trend(
        proj.conn, TrendRequest(event="*[platform=ios]", measure="count", interval="month", **RANGE)
    )
    df = _in_range(proj.frame)
    assert got.value.sum() == int((df.platform == "ios").sum())


def test_a_bad_filter_is_one_sentence(proj):
    with pytest.raises(AnalysisError, match="no event property named 'price'"):
        run_trend(proj.conn, TrendRequest(event="buy[price>1]", **RANGE))
    with pytest.raises(AnalysisError, match="expected a number"):
        run_trend(proj.conn, TrendRequest(event="buy[amount>lots]", **RANGE))


# -- breakdowns ----------------------------------------------------------------------------------


def _ref_trend_by(df, prop, measure, limit=10, unit="user_key"):
    df = _in_range(df).copy()
    df["week"] = df.ts.map(_week)
    units = df[df[prop].notna()].groupby(prop)[unit].nunique()
    ranked = sorted(units.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    kept = [k for k, _ in ranked]
    df["group"] = df[prop].map(lambda v: NONE if v is None or pd.isna(v) else (v if v in kept else OTHER))
    agg = {"count": "size", "users": lambda x: x.nunique()}[measure]
    grouped = df.groupby(["group", "week"])["user_key"].agg(agg)
    return kept, {k: int(v) for k, v in grouped.items()}


@pytest.mark.parametrize("prop", ["plan", "tier", "platform"])
@pytest.mark.parametrize("measure", ["count", "users"])
def test_trend_by_a_property_matches_pandas_on_sqlite_and_duckdb(proj, prop, measure):
    entity = {"plan": "user", "tier": "account", "platform": "event"}[prop]
    by = parse_by(f"{entity}.{prop}", limit=2)
    request = TrendRequest(measure=measure, interval="week", by=by, **RANGE)
    got = run_trend(proj.conn, request)
    assert list(got.columns) == ["segment", "group", "period_start", "value"]
    kept, ref = _ref_trend_by(proj.frame, prop, measure, limit=2)
    groups = list(dict.fromkeys(got.group))
    assert groups[:2] == kept
    assert set(groups[2:]) <= {OTHER, NONE}
    for row in got.itertuples():
        assert row.value == ref.get((row.group, row.period_start), 0), (row.group, row.period_start)
    duck = to_duckdb(proj.conn)
    try:
        assert run_trend(duck, request).equals(got)
    finally:
        duck.close()


def test_breakdown_ties_take_the_smaller_value_and_none_is_never_ranked(tmp_path):
    events = [(u, "go", T0 + i) for i, u in enumerate(["a", "b", "c", "d", "e", "f"])]
    props = {"a": {"n": 10}, "b": {"n": 9}, "c": {"n": 10}, "d": {"n": 9}, "e": {"n": 2.0}}
    with build(tmp_path / "t.seglab", events, user_props=props, user_prop_types=(("n", "real"),)) as p:
        by = parse_by("user.n", limit=2)
        got = run_trend(
            p.conn,
            TrendRequest(event="go", interval="week", by=by, as_of_ms=T0 + DAY, date_from=D(2024, 3, 4)),
        )
        assert list(got.group) == ["9", "10", OTHER, NONE]
        assert list(got.value) == [2, 2, 1, 1]


def test_funnel_and_retention_by_a_property_split_the_units(proj):
    by = parse_by("user.plan")
    request = FunnelRequest(steps=("view", "buy[amount>=100]"), **RANGE)
    whole = run_funnel(proj.conn, request)
    split = run_broken_down(proj.conn, request, run_funnel, by, "view", NULL_PROGRESS)
    assert list(split.columns[:2]) == ["segment", "group"]
    # Every user has exactly one plan group, so the groups add up to the whole.
    assert list(split.groupby("step").entered.sum()) == list(whole.entered)
    ret = RetentionRequest(start_event="view", return_event="buy", periods=3, **RANGE)
    whole = run_retention(proj.conn, ret)
    split = run_broken_down(proj.conn, ret, run_retention, by, "view", NULL_PROGRESS)
    assert split.groupby(["cohort_start", "period"]).retained.sum().tolist() == whole.retained.tolist()


def test_accounts_cannot_be_split_by_a_user_property(proj):
    accounts = (SeriesSpec("everyone", "account", None),)
    request = LifecycleRequest(event="view", series=accounts, **RANGE)
    with pytest.raises(AnalysisError, match="cannot split accounts"):
        run_broken_down(proj.conn, request, run_lifecycle, parse_by("user.plan"), "view", NULL_PROGRESS)
    got = run_broken_down(proj.conn, request, run_lifecycle, parse_by("account.tier"), "view", NULL_PROGRESS)
    assert set(got.group) <= {"gold", "silver", "bronze", NONE}


# -- value measures, previous period -------------------------------------------------------------


@pytest.mark.parametrize("measure", ["sum", "avg", "min", "max", "median"])
def test_value_measures_match_pandas(proj, measure):
    request = TrendRequest(event="buy", measure=measure, of="amount", interval="week", **RANGE)
    got = run_trend(proj.conn, request)
    df = _in_range(proj.frame)
    df = df[(df.event == "buy") & df.amount.notna()].copy()
    df["week"] = df.ts.map(_week)
    ref = df.groupby("week").amount.agg(measure if measure != "avg" else "mean")
    for row in got.itertuples():
        if row.period_start in ref.index:
            assert row.value == pytest.approx(ref[row.period_start])
        elif measure == "sum":
            assert row.value == 0
        else:
            assert pd.isna(row.value)
    duck = to_duckdb(proj.conn)
    try:
        pd.testing.assert_frame_equal(run_trend(duck, request), got)
    finally:
        duck.close()


def test_median_of_an_even_count_is_the_mean_of_the_middle_two(tmp_path):
    events = [("a", "buy", T0 + i, {"amount": v}) for i, v in enumerate([1, 2, 10, 40])]
    with build(tmp_path / "m.seglab", events, event_props=(("amount", "integer"),)) as p:
        got = run_trend(
            p.conn,
            TrendRequest(event="buy", measure="median", of="amount", interval="week", as_of_ms=T0 + DAY),
        )
        assert got.value.iloc[-1] == 6.0
        with pytest.raises(AnalysisError, match="needs --of"):
            run_trend(p.conn, TrendRequest(event="buy", measure="sum", as_of_ms=T0 + DAY))


def test_previous_period_is_the_same_length_just_before(proj):
    rng = {"as_of_ms": AS_OF, "date_from": D(2024, 4, 1), "date_to": D(2024, 4, 28)}
    got = run_trend(proj.conn, TrendRequest(event="view", interval="week", compare="previous", **rng))
    assert list(dict.fromkeys(got.segment)) == ["everyone", "everyone (previous period)"]
    prev = got[got.segment == "everyone (previous period)"]
    assert list(prev.period_start) == list(got[got.segment == "everyone"].period_start)
    earlier = run_trend(
        proj.conn, TrendRequest(event="view", interval="week", as_of_ms=AS_OF,
                                date_from=D(2024, 3, 4), date_to=D(2024, 3, 31)),
    )  # fmt: skip
    assert list(prev.value) == list(earlier.value)
    by = parse_by("user.plan", limit=2)
    split = run_trend(
        proj.conn, TrendRequest(event="view", interval="week", compare="previous", by=by, **rng)
    )
    cur = split[~split.segment.str.endswith("(previous period)")]
    old = split[split.segment.str.endswith("(previous period)")]
    assert list(dict.fromkeys(cur.group)) == list(dict.fromkeys(old.group))


# -- charts: breakdowns drawn and drilled into ----------------------------------------------------


def _chart(**kw):
    from seglab.core.charts import ChartSpec

    options = kw.pop("options", {})
    spec = ChartSpec(
        last_days=None, date_from="2024-03-04", date_to="2024-04-28", as_of="2024-04-28T23:59:59.999Z", **kw
    )
    return spec.with_options(**options)


@pytest.mark.parametrize(
    "options",
    [
        {"event": "view", "measure": "users", "by": "user.plan"},
        {"event": "buy[amount>=100]", "measure": "users", "by": "event.platform", "by_limit": 2},
        {"event": "*[platform=web]", "measure": "accounts", "by": "account.tier"},
    ],
)
def test_a_breakdown_point_drills_down_to_exactly_the_people_behind_it(proj, options):
    from seglab.core.charts import make_slice, run_chart, slice_members

    spec = _chart(kind="trend", interval="week", options=options)
    frame = run_chart(proj.conn, spec)
    assert "group" in frame.columns and frame.value.sum() > 0
    for row in frame.itertuples():
        got = slice_members(
            proj.conn, make_slice(spec, segment=row.segment, group=row.group, period_start=row.period_start)
        )
        assert len(got.keys) == row.value, (row.group, row.period_start)


def test_stickiness_bars_drill_down(proj):
    from seglab.core.charts import make_slice, run_chart, slice_members

    spec = _chart(
        kind="stickiness", interval="week", options={"event": "view[platform!=ios]", "by": "user.plan"}
    )
    frame = run_chart(proj.conn, spec)
    for row in frame[frame.units > 0].itertuples():
        got = slice_members(
            proj.conn,
            make_slice(
                spec, segment=row.segment, group=row.group, period_start=row.period_start, days=row.days
            ),
        )
        assert len(got.keys) == row.units


def test_funnel_and_lifecycle_groups_drill_down(proj):
    from seglab.core.charts import make_slice, run_chart, slice_members

    spec = _chart(kind="funnel", options={"steps": ["view", {"event": "buy", "where": [
        {"property": "paid_at", "op": "eq", "value": "2024-03-02"}]}], "by": "user.plan"})  # fmt: skip
    frame = run_chart(proj.conn, spec)
    for row in frame.itertuples():
        got = slice_members(proj.conn, make_slice(spec, segment=row.segment, group=row.group, step=row.step))
        assert len(got.keys) == row.entered
    spec = _chart(
        kind="lifecycle", interval="week", unit="account", options={"event": "login", "by": "account.tier"}
    )
    frame = run_chart(proj.conn, spec)
    for row in frame.itertuples():
        got = slice_members(
            proj.conn,
            make_slice(
                spec, segment=row.segment, group=row.group, period_start=row.period_start, status=row.status
            ),
        )
        assert len(got.keys) == row.units


def test_a_stickiness_bar_drills_down_to_who_had_that_many_days_in_some_period(proj):
    from seglab.core.charts import make_slice, run_chart, slice_members

    spec = _chart(kind="stickiness", interval="week", options={"event": "view"})
    frame = run_chart(proj.conn, spec)
    for days in (1, 2):
        got = slice_members(proj.conn, make_slice(spec, segment="everyone", days=days))
        per_period = set()
        for row in frame[(frame.days == days) & (frame.units > 0)].itertuples():
            one = slice_members(
                proj.conn, make_slice(spec, segment="everyone", period_start=row.period_start, days=days)
            )
            per_period |= set(one.keys)
        assert set(got.keys) == per_period and per_period


def test_a_revenue_point_drills_down_to_the_buyers_with_an_amount(proj):
    from seglab.core.charts import make_slice, run_chart, slice_members

    spec = _chart(kind="trend", interval="week", options={"event": "buy", "measure": "sum", "of": "amount"})
    frame = run_chart(proj.conn, spec)
    df = _in_range(proj.frame)
    df = df[(df.event == "buy") & df.amount.notna()]
    for row in frame.itertuples():
        got = slice_members(proj.conn, make_slice(spec, segment="everyone", period_start=row.period_start))
        assert set(got.keys) == set(df[df.ts.map(_week) == row.period_start].user_key)
