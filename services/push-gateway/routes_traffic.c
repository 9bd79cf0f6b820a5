/* The routes about traffic: what happens now (realtime), sessions grouped
 * by channel, device or country, and the pages' statistics. */
#include "gw_cache.h"
#include "routes_priv.h"

#include "gw_site.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REALTIME_TTL_MS 1000 /* realtime is computed at most once a second */

const char *const route_realtime_names[] = {NULL};
const char *const route_sessions_names[] = {"from", "to", "group_by", "limit", "cursor", NULL};
const char *const route_pages_names[] = {"from", "to", "limit", "cursor", NULL};

/* The limit parameter: 1..max_rows, 50 (or max_rows) when absent, as text. */
static int traffic_limit(struct gw_req *r, char *buf, size_t buflen)
{
    long long limit;
    int rc = gw_param_int(r, "limit", 1, r->max_rows, 50 < r->max_rows ? 50 : r->max_rows, &limit);

    if (rc == 0) {
        snprintf(buf, buflen, "%lld", limit);
    }
    return rc;
}

/* Whether s is a whole number that fits 64 bits. */
static bool traffic_is_int64(const char *s)
{
    char *end;

    errno = 0;
    (void)strtoll(s, &end, 10);
    return end != s && *end == '\0' && errno == 0;
}

/* What happens now, bots left out: visitors active in the last 5 minutes
 * (distinct fingerprints), events per minute over the last 30 (30 buckets,
 * the current minute last, zeros included), the top 10 pages (page views)
 * and external referrers (page views arriving from another site) of the
 * last 30 minutes, today's conversions (UTC day; the conversion event types
 * of the journeys file) and each funnel's step counts today
 * (funnel_report). Times are event times, so an event whose clock runs
 * ahead counts as active now.
 *
 * Kept one second in the process and computed once however many ask
 * (gw_json_cached): a thousand dashboards polling cost one query a second,
 * and two answers within the second are the same text. */
static const char realtime_sql[] =
    "WITH recent AS ("
    "  SELECT e.fingerprint, e.event_time, e.event_type, e.page_host, e.page_path,"
    "         e.referrer_host, e.channel"
    "    FROM analytics_events e"
    "   WHERE e.event_time >= now() - interval '30 minutes' AND NOT e.is_bot),"
    " minutes AS ("
    "  SELECT generate_series(date_trunc('minute', now()) - interval '29 minutes',"
    "                         date_trunc('minute', now()), interval '1 minute') AS minute),"
    " today AS (SELECT date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS t),"
    " conv AS ("
    "  SELECT e.event_type, e.fingerprint FROM analytics_events e, today"
    "   WHERE e.event_time >= today.t AND e.event_type = ANY ($2::text[]) AND NOT e.is_bot)"
    " SELECT json_build_object("
    "  'generated_at', now(),"
    "  'active_visitors', (SELECT count(*) FROM (SELECT DISTINCT fingerprint FROM recent"
    "                       WHERE event_time >= now() - interval '5 minutes') a),"
    "  'events_per_minute', (SELECT json_agg(json_build_object('minute', m.minute,"
    "       'events', m.n) ORDER BY m.minute) FROM ("
    "     SELECT m.minute, coalesce(c.n, 0) AS n FROM minutes m"
    "       LEFT JOIN (SELECT date_trunc('minute', event_time) AS minute, count(*) AS n"
    "                    FROM recent GROUP BY 1) c ON c.minute = m.minute) m),"
    "  'top_pages', coalesce((SELECT json_agg(p ORDER BY p.views DESC, p.page) FROM ("
    "     SELECT page, sum(n)::bigint AS views, count(*) AS visitors FROM ("
    "       SELECT coalesce(page_host, '') || page_path AS page, fingerprint, count(*) AS n"
    "         FROM recent WHERE event_type = ANY ($1::text[]) AND page_path IS NOT NULL"
    "        GROUP BY 1, 2) v"
    "      GROUP BY page ORDER BY views DESC, page LIMIT 10) p), '[]'::json),"
    "  'top_referrers', coalesce((SELECT json_agg(f ORDER BY f.visitors DESC, f.referrer)"
    "     FROM (SELECT referrer, sum(n)::bigint AS arrivals, count(*) AS visitors FROM ("
    "             SELECT referrer_host AS referrer, fingerprint, count(*) AS n FROM recent"
    "              WHERE event_type = ANY ($1::text[]) AND referrer_host IS NOT NULL"
    "                AND channel IS DISTINCT FROM 'internal' GROUP BY 1, 2) v"
    "            GROUP BY referrer ORDER BY visitors DESC, referrer LIMIT 10) f), '[]'::json),"
    "  'conversions_today', json_build_object("
    "     'since', (SELECT t FROM today),"
    "     'conversions', (SELECT count(*) FROM conv),"
    "     'visitors', (SELECT count(DISTINCT fingerprint) FROM conv),"
    "     'by_type', coalesce((SELECT json_object_agg(t.event_type, (SELECT count(*) FROM conv"
    "         WHERE conv.event_type = t.event_type)) FROM unnest($2::text[]) AS t(event_type)),"
    "         '{}'::json)),"
    "  'funnels', coalesce((SELECT json_agg(json_build_object('funnel', d.funnel,"
    "       'steps', (SELECT json_agg(json_build_object('step', f.step, 'name', f.step_name,"
    "                   'visitors', f.visitors) ORDER BY f.step)"
    "                   FROM funnel_report(d.funnel, (SELECT t FROM today), now()) f))"
    "       ORDER BY d.funnel) FROM funnel_definitions d), '[]'::json))::text";

