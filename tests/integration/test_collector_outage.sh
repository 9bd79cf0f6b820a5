#!/usr/bin/env bash
# Broker down: events are answered 202 from the disk spool and arrive exactly
# once, in order, when the broker returns; the spool survives a restart of
# the collector; a full spool answers 503 with Retry-After.
source "$(dirname "$0")/lib.sh"
itest_init collector_outage

start_devbroker
start_collector c1 ANALYTICS_COLLECTOR_PRODUCE_TIMEOUT_MS=2000

post '{"event_type":"before","fingerprint":"fp-0"}'
expect_eq "event before the outage gets 202" 202 "$STATUS"

kill -USR1 "$DEVBROKER_PID"
check "collector notices the broker is down" wait_for 15 log_has "$T/c1.log" kafka.brokers_down
expect_eq "readyz says not ready while the broker is down" 503 \
  "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$ADMIN_PORT/readyz")"

codes=""
for i in $(seq 1 20); do
  post '{"events":[{"event_id":"out-'"$i"'-a","event_type":"during","fingerprint":"fp-same"},
                   {"event_id":"out-'"$i"'-b","event_type":"during","fingerprint":"fp-same"}]}'
  codes="$codes$STATUS "
done
expect_eq "20 batches during the outage all get 202" "$(printf '202 %.0s' $(seq 1 20))" "$codes"
spooled="$(metric analytics_collector_spool_pending_events)"
expect_eq "the 40 events wait in the spool" 40 "$spooled"

# Restart the collector while the broker is still down: the spool must survive.
expect_clean_stop "collector exits 0 while the broker is down" "$COLLECTOR_PID" 12
start_collector c1 ANALYTICS_COLLECTOR_PRODUCE_TIMEOUT_MS=2000
check "restarted collector finds the spooled events" wait_for 5 log_has "$T/c1.log" spool.pending_at_start

kill -USR2 "$DEVBROKER_PID"
check "spool drains once the broker is back" \
  wait_for 30 metric_is analytics_collector_spool_pending_events 0
check "collector returns to direct produce" wait_for 10 log_has "$T/c1.log" ingest.direct
post '{"event_type":"after","fingerprint":"fp-9"}'
expect_eq "event after the outage gets 202" 202 "$STATUS"

dump analytics.events.raw raw >"$T/raw.jsonl"
expect_eq "42 events on the topic" 42 "$(wc -l <"$T/raw.jsonl")"
expect_eq "each outage event exactly once" 40 \
  "$(jq -r 'select(.value.event_type=="during") | .value.event_id' "$T/raw.jsonl" | sort -u | wc -l)"
expected_order="$(for i in $(seq 1 20); do echo "out-$i-a"; echo "out-$i-b"; done)"
expect_eq "one visitor's outage events kept their order" "$expected_order" \
  "$(jq -r 'select(.key=="fp-same") | .value.event_id' "$T/raw.jsonl")"
expect_clean_stop "collector exits 0" "$COLLECTOR_PID" 12

# A full spool answers 503 with Retry-After and loses nothing it answered 202.
start_collector small ANALYTICS_COLLECTOR_SPOOL_MAX_MB=1 ANALYTICS_COLLECTOR_PRODUCE_TIMEOUT_MS=2000
kill -USR1 "$DEVBROKER_PID"
wait_for 15 log_has "$T/small.log" kafka.brokers_down
pad="$(head -c 1500 /dev/zero | tr '\0' p)"
batch="{\"events\":[$(for i in $(seq 1 100); do printf '{"event_type":"fill","fingerprint":"fp-fill","event_data":{"p":"%s"}},' "$pad"; done | sed 's/,$//')]}"
echo "$batch" >"$T/batch.json"
accepted=0
full=""
partial=""
for i in $(seq 1 20); do
  post "@$T/batch.json" -D "$T/full.headers"
  if [ "$STATUS" = 202 ]; then
    accepted=$((accepted + $(jq -r .accepted <<<"$BODY")))
    if jq -e '[.rejected[] | select(.retryable)] | length > 0' <<<"$BODY" >/dev/null; then
      partial=yes
    fi
  elif [ "$STATUS" = 503 ]; then
    full=yes
    break
  fi
done
expect_eq "a full spool answers 503" yes "$full"
check "503 carries Retry-After" grep -qi '^retry-after:' "$T/full.headers"
expect_eq "the batch that filled the spool got 202 with the rest marked retryable" yes "$partial"
kill -USR2 "$DEVBROKER_PID"
check "spool drains after the outage" \
  wait_for 30 metric_is analytics_collector_spool_pending_events 0
arrived="$(dump analytics.events.raw raw | jq -r 'select(.value.event_type=="fill")' | jq -s length)"
expect_eq "exactly the events answered as accepted arrived" "$accepted" "$arrived"
expect_clean_stop "collector exits 0" "$COLLECTOR_PID" 12
itest_finish
