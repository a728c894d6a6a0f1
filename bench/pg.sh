# A throwaway PostgreSQL cluster for the benchmarks, on a free port, stopped on exit.
# Source it, then call start_pg: it sets PG_URL, PG_ROOT and PG_VERSION.
start_pg() {
  local bindir
  bindir=$(pg_config --bindir 2>/dev/null || ls -d /usr/lib/postgresql/*/bin | tail -n1)
  PG_ROOT=$(mktemp -d /tmp/khidmat-bench-pg.XXXXXX)
  pg_run() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
  [ "$(id -u)" = 0 ] && chown postgres "$PG_ROOT"
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  pg_run "$bindir/initdb" -D "$PG_ROOT/data" -U khidmat --auth=trust -E UTF8 >/dev/null
  pg_run "$bindir/pg_ctl" -D "$PG_ROOT/data" -l "$PG_ROOT/log" -w \
    -o "-p $port -k $PG_ROOT -c listen_addresses=127.0.0.1 -c shared_buffers=1GB -c max_connections=200" start >/dev/null
  PG_BINDIR=$bindir
  trap 'pg_run "$PG_BINDIR/pg_ctl" -D "$PG_ROOT/data" -m fast stop >/dev/null; rm -rf "$PG_ROOT"' EXIT
  pg_run "$bindir/createdb" -h 127.0.0.1 -p "$port" -U khidmat khidmat
  PG_URL="postgres://khidmat@127.0.0.1:$port/khidmat"
  PG_VERSION=$("$bindir/postgres" --version | awk '{print $3}')
}
