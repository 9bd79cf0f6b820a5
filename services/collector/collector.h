#ifndef COLLECTOR_COLLECTOR_H
#define COLLECTOR_COLLECTOR_H

/*
 * The collector's HTTP side: POST /api/analytics/events (and its CORS
 * preflight), from request guards to parsed events handed to the ingest.
 */

#include <stdbool.h>
#include <stdio.h>

#include "analytics/http.h"
#include "assets.h"
#include "event.h"
#include "collector_config.h"

struct http_request;
struct metrics;
struct metric;
struct ingest;

#define COLLECTOR_STATUS_SLOTS 14

struct collector {
    const struct collector_config *cfg; /* borrowed */
    struct ingest *ingest;              /* borrowed; set before serving */
    struct cors *cors;
    struct write_keys *keys;
    struct ratelimit *ratelimit;
    struct proxy_list *proxies;
    struct event_limits limits;
    bool delivered;
    char collector_id[128];
    struct assets *assets; /* the tracker's files (GET /analytics.js), made by collector_listen */
    /* POST /api/analytics/events, then the tracker's files, for collector_listen */
    struct http_route routes[1 + ASSETS_MAX];

    struct metric *m_status[COLLECTOR_STATUS_SLOTS];
    struct metric *m_in;
    struct metric *m_rejected;
    struct metric *m_deadletters;
    struct metric *m_latency;
};

/* Builds the guards from cfg. Reports each bad variable to err as config
 * lines ("config: NAME: reason") and returns their number; 0 on success.
 * Release with collector_fini whatever the result. */
int collector_init(struct collector *col, const struct collector_config *cfg,
                   struct metrics *metrics, FILE *err);

void collector_fini(struct collector *col);

struct spool;
struct http_server;

/* Starts the public listener for events and the tracker's files (cfg's
 * listen address and limits).
 * Returns the server (stop with http_stop), or NULL with the reason in err.
 * col must outlive it. */
struct http_server *collector_listen(struct collector *col, struct metrics *metrics, char *err,
                                     size_t errlen);

/* Registers the gauges of what waits in spool (borrowed for the registry's
 * life). */
void collector_spool_metrics(struct metrics *metrics, struct spool *spool);

/* The events endpoint's http_route callbacks; arg is the collector.
 * check decides from the headers (method, CORS, write key, rate limit,
 * content type), handle parses the body and submits its events, refused
 * counts a status the HTTP server answered itself (413, 431, 503, ...). */
int collector_check_events(void *arg, struct http_request *c);
int collector_handle_events(void *arg, struct http_request *c);
void collector_refused_events(void *arg, int status);

#endif
