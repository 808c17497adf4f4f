"""The ``seglab`` command: the desktop app's headless twin (reference: docs/cli.md).

``seglab`` / ``seglab PROJECT`` / ``seglab --demo`` open the app; the subcommands
(``new``, ``info``, ``import``, ``segment``, ``analyze`` ...) run headless on the
same Qt-free core. Exit codes: 0 success, 2 a wrong request (one line on stderr,
no traceback), 1 anything else.

Each group of subcommands lives in its own module with a ``register(subparsers)``
function; heavy imports happen inside the command functions so ``--version`` and
``--help`` stay instant.
"""

from __future__ import annotations

import sys

from seglab._version import __version__
from seglab.cli.common import CliParser, run_command

# Modules that register subcommands, in help order.
COMMAND_MODULES = (
    "seglab.cli.project_cmds",
    "seglab.cli.import_cmd",
    "seglab.cli.connect_cmd",
    "seglab.cli.segment_cmds",
    "seglab.cli.people_cmds",
    "seglab.cli.analyze_cmds",
    "seglab.cli.chart_cmds",
    "seglab.cli.report_cmd",
)


def build_parser() -> CliParser:
    import importlib

    parser = CliParser(prog="seglab", description="SegLab headless commands.")
    parser.add_argument("--version", action="version", version=f"seglab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=CliParser)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def _headless_names(parser: CliParser) -> set[str]:
    for action in parser._actions:
        if action.dest == "command":
            return set(action.choices)
    return set()


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if argv and argv[0] in _headless_names(parser) | {"-h", "--help", "--version"}:
        return run_command(parser, argv)
    return _desktop(argv)


def _desktop(argv: list[str]) -> int:
    """``seglab [PROJECT] [--demo]``: open the desktop app."""
    desk = CliParser(prog="seglab", description="Open the SegLab desktop app.")
    desk.add_argument("project", nargs="?", help="a .seglab project file to open")
    desk.add_argument("--demo", action="store_true", help="open a fresh copy of the demo project")
    desk.add_argument("--version", action="version", version=f"seglab {__version__}")

    def launch(args) -> int:
        from seglab.cli.desktop_check import display_problem

        problem = display_problem()
        if problem is not None:
            print(f"seglab: error: {problem}", file=sys.stderr)
            return 1
        from seglab.ui.app import main as app_main

        return app_main(project=args.project, demo=args.demo)

    desk.set_defaults(func=launch)
    return run_command(desk, argv)
