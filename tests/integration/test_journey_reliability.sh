#!/usr/bin/env bash
# analytics-journey-builder when things go wrong, against the devbroker, a
# real Redis and real private PostgreSQL servers, fed by loadgen through the
# real collector and enricher:
#  - kill -9 mid-stream, three times, then restarts: the database ends equal,
#    row for row, to a builder (another group, another database) never killed;
#  - PostgreSQL down at start (readyz 503, nothing consumed) and stopped
#    mid-stream (readyz 503, pg_up 0, consumption paused), started again on
#    the same port: it goes on and ends equal to the same reference;
#  - a database migrated only to 004: exit 1, saying to run analytics-migrate;
#  - retention at start drops old partitions and rows, keeps newer ones; an
#    event older than the retention is dead-lettered ("expired"), not archived;
#  - an undecodable message is dead-lettered ("undecodable") and the stream
#    goes on;
#  - SIGTERM exits 0 within 10 s, also with PostgreSQL down (the next run
#    applies what was left).
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
itest_init journey_reliability

ENRICHED=analytics.events.enriched
EVENTS=3000

start_devbroker
start_redis_free redis
# pg2 is the one stopped and started again; pg holds the other databases.
start_postgres pg2
PG2_PORT="$PG_PORT" PG2_DATA="$PG_DATA" PG2_DSN="$PG_DSN"
start_postgres pg
DSN_B="postgresql://analytics@127.0.0.1:$PG_PORT/analytics_b"
DSN_R="postgresql://analytics@127.0.0.1:$PG_PORT/analytics_r"
DSN_OLD="postgresql://analytics@127.0.0.1:$PG_PORT/analytics_old"
for db in analytics_b analytics_r analytics_old; do
  pg_local_create_db "$PG_PORT" analytics "$db" >/dev/null || exit 1
done
# migrate DSN [VAR=VALUE...]
migrate() {
  local dsn="$1"
  shift
  env ANALYTICS_PG_DSN="$dsn" "$@" "$BIN/analytics-migrate" >>"$T/migrate.log" 2>&1 ||
    { cat "$T/migrate.log"; exit 1; }
}
for dsn in "$PG_DSN" "$DSN_B" "$DSN_R" "$PG2_DSN"; do migrate "$dsn"; done
mkdir -p "$T/sql-004"
cp "$SRC"/deploy/sql/00[1-4]_*.sql "$T/sql-004/"
migrate "$DSN_OLD" ANALYTICS_MIGRATIONS_DIR="$T/sql-004"

# q DSN SQL: one query's rows, unaligned, | between columns.
q() { psql -X -A -t -q -v ON_ERROR_STOP=1 "$1" -c "$2"; }
q_is() { [ "$(q "$1" "$2")" = "$3" ]; }

# Journey-builders start with start_journey_builder (lib.sh). The session
# idle stays at its default (1800 s): no session closes by timing, so every
# run must end with the same rows.

# jb_metric PORT NAME / jb_metric_is PORT NAME VALUE: a builder's metric.
jb_metric() { ADMIN_PORT="$1" metric "$2"; }
jb_metric_is() { [ "$(jb_metric "$1" "$2")" = "$3" ]; }
ready_is() { http_status_is "http://127.0.0.1:$1/readyz" "$2"; }

# applied DSN: the messages journey_offsets says are applied, all partitions.
applied() { q "$1" "SELECT coalesce(sum(next_offset), 0) FROM journey_offsets WHERE topic = '$ENRICHED'"; }
# caught_up DSN: every enriched message is applied.
caught_up() { [ "$(applied "$1")" = "$(topic_count "$ENRICHED")" ]; }
enriched_is() { [ "$(topic_count "$ENRICHED")" = "$1" ]; }
archived() { q "$1" "SELECT count(*) FROM analytics_events"; }
archived_above() { [ "$(archived "$1")" -gt "$2" ]; }

