"""Drill-down on a connected project: the people behind one point, bar or cell, pushed down.

:func:`slice_ids` answers what :func:`seglab.core.charts.drill.slice_members` answers on a local
project, with the same semantics as each kind's ``members`` (``core/charts/kinds/*.py``) and the
same units as the chart's pushed-down analysis (``engines/clickhouse.py``): one query in the
source returns the units' text ids, sorted as text (a source has no import order, so its lists
are by id, as ``segment members`` lists them; docs/sources.md). Only the ids come back.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, cast

from sqlglot import exp

from seglab.core.charts.drill import SliceMembers, period_label, unit_word
from seglab.core.charts.errors import ChartError
from seglab.core.engines.clickhouse import (
    ClickHouseEngine,
    SourceSeries,
    _bucket_index,
    _Compiler,
    _event_preds,
    _group_key,
    _in_series,
    _members_of,
    _template,
    _users_join,
    col,
    fn,
    funnel_chosen,
    lit,
    sel,
)
from seglab.core.progress import NULL_PROGRESS, Progress
from seglab.core.timeutil import DAY_MS

if TYPE_CHECKING:
    from seglab.core.analyses.common import Interval
    from seglab.core.charts.drill import SliceRequest

# Every kind; a kind left out would say so (ChartError) instead of reading local tables.
KINDS = (
    "trend",
    "funnel",
    "retention",
    "segment_size",
    "distribution",
    "overlap",
    "top_events",
    "stickiness",
    "lifecycle",
    "distinguishes",
)


def slice_ids(
    engine: ClickHouseEngine, req: SliceRequest, progress: Progress = NULL_PROGRESS
) -> SliceMembers:
    """The units behind one slice of ``req.spec``'s chart on a connected project (``ids`` set)."""
    from seglab.core.charts.registry import get_kind
    from seglab.core.timeutil import parse_as_of

    spec = req.spec
    kind = get_kind(spec.kind)
    if kind.members is None:
        raise ChartError(f"drill-down is not available for {spec.title} charts yet")
    if spec.kind not in KINDS:
        raise ChartError(f"the people behind a {kind.title} chart are not listed on a connected project yet")
    with engine.watching(progress):
        as_of_ms = req.as_of_ms
        if as_of_ms is None:
            as_of_ms = engine.as_of(parse_as_of(spec.as_of) if spec.as_of else None)
        if as_of_ms is None:
            raise ChartError("the source has no events yet")
        return _slice(engine, req, int(as_of_ms))


def _slice(engine: ClickHouseEngine, req: SliceRequest, as_of_ms: int) -> SliceMembers:
    from seglab.core.analyses.common import resolve_window
    from seglab.core.charts.series import EVERYONE_LABEL, chart_dates
    from seglab.core.engines.analyses import chart_series

    spec = req.spec
    _resolved, series = chart_series(engine.conn, spec)
    date_from, date_to = chart_dates(spec, as_of_ms)
    window = resolve_window(as_of_ms, date_from, date_to)
    if spec.kind == "overlap":
        return _overlap(engine, series, window, str(req.get("region")))
    label = req.get("segment", EVERYONE_LABEL)
    chosen = next((x for x in series if x.label == label), None)
    if chosen is None:
        raise ChartError(f"the chart has no series “{label}”")
    group = req.get("group")
    if group is not None:
        chosen = _in_group(engine, spec, chosen, str(group), as_of_ms, date_from, date_to)
    run = {
        "trend": _trend,
        "funnel": _funnel,
        "retention": _retention,
        "segment_size": _size,
        "distribution": _distribution,
        "top_events": _top_events,
        "stickiness": _stickiness,
        "lifecycle": _lifecycle,
        "distinguishes": _distinguishes,
    }[spec.kind]
    return run(engine, spec, chosen, window, req)


