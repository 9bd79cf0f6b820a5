#include "routes.h"

#include "analytics/log.h"
#include "analytics/pg.h"
#include "analytics/utf8.h"
#include "pgpool.h"

#include <civetweb.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GW_VALUE_MAX 512 /* a query parameter's decoded bytes */

/* ---- matching ---- */

/* Whether rest matches pattern, each :param segment (non-empty, valid
 * UTF-8, at most GW_PARAM_MAX bytes) into r->params. civetweb has decoded
 * the path already (an encoded '/' is a '/' here), so a :param that ends
 * the pattern takes the rest of the path, slashes and all. */
static bool gw_match(const char *pattern, const char *rest, struct gw_req *r)
{
    int np = 0;

    while (*pattern != '\0') {
        if (*pattern == ':') {
            const char *next = strchr(pattern, '/');
            const char *end = next != NULL ? strchr(rest, '/') : NULL;
            size_t n = end != NULL ? (size_t)(end - rest) : strlen(rest);
            if (n == 0 || n > GW_PARAM_MAX || np == GW_PARAMS_MAX || !utf8_valid(rest, n) ||
                (next != NULL && end == NULL)) {
                return false;
            }
            memcpy(r->params[np], rest, n);
            r->params[np][n] = '\0';
            np++;
            rest += n;
            if (next == NULL) {
                return true;
            }
            pattern = next;
            continue;
        }
        if (*pattern != *rest) {
            return false;
        }
        pattern++;
        rest++;
    }
    return *rest == '\0';
}

const struct gw_route *gw_route_find(const char *rest, struct gw_req *r)
{
    for (size_t i = 0; i < gw_nroutes; i++) {
        if (gw_match(gw_routes[i].pattern, rest, r)) {
            return &gw_routes[i];
        }
    }
    return NULL;
}

/* ---- query parameters ---- */

/* Refuses a query parameter the route does not take. Returns 0, or the
 * status of the 400 sent. */
static int gw_check_names(struct gw_req *r, const char *const *names)
{
    const char *q = r->query != NULL ? r->query : "";

    while (*q != '\0') {
        const char *amp = strchr(q, '&'), *eq = strchr(q, '=');
        size_t n = amp != NULL ? (size_t)(amp - q) : strlen(q);
        size_t klen = eq != NULL && (amp == NULL || eq < amp) ? (size_t)(eq - q) : n;
        bool known = false;
        for (size_t i = 0; names != NULL && names[i] != NULL; i++) {
            known = known || (strlen(names[i]) == klen && strncmp(names[i], q, klen) == 0);
        }
        if (!known && n > 0) {
            return gw_send_error(r->conn, 400, "bad_parameter", "unknown parameter '%.*s'",
                                 (int)(klen > 64 ? 64 : klen), q);
        }
        for (const char *o = q + n; known && *o != '\0';) { /* the same name again */
            o += *o == '&' ? 1 : 0;
            if (strncmp(o, q, klen) == 0 && (o[klen] == '=' || o[klen] == '&' || o[klen] == '\0')) {
                return gw_send_error(r->conn, 400, "bad_parameter", "%.*s is given twice",
                                     (int)klen, q);
            }
            const char *a2 = strchr(o, '&');
            o = a2 != NULL ? a2 : o + strlen(o);
        }
        q += n + (amp != NULL ? 1 : 0);
    }
    return 0;
}

/* The decoded value of name into buf: 1 found, 0 absent, or the status of a
 * 400 sent (too long, not UTF-8). */
static int gw_param(struct gw_req *r, const char *name, char *buf, size_t buflen)
{
    const char *q = r->query != NULL ? r->query : "";
    int n = mg_get_var(q, strlen(q), name, buf, buflen);

    if (n == -1) {
        return 0;
    }
    if (n < 0 || !utf8_valid(buf, (size_t)n)) {
        return gw_send_error(r->conn, 400, "bad_parameter", "%s: too long or not UTF-8", name);
    }
    return 1;
}

/* An integer parameter in lo..hi, def when absent. Returns 0, or the status
 * of a 400 sent. */
