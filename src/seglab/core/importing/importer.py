"""The names ``seglab.core.importing.importer`` had when the importer was one module.

The importer is now a package of modules with one job each (docs/architecture.md, "Importing");
this module only re-exports their names under the old ones (and the names the single module
imported from its siblings), for code written against the single module, until that code imports
from the new homes. Nothing inside the package imports it (it loads numpy, which the package
itself loads only when an events import runs).

Renamed on the way: ``_KindRunner._report`` is ``KindRunner.report``;
``_KindRunner._event_chunks(text, delim, events)`` is ``csvrows.read_events(runner, text, delim,
events)`` and ``_KindRunner._records`` is ``KindRunner._record_batches``; the runner's
``account_key()``, ``flush_accounts()`` and ``account_keys`` are ``runner.accounts.key()``,
``.flush()`` and ``.known`` (:class:`.keys.AccountKeys`); ``link_ak``/``link_ts`` are the
batcher's ``links`` (:class:`.rollups.LatestAccounts`); the batcher's ``user_keys`` and
``event_keys`` dicts are ``users`` and ``names`` (:class:`.keys.KeyMap`). Patching a constant
here (``READ_CHUNK``, ``TYPE_SAMPLE_ROWS``, ``_max_params``) changes nothing: patch it in its
module (``csvrows``, ``catalogue``, ``events``).
"""

from __future__ import annotations

from seglab.core.errors import Cancelled, ImportFileError, UserError
from seglab.core.importing import rollups
from seglab.core.importing.catalogue import MAX_PROPERTIES, TYPE_SAMPLE_ROWS
from seglab.core.importing.catalogue import Prop as _Prop
from seglab.core.importing.catalogue import apply_properties as _apply_properties
from seglab.core.importing.catalogue import next_column_number as _next_column_number
from seglab.core.importing.catalogue import plan_properties as _plan_properties
from seglab.core.importing.catalogue import widen_column as _widen_column
from seglab.core.importing.csvrows import BATCH_ROWS, READ_CHUNK
from seglab.core.importing.entities import (
    EMAIL_COLUMNS,
    FREE_MAIL_DOMAINS,
    account_conflict_list,
    account_link_conflicts,
    email_domain,
)
from seglab.core.importing.events import EventBatcher as _EventBatcher
from seglab.core.importing.filecheck import BAD_BYTE as _BAD_BYTE
from seglab.core.importing.filecheck import SCAN_SHARE
from seglab.core.importing.filecheck import HashingReader as _HashingReader
from seglab.core.importing.filecheck import codec_name as _codec_name
from seglab.core.importing.filecheck import file_stat as _stat
from seglab.core.importing.filecheck import scan as _scan
from seglab.core.importing.filecheck import unchanged as _unchanged
from seglab.core.importing.filecheck import utf8_damage as _utf8_damage
from seglab.core.importing.keys import assign_new_keys as _assign_new_keys
from seglab.core.importing.mapping import (
    ColumnMapping,
    normalise,
    property_names,
    resolve_mapping,
)
from seglab.core.importing.pipeline import ENTITY, _import_file, import_file
from seglab.core.importing.pipeline import KindRunner as _KindRunner
from seglab.core.importing.preview import ImportPreview, preview
from seglab.core.importing.readers import (
    RecordError,
    RecordRows,
    shape_of,
    source_for,
    type_hints,
)
from seglab.core.importing.rejects import Rejects as _Rejects
from seglab.core.importing.rejects import csv_reason as _csv_reason
from seglab.core.importing.report import ImportReport
from seglab.core.importing.report import RunState as _RunState
from seglab.core.importing.rollups import Runs as _Runs
from seglab.core.importing.shapes import shaped_mapping
from seglab.core.importing.sniff import (
    FIELD_LIMIT,
    FileSniff,
    check_columns,
    check_header,
    describe_binary,
    read_head,
    sniff_text,
)
from seglab.core.importing.timestamps import (
    TimestampError,
    TimestampParser,
    looks_ambiguous,
    parse_column,
)
from seglab.core.importing.transaction import connection_and_dir as _connection_and_dir
from seglab.core.importing.transaction import friendly_sqlite_error as _friendly_sqlite_error
from seglab.core.importing.transaction import import_pragmas as _import_pragmas
from seglab.core.importing.transaction import max_params as _max_params
from seglab.core.importing.transaction import multirow_sql as _multirow_sql
from seglab.core.importing.transaction import restore_pragmas as _restore_pragmas
from seglab.core.importing.transaction import rollback as _rollback
from seglab.core.importing.transaction import write_rows as _write_rows
from seglab.core.importing.types import (
    CONVERTERS,
    convert_column,
    infer_type,
    unify,
    value_type,
    widen_sql,
)
from seglab.core.progress import NULL_PROGRESS, Progress
from seglab.core.storage.schema import (
    SPARSE_SHARE,
    property_index_sql,
    refresh_people_text,
    refresh_statistics,
    sparse_property_index_sql,
    update_account_times,
)
from seglab.core.timeutil import DAY_MS, utc_now_iso

