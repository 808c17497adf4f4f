"""Condition rows of the segment builder: one editor per condition type, and condition lists.

A row is a view of the condition at a path in the builder model's draft. It shows
the value it is given (:meth:`sync`) and turns each change a person makes into one
labelled, undoable model edit. When the shape of a condition changes (a filter is
added, the operator needs two values instead of one...) the affected editor is
rebuilt; otherwise values are updated in place, so typing never loses focus.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QMimeData, QPoint, QSignalBlocker, Qt
from PySide6.QtGui import QDrag
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from seglab.core.errors import SegLabError
from seglab.core.segments.idlist import parse_ids, read_ids_file
from seglab.core.segments.operators import MEASURES, OPERATORS
from seglab.ui.models.segment_builder_model import (
    CONDITION_LABELS,
    Path,
    new_condition,
    new_filter,
    set_in,
)
from seglab.ui.widgets.flow_layout import FlowLayout
from seglab.ui.widgets.segment_editors import (
    CompareEditor,
    EventPickerWidget,
    NumberValueEditor,
    OperatorComboWidget,
    PropertyPickerWidget,
    ValueEditor,
    WindowEditor,
    default_value,
    make_value_editor,
    value_editor_kind,
)

if TYPE_CHECKING:  # the builder widget is the rows' context
    from seglab.ui.models.segment_builder_model import BuilderContext

ADD_LABELS = {
    "property": "Add property condition",
    "behavior": "Add event condition",
    "first_seen": "Add first-seen condition",
    "last_seen": "Add last-seen condition",
    "sequence": "Add sequence condition",
    "segment": "Add segment condition",
    "list": "Add list of ids",
    "users": "Add users condition",
    "group": "Add group",
}
ERROR_STYLE = "color: #b00020;"
WARNING_STYLE = "color: #9a6700;"
INCOMPLETE_STYLE = "color: gray;"
NEGATE_STYLE = (
    "QToolButton#negate { padding: 1px 6px; border: 1px solid palette(mid); border-radius: 3px; }"
    "QToolButton#negate:checked { background: #b00020; color: white; font-weight: bold;"
    " border-color: #b00020; }"
)


def _hbox(widget: QWidget | None = None) -> QHBoxLayout:
    layout = QHBoxLayout(widget) if widget is not None else QHBoxLayout()
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(6)
    return layout


def _flow(widget: QWidget | None = None) -> FlowLayout:
    """A row of controls that wraps onto a second line rather than growing wider than the builder."""
    return FlowLayout(widget)


def _vbox(widget: QWidget | None = None) -> QVBoxLayout:
    layout = QVBoxLayout(widget) if widget is not None else QVBoxLayout()
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(4)
    return layout


def _discard(widget: QWidget) -> None:
    # Hidden at once (deleteLater only acts when the event loop next runs).
    widget.hide()
    parent = widget.parentWidget()
    if parent is not None and parent.layout() is not None:
        parent.layout().removeWidget(widget)
    widget.deleteLater()


def _word(text: str) -> QLabel:
    label = QLabel(text)
    label.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Preferred)
    return label


def _small_button(text: str, tip: str) -> QToolButton:
    button = QToolButton()
    button.setText(text)
    button.setToolTip(tip)
    button.setAutoRaise(True)
    return button


# -- property filters (property conditions, "where" filters) --------------------------------------


class FilterEditorWidget(QWidget):
    """``[property ▾] [operator ▾] [value]`` for the filter dict at ``path``.

    ``entities``: which properties the picker offers (a property condition at user level
    offers user and account properties; a ``where`` filter offers event properties).
    ``sets_entity``: a property condition records the picked property's entity.
    """

    def __init__(self, ctx: BuilderContext, path: Path, entities: tuple[str, ...], sets_entity: bool):
        super().__init__()
        self.ctx = ctx
        self.path = path
        self.entities = entities
        self.sets_entity = sets_entity
        self.picker = PropertyPickerWidget()
        self.operator = OperatorComboWidget()
        self.value_editor: ValueEditor | None = None
        self._value_kind: Any = None
        self._layout = _flow(self)
        self._layout.addWidget(self.picker)
        self._layout.addWidget(self.operator)
        self._layout.addStretch(1)
        self.picker.set_choices(ctx.catalogue, entities)
        self.picker.picked.connect(self._on_property)
        self.operator.picked.connect(self._on_operator)

    def _entity(self, f: dict) -> str:
        return f.get("entity", self.entities[0]) if self.sets_entity else self.entities[0]

    def _ptype(self, f: dict) -> str | None:
        prop = self.ctx.catalogue.property(self._entity(f), f.get("property", ""))
        return prop.type if prop else None

    def refresh_choices(self) -> None:
        self.picker.set_choices(self.ctx.catalogue, self.entities)

    def sync(self, f: dict) -> None:
        entity = self._entity(f)
        self.picker.set_current(entity, f.get("property", ""))
        ptype = self._ptype(f)
        self.operator.set_type(ptype)
        self.operator.set_op(f.get("op", "eq"))
        kind = value_editor_kind(ptype, f.get("op", "eq"))
        if self.value_editor is None or kind != self._value_kind:
            if self.value_editor is not None:
                _discard(self.value_editor)
            completions = self.ctx.catalogue.top_values.get((entity, f.get("property", "")), ())
            self.value_editor = make_value_editor(ptype, f.get("op", "eq"), completions)
            self.value_editor.edited.connect(self._on_value)
            self._layout.insertWidget(2, self.value_editor)
            self._value_kind = kind
        self.value_editor.set_value(f.get("value"))

    def _current(self) -> dict:
        return self.ctx.model.get(self.path)

    def _last_day(self) -> str | None:
        days = self.ctx.catalogue.date_range
        return days[1] if days else None

    def _on_property(self, entity: str, name: str) -> None:
        f = self._current()
        prop = self.ctx.catalogue.property(entity, name)
        ptype = prop.type if prop else None
        op = f.get("op", "eq")
        allowed = [o.op for o in OPERATORS.values() if ptype in o.types] if ptype else list(OPERATORS)
        if op not in allowed:
            op = allowed[0]
        changes: dict[str, Any] = {"property": name, "op": op}
        if self.sets_entity:
            changes["entity"] = entity
        old_prop = self.ctx.catalogue.property(self._entity(f), f.get("property", ""))
        keep = old_prop is not None and old_prop.type == ptype
        value = default_value(ptype, op, f.get("value") if keep else None, self._last_day())
        self.ctx.model.edit(self._with(f, changes, value), "Choose property")

    def _on_operator(self, op: str) -> None:
        f = self._current()
        value = default_value(self._ptype(f), op, f.get("value"), self._last_day())
        self.ctx.model.edit(self._with(f, {"op": op}, value), "Change operator")

    def _on_value(self, value: Any) -> None:
        f = self._current()
        self.ctx.model.edit(
            self._with(f, {}, value), "Change value", merge_key=(self.ctx.model.document, self.path, "value")
        )

    def _with(self, f: dict, changes: dict, value: Any) -> dict:
        new = {**f, **changes}
        if value is None:
            new.pop("value", None)
        else:
            new["value"] = value
        return set_in(self.ctx.model.definition, self.path, new)


# -- condition editors ------------------------------------------------------------------------------


class ConditionEditor(QWidget):
    """Base of the per-type editors; ``signature`` is the shape that forces a rebuild."""

    def __init__(self, ctx: BuilderContext, path: Path):
        super().__init__()
        self.ctx = ctx
        self.path = path

    @staticmethod
    def signature(cond: dict) -> Any:
        return cond.get("type")

    def sync(self, cond: dict) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def refresh_choices(self) -> None:
        pass

    def child_rows(self) -> list[ConditionRowWidget]:
        return []

    def cond(self) -> dict:
        return self.ctx.model.get(self.path)

    def on_window(self, window: Any) -> None:
        self.update_cond("Change time window", "window", window=window)

    def update_cond(self, label: str, merge: str | None = None, **changes: Any) -> None:
        key = (self.ctx.model.document, self.path, merge) if merge else None
        self.ctx.model.update_at(self.path, label, merge_key=key, **changes)


class PropertyConditionEditor(ConditionEditor):
    def __init__(self, ctx, path):
        super().__init__(ctx, path)
        entities = ("user", "account") if ctx.model.level_at(path) == "user" else ("account",)
        self.lead = _word("whose")
        self.filter = FilterEditorWidget(ctx, path, entities, sets_entity=True)
        layout = _hbox(self)
        layout.addWidget(self.lead)
        layout.addWidget(self.filter, 1)

    def sync(self, cond):
        self.filter.sync(cond)

    def refresh_choices(self):
        self.filter.refresh_choices()


UNIT_LABELS = {
    "count": "times",
    "distinct_days": "different days",
    "distinct_weeks": "different weeks",
    "distinct_months": "different months",
    "sum": "in total, summing",
    "avg": "on average, of",
    "min": "at the least, of",
    "max": "at the most, of",
}


class WhereListWidget(QWidget):
    """The ``where`` filters of a behavior (event property filters) with add / remove."""

    def __init__(self, ctx, path: Path):
        super().__init__()
        self.ctx = ctx
        self.path = path  # the behavior condition
        self.rows: list[FilterEditorWidget] = []
        self._layout = _vbox(self)
        self.add_button = QPushButton("+ where…")
        self.add_button.setToolTip("Only count events whose properties match a filter")
        self.add_button.setFlat(True)
        self.add_button.clicked.connect(self._add)
        self._layout.addWidget(self.add_button, 0, Qt.AlignmentFlag.AlignLeft)

    def sync(self, where: list) -> None:
        if len(where) != len(self.rows):
            for row in self.rows:
                _discard(row.parentWidget())
            self.rows = []
            for i in range(len(where)):
                box = QWidget()
                line = _hbox(box)
                line.addWidget(_word("where" if i == 0 else "and"))
                editor = FilterEditorWidget(self.ctx, (*self.path, "where", i), ("event",), sets_entity=False)
                line.addWidget(editor, 1)
                remove = _small_button("✕", "Remove this filter")
                remove.clicked.connect(lambda _=False, i=i: self._remove(i))
                line.addWidget(remove)
                self._layout.insertWidget(i, box)
                self.rows.append(editor)
        for editor, f in zip(self.rows, where):
            editor.sync(f)

    def refresh_choices(self):
        for r in self.rows:
            r.refresh_choices()

    def _add(self) -> None:
        self.ctx.model.append_at((*self.path, "where"), new_filter(), "Add filter")

    def _remove(self, i: int) -> None:
        self.ctx.model.remove_at((*self.path, "where"), i, "Remove filter")


class BehaviorConditionEditor(ConditionEditor):
    """did [event] [at least ▾] [3] [times ▾] [in the last ▾] [30 days] where [+ filter]."""

    def __init__(self, ctx, path):
        super().__init__(ctx, path)
        self.account_level = ctx.model.level_at(path) == "account"
        self.lead = _word("their users did" if self.account_level else "did")
        self.event_picker = EventPickerWidget()
        self.event_picker.set_events(ctx.catalogue.event_names)
        self.compare = CompareEditor()
        self.unit = QComboBox()
        self.unit.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.unit.setMinimumContentsLength(12)
        for fn, label in UNIT_LABELS.items():
            self.unit.addItem(label, f"events:{fn}")
        if self.account_level:
            self.unit.insertItem(1, "different users", "users:count")
        self.measure_property = PropertyPickerWidget()
        self.measure_property.set_choices(ctx.catalogue, ("event",))
        self.window_editor = WindowEditor()
        self.window_editor.set_data_range(ctx.catalogue.date_range)
        self.where = WhereListWidget(ctx, path)
        line = QWidget()
        row = _flow(line)
        for w in (self.lead, self.event_picker, self.compare, self.unit, self.measure_property):
            row.addWidget(w)
        row.addStretch(1)
        line2 = QWidget()
        row2 = _flow(line2)
        row2.addWidget(self.window_editor)
        row2.addStretch(1)
        layout = _vbox(self)
        layout.addWidget(line)
        layout.addWidget(line2)
        layout.addWidget(self.where)
        self.event_picker.picked.connect(lambda name: self.update_cond("Change event", event=name))
        self.compare.edited.connect(lambda c: self.update_cond("Change comparison", "compare", compare=c))
        self.unit.activated.connect(self._on_unit)
        self.measure_property.picked.connect(self._on_measure_property)
        self.window_editor.edited.connect(self.on_window)

    def sync(self, cond):
        self.event_picker.set_event(cond.get("event", "*"))
        measure = cond.get("measure") or {"fn": "count"}
        whole = not MEASURES.get(measure.get("fn", "count"), MEASURES["count"]).needs_property
        self.compare.set_compare(cond.get("compare"), decimals=0 if whole else 2)
        per = cond.get("per", "events")
        with QSignalBlocker(self.unit):
            self.unit.setCurrentIndex(max(0, self.unit.findData(f"{per}:{measure.get('fn', 'count')}")))
        needs = MEASURES.get(measure.get("fn", "count"), MEASURES["count"]).needs_property
        self.measure_property.setVisible(needs)
        self.measure_property.set_current("event", measure.get("property") or "")
        self.window_editor.set_window(cond.get("window", "ever"))
        self.where.sync(cond.get("where", []))

    def refresh_choices(self):
        self.event_picker.set_events(self.ctx.catalogue.event_names)
        self.window_editor.set_data_range(self.ctx.catalogue.date_range)
        self.measure_property.set_choices(self.ctx.catalogue, ("event",))
        self.where.refresh_choices()

    def _on_unit(self, index: int) -> None:
        per, _, fn = str(self.unit.itemData(index)).partition(":")
        cond = self.cond()
        measure: dict[str, Any] = {"fn": fn}
        old = cond.get("measure") or {}
        if MEASURES[fn].needs_property:
            numeric = [
                p.name
                for p in self.ctx.catalogue.properties
                if p.entity == "event" and p.type in ("integer", "real")
            ]
            measure["property"] = old.get("property") or (numeric[0] if numeric else "")
        self.update_cond("Change measure", measure=measure, per=per if per == "users" else None)

    def _on_measure_property(self, _entity: str, name: str) -> None:
        measure = {**(self.cond().get("measure") or {"fn": "sum"}), "property": name}
        self.update_cond("Change measure", measure=measure)


class SeenConditionEditor(ConditionEditor):
    """[first ▾] seen doing [event] [window]."""

    def __init__(self, ctx, path):
        super().__init__(ctx, path)
        self.kind = QComboBox()
        self.kind.addItem("first seen", "first_seen")
        self.kind.addItem("last seen", "last_seen")
        self.lead = _word("doing")
        self.event_picker = EventPickerWidget()
        self.event_picker.set_events(ctx.catalogue.event_names)
        self.window_editor = WindowEditor()
        self.window_editor.set_data_range(ctx.catalogue.date_range)
        row = _flow(self)
        for w in (self.kind, self.lead, self.event_picker, self.window_editor):
            row.addWidget(w)
        row.addStretch(1)
        self.kind.activated.connect(self._on_kind)
        self.event_picker.picked.connect(lambda name: self.update_cond("Change event", event=name))
        self.window_editor.edited.connect(self.on_window)

    def _on_kind(self, index: int) -> None:
        self.update_cond("Change condition", type=self.kind.itemData(index))

    @staticmethod
    def signature(cond):
        return "seen"

    def sync(self, cond):
        with QSignalBlocker(self.kind):
            self.kind.setCurrentIndex(max(0, self.kind.findData(cond.get("type"))))
        self.event_picker.set_event(cond.get("event", "*"))
        self.window_editor.set_window(cond.get("window", "ever"))

    def refresh_choices(self):
        self.event_picker.set_events(self.ctx.catalogue.event_names)
        self.window_editor.set_data_range(self.ctx.catalogue.date_range)


class SequenceConditionEditor(ConditionEditor):
    """did in order: [A] (where …) then [B] (where …) … with the last step within [7] days [window]."""

    def __init__(self, ctx, path):
        super().__init__(ctx, path)
        self.steps: list[EventPickerWidget] = []
        self.step_filters: list[WhereListWidget] = []
        self.steps_box = QWidget()
        self.steps_layout = _vbox(self.steps_box)
        self.add_step = _small_button("+ step", "Add a step")
        self.add_step.clicked.connect(self._add)
        self.within_label = _word("with the last step within")
        self.within = NumberValueEditor(False, minimum=0, maximum=100_000, suffix=" days")
        self.within.spin.setDecimals(1)
        self.within.spin.setSpecialValueText("any time")
        self.within.spin.setMinimumWidth(100)
        self.window_editor = WindowEditor()
        self.window_editor.set_data_range(ctx.catalogue.date_range)
        line2 = _flow()
        line2.addWidget(self.add_step)
        line2.addWidget(self.within_label)
        line2.addWidget(self.within)
        line2.addWidget(_word("of the first,"))
        line2.addWidget(self.window_editor)
        line2.addStretch(1)
        layout = _vbox(self)
        layout.addWidget(self.steps_box)
        layout.addLayout(line2)
        self.within.edited.connect(self._on_within)
        self.window_editor.edited.connect(self.on_window)

    @staticmethod
    def signature(cond):
        return "sequence"

    def sync(self, cond):
        steps = cond.get("steps", [])
        if len(steps) != len(self.steps):
            while self.steps_layout.count():
                item = self.steps_layout.takeAt(0)
                if item.widget() is not None:
                    _discard(item.widget())
            self.steps = []
            self.step_filters = []
            for i in range(len(steps)):
                box = QWidget()
                box_layout = _vbox(box)
                line = _hbox()
                line.addWidget(_word("did in order:" if i == 0 else "then"))
                picker = EventPickerWidget(allow_any=True)
                picker.set_events(self.ctx.catalogue.event_names)
                picker.picked.connect(lambda name, i=i: self._on_step(i, name))
                line.addWidget(picker)
                if len(steps) > 1:
                    remove = _small_button("✕", "Remove this step")
                    remove.clicked.connect(lambda _=False, i=i: self._remove(i))
                    line.addWidget(remove)
                line.addStretch(1)
                box_layout.addLayout(line)
                where = WhereListWidget(self.ctx, (*self.path, "steps", i))
                where.setContentsMargins(24, 0, 0, 0)
                box_layout.addWidget(where)
                self.steps_layout.addWidget(box)
                self.steps.append(picker)
                self.step_filters.append(where)
        for picker, where, step in zip(self.steps, self.step_filters, steps):
            picker.set_event(step.get("event", "*"))
            where.sync(step.get("where", []))
        self.within.set_value(cond.get("within_days") or 0)
        self.window_editor.set_window(cond.get("window", "ever"))

    def refresh_choices(self):
        self.window_editor.set_data_range(self.ctx.catalogue.date_range)
        for p in self.steps:
            p.set_events(self.ctx.catalogue.event_names)
        for w in self.step_filters:
            w.refresh_choices()

    def _on_step(self, i: int, name: str) -> None:
        self.ctx.model.update_at((*self.path, "steps", i), "Change step", event=name)

    def _add(self) -> None:
        self.ctx.model.append_at((*self.path, "steps"), {"event": "*"}, "Add step")

    def _remove(self, i: int) -> None:
        self.ctx.model.remove_at((*self.path, "steps"), i, "Remove step")

    def _on_within(self, days) -> None:
        self.update_cond("Change time limit", "within", within_days=days or None)


class SegmentRefConditionEditor(ConditionEditor):
    """in segment [saved segment ▾] (NOT turns it into "not in")."""

    def __init__(self, ctx, path):
        super().__init__(ctx, path)
        self.combo = QComboBox()
        self.combo.setMinimumContentsLength(16)
        row = _flow(self)
        row.addWidget(_word("are in the saved segment"))
        row.addWidget(self.combo)
        row.addStretch(1)
        self.combo.activated.connect(self._on_pick)
        self.refresh_choices()

    def _on_pick(self, index: int) -> None:
        self.update_cond("Change segment", segment=self.combo.itemData(index))

    def refresh_choices(self):
        level = self.ctx.model.level_at(self.path)
        own = self.ctx.model.saved_name
        with QSignalBlocker(self.combo):
            current = self.combo.currentData()
            self.combo.clear()
            for name, seg_level in self.ctx.saved_segments:
                if seg_level == level and name != own:
                    self.combo.addItem(name, name)
            if current is not None:
                self.combo.setCurrentIndex(self.combo.findData(current))

    def sync(self, cond):
        name = cond.get("segment", "")
        with QSignalBlocker(self.combo):
            index = self.combo.findData(name)
            if index < 0 and name:
                self.combo.addItem(f"{name} (missing)", name)
                index = self.combo.count() - 1
            self.combo.setCurrentIndex(index)


class ListConditionEditor(ConditionEditor):
    """are on a list of [N users: u1, u2, ...] [Edit ids…]: the ids are edited in a paste box."""

    def __init__(self, ctx, path):
        super().__init__(ctx, path)
        self.summary = QLabel("")
        self.summary.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.edit_button = QPushButton("Edit ids…")
        self.edit_button.setToolTip("Paste, type or load the ids, one a line")
        row = _hbox(self)
        row.addWidget(_word("are on a list of"))
        row.addWidget(self.summary, 1)
        row.addWidget(self.edit_button)
        self.edit_button.clicked.connect(self.open_editor)
        self.dialog: IdListDialog | None = None

    def sync(self, cond):
        ids = cond.get("ids") or []
        level = self.ctx.model.level_at(self.path)
        noun = "user" if level == "user" else "account"
        if not ids:
            text = f"{noun}s (none yet)"
        else:
            shown = ", ".join(str(i) for i in ids[:5]) + (", …" if len(ids) > 5 else "")
            text = f"{len(ids):,} {noun}{'' if len(ids) == 1 else 's'}: {shown}"
        self.summary.setText(text)
        self.summary.setToolTip("\n".join(str(i) for i in ids[:40]) + ("\n…" if len(ids) > 40 else ""))

    def open_editor(self) -> IdListDialog:
        self.dialog = IdListDialog(self.cond().get("ids") or [], self.window())
        self.dialog.accepted.connect(lambda: self.set_ids(self.dialog.ids()))
        self.dialog.open()
        return self.dialog

    def set_ids(self, ids: list[str]) -> None:
        self.update_cond("Change ids", ids=list(ids))


class IdListDialog(QDialog):
    """A box of ids, one a line (pasted from a spreadsheet, typed, or loaded from a file)."""

    def __init__(self, ids: list[str], parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Ids on the list")
        self.resize(420, 460)
        self.text = QPlainTextEdit("\n".join(str(i) for i in ids))
        self.text.setPlaceholderText("One id a line (or separated by commas or tabs)")
        self.count_label = QLabel("")
        self.error_label = QLabel("")
        self.error_label.setStyleSheet(ERROR_STYLE)
        self.error_label.setWordWrap(True)
        load = QPushButton("Load from file…")
        load.clicked.connect(self.load_file)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        bottom = _hbox()
        bottom.addWidget(load)
        bottom.addWidget(self.count_label, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text, 1)
        layout.addLayout(bottom)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)
        self.text.textChanged.connect(self._update_count)
        self._update_count()

    def ids(self) -> list[str]:
        return parse_ids(self.text.toPlainText())

    def _update_count(self) -> None:
        n = len(self.ids())
        self.count_label.setText(f"{n:,} id{'' if n == 1 else 's'}")

    def load_file(self, path: str | None = None) -> bool:
        if path is None:
            path, _ = QFileDialog.getOpenFileName(
                self, "Load ids", "", "Text and CSV files (*.txt *.csv);;All (*)"
            )
            if not path:
                return False
        try:
            ids = read_ids_file(path)
        except SegLabError as exc:
            self.error_label.setText(str(exc))
            return False
        self.error_label.setText("")
        self.text.setPlainText("\n".join(ids))
        return True


class ConditionListWidget(QWidget):
    """``Match [all ▾] of:`` + condition rows + ``+ Add condition ▾`` for the definition at ``def_path``.

    ``def_path`` points at a dict with ``match`` and ``conditions``: the whole definition
    (``()``), a group condition, or the ``match`` of a users condition.
    """

    def __init__(self, ctx: BuilderContext, def_path: Path, *, nested: bool = False):
        super().__init__()
        self.ctx = ctx
        self.def_path = def_path
        self.rows: list[ConditionRowWidget] = []
        self._signature: tuple = ()
        self.match = QComboBox()
        self.match.addItem("all", "all")
        self.match.addItem("any", "any")
        self.match.setToolTip("all: every condition must hold (AND); any: at least one (OR)")
        self.match_label = _word("Match")
        header = _hbox()
        header.addWidget(self.match_label)
        header.addWidget(self.match)
        header.addWidget(_word("of these conditions:" if not nested else "of:"))
        header.addStretch(1)
        self.empty_label = QLabel("")
        self.empty_label.setStyleSheet("color: gray")
        self.rows_layout = _vbox()
        self.add_button = QPushButton("+ Add condition")
        self.add_menu = QMenu(self.add_button)
        self.add_button.setMenu(self.add_menu)
        self.add_menu.aboutToShow.connect(self._fill_add_menu)
        footer = _hbox()
        footer.addWidget(self.add_button)
        footer.addStretch(1)
        layout = _vbox(self)
        layout.addLayout(header)
        layout.addWidget(self.empty_label)
        layout.addLayout(self.rows_layout)
        layout.addLayout(footer)
        self.match.activated.connect(self._on_match)
        self.setAcceptDrops(True)

    # -- drag and drop (reorder within this list) -------------------------------------------------
    def _dragged_index(self, mime: QMimeData) -> int | None:
        if not mime.hasFormat(ROW_MIME):
            return None
        try:
            path = tuple(json.loads(bytes(mime.data(ROW_MIME)).decode()))
        except ValueError:
            return None
        if path[:-1] != self.conditions_path or not isinstance(path[-1], int):
            return None
        return path[-1]

    def drop_index_at(self, y: int) -> int:
        """The position a row dropped at height ``y`` (in this widget) goes to."""
        for i, row in enumerate(self.rows):
            if y < row.mapTo(self, QPoint(0, 0)).y() + row.height() // 2:
                return i
        return len(self.rows)

    def drop_row(self, index: int, position: int) -> None:
        """Move row ``index`` to before row ``position`` (``len(rows)``: to the end)."""
        target = position - 1 if position > index else position
        self.ctx.model.move_to(self.conditions_path, index, target, "Move condition")

    def dragEnterEvent(self, event) -> None:
        if self._dragged_index(event.mimeData()) is not None:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:
        self.dragEnterEvent(event)

    def dropEvent(self, event) -> None:
        index = self._dragged_index(event.mimeData())
        if index is None:
            event.ignore()
            return
        event.acceptProposedAction()
        self.drop_row(index, self.drop_index_at(int(event.position().y())))

    @property
    def conditions_path(self) -> Path:
        return (*self.def_path, "conditions")

    def level(self) -> str:
        return self.ctx.model.level_at(self.conditions_path)

    def kinds(self) -> list[str]:
        kinds = ["property", "behavior", "first_seen", "last_seen", "sequence", "segment", "list"]
        if self.level() == "account":
            kinds.append("users")
        kinds.append("group")
        return kinds

    def _fill_add_menu(self) -> None:
        self.add_menu.clear()
        for kind in self.kinds():
            action = self.add_menu.addAction(CONDITION_LABELS[kind])
            action.triggered.connect(lambda _=False, k=kind: self.add_condition(k))

    def add_condition(self, kind: str) -> None:
        level = self.level()
        events = self.ctx.catalogue.event_names
        event = events[0][0] if events else "*"
        saved = [n for n, lv in self.ctx.saved_segments if lv == level and n != self.ctx.model.saved_name]
        cond = new_condition(kind, level, event=event, segment=saved[0] if saved else "")
        label = ADD_LABELS[kind]
        self.ctx.model.append_at(self.conditions_path, cond, label)

    def _on_match(self, index: int) -> None:
        self.ctx.model.update_at(self.def_path, "Change match", match=self.match.itemData(index))

    def sync(self, node: dict) -> None:
        with QSignalBlocker(self.match):
            self.match.setCurrentIndex(max(0, self.match.findData(node.get("match", "all"))))
        conditions = node.get("conditions", [])
        level = self.level()
        # The level is part of the shape: pickers offer different properties per level.
        signature = (level, *(ConditionRowWidget.editor_class(c).signature(c) for c in conditions))
        if signature != self._signature:
            for row in self.rows:
                _discard(row)
            self.rows = [
                ConditionRowWidget(self.ctx, self, (*self.conditions_path, i), c)
                for i, c in enumerate(conditions)
            ]
            for row in self.rows:
                self.rows_layout.addWidget(row)
            self._signature = signature
        for row, c in zip(self.rows, conditions):
            row.sync(c)
            row.set_position(row.path[-1], len(conditions))
        self.empty_label.setText(f"No conditions yet: every {level} matches.")
        self.empty_label.setVisible(not conditions)
        show_match = len(conditions) > 1
        self.match.setEnabled(show_match)

    def refresh_choices(self) -> None:
        for row in self.rows:
            row.refresh_choices()

    def all_rows(self) -> list[ConditionRowWidget]:
        out = []
        for row in self.rows:
            out.append(row)
            for child in row.editor.child_rows():
                out.append(child)
        return out


class GroupConditionEditor(ConditionEditor):
    def __init__(self, ctx, path):
        super().__init__(ctx, path)
        self.list = ConditionListWidget(ctx, path, nested=True)
        _vbox(self).addWidget(self.list)

    def sync(self, cond):
        self.list.sync(cond)

    def refresh_choices(self):
        self.list.refresh_choices()

    def child_rows(self):
        out = []
        for row in self.list.rows:
            out.append(row)
            out.extend(row.editor.child_rows())
        return out


class UsersConditionEditor(ConditionEditor):
    """accounts where [at least ▾] [5] [users ▾ / % of users] match: [nested user conditions]."""

    def __init__(self, ctx, path):
        super().__init__(ctx, path)
        self.compare = CompareEditor()
        self.unit = QComboBox()
        self.unit.addItem("users", False)
        self.unit.addItem("of their users (share)", True)
        self.list = ConditionListWidget(ctx, (*path, "match"), nested=True)
        line = _flow()
        line.addWidget(_word("have"))
        line.addWidget(self.compare)
        line.addWidget(self.unit)
        line.addWidget(_word("who match"))
        line.addStretch(1)
        layout = _vbox(self)
        layout.addLayout(line)
        inner = QFrame()
        inner.setFrameShape(QFrame.Shape.StyledPanel)
        inner_layout = _vbox(inner)
        inner_layout.setContentsMargins(12, 6, 6, 6)
        inner_layout.addWidget(self.list)
        layout.addWidget(inner)
        self.compare.edited.connect(lambda c: self.update_cond("Change comparison", "compare", compare=c))
        self.unit.activated.connect(self._on_unit)

    def _on_unit(self, index: int) -> None:
        share = bool(self.unit.itemData(index))
        compare = self.cond().get("compare") or {"op": "gte", "value": 1}
        value = compare.get("value")
        if share:  # counts become fractions: "at least 3 users" -> "at least 50 %"
            compare = {
                "op": compare.get("op", "gte"),
                "value": [0.5, 1] if compare.get("op") == "between" else 0.5,
            }
        elif isinstance(value, float) and value <= 1:
            compare = {
                "op": compare.get("op", "gte"),
                "value": [1, 5] if compare.get("op") == "between" else 1,
            }
        self.update_cond("Change count or share", compare=compare, share=True if share else None)

    def sync(self, cond):
        share = bool(cond.get("share", False))
        with QSignalBlocker(self.unit):
            self.unit.setCurrentIndex(1 if share else 0)
        self.compare.set_compare(cond.get("compare"), percent=share)
        self.list.sync(cond.get("match") or {})

    def refresh_choices(self):
        self.list.refresh_choices()

    def child_rows(self):
        out = []
        for row in self.list.rows:
            out.append(row)
            out.extend(row.editor.child_rows())
        return out


EDITORS: dict[str, type[ConditionEditor]] = {
    "property": PropertyConditionEditor,
    "behavior": BehaviorConditionEditor,
    "first_seen": SeenConditionEditor,
    "last_seen": SeenConditionEditor,
    "sequence": SequenceConditionEditor,
    "segment": SegmentRefConditionEditor,
    "list": ListConditionEditor,
    "users": UsersConditionEditor,
    "group": GroupConditionEditor,
}


class UnknownConditionEditor(ConditionEditor):
    def __init__(self, ctx, path):
        super().__init__(ctx, path)
        self.label = QLabel("")
        _hbox(self).addWidget(self.label)

    def sync(self, cond):
        self.label.setText(f"condition of unknown type {cond.get('type')!r} (edit the JSON)")


ROW_MIME = "application/x-seglab-condition-path"


class DragHandleWidget(QLabel):
    """The ⠿ grip of a row: drag it to move the condition within its list."""

    def __init__(self, row: ConditionRowWidget):
        super().__init__("⠿")
        self.row = row
        self.setToolTip("Drag to move this condition")
        self.setCursor(Qt.CursorShape.OpenHandCursor)
        self._press = None

    def mousePressEvent(self, event) -> None:
        self._press = event.position().toPoint()
        event.accept()

    def mouseMoveEvent(self, event) -> None:
        if self._press is None or (event.position().toPoint() - self._press).manhattanLength() < 6:
            return
        self._press = None
        mime = QMimeData()
        mime.setData(ROW_MIME, json.dumps(list(self.row.path)).encode())
        drag = QDrag(self)
        drag.setMimeData(mime)
        drag.setPixmap(self.row.grab().scaledToWidth(min(400, self.row.width())))
        drag.exec(Qt.DropAction.MoveAction)


class ConditionRowWidget(QFrame):
    """One condition: its editor, the live count, NOT, move up / down, remove, and its problems."""

    def __init__(self, ctx: BuilderContext, owner: ConditionListWidget, path: Path, cond: dict):
        super().__init__()
        self.ctx = ctx
        self.owner = owner
        self.path = path
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setObjectName("condition_row")
        self.editor = self.editor_class(cond)(ctx, path)
        self.negate = QToolButton()
        self.negate.setText("NOT")
        self.negate.setCheckable(True)
        self.negate.setToolTip("Negate: keep everyone who does NOT match this condition")
        self.negate.setObjectName("negate")
        # The on state must be unmistakable: a filled red NOT, not a faint pressed look.
        self.negate.setStyleSheet(NEGATE_STYLE)
        self.count_label = QLabel("")
        self.count_label.setMinimumWidth(48)
        self.count_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.up = _small_button("▲", "Move up")
        self.down = _small_button("▼", "Move down")
        self.remove = _small_button("✕", "Remove this condition")
        self.problem_label = QLabel("")
        self.problem_label.setWordWrap(True)
        self.problem_label.setVisible(False)
        self.problem_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.handle = DragHandleWidget(self)
        top = _hbox()
        top.addWidget(self.handle, 0, Qt.AlignmentFlag.AlignTop)
        top.addWidget(self.negate, 0, Qt.AlignmentFlag.AlignTop)
        top.addWidget(self.editor, 1)
        # The buttons, with the count under them: a narrow column, so nested rows still fit.
        buttons = _hbox()
        buttons.setSpacing(0)
        for b in (self.up, self.down, self.remove):
            buttons.addWidget(b)
        side = _vbox()
        side.setSpacing(0)
        side.addLayout(buttons)
        side.addWidget(self.count_label, 0, Qt.AlignmentFlag.AlignRight)
        side.addStretch(1)
        top.addLayout(side)
        layout = _vbox(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addLayout(top)
        layout.addWidget(self.problem_label)
        self.negate.toggled.connect(self._on_negate)
        self.up.clicked.connect(lambda: self._move(-1))
        self.down.clicked.connect(lambda: self._move(1))
        self.remove.clicked.connect(self._remove)

    @staticmethod
    def editor_class(cond: dict) -> type[ConditionEditor]:
        return EDITORS.get(cond.get("type"), UnknownConditionEditor)

    def sync(self, cond: dict) -> None:
        with QSignalBlocker(self.negate):
            self.negate.setChecked(bool(cond.get("negate", False)))
        self.editor.sync(cond)

    def set_position(self, index: int, total: int) -> None:
        self.up.setEnabled(index > 0)
        self.down.setEnabled(index < total - 1)

    def refresh_choices(self) -> None:
        self.editor.refresh_choices()

    def set_count(self, text: str, tip: str = "") -> None:
        self.count_label.setText(text)
        self.count_label.setToolTip(tip)

    def set_problems(self, problems: list[tuple[str, str, str]]) -> None:
        if not problems:
            self.problem_label.setVisible(False)
            self.problem_label.setText("")
            self.setStyleSheet("")
            return
        errors = [p for p in problems if p[2] == "error"]
        warnings = [p for p in problems if p[2] == "warning"]
        shown = errors or warnings or problems
        # A row not filled in yet is unfinished, not wrong: a grey hint, no red frame.
        unfinished = not errors and not warnings
        self.problem_label.setText("\n".join(p[1] if unfinished else f"⚠ {p[1]}" for p in shown))
        self.problem_label.setToolTip("\n".join(f"{p[0]}: {p[1]}" for p in shown))
        self.problem_label.setStyleSheet(
            ERROR_STYLE if errors else WARNING_STYLE if warnings else INCOMPLETE_STYLE
        )
        self.problem_label.setVisible(True)
        self.setStyleSheet("QFrame#condition_row { border: 1px solid #b00020; }" if errors else "")

    def problem_text(self) -> str:
        return self.problem_label.text() if self.problem_label.isVisible() else ""

    def _on_negate(self, checked: bool) -> None:
        self.ctx.model.update_at(
            self.path,
            "Negate condition" if checked else "Un-negate condition",
            negate=True if checked else None,
        )

    def _move(self, delta: int) -> None:
        self.ctx.model.move_at(self.path[:-1], self.path[-1], delta, "Move condition")

    def _remove(self) -> None:
        self.ctx.model.remove_at(self.path[:-1], self.path[-1], "Remove condition")
