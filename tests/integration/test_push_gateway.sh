#!/usr/bin/env bash
# The push-gateway's REST API (issue 15) against a real PostgreSQL: tokens
# (none, wrong, a scope too small), JSON errors with stable codes and the
# bad parameter named, the best leads paged by cursor, one visitor's
# insights, 404 for an unknown visitor or route, bad input of every kind
# (huge and malformed parameters, invalid UTF-8, a huge path), and
# PostgreSQL stopped and started again: 503 and readiness false, then
# answers again without a restart. Bad configuration exits 78 without
# printing a token.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
itest_init push_gateway

start_devbroker
start_redis_free redis
start_postgres_migrated pg
q() { psql -X -A -t -q -v ON_ERROR_STOP=1 "$PG_DSN" -c "$1"; }

# Three visitors with profiles, one with predictions and sessions.
q "INSERT INTO user_behavior_profiles (fingerprint, first_seen_at, last_seen_at, sessions, events,
     page_views, pricing_views, lead_score, churn_risk, conversion_probability, segment, journey_stage)
   VALUES ('fp-a', now() - interval '3 days', now(), 3, 40, 20, 4, 91, 0.1, 0.9, 'high-intent booker', 'decision'),
          ('fp-b', now() - interval '1 day', now(), 1, 5, 3, 0, 40, 0.5, 0.4, 'one-page bouncer', 'awareness'),
          ('fp/c é', now() - interval '1 day', now(), 2, 9, 6, 1, 91, 0.2, 0.88, 'price comparer', 'consideration')"
q "INSERT INTO ml_predictions (cause_event_id, model_version, fingerprint, predicted_at, lead_score,
     churn_risk, conversion_probability, segment, reasons)
   VALUES ('e1', 'm1', 'fp-a', now() - interval '1 hour', 60, 0.2, 0.6, 'browser', '{\"returning visitor\"}'),
          ('e2', 'm1', 'fp-a', now(), 91, 0.1, 0.9, 'high-intent booker', '{\"viewed pricing 4 times\",\"returning visitor\"}')"
q "INSERT INTO sessions (session_id, fingerprint, started_at, ended_at, page_views)
   VALUES ('s-a1', 'fp-a', now() - interval '2 hours', now() - interval '1 hour', 7)"

# ---- configuration ----
out="$(env ANALYTICS_PG_DSN="$PG_DSN" ANALYTICS_API_TOKENS= "$BIN/analytics-push-gateway" 2>&1)"
expect_eq "no tokens: exit 78" 78 "$?"
check "...naming the variable" grep -q "ANALYTICS_API_TOKENS" <<<"$out"
out="$(env ANALYTICS_PG_DSN="$PG_DSN" ANALYTICS_API_TOKENS="x:write:secret-secret-secret-1" "$BIN/analytics-push-gateway" 2>&1)"
expect_eq "a bad scope: exit 78" 78 "$?"
check "...saying what is wrong" grep -q "the scope must be read or admin" <<<"$out"
check "...never the token" bash -c "! grep -q secret-secret <<<'$out'"

start_push_gateway gw ANALYTICS_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0" \
  ANALYTICS_PUSH_GATEWAY_WRITE_KEYS=shop:wk-0123456789 ANALYTICS_PUSH_GATEWAY_CORS_ORIGINS=https://shop.example \
  ANALYTICS_PUSH_GATEWAY_RATE_LIMIT=1 ANALYTICS_PUSH_GATEWAY_RATE_BURST=30
API="http://127.0.0.1:$GW_PORT/api/analytics"
check "ready with PostgreSQL and the broker up" wait_for 20 http_status_is "http://127.0.0.1:$GW_ADMIN/readyz" 200

# get PATH [TOKEN]: sets STATUS and BODY.
get() {
  local auth=()
  [ -n "${2:-}" ] && auth=(-H "Authorization: Bearer $2")
  BODY="$(curl -s --max-time 10 -w '\n%{http_code}' "${auth[@]}" "$API/$1")"
  STATUS="${BODY##*$'\n'}"
  BODY="${BODY%$'\n'*}"
}
code() { jq -r '.error.code' <<<"$BODY"; }

