"""Saved charts, ChartSpec JSON, run_chart dispatch and drill-down slices (Qt-free)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from builders import build_project
from seglab.core import charts
from seglab.core.analyses.common import SeriesSpec
from seglab.core.analyses.funnel import FunnelRequest, run_funnel
from seglab.core.analyses.retention import RetentionRequest, run_retention
from seglab.core.analyses.trend import TrendRequest, run_trend
from seglab.core.charts import (
    ChartError,
    ChartSpec,
    MissingSegmentError,
    delete_chart,
    list_charts,
    load_chart,
    make_slice,
    run_chart,
    save_chart,
    slice_members,
    spec_from_json,
)
from seglab.core.project import Project

PRO = ("u1", "u2", "u3")


def shop_events():
    """Six users over four March 2024 weeks: signups, views, purchases; u1..u3 are 'pro'."""
    ev = []

    def add(user, event, when):
        ev.append({"user_id": user, "event": event, "timestamp": when})

    # week of 2024-03-04 (W10)
    add("u1", "signup", "2024-03-04T09:00:00Z")
    add("u1", "view", "2024-03-04T09:05:00Z")
    add("u1", "purchase", "2024-03-05T10:00:00Z")
    add("u2", "signup", "2024-03-05T09:00:00Z")
    add("u2", "view", "2024-03-06T09:00:00Z")
    add("u4", "signup", "2024-03-06T12:00:00Z")
    add("u4", "purchase", "2024-03-06T12:30:00Z")  # purchase without view: step 1 only
    # week of 2024-03-11 (W11)
    add("u3", "signup", "2024-03-11T08:00:00Z")
    add("u3", "view", "2024-03-11T08:00:00.500Z")
    add("u3", "purchase", "2024-03-11T08:00:01Z")
    add("u1", "view", "2024-03-12T10:00:00Z")
    add("u5", "signup", "2024-03-13T10:00:00Z")
    add("u5", "view", "2024-03-30T10:00:00Z")  # outside the 14-day window
    # week of 2024-03-18 (W12)
    add("u1", "view", "2024-03-19T10:00:00Z")
    add("u2", "purchase", "2024-03-19T11:00:00Z")
    add("u6", "signup", "2024-03-20T10:00:00Z")
    add("u3", "view", "2024-03-21T10:00:00Z")
    # week of 2024-03-25 (W13), partial: as-of is the last event
    add("u4", "view", "2024-03-26T10:00:00Z")
    add("u6", "view", "2024-03-27T10:00:00Z")
    add("u5", "view", "2024-03-30T10:00:00Z")
    return ev


def shop_users():
    return [
        {"user_id": u, "account_id": f"a{(i // 2) + 1}", "plan": "pro" if u in PRO else "free"}
        for i, u in enumerate(["u1", "u2", "u3", "u4", "u5", "u6"])
    ]


def user_keys(conn, ids) -> tuple[int, ...]:
    return tuple(
        sorted(conn.execute("SELECT user_key FROM users WHERE user_id = ?", (u,)).fetchone()[0] for u in ids)
    )


def add_segment(conn, name: str, level: str, definition: dict) -> None:
    from seglab.core.segments import save_segment

    assert level == definition["level"]
    save_segment(conn, name, definition)


PRO_DEF = {
    "version": 1,
    "level": "user",
    "match": "all",
    "conditions": [{"type": "property", "entity": "user", "property": "plan", "op": "eq", "value": "pro"}],
}


@pytest.fixture
def shop(tmp_path):
    path = build_project(tmp_path / "shop.seglab", events=shop_events(), users=shop_users())
    proj = Project.open(path)
    add_segment(proj.conn, "Pro", "user", PRO_DEF)
    yield proj
    proj.close()


def series_of(conn, spec):
    as_of = charts.resolve_chart_as_of(conn, spec)
    return as_of, tuple(s.to_series_spec() for s in charts.resolve_series(conn, spec, as_of))


# -- spec and JSON --------------------------------------------------------------------------


def test_spec_json_round_trip_keeps_every_field():
    spec = ChartSpec(
        kind="funnel",
        segments=("Pro", "Free"),
        unit="user",
        interval="day",
        last_days=None,
        date_from="2024-03-01",
        date_to="2024-03-31",
        as_of="2024-03-31T23:59:59Z",
        options=(
            ("steps", ["signup", {"event": "view", "where": [{"property": "p", "op": "eq", "value": 1}]}]),
        ),
    )
    again = spec_from_json(spec.to_json())
    assert again == spec
    assert again.option("steps")[1]["where"][0]["value"] == 1
    assert again.option("within_days") == 14  # the kind's default filled in


def test_spec_defaults_and_with_options():
    spec = ChartSpec()
    assert spec.kind == "trend" and spec.option("measure") == "users"
    changed = spec.with_options(moving_average=7)
    assert changed.option("moving_average") == 7 and spec.option("moving_average") == 0
    assert changed.with_kind("retention").option("periods") == 8


def test_newer_spec_version_is_refused_with_a_sentence():
    with pytest.raises(ChartError, match="newer SegLab"):
        spec_from_json({"version": 99, "kind": "trend"})


@pytest.mark.parametrize("bad", ['{"kind": "nope"}', "[1]", "{not json", '{"segments": "Pro"}'])
def test_bad_saved_json_is_a_chart_error(bad):
    with pytest.raises(ChartError):
        spec_from_json(bad)


def test_version_1_file_fixture_still_loads():
    # The format as first shipped; kept forever so old projects keep opening.
    v1 = (
        '{"as_of": null, "interval": "week", "kind": "retention", "options": {"periods": 6, '
        '"return_event": "purchase", "start_event": "signup"}, "range": {"last_days": 90}, '
        '"segments": ["Pro"], "unit": "user", "version": 1, "vs_rest": true}'
    )
    spec = spec_from_json(v1)
    assert spec.kind == "retention" and spec.vs_rest and spec.option("periods") == 6
    assert spec.to_json() == json.dumps(json.loads(v1), sort_keys=True)


# -- saved charts -------------------------------------------------------------------------------


def test_saved_charts_round_trip(project):
    spec = ChartSpec(kind="retention", segments=("Pro",), vs_rest=True, interval="month").with_options(
        periods=6, return_event="purchase"
    )
    save_chart(project.conn, "Pro retention", spec)
    assert [c.name for c in list_charts(project.conn)] == ["Pro retention"]
    assert list_charts(project.conn)[0].kind == "retention"
    assert load_chart(project.conn, "Pro retention") == spec
    with pytest.raises(ChartError, match="already a chart"):
        save_chart(project.conn, "Pro retention", spec)
    other = spec.with_options(periods=4)
    save_chart(project.conn, "Pro retention", other, overwrite=True)
    assert load_chart(project.conn, "Pro retention") == other
    charts.rename_chart(project.conn, "Pro retention", "Retention")
    assert load_chart(project.conn, "Retention") == other
    delete_chart(project.conn, "Retention")
    assert list_charts(project.conn) == []
    with pytest.raises(ChartError, match="no saved chart"):
        load_chart(project.conn, "Retention")


def test_saved_chart_survives_reopening(tmp_path):
    spec = ChartSpec(kind="trend", segments=("Pro",)).with_options(event="view", moving_average=3)
    with Project.create(tmp_path / "p.seglab") as proj:
        save_chart(proj.conn, "Views", spec)
    with Project.open(tmp_path / "p.seglab") as proj:
        assert load_chart(proj.conn, "Views") == spec


def test_blank_name_is_refused(project):
    with pytest.raises(ChartError, match="needs a name"):
        save_chart(project.conn, "  ", ChartSpec())


# -- running and missing segments -----------------------------------------------------------------


def test_deleted_segment_is_reported_not_a_crash(shop):
    spec = ChartSpec(segments=("Pro", "Gone"))
    assert charts.missing_segments(shop.conn, spec) == ["Gone"]
    with pytest.raises(MissingSegmentError, match="“Gone”") as info:
        run_chart(shop.conn, spec)
    assert info.value.names == ["Gone"]


def test_trend_chart_is_exactly_the_trend_analysis(shop):
    spec = ChartSpec(segments=("Pro",), vs_rest=True, interval="week").with_options(
        event="view", measure="count"
    )
    frame = run_chart(shop.conn, spec)
    as_of, series = series_of(shop.conn, spec)
    assert [s.label for s in series] == ["Pro", "not Pro"]
    assert set(series[0].keys) == set(user_keys(shop.conn, PRO))
    assert set(series[1].keys) == set(user_keys(shop.conn, ["u4", "u5", "u6"]))
    d_from, d_to = charts.chart_dates(spec, as_of)
    expected = run_trend(
        shop.conn,
        TrendRequest(
            event="view",
            measure="count",
            interval="week",
            series=series,
            as_of_ms=as_of,
            date_from=d_from,
            date_to=d_to,
        ),
    )
    assert frame.equals(expected)
    assert frame.attrs["series"][1][2] == "rest"


def test_funnel_drill_down_matches_entered(shop):
    spec = ChartSpec(
        kind="funnel", last_days=None, date_from="2024-03-01", date_to="2024-03-31"
    ).with_options(steps=["signup", "view", "purchase"])
    frame = run_chart(shop.conn, spec)
    as_of, series = series_of(shop.conn, spec)
    expected = run_funnel(
        shop.conn,
        FunnelRequest(
            steps=("signup", "view", "purchase"),
            series=series,
            as_of_ms=as_of,
            date_from=dt.date(2024, 3, 1),
            date_to=dt.date(2024, 3, 31),
        ),
    )
    assert frame.equals(expected)
    for row in frame.itertuples():
        got = slice_members(shop.conn, make_slice(spec, segment=row.segment, step=row.step))
        assert len(got.keys) == row.entered
    assert frame["entered"].tolist() == [6, 4, 2]
    dropped = slice_members(shop.conn, make_slice(spec, segment="everyone", step=2, mode="dropped"))
    # u2 bought after the 14-day window; u6 viewed but never bought (u5's view came too late)
    assert dropped.keys == user_keys(shop.conn, ["u2", "u6"])
    assert "reached step 2 (view) but not step 3 (purchase)" in dropped.title


def test_retention_cells_drill_down_to_exactly_the_retained(shop):
    spec = ChartSpec(kind="retention", segments=("Pro",), vs_rest=True, interval="week").with_options(
        periods=4
    )
    frame = run_chart(shop.conn, spec)
    as_of, series = series_of(shop.conn, spec)
    d_from, d_to = charts.chart_dates(spec, as_of)
    expected = run_retention(
        shop.conn,
        RetentionRequest(
            interval="week", periods=4, series=series, as_of_ms=as_of, date_from=d_from, date_to=d_to
        ),
    )
    assert frame.equals(expected)
    assert len(frame) > 0
    for row in frame.itertuples():
        got = slice_members(
            shop.conn, make_slice(spec, segment=row.segment, cohort_start=row.cohort_start, period=row.period)
        )
        assert len(got.keys) == row.retained, row
        whole = slice_members(shop.conn, make_slice(spec, segment=row.segment, cohort_start=row.cohort_start))
        assert len(whole.keys) == row.cohort_size
    cell = slice_members(shop.conn, make_slice(spec, segment="Pro", cohort_start="2024-03-04", period=2))
    assert cell.title == "Pro: users of cohort 2024-W10 retained in week 2"
    assert cell.keys == user_keys(shop.conn, ["u1", "u2"])


def test_trend_point_drill_down_matches_unique_users(shop):
    spec = ChartSpec(segments=("Pro",), interval="week").with_options(event="view", measure="users")
    frame = run_chart(shop.conn, spec)
    assert frame["value"].sum() > 0
    for row in frame.itertuples():
        got = slice_members(shop.conn, make_slice(spec, segment=row.segment, period_start=row.period_start))
        assert len(got.keys) == row.value


def test_account_unit_everyone(shop):
    spec = ChartSpec(
        kind="funnel", unit="account", last_days=None, date_from="2024-03-01", date_to="2024-03-31"
    ).with_options(steps=["signup", "purchase"])
    frame = run_chart(shop.conn, spec)
    assert frame["entered"].tolist()[0] == 3
    got = slice_members(shop.conn, make_slice(spec, segment="everyone", step=2))
    assert got.level == "account" and len(got.keys) == frame["entered"].tolist()[1]


def test_run_chart_file_uses_its_own_connection(shop):
    spec = ChartSpec().with_options(event="view")
    frame = charts.run_chart_file(shop.path, spec)
    assert frame.equals(run_chart(shop.conn, spec))


def test_funnel_without_steps_says_so(shop):
    with pytest.raises(ChartError, match="at least one step"):
        run_chart(shop.conn, ChartSpec(kind="funnel"))


def test_series_spec_type():
    s = charts.ResolvedSeries("x", "user", (1, 2), "segment", 3)
    assert s.to_series_spec() == SeriesSpec("x", "user", (1, 2))


def test_period_labels():
    assert charts.period_label("2024-03-04", "week") == "2024-W10"
    assert charts.period_label("2024-03-01", "month") == "2024-03"
    assert charts.period_label("2024-03-01", "day") == "2024-03-01"


def test_chart_of_a_deleted_segment_says_so(shop):
    from seglab.core.segments import delete_segment

    spec = ChartSpec(kind="trend", segments=("Pro",))
    save_chart(shop.conn, "Pro trend", spec)
    delete_segment(shop.conn, "Pro")
    reopened = load_chart(shop.conn, "Pro trend")
    assert reopened == spec
    with pytest.raises(MissingSegmentError, match="“Pro”, which no longer exists"):
        run_chart(shop.conn, reopened)


def test_csv_export_is_formula_safe(tmp_path):
    import pandas as pd

    frame = pd.DataFrame(
        {
            "segment": ["=cmd|' /C calc'!A0", "+1 (555)", "ok", "@x", "-2", "-A1+A2"],
            "value": [-1, 2, 3, 4, 5, 6],
        }
    )
    path = tmp_path / "out.csv"
    assert charts.write_chart_csv(frame, path) == 6
    text = path.read_text(encoding="utf-8").splitlines()
    assert text[1] == "'=cmd|' /C calc'!A0,-1"
    assert text[2] == "'+1 (555),2" and text[3] == "ok,3" and text[4] == "'@x,4"
    assert text[5] == "-2,5"  # a plain number stays a number (docs/cli.md, "Safe output")
    assert text[6] == "'-A1+A2,6"
    charts.write_chart_csv(frame, path, raw=True)
    assert path.read_text(encoding="utf-8").splitlines()[1] == "=cmd|' /C calc'!A0,-1"


def test_catalog_lists_events_segments_and_charts(shop):
    save_chart(shop.conn, "A", ChartSpec())
    cat = charts.chart_catalog(shop.conn)
    assert cat.events[0] == "view"
    assert set(cat.events) == {"signup", "view", "purchase"}
    assert [s[:2] for s in cat.segments] == [("Pro", "user")]
    assert [c.name for c in cat.charts] == ["A"]
    assert cat.as_of_ms is not None


BUYERS_DEF = {
    "version": 1,
    "level": "user",
    "match": "all",
    "conditions": [{"type": "behavior", "event": "purchase"}],
}
VIEWERS_DEF = {
    "version": 1,
    "level": "user",
    "match": "all",
    "conditions": [{"type": "behavior", "event": "view"}],
}


@pytest.fixture
def shop3(shop):
    add_segment(shop.conn, "Buyers", "user", BUYERS_DEF)
    add_segment(shop.conn, "Viewers", "user", VIEWERS_DEF)
    return shop


MARCH = {"last_days": None, "date_from": "2024-03-01", "date_to": "2024-03-31"}


def test_overlap_regions_and_their_members(shop3):
    spec = ChartSpec(kind="overlap", segments=("Pro", "Buyers", "Viewers"), **MARCH)
    frame = run_chart(shop3.conn, spec)
    assert len(frame) == 7 and frame["units"].sum() == len(
        set(user_keys(shop3.conn, PRO))
        | set(user_keys(shop3.conn, ["u1", "u2", "u3", "u4"]))
        | set(user_keys(shop3.conn, ["u1", "u2", "u3", "u4", "u5", "u6"]))
    )
    assert len(frame.attrs["jaccard"]) == 3
    for row in frame.itertuples():
        got = slice_members(shop3.conn, make_slice(spec, region=row.region))
        assert len(got.keys) == row.units, row.region
    everyone = slice_members(shop3.conn, make_slice(spec, region="Pro & Buyers & Viewers"))
    assert everyone.keys == user_keys(shop3.conn, ["u1", "u2", "u3"])
    only = slice_members(shop3.conn, make_slice(spec, region="Buyers & Viewers"))
    assert only.keys == user_keys(shop3.conn, ["u4"]) and only.title == "Users in only Buyers and Viewers"


def test_top_events_bars_drill_to_doers(shop3):
    spec = ChartSpec(kind="top_events", segments=("Pro",), **MARCH)
    frame = run_chart(shop3.conn, spec)
    assert set(frame["event"]) == {"signup", "view", "purchase"}
    for row in frame.itertuples():
        got = slice_members(shop3.conn, make_slice(spec, segment=row.segment, event=row.event))
        assert len(got.keys) == row.units


def test_distribution_bins_drill_to_their_units(shop3):
    spec = ChartSpec(kind="distribution", segments=("Pro",), vs_rest=True, **MARCH)
    frame = run_chart(shop3.conn, spec)
    assert {r["segment"] for r in frame.attrs["stats"]} == {"Pro", "not Pro"}
    for row in frame.itertuples():
        got = slice_members(
            shop3.conn, make_slice(spec, segment=row.segment, bin_low=row.bin_low, bin_high=row.bin_high)
        )
        assert len(got.keys) == row.units, row


@pytest.mark.parametrize(
    ("kind", "segments", "columns"),
    [
        ("stickiness", ("Pro",), ["segment", "period_start", "days", "units", "share"]),
        ("lifecycle", (), ["segment", "period_start", "status", "units"]),
        ("distinguishes", ("Pro",), ["segment", "kind", "name", "value", "segment_value", "rest_value",
                                     "difference", "effect_size", "p_value"]),
        ("segment_size", ("Pro", "Buyers"), ["segment", "period_start", "evaluated_at", "size"]),
    ],
)  # fmt: skip
def test_other_kinds_run_their_analysis(shop3, kind, segments, columns):
    frame = run_chart(shop3.conn, ChartSpec(kind=kind, segments=segments, **MARCH))
    assert list(frame.columns) == columns and len(frame) > 0


def test_kind_specific_refusals_are_sentences(shop3):
    with pytest.raises(ChartError, match="2 to 6 segments"):
        run_chart(shop3.conn, ChartSpec(kind="overlap", segments=("Pro",)))
    with pytest.raises(ChartError, match="Tick one segment"):
        run_chart(shop3.conn, ChartSpec(kind="distinguishes"))
    with pytest.raises(ChartError, match="at least one saved segment"):
        run_chart(shop3.conn, ChartSpec(kind="segment_size"))


def test_segment_size_points_drill_to_the_members_at_that_time(shop3):
    spec = ChartSpec(kind="segment_size", segments=("Buyers",), interval="week", **MARCH)
    frame = run_chart(shop3.conn, spec)
    assert frame["size"].tolist() == [0, 2, 3, 4, 4]  # W09 (from Mar 1): none; u1, u4 in W10; u3; u2
    for row in frame.itertuples():
        got = slice_members(shop3.conn, make_slice(spec, segment=row.segment, period_start=row.period_start))
        assert len(got.keys) == row.size


@pytest.mark.parametrize("interval", ["day", "week"])
def test_lifecycle_bars_drill_to_exactly_their_units(shop3, interval):
    spec = ChartSpec(kind="lifecycle", segments=("Pro",), vs_rest=True, interval=interval, **MARCH)
    frame = run_chart(shop3.conn, spec)
    assert frame["units"].sum() > 0
    for row in frame.itertuples():
        got = slice_members(
            shop3.conn,
            make_slice(spec, segment=row.segment, period_start=row.period_start, status=row.status),
        )
        assert len(got.keys) == row.units, row


@pytest.mark.parametrize(
    ("spec", "text"),
    [
        (ChartSpec(segments=("Pro",), vs_rest=True).with_options(event="purchase"),
         "Unique users doing purchase per week · Pro vs the rest · last 90 days"),
        (ChartSpec(kind="funnel", segments=("A", "B"), **MARCH).with_options(steps=["signup", "buy"]),
         "signup → buy within 14 days · A, B · 2024-03-01 to 2024-03-31"),
        (ChartSpec(kind="retention", unit="account", interval="month").with_options(periods=6),
         "Cohorts by first any event, back doing any event, 6 months · everyone (accounts) · last 90 days"),
    ],
)  # fmt: skip
def test_describe_spec(spec, text):
    assert charts.describe_spec(spec) == text


def test_funnel_steps_text_round_trips_with_filters():
    text = "signup, purchase[amount>=100; platform=web], view[page~pricing], x[a!=1]"
    steps = charts.parse_steps(text)
    assert steps[0] == "signup"
    assert steps[1] == {
        "event": "purchase",
        "where": [
            {"property": "amount", "op": "gte", "value": "100"},
            {"property": "platform", "op": "eq", "value": "web"},
        ],
    }
    assert steps[2]["where"][0]["op"] == "contains" and steps[3]["where"][0]["op"] == "neq"
    assert charts.parse_steps(charts.format_steps(steps)) == steps
    with pytest.raises(ChartError, match="cannot read the filter"):
        charts.parse_steps("a[b]")


def test_funnel_step_filters_reach_the_analysis(tmp_path):
    events = [
        {"user_id": "u1", "event": "signup", "timestamp": "2024-03-04T09:00:00Z"},
        {"user_id": "u1", "event": "purchase", "timestamp": "2024-03-04T10:00:00Z", "amount": 150},
        {"user_id": "u2", "event": "signup", "timestamp": "2024-03-04T09:00:00Z"},
        {"user_id": "u2", "event": "purchase", "timestamp": "2024-03-04T10:00:00Z", "amount": 20},
    ]
    path = build_project(tmp_path / "f.seglab", events=events)
    with Project.open(path) as proj:
        spec = ChartSpec(kind="funnel", **MARCH).with_options(
            steps=charts.parse_steps("signup, purchase[amount>=100]")
        )
        frame = run_chart(proj.conn, spec)
        assert frame["entered"].tolist() == [2, 1]
        got = slice_members(proj.conn, make_slice(spec, segment="everyone", step=2))
        assert got.keys == user_keys(proj.conn, ["u1"])
        assert charts.describe_spec(spec).startswith("signup → purchase[amount>=100] within 14 days")


def reference_furthest_steps(rows, n_steps, last_start_ms, window_ms):
    """The funnel's per-unit furthest step, the slow obvious way (each occurrence, each step)."""
    by_unit: dict[int, list] = {}
    for unit, ts, mask in rows:
        if mask:
            by_unit.setdefault(unit, []).append((ts, mask))
    best = {}
    for unit, events in by_unit.items():
        events.sort()
        top = 0
        for t0, m0 in events:
            if not m0 & 1 or t0 > last_start_ms:
                continue
            reached, t_prev = 1, t0
            for j in range(1, n_steps):
                nxt = [t for t, m in events if (m >> j) & 1 and t_prev < t <= t0 + window_ms]
                if not nxt:
                    break
                t_prev = min(nxt)
                reached += 1
            top = max(top, reached)
        if top:
            best[unit] = top
    return best


