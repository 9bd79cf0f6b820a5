/*
 * The scorer's outputs of an attempt (see daemon_priv.h): the ScoreUpdates
 * and dead letters produced, the hot profiles written to Redis, and the
 * transaction that holds them together.
 */
#include "daemon_priv.h"

#include "analytics/deadletter.h"
#include "analytics/lifecycle.h"
#include "analytics/log.h"
#include "analytics/metrics.h"
#include "analytics/pgsink.h"
#include "analytics/redis.h"
#include "analytics/txparts.h"
#include "outputs.h"
#include "sstore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int sc_send_deadletter(struct scorer_daemon *d, const struct sc_slot *s)
{
    struct deadletter_src src = {
        .service = "analytics-scorer",
        .topic = s->m.topic,
        .partition = s->m.partition,
        .offset = s->m.offset,
        .code = s->dead_code,
        .reason = strcmp(s->dead_code, "undecodable") == 0 ? "not a message of its topic's type"
                                                           : "no fingerprint",
        .original = s->m.payload,
        .len = s->m.len,
        .content_type = "application/x-protobuf",
        .ts_ms = lifecycle_now_ms(),
    };
    size_t len = 0;
    uint8_t *buf = deadletter_pack(&src, &len);

    if (buf == NULL) {
        return -1;
    }
    int rc = stage_send(d->rt, d->o.topic_deadletter, NULL, buf, len, SC_FLUSH_MS);
    free(buf);
    return rc;
}

/* Queues the scores and dead letters. Returns STAGE_DONE or STAGE_WAIT_BROKER. */
static enum stage_step sc_produce(struct scorer_daemon *d)
{
    d->failures_before = stage_delivery_failures(d->rt);
    for (size_t i = 0; i < d->nupdates; i++) {
        const struct sc_update *u = &d->updates[i];
        if (stage_send(d->rt, d->o.topic_scores, d->entries[u->entry].v.p.fingerprint, u->buf,
                       u->len, SC_FLUSH_MS) != 0) {
            return STAGE_WAIT_BROKER;
        }
    }
    for (size_t i = 0; i < d->nslots; i++) {
        if (d->slots[i].kind == SC_DEAD && sc_send_deadletter(d, &d->slots[i]) != 0) {
            return STAGE_WAIT_BROKER;
        }
    }
    return STAGE_DONE;
}

/* Writes the scored visitors' hot profiles. Returns 0, or -1 when Redis
 * failed (the batch waits for it). */
static int sc_redis(struct scorer_daemon *d)
{
    size_t n = 0;
    struct outputs_hash *hs = malloc((d->nentries + 1) * sizeof(*hs));
    struct redis_hash *rh = malloc((d->nentries + 1) * sizeof(*rh));
    char(*keys)[SC_KEY_MAX] = malloc((d->nentries + 1) * sizeof(*keys));
    int *results = malloc((d->nentries + 1) * sizeof(*results));
    int rc = -1;

    if (hs == NULL || rh == NULL || keys == NULL || results == NULL) {
        goto out;
    }
    for (size_t i = 0; i < d->nentries; i++) {
        const struct sc_entry *e = &d->entries[i];
        if (!e->scored) {
            continue;
        }
        snprintf(keys[n], SC_KEY_MAX, "%sprofile:%s", d->o.key_prefix, e->v.p.fingerprint);
        outputs_hash(&e->v.p, &e->r, scorer_daemon_persona(d, e->r.persona), &hs[n]);
        rh[n] = (struct redis_hash){keys[n], hs[n].fields, hs[n].values, hs[n].n};
        n++;
    }
    rc = redis_hset_px_many(d->redis, rh, n, d->o.profile_ttl_ms, results);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = results[i] == 0 ? 0 : -1;
    }
out:
    if (rc != 0) {
        metric_add(d->m.redis_errors, 1);
        if (atomic_exchange(&d->redis_up, false)) {
            log_warn("scorer.redis_unavailable",
                     LOG_STR("error", redis_client_last_error(d->redis)));
        }
    } else if (!atomic_exchange(&d->redis_up, true)) {
        log_info("scorer.redis_available");
    }
    free(hs);
    free(rh);
    free(keys);
    free(results);
    return rc;
}

int scorer_daemon_transact(struct scorer_daemon *d, const struct txparts_batch *parts,
                           const int64_t *stream, enum stage_step *wait)
{
    int rc = pgsink_begin(d->sink);

    *wait = STAGE_DONE;
    if (rc == PGSINK_OK) {
        rc = txparts_fence(d->tp, parts);
    }
    if (rc == PGSINK_OK) {
        rc = sstore_write(d->store);
    }
    if (rc == PGSINK_OK && stream != NULL) {
        rc = txparts_set(d->tp, parts, stream);
    }
    if (rc == PGSINK_OK && (sc_produce(d) != STAGE_DONE ||
                            !stage_sends_acked(d->rt, d->failures_before, SC_FLUSH_MS))) {
        *wait = STAGE_WAIT_BROKER;
    } else if (rc == PGSINK_OK && sc_redis(d) != 0) {
        *wait = STAGE_WAIT_BACKEND;
    }
    if (*wait != STAGE_DONE) {
        pgsink_rollback(d->sink);
        return PGSINK_OK;
    }
    if (rc == PGSINK_OK) {
        rc = pgsink_commit(d->sink);
    }
    if (rc == PGSINK_OK && stream != NULL) {
        txparts_committed(d->tp, parts, stream);
    }
    return rc;
}
