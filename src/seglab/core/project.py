"""A SegLab project: one SQLite file (``*.seglab``), the live document.

Every change is committed as it is made (like a photo catalogue), so there is no
"Save"; ``save_as`` writes a consistent copy through SQLite's backup API.

Opening checks the file before writing anything to it, so every refusal leaves
the file byte-identical: missing file, not SQLite, SQLite but not SegLab, from a
newer SegLab, damaged, read-only location, open in another process.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
import stat
from dataclasses import dataclass
from pathlib import Path

from seglab.core.errors import ProjectError, SegLabError, StorageError
from seglab.core.lock import ProjectLock
from seglab.core.output import kind_of_file
from seglab.core.storage.connection import connect, connected
from seglab.core.storage.schema import (
    APPLICATION_ID,
    SCHEMA_VERSION,
    BadSchemaVersion,
    migrate,
    schema_version,
)
from seglab.core.timeutil import ms_to_iso


@dataclass(frozen=True)
class PropertyInfo:
    entity: str  # 'user' | 'account' | 'event'
    name: str  # as in the source file
    column: str  # internal safe column name
    type: str  # 'integer' | 'real' | 'boolean' | 'datetime' | 'text'


def describe_database_error(path: Path, exc: sqlite3.DatabaseError) -> SegLabError:
    """Turn SQLite's wording ("database disk image is malformed") into one sentence for a person."""
    return _describe_sqlite_error(path, exc)


def _describe_sqlite_error(path: Path, exc: sqlite3.DatabaseError, *, creating: bool = False) -> SegLabError:
    text = str(exc).lower()
    code = getattr(exc, "sqlite_errorname", "")
    if code == "SQLITE_NOTADB" or "not a database" in text:
        return ProjectError(f"{path.name}: not a SegLab project (not an SQLite database file)")
    if code == "SQLITE_CORRUPT" or "malformed" in text or "corrupt" in text:
        return ProjectError(f"{path.name}: this project file is damaged and cannot be opened")
    io_error = code.startswith("SQLITE_IOERR") or "disk i/o error" in text
    if code == "SQLITE_FULL" or "disk is full" in text or (io_error and _disk_is_full(path)):
        done = "the project was not created" if creating else "nothing was changed"
        return StorageError(f"{path.name}: the disk is full; {done}")
    if io_error:
        return StorageError(
            f"{path.name}: the disk could not be read or written (disk I/O error); nothing was changed"
        )
    if code in ("SQLITE_BUSY", "SQLITE_LOCKED") or "database is locked" in text:
        return ProjectError(
            f"{path.name}: another process is writing to the project (database is locked); "
            "nothing was changed; try again in a moment"
        )
    if "readonly" in text or "read-only" in text or "unable to open" in text:
        return ProjectError(f"{path.name}: cannot write here: the file or its folder is read-only")
    return ProjectError(f"{path.name}: cannot open the project ({exc})")


def _disk_is_full(path: Path) -> bool:
    """SQLite reports a -shm it cannot grow as an I/O error: tell the person the real reason."""
    try:
        return os.statvfs(path.resolve().parent).f_bavail == 0
    except (OSError, AttributeError):
        return False


