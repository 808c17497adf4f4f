"""Saved segments: save / replace with history / rename / delete / list, references and cycles."""

from __future__ import annotations

import pytest

from builders import build_project
from seglab.core.errors import SegmentError
from seglab.core.project import Project
from seglab.core.segments import (
    count,
    delete_segment,
    get_saved,
    list_saved,
    load_definition,
    problems,
    rename_segment,
    save_segment,
    segment_history,
    validate,
)


def plan(value, negate=False):
    return {
        "level": "user",
        "conditions": [
            {"type": "property", "property": "plan", "op": "eq", "value": value, "negate": negate}
        ],
    }


def ref(name, level="user"):
    return {"level": level, "conditions": [{"type": "segment", "segment": name}]}


@pytest.fixture
def proj(tmp_path):
    path = build_project(
        tmp_path / "p.seglab",
        users=[{"user_id": "u1", "plan": "pro", "account_id": "A"}, {"user_id": "u2", "plan": "free"}],
        events=[{"user_id": "u1", "event": "login", "timestamp": "2024-01-01T00:00:00Z"}],
    )
    with Project.open(path) as proj:
        yield proj


def test_save_get_list(proj):
    saved = save_segment(proj.conn, "Pro", plan("pro"))
    assert (saved.name, saved.level) == ("Pro", "user")
    assert saved.definition == load_definition(plan("pro"))
    assert saved.created.endswith("Z") and saved.updated == saved.created
    save_segment(proj.conn, "Accounts", {"level": "account", "conditions": []})
    assert [(s.name, s.level) for s in list_saved(proj.conn)] == [("Accounts", "account"), ("Pro", "user")]
    assert count(proj.conn, get_saved(proj.conn, "Pro").definition) == 1


def test_replace_keeps_history(proj):
    save_segment(proj.conn, "Seg", plan("pro"))
    save_segment(proj.conn, "Seg", plan("free"))
    save_segment(proj.conn, "Seg", plan("free"))  # unchanged: no new history entry
    save_segment(proj.conn, "Seg", plan("x"))
    assert get_saved(proj.conn, "Seg").definition == load_definition(plan("x"))
    history = segment_history(proj.conn, "Seg")
    assert [h.definition for h in history] == [load_definition(plan("free")), load_definition(plan("pro"))]
    assert len(list_saved(proj.conn)) == 1


def test_invalid_definition_not_saved(proj):
    with pytest.raises(SegmentError) as info:
        save_segment(
            proj.conn,
            "Bad",
            {"level": "user", "conditions": [{"type": "property", "property": "nope", "op": "is_set"}]},
        )
    assert info.value.path == "conditions[0].property"
    assert list_saved(proj.conn) == []
    with pytest.raises(SegmentError):
        save_segment(proj.conn, "  ", plan("pro"))


def test_unknown_segment(proj):
    with pytest.raises(SegmentError, match="no saved segment named 'Ghost'"):
        get_saved(proj.conn, "Ghost")
    with pytest.raises(SegmentError) as info:
        validate(proj.conn, load_definition(ref("Ghost")))
    assert info.value.path == "conditions[0].segment"


def test_cycles_name_the_segments(proj):
    save_segment(proj.conn, "A", plan("pro"))
    save_segment(proj.conn, "B", ref("A"))
    with pytest.raises(SegmentError) as info:
        save_segment(proj.conn, "A", ref("B"))
    assert "A → B → A" in str(info.value)
    assert info.value.path == "conditions[0].segment"
    with pytest.raises(SegmentError, match="refers to itself"):
        save_segment(proj.conn, "C", ref("C"))
    # the failed saves changed nothing
    assert get_saved(proj.conn, "A").definition == load_definition(plan("pro"))


def test_level_mismatch(proj):
    save_segment(proj.conn, "Pro", plan("pro"))
    found = problems(proj.conn, load_definition(ref("Pro", level="account")))
    assert [(p.path, p.severity) for p in found] == [("conditions[0].segment", "error")]
    assert "user segment" in found[0].message and "'users' condition" in found[0].message
    inside = {"level": "account", "conditions": [{"type": "users", "match": ref("Pro")}]}
    assert problems(proj.conn, load_definition(inside)) == []


def test_unknown_event_is_a_warning(proj):
    seg = load_definition({"level": "user", "conditions": [{"type": "behavior", "event": "teleport"}]})
    found = problems(proj.conn, seg)
    assert [(p.path, p.severity) for p in found] == [("conditions[0].event", "warning")]
    validate(proj.conn, seg)  # warnings do not stop evaluation
    assert count(proj.conn, seg) == 0


def test_rename_updates_references(proj):
    save_segment(proj.conn, "Pro", plan("pro"))
    save_segment(
        proj.conn,
        "Not pro",
        {"level": "user", "conditions": [{"type": "segment", "segment": "Pro", "negate": True}]},
    )
    rename_segment(proj.conn, "Pro", "Paying")
    assert [s.name for s in list_saved(proj.conn)] == ["Not pro", "Paying"]
    assert get_saved(proj.conn, "Not pro").definition.conditions[0].segment == "Paying"
    assert count(proj.conn, get_saved(proj.conn, "Not pro").definition) == 1
    with pytest.raises(SegmentError, match="already exists"):
        rename_segment(proj.conn, "Paying", "Not pro")


def test_delete_refused_while_referenced(proj):
    save_segment(proj.conn, "Pro", plan("pro"))
    save_segment(proj.conn, "Uses pro", ref("Pro"))
    with pytest.raises(SegmentError, match="'Uses pro' refer to it"):
        delete_segment(proj.conn, "Pro")
    save_segment(proj.conn, "Pro", plan("free"))
    delete_segment(proj.conn, "Uses pro")
    delete_segment(proj.conn, "Pro")
    assert list_saved(proj.conn) == []
    assert proj.conn.execute("SELECT count(*) FROM segment_history").fetchone()[0] == 0


def test_cached_members_follow_definition_changes_and_imports(proj, tmp_path):
    from seglab.core.importing import import_file
    from seglab.core.segments import condition_counts, member_keys

    save_segment(proj.conn, "Chosen", plan("pro"))
    seg = load_definition(ref("Chosen"))
    key_of = dict(proj.conn.execute("SELECT user_id, user_key FROM users").fetchall())
    assert member_keys(proj.conn, seg) == [key_of["u1"]]
    assert member_keys(proj.conn, seg) == [key_of["u1"]]  # served from the cache
    save_segment(proj.conn, "Chosen", plan("free"))
    assert member_keys(proj.conn, seg) == [key_of["u2"]]
    assert [c.alone for c in condition_counts(proj.conn, seg)] == [1]
    csv_path = tmp_path / "more.csv"
    csv_path.write_text("user_id,plan\nu3,free\n", encoding="utf-8")
    import_file(proj, csv_path, kind="users")
    assert len(member_keys(proj.conn, seg)) == 2
    assert [c.alone for c in condition_counts(proj.conn, seg)] == [2]
    assert count(proj.conn, seg) == 2
