#include "daemon.h"

#include "analytics/copybuf.h"
#include "analytics/deadletter.h"
#include "analytics/errbuf.h"
#include "analytics/kafka.h"
#include "analytics/lifecycle.h"
#include "analytics/log.h"
#include "analytics/metrics.h"
#include "analytics/pgsink.h"
#include "analytics/stage.h"
#include "analytics/txparts.h"
#include "analytics/v1/enriched_event.pb-c.h"
#include "archive.h"
#include "duebatch.h"
#include "jcache.h"
#include "jcheck.h"
#include "rollup.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JB_FLUSH_MS 10000    /* journey updates awaited before a commit */
#define JB_DUE_EVERY_MS 1000 /* idle sessions and due attempts looked for */
#define JB_DUE_LIMIT 2000    /* states closed per pass */
#define JB_RETENTION_EVERY_MS 3600000LL
#define JB_DAYS_AHEAD 7            /* partitions made ahead of today */
#define JB_FUTURE_DAYS 2           /* an event later than this is refused */
#define JB_CLOCK_BEHIND_WARN_S 300 /* host clock behind the receive times: warn past this */
#define JB_DUE_REFUSED_MS 60000    /* a refused closing of sessions is retried after this */
#define JB_PARTS_MAX DUEBATCH_PARTS_MAX
#define JB_DAYS_KNOWN 64

_Static_assert(JB_PARTS_MAX == TXPARTS_PARTS_MAX, "the due queues cover every partition");

enum jb_slot_kind {
    SLOT_EVENT, /* to archive (and apply unless a bot's) */
    SLOT_SKIP,  /* applied already (journey_offsets says so: txparts_is_applied) */
    SLOT_DEAD,  /* goes to the dead-letter topic */
};

struct jb_slot {
    struct kafka_message m;           /* the stage's, borrowed while the batch is in hand */
    Analytics__V1__EnrichedEvent *ev; /* owned; NULL when undecodable */
    enum jb_slot_kind kind;
    const char *dead_code;
    char dead_reason[256];
    bool refused; /* the database refused what it made: dead-lettered on every attempt */
};

struct jb_metrics {
    struct metric *archived, *duplicates, *skipped, *bots;
    struct metric *touchpoints, *stage_changes, *funnel_steps, *closed, *abandoned;
    struct metric *updates, *dropped;
    struct metric *refused, *clock_behind, *reopened, *abandon_reverted;
};

struct jb_daemon {
    struct jb_daemon_opts o;
    struct stage *rt;                /* the consumer stage: thread, clients, offsets */
    struct kafka_producer *producer; /* the stage's */
    struct kafka_consumer *consumer; /* the stage's */
    const char *topic;               /* the stage's own name of the enriched topic */
    struct pgsink *sink;             /* the connection, transactions, journey_offsets */
    struct txparts *tp;              /* what this replica knows of its partitions */
    struct store *store;
    struct jcache *visitors, *sessions;
    struct apply_out out;
    struct txparts_batch batch;                 /* the partitions of the attempt in hand */
    struct txparts_batch assigned, due_parts;   /* the assigned ones; those with a clock */
    int64_t stream_new[JB_PARTS_MAX];           /* per partition, the clock a batch moves it to */
    long long n_archived, n_duplicates, n_bots; /* of the batch's transaction, counted at commit */
    struct jb_slot *slots;                      /* the batch in hand */
    const struct kafka_message *msgs;           /* the stage's, as slots[i].m */
    size_t nslots;
    size_t lo, hi; /* the slots of the next attempt: all, or a part after a refusal */
    long long batch_started_mono;
    struct copybuf rows;           /* archive rows of the batch */
    struct duebatch due;           /* what falls due during the batch */
    long long days[JB_DAYS_KNOWN]; /* days whose partitions exist */
    size_t ndays;
    long long due_at_mono, retention_at_mono;
    bool clock_warned;         /* journey.host_clock_behind said, not cleared since */
    long long failures_before; /* the stage's delivery failures when a produce began */
    struct jb_metrics m;
};

static void jb_register_metrics(struct jb_daemon *d)
{
    struct metrics *r = d->o.metrics;
    struct jb_metrics *m = &d->m;

    m->archived = metrics_counter(r, "analytics_journey_builder_events_archived_total",
                                  "Events inserted into analytics_events", NULL);
    m->duplicates = metrics_counter(r, "analytics_journey_builder_duplicates_total",
                                    "Events whose event_id was archived already", NULL);
    m->skipped = metrics_counter(r, "analytics_journey_builder_replayed_skipped_total",
                                 "Messages skipped because the database had applied them", NULL);
    m->bots = metrics_counter(r, "analytics_journey_builder_bot_events_total",
                              "Bot events archived and kept out of journeys", NULL);
    m->touchpoints = metrics_counter(r, "analytics_journey_builder_touchpoints_total",
                                     "Journey rows written", NULL);
    m->stage_changes = metrics_counter(r, "analytics_journey_builder_stage_changes_total",
                                       "Visitors moving to another journey stage", NULL);
    m->funnel_steps = metrics_counter(r, "analytics_journey_builder_funnel_steps_total",
                                      "Funnel steps reached", NULL);
    m->closed = metrics_counter(r, "analytics_journey_builder_sessions_closed_total",
                                "Sessions closed after their idle timeout", NULL);
    m->abandoned = metrics_counter(r, "analytics_journey_builder_abandoned_total",
                                   "Funnel attempts counted abandoned", NULL);
    m->updates = metrics_counter(r, "analytics_journey_builder_updates_produced_total",
                                 "Journey updates the broker acknowledged", NULL);
    m->dropped = metrics_counter(r, "analytics_journey_builder_retention_partitions_dropped_total",
                                 "Daily event partitions dropped by retention", NULL);
    m->refused =
        metrics_counter(r, "analytics_journey_builder_refused_total",
                        "Events dead-lettered because the database refused their rows", NULL);
    m->reopened = metrics_counter(r, "analytics_journey_builder_sessions_reopened_total",
                                  "Closed sessions a late event reopened (they close again)", NULL);
    m->abandon_reverted =
        metrics_counter(r, "analytics_journey_builder_abandon_reverted_total",
                        "Abandonments taken back by a late event that moved the attempt on", NULL);
    m->clock_behind = metrics_gauge(
        r, "analytics_journey_builder_host_clock_behind_seconds",
        "How far this host's clock is behind the latest receive time seen (0: not behind)", NULL);
}

