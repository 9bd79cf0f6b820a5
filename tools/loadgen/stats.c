#include "stats.h"

#include <stdlib.h>

/* Bucket of v: values below 2*SUB exactly, then SUB buckets per power of two. */
static size_t stats_bucket(uint64_t v)
{
    int msb;

    if (v < 2 * LOADGEN_HIST_SUB) {
        return (size_t)v;
    }
    msb = 63 - __builtin_clzll(v);
    /* msb >= 6 here: keep the 5 bits below the top one */
    return (size_t)(msb - 4) * LOADGEN_HIST_SUB +
           (size_t)((v >> (msb - 5)) & (LOADGEN_HIST_SUB - 1));
}

/* The middle of bucket i's range. */
static uint64_t stats_bucket_value(size_t i)
{
    size_t group = i / LOADGEN_HIST_SUB, sub = i % LOADGEN_HIST_SUB;
    uint64_t base, width;

    if (i < 2 * LOADGEN_HIST_SUB) {
        return i;
    }
    width = 1ULL << (group - 1);
    base = (uint64_t)(LOADGEN_HIST_SUB + sub) << (group - 1);
    return base + width / 2;
}

void loadgen_hist_add(struct loadgen_hist *h, uint64_t v)
{
    h->b[stats_bucket(v)]++;
    h->count++;
    if (v > h->max) {
        h->max = v;
    }
}

void loadgen_hist_merge(struct loadgen_hist *dst, const struct loadgen_hist *src)
{
    for (size_t i = 0; i < LOADGEN_HIST_BUCKETS; i++) {
        dst->b[i] += src->b[i];
    }
    dst->count += src->count;
    if (src->max > dst->max) {
        dst->max = src->max;
    }
}

uint64_t loadgen_hist_quantile(const struct loadgen_hist *h, double q)
{
    uint64_t rank, seen = 0;

    if (h->count == 0) {
        return 0;
    }
    if (q >= 1) {
        return h->max;
    }
    rank = (uint64_t)(q * (double)h->count) + 1;
    for (size_t i = 0; i < LOADGEN_HIST_BUCKETS; i++) {
        seen += h->b[i];
        if (seen >= rank) {
            uint64_t v = stats_bucket_value(i);

            return v < h->max ? v : h->max;
        }
    }
    return h->max;
}

int loadgen_seen_init(struct loadgen_seen *s, size_t nagents, size_t nvisitors)
{
    s->nagents = nagents;
    s->nvisitors = nvisitors;
    s->agents = calloc(nagents / 64 + 1, sizeof(uint64_t));
    s->visitors = calloc(nvisitors / 64 + 1, sizeof(uint64_t));
    return s->agents != NULL && s->visitors != NULL ? 0 : -1;
}

static void stats_set(uint64_t *bits, size_t n, size_t i)
{
    if (i < n) {
        bits[i / 64] |= 1ULL << (i % 64);
    }
}

void loadgen_seen_add(struct loadgen_seen *s, const struct loadgen_event *ev)
{
    stats_set(s->agents, s->nagents, ev->agent);
    stats_set(s->visitors, s->nvisitors, ev->visitor);
}

void loadgen_seen_merge(struct loadgen_seen *dst, const struct loadgen_seen *src)
{
    for (size_t i = 0; i <= dst->nagents / 64; i++) {
        dst->agents[i] |= src->agents[i];
    }
    for (size_t i = 0; i <= dst->nvisitors / 64; i++) {
        dst->visitors[i] |= src->visitors[i];
    }
}

static size_t stats_popcount(const uint64_t *bits, size_t n)
{
    size_t c = 0;

    for (size_t i = 0; i <= n / 64; i++) {
        c += (size_t)__builtin_popcountll(bits[i]);
    }
    return c;
}

size_t loadgen_seen_agents(const struct loadgen_seen *s)
{
    return stats_popcount(s->agents, s->nagents);
}

size_t loadgen_seen_visitors(const struct loadgen_seen *s)
{
    return stats_popcount(s->visitors, s->nvisitors);
}

void loadgen_seen_fini(struct loadgen_seen *s)
{
    free(s->agents);
    free(s->visitors);
    s->agents = NULL;
    s->visitors = NULL;
}
