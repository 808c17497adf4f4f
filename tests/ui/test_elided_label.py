"""Texts that do not fit are elided with "…" and the whole text as tooltip, never cut."""

from __future__ import annotations

import pytest

from seglab.ui.widgets.elided_label import ElidedLabel

pytestmark = pytest.mark.gui

TEXT = "2024-01-01 → 2024-06-30"


def test_one_line_elides_with_a_tooltip_and_gives_it_back_when_wide(qtbot):
    label = ElidedLabel(TEXT)
    qtbot.addWidget(label)
    label.resize(60, 20)
    label.show()
    assert label.is_elided() and label.shown_text().endswith("…")
    assert label.toolTip() == TEXT and label.text() == TEXT
    label.resize(600, 20)
    assert not label.is_elided() and label.shown_text() == TEXT and label.toolTip() == ""
    assert label.minimumSizeHint().width() < 20  # never widens its parent


def test_two_lines_keep_their_height(qtbot):
    label = ElidedLabel("Users who did login", max_lines=2)
    qtbot.addWidget(label)
    label.resize(200, 40)
    label.show()
    height = label.sizeHint().height()
    label.setText("Users who " + "did something rather long " * 20)
    assert label.sizeHint().height() == height
    assert len(label.shown_text().splitlines()) == 2 and label.shown_text().endswith("…")
    assert label.toolTip().startswith("Users who did something")
