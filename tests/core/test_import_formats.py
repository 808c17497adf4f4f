"""Parquet, JSON lines and gzip/zstd files, and the Mixpanel and Amplitude export shapes.

Real files: written by hand (JSON lines, CSV) and by pyarrow (Parquet, zstd), then
imported into real projects. The same rows in every format must give the same tables
as the CSV import of them.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from seglab.core.errors import ImportFileError
from seglab.core.importing import import_file, preview, sniff_file
from seglab.core.project import Project

UTC = dt.UTC


def rejects(report):
    with open(report.rejects_file, newline="", encoding="utf-8") as fh:
        return [(int(r["line"]), r["reason"], r["raw"]) for r in csv.DictReader(fh)]


def zstd(path, data: bytes):
    with pa.CompressedOutputStream(str(path), "zstd") as out:
        out.write(data)
    return path


def snapshot(conn) -> dict:
    """Every table an import writes, with keys replaced by the ids they stand for."""
    props = {
        (entity, name): (column, typ)
        for entity, name, column, typ in conn.execute(
            "SELECT entity, name, column_name, type FROM properties"
        )
    }
    event_cols = [column for (entity, _), (column, _) in sorted(props.items()) if entity == "event"]
    select = ", ".join(f"e.{c}" for c in event_cols)
    events = conn.execute(
        "SELECT u.user_id, n.name, e.ts, a.account_id, e.insert_id"
        + (f", {select}" if select else "")
        + " FROM events e JOIN users u USING (user_key) JOIN event_names n USING (event_key) "
        "LEFT JOIN accounts a ON a.account_key = e.account_key ORDER BY e.rowid"
    ).fetchall()
    return {
        "properties": sorted((e, n, t) for (e, n), (_, t) in props.items()),
        "events": events,
        "users": conn.execute(
            "SELECT u.user_id, a.account_id, u.first_ts, u.last_ts FROM users u "
            "LEFT JOIN accounts a USING (account_key) ORDER BY u.user_id"
        ).fetchall(),
        "accounts": conn.execute(
            "SELECT account_id, from_file, first_ts, last_ts FROM accounts ORDER BY account_id"
        ).fetchall(),
        "user_days": conn.execute(
            "SELECT u.user_id, n.name, d.day, d.n, d.first_ts, d.last_ts FROM user_days d "
            "JOIN users u USING (user_key) JOIN event_names n USING (event_key) ORDER BY 1, 2, 3"
        ).fetchall(),
        "event_days": conn.execute(
            "SELECT n.name, d.day, d.n FROM event_days d JOIN event_names n USING (event_key) ORDER BY 1, 2"
        ).fetchall(),
    }


# -- the same rows in every format --------------------------------------------------------------

N = 2500  # more than the 1,000-row type sample and one Parquet row group


def base_rows():
    start = dt.datetime(2024, 1, 1, tzinfo=UTC)
    rows = []
    for i in range(N):
        ts = start + dt.timedelta(minutes=37 * i, milliseconds=i % 1000)
        rows.append(
            {
                "user_id": f"u{i % 97}",
                "event": ("signup", "open", "purchase")[i % 3],
                "timestamp": ts,
                "account_id": f"acme{i % 7}" if i % 5 else None,
                "insert_id": f"id{i}" if i != 10 else "id9",  # one duplicate
                "plan": ("free", "pro", None)[i % 3],
                "amount": (12.5, 1.0, None, 0.1)[i % 4],
                "seats": (3, None, 40)[i % 3],
                "trial": (True, False, None)[i % 3],
                "renewal": start + dt.timedelta(days=i % 30) if i % 2 else None,
            }
        )
    return rows


def csv_text(rows) -> str:
    def cell(value):
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, dt.datetime):
            return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
        return str(value)

    lines = [",".join(rows[0])]
    lines += [",".join(cell(v) for v in row.values()) for row in rows]
    return "\n".join(lines) + "\n"


def jsonl_text(rows) -> str:
    def value(v):
        if isinstance(v, dt.datetime):
            return v.strftime("%Y-%m-%dT%H:%M:%S.") + f"{v.microsecond // 1000:03d}Z"
        return v

    return "".join(json.dumps({k: value(v) for k, v in row.items()}) + "\n" for row in rows)


def parquet_table(rows) -> pa.Table:
    cols = {k: [r[k] for r in rows] for k in rows[0]}
    return pa.table(
        {
            "user_id": pa.array(cols["user_id"]).dictionary_encode(),
            "event": pa.array(cols["event"], pa.large_string()),
            "timestamp": pa.array(cols["timestamp"], pa.timestamp("us", tz="UTC")),
            "account_id": pa.array(cols["account_id"], pa.string()),
            "insert_id": pa.array(cols["insert_id"], pa.string()),
            "plan": pa.array(cols["plan"], pa.string()),
            "amount": pa.array(cols["amount"], pa.float64()),
            "seats": pa.array(cols["seats"], pa.int32()),
            "trial": pa.array(cols["trial"], pa.bool_()),
            "renewal": pa.array(cols["renewal"], pa.timestamp("ms", tz="Europe/Berlin")),
        }
    )


def _import_snapshot(tmp_path, name, path) -> tuple[dict, object]:
    project = Project.create(tmp_path / f"{name}.seglab")
    try:
        report = import_file(project, path)
        return snapshot(project.conn), report
    finally:
        project.close()


def test_the_same_rows_in_every_format_give_the_same_tables(tmp_path):
    rows = base_rows()
    text = csv_text(rows)
    lines = jsonl_text(rows)
    (tmp_path / "ev.csv").write_text(text)
    files = {
        "csv.gz": (tmp_path / "ev.csv.gz", gzip.compress(text.encode())),
        "jsonl": (tmp_path / "ev.jsonl", lines.encode()),
        "ndjson.gz": (tmp_path / "ev.ndjson.gz", gzip.compress(lines.encode())),
    }
    for path, data in files.values():
        path.write_bytes(data)
    zstd(tmp_path / "ev.csv.zst", text.encode())
    zstd(tmp_path / "ev.jsonl.zst", lines.encode())
    pq.write_table(parquet_table(rows), tmp_path / "ev.parquet", row_group_size=700)

    expected, csv_report = _import_snapshot(tmp_path, "csv", tmp_path / "ev.csv")
    assert csv_report.rows_imported == N - 1 and csv_report.duplicates_skipped == 1
    assert dict(csv_report.properties) == {
        "plan": "text",
        "amount": "real",
        "seats": "integer",
        "trial": "boolean",
        "renewal": "datetime",
    }
    for name in ("ev.csv.gz", "ev.csv.zst", "ev.jsonl", "ev.ndjson.gz", "ev.jsonl.zst", "ev.parquet"):
        got, report = _import_snapshot(tmp_path, name, tmp_path / name)
        assert (report.rows_read, report.rows_imported, report.rows_rejected) == (N, N - 1, 0), name
        assert report.duplicates_skipped == 1
        for table in expected:
            assert got[table] == expected[table], (name, table)
    assert report.format == "Parquet"


# -- JSON lines -------------------------------------------------------------------------------------


def test_json_lines_nesting_arrays_and_rejects(project, tmp_path):
    path = tmp_path / "ev.jsonl"
    path.write_text(
        '{"user_id": "u1", "event": "open", "timestamp": "2024-01-01T00:00:00Z", '
        '"properties": {"plan": "pro", "seats": 3, "geo": {"country": "DE"}}, "tags": ["a", "b"]}\n'
        "\n"
        '["not", "an", "object"]\n'
        '{"user_id": "u2", "event": "open", "timestamp": "2024-01-02T00:00:00Z"}\n'
        "{broken\n"
        '{"user_id": "u3", "event": "open", "timestamp": "yesterday"}\n'
        '{"user_id": "", "event": "open", "timestamp": "2024-01-03T00:00:00Z"}\n'
        '{"user_id": "u4", "event": "open", "timestamp": 1704326400, "late": {"score": 0.5}}\n'
    )
    report = import_file(project, path)
    assert (report.rows_read, report.rows_imported, report.rows_rejected) == (7, 3, 4)
    assert dict(report.properties) == {
        "properties.plan": "text",
        "properties.seats": "integer",
        "properties.geo.country": "text",
        "tags": "text",
        "late.score": "real",  # only on the last line: the scan of every line finds it
    }
    got = rejects(report)
    assert [(line, reason.split(":")[0]) for line, reason, _ in got] == [
        (3, "not a JSON object"),
        (5, "not valid JSON"),
        (6, "bad timestamp 'yesterday'"),
        (7, "no user id"),
    ]
    assert got[0][2] == '["not", "an", "object"]'
    assert got[1][2] == "{broken"
    values = project.conn.execute(
        "SELECT p1, p2, p3, p4, p5 FROM events ORDER BY ts"
    ).fetchall()  # in catalogue order
    assert values[0] == ("pro", 3, "DE", '["a","b"]', None)
    assert values[2] == (None, None, None, None, 0.5)
    assert report.format == "JSON lines" and report.shape is None


def test_json_lines_users_file_and_bom(project, tmp_path):
    path = tmp_path / "users.ndjson"
    path.write_bytes(
        b"\xef\xbb\xbf"
        + b'{"user_id": "u1", "account_id": "a1", "profile": {"plan": "pro"}}\n'
        + b"42\n"
        + b'{"user_id": "u2", "profile": {"plan": "free", "beta": true}}\n'
        + b'{"user_id": "  ", "profile": {"plan": "x"}}\n'
    )
    report = import_file(project, path)
    assert report.kind == "users"
    assert (report.rows_read, report.rows_imported, report.rows_rejected) == (4, 2, 2)
    assert [(line, reason) for line, reason, _ in rejects(report)] == [
        (2, "not a JSON object: a number"),
        (4, "no user id"),
    ]
    assert project.conn.execute(
        "SELECT u.user_id, a.account_id, u.p1, u.p2 FROM users u LEFT JOIN accounts a USING (account_key) "
        "ORDER BY 1"
    ).fetchall() == [("u1", "a1", "pro", None), ("u2", None, "free", 1)]


def test_a_json_array_file_gets_a_sentence(project, tmp_path):
    path = tmp_path / "ev.json"
    path.write_text('[{"user_id": "u1", "event": "a", "timestamp": "2024-01-01"}]\n')
    with pytest.raises(ImportFileError, match="a JSON array, not JSON lines"):
        import_file(project, path)


# -- Mixpanel and Amplitude -------------------------------------------------------------------------

MIXPANEL = (
    '{"event":"Signed Up","properties":{"time":1602611311,"$insert_id":"hpuDqcvp","distinct_id":"user123",'
    '"mp_processing_time_ms":1602625711874,"$email":"a@b.co","company_id":"acme"}}\n'
    '{"event":"Purchase","properties":{"time":1602787121,"$insert_id":"jajcebut","distinct_id":"user123",'
    '"Amount":5.0,"Item":"Coffee"}}\n'
    '{"event":"Purchase","properties":{"time":1602787121,"$insert_id":"jajcebut","distinct_id":"user123",'
    '"Amount":5.0,"Item":"Coffee"}}\n'
    '{"event":"Purchase","properties":{"time":1602787122500,"distinct_id":"user456","Amount":7}}\n'
    '{"event":"Purchase","properties":{"time":1602787123}}\n'
)


def test_mixpanel_export_maps_itself(project, tmp_path):
    path = tmp_path / "export.json"
    path.write_text(MIXPANEL)
    assert sniff_file(path).shape.name == "mixpanel"
    assert preview(path).mapping.to_dict() == {
        "user_id": "properties.distinct_id",
        "timestamp": "properties.time",
        "event": "event",
        "insert_id": "properties.$insert_id",
        "account_id": "properties.company_id",
    }
    report = import_file(project, path)
    assert report.shape == "Mixpanel export"
    assert (report.rows_read, report.rows_imported, report.duplicates_skipped, report.rows_rejected) == (
        5,
        3,
        1,
        1,
    )
    assert rejects(report)[0][:2] == (5, "no user id")
    assert project.conn.execute(
        "SELECT u.user_id, n.name, e.ts, e.insert_id FROM events e JOIN users u USING (user_key) "
        "JOIN event_names n USING (event_key) ORDER BY e.rowid"
    ).fetchall() == [
        ("user123", "Signed Up", 1602611311000, "hpuDqcvp"),
        ("user123", "Purchase", 1602787121000, "jajcebut"),
        ("user456", "Purchase", 1602787122500, None),  # time_in_ms exports: milliseconds
    ]
    assert dict(report.properties) == {
        "properties.mp_processing_time_ms": "integer",
        "properties.$email": "text",
        "properties.Amount": "real",
        "properties.Item": "text",
    }
    assert project.conn.execute("SELECT account_id FROM accounts").fetchall() == [("acme",)]


def test_an_explicit_map_wins_over_the_shape(project, tmp_path):
    path = tmp_path / "export.jsonl"
    path.write_text(MIXPANEL.replace('"Item":"Coffee"', '"Item":"Coffee","$user_id":"u-real"'))
    report = import_file(project, path, mapping={"insert_id": ""})
    assert report.mapping["user_id"] == "properties.distinct_id"
    assert "insert_id" not in report.mapping and report.duplicates_skipped == 0


AMPLITUDE = (
    '{"$insert_id":"5f0adeff","amplitude_id":1234,"app":1,"city":"Berlin","device_id":"d1",'
    '"event_id":1,"event_properties":{"plan":"pro","seats":4},"event_time":"2024-01-01 10:00:00.123000",'
    '"event_type":"open","groups":{"company":["acme"]},"user_id":"b1","user_properties":{"role":"admin"},'
    '"uuid":"9f3c"}\n'
    '{"$insert_id":"5f0adf00","amplitude_id":1234,"device_id":"d1","event_id":1,"event_properties":{},'
    '"event_time":"2024-01-02 11:00:00.000000","event_type":"purchase","groups":{},"user_id":"b1",'
    '"user_properties":{},"uuid":"9f3d"}\n'
    '{"$insert_id":"5f0adf01","amplitude_id":99,"device_id":"d2","event_id":1,"event_properties":{},'
    '"event_time":"2024-01-02 12:00:00.000000","event_type":"open","groups":{},"user_id":null,'
    '"user_properties":{},"uuid":"9f3e"}\n'
)


def test_amplitude_export_maps_itself(project, tmp_path):
    path = tmp_path / "amplitude.json.gz"
    path.write_bytes(gzip.compress(AMPLITUDE.encode()))
    report = import_file(project, path)
    assert report.shape == "Amplitude export" and report.format == "JSON lines (gzip)"
    assert report.mapping == {
        "user_id": "user_id",
        "timestamp": "event_time",
        "event": "event_type",
        "insert_id": "$insert_id",
        "account_id": "groups.company",
    }
    assert (report.rows_read, report.rows_imported, report.rows_rejected) == (3, 2, 1)
    assert [(line, reason) for line, reason, _ in rejects(report)] == [(3, "no user id")]
    assert project.conn.execute(
        "SELECT u.user_id, a.account_id, e.ts FROM events e JOIN users u USING (user_key) "
        "LEFT JOIN accounts a ON a.account_key = e.account_key ORDER BY e.rowid"
    ).fetchall() == [("b1", "acme", 1704103200123), ("b1", None, 1704193200000)]
    names = dict(report.properties)
    assert names["event_properties.plan"] == "text" and names["event_properties.seats"] == "integer"
    assert names["user_properties.role"] == "text" and names["event_id"] == "integer"


# -- Parquet ----------------------------------------------------------------------------------------


def test_parquet_structs_types_and_row_rejects(project, tmp_path):
    table = pa.table(
        {
            "user_id": ["u1", "u2", None, "u4"],
            "event": ["open", "open", "open", "open"],
            "ts": pa.array([1704067200000, None, 1704067202000, 1704067203000], pa.timestamp("ms")),
            "properties": pa.array(
                [{"plan": "pro", "n": 1}, {"plan": None, "n": 2}, None, {"plan": "free", "n": None}],
                pa.struct([("plan", pa.string()), ("n", pa.int64())]),
            ),
            "tags": pa.array([["a"], [], None, ["b", "c"]], pa.list_(pa.string())),
            "day": pa.array([dt.date(2024, 1, 1), None, None, dt.date(2024, 2, 1)], pa.date32()),
            "sparse": pa.array([None, None, None, 7], pa.int16()),
        }
    )
    path = tmp_path / "ev.parquet"
    pq.write_table(table, path, row_group_size=2)
    report = import_file(project, path, timezone="Europe/Berlin")
    assert (report.rows_read, report.rows_imported, report.rows_rejected) == (4, 2, 2)
    got = rejects(report)
    assert [(line, reason.split(":")[0]) for line, reason, _ in got] == [
        (2, "bad timestamp ''"),
        (3, "no user id"),
    ]
    assert json.loads(got[1][2])["ts"].startswith("2024-01-01 00:00:02")
    assert dict(report.properties) == {
        "properties.plan": "text",
        "properties.n": "integer",
        "tags": "text",
        "day": "datetime",
        "sparse": "integer",  # its schema says so, although the sample has one value
    }
    # Naive timestamps are wall-clock times in the chosen zone, as in a CSV.
    assert project.conn.execute("SELECT ts, p1, p2, p3, p4, p5 FROM events ORDER BY ts").fetchall() == [
        (1704063600000, "pro", 1, '["a"]', 1704067200000, None),
        (1704063603000, "free", None, '["b","c"]', 1706745600000, 7),
    ]


def test_parquet_accounts_file(project, tmp_path):
    pq.write_table(
        pa.table({"account_id": ["a1", "a2"], "mrr": [100.5, 20.0], "since": ["2020-01-01", "2021-05-01"]}),
        tmp_path / "accounts.parquet",
    )
    report = import_file(project, tmp_path / "accounts.parquet")
    assert report.kind == "accounts" and report.rows_imported == 2
    assert dict(report.properties) == {"mrr": "real", "since": "datetime"}


def test_a_parquet_file_written_by_duckdb_gives_the_csv_tables(tmp_path):
    """Another writer than pyarrow (DuckDB: timestamptz as UTC microseconds, DECIMAL, a STRUCT):
    the same tables as the hand-written CSV of the same rows."""
    import duckdb

    duck = duckdb.connect()
    try:
        duck.execute(
            "COPY (SELECT 'u' || (i % 7) AS user_id, "
            "CASE WHEN i % 3 = 0 THEN 'open' ELSE 'buy' END AS event, "
            "TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_minutes(i * 37) AS timestamp, i * 1.5 AS amount, "
            "{'plan': CASE WHEN i % 2 = 0 THEN 'pro' END, 'seats': i} AS props FROM range(300) t(i)) "
            f"TO '{tmp_path / 'duck.parquet'}' (FORMAT parquet, ROW_GROUP_SIZE 128)"
        )
    finally:
        duck.close()
    start = dt.datetime(2024, 1, 1, tzinfo=UTC)
    lines = ["user_id,event,timestamp,amount,props.plan,props.seats"]
    for i in range(300):
        ts = (start + dt.timedelta(minutes=37 * i)).strftime("%Y-%m-%dT%H:%M:%SZ")
        event = "open" if i % 3 == 0 else "buy"
        lines.append(f"u{i % 7},{event},{ts},{i * 1.5},{'pro' if i % 2 == 0 else ''},{i}")
    (tmp_path / "same.csv").write_text("\n".join(lines) + "\n")
    expected, _ = _import_snapshot(tmp_path, "csv", tmp_path / "same.csv")
    got, report = _import_snapshot(tmp_path, "duck", tmp_path / "duck.parquet")
    assert (report.format, report.rows_imported, report.rows_rejected) == ("Parquet", 300, 0)
    assert dict(report.properties) == {"amount": "real", "props.plan": "text", "props.seats": "integer"}
    assert got == expected


def test_mixpanel_and_amplitude_shapes_in_parquet_made_by_pyarrow(project, tmp_path):
    """The export shapes are recognised from Parquet structs as from JSON objects."""
    mixpanel = pa.table(
        {
            "event": ["Signed Up", "Purchase"],
            "properties": pa.array(
                [
                    {"time": 1602611311, "distinct_id": "user123", "$insert_id": "a1", "Amount": None},
                    {"time": 1602787121, "distinct_id": "user123", "$insert_id": "a2", "Amount": 5.0},
                ],
                pa.struct(
                    [
                        ("time", pa.int64()),
                        ("distinct_id", pa.string()),
                        ("$insert_id", pa.string()),
                        ("Amount", pa.float64()),
                    ]
                ),
            ),
        }
    )
    pq.write_table(mixpanel, tmp_path / "mixpanel.parquet")
    report = import_file(project, tmp_path / "mixpanel.parquet")
    assert (report.shape, report.rows_imported) == ("Mixpanel export", 2)
    assert report.mapping["user_id"] == "properties.distinct_id"
    assert dict(report.properties) == {"properties.Amount": "real"}
    amplitude = pa.table(
        {
            "user_id": ["b1", "b2"],
            "event_type": ["open", "buy"],
            "event_time": ["2024-01-01 10:00:00.123000", "2024-01-02 10:00:00.000000"],
            "event_properties": pa.array([{"plan": "pro"}, {"plan": "free"}]),
            "groups": pa.array([{"company": ["acme"]}, {"company": []}]),
        }
    )
    pq.write_table(amplitude, tmp_path / "amplitude.parquet")
    report = import_file(project, tmp_path / "amplitude.parquet")
    assert (report.shape, report.rows_imported) == ("Amplitude export", 2)
    assert project.conn.execute(
        "SELECT u.user_id, n.name, e.ts, a.account_id FROM events e JOIN users u USING (user_key) "
        "JOIN event_names n USING (event_key) LEFT JOIN accounts a ON a.account_key = e.account_key "
        "WHERE n.name IN ('open', 'buy') ORDER BY e.ts"
    ).fetchall() == [("b1", "open", 1704103200123, "acme"), ("b2", "buy", 1704189600000, None)]


# -- damaged files, duplicates ----------------------------------------------------------------------


def _project_state(project):
    conn = project.conn
    return (
        conn.execute("SELECT count(*) FROM imports").fetchone(),
        conn.execute("SELECT count(*) FROM events").fetchone(),
        conn.execute("SELECT name FROM properties").fetchall(),
        conn.execute("PRAGMA table_info(events)").fetchall(),
    )


@pytest.mark.parametrize("suffix", ["csv.gz", "jsonl.zst"])
def test_a_truncated_compressed_file_gets_a_sentence_and_changes_nothing(project, tmp_path, suffix):
    body = ("user_id,event,timestamp\n" + "".join(f"u{i},e,2024-01-01\n" for i in range(20000))).encode()
    if suffix == "jsonl.zst":
        body = b"".join(
            json.dumps({"user_id": f"u{i}", "event": "e", "timestamp": "2024-01-01"}).encode() + b"\n"
            for i in range(20000)
        )
        whole = zstd(tmp_path / "whole.zst", body).read_bytes()
    else:
        whole = gzip.compress(body)
    path = tmp_path / f"ev.{suffix}"
    path.write_bytes(whole[: len(whole) // 2])
    import_file(project, _small_csv(tmp_path))
    before = _project_state(project)
    with pytest.raises(ImportFileError, match="cut short") as info:
        import_file(project, path)
    assert "\n" not in str(info.value)
    assert _project_state(project) == before


def _small_csv(tmp_path):
    path = tmp_path / "first.csv"
    path.write_text("user_id,event,timestamp,plan\nu1,a,2024-01-01,pro\n")
    return path


@pytest.mark.parametrize(
    "data, message",
    [
        (b"PAR1" + bytes(range(256)) * 8 + b"PAR1", "not a readable Parquet file"),
        (b"PAR1 this is not parquet", "not a readable Parquet file"),
    ],
)
def test_a_bad_parquet_file_gets_a_sentence_and_changes_nothing(project, tmp_path, data, message):
    import_file(project, _small_csv(tmp_path))
    before = _project_state(project)
    path = tmp_path / "ev.parquet"
    path.write_bytes(data)
    with pytest.raises(ImportFileError, match=message) as info:
        import_file(project, path)
    assert "\n" not in str(info.value)
    assert _project_state(project) == before


def test_damaged_parquet_pages_roll_back(project, tmp_path):
    """A file whose footer reads but whose data does not fails mid-import: nothing stays."""
    table = pa.table(
        {"user_id": [f"u{i}" for i in range(50000)], "event": ["e"] * 50000, "ts": ["2024-01-01"] * 50000}
    )
    path = tmp_path / "ev.parquet"
    pq.write_table(table, path, row_group_size=10000, compression="snappy", use_dictionary=False)
    data = bytearray(path.read_bytes())
    meta = pq.ParquetFile(path).metadata
    chunk = meta.row_group(3).column(0)
    start = chunk.data_page_offset
    data[start + 40 : start + 4000] = bytes(3960)
    path.write_bytes(bytes(data))
    import_file(project, _small_csv(tmp_path))
    before = _project_state(project)
    with pytest.raises(ImportFileError, match="Parquet file is damaged") as info:
        import_file(project, path)
    assert "\n" not in str(info.value)
    assert _project_state(project) == before


def test_compressed_content_is_the_same_content(project, tmp_path):
    text = "user_id,event,timestamp\nu1,a,2024-01-01\n"
    (tmp_path / "ev.csv").write_text(text)
    (tmp_path / "ev.csv.gz").write_bytes(gzip.compress(text.encode(), mtime=1))
    (tmp_path / "other.csv.gz").write_bytes(gzip.compress(text.encode(), mtime=2))
    import_file(project, tmp_path / "ev.csv")
    for name in ("ev.csv.gz", "other.csv.gz"):
        with pytest.raises(ImportFileError, match="the same content was already imported"):
            import_file(project, tmp_path / name)


def test_a_gzip_file_named_csv_is_read(project, tmp_path):
    path = tmp_path / "ev.csv"
    path.write_bytes(gzip.compress(b"user_id,event,timestamp\nu1,a,2024-01-01\n"))
    assert import_file(project, path).rows_imported == 1


def test_a_compressed_image_is_refused(project, tmp_path):
    path = tmp_path / "picture.csv.gz"
    path.write_bytes(gzip.compress(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4))
    with pytest.raises(ImportFileError, match="a PNG image"):
        import_file(project, path)
    other = tmp_path / "data.gz"
    other.write_bytes(gzip.compress(b"whatever"))
    with pytest.raises(ImportFileError, match="neither CSV nor JSON lines"):
        import_file(project, other)


def test_preview_of_each_format(tmp_path):
    pq.write_table(parquet_table(base_rows()[:30]), tmp_path / "ev.parquet")
    (tmp_path / "ev.jsonl.gz").write_bytes(gzip.compress(jsonl_text(base_rows()[:30]).encode()))
    for name in ("ev.parquet", "ev.jsonl.gz"):
        result = preview(tmp_path / name)
        assert result.problem is None and result.kind == "events", name
        assert result.property_types["seats"] == "integer"
        assert len(result.sniff.sample_rows) == 30
    assert preview(tmp_path / "ev.parquet").sniff.estimated_rows == 30


def test_json_types_ignore_nulls_and_a_file_without_objects_gets_a_sentence(project, tmp_path):
    lines = [{"user_id": "u1", "event": "e", "timestamp": "2024-01-01", "n": None}] * 1200
    lines.append({"user_id": "u1", "event": "e", "timestamp": "2024-01-02", "n": 5})
    path = tmp_path / "ev.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert dict(import_file(project, path).properties) == {"n": "integer"}
    bad = tmp_path / "nothing.jsonl"
    bad.write_text("1\n[2]\nnot json\n")
    with pytest.raises(ImportFileError, match="no line in the file is a JSON object"):
        import_file(project, bad)


def test_old_mac_line_ends_in_a_gzip_file(project, tmp_path):
    path = tmp_path / "mac.csv.gz"
    path.write_bytes(gzip.compress(b"user_id,event,timestamp\ru1,a,2024-01-01\ru2,b,2024-01-02\r"))
    report = import_file(project, path)
    assert (report.rows_read, report.rows_imported) == (2, 2)


def test_rejects_of_a_compressed_csv_quote_its_lines(project, tmp_path):
    path = zstd(tmp_path / "ev.csv.zst", b"user_id,event,timestamp\nu1,a,2024-01-01\nu2,b\nu3,c,never\n")
    report = import_file(project, path)
    assert report.format == "CSV (zstd)" and report.rows_imported == 1
    assert rejects(report) == [
        (3, "wrong number of fields: 2 instead of 3", "u2,b"),
        (4, "bad timestamp 'never': not a recognised date or time", "u3,c,never"),
    ]


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_arrow_timestamps_of_every_unit_with_nulls_and_offsets(unit):
    from seglab.core.importing.readers import _arrow_cells

    moments = [dt.datetime(2024, 1, 1, 10, 0, 0, 123456), None, dt.datetime(1969, 12, 31, 23, 59, 59, 999999)]
    moments += [dt.datetime(2024, 2, 29, 0, 0, 1)] * 9
    zoned = pa.array(moments, pa.timestamp(unit, tz="UTC"))
    assert _arrow_cells(zoned.slice(1, 3))[:2] == [
        "",
        "1969-12-31T23:59:59.000Z" if unit == "s" else "1969-12-31T23:59:59.999Z",
    ]
    cells = _arrow_cells(zoned)
    assert cells[0] == ("2024-01-01T10:00:00.000Z" if unit == "s" else "2024-01-01T10:00:00.123Z")
    assert cells[3] == "2024-02-29T00:00:01.000Z"
    naive = pa.array(moments, pa.timestamp(unit))
    assert _arrow_cells(naive.slice(3))[0] == "2024-02-29T00:00:01.000"


def test_a_corrupt_gzip_gets_a_sentence(project, tmp_path):
    data = bytearray(gzip.compress(b"user_id,event,timestamp\n" + b"u1,a,2024-01-01\n" * 5000))
    data[40:60] = bytes(20)
    path = tmp_path / "ev.csv.gz"
    path.write_bytes(bytes(data))
    with pytest.raises(ImportFileError, match=r"the compressed file is (damaged|cut short)") as info:
        import_file(project, path)
    assert "\n" not in str(info.value)
    assert project.conn.execute("SELECT count(*) FROM imports").fetchone() == (0,)
