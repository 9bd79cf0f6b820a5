#include "analytics/service.h"

#include "analytics/admin.h"
#include "analytics/cli.h"
#include "analytics/kafka.h"
#include "analytics/lifecycle.h"
#include "analytics/log.h"
#include "analytics/metrics.h"
#include "analytics/pg.h"
#include "analytics/stage.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

#define F(field) offsetof(struct service_config, field)

/* The shared rows, in the order --help lists them. */
static const struct config_var service_rows[] = {
    {"ANALYTICS_LOG_LEVEL", CONFIG_ENUM, "info", 0, 0, "debug|info|warn|error",
     "lowest level logged", F(log_level), 0},
    {"ANALYTICS_KAFKA_BROKERS", CONFIG_STRING, "127.0.0.1:9092", 0, 0, NULL,
     "Kafka bootstrap servers, comma-separated", F(brokers), 0},
    {"ANALYTICS_KAFKA_DEBUG", CONFIG_STRING, NULL, 0, 0, NULL,
     "librdkafka debug contexts for the Kafka clients (cgrp,fetch,topic,consumer or all), "
     "logged as kafka.debug lines at info; empty is off",
     F(kafka_debug), 0},
    {"ANALYTICS_TOPIC_PREFIX", CONFIG_STRING, "analytics.", 0, 0, NULL,
     "prefix of every topic name and Redis key, so two stacks can share a cluster", F(topic_prefix),
     0},
    {"ANALYTICS_PG_DSN", CONFIG_STRING, PG_DSN_DEFAULT, 0, 0, NULL,
     "PostgreSQL (a postgresql:// URI or key=value pairs), migrated by analytics-migrate",
     F(pg_dsn), CONFIG_SECRET},
    {"ANALYTICS_PG_CONNECT_TIMEOUT_S", CONFIG_INT, "5", 1, PG_CONNECT_TIMEOUT_MAX_S, NULL,
     "seconds to wait for PostgreSQL to answer a connection", F(pg_connect_timeout_s), 0},
    {"ANALYTICS_REDIS_URL", CONFIG_STRING, "redis://127.0.0.1:6379/0", 0, 0, NULL,
     "Redis: redis://[:password@]host[:port][/db]", F(redis_url), CONFIG_SECRET},
    {"ANALYTICS_RETENTION_DAYS", CONFIG_INT, "400", 1, 36500, NULL,
     "days of events, sessions and journeys kept: the journey-builder drops older daily "
     "partitions, the collector rejects an event dated before as expired",
     F(retention_days), 0},
    {"ANALYTICS_SITE_TIMEZONE", CONFIG_STRING, "UTC", 0, 0, NULL,
     "the site's IANA time zone (Europe/London): the enricher ends sessions at its midnight, the "
     "scorer takes month, weekend and visit days in it",
     F(site_timezone), 0},
    {"_ADMIN_LISTEN", CONFIG_HOSTPORT, NULL, 0, 0, NULL, "health and metrics listener",
     F(admin_listen), 0},
};

/* A consumer stage's rows; the name is the suffix after the daemon's
 * prefix, a NULL default or help the daemon's (struct service_stage). */
static const struct config_var stage_rows[] = {
    {"_GROUP", CONFIG_STRING, NULL, 0, 0, NULL, NULL, F(group), 0},
    {"_BATCH", CONFIG_INT, NULL, 1, 100000, NULL, NULL, F(batch), 0},
    {"_LINGER_MS", CONFIG_INT, "5", 0, 1000, NULL, "producer batching delay in ms", F(linger_ms),
     0},
    {"_GROUP_SESSION_TIMEOUT_MS", CONFIG_INT, "10000", 1000, 300000, NULL,
     "consumer group session timeout: how soon a dead replica's partitions move",
     F(group_session_timeout_ms), 0},
    {"_PREFETCH_MB", CONFIG_INT, "32", 1, 1024, NULL, NULL, F(prefetch_mb), 0},
    {"_FETCH_WAIT_MS", CONFIG_INT, "10", 1, 5000, NULL,
     "how long a fetch finding no message waits at the broker: the most an event waits for a "
     "quiet consumer (librdkafka's default is 500)",
     F(fetch_wait_ms), 0},
};

#define NSERVICE_ROWS (sizeof(service_rows) / sizeof(service_rows[0]))
#define NSTAGE_ROWS (sizeof(stage_rows) / sizeof(stage_rows[0]))
#define SERVICE_NAME_MAX 96

/* The daemon's whole table, and the names made from its prefix. */
struct service_table {
    struct config_var *rows;
    size_t n;
    char names[1 + NSTAGE_ROWS][SERVICE_NAME_MAX];
};