# snapshot DSN: what the builder wrote, row for row, without the columns
# that say when a row was written.
snapshot() {
  q "$1" "SELECT count(*), md5(string_agg((to_jsonb(e) - 'inserted_at')::text, ',' ORDER BY event_id))
          FROM analytics_events e"
  q "$1" "SELECT (to_jsonb(s) - 'updated_at')::text FROM sessions s ORDER BY session_id"
  q "$1" "SELECT (to_jsonb(j) - 'inserted_at')::text FROM customer_journeys j ORDER BY event_id"
  # Sums of seconds in double precision depend on how the batches cut them
  # (the last bits): compared to the microsecond.
  q "$1" "SELECT (to_jsonb(f) - 'updated_at' - 'since_prev_sum_s')::text,
                 round(since_prev_sum_s::numeric, 6)
          FROM funnel_daily f ORDER BY funnel, day, step, channel, device_type"
  q "$1" "SELECT (to_jsonb(p) - 'updated_at')::text FROM funnel_progress p ORDER BY fingerprint, funnel"
  q "$1" "SELECT topic, kafka_partition, next_offset, stream_ms FROM journey_offsets ORDER BY 1, 2"
}
# counts DSN: a one-line summary of the snapshot.
counts() {
  q "$1" "SELECT (SELECT count(*) FROM analytics_events) || ' events, '
    || (SELECT count(*) FROM sessions) || ' sessions ('
    || (SELECT sum(page_views) FROM sessions) || ' page views, '
    || (SELECT count(*) FILTER (WHERE converted) FROM sessions) || ' converted, '
    || (SELECT count(*) FILTER (WHERE closed) FROM sessions) || ' closed), '
    || (SELECT count(*) FROM customer_journeys) || ' touchpoints, '
    || (SELECT coalesce(sum(attempts), 0) FROM funnel_daily) || ' funnel attempts, '
    || (SELECT count(*) FROM funnel_progress) || ' attempts'"
}

# ---- a database behind this build: exit 1, saying what to do ----
# Started now, checked once A and B run.
env ANALYTICS_KAFKA_BROKERS="$BROKERS" ANALYTICS_PG_DSN="$DSN_OLD" \
  ANALYTICS_JOURNEY_BUILDER_ADMIN_LISTEN=127.0.0.1:0 ANALYTICS_JOURNEY_BUILDER_GROUP=jb-old \
  "$BIN/analytics-journey-builder" 2>"$T/old.log" &
OLD_PID=$!
ITEST_PIDS+=("$OLD_PID")

# ---- the stream: loadgen through the collector and the enricher ----
# The collector rejects events older than its ANALYTICS_RETENTION_DAYS itself;
# a longer one here lets the 450-day-old event below through, to test the
# journey-builder's own expired dead letter.
start_collector c1 ANALYTICS_COLLECTOR_TRUSTED_PROXIES=127.0.0.0/8 ANALYTICS_RETENTION_DAYS=36500
start_enricher e1
# Events two hours old, 500 visitors' first visits (seed 12: 18 bookings
# completed, some started and abandoned) over three minutes of event time:
# well under the 30 minutes of session idle and the hour of abandonment, so
# nothing falls due by time.
# One connection: loadgen splits the visitors between its threads, and 250
# visitors would make return visits.
"$BIN/analytics-loadgen" --http "$URL" --count "$EVENTS" --rate 300 --batch 10 --concurrency 1 \
  --visitors 500 --window-s 60 --seed 12 --start-ms $((($(date +%s) - 7200) * 1000)) \
  >"$T/loadgen.json" 2>"$T/loadgen.log" &
LG_PID=$!
ITEST_PIDS+=("$LG_PID")

# ---- C: PostgreSQL down at start ----
pg_local_stop "$PG2_DATA"
start_journey_builder c ANALYTICS_PG_DSN="$PG2_DSN" ANALYTICS_JOURNEY_BUILDER_GROUP=jb-c \
  ANALYTICS_JOURNEY_BUILDER_BATCH=100
C_PID="$JB_PID" C_ADMIN="$JB_ADMIN"
check "PostgreSQL down at start: readyz 503" wait_for 5 ready_is "$C_ADMIN" 503
check "PostgreSQL down at start: consumption paused" \
  wait_for 10 jb_metric_is "$C_ADMIN" analytics_journey_builder_consumer_paused 1
expect_eq "PostgreSQL down at start: pg_up 0" 0 "$(jb_metric "$C_ADMIN" analytics_journey_builder_pg_up)"
check "PostgreSQL down at start: logged, with the reason" \
  bash -c "grep '\"event\":\"txparts.pg_unavailable\"' '$T/c.log' | grep -q 'refused'"

# ---- A, killed; B, the reference ----
start_journey_builder a ANALYTICS_PG_DSN="$PG_DSN" ANALYTICS_JOURNEY_BUILDER_GROUP=jb-a \
  ANALYTICS_JOURNEY_BUILDER_BATCH=50 ANALYTICS_JOURNEY_BUILDER_GROUP_SESSION_TIMEOUT_MS=4000
A_PID="$JB_PID"
start_journey_builder b ANALYTICS_PG_DSN="$DSN_B" ANALYTICS_JOURNEY_BUILDER_GROUP=jb-b
B_PID="$JB_PID"

