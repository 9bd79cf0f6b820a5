#ifndef COLLECTOR_SERVER_H
#define COLLECTOR_SERVER_H

/*
 * The collector's running parts, in the order they start: the disk spool,
 * the producer that drains it (ingest), the public listener; stopped the
 * other way round, requests in flight first.
 */

#include <stdbool.h>

#include "collector.h"
#include "ingest.h"

struct metrics;

struct collector_server {
    struct collector_config cfg;
    struct collector col;
    struct spool *spool;
    struct ingest *ing;
    struct http_server *http;
    struct metrics *m; /* borrowed */
    struct collector_topics topics;
};

/* Opens the spool and starts the producer. Returns 0, or -1 having logged
 * why. */
int collector_server_start(struct collector_server *c, struct metrics *m);

/* Starts the public listener and logs collector.started. Returns 0, or -1
 * having logged why. */
int collector_server_serve(struct collector_server *c, int admin_port);

/* Stops taking requests, lets those in flight finish, then drains the
 * producer until deadline_mono_ms. */
void collector_server_stop(struct collector_server *c, long long deadline_mono_ms);

/* Frees what start and serve made, and the guards. */
void collector_server_fini(struct collector_server *c);

#endif
