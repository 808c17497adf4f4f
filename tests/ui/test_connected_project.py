"""The desktop app and connected projects (docs/sources.md): "Connect to ClickHouse…", and a
connected project opened in the app, on a real chdb data folder."""

from __future__ import annotations

import pytest

pytest.importorskip("chdb")

from segment_data import make_project

from chdb_support import to_chdb
from seglab.core.engines.base import source_of
from seglab.core.project import Project
from seglab.ui.main_window import MainWindow
from seglab.ui.settings import AppSettings

pytestmark = pytest.mark.gui


@pytest.fixture
def window(qtbot):
    win = MainWindow(AppSettings())
    qtbot.addWidget(win)
    yield win
    win.close()


@pytest.fixture
def chdb_folder(tmp_path):
    """The B2B data set of segment_data.py in a chdb folder, as a warehouse holds it."""
    local = make_project(tmp_path / "b2b.seglab")
    with Project.open(local, readonly=True) as project:
        to_chdb(project.conn, tmp_path / "ch")
    return tmp_path / "ch"


@pytest.fixture
def connected_file(chdb_folder, tmp_path):
    with Project.open(tmp_path / "b2b.seglab", readonly=True) as project:
        return connect_to_existing(project.conn, chdb_folder, tmp_path / "c.seglab")


def connect_to_existing(conn, folder, path):
    from seglab.core.engines.connect import connect_project

    connect_project(path, f"chdb://{folder}", {"events": "events", "users": "users", "accounts": "accounts"})
    return path


def _tested(qtbot, dialog):
    assert dialog.test_connection()
    # The first test picks the tables the source has, then counts their rows.
    qtbot.waitUntil(lambda: not dialog.probe_worker.is_busy() and "rows" in dialog.status_label.text())


# -- "Connect to ClickHouse…" ------------------------------------------------------------------------


def test_the_start_screen_and_file_menu_offer_connect(window):
    assert window.start_widget.connect_button.text() == "Connect to ClickHouse…"
    assert window.connect_action.text().replace("&", "") == "Connect to ClickHouse…"
    assert window.connect_action.isEnabled()


def test_the_dialog_tests_the_connection_and_creates_a_project_that_opens(
    window, qtbot, chdb_folder, tmp_path
):
    dialog = window.connect_dialog()
    dialog.set_url(f"chdb://{chdb_folder}")
    assert not dialog.connect_button.isEnabled()  # test the connection first
    _tested(qtbot, dialog)
    assert dialog.status_label.text() == (
        "Connected: 3 tables in default · events 16 rows · users 8 rows · accounts 4 rows"
    )
    assert {k: b.table() for k, b in dialog.boxes.items()} == {
        "events": "events",
        "users": "users",
        "accounts": "accounts",
    }
    assert [dialog.boxes[k].rows_label.text() for k in ("events", "users", "accounts")] == ["16", "8", "4"]
    # The mapping is guessed from the column names, as the importer guesses it.
    assert dialog.boxes["events"].maps() == [
        "events.user_id=user_id",
        "events.timestamp=timestamp",
        "events.event=event",
        "events.account_id=account_id",
        "events.insert_id=",
    ]
    assert dialog.boxes["users"].properties_label.text() == "Properties: plan, country, age"
    assert dialog.password_label.text() == "A chdb folder needs no password"
    assert dialog.connect_button.isEnabled()

    target = tmp_path / "shop.seglab"
    assert dialog.connect_to(target)
    qtbot.waitUntil(lambda: window.session.is_open(), timeout=20_000)
    assert window.session.path == target
    assert window.session.is_connected()
    with Project.open(target, readonly=True) as project:
        source = source_of(project.conn)
    assert source["url"] == f"chdb://{chdb_folder}"
    assert source["events"]["timestamp"] == "timestamp"
    assert source["users"]["properties"] == ["plan", "country", "age"]


