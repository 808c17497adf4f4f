"""Source URLs, passwords and drivers of connected projects (docs/sources.md).

``clickhouse://USER@HOST:PORT/DATABASE[?secure=true]`` reaches a ClickHouse server over
HTTP(S) through clickhouse-connect; ``chdb:///ABSOLUTE/PATH`` opens an embedded ClickHouse
data folder through chdb. Every query a client runs carries :data:`SETTINGS`, and the
client counts the rows it reads back (the push-down rule is held to it in the tests).
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

from seglab.core.errors import Cancelled, UserError

if TYPE_CHECKING:
    from chdb.session import Session
    from clickhouse_connect.driver.client import Client as HTTPClient

# Sent with every query: see docs/sources.md for what goes wrong without each one.
SETTINGS: dict[str, Any] = {
    "join_use_nulls": 1,
    "session_timezone": "UTC",
    "use_query_condition_cache": 0,
}
PASSWORD_ENV = "SEGLAB_SOURCE_PASSWORD"
KEYRING_SERVICE = "seglab"


class SourceError(UserError):
    """The source cannot be reached or refused a query (one sentence, exit 2)."""


@dataclass(frozen=True)
class SourceURL:
    kind: str  # 'chdb' | 'clickhouse'
    url: str  # as stored in the project file: never a password
    path: str = ""  # chdb: the data folder
    user: str = ""
    host: str = ""
    port: int = 0
    database: str = "default"
    secure: bool = False

    @property
    def keyring_user(self) -> str:
        return f"{self.user}@{self.host}:{self.port}"


def parse_url(url: str) -> SourceURL:
    """Check and split a source URL; a sentence naming the problem otherwise."""
    text = url.strip()
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme == "chdb":
        if parts.netloc:
            raise SourceError(
                f"{url}: a chdb URL names a folder on this machine: chdb:///ABSOLUTE/PATH (three slashes)"
            )
        path = unquote(parts.path)
        if not path.startswith("/"):
            raise SourceError(f"{url}: the chdb folder must be an absolute path: chdb:///ABSOLUTE/PATH")
        path = os.path.normpath(path)
        return SourceURL("chdb", f"chdb://{path}", path=path)
    if scheme == "clickhouse":
        if parts.password is not None:
            raise SourceError(
                f"{url.split('@')[-1]}: a password in the source URL is refused; set {PASSWORD_ENV} "
                f"or store it in the OS keyring (service {KEYRING_SERVICE!r})"
            )
        if not parts.hostname:
            raise SourceError(f"{url}: no host; write clickhouse://USER@HOST:PORT/DATABASE")
        query = parse_qs(parts.query)
        unknown = sorted(set(query) - {"secure"})
        if unknown:
            raise SourceError(f"{url}: unknown URL option {unknown[0]!r} (the only one is secure=true)")
        secure_text = (query.get("secure") or ["false"])[-1].lower()
        if secure_text not in ("true", "false", "1", "0"):
            raise SourceError(f"{url}: secure must be true or false")
        secure = secure_text in ("true", "1")
        try:
            port = parts.port or (8443 if secure else 8123)
        except ValueError:
            raise SourceError(f"{url}: the port must be a number") from None
        user = unquote(parts.username or "default")
        database = unquote(parts.path.strip("/")) or "default"
        if "/" in database:
            raise SourceError(f"{url}: the path names one database: clickhouse://USER@HOST:PORT/DATABASE")
        clean = f"clickhouse://{user}@{parts.hostname}:{port}/{database}" + ("?secure=true" if secure else "")
        return SourceURL(
            "clickhouse", clean, user=user, host=parts.hostname, port=port, database=database, secure=secure
        )
    raise SourceError(
        f"{url}: unknown source; use clickhouse://USER@HOST:PORT/DATABASE or chdb:///ABSOLUTE/PATH"
    )


def password_for(src: SourceURL) -> str | None:
    """``SEGLAB_SOURCE_PASSWORD``, else the OS keyring (service ``seglab``, user ``USER@HOST:PORT``),
    else none. The keyring package is optional; any keyring failure means "no password there"."""
    value = os.environ.get(PASSWORD_ENV)
    if value is not None:
        return value
    try:
        import keyring
    except ImportError:
        return None
    try:
        return keyring.get_password(KEYRING_SERVICE, src.keyring_user)
    except Exception:  # no backend, locked keyring...: connect without
        return None


def _driver_missing(kind: str) -> SourceError:
    package, extra = ("chdb", "chdb") if kind == "chdb" else ("clickhouse-connect", "clickhouse")
    return SourceError(
        f"{kind} sources need the {package} driver, which is not installed: pip install 'seglab[{extra}]'"
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    for line in text.splitlines():
        if "DB::Exception" in line:
            text = line.split("DB::Exception:", 1)[1].strip()
            break
    text = text.splitlines()[0] if text else type(exc).__name__
    # ClickHouse appends the whole query scope ("In scope SELECT ...") and a code: not a sentence.
    for cut in (" In scope ", " (version ", ". Stack trace", " (UNKNOWN_", " (ILLEGAL_"):
        text = text.split(cut)[0]
    return text.rstrip(". ")


class Client:
    """One open source: runs SELECTs with :data:`SETTINGS` and counts the rows read back.

    Each statement gets its own id (``seglab-<hex>``); :meth:`cancel`, from any thread, kills
    the one running (``KILL QUERY`` on a second connection), which then raises
    :class:`~seglab.core.errors.Cancelled`. The client stays usable."""

    kind = ""

    def __init__(self, src: SourceURL):
        self.src = src
        self.rows_read_back = 0
        self.queries = 0
        self._lock = threading.Lock()
        self._running: str | None = None  # the id of the statement running now
        self._killed: set[str] = set()

    def query(self, sql: str, params: dict[str, Any] | None = None) -> list[list[Any]]:
        rows = self._tracked(lambda qid: self._query(sql, params or {}, qid))
        self.rows_read_back += len(rows)
        self.queries += 1
        return rows

    def _query(self, sql: str, params: dict[str, Any], qid: str) -> list[list[Any]]:  # pragma: no cover
        raise NotImplementedError

    def execute(self, sql: str) -> None:
        """A statement without a result (a temporary table of this session)."""
        self._tracked(lambda qid: self._execute(sql, qid))
        self.queries += 1

    def _execute(self, sql: str, qid: str) -> None:  # pragma: no cover
        raise NotImplementedError

    def _tracked(self, run):
        qid = f"seglab-{uuid.uuid4().hex}"
        with self._lock:
            self._running = qid
        try:
            result = run(qid)
        except Exception:
            if qid in self._killed:
                raise Cancelled("cancelled") from None
            raise
        else:
            # A killed statement may still end normally, with a partial result: never used.
            if qid in self._killed:
                raise Cancelled("cancelled")
            return result
        finally:
            # A kill that lost the race with the end of the statement changes nothing.
            with self._lock:
                self._running = None
                self._killed.discard(qid)

    def cancel(self) -> bool:
        """Kill the statement running now (thread-safe); False when none is running."""
        with self._lock:
            qid = self._running
            if qid is None:
                return False
            self._killed.add(qid)
        self._kill(qid)
        return True

    def _kill(self, qid: str) -> None:  # pragma: no cover
        raise NotImplementedError

    def close(self) -> None:  # pragma: no cover
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class ChdbClient(Client):
    """An embedded data folder. Only one process may open it: it is opened for one command."""

    kind = "chdb"

    def __init__(self, src: SourceURL):
        super().__init__(src)
        folder = Path(src.path)
        if not folder.is_dir():
            raise SourceError(f"{src.url}: no such chdb data folder")
        try:
            from chdb import session
        except ImportError:
            raise _driver_missing("chdb") from None
        if _folder_in_use(folder):
            raise SourceError(
                f"{src.url}: the chdb data folder is in use by another process; close it and try again"
            )
        self._session: Session | None = None  # None once closed
        try:
            self._session = session.Session(str(folder))
        except Exception as exc:  # another process won the race, or the folder is not ClickHouse's
            if "lock" in str(exc).lower() or "already" in str(exc).lower():
                raise SourceError(
                    f"{src.url}: the chdb data folder is in use by another process; close it and try again"
                ) from None
            raise SourceError(f"{src.url}: cannot open the chdb data folder ({_first_line(exc)})") from None
        self._settings = (
            " SETTINGS "
            + ", ".join(
                f"{k} = {json.dumps(v) if isinstance(v, int) else _quote(v)}" for k, v in SETTINGS.items()
            )
            + ", output_format_json_quote_64bit_integers = 0"
        )

    def _live(self) -> Session:
        if self._session is None:
            raise SourceError(f"{self.src.url}: the source is closed")
        return self._session

    def _query(self, sql, params, qid):
        session = self._live()
        try:
            result = session.query(_tagged(sql, qid) + self._settings, "JSONCompact", params=params or None)
        except Exception as exc:
            raise SourceError(f"{self.src.url}: the source refused a query: {_first_line(exc)}") from None
        raw = result.bytes()
        if not raw:
            return []
        # After a killed statement chdb may hand out its partial output first: the result is the
        # last document (strings inside one escape newlines, so the marker cannot occur in data).
        start = raw.rfind(b'{\n\t"meta":')
        try:
            return json.loads(raw[max(start, 0) :])["data"]
        except (ValueError, KeyError):
            raise SourceError(f"{self.src.url}: the source sent a result SegLab cannot read") from None

    def _execute(self, sql, qid):
        session = self._live()
        try:
            session.query(_tagged(sql, qid) + self._settings)
        except Exception as exc:
            raise SourceError(f"{self.src.url}: the source refused a query: {_first_line(exc)}") from None

    def _kill(self, qid: str) -> None:
        # chdb has no interruption call for a running query (chdb-io/chdb-core#74); a second
        # connection to the same folder runs beside it and KILL QUERY stops it within ~0.1 s.
        # chdb has no query ids of ours: each statement starts with a comment naming its id.
        import chdb

        killer = chdb.connect(self.src.path)
        try:
            killer.query(
                "KILL QUERY WHERE startsWith(query, {tag:String}) ASYNC",
                "JSONCompact",
                params={"tag": _tag(qid)},
            )
        except Exception:  # the statement ended meanwhile: nothing to stop
            pass
        finally:
            killer.close()

    def close(self) -> None:
        session = getattr(self, "_session", None)
        if session is not None:
            session.close()
            self._session = None


def _tag(qid: str) -> str:
    return f"/* {qid} */"


def _tagged(sql: str, qid: str) -> str:
    """The statement starting with its id (``qid`` is ``seglab-<hex>``, never user text)."""
    return f"{_tag(qid)} {sql}"


def _quote(value: str) -> str:
    # The settings are this module's constants, never user text.
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _folder_in_use(folder: Path) -> bool:
    """Whether another process holds the folder (ClickHouse locks ``status`` with flock)."""
    status = folder / "status"
    if not status.exists():
        return False
    try:
        fd = os.open(status, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


class ClickHouseClient(Client):
    """A ClickHouse server or cluster over HTTP(S) (clickhouse-connect)."""

    kind = "clickhouse"

    def __init__(self, src: SourceURL):
        super().__init__(src)
        try:
            import clickhouse_connect
        except ImportError:
            raise _driver_missing("clickhouse") from None
        self._client: HTTPClient | None = None  # None once closed
        try:
            self._client = clickhouse_connect.get_client(
                host=src.host,
                port=src.port,
                username=src.user,
                password=password_for(src) or "",
                database=src.database,
                secure=src.secure,
                settings=dict(SETTINGS),
            )
        except Exception as exc:
            raise SourceError(f"{src.url}: cannot connect to the source ({_first_line(exc)})") from None

    def _live(self) -> HTTPClient:
        if self._client is None:
            raise SourceError(f"{self.src.url}: the source is closed")
        return self._client

    def _query(self, sql, params, qid):
        client = self._live()
        try:
            result = client.query(
                sql, parameters=params or None, settings=dict(SETTINGS), transport_settings={"query_id": qid}
            )
        except Exception as exc:
            raise SourceError(f"{self.src.url}: the source refused a query: {_first_line(exc)}") from None
        return [list(row) for row in result.result_rows]

    def _execute(self, sql, qid):
        client = self._live()
        try:
            client.command(sql, settings=dict(SETTINGS), transport_settings={"query_id": qid})
        except Exception as exc:
            raise SourceError(f"{self.src.url}: the source refused a query: {_first_line(exc)}") from None

    def _kill(self, qid: str) -> None:
        # The first client is busy with the statement: a second one sends the KILL (a user may
        # always kill its own queries, readonly=2 included).
        import clickhouse_connect

        try:
            killer = clickhouse_connect.get_client(
                host=self.src.host, port=self.src.port, username=self.src.user,
                password=password_for(self.src) or "", database=self.src.database, secure=self.src.secure,
            )  # fmt: skip
            try:
                killer.command("KILL QUERY WHERE query_id = {q:String} ASYNC", parameters={"q": qid})
            finally:
                killer.close()
        except Exception:  # unreachable, or the statement ended meanwhile: nothing to stop
            pass

    def close(self) -> None:
        client = getattr(self, "_client", None)
        if client is not None:
            client.close()
            self._client = None


def open_client(src: SourceURL) -> Client:
    return ChdbClient(src) if src.kind == "chdb" else ClickHouseClient(src)
