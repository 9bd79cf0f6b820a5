#ifndef COLLECTOR_CONFIG_H
#define COLLECTOR_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "analytics/config.h"
#include "analytics/service.h"

enum collector_ack { COLLECTOR_ACK_DELIVERED = 0, COLLECTOR_ACK_QUEUED = 1 };

struct collector_config {
    struct service_config svc; /* the shared rows: first, so their offsets hold */
    char *listen;
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
    long long future_days;
    char *tracker_dir;
};

struct http_opts;
struct ingest_opts;

/* The topics' full names (prefix + name). */
struct collector_topics {
    char raw[256], deadletter[256];
};

/* The producer's options from c, topic names written into t (io borrows
 * both); the spool and metrics are left for the caller. */
void collector_config_ingest(const struct collector_config *c, struct collector_topics *t,
                             struct ingest_opts *io);

/* The public listener's options from c (ho borrows c's strings); routes,
 * name and metrics are left for the caller. */
void collector_config_http(const struct collector_config *c, struct http_opts *ho);

extern const struct config_var collector_config_vars[];
extern const size_t collector_config_nvars;

#endif
