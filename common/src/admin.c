#include "analytics/admin.h"

#include "analytics/http.h"
#include "analytics/log.h"
#include "analytics/metrics.h"

#include <civetweb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct admin {
    struct mg_context *ctx;
    struct admin_opts opts;
};

static int admin_only_get(struct mg_connection *c)
{
    const struct mg_request_info *ri = mg_get_request_info(c);

    if (strcmp(ri->request_method, "GET") != 0) {
        http_send_json(c, 405, "{\"error\":\"method not allowed\"}\n", "Allow: GET\r\n");
        return 0;
    }
    return 1;
}

static int admin_healthz(struct mg_connection *c, void *arg)
{
    (void)arg;
    if (!admin_only_get(c)) {
        return 405;
    }
    return http_send_json(c, 200, "{\"status\":\"ok\"}\n", NULL);
}

static int admin_readyz(struct mg_connection *c, void *arg)
{
    struct admin *a = arg;
    char why[256] = "";
    char body[400];
    char esc[300];

    if (!admin_only_get(c)) {
        return 405;
    }
    if (a->opts.ready == NULL || a->opts.ready(a->opts.arg, why, sizeof(why))) {
        return http_send_json(c, 200, "{\"status\":\"ready\"}\n", NULL);
    }
    log_json_escape(esc, 0, sizeof(esc), why);
    snprintf(body, sizeof(body), "{\"status\":\"not ready\",\"reason\":\"%s\"}\n", esc);
    return http_send_json(c, 503, body, NULL);
}

static int admin_metrics(struct mg_connection *c, void *arg)
{
    struct admin *a = arg;
    char *text;
    int status;

    if (!admin_only_get(c)) {
        return 405;
    }
    text = metrics_render(a->opts.metrics);
    if (text == NULL) {
        return http_send_json(c, 500, "{\"error\":\"out of memory\"}\n", NULL);
    }
    status = http_send(c, 200, "text/plain; version=0.0.4", text, strlen(text), NULL);
    free(text);
    return status;
}

struct admin *admin_start(const struct admin_opts *o, char *err, size_t errlen)
{
    struct http_opts ho = {o->listen, 4, 10000, 5000, "admin"};
    struct admin *a = calloc(1, sizeof(*a));

    if (a == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    a->opts = *o;
    a->ctx = http_start(&ho, err, errlen);
    if (a->ctx == NULL) {
        free(a);
        return NULL;
    }
    mg_set_request_handler(a->ctx, "/healthz$", admin_healthz, a);
    mg_set_request_handler(a->ctx, "/readyz$", admin_readyz, a);
    mg_set_request_handler(a->ctx, "/metrics$", admin_metrics, a);
    return a;
}

int admin_port(const struct admin *a)
{
    return http_bound_port(a->ctx);
}

void admin_stop(struct admin *a)
{
    if (a == NULL) {
        return;
    }
    http_stop(a->ctx);
    free(a);
}
