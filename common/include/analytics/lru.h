#ifndef ANALYTICS_LRU_H
#define ANALYTICS_LRU_H

/*
 * A bounded cache of byte values under byte-string keys, least recently used
 * out first. Values are copied in and out, so nothing handed out can be
 * evicted under the caller. A mutex makes one cache safe to share between
 * threads. The enricher's user-agent parser caches parse results in one,
 * its visitors' session states in another.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lru;

/* Returns a cache of at most cap entries (0: every lookup misses and nothing
 * is stored), or NULL when memory runs out. Free with lru_free. */
struct lru *lru_new(size_t cap);

/* Frees c and every entry. Accepts NULL. */
void lru_free(struct lru *c);

/* Copies the value under key into out (at most outlen bytes) and marks it
 * most recently used. Returns true on a hit, with the value's length in
 * *vlen when vlen is not NULL; a value longer than outlen is a miss. Counts
 * the hit or miss. */
bool lru_get(struct lru *c, const void *key, size_t klen, void *out, size_t outlen, size_t *vlen);

/* Stores a copy of val under key (replacing any value there), evicting the
 * least recently used entry beyond capacity. Returns 0, or -1 when memory
 * runs out (the key is then not cached at all). */
int lru_put(struct lru *c, const void *key, size_t klen, const void *val, size_t vlen);

/* Drops every entry (the counters stay). */
void lru_clear(struct lru *c);

/* Hits and misses since lru_new, and entries now (any pointer may be NULL). */
void lru_stats(struct lru *c, uint64_t *hits, uint64_t *misses, size_t *count);

#endif
