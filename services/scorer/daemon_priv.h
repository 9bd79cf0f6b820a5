#ifndef SCORER_DAEMON_PRIV_H
#define SCORER_DAEMON_PRIV_H

/*
 * What the files of the scorer's loop share. daemon.c: the stage's
 * callbacks, a batch applied and scored; daemon_out.c: its ScoreUpdates,
 * hot profiles and transaction; daemon_models.c: the models swapped in;
 * daemon_due.c: the churn warnings falling due between batches. Both run
 * on the consumer thread only, except scorer_daemon_reload's hand-over
 * (struct sc_handover). Not for anyone else: the contract is daemon.h.
 */

#include "daemon.h"

#include "analytics/kafka.h"
#include "analytics/txparts.h"
#include "analytics/v1/enriched_event.pb-c.h"
#include "analytics/v1/journey_update.pb-c.h"
#include "models.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#define SC_FLUSH_MS 10000       /* scores awaited before a commit */
#define SC_KEY_MAX 320          /* a Redis key's bytes */
#define SC_MODELS_CHECK_MS 1000 /* the churn model's file looked at this often */

/* A visitor as the cache keeps them: the profile, and what was last
 * explained (reasons cost a TreeSHAP, so they are refreshed sparingly). */
struct sc_visitor {
    struct profile p; /* with what was last explained (profile.explained) */
};

_Static_assert(sizeof(((struct profile_explained *)NULL)->reasons) ==
                   sizeof(((struct score_result *)NULL)->reasons),
               "a profile keeps the reasons of a score");

/* A visitor of the batch (or the due warnings) in hand. */
struct sc_entry {
    struct sc_visitor v;
    bool known;   /* loaded (from the cache or the database) or new */
    bool changed; /* an event changed it: its row is written */
    bool scored;
    bool stale; /* changed since r was scored: the row is scored again */
    struct score_result r;
    int partition;
    const char *last_event_id; /* borrowed from the batch's messages */
    long long last_event_ms;
};

enum sc_slot_kind { SC_EVENT, SC_JOURNEY, SC_SKIP, SC_DEAD };

struct sc_slot {
    struct kafka_message m;
    enum sc_slot_kind kind;
    Analytics__V1__EnrichedEvent *ev; /* owned */
    Analytics__V1__JourneyUpdate *ju; /* owned */
    int entry;                        /* index into entries; -1 none (bots, dead) */
    const char *dead_code;
};

/* A ScoreUpdate waiting to be produced. */
struct sc_update {
    uint8_t *buf; /* owned */
    size_t len;
    int entry;
};

struct sc_metrics {
    struct metric *scored, *bots, *updates, *explained, *loaded, *unreadable, *redis_errors;
    struct metric *skipped;
    struct metric *warnings, *reloads, *reload_failures;
    struct metric *predict;
};

/* The models scorer_daemon_reload hands over (any thread), taken by the
 * consumer thread between batches. */
struct sc_handover {
    pthread_mutex_t mu;
    struct scorer_models pending; /* under mu */
};

struct scorer_daemon {
    struct scorer_daemon_opts o;
    struct stage *rt;
    struct kafka_producer *producer;
    struct pgsink *sink;
    struct txparts *tp;
    struct sstore *store;
    struct redis_client *redis;
    struct lru *cache;
    struct lru *page_names; /* page hash -> host and path, for page_stats_daily.page */
    struct pagestats *pages;
    const char *topics[2]; /* the stage's names: enriched, journeys */
    struct txparts_batch batch;
    struct sc_slot *slots;
    size_t nslots;
    struct sc_entry *entries;
    size_t nentries;
    uint32_t *index;  /* fingerprint -> entry + 1, open addressing; index_cap slots */
    size_t index_cap; /* a power of two, at least twice the entries' room */
    /* What the attempt in hand counted, added to the metrics at its commit
     * (a batch tried again counts once). */
    long long n_scored, n_bots, n_loaded, n_explained, n_unreadable;
    struct sc_update *updates;
    size_t nupdates;
    long long started_mono;
    long long pages_at_mono;
    long long redis_at_mono; /* when Redis is pinged next between batches */
    bool pages_dirty;        /* the batch in hand added to pages: a retry reads them back */
    long long failures_before;
    atomic_bool redis_up;
    struct sc_metrics m;
    struct scorer_models models;      /* in use: the consumer thread's */
    struct sc_handover *handover;     /* owned */
    long long models_at_mono;         /* when the churn model's file is looked at next */
    struct fileio_stamp churn_failed; /* the churn file's version that failed to load */
    /* The churn warnings falling due (daemon_due.c). */
    struct txparts_batch due_assigned;     /* events.enriched partitions assigned */
    struct txparts_batch due_parts;        /* those with a clock: fenced by the pass */
    int32_t due_ids[TXPARTS_PARTS_MAX];    /* scratch: the partitions assigned */
    int64_t due_clocks[TXPARTS_PARTS_MAX]; /* the clock of each of due_parts */
    long long due_at_mono;                 /* when the pass runs next */
};

/* The batch's (or the pass's) entry of fp, made when new: from the cache
 * when there, else not known yet (scorer_daemon_load_missing). Returns its
 * index. */
int scorer_daemon_entry(struct scorer_daemon *d, const char *fp, int partition);

/* Reads back the entries not known from the database (a visitor not there
 * is new). Returns an enum pgsink_rc. */
int scorer_daemon_load_missing(struct scorer_daemon *d);

/* Scores entry e at ts_ms (event time) after a change (enum
 * profile_change bits), caused by cause_id, and queues its ScoreUpdate
 * (extra_reason first among its reasons, NULL none; given one, the reasons
 * are refreshed) and its prediction. Returns an enum pgsink_rc. */
int scorer_daemon_score(struct scorer_daemon *d, struct sc_entry *e, unsigned changed,
                        const char *cause_id, long long ts_ms, const char *extra_reason);

/* The transaction of an attempt over the partitions parts: fenced on them,
 * what the store staged written, with stream (per pair of parts, or NULL
 * for none) their offsets and clocks moved, the ScoreUpdates produced and
 * acknowledged, the scored entries' hot profiles written to Redis, then
 * the commit. Sets *wait when the broker or Redis made it roll back.
 * Returns an enum pgsink_rc. */
int scorer_daemon_transact(struct scorer_daemon *d, const struct txparts_batch *parts,
                           const int64_t *stream, enum stage_step *wait);

/* After a commit: the entries into the cache, the ScoreUpdates counted,
 * the attempt's work forgotten. */
void scorer_daemon_committed(struct scorer_daemon *d);

/* Forgets an attempt's entries, ScoreUpdates and staged rows. */
void scorer_daemon_reset_attempt(struct scorer_daemon *d);

/* The site zone's offset at utc_ms, in ms. */
long long scorer_daemon_utc_offset_ms(const struct scorer_daemon *d, long long utc_ms);

/* The churn warnings the partitions' clocks have reached, sent (or moved)
 * in a transaction fenced on them; at most once a second. Between batches
 * only (the tick). */
enum stage_step scorer_daemon_due(struct scorer_daemon *d);

/* The name of persona index persona in the models in use, or NULL. */
const char *scorer_daemon_persona(const struct scorer_daemon *d, int persona);

/* The hand-over of models from scorer_daemon_reload, or NULL (no memory). */
struct sc_handover *scorer_daemon_handover_new(void);
void scorer_daemon_handover_free(struct sc_handover *h);

/* Between batches: the models handed over taken, and the churn model
 * loaded again when its file changed (now: lifecycle_mono_ms()). */
void scorer_daemon_models(struct scorer_daemon *d, long long now);

#endif
