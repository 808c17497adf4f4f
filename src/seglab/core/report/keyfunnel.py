"""Which funnel the worksheet calls "the key funnel", and why.

The choice, in order (documented in docs/report.md):

1. The analyst's own: the most recently updated saved chart of kind ``funnel`` whose
   options carry a list of ``steps`` (event names, or ``{"event": ...}`` objects).
2. Otherwise the path a saved segment names: the first ``sequence`` condition (two or
   more named events, no event-property filters) in the worksheet's segments, in their
   order, then in the other saved segments by name. An "Activated" segment defined as
   "did signup, then create_report, then share_report within 7 days" says which path
   the analyst cares about.
3. Otherwise the most common path: for the units that *started* inside the reporting
   range (first event ever inside it; if fewer than :data:`MIN_NEW_USERS` did, every
   user active in the range), take each user's first :data:`PATH_LENGTH` distinct
   event names in order of first occurrence inside the range; the path most users
   share is the key funnel. Ties go to the path of the more frequent events, then
   alphabetical order, so the choice is deterministic.

Only the roll-up table ``user_days`` is read, so the choice is quick on big projects.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Container, Sequence
from dataclasses import dataclass

PATH_LENGTH = 3
MIN_NEW_USERS = 20


DEFAULT_WITHIN_DAYS = 14


@dataclass(frozen=True)
class KeyFunnel:
    steps: tuple[str, ...]  # event names, for display
    reason: str  # a sentence for the reader: where the steps came from
    within_days: float = DEFAULT_WITHIN_DAYS
    # Per step, the event-property filters as (property, op, value) triples (a saved chart's).
    filters: tuple[tuple[tuple[str, str, object], ...], ...] = ()

    def funnel_steps(self):
        """The steps as the funnel analysis takes them (with their filters)."""
        from seglab.core.analyses.filters import PropertyFilter
        from seglab.core.analyses.funnel import FunnelStep

        filters = self.filters or tuple(() for _ in self.steps)
        return tuple(
            FunnelStep(event, tuple(PropertyFilter(p, op, v) for p, op, v in where))
            for event, where in zip(self.steps, filters)
        )

    def step_labels(self) -> list[str]:
        """Event names, with "(filtered)" where a step carries event-property filters."""
        filters = self.filters or tuple(() for _ in self.steps)
        return [f"{event} (filtered)" if where else event for event, where in zip(self.steps, filters)]


def _freeze_value(value):
    return tuple(value) if isinstance(value, list) else value


def _saved_funnel(conn: sqlite3.Connection, known: Container[str]) -> KeyFunnel | None:
    try:
        rows = conn.execute(
            "SELECT name, options FROM charts WHERE kind = 'funnel' ORDER BY updated DESC, chart_id DESC"
        ).fetchall()
    except sqlite3.DatabaseError:
        return None
    for name, options in rows:
        try:
            raw = json.loads(options)
        except (TypeError, ValueError):
            continue
        if not isinstance(raw, dict):
            continue
        # A saved ChartSpec keeps the kind's options under "options" (seglab.core.charts).
        nested = raw.get("options")
        opts: dict = nested if isinstance(nested, dict) else raw
        steps = opts.get("steps")
        if isinstance(steps, str):
            steps = [s.strip() for s in steps.split(",")]
        if not isinstance(steps, list):
            continue
        events, filters = [], []
        for step in steps:
            event = step.get("event") if isinstance(step, dict) else step
            if not isinstance(event, str) or not event.strip():
                break
            where = (step.get("where") or []) if isinstance(step, dict) else []
            try:
                filters.append(tuple((w["property"], w["op"], _freeze_value(w.get("value"))) for w in where))
            except (TypeError, KeyError):
                break
            events.append(event.strip())
        else:
            within = opts.get("within_days", DEFAULT_WITHIN_DAYS)
            if not isinstance(within, (int, float)) or isinstance(within, bool) or not 0 < within <= 3650:
                within = DEFAULT_WITHIN_DAYS
            if len(events) >= 2 and all(e == "*" or e in known for e in events):
                return KeyFunnel(
                    tuple(events), f"the saved funnel chart “{name}”", float(within), tuple(filters)
                )
    return None


def _sequences(conditions):
    """Every sequence condition inside ``conditions``, depth first (groups and users conditions)."""
    from seglab.core.segments import GroupCondition, SequenceCondition, UsersCondition

    for cond in conditions:
        if isinstance(cond, SequenceCondition):
            yield cond
        elif isinstance(cond, GroupCondition):
            yield from _sequences(cond.conditions)
        elif isinstance(cond, UsersCondition):
            yield from _sequences(cond.match.conditions)


def _segment_sequence(conn: sqlite3.Connection, prefer: list[str], known: Container[str]) -> KeyFunnel | None:
    from seglab.core.segments import list_saved

    saved = {s.name: s for s in list_saved(conn)}
    order = [n for n in prefer if n in saved] + sorted(n for n in saved if n not in prefer)
    for name in order:
        for seq in _sequences(saved[name].definition.conditions):
            if seq.negate:
                continue
            events = [step.event for step in seq.steps]
            plain = all(not step.where for step in seq.steps)
            if len(events) >= 2 and plain and all(e != "*" and e in known for e in events):
                return KeyFunnel(tuple(events), f"the sequence in the saved segment “{name}”")
    return None


def choose_key_funnel(
    conn: sqlite3.Connection, from_day: int, to_day: int, as_of_ms: int, segments: Sequence[str] = ()
) -> KeyFunnel | None:
    """The key funnel for the range ``from_day..to_day`` (days since 1970), or None without events.

    ``segments`` are the worksheet's segments, whose sequences are preferred (rule 2).
    """
    names = dict(conn.execute("SELECT event_key, name FROM event_names").fetchall())
    known = set(names.values())
    chosen = _saved_funnel(conn, known) or _segment_sequence(conn, list(segments), known)
    if chosen is not None:
        return chosen
    start_ms = from_day * 86_400_000
    new_users = conn.execute(
        "SELECT count(*) FROM users WHERE first_ts BETWEEN ? AND ?", (start_ms, as_of_ms)
    ).fetchone()[0]
    population = "users who started in the range"
    user_filter = " AND d.user_key IN (SELECT user_key FROM users WHERE first_ts BETWEEN ? AND ?)"
    params: list = [from_day, to_day, as_of_ms]
    if new_users >= MIN_NEW_USERS:
        params += [start_ms, as_of_ms]
    else:
        population = "users active in the range"
        user_filter = ""
    # Ties in time by event name (not by import order), as a connected project orders them.
    rows = conn.execute(
        "SELECT d.user_key, d.event_key, MIN(d.first_ts) AS t, SUM(d.n) FROM user_days d"
        " JOIN event_names en ON en.event_key = d.event_key"
        f" WHERE d.day BETWEEN ? AND ? AND d.first_ts <= ?{user_filter}"
        " GROUP BY d.user_key, d.event_key ORDER BY d.user_key, t, en.name",
        params,
    ).fetchall()
    if not rows:
        return None
    totals: Counter[int] = Counter()
    paths: Counter[tuple[int, ...]] = Counter()
    current_user = None
    current: list[int] = []
    for user_key, event_key, _t, n in rows:
        totals[event_key] += n
        if user_key != current_user:
            if current:
                paths[tuple(current)] += 1
            current_user, current = user_key, []
        if len(current) < PATH_LENGTH:
            current.append(event_key)
    if current:
        paths[tuple(current)] += 1
    longest = max(len(p) for p in paths)
    if longest < 2:
        # Everyone did one kind of event: the funnel is the two most frequent events.
        top = [k for k, _ in sorted(totals.items(), key=lambda kv: (-kv[1], names[kv[0]]))[:2]]
        if len(top) < 2:
            return None
        return KeyFunnel(tuple(names[k] for k in top), "the two most frequent events (no longer path)")
    candidates = [(p, c) for p, c in paths.items() if len(p) == longest]
    best, users = min(
        candidates, key=lambda pc: (-pc[1], -sum(totals[k] for k in pc[0]), [names[k] for k in pc[0]])
    )
    steps = tuple(names[k] for k in best)
    return KeyFunnel(
        steps,
        f"the most common path: the first {len(steps)} distinct events of {users:,} "
        f"of the {sum(paths.values()):,} {population}",
    )


class _EventsInSource:
    """``name in known`` asks the source (each name once)."""

    def __init__(self, engine):
        self.engine = engine
        self._seen: dict[str, bool] = {}

    def __contains__(self, name) -> bool:
        if name not in self._seen:
            self._seen[name] = bool(self.engine.has_event(str(name)))
        return self._seen[name]


def choose_key_funnel_in_source(
    engine, from_day: int, to_day: int, as_of_ms: int, segments: Sequence[str] = ()
) -> KeyFunnel | None:
    """:func:`choose_key_funnel` on a connected project: the same rules, the paths counted in the
    source (``engines.clickhouse.key_paths``), so the same funnel as the local project's."""
    from seglab.core.engines.clickhouse import key_paths

    known = _EventsInSource(engine)
    chosen = _saved_funnel(engine.conn, known) or _segment_sequence(engine.conn, list(segments), known)
    if chosen is not None:
        return chosen
    new_users, n_users, longest, candidates, totals, top2 = key_paths(
        engine, from_day, to_day, as_of_ms, MIN_NEW_USERS, PATH_LENGTH
    )
    if not n_users:
        return None
    population = (
        "users who started in the range" if new_users >= MIN_NEW_USERS else "users active in the range"
    )
    if longest < 2:
        if len(top2) < 2:
            return None
        return KeyFunnel(tuple(name for name, _n in top2), "the two most frequent events (no longer path)")
    best, users = min(candidates, key=lambda pc: (-pc[1], -sum(totals.get(k, 0) for k in pc[0]), list(pc[0])))
    return KeyFunnel(
        tuple(best),
        f"the most common path: the first {len(best)} distinct events of {users:,} "
        f"of the {n_users:,} {population}",
    )