static int gw_param_int(struct gw_req *r, const char *name, long long lo, long long hi,
                        long long def, long long *out)
{
    char buf[32], *end;
    int rc = gw_param(r, name, buf, sizeof(buf));

    if (rc == 0) {
        *out = def;
        return 0;
    }
    if (rc != 1) {
        return rc;
    }
    errno = 0;
    long long v = strtoll(buf, &end, 10);
    if (end == buf || *end != '\0' || errno != 0 || v < lo || v > hi) {
        return gw_send_error(r->conn, 400, "bad_parameter", "%s must be a whole number %lld..%lld",
                             name, lo, hi);
    }
    *out = v;
    return 0;
}

/* ---- queries ---- */

/* Runs sql with params and sends its one text value (JSON) with 200; or 404
 * when it is NULL and nf is set; 503 when PostgreSQL is away or the query
 * ran out of time. Returns the status. */
static int gw_json_query(struct gw_req *r, const char *what, const char *sql, int n,
                         const char *const *params, const char *nf)
{
    char err[512];
    PGconn *c = pgpool_take(r->pool, err, sizeof(err));
    int status;

    if (c == NULL) {
        return gw_send_error(r->conn, 503, "unavailable", "the database is unavailable");
    }
    PGresult *res = PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);
    bool broken = false;
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 && PQnfields(res) == 1) {
        if (PQgetisnull(res, 0, 0) && nf != NULL) {
            status = gw_send_error(r->conn, 404, "not_found", "%s", nf);
        } else {
            gw_send(r->conn, 200, PQgetisnull(res, 0, 0) ? "null" : PQgetvalue(res, 0, 0));
            status = 200;
        }
    } else {
        const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
        pg_result_error(res, c, err, sizeof(err));
        broken = PQstatus(c) != CONNECTION_OK;
        log_warn("gateway.query_failed", LOG_STR("route", what), LOG_STR("error", err));
        if (state != NULL && strcmp(state, "57014") == 0) {
            status = gw_send_error(r->conn, 503, "query_timeout",
                                   "the query ran past the statement timeout");
        } else {
            status = gw_send_error(r->conn, 503, "unavailable", "the database is unavailable");
        }
    }
    PQclear(res);
    pgpool_give(r->pool, c, broken);
    return status;
}

/* ---- routes ---- */

static const char *const leads_names[] = {"min_score", "limit", "cursor", NULL};

/* The best leads now: lead score, then fingerprint; the cursor is the last
 * row's "score:fingerprint", opaque to the caller. */
static int route_leads(struct gw_req *r)
{
    long long min_score, limit;
    char cursor[GW_VALUE_MAX], cscore[8] = "101", cfp[GW_VALUE_MAX] = "";
    char smin[24], slimit[24];
    int rc = gw_check_names(r, leads_names);

    if (rc == 0) {
        rc = gw_param_int(r, "min_score", 0, 100, 0, &min_score);
    }
    if (rc == 0) {
        rc = gw_param_int(r, "limit", 1, r->max_rows, 50 < r->max_rows ? 50 : r->max_rows, &limit);
    }
    if (rc != 0) {
        return rc;
    }
    rc = gw_param(r, "cursor", cursor, sizeof(cursor));
    if (rc > 1) {
        return rc;
    }
    if (rc == 1) {
        char *colon = strchr(cursor, ':');
        char *end;
        long v = colon != NULL ? strtol(cursor, &end, 10) : -1;
        if (colon == NULL || end != colon || v < 0 || v > 100 || colon[1] == '\0') {
            return gw_send_error(r->conn, 400, "bad_parameter",
                                 "cursor is not one this route gave");
        }
        snprintf(cscore, sizeof(cscore), "%ld", v);
        snprintf(cfp, sizeof(cfp), "%s", colon + 1);
    }
    snprintf(smin, sizeof(smin), "%lld", min_score);
    snprintf(slimit, sizeof(slimit), "%lld", limit);
    const char *params[] = {smin, slimit, cscore, cfp};
    return gw_json_query(
        r, "leads",
        "WITH page AS ("
        "  SELECT p.fingerprint, p.lead_score, p.conversion_probability, p.churn_risk,"
        "         p.segment AS persona, p.journey_stage, p.sessions, p.bookings_completed,"
        "         p.last_seen_at,"
        "         (SELECT m.reasons FROM ml_predictions m WHERE m.fingerprint = p.fingerprint"
        "           ORDER BY m.predicted_at DESC LIMIT 1) AS reasons"
        "    FROM user_behavior_profiles p"
        "   WHERE p.lead_score >= $1::int"
        "     AND (p.lead_score < $3::int OR (p.lead_score = $3::int AND p.fingerprint > $4))"
        "   ORDER BY p.lead_score DESC, p.fingerprint LIMIT $2::int)"
        " SELECT json_build_object("
        "   'leads', coalesce((SELECT json_agg(page ORDER BY lead_score DESC, fingerprint)"
        "                        FROM page), '[]'::json),"
        "   'next_cursor', CASE WHEN (SELECT count(*) FROM page) = $2::int THEN"
        "     (SELECT lead_score || ':' || fingerprint FROM page"
        "       ORDER BY lead_score, fingerprint DESC LIMIT 1) END)::text",
        4, params, NULL);
}

