#!/usr/bin/env bash
# The README's two commands: `bash scripts/dev.sh demo` and `bash scripts/dev.sh test`. Each first installs what the
# project needs on a fresh Debian 12 machine (system packages, then the locked Python environment in .venv).
set -euo pipefail
cd "$(dirname "$0")/.."
usage="usage: bash scripts/dev.sh demo|test"
[ $# -ge 1 ] || { echo "$usage" >&2; exit 2; }
bash scripts/install-system-packages.sh
bash scripts/install-python-env.sh
case "$1" in
  demo)
    shift
    exec .venv/bin/verify-staging demo "$@"
    ;;
  test)
    .venv/bin/ruff check .
    .venv/bin/ruff format --check .
    .venv/bin/mypy
    # 3 workers, a module or class per worker: the lab-based tests mostly wait, and share one lab per module.
    exec .venv/bin/pytest -q -n 3 --dist loadscope
    ;;
  *)
    echo "$usage" >&2
    exit 2
    ;;
esac
