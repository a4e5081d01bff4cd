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
# tests/test_pactl.py checks that rtdenoise reads pactl's output on a desktop in another language: it
# needs the de_DE.UTF-8 locale and pactl's German messages. Debian ships those messages only in the
# pulseaudio package (a second sound server and some 35 packages beside PipeWire, the ALSA pulse
# plugin among them), so only its German catalog is unpacked from it.
DE_MO=/usr/share/locale/de/LC_MESSAGES/pulseaudio.mo
has_de() { locale -a 2>/dev/null | grep -qix 'de_DE\.utf-\?8'; }
if command -v dpkg >/dev/null && command -v pactl >/dev/null && { ! has_de || [ ! -f "$DE_MO" ]; }; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq
    if ! has_de; then
      dpkg -s locales 2>/dev/null | grep -q '^Status: install ok installed' \
        || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends locales >/dev/null
      grep -qx 'de_DE.UTF-8 UTF-8' /etc/locale.gen || echo 'de_DE.UTF-8 UTF-8' >> /etc/locale.gen
      locale-gen >/dev/null
    fi
    if [ ! -f "$DE_MO" ]; then
      deb=$(mktemp -d)
      (cd "$deb" && apt-get download -qq -o APT::Sandbox::User=root pulseaudio) \
        && dpkg-deb --fsys-tarfile "$deb"/pulseaudio_*.deb | tar -x -C / ".$DE_MO" \
        || echo "warning: could not unpack $DE_MO from the pulseaudio package: tests/test_pactl.py will fail" >&2
      rm -rf "$deb"
    fi
  else
    echo "note: tests/test_pactl.py needs the de_DE.UTF-8 locale and $DE_MO: run scripts/setup.sh as root" >&2
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