# The schema check, meanwhile.
check "schema behind: the builder exits" wait_for 15 bash -c "! kill -0 $OLD_PID"
wait "$OLD_PID"
expect_eq "schema behind: exit 1" 1 "$?"
check "schema behind: txparts.pg_unusable says to run analytics-migrate" \
  bash -c "grep '\"event\":\"txparts.pg_unusable\"' '$T/old.log' | grep -q analytics-migrate"

expect_eq "PostgreSQL down at start: nothing consumed meanwhile" 0 \
  "$(jb_metric "$C_ADMIN" analytics_journey_builder_events_consumed_total)"
pg_local_start "$PG2_DATA" "$PG2_PORT" "$T/pg2-sock" "$T/pg2.log" \
  -c fsync=off -c synchronous_commit=off -c full_page_writes=off ||
  { echo "pg2 did not start again"; exit 1; }
check "PostgreSQL up: readyz 200" wait_for 15 ready_is "$C_ADMIN" 200
check "PostgreSQL up: it processes" wait_for 20 archived_above "$PG2_DSN" 0

# ---- C: PostgreSQL stopped mid-stream, started again on the same port ----
check "C has consumed some of the stream" wait_for 30 archived_above "$PG2_DSN" 300
pg_local_stop "$PG2_DATA"
check "PostgreSQL stopped: readyz 503" wait_for 10 ready_is "$C_ADMIN" 503
check "PostgreSQL stopped: pg_up 0" wait_for 10 jb_metric_is "$C_ADMIN" analytics_journey_builder_pg_up 0
check "PostgreSQL stopped: consumption paused" \
  wait_for 10 jb_metric_is "$C_ADMIN" analytics_journey_builder_consumer_paused 1
check "PostgreSQL stopped: logged" log_count_above "$T/c.log" txparts.pg_unavailable 1
pg_local_start "$PG2_DATA" "$PG2_PORT" "$T/pg2-sock" "$T/pg2.log" \
  -c fsync=off -c synchronous_commit=off -c full_page_writes=off ||
  { echo "pg2 did not start again"; exit 1; }
check "PostgreSQL back: pg_up 1" wait_for 15 jb_metric_is "$C_ADMIN" analytics_journey_builder_pg_up 1
check "PostgreSQL back: consumption resumed" \
  wait_for 15 jb_metric_is "$C_ADMIN" analytics_journey_builder_consumer_paused 0
check "PostgreSQL back: readyz 200" wait_for 10 ready_is "$C_ADMIN" 200
check "PostgreSQL back: logged" log_count_above "$T/c.log" txparts.pg_available 1

# ---- A: kill -9 mid-stream, three times ----
for k in 1 2 3; do
  check "A (run $k) archives more" wait_for 60 archived_above "$PG_DSN" $((k * 700))
  kill -KILL "$A_PID"
  wait "$A_PID" 2>/dev/null
  at_kill="$(archived "$PG_DSN")"
  check "A killed mid-stream ($at_kill events archived of $EVENTS)" test "$at_kill" -lt "$EVENTS"
  start_journey_builder a ANALYTICS_PG_DSN="$PG_DSN" ANALYTICS_JOURNEY_BUILDER_GROUP=jb-a \
    ANALYTICS_JOURNEY_BUILDER_BATCH=50 ANALYTICS_JOURNEY_BUILDER_GROUP_SESSION_TIMEOUT_MS=4000
  A_PID="$JB_PID"
done

check "loadgen is done" wait_for 60 bash -c "! kill -0 $LG_PID"
wait "$LG_PID"
expect_eq "loadgen exits 0" 0 "$?"
expect_eq "loadgen: every event accepted" "$EVENTS" "$(jq -r .accepted "$T/loadgen.json")"
check "the enricher enriched them all" wait_for 30 enriched_is "$EVENTS"
for x in A:"$PG_DSN" B:"$DSN_B" C:"$PG2_DSN"; do
  check "${x%%:*} applied every enriched message" wait_for 60 caught_up "${x#*:}"
done

snapshot "$DSN_B" >"$T/b.txt"
snapshot "$PG_DSN" >"$T/a.txt"
snapshot "$PG2_DSN" >"$T/c.txt"
ref="$(counts "$DSN_B")"
echo "reference: $ref"
expect_eq "B archived every event, no session closed" "$EVENTS 0" \
  "$(q "$DSN_B" "SELECT (SELECT count(*) FROM analytics_events) || ' ' || (SELECT count(*) FROM sessions WHERE closed)")"
expect_eq "A (killed three times) ends with B's counts" "$ref" "$(counts "$PG_DSN")"
check "A ends with B's rows" cmp "$T/b.txt" "$T/a.txt"
expect_eq "C (PostgreSQL down at start and restarted) ends with B's counts" "$ref" "$(counts "$PG2_DSN")"
check "C ends with B's rows" cmp "$T/b.txt" "$T/c.txt"

