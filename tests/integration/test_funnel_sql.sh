#!/usr/bin/env bash
# The SQL functions of 005_funnels.sql against a real private PostgreSQL
# migrated by analytics-migrate, on rows written by hand: histogram sums as
# the journey-builder's upsert uses them, medians interpolated inside a
# bucket, funnel_report's counts, rates, filters, UTC day edges and errors,
# distinct visitors (migration 008: a visitor trying twice counts once,
# exact from funnel_visitors, estimated from the hll sets where retention
# dropped those, clamped so no step outnumbers the one before, rows from
# before 008 counting their attempts), a visitor's journey in order, and
# sessions by channel and device without
# bots. Last, funnel_report over a year of realistic rollups, its plan and
# time printed (not asserted).
source "$(dirname "$0")/lib.sh"
itest_init test_funnel_sql
start_postgres pg

export ANALYTICS_PG_DSN="$PG_DSN"
unset ANALYTICS_MIGRATIONS_DIR ANALYTICS_PG_CONNECT_TIMEOUT_S

# q SQL: the rows of a query (or the last of several statements), unaligned,
# no headers, NULL as an empty field.
q() { psql -X -A -t -q -v ON_ERROR_STOP=1 "$ANALYTICS_PG_DSN" -c "$1"; }

# q_err SQL: runs SQL expecting it to fail; sets RC and ERR (its stderr).
q_err() {
  ERR="$(psql -X -A -t -q -v ON_ERROR_STOP=1 "$ANALYTICS_PG_DSN" -c "$1" 2>&1 >/dev/null)"
  RC=$?
}

# report ARGS: funnel_report(ARGS) as lines of step|name|visitors|sessions|
# conversion|drop_off|drop_off_rate|median|inferred|abandoned (the rows of
# the first part are written as before migration 008, with no visitor sets:
# their visitors are their attempts).
report() {
  q "SELECT step, step_name, visitors, sessions, conversion_from_previous, drop_off, drop_off_rate,
            median_seconds_from_previous, inferred, abandoned FROM funnel_report($1)"
}

# column N ARGS: field N of each line of report ARGS, comma-separated.
column() { report "$2" | cut -d'|' -f"$1" | paste -sd,; }

"$BIN/analytics-migrate" >"$T/migrate.out" 2>"$T/migrate.log"
expect_eq "analytics-migrate exits 0" 0 "$?"
for f in funnel_hist_add funnel_hist_sum funnel_hist_median funnel_report visitor_journey \
  sessions_by_channel_device; do
  expect_eq "function $f exists" 1 "$(q "SELECT count(*) FROM pg_proc WHERE proname = '$f'")"
done
expect_eq "the volatility the callers rely on (add, median immutable; the readers stable)" \
  "funnel_hist_add i,funnel_hist_median i,funnel_report s,sessions_by_channel_device s,visitor_journey s" \
  "$(q "SELECT string_agg(proname || ' ' || provolatile::text, ',' ORDER BY proname) FROM pg_proc
        WHERE proname IN ('funnel_hist_add', 'funnel_hist_median', 'funnel_report',
                          'visitor_journey', 'sessions_by_channel_device')")"

# ---- funnel_hist_add and funnel_hist_sum ----

expect_eq "add: unequal lengths are padded with zeros" "{11,2,3}" \
  "$(q "SELECT funnel_hist_add('{1,2,3}', '{10}')")"
expect_eq "add: the longer second" "{1,0,5}" "$(q "SELECT funnel_hist_add('{1}', '{0,0,5}')")"
expect_eq "add: NULL is empty" "{1,2}" "$(q "SELECT funnel_hist_add(NULL, '{1,2}')")"
expect_eq "add: '{}' is empty" "{4}" "$(q "SELECT funnel_hist_add('{4}', '{}')")"
expect_eq "add: two empties make '{}', not NULL" "{} {}" \
  "$(q "SELECT funnel_hist_add(NULL, NULL)::text || ' ' || funnel_hist_add('{}', '{}')::text")"
expect_eq "add: NULL elements count 0" "{1,7}" "$(q "SELECT funnel_hist_add('{1,NULL}', '{NULL,7}')")"
expect_eq "add: NULL elements past the shorter's end count 0" "{1,0,3}" \
  "$(q "SELECT funnel_hist_add('{1}', '{NULL,NULL,3}')")"
