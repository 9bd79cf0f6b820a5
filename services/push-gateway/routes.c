#include "routes_priv.h"

#include "analytics/lifecycle.h"
#include "analytics/log.h"
#include "analytics/pg.h"
#include "analytics/utf8.h"
#include "gw_cache.h"
#include "pgpool.h"

#include <civetweb.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

/* ---- dates ---- */

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; H. Hinnant's
 * days_from_civil). */
static long long gw_days_from_civil(long long y, unsigned m, unsigned d)
{
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long long)doe - 719468;
}

/* n digits at *p as a number into *v, moving *p past them. */
static bool gw_digits(const char **p, int n, unsigned *v)
{
    *v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i])) {
            return false;
        }
        *v = *v * 10 + (unsigned)((*p)[i] - '0');
    }
    *p += n;
    return true;
}

/* Parses an ISO-8601 time into ms since the epoch: YYYY-MM-DD (UTC
 * midnight) or YYYY-MM-DDTHH:MM[:SS[.fraction]] followed by Z, +HH:MM,
 * -HH:MM or nothing (UTC). A ' ' stands for the '+' of an offset (a query
 * string's unencoded '+' decodes to one). Years 1970..9999. Returns 0 or
 * -1. */
int gw_iso8601_ms(const char *s, long long *ms)
{
    static const unsigned mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    unsigned y, mo, d, h = 0, mi = 0, sec = 0, oh = 0, om = 0, frac = 0;
    int sign = 0;
    const char *p = s;

    if (!gw_digits(&p, 4, &y) || *p++ != '-' || !gw_digits(&p, 2, &mo) || *p++ != '-' ||
        !gw_digits(&p, 2, &d)) {
        return -1;
    }
    if (*p == 'T' || *p == 't') {
        p++;
        if (!gw_digits(&p, 2, &h) || *p++ != ':' || !gw_digits(&p, 2, &mi)) {
            return -1;
        }
        if (*p == ':') {
            p++;
            if (!gw_digits(&p, 2, &sec)) {
                return -1;
            }
            if (*p == '.' || *p == ',') {
                unsigned scale = 100, nd = 0;
                for (p++; isdigit((unsigned char)*p); p++, nd++) {
                    frac += (unsigned)(*p - '0') * scale;
                    scale /= 10;
                }
                if (nd == 0 || nd > 9) {
                    return -1;
                }
            }
        }
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == ' ' || *p == '-') {
            sign = *p++ == '-' ? -1 : 1;
            if (!gw_digits(&p, 2, &oh)) {
                return -1;
            }
            p += *p == ':' ? 1 : 0;
            if (!gw_digits(&p, 2, &om)) {
                return -1;
            }
        }
    }
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (*p != '\0' || y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
        (mo == 2 && d == 29 && !leap) || h > 23 || mi > 59 || sec > 59 || oh > 14 || om > 59) {
        return -1;
    }
    long long secs =
        gw_days_from_civil(y, mo, d) * 86400 + (long long)h * 3600 + (long long)mi * 60 + sec;
    secs -= sign * (long long)(oh * 3600 + om * 60);
    *ms = secs * 1000 + frac;
    return 0;
}

/* ms since the epoch as YYYY-MM-DDTHH:MM:SS.mmmZ into buf. */
static void gw_iso8601_format(long long ms, char *buf, size_t buflen)
{
    time_t secs = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    struct tm tm;

    char text[96]; /* room for any int gmtime gives, so gcc sees no truncation */

    gmtime_r(&secs, &tm);
    snprintf(text, sizeof(text), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (int)(ms - (long long)secs * 1000));
    size_t n = strlen(text);
    if (buflen == 0) {
        return;
    }
    n = n < buflen ? n : buflen - 1;
    memcpy(buf, text, n);
    buf[n] = '\0';
}

