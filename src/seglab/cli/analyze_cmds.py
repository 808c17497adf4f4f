"""``seglab analyze trend|funnel|retention|...``: analyses as CSV (reference: docs/cli.md).

Every analysis takes ``--segment NAME`` (repeatable; none means everyone),
``--as-of``, ``--from``/``--to`` and ``--out``. Membership is evaluated once, at
as-of. The CSV has exactly the columns docs/cli.md lists in order; rates are written at
full precision, booleans as ``true``/``false``, missing numbers as empty cells.
"""

from __future__ import annotations

import sys
from contextvars import ContextVar

from seglab.cli.common import (
    UsageError,
    add_raw_option,
    as_of_arg,
    connected_engine,
    open_project,
    write_csv_output,
)

# Set by :func:`analysis_frame`: the frame and columns a command would write go here instead of
# to a CSV, so the Python API returns exactly the rows the command line writes (docs/api.md).
_CAPTURE: ContextVar[list | None] = ContextVar("seglab_analyze_capture", default=None)


def register(sub) -> None:
    p = sub.add_parser("analyze", help="run an analysis and write CSV")
    kinds = p.add_subparsers(dest="analysis", metavar="ANALYSIS", parser_class=type(p))

    t = _common(kinds.add_parser("trend", help="one row per interval and segment"), by=True)
    t.add_argument("--event", default="*", help=EVENT_HELP)
    t.add_argument(
        "--measure",
        default="count",
        choices=["count", "users", "accounts", "per_user", "sum", "avg", "min", "max", "median"],
    )
    t.add_argument(
        "--of", metavar="PROPERTY", help="the numeric event property a sum/avg/min/max/median measures"
    )
    t.add_argument("--interval", default="day", choices=["day", "week", "month"])
    t.add_argument("--compare", choices=["previous"], help="add each series one range earlier")
    t.set_defaults(func=cmd_trend)

    f = _common(kinds.add_parser("funnel", help="one row per step and segment"), unit=True, by=True)
    f.add_argument("--steps", required=True, help="comma-separated events in order, each maybe filtered")
    f.add_argument("--within-days", type=float, default=14, help="conversion window in days (default 14)")
    f.set_defaults(func=cmd_funnel)

    r = _common(
        kinds.add_parser("retention", help="one row per cohort, period and segment"), unit=True, by=True
    )
    r.add_argument("--start-event", default="*", help="cohort event (default * = any), maybe filtered")
    r.add_argument("--return-event", default="*", help="return event (default * = any), maybe filtered")
    r.add_argument("--interval", default="week", choices=["day", "week", "month"])
    r.add_argument("--periods", type=int, default=8, help="report periods 0..N-1 (default 8)")
    r.set_defaults(func=cmd_retention)

    d = _common(
        kinds.add_parser("distribution", help="units by how often they did an event, in bins"),
        unit=True,
        by=True,
    )
    d.add_argument("--event", default="*", help=EVENT_HELP)
    d.add_argument("--stats", action="store_true", help="print mean, median and percentiles instead of bins")
    d.set_defaults(func=cmd_distribution)

    te = _common(
        kinds.add_parser("top-events", help="events by the share of units that did them, with lift"),
        unit=True,
    )
    te.add_argument("--limit", type=int, help="at most N events per segment")
    te.set_defaults(func=cmd_top_events)

    st = _common(
        kinds.add_parser("stickiness", help="units by active days per week or month"), unit=True, by=True
    )
    st.add_argument("--event", default="*", help=EVENT_HELP)
    st.add_argument("--interval", default="week", choices=["week", "month"])
    st.set_defaults(func=cmd_stickiness)

    lc = _common(
        kinds.add_parser("lifecycle", help="new, returning, resurrecting and dormant units"),
        unit=True,
        by=True,
    )
    lc.add_argument("--event", default="*", help=EVENT_HELP)
    lc.add_argument("--interval", default="week", choices=["day", "week", "month"])
    lc.set_defaults(func=cmd_lifecycle)

    ov = _common(kinds.add_parser("overlap", help="intersections of 2-6 segments of one level"))
    ov.add_argument("--pairs", action="store_true", help="print pairwise Jaccard instead of the regions")
    ov.set_defaults(func=cmd_overlap)

    ds = _common(kinds.add_parser("distinguish", help="properties and events that set a segment apart"))
    ds.add_argument("--limit", type=int, help="at most N rows per segment")
    ds.add_argument("--max-values", type=int, default=20, help="values per text property (default 20)")
    ds.set_defaults(func=cmd_distinguish)

    sz = _common(kinds.add_parser("size", help="segment size at the end of each interval"), by=True)
    sz.add_argument("--interval", default="week", choices=["day", "week", "month"])
    sz.set_defaults(func=cmd_size)

    def no_analysis(args) -> int:
        raise UsageError("seglab analyze: choose an analysis (trend, funnel, retention, ...)")

    p.set_defaults(func=no_analysis)


