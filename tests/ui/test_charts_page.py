"""The Charts page with real SQLite and real widgets: each chart holds exactly the analysis's data,
clicks drill down to the right members, saved charts round-trip, a deleted segment is reported."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QGuiApplication

from builders import build_project
from seglab.core import charts as core_charts
from seglab.core.charts import ChartSpec, make_slice, run_chart, slice_members
from seglab.core.project import Project
from seglab.core.segments import delete_segment, save_segment
from seglab.core.storage.connection import connect
from seglab.ui.charts.charts_page import ChartsPageWidget
from seglab.ui.charts.retention_model import PARTIAL_ROLE, average_curves
from seglab.ui.palette import EVERYONE_COLOR, REST_COLOR, color_for_segment

pytestmark = [pytest.mark.gui, pytest.mark.qt_log_ignore("propagateSizeHints")]

PRO = ("u1", "u2", "u3")
EVENTS = [
    ("u1", "signup", "2024-03-04T09:00:00Z"), ("u1", "view", "2024-03-04T09:05:00Z"),
    ("u1", "purchase", "2024-03-05T10:00:00Z"), ("u2", "signup", "2024-03-05T09:00:00Z"),
    ("u2", "view", "2024-03-06T09:00:00Z"), ("u4", "signup", "2024-03-06T12:00:00Z"),
    ("u4", "purchase", "2024-03-06T12:30:00Z"), ("u3", "signup", "2024-03-11T08:00:00Z"),
    ("u3", "view", "2024-03-11T08:00:00.500Z"), ("u3", "purchase", "2024-03-11T08:00:01Z"),
    ("u1", "view", "2024-03-12T10:00:00Z"), ("u5", "signup", "2024-03-13T10:00:00Z"),
    ("u1", "view", "2024-03-19T10:00:00Z"), ("u2", "purchase", "2024-03-19T11:00:00Z"),
    ("u6", "signup", "2024-03-20T10:00:00Z"), ("u3", "view", "2024-03-21T10:00:00Z"),
    ("u4", "view", "2024-03-26T10:00:00Z"), ("u6", "view", "2024-03-27T10:00:00Z"),
    ("u5", "view", "2024-03-30T10:00:00Z"),
]  # fmt: skip
PRO_DEF = {
    "version": 1,
    "level": "user",
    "match": "all",
    "conditions": [{"type": "property", "entity": "user", "property": "plan", "op": "eq", "value": "pro"}],
}
MARCH = {"last_days": None, "date_from": "2024-03-01", "date_to": "2024-03-31"}


@pytest.fixture
def project_file(tmp_path):
    users = [
        {"user_id": u, "account_id": f"a{i // 2 + 1}", "plan": "pro" if u in PRO else "free"}
        for i, u in enumerate(["u1", "u2", "u3", "u4", "u5", "u6"])
    ]
    events = [{"user_id": u, "event": e, "timestamp": t} for u, e, t in EVENTS]
    path = build_project(tmp_path / "shop.seglab", events=events, users=users)
    with Project.open(path) as project:
        save_segment(project.conn, "Pro", PRO_DEF)
    return path


@pytest.fixture
def page(session, qtbot):
    w = ChartsPageWidget(session, open_members=False)
    qtbot.addWidget(w)
    w.resize(1300, 800)
    qtbot.waitUntil(lambda: not w.catalog_worker.is_busy() and not w.worker.is_busy(), timeout=10_000)
    yield w
    w.shutdown()


def show(page, qtbot, spec: ChartSpec):
    """Put ``spec`` in the editor model and wait until its chart is on screen."""
    with qtbot.waitSignal(page.result_shown, timeout=10_000) as blocker:
        page.model.set_spec(spec)
    return blocker.args[0]


def expected(session, spec):
    conn = connect(session.path, readonly=True)
    try:
        return run_chart(conn, spec)
    finally:
        conn.close()


def members(session, spec, **where):
    conn = connect(session.path, readonly=True)
    try:
        return slice_members(conn, make_slice(spec, **where))
    finally:
        conn.close()


def keys_of(session, ids):
    conn = connect(session.path, readonly=True)
    try:
        return tuple(
            sorted(
                conn.execute("SELECT user_key FROM users WHERE user_id = ?", (u,)).fetchone()[0] for u in ids
            )
        )
    finally:
        conn.close()


def click_view_point(qtbot, plot_widget, x: float, y: float) -> None:
    """A real left click on the plot at data coordinates (x, y)."""
    vb = plot_widget.getPlotItem().vb
    scene_pos = vb.mapViewToScene(QPointF(x, y))
    view_pos = plot_widget.mapFromScene(scene_pos)
    qtbot.mouseClick(
        plot_widget.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(view_pos.x(), view_pos.y())
    )


# -- trend -----------------------------------------------------------------------------------------


def test_trend_chart_holds_exactly_the_trend_analysis(page, session, qtbot):
    spec = ChartSpec(segments=("Pro",), vs_rest=True, interval="week", **MARCH).with_options(
        event="view", measure="count"
    )
    frame = show(page, qtbot, spec)
    want = expected(session, spec)
    assert frame.equals(want)
    chart = page.charts["trend"]
    assert page.current_chart() is chart
    assert set(chart.curves) == {"Pro", "not Pro"}
    for label, curve in chart.curves.items():
        x, y = curve.getData()
        rows = want[want["segment"] == label]
        assert y.tolist() == rows["value"].astype(float).tolist()
        starts = [np.datetime64(p).astype("datetime64[s]").astype(float) for p in rows["period_start"]]
        assert x.tolist() == starts
    assert chart.curves["Pro"].opts["pen"].color().name().upper() == color_for_segment(1).upper()
    assert chart.curves["not Pro"].opts["pen"].color().name().upper() == REST_COLOR.upper()
    assert [label.text for _s, label in chart.legend.items] == ["Pro", "not Pro"]
    assert not chart.average_curves["Pro"].isVisible()


def test_trend_moving_average_and_crosshair(page, session, qtbot):
    spec = ChartSpec(interval="day", **MARCH).with_options(event="*", measure="users", moving_average=7)
    show(page, qtbot, spec)
    chart = page.charts["trend"]
    want = expected(session, spec)
    raw = want["value"].astype(float).to_numpy()
    _x, y_raw = chart.curves["everyone"].getData()
    _x, y_avg = chart.average_curves["everyone"].getData()
    assert y_raw.tolist() == raw.tolist()
    assert y_avg[6] == pytest.approx(raw[:7].mean())
    assert y_avg[0] == raw[0]
    assert chart.curves["everyone"].opts["pen"].color().name().upper() == EVERYONE_COLOR.upper()
    # hovering 2024-03-11 shows every series' value at that date
    x = float(np.datetime64("2024-03-11").astype("datetime64[s]").astype(float))
    text = chart.hover_at(x + 3600)
    day = want[want["period_start"] == "2024-03-11"]["value"].iloc[0]
    assert text.splitlines() == ["2024-03-11", f"everyone: {day}"]
    assert chart.crosshair.isVisible() and chart.crosshair.value() == x


def test_trend_point_click_drills_to_members(page, session, qtbot):
    spec = ChartSpec(segments=("Pro",), interval="week", **MARCH).with_options(event="view", measure="users")
    show(page, qtbot, spec)
    chart = page.charts["trend"]
    x = float(np.datetime64("2024-03-11").astype("datetime64[s]").astype(float))
    with qtbot.waitSignal(page.drill_requested, timeout=10_000) as blocker:
        chart.click_point("Pro", x)
    level, keys, title = blocker.args
    assert level == "user" and keys == keys_of(session, ["u1", "u3"])
    assert title == "Pro: users who did view in 2024-W11"


def test_items_are_updated_in_place(page, qtbot):
    spec = ChartSpec(interval="week", **MARCH)
    show(page, qtbot, spec)
    curve = page.charts["trend"].curves["everyone"]
    show(page, qtbot, spec.with_options(measure="count"))
    assert page.charts["trend"].curves["everyone"] is curve


# -- funnel -----------------------------------------------------------------------------------------


FUNNEL = ChartSpec(kind="funnel", segments=("Pro",), vs_rest=True, **MARCH).with_options(
    steps=["signup", "view", "purchase"]
)


def test_funnel_axis_reads_0_to_100_percent(page, qtbot):
    show(page, qtbot, ChartSpec(kind="funnel", **MARCH).with_options(steps=["signup", "purchase"]))
    ticks = page.charts["funnel"].item.getAxis("left")._tickLevels
    assert [label for _v, label in ticks[0]] == ["0%", "20%", "40%", "60%", "80%", "100%"]


def test_funnel_bars_hold_the_funnel_analysis(page, session, qtbot):
    frame = show(page, qtbot, FUNNEL)
    want = expected(session, FUNNEL)
    assert frame.equals(want)
    chart = page.charts["funnel"]
    for label, bar in chart.bars.items():
        rows = want[want["segment"] == label]
        x, height = bar.getData()
        assert list(height) == pytest.approx(list(rows["conversion_from_start"] * 100))
        assert np.allclose(np.round(x), rows["step"])
    ticks = chart.item.getAxis("bottom")._tickLevels[0]
    assert [t[1] for t in ticks] == ["1. signup", "2. view", "3. purchase"]
    texts = [t.textItem.toPlainText() for t in chart.labels]
    pro = want[want["segment"] == "Pro"]
    assert texts[0].startswith(f"{pro['conversion_from_start'].iloc[0] * 100:.0f}%")
    # step 2 carries the users who reached it and the median time from step 1 (5 min, 1 day, 0.5 s)
    assert texts[1] == f"{pro['conversion_from_start'].iloc[1] * 100:.0f}%\n3\n+5.0 min"
    legend = chart.legend_label.text()
    assert legend.index("Pro") < legend.index("not Pro") and REST_COLOR in legend


def test_clicking_a_funnel_bar_opens_who_reached_it(page, session, qtbot):
    show(page, qtbot, FUNNEL)
    chart = page.charts["funnel"]
    qtbot.waitExposed(page) if page.isVisible() else page.show()
    qtbot.waitExposed(page)
    x, y = chart.bar_center("Pro", 3)
    with qtbot.waitSignal(page.drill_requested, timeout=10_000) as blocker:
        click_view_point(qtbot, chart.plot, x, y)
    _level, keys, title = blocker.args
    assert keys == members(session, FUNNEL, segment="Pro", step=3).keys
    assert keys == keys_of(session, ["u1", "u3"])
    assert title == "Pro: users who reached step 3 (purchase)"


def test_clicking_the_drop_off_gap_opens_who_stopped(page, session, qtbot):
    spec = ChartSpec(kind="funnel", **MARCH).with_options(steps=["signup", "view", "purchase"])
    show(page, qtbot, spec)
    page.show()
    qtbot.waitExposed(page)
    chart = page.charts["funnel"]
    x, y = chart.bar_center("everyone", 3, drop_off=True)
    with qtbot.waitSignal(page.drill_requested, timeout=10_000) as blocker:
        click_view_point(qtbot, chart.plot, x, y)
    _level, keys, title = blocker.args
    assert keys == keys_of(session, ["u2", "u6"])
    assert title == "everyone: users who reached step 2 (view) but not step 3 (purchase)"


# -- retention ----------------------------------------------------------------------------------------


RETENTION = ChartSpec(
    kind="retention", segments=("Pro",), vs_rest=True, interval="week", **MARCH
).with_options(periods=4)


def test_retention_heat_table_fits_the_window(page, qtbot):
    from PySide6.QtWidgets import QHeaderView

    page.resize(1440, 900)
    page.show()
    show(page, qtbot, RETENTION.with_options(periods=8))
    chart = page.charts["retention"]
    qtbot.waitUntil(lambda: chart.table.isVisible(), timeout=5_000)
    qtbot.wait(50)
    header = chart.table.horizontalHeader()
    assert header.sectionResizeMode(3) == QHeaderView.ResizeMode.Stretch  # periods share the width
    assert chart.table.horizontalScrollBar().maximum() == 0
    assert chart.table.verticalScrollBar().maximum() == 0
    assert chart.splitter.sizes()[0] > chart.splitter.sizes()[1]  # the table before the curves


def test_retention_heat_table_and_average_curve_hold_the_analysis(page, session, qtbot):
    frame = show(page, qtbot, RETENTION)
    want = expected(session, RETENTION)
    assert frame.equals(want)
    chart = page.charts["retention"]
    model = chart.model
    assert model.rowCount() == want.groupby(["segment", "cohort_start"]).ngroups
    assert [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())] == [
        "Segment", "Cohort", "Size", "Week 0", "Week 1", "Week 2", "Week 3",
    ]  # fmt: skip
    partial = 0
    for r in want.itertuples():
        index = chart.cell_index(r.segment, r.cohort_start, r.period)
        assert model.data(index) == f"{100 * r.rate:.1f}%" + ("" if r.complete else "*")
        assert model.data(index, Qt.ItemDataRole.UserRole) == r.rate
        assert model.data(index, PARTIAL_ROLE) == (not r.complete)
        partial += not r.complete
        size = chart.cell_index(r.segment, r.cohort_start, None)
        assert model.data(size) == f"{r.cohort_size:,}"
    assert partial > 0  # the last weeks are not over at as-of
    averages = average_curves(want)
    for label, curve in chart.curves.items():
        x, y = curve.getData()
        complete = want[(want["segment"] == label) & want["complete"]]
        for period in range(4):
            cells = complete[complete["period"] == period]
            if len(cells):
                assert y[period] == pytest.approx(100 * cells["retained"].sum() / cells["cohort_size"].sum())
            else:
                assert np.isnan(y[period])
        assert np.allclose(x, averages[label][0])


def test_clicking_a_retention_cell_opens_exactly_that_slice(page, session, qtbot):
    show(page, qtbot, RETENTION)
    page.show()
    qtbot.waitExposed(page)
    chart = page.charts["retention"]
    index = chart.cell_index("Pro", "2024-03-04", 2)
    rect = chart.table.visualRect(index)
    with qtbot.waitSignal(page.drill_requested, timeout=10_000) as blocker:
        qtbot.mouseClick(chart.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    level, keys, title = blocker.args
    assert (level, title) == ("user", "Pro: users of cohort 2024-W10 retained in week 2")
    assert keys == keys_of(session, ["u1", "u2"])
    size_index = chart.cell_index("not Pro", "2024-03-04", None)
    with qtbot.waitSignal(page.drill_requested, timeout=10_000) as blocker:
        qtbot.mouseClick(
            chart.table.viewport(), Qt.MouseButton.LeftButton, pos=chart.table.visualRect(size_index).center()
        )
    assert blocker.args[1] == keys_of(session, ["u4"])


def test_drill_down_opens_the_members_list(session, qtbot):
    page = ChartsPageWidget(session)
    qtbot.addWidget(page)
    qtbot.waitUntil(lambda: not page.catalog_worker.is_busy() and not page.worker.is_busy(), timeout=10_000)
    try:
        show(page, qtbot, RETENTION)
        with qtbot.waitSignal(page.drill_requested, timeout=10_000):
            page.charts["retention"].slice_clicked.emit(
                {"segment": "Pro", "cohort_start": "2024-03-04", "period": 2}
            )
        assert len(page.members_dialogs) == 1
        dialog = page.members_dialogs[0]
        qtbot.waitUntil(lambda: dialog.members.row_count() == 2, timeout=10_000)
        assert dialog.members.title() == "Pro: users of cohort 2024-W10 retained in week 2"
    finally:
        page.shutdown()


# -- data table, editor, saved charts, export ---------------------------------------------------------


def test_data_table_toggle_shows_the_same_numbers(page, session, qtbot):
    frame = show(page, qtbot, FUNNEL)
    assert not page.data_table.isVisibleTo(page)
    page.table_button.click()
    assert page.data_table.isVisibleTo(page) and page.table_button.text() == "Hide data"
    model = page.data_model
    assert model.rowCount() == len(frame) and model.columns() == list(frame.columns)
    col = model.columns().index("conversion_from_start")
    for row in range(len(frame)):
        raw = frame["conversion_from_start"].iloc[row]
        assert model.data(model.index(row, col), Qt.ItemDataRole.UserRole) == raw
        assert model.data(model.index(row, col)) == f"{100 * raw:.1f}%"
    page.table_button.click()
    assert not page.data_table.isVisibleTo(page)


def test_editor_changes_rerun_in_the_worker(page, session, qtbot):
    editor = page.editor
    with qtbot.waitSignal(page.result_shown, timeout=10_000):
        editor.kind_combo.setCurrentIndex(editor.kind_combo.findData("retention"))
    assert page.model.spec.kind == "retention" and page.current_chart() is page.charts["retention"]
    with qtbot.waitSignal(page.result_shown, timeout=10_000) as blocker:
        editor.set_segment_checked("Pro", True)
    assert page.model.spec.segments == ("Pro",)
    assert set(blocker.args[0]["segment"]) == {"Pro"}
    assert editor.vs_rest_check.isEnabled()
    with qtbot.waitSignal(page.result_shown, timeout=10_000) as blocker:
        editor.vs_rest_check.setChecked(True)
    assert set(blocker.args[0]["segment"]) == {"Pro", "not Pro"}
    with qtbot.waitSignal(page.result_shown, timeout=10_000):
        editor.retention_periods.setValue(3)
    assert page.model.spec.option("periods") == 3
    with qtbot.waitSignal(page.result_shown, timeout=10_000) as blocker:
        editor.unit_combo.setCurrentIndex(editor.unit_combo.findData("account"))
    assert page.model.spec.segments == () and not page.model.spec.vs_rest
    assert blocker.args[0].attrs["series"][0][:2] == ("everyone", "account")


def test_stale_results_are_dropped(page, session, qtbot):
    first = ChartSpec(interval="week", **MARCH)
    last = ChartSpec(interval="day", **MARCH)
    shown = []
    page.result_shown.connect(lambda f: shown.append(f))
    page.model.set_spec(first)
    page.run_now()
    page.model.set_spec(last)
    page.run_now()
    qtbot.waitUntil(lambda: not page.worker.is_running() and len(shown) >= 1, timeout=10_000)
    qtbot.wait(50)
    assert len(shown) == 1 and shown[0].equals(expected(session, last))


def test_funnel_without_steps_says_what_to_do(page, qtbot):
    with qtbot.waitSignal(page.run_failed, timeout=10_000) as blocker:
        page.model.set_spec(ChartSpec(kind="funnel"))
    assert "Add at least one step to the funnel" in blocker.args[0]


def test_saved_chart_reopens_exactly(page, session, qtbot):
    show(page, qtbot, RETENTION)
    assert page.save_current_as("Pro retention")
    assert [page.saved_list.item(i).text() for i in range(page.saved_list.count())] == ["Pro retention"]
    assert page.title_label.text() == "Pro retention"
    page.new_chart()
    qtbot.waitUntil(lambda: page.model.spec.kind == "trend")
    with qtbot.waitSignal(page.result_shown, timeout=10_000) as blocker:
        page.open_saved("Pro retention")
    assert page.model.spec == RETENTION
    assert blocker.args[0].equals(expected(session, RETENTION))
    assert page.editor.retention_periods.value() == 4
    assert page.editor.checked_segments() == ("Pro",) and page.editor.vs_rest_check.isChecked()
    assert page.title_label.text() == "Pro retention"
    with qtbot.waitSignal(page.result_shown, timeout=10_000):
        page.editor.retention_periods.setValue(3)
    assert page.title_label.text().startswith("Pro retention — edited")
    page._save_clicked()  # Save: overwrites the open chart
    assert page.title_label.text() == "Pro retention"
    assert core_charts.load_chart(session.project.conn, "Pro retention").option("periods") == 3
    assert page.rename_saved("Pro retention", "Retention of Pro")
    assert page.title_label.text() == "Retention of Pro"
    assert [page.saved_list.item(i).text() for i in range(page.saved_list.count())] == ["Retention of Pro"]
    page.delete_saved("Retention of Pro")
    assert page.saved_list.count() == 0 and not page.delete_button.isEnabled()


def test_chart_of_a_deleted_segment_says_so(page, session, qtbot, message_log):
    show(page, qtbot, FUNNEL)
    assert page.save_current_as("Pro funnel")
    delete_segment(session.project.conn, "Pro")
    with qtbot.waitSignal(page.catalog_worker.finished, timeout=10_000):
        session.notify_data_changed()
    with qtbot.waitSignal(page.run_failed, timeout=10_000) as blocker:
        page.open_saved("Pro funnel")
    assert "“Pro”, which no longer exists" in blocker.args[0]
    assert page.message_label.isVisibleTo(page)
    assert page.current_chart() is None
    items = [page.editor.segment_list.item(i).text() for i in range(page.editor.segment_list.count())]
    assert items == ["Pro (deleted)"]
    assert message_log == []  # reported in the page, not as an error box


def test_export_png_csv_and_copy(page, session, qtbot, tmp_path):
    frame = show(page, qtbot, FUNNEL)
    page.show()
    qtbot.waitExposed(page)
    assert page.export_png(tmp_path / "c.png")
    assert (tmp_path / "c.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from PySide6.QtGui import QImage

    picture = QImage(str(tmp_path / "c.png"))
    chart = page.current_chart().grab()
    assert picture.width() == chart.width() and picture.height() > chart.height()  # title and subtitle on top
    assert page.subtitle_label.text() == core_charts.describe_spec(FUNNEL)
    assert page.export_csv(tmp_path / "c.csv") == len(frame)
    lines = (tmp_path / "c.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == ",".join(frame.columns)
    page.copy_to_clipboard()
    mime = QGuiApplication.clipboard().mimeData()
    assert mime.hasImage() and mime.text().splitlines()[0] == "\t".join(frame.columns)
    QGuiApplication.clipboard().clear()  # an image left on the clipboard crashes Qt's exit offscreen


def test_page_accepts_the_main_window(session, qtbot):
    class Window:
        def __init__(self, s):
            self.session = s

    page = ChartsPageWidget(Window(session), open_members=False)
    qtbot.addWidget(page)
    try:
        assert page.session is session
        qtbot.waitUntil(lambda: page.model.catalog.events != (), timeout=10_000)
        assert set(page.model.catalog.events) == {"signup", "view", "purchase"}
        qtbot.waitUntil(lambda: not page.worker.is_busy(), timeout=10_000)
    finally:
        page.shutdown()


def test_core_charts_module_is_qt_free():
    import subprocess
    import sys

    code = (
        "import sys, seglab.core.charts; "
        "print(any(m.startswith(('PySide6', 'pyqtgraph')) for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    assert core_charts.KINDS


# -- the other kinds ----------------------------------------------------------------------------------

BUYERS_DEF = {
    "version": 1,
    "level": "user",
    "match": "all",
    "conditions": [{"type": "behavior", "event": "purchase"}],
}
VIEWERS_DEF = {
    "version": 1,
    "level": "user",
    "match": "all",
    "conditions": [{"type": "behavior", "event": "view"}],
}


@pytest.fixture
def page3(session, qtbot):
    save_segment(session.project.conn, "Buyers", BUYERS_DEF)
    save_segment(session.project.conn, "Viewers", VIEWERS_DEF)
    w = ChartsPageWidget(session, open_members=False)
    qtbot.addWidget(w)
    w.resize(1300, 800)
    w.show()
    qtbot.waitExposed(w)
    qtbot.waitUntil(lambda: not w.catalog_worker.is_busy() and not w.worker.is_busy(), timeout=10_000)
    yield w
    w.shutdown()


def drill(qtbot, page, plot_widget, x, y):
    with qtbot.waitSignal(page.drill_requested, timeout=10_000) as blocker:
        click_view_point(qtbot, plot_widget, x, y)
    return blocker.args


def test_distribution_histogram_markers_and_drill(page3, session, qtbot):
    spec = ChartSpec(kind="distribution", segments=("Pro",), vs_rest=True, **MARCH)
    frame = show(page3, qtbot, spec)
    assert frame.equals(expected(session, spec))
    chart = page3.charts["distribution"]
    for label, bar in chart.bars.items():
        rows = frame[frame["segment"] == label].sort_values("bin_low")
        assert list(bar.getData()[1]) == pytest.approx(list(rows["share"] * 100))
    stats = {r["segment"]: r for r in frame.attrs["stats"]}
    assert set(chart.marker_positions) == {"Pro", "not Pro"}
    assert set(chart.marker_positions["Pro"]) == {"median", "p90"}
    row = frame[(frame["segment"] == "Pro") & (frame["units"] > 0)].iloc[0]
    index = sorted(frame["bin_low"].unique()).index(row["bin_low"])
    _level, keys, title = drill(qtbot, page3, chart.plot, *chart.bar_center("Pro", index))
    assert len(keys) == row["units"] and title.startswith("Pro: users with")
    assert stats["Pro"]["units"] == frame[frame["segment"] == "Pro"]["units"].sum()


def test_top_events_bars_and_drill(page3, session, qtbot):
    spec = ChartSpec(kind="top_events", segments=("Pro",), **MARCH)
    frame = show(page3, qtbot, spec)
    chart = page3.charts["top_events"]
    ordered = frame.sort_values(["share", "event"], ascending=[False, True])
    assert chart.rows == list(ordered["event"])
    assert list(chart.values["Pro"]) == pytest.approx(list(ordered["share"] * 100))
    _level, keys, title = drill(qtbot, page3, chart.plot, *chart.bar_center("Pro", 0))
    assert len(keys) == ordered["units"].iloc[0] and title == f"Pro: users who did {chart.rows[0]}"


def test_overlap_upset_bars_and_drill(page3, session, qtbot):
    spec = ChartSpec(kind="overlap", segments=("Pro", "Buyers", "Viewers"), **MARCH)
    frame = show(page3, qtbot, spec)
    assert frame.equals(expected(session, spec))
    chart = page3.charts["overlap"]
    nonzero = frame[frame["units"] > 0].sort_values(["units", "region"], ascending=[False, True])
    assert chart.regions == list(nonzero["region"])
    assert list(chart.bar.getData()[1]) == list(nonzero["units"].astype(float))
    assert len(chart.dots.data) == 3 * len(chart.regions)
    with qtbot.waitSignal(page3.drill_requested, timeout=10_000) as blocker:
        click_in_layout(qtbot, chart.layout_widget, chart.top, *chart.bar_center("Pro & Buyers & Viewers"))
    keys = blocker.args[1]
    assert keys == keys_of(session, ["u1", "u2", "u3"])


def click_in_layout(qtbot, layout_widget, plot_item, x, y):
    scene_pos = plot_item.vb.mapViewToScene(QPointF(x, y))
    view_pos = layout_widget.mapFromScene(scene_pos)
    qtbot.mouseClick(
        layout_widget.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(view_pos.x(), view_pos.y())
    )


def test_stickiness_and_lifecycle_hold_their_analyses(page3, session, qtbot):
    spec = ChartSpec(kind="stickiness", segments=("Pro",), vs_rest=True, interval="week", **MARCH)
    frame = show(page3, qtbot, spec)
    chart = page3.charts["stickiness"]
    for label, bar in chart.bars.items():
        per_day = frame[frame["segment"] == label].groupby("days")["units"].sum()
        assert list(bar.getData()[1]) == pytest.approx(list(100 * per_day / per_day.sum()))
    spec = ChartSpec(kind="lifecycle", segments=("Pro",), vs_rest=True, interval="week", **MARCH)
    frame = show(page3, qtbot, spec)
    assert frame.equals(expected(session, spec))
    chart = page3.charts["lifecycle"]
    assert list(chart.plots) == ["Pro", "not Pro"]
    for label, stack in chart.stacks.items():
        rows = frame[frame["segment"] == label]
        for status, bar in stack.items():
            units = rows[rows["status"] == status]["units"].astype(float).tolist()
            assert list(bar.opts["height"]) == units
        assert list(stack["dormant"].opts["y0"]) == [-u for u in rows[rows["status"] == "dormant"]["units"]]
        assert (
            list(stack["returning"].opts["y0"])
            == rows[rows["status"] == "new"]["units"].astype(float).tolist()
        )


def test_distinguishes_and_segment_size(page3, session, qtbot):
    spec = ChartSpec(kind="distinguishes", segments=("Buyers",), **MARCH)
    frame = show(page3, qtbot, spec)
    assert frame.equals(expected(session, spec))
    chart = page3.charts["distinguishes"]
    assert list(chart.values["Buyers"]) == pytest.approx(list(frame["effect_size"].fillna(0)))
    assert len(chart.rows) == len(frame)
    # Every bar's label fits inside the plot (none cut at the right edge).
    right = chart.item.vb.viewRange()[0][1]
    pixels_per_unit = chart.item.vb.width() / (right - chart.item.vb.viewRange()[0][0])
    for text in chart.texts:
        assert text.pos().x() + text.boundingRect().width() / pixels_per_unit <= right + 1e-9
    spec = ChartSpec(kind="segment_size", segments=("Buyers", "Viewers"), interval="week", **MARCH)
    frame = show(page3, qtbot, spec)
    chart = page3.charts["segment_size"]
    assert chart is not page3.charts.get("trend")
    for label in ("Buyers", "Viewers"):
        assert chart.curves[label].getData()[1].tolist() == frame[frame["segment"] == label]["size"].tolist()
    x = float(np.datetime64("2024-03-11").astype("datetime64[s]").astype(float))
    with qtbot.waitSignal(page3.drill_requested, timeout=10_000) as blocker:
        chart.click_point("Buyers", x)
    assert blocker.args[1] == keys_of(session, ["u1", "u3", "u4"])


def test_kind_needs_are_explained(page3, qtbot):
    for spec, text in (
        (ChartSpec(kind="overlap", segments=("Pro",)), "Tick 2 to 6 segments"),
        (ChartSpec(kind="distinguishes"), "Tick one segment"),
        (ChartSpec(kind="segment_size"), "Tick the saved segments"),
    ):
        with qtbot.waitSignal(page3.run_failed, timeout=10_000) as blocker:
            page3.model.set_spec(spec)
        assert text in blocker.args[0]


def test_trend_marks_a_period_still_running_at_as_of(page, qtbot):
    # as-of is the last event (2024-03-30 10:00), so the week of 2024-03-25 has not ended
    show(page, qtbot, ChartSpec(interval="week", **MARCH))
    chart = page.charts["trend"]
    assert chart.partial_period == "2024-03-25"
    x, y = chart.partial_markers["everyone"].getData()
    assert len(x) == 1 and x[0] == chart.curves["everyone"].getData()[0][-1]
    assert y[0] == chart.curves["everyone"].getData()[1][-1]
    # The line into the partial period is dashed, not a solid plunge, and the tooltip says so.
    from PySide6.QtCore import Qt

    tail = chart.partial_tails["everyone"]
    tx, _ty = tail.getData()
    assert list(tx) == list(chart.curves["everyone"].getData()[0][-2:])
    assert tail.opts["pen"].style() == Qt.PenStyle.DashLine
    assert "partial" in chart.hover_at(float(x[0])).splitlines()[0]
    assert "partial" not in chart.hover_at(float(tx[0])).splitlines()[0]
    show(page, qtbot, ChartSpec(interval="day", **MARCH))
    assert page.charts["trend"].partial_period == "2024-03-31"  # (the 31st: after as-of, not yet over)


def test_a_slow_chart_shows_busy_and_can_be_cancelled(page, qtbot, monkeypatch):
    import time

    from seglab.core.errors import Cancelled

    def slow(path, spec, progress):
        deadline = time.monotonic() + 10
        while not progress.is_cancelled() and time.monotonic() < deadline:
            time.sleep(0.005)
        raise Cancelled("cancelled")

    monkeypatch.setattr(core_charts, "run_chart_file", slow)
    page.model.set_spec(ChartSpec(interval="day", **MARCH))
    qtbot.waitUntil(lambda: page.busy_bar.isVisibleTo(page), timeout=5_000)
    assert page.cancel_button.isVisibleTo(page)
    with qtbot.waitSignal(page.worker.finished, timeout=5_000):
        page.cancel_button.click()
    assert not page.busy_bar.isVisibleTo(page) and not page.cancel_button.isVisibleTo(page)
    assert page.message_label.text().startswith("Cancelled")


def test_funnel_steps_are_typed_with_filters(page, qtbot):
    editor = page.editor
    page.model.update(kind="funnel")
    editor.funnel_steps.setText("signup, purchase[amount>=100]")
    editor.funnel_steps.editingFinished.emit()
    assert page.model.spec.option("steps") == [
        "signup",
        {"event": "purchase", "where": [{"property": "amount", "op": "gte", "value": "100"}]},
    ]
    editor.funnel_steps.setText("signup, purchase[amount]")
    editor.funnel_steps.editingFinished.emit()
    assert "cannot read the filter" in editor.funnel_steps.toolTip()
    assert page.model.spec.option("steps")[1]["event"] == "purchase"  # the bad text changed nothing
    qtbot.waitUntil(lambda: not page.worker.is_busy() and not page.run_timer.isActive(), timeout=10_000)


def test_opening_another_project_starts_a_fresh_chart(page, session, qtbot, tmp_path):
    show(page, qtbot, RETENTION)
    assert page.save_current_as("Kept in the first project")
    other = build_project(
        tmp_path / "other.seglab",
        events=[{"user_id": "z", "event": "open", "timestamp": "2024-05-01T10:00:00Z"}],
    )
    with qtbot.waitSignal(page.result_shown, timeout=10_000) as blocker:
        session.open(other)
    assert page.model.spec == ChartSpec() and page.saved_list.count() == 0
    assert page.model.catalog.events == ("open",) and page.model.catalog.segments == ()
    assert blocker.args[0]["value"].sum() == 1
    session.close()
    assert page.current_chart() is None and not page.png_button.isEnabled()


def test_distinguish_bar_click_lists_the_units_behind_it(page3, session, qtbot):
    spec = ChartSpec(kind="distinguishes", segments=("Buyers",), **MARCH)
    frame = show(page3, qtbot, spec)
    chart = page3.charts["distinguishes"]
    row = next(i for i, r in enumerate(frame.itertuples()) if r.kind == "property" and r.value == "pro")
    _level, keys, title = drill(qtbot, page3, chart.plot, *chart.bar_center("Buyers", row))
    assert keys == keys_of(session, ["u1", "u2", "u3"]) and title == "Buyers: users whose plan is pro"


def test_exports_never_replace_the_project_or_a_device(page, session, qtbot, tmp_path, message_log):
    from seglab.core.errors import OutputError

    show(page, qtbot, FUNNEL)
    # os.stat only: a plain read of the open project would drop this process's SQLite locks
    st = os.stat(session.path)
    for target in (session.path, Path("/dev/null"), tmp_path):
        with pytest.raises(OutputError):
            page.export_csv(target)
        with pytest.raises(OutputError):
            page.export_png(target)
    after = os.stat(session.path)
    assert (after.st_ino, after.st_size, after.st_mtime_ns) == (st.st_ino, st.st_size, st.st_mtime_ns)
    assert save_segment(session.project.conn, "still writable", PRO_DEF).name == "still writable"


# -- breakdown, previous period, typed filters -------------------------------------------------------


def test_breakdown_picked_in_the_editor_draws_a_series_per_value_and_drills_to_its_people(
    page, session, qtbot
):
    spec = ChartSpec(interval="week", **MARCH).with_options(event="view", measure="users")
    show(page, qtbot, spec)
    editor = page.editor
    assert "user.plan" in [editor.by_combo.itemText(i) for i in range(editor.by_combo.count())]
    with qtbot.waitSignal(page.result_shown, timeout=10_000):
        editor.by_combo.setEditText("user.plan")
        editor.by_combo.lineEdit().editingFinished.emit()
    assert page.model.spec.option("by") == "user.plan"
    chart = page.charts["trend"]
    assert set(chart.curves) == {"pro", "free"}
    assert chart.curves["pro"].opts["pen"].color() != chart.curves["free"].opts["pen"].color()
    assert [label.text for _s, label in chart.legend.items] == ["free", "pro"]  # most users first
    x = float(np.datetime64("2024-03-25").astype("datetime64[s]").astype(float))
    with qtbot.waitSignal(page.drill_requested, timeout=10_000) as blocker:
        chart.click_point("free", x)
    level, keys, _title = blocker.args
    assert level == "user" and keys == keys_of(session, ["u4", "u5", "u6"])


def test_previous_period_is_dashed_with_the_change_in_tooltip_and_table(page, qtbot):
    spec = ChartSpec(interval="week", last_days=None, date_from="2024-03-18", date_to="2024-03-31")
    show(page, qtbot, spec.with_options(event="view", measure="count", compare="previous"))
    chart = page.charts["trend"]
    previous = chart.curves["everyone (previous period)"]
    assert previous.opts["pen"].style() == Qt.PenStyle.DashLine
    assert chart.curves["everyone"].opts["pen"].style() == Qt.PenStyle.SolidLine
    x = float(np.datetime64("2024-03-25").astype("datetime64[s]").astype(float))
    text = chart.hover_at(x)
    assert "everyone: 3 (+50% vs previous period)" in text  # 3 views vs 2 two weeks earlier
    columns = page.data_model.columns()
    assert columns[-1] == "change"
    row = next(r for r in range(page.data_model.rowCount()) if page.data_model.text(r, 1) == "2024-W13")
    assert page.data_model.text(row, columns.index("change")) == "50.0%"


def test_an_event_typed_with_a_filter_in_the_editor(page, qtbot):
    show(page, qtbot, ChartSpec(interval="week", **MARCH).with_options(event="view", measure="count"))
    combo = page.editor.trend_event
    with qtbot.waitSignal(page.run_failed, timeout=10_000):
        combo.setEditText("view[ nope = 1 ]")
        combo.lineEdit().editingFinished.emit()
    assert page.model.spec.option("event") == "view[nope=1]"
    assert "no event property named 'nope'" in page.message_label.text()


@pytest.mark.parametrize(
    "kind, options",
    [
        ("funnel", {"steps": ["signup", "view"]}),
        ("retention", {"start_event": "signup", "periods": 3}),
        ("distribution", {"event": "view"}),
        ("stickiness", {"event": "view"}),
        ("lifecycle", {"event": "view"}),
    ],
)
def test_every_kind_that_breaks_down_draws_a_series_per_value(page, qtbot, kind, options):
    spec = ChartSpec(kind=kind, interval="week", **MARCH).with_options(by="user.plan", **options)
    frame = show(page, qtbot, spec)
    assert "group" in frame.columns and set(frame["group"]) == {"pro", "free"}
    shown = page.current_chart().frame()
    assert set(shown["segment"]) == {"pro", "free"}  # one series per value, named by it
    assert page.data_model.columns()[:2] == ["segment", "group"]


def test_segment_size_by_a_property_and_against_the_rest(page, qtbot):
    spec = ChartSpec(kind="segment_size", segments=("Pro",), vs_rest=True, interval="week", **MARCH)
    frame = show(page, qtbot, spec.with_options(by="user.plan"))
    assert set(frame["segment"]) == {"Pro", "not Pro"}
    assert set(page.current_chart().curves) == {"Pro · pro", "Pro · free", "not Pro · pro", "not Pro · free"}
    assert frame[(frame.segment == "Pro") & (frame.group == "free")]["size"].eq(0).all()
