"""Writing a file the user named (``--out``, an app's save dialog) without destroying anything.

Rules (docs/cli.md, "Safe output"):

* never over the project being read, nor any other SegLab project (found through SQLite,
  never a plain handle: see docs/architecture.md), nor anything that is not a regular
  file (a folder, a FIFO, a device, a socket);
* a symlink is written through: the file it points to gets the new content and the link
  stays a link;
* the content goes to a temporary file beside the target and is renamed over it when
  complete, so a failure (a full disk) leaves the old file as it was and no partial file;
* every refusal is one sentence (:class:`~seglab.core.errors.OutputError`, exit 2); a full
  disk is :class:`~seglab.core.errors.StorageError` (exit 1).
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import BinaryIO, Literal, TextIO, TypeVar, overload

from seglab.core.errors import OutputError, StorageError


def check_output(path: str | os.PathLike, *, protect: Iterable[str | os.PathLike] = ()) -> Path:
    """Check that ``path`` may be written; return the real file to write (symlinks resolved).

    ``protect``: project files being read (refused even if they were not SegLab projects).
    """
    given = Path(path)
    target = Path(os.path.realpath(given))
    try:
        st = os.stat(target)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise OutputError(f"{given}: cannot write here ({exc.strerror})") from None
    if st is None:
        if not target.parent.is_dir():
            raise OutputError(f"{given}: cannot write here: no such folder {str(given.parent)!r}")
        return target
    if stat.S_ISDIR(st.st_mode):
        raise OutputError(f"{given}: is a folder; give a file name")
    if not stat.S_ISREG(st.st_mode):
        kind = kind_of_file(st.st_mode)
        raise OutputError(f"{given}: is {kind}; SegLab writes its output only to regular files")
    for project in protect:
        try:
            other = os.stat(project)
        except OSError:
            continue
        if (other.st_dev, other.st_ino) == (st.st_dev, st.st_ino):
            raise OutputError(f"{given}: is the project being read; choose another file name")
    from seglab.core.project import is_seglab_project

    if is_seglab_project(target):
        raise OutputError(f"{given}: is a SegLab project; SegLab never writes its output over a project")
    return target


@overload
def open_output(
    path: str | os.PathLike,
    *,
    protect: Iterable[str | os.PathLike] = (),
    encoding: str = "utf-8",
    binary: Literal[False] = False,
) -> AbstractContextManager[TextIO]: ...


@overload
def open_output(
    path: str | os.PathLike,
    *,
    protect: Iterable[str | os.PathLike] = (),
    encoding: str = "utf-8",
    binary: Literal[True],
) -> AbstractContextManager[BinaryIO]: ...


def open_output(
    path: str | os.PathLike,
    *,
    protect: Iterable[str | os.PathLike] = (),
    encoding: str = "utf-8",
    binary: bool = False,
) -> AbstractContextManager[TextIO | BinaryIO]:
    """``with open_output(path) as fh:`` write text (bytes with ``binary``); the file appears,
    atomically, when the block ends. An exception in the block leaves the target untouched
    and removes the temporary file."""
    if binary:
        return _atomic_output(Path(path), protect, lambda fd: os.fdopen(fd, "wb"))
    return _atomic_output(Path(path), protect, lambda fd: os.fdopen(fd, "w", encoding=encoding, newline=""))


_File = TypeVar("_File", TextIO, BinaryIO)


@contextmanager
def _atomic_output(
    given: Path, protect: Iterable[str | os.PathLike], fdopen: Callable[[int], _File]
) -> Iterator[_File]:
    target = check_output(given, protect=protect)
    try:
        old_mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        old_mode = None
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as exc:
        raise _write_error(given, exc) from None
    try:
        with fdopen(fd) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        if old_mode is not None:
            os.chmod(tmp, old_mode)  # the file keeps its permissions
        os.replace(tmp, target)
    except OSError as exc:
        _unlink(tmp)
        raise _write_error(given, exc) from None
    except BaseException:
        _unlink(tmp)
        raise


def write_text(path: str | os.PathLike, text: str, *, protect: Iterable[str | os.PathLike] = ()) -> Path:
    """Write ``text`` (UTF-8) to ``path`` by the rules above; return the path given."""
    with open_output(path, protect=protect) as fh:
        fh.write(text)
    return Path(path)


def write_bytes(path: str | os.PathLike, data: bytes, *, protect: Iterable[str | os.PathLike] = ()) -> Path:
    """Write ``data`` to ``path`` by the rules above; return the path given."""
    with open_output(path, protect=protect, binary=True) as fh:
        fh.write(data)
    return Path(path)


def _write_error(path: Path, exc: OSError) -> Exception:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return StorageError(f"{path}: cannot write: the disk is full; nothing was written")
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return OutputError(f"{path}: cannot write here: the folder is read-only")
    return OutputError(f"{path}: cannot write the file ({exc.strerror or exc})")


def _unlink(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError:
        pass


def kind_of_file(mode: int) -> str:
    """ "a pipe (FIFO)", "a device"...: what a non-regular file is, for a sentence."""
    if stat.S_ISFIFO(mode):
        return "a pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"
