/* The routes about funnels and journeys: one funnel's report, the defined
 * funnels, one visitor's journey, and the flows between stages and
 * touchpoints for a Sankey chart. */
#include "routes_priv.h"

#include "gw_cache.h"
#include "gw_site.h"

#include <stdio.h>
#include <string.h>

#define FUNNEL_TTL_MS 5000 /* a funnel's answer for the same parameters, kept */
#define FLOWS_TOP_PATHS 10

const char *const route_funnel_names[] = {"name", "from", "to", "channel", "device", NULL};
const char *const route_list_names[] = {"limit", "cursor", NULL};
const char *const route_journeys_names[] = {"fingerprint", "limit", "cursor", NULL};
const char *const route_flows_names[] = {"from", "to", NULL};

/* The limit parameter: 1..max_rows, 50 (or max_rows) when absent, as text. */
static int funnels_limit(struct gw_req *r, char *buf, size_t buflen)
{
    long long limit;
    int rc = gw_param_int(r, "limit", 1, r->max_rows, 50 < r->max_rows ? 50 : r->max_rows, &limit);

    if (rc == 0) {
        snprintf(buf, buflen, "%lld", limit);
    }
    return rc;
}

/* One funnel over from..to (default the last 7 days), optionally of one
 * channel and device: funnel_report's steps (distinct visitors, attempts,
 * sessions, conversion from the previous step, drop-off and its rate, the
 * median time from the previous step), each step's conversion from the
 * first, and the funnel's overall conversion (last step over first). The
 * report reads whole UTC days (see funnel_report). 404 for a funnel not in
 * funnel_definitions. Kept FUNNEL_TTL_MS per parameters as given and
 * computed once for concurrent askers, as realtime. */
int route_funnel(struct gw_req *r)
{
    struct gw_range range;
    char name[GW_VALUE_MAX], channel[72], device[72], key[GW_CACHE_KEY_MAX];
    int rc = gw_check_names(r, route_funnel_names), got_name = 0, got_ch = 0, got_dev = 0;

    if (rc == 0) {
        rc = gw_param_range(r, 7, &range);
    }
    if (rc != 0) {
        return rc;
    }
    if ((got_name = gw_param(r, "name", name, sizeof(name))) > 1 ||
        (got_ch = gw_param_word(r, "channel", channel, sizeof(channel))) > 1 ||
        (got_dev = gw_param_word(r, "device", device, sizeof(device))) > 1) {
        return got_name > 1 ? got_name : got_ch > 1 ? got_ch : got_dev;
    }
    if (got_name == 0 || name[0] == '\0') {
        return gw_send_error(r->conn, 400, "bad_parameter",
                             "name is required: one of the funnels (GET funnels)");
    }
    snprintf(key, sizeof(key), "funnel\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s", name, range.raw_from,
             range.raw_to, got_ch == 1 ? channel : "", got_dev == 1 ? device : "");
    const char *params[] = {name, range.from, range.to, got_ch == 1 ? channel : NULL,
                            got_dev == 1 ? device : NULL};
    return gw_json_cached(
        r, "funnel", key, FUNNEL_TTL_MS,
        "WITH d AS (SELECT * FROM funnel_definitions WHERE funnel = $1),"
        " f AS (SELECT x.* FROM d, LATERAL funnel_report(d.funnel, $2::timestamptz,"
        "        $3::timestamptz, $4, $5) x),"
        " first AS (SELECT visitors FROM f WHERE step = 1),"
        " last AS (SELECT visitors FROM f ORDER BY step DESC LIMIT 1)"
        " SELECT (SELECT json_build_object('funnel', d.funnel, 'strict', d.strict,"
        "   'window_hours', d.window_hours, 'from', $2::timestamptz, 'to', $3::timestamptz,"
        "   'channel', $4::text, 'device', $5::text,"
        "   'overall_conversion', CASE WHEN (SELECT visitors FROM first) > 0 THEN"
        "     (SELECT visitors FROM last)::double precision / (SELECT visitors FROM first) END,"
        "   'steps', (SELECT json_agg(json_build_object('step', f.step, 'name', f.step_name,"
        "       'visitors', f.visitors, 'attempts', f.attempts, 'sessions', f.sessions,"
        "       'conversion_from_previous', f.conversion_from_previous,"
        "       'conversion_from_first', CASE WHEN (SELECT visitors FROM first) > 0 THEN"
        "         f.visitors::double precision / (SELECT visitors FROM first) END,"
        "       'drop_off', f.drop_off, 'drop_off_rate', f.drop_off_rate,"
        "       'median_seconds_from_previous', f.median_seconds_from_previous,"
        "       'inferred', f.inferred, 'abandoned', f.abandoned, 'exact', f.exact)"
        "     ORDER BY f.step) FROM f))"
        "  FROM d)::text",
        5, params, "no funnel of that name (GET funnels lists them)");
}

