/*
 * The partitions of an exactly-once PostgreSQL consumer: what a replica
 * knows of each, read back from the sink, checked against the broker,
 * fenced and moved with each transaction; and the sink's connection with
 * backoff. Contract in analytics/txparts.h.
 */
#include "analytics/txparts.h"

#include "analytics/errbuf.h"
#include "analytics/flight.h"
#include "analytics/lifecycle.h"
#include "analytics/log.h"
#include "analytics/metrics.h"
#include "analytics/pgsink.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TXPARTS_KAFKA_ASK_MS 2000 /* cluster id and watermarks: how long to wait for the broker */
#define TXPARTS_CLUSTER_ASK_EVERY_MS 60000 /* the cluster id, while not known, asked this often */
#define TXPARTS_NAME_MAX 128

struct txparts {
    struct txparts_opts o;
    struct txpart *parts; /* ntopics rows of TXPARTS_PARTS_MAX */
    /* Scratch of one call: the pairs of one topic and what goes with them. */
    uint8_t tix[TXPARTS_PARTS_MAX];  /* the topic of each pair of the batch in hand */
    size_t pick[TXPARTS_PARTS_MAX];  /* the pairs of one topic: their indexes in the batch */
    int32_t want[TXPARTS_PARTS_MAX]; /* and their partitions */
    int64_t next[TXPARTS_PARTS_MAX], stream[TXPARTS_PARTS_MAX];
    long long backoff_ms, retry_at_mono;
    bool said; /* a state was logged: the first is, changed or not */
    atomic_bool up;
    char cluster[PGSINK_CLUSTER_MAX]; /* the Kafka cluster's id; "" until known */
    long long cluster_asked_mono;     /* when it was last asked for while not known */
    char name[TXPARTS_NAME_MAX];      /* scratch: a series' name (the registry copies it) */
    struct metric *pg_up, *pg_errors, *fenced, *offsets_reset;
};

/* ---- pure parts ---- */

enum txparts_verdict txparts_judge(long long stored_next, const char *stored_cluster,
                                   const char *cluster, long long high)
{
    if (stored_next < 0) {
        return TXPARTS_KEEP;
    }
    if (stored_cluster != NULL && stored_cluster[0] != '\0' && cluster != NULL &&
        cluster[0] != '\0' && strcmp(stored_cluster, cluster) != 0) {
        return TXPARTS_RESET_CLUSTER;
    }
    if (high >= 0 && stored_next > high) {
        return TXPARTS_RESET_BEYOND_END;
    }
    return TXPARTS_KEEP;
}

const char *txparts_verdict_reason(enum txparts_verdict v)
{
    switch (v) {
    case TXPARTS_RESET_CLUSTER:
        return "cluster_changed";
    case TXPARTS_RESET_BEYOND_END:
        return "beyond_end";
    default:
        return "";
    }
}

long long txparts_reset_to(long long low)
{
    return low >= 0 ? low : 0;
}

long long txparts_backoff_ms(long long prev_ms)
{
    long long next = prev_ms <= 0 ? TXPARTS_BACKOFF_MIN_MS : prev_ms * 2;

    return next > TXPARTS_BACKOFF_MAX_MS ? TXPARTS_BACKOFF_MAX_MS : next;
}

long long txparts_clock_ms(long long stream_ms, long long raised_mono, long long now_mono,
                           bool caught_up)
{
    long long quiet = now_mono - raised_mono;

    return caught_up && quiet > 0 ? stream_ms + quiet : stream_ms;
}

bool txparts_caught_up(long long applied, long long high)
{
    return high >= 0 && applied >= high;
}

long long txparts_event_clock_ms(long long event_ms, long long received_ms)
{
    long long cap = received_ms + TXPARTS_CLOCK_AHEAD_MS;

    return received_ms > 0 && event_ms > cap ? cap : event_ms;
}

void txparts_batch_reset(struct txparts_batch *b)
{
    memset(b->slot, 0, b->ntopics * sizeof(b->slot[0]));
    b->ntopics = 0;
    b->n = 0;
}

