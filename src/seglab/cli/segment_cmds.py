"""``seglab segment count | members | save | list | history | restore`` (reference: docs/cli.md)."""

from __future__ import annotations

import contextlib
import sys

from seglab.cli.common import (
    add_raw_option,
    as_of_arg,
    connected_engine,
    open_project,
    print_json,
    write_csv_output,
)


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
    p.add_argument(
        "--sum", action="append", default=[], metavar="ENTITY.PROPERTY",
        help="with --json: sum a numeric user or account property over the members (repeatable)",
    )  # fmt: skip
    p.set_defaults(func=cmd_count)

    p = seg_sub.add_parser("members", help="the member ids of a segment, as CSV")
    p.add_argument("project")
    source(p)
    p.add_argument("--as-of", dest="as_of", metavar="T", help="ISO date or date-time, UTC")
    p.add_argument("--out", metavar="FILE", help="write the CSV here instead of standard output")
    add_raw_option(p)
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

    p = seg_sub.add_parser("history", help="every saved version of a segment, newest first")
    p.add_argument("project")
    p.add_argument("--name", required=True, help="the segment's name")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_history)

    p = seg_sub.add_parser("restore", help="save an earlier version again as the newest")
    p.add_argument("project")
    p.add_argument("--name", required=True, help="the segment's name")
    p.add_argument("--version", required=True, type=int, metavar="N", help="the version to restore")
    p.set_defaults(func=cmd_restore)

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
        label = "standard input"
        try:
            text = sys.stdin.buffer.read().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise UserError(f"{label}: the definition is not valid UTF-8 (at byte {exc.start + 1})") from None
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


@contextlib.contextmanager
def _naming(args):
    """Validation errors of a ``--def`` definition name its file (or standard input)."""
    from seglab.core.errors import SegmentError

    try:
        yield
    except SegmentError as exc:
        source = getattr(args, "definition", None)
        if source is None:
            raise
        label = "standard input" if source == "-" else source
        if str(exc).startswith(f"{label}: "):
            raise
        raise SegmentError(f"{label}: {exc}") from None


def cmd_count(args) -> int:
    import time

    from seglab.core.segments import count

    as_of = as_of_arg(args.as_of)
    with open_project(args.project, readonly=True, connected_ok=True) as project:
        seg = _definition(project.conn, args)
        engine = connected_engine(project)
        start = time.perf_counter()
        sums = None
        wanted = list(dict.fromkeys(args.sum))
        with _naming(args):
            if engine is None:
                n = count(project.conn, seg, as_of)
                seconds = time.perf_counter() - start
                if wanted:
                    from seglab.core.analyses.membership import segment_sums
                    from seglab.core.segments import member_keys

                    keys = member_keys(project.conn, seg, as_of)
                    sums = segment_sums(project.conn, seg.level, keys, wanted)
            else:
                from seglab.core.engines.clickhouse import segment_sums as source_sums

                with engine:
                    n = engine.count(seg, as_of)
                    seconds = time.perf_counter() - start
                    if wanted:  # pushed down: the members stay in the source
                        sums = source_sums(engine, seg, as_of, wanted)
    if args.json:
        out = {"level": seg.level, "count": n, "seconds": round(seconds, 6)}
        if sums is not None:
            out["sums"] = sums
        print_json(out)
    else:
        print(n)
    return 0


def cmd_members(args) -> int:
    from seglab.core.segments import member_ids

    as_of = as_of_arg(args.as_of)
    with open_project(args.project, readonly=True, connected_ok=True) as project:
        seg = _definition(project.conn, args)
        engine = connected_engine(project)
        with _naming(args):
            if engine is None:
                ids = member_ids(project.conn, seg, as_of)
            else:
                with engine:
                    ids = engine.member_ids(seg, as_of)
    write_csv_output(args, ["id"], ([i] for i in ids))
    return 0


def cmd_save(args) -> int:
    from seglab.core.segments import save_segment

    seg = read_definition(args.definition)
    with (
        open_project(
            args.project, readonly=False, purpose="seglab segment save", connected_ok=True
        ) as project,
        _naming(args),
    ):
        saved = save_segment(project.conn, args.name, seg)
    print(f"saved segment {saved.name!r} ({saved.level} level)")
    return 0


def list_rows(conn, as_of_ms: int | None, engine=None) -> list[dict]:
    """The rows of ``segment list --json`` (the Python API's ``segments()`` too); sizes from
    ``engine`` on a connected project.

    A segment that cannot be evaluated is listed with ``size`` None and its ``problem``: it never
    hides the others."""
    from seglab.core.errors import SegmentError
    from seglab.core.segments import count, list_saved, segment_problem

    rows = []
    for saved in list_saved(conn):
        problem = segment_problem(conn, saved)
        size = None
        if problem is None:
            try:
                size = (
                    count(conn, saved.definition, as_of_ms)
                    if engine is None
                    else engine.count(saved.definition, as_of_ms)
                )
            except SegmentError as exc:
                problem = str(exc)
        row = {"name": saved.name, "level": saved.level, "size": size, "updated": saved.updated}
        if problem is not None:
            row["problem"] = problem
        rows.append(row)
    return rows


def cmd_list(args) -> int:
    as_of = as_of_arg(args.as_of)
    with open_project(args.project, readonly=True, connected_ok=True) as project:
        engine = connected_engine(project)
        try:
            rows = list_rows(project.conn, as_of, engine)
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
        size = "-" if r["size"] is None else r["size"]
        line = f"{r['name']:<{width}}  {r['level']:<7}  {size:>9}  {r['updated']}"
        print(f"{line}  cannot be evaluated: {r['problem']}" if "problem" in r else line)
    return 0


def cmd_history(args) -> int:
    import csv
    import json

    from seglab.core.segments import segment_versions

    # Versions live in the project file, a connected project's too.
    with open_project(args.project, readonly=True, connected_ok=True) as project:
        versions = segment_versions(project.conn, args.name)
        if args.json:
            print_json(
                [
                    {
                        "version": v.version,
                        "saved_at": v.saved_at,
                        "definition": json.loads(v.definition_text),
                    }
                    for v in versions
                ]
            )
            return 0
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(["version", "saved_at", "description"])
        writer.writerows([v.version, v.saved_at, v.description()] for v in versions)
    return 0


def cmd_restore(args) -> int:
    from seglab.core.segments import restore_version, segment_versions

    with open_project(
        args.project, readonly=False, purpose="seglab segment restore", connected_ok=True
    ) as project:
        before = segment_versions(project.conn, args.name)[0].version
        restore_version(project.conn, args.name, args.version)
        after = segment_versions(project.conn, args.name)[0].version
    if after == before:
        print(f"version {args.version} of {args.name!r} is already the current one; nothing changed")
    else:
        print(f"restored version {args.version} of {args.name!r} as version {after}")
    return 0
