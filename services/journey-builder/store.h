#ifndef JOURNEY_STORE_H
#define JOURNEY_STORE_H

/*
 * The journey-builder's PostgreSQL side, on the consumer's sink (pgsink.h:
 * the connection, transactions and journey_offsets): its staging tables
 * and funnel definitions set up on every connection, reading states back,
 * archiving events, writing what a batch produced (apply_out), finding
 * sessions and attempts falling due, and retention.
 *
 * Every call returns an enum pgsink_rc (PGSINK_OK, _DOWN, _REFUSED), with
 * the reason of a failure in pgsink_error of the sink.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "analytics/copybuf.h"
#include "apply.h"
#include "jcache.h"

struct pgsink;
struct store;

/* Returns a store writing through sink, with the rules and funnels of c
 * (both borrowed until store_free), or NULL when memory runs out. Makes
 * the store's set-up (staging tables, the histogram bounds checked, the
 * funnels written into funnel_definitions) the sink's on-connect step: a
 * database whose bounds differ from rollup_hist_bounds is refused. */
struct store *store_new(struct pgsink *sink, const struct apply_ctx *c);

/* Frees st (not the sink). Accepts NULL. */
void store_free(struct store *st);

/* The sink st writes through. Borrowed. */
struct pgsink *store_sink(struct store *st);

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

/* What became of one archived row. */
enum store_row {
    STORE_ROW_NEW = 0,   /* inserted */
    STORE_ROW_DUPLICATE, /* its event_id was already there: nothing done */
    STORE_ROW_REFUSED,   /* the database refused the row (its reason in reasons[i]) */
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
