#!/usr/bin/env bash
# The browser tracker (issue 16) in Debian's chromium on the demo site
# (web/demo, served by web/demo/serve.mjs from its own origin), loaded from
# the real collector's GET /analytics.js, sending to that collector and
# devbroker, asking a real push-gateway (on a real Redis) for offers.
# tracker_e2e.mjs drives the visitors: reject all by keyboard (before and
# after, only necessary events; nothing stored but the choice), accept all
# and a whole journey (scroll milestones, clicks with positions, a rage
# click, pricing and comparison seen, a booking started and abandoned by
# beacon at pagehide, contact, exit intent and a new offer, a booking
# completed with its API call timed, a single-page-app navigation, offline
# clicks kept in localStorage and sent after the reload), Do Not Track and
# Global Privacy Control, a phone; the collector stopped mid-journey (clicks
# kept through a reload, sent once it is back); then nothing twice on
# events.raw and the tracker's cost per handler and per page. Here: nothing
# reached the dead letters, the collector answered only 202s, and it stops
# cleanly both times.
# shellcheck source=../integration/lib.sh
source "$(dirname "$0")/../integration/lib.sh"
itest_init tracker

WEB="${ANALYTICS_WEB_OUT:-$SRC/build/web}"
SHOTS="${ANALYTICS_TEST_TMP:-$SRC/build/test-tmp}/screenshots/tracker"
KEY=wk-demo-0123456789
[ -s "$WEB/tracker/analytics.js" ] && [ -s "$WEB/demo/index.html" ] ||
  { echo "no build of web/ in $WEB (cmake --build build)"; exit 1; }

start_devbroker
start_redis_free redis

# The demo site's port first: the collector and the gateway allow its origin.
for _ in $(seq 20); do
  DEMO_PORT="$(shuf -i 20000-60000 -n1)"
  [ -z "$(ss -Htln "sport = :$DEMO_PORT")" ] && break
done
DEMO_URL="http://127.0.0.1:$DEMO_PORT"

start_collector c ANALYTICS_COLLECTOR_TRACKER_DIR="$WEB/tracker" \
  ANALYTICS_COLLECTOR_CORS_ORIGINS="$DEMO_URL" ANALYTICS_COLLECTOR_WRITE_KEYS="demo:$KEY"
COLLECTOR_URL="http://127.0.0.1:$PORT"
C_ADMIN=$ADMIN_PORT
C_FIRST_PID=$COLLECTOR_PID
echo "$COLLECTOR_PID" >"$T/collector.pid"

# For tracker_e2e.mjs's outage: stop the collector, start it again on the
# same port (and spool, log, settings).
cat >"$T/collector-ctl.sh" <<CTL
#!/usr/bin/env bash
pid="\$(cat "$T/collector.pid")"
case "\$1" in
  stop|kill)
    [ "\$1" = kill ] && { kill -KILL "\$pid" 2>/dev/null; exit 0; }
    admin="\$(grep '"event":"collector.started"' "$T/c.log" | tail -1 | jq -r .admin_port)"
    curl -s --max-time 5 "http://127.0.0.1:\$admin/metrics" >>"$T/metrics.txt"
    kill -TERM "\$pid"
    for _ in \$(seq 100); do kill -0 "\$pid" 2>/dev/null || exit 0; sleep 0.1; done
    echo "collector-ctl: the collector did not stop"; exit 1 ;;
  start)
    n="\$(grep -c '"event":"collector.started"' "$T/c.log")"
    env ANALYTICS_KAFKA_BROKERS="$BROKERS" ANALYTICS_COLLECTOR_LISTEN=127.0.0.1:$PORT \
      ANALYTICS_COLLECTOR_ADMIN_LISTEN=127.0.0.1:0 ANALYTICS_COLLECTOR_SPOOL_DIR="$T/c-spool" \
      ANALYTICS_COLLECTOR_RATE_LIMIT=0 ANALYTICS_COLLECTOR_TRACKER_DIR="$WEB/tracker" \
      ANALYTICS_COLLECTOR_CORS_ORIGINS="$DEMO_URL" ANALYTICS_COLLECTOR_WRITE_KEYS="demo:$KEY" \
      "$BIN/analytics-collector" </dev/null >/dev/null 2>>"$T/c.log" &
    echo \$! >"$T/collector.pid"
    for _ in \$(seq 100); do
      [ "\$(grep -c '"event":"collector.started"' "$T/c.log")" -gt "\$n" ] && exit 0
      sleep 0.1
    done
    echo "collector-ctl: the collector did not start again"; exit 1 ;;
