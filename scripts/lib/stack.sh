# shellcheck shell=bash
# Private servers for the scripts that run the pipeline outside the tests
# (benchmarks, model training): a devbroker, a redis-server and a migrated
# PostgreSQL, each on a free port, with data and logs under $STACK_TMP. The
# caller sets STACK_TMP and BIN, adds the PIDs in STACK_PIDS to its cleanup,
# and calls stack_stop_pg at the end. Sourced, not run.

# shellcheck source=pg.sh
source "$(dirname "${BASH_SOURCE[0]}")/pg.sh"

STACK_PIDS=()
STACK_PG_DATA=""

# A free TCP port on 127.0.0.1, or nothing after 20 tries.
stack_free_port() {
  local p
  for _ in $(seq 20); do
    p=$(shuf -i 20000-60000 -n1)
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && continue
    echo "$p"
    return 0
  done
  return 1
}

# stack_devbroker PARTITIONS: sets BROKERS and ANALYTICS_KAFKA_BROKERS.
stack_devbroker() {
  "$BIN/analytics-devbroker" --partitions "$1" --bootstrap-file "$STACK_TMP/bootstrap" \
    >/dev/null 2>"$STACK_TMP/devbroker.log" &
  STACK_PIDS+=("$!")
  for _ in $(seq 200); do [ -s "$STACK_TMP/bootstrap" ] && break; sleep 0.05; done
  [ -s "$STACK_TMP/bootstrap" ] || { echo "devbroker did not start" >&2; return 1; }
  BROKERS=$(cat "$STACK_TMP/bootstrap")
  export BROKERS ANALYTICS_KAFKA_BROKERS=$BROKERS
}

# stack_redis: sets REDIS_PORT and ANALYTICS_REDIS_URL.
stack_redis() {
  local p
  for _ in $(seq 5); do
    p=$(stack_free_port) || break
    redis-server --bind 127.0.0.1 --port "$p" --save '' --appendonly no --dir "$STACK_TMP" \
      >"$STACK_TMP/redis.log" 2>&1 &
    STACK_PIDS+=("$!")
    for _ in $(seq 50); do
      if [ "$(redis-cli -p "$p" ping 2>/dev/null)" = PONG ]; then
        REDIS_PORT=$p
        export REDIS_PORT ANALYTICS_REDIS_URL="redis://127.0.0.1:$p/0"
        return 0
      fi
      sleep 0.1
    done
  done
  echo "redis-server did not start" >&2
  return 1
}

# stack_pg [SERVER OPTIONS...]: a private cluster with the analytics role and
# database, migrated; sets PG_PORT and ANALYTICS_PG_DSN.
stack_pg() {
  local p
  STACK_PG_DATA=$STACK_TMP/pg
  chmod 711 "$STACK_TMP"
  pg_local_init "$STACK_PG_DATA" || return 1
  for _ in $(seq 5); do
    p=$(stack_free_port) || break
    if pg_local_start "$STACK_PG_DATA" "$p" "$STACK_TMP/pg-sock" "$STACK_TMP/pg.log" "$@"; then
      PG_PORT=$p
      pg_local_create_db "$PG_PORT" analytics analytics >/dev/null || return 1
      export PG_PORT ANALYTICS_PG_DSN="postgresql://analytics@127.0.0.1:$PG_PORT/analytics"
      "$BIN/analytics-migrate" >"$STACK_TMP/migrate.log" 2>&1 ||
        { cat "$STACK_TMP/migrate.log" >&2; return 1; }
      return 0
    fi
  done
  echo "PostgreSQL did not start" >&2
  cat "$STACK_TMP/pg.log" >&2
  return 1
}

stack_stop_pg() {
  [ -z "$STACK_PG_DATA" ] || pg_local_stop "$STACK_PG_DATA"
  STACK_PG_DATA=""
}

# stack_metric PORT NAME: the value of one series on an admin listener.
stack_metric() {
  curl -s --max-time 2 "http://127.0.0.1:$1/metrics" |
    awk -v n="$2" '$1 == n {printf "%.0f", $2; f = 1} END {if (!f) print 0}'
}

# stack_start NAME EVENT [VAR=VALUE...] -- CMD...: runs CMD in the background
# with the variables, log in $STACK_TMP/NAME.log, waits for its start EVENT;
# sets STARTED_PID and STARTED_ADMIN (the event's admin_port).
stack_start() {
  local name="$1" event="$2" vars=()
  shift 2
  while [ "$1" != -- ]; do vars+=("$1"); shift; done
  shift
  env "${vars[@]}" "$@" 2>"$STACK_TMP/$name.log" &
  STARTED_PID=$!
  STACK_PIDS+=("$STARTED_PID")
  for _ in $(seq 300); do grep -q "\"event\":\"$event\"" "$STACK_TMP/$name.log" && break; sleep 0.05; done
  grep -q "\"event\":\"$event\"" "$STACK_TMP/$name.log" ||
    { echo "$name did not start" >&2; tail -5 "$STACK_TMP/$name.log" >&2; return 1; }
  STARTED_ADMIN=$(grep -m1 "\"event\":\"$event\"" "$STACK_TMP/$name.log" | jq -r .admin_port)
}
