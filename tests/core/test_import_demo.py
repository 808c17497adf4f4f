"""The demo project: built through the importer, cached, copied; the generator is deterministic."""

from __future__ import annotations

import hashlib

import pytest

from seglab.core import demo
from seglab.core.errors import ProjectError
from seglab.core.project import Project


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv(demo.CACHE_ENV, str(folder))
    return folder


def test_build_demo_then_copy_from_cache(tmp_path, cache, monkeypatch):
    first = demo.build_demo(tmp_path / "a.seglab")
    assert list(cache.glob("demo-*.seglab"))

    def no_rebuild(*args, **kwargs):
        raise AssertionError("the second demo should be copied from the cache, not rebuilt")

    monkeypatch.setattr(demo, "_build", no_rebuild)
    second = demo.build_demo(tmp_path / "b.seglab")
    for path in (first, second):
        with Project.open(path, readonly=True) as project:
            info = project.info()
            assert info["events"] > 150_000 and info["users"] == 3000 and info["accounts"] == 300
            assert info["first_event"].startswith("2024-01-01")
            assert info["last_event"].startswith("2024-06-30")
            names = {n for (n,) in project.conn.execute("SELECT name FROM segments")}
            assert "Power users" in names and len(names) >= 5
            props = {(p.entity, p.name): p.type for p in project.properties()}
            assert props[("account", "tier")] == "text"
            assert props[("account", "seats")] == "integer"
            assert props[("account", "mrr")] == "real"
            assert props[("user", "signup_date")] == "datetime"
            assert props[("event", "amount")] == "real"
            funnel = dict(
                project.conn.execute(
                    "SELECT n.name, count(DISTINCT e.user_key) FROM events e JOIN event_names n "
                    "USING (event_key) WHERE n.name IN ('signup', 'create_report', 'purchase') GROUP BY 1"
                )
            )
            assert funnel["signup"] > funnel["purchase"] > 0
            linked = project.conn.execute("SELECT count(*) FROM users WHERE account_key IS NOT NULL")
            assert 2500 < linked.fetchone()[0] < 3000
            assert project.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_build_demo_refuses_an_existing_file(tmp_path):
    target = tmp_path / "exists.seglab"
    target.write_bytes(b"keep me")
    with pytest.raises(ProjectError, match="already exists"):
        demo.build_demo(target)
    assert target.read_bytes() == b"keep me"


@pytest.mark.slow
def test_generator_is_deterministic(tmp_path):
    import importlib.util

    from seglab.core.resources import resource_path

    spec = importlib.util.spec_from_file_location("make_demo", resource_path("demo/make_demo.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(tmp_path)
    for name in demo.DATA_FILES:
        fresh = hashlib.sha256((tmp_path / name).read_bytes()).hexdigest()
        shipped = hashlib.sha256(resource_path(f"demo/{name}").read_bytes()).hexdigest()
        assert fresh == shipped, f"{name} differs from what make_demo.py writes"


def test_demo_example_charts_open_and_run(tmp_path):
    """Every example chart of the demo names existing segments and runs to a non-empty table."""
    from seglab.core.charts import list_charts, load_chart, missing_segments, run_chart

    path = demo.build_demo(tmp_path / "c.seglab")
    with Project.open(path, readonly=True) as project:
        charts = list_charts(project.conn)
        assert {c.kind for c in charts} >= {"trend", "funnel", "retention"}
        for saved in charts:
            spec = load_chart(project.conn, saved.name)
            assert missing_segments(project.conn, spec) == []
            assert len(run_chart(project.conn, spec)) > 0, saved.name
