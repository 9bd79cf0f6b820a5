#ifndef ANALYTICS_RATELIMIT_H
#define ANALYTICS_RATELIMIT_H

/*
 * A per-client token bucket rate limiter with a bounded number of
 * clients (least recently used reused). Internally locked, so request
 * threads share one. Pure logic: the caller passes the clock.
 */

#include <stdbool.h>
#include <stddef.h>

struct ratelimit;

/* A token bucket per key: rate tokens per second, up to burst. At most
 * max_keys buckets are kept; the least recently used one is reused beyond
 * that. rate 0 turns limiting off. Returns a new limiter (caller frees with
 * ratelimit_free), or NULL when out of memory. */
struct ratelimit *ratelimit_new(double rate, double burst, size_t max_keys);

/* Takes cost tokens from key's bucket at time now_ms (monotonic). Returns
 * true when allowed; false when limited, with the seconds until enough tokens
 * return in *retry_after_s (at least 1). Thread-safe. */
bool ratelimit_allow(struct ratelimit *rl, const char *key, double cost, long long now_ms,
                     int *retry_after_s);

void ratelimit_free(struct ratelimit *rl);

#endif
