"""The importer over a corpus of bad and tricky files.

Every file either imports the right rows with the right rejects, or is refused
with a clear one-sentence message; the project always passes integrity_check.
"""

from __future__ import annotations

import codecs
import csv
import io
import random
import zipfile

import pytest

from seglab.core.errors import Cancelled, ImportFileError
from seglab.core.importing import account_link_conflicts, import_file, sniff_file
from seglab.core.project import Project

HEADER = "user_id,event,timestamp\n"


def write(tmp_path, name, data):
    path = tmp_path / name
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.write_bytes(data)
    return path


def rows(conn, sql, params=()):
    return conn.execute(sql, params).fetchall()


def events(conn):
    return rows(
        conn,
        "SELECT u.user_id, n.name, e.ts FROM events e JOIN users u USING (user_key) "
        "JOIN event_names n USING (event_key) ORDER BY e.rowid",
    )


def rejects(report):
    with open(report.rejects_file, newline="", encoding="utf-8") as fh:
        return [(int(r["line"]), r["reason"], r["raw"]) for r in csv.DictReader(fh)]


def assert_intact(project):
    assert project.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


@pytest.fixture(autouse=True)
def _integrity(project):
    yield
    assert_intact(project)


# -- encodings, delimiters, line endings ------------------------------------------------------------


@pytest.mark.parametrize(
    "encoding, prefix",
    [
        ("utf-8", b""),
        ("utf-8", codecs.BOM_UTF8),
        ("utf-16-le", codecs.BOM_UTF16_LE),
        ("utf-16-be", codecs.BOM_UTF16_BE),
        ("utf-16-le", b""),
        ("cp1252", b""),
    ],
)
def test_encodings(project, tmp_path, encoding, prefix):
    text = "user_id,event,timestamp,city\nu1,login,2024-01-01,Málaga\nu2,login,2024-01-02,Zürich café\n"
    path = write(tmp_path, "enc.csv", prefix + text.encode(encoding))
    report = import_file(project, path)
    assert (report.rows_imported, report.rows_rejected) == (2, 0)
    col = project.properties("event")[0].column
    assert [r[0] for r in rows(project.conn, f"SELECT {col} FROM events ORDER BY rowid")] == [
        "Málaga",
        "Zürich café",
    ]
    assert [r[0] for r in rows(project.conn, "SELECT user_id FROM users ORDER BY user_key")] == ["u1", "u2"]


@pytest.mark.parametrize("delim", [",", ";", "\t", "|"])
def test_delimiters(project, tmp_path, delim):
    lines = [
        ["user_id", "event", "timestamp", "amount"],
        ["u1", "buy", "2024-01-01", "1,5" if delim != "," else "2"],
    ]
    lines.append(["u2", "buy", "2024-01-02", "3"])
    path = write(tmp_path, "d.csv", "\n".join(delim.join(r) for r in lines) + "\n")
    assert sniff_file(path).delimiter == delim
    report = import_file(project, path)
    assert report.rows_imported == 2
    assert report.delimiter == delim


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_line_endings(project, tmp_path, newline):
    body = newline.join([HEADER.strip(), "u1,a,2024-01-01", "u2,b", "u3,c,2024-01-03"]) + newline
    report = import_file(project, write(tmp_path, "nl.csv", body))
    assert (report.rows_read, report.rows_imported, report.rows_rejected) == (3, 2, 1)
    assert rejects(report) == [(3, "wrong number of fields: 2 instead of 3", "u2,b")]
    assert [r[0] for r in events(project.conn)] == ["u1", "u3"]


def test_blank_lines_and_no_final_newline(project, tmp_path):
    report = import_file(project, write(tmp_path, "b.csv", HEADER + "\nu1,a,2024-01-01\n\n\nu2,a,2024-01-02"))
    assert (report.rows_read, report.rows_imported, report.rows_rejected) == (2, 2, 0)


# -- ragged rows, quotes, huge fields, NUL ----------------------------------------------------------


