/*
 * The churn warnings falling due (see daemon.h and churn_due.h), between
 * batches on the consumer thread: per partition of events.enriched this
 * replica holds, its clock (txparts_clock: the latest event time applied,
 * moved on by monotonic time only once caught up); the scheduled warnings
 * that clock has reached, soonest first; each visitor's profile (cache or
 * database) scored at the warning's moment, and in one transaction fenced
 * on the partitions: the ScoreUpdate produced and acknowledged, its
 * prediction, the profile's churn columns and state (warned for this
 * silence), the hot profile in Redis, the schedule deleted. A failure
 * rolls all of it back and the next pass finds the same warnings again;
 * a ScoreUpdate produced by an attempt that then failed is produced again
 * (at least once, as every ScoreUpdate).
 */
#include "daemon_priv.h"

#include "analytics/lifecycle.h"
#include "analytics/log.h"
#include "analytics/metrics.h"
#include "analytics/pgsink.h"
#include "churn_due.h"
#include "sstore.h"

#include <stdlib.h>

#define SC_DUE_EVERY_MS 1000    /* warnings looked for this often */
#define SC_DUE_LIMIT 1000       /* warnings sent per pass, at most the batch size */
#define SC_DUE_REFUSED_MS 60000 /* a pass the database refused is tried again after this */

/* The partitions of events.enriched assigned with a clock into
 * d->due_parts, their clocks into clocks. Returns an enum pgsink_rc. */
static int due_clocks(struct scorer_daemon *d, int64_t *clocks)
{
    int32_t *parts = d->due_ids;
    int n =
        kafka_consumer_assignment_of(stage_consumer(d->rt), d->topics[0], parts, TXPARTS_PARTS_MAX);
    int rc = PGSINK_OK;

    txparts_batch_reset(&d->due_assigned);
    txparts_batch_reset(&d->due_parts);
    for (int i = 0; i < n; i++) {
        (void)txparts_batch_add(&d->due_assigned, d->topics[0], parts[i], -1);
    }
    if (d->due_assigned.n > 0) {
        rc = txparts_load(d->tp, &d->due_assigned, false);
    }
    for (size_t i = 0; rc == PGSINK_OK && i < d->due_assigned.n; i++) {
        long long clock = txparts_clock(d->tp, d->topics[0], d->due_assigned.part[i]);
        if (clock > 0) {
            clocks[d->due_parts.n] = clock;
            (void)txparts_batch_add(&d->due_parts, d->topics[0], d->due_assigned.part[i], -1);
        }
    }
    return rc;
}

/* The clock of partition part among d->due_parts. */
static long long due_clock_of(const struct scorer_daemon *d, const int64_t *clocks, int part)
{
    for (size_t k = 0; k < d->due_parts.n; k++) {
        if (d->due_parts.part[k] == part) {
            return clocks[k];
        }
    }
    return 0;
}

/* Sends entry e's warning as of plan's moment. Returns an enum pgsink_rc. */
static int due_fire(struct scorer_daemon *d, struct sc_entry *e, const struct churn_due *plan)
{
    char cause[CHURN_DUE_CAUSE_MAX];
    struct profile *p = &e->v.p;

    churn_due_mark(p);
    churn_due_cause(p->fingerprint, plan->at_ms, cause, sizeof(cause));
    int rc = scorer_daemon_score(d, e, 0, cause, plan->at_ms, plan->reason);
    if (rc == PGSINK_OK) {
        sstore_add_warned(d->store, p, &e->r);
        sstore_add_due(d->store, p->fingerprint, e->partition, 0, NULL);
    }
    return rc;
}

/* Stages what each due warning becomes: sent, moved (a churn model
 * refitted since it was scheduled says later), or dropped (none is due
 * now). Sets *fired to how many are sent. Returns an enum pgsink_rc. */
