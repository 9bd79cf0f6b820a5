#!/usr/bin/env bash
# Closing follows event time, not batch boundaries (issue 12, item 4). One
# stream of events (visitors with gaps longer than the idle time inside a
# session, events arriving out of order, the booking funnel walked, left
# and taken up again) goes through the real collector and enricher once;
# then journey-builders read it into four fresh databases with batches of
# 1, 7 (restarted half-way), 1000 and 10000 events. Every table and every
# visitor's journey updates must come out the same: where a session closes
# is a function of the stream alone.
#
# The clock moves on with wall time only once a partition is caught up, so
# the stream ends with visitors an hour after everything else ("sentinels",
# 30 of them: every partition gets one): they close every session before
# them by the stream's clock, and their own stay open (10 minutes idle
# time) while the test runs.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
itest_init journey_batching

CHROME='Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36'
IDLE_S=600

start_devbroker
start_redis_free redis
start_postgres pg
start_collector c1
start_enricher e1

psql_as() { psql -X -A -t -q -v ON_ERROR_STOP=1 "$1" -c "$2"; }

# ---- the stream
now="$(($(date +%s) * 1000))"
python3 - "$now" "$IDLE_S" >"$T/events.jsonl" <<'EOF'
import json, random, sys
now, idle = int(sys.argv[1]), int(sys.argv[2]) * 1000
rnd = random.Random(20261201)
start, end_real = now - 5 * 3600000, now - 2 * 3600000
walk = [("page_view", "/"), ("page_view", "/services/phone"), ("page_view", "/pricing"),
        ("booking_started", "/book"), ("booking_completed", "/book/done")]
other = [("scroll", "/pricing"), ("click", "/services/phone"), ("page_view", "/blog/a"),
         ("page_view", "/contact")]
events = []
for v in range(70):
    t = start + rnd.randrange(0, 2 * 3600000)
    step = 0
    for si in range(rnd.randint(1, 3)):
        for k in range(rnd.randint(1, 14)):
            r = rnd.random()
            t += rnd.randint(2000, 90000) if r < 0.85 else rnd.randint(idle + 1, 3 * idle)
            if t > end_real:
                break
            if rnd.random() < 0.6 and step < len(walk):
                typ, path = walk[step]
                step += 1 if rnd.random() < 0.8 else 2
            else:
                typ, path = rnd.choice(other)
            events.append({"event_id": "e-%d-%d-%d" % (v, si, k), "event_type": typ,
                           "fingerprint": "fp-%d" % v, "session_id": "s-%d-%d" % (v, si),
                           "timestamp": t, "page_url": "https://shop.example" + path})
        t += rnd.randint(idle, 6 * idle)
        step = step if rnd.random() < 0.5 else 0
events.sort(key=lambda e: e["timestamp"])
# About one event in twenty arrives late: up to 40 places after its time.
for i in range(len(events) - 1, -1, -1):
    if rnd.random() < 0.05:
        e = events.pop(i)
        events.insert(min(len(events), i + rnd.randint(1, 40)), e)
for i in range(30):
    events.append({"event_id": "sentinel-%d" % i, "event_type": "scroll",
                   "fingerprint": "sentinel-%d" % i, "session_id": "sentinel-s-%d" % i,
                   "timestamp": now - 3600000 + i * 1000,
                   "page_url": "https://shop.example/"})
for e in events:
    print(json.dumps(e, separators=(",", ":")))
EOF
total=$(wc -l <"$T/events.jsonl")
sessions_in_stream=$(jq -r .session_id "$T/events.jsonl" | sort -u | wc -l)
note() { printf '%s\n' "$*"; }
note "stream: $total events, $sessions_in_stream sessions"
split -l 50 "$T/events.jsonl" "$T/chunk."
posted=0
for f in "$T"/chunk.*; do
  post "{\"events\":[$(paste -sd, "$f")]}" -A "$CHROME"
  [ "$STATUS" = 202 ] && posted=$((posted + $(wc -l <"$f")))
done
expect_eq "the collector takes the whole stream" "$total" "$posted"
enriched() { dump analytics.events.enriched enriched | wc -l; }
enriched_is() { [ "$(enriched)" = "$1" ]; }
check "the enricher enriches it all" wait_for 60 enriched_is "$total"
stop_process "$ENRICHER_PID" 10

