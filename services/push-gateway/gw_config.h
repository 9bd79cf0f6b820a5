#ifndef PUSH_GATEWAY_CONFIG_H
#define PUSH_GATEWAY_CONFIG_H

#include <stddef.h>

#include "analytics/config.h"
#include "analytics/service.h"

struct gw_config {
    struct service_config svc; /* the shared rows: first, so their offsets hold */
    char *listen;
    char *api_tokens; /* secret */
    long long threads;
    long long request_timeout_ms;
    long long statement_timeout_ms;
    long long max_rows;
    long long ws_max_clients;
    long long ws_queue;
    long long ws_ring;
    long long ws_auth_timeout_ms;
    long long ws_idle_ms;
    char *personalize_file;
    char *audiences_file;
    char *cors_origins;
    char *write_keys; /* secret */
    long long rate_limit;
    long long rate_burst;
    char *journeys_file;
    char *persona_model;
    char *dashboard_dir;
};

#define GW_SUMMARY                                                                                 \
    "Answers the analytics REST API under /api/analytics/ from PostgreSQL and Redis, for\n"        \
    "holders of an API token (ANALYTICS_API_TOKENS), and fans the pipeline's streams\n"            \
    "(events.enriched, scores, journeys, triggers) out to WebSocket clients of\n"                  \
    "/api/analytics/ws. Each instance reads every message, in a consumer group of its own."

extern const struct config_var gw_config_vars[];
extern const size_t gw_config_nvars;
extern const struct service_stage gw_stage_rows;

#endif
