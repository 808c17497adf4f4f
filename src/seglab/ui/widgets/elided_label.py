"""A label that never cuts its text: what does not fit ends in "…" and the whole text is the tooltip.

``ElidedLabel(text, max_lines=1)``: one line (or up to ``max_lines`` wrapped lines, always taking
that height, so text growing from one line to two never moves the controls below). It can be
as narrow as its parent wants: the text is elided, not the layout widened.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QRect, QSize, Qt
from PySide6.QtGui import QFontMetrics, QPainter, QTextLayout
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget


class ElidedLabel(QLabel):
    def __init__(self, text: str = "", parent: QWidget | None = None, *, max_lines: int = 1):
        super().__init__(parent)
        self._full = ""
        self._lines: list[str] = []
        self.max_lines = max_lines
        self._own_tip = False
        # Preferred: it gets its whole text when there is room, and shrinks (elided) when not.
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.setText(text)

    def setText(self, text: str) -> None:  # the full text; what is painted may be elided
        self._full = text or ""
        super().setText(self._full)
        self._relayout()
        self.updateGeometry()

    def text(self) -> str:
        return self._full

    def shown_text(self) -> str:
        """What is painted (with "…" where it was cut)."""
        return "\n".join(self._lines)

    def is_elided(self) -> bool:
        return self.shown_text().replace("\n", " ") != " ".join(self._full.split())

    def sizeHint(self) -> QSize:
        fm = QFontMetrics(self.font())
        return QSize(fm.horizontalAdvance(self._full) + 4, fm.lineSpacing() * self.max_lines + 2)

    def minimumSizeHint(self) -> QSize:
        fm = QFontMetrics(self.font())
        return QSize(10, fm.lineSpacing() * self.max_lines + 2)

    def changeEvent(self, event) -> None:
        # A style sheet sets the font after construction: measure again with it.
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange, QEvent.Type.PolishRequest):
            self.updateGeometry()
            self._relayout()
        super().changeEvent(event)

    def event(self, event) -> bool:
        if event.type() == QEvent.Type.Polish:
            self.updateGeometry()
        return super().event(event)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._relayout()

    def _relayout(self) -> None:
        fm = QFontMetrics(self.font())
        width = max(10, self.width() - 2)
        text = " ".join(self._full.split())
        lines: list[str] = []
        if self.max_lines > 1:
            layout = QTextLayout(text, self.font())
            layout.beginLayout()
            while len(lines) < self.max_lines - 1:
                line = layout.createLine()
                if not line.isValid():
                    break
                line.setLineWidth(width)
                lines.append(text[line.textStart() : line.textStart() + line.textLength()].rstrip())
            layout.endLayout()
            used = sum(len(s) for s in lines)
            consumed = 0
            for s in lines:  # find where the last laid-out line ended in the text
                consumed = text.find(s, consumed) + len(s)
            rest = text[consumed:].lstrip() if lines else text
            if used == 0:
                rest = text
        else:
            rest = text
        if rest:
            lines.append(fm.elidedText(rest, Qt.TextElideMode.ElideRight, width))
        self._lines = lines
        elided = self.is_elided()
        if elided or self._own_tip:
            super().setToolTip(self._full if elided else "")
            self._own_tip = elided
        self.update()

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.setPen(self.palette().color(self.foregroundRole()))
        fm = QFontMetrics(self.font())
        for i, line in enumerate(self._lines):
            rect = QRect(1, 1 + i * fm.lineSpacing(), self.width() - 2, fm.lineSpacing())
            painter.drawText(rect, int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), line)
