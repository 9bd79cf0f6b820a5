#!/usr/bin/env bash
# The at-least-once group consumer of common/ (through analytics-dump
# --group): offsets are committed only for messages handled, so a consumer
# that stops early hands the rest to the next one, and nothing is skipped or
# handled twice across runs.
source "$(dirname "$0")/lib.sh"
itest_init consumer_group

start_devbroker
topic=analytics.events.enriched
for i in $(seq 1 10); do echo "k$i:v$i"; done | kcat -P -b "$BROKERS" -t "$topic" -K: 2>/dev/null

group() {
  "$BIN/analytics-dump" --brokers "$BROKERS" --topic "$topic" --type bytes --group itest "$@" \
    2>>"$T/group.log"
}

group --max 4 --timeout-ms 15000 >"$T/run1"
expect_eq "first member handles 4 and stops" 4 "$(wc -l <"$T/run1")"
group --timeout-ms 8000 >"$T/run2"
expect_eq "second member resumes after them: the other 6" 6 "$(wc -l <"$T/run2")"
expect_eq "together every message exactly once" 10 \
  "$(cat "$T/run1" "$T/run2" | jq -r '"\(.partition)/\(.offset)"' | sort -u | wc -l)"
for i in 11 12; do echo "k$i:v$i"; done | kcat -P -b "$BROKERS" -t "$topic" -K: 2>/dev/null
group --timeout-ms 8000 >"$T/run3"
expect_eq "a third member sees only the 2 new messages" 2 "$(wc -l <"$T/run3")"
check "partition assignment is logged" log_has "$T/group.log" kafka.partitions_assigned
itest_finish
