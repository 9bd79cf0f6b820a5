#ifndef PUSH_GATEWAY_API_H
#define PUSH_GATEWAY_API_H

/*
 * The public listener (civetweb): the REST API under /api/analytics/, each
 * route behind a bearer token of ANALYTICS_API_TOKENS (401 without a token
 * or with a wrong one, 403 for a scope it lacks), answering JSON, and
 * errors as {"error":{"code":"...","message":"..."}} with stable codes:
 * bad_parameter (400, naming it), unauthorized (401), forbidden (403),
 * not_found (404), method_not_allowed (405), unavailable (503 while
 * PostgreSQL is away or a query ran past the statement timeout).
 */

#include <stdbool.h>
#include <stddef.h>

#include "tokens.h"
#include "ws.h"

struct gw_api;
struct metrics;
struct cors;
struct write_keys;
struct prules;
struct audiences;
struct gw_site;

struct gw_api_opts {
    const char *listen; /* host:port; port 0 picks a free one */
    int threads;
    int request_timeout_ms;
    const struct tokens *tokens; /* borrowed */
    const char *pg_dsn;
    int pg_connect_timeout_s;
    int statement_timeout_ms;
    int max_rows;
    const char *redis_url;
    const char *key_prefix;              /* of the hot profiles' keys: <prefix>profile:<fp> */
    const struct prules *prules;         /* borrowed: personalize */
    const struct audiences *audiences;   /* borrowed: audiences */
    const struct cors *cors;             /* borrowed: the public route's origins */
    const struct write_keys *write_keys; /* borrowed: the public route's keys */
    double rate_limit, rate_burst;       /* the public route, per client address */
    struct gw_ws_opts ws; /* the WebSocket's (hub, limits); tokens and metrics are these */
    int ws_idle_ms;       /* a silent WebSocket is pinged after this, and dropped if dead */
    struct metrics *metrics;
    const struct gw_site *site; /* borrowed; outlives the api */
    const char *dashboard_dir;  /* served at / (gw_static.h); NULL, "" or "off": none */
};

struct gw_api *gw_api_start(const struct gw_api_opts *o, char *err, size_t errlen);
/* The stage whose producer the privacy routes publish with, on
 * privacy_topic (both borrowed until gw_api_stop). */
struct stage;
void gw_api_set_stage(struct gw_api *a, struct stage *stage, const char *privacy_topic);
int gw_api_port(const struct gw_api *a);
bool gw_api_ready(const struct gw_api *a, char *why, size_t whylen);
void gw_api_stop(struct gw_api *a);

#endif
