#include "ingest.h"

#include "analytics/kafka.h"
#include "analytics/lifecycle.h"
#include "analytics/log.h"
#include "analytics/metrics.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define INGEST_REPLAY_BATCH 10000

struct ingest {
    struct kafka_producer *producer;
    struct spool *spool;
    char *topics[2]; /* indexed by enum spool_topic */

    /* spooling is true while events must go to the spool: the broker is
     * down or the spool still holds older events. Submitters read it under
     * route_lock's read side; the replayer clears it under the write side
     * once the spool is empty, so no event slips in behind its back. */
    pthread_rwlock_t route_lock;
    atomic_bool spooling;

    pthread_t replayer;
    bool replayer_running;
    /* One slot per record of the replay batch in flight: its delivery
     * report's opaque points at the slot, which says delivered or not. */
    unsigned char replay_ok[INGEST_REPLAY_BATCH];
    pthread_mutex_t stop_mu;
    pthread_cond_t stop_cv;
    bool stopping;
    struct ingest_wait replay_wait;

    struct metric *m_out;
    struct metric *m_spooled;
    struct metric *m_replayed;
    struct metric *m_lost;
    struct metric *m_maybe_dup;
    struct metric *m_produce_latency;
};

void ingest_wait_init(struct ingest_wait *w)
{
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    w->pending = 0;
    w->failed = 0;
    w->sealed = false;
    w->done = NULL;
    w->done_arg = NULL;
}

void ingest_wait_fini(struct ingest_wait *w)
{
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
}

static void ingest_wait_add(struct ingest_wait *w)
{
    pthread_mutex_lock(&w->mu);
    w->pending++;
    pthread_mutex_unlock(&w->mu);
}

static void ingest_wait_resolve(struct ingest_wait *w, bool ok)
{
    void (*done)(void *, int) = NULL;
    void *arg = NULL;
    int failed;

    pthread_mutex_lock(&w->mu);
    w->pending--;
    if (!ok) {
        w->failed++;
    }
    if (w->pending == 0) {
        pthread_cond_broadcast(&w->cv);
        if (w->sealed) {
            done = w->done;
            arg = w->done_arg;
            w->done = NULL;
        }
    }
    failed = w->failed;
    pthread_mutex_unlock(&w->mu);
    if (done != NULL) {
        done(arg, failed); /* may free w: nothing of it is touched after */
    }
}

bool ingest_wait_seal(struct ingest_wait *w, void (*done)(void *arg, int failed), void *arg)
{
    bool finished;

    pthread_mutex_lock(&w->mu);
    w->sealed = true;
    finished = w->pending == 0;
    if (!finished) {
        w->done = done;
        w->done_arg = arg;
    }
    pthread_mutex_unlock(&w->mu);
    return finished;
}

int ingest_wait_failed(struct ingest_wait *w)
{
    int failed;

    pthread_mutex_lock(&w->mu);
    failed = w->failed;
    pthread_mutex_unlock(&w->mu);
    return failed;
}

int ingest_wait_done(struct ingest_wait *w)
{
    int failed;

    pthread_mutex_lock(&w->mu);
    while (w->pending > 0) {
        pthread_cond_wait(&w->cv, &w->mu);
    }
    failed = w->failed;
    pthread_mutex_unlock(&w->mu);
    return failed;
}

/* Switches to spooling, logging the transition once. */
static void ingest_start_spooling(struct ingest *ing, const char *reason)
{
    if (!atomic_exchange(&ing->spooling, true)) {
        log_warn("ingest.spooling", LOG_STR("reason", reason));
    }
}

/* Appends to the spool and counts it. Returns 0, INGEST_FULL or -1. */
static int ingest_spool(struct ingest *ing, int topic, const void *key, size_t key_len,
                        const void *value, size_t len)
{
    int rc = spool_append(ing->spool, topic, key, key_len, value, len);

    if (rc == 0) {
        metric_add(ing->m_spooled, 1);
        return 0;
    }
    return rc == SPOOL_FULL ? INGEST_FULL : -1;
}

/* True when opaque is a replay slot rather than a request's wait. */
static bool ingest_is_replay(const struct ingest *ing, const void *opaque)
{
    const unsigned char *p = opaque;

    return p >= ing->replay_ok && p < ing->replay_ok + INGEST_REPLAY_BATCH;
}

