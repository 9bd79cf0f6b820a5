#!/usr/bin/env bash
# The push-gateway's WebSocket /api/analytics/ws (issue 15) on the real
# pipeline: events posted to the collector reach a subscribed client through
# the enricher, filtered as asked, with increasing seq, and their
# ScoreUpdates through the scorer; the token only in the first message (a
# wrong one, none in time, anything before it: an error and a close); every
# bad frame (binary, fragmented, invalid UTF-8, 1 MB, deep nesting, unknown
# channel or filter, a flood of subscribes) gets its error code and the
# daemon goes on serving others; a page of another origin gets no
# handshake; a second replica's client gets every event as the first's does;
# a reconnect with the last seq gets what it missed, and after a restart of
# the gateway it is told to resync.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
itest_init push_gateway_ws

start_devbroker
start_redis_free redis
start_postgres_migrated pg
start_collector c1
start_enricher e1
start_scorer s1
# assigned_after N: the gateway's log has more than N partition assignments
# (its group starts at the end of each partition, so events posted before
# that are not its to stream).
assigned_after() { log_count_above "$T/gw.log" kafka.partitions_assigned "$1"; }
start_push_gateway gw ANALYTICS_PUSH_GATEWAY_WS_AUTH_TIMEOUT_MS=1500
WS="ws://127.0.0.1:$GW_PORT/api/analytics/ws"
check "its partitions are assigned" wait_for 20 assigned_after 0
check "the gateway is ready (broker, PostgreSQL)" wait_for 20 http_status_is "http://127.0.0.1:$GW_ADMIN/readyz" 200
check "its consumer group is its own" grep -q '"group":"analytics-push-gateway-' "$T/gw.log"

# probe NAME STEPS-JSON: runs ws_probe.py, output in $T/NAME.out (one JSON a line).
probe() { python3 "$SRC/tests/integration/ws_probe.py" "$WS" <(printf '%s' "$2") >"$T/$1.out" 2>"$T/$1.err"; }
# types NAME: the frames' types, space-separated.
# (a close frame, opcode 8, is left out: the server may close with one or not)
types() { jq -r 'if .type then .type elif .closed then "closed" elif .handshake then "hs" elif .opcode == 8 then empty else "op\(.opcode)" end' "$T/$1.out" | tr '\n' ' ' | sed 's/ $//'; }
errcode() { jq -r 'select(.type == "error") | .code' "$T/$1.out" | head -1; }
AUTH="{\"send\":{\"type\":\"auth\",\"token\":\"$GW_READ_TOKEN\"}}"

# ---- authentication ----
probe wrong '[{"send":{"type":"auth","token":"wrong-token-0123456789"}},{"recv":2,"timeout":3}]'
expect_eq "a wrong token: unauthorized, then closed" "hs error closed" "$(types wrong)"
expect_eq "...code unauthorized" unauthorized "$(errcode wrong)"
probe early '[{"send":{"type":"subscribe","channel":"events"}},{"recv":2,"timeout":3}]'
expect_eq "subscribe before auth: not_authenticated, closed" "not_authenticated closed" \
  "$(errcode early) $(types early | awk '{print $NF}')"
probe silent '[{"recv":2,"timeout":5}]'
expect_eq "silent past the auth timeout: told and closed" "hs error closed" "$(types silent)"
probe ok "[$AUTH,{\"recv\":1,\"timeout\":3},{\"send\":{\"type\":\"ping\"}},{\"recv\":1,\"timeout\":3}]"
expect_eq "the right token: authenticated, then pong" "hs authenticated pong" "$(types ok)"
check "...with the instance and the current seq" jq -s -e '[.[] | select(.type == "authenticated")][0] | (.instance | test("^[0-9a-f]{16}$")) and (.seq >= 0)' "$T/ok.out"
check "tokens never reach the log" bash -c "! grep -q -e '$GW_READ_TOKEN' -e wrong-token '$T/gw.log'"