static const char *const no_names[] = {NULL};

/* One visitor: profile, latest scores with reasons, persona, sessions,
 * journey and prediction history. */
static int route_insights(struct gw_req *r)
{
    int rc = gw_check_names(r, no_names);

    if (rc != 0) {
        return rc;
    }
    const char *params[] = {r->params[0]};
    return gw_json_query(
        r, "insights",
        "SELECT (SELECT json_build_object("
        "  'fingerprint', p.fingerprint, 'user_id', p.user_id,"
        "  'profile', json_build_object('first_seen_at', p.first_seen_at,"
        "     'last_seen_at', p.last_seen_at, 'sessions', p.sessions, 'events', p.events,"
        "     'page_views', p.page_views, 'pricing_views', p.pricing_views,"
        "     'bookings_started', p.bookings_started, 'bookings_completed', p.bookings_completed,"
        "     'forms_started', p.forms_started, 'rage_clicks', p.rage_clicks,"
        "     'exit_intents', p.exit_intents, 'deepest_scroll', p.deepest_scroll,"
        "     'returning_visitor', p.returning_visitor, 'first_channel', p.first_channel,"
        "     'first_device', p.first_device, 'page_types', p.page_types),"
        "  'scores', json_build_object('lead_score', p.lead_score,"
        "     'conversion_probability', p.conversion_probability, 'churn_risk', p.churn_risk,"
        "     'p_alive', p.p_alive, 'expected_visits', p.expected_visits,"
        "     'model_version', p.model_version, 'features', p.features,"
        "     'reasons', (SELECT m.reasons FROM ml_predictions m WHERE m.fingerprint ="
        "                 p.fingerprint ORDER BY m.predicted_at DESC LIMIT 1)),"
        "  'persona', p.segment, 'journey_stage', p.journey_stage,"
        "  'sessions', coalesce((SELECT json_agg(s ORDER BY s.started_at DESC) FROM ("
        "     SELECT session_id, started_at, ended_at, page_views, converted"
        "       FROM sessions WHERE fingerprint = p.fingerprint"
        "      ORDER BY started_at DESC LIMIT 50) s), '[]'::json),"
        "  'journey', coalesce((SELECT json_agg(j ORDER BY j.occurred_at) FROM ("
        "     SELECT occurred_at, stage, touchpoint FROM customer_journeys"
        "      WHERE fingerprint = p.fingerprint ORDER BY occurred_at DESC LIMIT 200) j),"
        "     '[]'::json),"
        "  'predictions', coalesce((SELECT json_agg(m ORDER BY m.predicted_at) FROM ("
        "     SELECT predicted_at, lead_score, conversion_probability, churn_risk, segment,"
        "            reasons, model_version FROM ml_predictions WHERE fingerprint = p.fingerprint"
        "      ORDER BY predicted_at DESC LIMIT 200) m), '[]'::json))::text"
        " FROM user_behavior_profiles p WHERE p.fingerprint = $1)",
        1, params, "no visitor with that fingerprint");
}

const struct gw_route gw_routes[] = {
    {"GET", "leads", TOKEN_READ, leads_names, route_leads},
    {"GET", "insights/:fingerprint", TOKEN_READ, no_names, route_insights},
};

const size_t gw_nroutes = sizeof(gw_routes) / sizeof(gw_routes[0]);
