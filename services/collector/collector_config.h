#ifndef COLLECTOR_CONFIG_H
#define COLLECTOR_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "analytics/config.h"

enum collector_ack { COLLECTOR_ACK_DELIVERED = 0, COLLECTOR_ACK_QUEUED = 1 };

struct collector_config {
    char *brokers;
    char *kafka_debug; /* NULL when unset */
    char *topic_prefix;
    int log_level; /* enum log_level */
    char *listen;
    char *admin_listen;
    char *spool_dir;
    long long spool_max_mb;
    bool spool_fsync;
    int ack; /* enum collector_ack */
    long long threads;
    long long max_connections;
    long long header_timeout_ms;
    long long body_timeout_ms;
    long long keep_alive_ms;
    long long inflight_max_mb;
    long long max_body_bytes;
    long long max_batch;
    char *cors_origins;
    char *write_keys;
    char *trusted_proxies;
    long long rate_limit;
    long long rate_burst;
    long long rate_limit_ipv6_prefix;
    long long linger_ms;
    long long produce_timeout_ms;
    long long queue_max_events;
    long long skew_tolerance_s;
    long long retention_days; /* shared with the journey-builder */
    long long future_days;
};

extern const struct config_var collector_config_vars[];
extern const size_t collector_config_nvars;

#endif
