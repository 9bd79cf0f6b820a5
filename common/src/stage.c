#include "analytics/stage.h"

#include "analytics/errbuf.h"
#include "analytics/lifecycle.h"
#include "analytics/log.h"
#include "analytics/metrics.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STAGE_POLL_MS 100          /* first poll of a batch; stop flag checked between */
#define STAGE_WAIT_MS 50           /* one wait while blocked */
#define STAGE_PAUSE_AFTER_MS 200   /* blocked this long: pause consumption */
#define STAGE_REVOKE_FLUSH_MS 5000 /* deliveries awaited when partitions go */
#define STAGE_LAG_EVERY_MS 1000    /* consumer lag refreshed this often */
#define STAGE_SEND_POLL_MS 50      /* one wait for room in the producer's queue */
#define STAGE_PARTS_MAX 4096
#define STAGE_NAME_MAX 128
#define STAGE_TOPIC_MAX 256

struct stage {
    struct stage_opts o;
    char topic_buf[STAGE_TOPICS_MAX][STAGE_TOPIC_MAX];
    const char *topics[STAGE_TOPICS_MAX + 1];
    size_t ntopics;
    struct kafka_producer *producer;
    struct kafka_consumer *consumer;
    struct flight_queue fq;
    bool fq_ready;
    struct stage_batch batch;
    bool store_blocked; /* a flight failed: no offset may be stored any more */
    bool stopping;
    long long blocked_since_ms;
    enum stage_step blocked_on;
    pthread_t thread;
    bool thread_started;
    atomic_bool stop, failed;
    atomic_llong deadline_ms;
    atomic_llong delivery_failures;
    char name[STAGE_NAME_MAX]; /* scratch: a series' name (the registry copies it) */
    struct metric *consumed, *dead, *delivery_failed, *batch_seconds, *paused;
    struct metric *lag;  /* a family: one series per assigned partition */
    long long lag_at_ms; /* when the lag was last refreshed */
};

/* The daemon's prefix and suffix, in s's scratch. */
static const char *stage_name(struct stage *s, const char *suffix)
{
    snprintf(s->name, sizeof(s->name), "%s%s", s->o.metric_prefix, suffix);
    return s->name;
}

static void stage_register_metrics(struct stage *s)
{
    struct metrics *r = s->o.metrics;

    s->consumed =
        metrics_counter(r, stage_name(s, "_events_consumed_total"), "Messages consumed", NULL);
    s->dead = metrics_counter(r, stage_name(s, "_deadletters_total"),
                              "Messages sent to the dead-letter topic", NULL);
    s->delivery_failed = metrics_counter(r, stage_name(s, "_delivery_failed_total"),
                                         "Messages the broker did not take", NULL);
    s->batch_seconds =
        metrics_histogram(r, stage_name(s, "_batch_seconds"),
                          "Time from a batch's first message consumed to its outputs acknowledged",
                          NULL, metrics_latency_bounds, metrics_latency_bounds_n);
    s->paused = metrics_gauge(r, stage_name(s, "_consumer_paused"),
                              "1 while consumption is paused (a backend or the broker away)", NULL);
    s->lag = metrics_gauge_family(
        r, stage_name(s, "_consumer_lag"),
        "Messages of an assigned partition not yet consumed: high watermark minus position");
}

/* The lag series of the assigned partitions of the first topic: the high
 * watermark the last fetch saw minus the consumer's position, where both
 * are known. At most once every STAGE_LAG_EVERY_MS. */
static void stage_watch_lag(struct stage *s)
{
    int32_t parts[STAGE_PARTS_MAX];
    long long now = lifecycle_mono_ms();
    char labels[STAGE_TOPIC_MAX + 64];

    if (now - s->lag_at_ms < STAGE_LAG_EVERY_MS) {
        return;
    }
    s->lag_at_ms = now;
    for (size_t t = 0; t < s->ntopics; t++) {
        const char *topic = s->topics[t];
        int n = kafka_consumer_assignment_of(s->consumer, topic, parts, STAGE_PARTS_MAX);
        for (int i = 0; i < n; i++) {
            int64_t high = -1, pos = -1;
            if (kafka_consumer_fetched_high(s->consumer, topic, parts[i], &high) != 0 ||
                kafka_consumer_position(s->consumer, topic, parts[i], &pos) != 0) {
                continue;
            }
            snprintf(labels, sizeof(labels), "topic=\"%s\",partition=\"%d\"", topic, (int)parts[i]);
            metric_family_set(s->lag, labels, high > pos ? (double)(high - pos) : 0.0);
        }
    }
}