/* One time parameter: 1 with *ms, 0 absent, or the status of a 400 sent. */
static int gw_param_time(struct gw_req *r, const char *name, char *raw, size_t rawlen,
                         long long *ms)
{
    int rc = gw_param(r, name, raw, rawlen);

    if (rc == 1 && gw_iso8601_ms(raw, ms) != 0) {
        return gw_send_error(r->conn, 400, "bad_parameter",
                             "%s must be an ISO-8601 date or time (2026-01-31, "
                             "2026-01-31T08:00:00Z), 1970 or later",
                             name);
    }
    return rc;
}

int gw_param_range(struct gw_req *r, int def_days, struct gw_range *out)
{
    long long now = lifecycle_now_ms();
    int rf, rt;

    out->raw_from[0] = out->raw_to[0] = '\0';
    rf = gw_param_time(r, "from", out->raw_from, sizeof(out->raw_from), &out->from_ms);
    if (rf > 1) {
        return rf;
    }
    rt = gw_param_time(r, "to", out->raw_to, sizeof(out->raw_to), &out->to_ms);
    if (rt > 1) {
        return rt;
    }
    if (rt == 0) {
        out->to_ms = rf == 1 && out->from_ms > now ? out->from_ms : now;
    }
    if (rf == 0) {
        out->from_ms = out->to_ms - (long long)def_days * 86400000LL;
    }
    if (out->from_ms > out->to_ms) {
        return gw_send_error(r->conn, 400, "bad_parameter", "from is after to");
    }
    if (out->to_ms - out->from_ms > (long long)GW_RANGE_DAYS_MAX * 86400000LL) {
        return gw_send_error(r->conn, 400, "bad_parameter",
                             "from..to spans more than %d days: ask for less (to - from)",
                             GW_RANGE_DAYS_MAX);
    }
    gw_iso8601_format(out->from_ms, out->from, sizeof(out->from));
    gw_iso8601_format(out->to_ms, out->to, sizeof(out->to));
    return 0;
}

/* ---- words and cursors ---- */

int gw_param_word(struct gw_req *r, const char *name, char *buf, size_t buflen)
{
    int rc = gw_param(r, name, buf, buflen);
    size_t n = rc == 1 ? strlen(buf) : 0;

    if (rc != 1) {
        return rc;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)buf[i];
        if (!(islower(c) || isdigit(c) || c == '_' || c == '-')) {
            n = 0;
            break;
        }
    }
    if (n == 0 || n > 64) {
        return gw_send_error(r->conn, 400, "bad_parameter",
                             "%s must be 1..64 of a-z, 0-9, '_' and '-'", name);
    }
    return 1;
}

int gw_param_cursor(struct gw_req *r, bool real, double lo, double hi, char *num, size_t numlen,
                    char *key, size_t keylen)
{
    char buf[GW_VALUE_MAX], *end;
    int rc = gw_param(r, "cursor", buf, sizeof(buf));
    char *colon = rc == 1 ? strchr(buf, ':') : NULL;
    bool ok = false;

    if (rc != 1) {
        return rc;
    }
    if (colon != NULL && colon > buf && colon[1] != '\0' && (size_t)(colon - buf) < numlen &&
        strlen(colon + 1) < keylen) {
        *colon = '\0';
        errno = 0;
        if (real) {
            double v = strtod(buf, &end);
            ok = end != buf && *end == '\0' && errno == 0 && isfinite(v) && v >= lo && v <= hi;
        } else {
            long long v = strtoll(buf, &end, 10);
            ok = end != buf && *end == '\0' && errno == 0 && (double)v >= lo && (double)v <= hi;
        }
    }
    if (!ok) {
        return gw_send_error(r->conn, 400, "bad_parameter", "cursor is not one this route gave");
    }
    snprintf(num, numlen, "%s", buf);
    snprintf(key, keylen, "%s", colon + 1);
    return 1;
}

/* ---- queries ---- */

int gw_take_pg(struct gw_req *r, PGconn **out)
{
    char err[256];
    bool busy;

    *out = pgpool_take(r->pool, &busy, err, sizeof(err));
    if (*out != NULL) {
        return 0;
    }
    if (busy) {
        return gw_send_error(r->conn, 503, "busy",
                             "every database connection is busy: try again shortly");
    }
    return gw_send_error(r->conn, 503, "unavailable", "the database is unavailable");
}