EVENT_HELP = "event name, * for any event (default *), with filters: purchase[amount>=100; platform=web]"


def _common(p, unit: bool = False, by: bool = False):
    p.add_argument("project")
    if unit:
        p.add_argument(
            "--unit", choices=["user", "account"], default="user",
            help="without --segment: count users (default) or accounts",
        )  # fmt: skip
    if by:
        p.add_argument("--by", metavar="ENTITY.PROPERTY", help="one series per value of a property")
        p.add_argument("--by-limit", type=int, default=10, metavar="N", help="keep the N biggest values (10)")
    p.add_argument(
        "--segment", action="append", default=[], metavar="NAME", help="a saved segment (repeatable)"
    )
    p.add_argument("--as-of", dest="as_of", help="as-of time: ISO date or date-time, UTC")
    p.add_argument("--from", dest="date_from", metavar="DATE", help="first day of the range (YYYY-MM-DD)")
    p.add_argument("--to", dest="date_to", metavar="DATE", help="last day of the range (YYYY-MM-DD)")
    p.add_argument("--out", metavar="FILE", help="write the CSV here instead of standard output")
    add_raw_option(p)
    p.add_argument(
        "--vs-rest", action="store_true", help="after each segment, add its complement ('not NAME')"
    )
    return p


# -- commands --------------------------------------------------------------------


def cmd_trend(args) -> int:
    from seglab.core.analyses import TREND_COLUMNS, TrendRequest, run_trend

    with open_project(args.project, readonly=True, connected_ok=True) as project:
        event = _event(args.event, "--event")
        by = _by(args)

        def request(series, as_of, date_from, date_to):
            return TrendRequest(
                event=event, measure=args.measure, interval=args.interval, series=series,
                as_of_ms=as_of, date_from=date_from, date_to=date_to, of=args.of, by=by, compare=args.compare,
            )  # fmt: skip

        engine = connected_engine(project)
        if engine is not None:
            frame = _pushed(engine, project.conn, args, [event], "trend", request)
        else:
            conn = project.conn
            as_of, date_from, date_to, series = _resolve_common(conn, args)
            _warn_unknown_events(conn, [event])
            frame = run_trend(conn, request(series, as_of, date_from, date_to))
    columns = _group_columns(TREND_COLUMNS) if by else TREND_COLUMNS
    _write_csv(plain_values(frame, args.measure), columns, args)
    return 0


def cmd_funnel(args) -> int:
    from seglab.core.analyses import FUNNEL_COLUMNS, FunnelRequest, FunnelStep, run_funnel
    from seglab.core.analyses.filters import parse_event, split_top

    parts = [s.strip() for s in split_top(args.steps, ",")]
    if not parts or any(not n for n in parts):
        raise UsageError(f"--steps {args.steps!r}: give event names separated by commas, e.g. A,B,C")
    selectors = [parse_event(n) for n in parts]
    if not args.within_days > 0:
        raise UsageError("--within-days must be a positive number of days")
    with open_project(args.project, readonly=True, connected_ok=True) as project:

        def request(series, as_of, date_from, date_to):
            return FunnelRequest(
                steps=tuple(FunnelStep(x.event, x.where) for x in selectors), within_days=args.within_days,
                series=series, as_of_ms=as_of, date_from=date_from, date_to=date_to,
            )  # fmt: skip

        engine = connected_engine(project)
        if engine is not None:
            frame = _pushed(engine, project.conn, args, selectors, "funnel", request)
            columns = _columns(args, FUNNEL_COLUMNS)
        else:
            conn = project.conn
            as_of, date_from, date_to, series = _resolve_common(conn, args)
            _warn_unknown_events(conn, selectors)
            frame, columns = _run(
                conn, args, request(series, as_of, date_from, date_to), run_funnel, FUNNEL_COLUMNS,
                selectors[0],
            )  # fmt: skip
    _write_csv(frame, columns, args)
    return 0


