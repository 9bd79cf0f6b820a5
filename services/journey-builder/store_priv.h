#ifndef JOURNEY_STORE_PRIV_H
#define JOURNEY_STORE_PRIV_H

/*
 * What the files of the store share: the struct and the statement helpers.
 * store.c: connection, start-up, offsets, transactions; store_load.c:
 * reading states back; store_archive.c: archiving events; store_write.c:
 * writing what a batch produced; store_due.c: partitions, retention and
 * states falling due. Not for anyone else: the contract is store.h.
 */

#include "store.h"

#include "analytics/copybuf.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_ERR_MAX 512
#define STORE_STATEMENT_TIMEOUT "30s"

struct store {
    char *dsn;
    char *topic;
    const struct apply_ctx *ctx;
    PGconn *conn;
    bool in_tx;
    char err[STORE_ERR_MAX];
    char sqlstate[6];                /* of the last failure; "" when none came */
    struct copybuf buf;              /* rows of the COPY being built */
    struct copybuf arr;              /* array literals */
    struct copybuf sub;              /* the archive rows of a batch not archived yet */
    char cluster[STORE_CLUSTER_MAX]; /* the Kafka cluster's id; "" when not known */
};

/* Runs the command sql (no parameters, no rows back); what names it in the
 * error. Returns an enum store_rc. */
int store_cmd(struct store *st, const char *sql, const char *what);

/* Runs sql with text params; returns its result (caller clears) in *out.
 * Returns an enum store_rc. */
int store_query(struct store *st, const char *sql, int n, const char *const *params,
                ExecStatusType want, const char *what, PGresult **out);

/* Runs the command sql with n text params; no rows back. Returns an enum
 * store_rc. */
int store_exec_params(struct store *st, const char *sql, int n, const char *const *params,
                      const char *what);

/* COPY ... FROM STDIN of data. */
int store_copy_in(struct store *st, const char *sql, const char *data, size_t len,
                  const char *what);

/* A number column, 0 when NULL. */
long long store_ll(const PGresult *res, int r, int c);

/* Builds "{"a","b"}" from strs[0..n) in st->arr; returns it, NUL-ended, or
 * NULL when memory ran out. */
const char *store_text_array(struct store *st, const char *const *strs, size_t n);

/* Builds "{1,2,3}" from vals[0..n) into buf (caller frees). */
char *store_int_array(const int64_t *vals, const int32_t *vals32, size_t n);

/* A text column (borrowed from res), NULL when NULL. */
const char *store_str(const PGresult *res, int r, int c);

#endif