# ---- Origin: a page elsewhere may not open a stream ----
probe own "[{\"origin\":\"http://127.0.0.1:$GW_PORT\"},$AUTH,{\"recv\":1,\"timeout\":3}]"
expect_eq "a page of the gateway's own origin connects" "hs authenticated" "$(types own)"
probe foreign '[{"origin":"https://evil.example"},{"recv":1,"timeout":3}]'
check "a page of another origin: no handshake ($(head -1 "$T/foreign.out"))" \
  jq -s -e '.[0].handshake != 101' "$T/foreign.out"
check "...counted" bash -c \
  "curl -s http://127.0.0.1:$GW_ADMIN/metrics | awk '\$1 == \"analytics_gateway_ws_origin_refused_total\" {exit !(\$2 == 1)}'"
check "...logged" log_has "$T/gw.log" gateway.ws_origin_refused

# ---- metrics: the realtime figures pushed every second ----
probe metrics "[$AUTH,{\"recv\":1},{\"send\":{\"type\":\"subscribe\",\"channel\":\"metrics\"}},{\"recv\":1},{\"recv\":2,\"timeout\":5}]"
expect_eq "two metrics messages within a few seconds" 2 \
  "$(jq -r 'select(.type == "message" and .channel == "metrics") | .data.active_visitors' "$T/metrics.out" | grep -c '^[0-9]')"
check "...each the realtime route's figures" jq -s -e '[.[] | select(.type == "message")][0].data | has("events_per_minute") and has("conversions_today") and has("funnels")' "$T/metrics.out"

# ---- the live stream: events filtered, their scores ----
CHROME='Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36'
now=$(($(date +%s) * 1000))
ev() { printf '{"event_id":"%s","event_type":"%s","fingerprint":"%s","session_id":"s-%s","timestamp":%s,"page_url":"https://shop.example%s","consent":["necessary","analytics"]}' "$1" "$2" "$3" "$3" "$now" "$4"; }
probe live "[$AUTH,{\"recv\":1},{\"send\":{\"type\":\"subscribe\",\"channel\":\"events\",\"filter\":{\"event_type\":\"page_view\"}}},{\"send\":{\"type\":\"subscribe\",\"channel\":\"scores\",\"filter\":{\"fingerprint\":\"fp-live\"}}},{\"recv\":2},{\"sleep\":0.5},{\"recv\":6,\"timeout\":25}]" &
LIVE=$!
sleep 2
post "{\"events\":[$(ev l1 page_view fp-live /pricing),$(ev l2 click fp-live /pricing),$(ev l3 page_view fp-live /book),$(ev l4 page_view fp-other /)]}" -A "$CHROME"
expect_eq "the collector takes the events" 202 "$STATUS"
wait "$LIVE"
expect_eq "subscribed twice" 2 "$(jq -r 'select(.type == "subscribed") | .channel' "$T/live.out" | wc -l)"
expect_eq "the page views of the stream, not the click" "l1 l3 l4" \
  "$(jq -r 'select(.type == "message" and .channel == "events") | .data.event_id' "$T/live.out" | sort | tr '\n' ' ' | sed 's/ $//')"
check "seq increases" jq -s -e '[.[] | select(.type == "message") | .seq] | . == sort and length > 0' "$T/live.out"
check "each message as documented: type, channel, seq, data" jq -s -e '[.[] | select(.type == "message") | has("channel") and has("seq") and has("data")] | all' "$T/live.out"
check "fp-live's ScoreUpdates, and only its" jq -s -e '[.[] | select(.type == "message" and .channel == "scores") | .data.fingerprint] | length > 0 and all(. == "fp-live")' "$T/live.out"