def test_errors_are_the_core_sentences_next_to_their_field(window, qtbot, chdb_folder, tmp_path):
    dialog = window.connect_dialog()
    dialog.set_url("chdb://relative/folder")
    assert not dialog.test_connection()
    assert dialog.url_error.text() == (
        "chdb://relative/folder: a chdb URL names a folder on this machine: "
        "chdb:///ABSOLUTE/PATH (three slashes)"
    )
    dialog.set_url("clickhouse://analyst:secret@ch.example.com/analytics")
    assert not dialog.test_connection()
    assert dialog.url_error.text().startswith(
        "ch.example.com/analytics: a password in the source URL is refused"
    )
    assert "secret" not in dialog.url_error.text()
    dialog.set_url(f"chdb://{tmp_path / 'nowhere'}")
    assert dialog.test_connection()
    qtbot.waitUntil(lambda: not dialog.probe_worker.is_busy())
    assert dialog.url_error.text() == f"chdb://{tmp_path / 'nowhere'}: no such chdb data folder"

    dialog.set_url(f"chdb://{chdb_folder}")
    _tested(qtbot, dialog)
    box = dialog.boxes["events"]
    combo = box.field_combos["timestamp"]
    combo.setCurrentIndex(combo.findData("user_id"))
    combo.activated.emit(combo.currentIndex())
    assert box.error_label.isVisibleTo(dialog)
    assert box.error_label.text() == (
        "events.user_id: column type String cannot hold the timestamp "
        "(expected DateTime, DateTime64 or Int64/UInt64 epoch milliseconds)"
    )
    assert not dialog.boxes["users"].error_label.text()
    dialog.boxes["users"].table_combo.setEditText("people")
    assert dialog.boxes["users"].error_label.text() == (
        "table 'people': no such table in database 'default' of the source"
    )
    dialog.connect_clicked()  # refused before any file is asked for or written
    assert not list(tmp_path.glob("*.seglab")) or all(
        p.name == "b2b.seglab" for p in tmp_path.glob("*.seglab")
    )


def test_a_password_is_never_written_in_the_project(window, qtbot, chdb_folder, tmp_path, monkeypatch):
    monkeypatch.setenv("SEGLAB_SOURCE_PASSWORD", "s3cret-pw")
    dialog = window.connect_dialog()
    dialog.set_url("clickhouse://analyst@ch.example.com:8443/analytics?secure=true")
    assert "SEGLAB_SOURCE_PASSWORD" in dialog.password_label.text()
    dialog.set_url(f"chdb://{chdb_folder}")
    _tested(qtbot, dialog)
    assert dialog.connect_to(tmp_path / "p.seglab")
    qtbot.waitUntil(lambda: window.session.is_open(), timeout=20_000)
    window.session.close()
    assert b"s3cret-pw" not in (tmp_path / "p.seglab").read_bytes()


# -- a connected project open in the app ------------------------------------------------------------

LOGIN_US = {
    "version": 1,
    "level": "user",
    "match": "all",
    "conditions": [
        {"type": "behavior", "event": "login", "window": {"last_days": 30}},
        {"type": "property", "entity": "user", "property": "country", "op": "eq", "value": "US"},
    ],
}
PRO = {
    "version": 1,
    "level": "user",
    "match": "all",
    "conditions": [{"type": "property", "entity": "user", "property": "plan", "op": "eq", "value": "pro"}],
}


def _opened(qtbot, window, path):
    assert window.open_project(path)
    qtbot.waitUntil(lambda: window.overview_model.snapshot is not None, timeout=20_000)


