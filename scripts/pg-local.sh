#!/bin/bash
# A hermetic PostgreSQL server for tests and benchmarks: its own data directory, port and socket
# directory, no system service touched (../shared/notes/local-infrastructure.md §4).
#
#   scripts/pg-local.sh start DIR [PORT]   # initdb (first time) + pg_ctl start; prints the URL
#   scripts/pg-local.sh stop DIR           # pg_ctl stop -m fast
#   scripts/pg-local.sh url DIR            # the URL of a running server
#
# The URL is postgresql://postgres@127.0.0.1:PORT/postgres (trust auth on 127.0.0.1 only).
# As root, the server runs as the `postgres` user (PostgreSQL refuses to run as root).
# Exit codes: 0 ok, 2 usage, 3 no PostgreSQL binaries found, 4 server failed to start.
set -euo pipefail

usage() { echo "usage: $0 start DIR [PORT] | stop DIR | url DIR" >&2; exit 2; }
[[ $# -ge 2 ]] || usage
cmd=$1; dir=$(realpath -m "$2"); port=${3:-}

bindir=${PG_BINDIR:-}
if [[ -z $bindir ]]; then
  for d in /usr/lib/postgresql/*/bin; do [[ -x $d/initdb ]] && bindir=$d; done
  [[ -z $bindir ]] && command -v initdb >/dev/null && bindir=$(dirname "$(command -v initdb)")
fi
[[ -n $bindir && -x $bindir/initdb ]] || { echo "no PostgreSQL binaries (initdb, pg_ctl): apt-get install postgresql" >&2; exit 3; }

as_pg() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }

case $cmd in
  start)
    mkdir -p "$dir"
    if [[ $(id -u) -eq 0 ]]; then
      chown postgres:postgres "$dir"
      # The postgres user must reach DIR: grant traverse-only (o+x) on ancestors that lack it
      # (e.g. mktemp/pytest 0700 directories); nothing becomes readable or listable.
      p=$(dirname "$dir")
      while [[ $p != / ]]; do
        runuser -u postgres -- test -x "$p" || chmod o+x "$p"
        p=$(dirname "$p")
      done
    fi
    if [[ ! -f $dir/data/PG_VERSION ]]; then
      as_pg "$bindir/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 4; }
    fi
    if as_pg "$bindir/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
      cat "$dir/url"; exit 0
    fi
    port=${port:-$(free_port)}
    as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
      start >/dev/null || { tail -20 "$dir/server.log" >&2; exit 4; }
    echo "postgresql://postgres@127.0.0.1:$port/postgres" | tee "$dir/url"
    ;;
  stop)
    [[ -d $dir/data ]] || exit 0
    as_pg "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    ;;
  url)
    cat "$dir/url"
    ;;
  *) usage ;;
esac
