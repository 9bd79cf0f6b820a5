#!/usr/bin/env bash
# The push-gateway's analytics read routes (issue 15) against a real
# PostgreSQL loaded by SQL with known answers: realtime, funnel, funnels,
# journeys, journeys/flows, sessions, pages, segments, segments/:name/members
# and churn. Each route's numbers are checked against a hand count of the
# rows loaded and, where a SQL function gives them, against that function
# called directly; every list is paged to its end by its cursor; bad
# parameters (malformed and impossible dates, reversed and huge ranges,
# unknown group_by, funnel, segment, words, limits, cursors) are 400s naming
# the parameter, or 404s; realtime and funnel answers are cached (the same
# text within the TTL, computed once for 20 concurrent askers, fresh after).
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
itest_init push_gateway_routes

start_postgres_migrated pg
q() { psql -X -A -t -q -v ON_ERROR_STOP=1 "$PG_DSN" -c "$1"; }

# ---- the data ----
q "SELECT analytics_ensure_partitions((now() AT TIME ZONE 'UTC')::date - 3, 3)" >/dev/null

# Events: fp-1 and fp-2 active in the last 5 minutes, fp-3 10 minutes ago,
# a bot now; fp-2 converted 3 minutes ago; a bot conversion and one 2 days
# ago do not count. Referrers: google.com brought fp-1 and fp-2,
# news.ycombinator.com fp-3; fp-1's second page is internal.
q "INSERT INTO analytics_events (event_id, event_time, event_type, fingerprint, received_at,
     page_host, page_path, referrer_host, channel, is_bot)
   VALUES ('ev1', now() - interval '1 minute', 'page_view', 'fp-1', now(), 'example.com', '/pricing', 'google.com', 'organic_search', false),
          ('ev2', now() - interval '2 minutes', 'page_view', 'fp-1', now(), 'example.com', '/home', 'example.com', 'internal', false),
          ('ev3', now() - interval '3 minutes', 'page_view', 'fp-2', now(), 'example.com', '/pricing', 'google.com', 'organic_search', false),
          ('ev4', now() - interval '3 minutes', 'booking_completed', 'fp-2', now(), 'example.com', '/book', NULL, NULL, false),
          ('ev5', now() - interval '10 minutes', 'page_view', 'fp-3', now(), 'example.com', '/blog', 'news.ycombinator.com', 'referral', false),
          ('ev6', now() - interval '1 minute', 'page_view', 'bot-1', now(), 'example.com', '/pricing', 'google.com', 'organic_search', true),
          ('ev7', now() - interval '1 minute', 'booking_completed', 'bot-1', now(), 'example.com', '/book', NULL, NULL, true),
          ('ev8', now() - interval '2 days', 'booking_completed', 'fp-9', now(), 'example.com', '/book', NULL, NULL, false)"

# The booking funnel, as the journey-builder writes it, and its rollups
# (rows without visitor sets, as before migration 008: their visitors are
# their attempts). Today: organic/desktop 100 40 10 4, direct/mobile 50 10 5 1;
# three days ago organic/desktop 20 5.
q "INSERT INTO funnel_definitions (funnel, steps, strict, window_hours, abandon_from_step, abandon_after_minutes)
   VALUES ('booking', '{\"awareness: service page\",\"interest: pricing viewed\",\"consideration: booking started\",\"conversion: booking completed\"}', true, 168, 3, 60),
          ('newsletter', '{\"blog read\",\"signed up\"}', false, 24, 0, 0)"
q "INSERT INTO funnel_daily (funnel, day, step, channel, device_type, attempts, sessions, visitors_hll, inferred_hll)
   SELECT 'booking', (now() AT TIME ZONE 'UTC')::date - d, s, c, dev, n, n, NULL, NULL
     FROM (VALUES (0, 1, 'organic_search', 'desktop', 100), (0, 2, 'organic_search', 'desktop', 40),
                  (0, 3, 'organic_search', 'desktop', 10), (0, 4, 'organic_search', 'desktop', 4),
                  (0, 1, 'direct', 'mobile', 50), (0, 2, 'direct', 'mobile', 10),
                  (0, 3, 'direct', 'mobile', 5), (0, 4, 'direct', 'mobile', 1),
                  (3, 1, 'organic_search', 'desktop', 20), (3, 2, 'organic_search', 'desktop', 5)) AS v(d, s, c, dev, n)"