# ---- the runs
# snapshot DSN: every table the journey-builder writes, without the times
# it wrote them at.
snapshot() {
  psql_as "$1" "SELECT count(*) FROM analytics_events"
  psql_as "$1" "SELECT to_jsonb(s) - 'updated_at' FROM sessions s ORDER BY session_id"
  psql_as "$1" "SELECT to_jsonb(c) - 'inserted_at' FROM customer_journeys c ORDER BY event_id"
  psql_as "$1" "SELECT to_jsonb(p) - 'updated_at' FROM funnel_progress p ORDER BY fingerprint, funnel"
  # The sum of seconds to 6 decimals: a sum of doubles taken in another
  # order differs in its last bits.
  psql_as "$1" "SELECT to_jsonb(f) - 'updated_at' - 'since_prev_sum_s',
                       round(since_prev_sum_s::numeric, 6)
                  FROM funnel_daily f ORDER BY funnel, day, step, channel, device_type"
  psql_as "$1" "SELECT topic, kafka_partition, next_offset, stream_ms FROM journey_offsets ORDER BY 1, 2"
}
# updates_since FILE: each visitor's journey updates produced since FILE
# (a dump of the topic) was taken, in order, one line per visitor.
updates_since() {
  dump analytics.journeys journey | jq -r -c '"\(.partition) \(.offset) \(.key) \(.value | tojson)"' |
    awk 'NR == FNR {seen[$1 " " $2] = 1; next} !(($1 " " $2) in seen)' \
      <(echo "-"; jq -r '"\(.partition) \(.offset)"' "$1") - |
    sort -k1,1n -k2,2n |
    awk '{k = $3; $1 = $2 = $3 = ""; seq[k] = seq[k] $0} END {for (k in seq) print k seq[k]}' | sort
}
jb_done() { # all messages applied and every session before the sentinels closed
  [ "$(psql_as "$DSN" "SELECT coalesce(sum(next_offset), 0) FROM journey_offsets")" = "$total" ] &&
    [ "$(psql_as "$DSN" "SELECT count(*) FROM sessions WHERE NOT closed AND session_id NOT LIKE 'sentinel-%'")" = 0 ]
}
applied() { psql_as "$DSN" "SELECT coalesce(sum(next_offset), 0) FROM journey_offsets"; }
applied_above() { [ "$(applied)" -gt "$1" ]; }

for run in b1 b7 b1000 b10000; do
  batch=${run#b}
  pg_local_create_db "$PG_PORT" analytics "$run" >/dev/null || exit 1
  DSN="postgresql://analytics@127.0.0.1:$PG_PORT/$run"
  ANALYTICS_PG_DSN="$DSN" "$BIN/analytics-migrate" >"$T/migrate-$run.log" 2>&1 ||
    { cat "$T/migrate-$run.log"; exit 1; }
  dump analytics.journeys journey >"$T/journeys-before-$run.jsonl"
  opts=(ANALYTICS_PG_DSN="$DSN" ANALYTICS_JOURNEY_BUILDER_GROUP="g-$run"
        ANALYTICS_JOURNEY_BUILDER_BATCH="$batch" ANALYTICS_JOURNEY_BUILDER_SESSION_IDLE_S=$IDLE_S)
  start_journey_builder "jb-$run" "${opts[@]}"
  if [ "$run" = b7 ]; then
    check "b7: half the stream applied" wait_for 60 applied_above $((total / 2))
    expect_clean_stop "b7: stops on SIGTERM half-way" "$JB_PID"
    start_journey_builder "jb-$run" "${opts[@]}"
  fi
  check "$run: the whole stream applied, every session before the sentinels closed" wait_for 120 jb_done
  reopened[$batch]=$(ADMIN_PORT="$JB_ADMIN" metric analytics_journey_builder_sessions_reopened_total)
  expect_clean_stop "$run: stops on SIGTERM" "$JB_PID"
  snapshot "$DSN" >"$T/tables-$run.txt"
  updates_since "$T/journeys-before-$run.jsonl" >"$T/updates-$run.txt"
done

expect_eq "one session row per session id of the stream" "$sessions_in_stream" \
  "$(psql_as "postgresql://analytics@127.0.0.1:$PG_PORT/b1" "SELECT count(*) FROM sessions")"
reop="$(psql_as "postgresql://analytics@127.0.0.1:$PG_PORT/b1" "SELECT count(*) FROM sessions WHERE duration_s > $IDLE_S")"
check "the stream has sessions with gaps past the idle time ($reop)" test "$reop" -gt 5
check "so sessions closed in the middle and reopened (${reopened[1]} with batches of 1)" \
  test "${reopened[1]:-0}" -gt 5
expect_eq "as many with batches of 10000" "${reopened[1]}" "${reopened[10000]}"
check "journey updates were produced" test -s "$T/updates-b1.txt"
expect_eq "every table written: $sessions_in_stream sessions, $total events" "$sessions_in_stream|$total" \
  "$(grep -c '"bounced"' "$T/tables-b1.txt" | head -1)|$(head -1 "$T/tables-b1.txt")"
# same WHAT A B: the files are equal, else the first differences.
same() {
  if cmp -s "$2" "$3"; then pass "$1"; else fail "$1"; diff "$2" "$3" | cut -c1-300 | head -8; fi
}
for run in b7 b1000 b10000; do
  same "$run: the same tables as with batches of 1" "$T/tables-b1.txt" "$T/tables-$run.txt"
  same "$run: the same journey updates, visitor by visitor" "$T/updates-b1.txt" "$T/updates-$run.txt"
done
itest_finish
