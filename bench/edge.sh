#!/usr/bin/env bash
# A citizen's uploads on an EDGE-like link (600 ms, 240/60 kbit/s), timed in Chromium: a report
# with a photo, a grant application with two document photos, and one refused by the server
# first. Needs what ./scripts/test.sh installs (Chromium, tests/browser's npm packages).
#   bench/edge.sh                       # builds the release binary and measures it
#   BIN=path bench/edge.sh      # measures another build (an older release, for before/after)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${BIN:-}
if [ -z "$bin" ]; then
  cargo build --release
  bin=target/release/khidmat
fi
work=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; cat "$work/server.log" | grep -v INFO | tail -5; rm -rf "$work"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
KHIDMAT_LISTEN="127.0.0.1:$port" KHIDMAT_MAP_TILE_URL="" "$bin" --data-dir "$work/data" serve --demo \
  >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  sleep 0.2
done
mkdir -p "$work/photos" target/bench
echo "== $("$bin" --version) on an EDGE-like link (600 ms, 240 kbit/s down, 60 kbit/s up)"
KHIDMAT_URL="http://127.0.0.1:$port" PHOTO_DIR="$work/photos" OUT=target/bench node bench/edge.mjs
