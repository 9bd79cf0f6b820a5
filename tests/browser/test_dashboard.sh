#!/usr/bin/env bash
# The live dashboard (issue 17) in Debian's chromium against the whole
# pipeline started here: devbroker, Redis, PostgreSQL with 30 days of
# stored funnel traffic (scripts/lib/funnel_fill.sh, funnel "bench"), the
# collector, enricher, journey-builder, scorer and the push-gateway serving
# the built dashboard, analytics-loadgen sending visitors. The browser side
# is dashboard_e2e.mjs: a wrong token refused with the gateway's 401; the
# first load of the live view and of the funnels view (30 days) timed from
# an empty cache and printed; the live visitor count rising without a
# reload, the feed filtered and paused; the funnels view showing the
# funnel route's numbers; a visitor's page their score and persona; the
# keyboard reaching the views; the push-gateway stopped and started again
# mid-session and the page recovering by itself; a privacy request with an
# admin token; a screenshot of every view at 1280 px and 390 px under
# $ANALYTICS_TEST_TMP/screenshots/.
# shellcheck source=../integration/lib.sh
source "$(dirname "$0")/../integration/lib.sh"
itest_init dashboard
WEB="${ANALYTICS_WEB_OUT:-$SRC/build/web}"
SHOTS="${ANALYTICS_TEST_TMP:-$SRC/build/test-tmp}/screenshots"
FILL_EVENTS="${DASH_FILL_EVENTS:-300000}"
if [ ! -s "$WEB/dashboard/index.html" ]; then
  echo "no built dashboard in $WEB/dashboard (cmake --build build: target web)"; exit 1
fi
command -v "${ANALYTICS_CHROMIUM:-/usr/bin/chromium}" >/dev/null || { echo "no chromium (scripts/setup installs it)"; exit 1; }
started=$SECONDS

start_devbroker
start_redis_free redis
start_postgres_migrated pg
# shellcheck source=../../scripts/lib/funnel_fill.sh
source "$SRC/scripts/lib/funnel_fill.sh"
fill_start=$SECONDS
fill_visitors="$(funnel_fill_events "$FILL_EVENTS")" && funnel_fill_rollups && funnel_fill_visitors ||
  { echo "the funnel fill failed"; exit 1; }
echo "FIGURE stored_events $FILL_EVENTS events from $fill_visitors visitors over 30 days, filled in $((SECONDS - fill_start)) s"
# Clicks with their page positions, as the tracker sends them (loadgen's
# carry none): 400 on the pricing page, most on its call to action.
psql -X -q -v ON_ERROR_STOP=1 "$PG_DSN" -c "SELECT setseed(0.17);
  INSERT INTO analytics_events (event_id, event_time, event_type, fingerprint, received_at, page_host, page_path, event_data)
  SELECT 'click-' || i, now() - (i || ' s')::interval, 'click', 'fp-clicker-' || (i % 60), now(), 'shop.example', '/pricing',
         CASE WHEN i % 3 = 0 THEN json_build_object('x', 80 + (i % 9) * 130, 'y', 30 + random() * 20, 'page_w', 1280, 'page_h', 3200)
              ELSE json_build_object('x', 560 + random() * 160, 'y', 580 + random() * 90, 'page_w', 1280, 'page_h', 3200) END::jsonb
    FROM generate_series(1, 400) AS i" >/dev/null || { echo "cannot store the clicks"; exit 1; }

start_collector c1 ANALYTICS_COLLECTOR_TRUSTED_PROXIES=127.0.0.1
EVENTS_URL="$URL"
start_enricher e1
start_jb jb
start_scorer s1
GW_VARS=(ANALYTICS_PUSH_GATEWAY_DASHBOARD_DIR="$WEB/dashboard")
start_push_gateway gw "${GW_VARS[@]}"
GW_FIXED="127.0.0.1:$GW_PORT"
assigned() { log_count_above "$T/gw.log" kafka.partitions_assigned "$1"; }
check "the gateway's partitions are assigned" wait_for 30 assigned 0
check "the gateway serves the dashboard at /" http_status_is "http://127.0.0.1:$GW_PORT/" 200

CTL="$T/ctl"
mkdir -p "$CTL"
env DASH_BASE="http://127.0.0.1:$GW_PORT" DASH_TOKEN="$GW_READ_TOKEN" DASH_ADMIN_TOKEN="$GW_ADMIN_TOKEN" \
  DASH_EVENTS_URL="$EVENTS_URL" DASH_BIN="$BIN" DASH_CTL="$CTL" DASH_SHOTS="$SHOTS" \
  node "$SRC/tests/browser/dashboard_e2e.mjs" >"$T/browser.out" 2>&1 &
NODE_PID=$!
ITEST_PIDS+=("$NODE_PID")
# The browser script's requests to stop and start the gateway (same port).
restarts=0
while kill -0 "$NODE_PID" 2>/dev/null; do
  if [ -e "$CTL/stop-gateway" ]; then
    rm -f "$CTL/stop-gateway"
    stop_process "$GW_PID" 10
    expect_eq "the gateway stops cleanly mid-session" 0 "$STOP_RC"
    : >"$CTL/gateway-stopped"
  fi
  if [ -e "$CTL/start-gateway" ]; then
    rm -f "$CTL/start-gateway"
    before="$(grep -c '"event":"kafka.partitions_assigned"' "$T/gw.log")"
    start_push_gateway gw "${GW_VARS[@]}" ANALYTICS_PUSH_GATEWAY_LISTEN="$GW_FIXED"
    wait_for 30 assigned "$before" || echo "the restarted gateway got no partitions in 30 s"
    restarts=$((restarts + 1))
    : >"$CTL/gateway-started"
  fi
  sleep 0.1
done
wait "$NODE_PID"
node_rc=$?
cat "$T/browser.out"
ITEST_PASSED=$((ITEST_PASSED + $(grep -c '^PASS: ' "$T/browser.out")))
ITEST_FAILED=$((ITEST_FAILED + $(grep -c '^FAIL: ' "$T/browser.out")))
expect_eq "the browser script ends with success" 0 "$node_rc"
check "...having checked something" grep -q '^PASS: ' "$T/browser.out"
expect_eq "the gateway was restarted once" 1 "$restarts"
for shot in live funnels journeys visitors acquisition triggers privacy; do
  check "screenshots of $shot at 1280 px and 390 px" test -s "$SHOTS/dashboard-$shot-1280.png" -a -s "$SHOTS/dashboard-$shot-390.png"
done
check "the gateway never logged a token" bash -c "! grep -q -e '$GW_READ_TOKEN' -e '$GW_ADMIN_TOKEN' '$T/gw.log'"
expect_clean_stop "the push-gateway stops cleanly" "$GW_PID"
expect_clean_stop "the scorer stops cleanly" "$SCORER_PID"
expect_clean_stop "the journey-builder stops cleanly" "$JB_PID"
echo "FIGURE test_seconds $((SECONDS - started))"
itest_finish
