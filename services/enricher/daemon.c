#include "daemon.h"

#include "analytics/deadletter.h"
#include "analytics/errbuf.h"
#include "analytics/kafka.h"
#include "analytics/lifecycle.h"
#include "analytics/log.h"
#include "analytics/metrics.h"
#include "analytics/redis.h"
#include "analytics/stage.h"
#include "batch.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAEMON_REDIS_CHECK_MS 1000 /* readiness refresh between batches */

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

struct daemon_metrics {
    struct metric *enriched, *duplicates, *bots, *sessions, *late;
    struct metric *delivered, *redis_errors, *inflight, *redis_up, *watermark_failed;
};

struct enricher_daemon {
    struct enricher_daemon_opts o;
    struct enrich_ctx ctx;
    struct stage *rt;                /* the consumer stage: thread, clients, flights */
    struct kafka_producer *producer; /* the stage's */
    struct redis_client *redis;
    struct bot_rate *rate;
    struct lru *scache; /* visitors' session states while their partitions are ours */
    struct batch batch;
    enum daemon_stage stage;
    size_t produce_pos;
    struct flight *flight; /* of the batch being produced */
    long long batch_started_ms;
    long long redis_checked_ms;
    atomic_bool redis_up;
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

    m->enriched = metrics_counter(r, "analytics_enricher_events_enriched_total",
                                  "Enriched events produced", NULL);
    m->duplicates = metrics_counter(r, "analytics_enricher_duplicates_total",
                                    "Events dropped as already seen within the dedup window", NULL);
    m->bots = metrics_counter(r, "analytics_enricher_bot_events_total",
                              "Enriched events flagged as bots", NULL);
    m->sessions =
        metrics_counter(r, "analytics_enricher_sessions_started_total", "Sessions started", NULL);
    m->late = metrics_counter(r, "analytics_enricher_late_events_total",
                              "Events that arrived older than their session allows", NULL);
    m->delivered = metrics_counter(r, "analytics_enricher_delivered_total",
                                   "Messages the broker acknowledged", NULL);
    m->redis_errors = metrics_counter(r, "analytics_enricher_redis_errors_total",
                                      "Redis round trips that failed", NULL);
    m->inflight = metrics_gauge(r, "analytics_enricher_inflight_batches",
                                "Batches produced and awaiting acknowledgement", NULL);
    m->redis_up = metrics_gauge(r, "analytics_enricher_redis_up", "1 while Redis answers", NULL);
    metrics_gauge_fn(r, "analytics_enricher_session_cache_hit_ratio",
                     "Share of visitors' session states found in memory instead of Redis", NULL,
                     daemon_session_hit_ratio, d->scache);
    m->watermark_failed = metrics_counter(
        r, "analytics_enricher_watermark_failed_total",
        "Delivered batches whose watermark could not be raised (a replay may repeat them)", NULL);
}

/* ---- delivery and offsets ---- */