/* ---- states ---- */

/* Forgets every state held in memory, with the partitions (txparts_forget
 * calls it): after a failed transaction (the states may hold its effects),
 * a reconnect or a rebalance. */
static void jb_forget_states(void *arg)
{
    struct jb_daemon *d = arg;

    apply_out_reset(&d->out);
    jcache_clear(d->visitors);
    jcache_clear(d->sessions);
}

static void jb_release_batch(struct jb_daemon *d)
{
    for (size_t i = 0; d->slots != NULL && i < d->nslots; i++) {
        analytics__v1__enriched_event__free_unpacked(d->slots[i].ev, NULL);
    }
    d->nslots = 0;
    d->lo = d->hi = 0;
    d->msgs = NULL;
}

/* The stage abandons the batch in hand (revoked, or the stop deadline). */
static void jb_drop(void *arg)
{
    jb_release_batch(arg);
}

/* Partitions were revoked: nothing is in flight between batches, and every
 * state may change elsewhere now. */
static void jb_revoked(void *arg)
{
    struct jb_daemon *d = arg;

    if (d->tp != NULL) { /* NULL only while jb_daemon_start fails */
        txparts_forget(d->tp);
    }
}

/* Evicts the states beyond the caches' bounds (between batches only). */
static void jb_trim(struct jb_daemon *d)
{
    jcache_trim(d->visitors);
    jcache_trim(d->sessions);
}

/* ---- partitions ---- */

/* What this replica knows of partition p of the topic; NULL when p is out
 * of range. */
static struct txpart *jb_part(struct jb_daemon *d, int32_t p)
{
    return txparts_get(d->tp, d->topic, p);
}

/* How far an event moves its partition's clock (txparts_event_clock_ms):
 * its time, but at most TXPARTS_CLOCK_AHEAD_MS past its receive time. */
static long long jb_event_clock(const Analytics__V1__EnrichedEvent *ev)
{
    return txparts_event_clock_ms(ev->event_ts_ms, ev->received_ts_ms);
}

/* ---- delivery ---- */

static int jb_send_deadletter(struct jb_daemon *d, const struct jb_slot *s, long long now_ms)
{
    const char *fp = s->ev != NULL && s->ev->fingerprint != NULL ? s->ev->fingerprint : "";
    struct deadletter_src src = {
        .service = "analytics-journey-builder",
        .topic = d->o.topic_enriched,
        .partition = s->m.partition,
        .offset = s->m.offset,
        .code = s->dead_code,
        .reason = s->dead_reason,
        .cause_event_id = s->ev != NULL ? s->ev->event_id : NULL,
        .fingerprint = fp,
        .original = s->m.payload,
        .len = s->m.len,
        .content_type = "application/x-protobuf",
        .ts_ms = now_ms,
    };
    size_t len = 0;
    uint8_t *buf = deadletter_pack(&src, &len);

    if (buf == NULL) {
        return -1;
    }
    int rc =
        stage_send(d->rt, d->o.topic_deadletter, fp[0] != '\0' ? fp : NULL, buf, len, JB_FLUSH_MS);
    free(buf);
    return rc;
}

/* Queues the batch's journey updates and dead letters, so the broker
 * works on them while the database writes. Returns STAGE_DONE or
 * STAGE_WAIT_BROKER. */
static enum stage_step jb_produce_queue(struct jb_daemon *d)
{
    long long now = lifecycle_now_ms();

    d->failures_before = stage_delivery_failures(d->rt);
    for (size_t i = 0; i < d->out.nmsgs; i++) {
        const struct apply_msg *m = &d->out.msgs[i];
        if (stage_send(d->rt, d->o.topic_journeys, m->key, m->buf, m->len, JB_FLUSH_MS) != 0) {
            return STAGE_WAIT_BROKER;
        }
    }
    for (size_t i = d->lo; i < d->hi; i++) {
        if (d->slots[i].kind == SLOT_DEAD && jb_send_deadletter(d, &d->slots[i], now) != 0) {
            return STAGE_WAIT_BROKER;
        }
    }
    return STAGE_DONE;
}

/* Waits until the broker acknowledged everything queued. Returns STAGE_DONE
 * or STAGE_WAIT_BROKER. */
static enum stage_step jb_produce_wait(struct jb_daemon *d)
{
    if (!stage_sends_acked(d->rt, d->failures_before, JB_FLUSH_MS)) {
        return STAGE_WAIT_BROKER;
    }
    metric_add(d->m.updates, (double)d->out.nmsgs);
    return STAGE_DONE;
}

