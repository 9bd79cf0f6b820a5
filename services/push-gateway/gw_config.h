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
    char *journeys_file;
    char *persona_model;
};

#define GW_SUMMARY                                                                                 \
    "Answers the analytics REST API under /api/analytics/ from PostgreSQL and Redis, for\n"        \
    "holders of an API token (ANALYTICS_API_TOKENS), and will fan the pipeline's streams out\n"    \
    "to WebSocket clients."

extern const struct config_var gw_config_vars[];
extern const size_t gw_config_nvars;

#endif