static bool service_row_used(const struct service *svc, size_t i)
{
    const char *name = service_rows[i].name;

    if (strncmp(name, "ANALYTICS_PG_", 13) == 0) {
        return (svc->uses & SERVICE_PG) != 0;
    }
    if (strcmp(name, "ANALYTICS_RETENTION_DAYS") == 0) {
        return (svc->uses & SERVICE_RETENTION) != 0;
    }
    if (strcmp(name, "ANALYTICS_SITE_TIMEZONE") == 0) {
        return (svc->uses & SERVICE_SITE_TZ) != 0;
    }
    return strcmp(name, "ANALYTICS_REDIS_URL") != 0 || (svc->uses & SERVICE_REDIS) != 0;
}

/* Appends row r named prefix + r's suffix into slot. */
static void service_prefixed(struct service_table *t, const struct service *svc,
                             const struct config_var *r, size_t slot)
{
    snprintf(t->names[slot], sizeof(t->names[slot]), "%s%s", svc->var_prefix, r->name);
    t->rows[t->n] = *r;
    t->rows[t->n++].name = t->names[slot];
}

/* The stage rows with the daemon's defaults and texts. */
static void service_stage_rows(struct service_table *t, const struct service *svc)
{
    const struct service_stage *st = svc->stage;
    const char *help[NSTAGE_ROWS] = {
        st->group_help != NULL ? st->group_help
                               : "Kafka consumer group, shared by replicas; a new group starts "
                                 "from the oldest message kept",
        st->batch_help,
        NULL,
        NULL,
        st->prefetch_help != NULL ? st->prefetch_help : "messages fetched ahead, in MB",
        NULL};
    const char *def[NSTAGE_ROWS] = {st->group, st->batch, NULL, NULL, NULL, NULL};

    for (size_t i = 0; i < NSTAGE_ROWS; i++) {
        struct config_var *r = &t->rows[t->n];
        service_prefixed(t, svc, &stage_rows[i], 1 + i);
        if (help[i] != NULL) {
            r->help = help[i];
        }
        if (def[i] != NULL) {
            r->def = def[i];
        }
    }
}

/* Builds the daemon's whole table: the shared rows it uses, the stage
 * rows, then its own. Returns 0, or -1 out of memory. */
static int service_table_init(struct service_table *t, const struct service *svc)
{
    memset(t, 0, sizeof(*t));
    t->rows = calloc(NSERVICE_ROWS + NSTAGE_ROWS + svc->nvars, sizeof(*t->rows));
    if (t->rows == NULL) {
        return -1;
    }
    for (size_t i = 0; i < NSERVICE_ROWS; i++) {
        if (service_rows[i].name[0] == '_') { /* the admin row: named after the daemon */
            service_prefixed(t, svc, &service_rows[i], 0);
            t->rows[t->n - 1].def = svc->admin_default;
        } else if (service_row_used(svc, i)) {
            t->rows[t->n++] = service_rows[i];
        }
    }
    if ((svc->uses & SERVICE_STAGE) != 0) {
        service_stage_rows(t, svc);
    }
    memcpy(t->rows + t->n, svc->vars, svc->nvars * sizeof(*t->rows));
    t->n += svc->nvars;
    return 0;
}

void service_stage_opts(const struct service_config *sc, struct stage_opts *o)
{
    o->brokers = sc->brokers;
    o->kafka_debug = sc->kafka_debug;
    o->group = sc->group;
    o->batch_max = (size_t)sc->batch;
    o->linger_ms = (int)sc->linger_ms;
    o->group_session_timeout_ms = (int)sc->group_session_timeout_ms;
    o->prefetch_mb = (int)sc->prefetch_mb;
    o->fetch_wait_ms = (int)sc->fetch_wait_ms;
}

/* --help, --version, the one-shot flag. Returns 1 when printed (exit 0),
 * 0 to run, 2 to run the one-shot mode, -1 on a bad argument. */
static int service_args(const struct service *svc, int argc, char **argv,
                        const struct config_var *t, size_t n)
{
    if (argc == 2 && svc->alt_flag != NULL && strcmp(argv[1], svc->alt_flag) == 0) {
        return 2;
    }
    return cli_handle(argc, argv, svc->prog, svc->summary, t, n);
}

/* Loads and checks everything. Returns how many variables were bad. */
static int service_load(const struct service *svc, const struct config_var *t, size_t n,
                        struct metrics *m)
{
    const struct service_config *sc = svc->cfg;
    char err[512];
    int bad = config_load(t, n, svc->cfg, environ, stderr);

    if (kafka_debug_check(sc->kafka_debug, err, sizeof(err)) != 0) {
        fprintf(stderr, "config: ANALYTICS_KAFKA_DEBUG: %s\n", err);
        bad++;
    }
    if ((svc->uses & SERVICE_PG) != 0 && pg_dsn_check(sc->pg_dsn, err, sizeof(err)) != 0) {
        fprintf(stderr, "config: ANALYTICS_PG_DSN: %s\n", err);
        bad++;
    }
    if (svc->prepare != NULL) {
        bad += svc->prepare(svc->arg, m, stderr);
    }
    return bad;
}

