#!/usr/bin/env bash
# sessions_by_channel_device as 009_site_events.sql leaves it, against a real
# private PostgreSQL migrated by analytics-migrate, on rows written by hand:
# a range ending now (or later) counts the sessions a client clock ahead of
# the server's started "in the future", a range ending earlier does not, an
# empty range stays empty; and each group's revenue is the sum of its
# sessions' conversion values. (test_funnel_sql.sh covers the rest of it.)
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
itest_init test_sessions_sql
start_postgres pg

export ANALYTICS_PG_DSN="$PG_DSN"
unset ANALYTICS_MIGRATIONS_DIR ANALYTICS_PG_CONNECT_TIMEOUT_S

q() { psql -X -A -t -q -v ON_ERROR_STOP=1 "$ANALYTICS_PG_DSN" -c "$1"; }

"$BIN/analytics-migrate" >"$T/migrate.out" 2>"$T/migrate.log"
expect_eq "analytics-migrate exits 0" 0 "$?"
expect_eq "sessions.revenue: numeric, 0 by default" "numeric|0" \
  "$(q "SELECT data_type, column_default FROM information_schema.columns
        WHERE table_name = 'sessions' AND column_name = 'revenue'")"

# f1: an hour ago; f2: started 3 minutes from now (the visitor's clock runs
# ahead); f3: two hours ago, mobile; bot: ahead too, but a bot's.
q "INSERT INTO sessions (session_id, fingerprint, started_at, ended_at, duration_s, page_views,
                        channel, device_type, is_bot, bounced, converted) VALUES
   ('f1', 'fp1', now() - interval '1 hour', now() - interval '59 minutes', 60, 3, 'direct',
    'desktop', false, false, true),
   ('f2', 'fp2', now() + interval '3 minutes', now() + interval '4 minutes', 60, 2, 'direct',
    'desktop', false, false, true),
   ('f3', 'fp3', now() - interval '2 hours', now() - interval '2 hours', 0, 1, 'email',
    'mobile', false, true, false),
   ('bot', 'fp4', now() + interval '1 minute', now() + interval '1 minute', 0, 9, 'direct',
    'desktop', true, false, false)" >/dev/null

# ---- a client clock ahead of the server's ----
groups() { q "SELECT channel, device_type, sessions, converted, page_views FROM sessions_by_channel_device($1)"; }
expect_eq "ending now: the session started after now() counts" \
  "direct|desktop|2|2|5
email|mobile|1|0|1" \
  "$(groups "now() - interval '1 day', now()")"
expect_eq "ending later than now: the same" \
  "direct|desktop|2|2|5
email|mobile|1|0|1" \
  "$(groups "now() - interval '1 day', now() + interval '1 minute'")"
expect_eq "ending in the past: [from, to) exactly, nothing after to" \
  "email|mobile|1|0|1" \
  "$(groups "now() - interval '1 day', now() - interval '90 minutes'")"
expect_eq "an empty range ending now is still empty" "" "$(groups "now(), now()")"
expect_eq "from_ts is still a bound: a range starting after f1 leaves it out" \
  "direct|desktop|1|1|2" \
  "$(groups "now() - interval '30 minutes', now()")"
expect_eq "one sessions_by_channel_device, still STABLE" 1 \
  "$(q "SELECT count(*) FROM pg_proc WHERE proname = 'sessions_by_channel_device'
        AND provolatile = 's'")"

# ---- revenue ----
q "UPDATE sessions SET revenue = CASE session_id WHEN 'f1' THEN 130.76 WHEN 'f2' THEN 29.74
                                                 ELSE 0 END" >/dev/null
expect_eq "each group's revenue is the sum of its sessions'" \
  "direct|desktop|160.500000
email|mobile|0.000000" \
  "$(q "SELECT channel, device_type, revenue FROM sessions_by_channel_device(now() - interval '1 day', now())")"
itest_finish
