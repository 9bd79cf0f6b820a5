#include "daemon.h"

#include "analytics/deadletter.h"
#include "analytics/errbuf.h"
#include "analytics/kafka.h"
#include "analytics/lifecycle.h"
#include "analytics/log.h"
#include "analytics/metrics.h"
#include "analytics/stage.h"
#include "batch.h"
#include "redisstep.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    struct metric *delivered, *inflight;
};

struct enricher_daemon {
    struct enricher_daemon_opts o;
    struct enrich_ctx ctx;
    struct stage *rt;                /* the consumer stage: thread, clients, flights */
    struct kafka_producer *producer; /* the stage's */
    struct redisstep redis;
    struct bot_rate *rate;
    struct lru *scache; /* visitors' session states while their partitions are ours */
    struct batch batch;
    enum daemon_stage stage;
    size_t produce_pos;
    struct flight *flight; /* of the batch being produced */
    long long batch_started_ms;
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
    m->inflight = metrics_gauge(r, "analytics_enricher_inflight_batches",
                                "Batches produced and awaiting acknowledgement", NULL);
    metrics_gauge_fn(r, "analytics_enricher_session_cache_hit_ratio",
                     "Share of visitors' session states found in memory instead of Redis", NULL,
                     daemon_session_hit_ratio, d->scache);
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

/* A flight acknowledged in order, its offsets about to be stored. */
static void daemon_on_settled(void *arg, const struct flight *f)
{
    struct enricher_daemon *d = arg;

    redisstep_raise_watermarks(&d->redis, &d->batch, f);
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
            st = redisstep_dedup(&d->redis, &d->batch, d->o.dedup_ttl_ms);
            break;
        case ST_DEDUP_CHECK: {
            const struct batch_cmds *c = batch_dedup_check_cmds(&d->batch);
            if (c == NULL) {
                log_error("enricher.out_of_memory", LOG_STR("where", "dedup"));
                return STAGE_FATAL;
            }
            st = redisstep_get(&d->redis, &d->batch, c, batch_dedup_checked);
            if (st == STAGE_DONE) {
                batch_dedup_resolve(&d->batch);
            }
            break;
        }
        case ST_SESSION_READ:
            st = redisstep_get(&d->redis, &d->batch, batch_session_cmds(&d->batch),
                               batch_session_loaded);
            break;
        case ST_ENRICH:
            if (batch_enrich(&d->batch, &d->ctx, d->o.sessions, lifecycle_now_ms()) != 0) {
                log_error("enricher.out_of_memory", LOG_STR("where", "enrich"));
                st = STAGE_FATAL;
            }
            break;
        case ST_SESSION_WRITE:
            st = redisstep_session_write(&d->redis, &d->batch, d->o.session_ttl_ms);
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

    redisstep_tick(&d->redis, lifecycle_mono_ms());
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

    return redisstep_ready(&d->redis, why, whylen);
}

/* ---- life cycle ---- */

static int daemon_stage(struct enricher_daemon *d, char *err, size_t errlen)
{
    const struct enricher_daemon_opts *o = &d->o;
    const char *topics[] = {o->topic_raw, NULL};
    struct stage_opts so = o->stage;

    so.metric_prefix = "analytics_enricher";
    so.backend = "redis";
    so.topics = topics;
    so.inflight_max = o->inflight_max;
    so.producer_queue_max = (int)so.batch_max * (o->inflight_max + 2);
    so.metrics = o->metrics;
    so.ops = (struct stage_ops){.process = daemon_process,
                                .tick = daemon_tick,
                                .ready = daemon_redis_ready,
                                .drop = daemon_drop_batch,
                                .revoked = daemon_on_revoked,
                                .settled = daemon_on_settled,
                                .delivered = daemon_on_delivery};
    so.arg = d;

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
    if (d->rate == NULL || d->scache == NULL ||
        batch_init(&d->batch, o->stage.batch_max, &names) != 0) {
        errbuf_printf(err, errlen, "out of memory");
        goto out_free;
    }
    d->ctx.rate = d->rate;
    d->batch.sessions = d->scache;
    daemon_register_metrics(d);
    if (redisstep_init(&d->redis, o->redis_url, o->redis_timeout_ms, o->metrics, err, errlen) !=
            0 ||
        daemon_stage(d, err, errlen) != 0) {
        goto out_free;
    }
    if (stage_start(d->rt, err, errlen) != 0) {
        goto out_free;
    }
    return d;

out_free:
    enricher_daemon_free(d);
    return NULL;
}

struct stage *enricher_daemon_stage(struct enricher_daemon *d)
{
    return d->rt;
}

void enricher_daemon_free(struct enricher_daemon *d)
{
    if (d == NULL) {
        return;
    }
    stage_free(d->rt); /* stops the thread; may call daemon_drop_batch */
    d->rt = NULL;
    daemon_release_batch(d);
    redisstep_fini(&d->redis);
    bot_rate_free(d->rate);
    lru_free(d->scache);
    batch_fini(&d->batch);
    free(d);
}
