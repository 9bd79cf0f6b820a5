/* analytics-enricher: raw events become enriched events. Wiring only. */
#include "analytics/log.h"
#include "analytics/metrics.h"
#include "analytics/service.h"
#include "daemon.h"
#include "resources.h"

static struct enricher_main {
    struct enricher_config cfg;
    struct enricher_resources res;
    struct enricher_daemon *d;
    struct enricher_topics topics;
} e;

/* The rule files and the time zone. Returns how many were bad (said on err). */
static int enricher_prepare(void *arg, struct metrics *m, FILE *err)
{
    (void)arg, (void)m;
    return enricher_resources_load(&e.res, &e.cfg, err) != 0;
}

static int enricher_stdin(void *arg, struct metrics *m)
{
    (void)arg, (void)m;
    return enricher_stdin_main(&e.res);
}

static int enricher_start(void *arg, struct metrics *m, struct stage **stage)
{
    struct enricher_daemon_opts o;
    char err[512];

    (void)arg;
    metrics_gauge_fn(m, "analytics_enricher_ua_cache_hit_ratio",
                     "Share of user agents answered from the parse cache", NULL,
                     enricher_ua_hit_ratio, e.res.ua);
    enricher_config_opts(&e.cfg, &e.topics, &o);
    o.ctx = (struct enrich_ctx){e.res.ua, e.res.bots, e.res.geo, e.res.pages, NULL};
    o.sessions = &e.res.sessions;
    o.metrics = m;
    e.d = enricher_daemon_start(&o, err, sizeof(err));
    if (e.d == NULL) {
        log_error("enricher.start_failed", LOG_STR("error", err));
        return -1;
    }
    *stage = enricher_daemon_stage(e.d);
    return 0;
}

static void enricher_fini(void *arg)
{
    (void)arg;
    enricher_daemon_free(e.d);
    enricher_resources_fini(&e.res);
}

int main(int argc, char **argv)
{
    struct service svc = {
        .prog = "analytics-enricher",
        .summary = ENRICHER_SUMMARY,
        .var_prefix = "ANALYTICS_ENRICHER",
        .admin_default = "0.0.0.0:9102",
        .uses = SERVICE_REDIS | SERVICE_STAGE | SERVICE_SITE_TZ,
        .stage = &enricher_stage_rows,
        .vars = enricher_config_vars,
        .nvars = enricher_config_nvars,
        .cfg = &e.cfg,
        .stop_budget_ms = 8000,
        .started_event = "enricher.started",
        .alt_flag = "--enrich-stdin",
        .alt_run = enricher_stdin,
        .prepare = enricher_prepare,
        .start = enricher_start,
        .fini = enricher_fini,
    };

    return service_main(&svc, argc, argv);
}
