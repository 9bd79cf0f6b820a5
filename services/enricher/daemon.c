#include "daemon.h"

#include "analytics/errbuf.h"
#include "analytics/kafka.h"
#include "analytics/lifecycle.h"
#include "analytics/log.h"
#include "analytics/metrics.h"
#include "analytics/redis.h"
#include "batch.h"
#include "flight.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAEMON_POLL_MS 100          /* first poll of a batch; stop flag checked between */
#define DAEMON_WAIT_MS 50           /* one wait while blocked */
#define DAEMON_PAUSE_AFTER_MS 200   /* blocked this long: pause consumption */
#define DAEMON_REVOKE_FLUSH_MS 5000 /* deliveries awaited when partitions go */
#define DAEMON_REDIS_CHECK_MS 1000  /* readiness refresh while idle */
#define DAEMON_DEADLETTER_MAX 65536 /* bytes of a bad message kept in its dead letter */

/* Where the batch in hand is. */
enum daemon_stage {
    ST_FILL,          /* consuming */
    ST_DEDUP,         /* SET NX of the event ids */
    ST_DEDUP_CHECK,   /* GET of the ids that existed */
    ST_SESSION_READ,  /* GET of the visitors' session states */
    ST_ENRICH,        /* pure */
    ST_SESSION_WRITE, /* SET PX of the new states */
    ST_PRODUCE,       /* handing the outputs to the producer */
};

/* Result of one step. */
enum daemon_step {
    STEP_FATAL = -1,
    STEP_DONE = 0,
    STEP_IDLE,          /* nothing consumed */
    STEP_WAIT_REDIS,    /* Redis down or refusing */
    STEP_WAIT_DELIVERY, /* producer queue or in-flight bound full */
};

struct daemon_metrics {
    struct metric *consumed, *enriched, *duplicates, *dead, *bots, *sessions, *late;
    struct metric *delivered, *delivery_failed, *redis_errors, *batch_seconds;
    struct metric *inflight, *paused, *redis_up, *watermark_failed;
};

struct enricher_daemon {
    struct enricher_daemon_opts o;
    struct enrich_ctx ctx;
    struct kafka_producer *producer;
    struct kafka_consumer *consumer;
    struct redis_client *redis;
    struct bot_rate *rate;
    struct lru *scache; /* visitors' session states while their partitions are ours */
    struct batch batch;
    struct kafka_message *msgs; /* the batch's messages, released when it is produced */
    size_t nmsgs;
    enum daemon_stage stage;
    size_t produce_pos;
    struct flight *flight; /* of the batch being produced */
    long long batch_started_ms;
    struct flight_queue fq;
    bool store_blocked; /* a flight failed: no offset may be stored any more */
    bool stopping;
    long long blocked_since_ms;
    enum daemon_step blocked_on;
    long long redis_checked_ms;
    pthread_t thread;
    bool thread_started;
    atomic_bool stop;
    atomic_bool failed;
    atomic_bool redis_up;
    atomic_llong deadline_ms;
    struct daemon_metrics m;
};

static double daemon_session_hit_ratio(void *arg)
{
    uint64_t hits = 0, misses = 0;

    lru_stats(arg, &hits, &misses, NULL);
    return hits + misses > 0 ? (double)hits / (double)(hits + misses) : 0.0;
}

