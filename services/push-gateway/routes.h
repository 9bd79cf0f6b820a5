#ifndef PUSH_GATEWAY_ROUTES_H
#define PUSH_GATEWAY_ROUTES_H

/*
 * The REST routes under /api/analytics/ and what they share: the route
 * table (path patterns with :params), strict query parameters (an unknown
 * one is a 400 naming it), and a query whose one text column is the JSON
 * answer, built by PostgreSQL so escaping is its.
 */

#include <stdbool.h>
#include <stddef.h>

#include "tokens.h"

struct mg_connection;
struct pgpool;
struct rpool;
struct prules;
struct stage;
struct audiences;
struct gw_cache;
struct gw_site;

#define GW_PARAMS_MAX 2
#define GW_PARAM_MAX 256 /* a path parameter's bytes */
#define GW_VALUE_MAX 512 /* a query parameter's decoded bytes */

struct gw_req {
    struct mg_connection *conn;
    struct pgpool *pool;
    struct gw_cache *cache;     /* realtime and funnel answers */
    const struct gw_site *site; /* the site's event types and personas */
    int max_rows;
    struct rpool *redis;
    const struct prules *prules;
    const char *key_prefix;
    const struct audiences *audiences;
    struct stage *stage;       /* for what a route publishes; NULL before it runs */
    const char *privacy_topic; /* with stage */
    const char *who;           /* the token's name ("" for the public route) */
    const char *rest;          /* the path after /api/analytics/ */
    const char *query;         /* the query string, or NULL */
    char params[GW_PARAMS_MAX][GW_PARAM_MAX + 1]; /* the path's :params, decoded */
};

struct gw_route {
    const char *method;
    const char *pattern; /* "insights/:fingerprint" */
    enum token_scope scope;
    const char *const *query_names; /* the query parameters it takes, NULL-terminated */
    int (*handle)(struct gw_req *r);
    /* The one public route: the site's write key, CORS and a rate limit
     * instead of a token (scope unused). */
    bool public_route;
};

/* The route rest matches, its :params decoded into r->params, or NULL. */
const struct gw_route *gw_route_find(const char *rest, struct gw_req *r);

/* The routes (for the OpenAPI check). */
extern const struct gw_route gw_routes[];
extern const size_t gw_nroutes;

/* Sends status with the JSON text json. */
void gw_send(struct mg_connection *c, int status, const char *json);

/* Sends status with body of content_type. */
void gw_send_type(struct mg_connection *c, int status, const char *content_type, const char *body);

/* Sends {"error":{"code":code,"message":...}}. Returns status. */
int gw_send_error(struct mg_connection *c, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
