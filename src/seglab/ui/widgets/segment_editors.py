"""Small editors the segment builder is made of: pickers and value editors.

Each editor shows a value it is given (``set_value`` / ``set_*``, which never emit)
and emits ``edited`` when the person changes it. None of them keeps segment state:
the builder model holds the draft, and the rows write edits back through it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from functools import cache
from typing import Any

from PySide6.QtCore import QDate, QSignalBlocker, QSize, QStringListModel, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QIcon,
    QPainter,
    QPixmap,
    QStandardItem,
    QStandardItemModel,
    QValidator,
)
from PySide6.QtWidgets import (
    QCalendarWidget,
    QComboBox,
    QCompleter,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QToolButton,
    QWidget,
    QWidgetAction,
)

from seglab.core.profiles import BuilderCatalogue
from seglab.core.segments.operators import COMPARE_OPS, OPERATORS, operators_for_type
from seglab.ui.widgets.flow_layout import FlowLayout

ENTITY_TITLES = {"user": "User properties", "account": "Account properties", "event": "Event properties"}
TYPE_BADGES = {
    "text": ("Aa", "#5b7db1"),
    "integer": ("#", "#4c9a6a"),
    "real": ("#.#", "#4c9a6a"),
    "boolean": ("✓", "#9a6a4c"),
    "datetime": ("D", "#8a5bb1"),
}
PICK_ROLE = Qt.ItemDataRole.UserRole + 10  # "entity:name" of a property item


def _pick_key(entity: str, name: str) -> str:
    return f"{entity}:{name}"


def _unpick(key: str) -> tuple[str, str]:
    entity, _, name = key.partition(":")
    return entity, name


MAX_NUMBER = 1e15


@cache
def type_icon(ptype: str) -> QIcon:
    """A small badge for a property type (text, number, boolean, date)."""
    text, color = TYPE_BADGES.get(ptype, ("?", "#777777"))
    pixmap = QPixmap(QSize(22, 16))
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setBrush(QColor(color))
    painter.setPen(Qt.PenStyle.NoPen)
    painter.drawRoundedRect(0, 1, 22, 14, 3, 3)
    painter.setPen(QColor("white"))
    font = QFont()
    font.setPixelSize(9 if len(text) < 3 else 8)
    font.setBold(True)
    painter.setFont(font)
    painter.drawText(pixmap.rect(), Qt.AlignmentFlag.AlignCenter, text)
    painter.end()
    return QIcon(pixmap)


def _set_combo_data(combo: QComboBox, data: Any) -> None:
    with QSignalBlocker(combo):
        index = combo.findData(data)
        combo.setCurrentIndex(index)


# -- pickers --------------------------------------------------------------------------------------


class PropertyPickerWidget(QComboBox):
    """A searchable property picker grouped by entity, with type icons.

    ``picked(entity, name)`` is emitted when a property is chosen (from the list or by
    typing part of its name and taking a completion).
    """

    picked = Signal(str, str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setEditable(True)
        self.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.setMinimumContentsLength(14)
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.lineEdit().setPlaceholderText("property…")
        self._items = QStandardItemModel(self)
        self.setModel(self._items)
        self._completer_model = QStringListModel(self)
        completer = QCompleter(self._completer_model, self)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        completer.activated.connect(self._on_completion)
        self.setCompleter(completer)
        self._texts: dict[str, tuple[str, str]] = {}
        self._types: dict[tuple[str, str], str] = {}
        self._current: tuple[str, str] | None = None
        self.activated.connect(self._on_activated)
        self.lineEdit().editingFinished.connect(self._restore_text)

    def set_choices(self, catalogue: BuilderCatalogue, entities: Sequence[str]) -> None:
        with QSignalBlocker(self):
            self._items.clear()
            self._texts.clear()
            self._types.clear()
            names = [p.name for p in catalogue.properties if p.entity in entities]
            for entity in entities:
                props = [p for p in catalogue.properties if p.entity == entity]
                if not props:
                    continue
                if len(entities) > 1:
                    header = QStandardItem(ENTITY_TITLES[entity])
                    header.setFlags(Qt.ItemFlag.NoItemFlags)
                    font = header.font()
                    font.setBold(True)
                    header.setFont(font)
                    self._items.appendRow(header)
                for p in props:
                    text = p.name if names.count(p.name) == 1 else f"{p.name} ({p.entity})"
                    item = QStandardItem(type_icon(p.type), text)
                    item.setData(_pick_key(p.entity, p.name), PICK_ROLE)
                    item.setToolTip(f"{p.entity} property {p.name!r}: {p.type}")
                    self._items.appendRow(item)
                    self._texts[text] = (p.entity, p.name)
                    self._types[(p.entity, p.name)] = p.type
            self._completer_model.setStringList(list(self._texts))
        self.set_current(*(self._current or ("", "")))

    def property_type(self, entity: str, name: str) -> str | None:
        return self._types.get((entity, name))

    def set_current(self, entity: str, name: str) -> None:
        self._current = (entity, name) if name else None
        with QSignalBlocker(self):
            index = self.findData(_pick_key(entity, name), PICK_ROLE) if name else -1
            self.setCurrentIndex(index)
            if index < 0:
                self.setEditText(name)

    def pick(self, entity: str, name: str) -> None:
        """Choose a property as a person would (emits ``picked``)."""
        index = self.findData(_pick_key(entity, name), PICK_ROLE)
        if index < 0:
            raise KeyError(f"no {entity} property {name!r} in the picker")
        self.setCurrentIndex(index)
        self._on_activated(index)

    def _on_activated(self, index: int) -> None:
        key = self.itemData(index, PICK_ROLE)
        if key and _unpick(key) != self._current:
            self._current = _unpick(key)
            self.picked.emit(*self._current)

    def _on_completion(self, text: str) -> None:
        if text in self._texts:
            self.pick(*self._texts[text])

    def _restore_text(self) -> None:
        self.set_current(*(self._current or ("", "")))


class EventPickerWidget(QComboBox):
    """Event names, most frequent first, plus "any event" (``*``); searchable."""

    picked = Signal(str)
    ANY = "any event"

    def __init__(self, parent: QWidget | None = None, *, allow_any: bool = True):
        super().__init__(parent)
        self.setEditable(True)
        self.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.setMinimumContentsLength(12)
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.lineEdit().setPlaceholderText("event…")
        self._allow_any = allow_any
        self._current = ""
        self.completer().setFilterMode(Qt.MatchFlag.MatchContains)
        self.completer().setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.activated.connect(self._on_activated)
        self.lineEdit().editingFinished.connect(self._on_typed)

    def set_events(self, events: Sequence[tuple[str, int]]) -> None:
        with QSignalBlocker(self):
            self.clear()
            if self._allow_any:
                self.addItem(self.ANY, "*")
            for name, n in events:
                self.addItem(name, name)
                self.setItemData(self.count() - 1, f"{n:,} events", Qt.ItemDataRole.ToolTipRole)
        self.set_event(self._current)

    def set_event(self, name: str) -> None:
        self._current = name
        with QSignalBlocker(self):
            index = self.findData(name)
            self.setCurrentIndex(index)
            if index < 0:
                self.setEditText(name)

    def pick(self, name: str) -> None:
        index = self.findData(name)
        if index < 0:
            raise KeyError(f"no event {name!r} in the picker")
        self.setCurrentIndex(index)
        self._on_activated(index)

    def _on_activated(self, index: int) -> None:
        name = self.itemData(index)
        if name is not None and name != self._current:
            self._current = name
            self.picked.emit(name)

    def _on_typed(self) -> None:
        text = self.currentText().strip()
        index = self.findText(text, Qt.MatchFlag.MatchFixedString)
        if index >= 0:
            self._on_activated(index)
        elif text and text != self.ANY and text != self._current:
            self._current = text  # an event not in this project: the core warns about it
            self.picked.emit(text)
        else:
            self.set_event(self._current)


class OperatorComboWidget(QComboBox):
    """The operators the ONE operator table allows for a property type, with its labels."""

    picked = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._type: str | None = None
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.setMinimumContentsLength(10)
        self.activated.connect(lambda i: self.picked.emit(self.itemData(i)))

    def set_type(self, ptype: str | None) -> None:
        if ptype == self._type and self.count():
            return
        self._type = ptype
        current = self.currentData()
        with QSignalBlocker(self):
            self.clear()
            ops = operators_for_type(ptype) if ptype else list(OPERATORS.values())
            for o in ops:
                self.addItem(o.label, o.op)
            if current is not None:
                self.setCurrentIndex(max(0, self.findData(current)))

    def set_op(self, op: str) -> None:
        _set_combo_data(self, op)

    def ops(self) -> list[str]:
        return [self.itemData(i) for i in range(self.count())]

    def pick(self, op: str) -> None:
        index = self.findData(op)
        if index < 0:
            raise KeyError(f"operator {op!r} is not offered here")
        self.setCurrentIndex(index)
        self.picked.emit(op)


# -- value editors ------------------------------------------------------------------------------


class ValueEditor(QWidget):
    """Base: ``edited(value)`` when changed by a person; ``set_value`` never emits."""

    edited = Signal(object)

    def set_value(self, value: Any) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def value(self) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError


def _hbox(widget: QWidget) -> QHBoxLayout:
    layout = QHBoxLayout(widget)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(4)
    return layout


class TextValueEditor(ValueEditor):
    """Text with completion from the property's most frequent values."""

    def __init__(self, completions: Sequence[str] = (), parent: QWidget | None = None):
        super().__init__(parent)
        self.line = QLineEdit()
        self.line.setPlaceholderText("value")
        self.line.setMinimumWidth(120)
        if completions:
            completer = QCompleter(list(completions), self.line)
            completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
            completer.setFilterMode(Qt.MatchFlag.MatchContains)
            self.line.setCompleter(completer)
            self.line.setToolTip("Frequent values: " + ", ".join(completions[:10]))
        _hbox(self).addWidget(self.line)
        self.line.textEdited.connect(lambda t: self.edited.emit(t))
        if completions:
            self.line.completer().activated.connect(lambda t: self.edited.emit(t))

    def set_value(self, value: Any) -> None:
        text = "" if value is None else str(value)
        if self.line.text() != text:
            with QSignalBlocker(self.line):
                self.line.setText(text)

    def value(self) -> str:
        return self.line.text()