static void daemon_register_metrics(struct enricher_daemon *d)
{
    struct metrics *r = d->o.metrics;
    struct daemon_metrics *m = &d->m;

    m->consumed = metrics_counter(r, "analytics_enricher_events_consumed_total",
                                  "Raw messages consumed", NULL);
    m->enriched = metrics_counter(r, "analytics_enricher_events_enriched_total",
                                  "Enriched events produced", NULL);
    m->duplicates = metrics_counter(r, "analytics_enricher_duplicates_total",
                                    "Events dropped as already seen within the dedup window", NULL);
    m->dead = metrics_counter(r, "analytics_enricher_deadletters_total",
                              "Raw messages sent to the dead-letter topic", NULL);
    m->bots = metrics_counter(r, "analytics_enricher_bot_events_total",
                              "Enriched events flagged as bots", NULL);
    m->sessions =
        metrics_counter(r, "analytics_enricher_sessions_started_total", "Sessions started", NULL);
    m->late = metrics_counter(r, "analytics_enricher_late_events_total",
                              "Events that arrived older than their session allows", NULL);
    m->delivered = metrics_counter(r, "analytics_enricher_delivered_total",
                                   "Messages the broker acknowledged", NULL);
    m->delivery_failed = metrics_counter(r, "analytics_enricher_delivery_failed_total",
                                         "Messages the broker did not take", NULL);
    m->redis_errors = metrics_counter(r, "analytics_enricher_redis_errors_total",
                                      "Redis round trips that failed", NULL);
    m->batch_seconds = metrics_histogram(
        r, "analytics_enricher_batch_seconds",
        "Time from a batch's first message consumed to its last output acknowledged", NULL,
        metrics_latency_bounds, metrics_latency_bounds_n);
    m->inflight = metrics_gauge(r, "analytics_enricher_inflight_batches",
                                "Batches produced and awaiting acknowledgement", NULL);
    m->paused = metrics_gauge(r, "analytics_enricher_consumer_paused",
                              "1 while consumption is paused (Redis or broker unavailable)", NULL);
    m->redis_up = metrics_gauge(r, "analytics_enricher_redis_up", "1 while Redis answers", NULL);
    metrics_gauge_fn(r, "analytics_enricher_session_cache_hit_ratio",
                     "Share of visitors' session states found in memory instead of Redis", NULL,
                     daemon_session_hit_ratio, d->scache);
    m->watermark_failed = metrics_counter(
        r, "analytics_enricher_watermark_failed_total",
        "Delivered batches whose watermark could not be raised (a replay may repeat them)", NULL);
}

/* ---- delivery and offsets ---- */

/* Delivery report, on the producer's poller thread. */
static void daemon_on_delivery(const struct kafka_delivery *dr, void *arg)
{
    struct enricher_daemon *d = arg;

    if (dr->err != 0) {
        metric_add(d->m.delivery_failed, 1);
        log_error("enricher.delivery_failed", LOG_STR("topic", dr->topic),
                  LOG_STR("error", dr->errstr),
                  LOG_BOOL("possibly_persisted", dr->possibly_persisted));
    } else {
        metric_add(d->m.delivered, 1);
    }
    flight_delivered(&d->fq, dr->opaque, dr->err == 0);
}

/* Raises the delivered watermarks of a delivered flight's partitions, so
 * that a replay of its messages (after a crash or a rebalance before the
 * offsets were committed) drops them as duplicates instead of producing
 * them again. Best effort: when Redis fails the replay repeats them, which
 * at-least-once allows. */
static void daemon_raise_watermarks(struct enricher_daemon *d, const struct flight *f)
{
    char(*keys)[256] = calloc(f->nparts, sizeof(*keys));
    const char **kp = calloc(f->nparts, sizeof(*kp));
    long long *vals = calloc(f->nparts, sizeof(*vals));
    int *results = calloc(f->nparts, sizeof(*results));
    int rc = -1;

    if (f->nparts == 0) {
        rc = 0;
    } else if (keys != NULL && kp != NULL && vals != NULL && results != NULL) {
        for (size_t i = 0; i < f->nparts; i++) {
            kp[i] = batch_delivered_key(&d->batch.names, f->parts[i].partition, keys[i],
                                        sizeof(keys[i]));
            vals[i] = f->parts[i].next_offset;
        }
        rc = redis_set_max_many(d->redis, kp, vals, f->nparts, results);
    }
    if (rc != 0) {
        metric_add(d->m.watermark_failed, 1);
        log_debug("enricher.watermark_failed", LOG_STR("error", redis_client_last_error(d->redis)));
    }
    free(keys);
    free(kp);
    free(vals);
    free(results);
}

/* Stores the offsets of every completed flight, oldest first. A failed one
 * stops all later stores (their offsets would skip it); outside shutdown it
 * makes the daemon fail so a restart replays it. */