/* ---- a batch ---- */

static void jb_dead(struct jb_slot *s, const char *code, const char *reason)
{
    s->kind = SLOT_DEAD;
    s->dead_code = code;
    snprintf(s->dead_reason, sizeof(s->dead_reason), "%s", reason);
}

/* Decodes the batch's messages; the undecodable go to dead letters. */
static void jb_decode(struct jb_daemon *d)
{
    for (size_t i = 0; i < d->nslots; i++) {
        struct jb_slot *s = &d->slots[i];
        s->kind = SLOT_EVENT;
        s->ev = analytics__v1__enriched_event__unpack(NULL, s->m.len, s->m.payload);
        if (s->ev == NULL) {
            jb_dead(s, "undecodable", "not an analytics.v1.EnrichedEvent");
        }
    }
}

static bool jb_day_known(const struct jb_daemon *d, long long day)
{
    for (size_t i = 0; i < d->ndays; i++) {
        if (d->days[i] == day) {
            return true;
        }
    }
    return false;
}

/* Scratch arrays of one batch, one entry per message. */
struct jb_scratch {
    size_t *starts, *idx;
    const char **ids, **fps, **sids;
    int32_t *parts;
    long long *days, *ms;
};

/* Whether slot s's event time can be kept, against the stream's clock
 * (jcheck_time); dead-letters it when not. */
static bool jb_time_ok(const struct jb_daemon *d, struct jb_slot *s, const struct txpart *p)
{
    long long ref = jcheck_reference_ms(s->ev->received_ts_ms, p != NULL ? p->stream_ms : 0,
                                        lifecycle_now_ms());

    switch (jcheck_time(s->ev->event_ts_ms, ref, d->o.retention_days, JB_FUTURE_DAYS)) {
    case JCHECK_TIME_EXPIRED:
        jb_dead(s, "expired", "event time older than the retention period");
        return false;
    case JCHECK_TIME_FUTURE:
        jb_dead(s, "future", "event time more than two days after it was received");
        return false;
    default:
        return true;
    }
}

/* Sorts the attempt's slots out: applied already, too old or too far
 * ahead to keep, refused by the database before, not archivable; builds
 * the archive rows of the others (row k: event ids[k] at ms[k], slot
 * idx[k]). Returns 0, or -1 when memory runs out. */
static int jb_classify(struct jb_daemon *d, struct jb_scratch *sc, size_t *nrows, size_t *ndays)
{
    char err[256];

    copybuf_reset(&d->rows);
    *nrows = *ndays = 0;
    for (size_t i = d->lo; i < d->hi; i++) {
        struct jb_slot *s = &d->slots[i];
        const struct txpart *p = jb_part(d, s->m.partition);
        bool applied = txparts_is_applied(d->tp, &s->m);
        if (s->kind == SLOT_DEAD && s->ev == NULL) {
            if (applied) {
                s->kind = SLOT_SKIP;
            }
            continue;
        }
        s->kind = applied ? SLOT_SKIP : SLOT_EVENT;
        if (s->kind == SLOT_SKIP) {
            continue;
        }
        if (s->refused) {
            s->kind = SLOT_DEAD;
            continue;
        }
        if (!jb_time_ok(d, s, p)) {
            continue;
        }
        long long day = archive_day(s->ev->event_ts_ms);
        size_t start = copybuf_len(&d->rows);
        int rc = archive_row(&d->rows, s->ev, err, sizeof(err));
        if (rc == ARCHIVE_NOMEM) {
            return -1;
        }
        if (rc != 0) {
            jb_dead(s, "invalid_event", err);
            continue;
        }
        sc->starts[*nrows] = start;
        sc->ids[*nrows] = s->ev->event_id;
        sc->ms[*nrows] = s->ev->event_ts_ms;
        sc->idx[(*nrows)++] = i;
        if (!jb_day_known(d, day)) {
            size_t k = 0;
            while (k < *ndays && sc->days[k] != day) {
                k++;
            }
            if (k == *ndays) {
                sc->days[(*ndays)++] = day;
            }
        }
    }
    return copybuf_failed(&d->rows) ? -1 : 0;
}

static void jb_remember_days(struct jb_daemon *d, const long long *days, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (d->ndays == JB_DAYS_KNOWN) {
            memmove(d->days, d->days + 1, (JB_DAYS_KNOWN - 1) * sizeof(d->days[0]));
            d->ndays--;
        }
        d->days[d->ndays++] = days[i];
    }
}

static bool jb_is_bot(const Analytics__V1__EnrichedEvent *ev)
{
    return ev->bot != NULL && ev->bot->is_bot;
}

static const char *jb_session_id(const Analytics__V1__EnrichedEvent *ev)
{
    return ev->session != NULL && ev->session->session_id != NULL &&
                   ev->session->session_id[0] != '\0'
               ? ev->session->session_id
               : NULL;
}

/* Asks the database which states of the batch's partitions fall due by
 * the clock the batch's events will move them to (duebatch_find). */
