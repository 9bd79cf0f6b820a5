/* --kafka-raw: RawEvent messages straight onto events.raw, as the collector
 * would write them, through the pipeline's own producer. */
#include "run.h"

#include "analytics/kafka.h"
#include "analytics/log.h"
#include "raw.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KAFKA_RUN_FLUSH_MS 60000
#define KAFKA_RUN_LOGGED_FAILURES 5

struct kafka_run {
    struct kafka_producer *prod;
    char topic[256];
    char origin[256];
    atomic_llong delivered;
    atomic_llong failed;
    atomic_int failures_logged;
    long long sent;
    unsigned char *buf; /* packed message, reused */
    size_t cap;
    struct loadgen_seen seen;
};

/* Delivery reports, on the producer's poller thread. */
static void kafka_run_on_delivery(const struct kafka_delivery *d, void *arg)
{
    struct kafka_run *r = arg;

    if (d->err == 0) {
        atomic_fetch_add(&r->delivered, 1);
        return;
    }
    atomic_fetch_add(&r->failed, 1);
    if (atomic_fetch_add(&r->failures_logged, 1) < KAFKA_RUN_LOGGED_FAILURES) {
        log_warn("loadgen.delivery_failed", LOG_STR("topic", d->topic),
                 LOG_STR("error", d->errstr));
    }
}

/* Packs ev into r->buf. Returns the length, or 0 when out of memory. */
static size_t kafka_run_pack(struct kafka_run *r, const struct loadgen_event *ev)
{
    Analytics__V1__RawEvent m;
    Analytics__V1__Consent consent;
    size_t len;

    loadgen_raw_fill(&m, &consent, ev, r->origin);
    len = analytics__v1__raw_event__get_packed_size(&m);
    if (len > r->cap) {
        unsigned char *grown = realloc(r->buf, len * 2);

        if (grown == NULL) {
            return 0;
        }
        r->buf = grown;
        r->cap = len * 2;
    }
    return analytics__v1__raw_event__pack(&m, r->buf);
}

/* Queues one message, waiting while the local queue is full. Returns 0, 1
 * when a signal came while waiting (not sent), or -1 on a producer error
 * (logged). */
static int kafka_run_send(struct kafka_run *r, const struct loadgen_event *ev, size_t len)
{
    static const struct timespec pause = {0, 1000000}; /* 1 ms */
    char err[256];

    for (;;) {
        int rc = kafka_producer_send(r->prod, r->topic, ev->fingerprint, strlen(ev->fingerprint),
                                     r->buf, len, NULL, err, sizeof(err));
        if (rc == 0) {
            return 0;
        }
        if (rc != KAFKA_QUEUE_FULL) {
            log_error("loadgen.produce_failed", LOG_STR("error", err));
            return -1;
        }
        if (kafka_producer_fatal(r->prod)) {
            log_error("loadgen.produce_failed", LOG_STR("error", "fatal producer error"));
            return -1;
        }
        if (loadgen_signalled()) {
            return 1;
        }
        nanosleep(&pause, NULL);
    }
}

/* Makes and queues the events until the count, the duration or a signal.
 * Returns 0, or -1 on an error (logged). */
static int kafka_run_produce(struct kafka_run *r, const struct loadgen_ctx *c,
                             struct loadgen_gen *gen)
{
    const struct loadgen_opts *o = c->o;
    struct loadgen_pace pace;
    struct loadgen_event ev;
    long long deadline =
        o->duration_s > 0 ? loadgen_mono_us() + (long long)(o->duration_s * 1e6) : 0;

    loadgen_pace_init(&pace, o->rate);
    while (o->count == 0 || r->sent < o->count) {
        size_t len;

        if ((r->sent & 1023) == 0 &&
            (loadgen_signalled() || (deadline != 0 && loadgen_mono_us() >= deadline))) {
            break;
        }
        loadgen_pace_wait(&pace, r->sent, NULL);
        loadgen_gen_next(gen, &ev);
        loadgen_seen_add(&r->seen, &ev);
        len = kafka_run_pack(r, &ev);
        if (len == 0) {
            log_error("loadgen.out_of_memory");
            return -1;
        }
        switch (kafka_run_send(r, &ev, len)) {
        case 0:
            r->sent++;
            break;
        case 1:
            return 0;
        default:
            return -1;
        }
    }
    return 0;
}