def _in_group(engine, spec, s: SourceSeries, group: str, as_of_ms, date_from, date_to) -> SourceSeries:
    """The series narrowed to one breakdown group, the groups ranked as the chart ranks them."""
    from seglab.core.analyses.breakdown import GROUP_SEP
    from seglab.core.charts.run import breakdown_of
    from seglab.core.engines import clickhouse

    by = breakdown_of(spec)
    if by is None:
        raise ChartError("the chart is not broken down, so it has no group “" + group + "”")
    if spec.kind == "segment_size":
        raise ChartError(
            "the people of one group of a segment size chart are not listed on a connected project yet"
        )
    event = {
        "trend": spec.option("event", "*"),
        "funnel": (spec.option("steps") or ["*"])[0],
        "retention": spec.option("start_event", "*"),
        "distribution": spec.option("event", "*"),
        "stickiness": spec.option("event", "*"),
        "lifecycle": spec.option("event", "*"),
    }.get(spec.kind)
    if event is None:
        raise ChartError(f"a {spec.title} chart is not broken down")
    if spec.kind == "funnel":
        from seglab.core.charts.steps import funnel_steps

        event = funnel_steps(spec)[0]
    measure = spec.option("measure", "users")
    if by.entity == "event":
        expanded, _ = clickhouse._event_broken_down(
            engine, [s], by, event, measure, as_of_ms, date_from, date_to
        )
    else:
        rank_level = "account" if spec.kind == "trend" and measure == "accounts" else None
        expanded, _ = clickhouse.broken_down(
            engine, [s], by, event, as_of_ms, date_from, date_to, rank_level=rank_level
        )
    wanted = f"{s.label}{GROUP_SEP}{group}"
    found = next((x for x in expanded if x.label == wanted), None)
    if found is None:
        raise ChartError(f"the chart has no group “{group}” of “{s.label}”")
    return found


# -- queries ------------------------------------------------------------------------------------


def _events(comp, catalog, s: SourceSeries, unit_level: str, event, lo_ms: int, hi_ms: int, extra=()):
    """(the unit column, the events of ``event`` in [lo_ms, hi_ms] of the series' units)."""
    e, u = "e", "u"
    unit = col("user_key", e) if unit_level == "user" else col("account_key", u)
    own = col("user_key", e) if s.level == "user" else col("account_key", u)
    preds: list[exp.Expr] = [
        exp.GTE(this=col("ts", e), expression=lit(lo_ms)),
        exp.LTE(this=col("ts", e), expression=lit(hi_ms)),
        exp.Not(this=exp.Is(this=unit.copy(), expression=exp.Null())),
        *_event_preds(comp, event, e),
        *extra,
    ]
    inside = _in_series(comp, catalog, s, own)
    if inside is not None:
        preds.append(inside)
    if s.group is not None and s.group.by.entity == "event":
        preds.append(s.group.test(comp, _group_key(col(s.group.column, e), s.group.ptype)))
    query = sel().from_(exp.to_table("events").as_(e)).join(**_users_join(e, u)).where(exp.and_(*preds))
    return unit, query


def _ids(engine: ClickHouseEngine, query: exp.Select, params: dict) -> tuple[str, ...]:
    # Sorted as text in Python (code points), as ``member_ids`` sorts a segment's members.
    return tuple(sorted({str(r[0]) for r in engine.run(query, params) if r[0] is not None}))


