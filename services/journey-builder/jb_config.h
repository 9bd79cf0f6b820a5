#ifndef JOURNEY_JB_CONFIG_H
#define JOURNEY_JB_CONFIG_H

#include <stddef.h>

#include "analytics/config.h"

struct jb_config {
    int log_level; /* enum log_level */
    char *brokers;
    char *kafka_debug; /* NULL when unset */
    char *topic_prefix;
    char *pg_dsn;
    char *admin_listen;
    char *group;
    char *journeys_file;
    char *funnels_file;
    long long pg_connect_timeout_s;
    long long retention_days;
    long long session_idle_s;
    long long batch;
    long long linger_ms;
    long long group_session_timeout_ms;
    long long prefetch_mb;
    long long visitor_cache;
    long long session_cache;
};

extern const struct config_var jb_config_vars[];
extern const size_t jb_config_nvars;

#endif
