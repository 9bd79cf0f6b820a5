#!/usr/bin/env bash
# common/'s Redis client through analytics-redis-check against private
# redis-servers: SET NX / TTL / GET / SET PX / DEL / pipelined SET NX, bad
# URLs, AUTH, and reconnect with backoff while the server restarts.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
itest_init test_redis

CHECK="$BIN/analytics-redis-check"
if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
  echo "redis-server/redis-cli not installed"; exit 1
fi

# rc ARGS...: runs the check tool with $URL; output in $OUT, exit code in $RC.
rc() {
  OUT="$(ANALYTICS_REDIS_URL="$URL" "$CHECK" "$@" 2>>"$T/check.log")"
  RC=$?
}

start_redis_free main
PORT1="$REDIS_PORT"
PID1="$REDIS_PID"
URL="redis://127.0.0.1:$PORT1/3"

# SET NX: new, then existing; the key lands in db 3.
rc setnx dedup:a 1 60000
expect_eq "setnx new key -> 1" 1 "$(jq -r .result <<<"$OUT")"
rc setnx dedup:a 1 60000
expect_eq "setnx existing key -> 0" 0 "$(jq -r .result <<<"$OUT")"
expect_eq "key is in db 3" 1 "$(redis-cli -p "$PORT1" -n 3 exists dedup:a)"
expect_eq "db 0 untouched" 0 "$(redis-cli -p "$PORT1" -n 0 exists dedup:a)"

# TTL: the key expires.
rc setnx dedup:ttl 1 200
expect_eq "setnx with 200 ms ttl -> 1" 1 "$(jq -r .result <<<"$OUT")"
rc setnx dedup:ttl 1 200
expect_eq "setnx before expiry -> 0" 0 "$(jq -r .result <<<"$OUT")"
sleep 0.4
rc setnx dedup:ttl 1 200
expect_eq "setnx after expiry -> 1" 1 "$(jq -r .result <<<"$OUT")"

# GET / SET PX / DEL round trip.
rc get sess:v1
expect_eq "get missing -> found false" false "$(jq -r .found <<<"$OUT")"
rc setpx sess:v1 '{"sid":"abc","n":3}' 60000
expect_eq "setpx ok" "0 true" "$RC $(jq -r .ok <<<"$OUT")"
ttl="$(redis-cli -p "$PORT1" -n 3 pttl sess:v1)"
check "setpx set a ttl ($ttl ms)" test "$ttl" -gt 50000 -a "$ttl" -le 60000
rc get sess:v1
expect_eq "get finds the value" '{"sid":"abc","n":3}' "$(jq -r .value <<<"$OUT")"
rc del sess:v1
expect_eq "del existing -> 1" 1 "$(jq -r .result <<<"$OUT")"
rc del sess:v1
expect_eq "del missing -> 0" 0 "$(jq -r .result <<<"$OUT")"
rc get sess:v1
expect_eq "get after del -> found false" false "$(jq -r .found <<<"$OUT")"

# A value longer than the caller's buffer is an error, logged once.
rc setpx sess:big "$(head -c 2000 /dev/zero | tr '\0' x)" 60000
rc get sess:big
expect_eq "get too long value -> exit 1" 1 "$RC"
check "too long value says why" grep -q "does not fit" <<<"$OUT"
check "too long value logged" log_has "$T/check.log" redis.value_too_long

# Pipelined SET NX: existing and new keys mixed.
rc setnx dedup:m2 1 60000
rc setnx-many 60000 dedup:m1 dedup:m2 dedup:m3 dedup:a dedup:m1
expect_eq "setnx-many results" "[1,0,1,0,0]" "$(jq -c .results <<<"$OUT")"

# Pipelined SET PX and GET, values with spaces kept whole.
rc setpx-many 60000 state:a "S1 one" state:b "two words"
expect_eq "setpx-many results" "[0,0]" "$(jq -c .results <<<"$OUT")"
rc get-many state:a state:missing state:b
expect_eq "get-many values" '["S1 one",null,"two words"]' "$(jq -c .values <<<"$OUT")"

# A hash with its fields and a TTL (the scorer's hot profile); a second
# write adds and overwrites fields; a key of another type is refused.
rc hsetpx 60000 profile:fp1 lead_score 72 persona "price comparer"
expect_eq "hsetpx result" "[0]" "$(jq -c .results <<<"$OUT")"
rc hsetpx 60000 profile:fp1 lead_score 80 stage consideration
expect_eq "hash fields after two writes" "lead_score 80 persona price comparer stage consideration" \
  "$(redis-cli -p "$PORT1" -n 3 hgetall profile:fp1 | paste -sd' ')"
