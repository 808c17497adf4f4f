"""Which column is the user id, the timestamp, the event...; what kind of file it is.

Column names are matched after normalising (lower case, letters and digits
only), so ``User ID``, ``user_id``, ``userId`` and ``$user_id`` all match.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from seglab.core.errors import ImportFileError

KINDS = ("events", "users", "accounts")
FIELDS = ("user_id", "timestamp", "event", "account_id", "insert_id")

# In order of preference: the first match wins.
ALIASES: dict[str, tuple[str, ...]] = {
    "user_id": (
        "userid",
        "distinctid",
        "user",
        "uid",
        "personid",
        "memberid",
        "customerid",
        "contactid",
        "visitorid",
        "anonymousid",
        "deviceid",
    ),
    "timestamp": (
        "timestamp",
        "time",
        "eventtime",
        "eventtimestamp",
        "ts",
        "datetime",
        "occurredat",
        "eventdate",
        "date",
        "createdat",
        "clienttime",
        "servertime",
        "timeutc",
        "timestamputc",
    ),
    "event": ("event", "eventname", "eventtype", "action", "eventaction", "activity"),
    "account_id": (
        "accountid",
        "companyid",
        "groupid",
        "orgid",
        "organizationid",
        "organisationid",
        "workspaceid",
        "teamid",
        "tenantid",
        "account",
        "company",
    ),
    "insert_id": ("insertid", "eventid", "messageid", "eventuuid", "uuid"),
}

_NON_ALNUM = re.compile(r"[^0-9a-z]+")


def normalise(name: str) -> str:
    return _NON_ALNUM.sub("", name.lower())


@dataclass(frozen=True)
class ColumnMapping:
    """The resolved kind and the column index of each field (``None`` if absent)."""

    kind: str
    fields: Mapping[str, int]  # field -> column index
    columns: tuple[str, ...]

    def column_name(self, field: str) -> str | None:
        index = self.fields.get(field)
        return None if index is None else self.columns[index]

    def to_dict(self) -> dict[str, str]:
        return {f: self.columns[i] for f, i in self.fields.items()}


def guess_fields(columns: Sequence[str]) -> dict[str, int]:
    """Field → column index, by common names (no kind yet)."""
    normalised = [normalise(c) for c in columns]
    found: dict[str, int] = {}
    taken: set[int] = set()
    for field in FIELDS:
        for alias in ALIASES[field]:
            hits = [i for i, n in enumerate(normalised) if n == alias and i not in taken]
            if hits:
                found[field] = hits[0]
                taken.add(hits[0])
                break
    return found


def detect_kind(fields: Mapping[str, int]) -> str | None:
    if "event" in fields and "timestamp" in fields:
        return "events"
    if "user_id" in fields:
        return "users"
    if "account_id" in fields:
        return "accounts"
    return None


def resolve_mapping(
    file_name: str,
    columns: Sequence[str],
    *,
    kind: str | None = None,
    mapping: Mapping[str, str] | None = None,
) -> ColumnMapping:
    """Decide the kind and the field columns, explicit choices first.

    Raises :class:`ImportFileError` naming the file and the missing piece.
    """
    columns = tuple(columns)
    if kind is not None and kind not in KINDS:
        raise ImportFileError(f"{file_name}: unknown kind {kind!r} (use events, users or accounts)")
    explicit: dict[str, int] = {}
    # An empty column ("--map account_id=") says the file has no such field: the column a
    # guess would have taken stays an ordinary property.
    unmapped = {field for field, column in (mapping or {}).items() if not column}
    for field, column in (mapping or {}).items():
        if field not in FIELDS:
            raise ImportFileError(
                f"--map {field}={column or ''}: unknown field {field!r} (fields: {', '.join(FIELDS)})"
            )
        if not column:
            continue
        if column in columns:
            explicit[field] = columns.index(column)
        else:
            matches = [i for i, c in enumerate(columns) if c.strip().lower() == column.strip().lower()]
            if not matches:
                shown = ", ".join(repr(c) for c in columns[:12]) + (" ..." if len(columns) > 12 else "")
                raise ImportFileError(
                    f"--map {field}={column}: {file_name} has no column {column!r} (columns: {shown})"
                )
            explicit[field] = matches[0]
    guessed = guess_fields([c if i not in explicit.values() else "" for i, c in enumerate(columns)])
    fields = {**{f: i for f, i in guessed.items() if f not in explicit and f not in unmapped}, **explicit}
    resolved_kind = kind or detect_kind(fields)
    if resolved_kind is None:
        shown = ", ".join(repr(c) for c in columns[:12]) + (" ..." if len(columns) > 12 else "")
        raise ImportFileError(
            f"{file_name}: cannot tell what kind of file this is: no user id, event or account id "
            f"column found (columns: {shown}); name them with --map FIELD=COLUMN or choose --kind"
        )
    needed = {
        "events": ("user_id", "event", "timestamp"),
        "users": ("user_id",),
        "accounts": ("account_id",),
    }[resolved_kind]
    for field in needed:
        if field not in fields:
            raise ImportFileError(
                f"{file_name}: cannot import as {resolved_kind}: no {field.replace('_', ' ')} column found; "
                f"name it with --map {field}=COLUMN"
            )
    keep = {
        "events": ("user_id", "event", "timestamp", "account_id", "insert_id"),
        "users": ("user_id", "account_id"),
        "accounts": ("account_id",),
    }[resolved_kind]
    # A guessed field the kind does not use stays a property (e.g. "time" in a users file),
    # but an explicit --map for an unused field is a mistake worth saying.
    for field in explicit:
        if field not in keep:
            raise ImportFileError(f"--map {field}=...: a {resolved_kind} file has no {field} field")
    return ColumnMapping(resolved_kind, {f: i for f, i in fields.items() if f in keep}, columns)


def property_names(columns: Sequence[str], used: set[int]) -> list[tuple[int, str]]:
    """(column index, catalogue name) of every property column.

    Names are kept as written; an empty header becomes ``column N`` and a repeated
    one gets `` (2)``, `` (3)``... so every property has a distinct name.
    """
    seen: set[str] = set()
    result = []
    for i, raw in enumerate(columns):
        if i in used:
            continue
        name = raw.strip() if raw.strip() else f"column {i + 1}"
        base, n = name, 2
        while name in seen:
            name = f"{base} ({n})"
            n += 1
        seen.add(name)
        result.append((i, name))
    return result