# Sessions: organic 2 (one visitor, one bounced, one converted), direct 2
# (two visitors, one bounced), a bot's, and a referral one 10 days ago.
q "INSERT INTO sessions (session_id, fingerprint, started_at, ended_at, duration_s, page_views,
     channel, device_type, country_code, is_bot, bounced, converted, revenue)
   VALUES ('s1', 'fp-1', now() - interval '2 hours', now() - interval '115 minutes', 300, 5, 'organic_search', 'desktop', 'US', false, false, true, 100),
          ('s2', 'fp-1', now() - interval '1 hour', now() - interval '1 hour', 0, 1, 'organic_search', 'mobile', 'US', false, true, false, 0),
          ('s3', 'fp-2', now() - interval '3 hours', now() - interval '179 minutes', 60, 2, 'direct', 'mobile', 'DE', false, false, false, 0),
          ('s4', 'fp-3', now() - interval '30 hours', now() - interval '30 hours', 0, 1, 'direct', 'desktop', NULL, false, true, false, 0),
          ('s5', 'bot-1', now() - interval '1 hour', now() - interval '1 hour', 0, 9, 'organic_search', 'desktop', 'US', true, false, false, 0),
          ('s6', 'fp-4', now() - interval '10 days', now() - interval '10 days', 10, 2, 'referral', 'desktop', 'FR', false, false, false, 0)"

# Pages: pricing today and two days ago, home today, one 20 days ago.
q "INSERT INTO page_stats_daily (day, page_hash, page, entrances, bounces, page_views, exits, unique_views, value)
   VALUES ((now() AT TIME ZONE 'UTC')::date, 1, 'example.com/pricing', 10, 4, 30, 6, 20, 50),
          ((now() AT TIME ZONE 'UTC')::date, 2, 'example.com/home', 20, 10, 25, 15, 22, 0),
          ((now() AT TIME ZONE 'UTC')::date - 2, 1, 'example.com/pricing', 5, 1, 10, 4, 8, 6),
          ((now() AT TIME ZONE 'UTC')::date - 20, 3, 'example.com/old', 9, 9, 9, 9, 9, 0)"

# Journeys: fp-1 converts, fp-2 stops at consideration (a service page twice),
# fp-3 reads two blog posts, fp-old is outside the range.
q "INSERT INTO customer_journeys (event_id, fingerprint, seq, stage, previous_stage, touchpoint, occurred_at)
   VALUES ('j1-1', 'fp-1', 1, 'awareness', NULL, 'home_page', now() - interval '3 hours'),
          ('j1-2', 'fp-1', 2, 'awareness', 'awareness', 'blog_post', now() - interval '170 minutes'),
          ('j1-3', 'fp-1', 3, 'interest', 'awareness', 'service_page', now() - interval '160 minutes'),
          ('j1-4', 'fp-1', 4, 'consideration', 'interest', 'pricing_page', now() - interval '150 minutes'),
          ('j1-5', 'fp-1', 5, 'conversion', 'consideration', 'booking_completed', now() - interval '140 minutes'),
          ('j2-1', 'fp-2', 1, 'awareness', NULL, 'home_page', now() - interval '3 hours'),
          ('j2-2', 'fp-2', 2, 'interest', 'awareness', 'service_page', now() - interval '170 minutes'),
          ('j2-3', 'fp-2', 3, 'interest', 'interest', 'service_page', now() - interval '160 minutes'),
          ('j2-4', 'fp-2', 4, 'consideration', 'interest', 'pricing_page', now() - interval '150 minutes'),
          ('j3-1', 'fp-3', 1, 'awareness', NULL, 'blog_post', now() - interval '2 hours'),
          ('j3-2', 'fp-3', 2, 'awareness', 'awareness', 'blog_post', now() - interval '1 hour'),
          ('jo-1', 'fp-old', 1, 'awareness', NULL, 'home_page', now() - interval '30 days')"