static void daemon_settle(struct enricher_daemon *d)
{
    struct flight *f;

    while ((f = flight_queue_pop_done(&d->fq)) != NULL) {
        if (atomic_load(&f->failed)) {
            d->store_blocked = true;
            if (!d->stopping) {
                log_error("enricher.batch_undelivered", LOG_INT("messages", f->messages));
                atomic_store(&d->failed, true);
            }
        } else if (!d->store_blocked) {
            daemon_raise_watermarks(d, f); /* not past an undelivered batch */
        }
        if (!atomic_load(&f->failed) && !d->store_blocked && f->generation == d->fq.generation) {
            for (size_t i = 0; i < f->nparts; i++) {
                kafka_consumer_store_offset(d->consumer, d->o.topic_raw, f->parts[i].partition,
                                            f->parts[i].next_offset);
            }
        }
        metric_observe(d->m.batch_seconds,
                       (double)(lifecycle_mono_ms() - f->started_mono_ms) / 1000.0);
        flight_free(f);
    }
    metric_set(d->m.inflight, (double)d->fq.count);
}

/* ---- the batch in hand ---- */

static void daemon_release_batch(struct enricher_daemon *d)
{
    for (size_t i = 0; i < d->nmsgs; i++) {
        kafka_message_release(&d->msgs[i]);
    }
    d->nmsgs = 0;
    batch_reset(&d->batch);
    d->stage = ST_FILL;
    d->produce_pos = 0;
}

/* Hands a partly produced batch's flight to the queue (it covers what was
 * produced) and drops the rest of the batch: its offsets are not stored,
 * so it is consumed again. */
static void daemon_drop_batch(struct enricher_daemon *d)
{
    if (d->flight != NULL) {
        flight_seal(&d->fq, d->flight);
        d->flight = NULL;
    }
    if (d->nmsgs > 0) {
        log_info("enricher.batch_dropped", LOG_INT("events", d->nmsgs),
                 LOG_INT("produced", d->produce_pos));
    }
    daemon_release_batch(d);
}

/* Partitions are being revoked (inside kafka_consumer_poll): deliver what is
 * in flight and store its offsets while they are still ours, then forget
 * the rest (the next owner consumes it again). */
static void daemon_on_revoke(void *arg)
{
    struct enricher_daemon *d = arg;
    long long wait = DAEMON_REVOKE_FLUSH_MS;

    if (d->stopping) {
        long long left = atomic_load(&d->deadline_ms) - lifecycle_mono_ms();
        wait = left < 0 ? 0 : (left < wait ? left : wait);
    }
    daemon_drop_batch(d);
    kafka_producer_flush(d->producer, (int)wait);
    daemon_settle(d);
    if (d->fq.count > 0) {
        log_warn("enricher.revoked_undelivered", LOG_INT("batches", d->fq.count));
    }
    d->fq.generation++;
    /* Partitions that come back may have been another enricher's meanwhile. */
    lru_clear(d->scache);
}

/* ---- Redis stages ---- */

static enum daemon_step daemon_redis_result(struct enricher_daemon *d, int rc)
{
    if (rc == 0) {
        if (!atomic_exchange(&d->redis_up, true)) {
            metric_set(d->m.redis_up, 1);
        }
        return STEP_DONE;
    }
    metric_add(d->m.redis_errors, 1);
    if (atomic_exchange(&d->redis_up, false)) {
        metric_set(d->m.redis_up, 0);
        log_warn("enricher.redis_unavailable", LOG_STR("error", redis_client_last_error(d->redis)),
                 LOG_BOOL("down", rc == REDIS_CLIENT_EDOWN));
    }
    return STEP_WAIT_REDIS;
}

static enum daemon_step daemon_dedup(struct enricher_daemon *d)
{
    const struct batch_cmds *c = batch_dedup_cmds(&d->batch);
    int rc = redis_set_nx_many(d->redis, c->keys, c->vals, c->n, d->o.dedup_ttl_ms, c->results);

    if (rc == 0 && batch_dedup_apply(&d->batch) != 0) {
        rc = REDIS_CLIENT_EREPLY;
    }
    return daemon_redis_result(d, rc);
}

struct daemon_reply_ctx {
    struct batch *b;
    int (*take)(struct batch *b, size_t i, int status, const char *val, size_t len);
    int rc;
};

static void daemon_take_reply(size_t i, int status, const char *val, size_t len, void *arg)
{
    struct daemon_reply_ctx *rc = arg;

    if (rc->take(rc->b, i, status, val, len) != 0) {
        rc->rc = REDIS_CLIENT_EREPLY;
    }
}