/* Every delivery report, after the stage counted it (poller thread). */
static void daemon_on_delivery(void *arg, const struct kafka_delivery *dr)
{
    struct enricher_daemon *d = arg;

    if (dr->err == 0) {
        metric_add(d->m.delivered, 1);
    }
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

/* A flight acknowledged in order, its offsets about to be stored. */
static void daemon_on_settled(void *arg, const struct flight *f)
{
    struct enricher_daemon *d = arg;

    daemon_raise_watermarks(d, f);
    metric_set(d->m.inflight, (double)stage_flights(d->rt)->count);
}

/* ---- the batch in hand ---- */

static void daemon_release_batch(struct enricher_daemon *d)
{
    batch_reset(&d->batch);
    d->stage = ST_FILL;
    d->produce_pos = 0;
}

/* The stage abandons the batch in hand: hands a partly produced batch's
 * flight to the queue (it covers what was produced) and drops the rest: its
 * offsets are not stored, so it is consumed again. */
static void daemon_drop_batch(void *arg)
{
    struct enricher_daemon *d = arg;

    if (d->flight != NULL) {
        flight_seal(stage_flights(d->rt), d->flight);
        d->flight = NULL;
    }
    daemon_release_batch(d);
}

/* Partitions were revoked: those that come back may have been another
 * enricher's meanwhile. */
static void daemon_on_revoked(void *arg)
{
    struct enricher_daemon *d = arg;

    lru_clear(d->scache);
}

/* ---- Redis stages ---- */

static enum stage_step daemon_redis_result(struct enricher_daemon *d, int rc)
{
    if (rc == 0) {
        if (!atomic_exchange(&d->redis_up, true)) {
            metric_set(d->m.redis_up, 1);
        }
        return STAGE_DONE;
    }
    metric_add(d->m.redis_errors, 1);
    if (atomic_exchange(&d->redis_up, false)) {
        metric_set(d->m.redis_up, 0);
        log_warn("enricher.redis_unavailable", LOG_STR("error", redis_client_last_error(d->redis)),
                 LOG_BOOL("down", rc == REDIS_CLIENT_EDOWN));
    }
    return STAGE_WAIT_BACKEND;
}

static enum stage_step daemon_dedup(struct enricher_daemon *d)
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
static enum stage_step daemon_get(struct enricher_daemon *d, const struct batch_cmds *c,
                                  int (*take)(struct batch *, size_t, int, const char *, size_t))
{
    struct daemon_reply_ctx rctx = {&d->batch, take, 0};
    int rc = redis_get_many(d->redis, c->keys, c->n, daemon_take_reply, &rctx);

    return daemon_redis_result(d, rc != 0 ? rc : rctx.rc);
}

static enum stage_step daemon_session_write(struct enricher_daemon *d)
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

    metric_add(d->m.enriched, (double)s->enriched);
    metric_add(d->m.duplicates, (double)s->duplicates);
    stage_count_deadletters(d->rt, s->dead);
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

static enum stage_step daemon_produce(struct enricher_daemon *d)
{
    struct batch *b = &d->batch;

    if (d->flight == NULL) {
        d->flight = flight_new(stage_flights(d->rt), b->nparts, d->batch_started_ms);
        if (d->flight == NULL) {
            log_error("enricher.out_of_memory", LOG_STR("where", "flight"));
            return STAGE_FATAL;
        }
    }
    for (; d->produce_pos < b->n; d->produce_pos++) {
        struct batch_event *e = &b->ev[d->produce_pos];
        if (e->state != BATCH_EV_DUPLICATE) {
            int rc = daemon_send(d, d->produce_pos);
            if (rc == KAFKA_QUEUE_FULL) {
                return STAGE_WAIT_BROKER;
            }
            if (rc != 0) {
                return STAGE_FATAL;
            }
        }
        flight_cover(d->flight, stage_topic(d->rt, 0), e->partition, e->offset);
    }
    daemon_count_batch(d);
    flight_seal(stage_flights(d->rt), d->flight);
    d->flight = NULL;
    metric_set(d->m.inflight, (double)stage_flights(d->rt)->count);
    daemon_release_batch(d);
    return STAGE_DONE;
}

/* Runs the batch's stages from where it stopped until it is produced or a
 * server makes it wait. */
static enum stage_step daemon_run_stages(struct enricher_daemon *d)
{
    enum stage_step st = STAGE_DONE;

    while (st == STAGE_DONE && d->stage != ST_FILL) {
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
                return STAGE_FATAL;
            }
            st = daemon_get(d, c, batch_dedup_checked);
            if (st == STAGE_DONE) {
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
                st = STAGE_FATAL;
            }
            break;
        case ST_SESSION_WRITE:
            st = daemon_session_write(d);
            break;
        case ST_PRODUCE:
            return daemon_produce(d);
        }
        if (st == STAGE_DONE) {
            d->stage++;
        }
    }
    return st;
}

/* ---- the stage's callbacks ---- */

/* Between batches: Redis's state refreshed at most once a second. */
static enum stage_step daemon_tick(void *arg)
{
    struct enricher_daemon *d = arg;
    long long now = lifecycle_mono_ms();

    if (now - d->redis_checked_ms >= DAEMON_REDIS_CHECK_MS) {
        d->redis_checked_ms = now;
        daemon_redis_result(d, redis_client_ready(d->redis) ? 0 : REDIS_CLIENT_EDOWN);
    }
    return STAGE_IDLE;
}

/* Takes a new batch's messages (borrowed until it is produced) and decodes
 * them. Returns 0, or -1 when memory runs out. */
static int daemon_begin(struct enricher_daemon *d, const struct stage_batch *sb)
{
    d->batch_started_ms = sb->started_mono_ms;
    for (size_t i = 0; i < sb->n; i++) {
        const struct kafka_message *m = &sb->msgs[i];
        batch_add(&d->batch, m->partition, m->offset, m->key, m->key_len, m->payload, m->len);
    }
    if (batch_decode(&d->batch) != 0) {
        log_error("enricher.out_of_memory", LOG_STR("where", "decode"));
        return -1;
    }
    d->stage = ST_DEDUP;
    return 0;
}