/* The index of topic among names[0..n) (by pointer, then by name), or -1. */
static int txparts_find(const char *const *names, size_t n, const char *topic)
{
    for (size_t i = 0; i < n; i++) {
        if (names[i] == topic) {
            return (int)i;
        }
    }
    for (size_t i = 0; topic != NULL && i < n; i++) {
        if (strcmp(names[i], topic) == 0) {
            return (int)i;
        }
    }
    return -1;
}

int txparts_batch_add(struct txparts_batch *b, const char *topic, int32_t part, int64_t end)
{
    if (part < 0 || part >= TXPARTS_PARTS_MAX || topic == NULL) {
        return -1;
    }
    int t = txparts_find(b->topics, b->ntopics, topic);
    if (t < 0) {
        if (b->ntopics == TXPARTS_TOPICS_MAX) {
            return -1;
        }
        t = (int)b->ntopics;
        b->topics[b->ntopics++] = topic;
    }
    size_t k = b->slot[t][part];
    if (k == 0) {
        if (b->n == TXPARTS_PARTS_MAX) {
            return -1;
        }
        b->topic[b->n] = b->topics[t];
        b->part[b->n] = part;
        b->end[b->n] = end;
        b->slot[t][part] = (uint16_t)++b->n;
        return (int)b->n - 1;
    }
    if (end > b->end[k - 1]) {
        b->end[k - 1] = end;
    }
    return (int)k - 1;
}

int txparts_batch_collect(struct txparts_batch *b, const struct kafka_message *msgs, size_t n,
                          size_t *bad)
{
    txparts_batch_reset(b);
    for (size_t i = 0; i < n; i++) {
        if (txparts_batch_add(b, msgs[i].topic, msgs[i].partition, msgs[i].offset + 1) < 0) {
            if (bad != NULL) {
                *bad = i;
            }
            return -1;
        }
    }
    return 0;
}

/* ---- partitions ---- */

struct txpart *txparts_get(struct txparts *tp, const char *topic, int32_t part)
{
    int t = txparts_find(tp->o.topics, tp->o.ntopics, topic);

    if (t < 0 || part < 0 || part >= TXPARTS_PARTS_MAX) {
        return NULL;
    }
    return &tp->parts[(size_t)t * TXPARTS_PARTS_MAX + (size_t)part];
}

bool txparts_is_applied(struct txparts *tp, const struct kafka_message *m)
{
    const struct txpart *p = txparts_get(tp, m->topic, m->partition);

    return p != NULL && p->known && m->offset < p->applied;
}

void txparts_forget(struct txparts *tp)
{
    for (size_t i = 0; i < tp->o.ntopics * TXPARTS_PARTS_MAX; i++) {
        tp->parts[i].known = false;
    }
    if (tp->o.forget != NULL) {
        tp->o.forget(tp->o.arg);
    }
}

/* Finds the topic of each pair of b (tp->tix). Returns 0, or PGSINK_REFUSED
 * with the reason in the sink when a pair is not one of tp's. */
static int txparts_index(struct txparts *tp, const struct txparts_batch *b)
{
    for (size_t k = 0; k < b->n; k++) {
        int t = txparts_find(tp->o.topics, tp->o.ntopics, b->topic[k]);
        if (t < 0 || b->part[k] < 0 || b->part[k] >= TXPARTS_PARTS_MAX) {
            pgsink_set_error(tp->o.sink, "%s partition %d: not a partition of this consumer",
                             b->topic[k], (int)b->part[k]);
            return PGSINK_REFUSED;
        }
        tp->tix[k] = (uint8_t)t;
    }
    return PGSINK_OK;
}

static struct txpart *txparts_at(struct txparts *tp, size_t t, int32_t part)
{
    return &tp->parts[t * TXPARTS_PARTS_MAX + (size_t)part];
}

/* The id of the Kafka cluster, asked for until known (at most once every
 * TXPARTS_CLUSTER_ASK_EVERY_MS) and given to the sink, which writes it
 * with the offsets. "" while not known. */
static const char *txparts_cluster(struct txparts *tp)
{
    long long now = lifecycle_mono_ms();

    if (tp->cluster[0] != '\0' || (tp->cluster_asked_mono != 0 &&
                                   now - tp->cluster_asked_mono < TXPARTS_CLUSTER_ASK_EVERY_MS)) {
        return tp->cluster;
    }
    tp->cluster_asked_mono = now;
    if (kafka_consumer_cluster_id(stage_consumer(tp->o.stage), TXPARTS_KAFKA_ASK_MS, tp->cluster,
                                  sizeof(tp->cluster)) == 0) {
        log_info("txparts.cluster", LOG_STR("cluster_id", tp->cluster));
        pgsink_set_cluster(tp->o.sink, tp->cluster);
    }
    return tp->cluster;
}