# Profiles: two one-page bouncers, a booking abandoner, one of a persona the
# model no longer has, one without a persona.
q "INSERT INTO user_behavior_profiles (fingerprint, first_seen_at, last_seen_at, lead_score, churn_risk, segment)
   VALUES ('fp-1', now() - interval '3 days', now(), 20, 0.7, 'one-page bouncer'),
          ('fp-2', now() - interval '3 days', now(), 50, 0.9, 'one-page bouncer'),
          ('fp-3', now() - interval '3 days', now(), 80, 0.2, 'booking abandoner'),
          ('fp-4', now() - interval '3 days', now(), 10, NULL, 'legacy persona'),
          ('fp-5', now() - interval '3 days', now(), 5, 0.7, NULL)"

# ---- configuration: the journeys file is needed, the persona model not ----
out="$(env ANALYTICS_PG_DSN="$PG_DSN" ANALYTICS_API_TOKENS="dash:read:$GW_READ_TOKEN" \
  ANALYTICS_JOURNEYS_FILE="$T/no-such.json" "$BIN/analytics-push-gateway" 2>&1)"
expect_eq "a journeys file that is not there: exit 78" 78 "$?"
check "...naming the variable and the file" grep -q "ANALYTICS_JOURNEYS_FILE: .*no-such.json" <<<"$out"
check "--help lists the files it reads" bash -c \
  "'$BIN/analytics-push-gateway' --help | grep -q ANALYTICS_SCORER_PERSONA_MODEL"

start_push_gateway gw
API="http://127.0.0.1:$GW_PORT/api/analytics"
GW1_PID="$GW_PID"

# get PATH: sets STATUS and BODY (with the read token).
get() {
  BODY="$(curl -s --max-time 10 -w '\n%{http_code}' -H "Authorization: Bearer $GW_READ_TOKEN" "$API/$1")"
  STATUS="${BODY##*$'\n'}"
  BODY="${BODY%$'\n'*}"
}
j() { jq -r "$1" <<<"$BODY"; }
# holds FILTER: the body satisfies the jq FILTER.
holds() { jq -e "$1" >/dev/null <<<"$BODY"; }
uri() { jq -rn --arg c "$1" '$c|@uri'; }
# bad PATH NAME: PATH answers 400 bad_parameter naming NAME.
bad() {
  get "$1"
  expect_eq "$1: 400 bad_parameter" "400 bad_parameter" "$STATUS $(j .error.code)"
  check "...naming $2" grep -q -- "$2" <<<"$(j .error.message)"
}

# ---- realtime ----
get realtime
expect_eq "realtime: 200" 200 "$STATUS"
expect_eq "active in the last 5 minutes: fp-1 and fp-2 (fp-3 10 minutes ago, the bot left out)" 2 "$(j .active_visitors)"
expect_eq "30 buckets of a minute, zeros included" 30 "$(j '.events_per_minute | length')"
expect_eq "...holding the 5 events of people" 5 "$(j '[.events_per_minute[].events] | add')"
expect_eq "...the same as an independent count" \
  "$(q "SELECT count(*) FROM analytics_events WHERE NOT is_bot AND event_time >= date_trunc('minute', now()) - interval '29 minutes'")" \
  "$(j '[.events_per_minute[].events] | add')"
check "...one minute apart, the current one last" bash -c \
  "jq -e '[.events_per_minute[].minute | sub(\"\\\\.[0-9]+\";\"\") | sub(\"\\\\+00:00\$\";\"Z\") | fromdateiso8601] | . as \$m | (\$m | length) == 30 and all(range(1; 30); \$m[.] - \$m[. - 1] == 60)' <<<'$BODY' >/dev/null"