expect_eq "add: element 1 is the first whatever the subscripts" "{3,5}" \
  "$(q "SELECT funnel_hist_add('[0:1]={1,2}'::bigint[], '{2,3}')")"
q_err "SELECT funnel_hist_add('{9223372036854775807}', '{1}')"
check "add: an overflow is an error" test "$RC" -ne 0
check "add: saying so" grep -q "bigint out of range" <<<"$ERR"
expect_eq "sum: the histograms of a group of rows" "{3,3,1}|{}" \
  "$(q "SELECT funnel_hist_sum(h), funnel_hist_sum(h) FILTER (WHERE false)
        FROM (VALUES ('{1}'::bigint[]), (NULL), ('{2,3}'), ('{0,0,1}')) v(h)")"

# The journey-builder's upsert: a second batch for the same row merges.
q "INSERT INTO funnel_daily (funnel, day, step, channel, device_type, attempts, since_prev_hist)
   VALUES ('upsert', '2024-01-01', 2, 'direct', 'desktop', 2, '{0,2}')" >/dev/null
q "INSERT INTO funnel_daily (funnel, day, step, channel, device_type, attempts, since_prev_hist)
   VALUES ('upsert', '2024-01-01', 2, 'direct', 'desktop', 3, '{1,0,0,3}')
   ON CONFLICT (funnel, day, step, channel, device_type) DO UPDATE SET
     attempts = funnel_daily.attempts + EXCLUDED.attempts,
     since_prev_hist = funnel_hist_add(funnel_daily.since_prev_hist, EXCLUDED.since_prev_hist)" \
  >/dev/null
expect_eq "the upsert merges the histograms" "5|{1,2,0,3}" \
  "$(q "SELECT attempts, since_prev_hist FROM funnel_daily WHERE funnel = 'upsert'")"
q "DELETE FROM funnel_daily WHERE funnel = 'upsert'" >/dev/null

# ---- funnel_hist_median ----
# Buckets: [0,1) [1,2) [2,3) [3,5) [5,7) [7,10) ... [432000,604800) [604800,...).

median() { q "SELECT funnel_hist_median($1)"; }
expect_eq "median: NULL for NULL" "" "$(median NULL)"
expect_eq "median: NULL for '{}'" "" "$(median "'{}'")"
expect_eq "median: NULL when nothing is counted" "" "$(median "'{0,0,NULL}'")"
expect_eq "median: interpolated in the first bucket (4 in [0,1): 0 + 2/4)" 0.5 "$(median "'{4}'")"
expect_eq "median: interpolated in a wider bucket (2 below, 4 in [3,5): 3 + 1.5/4 x 2)" 3.75 \
  "$(median "'{2,0,0,4,1}'")"
expect_eq "median: between two buckets, their bound" 1 "$(median "'{1,1}'")"
expect_eq "median: empty buckets before it are skipped (2 in [10,15): 10 + 1/2 x 5)" 12.5 \
  "$(median "'{0,0,0,0,0,0,2}'")"
last="array_fill(0::bigint, ARRAY[cardinality(funnel_hist_bounds())]) || 5::bigint"
expect_eq "median: in the open last bucket, its lower bound" 604800 "$(median "$last")"
expect_eq "median: the last bucket is past the last bound" 39 \
  "$(q "SELECT cardinality($last)")"
q_err "SELECT funnel_hist_median($last || 1::bigint)"
check "median: more elements than buckets is an error" grep -q "at most 39 buckets" <<<"$ERR"
q_err "SELECT funnel_hist_median('{1,-1,3}')"
check "median: a negative count is an error" grep -q "negative count -1" <<<"$ERR"

# ---- funnel_report ----

q "INSERT INTO funnel_definitions (funnel, steps, strict, window_hours, abandon_from_step,
                                   abandon_after_minutes)
   VALUES ('booking', ARRAY['awareness: service page', 'interest: pricing viewed',
                            'consideration: booking started', 'conversion: booking completed'],
           true, 168, 3, 60),
          ('quote', ARRAY['form seen', 'form started', 'form sent'], false, 24, 0, 0)" >/dev/null
