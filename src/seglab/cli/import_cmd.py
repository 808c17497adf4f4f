"""``seglab import`` and ``seglab demo``."""

from __future__ import annotations

import sys

from seglab.cli.common import UsageError, open_project, print_json


def register(sub) -> None:
    p = sub.add_parser(
        "import",
        help="import CSV, JSON lines or Parquet files (events, users, accounts) into a project",
    )
    p.add_argument("project")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--kind", choices=("events", "users", "accounts"), help="what the files hold")
    p.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="FIELD=COLUMN",
        help="name the column holding user_id, timestamp, event, account_id or insert_id "
        "(FIELD= with no column: the file has no such field)",
    )
    p.add_argument("--strict", action="store_true", help="import nothing from a file with rejected rows")
    p.add_argument("--force", action="store_true", help="import content that was imported before")
    p.add_argument("--date-format", metavar="FMT", help="strptime format of the timestamps, e.g. %%d/%%m/%%Y")
    p.add_argument("--encoding", help="text encoding of CSV and JSON lines files (default: detected)")
    p.add_argument("--delimiter", help="CSV field delimiter (default: detected; 'tab' for tabs)")
    p.add_argument("--timezone", metavar="ZONE", help="zone of timestamps written without one (default UTC)")
    p.add_argument(
        "--accounts-from-email",
        action="store_true",
        help="users files without an account id: link users to an account named after their email domain",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object per file")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("demo", help="write the bundled demo project")
    p.add_argument("project")
    p.set_defaults(func=cmd_demo)


def _parse_map(items: list[str]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for item in items:
        field, sep, column = item.partition("=")
        if not sep or not field.strip():
            raise UsageError(f"--map {item!r}: expected FIELD=COLUMN, e.g. --map user_id='Customer ID'")
        mapping[field.strip()] = column
    return mapping


class _StderrProgress:
    """Prints a progress line to a terminal now and then; silent when stderr is not a terminal."""

    def __init__(self):
        import time

        self._tty = sys.stderr.isatty()
        self._time = time.monotonic
        self._last = 0.0

    def report(self, done, total=None, text=""):
        if not self._tty:
            return
        now = self._time()
        if now - self._last < 0.5:
            return
        self._last = now
        pct = f"{100 * done / total:3.0f}% " if total else ""
        sys.stderr.write(f"\r{pct}{text}\x1b[K")
        sys.stderr.flush()

    def is_cancelled(self):
        return False

    def done(self):
        if self._tty and self._last:
            sys.stderr.write("\r\x1b[K")


def cmd_import(args) -> int:
    failures = 0
    for file, report in run_import(args):
        if args.json:
            print_json(report.to_json())
        else:
            _print_report(report)
        if not report.committed:
            failures += 1
            rows = "row" if report.rows_rejected == 1 else "rows"
            print(
                f"seglab: error: {file}: {report.rows_rejected} {rows} rejected; "
                "--strict: nothing imported "
                f"(see {report.rejects_file})",
                file=sys.stderr,
            )
    return 2 if failures else 0


def run_import(args):
    """Import ``args.files`` into ``args.project`` as ``seglab import`` does (checks, order, one
    lock for all files), yielding ``(file, report)`` as each file is done; the Python API's
    ``import_files`` runs this too."""
    from pathlib import Path

    from seglab.core.errors import ImportFileError
    from seglab.core.importing import import_file
    from seglab.core.project import is_seglab_project

    mapping = _parse_map(args.map)
    delimiter = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}.get(
        args.delimiter or "", args.delimiter
    )
    if delimiter is not None and len(delimiter) != 1:
        raise UsageError(f"--delimiter {args.delimiter!r}: give one character (or tab)")
    for file in args.files:
        path = Path(file)
        if not path.is_file():
            raise ImportFileError(f"{file}: no such file" if not path.exists() else f"{file}: not a file")
        if is_seglab_project(path):  # read through SQLite: never a plain handle on a project
            raise ImportFileError(f"{file}: is a SegLab project, not a data file to import")
    files = _in_import_order(args.files, args.kind, mapping, args.encoding, delimiter)
    with open_project(args.project, readonly=False, purpose="seglab import") as project:
        for file in files:
            progress = _StderrProgress()
            report = import_file(
                project,
                file,
                kind=args.kind,
                mapping=mapping or None,
                strict=args.strict,
                force=args.force,
                date_format=args.date_format,
                progress=progress,
                encoding=args.encoding,
                delimiter=delimiter,
                timezone=args.timezone,
                accounts_from_email=args.accounts_from_email,
            )
            progress.done()
            yield file, report


def _in_import_order(files, kind, mapping, encoding, delimiter) -> list[str]:
    """Accounts, then users, then events (links and properties land in the right order);
    files whose kind cannot be told keep their place and fail with their own message."""
    if len(files) < 2 or kind:
        return list(files)
    from seglab.core.errors import UserError
    from seglab.core.importing import import_order, preview

    kinds = {}
    for i, file in enumerate(files):
        try:
            kinds[(i, file)] = preview(
                file, mapping=mapping or None, encoding=encoding, delimiter=delimiter, sample_rows=5
            ).kind
        except (UserError, OSError, LookupError):
            kinds[(i, file)] = None
    if any(k is None for k in kinds.values()):
        return list(files)
    return [file for _, file in import_order(kinds)]


def _print_report(report) -> None:
    kind = f"{report.kind} ({report.shape})" if report.shape else report.kind
    line = (
        f"{report.file}: {kind}, {report.rows_imported:,} of {report.rows_read:,} rows imported "
        f"in {report.seconds:.1f} s"
    )
    if report.duplicates_skipped:
        line += f", {report.duplicates_skipped:,} duplicates skipped"
    print(line)
    if report.rows_rejected:
        reasons = ", ".join(
            f"{n:,} {r}" for r, n in sorted(report.reject_reasons.items(), key=lambda x: -x[1])
        )
        print(f"  {report.rows_rejected:,} rows rejected ({reasons}); see {report.rejects_file}")
    if report.account_conflicts:
        print(f"  {report.conflict_sentence()}; `seglab info --json` lists them")


def cmd_demo(args) -> int:
    from seglab.core.demo import build_demo

    path = build_demo(args.project)
    print(f"created {path}")
    return 0
