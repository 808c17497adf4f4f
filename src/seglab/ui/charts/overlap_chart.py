"""Overlap, UpSet style: bars of the size of each exact intersection, over a matrix of which segments
make it up. Readable for up to six segments, where Venn diagrams are not."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyqtgraph as pg
from PySide6.QtWidgets import QWidget

from seglab.ui.charts.chart_base import FOREGROUND, BaseChart, brush, colors_for, pen, series_info

SEPARATOR = " & "
EMPTY_DOT = "#DDDDDD"


class OverlapChart(BaseChart):
    """``bar`` holds the non-empty regions, largest first (``regions`` names them); ``matrix`` the dots."""

    kind = "overlap"

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.layout_widget = pg.GraphicsLayoutWidget()
        self.layout_widget.setBackground("w")
        self._layout.addWidget(self.layout_widget, 1)
        self.note = self._add_note(
            "Each bar is the units in exactly those segments (the coloured dots) and no other. "
            "Click a bar to list them.",
        )
        self.top = self.layout_widget.addPlot(row=0, col=0)
        self.matrix_plot = self.layout_widget.addPlot(row=1, col=0)
        self.layout_widget.ci.layout.setRowStretchFactor(0, 3)
        self.layout_widget.ci.layout.setRowStretchFactor(1, 2)
        for plot in (self.top, self.matrix_plot):
            plot.setMenuEnabled(False)
            plot.hideButtons()
            for name in ("left", "bottom"):
                plot.getAxis(name).setPen(pg.mkPen(FOREGROUND))
                plot.getAxis(name).setTextPen(pg.mkPen(FOREGROUND))
        self.top.showGrid(x=False, y=True, alpha=0.15)
        self.top.setLabel("left", "Units")
        self.top.getAxis("bottom").setTicks([[]])
        self.matrix_plot.setXLink(self.top)
        self.matrix_plot.hideAxis("bottom")
        self.top.getAxis("left").setStyle(maxTickLevel=1)
        self.top.getAxis("left").enableAutoSIPrefix(False)
        self.matrix_plot.getAxis("left").setWidth(self.top.getAxis("left").width())
        self.bar = pg.BarGraphItem(x=[], height=[], width=0.7, brush=brush("#4D4D4D"))
        self.top.addItem(self.bar)
        self.dots = pg.ScatterPlotItem()
        self.links = pg.PlotDataItem()
        self.matrix_plot.addItem(self.links)
        self.matrix_plot.addItem(self.dots)
        self.texts: list[pg.TextItem] = []
        self.regions: list[str] = []
        self.units: np.ndarray = np.zeros(0)
        self._emit_slices_on_click(self.top)

    def set_frame(self, frame: pd.DataFrame, **_options) -> None:
        self._frame = frame
        colors = colors_for(frame)
        labels = [s[0] for s in series_info(frame)]
        rows = frame[frame["units"] > 0].sort_values(["units", "region"], ascending=[False, True])
        self.regions = [str(r) for r in rows["region"]]
        self.units = rows["units"].to_numpy(dtype=float)
        x = np.arange(len(self.regions), dtype=float)
        self.bar.setOpts(x=x, height=self.units, width=0.7)
        for t in self.texts:
            self.top.removeItem(t)
        self.texts = []
        for k, (n, share) in enumerate(zip(self.units, rows["share"])):
            text = pg.TextItem(f"{int(n):,}\n{100 * float(share):.0f}%", color="#333333", anchor=(0.5, 1))
            text.setPos(float(k), float(n))
            self.top.addItem(text)
            self.texts.append(text)
        # The matrix: row i (from the top) is labels[i]; a dark dot where the segment is in the region.
        n = len(labels)
        spots, link_x, link_y = [], [], []
        for k, region in enumerate(self.regions):
            members = set(region.split(SEPARATOR))
            ys = []
            for i, label in enumerate(labels):
                y = float(n - 1 - i)
                inside = label in members
                color = colors[label] if inside else EMPTY_DOT
                spot = {"pos": (float(k), y), "size": 14 if inside else 10, "brush": brush(color)}
                spots.append({**spot, "pen": pen("#FFFFFF", 0.5)})
                if inside:
                    ys.append(y)
            if len(ys) > 1:
                link_x += [float(k), float(k), np.nan]
                link_y += [min(ys), max(ys), np.nan]
        self.dots.setData(spots)
        self.links.setData(link_x, link_y, pen=pen("#555555", 2), connect="finite")
        self.matrix_plot.getAxis("left").setTicks([[(n - 1 - i, label) for i, label in enumerate(labels)]])
        self.matrix_plot.setYRange(-0.6, n - 0.4, padding=0)
        if self.regions:
            self.top.setXRange(-0.6, len(self.regions) - 0.4, padding=0)
            self.top.setYRange(0, float(self.units.max()) * 1.25, padding=0)
        width = max(self.top.getAxis("left").width(), 12 + 7 * max((len(lbl) for lbl in labels), default=4))
        self.top.getAxis("left").setWidth(width)
        self.matrix_plot.getAxis("left").setWidth(width)
        self._show_empty("" if len(frame) else "These segments have no members.")

    def bar_center(self, region: str) -> tuple[float, float]:
        k = self.regions.index(region)
        return float(k), float(self.units[k] / 2)

    def slice_at(self, x: float, y: float) -> dict | None:
        k = round(x)
        if 0 <= k < len(self.regions) and abs(x - k) <= 0.35 and 0 <= y <= self.units[k]:
            return {"region": self.regions[k]}
        return None
