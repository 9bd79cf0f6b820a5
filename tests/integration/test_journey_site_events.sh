#!/usr/bin/env bash
# A shop's own event names end to end (issue 12, item 5): a stream shaped
# like a public e-commerce log (event types view, cart and purchase, the
# shop's own session ids, the price in event_data) goes through the real
# collector, enricher and journey-builder into a real PostgreSQL, with a
# journeys file that names the shop's page-view type and its conversion.
# The sessions get page views, bounces, conversions and revenue; the
# journeys their touchpoints (the purchase, which no rule names, at the
# conversion stage); the funnel written on "page_view" counts the shop's
# views; sessions_by_channel_device and the SESSION_CLOSED updates carry the
# revenue. Last, a typo in the journeys file stops the journey-builder
# with exit 78 naming the file and the key.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
itest_init journey_site_events

CHROME='Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36'

# The shop's pages, journeys and funnel.
cat >"$T/pages.json" <<'JSON'
{"version": 1,
 "rules": [{"type": "home", "path": "^/$"},
           {"type": "product", "path": "^/product/"},
           {"type": "cart", "path": "^/cart"}],
 "default": "other"}
JSON
cat >"$T/journeys.json" <<'JSON'
{"version": 1,
 "stages": ["awareness", "interest", "consideration", "conversion"],
 "page_views": ["view"],
 "conversions": [{"event_type": "purchase", "value_property": "price"}],
 "rules": [{"event_type": "cart", "stage": "consideration", "touchpoint": "added_to_cart"},
           {"event_type": "page_view", "page_type": "product", "stage": "interest",
            "touchpoint": "product_page"},
           {"event_type": "page_view", "stage": "awareness", "touchpoint": "other_page"}]}
JSON
cat >"$T/funnels.json" <<'JSON'
{"version": 1,
 "funnels": [{"name": "shop", "order": "strict", "window_hours": 24,
              "steps": [{"name": "product viewed", "event_type": "page_view", "page_type": "product"},
                        {"name": "added to cart", "event_type": "cart"},
                        {"name": "purchased", "event_type": "purchase"}]}]}
JSON

start_devbroker
start_redis_free redis
start_postgres_migrated pg
start_collector c1
start_enricher e1 ANALYTICS_PAGES_FILE="$T/pages.json"

q() { psql -X -A -t -q -v ON_ERROR_STOP=1 "$PG_DSN" -c "$1"; }
q_is() { [ "$(q "$1")" = "$2" ]; }

now="$(($(date +%s) * 1000))"
t0=$((now - 2 * 3600 * 1000))
# ev ID TYPE USER SESSION TS PATH DATA: one event as the shop's log has it.
ev() {
  printf '{"event_id":"%s","event_type":"%s","fingerprint":"%s","session_id":"%s","timestamp":%s,"page_url":"https://shop.example%s","event_data":%s,"consent":["necessary","analytics"]}' \
    "$1" "$2" "$3" "$4" "$5" "$6" "$7"
}
P1='{"product_id":1004856,"category_code":"electronics.smartphone","brand":"samsung","price":130.76}'
P2='{"product_id":1005115,"category_code":"electronics.smartphone","brand":"apple","price":"25.50"}'
P3='{"product_id":4804056,"category_code":"electronics.audio.headphone","brand":"apple","price":4.24}'
# u1: two products, the cart, a purchase; later a second session with two
# purchases (one price as a string). u2: one product and gone. u3: browses
# and leaves a cart.
post "{\"events\":[$(ev a1 view u1 shop-s1 $t0 /product/1004856 "$P1"),
  $(ev a2 view u1 shop-s1 $((t0 + 30000)) /product/1005115 "$P2"),
  $(ev a3 cart u1 shop-s1 $((t0 + 60000)) /product/1004856 "$P1"),
  $(ev a4 purchase u1 shop-s1 $((t0 + 90000)) /cart "$P1"),
  $(ev b1 view u2 shop-s2 $t0 /product/4804056 "$P3"),
  $(ev c1 view u3 shop-s3 $t0 / '{}'),
  $(ev c2 view u3 shop-s3 $((t0 + 20000)) /product/4804056 "$P3"),
  $(ev c3 cart u3 shop-s3 $((t0 + 40000)) /product/4804056 "$P3"),
  $(ev d1 view u1 shop-s4 $((t0 + 3600000)) /product/1005115 "$P2"),
  $(ev d2 purchase u1 shop-s4 $((t0 + 3630000)) /cart "$P2"),
  $(ev d3 purchase u1 shop-s4 $((t0 + 3640000)) /cart "$P3")]}" -A "$CHROME"
expect_eq "collector takes the shop's events" 202 "$STATUS"

