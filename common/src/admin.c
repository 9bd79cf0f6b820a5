#include "analytics/admin.h"

#include "analytics/http.h"
#include "analytics/log.h"
#include "analytics/metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct admin {
    struct http_server *srv;
    struct admin_opts opts;
    struct http_route routes[3];
};

static int admin_only_get(struct http_request *c)
{
    if (strcmp(http_method(c), "GET") != 0) {
        http_send_json(c, 405, "{\"error\":\"method not allowed\"}\n", "Allow: GET\r\n");
        return 0;
    }
    return 1;
}

static int admin_healthz(void *arg, struct http_request *c)
{
    (void)arg;
    if (!admin_only_get(c)) {
        return 405;
    }
    return http_send_json(c, 200, "{\"status\":\"ok\"}\n", NULL);
}

static int admin_readyz(void *arg, struct http_request *c)
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

static int admin_metrics(void *arg, struct http_request *c)
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
    struct http_opts ho;
    struct admin *a = calloc(1, sizeof(*a));

    if (a == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    a->opts = *o;
    a->routes[0] = (struct http_route){"/healthz", NULL, admin_healthz, NULL, a};
    a->routes[1] = (struct http_route){"/readyz", NULL, admin_readyz, NULL, a};
    a->routes[2] = (struct http_route){"/metrics", NULL, admin_metrics, NULL, a};
    /* Idle or slow connections cost no thread; two threads keep /healthz
     * answering while a slow /readyz check or /metrics render runs. */
    http_opts_default(&ho);
    ho.listen = o->listen;
    ho.threads = 2;
    ho.max_connections = 512;
    ho.max_body_bytes = 4096;
    ho.routes = a->routes;
    ho.n_routes = 3;
    ho.name = "admin";
    a->srv = http_start(&ho, err, errlen);
    if (a->srv == NULL) {
        free(a);
        return NULL;
    }
    return a;
}

int admin_port(const struct admin *a)
{
    return http_bound_port(a->srv);
}

void admin_stop(struct admin *a)
{
    if (a == NULL) {
        return;
    }
    http_stop(a->srv, 1000);
    free(a);
}
