"""Cancelling work on a connected project (chdb): ``engine.cancel()`` from another thread, or the
progress object the app passes being cancelled, kills the running query in the source within a
second or two; the work raises Cancelled, and the engine answers the next query."""

from __future__ import annotations

import threading
import time

import pytest

pytest.importorskip("chdb")

from sqlglot import exp

from seglab.core.analyses import TrendRequest
from seglab.core.engines.analyses import run_analysis
from seglab.core.engines.base import open_engine
from seglab.core.engines.clickhouse import SourceSeries, lit, sel
from seglab.core.engines.connect import connect_project
from seglab.core.errors import Cancelled
from seglab.core.progress import CancelToken
from seglab.core.project import Project

# Billions of generated events (a view over numbers()): any analysis runs for minutes.
HUGE = (
    "CREATE VIEW events AS SELECT toString(number % 1000003) AS user_id, "
    "if(number % 3 = 0, 'login', 'purchase') AS event, "
    "toDateTime64('2024-01-01 00:00:00', 3, 'UTC') + toIntervalMillisecond(number % 7776000000) AS timestamp "
    "FROM numbers(5000000000)"
)


@pytest.fixture(scope="module")
def huge(tmp_path_factory):
    from chdb import session

    tmp = tmp_path_factory.mktemp("huge")
    s = session.Session(str(tmp / "ch"))
    try:
        s.query(HUGE)
    finally:
        s.close()
    project = tmp / "huge.seglab"
    connect_project(project, f"chdb://{tmp / 'ch'}", {"events": "events"}, [])
    return project


def trend_request():
    return TrendRequest(
        event="login", measure="users", interval="week", series=(SourceSeries("everyone"),),
        as_of_ms=1711929600000,  # 2024-04-01: the bounds of the events are never asked for
    )  # fmt: skip


def cancelled_after(delay: float, start, cancel) -> float:
    """Run ``start()`` in a thread, call ``cancel()`` after ``delay`` s; seconds from the cancel
    to Cancelled being raised (fails if it finishes or raises something else)."""
    outcome: dict = {}

    def work():
        try:
            start()
            outcome["result"] = "finished"
        except BaseException as exc:
            outcome["error"] = exc
        outcome["at"] = time.monotonic()

    thread = threading.Thread(target=work)
    thread.start()
    time.sleep(delay)
    assert thread.is_alive(), f"the work ended before it was cancelled: {outcome}"
    cancelled_at = time.monotonic()
    cancel()
    thread.join(30)
    assert not thread.is_alive()
    assert isinstance(outcome.get("error"), Cancelled), outcome
    return outcome["at"] - cancelled_at


def test_engine_cancel_kills_the_running_analysis(huge):
    with Project.open(huge, readonly=True) as project:
        engine = open_engine(project.conn)
        try:
            took = cancelled_after(1.0, lambda: run_analysis(engine, "trend", trend_request()), engine.cancel)
            assert took < 2.0
            assert engine.run(sel(lit(1))) == [[1]]  # usable afterwards
            # and a cancel of finished work does not stop the next one
            engine.cancel()
            assert engine.run(sel(exp.Literal.number(2))) == [[2]]
        finally:
            engine.close()


def test_a_cancelled_progress_kills_the_running_query(huge):
    token = CancelToken()
    with Project.open(huge, readonly=True) as project:
        engine = open_engine(project.conn)
        try:
            start = lambda: run_analysis(engine, "trend", trend_request(), progress=token)
            assert cancelled_after(1.0, start, token.cancel) < 2.0
            assert engine.run(sel(lit(1))) == [[1]]
        finally:
            engine.close()


def test_a_cancelled_progress_stops_before_the_next_query(huge):
    token = CancelToken()
    token.cancel()
    with Project.open(huge, readonly=True) as project:
        engine = open_engine(project.conn)
        try:
            before = engine.client.queries
            with pytest.raises(Cancelled):
                run_analysis(engine, "trend", trend_request(), progress=token)
            assert engine.client.queries == before  # nothing was sent
        finally:
            engine.close()


def test_client_cancel_without_a_running_query_is_harmless(huge):
    with Project.open(huge, readonly=True) as project:
        engine = open_engine(project.conn)
        try:
            assert engine.client.cancel() is False
            assert engine.client.query("SELECT 3") == [[3]]
        finally:
            engine.close()


def test_a_chart_on_a_connected_project_is_cancelled_like_a_local_one(huge):
    """The app's path: run_chart_file in a worker thread with a CancelToken."""
    from seglab.core.charts import run_chart_file
    from seglab.core.charts.spec import ChartSpec

    spec = ChartSpec(kind="retention", as_of="2024-04-01T00:00:00Z", options=(("start_event", "login"),))
    token = CancelToken()
    assert cancelled_after(1.0, lambda: run_chart_file(huge, spec, token), token.cancel) < 2.0