/* The running daemon: its hooks, or the stage its start handed over. */
struct service_daemon {
    const struct service *svc;
    struct stage *stage; /* borrowed; NULL for a daemon not on the runtime */
};

static bool service_ready(void *arg, char *why, size_t whylen)
{
    const struct service_daemon *sd = arg;

    if (sd->stage != NULL) {
        return stage_ready(sd->stage, why, whylen);
    }
    return sd->svc->ready == NULL || sd->svc->ready(sd->svc->arg, why, whylen);
}

static bool service_failed(const struct service_daemon *sd)
{
    if (sd->stage != NULL) {
        return stage_failed(sd->stage);
    }
    return sd->svc->failed != NULL && sd->svc->failed(sd->svc->arg);
}

static void service_stop(const struct service_daemon *sd, long long deadline_mono_ms)
{
    if (sd->stage != NULL) {
        stage_stop(sd->stage, deadline_mono_ms);
    } else if (sd->svc->stop != NULL) {
        sd->svc->stop(sd->svc->arg, deadline_mono_ms);
    }
}

/* SIGHUP: the daemon's reload, on this (the main) thread. */
static void service_reload(const struct service_daemon *sd)
{
    if (sd->svc->reload == NULL) {
        log_info("reload.unsupported", LOG_INT("signal", SIGHUP));
        return;
    }
    log_info("reload.begin", LOG_INT("signal", SIGHUP));
    sd->svc->reload(sd->svc->arg);
}

/* Waits for SIGTERM/SIGINT, reloading on SIGHUP meanwhile. Returns 0, or 1
 * when the daemon failed. */
static int service_wait(const struct service_daemon *sd)
{
    for (;;) {
        int sig = lifecycle_wait(500);
        if (sig == SIGTERM || sig == SIGINT) {
            log_info("shutdown.begin", LOG_INT("signal", sig));
            return 0;
        }
        if (sig == SIGHUP) {
            service_reload(sd);
        }
        if (service_failed(sd)) {
            log_error("shutdown.begin", LOG_STR("reason", "unrecoverable error; restart replays"));
            return 1;
        }
    }
}

/* Starts, serves until told to stop, stops in order. Returns the exit code. */
static int service_run(const struct service *svc, struct metrics *m)
{
    const struct service_config *sc = svc->cfg;
    struct service_daemon sd = {svc, NULL};
    char err[512];
    int rc = 1;

    if (svc->start(svc->arg, m, &sd.stage) != 0) {
        return 1;
    }
    struct admin_opts ao = {sc->admin_listen, m, service_ready, &sd};
    struct admin *admin = admin_start(&ao, err, sizeof(err));
    if (admin == NULL) {
        log_error("http.listen_failed", LOG_STR("error", err));
    } else if (svc->serve != NULL ? svc->serve(svc->arg, admin_port(admin)) == 0 : true) {
        if (svc->serve == NULL) {
            log_info(svc->started_event, LOG_INT("admin_port", admin_port(admin)));
        }
        rc = service_wait(&sd);
    }
    service_stop(&sd, lifecycle_mono_ms() + svc->stop_budget_ms);
    admin_stop(admin);
    return rc;
}

int service_main(const struct service *svc, int argc, char **argv)
{
    struct service_table st;
    struct metrics *m = NULL;
    int rc = CONFIG_EX_CONFIG, mode;

    if (service_table_init(&st, svc) != 0) {
        fprintf(stderr, "%s: out of memory\n", svc->prog);
        return 1;
    }
    mode = service_args(svc, argc, argv, st.rows, st.n);
    if (mode == 1 || mode < 0) {
        free(st.rows);
        return mode == 1 ? 0 : CLI_EX_USAGE;
    }
    if (lifecycle_block_signals() != 0 || (m = metrics_new()) == NULL) {
        fprintf(stderr, "%s: cannot initialise\n", svc->prog);
        free(st.rows);
        return 1;
    }
    if (service_load(svc, st.rows, st.n, m) == 0) {
        log_init(svc->prog, (enum log_level)((struct service_config *)svc->cfg)->log_level);
        if (mode == 2) {
            rc = svc->alt_run(svc->arg, m);
        } else {
            config_log(st.rows, st.n, svc->cfg);
            rc = service_run(svc, m);
        }
    }
    svc->fini(svc->arg);
    config_free(st.rows, st.n, svc->cfg);
    metrics_free(m);
    free(st.rows);
    if (rc == 0 && mode != 2) {
        log_info("shutdown.complete");
    }
    return rc;
}
