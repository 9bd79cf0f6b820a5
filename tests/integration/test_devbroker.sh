#!/usr/bin/env bash
# Integration test: analytics-devbroker (librdkafka mock cluster) and
# analytics-dump against it, driven with kcat.
#
# Env: ANALYTICS_BIN_DIR (build/bin), ANALYTICS_TEST_TMP (scratch space).
# Needs kcat and jq. Every wait is bounded; leftover processes are killed on
# exit. Prints PASS/FAIL per check and exits non-zero on any failure.
set -u

BIN=${ANALYTICS_BIN_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/build/bin}
DEVBROKER=$BIN/analytics-devbroker
DUMP=$BIN/analytics-dump
mkdir -p "${ANALYTICS_TEST_TMP:-/tmp}"
WORK=$(mktemp -d "${ANALYTICS_TEST_TMP:-/tmp}/test_devbroker.XXXXXX")
BROKER_PID=
FOLLOW_PID=
passed=0
failed=0

cleanup() {
    if [ -n "$FOLLOW_PID" ]; then
        kill -KILL "$FOLLOW_PID" 2>/dev/null
    fi
    if [ -n "$BROKER_PID" ] && kill -0 "$BROKER_PID" 2>/dev/null; then
        kill -KILL "$BROKER_PID" 2>/dev/null
        wait "$BROKER_PID" 2>/dev/null
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

pass() {
    echo "PASS: $1"
    passed=$((passed + 1))
}

fail() {
    echo "FAIL: $1"
    failed=$((failed + 1))
}

# check NAME COMMAND...: PASS when the command succeeds.
check() {
    local name=$1
    shift
    if "$@"; then pass "$name"; else fail "$name"; fi
}

# wait_for SECONDS COMMAND...: retries every 0.1 s until it succeeds.
wait_for() {
    local deadline=$((SECONDS + $1))
    shift
    while [ "$SECONDS" -lt "$deadline" ]; do
        "$@" && return 0
        sleep 0.1
    done
    "$@"
}

# wait_exit PID SECONDS: waits for PID (a child of this shell) to end and
# sets EXIT_RC to its exit code, or to "timeout".
wait_exit() {
    local pid=$1 deadline=$((SECONDS + $2))
    while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do
        sleep 0.05
    done
    if kill -0 "$pid" 2>/dev/null; then
        EXIT_RC=timeout
    else
        wait "$pid"
        EXIT_RC=$?
    fi
}

log_has() { grep -q "\"event\":\"$1\"" "$WORK/devbroker.log"; }

for tool in kcat jq timeout; do
    if ! command -v "$tool" >/dev/null; then
        echo "FAIL: $tool is not installed (scripts/setup installs it)"
        exit 1
    fi
done
for bin in "$DEVBROKER" "$DUMP"; do
    if [ ! -x "$bin" ]; then
        echo "FAIL: $bin is not built"
        exit 1
    fi
done

# ---- command line ----
"$DEVBROKER" --help >"$WORK/help.txt" 2>&1
check "devbroker --help exits 0 and mentions in-memory" \
    grep -q "In memory and bounded" "$WORK/help.txt"
"$DEVBROKER" --brokers nine >/dev/null 2>&1
check "devbroker bad --brokers exits 64" test $? -eq 64
"$DUMP" --topic x --type nonsense >/dev/null 2>&1
check "dump bad --type exits 64" test $? -eq 64
"$DUMP" --type bytes >/dev/null 2>&1
check "dump without --topic exits 64" test $? -eq 64

# ---- start ----
BOOT_FILE=$WORK/bootstrap
"$DEVBROKER" --bootstrap-file "$BOOT_FILE" --partitions 3 --topics extra.one,extra.two \
    >"$WORK/devbroker.out" 2>"$WORK/devbroker.log" &
BROKER_PID=$!
if ! wait_for 10 test -s "$BOOT_FILE"; then
    fail "bootstrap file written within 10 s"
    cat "$WORK/devbroker.log"
    echo "$passed passed, $failed failed"
    exit 1
fi
pass "bootstrap file written within 10 s"
B=$(cat "$BOOT_FILE")
check "bootstrap looks like host:port list" grep -Eq '^127\.0\.0\.1:[0-9]+(,127\.0\.0\.1:[0-9]+)*$' "$BOOT_FILE"
wait_for 5 test -s "$WORK/devbroker.out"
check "bootstrap printed on stdout" test "$(head -n1 "$WORK/devbroker.out")" = "$B"
wait_for 5 log_has devbroker.ready
check "devbroker.ready logged with the bootstrap" \
    grep -q "\"event\":\"devbroker.ready\".*\"bootstrap\":\"$B\"" "$WORK/devbroker.log"
check "no temporary file left next to the bootstrap file" \
    test "$(find "$WORK" -name 'bootstrap.tmp.*' | wc -l)" -eq 0

timeout 10 kcat -L -b "$B" -m 5 >"$WORK/meta.txt" 2>&1
for t in events.raw events.enriched scores journeys triggers privacy deadletter; do
    check "topic analytics.$t exists with 3 partitions" \
        grep -q "topic \"analytics.$t\" with 3 partitions" "$WORK/meta.txt"
done
check "extra topics created" grep -q 'topic "extra.two" with 3 partitions' "$WORK/meta.txt"

# ---- empty topic ----
start=$SECONDS
timeout 15 "$DUMP" --brokers "$B" --topic analytics.events.raw --type bytes >"$WORK/empty.jsonl" 2>"$WORK/empty.err"
rc=$?
check "dump of an empty topic exits 0" test $rc -eq 0
check "dump of an empty topic prints nothing" test ! -s "$WORK/empty.jsonl"
check "dump of an empty topic ends within 3 s" test $((SECONDS - start)) -le 3

# ---- produce and read back ----
printf 'alpha\nbeta\ngamma\n' | timeout 15 kcat -P -b "$B" -t analytics.events.raw -k visitor-1
rc1=$?
printf 'delta\nepsilon\n' | timeout 15 kcat -P -b "$B" -t analytics.events.raw -k visitor-2
rc2=$?
check "kcat produced 5 messages" test "$rc1$rc2" = 00

timeout 15 "$DUMP" --brokers "$B" --topic analytics.events.raw --type bytes >"$WORK/dump.jsonl" 2>"$WORK/dump.err"
rc=$?
check "dump --type bytes exits 0" test $rc -eq 0
check "dump prints 5 lines" test "$(wc -l <"$WORK/dump.jsonl")" -eq 5
check "every line is JSON with topic, partition, offset, key, value" \
    test "$(jq -c 'select(.topic == "analytics.events.raw" and (.partition|type) == "number"
        and (.offset|type) == "number" and (.key|type) == "string" and (.value|type) == "string")' \
        "$WORK/dump.jsonl" | wc -l)" -eq 5
