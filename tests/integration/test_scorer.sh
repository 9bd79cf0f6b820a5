#!/usr/bin/env bash
# The scorer end to end (issue 14): events posted to the real collector go
# through the real enricher and journey-builder, and the scorer, against a
# real PostgreSQL and Redis, keeps each visitor's profile (in
# user_behavior_profiles, once per visitor, with its state), writes a
# prediction per scoring event (ml_predictions), produces ScoreUpdates on
# scores, and writes the hot profile to Redis. A session is scripted page by
# page and its features are checked value by value against a hand
# computation. Bots are counted, never scored. A replay from the start (a
# new group) changes nothing in the database.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
itest_init scorer

start_devbroker
start_redis_free redis
start_postgres_migrated pg
start_collector c1
start_enricher e1
start_journey_builder jb1

q() { psql -X -A -t -q -v ON_ERROR_STOP=1 "$PG_DSN" -c "$1"; }
q_is() { [ "$(q "$1")" = "$2" ]; }

start_scorer s1
check "ready with PostgreSQL, Redis and the broker up" wait_for 20 http_status_is \
  "http://127.0.0.1:$SCORER_ADMIN/readyz" 200

CHROME='Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36'
# An hour ago (the collector takes a client clock within a day of its own).
t0=$((($(date +%s) - 3600) * 1000))
# The day's own features, by hand: month and weekend in UTC (the site's
# zone), SpecialDay from the shipped special days (2..12 days before one:
# 1 - |d - 6| / (7 above 6, else 5), in steps of 0.2).
read -r MONTH WEEKEND SPECIAL < <(python3 - "$t0" "$SRC/deploy/config/scorer.json" <<'PY'
import datetime, json, sys
t = datetime.datetime.fromtimestamp(int(sys.argv[1]) / 1000, datetime.timezone.utc).date()
best = 0.0
for s in json.load(open(sys.argv[2]))["special_days"]:
    d = (datetime.date.fromisoformat(s) - t).days
    if 2 <= d <= 12:
        best = max(best, round((1 - abs(d - 6) / (7 if d > 6 else 5)) * 5) / 5)
print(t.month, 1 if t.isoweekday() >= 6 else 0, best)
PY
)
ev() { # ID TYPE FP TS PATH DATA
  printf '{"event_id":"%s","event_type":"%s","fingerprint":"%s","session_id":"s-%s","timestamp":%s,"page_url":"https://shop.example%s","event_data":%s,"consent":["necessary","analytics"]}' \
    "$1" "$2" "$3" "$3" "$4" "$5" "$6"
}
body="[$(ev a1 page_view fp-hand $t0 / '{}'),$(ev a2 page_view fp-hand $((t0 + 30000)) /pricing '{}'),$(ev a3 click fp-hand $((t0 + 40000)) /pricing '{}'),$(ev a4 page_view fp-hand $((t0 + 100000)) /contact '{}'),$(ev a5 booking_started fp-hand $((t0 + 110000)) /contact '{}'),$(ev a6 page_view fp-hand $((t0 + 130000)) /book '{}'),$(ev a7 booking_completed fp-hand $((t0 + 200000)) /book '{"value":89}'),$(ev a8 page_view fp-hand $((t0 + 260000)) / '{}')]"
post "{\"events\":$body}" -A "$CHROME"
expect_eq "the collector takes the session" 202 "$STATUS" || echo "$BODY"
# A crawler's page views: counted, never scored.
bot="[$(ev b1 page_view fp-bot $t0 / '{}'),$(ev b2 page_view fp-bot $((t0 + 1000)) /pricing '{}')]"
post "{\"events\":$bot}" -A 'Googlebot/2.1 (+http://www.google.com/bot.html)'
expect_eq "and the crawler's" 202 "$STATUS"

check "the visitor's profile is written" wait_for 30 q_is \
  "SELECT events FROM user_behavior_profiles WHERE fingerprint = 'fp-hand'" 8
expect_eq "its counters" "1|5|1|1|1" \
  "$(q "SELECT sessions, page_views, pricing_views, bookings_started, bookings_completed FROM user_behavior_profiles WHERE fingerprint = 'fp-hand'")"
check "a prediction per scoring event" q_is \
  "SELECT count(*) >= 5 FROM ml_predictions WHERE fingerprint = 'fp-hand'" t
check "lead score within 0..100 and reasons given" q_is \
  "SELECT lead_score BETWEEN 0 AND 100 AND churn_risk BETWEEN 0 AND 1 FROM user_behavior_profiles WHERE fingerprint = 'fp-hand'" t
check "the bot has no profile" q_is "SELECT count(*) FROM user_behavior_profiles WHERE fingerprint = 'fp-bot'" 0
check "the bot's events are counted" wait_for 10 bash -c \
  "[ \"\$(curl -s http://127.0.0.1:$SCORER_ADMIN/metrics | awk '\$1 == \"analytics_scorer_bot_events_total\" {print \$2}')\" = 2 ]"