def cmd_retention(args) -> int:
    from seglab.core.analyses import RETENTION_COLUMNS, RetentionRequest, run_retention

    if args.periods < 1:
        raise UsageError("--periods must be at least 1")
    with open_project(args.project, readonly=True, connected_ok=True) as project:
        start = _event(args.start_event, "--start-event")
        back = _event(args.return_event, "--return-event")

        def request(series, as_of, date_from, date_to):
            return RetentionRequest(
                start_event=start, return_event=back, interval=args.interval,
                periods=args.periods, series=series, as_of_ms=as_of, date_from=date_from, date_to=date_to,
            )  # fmt: skip

        engine = connected_engine(project)
        if engine is not None:
            frame = _pushed(engine, project.conn, args, [start, back], "retention", request)
            columns = _columns(args, RETENTION_COLUMNS)
        else:
            conn = project.conn
            as_of, date_from, date_to, series = _resolve_common(conn, args)
            _warn_unknown_events(conn, [start, back])
            frame, columns = _run(
                conn,
                args,
                request(series, as_of, date_from, date_to),
                run_retention,
                RETENTION_COLUMNS,
                start,
            )
    _write_csv(frame, columns, args)
    return 0


def cmd_distribution(args) -> int:
    from seglab.core.analyses import (
        DISTRIBUTION_COLUMNS,
        DISTRIBUTION_STATS_COLUMNS,
        DistributionRequest,
        run_distribution,
        run_distribution_stats,
    )

    with open_project(args.project, readonly=True, connected_ok=True) as project:
        event = _event(args.event, "--event")
        engine = connected_engine(project)
        if engine is not None:
            frame = _pushed(
                engine, project.conn, args, [event], "distribution",
                lambda *w: DistributionRequest(event, *w), stats=args.stats,
            )  # fmt: skip
            _write_csv(
                frame,
                _columns(args, DISTRIBUTION_STATS_COLUMNS if args.stats else DISTRIBUTION_COLUMNS),
                args,
            )
            return 0
        as_of, date_from, date_to, series = _resolve_common(project.conn, args)
        _warn_unknown_events(project.conn, [event])
        request = DistributionRequest(event, series, as_of, date_from, date_to)
        if args.stats:
            frame, columns = _run(
                project.conn, args, request, run_distribution_stats, DISTRIBUTION_STATS_COLUMNS, event
            )
        else:
            frame, columns = _run(project.conn, args, request, run_distribution, DISTRIBUTION_COLUMNS, event)
    _write_csv(frame, columns, args)
    return 0


def cmd_top_events(args) -> int:
    from seglab.core.analyses import TOP_EVENTS_COLUMNS, TopEventsRequest, run_top_events

    if args.limit is not None and args.limit < 1:
        raise UsageError("--limit must be at least 1")
    with open_project(args.project, readonly=True, connected_ok=True) as project:
        engine = connected_engine(project)
        if engine is not None:
            frame = _pushed(
                engine, project.conn, args, [], "top_events", lambda *w: TopEventsRequest(*w, args.limit)
            )
            _write_csv(frame, TOP_EVENTS_COLUMNS, args)
            return 0
        as_of, date_from, date_to, series = _resolve_common(project.conn, args)
        frame = run_top_events(project.conn, TopEventsRequest(series, as_of, date_from, date_to, args.limit))
    _write_csv(frame, TOP_EVENTS_COLUMNS, args)
    return 0


def cmd_stickiness(args) -> int:
    from seglab.core.analyses import STICKINESS_COLUMNS, StickinessRequest, run_stickiness

    return _event_by_interval(args, "stickiness", StickinessRequest, run_stickiness, STICKINESS_COLUMNS)


def cmd_lifecycle(args) -> int:
    from seglab.core.analyses import LIFECYCLE_COLUMNS, LifecycleRequest, run_lifecycle

    return _event_by_interval(args, "lifecycle", LifecycleRequest, run_lifecycle, LIFECYCLE_COLUMNS)


