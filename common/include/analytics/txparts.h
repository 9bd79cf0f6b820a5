#ifndef ANALYTICS_TXPARTS_H
#define ANALYTICS_TXPARTS_H

/*
 * What a replica of an exactly-once PostgreSQL consumer knows of the
 * partitions it holds, per (topic, partition), on a stage (stage.h) and a
 * sink (pgsink.h): the first offset not applied and the partition's clock
 * as its sink's offsets table says, read back on a miss, so any replica
 * can take a partition over and a replay changes nothing.
 *
 * Per batch (process callback), on the consumer thread:
 *
 *   txparts_connect                      connected, or why it waits
 *   txparts_batch_collect(&b, msgs, n)   the batch's (topic, partition) pairs
 *   txparts_load(tp, &b, true)           their offsets, checked against the broker
 *   txparts_is_applied(tp, &msg)         skip what is applied already
 *   pgsink_begin, txparts_fence(tp, &b), the writes, txparts_set(tp, &b, clocks),
 *   pgsink_commit, txparts_committed(tp, &b, clocks)
 *   txparts_store_offsets(tp, &b, ...)   a flight the stage stores once in order
 *
 * and on any failure txparts_failed (roll back, forget, decide the next
 * step). Forgetting is total: every partition is read again, and the
 * consumer's own states read from the sink are dropped through the forget
 * callback (after a failed transaction, a reconnect, a revoke).
 *
 * Before a partition's first batch its offsets are checked against the
 * broker (txparts_judge): offsets applied from another Kafka cluster (a
 * development broker started afresh) or past the partition's high
 * watermark (the topic made again) are not trusted, and are moved to the
 * broker's first offset.
 *
 * Metrics, under the prefix P: P_pg_up, P_pg_errors_total, P_fenced_total,
 * P_offsets_reset_total. Log events (with svc): txparts.pg_available,
 * txparts.pg_unavailable, txparts.pg_unusable, txparts.pg_retry,
 * txparts.pg_refused, txparts.fenced, txparts.offsets_reset, txparts.cluster.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "analytics/kafka.h"
#include "analytics/stage.h"

struct metrics;
struct pgsink;
struct txparts;

#define TXPARTS_PARTS_MAX 4096              /* partitions of one topic: 0..4095 */
#define TXPARTS_TOPICS_MAX STAGE_TOPICS_MAX /* topics of one consumer */
#define TXPARTS_BACKOFF_MIN_MS 250          /* the sink's reconnect backoff */
#define TXPARTS_BACKOFF_MAX_MS 5000
/* An event moves its partition's clock at most this far past its receive time. */
#define TXPARTS_CLOCK_AHEAD_MS 60000

/* What this replica knows of a partition while it holds it. */
struct txpart {
    bool known;            /* applied and stream_ms read from the sink */
    bool verified;         /* applied checked against the broker (txparts_load, verify) */
    int64_t applied;       /* first offset not applied; -1: none ever */
    int64_t stream_ms;     /* latest event time applied: the partition's clock */
    long long raised_mono; /* when stream_ms last moved (or was read) */
};

/* Distinct (topic, partition) pairs, in the order first met: a batch's, or
 * any set of partitions to load or fence. At most TXPARTS_PARTS_MAX pairs.
 * topic[k] points to the message's (or the caller's) name, borrowed. */
struct txparts_batch {
    size_t n;
    const char *topic[TXPARTS_PARTS_MAX];
    int32_t part[TXPARTS_PARTS_MAX];
    int64_t end[TXPARTS_PARTS_MAX]; /* the offset after the batch's last message there; -1: none */
    /* private: which pair each (topic, partition) is */
    size_t ntopics;
    const char *topics[TXPARTS_TOPICS_MAX];
    uint16_t slot[TXPARTS_TOPICS_MAX][TXPARTS_PARTS_MAX]; /* pair index + 1; 0: not there */
};