/* The defined funnels (funnel_definitions, which the journey-builder writes
 * from its funnels file at start) with their steps, by name; paged by the
 * cursor "0:name". */
int route_funnels(struct gw_req *r)
{
    char slimit[24], cnum[8], ckey[GW_VALUE_MAX];
    int rc = gw_check_names(r, route_list_names), got;

    if (rc == 0) {
        rc = funnels_limit(r, slimit, sizeof(slimit));
    }
    if (rc != 0) {
        return rc;
    }
    got = gw_param_cursor(r, false, 0, 0, cnum, sizeof(cnum), ckey, sizeof(ckey));
    if (got > 1) {
        return got;
    }
    const char *params[] = {slimit, got == 1 ? ckey : NULL};
    return gw_json_query(
        r, "funnels",
        "WITH page AS (SELECT * FROM funnel_definitions WHERE $2::text IS NULL OR funnel > $2"
        "   ORDER BY funnel LIMIT $1::int)"
        " SELECT json_build_object("
        "  'funnels', coalesce((SELECT json_agg(json_build_object('name', p.funnel,"
        "     'strict', p.strict, 'window_hours', p.window_hours,"
        "     'abandon_from_step', p.abandon_from_step,"
        "     'abandon_after_minutes', p.abandon_after_minutes,"
        "     'steps', (SELECT json_agg(json_build_object('step', s.n, 'name', s.name)"
        "                 ORDER BY s.n) FROM unnest(p.steps) WITH ORDINALITY AS s(name, n)))"
        "     ORDER BY p.funnel) FROM page p), '[]'::json),"
        "  'next_cursor', CASE WHEN (SELECT count(*) FROM page) = $1::int THEN"
        "     (SELECT '0:' || max(funnel) FROM page) END)::text",
        2, params, NULL);
}

/* One visitor's journey (visitor_journey) in order, with the current stage
 * and the number of touchpoints; paged by the cursor "seq:event_id". 404
 * for a visitor without one. */
int route_journeys(struct gw_req *r)
{
    char fp[GW_VALUE_MAX], slimit[24], cnum[16], ckey[GW_VALUE_MAX];
    int rc = gw_check_names(r, route_journeys_names), got;

    if (rc == 0) {
        rc = funnels_limit(r, slimit, sizeof(slimit));
    }
    if (rc != 0) {
        return rc;
    }
    got = gw_param(r, "fingerprint", fp, sizeof(fp));
    if (got > 1) {
        return got;
    }
    if (got == 0 || fp[0] == '\0') {
        return gw_send_error(r->conn, 400, "bad_parameter", "fingerprint is required");
    }
    got = gw_param_cursor(r, false, 1, 2147483647, cnum, sizeof(cnum), ckey, sizeof(ckey));
    if (got > 1) {
        return got;
    }
    const char *params[] = {fp, slimit, got == 1 ? cnum : NULL, got == 1 ? ckey : NULL};
    return gw_json_query(
        r, "journeys",
        "WITH page AS ("
        "  SELECT v.* FROM visitor_journey($1) v"
        "   WHERE $3::int IS NULL OR (v.seq, v.event_id) > ($3::int, $4::text)"
        "   ORDER BY v.seq, v.event_id LIMIT $2::int),"
        " latest AS (SELECT j.stage, j.seq FROM customer_journeys j WHERE j.fingerprint = $1"
        "   ORDER BY j.seq DESC, j.event_id DESC LIMIT 1)"
        " SELECT CASE WHEN EXISTS (SELECT 1 FROM latest) THEN json_build_object("
        "   'fingerprint', $1::text, 'stage', (SELECT stage FROM latest),"
        "   'touchpoints', (SELECT count(*) FROM customer_journeys WHERE fingerprint = $1),"
        "   'journey', coalesce((SELECT json_agg(page ORDER BY seq, event_id) FROM page),"
        "                       '[]'::json),"
        "   'next_cursor', CASE WHEN (SELECT count(*) FROM page) = $2::int THEN"
        "     (SELECT seq || ':' || event_id FROM page ORDER BY seq DESC, event_id DESC LIMIT 1)"
        "   END)::text END",
        4, params, "no journey for that fingerprint");
}