# ---- access ----
get leads
expect_eq "no token: 401" "401 unauthorized" "$STATUS $(code)"
hdr="$(curl -s -D - -o /dev/null "$API/leads" | tr -d '\r' | grep -i '^WWW-Authenticate')"
check "...with WWW-Authenticate: Bearer" grep -q "Bearer" <<<"$hdr"
get leads wrong-token-0123456789
expect_eq "a wrong token: 401" "401 unauthorized" "$STATUS $(code)"
get leads "${GW_READ_TOKEN}x"
expect_eq "the read token and one byte more: 401" 401 "$STATUS"
BODY="$(curl -s -w '\n%{http_code}' -H "Authorization: Basic $GW_READ_TOKEN" "$API/leads")"
expect_eq "another scheme: 401" 401 "${BODY##*$'\n'}"
check "tokens never reach the log" bash -c "! grep -q -e '$GW_READ_TOKEN' -e 'wrong-token' '$T/gw.log'"

# ---- leads ----
get "leads" "$GW_READ_TOKEN"
expect_eq "leads: 200" 200 "$STATUS"
expect_eq "best first, ties by fingerprint" "fp-a fp/c é fp-b" "$(jq -r '[.leads[].fingerprint] | join(" ")' <<<"$BODY")"
expect_eq "with the latest reasons and the persona" "viewed pricing 4 times|high-intent booker" \
  "$(jq -r '.leads[0] | "\(.reasons[0])|\(.persona)"' <<<"$BODY")"
expect_eq "no next page" null "$(jq -r .next_cursor <<<"$BODY")"
get "leads?min_score=50" "$GW_ADMIN_TOKEN"
expect_eq "min_score, and admin reads too" 2 "$(jq '.leads | length' <<<"$BODY")"
get "leads?limit=1" "$GW_READ_TOKEN"
cur="$(jq -r .next_cursor <<<"$BODY")"
expect_eq "a page of one, with a cursor" "fp-a 91:fp-a" "$(jq -r '.leads[0].fingerprint' <<<"$BODY") $cur"
get "leads?limit=1&cursor=$(jq -rn --arg c "$cur" '$c|@uri')" "$GW_READ_TOKEN"
cur="$(jq -r .next_cursor <<<"$BODY")"
expect_eq "the next page" "fp/c é" "$(jq -r '.leads[0].fingerprint' <<<"$BODY")"
get "leads?limit=1&cursor=$(jq -rn --arg c "$cur" '$c|@uri')" "$GW_READ_TOKEN"
expect_eq "the last page" "fp-b" "$(jq -r '.leads[0].fingerprint' <<<"$BODY")"

# ---- bad parameters: 400 naming them ----
for bad in "min_score=abc|min_score" "min_score=101|min_score" "limit=0|limit" "limit=1001|limit" \
           "limit=99999999999999999999|limit" "cursor=nonsense|cursor" "cursor=%FF%FE|cursor" \
           "colour=red|colour" "min_score=1&min_score=$(printf 'x%.0s' {1..600})|min_score"; do
  get "leads?${bad%%|*}" "$GW_READ_TOKEN"
  expect_eq "leads?${bad%%|*}: 400 bad_parameter" "400 bad_parameter" "$STATUS $(code)"
  check "...naming ${bad##*|}" grep -q "${bad##*|}" <<<"$(jq -r .error.message <<<"$BODY")"
done

# ---- insights ----
get "insights/fp-a" "$GW_READ_TOKEN"
expect_eq "insights: 200" 200 "$STATUS"
expect_eq "profile, scores, persona, sessions, predictions" "40 91 high-intent booker 1 2 returning visitor" \
  "$(jq -r '"\(.profile.events) \(.scores.lead_score) \(.persona) \(.sessions | length) \(.predictions | length) \(.predictions[0].reasons[0])"' <<<"$BODY")"
