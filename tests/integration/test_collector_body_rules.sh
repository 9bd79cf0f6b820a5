#!/usr/bin/env bash
# The body rules of issue 11 against the real collector and devbroker: deep
# nesting (which overflowed a worker's stack inside cJSON), NULs however
# written, duplicate keys, numbers PostgreSQL's numeric refuses, and events
# dated outside what the store keeps each get a 400 with the reason, reach
# deadletter with their code, never reach events.raw, and the collector stays
# up throughout.
source "$(dirname "$0")/lib.sh"
itest_init collector_body_rules

start_devbroker
start_collector c1 ANALYTICS_RETENTION_DAYS=30 ANALYTICS_COLLECTOR_FUTURE_DAYS=1

alive() {
  kill -0 "$COLLECTOR_PID" 2>/dev/null &&
    [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$ADMIN_PORT/healthz")" = 200 ]
}

# reject DESCRIPTION NEEDLE BODY: expects a 400 whose reason holds NEEDLE,
# and the collector still alive after it.
reject() {
  local what="$1" needle="$2" data="$3" reason
  post "$data"
  reason="$(jq -r '.error // .rejected[0].error' <<<"$BODY" 2>/dev/null)"
  if [ "$STATUS" = 400 ] && [[ "$reason" == *"$needle"* ]]; then
    pass "$what: 400 $reason"
  else
    fail "$what: expected 400 with '$needle', got $STATUS $BODY"
  fi
  check "collector alive after: $what" alive
}

nest() { # nest DEPTH OPEN CLOSE: DEPTH copies of OPEN, then of CLOSE
  python3 -c "import sys; d=int(sys.argv[1]); print(sys.argv[2]*d+sys.argv[3]*d, end='')" "$@"
}
EV='"event_type":"x","fingerprint":"fp-rules"'

# NUL: raw, escaped, in a key written with escapes, in an ignored field.
reject "a NUL behind an escaped key" NUL '{"event_type":"x","fingerprint":"f","page_\u0075rl":"https://x/a\u0000SECRET"}'
reject "a NUL in an ignored field" NUL "{$EV,\"note\":\"\\u0000\"}"
reject "a NUL in a key" NUL "{$EV,\"event_data\":{\"k\\u0000\":1}}"
reject "a NUL in the batch's own members" NUL "{\"meta\":\"\\u0000\",\"events\":[{$EV}]}"
printf '{"event_type":"x","fingerprint":"f\0"}' >"$T/raw-nul.json"
reject "a raw NUL byte" NUL "@$T/raw-nul.json"

# Duplicate keys: rejected at the top of an event, in event_data, in the batch.
reject "event_type twice" "'event_type' appears twice" '{"event_type":"a","event_type":"b","fingerprint":"f"}'
reject "page_url twice, once escaped" "'page_url' appears twice" \
  "{$EV,\"page_url\":\"https://a/\",\"page_\\u0075rl\":\"https://b/\"}"
reject "a key twice in event_data" "'a' appears twice in field 'event_data'" \
  "{$EV,\"event_data\":{\"a\":1,\"a\":2}}"
reject "events twice in the batch" "duplicate_key" "{\"events\":[{$EV}],\"events\":[{$EV}]}"
post "{\"events\":[{$EV,\"event_type\":\"y\"},{$EV,\"user_id\":\"u-dup-ok\"}]}"
expect_eq "a batch with one duplicate-key event gets 202" "202 1 [0]" \
  "$STATUS $(jq -r .accepted <<<"$BODY") $(jq -c '[.rejected[].index]' <<<"$BODY")"

# Numbers PostgreSQL's numeric (jsonb) refuses.
reject "1e-20000 in event_data" numeric "{$EV,\"event_data\":{\"n\":1e-20000}}"
reject "0e-16384 in event_data" numeric "{$EV,\"event_data\":{\"n\":0e-16384}}"
reject "1e131072 in an ignored field" numeric "{$EV,\"x\":1e131072}"
post "{$EV,\"event_data\":{\"n\":1e-400,\"m\":1e300}}"
expect_eq "1e-400 and 1e300 fit numeric: 202" 202 "$STATUS"

# Event time outside what the store keeps (retention 30 days, 1 day ahead).
now_ms="$(date +%s%3N)"
day=86400000
hist() { printf '{"historical":true,"events":[{%s,"timestamp":%s}]}' "$EV" "$1"; }
reject "historical, 31 days old" "older than the retention period (30 days)" "$(hist $((now_ms - 31 * day)))"
reject "historical, 3 days ahead" "more than 1 days ahead" "$(hist $((now_ms + 3 * day)))"
post "$(hist $((now_ms - 10 * day)))"
expect_eq "historical, 10 days old: 202" 202 "$STATUS"

# Nesting, last (on main the first of these killed the collector): the issue's
# 1.3 KB body, and the same depth elsewhere.
reject "700 arrays in an unknown field" too_deep "{$EV,\"x\":$(nest 700 '[' ']')}"
reject "610 objects in event_data" too_deep "{$EV,\"event_data\":$(nest 610 '{"a":' '}')}"
reject "700 arrays in a batch element that is rejected anyway" too_deep \
  "{\"events\":[{$EV},{\"x\":$(nest 700 '[' ']')}]}"
nest 100000 '[' ']' >"$T/deep.json"
reject "100000 levels" too_deep "@$T/deep.json"
post "{$EV,\"x\":$(nest 20 '[' ']')}"
expect_eq "20 levels in an unknown field are fine" 202 "$STATUS"

sleep 0.5
# Accepted: the 20-level body, the half of the duplicate batch, the numbers
# that fit, the 10-day-old event.
expect_eq "only the 4 accepted events reached events.raw" 4 "$(topic_count analytics.events.raw)"
dump analytics.deadletter deadletter >"$T/dlq.jsonl"
for code in duplicate_key invalid_value expired future malformed_request; do
  check "a dead letter with error_code $code" \
    jq -s -e "any(.[]; .value.error_code == \"$code\")" "$T/dlq.jsonl" >/dev/null
done
check "too_deep bodies are dead-lettered with the reason" \
  jq -s -e 'any(.[]; .value.reason | test("too_deep"))' "$T/dlq.jsonl">/dev/null
check "collector alive at the end" alive
expect_clean_stop "collector exits 0" "$COLLECTOR_PID" 10

# The future bound cannot exceed what the journey-builder keeps.
ANALYTICS_COLLECTOR_FUTURE_DAYS=5 "$BIN/analytics-collector" 2>"$T/badcfg.err"
expect_eq "ANALYTICS_COLLECTOR_FUTURE_DAYS=5 exits 78" 78 "$?"
check "and names it" grep -q ANALYTICS_COLLECTOR_FUTURE_DAYS "$T/badcfg.err"
itest_finish
