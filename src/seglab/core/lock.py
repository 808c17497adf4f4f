"""A per-project lock so two SegLab processes never write the same file.

The lock is an OS advisory lock (``fcntl.flock`` / ``msvcrt.locking``) on a side
file ``PROJECT.seglab.lock``. The OS drops it when the process dies, so a crash
never leaves a lock behind: a "stale" lock file from a dead process is simply taken
over. The file also records who holds it, for the message the second opener sees.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from pathlib import Path

from seglab.core.errors import ProjectError, ProjectLockedError


def lock_path(project_path: Path) -> Path:
    return project_path.with_name(project_path.name + ".lock")


class ProjectLock:
    def __init__(self, project_path: Path):
        self.path = lock_path(project_path)
        self._fd: int | None = None

    def acquire(self, purpose: str = "open") -> None:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise ProjectError(
                f"cannot lock {self.path.name}: the folder is not writable ({exc.strerror})"
            ) from None
        if not _try_lock(fd):
            owner = _read_owner(fd)
            os.close(fd)
            who = f" (process {owner.get('pid')} on {owner.get('host')})" if owner else ""
            purpose = str(owner.get("purpose") or "")
            # A command holds it only while it runs; anything else is a window with the project open.
            if purpose.startswith("seglab "):
                where, then = f"in use by `{purpose}`{who}", "try again when it has finished"
            else:
                where, then = f"open in another SegLab window{who}", "close it there first"
            raise ProjectLockedError(
                f"{self.path.name[:-5]} is {where}; {then}",
                owner=json.dumps(owner) if owner else "",
            )
        owner = {"pid": os.getpid(), "host": socket.gethostname(), "purpose": purpose}
        try:
            os.ftruncate(fd, 0)
            os.write(fd, json.dumps(owner).encode())
        except OSError:  # a full disk: the lock holds all the same, only the "who" is missing
            pass
        self._fd = fd

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)
        except OSError:
            pass
        _unlock(fd)
        os.close(fd)
        try:
            # Only remove the file when no one else grabbed it in between.
            self.path.unlink()
        except OSError:
            pass

    @property
    def held(self) -> bool:
        return self._fd is not None


def _read_owner(fd: int) -> dict:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        return json.loads(os.read(fd, 4096).decode() or "{}")
    except (OSError, ValueError):
        return {}


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False

    def _unlock(fd: int) -> None:
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        except OSError:
            pass

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except OSError:
            return False

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)
