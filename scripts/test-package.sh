#!/usr/bin/env bash
# The Debian package, installed for real on this machine (root only; scripts/test.sh runs it):
# install, serve as the unit would, upgrade over an older version with data in it (a backup is
# taken first, the data and the operator's configuration stay), remove (the data stays), purge
# (it goes). `systemd-analyze verify` checks the installed unit.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "the package test installs a package: run it as root" >&2; exit 1; }
binary=${1:-target/debug/khidmat}

fail() { echo "package test: $*" >&2; exit 1; }
cleanup() {
  [ -n "${server:-}" ] && kill "$server" 2>/dev/null || true
  dpkg --purge khidmat >/dev/null 2>&1 || true
}
trap cleanup EXIT
dpkg --purge khidmat >/dev/null 2>&1 || true

old=$(scripts/package-deb.sh --fast --binary "$binary" --version 0.0.9)
new=$(scripts/package-deb.sh --fast --binary "$binary")

echo "== install $old"
dpkg -i "$old" >/dev/null
getent passwd khidmat >/dev/null || fail "no khidmat user"
[ "$(stat -c %U:%a /var/lib/khidmat)" = khidmat:750 ] || fail "the data directory is not the service's alone"
[ "$(stat -c %U:%G:%a /etc/khidmat/khidmat.toml)" = root:khidmat:640 ] || fail "the configuration is readable by others"
systemd-analyze verify /lib/systemd/system/khidmat.service || fail "systemd-analyze verify"
/usr/bin/khidmat --config /etc/khidmat/khidmat.toml --help >/dev/null

# The operator's one edit, kept across the upgrade.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
sed -i "s|^listen = .*|listen = \"127.0.0.1:$port\"|" /etc/khidmat/khidmat.toml
echo 'public_url = "https://khidmat.example.gov.pk"' >>/etc/khidmat/khidmat.toml

serve() {
  # As the unit does: the service's user, the packaged configuration.
  runuser -u khidmat -- env KHIDMAT_DEMO=true /usr/bin/khidmat --config /etc/khidmat/khidmat.toml serve \
    >/tmp/khidmat-package-test.log 2>&1 &
  server=$!
  for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  cat /tmp/khidmat-package-test.log >&2
  fail "the server did not become ready"
}
stop() { kill "$server"; wait "$server" 2>/dev/null || true; server=""; }

echo "== serve, and make data"
serve
curl -fsS "http://127.0.0.1:$port/open311/v2/services.json" | grep -q '"service_code"' || fail "no services"
runuser -u khidmat -- /usr/bin/khidmat --config /etc/khidmat/khidmat.toml user add --email ops@kp.gov.pk \
  --name Ops --role admin --password-stdin <<<"a long enough password" >/dev/null
stop
users_before=$(runuser -u khidmat -- /usr/bin/khidmat --config /etc/khidmat/khidmat.toml backup verify /var/lib/khidmat/khidmat.db | grep '^  users:')

echo "== upgrade to $new"
dpkg -i "$new" >/dev/null
ls /var/lib/khidmat/backups/before-upgrade-from-0.0.9-*.backup >/dev/null 2>&1 || fail "no backup before the upgrade"
runuser -u khidmat -- /usr/bin/khidmat --config /etc/khidmat/khidmat.toml backup verify \
  /var/lib/khidmat/backups/before-upgrade-from-0.0.9-*.backup >/dev/null || fail "the upgrade's backup does not verify"
grep -q '^public_url = "https://khidmat.example.gov.pk"' /etc/khidmat/khidmat.toml || fail "the upgrade lost the operator's configuration"
serve
users_after=$(runuser -u khidmat -- /usr/bin/khidmat --config /etc/khidmat/khidmat.toml backup verify /var/lib/khidmat/khidmat.db | grep '^  users:')
[ "$users_before" = "$users_after" ] || fail "users before ($users_before) and after ($users_after) the upgrade differ"
doctor=$(runuser -u khidmat -- /usr/bin/khidmat --config /etc/khidmat/khidmat.toml doctor) || fail "doctor finds a problem: $doctor"
grep -q '^ok       server' <<<"$doctor" || fail "doctor does not see the server: $doctor"
stop

echo "== remove keeps the data; purge deletes it"
dpkg -r khidmat >/dev/null
[ -e /var/lib/khidmat/khidmat.db ] || fail "remove deleted the data"
[ ! -e /usr/bin/khidmat ] || fail "remove left the binary"
dpkg --purge khidmat >/dev/null
[ ! -e /var/lib/khidmat ] || fail "purge left the data"
! getent passwd khidmat >/dev/null || fail "purge left the user"
echo "package test: ok ($(basename "$new"), upgraded from 0.0.9)"
