#!/usr/bin/env bash
# analytics-train bgnbd, the real binary: it reproduces Fader, Hardie and
# Lee's BG/NBD fit on the CDNOW sample (deploy/data/cdnow), deterministically;
# --predict scores every customer with values in range; bad arguments exit
# 64 and bad data 65 with the file, line and column named, and neither
# leaves an --out file; --from-db fits from the sessions table of a real
# private PostgreSQL migrated by analytics-migrate (bots, same-day
# sessions and days after the calibration end left out; bookings are the
# converted sessions), and an unreachable or unmigrated database exits 1.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
itest_init test_train_bgnbd

TRAIN="$BIN/analytics-train"
CDNOW="$SRC/deploy/data/cdnow/cdnow_sample.csv"
unset ANALYTICS_PG_DSN ANALYTICS_PG_CONNECT_TIMEOUT_S

# run NAME ARGS...: analytics-train bgnbd ARGS; stdout in $T/NAME.out,
# stderr in $T/NAME.err; sets RC.
run() {
  local name="$1"
  shift
  "$TRAIN" bgnbd "$@" >"$T/$name.out" 2>"$T/$name.err"
  RC=$?
}

# field FILE KEY: a key of a JSON file, as jq prints it.
field() { jq -r ".$2" "$1"; }

# fixed N VALUE: VALUE rounded to N decimals.
fixed() { printf "%.$1f" "$2"; }

# within A B TOL: |A - B| <= TOL.
within() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = a - b; exit !(d <= t && -d <= t) }'; }

# ---- the paper's CDNOW fit: 39 weeks to 1997-09-30 ----
run fit --transactions "$CDNOW" --calibration-end 1997-09-30 --unit week --out "$T/churn.json"
expect_eq "the CDNOW fit exits 0" 0 "$RC"
expect_eq "it prints one line" 1 "$(wc -l <"$T/fit.out")"
expect_eq "r 0.243" 0.243 "$(fixed 3 "$(field "$T/fit.out" r)")"
expect_eq "alpha 4.414" 4.414 "$(fixed 3 "$(field "$T/fit.out" alpha)")"
expect_eq "a 0.793" 0.793 "$(fixed 3 "$(field "$T/fit.out" a)")"
expect_eq "b 2.426" 2.426 "$(fixed 3 "$(field "$T/fit.out" b)")"
check "log-likelihood within 0.1 of -9582.4" within "$(field "$T/fit.out" log_likelihood)" -9582.4 0.1
expect_eq "2357 customers" 2357 "$(field "$T/fit.out" customers)"
expect_eq "the model file holds what was printed" \
  "$(jq -c 'del(.fit_seconds, .iterations, .gradient_norm)' "$T/fit.out")" "$(jq -c . "$T/churn.json")"
expect_eq "unit, calibration end and basis recorded" "week 1997-09-30 transactions" \
  "$(jq -r '"\(.unit) \(.calibration_end) \(.basis)"' "$T/churn.json")"
expect_eq "a model version bgnbd-<16 hex>" true \
  "$(jq '.model_version | test("^bgnbd-[0-9a-f]{16}$")' "$T/churn.json")"
echo "CDNOW fit: $(cat "$T/fit.out")"
run fit2 --transactions "$CDNOW" --calibration-end=1997-09-30 --unit=week --out="$T/churn2.json"
check "a second fit writes the same bytes" cmp -s "$T/churn.json" "$T/churn2.json"

# In days: the same fit, alpha 7 times larger.
run fitday --transactions "$CDNOW" --calibration-end 1997-09-30 --out "$T/churn-day.json"
expect_eq "in days (the default unit), the same r" 0.2426 "$(fixed 4 "$(field "$T/churn-day.json" r)")"
expect_eq "and alpha in days" "$(fixed 2 "$(awk -v a="$(field "$T/churn.json" alpha)" 'BEGIN { print a * 7 }')")" \
  "$(fixed 2 "$(field "$T/churn-day.json" alpha)")"
expect_eq "unit day recorded" day "$(field "$T/churn-day.json" unit)"

# ---- --predict ----
run predict --predict --model "$T/churn.json" --transactions "$CDNOW" --horizon 39
expect_eq "--predict exits 0" 0 "$RC"
expect_eq "its header" "customer_id,p_alive,expected_transactions,churn_risk" "$(head -1 "$T/predict.out")"
expect_eq "one row per customer" 2357 "$(tail -n +2 "$T/predict.out" | wc -l)"
expect_eq "customers in the file's order (1..2357)" "$(seq 1 2357 | md5sum)" \
  "$(tail -n +2 "$T/predict.out" | cut -d, -f1 | md5sum)"
