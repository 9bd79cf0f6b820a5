/* audiences and audiences/:name/members (JSON, or CSV for ad platforms):
 * the dynamic audiences of the audiences file, each a condition compiled
 * to a parameterised WHERE clause over user_behavior_profiles (audiences.h)
 * and evaluated when asked; members paged by fingerprint. */
#include "analytics/log.h"
#include "analytics/pg.h"
#include "audiences.h"
#include "pcond.h"
#include "pgpool.h"
#include "routes_priv.h"

#include <cjson/cJSON.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *const route_audience_names[] = {"limit", "cursor", "format", NULL};

static long long aud_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Every audience with its description and its size now: one count per
 * audience on one connection, each bounded by the statement timeout. */
int route_audiences(struct gw_req *r)
{
    const struct audiences *a = r->audiences;
    int rc = gw_check_names(r, route_no_names);
    size_t n = a != NULL ? audiences_count(a) : 0;
    long long now = aud_now_ms();
    char err[512], sql[PCOND_SQL_MAX + 128];
    struct pcond_sql cl;

    if (rc != 0) {
        return rc;
    }
    PGconn *c;
    if ((rc = gw_take_pg(r, &c)) != 0) {
        return rc;
    }
    cJSON *list = cJSON_CreateArray();
    bool ok = list != NULL;
    for (size_t i = 0; ok && i < n; i++) {
        ok = audiences_where(a, i, now, &cl) == 0;
        snprintf(sql, sizeof(sql), "SELECT count(*) FROM user_behavior_profiles WHERE %s",
                 ok ? cl.text : "false");
        PGresult *res =
            ok ? PQexecParams(c, sql, (int)cl.nparams, NULL, cl.params, NULL, NULL, 0) : NULL;
        ok = ok && PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;
        if (ok) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "name", audiences_name(a, i));
            cJSON_AddStringToObject(o, "description", audiences_description(a, i));
            cJSON_AddNumberToObject(o, "size", strtod(PQgetvalue(res, 0, 0), NULL));
            cJSON_AddItemToArray(list, o);
        } else {
            pg_result_error(res, c, err, sizeof(err));
        }
        PQclear(res);
    }
    pgpool_give(r->pool, c, PQstatus(c) != CONNECTION_OK);
    char *text = ok ? cJSON_PrintUnformatted(list) : NULL;
    cJSON_Delete(list);
    if (text == NULL) {
        if (!ok) {
            log_warn("gateway.query_failed", LOG_STR("route", "audiences"), LOG_STR("error", err));
        }
        return gw_send_error(r->conn, 503, "unavailable", "the database is unavailable");
    }
    gw_send(r->conn, 200, text);
    free(text);
    return 200;
}

/* One audience's members, paged by fingerprint; format=csv for ad
 * platforms (fingerprint, user_id, lead_score, persona, last_seen_at). */
int route_audience_members(struct gw_req *r)
{
    const struct audiences *a = r->audiences;
    char fmt[8] = "json", cursor[GW_VALUE_MAX] = "", slimit[24];
    long long limit;
    struct pcond_sql cl;
    int rc = gw_check_names(r, route_audience_names);
    long i = a != NULL ? audiences_find(a, r->params[0]) : -1;

    if (rc == 0) {
        rc = gw_param_int(r, "limit", 1, r->max_rows, 50 < r->max_rows ? 50 : r->max_rows, &limit);
    }
    int has_fmt = rc == 0 ? gw_param(r, "format", fmt, sizeof(fmt)) : 0;
    if (has_fmt > 1) {
        return has_fmt;
    }
    if (has_fmt == 0) {
        snprintf(fmt, sizeof(fmt), "json"); /* civetweb empties the buffer of one absent */
    }
    if (rc != 0) {
        return rc;
    }
    if (strcmp(fmt, "json") != 0 && strcmp(fmt, "csv") != 0) {
        return gw_send_error(r->conn, 400, "bad_parameter", "format must be json or csv");
    }
    int has_cursor = gw_param(r, "cursor", cursor, sizeof(cursor));
    if (has_cursor > 1) {
        return has_cursor;
    }
    if (has_cursor == 0) {
        cursor[0] = '\0'; /* from the start */
    }
    if (i < 0) {
        return gw_send_error(r->conn, 404, "not_found", "no audience of that name");
    }
    if (audiences_where(a, (size_t)i, aud_now_ms(), &cl) != 0) {
        return gw_send_error(r->conn, 503, "unavailable", "the audience does not compile");
    }
    snprintf(slimit, sizeof(slimit), "%lld", limit);
    const char *params[PCOND_PARAMS_MAX + 2];
    for (size_t k = 0; k < cl.nparams; k++) {
        params[k] = cl.params[k];
    }
    params[cl.nparams] = cursor;
    params[cl.nparams + 1] = slimit;
    size_t pc = cl.nparams + 1, pl = cl.nparams + 2;
    bool csv = strcmp(fmt, "csv") == 0;
    char tail[1024], sql[PCOND_SQL_MAX + 2048];
    if (csv) {
        snprintf(tail, sizeof(tail), "%s",
                 "SELECT 'fingerprint,user_id,lead_score,persona,last_seen_at' || E'\\n' ||"
                 " coalesce(string_agg('\"' || replace(fingerprint, '\"', '\"\"') || '\",\"' ||"
                 " replace(coalesce(user_id, ''), '\"', '\"\"') || '\",' || lead_score ||"
                 " ',\"' || replace(coalesce(persona, ''), '\"', '\"\"') || '\",' ||"
                 " to_char(last_seen_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
                 " E'\\n' ORDER BY fingerprint) || E'\\n', '') FROM page");
    } else {
        snprintf(tail, sizeof(tail),
                 "SELECT json_build_object('members', coalesce((SELECT json_agg(page ORDER BY"
                 " fingerprint) FROM page), '[]'::json), 'next_cursor', CASE WHEN (SELECT"
                 " count(*) FROM page) = $%zu::int THEN (SELECT max(fingerprint) FROM page)"
                 " END)::text",
                 pl);
    }
    snprintf(sql, sizeof(sql),
             "WITH page AS (SELECT fingerprint, user_id, lead_score, segment AS persona,"
             " churn_risk, last_seen_at FROM user_behavior_profiles WHERE (%s)"
             " AND fingerprint > $%zu ORDER BY fingerprint LIMIT $%zu::int) %s",
             cl.text, pc, pl, tail);
    return gw_text_query(r, "audience members", sql, (int)pl, params,
                         csv ? "text/csv; charset=utf-8" : "application/json", NULL);
}
