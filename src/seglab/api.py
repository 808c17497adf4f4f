"""The Python API: SegLab's core for notebooks and scripts (reference: docs/api.md).

A thin face over the same functions the command line runs: ``count`` and ``members``
call the core's segment engine, ``segments`` the rows of ``segment list``, and
``analyze`` parses its options with ``seglab analyze``'s own parser and returns the frame
that command writes as CSV, typed. pandas is imported only when a table is built, so
``import seglab`` stays cheap and never loads Qt.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seglab.core.errors import ProjectError, SegmentError, UserError
from seglab.core.errors import ReadOnlyError as ReadOnlyError

if TYPE_CHECKING:  # names for annotations only: importing seglab stays cheap
    import datetime as dt
    from typing import TypeAlias

    import pandas as pd

    from seglab.core.project import Project as _CoreProject
    from seglab.core.segments import SegmentDef

    #: A saved segment's name, or a definition: a dict, JSON text (a ``str`` starting with
    #: ``{``) or a :class:`pathlib.Path` to a JSON file.
    Definition: TypeAlias = str | Mapping[str, Any] | Path | SegmentDef
    #: An ISO date or date-time string, a ``datetime`` (naive means UTC), a ``date`` (its end,
    #: as ``--as-of 2024-03-31`` means), a ``pandas.Timestamp``, or ``None`` for the project's as-of.
    AsOf: TypeAlias = str | dt.date | dt.datetime | pd.Timestamp | None

# Columns of the analysis CSVs by the dtype the API gives them (docs/api.md). A column not
# listed is typed from its cells (whole numbers, numbers, true/false, else text).
_DATETIME_COLUMNS = frozenset({"period_start", "cohort_start", "evaluated_at", "updated"})
_INT_COLUMNS = frozenset(
    {
        "size", "step", "entered", "cohort_size", "period", "retained", "units", "rest_units", "days",
        "intersection", "union", "bin_low", "bin_high",
    }
)  # fmt: skip
_FLOAT_COLUMNS = frozenset(
    {
        "conversion_from_start", "conversion_from_previous", "median_seconds_from_previous", "rate",
        "share", "rest_share", "lift", "mean", "median", "p75", "p90", "p99", "segment_value",
        "rest_value", "difference", "effect_size", "p_value", "jaccard",
    }
)  # fmt: skip
_BOOL_COLUMNS = frozenset({"complete"})
_TEXT_COLUMNS = frozenset(
    {"segment", "group", "event", "region", "kind", "name", "status", "segment_a", "segment_b", "level"}
)
# Per analysis: columns whose meaning differs from the table above.
_KIND_COLUMNS = {
    ("overlap", "segments"): "Int64",  # how many segments the region is inside
    ("distribution", "max"): "Int64",  # the most events one unit did
    ("distinguish", "value"): "text",  # a text property's value
}
_WHOLE_MEASURES = frozenset({"count", "users", "accounts"})
# Options of `seglab analyze` that make no sense for a function returning a DataFrame.
_NOT_OPTIONS = {
    "project": "the project is the one analyze() is called on",
    "out": "analyze() returns the table; write it with DataFrame.to_csv",
    "help": "see help(seglab.Project.analyze) or docs/cli.md",
}


# -- opening ---------------------------------------------------------------------------------


def open(path: str | os.PathLike[str], write: bool = False) -> Project:
    """Open an existing project and return it as a :class:`Project`.

    Read-only by default: it takes no lock and never writes, so it can run while the app has
    the project open. ``write=True`` holds the project's lock until :meth:`Project.close`, as the
    app does; other writers are refused meanwhile (:class:`ProjectLockedError`), readers are not.

    Use it as a context manager: ``with seglab.open("acme.seglab") as p: p.count("Power users")``.
    """
    from seglab.core.project import Project as CoreProject

    core = CoreProject.open(Path(path), readonly=not write, purpose="Python (seglab.open)")
    return Project(core)


def new(path: str | os.PathLike[str]) -> Project:
    """Create an empty project, as ``seglab new`` does, and return it opened with ``write=True``.

    An existing file is refused (:class:`SeglabError`), never replaced.
    """
    from seglab.core.project import Project as CoreProject

    return Project(CoreProject.create(Path(path)))


def connect(
    path: str | os.PathLike[str],
    source: str | None = None,
    events: str | None = None,
    users: str | None = None,
    accounts: str | None = None,
    mapping: Mapping[str, str] | None = None,
) -> Project:
    """Create a connected project (its events stay in ClickHouse: a server or a chdb folder), as
    ``seglab connect`` does (docs/sources.md), and return it opened with ``write=False``.

    ``source`` is the URL (``clickhouse://USER@HOST:PORT/DATABASE`` or
    ``chdb:///ABSOLUTE/PATH``), ``events``/``users``/``accounts`` the tables, and ``mapping`` is
    ``{"FIELD": "COLUMN"}`` as ``--map FIELD=COLUMN`` (``None`` or ``""`` as ``FIELD=``: there is
    none). The same checks run and refuse with the command's sentences (:class:`SeglabError`);
    a refused project is not created.
    """
    from seglab.core.engines.connect import connect_project

    argv = ["connect", os.fspath(path)]
    flags: dict[str, Any] = {"source": source, "events": events, "users": users, "accounts": accounts}
    if mapping:
        flags["map"] = [f"{field}={'' if column is None else column}" for field, column in mapping.items()]
    argv += _flags(_subparser(["connect"]), flags)
    args = _parse(argv)
    tables = {"events": args.events, "users": args.users, "accounts": args.accounts}
    connect_project(args.project, args.source, tables, args.map)
    return open(args.project)


def import_files(
    path: str | os.PathLike[str],
    *files: str | os.PathLike[str],
    kind: str | None = None,
    strict: bool = False,
    mapping: Mapping[str, str] | None = None,
    force: bool = False,
    **options: Any,
) -> list[dict[str, Any]]:
    """Import CSV files into an existing project, as ``seglab import`` does.

    The files go in the same order (accounts, then users, then events), rejected rows go to
    the same ``FILE.rejects.csv`` files, and the project is locked for the whole import.
    Returns one dict per file, equal to that file's ``seglab import --json`` object. With
    ``strict=True`` a file with rejected rows imports nothing; its dict shows the rejects.

    ``mapping`` is ``{"FIELD": "COLUMN"}`` as ``--map FIELD=COLUMN``; ``options`` are the
    command's other flags without ``--`` (``date_format=``, ``encoding=``, ``delimiter=``,
    ``timezone=``, ``accounts_from_email=True``).
    """
    from seglab.cli.import_cmd import run_import

    if not files:
        raise UserError("import_files needs at least one file")
    argv = ["import", os.fspath(path), *(os.fspath(f) for f in files), "--json"]
    flags: dict[str, Any] = {"kind": kind, "strict": strict, "force": force, **options}
    if mapping:
        flags["map"] = [f"{field}={column}" for field, column in mapping.items()]
    argv += _flags(_subparser(["import"]), flags)
    args = _parse(argv)
    return [report.to_json() for _file, report in run_import(args)]


# -- the project -----------------------------------------------------------------------------


class Project:
    """An open SegLab project: counts, members, saved segments and analyses as DataFrames.

    Get one from :func:`seglab.open` or :func:`seglab.new`. Close it with :meth:`close`, or use
    it in a ``with`` block; calls on a closed project raise :class:`SeglabError`.
    """

    def __init__(self, core: _CoreProject):
        self._core: _CoreProject | None = core
        self.path: Path = core.path
        """The project file."""
        self.readonly: bool = core.readonly
        """True when opened without ``write=True``: nothing can be saved."""

    # -- lifecycle ---------------------------------------------------------------------------
    def close(self) -> None:
        """Close the project (and release its lock if it was opened with ``write=True``)."""
        if self._core is not None:
            self._core.close()
            self._core = None

    @property
    def closed(self) -> bool:
        """True once :meth:`close` has run."""
        return self._core is None

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else ("read-only" if self.readonly else "writable")
        return f"<seglab.Project {str(self.path)!r} ({state})>"

    def _conn(self):
        if self._core is None:
            raise ProjectError(f"{self.path.name}: the project is closed; open it again with seglab.open")
        return self._core.conn

    def _engine(self):
        """The source engine of a connected project (close it when done), None for a local one:
        the same one the command line counts with, so a connected project never reads its
        (empty) local tables."""
        from seglab.cli.common import connected_engine

        self._conn()
        return connected_engine(self._core)

    # -- reading -----------------------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        """Counts of events, users, accounts, event names and properties, the time range and the
        as-of time: the same dict as ``seglab info PROJECT --json``."""
        from seglab.cli.project_cmds import info_json

        conn = self._conn()
        engine = self._engine()
        if engine is None:
            return info_json(conn)
        with engine:
            return engine.info()

    def segments(self, as_of: AsOf = None) -> pd.DataFrame:
        """The saved segments: a DataFrame with columns ``name, level, size, updated``, in the
        rows and order of ``seglab segment list --json`` (sizes at ``as_of``)."""
        import pandas as pd

        from seglab.cli.segment_cmds import list_rows

        conn = self._conn()
        as_of_ms = _as_of_ms(as_of)
        engine = self._engine()
        try:
            rows = list_rows(conn, as_of_ms, engine)
        finally:
            if engine is not None:
                engine.close()
        columns = ["name", "level", "size", "updated"]
        return pd.DataFrame(
            {c: _column(c, [_cell(r[c]) for r in rows], dtype=_dtype_of(c, "segments")) for c in columns}
        )

    def segment(self, name_or_def: Definition, as_of: AsOf = None) -> Segment:
        """One segment with its level, size at ``as_of`` and a sentence describing it; a notebook
        shows it as a small card."""
        from seglab.core.segments import describe, dump_definition

        conn = self._conn()
        seg, name = _resolve(conn, name_or_def)
        as_of_ms = _as_of_ms(as_of)
        return Segment(
            name=name,
            level=seg.level,
            size=self._count(seg, as_of_ms),
            description=describe(seg),
            definition=dump_definition(seg),
        )

    def count(self, name_or_def: Definition, as_of: AsOf = None) -> int:
        """The number of members (users or accounts) of a segment at ``as_of``: the ``count`` that
        ``seglab segment count ... --json`` prints.

        ``name_or_def`` is a saved segment's name, or a definition (a dict, JSON text, or a
        :class:`pathlib.Path` to a JSON file).
        """
        seg, _name = _resolve(self._conn(), name_or_def)
        return self._count(seg, _as_of_ms(as_of))

    def _count(self, seg: SegmentDef, as_of_ms: int | None) -> int:
        from seglab.core.segments import count

        conn = self._conn()
        engine = self._engine()
        if engine is None:
            return int(count(conn, seg, as_of_ms))
        with engine:
            return int(engine.count(seg, as_of_ms))

    def members(self, name_or_def: Definition, as_of: AsOf = None, properties: bool = True) -> pd.DataFrame:
        """The members of a segment at ``as_of``: column ``id`` (the ids ``seglab segment members``
        prints, in its order), then one column per property of the level's entity (for users,
        their own properties), named like the properties and typed by the property's type.
        With ``properties=False`` the only column is ``id``. On a connected project the ids and
        the properties are read from the source, as ``seglab segment members`` reads them.
        """
        import pandas as pd

        from seglab.core.project import load_properties
        from seglab.core.segments import member_ids

        conn = self._conn()
        seg, _name = _resolve(conn, name_or_def)
        as_of_ms = _as_of_ms(as_of)
        props = load_properties(conn, seg.level) if properties else []
        columns = [p.column for p in props]
        engine = self._engine()
        if engine is None:
            ids = member_ids(conn, seg, as_of_ms)
            values = _property_rows(conn, seg.level, columns, ids) if properties else []
        else:
            with engine:
                ids = engine.member_ids(seg, as_of_ms)
                values = engine.property_rows(seg.level, columns, ids) if properties else []
        data: dict[str, Any] = {"id": _column("id", ids, "text")}
        if properties:
            for i, prop in enumerate(props):
                label = prop.name if prop.name not in data else f"{prop.name} (property)"
                data[label] = _property_column([row[i] for row in values], prop.type)
        return pd.DataFrame(data)

    # -- writing -----------------------------------------------------------------------------
    def save_segment(self, name: str, definition: Definition) -> None:
        """Save (or replace, keeping the old version in its history) a named segment, as
        ``seglab segment save`` does. Needs a project opened with ``write=True``; on a read-only
        one it raises :class:`ReadOnlyError` and writes nothing."""
        from seglab.core.segments import save_segment

        conn = self._conn()
        if self.readonly:
            raise ReadOnlyError(
                f"{self.path.name}: the project is open read-only; "
                "open it with seglab.open(path, write=True) to save segments"
            )
        if isinstance(definition, str) and not definition.lstrip().startswith("{"):
            raise SegmentError(
                "the definition is not JSON (expected a dict, JSON text or a pathlib.Path to a JSON file)"
            )
        seg, _name = _resolve(conn, definition)
        save_segment(conn, name, seg)

    # -- analyses ----------------------------------------------------------------------------
    def analyze(self, kind: str, **options: Any) -> pd.DataFrame:
        """Run an analysis as ``seglab analyze KIND`` does and return its CSV as a DataFrame: the
        same columns in the same order and the same rows, typed (dates ``datetime64[ms, UTC]``,
        whole numbers ``Int64``, rates ``float64``, ``complete`` ``boolean``).

        ``kind`` is the command's analysis name (``trend``, ``funnel``, ``retention``,
        ``distribution``, ``top-events`` or ``top_events``, ``stickiness``, ``lifecycle``,
        ``overlap``, ``distinguish``, ``size``). ``options`` are the command's flags without
        ``--``, dashes as underscores: ``event="login"``, ``measure="users"``,
        ``interval="week"``, ``steps=["signup", "purchase"]``, ``segments=["A", "B"]`` (one
        series each, as repeated ``--segment``), ``vs_rest=True``, ``from_="2024-04-01"`` or
        ``date_from=date(2024, 4, 1)``, ``to=...``, ``as_of=...``. Any option the command takes
        works here; an unknown one raises :class:`SeglabError` with the command's sentence.
        """
        from seglab.cli.analyze_cmds import analysis_frame

        self._conn()
        name = str(kind).replace("_", "-")
        if name.startswith("-"):
            raise UserError(f"analyze: {kind!r} is not an analysis (e.g. trend, funnel, retention)")
        argv = [name, str(self.path)]
        try:
            sub = _subparser(["analyze", name])
        except LookupError:
            sub = None  # parsing below says the analysis is unknown, in the command's words
        if sub is not None:
            argv += _flags(sub, options)
        frame, columns, args = analysis_frame(argv)
        return _typed(frame, columns, name, args)

    # -- display -----------------------------------------------------------------------------
    def _repr_html_(self) -> str:
        from html import escape as esc

        if self.closed:
            return f"<div><b>SegLab project</b> <code>{esc(str(self.path))}</code> (closed)</div>"
        info = self.info()
        facts = [
            ("events", f"{info['events']:,}"),
            ("users", f"{info['users']:,}"),
            ("accounts", f"{info['accounts']:,}"),
            ("event names", f"{info['event_names']:,}"),
            ("first event", info["first_event"] or "-"),
            ("last event", info["last_event"] or "-"),
            ("as of", (info["as_of"] or "-") + (" (pinned)" if info["as_of_pinned"] else "")),
        ]
        if "source" in info:  # a connected project: where its events are
            facts.insert(0, ("source", info["source"]["url"]))
        rows = "".join(
            f"<tr><th style='text-align:left'>{esc(k)}</th><td style='text-align:left'>{esc(v)}</td></tr>"
            for k, v in facts
        )
        segs = self.segments()
        seg_rows = "".join(
            f"<tr><td style='text-align:left'>{esc(str(r.name))}</td><td>{esc(str(r.level))}</td>"
            f"<td style='text-align:right'>{int(r.size):,}</td></tr>"
            for r in segs.itertuples(index=False)
        )
        seg_table = (
            "<table><tr><th style='text-align:left'>saved segment</th><th>level</th><th>size</th></tr>"
            f"{seg_rows}</table>"
            if seg_rows
            else "<p>No saved segments.</p>"
        )
        mode = "read-only" if self.readonly else "writable"
        return (
            f"<div><b>SegLab project</b> <code>{esc(self.path.name)}</code> ({mode})"
            f"<table>{rows}</table>{seg_table}</div>"
        )


class Segment:
    """A segment as :meth:`Project.segment` returns it: ``name`` (``None`` for an unsaved
    definition), ``level``, ``size``, ``description`` (one sentence) and ``definition`` (a dict
    as in docs/segments.md)."""

    def __init__(self, name: str | None, level: str, size: int, description: str, definition: dict):
        self.name = name
        self.level = level
        self.size = size
        self.description = description
        self.definition = definition

    def __repr__(self) -> str:
        label = repr(self.name) if self.name is not None else "unsaved"
        return f"<seglab.Segment {label}: {self.size:,} {self.level}s — {self.description}>"

    def _repr_html_(self) -> str:
        from html import escape as esc

        title = esc(self.name) if self.name is not None else "Unsaved segment"
        unit = "users" if self.level == "user" else "accounts"
        return f"<div><b>{title}</b> — {self.size:,} {unit}<br><span>{esc(self.description)}</span></div>"


# -- helpers ---------------------------------------------------------------------------------


def _resolve(conn, value: Definition) -> tuple[SegmentDef, str | None]:
    """(definition, saved name or None) for a name, dict, JSON text, Path or SegmentDef."""
    from seglab.core.segments import SegmentDef, get_saved, load_definition

    if isinstance(value, SegmentDef):
        return value, None
    if isinstance(value, Path):
        from seglab.cli.segment_cmds import read_definition

        return read_definition(str(value)), None
    if isinstance(value, Mapping):
        return load_definition(dict(value)), None
    if isinstance(value, str):
        if value.lstrip().startswith("{"):
            return load_definition(value), None
        return get_saved(conn, value).definition, value
    raise UserError(
        "a segment is a saved segment's name, a dict, JSON text or a pathlib.Path, "
        f"not {type(value).__name__}"
    )


def _as_of_ms(value: AsOf) -> int | None:
    """Milliseconds for an as-of value, read as ``--as-of`` reads it."""
    import datetime as dt

    from seglab.core.timeutil import UTC, datetime_to_ms, parse_as_of

    if value is None:
        return None
    if isinstance(value, str):
        return parse_as_of(value)
    if isinstance(value, dt.datetime):  # pandas.Timestamp is one too
        return datetime_to_ms(value if value.tzinfo is not None else value.replace(tzinfo=UTC))
    if isinstance(value, dt.date):
        return parse_as_of(value.isoformat())
    raise UserError(f"as_of {value!r}: give an ISO date or date-time, a datetime or a pandas.Timestamp")


def _parse(argv: list[str]):
    from seglab.cli import build_parser

    return build_parser().parse_args(argv)


def _subparser(path: Sequence[str]):
    """The argparse parser of ``seglab PATH...`` (e.g. ``["analyze", "trend"]``)."""
    import argparse

    from seglab.cli import build_parser

    parser: argparse.ArgumentParser = build_parser()
    for name in path:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction) and name in action.choices:
                parser = action.choices[name]
                break
        else:
            raise LookupError(name)
    return parser


def _flags(parser, options: Mapping[str, Any]) -> list[str]:
    """Command-line flags for keyword options, mapped through the parser's own actions, so an
    option the command grows works here unchanged. Unknown names become ``--name`` and the
    parser refuses them in its own words."""
    import argparse

    by_flag: dict[str, argparse.Action] = {}
    by_dest: dict[str, argparse.Action] = {}
    for action in parser._actions:
        for flag in action.option_strings:
            by_flag[flag] = action
        if action.option_strings:
            by_dest.setdefault(action.dest, action)
    argv: list[str] = []
    for key, value in options.items():
        name = key.rstrip("_")
        if name in _NOT_OPTIONS:
            raise UserError(f"{key}= is not an option here: {_NOT_OPTIONS[name]}")
        flag = "--" + name.replace("_", "-")
        action = by_flag.get(flag) or by_dest.get(key) or by_dest.get(name)
        if action is None and flag.endswith("s"):
            singular = by_flag.get(flag[:-1])
            if isinstance(singular, argparse._AppendAction):
                action = singular  # segments=[...] is repeated --segment
        if action is not None:
            flag = action.option_strings[-1] if action.option_strings[-1].startswith("--") else flag
        if value is None:
            continue
        if action is not None and action.nargs == 0:  # a switch such as --vs-rest
            if value is True:
                argv.append(flag)
            elif value is not False:
                raise UserError(f"{key}= takes True or False, not {value!r}")
            continue
        if action is not None and isinstance(action, argparse._AppendAction):
            items = [value] if isinstance(value, str) or not isinstance(value, Iterable) else list(value)
            argv += [f"{flag}={_text(item, action.dest)}" for item in items]
            continue
        argv.append(f"{flag}={_text(value, action.dest if action is not None else name)}")
    return argv


def _text(value: Any, dest: str) -> str:
    """A value as the command line would be given it."""
    import datetime as dt

    from seglab.core.timeutil import ms_to_iso

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        if dest == "as_of":
            return str(ms_to_iso(_as_of_ms(value)))
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        return value
    if isinstance(value, Iterable):
        return ",".join(_text(v, dest) for v in value)
    return str(value)


def _cell(value: Any) -> str:
    from seglab.core.csvout import format_cell

    return format_cell(value)


def _dtype_of(column: str, kind: str, args: Any = None) -> str | None:
    """The API's dtype for a CSV column: ``datetime``, ``Int64``, ``float64``, ``boolean``,
    ``text``, or ``None`` to type it from its cells."""
    special = _KIND_COLUMNS.get((kind, column))
    if special is not None:
        return special
    if column == "value":
        measure = getattr(args, "measure", None)
        return "Int64" if measure in _WHOLE_MEASURES else "float64"
    if column in _DATETIME_COLUMNS:
        return "datetime"
    if column in _INT_COLUMNS:
        return "Int64"
    if column in _FLOAT_COLUMNS:
        return "float64"
    if column in _BOOL_COLUMNS:
        return "boolean"
    if column in _TEXT_COLUMNS:
        return "text"
    return None


def _typed(frame, columns: list[str], kind: str, args: Any) -> pd.DataFrame:
    """The CSV's columns, each parsed from the CSV's own cell text with the API's dtype."""
    import pandas as pd

    data = {}
    for column in columns:
        cells = [_cell(v) for v in frame[column].tolist()]
        data[column] = _column(column, cells, _dtype_of(column, kind, args))
    return pd.DataFrame(data, columns=columns)


