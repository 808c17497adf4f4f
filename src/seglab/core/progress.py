"""Progress reporting and cancellation for slow core functions.

Slow work is a plain function ``f(path_or_conn, request, progress) -> result``;
the UI passes a progress object that forwards to Qt signals, the CLI passes
:data:`NULL_PROGRESS` or a printing one.
"""

from __future__ import annotations

import threading
from typing import Protocol

from seglab.core.errors import Cancelled


class Progress(Protocol):
    def report(self, done: float, total: float | None = None, text: str = "") -> None: ...

    def is_cancelled(self) -> bool: ...


class NullProgress:
    def report(self, done: float, total: float | None = None, text: str = "") -> None:
        pass

    def is_cancelled(self) -> bool:
        return False


NULL_PROGRESS = NullProgress()


class CancelToken:
    """A thread-safe progress sink that can be cancelled from another thread."""

    def __init__(self, callback=None):
        self._event = threading.Event()
        self._callback = callback
        self._on_cancel: list = []
        self._lock = threading.Lock()

    def cancel(self) -> None:
        self._event.set()
        with self._lock:
            hooks = list(self._on_cancel)
        for hook in hooks:  # e.g. a connected project's engine.cancel(): stops the running query
            hook()

    def add_cancel_callback(self, hook):
        """Call ``hook()`` (from the cancelling thread) when cancelled; returns a remover."""
        with self._lock:
            self._on_cancel.append(hook)
        if self.is_cancelled():
            hook()

        def remove() -> None:
            with self._lock:
                if hook in self._on_cancel:
                    self._on_cancel.remove(hook)

        return remove

    def is_cancelled(self) -> bool:
        return self._event.is_set()

    def report(self, done: float, total: float | None = None, text: str = "") -> None:
        if self._callback is not None:
            self._callback(done, total, text)


def check_cancelled(progress: Progress) -> None:
    if progress.is_cancelled():
        raise Cancelled("cancelled")


def install_interrupt(conn, progress: Progress, every: int = 20000) -> None:
    """Make long SQLite statements on ``conn`` stop when ``progress`` is cancelled.

    A cancelled statement raises ``sqlite3.OperationalError('interrupted')``;
    callers turn that into :class:`Cancelled`.
    """
    if progress is NULL_PROGRESS:
        return
    conn.set_progress_handler(lambda: 1 if progress.is_cancelled() else 0, every)
