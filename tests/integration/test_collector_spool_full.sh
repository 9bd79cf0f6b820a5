#!/usr/bin/env bash
# The spool's disk fills up (a private 2 MiB tmpfs under the spool) while the
# broker is down: appends that hit ENOSPC are answered as a full spool (503
# with Retry-After; the batch that filled it gets 202 with the rest marked
# retryable), a restart on the full disk keeps everything, the broker's
# return delivers every event answered 202 exactly once, drained segments are
# deleted so the disk empties, a second restart replays nothing again, and
# the collector spools again by itself once space has returned.
source "$(dirname "$0")/lib.sh"
itest_init collector_spool_full

SPOOL="$T/full-spool" # start_collector full uses $T/full-spool
mkdir -p "$SPOOL"
if ! mount -t tmpfs -o size=2m,mode=0750 analytics-test-spool "$SPOOL" 2>"$T/mount.err"; then
  echo "SKIP: cannot mount a tmpfs for the spool ($(cat "$T/mount.err")): this test needs root"
  echo "(or CAP_SYS_ADMIN) to make a small full disk; nothing was tested"
  exit 0
fi

# Processes first (they hold files on the tmpfs), then the mount, then $T.
spool_full_cleanup() {
  local pid
  for pid in "${ITEST_PIDS[@]}"; do
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  umount "$SPOOL" 2>/dev/null || umount -l "$SPOOL" || echo "could not unmount $SPOOL"
  itest_cleanup
}
trap spool_full_cleanup EXIT

# Bytes held by segment files, and KiB the tmpfs has in use.
segment_bytes() { find "$SPOOL" -name 'seg-*.spool' -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }'; }
disk_used_kb() { df -k --output=used "$SPOOL" | tail -1 | tr -d ' '; }
disk_nearly_empty() { [ "$(disk_used_kb)" -lt 64 ] && [ "$(segment_bytes)" -eq 0 ]; }
log_count() { grep -c "\"event\":\"$2\"" "$1"; }

start_devbroker
start_collector full ANALYTICS_COLLECTOR_PRODUCE_TIMEOUT_MS=2000
kill -USR1 "$DEVBROKER_PID"
check "collector notices the broker is down" wait_for 15 log_has "$T/full.log" kafka.brokers_down

# Batches of 100 events of about 1.7 KB: the 2 MiB disk fills in the 12th or so.
pad="$(head -c 1500 /dev/zero | tr '\0' p)"
make_batch() {
  local b="$1" i sep=""
  printf '{"events":['
  for i in $(seq 1 100); do
    printf '%s{"event_id":"sf-%s-%s","event_type":"fill","fingerprint":"fp-%s","event_data":{"p":"%s"}}' \
      "$sep" "$b" "$i" "$((i % 7))" "$pad"
    sep=","
  done
  printf ']}'
}
: >"$T/accepted.txt"
full=""
partial=""
for b in $(seq 1 40); do
  make_batch "$b" >"$T/batch.json"
  post "@$T/batch.json" -D "$T/full.headers"
  if [ "$STATUS" = 202 ]; then
    # Accepted: every index not listed as rejected.
    jq -r --arg b "$b" '[.rejected[].index] as $r | range(0; 100) | select(. as $i | $r | index($i) | not)
                        | "sf-\($b)-\(. + 1)"' <<<"$BODY" >>"$T/accepted.txt"
    if jq -e '[.rejected[] | select(.retryable)] | length > 0' <<<"$BODY" >/dev/null; then
      partial=yes
    fi
  elif [ "$STATUS" = 503 ]; then
    full=yes
    cp "$T/full.headers" "$T/503.headers"
    echo "$BODY" >"$T/503.body"
    break
  else
    echo "unexpected answer $STATUS: $BODY"
    break
  fi