expect_eq "top pages: pricing twice (the bot left out), then home, blog" \
  "example.com/pricing:2:2 example.com/blog:1:1 example.com/home:1:1" \
  "$(j '[.top_pages[] | "\(.page):\(.views):\(.visitors)"] | join(" ")')"
expect_eq "top referrers: external ones only" "google.com:2 news.ycombinator.com:1" \
  "$(j '[.top_referrers[] | "\(.referrer):\(.visitors)"] | join(" ")')"
expect_eq "conversions today: fp-2's (not the bot's, not 2 days ago)" "1 1 1" \
  "$(j '"\(.conversions_today.conversions) \(.conversions_today.visitors) \(.conversions_today.by_type.booking_completed)"')"
expect_eq "live funnel counts today (funnel_report)" "booking:150,50,15,5 newsletter:0,0" \
  "$(j '[.funnels[] | "\(.funnel):\([.steps[].visitors] | join(","))"] | join(" ")')"

# The cache: the same text within the second, computed once for concurrent
# askers, fresh after. Each is tried up to 3 times until its requests fit
# well within the second (a loaded machine, or a sanitizer build, may take
# longer, and then two computations are right).
ms_now() { echo $(( $(date +%s%N) / 1000000 )); }
for try in 1 2 3; do
  sleep 1.1
  t0=$(ms_now)
  get realtime
  first="$BODY"
  get realtime
  [ $(( $(ms_now) - t0 )) -lt 800 ] && break
done
expect_eq "realtime twice within a second: the same text" "$first" "$BODY"
cache_metric() {
  curl -s "http://127.0.0.1:$GW_ADMIN/metrics" | awk -v l="analytics_gateway_cache_total{result=\"$1\"}" '$1 == l { print $2 }'
}
for try in 1 2 3; do
  sleep 1.1
  before="$(cache_metric computed)"
  t0=$(ms_now)
  pids=()
  for i in $(seq 20); do
    curl -s -o "$T/rt.$i" -H "Authorization: Bearer $GW_READ_TOKEN" "$API/realtime" &
    pids+=($!)
  done
  wait "${pids[@]}"
  [ $(( $(ms_now) - t0 )) -lt 800 ] && break
done
expect_eq "20 concurrent askers: computed once" "$((before + 1))" "$(cache_metric computed)"
expect_eq "...all given the same text" 1 "$(md5sum "$T"/rt.* | cut -d" " -f1 | sort -u | wc -l)"
check "...newer than the one before" test "$(jq -r .generated_at "$T/rt.1")" != "$(jq -r .generated_at <<<"$first")"
bad "realtime?x=1" "x"

# ---- funnel and funnels ----
get "funnel?name=booking"
expect_eq "funnel: 200" 200 "$STATUS"
expect_eq "last 7 days: visitors per step" "170,55,15,5" "$(j '[.steps[].visitors] | join(",")')"
expect_eq "...as funnel_report says" \
  "$(q "SELECT string_agg(visitors::text, ',' ORDER BY step) FROM funnel_report('booking', now() - interval '7 days', now())")" \
  "$(j '[.steps[].visitors] | join(",")')"
expect_eq "drop-off per step" "null,115,40,10" "$(j '[.steps[].drop_off] | map(tostring) | join(",")')"
expect_eq "conversion from the previous step and from the first" "0.324 0.273 0.029 0.029" \
  "$(j '[(.steps[1].conversion_from_previous), (.steps[2].conversion_from_previous), (.steps[3].conversion_from_first), .overall_conversion] | map(. * 1000 | round / 1000) | map(tostring) | join(" ")')"