def test_the_data_page_shows_the_source_instead_of_imports(
    window, qtbot, connected_file, chdb_folder, message_log
):
    _opened(qtbot, window, connected_file)
    page = window.overview_widget
    assert page.source_section.isVisibleTo(page)
    assert not page.import_section.isVisibleTo(page)
    assert page.source_section.title_label.text() == (
        f"Source: chdb://{chdb_folder} — read each time SegLab counts; nothing is imported"
    )
    assert window.overview_model.source.rows() == [
        (
            "Events",
            "events",
            "16",
            "user id = user_id, timestamp = timestamp, event = event, account id = account_id",
            "amount",
        ),
        ("Users", "users", "8", "user id = user_id, account id = account_id", "plan, country, age"),
        ("Accounts", "accounts", "4", "account id = account_id", "tier, seats"),
    ]
    # The same counts as the local project of the same rows, read in the source.
    assert page.cards["events"].value() == "16"
    assert page.cards["users"].value() == "8"
    assert page.cards["accounts"].value() == "4"
    assert window.overview_model.event_names.rows() == [("create_report", 10), ("login", 5), ("signup", 1)]
    # Import is refused on a connected project, and the button says why.
    assert not page.import_button.isEnabled()
    assert page.import_button.toolTip() == (
        f"This project reads its events from chdb://{chdb_folder}; "
        "import does not apply to a connected project"
    )
    assert not window.import_action.isEnabled()
    assert window.import_files([str(chdb_folder.parent / "b2b.events.csv")]) is None
    assert message_log.texts("error") == [
        f"c.seglab reads its events from chdb://{chdb_folder}; import does not apply to a connected "
        "project (nothing was changed)"
    ]


