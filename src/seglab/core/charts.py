"""Charts without Qt: what a chart shows (:class:`ChartSpec`), saved charts, running one, drill-down.

A :class:`ChartSpec` is a frozen value: the chart kind, the segments compared (by
name, so a renamed or edited segment is followed; a deleted one is reported), the
unit, the reporting range, the interval and the kind's own options. Its JSON form
is versioned (``"version": 1``) and is what the ``charts`` table stores in
``options``; :func:`spec_from_json` refuses a newer version with a clear message.

:func:`run_chart` maps a spec to the analysis engine (``seglab.core.analyses``) and
returns the analysis's tidy DataFrame unchanged, so a chart holds exactly the
numbers the command line prints. :func:`slice_members` answers "who is behind
this point / bar / cell" with the same series and the same semantics
(docs/analyses.md), for drill-down.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from seglab.core.errors import UserError
from seglab.core.progress import NULL_PROGRESS, Progress, install_interrupt
from seglab.core.timeutil import DAY_MS, utc_now_iso

SPEC_VERSION = 1
VALUE_WORDS = {"sum": "Sum", "avg": "Average", "min": "Minimum", "max": "Maximum", "median": "Median"}

# kind -> (title, default options). The order is the order of the editor's list.
KINDS: dict[str, tuple[str, dict[str, Any]]] = {
    "trend": ("Trend", {"event": "*", "measure": "users", "moving_average": 0}),
    "funnel": ("Funnel", {"steps": [], "within_days": 14}),
    "retention": ("Retention", {"start_event": "*", "return_event": "*", "periods": 8}),
    "distribution": ("Distribution", {"event": "*"}),
    "top_events": ("Top events", {"limit": 15}),
    "stickiness": ("Stickiness", {"event": "*"}),
    "lifecycle": ("Lifecycle", {"event": "*"}),
    "overlap": ("Overlap", {}),
    "distinguishes": ("What distinguishes", {"limit": 15}),
    "segment_size": ("Segment size over time", {}),
}
UNITS = ("user", "account")
INTERVALS = ("day", "week", "month")
EVERYONE_LABEL = "everyone"
RANGE_PRESETS = (7, 30, 90, 180, 365)


class ChartError(UserError):
    """A chart cannot be shown or saved; the message says why, for a person."""


class MissingSegmentError(ChartError):
    """A chart names a saved segment that no longer exists."""

    def __init__(self, names: list[str]):
        self.names = list(names)
        quoted = ", ".join(f"“{n}”" for n in names)
        what = "segment" if len(names) == 1 else "segments"
        super().__init__(
            f"This chart compares the {what} {quoted}, which no longer exist{'s' if len(names) == 1 else ''}"
            " in this project. Choose other segments in the editor, or recreate it."
        )


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    return value


def _thaw_options(items: tuple) -> dict[str, Any]:
    return {k: _thaw(v) for k, v in items}


def _thaw(value: Any) -> Any:
    if isinstance(value, tuple):
        if value and all(isinstance(x, tuple) and len(x) == 2 and isinstance(x[0], str) for x in value):
            # a frozen dict (only step dicts and filters are dicts inside options)
            if all(k in {"event", "where", "property", "op", "value"} for k, _ in value):
                return {k: _thaw(v) for k, v in value}
        return [_thaw(v) for v in value]
    return value


@dataclass(frozen=True)
class ChartSpec:
    """What a chart shows. Immutable: an edit makes a new spec (:meth:`with_options`, ``replace``).

    ``segments`` are saved-segment names; empty means everyone at ``unit`` level.
    ``vs_rest`` compares the one segment with its complement ("not in X").
    The range is either the ``last_days`` up to as-of, or ``date_from``..``date_to``
    (ISO dates, inclusive; either may be None: the default of the analysis).
    ``options`` holds the kind's own options as sorted ``(key, value)`` pairs; read
    them with :meth:`option` or :attr:`options_dict`.
    """

    kind: str = "trend"
    segments: tuple[str, ...] = ()
    vs_rest: bool = False
    unit: str = "user"
    interval: str = "week"
    last_days: int | None = 90
    date_from: str | None = None
    date_to: str | None = None
    as_of: str | None = None  # ISO date-time; None: the project's as-of
    options: tuple[tuple[str, Any], ...] = field(default_factory=tuple)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ChartError(f"unknown chart kind {self.kind!r} (one of {', '.join(KINDS)})")
        if self.unit not in UNITS:
            raise ChartError(f"unit must be user or account, not {self.unit!r}")
        if self.interval not in INTERVALS:
            raise ChartError(f"interval must be day, week or month, not {self.interval!r}")
        merged = dict(KINDS[self.kind][1])
        merged.update(_thaw_options(tuple(self.options)))
        object.__setattr__(self, "options", tuple(sorted((k, _freeze(v)) for k, v in merged.items())))
        object.__setattr__(self, "segments", tuple(self.segments))

    @property
    def title(self) -> str:
        return KINDS[self.kind][0]

    @property
    def options_dict(self) -> dict[str, Any]:
        return _thaw_options(self.options)

    def option(self, key: str, default: Any = None) -> Any:
        return self.options_dict.get(key, default)

    def with_options(self, **changes: Any) -> ChartSpec:
        merged = self.options_dict
        merged.update(changes)
        return replace(self, options=tuple(merged.items()))

    def with_kind(self, kind: str) -> ChartSpec:
        """The same segments, unit, range and interval shown as another kind (its default options)."""
        return replace(self, kind=kind, options=())

    # -- JSON -----------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "version": SPEC_VERSION,
            "kind": self.kind,
            "segments": list(self.segments),
            "vs_rest": self.vs_rest,
            "unit": self.unit,
            "interval": self.interval,
            "range": (
                {"last_days": self.last_days}
                if self.last_days is not None
                else {"from": self.date_from, "to": self.date_to}
            ),
            "as_of": self.as_of,
            "options": self.options_dict,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)


def spec_from_json(data: str | dict) -> ChartSpec:
    """A spec from its JSON form (any version this SegLab knows)."""
    try:
        obj = json.loads(data) if isinstance(data, str) else dict(data)
    except json.JSONDecodeError as exc:
        raise ChartError(f"the saved chart is not valid JSON ({exc.msg})") from None
    if not isinstance(obj, dict):
        raise ChartError("the saved chart is not a JSON object")
    version = obj.get("version", 1)
    if not isinstance(version, int) or version < 1:
        raise ChartError(f"the saved chart has an invalid version {version!r}")
    if version > SPEC_VERSION:
        raise ChartError(
            f"this chart was saved by a newer SegLab (chart format {version}; this SegLab reads up to "
            f"{SPEC_VERSION}); update SegLab to open it"
        )
    rng = obj.get("range") or {}
    options = obj.get("options") or {}
    if not isinstance(options, dict):
        raise ChartError("the saved chart's options are not an object")
    segments = obj.get("segments") or []
    if not isinstance(segments, list) or not all(isinstance(s, str) for s in segments):
        raise ChartError("the saved chart's segments are not a list of names")
    try:
        return ChartSpec(
            kind=str(obj.get("kind", "trend")),
            segments=tuple(segments),
            vs_rest=bool(obj.get("vs_rest", False)),
            unit=str(obj.get("unit", "user")),
            interval=str(obj.get("interval", "week")),
            last_days=rng.get("last_days") if "last_days" in rng else None,
            date_from=rng.get("from"),
            date_to=rng.get("to"),
            as_of=obj.get("as_of"),
            options=tuple(options.items()),
        )
    except TypeError as exc:
        raise ChartError(f"the saved chart is malformed ({exc})") from None


def describe_spec(spec: ChartSpec) -> str:
    """One line saying what a chart shows, for its subtitle and exported pictures.

    >>> describe_spec(ChartSpec(segments=("Pro",), vs_rest=True).with_options(event="purchase"))
    'Unique users doing purchase per week · Pro vs the rest · last 90 days'
    """
    o = spec.options_dict
    every = {"day": "day", "week": "week", "month": "month"}[spec.interval]
    event = lambda key: "any event" if o.get(key, "*") == "*" else str(o.get(key))
    what = {
        "trend": lambda: (
            f"{VALUE_WORDS[o['measure']]} of {o.get('of')} in {event('event')}"
            if o.get("measure") in VALUE_WORDS
            else {
                "users": "Unique users", "accounts": "Unique accounts", "count": "Events",
                "per_user": "Events per user",
            }.get(o.get("measure"), "Events") + (f" doing {o['event']}" if o.get("event", "*") != "*" else "")
        ) + f" per {every}" + (" vs the previous period" if o.get("compare") == "previous" else ""),
        "funnel": lambda: " → ".join(format_steps([s]) for s in o.get("steps") or [])
        + f" within {o.get('within_days', 14):g} days",
        "retention": lambda: f"Cohorts by first {event('start_event')}, back doing {event('return_event')}, "
        f"{o.get('periods', 8)} {every}s",
        "distribution": lambda: f"Events per unit: {event('event')}",
        "top_events": lambda: "Top events with lift",
        "stickiness": lambda: f"Days active per {'month' if spec.interval == 'month' else 'week'}: "
        f"{event('event')}",
        "lifecycle": lambda: f"Lifecycle per {every}: {event('event')}",
        "overlap": lambda: "Overlap",
        "distinguishes": lambda: "What sets it apart",
        "segment_size": lambda: f"Members at the end of each {every}",
    }[spec.kind]()  # fmt: skip
    unit = "users" if spec.unit == "user" else "accounts"
    if not spec.segments:
        who = f"everyone ({unit})"
    elif spec.vs_rest and len(spec.segments) == 1:
        who = f"{spec.segments[0]} vs the rest"
    else:
        who = ", ".join(spec.segments)
    if o.get("by") and spec.kind in BREAKDOWN_KINDS:
        what += f" by {o['by']}"
    if spec.last_days is not None:
        span = f"last {spec.last_days} days"
    else:
        span = f"{spec.date_from or '…'} to {spec.date_to or 'as-of'}"
    return " · ".join((what, who, span))


# -- saved charts ---------------------------------------------------------------


@dataclass(frozen=True)
class SavedChart:
    name: str
    kind: str
    created: str
    updated: str


def save_chart(conn: sqlite3.Connection, name: str, spec: ChartSpec, *, overwrite: bool = False) -> None:
    """Store ``spec`` under ``name`` (one transaction). An existing name needs ``overwrite``."""
    name = (name or "").strip()
    if not name:
        raise ChartError("a saved chart needs a name")
    now = utc_now_iso()
    exists = conn.execute("SELECT 1 FROM charts WHERE name = ?", (name,)).fetchone()
    if exists and not overwrite:
        raise ChartError(f"there is already a chart named “{name}”; choose another name or replace it")
    conn.execute("BEGIN IMMEDIATE")
    try:
        if exists:
            conn.execute(
                "UPDATE charts SET kind = ?, options = ?, updated = ? WHERE name = ?",
                (spec.kind, spec.to_json(), now, name),
            )
        else:
            conn.execute(
                "INSERT INTO charts(name, kind, options, created, updated) VALUES (?, ?, ?, ?, ?)",
                (name, spec.kind, spec.to_json(), now, now),
            )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def list_charts(conn: sqlite3.Connection) -> list[SavedChart]:
    rows = conn.execute("SELECT name, kind, created, updated FROM charts ORDER BY name COLLATE NOCASE")
    return [SavedChart(*row) for row in rows]


def load_chart(conn: sqlite3.Connection, name: str) -> ChartSpec:
    row = conn.execute("SELECT options FROM charts WHERE name = ?", (name,)).fetchone()
    if row is None:
        raise ChartError(f"there is no saved chart named “{name}”")
    return spec_from_json(row[0])


def delete_chart(conn: sqlite3.Connection, name: str) -> None:
    conn.execute("DELETE FROM charts WHERE name = ?", (name,))


def rename_chart(conn: sqlite3.Connection, old: str, new: str) -> None:
    new = (new or "").strip()
    if not new:
        raise ChartError("a saved chart needs a name")
    if conn.execute("SELECT 1 FROM charts WHERE name = ?", (new,)).fetchone():
        raise ChartError(f"there is already a chart named “{new}”")
    conn.execute("UPDATE charts SET name = ?, updated = ? WHERE name = ?", (new, utc_now_iso(), old))


# -- segments and series ----------------------------------------------------------


@dataclass(frozen=True)
class ResolvedSeries:
    """One series of a chart: its label, the analysis SeriesSpec and where it came from."""

    label: str
    level: str
    keys: tuple[int, ...] | None  # None: everyone at ``level``
    role: str  # "segment" | "everyone" | "rest"
    segment_id: int | None = None
    definition: Any = field(default=None, compare=False, repr=False)  # the SegmentDef, for segments
    group_keys: tuple[int, ...] | None = None  # drill-down into a breakdown group: its units

    def to_series_spec(self):
        from seglab.core.analyses.common import SeriesSpec

        return SeriesSpec(self.label, self.level, self.keys)  # type: ignore[arg-type]


def saved_segment_levels(conn: sqlite3.Connection) -> dict[str, tuple[int, str]]:
    """Saved segment name → (segment id, level), straight from the ``segments`` table."""
    return {
        name: (sid, level)
        for sid, name, level in conn.execute("SELECT segment_id, name, level FROM segments")
    }


def missing_segments(conn: sqlite3.Connection, spec: ChartSpec) -> list[str]:
    known = saved_segment_levels(conn)
    return [name for name in spec.segments if name not in known]


def rest_label(name: str) -> str:
    """The complement's label: one wording on the command line and in the app (docs/analyses.md)."""
    from seglab.core.analyses.membership import rest_label as label

    return label(name)


