/* analytics-collector: events over HTTP into Kafka, nothing lost. Wiring only. */
#include "analytics/admin.h"
#include "analytics/cli.h"
#include "analytics/http.h"
#include "analytics/kafka.h"
#include "analytics/lifecycle.h"
#include "analytics/log.h"
#include "analytics/metrics.h"
#include "collector.h"
#include "ingest.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#define SHUTDOWN_BUDGET_MS 8000 /* flush until then; purge and spool in the last 2 s */
#define HTTP_DRAIN_MS 5000      /* requests in flight at SIGTERM get this long */

/* jemalloc: purge freed pages from a background thread within a second, so
 * the memory a burst of large requests used goes back to the system. */
const char *malloc_conf = "background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0";

extern char **environ;

static double collector_spool_records(void *arg)
{
    return (double)spool_pending_records(arg);
}

static double collector_spool_bytes(void *arg)
{
    return (double)spool_pending_bytes(arg);
}

static bool collector_ready(void *arg, char *why, size_t whylen)
{
    return ingest_ready(arg, why, whylen);
}

/* Waits for SIGTERM/SIGINT. Returns 0, or 1 when the producer failed
 * fatally (the daemon then stops in order and exits 1 to be restarted). */
static int collector_wait_for_stop(struct ingest *ing)
{
    for (;;) {
        int sig = lifecycle_wait(1000);
        if (sig == SIGTERM || sig == SIGINT) {
            log_info("shutdown.begin", LOG_INT("signal", sig));
            return 0;
        }
        if (ingest_failed(ing)) {
            log_error("shutdown.begin", LOG_STR("reason", "fatal producer error"));
            return 1;
        }
    }
}

int main(int argc, char **argv)
{
    struct collector_config cfg = {0};
    struct collector col;
    struct metrics *metrics = NULL;
    struct spool *spool = NULL;
    struct ingest *ing = NULL;
    struct admin *admin = NULL;
    struct http_server *http = NULL;
    struct http_route route;
    char raw[256], dlq[256], err[512];
    int rc = 1, bad;

    bad = cli_handle(argc, argv, "analytics-collector",
                     "Receives browser events over HTTP and produces them to Kafka.",
                     collector_config_vars, collector_config_nvars);
    if (bad != 0) {
        return bad > 0 ? 0 : CLI_EX_USAGE;
    }
    if (lifecycle_block_signals() != 0 || (metrics = metrics_new()) == NULL) {
        fprintf(stderr, "analytics-collector: cannot initialise\n");
        return 1;
    }
    bad = config_load(collector_config_vars, collector_config_nvars, &cfg, environ, stderr);
    bad += collector_init(&col, &cfg, metrics, stderr);
    if (bad > 0) {
        rc = CONFIG_EX_CONFIG;
        goto out;
    }
    log_init("analytics-collector", (enum log_level)cfg.log_level);
    config_log(collector_config_vars, collector_config_nvars, &cfg);

    spool = spool_open(cfg.spool_dir, (uint64_t)cfg.spool_max_mb << 20, 64u << 20, cfg.spool_fsync,
                       err, sizeof(err));
    if (spool == NULL) {
        log_error("spool.open_failed", LOG_STR("dir", cfg.spool_dir), LOG_STR("error", err));
        goto out;
    }
    metrics_gauge_fn(metrics, "analytics_collector_spool_pending_events",
                     "Events waiting in the disk spool", NULL, collector_spool_records, spool);
    metrics_gauge_fn(metrics, "analytics_collector_spool_pending_bytes",
                     "Bytes waiting in the disk spool", NULL, collector_spool_bytes, spool);
    struct ingest_opts io = {
        .brokers = cfg.brokers,
        .kafka_debug = cfg.kafka_debug,
        .topic_raw = kafka_topic_name(cfg.topic_prefix, "events.raw", raw, sizeof(raw)),
        .topic_deadletter = kafka_topic_name(cfg.topic_prefix, "deadletter", dlq, sizeof(dlq)),
        .linger_ms = (int)cfg.linger_ms,
        .produce_timeout_ms = (int)cfg.produce_timeout_ms,
        .queue_max_events = (int)cfg.queue_max_events,
        .spool = spool,
        .metrics = metrics,
    };
    ing = ingest_new(&io, err, sizeof(err));
    if (ing == NULL) {
        log_error("kafka.producer_failed", LOG_STR("error", err));
        goto out;
    }
    col.ingest = ing;

    struct admin_opts ao = {cfg.admin_listen, metrics, collector_ready, ing};
    admin = admin_start(&ao, err, sizeof(err));
    route = (struct http_route){"/api/analytics/events", collector_check_events,
                                collector_handle_events, collector_refused_events, &col};
    struct http_opts ho;
    http_opts_default(&ho);
    ho.listen = cfg.listen;
    ho.threads = (int)cfg.threads;
    ho.max_connections = (int)cfg.max_connections;
    ho.header_timeout_ms = (int)cfg.header_timeout_ms;
    ho.body_timeout_ms = (int)cfg.body_timeout_ms;
    ho.keep_alive_ms = (int)cfg.keep_alive_ms;
    ho.max_body_bytes = cfg.max_body_bytes;
    ho.inflight_max_bytes = cfg.inflight_max_mb << 20;
    ho.routes = &route;
    ho.n_routes = 1;
    ho.name = "collector";
    ho.metrics = metrics;
    http = admin != NULL ? http_start(&ho, err, sizeof(err)) : NULL;
    if (http == NULL) {
        log_error("http.listen_failed", LOG_STR("error", err));
        goto out;
    }
    log_info("collector.started", LOG_INT("port", http_bound_port(http)),
             LOG_INT("admin_port", admin_port(admin)),
             LOG_STR("ack", cfg.ack == COLLECTOR_ACK_DELIVERED ? "delivered" : "queued"));

    int failed = collector_wait_for_stop(ing);
    long long deadline = lifecycle_mono_ms() + SHUTDOWN_BUDGET_MS;
    ingest_begin_stop(ing);         /* the replay batch ends while requests drain */
    http_stop(http, HTTP_DRAIN_MS); /* requests in flight, delivered-mode waits included */
    http = NULL;
    ingest_stop(ing, deadline);
    rc = failed;

out:
    http_stop(http, 0);
    admin_stop(admin);
    ingest_free(ing);
    spool_close(spool);
    collector_fini(&col);
    config_free(collector_config_vars, collector_config_nvars, &cfg);
    metrics_free(metrics);
    if (rc == 0) {
        log_info("shutdown.complete");
    }
    return rc;
}
