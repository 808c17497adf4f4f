"""The builder's and the import wizard's models on their own, without their widgets."""

from __future__ import annotations

import pytest

from seglab.ui.models.import_model import ImportPlanModel
from seglab.ui.models.segment_builder_model import EditDraftCommand, SegmentBuilderModel, empty_definition

PRO = {"type": "property", "entity": "user", "property": "plan", "op": "eq", "value": "pro"}
LOGIN = {"type": "behavior", "event": "login"}


# -- SegmentBuilderModel --------------------------------------------------------------------------


@pytest.fixture
def model(qapp, stack):
    return SegmentBuilderModel(stack)


def test_edits_are_undoable_and_never_mutate_the_previous_definition(model, stack):
    changes = []
    model.draft_changed.connect(changes.append)
    before = model.definition
    model.append_at(("conditions",), PRO, "Add condition")
    model.append_at(("conditions",), LOGIN, "Add condition")
    assert model.definition["conditions"] == [PRO, LOGIN]
    assert before == empty_definition()  # copy on write: the old value is untouched
    assert stack.count() == 2 and stack.undoText() == "Add condition"
    assert isinstance(stack.command(0), EditDraftCommand)
    model.move_at(("conditions",), 0, 1, "Move condition")
    assert model.definition["conditions"] == [LOGIN, PRO]
    model.move_at(("conditions",), 1, 1, "Move condition")  # off the end: nothing happens
    assert stack.count() == 3
    model.move_to(("conditions",), 1, 0, "Move condition")
    model.remove_at(("conditions",), 1, "Remove condition")
    assert model.definition["conditions"] == [PRO]
    stack.undo()
    stack.undo()
    assert model.definition["conditions"] == [LOGIN, PRO]
    stack.redo()
    assert model.definition["conditions"] == [PRO, LOGIN]
    assert changes[-1] is model.draft


def test_typing_in_one_field_is_one_undo_step(model, stack):
    model.append_at(("conditions",), PRO, "Add condition")
    for text in ("e", "en", "ent"):
        model.update_at(("conditions", 0), "Change value", merge_key=("value", 0), value=text)
    for text in ("Pr", "Pro"):
        model.set_name(text)
    assert stack.count() == 3  # add, the value typed, the name typed
    assert model.get(("conditions", 0, "value")) == "ent" and model.name == "Pro"
    stack.undo()
    stack.undo()
    assert model.get(("conditions", 0, "value")) == "pro" and model.name == ""


def test_dirty_follows_the_saved_version(model, stack):
    flags = []
    model.dirty_changed.connect(flags.append)
    model.open_document("Pro users", {"version": 1, "level": "user", "match": "all", "conditions": [PRO]})
    assert not model.is_dirty() and model.saved_name == "Pro users" and model.name == "Pro users"
    model.append_at(("conditions",), LOGIN, "Add condition")
    assert model.is_dirty()
    stack.undo()
    assert not model.is_dirty()
    stack.redo()
    model.mark_saved("Pro users")
    assert not model.is_dirty()
    model.note_renamed("Pro users", "Paying users")
    assert (model.saved_name, model.name, model.is_dirty()) == ("Paying users", "Paying users", False)
    model.forget_saved()
    assert model.saved_name is None and model.is_dirty()
    assert flags == [True, False, True, False, True]


def test_undo_never_reaches_into_another_document(model, stack):
    model.append_at(("conditions",), PRO, "Add condition")
    model.open_document(None, empty_definition("account"))
    assert model.level == "account" and model.definition["conditions"] == []
    stack.undo()  # the command belongs to the closed draft: it does nothing and goes away
    assert model.definition == empty_definition("account")
    assert stack.count() == 0


def test_level_inside_a_users_condition_is_user(model):
    users = {"type": "users", "match": "all", "conditions": [LOGIN], "count": {"op": "gte", "value": 2}}
    model.open_document(None, {"version": 1, "level": "account", "match": "all", "conditions": [users]})
    assert model.level_at(("conditions",)) == "account"
    assert model.level_at(("conditions", 0, "match")) == "user"


# -- ImportPlanModel ------------------------------------------------------------------------------


@pytest.fixture
def files(tmp_path):
    events = tmp_path / "events.csv"
    events.write_text("user_id,event,timestamp\nu1,login,2024-01-01T10:00:00Z\nu2,buy,2024-01-02T11:00:00Z\n")
    users = tmp_path / "users.csv"
    users.write_text("user_id,plan,seats\nu1,pro,3\nu2,free,1\n")
    accounts = tmp_path / "accounts.csv"
    accounts.write_text("account_id,tier\nA,gold\n")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    return events, users, accounts, empty


def test_files_are_planned_in_import_order(qapp, files):
    events, users, accounts, empty = files
    signals = []
    model = ImportPlanModel()
    model.files_changed.connect(lambda: signals.append("files"))
    model.add_files([events, empty, users, accounts, events])  # the second events.csv is the same file
    assert [p.name for p in model.plans] == ["accounts.csv", "users.csv", "events.csv", "empty.csv"]
    assert [p.detected_kind for p in model.plans[:3]] == ["accounts", "users", "events"]
    assert model.plan(3).error and not model.plan(3).importable
    assert signals == ["files"]
    request = model.request()
    assert [job.path.name for job in request.jobs] == ["accounts.csv", "users.csv", "events.csv"]
    assert request.jobs[2].options["kind"] == "events"
    model.remove_file(3)
    assert len(model) == 3 and signals == ["files", "files"]


def test_choices_change_the_plan(qapp, files):
    events, users, _accounts, _empty = files
    model = ImportPlanModel([users, events])
    row = [p.name for p in model.plans].index("users.csv")
    assert model.plan(row).property_type("seats") == "integer"
    model.set_type(row, "seats", "text")
    assert model.plan(row).import_options()["types"] == {"seats": "text"}
    model.set_type(row, "seats", "integer")  # back to what was inferred: no override
    assert model.plan(row).import_options()["types"] is None
    with pytest.raises(ValueError):
        model.set_type(row, "seats", "colour")

    ev = [p.name for p in model.plans].index("events.csv")
    model.set_field(ev, "user_id", "event")  # a column serves one field: the guess moves
    assert model.plan(ev).fields == {"user_id": "event"}
    assert not model.plan(ev).importable
    model.set_field(ev, "user_id", "user_id")
    assert model.plan(ev).importable

    with pytest.raises(ValueError, match="unknown time zone"):
        model.set_timezone(ev, "Mars/Olympus")
    model.set_timezone(ev, "Europe/Berlin")
    assert model.plan(ev).import_options()["timezone"] == "Europe/Berlin"
    model.set_timezone(ev, "UTC")
    assert model.plan(ev).timezone is None

    model.set_kind(ev, "users")  # a different kind drops the field choices and re-reads the file
    assert model.plan(ev).fields == {} and model.plan(ev).detected_kind == "users"
    with pytest.raises(ValueError):
        model.set_kind(ev, "orders")