def test_ragged_rows_are_rejected_with_line_numbers(project, tmp_path):
    body = HEADER + "u1,a,2024-01-01\nu2,a\nu3,a,2024-01-01,extra\nu4,a,2024-01-01\n"
    report = import_file(project, write(tmp_path, "r.csv", body))
    assert (report.rows_imported, report.rows_rejected) == (2, 2)
    assert rejects(report) == [
        (3, "wrong number of fields: 2 instead of 3", "u2,a"),
        (4, "wrong number of fields: 4 instead of 3", "u3,a,2024-01-01,extra"),
    ]
    assert report.rejects_file == str(tmp_path / "r.csv.rejects.csv")


def test_quoted_fields_with_delimiters_and_newlines(project, tmp_path):
    body = (
        "user_id,event,timestamp,note\n"
        'u1,a,2024-01-01,"hello, world"\n'
        'u2,a,2024-01-02,"two\nlines ""quoted"""\n'
        "u3,a,2024-01-03,plain\n"
        "u4,a\n"
    )
    report = import_file(project, write(tmp_path, "q.csv", body))
    assert (report.rows_imported, report.rows_rejected) == (3, 1)
    col = project.properties("event")[0].column
    notes = [r[0] for r in rows(project.conn, f"SELECT {col} FROM events ORDER BY rowid")]
    assert notes == ["hello, world", 'two\nlines "quoted"', "plain"]
    # The multi-line record moved line numbers on: the reject is on line 6.
    assert rejects(report)[0][0] == 6


def test_unclosed_quote_at_the_end_is_rejected(project, tmp_path):
    body = HEADER + 'u1,a,2024-01-01\nu2,"a,2024-01-02\nu3,a,2024-01-03\n'
    report = import_file(project, write(tmp_path, "uq.csv", body))
    assert report.rows_imported == 1
    assert report.rows_rejected == 1
    line, reason, raw = rejects(report)[0]
    assert line == 3 and "quote" in reason and raw.startswith('u2,"a')


def test_stray_quote_is_rejected(project, tmp_path):
    body = HEADER + 'u1,a,2024-01-01\nu2,"a"b,2024-01-02\nu3,a,2024-01-03\n'
    report = import_file(project, write(tmp_path, "sq.csv", body))
    assert (report.rows_imported, report.rows_rejected) == (2, 1)
    assert rejects(report)[0][:2] == (3, "stray quote: a quoted field must be followed by the delimiter")


@pytest.mark.parametrize("quoted", [False, True])
def test_huge_field_is_rejected(project, tmp_path, quoted):
    huge = "x" * (1024 * 1024 + 10)
    cell = f'"{huge}"' if quoted else huge
    body = "user_id,event,timestamp,blob\n" + f"u1,a,2024-01-01,{cell}\nu2,a,2024-01-02,small\n"
    report = import_file(project, write(tmp_path, "h.csv", body))
    assert (report.rows_imported, report.rows_rejected) == (1, 1)
    assert "longer than 1 MiB" in rejects(report)[0][1]
    assert [r[0] for r in events(project.conn)] == ["u2"]


def test_nul_byte_row_is_rejected(project, tmp_path):
    body = HEADER + "u1,a,2024-01-01\nu\x002,a,2024-01-02\nu3,a,2024-01-03\n"
    report = import_file(project, write(tmp_path, "nul.csv", body))
    assert (report.rows_imported, report.rows_rejected) == (2, 1)
    assert rejects(report)[0][:2] == (3, "NUL byte in the row")


def test_missing_user_id_and_event_name(project, tmp_path):
    body = HEADER + "u1,a,2024-01-01\n,a,2024-01-01\n  ,a,2024-01-01\nu2,,2024-01-01\n"
    report = import_file(project, write(tmp_path, "m.csv", body))
    assert report.rows_imported == 1
    assert [(r[0], r[1]) for r in rejects(report)] == [
        (3, "no user id"),
        (4, "no user id"),
        (5, "no event name"),
    ]
    assert rows(project.conn, "SELECT user_id FROM users") == [("u1",)]


def test_ids_are_trimmed(project, tmp_path):
    body = HEADER + "u1,login,2024-01-01\n u1 , login ,2024-01-02\n"
    import_file(project, write(tmp_path, "t.csv", body))
    assert rows(project.conn, "SELECT user_id FROM users") == [("u1",)]
    assert rows(project.conn, "SELECT name FROM event_names") == [("login",)]


