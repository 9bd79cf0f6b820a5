#ifndef ENRICHER_CONFIG_H
#define ENRICHER_CONFIG_H

#include <stddef.h>

#include "analytics/config.h"
#include "analytics/service.h"

struct enricher_config {
    struct service_config svc; /* the shared rows: first, so their offsets hold */
    char *pages_file;
    char *uap_regexes;
    char *bot_patterns;
    char *geoip_dir;
    char *geoip_mmdb;
    long long ua_cache;
    long long session_cache;
    long long session_idle_min;
    long long dedup_ttl_h;
    long long inflight_batches;
    long long bot_rate;
    long long bot_burst;
};

#define ENRICHER_SUMMARY                                                                           \
    "Consumes raw events, adds user agent, bot flag, country and truncated IP, channel and\n"      \
    "campaign, page type, session and dedup, and produces enriched events.\n\n"                    \
    "  --enrich-stdin  read raw events as JSON lines on stdin and print enriched ones, with\n"     \
    "                  no broker or Redis (sessions and dedup off): for checking rule files.\n"    \
    "                  Exit 65 when some line could not be enriched."

struct enricher_daemon_opts;

/* The topics' full names (prefix + name). */
struct enricher_topics {
    char raw[256], enriched[256], deadletter[256];
};

/* Fills o from c, with the topic names written into t (o borrows both);
 * the rules, sessions and metrics are left for the caller. */
void enricher_config_opts(const struct enricher_config *c, struct enricher_topics *t,
                          struct enricher_daemon_opts *o);

extern const struct config_var enricher_config_vars[];
extern const size_t enricher_config_nvars;
extern const struct service_stage enricher_stage_rows;

#endif
