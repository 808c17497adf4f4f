"""Users and accounts: their files (one upsert per row, properties merged), the links between
users and accounts (from a users file, derived from email domains, or from the latest event),
the conflicts when a user is linked to two accounts, and what every import refreshes afterwards
(accounts' first/last times, people search, statistics)."""

from __future__ import annotations

import csv
import json
import sqlite3
from typing import TYPE_CHECKING

from seglab.core.importing.catalogue import convert_cell
from seglab.core.importing.csvrows import BATCH_ROWS
from seglab.core.importing.filecheck import BAD_BYTE
from seglab.core.importing.rejects import csv_reason
from seglab.core.storage.schema import refresh_people_text, refresh_statistics, update_account_times

if TYPE_CHECKING:
    from seglab.core.importing.pipeline import KindRunner

TABLE = {"users": "users", "accounts": "accounts"}

EMAIL_COLUMNS = frozenset({"email", "emailaddress", "mail", "useremail", "workemail"})
FREE_MAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "outlook.com",
        "hotmail.com",
        "hotmail.co.uk",
        "live.com",
        "msn.com",
        "yahoo.com",
        "yahoo.co.uk",
        "yahoo.fr",
        "ymail.com",
        "aol.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "proton.me",
        "protonmail.com",
        "gmx.de",
        "gmx.net",
        "gmx.com",
        "web.de",
        "mail.com",
        "mail.ru",
        "yandex.ru",
        "yandex.com",
        "qq.com",
        "163.com",
        "126.com",
        "zoho.com",
        "fastmail.com",
        "hey.com",
        "t-online.de",
        "orange.fr",
        "free.fr",
        "laposte.net",
        "libero.it",
        "seznam.cz",
        "wp.pl",
        "naver.com",
    }
)


def email_domain(text: str) -> str | None:
    """The company domain of an email address, or ``None`` (no address, or free mail)."""
    local, at, domain = text.strip().lower().rpartition("@")
    if not at or not local or "." not in domain or " " in domain or domain in FREE_MAIL_DOMAINS:
        return None
    return domain


class EntityWriter:
    """The row loop of a users or accounts file: each row upserted by id, its properties merged
    with what the project holds (a missing value keeps the stored one)."""

    def __init__(self, runner: KindRunner):
        self.r = runner
        self.conn = runner.conn
        self.kind = kind = runner.cmap.kind
        self.entity = "user" if kind == "users" else "account"
        self.props = runner.props
        self.batch: list[list] = []
        fields = runner.cmap.fields
        self.id_field = "user_id" if kind == "users" else "account_id"
        self.iid = fields[self.id_field]
        self.ia = fields.get("account_id") if kind == "users" else None
        self.iemail = runner.email_column if kind == "users" and self.ia is None else None
        self.links: dict[str, int | None] = {}  # users: user id -> account key, to see a user move
        self.known: set[str] = set()  # users: the ids the project has
        if kind == "users":
            self.links = dict(
                self.conn.execute("SELECT user_id, account_key FROM users WHERE account_key IS NOT NULL")
            )
            self.known = set(self.links) | {
                u for (u,) in self.conn.execute("SELECT user_id FROM users WHERE account_key IS NULL")
            }
        cols = [self.id_field, *(p.column for p in self.props)]
        updates = [f"{p.column} = coalesce(excluded.{p.column}, {p.column})" for p in self.props]
        if kind == "users":
            cols += ["account_key", "account_from_file"]
            # A derived (email-domain) link never replaces an account named in a users file.
            updates += [
                "account_key = CASE WHEN excluded.account_from_file = 1 OR account_from_file = 0 "
                "THEN coalesce(excluded.account_key, account_key) ELSE account_key END",
                "account_from_file = max(account_from_file, excluded.account_from_file)",
            ]
        else:
            cols += ["from_file"]
            updates += ["from_file = 1"]
        # Column names are our own (p<N>, fixed names); file text only goes in as bound values.
        self.sql = (
            f"INSERT INTO {TABLE[kind]}({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))}) "
            f"ON CONFLICT({self.id_field}) DO UPDATE SET {', '.join(updates)}"
        )

    def flush(self) -> None:
        """Write the pending rows (and the accounts they named first)."""
        self.r.accounts.flush()
        if self.batch:
            self.conn.executemany(self.sql, self.batch)
            self.r.state.rows_imported += len(self.batch)
            self.batch.clear()

    def run(self, reader, prev_line: int) -> None:
        """Every row of ``reader`` (a ``csv.reader`` or :class:`~.readers.RecordRows`), the last
        line before the first row being ``prev_line``."""
        r = self.r
        line = prev_line
        while True:
            try:
                for row in reader:
                    if row:  # blank lines are no rows
                        self._row(row, line + 1, reader.line_num)
                    line = reader.line_num
                break
            except csv.Error as exc:
                r.state.rows_read += 1
                r.rejects.add(line + 1, max(line + 1, reader.line_num), csv_reason(exc))
                line = reader.line_num
        self.flush()

    def _row(self, row: list, first: int, last: int) -> None:
        """The row on lines ``first..last``: rejected with its reason, or added to the batch."""
        r = self.r
        r.state.rows_read += 1
        problem = self._problem(row, first, last)
        if problem:
            r.rejects.add(first, last, *problem)
            return
        ident = row[self.iid].strip()
        if self.kind == "accounts":
            # Registers the id (from_file = 0 for now; the upsert sets it to 1).
            if ident not in r.accounts.known:
                r.accounts.key(ident)
                r.accounts.flush()
        elif ident not in self.known:
            self.known.add(ident)
            r.state.new_users += 1
        record: list = [ident]
        for prop in self.props:
            text = row[prop.index]
            if text:
                try:
                    record.append(prop.convert(text))
                except ValueError:
                    record.append(convert_cell(self.conn, self.entity, prop, text, self.flush))
            else:
                record.append(None)
        record += self._account(row, ident) if self.kind == "users" else [1]  # accounts: from_file
        self.batch.append(record)
        if len(self.batch) >= BATCH_ROWS:
            self.flush()
            r.report()

    def _problem(self, row: list, first: int, last: int) -> tuple[str, str | None] | None:
        """(reason, category) of a row that cannot be imported; None for a good one."""
        r = self.r
        if len(row) != r.ncols:
            return f"wrong number of fields: {len(row)} instead of {r.ncols}", None
        if r.check_nul and "\x00" in "".join(row):
            return "NUL byte in the row", None
        if r.bad_utf8 and BAD_BYTE.search("".join(row)):
            return r.utf8_reason(first, last), "not valid UTF-8"
        if not row[self.iid].strip():
            return f"no {self.id_field.replace('_', ' ')}", None
        return None

    def _account(self, row: list, ident: str) -> list:
        """A users row's (account key, from the file): the account it names, or the one its email's
        domain names (never replacing a named one), or none."""
        accounts = self.r.accounts
        if self.ia is not None and row[self.ia].strip():
            ak = accounts.key(row[self.ia])
            old = self.links.get(ident)
            if old is not None and old != ak:
                self.r.state.conflicts.add(ident)
            self.links[ident] = ak
            return [ak, 1]
        if self.iemail is not None:
            domain = email_domain(row[self.iemail])
            return [accounts.key(domain) if domain else None, 0]
        return [None, 0]


