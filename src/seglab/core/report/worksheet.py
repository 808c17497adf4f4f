"""Gather the worksheet's numbers from a project: plain data, no HTML.

Every number comes from the same core functions the app and the command line use
(``seglab.core.segments`` for membership, ``seglab.core.analyses`` for trend, funnel,
retention ...), evaluated once at one as-of time, so the worksheet agrees with the
screen and with ``seglab analyze``.

The reporting range is the :data:`RANGE_WEEKS` calendar weeks (Monday to Sunday,
UTC) up to the as-of time: whole weeks make weekly charts comparable; the last week
is partial unless as-of falls at the very end of a Sunday.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd

from seglab._version import __version__
from seglab.core.errors import UserError
from seglab.core.palette import PALETTE, color_of_saved
from seglab.core.progress import NULL_PROGRESS, Progress, check_cancelled
from seglab.core.project import project_info, resolve_as_of
from seglab.core.report.distinguish import Trait
from seglab.core.report.keyfunnel import KeyFunnel, choose_key_funnel
from seglab.core.timeutil import DAY_MS, ms_to_iso, utc_now_iso, week_start

RANGE_WEEKS = 13
RETENTION_PERIODS = 8
TOP_ITEMS = 8
MAX_MATRIX = 8  # segments of one level shown as an overlap matrix; more are listed as pairs
MAX_PAIRS = 20
EMPTY_NOTES = {
    "distinctions": "no property value or event is clearly more common in this segment than in the rest",
    "funnel": "no key funnel: the project has no events in the reporting range",
}
SEGMENT_LABEL = "segment"  # series labels inside the analyses (data-free, so never colliding)
REST_LABEL = "rest"


# -- the data the template renders ---------------------------------------------------------------


@dataclass
class Header:
    project: str
    version: str
    generated: str
    as_of: str | None
    as_of_source: str  # 'given' | 'pinned' | 'latest event'
    first_event: str | None
    last_event: str | None
    range_from: str | None
    range_to: str | None
    counts: dict[str, int]
    segments_given: bool
    command: str


@dataclass
class SeriesPoints:
    x: list[str]
    segment: list[float | None]
    rest: list[float | None]
    partial_from: int | None = None


@dataclass
class FunnelData:
    steps: list[str]
    reason: str
    within_days: float
    table: list[dict[str, Any]]  # one row per step: event, seg/rest entered, rates, median seconds


@dataclass
class RetentionData:
    periods: list[int]
    segment_curve: list[float | None]  # average rate per period over complete cohorts (weighted)
    rest_curve: list[float | None]
    cohorts: list[dict[str, Any]]  # the segment's cohorts: start, size, rates (None = not complete)


@dataclass
class BreakdownData:
    """The segment and the rest by one account property: ``rows`` = (value, in segment, share, rest share)."""

    property: str
    unit: str
    rows: list[tuple[str, int, float, float]]


@dataclass
class SegmentSection:
    anchor: str
    name: str
    level: str
    description: str
    definition_json: str
    size: int
    universe: int
    share: float
    rest_size: int
    size_over_time: SeriesPoints | None = None
    activity: SeriesPoints | None = None
    funnel: FunnelData | None = None
    retention: RetentionData | None = None
    distinctions: list[Trait] = field(default_factory=list)
    breakdown: BreakdownData | None = None
    notes: dict[str, str] = field(default_factory=dict)  # section → why it is missing
    colour: str = PALETTE[0]  # the segment's colour in the app (the rest is grey)


@dataclass
class OverlapMatrix:
    level: str
    names: list[str]
    sizes: list[int]
    cells: list[list[int]]  # cells[i][j] = |A_i ∩ A_j|

    @property
    def as_matrix(self) -> bool:
        """A matrix reads well up to :data:`MAX_MATRIX` segments; beyond, the largest pairs are listed."""
        return len(self.names) <= MAX_MATRIX

    def top_pairs(self, limit: int = MAX_PAIRS) -> list[dict[str, Any]]:
        """Pairs of segments by how many members they share (most first), with each side's share."""
        pairs: list[dict[str, Any]] = []
        for i in range(len(self.names)):
            for j in range(i + 1, len(self.names)):
                both = self.cells[i][j]
                pairs.append({
                    "a": self.names[i], "b": self.names[j], "both": both,
                    "share_a": both / self.sizes[i] if self.sizes[i] else 0.0,
                    "share_b": both / self.sizes[j] if self.sizes[j] else 0.0,
                })  # fmt: skip
        pairs.sort(key=lambda p: (-p["both"], p["a"], p["b"]))
        return pairs[:limit]