def _segment_keys(conn: sqlite3.Connection, name: str, as_of_ms: int) -> tuple[tuple[int, ...], Any]:
    """The members of saved segment ``name`` at ``as_of_ms`` and its definition."""
    from seglab.core.segments import get_saved, member_keys

    saved = get_saved(conn, name)
    keys = member_keys(conn, saved.definition, as_of_ms)
    return tuple(sorted(int(k) for k in keys)), saved.definition


def universe_keys(conn: sqlite3.Connection, level: str) -> tuple[int, ...]:
    """Every user, or every account (from an accounts file or some user's account), sorted."""
    from seglab.core.analyses.activity import universe_keys as keys_of
    from seglab.core.analyses.common import Engine

    return tuple(keys_of(Engine(conn), level).tolist())


def resolve_series(conn: sqlite3.Connection, spec: ChartSpec, as_of_ms: int) -> tuple[ResolvedSeries, ...]:
    """The chart's series, members evaluated once at ``as_of_ms``. A deleted segment raises."""
    known = saved_segment_levels(conn)
    missing = [n for n in spec.segments if n not in known]
    if missing:
        raise MissingSegmentError(missing)
    if not spec.segments:
        return (ResolvedSeries(EVERYONE_LABEL, spec.unit, None, "everyone"),)
    out: list[ResolvedSeries] = []
    for name in dict.fromkeys(spec.segments):
        sid, level = known[name]
        keys, definition = _segment_keys(conn, name, as_of_ms)
        out.append(ResolvedSeries(name, level, keys, "segment", sid, definition))
    levels = {s.level for s in out}
    if len(levels) > 1:
        raise ChartError("a chart compares segments of one level: all users or all accounts")
    if spec.vs_rest:
        first = out[0]
        inside = set(first.keys or ())
        rest = tuple(k for k in universe_keys(conn, first.level) if k not in inside)
        out = [first, ResolvedSeries(rest_label(first.label), first.level, rest, "rest")]
    return tuple(out)


