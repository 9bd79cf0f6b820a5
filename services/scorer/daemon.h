#ifndef SCORER_DAEMON_H
#define SCORER_DAEMON_H

/*
 * The scorer's loop, on the stage runtime: consume enriched events and
 * journey updates in batches; per batch, read back the profiles not in
 * memory, apply the messages in order (events to profiles and page
 * statistics, stage changes and closed sessions from the journeys), score
 * each profile an event changed, and in one PostgreSQL transaction write
 * the profiles (once per visitor), the predictions, the page statistics,
 * the churn warnings and the partitions' offsets; produce the ScoreUpdates
 * and write the hot profiles to Redis (both acknowledged before the
 * commit); commit; then store the Kafka offsets.
 *
 * Exactly once into the database: scorer_offsets says what is applied, and
 * a replay skips it. At least once onto scores and into Redis: a batch
 * whose commit failed is produced again when it is retried. Bot events are
 * counted, never scored.
 *
 * PostgreSQL or Redis down, or the broker not acknowledging: the batch in
 * hand waits, consumption pauses, readiness goes false, and the batch is
 * redone from the database's state.
 *
 * Between batches, the churn warnings of silent visitors whose moment the
 * partition's clock (txparts_clock: event time, not this host's) has
 * reached are sent, each a ScoreUpdate with reason churn_warning or
 * lapse_warning (churn_due.h), in a transaction fenced on the partitions
 * that also deletes its schedule: sent once, whatever restarts. And the
 * models handed over by scorer_daemon_reload, or a churn model file
 * replaced, are taken in.
 */

#include <stdbool.h>
#include <stddef.h>

#include "analytics/site_events.h"
#include "analytics/stage.h"
#include "rules.h"
#include "score.h"

struct metrics;
struct scorer_models;
struct tz;
struct scorer_daemon;

struct scorer_daemon_opts {
    struct stage_opts stage; /* the shared rows' part (service_stage_opts); the rest is set here */
    const char *topic_enriched;
    const char *topic_journeys;
    const char *topic_scores;
    const char *topic_deadletter;
    const char *pg_dsn;
    int pg_connect_timeout_s;
    const char *redis_url;
    const char *key_prefix;           /* of Redis keys: <prefix>profile:<fingerprint> */
    const struct scorer_rules *rules; /* borrowed */
    const struct site_events *site;   /* borrowed */
    const struct tz *tz;              /* borrowed; NULL is UTC */
    struct scorer_models *models;     /* taken by scorer_daemon_start on success (emptied) */
    const char *churn_model_path;     /* watched: a new file is loaded; NULL not watched */
    struct score_opts score;
    size_t visitor_cache;     /* profiles kept in memory */
    long long profile_ttl_ms; /* of the hot profiles in Redis */
    int page_stats_days;      /* the page statistics' window */
    struct metrics *metrics;  /* borrowed; series registered here */
};

/* Creates the clients and starts the loop. Returns the daemon (stop its
 * stage with stage_stop, then scorer_daemon_free), or NULL with the reason
 * in err. The options and what they point to are borrowed until
 * scorer_daemon_free. */
struct scorer_daemon *scorer_daemon_start(const struct scorer_daemon_opts *o, char *err,
                                          size_t errlen);

/* The daemon's stage (borrowed until scorer_daemon_free). */
struct stage *scorer_daemon_stage(struct scorer_daemon *d);

/* Hands the daemon models loaded anew (those ms holds; ms is emptied), to
 * be taken in place of the ones in use by the consumer thread between two
 * batches (scorer.models_reloaded): a batch is scored with one set of
 * models, and no message is lost or skipped. failed is how many model
 * files failed to load (counted in analytics_scorer_model_reload_failures_total).
 * Any thread. */
void scorer_daemon_reload(struct scorer_daemon *d, struct scorer_models *ms, int failed);

/* Frees the daemon (after stage_stop). Accepts NULL. */
void scorer_daemon_free(struct scorer_daemon *d);

#endif
