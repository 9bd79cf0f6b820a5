#ifndef ENRICHER_REDISSTEP_H
#define ENRICHER_REDISSTEP_H

/*
 * The enricher's Redis round trips for a batch (dedup, the dedup check,
 * the session read and write, the delivered watermarks), each turned into
 * the stage's next step, and whether Redis answers: the readiness flag,
 * analytics_enricher_redis_up, _redis_errors_total and
 * _watermark_failed_total, and enricher.redis_unavailable once per outage.
 * The steps run on the consumer thread; redisstep_ready on any.
 */

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "analytics/stage.h"

struct batch;
struct batch_cmds;
struct flight;
struct metric;
struct metrics;
struct redis_client;

struct redisstep {
    struct redis_client *redis; /* owned */
    atomic_bool up;
    long long checked_ms; /* when redisstep_tick last asked */
    struct metric *errors, *up_gauge, *watermark_failed;
};

/* Creates the client (connecting may fail: it is retried) and registers the
 * metrics. Returns 0, or -1 with the reason in err (then redisstep_fini). */
int redisstep_init(struct redisstep *rs, const char *url, int timeout_ms, struct metrics *m,
                   char *err, size_t errlen);

/* Frees the client. Accepts a zeroed or failed rs. */
void redisstep_fini(struct redisstep *rs);

/* SET NX of the batch's event ids, applied to the batch. */
enum stage_step redisstep_dedup(struct redisstep *rs, struct batch *b, long long ttl_ms);

/* GETs the keys of c and hands each reply to take. */
enum stage_step redisstep_get(struct redisstep *rs, struct batch *b, const struct batch_cmds *c,
                              int (*take)(struct batch *, size_t, int, const char *, size_t));

/* SET PX of the visitors' new session states, then into the cache. */
enum stage_step redisstep_session_write(struct redisstep *rs, struct batch *b, long long ttl_ms);

/* Raises the delivered watermarks of a delivered flight's partitions, so
 * that a replay of its messages (after a crash or a rebalance before the
 * offsets were committed) drops them as duplicates instead of producing
 * them again. Best effort: when Redis fails the replay repeats them, which
 * at-least-once allows. */
void redisstep_raise_watermarks(struct redisstep *rs, const struct batch *b,
                                const struct flight *f);

/* Between batches: Redis's state refreshed at most once a second. */
void redisstep_tick(struct redisstep *rs, long long now_mono_ms);

/* False with why while Redis does not answer. Any thread. */
bool redisstep_ready(struct redisstep *rs, char *why, size_t whylen);

#endif