# Days 2024-03-09 .. 13; a report of [03-10 12:00, 03-12 06:00) reads 10, 11, 12.
# columns: funnel, day, step, channel, device, visitors, sessions, inferred,
# abandoned, since_prev_n, since_prev_sum_s, since_prev_hist
q "INSERT INTO funnel_daily (funnel, day, step, channel, device_type, attempts, sessions, inferred,
                            abandoned, since_prev_n, since_prev_sum_s, since_prev_hist) VALUES
   ('booking', '2024-03-09', 1, 'direct', 'desktop', 100, 100, 0, 0, 0, 0, '{}'),
   ('booking', '2024-03-09', 2, 'direct', 'desktop', 50, 50, 0, 0, 50, 25, '{50}'),
   ('booking', '2024-03-10', 1, 'direct', 'desktop', 10, 12, 0, 0, 0, 0, '{}'),
   ('booking', '2024-03-10', 2, 'direct', 'desktop', 6, 6, 1, 0, 5, 21, '{0,0,0,4,1}'),
   ('booking', '2024-03-11', 1, 'organic_search', 'mobile', 10, 11, 0, 0, 0, 0, '{}'),
   ('booking', '2024-03-11', 2, 'organic_search', 'mobile', 4, 4, 0, 0, 2, 0.5, '{2}'),
   ('booking', '2024-03-12', 1, 'direct', 'mobile', 5, 5, 0, 0, 0, 0, '{}'),
   ('booking', '2024-03-12', 3, 'direct', 'desktop', 3, 3, 0, 2, 2, 1300000, $last),
   ('booking', '2024-03-13', 1, 'direct', 'desktop', 1000, 1000, 0, 0, 0, 0, '{}'),
   ('booking', '2024-03-12', 5, 'direct', 'desktop', 9, 9, 0, 0, 0, 0, '{}'),
   ('quote', '2024-03-10', 1, 'direct', 'desktop', 7, 7, 0, 0, 0, 0, '{}');
   UPDATE funnel_daily SET visitors_hll = NULL, inferred_hll = NULL" >/dev/null

range="'2024-03-10 12:00+00', '2024-03-12 06:00+00'"
expect_eq "report: every step, named and in order, counts summed over the days of the range" \
  "1|awareness: service page|25|28|||||0|0
2|interest: pricing viewed|10|10|0.4|15|0.6|3.75|1|0
3|consideration: booking started|3|3|0.3|7|0.7|604800|0|2
4|conversion: booking completed|0|0|0|3|1||0|0" \
  "$(report "'booking', $range")"
expect_eq "report: a step after one with 0 visitors has no rates; any order lists every step" \
  "1|at least 1 of 3 steps|7|7|||||0|0
2|at least 2 of 3 steps|0|0|0|7|1||0|0
3|at least 3 of 3 steps|0|0||0|||0|0" \
  "$(report "'quote', $range")"
expect_eq "report: channel filter" 15,6,3,0 "$(column 3 "'booking', $range, 'direct'")"
expect_eq "report: device filter (named argument)" 15,4,0,0 \
  "$(column 3 "'booking', $range, device_type => 'mobile'")"
expect_eq "report: both filters" 5,0,0,0 "$(column 3 "'booking', $range, 'direct', 'mobile'")"
expect_eq "report: a channel with no rows lists every step with zeros" \
  "1|awareness: service page|0|0|||||0|0
2|interest: pricing viewed|0|0||0|||0|0
3|consideration: booking started|0|0||0|||0|0
4|conversion: booking completed|0|0||0|||0|0" \
  "$(report "'booking', $range, 'email'")"
expect_eq "report: NULL filters are all rows" 25,10,3,0 "$(column 3 "'booking', $range, NULL, NULL")"

# Day edges: the day holding from_ts counts; the day holding to_ts counts
# unless to_ts is its midnight; days are UTC whatever the offset given.
expect_eq "days: midnight to midnight reads 10 and 11 only" 20,10,0,0 \
  "$(column 3 "'booking', '2024-03-10 00:00+00', '2024-03-12 00:00+00'")"
expect_eq "days: a microsecond past the to day's midnight reads that day" 25,10,3,0 \
  "$(column 3 "'booking', '2024-03-10 00:00+00', '2024-03-12 00:00:00.000001+00'")"
