"""``seglab new`` and ``seglab info``."""

from __future__ import annotations

from seglab.cli.common import connected_engine, open_project, print_json


def register(sub) -> None:
    p = sub.add_parser("new", help="create an empty project file")
    p.add_argument("project")
    p.set_defaults(func=cmd_new)

    p = sub.add_parser("info", help="counts, time range and as-of time of a project")
    p.add_argument("project")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_info)


def cmd_new(args) -> int:
    from seglab.core.project import Project

    Project.create(args.project).close()
    print(f"created {args.project}")
    return 0


def info_json(conn) -> dict:
    """What ``seglab info --json`` prints (the Python API's ``info()`` too)."""
    from seglab.core.importing import account_conflict_list
    from seglab.core.project import project_info

    info = project_info(conn)
    info["account_conflicts"] = account_conflict_list(conn)
    return info


def cmd_info(args) -> int:
    with open_project(args.project, readonly=True, connected_ok=True) as project:
        engine = connected_engine(project)
        if engine is None:
            info = info_json(project.conn)
        else:
            with engine:
                info = engine.info()
    if args.json:
        print_json(info)
        return 0
    rows = [
        ("events", info["events"]),
        ("users", info["users"]),
        ("accounts", info["accounts"]),
        ("event names", info["event_names"]),
        ("properties", info["properties"]),
        ("first event", info["first_event"] or "-"),
        ("last event", info["last_event"] or "-"),
        ("as of", (info["as_of"] or "-") + (" (pinned)" if info["as_of_pinned"] else "")),
        ("saved segments", info["segments"]),
    ]
    if "source" in info:
        rows.insert(0, ("source", info["source"]["url"]))
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    return 0
