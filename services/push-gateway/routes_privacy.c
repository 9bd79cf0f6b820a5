/* privacy/erase, privacy/export, privacy/consent (POST, admin scope):
 * the request recorded in privacy_requests and published on privacy, in
 * one transaction: the row commits only once the broker has the message,
 * so no daemon is asked to act on a request the table does not know, and
 * a request the table has was published. privacy/requests/:id: its status
 * and each daemon's step. */
#include "analytics/log.h"
#include "analytics/pg.h"
#include "analytics/stage.h"
#include "analytics/textcheck.h"
#include "analytics/utf8.h"
#include "analytics/v1/privacy_request.pb-c.h"
#include "pgpool.h"
#include "routes_priv.h"

#include <civetweb.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uuid/uuid.h>

#define PRIVACY_BODY_MAX 16384
#define PRIVACY_ID_MAX 256 /* a fingerprint's or user id's bytes */
#define PRIVACY_ACK_MS 5000
#define PRIVACY_DEPTH_MAX 4 /* the body, its consent, and room */

/* The request's body, at most PRIVACY_BODY_MAX bytes, valid UTF-8, a JSON
 * object. Returns it (caller frees), or NULL having answered 400/413. */
static cJSON *privacy_body(struct gw_req *r)
{
    const struct mg_request_info *ri = mg_get_request_info(r->conn);
    char *buf;
    long long n = ri->content_length;
    cJSON *o;

    if (n < 0) {
        gw_send_error(r->conn, 411, "length_required", "a Content-Length is needed");
        return NULL;
    }
    if (n > PRIVACY_BODY_MAX) {
        gw_send_error(r->conn, 413, "too_large", "the body may hold at most %d bytes",
                      PRIVACY_BODY_MAX);
        return NULL;
    }
    buf = malloc((size_t)n + 1);
    if (buf == NULL) {
        gw_send_error(r->conn, 503, "unavailable", "out of memory");
        return NULL;
    }
    long long got = 0;
    while (got < n) {
        int k = mg_read(r->conn, buf + got, (size_t)(n - got));
        if (k <= 0) {
            break;
        }
        got += k;
    }
    buf[got] = '\0';
    size_t at = 0;
    if (got != n || !utf8_valid(buf, (size_t)n)) {
        free(buf);
        gw_send_error(r->conn, 400, "bad_body", "the body is cut short or not UTF-8");
        return NULL;
    }
    if (textcheck_nesting(buf, (size_t)n, PRIVACY_DEPTH_MAX, &at) != 0) {
        free(buf); /* before cJSON recurses into it on a request thread's stack */
        gw_send_error(r->conn, 400, "bad_body", "nesting deeper than %d levels at byte %zu",
                      PRIVACY_DEPTH_MAX, at);
        return NULL;
    }
    o = cJSON_ParseWithLength(buf, (size_t)n);
    free(buf);
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        gw_send_error(r->conn, 400, "bad_body", "the body is not a JSON object");
        return NULL;
    }
    return o;
}

/* An optional string member: *out NULL when absent or null. Returns 0, or
 * -1 having answered 400. */
static int privacy_str(struct gw_req *r, const cJSON *o, const char *key, const char **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    *out = NULL;
    if (v == NULL || cJSON_IsNull(v)) {
        return 0;
    }
    if (!cJSON_IsString(v) || v->valuestring[0] == '\0' ||
        strlen(v->valuestring) > PRIVACY_ID_MAX) {
        gw_send_error(r->conn, 400, "bad_parameter", "%s must be a string of 1..%d bytes", key,
                      PRIVACY_ID_MAX);
        return -1;
    }
    *out = v->valuestring;
    return 0;
}