def _is_int(text: str) -> bool:
    return text.lstrip("-").isdigit()


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _column(name: str, cells: list[str], dtype: str | None):
    """A pandas array of CSV cells ('' = missing) in ``dtype``."""
    import numpy as np
    import pandas as pd

    present = [c for c in cells if c != ""]
    if dtype is None:  # a column this API does not know yet: type it from what it holds
        if present and all(c in ("true", "false") for c in present):
            dtype = "boolean"
        elif present and all(_is_int(c) for c in present):
            dtype = "Int64"
        elif present and all(_is_float(c) for c in present):
            dtype = "float64"
        else:
            dtype = "text"
    if dtype == "Int64" and not all(_is_int(c) for c in present):
        dtype = "float64"  # a whole-number column that is not: keep every value
    if dtype == "Int64":
        return pd.array([int(c) if c != "" else None for c in cells], dtype="Int64")
    if dtype == "float64":
        return np.array([float(c) if c != "" else np.nan for c in cells], dtype="float64")
    if dtype == "boolean":
        return pd.array([(c == "true") if c != "" else None for c in cells], dtype="boolean")
    if dtype == "datetime":
        text = pd.Series([c or None for c in cells], dtype=object)
        stamps = pd.to_datetime(text, utc=True, format="ISO8601")
        return stamps.astype("datetime64[ms, UTC]").array
    return pd.array([c if c != "" else None for c in cells], dtype=_text_dtype())


