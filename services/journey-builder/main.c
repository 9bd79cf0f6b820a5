/* analytics-journey-builder: enriched events into PostgreSQL. Wiring only. */
#include "analytics/log.h"
#include "analytics/service.h"
#include "daemon.h"
#include "jb_config.h"

static struct jb_main {
    struct jb_config cfg;
    struct journey_rules *journeys;
    struct funnel_set funnels;
    struct apply_ctx ctx;
    struct jb_daemon *d;
    struct jb_topics topics;
} j;

/* Loads both rule files. Returns how many were bad, said on err. */
static int jb_prepare(void *arg, struct metrics *m, FILE *err)
{
    char why[512];
    int bad = 0;

    (void)arg, (void)m;
    j.journeys = journey_rules_load(j.cfg.journeys_file, why, sizeof(why));
    if (j.journeys == NULL) {
        fprintf(err, "config: ANALYTICS_JOURNEYS_FILE: %s\n", why);
        bad++;
    }
    if (funnel_set_load(&j.funnels, j.cfg.funnels_file, why, sizeof(why)) != 0) {
        fprintf(err, "config: ANALYTICS_FUNNELS_FILE: %s\n", why);
        bad++;
    }
    return bad;
}

static int jb_start(void *arg, struct metrics *m, struct stage **stage)
{
    struct jb_daemon_opts o;
    char err[512];

    (void)arg;
    j.ctx = (struct apply_ctx){j.journeys, &j.funnels};
    jb_config_opts(&j.cfg, &j.topics, &o);
    o.ctx = &j.ctx;
    o.metrics = m;
    j.d = jb_daemon_start(&o, err, sizeof(err));
    if (j.d == NULL) {
        log_error("journey.start_failed", LOG_STR("error", err));
        return -1;
    }
    *stage = jb_daemon_stage(j.d);
    return 0;
}

static void jb_fini(void *arg)
{
    (void)arg;
    jb_daemon_free(j.d);
    journey_rules_free(j.journeys);
    funnel_set_fini(&j.funnels);
}

int main(int argc, char **argv)
{
    struct service svc = {
        .prog = "analytics-journey-builder",
        .summary = JB_SUMMARY,
        .var_prefix = "ANALYTICS_JOURNEY_BUILDER",
        .admin_default = "0.0.0.0:9104",
        .uses = SERVICE_PG | SERVICE_STAGE | SERVICE_RETENTION,
        .stage = &jb_stage_rows,
        .vars = jb_config_vars,
        .nvars = jb_config_nvars,
        .cfg = &j.cfg,
        .stop_budget_ms = 6000, /* for the batch in hand; leaving the group takes the rest */
        .started_event = "journey.started",
        .prepare = jb_prepare,
        .start = jb_start,
        .fini = jb_fini,
    };

    return service_main(&svc, argc, argv);
}
