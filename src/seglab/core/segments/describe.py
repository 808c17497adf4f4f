"""``describe()``: one plain-English sentence per definition, from the operator table."""

from __future__ import annotations

from seglab.core.segments.model import (
    BehaviorCondition,
    Compare,
    Condition,
    GroupCondition,
    ListCondition,
    PropertyCondition,
    PropertyFilter,
    SeenCondition,
    SegmentDef,
    SegmentRefCondition,
    SequenceCondition,
    UsersCondition,
    Window,
)
from seglab.core.segments.operators import COMPARE_OPS, MEASURES, OPERATORS


def _value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, tuple | list):
        items = [_value(x) for x in v]
        return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def filter_phrase(f: PropertyFilter) -> str:
    spec = OPERATORS[f.op]
    if spec.arity == "pair":
        text = spec.sentence.format(low=_value(f.value[0]), high=_value(f.value[1]))
    else:
        text = spec.sentence.format(value=_value(f.value) if f.value is not None else "")
    return f"{f.property} {text}"


def window_phrase(w: Window) -> str:
    if w.kind == "last_days":
        return " in the last day" if w.days == 1 else f" in the last {w.days} days"
    if w.kind == "between":
        return f" between {w.start} and {w.end}"
    if w.kind == "since":
        return f" since {w.start}"
    return ""


def compare_phrase(c: Compare, amount: bool = False) -> str:
    """ "at least 3"; ``amount`` for quantities that are not counts ("less than 50", not "fewer")."""
    spec = COMPARE_OPS[c.op]
    if c.op == "between":
        return spec.sentence.format(low=_value(c.value[0]), high=_value(c.value[1]))
    text = spec.sentence.format(value=_value(c.value))
    return text.replace("fewer than", "less than") if amount else text


def _event(name: str) -> str:
    return "any event" if name == "*" else name


def _where(where) -> str:
    return " (where " + " and ".join(filter_phrase(f) for f in where) + ")" if where else ""


# Sentence-only opposites, so a negated condition reads naturally ("whose plan is not pro").
_OPPOSITE = {
    "eq": "neq",
    "neq": "eq",
    "in": "not_in",
    "not_in": "in",
    "contains": "not_contains",
    "not_contains": "contains",
    "is_set": "is_not_set",
    "is_not_set": "is_set",
}


def condition_phrase(c: Condition, level: str) -> str:
    if not c.negate:
        return _phrase(c, level)
    if isinstance(c, PropertyCondition) and c.filter.op in _OPPOSITE:
        flipped = PropertyFilter(c.filter.property, _OPPOSITE[c.filter.op], c.filter.value)
        return _phrase(PropertyCondition(c.entity, flipped), level)
    text = _phrase(c, level)
    for positive, negative in (
        ("who did not do ", "who did "),
        ("whose users together did not do ", "whose users together did "),
    ):
        if text.startswith(positive):
            return negative + text[len(positive) :]
    for positive, negative in (
        ("who did ", "who did not do "),
        ("whose users together did ", "whose users together did not do "),
        ("who were ", "who were not "),
        ("whose users were ", "whose users were not "),
        ("who are in ", "who are not in "),
        ("that are in ", "that are not in "),
        ("who are on ", "who are not on "),
        ("that are on ", "that are not on "),
    ):
        if text.startswith(positive):
            return negative + text[len(positive) :]
    return f"excluding those {text}"