NUMBER_DIGITS = 15  # what a double keeps exactly; longer numbers would be silently rounded
PROBLEM_STYLE = "color: #b00020;"


def number_problem(text: str, minimum: float, maximum: float, integer: bool) -> str | None:
    """Why ``text`` is not a number the editor can keep as typed (None: it is fine)."""
    text = text.strip().replace(",", "")
    if not text:
        return None  # still typing
    try:
        value = float(text)
    except ValueError:
        return "not a number"
    if value != value or value in (float("inf"), float("-inf")):
        return "not a number"
    digits = sum(c.isdigit() for c in text.split("e")[0].split("E")[0].lstrip("+-").lstrip("0.") or "0")
    if value > maximum:
        return f"too large (at most {maximum:,.0f})"
    if value < minimum:
        return f"too small (at least {minimum:,.0f})"
    if digits > NUMBER_DIGITS:
        return f"more than {NUMBER_DIGITS} digits would be rounded"
    if integer and not value.is_integer():
        return "a whole number is needed"
    return None


class CheckedSpinBox(QDoubleSpinBox):
    """A spin box that lets a person type anything and says what is wrong, instead of silently
    dropping letters, capping a large number or rounding long digits (``problem(str)``, "" = fine)."""

    problem = Signal(str)

    def __init__(self, integer: bool, parent: QWidget | None = None):
        super().__init__(parent)
        self.integer = integer
        self._problem = ""

    def _bare(self, text: str) -> str:
        if self.suffix() and text.endswith(self.suffix()):
            text = text[: -len(self.suffix())]
        if self.prefix() and text.startswith(self.prefix()):
            text = text[len(self.prefix()) :]
        return text

    def validate(self, text: str, pos: int):
        bare = self._bare(text).strip()
        if self.specialValueText() and text == self.specialValueText():
            self._set_problem("")
            return super().validate(text, pos)
        problem = number_problem(bare, self.minimum(), self.maximum(), self.integer and self.decimals() == 0)
        if (
            problem is None
            and bare
            and self.decimals() == 0
            and not float(bare.replace(",", "")).is_integer()
        ):
            problem = "a whole number is needed"
        self._set_problem(problem or "")
        if problem:
            # Kept as typed (not dropped): the message says why the value is not taken.
            return QValidator.State.Intermediate, text, pos
        return super().validate(text, pos)

    def _set_problem(self, problem: str) -> None:
        if problem != self._problem:
            self._problem = problem
            self.problem.emit(problem)

    def current_problem(self) -> str:
        return self._problem

    def focusOutEvent(self, event) -> None:
        typed = self.lineEdit().text()
        problem = self._problem
        super().focusOutEvent(event)
        if problem:  # Qt puts the last good value back: say so, naming what was typed
            self._problem = ""
            self._set_problem(
                f"“{self._bare(typed).strip()}”: {problem}; kept {self.textFromValue(self.value())}"
            )


