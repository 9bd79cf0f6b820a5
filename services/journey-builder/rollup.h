#ifndef JOURNEY_ROLLUP_H
#define JOURNEY_ROLLUP_H

/*
 * The changes one batch makes to the funnel rollups (table funnel_daily):
 * counters added per (funnel, UTC day, step, channel, device), summed in
 * memory so a batch writes each row once. Pure.
 *
 * Times from the previous step go into buckets whose upper bounds, in
 * seconds, are rollup_hist_bounds; the database's funnel_hist_bounds() must
 * list the same (the daemon checks at start).
 */

#include <stddef.h>
#include <stdint.h>

#define ROLLUP_HIST_BUCKETS 39 /* the 38 bounds, then the open-ended last bucket */

extern const double rollup_hist_bounds[ROLLUP_HIST_BUCKETS - 1];

/* Which row. funnel is the index in the funnel set; step the 0-based row
 * (funnel_level: strict, the step; any order, distinct steps reached - 1);
 * channel and device_type the analytics.v1 enum values. */
struct rollup_key {
    int funnel;
    long long day; /* days since 1970-01-01, UTC */
    int step;
    int channel;
    int device_type;
};

struct rollup_delta {
    struct rollup_key key;
    long long attempts, sessions, inferred, abandoned; /* inferred: of attempts */
    long long since_prev_n;
    double since_prev_sum_s;
    long long hist[ROLLUP_HIST_BUCKETS];
};

struct rollup {
    struct rollup_delta *d; /* owned; n used of cap */
    size_t n, cap;
    uint32_t *slots; /* open addressing: index + 1 into d, 0 empty */
    size_t nslots;
};

/* Empties r. */
void rollup_init(struct rollup *r);

/* Frees what r owns and empties it. */
void rollup_fini(struct rollup *r);

/* Forgets every delta, keeping the memory. */
void rollup_reset(struct rollup *r);

/* The delta of key, created zeroed when missing. Borrowed until the next
 * rollup_at, rollup_reset or rollup_fini. NULL when memory runs out. */
struct rollup_delta *rollup_at(struct rollup *r, const struct rollup_key *key);

/* Counts one time from the previous step, of ms milliseconds, into d. */
void rollup_add_since_prev(struct rollup_delta *d, long long ms);

/* The bucket of a time of s seconds. */
int rollup_hist_bucket(double s);

#endif
