#ifndef PUSH_GATEWAY_ROUTES_PRIV_H
#define PUSH_GATEWAY_ROUTES_PRIV_H

/*
 * What the route files share (routes.c: the table, matching and these
 * helpers; routes_*.c: the handlers). Not for anyone else: the contract
 * is routes.h.
 */

#include "routes.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

/* Refuses a query parameter not in names (NULL-terminated) or one given
 * twice. Returns 0, or the status of the 400 sent. */
int gw_check_names(struct gw_req *r, const char *const *names);

/* The decoded value of name into buf: 1 found, 0 absent, or the status of a
 * 400 sent (too long, not UTF-8). */
int gw_param(struct gw_req *r, const char *name, char *buf, size_t buflen);

/* An integer parameter in lo..hi, def when absent. Returns 0, or the
 * status of a 400 sent. */
int gw_param_int(struct gw_req *r, const char *name, long long lo, long long hi, long long def,
                 long long *out);

/* Time ranges: from= and to= as ISO-8601 dates or times, at most
 * GW_RANGE_DAYS_MAX days apart. */
#define GW_RANGE_DAYS_MAX 400

struct gw_range {
    long long from_ms, to_ms;      /* since the epoch */
    char from[32], to[32];         /* as YYYY-MM-DDTHH:MM:SS.mmmZ, for the queries */
    char raw_from[64], raw_to[64]; /* as given ("" when absent), for cache keys */
};

/* Parses an ISO-8601 date (YYYY-MM-DD, UTC midnight) or time
 * (YYYY-MM-DDTHH:MM[:SS[.frac]] with Z, +HH:MM, -HH:MM or nothing for UTC;
 * ' ' for the '+' an unencoded query string turns into one), 1970..9999,
 * into ms since the epoch. Returns 0, or -1 when s is anything else. */
int gw_iso8601_ms(const char *s, long long *ms);

/* The from= and to= parameters into out: to defaults to now, from to
 * def_days before to. Refuses (400 naming the parameter) a malformed one,
 * from after to (an empty range, from = to, is allowed), and a range over
 * GW_RANGE_DAYS_MAX days. Returns 0, or the status of the 400 sent. */
int gw_param_range(struct gw_req *r, int def_days, struct gw_range *out);

/* A word parameter (1..64 of a-z, 0-9, '_', '-': a channel, a device, a
 * group) into buf: 1 found, 0 absent, or the status of a 400 sent. */
int gw_param_word(struct gw_req *r, const char *name, char *buf, size_t buflen);

/* The cursor parameter as this route gave it, "<number>:<key>": the number
 * (an integer, or with real any finite number, in lo..hi) into num and the
 * non-empty rest into key. 1 found, 0 absent, or the status of a 400 sent
 * ("cursor is not one this route gave"). */
int gw_param_cursor(struct gw_req *r, bool real, double lo, double hi, char *num, size_t numlen,
                    char *key, size_t keylen);

/* A PostgreSQL connection of the pool for this request into *out: 0, or
 * the status of the 503 sent ("busy": every one taken for the pool's wait;
 * "unavailable": PostgreSQL away). Given back with pgpool_give. */
int gw_take_pg(struct gw_req *r, PGconn **out);

/* Runs sql with its n params (a NULL one is SQL NULL): 200 with *out a
 * copy of its one text value (caller frees; NULL when the value is NULL),
 * or the status of the 503 sent (every connection busy, PostgreSQL away,
 * or past the statement timeout; *out NULL). */
int gw_json_fetch(struct gw_req *r, const char *what, const char *sql, int n,
                  const char *const *params, char **out);

/* As gw_json_query, the answer kept ttl_ms under key in r->cache and
 * computed once for concurrent askers (gw_cache.h); failures and 404s are
 * not kept. key names the route and its parameters as given. */
int gw_json_cached(struct gw_req *r, const char *what, const char *key, long long ttl_ms,
                   const char *sql, int n, const char *const *params, const char *nf);

/* Runs sql with its n params and sends its one text value (JSON) with 200;
 * or 404 saying nf when the value is NULL and nf is set; 503 when
 * PostgreSQL is away or the query ran past the statement timeout. what
 * names the route in the log. Returns the status. */
int gw_json_query(struct gw_req *r, const char *what, const char *sql, int n,
                  const char *const *params, const char *nf);

/* Query parameter lists. */
extern const char *const route_no_names[];
extern const char *const route_leads_names[];

extern const char *const route_personalize_names[];

/* The handlers, by file. routes_personalize.c: */
int route_personalize(struct gw_req *r);
/* As gw_json_query, the value sent as content_type (text/csv). */
int gw_text_query(struct gw_req *r, const char *what, const char *sql, int n,
                  const char *const *params, const char *content_type, const char *nf);

extern const char *const route_audience_names[];
/* The realtime figures (routes_traffic.c) into *text (caller frees), from
 * the one-second cache or computed; r->conn may be NULL (the metrics
 * channel's timer): failures are then only returned. Returns 200 or a
 * 503 status. */
int gw_realtime_text(struct gw_req *r, char **text);

/* routes_audiences.c: */
int route_audiences(struct gw_req *r);
int route_audience_members(struct gw_req *r);
/* routes_privacy.c: */
int route_privacy_erase(struct gw_req *r);
int route_privacy_export(struct gw_req *r);
int route_privacy_consent(struct gw_req *r);
int route_privacy_status(struct gw_req *r);
/* routes_visitors.c: */
extern const char *const route_realtime_names[];
extern const char *const route_sessions_names[];
extern const char *const route_pages_names[];
extern const char *const route_funnel_names[];
extern const char *const route_list_names[];
extern const char *const route_journeys_names[];
extern const char *const route_flows_names[];
extern const char *const route_churn_names[];

/* The handlers, by file. routes_visitors.c: */
int route_leads(struct gw_req *r);
int route_insights(struct gw_req *r);

/* routes_traffic.c: */
int route_realtime(struct gw_req *r);
int route_sessions(struct gw_req *r);
int route_pages(struct gw_req *r);

/* routes_funnels.c: */
int route_funnel(struct gw_req *r);
int route_funnels(struct gw_req *r);
int route_journeys(struct gw_req *r);
int route_journey_flows(struct gw_req *r);

/* routes_clicks.c: */
extern const char *const route_clicks_names[];
int route_clicks(struct gw_req *r);

/* routes_segments.c: */
int route_segments(struct gw_req *r);
int route_segment_members(struct gw_req *r);
int route_churn(struct gw_req *r);

#endif
