"""Shared plumbing for the ``seglab`` subcommands: parsing, errors, output."""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from pathlib import Path

from seglab.core.errors import Cancelled, UserError


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
        result = func(args)
        return int(result or 0)
    except UserError as exc:
        print(f"seglab: error: {exc}", file=sys.stderr)
        return 2
    except Cancelled:
        print("seglab: cancelled; nothing was changed", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("seglab: interrupted; nothing was changed", file=sys.stderr)
        return 1
    except BrokenPipeError:
        return 0
    except sqlite3.DatabaseError as exc:
        # Damage that opening did not reach (opening reads only the schema and small tables).
        if _is_damage(exc):
            name = Path(getattr(args, "project", "") or "project").name
            print(f"seglab: error: {name}: this project file is damaged and cannot be read", file=sys.stderr)
            return 2
        print(f"seglab: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        if _debug():
            raise
        return 1
    except Exception as exc:  # a bug or an environment problem: say so briefly
        print(f"seglab: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        if _debug():
            raise
        return 1


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
        f"{name} is connected to {source['url']}; '{command}' does not run on connected projects yet "
        "(info, segment count, members, save and list, and every analysis but distinguish do)"
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
