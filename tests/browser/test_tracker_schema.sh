#!/usr/bin/env bash
# The tracker and the collector agree (issue 16): tracker_schema.mjs sends
# one event of every type the tracker makes, as it makes them, to the real
# collector; every one is taken and arrives on events.raw with its fields,
# nothing is dead-lettered. And the collector serves the built tracker: GET
# and HEAD /analytics.js and its chunks, text/javascript, gzip for who takes
# it (the same bytes once inflated), ETag and 304, caching, CORS, 405 for a
# POST; the size budget (under 15 KB gzipped without ThumbmarkJS); without
# the files a 404 that says so, logged once, events still taken, and the
# files served as soon as they appear and again when they change.
# shellcheck source=../integration/lib.sh
source "$(dirname "$0")/../integration/lib.sh"
itest_init tracker_schema

WEB="${ANALYTICS_WEB_OUT:-$SRC/build/web}"
KEY=wk-schema-0123456789
[ -s "$WEB/tracker/npm/index.js" ] || { echo "no build of web/ in $WEB (cmake --build build)"; exit 1; }

start_devbroker
start_collector c ANALYTICS_COLLECTOR_TRACKER_DIR="$WEB/tracker" ANALYTICS_COLLECTOR_WRITE_KEYS="site:$KEY" \
  ANALYTICS_COLLECTOR_CORS_ORIGINS=https://fixit.example
BASE="http://127.0.0.1:$PORT"

# ---- the schema ----
while IFS= read -r line; do
  case "$line" in
    PASS:*) pass "${line#PASS: }" ;;
    FAIL:*) fail "${line#FAIL: }" ;;
    "exit: "*) expect_eq "the schema script ran to its end" "exit: 0" "$line" ;;
    *) echo "$line" ;;
  esac
done < <(EVENTS_URL="$URL" WRITE_KEY="$KEY" IDS="$T/sent.jsonl" node "$SRC/tests/browser/tracker_schema.mjs" 2>&1; echo "exit: $?")

n_sent="$(wc -l <"$T/sent.jsonl")"
wait_for 15 test "$(topic_count analytics.events.raw)" -ge "$n_sent"
dump analytics.events.raw raw >"$T/raw.jsonl"
expect_eq "every event sent is on events.raw, once" "$n_sent" \
  "$(jq -r .value.event_id "$T/raw.jsonl" | sort -u | wc -l)"
jq -c '{id, type, data}' "$T/sent.jsonl" | sort >"$T/want.txt"
jq -c '.value | {id: .event_id, type: .event_type, data: (.event_data_json | fromjson)}' "$T/raw.jsonl" | sort >"$T/got.txt"
check "each with its type and its event_data as sent" cmp -s "$T/want.txt" "$T/got.txt"
expect_eq "with the consent sent" "true true false" \
  "$(jq -r '.value.consent | "\(.necessary) \(.analytics) \(.marketing)"' "$T/raw.jsonl" | sort -u | tr '\n' ' ' | sed 's/ $//')"
check "the page URL cut to the 4096 bytes the collector takes" \
  test "$(jq -r '.value.page_url | length' "$T/raw.jsonl" | sort -u)" -le 4096
expect_eq "nothing dead-lettered" 0 "$(topic_count analytics.deadletter)"

# ---- /analytics.js ----
get() { # PATH [CURL ARGS...]: headers in $T/h, body in $T/b, status in STATUS
  local p="$1"
  shift
  rm -f "$T/b"
  STATUS="$(curl -s -o "$T/b" -D "$T/h" -w '%{http_code}' --max-time 5 "$@" "$BASE$p")"
  tr -d '\r' <"$T/h" >"$T/h2" && mv "$T/h2" "$T/h"
}
hdr() { awk -v n="$1" 'BEGIN{IGNORECASE=1} tolower($0) ~ "^"tolower(n)":" {sub(/^[^:]*: */,""); print}' "$T/h"; }