/* The flows of the journeys that touched from..to (default the last 7
 * days), counted from the customer_journeys rows in the range, for a Sankey
 * chart:
 *   stages: stage changes, previous_stage -> stage (a touchpoint in the
 *     stage it was already in is no change), with the visitors making them;
 *   touchpoints: consecutive touchpoints of a visitor in the range, a
 *     touchpoint repeated (three blog posts running) counted once;
 *   drop_offs: per last stage in the range, the visitors whose last stage
 *     is not the conversion stage (the last of the journeys file's stages);
 *   top_paths: the 10 commonest stage sequences (repeats collapsed), by
 *     visitors.
 * Each list holds at most max_rows entries, the biggest. */
int route_journey_flows(struct gw_req *r)
{
    struct gw_range range;
    char smax[24], stop[8];
    int rc = gw_check_names(r, route_flows_names);

    if (rc == 0) {
        rc = gw_param_range(r, 7, &range);
    }
    if (rc != 0) {
        return rc;
    }
    snprintf(smax, sizeof(smax), "%d", r->max_rows);
    snprintf(stop, sizeof(stop), "%d", FLOWS_TOP_PATHS);
    const char *params[] = {range.from, range.to, smax, r->site->conversion_stage, stop};
    return gw_json_query(
        r, "journeys/flows",
        "WITH j AS ("
        "  SELECT fingerprint, seq, event_id, stage, previous_stage, touchpoint"
        "    FROM customer_journeys"
        "   WHERE occurred_at >= $1::timestamptz AND occurred_at < $2::timestamptz),"
        " w AS ("
        "  SELECT j.*, lag(touchpoint) OVER o AS prev_tp, lag(stage) OVER o AS prev_in_range,"
        "         row_number() OVER (PARTITION BY fingerprint ORDER BY seq DESC, event_id DESC)"
        "           AS from_end"
        "    FROM j WINDOW o AS (PARTITION BY fingerprint ORDER BY seq, event_id)),"
        " st AS ("
        "  SELECT previous_stage AS source, stage AS target, count(*) AS transitions,"
        "         count(DISTINCT fingerprint) AS visitors FROM j"
        "   WHERE previous_stage IS NOT NULL AND previous_stage <> stage GROUP BY 1, 2"
        "   ORDER BY transitions DESC, source, target LIMIT $3::int),"
        " tp AS ("
        "  SELECT prev_tp AS source, touchpoint AS target, count(*) AS transitions,"
        "         count(DISTINCT fingerprint) AS visitors FROM w"
        "   WHERE prev_tp IS NOT NULL AND prev_tp <> touchpoint GROUP BY 1, 2"
        "   ORDER BY transitions DESC, source, target LIMIT $3::int),"
        " last AS (SELECT stage, count(*) AS visitors FROM w WHERE from_end = 1 GROUP BY stage),"
        " paths AS ("
        "  SELECT fingerprint, array_agg(stage ORDER BY seq, event_id) AS path FROM w"
        "   WHERE prev_in_range IS DISTINCT FROM stage GROUP BY fingerprint),"
        " top AS (SELECT path, count(*) AS visitors FROM paths GROUP BY path"
        "   ORDER BY visitors DESC, path LIMIT $5::int)"
        " SELECT json_build_object('from', $1::timestamptz, 'to', $2::timestamptz,"
        "  'visitors', (SELECT coalesce(sum(visitors), 0) FROM last),"
        "  'converted', (SELECT coalesce(sum(visitors), 0) FROM last WHERE stage = $4),"
        "  'stages', coalesce((SELECT json_agg(st ORDER BY transitions DESC, source, target)"
        "                       FROM st), '[]'::json),"
        "  'touchpoints', coalesce((SELECT json_agg(tp ORDER BY transitions DESC, source, target)"
        "                            FROM tp), '[]'::json),"
        "  'drop_offs', coalesce((SELECT json_agg(json_build_object('stage', stage,"
        "       'visitors', visitors) ORDER BY visitors DESC, stage)"
        "     FROM (SELECT * FROM last WHERE stage <> $4 ORDER BY visitors DESC, stage"
        "            LIMIT $3::int) l), '[]'::json),"
        "  'top_paths', coalesce((SELECT json_agg(json_build_object('path', path,"
        "       'visitors', visitors) ORDER BY visitors DESC, path) FROM top), '[]'::json))::text",
        5, params, NULL);
}