get "insights/fp%2Fc%20%C3%A9" "$GW_READ_TOKEN"
expect_eq "an encoded fingerprint" "200 fp/c é" "$STATUS $(jq -r .fingerprint <<<"$BODY")"
get "insights/nobody" "$GW_READ_TOKEN"
expect_eq "an unknown visitor: 404" "404 not_found" "$STATUS $(code)"
get "insights/%FF" "$GW_READ_TOKEN"
expect_eq "a fingerprint not UTF-8: 404" 404 "$STATUS"
get "insights/$(printf 'f%.0s' {1..5000})" "$GW_READ_TOKEN"
check "a 5000-byte fingerprint: refused (4xx)" test "${STATUS:0:1}" = 4
get "nowhere" "$GW_READ_TOKEN"
expect_eq "an unknown route: 404" "404 not_found" "$STATUS $(code)"
BODY="$(curl -s -w '\n%{http_code}' -X POST -H "Authorization: Bearer $GW_READ_TOKEN" "$API/leads")"
expect_eq "POST to a GET route: 405" 405 "${BODY##*$'\n'}"
check "every answer is JSON" jq -e . <<<"${BODY%$'\n'*}"

# ---- audiences: conditions of deploy/config/audiences.json, evaluated when asked ----
get audiences "$GW_READ_TOKEN"
expect_eq "audiences: hot leads without a booking, and price comparers of the week" "200 2 2" \
  "$STATUS $(jq -r '[.[] | select(.name == "hot-leads-no-booking" or .name == "price-comparers-7d") | .size] | join(" ")' <<<"$BODY")"
check "each with its description" jq -e 'all(.[]; (.description | length) > 0)' <<<"$BODY"
get "audiences/hot-leads-no-booking/members" "$GW_READ_TOKEN"
expect_eq "its members, by fingerprint" "fp-a|fp/c é" "$(jq -r '[.members[].fingerprint] | join("|")' <<<"$BODY")"
get "audiences/hot-leads-no-booking/members?limit=1" "$GW_READ_TOKEN"
cur="$(jq -r .next_cursor <<<"$BODY")"
get "audiences/hot-leads-no-booking/members?limit=1&cursor=$(jq -rn --arg c "$cur" '$c|@uri')" "$GW_READ_TOKEN"
expect_eq "paged by cursor" "fp-a fp/c é" "$cur $(jq -r '.members[0].fingerprint' <<<"$BODY")"
csv="$(curl -s -D "$T/csv.h" -H "Authorization: Bearer $GW_READ_TOKEN" "$API/audiences/hot-leads-no-booking/members?format=csv")"
expect_eq "as CSV for ad platforms: a header and a quoted row each" \
  'fingerprint,user_id,lead_score,persona|"fp-a","",91,"high-intent booker"|"fp/c é","",91,"price comparer"' \
  "$(cut -d, -f1-4 <<<"$csv" | tr '\n' '|' | sed 's/|$//')"
check "...served as text/csv" grep -qi '^Content-Type: text/csv' "$T/csv.h"
check "...the header naming every column" grep -qx 'fingerprint,user_id,lead_score,persona,last_seen_at' <<<"$csv"
check "...and times in UTC" grep -qE ',[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$' <<<"$csv"
get "audiences/hot-leads-no-booking/members?format=xml" "$GW_READ_TOKEN"
expect_eq "another format: 400" "400 bad_parameter" "$STATUS $(code)"
get "audiences/nobody-defined-this/members" "$GW_READ_TOKEN"
expect_eq "an audience not defined: 404" "404 not_found" "$STATUS $(code)"

# ---- personalize: public, with the site's write key, from Redis ----
redis-cli -p "$REDIS_PORT" hset analytics.profile:fp-a lead_score 91 persona "high-intent booker" \
  bookings_completed 0 bookings_started 0 sessions 3 >/dev/null
redis-cli -p "$REDIS_PORT" hset analytics.profile:fp-loyal lead_score 30 persona "loyal booker" \
  bookings_completed 4 sessions 9 returning 1 >/dev/null
# pz PATH [curl args]: GET with the write key; sets STATUS and BODY.
pz() { local p="$1"; shift; BODY="$(curl -s --max-time 10 -w '\n%{http_code}' -H 'X-Write-Key: wk-0123456789' "$@" "$API/personalize/$p")"; STATUS="${BODY##*$'\n'}"; BODY="${BODY%$'\n'*}"; }
pz fp-a
expect_eq "a hot lead without a booking: the booking nudge" "200 hot book-now high-intent booker true" \
  "$STATUS $(jq -r '"\(.band) \(.answer.id) \(.persona) \(.known)"' <<<"$BODY")"