/* Delivery reports, on the producer's poller thread. A failed event goes to
 * the spool (unless it came from the spool: then it is still there). */
static void ingest_on_delivery(const struct kafka_delivery *d, void *arg)
{
    struct ingest *ing = arg;
    struct ingest_wait *w = d->opaque;
    int topic;
    int rc;

    if (ingest_is_replay(ing, d->opaque)) {
        *(unsigned char *)d->opaque = d->err == 0;
        if (d->err == 0) {
            metric_add(ing->m_out, 1);
        }
        ingest_wait_resolve(&ing->replay_wait, d->err == 0);
        return;
    }
    if (d->err == 0) {
        metric_add(ing->m_out, 1);
        metric_observe(ing->m_produce_latency, (double)d->latency_us / 1e6);
        if (w != NULL) {
            ingest_wait_resolve(w, true);
        }
        return;
    }
    if (d->possibly_persisted) {
        metric_add(ing->m_maybe_dup, 1);
    }
    topic = strcmp(d->topic, ing->topics[SPOOL_TOPIC_DEADLETTER]) == 0 ? SPOOL_TOPIC_DEADLETTER
                                                                       : SPOOL_TOPIC_RAW;
    /* Under the read lock, like a submitter: the replayer cannot return to
     * direct produce between the flag and the append. */
    pthread_rwlock_rdlock(&ing->route_lock);
    ingest_start_spooling(ing, d->errstr);
    rc = ingest_spool(ing, topic, d->key, d->key_len, d->payload, d->len);
    pthread_rwlock_unlock(&ing->route_lock);
    if (rc != 0) {
        metric_add(ing->m_lost, 1);
        log_error("ingest.event_lost", LOG_STR("topic", d->topic), LOG_STR("error", d->errstr),
                  LOG_STR("spool", rc == INGEST_FULL ? "full" : "write failed"));
    }
    if (w != NULL) {
        ingest_wait_resolve(w, rc == 0);
    }
}

int ingest_submit(struct ingest *ing, int topic, const void *key, size_t key_len, const void *value,
                  size_t len, struct ingest_wait *w)
{
    char err[128];
    int rc;

    pthread_rwlock_rdlock(&ing->route_lock);
    if (atomic_load(&ing->spooling) || !kafka_producer_brokers_up(ing->producer)) {
        ingest_start_spooling(ing, "broker unreachable");
        rc = ingest_spool(ing, topic, key, key_len, value, len);
        goto out_unlock;
    }
    if (w != NULL) {
        ingest_wait_add(w);
    }
    rc = kafka_producer_send(ing->producer, ing->topics[topic], key, key_len, value, len, w, err,
                             sizeof(err));
    if (rc != 0) {
        if (w != NULL) {
            ingest_wait_resolve(w, true); /* not in flight after all */
        }
        ingest_start_spooling(ing, err);
        rc = ingest_spool(ing, topic, key, key_len, value, len);
    }
out_unlock:
    pthread_rwlock_unlock(&ing->route_lock);
    return rc;
}

bool ingest_failed(struct ingest *ing)
{
    return kafka_producer_fatal(ing->producer);
}

bool ingest_ready(struct ingest *ing, char *why, size_t whylen)
{
    if (kafka_producer_fatal(ing->producer)) {
        snprintf(why, whylen, "producer failed fatally; restart needed");
        return false;
    }
    if (!kafka_producer_brokers_up(ing->producer)) {
        snprintf(why, whylen, "broker unreachable; events are spooled to disk");
        return false;
    }
    return true;
}

/* Waits up to ms on the stop condition. Returns true when stopping. */
static bool ingest_pause(struct ingest *ing, int ms)
{
    struct timespec ts;
    bool stopping;

    lifecycle_deadline(CLOCK_REALTIME, ms, &ts);
    pthread_mutex_lock(&ing->stop_mu);
    if (!ing->stopping) {
        pthread_cond_timedwait(&ing->stop_cv, &ing->stop_mu, &ts);
    }
    stopping = ing->stopping;
    pthread_mutex_unlock(&ing->stop_mu);
    return stopping;
}

/* Returns to direct produce when the spool is empty, under the write lock so
 * no submitter is between its check and its append. */