class NumberValueEditor(ValueEditor):
    """A number box (whole numbers for integer properties and counts) that says what is wrong
    with what was typed instead of changing it; the last good value stays in the definition."""

    def __init__(
        self,
        integer: bool,
        parent: QWidget | None = None,
        *,
        minimum: float = -MAX_NUMBER,
        maximum: float = MAX_NUMBER,
        suffix: str = "",
    ):
        super().__init__(parent)
        self.integer = integer
        self.spin = CheckedSpinBox(integer)
        self.spin.setDecimals(0 if integer else 4)
        self.spin.setRange(minimum, maximum)
        self.spin.setSuffix(suffix)
        # Taken when typing is finished (Enter, Tab, focus out), never a prefix of what is being
        # typed: "99999999" must not become 99999 on the way to "too large".
        self.spin.setKeyboardTracking(False)
        self.spin.setMinimumWidth(64)
        self.spin.setMaximumWidth(120)
        self.spin.setAccelerated(True)
        self.problem_label = QLabel("")
        self.problem_label.setStyleSheet(PROBLEM_STYLE)
        self.problem_label.setVisible(False)
        layout = _hbox(self)
        layout.addWidget(self.spin)
        layout.addWidget(self.problem_label)
        self.spin.valueChanged.connect(lambda _v: self.edited.emit(self.value()))
        self.spin.problem.connect(self._on_problem)

    def _on_problem(self, text: str) -> None:
        self.problem_label.setText(text)
        self.problem_label.setVisible(bool(text))

    def problem(self) -> str:
        return self.problem_label.text() if not self.problem_label.isHidden() else ""

    def set_value(self, value: Any) -> None:
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = 0.0
        if self.spin.value() != number:
            with QSignalBlocker(self.spin):
                self.spin.setValue(number)

    def value(self) -> int | float:
        v = self.spin.value()
        return round(v) if self.integer or float(v).is_integer() else v