/* The batch in hand, from where it stopped until it is produced (STAGE_DONE)
 * or a server makes it wait. */
static enum stage_step daemon_process(void *arg, const struct stage_batch *sb)
{
    struct enricher_daemon *d = arg;

    if (d->stage == ST_FILL && daemon_begin(d, sb) != 0) {
        return STAGE_FATAL;
    }
    return daemon_run_stages(d);
}

static bool daemon_redis_ready(void *arg, char *why, size_t whylen)
{
    struct enricher_daemon *d = arg;

    if (!atomic_load(&d->redis_up)) {
        errbuf_printf(why, whylen, "Redis unreachable");
        return false;
    }
    return true;
}

/* ---- life cycle ---- */

static int daemon_stage(struct enricher_daemon *d, char *err, size_t errlen)
{
    const struct enricher_daemon_opts *o = &d->o;
    const char *topics[] = {o->topic_raw, NULL};
    struct stage_opts so = {
        .metric_prefix = "analytics_enricher",
        .backend = "redis",
        .brokers = o->brokers,
        .kafka_debug = o->kafka_debug,
        .group = o->group,
        .topics = topics,
        .batch_max = o->batch_max,
        .inflight_max = o->inflight_max,
        .linger_ms = o->linger_ms,
        .producer_queue_max = (int)o->batch_max * (o->inflight_max + 2),
        .group_session_timeout_ms = o->group_session_timeout_ms,
        .prefetch_mb = o->prefetch_mb,
        .metrics = o->metrics,
        .ops = {.process = daemon_process,
                .tick = daemon_tick,
                .ready = daemon_redis_ready,
                .drop = daemon_drop_batch,
                .revoked = daemon_on_revoked,
                .settled = daemon_on_settled,
                .delivered = daemon_on_delivery},
        .arg = d,
    };

    d->rt = stage_new(&so, err, errlen);
    if (d->rt == NULL) {
        return -1;
    }
    d->producer = stage_producer(d->rt);
    return 0;
}

struct enricher_daemon *enricher_daemon_start(const struct enricher_daemon_opts *o, char *err,
                                              size_t errlen)
{
    struct enricher_daemon *d = calloc(1, sizeof(*d));

    if (d == NULL) {
        errbuf_printf(err, errlen, "out of memory");
        return NULL;
    }
    d->o = *o;
    d->ctx = o->ctx;
    struct batch_names names = {o->key_prefix, o->topic_raw, "analytics-enricher",
                                DEADLETTER_ORIGINAL_MAX};
    d->rate = bot_rate_new(o->bot_rate_per_sec, o->bot_rate_burst, BOT_RATE_DEFAULT_MAX_KEYS);
    d->scache = lru_new(o->session_cache);
    if (d->rate == NULL || d->scache == NULL || batch_init(&d->batch, o->batch_max, &names) != 0) {
        errbuf_printf(err, errlen, "out of memory");
        goto out_free;
    }
    d->ctx.rate = d->rate;
    d->batch.sessions = d->scache;
    daemon_register_metrics(d);
    d->redis = redis_client_new(o->redis_url, o->redis_timeout_ms, err, errlen);
    if (d->redis == NULL || daemon_stage(d, err, errlen) != 0) {
        goto out_free;
    }
    atomic_init(&d->redis_up, redis_client_ready(d->redis));
    metric_set(d->m.redis_up, atomic_load(&d->redis_up) ? 1 : 0);
    if (stage_start(d->rt, err, errlen) != 0) {
        goto out_free;
    }
    return d;

out_free:
    enricher_daemon_free(d);
    return NULL;
}

bool enricher_daemon_ready(struct enricher_daemon *d, char *why, size_t whylen)
{
    return stage_ready(d->rt, why, whylen);
}

bool enricher_daemon_failed(const struct enricher_daemon *d)
{
    return stage_failed(d->rt);
}

void enricher_daemon_stop(struct enricher_daemon *d, long long deadline_mono_ms)
{
    stage_stop(d->rt, deadline_mono_ms);
}

void enricher_daemon_free(struct enricher_daemon *d)
{
    if (d == NULL) {
        return;
    }
    stage_free(d->rt); /* stops the thread; may call daemon_drop_batch */
    d->rt = NULL;
    daemon_release_batch(d);
    redis_client_free(d->redis);
    bot_rate_free(d->rate);
    lru_free(d->scache);
    batch_fini(&d->batch);
    free(d);
}