def stat_regular_file(path: Path, what: str = "project file") -> os.stat_result:
    """``os.stat`` a file that must exist and be a regular file (never a FIFO, which would
    block whoever opens it, nor a device or folder). Nothing is opened."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise ProjectError(f"{path}: no such {what}") from None
    except PermissionError:
        raise ProjectError(f"{path}: permission denied: cannot read the {what}") from None
    except OSError as exc:
        raise ProjectError(f"{path}: cannot read the {what} ({exc.strerror})") from None
    if stat.S_ISDIR(st.st_mode):
        raise ProjectError(f"{path}: is a folder, not a {what}")
    if not stat.S_ISREG(st.st_mode):
        raise ProjectError(f"{path}: is {kind_of_file(st.st_mode)}, not a {what}")
    return st


def check_project_file(path: Path) -> None:
    """Refuse anything that is not an openable SegLab project, without writing to it.

    The file is never opened with a plain handle, only through SQLite: closing any
    descriptor on a database file drops every SQLite lock this process holds on it
    (POSIX advisory locks), and another process could then delete a live -wal file
    (docs/architecture.md, "No plain handle on the project file").
    """
    st = stat_regular_file(path)
    if not os.access(path, os.R_OK):
        raise ProjectError(f"{path}: permission denied: cannot read the project file")
    if st.st_size == 0:
        raise ProjectError(f"{path.name}: the file is empty, not a SegLab project")
    if st.st_size < 100:  # shorter than SQLite's header
        raise ProjectError(f"{path.name}: not a SegLab project (not an SQLite database file)")
    side_files = [Path(str(path) + suffix) for suffix in ("-wal", "-shm")]
    existed = [p.exists() for p in side_files]
    ok = False
    try:
        with connected(path, readonly=True) as conn:
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
            try:
                version = schema_version(conn)
            except BadSchemaVersion as exc:
                if app_id != APPLICATION_ID:
                    raise ProjectError(
                        f"{path.name}: an SQLite database, but not a SegLab project (no SegLab tables)"
                    ) from None
                raise ProjectError(f"{path.name}: {exc}; the file was changed outside SegLab") from None
            if app_id != APPLICATION_ID and version == 0:
                raise ProjectError(
                    f"{path.name}: an SQLite database, but not a SegLab project (no SegLab tables)"
                )
            if version == 0:
                raise ProjectError(
                    f"{path.name}: its project format number (schema_version) is missing; "
                    "the file was changed outside SegLab"
                )
            if version > SCHEMA_VERSION:
                raise ProjectError(
                    f"{path.name}: made by a newer SegLab (project format {version}, this SegLab reads "
                    f"up to {SCHEMA_VERSION}); update SegLab to open it"
                )
            # Touch the schema and the small tables rather than PRAGMA quick_check, which reads
            # the whole file (seconds on a big project, on the UI thread). Damage found later
            # surfaces as the same sentence through describe_database_error().
            for table in ("meta", "properties", "event_names", "segments"):
                conn.execute(f"SELECT count(*) FROM {table}").fetchone()
            ok = True
    except sqlite3.DatabaseError as exc:
        raise _describe_sqlite_error(path, exc) from None
    finally:
        if not ok:
            _remove_new_side_files(side_files, existed)


def is_seglab_project(path: Path) -> bool:
    """True when ``path`` is a regular file holding a SegLab project (read through SQLite only)."""
    try:
        st = os.stat(path)
    except OSError:
        return False
    if not stat.S_ISREG(st.st_mode) or st.st_size < 512:  # 512: SQLite's smallest page
        return False
    side_files = [Path(str(path) + suffix) for suffix in ("-wal", "-shm")]
    existed = [p.exists() for p in side_files]
    try:
        with connected(path, readonly=True) as conn:
            if conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID:
                return True
            return bool(
                conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").fetchone()
                and conn.execute("SELECT 1 FROM meta WHERE key = 'schema_version'").fetchone()
            )
    except sqlite3.Error:
        return False
    finally:
        _remove_new_side_files(side_files, existed)


def _remove_new_side_files(side_files: list[Path], existed: list[bool]) -> None:
    """A refused file must be left as found: drop empty -wal/-shm files our check created."""
    for side, was_there in zip(side_files, existed):
        try:
            if not was_there and side.exists() and (side.name.endswith("-shm") or side.stat().st_size == 0):
                side.unlink(missing_ok=True)
        except OSError:
            pass


def _remove_project_files(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        try:
            Path(str(path) + suffix).unlink(missing_ok=True)
        except OSError:
            pass


class Project:
    """An open project. Use :meth:`create` or :meth:`open`; close with :meth:`close`.

    ``readonly`` projects take no lock and never write (the CLI's ``info``,
    ``segment count`` ...); writable ones hold the project lock until closed.
    """

    def __init__(self, path: Path, conn: sqlite3.Connection, lock: ProjectLock | None, readonly: bool):
        self.path = path
        self.conn = conn
        self._lock = lock
        self.readonly = readonly

    # -- lifecycle -------------------------------------------------------
    @classmethod
    def create(cls, path: str | os.PathLike, *, overwrite: bool = False) -> "Project":
        path = Path(path)
        if os.path.lexists(path) and not overwrite:
            raise ProjectError(f"{path}: already exists; choose another name")
        if not path.parent.exists():
            raise ProjectError(f"{path.parent}: no such folder")
        if not os.access(path.parent, os.W_OK):
            raise ProjectError(f"{path.parent}: cannot write here: the folder is read-only")
        if overwrite and os.path.lexists(path) and not path.is_file():
            stat_regular_file(path)  # raises: a folder, a pipe, a device is never replaced
        return cls._open_writable(path, "create", fresh=True, overwrite=overwrite)

    @classmethod
    def open(cls, path: str | os.PathLike, *, readonly: bool = False, purpose: str = "open") -> "Project":
        path = Path(path)
        check_project_file(path)
        if readonly:
            try:
                conn = connect(path, readonly=True)
                try:
                    old = schema_version(conn) < SCHEMA_VERSION
                except BaseException:
                    conn.close()
                    raise
                if old:
                    conn.close()
                    cls._upgrade(path, purpose)
                    conn = connect(path, readonly=True)
            except sqlite3.DatabaseError as exc:
                raise _describe_sqlite_error(path, exc) from None
            return cls(path, conn, None, readonly=True)
        if not os.access(path, os.W_OK) or not os.access(path.parent, os.W_OK):
            raise ProjectError(
                f"{path.name}: cannot write here: the file or its folder is read-only "
                "(copy the project somewhere writable)"
            )
        return cls._open_writable(path, purpose, fresh=False)

    @classmethod
    def _open_writable(cls, path: Path, purpose: str, *, fresh: bool, overwrite: bool = False) -> "Project":
        """Take the lock, connect and migrate: the one place ``create`` and ``open`` share.
        Any failure releases the lock; a failed ``create`` leaves no file (nor -wal/-shm) behind."""
        lock = ProjectLock(path)
        lock.acquire(purpose)
        conn = None
        try:
            if fresh:
                if overwrite:
                    _remove_project_files(path)
                sqlite3.connect(str(path), isolation_level=None).close()
            conn = connect(path)
            migrate(conn)
        except BaseException as exc:
            if conn is not None:
                conn.close()
            if fresh:
                _remove_project_files(path)
            lock.release()
            if isinstance(exc, sqlite3.OperationalError) and not fresh and "already exists" in str(exc):
                # The recorded format is older than the tables: someone lowered schema_version.
                raise ProjectError(
                    f"{path.name}: its project format number (schema_version) does not match its "
                    "tables; the file was changed outside SegLab"
                ) from None
            if isinstance(exc, sqlite3.DatabaseError):
                raise _describe_sqlite_error(path, exc, creating=fresh) from None
            if isinstance(exc, OSError) and fresh:
                raise ProjectError(f"{path.name}: cannot create the project ({exc.strerror})") from None
            raise
        return cls(path, conn, lock, readonly=False)

    @classmethod
    def _upgrade(cls, path: Path, purpose: str) -> None:
        """Bring a project made by an earlier SegLab up to this format before reading it (the
        queries rely on the roll-ups newer formats add): a writable open migrates it, under
        the lock, and closes again."""
        if not os.access(path, os.W_OK) or not os.access(path.parent, os.W_OK):
            raise ProjectError(
                f"{path.name}: made by an earlier SegLab; it needs a one-time upgrade, which needs "
                "write access (copy the project somewhere writable)"
            )
        cls.open(path, purpose=purpose).close()

    def close(self) -> None:
        if self.conn is not None:
            try:
                if not self.readonly:
                    self.conn.execute("PRAGMA optimize")
                    self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.DatabaseError:
                pass
            self.conn.close()
            self.conn = None  # type: ignore[assignment]
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def __enter__(self) -> "Project":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def save_as(self, new_path: str | os.PathLike) -> Path:
        """Write a consistent copy of the project to ``new_path`` (SQLite backup API).

        The copy is written beside the target and renamed over it when complete, under the
        target's project lock: a project open in another window is never replaced, nor a
        folder, pipe or device; a symlink is written through; a failure leaves no partial file.
        """
        new_path = Path(new_path)
        target = Path(os.path.realpath(new_path))
        try:
            st = os.stat(target)
        except FileNotFoundError:
            st = None
        except OSError as exc:
            raise ProjectError(f"{new_path}: cannot write here ({exc.strerror})") from None
        if st is not None:
            if stat.S_ISDIR(st.st_mode):
                raise ProjectError(f"{new_path}: is a folder; give a file name")
            if not stat.S_ISREG(st.st_mode):
                raise ProjectError(f"{new_path}: is {kind_of_file(st.st_mode)}, not a place for a project")
            if os.path.samefile(target, self.path):
                raise ProjectError("Save As needs a different file name")
        if not target.parent.is_dir():
            raise ProjectError(f"{target.parent}: no such folder")
        if not os.access(target.parent, os.W_OK):
            raise ProjectError(f"{target.parent}: cannot write here: the folder is read-only")
        lock = ProjectLock(target)
        lock.acquire("save as")  # refused while the target is open in SegLab
        tmp = target.with_name(f".{target.name}.{os.getpid()}.{id(self):x}.tmp")
        try:
            try:
                with contextlib.closing(sqlite3.connect(str(tmp))) as dst:
                    self.conn.backup(dst)
                    dst.execute("PRAGMA journal_mode = DELETE")
                for suffix in ("-wal", "-shm"):  # a crashed session's side files belong to the old file
                    Path(str(target) + suffix).unlink(missing_ok=True)
                os.replace(tmp, target)
            except sqlite3.DatabaseError as exc:
                raise _describe_sqlite_error(target, exc, creating=True) from None
            except OSError as exc:
                if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                    raise StorageError(f"{target.name}: the disk is full; the copy was not written") from None
                raise ProjectError(f"{new_path}: cannot write the copy ({exc.strerror})") from None
        finally:
            for leftover in (tmp, Path(str(tmp) + "-journal")):
                leftover.unlink(missing_ok=True)
            lock.release()
        return new_path

    def check_integrity(self) -> bool:
        """Full ``PRAGMA quick_check`` (reads the whole file: run it off the UI thread)."""
        row = self.conn.execute("PRAGMA quick_check(1)").fetchone()
        return row is not None and row[0] == "ok"

    def connect_reader(self) -> sqlite3.Connection:
        """A new read-only connection for a worker thread (connections never cross threads)."""
        return connect(self.path, readonly=True)

    # -- metadata --------------------------------------------------------
    def meta(self, key: str, default: str | None = None) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str | None) -> None:
        if value is None:
            self.conn.execute("DELETE FROM meta WHERE key = ?", (key,))
        else:
            self.conn.execute(
                "INSERT INTO meta(key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    @property
    def name(self) -> str:
        return self.path.stem

    def as_of_pin(self) -> int | None:
        value = self.meta("as_of_pin")
        return int(value) if value else None

    def set_as_of_pin(self, ms: int | None) -> None:
        self.set_meta("as_of_pin", None if ms is None else str(int(ms)))

    def as_of(self, explicit_ms: int | None = None) -> int | None:
        """As-of time T: an explicit value, else the project's pin, else the latest event."""
        return resolve_as_of(self.conn, explicit_ms)

    def properties(self, entity: str | None = None) -> list[PropertyInfo]:
        return load_properties(self.conn, entity)

    def info(self) -> dict:
        return project_info(self.conn)


