#!/usr/bin/env bash
# Every kind of bad input gets its status and a clear reason, reaches
# deadletter where it was parsed, never reaches events.raw, and never stops
# the daemon.
source "$(dirname "$0")/lib.sh"
itest_init collector_rejects

start_devbroker
start_collector c1 ANALYTICS_COLLECTOR_MAX_BODY_BYTES=65536

# reject STATUS DESCRIPTION BODY [CURL ARGS...]
reject() {
  local want="$1" what="$2" data="$3"
  shift 3
  post "$data" "$@"
  if [ "$STATUS" = "$want" ] && jq -e '(.error // .rejected[0].error) | length > 0' <<<"$BODY" >/dev/null 2>&1; then
    pass "$what: $STATUS $(jq -c '.error // .rejected[0].error' <<<"$BODY")"
  else
    fail "$what: expected $want with a reason, got $STATUS $BODY"
  fi
}

long="$(head -c 5000 /dev/zero | tr '\0' x)"
deep='{"a":{"b":{"c":{"d":{"e":{"f":1}}}}}}'
many="{$(for i in $(seq 1 150); do printf '"k%d":%d,' "$i" "$i"; done)\"last\":0}"

reject 400 "malformed JSON" '{"event_type":"x","fingerprint":'
reject 400 "not an object" '[1,2,3]'
reject 400 "missing event_type" '{"fingerprint":"f"}'
reject 400 "missing fingerprint" '{"event_type":"page_view"}'
reject 400 "empty fingerprint" '{"event_type":"page_view","fingerprint":""}'
reject 400 "event_type of the wrong type" '{"event_type":42,"fingerprint":"f"}'
reject 400 "event_data of the wrong type" '{"event_type":"x","fingerprint":"f","event_data":"str"}'
reject 400 "over-long string" '{"event_type":"x","fingerprint":"f","page_url":"https://a/'"$long"'"}'
reject 400 "unparseable timestamp" '{"event_type":"x","fingerprint":"f","timestamp":"yesterday"}'
reject 400 "negative timestamp" '{"event_type":"x","fingerprint":"f","timestamp":-5}'
reject 400 "properties too deep" '{"event_type":"x","fingerprint":"f","event_data":'"$deep"'}'
reject 400 "too many properties" '{"event_type":"x","fingerprint":"f","event_data":'"$many"'}'
reject 400 "unknown consent category" '{"event_type":"x","fingerprint":"f","consent":["spying"]}'
reject 400 "historical batch without timestamps" '{"historical":true,"events":[{"event_type":"x","fingerprint":"f"}]}'
reject 400 "empty batch" '{"events":[]}'
big="{\"events\":[$(for i in $(seq 1 501); do printf '{"event_type":"x","fingerprint":"f%d"},' "$i"; done | sed 's/,$//')]}"
reject 400 "batch over 500 events" "$big"
printf '{"event_type":"x","fingerprint":"caf\xc3(","page_url":"y"}' >"$T/bad-utf8.json"
reject 400 "invalid UTF-8" "@$T/bad-utf8.json"
printf '{"event_type":"x","fingerprint":"\xed\xa0\x80"}' >"$T/surrogate.json"
reject 400 "UTF-8 encoded surrogate" "@$T/surrogate.json"

head -c 70000 /dev/zero | tr '\0' ' ' >"$T/huge.json"
reject 413 "body over the limit (Content-Length)" "@$T/huge.json"
reject 413 "body over the limit (chunked)" "@$T/huge.json" -H 'Transfer-Encoding: chunked'
reject 415 "text/html content type" '{"event_type":"x","fingerprint":"f"}' -H 'Content-Type: text/html'
reject 415 "form content type" '{"event_type":"x","fingerprint":"f"}' -H 'Content-Type: application/x-www-form-urlencoded'
check "a 413 closes the connection instead of reading the rest of the body" bash -c \
  "curl -sv -X POST -H 'Content-Type: application/json' --data-binary @'$T/huge.json' '$URL' -o /dev/null 2>&1 | grep -q 'Closing connection'"
long_origin="https://$(head -c 300 /dev/zero | tr '\0' a).example"
reject 403 "an absurdly long Origin" '{"event_type":"x","fingerprint":"f"}' -H "Origin: $long_origin"
expect_eq "HEAD on the admin port gets 405 (GET only)" 405 \
  "$(curl -s -o /dev/null -w '%{http_code}' -I "http://127.0.0.1:$ADMIN_PORT/healthz")"
expect_eq "GET gets 405" 405 "$(curl -s -o /dev/null -w '%{http_code}' "$URL")"
expect_eq "PUT gets 405" 405 "$(curl -s -o /dev/null -w '%{http_code}' -X PUT --data x "$URL")"
check "405 names the allowed methods" bash -c "curl -s -D - -o /dev/null '$URL' | grep -qi '^allow: POST'"

# A batch with some bad events accepts the good ones and reports each bad one.
post '{"events":[{"event_type":"ok1","fingerprint":"fp-mixed"},{"event_type":"bad"},
                 {"event_type":"ok2","fingerprint":"fp-mixed"},{"fingerprint":"x","event_type":7}]}'
expect_eq "mixed batch gets 202" 202 "$STATUS"
expect_eq "mixed batch accepts 2, rejects indexes 1 and 3" '2 [1,3]' \
  "$(jq -c '"\(.accepted) \([.rejected[].index])"' <<<"$BODY" | tr -d '"')"