class BoolValueEditor(ValueEditor):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.combo = QComboBox()
        self.combo.addItem("true", True)
        self.combo.addItem("false", False)
        _hbox(self).addWidget(self.combo)
        self.combo.activated.connect(lambda i: self.edited.emit(self.combo.itemData(i)))

    def set_value(self, value: Any) -> None:
        _set_combo_data(self.combo, bool(value) if isinstance(value, bool) else True)

    def value(self) -> bool:
        return bool(self.combo.currentData())


def parse_day(text: str) -> str | None:
    """``YYYY-MM-DD`` for a typed whole date (also ``YYYY/MM/DD``), None when it is not a date."""
    text = text.strip().replace("/", "-").replace(".", "-")
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        return None


class DateValueEditor(ValueEditor):
    """A date typed whole (``2025-03-15``) or picked from a calendar; the value is ``YYYY-MM-DD``
    (UTC day). Something that is not a date is kept as typed and called "not a date"."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.line = QLineEdit()
        self.line.setPlaceholderText("YYYY-MM-DD")
        self.line.setMinimumWidth(96)
        self.line.setMaximumWidth(110)
        self.pick = QToolButton()
        self.pick.setText("▾")
        self.pick.setToolTip("Pick from a calendar")
        self.pick.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.pick)
        self.calendar = QCalendarWidget()
        action = QWidgetAction(menu)
        action.setDefaultWidget(self.calendar)
        menu.addAction(action)
        self.pick.setMenu(menu)
        self.problem_label = QLabel("")
        self.problem_label.setStyleSheet(PROBLEM_STYLE)
        self.problem_label.setVisible(False)
        layout = _hbox(self)
        layout.addWidget(self.line)
        layout.addWidget(self.pick)
        layout.addWidget(self.problem_label)
        self._value: str | None = None
        self.line.textEdited.connect(self._on_typed)
        self.calendar.clicked.connect(self._on_picked)

    def _on_typed(self, text: str) -> None:
        day = parse_day(text)
        problem = "" if day or not text.strip() else "not a date"
        self.problem_label.setText(problem)
        self.problem_label.setVisible(bool(problem))
        if day and day != self._value:
            self._value = day
            self.edited.emit(day)

    def _on_picked(self, qdate: QDate) -> None:
        self.pick.menu().hide()
        day = qdate.toString("yyyy-MM-dd")
        self.line.setText(day)
        self._on_typed(day)

    def problem(self) -> str:
        return self.problem_label.text() if not self.problem_label.isHidden() else ""

    def set_value(self, value: Any) -> None:
        day = parse_day(str(value)[:10]) if value else None
        if day == self._value and self.problem():
            return  # the person's unfinished typing stays, with its "not a date"
        self._value = day
        if day and parse_day(self.line.text()) != day:
            with QSignalBlocker(self.line):
                self.line.setText(day)
            self.problem_label.setVisible(False)
        if day:
            d = dt.date.fromisoformat(day)
            with QSignalBlocker(self.calendar):
                self.calendar.setSelectedDate(QDate(d.year, d.month, d.day))

    def value(self) -> str | None:
        return self._value


def parse_list(text: str, ptype: str | None) -> list:
    """Comma-separated values; numbers for numeric properties when they read as numbers."""
    out: list = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        if ptype in ("integer", "real"):
            try:
                number = float(part)
                out.append(int(number) if number.is_integer() and ptype == "integer" else number)
                continue
            except ValueError:
                pass  # left as text: the core says it is not a number
        if ptype == "boolean" and part.lower() in ("true", "false"):
            out.append(part.lower() == "true")
            continue
        out.append(part)
    return out


def format_list(values: Any) -> str:
    if not isinstance(values, list | tuple):
        return "" if values in (None, "") else str(values)
    return ", ".join(("true" if v else "false") if isinstance(v, bool) else str(v) for v in values)


class LastValueCompleterWidget(QCompleter):
    """Completes the value being typed after the last comma of a comma-separated list."""

    def splitPath(self, path: str) -> list[str]:
        return [path.split(",")[-1].strip()]

    def pathFromIndex(self, index) -> str:
        chosen = super().pathFromIndex(index)
        line = self.widget()
        done = [p.strip() for p in line.text().split(",")[:-1] if p.strip()] if line is not None else []
        return ", ".join([*done, chosen])


class ListValueEditor(ValueEditor):
    """Several values for ``in`` / ``not in``: comma-separated, with completion of the last one."""

    def __init__(self, ptype: str | None, completions: Sequence[str] = (), parent: QWidget | None = None):
        super().__init__(parent)
        self.ptype = ptype
        self.line = QLineEdit()
        self.line.setPlaceholderText("value, value, …")
        self.line.setMinimumWidth(120)
        self.hint = QLabel("")
        self.hint.setStyleSheet("color: gray")
        if completions:
            self.line.setToolTip("Frequent values: " + ", ".join(completions[:10]))
            completer = LastValueCompleterWidget(list(completions), self.line)
            completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
            completer.setFilterMode(Qt.MatchFlag.MatchContains)
            self.line.setCompleter(completer)
            # A taken completion sets the text without textEdited.
            completer.activated.connect(lambda _t: self._on_edited(self.line.text()))
        layout = _hbox(self)
        layout.addWidget(self.line, 1)
        layout.addWidget(self.hint)
        self.line.textEdited.connect(self._on_edited)

    def _on_edited(self, text: str) -> None:
        values = parse_list(text, self.ptype)
        self.hint.setText(f"{len(values)} value{'s' if len(values) != 1 else ''}")
        self.edited.emit(values)

    def set_value(self, value: Any) -> None:
        if parse_list(self.line.text(), self.ptype) != list(value or []):
            with QSignalBlocker(self.line):
                self.line.setText(format_list(value))
        n = len(value or [])
        self.hint.setText(f"{n} value{'s' if n != 1 else ''}")

    def value(self) -> list:
        return parse_list(self.line.text(), self.ptype)


class PairValueEditor(ValueEditor):
    """Two values (``between``): low and high."""

    def __init__(self, make, parent: QWidget | None = None):
        super().__init__(parent)
        self.low = make()
        self.high = make()
        layout = _hbox(self)
        layout.addWidget(self.low)
        layout.addWidget(QLabel("and"))
        layout.addWidget(self.high)
        self.low.edited.connect(lambda _v: self.edited.emit(self.value()))
        self.high.edited.connect(lambda _v: self.edited.emit(self.value()))

    def set_value(self, value: Any) -> None:
        pair = list(value) if isinstance(value, list | tuple) and len(value) == 2 else [None, None]
        self.low.set_value(pair[0])
        self.high.set_value(pair[1])

    def value(self) -> list:
        return [self.low.value(), self.high.value()]


class NoValueEditor(ValueEditor):
    def set_value(self, value: Any) -> None:
        pass

    def value(self) -> None:
        return None


def value_editor_kind(ptype: str | None, op: str) -> tuple[str, str | None]:
    """The kind of editor a (property type, operator) needs: part of a row's structure."""
    spec = OPERATORS.get(op)
    arity = spec.arity if spec else "scalar"
    return arity, ptype