start_jb jb1 ANALYTICS_JOURNEYS_FILE="$T/journeys.json" ANALYTICS_FUNNELS_FILE="$T/funnels.json"
check "every event archived" wait_for 30 q_is "SELECT count(*) FROM analytics_events" 11
check "the four sessions closed" wait_for 30 q_is "SELECT count(*) FROM sessions WHERE closed" 4
expect_eq "the enricher typed the shop's views by their URL" "home|product" \
  "$(q "SELECT string_agg(DISTINCT page_type, '|' ORDER BY page_type) FROM analytics_events WHERE event_type = 'view'")"
expect_eq "sessions under the shop's ids: page views, events, bounced, converted, revenue" \
  "shop-s1|u1|2|4|f|t|130.760000
shop-s2|u2|1|1|t|f|0.000000
shop-s3|u3|2|3|f|f|0.000000
shop-s4|u1|1|3|t|t|29.740000" \
  "$(q "SELECT session_id, fingerprint, page_views, events, bounced, converted, revenue FROM sessions ORDER BY 1")"
expect_eq "entry and exit pages are the shop's views" \
  "https://shop.example/product/1004856|https://shop.example/product/1005115" \
  "$(q "SELECT entry_page || '|' || exit_page FROM sessions WHERE session_id = 'shop-s1'")"
expect_eq "sessions_by_channel_device: bounce rate, conversion rate, revenue" \
  "direct|desktop|4|3|2|2|0.5|0.5|42.5|6|160.500000" \
  "$(q "SELECT * FROM sessions_by_channel_device(now() - interval '1 day', now())")"
expect_eq "journeys: u1's touchpoints, the purchases at the conversion stage" \
  "1|interest||product_page|shop-s1
2|interest|interest|product_page|shop-s1
3|consideration|interest|added_to_cart|shop-s1
4|conversion|consideration|purchase|shop-s1
5|interest|conversion|product_page|shop-s4
6|conversion|interest|purchase|shop-s4
7|conversion|conversion|purchase|shop-s4" \
  "$(q "SELECT seq, stage, previous_stage, touchpoint, session_id FROM customer_journeys WHERE fingerprint = 'u1' ORDER BY seq")"
expect_eq "journeys: every event a touchpoint" 11 "$(q "SELECT count(*) FROM customer_journeys")"
# Attempts: u1's three (a purchase after a completed attempt starts one of
# its own, the earlier steps inferred), u2's and u3's; visitors: u1, u2 and
# u3 viewed, u1 and u3 carted, u1 bought (inferred: u1, at steps 1 and 2).
expect_eq "the funnel on \"page_view\" counts the shop's views" \
  "1|product viewed|3|5|1
2|added to cart|2|4|1
3|purchased|1|3|0" \
  "$(q "SELECT step, step_name, visitors, attempts, inferred FROM funnel_report('shop', now() - interval '3 days', now() + interval '1 day')")"

# With 5 s of idle time a session closes between events 20 to 30 s apart
# and the next one reopens it (test_journey_builder.sh): each session's last
# SESSION_CLOSED update has the whole of it.
last_closes() {
  dump analytics.journeys journey |
    jq -r 'select(.value.kind == "JOURNEY_UPDATE_KIND_SESSION_CLOSED") | .value.session | "\(.session_id) \(.page_views)|\(.bounced)|\(.converted)|\(.revenue)"' |
    awk '{last[$1] = $2} END {for (s in last) print s "|" last[s]}' | sort | paste -sd' '
}
last_closes_are() { [ "$(last_closes)" = "$1" ]; }
check "each session's last SESSION_CLOSED carries its page views, bounce, conversion and revenue" \
  wait_for 10 last_closes_are \
  "shop-s1|2|false|true|130.76 shop-s2|1|true|false|0 shop-s3|2|false|false|0 shop-s4|1|true|true|29.74"
expect_clean_stop "journey-builder stops on SIGTERM" "$JB_PID"

# ---- an operator's typo in the journeys file ----
# bad_file NAME JQ WANT: the journeys file edited by JQ makes the
# journey-builder exit 78 with WANT on stderr (one that takes the file and
# runs is stopped after 20 s: exit 124).
bad_file() {
  jq "$2" "$T/journeys.json" >"$T/$1.json"
  ANALYTICS_JOURNEYS_FILE="$T/$1.json" ANALYTICS_KAFKA_BROKERS="$BROKERS" \
    ANALYTICS_JOURNEY_BUILDER_ADMIN_LISTEN=127.0.0.1:0 \
    timeout 20 "$BIN/analytics-journey-builder" 2>"$T/$1.log"
  expect_eq "$1: exits 78" 78 "$?"
  check "$1: says so naming the variable, the file and the key" grep -qF \
    "config: ANALYTICS_JOURNEYS_FILE: $T/$1.json: $3" "$T/$1.log"
}
bad_file value-key '.conversions[0] = {"event_type": "purchase", "value": "price"}' \
  'conversions[0]: unknown key "value"'
bad_file page-views-string '.page_views = "view"' '"page_views" must be an array'
bad_file top-level-typo '.page_view = .page_views | del(.page_views)' 'unknown key "page_view"'
itest_finish