def _trend(engine, spec, s: SourceSeries, window, req) -> SliceMembers:
    from seglab.core.analyses.breakdown import GROUP_SEP, Breakdown
    from seglab.core.charts.drill import bucket_bounds, event_text
    from seglab.core.charts.kinds.trend import VALUE_WORDS
    from seglab.core.engines.clickhouse import _breakdown_property

    start = str(req.get("period_start"))
    first_day, last_day = bucket_bounds(start, spec.interval)
    lo = max(first_day * DAY_MS, window.start_ms)
    hi = min((last_day + 1) * DAY_MS - 1, window.end_ms)
    event = spec.option("event", "*")
    measure = spec.option("measure")
    level = "account" if measure == "accounts" else s.level
    catalog = engine.catalog()
    comp = _Compiler(catalog, window.as_of_ms, "clickhouse")
    extra = []
    if measure in VALUE_WORDS:  # a value measure counts only events with a value
        prop = _breakdown_property(engine, Breakdown("event", str(spec.option("of"))))
        extra.append(exp.Not(this=exp.Is(this=col(prop.column, "e"), expression=exp.Null())))
    ids: tuple[str, ...] = ()
    if not window.empty and lo <= hi:
        unit, query = _events(comp, catalog, s, level, event, lo, hi, extra)
        ids = _ids(engine, query.select(exp.alias_(unit, "unit", quoted=True)).distinct(), comp.params)
    what = "any event" if event == "*" else event_text(event)
    label, group = _label(s)
    if group is not None and s.group.by.entity == "event":  # the series itself, its events narrowed
        label = s.label.split(GROUP_SEP, 1)[0]
        what += f" with {s.group.by.property} {group}"
    title = f"{label}: {unit_word(level)} who did {what} in {period_label(start, spec.interval)}"
    return _members(level, ids, title)


def _funnel(engine, spec, s: SourceSeries, window, req) -> SliceMembers:
    from seglab.core.charts.steps import funnel_steps

    steps = funnel_steps(spec)
    n = len(steps)
    step = int(req.get("step", 1))
    mode = req.get("mode", "reached")
    names = [st.event for st in steps]
    ids: tuple[str, ...] = ()
    if not window.empty:
        within = float(spec.option("within_days", 14))
        # The analysis's own choice of each unit's steps, with the unit.
        comp, chosen = funnel_chosen(engine.catalog(), steps, within, s, window)
        best = _template("arrayCount(x -> x <> 0, chosen)", {})
        if mode == "dropped" and step < n:
            keep: exp.Expr = exp.EQ(this=best, expression=lit(step))
        else:
            keep = exp.GTE(this=best, expression=lit(step))
        query = sel(col("unit")).from_(chosen.subquery("c")).where(keep)
        ids = _ids(engine, query, comp.params)
    if mode == "dropped" and step < n:
        what = f"reached step {step} ({names[step - 1]}) but not step {step + 1} ({names[step]})"
    else:
        what = f"reached step {step} ({names[step - 1]})"
    return _members(s.level, ids, f"{_label(s)[0]}: {unit_word(s.level)} who {what}")


def _retention(engine, spec, s: SourceSeries, window, req) -> SliceMembers:
    from seglab.core.analyses.common import buckets_for, date_to_day

    start_event = spec.option("start_event", "*")
    return_event = spec.option("return_event", "*")
    cohort = dt.date.fromisoformat(str(req.get("cohort_start"))[:10])
    period = req.get("period")
    periods = int(spec.option("periods", 8))
    buckets = buckets_for(window.from_day, window.to_day, spec.interval, extra=periods)
    index = buckets.index_of_day(date_to_day(cohort))
    label = period_label(cohort.isoformat(), spec.interval)
    title = f"{_label(s)[0]}: {unit_word(s.level)} of cohort {label}"
    target = index + (int(period) if period is not None else 0)
    if target >= len(buckets.start_days):
        return _members(s.level, (), "")
    ids: tuple[str, ...] = ()
    if not window.empty:
        catalog = engine.catalog()
        comp = _Compiler(catalog, window.as_of_ms, "clickhouse")
        day = fn("intDiv", col("ts", "e"), lit(DAY_MS))
        # The cohort: each unit's first start event's day in the range, at or before as-of.
        first_hi = min(window.to_day * DAY_MS + DAY_MS - 1, window.as_of_ms)
        unit, starts = _events(comp, catalog, s, s.level, start_event, window.from_day * DAY_MS, first_hi)
        cohorts = starts.select(
            exp.alias_(unit, "unit", quoted=True), exp.alias_(exp.Min(this=day), "cday", quoted=True)
        ).group_by(col("unit"))
        query = (
            sel(col("unit"))
            .from_(cohorts.subquery("c"))
            .where(exp.EQ(this=_bucket_index(col("cday"), buckets.start_days), expression=lit(index)))
        )
        if period is not None:
            lo_day = buckets.start_days[target]
            hi_day = (
                buckets.start_days[target + 1] - 1
                if target + 1 < len(buckets.start_days)
                else buckets.end_day_exclusive - 1
            )
            hi = min(hi_day * DAY_MS + DAY_MS - 1, window.as_of_ms)
            r_unit, returns = _events(comp, catalog, s, s.level, return_event, lo_day * DAY_MS, hi)
            back = returns.select(exp.alias_(r_unit, "r", quoted=True))
            query = query.where(exp.In(this=col("unit"), query=exp.Subquery(this=back)))
        ids = _ids(engine, query, comp.params)
    if period is not None:
        word = {"day": "day", "week": "week", "month": "month"}[spec.interval]
        title += f" retained in {word} {int(period)}"
    return _members(s.level, ids, title)