def make_value_editor(ptype: str | None, op: str, completions: Sequence[str] = ()) -> ValueEditor:
    arity, _ = value_editor_kind(ptype, op)

    def scalar() -> ValueEditor:
        if ptype in ("integer", "real"):
            return NumberValueEditor(ptype == "integer")
        if ptype == "boolean":
            return BoolValueEditor()
        if ptype == "datetime":
            return DateValueEditor()
        return TextValueEditor(completions)

    if arity == "none":
        return NoValueEditor()
    if arity == "days":
        return NumberValueEditor(True, minimum=0, maximum=100_000, suffix=" days")
    if arity == "list":
        return ListValueEditor(ptype, completions)
    if arity == "pair":
        return PairValueEditor(scalar)
    return scalar()


def default_value(ptype: str | None, op: str, previous: Any = None, day: str | None = None) -> Any:
    """A value for ``op`` on a ``ptype`` property, keeping what can be kept from ``previous``;
    a date defaults to ``day`` (the last day of the data), else today."""
    spec = OPERATORS.get(op)
    arity = spec.arity if spec else "scalar"
    if ptype in ("integer", "real"):
        base: Any = 0
    elif ptype == "boolean":
        base = True
    elif ptype == "datetime":
        base = day or dt.date.today().isoformat()
    else:
        base = ""
    if isinstance(previous, list | tuple):
        first = previous[0] if previous else None
    else:
        first = previous
    if first is not None and first != "" and _fits(first, ptype):
        base = first
    if arity == "none":
        return None
    if arity == "days":
        return 30
    if arity == "list":
        if isinstance(previous, list) and all(_fits(v, ptype) for v in previous) and previous:
            return list(previous)
        return [base] if base not in ("", None) else []
    if arity == "pair":
        return [base, base]
    return base