check "...55/170 exactly" holds '.steps[1].conversion_from_previous == 55/170 and .steps[1].drop_off_rate == 115/170'
expect_eq "step names from the definition" "awareness: service page" "$(j '.steps[0].name')"
get "funnel?name=booking&channel=direct"
expect_eq "channel=direct" "50,10,5,1" "$(j '[.steps[].visitors] | join(",")')"
get "funnel?name=booking&device=desktop&channel=organic_search"
expect_eq "channel and device" "120,45,10,4" "$(j '[.steps[].visitors] | join(",")')"
get "funnel?name=booking&device=tablet"
expect_eq "a device with nothing: zeros, no rates" "0,0,0,0 null" "$(j '([.steps[].visitors] | join(",")) + " " + (.overall_conversion | tostring)')"
today="$(q "SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD')")"
get "funnel?name=booking&from=$today"
expect_eq "from today's date (to now)" "150,50,15,5" "$(j '[.steps[].visitors] | join(",")')"
get "funnel?name=booking&from=${today}T00:00:00Z&to=${today}T00:00:00%2B00:00"
expect_eq "an empty range (from = to)" "0,0,0,0" "$(j '[.steps[].visitors] | join(",")')"
get "funnel?name=nope"
expect_eq "an unknown funnel: 404" "404 not_found" "$STATUS $(j .error.code)"
bad "funnel" "name"
bad "funnel?name=booking&from=2026-13-01" "from"
bad "funnel?name=booking&from=2026-02-30" "from"
bad "funnel?name=booking&to=yesterday" "to"
bad "funnel?name=booking&from=2026-01-01T25:00:00Z" "from"
bad "funnel?name=booking&from=2026-01-01T10:00:00Z%2B01" "from"
bad "funnel?name=booking&from=1969-12-31" "from"
bad "funnel?name=booking&from=2026-02-01&to=2026-01-01" "from is after to"
bad "funnel?name=booking&from=2024-01-01&to=2025-06-01" "400 days"
bad "funnel?name=booking&from=99999999999999999999" "from"
bad "funnel?name=booking&channel=Direct%20Mail" "channel"
bad "funnel?name=booking&device=$(printf 'd%.0s' {1..80})" "device"
bad "funnel?name=booking&name=other" "name"
bad "funnel?name=booking&colour=red" "colour"
get "funnel?name=booking&from=2026-01-01T08:00:00.123%2B02:00&to=2026-01-02"
expect_eq "an offset and a fraction" "200 2026-01-01T06:00:00.123+00:00" "$STATUS $(j .from)"
get "funnel?name=booking&from=2026-01-01T08:00+02:00&to=2026-01-02"
expect_eq "an unencoded + (a space once decoded) is the offset's" "200 2026-01-01T06:00:00+00:00" "$STATUS $(j .from)"

# The funnel cache: the same parameters within 5 s give the same text even
# when the rollups change; after it, the new numbers.
t0=$(ms_now)
get "funnel?name=booking&channel=direct"
first="$BODY"
q "UPDATE funnel_daily SET attempts = attempts + 1000 WHERE channel = 'direct' AND step = 1"
get "funnel?name=booking&channel=direct"
took=$(( $(ms_now) - t0 ))
check "(within the funnel's 5 s: $took ms)" test "$took" -lt 5000
expect_eq "funnel: the same parameters within the TTL: the same text" "$first" "$BODY"
get "funnel?name=booking&channel=direct&device=mobile"
expect_eq "...other parameters: computed afresh" 1050 "$(j '.steps[0].visitors')"
sleep 5.1
get "funnel?name=booking&channel=direct"
expect_eq "...after the TTL: the new numbers" 1050 "$(j '.steps[0].visitors')"
q "UPDATE funnel_daily SET attempts = attempts - 1000 WHERE channel = 'direct' AND step = 1"

get funnels
expect_eq "funnels: both, by name, with their steps" "booking:4:true newsletter:2:false" \
  "$(j '[.funnels[] | "\(.name):\(.steps | length):\(.strict)"] | join(" ")')"
expect_eq "...step names in order" "conversion: booking completed" "$(j '.funnels[0].steps[3].name')"
get "funnels?limit=1"
expect_eq "a page of one" "booking 0:booking" "$(j '.funnels[0].name') $(j .next_cursor)"
get "funnels?limit=1&cursor=$(uri "$(j .next_cursor)")"
expect_eq "...the next" "newsletter" "$(j '.funnels[0].name')"
bad "funnels?cursor=booking" "cursor"
bad "funnels?limit=0" "limit"

