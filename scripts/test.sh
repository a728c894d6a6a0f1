#!/usr/bin/env bash
# Run the whole test suite: unit tests, and the integration suite on SQLite and on a throwaway
# PostgreSQL cluster that the harness starts itself. Installs what the tests need (PostgreSQL)
# when it is missing and we may install (root, apt-get).
set -euo pipefail
cd "$(dirname "$0")/.."

have_postgres() {
  command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ] && return 0
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1
}

if ! have_postgres; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing PostgreSQL for the store tests"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq postgresql >/dev/null
  else
    echo "PostgreSQL is needed for the store tests: install it (Debian: apt-get install postgresql)" >&2
    exit 1
  fi
fi
echo "== cargo test"
cargo test --workspace --locked "$@"
