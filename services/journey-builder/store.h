#ifndef JOURNEY_STORE_H
#define JOURNEY_STORE_H

/*
 * The journey-builder's PostgreSQL side, on one connection owned by the
 * consumer thread: the schema check, reading states back, archiving
 * events, writing what a batch produced (apply_out) and the partitions'
 * offsets in the same transaction, finding sessions and attempts falling
 * due, and retention.
 *
 * Every call returns an enum store_rc: STORE_OK, or a negative code with the
 * reason in the store's last error (store_error):
 *   STORE_DOWN     the server or the connection failed (or a transient
 *                  conflict): roll back, drop the in-memory states, retry
 *                  the same work once store_connect succeeds again;
 *   STORE_REFUSED  the server refused the statement itself (a bug or a
 *                  schema that does not match): not retried;
 *   STORE_FENCED   another replica moved a partition's offsets: this one
 *                  lost the partition and must drop its work.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "analytics/copybuf.h"
#include "apply.h"
#include "jcache.h"

enum store_rc {
    STORE_OK = 0,
    STORE_DOWN = -1,
    STORE_REFUSED = -2,
    STORE_FENCED = -3,
};

#define STORE_CLUSTER_MAX 128 /* bytes of a Kafka cluster id kept, with its NUL */

struct store;

/* Returns a store for dsn (not connected yet), reading and writing the
 * offsets of topic, with the rules and funnels of c (all borrowed until
 * store_free), or NULL when memory runs out. */
struct store *store_new(const char *dsn, const char *topic, const struct apply_ctx *c);

/* Closes the connection and frees st. Accepts NULL. */
void store_free(struct store *st);

/* The reason of the last failure. Borrowed until the next call. */
const char *store_error(const struct store *st);

/* Sets the reason store_error gives (for a failure found by the caller). */
void store_set_error(struct store *st, const char *msg);

/* Connects when not connected, checks the schema is this build's (or newer:
 * a warning), that the database's histogram bounds are rollup_hist_bounds,
 * writes the funnels of the set into funnel_definitions, and prepares the
 * session's staging tables. Returns STORE_OK, STORE_DOWN, or STORE_REFUSED
 * when the database is not fit for this build (schema behind or missing:
 * the reason says to run analytics-migrate). */
int store_connect(struct store *st, int timeout_s);

/* True while connected (as far as the last call knows). */
bool store_connected(const struct store *st);

/* Drops the connection (after a failure; the next store_connect makes a new
 * one). */
void store_disconnect(struct store *st);

/* True when the last failure was the data's (SQLSTATE class 22, a data
 * exception, or 23, an integrity constraint): the rows in hand are at
 * fault, not the schema, the statement or the server. */
bool store_refused_by_data(const struct store *st);

/* Reads the applied offsets of partitions parts[0..n): next[i] the first
 * offset not applied (-1 when the partition has no row yet), stream[i]
 * its clock (latest event time applied, ms; 0 when none) and cluster[i]
 * the id of the Kafka cluster they were applied from ("" when not
 * recorded). */
int store_offsets(struct store *st, const int32_t *parts, size_t n, int64_t *next, int64_t *stream,
                  char (*cluster)[STORE_CLUSTER_MAX]);

/* The id of the Kafka cluster consumed from (borrowed; copied, truncated
 * to STORE_CLUSTER_MAX - 1 bytes), written with every offset from now on.
 * NULL or "": not known (the rows keep the id they had). */
void store_set_cluster(struct store *st, const char *cluster_id);

/* Outside a transaction: moves partition part's applied offset from from
 * to to (the broker's offsets after the topic's identity changed), with the
 * current cluster id. STORE_FENCED when the row no longer says from. */
int store_reset_offset(struct store *st, int32_t part, int64_t from, int64_t to);

/* Makes sure the daily partitions of days[0..n) (days since 1970-01-01)
 * exist, in a transaction of its own. */
int store_ensure_days(struct store *st, const long long *days, size_t n);

/* Fills the fresh states vs[0..n) (each made with its fingerprint and
 * partition) from the database: the visitor's latest touchpoint and its
 * attempts. A visitor the database does not know stays fresh. */
int store_load_visitors(struct store *st, struct jstate_visitor *const *vs, size_t n);

/* Fills the empty sessions ss[0..n) from the database; one it does not know
 * stays empty. */
int store_load_sessions(struct store *st, struct jstate_session *const *ss, size_t n);

int store_begin(struct store *st);
int store_commit(struct store *st);
/* Rolls back if a transaction is open; never fails (a broken connection is
 * dropped). */
void store_rollback(struct store *st);

/* Inside a transaction: locks the offset rows of parts[0..n) and checks
 * they still say expect[i] (-1: no row). STORE_FENCED when one does not. */
int store_fence(struct store *st, const int32_t *parts, const int64_t *expect, size_t n);

/* What became of one archived row. */
enum store_row {
    STORE_ROW_NEW = 0,   /* inserted */
    STORE_ROW_DUPLICATE, /* its event_id was already there: nothing done */
    STORE_ROW_REFUSED,   /* the database refused the row (reason in store_error) */
};

/* Inside a transaction: archives rows (COPY text of archive_columns, one
 * row per event; row i starts at starts[i], is the event event_ids[i] at
 * event_ms[i]) into analytics_events, and their ids into
 * analytics_event_ids, which says what "the same event" is: an id there
 * already (whatever its time), or earlier in the batch, makes the row a
 * DUPLICATE, not archived. Sets status[i] for each; a refused row's reason
 * goes to reasons[i] (owned by the caller, 256 bytes each). */
int store_archive(struct store *st, const struct copybuf *rows, const size_t *starts, size_t n,
                  const char *const *event_ids, const long long *event_ms, enum store_row *status,
                  char (*reasons)[256]);

/* Inside a transaction: writes what o holds (sessions, journey rows, times
 * spent, attempts, rollups). */
int store_write(struct store *st, const struct apply_out *o);

/* Inside a transaction: sets the offsets and clocks of parts[0..n). */
int store_set_offsets(struct store *st, const int32_t *parts, const int64_t *next,
                      const int64_t *stream, size_t n);

/* A state falling due: a session to close, or an attempt to abandon. */
struct store_due {
    char *fingerprint; /* owned */
    char *session_id;  /* owned; NULL when none */
    int partition;
    bool close; /* true: close session_id; false: abandonment by time */
};

/* Finds at most limit states (0: no limit) due on partitions parts[0..n):
 * open sessions whose last event is before close_before[i] (ms), and
 * attempts whose abandonment time is at or before now[i]. Writes them into
 * *out (caller frees with store_due_free). */
int store_find_due(struct store *st, const int32_t *parts, const int64_t *close_before,
                   const int64_t *now, size_t n, size_t limit, struct store_due **out,
                   size_t *nout);
void store_due_free(struct store_due *d, size_t n);

/* Drops the daily partitions older than days before today (UTC) and
 * deletes sessions, journeys and attempts that old. *dropped: partitions
 * dropped. In transactions of its own. */
int store_retention(struct store *st, int days, int *dropped);

/* Ensures today's partitions and the next days_ahead, in a transaction of
 * its own. */
int store_ensure_ahead(struct store *st, int days_ahead);

#endif