ttl="$(redis-cli -p "$PORT1" -n 3 pttl profile:fp1)"
check "the hash has its TTL" test "$ttl" -gt 50000 -a "$ttl" -le 60000
rc hsetpx 60000 state:a f v
expect_eq "hsetpx on a string key is refused per key" "[-2]" "$(jq -c .results <<<"$OUT")"

# Pipelined raise-to-max: a missing key is set, a lower value raised, a
# higher one kept.
rc setmax-many wm:a 10 wm:b 5
expect_eq "setmax-many on missing keys" "[1,1]" "$(jq -c .results <<<"$OUT")"
rc setmax-many wm:a 7 wm:b 9
expect_eq "setmax-many keeps the higher value" "[0,1]" "$(jq -c .results <<<"$OUT")"
expect_eq "values after setmax-many" "10 9" "$(redis-cli -p "$PORT1" -n 3 get wm:a) $(redis-cli -p "$PORT1" -n 3 get wm:b)"

# Bad URLs and arguments: a clear message, no connection attempt.
OUT="$(ANALYTICS_REDIS_URL=http://127.0.0.1:$PORT1 "$CHECK" ready 2>&1)"
RC=$?
expect_eq "bad scheme -> exit 1" 1 "$RC"
check "bad scheme message" grep -q "must start with redis://" <<<"$OUT"
OUT="$(ANALYTICS_REDIS_URL=redis://127.0.0.1:99999/0 "$CHECK" ready 2>&1)"
check "bad port message" grep -q "bad port '99999'" <<<"$OUT"
OUT="$(ANALYTICS_REDIS_URL=redis://127.0.0.1:$PORT1/x "$CHECK" ready 2>&1)"
check "bad db message" grep -q "bad database 'x'" <<<"$OUT"
"$CHECK" setnx only-key >/dev/null 2>&1
expect_eq "missing arguments -> exit 64" 64 "$?"
"$CHECK" setnx k v -5 >/dev/null 2>&1
expect_eq "bad ttl -> exit 64" 64 "$?"

# AUTH: a second server with a password.
start_redis_free auth --requirepass 's3cr%t'
PORT2="$REDIS_PORT"
OUT="$(ANALYTICS_REDIS_URL="redis://:s3cr%25t@127.0.0.1:$PORT2/0" "$CHECK" ready 2>&1)"
expect_eq "right (escaped) password -> ready" 0 "$?"
OUT="$(ANALYTICS_REDIS_URL="redis://:wrongpw@127.0.0.1:$PORT2/0" "$CHECK" ready 2>&1)"
RC=$?
expect_eq "wrong password -> exit 1" 1 "$RC"
check "wrong password message ($OUT)" grep -q "AUTH rejected" <<<"$OUT"
if grep -q wrongpw <<<"$OUT"; then fail "password echoed"; else pass "password not echoed"; fi
OUT="$(ANALYTICS_REDIS_URL="redis://127.0.0.1:$PORT2/0" "$CHECK" ready 2>&1)"
expect_eq "no password -> exit 1" 1 "$?"
check "no password message ($OUT)" grep -q "NOAUTH" <<<"$OUT"

# Redis down and back: one long-running client sees errors, then reconnects.
ANALYTICS_REDIS_URL="$URL" "$CHECK" loop 7 >"$T/loop.out" 2>"$T/loop.log" &
LOOP_PID=$!
ITEST_PIDS+=("$LOOP_PID")
sleep 1
stop_process "$PID1" 5
expect_eq "redis stopped" 0 "$STOP_RC"
rc ready
expect_eq "ready while down -> exit 1" "1 false" "$RC $(jq -r .ready <<<"$OUT")"
check "ready says why" grep -q "Connection refused" <<<"$OUT"
sleep 1.5
check "redis restarted on the same port" start_redis main "$PORT1"
rc ready
expect_eq "ready after restart" "0 true" "$RC $(jq -r .ready <<<"$OUT")"
wait "$LOOP_PID"
expect_eq "loop exits 0" 0 "$?"
cat "$T/loop.out"
check "loop had successes before the outage" test "$(jq .ok "$T/loop.out")" -gt "$(jq .ok_after_err "$T/loop.out")"
check "loop saw errors while down" test "$(jq .err "$T/loop.out")" -gt 0
check "loop succeeded again after restart" test "$(jq .ok_after_err "$T/loop.out")" -gt 10
expect_eq "no fresh key reported as duplicate" 0 "$(jq .dup "$T/loop.out")"
expect_eq "redis.disconnected logged once" 1 "$(grep -c '"event":"redis.disconnected"' "$T/loop.log")"
expect_eq "redis.connected logged at start and after restart" 2 \
  "$(grep -c '"event":"redis.connected"' "$T/loop.log")"

itest_finish