expect_eq "days: from_ts late on its day reads all of it" 10,6,0,0 \
  "$(column 3 "'booking', '2024-03-10 23:59:59+00', '2024-03-11 00:00+00'")"
expect_eq "days: UTC days whatever the offset (01:00+02 to 02:00+02 is 03-09 23:00 to midnight UTC)" \
  100,50,0,0 "$(column 3 "'booking', '2024-03-10 01:00+02', '2024-03-10 02:00+02'")"
expect_eq "days: a single day" 1000,0,0,0 \
  "$(column 3 "'booking', '2024-03-13 00:00+00', '2024-03-14 00:00+00'")"
expect_eq "days: an empty range reads nothing" 0,0,0,0 \
  "$(column 3 "'booking', '2024-03-10 12:00+00', '2024-03-10 12:00+00'")"
expect_eq "days: -infinity to infinity reads everything" 1125,60,3,0 \
  "$(column 3 "'booking', '-infinity', 'infinity'")"
expect_eq "days: with 03-09 (50 more in [0,1)) the median moves into [0,1): 28.5 / 52" \
  0.5480769230769231 \
  "$(report "'booking', '2024-03-09', '2024-03-13'" | awk -F'|' '$1 == 2 { print $8 }')"
expect_eq "report: the step past the definition is not shown" 4 \
  "$(report "'booking', '-infinity', 'infinity'" | wc -l)"

q_err "SELECT * FROM funnel_report('nope', $range)"
check "report: an unknown funnel is an error" test "$RC" -ne 0
check "report: naming it" grep -q 'funnel_report: unknown funnel "nope"' <<<"$ERR"
q_err "SELECT * FROM funnel_report('booking', '2024-03-12', '2024-03-10')"
check "report: from_ts after to_ts is an error" test "$RC" -ne 0
check "report: saying so" grep -q 'funnel_report: from_ts (2024-03-12 .*) is after to_ts' <<<"$ERR"
q_err "SELECT * FROM funnel_report('booking', NULL, '2024-03-10')"
check "report: a NULL bound is an error" grep -q 'from_ts and to_ts are required' <<<"$ERR"
q_err "SELECT * FROM funnel_report(NULL, $range)"
check "report: a NULL funnel is unknown" grep -q 'unknown funnel' <<<"$ERR"

# ---- distinct visitors (migration 008) ----
# reach FUNNEL ROWS: writes visitor reaches as the journey-builder does, from
# ROWS, a VALUES list of (day, step, channel, device, fingerprint, inferred,
# attempts it stands for): funnel_daily rows with their attempts, inferred
# attempts and visitor sets, the per-day sets and funnel_visitors.
reach() {
  q "CREATE TEMP TABLE r (day date, step smallint, channel text, device_type text, fp text,
                          inferred boolean, n integer);
     INSERT INTO r VALUES $2;
     INSERT INTO funnel_daily (funnel, day, step, channel, device_type, attempts, sessions, inferred,
                               visitors_hll, inferred_hll)
       SELECT '$1', day, step, channel, device_type, sum(n), sum(n),
              coalesce(sum(n) FILTER (WHERE inferred), 0),
              hll_add_agg(hll_hash_text(fp), p.log2m, p.regwidth, p.expthresh, p.sparseon),
              coalesce(hll_add_agg(hll_hash_text(fp), p.log2m, p.regwidth, p.expthresh, p.sparseon)
                         FILTER (WHERE inferred), funnel_hll_empty())
         FROM r, funnel_hll_params() p GROUP BY 1, 2, 3, 4, 5;
     INSERT INTO funnel_daily_visitors (funnel, day, step, visitors_hll, inferred_hll)
       SELECT '$1', day, step,
              hll_add_agg(hll_hash_text(fp), p.log2m, p.regwidth, p.expthresh, p.sparseon),
              coalesce(hll_add_agg(hll_hash_text(fp), p.log2m, p.regwidth, p.expthresh, p.sparseon)
                         FILTER (WHERE inferred), funnel_hll_empty())
         FROM r, funnel_hll_params() p GROUP BY 1, 2, 3;
     INSERT INTO funnel_visitors (funnel, step, day, channel, device_type, visitor, inferred)
       SELECT '$1', step, day, channel, device_type, hashtextextended(fp, 0), bool_or(inferred)
         FROM r GROUP BY 1, 2, 3, 4, 5, 6" >/dev/null
}
# dv ARGS: step|visitors|attempts|conversion|drop_off|inferred|exact of funnel_report(ARGS).
dv() {
  q "SELECT step, visitors, attempts, round(conversion_from_previous::numeric, 3), drop_off, inferred,
            exact FROM funnel_report($1)"
}
q "INSERT INTO funnel_definitions (funnel, steps, strict, window_hours)
   VALUES ('dv', ARRAY['one', 'two', 'three'], true, 24)" >/dev/null
