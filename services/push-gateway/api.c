#include "api.h"

#include "analytics/errbuf.h"
#include "analytics/log.h"
#include "analytics/metrics.h"
#include "analytics/cors.h"
#include "analytics/lifecycle.h"
#include "analytics/ratelimit.h"
#include "analytics/write_keys.h"
#include "gw_cache.h"
#include "gw_static.h"
#include "pgpool.h"
#include "routes_priv.h"
#include "rpool.h"

#include <civetweb.h>
#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define API_PREFIX "/api/analytics/"

struct gw_api {
    struct gw_api_opts o;
    struct mg_context *ctx;
    struct pgpool *pool;
    struct rpool *redis;
    struct ratelimit *rate;
    struct gw_ws *ws;
    _Atomic(struct stage *) stage; /* set once the stream runs (gw_api_set_stage) */
    const char *privacy_topic;
    struct gw_cache *cache;
    struct gw_static *files;  /* the dashboard at / */
    pthread_t metrics_thread; /* the metrics channel: realtime every second */
    bool metrics_started;
    atomic_bool metrics_stop;
    int port;
    struct metric *requests_ok, *requests_client, *requests_server, *unauthorized;
};

/* ---- answers ---- */

/* Headers every answer to the request in hand carries besides the usual
 * (the public route's CORS headers). civetweb serves a request on one
 * thread from start to end, so a thread's variable is the request's. */
static _Thread_local const char *api_extra_headers;

void gw_send_type(struct mg_connection *c, int status, const char *content_type, const char *body)
{
    size_t len = strlen(body);
    bool bearer = status == 401 && api_extra_headers == NULL;

    mg_printf(c,
              "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
              "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n%s%s\r\n",
              status, mg_get_response_code_text(c, status), content_type, len,
              bearer ? "WWW-Authenticate: Bearer realm=\"analytics\"\r\n" : "",
              api_extra_headers != NULL ? api_extra_headers : "");
    mg_write(c, body, len);
}

void gw_send(struct mg_connection *c, int status, const char *json)
{
    gw_send_type(c, status, "application/json", json);
}

