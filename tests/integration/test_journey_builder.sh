#!/usr/bin/env bash
# analytics-journey-builder end to end: the real collector and enricher feed
# it scripted visitors through the devbroker, and a real PostgreSQL ends up
# with exact rows: every event archived (the bot's too), one session each,
# the journeys with their stages and times spent, the booking funnel's
# rollups (a completed attempt, one abandoned at "booking started", one
# whose earlier steps were never logged) and funnel_report over them; the
# journeys topic carries one update per stage change, funnel step, session
# closed and abandonment. Then: a replay of the whole topic changes nothing.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
itest_init journey_builder

CHROME='Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36'
BOT='Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)'

start_devbroker
start_redis_free redis
start_postgres_migrated pg
start_collector c1
start_enricher e1

# q SQL: one query's rows, unaligned, | between columns.
q() { psql -X -A -t -q -v ON_ERROR_STOP=1 "$PG_DSN" -c "$1"; }
q_is() { [ "$(q "$1")" = "$2" ]; }

now="$(($(date +%s) * 1000))"
t0=$((now - 2 * 3600 * 1000))
ev() { # ev ID TYPE FINGERPRINT TS URL
  printf '{"event_id":"%s","event_type":"%s","fingerprint":"%s","timestamp":%s,"page_url":"https://shop.example%s"}' \
    "$1" "$2" "$3" "$4" "$5"
}
# a: the whole funnel; b: abandons at booking started; c: a booking with no
# step logged before it; d: one page and gone.
post "{\"events\":[$(ev a1 page_view fp-a $t0 /services/phone),
  $(ev a2 page_view fp-a $((t0 + 30000)) /pricing),
  $(ev a3 booking_started fp-a $((t0 + 60000)) /book),
  $(ev a4 booking_completed fp-a $((t0 + 120000)) /book/done),
  $(ev b1 page_view fp-b $t0 /services),
  $(ev b2 page_view fp-b $((t0 + 20000)) /pricing),
  $(ev b3 booking_started fp-b $((t0 + 40000)) /book),
  $(ev c1 booking_completed fp-c $t0 /book/done),
  $(ev d1 page_view fp-d $t0 /)]}" -A "$CHROME"
expect_eq "collector takes the scripted visitors" 202 "$STATUS"
post "$(ev bot1 page_view fp-bot $t0 /services)" -A "$BOT"
expect_eq "collector takes the bot" 202 "$STATUS"

start_jb jb1
check "every event archived, the bot's too" wait_for 30 q_is "SELECT count(*) FROM analytics_events" 10
check "the bot's event is flagged" q_is "SELECT is_bot FROM analytics_events WHERE event_id = 'bot1'" t
check "all four sessions closed (idle 5 s)" wait_for 30 q_is "SELECT count(*) FROM sessions WHERE closed" 4
check "readyz is 200" http_status_is "http://127.0.0.1:$JB_ADMIN/readyz" 200
expect_eq "no session for the bot" 0 "$(q "SELECT count(*) FROM sessions WHERE fingerprint = 'fp-bot'")"
expect_eq "sessions: page views, events, bounced, converted, duration" \
  "fp-a|2|4|f|t|120
fp-b|2|3|f|f|40
fp-c|0|1|t|t|0
fp-d|1|1|t|f|0" \
  "$(q "SELECT fingerprint, page_views, events, bounced, converted, duration_s FROM sessions ORDER BY 1")"
expect_eq "sessions: entry and exit pages, channel, device" \
  "fp-a|https://shop.example/services/phone|https://shop.example/pricing|direct|desktop" \
  "$(q "SELECT fingerprint, entry_page, exit_page, channel, device_type FROM sessions WHERE fingerprint = 'fp-a'")"
expect_eq "journeys: a's touchpoints, stages and times spent" \
  "1|interest||service_page|30
2|consideration|interest|pricing_page|30
3|consideration|consideration|booking_started|60
4|conversion|consideration|booking_completed|0" \
  "$(q "SELECT seq, stage, previous_stage, touchpoint, time_spent_s FROM customer_journeys WHERE fingerprint = 'fp-a' ORDER BY seq")"
expect_eq "journeys: 9 touchpoints over the four visitors" 9 "$(q "SELECT count(*) FROM customer_journeys")"
expect_eq "funnel rollups: attempts, sessions, inferred, abandoned, times measured per step" \
  "1|3|3|1|0|0
2|3|3|1|0|2
3|3|3|1|1|2
4|2|2|0|0|1" \
  "$(q "SELECT step, sum(attempts), sum(sessions), sum(inferred), sum(abandoned), sum(since_prev_n) FROM funnel_daily WHERE funnel = 'booking' GROUP BY step ORDER BY step")"
expect_eq "funnel visitors: each visitor once per step reached, c's first three inferred" \
  "1|fp-a,fp-b,fp-c|fp-c