/* GETs the keys of c and hands each reply to take. */
static enum daemon_step daemon_get(struct enricher_daemon *d, const struct batch_cmds *c,
                                   int (*take)(struct batch *, size_t, int, const char *, size_t))
{
    struct daemon_reply_ctx rctx = {&d->batch, take, 0};
    int rc = redis_get_many(d->redis, c->keys, c->n, daemon_take_reply, &rctx);

    return daemon_redis_result(d, rc != 0 ? rc : rctx.rc);
}

static enum daemon_step daemon_session_write(struct enricher_daemon *d)
{
    const struct batch_cmds *c = batch_session_write_cmds(&d->batch);
    int rc = redis_set_px_many(d->redis, c->keys, c->vals, c->lens, c->n, d->o.session_ttl_ms,
                               c->results);

    for (size_t i = 0; rc == 0 && i < c->n; i++) {
        rc = c->results[i];
    }
    if (rc == 0) {
        batch_session_remember(&d->batch);
    }
    return daemon_redis_result(d, rc);
}

/* ---- producing ---- */

static void daemon_count_batch(struct enricher_daemon *d)
{
    const struct batch_stats *s = &d->batch.stats;

    metric_add(d->m.consumed, (double)d->batch.n);
    metric_add(d->m.enriched, (double)s->enriched);
    metric_add(d->m.duplicates, (double)s->duplicates);
    metric_add(d->m.dead, (double)s->dead);
    metric_add(d->m.bots, (double)s->bots);
    metric_add(d->m.sessions, (double)s->sessions_started);
    metric_add(d->m.late, (double)s->late);
}

/* Sends event i. Returns 0, KAFKA_QUEUE_FULL, or -1 (fatal, logged). A
 * message the producer refuses (too large) goes to the dead-letter topic
 * instead. */
static int daemon_send(struct enricher_daemon *d, size_t i)
{
    struct batch_event *e = &d->batch.ev[i];
    char err[256];

    for (;;) {
        const char *topic = e->state == BATCH_EV_DEAD ? d->o.topic_deadletter : d->o.topic_enriched;
        flight_hold(d->flight);
        int rc = kafka_producer_send(d->producer, topic, e->key, e->key_len, e->out, e->out_len,
                                     d->flight, err, sizeof(err));
        if (rc == 0) {
            return 0;
        }
        flight_unhold(d->flight);
        if (rc == KAFKA_QUEUE_FULL) {
            return rc;
        }
        if (e->state == BATCH_EV_DEAD) {
            log_error("enricher.deadletter_refused", LOG_INT("partition", e->partition),
                      LOG_INT("offset", e->offset), LOG_STR("error", err));
            return -1;
        }
        log_warn("enricher.enriched_refused", LOG_INT("partition", e->partition),
                 LOG_INT("offset", e->offset), LOG_STR("error", err));
        if (batch_reject(&d->batch, i, "produce_refused", err, lifecycle_now_ms()) != 0) {
            return -1;
        }
    }
}

static enum daemon_step daemon_produce(struct enricher_daemon *d)
{
    struct batch *b = &d->batch;

    if (d->flight == NULL) {
        d->flight = flight_new(&d->fq, b->nparts, d->batch_started_ms);
        if (d->flight == NULL) {
            log_error("enricher.out_of_memory", LOG_STR("where", "flight"));
            return STEP_FATAL;
        }
    }
    for (; d->produce_pos < b->n; d->produce_pos++) {
        struct batch_event *e = &b->ev[d->produce_pos];
        if (e->state != BATCH_EV_DUPLICATE) {
            int rc = daemon_send(d, d->produce_pos);
            if (rc == KAFKA_QUEUE_FULL) {
                return STEP_WAIT_DELIVERY;
            }
            if (rc != 0) {
                return STEP_FATAL;
            }
        }
        flight_cover(d->flight, e->partition, e->offset);
    }
    daemon_count_batch(d);
    flight_seal(&d->fq, d->flight);
    d->flight = NULL;
    metric_set(d->m.inflight, (double)d->fq.count);
    daemon_release_batch(d);
    return STEP_DONE;
}

/* Runs the batch's stages from where it stopped until it is produced or a
 * server makes it wait. */
