#!/usr/bin/env bash
# The broker forgets, PostgreSQL does not: what scripts/run-local does on a
# second run (a fresh in-memory devbroker, the same .local/pg). With the real
# collector, enricher (Redis) and journey-builder:
#  - run 1 archives 300 events, then everything but PostgreSQL stops;
#  - run 2, on a fresh devbroker: journey_offsets still says ~100 messages a
#    partition are applied, but they belong to the old cluster (another
#    cluster id; and a first wave of 30 events leaves every partition's end
#    below them, whatever the id). The builder logs txparts.offsets_reset
#    (error level) per partition, counts it in
#    analytics_journey_builder_offsets_reset_total, and starts from the
#    broker's offsets: all 1000 events posted are archived (on main: the
#    first ~300 were skipped as "replayed", readyz 200, no warning);
#  - journey_offsets ends at the new partitions' ends, with the new cluster id;
#  - the committed group offsets are at the end too: a restart consumes
#    nothing again, and the next event is archived;
#  - SIGTERM exits 0 throughout.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
itest_init journey_offsets_reset

ENRICHED=analytics.events.enriched
start_redis_free redis
start_postgres_migrated pg

q() { psql -X -A -t -q -v ON_ERROR_STOP=1 "$PG_DSN" -c "$1"; }
q_is() { [ "$(q "$1")" = "$2" ]; }
archived() { q "SELECT count(*) FROM analytics_events"; }
archived_is() { [ "$(archived)" = "$1" ]; }

jb_metric() { ADMIN_PORT="$JB_ADMIN" metric "$1"; }
jb_metric_is() { [ "$(jb_metric "$1")" = "$2" ]; }
# load N SEED: N events through the collector, as fast as it takes them.
load() {
  "$BIN/analytics-loadgen" --http "$URL" --count "$1" --batch 20 --concurrency 2 \
    --visitors 100 --window-s 60 --seed "$2" >"$T/loadgen-$2.json" 2>"$T/loadgen-$2.log" ||
    { echo "loadgen failed"; cat "$T/loadgen-$2.log"; exit 1; }
  expect_eq "loadgen (seed $2): every event accepted" "$1" "$(jq -r .accepted "$T/loadgen-$2.json")"
}
applied() { q "SELECT coalesce(sum(next_offset), 0) FROM journey_offsets WHERE topic = '$ENRICHED'"; }
caught_up() { [ "$(applied)" = "$(topic_count "$ENRICHED")" ]; }

# ---- run 1 ----
start_devbroker
start_collector c1
start_enricher e1
start_journey_builder jb1
load 300 1
check "run 1: all 300 archived" wait_for 30 archived_is 300
check "run 1: every message applied" wait_for 10 caught_up
before="$(applied)"
expect_eq "run 1: no reset" "" "$(grep '"event":"txparts.offsets_reset"' "$T/jb1.log")"
cluster1="$(q "SELECT string_agg(DISTINCT coalesce(cluster_id, 'NULL'), ',') FROM journey_offsets")"
check "run 1: the offsets carry the cluster id ($cluster1)" test "$cluster1" = \
  "$(log_field "$T/jb1.log" txparts.cluster cluster_id)"
expect_clean_stop "run 1: journey-builder exits 0" "$JB_PID"
expect_clean_stop "run 1: enricher exits 0" "$ENRICHER_PID"
expect_clean_stop "run 1: collector exits 0" "$COLLECTOR_PID"
stop_process "$DEVBROKER_PID" 10

# ---- run 2: a fresh devbroker, the same PostgreSQL ----
start_devbroker
start_collector c2
start_enricher e2
start_journey_builder jb2
check "run 2: the journey-builder has its partitions" \
  wait_for 20 log_has "$T/jb2.log" kafka.partitions_assigned
load 30 2
check "run 2: the first 30 archived" wait_for 30 archived_is 330
load 970 3
check "run 2: all 1000 new events archived (1300 in all)" wait_for 40 archived_is 1300
check "run 2: every message applied: journey_offsets at the new ends" wait_for 10 caught_up
resets="$(grep -c '"event":"txparts.offsets_reset"' "$T/jb2.log")"
check "run 2: txparts.offsets_reset logged ($resets partitions, $before messages applied before)" \
  test "$resets" -ge 1
# The devbroker's cluster id comes from an address: another one on every
# run, unless the allocator repeats itself (a sanitizer's might), when the
# partitions' ends tell.
reason="$(grep -m1 '"event":"txparts.offsets_reset"' "$T/jb2.log" | jq -r '"\(.lvl) \(.reason) \(.recorded_cluster)"')"
check "run 2: at error level, reason cluster_changed or beyond_end, from the old cluster ($reason)" \
  grep -Eqx "error (cluster_changed|beyond_end) $cluster1" <<<"$reason"
expect_eq "run 2: counted in offsets_reset_total" "$resets" \
  "$(jb_metric analytics_journey_builder_offsets_reset_total)"
expect_eq "run 2: nothing skipped as replayed" 0 \
  "$(jb_metric analytics_journey_builder_replayed_skipped_total)"
cluster2="$(log_field "$T/jb2.log" txparts.cluster cluster_id)"
expect_eq "run 2: journey_offsets carry it" "$cluster2" \
  "$(q "SELECT string_agg(DISTINCT coalesce(cluster_id, 'NULL'), ',') FROM journey_offsets")"
check "run 2: readyz 200" http_status_is "http://127.0.0.1:$JB_ADMIN/readyz" 200

# ---- the group's committed offsets are at the end, not past it ----
expect_clean_stop "run 2: journey-builder exits 0" "$JB_PID"
start_journey_builder jb3
sleep 3
expect_eq "a restart consumes nothing again" 0 \
  "$(jb_metric analytics_journey_builder_events_consumed_total)"
post "{\"event_id\":\"after-reset\",\"event_type\":\"page_view\",\"fingerprint\":\"fp-after\",
  \"timestamp\":$(($(date +%s) * 1000)),\"page_url\":\"https://shop.example/\"}"
expect_eq "collector takes one more event" 202 "$STATUS"
check "and it is archived" wait_for 20 q_is "SELECT count(*) FROM analytics_events WHERE event_id = 'after-reset'" 1
expect_eq "no reset on a restart with the same broker" 0 \
  "$(jb_metric analytics_journey_builder_offsets_reset_total)"
expect_clean_stop "journey-builder exits 0 at the end" "$JB_PID"
itest_finish