# v1 tries twice (two days); v2 once, reaching two inferred; v3 on email, mobile.
reach dv "('2024-05-01', 1, 'direct', 'desktop', 'v1', false, 1),
          ('2024-05-01', 2, 'direct', 'desktop', 'v1', false, 1),
          ('2024-05-02', 1, 'direct', 'desktop', 'v1', false, 1),
          ('2024-05-02', 2, 'direct', 'desktop', 'v1', false, 1),
          ('2024-05-02', 3, 'direct', 'desktop', 'v1', false, 1),
          ('2024-05-01', 1, 'direct', 'desktop', 'v2', false, 1),
          ('2024-05-01', 2, 'direct', 'desktop', 'v2', true, 1),
          ('2024-05-01', 3, 'direct', 'desktop', 'v2', false, 1),
          ('2024-05-02', 1, 'email', 'mobile', 'v3', false, 1)"
range="'dv', '2024-05-01', '2024-05-03'"
expect_eq "visitors: a visitor who tried twice counts once; attempts twice; inferred distinct; exact" \
  "1|3|4|||0|t
2|2|3|0.667|1|1|t
3|2|2|1.000|0|0|t" "$(dv "$range")"
expect_eq "visitors: one day" "1|2|2|||0|t
2|2|2|1.000|0|1|t
3|1|1|0.500|1|0|t" "$(dv "'dv', '2024-05-01', '2024-05-02'")"
expect_eq "visitors: a channel filter counts from the rows of that channel" \
  "1|2|3|||0|t
2|2|3|1.000|0|1|t
3|2|2|1.000|0|0|t" "$(dv "$range, 'direct'")"
expect_eq "visitors: a device filter" "1|1|1|||0|t
2|0|0|0.000|1|0|t
3|0|0||0|0|t" "$(dv "$range, device_type => 'mobile'")"
# Rows from before 008 (no sets) count their attempts, added to the sets'.
q "INSERT INTO funnel_daily (funnel, day, step, channel, device_type, attempts, inferred,
                            visitors_hll, inferred_hll)
   VALUES ('dv', '2024-04-30', 1, 'direct', 'desktop', 5, 0, NULL, NULL),
          ('dv', '2024-04-30', 2, 'direct', 'desktop', 2, 1, NULL, NULL)" >/dev/null
expect_eq "visitors: rows without sets add their attempts (an upper bound)" \
  "1|8|9|||0|t
2|4|5|0.500|4|2|t
3|2|2|0.500|2|0|t" "$(dv "'dv', '2024-04-30', '2024-05-03'")"
# Retention deleted the funnel_visitors rows before 05-02: from 05-01 the
# report estimates from the sets (explicit sets this small are exact too).
q "INSERT INTO funnel_visitors_kept (kept_from) VALUES ('2024-05-02');
   DELETE FROM funnel_visitors WHERE day < '2024-05-02'" >/dev/null
expect_eq "visitors: estimated from the sets where retention dropped the exact rows" \
  "1|3|4|||0|f
2|2|3|0.667|1|1|f
3|2|2|1.000|0|0|f" "$(dv "$range")"
expect_eq "visitors: estimated with a filter too (the per-row sets)" "2|f,2|f,2|f" \
  "$(q "SELECT string_agg(visitors || '|' || left(exact::text, 1), ',' ORDER BY step) FROM funnel_report($range, 'direct')")"