@dataclass
class Worksheet:
    header: Header
    sections: list[SegmentSection]
    overlaps: list[OverlapMatrix]
    key_funnel: KeyFunnel | None
    notes: list[str] = field(default_factory=list)


# -- the segments API, behind one small seam -----------------------------------------------------


class _SegmentsAPI:
    """The few calls the worksheet makes into ``seglab.core.segments`` (one seam to adapt)."""

    @staticmethod
    def names(conn: sqlite3.Connection) -> list[str]:
        from seglab.core.segments import list_saved

        return [s.name for s in list_saved(conn)]

    @staticmethod
    def get(conn: sqlite3.Connection, name: str):
        from seglab.core.segments import get_saved

        return get_saved(conn, name)

    @staticmethod
    def members(conn: sqlite3.Connection, saved, as_of_ms: int) -> set[int]:
        from seglab.core.segments import member_keys

        return {int(k) for k in member_keys(conn, saved.definition, as_of_ms)}

    @staticmethod
    def describe(saved) -> str:
        from seglab.core.segments import describe

        return str(describe(saved.definition))

    @staticmethod
    def definition_json(saved) -> str:
        from seglab.core.segments import dump_definition

        return compact_json(dump_definition(saved.definition))


def compact_json(value, indent: int = 0, width: int = 88) -> str:
    """JSON indented by two spaces, but any object or list that fits on one line stays on one line."""
    flat = json.dumps(value, ensure_ascii=False)
    if len(flat) + indent <= width or not isinstance(value, (dict, list)) or not value:
        return flat
    pad = " " * (indent + 2)
    if isinstance(value, dict):
        items = [
            f"{pad}{json.dumps(k, ensure_ascii=False)}: {compact_json(v, indent + 2, width).lstrip()}"
            for k, v in value.items()
        ]
        return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"
    items = [pad + compact_json(v, indent + 2, width) for v in value]
    return "[\n" + ",\n".join(items) + "\n" + " " * indent + "]"


SEGMENTS = _SegmentsAPI()


def saved_segment_names(conn: sqlite3.Connection) -> list[str]:
    """Names of the saved segments, in the order the segment list shows them (by name)."""
    return SEGMENTS.names(conn)


def _anchor(i: int) -> str:
    return f"segment-{i + 1}"


# -- gathering ---------------------------------------------------------------------------------


