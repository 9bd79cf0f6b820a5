#!/usr/bin/env bash
# analytics-enricher as a daemon against the devbroker and a real
# redis-server, fed by the real collector: enriched fields, sessions, dedup,
# dead letters for undecodable messages, Redis stopped and restarted
# mid-stream, two enrichers sharing the partitions, kill -9 and restart.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
itest_init enricher_daemon

RAW=analytics.events.raw
ENRICHED=analytics.events.enriched
CHROME='Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36'

start_devbroker
start_redis_free redis
start_collector c1 ANALYTICS_COLLECTOR_TRUSTED_PROXIES=127.0.0.1

# enriched_json: every enriched message's value, one JSON line each.
enriched_json() { dump "$ENRICHED" enriched | jq -c .value; }
enriched_count() { topic_count "$ENRICHED"; }
enriched_count_is() { [ "$(enriched_count)" = "$1" ]; }
enriched_count_at_least() { [ "$(enriched_count)" -ge "$1" ]; }
# unique_ids PREFIX: distinct event ids starting with PREFIX on events.enriched.
unique_ids() { enriched_json | jq -r .event_id | grep "^$1" | sort -u | wc -l | tr -d ' '; }
unique_ids_at_least() { [ "$(unique_ids "$1")" -ge "$2" ]; }
# enriched_has_id ID: some enriched message has that event id. grep -c, not
# grep -q: -q exits at the first match, jq and the dump upstream then die of
# SIGPIPE (141) if more of the topic is still coming, and pipefail turns the
# match into a failure (with thousands of messages on the topic, about half
# of the calls failed so and the Redis-down-at-start step 1 run in 3).
enriched_has_id() { [ "$(enriched_json | jq -r .event_id | grep -cx -- "$1")" -gt 0 ]; }
assigned() { grep '"event":"kafka.partitions_assigned"' "$T/$1.log" | tail -1 | jq -r .count; }
assigned_is() { [ "$(assigned "$1")" = "$2" ]; }

# post_load PREFIX FROM TO: posts events PREFIX-FROM..PREFIX-TO in batches of
# 50 over 40 visitors; fails on any status but 202.
post_load() {
  local prefix="$1" i j body
  for ((i = $2; i <= $3; i += 50)); do
    body='{"events":['
    for ((j = i; j < i + 50 && j <= $3; j++)); do
      body+="{\"event_id\":\"$prefix-$j\",\"event_type\":\"page_view\",\"fingerprint\":\"$prefix-fp-$((j % 40))\",\"page_url\":\"https://shop.example/services/$j\"},"
    done
    body="${body%,}]}"
    post "$body"
    if [ "$STATUS" != 202 ]; then echo "post_load: status $STATUS: $BODY"; return 1; fi
  done
}

