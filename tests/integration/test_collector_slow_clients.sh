#!/usr/bin/env bash
# Slow and idle clients cannot shut anyone out: with far more trickling,
# stalled and idle connections than HTTP threads (on the events port and the
# admin port), a normal client still gets 202 within a second and /healthz
# answers; a request that does not arrive in time gets 408 and is closed.
source "$(dirname "$0")/lib.sh"
itest_init collector_slow_clients
ATTACK="$(dirname "$0")/http_attack.py"
jqt() { jq -e "$1" >/dev/null; }

start_devbroker
start_collector c1 ANALYTICS_COLLECTOR_THREADS=4 \
  ANALYTICS_COLLECTOR_HEADER_TIMEOUT_MS=3000 ANALYTICS_COLLECTOR_BODY_TIMEOUT_MS=3000

# 4 threads; 64 body tricklers, 64 header tricklers, 64 idle connections
# (48 x the threads) and 16 idle connections to the admin port.
res="$(python3 "$ATTACK" slow "$PORT" "$ADMIN_PORT" 8 64 64 64 16)"
echo "under attack: $res"
expect_eq "every normal POST under attack got 202" '[202]' "$(jq -c .post_statuses <<<"$res")"
check "every normal POST under attack was answered within a second" \
  jqt '.post_max_s < 1.0 and .posts >= 40' <<<"$res"
expect_eq "/healthz on the admin port answered 200 throughout" '[200]' \
  "$(jq -c .healthz_statuses <<<"$res")"
check "/healthz answered within a second" jqt '.healthz_max_s < 1.0' <<<"$res"
check "the slow connections were cut off by the deadlines" jqt '.slow_cut >= 64' <<<"$res"

# One trickler alone: its deadline passes, it gets a 408 and a close.
res="$(python3 "$ATTACK" cut "$PORT" body)"
echo "body trickle: $res"
check "a body that trickles past its deadline gets 408 (3 s deadline)" \
  jqt '.status == 408 and .seconds >= 2.5 and .seconds < 5' <<<"$res"
res="$(python3 "$ATTACK" cut "$PORT" header)"
echo "header trickle: $res"
check "headers that trickle past their deadline get 408 (3 s deadline)" \
  jqt '.status == 408 and .seconds >= 2.5 and .seconds < 5' <<<"$res"
check "the timeouts are counted" bash -c "[ \"\$(curl -s http://127.0.0.1:$ADMIN_PORT/metrics | awk '\$1 == \"analytics_http_timeouts_total\" { print \$2 }')\" -ge 2 ]"

post '{"event_type":"page_view","fingerprint":"fp-after"}'
expect_eq "the collector still takes events after the attack" 202 "$STATUS"
expect_clean_stop "SIGTERM stops the collector cleanly" "$COLLECTOR_PID"
itest_finish