2|fp-a,fp-b,fp-c|fp-c
3|fp-a,fp-b,fp-c|fp-c
4|fp-a,fp-c|" \
  "$(q "SELECT v.step, string_agg(f.fp, ',' ORDER BY f.fp),
               coalesce(string_agg(f.fp, ',' ORDER BY f.fp) FILTER (WHERE v.inferred), '')
          FROM funnel_visitors v
          JOIN (VALUES ('fp-a'), ('fp-b'), ('fp-c'), ('fp-d')) f(fp)
            ON hashtextextended(f.fp, 0) = v.visitor
         WHERE v.funnel = 'booking' GROUP BY v.step ORDER BY v.step")"
expect_eq "funnel visitor sets: the same counts, per row and per day" "3,3,3,2|3,3,3,2" \
  "$(q "SELECT (SELECT string_agg(n::text, ',' ORDER BY step) FROM
                 (SELECT step, hll_cardinality(hll_union_agg(visitors_hll))::int AS n FROM funnel_daily
                   WHERE funnel = 'booking' GROUP BY step) a)
          || '|' || (SELECT string_agg(n::text, ',' ORDER BY step) FROM
                 (SELECT step, hll_cardinality(hll_union_agg(visitors_hll))::int AS n
                    FROM funnel_daily_visitors WHERE funnel = 'booking' GROUP BY step) b)")"
report() {
  q "SELECT step, step_name, visitors, attempts, round(conversion_from_previous::numeric, 3), drop_off,
            inferred, abandoned, exact
     FROM funnel_report('booking', now() - interval '3 days', now() + interval '1 day')"
}
expect_eq "funnel_report answers from the rollups: distinct visitors, exactly" \
  "1|awareness: service page|3|3|||1|0|t
2|interest: pricing viewed|3|3|1.000|0|1|0|t
3|consideration: booking started|3|3|1.000|0|1|1|t
4|conversion: booking completed|2|2|0.667|1|0|0|t" "$(report)"

updates() { dump analytics.journeys journey | jq -r .value.kind | sort | uniq -c | awk '{print $2 "=" $1}' | paste -sd' '; }
updates_are() { [ "$(updates)" = "$1" ]; }
# Sessions close by the stream's clock: with 5 s of idle time, a's and b's
# sessions (events 20 to 60 s apart) close after each event as the clock
# of their partition passes it, and the next event reopens them (fp-a
# three times, fp-b twice): every close is announced, the last with the
# whole session. a's attempt, abandoned at "booking started" when its
# session closed after a3, is taken back when a4, in that session, completes
# it; the tables above are those of sessions closed once.
check "journey updates: 7 stage changes, 11 funnel steps, 9 closes, 2 abandonments" wait_for 10 updates_are \
  "JOURNEY_UPDATE_KIND_ABANDONED=2 JOURNEY_UPDATE_KIND_FUNNEL_STEP=11 JOURNEY_UPDATE_KIND_SESSION_CLOSED=9 JOURNEY_UPDATE_KIND_STAGE_CHANGED=7"
last_closes() {
  dump analytics.journeys journey | jq -r 'select(.value.kind == "JOURNEY_UPDATE_KIND_SESSION_CLOSED") | "\(.value.fingerprint) \(.value.session.events)"' |
    awk '{last[$1] = $2} END {for (f in last) print f "|" last[f]}' | sort
}
expect_eq "each session's last close carries all its events" "fp-a|4
fp-b|3
fp-c|1
fp-d|1" "$(last_closes)"
expect_eq "sessions reopened by a later event: 5" 5 \
  "$(ADMIN_PORT="$JB_ADMIN" metric analytics_journey_builder_sessions_reopened_total)"
expect_eq "abandonments taken back: 1 (a's)" 1 \
  "$(ADMIN_PORT="$JB_ADMIN" metric analytics_journey_builder_abandon_reverted_total)"

# ---- replay: the same messages again change nothing ----
snapshot() {
  q "SELECT count(*) FROM analytics_events"
  q "SELECT fingerprint, page_views, events, bounced, converted, closed FROM sessions ORDER BY 1"
  q "SELECT event_id, seq, stage, time_spent_s FROM customer_journeys ORDER BY 1"
  q "SELECT day, step, channel, device_type, attempts, sessions, inferred, abandoned, since_prev_n, since_prev_hist, visitors_hll, inferred_hll FROM funnel_daily ORDER BY 1, 2, 3, 4"
  q "SELECT * FROM funnel_daily_visitors ORDER BY 1, 2, 3"
  q "SELECT * FROM funnel_visitors ORDER BY 1, 2, 3, 4, 5, 6"
}
snapshot >"$T/before.txt"
expect_clean_stop "journey-builder stops on SIGTERM" "$JB_PID"
# A new consumer group reads the topic from the start: journey_offsets says
# it is all applied, so every message is skipped.
start_jb jb2 ANALYTICS_JOURNEY_BUILDER_GROUP=replay-1
skipped() { ADMIN_PORT="$JB_ADMIN" metric analytics_journey_builder_replayed_skipped_total; }
skipped_is() { [ "$(skipped)" = "$1" ]; }
check "a replay from the start is skipped by journey_offsets" wait_for 30 skipped_is 10
snapshot >"$T/after-skip.txt"
check "and changes nothing" cmp -s "$T/before.txt" "$T/after-skip.txt"
expect_clean_stop "journey-builder stops again" "$JB_PID"
# Without journey_offsets (a restored database, say) the archive's event ids
# still catch every replayed event: nothing is applied twice.
q "DELETE FROM journey_offsets" >/dev/null
start_jb jb3 ANALYTICS_JOURNEY_BUILDER_GROUP=replay-2
dups() { ADMIN_PORT="$JB_ADMIN" metric analytics_journey_builder_duplicates_total; }
dups_is() { [ "$(dups)" = "$1" ]; }
check "a replay without offsets finds every event archived already" wait_for 30 dups_is 10
snapshot >"$T/after-dups.txt"
check "and changes nothing either" cmp -s "$T/before.txt" "$T/after-dups.txt"
expect_clean_stop "journey-builder stops on SIGTERM at the end" "$JB_PID"
itest_finish