static int jb_find_batch_due(struct jb_daemon *d, const int32_t *parts, size_t nparts,
                             const struct jb_scratch *sc, size_t nrows)
{
    int64_t *end = d->stream_new;

    for (size_t k = 0; k < nparts; k++) {
        end[parts[k]] = jb_part(d, parts[k])->stream_ms;
    }
    for (size_t i = 0; i < nrows; i++) {
        const struct jb_slot *s = &d->slots[sc->idx[i]];
        long long t = jb_is_bot(s->ev) ? 0 : jb_event_clock(s->ev);
        end[s->m.partition] = t > end[s->m.partition] ? t : end[s->m.partition];
    }
    return duebatch_find(&d->due, d->store, parts, nparts, end);
}

/* Archives the rows and applies the new events of the attempt (inside the
 * transaction). Each event first moves its partition's clock, and what
 * that clock has reached falls due before and after it. Returns an enum
 * pgsink_rc. */
static int jb_apply_batch(struct jb_daemon *d, const struct jb_scratch *sc, size_t nrows,
                          const int32_t *parts, size_t nparts, int64_t *stream)
{
    enum store_row *status = calloc(nrows + 1, sizeof(*status));
    char(*reasons)[256] = calloc(nrows + 1, sizeof(*reasons));
    int rc = PGSINK_REFUSED;

    pgsink_set_error(d->sink, "out of memory applying an event");
    if (status == NULL || reasons == NULL || duebatch_start(&d->due, parts, nparts) != 0) {
        goto out;
    }
    rc = store_archive(d->store, &d->rows, sc->starts, nrows, sc->ids, sc->ms, status, reasons);
    for (size_t i = 0; rc == PGSINK_OK && i < nrows; i++) {
        struct jb_slot *s = &d->slots[sc->idx[i]];
        const Analytics__V1__EnrichedEvent *ev = s->ev;
        int32_t part = s->m.partition;
        if (status[i] == STORE_ROW_REFUSED) {
            jb_dead(s, "refused", reasons[i]);
            continue;
        }
        if (status[i] == STORE_ROW_DUPLICATE) {
            d->n_duplicates++;
            continue;
        }
        d->n_archived++;
        if (jb_is_bot(ev)) {
            d->n_bots++;
            continue;
        }
        struct jstate_visitor *v = jcache_get(d->visitors, ev->fingerprint);
        const char *sid = jb_session_id(ev);
        struct jstate_session *ss = sid != NULL ? jcache_get(d->sessions, sid) : NULL;
        long long t = jb_event_clock(ev);
        stream[part] = t > stream[part] ? t : stream[part];
        if (v == NULL || (sid != NULL && ss == NULL) ||
            duebatch_drain(&d->due, part, stream[part], &d->out) != 0 ||
            apply_event(d->o.ctx, v, ss, ev, &d->out) != 0 ||
            (ss != NULL && duebatch_session(&d->due, ss) != 0) ||
            duebatch_visitor(&d->due, v) != 0 ||
            duebatch_drain(&d->due, part, stream[part], &d->out) != 0) {
            pgsink_set_error(d->sink, "out of memory applying an event");
            rc = PGSINK_REFUSED;
            break;
        }
    }
    for (size_t k = 0; rc == PGSINK_OK && k < nparts; k++) {
        if (duebatch_drain(&d->due, parts[k], stream[parts[k]], &d->out) != 0) {
            pgsink_set_error(d->sink, "out of memory closing a session");
            rc = PGSINK_REFUSED;
        }
    }
out:
    free(status);
    free(reasons);
    return rc;
}

static void jb_count(struct jb_daemon *d)
{
    const struct apply_stats *s = &d->out.stats;

    metric_add(d->m.touchpoints, (double)s->touchpoints);
    metric_add(d->m.stage_changes, (double)s->stage_changes);
    metric_add(d->m.funnel_steps, (double)s->funnel_steps);
    metric_add(d->m.closed, (double)s->sessions_closed);
    metric_add(d->m.abandoned, (double)s->abandoned);
    metric_add(d->m.reopened, (double)s->reopened);
    metric_add(d->m.abandon_reverted, (double)s->abandon_reverted);
}

/* The batch's transaction, from the states loaded: fence, archive and
 * apply, write, produce, offsets, commit. Returns an enum pgsink_rc, or
 * PGSINK_OK with *broker set when the broker did not acknowledge the
 * updates. */
static int jb_transact(struct jb_daemon *d, const struct jb_scratch *sc, size_t nrows,
                       bool *broker_down)
{
    const struct txparts_batch *b = &d->batch;
    int64_t stream[JB_PARTS_MAX];
    int64_t *by_part = d->stream_new;
    int rc;

    *broker_down = false;
    d->n_archived = d->n_duplicates = d->n_bots = 0;
    for (size_t k = 0; k < b->n; k++) {
        by_part[b->part[k]] = jb_part(d, b->part[k])->stream_ms;
    }
    rc = pgsink_begin(d->sink);
    if (rc == PGSINK_OK) {
        rc = txparts_fence(d->tp, b);
    }
    if (rc == PGSINK_OK) {
        rc = jb_apply_batch(d, sc, nrows, b->part, b->n, by_part);
    }
    if (rc == PGSINK_OK && jb_produce_queue(d) != STAGE_DONE) {
        pgsink_rollback(d->sink);
        *broker_down = true;
        return PGSINK_OK;
    }
    if (rc == PGSINK_OK) {
        rc = store_write(d->store, &d->out);
    }
    for (size_t k = 0; k < b->n; k++) {
        stream[k] = by_part[b->part[k]];
    }
    if (rc == PGSINK_OK) {
        rc = txparts_set(d->tp, b, stream);
    }
    if (rc == PGSINK_OK && jb_produce_wait(d) != STAGE_DONE) {
        pgsink_rollback(d->sink);
        *broker_down = true;
        return PGSINK_OK;
    }
    if (rc == PGSINK_OK) {
        rc = pgsink_commit(d->sink);
    }
    if (rc == PGSINK_OK) {
        txparts_committed(d->tp, b, stream);
    }
    return rc;
}

