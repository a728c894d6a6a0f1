#!/usr/bin/env bash
# The Debian package, installed for real on this machine (root only; scripts/test.sh runs it).
#
# Under systemd: a real systemd boots as process 1 of its own PID, mount and network namespaces
# (this machine has no systemd of its own), and apt and dpkg run inside it, so the package's scripts
# meet a running systemd as on a server. The test installs, edits the one file, `systemctl start`s
# the sandboxed unit, files a report, kills the server (systemd restarts it), stops it (a clean
# exit), upgrades over an older version with data in it (a backup is taken first, the server is
# restarted on the new release, nothing is lost), reboots (the service comes back by itself),
# removes (the data stays) and purges (it goes). `systemd-analyze verify` checks the unit and
# `systemd-analyze security` rates it.
#
# Where no systemd can be booted (no CAP_SYS_ADMIN), the same steps run with the binary started
# as the unit would start it (its user, its configuration), and the test says so.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "the package test installs a package: run it as root" >&2; exit 1; }
binary=${1:-target/debug/khidmat}
log=/tmp/khidmat-package-test.log
conf=/etc/khidmat/khidmat.toml

fail() {
  echo "package test: $*" >&2
  if [ -n "${sd:-}" ]; then inside journalctl -u khidmat --no-pager -n 40 >&2 || true; fi
  [ -s "$log" ] && tail -n 40 "$log" >&2
  exit 1
}

# --- the machine: a booted systemd in namespaces, or none -------------------------------------
sd=""
boot() {
  # A container as systemd-nspawn makes one, on this machine's files: its own /run, /tmp and
  # /var/tmp (a boot empties /tmp), and this machine's own services (nginx, PostgreSQL, timers)
  # masked so that only systemd's basics and the package's unit start.
  unshare --pid --fork --mount --mount-proc --net --uts --ipc sh -c '
    set -e
    for d in /run /tmp /var/tmp; do mount -t tmpfs -o mode=1777 tmpfs "$d"; done
    # The journal of this boot only.
    [ -d /var/log/journal ] && mount -t tmpfs tmpfs /var/log/journal
    chmod 755 /run
    mkdir -p /run/systemd/system
    for w in /etc/systemd/system/*.wants/*; do
      u=${w##*/}
      [ "$u" = khidmat.service ] || ln -sf /dev/null "/run/systemd/system/$u"
    done
    exec env container=khidmat-package-test /lib/systemd/systemd --system --unit=multi-user.target
  ' >/tmp/khidmat-systemd.log 2>&1 </dev/null &
  local launcher=$!
  for _ in $(seq 1 50); do
    sd=$(pgrep -P "$launcher" -x systemd || true)
    [ -n "$sd" ] && break
    sleep 0.1
  done
  # Booted when systemd answers "running", or "degraded" (a unit of this machine's own failed).
  local state=""
  for _ in $(seq 1 300); do
    [ -n "$sd" ] || break
    state=$(nsenter -t "$sd" -m -p -n -u -i -- systemctl is-system-running 2>/dev/null || true)
    case "$state" in running|degraded) return 0 ;; esac
    sleep 0.2
  done
  [ -n "$sd" ] && kill -9 "$sd" 2>/dev/null || true
  sd=""
  return 1
}
halt() {
  if [ -n "$sd" ]; then
    kill -9 "$sd" 2>/dev/null || true
    while kill -0 "$sd" 2>/dev/null; do sleep 0.1; done
    sd=""
  fi
}
# A command on the machine: inside systemd's namespaces when it runs.
inside() {
  if [ -n "$sd" ]; then nsenter -t "$sd" -m -p -n -u -i -- "$@"; else "$@"; fi
}
as_service() { inside runuser -u khidmat -- /usr/bin/khidmat --config "$conf" "$@"; }

server=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null || true
  inside dpkg --purge khidmat >/dev/null 2>&1 || true
  halt
}
trap cleanup EXIT
dpkg --purge khidmat >/dev/null 2>&1 || true

under_systemd=yes
# PACKAGE_TEST_SYSTEMD=no tries the other way on a machine that has it.
if [ "${PACKAGE_TEST_SYSTEMD:-yes}" = no ] || ! boot; then under_systemd=no; fi
if [ "$under_systemd" = no ]; then
  echo "package test: no systemd could be booted here; the server is started as the unit would start it"
fi

ready() {
  for _ in $(seq 1 150); do
    inside curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  fail "the server did not become ready"
}
start() {
  if [ "$under_systemd" = yes ]; then
    inside systemctl start khidmat || fail "systemctl start khidmat"
  else
    runuser -u khidmat -- /usr/bin/khidmat --config "$conf" serve >"$log" 2>&1 &
    server=$!
  fi
  ready
}
stop() {
  if [ "$under_systemd" = yes ]; then
    inside systemctl stop khidmat
  else
    kill "$server"; wait "$server" 2>/dev/null || true; server=""
  fi
}
# The journal (journald takes a moment to write what a service printed).
journal_has() {
  for _ in $(seq 1 50); do
    inside journalctl -u khidmat --no-pager | grep -q "$1" && return 0
    sleep 0.2
  done
  return 1
}
main_pid() { inside systemctl show -p MainPID --value khidmat; }

old=$PWD/$(scripts/package-deb.sh --fast --binary "$binary" --version 0.0.9)
new=$PWD/$(scripts/package-deb.sh --fast --binary "$binary")

