#!/usr/bin/env bash
# Creates .venv with the locked dependencies (uv.lock) and the project installed in it.
# uv comes from PATH when there is one, else it is installed into a private venv (.uv/): Debian's system Python
# refuses `pip install` outside a venv (PEP 668), and nothing is installed into the system Python.
set -euo pipefail
cd "$(dirname "$0")/.."
UV_VERSION=0.13.9
if command -v uv >/dev/null; then
  uv=uv
else
  if [ ! -x .uv/bin/uv ]; then
    echo "installing uv $UV_VERSION into .uv/"
    python3 -m venv .uv
    .uv/bin/pip install -q --disable-pip-version-check "uv==$UV_VERSION"
  fi
  uv=.uv/bin/uv
fi
# PYTHON picks another interpreter (3.11 to 3.13; CI keeps Debian 12's 3.11); UV_PROJECT_ENVIRONMENT another venv.
"$uv" sync -q --locked --extra lab --python "${PYTHON:-3.11}"