check "the consumer lag of each topic's partitions, under its own name" wait_for 15 bash -c \
  "curl -s http://127.0.0.1:$SCORER_ADMIN/metrics | grep -q '^analytics_scorer_consumer_lag{topic=\"analytics.journeys\",partition=\"[0-9]\"}' && curl -s http://127.0.0.1:$SCORER_ADMIN/metrics | grep -q '^analytics_scorer_consumer_lag{topic=\"analytics.events.enriched\"'"
check "ScoreUpdates on scores, one per scoring event" test "$(topic_count analytics.scores)" -ge 5
dump analytics.scores score >"$T/scores.jsonl" 2>/dev/null
expect_eq "each names the visitor, a cause and the models" "fp-hand" \
  "$(jq -r '.value | select(.cause_event_id == "a8") | .fingerprint' "$T/scores.jsonl" | head -1)"
# The ScoreUpdate of the last page view, by hand (pages.json: / home, /pricing pricing, /contact contact, /book
# booking; scorer.json: home, pricing, booking product-related, contact
# informational): product pages home, pricing, booking, home = 4 with
# 30 + 70 + 130 = 230 s; informational contact 1 with 30 s; no page has
# statistics yet, so each counts the UCI data's mean bounce (0.02219) and
# exit (0.04307) rates and no value; a new visitor. Derived: product share
# 4 / 5, no admin pages so no seconds each (missing, left out), no value.
expect_eq "the feature vector, value by value" \
  "$(jq -c . <<<"{\"month\":$MONTH,\"weekend\":$WEEKEND,\"returning\":0,\"info_pages\":1,\"admin_pages\":0,\"special_day\":$SPECIAL,\"info_seconds\":30,\"admin_seconds\":0,\"product_pages\":4,\"product_seconds\":230,\"bounce\":2219,\"exit\":4307,\"page_value\":0,\"product_share\":8000,\"admin_seconds_each\":null,\"value_seen\":0}")" \
  "$(jq -c '.value | select(.cause_event_id == "a8") | .features' "$T/scores.jsonl" | jq -c '{month,weekend,returning,info_pages,admin_pages,special_day,info_seconds,admin_seconds,product_pages,product_seconds,bounce:(.bounce_rate*1e5|round),exit:(.exit_rate*1e5|round),page_value,product_share:(.product_share*1e4|round),admin_seconds_each,value_seen}')"
check "the hot profile is in Redis with a TTL" test "$(redis-cli -p "$REDIS_PORT" hget analytics.profile:fp-hand lead_score)" != ""
ttl="$(redis-cli -p "$REDIS_PORT" pttl analytics.profile:fp-hand)"
check "its TTL is about 30 days" test "$ttl" -gt 2500000000

# A replay from the start (a new group) changes nothing.
before="$(q "SELECT md5(string_agg(fingerprint || events || page_views || features::text, ',' ORDER BY fingerprint)) FROM user_behavior_profiles")"
preds="$(q "SELECT count(*) FROM ml_predictions")"
stop_process "$SCORER_PID" 10
start_scorer s2 ANALYTICS_SCORER_GROUP=replay-1
check "the replay reads the topics again" wait_for 20 bash -c \
  "[ \"\$(curl -s http://127.0.0.1:$SCORER_ADMIN/metrics | awk '\$1 == \"analytics_scorer_replayed_skipped_total\" {print \$2}')\" -ge 10 ]"
expect_eq "a restart changes no profile" "$before" \
  "$(q "SELECT md5(string_agg(fingerprint || events || page_views || features::text, ',' ORDER BY fingerprint)) FROM user_behavior_profiles")"
expect_eq "nor the predictions" "$preds" "$(q "SELECT count(*) FROM ml_predictions")"
expect_clean_stop "SIGTERM exits 0" "$SCORER_PID" 10

# A stored state the scorer cannot read (a later version's, an operator's
# edit): read back on a cache miss, the visitor's profile starts again,
# logged and counted, and the partition goes on.
q "UPDATE user_behavior_profiles SET state = '{\"v\": 99, \"fingerprint\": \"fp-hand\"}' WHERE fingerprint = 'fp-hand'"
start_scorer s3 ANALYTICS_SCORER_GROUP=replay-1
post "{\"events\":[$(ev a9 page_view fp-hand $((t0 + 300000)) /pricing '{}')]}" -A "$CHROME"
expect_eq "the collector takes one more page view" 202 "$STATUS"
check "the unreadable state is logged" wait_for 30 grep -q '"event":"scorer.state_unreadable".*"fingerprint":"fp-hand"' "$T/s3.log"
check "and counted" wait_for 10 bash -c \
  "[ \"\$(curl -s http://127.0.0.1:$SCORER_ADMIN/metrics | awk '\$1 == \"analytics_scorer_state_unreadable_total\" {print \$2}')\" = 1 ]"
check "the profile started again from that event" wait_for 15 q_is \
  "SELECT events || '|' || page_views || '|' || (state->>'v') FROM user_behavior_profiles WHERE fingerprint = 'fp-hand'" "1|1|2"
expect_clean_stop "and the scorer still stops cleanly" "$SCORER_PID" 10

itest_finish