expect_eq "every value in range" 0 "$(awk -F, 'NR > 1 && !($2 > 0 && $2 <= 1 && $3 >= 0 &&
  $4 >= 0 && $4 <= 1 && $4 >= 1 - $2 - 1e-9) { n++ } END { print n + 0 }' "$T/predict.out")"
# Customer 4 bought once (x = 0): surely alive.
expect_eq "a customer with no repeat is alive" 1 "$(awk -F, '$1 == 4 { print $2 }' "$T/predict.out")"
# Customer 1: x = 2, t_x = 30.43, T = 38.86 weeks.
row1() { awk -F, '$1 == 1' "$T/$1.out"; }
for h in 4 13 26 52; do
  run "h$h" --predict --model "$T/churn.json" --transactions "$CDNOW" --horizon "$h"
done
e() { row1 "$1" | cut -d, -f3; }
risk() { row1 "$1" | cut -d, -f4; }
check "customer 1: P(alive) the same whatever the horizon" \
  test "$(row1 h4 | cut -d, -f2)" = "$(row1 h52 | cut -d, -f2)"
check "customer 1: expected transactions rise with the horizon" \
  awk -v a="$(e h4)" -v b="$(e h13)" -v c="$(e h26)" -v d="$(e h52)" 'BEGIN { exit !(a < b && b < c && c < d) }'
check "customer 1: P(no transaction in the horizon) falls as the horizon grows" \
  awk -v a="$(risk h4)" -v b="$(risk h13)" -v c="$(risk h26)" -v d="$(risk h52)" \
  -v p="$(row1 h4 | cut -d, -f2)" 'BEGIN { exit !(a > b && b > c && c > d && d > 1 - p) }'
run predict_day --predict --model "$T/churn.json" --transactions "$CDNOW" --unit day --horizon 273
check "--unit day --horizon 273 answers as 39 weeks" \
  awk -F, 'NR == FNR { w[FNR] = $0; next } {
    split(w[FNR], a, ","); for (i = 2; i <= 4; i++) if ((a[i] - $i) > 1e-7 || ($i - a[i]) > 1e-7) exit 1
  }' "$T/predict.out" "$T/predict_day.out"
run predict_early --predict --model "$T/churn.json" --transactions "$CDNOW" --calibration-end 1997-01-31 --horizon 4
expect_eq "an earlier calibration end counts the customers who had come by then" \
  "$(awk -F, 'NR > 1 && $2 <= "1997-01-31" { print $1 }' "$CDNOW" | sort -u | wc -l)" \
  "$(tail -n +2 "$T/predict_early.out" | wc -l)"

# ---- bad arguments (64) and bad data (65) ----
printf 'customer_id,date\n1,1997-01-01\n1,1997-02-30\n' >"$T/bad_date.csv"
printf 'customer_id,date\n1,1997-01-01\n,1997-01-02\n' >"$T/empty_id.csv"
printf 'customer_id,date\n' >"$T/no_rows.csv"
printf 'customer,date\n1,1997-01-01\n' >"$T/no_column.csv"
printf 'customer_id,date\n1,1997-01-01\n2,1997-01-05\n' >"$T/no_repeat.csv"
jq '.unit = "month"' "$T/churn.json" >"$T/month.json"
# refuses NAME CODE MESSAGE ARGS...: the command exits CODE, says MESSAGE on
# stderr and leaves no $T/refused.json behind.
refuses() {
  local name="$1" code="$2" msg="$3"
  shift 3
  rm -f "$T/refused.json"
  run "$name" "$@"
  expect_eq "$name: exit $code" "$code" "$RC"
  check "$name: says '$msg'" grep -qF -- "$msg" "$T/$name.err"
  check "$name: no --out written" test ! -e "$T/refused.json"
}
OUT=(--out "$T/refused.json")
refuses unknown_option 64 "unknown argument '--fast'" --fast --transactions "$CDNOW" \
  --calibration-end 1997-09-30 "${OUT[@]}"
refuses unknown_unit 64 '--unit: "month" is not a unit (day or week)' --transactions "$CDNOW" \
  --calibration-end 1997-09-30 --unit month "${OUT[@]}"
refuses bad_end 64 '--calibration-end: "1997-09-31" is not a date' --transactions "$CDNOW" \
  --calibration-end 1997-09-31 "${OUT[@]}"
refuses no_out 64 "--out is required" --transactions "$CDNOW" --calibration-end 1997-09-30
refuses bad_date 65 "$T/bad_date.csv: line 3: column date: \"1997-02-30\" is not a date" \
  --transactions "$T/bad_date.csv" --calibration-end 1997-09-30 "${OUT[@]}"
refuses empty_id 65 "$T/empty_id.csv: line 3: column customer_id: empty" \
  --transactions "$T/empty_id.csv" --calibration-end 1997-09-30 "${OUT[@]}"