check "values decode back to what was produced" \
    test "$(jq -r '.value | @base64d' "$WORK/dump.jsonl" | sort | tr '\n' ' ')" = \
    "alpha beta delta epsilon gamma "
check "visitor-1 keeps its order on one partition" \
    test "$(jq -r 'select(.key == "visitor-1") | "\(.partition) \(.value | @base64d)"' \
        "$WORK/dump.jsonl" | awk '{print $2}' | tr '\n' ' ')" = "alpha beta gamma "
check "dump --hex prints hex" \
    test "$(timeout 15 "$DUMP" --brokers "$B" --topic analytics.events.raw --type bytes --hex |
        jq -r 'select(.key == "visitor-2") | .value' | head -n1)" = "64656c7461"

timeout 15 "$DUMP" --brokers "$B" --topic analytics.events.raw --watermarks >"$WORK/wm.json" 2>&1
rc=$?
check "dump --watermarks exits 0" test $rc -eq 0
check "watermarks: 3 partitions, high_total 5, count 5" \
    test "$(jq -c '[(.partitions|length), .high_total, .count]' "$WORK/wm.json")" = "[3,5,5]"

timeout 15 "$DUMP" --brokers "$B" --topic analytics.events.raw --type bytes --count >"$WORK/count.json" 2>&1
check "dump --count: count 5, consumed 5" \
    test "$(jq -c '[.count, .consumed]' "$WORK/count.json")" = "[5,5]"