def _size(engine, spec, s: SourceSeries, window, req) -> SliceMembers:
    from seglab.core.analyses.common import buckets_for, date_to_day

    start = str(req.get("period_start"))
    buckets = buckets_for(window.from_day, window.to_day, spec.interval)
    b = buckets.index_of_day(date_to_day(dt.date.fromisoformat(start[:10])))
    at = min(buckets.last_ms(b), window.as_of_ms)
    catalog = engine.catalog()
    comp = _Compiler(catalog, at, "clickhouse")
    # A segment's members at that time, or (its rest) the level's units that are not.
    members = _members_of(comp, catalog, s)
    ids = _ids(engine, members, comp.params) if members is not None else ()
    label = period_label(start, spec.interval)
    return _members(s.level, ids, f"{s.label}: {unit_word(s.level)} in the segment at the end of {label}")


def _distribution(engine, spec, s: SourceSeries, window, req) -> SliceMembers:
    from seglab.core.charts.drill import event_text

    low, high = int(req.get("bin_low")), int(req.get("bin_high"))
    event = spec.option("event", "*")
    ids: tuple[str, ...] = ()
    if not window.empty:
        catalog = engine.catalog()
        comp = _Compiler(catalog, window.as_of_ms, "clickhouse")
        unit, rows = _events(comp, catalog, s, s.level, event, window.start_ms, window.end_ms)
        counts = (
            rows.select(exp.alias_(unit, "unit", quoted=True))
            .group_by(col("unit"))
            .having(exp.Between(this=exp.Count(this=exp.Star()), low=lit(low), high=lit(high)))
        )
        ids = _ids(engine, counts, comp.params)
    what = "events" if event == "*" else f"{event_text(event)} events"
    span = f"{low}" if low == high else f"{low}–{high}"
    return _members(s.level, ids, f"{_label(s)[0]}: {unit_word(s.level)} with {span} {what}")


def _overlap(engine, series: tuple[SourceSeries, ...], window, region: str) -> SliceMembers:
    from seglab.core.analyses.overlap import REGION_SEPARATOR

    names = region.split(REGION_SEPARATOR)
    by_label = {s.label: s for s in series}
    if any(n not in by_label for n in names):
        raise ChartError(f"the overlap has no region “{region}”")
    catalog = engine.catalog()
    comp = _Compiler(catalog, window.as_of_ms, "clickhouse")
    first = _members_of(comp, catalog, by_label[names[0]])
    level = series[0].level if series else "user"
    ids: tuple[str, ...] = ()
    if first is not None:
        preds: list[exp.Expr] = []
        for label, s in by_label.items():
            if label == names[0]:
                continue
            inside: exp.Expr = exp.In(this=col("key"), query=exp.Subquery(this=_members_of(comp, catalog, s)))
            preds.append(inside if label in names else exp.Not(this=exp.paren(inside)))
        query = sel(col("key")).from_(first.subquery("m"))
        if preds:
            query = query.where(exp.and_(*preds))
        ids = _ids(engine, query, comp.params)
    only = "only " if len(names) < len(by_label) else ""
    title = f"{unit_word(level).capitalize()} in {only}{' and '.join(names)}"
    return _members(level, ids, title)


