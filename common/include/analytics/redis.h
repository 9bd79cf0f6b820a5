#ifndef ANALYTICS_REDIS_H
#define ANALYTICS_REDIS_H

/*
 * A small synchronous Redis client over hiredis for dedup keys and
 * per-visitor state, with readiness and reconnect with backoff.
 *
 *   struct redis_client *rc = redis_client_new(url, 500, err, sizeof(err));
 *   switch (redis_set_nx(rc, key, "1", 86400000)) {
 *   case 1: ... new ...; break;
 *   case 0: ... duplicate ...; break;
 *   default: ... pause, retry later ...;
 *   }
 *   redis_client_free(rc);
 *
 * Threads: a client is not thread-safe; give each thread its own (its
 * redisContext is never shared). The process must ignore SIGPIPE (hiredis
 * writes with write(2); lifecycle_block_signals does it).
 *
 * Connection: redis_client_new connects at once. Afterwards, any hiredis
 * I/O or protocol error (c->err, including a timeout) frees the connection;
 * the next call reconnects (connect, AUTH, SELECT). Failed attempts back off
 * exponentially from 100 ms to 5 s; during the backoff every call returns
 * REDIS_CLIENT_EDOWN at once without touching the network. A successful
 * (re)connect resets the backoff. State changes are logged once each:
 * "redis.disconnected" (warn, with the error) and "redis.connected" (info).
 * The password and the URL are never logged.
 *
 * Return codes shared by the calls below (anything < 0 is a failure):
 *   REDIS_CLIENT_EDOWN  (-1) no connection, or it broke during the call: retry
 *                        later (the outcome of a write is then unknown);
 *   REDIS_CLIENT_EREPLY (-2) the server answered with an error (OOM, LOADING,
 *                        WRONGTYPE, ...) or an unexpected reply, or the
 *                        argument was invalid, or a value did not fit the
 *                        caller's buffer. The connection stays up.
 * redis_client_last_error says why.
 */

#include <stdbool.h>
#include <stddef.h>

/* The return codes above, as one type. */
enum redis_client_rc {
    REDIS_CLIENT_OK = 0,
    REDIS_CLIENT_EDOWN = -1,
    REDIS_CLIENT_EREPLY = -2,
};

struct redis_client;

/* Parses url, "redis://[[user]:password@]host[:port][/db]" (port 6379 and
 * db 0 by default; an IPv6 host in brackets; %XX escapes in user and
 * password), and connects with timeout_ms (> 0) for connect and for each
 * command. Returns a new client (caller frees with redis_client_free), also
 * when the server is unreachable (then the first calls reconnect with the
 * backoff above). Returns NULL with the reason in err (errbuf_printf) when
 * the URL is bad, timeout_ms is out of range, memory runs out, or the server
 * is reachable but rejects AUTH or SELECT. url is borrowed for the call. */
struct redis_client *redis_client_new(const char *url, int timeout_ms, char *err, size_t errlen);

/* Closes the connection and frees c. Accepts NULL. */
void redis_client_free(struct redis_client *c);

/* True when a PING is answered with PONG now (reconnecting first, subject to
 * the backoff). Does not log beyond the state changes. */
bool redis_client_ready(struct redis_client *c);

/* The reason for the client's last failure ("" when none yet). Borrowed;
 * valid until the next call on c. */
const char *redis_client_last_error(const struct redis_client *c);

/* SET key val NX PX ttl_ms, ttl_ms > 0. Returns 1 when the key was set (it
 * was new), 0 when it already existed, or REDIS_CLIENT_EDOWN / REDIS_CLIENT_EREPLY.
 * key and val are borrowed NUL-terminated strings. */
int redis_set_nx(struct redis_client *c, const char *key, const char *val, long long ttl_ms);

/* SET keys[i] vals[i] NX PX ttl_ms for n keys in one pipeline; vals NULL
 * means "1" for every key. On return 0, results[i] is 1 (new), 0 (existed)
 * or REDIS_CLIENT_EREPLY for keys[i]. Returns REDIS_CLIENT_EDOWN when the
 * connection failed (results undefined: some keys may have been set),
 * REDIS_CLIENT_EREPLY for an invalid argument. n == 0 returns 0. Arrays (n
 * entries each) and strings are borrowed. */