TABLE = {"events": "events", "users": "users", "accounts": "accounts"}


# The group-bys once took numpy as their first argument; rollups.py imports it itself.
def _no_flush() -> None:
    """(The users/accounts loop no longer swaps its flush in at runtime; catalogue.convert_cell
    takes the flush to run before widening.)"""


def _grown(np, arr, size: int, fill: int):
    return rollups.grown(arr, size, fill)


def _grouped(np, keys: tuple):
    return rollups.grouped(keys)


def _aggregate(np, uk, ek, day, cnt, first, last):
    return rollups.aggregate(uk, ek, day, cnt, first, last)


def _aggregate_days(np, uk, day, cnt, first, last):
    return rollups.aggregate_days(uk, day, cnt, first, last)


def _group_sums(np, keys: tuple, cnt, first, last) -> tuple:
    return rollups.group_sums(keys, cnt, first, last)


__all__ = [
    "BATCH_ROWS",
    "CONVERTERS",
    "DAY_MS",
    "EMAIL_COLUMNS",
    "ENTITY",
    "FIELD_LIMIT",
    "FREE_MAIL_DOMAINS",
    "MAX_PROPERTIES",
    "NULL_PROGRESS",
    "READ_CHUNK",
    "SCAN_SHARE",
    "SPARSE_SHARE",
    "TABLE",
    "TYPE_SAMPLE_ROWS",
    "_BAD_BYTE",
    "Cancelled",
    "ColumnMapping",
    "FileSniff",
    "ImportFileError",
    "ImportPreview",
    "ImportReport",
    "Progress",
    "RecordError",
    "RecordRows",
    "TimestampError",
    "TimestampParser",
    "UserError",
    "_EventBatcher",
    "_HashingReader",
    "_KindRunner",
    "_Prop",
    "_Rejects",
    "_RunState",
    "_Runs",
    "_aggregate",
    "_aggregate_days",
    "_apply_properties",
    "_assign_new_keys",
    "_codec_name",
    "_connection_and_dir",
    "_csv_reason",
    "_friendly_sqlite_error",
    "_group_sums",
    "_grouped",
    "_grown",
    "_import_file",
    "_import_pragmas",
    "_max_params",
    "_multirow_sql",
    "_next_column_number",
    "_no_flush",
    "_plan_properties",
    "_restore_pragmas",
    "_rollback",
    "_scan",
    "_stat",
    "_unchanged",
    "_utf8_damage",
    "_widen_column",
    "_write_rows",
    "account_conflict_list",
    "account_link_conflicts",
    "check_columns",
    "check_header",
    "convert_column",
    "describe_binary",
    "email_domain",
    "import_file",
    "infer_type",
    "looks_ambiguous",
    "normalise",
    "parse_column",
    "preview",
    "property_index_sql",
    "property_names",
    "read_head",
    "refresh_people_text",
    "refresh_statistics",
    "resolve_mapping",
    "shape_of",
    "shaped_mapping",
    "sniff_text",
    "source_for",
    "sparse_property_index_sql",
    "type_hints",
    "unify",
    "update_account_times",
    "utc_now_iso",
    "value_type",
    "widen_sql",
]
