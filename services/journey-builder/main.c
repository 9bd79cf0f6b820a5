/* analytics-journey-builder: enriched events become sessions, journeys and
 * funnels in PostgreSQL, and journey updates. Wiring only. */
#include "analytics/admin.h"
#include "analytics/cli.h"
#include "analytics/kafka.h"
#include "analytics/lifecycle.h"
#include "analytics/log.h"
#include "analytics/metrics.h"
#include "analytics/pg.h"
#include "daemon.h"
#include "jb_config.h"

#include <signal.h>
#include <stdio.h>

/* The batch in hand gets this long to commit; stopping the admin listener,
 * leaving the group and flushing need the rest of the 10 s. */
#define SHUTDOWN_BUDGET_MS 6000

extern char **environ;

static const char jb_summary[] =
    "Consumes enriched events and keeps, in PostgreSQL, every event (analytics_events), one\n"
    "row per session, each visitor's journey and the funnel rollups; produces journey updates\n"
    "(stage changes, funnel steps, sessions closed, abandonment). Exits 1 when the database\n"
    "schema is behind this build: run analytics-migrate first.";

struct jb_rules {
    struct journey_rules *journeys;
    struct funnel_set funnels;
};

/* Loads both rule files. Returns 0, or -1 having said why on stderr. */
static int jb_rules_load(struct jb_rules *r, const struct jb_config *cfg)
{
    char err[512];

    r->journeys = journey_rules_load(cfg->journeys_file, err, sizeof(err));
    if (r->journeys == NULL) {
        fprintf(stderr, "config: ANALYTICS_JOURNEYS_FILE: %s\n", err);
        return -1;
    }
    if (funnel_set_load(&r->funnels, cfg->funnels_file, err, sizeof(err)) != 0) {
        fprintf(stderr, "config: ANALYTICS_FUNNELS_FILE: %s\n", err);
        return -1;
    }
    return 0;
}

static bool jb_ready(void *arg, char *why, size_t whylen)
{
    return jb_daemon_ready(arg, why, whylen);
}

/* Waits for SIGTERM/SIGINT. Returns 0, or 1 when the loop failed. */
static int jb_wait_for_stop(struct jb_daemon *d)
{
    for (;;) {
        int sig = lifecycle_wait(500);
        if (sig == SIGTERM || sig == SIGINT) {
            log_info("shutdown.begin", LOG_INT("signal", sig));
            return 0;
        }
        if (jb_daemon_failed(d)) {
            log_error("shutdown.begin", LOG_STR("reason", "unrecoverable error; restart replays"));
            return 1;
        }
    }
}

static int jb_run(const struct jb_config *cfg, struct metrics *metrics)
{
    struct jb_rules rules = {0};
    struct jb_daemon *d = NULL;
    struct admin *admin = NULL;
    char enriched[256], journeys[256], dlq[256], err[512];
    int rc = CONFIG_EX_CONFIG;

    if (jb_rules_load(&rules, cfg) != 0) {
        goto out;
    }
    if (kafka_debug_check(cfg->kafka_debug, err, sizeof(err)) != 0) {
        fprintf(stderr, "config: ANALYTICS_KAFKA_DEBUG: %s\n", err);
        goto out;
    }
    if (pg_dsn_check(cfg->pg_dsn, err, sizeof(err)) != 0) {
        fprintf(stderr, "config: ANALYTICS_PG_DSN: %s\n", err);
        goto out;
    }
    struct apply_ctx ctx = {rules.journeys, &rules.funnels};
    struct jb_daemon_opts o = {
        .brokers = cfg->brokers,
        .kafka_debug = cfg->kafka_debug,
        .group = cfg->group,
        .topic_enriched =
            kafka_topic_name(cfg->topic_prefix, "events.enriched", enriched, sizeof(enriched)),
        .topic_journeys =
            kafka_topic_name(cfg->topic_prefix, "journeys", journeys, sizeof(journeys)),
        .topic_deadletter = kafka_topic_name(cfg->topic_prefix, "deadletter", dlq, sizeof(dlq)),
        .pg_dsn = cfg->pg_dsn,
        .pg_connect_timeout_s = (int)cfg->pg_connect_timeout_s,
        .ctx = &ctx,
        .batch_max = (size_t)cfg->batch,
        .linger_ms = (int)cfg->linger_ms,
        .group_session_timeout_ms = (int)cfg->group_session_timeout_ms,
        .prefetch_mb = (int)cfg->prefetch_mb,
        .session_idle_ms = cfg->session_idle_s * 1000,
        .retention_days = (int)cfg->retention_days,
        .visitor_cache = (size_t)cfg->visitor_cache,
        .session_cache = (size_t)cfg->session_cache,
        .metrics = metrics,
    };
    rc = 1;
    d = jb_daemon_start(&o, err, sizeof(err));
    if (d == NULL) {
        log_error("journey.start_failed", LOG_STR("error", err));
        goto out;
    }
    struct admin_opts ao = {cfg->admin_listen, metrics, jb_ready, d};
    admin = admin_start(&ao, err, sizeof(err));
    if (admin == NULL) {
        log_error("http.listen_failed", LOG_STR("error", err));
        jb_daemon_stop(d, lifecycle_mono_ms() + SHUTDOWN_BUDGET_MS);
        goto out;
    }
    log_info("journey.started", LOG_INT("admin_port", admin_port(admin)));
    rc = jb_wait_for_stop(d);
    jb_daemon_stop(d, lifecycle_mono_ms() + SHUTDOWN_BUDGET_MS);
out:
    admin_stop(admin);
    jb_daemon_free(d);
    journey_rules_free(rules.journeys);
    funnel_set_fini(&rules.funnels);
    return rc;
}

int main(int argc, char **argv)
{
    struct jb_config cfg = {0};
    struct metrics *metrics = NULL;
    int rc = CONFIG_EX_CONFIG;
    int bad = cli_handle(argc, argv, "analytics-journey-builder", jb_summary, jb_config_vars,
                         jb_config_nvars);

    if (bad != 0) {
        return bad > 0 ? 0 : CLI_EX_USAGE;
    }
    if (lifecycle_block_signals() != 0 || (metrics = metrics_new()) == NULL) {
        fprintf(stderr, "analytics-journey-builder: cannot initialise\n");
        return 1;
    }
    if (config_load(jb_config_vars, jb_config_nvars, &cfg, environ, stderr) == 0) {
        log_init("analytics-journey-builder", (enum log_level)cfg.log_level);
        config_log(jb_config_vars, jb_config_nvars, &cfg);
        rc = jb_run(&cfg, metrics);
    }
    config_free(jb_config_vars, jb_config_nvars, &cfg);
    metrics_free(metrics);
    if (rc == 0) {
        log_info("shutdown.complete");
    }
    return rc;
}
