"""Drill-down on a connected project (issue #18): ``slice_members`` on a chdb source lists the
same people as on the local project of the same rows, for every slice of each supported kind
(its breakdown groups too), reading no local tables; the other kinds say so."""

from __future__ import annotations

import pytest

pytest.importorskip("chdb")

from test_engine_clickhouse_trend import rich  # noqa: F401  (the fixture: local and connected)

from seglab.core.charts import ChartError, make_slice, run_chart, slice_members, slice_members_file
from seglab.core.charts.spec import ChartSpec
from seglab.core.project import Project


def spec(kind: str, **kw) -> ChartSpec:
    base = {"last_days": None, "date_from": "2024-01-01"}
    base.update(kw)
    return ChartSpec(kind=kind, **base)


CHARTS = {
    "trend users week": spec("trend", interval="week"),
    "trend accounts month of segments": spec(
        "trend",
        segments=("Buyers", "Logged in lately"),
        interval="month",
        options=(("event", "*"), ("measure", "accounts")),
    ),
    "trend purchases by plan": spec(
        "trend", interval="month", options=(("event", "purchase"), ("measure", "count"), ("by", "user.plan"))
    ),
    "trend by amount": spec(
        "trend", interval="month", options=(("event", "purchase"), ("by", "event.amount"), ("by_limit", 2))
    ),
    "trend max amount": spec(
        "trend", interval="week", options=(("event", "*"), ("measure", "max"), ("of", "amount"))
    ),
    "trend of an account segment": spec("trend", segments=("Big accounts",), interval="week"),
    "funnel": spec("funnel", options=(("steps", ["signup", "create_report", "purchase[amount>=50]"]),)),
    "funnel by tier": spec(
        "funnel", options=(("steps", ["signup", "create_report"]), ("by", "account.tier")), unit="account"
    ),
    "retention vs rest": spec(
        "retention", segments=("Buyers",), vs_rest=True, interval="week", options=(("periods", 4),)
    ),
    "retention by plan": spec(
        "retention", interval="month", options=(("periods", 3), ("by", "user.plan"), ("by_limit", 1))
    ),
    "size vs rest": spec("segment_size", segments=("Buyers",), vs_rest=True, interval="month"),
    "size of accounts": spec("segment_size", segments=("Big accounts",), interval="week"),
    "distribution of accounts": spec("distribution", unit="account"),
    "distribution of logins": spec("distribution", segments=("Pro or free",), options=(("event", "login"),)),
    "overlap": ChartSpec(kind="overlap", segments=("Buyers", "Logged in lately", "Pro or free")),
    "top events": spec("top_events", segments=("Pro or free",)),
    "top events of accounts": spec("top_events", segments=("Big accounts",)),
    "stickiness": spec("stickiness", interval="week", date_from="2024-02-01"),
    "stickiness by plan of logins": spec(
        "stickiness", interval="month", options=(("event", "login"), ("by", "user.plan"))
    ),
    "lifecycle": ChartSpec(kind="lifecycle", segments=("Big accounts",), interval="week", last_days=30),
    "lifecycle of logins": spec("lifecycle", interval="week", options=(("event", "login"),)),
    "distinguishes": spec("distinguishes", segments=("Buyers",)),
    "distinguishes accounts": spec("distinguishes", segments=("Big accounts",)),
}


