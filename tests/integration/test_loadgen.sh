#!/usr/bin/env bash
# analytics-loadgen against the real binaries: --kafka-raw onto the devbroker,
# --http through a collector, --json into analytics-enricher --enrich-stdin,
# --kinds naming the visitors of the same population.
source "$(dirname "$0")/lib.sh"
itest_init loadgen

LG="$BIN/analytics-loadgen"
RAW=analytics.events.raw

# Arguments and help.
"$LG" --help >"$T/help.out"
expect_eq "--help exits 0" 0 "$?"
check "--help lists the modes and the environment" \
  bash -c "grep -q -- --kafka-raw '$T/help.out' && grep -q ANALYTICS_KAFKA_BROKERS '$T/help.out'"
check "--version names the program" bash -c "'$LG' --version | grep -q '^analytics-loadgen '"
"$LG" --count 10 2>/dev/null
expect_eq "no mode is a usage error" 64 "$?"
"$LG" --json --count 0 2>/dev/null
expect_eq "--count 0 is a usage error" 64 "$?"
"$LG" --json --http http://x 2>/dev/null
expect_eq "two modes are a usage error" 64 "$?"
"$LG" --json --count 5 --agents /nonexistent.yaml 2>"$T/agents.err" >/dev/null
expect_eq "a missing agent file exits 1" 1 "$?"
check "and says so" log_has "$T/agents.err" loadgen.agents_failed

# Deterministic for a seed, across runs.
"$LG" --json --count 300 --seed 9 --start-ms 1764000000000 >"$T/a.jsonl" 2>/dev/null
"$LG" --json --count 300 --seed 9 --start-ms 1764000000000 >"$T/b.jsonl" 2>/dev/null
check "same seed, same events" cmp -s "$T/a.jsonl" "$T/b.jsonl"
expect_eq "--json prints --count lines" 300 "$(wc -l <"$T/a.jsonl")"

# --kinds: the ground truth of the population --json made events of.
"$LG" --kinds --seed 9 --visitors 200 >"$T/kinds.csv" 2>"$T/kinds.log"
expect_eq "--kinds exits 0" 0 "$?"
expect_eq "--kinds: a header and one line per visitor" "visitor,fingerprint,kind 201" \
  "$(head -1 "$T/kinds.csv") $(wc -l <"$T/kinds.csv")"
"$LG" --kinds --seed 9 --visitors 200 2>/dev/null | cmp -s - "$T/kinds.csv"
expect_eq "--kinds: same seed, same kinds" 0 "$?"
check "--kinds: several kinds, crawlers among them" bash -c \
  "test \$(tail -n +2 '$T/kinds.csv' | cut -d, -f3 | sort -u | wc -l) -ge 8 &&
   grep -q ',crawler\$' '$T/kinds.csv'"
check "--kinds: the summary counts them" jq -e '.summary | fromjson | .kinds.bouncer > 0' \
  "$T/kinds.log"
"$LG" --json --count 1000 --seed 9 --visitors 200 --window-s 60 --start-ms 1764000000000 \
  2>/dev/null | jq -r .fingerprint | sort -u >"$T/fps.txt"
sent="$(wc -l <"$T/fps.txt")"
missing="$(comm -23 "$T/fps.txt" <(tail -n +2 "$T/kinds.csv" | cut -d, -f2 | sort) | wc -l)"
check "--kinds: every fingerprint --json sends is listed ($missing of $sent missing)" \
  test "$sent" -ge 150 -a "$missing" -eq 0

# --kafka-raw: every event delivered, keyed by fingerprint, decodable.
start_devbroker
"$LG" --kafka-raw --count 5000 --seed 1 >"$T/kafka.json" 2>"$T/kafka.log"
expect_eq "--kafka-raw exits 0" 0 "$?"
expect_eq "summary: 5000 delivered, none failed" "5000 5000 0" \
  "$(jq -r '"\(.events) \(.delivered) \(.failed)"' "$T/kafka.json")"
check "summary: a few hundred agents" test "$(jq -r .distinct_agents "$T/kafka.json")" -ge 200
expect_eq "5000 messages on events.raw" 5000 "$(topic_count "$RAW")"
"$BIN/analytics-dump" --brokers "$BROKERS" --topic "$RAW" --count >"$T/count.json"
expect_eq "all read back, none undecodable" "5000 0" \
  "$(jq -r '"\(.consumed) \(.undecodable)"' "$T/count.json")"
