#ifndef ANALYTICS_STAGE_H
#define ANALYTICS_STAGE_H

/*
 * The consumer stage runtime every Kafka daemon stands on: one consumer
 * thread that fills batches from kafka_consumer_poll, hands each to the
 * daemon's process callback until it is finished, pauses consumption (the
 * group membership kept) while the daemon's backend or the broker is away,
 * stores offsets only once a batch and every batch before it are
 * acknowledged (the flight queue, flight.h), and on SIGTERM finishes the
 * batch in hand unless a deadline passes first.
 *
 * The stage owns the consumer, the producer, the flight queue and the
 * batch's messages; the daemon owns everything its callbacks build. The
 * callbacks run on the consumer thread (revoke and drop from inside
 * kafka_consumer_poll, delivered on the producer's poller thread).
 *
 * Shared metrics, under the daemon's prefix P (e.g. analytics_enricher):
 * P_events_consumed_total, P_deadletters_total, P_delivery_failed_total,
 * P_batch_seconds, P_consumer_paused, and P_consumer_lag{topic,partition}
 * (the assigned partitions of every topic, refreshed once a second,
 * cleared on a revoke). Shared log events (with svc):
 * stage.consumption_paused, stage.resumed, stage.message_while_paused,
 * stage.batch_dropped, stage.batch_unfinished, stage.batch_undelivered,
 * stage.revoked_undelivered, stage.undelivered_at_stop,
 * stage.delivery_failed.
 */

#include <stdbool.h>
#include <stddef.h>

#include "analytics/flight.h"
#include "analytics/kafka.h"

struct metrics;
struct stage;

/* What a callback reports. */
enum stage_step {
    STAGE_FATAL = -1,   /* unrecoverable: the stage fails (readiness false, exit 1) */
    STAGE_DONE = 0,     /* process: the batch is finished (its messages are released) */
    STAGE_IDLE,         /* tick: nothing was due */
    STAGE_AGAIN,        /* process: progress; call again at once, the batch is not finished */
    STAGE_WAIT_BACKEND, /* the daemon's backend is away or refusing: wait, then again */
    STAGE_WAIT_BROKER,  /* the producer's queue is full or the broker did not acknowledge */
};

/* The batch in hand. The messages are the stage's (topic points to the
 * stage's own copy of the subscribed name, valid until stage_free);
 * borrowed until process returns STAGE_DONE or drop is called. */
struct stage_batch {
    struct kafka_message *msgs;
    size_t n;
    long long started_mono_ms; /* when its first message was consumed */
};

/* What a daemon supplies. arg is stage_opts.arg. Only process is required. */
struct stage_ops {
    /* Works on the batch in hand from where it stopped: returns STAGE_DONE
     * once it is finished, STAGE_AGAIN to be called again at once, a
     * STAGE_WAIT_* while it cannot go on (called again after a wait), or
     * STAGE_FATAL. */
    enum stage_step (*process)(void *arg, const struct stage_batch *b);
    /* Between batches (idle closing, retention, model reload, a backend
     * reconnect): STAGE_IDLE or STAGE_DONE to go on consuming, a
     * STAGE_WAIT_* to consume nothing while the backend is away, or
     * STAGE_FATAL. */
    enum stage_step (*tick)(void *arg);
    /* The backend part of readiness (any thread): true when it answers,
     * else false with what is missing in why. */
    bool (*ready)(void *arg, char *why, size_t whylen);
    /* The batch in hand is abandoned (revoked, or the stop deadline
     * passed): forget everything built from it (a flight partly produced
     * is sealed with what it covers). Its messages are released after. */
    void (*drop)(void *arg);
    /* Partitions were revoked: after drop, a flush and the offsets of what
     * was delivered stored. Forget per-partition state. */
    void (*revoked)(void *arg);
    /* A flight acknowledged in order, its offsets about to be stored. */
    void (*settled)(void *arg, const struct flight *f);
    /* Every delivery report, after the stage counted it (poller thread). */
    void (*delivered)(void *arg, const struct kafka_delivery *dr);
};