static void jb_scratch_free(struct jb_scratch *s)
{
    free(s->starts);
    free(s->idx);
    free(s->ids);
    free(s->fps);
    free(s->sids);
    free(s->parts);
    free(s->days);
    free(s->ms);
}

static int jb_scratch_alloc(struct jb_scratch *s, size_t n)
{
    n++;
    s->starts = calloc(n, sizeof(*s->starts));
    s->idx = calloc(n, sizeof(*s->idx));
    s->ids = calloc(n, sizeof(*s->ids));
    s->fps = calloc(n, sizeof(*s->fps));
    s->sids = calloc(n, sizeof(*s->sids));
    s->parts = calloc(n, sizeof(*s->parts));
    s->days = calloc(n, sizeof(*s->days));
    s->ms = calloc(n, sizeof(*s->ms));
    return s->starts && s->idx && s->ids && s->fps && s->sids && s->parts && s->days && s->ms ? 0
                                                                                              : -1;
}

/* The latest receive time of the attempt's events against this host's
 * clock: the gauge, and a warning when the host is behind by more than
 * JB_CLOCK_BEHIND_WARN_S (said once until it is not). An attempt without
 * events changes nothing. */
static void jb_watch_clock(struct jb_daemon *d)
{
    long long wall = lifecycle_now_ms(), received = 0;

    for (size_t i = d->lo; i < d->hi; i++) {
        const Analytics__V1__EnrichedEvent *ev = d->slots[i].ev;
        if (ev != NULL && ev->received_ts_ms > received) {
            received = ev->received_ts_ms;
        }
    }
    if (received <= 0) {
        return;
    }
    long long behind = jcheck_clock_behind_s(received, wall);
    metric_set(d->m.clock_behind, (double)behind);
    if (behind > JB_CLOCK_BEHIND_WARN_S && !d->clock_warned) {
        log_warn("journey.host_clock_behind", LOG_INT("seconds", behind),
                 LOG_INT("received_ms", received), LOG_INT("host_ms", wall));
    }
    d->clock_warned = behind > JB_CLOCK_BEHIND_WARN_S;
}

/* Stores the Kafka offsets of a committed attempt and lets its messages
 * go: the whole batch, or the part of it the attempt held (then the next
 * attempt takes the rest). Returns 0 or -1 (out of memory). */
static int jb_batch_done(struct jb_daemon *d)
{
    if (txparts_store_offsets(d->tp, &d->batch, d->batch_started_mono) != 0) {
        log_error("journey.out_of_memory", LOG_STR("where", "offsets"));
        return -1;
    }
    for (size_t i = d->lo; i < d->hi; i++) {
        const struct jb_slot *s = &d->slots[i];
        if (s->kind == SLOT_SKIP) {
            metric_add(d->m.skipped, 1);
        } else if (s->kind == SLOT_DEAD) {
            stage_count_deadletters(d->rt, 1);
            if (strcmp(s->dead_code, "refused") == 0) {
                metric_add(d->m.refused, 1);
            }
        }
    }
    jb_watch_clock(d);
    metric_add(d->m.archived, (double)d->n_archived);
    metric_add(d->m.duplicates, (double)d->n_duplicates);
    metric_add(d->m.bots, (double)d->n_bots);
    jb_count(d);
    apply_out_reset(&d->out);
    if (d->hi < d->nslots) {
        d->lo = d->hi;
        d->hi = d->nslots;
    } else {
        jb_release_batch(d);
    }
    jb_trim(d);
    return 0;
}

/* The database refused what the attempt's events made (SQLSTATE 22 or 23:
 * the data's fault, whichever table refused it): rolls back and halves the
 * attempt, so that the events at fault are found in a few tries; one alone
 * is dead-lettered ("refused", with the reason) on every later attempt,
 * and the rest goes on. Returns STAGE_DONE to try again at once, or
 * STAGE_FATAL when the attempt was refused without any event left to blame. */
static enum stage_step jb_refused(struct jb_daemon *d)
{
    char reason[256];
    size_t n = d->hi - d->lo;
    struct jb_slot *s = &d->slots[d->lo];

    if (n == 0 || (n == 1 && (s->refused || s->kind != SLOT_EVENT || s->ev == NULL))) {
        return txparts_failed(d->tp, PGSINK_REFUSED, "batch");
    }
    snprintf(reason, sizeof(reason), "%s", pgsink_error(d->sink));
    txparts_abort(d->tp);
    if (n > 1) {
        d->hi = d->lo + n / 2;
        log_warn("journey.batch_split", LOG_STR("reason", reason), LOG_INT("events", n),
                 LOG_INT("retrying", d->hi - d->lo));
        return STAGE_DONE;
    }
    s->refused = true;
    jb_dead(s, "refused", reason);
    log_warn("journey.event_refused", LOG_STR("event_id", s->ev->event_id),
             LOG_INT("partition", s->m.partition), LOG_INT("offset", s->m.offset),
             LOG_STR("reason", reason));
    return STAGE_DONE;
}

