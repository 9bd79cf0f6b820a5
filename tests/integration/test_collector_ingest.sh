#!/usr/bin/env bash
# Events posted over HTTP arrive on events.raw and decode to the same fields.
source "$(dirname "$0")/lib.sh"
itest_init collector_ingest

start_devbroker
start_collector c1 ANALYTICS_COLLECTOR_CORS_ORIGINS=https://shop.example
C1_PID=$COLLECTOR_PID
C1_URL=$URL

check "healthz answers 200" \
  test "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$ADMIN_PORT/healthz")" = 200
check "readyz answers 200 with the broker up" \
  wait_for 10 http_status_is "http://127.0.0.1:$ADMIN_PORT/readyz" 200

now_ms=$(($(date +%s%N) / 1000000))
post '{"event_id":"0b7c9f1e-0000-4000-8000-000000000001","event_type":"page_view",
       "fingerprint":"fp-alice","user_id":"u-1","session_id":"s-1","timestamp":'"$now_ms"',
       "page_url":"https://shop.example/pricing?utm_source=x","referrer_url":"https://google.com/",
       "event_data":{"plan":"pro","price":49.5,"tags":["a","b"],"nested":{"k":true}},
       "consent":["necessary","analytics"]}' -A 'Mozilla/5.0 (itest)' -H 'X-Forwarded-For: 203.0.113.9'
expect_eq "single event gets 202" 202 "$STATUS"
expect_eq "single event accepted" '1 0' "$(echo "$BODY" | jq -r '"\(.accepted) \(.rejected|length)"')"

post '{"events":[{"event_type":"click","fingerprint":"fp-bob"},
                 {"event_type":"scroll","fingerprint":"fp-bob","timestamp":"2026-11-25T10:00:00.250Z"},
                 {"event_type":"form_start","fingerprint":"fp-carol","timestamp":1000}]}'
expect_eq "batch gets 202" 202 "$STATUS"
expect_eq "batch accepted 3" 3 "$(echo "$BODY" | jq -r .accepted)"

# 30 days ago: within the retention (older is rejected as expired), well past the skew tolerance.
hist_s=$(($(date +%s) - 30 * 86400))
post '{"historical":true,"events":[{"event_type":"booking_completed","fingerprint":"fp-dave","timestamp":"'"$(date -u -d "@$hist_s" +%Y-%m-%dT%H:%M:%SZ)"'"}]}'
expect_eq "historical batch gets 202" 202 "$STATUS"

# navigator.sendBeacon sends text/plain
BODY="$(curl -s -w '\n%{http_code}' -X POST -H 'Content-Type: text/plain;charset=UTF-8' \
  -H 'Origin: https://shop.example' -D "$T/beacon.headers" \
  --data-binary '{"event_type":"exit_intent","fingerprint":"fp-erin"}' "$URL")"
expect_eq "sendBeacon text/plain body gets 202" 202 "${BODY##*$'\n'}"
check "allowed origin is echoed in CORS headers" \
  grep -qi '^access-control-allow-origin: https://shop.example' "$T/beacon.headers"

pre="$(curl -s -o /dev/null -D - -X OPTIONS -H 'Origin: https://shop.example' \
  -H 'Access-Control-Request-Method: POST' "$URL")"
check "preflight from an allowed origin gets 204" grep -q '^HTTP/1.1 204' <<<"$pre"
check "preflight allows POST" grep -qi '^access-control-allow-methods:.*POST' <<<"$pre"
expect_eq "preflight from another origin gets 403" 403 \
  "$(curl -s -o /dev/null -w '%{http_code}' -X OPTIONS -H 'Origin: https://evil.example' "$URL")"

dump analytics.events.raw raw >"$T/raw.jsonl"
expect_eq "six events on events.raw" 6 "$(wc -l <"$T/raw.jsonl")"