def slices(frame, kind: str) -> list[dict]:
    """Every slice a person can click on the chart of ``frame``."""
    out = []
    grouped = "group" in frame.columns
    for row in frame.to_dict("records"):
        where = {"segment": row["segment"]} if "segment" in row else {}
        if grouped and row["group"] is not None:
            where["group"] = row["group"]
        if kind in ("trend", "segment_size"):
            out.append({**where, "period_start": row["period_start"]})
        elif kind == "funnel":
            out.append({**where, "step": int(row["step"]), "mode": "reached"})
            out.append({**where, "step": int(row["step"]), "mode": "dropped"})
        elif kind == "retention":
            out.append({**where, "cohort_start": row["cohort_start"], "period": int(row["period"])})
            out.append({**where, "cohort_start": row["cohort_start"], "period": None})
        elif kind == "distribution":
            out.append({**where, "bin_low": int(row["bin_low"]), "bin_high": int(row["bin_high"])})
        elif kind == "overlap":
            out.append({"region": row["region"]})
        elif kind == "top_events":
            out.append({**where, "event": row["event"]})
        elif kind == "stickiness":
            out.append({**where, "days": int(row["days"]), "period_start": row["period_start"]})
            out.append({**where, "days": int(row["days"])})
        elif kind == "lifecycle":
            out.append({**where, "period_start": row["period_start"], "status": row["status"]})
        elif kind == "distinguishes":
            value = row["value"]
            value = None if value is None or value != value else value  # NaN: no value (a numeric row)
            out.append({**where, "kind": row["kind"], "name": row["name"], "value": value})
    return list({tuple(sorted(w.items())): w for w in out}.values())  # a bar of every period once


def ids_of(conn, level: str, keys) -> list[str]:
    table, key, name = (
        ("users", "user_key", "user_id") if level == "user" else ("accounts", "account_key", "account_id")
    )
    by_key = dict(conn.execute(f"SELECT {key}, {name} FROM {table}"))
    return sorted(by_key[k] for k in keys)


@pytest.mark.parametrize("name", list(CHARTS))
def test_drill_down_on_a_connected_project_lists_the_local_people(rich, name):  # noqa: F811
    local, connected = rich
    chart = CHARTS[name]
    with Project.open(local, readonly=True) as lp, Project.open(connected, readonly=True) as cp:
        frame = run_chart(lp.conn, chart)
        cases = slices(frame, chart.kind)
        cases = cases[:: max(1, len(cases) // 40)]  # at most ~40 clicks a chart, spread over it
        assert cases, "the chart has slices to click"
        if chart.option("by"):
            assert any("group" in w for w in cases), "the groups are clicked too"
        nonempty = 0
        for where in cases:
            try:
                want = slice_members(lp.conn, make_slice(chart, frame.attrs["as_of_ms"], **where))
            except ChartError as exc:  # e.g. what distinguishes a user segment by an account property
                with pytest.raises(ChartError, match=str(exc)):
                    slice_members(cp.conn, make_slice(chart, frame.attrs["as_of_ms"], **where))
                continue
            got = slice_members(cp.conn, make_slice(chart, frame.attrs["as_of_ms"], **where))
            assert got.ids == tuple(ids_of(lp.conn, want.level, want.keys)), where
            assert (got.level, got.title, got.keys) == (want.level, want.title, ()), where
            nonempty += bool(got.ids)
        assert nonempty, "some slice has people behind it"


def test_drill_down_without_as_of_and_on_a_worker_connection(rich):  # noqa: F811
    local, connected = rich
    chart = CHARTS["funnel"]
    with Project.open(local, readonly=True) as lp:
        want = slice_members(lp.conn, make_slice(chart, step=2))
        want_ids = tuple(ids_of(lp.conn, want.level, want.keys))
    got = slice_members_file(connected, make_slice(chart, step=2))
    assert want_ids and got.ids == want_ids


def test_a_group_of_a_size_chart_says_it_is_not_listed_yet(rich):  # noqa: F811
    _local, connected = rich
    chart = spec("segment_size", segments=("Buyers",), interval="month", options=(("by", "user.plan"),))
    with pytest.raises(ChartError, match="not listed on a connected project yet"):
        slice_members_file(
            connected, make_slice(chart, segment="Buyers", group="pro", period_start="2024-03-01")
        )


def test_an_unknown_series_or_group_is_a_clear_error(rich):  # noqa: F811
    _local, connected = rich
    with pytest.raises(ChartError, match="no series “Nobody”"):
        slice_members_file(
            connected, make_slice(CHARTS["trend users week"], segment="Nobody", period_start="2024-03-04")
        )
    with pytest.raises(ChartError, match="no group “gold”"):
        slice_members_file(
            connected,
            make_slice(
                CHARTS["trend purchases by plan"], segment="everyone", group="gold", period_start="2024-03-01"
            ),
        )
