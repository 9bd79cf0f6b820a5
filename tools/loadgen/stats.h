#ifndef LOADGEN_STATS_H
#define LOADGEN_STATS_H

/*
 * What a run measures: a latency histogram (log-linear buckets, within 3%
 * of the true value), and which agents and visitors were seen. Pure; one
 * per thread, merged at the end.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gen.h"

#define LOADGEN_HIST_SUB 32 /* buckets per power of two */
#define LOADGEN_HIST_BUCKETS (64 * LOADGEN_HIST_SUB)

struct loadgen_hist {
    uint64_t count;
    uint64_t max;
    uint64_t b[LOADGEN_HIST_BUCKETS];
};

/* Records one value (e.g. microseconds). The caller's storage starts zeroed. */
void loadgen_hist_add(struct loadgen_hist *h, uint64_t v);

/* Adds src's values into dst. */
void loadgen_hist_merge(struct loadgen_hist *dst, const struct loadgen_hist *src);

/* The value below which a share q (0..1) of the values lie, within a bucket's
 * width; 0 when empty. q >= 1 gives the maximum. */
uint64_t loadgen_hist_quantile(const struct loadgen_hist *h, double q);

/* Sets of agents and visitors seen, as bitmaps. */
struct loadgen_seen {
    uint64_t *agents;
    uint64_t *visitors;
    size_t nagents, nvisitors; /* bits */
};

/* Sizes the sets. Returns 0, or -1 when out of memory (release with
 * loadgen_seen_fini either way). */
int loadgen_seen_init(struct loadgen_seen *s, size_t nagents, size_t nvisitors);

/* Marks ev's agent and visitor. */
void loadgen_seen_add(struct loadgen_seen *s, const struct loadgen_event *ev);

/* Adds src's members to dst (same sizes). */
void loadgen_seen_merge(struct loadgen_seen *dst, const struct loadgen_seen *src);

size_t loadgen_seen_agents(const struct loadgen_seen *s);
size_t loadgen_seen_visitors(const struct loadgen_seen *s);

/* Frees the bitmaps. Accepts a zeroed struct. */
void loadgen_seen_fini(struct loadgen_seen *s);

#endif
