"""``seglab segment count | members | save | list`` (contract: shared/spec/cli.md)."""

from __future__ import annotations

import sys

from seglab.cli.common import as_of_arg, connected_engine, open_project, print_json


def register(sub) -> None:
    seg = sub.add_parser("segment", help="count, list and save segments")
    seg_sub = seg.add_subparsers(dest="segment_command", metavar="SUBCOMMAND", parser_class=type(seg))

    def source(p, required=True):
        group = p.add_mutually_exclusive_group(required=required)
        group.add_argument(
            "--def",
            dest="definition",
            metavar="FILE",
            help="a segment definition JSON file, or - for standard input",
        )
        group.add_argument("--name", help="a saved segment's name")

    p = seg_sub.add_parser("count", help="the size of a segment")
    p.add_argument("project")
    source(p)
    p.add_argument("--as-of", dest="as_of", metavar="T", help="ISO date or date-time, UTC")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_count)

    p = seg_sub.add_parser("members", help="the member ids of a segment, as CSV")
    p.add_argument("project")
    source(p)
    p.add_argument("--as-of", dest="as_of", metavar="T", help="ISO date or date-time, UTC")
    p.add_argument("--out", metavar="FILE", help="write the CSV here instead of standard output")
    p.set_defaults(func=cmd_members)

    p = seg_sub.add_parser("save", help="save (or replace) a named segment")
    p.add_argument("project")
    p.add_argument("--name", required=True, help="the segment's name")
    p.add_argument(
        "--def",
        dest="definition",
        required=True,
        metavar="FILE",
        help="a segment definition JSON file, or - for standard input",
    )
    p.set_defaults(func=cmd_save)

    p = seg_sub.add_parser("list", help="the saved segments with level and size")
    p.add_argument("project")
    p.add_argument("--as-of", dest="as_of", metavar="T", help="ISO date or date-time, UTC")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_list)

    def no_sub(args) -> int:
        seg.print_help(sys.stderr)
        return 2

    seg.set_defaults(func=no_sub)


def read_definition(source: str):
    """Load a definition from FILE or ``-``; errors name the file and the JSON path."""
    from pathlib import Path

    from seglab.core.errors import SegmentError, UserError
    from seglab.core.segments import load_definition

    if source == "-":
        text, label = sys.stdin.read(), "standard input"
    else:
        path = Path(source)
        if not path.is_file():
            raise UserError(f"{source}: no such definition file")
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise UserError(f"{source}: cannot read the definition file ({exc})") from None
        label = source
    if not text.strip():
        raise UserError(f"{label}: the definition is empty (expected a JSON object)")
    try:
        return load_definition(text)
    except SegmentError as exc:
        raise SegmentError(f"{label}: {exc}") from None


def _definition(conn, args):
    if args.definition is not None:
        return read_definition(args.definition)
    from seglab.core.segments import get_saved

    return get_saved(conn, args.name).definition


def cmd_count(args) -> int:
    import time

    from seglab.core.segments import count

    as_of = as_of_arg(args.as_of)
    with open_project(args.project, readonly=True, connected_ok=True) as project:
        seg = _definition(project.conn, args)
        engine = connected_engine(project)
        start = time.perf_counter()
        if engine is None:
            n = count(project.conn, seg, as_of)
        else:
            with engine:
                n = engine.count(seg, as_of)
        seconds = time.perf_counter() - start
    if args.json:
        print_json({"level": seg.level, "count": n, "seconds": round(seconds, 6)})
    else:
        print(n)
    return 0


def cmd_members(args) -> int:
    import csv

    from seglab.core.segments import member_ids

    as_of = as_of_arg(args.as_of)
    with open_project(args.project, readonly=True, connected_ok=True) as project:
        seg = _definition(project.conn, args)
        engine = connected_engine(project)
        if engine is None:
            ids = member_ids(project.conn, seg, as_of)
        else:
            with engine:
                ids = engine.member_ids(seg, as_of)
    if args.out:
        try:
            fh = open(args.out, "w", encoding="utf-8", newline="")
        except OSError as exc:
            from seglab.core.errors import UserError

            raise UserError(f"{args.out}: cannot write the members file ({exc.strerror})") from None
    else:
        fh = sys.stdout
    try:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["id"])
        writer.writerows([i] for i in ids)
    finally:
        if fh is not sys.stdout:
            fh.close()
    return 0


def cmd_save(args) -> int:
    from seglab.core.segments import save_segment

    seg = read_definition(args.definition)
    with open_project(
        args.project, readonly=False, purpose="seglab segment save", connected_ok=True
    ) as project:
        saved = save_segment(project.conn, args.name, seg)
    print(f"saved segment {saved.name!r} ({saved.level} level)")
    return 0


def cmd_list(args) -> int:
    from seglab.core.segments import count, list_saved

    as_of = as_of_arg(args.as_of)
    rows = []
    with open_project(args.project, readonly=True, connected_ok=True) as project:
        engine = connected_engine(project)
        try:
            size = (
                (lambda seg: count(project.conn, seg, as_of))
                if engine is None
                else (lambda seg: engine.count(seg, as_of))
            )
            for saved in list_saved(project.conn):
                rows.append(
                    {
                        "name": saved.name,
                        "level": saved.level,
                        "size": size(saved.definition),
                        "updated": saved.updated,
                    }
                )
        finally:
            if engine is not None:
                engine.close()
    if args.json:
        print_json(rows)
        return 0
    if not rows:
        print("no saved segments")
        return 0
    width = max(len(r["name"]) for r in rows)
    for r in rows:
        print(f"{r['name']:<{width}}  {r['level']:<7}  {r['size']:>9}  {r['updated']}")
    return 0
