#!/usr/bin/env bash
# The push-gateway serves the built dashboard at / (issue 17) from
# ANALYTICS_PUSH_GATEWAY_DASHBOARD_DIR, a directory made here with a page,
# hashed assets, their pre-compressed siblings, a subdirectory, a hidden
# file, a symbolic link out of it and a secret beside it: index.html at /
# with its type, ETag, Cache-Control no-cache and its security headers;
# assets cached a year as immutable; If-None-Match answered 304; HEAD
# without a body; gzip and br siblings when accepted (and the same bytes
# once decoded), never when refused; no directory listing; nothing outside
# the directory by "..", "%2e%2e", "%2f" (which civetweb decodes to "/"),
# backslashes, hidden files or the link; 405 for other methods; the API
# under /api/ unaffected (401 without a token, JSON 404 for a route that is
# not one, the WebSocket path). A directory that is missing at start: a
# clear log line, 503 at / while /api/ and /healthz answer, then served
# once it is built, without a restart. The setting "off": 404. (civetweb
# decodes %00 too and cuts the path there, which cannot leave the directory.)
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
itest_init push_gateway_static

# ---- a dashboard directory, and what must never be served ----
D="$T/site/dashboard"
mkdir -p "$D/assets/chunks" "$D/empty-dir" "$D/.git"
printf '<!doctype html><title>dash</title><script type="module" src="assets/main-AB12.js"></script>\n' >"$D/index.html"
for i in $(seq 200); do echo "export const line$i = 'the dashboard bundle, line $i';"; done >"$D/assets/main-AB12.js"
printf 'body{color:#000}\n' >"$D/assets/main-AB12.css"
printf 'export const c = 1;\n' >"$D/assets/chunks/funnels-XY34.js"
printf '\x89PNG\r\n\x1a\nnot really a png' >"$D/assets/shot.png"
gzip -9 -k "$D/assets/main-AB12.js"
if command -v brotli >/dev/null; then
  brotli -k -q 11 "$D/assets/main-AB12.js"
else # node ships brotli
  node -e 'const z=require("zlib"),f=require("fs");f.writeFileSync(process.argv[1]+".br",z.brotliCompressSync(f.readFileSync(process.argv[1])))' "$D/assets/main-AB12.js"
fi
echo "secret-outside-the-dashboard" >"$T/site/secret.txt"
echo "git-config" >"$D/.git/config"
echo "dotenv" >"$D/.env"
ln -s "$T/site/secret.txt" "$D/assets/link.txt"
ln -s "$T/site" "$D/assets/up"

start_push_gateway gw ANALYTICS_PUSH_GATEWAY_DASHBOARD_DIR="$D"
BASE="http://127.0.0.1:$GW_PORT"
check "the start-up log names the dashboard's directory" \
  bash -c "grep '\"event\":\"gateway.dashboard\"' '$T/gw.log' | grep -qF '$D'"

# fetch PATH [CURL ARGS...]: sets STATUS, HEADERS (lower-cased names) and BODY_FILE.
fetch() {
  local path="$1"
  shift
  BODY_FILE="$T/body"
  rm -f "$BODY_FILE" # curl writes no file for an answer without a body
  STATUS="$(curl -s --path-as-is --max-time 5 -D "$T/headers" -o "$BODY_FILE" -w '%{http_code}' "$@" "$BASE$path")"
  HEADERS="$(tr -d '\r' <"$T/headers" | sed 's/^\([^:]*\):/\L\1:/')"
}
header() { sed -n "s/^$1: //p" <<<"$HEADERS" | head -1; }