/* One attempt at the batch in hand (slots lo..hi). STAGE_DONE when it is
 * committed (or must be redone at once), else why it waits. */
static enum stage_step jb_process(struct jb_daemon *d)
{
    const struct txparts_batch *b = &d->batch;
    size_t nrows = 0, ndays = 0, nlive = 0, bad = 0;
    struct jb_scratch sc = {0};
    enum stage_step st = STAGE_FATAL;
    bool broker_down = false;
    int rc;

    st = txparts_connect(d->tp);
    if (st != STAGE_DONE) {
        return st;
    }
    st = STAGE_FATAL;
    if (txparts_batch_collect(&d->batch, d->msgs + d->lo, d->hi - d->lo, &bad) != 0) {
        log_error("journey.partition_out_of_range",
                  LOG_INT("partition", d->msgs[d->lo + bad].partition));
        return STAGE_FATAL;
    }
    if (jb_scratch_alloc(&sc, d->nslots) != 0) {
        goto out_oom;
    }
    rc = txparts_load(d->tp, b, true);
    if (rc != PGSINK_OK) {
        st = txparts_failed(d->tp, rc, "read offsets");
        goto out;
    }
    if (jb_classify(d, &sc, &nrows, &ndays) != 0) {
        goto out_oom;
    }
    if (ndays > 0) {
        rc = store_ensure_days(d->store, sc.days, ndays);
        if (rc != PGSINK_OK) {
            st = txparts_failed(d->tp, rc, "ensure partitions");
            goto out;
        }
        jb_remember_days(d, sc.days, ndays);
    }
    for (size_t i = 0; i < nrows; i++) {
        const struct jb_slot *s = &d->slots[sc.idx[i]];
        if (!jb_is_bot(s->ev)) {
            sc.fps[nlive] = s->ev->fingerprint;
            sc.sids[nlive] = jb_session_id(s->ev);
            sc.parts[nlive++] = s->m.partition;
        }
    }
    rc = jb_find_batch_due(d, b->part, b->n, &sc, nrows);
    if (rc == PGSINK_OK) {
        rc = duebatch_load_batch(&d->due, d->store, sc.fps, sc.sids, sc.parts, nlive);
    }
    if (rc == PGSINK_OK) {
        rc = jb_transact(d, &sc, nrows, &broker_down);
    }
    if (rc == PGSINK_REFUSED && pgsink_refused_by_data(d->sink)) {
        st = jb_refused(d);
        goto out;
    }
    if (rc != PGSINK_OK) {
        st = txparts_failed(d->tp, rc, "batch");
        goto out;
    }
    if (broker_down) {
        txparts_forget(d->tp);
        st = STAGE_WAIT_BROKER;
        goto out;
    }
    st = jb_batch_done(d) == 0 ? STAGE_DONE : STAGE_FATAL;
    goto out;
out_oom:
    log_error("journey.out_of_memory", LOG_STR("where", "batch"));
out:
    jb_scratch_free(&sc);
    return st;
}

/* ---- sessions and attempts falling due ---- */

/* Applies the states due, in a transaction fenced on their partitions
 * (d->due_parts: nparts of them, whose clocks are now[]). */
static int jb_apply_due(struct jb_daemon *d, const struct store_due *due, size_t n,
                        const int64_t *now, size_t nparts, bool *broker_down)
{
    const int32_t *parts = d->due_parts.part;
    int rc = pgsink_begin(d->sink);

    if (rc == PGSINK_OK) {
        rc = txparts_fence(d->tp, &d->due_parts);
    }
    for (size_t i = 0; rc == PGSINK_OK && i < n; i++) {
        struct jstate_visitor *v = jcache_get(d->visitors, due[i].fingerprint);
        struct jstate_session *s =
            due[i].session_id != NULL ? jcache_get(d->sessions, due[i].session_id) : NULL;
        int64_t t = 0;
        for (size_t k = 0; k < nparts; k++) {
            t = parts[k] == due[i].partition ? now[k] : t;
        }
        int r = -1;
        if (v != NULL && due[i].close && s != NULL) {
            r = jsession_idle(&s->s, t, d->o.session_idle_ms)
                    ? apply_close_session(d->o.ctx, v, s, &d->out)
                    : 0;
        } else if (v != NULL && !due[i].close) {
            r = apply_abandon_due(d->o.ctx, v, s, t, &d->out);
        }
        if (r != 0) {
            pgsink_set_error(d->sink, "out of memory closing a session");
            rc = PGSINK_REFUSED;
        }
    }
    if (rc == PGSINK_OK && jb_produce_queue(d) != STAGE_DONE) {
        pgsink_rollback(d->sink);
        *broker_down = true;
        return PGSINK_OK;
    }
    if (rc == PGSINK_OK) {
        rc = store_write(d->store, &d->out);
    }
    if (rc == PGSINK_OK && jb_produce_wait(d) != STAGE_DONE) {
        pgsink_rollback(d->sink);
        *broker_down = true;
        return PGSINK_OK;
    }
    return rc == PGSINK_OK ? pgsink_commit(d->sink) : rc;
}

/* The partitions of d->assigned with a clock, into d->due_parts, and
 * their close and abandon times. Returns how many. */