# -- timestamps -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2024-03-01T12:34:56Z", 1709296496000),
        ("2024-03-01T12:34:56.789Z", 1709296496789),
        ("2024-03-01 12:34:56", 1709296496000),
        ("2024-03-01T12:34:56", 1709296496000),
        ("2024-03-01T14:34:56+02:00", 1709296496000),
        ("2024-03-01T07:34:56.5-05:00", 1709296496500),
        ("2024-03-01", 1709251200000),
        ("1709296496", 1709296496000),
        ("1709296496.789", 1709296496789),
        ("1709296496789", 1709296496789),
        ("1709296496789123", 1709296496789),
        ("2024-03-01T12:34:56.789123456Z", 1709296496789),
        ("2024-03-01T12:34:56.7899Z", 1709296496789),
    ],
)
def test_timestamp_forms(project, tmp_path, text, expected):
    # Twice: once alone (numpy batch path) and once among offsets (cell-by-cell path).
    body = HEADER + f"u1,a,{text}\nu2,a,2024-03-01T12:00:00+01:00\n"
    import_file(project, write(tmp_path, "ts.csv", body))
    assert events(project.conn)[0][2] == expected
    import_file(project, write(tmp_path, "ts2.csv", HEADER + f"u1,a,{text}\n"))
    assert events(project.conn)[2][2] == expected


@pytest.mark.parametrize(
    "text, why",
    [
        ("yesterday", "not a recognised date or time"),
        ("12", "plausible"),
        ("99999999999999999999", "too large"),
        ("2024-13-01", "not a recognised"),
        ("NaT", "not a recognised"),
        ("1850-01-01", "outside"),
    ],
)
def test_bad_timestamps_are_rejected(project, tmp_path, text, why):
    body = HEADER + f"u1,a,2024-01-01\nu2,a,{text}\n"
    report = import_file(project, write(tmp_path, "bt.csv", body))
    assert (report.rows_imported, report.rows_rejected) == (1, 1)
    line, reason, _raw = rejects(report)[0]
    assert line == 3 and reason.startswith("bad timestamp") and why in reason


def test_ambiguous_dates_need_a_format(project, tmp_path):
    body = HEADER + "u1,a,01/02/2024 10:00\nu2,a,13/02/2024 11:00\n"
    path = write(tmp_path, "amb.csv", body)
    with pytest.raises(ImportFileError, match=r"day/month or month/day.*--date-format"):
        import_file(project, path)
    assert project.conn.execute("SELECT count(*) FROM events").fetchone()[0] == 0
    report = import_file(project, path, date_format="%d/%m/%Y %H:%M")
    assert report.rows_imported == 2
    assert [r[2] for r in events(project.conn)] == [1706781600000, 1707822000000]


def test_source_time_zone(project, tmp_path):
    body = HEADER + "u1,a,2024-07-01 12:00:00\nu1,a,2024-07-01T12:00:00Z\n"
    import_file(project, write(tmp_path, "tz.csv", body), timezone="Europe/Berlin")
    assert [r[2] for r in events(project.conn)] == [1719828000000, 1719835200000]


# -- empty, header-only, binary ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "the file is empty"),
        (b"user_id,event,timestamp\n", "no data rows"),
        (b"\n\n\n", "no column names"),
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "a PNG image"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + bytes(300), "a PDF document"),
        (b"SQLite format 3\x00" + bytes(200), "an SQLite database"),
    ],
)
def test_refused_files(project, tmp_path, data, message):
    path = write(tmp_path, "bad.csv", data)
    with pytest.raises(ImportFileError, match=message) as info:
        import_file(project, path)
    assert "\n" not in str(info.value)
    assert project.conn.execute("SELECT count(*) FROM imports").fetchone()[0] == 0


def test_random_bytes_are_refused(project, tmp_path):
    data = random.Random(7).randbytes(20000)
    with pytest.raises(ImportFileError, match="binary data"):
        import_file(project, write(tmp_path, "rnd.csv", data))