# ---- replicas: each sees every message (its own consumer group) ----
GW1_PORT=$GW_PORT GW1_PID=$GW_PID
start_push_gateway gw2
GW2_PORT=$GW_PORT GW2_PID=$GW_PID
GW_PORT=$GW1_PORT GW_PID=$GW1_PID
check "a second replica's partitions are assigned" wait_for 20 log_count_above "$T/gw2.log" kafka.partitions_assigned 0
check "...in a group of its own" bash -c "[ \"\$(grep -m1 -o '\"group\":\"[^\"]*' '$T/gw.log')\" != \"\$(grep -m1 -o '\"group\":\"[^\"]*' '$T/gw2.log')\" ]"
SUB_REP='{"send":{"type":"subscribe","channel":"events","filter":{"fingerprint":"fp-rep"}}}'
probe rep1 "[$AUTH,{\"recv\":1},$SUB_REP,{\"recv\":1},{\"recv\":3,\"timeout\":20}]" &
REP1=$!
python3 "$SRC/tests/integration/ws_probe.py" "ws://127.0.0.1:$GW2_PORT/api/analytics/ws" \
  <(printf '%s' "[$AUTH,{\"recv\":1},$SUB_REP,{\"recv\":1},{\"recv\":3,\"timeout\":20}]") >"$T/rep2.out" 2>"$T/rep2.err" &
REP2=$!
sleep 2
post "{\"events\":[$(ev rp1 page_view fp-rep /a),$(ev rp2 page_view fp-rep /b),$(ev rp3 page_view fp-rep /c)]}" -A "$CHROME"
wait "$REP1" "$REP2"
for r in rep1 rep2; do
  expect_eq "replica ${r#rep}'s client gets all three events" "rp1 rp2 rp3" \
    "$(jq -r 'select(.type == "message") | .data.event_id' "$T/$r.out" | sort | tr '\n' ' ' | sed 's/ $//')"
done
expect_clean_stop "the second replica stops cleanly" "$GW2_PID"

# ---- bad frames ----
probe binary "[$AUTH,{\"recv\":1},{\"binary\":\"abc\"},{\"recv\":2,\"timeout\":3}]"
expect_eq "a binary frame: bad_message, closed" "bad_message closed" "$(errcode binary) $(types binary | awk '{print $NF}')"
probe frag "[$AUTH,{\"recv\":1},{\"fragments\":[\"{\\\"type\\\":\",\"\\\"ping\\\"}\"]},{\"recv\":2,\"timeout\":3}]"
expect_eq "a fragmented message: bad_message, closed" "bad_message closed" "$(errcode frag) $(types frag | awk '{print $NF}')"
probe utf8 "[$AUTH,{\"recv\":1},{\"raw_hex\":\"7b2274797065223a2270ff\"},{\"raw_hex\":\"7b2274797065223a22c0af227d\"},{\"recv\":1,\"timeout\":3},{\"send\":{\"type\":\"ping\"}},{\"recv\":1,\"timeout\":3}]"
expect_eq "invalid UTF-8: bad_utf8, and the connection goes on" "bad_utf8 pong" \
  "$(errcode utf8) $(jq -r 'select(.type == "pong") | .type' "$T/utf8.out")"
probe big "[$AUTH,{\"recv\":1},{\"big\":1048576},{\"recv\":2,\"timeout\":10}]"
expect_eq "a 1 MB frame: too_large, closed" "too_large closed" "$(errcode big) $(types big | awk '{print $NF}')"
deep="$(python3 -c 'print("{\"type\":\"subscribe\",\"channel\":\"events\",\"filter\":" + "[" * 10000 + "]" * 10000 + "}")')"
probe deep "[$AUTH,{\"recv\":1},{\"text\":$(jq -Rn --arg d "$deep" '$d')},{\"recv\":1,\"timeout\":3}]"
check "10,000 levels of nesting: refused (too_deep or too_large)" grep -qE '"code": "(too_deep|too_large)"' "$T/deep.out"
probe chan "[$AUTH,{\"recv\":1},{\"send\":{\"type\":\"subscribe\",\"channel\":\"secrets\"}},{\"send\":{\"type\":\"subscribe\",\"channel\":\"events\",\"filter\":{\"colour\":\"red\"}}},{\"send\":{\"type\":\"dance\"}},{\"text\":\"not json\"},{\"recv\":4,\"timeout\":3}]"
expect_eq "unknown channel, filter key, type; not JSON: each its code" "unknown_channel bad_filter unknown_type bad_json" \
  "$(jq -r 'select(.type == "error") | .code' "$T/chan.out" | tr '\n' ' ' | sed 's/ $//')"
