"""The import wizard's preview: what importing a file would do, from a sample, writing nothing."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from seglab.core.errors import ImportFileError
from seglab.core.importing.catalogue import TYPE_SAMPLE_ROWS, too_wide
from seglab.core.importing.mapping import ColumnMapping, property_names, resolve_mapping
from seglab.core.importing.readers import shape_of, type_hints
from seglab.core.importing.shapes import shaped_mapping
from seglab.core.importing.sniff import FileSniff, sniff_file
from seglab.core.importing.timestamps import TimestampError, TimestampParser, looks_ambiguous
from seglab.core.importing.types import infer_type


@dataclass(frozen=True)
class ImportPreview:
    """What the import wizard shows before importing one file (nothing is written).

    ``mapping`` is ``None`` when the kind or a needed column cannot be found;
    ``problem`` then says why, in one sentence (with a mapping: what stops the import as
    it stands, e.g. more property columns than a project holds, or day/month dates
    without a format). ``property_types`` are the inferred
    types (name → type) and ``warnings`` sentences about rows of the sample that
    would be rejected ("12 of 1,000 sampled rows have unreadable timestamps ...").
    """

    sniff: FileSniff
    mapping: ColumnMapping | None
    problem: str | None
    property_types: Mapping[str, str] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    @property
    def kind(self) -> str | None:
        return self.mapping.kind if self.mapping else None


def preview(
    path,
    *,
    kind: str | None = None,
    mapping: Mapping[str, str] | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    date_format: str | None = None,
    sample_rows: int = TYPE_SAMPLE_ROWS,
) -> ImportPreview:
    """Sniff ``path`` and check a sample against the mapping, for the import wizard.

    Raises :class:`ImportFileError` only when the file cannot be read as text at all
    (missing, binary...); every other problem is reported in the result.
    """
    path = Path(path)
    sniff = sniff_file(path, encoding=encoding, delimiter=delimiter, sample_rows=sample_rows)
    shape = shape_of(sniff) if kind in (None, "events") else None
    try:
        cmap = resolve_mapping(path.name, sniff.columns, kind=kind, mapping=shaped_mapping(shape, mapping))
    except ImportFileError as exc:
        return ImportPreview(sniff, None, str(exc))
    sample = list(sniff.sample_rows)
    used = set(cmap.fields.values())
    hints = type_hints(sniff)
    types = {
        name: hints.get(name) or infer_type([r[i] for r in sample if i < len(r)]) or "text"
        for i, name in property_names(cmap.columns, used)
    }
    ncols = len(cmap.columns)
    counts: Counter[str] = Counter()
    parse_ts = TimestampParser(date_format=date_format)
    id_field = {"events": "user_id", "users": "user_id", "accounts": "account_id"}[cmap.kind]
    for row in sample:
        if len(row) != ncols:
            counts["have the wrong number of fields"] += 1
            continue
        if not row[cmap.fields[id_field]].strip():
            counts[f"have no {id_field.replace('_', ' ')}"] += 1
        elif cmap.kind == "events":
            if not row[cmap.fields["event"]].strip():
                counts["have no event name"] += 1
            else:
                try:
                    parse_ts(row[cmap.fields["timestamp"]])
                except TimestampError:
                    counts["have unreadable timestamps"] += 1
    total = len(sample)
    warnings = tuple(
        f"{n:,} of {total:,} sampled rows {what}; they will be rejected" for what, n in counts.most_common()
    )
    entity = {"events": "event", "users": "user", "accounts": "account"}[cmap.kind]
    problem = too_wide(path.name, entity, len(types))
    if problem is None and cmap.kind == "events" and date_format is None:
        ts_index = cmap.fields["timestamp"]
        filled = [r[ts_index] for r in sample if ts_index < len(r) and r[ts_index].strip()]
        if filled and sum(1 for v in filled if looks_ambiguous(v)) * 2 >= len(filled):
            problem = (
                f"column {cmap.columns[ts_index]!r} has dates like {filled[0]!r} that could be day/month "
                "or month/day; choose the date format"
            )
    return ImportPreview(sniff, cmap, problem, types, warnings)