sleep 0.5
expect_eq "only the two good events reached events.raw" 2 "$(topic_count analytics.events.raw)"
dump analytics.deadletter deadletter >"$T/dlq.jsonl"
# 18 requests above reach the parser (the 413/415/405 ones do not), plus the
# 2 bad events of the mixed batch.
expect_eq "every rejected input is dead-lettered" 20 "$(wc -l <"$T/dlq.jsonl")"
check "dead letters carry the reason" \
  bash -c "jq -s -e 'any(.[]; .value.error_code==\"missing_field\" and (.value.reason | test(\"fingerprint\")))' '$T/dlq.jsonl' >/dev/null"
check "dead letters carry the original input" \
  bash -c "jq -r '.value.original' '$T/dlq.jsonl' | grep -q ."
check "daemon still healthy after all that" \
  test "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$ADMIN_PORT/healthz")" = 200
# A second collector on a port in use fails cleanly with a clear error.
ANALYTICS_KAFKA_BROKERS="$BROKERS" ANALYTICS_COLLECTOR_LISTEN="127.0.0.1:$PORT" \
  ANALYTICS_COLLECTOR_ADMIN_LISTEN=127.0.0.1:0 ANALYTICS_COLLECTOR_SPOOL_DIR="$T/inuse-spool" \
  "$BIN/analytics-collector" 2>"$T/inuse.log"
expect_eq "a listen port in use exits 1" 1 "$?"
check "and says why" log_has "$T/inuse.log" http.listen_failed
expect_clean_stop "collector exits 0" "$COLLECTOR_PID" 10

# Write keys.
start_collector keys ANALYTICS_COLLECTOR_WRITE_KEYS=shop:s3cret
reject 401 "no write key" '{"event_type":"x","fingerprint":"f"}'
reject 401 "wrong write key" '{"event_type":"x","fingerprint":"f"}' -H 'X-Write-Key: nope'
post '{"event_type":"x","fingerprint":"fp-key"}' -H 'X-Write-Key: s3cret'
expect_eq "right key in header gets 202" 202 "$STATUS"
URL="$URL?write_key=s3cret" post '{"event_type":"x","fingerprint":"fp-key2"}'
expect_eq "right key in query (sendBeacon) gets 202" 202 "$STATUS"
expect_eq "site id recorded" shop \
  "$(dump analytics.events.raw raw | jq -r 'select(.key=="fp-key") | .value.site_id')"
expect_clean_stop "keys collector exits 0" "$COLLECTOR_PID" 10

# Rate limit.
start_collector rate ANALYTICS_COLLECTOR_RATE_LIMIT=1 ANALYTICS_COLLECTOR_RATE_BURST=3
codes=""
for i in 1 2 3 4 5 6; do
  post '{"event_type":"x","fingerprint":"fp-rate"}'
  codes="$codes $STATUS"
done
# The bucket refills one token a second, so a slow machine may let one more through.
check "burst of 3 passes, then 429 ($codes)" grep -Eq '^ 202 202 202( 202)? 429' <<<"$codes"
check "429 carries Retry-After" bash -c "curl -s -D - -o /dev/null -X POST -H 'Content-Type: application/json' --data '{}' '$URL' | grep -qi '^retry-after: [0-9]'"
expect_clean_stop "rate collector exits 0" "$COLLECTOR_PID" 10

# Bad configuration: exit 78 naming every bad variable.
ANALYTICS_COLLECTOR_ACK=sometimes ANALYTICS_COLLECTOR_THREADS=abc \
  ANALYTICS_COLLECTOR_CORS_ORIGINS='ftp//nope' ANALYTICS_KAFKA_DEBUG=nosuchcontext \
  "$BIN/analytics-collector" 2>"$T/badcfg.err"
expect_eq "bad configuration exits 78" 78 "$?"
check "names ANALYTICS_COLLECTOR_ACK" grep -q 'ANALYTICS_COLLECTOR_ACK' "$T/badcfg.err"
check "names ANALYTICS_COLLECTOR_THREADS" grep -q 'ANALYTICS_COLLECTOR_THREADS' "$T/badcfg.err"
check "names ANALYTICS_COLLECTOR_CORS_ORIGINS" grep -q 'ANALYTICS_COLLECTOR_CORS_ORIGINS' "$T/badcfg.err"
check "names ANALYTICS_KAFKA_DEBUG" grep -q 'ANALYTICS_KAFKA_DEBUG' "$T/badcfg.err"
ANALYTICS_COLLECTOR_INFLIGHT_MAX_MB=1 ANALYTICS_COLLECTOR_MAX_BODY_BYTES=2097152 \
  "$BIN/analytics-collector" 2>"$T/badcfg2.err"
expect_eq "an in-flight cap below one body exits 78" 78 "$?"
check "... naming ANALYTICS_COLLECTOR_INFLIGHT_MAX_MB" \
  grep -q 'ANALYTICS_COLLECTOR_INFLIGHT_MAX_MB.*ANALYTICS_COLLECTOR_MAX_BODY_BYTES' "$T/badcfg2.err"
check "--help lists the variables" bash -c "'$BIN/analytics-collector' --help | grep -q ANALYTICS_COLLECTOR_SPOOL_DIR"
check "--version prints a version" bash -c "'$BIN/analytics-collector' --version | grep -Eq '[0-9]+\.[0-9]+'"
itest_finish