def write_event_links(conn: sqlite3.Connection, state, links: dict[int, tuple[int, int]]) -> None:
    """Link users to the latest account on their events (``links``: user key → (time, account
    key)), unless a users file named their account or a later event of an earlier import did;
    note the users who now have two accounts."""
    if links:
        current = {
            k: a
            for k, a in conn.execute("SELECT user_key, account_key FROM users WHERE account_key IS NOT NULL")
        }
        conflicts = state.conflicts
        for uk, (_ts, ak) in links.items():
            old = current.get(uk)
            if old is not None and old != ak:
                conflicts.add(uk)
        conn.executemany(
            "UPDATE users SET account_key = ?, account_link_ts = ? WHERE user_key = ? "
            "AND account_from_file = 0 AND (account_link_ts IS NULL OR account_link_ts <= ?)",
            [(ak, ts, uk, ts) for uk, (ts, ak) in links.items()],
        )
    if state.conflicts:
        conn.executemany(
            "INSERT OR IGNORE INTO account_link_conflicts(user_key) VALUES (?)",
            [(k,) for k in state.conflicts],
        )
        state.conflicts_from_file = conn.execute(
            "SELECT count(*) FROM users WHERE account_from_file = 1 AND user_key IN "
            "(SELECT value FROM json_each(?))",
            (json.dumps(sorted(state.conflicts)),),
        ).fetchone()[0]


def note_users_file_conflicts(conn: sqlite3.Connection, state) -> None:
    """Record the users a users file linked to another account than the one they had (by id)."""
    if not state.conflicts:
        return
    keys = [
        (k,)
        for (k,) in (
            conn.execute("SELECT user_key FROM users WHERE user_id = ?", (uid,)).fetchone()
            for uid in state.conflicts
        )
    ]
    conn.executemany("INSERT OR IGNORE INTO account_link_conflicts(user_key) VALUES (?)", keys)
    state.conflicts_from_file = len(state.conflicts)  # a users file's link always wins


def refresh_after_import(conn: sqlite3.Connection, kind: str) -> None:
    """What every import updates in its transaction once its rows are in."""
    update_account_times(conn)
    # People search (seglab.core.search) sees the new ids and names.
    refresh_people_text(conn, new_ids_only=kind == "events")
    refresh_statistics(conn)


def account_link_conflicts(conn: sqlite3.Connection) -> int:
    """How many users have been linked to more than one account (users file or events)."""
    return conn.execute("SELECT count(*) FROM account_link_conflicts").fetchone()[0]


def account_conflict_list(conn: sqlite3.Connection, limit: int = 1000) -> list[dict]:
    """The users whose account link is in conflict (by user id, at most ``limit``): the account
    kept, where it came from (``"users file"`` or ``"latest event"``) and every account seen for
    them (on their events and in the users file)."""
    rows = conn.execute(
        "SELECT u.user_key, u.user_id, a.account_id, u.account_from_file FROM account_link_conflicts c "
        "JOIN users u ON u.user_key = c.user_key LEFT JOIN accounts a ON a.account_key = u.account_key "
        "ORDER BY u.user_id LIMIT ?",
        (limit,),
    ).fetchall()
    seen: dict[int, set[str]] = {r[0]: ({r[2]} if r[2] is not None else set()) for r in rows}
    if seen:
        for uk, account in conn.execute(
            "SELECT DISTINCT e.user_key, a.account_id FROM events e "
            "JOIN accounts a ON a.account_key = e.account_key "
            "WHERE e.account_key IS NOT NULL AND e.user_key IN (SELECT value FROM json_each(?))",
            (json.dumps(list(seen)),),
        ):
            seen[uk].add(account)
    return [
        {
            "user_id": user_id,
            "account": account,
            "kept_from": "users file" if from_file else "latest event",
            "accounts": sorted(seen[uk]),
        }
        for uk, user_id, account, from_file in rows
    ]