/* The consent of a consent request: {"necessary":b,"analytics":b,"marketing":b}. */
static int privacy_consent(struct gw_req *r, const cJSON *o, Analytics__V1__Consent *c)
{
    static const char *const keys[] = {"necessary", "analytics", "marketing"};
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "consent");
    protobuf_c_boolean *dst[] = {&c->necessary, &c->analytics, &c->marketing};
    const cJSON *it;

    if (!cJSON_IsObject(v)) {
        gw_send_error(r->conn, 400, "bad_parameter",
                      "consent must be an object of necessary, analytics and marketing");
        return -1;
    }
    cJSON_ArrayForEach(it, v)
    {
        bool known = false;
        for (int i = 0; i < 3; i++) {
            if (strcmp(it->string, keys[i]) == 0) {
                known = cJSON_IsBool(it);
                *dst[i] = cJSON_IsTrue(it);
            }
        }
        if (!known) {
            gw_send_error(r->conn, 400, "bad_parameter",
                          "consent takes only necessary, analytics and marketing, each true or "
                          "false");
            return -1;
        }
    }
    c->specified = true;
    return 0;
}

/* Publishes m and waits for the broker. Returns 0 or -1. */
static int privacy_publish(struct gw_req *r, const Analytics__V1__PrivacyRequest *m)
{
    size_t len = analytics__v1__privacy_request__get_packed_size(m);
    uint8_t *buf = malloc(len > 0 ? len : 1);
    long long before = stage_delivery_failures(r->stage);
    int rc = -1;

    if (buf != NULL) {
        analytics__v1__privacy_request__pack(m, buf);
        const char *key = m->fingerprint[0] != '\0' ? m->fingerprint : m->user_id;
        rc = stage_send(r->stage, r->privacy_topic, key, buf, len, PRIVACY_ACK_MS) == 0 &&
                     stage_sends_acked(r->stage, before, PRIVACY_ACK_MS)
                 ? 0
                 : -1;
    }
    free(buf);
    return rc;
}

