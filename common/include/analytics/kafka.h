#ifndef ANALYTICS_KAFKA_H
#define ANALYTICS_KAFKA_H

/*
 * Kafka through librdkafka: an idempotent producer (acks=all) whose delivery
 * reports are served by its own poller thread, and an at-least-once consumer
 * whose offsets are stored only when the caller says its work is delivered.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* librdkafka's debug output, asked for with the debug option of a producer
 * or consumer (ANALYTICS_KAFKA_DEBUG), is logged at info as kafka.debug
 * lines (facility and message), whatever the log level: it exists only when
 * asked for. */

/* Checks a list of librdkafka debug contexts ("cgrp,fetch,topic"); NULL or
 * "" is valid (off). Returns 0, or -1 with the reason in err. */
int kafka_debug_check(const char *contexts, char *err, size_t errlen);

/* ---- producer ---- */

struct kafka_producer;

/* One delivery report. err is 0 on success. The payload and key are borrowed
 * for the duration of the callback. possibly_persisted is true when a failed
 * message may still have reached the broker. latency_us: produce to report. */
struct kafka_delivery {
    int err;
    const char *errstr;
    const char *topic;
    const void *key;
    size_t key_len;
    const void *payload;
    size_t len;
    void *opaque; /* as passed to kafka_producer_send */
    bool possibly_persisted;
    long long latency_us;
};

struct kafka_producer_opts {
    const char *brokers;
    int linger_ms;          /* batching delay */
    int message_timeout_ms; /* give up and report failure after this */
    int queue_max_messages; /* local queue bound */
    /* Called on the poller thread for every message. May be NULL. */
    void (*on_delivery)(const struct kafka_delivery *d, void *arg);
    void *arg;
    const char *const *extra; /* NULL-terminated name, value pairs of librdkafka settings */
    const char *debug;        /* librdkafka debug contexts ("cgrp,fetch"); NULL or "" for none */
};

/* Creates the producer and starts its poller thread. Returns a new producer
 * (caller frees with kafka_producer_free), or NULL with the reason in err. */
struct kafka_producer *kafka_producer_new(const struct kafka_producer_opts *o, char *err,
                                          size_t errlen);

/* What kafka_producer_send returns. */
enum kafka_send_rc {
    KAFKA_SEND_OK = 0,
    KAFKA_SEND_ERROR = -1, /* any other error (reason in err) */
    KAFKA_QUEUE_FULL = -2, /* the local queue is full: poll, then retry */
};

/* Queues one message (payload and key are copied). opaque comes back in the
 * delivery report. Returns an enum kafka_send_rc: KAFKA_SEND_OK,
 * KAFKA_QUEUE_FULL when the local queue is full, or KAFKA_SEND_ERROR for any
 * other error (reason in err when not NULL). */
int kafka_producer_send(struct kafka_producer *p, const char *topic, const void *key,
                        size_t key_len, const void *payload, size_t len, void *opaque, char *err,
                        size_t errlen);

/* True unless librdkafka reported that every broker is down and no delivery
 * has succeeded since. */
bool kafka_producer_brokers_up(const struct kafka_producer *p);

/* True after a fatal error (e.g. the idempotent producer lost its state):
 * the producer cannot be used any more; restart the process. */
bool kafka_producer_fatal(const struct kafka_producer *p);

/* Asks a broker for metadata, as a reachability probe. Returns 0 when one
 * answered within timeout_ms, else -1. Marks the brokers up on success. */
int kafka_producer_probe(struct kafka_producer *p, int timeout_ms);

/* Messages queued or in flight. */
int kafka_producer_outq_len(const struct kafka_producer *p);

/* Waits up to timeout_ms for every queued message to be reported. Returns 0
 * when all were, -1 when some remain. */
int kafka_producer_flush(struct kafka_producer *p, int timeout_ms);

/* Fails every message still queued or in flight (each gets a failed delivery
 * report) and waits up to timeout_ms for those reports. */
void kafka_producer_purge(struct kafka_producer *p, int timeout_ms);

/* Stops the poller thread and destroys the producer without flushing (flush
 * or purge first). Accepts NULL. */
void kafka_producer_free(struct kafka_producer *p);

/* Writes prefix + name into buf ("analytics." + "events.raw"). Returns buf. */
const char *kafka_topic_name(const char *prefix, const char *name, char *buf, size_t buflen);

/* ---- consumer ---- */

struct kafka_consumer;

/* A consumed message; fields are borrowed until kafka_message_release. */
struct kafka_message {
    const char *topic;
    int32_t partition;
    int64_t offset;
    const void *key;
    size_t key_len;
    const void *payload;
    size_t len;
    void *priv;
};

