"""Importing exports (events, users, accounts; CSV, JSON lines, Parquet, compressed) into a project.

The modules, one job each, are described in docs/architecture.md ("Importing").

Public API (Qt-free; the import wizard and ``seglab import`` both use it):

* :func:`import_file` — import one file, one transaction; returns :class:`ImportReport`.
* :func:`sniff_file` / :func:`preview` — encoding, delimiter, columns, sample rows,
  guessed kind and mapping, for previews before importing.
* :func:`resolve_mapping`, :func:`guess_fields`, :data:`FIELDS`, :data:`KINDS`.
* :func:`account_link_conflicts` / :func:`account_conflict_list` — users linked to more than one
  account: how many, and who (the account kept, every account seen).
* :func:`import_order` — sort files so accounts come before users before events.
"""

from seglab.core.importing.entities import account_conflict_list, account_link_conflicts
from seglab.core.importing.mapping import FIELDS, KINDS, ColumnMapping, guess_fields, resolve_mapping
from seglab.core.importing.pipeline import import_file
from seglab.core.importing.preview import ImportPreview, preview
from seglab.core.importing.report import ImportReport
from seglab.core.importing.sniff import FileSniff, sniff_file
from seglab.core.importing.timestamps import TimestampError, TimestampParser
from seglab.core.importing.types import infer_type


def import_order(kinds: dict) -> list:
    """Keys of ``kinds`` (anything → kind) in import order: accounts, users, events."""
    rank = {"accounts": 0, "users": 1, "events": 2}
    return sorted(kinds, key=lambda k: rank.get(kinds[k], 3))


__all__ = [
    "FIELDS",
    "KINDS",
    "ColumnMapping",
    "FileSniff",
    "ImportPreview",
    "ImportReport",
    "TimestampError",
    "TimestampParser",
    "account_conflict_list",
    "account_link_conflicts",
    "guess_fields",
    "import_file",
    "import_order",
    "infer_type",
    "preview",
    "resolve_mapping",
    "sniff_file",
]