# ---- journeys ----
get "journeys?fingerprint=fp-1"
expect_eq "journeys: fp-1's five touchpoints in order, converted" "200 5 conversion 1,2,3,4,5" \
  "$STATUS $(j .touchpoints) $(j .stage) $(j '[.journey[].seq] | join(",")')"
expect_eq "...as visitor_journey says" "$(q "SELECT string_agg(touchpoint, ',' ORDER BY seq) FROM visitor_journey('fp-1')")" \
  "$(j '[.journey[].touchpoint] | join(",")')"
pages=""
cur=""
for i in 1 2 3 4; do
  get "journeys?fingerprint=fp-1&limit=2${cur:+&cursor=$(uri "$cur")}"
  pages+="$(j '[.journey[].seq] | join(",")');"
  cur="$(j '.next_cursor // empty')"
  [ -z "$cur" ] && break
done
expect_eq "paged by two to its end" "1,2;3,4;5;" "$pages"
get "journeys?fingerprint=nobody"
expect_eq "no journey: 404" "404 not_found" "$STATUS $(j .error.code)"
bad "journeys" "fingerprint"
bad "journeys?fingerprint=fp-1&cursor=x:y" "cursor"
bad "journeys?fingerprint=fp-1&cursor=0:j1-1" "cursor"

get "journeys/flows"
expect_eq "flows: 200, 3 visitors in range, 1 converted" "200 3 1" "$STATUS $(j .visitors) $(j .converted)"
expect_eq "stage changes" "awareness>interest:2 interest>consideration:2 consideration>conversion:1" \
  "$(j '[.stages[] | "\(.source)>\(.target):\(.transitions)"] | join(" ")')"
expect_eq "touchpoint to touchpoint, repeats collapsed" \
  "service_page>pricing_page:2 blog_post>service_page:1 home_page>blog_post:1 home_page>service_page:1 pricing_page>booking_completed:1" \
  "$(j '[.touchpoints[] | "\(.source)>\(.target):\(.transitions)"] | join(" ")')"
expect_eq "drop-offs by last stage" "awareness:1 consideration:1" \
  "$(j '[.drop_offs[] | "\(.stage):\(.visitors)"] | join(" ")')"
expect_eq "top paths" "awareness:1 awareness>interest>consideration:1 awareness>interest>consideration>conversion:1" \
  "$(j '[.top_paths[] | "\(.path | join(">")):\(.visitors)"] | join(" ")')"
expect_eq "...the stage changes as an independent count" \
  "$(q "SELECT count(*) FROM customer_journeys WHERE previous_stage <> stage AND occurred_at > now() - interval '7 days'")" \
  "$(j '[.stages[].transitions] | add')"
get "journeys/flows?from=$(q "SELECT to_char((now() - interval '40 days') AT TIME ZONE 'UTC', 'YYYY-MM-DD')")"
expect_eq "40 days back: fp-old too" 4 "$(j .visitors)"
bad "journeys/flows?to=2026-01-01T00:00:00Q" "to"
bad "journeys/flows?from=2030-01-01&to=2029-01-01" "from is after to"

# ---- sessions ----
get "sessions"
expect_eq "sessions by channel (default): 200" "200 channel" "$STATUS $(j .group_by)"
expect_eq "direct 2 sessions 2 visitors, organic 2 sessions 1 visitor (bot and 10 days ago left out)" \
  "direct:2:2:0.5:0 organic_search:2:1:0.5:0.5" \
  "$(j '[.groups[] | "\(.key):\(.sessions):\(.visitors):\(.bounce_rate):\(.conversion_rate)"] | join(" ")')"
