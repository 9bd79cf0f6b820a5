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

/* Entries of X-Forwarded-For that client_ip_resolve examines at most, from
 * the right: a real chain of proxies is a handful long. */
#define CLIENT_IP_MAX_HOPS 32

/* Joins the values of every X-Forwarded-For header line (lines[0..n), in the
 * order received; NULL or blank lines are skipped) into one list, as HTTP
 * joins repeated fields: {"a, b", "c"} -> "a, b, c". When the list does not
 * fit in outlen bytes, the left part is dropped at an entry boundary so that
 * the right-most entries (the ones added by the nearest proxies, and the only
 * ones client_ip_resolve reads) are kept. Writes a NUL-terminated list to
 * out. Returns 0 when all of it fit, 1 when a left part was dropped, or -1
 * when out is NULL or outlen is 0. */
int xff_join(const char *const *lines, size_t n, char *out, size_t outlen);

/* Resolves the client address: the peer address, unless the peer is a
 * trusted proxy and X-Forwarded-For (xff, every line joined by xff_join;
 * NULL when absent) is present; then the right-most address of xff that is
 * not itself trusted (the left-most when all are trusted). At most
 * CLIENT_IP_MAX_HOPS entries are examined; when they are all trusted the
 * last of them is used. An entry is an IPv4 address, optionally with
 * ":port", or an IPv6 address, optionally in brackets and then optionally
 * with ":port"; an IPv6 zone ("%eth0") is dropped; empty entries are
 * skipped. Anything else is malformed: it stops the walk and the last good
 * address is used, so garbage is never taken for a client. Writes the
 * address text (no port, no zone; an IPv4-mapped address as IPv4) to out.
 * Returns 0, or -1 when peer itself is not an IP address or out is too
 * small. */
int client_ip_resolve(const struct proxy_list *pl, const char *peer, const char *xff, char *out,
                      size_t outlen);

/* The rate-limit key of the client address ip (as client_ip_resolve writes
 * it): an IPv4 address is its own key; an IPv6 address that carries an IPv4
 * address (IPv4-mapped, NAT64 64:ff9b::/96, 6to4 2002::/16, Teredo; see
 * analytics/ipaddr.h) has that IPv4 address's key, so a client has one
 * bucket whichever form its address takes; any other IPv6 address is keyed
 * by its network of v6_prefix bits (0..128), written "2001:db8:1:2::/64", so
 * one subscriber's /64 is one client. Writes the key to out. Returns 0, or
 * -1 when ip is not an address, v6_prefix is over 128 or out is too small
 * (out is then ""). */
int client_ip_key(const char *ip, unsigned v6_prefix, char *out, size_t outlen);

void proxy_list_free(struct proxy_list *pl);

#endif