@pytest.mark.parametrize("xlsx", [True, False])
def test_zip_and_xlsx_are_refused(project, tmp_path, xlsx):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        if xlsx:
            zf.writestr("[Content_Types].xml", "<Types/>")
            zf.writestr("xl/workbook.xml", "<workbook/>")
        else:
            zf.writestr("data.csv", HEADER)
    expected = "Excel workbook" if xlsx else "zip archive"
    with pytest.raises(ImportFileError, match=expected):
        import_file(project, write(tmp_path, "book.xlsx", buf.getvalue()))


def test_missing_file_and_folder(project, tmp_path):
    with pytest.raises(ImportFileError, match="no such file"):
        import_file(project, tmp_path / "nope.csv")
    with pytest.raises(ImportFileError, match="is a folder"):
        import_file(project, tmp_path)


def test_headerless_file_is_explained(project, tmp_path):
    with pytest.raises(ImportFileError, match="first line looks like data"):
        import_file(project, write(tmp_path, "nh.csv", "1,2024-01-01,3\n2,2024-01-02,4\n"))


def test_unknown_kind_names_the_columns(project, tmp_path):
    with pytest.raises(ImportFileError, match=r"cannot tell what kind.*'colour'"):
        import_file(project, write(tmp_path, "k.csv", "colour,size\nred,2\n"))


# -- hostile headers and values ---------------------------------------------------------------------


def test_hostile_headers_keep_their_names(project, tmp_path):
    header = ["user_id", "event", "timestamp", '"; DROP TABLE users; --', "select", "rowid", "dup", "dup", ""]
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(header)
    w.writerow(["u1", "a", "2024-01-01", "'; DELETE FROM events; --", "1", "2", "x", "y", "z"])
    report = import_file(project, write(tmp_path, "hostile.csv", buf.getvalue()))
    assert report.rows_imported == 1
    names = [p.name for p in project.properties("event")]
    assert names == ['"; DROP TABLE users; --', "select", "rowid", "dup", "dup (2)", "column 9"]
    assert all(p.column.startswith("p") and p.column[1:].isdigit() for p in project.properties("event"))
    first = project.properties("event")[0].column
    assert rows(project.conn, f"SELECT {first} FROM events") == [("'; DELETE FROM events; --",)]
    assert rows(project.conn, "SELECT count(*) FROM users") == [(1,)]


# -- types and widening -----------------------------------------------------------------------------


def test_type_inference(project, tmp_path):
    body = (
        "user_id,event,timestamp,n,price,flag,when,zip,word\n"
        "u1,a,2024-01-01,1,1.5,true,2024-02-01T10:00:00Z,00123,x\n"
        "u2,a,2024-01-02,-2,2,false,2024-02-02,12345,y\n"
        "u3,a,2024-01-03,,,,,,\n"
    )
    import_file(project, write(tmp_path, "types.csv", body))
    types = {p.name: p.type for p in project.properties("event")}
    assert types == {
        "n": "integer",
        "price": "real",
        "flag": "boolean",
        "when": "datetime",
        "zip": "text",
        "word": "text",
    }
    cols = {p.name: p.column for p in project.properties("event")}
    got = rows(
        project.conn,
        f"SELECT {cols['n']}, {cols['price']}, {cols['flag']}, {cols['when']}, "
        f"{cols['zip']} FROM events ORDER BY rowid",
    )
    assert got == [
        (1, 1.5, 1, 1706781600000, "00123"),
        (-2, 2.0, 0, 1706832000000, "12345"),
        (None, None, None, None, None),
    ]


def test_widening_later_in_the_file_converts_stored_values(project, tmp_path, monkeypatch):
    from seglab.core.importing import catalogue

    monkeypatch.setattr(catalogue, "TYPE_SAMPLE_ROWS", 5)
    lines = [f"u{i},a,2024-01-01,{i},{i},true" for i in range(30)]
    lines.append("u99,a,2024-01-02,2.5,n/a,maybe")
    body = "user_id,event,timestamp,num,code,flag\n" + "\n".join(lines) + "\n"
    report = import_file(project, write(tmp_path, "w.csv", body))
    assert report.rows_imported == 31
    types = {p.name: p.type for p in project.properties("event")}
    assert types == {"num": "real", "code": "text", "flag": "text"}
    cols = {p.name: p.column for p in project.properties("event")}
    got = rows(
        project.conn, f"SELECT {cols['num']}, {cols['code']}, {cols['flag']} FROM events ORDER BY rowid"
    )
    assert got[3] == (3.0, "3", "true")
    assert got[-1] == (2.5, "n/a", "maybe")