struct txparts_opts {
    struct stage *stage;       /* borrowed: its consumer (watermarks, cluster id) and flights */
    struct pgsink *sink;       /* borrowed: the connection and its offsets table */
    const char *const *topics; /* the stage's own names (stage_topic), borrowed */
    size_t ntopics;            /* 1..TXPARTS_TOPICS_MAX */
    int connect_timeout_s;     /* for pgsink_connect */
    const char *metric_prefix; /* "analytics_journey_builder" */
    struct metrics *metrics;   /* borrowed; series registered here */
    /* The consumer's own states read from the sink are stale: drop them.
     * Called by txparts_forget. Optional. */
    void (*forget)(void *arg);
    void *arg;
};

/* Returns the partitions of a consumer, none known, with its metrics
 * registered (caller frees with txparts_free), or NULL when memory runs
 * out or the options are not usable. The options' pointers are borrowed
 * until txparts_free. */
struct txparts *txparts_new(const struct txparts_opts *o);

/* Frees tp. Accepts NULL. */
void txparts_free(struct txparts *tp);

/* ---- the connection ---- */

/* Connects the sink when it is not, no sooner than the backoff allows
 * (TXPARTS_BACKOFF_MIN_MS doubling to _MAX_MS); a new connection forgets
 * every partition (the database may have moved on meanwhile). Logs and
 * sets P_pg_up on a change. Returns STAGE_DONE when connected,
 * STAGE_WAIT_BACKEND while not, STAGE_FATAL when the database is not fit
 * for this build (txparts.pg_unusable). */
enum stage_step txparts_connect(struct txparts *tp);

/* Turns a failed sink call (rc, an enum pgsink_rc; where names the work)
 * into the stage's next step, having rolled back and forgotten every
 * partition: PGSINK_FENCED is counted and logged, STAGE_DONE (redo from
 * the database's offsets); PGSINK_DOWN drops the connection,
 * STAGE_WAIT_BACKEND; anything else is logged as refused, STAGE_FATAL.
 * All but the fenced count in P_pg_errors_total. */
enum stage_step txparts_failed(struct txparts *tp, int rc, const char *where);

/* A transaction the caller gives up (the rows were refused, and it will
 * retry another way): rolls back, forgets every partition, counts it in
 * P_pg_errors_total. */
void txparts_abort(struct txparts *tp);

/* Readiness (any thread): true while the sink answers, else false with
 * the reason in why. */
bool txparts_ready(const struct txparts *tp, char *why, size_t whylen);

/* ---- partitions ---- */

/* Forgets what is known of every partition and calls the forget callback. */
void txparts_forget(struct txparts *tp);

/* Partition part of topic (one of the options' topics, by pointer or by
 * name): borrowed until txparts_free; NULL when topic is not one of them
 * or part is outside [0, TXPARTS_PARTS_MAX). */
struct txpart *txparts_get(struct txparts *tp, const char *topic, int32_t part);

/* True when message m's partition is known and m lies before its first
 * offset not applied: applied already, to be skipped. */
bool txparts_is_applied(struct txparts *tp, const struct kafka_message *m);

/* Reads the offsets of the pairs of b not known from the sink; with verify
 * (partitions with messages in hand, so the consumer knows their
 * watermarks), also checks against the broker those not verified yet and
 * resets them when they are not this stream's (txparts.offsets_reset,
 * P_offsets_reset_total). Every pair must be txparts_get's. Returns an
 * enum pgsink_rc. */
int txparts_load(struct txparts *tp, const struct txparts_batch *b, bool verify);

/* Inside the transaction: locks the offset rows of b's pairs and checks
 * they still say what this replica applied. PGSINK_FENCED when one does
 * not. Returns an enum pgsink_rc. */
int txparts_fence(struct txparts *tp, const struct txparts_batch *b);

/* The offset b's pair k is at once its batch is applied: its end, or what
 * was applied when that is further. */
int64_t txparts_next(struct txparts *tp, const struct txparts_batch *b, size_t k);

/* Inside the transaction: writes the offsets of b's pairs (txparts_next)
 * and their clocks stream[k] (the latest event time each pair's batch
 * applied; the sink keeps the greater). Returns an enum pgsink_rc. */
int txparts_set(struct txparts *tp, const struct txparts_batch *b, const int64_t *stream);

