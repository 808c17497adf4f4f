"""``seglab connect``: a project that reads its events from a ClickHouse source (docs/sources.md)."""

from __future__ import annotations

from seglab.cli.common import print_json


def register(sub) -> None:
    p = sub.add_parser(
        "connect", help="create a project that reads its events from ClickHouse (a server or a chdb folder)"
    )
    p.add_argument("project", help="the project file to create")
    p.add_argument(
        "--source",
        required=True,
        metavar="URL",
        help="clickhouse://USER@HOST:PORT/DATABASE[?secure=true] or chdb:///ABSOLUTE/PATH",
    )
    p.add_argument(
        "--events", required=True, metavar="TABLE", help="the events table (NAME or DATABASE.NAME)"
    )
    p.add_argument("--users", metavar="TABLE", help="the users table")
    p.add_argument("--accounts", metavar="TABLE", help="the accounts table")
    p.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="FIELD=COLUMN",
        help="the column of a field (events.timestamp=ts, users.user_id=uid, events.properties=props; "
        "a bare FIELD means events.FIELD; FIELD= says there is none)",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_connect)


def cmd_connect(args) -> int:
    from seglab.core.engines.connect import connect_project

    tables = {"events": args.events, "users": args.users, "accounts": args.accounts}
    result = connect_project(args.project, args.source, tables, args.map)
    if args.json:
        print_json(result)
        return 0
    print(f"created {args.project}, connected to {result['source']['url']}")
    for kind in ("events", "users", "accounts"):
        table = result[kind]
        if table is None:
            continue
        fields = ", ".join(f"{k}={v}" for k, v in table.items() if k not in ("table", "properties") and v)
        print(f"  {kind}: {table['table']} ({fields}; {len(table['properties'])} property columns)")
    return 0
