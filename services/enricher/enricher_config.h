#ifndef ENRICHER_CONFIG_H
#define ENRICHER_CONFIG_H

#include <stddef.h>

#include "analytics/config.h"

struct enricher_config {
    int log_level; /* enum log_level */
    char *brokers;
    char *kafka_debug; /* NULL when unset */
    char *topic_prefix;
    char *redis_url;
    char *admin_listen;
    char *pages_file;
    char *uap_regexes;
    char *bot_patterns;
    char *geoip_dir;
    char *geoip_mmdb;
    char *site_timezone;
    long long ua_cache;
    long long session_cache;
    long long prefetch_mb;
    long long session_idle_min;
    long long dedup_ttl_h;
    long long batch;
    long long inflight_batches;
    long long linger_ms;
    long long group_session_timeout_ms;
    long long bot_rate;
    long long bot_burst;
};

extern const struct config_var enricher_config_vars[];
extern const size_t enricher_config_nvars;

#endif
