"""Shared plumbing for the ``seglab`` subcommands: parsing, errors, output."""

from __future__ import annotations

import argparse
import errno
import json
import os
import sqlite3
import sys
from pathlib import Path

from seglab.core.errors import Cancelled, StorageError, UserError


class UsageError(UserError):
    """Bad command-line arguments (exit code 2)."""


class CliParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line and go through our exit codes."""

    def error(self, message: str):  # argparse prints usage + exits; we want one line
        raise UsageError(f"{self.prog}: {message}")


_command = ""


def run_command(parser: argparse.ArgumentParser, argv: list[str]) -> int:
    args = None
    global _command
    # The command's words ("analyze trend"), for sentences that name it.
    _command = " ".join(argv[:2] if argv and argv[0] in ("analyze", "segment", "chart") else argv[:1])
    try:
        args = parser.parse_args(argv)
        func = getattr(args, "func", None)
        if func is None:
            parser.print_help()
            return 2
        _check_out_early(args)
        result = func(args)
        sys.stdout.flush()  # a full standard output fails here, inside the handlers below
        return int(result or 0)
    except UserError as exc:
        print(f"seglab: error: {exc}", file=sys.stderr)
        return 2
    except StorageError as exc:
        print(f"seglab: error: {exc}", file=sys.stderr)
        return 1
    except Cancelled:
        print("seglab: cancelled; nothing was changed", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("seglab: interrupted; nothing was changed", file=sys.stderr)
        return 1
    except BrokenPipeError:
        _silence_stdout()
        return 0
    except sqlite3.DatabaseError as exc:
        # Damage that opening did not reach (opening reads only the schema and small tables).
        name = Path(getattr(args, "project", "") or "project").name
        if _is_damage(exc):
            print(f"seglab: error: {name}: this project file is damaged and cannot be read", file=sys.stderr)
            return 2
        code = getattr(exc, "sqlite_errorname", "")
        if code == "SQLITE_FULL" or code.startswith("SQLITE_IOERR"):
            from seglab.core.project import describe_database_error

            print(f"seglab: error: {describe_database_error(Path(name), exc)}", file=sys.stderr)
            return 1
        print(f"seglab: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        if _debug():
            raise
        return 1
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EIO, errno.EDQUOT, errno.EBADF):
            return _internal_error(exc)
        # Output that could not be written: in practice standard output (files use seglab.core.output).
        _silence_stdout()
        print(f"seglab: error: cannot write to standard output ({exc.strerror})", file=sys.stderr)
        return 1
    except Exception as exc:  # a bug or an environment problem: say so briefly
        return _internal_error(exc)


def _internal_error(exc: BaseException) -> int:
    print(f"seglab: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
    if _debug():
        raise exc
    return 1


def _silence_stdout() -> None:
    """Point standard output at /dev/null so the interpreter's last flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


def _check_out_early(args) -> None:
    """A bad ``--out`` is refused before any work is done (it is checked again when written)."""
    out = getattr(args, "out", None)
    if isinstance(out, str) and out != "-":
        from seglab.core.output import check_output

        project = getattr(args, "project", None)
        check_output(out, protect=[project] if project else [])


def add_raw_option(p) -> None:
    p.add_argument(
        "--raw",
        action="store_true",
        help="write cells exactly as they are (no leading ' on cells a spreadsheet would run as formulas)",
    )


def write_csv_output(args, columns, rows) -> None:
    """CSV (seglab.core.csvout) to ``--out`` (safely: seglab.core.output) or standard output."""
    from seglab.core import csvout

    raw = bool(getattr(args, "raw", False))
    out = getattr(args, "out", None)
    if out is None or out == "-":
        csvout.write_csv(sys.stdout, columns, rows, raw=raw)
        sys.stdout.flush()
        return
    from seglab.core.output import open_output

    project = getattr(args, "project", None)
    with open_output(out, protect=[project] if project else []) as fh:
        csvout.write_csv(fh, columns, rows, raw=raw)


def _is_damage(exc: Exception) -> bool:
    text = str(exc).lower()
    return "malformed" in text or "not a database" in text or "corrupt" in text


def _debug() -> bool:
    import os

    return bool(os.environ.get("SEGLAB_DEBUG"))


def print_json(value) -> None:
    json.dump(value, sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")


def open_project(path: str, *, readonly: bool, purpose: str = "seglab command", connected_ok: bool = False):
    """Open a project for one command. A connected project (docs/sources.md) is refused with a
    sentence unless the command runs on connected projects (``connected_ok``)."""
    from seglab.core.project import Project

    project = Project.open(Path(path), readonly=readonly, purpose=purpose)
    if not connected_ok:
        try:
            refuse_connected(project, purpose)
        except BaseException:
            project.close()
            raise
    return project


def refuse_connected(project, purpose: str) -> None:
    from seglab.core.engines.base import source_of

    source = source_of(project.conn)
    if source is None:
        return
    name = Path(project.path).name
    if purpose == "seglab import":
        raise UserError(
            f"{name} reads its events from {source['url']}; import does not apply to a connected "
            "project (nothing was changed)"
        )
    command = purpose.removeprefix("seglab ").strip()
    if command in ("", "command"):
        command = _command or "this command"
    raise UserError(
        f"{name} is connected to {source['url']}; '{command}' does not run on connected projects "
        "(every command that reads does: info, segment, analyze, report, chart, find, as-of)"
    )


def connected_engine(project):
    """The ClickHouse engine of a connected project (close it when done), None for a local one."""
    from seglab.core.engines.base import source_of

    source = source_of(project.conn)
    if source is None:
        return None
    from seglab.core.engines.clickhouse import ClickHouseEngine

    return ClickHouseEngine.open(project.conn, source)


def as_of_arg(value: str | None) -> int | None:
    if value is None:
        return None
    from seglab.core.timeutil import parse_as_of

    return parse_as_of(value)
