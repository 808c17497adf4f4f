"""User and account profiles (opened by double-clicking a member).

``UserProfileDialog(session, user_key, parent)``: properties, account, first / last
seen, event counts by name and the event timeline (newest first, with event
properties). ``AccountProfileDialog(session, account_key, parent)``: properties,
health figures (active users in the last 7 / 30 days, events per active user, last
activity), the account's users with their activity and the combined timeline.

Everything is read by :mod:`seglab.core.profiles` in a worker; the dialogs are non-modal.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QFormLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from seglab.core import profiles
from seglab.core.timeutil import ms_to_datetime
from seglab.ui.models.members_model import TimelineTableModel, format_value
from seglab.ui.models.table_model import RowsTableModel
from seglab.ui.workers import Worker


def _when(ms: int | None) -> str:
    return ms_to_datetime(ms).strftime("%Y-%m-%d %H:%M") if ms is not None else "never"


def _table(model) -> QTableView:
    view = QTableView()
    view.setModel(model)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.verticalHeader().setVisible(False)
    view.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    view.verticalHeader().setDefaultSectionSize(view.fontMetrics().height() + 8)
    view.horizontalHeader().setStretchLastSection(True)
    view.setAlternatingRowColors(True)
    return view


class _ProfileDialog(QDialog):
    """Shared layout: a title, a spinner, a form of figures and tabs of tables."""

    loaded = Signal()
    load_failed = Signal(str)

    def __init__(self, session, key: int, parent: QWidget | None = None):
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)
        self._session = session
        self.key = key
        self.profile = None
        self.resize(860, 620)
        self.title_label = QLabel("Loading…")
        font = self.title_label.font()
        font.setPointSizeF(font.pointSizeF() * 1.4)
        font.setBold(True)
        self.title_label.setFont(font)
        self.title_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.spinner = QProgressBar()
        self.spinner.setRange(0, 0)
        self.spinner.setMaximumHeight(10)
        self.spinner.setTextVisible(False)
        self.form = QFormLayout()
        self.tabs = QTabWidget()
        self.properties_model = RowsTableModel(["property", "type", "value"], self)
        self.counts_model = RowsTableModel(["event", "count"], self)
        self.timeline_model = TimelineTableModel(self, show_user=self._timeline_shows_user())
        self.timeline_view = _table(self.timeline_model)
        self.timeline_note = QLabel("")
        timeline_box = QWidget()
        tl = QVBoxLayout(timeline_box)
        tl.setContentsMargins(0, 0, 0, 0)
        tl.addWidget(self.timeline_note)
        tl.addWidget(self.timeline_view, 1)

        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.title_label)
        top_layout.addWidget(self.spinner)
        top_layout.addLayout(self.form)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.tabs)
        splitter.addWidget(timeline_box)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.addWidget(top)
        layout.addWidget(splitter, 1)
        self.tabs.addTab(_table(self.properties_model), "Properties")
        self.tabs.addTab(_table(self.counts_model), "Events by name")
        self.loaded.connect(self._fit_columns)

        self._worker = Worker(self)
        self._worker.succeeded.connect(self._on_loaded)
        self._worker.failed.connect(self._on_failed)
        self._worker.finished.connect(lambda: self.spinner.setVisible(False))
        if session is not None and session.path is not None:
            self._worker.start(self._task(), session.path, key)

    def _timeline_shows_user(self) -> bool:
        return True

    def _task(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def _figure(self, label: str, value: str) -> QLabel:
        widget = QLabel(value)
        widget.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.form.addRow(label, widget)
        return widget

    def _fill_common(self, props, counts, timeline: profiles.Timeline) -> None:
        self.properties_model.set_rows([(p.name, p.type, format_value(p.value, p.type)) for p in props])
        self.counts_model.set_rows(list(counts))
        self.timeline_model.set_rows(timeline.rows)
        shown = len(timeline.rows)
        note = f"Timeline, newest first: {timeline.total:,} events"
        if timeline.truncated:
            note += f" (showing the latest {shown:,})"
        self.timeline_note.setText(note)

    def _fit_columns(self) -> None:
        for i in range(self.tabs.count()):
            view = self.tabs.widget(i)
            if isinstance(view, QTableView):
                view.resizeColumnsToContents()
        self.timeline_view.resizeColumnsToContents()

    def _on_failed(self, exc: object) -> None:
        self.title_label.setText(f"Cannot read this profile: {exc}")
        self.load_failed.emit(str(exc))

    def done(self, result: int) -> None:
        self._worker.shutdown()
        super().done(result)

    def closeEvent(self, event) -> None:
        self._worker.shutdown()
        super().closeEvent(event)


class UserProfileDialog(_ProfileDialog):
    """One user: properties, account, first / last seen, event counts and timeline."""

    def __init__(self, session, user_key: int, parent: QWidget | None = None):
        super().__init__(session, user_key, parent)
        self.setWindowTitle("User profile")

    def _timeline_shows_user(self) -> bool:
        return False

    def _task(self):
        return profiles.load_user_profile

    def _on_loaded(self, result) -> None:
        profile, timeline = result
        self.profile = profile
        title = f"User {profile.user_id}" + (f" — {profile.name}" if profile.name else "")
        self.setWindowTitle(title)
        self.title_label.setText(title)
        account = profile.account_id or "none"
        if profile.account_name:
            account = f"{account} ({profile.account_name})"
        self._figure("Account:", account)
        self._figure("First seen:", _when(profile.first_seen))
        self._figure("Last seen:", _when(profile.last_seen))
        self._figure("Events:", f"{profile.total_events:,}")
        self._fill_common(profile.properties, profile.event_counts, timeline)
        self.loaded.emit()


class AccountProfileDialog(_ProfileDialog):
    """One account: properties, health figures, users with activity, combined timeline."""

    def __init__(self, session, account_key: int, parent: QWidget | None = None):
        self.users_model = None
        super().__init__(session, account_key, parent)
        self.setWindowTitle("Account profile")
        self.users_model = RowsTableModel(["user", "events", "events, last 30 days", "last seen"], self)
        self.users_view = _table(self.users_model)
        self.users_view.doubleClicked.connect(self._open_user)
        self.tabs.insertTab(0, self.users_view, "Users")
        self.tabs.setCurrentIndex(0)
        self._user_dialogs: list[QDialog] = []

    def _task(self):
        return profiles.load_account_profile

    def _on_loaded(self, result) -> None:
        profile, timeline = result
        self.profile = profile
        h = profile.health
        title = f"Account {profile.account_id}" + (f" — {profile.name}" if profile.name else "")
        self.setWindowTitle(title)
        self.title_label.setText(title)
        self._figure("Users:", f"{len(profile.users):,}")
        self._figure("Active users, last 7 days:", f"{h.active_users_7d:,}")
        self._figure("Active users, last 30 days:", f"{h.active_users_30d:,}")
        per = h.events_per_active_user_30d
        self._figure("Events per active user (30 days):", "–" if per is None else f"{per:,.1f}")
        self._figure("Last activity:", _when(h.last_activity))
        self._figure("As of:", _when(h.as_of))
        if self.users_model is not None:
            self.users_model.set_rows(
                [(u.user_id, u.events, u.events_30d, _when(u.last_seen)) for u in profile.users]
            )
        self._fill_common(profile.properties, profile.event_counts, timeline)
        self.loaded.emit()

    def _open_user(self, index: QModelIndex) -> None:
        if self.profile is None or not index.isValid():
            return
        user = self.profile.users[index.row()]
        dialog = UserProfileDialog(self._session, user.key, self)
        self._user_dialogs.append(dialog)
        dialog.show()

    def done(self, result: int) -> None:
        for d in self._user_dialogs:
            d.close()
        super().done(result)