static size_t jb_due_clocks(struct jb_daemon *d, int64_t *close_before, int64_t *now)
{
    const struct txparts_batch *a = &d->assigned;
    size_t k = 0;

    txparts_batch_reset(&d->due_parts);
    for (size_t i = 0; i < a->n; i++) {
        const struct txpart *p = jb_part(d, a->part[i]);
        if (p == NULL || !p->known || p->stream_ms <= 0) {
            continue;
        }
        now[k] = txparts_clock(d->tp, d->topic, a->part[i]);
        close_before[k] = now[k] - d->o.session_idle_ms + 1; /* as duebatch_find */
        txparts_batch_add(&d->due_parts, d->topic, a->part[i], -1);
        k++;
    }
    return k;
}

/* Reads back the states of due[0..n) that memory does not hold. */
static int jb_load_due(struct jb_daemon *d, const struct store_due *due, size_t n)
{
    const char **fps = calloc(n, sizeof(*fps)), **sids = calloc(n, sizeof(*sids));
    int32_t *parts = calloc(n, sizeof(*parts));
    int rc = PGSINK_REFUSED;

    pgsink_set_error(d->sink, "out of memory");
    if (fps != NULL && sids != NULL && parts != NULL) {
        for (size_t i = 0; i < n; i++) {
            fps[i] = due[i].fingerprint;
            sids[i] = due[i].session_id;
            parts[i] = due[i].partition;
        }
        rc = duebatch_load(&d->due, d->store, fps, sids, parts, n);
    }
    free(fps);
    free(sids);
    free(parts);
    return rc;
}

/* Closes the sessions gone idle and abandons the attempts fallen due on
 * this replica's partitions. */
static enum stage_step jb_due(struct jb_daemon *d)
{
    int32_t parts[JB_PARTS_MAX];
    int64_t close_before[JB_PARTS_MAX], now[JB_PARTS_MAX];
    struct store_due *due = NULL;
    size_t ndue = 0;
    bool broker_down = false;
    int n = kafka_consumer_assignment(d->consumer, parts, JB_PARTS_MAX), rc;

    if (n <= 0) {
        return STAGE_IDLE;
    }
    txparts_batch_reset(&d->assigned);
    for (int i = 0; i < n; i++) {
        txparts_batch_add(&d->assigned, d->topic, parts[i], -1);
    }
    rc = txparts_load(d->tp, &d->assigned, false);
    size_t np = rc == PGSINK_OK ? jb_due_clocks(d, close_before, now) : 0;
    if (rc == PGSINK_OK && np > 0) {
        rc = store_find_due(d->store, d->due_parts.part, close_before, now, np, JB_DUE_LIMIT, &due,
                            &ndue);
    }
    if (rc == PGSINK_OK && ndue > 0) {
        rc = jb_load_due(d, due, ndue);
    }
    if (rc == PGSINK_OK && ndue > 0) {
        rc = jb_apply_due(d, due, ndue, now, np, &broker_down);
    }
    store_due_free(due, ndue);
    if (rc == PGSINK_REFUSED && pgsink_refused_by_data(d->sink)) {
        /* Not one event's fault: nothing to dead-letter. Say it and try
         * later rather than exit (a restart would meet the same rows). */
        log_error("journey.due_refused", LOG_STR("error", pgsink_error(d->sink)));
        txparts_abort(d->tp);
        d->due_at_mono = lifecycle_mono_ms() + JB_DUE_REFUSED_MS;
        return STAGE_IDLE;
    }
    if (rc != PGSINK_OK) {
        return txparts_failed(d->tp, rc, "close idle sessions");
    }
    if (broker_down) {
        txparts_forget(d->tp);
        return STAGE_WAIT_BROKER;
    }
    if (ndue > 0) {
        jb_count(d);
        apply_out_reset(&d->out);
        jb_trim(d);
    }
    if (ndue >= JB_DUE_LIMIT) {
        d->due_at_mono = 0; /* more are due: go on at the next turn */
    }
    return ndue > 0 ? STAGE_DONE : STAGE_IDLE;
}

/* Retention and partitions ahead, once an hour. */
static enum stage_step jb_retention(struct jb_daemon *d)
{
    int dropped = 0;
    int rc = store_retention(d->store, d->o.retention_days, &dropped);

    if (rc == PGSINK_OK) {
        rc = store_ensure_ahead(d->store, JB_DAYS_AHEAD);
    }
    if (rc != PGSINK_OK) {
        return txparts_failed(d->tp, rc, "retention");
    }
    d->ndays = 0;
    metric_add(d->m.dropped, dropped);
    log_info("journey.retention", LOG_INT("days", d->o.retention_days),
             LOG_INT("partitions_dropped", dropped));
    return STAGE_DONE;
}

/* What runs between batches when its time has come. */
static enum stage_step jb_housekeeping(struct jb_daemon *d)
{
    long long now = lifecycle_mono_ms();
    enum stage_step st = STAGE_IDLE;

    if (now < d->due_at_mono && now < d->retention_at_mono) {
        return STAGE_IDLE;
    }
    st = txparts_connect(d->tp);
    if (st != STAGE_DONE) {
        return st;
    }
    st = STAGE_IDLE;
    if (now >= d->retention_at_mono) {
        st = jb_retention(d);
        if (st != STAGE_DONE) {
            return st;
        }
        d->retention_at_mono = now + JB_RETENTION_EVERY_MS;
    }
    if (now >= d->due_at_mono) {
        d->due_at_mono = now + JB_DUE_EVERY_MS;
        st = jb_due(d);
    }
    return st;
}

/* ---- the stage's callbacks ---- */

/* Takes a new batch's messages (borrowed until it is finished) and decodes
 * them. */
