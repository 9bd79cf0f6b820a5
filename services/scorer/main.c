/* analytics-scorer: profiles and scores from enriched events. Wiring only. */
#include "analytics/kafka.h"
#include "analytics/log.h"
#include "analytics/service.h"
#include "analytics/tz.h"
#include "daemon.h"
#include "models.h"
#include "scorer_config.h"

static struct scorer_main {
    struct scorer_config cfg;
    struct scorer_resources res;
    struct scorer_daemon *d;
    char topics[4][256];
} s;

static int scorer_prepare(void *arg, struct metrics *m, FILE *err)
{
    (void)arg, (void)m;
    return scorer_resources_load(&s.res, &s.cfg, err);
}

static int scorer_start(void *arg, struct metrics *m, struct stage **stage)
{
    const char *prefix = s.cfg.svc.topic_prefix;
    struct scorer_daemon_opts o = {
        .topic_enriched = kafka_topic_name(prefix, "events.enriched", s.topics[0], 256),
        .topic_journeys = kafka_topic_name(prefix, "journeys", s.topics[1], 256),
        .topic_scores = kafka_topic_name(prefix, "scores", s.topics[2], 256),
        .topic_deadletter = kafka_topic_name(prefix, "deadletter", s.topics[3], 256),
        .pg_dsn = s.cfg.svc.pg_dsn,
        .pg_connect_timeout_s = (int)s.cfg.svc.pg_connect_timeout_s,
        .redis_url = s.cfg.svc.redis_url,
        .key_prefix = prefix,
        .rules = s.res.rules,
        .site = &s.res.site,
        .tz = s.res.tz,
        .models = &s.res.models,
        .churn_model_path = s.cfg.churn_model,
        .score = s.res.score,
        .visitor_cache = (size_t)s.cfg.visitor_cache,
        .profile_ttl_ms = s.cfg.profile_ttl_h * 3600000,
        .page_stats_days = (int)s.cfg.page_stats_days,
        .metrics = m,
    };
    char err[512];

    (void)arg;
    service_stage_opts(&s.cfg.svc, &o.stage);
    s.d = scorer_daemon_start(&o, err, sizeof(err));
    if (s.d == NULL) {
        log_error("scorer.start_failed", LOG_STR("error", err));
        return -1;
    }
    *stage = scorer_daemon_stage(s.d);
    return 0;
}

/* SIGHUP: the models again from their files; those that load are handed
 * to the daemon, those that fail are logged and the old ones stay. */
static void scorer_reload(void *arg)
{
    struct scorer_models ms = {0};

    (void)arg;
    int failed = scorer_models_reload(&ms, &s.cfg);
    scorer_daemon_reload(s.d, &ms, failed);
    scorer_models_fini(&ms);
}

static void scorer_fini(void *arg)
{
    (void)arg;
    scorer_daemon_free(s.d);
    scorer_resources_fini(&s.res);
}

int main(int argc, char **argv)
{
    struct service svc = {
        .prog = "analytics-scorer",
        .summary = SCORER_SUMMARY,
        .var_prefix = "ANALYTICS_SCORER",
        .admin_default = "0.0.0.0:9103",
        .uses = SERVICE_PG | SERVICE_REDIS | SERVICE_STAGE | SERVICE_SITE_TZ,
        .stage = &scorer_stage_rows,
        .vars = scorer_config_vars,
        .nvars = scorer_config_nvars,
        .cfg = &s.cfg,
        .stop_budget_ms = 6000,
        .started_event = "scorer.started",
        .prepare = scorer_prepare,
        .start = scorer_start,
        .reload = scorer_reload,
        .fini = scorer_fini,
    };

    return service_main(&svc, argc, argv);
}
