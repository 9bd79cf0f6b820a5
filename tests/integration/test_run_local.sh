#!/usr/bin/env bash
# What a new user meets first (issue 12, item 6), through the real
# scripts/run-local (its own devbroker, Redis and PostgreSQL; state in $T,
# every listener on a free port, no build): it writes the addresses it
# started to <state>/env and prints how to source it, and psql works from
# that file alone; the funnel queries it prints name the funnels of
# ANALYTICS_FUNNELS_FILE (not "booking") and run as printed; the README's
# first event and the one run-local prints carry a browser User-Agent and
# so reach sessions (curl's own is on the crawler list: a bot's event is
# archived, never sessionised). SIGTERM stops it all and removes the env
# file; a shell that sourced it can start run-local again, which starts
# afresh instead of using the dead addresses.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
itest_init run_local
chmod 711 "$T" # the PostgreSQL run-local starts runs as postgres when we are root

RL_PID=""
# stop_run_local: SIGTERM, so it stops its daemons and PostgreSQL itself
# (the lib's cleanup would SIGKILL it and leave them running).
stop_run_local() {
  if [ -n "$RL_PID" ] && kill -0 "$RL_PID" 2>/dev/null; then
    stop_process "$RL_PID" 30
  fi
  RL_PID=""
}
trap 'stop_run_local; itest_cleanup' EXIT
ITEST_PG_DIRS+=("$T/local/pg") # stopped by the cleanup if run-local could not

unset ANALYTICS_KAFKA_BROKERS ANALYTICS_REDIS_URL ANALYTICS_PG_DSN ANALYTICS_LOCAL_ENV
export ANALYTICS_COLLECTOR_LISTEN=127.0.0.1:0 ANALYTICS_COLLECTOR_ADMIN_LISTEN=127.0.0.1:0 \
  ANALYTICS_ENRICHER_ADMIN_LISTEN=127.0.0.1:0 ANALYTICS_JOURNEY_BUILDER_ADMIN_LISTEN=127.0.0.1:0 \
  ANALYTICS_SCORER_ADMIN_LISTEN=127.0.0.1:0 ANALYTICS_PUSH_GATEWAY_LISTEN=127.0.0.1:0 \
  ANALYTICS_PUSH_GATEWAY_ADMIN_LISTEN=127.0.0.1:0 ANALYTICS_PUSH_GATEWAY_THREADS=96 \
  ANALYTICS_PUSH_GATEWAY_WS_MAX_CLIENTS=64
cat >"$T/funnels.json" <<'JSON'
{"version": 1,
 "funnels": [{"name": "checkout",
              "steps": [{"name": "cart", "event_type": "cart"},
                        {"name": "paid", "event_type": "purchase"}]},
             {"name": "newsletter's signup",
              "steps": [{"name": "form", "event_type": "form_start"},
                        {"name": "done", "event_type": "signup"}]}]}
JSON
export ANALYTICS_FUNNELS_FILE="$T/funnels.json"

# start_run_local OUT: starts run-local, its output in OUT, and waits for
# its banner; sets RL_PID.
start_run_local() {
  local i
  "$SRC/scripts/run-local" --no-build --state "$T/local" >"$1" 2>&1 &
  RL_PID=$!
  for ((i = 0; i < 1200; i++)); do
    grep -q "Ctrl-C stops everything" "$1" && return 0
    kill -0 "$RL_PID" 2>/dev/null || break # it gave up
    sleep 0.1
  done
  fail "run-local starts and prints its banner"
  cat "$1"; tail -5 "$T"/local/logs/*.log 2>/dev/null
  exit 1
}
start_run_local "$T/out1"
OUT="$(cat "$T/out1")"

# ---- the DSN, in a file to source ----
check "it writes the env file" test -s "$T/local/env"
check "and says how to source it" grep -qF "source $T/local/env" "$T/out1"
dsn="$(bash -c "source '$T/local/env' && printf %s \"\$ANALYTICS_PG_DSN\"")"
check "the file's DSN is the one it prints" grep -qF "PostgreSQL        $dsn  " "$T/out1"
expect_eq "psql works from the file alone (the migrated schema)" \
  "$(find "$SRC/deploy/sql" -name '[0-9]*.sql' | wc -l)" \
  "$(env -i PATH="$PATH" bash -c "source '$T/local/env' && psql -X -A -t -q \"\$ANALYTICS_PG_DSN\" -c 'SELECT max(version) FROM schema_migrations'")"
check "the README's psql examples say to source it" grep -qF "source .local/env" "$SRC/README.md"
q() { psql -X -A -t -q -v ON_ERROR_STOP=1 "$dsn" -c "$1"; }
q_is() { [ "$(q "$1")" = "$2" ]; }

# ---- the push-gateway, with the token it prints ----
api="$(sed -n 's/^  REST API *\(http[^ ]*\) .*/\1/p' "$T/out1")"
tok="$(sed -n 's/^  REST API .*Bearer \([0-9a-f]*\).*/\1/p' "$T/out1")"
check "it prints the REST API's URL and a token" test -n "$api" -a -n "$tok"
check "the token reads the API" bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer $tok' '$api')\" = 200 ]"
check "the token file is the user's alone" test "$(stat -c %a "$T/local/api-token")" = 600
dash="$(sed -n 's/^  Dashboard *\(http[^ ]*\) .*/\1/p' "$T/out1")"
check "it prints the dashboard's URL" test -n "$dash"
check "...the push-gateway's, serving a page there" bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code} %{content_type}' '$dash')\" = '200 text/html; charset=utf-8' ]"
check "...and the token beside it" grep -q "^  API token *$tok " "$T/out1"
check "it prints the WebSocket URL" grep -q "WebSocket         ws://127.0.0.1:[0-9]*/api/analytics/ws" "$T/out1"