/* Checks that the offsets read for topic t's partition part (*next,
 * recorded on cluster stored) belong to the stream the broker has now;
 * when they do not, moves them to the broker's first offset, logs
 * txparts.offsets_reset and counts it. *next is what to go on from.
 * Returns an enum pgsink_rc. */
static int txparts_verify(struct txparts *tp, size_t t, int32_t part, int64_t *next,
                          const char *stored)
{
    const char *topic = tp->o.topics[t];
    const char *cluster = txparts_cluster(tp); /* asked for first: the offsets written carry it */
    int64_t low = -1, high = -1;

    if (*next < 0) {
        return PGSINK_OK;
    }
    if (kafka_consumer_watermarks(stage_consumer(tp->o.stage), topic, part, TXPARTS_KAFKA_ASK_MS,
                                  &low, &high) != 0) {
        low = high = -1;
    }
    enum txparts_verdict v = txparts_judge(*next, stored, cluster, high);
    if (v == TXPARTS_KEEP) {
        return PGSINK_OK;
    }
    int64_t to = txparts_reset_to(low);
    int rc = pgsink_offsets_reset(tp->o.sink, topic, part, *next, to);
    if (rc != PGSINK_OK) {
        return rc;
    }
    log_error("txparts.offsets_reset", LOG_STR("topic", topic), LOG_INT("partition", part),
              LOG_STR("reason", txparts_verdict_reason(v)), LOG_INT("applied_offset", *next),
              LOG_INT("high_watermark", high), LOG_INT("reset_to", to),
              LOG_STR("recorded_cluster", stored), LOG_STR("cluster", cluster));
    metric_add(tp->offsets_reset, 1);
    *next = to;
    return PGSINK_OK;
}

/* Reads (and with verify checks) the partitions want[0..k) of topic t. */
static int txparts_load_topic(struct txparts *tp, size_t t, size_t k, bool verify)
{
    char(*cluster)[PGSINK_CLUSTER_MAX] = calloc(k, sizeof(*cluster));
    int rc;

    if (cluster == NULL) {
        pgsink_set_error(tp->o.sink, "out of memory");
        return PGSINK_REFUSED;
    }
    rc = pgsink_offsets_read(tp->o.sink, tp->o.topics[t], tp->want, k, tp->next, tp->stream,
                             cluster);
    for (size_t i = 0; rc == PGSINK_OK && i < k; i++) {
        if (verify) {
            rc = txparts_verify(tp, t, tp->want[i], &tp->next[i], cluster[i]);
        }
        if (rc == PGSINK_OK) {
            *txparts_at(tp, t, tp->want[i]) = (struct txpart){.known = true,
                                                              .verified = verify,
                                                              .applied = tp->next[i],
                                                              .stream_ms = tp->stream[i],
                                                              .raised_mono = lifecycle_mono_ms()};
        }
    }
    free(cluster);
    return rc;
}

/* The pairs of b on topic t (after txparts_index): their partitions into
 * tp->want, their indexes in b into tp->pick. Returns how many. */
static size_t txparts_gather(struct txparts *tp, const struct txparts_batch *b, size_t t)
{
    size_t k = 0;

    for (size_t i = 0; i < b->n; i++) {
        if ((size_t)tp->tix[i] == t) {
            tp->pick[k] = i;
            tp->want[k++] = b->part[i];
        }
    }
    return k;
}

int txparts_load(struct txparts *tp, const struct txparts_batch *b, bool verify)
{
    int rc = txparts_index(tp, b);

    for (size_t t = 0; rc == PGSINK_OK && t < tp->o.ntopics; t++) {
        size_t n = txparts_gather(tp, b, t), k = 0;
        for (size_t i = 0; i < n; i++) {
            const struct txpart *p = txparts_at(tp, t, tp->want[i]);
            if (!p->known || (verify && !p->verified)) {
                tp->want[k++] = tp->want[i];
            }
        }
        rc = k > 0 ? txparts_load_topic(tp, t, k, verify) : PGSINK_OK;
    }
    return rc;
}

