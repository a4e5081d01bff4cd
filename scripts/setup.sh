#!/usr/bin/env bash
# Sets up rtdenoise on a fresh machine: a virtual environment in .venv with the package (editable)
# and every extra the demo, training, evaluation and tests need. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[dev]'
# Live audio: sounddevice needs PortAudio (libportaudio2), the live tests a PipeWire server (see
# scripts/virtual-audio.sh). Installed here as root, so a fresh CI machine runs the live tests.
if command -v dpkg >/dev/null && [ -n "$(scripts/virtual-audio.sh missing)" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    scripts/virtual-audio.sh install
  else
    echo "note: live audio needs libportaudio2 (and PipeWire for the live tests): sudo scripts/virtual-audio.sh install" >&2
  fi
fi
# The monitor window (PyQt5, also offscreen in the tests) loads these system libraries.
QT_LIBS="libgl1 libegl1 libfontconfig1 libglib2.0-0 libdbus-1-3 libxkbcommon0 libx11-6 libxext6"
if command -v dpkg >/dev/null; then
  missing=$(for p in $QT_LIBS; do dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed' || echo "$p"; done)
  if [ -n "$missing" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
    else
      echo "note: rtdenoise gui needs: sudo apt-get install" $missing >&2
    fi
  fi
fi
echo "rtdenoise is set up in $(pwd)/.venv: run .venv/bin/rtdenoise --help" >&2
