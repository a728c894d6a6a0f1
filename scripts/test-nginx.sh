#!/usr/bin/env bash
# deploy/nginx/khidmat.conf, as it is, in front of the real server on loopback with a
# self-signed certificate: over HTTPS and HTTP/2 a report with a photo is filed, the session
# cookie is Secure, the client's address is the one nginx saw (a forged X-Forwarded-For does
# not escape the rate limit), /metrics stays inside. scripts/test.sh runs it.
set -euo pipefail
cd "$(dirname "$0")/.."
binary=${1:-target/debug/khidmat}
fail() { echo "nginx test: $*" >&2; [ -f "${dir:-}/error.log" ] && tail -5 "$dir/error.log" >&2; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

dir=$(mktemp -d)
cleanup() {
  [ -n "${khidmat:-}" ] && kill "$khidmat" 2>/dev/null || true
  [ -f "$dir/nginx.pid" ] && kill "$(cat "$dir/nginx.pid")" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
kport=$(free_port); nport=$(free_port); hport=$(free_port)

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=localhost" \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
  -keyout "$dir/key.pem" -out "$dir/cert.pem" >/dev/null 2>&1

# The site file as shipped; only the names, ports and certificate paths are this machine's.
sed -e "s|server 127.0.0.1:8080;|server 127.0.0.1:$kport;|" \
    -e "s|listen 443 ssl http2;|listen 127.0.0.1:$nport ssl http2;|" \
    -e "s|listen 80;|listen 127.0.0.1:$hport;|" \
    -e "/listen \[::\]/d" \
    -e "s|khidmat.example.gov.pk|localhost|g" \
    -e "s|/etc/letsencrypt/live/localhost/fullchain.pem|$dir/cert.pem|" \
    -e "s|/etc/letsencrypt/live/localhost/privkey.pem|$dir/key.pem|" \
    deploy/nginx/khidmat.conf >"$dir/site.conf"
grep -q "$dir/cert.pem" "$dir/site.conf" || fail "the site file's certificate lines were not found"
# The workers run as this user, so they may write their buffers under the test's directory.
user_line=""
[ "$(id -u)" = 0 ] && user_line="user root;"
cat >"$dir/nginx.conf" <<CONF
$user_line
daemon on;
pid $dir/nginx.pid;
error_log $dir/error.log;
events {}
http {
    include /etc/nginx/mime.types;
    access_log $dir/access.log;
    client_body_temp_path $dir/body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
    include $dir/site.conf;
}
CONF
nginx -t -p "$dir" -c "$dir/nginx.conf" >/dev/null 2>&1 || { nginx -t -p "$dir" -c "$dir/nginx.conf"; fail "nginx -t"; }
nginx -p "$dir" -c "$dir/nginx.conf"

# Khidmat as the configuration comments in the site file say.
KHIDMAT_PUBLIC_URL="https://localhost:$nport" KHIDMAT_TRUSTED_PROXIES=1 KHIDMAT_RATE_LIMIT_PER_MINUTE=3 \
  "$binary" --data-dir "$dir/data" serve --demo --listen "127.0.0.1:$kport" >"$dir/khidmat.log" 2>&1 &
khidmat=$!
https="https://localhost:$nport"
get() { curl -sS --cacert "$dir/cert.pem" "$@"; }
for _ in $(seq 1 100); do
  get -f "$https/readyz" >/dev/null 2>&1 && break
  sleep 0.2
done
[ "$(get -o /dev/null -w '%{http_code} %{http_version}' "$https/readyz")" = "200 2" ] || fail "/readyz over HTTPS and HTTP/2"
get -D - -o /dev/null "$https/readyz" | grep -qi '^strict-transport-security: max-age=31536000' || fail "no HSTS"
[ "$(curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$hport/report")" = 301 ] || fail "plain HTTP is not sent to HTTPS"

# A report with a photo, through nginx (the body is buffered by nginx, then passed whole).
key=$("$binary" --data-dir "$dir/data" apikey create --name proxy-test | tail -n1)
python3 - "$dir/photo.png" <<'PY'
import struct, sys, zlib
w = h = 96
raw = b"".join(b"\x00" + bytes(v for x in range(w) for v in (x * 2 % 256, y * 2 % 256, 128)) for y in range(h))
def chunk(t, d): return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
open(sys.argv[1], "wb").write(png)
PY
answer=$(get -f -X POST "$https/open311/v2/requests.json" -F "api_key=$key" -F service_code=kunda \
  -F lat=34.0151 -F long=71.5249 -F "description=Hook on the main line near the bazaar" \
  -F "attribute[premises]=shop" -F "attribute[method]=hook" -F "media=@$dir/photo.png;type=image/png") \
  || fail "the report with a photo was not filed through nginx"
id=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])[0]["service_request_id"])' "$answer")
media=$(get -f "$https/open311/v2/requests/$id.json" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0].get("media_url") or "")')
case "$media" in
  "https://localhost:$nport/photos/"*) ;;
  *) fail "the photo's address is not the public https one: $media" ;;
esac
get -f -o /dev/null "$media" || fail "the photo does not load through nginx"

# The session cookie is Secure; the client is the address nginx saw, whatever it is told.
"$binary" --data-dir "$dir/data" user add --email ops@kp.gov.pk --name Ops --role admin \
  --password-stdin <<<"a long enough password" >/dev/null
login() { get -o /dev/null -D - -X POST "$https/api/v1/login" -H 'content-type: application/json' "$@"; }
login -d '{"email":"ops@kp.gov.pk","password":"a long enough password"}' | grep -i '^set-cookie:' | grep -q 'Secure' \
  || fail "the session cookie is not Secure"
codes=""
for forged in 198.51.100.1 198.51.100.2 198.51.100.3 198.51.100.4; do
  codes+=$(login -H "X-Forwarded-For: $forged" -d '{"email":"ops@kp.gov.pk","password":"wrong"}' | head -n1 | cut -d' ' -f2)" "
done
case "$codes" in
  *429*) ;;
  *) fail "forged X-Forwarded-For addresses escaped the rate limit: $codes" ;;
esac
[ "$(get -o /dev/null -w '%{http_code}' "$https/metrics")" = 404 ] || fail "/metrics is reachable through nginx"
echo "nginx test: ok (HTTP/2, HSTS, report $id with its photo, Secure cookie, rate limit by the real address: $codes)"
