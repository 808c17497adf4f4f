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

    def cancel(self) -> None:
        self._event.set()

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
