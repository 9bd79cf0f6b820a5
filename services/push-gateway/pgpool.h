#ifndef PUSH_GATEWAY_PGPOOL_H
#define PUSH_GATEWAY_PGPOOL_H

/*
 * A few PostgreSQL connections the request threads share: one is taken for
 * a request and given back after it, made on demand (each with the
 * gateway's statement_timeout, read-only), and dropped when it broke so the
 * next taker connects afresh. While PostgreSQL is away a taker fails at
 * once instead of each waiting for a connect timeout: after a failure, one
 * connect attempt is made at most every second.
 */

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

struct pgpool;

struct pgpool_opts {
    const char *dsn;
    int connect_timeout_s;
    int statement_timeout_ms;
    int size;    /* connections at most */
    int wait_ms; /* a taker waits this long for a free one, then fails */
};

struct pgpool *pgpool_new(const struct pgpool_opts *o);
void pgpool_free(struct pgpool *p);

/* A connection for the caller alone, or NULL with the reason in err:
 * *busy true when all were taken for wait_ms, false when PostgreSQL is
 * down. */
PGconn *pgpool_take(struct pgpool *p, bool *busy, char *err, size_t errlen);

/* Gives conn back; broken (a query failed on the connection itself) drops it. */
void pgpool_give(struct pgpool *p, PGconn *conn, bool broken);

/* Whether the last connect or query worked (readiness). */
bool pgpool_up(const struct pgpool *p);

#endif