pz nobody-yet
expect_eq "no profile: the default answer, not an error" "200 welcome false low" \
  "$STATUS $(jq -r '"\(.answer.id) \(.known) \(.band)"' <<<"$BODY")"
BODY="$(curl -s -w '\n%{http_code}' "$API/personalize/fp-a")"
expect_eq "no write key: 401" 401 "${BODY##*$'\n'}"
BODY="$(curl -s -w '\n%{http_code}' -H 'X-Write-Key: wk-0123456788' "$API/personalize/fp-a")"
expect_eq "a wrong write key: 401" 401 "${BODY##*$'\n'}"
hdr="$(curl -s -D - -o /dev/null -H 'X-Write-Key: wk-0123456789' -H 'Origin: https://shop.example' "$API/personalize/fp-a" | tr -d '\r')"
check "the site's origin: allowed, said so" grep -q '^Access-Control-Allow-Origin: https://shop.example' <<<"$hdr"
pz fp-a -H 'Origin: https://evil.example'
expect_eq "another origin: 403" "403 origin_not_allowed" "$STATUS $(jq -r .error.code <<<"$BODY")"
pre="$(curl -s -o /dev/null -w '%{http_code}' -X OPTIONS -H 'Origin: https://shop.example' -H 'Access-Control-Request-Method: GET' "$API/personalize/fp-a")"
expect_eq "a preflight: 204" 204 "$pre"
pz fp-a -H "Authorization: Bearer $GW_READ_TOKEN"
expect_eq "a token is not needed, nor used" 200 "$STATUS"
for _ in $(seq 40); do pz fp-a; [ "$STATUS" = 429 ] && break; done
expect_eq "past the burst: 429 rate_limited" "429 rate_limited" "$STATUS $(jq -r .error.code <<<"$BODY")"
sleep 2
stop_process "$REDIS_PID" 10
pz fp-a
expect_eq "Redis down: 503 unavailable" "503 unavailable" "$STATUS $(jq -r .error.code <<<"$BODY")"
check "readiness false without Redis" wait_for 10 http_status_is "http://127.0.0.1:$GW_ADMIN/readyz" 503
start_redis redis "$REDIS_PORT" || { echo "redis did not restart"; exit 1; }
redis-cli -p "$REDIS_PORT" hset analytics.profile:fp-loyal lead_score 30 persona "loyal booker" bookings_completed 4 sessions 9 >/dev/null
check "Redis back: answers again without a restart" wait_for 15 bash -c \
  "[ \"\$(curl -s -o /dev/null -w '%{http_code}' -H 'X-Write-Key: wk-0123456789' '$API/personalize/fp-loyal')\" = 200 ]"
check "readiness true with Redis back" wait_for 10 http_status_is "http://127.0.0.1:$GW_ADMIN/readyz" 200

# ---- privacy requests: admin scope, recorded and published together ----
# priv PATH BODY TOKEN [curl args]: POST; sets STATUS and BODY.
priv() { local p="$1" b="$2" t="$3"; shift 3; BODY="$(curl -s --max-time 15 -w '\n%{http_code}' -X POST -H "Authorization: Bearer $t" -H 'Content-Type: application/json' --data-binary "$b" "$@" "$API/privacy/$p")"; STATUS="${BODY##*$'\n'}"; BODY="${BODY%$'\n'*}"; }
priv erase '{"fingerprint":"fp-a"}' "$GW_READ_TOKEN"
expect_eq "erase with a read token: 403" "403 forbidden" "$STATUS $(code)"
priv erase '{"fingerprint":"fp-a","user_id":"u-7"}' "$GW_ADMIN_TOKEN"
expect_eq "erase with the admin token: 202 pending" "202 erase pending" "$STATUS $(jq -r '"\(.action) \(.status)"' <<<"$BODY")"
rid="$(jq -r .request_id <<<"$BODY")"
expect_eq "recorded in privacy_requests, by the token's name" "erase|fp-a|u-7|ops|pending" \
  "$(q "SELECT action || '|' || fingerprint || '|' || user_id || '|' || requested_by || '|' || status FROM privacy_requests WHERE request_id = '$rid'")"
