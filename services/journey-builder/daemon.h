#ifndef JOURNEY_DAEMON_H
#define JOURNEY_DAEMON_H

/*
 * The journey-builder's loop, on its own thread: consume enriched events in
 * batches; per batch, in one PostgreSQL transaction, archive them, apply
 * them to the visitors' sessions, journeys and funnels, write the results
 * and the partitions' offsets; produce the journey updates (acknowledged
 * before the commit); commit; then store the Kafka offsets. Between
 * batches it closes idle sessions and abandons attempts that fell due, the
 * same way, and once an hour applies retention.
 *
 * Exactly once into the database: journey_offsets says what is applied,
 * and a replay skips it. At least once onto the journeys topic: a batch
 * whose commit failed is produced again when it is retried.
 *
 * PostgreSQL down: the batch in hand waits, consumption pauses (the group
 * membership is kept), readiness goes false, the connection is retried
 * with backoff, and the batch is redone from the database's state.
 */

#include <stdbool.h>
#include <stddef.h>

#include "analytics/stage.h"
#include "apply.h"

struct metrics;
struct jb_daemon;

struct jb_daemon_opts {
    struct stage_opts stage; /* the shared rows' part (service_stage_opts); the rest is set here */
    const char *topic_enriched;
    const char *topic_journeys;
    const char *topic_deadletter;
    const char *pg_dsn;
    int pg_connect_timeout_s;
    const struct apply_ctx *ctx; /* borrowed */
    long long session_idle_ms;   /* a session with no event for this long closes */
    int retention_days;          /* events, sessions and journeys older are dropped */
    size_t visitor_cache;        /* visitor states kept in memory */
    size_t session_cache;        /* session states kept in memory */
    struct metrics *metrics;     /* borrowed; series registered here */
};

/* Creates the Kafka clients and starts the loop (connecting to PostgreSQL
 * is the loop's business, with retries). Returns the daemon (stop its
 * stage with stage_stop, then jb_daemon_free), or NULL with the reason in err. The
 * options and what they point to are borrowed until jb_daemon_free. */
struct jb_daemon *jb_daemon_start(const struct jb_daemon_opts *o, char *err, size_t errlen);

/* The daemon's stage (borrowed until jb_daemon_free): ready when the
 * broker and PostgreSQL answer; failed once the loop hit an error it
 * cannot recover from (the database refused a statement, a fatal Kafka
 * error), so a restart replays from the last stored offsets; stage_stop
 * finishes the batch in hand unless the deadline passes first, commits
 * the offsets and leaves the group. */
struct stage *jb_daemon_stage(struct jb_daemon *d);

/* Frees the daemon (after stage_stop). Accepts NULL. */
void jb_daemon_free(struct jb_daemon *d);

#endif
