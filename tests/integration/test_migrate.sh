#!/usr/bin/env bash
# analytics-migrate against a real private PostgreSQL: a fresh database gets
# every table, index and partition and a record per migration; a second run
# changes nothing; concurrent runs apply each migration once; --check and
# --status answer behind / up to date / ahead; a database ahead of the files,
# an edited migration, a failing one and an unreachable or hung server are
# refused with a clear message and the documented exit code; the partition
# functions create, race and drop as the journey-builder will use them.
source "$(dirname "$0")/lib.sh"
itest_init test_migrate
start_postgres pg

M="$BIN/analytics-migrate"
SQL="$SRC/deploy/sql"
N="$(find "$SQL" -maxdepth 1 -name '[0-9]*_*.sql' | wc -l)"
NEXT="$(printf '%03d' $((N + 1)))"
export ANALYTICS_PG_DSN="$PG_DSN"
unset ANALYTICS_MIGRATIONS_DIR ANALYTICS_PG_CONNECT_TIMEOUT_S

# q SQL [DSN]: one query's rows, unaligned, no headers.
q() { psql -X -A -t -q -v ON_ERROR_STOP=1 "${2:-$ANALYTICS_PG_DSN}" -c "$1"; }

# new_db NAME: creates a database owned by analytics and prints its DSN.
new_db() {
  pg_local_create_db "$PG_PORT" analytics "$1" >/dev/null &&
    echo "postgresql://analytics@127.0.0.1:$PG_PORT/$1"
}

# run NAME ARGS...: runs analytics-migrate; stdout in $T/NAME.out, the log in
# $T/NAME.log; sets RC.
run() {
  local name="$1"
  shift
  "$M" "$@" >"$T/$name.out" 2>"$T/$name.log"
  RC=$?
}

# has FILE TEXT: FILE contains TEXT (fixed string).
has() { grep -qF -- "$2" "$1"; }

