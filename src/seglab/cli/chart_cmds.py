"""``seglab chart list|run``: saved charts without the app (docs/cli.md).

``chart run`` writes the CSV the chart's analysis writes on ``seglab analyze`` (same
columns, same cells), from the same core function the Charts page draws.
"""

from __future__ import annotations

from seglab.cli.common import UsageError, add_raw_option, open_project, print_json

# A chart kind → the ``analyze`` command that writes the same CSV.
ANALYZE_NAMES = {
    "trend": "trend",
    "funnel": "funnel",
    "retention": "retention",
    "distribution": "distribution",
    "top_events": "top-events",
    "stickiness": "stickiness",
    "lifecycle": "lifecycle",
    "overlap": "overlap",
    "distinguishes": "distinguish",
    "segment_size": "size",
}


def register(sub) -> None:
    p = sub.add_parser("chart", help="list and run saved charts")
    chart_sub = p.add_subparsers(dest="chart_command", metavar="SUBCOMMAND", parser_class=type(p))

    ls = chart_sub.add_parser("list", help="the saved charts: name, kind, segments")
    ls.add_argument("project")
    ls.add_argument("--json", action="store_true", help="print JSON")
    ls.set_defaults(func=cmd_list)

    run = chart_sub.add_parser("run", help="a saved chart's numbers as its analysis's CSV")
    run.add_argument("project")
    run.add_argument("--name", required=True, help="the saved chart's name")
    run.add_argument("--out", metavar="FILE", help="write the CSV here instead of standard output")
    add_raw_option(run)
    run.set_defaults(func=cmd_run)

    def no_sub(args) -> int:
        raise UsageError("seglab chart: choose list or run")

    p.set_defaults(func=no_sub)


def cmd_list(args) -> int:
    from seglab.core.charts import list_charts, load_chart

    with open_project(args.project, readonly=True, connected_ok=True) as project:
        items = []
        for saved in list_charts(project.conn):
            spec = load_chart(project.conn, saved.name)
            items.append(
                {
                    "name": saved.name,
                    "kind": ANALYZE_NAMES.get(spec.kind, spec.kind),
                    "segments": list(spec.segments),
                }
            )
    if args.json:
        print_json(items)
        return 0
    for item in items:
        segments = ", ".join(item["segments"]) or "everyone"
        print(f"{item['name']}\t{item['kind']}\t{segments}")
    return 0


def cmd_run(args) -> int:
    from seglab.cli.analyze_cmds import _write_csv, plain_values
    from seglab.core.charts import load_chart, run_chart

    with open_project(args.project, readonly=True, connected_ok=True) as project:
        spec = load_chart(project.conn, args.name)
        frame = run_chart(project.conn, spec)
    if spec.kind == "trend":
        frame = plain_values(frame, str(spec.option("measure")))
    _write_csv(frame, list(frame.columns), args)
    return 0