expect_eq "visitors: exact again from the first day kept" "1|2|2|||0|t
2|1|1|0.500|1|0|t
3|1|1|1.000|0|0|t" "$(dv "'dv', '2024-05-02', '2024-05-03'")"
q "DELETE FROM funnel_visitors_kept" >/dev/null
# Sets that are not nested (not what the journey-builder writes, but an
# estimate can be off so): a step never shows more visitors than the one
# before it, nor more than its attempts.
reach dv "('2024-05-05', 1, 'direct', 'desktop', 'w1', false, 1),
          ('2024-05-05', 2, 'direct', 'desktop', 'w1', false, 1),
          ('2024-05-05', 2, 'direct', 'desktop', 'w2', false, 1),
          ('2024-05-05', 2, 'direct', 'desktop', 'w3', false, 1),
          ('2024-05-05', 3, 'direct', 'desktop', 'w1', false, 1),
          ('2024-05-05', 3, 'direct', 'desktop', 'w2', false, 1)"
q "UPDATE funnel_daily SET attempts = 1 WHERE funnel = 'dv' AND day = '2024-05-05' AND step = 3" >/dev/null
expect_eq "visitors: clamped to the previous step's and to the attempts; drop-off never negative" \
  "1|1|1|||0|t
2|1|3|1.000|0|0|t
3|1|1|1.000|0|0|t" "$(dv "'dv', '2024-05-05', '2024-05-06'")"
expect_eq "report: the columns, in order" \
  "step,step_name,visitors,attempts,sessions,conversion_from_previous,drop_off,drop_off_rate,median_seconds_from_previous,inferred,abandoned,exact" \
  "$(q "SELECT string_agg(a, ',' ORDER BY n) FROM unnest((SELECT proargnames FROM pg_proc WHERE proname = 'funnel_report')) WITH ORDINALITY AS x(a, n) WHERE n > 5")"

# ---- visitor_journey ----

q "INSERT INTO customer_journeys (event_id, fingerprint, session_id, seq, stage, previous_stage,
                                 touchpoint, channel, page_url, occurred_at, time_spent_s) VALUES
   ('e3', 'fp1', 's2', 3, 'consideration', 'interest', 'booking_started', 'direct',
    'https://x.test/book', '2024-03-11 09:00+00', NULL),
   ('e1', 'fp1', 's1', 1, 'awareness', NULL, 'service', 'organic_search',
    'https://x.test/repair', '2024-03-10 10:00+00', 40),
   ('o1', 'fp2', 's9', 1, 'awareness', NULL, 'home', 'direct', 'https://x.test/',
    '2024-03-10 09:00+00', 5),
   ('e2', 'fp1', 's1', 2, 'interest', 'awareness', 'pricing', 'organic_search',
    'https://x.test/pricing', '2024-03-10 10:00:40+00', 75)" >/dev/null
expect_eq "journey: the visitor's touchpoints in seq order, every column" \
  "1|2024-03-10 10:00:00+00|awareness||service|organic_search|https://x.test/repair|s1|40|e1
2|2024-03-10 10:00:40+00|interest|awareness|pricing|organic_search|https://x.test/pricing|s1|75|e2
3|2024-03-11 09:00:00+00|consideration|interest|booking_started|direct|https://x.test/book|s2||e3" \
  "$(PGTZ=UTC q "SELECT * FROM visitor_journey('fp1')")"
expect_eq "journey: another visitor's only" o1 "$(q "SELECT event_id FROM visitor_journey('fp2')")"
expect_eq "journey: none for an unknown visitor" 0 "$(q "SELECT count(*) FROM visitor_journey('fp0')")"

# ---- sessions_by_channel_device ----

