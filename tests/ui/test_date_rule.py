"""The app's date pickers follow the command line's one rule for dates (docs/cli.md, "Times")."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QDate

from seglab.ui.charts.editor import ChartEditorWidget
from seglab.ui.charts.models import ChartEditorModel

pytestmark = pytest.mark.gui


def test_the_chart_range_pickers_stay_within_1900_and_2999(qtbot):
    widget = ChartEditorWidget(ChartEditorModel())
    qtbot.addWidget(widget)
    for edit in (widget.from_edit, widget.to_edit):
        edit.setDate(QDate(9999, 12, 31))
        assert edit.date() == QDate(2999, 12, 31)
        edit.setDate(QDate(1, 1, 1))
        assert edit.date() == QDate(1900, 1, 1)
