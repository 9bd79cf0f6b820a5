#!/usr/bin/env bash
# The journey-builder's archive rows (archive.c) against a real private
# PostgreSQL: the column list is analytics_events' columns but inserted_at;
# COPY takes the tricky rows (escapes, NULL submessages, \u0000 in event_data,
# IPv4, IPv6 and mapped networks, a day before 1970); a second COPY fails
# with 23505 and the slow path (staging table, ON CONFLICT DO NOTHING) adds
# only what is new; a day without a partition fails with 23514; and the
# values read back are the ones sent. The probe is tests/integration/archive_copy_probe.c.
source "$(dirname "$0")/lib.sh"
itest_init test_archive_copy
start_postgres pg

PROBE="$BIN/../tests/archive_copy_probe"
export ANALYTICS_PG_DSN="$PG_DSN"
unset ANALYTICS_MIGRATIONS_DIR ANALYTICS_PG_CONNECT_TIMEOUT_S

# q SQL: one query's rows, unaligned, no headers.
q() { psql -X -A -t -q -v ON_ERROR_STOP=1 "$ANALYTICS_PG_DSN" -c "$1"; }

# v ID EXPR: EXPR for the event ID with tabs, line breaks and backslashes
# made visible (<TAB>, <LF>, <CR>, <BS>) and NULL as <NULL>.
v() {
  q "SELECT coalesce(replace(replace(replace(replace(($2)::text, chr(9), '<TAB>'), chr(10), '<LF>'),
       chr(13), '<CR>'), chr(92), '<BS>'), '<NULL>') FROM analytics_events WHERE event_id = '$1'"
}

if ! "$BIN/analytics-migrate" >"$T/migrate.out" 2>"$T/migrate.log"; then
  echo "analytics-migrate failed"; cat "$T/migrate.log"; exit 1
fi

expect_eq "archive_columns are analytics_events' columns but inserted_at, in order" \
  "$(q "SELECT string_agg(attname, ', ' ORDER BY attnum) FROM pg_attribute
        WHERE attrelid = 'analytics_events'::regclass AND attnum > 0 AND NOT attisdropped
          AND attname <> 'inserted_at'")" \
  "$("$PROBE" --columns)"

"$PROBE" >"$T/probe.out" 2>"$T/probe.log"
expect_eq "the probe's COPYs all went as expected" 0 "$?"
cat "$T/probe.out"
check "a missing table fails with 42P01" grep -q "^ok copy into a missing table: .*\[42P01\]" "$T/probe.out"
check "a statement that is no COPY FROM STDIN is refused" grep -q "^ok copy misuse refused" "$T/probe.out"
check "a duplicate COPY fails with unique_violation" grep -q '^ok fast path copy again: duplicate: .*\[23505\]' "$T/probe.out"
check "a day without a partition fails with 23514" grep -q '^ok copy for a day without partition: .*no partition.*\[23514\]' "$T/probe.out"

expect_eq "every event is stored once, the slow path added the new one" \
  "bare,full,fullip,ipv6,mapped,old" "$(q "SELECT string_agg(event_id, ',' ORDER BY event_id) FROM analytics_events")"
expect_eq "nothing of the refused day" 0 "$(q "SELECT count(*) FROM analytics_events WHERE event_id = 'nopart'")"

# ---- values ----

expect_eq "page_url keeps its tab, backslash and line break" \
  "https://x.example/a<TAB>b<BS>c<LF>d" "$(v full page_url)"
expect_eq "page_path keeps its tab" "/a<TAB>b" "$(v full page_path)"
expect_eq "gclid keeps its backslash" "g<BS>1" "$(v full gclid)"
expect_eq "event_data's JSON escapes decode" "a<TAB>b|c:<BS>d" "$(v full "event_data->>'k' || '|' || (event_data->>'url')")"
expect_eq "times are UTC with milliseconds" \
  "2026-11-25 10:00:00.123|2026-11-25 09:59:59.623|2026-11-25 10:00:00.123|2026-11-25 10:00:00.130" \
  "$(v full "to_char(event_time AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS') || '|' ||
             to_char(client_time AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS') || '|' ||
             to_char(received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS') || '|' ||
             to_char(enriched_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS')")"
expect_eq "enums, session and consent columns" \
  "paid_search|mobile|4|campaign|t|t|f|f|-500" \
  "$(v full "concat_ws('|', channel, device_type, session_seq, session_start_reason,
             consent_specified, consent_analytics, consent_marketing, is_bot, clock_skew_ms)")"
expect_eq "an IPv4 /24" "203.0.113.0/24" "$(v full ip_truncated)"
expect_eq "an IPv6 /48" "2001:db8:1::/48" "$(v ipv6 ip_truncated)"
expect_eq "a full IPv6 address is stored as its /48" "2001:db8:1::/48" "$(v fullip ip_truncated)"
expect_eq "an IPv4-mapped address as IPv4 /24" "198.51.100.0/24" "$(v mapped ip_truncated)"
expect_eq "the family and prefix pass the table's check" "4 24|6 48" \
  "$(q "SELECT string_agg(DISTINCT family(ip_truncated) || ' ' || masklen(ip_truncated), '|')
        FROM analytics_events")"
expect_eq "\\u0000 in event_data became U+FFFD" true \
  "$(v ipv6 "event_data->>'nul' = 'a' || chr(65533) || 'b'")"
expect_eq "an escaped backslash before u0000 stays text" "<BS>u0000" "$(v ipv6 "event_data->>'lit'")"
expect_eq "a surrogate pair decodes, a lone half became U+FFFD" "1F600 FFFD" \
  "$(v ipv6 "upper(to_hex(ascii(event_data->>'pair'))) || ' ' || upper(to_hex(ascii(event_data->>'lone')))")"
expect_eq "CHANNEL_UNKNOWN with a campaign, DEVICE_TYPE_UNKNOWN with a user agent" "unknown|unknown" \
  "$(v mapped "channel || '|' || device_type")"
expect_eq "no submessages: NULLs and defaults" \
  "<NULL>|<NULL>|<NULL>|<NULL>|<NULL>|<NULL>|<NULL>|<NULL>|f|f|f|f|{}|1" \
  "$(v bare "concat_ws('|', coalesce(session_id, '<NULL>'), coalesce(session_seq::text, '<NULL>'),
             coalesce(channel, '<NULL>'), coalesce(device_type, '<NULL>'),
             coalesce(ip_truncated::text, '<NULL>'), coalesce(client_time::text, '<NULL>'),
             coalesce(enriched_at::text, '<NULL>'), coalesce(page_url, '<NULL>'),
             session_new, is_bot, consent_specified, late, event_data, schema_version)")"
expect_eq "an event of 1970-01-01 in its partition, a client time before 1970" \
  "analytics_events_p19700101|1969-12-31 23:59:59.999|<NULL>" \
  "$(v old "tableoid::regclass::text || '|' ||
            to_char(client_time AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS') || '|' ||
            coalesce(enriched_at::text, '<NULL>')")"
expect_eq "each event in its own day's partition" \
  "bare analytics_events_p20261126|full analytics_events_p20261125" \
  "$(q "SELECT string_agg(event_id || ' ' || tableoid::regclass::text, '|' ORDER BY event_id)
        FROM analytics_events WHERE event_id IN ('full', 'bare')")"

itest_finish