# A RawEvent made by hand (field 2 event_id "e1", field 5 fingerprint "fp1",
# field 8 client_ts_ms 1000), and a value that is no RawEvent at all.
printf '\022\002e1\052\003fp1\100\350\007' >"$WORK/raw.bin"
timeout 15 kcat -P -b "$B" -t analytics.events.raw -k fp1 "$WORK/raw.bin"
printf '\377\377\377' >"$WORK/garbage.bin"
timeout 15 kcat -P -b "$B" -t analytics.events.raw -k visitor-3 "$WORK/garbage.bin"
timeout 15 "$DUMP" --brokers "$B" --topic analytics.events.raw >"$WORK/typed.jsonl" 2>&1
rc=$?
check "dump --type raw (from the topic name) exits 0 over undecodable values" test $rc -eq 0
check "RawEvent decoded to JSON with .proto field names" \
    test "$(jq -c 'select(.key == "fp1") | .value | [.event_id, .fingerprint, .client_ts_ms,
        .schema_version, .user_id]' "$WORK/typed.jsonl")" = '["e1","fp1",1000,0,""]'
check "undecodable value reported as such with its length" \
    test "$(jq -c 'select(.key == "visitor-3") | [.error, .bytes_len]' "$WORK/typed.jsonl")" = \
    '["undecodable",3]'
check "dump prints all 7 lines" test "$(wc -l <"$WORK/typed.jsonl")" -eq 7

# ---- brokers down ----
kill -USR1 "$BROKER_PID"
check "SIGUSR1 logs devbroker.down" wait_for 5 log_has devbroker.down
timeout 10 kcat -L -b "$B" -m 2 >/dev/null 2>&1
check "kcat -L fails while the brokers are down" test $? -ne 0
start=$SECONDS
timeout 15 "$DUMP" --brokers "$B" --topic analytics.events.raw --watermarks --timeout-ms 1500 \
    >/dev/null 2>"$WORK/down.err"
rc=$?
check "dump exits 1 when the broker is unreachable" test $rc -eq 1
check "dump gives up within its timeout" test $((SECONDS - start)) -le 4
check "dump logs dump.broker_unreachable" grep -q '"event":"dump.broker_unreachable"' "$WORK/down.err"

# ---- brokers up again: same ports, same data ----
kill -USR2 "$BROKER_PID"
check "SIGUSR2 logs devbroker.up" wait_for 5 log_has devbroker.up
check "kcat -L works again on the same bootstrap" \
    wait_for 10 eval "timeout 5 kcat -L -b '$B' -m 2 >/dev/null 2>&1"
timeout 15 "$DUMP" --brokers "$B" --topic analytics.events.raw --type bytes >"$WORK/after.jsonl" 2>&1
check "the 7 messages survived down/up" test "$(wc -l <"$WORK/after.jsonl")" -eq 7
printf 'zeta\n' | timeout 15 kcat -P -b "$B" -t analytics.events.raw -k visitor-1
check "producing works after up" test $? -eq 0
check "watermarks count 8 after up" \
    test "$(timeout 15 "$DUMP" --brokers "$B" --topic analytics.events.raw --watermarks | jq .count)" = 8

# ---- follow ----
"$DUMP" --brokers "$B" --topic analytics.scores --type bytes --follow \
    >"$WORK/follow.jsonl" 2>"$WORK/follow.err" &
FOLLOW_PID=$!
sleep 0.5
printf 'live\n' | timeout 15 kcat -P -b "$B" -t analytics.scores -k visitor-9
check "dump --follow prints a message produced after it started" \
    wait_for 10 grep -q '"key":"visitor-9"' "$WORK/follow.jsonl"
kill -TERM "$FOLLOW_PID"
wait_exit "$FOLLOW_PID" 5
check "dump --follow: SIGTERM exits 0 (got $EXIT_RC)" test "$EXIT_RC" = 0
[ "$EXIT_RC" = timeout ] && kill -KILL "$FOLLOW_PID" 2>/dev/null

# ---- shutdown ----
kill -TERM "$BROKER_PID"
wait_exit "$BROKER_PID" 5
check "SIGTERM: exit 0 within 5 s (got $EXIT_RC)" test "$EXIT_RC" = 0
BROKER_PID=
check "shutdown.complete logged" log_has shutdown.complete
check "bootstrap file removed at exit" test ! -e "$BOOT_FILE"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