int txparts_fence(struct txparts *tp, const struct txparts_batch *b)
{
    int rc = txparts_index(tp, b);

    for (size_t t = 0; rc == PGSINK_OK && t < tp->o.ntopics; t++) {
        size_t k = txparts_gather(tp, b, t);
        for (size_t i = 0; i < k; i++) {
            tp->next[i] = txparts_at(tp, t, tp->want[i])->applied;
        }
        if (k > 0) {
            rc = pgsink_offsets_fence(tp->o.sink, tp->o.topics[t], tp->want, tp->next, k);
        }
    }
    return rc;
}

int64_t txparts_next(struct txparts *tp, const struct txparts_batch *b, size_t k)
{
    const struct txpart *p = txparts_get(tp, b->topic[k], b->part[k]);
    int64_t applied = p != NULL ? p->applied : -1;

    return b->end[k] > applied ? b->end[k] : applied;
}

int txparts_set(struct txparts *tp, const struct txparts_batch *b, const int64_t *stream)
{
    int rc = txparts_index(tp, b);

    for (size_t t = 0; rc == PGSINK_OK && t < tp->o.ntopics; t++) {
        size_t k = txparts_gather(tp, b, t);
        for (size_t i = 0; i < k; i++) {
            tp->next[i] = txparts_next(tp, b, tp->pick[i]);
            tp->stream[i] = stream[tp->pick[i]];
        }
        if (k > 0) {
            rc = pgsink_offsets_set(tp->o.sink, tp->o.topics[t], tp->want, tp->next, tp->stream, k);
        }
    }
    return rc;
}

void txparts_committed(struct txparts *tp, const struct txparts_batch *b, const int64_t *stream)
{
    for (size_t k = 0; k < b->n; k++) {
        struct txpart *p = txparts_get(tp, b->topic[k], b->part[k]);
        if (p == NULL) {
            continue;
        }
        if (stream[k] > p->stream_ms) {
            p->stream_ms = stream[k];
            p->raised_mono = lifecycle_mono_ms();
        }
        p->applied = txparts_next(tp, b, k);
    }
}

int txparts_store_offsets(struct txparts *tp, const struct txparts_batch *b,
                          long long started_mono_ms)
{
    struct flight_queue *fq = stage_flights(tp->o.stage);
    struct flight *f = flight_new(fq, b->n, started_mono_ms);

    if (f == NULL) {
        return -1;
    }
    for (size_t k = 0; k < b->n; k++) {
        int t = txparts_find(tp->o.topics, tp->o.ntopics, b->topic[k]);
        const struct txpart *p = txparts_get(tp, b->topic[k], b->part[k]);
        if (t >= 0 && p != NULL && p->applied >= 0) {
            flight_advance(f, tp->o.topics[t], b->part[k], p->applied); /* the stage's names */
        }
    }
    flight_seal(fq, f);
    return 0;
}

long long txparts_clock(struct txparts *tp, const char *topic, int32_t part)
{
    const struct txpart *p = txparts_get(tp, topic, part);
    int64_t high = -1;

    if (p == NULL || !p->known || p->stream_ms <= 0) {
        return 0;
    }
    if (kafka_consumer_fetched_high(stage_consumer(tp->o.stage), topic, part, &high) != 0) {
        high = -1;
    }
    return txparts_clock_ms(p->stream_ms, p->raised_mono, lifecycle_mono_ms(),
                            txparts_caught_up(p->applied, high));
}

/* ---- the connection ---- */

static void txparts_state(struct txparts *tp, bool up)
{
    if (atomic_exchange(&tp->up, up) != up || !tp->said) {
        tp->said = true;
        metric_set(tp->pg_up, up ? 1 : 0);
        if (up) {
            log_info("txparts.pg_available");
        } else {
            log_warn("txparts.pg_unavailable", LOG_STR("error", pgsink_error(tp->o.sink)));
        }
    }
}

enum stage_step txparts_connect(struct txparts *tp)
{
    long long now = lifecycle_mono_ms();

