#ifndef ANALYTICS_SERVICE_H
#define ANALYTICS_SERVICE_H

/*
 * The one main every daemon runs: --help and --version from its config
 * table, the shared rows declared once (below), every bad variable reported
 * (those checked after the table too) before exit 78, signals blocked
 * before any library starts a thread, the metrics registry, the admin
 * listener (healthz, readyz, metrics), the wait for SIGTERM/SIGINT (or for
 * the daemon failing; SIGHUP meanwhile calls the daemon's reload), and the
 * ordered stop: the daemon's stop within its budget, the admin listener,
 * the daemon's fini, shutdown.complete.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "analytics/config.h"

struct metrics;
struct stage;
struct stage_opts;

/* The shared rows' values. A daemon's config struct starts with one, so the
 * shared rows and its own fill the same struct. */
struct service_config {
    int log_level; /* enum log_level */
    char *brokers;
    char *kafka_debug; /* NULL when unset */
    char *topic_prefix;
    char *pg_dsn; /* with SERVICE_PG */
    long long pg_connect_timeout_s;
    char *redis_url; /* with SERVICE_REDIS */
    char *admin_listen;
    long long retention_days; /* with SERVICE_RETENTION */
    char *site_timezone;      /* with SERVICE_SITE_TZ */
    /* With SERVICE_STAGE: the consumer rows (struct service_stage). */
    char *group;
    long long batch;
    long long linger_ms;
    long long group_session_timeout_ms;
    long long prefetch_mb;
    long long fetch_wait_ms;
};

/* The rows a daemon takes beyond the always-shared ones. */
enum service_uses {
    SERVICE_PG = 1,
    SERVICE_REDIS = 2,
    SERVICE_STAGE = 4,
    SERVICE_RETENTION = 8,
    SERVICE_SITE_TZ = 16
};

/* A consumer stage's rows, named after the daemon's var_prefix P:
 * P_GROUP, P_BATCH, P_LINGER_MS, P_GROUP_SESSION_TIMEOUT_MS, P_PREFETCH_MB,
 * P_FETCH_WAIT_MS.
 * Defaults and texts a stage has of its own; the rest is the same for all. */
struct service_stage {
    const char *group;      /* the default consumer group */
    const char *group_help; /* NULL: what any new group does */
    const char *batch;      /* the default messages per batch */
    const char *batch_help;
    const char *prefetch_help; /* NULL: the plain text */
};

/* What a daemon supplies. arg is passed to every hook; cfg starts with a
 * struct service_config. Hooks other than start and fini may be NULL. */
struct service {
    const char *prog;                  /* "analytics-enricher" */
    const char *summary;               /* for --help */
    const char *var_prefix;            /* "ANALYTICS_ENRICHER": P_ADMIN_LISTEN, the stage rows */
    const char *admin_default;         /* "0.0.0.0:9102" */
    unsigned uses;                     /* enum service_uses */
    const struct service_stage *stage; /* with SERVICE_STAGE */
    const struct config_var *vars;     /* the daemon's own rows */
    size_t nvars;
    void *cfg;
    int stop_budget_ms;        /* the daemon's stop deadline after SIGTERM */
    const char *started_event; /* logged with admin_port once serving, unless serve is set */
    /* An argument that runs a one-shot mode instead (--enrich-stdin): the
     * config is loaded and checked, then alt_run's result is the exit code. */
    const char *alt_flag;
    int (*alt_run)(void *arg, struct metrics *m);
    /* Checks what the table cannot (files, time zones): one line per bad
     * variable on err. Returns how many were bad. Runs even when the table
     * found some, with their defaults. */
    int (*prepare)(void *arg, struct metrics *m, FILE *err);
    /* Starts the daemon's work. Returns 0, or -1 having logged why. A
     * daemon on the stage runtime (stage.h) sets *stage to its stage
     * (borrowed until fini): readiness, failure and the stop are then the
     * stage's, and ready, failed and stop are not called. */
    int (*start)(void *arg, struct metrics *m, struct stage **stage);
    /* Once the admin listener is up (the collector's public listener).
     * Returns 0, or -1 having logged why. */
    int (*serve)(void *arg, int admin_port);
    bool (*ready)(void *arg, char *why, size_t whylen);
    bool (*failed)(void *arg); /* an unrecoverable error: stop, exit 1 */
    void (*stop)(void *arg, long long deadline_mono_ms);
    /* SIGHUP, on the main thread while the daemon runs: reload what can be
     * reloaded without a restart (the scorer's models), keeping what is in
     * use when a new one fails (having logged why). NULL: SIGHUP is logged
     * (reload.unsupported) and changes nothing. */
    void (*reload)(void *arg);
    void (*fini)(void *arg); /* frees what prepare and start made; runs always */
    void *arg;
};

/* Fills the stage options the shared rows give (brokers, debug, group,
 * batch, linger, session timeout, prefetch); the daemon sets the rest.
 * The strings stay sc's. */
void service_stage_opts(const struct service_config *sc, struct stage_opts *o);

/* Runs the daemon. Returns the exit code: 0, 1 (runtime failure), 64 (bad
 * argument) or 78 (bad configuration). */
int service_main(const struct service *svc, int argc, char **argv);

#endif