static int due_stage(struct scorer_daemon *d, const struct sstore_due *due, size_t n,
                     const int64_t *clocks, size_t *fired)
{
    int rc;

    *fired = 0;
    scorer_daemon_reset_attempt(d);
    for (size_t i = 0; i < n; i++) {
        (void)scorer_daemon_entry(d, due[i].fingerprint, due[i].partition);
    }
    rc = scorer_daemon_load_missing(d);
    for (size_t i = 0; rc == PGSINK_OK && i < d->nentries; i++) {
        struct sc_entry *e = &d->entries[i];
        struct churn_due plan = {0, NULL};
        if (e->v.p.events > 0) { /* else gone (erased): nothing to warn */
            churn_due_plan(&d->models.m, &d->o.score, &e->v.p,
                           scorer_daemon_utc_offset_ms(d, e->v.p.last_seen_ms), &plan);
        }
        switch (churn_due_decide(&plan, due_clock_of(d, clocks, e->partition))) {
        case CHURN_DUE_FIRE:
            rc = due_fire(d, e, &plan);
            (*fired)++;
            break;
        case CHURN_DUE_MOVE:
            sstore_add_due(d->store, e->v.p.fingerprint, e->partition, plan.at_ms, plan.reason);
            break;
        case CHURN_DUE_DROP:
            sstore_add_due(d->store, e->v.p.fingerprint, e->partition, 0, NULL);
            break;
        }
    }
    return rc;
}

/* The warnings due, staged and written. Sets *wait when the broker or
 * Redis made the transaction roll back. Returns an enum pgsink_rc. */
static int due_apply(struct scorer_daemon *d, const struct sstore_due *due, size_t n,
                     const int64_t *clocks, enum stage_step *wait)
{
    size_t fired = 0;
    int rc = due_stage(d, due, n, clocks, &fired);

    *wait = STAGE_DONE;
    if (rc == PGSINK_OK) {
        rc = scorer_daemon_transact(d, &d->due_parts, NULL, wait);
    }
    if (rc == PGSINK_OK && *wait == STAGE_DONE) {
        metric_add(d->m.warnings, (double)fired);
        scorer_daemon_committed(d);
    }
    scorer_daemon_reset_attempt(d);
    return rc;
}

enum stage_step scorer_daemon_due(struct scorer_daemon *d)
{
    int64_t *clocks = d->due_clocks;
    long long now = lifecycle_mono_ms();
    size_t limit = d->o.stage.batch_max < SC_DUE_LIMIT ? d->o.stage.batch_max : SC_DUE_LIMIT;
    struct sstore_due *due = NULL;
    size_t ndue = 0;
    enum stage_step wait = STAGE_DONE;

    if (now < d->due_at_mono) {
        return STAGE_IDLE;
    }
    d->due_at_mono = now + SC_DUE_EVERY_MS;
    int rc = due_clocks(d, clocks);
    if (rc == PGSINK_OK && d->due_parts.n > 0) {
        rc = sstore_find_due(d->store, d->due_parts.part, clocks, d->due_parts.n, limit, &due,
                             &ndue);
    }
    if (rc == PGSINK_OK && ndue > 0) {
        rc = due_apply(d, due, ndue, clocks, &wait);
    }
    sstore_due_free(due, ndue);
    if (rc == PGSINK_REFUSED && pgsink_refused_by_data(d->sink)) {
        /* Not one event's fault: nothing to dead-letter. Say it and try
         * later rather than exit (a restart would meet the same rows). */
        log_error("scorer.due_refused", LOG_STR("error", pgsink_error(d->sink)));
        txparts_abort(d->tp);
        d->due_at_mono = now + SC_DUE_REFUSED_MS;
        return STAGE_IDLE;
    }
    if (rc != PGSINK_OK) {
        return txparts_failed(d->tp, rc, "churn warnings");
    }
    if (wait != STAGE_DONE) {
        return wait;
    }
    if (ndue >= limit) {
        d->due_at_mono = 0; /* more are due: go on at the next turn */
    }
    return ndue > 0 ? STAGE_DONE : STAGE_IDLE;
}