def _event_by_interval(args, name: str, request_class, run, columns) -> int:
    """Stickiness and lifecycle: one event counted per interval, locally or pushed down."""
    with open_project(args.project, readonly=True, connected_ok=True) as project:
        event = _event(args.event, "--event")
        engine = connected_engine(project)
        if engine is not None:
            frame = _pushed(
                engine, project.conn, args, [event], name,
                lambda *w: request_class(event, args.interval, *w),
            )  # fmt: skip
            _write_csv(frame, _columns(args, columns), args)
            return 0
        as_of, date_from, date_to, series = _resolve_common(project.conn, args)
        _warn_unknown_events(project.conn, [event])
        request = request_class(event, args.interval, series, as_of, date_from, date_to)
        frame, out_columns = _run(project.conn, args, request, run, columns, event)
    _write_csv(frame, out_columns, args)
    return 0


def cmd_overlap(args) -> int:
    from seglab.core.analyses import (
        JACCARD_COLUMNS,
        OVERLAP_COLUMNS,
        OverlapRequest,
        run_jaccard,
        run_overlap,
    )

    if not 2 <= len(args.segment) <= 6:
        raise UsageError("overlap needs 2 to 6 --segment options")
    with open_project(args.project, readonly=True, connected_ok=True) as project:
        engine = connected_engine(project)
        if engine is not None:
            frame = _pushed(
                engine, project.conn, args, [], "overlap",
                lambda s, as_of, *w: OverlapRequest(s, as_of), pairs=args.pairs,
            )  # fmt: skip
            _write_csv(frame, JACCARD_COLUMNS if args.pairs else OVERLAP_COLUMNS, args)
            return 0
        _as_of, _f, _t, series = _resolve_common(project.conn, args)
        request = OverlapRequest(series)
        if args.pairs:
            frame, columns = run_jaccard(project.conn, request), JACCARD_COLUMNS
        else:
            frame, columns = run_overlap(project.conn, request), OVERLAP_COLUMNS
    _write_csv(frame, columns, args)
    return 0


def cmd_distinguish(args) -> int:
    import pandas as pd

    from seglab.core.analyses import DISTINGUISH_COLUMNS, DistinguishRequest, run_distinguish

    if not args.segment:
        raise UsageError("distinguish needs at least one --segment")
    if args.limit is not None and args.limit < 1:
        raise UsageError("--limit must be at least 1")
    with open_project(args.project, readonly=True, connected_ok=True) as project:
        engine = connected_engine(project)
        if engine is not None:
            from seglab.core.engines.analyses import run_analysis

            with engine:
                as_of, date_from, date_to, series = _connected_common(engine, project.conn, args, [])
                frames = [
                    run_analysis(
                        engine,
                        "distinguish",
                        DistinguishRequest(s, as_of, date_from, date_to, args.max_values, args.limit),
                    )
                    for s in series
                    if s.definition is not None
                ]
        else:
            as_of, date_from, date_to, series = _resolve_common(project.conn, args)
            frames = [
                run_distinguish(
                    project.conn,
                    DistinguishRequest(s, as_of, date_from, date_to, args.max_values, args.limit),
                )
                for s in series
                if s.keys is not None
            ]
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=DISTINGUISH_COLUMNS)
    _write_csv(frame, DISTINGUISH_COLUMNS, args)
    return 0


def cmd_size(args) -> int:
    from seglab.core.analyses import SIZE_COLUMNS, SizeOverTimeRequest, run_size_over_time

    if not args.segment:
        raise UsageError("size needs at least one --segment")
    with open_project(args.project, readonly=True, connected_ok=True) as project:
        conn = project.conn
        by = _by(args)

        def request(series, as_of, date_from, date_to):
            segments = tuple((name, _get_saved(conn, name).definition) for name in args.segment)
            return SizeOverTimeRequest(
                segments, args.interval, as_of, date_from, date_to, vs_rest=args.vs_rest, by=by
            )

        engine = connected_engine(project)
        if engine is not None:
            frame = _pushed(engine, conn, args, [], "segment_size", request, with_rest=False)
        else:
            as_of, date_from, date_to, _series = _resolve_common(conn, args, with_rest=False)
            frame = run_size_over_time(conn, request(_series, as_of, date_from, date_to))
    _write_csv(frame, _group_columns(SIZE_COLUMNS) if by else SIZE_COLUMNS, args)
    return 0


# -- shared plumbing -----------------------------------------------------------------


def _pushed(engine, conn, args, events, kind: str, request, with_rest: bool = True, **options):
    """A connected project's analysis: ``request(series, as_of, from, to)`` run in its source by
    the one entry point the charts use too (``seglab.core.engines.analyses.run_analysis``)."""
    from seglab.core.engines.analyses import run_analysis

    with engine:
        as_of, date_from, date_to, series = _connected_common(engine, conn, args, events, with_rest)
        by = None if kind in ("trend", "segment_size") else _by(args)
        return run_analysis(engine, kind, request(series, as_of, date_from, date_to), by=by, **options)