def _phrase(c: Condition, level: str) -> str:
    if isinstance(c, PropertyCondition):
        if level == "user" and c.entity == "account":
            return f"whose account's {filter_phrase(c.filter)}"
        return f"whose {filter_phrase(c.filter)}"
    if isinstance(c, BehaviorCondition):
        event = _event(c.event) + _where(c.where)
        window = window_phrase(c.window)
        fn = c.measure.fn
        if c.per == "users":
            return f"where {compare_phrase(c.compare)} users did {event}{window}"
        subject = "who" if level == "user" else "whose users together"
        if fn == "count":
            if c.compare.op == "eq" and c.compare.value == 0:
                return f"{subject} did not do {event}{window}"
            if c.compare.op == "gte" and c.compare.value == 1:
                return f"{subject} did {event}{window}"
            return f"{subject} did {event} {compare_phrase(c.compare)} times{window}"
        if fn.startswith("distinct_"):
            return f"{subject} did {event} on {compare_phrase(c.compare)} {MEASURES[fn].noun}{window}"
        noun = MEASURES[fn].noun
        return (
            f"{subject} did {event}{window} with {'an' if noun[0] in 'aeiou' else 'a'} {noun} "
            f"{c.measure.property} of {compare_phrase(c.compare, amount=True)}"
        )
    if isinstance(c, SeenCondition):
        which = "first" if c.kind == "first_seen" else "last"
        what = "" if c.event == "*" else f" doing {c.event}"
        subject = "who were" if level == "user" else "whose users were"
        window = window_phrase(c.window) or " ever"
        return f"{subject} {which} seen{what}{window}"
    if isinstance(c, SequenceCondition):
        steps = ", then ".join(_event(s.event) + _where(s.where) for s in c.steps)
        within = f" within {_value(c.within_days)} days" if c.within_days is not None else ""
        subject = "who" if level == "user" else "where a user"
        return f"{subject} did {steps}{within}{window_phrase(c.window)}"
    if isinstance(c, SegmentRefCondition):
        return f"{'who are' if level == 'user' else 'that are'} in the segment {c.segment}"
    if isinstance(c, ListCondition):
        return list_phrase(c, level)
    if isinstance(c, UsersCondition):
        inner = _body(c.match)
        if c.share:
            return f"where a share of {compare_phrase(c.compare)} of the users are users{inner}"
        return f"with {compare_phrase(c.compare)} users{inner}"
    if isinstance(c, GroupCondition):
        joiner = " and " if c.match == "all" else " or "
        inner = joiner.join(condition_phrase(x, level) for x in c.conditions)
        return f"({inner})" if inner else "(anyone)"
    raise TypeError(c)  # pragma: no cover


def list_phrase(c: ListCondition, level: str) -> str:
    """ "who are on a list of 3 users (u001, u017, u230)"; a long list names its first three."""
    n = len(c.ids)
    noun = ("user" if level == "user" else "account") + ("" if n == 1 else "s")
    shown = ", ".join(c.ids[:3]) + (", ..." if n > 3 else "")
    return f"{'who are' if level == 'user' else 'that are'} on a list of {n:,} {noun} ({shown})"


def _body(seg: SegmentDef) -> str:
    if not seg.conditions:
        return ""
    joiner = " and " if seg.match == "all" else " or "
    return " " + joiner.join(condition_phrase(c, seg.level) for c in seg.conditions)


def describe(seg: SegmentDef) -> str:
    """One sentence: "Users who did purchase at least 3 times in the last 30 days and whose plan is pro"."""
    noun = "Users" if seg.level == "user" else "Accounts"
    if not seg.conditions:
        return f"All {noun.lower()}"
    return noun + _body(seg)


def diff_phrases(old: SegmentDef, new: SegmentDef) -> list[tuple[str, str]]:
    """What changed between two versions, as ``(mark, phrase)`` lines: ``" "`` kept, ``"-"`` only in
    ``old``, ``"+"`` only in ``new``; one phrase per top-level condition (plus level and match)."""
    import difflib

    def lines(seg: SegmentDef) -> list[str]:
        head = [f"{'Users' if seg.level == 'user' else 'Accounts'} matching {seg.match} of:"]
        return head + [condition_phrase(c, seg.level) for c in seg.conditions]

    a, b = lines(old), lines(new)
    out: list[tuple[str, str]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op == "equal":
            out.extend((" ", x) for x in a[i1:i2])
        else:
            out.extend(("-", x) for x in a[i1:i2])
            out.extend(("+", x) for x in b[j1:j2])
    return out