static void jb_begin(struct jb_daemon *d, const struct stage_batch *sb)
{
    for (size_t i = 0; i < sb->n; i++) {
        d->slots[i] = (struct jb_slot){.m = sb->msgs[i]};
    }
    d->msgs = sb->msgs;
    d->nslots = sb->n;
    d->lo = 0;
    d->hi = d->nslots;
    d->batch_started_mono = sb->started_mono_ms;
    jb_decode(d);
}

/* One attempt at the batch in hand: STAGE_DONE once all of it is
 * committed, STAGE_AGAIN when a part is left (or must be redone). */
static enum stage_step jb_process_cb(void *arg, const struct stage_batch *sb)
{
    struct jb_daemon *d = arg;

    if (d->nslots == 0) {
        jb_begin(d, sb);
    }
    enum stage_step st = jb_process(d);
    return st == STAGE_DONE && d->nslots > 0 ? STAGE_AGAIN : st;
}

/* Between batches: fetch nothing while PostgreSQL is away (it could not be
 * applied), else closing, abandonment and retention when due. */
static enum stage_step jb_tick(void *arg)
{
    struct jb_daemon *d = arg;

    if (!pgsink_connected(d->sink)) {
        enum stage_step st = txparts_connect(d->tp);
        if (st != STAGE_DONE) {
            return st;
        }
    }
    return jb_housekeeping(d);
}

static bool jb_pg_ready(void *arg, char *why, size_t whylen)
{
    const struct jb_daemon *d = arg;

    return txparts_ready(d->tp, why, whylen);
}

/* ---- life cycle ---- */

static int jb_stage(struct jb_daemon *d, char *err, size_t errlen)
{
    const struct jb_daemon_opts *o = &d->o;
    const char *topics[] = {o->topic_enriched, NULL};
    struct stage_opts so = o->stage;

    so.metric_prefix = "analytics_journey_builder";
    so.backend = "postgresql";
    so.topics = topics;
    so.producer_queue_max = (int)so.batch_max * 8 + 10000;
    so.metrics = o->metrics;
    so.ops = (struct stage_ops){.process = jb_process_cb,
                                .tick = jb_tick,
                                .ready = jb_pg_ready,
                                .drop = jb_drop,
                                .revoked = jb_revoked};
    so.arg = d;

    d->rt = stage_new(&so, err, errlen);
    if (d->rt == NULL) {
        return -1;
    }
    d->producer = stage_producer(d->rt);
    d->consumer = stage_consumer(d->rt);
    d->topic = stage_topic(d->rt, 0);
    return 0;
}

/* The partitions of the enriched topic, on the stage and the sink. */
static int jb_parts(struct jb_daemon *d)
{
    struct txparts_opts to = {
        .stage = d->rt,
        .sink = d->sink,
        .topics = &d->topic,
        .ntopics = 1,
        .connect_timeout_s = d->o.pg_connect_timeout_s,
        .metric_prefix = "analytics_journey_builder",
        .metrics = d->o.metrics,
        .forget = jb_forget_states,
        .arg = d,
    };

    d->tp = txparts_new(&to);
    return d->tp != NULL ? 0 : -1;
}

struct jb_daemon *jb_daemon_start(const struct jb_daemon_opts *o, char *err, size_t errlen)
{
    struct jb_daemon *d = calloc(1, sizeof(*d));

    if (d == NULL) {
        errbuf_printf(err, errlen, "out of memory");
        return NULL;
    }
    d->o = *o;
    apply_out_init(&d->out);
    copybuf_init(&d->rows);
    d->slots = calloc(o->stage.batch_max, sizeof(*d->slots));
    d->visitors = jcache_new(o->visitor_cache, jstate_visitor_free);
    d->sessions = jcache_new(o->session_cache, jstate_session_free);
    d->sink = pgsink_new(o->pg_dsn, "analytics-journey-builder", "journey_offsets");
    d->store = d->sink != NULL ? store_new(d->sink, o->ctx) : NULL;
    if (d->slots == NULL || d->visitors == NULL || d->sessions == NULL || d->store == NULL) {
        errbuf_printf(err, errlen, "out of memory");
        goto out_free; /* d->due zeroed: duebatch_fini accepts it */
    }
    duebatch_init(&d->due, o->ctx, d->visitors, d->sessions, o->session_idle_ms);
    jb_register_metrics(d);
    if (jb_stage(d, err, errlen) != 0) {
        goto out_free;
    }
    if (jb_parts(d) != 0) {
        errbuf_printf(err, errlen, "out of memory");
        goto out_free;
    }
    if (stage_start(d->rt, err, errlen) != 0) {
        goto out_free;
    }
    return d;

out_free:
    jb_daemon_free(d);
    return NULL;
}

struct stage *jb_daemon_stage(struct jb_daemon *d)
{
    return d->rt;
}

void jb_daemon_free(struct jb_daemon *d)
{
    if (d == NULL) {
        return;
    }
    stage_free(d->rt); /* stops the thread; may call jb_drop and jb_revoked */
    d->rt = NULL;
    jb_release_batch(d);
    apply_out_fini(&d->out);
    copybuf_fini(&d->rows);
    duebatch_fini(&d->due);
    jcache_free(d->visitors);
    jcache_free(d->sessions);
    txparts_free(d->tp);
    store_free(d->store);
    pgsink_free(d->sink);
    free(d->slots);
    free(d);
}
