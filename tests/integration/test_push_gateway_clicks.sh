#!/usr/bin/env bash
# The push-gateway's clicks route (the dashboard's heatmap, issue 17)
# against a real PostgreSQL loaded by SQL with known clicks: the pages with
# the most clicks that carry a position, one page's clicks in the grid
# (x / page_w in 20 columns, y in rows of 100 px, the last row and column
# taking what lies beyond), bots, clicks without a position or page width,
# other event types and clicks outside the range left out; bad parameters
# 400 naming them.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
itest_init push_gateway_clicks

start_postgres_migrated pg
q() { psql -X -A -t -q -v ON_ERROR_STOP=1 "$PG_DSN" -c "$1"; }
q "SELECT analytics_ensure_partitions((now() AT TIME ZONE 'UTC')::date - 10, 10)" >/dev/null
# click N HOST PATH DATA [TYPE] [BOT] [AGE]
ev() {
  q "INSERT INTO analytics_events (event_id, event_time, event_type, fingerprint, received_at, page_host, page_path, is_bot, event_data)
     VALUES ('$1', now() - interval '${7:-1 hour}', '${5:-click}', 'fp-$1', now(), '$2', '$3', ${6:-false}, '$4')"
}
ev c1 shop.example /pricing '{"x": 10, "y": 50, "page_w": 1000}'       # column 0, row 0
ev c2 shop.example /pricing '{"x": 40, "y": 99, "page_w": 1000}'       # column 0, row 0
ev c3 shop.example /pricing '{"x": 999, "y": 150, "page_w": 1000}'     # column 19, row 1
ev c4 shop.example /pricing '{"x": 1200, "y": 25000, "page_w": 1000}'  # beyond: column 19, row 99
ev c5 shop.example /pricing '{"x": 500, "y": 500.5, "page_w": 1000}'   # column 10, row 5
ev c6 shop.example /          '{"x": 5, "y": 5, "page_w": 400}'
ev b1 shop.example /pricing '{"x": 10, "y": 50, "page_w": 1000}' click true       # a bot's
ev n1 shop.example /pricing '{"element": "cta"}'                                    # no position
ev n2 shop.example /pricing '{"x": 1, "y": 1, "page_w": 0}'                        # no width
ev n3 shop.example /pricing '{"x": "1", "y": 1, "page_w": 100}'                    # not a number
ev r1 shop.example /pricing '{"x": 10, "y": 50, "page_w": 1000}' rage_click
ev o1 shop.example /pricing '{"x": 10, "y": 50, "page_w": 1000}' click false '9 days'

start_push_gateway gw
API="http://127.0.0.1:$GW_PORT/api/analytics"
get() {
  BODY="$(curl -s --max-time 10 -w '\n%{http_code}' -H "Authorization: Bearer $GW_READ_TOKEN" "$API/$1")"
  STATUS="${BODY##*$'\n'}"
  BODY="${BODY%$'\n'*}"
}
j() { jq -r "$1" <<<"$BODY"; }

get clicks
expect_eq "clicks: 200" 200 "$STATUS"
expect_eq "the pages with positioned clicks of people, most first" "shop.example/pricing:5 shop.example/:1" \
  "$(j '[.pages[] | "\(.page):\(.clicks)"] | join(" ")')"
expect_eq "...no page asked: no cells" "0 0" "$(j '"\(.clicks) \(.cells | length)"')"
get "clicks?page=shop.example/pricing"
expect_eq "one page: its clicks and the grid" "5 20 100 100" "$(j '"\(.clicks) \(.columns) \(.row_px) \(.rows)"')"
expect_eq "...cells by row then column, beyond the page in the last" "0,0:2 19,1:1 10,5:1 19,99:1" \
  "$(j '[.cells[] | "\(.column),\(.row):\(.clicks)"] | join(" ")')"
get "clicks?page=shop.example/pricing&from=$(date -u -d '10 days ago' +%F)"
expect_eq "a longer range takes the older click too" 6 "$(j .clicks)"
get "clicks?page=shop.example/none"
expect_eq "a page without clicks: none, no error" "200 0 0" "$STATUS $(j .clicks) $(j '.cells | length')"
get "clicks?pages=1"
expect_eq "an unknown parameter: 400" "400 bad_parameter" "$STATUS $(j .error.code)"
get "clicks?from=yesterday"
expect_eq "a bad date: 400 naming it" "400 from" "$STATUS $(j .error.message | grep -o '^from')"
code="$(curl -s -o /dev/null -w '%{http_code}' "$API/clicks")"
expect_eq "without a token: 401" 401 "$code"
expect_clean_stop "SIGTERM: a clean stop" "$GW_PID"
itest_finish
