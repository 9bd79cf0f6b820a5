#!/usr/bin/env bash
# analytics-scorer when things go wrong (issue 14), against the devbroker,
# real Redis and real private PostgreSQL servers, fed by loadgen
# (--kafka-raw) through the real enricher. Four scorers consume the same
# stream, each in its own group and database, in batches of 200:
#  - R, the reference, never disturbed;
#  - K, killed with SIGKILL mid-stream twice and restarted;
#  - P, whose PostgreSQL is stopped mid-stream and started again on the same
#    port: it pauses (consumer_paused 1, readyz 503, pg_up 0) and resumes;
#  - D, whose Redis is stopped mid-stream and started again (with its append
#    only file, so what was written before is still there): it pauses
#    (consumer_paused 1, readyz 503), commits nothing meanwhile, and resumes.
# Each ends with R's rows, column for column but the time a row was written:
# user_behavior_profiles (counts, features, scores, segment, state),
# ml_predictions (one per scoring event, with its reasons), page_stats_daily,
# scorer_churn_due and scorer_offsets; and each Redis holds R's hot
# profiles, field for field, every one with a TTL. SIGTERM exits 0.
#
# One partition: a prediction reads the site's page statistics, which every
# closed session moves, so with several partitions it would depend on how
# the consumer happened to interleave them, and two runs could differ. The
# devbroker keeps ~5 MiB per partition, hence 4000 events (about 3.5 MB);
# 200 visitors over 10 minutes make return visits, so sessions close and
# page statistics move during the stream. No journey-builder: its updates
# arrive on another topic, interleaved with the events as timing has it.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
itest_init scorer_reliability

ENRICHED=analytics.events.enriched
EVENTS=4000
BATCH=200

start_devbroker --partitions 1
start_redis_free redis
REDIS1="$REDIS_PORT"
# D's Redis keeps an append only file: stopped and started again, it holds
# what it held.
start_redis_free redis2 --appendonly yes --appendfsync always
REDIS2="$REDIS_PORT" REDIS2_PID="$REDIS_PID"
REDIS_PORT="$REDIS1"
# pg2 is the one stopped and started again; pg holds the other databases.
start_postgres pg2
PG2_PORT="$PG_PORT" PG2_DATA="$PG_DATA" PG2_DSN="$PG_DSN"
start_postgres pg
DSN_R="$PG_DSN"
DSN_K="postgresql://analytics@127.0.0.1:$PG_PORT/analytics_k"
DSN_D="postgresql://analytics@127.0.0.1:$PG_PORT/analytics_d"
for db in analytics_k analytics_d; do
  pg_local_create_db "$PG_PORT" analytics "$db" >/dev/null || exit 1
done
for dsn in "$DSN_R" "$DSN_K" "$DSN_D" "$PG2_DSN"; do
  ANALYTICS_PG_DSN="$dsn" "$BIN/analytics-migrate" >>"$T/migrate.log" 2>&1 ||
    { cat "$T/migrate.log"; exit 1; }
done

# q DSN SQL: one query's rows, unaligned, | between columns.
q() { psql -X -A -t -q -v ON_ERROR_STOP=1 "$1" -c "$2"; }

# rel_scorer NAME DSN REDIS_URL: a scorer of its own group and database.
rel_scorer() {
  start_scorer "$1" ANALYTICS_PG_DSN="$2" ANALYTICS_REDIS_URL="$3" ANALYTICS_SCORER_GROUP="sc-$1" \
    ANALYTICS_SCORER_BATCH="$BATCH" ANALYTICS_SCORER_GROUP_SESSION_TIMEOUT_MS=4000
}

# sc_metric PORT NAME / sc_metric_is PORT NAME VALUE: a scorer's metric.
sc_metric() { ADMIN_PORT="$1" metric "$2"; }
sc_metric_is() { [ "$(sc_metric "$1" "$2")" = "$3" ]; }
ready_is() { http_status_is "http://127.0.0.1:$1/readyz" "$2"; }
# applied DSN: the enriched messages scorer_offsets says are applied.
applied() { q "$1" "SELECT coalesce(sum(next_offset), 0) FROM scorer_offsets WHERE topic = '$ENRICHED'"; }
applied_above() { [ "$(applied "$1")" -gt "$2" ]; }
caught_up() { [ "$(applied "$1")" = "$EVENTS" ]; }
enriched_is() { [ "$(topic_count "$ENRICHED")" = "$1" ]; }

