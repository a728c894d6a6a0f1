#!/usr/bin/env bash
# Measure Open311 throughput and latency on SQLite and on PostgreSQL (a throwaway local cluster).
#   bench/run.sh [REPORTS] [CLIENTS] [SECONDS]
# bench/figures.sh measures everything (this too) and rewrites the table in docs/PERFORMANCE.md.
set -euo pipefail
cd "$(dirname "$0")/.."
reports=${1:-1000000}
clients=${2:-64}
seconds=${3:-15}
cargo build --release -p khidmat-bench
bin=target/release/khidmat-bench

echo "== SQLite"
"$bin" --reports "$reports" --clients "$clients" --seconds "$seconds" --data-dir "target/bench-sqlite-$reports"

echo "== PostgreSQL"
. bench/pg.sh
start_pg
"$bin" --reports "$reports" --clients "$clients" --seconds "$seconds" --data-dir "$PG_ROOT/files" \
  --database-url "$PG_URL"
