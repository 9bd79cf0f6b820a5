#!/usr/bin/env bash
# A resend the enricher's dedup no longer knows, and rows PostgreSQL
# refuses, against the real collector, enricher (Redis), devbroker,
# PostgreSQL and journey-builder:
#  - an event posted without a timestamp, Redis flushed, posted again: the
#    collector stamps it with another receive time, so the archive's
#    (event_id, event_time) key alone would take it twice; one posted with a
#    timestamp, Redis flushed, posted again with another fingerprint and
#    time. Both are duplicates everywhere (archived once, one touchpoint,
#    one session event), the builder stays up and the stream goes on;
#  - a row a table refuses (a CHECK on customer_journeys the test adds) in
#    the middle of a batch: that event goes to analytics.deadletter with the
#    reason ("refused"), nowhere else; the events around it are archived and
#    applied, and the builder stays up;
#  - SIGTERM exits 0.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
itest_init journey_resend

start_devbroker
start_redis_free redis
start_postgres_migrated pg
start_collector c1
start_enricher e1

CHROME='Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36'
# as_browser BODY: post with a browser's user agent (curl's is a bot's).
as_browser() { post "$1" -A "$CHROME"; }
q() { psql -X -A -t -q -v ON_ERROR_STOP=1 "$PG_DSN" -c "$1"; }
q_is() { [ "$(q "$1")" = "$2" ]; }

started="$(date +%s)"
start_journey_builder jb
jb_metric() { ADMIN_PORT="$JB_ADMIN" metric "$1"; }
alive() { kill -0 "$JB_PID" 2>/dev/null; }
count_of() { q "SELECT count(*) FROM $1 WHERE event_id = '$2'"; }
archived_is() { q_is "SELECT count(*) FROM analytics_events WHERE event_id = '$1'" "$2"; }

now_ms=$(($(date +%s) * 1000))

# ---- a resend without a timestamp, after Redis forgot the event ----
as_browser '{"event_id":"resend-1","event_type":"page_view","fingerprint":"fp-r1","session_id":"s-r1",
  "page_url":"https://shop.example/pricing"}'
expect_eq "collector takes the event (no timestamp)" 202 "$STATUS"
check "it is archived" wait_for 20 archived_is resend-1 1
first_time="$(q "SELECT event_time FROM analytics_events WHERE event_id = 'resend-1'")"
redis-cli -h 127.0.0.1 -p "$REDIS_PORT" flushall >/dev/null
sleep 1.1 # another receive time, to the millisecond and beyond
as_browser '{"event_id":"resend-1","event_type":"page_view","fingerprint":"fp-r1","session_id":"s-r1",
  "page_url":"https://shop.example/pricing"}'
expect_eq "collector takes the resend" 202 "$STATUS"

# ---- a resend with another fingerprint and time ----
as_browser "{\"event_id\":\"resend-2\",\"event_type\":\"page_view\",\"fingerprint\":\"fp-r2\",
  \"session_id\":\"s-r2\",\"timestamp\":$((now_ms - 60000)),\"page_url\":\"https://shop.example/book\"}"
expect_eq "collector takes a second event" 202 "$STATUS"
check "it is archived" wait_for 20 archived_is resend-2 1
redis-cli -h 127.0.0.1 -p "$REDIS_PORT" flushall >/dev/null
as_browser "{\"event_id\":\"resend-2\",\"event_type\":\"page_view\",\"fingerprint\":\"fp-r2-other\",
  \"session_id\":\"s-r2-other\",\"timestamp\":$((now_ms - 30000)),\"page_url\":\"https://shop.example/book\"}"
expect_eq "collector takes its resend, another fingerprint and time" 202 "$STATUS"

as_browser "{\"event_id\":\"after-resend\",\"event_type\":\"page_view\",\"fingerprint\":\"fp-r3\",
  \"timestamp\":$now_ms,\"page_url\":\"https://shop.example/\"}"
expect_eq "collector takes one more event" 202 "$STATUS"
check "the stream goes on past the resends: the next event is archived" \
  wait_for 20 archived_is after-resend 1
check "the journey-builder is still running" alive
metric_is_jb_dups() { [ "$(jb_metric analytics_journey_builder_duplicates_total)" = 2 ]; }
check "both resends counted as duplicates" wait_for 10 metric_is_jb_dups
expect_eq "resend-1: archived once, at its first time" "1 $first_time" \
  "$(q "SELECT count(*) || ' ' || min(event_time) FROM analytics_events WHERE event_id = 'resend-1'")"