int redis_set_nx_many(struct redis_client *c, const char *const *keys, const char *const *vals,
                      size_t n, long long ttl_ms, int *results);

/* Raises the decimal integer stored at keys[i] to values[i] (a missing key
 * is set; a larger stored value is kept), for n keys in one pipeline, each
 * atomically (a server-side script). On return 0, results[i] is 1 (set), 0
 * (kept) or REDIS_CLIENT_EREPLY. Returns as redis_set_nx_many. */
int redis_set_max_many(struct redis_client *c, const char *const *keys, const long long *values,
                       size_t n, int *results);

/* Receives the reply to key i of redis_get_many: status 1 with the value
 * (len bytes, borrowed for the call, not NUL-terminated), 0 when the key is
 * missing (val NULL), or REDIS_CLIENT_EREPLY (val NULL). */
typedef void redis_value_fn(size_t i, int status, const char *val, size_t len, void *arg);

/* GET n keys in one pipeline, calling fn for each reply in order. Returns 0
 * when every reply came (fn called n times), REDIS_CLIENT_EDOWN when the
 * connection failed (fn called for a prefix only), REDIS_CLIENT_EREPLY for
 * an invalid argument. n == 0 returns 0. */
int redis_get_many(struct redis_client *c, const char *const *keys, size_t n, redis_value_fn *fn,
                   void *arg);

/* SET keys[i] vals[i] PX ttl_ms (lens[i] bytes, binary-safe) for n keys in
 * one pipeline. On return 0, results[i] is 0 or REDIS_CLIENT_EREPLY.
 * Returns as redis_set_nx_many. */
int redis_set_px_many(struct redis_client *c, const char *const *keys, const char *const *vals,
                      const size_t *lens, size_t n, long long ttl_ms, int *results);

/* One hash to write: nfields field/value pairs (strings). */
struct redis_hash {
    const char *key;
    const char *const *fields;
    const char *const *values;
    size_t nfields; /* >= 1 */
};

/* HSET h[i].key with its fields, then PEXPIRE it ttl_ms (> 0), for n
 * hashes in one pipeline: the hot state other daemons read, kept only as
 * long as it is written. On return 0, results[i] is 0 or
 * REDIS_CLIENT_EREPLY (the key holds another type, say). Returns as
 * redis_set_nx_many. */
int redis_hset_px_many(struct redis_client *c, const struct redis_hash *h, size_t n,
                       long long ttl_ms, int *results);

/* GET key into buf (buflen bytes) and NUL-terminates it; values may hold
 * NUL bytes, so *len (when len is not NULL) is set to the value's length.
 * Returns 1 when found, 0 when missing, REDIS_CLIENT_EDOWN, or REDIS_CLIENT_EREPLY
 * (also when the value needs more than buflen - 1 bytes: a warning
 * "redis.value_too_long" is logged and *len is set to the full length). */
int redis_get(struct redis_client *c, const char *key, char *buf, size_t buflen, size_t *len);

/* Called for each field of a hash, in Redis's order; both NUL-terminated
 * (a value holding a NUL byte is cut there), borrowed for the call. */
typedef void redis_field_fn(const char *field, const char *value, void *arg);

/* HGETALL key, at most max_fields fields (a hash with more is an error:
 * not one of ours). Returns the number of fields given to fn (0: no such
 * key), REDIS_CLIENT_EDOWN or REDIS_CLIENT_EREPLY. */
int redis_hgetall(struct redis_client *c, const char *key, size_t max_fields, redis_field_fn *fn,
                  void *arg);

/* SET key val PX ttl_ms (val is len bytes, binary-safe), ttl_ms > 0.
 * Returns 0, REDIS_CLIENT_EDOWN or REDIS_CLIENT_EREPLY. */
int redis_set_px(struct redis_client *c, const char *key, const char *val, size_t len,
                 long long ttl_ms);

/* DEL key. Returns 1 when it was deleted, 0 when it did not exist,
 * REDIS_CLIENT_EDOWN or REDIS_CLIENT_EREPLY. */
int redis_del(struct redis_client *c, const char *key);

#endif
