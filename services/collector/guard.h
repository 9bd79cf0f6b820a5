#ifndef COLLECTOR_GUARD_H
#define COLLECTOR_GUARD_H

/*
 * The collector's request guards, pure logic: CORS origin allow-list, write
 * keys, per-IP rate limiting, and client IP resolution through trusted
 * proxies. Each object is built once from configuration and then only read
 * (the rate limiter is internally locked), so request threads share them.
 */

#include <stdbool.h>
#include <stddef.h>

/* ---- CORS ---- */

enum cors_decision {
    CORS_NO_ORIGIN = 0, /* no Origin header: not a cross-origin browser request */
    CORS_ALLOWED = 1,
    CORS_DENIED = 2,
};

struct cors;

/* Builds the allow-list from a comma-separated list of origins
 * ("https://a.example,https://b.example"; "*" allows any origin; empty or
 * NULL allows none). Origins compare case-insensitively, without a trailing
 * slash. Returns a new object (caller frees with cors_free), or NULL with
 * the reason in err (an entry that is not scheme://host[:port]). */
struct cors *cors_new(const char *allowlist, char *err, size_t errlen);

/* Decides for one request's Origin header (NULL when absent). */
enum cors_decision cors_check(const struct cors *c, const char *origin);

void cors_free(struct cors *c);

/* ---- write keys ---- */

struct write_keys;

/* Builds the key set from "site:key,site2:key2" (a bare "key" gets site
 * "default"). Empty or NULL: keys are off and every request passes. Returns a
 * new object (caller frees with write_keys_free), or NULL with the reason in
 * err. */
struct write_keys *write_keys_new(const char *spec, char *err, size_t errlen);

/* True when at least one key is configured. */
bool write_keys_enabled(const struct write_keys *wk);

/* Compares key (NULL when the request had none) against every configured key
 * in constant time per key. Returns the site id of the match (borrowed from
 * wk), or NULL. When keys are off, returns "" for any key. */
const char *write_keys_match(const struct write_keys *wk, const char *key);

void write_keys_free(struct write_keys *wk);

/* ---- rate limit ---- */

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

/* ---- client IP ---- */

struct proxy_list;

/* Parses trusted proxies: a comma-separated list of IPv4/IPv6 addresses or
 * CIDR blocks. Empty or NULL trusts none. Returns a new list (caller frees
 * with proxy_list_free), or NULL with the reason in err. */
struct proxy_list *proxy_list_new(const char *spec, char *err, size_t errlen);

/* Resolves the client address: the peer address, unless the peer is a
 * trusted proxy and X-Forwarded-For (xff, NULL when absent) is present; then
 * the right-most address of xff that is not itself trusted (the left-most when
 * all are trusted). Malformed entries in xff stop the walk and the last good
 * address is used. Writes the address text to out. Returns 0, or -1 when peer
 * itself is not an IP address. */
int client_ip_resolve(const struct proxy_list *pl, const char *peer, const char *xff, char *out,
                      size_t outlen);

void proxy_list_free(struct proxy_list *pl);

#endif
