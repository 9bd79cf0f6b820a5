#ifndef JOURNEY_DUEBATCH_H
#define JOURNEY_DUEBATCH_H

/*
 * What falls due within a batch, on the queues of due.h: per partition,
 * the states the database says fall due by the clock the batch's events
 * move it to, then each state an event changes; duebatch_drain closes the
 * sessions and abandons the attempts a partition's clock has reached, in
 * the queues' order. Also reads back into the caches the states memory
 * does not hold. Consumer thread only.
 */

#include <stddef.h>
#include <stdint.h>

#include "due.h"

#define DUEBATCH_PARTS_MAX 4096

struct apply_ctx;
struct apply_out;
struct jcache;
struct jstate_session;
struct jstate_visitor;
struct store;
struct store_due;

struct duebatch {
    struct due_queue q[DUEBATCH_PARTS_MAX]; /* per partition */
    struct store_due *found;                /* owned; what the database said falls due */
    size_t nfound;
    const struct apply_ctx *ctx;        /* borrowed */
    struct jcache *visitors, *sessions; /* borrowed: the states the queues point at */
    long long idle_ms;                  /* a session with no event for this long closes */
};

/* Empties b; the context and the caches are borrowed until duebatch_fini. */
void duebatch_init(struct duebatch *b, const struct apply_ctx *ctx, struct jcache *visitors,
                   struct jcache *sessions, long long idle_ms);

/* Frees what b owns. Accepts a zeroed b (never initialised). */
void duebatch_fini(struct duebatch *b);

/* Asks the database which states of partitions parts[0..n) fall due by
 * end[p] (indexed by partition: the clock the batch's events move p to):
 * every session and attempt that may close or be abandoned while the
 * batch is applied, whether or not the batch has events of theirs.
 * Returns an enum pgsink_rc. */
int duebatch_find(struct duebatch *b, struct store *st, const int32_t *parts, size_t n,
                  const int64_t *end);

/* Reads back the states that memory does not hold of visitors fps[0..n)
 * and their sessions sids[] (NULL entries: none) on partitions parts[].
 * A failure leaves them half-filled: the caller then forgets every state.
 * Returns an enum pgsink_rc. */
int duebatch_load(struct duebatch *b, struct store *st, const char *const *fps,
                  const char *const *sids, const int32_t *parts, size_t n);

/* duebatch_load of the batch's n live events and of what duebatch_find
 * found. */
int duebatch_load_batch(struct duebatch *b, struct store *st, const char *const *fps,
                        const char *const *sids, const int32_t *parts, size_t n);

/* Empties the queues of partitions parts[0..n) and fills them with what
 * duebatch_find found (loaded into the caches). Returns 0 or -1. */
int duebatch_start(struct duebatch *b, const int32_t *parts, size_t n);

/* Queues s's closing for when it goes idle (nothing while closed). Returns
 * 0 or -1. */
int duebatch_session(struct duebatch *b, struct jstate_session *s);

/* Queues v's next abandonment (nothing when none is due). Returns 0 or -1. */
int duebatch_visitor(struct duebatch *b, struct jstate_visitor *v);

/* Closes the sessions and abandons the attempts of partition part that
 * clock has reached, in the queue's order, into out. Returns 0 or -1. */
int duebatch_drain(struct duebatch *b, int32_t part, long long clock, struct apply_out *out);

#endif