# -- running a chart -------------------------------------------------------------------


def resolve_chart_as_of(conn: sqlite3.Connection, spec: ChartSpec) -> int | None:
    from seglab.core.project import resolve_as_of
    from seglab.core.timeutil import parse_as_of

    return resolve_as_of(conn, parse_as_of(spec.as_of) if spec.as_of else None)


def chart_dates(spec: ChartSpec, as_of_ms: int) -> tuple[dt.date | None, dt.date | None]:
    """The reporting range as the analyses take it (``date_from``, ``date_to``)."""
    if spec.last_days is not None:
        to = dt.date(1970, 1, 1) + dt.timedelta(days=int(as_of_ms) // DAY_MS)
        return to - dt.timedelta(days=max(1, int(spec.last_days)) - 1), to
    parse = lambda s: dt.date.fromisoformat(s) if s else None
    try:
        return parse(spec.date_from), parse(spec.date_to)
    except ValueError:
        raise ChartError(f"the chart's range {spec.date_from!r}..{spec.date_to!r} is not two dates") from None


_STEP_OPS = (
    ("!=", "neq"),
    (">=", "gte"),
    ("<=", "lte"),
    ("=", "eq"),
    (">", "gt"),
    ("<", "lt"),
    ("~", "contains"),
)


def parse_steps(text: str) -> list:
    """Funnel steps as typed: ``signup, purchase[amount>=100; platform=web], view``.

    A step is an event name, optionally with event-property filters in brackets
    (``=``, ``!=``, ``>``, ``>=``, ``<``, ``<=``, ``~`` for "contains"; ``;`` between
    filters). Plain steps stay strings; filtered ones become ``{"event", "where"}``.
    """
    steps: list = []
    depth, current = 0, ""
    for ch in text:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth = max(0, depth - 1)
        if ch == "," and depth == 0:
            steps.append(current)
            current = ""
        else:
            current += ch
    steps.append(current)
    out: list = []
    for raw in (x.strip() for x in steps):
        if not raw:
            continue
        if "[" not in raw:
            out.append(raw)
            continue
        event, _, rest = raw.partition("[")
        body = rest.rsplit("]", 1)[0]
        where = []
        for part in (p.strip() for p in body.split(";")):
            if not part:
                continue
            for symbol, op in _STEP_OPS:
                if symbol in part:
                    prop, _, value = part.partition(symbol)
                    where.append({"property": prop.strip(), "op": op, "value": value.strip().strip("'\"")})
                    break
            else:
                raise ChartError(f"funnel step “{raw}”: cannot read the filter “{part}” (e.g. amount>=100)")
        out.append({"event": event.strip(), "where": where} if where else event.strip())
    return out


def format_steps(steps) -> str:
    """The text :func:`parse_steps` reads back to ``steps``."""
    symbols = {op: symbol for symbol, op in _STEP_OPS}
    parts = []
    for step in steps or []:
        if isinstance(step, str):
            parts.append(step)
            continue
        filters = "; ".join(
            f"{w['property']}{symbols.get(w['op'], '=')}{w.get('value', '')}" for w in step["where"]
        )
        parts.append(f"{step['event']}[{filters}]" if filters else step["event"])
    return ", ".join(parts)


def _steps(spec: ChartSpec):
    from seglab.core.analyses.filters import PropertyFilter
    from seglab.core.analyses.funnel import FunnelStep

    steps = []
    for item in spec.option("steps") or []:
        if isinstance(item, str):
            steps.append(FunnelStep(item))
        else:
            where = tuple(
                PropertyFilter(w["property"], w["op"], w.get("value")) for w in item.get("where") or []
            )
            steps.append(FunnelStep(item["event"], where))
    return tuple(steps)


def build_request(spec: ChartSpec, series: tuple[ResolvedSeries, ...], as_of_ms: int):
    """The analysis request for ``spec``."""
    import seglab.core.analyses as A

    date_from, date_to = chart_dates(spec, as_of_ms)
    window = {"as_of_ms": as_of_ms, "date_from": date_from, "date_to": date_to}
    common = {"series": tuple(s.to_series_spec() for s in series), **window}
    kind = spec.kind
    if kind == "trend":
        return A.TrendRequest(
            event=spec.option("event", "*"),
            measure=spec.option("measure", "users"),
            interval=spec.interval,  # type: ignore[arg-type]
            of=spec.option("of") or None,
            by=_breakdown(spec),
            compare=spec.option("compare") or None,
            **common,
        )
    if kind == "funnel":
        steps = _steps(spec)
        if not steps:
            raise ChartError("add at least one step to the funnel (an event name per step)")
        return A.FunnelRequest(steps=steps, within_days=float(spec.option("within_days", 14)), **common)
    if kind == "retention":
        return A.RetentionRequest(
            start_event=spec.option("start_event", "*"),
            return_event=spec.option("return_event", "*"),
            interval=spec.interval,  # type: ignore[arg-type]
            periods=int(spec.option("periods", 8)),
            **common,
        )
    if kind == "distribution":
        return A.DistributionRequest(event=spec.option("event", "*"), **common)
    if kind == "top_events":
        return A.TopEventsRequest(limit=int(spec.option("limit", 15) or 0) or None, **common)
    if kind in ("stickiness", "lifecycle"):
        interval = "week" if kind == "stickiness" and spec.interval == "day" else spec.interval
        cls = A.StickinessRequest if kind == "stickiness" else A.LifecycleRequest
        return cls(event=spec.option("event", "*"), interval=interval, **common)
    if kind == "overlap":
        if not 2 <= len(series) <= 6 or any(s.keys is None for s in series):
            raise ChartError("an overlap chart compares 2 to 6 segments: tick them in the editor")
        return A.OverlapRequest(series=common["series"])
    if kind == "distinguishes":
        segs = [s for s in series if s.role == "segment"]
        if len(segs) != 1:
            raise ChartError("“What distinguishes” looks at one segment against the rest: tick exactly one")
        return A.DistinguishRequest(
            series=segs[0].to_series_spec(), limit=int(spec.option("limit", 15) or 0) or None, **window
        )
    if kind == "segment_size":
        segs = [s for s in series if s.role == "segment"]
        if not segs:
            raise ChartError("segment size over time needs at least one saved segment: tick some")
        return A.SizeOverTimeRequest(
            segments=tuple((s.label, s.definition) for s in segs),
            interval=spec.interval,
            vs_rest=spec.vs_rest and len(segs) == 1,
            by=_breakdown(spec),
            **window,
        )
    raise ChartError(f"{spec.title} charts are not available in this SegLab yet")


# Kinds a user or account property can break down, and the event whose doers rank the values.
BREAKDOWN_EVENT = {
    "funnel": lambda spec, request: request.steps[0],
    "retention": lambda spec, request: request.start_event,
    "stickiness": lambda spec, request: request.event,
    "lifecycle": lambda spec, request: request.event,
    "distribution": lambda spec, request: request.event,
}
BREAKDOWN_KINDS = ("trend", "segment_size", *BREAKDOWN_EVENT)


def _breakdown(spec: ChartSpec):
    """The chart's "Breakdown by" (``options["by"]``: ``ENTITY.PROPERTY``), or None."""
    text = spec.option("by")
    if not text or spec.kind not in BREAKDOWN_KINDS:
        return None
    from seglab.core.analyses.breakdown import parse_by

    return parse_by(str(text), int(spec.option("by_limit", 10) or 10))


def _run_kind(conn, spec: ChartSpec, request, progress: Progress) -> pd.DataFrame:
    import seglab.core.analyses as A

    by = _breakdown(spec)
    if by is not None and spec.kind in BREAKDOWN_EVENT:
        from seglab.core.analyses.breakdown import run_broken_down

        runner = {
            "funnel": A.run_funnel, "retention": A.run_retention, "stickiness": A.run_stickiness,
            "lifecycle": A.run_lifecycle, "distribution": A.run_distribution,
        }[spec.kind]  # fmt: skip
        frame = run_broken_down(
            conn, request, runner, by, BREAKDOWN_EVENT[spec.kind](spec, request), progress
        )
        if spec.kind == "distribution":
            stats = run_broken_down(
                conn, request, A.run_distribution_stats, by, request.event, progress, frame.attrs["groups"]
            )
            frame.attrs["stats"] = stats.to_dict("records")
        return frame

    runners = {
        "trend": A.run_trend,
        "funnel": A.run_funnel,
        "retention": A.run_retention,
        "distribution": A.run_distribution,
        "top_events": A.run_top_events,
        "stickiness": A.run_stickiness,
        "lifecycle": A.run_lifecycle,
        "overlap": A.run_overlap,
        "distinguishes": A.run_distinguish,
        "segment_size": A.run_size_over_time,
    }
    frame = runners[spec.kind](conn, request, progress)
    # Secondary tables some charts draw (markers, pairwise numbers), as plain records.
    if spec.kind == "distribution":
        frame.attrs["stats"] = A.run_distribution_stats(conn, request, progress).to_dict("records")
    if spec.kind == "overlap":
        frame.attrs["jaccard"] = A.run_jaccard(conn, request, progress).to_dict("records")
    return frame


def run_chart(conn: sqlite3.Connection, spec: ChartSpec, progress: Progress = NULL_PROGRESS) -> pd.DataFrame:
    """Run the analysis behind ``spec``; the DataFrame is the analysis's own, unchanged.

    ``frame.attrs`` carries what the chart needs besides the numbers: ``as_of_ms``,
    ``kind`` and ``series`` (``[(label, level, role, segment_id), ...]``); distribution
    adds ``stats`` (median, p90 ... per series) and overlap ``jaccard`` (pairs).
    """
    as_of_ms = resolve_chart_as_of(conn, spec)
    if as_of_ms is None:
        raise ChartError("the project has no events yet; import events to draw charts")
    series = resolve_series(conn, spec, as_of_ms)
    request = build_request(spec, series, as_of_ms)
    frame = _run_kind(conn, spec, request, progress)
    frame.attrs["as_of_ms"] = int(as_of_ms)
    frame.attrs["kind"] = spec.kind
    frame.attrs["series"] = [(s.label, s.level, s.role, s.segment_id) for s in series]
    return frame


def run_chart_file(path: Path, spec: ChartSpec, progress: Progress = NULL_PROGRESS) -> pd.DataFrame:
    """:func:`run_chart` on its own read-only connection (for a worker thread)."""
    from seglab.core.storage.connection import connect

    conn = connect(path, readonly=True)
    try:
        install_interrupt(conn, progress)
        return run_chart(conn, spec, progress)
    finally:
        conn.close()


# -- drill-down: the members of one slice -------------------------------------------------


@dataclass(frozen=True)
class SliceRequest:
    """One clicked slice: a point, a bar or a cell of a chart of ``spec``.

    ``where`` holds the slice's coordinates, by kind:

    * trend: ``segment``, ``period_start`` (ISO date);
    * funnel: ``segment``, ``step`` (1-based), ``mode`` ``"reached"`` (reached the
      step) or ``"dropped"`` (reached it and not the next);
    * retention: ``segment``, ``cohort_start`` (ISO date), ``period`` (or None: the
      whole cohort).
    """

    spec: ChartSpec
    where: tuple[tuple[str, Any], ...]
    as_of_ms: int | None = None

    def get(self, key: str, default: Any = None) -> Any:
        return dict(self.where).get(key, default)


@dataclass(frozen=True)
class SliceMembers:
    level: str
    keys: tuple[int, ...]
    title: str


def make_slice(spec: ChartSpec, as_of_ms: int | None = None, **where: Any) -> SliceRequest:
    return SliceRequest(spec, tuple(sorted(where.items())), as_of_ms)


def period_label(start: str, interval: str) -> str:
    """``2024-03-04`` as the analyst reads it: ``2024-W10``, ``2024-03``, or the date."""
    day = dt.date.fromisoformat(str(start)[:10])
    if interval == "week":
        iso = day.isocalendar()
        return f"{iso[0]}-W{iso[1]:02d}"
    if interval == "month":
        return day.strftime("%Y-%m")
    return day.isoformat()


def unit_word(level: str, n: int = 2) -> str:
    return ("user" if level == "user" else "account") + ("" if n == 1 else "s")


def slice_members(
    conn: sqlite3.Connection, req: SliceRequest, progress: Progress = NULL_PROGRESS
) -> SliceMembers:
    spec = req.spec
    as_of_ms = req.as_of_ms if req.as_of_ms is not None else resolve_chart_as_of(conn, spec)
    if as_of_ms is None:
        raise ChartError("the project has no events yet")
    resolved = resolve_series(conn, spec, as_of_ms)
    if spec.kind == "overlap":
        return _overlap_members(resolved, str(req.get("region")))
    series = {s.label: s for s in resolved}
    label = req.get("segment", EVERYONE_LABEL)
    if label not in series:
        raise ChartError(f"the chart has no series “{label}”")
    s = series[label]
    group = req.get("group")
    by = _breakdown(spec)
    if by is not None and group is not None and by.entity != "event":
        s = _in_group(conn, spec, s, by, str(group))
    date_from, date_to = chart_dates(spec, as_of_ms)
    from seglab.core.analyses.common import resolve_window

    window = resolve_window(as_of_ms, date_from, date_to)
    if spec.kind == "trend":
        return _trend_members(conn, spec, s, window, req)
    if spec.kind == "funnel":
        return _funnel_members(conn, spec, s, window, req, progress)
    if spec.kind == "retention":
        return _retention_members(conn, spec, s, window, req)
    if spec.kind == "top_events":
        return _event_doers(conn, s, window, str(req.get("event")))
    if spec.kind == "distribution":
        return _distribution_members(conn, spec, s, window, req)
    if spec.kind == "segment_size":
        return _size_members(conn, spec, s, window, req)
    if spec.kind == "lifecycle":
        return _lifecycle_members(conn, spec, s, window, req)
    if spec.kind == "stickiness":
        return _stickiness_members(conn, spec, s, window, req)
    if spec.kind == "distinguishes":
        return _distinguish_members(conn, s, window, req)
    raise ChartError(f"drill-down is not available for {spec.title} charts yet")


def _in_group(conn, spec: ChartSpec, s: ResolvedSeries, by, group: str) -> ResolvedSeries:
    """The series narrowed to its units in one breakdown group (the chart's own grouping)."""
    import numpy as np

    from seglab.core.analyses.breakdown import unit_values
    from seglab.core.analyses.common import Engine

    groups = _chart_groups(conn, spec)
    keys, labels = unit_values(Engine(conn), s.level, by)
    chosen = keys[np.array([groups.of(x) == group for x in labels], dtype=bool)] if keys.size else keys
    in_group = tuple(int(k) for k in chosen)
    if s.keys is not None:
        chosen = chosen[np.isin(chosen, np.asarray(s.keys, dtype=np.int64))]
    return replace(s, label=f"{s.label} · {group}", keys=tuple(int(k) for k in chosen), group_keys=in_group)


def slice_members_file(path: Path, req: SliceRequest, progress: Progress = NULL_PROGRESS) -> SliceMembers:
    from seglab.core.storage.connection import connect

    conn = connect(path, readonly=True)
    try:
        install_interrupt(conn, progress)
        return slice_members(conn, req, progress)
    finally:
        conn.close()


def _series_filter(series: ResolvedSeries, user_col: str) -> tuple[str, list]:
    """SQL restricting ``user_col`` rows to the series (accounts through users.account_key)."""
    if series.keys is None:
        if series.level == "account":
            return f" AND {user_col} IN (SELECT user_key FROM users WHERE account_key IS NOT NULL)", []
        return "", []
    keys = json.dumps([int(k) for k in series.keys])
    if series.level == "user":
        return f" AND {user_col} IN (SELECT value FROM json_each(?))", [keys]
    return (
        f" AND {user_col} IN (SELECT user_key FROM users"
        " WHERE account_key IN (SELECT value FROM json_each(?)))",
        [keys],
    )


class _Reader:
    """``conn.execute`` for drill-down SQL, reading only the events ``event`` selects: filters go
    through the analyses' engine (the segments' operator table), as the chart's numbers do."""

    def __init__(self, conn, event, as_of_ms: int | None):
        from seglab.core.analyses.common import Engine

        self.engine = Engine(conn).for_event(event, as_of_ms)
        self.event = event

    def execute(self, sql: str, params=()):
        return self.engine.rows(sql, list(params))

    def clause(self, col: str = "d.event_key") -> tuple[str, list, bool]:
        from seglab.core.analyses.common import event_clause

        return event_clause(self.engine, self.event, col)


def _event_text(event) -> str:
    from seglab.core.analyses.filters import selector_of

    return selector_of(event).text


def _to_units(conn: sqlite3.Connection, level: str, user_keys) -> tuple[int, ...]:
    users = sorted({int(k) for k in user_keys})
    if level == "user" or not users:
        return tuple(users)
    rows = conn.execute(
        "SELECT DISTINCT account_key FROM users WHERE account_key IS NOT NULL AND user_key IN "
        "(SELECT value FROM json_each(?))",
        (json.dumps(users),),
    )
    return tuple(sorted(int(r[0]) for r in rows))


def _bucket_bounds(start_iso: str, interval: str) -> tuple[int, int]:
    from seglab.core.analyses.common import date_to_day, next_bucket

    start = dt.date.fromisoformat(str(start_iso)[:10])
    return date_to_day(start), date_to_day(next_bucket(start, interval)) - 1  # type: ignore[arg-type]


def _trend_members(conn, spec: ChartSpec, s: ResolvedSeries, window, req: SliceRequest) -> SliceMembers:
    """The units behind one trend point: those with a matching event in the interval (by an event
    property, with an event of the point's value)."""
    from seglab.core.analyses.breakdown import label_of

    start = str(req.get("period_start"))
    first_day, last_day = _bucket_bounds(start, spec.interval)
    lo = max(first_day * DAY_MS, window.start_ms)
    hi = min((last_day + 1) * DAY_MS - 1, window.end_ms)
    event = spec.option("event", "*")
    reader = _Reader(conn, event, window.as_of_ms)
    ev_sql, ev_params, _ = reader.clause("e.event_key")
    unit_sql, unit_params = _series_filter(s, "e.user_key")
    by = _breakdown(spec)
    group = req.get("group")
    by_event = by is not None and by.entity == "event" and group is not None
    gcol = ""
    if by_event:
        from seglab.core.analyses.breakdown import property_info

        prop = property_info(reader.engine, by)
        gcol = f", e.{prop.column}"
    rows = reader.execute(
        f"SELECT e.user_key{gcol} FROM events e WHERE e.ts BETWEEN ? AND ?{ev_sql}{unit_sql}",
        [lo, hi, *ev_params, *unit_params],
    )
    if by_event:
        groups = _chart_groups(conn, spec)
        rows = [r for r in rows if groups.of(label_of(r[1], prop.type)) == group]
    measure = spec.option("measure")
    level = "account" if measure == "accounts" else s.level
    keys = _to_units(conn, level, (r[0] for r in rows))
    if s.keys is not None and level == s.level:
        inside = set(s.keys)
        keys = tuple(k for k in keys if k in inside)
    what = "any event" if event == "*" else _event_text(event)
    if by_event:
        what += f" with {by.property} {group}"
    title = f"{s.label}: {unit_word(level)} who did {what} in {period_label(start, spec.interval)}"
    return SliceMembers(level, keys, title)


def _chart_groups(conn, spec: ChartSpec):
    """The values a broken-down chart keeps, decided as the chart decides them (by running it)."""
    return run_chart(conn, spec).attrs["groups"]


def _stickiness_members(conn, spec: ChartSpec, s: ResolvedSeries, window, req: SliceRequest) -> SliceMembers:
    """The units active on exactly the bar's number of days in its interval (inside the range), or,
    without ``period_start`` (the chart's bar sums every period), in some interval of the range."""
    from seglab.core.analyses.common import buckets_for, date_to_day, next_bucket

    interval = "week" if spec.interval == "day" else spec.interval
    days = int(req.get("days"))
    last_day = min(window.to_day, window.as_of_ms // DAY_MS)
    one = req.get("period_start") is not None
    if one:
        starts = [dt.date.fromisoformat(str(req.get("period_start"))[:10])]
    else:
        starts = buckets_for(window.from_day, window.to_day, interval).starts  # type: ignore[arg-type]
    reader = _Reader(conn, spec.option("event", "*"), window.as_of_ms)
    ev_sql, ev_params, _ = reader.clause()
    unit_sql, unit_params = _series_filter(s, "d.user_key")
    unit_expr = "d.user_key" if s.level == "user" else "u.account_key"
    join = " JOIN users u ON u.user_key = d.user_key" if s.level == "account" else ""
    inside = set(s.keys) if s.keys is not None else None
    found: set[int] = set()
    for start in starts:
        lo = max(date_to_day(start), window.from_day)
        hi = min(date_to_day(next_bucket(start, interval)) - 1, last_day)  # type: ignore[arg-type]
        if hi < lo:
            continue
        rows = reader.execute(
            f"SELECT {unit_expr}, COUNT(DISTINCT d.day) FROM user_days d{join} WHERE d.day BETWEEN ? AND ?"
            f" AND d.first_ts <= ?{ev_sql}{unit_sql} GROUP BY {unit_expr}",
            [lo, hi, window.as_of_ms, *ev_params, *unit_params],
        )
        found |= {int(u) for u, n in rows if u is not None and n == days and (inside is None or u in inside)}
    word = "day" if days == 1 else "days"
    where = (
        f"in {period_label(starts[0].isoformat(), interval)}" if one else f"in some {interval} of the range"
    )
    title = f"{s.label}: {unit_word(s.level)} active {days} {word} {where}"
    return SliceMembers(s.level, tuple(sorted(found)), title)


def _retention_members(conn, spec: ChartSpec, s: ResolvedSeries, window, req: SliceRequest) -> SliceMembers:
    from seglab.core.analyses.common import buckets_for, date_to_day

    start_event = spec.option("start_event", "*")
    return_event = spec.option("return_event", "*")
    cohort = dt.date.fromisoformat(str(req.get("cohort_start"))[:10])
    period = req.get("period")
    periods = int(spec.option("periods", 8))
    unit_sql, unit_params = _series_filter(s, "d.user_key")
    unit_expr = "d.user_key" if s.level == "user" else "u.account_key"
    join = " JOIN users u ON u.user_key = d.user_key" if s.level == "account" else ""

    start_reader = _Reader(conn, start_event, window.as_of_ms)
    ev_sql, ev_params, _ = start_reader.clause()
    first_rows = start_reader.execute(
        f"SELECT {unit_expr}, MIN(d.day) FROM user_days d{join} WHERE d.day BETWEEN ? AND ? "
        f"AND d.first_ts <= ?{ev_sql}{unit_sql} GROUP BY {unit_expr}",
        [window.from_day, window.to_day, window.as_of_ms, *ev_params, *unit_params],
    )
    buckets = buckets_for(window.from_day, window.to_day, spec.interval, extra=periods)  # type: ignore[arg-type]
    cohort_index = buckets.index_of_day(date_to_day(cohort))
    members = sorted(
        int(u) for u, day in first_rows if u is not None and buckets.index_of_day(day) == cohort_index
    )
    label = period_label(cohort.isoformat(), spec.interval)
    if period is None:
        return SliceMembers(s.level, tuple(members), f"{s.label}: {unit_word(s.level)} of cohort {label}")
    period = int(period)
    target = cohort_index + period
    if target >= len(buckets.start_days):
        return SliceMembers(s.level, (), "")
    lo = buckets.start_days[target]
    hi = (
        buckets.start_days[target + 1] - 1
        if target + 1 < len(buckets.start_days)
        else buckets.end_day_exclusive - 1
    )
    return_reader = _Reader(conn, return_event, window.as_of_ms)
    ev_sql, ev_params, _ = return_reader.clause()
    ret_rows = return_reader.execute(
        f"SELECT DISTINCT {unit_expr} FROM user_days d{join} WHERE d.day BETWEEN ? AND ? "
        f"AND d.first_ts <= ?{ev_sql}{unit_sql}",
        [lo, hi, window.as_of_ms, *ev_params, *unit_params],
    )
    returned = {int(r[0]) for r in ret_rows if r[0] is not None}
    keys = tuple(k for k in members if k in returned)
    word = {"day": "day", "week": "week", "month": "month"}[spec.interval]
    title = f"{s.label}: {unit_word(s.level)} of cohort {label} retained in {word} {period}"
    return SliceMembers(s.level, keys, title)


def _funnel_members(
    conn, spec: ChartSpec, s: ResolvedSeries, window, req: SliceRequest, progress
) -> SliceMembers:
    from seglab.core.analyses.common import Engine, unit_filter
    from seglab.core.analyses.filters import compile_filters

    steps = _steps(spec)
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


def _event_doers(conn, s: ResolvedSeries, window, event: str) -> SliceMembers:
    reader = _Reader(conn, event, window.as_of_ms)
    ev_sql, ev_params, _ = reader.clause()
    unit_sql, unit_params = _series_filter(s, "d.user_key")
    rows = reader.execute(
        f"SELECT DISTINCT d.user_key FROM user_days d WHERE d.day BETWEEN ? AND ? AND d.first_ts <= ?"
        f"{ev_sql}{unit_sql}",
        [window.from_day, window.to_day, window.as_of_ms, *ev_params, *unit_params],
    )
    keys = _to_units(conn, s.level, (r[0] for r in rows))
    if s.keys is not None:
        inside = set(s.keys)
        keys = tuple(k for k in keys if k in inside)
    return SliceMembers(s.level, keys, f"{s.label}: {unit_word(s.level)} who did {event}")


def _distribution_members(
    conn, spec: ChartSpec, s: ResolvedSeries, window, req: SliceRequest
) -> SliceMembers:
    low, high = int(req.get("bin_low")), int(req.get("bin_high"))
    event = spec.option("event", "*")
    reader = _Reader(conn, event, window.as_of_ms)
    ev_sql, ev_params, _ = reader.clause("e.event_key")
    unit_sql, unit_params = _series_filter(s, "e.user_key")
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
    what = "events" if event == "*" else f"{_event_text(event)} events"
    span = f"{low}" if low == high else f"{low}–{high}"
    return SliceMembers(s.level, keys, f"{s.label}: {unit_word(s.level)} with {span} {what}")


def _size_members(conn, spec: ChartSpec, s: ResolvedSeries, window, req: SliceRequest) -> SliceMembers:
    """A saved segment's members as they were at the end of the clicked interval (as the size chart)."""
    from seglab.core.analyses.common import buckets_for, date_to_day
    from seglab.core.segments import member_keys

    start = str(req.get("period_start"))
    buckets = buckets_for(window.from_day, window.to_day, spec.interval)  # type: ignore[arg-type]
    b = buckets.index_of_day(date_to_day(dt.date.fromisoformat(start[:10])))
    at = min(buckets.last_ms(b), window.as_of_ms)
    if s.role == "rest":  # the complement of the chart's one segment at that time
        segment = next(x for x in resolve_series(conn, spec, window.as_of_ms) if x.role == "segment")
        inside = {int(k) for k in member_keys(conn, segment.definition, at)}
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


def _lifecycle_members(conn, spec: ChartSpec, s: ResolvedSeries, window, req: SliceRequest) -> SliceMembers:
    """The units with one lifecycle status in one interval (docs/analyses.md, lifecycle)."""
    from seglab.core.analyses.common import bucket_start, date_to_day, next_bucket

    interval = spec.interval
    status = str(req.get("status"))
    start = dt.date.fromisoformat(str(req.get("period_start"))[:10])
    prev = bucket_start(start - dt.timedelta(days=1), interval)  # type: ignore[arg-type]
    last_day = min(window.to_day, window.as_of_ms // DAY_MS)
    now_lo, now_hi = date_to_day(start), min(date_to_day(next_bucket(start, interval)) - 1, last_day)  # type: ignore[arg-type]
    before_lo, before_hi = date_to_day(prev), date_to_day(start) - 1
    reader = _Reader(conn, spec.option("event", "*"), window.as_of_ms)
    ev_sql, ev_params, _ = reader.clause()
    unit_sql, unit_params = _series_filter(s, "d.user_key")
    unit_expr = "d.user_key" if s.level == "user" else "u.account_key"
    join = " JOIN users u ON u.user_key = d.user_key" if s.level == "account" else ""

    def active(lo: int, hi: int) -> set[int]:
        if hi < lo:
            return set()
        rows = reader.execute(
            f"SELECT DISTINCT {unit_expr} FROM user_days d{join} WHERE d.day BETWEEN ? AND ? "
            f"AND d.first_ts <= ?{ev_sql}{unit_sql}",
            [lo, hi, window.as_of_ms, *ev_params, *unit_params],
        )
        return {int(r[0]) for r in rows if r[0] is not None}

    now, before = active(now_lo, now_hi), active(before_lo, before_hi)
    first = reader.execute(
        f"SELECT {unit_expr}, MIN(d.day) FROM user_days d{join} WHERE d.first_ts <= ?{ev_sql}{unit_sql}"
        f" GROUP BY {unit_expr}",
        [window.as_of_ms, *ev_params, *unit_params],
    )
    new = {int(u) for u, day in first if u is not None and now_lo <= day <= now_hi} & now
    groups = {
        "new": new,
        "returning": (now & before) - new,
        "resurrecting": now - before - new,
        "dormant": before - now,
    }
    if status not in groups:
        raise ChartError(f"unknown lifecycle status {status!r}")
    keys = groups[status]
    if s.keys is not None:
        keys &= set(s.keys)
    label = period_label(start.isoformat(), interval)
    return SliceMembers(s.level, tuple(sorted(keys)), f"{s.label}: {status} {unit_word(s.level)} in {label}")


def _distinguish_members(conn, s: ResolvedSeries, window, req: SliceRequest) -> SliceMembers:
    """The segment's units behind one row of "what distinguishes": those with the value, or the event."""
    import re

    from seglab.core.project import load_properties

    kind, name, value = str(req.get("kind")), str(req.get("name")), req.get("value")
    inside = set(s.keys or ())
    if kind == "event":
        got = _event_doers(conn, s, window, name)
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


def _overlap_members(series: tuple[ResolvedSeries, ...], region: str) -> SliceMembers:
    from seglab.core.analyses.overlap import REGION_SEPARATOR

    names = region.split(REGION_SEPARATOR)
    sets = {s.label: set(s.keys or ()) for s in series}
    if any(n not in sets for n in names):
        raise ChartError(f"the overlap has no region “{region}”")
    keys = set.intersection(*(sets[n] for n in names))
    for other, members in sets.items():
        if other not in names:
            keys -= members
    level = series[0].level if series else "user"
    only = "only " if len(names) < len(sets) else ""
    title = f"{unit_word(level).capitalize()} in {only}{' and '.join(names)}"
    return SliceMembers(level, tuple(sorted(keys)), title)


def furthest_steps(rows, n_steps: int, last_start_ms: int, window_ms: int) -> dict[int, int]:
    """Unit → the furthest funnel step reached (1..n), exactly as the funnel analysis counts it.

    ``rows`` are ``(unit, ts, mask)`` with bit j of ``mask`` set when the row qualifies
    as step j+1 (see :func:`seglab.core.analyses.funnel.funnel_progress`).
    """
    from seglab.core.analyses.funnel import funnel_progress

    arr = np.asarray(rows, dtype=np.int64).reshape(-1, 3)
    progress = funnel_progress(arr[:, 0], arr[:, 1], arr[:, 2], n_steps, last_start_ms, window_ms)
    if progress is None:
        return {}
    return {int(u): int(b) for u, b in zip(progress.units, progress.best)}


# -- what the editor offers -----------------------------------------------------------


@dataclass(frozen=True)
class ChartCatalog:
    """What the chart editor lists: event names (most frequent first), saved segments, saved charts."""

    events: tuple[str, ...] = ()
    segments: tuple[tuple[str, str, int], ...] = ()  # (name, level, segment_id)
    charts: tuple[SavedChart, ...] = ()
    as_of_ms: int | None = None
    properties: tuple[tuple[str, str, str], ...] = ()  # (entity, name, type): "Breakdown by", "of"

    def breakdown_choices(self, kind: str) -> list[str]:
        """``ENTITY.PROPERTY`` a chart of ``kind`` can be broken down by (event ones: trends only)."""
        if kind not in BREAKDOWN_KINDS:
            return []
        entities = ("user", "account", "event") if kind == "trend" else ("user", "account")
        return [f"{e}.{n}" for e, n, _t in self.properties if e in entities]

    def numeric_event_properties(self) -> list[str]:
        return [n for e, n, t in self.properties if e == "event" and t in ("integer", "real")]


def chart_catalog(conn: sqlite3.Connection) -> ChartCatalog:
    from seglab.core.project import event_name_counts, load_properties, resolve_as_of

    segments = tuple(
        (name, level, int(sid))
        for sid, name, level in conn.execute("SELECT segment_id, name, level FROM segments ORDER BY name")
    )
    return ChartCatalog(
        events=tuple(name for name, _n in event_name_counts(conn)),
        segments=segments,
        charts=tuple(list_charts(conn)),
        as_of_ms=resolve_as_of(conn),
        properties=tuple((p.entity, p.name, p.type) for p in load_properties(conn)),
    )


def chart_catalog_file(path: Path, _request: Any = None, progress: Progress = NULL_PROGRESS) -> ChartCatalog:
    from seglab.core.storage.connection import connect

    conn = connect(path, readonly=True)
    try:
        return chart_catalog(conn)
    finally:
        conn.close()


# -- CSV export -----------------------------------------------------------------------

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy whose text cells cannot be read as formulas by a spreadsheet (OWASP CSV injection).

    A text cell starting with ``= + - @``, tab or carriage return gets a leading
    apostrophe; numbers, booleans and empty cells are left exactly as they are.
    """
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(
                lambda v: "'" + v if isinstance(v, str) and v.startswith(_FORMULA_START) else v
            )
    return out


def write_chart_csv(frame: pd.DataFrame, path: str | Path) -> int:
    """Write the data behind a chart (its contract columns) safely; return the row count."""
    csv_safe_frame(frame).to_csv(path, index=False)
    return len(frame)