    if (pgsink_connected(tp->o.sink)) {
        return STAGE_DONE;
    }
    if (now < tp->retry_at_mono) {
        return STAGE_WAIT_BACKEND;
    }
    int rc = pgsink_connect(tp->o.sink, tp->o.connect_timeout_s);
    if (rc == PGSINK_REFUSED) {
        log_error("txparts.pg_unusable", LOG_STR("error", pgsink_error(tp->o.sink)));
        return STAGE_FATAL;
    }
    if (rc != PGSINK_OK) {
        tp->backoff_ms = txparts_backoff_ms(tp->backoff_ms);
        tp->retry_at_mono = lifecycle_mono_ms() + tp->backoff_ms;
        txparts_state(tp, false);
        return STAGE_WAIT_BACKEND;
    }
    tp->backoff_ms = 0;
    txparts_forget(tp); /* the database may have moved on while we were away */
    txparts_state(tp, true);
    return STAGE_DONE;
}

void txparts_abort(struct txparts *tp)
{
    pgsink_rollback(tp->o.sink);
    txparts_forget(tp);
    metric_add(tp->pg_errors, 1);
}

enum stage_step txparts_failed(struct txparts *tp, int rc, const char *where)
{
    struct pgsink *s = tp->o.sink;

    if (rc == PGSINK_FENCED) {
        pgsink_rollback(s);
        txparts_forget(tp);
        metric_add(tp->fenced, 1);
        log_warn("txparts.fenced", LOG_STR("where", where), LOG_STR("reason", pgsink_error(s)));
        return STAGE_DONE; /* redo from the database's offsets */
    }
    txparts_abort(tp);
    if (rc == PGSINK_DOWN) {
        if (pgsink_connected(s)) {
            log_warn("txparts.pg_retry", LOG_STR("where", where),
                     LOG_STR("error", pgsink_error(s)));
        }
        pgsink_disconnect(s);
        txparts_state(tp, false);
        return STAGE_WAIT_BACKEND;
    }
    log_error("txparts.pg_refused", LOG_STR("where", where), LOG_STR("error", pgsink_error(s)));
    return STAGE_FATAL;
}

bool txparts_ready(const struct txparts *tp, char *why, size_t whylen)
{
    if (!atomic_load(&tp->up)) {
        errbuf_printf(why, whylen, "PostgreSQL unreachable");
        return false;
    }
    return true;
}

/* ---- life cycle ---- */

/* The daemon's prefix and suffix, in tp's scratch. */
static const char *txparts_name(struct txparts *tp, const char *suffix)
{
    snprintf(tp->name, sizeof(tp->name), "%s%s", tp->o.metric_prefix, suffix);
    return tp->name;
}

static void txparts_register_metrics(struct txparts *tp)
{
    struct metrics *r = tp->o.metrics;

    tp->pg_up = metrics_gauge(r, txparts_name(tp, "_pg_up"), "1 while PostgreSQL answers", NULL);
    tp->pg_errors = metrics_counter(r, txparts_name(tp, "_pg_errors_total"),
                                    "Transactions that failed and were retried", NULL);
    tp->fenced =
        metrics_counter(r, txparts_name(tp, "_fenced_total"),
                        "Batches redone because another replica had moved a partition", NULL);
    tp->offsets_reset =
        metrics_counter(r, txparts_name(tp, "_offsets_reset_total"),
                        "Partitions whose applied offsets belonged to another cluster or lay past"
                        " the partition's end, restarted from the broker's offsets",
                        NULL);
}

struct txparts *txparts_new(const struct txparts_opts *o)
{
    struct txparts *tp = NULL;

    if (o->stage == NULL || o->sink == NULL || o->topics == NULL || o->ntopics == 0 ||
        o->ntopics > TXPARTS_TOPICS_MAX || o->metric_prefix == NULL) {
        return NULL;
    }
    tp = calloc(1, sizeof(*tp));
    if (tp == NULL) {
        return NULL;
    }
    tp->o = *o;
    tp->parts = calloc(o->ntopics * TXPARTS_PARTS_MAX, sizeof(*tp->parts));
    if (tp->parts == NULL) {
        free(tp);
        return NULL;
    }
    atomic_init(&tp->up, false);
    txparts_register_metrics(tp);
    return tp;
}

void txparts_free(struct txparts *tp)
{
    if (tp == NULL) {
        return;
    }
    free(tp->parts);
    free(tp);
}