static enum daemon_step daemon_run_stages(struct enricher_daemon *d)
{
    enum daemon_step st = STEP_DONE;

    while (st == STEP_DONE && d->stage != ST_FILL) {
        switch (d->stage) {
        case ST_FILL:
            break;
        case ST_DEDUP:
            st = daemon_dedup(d);
            break;
        case ST_DEDUP_CHECK: {
            const struct batch_cmds *c = batch_dedup_check_cmds(&d->batch);
            if (c == NULL) {
                log_error("enricher.out_of_memory", LOG_STR("where", "dedup"));
                return STEP_FATAL;
            }
            st = daemon_get(d, c, batch_dedup_checked);
            if (st == STEP_DONE) {
                batch_dedup_resolve(&d->batch);
            }
            break;
        }
        case ST_SESSION_READ:
            st = daemon_get(d, batch_session_cmds(&d->batch), batch_session_loaded);
            break;
        case ST_ENRICH:
            if (batch_enrich(&d->batch, &d->ctx, d->o.sessions, lifecycle_now_ms()) != 0) {
                log_error("enricher.out_of_memory", LOG_STR("where", "enrich"));
                st = STEP_FATAL;
            }
            break;
        case ST_SESSION_WRITE:
            st = daemon_session_write(d);
            break;
        case ST_PRODUCE:
            return daemon_produce(d);
        }
        if (st == STEP_DONE) {
            d->stage++;
        }
    }
    return st;
}

/* ---- consuming ---- */

static void daemon_refresh_redis(struct enricher_daemon *d)
{
    long long now = lifecycle_mono_ms();

    if (now - d->redis_checked_ms < DAEMON_REDIS_CHECK_MS) {
        return;
    }
    d->redis_checked_ms = now;
    daemon_redis_result(d, redis_client_ready(d->redis) ? 0 : REDIS_CLIENT_EDOWN);
}

/* Consumes up to a batch: waits for the first message, then takes what is
 * already fetched. Returns STEP_DONE with the batch decoded, STEP_IDLE when
 * nothing came, STEP_WAIT_DELIVERY when too much is in flight, STEP_FATAL. */
static enum daemon_step daemon_fill(struct enricher_daemon *d)
{
    struct kafka_message m;
    int timeout = DAEMON_POLL_MS, r = 0;

    if (d->fq.count >= (size_t)d->o.inflight_max) {
        return STEP_WAIT_DELIVERY;
    }
    if (kafka_consumer_paused(d->consumer)) {
        kafka_consumer_resume(d->consumer);
        metric_set(d->m.paused, 0);
    }
    while (!batch_full(&d->batch) && (r = kafka_consumer_poll(d->consumer, timeout, &m)) == 1) {
        if (d->batch.n == 0) {
            d->batch_started_ms = lifecycle_mono_ms();
        }
        d->msgs[d->nmsgs++] = m;
        batch_add(&d->batch, m.partition, m.offset, m.key, m.key_len, m.payload, m.len);
        timeout = 0;
    }
    if (!batch_full(&d->batch) && r < 0) {
        return STEP_FATAL;
    }
    if (d->batch.n == 0) {
        daemon_refresh_redis(d);
        return STEP_IDLE;
    }
    if (batch_decode(&d->batch) != 0) {
        log_error("enricher.out_of_memory", LOG_STR("where", "decode"));
        return STEP_FATAL;
    }
    d->stage = ST_DEDUP;
    return STEP_DONE;
}

/* Waits a little while the batch cannot go on. Consumption is paused after
 * DAEMON_PAUSE_AFTER_MS so the group keeps being served by polls (a paused
 * consumer returns no messages, only rebalances). */
static enum daemon_step daemon_wait(struct enricher_daemon *d, enum daemon_step why)
{
    long long now = lifecycle_mono_ms();
    struct kafka_message m;

