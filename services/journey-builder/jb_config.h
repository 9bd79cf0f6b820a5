#ifndef JOURNEY_JB_CONFIG_H
#define JOURNEY_JB_CONFIG_H

#include <stddef.h>

#include "analytics/config.h"
#include "analytics/service.h"

struct jb_config {
    struct service_config svc; /* the shared rows: first, so their offsets hold */
    char *journeys_file;
    char *funnels_file;
    long long session_idle_s;
    long long visitor_cache;
    long long session_cache;
};

#define JB_SUMMARY                                                                                 \
    "Consumes enriched events and keeps, in PostgreSQL, every event (analytics_events), one\n"     \
    "row per session, each visitor's journey and the funnel rollups; produces journey updates\n"   \
    "(stage changes, funnel steps, sessions closed, abandonment). Exits 1 when the database\n"     \
    "schema is behind this build: run analytics-migrate first."

struct jb_daemon_opts;

/* The topics' full names (prefix + name). */
struct jb_topics {
    char enriched[256], journeys[256], deadletter[256];
};

/* Fills o from c, with the topic names written into t (o borrows both);
 * the rules and metrics are left for the caller. */
void jb_config_opts(const struct jb_config *c, struct jb_topics *t, struct jb_daemon_opts *o);

extern const struct config_var jb_config_vars[];
extern const size_t jb_config_nvars;
extern const struct service_stage jb_stage_rows;

#endif