def _doers(engine, s: SourceSeries, window, event: str) -> tuple[str, ...]:
    """The series' units with an ``event`` in the range (at or before as-of)."""
    if window.empty:
        return ()
    catalog = engine.catalog()
    comp = _Compiler(catalog, window.as_of_ms, "clickhouse")
    unit, rows = _events(comp, catalog, s, s.level, event, window.start_ms, window.end_ms)
    return _ids(engine, rows.select(exp.alias_(unit, "unit", quoted=True)).distinct(), comp.params)


def _top_events(engine, spec, s: SourceSeries, window, req) -> SliceMembers:
    event = str(req.get("event"))
    return _members(
        s.level, _doers(engine, s, window, event), f"{s.label}: {unit_word(s.level)} who did {event}"
    )


def _stickiness(engine, spec, s: SourceSeries, window, req) -> SliceMembers:
    """Units active on exactly ``days`` days of one interval (or of some interval of the range)."""
    from seglab.core.analyses.common import buckets_for, date_to_day, next_bucket

    interval = cast("Interval", "week" if spec.interval == "day" else spec.interval)
    days = int(req.get("days"))
    last_day = min(window.to_day, window.as_of_ms // DAY_MS)
    one = req.get("period_start") is not None
    buckets = buckets_for(window.from_day, window.to_day, interval)
    lo, hi = window.from_day, last_day
    if one:
        start = dt.date.fromisoformat(str(req.get("period_start"))[:10])
        lo = max(date_to_day(start), window.from_day)
        hi = min(date_to_day(next_bucket(start, interval)) - 1, last_day)
    ids: tuple[str, ...] = ()
    if hi >= lo:
        catalog = engine.catalog()
        comp = _Compiler(catalog, window.as_of_ms, "clickhouse")
        upper = min(hi * DAY_MS + DAY_MS - 1, window.as_of_ms)
        unit, rows = _events(comp, catalog, s, s.level, spec.option("event", "*"), lo * DAY_MS, upper)
        day = fn("intDiv", col("ts", "e"), lit(DAY_MS))
        per_bucket = (
            rows.select(
                exp.alias_(unit, "unit", quoted=True),
                exp.alias_(_bucket_index(day.copy(), buckets.start_days), "b", quoted=True),
            )
            .group_by(col("unit"), col("b"))
            .having(exp.EQ(this=fn("uniqExact", day), expression=lit(days)))
        )
        ids = _ids(engine, sel(col("unit")).from_(per_bucket.subquery("p")).distinct(), comp.params)
    word = "day" if days == 1 else "days"
    where = (
        f"in {period_label(str(req.get('period_start')), interval)}"
        if one
        else f"in some {interval} of the range"
    )
    return _members(s.level, ids, f"{_label(s)[0]}: {unit_word(s.level)} active {days} {word} {where}")


# Per unit: active in the interval, active in the one before, and the first active day (ever, up to
# as-of), as lifecycle's statuses need them (docs/analyses.md, lifecycle).
_LIFECYCLE = (
    "SELECT unit, max(d BETWEEN __now_lo AND __now_hi) AS now, "
    "max(d BETWEEN __before_lo AND __before_hi) AS before, min(d) AS first FROM __rows GROUP BY unit"
)
_STATUS = {
    "new": "now = 1 AND first >= __now_lo",
    "returning": "now = 1 AND before = 1 AND first < __now_lo",
    "resurrecting": "now = 1 AND before = 0 AND first < __now_lo",
    "dormant": "before = 1 AND now = 0",
}


def _lifecycle(engine, spec, s: SourceSeries, window, req) -> SliceMembers:
    from seglab.core.analyses.common import bucket_start, date_to_day, next_bucket

    interval = spec.interval
    status = str(req.get("status"))
    if status not in _STATUS:
        raise ChartError(f"unknown lifecycle status {status!r}")
    start = dt.date.fromisoformat(str(req.get("period_start"))[:10])
    prev = bucket_start(start - dt.timedelta(days=1), interval)
    last_day = min(window.to_day, window.as_of_ms // DAY_MS)
    now_lo, now_hi = date_to_day(start), min(date_to_day(next_bucket(start, interval)) - 1, last_day)
    before_lo, before_hi = date_to_day(prev), date_to_day(start) - 1
    catalog = engine.catalog()
    comp = _Compiler(catalog, window.as_of_ms, "clickhouse")
    unit, rows = _events(comp, catalog, s, s.level, spec.option("event", "*"), 0, window.as_of_ms)
    # The time column's own lower bound (no event before 1970 counts locally either).
    rows = rows.select(
        exp.alias_(unit, "unit", quoted=True),
        exp.alias_(fn("intDiv", col("ts", "e"), lit(DAY_MS)), "d", quoted=True),
    )
    days = {
        "__now_lo": lit(now_lo),
        "__now_hi": lit(now_hi),
        "__before_lo": lit(before_lo),
        "__before_hi": lit(before_hi),
    }
    per_unit = _template(_LIFECYCLE, {**days, "__rows": rows.subquery("r")})
    query = (
        sel(col("unit"))
        .from_(cast("exp.Select", per_unit).subquery("l"))
        .where(_template(_STATUS[status], days))
    )
    ids = _ids(engine, query, comp.params)
    label = period_label(start.isoformat(), interval)
    return _members(s.level, ids, f"{_label(s)[0]}: {status} {unit_word(s.level)} in {label}")


def _distinguishes(engine, spec, s: SourceSeries, window, req) -> SliceMembers:
    """The segment's units behind one row of "what distinguishes": with the value, or the event."""
    from seglab.core.project import load_properties

    kind, name, value = str(req.get("kind")), str(req.get("name")), req.get("value")
    if kind == "event":
        return _members(
            s.level, _doers(engine, s, window, name), f"{s.label}: {unit_word(s.level)} who did {name}"
        )
    entity = "user" if s.level == "user" else "account"
    prop = next((p for p in load_properties(engine.conn, entity) if p.name == name), None)
    if prop is None:
        raise ChartError(f"no {entity} property named “{name}”")
    catalog = engine.catalog()
    comp = _Compiler(catalog, window.as_of_ms, "clickhouse")
    members = _members_of(comp, catalog, s)
    key = "user_key" if entity == "user" else "account_key"
    column = col(prop.column, "t")
    preds: list[exp.Expr] = [exp.Not(this=exp.Is(this=column.copy(), expression=exp.Null()))]
    if members is not None:
        preds.append(exp.In(this=col(key, "t"), query=exp.Subquery(this=members)))
    if kind == "numeric":
        title = f"{s.label}: {unit_word(s.level)} with a {name}"
    else:
        if prop.type == "boolean":
            preds.append(exp.EQ(this=fn("toUInt8", column), expression=lit(1 if str(value) == "true" else 0)))
        else:
            preds.append(exp.EQ(this=fn("toString", column), expression=comp.param(str(value))))
        title = f"{s.label}: {unit_word(s.level)} whose {name} is {value}"
    table = "users" if entity == "user" else "accounts"
    query = sel(col(key, "t")).from_(exp.to_table(table).as_("t")).where(exp.and_(*preds))
    return _members(s.level, _ids(engine, query, comp.params), title)


def _label(s: SourceSeries) -> tuple[str, Any]:
    """The series' label as the local drill-down words it (``NAME · group``) and its group."""
    from seglab.core.analyses.breakdown import GROUP_SEP

    if GROUP_SEP not in s.label:
        return s.label, None
    name, group = s.label.split(GROUP_SEP, 1)
    return f"{name} · {group}", group


def _members(level: str, ids: tuple[str, ...], title: str) -> SliceMembers:
    return SliceMembers(level, (), title, ids)