int gw_realtime_text(struct gw_req *r, char **text)
{
    const char *params[] = {r->site->page_views, r->site->conversions};
    int slot = -1, status;

    if (gw_cache_get(r->cache, "realtime", REALTIME_TTL_MS, text, &slot) == 0) {
        return 200;
    }
    status = gw_json_fetch(r, "realtime", realtime_sql, 2, params, text);
    gw_cache_put(r->cache, slot, status == 200 ? *text : NULL);
    return status;
}

int route_realtime(struct gw_req *r)
{
    int rc = gw_check_names(r, route_realtime_names);

    if (rc != 0) {
        return rc;
    }
    char *text = NULL;
    rc = gw_realtime_text(r, &text);
    if (rc == 200) {
        gw_send(r->conn, 200, text != NULL ? text : "null");
    }
    free(text);
    return rc;
}

/* Sessions that started in from..to (sessions_report, 011_push_gateway.sql),
 * bots left out, grouped by channel (default), device or country, most
 * sessions first; paged by the cursor "sessions:group". */
int route_sessions(struct gw_req *r)
{
    struct gw_range range;
    char group[16], slimit[24], cnum[24], ckey[GW_VALUE_MAX];
    int rc = gw_check_names(r, route_sessions_names), got;

    if (rc == 0) {
        rc = gw_param_range(r, 7, &range);
    }
    if (rc == 0) {
        rc = traffic_limit(r, slimit, sizeof(slimit));
    }
    if (rc != 0) {
        return rc;
    }
    got = gw_param(r, "group_by", group, sizeof(group));
    if (got > 1) {
        return got;
    }
    if (got == 0) { /* mg_get_var emptied it */
        snprintf(group, sizeof(group), "channel");
    }
    if (strcmp(group, "channel") != 0 && strcmp(group, "device") != 0 &&
        strcmp(group, "country") != 0) {
        return gw_send_error(r->conn, 400, "bad_parameter",
                             "group_by must be channel, device or country");
    }
    got = gw_param_cursor(r, false, 0, 9.2e18, cnum, sizeof(cnum), ckey, sizeof(ckey));
    if (got > 1) {
        return got;
    }
    const char *params[] = {
        range.from, range.to, group, slimit, got == 1 ? cnum : NULL, got == 1 ? ckey : NULL};
    return gw_json_query(
        r, "sessions",
        "WITH page AS ("
        "  SELECT g.* FROM sessions_report($1::timestamptz, $2::timestamptz, $3) g"
        "   WHERE $5::bigint IS NULL OR g.sessions < $5::bigint"
        "      OR (g.sessions = $5::bigint AND g.key > $6)"
        "   ORDER BY g.sessions DESC, g.key LIMIT $4::int)"
        " SELECT json_build_object('from', $1::timestamptz, 'to', $2::timestamptz,"
        "   'group_by', $3::text,"
        "   'groups', coalesce((SELECT json_agg(page ORDER BY sessions DESC, key) FROM page),"
        "                      '[]'::json),"
        "   'next_cursor', CASE WHEN (SELECT count(*) FROM page) = $4::int THEN"
        "     (SELECT sessions || ':' || key FROM page ORDER BY sessions, key DESC LIMIT 1)"
        "   END)::text",
        6, params, NULL);
}

