#include "redisstep.h"

#include "analytics/errbuf.h"
#include "analytics/log.h"
#include "analytics/metrics.h"
#include "analytics/redis.h"
#include "batch.h"

#include <stdlib.h>

#define REDISSTEP_CHECK_MS 1000 /* readiness refresh between batches */

int redisstep_init(struct redisstep *rs, const char *url, int timeout_ms, struct metrics *m,
                   char *err, size_t errlen)
{
    rs->errors = metrics_counter(m, "analytics_enricher_redis_errors_total",
                                 "Redis round trips that failed", NULL);
    rs->up_gauge = metrics_gauge(m, "analytics_enricher_redis_up", "1 while Redis answers", NULL);
    rs->watermark_failed = metrics_counter(
        m, "analytics_enricher_watermark_failed_total",
        "Delivered batches whose watermark could not be raised (a replay may repeat them)", NULL);
    rs->redis = redis_client_new(url, timeout_ms, err, errlen);
    if (rs->redis == NULL) {
        return -1;
    }
    atomic_init(&rs->up, redis_client_ready(rs->redis));
    metric_set(rs->up_gauge, atomic_load(&rs->up) ? 1 : 0);
    return 0;
}

void redisstep_fini(struct redisstep *rs)
{
    redis_client_free(rs->redis);
    rs->redis = NULL;
}

/* A round trip's result as the next step; says when Redis goes away. */
static enum stage_step redisstep_result(struct redisstep *rs, int rc)
{
    if (rc == 0) {
        if (!atomic_exchange(&rs->up, true)) {
            metric_set(rs->up_gauge, 1);
        }
        return STAGE_DONE;
    }
    metric_add(rs->errors, 1);
    if (atomic_exchange(&rs->up, false)) {
        metric_set(rs->up_gauge, 0);
        log_warn("enricher.redis_unavailable", LOG_STR("error", redis_client_last_error(rs->redis)),
                 LOG_BOOL("down", rc == REDIS_CLIENT_EDOWN));
    }
    return STAGE_WAIT_BACKEND;
}

enum stage_step redisstep_dedup(struct redisstep *rs, struct batch *b, long long ttl_ms)
{
    const struct batch_cmds *c = batch_dedup_cmds(b);
    int rc = redis_set_nx_many(rs->redis, c->keys, c->vals, c->n, ttl_ms, c->results);

    if (rc == 0 && batch_dedup_apply(b) != 0) {
        rc = REDIS_CLIENT_EREPLY;
    }
    return redisstep_result(rs, rc);
}

struct redisstep_reply {
    struct batch *b;
    int (*take)(struct batch *b, size_t i, int status, const char *val, size_t len);
    int rc;
};

static void redisstep_take(size_t i, int status, const char *val, size_t len, void *arg)
{
    struct redisstep_reply *r = arg;

    if (r->take(r->b, i, status, val, len) != 0) {
        r->rc = REDIS_CLIENT_EREPLY;
    }
}

enum stage_step redisstep_get(struct redisstep *rs, struct batch *b, const struct batch_cmds *c,
                              int (*take)(struct batch *, size_t, int, const char *, size_t))
{
    struct redisstep_reply r = {b, take, 0};
    int rc = redis_get_many(rs->redis, c->keys, c->n, redisstep_take, &r);

    return redisstep_result(rs, rc != 0 ? rc : r.rc);
}

enum stage_step redisstep_session_write(struct redisstep *rs, struct batch *b, long long ttl_ms)
{
    const struct batch_cmds *c = batch_session_write_cmds(b);
    int rc = redis_set_px_many(rs->redis, c->keys, c->vals, c->lens, c->n, ttl_ms, c->results);

    for (size_t i = 0; rc == 0 && i < c->n; i++) {
        rc = c->results[i];
    }
    if (rc == 0) {
        batch_session_remember(b);
    }
    return redisstep_result(rs, rc);
}

void redisstep_raise_watermarks(struct redisstep *rs, const struct batch *b, const struct flight *f)
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
            kp[i] = batch_delivered_key(&b->names, f->parts[i].partition, keys[i], sizeof(keys[i]));
            vals[i] = f->parts[i].next_offset;
        }
        rc = redis_set_max_many(rs->redis, kp, vals, f->nparts, results);
    }
    if (rc != 0) {
        metric_add(rs->watermark_failed, 1);
        log_debug("enricher.watermark_failed",
                  LOG_STR("error", redis_client_last_error(rs->redis)));
    }
    free(keys);
    free(kp);
    free(vals);
    free(results);
}

void redisstep_tick(struct redisstep *rs, long long now_mono_ms)
{
    if (now_mono_ms - rs->checked_ms >= REDISSTEP_CHECK_MS) {
        rs->checked_ms = now_mono_ms;
        redisstep_result(rs, redis_client_ready(rs->redis) ? 0 : REDIS_CLIENT_EDOWN);
    }
}

bool redisstep_ready(struct redisstep *rs, char *why, size_t whylen)
{
    if (!atomic_load(&rs->up)) {
        errbuf_printf(why, whylen, "Redis unreachable");
        return false;
    }
    return true;
}
