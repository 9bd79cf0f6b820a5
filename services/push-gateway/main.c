/* analytics-push-gateway: the REST API (and, to come, the live streams).
 * Wiring only. */
#include "analytics/log.h"
#include "analytics/service.h"
#include "api.h"
#include "gw_config.h"
#include "gw_site.h"
#include "tokens.h"

#include <stdio.h>

static struct gw_main {
    struct gw_config cfg;
    struct tokens tokens;
    struct gw_site site;
    struct gw_api *api;
} s;

static int gw_prepare(void *arg, struct metrics *m, FILE *err)
{
    char why[256];

    (void)arg, (void)m;
    if (s.cfg.api_tokens != NULL &&
        tokens_parse(s.cfg.api_tokens, &s.tokens, why, sizeof(why)) != 0) {
        fprintf(err, "config: ANALYTICS_API_TOKENS: %s\n", why);
        return 1;
    }
    if (gw_site_load(&s.site, s.cfg.journeys_file, s.cfg.persona_model, why, sizeof(why)) != 0) {
        fprintf(err, "config: ANALYTICS_JOURNEYS_FILE: %s\n", why);
        return 1;
    }
    return 0;
}

static int gw_start(void *arg, struct metrics *m, struct stage **stage)
{
    struct gw_api_opts o = {
        .listen = s.cfg.listen,
        .threads = (int)s.cfg.threads,
        .request_timeout_ms = (int)s.cfg.request_timeout_ms,
        .tokens = &s.tokens,
        .pg_dsn = s.cfg.svc.pg_dsn,
        .pg_connect_timeout_s = (int)s.cfg.svc.pg_connect_timeout_s,
        .statement_timeout_ms = (int)s.cfg.statement_timeout_ms,
        .max_rows = (int)s.cfg.max_rows,
        .site = &s.site,
        .metrics = m,
    };
    char err[256];

    (void)arg, (void)stage;
    s.api = gw_api_start(&o, err, sizeof(err));
    if (s.api == NULL) {
        log_error("gateway.start_failed", LOG_STR("error", err));
        return -1;
    }
    return 0;
}

static int gw_serve(void *arg, int admin_port)
{
    (void)arg;
    log_info("gateway.started", LOG_INT("port", gw_api_port(s.api)),
             LOG_INT("admin_port", admin_port), LOG_INT("tokens", (long long)s.tokens.n));
    return 0;
}

static bool gw_ready(void *arg, char *why, size_t whylen)
{
    (void)arg;
    return gw_api_ready(s.api, why, whylen);
}

static void gw_stop(void *arg, long long deadline_mono_ms)
{
    (void)arg, (void)deadline_mono_ms;
    gw_api_stop(s.api);
    s.api = NULL;
}

static void gw_fini(void *arg)
{
    (void)arg;
    gw_api_stop(s.api);
    s.api = NULL;
    gw_site_fini(&s.site);
}

int main(int argc, char **argv)
{
    struct service svc = {
        .prog = "analytics-push-gateway",
        .summary = GW_SUMMARY,
        .var_prefix = "ANALYTICS_PUSH_GATEWAY",
        .admin_default = "0.0.0.0:9105",
        .uses = SERVICE_PG,
        .vars = gw_config_vars,
        .nvars = gw_config_nvars,
        .cfg = &s.cfg,
        .stop_budget_ms = 5000,
        .prepare = gw_prepare,
        .start = gw_start,
        .serve = gw_serve,
        .ready = gw_ready,
        .stop = gw_stop,
        .fini = gw_fini,
        .started_event = "gateway.started",
    };

    return service_main(&svc, argc, argv);
}