echo "== install $old"
# As the runbook says: apt installs the file and whatever it depends on.
inside env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$old" >/dev/null
getent passwd khidmat >/dev/null || fail "no khidmat user"
[ "$(stat -c %U:%a /var/lib/khidmat)" = khidmat:750 ] || fail "the data directory is not the service's alone"
[ "$(stat -c %U:%G:%a $conf)" = root:khidmat:640 ] || fail "the configuration is readable by others"
systemd-analyze verify /lib/systemd/system/khidmat.service || fail "systemd-analyze verify"
if [ "$under_systemd" = yes ]; then
  [ "$(inside systemctl is-enabled khidmat)" = enabled ] || fail "the package did not enable the service"
  # A new installation waits for its configuration.
  ! inside systemctl is-active --quiet khidmat || fail "the service started before it was configured"
fi

# The operator's one edit, kept across the upgrade.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
sed -i "s|^listen = .*|listen = \"127.0.0.1:$port\"|; s|^# demo = false|demo = true|" "$conf"
echo 'public_url = "https://khidmat.example.gov.pk"' >>"$conf"

echo "== serve, and make data"
start
inside curl -fsS "http://127.0.0.1:$port/open311/v2/services.json" | grep -q '"service_code"' || fail "no services"
key=$(as_service apikey create --name "package test" | tail -n 1)
filed=$(inside curl -fsS -X POST "http://127.0.0.1:$port/open311/v2/requests.json" \
  --data-urlencode "api_key=$key" --data-urlencode service_code=kunda \
  --data-urlencode "attribute[premises]=shop" --data-urlencode "attribute[method]=hook" \
  --data-urlencode lat=34.0151 --data-urlencode long=71.5249 \
  --data-urlencode "description=Kunda connection on the pole outside the mosque") || fail "a report was not filed"
report=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])[0]["service_request_id"])' "$filed")
as_service user add --email ops@kp.gov.pk --name Ops --role admin --password-stdin <<<"a long enough password" >/dev/null
if [ "$under_systemd" = yes ]; then
  echo "== the unit: sandbox, logs, restart after a crash, a clean stop"
  exposure=$(inside systemd-analyze security khidmat --no-pager | sed -n 's/.*Overall exposure level for khidmat.service: \([0-9.]*\).*/\1/p')
  echo "systemd-analyze security: exposure $exposure"
  python3 -c "import sys; sys.exit(0 if float('$exposure') <= 2.0 else 1)" || fail "exposure $exposure is above 2.0"
  journal_has "khidmat is serving" || fail "the server's log is not in the journal"
  before=$(main_pid)
  inside systemctl kill --signal=SIGKILL --kill-whom=main khidmat
  for _ in $(seq 1 100); do
    after=$(main_pid)
    [ "$after" != 0 ] && [ "$after" != "$before" ] && break
    sleep 0.2
  done
  [ "$after" != 0 ] && [ "$after" != "$before" ] || fail "systemd did not restart the server after it was killed"
  ready
  stop
  [ "$(inside systemctl show -p Result --value khidmat)" = success ] || fail "the server did not stop cleanly on SIGTERM"
  journal_has "shutting down" || fail "no clean stop in the journal"
  start
fi
users_before=$(as_service backup verify /var/lib/khidmat/khidmat.db | grep '^  users:')
reports_before=$(as_service backup verify /var/lib/khidmat/khidmat.db | grep '^  reports:')

echo "== upgrade to $new"
# The server runs during the upgrade: the package backs up, replaces, and restarts it.
if [ "$under_systemd" = yes ]; then running=$(main_pid); else stop; fi
inside dpkg -i "$new" >/dev/null
ls /var/lib/khidmat/backups/before-upgrade-from-0.0.9-*.backup >/dev/null 2>&1 || fail "no backup before the upgrade"
as_service backup verify /var/lib/khidmat/backups/before-upgrade-from-0.0.9-*.backup >/dev/null \
  || fail "the upgrade's backup does not verify"
grep -q '^public_url = "https://khidmat.example.gov.pk"' "$conf" || fail "the upgrade lost the operator's configuration"
if [ "$under_systemd" = yes ]; then
  inside systemctl is-active --quiet khidmat || fail "the server is not running after the upgrade"
  [ "$(main_pid)" != "$running" ] || fail "the upgrade did not restart the server on the new release"
  ready
else
  start
fi
[ "$users_before" = "$(as_service backup verify /var/lib/khidmat/khidmat.db | grep '^  users:')" ] || fail "users differ after the upgrade"
[ "$reports_before" = "$(as_service backup verify /var/lib/khidmat/khidmat.db | grep '^  reports:')" ] || fail "reports differ after the upgrade"
doctor=$(inside runuser -u khidmat -- /usr/bin/khidmat --config "$conf" doctor) || fail "doctor finds a problem: $doctor"
grep -q '^ok       server' <<<"$doctor" || fail "doctor does not see the server: $doctor"

if [ "$under_systemd" = yes ]; then
  echo "== reboot: the service comes back by itself"
  halt
  boot || fail "systemd did not boot a second time"
  ready
  inside curl -fsS "http://127.0.0.1:$port/open311/v2/requests/$report.json" | grep -q "\"$report\"" || fail "report $report is gone after the reboot"
else
  stop
fi

echo "== remove keeps the data; purge deletes it"
inside dpkg -r khidmat >/dev/null
[ "$under_systemd" = no ] || ! inside systemctl is-active --quiet khidmat || fail "remove left the server running"
[ -e /var/lib/khidmat/khidmat.db ] || fail "remove deleted the data"
[ ! -e /usr/bin/khidmat ] || fail "remove left the binary"
inside dpkg --purge khidmat >/dev/null
[ ! -e /var/lib/khidmat ] || fail "purge left the data"
! getent passwd khidmat >/dev/null || fail "purge left the user"
echo "package test: ok ($(basename "$new"), upgraded from 0.0.9, under systemd: $under_systemd${exposure:+, exposure $exposure})"
