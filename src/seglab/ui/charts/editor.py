"""The chart editor: kind, segments to compare (or one "vs the rest"), unit, range, interval, kind options.

The editor is a view of :class:`~seglab.ui.charts.models.ChartEditorModel`: every
edit writes a new spec to the model, and the editor redraws itself from the model's
``spec_changed`` / ``catalog_changed`` (with its own signals blocked, so a redraw
never echoes back as an edit).
"""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QDate, QSignalBlocker, Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QCompleter,
    QDateEdit,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from seglab.core.charts import (
    KINDS,
    RANGE_PRESETS,
    REGISTRY,
    ChartCatalog,
    ChartError,
    ChartSpec,
    format_steps,
    parse_steps,
)
from seglab.core.timeutil import FIRST_DAY, LAST_DAY
from seglab.ui.charts.models import ChartEditorModel
from seglab.ui.palette import color_for_segment, qcolor

ANY_EVENT = "*"
ANY_EVENT_TEXT = "Any event"
MEASURE_CHOICES = (
    ("users", "Unique users"),
    ("accounts", "Unique accounts"),
    ("count", "Event count"),
    ("per_user", "Events per user"),
    ("sum", "Sum of …"),
    ("avg", "Average of …"),
    ("min", "Minimum of …"),
    ("max", "Maximum of …"),
    ("median", "Median of …"),
)
VALUE_MEASURES = ("sum", "avg", "min", "max", "median")
NO_BREAKDOWN = "No breakdown"
EVENT_TIP = (
    "Pick an event, or type one with event-property filters: purchase[amount>=100; platform=web] "
    "(=, !=, >, >=, <, <=, ~ for contains; * for any event)."
)
MAX_SEGMENTS = 6
STEPS_TIP = (
    "Event names in order, separated by commas. Filter a step on event properties in brackets: "
    "purchase[amount>=100; platform=web] (=, !=, >, >=, <, <=, ~ for contains)."
)


