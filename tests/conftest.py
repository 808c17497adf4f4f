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


def _hypothesis_profiles() -> None:
    # CI must not fail on an example nobody has seen before: there, hypothesis replays the
    # same pseudo-random examples every run (derandomize), with a budget thorough enough to
    # matter. Locally ("dev") it explores a few random examples quickly (and keeps its
    # database). Tests that set no max_examples of their own take it from the profile, chosen
    # by HYPOTHESIS_PROFILE (ci, dev, thorough), else "ci" when the CI variable is set, else "dev".
    import os

    from hypothesis import settings

    settings.register_profile(
        "ci", derandomize=True, database=None, print_blob=True, max_examples=50, deadline=None
    )
    settings.register_profile("dev", max_examples=15, deadline=None)
    settings.register_profile("thorough", max_examples=400, deadline=None)  # a longer hunt, by hand
    name = os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
    settings.load_profile(name)


_hypothesis_profiles()
