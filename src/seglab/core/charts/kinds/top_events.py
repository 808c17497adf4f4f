"""Top events: events by the share of units who did them, with lift (``seglab analyze top-events``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from seglab.core.charts.drill import (
    event_doers,
)
from seglab.core.charts.kind import ChartKind, series_of

if TYPE_CHECKING:
    from seglab.core.charts.drill import SliceRequest
    from seglab.core.charts.series import ResolvedSeries
    from seglab.core.charts.spec import ChartSpec


def build(spec: ChartSpec, series, window: dict):
    from seglab.core.analyses import TopEventsRequest

    return TopEventsRequest(
        limit=int(spec.option("limit", 15) or 0) or None, series=series_of(series), **window
    )


def run(conn, spec: ChartSpec, request, progress):
    from seglab.core.analyses import run_top_events

    return run_top_events(conn, request, progress)


def describe(spec: ChartSpec, o: dict) -> str:
    return "Top events with lift"


def members(conn, spec: ChartSpec, s: ResolvedSeries, window, req: SliceRequest, progress=None, resolved=()):
    return event_doers(conn, s, window, str(req.get("event")))


KIND = ChartKind(
    name="top_events",
    title="Top events",
    analyze="top-events",
    defaults={"limit": 15},
    draws="top_events",
    build=build,
    run=run,
    describe=describe,
    members=members,
    uses_interval=False,
)
