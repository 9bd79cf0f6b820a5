/* analytics-collector: events over HTTP into Kafka, nothing lost. Wiring only. */
#include "analytics/service.h"
#include "server.h"

/* jemalloc: purge freed pages from a background thread within a second, so
 * the memory a burst of large requests used goes back to the system. */
const char *malloc_conf = "background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0";

static struct collector_server c;

static int collector_prepare(void *arg, struct metrics *m, FILE *err)
{
    (void)arg;
    return collector_init(&c.col, &c.cfg, m, err);
}

static int collector_start(void *arg, struct metrics *m, struct stage **stage)
{
    return (void)arg, (void)stage, collector_server_start(&c, m);
}

static int collector_serve(void *arg, int admin_port)
{
    return (void)arg, collector_server_serve(&c, admin_port);
}

static bool collector_ready(void *arg, char *why, size_t len)
{
    return (void)arg, ingest_ready(c.ing, why, len);
}

static bool collector_failed(void *arg)
{
    return (void)arg, ingest_failed(c.ing);
}

static void collector_stop(void *arg, long long deadline_mono_ms)
{
    (void)arg;
    collector_server_stop(&c, deadline_mono_ms);
}

static void collector_end(void *arg)
{
    (void)arg;
    collector_server_fini(&c);
}

int main(int argc, char **argv)
{
    struct service svc = {
        .prog = "analytics-collector",
        .summary = "Receives browser events over HTTP and produces them to Kafka.",
        .var_prefix = "ANALYTICS_COLLECTOR",
        .admin_default = "0.0.0.0:9101",
        .uses = SERVICE_RETENTION,
        .vars = collector_config_vars,
        .nvars = collector_config_nvars,
        .cfg = &c.cfg,
        .stop_budget_ms = 8000, /* flush until then; purge and spool in the last 2 s */
        .prepare = collector_prepare,
        .start = collector_start,
        .serve = collector_serve,
        .ready = collector_ready,
        .failed = collector_failed,
        .stop = collector_stop,
        .fini = collector_end,
    };

    return service_main(&svc, argc, argv);
}
