#include "gw_config.h"

#include <stddef.h>

#define F(field) offsetof(struct gw_config, field)

const struct config_var gw_config_vars[] = {
    {"ANALYTICS_PUSH_GATEWAY_LISTEN", CONFIG_HOSTPORT, "0.0.0.0:8090", 0, 0, NULL,
     "host:port of the public listener (REST and WebSocket)", F(listen), 0},
    {"ANALYTICS_API_TOKENS", CONFIG_STRING, NULL, 0, 0, NULL,
     "comma-separated name:scope:token entries, scope read or admin (admin may also make "
     "privacy requests); tokens of 16..256 printable ASCII bytes",
     F(api_tokens), CONFIG_SECRET | CONFIG_REQUIRED},
    {"ANALYTICS_PUSH_GATEWAY_THREADS", CONFIG_INT, "64", 4, 4096, NULL,
     "threads of the public listener: one per connection in progress (a WebSocket client "
     "holds one for as long as it stays)",
     F(threads), 0},
    {"ANALYTICS_PUSH_GATEWAY_REQUEST_TIMEOUT_MS", CONFIG_INT, "10000", 100, 600000, NULL,
     "a request's headers and body must arrive, and an answer be written, within this",
     F(request_timeout_ms), 0},
    {"ANALYTICS_PUSH_GATEWAY_STATEMENT_TIMEOUT_MS", CONFIG_INT, "5000", 10, 600000, NULL,
     "a query's longest time in PostgreSQL (statement_timeout); past it the route answers 503",
     F(statement_timeout_ms), 0},
    {"ANALYTICS_PUSH_GATEWAY_MAX_ROWS", CONFIG_INT, "1000", 1, 100000, NULL,
     "rows one page of a list holds at most (limit= above it is refused)", F(max_rows), 0},
    {"ANALYTICS_JOURNEYS_FILE", CONFIG_STRING, ANALYTICS_DATA_DIR "/deploy/config/journeys.json", 0,
     0, NULL,
     "the journey rules (as the journey-builder's): their page-view and conversion event types "
     "count in realtime",
     F(journeys_file), 0},
    {"ANALYTICS_SCORER_PERSONA_MODEL", CONFIG_STRING,
     ANALYTICS_DATA_DIR "/deploy/models/personas.json", 0, 0, NULL,
     "the scorer's persona model, read once at start for the personas' descriptions "
     "(segments); empty or unreadable: sizes only",
     F(persona_model), 0},
};

const size_t gw_config_nvars = sizeof(gw_config_vars) / sizeof(gw_config_vars[0]);
