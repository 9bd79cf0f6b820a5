#include "routes_priv.h"

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
int gw_check_names(struct gw_req *r, const char *const *names)
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
int gw_param(struct gw_req *r, const char *name, char *buf, size_t buflen)
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
int gw_param_int(struct gw_req *r, const char *name, long long lo, long long hi, long long def,
                 long long *out)
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
int gw_json_query(struct gw_req *r, const char *what, const char *sql, int n,
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

/* ---- the table ---- */

const struct gw_route gw_routes[] = {
    {"GET", "leads", TOKEN_READ, route_leads_names, route_leads, false},
    {"GET", "insights/:fingerprint", TOKEN_READ, route_no_names, route_insights, false},
    {"POST", "privacy/erase", TOKEN_ADMIN, route_no_names, route_privacy_erase, false},
    {"POST", "privacy/export", TOKEN_ADMIN, route_no_names, route_privacy_export, false},
    {"POST", "privacy/consent", TOKEN_ADMIN, route_no_names, route_privacy_consent, false},
    {"GET", "privacy/requests/:id", TOKEN_ADMIN, route_no_names, route_privacy_status, false},
    {"GET", "personalize/:fingerprint", TOKEN_NONE, route_personalize_names, route_personalize,
     true},
};

const size_t gw_nroutes = sizeof(gw_routes) / sizeof(gw_routes[0]);