# sql_dir NAME: a copy of deploy/sql in $T/NAME; prints its path.
sql_dir() {
  mkdir -p "$T/$1" && cp "$SQL"/*.sql "$T/$1/" && echo "$T/$1"
}

# partitions [DSN]: the names of analytics_events' partitions, one a line.
partitions() {
  q "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = 'analytics_events'::regclass ORDER BY 1" "${1:-}"
}

# ---- arguments ----

run help --help
expect_eq "--help exits 0" 0 "$RC"
check "--help lists the variables" has "$T/help.out" ANALYTICS_MIGRATIONS_DIR
check "--help documents exit 65" has "$T/help.out" "65 refused"
run version --version
check "--version names this build's schema version" has "$T/version.out" "(schema $N)"
run badarg --apply
expect_eq "an unknown argument exits 64" 64 "$RC"
ANALYTICS_PG_DSN='postgresql://[oops' run baddsn
expect_eq "a malformed DSN exits 78" 78 "$RC"
check "a malformed DSN is named" has "$T/baddsn.log" "config: ANALYTICS_PG_DSN: bad DSN"
ANALYTICS_PG_CONNECT_TIMEOUT_S=0 run badtimeout
expect_eq "a connect timeout out of range exits 78" 78 "$RC"
run nodir --dir "$T/no-such-dir"
expect_eq "a missing migrations directory exits 65" 65 "$RC"
check "a missing directory is named" has "$T/nodir.log" "no-such-dir: No such file or directory"

# ---- an empty database ----

run check-empty --check
expect_eq "--check on an empty database exits 2" 2 "$RC"
check "--check says it was never migrated" has "$T/check-empty.out" \
  "no schema_migrations table (never migrated), this build needs schema $N: run analytics-migrate"
run status-empty --status
expect_eq "--status on an empty database exits 0" 0 "$RC"
check "--status counts everything pending" has "$T/status-empty.out" "$N pending: run analytics-migrate"
expect_eq "--check and --status create nothing" "" "$(q "SELECT to_regclass('schema_migrations')")"

run first
expect_eq "the first run exits 0" 0 "$RC"
expect_eq "the first run applies every migration" "$N" "$(grep -c '"event":"migrate.applied"' "$T/first.log")"
for t in analytics_events sessions customer_journeys user_behavior_profiles ml_predictions \
  marketing_triggers privacy_requests privacy_request_steps schema_migrations; do
  expect_eq "table $t exists" "$t" "$(q "SELECT to_regclass('$t')")"
done
for t in funnels funnel_report; do
  expect_eq "no $t table (the journey-builder's own migration adds it)" "" "$(q "SELECT to_regclass('$t')")"
done
for i in analytics_events_fingerprint_time analytics_events_session analytics_events_user \
  sessions_fingerprint_started sessions_open_ended_at customer_journeys_fingerprint_seq \
  customer_journeys_session user_behavior_profiles_lead_score ml_predictions_fingerprint_time \
  marketing_triggers_fingerprint_rule privacy_requests_open; do
  expect_eq "index $i exists" "$i" "$(q "SELECT to_regclass('$i')")"
done
expect_eq "versions 1..$N are recorded once each" "$(seq -s, 1 "$N")" \
  "$(q "SELECT string_agg(version::text, ',' ORDER BY version) FROM schema_migrations")"
expected_sums="$(cd "$SQL" && for f in [0-9]*_*.sql; do echo "$f $(sha256sum <"$f" | cut -d' ' -f1)"; done)"
expect_eq "each record has the file's name and sha256" "$expected_sums" \
  "$(q "SELECT name || ' ' || checksum FROM schema_migrations ORDER BY version")"
expected_parts="$(for d in -1 0 1 2 3 4 5 6 7; do echo "analytics_events_p$(date -u -d "$d days" +%Y%m%d)"; done)"
expect_eq "partitions from yesterday to a week ahead (UTC)" "$expected_parts" "$(partitions)"
expect_eq "analytics_events has no default partition" 0 \
  "$(q "SELECT count(*) FROM pg_partitioned_table WHERE partrelid = 'analytics_events'::regclass AND partdefid <> 0")"
expect_eq "the events' primary key is (event_id, event_time)" "event_id,event_time" \
  "$(q "SELECT string_agg(a.attname, ',' ORDER BY k.n) FROM pg_constraint c
        CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, n)
        JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
        WHERE c.conrelid = 'analytics_events'::regclass AND c.contype = 'p'")"
check "the first run prints the schema version" has "$T/first.out" "database schema is at $N: applied $N migration(s)"

# ---- idempotent ----

before="$(q "SELECT string_agg(version || '@' || applied_at, ',' ORDER BY version) FROM schema_migrations")"
run second
expect_eq "a second run exits 0" 0 "$RC"
expect_eq "a second run applies nothing" 0 "$(grep -c '"event":"migrate.applied"' "$T/second.log")"
check "a second run says up to date" has "$T/second.out" "database schema is at $N, up to date"
expect_eq "a second run leaves the records as they were" "$before" \
  "$(q "SELECT string_agg(version || '@' || applied_at, ',' ORDER BY version) FROM schema_migrations")"
run check-ok --check
expect_eq "--check on an up-to-date database exits 0" 0 "$RC"
check "--check says up to date" has "$T/check-ok.out" "database schema is at $N, up to date"
run status-ok --status
expect_eq "--status lists every migration applied" "$N" "$(grep -c '  applied  ' "$T/status-ok.out")"
check "--status ends with up to date" has "$T/status-ok.out" "up to date"

# ---- concurrent runs: the advisory lock serialises them ----

race_dsn="$(new_db analytics_race)"
slow="$(sql_dir sql-slow)"
printf 'SELECT pg_sleep(1.5);\nCREATE TABLE slow_marker (id integer);\n' >"$slow/${NEXT}_slow.sql"
race_pids=()
for i in 1 2 3; do
  ANALYTICS_PG_DSN="$race_dsn" "$M" --dir "$slow" >"$T/race$i.out" 2>"$T/race$i.log" &
  race_pids+=($!)
done
race_rcs=""
for pid in "${race_pids[@]}"; do
  wait "$pid"
  race_rcs+="$?"
done
expect_eq "three concurrent runs all exit 0" 000 "$race_rcs"
expect_eq "each migration was applied once across them" $((N + 1)) \
  "$(cat "$T"/race?.log | grep -c '"event":"migrate.applied"')"
expect_eq "each migration is recorded once" "$(seq -s, 1 $((N + 1)))" \
  "$(q "SELECT string_agg(version::text, ',' ORDER BY version) FROM schema_migrations" "$race_dsn")"
check "the later runs waited for the lock" grep -q '"event":"migrate.lock_wait"' "$T/race1.log" "$T/race2.log" "$T/race3.log"

# ---- the database ahead of the files ----

q "INSERT INTO schema_migrations (version, name, checksum) VALUES ($((N + 1)), '${NEXT}_future.sql', 'x')"
run ahead
expect_eq "a database ahead of the files is refused with 65" 65 "$RC"
check "the refusal says the database is ahead" has "$T/ahead.log" \
  "database schema is at $((N + 1)), ahead of the migrations in $SQL (up to $N)"
run check-ahead --check
expect_eq "--check on a database ahead exits 65" 65 "$RC"
check "--check says which build it needs" has "$T/check-ahead.out" \
  "database schema is at $((N + 1)), ahead of this build, which knows up to $N"
run status-ahead --status
check "--status marks the unknown version" has "$T/status-ahead.out" "unknown"
q "DELETE FROM schema_migrations WHERE version = $((N + 1))"

# ---- an applied migration edited ----

edited="$(sql_dir sql-edited)"
printf -- '-- an afterthought\n' >>"$edited/002_"*.sql
run edited --dir "$edited"
expect_eq "an edited applied migration is refused with 65" 65 "$RC"
check "the refusal names the file and says why" has "$T/edited.log" "must not be edited"
check "the refusal names migration 002" grep -q 'migration 002_[a-z_]*\.sql was applied with checksum' "$T/edited.log"
run check-edited --check --dir "$edited"
expect_eq "--check on an edited migration exits 65" 65 "$RC"

# ---- behind: a new migration in the files ----

plus="$(sql_dir sql-plus)"
printf 'CREATE TABLE extra_marker (id integer);\n' >"$plus/${NEXT}_extra.sql"
ANALYTICS_MIGRATIONS_DIR="$plus" run check-behind --check
expect_eq "--check with a migration pending exits 2 (ANALYTICS_MIGRATIONS_DIR used)" 2 "$RC"
check "--check says behind, as a daemon would" has "$T/check-behind.out" \
  "database schema is at $N, this build needs $((N + 1)): run analytics-migrate"
run status-behind --status --dir "$plus"
check "--status lists the new one pending" grep -q "pending  -  *${NEXT}_extra.sql" "$T/status-behind.out"
run plus --dir "$plus"
expect_eq "applying the new migration exits 0" 0 "$RC"
expect_eq "only the new migration ran" 1 "$(grep -c '"event":"migrate.applied"' "$T/plus.log")"
expect_eq "its table exists" extra_marker "$(q "SELECT to_regclass('extra_marker')")"
run check-after-plus --check
expect_eq "--check with the older files is now ahead: 65" 65 "$RC"
check "--check says ahead" has "$T/check-after-plus.out" "database schema is at $((N + 1)), ahead"

# ---- a failing migration is rolled back whole ----

fail_dsn="$(new_db analytics_fail)"
broken="$(sql_dir sql-broken)"
printf 'CREATE TABLE broken_half (id integer);\nSELECT no_such_column\n  FROM broken_half;\n' \
  >"$broken/${NEXT}_broken.sql"
ANALYTICS_PG_DSN="$fail_dsn" run broken --dir "$broken"
expect_eq "a failing migration exits 1" 1 "$RC"
check "the error names the file and line" has "$T/broken.log" "migration ${NEXT}_broken.sql failed at line 2"
check "the error has the server's reason" has "$T/broken.log" 'column \"no_such_column\" does not exist'
expect_eq "the migrations before it stay applied" "$N" "$(q "SELECT max(version) FROM schema_migrations" "$fail_dsn")"
expect_eq "nothing of the failed migration stays" "" "$(q "SELECT to_regclass('broken_half')" "$fail_dsn")"
commits="$(sql_dir sql-commits)"
printf 'CREATE TABLE committed_early (id integer);\nCOMMIT;\n' >"$commits/${NEXT}_commits.sql"
ANALYTICS_PG_DSN="$fail_dsn" run commits --dir "$commits"
expect_eq "a migration that commits by itself exits 1" 1 "$RC"
check "and is reported as such" has "$T/commits.log" "ended its transaction itself"
expect_eq "and is not recorded" "$N" "$(q "SELECT max(version) FROM schema_migrations" "$fail_dsn")"

# ---- the server unreachable, refusing or hung ----

down_port="$(shuf -i 20000-60000 -n1)"
while [ -n "$(ss -Htln "sport = :$down_port")" ]; do down_port="$(shuf -i 20000-60000 -n1)"; done
start=$SECONDS
ANALYTICS_PG_DSN="postgresql://analytics@127.0.0.1:$down_port/analytics" run down
expect_eq "a server that is down exits 1" 1 "$RC"
check "at once" test $((SECONDS - start)) -le 3
check "with a clear one-line error" has "$T/down.log" "cannot connect to PostgreSQL: connection to server at"
expect_eq "one log line" 1 "$(wc -l <"$T/down.log")"
ANALYTICS_PG_DSN="postgresql://analytics@127.0.0.1:$PG_PORT/no_such_db" run nodb
expect_eq "a missing database exits 1" 1 "$RC"
check "and is named" has "$T/nodb.log" 'database \"no_such_db\" does not exist'
kill -STOP "$(pg_local_pid "$PG_DATA")"
start=$SECONDS
ANALYTICS_PG_CONNECT_TIMEOUT_S=2 run hung
kill -CONT "$(pg_local_pid "$PG_DATA")"
expect_eq "a hung server exits 1" 1 "$RC"
check "within the connect timeout" test $((SECONDS - start)) -le 5
check "saying it timed out" has "$T/hung.log" "timeout expired"

# ---- partitions, as the journey-builder uses them ----

expect_eq "ensure creates the days asked for" \
  "$(printf 'analytics_events_p%s\n' 20200101 20200102 20200103)" \
  "$(q "SELECT analytics_ensure_partitions('2020-01-01', 2)")"
expect_eq "ensure again creates nothing" "" "$(q "SELECT analytics_ensure_partitions('2020-01-01', 2)")"
check "ensure refuses a negative span" \
  bash -c "! psql -X -q -v ON_ERROR_STOP=1 '$ANALYTICS_PG_DSN' -c \"SELECT analytics_ensure_partitions('2020-01-01', -1)\" 2>/dev/null"
for i in 1 2 3; do
  psql -X -A -t -q -v ON_ERROR_STOP=1 "$ANALYTICS_PG_DSN" \
    -c "SELECT analytics_ensure_partitions('2020-03-01', 30)" >"$T/ensure$i.out" 2>"$T/ensure$i.err" &
  race_pids[$i]=$!
done
race_rcs=""
for i in 1 2 3; do
  wait "${race_pids[$i]}"
  race_rcs+="$?"
done
expect_eq "three racing ensure calls all succeed" 000 "$race_rcs"
expect_eq "between them they create each of the 31 days once" "31 31" \
  "$(cat "$T"/ensure?.out | grep -c . ) $(cat "$T"/ensure?.out | sort -u | grep -c .)"
insert="INSERT INTO analytics_events (event_id, event_time, event_type, fingerprint, received_at, ip_truncated)"
q "$insert VALUES ('e1', '2020-01-02 23:59:59+00', 'page_view', 'fp1', now(), '192.0.2.0/24')
   ON CONFLICT DO NOTHING" >/dev/null
q "$insert VALUES ('e1', '2020-01-02 23:59:59+00', 'page_view', 'fp1', now(), '192.0.2.0/24')
   ON CONFLICT DO NOTHING" >/dev/null
q "$insert VALUES ('e2', '2020-01-03 00:00:00+00', 'page_view', 'fp1', now(), '2001:db8:1::/48')" >/dev/null
expect_eq "a replayed event is stored once, in its day's partition" "analytics_events_p20200102 1" \
  "$(q "SELECT tableoid::regclass::text || ' ' || count(*) FROM analytics_events WHERE event_id = 'e1' GROUP BY tableoid")"
check "an event for a day with no partition is refused (no default partition)" \
  bash -c "psql -X -q '$ANALYTICS_PG_DSN' -c \"$insert VALUES ('e3', '2019-06-01', 't', 'f', now(), NULL)\" 2>&1 | grep -q 'no partition'"
check "a full IPv4 address is refused" \
  bash -c "psql -X -q '$ANALYTICS_PG_DSN' -c \"$insert VALUES ('e4', '2020-01-02', 't', 'f', now(), '192.0.2.7')\" 2>&1 | grep -q ip_truncated_check"
check "a full IPv6 address is refused" \
  bash -c "psql -X -q '$ANALYTICS_PG_DSN' -c \"$insert VALUES ('e5', '2020-01-02', 't', 'f', now(), '2001:db8:1::7/128')\" 2>&1 | grep -q ip_truncated_check"
expect_eq "drop_before drops the days before the cutoff, oldest first" \
  "$(printf 'analytics_events_p%s\n' 20200101 20200102)" \
  "$(q "SELECT analytics_drop_partitions_before('2020-01-03')")"
expect_eq "their rows went with them, later days stay" "e2" "$(q "SELECT string_agg(event_id, ',') FROM analytics_events")"
expect_eq "the cutoff day, later days and today's partition remain" 3 \
  "$(partitions | grep -c -x -e analytics_events_p20200103 -e analytics_events_p20200331 \
    -e "analytics_events_p$(date -u +%Y%m%d)")"

itest_finish