def resolve_as_of(conn: sqlite3.Connection, explicit_ms: int | None = None) -> int | None:
    if explicit_ms is not None:
        return int(explicit_ms)
    row = conn.execute("SELECT value FROM meta WHERE key = 'as_of_pin'").fetchone()
    if row and row[0]:
        return int(row[0])
    row = conn.execute("SELECT max(ts) FROM events").fetchone()
    return row[0] if row and row[0] is not None else None


def load_properties(conn: sqlite3.Connection, entity: str | None = None) -> list[PropertyInfo]:
    sql = "SELECT entity, name, column_name, type FROM properties"
    params: tuple = ()
    if entity is not None:
        sql += " WHERE entity = ?"
        params = (entity,)
    sql += " ORDER BY entity, position"
    return [PropertyInfo(*row) for row in conn.execute(sql, params)]


def project_info(conn: sqlite3.Connection) -> dict:
    """The counts ``seglab info`` prints and the Data overview shows."""
    one = lambda sql: conn.execute(sql).fetchone()[0]
    first, last = conn.execute("SELECT min(ts), max(ts) FROM events").fetchone()
    accounts = one(
        "SELECT count(*) FROM accounts a WHERE a.from_file = 1 "
        "OR EXISTS (SELECT 1 FROM users u WHERE u.account_key = a.account_key)"
    )
    return {
        "events": one("SELECT count(*) FROM events"),
        "users": one("SELECT count(*) FROM users"),
        "accounts": accounts,
        "event_names": one("SELECT count(*) FROM event_names"),
        "properties": one("SELECT count(*) FROM properties"),
        "first_event": ms_to_iso(first),
        "last_event": ms_to_iso(last),
        "as_of": ms_to_iso(resolve_as_of(conn)),
        "as_of_pinned": bool(conn.execute("SELECT 1 FROM meta WHERE key = 'as_of_pin'").fetchone()),
        "imports": one("SELECT count(*) FROM imports"),
        "segments": one("SELECT count(*) FROM segments"),
        "schema_version": schema_version(conn),
    }


def event_name_counts(conn: sqlite3.Connection) -> list[tuple[str, int]]:
    """Event names with their event counts, most frequent first (from the roll-up)."""
    return [
        (name, n)
        for name, n in conn.execute(
            "SELECT en.name, coalesce(sum(d.n), 0) AS n FROM event_names en "
            "LEFT JOIN user_days d ON d.event_key = en.event_key "
            "GROUP BY en.event_key ORDER BY n DESC, en.name"
        )
    ]
