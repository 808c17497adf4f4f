"""Distribution: units by how many events they did (``seglab analyze distribution``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from seglab.core.charts.drill import (
    EventReader,
    SliceMembers,
    event_text,
    series_filter,
    unit_word,
)
from seglab.core.charts.kind import USER_ACCOUNT, ChartKind, event_words, run_analysis, series_of

if TYPE_CHECKING:
    from seglab.core.charts.drill import SliceRequest
    from seglab.core.charts.series import ResolvedSeries
    from seglab.core.charts.spec import ChartSpec


def build(spec: ChartSpec, series, window: dict):
    from seglab.core.analyses import DistributionRequest

    return DistributionRequest(event=spec.option("event", "*"), series=series_of(series), **window)


def run(conn, spec: ChartSpec, request, progress):
    from seglab.core.analyses import run_distribution, run_distribution_stats
    from seglab.core.charts.run import breakdown_of

    frame = run_analysis(conn, spec, request, run_distribution, progress, request.event)
    # The markers the chart draws (median, p90 ... per series), as plain records.
    by = breakdown_of(spec)
    if by is None:
        stats = run_distribution_stats(conn, request, progress)
    else:
        from seglab.core.analyses.breakdown import run_broken_down

        groups = frame.attrs["groups"]
        stats = run_broken_down(conn, request, run_distribution_stats, by, request.event, progress, groups)
    frame.attrs["stats"] = stats.to_dict("records")
    return frame


def describe(spec: ChartSpec, o: dict) -> str:
    return f"Events per unit: {event_words(o, 'event')}"


def members(
    conn, spec: ChartSpec, s: ResolvedSeries, window, req: SliceRequest, progress=None, resolved=()
) -> SliceMembers:
    low, high = int(req.get("bin_low")), int(req.get("bin_high"))
    event = spec.option("event", "*")
    reader = EventReader(conn, event, window.as_of_ms)
    ev_sql, ev_params, _ = reader.clause("e.event_key")
    unit_sql, unit_params = series_filter(s, "e.user_key")
    unit_expr = "e.user_key" if s.level == "user" else "u.account_key"
    join = " JOIN users u ON u.user_key = e.user_key" if s.level == "account" else ""
    rows = reader.execute(
        f"SELECT {unit_expr}, COUNT(*) FROM events e{join} WHERE e.ts BETWEEN ? AND ?{ev_sql}{unit_sql}"
        f" GROUP BY {unit_expr}",
        [window.start_ms, window.end_ms, *ev_params, *unit_params],
    )
    inside = set(s.keys) if s.keys is not None else None
    keys = tuple(
        sorted(
            int(u)
            for u, n in rows
            if u is not None and low <= n <= high and (inside is None or int(u) in inside)
        )
    )
    what = "events" if event == "*" else f"{event_text(event)} events"
    span = f"{low}" if low == high else f"{low}–{high}"
    return SliceMembers(s.level, keys, f"{s.label}: {unit_word(s.level)} with {span} {what}")


KIND = ChartKind(
    name="distribution",
    title="Distribution",
    analyze="distribution",
    defaults={"event": "*"},
    draws="distribution",
    build=build,
    run=run,
    describe=describe,
    members=members,
    breakdown=USER_ACCOUNT,
    uses_interval=False,
)