# ---- SIGTERM ----
expect_clean_stop "A exits 0 on SIGTERM within 10 s" "$A_PID"
expect_clean_stop "B exits 0 on SIGTERM within 10 s" "$B_PID"
expect_clean_stop "C exits 0 on SIGTERM within 10 s" "$C_PID"

# ---- retention at start ----
# In analytics_r: partitions of 500 and 300 days ago, and rows of both ages.
q "$DSN_R" "
  SELECT count(*) FROM analytics_ensure_partitions((now() AT TIME ZONE 'UTC')::date - 500, 0);
  SELECT count(*) FROM analytics_ensure_partitions((now() AT TIME ZONE 'UTC')::date - 300, 0);
  INSERT INTO analytics_events (event_id, event_time, event_type, fingerprint, received_at)
    VALUES ('old-e', now() - interval '500 days', 'page_view', 'fp-old', now() - interval '500 days'),
           ('mid-e', now() - interval '300 days', 'page_view', 'fp-mid', now() - interval '300 days');
  INSERT INTO sessions (session_id, fingerprint, started_at, ended_at, closed)
    VALUES ('old-s', 'fp-old', now() - interval '500 days', now() - interval '500 days', true),
           ('mid-s', 'fp-mid', now() - interval '300 days', now() - interval '300 days', true);
  INSERT INTO customer_journeys (event_id, fingerprint, seq, stage, touchpoint, occurred_at)
    VALUES ('old-e', 'fp-old', 1, 'awareness', 'home', now() - interval '500 days'),
           ('mid-e', 'fp-mid', 1, 'awareness', 'home', now() - interval '300 days');
  INSERT INTO funnel_progress (fingerprint, funnel, kafka_partition, started_at, day, channel,
                               device_type, reached_ms, furthest)
    SELECT fp, 'booking', 0, t, t::date, 'direct', 'desktop',
           ARRAY[(extract(epoch FROM t) * 1000)::bigint, 0, 0, 0], 1
      FROM (VALUES ('fp-old', now() - interval '500 days'),
                   ('fp-mid', now() - interval '300 days')) AS x(fp, t)" >/dev/null
old_part="analytics_events_p$(date -u -d '500 days ago' +%Y%m%d)"
mid_part="analytics_events_p$(date -u -d '300 days ago' +%Y%m%d)"
part_exists() { q_is "$DSN_R" "SELECT count(*) FROM pg_class WHERE relname = '$1'" 1; }
check "the old partition is there before" part_exists "$old_part"
start_journey_builder r ANALYTICS_PG_DSN="$DSN_R" ANALYTICS_JOURNEY_BUILDER_GROUP=jb-r ANALYTICS_RETENTION_DAYS=400
R_PID="$JB_PID" R_ADMIN="$JB_ADMIN"
check "retention ran at start" wait_for 10 log_has "$T/r.log" journey.retention
expect_eq "journey.retention: 400 days, one partition dropped" "400 1" \
  "$(grep -m1 '"event":"journey.retention"' "$T/r.log" | jq -r '"\(.days) \(.partitions_dropped)"')"
expect_eq "metric: one partition dropped" 1 \
  "$(jb_metric "$R_ADMIN" analytics_journey_builder_retention_partitions_dropped_total)"
part_gone() { q_is "$DSN_R" "SELECT count(*) FROM pg_class WHERE relname = '$1'" 0; }
check "the partition of 500 days ago is gone" part_gone "$old_part"
check "the partition of 300 days ago stays" part_exists "$mid_part"
expect_eq "rows older than 400 days deleted, newer ones kept (events, sessions, journeys, attempts)" \
  "mid-e mid-s mid-e fp-mid" \
  "$(q "$DSN_R" "SELECT (SELECT string_agg(event_id, ',') FROM analytics_events WHERE event_id LIKE '%-e')
    || ' ' || (SELECT string_agg(session_id, ',') FROM sessions WHERE session_id LIKE '%-s')
    || ' ' || (SELECT string_agg(event_id, ',') FROM customer_journeys WHERE event_id LIKE '%-e')
    || ' ' || (SELECT string_agg(fingerprint, ',') FROM funnel_progress WHERE fingerprint LIKE 'fp-%d')")"
check "R catches up on the stream" wait_for 60 caught_up "$DSN_R"
expect_eq "R archived every event (and keeps the one of 300 days ago)" "$((EVENTS + 1))" \
  "$(archived "$DSN_R")"

