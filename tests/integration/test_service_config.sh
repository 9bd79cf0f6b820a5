#!/usr/bin/env bash
# One daemon main for all (common/src/service.c): each daemon, started with
# bad values in the shared rows, in the consumer rows under its prefix, in
# its own rows and in what is checked after the table (the debug contexts,
# the DSN, the rule files, the time zone), names every one of them on its
# own line before exit 78; --help lists each shared row once, with the
# daemon's prefix on the admin and consumer rows. No server is needed: the
# configuration is refused before any client starts.
source "$(dirname "$0")/lib.sh"
itest_init service_config

# refused PROG NAME... -- VAR=VALUE...: PROG exits 78 with one config: line
# per NAME.
refused() {
  local prog="$1" names=() name
  shift
  while [ "$1" != -- ]; do
    names+=("$1")
    shift
  done
  shift
  env "$@" timeout 20 "$BIN/$prog" >"$T/$prog.out" 2>"$T/$prog.err"
  expect_eq "$prog: bad configuration exits 78" 78 "$?"
  for name in "${names[@]}"; do
    check "$prog: names $name" grep -q "^config: $name: " "$T/$prog.err"
  done
  expect_eq "$prog: one line per bad variable" "${#names[@]}" "$(grep -c '^config: ' "$T/$prog.err")"
}

echo 'not json' >"$T/broken.json"

refused analytics-enricher ANALYTICS_KAFKA_DEBUG ANALYTICS_ENRICHER_BATCH \
  ANALYTICS_ENRICHER_PREFETCH_MB ANALYTICS_ENRICHER_BOT_RATE ANALYTICS_SITE_TIMEZONE \
  ANALYTICS_PAGES_FILE -- \
  ANALYTICS_KAFKA_DEBUG=nosuchcontext ANALYTICS_ENRICHER_BATCH=0 ANALYTICS_ENRICHER_PREFETCH_MB=x \
  ANALYTICS_ENRICHER_BOT_RATE=-1 ANALYTICS_SITE_TIMEZONE=Mars/Olympus \
  ANALYTICS_PAGES_FILE="$T/broken.json"

refused analytics-journey-builder ANALYTICS_KAFKA_DEBUG ANALYTICS_PG_DSN \
  ANALYTICS_JOURNEY_BUILDER_BATCH ANALYTICS_JOURNEY_BUILDER_GROUP_SESSION_TIMEOUT_MS \
  ANALYTICS_RETENTION_DAYS ANALYTICS_JOURNEYS_FILE ANALYTICS_FUNNELS_FILE -- \
  ANALYTICS_KAFKA_DEBUG=nosuchcontext 'ANALYTICS_PG_DSN=postgresql://[oops' \
  ANALYTICS_JOURNEY_BUILDER_BATCH=100001 ANALYTICS_JOURNEY_BUILDER_GROUP_SESSION_TIMEOUT_MS=10 \
  ANALYTICS_RETENTION_DAYS=0 ANALYTICS_JOURNEYS_FILE="$T/broken.json" \
  ANALYTICS_FUNNELS_FILE="$T/missing.json"
check "the journeys file's reason is the JSON's" \
  grep -qF "config: ANALYTICS_JOURNEYS_FILE: $T/broken.json: malformed JSON at byte 0" \
  "$T/analytics-journey-builder.err"

refused analytics-collector ANALYTICS_KAFKA_DEBUG ANALYTICS_RETENTION_DAYS \
  ANALYTICS_COLLECTOR_ADMIN_LISTEN ANALYTICS_LOG_LEVEL -- \
  ANALYTICS_KAFKA_DEBUG=nosuchcontext ANALYTICS_RETENTION_DAYS=36501 \
  ANALYTICS_COLLECTOR_ADMIN_LISTEN=nohost ANALYTICS_LOG_LEVEL=loud

# --help: each shared row once, the prefixed rows under the daemon's prefix.
for pair in analytics-enricher:ENRICHER analytics-journey-builder:JOURNEY_BUILDER; do
  prog="${pair%%:*}" prefix="ANALYTICS_${pair#*:}"
  "$BIN/$prog" --help >"$T/help" 2>&1
  expect_eq "$prog --help exits 0" 0 "$?"
  for row in ANALYTICS_LOG_LEVEL ANALYTICS_KAFKA_BROKERS ANALYTICS_TOPIC_PREFIX \
    "${prefix}_ADMIN_LISTEN" "${prefix}_GROUP" "${prefix}_BATCH" "${prefix}_LINGER_MS" \
    "${prefix}_GROUP_SESSION_TIMEOUT_MS" "${prefix}_PREFETCH_MB"; do
    expect_eq "$prog --help lists $row once" 1 "$(grep -c "^  $row " "$T/help")"
  done
done
"$BIN/analytics-collector" --help >"$T/help" 2>&1
expect_eq "the collector has no consumer rows" 0 "$(grep -c '^  ANALYTICS_COLLECTOR_GROUP ' "$T/help")"
expect_eq "the collector lists the retention row once" 1 \
  "$(grep -c '^  ANALYTICS_RETENTION_DAYS ' "$T/help")"

itest_finish