class ChartEditorWidget(QWidget):
    def __init__(self, model: ChartEditorModel, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = model
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)

        general = QGroupBox("Chart", self)
        form = QFormLayout(general)
        self.kind_combo = QComboBox(general)
        for kind, (title, _defaults) in KINDS.items():
            self.kind_combo.addItem(title, kind)
        self.unit_combo = QComboBox(general)
        self.unit_combo.addItem("Users", "user")
        self.unit_combo.addItem("Accounts", "account")
        self.range_combo = QComboBox(general)
        for days in RANGE_PRESETS:
            self.range_combo.addItem(f"Last {days} days", days)
        self.range_combo.addItem("Custom dates", None)
        self.from_edit = QDateEdit(general)
        self.to_edit = QDateEdit(general)
        # The one range rule of dates (docs/cli.md, "Times").
        first = QDate(FIRST_DAY.year, FIRST_DAY.month, FIRST_DAY.day)
        last = QDate(LAST_DAY.year, LAST_DAY.month, LAST_DAY.day)
        for edit in (self.from_edit, self.to_edit):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
            edit.setDateRange(first, last)
        dates = QWidget(general)
        dates_layout = QHBoxLayout(dates)
        dates_layout.setContentsMargins(0, 0, 0, 0)
        dates_layout.addWidget(self.from_edit)
        dates_layout.addWidget(QLabel("to", dates))
        dates_layout.addWidget(self.to_edit)
        self.dates_row = dates
        self.interval_combo = QComboBox(general)
        for value, text in (("day", "Day"), ("week", "Week"), ("month", "Month")):
            self.interval_combo.addItem(text, value)
        form.addRow("Kind", self.kind_combo)
        form.addRow("Unit", self.unit_combo)
        form.addRow("Range", self.range_combo)
        form.addRow("", self.dates_row)
        form.addRow("Interval", self.interval_combo)
        layout.addWidget(general)

        segs = QGroupBox("Segments to compare", self)
        segs_layout = QVBoxLayout(segs)
        self.segment_list = QListWidget(segs)
        self.segment_list.setMaximumHeight(150)
        self.vs_rest_check = QCheckBox("Compare with the rest (everyone not in it)", segs)
        self.segments_hint = QLabel("", segs)
        self.segments_hint.setWordWrap(True)
        self.segments_hint.setStyleSheet("color: #666;")
        segs_layout.addWidget(self.segment_list)
        segs_layout.addWidget(self.vs_rest_check)
        segs_layout.addWidget(self.segments_hint)
        layout.addWidget(segs)

        breakdown = QGroupBox("Breakdown", self)
        bf = QFormLayout(breakdown)
        self.by_combo = QComboBox(breakdown)
        self.by_combo.setEditable(True)
        self.by_combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        completer = QCompleter(self.by_combo.model(), self.by_combo)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)  # type to search the property list
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.by_combo.setCompleter(completer)
        self.by_combo.setToolTip("One series per value of a user, account (or, on a trend, event) property.")
        self.by_limit = QSpinBox(breakdown)
        self.by_limit.setRange(1, 50)
        self.by_limit.setSuffix(" values")
        self.by_limit.setToolTip("The values with the most units; the rest are “(other)”, no value “(none)”.")
        bf.addRow("Breakdown by", self.by_combo)
        bf.addRow("Show the top", self.by_limit)
        self.breakdown_box = breakdown
        layout.addWidget(breakdown)

        self.options_box = QGroupBox("Options", self)
        options_layout = QVBoxLayout(self.options_box)
        self.options_stack = QStackedWidget(self.options_box)
        options_layout.addWidget(self.options_stack)
        layout.addWidget(self.options_box)
        layout.addStretch(1)

        # trend
        trend = QWidget()
        tf = QFormLayout(trend)
        self.trend_event = self._event_combo(trend)
        self.trend_measure = QComboBox(trend)
        for value, text in MEASURE_CHOICES:
            self.trend_measure.addItem(text, value)
        self.trend_of = QComboBox(trend)
        self.trend_of.setToolTip(
            "The numeric event property a sum, average, minimum, maximum or median measures."
        )
        self.trend_compare = QCheckBox("Compare with the previous period (dashed)", trend)
        self.trend_average = QSpinBox(trend)
        self.trend_average.setRange(0, 60)
        self.trend_average.setSpecialValueText("Off")
        self.trend_average.setSuffix(" periods")
        tf.addRow("Event", self.trend_event)
        tf.addRow("Measure", self.trend_measure)
        tf.addRow("Of", self.trend_of)
        tf.addRow("Moving average", self.trend_average)
        tf.addRow("", self.trend_compare)
        # funnel
        funnel = QWidget()
        ff = QFormLayout(funnel)
        self.funnel_steps = QLineEdit(funnel)
        self.funnel_steps.setPlaceholderText("signup, view, purchase")
        self.funnel_steps.setToolTip(STEPS_TIP)
        self.funnel_within = QDoubleSpinBox(funnel)
        self.funnel_within.setRange(0.01, 3650)
        self.funnel_within.setDecimals(2)
        self.funnel_within.setSuffix(" days")
        self.funnel_events_hint = QLabel("", funnel)
        self.funnel_events_hint.setWordWrap(True)
        self.funnel_events_hint.setStyleSheet("color: #666;")
        ff.addRow("Steps", self.funnel_steps)
        ff.addRow("", self.funnel_events_hint)
        ff.addRow("Convert within", self.funnel_within)
        # retention
        retention = QWidget()
        rf = QFormLayout(retention)
        self.retention_start = self._event_combo(retention)
        self.retention_return = self._event_combo(retention)
        self.retention_periods = QSpinBox(retention)
        self.retention_periods.setRange(1, 52)
        rf.addRow("Cohort by first", self.retention_start)
        rf.addRow("Came back doing", self.retention_return)
        rf.addRow("Periods", self.retention_periods)
        self.kind_pages = {"trend": trend, "funnel": funnel, "retention": retention}
        self.kind_events: dict[str, QComboBox] = {}
        self.kind_limits: dict[str, QSpinBox] = {}
        hints = {
            "distribution": "Units with at least one such event, by how many they did.",
            "stickiness": "Days active per week or month.",
            "lifecycle": "New, returning, resurrecting and dormant units per interval.",
            "top_events": "Events by the share of the segment's units who did them; lift vs the rest.",
            "distinguishes": "Tick one segment: its properties and events that differ most from the rest.",
            "overlap": "Tick 2 to 6 segments of the same unit.",
            "segment_size": "Tick saved segments: their size re-evaluated at the end of each interval.",
        }
        for kind, hint in hints.items():
            page = QWidget()
            pf = QFormLayout(page)
            if kind in ("distribution", "stickiness", "lifecycle"):
                combo = self._event_combo(page)
                self._wire_event(combo, "event")
                self.kind_events[kind] = combo
                pf.addRow("Event", combo)
            if kind in ("top_events", "distinguishes"):
                spin = QSpinBox(page)
                spin.setRange(1, 100)
                spin.valueChanged.connect(lambda v: self.model.set_options(limit=int(v)))
                self.kind_limits[kind] = spin
                pf.addRow("Show at most", spin)
            label = QLabel(hint, page)
            label.setWordWrap(True)
            label.setStyleSheet("color: #666;")
            pf.addRow(label)
            self.kind_pages[kind] = page
        self.no_options = QLabel("This kind has no options.")
        for page in (*self.kind_pages.values(), self.no_options):
            self.options_stack.addWidget(page)

        # edits → model
        self.kind_combo.currentIndexChanged.connect(
            lambda: self.model.update(kind=self.kind_combo.currentData())
        )
        self.unit_combo.currentIndexChanged.connect(self._unit_edited)
        self.range_combo.currentIndexChanged.connect(self._range_edited)
        self.from_edit.dateChanged.connect(self._range_edited)
        self.to_edit.dateChanged.connect(self._range_edited)
        self.interval_combo.currentIndexChanged.connect(
            lambda: self.model.update(interval=self.interval_combo.currentData())
        )
        self.segment_list.itemChanged.connect(self._segments_edited)
        self.vs_rest_check.toggled.connect(lambda on: self.model.update(vs_rest=bool(on)))
        self._wire_event(self.trend_event, "event")
        self.trend_measure.currentIndexChanged.connect(self._measure_edited)
        self.trend_of.currentIndexChanged.connect(
            lambda: self.model.set_options(of=self.trend_of.currentData())
        )
        self.trend_compare.toggled.connect(
            lambda on: self.model.set_options(compare="previous" if on else None)
        )
        self.by_combo.activated.connect(self._by_edited)
        self.by_combo.lineEdit().editingFinished.connect(self._by_edited)
        self.by_limit.valueChanged.connect(lambda v: self.model.set_options(by_limit=int(v)))
        self.trend_average.valueChanged.connect(lambda v: self.model.set_options(moving_average=int(v)))
        self.funnel_steps.editingFinished.connect(self._steps_edited)
        self.funnel_within.valueChanged.connect(lambda v: self.model.set_options(within_days=float(v)))
        self._wire_event(self.retention_start, "start_event")
        self._wire_event(self.retention_return, "return_event")
        self.retention_periods.valueChanged.connect(lambda v: self.model.set_options(periods=int(v)))

        # model → widgets
        self.model.spec_changed.connect(self._show_spec)
        self.model.catalog_changed.connect(self._show_catalog)
        self._show_catalog(self.model.catalog)

    # -- building blocks ------------------------------------------------------------------
    def _event_combo(self, parent: QWidget) -> QComboBox:
        combo = QComboBox(parent)
        combo.setEditable(True)  # an event can be typed with filters: purchase[amount>=100]
        combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        combo.addItem(ANY_EVENT_TEXT, ANY_EVENT)
        combo.setMinimumContentsLength(14)
        combo.setToolTip(EVENT_TIP)
        return combo

    def _wire_event(self, combo: QComboBox, key: str) -> None:
        combo.currentIndexChanged.connect(lambda _i: self._event_edited(combo, key))
        combo.lineEdit().editingFinished.connect(lambda: self._event_edited(combo, key))

    @staticmethod
    def event_value(combo: QComboBox) -> str:
        """The picked event, or the typed one (with its filters) when it is not in the list."""
        text = combo.currentText().strip()
        i = combo.findText(text)
        if i >= 0:
            return combo.itemData(i)
        return text or ANY_EVENT

    def _event_edited(self, combo: QComboBox, key: str) -> None:
        from seglab.core.analyses.filters import parse_event
        from seglab.core.errors import UserError

        value = self.event_value(combo)
        try:
            value = parse_event(value).text
        except UserError as exc:
            combo.setStyleSheet("border: 1px solid #B00020;")
            combo.setToolTip(str(exc))
            return
        combo.setStyleSheet("")
        combo.setToolTip(EVENT_TIP)
        if self.model.spec.option(key) != value:
            self.model.set_options(**{key: value})

    def _measure_edited(self) -> None:
        measure = self.trend_measure.currentData()
        of = self.model.spec.option("of")
        if measure in VALUE_MEASURES and not of:
            numeric = self.model.catalog.numeric_event_properties()
            of = numeric[0] if numeric else None
        self.model.set_options(measure=measure, of=of if measure in VALUE_MEASURES else None)

    def _by_edited(self, *_args) -> None:
        text = self.by_combo.currentText().strip()
        choices = self.model.catalog.breakdown_choices(self.model.spec.kind)
        value = text if text in choices else None
        if text and text != NO_BREAKDOWN and value is None:
            self.by_combo.setStyleSheet("border: 1px solid #B00020;")
            self.by_combo.setToolTip(f"No property “{text}” to break this chart down by.")
            return
        self.by_combo.setStyleSheet("")
        if self.model.spec.option("by") != value:
            self.model.set_options(by=value)

    def _fill_events(self, combo: QComboBox, events: tuple[str, ...]) -> None:
        with QSignalBlocker(combo):
            combo.clear()
            combo.addItem(ANY_EVENT_TEXT, ANY_EVENT)
            for name in events:
                combo.addItem(name, name)

    @staticmethod
    def _select(combo: QComboBox, value) -> None:
        with QSignalBlocker(combo):
            i = combo.findData(value)
            if i < 0 and isinstance(value, str) and "[" in value:
                combo.addItem(value, value)  # an event with filters, as typed
                i = combo.count() - 1
            if i < 0 and value is not None:
                combo.addItem(f"{value} (not in this project)", value)
                i = combo.count() - 1
            combo.setCurrentIndex(max(i, 0))

    # -- model → widgets ----------------------------------------------------------------------
    def _show_catalog(self, catalog: ChartCatalog) -> None:
        for combo in (
            self.trend_event,
            self.retention_start,
            self.retention_return,
            *self.kind_events.values(),
        ):
            self._fill_events(combo, catalog.events)
        shown = ", ".join(catalog.events[:8]) + (" …" if len(catalog.events) > 8 else "")
        self.funnel_events_hint.setText(f"Events: {shown}" if catalog.events else "")
        with QSignalBlocker(self.trend_of):
            self.trend_of.clear()
            for name in catalog.numeric_event_properties():
                self.trend_of.addItem(name, name)
        self._show_spec(self.model.spec)

    def _show_spec(self, spec: ChartSpec) -> None:
        blockers = [
            QSignalBlocker(w)
            for w in (
                self.kind_combo, self.unit_combo, self.range_combo, self.from_edit, self.to_edit,
                self.interval_combo, self.segment_list, self.vs_rest_check, self.trend_event,
                self.trend_measure, self.trend_average, self.funnel_steps, self.funnel_within,
                self.retention_start, self.retention_return, self.retention_periods, self.by_combo,
                self.by_limit, self.trend_of, self.trend_compare,
                *self.kind_events.values(), *self.kind_limits.values(),
            )
        ]  # fmt: skip
        try:
            self._select(self.kind_combo, spec.kind)
            self._select(self.unit_combo, spec.unit)
            if spec.last_days is not None and self.range_combo.findData(spec.last_days) < 0:
                with QSignalBlocker(self.range_combo):
                    self.range_combo.insertItem(self.range_combo.count() - 1, f"Last {spec.last_days} days",
                                                spec.last_days)  # fmt: skip
            self._select(self.range_combo, spec.last_days)
            custom = spec.last_days is None
            self.dates_row.setVisible(custom)
            today = dt.date.today()
            if self.model.catalog.as_of_ms is not None:
                today = dt.date(1970, 1, 1) + dt.timedelta(days=self.model.catalog.as_of_ms // 86_400_000)
            d_from = (
                dt.date.fromisoformat(spec.date_from) if spec.date_from else today - dt.timedelta(days=89)
            )
            d_to = dt.date.fromisoformat(spec.date_to) if spec.date_to else today
            self.from_edit.setDate(QDate(d_from.year, d_from.month, d_from.day))
            self.to_edit.setDate(QDate(d_to.year, d_to.month, d_to.day))
            self._select(self.interval_combo, spec.interval)
            self.interval_combo.setEnabled(REGISTRY[spec.kind].uses_interval)
            for kind, combo in self.kind_events.items():
                if kind == spec.kind:
                    self._select(combo, spec.option("event", ANY_EVENT))
            for kind, spin in self.kind_limits.items():
                if kind == spec.kind:
                    spin.setValue(int(spec.option("limit", 15) or 15))
            self._fill_segments(spec)
            self.vs_rest_check.setChecked(spec.vs_rest)
            self.vs_rest_check.setEnabled(len(spec.segments) == 1)
            self._select(self.trend_event, spec.option("event", ANY_EVENT))
            self._select(self.trend_measure, spec.option("measure", "users"))
            self.trend_average.setValue(int(spec.option("moving_average", 0) or 0))
            value_measure = spec.option("measure") in VALUE_MEASURES
            self.trend_of.setEnabled(value_measure)
            if value_measure:
                self._select(self.trend_of, spec.option("of"))
            self.trend_compare.setChecked(spec.option("compare") == "previous")
            choices = self.model.catalog.breakdown_choices(spec.kind)
            self.breakdown_box.setVisible(bool(choices))
            self.by_combo.clear()
            self.by_combo.addItem(NO_BREAKDOWN, None)
            for choice in choices:
                self.by_combo.addItem(choice, choice)
            self._select(self.by_combo, spec.option("by") or None)
            self.by_limit.setValue(int(spec.option("by_limit", 10) or 10))
            self.by_limit.setEnabled(bool(spec.option("by")))
            steps = spec.option("steps") or []
            self.funnel_steps.setText(format_steps(steps))
            self.funnel_within.setValue(float(spec.option("within_days", 14)))
            self._select(self.retention_start, spec.option("start_event", ANY_EVENT))
            self._select(self.retention_return, spec.option("return_event", ANY_EVENT))
            self.retention_periods.setValue(int(spec.option("periods", 8)))
            page = self.kind_pages.get(spec.kind, self.no_options)
            self.options_stack.setCurrentWidget(page)
        finally:
            del blockers

    def _fill_segments(self, spec: ChartSpec) -> None:
        self.segment_list.clear()
        known = {name: (level, sid) for name, level, sid in self.model.catalog.segments}
        for name, (level, sid) in known.items():
            if level != spec.unit:
                continue
            item = QListWidgetItem(name)
            item.setData(Qt.ItemDataRole.UserRole, name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if name in spec.segments else Qt.CheckState.Unchecked)
            item.setForeground(QBrush(qcolor(color_for_segment(sid))))
            self.segment_list.addItem(item)
        for name in spec.segments:
            if name in known:
                continue
            # A saved chart whose segment was deleted: shown, so the user sees why the chart is empty.
            item = QListWidgetItem(f"{name} (deleted)")
            item.setData(Qt.ItemDataRole.UserRole, name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked)
            item.setForeground(QBrush(QColor("#B00020")))
            item.setToolTip("This segment no longer exists in the project. Untick it or pick another.")
            self.segment_list.addItem(item)
        level_word = "user" if spec.unit == "user" else "account"
        if self.segment_list.count() == 0:
            self.segments_hint.setText(f"No saved {level_word} segments yet: the chart shows everyone.")
        elif not spec.segments:
            self.segments_hint.setText("None ticked: the chart shows everyone.")
        else:
            self.segments_hint.setText("")

    # -- widgets → model ----------------------------------------------------------------------
    def checked_segments(self) -> tuple[str, ...]:
        out = []
        for i in range(self.segment_list.count()):
            item = self.segment_list.item(i)
            if item.checkState() == Qt.CheckState.Checked:
                out.append(item.data(Qt.ItemDataRole.UserRole))
        return tuple(out)

    def set_segment_checked(self, name: str, checked: bool) -> None:
        for i in range(self.segment_list.count()):
            item = self.segment_list.item(i)
            if item.data(Qt.ItemDataRole.UserRole) == name:
                item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
                return
        raise KeyError(name)

    def _segments_edited(self, _item=None) -> None:
        names = self.checked_segments()
        if len(names) > MAX_SEGMENTS:
            names = names[:MAX_SEGMENTS]
        spec = self.model.spec
        self.model.update(segments=names, vs_rest=spec.vs_rest and len(names) == 1)

    def _unit_edited(self) -> None:
        unit = self.unit_combo.currentData()
        spec = self.model.spec
        # Segments of the other level cannot be compared in this unit: keep only matching ones.
        keep = tuple(n for n in spec.segments if self.model.segment_level(n) == unit)
        self.model.update(unit=unit, segments=keep, vs_rest=spec.vs_rest and len(keep) == 1)

    def _range_edited(self) -> None:
        days = self.range_combo.currentData()
        if days is not None:
            self.model.update(last_days=int(days), date_from=None, date_to=None)
            return
        d_from = self.from_edit.date().toPython()
        d_to = self.to_edit.date().toPython()
        self.model.update(last_days=None, date_from=d_from.isoformat(), date_to=d_to.isoformat())

    def _steps_edited(self) -> None:
        try:
            steps = parse_steps(self.funnel_steps.text())
        except ChartError as exc:
            self.funnel_steps.setToolTip(str(exc))
            self.funnel_steps.setStyleSheet("border: 1px solid #B00020;")
            return
        self.funnel_steps.setStyleSheet("")
        self.funnel_steps.setToolTip(STEPS_TIP)
        self.model.set_options(steps=steps)