check "published on privacy, keyed by the fingerprint" bash -c \
  "'$BIN/analytics-dump' --brokers '$BROKERS' --topic analytics.privacy --type privacy --timeout-ms 5000 | jq -e 'select(.value.request_id == \"$rid\" and .key == \"fp-a\" and .value.action == \"PRIVACY_ACTION_ERASE\")' >/dev/null"
priv consent '{"fingerprint":"fp-b","consent":{"necessary":true,"analytics":false,"marketing":false}}' "$GW_ADMIN_TOKEN"
crid="$(jq -r .request_id <<<"$BODY")"
expect_eq "a consent change: 202, the consent kept" "202 false" "$STATUS $(q "SELECT consent->>'analytics' FROM privacy_requests WHERE request_id = '$crid'")"
priv export '{"user_id":"u-7"}' "$GW_ADMIN_TOKEN"
expect_eq "an export by user id: 202" 202 "$STATUS"
get "privacy/requests/$rid" "$GW_ADMIN_TOKEN"
expect_eq "its status, with no steps yet" "200 pending 0" "$STATUS $(jq -r '"\(.status) \(.steps | length)"' <<<"$BODY")"
get "privacy/requests/no-such-id" "$GW_ADMIN_TOKEN"
expect_eq "an unknown request: 404" 404 "$STATUS"
rows="$(q "SELECT count(*) FROM privacy_requests")"
for bad in 'not json|bad_body' '[1,2]|bad_body' '{}|bad_parameter' '{"fingerprint":""}|bad_parameter' \
           '{"fingerprint":42}|bad_parameter' "{\"fingerprint\":\"$(printf 'f%.0s' {1..300})\"}|bad_parameter"; do
  priv erase "${bad%|*}" "$GW_ADMIN_TOKEN"
  expect_eq "erase ${bad%|*}: 400 ${bad##*|}" "400 ${bad##*|}" "$STATUS $(code)"
done
priv consent '{"fingerprint":"fp-b","consent":{"analytics":"no"}}' "$GW_ADMIN_TOKEN"
expect_eq "a consent not true or false: 400" "400 bad_parameter" "$STATUS $(code)"
priv consent '{"fingerprint":"fp-b","consent":{"tracking":true}}' "$GW_ADMIN_TOKEN"
expect_eq "a consent category not known: 400" "400 bad_parameter" "$STATUS $(code)"
priv erase "$(printf '{"fingerprint":"%s"}' "$(head -c 20000 /dev/zero | tr '\0' x)")" "$GW_ADMIN_TOKEN"
expect_eq "a 20 KB body: 413" "413 too_large" "$STATUS $(code)"
priv erase "$(printf '{"fingerprint":"fp-\xff"}')" "$GW_ADMIN_TOKEN"
expect_eq "a body not UTF-8: 400" "400 bad_body" "$STATUS $(code)"
priv erase "$(python3 -c 'print("[" * 5000 + "]" * 5000)')" "$GW_ADMIN_TOKEN"
expect_eq "5,000 levels of nesting: 400" "400 bad_body" "$STATUS $(code)"
expect_eq "no bad request recorded" "$rows" "$(q "SELECT count(*) FROM privacy_requests")"

# ---- a table locked: the statement timeout, then every connection busy ----
# The gateway restarted with a 700 ms statement timeout (its pool of 8 waits
# as long for a free connection); a session holds an exclusive lock on the
# profiles for 6 s. One request: 503 query_timeout in about 700 ms. 24 at
# once: 8 wait on the lock, the rest for a connection, and each is answered
# 503 (query_timeout or busy) within 3 s; afterwards all is as before.
stop_process "$GW_PID" 10
start_push_gateway gw ANALYTICS_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0" \
  ANALYTICS_PUSH_GATEWAY_WRITE_KEYS=shop:wk-0123456789 ANALYTICS_PUSH_GATEWAY_CORS_ORIGINS=https://shop.example \
  ANALYTICS_PUSH_GATEWAY_RATE_LIMIT=1 ANALYTICS_PUSH_GATEWAY_RATE_BURST=30 \
  ANALYTICS_PUSH_GATEWAY_STATEMENT_TIMEOUT_MS=700