int gw_send_error(struct mg_connection *c, int status, const char *code, const char *fmt, ...)
{
    if (c == NULL) {
        return status;
    }
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

/* The public route's checks instead of a token: CORS (an Origin not
 * allowed is refused; the answer names the allowed one), a preflight
 * answered, the site's write key, the client's rate. Returns 0 to go on, or
 * the status of the answer sent. */
static int api_public(struct gw_api *a, struct mg_connection *c, char *hdrs, size_t hdrlen)
{
    const struct mg_request_info *ri = mg_get_request_info(c);
    const char *origin = mg_get_header(c, "Origin");
    const char *key = mg_get_header(c, "X-Write-Key");
    char qkey[TOKENS_TOKEN_MAX + 1];

    /* Else ?write_key=, as the collector takes it (a page's key is public). */
    if (key == NULL && ri->query_string != NULL &&
        mg_get_var(ri->query_string, strlen(ri->query_string), "write_key", qkey, sizeof(qkey)) >
            0) {
        key = qkey;
    }

    hdrs[0] = '\0';
    if (origin != NULL) {
        if (cors_check(a->o.cors, origin) != CORS_ALLOWED) {
            return gw_send_error(c, 403, "origin_not_allowed",
                                 "this origin is not in ANALYTICS_PUSH_GATEWAY_CORS_ORIGINS");
        }
        snprintf(hdrs, hdrlen,
                 "Access-Control-Allow-Origin: %.200s\r\nVary: Origin\r\n"
                 "Access-Control-Allow-Headers: X-Write-Key\r\n"
                 "Access-Control-Allow-Methods: GET\r\nAccess-Control-Max-Age: 600\r\n",
                 origin);
    }
    api_extra_headers = hdrs;
    if (strcmp(ri->request_method, "OPTIONS") == 0) {
        mg_printf(c, "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n%s\r\n", hdrs);
        return 204;
    }
    int retry = 1;
    if (!ratelimit_allow(a->rate, ri->remote_addr, 1.0, lifecycle_mono_ms(), &retry)) {
        return gw_send_error(c, 429, "rate_limited",
                             "too many requests from this address; again in %d s", retry);
    }
    if (write_keys_match(a->o.write_keys, key) == NULL) {
        metric_add(a->unauthorized, 1);
        return gw_send_error(c, 401, "unauthorized",
                             key == NULL ? "an X-Write-Key header with the site's write key "
                                           "is needed"
                                         : "the write key is not one of this site's");
    }
    return 0;
}

static int api_handler(struct mg_connection *c, void *cbdata)
{
    struct gw_api *a = cbdata;
    const struct mg_request_info *ri = mg_get_request_info(c);
    const char *path = ri->local_uri != NULL ? ri->local_uri : "";
    const struct gw_route *rt;
    struct gw_req req = {.conn = c,
                         .pool = a->pool,
                         .max_rows = a->o.max_rows,
                         .redis = a->redis,
                         .prules = a->o.prules,
                         .key_prefix = a->o.key_prefix,
                         .stage = atomic_load(&a->stage),
                         .privacy_topic = a->privacy_topic,
                         .who = "",
                         .audiences = a->o.audiences,
                         .cache = a->cache,
                         .site = a->o.site};
    char hdrs[512];
    int status;

    api_extra_headers = NULL;

    /* Outside /api/ the dashboard's files (by the path as decoded but not
     * cleaned of dot segments, so that one is refused, not rewritten);
     * under it, the API alone. */
    if (strncmp(path, "/api/", 5) != 0 && strcmp(path, "/api") != 0) {
        return gw_static_serve(a->files, c, ri->request_method,
                               ri->local_uri_raw != NULL ? ri->local_uri_raw : path);
    }
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
    if (rt->public_route) {
        status = api_public(a, c, hdrs, sizeof(hdrs));
        if (status == 0) {
            status = strcmp(ri->request_method, rt->method) == 0
                         ? rt->handle(&req)
                         : gw_send_error(c, 405, "method_not_allowed", "this route takes %s",
                                         rt->method);
        }
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
    req.who = who->name;
    status = rt->handle(&req);
out:
    api_extra_headers = NULL;
    api_count(a, status);
    return status;
}

/* ---- the metrics channel ---- */

/* Every second while a WebSocket client subscribes to metrics: the realtime figures
 * (the route's, from the same one-second cache) published on metrics. */
static void *api_metrics_loop(void *arg)
{
    struct gw_api *a = arg;
    struct gw_req req = {.pool = a->pool, .cache = a->cache, .site = a->o.site};
    while (!atomic_load(&a->metrics_stop)) {
        for (int i = 0; i < 10 && !atomic_load(&a->metrics_stop); i++) {
            struct timespec ts = {0, 100L * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        /* The realtime query only for someone who listens to it. */
        if (atomic_load(&a->metrics_stop) || a->o.site == NULL ||
            hub_subscribers(a->o.ws.hub, HUB_METRICS) == 0) {
            continue;
        }
        char *text = NULL;
        if (gw_realtime_text(&req, &text) == 200 && text != NULL) {
            (void)hub_publish(a->o.ws.hub, HUB_METRICS, text, strlen(text), NULL);
        }
        free(text);
    }
    return NULL;
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
    char threads[16], timeout[16], ws_idle[16];
    struct mg_callbacks cb = {.log_message = api_log_message};
    struct mg_server_port ports[4];

    if (a == NULL) {
        errbuf_printf(err, errlen, "out of memory");
        return NULL;
    }
    a->o = *o;
    api_metrics(a, o->metrics);
    a->pool = pgpool_new(&po);
    a->redis = rpool_new(o->redis_url, 4, 500, err, errlen);
    a->rate = ratelimit_new(o->rate_limit, o->rate_burst, 100000);
    if (a->redis == NULL || a->rate == NULL) {
        if (a->redis != NULL) {
            errbuf_printf(err, errlen, "out of memory");
        }
        gw_api_stop(a);
        return NULL;
    }
    a->cache = gw_cache_new(o->metrics);
    a->files = gw_static_new(o->dashboard_dir);
    snprintf(threads, sizeof(threads), "%d", o->threads);
    snprintf(timeout, sizeof(timeout), "%d", o->request_timeout_ms);
    snprintf(ws_idle, sizeof(ws_idle), "%d", o->ws_idle_ms > 0 ? o->ws_idle_ms : 30000);
    /* civetweb's own CORS off (its default answers every preflight for any
     * origin): the public route does its own, the rest need no CORS. */
    /* tcp_nodelay: an answer is written as headers, then body; with Nagle
     * the body waited for the client's delayed ACK, 40 ms a request. */
    const char *opts[] = {"tcp_nodelay",
                          "1",
                          "access_control_allow_origin",
                          "",
                          "websocket_timeout_ms",
                          ws_idle,
                          "enable_websocket_ping_pong",
                          "yes",
                          "listening_ports",
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
    if (a->pool == NULL || a->cache == NULL || a->files == NULL) {
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
    struct gw_ws_opts wo = o->ws;
    wo.tokens = o->tokens;
    wo.cors = o->cors;
    wo.metrics = o->metrics;
    if (wo.hub != NULL && (a->ws = gw_ws_register(a->ctx, &wo)) == NULL) {
        errbuf_printf(err, errlen, "out of memory");
        gw_api_stop(a);
        return NULL;
    }
    atomic_init(&a->metrics_stop, false);
    if (wo.hub != NULL) {
        a->metrics_started = pthread_create(&a->metrics_thread, NULL, api_metrics_loop, a) == 0;
    }
    if (mg_get_server_ports(a->ctx, 4, ports) > 0) {
        a->port = ports[0].port;
    }
    gw_static_log_state(a->files);
    return a;
}

void gw_api_set_stage(struct gw_api *a, struct stage *stage, const char *privacy_topic)
{
    a->privacy_topic = privacy_topic;
    atomic_store(&a->stage, stage);
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
    if (!rpool_up(a->redis)) {
        errbuf_printf(why, whylen, "Redis unreachable");
        return false;
    }
    return true;
}

void gw_api_stop(struct gw_api *a)
{
    if (a == NULL) {
        return;
    }
    if (a->metrics_started) {
        atomic_store(&a->metrics_stop, true);
        pthread_join(a->metrics_thread, NULL);
        a->metrics_started = false;
    }
    if (a->ctx != NULL) {
        mg_stop(a->ctx); /* joins every connection thread: the WebSocket ones close first */
    }
    gw_ws_free(a->ws);
    pgpool_free(a->pool);
    rpool_free(a->redis);
    ratelimit_free(a->rate);
    gw_cache_free(a->cache);
    gw_static_free(a->files);
    free(a);
}
