#!/usr/bin/env bash
# The journey-builder judges event times by the stream's clock, not its
# host's. Events whose receive time (the collector's clock, carried in each
# event) is three days after this host's clock, as when the builder's host
# clock is three days behind, go through the real enricher (Redis) and the
# devbroker to a journey-builder with a real PostgreSQL:
#  - every one is archived and applied (on main: all dead-lettered as
#    "future", judged by the host's clock);
#  - nothing is dead-lettered;
#  - the skew is visible: analytics_journey_builder_host_clock_behind_seconds
#    says about three days and journey.host_clock_behind is logged (warn);
#  - SIGTERM exits 0.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
itest_init journey_clock

EVENTS=200
start_devbroker
start_redis_free redis
start_postgres_migrated pg
start_enricher e1

q() { psql -X -A -t -q -v ON_ERROR_STOP=1 "$PG_DSN" -c "$1"; }
q_is() { [ "$(q "$1")" = "$2" ]; }

start_journey_builder jb
jb_metric() { ADMIN_PORT="$JB_ADMIN" metric "$1"; }

# Raw events as a collector three days ahead of this host would make them:
# client and receive times from then.
ahead_ms=$((($(date +%s) + 3 * 86400) * 1000))
"$BIN/analytics-loadgen" --kafka-raw --brokers "$BROKERS" --count "$EVENTS" --visitors 20 \
  --window-s 60 --seed 5 --start-ms "$ahead_ms" >"$T/loadgen.json" 2>"$T/loadgen.log" ||
  { echo "loadgen failed"; cat "$T/loadgen.log"; exit 1; }
expect_eq "loadgen delivered them all" "$EVENTS" "$(jq -r .delivered "$T/loadgen.json")"

handled() {
  [ $(($(jb_metric analytics_journey_builder_events_archived_total) +
    $(jb_metric analytics_journey_builder_duplicates_total) +
    $(jb_metric analytics_journey_builder_deadletters_total))) -ge "$EVENTS" ]
}
check "the journey-builder handled every event" wait_for 40 handled
expect_eq "every event archived, none dead-lettered" "$EVENTS 0" \
  "$(q "SELECT count(*) FROM analytics_events") $(jb_metric analytics_journey_builder_deadletters_total)"
expect_eq "archived at their own times, three days after this host's clock" 3 \
  "$(q "SELECT min(event_time)::date - (now() AT TIME ZONE 'UTC')::date FROM analytics_events")"
check "and applied: touchpoints and sessions" \
  q_is "SELECT (SELECT count(*) > 0 FROM customer_journeys) AND (SELECT count(*) > 0 FROM sessions)" t
behind="$(jb_metric analytics_journey_builder_host_clock_behind_seconds)"
# (Return visits come hours after the first ones: the receive times run a
# little past the three days. The gauge is of the last batch.)
latest_s="$(q "SELECT extract(epoch FROM max(received_at) - now())::bigint FROM analytics_events")"
check "host_clock_behind_seconds says about three days ($behind s; the latest receive time $latest_s s ahead)" \
  test "${behind%.*}" -gt $((3 * 86400 - 600)) -a "${behind%.*}" -le "$latest_s"
expect_eq "journey.host_clock_behind logged once, at warn" "1 warn" \
  "$(grep -c '"event":"journey.host_clock_behind"' "$T/jb.log") $(log_field "$T/jb.log" journey.host_clock_behind lvl)"
check "readyz 200" http_status_is "http://127.0.0.1:$JB_ADMIN/readyz" 200
expect_clean_stop "journey-builder exits 0 on SIGTERM" "$JB_PID"
itest_finish