def _text_dtype():
    """pandas' default dtype for text (``str`` from pandas 3, ``object`` before)."""
    import pandas as pd

    return pd.Series(["x"]).dtype


def _property_rows(conn, level: str, columns: list[str], ids: list[str]) -> list[tuple]:
    """Property values (internal ``p<N>`` columns from the catalogue) for ``ids``, in order."""
    import json

    if not columns:
        return [() for _ in ids]
    table, ident = ("users", "user_id") if level == "user" else ("accounts", "account_id")
    # Fixed identifiers and catalogue column names (p<N>) only; the ids are a bound parameter.
    select = ", ".join(f't."{c}"' for c in columns)
    sql = f"SELECT k.value, {select} FROM json_each(?) k JOIN {table} t ON t.{ident} = k.value"
    by_id = {row[0]: row[1:] for row in conn.execute(sql, (json.dumps(ids),))}
    empty = (None,) * len(columns)
    return [by_id.get(i, empty) for i in ids]


def _property_column(values: list[Any], ptype: str):
    """A pandas array for one property's stored values (datetimes are epoch ms, booleans 0/1)."""
    import numpy as np
    import pandas as pd

    if ptype == "integer":
        return pd.array(values, dtype="Int64")
    if ptype == "real":
        return np.array([np.nan if v is None else float(v) for v in values], dtype="float64")
    if ptype == "boolean":
        return pd.array([None if v is None else bool(v) for v in values], dtype="boolean")
    if ptype == "datetime":
        ms = pd.array(values, dtype="Int64")
        return pd.to_datetime(ms, unit="ms", utc=True).astype("datetime64[ms, UTC]").array
    return pd.array([None if v is None else str(v) for v in values], dtype=_text_dtype())
