#!/usr/bin/env bash
# deploy/openapi.json says what the push-gateway answers (issue 15): every
# route it documents is in the route table and the other way round, and
# each, called with its parameters, answers one of the statuses it lists
# (JSON, or CSV when asked), 401 without a token, 400 for a parameter it
# does not document (tests/integration/openapi_check.py).
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
itest_init push_gateway_openapi

start_devbroker
start_redis_free redis
start_postgres_migrated pg
q() { psql -X -A -t -q -v ON_ERROR_STOP=1 "$PG_DSN" -c "$1"; }
q "INSERT INTO user_behavior_profiles (fingerprint, first_seen_at, last_seen_at, lead_score, segment)
   VALUES ('fp-doc', now() - interval '1 day', now(), 88, 'price comparer')"
start_journey_builder jb1 # it writes the defined funnels the funnel route reads
start_push_gateway gw ANALYTICS_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0" \
  ANALYTICS_PUSH_GATEWAY_WRITE_KEYS=doc:wk-doc-0123456789
check "ready" wait_for 20 http_status_is "http://127.0.0.1:$GW_ADMIN/readyz" 200
funnel="$(jq -r '.funnels[0].name' "$SRC/deploy/config/funnels.json")"
audience="$(jq -r '.audiences[0].name' "$SRC/deploy/config/audiences.json")"
# A privacy request to ask about.
rid="$(curl -s -X POST -H "Authorization: Bearer $GW_ADMIN_TOKEN" -H 'Content-Type: application/json' \
  --data '{"fingerprint":"fp-doc"}' "http://127.0.0.1:$GW_PORT/api/analytics/privacy/export" | jq -r .request_id)"
check "a privacy request to ask about" test -n "$rid" -a "$rid" != null
jq -n --arg f "$funnel" --arg a "$audience" --arg id "$rid" \
  '{fingerprint: "fp-doc", name: $a, id: $id, "/funnel:name": $f, "/segments/{name}/members:name": "price comparer"}' >"$T/samples.json"
python3 "$SRC/tests/integration/openapi_check.py" "$SRC" "http://127.0.0.1:$GW_PORT/api/analytics" \
  "$GW_ADMIN_TOKEN" wk-doc-0123456789 "$T/samples.json" >"$T/openapi.out" 2>&1
rc=$?
cat "$T/openapi.out"
expect_eq "every documented route answers as documented" 0 "$rc"
check "the funnel route answered 200 for a defined funnel" grep -q "PASS: GET /funnel: 200" "$T/openapi.out"
check "so did insights for a known visitor" grep -q "PASS: GET /insights/{fingerprint}: 200" "$T/openapi.out"
check "the file is valid JSON with an openapi version" jq -e '.openapi | startswith("3.")' "$SRC/deploy/openapi.json"
expect_clean_stop "SIGTERM exits 0" "$GW_PID" 10
itest_finish
