#ifndef COLLECTOR_INGEST_H
#define COLLECTOR_INGEST_H

/*
 * Where accepted events go: to Kafka through the producer while the broker
 * takes them, to the disk spool while it does not (or while the spool still
 * holds older events, so order is kept), and back from the spool to Kafka by
 * a replayer thread once the broker returns. Failed deliveries land in the
 * spool too. In delivered mode a request waits (struct ingest_wait) until
 * each of its events is acknowledged by the broker or safe in the spool.
 */

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "spool.h"

struct metrics;
struct ingest;

/* What ingest_submit returns. */
enum ingest_rc {
    INGEST_OK = 0,
    INGEST_ERROR = -1, /* an I/O error: answer 503 */
    INGEST_FULL = -2,  /* spool full: answer 503 */
};

struct ingest_opts {
    const char *brokers;
    const char *kafka_debug; /* librdkafka debug contexts; NULL for none */
    const char *topic_raw;   /* full names, prefix included */
    const char *topic_deadletter;
    int linger_ms;
    int produce_timeout_ms;
    int queue_max_events;    /* producer memory bound; overflow spools */
    struct spool *spool;     /* borrowed; must outlive the ingest */
    struct metrics *metrics; /* borrowed */
};

/* Tracks one request's events in delivered mode. Either a thread blocks in
 * ingest_wait_done, or ingest_wait_seal registers a callback that runs once
 * every event is resolved; the wait must outlive that. */
struct ingest_wait {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int pending;
    int failed;
    bool sealed;
    void (*done)(void *arg, int failed);
    void *done_arg;
};

/* Starts the producer and the replayer thread. Returns a new ingest (free
 * with ingest_free after ingest_stop), or NULL with the reason in err. */
struct ingest *ingest_new(const struct ingest_opts *o, char *err, size_t errlen);

void ingest_wait_init(struct ingest_wait *w);
void ingest_wait_fini(struct ingest_wait *w);

/* Blocks until every event submitted with w is resolved. Returns the number
 * that could be neither delivered nor spooled (lost unless the client retries). */
int ingest_wait_done(struct ingest_wait *w);

/* Says no more events will be submitted with w. When all are resolved
 * already, returns true and done is never called; otherwise returns false
 * and done(arg, failed) runs once, on the thread that resolves the last
 * one (the producer's delivery thread, usually), with the number that could
 * be neither delivered nor spooled. */
bool ingest_wait_seal(struct ingest_wait *w, void (*done)(void *arg, int failed), void *arg);

/* The number resolved as failed so far (all of them once sealed and done). */
int ingest_wait_failed(struct ingest_wait *w);

/* Submits one record for topic (enum spool_topic). w is NULL in queued mode.
 * Returns an enum ingest_rc: INGEST_OK when it is queued, delivered or
 * spooled (or, with w, will be resolved through w), INGEST_FULL when the
 * broker cannot take it and the spool is full, INGEST_ERROR on an I/O
 * error. */
int ingest_submit(struct ingest *ing, int topic, const void *key, size_t key_len, const void *value,
                  size_t len, struct ingest_wait *w);

/* Ready when the broker is reachable. Writes the reason otherwise. */
bool ingest_ready(struct ingest *ing, char *why, size_t whylen);

/* Tells the replayer to finish its batch and stop; returns at once. Call
 * first at shutdown so the replay ends while HTTP requests drain. */
void ingest_begin_stop(struct ingest *ing);

/* Joins the replayer, flushes the producer until deadline_ms (monotonic, see
 * lifecycle_mono_ms) less a second, then spools whatever is undelivered.
 * Call after the HTTP server stopped. */
void ingest_stop(struct ingest *ing, long long deadline_ms);

/* True after a fatal producer error: nothing more can be produced until a
 * restart (the spool keeps what was accepted). */
bool ingest_failed(struct ingest *ing);

/* Frees the ingest and its producer. Accepts NULL. */
void ingest_free(struct ingest *ing);

#endif