def _columns(args, columns: list[str]) -> list[str]:
    return _group_columns(columns) if getattr(args, "by", None) else columns


def _connected_common(engine, conn, args, events, with_rest: bool = True):
    """(as_of, from, to, series) of a pushed-down analysis, as :func:`_resolve_common` gives them
    for a local project: the series are SourceSeries (the segments run inside its queries)."""
    from seglab.core.analyses import EVERYONE
    from seglab.core.analyses.filters import selector_of
    from seglab.core.analyses.membership import rest_label
    from seglab.core.engines.clickhouse import SourceSeries
    from seglab.core.errors import UserError
    from seglab.core.timeutil import parse_date

    as_of = engine.as_of(as_of_arg(args.as_of))
    if as_of is None:
        raise UserError(f"{args.project}: the project has no events, so there is nothing to analyze")
    date_from = parse_date(args.date_from, "--from") if args.date_from else None
    date_to = parse_date(args.date_to, "--to") if args.date_to else None
    if date_from and date_to and date_from > date_to:
        raise UsageError(f"--from {date_from.isoformat()} is after --to {date_to.isoformat()}")
    series: list = []
    for name in args.segment:
        if any(name == s.label for s in series):
            raise UsageError(f"--segment {name!r} is given twice")
        saved = _get_saved(conn, name)
        if saved is None:
            raise UserError(f"no saved segment named {name!r} (see: seglab segment list)")
        series.append(SourceSeries(name, saved.level, saved.definition))
    if not series:
        series = [SourceSeries(EVERYONE, getattr(args, "unit", None) or "user")]
    if with_rest and getattr(args, "vs_rest", False):
        if not args.segment:
            raise UsageError("--vs-rest needs at least one --segment")
        series = [
            x for s in series for x in (s, SourceSeries(rest_label(s.label), s.level, s.definition, True))
        ]
    for name in dict.fromkeys(selector_of(e).event for e in events):
        if name != "*" and not engine.has_event(name):
            print(f"seglab: warning: no event named {name!r} in this project; it counts as never done",
                  file=sys.stderr)  # fmt: skip
    return as_of, date_from, date_to, tuple(series)


def _resolve_common(conn, args, with_rest: bool = True):
    """(as_of_ms, from date, to date, series) from the common options."""
    from seglab.core.errors import UserError
    from seglab.core.project import resolve_as_of
    from seglab.core.timeutil import parse_date

    as_of = resolve_as_of(conn, as_of_arg(args.as_of))
    if as_of is None:
        raise UserError(f"{args.project}: the project has no events, so there is nothing to analyze")
    date_from = parse_date(args.date_from, "--from") if args.date_from else None
    date_to = parse_date(args.date_to, "--to") if args.date_to else None
    if date_from and date_to and date_from > date_to:
        raise UsageError(f"--from {date_from.isoformat()} is after --to {date_to.isoformat()}")
    series = segment_series(conn, args.segment, as_of)
    if not args.segment and getattr(args, "unit", "user") == "account":
        from seglab.core.analyses import EVERYONE, SeriesSpec

        series = (SeriesSpec(EVERYONE, "account", None),)
    if with_rest and getattr(args, "vs_rest", False):
        from seglab.core.analyses import complement_series

        if not args.segment:
            raise UsageError("--vs-rest needs at least one --segment")
        series = tuple(x for s in series for x in (s, complement_series(conn, s)))
    return as_of, date_from, date_to, series


def segment_series(conn, names: list[str], as_of_ms: int):
    """One series per saved segment (members at as-of); everyone when there are none."""
    from seglab.core.analyses import EVERYONE, SeriesSpec
    from seglab.core.errors import UserError

    if not names:
        return (SeriesSpec(EVERYONE, "user", None),)
    seen = set()
    out = []
    for name in names:
        if name in seen:
            raise UsageError(f"--segment {name!r} is given twice")
        seen.add(name)
        saved = _get_saved(conn, name)
        if saved is None:
            raise UserError(f"no saved segment named {name!r} (see: seglab segment list)")
        keys = _member_keys(conn, saved.definition, as_of_ms)
        out.append(SeriesSpec(name, saved.level, tuple(int(k) for k in keys)))
    return tuple(out)