refuses no_rows 65 "$T/no_rows.csv: no transactions" \
  --transactions "$T/no_rows.csv" --calibration-end 1997-09-30 "${OUT[@]}"
refuses no_column 65 "$T/no_column.csv: line 1: no column \"customer_id\" in the header" \
  --transactions "$T/no_column.csv" --calibration-end 1997-09-30 "${OUT[@]}"
refuses before_all 65 \
  "$CDNOW: every transaction is after the calibration end 1996-12-31 (the earliest is on 1997-01-01)" \
  --transactions "$CDNOW" --calibration-end 1996-12-31 "${OUT[@]}"
refuses no_repeat 65 "$T/no_repeat.csv: none of the 2 customers made a repeat transaction" \
  --transactions "$T/no_repeat.csv" --calibration-end 1997-09-30 "${OUT[@]}"
refuses missing_file 1 "$T/absent.csv: cannot read it" \
  --transactions "$T/absent.csv" --calibration-end 1997-09-30 "${OUT[@]}"
refuses model_unit 65 "$T/month.json: \"unit\" is \"month\": expected day or week" \
  --predict --model "$T/month.json" --transactions "$CDNOW" --horizon 4
refuses model_missing 1 "$T/absent.json: " \
  --predict --model "$T/absent.json" --transactions "$CDNOW" --horizon 4
refuses horizon 64 '--horizon: "-1" is not a number of units' \
  --predict --model "$T/churn.json" --transactions "$CDNOW" --horizon -1
echo '{"r": 1}' >"$T/refused.json"
run no_clobber --transactions "$T/bad_date.csv" --calibration-end 1997-09-30 --out "$T/refused.json"
expect_eq "bad data leaves an existing --out as it was" '{"r": 1}' "$(cat "$T/refused.json")"
run help --help
expect_eq "--help exits 0" 0 "$RC"
check "--help names the three forms and the variables" \
  bash -c "grep -q -- '--predict' '$T/help.out' && grep -q -- '--from-db' '$T/help.out' &&
           grep -q ANALYTICS_PG_DSN '$T/help.out'"

# ---- --from-db ----
start_postgres pg
ANALYTICS_PG_DSN="$PG_DSN" "$BIN/analytics-migrate" >"$T/migrate.out" 2>"$T/migrate.log"
expect_eq "analytics-migrate exits 0" 0 "$?"
q() { psql -X -A -t -q -v ON_ERROR_STOP=1 "$PG_DSN" -c "$1"; }

# Every CDNOW transaction becomes a converted session at 10:00 UTC of its
# day (fingerprint cdnow-<id>); then what must not change the bookings fit:
# a second, unconverted session the same day for 50 customers; a bot with
# converted sessions on 30 days; and visitors who never book: browser-1 on
# 1997-03-01 and at 23:30 UTC on the calibration-end day, browser-2 on two
# days, browser-3 once, and late-1 first at 00:30 UTC the day after.
psql -X -q -v ON_ERROR_STOP=1 "$PG_DSN" >"$T/load.log" 2>&1 <<SQL
CREATE TEMP TABLE cdnow (customer_id text, day date);
\copy cdnow FROM '$CDNOW' WITH (FORMAT csv, HEADER true)
INSERT INTO sessions (session_id, fingerprint, started_at, ended_at, converted)
SELECT 'cdnow-s' || row_number() OVER (), 'cdnow-' || customer_id,
       (day + time '10:00') AT TIME ZONE 'UTC', (day + time '10:05') AT TIME ZONE 'UTC', true
  FROM cdnow;
INSERT INTO sessions (session_id, fingerprint, started_at, ended_at, converted)
SELECT 'again-' || customer_id, 'cdnow-' || customer_id,
       (min(day) + time '18:00') AT TIME ZONE 'UTC', (min(day) + time '18:10') AT TIME ZONE 'UTC', false
  FROM cdnow WHERE customer_id::int <= 50 GROUP BY customer_id;
INSERT INTO sessions (session_id, fingerprint, started_at, ended_at, is_bot, converted)
SELECT 'bot-' || k, 'bot-1', timestamptz '1997-02-01 03:00+00' + k * interval '1 day',
       timestamptz '1997-02-01 03:01+00' + k * interval '1 day', true, true
  FROM generate_series(0, 29) AS k;
