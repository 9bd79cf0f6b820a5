# Shared helpers for integration tests: real binaries, real servers, bounded
# waits, and a PASS/FAIL line per check. Source it, then call itest_init.
# shellcheck shell=bash

set -uo pipefail

BIN="${ANALYTICS_BIN_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build/bin}"
SRC="${ANALYTICS_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
ITEST_PASSED=0
ITEST_FAILED=0
ITEST_PIDS=()
ITEST_PG_DIRS=()

# itest_init NAME: makes $T (a private temp dir) and the cleanup trap.
itest_init() {
  local base="${ANALYTICS_TEST_TMP:-/tmp}"
  mkdir -p "$base"
  T="$(mktemp -d "$base/$1.XXXXXX")"
  export T
  trap itest_cleanup EXIT
}

itest_cleanup() {
  local pid dir
  for pid in "${ITEST_PIDS[@]}"; do
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  for dir in "${ITEST_PG_DIRS[@]}"; do
    pg_local_stop "$dir" || echo "could not stop the PostgreSQL of $dir"
  done
  if [ "$ITEST_FAILED" -eq 0 ] && [ -z "${ITEST_KEEP:-}" ]; then
    rm -rf "$T"
  else
    echo "logs kept in $T"
  fi
}

pass() { ITEST_PASSED=$((ITEST_PASSED + 1)); echo "PASS: $*"; }
fail() { ITEST_FAILED=$((ITEST_FAILED + 1)); echo "FAIL: $*"; }

# check DESCRIPTION COMMAND...: passes when the command succeeds.
check() {
  local what="$1"
  shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}

# expect_eq DESCRIPTION EXPECTED ACTUAL
expect_eq() {
  if [ "$2" == "$3" ]; then pass "$1"; else fail "$1 (expected '$2', got '$3')"; fi
}

# itest_finish: prints the totals and exits with the verdict.
itest_finish() {
  echo "$ITEST_PASSED passed, $ITEST_FAILED failed"
  [ "$ITEST_FAILED" -eq 0 ]
  exit $?
}

# wait_for SECONDS COMMAND...: polls every 0.1 s until the command succeeds.
wait_for() {
  local deadline=$((SECONDS + $1))
  shift
  while [ $SECONDS -lt $deadline ]; do
    if "$@" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  "$@" 2>/dev/null
}

# log_has FILE EVENT: the JSON log file has a line with that event name.
log_has() { grep -q "\"event\":\"$2\"" "$1"; }

# metric NAME: the value of an unlabelled metric on the collector's admin port.
metric() {
  curl -s --max-time 5 "http://127.0.0.1:$ADMIN_PORT/metrics" | awk -v n="$1" '$1 == n { print $2 }'
}

# metric_is NAME VALUE: for wait_for (arguments are expanded once, so poll
# through a function).
metric_is() { [ "$(metric "$1")" = "$2" ]; }

# http_status_is URL CODE
http_status_is() { [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$1")" = "$2" ]; }