def _get_saved(conn, name: str):
    from seglab.core import segments

    get_saved = getattr(segments, "get_saved", None)
    if get_saved is not None:
        try:
            return get_saved(conn, name)
        except LookupError:
            return None
    # The segment engine's public helpers are still landing: read the table directly.
    from types import SimpleNamespace

    from seglab.core.segments.model import load_definition

    row = conn.execute("SELECT name, level, definition FROM segments WHERE name = ?", (name,)).fetchone()
    if row is None:
        return None
    return SimpleNamespace(name=row[0], level=row[1], definition=load_definition(row[2]))


def _member_keys(conn, definition, as_of_ms: int):
    from seglab.core import segments

    member_keys = getattr(segments, "member_keys", None)
    if member_keys is None:
        from seglab.core.segments.engine import member_keys
    return member_keys(conn, definition, as_of_ms)


def _event(text: str, option: str):
    """An event option as an EventSelector (``purchase[amount>=100]``)."""
    from seglab.core.analyses.filters import parse_event
    from seglab.core.errors import AnalysisError

    try:
        return parse_event(text)
    except AnalysisError as exc:
        raise UsageError(f"{option} {exc}") from None


def _by(args):
    from seglab.core.analyses.breakdown import parse_by

    by = getattr(args, "by", None)
    limit = getattr(args, "by_limit", 10)
    if by is None:
        if limit != 10:
            raise UsageError("--by-limit goes with --by")
        return None
    return parse_by(by, limit)


def _group_columns(columns: list[str]) -> list[str]:
    from seglab.core.analyses.breakdown import with_group_column

    return with_group_column(columns)


def _run(conn, args, request, runner, columns: list[str], event):
    """``runner(conn, request)``, or broken down by ``--by`` (a ``group`` column after ``segment``)."""
    by = _by(args)
    if by is None:
        return runner(conn, request), columns
    from seglab.core.analyses.breakdown import run_broken_down
    from seglab.core.progress import NULL_PROGRESS

    return run_broken_down(conn, request, runner, by, event, NULL_PROGRESS), _group_columns(columns)


def plain_values(frame, measure: str):
    """A value measure's trend as the CSV prints it: reals without fraction like integers (``0``)."""
    if measure not in ("sum", "avg", "min", "max", "median"):
        return frame
    import pandas as pd

    frame = frame.copy()
    frame["value"] = pd.Series([_plain_number(v) for v in frame["value"]], index=frame.index, dtype=object)
    return frame


def _plain_number(value):
    """A value measure's number: a real without fraction printed like an integer; empty for none."""
    import math

    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    f = float(value)
    return int(f) if f.is_integer() else f


def _warn_unknown_events(conn, events) -> None:
    from seglab.core.analyses.filters import selector_of

    names = [selector_of(e).event for e in events]
    for name in dict.fromkeys(names):
        if name != "*" and not conn.execute("SELECT 1 FROM event_names WHERE name = ?", (name,)).fetchone():
            print(f"seglab: warning: no event named {name!r} in this project; it counts as never done",
                  file=sys.stderr)  # fmt: skip


def analysis_frame(argv: list[str]):
    """Run ``seglab analyze ARGV...`` as the command line does and return
    ``(frame, columns, args)`` instead of writing the CSV: the frame's ``columns`` are the CSV's.

    Parsing goes through the command's own parser, so every option it takes works here and a
    wrong one raises the command's :class:`UsageError`.
    """
    from seglab.cli import build_parser, common

    args = build_parser().parse_args(["analyze", *argv])
    captured: list = []
    token = _CAPTURE.set(captured)
    # Sentences that name the command ("'analyze distinguish' does not run on ...") name it here too.
    command, common._command = common._command, " ".join(["analyze", *argv[:1]])
    try:
        args.func(args)
    finally:
        _CAPTURE.reset(token)
        common._command = command
    if not captured:
        raise UsageError("seglab analyze: choose an analysis (trend, funnel, retention, ...)")
    frame, columns = captured[-1]
    return frame, list(columns), args


def _write_csv(frame, columns: list[str], args) -> None:
    captured = _CAPTURE.get()
    if captured is not None:
        captured.append((frame, list(columns)))
        return
    write_csv_output(args, columns, frame[columns].itertuples(index=False, name=None))
