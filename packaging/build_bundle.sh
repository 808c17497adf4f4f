#!/usr/bin/env bash
# Build the one-folder bundle (dist/seglab/) and smoke-test it offscreen:
# the bundled `seglab` prints its version, writes the demo project headless, writes its
# worksheet, and the app opens the demo and quits by itself.
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
QT_QPA_PLATFORM=offscreen SEGLAB_QUIT_AFTER_MS=3000 "$BIN" "$tmp/demo.seglab"
echo "bundle OK: $(du -sh dist/seglab | cut -f1) in dist/seglab/"
