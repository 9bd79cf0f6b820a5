#ifndef SCORER_SSTORE_H
#define SCORER_SSTORE_H

/*
 * The scorer's tables on its PostgreSQL sink (analytics/pgsink.h):
 * profiles read back on a cache miss, and per batch, in the batch's
 * transaction, the profiles it changed (user_behavior_profiles, once per
 * visitor), its predictions (ml_predictions, a replay changing nothing),
 * what its closed sessions add to the page statistics (page_stats_daily)
 * and the visitors' churn warnings (scorer_churn_due); the warnings falling
 * due, and in their transaction what a warning sent changes. Rows are
 * staged by COPY into temporary tables and merged. Return codes are enum
 * pgsink_rc.
 */

#include <stddef.h>
#include <stdint.h>

#include "pagestats.h"
#include "profile.h"
#include "score.h"

struct pgsink;
struct sstore;

/* A store on sink (borrowed; its on-connect step is the store's). */
struct sstore *sstore_new(struct pgsink *sink);

/* Frees st. Accepts NULL. */
void sstore_free(struct sstore *st);

/* Reads the stored states of the n fingerprints; fn gets each one found
 * (fingerprint, state JSON text, both valid during the call). */
int sstore_load(struct sstore *st, const char *const *fps, size_t n,
                void (*fn)(void *arg, const char *fp, const char *state), void *arg);

/* What one visitor's row says beside the profile. */
struct sstore_visitor {
    const struct profile *p;
    const struct score_result *r; /* the latest score; NULL when never scored */
    const char *persona;          /* its name; NULL none */
    int partition;
    const char *last_event_id;
    long long last_event_ms;
    long long warn_at_ms; /* the churn warning's due time; 0 none */
    const char *warn_reason;
};

/* Stages the visitor's row (and its churn warning: sstore_add_due). */
void sstore_add_visitor(struct sstore *st, const struct sstore_visitor *v);

/* Stages fingerprint's churn warning: due at at_ms for reason, replacing
 * the one scheduled; at_ms 0 deletes it. */
void sstore_add_due(struct sstore *st, const char *fingerprint, int partition, long long at_ms,
                    const char *reason);

/* Stages the churn part of a warned visitor's row: r's churn risk, p_alive
 * and expected visits, its model version, and p's state (which says it
 * was warned); the rest of the row stays. */
void sstore_add_warned(struct sstore *st, const struct profile *p, const struct score_result *r);

/* A scheduled churn warning (sstore_find_due). */
struct sstore_due {
    char *fingerprint; /* owned */
    int partition;
    long long at_ms;
    char reason[16];
};

/* The churn warnings of partitions parts[0..n) due by their clocks
 * (clocks[k] for parts[k]: due_at <= the clock), soonest first, at most
 * limit, into a new array (*out, free with sstore_due_free; *nout rows). */
int sstore_find_due(struct sstore *st, const int32_t *parts, const int64_t *clocks, size_t n,
                    size_t limit, struct sstore_due **out, size_t *nout);

/* Frees what sstore_find_due made. Accepts NULL. */
void sstore_due_free(struct sstore_due *d, size_t n);

/* Stages one prediction: r scored for p, caused by event_id at ts_ms. */
void sstore_add_prediction(struct sstore *st, const struct profile *p, const struct score_result *r,
                           const char *persona, const char *event_id, long long ts_ms);

struct lru;

/* Adds a closed session's page statistics to the batch's, for day (UTC).
 * names (may be NULL) maps a page's hash (8 bytes, as prof_page_hash) to
 * its host and path: a page found there is written with its name, one not
 * found without (a name already stored for that day stays). */
int sstore_add_pages(struct sstore *st, long long day, const struct profile_page_stats *s,
                     struct lru *names);

/* Writes what was staged (in the caller's transaction) and empties it. */
int sstore_write(struct sstore *st);

/* Forgets what was staged (a failed attempt). */
void sstore_reset(struct sstore *st);

/* Replaces ps's totals with the site's over the last days days (UTC) up to
 * and with today. */
int sstore_read_pages(struct sstore *st, int days, struct pagestats *ps);

#endif