def _fits(value: Any, ptype: str | None) -> bool:
    if ptype in ("integer", "real"):
        return isinstance(value, int | float) and not isinstance(value, bool)
    if ptype == "boolean":
        return isinstance(value, bool)
    if ptype == "datetime":
        try:
            dt.date.fromisoformat(str(value)[:10])
            return True
        except ValueError:
            return False
    return isinstance(value, str)


class CompareEditor(QWidget):
    """``[at least ▾] [3]`` (and ``[and] [5]`` for between): a behavior or users comparison.

    With ``percent`` the value is shown 0..100 and stored as a fraction (``share``).
    """

    edited = Signal(object)  # the compare dict

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.percent = False
        self.op = QComboBox()
        for c in COMPARE_OPS.values():
            self.op.addItem(c.label, c.op)
        self.value1 = NumberValueEditor(False, minimum=0)
        self.and_label = QLabel("and")
        self.value2 = NumberValueEditor(False, minimum=0)
        layout = _hbox(self)
        for w in (self.op, self.value1, self.and_label, self.value2):
            layout.addWidget(w)
        self.op.activated.connect(self._on_op)
        self.value1.edited.connect(lambda _v: self.edited.emit(self.compare()))
        self.value2.edited.connect(lambda _v: self.edited.emit(self.compare()))
        self._show_pair(False)

    def _show_pair(self, pair: bool) -> None:
        self.and_label.setVisible(pair)
        self.value2.setVisible(pair)

    def _scale(self, v: float) -> float:
        return v / 100 if self.percent else v

    def _unscale(self, v: Any) -> float:
        try:
            v = float(v)
        except (TypeError, ValueError):
            v = 0.0
        return v * 100 if self.percent else v

    def _number(self, v: float) -> int | float:
        v = self._scale(v)
        return int(v) if float(v).is_integer() else round(v, 6)

    def compare(self) -> dict:
        op = self.op.currentData()
        if op == "between":
            return {
                "op": op,
                "value": [self._number(self.value1.spin.value()), self._number(self.value2.spin.value())],
            }
        return {"op": op, "value": self._number(self.value1.spin.value())}

    def _on_op(self, _index: int) -> None:
        self._show_pair(self.op.currentData() == "between")
        self.edited.emit(self.compare())

    def set_compare(self, compare: dict | None, percent: bool = False, decimals: int = 0) -> None:
        compare = compare or {"op": "gte", "value": 1}
        self.percent = percent
        for v in (self.value1, self.value2):
            with QSignalBlocker(v.spin):
                v.spin.setRange(0, 100 if percent else MAX_NUMBER)
                v.spin.setSuffix(" %" if percent else "")
                v.spin.setDecimals(1 if percent else decimals)
        _set_combo_data(self.op, compare.get("op", "gte"))
        value = compare.get("value")
        pair = compare.get("op") == "between"
        self._show_pair(pair)
        if pair and isinstance(value, list | tuple) and len(value) == 2:
            self.value1.set_value(self._unscale(value[0]))
            self.value2.set_value(self._unscale(value[1]))
        else:
            self.value1.set_value(self._unscale(value))


