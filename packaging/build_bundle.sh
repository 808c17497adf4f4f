#!/usr/bin/env bash
# Build the one-folder bundle (dist/seglab/) and smoke-test it offscreen:
# the bundled `seglab` prints its version, writes the demo project headless, writes its
# worksheet, imports a Parquet and a zstd JSON lines file, and the app opens the demo and quits by
# itself.
# Not part of CI (a PyInstaller build takes several minutes); run it before a release.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
$PY -m pip install -q pyinstaller
$PY -m PyInstaller --noconfirm --clean --distpath dist --workpath build/pyinstaller packaging/seglab.spec
BIN=dist/seglab/seglab
"$BIN" --version
tmp=$(mktemp -d)
"$BIN" demo "$tmp/demo.seglab"
"$BIN" info "$tmp/demo.seglab" --json
"$BIN" report "$tmp/demo.seglab" --out "$tmp/worksheet.html"   # needs the bundled templates
grep -q "Segmentation worksheet" "$tmp/worksheet.html"
# The readers pyarrow gives the bundle (imported lazily, so only a real import proves them there):
# Parquet and zstd-compressed JSON lines, written here with the building Python's pyarrow.
$PY - "$tmp" <<'EOF'
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

out = Path(sys.argv[1])
pq.write_table(
    pa.table({"user_id": ["bundle-1", "bundle-2"], "event": ["Bundle check", "Bundle check"],
              "timestamp": ["2024-03-01T10:00:00Z", "2024-03-02T10:00:00Z"]}),
    out / "bundle.parquet",
)
lines = b'{"event": "Bundle check", "properties": {"distinct_id": "bundle-3", "time": 1709287200}}\n'
with pa.CompressedOutputStream(str(out / "bundle.jsonl.zst"), "zstd") as fh:
    fh.write(lines)
EOF
"$BIN" import "$tmp/demo.seglab" "$tmp/bundle.parquet" --json | grep -q '"rows_imported": 2'
"$BIN" import "$tmp/demo.seglab" "$tmp/bundle.jsonl.zst" --json | grep -q '"rows_imported": 1'
# ADBC's SQLite driver is loaded by path from inside its package.
test -f dist/seglab/_internal/adbc_driver_sqlite/libadbc_driver_sqlite.so
QT_QPA_PLATFORM=offscreen SEGLAB_QUIT_AFTER_MS=3000 "$BIN" "$tmp/demo.seglab"
echo "bundle OK: $(du -sh dist/seglab | cut -f1) in dist/seglab/"