alice="$(jq -c 'select(.key=="fp-alice") | .value' "$T/raw.jsonl")"
field() { jq -r "$1" <<<"$alice"; }
expect_eq "event_id kept" 0b7c9f1e-0000-4000-8000-000000000001 "$(field .event_id)"
expect_eq "event_type" page_view "$(field .event_type)"
expect_eq "user_id" u-1 "$(field .user_id)"
expect_eq "session_id" s-1 "$(field .session_id)"
expect_eq "client timestamp" "$now_ms" "$(field .client_ts_ms)"
expect_eq "page_url" "https://shop.example/pricing?utm_source=x" "$(field .page_url)"
expect_eq "referrer_url" "https://google.com/" "$(field .referrer_url)"
expect_eq "event_data round trip" '{"nested":{"k":true},"plan":"pro","price":49.5,"tags":["a","b"]}' \
  "$(field .event_data_json | jq -cS .)"
expect_eq "consent" 'true true true false' \
  "$(field '"\(.consent.specified) \(.consent.necessary) \(.consent.analytics) \(.consent.marketing)"')"
expect_eq "user agent recorded" 'Mozilla/5.0 (itest)' "$(field .user_agent)"
expect_eq "X-Forwarded-For ignored from an untrusted peer" 127.0.0.1 "$(field .client_ip)"
expect_eq "schema version" 1 "$(field .schema_version)"
check "receive time stamped" test "$(field .received_ts_ms)" -ge "$now_ms"

bob_ids="$(jq -r 'select(.key=="fp-bob") | .value.event_id' "$T/raw.jsonl" | sort -u | wc -l)"
expect_eq "assigned event ids are distinct" 2 "$bob_ids"
check "assigned event ids are UUIDs" bash -c "jq -r 'select(.key==\"fp-bob\") | .value.event_id' '$T/raw.jsonl' | grep -Eqx '[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}'"
expect_eq "ids marked assigned" true "$(jq -r 'select(.key=="fp-bob") | .value.event_id_assigned' "$T/raw.jsonl" | sort -u)"
expect_eq "ISO-8601 timestamp parsed" 1795600800250 \
  "$(jq -r 'select(.value.event_type=="scroll") | .value.client_ts_ms' "$T/raw.jsonl")"
expect_eq "far client clock is kept and flagged, not rejected" '1000 true' \
  "$(jq -r 'select(.key=="fp-carol") | "\(.value.client_ts_ms) \(.value.clock_skew_suspect)"' "$T/raw.jsonl")"
expect_eq "historical event keeps its time, not flagged" "${hist_s}000 true false" \
  "$(jq -r 'select(.key=="fp-dave") | "\(.value.client_ts_ms) \(.value.historical) \(.value.clock_skew_suspect)"' "$T/raw.jsonl")"
expect_eq "origin recorded" https://shop.example \
  "$(jq -r 'select(.key=="fp-erin") | .value.origin' "$T/raw.jsonl")"
expect_eq "nothing dead-lettered" 0 "$(topic_count analytics.deadletter)"

metrics="$(curl -s "http://127.0.0.1:$ADMIN_PORT/metrics")"
check "metrics count accepted events" grep -q '^analytics_events_in_total 6' <<<"$metrics"
check "metrics count 202 responses" grep -q '^analytics_http_requests_total{status="202"} 4' <<<"$metrics"
check "metrics show broker acknowledgements" grep -q '^analytics_events_out_total{topic="all"} 6' <<<"$metrics"
check "metrics have a produce latency histogram" grep -q '^analytics_produce_latency_seconds_count 6' <<<"$metrics"

# A trusted proxy's X-Forwarded-For is believed.
start_collector c2 ANALYTICS_COLLECTOR_TRUSTED_PROXIES=127.0.0.0/8
post '{"event_type":"page_view","fingerprint":"fp-proxy"}' -H 'X-Forwarded-For: 198.51.100.7, 127.0.0.1'
expect_eq "event through trusted proxy gets 202" 202 "$STATUS"
expect_eq "client IP from X-Forwarded-For via a trusted proxy" 198.51.100.7 \
  "$(dump analytics.events.raw raw | jq -r 'select(.key=="fp-proxy") | .value.client_ip')"
expect_clean_stop "second collector stops cleanly" "$COLLECTOR_PID" 10

expect_clean_stop "collector exits 0 on SIGTERM" "$C1_PID" 10
check "shutdown.complete logged" log_has "$T/c1.log" shutdown.complete
itest_finish
