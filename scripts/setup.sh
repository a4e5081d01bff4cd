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
echo "rtdenoise is set up in $(pwd)/.venv: run .venv/bin/rtdenoise --help" >&2