done
accepted="$(wc -l <"$T/accepted.txt")"
echo "accepted $accepted events before the disk was full; tmpfs used $(disk_used_kb) KiB"
check "some events were accepted before the disk filled" test "$accepted" -gt 500
expect_eq "a full disk answers 503" yes "$full"
check "the 503 carries Retry-After" grep -qi '^retry-after:' "$T/503.headers"
check "the 503 says the spool is full" grep -q 'spool full' "$T/503.body"
expect_eq "the batch that filled the disk got 202 with the rest marked retryable" yes "$partial"
check "the spool logged the full disk" log_has "$T/full.log" spool.disk_full
expect_eq "a full disk is no write error" 0 "$(log_count "$T/full.log" spool.write_failed)"
# The same batch again: its first event did not fit and still does not.
make_batch late >"$T/late.json"
post "@$T/late.json"
expect_eq "still full: 503" 503 "$STATUS"

# Restart on the full disk, broker still down.
expect_clean_stop "collector exits 0 on a full disk" "$COLLECTOR_PID" 12
start_collector full ANALYTICS_COLLECTOR_PRODUCE_TIMEOUT_MS=2000
check "restarted collector finds the spooled events" \
  wait_for 5 log_has "$T/full.log" spool.pending_at_start
expect_eq "every accepted event is still pending" "$accepted" \
  "$(metric analytics_collector_spool_pending_events)"
post "@$T/late.json"
expect_eq "after the restart, still full: 503" 503 "$STATUS"

kill -USR2 "$DEVBROKER_PID"
check "spool drains once the broker is back" \
  wait_for 30 metric_is analytics_collector_spool_pending_events 0
check "drained segments are deleted: the disk is empty again" wait_for 10 disk_nearly_empty
echo "after the drain: segment bytes $(segment_bytes), tmpfs used $(disk_used_kb) KiB"
check "the spool logged that space returned" log_has "$T/full.log" spool.disk_space_returned
check "collector returns to direct produce" wait_for 10 log_has "$T/full.log" ingest.direct
post '{"event_type":"after","fingerprint":"fp-9","event_id":"sf-after"}'
expect_eq "event after the outage gets 202" 202 "$STATUS"
echo sf-after >>"$T/accepted.txt"

# A restart after the drain must not replay what was delivered.
expect_clean_stop "collector exits 0 after the drain" "$COLLECTOR_PID" 12
pending_logs="$(log_count "$T/full.log" spool.pending_at_start)"
start_collector full ANALYTICS_COLLECTOR_PRODUCE_TIMEOUT_MS=2000
sleep 1
expect_eq "nothing pending after a restart" 0 "$(metric analytics_collector_spool_pending_events)"
expect_eq "no replay at start" "$pending_logs" "$(log_count "$T/full.log" spool.pending_at_start)"

# Space has returned: a second outage spools again.
downs="$(log_count "$T/full.log" kafka.brokers_down)"
kill -USR1 "$DEVBROKER_PID"
check "collector notices the second outage" \
  wait_for 15 log_count_above "$T/full.log" kafka.brokers_down "$downs"
make_batch again >"$T/batch.json"
post "@$T/batch.json"
expect_eq "the second outage's batch is taken whole" "202 100" "$STATUS $(jq -r .accepted <<<"$BODY")"
seq 1 100 | sed 's/^/sf-again-/' >>"$T/accepted.txt"
kill -USR2 "$DEVBROKER_PID"
check "the second outage drains" wait_for 30 metric_is analytics_collector_spool_pending_events 0

dump analytics.events.raw raw | jq -r '.value.event_id' >"$T/topic.txt"
sort -u "$T/topic.txt" >"$T/topic-unique.txt"
expect_eq "every event answered 202 is on the topic" "" \
  "$(sort -u "$T/accepted.txt" | comm -23 - "$T/topic-unique.txt" | head -5)"
expect_eq "no duplicates on the topic (a restart replays nothing delivered)" 0 \
  "$(($(wc -l <"$T/topic.txt") - $(wc -l <"$T/topic-unique.txt")))"
expect_eq "no event answered 503 is on the topic" 0 "$(grep -c '^sf-late-' "$T/topic.txt")"
expect_clean_stop "collector exits 0" "$COLLECTOR_PID" 12
itest_finish
