#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests (and for trying DATABASE_URL by hand):
#   bash scripts/postgres.sh start DIR   initdb into DIR, start it on 127.0.0.1 (a free port), create the database
#                                        verify_staging, print its URL (postgresql://postgres@127.0.0.1:PORT/...)
#   bash scripts/postgres.sh stop DIR    stop the cluster started in DIR (the directory stays; remove it yourself)
# Trust authentication on 127.0.0.1 and the cluster's own socket directory only; fsync off (nothing in it needs to
# survive a power cut). As root, the server runs as the `postgres` user (PostgreSQL refuses to run as root).
set -euo pipefail
usage="usage: bash scripts/postgres.sh start|stop DIR"
[ $# -eq 2 ] || { echo "$usage" >&2; exit 2; }
action=$1
dir=$2

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$bin" ] && [ -x "$bin/initdb" ] || {
  echo "PostgreSQL's server is not installed (bash scripts/install-system-packages.sh installs it)" >&2
  exit 1
}
as_owner=()
if [ "$(id -u)" -eq 0 ]; then
  as_owner=(runuser -u postgres --)
fi

case "$action" in
  start)
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    [ ${#as_owner[@]} -eq 0 ] || chown postgres: "$dir"
    "${as_owner[@]}" "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log"
    mkdir -p "$dir/socket"
    [ ${#as_owner[@]} -eq 0 ] || chown postgres: "$dir/socket"
    cat >"$dir/data/pg_hba.conf" <<HBA
local all all trust
host all all 127.0.0.1/32 trust
HBA
    # A free port: bind port 0, read what the kernel gave, let go. Another process may take it in between; then
    # the start fails and the next attempt picks another.
    for attempt in 1 2 3 4 5; do
      port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
      options="-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir/socket"
      options+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
      if "${as_owner[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 -o "$options" start \
        >/dev/null; then
        "${as_owner[@]}" "$bin/createdb" -h "$dir/socket" -p "$port" -U postgres verify_staging
        echo "$port" >"$dir/port"
        echo "postgresql://postgres@127.0.0.1:$port/verify_staging"
        exit 0
      fi
      echo "postgres did not start on port $port (attempt $attempt); see $dir/server.log" >&2
    done
    exit 1
    ;;
  stop)
    [ -f "$dir/data/postmaster.pid" ] || exit 0
    "${as_owner[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null
    ;;
  *)
    echo "$usage" >&2
    exit 2
    ;;
esac
