#ifndef PUSH_GATEWAY_GW_CACHE_H
#define PUSH_GATEWAY_GW_CACHE_H

/*
 * Answers that many dashboards ask for at once (realtime, funnel), kept a
 * short time and computed once: a small map from a key (the route and its
 * parameters as given) to the JSON text and the time it was made.
 *
 *   char *text;
 *   int slot;
 *   if (gw_cache_get(c, key, 1000, &text, &slot) == 0) {   a fresh copy
 *       send text; free(text);
 *   } else {                                                 compute it
 *       text = ...;  (NULL when it failed)
 *       gw_cache_put(c, slot, text);
 *   }
 *
 * While one thread computes a key, others asking for it wait for its
 * answer instead of computing it again (so N dashboards cost one query a
 * second); when it fails they are not given the failure: the next of them
 * computes. The map holds GW_CACHE_SLOTS keys; a new key takes the slot
 * asked for least recently. Thread-safe.
 */

struct gw_cache;
struct metrics;

#define GW_CACHE_SLOTS 32
#define GW_CACHE_KEY_MAX 1024 /* longer keys are not cached */

/* Returns a new cache (caller frees with gw_cache_free), counting its hits
 * and computations in m (may be NULL), or NULL when out of memory. */
struct gw_cache *gw_cache_new(struct metrics *m);

/* Frees c and its texts. Accepts NULL. */
void gw_cache_free(struct gw_cache *c);

/* Looks key up. Returns 0 with *text a copy of an answer made less than
 * ttl_ms ago (caller frees); waits first while another thread computes the
 * key. Otherwise returns 1: the caller computes the answer and must then
 * call gw_cache_put with *slot (-1 when it is not to be kept: key empty or
 * too long, or every slot being computed). */
int gw_cache_get(struct gw_cache *c, const char *key, long long ttl_ms, char **text, int *slot);

/* Ends the computation gw_cache_get gave slot for: keeps a copy of text
 * (borrowed), or, when text is NULL (it failed), keeps nothing new. Wakes
 * the waiters. slot -1 is a no-op. */
void gw_cache_put(struct gw_cache *c, int slot, const char *text);

#endif