probe flood "[$AUTH,{\"recv\":1},{\"repeat\":1000,\"send\":{\"type\":\"subscribe\",\"channel\":\"events\"}},{\"recv\":1000,\"timeout\":10}]"
check "1,000 subscribes at once: the flood guard answers rate_limited" grep -q '"code": "rate_limited"' "$T/flood.out"
probe after "[$AUTH,{\"recv\":1},{\"send\":{\"type\":\"ping\"}},{\"recv\":1,\"timeout\":3}]"
expect_eq "and the daemon serves the next client as before" "hs authenticated pong" "$(types after)"

# ---- a client that stops reading misses messages alone, and is told ----
# A queue of 128 and a small receive window: the slow client stops reading
# for 12 s while 800 clicks of 6 KB each go by (loopback's buffers hold
# about 4 MB; 50 a POST, a POST every 0.25 s); a normal client beside it
# gets them all. (Clicks of 800 visitors: one visitor's 800 events a second
# would be a bot's, and bots' events are not streamed.)
stop_process "$GW_PID" 10
n_assigned="$(grep -c '"event":"kafka.partitions_assigned"' "$T/gw.log")"
start_push_gateway gw ANALYTICS_PUSH_GATEWAY_WS_QUEUE=128
WS="ws://127.0.0.1:$GW_PORT/api/analytics/ws"
check "...its partitions assigned" wait_for 30 assigned_after "$n_assigned"
SUB_SLOW='{"send":{"type":"subscribe","channel":"events","filter":{"event_type":"click"}}}'
probe slow "[{\"rcvbuf\":4096},$AUTH,{\"recv\":1},$SUB_SLOW,{\"recv\":1},{\"sleep\":12},{\"recv\":2000,\"timeout\":8}]" &
SLOW=$!
probe fast "[$AUTH,{\"recv\":1},$SUB_SLOW,{\"recv\":1},{\"recv\":800,\"timeout\":25}]" &
FAST=$!
sleep 1.5
pad="$(head -c 2000 /dev/zero | tr '\0' p)" # strings of event_data are at most 2048 bytes
evd() { printf '{"event_id":"%s","event_type":"click","fingerprint":"%s","session_id":"s-%s","timestamp":%s,"page_url":"https://shop.example/p","event_data":{"a":"%s","b":"%s","c":"%s"},"consent":["necessary","analytics"]}' "$1" "$2" "$2" "$now" "$pad" "$pad" "$pad"; }
for i in $(seq 0 15); do
  batch=""
  for j in $(seq 1 50); do batch+="$(evd "s$i-$j" "fp-s$i-$j"),"; done
  printf '{"events":[%s]}' "${batch%,}" >"$T/batch.json" # 300 KB: too long for an argument
  st="$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' -A "$CHROME" \
    --data-binary @"$T/batch.json" "$URL")"
  [ "$st" = 202 ] || echo "a batch of clicks: status $st"
  sleep 0.25
done
wait "$FAST" "$SLOW"
expect_eq "the normal client gets all 800" 800 "$(jq -r 'select(.type == "message") | .data.event_id' "$T/fast.out" | sort -u | wc -l)"
missed="$(jq -r 'select(.type == "lagged") | .missed' "$T/slow.out" | head -1)"
check "the slow one is told it lagged, and how many it missed (${missed:-none})" test "${missed:-0}" -gt 0
expect_eq "...what it got and what it missed make the 800" 800 \
  "$(( $(jq -r 'select(.type == "message") | .seq' "$T/slow.out" | wc -l) + ${missed:-0} ))"
check "...its messages still in order" jq -s -e '[.[] | select(.type == "message") | .seq] | . == sort' "$T/slow.out"
check "drops are counted" bash -c \
  "curl -s http://127.0.0.1:$GW_ADMIN/metrics | awk '\$1 == \"analytics_gateway_ws_dropped_total\" {exit !(\$2 > 0)}'"

