/* The routes about personas: the segments with their sizes and
 * descriptions, one segment's members, and the visitors at risk. */
#include "routes_priv.h"

#include "gw_site.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const route_churn_names[] = {"min_risk", "limit", "cursor", NULL};

/* The limit parameter: 1..max_rows, 50 (or max_rows) when absent, as text. */
static int segments_limit(struct gw_req *r, char *buf, size_t buflen)
{
    long long limit;
    int rc = gw_param_int(r, "limit", 1, r->max_rows, 50 < r->max_rows ? 50 : r->max_rows, &limit);

    if (rc == 0) {
        snprintf(buf, buflen, "%lld", limit);
    }
    return rc;
}

/* The personas: each persona of the persona model (name, description, its
 * share of the training profiles) and each segment profiles carry (one
 * from an older model has no description), with its size (profiles of
 * that segment now) and share of the profiles with a segment; biggest
 * first, paged by the cursor "size:name". */
int route_segments(struct gw_req *r)
{
    char slimit[24], cnum[24], ckey[GW_VALUE_MAX];
    int rc = gw_check_names(r, route_list_names), got;

    if (rc == 0) {
        rc = segments_limit(r, slimit, sizeof(slimit));
    }
    if (rc != 0) {
        return rc;
    }
    got = gw_param_cursor(r, false, 0, 9.2e18, cnum, sizeof(cnum), ckey, sizeof(ckey));
    if (got > 1) {
        return got;
    }
    const char *params[] = {r->site->personas, slimit, got == 1 ? cnum : NULL,
                            got == 1 ? ckey : NULL, r->site->persona_model_version};
    return gw_json_query(
        r, "segments",
        "WITH model AS ("
        "  SELECT m.name, m.description, m.share"
        "    FROM json_to_recordset($1::json) AS m(name text, description text,"
        "                                          share double precision)),"
        " counts AS (SELECT segment AS name, count(*) AS size FROM user_behavior_profiles"
        "             WHERE segment IS NOT NULL GROUP BY segment),"
        " seg AS (SELECT coalesce(m.name, c.name) AS name, coalesce(c.size, 0) AS size,"
        "                m.description, m.share AS model_share, m.name IS NOT NULL AS in_model"
        "           FROM model m FULL JOIN counts c ON c.name = m.name),"
        " page AS (SELECT * FROM seg WHERE $3::bigint IS NULL OR size < $3::bigint"
        "             OR (size = $3::bigint AND name > $4)"
        "           ORDER BY size DESC, name LIMIT $2::int),"
        " total AS (SELECT coalesce(sum(size), 0) AS n FROM counts)"
        " SELECT json_build_object('model_version', $5::text,"
        "  'profiles_with_segment', (SELECT n FROM total),"
        "  'segments', coalesce((SELECT json_agg(json_build_object('name', p.name,"
        "     'size', p.size, 'share', CASE WHEN t.n > 0 THEN p.size::double precision / t.n END,"
        "     'description', p.description, 'model_share', p.model_share,"
        "     'in_model', p.in_model) ORDER BY p.size DESC, p.name) FROM page p, total t),"
        "     '[]'::json),"
        "  'next_cursor', CASE WHEN (SELECT count(*) FROM page) = $2::int THEN"
        "     (SELECT size || ':' || name FROM page ORDER BY size, name DESC LIMIT 1) END)::text",
        5, params, NULL);
}

/* One segment's visitors, best lead first (lead score, then fingerprint),
 * paged by the cursor "score:fingerprint" as leads. 404 for a name that is
 * neither a persona of the model nor any profile's segment. */
