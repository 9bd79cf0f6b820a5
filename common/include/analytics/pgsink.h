#ifndef ANALYTICS_PGSINK_H
#define ANALYTICS_PGSINK_H

/*
 * The PostgreSQL side of an exactly-once consumer: one connection, owned by
 * the consumer thread, on which each batch's writes and the offsets of its
 * partitions are committed in one transaction, so that a replay finds them
 * applied and changes nothing (txparts.h keeps what a replica knows of its
 * partitions on top of it).
 *
 * The offsets table, named at pgsink_new (a trusted constant: the
 * journey-builder's journey_offsets; every consumer has one of that shape,
 * made by its migration), holds one row per (topic, partition):
 *
 *   topic text, kafka_partition int, next_offset bigint, stream_ms bigint,
 *   cluster_id text, updated_at timestamptz, PRIMARY KEY (topic, kafka_partition)
 *
 * next_offset is the first offset not applied, stream_ms the partition's
 * clock (the latest event time applied) and cluster_id the Kafka cluster
 * they were applied from.
 *
 * Every call that talks to the server returns an enum pgsink_rc: PGSINK_OK,
 * or a negative code with the reason in pgsink_error:
 *   PGSINK_DOWN     the server or the connection failed, or a transient
 *                   conflict (pgsink_classify): roll back, forget what was
 *                   read, retry the same work once pgsink_connect succeeds;
 *   PGSINK_REFUSED  the server refused the statement or its rows (a bug, a
 *                   schema that does not match, or rows at fault:
 *                   pgsink_refused_by_data tells which): not retried as is;
 *   PGSINK_FENCED   another replica moved a partition's offsets: this one
 *                   lost the partition and must drop its work.
 *
 * libpq rules kept here: every result is cleared (a result handed out is
 * the caller's to PQclear), the error message is copied before the next
 * call, the connection is never shared between threads.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

enum pgsink_rc {
    PGSINK_OK = 0,
    PGSINK_DOWN = -1,
    PGSINK_REFUSED = -2,
    PGSINK_FENCED = -3,
};

/* What a failure the server (or libpq) reported is, by its SQLSTATE. */
enum pgsink_fault {
    PGSINK_FAULT_TRANSIENT = 0, /* the connection, the server, resources, a conflict: retry */
    PGSINK_FAULT_STATEMENT,     /* the statement itself (schema, syntax, permission) */
    PGSINK_FAULT_DATA,          /* the rows: a data exception (22) or a constraint (23) */
};

#define PGSINK_CLUSTER_MAX 128        /* bytes of a Kafka cluster id kept, with its NUL */
#define PGSINK_STATEMENT_TIMEOUT_S 30 /* a statement running longer is cancelled (57014) */

struct pgsink;

/* Returns a sink for dsn (not connected yet), connecting as app_name (its
 * application_name) and keeping its offsets in the table offsets_table (a
 * plain lower-case SQL identifier), all three copied; or NULL when memory
 * runs out or offsets_table is not such a name. Caller frees with
 * pgsink_free. */
struct pgsink *pgsink_new(const char *dsn, const char *app_name, const char *offsets_table);

/* Closes the connection and frees s. Accepts NULL. */
void pgsink_free(struct pgsink *s);

/* Sets what runs on every new connection once pgsink_connect has set it up
 * (the consumer's staging tables, its definitions): prepare(s, arg)
 * returns an enum pgsink_rc; a failure drops the connection and
 * pgsink_connect returns it. arg is borrowed until pgsink_free. */
void pgsink_on_connect(struct pgsink *s, int (*prepare)(struct pgsink *s, void *arg), void *arg);

/* Connects when not connected, waiting at most timeout_s for the server;
 * checks the schema is this build's ANALYTICS_SCHEMA_VERSION (newer: a
 * warning, pg.schema_ahead); sets the time zone to UTC and the statement
 * timeout to PGSINK_STATEMENT_TIMEOUT_S; then runs the on-connect step.
 * Returns PGSINK_OK, PGSINK_DOWN, or PGSINK_REFUSED when the database is
 * not fit for this build (schema behind or missing: the reason says to run
 * analytics-migrate) or the on-connect step refused. */
int pgsink_connect(struct pgsink *s, int timeout_s);

/* True while connected (as far as the last call knows). */
bool pgsink_connected(const struct pgsink *s);

/* Drops the connection (after a failure; the next pgsink_connect makes a
 * new one). Any transaction is gone with it. */
void pgsink_disconnect(struct pgsink *s);

/* ---- errors ---- */

/* The reason of the last failure ("what: server's message"). Borrowed
 * until the next call. */
const char *pgsink_error(const struct pgsink *s);

/* The SQLSTATE of the last failure the server gave ("23505"), "" when it
 * gave none (or the failure was set with pgsink_set_error). Borrowed until
 * the next call. */
const char *pgsink_sqlstate(const struct pgsink *s);

/* Sets the reason pgsink_error gives, for a failure the caller found
 * (out of memory, say); clears the SQLSTATE. */