int gw_json_fetch(struct gw_req *r, const char *what, const char *sql, int n,
                  const char *const *params, char **out)
{
    char err[512];
    PGconn *c;
    int status = 200;

    *out = NULL;
    if ((status = gw_take_pg(r, &c)) != 0) {
        return status;
    }
    status = 200;
    PGresult *res = PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);
    bool broken = false;
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 && PQnfields(res) == 1) {
        if (!PQgetisnull(res, 0, 0) && (*out = strdup(PQgetvalue(res, 0, 0))) == NULL) {
            status = gw_send_error(r->conn, 503, "unavailable", "out of memory");
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

/* Sends text (NULL: 404 saying nf, or JSON null without nf). */
static int gw_json_answer(struct gw_req *r, const char *text, const char *nf)
{
    if (text == NULL && nf != NULL) {
        return gw_send_error(r->conn, 404, "not_found", "%s", nf);
    }
    gw_send(r->conn, 200, text != NULL ? text : "null");
    return 200;
}

/* Runs sql with params and sends its one text value (JSON) with 200; or 404
 * when it is NULL and nf is set; 503 when PostgreSQL is away or the query
 * ran out of time. Returns the status. */
int gw_json_query(struct gw_req *r, const char *what, const char *sql, int n,
                  const char *const *params, const char *nf)
{
    char *text;
    int status = gw_json_fetch(r, what, sql, n, params, &text);

    if (status == 200) {
        status = gw_json_answer(r, text, nf);
    }
    free(text);
    return status;
}

int gw_text_query(struct gw_req *r, const char *what, const char *sql, int n,
                  const char *const *params, const char *content_type, const char *nf)
{
    char *text;
    int status = gw_json_fetch(r, what, sql, n, params, &text);

    if (status == 200 && text == NULL && nf != NULL) {
        status = gw_send_error(r->conn, 404, "not_found", "%s", nf);
    } else if (status == 200) {
        gw_send_type(r->conn, 200, content_type, text != NULL ? text : "");
    }
    free(text);
    return status;
}

int gw_json_cached(struct gw_req *r, const char *what, const char *key, long long ttl_ms,
                   const char *sql, int n, const char *const *params, const char *nf)
{
    char *text;
    int slot, status;

    if (gw_cache_get(r->cache, key, ttl_ms, &text, &slot) == 0) {
        status = gw_json_answer(r, text, nf);
        free(text);
        return status;
    }
    status = gw_json_fetch(r, what, sql, n, params, &text);
    gw_cache_put(r->cache, slot, status == 200 ? text : NULL);
    if (status == 200) {
        status = gw_json_answer(r, text, nf);
    }
    free(text);
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
    {"GET", "realtime", TOKEN_READ, route_realtime_names, route_realtime, false},
    {"GET", "sessions", TOKEN_READ, route_sessions_names, route_sessions, false},
    {"GET", "pages", TOKEN_READ, route_pages_names, route_pages, false},
    {"GET", "clicks", TOKEN_READ, route_clicks_names, route_clicks, false},
    {"GET", "funnel", TOKEN_READ, route_funnel_names, route_funnel, false},
    {"GET", "funnels", TOKEN_READ, route_list_names, route_funnels, false},
    {"GET", "journeys", TOKEN_READ, route_journeys_names, route_journeys, false},
    {"GET", "journeys/flows", TOKEN_READ, route_flows_names, route_journey_flows, false},
    {"GET", "segments", TOKEN_READ, route_list_names, route_segments, false},
    {"GET", "segments/:name/members", TOKEN_READ, route_list_names, route_segment_members, false},
    {"GET", "churn", TOKEN_READ, route_churn_names, route_churn, false},
    {"GET", "audiences", TOKEN_READ, route_no_names, route_audiences, false},
    {"GET", "audiences/:name/members", TOKEN_READ, route_audience_names, route_audience_members,
     false},
};

const size_t gw_nroutes = sizeof(gw_routes) / sizeof(gw_routes[0]);
