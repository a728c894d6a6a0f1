#!/usr/bin/env bash
# Measure Open311 throughput and latency on SQLite and on PostgreSQL (a throwaway local cluster).
#   bench/run.sh [REPORTS] [CLIENTS] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
reports=${1:-1000000}
clients=${2:-64}
seconds=${3:-15}
cargo build --release -p khidmat-bench
bin=target/release/khidmat-bench

echo "== SQLite"
"$bin" --reports "$reports" --clients "$clients" --seconds "$seconds" --data-dir target/bench-sqlite

echo "== PostgreSQL"
bindir=$(pg_config --bindir 2>/dev/null || ls -d /usr/lib/postgresql/*/bin | tail -n1)
root=$(mktemp -d /tmp/khidmat-bench-pg.XXXXXX)
run() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] && chown postgres "$root"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
run "$bindir/initdb" -D "$root/data" -U khidmat --auth=trust -E UTF8 >/dev/null
run "$bindir/pg_ctl" -D "$root/data" -l "$root/log" -w \
  -o "-p $port -k $root -c listen_addresses=127.0.0.1 -c shared_buffers=1GB -c max_connections=200" start >/dev/null
trap 'run "$bindir/pg_ctl" -D "$root/data" -m fast stop >/dev/null; rm -rf "$root"' EXIT
run "$bindir/createdb" -h 127.0.0.1 -p "$port" -U khidmat khidmat
"$bin" --reports "$reports" --clients "$clients" --seconds "$seconds" --data-dir "$root/files" \
  --database-url "postgres://khidmat@127.0.0.1:$port/khidmat"