def test_second_import_widens_existing_property(project, tmp_path):
    import_file(project, write(tmp_path, "a.csv", HEADER.strip() + ",size\nu1,a,2024-01-01,3\n"))
    import_file(project, write(tmp_path, "b.csv", HEADER.strip() + ",size\nu1,a,2024-01-02,large\n"))
    (prop,) = project.properties("event")
    assert prop.type == "text"
    assert rows(project.conn, f"SELECT {prop.column} FROM events ORDER BY rowid") == [("3",), ("large",)]


# -- users, accounts, links -------------------------------------------------------------------------


def test_users_upsert_overwrites_carried_values_and_keeps_others(project, tmp_path):
    import_file(project, write(tmp_path, "u1.csv", "user_id,plan,country\nu1,free,DE\nu2,pro,FR\n"))
    import_file(project, write(tmp_path, "u2.csv", "user_id,plan,age\nu1,pro,31\nu3,free,\n"))
    cols = {p.name: p.column for p in project.properties("user")}
    got = rows(
        project.conn,
        f"SELECT user_id, {cols['plan']}, {cols['country']}, {cols['age']} FROM users ORDER BY user_id",
    )
    assert got == [("u1", "pro", "DE", 31), ("u2", "pro", "FR", None), ("u3", "free", None, None)]


def test_accounts_file_and_account_links(project, tmp_path):
    import_file(project, write(tmp_path, "acc.csv", "account_id,tier\na1,gold\na2,free\n"))
    import_file(project, write(tmp_path, "users.csv", "user_id,account_id\nu1,a1\n"))
    body = (
        "user_id,event,timestamp,account_id\n"
        "u1,a,2024-01-01,a2\n"  # the users file's account wins for u1: a conflict, counted
        "u2,a,2024-01-01,a1\n"
        "u2,a,2024-01-05,a3\n"  # u2's latest event names a3: that is the link
        "u3,a,2024-01-01,\n"
    )
    report = import_file(project, write(tmp_path, "ev.csv", body))
    links = dict(
        rows(
            project.conn,
            "SELECT u.user_id, a.account_id FROM users u LEFT JOIN accounts a USING (account_key)",
        )
    )
    assert links == {"u1": "a1", "u2": "a3", "u3": None}
    assert report.account_conflicts == 2
    assert account_link_conflicts(project.conn) == 2
    from_file = dict(rows(project.conn, "SELECT account_id, from_file FROM accounts"))
    assert from_file == {"a1": 1, "a2": 1, "a3": 0}


def test_events_roll_up_and_first_last(project, tmp_path):
    body = HEADER + "u1,a,2024-01-01T10:00:00Z\nu1,a,2024-01-01T12:00:00Z\nu1,b,2024-01-02T00:00:00Z\n"
    import_file(project, write(tmp_path, "e1.csv", body))
    import_file(project, write(tmp_path, "e2.csv", HEADER + "u1,a,2024-01-01T08:00:00Z\n"))
    got = rows(project.conn, "SELECT event_key, day, n, first_ts, last_ts FROM user_days ORDER BY 1, 2")
    assert got == [(1, 19723, 3, 1704096000000, 1704110400000), (2, 19724, 1, 1704153600000, 1704153600000)]
    assert rows(project.conn, "SELECT first_ts, last_ts FROM users") == [(1704096000000, 1704153600000)]


