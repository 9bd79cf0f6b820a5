# Synthetic funnel traffic stored by SQL, for the benchmarks that need a
# month of data in PostgreSQL (scripts/bench journey, push-gateway, and the
# dashboard's first-load test): sourced, with ANALYTICS_PG_DSN set and the
# migrations applied. The events are synthetic (generate_series), their
# rollups built by GROUP BY as the journey-builder would have written them,
# as funnel "bench" (four strict steps).
#
#   V=$(funnel_fill_events N)   N more events over the last 30 days; prints
#                               the number of visitors V they came from
#   funnel_fill_rollups         funnel "bench": funnel_daily and
#                               funnel_daily_visitors from those events
#   funnel_fill_visitors        funnel_visitors (the exact sets), then
#                               ANALYZE and VACUUM as autovacuum would
#
# Visitor v (of V) makes one attempt, or two the same day when v % 5 = 0,
# walking steps 1..depth (depth from a hash of v and the attempt: >= 2 for
# 60%, >= 3 for 30%, 4 for 20%), one event per step 97 s apart: 2.52 events
# per visitor on average. Its day is v % 30, its channel v % 8, its device
# (v / 8) % 4. Event ids start "bench-", fingerprints "bench-fp-".

funnel_fill_q() { psql -X -A -t -q -v ON_ERROR_STOP=1 "$ANALYTICS_PG_DSN" -c "$1"; }

funnel_fill_events() {
  local n=$1 v
  v=$(( n * 100 / 252 ))
  funnel_fill_q "SELECT count(*) FROM analytics_ensure_partitions((now() AT TIME ZONE 'UTC')::date - 31, 32)" >/dev/null || return 1
  funnel_fill_q "CREATE OR REPLACE FUNCTION bench_depth(v bigint, a int) RETURNS int LANGUAGE sql IMMUTABLE AS
       \$\$ SELECT 1 + (h >= 40)::int + (h >= 70)::int + (h >= 80)::int
            FROM (SELECT (v * 7 + a * 13) % 100 AS h) x \$\$" >/dev/null || return 1
  funnel_fill_q "INSERT INTO analytics_events (event_id, event_time, event_type, fingerprint, session_id,
       received_at, page_type, channel, device_type)
     SELECT 'bench-' || v || '-' || a || '-' || s,
            date_trunc('day', now()) - ((v % 30) || ' days')::interval + ((v % 70000) || ' s')::interval
              + ((a - 1) * 7200 + s * 97 || ' s')::interval,
            CASE s WHEN 1 THEN 'page_view' WHEN 2 THEN 'page_view' WHEN 3 THEN 'booking_started' ELSE 'booking_completed' END,
            'bench-fp-' || v, 'bench-s-' || v || '-' || a, now(),
            CASE s WHEN 1 THEN 'service' WHEN 2 THEN 'pricing' ELSE NULL END,
            (ARRAY['direct','organic_search','paid_search','social','email','referral','internal','unknown'])[1 + v % 8],
            (ARRAY['desktop','mobile','tablet','unknown'])[1 + (v / 8) % 4]
       FROM generate_series(1, $v) AS v, generate_series(1, 2) AS a, generate_series(1, 4) AS s
      WHERE (a = 1 OR v % 5 = 0) AND s <= bench_depth(v, a)" >/dev/null || return 1
  echo "$v"
}

funnel_fill_rollups() {
  funnel_fill_q "CREATE OR REPLACE VIEW bench_steps AS
       SELECT event_time, (event_time AT TIME ZONE 'UTC')::date AS day, channel, device_type, fingerprint,
              CASE event_type WHEN 'booking_started' THEN 3 WHEN 'booking_completed' THEN 4
                              ELSE CASE page_type WHEN 'service' THEN 1 ELSE 2 END END AS s
         FROM analytics_events WHERE event_id LIKE 'bench-%'" >/dev/null || return 1
  funnel_fill_q "INSERT INTO funnel_definitions (funnel, steps, strict, window_hours)
     VALUES ('bench', ARRAY['awareness: service page', 'interest: pricing viewed',
                              'consideration: booking started', 'conversion: booking completed'], true, 168)
     ON CONFLICT (funnel) DO NOTHING" >/dev/null || return 1
  funnel_fill_q "INSERT INTO funnel_daily AS r (funnel, day, step, channel, device_type, attempts, sessions,
       since_prev_n, since_prev_sum_s, since_prev_hist, visitors_hll, inferred_hll)
     SELECT 'bench', day, s, channel, device_type, count(*), count(*),
            count(*) FILTER (WHERE s > 1), 97 * count(*) FILTER (WHERE s > 1),
            CASE WHEN s > 1 THEN array_fill(0::bigint, ARRAY[13]) || count(*) ELSE '{}' END,
            hll_add_agg(hll_hash_text(fingerprint), p.log2m, p.regwidth, p.expthresh, p.sparseon),
            funnel_hll_empty()
       FROM bench_steps, funnel_hll_params() p
      GROUP BY 2, 3, 4, 5
     ON CONFLICT (funnel, day, step, channel, device_type) DO UPDATE SET
       attempts = r.attempts + EXCLUDED.attempts,
       visitors_hll = hll_union(r.visitors_hll, EXCLUDED.visitors_hll)" >/dev/null || return 1
  funnel_fill_q "INSERT INTO funnel_daily_visitors AS r (funnel, day, step, visitors_hll)
     SELECT 'bench', day, s,
            hll_add_agg(hll_hash_text(fingerprint), p.log2m, p.regwidth, p.expthresh, p.sparseon)
       FROM bench_steps, funnel_hll_params() p GROUP BY 2, 3
     ON CONFLICT (funnel, day, step) DO UPDATE SET visitors_hll = hll_union(r.visitors_hll, EXCLUDED.visitors_hll)" >/dev/null
}

funnel_fill_visitors() {
  funnel_fill_q "INSERT INTO funnel_visitors (funnel, step, day, channel, device_type, visitor)
     SELECT DISTINCT 'bench', s, day, channel, device_type, hashtextextended(fingerprint, 0)
       FROM bench_steps ON CONFLICT DO NOTHING" >/dev/null || return 1
  # VACUUM sets the visibility map, as autovacuum does for an insert-only
  # table: the exact counts are index-only scans then.
  funnel_fill_q "ANALYZE analytics_events" >/dev/null && funnel_fill_q "ANALYZE funnel_daily" >/dev/null &&
    funnel_fill_q "ANALYZE funnel_daily_visitors" >/dev/null && funnel_fill_q "VACUUM (ANALYZE) funnel_visitors" >/dev/null
}