struct stage_opts {
    const char *metric_prefix; /* "analytics_enricher": the shared metrics' names */
    const char *backend;       /* "redis", "postgresql": the reason a pause gives */
    const char *brokers;
    const char *kafka_debug; /* librdkafka debug contexts; NULL for none */
    const char *group;
    const char *const *topics; /* NULL-terminated, at most STAGE_TOPICS_MAX */
    size_t batch_max;          /* messages per batch */
    int inflight_max;          /* flights unacknowledged before consumption waits; 0: no bound */
    int linger_ms;             /* producer batching delay */
    int producer_queue_max;    /* messages the producer may hold */
    int group_session_timeout_ms;
    int prefetch_mb;
    int fetch_wait_ms; /* a quiet partition's fetch waits this long at the broker */
    /* librdkafka consumer properties over the stage's own, NULL-terminated
     * name, value pairs (the push-gateway's auto.offset.reset latest), or
     * NULL. */
    const char *const *consumer_extra;
    struct metrics *metrics; /* borrowed; must not be rendered after stage_free */
    struct stage_ops ops;
    void *arg;
};

#define STAGE_TOPICS_MAX 8

/* Creates the clients and registers the shared metrics; the thread starts
 * with stage_start. Returns the stage (caller frees with stage_free), or
 * NULL with the reason in err. The options' strings are borrowed until
 * stage_free. */
struct stage *stage_new(const struct stage_opts *o, char *err, size_t errlen);

/* Starts the consumer thread. Returns 0, or -1 with the reason in err. */
int stage_start(struct stage *s, char *err, size_t errlen);

/* Borrowed for the stage's life: for the daemon's sends and queries. */
struct kafka_producer *stage_producer(struct stage *s);
struct kafka_consumer *stage_consumer(struct stage *s);
struct flight_queue *stage_flights(struct stage *s);

/* The stage's copy of topic i of stage_opts.topics (what flights and
 * messages point to). */
const char *stage_topic(const struct stage *s, size_t i);

/* True once stage_stop was asked for (consumer thread). */
bool stage_stopping(const struct stage *s);

/* Milliseconds left before the stop deadline (0 when past); a large
 * number while not stopping. */
long long stage_time_left_ms(const struct stage *s);

/* Queues one message on the stage's producer (no flight: for a daemon
 * that stores its offsets after a commit), waiting while the producer's
 * queue is full for at most wait_ms. Returns 0, or -1 when it cannot be
 * queued (logged as stage.produce_failed). */
int stage_send(struct stage *s, const char *topic, const char *key, const void *buf, size_t len,
               int wait_ms);

/* Waits at most timeout_ms for the broker to acknowledge everything queued,
 * and checks that no delivery failed since failures_before
 * (stage_delivery_failures when the sends began). Returns true when all
 * were acknowledged. */
bool stage_sends_acked(struct stage *s, long long failures_before, int timeout_ms);

/* Counts n dead letters the daemon sent. */
void stage_count_deadletters(struct stage *s, long long n);

/* Delivery reports that failed since the start (any thread). */
long long stage_delivery_failures(const struct stage *s);

/* Readiness: not failed, then the broker, then the daemon's ready. */
bool stage_ready(struct stage *s, char *why, size_t whylen);

/* True once the stage hit an error it cannot recover from. */
bool stage_failed(const struct stage *s);

/* Asks the thread to stop: it finishes the batch in hand unless
 * deadline_mono_ms passes, waits for deliveries until then, stores what
 * was acknowledged and commits. Returns when the thread ended. */
void stage_stop(struct stage *s, long long deadline_mono_ms);

/* Closes the consumer (commits; may call revoke), flushes and frees the
 * producer, frees the stage. Call stage_stop first. Accepts NULL. */
void stage_free(struct stage *s);

#endif
