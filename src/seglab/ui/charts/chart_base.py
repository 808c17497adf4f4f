"""What every chart widget shares: a white pyqtgraph plot, series colours, the clicked-slice signal.

A chart is handed a DataFrame (the analysis's contract columns, with
``frame.attrs["series"]`` from :func:`seglab.core.charts.run_chart`) through
:meth:`BaseChart.set_frame` and updates its existing pyqtgraph items in place. It never
queries the project. A click on a point, bar or cell emits ``slice_clicked(dict)``
with the slice's coordinates (see :class:`seglab.core.charts.SliceRequest`); the page
turns that into the members list.

pyqtgraph is imported by this package only, which the main window loads lazily (the
Charts page is built the first time it is shown), so it is not on the start-up path.
"""

from __future__ import annotations

import pandas as pd
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from seglab.ui.palette import qcolor, series_colors

FOREGROUND = "#333333"
GRID_ALPHA = 0.15


def series_info(frame: pd.DataFrame) -> list[tuple[str, str, str, int | None]]:
    """``[(label, level, role, segment_id)]`` in chart order (attrs first, else the frame's order)."""
    info = frame.attrs.get("series") if frame is not None else None
    if info:
        return [tuple(s) for s in info]  # type: ignore[misc]
    labels = list(dict.fromkeys(frame["segment"])) if frame is not None and "segment" in frame else []
    return [(label, "user", "everyone" if label == "everyone" else "segment", None) for label in labels]


PREVIOUS_SUFFIX = " (previous period)"
GROUP_JOIN = " · "


def colors_for(frame: pd.DataFrame) -> dict[str, str]:
    """Each series' colour; a previous-period series takes its current series' colour (drawn dashed)."""
    info = [s for s in series_info(frame) if not str(s[0]).endswith(PREVIOUS_SUFFIX)]
    colors = series_colors([(label, sid, role) for label, _lvl, role, sid in info])
    out = {label: color for (label, *_rest), color in zip(info, colors)}
    for label, *_rest in series_info(frame):
        if label.endswith(PREVIOUS_SUFFIX):
            out[label] = out.get(label[: -len(PREVIOUS_SUFFIX)], "#888888")
    return out


