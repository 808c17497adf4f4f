"""Qt-free fixtures shared by every test."""

from __future__ import annotations

import pytest

from seglab.core.project import Project


@pytest.fixture
def project(tmp_path):
    """A fresh, empty, writable project in a temporary folder."""
    proj = Project.create(tmp_path / "test.seglab")
    yield proj
    proj.close()
