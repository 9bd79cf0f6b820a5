#ifndef ENRICHER_DAEMON_H
#define ENRICHER_DAEMON_H

/*
 * The enricher's Kafka loop, on its own thread: consume raw events in
 * batches, dedup and sessionise them through Redis, enrich, produce enriched
 * events (or dead letters), and store the source offsets only once the
 * broker acknowledged everything up to them (at-least-once).
 *
 * Redis down, or the broker too slow: the batch in hand waits, consumption
 * pauses (the group membership is kept), readiness goes false, and the batch
 * resumes where it stopped once the server is back. Partitions revoked:
 * what is in flight is flushed and its offsets stored before they go.
 */

#include <stdbool.h>
#include <stddef.h>

#include "analytics/stage.h"
#include "enrich.h"
#include "session.h"

struct metrics;
struct enricher_daemon;

struct enricher_daemon_opts {
    struct stage_opts stage; /* the shared rows' part (service_stage_opts); the rest is set here */
    const char *topic_raw;
    const char *topic_enriched;
    const char *topic_deadletter;
    const char *redis_url;
    int redis_timeout_ms;
    const char *key_prefix;                /* of Redis keys */
    struct enrich_ctx ctx;                 /* ua, bots, geo and pages borrowed; rate ignored */
    const struct session_config *sessions; /* borrowed */
    long long dedup_ttl_ms;
    long long session_ttl_ms;
    size_t session_cache;    /* visitors' session states kept in memory (0: none) */
    int inflight_max;        /* batches awaiting delivery before consumption waits */
    double bot_rate_per_sec; /* behaviour limit per fingerprint */
    double bot_rate_burst;
    struct metrics *metrics; /* borrowed; series registered here */
};

/* Creates the clients (connecting to Redis may fail: it is retried) and
 * starts the loop. Returns the daemon (stop its stage with stage_stop, then
 * enricher_daemon_free), or NULL with the reason in err. The options and
 * what they point to are borrowed until enricher_daemon_free. */
struct enricher_daemon *enricher_daemon_start(const struct enricher_daemon_opts *o, char *err,
                                              size_t errlen);

/* The daemon's stage (borrowed until enricher_daemon_free): ready when the
 * broker and Redis answer; failed once the loop hit an error it cannot
 * recover from (a message the broker refused for good, a fatal Kafka
 * error), so a restart replays from the last stored offsets; stage_stop
 * finishes the batch in hand (unless Redis stays down past the deadline),
 * stores the offsets of what was delivered, commits and leaves the group. */
struct stage *enricher_daemon_stage(struct enricher_daemon *d);

/* Frees the daemon (after stage_stop). Accepts NULL. */
void enricher_daemon_free(struct enricher_daemon *d);

#endif
