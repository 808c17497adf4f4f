"""What distinguishes a segment from the rest: the traits over-represented among its members.

Two kinds of trait, each compared as "share of the segment that has it" vs "share of
the rest that has it":

* property values: ``plan = pro`` for every user (or account) property with at most
  :data:`MAX_VALUES` distinct values, and, at user level, the user's account's
  properties (``account industry = retail``); "no value" counts as a value;
* events: did the event at least once in the reporting range (at account level: any
  of the account's users did).

Traits are ranked by how much more common they are in the segment (share in the
segment minus share in the rest); a trait is listed only if at least
:data:`MIN_SHARE` of the segment has it and it is clearly more common there than in
the rest: by :data:`MIN_DIFFERENCE` or more, and :data:`MIN_LIFT` times or more.
Property names are the catalogue's; their columns are the internal ``p<N>`` names,
checked, never text from a file.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass

import pandas as pd

from seglab.core.project import load_properties

MAX_VALUES = 20
MIN_SHARE = 0.05
MIN_DIFFERENCE = 0.02  # percentage points: noise is not a trait
MIN_LIFT = 1.1
_SAFE_COLUMN = re.compile(r"^p\d+$")


@dataclass(frozen=True)
class Trait:
    kind: str  # 'property' | 'event'
    label: str
    segment_share: float
    rest_share: float

    @property
    def lift(self) -> float | None:
        return self.segment_share / self.rest_share if self.rest_share else None


def _share(n: int, d: int) -> float:
    return n / d if d else 0.0


def _value_text(value, prop_type: str) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "no value"
    if prop_type == "boolean":
        return "true" if int(value) else "false"
    if prop_type == "integer":
        return str(int(value))
    return str(value)


def property_traits(conn: sqlite3.Connection, level: str, keys: set[int], rest: set[int]) -> list[Trait]:
    if not keys:
        return []
    sources = []  # (label prefix, entity, SQL giving (unit, value) for one column)
    for prop in load_properties(conn, level):
        if prop.type == "datetime" or not _SAFE_COLUMN.match(prop.column):
            continue
        table, key = ("users", "user_key") if level == "user" else ("accounts", "account_key")
        sources.append((prop.name, prop, f"SELECT {key}, {prop.column} FROM {table}"))
    if level == "user":
        for prop in load_properties(conn, "account"):
            if prop.type == "datetime" or not _SAFE_COLUMN.match(prop.column):
                continue
            sources.append(
                (
                    f"account {prop.name}",
                    prop,
                    f"SELECT u.user_key, a.{prop.column} FROM users u "
                    "LEFT JOIN accounts a ON a.account_key = u.account_key",
                )
            )
    traits = []
    n_seg, n_rest = len(keys), len(rest)
    for label, prop, sql in sources:
        frame = pd.DataFrame(conn.execute(sql).fetchall(), columns=["unit", "value"])
        frame = frame[frame["unit"].isin(keys) | frame["unit"].isin(rest)]
        if frame["value"].nunique(dropna=True) > MAX_VALUES:
            continue
        frame["in_seg"] = frame["unit"].isin(keys)
        frame["text"] = [_value_text(v, prop.type) for v in frame["value"]]
        counts = frame.groupby(["text", "in_seg"]).size()
        for text in sorted(set(frame["text"])):
            seg_n = int(counts.get((text, True), 0))
            rest_n = int(counts.get((text, False), 0))
            name = f"{label} = {text}" if text != "no value" else f"{label}: no value"
            traits.append(Trait("property", name, _share(seg_n, n_seg), _share(rest_n, n_rest)))
    return traits


def event_traits(
    conn: sqlite3.Connection, level: str, keys: set[int], rest: set[int], from_day: int, to_day: int,
    as_of_ms: int,
) -> list[Trait]:  # fmt: skip
    if not keys:
        return []
    unit = "d.user_key" if level == "user" else "u.account_key"
    join = "" if level == "user" else " JOIN users u ON u.user_key = d.user_key"
    rows = conn.execute(
        f"SELECT DISTINCT d.event_key, {unit} FROM user_days d{join}"
        " WHERE d.day BETWEEN ? AND ? AND d.first_ts <= ?",
        (from_day, to_day, as_of_ms),
    ).fetchall()
    names = dict(conn.execute("SELECT event_key, name FROM event_names").fetchall())
    seg_n: dict[int, int] = {}
    rest_n: dict[int, int] = {}
    for event_key, u in rows:
        if u in keys:
            seg_n[event_key] = seg_n.get(event_key, 0) + 1
        elif u in rest:
            rest_n[event_key] = rest_n.get(event_key, 0) + 1
    return [
        Trait(
            "event", f"did {names[k]}", _share(seg_n.get(k, 0), len(keys)),
            _share(rest_n.get(k, 0), len(rest)),
        )
        for k in sorted(set(seg_n) | set(rest_n), key=lambda k: names[k])
    ]


def top_traits(traits: list[Trait], limit: int) -> list[Trait]:
    """The ``limit`` traits most over-represented in the segment (deterministic order)."""
    eligible = [
        t
        for t in traits
        if t.segment_share >= MIN_SHARE
        and t.segment_share - t.rest_share >= MIN_DIFFERENCE
        and (t.lift is None or t.lift >= MIN_LIFT)
    ]
    eligible.sort(key=lambda t: (-(t.segment_share - t.rest_share), -t.segment_share, t.label))
    return eligible[:limit]