# ---- 1,000 clients at once, each given the event ----
stop_process "$GW_PID" 10
n_assigned="$(grep -c '"event":"kafka.partitions_assigned"' "$T/gw.log")"
start_push_gateway gw ANALYTICS_PUSH_GATEWAY_THREADS=1100 ANALYTICS_PUSH_GATEWAY_WS_MAX_CLIENTS=1050
WS="ws://127.0.0.1:$GW_PORT/api/analytics/ws"
check "the gateway is ready again" wait_for 20 http_status_is "http://127.0.0.1:$GW_ADMIN/readyz" 200
check "...its partitions assigned" wait_for 30 assigned_after "$n_assigned"
ulimit -n 8192 2>/dev/null || true
python3 "$SRC/tests/integration/ws_many.py" "$WS" "$GW_READ_TOKEN" 1000 m-1 30 >"$T/many.out" 2>"$T/many.err" &
many_pid=$!
wait_for 120 grep -q '^ready' "$T/many.out"
expect_eq "1,000 clients connect, authenticate and subscribe" "ready 1000" "$(head -1 "$T/many.out")"
echo "the gateway with them: RSS $(awk '/VmRSS/ {print $2}' /proc/$GW_PID/status) kB, $(ls /proc/$GW_PID/task | wc -l) threads"
check "the gateway's RSS stays under 512 MB with them" bash -c \
  "[ \$(awk '/VmRSS/ {print \$2}' /proc/$GW_PID/status) -lt 524288 ]"
post "{\"events\":[$(ev m-1 page_view fp-many /)]}" -A "$CHROME"
wait "$many_pid"
many="$(sed -n 2p "$T/many.out")"
echo "1,000 clients: $many"
expect_eq "...and every one of them gets the event" 1000 "$(jq -r .received <<<"$many")"
check "their threads are gone once they left" wait_for 20 bash -c \
  "[ \$(ls /proc/$GW_PID/task | wc -l) -lt 1300 ]"

# ---- resume after a reconnect; resync after a restart ----
probe first "[$AUTH,{\"recv\":1},{\"send\":{\"type\":\"subscribe\",\"channel\":\"events\",\"filter\":{\"fingerprint\":\"fp-r\"}}},{\"recv\":1},{\"sleep\":0.5},{\"recv\":1,\"timeout\":20}]" &
FIRST=$!
sleep 1.5
post "{\"events\":[$(ev r1 page_view fp-r /)]}" -A "$CHROME"
wait "$FIRST"
inst="$(jq -r 'select(.type == "authenticated") | .instance' "$T/first.out")"
seq="$(jq -r 'select(.type == "message") | .seq' "$T/first.out" | tail -1)"
check "a first connection saw r1" test -n "$seq"
post "{\"events\":[$(ev r2 page_view fp-r /a),$(ev r3 page_view fp-r /b)]}" -A "$CHROME"
check "r2 and r3 are published while no one listens" wait_for 20 bash -c \
  "curl -s http://127.0.0.1:$GW_ADMIN/metrics | awk '\$1 == \"analytics_gateway_stream_published_total\" {exit !(\$2 >= 6)}'"
probe resume "[$AUTH,{\"recv\":1},{\"send\":{\"type\":\"subscribe\",\"channel\":\"events\",\"filter\":{\"fingerprint\":\"fp-r\"}}},{\"recv\":1},{\"send\":{\"type\":\"resume\",\"instance\":\"$inst\",\"seq\":$seq}},{\"recv\":2,\"timeout\":5}]"
expect_eq "a resume with the last seq gets what it missed, in order" "r2 r3" \
  "$(jq -r 'select(.type == "message") | .data.event_id' "$T/resume.out" | tr '\n' ' ' | sed 's/ $//')"
stop_process "$GW_PID" 10
start_push_gateway gw
WS="ws://127.0.0.1:$GW_PORT/api/analytics/ws"
probe resync "[$AUTH,{\"recv\":1},{\"send\":{\"type\":\"subscribe\",\"channel\":\"events\"}},{\"recv\":1},{\"send\":{\"type\":\"resume\",\"instance\":\"$inst\",\"seq\":$seq}},{\"recv\":1,\"timeout\":5}]"
expect_eq "after a restart: resync, reason instance" "resync instance" \
  "$(jq -r 'select(.type == "resync") | "\(.type) \(.reason)"' "$T/resync.out")"
expect_clean_stop "SIGTERM exits 0" "$GW_PID" 10
itest_finish
