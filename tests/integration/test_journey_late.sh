#!/usr/bin/env bash
# A late event reopens its session (issue 12, item 3). Idle time 120 s, a
# funnel view -> cart -> purchase abandoned from "cart" on at session close.
# late-1 views at now-600 s in session late-s, and a later event of the
# same visitor moves its partition's clock to now, so late-s closes (not
# abandoned: it reached only "view"). Then its cart, at now-590 s in
# late-s, arrives: the session opens again, closes again announced with
# both events, and the attempt is abandoned at "cart": every row ends as
# for together-1, whose view and cart arrived together.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
itest_init journey_late

CHROME='Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36'

start_devbroker
start_redis_free redis
start_postgres_migrated pg
start_collector c1
start_enricher e1

q() { psql -X -A -t -q -v ON_ERROR_STOP=1 "$PG_DSN" -c "$1"; }
q_is() { [ "$(q "$1")" = "$2" ]; }

cat >"$T/funnels.json" <<'EOF'
{"version": 1, "funnels": [
  {"name": "shop", "order": "strict", "window_hours": 24, "abandon_from_step": 2,
   "steps": [{"name": "view", "event_type": "view"},
             {"name": "cart", "event_type": "cart"},
             {"name": "purchase", "event_type": "purchase"}]}]}
EOF
start_journey_builder jb ANALYTICS_JOURNEY_BUILDER_SESSION_IDLE_S=120 \
  ANALYTICS_FUNNELS_FILE="$T/funnels.json"

now="$(($(date +%s) * 1000))"
ev() { # ev ID TYPE FINGERPRINT SESSION TS
  printf '{"event_id":"%s","event_type":"%s","fingerprint":"%s","session_id":"%s","timestamp":%s,"page_url":"https://shop.example/p/1"}' \
    "$1" "$2" "$3" "$4" "$5"
}
# ev_post EVENT...: one batch, as a browser.
ev_post() {
  local IFS=,
  post "{\"events\":[$*]}" -A "$CHROME"
  expect_eq "collector takes $*" 202 "$STATUS"
}

ev_post "$(ev l1 view late-1 late-s $((now - 600000)))"
check "late-s is written" wait_for 30 q_is "SELECT events FROM sessions WHERE session_id = 'late-s'" 1
ev_post "$(ev l2 scroll late-1 late-next "$now")"
check "late-s closes once the clock passes its idle time" \
  wait_for 30 q_is "SELECT closed FROM sessions WHERE session_id = 'late-s'" t
expect_eq "not abandoned: only the first step reached" "1|f" \
  "$(q "SELECT furthest, abandoned FROM funnel_progress WHERE fingerprint = 'late-1'")"

ev_post "$(ev l3 cart late-1 late-s $((now - 590000)))"
# The same visitor's events, in time, together.
ev_post "$(ev t1 view together-1 together-s $((now - 600000)))" \
  "$(ev t3 cart together-1 together-s $((now - 590000)))" \
  "$(ev t2 scroll together-1 together-next "$now")"

check "the cart reopens late-s, which closes again with both events" \
  wait_for 30 q_is "SELECT events, closed FROM sessions WHERE session_id = 'late-s'" "2|t"
check "the attempt is abandoned at the cart" \
  wait_for 30 q_is "SELECT furthest, abandoned FROM funnel_progress WHERE fingerprint = 'late-1'" "2|t"
check "as together-1's is" \
  wait_for 30 q_is "SELECT furthest, abandoned FROM funnel_progress WHERE fingerprint = 'together-1'" "2|t"

# sessions_of / attempt_of FINGERPRINT: what must be the same for both
# visitors, times relative to now.
sessions_of() {
  q "SELECT started_at - to_timestamp($now / 1000.0), ended_at - to_timestamp($now / 1000.0),
            duration_s, page_views, events, bounced, converted, closed, channel, device_type
       FROM sessions WHERE fingerprint = '$1' ORDER BY started_at"
}
attempt_of() {
  q "SELECT funnel, started_at - to_timestamp($now / 1000.0), reached_ms[2] - reached_ms[1],
            inferred, furthest, abandoned, abandon_at
       FROM funnel_progress WHERE fingerprint = '$1'"
}
expect_eq "together-1: two sessions, one attempt" "2|1" \
  "$(sessions_of together-1 | wc -l)|$(attempt_of together-1 | wc -l)"
expect_eq "late-1's sessions end as together-1's" "$(sessions_of together-1)" "$(sessions_of late-1)"
expect_eq "late-1's attempt ends as together-1's" "$(attempt_of together-1)" "$(attempt_of late-1)"
expect_eq "both abandoned at their session's end" "00:09:50|00:09:50" \
  "$(q "SELECT string_agg((to_timestamp($now / 1000.0) - abandoned_at)::text, '|') FROM funnel_progress")"
expect_eq "funnel rollups: 2 attempts at each of view and cart, 2 abandoned at cart" \
  "1|2|0
2|2|2" "$(q "SELECT step, sum(attempts), sum(abandoned) FROM funnel_daily WHERE funnel = 'shop' GROUP BY step ORDER BY step")"

closes() { # closes FINGERPRINT SESSION: the events of each SESSION_CLOSED of it
  dump analytics.journeys journey |
    jq -r --arg f "$1" --arg s "$2" 'select(.value.kind == "JOURNEY_UPDATE_KIND_SESSION_CLOSED" and .value.fingerprint == $f and .value.session.session_id == $s) | .value.session.events' |
    paste -sd,
}
expect_eq "late-s announced closed twice, the second time with both events" "1,2" "$(closes late-1 late-s)"
expect_eq "together-s announced once" "2" "$(closes together-1 together-s)"
abandons() {
  dump analytics.journeys journey |
    jq -r --arg f "$1" 'select(.value.kind == "JOURNEY_UPDATE_KIND_ABANDONED" and .value.fingerprint == $f) | "\(.value.funnel_step_name)|\(.value.session.events)"'
}
expect_eq "late-1's abandonment announced at the cart, with the session as it now is" "cart|2" "$(abandons late-1)"
expect_eq "one session reopened" 1 \
  "$(ADMIN_PORT="$JB_ADMIN" metric analytics_journey_builder_sessions_reopened_total)"
expect_clean_stop "journey-builder stops on SIGTERM" "$JB_PID"
itest_finish
