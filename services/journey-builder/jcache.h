#ifndef JOURNEY_JCACHE_H
#define JOURNEY_JCACHE_H

/*
 * The journey-builder's in-memory states (visitors, sessions) by string key,
 * least recently used first out. The cache owns its values: it frees them
 * with the free function given to jcache_new when they are evicted, removed
 * or cleared. Single-threaded.
 *
 * Eviction happens only in jcache_trim, which the daemon calls between
 * batches, so a value looked up during a batch stays valid until the batch
 * is written.
 */

#include <stddef.h>

struct jcache;

/* Returns an empty cache that trims to cap entries, freeing values with
 * free_fn, or NULL when memory runs out. Free with jcache_free. */
struct jcache *jcache_new(size_t cap, void (*free_fn)(void *));

/* Frees every value and c. Accepts NULL. */
void jcache_free(struct jcache *c);

/* The value under key (borrowed), marked most recently used; NULL when
 * absent. */
void *jcache_get(struct jcache *c, const char *key);

/* Stores val under key; the cache takes ownership of val on success only.
 * A value already there is freed. Returns 0 or -1 (out of memory). */
int jcache_put(struct jcache *c, const char *key, void *val);

/* Frees every value. */
void jcache_clear(struct jcache *c);

/* Evicts the least recently used values beyond the capacity. */
void jcache_trim(struct jcache *c);

/* Entries held now. */
size_t jcache_count(const struct jcache *c);

/* Calls fn on every value (any order). fn must not change c. */
void jcache_each(struct jcache *c, void (*fn)(void *val, void *arg), void *arg);

#endif
