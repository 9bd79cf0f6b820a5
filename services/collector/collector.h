#ifndef COLLECTOR_COLLECTOR_H
#define COLLECTOR_COLLECTOR_H

/*
 * The collector's HTTP side: POST /api/analytics/events (and its CORS
 * preflight), from request guards to parsed events handed to the ingest.
 */

#include <stdbool.h>
#include <stdio.h>

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

/* The events endpoint's http_route callbacks; arg is the collector.
 * check decides from the headers (method, CORS, write key, rate limit,
 * content type), handle parses the body and submits its events, refused
 * counts a status the HTTP server answered itself (413, 431, 503, ...). */
int collector_check_events(void *arg, struct http_request *c);
int collector_handle_events(void *arg, struct http_request *c);
void collector_refused_events(void *arg, int status);

#endif
