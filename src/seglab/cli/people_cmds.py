"""``seglab find`` and ``seglab as-of`` (reference: docs/cli.md)."""

from __future__ import annotations

from seglab.cli.common import UsageError, connected_engine, open_project, print_json


def register(sub) -> None:
    p = sub.add_parser("find", help="find users and accounts by id, e-mail, name or any text property")
    p.add_argument("project")
    p.add_argument("text", help="words to look for (each matches as a prefix, any case)")
    p.add_argument("--limit", type=int, default=20, metavar="N", help="at most N results (default 20)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_find)

    p = sub.add_parser("as-of", help="show, pin or clear the project's as-of time")
    p.add_argument("project")
    p.add_argument(
        "time", nargs="?", metavar="T", help="pin the as-of time here (ISO date or date-time, UTC)"
    )
    p.add_argument("--clear", action="store_true", help='return to "the latest event"')
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_as_of)


def cmd_find(args) -> int:
    from seglab.core import search

    if args.limit < 1:
        raise UsageError(f"--limit must be 1 or more, got {args.limit}")
    if search.fts_query(args.text) is None:
        raise UsageError(f"nothing to search for in {args.text!r} (type some letters or digits)")
    with open_project(args.project, readonly=True, purpose="seglab find", connected_ok=True) as project:
        engine = connected_engine(project)
        if engine is None:
            matches = search.find(project.conn, args.text, args.limit)
        else:
            with engine:
                matches = search.find_in_source(engine, args.text, args.limit)
    if args.json:
        print_json([m.to_json() for m in matches])
        return 0
    for m in matches:
        label = "" if m.label == m.id else f"  {m.label}"
        print(f"{m.kind:<8} {m.id}{label}  (matched {m.matched})")
    return 0


def cmd_as_of(args) -> int:
    from seglab.core import asof

    if args.time is not None and args.clear:
        raise UsageError("give a time to pin, or --clear, not both")
    readonly = args.time is None and not args.clear
    with open_project(args.project, readonly=readonly, purpose="seglab as-of", connected_ok=True) as project:
        if args.clear:
            asof.clear_pin(project.conn)
        elif args.time is not None:
            asof.set_pin(project.conn, args.time)
        engine = connected_engine(project)
        if engine is None:
            state = asof.as_of_state(project.conn)
        else:
            with engine:
                state = asof.as_of_state(project.conn, engine)
    if args.json:
        print_json(state.to_json())
    else:
        print(state.sentence())
    return 0