INSERT INTO sessions (session_id, fingerprint, started_at, ended_at) VALUES
  ('b1a', 'browser-1', '1997-03-01 12:00+00', '1997-03-01 12:10+00'),
  ('b1b', 'browser-1', '1997-09-30 23:30+00', '1997-09-30 23:40+00'),
  ('b2a', 'browser-2', '1997-04-01 09:00+00', '1997-04-01 09:10+00'),
  ('b2b', 'browser-2', '1997-04-15 09:00+00', '1997-04-15 09:10+00'),
  ('b3a', 'browser-3', '1997-05-01 09:00+00', '1997-05-01 09:10+00'),
  ('l1a', 'late-1',    '1997-10-01 00:30+00', '1997-10-01 00:40+00');
SQL
expect_eq "the sessions are loaded" 7005 "$(q "SELECT count(*) FROM sessions")"

export ANALYTICS_PG_DSN="$PG_DSN"
run db_bookings --from-db --basis bookings --calibration-end 1997-09-30 --unit week \
  --out "$T/db-bookings.json"
expect_eq "--from-db --basis bookings exits 0" 0 "$RC"
expect_eq "bookings: the 2357 CDNOW customers, no bot, no browser" 2357 \
  "$(field "$T/db-bookings.json" customers)"
for k in r alpha a b; do
  expect_eq "bookings: $k as from the CSV" "$(fixed 9 "$(field "$T/churn.json" "$k")")" \
    "$(fixed 9 "$(field "$T/db-bookings.json" "$k")")"
done
expect_eq "bookings: basis, unit, calibration end recorded" "bookings week 1997-09-30" \
  "$(jq -r '"\(.basis) \(.unit) \(.calibration_end)"' "$T/db-bookings.json")"

run db_sessions --from-db --calibration-end 1997-09-30 --out "$T/db-sessions.json"
expect_eq "--from-db (sessions, in days) exits 0" 0 "$RC"
expect_eq "sessions: the CDNOW customers and three browsers; no bot, nobody late" 2360 \
  "$(field "$T/db-sessions.json" customers)"
expect_eq "sessions: basis and unit recorded" "sessions day" \
  "$(jq -r '"\(.basis) \(.unit)"' "$T/db-sessions.json")"
expect_eq "sessions: the printed line is the model" \
  "$(jq -c 'del(.fit_seconds, .iterations, .gradient_norm)' "$T/db_sessions.out")" "$(jq -c . "$T/db-sessions.json")"

# Days of the site's zone, as the scorer counts visits: in New York (UTC-4
# then) late-1's first session, 00:30 UTC on 1 October, is on 30 September.
ANALYTICS_SITE_TIMEZONE=America/New_York run db_zone --from-db --calibration-end 1997-09-30 \
  --out "$T/db-zone.json"
expect_eq "--from-db in the site's zone counts late-1 by the same end" "0 2361" \
  "$RC $(field "$T/db-zone.json" customers)"
ANALYTICS_SITE_TIMEZONE=Mars/Olympus_Mons run db_bad_zone --from-db --out "$T/refused.json"
expect_eq "a zone that does not exist: exit 78" 78 "$RC"
check "...naming the variable" grep -q "ANALYTICS_SITE_TIMEZONE" "$T/db_bad_zone.err"

run db_today --from-db --out "$T/db-today.json"
expect_eq "--from-db defaults to today (UTC)" "0 $(date -u +%F)" \
  "$RC $(field "$T/db-today.json" calibration_end)"
expect_eq "...and so counts late-1 too" 2361 "$(field "$T/db-today.json" customers)"

rm -f "$T/refused.json"
run db_empty --from-db --calibration-end 1996-06-30 --out "$T/refused.json"
expect_eq "no sessions by the calibration end: exit 65" 65 "$RC"
check "...saying so" grep -qF "no sessions on or before 1996-06-30" "$T/db_empty.err"
refuses db_with_csv 64 "--transactions does not go with --from-db" --from-db \
  --transactions "$CDNOW" "${OUT[@]}"

# An unmigrated database, then none at all.
ANALYTICS_PG_DSN="$PG_ADMIN_DSN" run db_unmigrated --from-db "${OUT[@]}"
expect_eq "an unmigrated database: exit 1" 1 "$RC"
check "...saying to run analytics-migrate" grep -q "analytics-migrate" "$T/db_unmigrated.err"
check "...and no --out written" test ! -e "$T/refused.json"
pg_local_stop "$PG_DATA"
ANALYTICS_PG_CONNECT_TIMEOUT_S=2 run db_down --from-db "${OUT[@]}"
expect_eq "the database down: exit 1" 1 "$RC"
check "...with a clear message" grep -q "cannot connect to PostgreSQL" "$T/db_down.err"
check "...and no --out written" test ! -e "$T/refused.json"
echo "database down: $(cat "$T/db_down.err")"
ANALYTICS_PG_DSN="not a dsn" run db_bad_dsn --from-db "${OUT[@]}"
expect_eq "a malformed ANALYTICS_PG_DSN: exit 78" 78 "$RC"
itest_finish