expect_eq "resend-2: archived once, with its first fingerprint" "1 fp-r2" \
  "$(q "SELECT count(*) || ' ' || min(fingerprint) FROM analytics_events WHERE event_id = 'resend-2'")"
expect_eq "one touchpoint each" "1 1" "$(count_of customer_journeys resend-1) $(count_of customer_journeys resend-2)"
expect_eq "each session counted its event once, no session for the resend's fingerprint" \
  "s-r1|1
s-r2|1" "$(q "SELECT session_id, events FROM sessions WHERE session_id LIKE 's-r%' ORDER BY 1")"
expect_eq "each event id held once in analytics_event_ids" "1 1" \
  "$(count_of analytics_event_ids resend-1) $(count_of analytics_event_ids resend-2)"
check "nothing refused" bash -c "! grep -q '\"event\":\"txparts.pg_refused\"' '$T/jb.log'"

# ---- a row the database refuses: dead-lettered, the batch goes on ----
q "ALTER TABLE customer_journeys ADD CONSTRAINT test_refuse_evil CHECK (page_url NOT LIKE '%/evil%')"
ev() { # ev ID PATH TS
  printf '{"event_id":"%s","event_type":"page_view","fingerprint":"fp-batch","session_id":"s-batch","timestamp":%s,"page_url":"https://shop.example%s"}' \
    "$1" "$3" "$2"
}
as_browser "{\"events\":[$(ev b1 / $((now_ms + 1000))), $(ev b2 /services $((now_ms + 2000))),
  $(ev b3 /pricing/evil $((now_ms + 3000))), $(ev b4 /book $((now_ms + 4000))),
  $(ev b5 /book/done $((now_ms + 5000)))]}"
expect_eq "collector takes a batch with one event a table refuses" 202 "$STATUS"
check "the events around it are archived" wait_for 20 q_is \
  "SELECT string_agg(event_id, ',' ORDER BY event_id) FROM analytics_events WHERE event_id LIKE 'b_'" \
  "b1,b2,b4,b5"
check "the journey-builder is still running" alive
jb_deadletters() {
  dump analytics.deadletter deadletter |
    jq -c 'select(.value.source_service == "analytics-journey-builder") | .value'
}
has_refused() { [ -n "$(jb_deadletters | jq -c 'select(.error_code == "refused")')" ]; }
check "the refused event reaches the dead letters" wait_for 20 has_refused
expect_eq "dead letter: the event, code refused, from events.enriched" \
  "b3 refused analytics.events.enriched fp-batch" \
  "$(jb_deadletters | jq -r 'select(.error_code == "refused") | "\(.cause_event_id) \(.error_code) \(.source_topic) \(.fingerprint)"')"
refused_reason_names_it() {
  jb_deadletters | jq -r 'select(.error_code == "refused") | .reason' | grep -q test_refuse_evil
}
check "dead letter: the reason names the constraint" refused_reason_names_it
expect_eq "the refused event is nowhere else (archive, ids, journeys)" "0 0 0" \
  "$(count_of analytics_events b3) $(count_of analytics_event_ids b3) $(count_of customer_journeys b3)"
expect_eq "the others are applied: four touchpoints, a session of four events" "4 4" \
  "$(q "SELECT count(*) FROM customer_journeys WHERE event_id LIKE 'b_'") $(q "SELECT events FROM sessions WHERE session_id = 's-batch'")"
expect_eq "metrics: one refused, one dead letter" "1 1" \
  "$(jb_metric analytics_journey_builder_refused_total) $(jb_metric analytics_journey_builder_deadletters_total)"
check "journey.event_refused logged with the event id" \
  bash -c "grep '\"event\":\"journey.event_refused\"' '$T/jb.log' | grep -q '\"event_id\":\"b3\"'"
check "readyz is 200" http_status_is "http://127.0.0.1:$JB_ADMIN/readyz" 200
check "every enriched message applied" wait_for 10 q_is \
  "SELECT sum(next_offset) FROM journey_offsets" \
  "$("$BIN/analytics-dump" --brokers "$BROKERS" --topic analytics.events.enriched --watermarks | jq -r .count)"

expect_clean_stop "journey-builder exits 0 on SIGTERM" "$JB_PID"
echo "took $(($(date +%s) - started)) s"
itest_finish
