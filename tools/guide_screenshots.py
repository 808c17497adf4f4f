"""The user guide's screenshots of the Segments page, people search, history, as-of and help.

Drives the real window on the demo project, as a reader of ``docs/user-guide*.md`` would::

    QT_QPA_PLATFORM=offscreen .venv/bin/python tools/guide_screenshots.py --out docs/screenshots
    QT_QPA_PLATFORM=offscreen .venv/bin/python tools/guide_screenshots.py --size 1200x800 --out /tmp/s

(``tools/screenshot.py`` takes the overview, chart and import pictures.)
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="docs/screenshots")
    parser.add_argument("--size", default="1360x800", help="window size, WIDTHxHEIGHT")
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    work = Path(tempfile.mkdtemp(prefix="seglab-guide-"))
    os.environ.setdefault("SEGLAB_DATA_DIR", str(work / "data"))
    from PySide6.QtCore import QCoreApplication, QEvent, QSettings

    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(work / "settings"))
    from seglab.core.demo import build_demo
    from seglab.core.timeutil import parse_as_of
    from seglab.ui import messages
    from seglab.ui.app import create_app
    from seglab.ui.main_window import MainWindow
    from seglab.ui.settings import AppSettings

    app = create_app()
    QCoreApplication.setApplicationName("SegLabGuideShots")
    messages.set_responder(lambda m: m.level == "question")  # say yes; print nothing

    def pump(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents()
            app.sendPostedEvents(None, QEvent.Type.DeferredDelete)
            time.sleep(0.01)

    def shot(widget, name: str, settle: float = 0.6) -> None:
        pump(settle)
        path = out / name
        widget.grab().save(str(path))
        print("saved", path)

    project = work / "Acme Analytics.seglab"
    build_demo(project)
    window = MainWindow(AppSettings())
    window.resize(width, height)
    window.show()
    window.open_project(project)
    pump(1.0)
    window.show_page("segments")
    page = window.page("segments")
    builder = page.builder
    pump(1.0)

    def settle() -> None:
        deadline = time.monotonic() + 20
        while (page.is_loading() or builder.is_counting()) and time.monotonic() < deadline:
            pump(0.05)
        pump(0.3)

    page.open_segment("Power users")
    settle()
    shot(window, "builder-0-main-window.png")

    # 1-4: enterprise accounts where at least 3 users created a report in the last 30 days.
    page.new_segment("account")
    builder.model.set_name("Enterprise reporting accounts")
    settle()
    shot(window, "builder-1-new-account-segment.png")
    builder.conditions.add_condition("property")
    row = builder.row_at(("conditions", 0)).editor.filter
    row.picker.pick("account", "tier")
    row.value_editor.line.setText("enterprise")
    row.value_editor.edited.emit("enterprise")
    settle()
    shot(window, "builder-2-tier-enterprise.png")
    builder.conditions.add_condition("behavior")
    behavior = builder.row_at(("conditions", 1)).editor
    behavior.event_picker.pick("create_report")
    behavior.compare.value1.spin.setValue(3)
    behavior.unit.setCurrentIndex(behavior.unit.findData("users:count"))
    behavior.unit.activated.emit(behavior.unit.currentIndex())
    settle()
    shot(window, "builder-3-three-users-created-a-report.png")
    builder.save()
    settle()
    shot(window, "builder-4-saved.png")

    # 5: a row with a wrong value, a group, and a row not filled in yet (grey, not red).
    page.new_segment("user")
    builder.model.set_name("Broken example")
    builder.conditions.add_condition("property")
    row = builder.row_at(("conditions", 0)).editor.filter
    row.picker.pick("user", "signup_date")
    row.operator.pick("in")
    row.value_editor.line.setText("2024-05-01, last week")
    row.value_editor._on_edited("2024-05-01, last week")
    builder.conditions.add_condition("group")
    group = builder.row_at(("conditions", 1)).editor.list
    group.add_condition("behavior")
    group.add_condition("sequence")
    builder.conditions.add_condition("property")
    settle()
    shot(window, "builder-5-invalid-rows-and-group.png")

    # 6: accounts where at least half of the users logged in in the last 7 days.
    page.new_segment("account")
    builder.model.set_name("Mostly active accounts")
    builder.conditions.add_condition("users")
    users = builder.row_at(("conditions", 0)).editor
    users.unit.setCurrentIndex(1)
    users.unit.activated.emit(1)
    users.compare.value1.spin.setValue(50)
    users.list.add_condition("behavior")
    inner = users.list.rows[0].editor
    inner.event_picker.pick("login")
    inner.window_editor.days.spin.setValue(7)
    settle()
    shot(window, "builder-6-users-share-nested.png")

    # 7: the library, a saved segment open, its History below.
    page.open_segment("Power users")
    settle()
    history = page.history
    deadline = time.monotonic() + 10
    while history.is_loading() and time.monotonic() < deadline:
        pump(0.05)
    shot(window, "builder-7-library-and-saved-user-segment.png")

    # History: a segment saved three times, two versions compared.
    from seglab.core import segments

    conn = window.session.project.conn
    base = segments.dump_definition(segments.get_saved(conn, "Power users").definition)
    pro = {"type": "property", "entity": "user", "property": "plan", "op": "eq", "value": "pro"}
    v2 = {**base, "conditions": [*base["conditions"], pro]}
    segments.save_segment(conn, "Power users", v2)
    v3 = {**v2, "conditions": v2["conditions"][1:]}
    segments.save_segment(conn, "Power users", v3)
    page.library.reload(select="Power users")
    builder.open_segment("Power users", v3)  # saved behind the builder's back: show it as saved
    history.show_segment("Power users")
    deadline = time.monotonic() + 10
    while (history.is_loading() or history.model.rowCount() < 3) and time.monotonic() < deadline:
        pump(0.05)
    history.select(0, 2)
    shot(window, "segment-history.png")
    history.select(2)
    history.restore_selected()
    settle()

    # 8-10: members, a user's and an account's profile.
    members = builder.show_members()
    members.resize(1000, 560)
    deadline = time.monotonic() + 10
    while members.members.is_loading() and time.monotonic() < deadline:
        pump(0.05)
    shot(members, "builder-8-members.png")
    user = members.members.open_profile("user", members.members.model.key_at(0))
    user.resize(900, 620)
    shot(user, "builder-9-user-profile.png", 1.5)
    user.close()
    account_key = conn.execute("SELECT account_key FROM accounts ORDER BY account_key LIMIT 1").fetchone()[0]
    account = members.members.open_profile("account", account_key)
    account.resize(900, 620)
    shot(account, "builder-10-account-profile.png", 1.5)
    account.close()
    members.close()

    # A list of ids pasted as a segment.
    page.new_segment("user:list")
    dialog = builder.row_at(("conditions", 0)).editor.dialog
    dialog.text.setPlainText("u01003\nu01012\nu01027\nu09999")
    dialog.resize(420, 360)
    shot(dialog, "list-of-ids.png")
    dialog.accept()
    builder.model.set_name("Beta testers")
    settle()
    shot(window, "builder-list-of-ids.png")

    # Ctrl+K.
    search = window.find_people("company 00")
    deadline = time.monotonic() + 10
    while search.is_searching() and time.monotonic() < deadline:
        pump(0.05)
    shot(search, "people-search.png")
    search.close()

    # As-of pinned (the status bar and the As of card say so).
    window.pin_as_of_dialog(parse_as_of("2024-05-31"))
    window.show_page("data")
    pump(1.5)
    shot(window, "as-of-pinned.png")
    window.unpin_as_of()

    # Help → User guide.
    guide = window.show_user_guide()
    guide.resize(960, 720)
    shot(guide, "help-user-guide.png", 1.0)
    guide.close()
    window.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