    if (d->blocked_since_ms == 0) {
        d->blocked_since_ms = now;
        d->blocked_on = why;
    }
    if (!d->stopping && now - d->blocked_since_ms >= DAEMON_PAUSE_AFTER_MS &&
        !kafka_consumer_paused(d->consumer)) {
        log_warn("enricher.consumption_paused",
                 LOG_STR("reason", why == STEP_WAIT_REDIS ? "redis" : "delivery"));
        kafka_consumer_pause(d->consumer);
        metric_set(d->m.paused, 1);
    }
    if (!kafka_consumer_paused(d->consumer) || d->stopping) {
        flight_queue_wait(&d->fq, DAEMON_WAIT_MS);
        return STEP_DONE;
    }
    int r = kafka_consumer_poll(d->consumer, DAEMON_WAIT_MS, &m);
    if (r == 1) {
        /* librdkafka drops fetched messages on pause; one here would be lost
         * if released, so stop: a restart consumes it again. */
        log_error("enricher.message_while_paused", LOG_INT("partition", m.partition),
                  LOG_INT("offset", m.offset));
        kafka_message_release(&m);
        return STEP_FATAL;
    }
    return r < 0 ? STEP_FATAL : STEP_DONE;
}

static void daemon_unblocked(struct enricher_daemon *d)
{
    if (d->blocked_since_ms != 0) {
        log_info("enricher.resumed",
                 LOG_STR("after", d->blocked_on == STEP_WAIT_REDIS ? "redis" : "delivery"),
                 LOG_INT("waited_ms", lifecycle_mono_ms() - d->blocked_since_ms));
        d->blocked_since_ms = 0;
    }
}

/* One turn of the loop. Returns STEP_FATAL to end it. */
static enum daemon_step daemon_turn(struct enricher_daemon *d)
{
    enum daemon_step st;

    daemon_settle(d);
    if (atomic_load(&d->failed)) {
        return STEP_FATAL;
    }
    st = d->stage == ST_FILL ? daemon_fill(d) : daemon_run_stages(d);
    if (st == STEP_WAIT_REDIS || st == STEP_WAIT_DELIVERY) {
        return daemon_wait(d, st);
    }
    if (st == STEP_DONE || st == STEP_IDLE) {
        daemon_unblocked(d);
    }
    return st;
}

/* SIGTERM: finish the batch in hand, wait for deliveries, store, leave. */
static void daemon_finish(struct enricher_daemon *d)
{
    long long deadline = atomic_load(&d->deadline_ms);

    d->stopping = true;
    if (d->stage == ST_FILL && d->batch.n > 0 && batch_decode(&d->batch) == 0) {
        d->stage = ST_DEDUP;
    }
    while (d->stage != ST_FILL && lifecycle_mono_ms() < deadline) {
        enum daemon_step st = daemon_run_stages(d);
        if (st == STEP_FATAL) {
            break;
        }
        if (st != STEP_DONE) {
            flight_queue_wait(&d->fq, DAEMON_WAIT_MS);
        }
    }
    if (d->stage != ST_FILL || d->batch.n > 0) {
        log_warn("enricher.batch_unfinished", LOG_STR("reason", "deadline"));
    }
    daemon_drop_batch(d);
    long long left = deadline - lifecycle_mono_ms();
    if (kafka_producer_flush(d->producer, left > 0 ? (int)left : 0) != 0) {
        log_warn("enricher.undelivered_at_stop",
                 LOG_INT("messages", kafka_producer_outq_len(d->producer)));
        kafka_producer_purge(d->producer, 1000);
    }
    daemon_settle(d);
    kafka_consumer_commit(d->consumer);
}

static void *daemon_main(void *arg)
{
    struct enricher_daemon *d = arg;

    while (!atomic_load(&d->stop)) {
        if (daemon_turn(d) == STEP_FATAL) {
            atomic_store(&d->failed, true);
            break;
        }
    }
    daemon_finish(d);
    return NULL;
}

/* ---- life cycle ---- */