/* Waits for every delivery report; fails what is left after the flush
 * timeout so the counts add up. */
static void kafka_run_drain(struct kafka_run *r)
{
    if (kafka_producer_flush(r->prod, KAFKA_RUN_FLUSH_MS) != 0) {
        log_error("loadgen.flush_timeout", LOG_INT("pending", kafka_producer_outq_len(r->prod)));
        kafka_producer_purge(r->prod, 5000);
    }
}

static void kafka_run_summary(struct kafka_run *r, const struct loadgen_ctx *c, double seconds)
{
    long long delivered = atomic_load(&r->delivered);
    cJSON *s = loadgen_summary_new(c, "kafka-raw", r->sent, seconds, &r->seen);

    if (s != NULL) {
        cJSON_AddStringToObject(s, "topic", r->topic);
        cJSON_AddNumberToObject(s, "delivered", (double)delivered);
        cJSON_AddNumberToObject(s, "failed", (double)atomic_load(&r->failed));
    }
    loadgen_summary_emit(s, true);
}

/* Creates the producer. Returns 0, or -1 (logged). */
static int kafka_run_open(struct kafka_run *r, const struct loadgen_ctx *c)
{
    static const char *const extra[] = {"client.id", LOADGEN_PROG, NULL};
    struct kafka_producer_opts po = {
        .brokers = c->brokers,
        .linger_ms = 5,
        .message_timeout_ms = 30000,
        .queue_max_messages = 100000,
        .on_delivery = kafka_run_on_delivery,
        .arg = r,
        .extra = extra,
    };
    char err[512];

    kafka_topic_name(c->topic_prefix, "events.raw", r->topic, sizeof(r->topic));
    snprintf(r->origin, sizeof(r->origin), "%s", c->o->params.site);
    r->prod = kafka_producer_new(&po, err, sizeof(err));
    if (r->prod == NULL) {
        log_error("loadgen.producer_failed", LOG_STR("error", err));
        return -1;
    }
    return 0;
}

int loadgen_run_kafka(const struct loadgen_ctx *c)
{
    struct kafka_run *r = calloc(1, sizeof(*r));
    struct loadgen_gen *gen = NULL;
    char err[256];
    long long t0;
    int rc = 1;

    if (r == NULL ||
        loadgen_seen_init(&r->seen, loadgen_agents_total(c->agents), c->o->params.visitors) != 0) {
        log_error("loadgen.out_of_memory");
        goto out;
    }
    gen = loadgen_gen_new(&c->o->params, c->agents, err, sizeof(err));
    if (gen == NULL) {
        log_error("loadgen.bad_parameters", LOG_STR("error", err));
        goto out;
    }
    if (kafka_run_open(r, c) != 0) {
        goto out;
    }
    log_info("loadgen.started", LOG_STR("mode", "kafka-raw"), LOG_STR("topic", r->topic),
             LOG_STR("brokers", c->brokers), LOG_INT("count", c->o->count));
    t0 = loadgen_mono_us();
    rc = kafka_run_produce(r, c, gen) == 0 ? 0 : 1;
    kafka_run_drain(r);
    kafka_run_summary(r, c, (double)(loadgen_mono_us() - t0) / 1e6);
    if (atomic_load(&r->failed) != 0 || atomic_load(&r->delivered) != r->sent) {
        rc = 1;
    }
out:
    if (r != NULL) {
        kafka_producer_free(r->prod);
        loadgen_seen_fini(&r->seen);
        free(r->buf);
    }
    free(r);
    loadgen_gen_free(gen);
    return rc;
}