@pytest.mark.parametrize("seed", range(12))
def test_furthest_steps_matches_the_obvious_reference(seed):
    import random

    rng = random.Random(seed)
    n_steps = rng.randint(1, 5)
    rows = [
        (rng.randint(1, 15), rng.randint(0, 60), rng.randint(0, 2**n_steps - 1))
        for _ in range(rng.randint(0, 150))
    ]  # ties in time, rows that are several steps at once, steps repeated, users entering twice
    last_start, window = rng.randint(20, 60), rng.randint(1, 30)
    got = charts.furthest_steps(rows, n_steps, last_start, window)
    assert got == reference_furthest_steps(rows, n_steps, last_start, window)


def test_distinguish_rows_drill_to_the_segments_units(shop3):
    spec = ChartSpec(kind="distinguishes", segments=("Buyers",), **MARCH)
    frame = run_chart(shop3.conn, spec)
    n_in = len(user_keys(shop3.conn, ["u1", "u2", "u3", "u4"]))
    checked = 0
    for row in frame.itertuples():
        if row.kind == "numeric":
            continue
        got = slice_members(
            shop3.conn, make_slice(spec, segment="Buyers", kind=row.kind, name=row.name, value=row.value)
        )
        assert len(got.keys) == round(row.segment_value * n_in), row
        checked += 1
    assert checked >= 3
    pro = slice_members(
        shop3.conn, make_slice(spec, segment="Buyers", kind="property", name="plan", value="pro")
    )
    assert (
        pro.keys == user_keys(shop3.conn, ["u1", "u2", "u3"])
        and pro.title == "Buyers: users whose plan is pro"
    )
