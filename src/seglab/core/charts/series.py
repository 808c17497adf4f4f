"""A chart's series (its segments, everyone, the rest), its as-of time and reporting range."""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from seglab.core.charts.errors import ChartError, MissingSegmentError
from seglab.core.timeutil import DAY_MS

if TYPE_CHECKING:
    from seglab.core.charts.spec import ChartSpec

EVERYONE_LABEL = "everyone"


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

        return SeriesSpec(self.label, self.level, self.keys)


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


def segment_keys(conn: sqlite3.Connection, name: str, as_of_ms: int) -> tuple[tuple[int, ...], Any]:
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
        keys, definition = segment_keys(conn, name, as_of_ms)
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