static void ingest_try_direct(struct ingest *ing)
{
    pthread_rwlock_wrlock(&ing->route_lock);
    if (spool_pending_records(ing->spool) == 0 && kafka_producer_brokers_up(ing->producer)) {
        atomic_store(&ing->spooling, false);
        log_info("ingest.direct");
    }
    pthread_rwlock_unlock(&ing->route_lock);
}

/* Sends one batch of spooled records and waits for all reports. Returns how
 * many records from the start were all delivered: only those may be
 * committed, and a retry then resends no record that made it. */
static int ingest_replay_batch(struct ingest *ing, const struct spool_record *recs, int n)
{
    struct ingest_wait *w = &ing->replay_wait;
    int done = 0;

    w->failed = 0;
    memset(ing->replay_ok, 0, sizeof(ing->replay_ok));
    for (int i = 0; i < n; i++) {
        int topic =
            recs[i].topic == SPOOL_TOPIC_DEADLETTER ? SPOOL_TOPIC_DEADLETTER : SPOOL_TOPIC_RAW;
        ingest_wait_add(w);
        if (kafka_producer_send(ing->producer, ing->topics[topic], recs[i].key, recs[i].key_len,
                                recs[i].value, recs[i].value_len, &ing->replay_ok[i], NULL,
                                0) != 0) {
            ingest_wait_resolve(w, false);
            break;
        }
    }
    ingest_wait_done(w);
    while (done < n && ing->replay_ok[done]) {
        done++;
    }
    return done;
}

static void *ingest_replay_loop(void *arg)
{
    struct ingest *ing = arg;
    struct spool_record *recs = calloc(INGEST_REPLAY_BATCH, sizeof(*recs));

    if (recs == NULL) {
        log_error("spool.replayer_failed", LOG_STR("error", "out of memory"));
        return NULL;
    }
    while (!ingest_pause(ing, atomic_load(&ing->spooling) ? 0 : 20)) {
        int n, done;

        if (!atomic_load(&ing->spooling) && spool_pending_records(ing->spool) == 0) {
            continue;
        }
        if (!kafka_producer_brokers_up(ing->producer) &&
            kafka_producer_probe(ing->producer, 1000) != 0) {
            ingest_pause(ing, 500);
            continue;
        }
        n = spool_peek(ing->spool, recs, INGEST_REPLAY_BATCH);
        if (n < 0) {
            ingest_pause(ing, 1000);
            continue;
        }
        if (n == 0) {
            ingest_try_direct(ing);
            continue;
        }
        done = ingest_replay_batch(ing, recs, n);
        if (done > 0) {
            spool_commit(ing->spool, (size_t)done);
            metric_add(ing->m_replayed, done);
            log_debug("spool.replayed", LOG_INT("records", done));
        }
        if (done < n) {
            log_warn("spool.replay_failed", LOG_INT("records", n - done));
            ingest_pause(ing, 1000);
        }
    }
    free(recs);
    return NULL;
}

static void ingest_metrics(struct ingest *ing, struct metrics *m)
{
    ing->m_out = metrics_counter(m, "analytics_events_out_total", "Records the broker acknowledged",
                                 "topic=\"all\"");
    ing->m_spooled = metrics_counter(m, "analytics_collector_events_spooled_total",
                                     "Records written to the disk spool", NULL);
    ing->m_replayed = metrics_counter(m, "analytics_collector_events_replayed_total",
                                      "Spooled records delivered to the broker", NULL);
    ing->m_lost =
        metrics_counter(m, "analytics_collector_events_lost_total",
                        "Records neither delivered nor spooled (spool full or failing)", NULL);
    ing->m_maybe_dup = metrics_counter(
        m, "analytics_collector_events_possibly_duplicated_total",
        "Failed deliveries the broker may have written anyway; spooled and sent again", NULL);
    ing->m_produce_latency = metrics_histogram(m, "analytics_produce_latency_seconds",
                                               "Time from produce to broker acknowledgement", NULL,
                                               metrics_latency_bounds, metrics_latency_bounds_n);
}

struct ingest *ingest_new(const struct ingest_opts *o, char *err, size_t errlen)
{
    struct ingest *ing = calloc(1, sizeof(*ing));
    struct kafka_producer_opts po = {0};