static const char *stage_reason(const struct stage *s, enum stage_step why)
{
    return why == STAGE_WAIT_BACKEND ? s->o.backend : "broker";
}

/* ---- delivery and offsets ---- */

/* Delivery report, on the producer's poller thread. */
static void stage_on_delivery(const struct kafka_delivery *dr, void *arg)
{
    struct stage *s = arg;

    if (dr->err != 0) {
        atomic_fetch_add(&s->delivery_failures, 1);
        metric_add(s->delivery_failed, 1);
        log_error("stage.delivery_failed", LOG_STR("topic", dr->topic),
                  LOG_STR("error", dr->errstr),
                  LOG_BOOL("possibly_persisted", dr->possibly_persisted));
    }
    if (s->o.ops.delivered != NULL) {
        s->o.ops.delivered(s->o.arg, dr);
    }
    if (dr->opaque != NULL) {
        flight_delivered(&s->fq, dr->opaque, dr->err == 0);
    }
}

static void stage_store(struct stage *s, const struct flight *f)
{
    for (size_t i = 0; i < f->nparts; i++) {
        kafka_consumer_store_offset(s->consumer, f->parts[i].topic, f->parts[i].partition,
                                    f->parts[i].next_offset);
    }
}

/* Stores the offsets of every acknowledged flight, oldest first. A failed
 * one stops all later stores (their offsets would skip it); outside
 * shutdown it makes the stage fail so a restart replays it. */
static void stage_settle(struct stage *s)
{
    struct flight *f;

    while ((f = flight_queue_pop_done(&s->fq)) != NULL) {
        if (atomic_load(&f->failed)) {
            s->store_blocked = true;
            if (!s->stopping) {
                log_error("stage.batch_undelivered", LOG_INT("messages", f->messages));
                atomic_store(&s->failed, true);
            }
        } else if (!s->store_blocked) {
            if (s->o.ops.settled != NULL) {
                s->o.ops.settled(s->o.arg, f);
            }
            if (f->generation == s->fq.generation) {
                stage_store(s, f);
            }
        }
        metric_observe(s->batch_seconds,
                       (double)(lifecycle_mono_ms() - f->started_mono_ms) / 1000.0);
        flight_free(f);
    }
}

/* ---- the batch in hand ---- */

static void stage_release(struct stage *s)
{
    for (size_t i = 0; i < s->batch.n; i++) {
        kafka_message_release(&s->batch.msgs[i]);
    }
    s->batch.n = 0;
}

/* Abandons the batch in hand: the daemon forgets it, its messages go (their
 * offsets are not stored, so they are consumed again). */
static void stage_drop(struct stage *s, const char *reason)
{
    if (s->o.ops.drop != NULL) {
        s->o.ops.drop(s->o.arg);
    }
    if (s->batch.n > 0) {
        log_info("stage.batch_dropped", LOG_STR("reason", reason), LOG_INT("events", s->batch.n));
    }
    stage_release(s);
}

long long stage_time_left_ms(const struct stage *s)
{
    if (!s->stopping) {
        return 1LL << 40;
    }
    long long left = atomic_load(&s->deadline_ms) - lifecycle_mono_ms();
    return left > 0 ? left : 0;
}

/* Partitions are being revoked (inside kafka_consumer_poll): deliver what is
 * in flight and store its offsets while they are still ours, then forget
 * the rest (the next owner consumes it again). */
static void stage_on_revoke(void *arg)
{
    struct stage *s = arg;
    long long left = stage_time_left_ms(s);

    stage_drop(s, "revoked");
    kafka_producer_flush(s->producer,
                         (int)(left < STAGE_REVOKE_FLUSH_MS ? left : STAGE_REVOKE_FLUSH_MS));
    stage_settle(s);
    if (s->fq.count > 0) {
        log_warn("stage.revoked_undelivered", LOG_INT("batches", s->fq.count));
    }
    s->fq.generation++;
    metric_family_clear(s->lag); /* the partitions may be another's now */
    s->lag_at_ms = 0;
    if (s->o.ops.revoked != NULL) {
        s->o.ops.revoked(s->o.arg);
    }
}

