/* analytics-enricher: raw events become enriched events. Wiring only. */
#include "analytics/admin.h"
#include "analytics/cli.h"
#include "analytics/kafka.h"
#include "analytics/lifecycle.h"
#include "analytics/log.h"
#include "analytics/metrics.h"
#include "daemon.h"
#include "resources.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#define EX_DATAERR 65
#define SHUTDOWN_BUDGET_MS 8000

extern char **environ;

static const char enricher_summary[] =
    "Consumes raw events, adds user agent, bot flag, country and truncated IP, channel and\n"
    "campaign, page type, session and dedup, and produces enriched events.\n\n"
    "  --enrich-stdin  read raw events as JSON lines on stdin and print enriched ones, with\n"
    "                  no broker or Redis (sessions and dedup off): for checking rule files.\n"
    "                  Exit 65 when some line could not be enriched.";

/* --enrich-stdin. Returns the exit code. */
static int enricher_stdin_main(const struct enricher_config *cfg)
{
    struct enricher_resources res = {0};
    struct enrich_ctx ctx;
    int rc = CONFIG_EX_CONFIG;

    if (enricher_resources_load(&res, cfg, stderr) == 0) {
        ctx = (struct enrich_ctx){res.ua, res.bots, res.geo, res.pages, NULL};
        long bad = enricher_stdin_run(&ctx, stdin, stdout);
        rc = bad < 0 ? 1 : (bad > 0 ? EX_DATAERR : 0);
    }
    enricher_resources_fini(&res);
    return rc;
}

static bool enricher_ready(void *arg, char *why, size_t whylen)
{
    return enricher_daemon_ready(arg, why, whylen);
}

static double enricher_ua_hit_ratio(void *arg)
{
    uint64_t hits = 0, misses = 0;

    ua_parser_stats(arg, &hits, &misses);
    return hits + misses > 0 ? (double)hits / (double)(hits + misses) : 0.0;
}

/* Waits for SIGTERM/SIGINT. Returns 0, or 1 when the loop failed. */
static int enricher_wait_for_stop(struct enricher_daemon *d)
{
    for (;;) {
        int sig = lifecycle_wait(500);
        if (sig == SIGTERM || sig == SIGINT) {
            log_info("shutdown.begin", LOG_INT("signal", sig));
            return 0;
        }
        if (enricher_daemon_failed(d)) {
            log_error("shutdown.begin", LOG_STR("reason", "unrecoverable error; restart replays"));
            return 1;
        }
    }
}

/* The Kafka daemon. Returns the exit code. */
static int enricher_daemon_main(const struct enricher_config *cfg, struct metrics *metrics)
{
    struct enricher_resources res = {0};
    struct session_config sessions = {0};
    struct enricher_daemon *d = NULL;
    struct admin *admin = NULL;
    char raw[256], enriched[256], dlq[256], err[512];
    int rc = CONFIG_EX_CONFIG;

    if (enricher_resources_load(&res, cfg, stderr) != 0) {
        goto out;
    }
    if (kafka_debug_check(cfg->kafka_debug, err, sizeof(err)) != 0) {
        fprintf(stderr, "config: ANALYTICS_KAFKA_DEBUG: %s\n", err);
        goto out;
    }
    if (session_config_init(&sessions, cfg->session_idle_min * 60000, cfg->site_timezone, NULL, err,
                            sizeof(err)) != 0) {
        fprintf(stderr, "config: ANALYTICS_SITE_TIMEZONE: %s\n", err);
        goto out;
    }
    metrics_gauge_fn(metrics, "analytics_enricher_ua_cache_hit_ratio",
                     "Share of user agents answered from the parse cache", NULL,
                     enricher_ua_hit_ratio, res.ua);
    struct enricher_daemon_opts o = {
        .brokers = cfg->brokers,
        .kafka_debug = cfg->kafka_debug,
        .group = "analytics-enricher",
        .topic_raw = kafka_topic_name(cfg->topic_prefix, "events.raw", raw, sizeof(raw)),
        .topic_enriched =
            kafka_topic_name(cfg->topic_prefix, "events.enriched", enriched, sizeof(enriched)),
        .topic_deadletter = kafka_topic_name(cfg->topic_prefix, "deadletter", dlq, sizeof(dlq)),
        .redis_url = cfg->redis_url,
        .redis_timeout_ms = 1000,
        .key_prefix = cfg->topic_prefix,
        .ctx = {res.ua, res.bots, res.geo, res.pages, NULL},
        .sessions = &sessions,
        .dedup_ttl_ms = cfg->dedup_ttl_h * 3600000,
        .session_ttl_ms = cfg->session_idle_min * 60000 + 3600000,
        .batch_max = (size_t)cfg->batch,
        .session_cache = (size_t)cfg->session_cache,
        .inflight_max = (int)cfg->inflight_batches,
        .linger_ms = (int)cfg->linger_ms,
        .group_session_timeout_ms = (int)cfg->group_session_timeout_ms,
        .prefetch_mb = (int)cfg->prefetch_mb,
        .bot_rate_per_sec = (double)cfg->bot_rate,
        .bot_rate_burst = (double)cfg->bot_burst,
        .metrics = metrics,
    };
    rc = 1;
    d = enricher_daemon_start(&o, err, sizeof(err));
    if (d == NULL) {
        log_error("enricher.start_failed", LOG_STR("error", err));
        goto out;
    }
    struct admin_opts ao = {cfg->admin_listen, metrics, enricher_ready, d};
    admin = admin_start(&ao, err, sizeof(err));
    if (admin == NULL) {
        log_error("http.listen_failed", LOG_STR("error", err));
        enricher_daemon_stop(d, lifecycle_mono_ms() + SHUTDOWN_BUDGET_MS);
        goto out;
    }
    log_info("enricher.started", LOG_INT("admin_port", admin_port(admin)));
    rc = enricher_wait_for_stop(d);
    enricher_daemon_stop(d, lifecycle_mono_ms() + SHUTDOWN_BUDGET_MS);
out:
    admin_stop(admin);
    enricher_daemon_free(d);
    session_config_fini(&sessions);
    enricher_resources_fini(&res);
    return rc;
}

int main(int argc, char **argv)
{
    struct enricher_config cfg = {0};
    struct metrics *metrics = NULL;
    bool stdin_mode = argc == 2 && strcmp(argv[1], "--enrich-stdin") == 0;
    int rc = CONFIG_EX_CONFIG;

    if (!stdin_mode) {
        int bad = cli_handle(argc, argv, "analytics-enricher", enricher_summary,
                             enricher_config_vars, enricher_config_nvars);
        if (bad != 0) {
            return bad > 0 ? 0 : CLI_EX_USAGE;
        }
    }
    if (lifecycle_block_signals() != 0 || (metrics = metrics_new()) == NULL) {
        fprintf(stderr, "analytics-enricher: cannot initialise\n");
        return 1;
    }
    if (config_load(enricher_config_vars, enricher_config_nvars, &cfg, environ, stderr) == 0) {
        log_init("analytics-enricher", (enum log_level)cfg.log_level);
        if (stdin_mode) {
            rc = enricher_stdin_main(&cfg);
        } else {
            config_log(enricher_config_vars, enricher_config_nvars, &cfg);
            rc = enricher_daemon_main(&cfg, metrics);
        }
    }
    config_free(enricher_config_vars, enricher_config_nvars, &cfg);
    metrics_free(metrics);
    if (rc == 0 && !stdin_mode) {
        log_info("shutdown.complete");
    }
    return rc;
}
