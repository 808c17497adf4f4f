"""Segment size over time, optionally with its rest (``seglab analyze size``)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from seglab.core.charts.drill import (
    SliceMembers,
    period_label,
    unit_word,
)
from seglab.core.charts.kind import USER_ACCOUNT, ChartKind, every

if TYPE_CHECKING:
    from seglab.core.charts.drill import SliceRequest
    from seglab.core.charts.series import ResolvedSeries
    from seglab.core.charts.spec import ChartSpec


def problem(spec: ChartSpec) -> str:
    if not spec.segments:
        return "Tick the saved segments whose size over time you want to see (at least one saved segment)."
    return ""


def build(spec: ChartSpec, series, window: dict):
    from seglab.core.analyses import SizeOverTimeRequest
    from seglab.core.charts.run import breakdown_of

    segs = [s for s in series if s.role == "segment"]
    return SizeOverTimeRequest(
        segments=tuple((s.label, s.definition) for s in segs),
        interval=spec.interval,
        vs_rest=spec.vs_rest and len(segs) == 1,
        by=breakdown_of(spec),
        **window,
    )


def run(conn, spec: ChartSpec, request, progress):
    from seglab.core.analyses import run_size_over_time

    return run_size_over_time(conn, request, progress)  # it breaks itself down (members at each moment)


def describe(spec: ChartSpec, o: dict) -> str:
    return f"Members at the end of each {every(spec)}"


def members(
    conn, spec: ChartSpec, s: ResolvedSeries, window, req: SliceRequest, progress=None, resolved=()
) -> SliceMembers:
    """A saved segment's members as they were at the end of the clicked interval (as the size chart)."""
    from seglab.core.analyses.common import buckets_for, date_to_day
    from seglab.core.segments import member_keys

    start = str(req.get("period_start"))
    buckets = buckets_for(window.from_day, window.to_day, spec.interval)
    b = buckets.index_of_day(date_to_day(dt.date.fromisoformat(start[:10])))
    at = min(buckets.last_ms(b), window.as_of_ms)
    if s.role == "rest":  # the complement of the chart's one segment at that time
        segment = next(x for x in resolved if x.role == "segment")
        inside = {int(k) for k in member_keys(conn, segment.definition, at)}
        from seglab.core.charts.series import universe_keys

        found = {k for k in universe_keys(conn, s.level) if k not in inside}
    else:
        found = {int(k) for k in member_keys(conn, s.definition, at)}
    if s.group_keys is not None:
        found &= set(s.group_keys)
    keys = tuple(sorted(found))
    label = period_label(start, spec.interval)
    return SliceMembers(
        s.level, keys, f"{s.label}: {unit_word(s.level)} in the segment at the end of {label}"
    )


KIND = ChartKind(
    name="segment_size",
    title="Segment size over time",
    analyze="size",
    defaults={},
    draws="trend",
    build=build,
    run=run,
    describe=describe,
    members=members,
    problem=problem,
    breakdown=USER_ACCOUNT,
    draw_options=lambda spec: {"value_column": "size", "y_title": "Members at the end of the interval"},
)