esac
CTL
trap 'bash "$T/collector-ctl.sh" kill; itest_cleanup' EXIT
# The gateway's personalize route needs Redis only.
PG_DSN="postgresql://analytics@127.0.0.1:1/analytics" start_push_gateway gw \
  ANALYTICS_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0" ANALYTICS_PUSH_GATEWAY_WRITE_KEYS="demo:$KEY" \
  ANALYTICS_PUSH_GATEWAY_CORS_ORIGINS="$DEMO_URL"
GATEWAY_URL="http://127.0.0.1:$GW_PORT"

node "$SRC/web/demo/serve.mjs" --root "$WEB/demo" --listen "127.0.0.1:$DEMO_PORT" \
  --collector "$COLLECTOR_URL" --write-key "$KEY" --personalize "$GATEWAY_URL" \
  --tracker-attrs 'data-flush-interval="1000"' >"$T/demo.out" 2>"$T/demo.log" &
ITEST_PIDS+=($!)
wait_for 10 grep -q demo.listening "$T/demo.out" || { echo "the demo site did not start"; cat "$T/demo.log"; exit 1; }

# Everything that reaches events.raw, as it comes.
"$BIN/analytics-dump" --brokers "$BROKERS" --topic analytics.events.raw --type raw --follow \
  --timeout-ms 590000 >"$T/raw.jsonl" 2>"$T/dump.log" &
ITEST_PIDS+=($!)

started=$SECONDS
while IFS= read -r line; do
  case "$line" in
    PASS:*) pass "${line#PASS: }" ;;
    FAIL:*) fail "${line#FAIL: }" ;;
    "exit: "*) expect_eq "the browser scenarios ran to their end" "exit: 0" "$line" ;;
    *) echo "$line" ;;
  esac
done < <(cd "$SRC/tests/browser" && DEMO_URL="$DEMO_URL" COLLECTOR_URL="$COLLECTOR_URL" \
  GATEWAY_URL="$GATEWAY_URL" RAW_FILE="$T/raw.jsonl" SHOTS="$SHOTS" RESULTS="$T/results.json" \
  REDIS_PORT="$REDIS_PORT" COLLECTOR_CTL="$T/collector-ctl.sh" node tracker_e2e.mjs 2>&1; echo "exit: $?")
echo "browser scenarios: $((SECONDS - started)) s"
[ -s "$T/results.json" ] && jq -c '{seconds, fingerprint_ms, handler_p50_ms_worst, handler_mean_ms_worst,
  handler_max_ms_worst, page_total_ms_worst, scenarios}' "$T/results.json" &&
  jq -r '.handlers | to_entries[] | "  \(.key): \(.value.count) calls, median \(.value.p50_ms * 100 | round / 100) ms, mean \(.value.mean_ms * 100 | round / 100) ms, max \(.value.max_ms * 10 | round / 10) ms"' "$T/results.json"
[ -s "$T/results.json" ] && jq -r '.pages[] | "  page \(.label): \(.total_ms * 10 | round / 10) ms in all (start-up \(.init_ms * 10 | round / 10) ms)"' "$T/results.json"

expect_eq "nothing reached the dead letters" 0 "$(topic_count analytics.deadletter)"
# The first collector: stopped mid-journey by the test (or now, if it did not get there).
if kill -0 "$C_FIRST_PID" 2>/dev/null; then bash "$T/collector-ctl.sh" stop; fi
wait "$C_FIRST_PID"
expect_eq "the collector taken down mid-test stopped cleanly" 0 "$?"
if [ "$(cat "$T/collector.pid")" != "$C_FIRST_PID" ]; then
  check "the collector started again stops cleanly" bash "$T/collector-ctl.sh" stop
  check "...having logged shutdown.complete twice" test "$(grep -c '"event":"shutdown.complete"' "$T/c.log")" = 2
fi
# Both collectors' metrics, as they stopped.
refusals() { grep -E '^analytics_http_requests_total\{status="(400|401|403|413|415|429|500|503)"\} [1-9]' "$T/metrics.txt"; }
check "the collectors answered no event request but with 202" test -z "$(refusals)"
check "...and served the tracker's files" \
  grep -Eq '^analytics_collector_tracker_requests_total\{status="200"\} [1-9]' "$T/metrics.txt"
itest_finish
