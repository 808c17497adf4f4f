"""``seglab analyze trend|funnel|retention|...``: analyses as CSV (contract: shared/spec/cli.md).

Every analysis takes ``--segment NAME`` (repeatable; none means everyone),
``--as-of``, ``--from``/``--to`` and ``--out``. Membership is evaluated once, at
as-of. The CSV has exactly the contract's columns in order; rates are written at
full precision, booleans as ``true``/``false``, missing numbers as empty cells.
"""

from __future__ import annotations

import sys

from seglab.cli.common import UsageError, as_of_arg, open_project


def register(sub) -> None:
    p = sub.add_parser("analyze", help="run an analysis and write CSV")
    kinds = p.add_subparsers(dest="analysis", metavar="ANALYSIS", parser_class=type(p))

    t = _common(kinds.add_parser("trend", help="one row per interval and segment"))
    t.add_argument("--event", default="*", help="event name, or * for any event (default *)")
    t.add_argument("--measure", default="count", choices=["count", "users", "accounts", "per_user"])
    t.add_argument("--interval", default="day", choices=["day", "week", "month"])
    t.set_defaults(func=cmd_trend)

    f = _common(kinds.add_parser("funnel", help="one row per step and segment"))
    f.add_argument("--steps", required=True, help="comma-separated event names, in order")
    f.add_argument("--within-days", type=float, default=14, help="conversion window in days (default 14)")
    f.set_defaults(func=cmd_funnel)

    r = _common(kinds.add_parser("retention", help="one row per cohort, period and segment"))
    r.add_argument("--start-event", default="*", help="cohort event (default * = any)")
    r.add_argument("--return-event", default="*", help="return event (default * = any)")
    r.add_argument("--interval", default="week", choices=["day", "week", "month"])
    r.add_argument("--periods", type=int, default=8, help="report periods 0..N-1 (default 8)")
    r.set_defaults(func=cmd_retention)

    def no_analysis(args) -> int:
        raise UsageError("seglab analyze: choose an analysis (trend, funnel, retention, ...)")

    p.set_defaults(func=no_analysis)


def _common(p):
    p.add_argument("project")
    p.add_argument(
        "--segment", action="append", default=[], metavar="NAME", help="a saved segment (repeatable)"
    )
    p.add_argument("--as-of", dest="as_of", help="as-of time: ISO date or date-time, UTC")
    p.add_argument("--from", dest="date_from", metavar="DATE", help="first day of the range (YYYY-MM-DD)")
    p.add_argument("--to", dest="date_to", metavar="DATE", help="last day of the range (YYYY-MM-DD)")
    p.add_argument("--out", metavar="FILE", help="write the CSV here instead of standard output")
    return p


# -- commands --------------------------------------------------------------------


def cmd_trend(args) -> int:
    from seglab.core.analyses import TREND_COLUMNS, TrendRequest, run_trend

    with open_project(args.project, readonly=True) as project:
        conn = project.conn
        as_of, date_from, date_to, series = _resolve_common(conn, args)
        _warn_unknown_events(conn, [args.event])
        request = TrendRequest(
            event=args.event, measure=args.measure, interval=args.interval, series=series,
            as_of_ms=as_of, date_from=date_from, date_to=date_to,
        )  # fmt: skip
        frame = run_trend(conn, request)
    _write_csv(frame, TREND_COLUMNS, args.out)
    return 0


def cmd_funnel(args) -> int:
    from seglab.core.analyses import FUNNEL_COLUMNS, FunnelRequest, FunnelStep, run_funnel

    names = [s.strip() for s in args.steps.split(",")]
    if not names or any(not n for n in names):
        raise UsageError(f"--steps {args.steps!r}: give event names separated by commas, e.g. A,B,C")
    if not args.within_days > 0:
        raise UsageError("--within-days must be a positive number of days")
    with open_project(args.project, readonly=True) as project:
        conn = project.conn
        as_of, date_from, date_to, series = _resolve_common(conn, args)
        _warn_unknown_events(conn, names)
        request = FunnelRequest(
            steps=tuple(FunnelStep(n) for n in names), within_days=args.within_days, series=series,
            as_of_ms=as_of, date_from=date_from, date_to=date_to,
        )  # fmt: skip
        frame = run_funnel(conn, request)
    _write_csv(frame, FUNNEL_COLUMNS, args.out)
    return 0


def cmd_retention(args) -> int:
    from seglab.core.analyses import RETENTION_COLUMNS, RetentionRequest, run_retention

    if args.periods < 1:
        raise UsageError("--periods must be at least 1")
    with open_project(args.project, readonly=True) as project:
        conn = project.conn
        as_of, date_from, date_to, series = _resolve_common(conn, args)
        _warn_unknown_events(conn, [args.start_event, args.return_event])
        request = RetentionRequest(
            start_event=args.start_event, return_event=args.return_event, interval=args.interval,
            periods=args.periods, series=series, as_of_ms=as_of, date_from=date_from, date_to=date_to,
        )  # fmt: skip
        frame = run_retention(conn, request)
    _write_csv(frame, RETENTION_COLUMNS, args.out)
    return 0


# -- shared plumbing -----------------------------------------------------------------


def _resolve_common(conn, args):
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
    return as_of, date_from, date_to, segment_series(conn, args.segment, as_of)


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


def _warn_unknown_events(conn, names: list[str]) -> None:
    for name in dict.fromkeys(names):
        if name != "*" and not conn.execute("SELECT 1 FROM event_names WHERE name = ?", (name,)).fetchone():
            print(f"seglab: warning: no event named {name!r} in this project; it counts as never done",
                  file=sys.stderr)  # fmt: skip


def format_cell(value) -> str:
    """CSV text for one value: full-precision floats, lowercase booleans, empty for missing."""
    import math

    import numpy as np

    if value is None:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (float, np.floating)):
        if math.isnan(value):
            return ""
        return repr(float(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return str(value)


def _write_csv(frame, columns: list[str], out: str | None) -> None:
    import csv

    def write(fh) -> None:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(columns)
        for row in frame[columns].itertuples(index=False, name=None):
            writer.writerow([format_cell(v) for v in row])

    if out is None or out == "-":
        write(sys.stdout)
        sys.stdout.flush()
        return
    try:
        with open(out, "w", encoding="utf-8", newline="") as fh:
            write(fh)
    except OSError as exc:
        raise UsageError(f"{out}: cannot write the CSV ({exc.strerror or exc})") from None
