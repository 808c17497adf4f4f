"""Known export shapes (Mixpanel, Amplitude): which columns are the user id, time, event...

A shape is recognised from the column names (JSON lines and Parquet columns are
the dotted paths of their nested objects, e.g. ``properties.distinct_id``) and
gives the field mapping that a ``--map`` would otherwise have to spell out. An
explicit ``--map`` (or the wizard's choice) always wins over the shape.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from seglab.core.importing.mapping import ALIASES, normalise

# Group types (Amplitude ``groups``) and Mixpanel properties that hold the account id.
_ACCOUNT_NAMES = frozenset(ALIASES["account_id"]) | {"org", "organization", "organisation", "workspace"}


@dataclass(frozen=True)
class Shape:
    name: str  # "mixpanel" | "amplitude"
    label: str  # shown by the wizard and the command line
    mapping: Mapping[str, str]  # field -> column; "" = the file has no such field (no guessing)
    # Columns whose one-element JSON arrays stand for their element (Amplitude writes a group
    # as ``"groups": {"company": ["acme"]}``).
    unwrap: frozenset[str] = field(default_factory=frozenset)


def _account_column(columns: Sequence[str], prefix: str) -> str | None:
    """The column under ``prefix`` whose last part names an account (``groups.company``...)."""
    under = [c for c in columns if c.startswith(prefix) and "." not in c[len(prefix) :]]
    for column in under:
        if normalise(column[len(prefix) :]) in _ACCOUNT_NAMES:
            return column
    return None


def detect_shape(columns: Sequence[str], parents: Iterable[str] = ()) -> Shape | None:
    """The export shape of a file with these columns, or ``None`` for a plain file.

    ``parents`` are the names of nested objects seen (even empty ones), so an Amplitude
    line whose ``event_properties`` is ``{}`` still counts as Amplitude.
    """
    present = set(columns)
    parents = set(parents) | {c.split(".", 1)[0] for c in columns if "." in c}
    if "event" in present and "properties.distinct_id" in present and "properties.time" in present:
        mapping = {
            "user_id": "properties.distinct_id",
            "timestamp": "properties.time",
            "event": "event",
            "insert_id": "properties.$insert_id" if "properties.$insert_id" in present else "",
            "account_id": _account_column(columns, "properties.") or "",
        }
        return Shape("mixpanel", "Mixpanel export", mapping)
    amplitude_marks = {"event_properties", "user_properties", "groups"} & parents
    if (
        "event_type" in present
        and "event_time" in present
        and ("user_id" in present or "amplitude_id" in present)
        and (amplitude_marks or "amplitude_id" in present or "$insert_id" in present)
    ):
        groups = [c for c in columns if c.startswith("groups.") and "." not in c[len("groups.") :]]
        account = _account_column(columns, "groups.") or (groups[0] if len(groups) == 1 else "")
        insert_id = next((c for c in ("$insert_id", "insert_id", "uuid") if c in present), "")
        mapping = {
            "user_id": "user_id",
            "timestamp": "event_time",
            "event": "event_type",
            # Never Amplitude's event_id: a per-device counter, not unique.
            "insert_id": insert_id,
            "account_id": account,
        }
        return Shape("amplitude", "Amplitude export", mapping, frozenset(groups))
    return None


def shaped_mapping(shape: Shape | None, mapping: Mapping[str, str] | None) -> dict[str, str] | None:
    """The shape's mapping with the explicit ``mapping`` on top (explicit choices win)."""
    if shape is None:
        return dict(mapping) if mapping else None
    return {**shape.mapping, **(mapping or {})}