def _cli_count(project, definition, tmp_path) -> dict:
    import json
    import subprocess
    import sys

    spec = tmp_path / "def.json"
    spec.write_text(json.dumps(definition))
    done = subprocess.run(
        [sys.executable, "-m", "seglab", "segment", "count", str(project), "--def", str(spec), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_builder_counts_in_the_source_as_seglab_segment_count_does(
    window, qtbot, connected_file, tmp_path
):
    from seglab.core import segments

    with Project.open(connected_file) as project:
        segments.save_segment(project.conn, "Pro users", PRO)
    _opened(qtbot, window, connected_file)
    window.show_page("segments")
    page = window.page("segments")
    qtbot.waitUntil(
        lambda: not page.is_loading() and page.library.model.names() == ["Pro users"], timeout=20_000
    )
    entry = page.library.model.entry("Pro users")
    assert (entry.size, entry.error) == (4, None)
    # The builder's pickers: event names and frequent values from the source.
    assert [n for n, _c in page.builder.catalogue.event_names] == ["create_report", "login", "signup"]

    page.builder.open_segment(None, LOGIN_US, level="user")
    qtbot.waitUntil(lambda: page.builder.preview is not None and not page.is_loading(), timeout=20_000)
    preview = page.builder.preview
    assert (preview.universe, preview.alone, preview.running) == (8, {0: 5, 1: 3}, {0: 5, 1: 3})
    assert page.builder.total_label.text() == "3 users"
    assert not preview.problems  # "login" is an event of the source
    window.session.close()  # the CLI opens the chdb folder itself
    cli = _cli_count(connected_file, LOGIN_US, tmp_path)
    assert cli["count"] == preview.total == 3


def test_members_are_listed_from_the_source(window, qtbot, connected_file):
    from seglab.ui.widgets.members_widget import open_segment_members_dialog

    _opened(qtbot, window, connected_file)
    dialog = open_segment_members_dialog(window.session, PRO, "Pro users", window)
    qtbot.addWidget(dialog)
    members = dialog.members
    qtbot.waitUntil(lambda: not members.is_loading() and members.row_count() == 4, timeout=20_000)
    table = members.model.table()
    assert table.columns == ("user_id", "account", "first seen", "last seen", "plan", "country", "age")
    assert [r[:2] + r[4:] for r in table.rows] == [
        ("u1", "acme", "pro", "DE", 31),
        ("u2", "acme", "pro", "US", 44),
        ("u4", "globex", "pro", "FR", 38),
        ("u7", "initech", "pro", "US", 61),
    ]
    assert not table.profiles  # no local keys: a double-click reads a user's profile in the source
    dialog.close()


def test_a_chart_runs_in_the_source_and_holds_the_local_numbers(window, qtbot, connected_file, tmp_path):
    import pandas as pd

    from seglab.core import segments
    from seglab.core.charts import ChartSpec, run_chart

    for path in (connected_file, tmp_path / "b2b.seglab"):
        with Project.open(path) as project:
            segments.save_segment(project.conn, "Pro users", PRO)
    spec = ChartSpec(
        segments=("Pro users",), vs_rest=True, interval="week", last_days=None, date_from="2024-03-01"
    ).with_options(event="create_report", measure="users")
    with Project.open(tmp_path / "b2b.seglab", readonly=True) as project:
        local = run_chart(project.conn, spec)

    _opened(qtbot, window, connected_file)
    window.show_page("charts")
    page = window.page("charts")
    qtbot.waitUntil(lambda: not page.catalog_worker.is_busy() and not page.worker.is_busy(), timeout=20_000)
    assert page.model.catalog.events[:2] == ("create_report", "login")  # from the source, most frequent first
    with qtbot.waitSignal(page.result_shown, timeout=20_000) as shown:
        page.model.set_spec(spec)
    frame = shown.args[0]
    pd.testing.assert_frame_equal(frame.reset_index(drop=True), local.reset_index(drop=True))
    assert frame.attrs["series"] == local.attrs["series"]


# -- one chdb folder, several windows and processes ----------------------------------------------------

HOLD = """
import sys, time
from chdb import session
s = session.Session(sys.argv[1])
print("holding", flush=True)
time.sleep(60)
"""


def test_a_folder_held_by_another_process_gives_the_in_use_sentence(
    window, qtbot, connected_file, chdb_folder
):
    import subprocess
    import sys

    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(chdb_folder)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        assert window.open_project(connected_file)  # the project file opens; its source cannot
        page = window.overview_widget
        qtbot.waitUntil(lambda: not window.overview_model.is_loading(), timeout=20_000)
        assert page.status_label.text() == (
            f"Could not read the project: chdb://{chdb_folder}: the chdb data folder is in use by "
            "another process; close it and try again"
        )
        assert page.refresh_button.isVisibleTo(page)
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
    page.refresh_button.click()  # the other process is gone: the source reads
    qtbot.waitUntil(lambda: window.overview_model.snapshot is not None, timeout=20_000)
    assert page.status_label.text() == ""
    assert page.cards["events"].value() == "16"


def test_windows_on_one_folder_and_on_two_folders_take_turns(qtbot, connected_file, chdb_folder, tmp_path):
    second = connect_to_existing(None, chdb_folder, tmp_path / "second.seglab")
    with Project.open(tmp_path / "b2b.seglab", readonly=True) as project:
        to_chdb(project.conn, tmp_path / "ch2")  # another folder: chdb serves one per process at a time
    third = connect_to_existing(None, tmp_path / "ch2", tmp_path / "third.seglab")
    windows = []
    for path in (connected_file, second, third):
        win = MainWindow(AppSettings())
        qtbot.addWidget(win)
        windows.append(win)
        assert win.open_project(path)
    for win in windows:
        win.show_page("segments")
    qtbot.waitUntil(
        lambda: all(
            w.overview_model.snapshot is not None and not w.page("segments").is_loading() for w in windows
        ),
        timeout=30_000,
    )
    for win in windows:
        assert win.overview_widget.cards["users"].value() == "8"
        assert win.overview_widget.status_label.text() == ""
        win.close()


# -- long queries: progress and Cancel ---------------------------------------------------------------

# Billions of generated events (a view over numbers()): every count runs for minutes.
HUGE = (
    "CREATE VIEW events AS SELECT toString(number % 1000003) AS user_id, "
    "if(number % 3 = 0, 'login', 'purchase') AS event, "
    "toDateTime64('2024-01-01 00:00:00', 3, 'UTC') + toIntervalMillisecond(number % 7776000000) AS timestamp "
    "FROM numbers(5000000000)"
)


@pytest.fixture
def huge(tmp_path):
    from chdb import session

    from seglab.core.engines.connect import connect_project

    s = session.Session(str(tmp_path / "huge"))
    try:
        s.query(HUGE)
    finally:
        s.close()
    project = tmp_path / "huge.seglab"
    connect_project(project, f"chdb://{tmp_path / 'huge'}", {"events": "events"}, [])
    return project


def test_cancel_stops_a_long_read_of_the_source(window, qtbot, huge):
    import time

    assert window.open_project(huge)
    page = window.overview_widget
    assert window.overview_model.is_loading()
    assert page.status_label.text() == "Reading the source…"
    assert page.cancel_button.isVisibleTo(page)
    qtbot.wait(1500)  # the count is running in the source
    assert window.overview_model.is_loading()
    started = time.monotonic()
    page.cancel_button.click()
    qtbot.waitUntil(lambda: not window.overview_model.is_loading(), timeout=15_000)
    assert time.monotonic() - started < 10
    assert page.status_label.text() == "Cancelled: the counts were not read (Refresh reads them)"
    assert window.overview_model.snapshot is None
    assert not page.cancel_button.isVisibleTo(page)


def test_cancel_stops_a_long_chart_in_the_source(window, qtbot, huge):
    import time

    from seglab.core.charts import ChartSpec

    assert window.open_project(huge)
    window.overview_model.cancel()
    qtbot.waitUntil(lambda: not window.overview_model.is_loading(), timeout=15_000)
    window.show_page("charts")
    charts = window.page("charts")
    charts.catalog_worker.cancel()
    qtbot.waitUntil(lambda: not charts.catalog_worker.is_busy(), timeout=15_000)
    spec = ChartSpec(
        interval="week",
        last_days=None,
        date_from="2024-01-01",
        date_to="2024-03-31",
        as_of="2024-04-01T00:00:00Z",
    )
    charts.model.set_spec(spec.with_options(event="login", measure="users"))
    qtbot.waitUntil(
        lambda: charts.worker.is_busy() and charts.cancel_button.isVisibleTo(charts), timeout=15_000
    )
    qtbot.wait(1500)
    assert charts.worker.is_busy()
    started = time.monotonic()
    with qtbot.waitSignal(charts.worker.cancelled, timeout=15_000):
        charts.cancel_button.click()
    assert time.monotonic() - started < 10
    assert not charts.worker.is_busy()


def test_saving_from_the_builder_and_pinning_the_as_of(window, qtbot, connected_file, message_log):
    from seglab.core import segments

    _opened(qtbot, window, connected_file)
    window.show_page("segments")
    page = window.page("segments")
    qtbot.waitUntil(lambda: not page.is_loading(), timeout=20_000)
    assert [v for v in page.builder.catalogue.top_values[("user", "plan")]] == ["free", "pro"]
    assert page.builder.catalogue.date_range == ("2023-12-01", "2024-03-31")
    page.builder.open_segment(None, LOGIN_US, level="user")
    qtbot.keyClicks(page.builder.name_edit, "US logins")
    qtbot.waitUntil(lambda: page.builder.preview is not None and not page.is_loading(), timeout=20_000)
    assert page.builder.save(), message_log
    qtbot.waitUntil(
        lambda: "US logins" in page.library.model.names() and not page.is_loading(), timeout=20_000
    )
    assert page.library.model.entry("US logins").size == 3
    with Project.open(connected_file, readonly=True) as project:
        assert segments.get_saved(project.conn, "US logins").level == "user"

    dialog = window.pin_as_of_dialog()  # the range comes from the source, read by the Data page
    assert dialog.date_edit.minimumDate().toString("yyyy-MM-dd") == "2023-12-01"
    assert dialog.date_edit.maximumDate().toString("yyyy-MM-dd") == "2024-03-31"
    dialog.close()


def test_the_worksheet_of_a_connected_project_is_written_from_the_source(
    window, qtbot, connected_file, tmp_path
):
    from seglab.core import segments

    with Project.open(connected_file) as project:
        segments.save_segment(project.conn, "Pro users", PRO)
    _opened(qtbot, window, connected_file)
    assert window.worksheet_action.isEnabled()
    out = tmp_path / "worksheet.html"
    assert window.export_worksheet(out)
    assert window.wait_for_worksheet(60_000)
    qtbot.waitUntil(lambda: out.exists() and not window._worksheet_running(), timeout=20_000)
    html = out.read_text(encoding="utf-8")
    assert "Pro users" in html
