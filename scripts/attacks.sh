#!/usr/bin/env bash
# Replays the attacks of docs/SECURITY.md against a fresh `khidmat serve --demo` (embedded
# SQLite, behind one trusted proxy as the operations guide sets it up) and prints each request
# with the answer's status and its start. The test suite proves the same walls on both stores
# (tests/it/security.rs, tests/it/authz.rs); this is for a person to watch them hold.
#
#   cargo build && scripts/attacks.sh        (KHIDMAT_BIN=path/to/khidmat to pick a binary)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${KHIDMAT_BIN:-target/debug/khidmat}
[ -x "$bin" ] || { echo "build first: cargo build" >&2; exit 1; }
dir=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
jar="$dir/cookies"
server=
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT

export KHIDMAT_TRUSTED_PROXIES=1
"$bin" serve --demo --data-dir "$dir/data" --listen "127.0.0.1:$port" >"$dir/log" 2>&1 &
server=$!
for _ in $(seq 100); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.1; done

# A dataset with a DataStore table, a department's key for the CKAN writes, a staff user.
printf 'District,Reports\npeshawar,120\nswat,45\n' > "$dir/counts.csv"
"$bin" data import --data-dir "$dir/data" --dataset counts --department pesco "$dir/counts.csv" >/dev/null
key=$("$bin" apikey create --data-dir "$dir/data" --name attacks --department pesco | tail -1)
echo 'a long enough password' | "$bin" user add --data-dir "$dir/data" --email officer@pesco.test \
  --name Officer --role officer --department pesco --password-stdin >/dev/null

show() { # show TITLE, then curl's arguments: prints the request, the status and the answer's start
  local title=$1; shift
  local status
  status=$(curl -s -o "$dir/body" -w '%{http_code} %{redirect_url}' "$@") || true
  printf '\n## %s\n$ curl %s\n→ %s  %s\n' "$title" "$*" "$status" "$(text "$dir/body")"
}
text() { # the start of an answer: JSON as it is, a page's main text without its tags
  python3 - "$1" <<'PY'
import re, sys
body = open(sys.argv[1], encoding="utf-8", errors="replace").read()
if body.lstrip().lower().startswith("<!doctype"):
    main = re.search(r"<main.*?</main>", body, re.S)
    body = re.sub(r"<[^>]+>", " ", main.group(0) if main else body)
print(" ".join(body.split())[:240])
PY
}
sql() { # sql TITLE QUERY
  show "$1" -G "$base/api/3/action/datastore_search_sql" --data-urlencode "sql=$2"
}
csrf() { # the form token of a page, for the cookie jar's session
  curl -s -c "$jar" -b "$jar" "$base$1" | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' | head -1
}
resource=$(curl -s "$base/api/3/action/package_show?id=counts" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["result"]["resources"][0]["id"])')

echo "# Attacks on a fresh serve --demo at $base (DataStore table \"$resource\")"

sql "1. a CTE declared in a sub-query, used outside it" \
  "SELECT * FROM \"$resource\" WHERE EXISTS (WITH users AS (SELECT 1) SELECT 1 FROM users) UNION ALL SELECT email, password_hash FROM users"
sql "1. the schema catalogue" "SELECT name, sql FROM sqlite_master"
sql "1. a table-valued pragma" "SELECT * FROM \"$resource\", pragma_table_info('users')"
sql "1. a shadowing CTE over the real table" "WITH users AS (SELECT * FROM users) SELECT * FROM users"
sql "1. what is allowed still works" "SELECT \"District\", \"Reports\" FROM \"$resource\" ORDER BY 1"

sql "4. a recursive query doubling a string, beside a DataStore table" \
  "WITH RECURSIVE r(s, n) AS (SELECT 'xxxxxxxxxxxxxxxx', 0 UNION ALL SELECT s || s, n + 1 FROM r WHERE n < 40) SELECT length(s), \"District\" FROM r, \"$resource\" ORDER BY n DESC LIMIT 1"

phone=03001234567
token=$(csrf /me)
show "2. a sign-in code for a stranger's phone" -c "$jar" -b "$jar" "$base/me/code" \
  --data-urlencode "csrf=$token" --data-urlencode "phone=$phone" --data-urlencode next=/me
sql "2. the code, read back from the SMS outbox" "SELECT body FROM sms_outbox"
sql "2. the one-time codes' table" "SELECT * FROM otp_codes"
for i in 2 3 4 5 6; do
  show "8. code request $i for the same number" -c "$jar" -b "$jar" "$base/me/code" \
    --data-urlencode "csrf=$token" --data-urlencode "phone=$phone" --data-urlencode next=/me
done

show "3. the publisher deletes the dataset" -H "Authorization: $key" -H 'Content-Type: application/json' \
  -d '{"id": "counts"}' "$base/api/3/action/package_delete"
show "3. its DataStore table, after deletion" "$base/api/3/action/datastore_search?resource_id=$resource"
sql "3. the same, through SQL" "SELECT * FROM \"$resource\""


answers=""
for i in $(seq 1 12); do
  token=$(csrf /staff/login)
  answers+="$(curl -s -o /dev/null -w '%{http_code}' -c "$jar" -b "$jar" \
    -H "X-Forwarded-For: 10.0.$i.$i, 127.0.0.1" "$base/staff/login" --data-urlencode "csrf=$token" \
    --data-urlencode email=officer@pesco.test --data-urlencode "password=wrong-password-$i" \
    --data-urlencode next=) "
done
printf '\n## 5. 12 wrong passwords for one account, each with a new first X-Forwarded-For hop\n→ %s\n' "$answers"

show "6. next= with a tab before a second slash" "$base/lang/ur?next=/%09/evil.example"
show "6. next= with a backslash" "$base/lang/ur?next=/%5Cevil.example"
show "6. next= with CR/LF" "$base/lang/ur?next=/%0d%0aSet-Cookie:x=1"

start=$(date +%s.%N)
show "7. 300 MB to a CKAN write without a key" -H 'Content-Type: application/json' \
  --data-binary @<(head -c 300000000 /dev/zero) "$base/api/3/action/datastore_create"
printf '   (answered after %.1f s)\n' "$(echo "$(date +%s.%N) - $start" | bc)"

printf '\n## 9. security headers on the home page\n'
curl -s -o /dev/null -D - "$base/" |
  grep -iE '^(content-security-policy|x-frame-options|x-content-type-options|referrer-policy)' | cut -c1-160
show "9. /metrics from outside (the proxy adds the client's address)" -H "X-Forwarded-For: 203.0.113.9" "$base/metrics"
show "9. the public case check without the owner's check code" \
  "$base/api/v1/cases/vehicle-seizure/VS-2026-000001/public?check=peshawar"
echo
echo "# server log: $(grep -c ERROR "$dir/log" || true) errors"
