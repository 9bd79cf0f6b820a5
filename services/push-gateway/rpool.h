#ifndef PUSH_GATEWAY_RPOOL_H
#define PUSH_GATEWAY_RPOOL_H

/*
 * A few Redis connections the request threads share (a client of
 * analytics/redis.h is one connection, one thread at a time): one is taken
 * for a request and given back. Each reconnects by itself after the server
 * comes back.
 */

#include <stdbool.h>
#include <stddef.h>

struct redis_client;
struct rpool;

/* n clients of url, each command waiting at most timeout_ms. NULL with the
 * reason in err. */
struct rpool *rpool_new(const char *url, int n, int timeout_ms, char *err, size_t errlen);
void rpool_free(struct rpool *p);

/* A client for the caller alone; waits while all are taken. */
struct redis_client *rpool_take(struct rpool *p);
/* Gives c back; ok says whether its last command worked (readiness). */
void rpool_give(struct rpool *p, struct redis_client *c, bool ok);

/* Whether the last command worked. */
bool rpool_up(const struct rpool *p);

#endif