# snapshot DSN: what the scorer wrote, row for row, without the columns
# that say when a row was written, nor the pages' names (a replica names a
# page it saw viewed since it started; one restarted mid-stream may write a
# row before it has seen the page again: the same row, its name still NULL).
snapshot() {
  q "$1" "SELECT (to_jsonb(u) - 'updated_at')::text FROM user_behavior_profiles u ORDER BY fingerprint"
  q "$1" "SELECT (to_jsonb(p) - 'inserted_at')::text FROM ml_predictions p
          ORDER BY cause_event_id, model_version"
  q "$1" "SELECT (to_jsonb(s) - 'page')::text FROM page_stats_daily s ORDER BY day, page_hash"
  q "$1" "SELECT to_jsonb(c)::text FROM scorer_churn_due c ORDER BY fingerprint"
  q "$1" "SELECT topic, kafka_partition, next_offset, stream_ms FROM scorer_offsets ORDER BY 1, 2"
}
# counts DSN: a one-line summary of the snapshot.
counts() {
  q "$1" "SELECT (SELECT count(*) FROM user_behavior_profiles) || ' profiles ('
    || (SELECT sum(events) FROM user_behavior_profiles) || ' events, '
    || (SELECT count(*) FILTER (WHERE sessions > 1) FROM user_behavior_profiles) || ' returning), '
    || (SELECT count(*) FROM ml_predictions) || ' predictions, '
    || (SELECT count(*) FROM page_stats_daily) || ' page statistics rows, '
    || (SELECT count(*) FROM scorer_churn_due) || ' churn warnings'"
}
# hot_profiles PORT DB: every hot profile in that Redis, its fields sorted,
# and whether it has a TTL.
hot_profiles() {
  redis-cli -h 127.0.0.1 -p "$1" -n "$2" --raw EVAL "
    local out = {}
    for _, k in ipairs(redis.call('KEYS', 'analytics.profile:*')) do
      local h, f = redis.call('HGETALL', k), {}
      for i = 1, #h, 2 do f[#f + 1] = h[i] .. '=' .. h[i + 1] end
      table.sort(f)
      out[#out + 1] = k .. ' ttl=' .. tostring(redis.call('PTTL', k) > 0) .. ' ' .. table.concat(f, ' ')
    end
    table.sort(out)
    return out" 0
}
# same NAME FILE_A FILE_B: passes when equal, else fails showing the first
# differing lines.
same() {
  if cmp -s "$2" "$3"; then pass "$1"; else
    fail "$1"
    diff "$2" "$3" | head -6 | cut -c1-400
  fi
}

start_enricher e1
rel_scorer r "$DSN_R" "redis://127.0.0.1:$REDIS1/1"
R_PID="$SCORER_PID" R_ADMIN="$SCORER_ADMIN"
rel_scorer k "$DSN_K" "redis://127.0.0.1:$REDIS1/2"
K_PID="$SCORER_PID"
rel_scorer p "$PG2_DSN" "redis://127.0.0.1:$REDIS1/3"
P_PID="$SCORER_PID" P_ADMIN="$SCORER_ADMIN"
rel_scorer d "$DSN_D" "redis://127.0.0.1:$REDIS2/0"
D_PID="$SCORER_PID" D_ADMIN="$SCORER_ADMIN"
for x in R:"$R_ADMIN" P:"$P_ADMIN" D:"$D_ADMIN"; do
  check "${x%%:*} is ready" wait_for 20 ready_is "${x#*:}" 200
done

# The stream: 4000 events at 200 a second, from a week ago.
"$BIN/analytics-loadgen" --kafka-raw --count "$EVENTS" --rate 200 --visitors 200 --window-s 600 \
  --seed 12 --start-ms $((($(date +%s) - 7 * 86400) * 1000)) \
  >"$T/loadgen.json" 2>"$T/loadgen.log" &
LG_PID=$!
ITEST_PIDS+=("$LG_PID")

# ---- K: kill -9 mid-stream, twice ----
for at in 600 1600; do
  check "K applies more than $at events" wait_for 60 applied_above "$DSN_K" "$at"
  kill -KILL "$K_PID"
  wait "$K_PID" 2>/dev/null
  n="$(applied "$DSN_K")"
  check "K killed mid-stream ($n of $EVENTS applied)" test "$n" -lt "$EVENTS"
  rel_scorer k "$DSN_K" "redis://127.0.0.1:$REDIS1/2"
  K_PID="$SCORER_PID"
done

# ---- P and D: PostgreSQL and Redis stopped mid-stream ----
check "P applies more than 2000 events" wait_for 60 applied_above "$PG2_DSN" 2000
check "D applies more than 2000 events" wait_for 60 applied_above "$DSN_D" 2000
pg_local_stop "$PG2_DATA"
kill -TERM "$REDIS2_PID"
wait "$REDIS2_PID" 2>/dev/null
check "PostgreSQL stopped: P paused" wait_for 15 sc_metric_is "$P_ADMIN" analytics_scorer_consumer_paused 1
check "PostgreSQL stopped: P readyz 503" ready_is "$P_ADMIN" 503
check "PostgreSQL stopped: P pg_up 0" sc_metric_is "$P_ADMIN" analytics_scorer_pg_up 0
check "PostgreSQL stopped: logged" log_has "$T/p.log" txparts.pg_unavailable
check "Redis stopped: D paused" wait_for 15 sc_metric_is "$D_ADMIN" analytics_scorer_consumer_paused 1
check "Redis stopped: D readyz 503" ready_is "$D_ADMIN" 503
check "Redis stopped: logged" log_has "$T/d.log" scorer.redis_unavailable
# Once D is paused, its batch in hand waits: nothing commits until Redis is back.
d_at="$(applied "$DSN_D")"
check "stopped mid-stream ($d_at of $EVENTS applied by D)" test "$d_at" -lt "$EVENTS"
# A few seconds down: the batch in hand is tried again meanwhile.
sleep 3
expect_eq "Redis stopped: D commits nothing meanwhile" "$d_at" "$(applied "$DSN_D")"
pg_local_start "$PG2_DATA" "$PG2_PORT" "$T/pg2-sock" "$T/pg2.log" \
  -c fsync=off -c synchronous_commit=off -c full_page_writes=off ||
  { echo "pg2 did not start again"; exit 1; }
start_redis redis2 "$REDIS2" --appendonly yes --appendfsync always ||
  { echo "redis2 did not start again"; cat "$T/redis2.log"; exit 1; }
check "PostgreSQL back: P pg_up 1" wait_for 15 sc_metric_is "$P_ADMIN" analytics_scorer_pg_up 1
check "PostgreSQL back: P resumed" wait_for 15 sc_metric_is "$P_ADMIN" analytics_scorer_consumer_paused 0
check "PostgreSQL back: P readyz 200" wait_for 10 ready_is "$P_ADMIN" 200
check "Redis back: D resumed" wait_for 15 sc_metric_is "$D_ADMIN" analytics_scorer_consumer_paused 0
check "Redis back: D readyz 200" wait_for 10 ready_is "$D_ADMIN" 200
check "Redis back: logged" log_has "$T/d.log" scorer.redis_available

# ---- the end of the stream ----
check "loadgen is done" wait_for 60 bash -c "! kill -0 $LG_PID"
wait "$LG_PID"
expect_eq "loadgen exits 0" 0 "$?"
check "the enricher enriched every event" wait_for 30 enriched_is "$EVENTS"
expect_eq "the devbroker kept them all" 0 \
  "$("$BIN/analytics-dump" --brokers "$BROKERS" --topic "$ENRICHED" --watermarks | jq -r '.partitions[0].low')"
for x in R:"$DSN_R" K:"$DSN_K" P:"$PG2_DSN" D:"$DSN_D"; do
  check "${x%%:*} applied every event" wait_for 60 caught_up "${x#*:}"
done

ref="$(counts "$DSN_R")"
echo "reference: $ref"
check "sessions closed and page statistics moved during the stream" \
  test "$(q "$DSN_R" "SELECT count(*) FROM page_stats_daily")" -gt 0
expect_eq "...each row with its page's name (host and path), where R saw it viewed" 0 \
  "$(q "$DSN_R" "SELECT count(*) FROM page_stats_daily WHERE page IS NULL OR page !~ '^[a-z0-9.-]+/'")"
check "returning visitors were scored" \
  test "$(q "$DSN_R" "SELECT count(*) FROM user_behavior_profiles WHERE sessions > 1")" -gt 10
snapshot "$DSN_R" >"$T/r.txt"
hot_profiles "$REDIS1" 1 >"$T/r.redis"
check "R's hot profiles are in Redis, one per profile, each with a TTL" test \
  "$(grep -c ' ttl=true ' "$T/r.redis")" = "$(q "$DSN_R" "SELECT count(*) FROM user_behavior_profiles")"
for x in "K|k|$DSN_K|$REDIS1|2" "P|p|$PG2_DSN|$REDIS1|3" "D|d|$DSN_D|$REDIS2|0"; do
  IFS='|' read -r name low dsn port db <<<"$x"
  snapshot "$dsn" >"$T/$low.txt"
  hot_profiles "$port" "$db" >"$T/$low.redis"
  expect_eq "$name ends with R's counts" "$ref" "$(counts "$dsn")"
  same "$name ends with R's rows" "$T/r.txt" "$T/$low.txt"
  same "$name's Redis holds R's hot profiles" "$T/r.redis" "$T/$low.redis"
done

# At least once onto scores, and not much more: every scorer produced a
# ScoreUpdate per prediction, and each kill or outage repeats at most the
# batch in hand (K's two kills, P's and D's outages).
preds="$(q "$DSN_R" "SELECT count(*) FROM ml_predictions")"
scores="$("$BIN/analytics-dump" --brokers "$BROKERS" --topic analytics.scores --watermarks | jq -r .high_total)"
check "ScoreUpdates: $scores for 4 x $preds predictions, a batch repeated at most per kill or outage" \
  test "$scores" -ge $((4 * preds)) -a "$scores" -le $((4 * preds + 4 * BATCH))

# Counters count what was committed: a batch tried again after PostgreSQL
# or Redis came back is not counted twice.
for m in analytics_scorer_events_scored_total analytics_scorer_bot_events_total; do
  expect_eq "P's and D's $m equal R's" "$(sc_metric "$R_ADMIN" $m) $(sc_metric "$R_ADMIN" $m)" \
    "$(sc_metric "$P_ADMIN" $m) $(sc_metric "$D_ADMIN" $m)"
done

# ---- SIGTERM ----
for x in R:"$R_PID" K:"$K_PID" P:"$P_PID" D:"$D_PID"; do
  expect_clean_stop "${x%%:*} exits 0 on SIGTERM within 10 s" "${x#*:}"
done

itest_finish
