"""Lifecycle: stacked bars per interval (new, returning, resurrecting above zero; dormant below), one
small chart per series so each series' stack stays readable."""

from __future__ import annotations

import html

import numpy as np
import pandas as pd
import pyqtgraph as pg
from PySide6.QtWidgets import QLabel, QWidget

from seglab.core.charts import period_label
from seglab.ui.charts.chart_base import FOREGROUND, BaseChart, brush, colors_for, pen, series_info

# Status colours: the palette's green/blue/orange/vermillion; dormant (a loss) is the warm one.
STATUS_COLORS = {
    "new": "#009E73",
    "returning": "#0072B2",
    "resurrecting": "#E69F00",
    "dormant": "#D55E00",
}
POSITIVE = ("new", "returning", "resurrecting")


class LifecycleChart(BaseChart):
    """``stacks[label][status]`` is a BarGraphItem (``y0`` = where the segment starts, ``height``)."""

    kind = "lifecycle"

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.legend_label = QLabel(
            "&nbsp;&nbsp;&nbsp;".join(
                f"<span style='color:{c}; font-size:14pt'>■</span> {s}" for s, c in STATUS_COLORS.items()
            ),
            self,
        )
        self._layout.addWidget(self.legend_label)
        self.layout_widget = pg.GraphicsLayoutWidget()
        self.layout_widget.setBackground("w")
        self._layout.addWidget(self.layout_widget, 1)
        self.note = self._add_note(
            "Per interval: new (first event ever), returning (active now and in the interval before), "
            "resurrecting (active now after a gap) above zero; dormant (active before, not now) below. "
            "Click a bar to list those units.",
        )
        self.plots: dict[str, pg.PlotItem] = {}
        self.stacks: dict[str, dict[str, pg.BarGraphItem]] = {}
        self._periods: list[str] = []
        self.layout_widget.scene().sigMouseClicked.connect(self._scene_clicked)

    def set_frame(self, frame: pd.DataFrame, *, interval: str = "week", **_options) -> None:
        self._frame = frame
        colors = colors_for(frame)
        labels = [s[0] for s in series_info(frame)]
        if list(self.plots) != labels:
            self.layout_widget.clear()
            self.plots, self.stacks = {}, {}
            for row, label in enumerate(labels):
                plot = self.layout_widget.addPlot(row=row, col=0)
                plot.setMenuEnabled(False)
                plot.hideButtons()
                plot.showGrid(x=False, y=True, alpha=0.15)
                for name in ("left", "bottom"):
                    plot.getAxis(name).setPen(pg.mkPen(FOREGROUND))
                    plot.getAxis(name).setTextPen(pg.mkPen(FOREGROUND))
                    plot.getAxis(name).enableAutoSIPrefix(False)
                plot.getAxis("left").setStyle(maxTickLevel=1)
                self.stacks[label] = {}
                for status, color in STATUS_COLORS.items():
                    bar = pg.BarGraphItem(x=[], height=[], width=0.7, brush=brush(color), pen=pen(color, 1))
                    plot.addItem(bar)
                    self.stacks[label][status] = bar
                self.plots[label] = plot
        periods = list(dict.fromkeys(frame["period_start"].astype(str))) if len(frame) else []
        self._periods = periods
        x = np.arange(len(periods), dtype=float)
        step = max(1, -(-len(periods) // 9))  # at most 9 labels: they never overlap
        ticks = [(i, period_label(p, interval)) for i, p in enumerate(periods) if i % step == 0]
        for label in labels:
            rows = frame[frame["segment"] == label]
            table = rows.pivot_table(index="period_start", columns="status", values="units", aggfunc="sum")
            table = table.reindex(index=periods, columns=list(STATUS_COLORS), fill_value=0).fillna(0)
            base = np.zeros(len(periods))
            for status in POSITIVE:
                h = table[status].to_numpy(dtype=float)
                self.stacks[label][status].setOpts(x=x, y0=base.copy(), height=h, width=0.7)
                base = base + h
            dormant = table["dormant"].to_numpy(dtype=float)
            self.stacks[label]["dormant"].setOpts(x=x, y0=-dormant, height=dormant, width=0.7)
            plot = self.plots[label]
            plot.setTitle(f"<span style='color:{colors[label]}; font-weight:600'>{html.escape(label)}</span>")
            plot.getAxis("bottom").setTicks([ticks])
            plot.setLabel("left", "Units")
            if periods:
                plot.setXRange(-0.6, len(periods) - 0.4, padding=0)
                plot.setYRange(
                    -max(1.0, float(dormant.max())) * 1.1, max(1.0, float(base.max())) * 1.1, padding=0
                )
        self._show_empty("" if len(frame) else "No activity in this range.")

    def export_widget(self) -> QWidget:
        return self

    # -- drill-down ---------------------------------------------------------------------
    def bar_center(self, label: str, status: str, index: int) -> tuple[float, float]:
        bar = self.stacks[label][status]
        y0 = float(bar.opts["y0"][index])
        return float(bar.opts["x"][index]), y0 + float(bar.opts["height"][index]) / 2

    def slice_at(self, label: str, x: float, y: float) -> dict | None:
        k = round(x)
        if not 0 <= k < len(self._periods) or abs(x - k) > 0.35:
            return None
        for status, bar in self.stacks[label].items():
            y0 = float(bar.opts["y0"][k])
            h = float(bar.opts["height"][k])
            if h > 0 and y0 <= y <= y0 + h:
                return {"segment": label, "period_start": self._periods[k], "status": status}
        return None

    def _scene_clicked(self, event) -> None:
        pos = event.scenePos()
        for label, plot in self.plots.items():
            if plot.vb.sceneBoundingRect().contains(pos):
                p = plot.vb.mapSceneToView(pos)
                where = self.slice_at(label, p.x(), p.y())
                if where is not None:
                    event.accept()
                    self.slice_clicked.emit(where)
                return