q "INSERT INTO sessions (session_id, fingerprint, started_at, ended_at, duration_s, page_views,
                        channel, device_type, is_bot, bounced, converted) VALUES
   ('s1', 'fp1', '2024-03-10 00:00+00', '2024-03-10 00:01+00', 60, 3, 'direct', 'desktop', false, false, true),
   ('s2', 'fp1', '2024-03-10 11:00+00', '2024-03-10 11:00+00', 0, 1, 'direct', 'desktop', false, true, false),
   ('s3', 'fp2', '2024-03-10 12:00+00', '2024-03-10 12:02+00', 120, 5, 'direct', 'desktop', false, false, false),
   ('s4', 'fp3', '2024-03-10 13:00+00', '2024-03-10 13:00:30+00', 30, 1, NULL, 'mobile', false, true, false),
   ('s5', 'fp4', '2024-03-10 14:00+00', '2024-03-10 14:00+00', 0, 40, 'direct', 'desktop', true, false, false),
   ('s6', 'fp5', '2024-03-09 23:59:59+00', '2024-03-10 00:05+00', 301, 2, 'direct', 'desktop', false, false, false),
   ('s7', 'fp6', '2024-03-11 00:00+00', '2024-03-11 00:01+00', 60, 2, 'direct', 'desktop', false, false, false),
   ('s8', 'fp7', '2024-03-10 15:00+00', '2024-03-10 15:10+00', 600, 7, 'organic_search', NULL, false, false, true),
   ('s9', 'fp3', '2024-03-10 23:00+00', '2024-03-10 23:00+00', 0, 1, 'unknown', 'mobile', false, false, false)" \
  >/dev/null
expect_eq "sessions: per channel and device, bots and sessions outside the range left out, NULL as unknown" \
  "direct|desktop|3|2|1|1|0.3333333333333333|0.3333333333333333|60|9|0.000000
unknown|mobile|2|1|1|0|0.5|0|15|2|0.000000
organic_search|unknown|1|1|0|1|0|1|600|7|0.000000" \
  "$(q "SELECT * FROM sessions_by_channel_device('2024-03-10 00:00+00', '2024-03-11 00:00+00')")"
expect_eq "sessions: an empty range has no rows" 0 \
  "$(q "SELECT count(*) FROM sessions_by_channel_device('2024-03-10', '2024-03-10')")"
q_err "SELECT * FROM sessions_by_channel_device('2024-03-11', '2024-03-10')"
check "sessions: from_ts after to_ts is an error" grep -q 'sessions_by_channel_device: from_ts .* is after to_ts' <<<"$ERR"

# ---- a year of rollups: funnel_report over 30 days, its plan and time (printed) ----

q "INSERT INTO funnel_definitions (funnel, steps, strict, window_hours)
   VALUES ('perf', ARRAY['one', 'two', 'three', 'four'], true, 168)" >/dev/null
# 365 days x 4 steps x 8 channels x 4 devices; step k has 100 / k visitors.
q "INSERT INTO funnel_daily (funnel, day, step, channel, device_type, attempts, sessions,
                            since_prev_n, since_prev_hist, visitors_hll, inferred_hll)
   SELECT 'perf', d::date, k, c, v, 100 / k, 100 / k, CASE WHEN k > 1 THEN 100 / k ELSE 0 END,
          CASE WHEN k > 1 THEN array_fill(0::bigint, ARRAY[6 + k]) || (100 / k)::bigint
               ELSE '{}' END, NULL, NULL
     FROM generate_series('2023-03-14'::date, '2024-03-12', '1 day') d,
          generate_series(1, 4) k,
          unnest(ARRAY['direct', 'internal', 'organic_search', 'paid_search', 'social', 'email',
                       'referral', 'unknown']) c,
          unnest(ARRAY['desktop', 'mobile', 'tablet', 'unknown']) v;
   ANALYZE funnel_daily" >/dev/null
expect_eq "perf: the year of rows is there" 46720 "$(q "SELECT count(*) FROM funnel_daily WHERE funnel = 'perf'")"
expect_eq "perf: 30 days of 32 channels x devices" 96000,48000,31680,24000 \
  "$(column 3 "'perf', '2024-02-12 00:00+00', '2024-03-13 00:00+00'")"
echo "---- funnel_report('perf', 30 days): the plan of its query (auto_explain) and the time ----"
psql -X -q "postgresql://postgres@127.0.0.1:$PG_PORT/analytics" 2>&1 <<'EOF'
LOAD 'auto_explain';
SET auto_explain.log_min_duration = 1;
SET auto_explain.log_analyze = on;
SET auto_explain.log_buffers = on;
SET auto_explain.log_nested_statements = on;
SET auto_explain.log_level = notice;
SET client_min_messages = notice;
\timing on
SELECT * FROM funnel_report('perf', '2024-02-12 00:00+00', '2024-03-13 00:00+00');
EOF
echo "----"

itest_finish
