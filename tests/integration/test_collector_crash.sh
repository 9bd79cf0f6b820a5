#!/usr/bin/env bash
# No event answered 202 is lost: SIGTERM mid-load (both acknowledgement
# modes), and kill -9 mid-load in delivered mode, with the broker up and
# with the broker down (events then only in the spool).
source "$(dirname "$0")/lib.sh"
itest_init collector_crash

start_devbroker

# load_loop ID: posts batches of 10 events with known ids until stopped;
# appends the ids of every batch answered 202 to $T/acked.
load_loop() {
  local id="$1" n=0 body status
  while [ ! -e "$T/stop-load" ]; do
    n=$((n + 1))
    body="{\"events\":[$(for j in 0 1 2 3 4 5 6 7 8 9; do printf '{"event_id":"%s-%d-%d","event_type":"load","fingerprint":"fp-%s-%d"},' "$RUN" "$id$n" "$j" "$id" "$j"; done | sed 's/,$//')]}"
    status="$(curl -s -o /dev/null -w '%{http_code}' --max-time 15 -X POST \
      -H 'Content-Type: application/json' --data-binary "$body" "$URL" 2>/dev/null)"
    if [ "$status" = 202 ]; then
      for j in 0 1 2 3 4 5 6 7 8 9; do echo "$RUN-$id$n-$j"; done >>"$T/acked.$id"
    fi
  done
}

# run_load SECONDS then STOP_ACTION: starts 4 loops, waits, applies the action
# to the collector while they run, then stops the loops.
run_load() {
  local secs="$1" action="$2" pids=() i
  rm -f "$T/stop-load" "$T"/acked.*
  for i in 1 2 3 4; do load_loop "$i" & pids+=($!); done
  sleep "$secs"
  eval "$action"
  touch "$T/stop-load"
  wait "${pids[@]}" 2>/dev/null
  cat "$T"/acked.* 2>/dev/null | sort -u >"$T/acked-$RUN"
}

# lost RUN: ids answered 202 in that run that are not on the topic.
lost() {
  dump analytics.events.raw raw | jq -r '.value.event_id' | grep "^$1-" | sort -u >"$T/seen-$1"
  comm -23 "$T/acked-$1" "$T/seen-$1" | wc -l
}

for mode in delivered queued; do
  RUN="term-$mode"
  start_collector "$RUN" ANALYTICS_COLLECTOR_ACK="$mode"
  run_load 3 'stop_process "$COLLECTOR_PID" 10'
  expect_eq "$mode: SIGTERM mid-load exits 0 within 10 s" 0 "$STOP_RC"
  check "$mode: the load got some 202s" test "$(wc -l <"$T/acked-$RUN")" -gt 100
  expect_eq "$mode: no event answered 202 lost on SIGTERM ($(wc -l <"$T/acked-$RUN") acked)" 0 "$(lost "$RUN")"
done

RUN="kill9-up"
start_collector "$RUN"
run_load 3 'kill -KILL "$COLLECTOR_PID"'
start_collector "$RUN"   # replays whatever the spool holds
sleep 2
expect_eq "delivered: kill -9 mid-load loses nothing answered 202 ($(wc -l <"$T/acked-$RUN") acked)" 0 "$(lost "$RUN")"
expect_clean_stop "restarted collector exits 0" "$COLLECTOR_PID" 10

RUN="kill9-down"
start_collector "$RUN" ANALYTICS_COLLECTOR_PRODUCE_TIMEOUT_MS=2000
kill -USR1 "$DEVBROKER_PID"
wait_for 15 log_has "$T/$RUN.log" kafka.brokers_down
run_load 3 'kill -KILL "$COLLECTOR_PID"'
check "the outage load got some 202s" test "$(wc -l <"$T/acked-$RUN")" -gt 100
kill -USR2 "$DEVBROKER_PID"
start_collector "$RUN" ANALYTICS_COLLECTOR_PRODUCE_TIMEOUT_MS=2000
check "spool replayed after kill -9" \
  wait_for 30 metric_is analytics_collector_spool_pending_events 0
expect_eq "delivered, broker down: kill -9 loses nothing answered 202 ($(wc -l <"$T/acked-$RUN") acked)" 0 "$(lost "$RUN")"
expect_clean_stop "collector exits 0" "$COLLECTOR_PID" 10
itest_finish