expect_eq "...each channel's sessions as sessions_by_channel_device's summed" \
  "$(q "SELECT string_agg(channel || ':' || n, ' ' ORDER BY n DESC, channel) FROM (SELECT channel, sum(sessions) AS n FROM sessions_by_channel_device(now() - interval '7 days', now()) GROUP BY 1) x")" \
  "$(j '[.groups[] | "\(.key):\(.sessions)"] | join(" ")')"
expect_eq "revenue and page views" "100 6" "$(j '.groups[1].revenue') $(j '.groups[1].page_views')"
get "sessions?group_by=device"
expect_eq "by device" "desktop:2:2 mobile:2:2" "$(j '[.groups[] | "\(.key):\(.sessions):\(.visitors)"] | join(" ")')"
pages=""
cur=""
for i in 1 2 3 4; do
  get "sessions?group_by=country&limit=1${cur:+&cursor=$(uri "$cur")}"
  pages+="$(j '[.groups[] | "\(.key):\(.sessions)"] | join(",")');"
  cur="$(j '.next_cursor // empty')"
  [ -z "$cur" ] && break
done
expect_eq "by country, paged by one to its end (a missing one is unknown)" "US:2;DE:1;unknown:1;;" "$pages"
get "sessions?from=$(q "SELECT to_char((now() - interval '12 days') AT TIME ZONE 'UTC', 'YYYY-MM-DD')")"
expect_eq "12 days back: the referral session too" 5 "$(j '[.groups[].sessions] | add')"
bad "sessions?group_by=city" "group_by"
bad "sessions?group_by=" "group_by"
bad "sessions?limit=1001" "limit"
bad "sessions?cursor=2" "cursor"
bad "sessions?cursor=-1:US" "cursor"
bad "sessions?from=2026-01-01T10" "from"

# ---- pages ----
get "pages"
expect_eq "pages: 200, the last 7 days' two" "200 2" "$STATUS $(j '.pages | length')"
expect_eq "pricing: views, entrances, rates, page value (two days summed)" "example.com/pricing 40 15 0.333 0.25 2" \
  "$(j '.pages[0] | "\(.page) \(.views) \(.entrances) \(.bounce_rate * 1000 | round / 1000) \(.exit_rate) \(.page_value)"')"
expect_eq "home" "example.com/home 25 0.5 0.6 0" \
  "$(j '.pages[1] | "\(.page) \(.views) \(.bounce_rate) \(.exit_rate) \(.page_value)"')"
get "pages?limit=1"
expect_eq "a page of one" "example.com/pricing 40:1" "$(j '.pages[0].page') $(j .next_cursor)"
get "pages?limit=1&cursor=$(uri "$(j .next_cursor)")"
expect_eq "...then home, and a last page without a cursor after it" "example.com/home" "$(j '.pages[0].page')"
get "pages?limit=1&cursor=$(uri "$(j .next_cursor)")"
expect_eq "...then none" "0 null" "$(j '.pages | length') $(j .next_cursor)"
get "pages?from=$today"
expect_eq "today only" "30" "$(j '.pages[0].views')"
bad "pages?cursor=40:x" "cursor"
bad "pages?cursor=40:99999999999999999999" "cursor"
bad "pages?to=2026-01-01&from=2026-02-01T00:00:00Z" "from is after to"

# ---- segments, members, churn ----
get segments
expect_eq "segments: 200, biggest first, then by name" "200 one-page bouncer:2" "$STATUS $(j '.segments[0] | "\(.name):\(.size)"')"
expect_eq "sizes as an independent count" \
  "$(q "SELECT string_agg(segment || ':' || n, ' ' ORDER BY n DESC, segment) FROM (SELECT segment, count(*) n FROM user_behavior_profiles WHERE segment IS NOT NULL GROUP BY 1) x")" \
  "$(j '[.segments[] | select(.size > 0) | "\(.name):\(.size)"] | join(" ")')"
expect_eq "descriptions from the persona model" \
  "$(jq -r '.personas[] | select(.name == "one-page bouncer") | .description' "$SRC/deploy/models/personas.json")" \
  "$(j '.segments[0].description')"
