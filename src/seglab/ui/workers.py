"""The one helper that runs slow core functions off the UI thread.

Slow work in SegLab is a plain, Qt-free function::

    def fn(path: pathlib.Path, request, progress) -> result

It opens its **own** SQLite connection on ``path`` (connections never cross
threads), calls ``progress.report(done, total, text)`` now and then, and checks
``progress.is_cancelled()`` (or uses :func:`seglab.core.progress.install_interrupt`)
to stop early by raising :class:`seglab.core.errors.Cancelled`.

A view owns one :class:`Worker` and connects to its signals::

    self._worker = Worker(self)
    self._worker.succeeded.connect(self._show_result)     # on the main thread
    self._worker.failed.connect(self._show_error)
    self._worker.start(count_segment, session.path, definition)

Guarantees:

* one task in flight per worker: :meth:`Worker.start` cancels the previous task,
  and a result that arrives from a cancelled or superseded task is dropped;
* results, errors and progress are delivered on the main thread through the signals;
* progress is throttled (at most one signal per ``progress_interval_ms``);
* the task is kept alive (a strong reference) while running, and no Qt object is
  ever deleted while a pool thread may still use it;
* :meth:`Worker.shutdown` cancels and waits, for a window that is closing.

Signals (all emitted on the main thread, only for the current task):

``started()``, ``progressed(done: float, total: float | None, text: str)``,
``succeeded(result)``, ``failed(exc)``, ``cancelled()``, then always ``finished()``.
"""

from __future__ import annotations

import itertools
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QThreadPool, Signal, Slot

from seglab.core.errors import Cancelled
from seglab.core.progress import CancelToken

TaskFunction = Callable[[Path, Any, CancelToken], Any]

_task_ids = itertools.count(1)


class _Relay(QObject):
    """Carries news from pool threads to workers on the main thread.

    One relay for the whole app, created on the main thread and never deleted, so
    no QObject is ever destroyed while a pool thread may still be emitting from it.
    Workers filter the news by task id.
    """

    progress_posted = Signal(int, float, object, str)
    task_ended = Signal(int, str, object)  # task id, "ok" | "error" | "cancelled", payload


_relay: _Relay | None = None


def _get_relay() -> _Relay:
    global _relay
    if _relay is None:
        _relay = _Relay()
    return _relay


class _Task:
    """A task's state; plain Python, so the pool thread holds no Qt object of ours."""

    def __init__(self, task_id: int, fn: TaskFunction, path: Path, request: Any, interval_s: float):
        self.task_id = task_id
        self.fn = fn
        self.path = path
        self.request = request
        self.relay = _get_relay()
        self.done = threading.Event()
        self._interval_s = interval_s
        self._last_report = 0.0
        self.token = CancelToken(self._report)

    def _report(self, done: float, total: float | None = None, text: str = "") -> None:
        now = time.monotonic()
        if now - self._last_report < self._interval_s and (total is None or done < total):
            return
        self._last_report = now
        self.relay.progress_posted.emit(self.task_id, float(done), total, text)

    def run(self) -> None:
        try:
            result = self.fn(self.path, self.request, self.token)
        except Cancelled:
            status, payload = "cancelled", None
        except sqlite3.OperationalError as exc:
            if self.token.is_cancelled() and "interrupt" in str(exc).lower():
                status, payload = "cancelled", None
            else:
                status, payload = "error", exc
        except Exception as exc:  # delivered to the owner, who shows it
            status, payload = "error", exc
        else:
            status, payload = ("cancelled", None) if self.token.is_cancelled() else ("ok", result)
        try:
            self.relay.task_ended.emit(self.task_id, status, payload)
        finally:
            self.done.set()


class Worker(QObject):
    """Runs one slow core function at a time for one owner (a view or a dialog)."""

    started = Signal()
    progressed = Signal(float, object, str)
    succeeded = Signal(object)
    failed = Signal(object)
    cancelled = Signal()
    finished = Signal()

    def __init__(
        self,
        parent: QObject | None = None,
        *,
        pool: QThreadPool | None = None,
        progress_interval_ms: int = 100,
    ):
        super().__init__(parent)
        self._pool = pool or QThreadPool.globalInstance()
        self._interval_s = progress_interval_ms / 1000
        self._tasks: dict[int, _Task] = {}  # strong references until each task has ended
        self._current: int | None = None
        relay = _get_relay()
        relay.progress_posted.connect(self._on_progress)
        relay.task_ended.connect(self._on_ended)

    # -- API ------------------------------------------------------------------
    def start(self, fn: TaskFunction, path: str | Path, request: Any = None) -> int:
        """Run ``fn(path, request, progress)`` in a pool thread; cancel any task in flight."""
        if self._current is not None:
            self._tasks[self._current].token.cancel()
        task = _Task(next(_task_ids), fn, Path(path), request, self._interval_s)
        self._tasks[task.task_id] = task
        self._current = task.task_id
        self.started.emit()
        self._pool.start(task.run)
        return task.task_id

    def cancel(self) -> None:
        """Ask the current task to stop; ``cancelled`` then ``finished`` follow when it has."""
        if self._current is not None:
            self._tasks[self._current].token.cancel()

    def is_busy(self) -> bool:
        """True while the current task has not delivered its outcome."""
        return self._current is not None

    def is_running(self) -> bool:
        """True while any task of this worker (even a cancelled one) is still running in a thread."""
        return any(not t.done.is_set() for t in self._tasks.values())

    def wait(self, timeout_ms: int = 30_000) -> bool:
        """Block until every task of this worker has left its thread (signals follow via the loop)."""
        deadline = time.monotonic() + timeout_ms / 1000
        for task in list(self._tasks.values()):
            if not task.done.wait(max(0.0, deadline - time.monotonic())):
                return False
        return True

    def shutdown(self, timeout_ms: int = 30_000) -> bool:
        """Cancel everything and wait for the threads; for a closing window."""
        for task in self._tasks.values():
            task.token.cancel()
        self._current = None
        ok = self.wait(timeout_ms)
        if ok:
            self._tasks.clear()
        return ok

    # -- main-thread side --------------------------------------------------------
    @Slot(int, float, object, str)
    def _on_progress(self, task_id: int, done: float, total: object, text: str) -> None:
        if task_id == self._current and not self._tasks[task_id].token.is_cancelled():
            self.progressed.emit(done, total, text)

    @Slot(int, str, object)
    def _on_ended(self, task_id: int, status: str, payload: object) -> None:
        if self._tasks.pop(task_id, None) is None:
            return  # another worker's task
        if task_id != self._current:
            return  # stale: superseded or shut down
        self._current = None
        if status == "ok":
            self.succeeded.emit(payload)
        elif status == "cancelled":
            self.cancelled.emit()
        else:
            self.failed.emit(payload)
        self.finished.emit()
