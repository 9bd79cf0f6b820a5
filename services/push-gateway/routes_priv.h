#ifndef PUSH_GATEWAY_ROUTES_PRIV_H
#define PUSH_GATEWAY_ROUTES_PRIV_H

/*
 * What the route files share (routes.c: the table, matching and these
 * helpers; routes_*.c: the handlers). Not for anyone else: the contract
 * is routes.h.
 */

#include "routes.h"

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
/* routes_privacy.c: */
int route_privacy_erase(struct gw_req *r);
int route_privacy_export(struct gw_req *r);
int route_privacy_consent(struct gw_req *r);
int route_privacy_status(struct gw_req *r);
/* routes_visitors.c: */
int route_leads(struct gw_req *r);
int route_insights(struct gw_req *r);

#endif
