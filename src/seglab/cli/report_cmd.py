"""``seglab report PROJECT --out FILE.html [--segment NAME]... [--as-of T]``: the worksheet.

The project is opened read-only (no lock, no writes), so the report can be made
while the app has the project open. Without ``--segment`` every saved segment is
included. An unknown segment name, a bad ``--as-of`` or an unwritable ``--out`` is a
wrong request: exit code 2 with one line on standard error.
"""

from __future__ import annotations

import sys

from seglab.cli.common import as_of_arg, open_project


def register(sub) -> None:
    p = sub.add_parser("report", help="write the segmentation worksheet as one self-contained HTML file")
    p.add_argument("project")
    p.add_argument("--out", required=True, metavar="FILE.html", help="the HTML file to write")
    p.add_argument(
        "--segment",
        action="append",
        default=[],
        metavar="NAME",
        help="a saved segment to include (repeatable; default: every saved segment)",
    )
    p.add_argument("--as-of", dest="as_of", help="as-of time: ISO date or date-time, UTC")
    p.set_defaults(func=cmd_report)


def cmd_report(args) -> int:
    from pathlib import Path

    from seglab.core.report import write_report

    out = Path(args.out)  # checked by the safe-output rules before this runs (cli.common)
    as_of = as_of_arg(args.as_of)
    progress = _TerminalProgress()
    with open_project(args.project, readonly=True, connected_ok=True) as project:
        try:
            write_report(out, project, args.segment or None, as_of, progress)
        finally:
            progress.clear()
    print(f"wrote {out}", file=sys.stderr)
    return 0


class _TerminalProgress:
    """Shows which segment is being worked on, on a terminal only (a worksheet takes seconds)."""

    def __init__(self):
        self._tty = sys.stderr.isatty()
        self._shown = False

    def report(self, done, total=None, text=""):
        if self._tty and text:
            text = "".join(c if c.isprintable() else "?" for c in text)  # a name is data, not escapes
            step = f"[{int(done) + 1}/{int(total)}] " if total and done < total else ""
            sys.stderr.write(f"\r{step}{text}\x1b[K")
            sys.stderr.flush()
            self._shown = True

    def is_cancelled(self) -> bool:
        return False

    def clear(self) -> None:
        if self._shown:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()
