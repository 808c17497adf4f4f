"""Funnel: ordered steps, each maybe filtered (``seglab analyze funnel``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from seglab.core.charts.drill import (
    SliceMembers,
    unit_word,
)
from seglab.core.charts.kind import USER_ACCOUNT, ChartKind, run_analysis, series_of
from seglab.core.charts.steps import format_steps, funnel_steps
from seglab.core.timeutil import DAY_MS

if TYPE_CHECKING:
    from seglab.core.charts.drill import SliceRequest
    from seglab.core.charts.series import ResolvedSeries
    from seglab.core.charts.spec import ChartSpec


def problem(spec: ChartSpec) -> str:
    if not spec.option("steps"):
        return (
            "Add at least one step to the funnel: event names in order, separated by commas "
            "(e.g. signup, purchase)."
        )
    return ""


def build(spec: ChartSpec, series, window: dict):
    from seglab.core.analyses import FunnelRequest

    return FunnelRequest(
        steps=funnel_steps(spec),
        within_days=float(spec.option("within_days", 14)),
        series=series_of(series),
        **window,
    )


def run(conn, spec: ChartSpec, request, progress):
    from seglab.core.analyses import run_funnel

    return run_analysis(conn, spec, request, run_funnel, progress, request.steps[0])


def describe(spec: ChartSpec, o: dict) -> str:
    return (
        " → ".join(format_steps([s]) for s in o.get("steps") or [])
        + f" within {o.get('within_days', 14):g} days"
    )


def members(
    conn, spec: ChartSpec, s: ResolvedSeries, window, req: SliceRequest, progress=None, resolved=()
) -> SliceMembers:
    from seglab.core.analyses.common import Engine, unit_filter
    from seglab.core.analyses.filters import compile_filters
    from seglab.core.charts.drill import furthest_steps

    steps = funnel_steps(spec)
    n = len(steps)
    step = int(req.get("step", 1))
    mode = req.get("mode", "reached")
    within_ms = round(float(spec.option("within_days", 14)) * DAY_MS)
    engine = Engine(conn, progress)
    names = [st.event for st in steps]
    keys = engine.event_keys([x for x in names if x != "*"])
    parts: list[str] = []
    params: list = []
    for j, st in enumerate(steps):
        if st.event == "*":
            cond, cparams = "1 = 1", []
        elif st.event in keys:
            cond, cparams = "e.event_key = ?", [keys[st.event]]
        else:
            continue
        fsql, fparams = compile_filters(engine, st.where, "e", f"step {j + 1} filter", window.as_of_ms)
        if fsql:
            cond = f"{cond} AND {fsql}"
        parts.append(f"(CASE WHEN {cond} THEN {1 << j} ELSE 0 END)")
        params.extend(cparams + fparams)
    best: dict[int, int] = {}
    if parts and not window.empty:
        ucol = "e.user_key" if s.level == "user" else "u.account_key"
        unit_sql, unit_params = unit_filter(engine, s.to_series_spec(), "e.user_key", "u.account_key")
        upper = min(window.end_ms + within_ms, window.as_of_ms)
        sql = (
            f"SELECT {ucol}, e.ts, {' + '.join(parts)} AS m FROM events e"
            + (" JOIN users u ON u.user_key = e.user_key" if s.level == "account" else "")
            + f" WHERE e.ts BETWEEN ? AND ?{unit_sql}"
        )
        rows = engine.rows(sql, [*params, window.start_ms, upper, *unit_params])
        best = furthest_steps(rows, n, window.end_ms, within_ms)
    if mode == "dropped" and step < n:
        chosen = tuple(sorted(u for u, b in best.items() if b == step))
        what = f"reached step {step} ({names[step - 1]}) but not step {step + 1} ({names[step]})"
    else:
        chosen = tuple(sorted(u for u, b in best.items() if b >= step))
        what = f"reached step {step} ({names[step - 1]})"
    return SliceMembers(s.level, chosen, f"{s.label}: {unit_word(s.level)} who {what}")


KIND = ChartKind(
    name="funnel",
    title="Funnel",
    analyze="funnel",
    defaults={"steps": [], "within_days": 14},
    draws="funnel",
    build=build,
    run=run,
    describe=describe,
    members=members,
    problem=problem,
    breakdown=USER_ACCOUNT,
    uses_interval=False,
)
