"""The segmentation worksheet: one self-contained HTML file about the chosen segments.

:func:`build_report` gathers the numbers (:mod:`.worksheet`) and renders them
(:mod:`.render`, Jinja2 with autoescape, charts as inline SVG from :mod:`.svg`);
:func:`write_report` writes the file. The desktop app and ``seglab report`` both call
these. No Qt, no network: the page loads nothing from anywhere.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from seglab.core.progress import NULL_PROGRESS, Progress

__all__ = ["build_report", "write_report"]


def build_report(
    conn_or_project_path,
    segments: list[str] | None = None,
    as_of_ms: int | None = None,
    progress: Progress = NULL_PROGRESS,
) -> str:
    """The worksheet as an HTML string.

    ``conn_or_project_path`` is an open SQLite connection, a :class:`~seglab.core.project.Project`,
    or the path of a project file (then opened read-only, without a lock, and closed again).
    ``segments`` names saved segments; ``None`` or empty means every saved segment. An
    unknown name raises :class:`~seglab.core.errors.UserError`.
    """
    from seglab.core.project import Project
    from seglab.core.report.render import render
    from seglab.core.report.worksheet import gather

    if isinstance(conn_or_project_path, sqlite3.Connection):
        return render(gather(conn_or_project_path, segments, as_of_ms, progress))
    if isinstance(conn_or_project_path, Project):
        proj = conn_or_project_path
        return render(gather(proj.conn, segments, as_of_ms, progress, project_name=proj.name))
    proj = Project.open(Path(conn_or_project_path), readonly=True)
    try:
        return render(gather(proj.conn, segments, as_of_ms, progress, project_name=proj.name))
    finally:
        proj.close()


def write_report(
    path: str | os.PathLike,
    conn_or_project_path,
    segments: list[str] | None = None,
    as_of_ms: int | None = None,
    progress: Progress = NULL_PROGRESS,
) -> Path:
    """Build the worksheet and write it to ``path`` (UTF-8), atomically; return the path.

    ``path`` follows the safe-output rules of :mod:`seglab.core.output`: never over the
    project, another project, a folder or a device; checked before the numbers are gathered.
    """
    from seglab.core.output import check_output, write_text

    protect = _project_file(conn_or_project_path)
    check_output(path, protect=protect)
    html = build_report(conn_or_project_path, segments, as_of_ms, progress)
    return write_text(path, html, protect=protect)


def _project_file(source) -> list[str]:
    from seglab.core.project import Project

    if isinstance(source, Project):
        return [str(source.path)]
    if isinstance(source, sqlite3.Connection):
        return [row[2] for row in source.execute("PRAGMA database_list") if row[1] == "main" and row[2]]
    return [os.fspath(source)]
