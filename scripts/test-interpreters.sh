#!/usr/bin/env bash
# Runs the whole suite once on each Python that the project admits (3.11 to 3.13) and this machine has, each in its
# own venv (.venv-3.X), and prints one line per interpreter. CI runs only Debian 12's 3.11 (the README's command).
# Usage: scripts/test-interpreters.sh [VERSION ...]   (default: 3.11 3.12 3.13)
set -uo pipefail
cd "$(dirname "$0")/.."
status=0
# The interpreter's path: pythonX.Y on PATH, else a pyenv installation of that version (pyenv's shim answers
# "command not found" for a version that is installed but not selected).
interpreter() {
  local version=$1 found
  if "python$version" -c pass 2>/dev/null; then
    command -v "python$version"
  elif command -v pyenv >/dev/null && found=$(pyenv versions --bare | grep -E "^$version(\.[0-9]+)?$" | tail -1) \
      && [ -n "$found" ]; then
    PYENV_VERSION="$found" pyenv which "python$version"
  else
    return 1
  fi
}
versions=("$@")
[ ${#versions[@]} -gt 0 ] || versions=(3.11 3.12 3.13)
for version in "${versions[@]}"; do
  if ! python=$(interpreter "$version"); then
    echo "python $version: not on this machine, skipped"
    continue
  fi
  venv=".venv-$version"
  if ! UV_PYTHON_DOWNLOADS=never PYTHON="$python" UV_PROJECT_ENVIRONMENT="$venv" bash scripts/install-python-env.sh; then
    echo "python $version: could not install the locked environment"
    status=1
    continue
  fi
  start=$(date +%s)
  if "$venv/bin/pytest" -q -n 3 --dist loadscope -p no:cacheprovider >"$venv/pytest.log" 2>&1; then
    outcome="passed"
  else
    outcome="FAILED (see $venv/pytest.log)"
    status=1
  fi
  echo "python $version: $("$venv/bin/python" -V 2>&1), $(tail -1 "$venv/pytest.log"), $outcome in $(( $(date +%s) - start )) s"
done
exit $status
