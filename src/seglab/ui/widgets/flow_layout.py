"""A layout that puts widgets in a row and wraps them onto the next line when the row is full.

The segment builder's rows use it so that every control of a condition stays visible at a
1200-px window: a long row wraps to a second line instead of needing a sideways scroll.
API of a QHBoxLayout where the builder needs it (``addWidget``, ``insertWidget``, ``addStretch``
is accepted and ignored: a flow has no stretch).
"""

from __future__ import annotations

from PySide6.QtCore import QMargins, QPoint, QRect, QSize, Qt
from PySide6.QtWidgets import QLayout, QLayoutItem, QSizePolicy, QWidget, QWidgetItem


class FlowLayout(QLayout):
    def __init__(self, parent: QWidget | None = None, spacing: int = 6):
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self._spacing = spacing
        self.setContentsMargins(QMargins(0, 0, 0, 0))

    # -- QHBoxLayout-like API ----------------------------------------------------------------
    def addWidget(self, widget: QWidget, stretch: int = 0, alignment=None) -> None:
        super().addWidget(widget)

    def insertWidget(self, index: int, widget: QWidget, stretch: int = 0) -> None:
        self.addChildWidget(widget)
        index = max(0, min(index, len(self._items))) if index >= 0 else len(self._items)
        self._items.insert(index, QWidgetItem(widget))
        self.invalidate()

    def addStretch(self, stretch: int = 0) -> None:
        pass

    def setSpacing(self, spacing: int) -> None:
        self._spacing = spacing
        self.invalidate()

    def spacing(self) -> int:
        return self._spacing

    # -- QLayout ------------------------------------------------------------------------------
    def addItem(self, item: QLayoutItem) -> None:
        self._items.append(item)

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self) -> Qt.Orientation:
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return self._arrange(QRect(0, 0, width, 0), apply=False)

    def setGeometry(self, rect: QRect) -> None:
        super().setGeometry(rect)
        self._arrange(rect, apply=True)

    def sizeHint(self) -> QSize:
        # One line: the width everything would take side by side.
        width = height = 0
        for item in self._visible():
            hint = item.sizeHint()
            width += hint.width() + (self._spacing if width else 0)
            height = max(height, hint.height())
        m = self.contentsMargins()
        return QSize(width + m.left() + m.right(), height + m.top() + m.bottom())

    def minimumSize(self) -> QSize:
        # As narrow as the widest single control: the rest wraps.
        size = QSize()
        for item in self._visible():
            size = size.expandedTo(item.minimumSize())
        m = self.contentsMargins()
        return size + QSize(m.left() + m.right(), m.top() + m.bottom())

    def _visible(self) -> list[QLayoutItem]:
        return [i for i in self._items if not (i.widget() is not None and i.widget().isHidden())]

    def _arrange(self, rect: QRect, apply: bool) -> int:
        m = self.contentsMargins()
        area = rect.adjusted(m.left(), m.top(), -m.right(), -m.bottom())
        x, y, line_height = area.x(), area.y(), 0
        line: list[tuple[QLayoutItem, QSize]] = []

        def place(items, top, height):
            if apply:
                left = area.x()
                for item, hint in items:
                    # Centred vertically on the line, like a QHBoxLayout row.
                    item.setGeometry(QRect(QPoint(left, top + (height - hint.height()) // 2), hint))
                    left += hint.width() + self._spacing

        for item in self._visible():
            hint = item.sizeHint().boundedTo(QSize(max(area.width(), 1), 10**6))
            policy = item.widget().sizePolicy() if item.widget() is not None else None
            if policy is not None and policy.horizontalPolicy() == QSizePolicy.Policy.Ignored:
                hint = QSize(min(area.width(), max(hint.width(), 120)), hint.height())
            if item.hasHeightForWidth():  # a nested flow that wraps is taller at this width
                hint = QSize(hint.width(), max(hint.height(), item.heightForWidth(hint.width())))
            if line and x + hint.width() > area.right() + 1:
                place(line, y, line_height)
                y += line_height + self._spacing
                x, line, line_height = area.x(), [], 0
            line.append((item, hint))
            x += hint.width() + self._spacing
            line_height = max(line_height, hint.height())
        if line:
            place(line, y, line_height)
            y += line_height
        return y - rect.y() + m.bottom()