dump "$RAW" raw >"$T/raw.jsonl"
expect_eq "key is the fingerprint" 0 \
  "$(jq -r 'select(.key != .value.fingerprint)' "$T/raw.jsonl" | wc -l)"
expect_eq "written as the collector would" "1 loadgen true true" \
  "$(jq -r '.value | "\(.schema_version) \(.collector_id) \(.client_ts_present) \(.consent.marketing)"' \
    "$T/raw.jsonl" | sort -u)"
check "IPv4 and IPv6 clients" bash -c "jq -r .value.client_ip '$T/raw.jsonl' | grep -q : &&
  jq -r .value.client_ip '$T/raw.jsonl' | grep -q '^[0-9.]*$'"
check "every event type" test "$(jq -r .value.event_type "$T/raw.jsonl" | sort -u | tr '\n' ' ')" = \
  "booking_completed booking_started click exit_intent form_start page_view rage_click scroll "

# --http: through a collector that believes loadgen's X-Forwarded-For.
start_collector c1 ANALYTICS_COLLECTOR_TRUSTED_PROXIES=127.0.0.0/8
"$LG" --http "$URL" --count 600 --batch 10 --concurrency 3 --seed 2 >"$T/http.json" 2>"$T/http.log"
expect_eq "--http exits 0" 0 "$?"
expect_eq "every request answered 202" 202 "$(jq -r '.statuses | keys | join(",")' "$T/http.json")"
expect_eq "every event accepted" "600 600 0" \
  "$(jq -r '"\(.events) \(.accepted) \(.rejected)"' "$T/http.json")"
check "latency percentiles reported" \
  jq -e '.latency_ms.p50 > 0 and .latency_ms.p99 >= .latency_ms.p50' "$T/http.json"
expect_eq "the 600 events reached events.raw" 5600 "$(topic_count "$RAW")"
dump "$RAW" raw | jq -c 'select(.value.collector_id != "loadgen") | .value' >"$T/via.jsonl"
expect_eq "600 events came through the collector" 600 "$(wc -l <"$T/via.jsonl")"
check "their user agents vary" test "$(jq -r .user_agent "$T/via.jsonl" | sort -u | wc -l)" -ge 20
expect_eq "their client IPs are the visitors' (X-Forwarded-For)" 0 \
  "$(jq -r 'select(.client_ip == "127.0.0.1")' "$T/via.jsonl" | wc -l)"
expect_eq "client event ids kept" false "$(jq -r .event_id_assigned "$T/via.jsonl" | sort -u)"

# SIGTERM stops a paced run early, with a summary, exit 0.
"$LG" --http "$URL" --duration 60 --rate 200 --seed 4 >"$T/paced.json" 2>"$T/paced.log" &
LG_PID=$!
ITEST_PIDS+=("$LG_PID")
sleep 2
expect_clean_stop "loadgen exits 0 on SIGTERM" "$LG_PID" 10
check "a paced run keeps to its rate" \
  jq -e '.events > 100 and .events < 700 and .statuses["202"] == .requests' "$T/paced.json"
expect_clean_stop "collector exits 0" "$COLLECTOR_PID" 10

# --json into the enricher: every line enriches, and the mix looks real.
"$LG" --json --count 1000 --seed 5 2>/dev/null |
  "$BIN/analytics-enricher" --enrich-stdin >"$T/enriched.jsonl" 2>"$T/enricher.log"
expect_eq "--json | analytics-enricher --enrich-stdin exits 0 on both sides" "0 0" \
  "${PIPESTATUS[0]} ${PIPESTATUS[1]}"
expect_eq "1000 events enriched" 1000 "$(jq -r 'select(.error == null) | .event_id' \
  "$T/enriched.jsonl" | wc -l)"
check "bots are a small share" test "$(jq -r 'select(.bot.is_bot) | 1' "$T/enriched.jsonl" | wc -l)" -lt 80
check "at least six channels (with internal)" \
  test "$(jq -r .campaign.channel "$T/enriched.jsonl" | sort -u | wc -l)" -ge 6
expect_eq "every page type of pages.json" "blog booking contact home other pricing service " \
  "$(jq -r .page.page_type "$T/enriched.jsonl" | sort -u | tr '\n' ' ')"
itest_finish
