"""Qt-free core of SegLab: storage, importing, segments, analyses, project, report.

Nothing under this package may import PySide6, shiboken6, pyqtgraph or seglab.ui
(enforced by an import-linter contract and tests/core/test_qt_free.py).
"""