int route_segment_members(struct gw_req *r)
{
    char slimit[24], cnum[8], ckey[GW_VALUE_MAX];
    int rc = gw_check_names(r, route_list_names), got;

    if (rc == 0) {
        rc = segments_limit(r, slimit, sizeof(slimit));
    }
    if (rc != 0) {
        return rc;
    }
    got = gw_param_cursor(r, false, 0, 100, cnum, sizeof(cnum), ckey, sizeof(ckey));
    if (got > 1) {
        return got;
    }
    const char *params[] = {r->params[0], slimit, got == 1 ? cnum : NULL, got == 1 ? ckey : NULL,
                            r->site->personas};
    return gw_json_query(
        r, "segments/members",
        "WITH page AS ("
        "  SELECT p.fingerprint, p.lead_score, p.conversion_probability, p.churn_risk,"
        "         p.journey_stage, p.sessions, p.bookings_completed, p.last_seen_at"
        "    FROM user_behavior_profiles p"
        "   WHERE p.segment = $1"
        "     AND ($3::int IS NULL OR p.lead_score < $3::int"
        "          OR (p.lead_score = $3::int AND p.fingerprint > $4))"
        "   ORDER BY p.lead_score DESC, p.fingerprint LIMIT $2::int)"
        " SELECT CASE WHEN EXISTS (SELECT 1 FROM user_behavior_profiles WHERE segment = $1)"
        "   OR EXISTS (SELECT 1 FROM json_to_recordset($5::json) AS m(name text)"
        "               WHERE m.name = $1) THEN"
        "  json_build_object('segment', $1::text,"
        "   'members', coalesce((SELECT json_agg(page ORDER BY lead_score DESC, fingerprint)"
        "                        FROM page), '[]'::json),"
        "   'next_cursor', CASE WHEN (SELECT count(*) FROM page) = $2::int THEN"
        "     (SELECT lead_score || ':' || fingerprint FROM page"
        "       ORDER BY lead_score, fingerprint DESC LIMIT 1) END)::text END",
        5, params, "no segment of that name");
}

/* min_risk=: a probability 0..1 (default 0.5) into buf as text. Returns 0,
 * or the status of a 400 sent. */
static int segments_min_risk(struct gw_req *r, char *buf, size_t buflen)
{
    char raw[32], *end;
    int got = gw_param(r, "min_risk", raw, sizeof(raw));

    if (got > 1) {
        return got;
    }
    if (got == 0) {
        snprintf(buf, buflen, "0.5");
        return 0;
    }
    double v = strtod(raw, &end);
    if (end == raw || *end != '\0' || !(v >= 0 && v <= 1)) {
        return gw_send_error(r->conn, 400, "bad_parameter", "min_risk must be a number 0..1");
    }
    snprintf(buf, buflen, "%.9g", v);
    return 0;
}

/* Visitors at risk of not coming back: churn risk at least min_risk, the
 * riskiest first (then fingerprint), paged by the cursor
 * "risk:fingerprint". Risks are compared as the real numbers the table
 * holds, so min_risk=0.7 keeps a stored 0.7. */
int route_churn(struct gw_req *r)
{
    char smin[32], slimit[24], cnum[32], ckey[GW_VALUE_MAX];
    int rc = gw_check_names(r, route_churn_names), got;

    if (rc == 0) {
        rc = segments_min_risk(r, smin, sizeof(smin));
    }
    if (rc == 0) {
        rc = segments_limit(r, slimit, sizeof(slimit));
    }
    if (rc != 0) {
        return rc;
    }
    got = gw_param_cursor(r, true, 0, 1, cnum, sizeof(cnum), ckey, sizeof(ckey));
    if (got > 1) {
        return got;
    }
    const char *params[] = {smin, slimit, got == 1 ? cnum : NULL, got == 1 ? ckey : NULL};
    return gw_json_query(
        r, "churn",
        "WITH page AS ("
        "  SELECT p.fingerprint, p.churn_risk, p.p_alive, p.expected_visits, p.lead_score,"
        "         p.segment AS persona, p.journey_stage, p.sessions, p.bookings_completed,"
        "         p.last_seen_at"
        "    FROM user_behavior_profiles p"
        "   WHERE p.churn_risk IS NOT NULL AND p.churn_risk >= $1::real"
        "     AND ($3::real IS NULL OR p.churn_risk < $3::real"
        "          OR (p.churn_risk = $3::real AND p.fingerprint > $4))"
        "   ORDER BY p.churn_risk DESC, p.fingerprint LIMIT $2::int)"
        " SELECT json_build_object('min_risk', $1::real,"
        "   'visitors', coalesce((SELECT json_agg(page ORDER BY churn_risk DESC, fingerprint)"
        "                         FROM page), '[]'::json),"
        "   'next_cursor', CASE WHEN (SELECT count(*) FROM page) = $2::int THEN"
        "     (SELECT churn_risk::text || ':' || fingerprint FROM page"
        "       ORDER BY churn_risk, fingerprint DESC LIMIT 1) END)::text",
        4, params, NULL);
}