/* Records and publishes one request of action (its SQL name and enum). */
static int privacy_make(struct gw_req *r, const char *action, Analytics__V1__PrivacyAction act)
{
    Analytics__V1__PrivacyRequest m = ANALYTICS__V1__PRIVACY_REQUEST__INIT;
    Analytics__V1__Consent consent = ANALYTICS__V1__CONSENT__INIT;
    const char *fp = NULL, *uid = NULL;
    char id[40], ts[32], consent_json[96] = "";
    uuid_t u;
    struct timespec now;
    if (r->stage == NULL) {
        return gw_send_error(r->conn, 503, "unavailable", "not connected to the broker yet");
    }
    cJSON *body = privacy_body(r);

    if (body == NULL) {
        return 400;
    }
    if (privacy_str(r, body, "fingerprint", &fp) != 0 ||
        privacy_str(r, body, "user_id", &uid) != 0 ||
        (act == ANALYTICS__V1__PRIVACY_ACTION__PRIVACY_ACTION_CONSENT_CHANGE &&
         privacy_consent(r, body, &consent) != 0)) {
        cJSON_Delete(body);
        return 400;
    }
    if (fp == NULL && uid == NULL) {
        cJSON_Delete(body);
        return gw_send_error(r->conn, 400, "bad_parameter", "fingerprint or user_id is needed");
    }
    uuid_generate_random(u);
    uuid_unparse_lower(u, id);
    clock_gettime(CLOCK_REALTIME, &now);
    long long now_ms = (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
    snprintf(ts, sizeof(ts), "%lld", now_ms);
    if (consent.specified) {
        snprintf(consent_json, sizeof(consent_json),
                 "{\"necessary\":%s,\"analytics\":%s,\"marketing\":%s}",
                 consent.necessary ? "true" : "false", consent.analytics ? "true" : "false",
                 consent.marketing ? "true" : "false");
    }
    m.schema_version = 1;
    m.request_id = id;
    m.cause_event_id = "";
    m.action = act;
    m.fingerprint = (char *)(fp != NULL ? fp : "");
    m.user_id = (char *)(uid != NULL ? uid : "");
    m.ts_ms = now_ms;
    m.requested_by = (char *)r->who;
    m.consent = consent.specified ? &consent : NULL;

    char err[512];
    PGconn *c;
    int taken = gw_take_pg(r, &c);
    if (taken != 0) {
        cJSON_Delete(body);
        return taken;
    }
    const char *params[] = {
        id, action, fp, uid, r->who, ts, consent.specified ? consent_json : NULL};
    PGresult *res = PQexec(c, "BEGIN READ WRITE");
    bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    if (ok) {
        res = PQexecParams(c,
                           "INSERT INTO privacy_requests (request_id, action, fingerprint, user_id,"
                           " requested_by, requested_at, consent) VALUES ($1, $2, $3, $4, $5,"
                           " to_timestamp($6::bigint / 1000.0), $7::jsonb)",
                           7, NULL, params, NULL, NULL, 0);
        ok = PQresultStatus(res) == PGRES_COMMAND_OK;
        if (!ok) {
            pg_result_error(res, c, err, sizeof(err));
        }
        PQclear(res);
    }
    bool published = ok && privacy_publish(r, &m) == 0;
    if (published) {
        res = PQexec(c, "COMMIT");
        ok = PQresultStatus(res) == PGRES_COMMAND_OK;
        PQclear(res);
    } else {
        PQclear(PQexec(c, "ROLLBACK"));
    }
    pgpool_give(r->pool, c, PQstatus(c) != CONNECTION_OK);
    cJSON_Delete(body);
    if (!ok) {
        log_warn("gateway.privacy_failed", LOG_STR("action", action), LOG_STR("error", err));
        return gw_send_error(r->conn, 503, "unavailable", "the database is unavailable");
    }
    if (!published) {
        log_warn("gateway.privacy_unpublished", LOG_STR("action", action));
        return gw_send_error(r->conn, 503, "unavailable",
                             "the broker did not take the request; nothing was recorded");
    }
    log_info("gateway.privacy_request", LOG_STR("request_id", id), LOG_STR("action", action),
             LOG_STR("by", r->who));
    char out[160];
    snprintf(out, sizeof(out), "{\"request_id\":\"%s\",\"action\":\"%s\",\"status\":\"pending\"}",
             id, action);
    gw_send(r->conn, 202, out);
    return 202;
}

int route_privacy_erase(struct gw_req *r)
{
    return privacy_make(r, "erase", ANALYTICS__V1__PRIVACY_ACTION__PRIVACY_ACTION_ERASE);
}

int route_privacy_export(struct gw_req *r)
{
    return privacy_make(r, "export", ANALYTICS__V1__PRIVACY_ACTION__PRIVACY_ACTION_EXPORT);
}

int route_privacy_consent(struct gw_req *r)
{
    return privacy_make(r, "consent_change",
                        ANALYTICS__V1__PRIVACY_ACTION__PRIVACY_ACTION_CONSENT_CHANGE);
}

int route_privacy_status(struct gw_req *r)
{
    int rc = gw_check_names(r, route_no_names);

    if (rc != 0) {
        return rc;
    }
    const char *params[] = {r->params[0]};
    return gw_json_query(
        r, "privacy status",
        "SELECT (SELECT json_build_object('request_id', q.request_id, 'action', q.action,"
        "  'fingerprint', q.fingerprint, 'user_id', q.user_id, 'requested_by', q.requested_by,"
        "  'requested_at', q.requested_at, 'status', q.status, 'completed_at', q.completed_at,"
        "  'error', q.error, 'export_uri', q.export_uri,"
        "  'steps', coalesce((SELECT json_agg(s ORDER BY s.service) FROM ("
        "     SELECT service, status, rows_affected, done_at, detail FROM privacy_request_steps"
        "      WHERE request_id = q.request_id) s), '[]'::json))::text"
        "  FROM privacy_requests q WHERE q.request_id = $1)",
        1, params, "no privacy request with that id");
}
