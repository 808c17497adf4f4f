#!/usr/bin/env bash
# Debian/Ubuntu packages Qt 6 needs for a real window (xcb platform) and for the tests
# (offscreen + Xvfb), plus the sqlite3 shell the import benchmark compares against.
# Safe to run twice; uses sudo when not root.
set -euo pipefail
PKGS="libegl1 libgl1 libglib2.0-0 libfontconfig1 libdbus-1-3 libxkbcommon0 libxkbcommon-x11-0
      libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxcb-shape0
      libxcb-xinerama0 libxcb-xkb1 libxcb-randr0 libx11-xcb1 xvfb sqlite3"
if ! command -v apt-get >/dev/null 2>&1; then
  echo "apt-get not found: install the equivalents of: $PKGS" >&2
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
fi