# ---- fields, sessions and dedup ----
now="$(($(date +%s) * 1000))"
t0=$((now - 3 * 3600 * 1000))
ev() { # ev ID FINGERPRINT TS URL [EXTRA JSON]
  printf '{"event_id":"%s","event_type":"page_view","fingerprint":"%s","timestamp":%s,"page_url":"%s"%s}' \
    "$1" "$2" "$3" "$4" "${5:-}"
}
post "{\"events\":[$(ev f1 fp-a $t0 'https://Shop.Example/pricing?utm_source=google&utm_medium=cpc#x'),
       $(ev f2 fp-a $((t0 + 60000)) https://shop.example/book),
       $(ev f3 fp-a $((t0 + 60000 + 31 * 60000)) https://shop.example/),
       $(ev f4 fp-a $((t0 + 60000 + 32 * 60000)) 'https://shop.example/?utm_source=newsletter&utm_medium=email'),
       $(ev f5 fp-b $t0 https://shop.example/contact ',"session_id":"client-s1"'),
       $(ev f6 fp-b $((t0 + 1000)) https://shop.example/blog/x ',"session_id":"client-s1"')]}" \
  -A "$CHROME" -H 'X-Forwarded-For: 81.2.69.160'
expect_eq "collector takes the scripted visitors" 202 "$STATUS"
# The same event again (a client retry): dropped by the enricher.
post "$(ev f2 fp-a $((t0 + 60000)) https://shop.example/book)" -A "$CHROME"
expect_eq "collector takes the retry" 202 "$STATUS"
post '{"event_type":"page_view","fingerprint":"fp-bot","page_url":"https://shop.example/"}' \
  -A 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)'
expect_eq "collector takes the bot" 202 "$STATUS"

start_enricher e1
E1="$ENRICHER_PID"
check "7 events enriched (the retry dropped)" wait_for 30 enriched_count_is 7
check "readyz is 200 with broker and Redis up" http_status_is "http://127.0.0.1:$ADMIN_PORT/readyz" 200
enriched_json >"$T/enriched1.jsonl"
get() { jq -r "select(.event_id == \"$1\") | $2" "$T/enriched1.jsonl"; }
expect_eq "f1: browser and device" "Chrome 120.0.0 DEVICE_TYPE_DESKTOP" \
  "$(get f1 '"\(.ua.browser_family) \(.ua.browser_version) \(.ua.device_type)"')"
expect_eq "f1: country from the forwarded IP, IP truncated" "GB 81.2.69.0" \
  "$(get f1 '"\(.geo.country_code) \(.geo.ip_truncated)"')"
check "the full IP is on no enriched message" bash -c "! grep -q 81.2.69.160 '$T/enriched1.jsonl'"
expect_eq "f1: paid search, page normalised and typed" "CHANNEL_PAID_SEARCH https://shop.example/pricing pricing" \
  "$(get f1 '"\(.campaign.channel) \(.page.url_normalized) \(.page.page_type)"')"
expect_eq "f1: first event starts a session" "1 true first" \
  "$(get f1 '"\(.session.sequence) \(.session.new_session) \(.session.start_reason)"')"
expect_eq "f2: same session, sequence 2" "$(get f1 .session.session_id) 2 false" \
  "$(get f2 '"\(.session.session_id) \(.session.sequence) \(.session.new_session)"')"
expect_eq "f3: 31 minutes idle starts a new session" "1 true idle" \
  "$(get f3 '"\(.session.sequence) \(.session.new_session) \(.session.start_reason)"')"
check "f3's session is another id" test "$(get f3 .session.session_id)" != "$(get f1 .session.session_id)"
expect_eq "f4: a new campaign starts a new session" "1 campaign CHANNEL_EMAIL" \
  "$(get f4 '"\(.session.sequence) \(.session.start_reason) \(.campaign.channel)"')"
expect_eq "f5, f6: the client's session id, sequence counted" "client-s1 1 true client-s1 2 true" \
  "$(get f5 '"\(.session.session_id) \(.session.sequence) \(.session.client_assigned)"') $(get f6 '"\(.session.session_id) \(.session.sequence) \(.session.client_assigned)"')"
expect_eq "the bot is kept and flagged" "true ua" \
  "$(jq -r 'select(.fingerprint == "fp-bot") | "\(.bot.is_bot) \(.bot.reason)"' "$T/enriched1.jsonl")"
expect_eq "f2 appears once" 1 "$(jq -r 'select(.event_id == "f2") | .event_id' "$T/enriched1.jsonl" | wc -l)"
check "duplicates counted" wait_for 5 metric_is analytics_enricher_duplicates_total 1
expect_eq "bots counted" 1 "$(metric analytics_enricher_bot_events_total)"
mark="$(redis-cli -p "$REDIS_PORT" get analytics.dedup:f1)"
expect_eq "the dedup mark holds the raw message's partition:offset" 1 "$(grep -c '^[0-9]*:[0-9]*$' <<<"$mark")"
wm="$(redis-cli -p "$REDIS_PORT" get "analytics.delivered:$RAW:${mark%%:*}")"
check "the partition's delivered watermark is past it ($wm > ${mark#*:})" test "${wm:-0}" -gt "${mark#*:}"
check "session state stored for fp-a" test -n "$(redis-cli -p "$REDIS_PORT" get analytics.session::fp-a)"
check "the dedup mark expires within 24 h" test "$(redis-cli -p "$REDIS_PORT" pttl analytics.dedup:f1)" -le 86400000

# ---- a message that is not a RawEvent goes to the dead-letter topic ----
printf 'this is not protobuf \377\376' | kcat -P -b "$BROKERS" -t "$RAW" -k fp-garbage
check "dead letter counted" wait_for 20 metric_is analytics_enricher_deadletters_total 1
enricher_deadletters() {
  dump analytics.deadletter deadletter | jq -c 'select(.value.source_service == "analytics-enricher") | .value'
}
has_deadletter() { [ -n "$(enricher_deadletters)" ]; }
check "dead letter on the topic" wait_for 20 has_deadletter
dl="$(enricher_deadletters)"
expect_eq "dead letter: code, source, key" "undecodable analytics.events.raw fp-garbage" \
  "$(jq -r '"\(.error_code) \(.source_topic) \(.fingerprint)"' <<<"$dl")"
expect_eq "dead letter keeps the original bytes" "$(printf 'this is not protobuf \377\376' | base64)" \
  "$(jq -r .original <<<"$dl")"
check "dead letter has the source offset" test "$(jq -r .source_offset <<<"$dl")" -ge 0

# ---- Redis stopped and restarted mid-stream: nothing lost ----
# Half the stream before the outage, half during it (a fixed sleep raced a
# pipeline that enriches all 1500 in well under a second).
post_load r 1 750
check "the first half is enriched" wait_for 20 enriched_count_at_least $((7 + 750))
kill -TERM "$REDIS_PID"; wait "$REDIS_PID" 2>/dev/null
check "readyz says Redis is down" wait_for 10 http_status_is "http://127.0.0.1:$ADMIN_PORT/readyz" 503
post_load r 751 1500 &
LOAD=$!
check "consumption pauses" wait_for 10 metric_is analytics_enricher_consumer_paused 1
check "the load completes while Redis is down" wait "$LOAD"
sleep 1
before="$(unique_ids r-)"
start_redis redis "$REDIS_PORT" || { echo "redis did not restart"; exit 1; }
check "readyz recovers" wait_for 20 http_status_is "http://127.0.0.1:$ADMIN_PORT/readyz" 200
check "all 1500 events enriched after Redis came back" wait_for 30 enriched_count_at_least $((7 + 1500))
expect_eq "every event of the outage once" 1500 "$(unique_ids r-)"
expect_eq "no extra messages" $((7 + 1500)) "$(enriched_count)"
check "some events waited for Redis ($before enriched before it came back)" test "$before" -lt 1500
check "the pause and the resume are logged" log_has "$T/e1.log" stage.resumed
expect_eq "resumed consumption" 0 "$(metric analytics_enricher_consumer_paused)"
# Consumer lag per partition: all three read to the end once consumed.
lag_zero_all() {
  local p
  for p in 0 1 2; do
    metric_is "analytics_enricher_consumer_lag{topic=\"$RAW\",partition=\"$p\"}" 0 || return 1
  done
}
check "consumer lag is 0 on each of the 3 partitions once consumed" wait_for 10 lag_zero_all
expect_eq "one lag series a partition" 3 \
  "$(curl -s "http://127.0.0.1:$ADMIN_PORT/metrics" | grep -c '^analytics_enricher_consumer_lag{')"

# ---- two enrichers split the partitions; stopping one hands them over ----
start_enricher e2
E2="$ENRICHER_PID"
E2_ADMIN="$ADMIN_PORT"
split_ok() { [ "$(assigned e2)" -ge 1 ] && [ $(($(assigned e1) + $(assigned e2))) -eq 3 ] && [ "$(assigned e1)" -ge 1 ]; }
check "the partitions are split between e1 and e2" wait_for 30 split_ok
post_load s 1 1000
stop_process "$E1" 15
expect_eq "e1 stops cleanly during the handover" 0 "$STOP_RC"
post_load s 1001 2000
ADMIN_PORT="$E2_ADMIN"
check "e2 takes all 3 partitions" wait_for 30 assigned_is e2 3
check "all 2000 events enriched across the handover" wait_for 40 enriched_count_at_least $((7 + 1500 + 2000))
expect_eq "each of them once" 2000 "$(unique_ids s-)"
expect_eq "no duplicates from the handover" $((7 + 1500 + 2000)) "$(enriched_count)"

# ---- kill -9 mid-stream, restart: at least once, deduplicated ids ----
post_load k 1 2000 &
LOAD=$!
sleep 0.3
kill -KILL "$E2"; wait "$E2" 2>/dev/null
check "the load completes" wait "$LOAD"
start_enricher e3 ANALYTICS_KAFKA_DEBUG=cgrp
check "every event enriched after the restart" wait_for 40 unique_ids_at_least k- 2000
check "ANALYTICS_KAFKA_DEBUG logs librdkafka's group debug lines" log_has "$T/e3.log" kafka.debug
expect_eq "no event of the crash is missing" 2000 "$(unique_ids k-)"
expect_clean_stop "SIGTERM exits 0" "$ENRICHER_PID" 12
check "shutdown logged" log_has "$T/e3.log" shutdown.complete

# ---- Redis down at start: the enricher waits, then works ----
# Same broker and group as above, right after a member was killed and a
# short-lived one replaced it. librdkafka's group and fetch debug lines go to
# e4's log, kept when a check fails.
kill -TERM "$REDIS_PID"; wait "$REDIS_PID" 2>/dev/null
post "$(ev late1 fp-z "$now" https://shop.example/)"
expect_eq "collector takes the event" 202 "$STATUS"
start_enricher e4 ANALYTICS_KAFKA_DEBUG=cgrp,fetch
check "not ready without Redis" wait_for 10 http_status_is "http://127.0.0.1:$ADMIN_PORT/readyz" 503
start_redis redis "$REDIS_PORT" || { echo "redis did not restart"; exit 1; }
check "ready once Redis is up" wait_for 20 http_status_is "http://127.0.0.1:$ADMIN_PORT/readyz" 200
check "the waiting event is enriched" wait_for 30 enriched_has_id late1

# Redis answering with errors (out of memory) holds the batch like an outage.
redis-cli -p "$REDIS_PORT" config set maxmemory 1 >/dev/null
post "$(ev oom1 fp-z "$now" https://shop.example/)"
check "Redis error replies are counted" wait_for 20 bash -c \
  "[ \"\$(curl -s http://127.0.0.1:$ADMIN_PORT/metrics | awk '\$1 == \"analytics_enricher_redis_errors_total\" {print \$2}')\" -gt 0 ]"
check "consumption pauses on error replies" wait_for 10 metric_is analytics_enricher_consumer_paused 1
check "not ready while Redis refuses writes" http_status_is "http://127.0.0.1:$ADMIN_PORT/readyz" 503
redis-cli -p "$REDIS_PORT" config set maxmemory 0 >/dev/null
check "the held event is enriched once Redis takes writes" wait_for 30 enriched_has_id oom1
expect_clean_stop "SIGTERM exits 0" "$ENRICHER_PID" 12

# ---- configuration errors ----
ANALYTICS_SITE_TIMEZONE=Mars/Olympus ANALYTICS_ENRICHER_BATCH=0 "$BIN/analytics-enricher" 2>"$T/bad.log"
expect_eq "bad configuration exits 78" 78 "$?"
check "names the bad batch size" grep -q ANALYTICS_ENRICHER_BATCH "$T/bad.log"
ANALYTICS_SITE_TIMEZONE=Mars/Olympus "$BIN/analytics-enricher" 2>"$T/bad.log"
expect_eq "unknown time zone exits 78" 78 "$?"
check "names the time zone variable" grep -q ANALYTICS_SITE_TIMEZONE "$T/bad.log"
ANALYTICS_KAFKA_DEBUG=nosuchcontext "$BIN/analytics-enricher" 2>"$T/bad.log"
expect_eq "unknown librdkafka debug context exits 78" 78 "$?"
check "names the debug variable" grep -q ANALYTICS_KAFKA_DEBUG "$T/bad.log"

itest_finish