def test_accounts_first_and_last_follow_their_users(project, tmp_path):
    acc = "account_id\nA1\nA2\nA3\n"
    import_file(project, write(tmp_path, "a.csv", acc))
    import_file(project, write(tmp_path, "u.csv", "user_id,account_id\nu1,A1\nu2,A1\n"))
    # Statistics from now (every user's times NULL) once led SQLite to a per-account skip-scan.
    project.conn.execute("ANALYZE")
    ev = "user_id,event,timestamp,account_id\n"
    body = ev + "u1,a,2024-01-01T10:00:00Z,\nu2,a,2024-01-03T00:00:00Z,\nu4,a,2024-01-02T00:00:00Z,A2\n"
    import_file(project, write(tmp_path, "e1.csv", body))
    expected = "SELECT account_id, first_ts, last_ts FROM accounts ORDER BY 1"
    assert rows(project.conn, expected) == [
        ("A1", 1704103200000, 1704240000000),
        ("A2", 1704153600000, 1704153600000),
        ("A3", None, None),
    ]
    # u4's later event names A3: u4 moves, A2 is left without users, A1's last event grows.
    body = ev + "u4,b,2024-01-05T00:00:00Z,A3\nu1,b,2024-01-06T00:00:00Z,\n"
    import_file(project, write(tmp_path, "e2.csv", body))
    assert rows(project.conn, expected) == [
        ("A1", 1704103200000, 1704499200000),
        ("A2", None, None),
        ("A3", 1704153600000, 1704412800000),
    ]
    assert rows(project.conn, expected) == rows(
        project.conn,
        "SELECT a.account_id, min(u.first_ts), max(u.last_ts) FROM accounts a "
        "LEFT JOIN users u ON u.account_key = a.account_key GROUP BY a.account_key ORDER BY 1",
    )