# log_count_above FILE EVENT N: more than N lines with that event.
log_count_above() { [ "$(grep -c "\"event\":\"$2\"" "$1")" -gt "$3" ]; }

# log_field FILE EVENT FIELD: the field of the first line with that event.
log_field() { grep -m1 "\"event\":\"$2\"" "$1" | jq -r ".$3"; }

# start_devbroker [ARGS...]: starts the devbroker; sets BROKERS and DEVBROKER_PID.
start_devbroker() {
  rm -f "$T/bootstrap"
  "$BIN/analytics-devbroker" --bootstrap-file "$T/bootstrap" --partitions 3 "$@" \
    >"$T/devbroker.out" 2>"$T/devbroker.log" &
  DEVBROKER_PID=$!
  ITEST_PIDS+=("$DEVBROKER_PID")
  if ! wait_for 10 test -s "$T/bootstrap"; then
    echo "devbroker did not start"; cat "$T/devbroker.log"; exit 1
  fi
  BROKERS="$(cat "$T/bootstrap")"
  export BROKERS ANALYTICS_KAFKA_BROKERS="$BROKERS"
}

# start_collector NAME [VAR=VALUE...]: starts a collector with its own spool
# and log ($T/NAME.log); sets COLLECTOR_PID, PORT, ADMIN_PORT, URL.
start_collector() {
  local name="$1" started
  shift
  mkdir -p "$T/$name-spool"
  started="$(grep -c '"event":"collector.started"' "$T/$name.log" 2>/dev/null)"
  env ANALYTICS_KAFKA_BROKERS="$BROKERS" \
    ANALYTICS_COLLECTOR_LISTEN=127.0.0.1:0 \
    ANALYTICS_COLLECTOR_ADMIN_LISTEN=127.0.0.1:0 \
    ANALYTICS_COLLECTOR_SPOOL_DIR="$T/$name-spool" \
    ANALYTICS_COLLECTOR_RATE_LIMIT=0 \
    "$@" "$BIN/analytics-collector" 2>>"$T/$name.log" &
  COLLECTOR_PID=$!
  ITEST_PIDS+=("$COLLECTOR_PID")
  if ! wait_for 10 log_count_above "$T/$name.log" collector.started "${started:-0}"; then
    echo "collector did not start"; cat "$T/$name.log"; exit 1
  fi
  PORT="$(grep '"event":"collector.started"' "$T/$name.log" | tail -1 | jq -r .port)"
  ADMIN_PORT="$(grep '"event":"collector.started"' "$T/$name.log" | tail -1 | jq -r .admin_port)"
  URL="http://127.0.0.1:$PORT/api/analytics/events"
}

# post BODY [CURL ARGS...]: POSTs to $URL (Content-Type application/json
# unless the arguments set one); sets STATUS and BODY.
post() {
  local data="$1" ctype=(-H 'Content-Type: application/json') a
  shift
  for a in "$@"; do
    if [[ "${a,,}" == content-type:* ]]; then ctype=(); fi
  done
  BODY="$(curl -s -o - -w '\n%{http_code}' --max-time 15 -X POST "${ctype[@]}" "$@" \
    --data-binary "$data" "$URL")"
  STATUS="${BODY##*$'\n'}"
  BODY="${BODY%$'\n'*}"
}

# stop_process PID SECONDS: SIGTERM, then waits; sets STOP_RC to the exit
# code, or "timeout" after killing it. (Not in $(...): wait needs the parent.)
stop_process() {
  local pid="$1" limit="$2" i
  kill -TERM "$pid" 2>/dev/null
  for ((i = 0; i < limit * 10; i++)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      wait "$pid"
      STOP_RC=$?
      return 0
    fi
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  STOP_RC=timeout
}

# expect_clean_stop DESCRIPTION PID [SECONDS]: SIGTERM and expect exit 0 in time.
expect_clean_stop() {
  stop_process "$2" "${3:-10}"
  expect_eq "$1" 0 "$STOP_RC"
}

# dump TOPIC TYPE: prints every message of a topic as JSON lines.
dump() {
  "$BIN/analytics-dump" --brokers "$BROKERS" --topic "$1" --type "$2" --timeout-ms 10000
}

# topic_count TOPIC: messages in the topic per its watermarks.
topic_count() {
  "$BIN/analytics-dump" --brokers "$BROKERS" --topic "$1" --watermarks | jq -r .count
}

# ---- Redis ----

# redis_up PORT [REDIS-CLI ARGS...]: the server on PORT answers PING.
redis_up() {
  local port="$1"
  shift
  [ "$(redis-cli -h 127.0.0.1 -p "$port" "$@" ping 2>/dev/null)" = PONG ]
}

# start_redis NAME PORT [SERVER ARGS...]: starts a private redis-server on
# PORT (data in $T/NAME); sets REDIS_PID. Returns 1 when it did not come up
# (the port was taken, say).
start_redis() {
  local name="$1" port="$2"
  shift 2
  mkdir -p "$T/$name"
  local ready
  touch "$T/$name.log"
  ready="$(grep -c "Ready to accept connections" "$T/$name.log")"
  redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no --daemonize no \
    --dir "$T/$name" "$@" >>"$T/$name.log" 2>&1 &
  REDIS_PID=$!
  ITEST_PIDS+=("$REDIS_PID")
  local i
  for ((i = 0; i < 50; i++)); do
    if ! kill -0 "$REDIS_PID" 2>/dev/null; then return 1; fi
    if [ "$(grep -c "Ready to accept connections" "$T/$name.log")" -gt "${ready:-0}" ]; then
      return 0
    fi
    sleep 0.1
  done
  return 1
}

# start_redis_free NAME [SERVER ARGS...]: start_redis on a free random port;
# sets REDIS_PORT.
start_redis_free() {
  local name="$1" try
  shift
  for ((try = 0; try < 20; try++)); do
    REDIS_PORT="$(shuf -i 20000-60000 -n1)"
    if [ -n "$(ss -Htln "sport = :$REDIS_PORT")" ]; then continue; fi
    if start_redis "$name" "$REDIS_PORT" "$@"; then return 0; fi
    kill -KILL "$REDIS_PID" 2>/dev/null; wait "$REDIS_PID" 2>/dev/null
  done
  echo "no redis-server came up"; cat "$T/$name.log"; exit 1
}

# ---- enricher ----

# start_enricher NAME [VAR=VALUE...]: starts an enricher against $BROKERS
# and $REDIS_PORT, log in $T/NAME.log; sets ENRICHER_PID and ADMIN_PORT
# (its admin listener).
start_enricher() {
  local name="$1" started
  shift
  started="$(grep -c '"event":"enricher.started"' "$T/$name.log" 2>/dev/null)"
  env ANALYTICS_KAFKA_BROKERS="$BROKERS" \
    ANALYTICS_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0" \
    ANALYTICS_ENRICHER_ADMIN_LISTEN=127.0.0.1:0 \
    ANALYTICS_ENRICHER_GROUP_SESSION_TIMEOUT_MS=6000 \
    "$@" "$BIN/analytics-enricher" 2>>"$T/$name.log" &
  ENRICHER_PID=$!
  ITEST_PIDS+=("$ENRICHER_PID")
  if ! wait_for 15 log_count_above "$T/$name.log" enricher.started "${started:-0}"; then
    echo "enricher did not start"; cat "$T/$name.log"; exit 1
  fi
  ADMIN_PORT="$(grep '"event":"enricher.started"' "$T/$name.log" | tail -1 | jq -r .admin_port)"
}

# ---- journey-builder ----

# start_journey_builder NAME [VAR=VALUE...]: starts a journey-builder
# against $BROKERS (and ANALYTICS_PG_DSN from the environment), log
# appended to $T/NAME.log; sets JB_PID and JB_ADMIN (its admin port).
start_journey_builder() {
  local name="$1" started
  shift
  started="$(grep -c '"event":"journey.started"' "$T/$name.log" 2>/dev/null)"
  env ANALYTICS_KAFKA_BROKERS="$BROKERS" \
    ANALYTICS_JOURNEY_BUILDER_ADMIN_LISTEN=127.0.0.1:0 \
    ANALYTICS_JOURNEY_BUILDER_GROUP_SESSION_TIMEOUT_MS=6000 \
    "$@" "$BIN/analytics-journey-builder" 2>>"$T/$name.log" &
  JB_PID=$!
  ITEST_PIDS+=("$JB_PID")
  if ! wait_for 15 log_count_above "$T/$name.log" journey.started "${started:-0}"; then
    echo "journey-builder did not start"; cat "$T/$name.log"; exit 1
  fi
  JB_ADMIN="$(grep '"event":"journey.started"' "$T/$name.log" | tail -1 | jq -r .admin_port)"
}

# start_jb NAME [VAR=VALUE...]: start_journey_builder with sessions idle
# after 5 s, so a test sees its sessions closed within a short wait.
start_jb() {
  local name="$1"
  shift
  start_journey_builder "$name" ANALYTICS_JOURNEY_BUILDER_SESSION_IDLE_S=5 "$@"
}

# ---- scorer ----

# start_scorer NAME [VAR=VALUE...]: starts a scorer against $BROKERS,
# $PG_DSN and the Redis on $REDIS_PORT (a variable given overrides them),
# log appended to $T/NAME.log; sets SCORER_PID and SCORER_ADMIN.
start_scorer() {
  local name="$1" started
  shift
  started="$(grep -c '"event":"scorer.started"' "$T/$name.log" 2>/dev/null)"
  env ANALYTICS_KAFKA_BROKERS="$BROKERS" ANALYTICS_PG_DSN="${PG_DSN:-}" \
    ANALYTICS_REDIS_URL="redis://127.0.0.1:${REDIS_PORT:-6379}/0" \
    ANALYTICS_SCORER_ADMIN_LISTEN=127.0.0.1:0 ANALYTICS_SCORER_GROUP_SESSION_TIMEOUT_MS=6000 \
    "$@" "$BIN/analytics-scorer" 2>>"$T/$name.log" &
  SCORER_PID=$!
  ITEST_PIDS+=("$SCORER_PID")
  if ! wait_for 15 log_count_above "$T/$name.log" scorer.started "${started:-0}"; then
    echo "scorer $name did not start"; cat "$T/$name.log"; exit 1
  fi
  SCORER_ADMIN="$(grep '"event":"scorer.started"' "$T/$name.log" | tail -1 | jq -r .admin_port)"
}

# start_push_gateway NAME [VAR=value...]: starts analytics-push-gateway
# against $PG_DSN with the tokens in $GW_TOKENS (default: read token
# $GW_READ_TOKEN, admin token $GW_ADMIN_TOKEN), both listeners on free ports; logs in
# $T/NAME.log. Sets GW_PID, GW_PORT (public), GW_ADMIN (admin port).
GW_READ_TOKEN=read-token-0123456789
GW_ADMIN_TOKEN=admin-token-0123456789
start_push_gateway() {
  local name="$1" started
  shift
  started="$(grep -c '"event":"gateway.started"' "$T/$name.log" 2>/dev/null)"
  env ANALYTICS_KAFKA_BROKERS="${BROKERS:-127.0.0.1:1}" ANALYTICS_PG_DSN="${PG_DSN:-}" \
    ANALYTICS_API_TOKENS="${GW_TOKENS:-dash:read:$GW_READ_TOKEN,ops:admin:$GW_ADMIN_TOKEN}" \
    ANALYTICS_PUSH_GATEWAY_LISTEN=127.0.0.1:0 ANALYTICS_PUSH_GATEWAY_ADMIN_LISTEN=127.0.0.1:0 \
    ANALYTICS_PUSH_GATEWAY_THREADS=96 ANALYTICS_PUSH_GATEWAY_WS_MAX_CLIENTS=64 \
    "$@" "$BIN/analytics-push-gateway" 2>>"$T/$name.log" &
  GW_PID=$!
  ITEST_PIDS+=("$GW_PID")
  if ! wait_for 15 log_count_above "$T/$name.log" gateway.started "${started:-0}"; then
    echo "push-gateway $name did not start"; cat "$T/$name.log"; exit 1
  fi
  GW_PORT="$(grep '"event":"gateway.started"' "$T/$name.log" | tail -1 | jq -r .port)"
  GW_ADMIN="$(grep '"event":"gateway.started"' "$T/$name.log" | tail -1 | jq -r .admin_port)"
}

# ---- PostgreSQL ----

# shellcheck source=../../scripts/lib/pg.sh
source "$SRC/scripts/lib/pg.sh"

# start_postgres NAME: starts a private PostgreSQL (data in $T/NAME, unix
# socket in $T/NAME-sock, log in $T/NAME.log) on a free port, with a login
# role and a database both named analytics (not a superuser, like
# production). The cleanup trap stops it. Sets PG_PORT, PG_DATA, PG_DSN (as
# analytics) and PG_ADMIN_DSN (as the superuser postgres).
start_postgres() {
  local name="$1" try
  # The server runs as the postgres user when we are root: let it through $T.
  chmod 711 "$T"
  PG_DATA="$T/$name"
  if ! pg_local_init "$PG_DATA"; then
    cat "$PG_DATA.initdb.log" 2>/dev/null; exit 1
  fi
  ITEST_PG_DIRS+=("$PG_DATA")
  for ((try = 0; try < 20; try++)); do
    PG_PORT="$(shuf -i 20000-60000 -n1)"
    if [ -n "$(ss -Htln "sport = :$PG_PORT")" ]; then continue; fi
    if pg_local_start "$PG_DATA" "$PG_PORT" "$T/$name-sock" "$T/$name.log" \
      -c fsync=off -c synchronous_commit=off -c full_page_writes=off; then
      if ! pg_local_create_db "$PG_PORT" analytics analytics >>"$T/$name.log" 2>&1; then
        echo "cannot create the analytics role and database"; cat "$T/$name.log"; exit 1
      fi
      PG_DSN="postgresql://analytics@127.0.0.1:$PG_PORT/analytics"
      PG_ADMIN_DSN="postgresql://postgres@127.0.0.1:$PG_PORT/postgres"
      export PG_PORT PG_DATA PG_DSN PG_ADMIN_DSN
      return 0
    fi
  done
  echo "no PostgreSQL came up"; cat "$T/$name.log"; exit 1
}

# start_postgres_migrated NAME: start_postgres, then the schema applied by
# analytics-migrate (log in $T/migrate.log), with ANALYTICS_PG_DSN exported
# for the daemons started after it.
start_postgres_migrated() {
  start_postgres "$1"
  export ANALYTICS_PG_DSN="$PG_DSN"
  "$BIN/analytics-migrate" >"$T/migrate.log" 2>&1 || { cat "$T/migrate.log"; exit 1; }
}
