"""What distinguishes a segment from the rest (``seglab analyze distinguish``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from seglab.core.charts.drill import (
    SliceMembers,
    event_doers,
    unit_word,
)
from seglab.core.charts.errors import ChartError
from seglab.core.charts.kind import ChartKind

if TYPE_CHECKING:
    from seglab.core.charts.drill import SliceRequest
    from seglab.core.charts.series import ResolvedSeries
    from seglab.core.charts.spec import ChartSpec


def problem(spec: ChartSpec) -> str:
    if len(spec.segments) != 1:
        return "Tick one segment to see what sets it apart from the rest."
    return ""


def build(spec: ChartSpec, series, window: dict):
    from seglab.core.analyses import DistinguishRequest

    segs = [s for s in series if s.role == "segment"]
    return DistinguishRequest(
        series=segs[0].to_series_spec(), limit=int(spec.option("limit", 15) or 0) or None, **window
    )


def run(conn, spec: ChartSpec, request, progress):
    from seglab.core.analyses import run_distinguish

    return run_distinguish(conn, request, progress)


def describe(spec: ChartSpec, o: dict) -> str:
    return "What sets it apart"


def members(conn, spec: ChartSpec, s: ResolvedSeries, window, req: SliceRequest, progress=None, resolved=()):
    return distinguish_members(conn, s, window, req)


def distinguish_members(conn, s: ResolvedSeries, window, req: SliceRequest) -> SliceMembers:
    """The segment's units behind one row of "what distinguishes": those with the value, or the event."""
    import re

    from seglab.core.project import load_properties

    kind, name, value = str(req.get("kind")), str(req.get("name")), req.get("value")
    inside = set(s.keys or ())
    if kind == "event":
        got = event_doers(conn, s, window, name)
        return SliceMembers(s.level, got.keys, f"{s.label}: {unit_word(s.level)} who did {name}")
    entity = "user" if s.level == "user" else "account"
    prop = next((p for p in load_properties(conn, entity) if p.name == name), None)
    if prop is None or not re.fullmatch(r"p\d+", prop.column):
        raise ChartError(f"no {entity} property named “{name}”")
    table, key = ("users", "user_key") if entity == "user" else ("accounts", "account_key")
    # Identifiers are fixed names and a catalogue column checked above; nothing from a file.
    rows = conn.execute(f"SELECT {key}, {prop.column} FROM {table} WHERE {prop.column} IS NOT NULL")
    if kind == "numeric":
        keys = tuple(sorted(int(k) for k, _v in rows if int(k) in inside))
        return SliceMembers(s.level, keys, f"{s.label}: {unit_word(s.level)} with a {name}")

    def as_text(v) -> str:
        return ("true" if int(v) else "false") if prop.type == "boolean" else str(v)

    keys = tuple(sorted(int(k) for k, v in rows if int(k) in inside and as_text(v) == str(value)))
    return SliceMembers(s.level, keys, f"{s.label}: {unit_word(s.level)} whose {name} is {value}")


KIND = ChartKind(
    name="distinguishes",
    title="What distinguishes",
    analyze="distinguish",
    defaults={"limit": 15},
    draws="distinguishes",
    build=build,
    run=run,
    describe=describe,
    members=members,
    problem=problem,
    uses_interval=False,
)