def test_sparse_numeric_properties_get_a_partial_index(project, tmp_path):
    lines = ["user_id,event,timestamp,amount,duration,label"]
    for i in range(40):
        amount = f"{i}.5" if i % 10 == 0 else ""  # on a tenth of the events: sparse
        lines.append(
            f"u{i % 7},{'buy' if amount else 'view'},2024-01-01T00:{i:02d}:00Z,{amount},{i},x{i % 3}"
        )
    import_file(project, write(tmp_path, "sparse.csv", "\n".join(lines) + "\n"))
    columns = dict(rows(project.conn, "SELECT name, column_name FROM properties WHERE entity = 'event'"))
    indexes = {r[0] for r in rows(project.conn, "SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert f"events_{columns['amount']}_set" in indexes
    assert f"events_{columns['duration']}_set" not in indexes  # on every event
    assert f"events_{columns['label']}_set" not in indexes  # text
    # The compiled segment "spent >= 10 in total" reads it.
    from seglab.core.segments import load_definition
    from seglab.core.segments.compiler import compile_count

    spent = {"type": "behavior", "event": "buy", "measure": {"fn": "sum", "property": "amount"}}
    spent["compare"] = {"op": "gte", "value": 10}
    q = compile_count(project.conn, load_definition({"level": "user", "conditions": [spent]}), None)
    plan = rows(project.conn, "EXPLAIN QUERY PLAN " + q.sql, q.params)
    assert f"events_{columns['amount']}_set" in str(plan)


def test_a_numeric_property_first_seen_after_the_first_batch_is_judged_then(project, tmp_path):
    from seglab.core.importing.csvrows import BATCH_ROWS

    lines = ["user_id,event,timestamp,amount"]
    for i in range(BATCH_ROWS + 500):
        amount = "3" if i > BATCH_ROWS and i % 10 == 0 else ""
        lines.append(f"u{i % 50},{'buy' if amount else 'view'},{1704067200 + i},{amount}")
    # (Typed by hand: the first 1,000 rows, the type sample, hold no value.)
    import_file(project, write(tmp_path, "late.csv", "\n".join(lines) + "\n"), types={"amount": "integer"})
    (column,) = rows(project.conn, "SELECT column_name FROM properties WHERE name = 'amount'")[0]
    assert rows(
        project.conn, "SELECT count(*) FROM sqlite_master WHERE name = ?", (f"events_{column}_set",)
    ) == [(1,)]


# -- duplicates, strict, cancel ---------------------------------------------------------------------


def test_same_content_is_refused_unless_forced(project, tmp_path):
    path = write(tmp_path, "dup.csv", HEADER + "u1,a,2024-01-01\n")
    import_file(project, path)
    other = write(tmp_path, "renamed.csv", HEADER + "u1,a,2024-01-01\n")
    with pytest.raises(ImportFileError, match=r"already imported.*--force"):
        import_file(project, other)
    import_file(project, other, force=True)
    assert project.conn.execute("SELECT count(*) FROM events").fetchone()[0] == 2
    assert project.conn.execute("SELECT count(*) FROM imports").fetchone()[0] == 2


def test_insert_id_deduplicates_events(project, tmp_path):
    body = "user_id,event,timestamp,insert_id\nu1,a,2024-01-01,x1\nu1,a,2024-01-01,x1\nu1,a,2024-01-02,x2\n"
    report = import_file(project, write(tmp_path, "i1.csv", body))
    assert (report.rows_imported, report.duplicates_skipped) == (2, 1)
    body2 = "user_id,event,timestamp,insert_id\nu1,a,2024-01-02,x2\nu1,a,2024-01-03,x3\n"
    report = import_file(project, write(tmp_path, "i2.csv", body2))
    assert (report.rows_imported, report.duplicates_skipped) == (1, 1)
    assert rows(project.conn, "SELECT sum(n) FROM user_days") == [(3,)]


def test_strict_imports_nothing_when_rows_are_rejected(project, tmp_path):
    body = HEADER + "u1,a,2024-01-01\nu2,a,garbage\n"
    report = import_file(project, write(tmp_path, "s.csv", body), strict=True)
    assert not report.committed
    assert (report.rows_imported, report.rows_rejected) == (0, 1)
    assert rejects(report)[0][0] == 3
    for table in ("events", "users", "event_names", "imports", "properties"):
        assert project.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0


class CancelAfter:
    def __init__(self, reports):
        self.left = reports

    def report(self, done, total=None, text=""):
        self.left -= 1

    def is_cancelled(self):
        return self.left <= 0


def test_cancel_leaves_the_project_unchanged(project, tmp_path):
    import_file(project, write(tmp_path, "first.csv", HEADER + "u0,a,2024-01-01\n"))
    lines = [f"u{i % 50},e{i % 7},2024-01-01T00:00:{i % 60:02d}Z,{i}" for i in range(150_000)]
    path = write(tmp_path, "big.csv", "user_id,event,timestamp,n\n" + "\n".join(lines) + "\n")
    with pytest.raises(Cancelled):
        import_file(project, path, progress=CancelAfter(2))
    assert project.conn.execute("SELECT count(*) FROM events").fetchone()[0] == 1
    assert project.conn.execute("SELECT count(*) FROM users").fetchone()[0] == 1
    assert project.conn.execute("SELECT count(*) FROM properties").fetchone()[0] == 0
    assert not project.conn.in_transaction
    assert import_file(project, path).rows_imported == 150_000


# -- big files: batches, chunks and the switch to csv.reader ----------------------------------------


def test_reject_line_numbers_across_chunks_and_modes(project, tmp_path):
    n = 120_000
    lines = []
    for i in range(n):
        if i == 30_000:
            lines.append("u1,a")  # ragged, in the str.split path
        elif i == 70_000:
            lines.append('u1,"quoted, event",2024-01-01')  # switches to csv.reader from here
        elif i == 90_000:
            lines.append("u1,a,notatime")
        else:
            lines.append(f"u{i % 97},e{i % 5},{1704067200 + i}")
    path = write(tmp_path, "big.csv", HEADER + "\n".join(lines) + "\n")
    report = import_file(project, path)
    assert (report.rows_read, report.rows_imported, report.rows_rejected) == (n, n - 2, 2)
    assert [(r[0], r[2]) for r in rejects(report)] == [(30_002, "u1,a"), (90_002, "u1,a,notatime")]
    assert project.conn.execute("SELECT sum(n) FROM user_days").fetchone()[0] == n - 2
    assert ("quoted, event",) in rows(project.conn, "SELECT name FROM event_names")


def test_reopened_project_sees_the_import(tmp_path):
    path = tmp_path / "p.seglab"
    with Project.create(path) as project:
        import_file(project, write(tmp_path, "e.csv", HEADER + "u1,a,2024-01-01\n"))
    with Project.open(path, readonly=True) as project:
        assert project.info()["events"] == 1


def test_accounts_from_email_domains(project, tmp_path):
    import_file(project, write(tmp_path, "pinned.csv", "user_id,account_id\nu4,acme\n"))
    body = (
        "user_id,email\n"
        "u1,ann@Acme.example\n"
        "u2,bob@acme.example\n"
        "u3,carol@gmail.com\n"
        "u4,dan@other.example\n"  # named in a users file before: the derived domain does not replace it
        "u5,not an address\n"
    )
    report = import_file(project, write(tmp_path, "people.csv", body), accounts_from_email=True)
    assert report.rows_imported == 5
    links = dict(
        rows(
            project.conn,
            "SELECT u.user_id, a.account_id FROM users u LEFT JOIN accounts a USING (account_key)",
        )
    )
    assert links == {"u1": "acme.example", "u2": "acme.example", "u3": None, "u4": "acme", "u5": None}
    with pytest.raises(ImportFileError, match="no email column"):
        import_file(
            project, write(tmp_path, "noemail.csv", "user_id,plan\nu9,pro\n"), accounts_from_email=True
        )


class Recorder:
    def __init__(self):
        self.calls = []

    def report(self, done, total=None, text=""):
        self.calls.append((done, total, text))

    def is_cancelled(self):
        return False


def test_progress_reports_rows_and_rate(project, tmp_path):
    lines = [f"u{i % 50},e{i % 7},{1704067200 + i}" for i in range(150_000)]
    path = write(tmp_path, "p.csv", HEADER + "\n".join(lines) + "\n")
    progress = Recorder()
    import_file(project, path, progress=progress)
    size = path.stat().st_size
    fractions = [done / total for done, total, _ in progress.calls if total]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any(text.endswith("rows/s") and "rows, " in text for _, _, text in progress.calls)
    assert all(total == size for _, total, _ in progress.calls)


def test_plain_sqlite_connection_works(tmp_path):
    from seglab.core.storage.connection import connect

    path = tmp_path / "c.seglab"
    Project.create(path).close()
    conn = connect(path)
    try:
        report = import_file(conn, write(tmp_path, "e.csv", HEADER + "u1,a,2024-01-01\n"))
        assert report.rejects_file is None and report.rows_imported == 1
        assert conn.execute("SELECT count(*) FROM events").fetchone()[0] == 1
    finally:
        conn.close()


def test_busy_project_is_a_clear_error(project, tmp_path):
    from seglab.core.errors import UserError
    from seglab.core.storage.connection import connect

    other = connect(project.path)
    other.execute("PRAGMA busy_timeout = 0")
    project.conn.execute("PRAGMA busy_timeout = 0")
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(UserError, match="project is busy"):
            import_file(project, write(tmp_path, "e.csv", HEADER + "u1,a,2024-01-01\n"))
    finally:
        other.execute("ROLLBACK")
        other.close()
        project.conn.execute("PRAGMA busy_timeout = 5000")
    assert import_file(project, tmp_path / "e.csv").rows_imported == 1


def test_an_import_refreshes_the_users_statistics(project, tmp_path):
    """Statistics taken after a users file (every first_ts NULL) are refreshed by the events
    import that fills the times in; a project without statistics gets none."""
    import_file(
        project, write(tmp_path, "u.csv", "user_id,plan\n" + "".join(f"u{i},p{i % 2}\n" for i in range(40)))
    )
    stat = "SELECT stat FROM sqlite_stat1 WHERE idx = 'users_first_ts'"
    assert not rows(project.conn, "SELECT name FROM sqlite_master WHERE name = 'sqlite_stat1'")
    project.conn.execute("ANALYZE")  # what PRAGMA optimize does when the project closes
    assert rows(project.conn, stat) == [("40 40 40",)]  # all 40 share one value (NULL)
    body = "".join(f"u{i},login,2024-01-01T00:{i:02d}:00Z\n" for i in range(40))
    import_file(project, write(tmp_path, "e.csv", "user_id,event,timestamp\n" + body))
    assert rows(project.conn, stat) == [("40 1 1",)]  # now each user's own
