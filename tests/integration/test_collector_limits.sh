#!/usr/bin/env bash
# The collector's memory is bounded by the bytes in flight, whatever the
# clients send at once, and is given back after; HTTP framing tricks get a
# clear 4xx instead of a guess.
source "$(dirname "$0")/lib.sh"
itest_init collector_limits
ATTACK="$(dirname "$0")/http_attack.py"
jqt() { jq -e "$1" >/dev/null; }
kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }

start_devbroker
start_collector c1

# 128 concurrent 1 MiB bodies (valid events with a large unknown field)
# against the default 64 MiB in flight: the excess gets 503 + Retry-After,
# the peak stays near the cap, and the memory goes back afterwards.
rss0="$(kb "$COLLECTOR_PID" VmRSS)"
for round in 1 2; do
  res="$(python3 "$ATTACK" flood "$PORT" 128 1048000)"
  echo "flood $round: $res"
done
check "every flooding request was answered 202 or 503" \
  jqt '(.statuses | keys | map(select(. != "202" and . != "503")) | length) == 0' <<<"$res"
check "some were taken, the rest refused with 503" \
  jqt '(.statuses["202"] // 0) > 0 and (.statuses["503"] // 0) > 0' <<<"$res"
peak="$(kb "$COLLECTOR_PID" VmHWM)"
sleep 4
after="$(kb "$COLLECTOR_PID" VmRSS)"
echo "RSS before ${rss0} kB, peak ${peak} kB, 4 s after ${after} kB"
if ldd "$BIN/analytics-collector" | grep -q libasan; then
  echo "SKIP: RSS bounds (AddressSanitizer keeps freed memory in quarantine)"
else
  check "peak RSS under 256 MB with 128 MiB of bodies offered (cap 64 MiB)" [ "$peak" -lt 262144 ]
  check "RSS back under 64 MB once the flood is over" [ "$after" -lt 65536 ]
fi
busy="$(metric analytics_http_busy_total)"
check "the refusals are counted (analytics_http_busy_total=$busy)" [ "${busy:-0}" -gt 0 ]
resp="$(curl -s -D - -o /dev/null -X POST -H 'Content-Type: application/json' \
  --data-binary @<(python3 -c 'print("{\"event_type\":\"a\",\"fingerprint\":\"f\"}")') "$URL")"
check "a normal event after the flood gets 202" grep -q '^HTTP/1.1 202' <<<"$resp"

# raw REQUEST: sends the bytes as they are; sets STATUS and BODY.
raw() {
  local out
  out="$(printf '%b' "$1" | python3 "$ATTACK" raw "$PORT")"
  STATUS="$(jq -r .status <<<"$out")"
  BODY="$(jq -r .body <<<"$out")"
}
ev='{"event_type":"a","fingerprint":"f"}'
head="POST /api/analytics/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
raw "${head}Content-Length: ${#ev}\r\nContent-Length: 5\r\n\r\n$ev"
expect_eq "two differing Content-Length headers get 400" 400 "$STATUS"
check "... saying why" grep -q 'conflicting Content-Length' <<<"$BODY"
raw "${head}Content-Length: ${#ev}\r\nContent-Length: ${#ev}\r\n\r\n$ev"
expect_eq "the same Content-Length twice is one length: 202" 202 "$STATUS"
raw "${head}Content-Length: ${#ev}\r\nTransfer-Encoding: chunked\r\n\r\n$ev"
expect_eq "Content-Length beside Transfer-Encoding gets 400" 400 "$STATUS"
many=""
for i in $(seq 1 70); do many+="X-H$i: v\r\n"; done
raw "${head}${many}Content-Length: ${#ev}\r\n\r\n$ev"
expect_eq "73 header lines get 431, not a silent drop of the last ones" 431 "$STATUS"
many=""
for i in $(seq 1 55); do many+="X-H$i: v\r\n"; done
raw "${head}${many}Content-Length: ${#ev}\r\n\r\n$ev"
expect_eq "59 header lines are fine" 202 "$STATUS"
cookie="$(head -c 16000 /dev/zero | tr '\0' a)"
raw "${head}Cookie: $cookie\r\nContent-Length: ${#ev}\r\n\r\n$ev"
expect_eq "16 KB of headers (a site's cookies) are fine" 202 "$STATUS"
cookie="$(head -c 40000 /dev/zero | tr '\0' a)"
raw "${head}Cookie: $cookie\r\nContent-Length: ${#ev}\r\n\r\n$ev"
expect_eq "40 KB of headers get 431" 431 "$STATUS"

expect_clean_stop "SIGTERM stops the collector cleanly" "$COLLECTOR_PID"

# A descriptor limit too small for ANALYTICS_COLLECTOR_MAX_CONNECTIONS: the
# connection limit is lowered to fit, with a warning, instead of failing
# under load later.
mkdir -p "$T/fd-spool"
env ANALYTICS_KAFKA_BROKERS="$BROKERS" ANALYTICS_COLLECTOR_LISTEN=127.0.0.1:0 \
  ANALYTICS_COLLECTOR_ADMIN_LISTEN=127.0.0.1:0 ANALYTICS_COLLECTOR_SPOOL_DIR="$T/fd-spool" \
  ANALYTICS_COLLECTOR_MAX_CONNECTIONS=10000 \
  bash -c 'ulimit -Sn 512 && ulimit -Hn 512 && exec "$0"' "$BIN/analytics-collector" \
  2>"$T/fd.log" &
FD_PID=$!
ITEST_PIDS+=("$FD_PID")
check "a 512-descriptor limit: the collector starts" wait_for 10 log_has "$T/fd.log" collector.started
check "... and says its connection limit was lowered to fit" bash -c "jq -s -e '
  map(select(.event == \"http.connections_limited\" and .server == \"collector\"))
  | length == 1 and .[0].wanted == 10000 and .[0].max_connections < 512' '$T/fd.log' >/dev/null"
expect_clean_stop "... and stops cleanly" "$FD_PID"
itest_finish