/* Points m's topic at the stage's copy of its name, which outlives it. */
static void stage_own_topic(struct stage *s, struct kafka_message *m)
{
    for (size_t i = 0; i < s->ntopics; i++) {
        if (m->topic == NULL || strcmp(m->topic, s->topics[i]) == 0) {
            m->topic = s->topics[i];
            return;
        }
    }
}

/* Consumes up to a batch: waits for the first message, then takes what is
 * already fetched. STAGE_DONE with a batch, STAGE_IDLE when nothing came,
 * STAGE_WAIT_BROKER while too much is unacknowledged, or STAGE_FATAL. */
static enum stage_step stage_fill(struct stage *s)
{
    struct kafka_message m;
    int timeout = STAGE_POLL_MS, r = 0;

    if (s->o.inflight_max > 0 && s->fq.count >= (size_t)s->o.inflight_max) {
        return STAGE_WAIT_BROKER;
    }
    if (kafka_consumer_paused(s->consumer)) {
        kafka_consumer_resume(s->consumer);
        metric_set(s->paused, 0);
    }
    while (s->batch.n < s->o.batch_max &&
           (r = kafka_consumer_poll(s->consumer, timeout, &m)) == 1) {
        if (s->batch.n == 0) {
            s->batch.started_mono_ms = lifecycle_mono_ms();
        }
        stage_own_topic(s, &m);
        s->batch.msgs[s->batch.n++] = m;
        timeout = 0;
    }
    if (s->batch.n == 0) {
        return r < 0 ? STAGE_FATAL : STAGE_IDLE;
    }
    metric_add(s->consumed, (double)s->batch.n);
    return STAGE_DONE;
}

/* Waits a little while the batch cannot go on. Consumption is paused after
 * STAGE_PAUSE_AFTER_MS so the group keeps being served by polls (a paused
 * consumer returns no messages, only rebalances). */
static enum stage_step stage_wait(struct stage *s, enum stage_step why)
{
    long long now = lifecycle_mono_ms();
    struct kafka_message m;

    if (s->blocked_since_ms == 0) {
        s->blocked_since_ms = now;
        s->blocked_on = why;
    }
    if (!s->stopping && now - s->blocked_since_ms >= STAGE_PAUSE_AFTER_MS &&
        !kafka_consumer_paused(s->consumer)) {
        log_warn("stage.consumption_paused", LOG_STR("reason", stage_reason(s, why)));
        kafka_consumer_pause(s->consumer);
        metric_set(s->paused, 1);
    }
    if (!kafka_consumer_paused(s->consumer) || s->stopping) {
        flight_queue_wait(&s->fq, STAGE_WAIT_MS);
        return STAGE_DONE;
    }
    int r = kafka_consumer_poll(s->consumer, STAGE_WAIT_MS, &m);
    if (r == 1) {
        /* librdkafka drops fetched messages on pause; one here would be lost
         * if released, so stop: a restart consumes it again. */
        log_error("stage.message_while_paused", LOG_INT("partition", m.partition),
                  LOG_INT("offset", m.offset));
        kafka_message_release(&m);
        return STAGE_FATAL;
    }
    return r < 0 ? STAGE_FATAL : STAGE_DONE;
}

static void stage_unblocked(struct stage *s)
{
    if (s->blocked_since_ms != 0) {
        log_info("stage.resumed", LOG_STR("after", stage_reason(s, s->blocked_on)),
                 LOG_INT("waited_ms", lifecycle_mono_ms() - s->blocked_since_ms));
        s->blocked_since_ms = 0;
    }
}

/* Hands the batch in hand to the daemon once. */
static enum stage_step stage_process(struct stage *s)
{
    enum stage_step st = s->o.ops.process(s->o.arg, &s->batch);

    if (st == STAGE_DONE) {
        stage_release(s);
        stage_settle(s);
    }
    return st;
}

/* One turn of the loop. Returns STAGE_FATAL to end it. */
static enum stage_step stage_turn(struct stage *s)
{
    enum stage_step st = STAGE_DONE;