# ---- the page ----
fetch /
expect_eq "/: 200" 200 "$STATUS"
expect_eq "...text/html" "text/html; charset=utf-8" "$(header content-type)"
check "...the index's bytes" cmp -s "$BODY_FILE" "$D/index.html"
expect_eq "...revalidated every time" "no-cache" "$(header cache-control)"
check "...a strong ETag" grep -Eq '^"[0-9a-f]+-[0-9a-f]+"$' <<<"$(header etag)"
check "...a Content-Security-Policy of its own origin" grep -q "default-src 'self'" <<<"$(header content-security-policy)"
expect_eq "...nosniff" nosniff "$(header x-content-type-options)"
expect_eq "...no framing" DENY "$(header x-frame-options)"
etag="$(header etag)"
fetch / -H "If-None-Match: $etag"
expect_eq "If-None-Match with its ETag: 304" 304 "$STATUS"
check "...without a body" test ! -s "$BODY_FILE"
fetch / -H 'If-None-Match: "other", '"$etag"
expect_eq "...also among others" 304 "$STATUS"
fetch / -H 'If-None-Match: "stale-0"'
expect_eq "a stale ETag: 200" 200 "$STATUS"
fetch /index.html
expect_eq "/index.html: the same page" "200 $etag" "$STATUS $(header etag)"
fetch / -I
expect_eq "HEAD /: 200 with the length" "200 $(stat -c %s "$D/index.html")" "$STATUS $(header content-length)"
check "...and no body (curl -I writes the headers alone)" bash -c "! grep -q doctype '$BODY_FILE'"
touch -d '1 minute ago' "$D/index.html"
fetch /
check "a rebuilt page gets a new ETag" test "$(header etag)" != "$etag"

# ---- assets ----
fetch /assets/main-AB12.js
expect_eq "a hashed asset: 200 text/javascript" "200 text/javascript; charset=utf-8" "$STATUS $(header content-type)"
expect_eq "...cached a year, immutable" "public, max-age=31536000, immutable" "$(header cache-control)"
check "...the file's bytes (no encoding asked)" cmp -s "$BODY_FILE" "$D/assets/main-AB12.js"
check "...no Content-Encoding" test -z "$(header content-encoding)"
expect_eq "...Vary: Accept-Encoding" Accept-Encoding "$(header vary)"
plain_etag="$(header etag)"
fetch /assets/main-AB12.js -H 'Accept-Encoding: gzip, deflate'
expect_eq "gzip accepted: the .gz sibling" "200 gzip $(stat -c %s "$D/assets/main-AB12.js.gz")" \
  "$STATUS $(header content-encoding) $(header content-length)"
check "...the same bytes once decoded" bash -c "gzip -dc '$BODY_FILE' | cmp -s - '$D/assets/main-AB12.js'"
check "...its own ETag" test "$(header etag)" != "$plain_etag"
fetch /assets/main-AB12.js -H 'Accept-Encoding: gzip, br'
expect_eq "br accepted: the .br sibling" "200 br" "$STATUS $(header content-encoding)"
check "...the same bytes once decoded" bash -c \
  "node -e 'process.stdout.write(require(\"zlib\").brotliDecompressSync(require(\"fs\").readFileSync(process.argv[1])))' '$BODY_FILE' | cmp -s - '$D/assets/main-AB12.js'"
fetch /assets/main-AB12.js -H 'Accept-Encoding: gzip;q=0, br;q=0'
expect_eq "both refused (q=0): the plain file" "200 " "$STATUS $(header content-encoding)"
fetch /assets/main-AB12.css -H 'Accept-Encoding: gzip'
expect_eq "CSS without a sibling: plain, text/css" "200 text/css; charset=utf-8 " \
  "$STATUS $(header content-type) $(header content-encoding)"
fetch /assets/chunks/funnels-XY34.js
expect_eq "a chunk in a subdirectory" "200 text/javascript; charset=utf-8" "$STATUS $(header content-type)"
fetch /assets/shot.png -H 'Accept-Encoding: gzip'
expect_eq "a PNG: image/png, not compressed, no Vary" "200 image/png  " \
  "$STATUS $(header content-type) $(header content-encoding) $(header vary)"
fetch /assets/main-AB12.js.gz
expect_eq "the .gz itself is a file like any" 200 "$STATUS"