    if (ing == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    ing->spool = o->spool;
    ing->topics[SPOOL_TOPIC_RAW] = strdup(o->topic_raw);
    ing->topics[SPOOL_TOPIC_DEADLETTER] = strdup(o->topic_deadletter);
    pthread_rwlockattr_t rwattr;
    pthread_rwlockattr_init(&rwattr);
    /* Writer-preferring: a steady stream of submitters must not starve the
     * replayer's return to direct produce. */
    pthread_rwlockattr_setkind_np(&rwattr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&ing->route_lock, &rwattr);
    pthread_rwlockattr_destroy(&rwattr);
    pthread_mutex_init(&ing->stop_mu, NULL);
    pthread_cond_init(&ing->stop_cv, NULL);
    ingest_wait_init(&ing->replay_wait);
    atomic_init(&ing->spooling, spool_pending_records(o->spool) > 0);
    ingest_metrics(ing, o->metrics);
    if (ing->topics[0] == NULL || ing->topics[1] == NULL) {
        snprintf(err, errlen, "out of memory");
        goto out_free;
    }
    po.brokers = o->brokers;
    po.debug = o->kafka_debug;
    po.linger_ms = o->linger_ms;
    po.message_timeout_ms = o->produce_timeout_ms;
    po.queue_max_messages = o->queue_max_events;
    po.on_delivery = ingest_on_delivery;
    po.arg = ing;
    ing->producer = kafka_producer_new(&po, err, errlen);
    if (ing->producer == NULL) {
        goto out_free;
    }
    if (pthread_create(&ing->replayer, NULL, ingest_replay_loop, ing) != 0) {
        snprintf(err, errlen, "cannot start the spool replayer thread");
        kafka_producer_free(ing->producer);
        goto out_free;
    }
    ing->replayer_running = true;
    if (atomic_load(&ing->spooling)) {
        log_info("spool.pending_at_start",
                 LOG_INT("records", (long long)spool_pending_records(o->spool)));
    }
    return ing;

out_free:
    ing->producer = NULL;
    ingest_free(ing);
    return NULL;
}

void ingest_begin_stop(struct ingest *ing)
{
    pthread_mutex_lock(&ing->stop_mu);
    ing->stopping = true;
    pthread_cond_broadcast(&ing->stop_cv);
    pthread_mutex_unlock(&ing->stop_mu);
}

static void ingest_join_replayer(struct ingest *ing)
{
    if (ing->replayer_running) {
        ingest_begin_stop(ing);
        pthread_join(ing->replayer, NULL);
        ing->replayer_running = false;
    }
}

void ingest_stop(struct ingest *ing, long long deadline_ms)
{
    long long left;
    int remaining;

    ingest_join_replayer(ing);
    left = deadline_ms - lifecycle_mono_ms() - 1000; /* keep a second for the purge */
    if (kafka_producer_flush(ing->producer, left > 0 ? (int)left : 0) == 0) {
        return;
    }
    log_warn("ingest.flush_incomplete",
             LOG_INT("undelivered", kafka_producer_outq_len(ing->producer)));
    /* Purged messages fail at once and their reports spool them: local
     * writes only, so wait for every report before the producer goes. */
    kafka_producer_purge(ing->producer, 1000);
    for (int i = 0; i < 10 && kafka_producer_outq_len(ing->producer) > 0; i++) {
        kafka_producer_flush(ing->producer, 100);
    }
    remaining = kafka_producer_outq_len(ing->producer);
    if (remaining > 0) {
        metric_add(ing->m_lost, remaining);
        log_error("ingest.event_lost", LOG_INT("events", remaining),
                  LOG_STR("error", "undelivered at shutdown and not spooled in time"));
    }
}

void ingest_free(struct ingest *ing)
{
    if (ing == NULL) {
        return;
    }
    ingest_join_replayer(ing); /* when ingest_stop was never reached */
    kafka_producer_free(ing->producer);
    ingest_wait_fini(&ing->replay_wait);
    pthread_cond_destroy(&ing->stop_cv);
    pthread_mutex_destroy(&ing->stop_mu);
    pthread_rwlock_destroy(&ing->route_lock);
    free(ing->topics[0]);
    free(ing->topics[1]);
    free(ing);
}