    stage_settle(s);
    stage_watch_lag(s);
    if (atomic_load(&s->failed)) {
        return STAGE_FATAL;
    }
    if (s->batch.n == 0) {
        st = s->o.ops.tick != NULL ? s->o.ops.tick(s->o.arg) : STAGE_IDLE;
        if (st == STAGE_IDLE || st == STAGE_DONE) {
            st = stage_fill(s);
        }
    }
    if (st == STAGE_DONE && s->batch.n > 0) {
        st = stage_process(s);
    }
    if (st == STAGE_WAIT_BACKEND || st == STAGE_WAIT_BROKER) {
        return stage_wait(s, st);
    }
    if (st != STAGE_FATAL) {
        stage_unblocked(s);
    }
    return st;
}

/* SIGTERM: finish the batch in hand, wait for deliveries, store, commit. */
static void stage_finish(struct stage *s)
{
    s->stopping = true;
    while (s->batch.n > 0 && stage_time_left_ms(s) > 0) {
        enum stage_step st = stage_process(s);
        if (st == STAGE_FATAL) {
            break;
        }
        if (st == STAGE_WAIT_BACKEND || st == STAGE_WAIT_BROKER) {
            flight_queue_wait(&s->fq, STAGE_WAIT_MS);
        }
    }
    if (s->batch.n > 0) {
        log_warn("stage.batch_unfinished", LOG_STR("reason", "deadline"),
                 LOG_INT("events", s->batch.n));
    }
    stage_drop(s, "stopping");
    if (kafka_producer_flush(s->producer, (int)stage_time_left_ms(s)) != 0) {
        log_warn("stage.undelivered_at_stop",
                 LOG_INT("messages", kafka_producer_outq_len(s->producer)));
        kafka_producer_purge(s->producer, 1000);
    }
    stage_settle(s);
    kafka_consumer_commit(s->consumer);
}

static void *stage_main(void *arg)
{
    struct stage *s = arg;

    while (!atomic_load(&s->stop)) {
        if (stage_turn(s) == STAGE_FATAL) {
            atomic_store(&s->failed, true);
            break;
        }
    }
    stage_finish(s);
    return NULL;
}

/* ---- life cycle ---- */

static int stage_topics(struct stage *s, const char *const *topics, char *err, size_t errlen)
{
    for (s->ntopics = 0; topics != NULL && topics[s->ntopics] != NULL; s->ntopics++) {
        size_t i = s->ntopics;
        if (i == STAGE_TOPICS_MAX || strlen(topics[i]) >= STAGE_TOPIC_MAX) {
            errbuf_printf(err, errlen, "too many topics or too long a name");
            return -1;
        }
        snprintf(s->topic_buf[i], sizeof(s->topic_buf[i]), "%s", topics[i]);
        s->topics[i] = s->topic_buf[i];
    }
    s->topics[s->ntopics] = NULL;
    if (s->ntopics == 0) {
        errbuf_printf(err, errlen, "no topic to consume");
        return -1;
    }
    return 0;
}

static int stage_clients(struct stage *s, char *err, size_t errlen)
{
    const struct stage_opts *o = &s->o;
    struct kafka_producer_opts po = {
        .brokers = o->brokers,
        .linger_ms = o->linger_ms,
        .message_timeout_ms = 0, /* retry until delivered: offsets wait for it */
        .queue_max_messages = o->producer_queue_max,
        .on_delivery = stage_on_delivery,
        .arg = s,
        .debug = o->kafka_debug,
    };

    s->producer = kafka_producer_new(&po, err, errlen);
    if (s->producer == NULL) {
        return -1;
    }
    struct kafka_consumer_opts co = {.brokers = o->brokers,
                                     .group = o->group,
                                     .topics = s->topics,
                                     .session_timeout_ms = o->group_session_timeout_ms,
                                     .prefetch_mb = o->prefetch_mb,
                                     .fetch_wait_ms = o->fetch_wait_ms,
                                     .debug = o->kafka_debug,
                                     .extra = o->consumer_extra,
                                     .on_revoke = stage_on_revoke,
                                     .revoke_arg = s};
    s->consumer = kafka_consumer_new(&co, err, errlen);
    return s->consumer != NULL ? 0 : -1;
}

struct stage *stage_new(const struct stage_opts *o, char *err, size_t errlen)
{
    struct stage *s = calloc(1, sizeof(*s));