# ---- an event older than the retention is dead-lettered, not archived ----
# The collector keeps a historical batch's client times (no skew correction).
jb_deadletters() {
  dump analytics.deadletter deadletter |
    jq -c 'select(.value.source_service == "analytics-journey-builder") | .value'
}
has_deadletter() { [ -n "$(jb_deadletters | jq -c --arg c "$1" 'select(.error_code == $c)')" ]; }
old_ms=$((($(date +%s) - 450 * 86400) * 1000))
post "{\"historical\":true,\"events\":[{\"event_id\":\"expired-1\",\"event_type\":\"page_view\",
  \"fingerprint\":\"fp-expired\",\"timestamp\":$old_ms,\"page_url\":\"https://shop.example/\"}]}"
expect_eq "collector takes a historical event 450 days old" 202 "$STATUS"
check "it reaches the journey-builder's dead letters" wait_for 20 has_deadletter expired
expect_eq "dead letter: the event, code expired, from events.enriched" \
  "expired-1 analytics.events.enriched fp-expired" \
  "$(jb_deadletters | jq -r 'select(.error_code == "expired") | "\(.cause_event_id) \(.source_topic) \(.fingerprint)"')"
expect_eq "not archived, no partition made for its day" "0 0" \
  "$(q "$DSN_R" "SELECT (SELECT count(*) FROM analytics_events WHERE event_id = 'expired-1') || ' '
    || (SELECT count(*) FROM pg_class WHERE relname = 'analytics_events_p$(date -u -d '450 days ago' +%Y%m%d)')")"

# ---- an undecodable message is dead-lettered and the stream goes on ----
printf 'this is not protobuf \377\376' | kcat -P -b "$BROKERS" -t "$ENRICHED" -k fp-garbage
check "the undecodable message reaches the dead letters" wait_for 20 has_deadletter undecodable
expect_eq "dead letter: code undecodable, the original bytes" \
  "undecodable $(printf 'this is not protobuf \377\376' | base64)" \
  "$(jb_deadletters | jq -r 'select(.error_code == "undecodable") | "\(.error_code) \(.original)"')"
now_ms=$(($(date +%s) * 1000))
post "{\"event_id\":\"after-1\",\"event_type\":\"page_view\",\"fingerprint\":\"fp-after\",
  \"timestamp\":$now_ms,\"page_url\":\"https://shop.example/pricing\"}"
expect_eq "collector takes one more event" 202 "$STATUS"
check "the stream goes on: it is archived" \
  wait_for 20 q_is "$DSN_R" "SELECT count(*) FROM analytics_events WHERE event_id = 'after-1'" 1
expect_eq "two dead letters counted" 2 "$(jb_metric "$R_ADMIN" analytics_journey_builder_deadletters_total)"
check "readyz is 200 after all that" ready_is "$R_ADMIN" 200

# ---- SIGTERM with PostgreSQL down: exit 0 within 10 s ----
# R notices the server gone at its next statement (a batch, or the check
# each second), then pauses and fetches nothing it could not apply. The
# event posted meanwhile is either consumed and held in the batch in hand
# (when it came first) or left on the topic: either way SIGTERM ends R
# within 10 s and the next run archives it.
pg_local_stop "$PG_DATA"
post "{\"event_id\":\"after-2\",\"event_type\":\"page_view\",\"fingerprint\":\"fp-after\",
  \"timestamp\":$((now_ms + 1000)),\"page_url\":\"https://shop.example/book\"}"
expect_eq "collector takes an event while PostgreSQL is down" 202 "$STATUS"
check "R pauses" wait_for 15 jb_metric_is "$R_ADMIN" analytics_journey_builder_consumer_paused 1
check "readyz is 503 while PostgreSQL is down" ready_is "$R_ADMIN" 503
expect_clean_stop "R exits 0 on SIGTERM within 10 s, PostgreSQL down" "$R_PID" 10
pg_local_start "$PG_DATA" "$PG_PORT" "$T/pg-sock" "$T/pg.log" \
  -c fsync=off -c synchronous_commit=off -c full_page_writes=off ||
  { echo "pg did not start again"; exit 1; }
start_journey_builder r ANALYTICS_PG_DSN="$DSN_R" ANALYTICS_JOURNEY_BUILDER_GROUP=jb-r ANALYTICS_RETENTION_DAYS=400
R_PID="$JB_PID"
check "the next run archives the event left over" \
  wait_for 30 q_is "$DSN_R" "SELECT count(*) FROM analytics_events WHERE event_id = 'after-2'" 1
expect_clean_stop "R exits 0 on SIGTERM at the end" "$R_PID"

itest_finish