def display_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame as the chart widgets draw it: with a breakdown, each segment × value is one series
    (``segment`` becomes "Pro · enterprise", or just the value when there is one segment), with its
    own colour and legend entry; ``attrs["display_of"]`` maps it back to ``(segment, group)`` for
    drill-down. A previous-period series follows its current one in ``attrs["series"]``."""
    if frame is None or "segment" not in frame.columns:
        return frame
    info = {s[0]: s for s in series_info(frame)}
    if "group" not in frame.columns:
        labels = list(dict.fromkeys(frame["segment"]))
        extra = [
            (
                label,
                info.get(label[: -len(PREVIOUS_SUFFIX)], (label, "user", "segment", None))[1],
                "previous",
                None,
            )
            for label in labels
            if label.endswith(PREVIOUS_SUFFIX) and label not in info
        ]
        out = frame.copy()
        out.attrs = dict(frame.attrs)
        out.attrs["series"] = [*info.values(), *extra] if extra else list(info.values())
        out.attrs["display_of"] = {label: (label, None) for label in labels}
        return out
    segments = list(dict.fromkeys(s for s in frame["segment"] if not str(s).endswith(PREVIOUS_SUFFIX)))
    alone = len(segments) == 1
    names, display_of, series = [], {}, []
    for segment, group in zip(frame["segment"], frame["group"]):
        previous = str(segment).endswith(PREVIOUS_SUFFIX)
        base = str(segment)[: -len(PREVIOUS_SUFFIX)] if previous else str(segment)
        name = str(group) if alone else f"{base}{GROUP_JOIN}{group}"
        if previous:
            name += PREVIOUS_SUFFIX
        names.append(name)
        if name not in display_of:
            display_of[name] = (segment, group)
            level = info.get(base, (base, "user"))[1]
            # Colours by value: one value keeps one colour across the segments of a chart.
            series.append((name, level, "previous" if previous else "segment", None))
    out = frame.copy()
    out["segment"] = names
    out = out.drop(columns=["group"])
    out.attrs = dict(frame.attrs)
    out.attrs["series"] = series
    out.attrs["display_of"] = display_of
    if frame.attrs.get("stats"):  # distribution markers, per series × value
        out.attrs["stats"] = [
            {**row, "segment": str(row["group"]) if alone else f"{row['segment']}{GROUP_JOIN}{row['group']}"}
            for row in frame.attrs["stats"]
        ]
    return out


def make_plot_widget(**axis_items) -> pg.PlotWidget:
    plot = pg.PlotWidget(axisItems=axis_items or None)
    plot.setBackground("w")
    item = plot.getPlotItem()
    item.showGrid(x=False, y=True, alpha=GRID_ALPHA)
    for name in ("left", "bottom"):
        axis = item.getAxis(name)
        axis.setPen(pg.mkPen(FOREGROUND))
        axis.setTextPen(pg.mkPen(FOREGROUND))
        axis.enableAutoSIPrefix(False)  # "0.3", never "300 (x0.001)"
    item.getAxis("left").setStyle(maxTickLevel=1)  # grid lines at labelled ticks only
    item.setMenuEnabled(False)
    item.hideButtons()
    return plot


def pen(color: str, width: float = 2.0, alpha: int = 255, dashed: bool = False):
    from PySide6.QtCore import Qt

    p = pg.mkPen(qcolor(color, alpha), width=width)
    if dashed:
        p.setStyle(Qt.PenStyle.DashLine)
    return p


def brush(color: str, alpha: int = 255):
    return pg.mkBrush(qcolor(color, alpha))


class BaseChart(QWidget):
    """Base of the chart widgets; subclasses implement :meth:`set_frame`."""

    slice_clicked = Signal(object)  # dict: the slice's coordinates

    kind = ""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._frame: pd.DataFrame | None = None
        self._interval = "week"
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self.empty_label = QLabel("", self)
        self.empty_label.setWordWrap(True)
        self.empty_label.hide()
        self._layout.addWidget(self.empty_label)

    def frame(self) -> pd.DataFrame | None:
        return self._frame

    def set_frame(self, frame: pd.DataFrame, **options) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def export_widget(self) -> QWidget:
        """The widget whose picture is the chart (for Export PNG and Copy)."""
        return self

    def _add_note(self, text: str = "") -> QLabel:
        """The grey explanatory line under a chart (wrapped), added to the layout."""
        note = QLabel(text, self)
        note.setWordWrap(True)
        note.setStyleSheet("color: #555;")
        self._layout.addWidget(note)
        return note

    def _add_legend_plot_note(self, **plot_options) -> None:
        """Legend label, then the plot (stretching), then the note: the bar charts' layout."""
        self.legend_label = QLabel("", self)
        self._layout.addWidget(self.legend_label)
        self.plot = make_plot_widget(**plot_options)
        self._layout.addWidget(self.plot, 1)
        self.note = self._add_note()
        self.item = self.plot.getPlotItem()

    def slice_at(self, x: float, y: float) -> dict | None:
        """The slice under view coordinates ``(x, y)`` (charts that drill down override this)."""
        return None

    def _emit_slices_on_click(self, plot_item) -> None:
        """Clicks inside ``plot_item``'s view box emit :attr:`slice_clicked` with :meth:`slice_at`."""
        self._click_item = plot_item
        plot_item.scene().sigMouseClicked.connect(self._scene_clicked)

    def _scene_clicked(self, event) -> None:
        view = self._click_item.vb
        pos = event.scenePos()
        if not view.sceneBoundingRect().contains(pos):
            return
        p = view.mapSceneToView(pos)
        where = self.slice_at(p.x(), p.y())
        if where is not None:
            event.accept()
            self.slice_clicked.emit(where)

    def _show_empty(self, text: str) -> None:
        self.empty_label.setText(text)
        self.empty_label.setVisible(bool(text))
