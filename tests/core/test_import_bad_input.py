"""Imports that garbled data or failed with an internal error (issue 14, sections 3 and 4):
each is now a correct import or one sentence, with the project exactly as it was."""

from __future__ import annotations

import csv
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from seglab.core.errors import ImportFileError, UserError
from seglab.core.importing import import_file
from seglab.core.project import Project


def _snapshot(project: Project) -> tuple:
    conn = project.conn
    return tuple(
        conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
        for t in ("events", "users", "accounts", "imports", "properties")
    )


def _rejects(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _events_csv(n: int, city: str = "café") -> bytes:
    rows = ["user_id,event,timestamp,city"]
    rows += [f"josé{i % 5},open,2024-01-{1 + i % 28:02d}T10:00:00Z,{city}" for i in range(n)]
    return ("\n".join(rows) + "\n").encode("utf-8")


# -- one invalid byte in an otherwise UTF-8 file ----------------------------------------------------


@pytest.mark.parametrize("where", ["plain", "quoted"])
def test_one_bad_byte_rejects_only_its_row(project, tmp_path, where):
    data = _events_csv(40)
    lines = data.split(b"\n")
    if where == "quoted":
        lines[3] = lines[3].replace(b"caf\xc3\xa9", b'"caf\xc3\xa9, ""old"""')
    lines[20] = lines[20].replace(b"open", b"op\xffen")
    data = b"\n".join(lines)
    path = tmp_path / "events.csv"
    path.write_bytes(data)
    report = import_file(project, path, rejects_dir=tmp_path)
    assert (report.rows_imported, report.rows_rejected) == (39, 1)
    assert report.encoding == "utf-8"
    conn = project.conn
    assert sorted(u for (u,) in conn.execute("SELECT user_id FROM users")) == [f"josé{i}" for i in range(5)]
    city = conn.execute("SELECT column_name FROM properties WHERE name = 'city'").fetchone()[0]
    cities = {c for (c,) in conn.execute(f"SELECT DISTINCT {city} FROM events")}
    assert "café" in cities and not any("Ã" in c or "\ufffd" in c for c in cities)
    (reject,) = _rejects(tmp_path / "events.csv.rejects.csv")
    assert reject["line"] == "21"
    offset = data.index(b"\xff") + 1
    assert reject["reason"] == f"not valid UTF-8 at byte {offset:,}"
    assert report.reject_reasons == {"not valid UTF-8": 1}


def _bad_byte_rows() -> list[dict]:
    return [
        {
            "user_id": f"josé{i % 5}",
            "event": "open",
            "timestamp": f"2024-01-{1 + i % 28:02d}T10:00:00Z",
            "city": f"café—ü{i}",
        }
        for i in range(60)
    ]


def _zstd(data: bytes) -> bytes:
    import pyarrow as pa

    out = pa.BufferOutputStream()
    with pa.CompressedOutputStream(out, "zstd") as fh:
        fh.write(data)
    return out.getvalue().to_pybytes()


@pytest.mark.parametrize("suffix", ["csv", "csv.gz", "csv.zst", "jsonl", "jsonl.gz", "ndjson.zst"])
def test_one_bad_byte_keeps_every_good_row_verbatim_in_every_text_format(project, tmp_path, suffix):
    """Compressed or not, CSV or JSON lines: the row with the invalid byte is rejected with the
    byte's offset in the content, every other row is stored exactly as written (no code page
    guessed from the one byte), and the wizard's preview reads the file as UTF-8 too."""
    import gzip
    import json

    from seglab.core.importing import sniff_file

    rows = _bad_byte_rows()
    if suffix.startswith("csv"):
        header = "user_id,event,timestamp,city\n"
        text = header + "".join(",".join(r.values()) + "\n" for r in rows)
        bad_line = 1 + 33  # the header, then row 33
    else:
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
        bad_line = 33
    content = text.encode().replace("café—ü32".encode(), b"caf\xe9\xff32", 1)
    data = {"gz": gzip.compress, "zst": _zstd}.get(suffix.rsplit(".", 1)[-1], bytes)(content)
    path = tmp_path / f"events.{suffix}"
    path.write_bytes(data)

    preview = sniff_file(path)
    assert preview.encoding == "utf-8" and "café—ü0" in preview.sample_rows[0]
    report = import_file(project, path, rejects_dir=tmp_path)
    assert (report.rows_imported, report.rows_rejected) == (59, 1)
    assert report.reject_reasons == {"not valid UTF-8": 1}
    city = project.conn.execute("SELECT column_name FROM properties WHERE name = 'city'").fetchone()[0]
    stored = project.conn.execute(
        f"SELECT u.user_id, n.name, strftime('%Y-%m-%dT%H:%M:%SZ', e.ts / 1000, 'unixepoch'), e.{city} "
        "FROM events e JOIN users u USING (user_key) JOIN event_names n USING (event_key) ORDER BY e.rowid"
    ).fetchall()
    assert stored == [tuple(r.values()) for i, r in enumerate(rows) if i != 32]
    (reject,) = _rejects(tmp_path / f"events.{suffix}.rejects.csv")
    assert reject["line"] == str(bad_line)
    offset = content.index(b"\xe9\xff") + 1
    assert reject["reason"] == f"not valid UTF-8 at byte {offset:,}"


def test_a_bad_byte_in_a_json_lines_key_rejects_the_line(project, tmp_path):
    """The scan of the keys cannot read the line; the import pass rejects it whole rather than
    importing the row without the property whose name is broken."""
    path = tmp_path / "users.jsonl"
    data = (
        '{"user_id": "zoë", "plan": "pro"}\n'.encode()
        + b'{"user_id": "sam", "pl\xffan": "free"}\n'
        + '{"user_id": "maël", "plan": "trial"}\n'.encode()
    )
    path.write_bytes(data)
    report = import_file(project, path, rejects_dir=tmp_path)
    assert (report.kind, report.rows_imported, report.rows_rejected) == ("users", 2, 1)
    assert report.reject_reasons == {"not valid UTF-8": 1}
    assert project.conn.execute("SELECT user_id, p1 FROM users ORDER BY user_key").fetchall() == [
        ("zoë", "pro"),
        ("maël", "trial"),
    ]
    (reject,) = _rejects(tmp_path / "users.jsonl.rejects.csv")
    offset = data.index(b"\xff") + 1
    assert (reject["line"], reject["reason"]) == ("2", f"not valid UTF-8 at byte {offset}")


def test_bad_bytes_in_a_users_file(project, tmp_path):
    data = "user_id,plan\nzoë,pro\nmaël,free\nsam,te\udcffam\nlou,pro\n".encode("utf-8", "surrogateescape")
    path = tmp_path / "users.csv"
    path.write_bytes(data)
    report = import_file(project, path, rejects_dir=tmp_path)
    assert (report.rows_imported, report.rows_rejected) == (3, 1)
    users = sorted(u for (u,) in project.conn.execute("SELECT user_id FROM users"))
    assert users == ["lou", "maël", "zoë"]
    (reject,) = _rejects(tmp_path / "users.csv.rejects.csv")
    offset = data.index(b"\xff") + 1
    assert (reject["line"], reject["reason"]) == ("4", f"not valid UTF-8 at byte {offset}")


def test_a_file_that_is_not_utf8_as_a_whole_is_still_read_in_its_code_page(project, tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes(_events_csv(30).decode("utf-8").encode("cp1252"))
    report = import_file(project, path, rejects_dir=tmp_path)
    assert (report.rows_imported, report.rows_rejected) == (30, 0)
    assert report.encoding != "utf-8"
    assert sorted(u for (u,) in project.conn.execute("SELECT user_id FROM users")) == [
        f"josé{i}" for i in range(5)
    ]


# -- a file that changes while it is imported -------------------------------------------------------


class _Meddler:
    """A progress that changes the file once the import pass has started reading rows."""

    def __init__(self, path: Path, change):
        self.path, self.change, self.done = path, change, False

    def report(self, done, total=None, text=""):
        if not self.done and "rows" in text:
            self.done = True
            self.change(self.path)

    def is_cancelled(self):
        return False


def _append(path: Path) -> None:
    with open(path, "ab") as fh:
        fh.write(b"late,open,2024-02-01T10:00:00Z,x\n")


def _rewrite_same_size(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data.replace("josé1,".encode(), "josé7,".encode(), 1))


@pytest.mark.parametrize("change", [_append, _rewrite_same_size])
def test_a_file_changed_during_the_import_is_refused(project, tmp_path, change, monkeypatch):
    from seglab.core.importing import csvrows

    monkeypatch.setattr(csvrows, "READ_CHUNK", 4096)  # several chunks, so rows are reported midway
    path = tmp_path / "events.csv"
    path.write_bytes(_events_csv(2000))
    before = _snapshot(project)
    with pytest.raises(ImportFileError, match="the file changed while it was being imported"):
        import_file(project, path, progress=_Meddler(path, change))
    assert _snapshot(project) == before
    # Once complete, it imports, and the record keeps the size and hash of what was read.
    report = import_file(project, path)
    assert report.rows_imported >= 2000
    size, sha = project.conn.execute("SELECT size, sha256 FROM imports").fetchone()
    assert (size, sha) == (path.stat().st_size, hashlib.sha256(path.read_bytes()).hexdigest())


def test_a_file_deleted_during_the_hash_scan(project, tmp_path):
    class Deleter:
        def report(self, done, total=None, text=""):
            if text == "checking the file" and path.exists():
                path.unlink()

        def is_cancelled(self):
            return False

    path = tmp_path / "events.csv"
    path.write_bytes(_events_csv(100))
    before = _snapshot(project)
    with pytest.raises(ImportFileError, match=r"events\.csv: the file was deleted or moved during"):
        import_file(project, path, progress=Deleter())
    assert _snapshot(project) == before


# -- too many columns, absurd headers, an encoding that cannot read the file -------------------------


@pytest.mark.parametrize("fmt", ["csv", "jsonl.gz", "parquet"])
@pytest.mark.parametrize("kind", ["events", "users"])
def test_2100_columns_are_refused_naming_the_limit(project, tmp_path, kind, fmt):
    """Written by hand (CSV, gzip JSON lines) or by pyarrow (Parquet): one sentence, nothing
    changed, and the same sentence from `seglab import` (exit 2, no traceback)."""
    import gzip
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    fixed = ["user_id", "event", "timestamp"] if kind == "events" else ["user_id"]
    cells = ["u1", "open", "2024-01-01T00:00:00Z"] if kind == "events" else ["u1"]
    names, values = fixed + [f"c{i}" for i in range(2100)], cells + ["1"] * 2100
    path = tmp_path / f"{kind}.{fmt}"
    if fmt == "csv":
        path.write_text(",".join(names) + "\n" + ",".join(values) + "\n")
    elif fmt == "jsonl.gz":
        path.write_bytes(gzip.compress(json.dumps(dict(zip(names, values))).encode() + b"\n"))
    else:
        pq.write_table(pa.table({n: [v] for n, v in zip(names, values)}), path)
    from seglab.core.importing import preview

    assert preview(path, kind=kind).problem == (
        f"{kind}.{fmt}: 2,100 property columns, but a project holds at most 1,980 {kind[:-1]} properties "
        "(SQLite allows 2,000 columns in a table); import the file with fewer columns"
    )
    before = _snapshot(project)
    sentence = r"2,100 new property columns .* at most 1,980 .*2,000 columns"
    with pytest.raises(ImportFileError, match=sentence):
        import_file(project, path, kind=kind)
    assert _snapshot(project) == before
    project.close()
    out = subprocess.run(
        [sys.executable, "-m", "seglab", "import", str(project.path), str(path), "--kind", kind],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2 and out.stderr.count("\n") == 1, out.stderr
    assert out.stderr.startswith("seglab: error: ") and "at most 1,980" in out.stderr


def test_the_column_limit_counts_the_properties_already_there(project, tmp_path):
    def events(first: int, n: int) -> Path:
        path = tmp_path / f"events{first}.csv"
        names = [f"c{i}" for i in range(first, first + n)]
        row = "u1,open,2024-01-01T00:00:00Z," + ",".join(["x"] * n)
        path.write_text("user_id,event,timestamp," + ",".join(names) + "\n" + row + "\n")
        return path

    import_file(project, events(0, 1500))
    with pytest.raises(ImportFileError, match="would give the project 2,000 event properties"):
        import_file(project, events(1500, 500))
    assert import_file(project, events(1500, 480)).rows_imported == 1


def test_a_300_kb_header_is_refused(project, tmp_path):
    path = tmp_path / "junk.csv"
    path.write_text("user_id,event,timestamp," + "x" * 300_000 + "\nu1,open,2024-01-01T00:00:00Z,1\n")
    before = _snapshot(project)
    with pytest.raises(ImportFileError, match="the first line is longer than 256 KB"):
        import_file(project, path)
    assert _snapshot(project) == before
    path.write_text("user_id,event,timestamp,x" + "y" * 200_000 + "\nu1,open,2024-01-01T00:00:00Z,1\n")
    with pytest.raises(ImportFileError, match="column 4's name is 200,001 characters long"):
        import_file(project, path)
    assert _snapshot(project) == before


def test_a_200_mb_header_is_refused_in_a_real_process_reading_only_the_start(tmp_path):
    project = tmp_path / "p.seglab"
    Project.create(project).close()
    path = tmp_path / "huge.csv"
    with open(path, "wb") as fh:
        fh.write(b"user_id,event,timestamp,")
        block = b"x" * (1 << 20)
        for _ in range(200):
            fh.write(block)
    # The command in a process of its own, which reports its own peak memory afterwards.
    # (VmHWM: ru_maxrss would carry over the parent's peak across exec on Linux.)
    script = (
        "import re, sys\n"
        "from seglab.cli import main\n"
        "code = main(sys.argv[2:])\n"
        "status = open('/proc/self/status').read()\n"
        "open(sys.argv[1], 'w').write(re.search(r'VmHWM:\\s+(\\d+) kB', status).group(1))\n"
        "sys.exit(code)\n"
    )
    peak = tmp_path / "peak"
    command = [sys.executable, "-c", script, str(peak), "import", str(project), str(path)]
    out = subprocess.run(command, capture_output=True, text=True)
    assert out.returncode == 2, out.stderr
    assert out.stderr == (
        "seglab: error: huge.csv: the first line is longer than 256 KB, far too long to be the column "
        "names (is this a CSV file with a header row?)\n"
    )
    assert int(peak.read_text()) / 1024 < 150  # MB; the file is 200 MB
    with Project.open(project, readonly=True) as proj:
        assert _snapshot(proj) == (0, 0, 0, 0, 0)


def test_utf32_without_a_byte_order_mark(project, tmp_path):
    path = tmp_path / "events.csv"
    path.write_bytes(_events_csv(10))
    before = _snapshot(project)
    with pytest.raises(
        ImportFileError, match=r"cannot be read as utf-32 \(UTF-32 stream does not start with BOM\)"
    ):
        import_file(project, path, encoding="utf-32")
    assert _snapshot(project) == before
    path.write_bytes(_events_csv(10).decode("utf-8").encode("utf-32"))
    assert import_file(project, path, encoding="utf-32").rows_imported == 10


# -- a full temporary folder ---------------------------------------------------------------------------


def _can_mount() -> bool:
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return False
    probe = subprocess.run(
        ["unshare", "-m", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"], capture_output=True
    )
    return probe.returncode == 0


@pytest.mark.skipif(not _can_mount(), reason="needs root to mount a tiny tmpfs as TMPDIR")
def test_a_full_tmpdir_during_the_import(tmp_path):
    project = tmp_path / "p.seglab"
    Project.create(project).close()
    path = tmp_path / "events.csv"
    rows = [f"u{i % 700},e{i % 13},2024-{1 + i % 12:02d}-{1 + i % 28:02d}T10:00:00Z" for i in range(30_000)]
    path.write_text("user_id,event,timestamp\n" + "\n".join(rows) + "\n")
    small = tmp_path / "tmp"
    small.mkdir()
    script = (
        "import sys; from seglab.core.importing.events import EventBatcher; "
        "EventBatcher.DAYS_FLUSH_ROWS = 500; "  # spill the roll-up runs early
        "from seglab.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    command = (
        f'mount -t tmpfs -o size=16k tmpfs "{small}" && TMPDIR="{small}" "{sys.executable}" -c "$0" "$@"'
    )
    out = subprocess.run(
        ["unshare", "-m", "sh", "-c", command, script, "import", str(project), str(path)],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2, out.stderr
    assert (
        out.stderr.count("\n") == 1 and "Traceback" not in out.stderr and "internal error" not in out.stderr
    )
    assert "nothing was imported" in out.stderr and "TMPDIR" in out.stderr
    with Project.open(project, readonly=True) as proj:
        assert _snapshot(proj) == (0, 0, 0, 0, 0)
    assert not any(p.name.endswith(".rejects.csv") for p in tmp_path.iterdir())


def test_user_error_is_the_base_of_every_refusal():
    assert issubclass(ImportFileError, UserError)


# -- account-link conflicts: counted, said what was kept, listed ---------------------------------------


def test_account_conflicts_say_what_was_kept_and_are_listed(project, tmp_path, capsys):
    import json

    from seglab.cli import main
    from seglab.core.importing import account_conflict_list

    (tmp_path / "users.csv").write_text("user_id,account_id\nu1,a1\nu2,\n")
    (tmp_path / "events.csv").write_text(
        "user_id,event,timestamp,account_id\n"
        "u1,open,2024-03-01T10:00:00Z,a2\n"  # the users file's a1 is kept
        "u2,open,2024-03-01T10:00:00Z,a1\n"
        "u2,open,2024-03-02T10:00:00Z,a3\n"  # the latest event's a3 is kept
        "u3,open,2024-03-02T10:00:00Z,a3\n"
    )
    path = project.path
    project.close()
    assert main(["import", str(path), str(tmp_path / "users.csv"), str(tmp_path / "events.csv")]) == 0
    out = capsys.readouterr().out
    assert (
        "  2 users are linked to more than one account (the users file's account kept for 1; the account "
        "on their latest event kept for 1); `seglab info --json` lists them\n"
    ) in out
    (tmp_path / "more.csv").write_text(
        "user_id,event,timestamp,account_id\nu1,open,2024-03-03T10:00:00Z,a4\n"
    )
    assert main(["import", str(path), str(tmp_path / "more.csv"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["account_conflicts"] == 1
    assert main(["info", str(path), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["account_conflicts"]
    assert listed == [
        {"user_id": "u1", "account": "a1", "kept_from": "users file", "accounts": ["a1", "a2", "a4"]},
        {"user_id": "u2", "account": "a3", "kept_from": "latest event", "accounts": ["a1", "a3"]},
    ]
    with Project.open(path, readonly=True) as proj:
        assert account_conflict_list(proj.conn, limit=1) == listed[:1]


def test_a_header_the_csv_reader_cannot_read(project, tmp_path):
    # Found by the fuzz test: the sniffer reads it leniently, the import strictly.
    path = tmp_path / "q.csv"
    path.write_bytes(b'""user_id,e,vent,timestamp,account_id,amount,city\nj')
    before = _snapshot(project)
    with pytest.raises(ImportFileError, match=r"the first line \(the column names\) cannot be read: stray"):
        import_file(project, path)
    assert _snapshot(project) == before


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "UTF8"])
def test_bad_bytes_are_rejected_when_utf8_is_given_too(project, tmp_path, encoding):
    path = tmp_path / "events.csv"
    path.write_bytes(_events_csv(10).replace(b"open", b"op\xe9n", 1))
    report = import_file(project, path, encoding=encoding, rejects_dir=tmp_path)
    assert (report.rows_imported, report.rows_rejected) == (9, 1)
    with pytest.raises(ImportFileError, match="unknown text encoding 'nope'"):
        import_file(project, path, encoding="nope", force=True)


def test_bad_byte_offsets_across_read_boundaries(project, tmp_path):
    from seglab.core.importing.filecheck import utf8_damage

    rows = [f"u{i % 50},é{i},2024-01-{1 + i % 28:02d}T10:00:00Z,café—ü" for i in range(4000)]
    data = ("user_id,event,timestamp,city\n" + "\n".join(rows) + "\n").encode()
    assert len(data) > 2 * 65536 + 100
    cut = 65535  # inside a multi-byte character somewhere near the first read's end
    while data[cut] < 0x80:
        cut += 1
    bad_at = [cut + 1000, 2 * 65536 + 7]
    while any(data[p] >= 0x80 or data[p] in b",\n" for p in bad_at):
        bad_at = [p + 1 for p in bad_at]
    damaged = bytearray(data)
    for p in bad_at:
        damaged[p] = 0xFF
    path = tmp_path / "events.csv"
    path.write_bytes(bytes(damaged))
    mostly, bad = utf8_damage(path)
    assert mostly
    assert [offset for _line, offset in bad] == [p + 1 for p in bad_at]
    assert [line for line, _ in bad] == [bytes(damaged).count(b"\n", 0, p) + 1 for p in bad_at]
    report = import_file(project, path, rejects_dir=tmp_path)
    assert (report.rows_imported, report.rows_rejected) == (3998, 2)
    reasons = [r["reason"] for r in _rejects(tmp_path / "events.csv.rejects.csv")]
    assert reasons == [f"not valid UTF-8 at byte {p + 1:,}" for p in bad_at]