__attribute__((format(printf, 2, 3))) void pgsink_set_error(struct pgsink *s, const char *fmt, ...);

/* True when the last failure was the rows' (PGSINK_FAULT_DATA): the data in
 * hand is at fault, not the schema, the statement or the server. */
bool pgsink_refused_by_data(const struct pgsink *s);

/* Classifies a failure: sqlstate as the server gave it (NULL: no result at
 * all, as libpq says when the connection broke or memory ran out), and
 * whether the connection is still up. Transient: no SQLSTATE, the
 * connection gone, or classes 08 (connection), 57 (the server going away
 * or starting; a cancelled statement), 53 (resources) and 40 (a
 * serialization failure or a deadlock). Data: classes 22 and 23. Anything
 * else is the statement's. Pure. */
enum pgsink_fault pgsink_classify(const char *sqlstate, bool connected);

/* ---- statements ---- */

/* Runs the command sql (no parameters, no rows back); what names it in the
 * error. Returns an enum pgsink_rc. */
int pgsink_cmd(struct pgsink *s, const char *sql, const char *what);

/* Runs sql with n text params (NULL entries: SQL NULL) and checks its
 * status is want (PGRES_COMMAND_OK or PGRES_TUPLES_OK). Returns an enum
 * pgsink_rc; on PGSINK_OK *out is the result (caller frees with PQclear),
 * else NULL. */
int pgsink_query(struct pgsink *s, const char *sql, int n, const char *const *params,
                 ExecStatusType want, const char *what, PGresult **out);

/* Runs the command sql with n text params; no rows back. Returns an enum
 * pgsink_rc. */
int pgsink_exec(struct pgsink *s, const char *sql, int n, const char *const *params,
                const char *what);

/* Runs sql, a COPY ... FROM STDIN, sending it data[0..len) (whole rows of
 * its format). Returns an enum pgsink_rc. */
int pgsink_copy_in(struct pgsink *s, const char *sql, const char *data, size_t len,
                   const char *what);

/* Column c of row r as a number, 0 when NULL. */
long long pgsink_ll(const PGresult *res, int r, int c);

/* Column c of row r as text (borrowed from res), NULL when NULL. */
const char *pgsink_str(const PGresult *res, int r, int c);

/* Returns the array literal {"a","b"} of strs[0..n) (each quoted, '"' and
 * '\' escaped), NUL-ended, in a buffer of s borrowed until the next call
 * of pgsink_text_array; NULL when memory runs out. */
const char *pgsink_text_array(struct pgsink *s, const char *const *strs, size_t n);

/* Return the array literal {1,2,3} of vals[0..n) (caller frees), or NULL
 * when memory runs out. */
char *pgsink_int32_array(const int32_t *vals, size_t n);
char *pgsink_int64_array(const int64_t *vals, size_t n);

/* ---- transactions ---- */

int pgsink_begin(struct pgsink *s);
int pgsink_commit(struct pgsink *s);

/* Rolls back if a transaction is open; never fails (a connection that
 * cannot roll back is dropped). Keeps the reason of the last failure. */
void pgsink_rollback(struct pgsink *s);

/* ---- the offsets table ---- */

/* The id of the Kafka cluster consumed from (borrowed; copied, truncated
 * to PGSINK_CLUSTER_MAX - 1 bytes), written with every offset from now on.
 * NULL or "": not known (the rows keep the id they had). */
void pgsink_set_cluster(struct pgsink *s, const char *cluster_id);

/* Reads the offsets of topic's partitions parts[0..n): next[i] the first
 * offset not applied (-1 when the partition has no row yet), stream[i] its
 * clock (ms; 0 when none) and cluster[i] the id of the Kafka cluster they
 * were applied from ("" when not recorded). */
int pgsink_offsets_read(struct pgsink *s, const char *topic, const int32_t *parts, size_t n,
                        int64_t *next, int64_t *stream, char (*cluster)[PGSINK_CLUSTER_MAX]);

/* Outside a transaction: moves topic's partition part from offset from to
 * to (the broker's offsets, after the stream's identity changed), with
 * the current cluster id. PGSINK_FENCED when the row no longer says from
 * (another replica moved it). */
int pgsink_offsets_reset(struct pgsink *s, const char *topic, int32_t part, int64_t from,
                         int64_t to);

/* Inside a transaction: locks the rows of topic's partitions parts[0..n)
 * (FOR UPDATE, in partition order) and checks they still say expect[i]
 * (-1: no row). PGSINK_FENCED when one does not: another replica took it. */
int pgsink_offsets_fence(struct pgsink *s, const char *topic, const int32_t *parts,
                         const int64_t *expect, size_t n);

/* Inside a transaction: sets the offsets of topic's partitions parts[0..n)
 * to next[i], their clocks to the greater of stream[i] and the clock they
 * had, and the cluster id when known (upserts). */
int pgsink_offsets_set(struct pgsink *s, const char *topic, const int32_t *parts,
                       const int64_t *next, const int64_t *stream, size_t n);

#endif