API="http://127.0.0.1:$GW_PORT/api/analytics"
check "ready again" wait_for 20 http_status_is "http://127.0.0.1:$GW_ADMIN/readyz" 200
psql -X -q "postgresql://postgres@127.0.0.1:$PG_PORT/analytics" \
  -c "BEGIN; LOCK TABLE user_behavior_profiles IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(6); COMMIT" \
  >/dev/null 2>"$T/locker.err" &
LOCKER=$!
locked() { [ "$(q "SELECT count(*) FROM pg_locks WHERE relation = 'user_behavior_profiles'::regclass AND mode = 'AccessExclusiveLock' AND granted")" = 1 ]; }
check "the profiles are locked" wait_for 10 locked
t0=$(date +%s%N)
get "leads" "$GW_READ_TOKEN"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
expect_eq "a query past the statement timeout: 503 query_timeout" "503 query_timeout" "$STATUS $(code)"
check "...answered in time (${ms} ms)" test "$ms" -lt 3000
CURLS=()
for i in $(seq 1 24); do
  curl -s --max-time 10 -o "$T/busy-$i.json" -w '%{http_code} %{time_total}\n' \
    -H "Authorization: Bearer $GW_READ_TOKEN" "$API/leads" >"$T/busy-$i.status" &
  CURLS+=("$!")
done
wait "${CURLS[@]}"
for i in $(seq 1 24); do
  printf '%s %s\n' "$(cut -d' ' -f1,2 "$T/busy-$i.status")" "$(jq -r .error.code "$T/busy-$i.json" 2>/dev/null)"
done >"$T/busy.txt"
expect_eq "24 at once: every answer a 503" 24 "$(awk '$1 == 503 && ($3 == "query_timeout" || $3 == "busy")' "$T/busy.txt" | wc -l)"
check "...those without a connection told busy ($(awk '$3 == "busy"' "$T/busy.txt" | wc -l) of 24)" \
  test "$(awk '$3 == "busy"' "$T/busy.txt" | wc -l)" -gt 0
check "...each within 3 s" awk '$2 >= 3 {exit 1}' "$T/busy.txt"
wait "$LOCKER"
get "leads" "$GW_READ_TOKEN"
expect_eq "the lock released: 200 again" 200 "$STATUS"
check "readiness stayed true" http_status_is "http://127.0.0.1:$GW_ADMIN/readyz" 200

# ---- PostgreSQL stopped and started again ----
pg_local_stop "$PG_DATA"
get "leads" "$GW_READ_TOKEN"
expect_eq "PostgreSQL down: 503 unavailable" "503 unavailable" "$STATUS $(code)"
check "readiness false" wait_for 10 http_status_is "http://127.0.0.1:$GW_ADMIN/readyz" 503
pg_local_start "$PG_DATA" "$PG_PORT" "$T/pg-sock" "$T/pg.log" || { echo "pg did not start again"; exit 1; }
check "answers again without a restart" wait_for 15 bash -c \
  "[ \"\$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer $GW_READ_TOKEN' '$API/leads')\" = 200 ]"
check "readiness true again" wait_for 10 http_status_is "http://127.0.0.1:$GW_ADMIN/readyz" 200
check "requests counted by class" bash -c \
  "curl -s http://127.0.0.1:$GW_ADMIN/metrics | grep -q '^analytics_gateway_requests_total{class=\"4xx\"}'"
# ---- the broker down: a privacy request is refused and not recorded ----
rows="$(q "SELECT count(*) FROM privacy_requests")"
kill -TERM "$DEVBROKER_PID"; wait "$DEVBROKER_PID" 2>/dev/null
priv erase '{"fingerprint":"fp-a"}' "$GW_ADMIN_TOKEN"
expect_eq "broker down: 503 unavailable" "503 unavailable" "$STATUS $(code)"
expect_eq "...and nothing recorded" "$rows" "$(q "SELECT count(*) FROM privacy_requests")"
expect_clean_stop "SIGTERM exits 0" "$GW_PID" 15
itest_finish