/* The pages' statistics from page_stats_daily (what the scorer adds its
 * closed sessions to), over the UTC days the range overlaps (as
 * funnel_report reads days): views, unique views, entrances, bounces,
 * exits, bounce rate (bounces / entrances), exit rate (exits / views) and
 * page value (value / unique views), most viewed first; paged by the
 * cursor "views:page_hash". */
int route_pages(struct gw_req *r)
{
    struct gw_range range;
    char slimit[24], cnum[24], ckey[GW_VALUE_MAX];
    int rc = gw_check_names(r, route_pages_names), got;

    if (rc == 0) {
        rc = gw_param_range(r, 7, &range);
    }
    if (rc == 0) {
        rc = traffic_limit(r, slimit, sizeof(slimit));
    }
    if (rc != 0) {
        return rc;
    }
    got = gw_param_cursor(r, false, 0, 9.2e18, cnum, sizeof(cnum), ckey, sizeof(ckey));
    if (got > 1) {
        return got;
    }
    if (got == 1 && !traffic_is_int64(ckey)) {
        return gw_send_error(r->conn, 400, "bad_parameter", "cursor is not one this route gave");
    }
    const char *params[] = {range.from, range.to, slimit, got == 1 ? cnum : NULL,
                            got == 1 ? ckey : NULL};
    return gw_json_query(
        r, "pages",
        "WITH p AS ("
        "  SELECT s.page_hash, max(s.page) AS page, sum(s.page_views)::bigint AS views,"
        "         sum(s.unique_views)::bigint AS unique_views,"
        "         sum(s.entrances)::bigint AS entrances, sum(s.bounces)::bigint AS bounces,"
        "         sum(s.exits)::bigint AS exits, sum(s.value) AS value"
        "    FROM page_stats_daily s"
        "   WHERE s.day >= ($1::timestamptz AT TIME ZONE 'UTC')::date"
        "     AND s.day::timestamp AT TIME ZONE 'UTC' < $2::timestamptz"
        "     AND $1::timestamptz < $2::timestamptz"
        "   GROUP BY s.page_hash),"
        " page AS ("
        "  SELECT * FROM p"
        "   WHERE $4::bigint IS NULL OR p.views < $4::bigint"
        "      OR (p.views = $4::bigint AND p.page_hash > $5::bigint)"
        "   ORDER BY p.views DESC, p.page_hash LIMIT $3::int)"
        " SELECT json_build_object('from', $1::timestamptz, 'to', $2::timestamptz,"
        "   'pages', coalesce((SELECT json_agg(json_build_object("
        "       'page', x.page, 'page_hash', x.page_hash, 'views', x.views,"
        "       'unique_views', x.unique_views, 'entrances', x.entrances, 'bounces', x.bounces,"
        "       'exits', x.exits,"
        "       'bounce_rate', CASE WHEN x.entrances > 0"
        "                      THEN x.bounces::double precision / x.entrances END,"
        "       'exit_rate', CASE WHEN x.views > 0 THEN x.exits::double precision / x.views END,"
        "       'value', x.value,"
        "       'page_value', CASE WHEN x.unique_views > 0"
        "                     THEN round(x.value / x.unique_views, 6) END)"
        "     ORDER BY x.views DESC, x.page_hash) FROM page x), '[]'::json),"
        "   'next_cursor', CASE WHEN (SELECT count(*) FROM page) = $3::int THEN"
        "     (SELECT views || ':' || page_hash FROM page ORDER BY views, page_hash DESC LIMIT 1)"
        "   END)::text",
        5, params, NULL);
}
