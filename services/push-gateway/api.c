#include "api.h"

#include "analytics/errbuf.h"
#include "analytics/log.h"
#include "analytics/metrics.h"
#include "gw_cache.h"
#include "pgpool.h"
#include "routes.h"

#include <civetweb.h>
#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define API_PREFIX "/api/analytics/"

struct gw_api {
    struct gw_api_opts o;
    struct mg_context *ctx;
    struct pgpool *pool;
    struct gw_cache *cache;
    int port;
    struct metric *requests_ok, *requests_client, *requests_server, *unauthorized;
};

/* ---- answers ---- */

void gw_send(struct mg_connection *c, int status, const char *json)
{
    size_t len = strlen(json);

    mg_printf(c,
              "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
              "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n%s\r\n",
              status, mg_get_response_code_text(c, status), len,
              status == 401 ? "WWW-Authenticate: Bearer realm=\"analytics\"\r\n" : "");
    mg_write(c, json, len);
}

int gw_send_error(struct mg_connection *c, int status, const char *code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    cJSON *o = cJSON_CreateObject(), *e = cJSON_AddObjectToObject(o, "error");
    char *text;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    cJSON_AddStringToObject(e, "code", code);
    cJSON_AddStringToObject(e, "message", msg);
    text = cJSON_PrintUnformatted(o);
    gw_send(c, status, text != NULL ? text : "{\"error\":{\"code\":\"internal\"}}");
    free(text);
    cJSON_Delete(o);
    return status;
}

/* ---- the request ---- */

/* The token's entry, or NULL having answered 401. */
static const struct token_entry *api_auth(struct gw_api *a, struct mg_connection *c)
{
    const char *h = mg_get_header(c, "Authorization");
    const char *tok = tokens_bearer(h);
    const struct token_entry *e = tok != NULL ? tokens_find(a->o.tokens, tok) : NULL;

    if (e == NULL) {
        metric_add(a->unauthorized, 1);
        gw_send_error(c, 401, "unauthorized",
                      h == NULL ? "an Authorization: Bearer <token> header is needed"
                                : "the token is not one of ANALYTICS_API_TOKENS");
    }
    return e;
}

static void api_count(struct gw_api *a, int status)
{
    metric_add(status >= 500   ? a->requests_server
               : status >= 400 ? a->requests_client
                               : a->requests_ok,
               1);
}

static int api_handler(struct mg_connection *c, void *cbdata)
{
    struct gw_api *a = cbdata;
    const struct mg_request_info *ri = mg_get_request_info(c);
    const char *path = ri->local_uri != NULL ? ri->local_uri : "";
    const struct gw_route *rt;
    struct gw_req req = {.conn = c,
                         .pool = a->pool,
                         .cache = a->cache,
                         .site = a->o.site,
                         .max_rows = a->o.max_rows};
    int status;

    if (strncmp(path, API_PREFIX, strlen(API_PREFIX)) != 0) {
        status = gw_send_error(c, 404, "not_found", "no such route");
        goto out;
    }
    req.rest = path + strlen(API_PREFIX);
    req.query = ri->query_string;
    rt = gw_route_find(req.rest, &req);
    if (rt == NULL) {
        status = gw_send_error(c, 404, "not_found", "no such route: %.100s", path);
        goto out;
    }
    const struct token_entry *who = api_auth(a, c);
    if (who == NULL) {
        status = 401;
        goto out;
    }
    if (!tokens_allows(who->scope, rt->scope)) {
        status =
            gw_send_error(c, 403, "forbidden", "the token %s has scope %s; this needs %s",
                          who->name, tokens_scope_name(who->scope), tokens_scope_name(rt->scope));
        goto out;
    }
    if (strcmp(ri->request_method, rt->method) != 0) {
        status = gw_send_error(c, 405, "method_not_allowed", "this route takes %s", rt->method);
        goto out;
    }
    status = rt->handle(&req);
out:
    api_count(a, status);
    return status;
}

/* ---- life cycle ---- */

static int api_log_message(const struct mg_connection *c, const char *message)
{
    (void)c;
    log_warn("gateway.http_error", LOG_STR("message", message));
    return 1;
}

static void api_metrics(struct gw_api *a, struct metrics *m)
{
    a->requests_ok = metrics_counter(m, "analytics_gateway_requests_total",
                                     "REST requests answered", "class=\"2xx\"");
    a->requests_client = metrics_counter(m, "analytics_gateway_requests_total",
                                         "REST requests answered", "class=\"4xx\"");
    a->requests_server = metrics_counter(m, "analytics_gateway_requests_total",
                                         "REST requests answered", "class=\"5xx\"");
    a->unauthorized = metrics_counter(m, "analytics_gateway_unauthorized_total",
                                      "Requests without a valid token", NULL);
}

struct gw_api *gw_api_start(const struct gw_api_opts *o, char *err, size_t errlen)
{
    struct gw_api *a = calloc(1, sizeof(*a));
    struct pgpool_opts po = {o->pg_dsn, o->pg_connect_timeout_s, o->statement_timeout_ms, 8,
                             o->statement_timeout_ms};
    char threads[16], timeout[16];
    struct mg_callbacks cb = {.log_message = api_log_message};
    struct mg_server_port ports[4];

    if (a == NULL) {
        errbuf_printf(err, errlen, "out of memory");
        return NULL;
    }
    a->o = *o;
    api_metrics(a, o->metrics);
    a->pool = pgpool_new(&po);
    a->cache = gw_cache_new(o->metrics);
    snprintf(threads, sizeof(threads), "%d", o->threads);
    snprintf(timeout, sizeof(timeout), "%d", o->request_timeout_ms);
    const char *opts[] = {"listening_ports",
                          o->listen,
                          "num_threads",
                          threads,
                          "request_timeout_ms",
                          timeout,
                          "enable_keep_alive",
                          "yes",
                          "keep_alive_timeout_ms",
                          "5000",
                          NULL};
    if (a->pool == NULL || a->cache == NULL) {
        errbuf_printf(err, errlen, "out of memory");
        gw_api_stop(a);
        return NULL;
    }
    a->ctx = mg_start(&cb, a, opts);
    if (a->ctx == NULL) {
        errbuf_printf(err, errlen, "cannot listen on %s", o->listen);
        gw_api_stop(a);
        return NULL;
    }
    mg_set_request_handler(a->ctx, "/", api_handler, a);
    if (mg_get_server_ports(a->ctx, 4, ports) > 0) {
        a->port = ports[0].port;
    }
    return a;
}

int gw_api_port(const struct gw_api *a)
{
    return a->port;
}

bool gw_api_ready(const struct gw_api *a, char *why, size_t whylen)
{
    if (!pgpool_up(a->pool)) {
        errbuf_printf(why, whylen, "PostgreSQL unreachable");
        return false;
    }
    return true;
}

void gw_api_stop(struct gw_api *a)
{
    if (a == NULL) {
        return;
    }
    if (a->ctx != NULL) {
        mg_stop(a->ctx);
    }
    pgpool_free(a->pool);
    gw_cache_free(a->cache);
    free(a);
}