get /analytics.js
expect_eq "GET /analytics.js: 200" 200 "$STATUS"
check "...the built file, byte for byte" cmp -s "$T/b" "$WEB/tracker/analytics.js"
expect_eq "...as JavaScript" "text/javascript; charset=utf-8" "$(hdr Content-Type)"
expect_eq "...cached five minutes" "public, max-age=300" "$(hdr Cache-Control)"
expect_eq "...for any site (CORS: the chunks are ES modules)" "*" "$(hdr Access-Control-Allow-Origin)"
etag="$(hdr ETag)"
check "...with a strong ETag" grep -Eq '^"[0-9a-f]+-[0-9a-f]+"$' <<<"$etag"
get /analytics.js -H 'Accept-Encoding: gzip, br'
expect_eq "gzip to who takes it" gzip "$(hdr Content-Encoding)"
check "...the same bytes once inflated" bash -c "gzip -dc '$T/b' | cmp -s - '$WEB/tracker/analytics.js'"
expect_eq "...varying by Accept-Encoding" "Accept-Encoding" "$(hdr Vary)"
get /analytics.js -H "If-None-Match: $etag"
expect_eq "If-None-Match with its ETag: 304" 304 "$STATUS"
check "...without a body" test ! -s "$T/b"
get /analytics.js -X HEAD
expect_eq "HEAD: 200" 200 "$STATUS"
check "...headers only" test ! -s "$T/b"
get /analytics.js -X POST -d x
expect_eq "POST: 405" 405 "$STATUS"
expect_eq "...saying what is allowed" "GET, HEAD" "$(hdr Allow)"
for chunk in consent vitals fingerprint; do
  get "/analytics-$chunk.js"
  check "the $chunk chunk: 200, the built file" \
    bash -c "[ $STATUS = 200 ] && cmp -s '$T/b' '$WEB/tracker/analytics-$chunk.js'"
done
get /analytics-nothing.js
expect_eq "a file that is not there: 404" 404 "$STATUS"
get /analytics.js.map
expect_eq "the source map is not served" 404 "$STATUS"

main_bytes="$(wc -c <"$WEB/tracker/analytics.js")"
main_gz="$(gzip -9c "$WEB/tracker/analytics.js" | wc -c)"
echo "sizes (minified / gzip -9): analytics.js $main_bytes / $main_gz;" \
  "$(for c in consent vitals fingerprint; do
       printf 'analytics-%s.js %s / %s; ' "$c" "$(wc -c <"$WEB/tracker/analytics-$c.js")" \
         "$(gzip -9c "$WEB/tracker/analytics-$c.js" | wc -c)"
     done)"
check "analytics.js under 15 KB gzipped, without ThumbmarkJS ($main_gz bytes)" test "$main_gz" -lt 15360
expect_clean_stop "the collector stops cleanly" "$COLLECTOR_PID" 10

# ---- without the files ----
mkdir -p "$T/empty"
start_collector c2 ANALYTICS_COLLECTOR_TRACKER_DIR="$T/empty"
BASE="http://127.0.0.1:$PORT"
get /analytics.js
expect_eq "no tracker installed: 404" 404 "$STATUS"
check "...saying so" grep -q "tracker script is not installed" "$T/b"
check "...and not cached" grep -qx 'Cache-Control: no-store' "$T/h"
get /analytics.js
expect_eq "logged once, with the path" 1 "$(grep -c '"event":"collector.tracker_unavailable"' "$T/c2.log")"
check "...naming the file" grep -q "$T/empty/analytics.js" "$T/c2.log"
post '{"event_type":"page_view","fingerprint":"fp-still"}'
expect_eq "events are taken all the same" 202 "$STATUS"
cp "$WEB/tracker/analytics.js" "$T/empty/analytics.js.tmp" && mv "$T/empty/analytics.js.tmp" "$T/empty/analytics.js"
get /analytics.js
expect_eq "the file appears: served without a restart" 200 "$STATUS"
check "...the file" cmp -s "$T/b" "$T/empty/analytics.js"
e1="$(hdr ETag)"
printf '/* v2 */' >>"$T/empty/analytics.js"
touch -d '+1 second' "$T/empty/analytics.js"
get /analytics.js
check "the file changes: the new one, with another ETag" \
  bash -c "cmp -s '$T/b' '$T/empty/analytics.js' && [ '$(hdr ETag)' != '$e1' ]"
expect_clean_stop "that collector stops cleanly too" "$COLLECTOR_PID" 10
itest_finish