def report_range(as_of_ms: int) -> tuple[dt.date, dt.date]:
    """The :data:`RANGE_WEEKS` calendar weeks up to as-of: (first Monday, as-of day)."""
    as_of_day = dt.date(1970, 1, 1) + dt.timedelta(days=as_of_ms // DAY_MS)
    first = week_start(as_of_day) - dt.timedelta(weeks=RANGE_WEEKS - 1)
    return first, as_of_day


def _project_file(conn: sqlite3.Connection) -> str:
    """The project's file name (no folder), as the reproduce command names it."""
    for _seq, name, file in conn.execute("PRAGMA database_list"):
        if name == "main" and file:
            from pathlib import Path

            return Path(file).name
    return "PROJECT.seglab"


def _project_name(conn: sqlite3.Connection) -> str:
    file = _project_file(conn)
    return file[: -len(".seglab")] if file.endswith(".seglab") else file


def gather(
    conn: sqlite3.Connection,
    segments: list[str] | None,
    as_of_ms: int | None = None,
    progress: Progress = NULL_PROGRESS,
    project_name: str | None = None,
) -> Worksheet:
    """The worksheet's numbers; on a connected project (docs/sources.md) every analysis runs in
    its source (:class:`_Connected`), the same numbers as the local project of the same rows."""
    from seglab.core.engines.base import source_of

    source = source_of(conn)
    if source is None:
        return _gather(conn, _Local(conn), segments, as_of_ms, progress, project_name)
    from seglab.core.engines.clickhouse import ClickHouseEngine

    with ClickHouseEngine.open(conn, source) as engine, engine.watching(progress):
        return _gather(conn, _Connected(engine), segments, as_of_ms, progress, project_name)


class _Local:
    """A local project's numbers: the analyses on its SQLite tables."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def info(self) -> dict:
        return project_info(self.conn)

    def as_of(self, as_of_ms: int | None) -> int | None:
        return resolve_as_of(self.conn, as_of_ms)

    def key_funnel(self, from_day: int, to_day: int, as_of_ms: int, chosen) -> KeyFunnel | None:
        return choose_key_funnel(self.conn, from_day, to_day, as_of_ms, chosen)

    def members(self, seg, as_of_ms: int | None):
        """(the members, their number, the rest's number, the analysis series: segment, rest)."""
        keys = SEGMENTS.members(self.conn, seg, as_of_ms) if as_of_ms is not None else set()
        series = _series(self.conn, seg.level, keys)
        return keys, len(keys), len(series[1].keys), series

    def run(self, kind: str, request):
        from seglab.core import analyses

        runner: Any = {
            "segment_size": analyses.run_size_over_time,
            "trend": analyses.run_trend,
            "funnel": analyses.run_funnel,
            "retention": analyses.run_retention,
            "distinguishes": analyses.run_distinguish,
        }[kind]
        return runner(self.conn, request)

    def breakdown(self, series) -> BreakdownData | None:
        return _breakdown(self.conn, series)

    def overlaps(self, members: dict) -> list[OverlapMatrix]:
        return _overlaps({n: (level, keys) for n, (level, keys, _seg) in members.items()})


class _Connected:
    """A connected project's numbers: each analysis through the one entry point of the charts and
    the command line (``engines.analyses.run_analysis``), the segments subqueries."""

    def __init__(self, engine):
        self.engine = engine
        self._universe: dict[str, int] = {}
        self._as_of: int | None = None

    def info(self) -> dict:
        return self.engine.info()

    def as_of(self, as_of_ms: int | None) -> int | None:
        self._as_of = self.engine.as_of(as_of_ms)
        return self._as_of

    def key_funnel(self, from_day: int, to_day: int, as_of_ms: int, chosen) -> KeyFunnel | None:
        from seglab.core.report.keyfunnel import choose_key_funnel_in_source

        return choose_key_funnel_in_source(self.engine, from_day, to_day, as_of_ms, chosen)

    def members(self, seg, as_of_ms: int | None):
        from seglab.core.engines.clickhouse import SourceSeries
        from seglab.core.segments.model import load_definition

        level = seg.level
        if level not in self._universe:
            everyone = load_definition({"level": level, "conditions": []})
            self._universe[level] = self.engine.count(everyone, as_of_ms)
        size = self.engine.count(seg.definition, as_of_ms) if as_of_ms is not None else 0
        series = (
            SourceSeries(SEGMENT_LABEL, level, seg.definition),
            SourceSeries(REST_LABEL, level, seg.definition, rest=True),
        )
        return None, size, self._universe[level] - size, series

    def run(self, kind: str, request):
        from seglab.core.engines.analyses import run_analysis

        return run_analysis(self.engine, kind, request)

    def breakdown(self, series) -> BreakdownData | None:
        from seglab.core.engines.clickhouse import report_breakdown

        found = report_breakdown(self.engine, series, BREAKDOWN_MAX_VALUES, self._as_of)
        if found is None:
            return None
        name, mine, theirs = found
        return _breakdown_rows(name, series[0].level, mine, theirs)

    def overlaps(self, members: dict) -> list[OverlapMatrix]:
        from seglab.core.engines.clickhouse import intersection_counts

        out = []
        for level in ("user", "account"):
            names = [n for n, (lvl, _k, _s) in members.items() if lvl == level]
            if len(names) < 2:
                continue
            cells = intersection_counts(self.engine, [members[n][2].definition for n in names], self._as_of)
            out.append(OverlapMatrix(level, names, [cells[i][i] for i in range(len(names))], cells))
        return out


def _gather(conn, backend, segments, as_of_ms, progress, project_name) -> Worksheet:
    info = backend.info()
    saved = saved_segment_names(conn)
    if segments:
        chosen = list(dict.fromkeys(segments))
        missing = [n for n in chosen if n not in saved]
        if missing:
            known = ", ".join(repr(n) for n in saved) or "none"
            raise UserError(f"no saved segment named {missing[0]!r} (saved segments: {known})")
    else:
        chosen = saved
    resolved = backend.as_of(as_of_ms)
    if as_of_ms is not None:
        source = "given"
    elif info.get("as_of_pinned"):
        source = "pinned"
    else:
        source = "latest event"
    name = project_name or _project_name(conn)
    rng = report_range(resolved) if resolved is not None else None
    header = Header(
        project=name,
        version=__version__,
        generated=utc_now_iso(),
        as_of=ms_to_iso(resolved),
        as_of_source=source,
        first_event=info["first_event"],
        last_event=info["last_event"],
        range_from=rng[0].isoformat() if rng else None,
        range_to=rng[1].isoformat() if rng else None,
        counts={k: int(info[k]) for k in ("events", "users", "accounts", "event_names")},
        segments_given=bool(segments),
        command=_command(_project_file(conn), chosen if segments else [], ms_to_iso(resolved)),
    )
    worksheet = Worksheet(header, [], [], None)
    if resolved is None:
        worksheet.notes.append("The project has no events yet, so there is nothing to chart.")
    if not chosen:
        worksheet.notes.append(
            "The project has no saved segments. Save a segment in the app or with "
            "the command seglab segment save, then make the worksheet again."
        )
    key = None
    if rng is not None and resolved is not None:
        key = backend.key_funnel(_day(rng[0]), _day(rng[1]), resolved, chosen)
    worksheet.key_funnel = key
    members: dict[str, tuple] = {}
    total = max(len(chosen), 1)
    for i, seg_name in enumerate(chosen):
        check_cancelled(progress)
        progress.report(i, total, f"worksheet: {seg_name}")
        try:
            seg = SEGMENTS.get(conn, seg_name)
            keys, size, rest_size, series = backend.members(seg, resolved)
        except UserError as exc:
            # e.g. a saved definition naming a property no longer imported, or a deleted segment:
            # said in the worksheet; the other segments are still there.
            worksheet.notes.append(f"The segment “{seg_name}” cannot be evaluated and is left out: {exc}")
            continue
        level = seg.level
        members[seg_name] = (level, keys, seg)
        universe = size + rest_size
        section = SegmentSection(
            colour=color_of_saved(conn, seg_name),
            anchor=_anchor(i),
            name=seg_name,
            level=level,
            description=SEGMENTS.describe(seg),
            definition_json=SEGMENTS.definition_json(seg),
            size=size,
            universe=universe,
            share=size / universe if universe else 0.0,
            rest_size=rest_size,
        )
        if resolved is not None and rng is not None:
            _fill_section(backend, section, seg, series, resolved, rng, key, progress)
        worksheet.sections.append(section)
    progress.report(total, total, "worksheet: overlap")
    worksheet.overlaps = backend.overlaps(members)
    return worksheet


def _day(day: dt.date) -> int:
    return (day - dt.date(1970, 1, 1)).days


def _command(project_file: str, names: list[str], as_of: str | None) -> str:
    import shlex

    parts = ["seglab", "report", project_file, "--out", "worksheet.html"]
    if as_of:
        parts += ["--as-of", as_of]
    for n in names:
        # A name starting with "-" would read as an option: glue it to --segment.
        parts += [f"--segment={n}"] if n.startswith("-") else ["--segment", n]
    return " ".join(shlex.quote(p) for p in parts)


def _series(conn, level: Literal["user", "account"], keys: set[int]):
    """(the segment, the rest of its level) as analysis series; the rest from the analyses' complement."""
    from seglab.core.analyses import SeriesSpec, complement_series

    seg = SeriesSpec(SEGMENT_LABEL, level, tuple(sorted(keys)))
    return seg, complement_series(conn, seg, REST_LABEL)


def _fill_section(backend, section: SegmentSection, seg, series, as_of_ms, rng, key, progress) -> None:
    run = backend.run
    steps = [
        ("size_over_time", lambda: _size_over_time(run, seg, as_of_ms, rng)),
        ("activity", lambda: _activity(run, series, as_of_ms, rng, section)),
        ("funnel", lambda: _funnel(run, series, as_of_ms, rng, key)),
        ("retention", lambda: _retention(run, series, as_of_ms, rng)),
        ("distinctions", lambda: _distinctions(run, series[0], as_of_ms, rng)),
        ("breakdown", lambda: backend.breakdown(series)),
    ]
    for attr, fn in steps:
        check_cancelled(progress)
        try:
            value = fn()
        except UserError as exc:  # e.g. an analysis refused: say why in that part only
            section.notes[attr] = str(exc)
            continue
        except ImportError:
            section.notes[attr] = "not available in this SegLab build"
            continue
        if value is None:
            section.notes.setdefault(attr, EMPTY_NOTES.get(attr, "no data in the reporting range"))
        else:
            setattr(section, attr, value)


# -- the parts of a section --------------------------------------------------------------------


def _size_over_time(run, seg, as_of_ms: int, rng) -> SeriesPoints | None:
    """Membership re-evaluated at the end of every week of the range (the last point at as-of)."""
    from seglab.core.analyses import SizeOverTimeRequest

    frame = run(
        "segment_size",
        SizeOverTimeRequest(
            segments=((SEGMENT_LABEL, seg.definition),),
            interval="week",
            as_of_ms=as_of_ms,
            date_from=rng[0],
            date_to=rng[1],
        ),
    )
    if frame.empty:
        return None
    return SeriesPoints([str(x) for x in frame["period_start"]], [int(v) for v in frame["size"]], [])


def _activity(run, series, as_of_ms: int, rng, section: SegmentSection) -> SeriesPoints | None:
    """Weekly active share: units with any event that week ÷ the group's size at as-of."""
    from seglab.core.analyses.trend import TrendRequest

    measure: Literal["users", "accounts"] = "users" if section.level == "user" else "accounts"
    frame = run(
        "trend",
        TrendRequest(
            event="*",
            measure=measure,
            interval="week",
            series=series,
            as_of_ms=as_of_ms,
            date_from=rng[0],
            date_to=rng[1],
        ),
    )
    if frame.empty:
        return None
    seg = frame[frame["segment"] == SEGMENT_LABEL]
    rest = frame[frame["segment"] == REST_LABEL]
    xs = [str(x) for x in seg["period_start"]]

    def share(values, size):
        return [float(v) / size if size else None for v in values]

    partial = None
    last_monday = dt.date.fromisoformat(xs[-1]) if xs else None
    if last_monday is not None and (_day(last_monday) + 7) * DAY_MS - 1 > as_of_ms:
        partial = len(xs) - 1
    return SeriesPoints(
        xs, share(seg["value"], section.size), share(rest["value"], section.rest_size), partial
    )


def _funnel(run, series, as_of_ms: int, rng, key: KeyFunnel | None) -> FunnelData | None:
    if key is None:
        return None
    from seglab.core.analyses.funnel import FunnelRequest

    frame = run(
        "funnel",
        FunnelRequest(
            steps=key.funnel_steps(),
            within_days=key.within_days,
            series=series,
            as_of_ms=as_of_ms,
            date_from=rng[0],
            date_to=rng[1],
        ),
    )
    seg = frame[frame["segment"] == SEGMENT_LABEL].sort_values("step")
    rest = frame[frame["segment"] == REST_LABEL].sort_values("step")
    table = []
    for (_, s), (_, r) in zip(seg.iterrows(), rest.iterrows()):
        table.append(
            {
                "step": int(s["step"]),
                "event": str(s["event"]),
                "seg_entered": int(s["entered"]),
                "rest_entered": int(r["entered"]),
                "seg_rate": float(s["conversion_from_start"]),
                "rest_rate": float(r["conversion_from_start"]),
                "seg_prev": float(s["conversion_from_previous"]),
                "rest_prev": float(r["conversion_from_previous"]),
                "seg_median": _none_if_nan(s["median_seconds_from_previous"]),
                "rest_median": _none_if_nan(r["median_seconds_from_previous"]),
            }
        )
    return FunnelData(key.step_labels(), key.reason, key.within_days, table)


def _none_if_nan(value) -> float | None:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value == "":
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return None if pd.isna(v) else v


def _retention(run, series, as_of_ms: int, rng) -> RetentionData | None:
    from seglab.core.analyses.retention import RetentionRequest

    frame = run(
        "retention",
        RetentionRequest(
            start_event="*",
            return_event="*",
            interval="week",
            periods=RETENTION_PERIODS,
            series=series,
            as_of_ms=as_of_ms,
            date_from=rng[0],
            date_to=rng[1],
        ),
    )
    if frame.empty:
        return None
    periods = list(range(RETENTION_PERIODS))

    def curve(label: str) -> list[float | None]:
        part = frame[(frame["segment"] == label) & frame["complete"]]
        out: list[float | None] = []
        for k in periods:
            rows = part[part["period"] == k]
            size = int(rows["cohort_size"].sum())
            out.append(float(rows["retained"].sum()) / size if size else None)
        return out

    cohorts = []
    seg = frame[frame["segment"] == SEGMENT_LABEL]
    for start, rows in seg.groupby("cohort_start", sort=True):
        by_period = {int(r.period): r for r in rows.itertuples()}
        cohorts.append(
            {
                "start": str(start),
                "size": int(rows["cohort_size"].iloc[0]),
                "rates": [
                    float(by_period[k].rate) if k in by_period and bool(by_period[k].complete) else None
                    for k in periods
                ],
            }
        )
    return RetentionData(periods, curve(SEGMENT_LABEL), curve(REST_LABEL), cohorts)


def _distinctions(run, series, as_of_ms: int, rng) -> list[Trait] | None:
    """The property values and events most over-represented in the segment (the analyses' ranking)."""
    from seglab.core.analyses import DistinguishRequest
    from seglab.core.report.distinguish import traits_from_frame

    frame = run(
        "distinguishes",
        DistinguishRequest(series=series, as_of_ms=as_of_ms, date_from=rng[0], date_to=rng[1]),
    )
    return traits_from_frame(frame, TOP_ITEMS // 2) or None


BREAKDOWN_MAX_VALUES = 9  # "the account property with the most values under 10" (tier, plan)


def breakdown_property(conn) -> str | None:
    """The account property with the most distinct values under 10 (first in catalogue order on a tie)."""
    from seglab.core.project import load_properties

    best, best_n = None, 0
    for prop in load_properties(conn, "account"):
        if not (prop.column.startswith("p") and prop.column[1:].isdigit()):
            continue
        n = conn.execute(f"SELECT COUNT(DISTINCT {prop.column}) FROM accounts").fetchone()[0]
        if best_n < n <= BREAKDOWN_MAX_VALUES:
            best, best_n = prop.name, n
    return best


def _breakdown(conn, series) -> BreakdownData | None:
    """The segment's units (users: by their account's value) per value of :func:`breakdown_property`."""
    import numpy as np

    from seglab.core.analyses.breakdown import Breakdown, unit_values
    from seglab.core.analyses.common import Engine

    name = breakdown_property(conn)
    if name is None:
        return None
    seg, rest = series
    keys, labels = unit_values(Engine(conn), seg.level, Breakdown("account", name, BREAKDOWN_MAX_VALUES))

    def counts(s) -> dict:
        inside = np.isin(keys, np.asarray(s.keys, dtype=np.int64))
        out: dict = {}
        for label, keep in zip(labels, inside.tolist()):
            if keep:
                out[label] = out.get(label, 0) + 1
        return out

    return _breakdown_rows(name, seg.level, counts(seg), counts(rest))


def _breakdown_rows(name: str, level: str, mine: dict, theirs: dict) -> BreakdownData | None:
    """The breakdown from each group's units per value label (None: no value)."""
    from seglab.core.analyses.breakdown import NONE, groups_from_counts

    if not mine:
        return None
    groups = groups_from_counts(mine, BREAKDOWN_MAX_VALUES, "text")
    n_mine, n_rest = sum(mine.values()), sum(theirs.values())
    rows = []
    for g in groups.labels:
        label = None if g == NONE else g
        a, b = mine.get(label, 0), theirs.get(label, 0)
        rows.append((g, a, a / n_mine if n_mine else 0.0, b / n_rest if n_rest else 0.0))
    return BreakdownData(name, level, rows)


def _overlaps(members: dict[str, tuple[str, set[int]]]) -> list[OverlapMatrix]:
    out = []
    for level in ("user", "account"):
        names = [n for n, (lvl, _) in members.items() if lvl == level]
        if len(names) < 2:
            continue
        sets = [members[n][1] for n in names]
        cells = [[len(a & b) for b in sets] for a in sets]
        out.append(OverlapMatrix(level, names, [len(s) for s in sets], cells))
    return out
