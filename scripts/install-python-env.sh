#!/usr/bin/env bash
# Creates .venv with the locked dependencies (uv.lock) and the project installed in it.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v uv >/dev/null; then
  python3 -m pip install -q --disable-pip-version-check "uv==0.13.9"
fi
uv sync -q --locked --python 3.11
