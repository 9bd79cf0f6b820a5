#include "rollup.h"

#include <stdlib.h>
#include <string.h>

const double rollup_hist_bounds[ROLLUP_HIST_BUCKETS - 1] = {
    1,     2,     3,     5,     7,     10,    15,     20,     30,     45,     60,     90,    120,
    180,   240,   300,   420,   600,   900,   1200,   1800,   2700,   3600,   5400,   7200,  10800,
    14400, 21600, 28800, 43200, 64800, 86400, 129600, 172800, 259200, 345600, 432000, 604800};

void rollup_init(struct rollup *r)
{
    memset(r, 0, sizeof(*r));
}

void rollup_fini(struct rollup *r)
{
    free(r->d);
    free(r->slots);
    rollup_init(r);
}

void rollup_reset(struct rollup *r)
{
    r->n = 0;
    if (r->slots != NULL) {
        memset(r->slots, 0, r->nslots * sizeof(*r->slots));
    }
}

static uint64_t rollup_hash(const struct rollup_key *k)
{
    uint64_t h = (uint64_t)k->day * 0x9E3779B97F4A7C15ULL;

    h ^= ((uint64_t)(uint32_t)k->funnel << 32) ^ ((uint64_t)(uint32_t)k->step << 16) ^
         ((uint64_t)(uint32_t)k->channel << 8) ^ (uint64_t)(uint32_t)k->device_type;
    h ^= h >> 29;
    h *= 0xBF58476D1CE4E5B9ULL;
    return h ^ (h >> 32);
}

static int rollup_key_eq(const struct rollup_key *a, const struct rollup_key *b)
{
    return a->funnel == b->funnel && a->day == b->day && a->step == b->step &&
           a->channel == b->channel && a->device_type == b->device_type;
}

/* The slot of key: where it is, or the empty one where it goes. */
static size_t rollup_slot(const struct rollup *r, const struct rollup_key *key)
{
    size_t i = (size_t)rollup_hash(key) & (r->nslots - 1);

    while (r->slots[i] != 0 && !rollup_key_eq(&r->d[r->slots[i] - 1].key, key)) {
        i = (i + 1) & (r->nslots - 1);
    }
    return i;
}

/* Doubles the slots and the deltas. Returns 0 or -1. */
static int rollup_grow(struct rollup *r)
{
    size_t cap = r->cap == 0 ? 64 : r->cap * 2;
    struct rollup_delta *d = realloc(r->d, cap * sizeof(*d));
    uint32_t *slots;

    if (d == NULL) {
        return -1;
    }
    r->d = d;
    r->cap = cap;
    slots = calloc(cap * 2, sizeof(*slots));
    if (slots == NULL) {
        return -1;
    }
    free(r->slots);
    r->slots = slots;
    r->nslots = cap * 2;
    for (size_t i = 0; i < r->n; i++) {
        r->slots[rollup_slot(r, &r->d[i].key)] = (uint32_t)(i + 1);
    }
    return 0;
}

struct rollup_delta *rollup_at(struct rollup *r, const struct rollup_key *key)
{
    size_t i;

    if (r->n + 1 > r->nslots / 2 && rollup_grow(r) != 0) {
        return NULL;
    }
    i = rollup_slot(r, key);
    if (r->slots[i] == 0) {
        struct rollup_delta *d = &r->d[r->n];
        memset(d, 0, sizeof(*d));
        d->key = *key;
        r->slots[i] = (uint32_t)++r->n;
    }
    return &r->d[r->slots[i] - 1];
}

int rollup_hist_bucket(double s)
{
    int lo = 0, hi = ROLLUP_HIST_BUCKETS - 1;

    /* The first bound above s; the last bucket when none is. */
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (s < rollup_hist_bounds[mid]) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    return lo;
}

void rollup_add_since_prev(struct rollup_delta *d, long long ms)
{
    double s = (double)ms / 1000.0;

    d->since_prev_n++;
    d->since_prev_sum_s += s;
    d->hist[rollup_hist_bucket(s)]++;
}