struct kafka_consumer_opts {
    const char *brokers;
    const char *group;
    const char *const *topics; /* NULL-terminated */
    const char *const *extra;  /* NULL-terminated name, value pairs */
    const char *debug;         /* librdkafka debug contexts ("cgrp,fetch"); NULL or "" for none */
    /* Group session timeout in ms (heartbeats at a third of it): how soon a
     * dead member's partitions move. 0: librdkafka's default. */
    int session_timeout_ms;
    /* Messages fetched ahead, in MB (fetch responses and the local queue
     * both bounded by it, 1 MB per partition): librdkafka's defaults (64 MB
     * queued, 50 MB responses) dominate a daemon's memory. But librdkafka
     * 2.0 waits a fixed second before fetching again once the bound is
     * reached, so it also caps throughput at about that many MB a second.
     * 0: librdkafka's defaults. */
    int prefetch_mb;
    /* How long a fetch with no message waits at the broker (fetch.wait.max.ms):
     * what an event waits at most for a quiet consumer to take it. 0:
     * librdkafka's default (500). */
    int fetch_wait_ms;
    /* Called from inside kafka_consumer_poll (on the polling thread) when
     * partitions are being revoked, before the stored offsets are committed:
     * the place to wait for work in flight and store its offsets. Stores for
     * the revoked partitions fail once it returns. May be NULL. */
    void (*on_revoke)(void *arg);
    void *revoke_arg;
};

/* Joins the group and subscribes. Offsets are committed automatically, but
 * only those stored with kafka_consumer_store: at-least-once. Returns a new
 * consumer (caller frees with kafka_consumer_close), or NULL with the reason
 * in err. */
struct kafka_consumer *kafka_consumer_new(const struct kafka_consumer_opts *o, char *err,
                                          size_t errlen);

/* Waits up to timeout_ms for a message. Returns 1 with *msg filled (release
 * it with kafka_message_release), 0 on timeout or an informational event,
 * -1 on a fatal consumer error (logged). */
int kafka_consumer_poll(struct kafka_consumer *c, int timeout_ms, struct kafka_message *msg);

/* Marks msg's offset as done: the committed position moves past it. Call only
 * once its outputs are delivered. Returns 0 or -1. */
int kafka_consumer_store(struct kafka_consumer *c, const struct kafka_message *msg);

/* Stores next_offset (the offset of the next message to consume: the last
 * handled one + 1) for topic/partition, to be committed. Fails (-1, logged)
 * when the partition is not assigned to this consumer any more. */
int kafka_consumer_store_offset(struct kafka_consumer *c, const char *topic, int32_t partition,
                                int64_t next_offset);

/* Pauses fetching for the whole assignment, present and future, so that
 * kafka_consumer_poll can go on serving rebalances without returning
 * messages. Messages fetched but not yet returned are dropped and fetched
 * again after kafka_consumer_resume, from after the last message returned.
 * Returns 0 or -1. Both are no-ops in the state asked for. */
int kafka_consumer_pause(struct kafka_consumer *c);
int kafka_consumer_resume(struct kafka_consumer *c);
bool kafka_consumer_paused(const struct kafka_consumer *c);

/* Writes the partitions assigned to c now (of its one subscribed topic) into
 * parts, at most max. Returns how many, or -1. */
int kafka_consumer_assignment(struct kafka_consumer *c, int32_t *parts, size_t max);

/* As kafka_consumer_assignment, for a consumer of several topics: the
 * partitions of topic assigned to c now, at most max. Returns how many,
 * or -1. */
int kafka_consumer_assignment_of(struct kafka_consumer *c, const char *topic, int32_t *parts,
                                 size_t max);

/* Commits stored offsets now (synchronously). Returns 0 or -1. */
int kafka_consumer_commit(struct kafka_consumer *c);

/* Writes the id of the cluster c is connected to into buf (len bytes,
 * truncated), waiting up to timeout_ms for the brokers' metadata. Returns
 * 0, or -1 when it is not known (no broker answered, or one too old to
 * tell); buf is then "". */
int kafka_consumer_cluster_id(struct kafka_consumer *c, int timeout_ms, char *buf, size_t len);

/* The partition's low and high watermarks (the first offset held and the
 * offset the next message will get): as the last fetch response from it
 * said when c has fetched from it (the low one may then be -1: not
 * known), else asked of its leader, waiting up to timeout_ms. Returns 0,
 * or -1 (logged as a warning) when the leader did not answer. */
int kafka_consumer_watermarks(struct kafka_consumer *c, const char *topic, int32_t partition,
                              int timeout_ms, int64_t *low, int64_t *high);

/* The offset of the next message c hands out of the partition (its
 * position) into *pos. Returns 0, or -1 when not known (nothing consumed
 * from it since it was assigned). */
int kafka_consumer_position(struct kafka_consumer *c, const char *topic, int32_t partition,
                            int64_t *pos);

/* The partition's high watermark as the last fetch response from it said,
 * without asking the broker. Returns 0, or -1 when c has not fetched from
 * it yet (nothing known). */
int kafka_consumer_fetched_high(struct kafka_consumer *c, const char *topic, int32_t partition,
                                int64_t *high);

void kafka_message_release(struct kafka_message *msg);

/* Commits stored offsets, leaves the group and frees c. Accepts NULL. */
void kafka_consumer_close(struct kafka_consumer *c);

#endif