    if (s == NULL || flight_queue_init(&s->fq) != 0) {
        free(s);
        errbuf_printf(err, errlen, "out of memory");
        return NULL;
    }
    s->fq_ready = true;
    s->o = *o;
    s->batch.msgs = calloc(o->batch_max > 0 ? o->batch_max : 1, sizeof(*s->batch.msgs));
    if (s->batch.msgs == NULL) {
        errbuf_printf(err, errlen, "out of memory");
        goto out_free;
    }
    if (stage_topics(s, o->topics, err, errlen) != 0) {
        goto out_free;
    }
    stage_register_metrics(s);
    if (stage_clients(s, err, errlen) != 0) {
        goto out_free;
    }
    return s;

out_free:
    stage_free(s);
    return NULL;
}

int stage_start(struct stage *s, char *err, size_t errlen)
{
    if (pthread_create(&s->thread, NULL, stage_main, s) != 0) {
        errbuf_printf(err, errlen, "cannot start the consumer thread");
        return -1;
    }
    s->thread_started = true;
    return 0;
}

struct kafka_producer *stage_producer(struct stage *s)
{
    return s->producer;
}

struct kafka_consumer *stage_consumer(struct stage *s)
{
    return s->consumer;
}

struct flight_queue *stage_flights(struct stage *s)
{
    return &s->fq;
}

const char *stage_topic(const struct stage *s, size_t i)
{
    return i < s->ntopics ? s->topics[i] : NULL;
}

bool stage_stopping(const struct stage *s)
{
    return s->stopping;
}

int stage_send(struct stage *s, const char *topic, const char *key, const void *buf, size_t len,
               int wait_ms)
{
    char err[256];
    long long give_up = lifecycle_mono_ms() + wait_ms;

    for (;;) {
        int rc = kafka_producer_send(s->producer, topic, key, key != NULL ? strlen(key) : 0, buf,
                                     len, NULL, err, sizeof(err));
        if (rc == 0) {
            return 0;
        }
        if (rc != KAFKA_QUEUE_FULL || lifecycle_mono_ms() > give_up) {
            log_warn("stage.produce_failed", LOG_STR("topic", topic), LOG_STR("error", err));
            return -1;
        }
        kafka_producer_flush(s->producer, STAGE_SEND_POLL_MS);
    }
}

bool stage_sends_acked(struct stage *s, long long failures_before, int timeout_ms)
{
    if (kafka_producer_flush(s->producer, timeout_ms) != 0 ||
        stage_delivery_failures(s) != failures_before) {
        log_warn("stage.sends_unacknowledged",
                 LOG_INT("queued", kafka_producer_outq_len(s->producer)));
        return false;
    }
    return true;
}

void stage_count_deadletters(struct stage *s, long long n)
{
    metric_add(s->dead, (double)n);
}

long long stage_delivery_failures(const struct stage *s)
{
    return atomic_load(&s->delivery_failures);
}

bool stage_ready(struct stage *s, char *why, size_t whylen)
{
    if (atomic_load(&s->failed)) {
        errbuf_printf(why, whylen, "failed; restart");
        return false;
    }
    if (!kafka_producer_brokers_up(s->producer)) {
        errbuf_printf(why, whylen, "Kafka brokers unreachable");
        return false;
    }
    return s->o.ops.ready == NULL || s->o.ops.ready(s->o.arg, why, whylen);
}

bool stage_failed(const struct stage *s)
{
    return atomic_load(&s->failed);
}

void stage_stop(struct stage *s, long long deadline_mono_ms)
{
    atomic_store(&s->deadline_ms, deadline_mono_ms);
    atomic_store(&s->stop, true);
    if (s->thread_started) {
        pthread_join(s->thread, NULL);
        s->thread_started = false;
    }
}

void stage_free(struct stage *s)
{
    if (s == NULL) {
        return;
    }
    if (s->thread_started) {
        stage_stop(s, lifecycle_mono_ms() + 5000);
    }
    s->stopping = true;
    kafka_consumer_close(s->consumer); /* commits; may call stage_on_revoke */
    s->consumer = NULL;
    if (s->producer != NULL) {
        kafka_producer_flush(s->producer, 2000);
        kafka_producer_purge(s->producer, 1000);
    }
    kafka_producer_free(s->producer);
    s->producer = NULL;
    stage_release(s);
    if (s->fq_ready) {
        flight_queue_fini(&s->fq);
    }
    free(s->batch.msgs);
    free(s);
}