expect_eq "every persona of the model listed, and one that is not in it" \
  "$(jq '.personas | length + 1' "$SRC/deploy/models/personas.json")" "$(j '.segments | length')"
expect_eq "...without a description" "null false" \
  "$(j '.segments[] | select(.name == "legacy persona") | "\(.description) \(.in_model)"')"
expect_eq "model version" "$(jq -r .model_version "$SRC/deploy/models/personas.json")" "$(j .model_version)"
get "segments?limit=2"
cur="$(j .next_cursor)"
get "segments?limit=2&cursor=$(uri "$cur")"
expect_eq "paged: the next two after booking abandoner" "legacy persona:1" "$(j '.segments[0] | "\(.name):\(.size)"')"
get "segments/one-page%20bouncer/members"
expect_eq "members: best lead first" "200 fp-2 fp-1" "$STATUS $(j '[.members[].fingerprint] | join(" ")')"
get "segments/one-page%20bouncer/members?limit=1"
get "segments/one-page%20bouncer/members?limit=1&cursor=$(uri "$(j .next_cursor)")"
expect_eq "...paged" "fp-1" "$(j '[.members[].fingerprint] | join(" ")')"
get "segments/$(uri "$(jq -r '.personas[-1].name' "$SRC/deploy/models/personas.json")")/members"
expect_eq "a persona of the model without members: an empty page" "200 0" "$STATUS $(j '.members | length')"
get "segments/nobody/members"
expect_eq "an unknown segment: 404" "404 not_found" "$STATUS $(j .error.code)"
bad "segments/one-page%20bouncer/members?cursor=101:fp-1" "cursor"

get churn
expect_eq "churn: at risk (0.5 by default), riskiest first" "200 fp-2 fp-1 fp-5" "$STATUS $(j '[.visitors[].fingerprint] | join(" ")')"
get "churn?min_risk=0.7"
expect_eq "min_risk=0.7 keeps a stored 0.7" 3 "$(j '.visitors | length')"
get "churn?min_risk=0.95"
expect_eq "min_risk=0.95: none" 0 "$(j '.visitors | length')"
get "churn?limit=2"
expect_eq "a page of two" "fp-2 fp-1" "$(j '[.visitors[].fingerprint] | join(" ")')"
get "churn?limit=2&cursor=$(uri "$(j .next_cursor)")"
expect_eq "...the next after the tie at 0.7" "fp-5 null" "$(j '[.visitors[].fingerprint] | join(" ")') $(j .next_cursor)"
bad "churn?min_risk=2" "min_risk"
bad "churn?min_risk=nan" "min_risk"
bad "churn?min_risk=abc" "min_risk"
bad "churn?cursor=0.5" "cursor"
bad "churn?cursor=inf:fp-1" "cursor"
bad "churn?limit=99999999999999999999" "limit"

# Without a readable persona model: sizes, no descriptions, and a warning.
echo '{"personas": 3}' >"$T/personas-bad.json"
start_push_gateway gw2 ANALYTICS_SCORER_PERSONA_MODEL="$T/personas-bad.json"
check "an unreadable persona model: a warning" log_has "$T/gw2.log" gateway.personas_unavailable
API2="http://127.0.0.1:$GW_PORT/api/analytics"
BODY="$(curl -s -H "Authorization: Bearer $GW_READ_TOKEN" "$API2/segments")"
expect_eq "...segments from the profiles alone" "one-page bouncer:2:null booking abandoner:1:null legacy persona:1:null" \
  "$(j '[.segments[] | "\(.name):\(.size):\(.description)"] | join(" ")')"
expect_clean_stop "the second gateway stops cleanly" "$GW_PID" 10

# ---- PostgreSQL away ----
pg_local_stop "$PG_DATA"
get "funnel?name=newsletter"
expect_eq "PostgreSQL down: 503" "503 unavailable" "$STATUS $(j .error.code)"
check "...as JSON" holds .error.message

expect_clean_stop "SIGTERM exits 0" "$GW1_PID" 10
itest_finish
