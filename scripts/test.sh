#!/usr/bin/env bash
# Run the whole test suite: unit tests, the integration suite on SQLite and on a throwaway
# PostgreSQL cluster that the harness starts itself, schemathesis against the OpenAPI document,
# and the web pages in headless Chromium. Installs what the tests need when it is missing and we
# may install (root, apt-get, npm).
set -euo pipefail
cd "$(dirname "$0")/.."

have_postgres() {
  command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ] && return 0
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1
}

# What the suite needs from Debian: PostgreSQL (store tests), Chromium (page tests), and fonts
# with Urdu and Pashto glyphs (Noto Nastaliq Urdu, Noto Naskh Arabic) so screenshots read right.
missing=()
have_postgres || missing+=(postgresql)
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -e /usr/share/fonts/truetype/noto/NotoNastaliqUrdu-Regular.ttf ] || missing+=(fonts-noto-core)
# The package test (scripts/test-package.sh): the unit's checker, and curl.
command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
command -v pgrep >/dev/null 2>&1 || missing+=(procps)
command -v curl >/dev/null 2>&1 || missing+=(curl)
# TLS in front (scripts/test-nginx.sh runs deploy/nginx; caddy checks deploy/caddy).
command -v nginx >/dev/null 2>&1 || missing+=(nginx)
command -v caddy >/dev/null 2>&1 || missing+=(caddy)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
# The alerting rules (promtool check rules, promtool test rules).
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "the tests need: ${missing[*]} (Debian: apt-get install ${missing[*]})" >&2
    exit 1
  fi
fi

# The browser tests' npm packages (playwright-core drives the Debian Chromium; it downloads no
# browser of its own), pinned by tests/browser/package-lock.json.
if [ ! -d tests/browser/node_modules/playwright-core ] || [ tests/browser/package-lock.json -nt tests/browser/node_modules ]; then
  echo "== npm packages for the browser tests"
  (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
fi

echo "== build (once: the tests' build also makes the server binary schemathesis talks to)"
cargo test --workspace --locked --no-run

# Real Python clients: schemathesis (requests generated from our OpenAPI document, every answer
# checked against it), ckanapi and frictionless (CKAN clients; tests/it/opendata.rs runs them against the
# server), pyshacl (the DCAT-AP shapes, tests/it/dcat.rs); and moto's S3-compatible server, which
# tests/it/nodes.rs keeps photos in.
venv=target/test-venv
if [ ! -x "$venv/bin/st" ] || [ ! -x "$venv/bin/ckanapi" ] || [ ! -x "$venv/bin/moto_server" ] \
   || [ ! -x "$venv/bin/openapi-spec-validator" ] || [ ! -x "$venv/bin/frictionless" ] \
   || [ ! -x "$venv/bin/pyshacl" ]; then
  echo "== Python tools for the tests (schemathesis, ckanapi, moto, openapi-spec-validator, frictionless, pyshacl)"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "schemathesis==4.32.5" "ckanapi==4.11" "moto[s3,server]==5.2.5" \
    "openapi-spec-validator==0.7.1" "frictionless[ckan]==5.18.1" "pyshacl==0.30.1"
fi
echo "== schemathesis (every check) against /api/openapi.json"
data=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
KHIDMAT_RATE_LIMIT_PER_MINUTE=0 target/debug/khidmat --data-dir "$data" serve --demo --listen "127.0.0.1:$port" >"$data/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; rm -rf "$data"' EXIT
python3 - "$port" <<'PY'
import sys, time, urllib.request
for _ in range(200):
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/healthz", timeout=1)
        break
    except Exception:
        time.sleep(0.1)
else:
    sys.exit("the server did not come up")
PY
echo "== openapi-spec-validator on /api/openapi.json"
python3 -c 'import sys, urllib.request; sys.stdout.buffer.write(urllib.request.urlopen(sys.argv[1]).read())' \
  "http://127.0.0.1:$port/api/openapi.json" >"$data/openapi.json"
"$venv/bin/openapi-spec-validator" "$data/openapi.json"
key=$(target/debug/khidmat --data-dir "$data" apikey create --name schemathesis --department pesco | tail -n1)
# Every check (schemathesis.toml turns them all on, and says the one it leaves out where).
"$venv/bin/st" --config-file schemathesis.toml run "http://127.0.0.1:$port/api/openapi.json" \
  --max-examples 25 --seed 1 -H "Authorization: Bearer $key" --no-color
echo "== schemathesis: /hsds against Open Referral's own HSDS 3.0 openapi.json"
# The official description, its schema links pointed at the copies in tests/standards/hsds (so no
# network is needed): every answer to a request it allows must match its schemas.
python3 - "$PWD/tests/standards/hsds" "$data/hsds-openapi.json" <<'PY'
import sys
root, out = sys.argv[1], sys.argv[2]
text = open(f"{root}/openapi.json").read()
text = text.replace("https://raw.githubusercontent.com/openreferral/specification/3.0/schema/", f"file://{root}/")
open(out, "w").write(text)
PY
: >"$data/empty.toml"
"$venv/bin/st" --config-file "$data/empty.toml" run "$data/hsds-openapi.json" --url "http://127.0.0.1:$port/hsds" \
  --checks not_a_server_error,response_schema_conformance,content_type_conformance --mode positive \
  --max-examples 25 --seed 1 --no-color
kill $server; wait $server 2>/dev/null || true

echo "== the Debian package under systemd: install, start, crash, stop, upgrade with data, reboot, remove, purge"
if [ "$(id -u)" = 0 ]; then
  scripts/test-package.sh target/debug/khidmat
else
  echo "the package test installs a package on this machine: it runs as root (CI does)" >&2
  exit 1
fi

echo "== TLS in front: nginx (deploy/nginx/khidmat.conf) before the real server; Caddy's file"
scripts/test-nginx.sh target/debug/khidmat
caddy validate --adapter caddyfile --config deploy/caddy/Caddyfile >/dev/null 2>&1 \
  || { caddy validate --adapter caddyfile --config deploy/caddy/Caddyfile; exit 1; }

echo "== alerting rules: promtool check rules, promtool test rules"
promtool check rules deploy/prometheus/khidmat-alerts.yml
(cd deploy/prometheus && promtool test rules khidmat-alerts.test.yml)

echo "== cargo test"
cargo test --workspace --locked "$@"
