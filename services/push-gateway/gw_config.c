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
    {"ANALYTICS_PUSH_GATEWAY_THREADS", CONFIG_INT, "1100", 4, 100000, NULL,
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
    {"ANALYTICS_PUSH_GATEWAY_WS_MAX_CLIENTS", CONFIG_INT, "1000", 1, 100000, NULL,
     "WebSocket connections at once (more are refused at the handshake); the listener's "
     "threads must exceed it",
     F(ws_max_clients), 0},
    {"ANALYTICS_PUSH_GATEWAY_WS_QUEUE", CONFIG_INT, "256", 1, 100000, NULL,
     "messages queued for one WebSocket client; past it that client alone misses messages "
     "and is told (lagged)",
     F(ws_queue), 0},
    {"ANALYTICS_PUSH_GATEWAY_WS_RING", CONFIG_INT, "1024", 0, 1000000, NULL,
     "recent messages kept for a client that reconnects with its last seq (0: no resume)",
     F(ws_ring), 0},
    {"ANALYTICS_PUSH_GATEWAY_WS_AUTH_TIMEOUT_MS", CONFIG_INT, "5000", 100, 600000, NULL,
     "a WebSocket connection must authenticate within this, or is closed", F(ws_auth_timeout_ms),
     0},
    {"ANALYTICS_PUSH_GATEWAY_WS_IDLE_MS", CONFIG_INT, "30000", 1000, 3600000, NULL,
     "a WebSocket silent this long is pinged; one that does not answer is dropped", F(ws_idle_ms),
     0},
    {"ANALYTICS_PUSH_GATEWAY_PERSONALIZE_FILE", CONFIG_STRING,
     ANALYTICS_DATA_DIR "/deploy/config/personalize.json", 0, 0, NULL,
     "the personalisation rules: lead score bands, and the answer for each kind of visitor "
     "(JSON; services/push-gateway/RULES.md)",
     F(personalize_file), 0},
    {"ANALYTICS_PUSH_GATEWAY_AUDIENCES_FILE", CONFIG_STRING,
     ANALYTICS_DATA_DIR "/deploy/config/audiences.json", 0, 0, NULL,
     "the dynamic audiences: conditions on profile fields (JSON; services/push-gateway/RULES.md)",
     F(audiences_file), 0},
    {"ANALYTICS_PUSH_GATEWAY_CORS_ORIGINS", CONFIG_STRING, "", 0, 0, NULL,
     "origins whose pages may ask personalize/ and open the WebSocket (comma-separated, as "
     "the collector's); empty: none, so only same-origin and server-side callers",
     F(cors_origins), 0},
    {"ANALYTICS_PUSH_GATEWAY_WRITE_KEYS", CONFIG_STRING, "", 0, 0, NULL,
     "the sites' write keys for personalize/, site:key comma-separated (the collector's); "
     "empty turns keys off",
     F(write_keys), CONFIG_SECRET},
    {"ANALYTICS_PUSH_GATEWAY_RATE_LIMIT", CONFIG_INT, "50", 1, 1000000, NULL,
     "personalize/ requests a second per client address", F(rate_limit), 0},
    {"ANALYTICS_PUSH_GATEWAY_RATE_BURST", CONFIG_INT, "100", 1, 10000000, NULL,
     "personalize/ requests one client address may make at once", F(rate_burst), 0},
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
    {"ANALYTICS_PUSH_GATEWAY_DASHBOARD_DIR", CONFIG_STRING, ANALYTICS_WEB_DIR "/dashboard", 0, 0,
     NULL,
     "the built dashboard (web/dashboard), served at / on the public listener; off: none. "
     "Looked for on each request: while it is missing / answers 503 and the API goes on",
     F(dashboard_dir), 0},
};

const struct service_stage gw_stage_rows = {
    .group = "",
    .group_help = "Kafka consumer group; empty (the default): one of this instance alone, "
                  "analytics-push-gateway-<host>-<pid>-<random>, so every replica sees every "
                  "message, from the end of each partition",
    .batch = "500",
    .batch_help = "messages taken from Kafka at once",
};

const size_t gw_config_nvars = sizeof(gw_config_vars) / sizeof(gw_config_vars[0]);