static int daemon_clients(struct enricher_daemon *d, char *err, size_t errlen)
{
    const struct enricher_daemon_opts *o = &d->o;
    const char *topics[] = {o->topic_raw, NULL};

    struct kafka_producer_opts po = {
        .brokers = o->brokers,
        .linger_ms = o->linger_ms,
        .message_timeout_ms = 0, /* retry until delivered: offsets wait for it */
        .queue_max_messages = (int)o->batch_max * (o->inflight_max + 2),
        .on_delivery = daemon_on_delivery,
        .arg = d,
        .debug = o->kafka_debug,
    };
    d->producer = kafka_producer_new(&po, err, errlen);
    if (d->producer == NULL) {
        return -1;
    }
    d->redis = redis_client_new(o->redis_url, o->redis_timeout_ms, err, errlen);
    if (d->redis == NULL) {
        return -1;
    }
    struct kafka_consumer_opts co = {.brokers = o->brokers,
                                     .group = o->group,
                                     .topics = topics,
                                     .session_timeout_ms = o->group_session_timeout_ms,
                                     .prefetch_mb = o->prefetch_mb,
                                     .debug = o->kafka_debug,
                                     .on_revoke = daemon_on_revoke,
                                     .revoke_arg = d};
    d->consumer = kafka_consumer_new(&co, err, errlen);
    return d->consumer != NULL ? 0 : -1;
}

struct enricher_daemon *enricher_daemon_start(const struct enricher_daemon_opts *o, char *err,
                                              size_t errlen)
{
    struct enricher_daemon *d = calloc(1, sizeof(*d));

    if (d == NULL || flight_queue_init(&d->fq) != 0) {
        free(d);
        errbuf_printf(err, errlen, "out of memory");
        return NULL;
    }
    d->o = *o;
    d->ctx = o->ctx;
    struct batch_names names = {o->key_prefix, o->topic_raw, "analytics-enricher",
                                DAEMON_DEADLETTER_MAX};
    d->msgs = calloc(o->batch_max, sizeof(*d->msgs));
    d->rate = bot_rate_new(o->bot_rate_per_sec, o->bot_rate_burst, BOT_RATE_DEFAULT_MAX_KEYS);
    d->scache = lru_new(o->session_cache);
    if (d->msgs == NULL || d->rate == NULL || d->scache == NULL ||
        batch_init(&d->batch, o->batch_max, &names) != 0) {
        errbuf_printf(err, errlen, "out of memory");
        goto out_free;
    }
    d->ctx.rate = d->rate;
    d->batch.sessions = d->scache;
    daemon_register_metrics(d);
    if (daemon_clients(d, err, errlen) != 0) {
        goto out_free;
    }
    atomic_init(&d->redis_up, redis_client_ready(d->redis));
    metric_set(d->m.redis_up, atomic_load(&d->redis_up) ? 1 : 0);
    if (pthread_create(&d->thread, NULL, daemon_main, d) != 0) {
        errbuf_printf(err, errlen, "cannot start the consumer thread");
        goto out_free;
    }
    d->thread_started = true;
    return d;

out_free:
    enricher_daemon_free(d);
    return NULL;
}

bool enricher_daemon_ready(struct enricher_daemon *d, char *why, size_t whylen)
{
    if (atomic_load(&d->failed)) {
        errbuf_printf(why, whylen, "failed; restart");
        return false;
    }
    if (!kafka_producer_brokers_up(d->producer)) {
        errbuf_printf(why, whylen, "Kafka brokers unreachable");
        return false;
    }
    if (!atomic_load(&d->redis_up)) {
        errbuf_printf(why, whylen, "Redis unreachable");
        return false;
    }
    return true;
}

bool enricher_daemon_failed(const struct enricher_daemon *d)
{
    return atomic_load(&d->failed);
}

void enricher_daemon_stop(struct enricher_daemon *d, long long deadline_mono_ms)
{
    atomic_store(&d->deadline_ms, deadline_mono_ms);
    atomic_store(&d->stop, true);
    if (d->thread_started) {
        pthread_join(d->thread, NULL);
        d->thread_started = false;
    }
}

void enricher_daemon_free(struct enricher_daemon *d)
{
    if (d == NULL) {
        return;
    }
    if (d->thread_started) {
        enricher_daemon_stop(d, lifecycle_mono_ms() + 5000);
    }
    kafka_consumer_close(d->consumer); /* commits; may call daemon_on_revoke */
    d->consumer = NULL;
    if (d->producer != NULL) {
        kafka_producer_purge(d->producer, 1000);
    }
    kafka_producer_free(d->producer);
    d->producer = NULL;
    daemon_release_batch(d);
    flight_queue_fini(&d->fq);
    redis_client_free(d->redis);
    bot_rate_free(d->rate);
    lru_free(d->scache);
    batch_fini(&d->batch);
    free(d->msgs);
    free(d);
}