/* After the commit: what txparts_set wrote is what this replica knows. */
void txparts_committed(struct txparts *tp, const struct txparts_batch *b, const int64_t *stream);

/* Hands the stage the Kafka offsets of b's pairs as committed, in a
 * flight acknowledged at once (the commit is the acknowledgement),
 * started at started_mono_ms. Returns 0, or -1 when memory runs out. */
int txparts_store_offsets(struct txparts *tp, const struct txparts_batch *b,
                          long long started_mono_ms);

/* Partition part of topic's clock now (txparts_clock_ms): its latest event
 * time applied, moved on by the monotonic time passed since it was raised
 * only while the partition is caught up with the high watermark its
 * consumer last fetched. 0 when the partition is not known or has no
 * clock yet (nothing applied with a time). */
long long txparts_clock(struct txparts *tp, const char *topic, int32_t part);

/* ---- pure parts ---- */

/* Empties b. */
void txparts_batch_reset(struct txparts_batch *b);

/* Adds (topic, part) to b unless there, raising its end to end (-1: no
 * message). Returns the pair's index, or -1 when part is outside
 * [0, TXPARTS_PARTS_MAX) or b has no room (more than TXPARTS_TOPICS_MAX
 * topics or TXPARTS_PARTS_MAX pairs). */
int txparts_batch_add(struct txparts_batch *b, const char *topic, int32_t part, int64_t end);

/* Empties b and fills it with the pairs of msgs[0..n), each pair's end
 * the offset after its last message. Returns 0, or -1 when a message does
 * not fit (txparts_batch_add); b then holds the pairs before it, and
 * msgs[*bad] is the one (bad may be NULL). */
int txparts_batch_collect(struct txparts_batch *b, const struct kafka_message *msgs, size_t n,
                          size_t *bad);

enum txparts_verdict {
    TXPARTS_KEEP = 0,         /* the offsets are this stream's */
    TXPARTS_RESET_CLUSTER,    /* applied from another cluster */
    TXPARTS_RESET_BEYOND_END, /* past the partition's high watermark */
};

/* Judges a partition's stored offsets: stored_next the first offset not
 * applied (-1: no row, nothing to judge), stored_cluster the cluster id
 * recorded with them and cluster the broker's now ("" or NULL: not known,
 * no judgement on that ground), high the partition's high watermark (-1:
 * not known). Pure. */
enum txparts_verdict txparts_judge(long long stored_next, const char *stored_cluster,
                                   const char *cluster, long long high);

/* The reason a verdict gives, for logs: "cluster_changed", "beyond_end",
 * or "" for TXPARTS_KEEP. Static. */
const char *txparts_verdict_reason(enum txparts_verdict v);

/* Where a partition whose offsets are not trusted starts again: its low
 * watermark, or 0 when that is not known (-1). Pure. */
long long txparts_reset_to(long long low);

/* The wait before the next connection attempt after one that waited
 * prev_ms (0: the first failure). Pure. */
long long txparts_backoff_ms(long long prev_ms);

/* A partition's clock, what work falls due by (sessions going idle,
 * warnings of silent visitors): the latest event time applied (stream_ms,
 * raised at raised_mono on the monotonic clock), moved on by the time
 * passed since (now_mono) only while the partition is caught up (every
 * message up to its high watermark applied): a quiet stream still makes
 * things fall due, but while a backlog is read the clock is the events'
 * alone, so what falls due when depends on the event stream and not on how
 * fast or in which batches it was read. Never backwards. Pure. */
long long txparts_clock_ms(long long stream_ms, long long raised_mono, long long now_mono,
                           bool caught_up);

/* Whether a partition is caught up: applied (the first offset not applied)
 * at or past high (its high watermark as last fetched; -1: not known, so
 * not caught up). Pure. */
bool txparts_caught_up(long long applied, long long high);

/* How far an event moves its partition's clock: its time (event_ms), but
 * at most TXPARTS_CLOCK_AHEAD_MS past the time the collector received it
 * (received_ms; 0 or less: not known, no cap), so one client clock far
 * ahead does not make a partition's work fall due early. Pure. */
long long txparts_event_clock_ms(long long event_ms, long long received_ms);

#endif
