#!/usr/bin/env bash
# Every figure of docs/PERFORMANCE.md's table, measured in one run on this machine, then the table
# rewritten with the machine and the versions:
#   bench/figures.sh            # 1,000,000 reports, places and rows; 15 s phases (21 minutes on 2
#                               # cores with an earlier run's SQLite and DataStore stores kept; longer from nothing)
#   bench/figures.sh --quick    # 100,000 of each; 5 s phases (about a quarter of an hour)
# Measured: Open311 POST throughput and list latency on SQLite (one node) and PostgreSQL (one and
# two nodes; and PostgreSQL's own rate for a report's statements, by pgbench), with the same run's ceiling (a static file through the same server) and the cached
# documents (services.json, discovery.json) against it; resident memory at rest and under load;
# nearest search; CSV import against the sqlite3 shell with the same indexes and full text;
# DataStore reads against Datasette 0.65.5 with the same indexes (filter with total, full text at
# 32 and 128 connections, row by key, GROUP BY over an indexed column and over one no index
# serves), each with its first ask and Khidmat's resident memory after the phase; and every
# citizen page's transferred bytes on a 2G-class connection (from the browser test, which the
# test command runs; this runs it if its figures are missing).
set -euo pipefail
cd "$(dirname "$0")/.."
size=1000000
seconds=15
mode=full
if [ "${1:-}" = "--quick" ]; then size=100000; seconds=5; mode=quick; fi
clients=64
out=target/figures
mkdir -p "$out"
export BENCH_FIGURES="$out/figures.jsonl"
: > "$BENCH_FIGURES"

echo "== build (release)"
cargo build --release --workspace --locked

echo "== Open311 on SQLite, one node"
target/release/khidmat-bench --reports "$size" --clients "$clients" --seconds "$seconds" \
  --data-dir "target/bench-sqlite-$size"

echo "== Open311 on PostgreSQL, one node and two"
. bench/pg.sh
start_pg
target/release/khidmat-bench --reports "$size" --clients "$clients" --seconds "$seconds" \
  --data-dir "$PG_ROOT/files" --database-url "$PG_URL"
target/release/khidmat-bench --reports "$size" --clients "$clients" --seconds "$seconds" \
  --data-dir "$PG_ROOT/files" --database-url "$PG_URL" --nodes 2
# PostgreSQL's own rate for a report's statements (bench/post.pgbench), on the same cluster.
ids=$(psql "$PG_URL" -At -F ' ' -c "SELECT id, department_id FROM report_services WHERE code = 'kunda'")
read -r sid dep <<<"$ids"
"$PG_BINDIR/pgbench" -n -M prepared -c 32 -j 2 -T "$seconds" -D sid="$sid" -D dep="$dep" \
  -f bench/post.pgbench "$PG_URL" | tee "$out/pgbench.txt"
python3 - "$out/pgbench.txt" "$seconds" >>"$BENCH_FIGURES" <<'PY'
import json, re, sys
text = open(sys.argv[1]).read()
tps = float(re.search(r"^tps = ([0-9.]+)", text, re.M).group(1))
latency = float(re.search(r"^latency average = ([0-9.]+) ms", text, re.M).group(1))
print(json.dumps({"bench": "pgbench_post", "connections": 32, "seconds": int(sys.argv[2]),
                  "per_second": round(tps, 1), "latency_ms": latency}))
PY

echo "== nearest search"
target/release/nearest "$size"

echo "== CSV import against sqlite3, DataStore against Datasette"
target/release/opendata --rows "$size" --seconds "$seconds"

if [ ! -f target/browser/budgets.json ]; then
  echo "== citizen pages on 2G (the browser test)"
  cargo test --locked --test it browser::pages_work_in_a_real_browser
fi

echo "== docs/PERFORMANCE.md"
KHIDMAT_VERSION=$(target/release/khidmat --version | awk '{print $2}') \
RUSTC_VERSION=$(rustc --version | awk '{print $2}') \
PG_VERSION="$PG_VERSION" \
SQLITE_VERSION=$(sqlite3 --version | awk '{print $1}') \
DATASETTE_VERSION=$(target/bench-venv/bin/datasette --version 2>/dev/null | awk '{print $NF}') \
FIGURES_MODE="$mode" \
  python3 bench/report.py "$BENCH_FIGURES" target/browser/budgets.json docs/PERFORMANCE.md