WINDOW_CHOICES = (("ever", "ever"), ("last_days", "in the last"), ("between", "between"), ("since", "since"))


class WindowEditor(QWidget):
    """``[in the last ▾] [30] days`` / ``between [date] and [date]`` / ``since [date]`` / ``ever``."""

    edited = Signal(object)  # the window JSON value

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.kind = QComboBox()
        for key, label in WINDOW_CHOICES:
            self.kind.addItem(label, key)
        self.days = NumberValueEditor(True, minimum=0, maximum=100_000, suffix=" days")
        self.start = DateValueEditor()
        self.and_label = QLabel("and")
        self.end = DateValueEditor()
        layout = FlowLayout(self, spacing=4)  # two dates and a message wrap rather than widen the row
        for w in (self.kind, self.days, self.start, self.and_label, self.end):
            layout.addWidget(w)
        self.kind.activated.connect(self._on_kind)
        for w in (self.days, self.start, self.end):
            w.edited.connect(lambda _v: self.edited.emit(self.window()))
        self._show("last_days")
        self.data_range: tuple[str, str] | None = None

    def set_data_range(self, days: tuple[str, str] | None) -> None:
        """The data's first and last day: what "between" and "since" start from."""
        self.data_range = days

    def _show(self, kind: str) -> None:
        self.days.setVisible(kind == "last_days")
        self.start.setVisible(kind in ("between", "since"))
        self.and_label.setVisible(kind == "between")
        self.end.setVisible(kind == "between")

    def window(self) -> Any:
        kind = self.kind.currentData()
        first, last = self.data_range or ((dt.date.today() - dt.timedelta(days=30)).isoformat(), None)
        last = last or dt.date.today().isoformat()
        if kind == "last_days":
            return {"last_days": int(self.days.value())}
        if kind == "between":
            return {"between": [self.start.value() or first, self.end.value() or last]}
        if kind == "since":
            return {"since": self.start.value() or first}
        return "ever"

    def _on_kind(self, _index: int) -> None:
        self._show(self.kind.currentData())
        self.edited.emit(self.window())

    def set_window(self, window: Any) -> None:
        if isinstance(window, dict) and window:
            kind = next(iter(window))
        else:
            kind = "ever"
        _set_combo_data(self.kind, kind)
        self._show(kind)
        if kind == "last_days":
            self.days.set_value(window["last_days"])
        elif kind == "between":
            pair = window["between"] if isinstance(window["between"], list | tuple) else [None, None]
            self.start.set_value(pair[0] if pair else None)
            self.end.set_value(pair[-1] if pair else None)
        elif kind == "since":
            self.start.set_value(window["since"])
