"""Process A of the multi-process tests (tests/core/test_multiprocess_saves.py).

Opens a project for writing and obeys one command a line on standard input, answering
``ok ...`` or ``error ...`` on standard output. Run as a real process, never a thread: the
bug it guards against (a plain close() dropping this process's SQLite locks) is per process.
"""

from __future__ import annotations

import sys
from pathlib import Path

from seglab.core.project import Project, check_project_file
from seglab.core.segments import save_segment
from seglab.core.storage.connection import connected

DEFINITION = {"level": "user", "match": "all", "conditions": []}


def main(path: Path) -> None:
    project = Project.open(path)
    print("ok open", flush=True)
    for line in sys.stdin:
        command, _, arg = line.strip().partition(" ")
        try:
            if command == "save":
                save_segment(project.conn, arg, DEFINITION)
            elif command == "check":
                check_project_file(path)
            elif command == "readonly":
                Project.open(path, readonly=True).close()
            elif command == "save-copy":  # the app's "Save As": a read-only open of the source
                with Project.open(path, readonly=True) as source:
                    source.save_as(arg)
            elif command == "worksheet":  # the app's "Export worksheet": by path, read-only
                from seglab.core.report import write_report

                write_report(arg, path)
            elif command == "reader":
                with connected(path, readonly=True) as conn:
                    conn.execute("SELECT count(*) FROM segments").fetchone()
            else:
                raise ValueError(f"unknown command {command!r}")
        except Exception as exc:  # report, keep going: the test decides
            print(f"error {type(exc).__name__}: {exc}", flush=True)
        else:
            print(f"ok {command}", flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
