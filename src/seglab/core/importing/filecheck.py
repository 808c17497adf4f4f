"""The file itself, apart from its rows: its content hash (the duplicate check), where a file
that is not valid UTF-8 throughout has its bad bytes, and whether it changed while it was read."""

from __future__ import annotations

import bisect
import codecs
import contextlib
import hashlib
import io
import re
from pathlib import Path

from seglab.core.errors import Cancelled, ImportFileError
from seglab.core.progress import Progress

SCAN_SHARE = 0.1  # the content check's share of the progress bar; reading and writing rows the rest
# Bytes a file that is not valid UTF-8 throughout became when decoded as UTF-8 regardless
# (surrogateescape): a row holding one is rejected, not stored with a replacement character.
BAD_BYTE = re.compile("[\udc80-\udcff]")


def utf8_damage(content, give_up: int = 100) -> tuple[bool, list[tuple[int, int]]]:
    """Whether content that is not valid UTF-8 throughout still is UTF-8 as a whole (it has at
    least as many valid multi-byte characters as invalid byte sequences), and the (line, byte
    offset from 1) of each invalid sequence. Stops counting once it is clearly another encoding.

    ``content``: a file's path, or a binary stream (a compressed file's decompressed content)."""
    bad: list[tuple[int, int]] = []
    multibyte = 0
    lines = 0  # line ends before the current piece
    base = 0  # file offset of the current piece
    tail = b""
    opened = open(content, "rb") if isinstance(content, (str, Path)) else contextlib.nullcontext(content)
    with opened as fh:
        while True:
            chunk = fh.read(64 * 1024)
            piece = tail + chunk
            if not piece:
                break
            pos = 0
            while pos < len(piece):
                try:
                    text = piece[pos:].decode("utf-8")
                    end = len(piece)
                except UnicodeDecodeError as exc:
                    text = piece[pos : pos + exc.start].decode("utf-8")
                    end = pos + exc.start
                    if exc.end == len(piece) - pos and chunk and exc.reason == "unexpected end of data":
                        multibyte += len(text) - len(text.encode("ascii", "ignore"))
                        pos = end
                        break  # a character cut by the read: finish it with the next one
                    bad.append((lines + piece.count(b"\n", 0, end) + 1, base + end + 1))
                    end = pos + exc.end
                multibyte += len(text) - len(text.encode("ascii", "ignore"))
                pos = end
                if len(bad) > give_up and len(bad) > multibyte:
                    return False, bad
            lines += piece.count(b"\n", 0, pos)
            base += pos
            tail = piece[pos:]
            if not chunk:
                break
    return len(bad) <= multibyte, bad


def utf8_reason(bad_utf8: list[tuple[int, int]], first: int, last: int) -> str:
    """The reject reason of the record on lines ``first..last`` holding invalid UTF-8
    (``bad_utf8``: what :func:`utf8_damage` found, in order)."""
    i = bisect.bisect_left(bad_utf8, (first, 0))
    if i < len(bad_utf8) and bad_utf8[i][0] <= last:
        return f"not valid UTF-8 at byte {bad_utf8[i][1]:,}"
    return "not valid UTF-8"


class HashingReader(io.RawIOBase):
    """The file as the import pass reads it, hashed on the way: what was imported is exactly what
    the duplicate check hashed, or the file changed meanwhile."""

    def __init__(self, fh):
        self.fh = fh
        self.digest = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = self.fh.readinto(buffer)
        if n:
            self.digest.update(memoryview(buffer)[:n])
            self.size += n
        return n

    def seek(self, offset: int, whence: int = 0) -> int:
        if (offset, whence) != (0, 0):
            raise io.UnsupportedOperation("the import pass only rewinds to the start")
        self.digest = hashlib.sha256()
        self.size = 0
        return self.fh.seek(0)

    def tell(self) -> int:
        return self.fh.tell()

    def finish(self) -> tuple[int, str]:
        """Read what the pass left (nothing, normally) and return (bytes read, sha256)."""
        while self.fh.read(1024 * 1024):
            pass
        return self.size, self.digest.hexdigest()


def codec_name(encoding: str) -> str | None:
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        return None  # said as "unknown text encoding" where the file is read


def file_stat(path: Path) -> tuple:
    st = path.stat()
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


def scan(path: Path, progress: Progress) -> tuple[str, bool, bool]:
    """sha256 of the content, whether it is all valid UTF-8, whether it holds NUL bytes."""
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    utf8_ok = True
    has_nul = False
    size = path.stat().st_size
    done = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(4 * 1024 * 1024):
            digest.update(chunk)
            if not has_nul and b"\x00" in chunk:
                has_nul = True
            if utf8_ok:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    utf8_ok = False
            done += len(chunk)
            if progress.is_cancelled():
                raise Cancelled("cancelled")
            # The check is the first tenth of the bar.
            progress.report(done * SCAN_SHARE, size, "checking the file")
    if utf8_ok:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8_ok = False
    return digest.hexdigest(), utf8_ok, has_nul


def unchanged(path: Path, name: str, before: tuple, scanned: tuple[int, str], read: tuple[int, str]) -> None:
    """Refuse (the transaction is rolled back) when the file changed between the duplicate check
    and the end of the import pass: a file still being written would be stored half old, half new,
    under the size and hash of the old content."""
    try:
        now = file_stat(path)
    except FileNotFoundError:
        raise ImportFileError(
            f"{name}: the file was deleted or moved during the import; nothing was imported"
        ) from None
    if now != before or read != scanned:
        raise ImportFileError(
            f"{name}: the file changed while it was being imported (is it still being written?); "
            "nothing was imported — import it again once it is complete"
        )