# ---- the funnel queries name the file's funnels ----
expect_eq "a funnel_report line per funnel of ANALYTICS_FUNNELS_FILE" 2 \
  "$(grep -c 'funnel_report(' <<<"$OUT")"
check "for checkout" grep -qF "funnel_report('checkout', now()" <<<"$OUT"
check "for newsletter's signup, quoted for SQL" grep -qF "funnel_report('newsletter''s signup', now()" <<<"$OUT"
check "none for booking, which the file does not define" bash -c "! grep -q \"'booking'\" <<<\"\$1\"" _ "$OUT"
ran=0
while IFS= read -r line; do
  if (eval "$line") >"$T/report.out" 2>&1; then ran=$((ran + 1)); else cat "$T/report.out"; fi
done < <(grep -E '^ +psql ' <<<"$OUT")
expect_eq "every printed psql line runs as printed" 4 "$ran"

# ---- the first event reaches sessions ----
events_url="$(grep -m1 'Events endpoint' "$T/out1" | awk '{print $3}')"
# The README's "A first event" curl, pointed at this collector.
sed -n '/^## A first event/,/^## /p' "$SRC/README.md" |
  sed -n '/^curl /,/\/api\/analytics\/events/p' |
  sed "s#http://127.0.0.1:8080/api/analytics/events#$events_url#" >"$T/readme-curl.sh"
check "the README's first curl sets a browser User-Agent" grep -q -- "-A '.*Chrome" "$T/readme-curl.sh"
expect_eq "the README's first event is accepted" '{"accepted":1,"rejected":[]}' "$(bash "$T/readme-curl.sh")"
check "and reaches sessions (not a bot's)" wait_for 30 q_is \
  "SELECT count(*) FROM sessions WHERE fingerprint = 'fp-1' AND NOT is_bot" 1
expect_eq "archived as a person's event" f "$(q "SELECT is_bot FROM analytics_events WHERE fingerprint = 'fp-1'")"
# The event run-local prints, the same way.
grep -A2 '^ *curl -s -X POST' "$T/out1" >"$T/banner-curl.sh"
check "run-local's curl sets a browser User-Agent too" grep -q -- "-A '.*Chrome" "$T/banner-curl.sh"
expect_eq "run-local's event is accepted" '{"accepted":1,"rejected":[]}' "$(bash "$T/banner-curl.sh")"
check "and counts in fp-1's session" wait_for 30 q_is \
  "SELECT events FROM sessions WHERE fingerprint = 'fp-1'" 2

# ---- stopping, and a second run from a shell that sourced the file ----
cp "$T/local/env" "$T/env.sourced"
stop_process "$RL_PID" 30
RL_PID=""
expect_eq "SIGTERM stops run-local with 0" 0 "$STOP_RC"
check "it stopped its PostgreSQL" test ! -e "$T/local/pg/postmaster.pid"
check "and removed the env file, whose addresses are gone" test ! -e "$T/local/env"
# shellcheck source=/dev/null
source "$T/env.sourced"
start_run_local "$T/out2"
check "a second run from that shell says it does not use them" \
  grep -q "not using the addresses of $T/local/env" "$T/out2"
new_brokers="$(bash -c "source '$T/local/env' && printf %s \"\$ANALYTICS_KAFKA_BROKERS\"")"
check "and starts a devbroker of its own" test -n "$new_brokers" -a "$new_brokers" != "$ANALYTICS_KAFKA_BROKERS"
dsn="$(bash -c "source '$T/local/env' && printf %s \"\$ANALYTICS_PG_DSN\"")"
check "its PostgreSQL kept the first run's session" q_is \
  "SELECT count(*) FROM sessions WHERE fingerprint = 'fp-1'" 1
stop_process "$RL_PID" 30
RL_PID=""
expect_eq "and it stops with 0 again" 0 "$STOP_RC"
itest_finish