# ---- what is not served ----
refused() { # PATH DESCRIPTION [STATUS]
  fetch "$1"
  expect_eq "$2: ${3:-404}" "${3:-404}" "$STATUS"
  check "...not the secret" bash -c "! grep -q secret-outside '$BODY_FILE'"
}
refused /assets/ "a directory (no listing)"
refused /assets "a directory without its slash"
refused /empty-dir/ "an empty directory"
refused /nope.js "a file that is not there"
refused /../secret.txt "../ out of the directory"
refused /assets/../../secret.txt "assets/../../"
refused /%2e%2e/secret.txt "%2e%2e encoded"
refused /assets/../index.html "a dot segment is refused, not cleaned away"
refused /assets/%2E%2E/%2e%2e/secret.txt "%2E%2E in capitals"
refused /assets%2f..%2f..%2fsecret.txt "%2f (civetweb decodes it to /)"
refused "/..%5c..%5csecret.txt" "backslashes"
refused /assets/link.txt "a symbolic link out of the directory"
refused /assets/up/secret.txt "a directory link out of it"
refused /.env "a hidden file"
refused /.git/config "a hidden directory"
check "the secret is readable (so the refusals mean something)" test -r "$T/site/secret.txt"
fetch / -X POST -d x
expect_eq "POST /: 405" "405 GET, HEAD" "$STATUS $(header allow)"
fetch /assets/main-AB12.js -X DELETE
expect_eq "DELETE an asset: 405" 405 "$STATUS"

# ---- the API is unaffected ----
fetch /api/analytics/realtime
expect_eq "/api/analytics/realtime without a token: 401 JSON" "401 unauthorized" \
  "$STATUS $(jq -r .error.code "$BODY_FILE")"
fetch /api/analytics/no-such-route -H "Authorization: Bearer $GW_READ_TOKEN"
expect_eq "an unknown API route: JSON 404, not a file" "404 not_found" "$STATUS $(jq -r .error.code "$BODY_FILE")"
fetch /api/index.html
expect_eq "/api/ never serves a file" "404 not_found" "$STATUS $(jq -r .error.code "$BODY_FILE" 2>/dev/null)"
fetch /api
expect_eq "/api alone: JSON 404" "404 not_found" "$STATUS $(jq -r .error.code "$BODY_FILE" 2>/dev/null)"
fetch /api/analytics/ws -H 'Connection: Upgrade' -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' \
  -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' --max-time 2
expect_eq "the WebSocket path still upgrades" 101 "$STATUS"
check "...no static request reached the REST counters" bash -c \
  "[ \"\$(curl -s http://127.0.0.1:$GW_ADMIN/metrics | awk '\$1 == \"analytics_gateway_requests_total{class=\\\"2xx\\\"}\" {print \$2}')\" = 0 ]"
expect_clean_stop "SIGTERM: a clean stop" "$GW_PID"

# ---- a directory that is not there yet ----
M="$T/later/dashboard"
start_push_gateway gw2 ANALYTICS_PUSH_GATEWAY_DASHBOARD_DIR="$M"
BASE="http://127.0.0.1:$GW_PORT"
check "missing at start: one warning naming the directory" \
  bash -c "grep '\"event\":\"gateway.dashboard_missing\"' '$T/gw2.log' | grep -qF '$M'"
fetch /
expect_eq "/ while it is missing: 503" 503 "$STATUS"
check "...saying what is missing" grep -q "ANALYTICS_PUSH_GATEWAY_DASHBOARD_DIR" "$BODY_FILE"
fetch /assets/main-AB12.js
expect_eq "...an asset too" 503 "$STATUS"
fetch /api/analytics/realtime
expect_eq "...the API answers meanwhile" 401 "$STATUS"
check "...and /healthz" http_status_is "http://127.0.0.1:$GW_ADMIN/healthz" 200
expect_eq "...logged once, not per request" 1 "$(grep -c '"event":"gateway.dashboard_missing"' "$T/gw2.log")"
mkdir -p "$M"
fetch /
expect_eq "a directory without index.html: still 503" 503 "$STATUS"
cp -r "$D/." "$M/"
fetch /
expect_eq "built meanwhile: served without a restart" 200 "$STATUS"
check "...logged as found" log_has "$T/gw2.log" gateway.dashboard_found
check "the daemon ran throughout" kill -0 "$GW_PID"
expect_clean_stop "SIGTERM: a clean stop" "$GW_PID"

# ---- none configured ----
start_push_gateway gw3 ANALYTICS_PUSH_GATEWAY_DASHBOARD_DIR=off
BASE="http://127.0.0.1:$GW_PORT"
check "ANALYTICS_PUSH_GATEWAY_DASHBOARD_DIR=off is logged as off" log_has "$T/gw3.log" gateway.dashboard_off
fetch /
expect_eq "...and / is 404" 404 "$STATUS"
expect_clean_stop "SIGTERM: a clean stop" "$GW_PID"

itest_finish
