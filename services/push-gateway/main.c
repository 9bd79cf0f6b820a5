/* analytics-push-gateway: the REST API and the live streams. Wiring only. */
#include "analytics/cors.h"
#include "analytics/kafka.h"
#include "analytics/log.h"
#include "analytics/service.h"
#include "analytics/stage.h"
#include "analytics/write_keys.h"
#include "api.h"
#include "gw_config.h"
#include "hub.h"
#include "audiences.h"
#include "prules.h"
#include "stream.h"
#include "gw_site.h"
#include "tokens.h"

#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

static struct gw_main {
    struct gw_config cfg;
    struct tokens tokens;
    struct prules *prules;
    struct audiences *audiences;
    struct cors *cors;
    struct write_keys *keys;
    struct hub *hub;
    struct gw_stream *stream;
    struct gw_site site;
    struct gw_api *api;
    char group[160];
    const char *group_used;
    char privacy_topic[256];
} s;

static int gw_prepare(void *arg, struct metrics *m, FILE *err)
{
    char why[256];
    int bad = 0;

    (void)arg, (void)m;
    if (s.cfg.api_tokens != NULL &&
        tokens_parse(s.cfg.api_tokens, &s.tokens, why, sizeof(why)) != 0) {
        fprintf(err, "config: ANALYTICS_API_TOKENS: %s\n", why);
        bad++;
    }
    s.prules = prules_load(s.cfg.personalize_file, why, sizeof(why));
    if (s.prules == NULL) {
        fprintf(err, "config: ANALYTICS_PUSH_GATEWAY_PERSONALIZE_FILE: %s\n", why);
        bad++;
    }
    s.audiences = audiences_load(s.cfg.audiences_file, why, sizeof(why));
    if (s.audiences == NULL) {
        fprintf(err, "config: ANALYTICS_PUSH_GATEWAY_AUDIENCES_FILE: %s\n", why);
        bad++;
    }
    s.cors = cors_new(s.cfg.cors_origins, why, sizeof(why));
    if (s.cors == NULL) {
        fprintf(err, "config: ANALYTICS_PUSH_GATEWAY_CORS_ORIGINS: %s\n", why);
        bad++;
    }
    s.keys = write_keys_new(s.cfg.write_keys, why, sizeof(why));
    if (s.keys == NULL) {
        fprintf(err, "config: ANALYTICS_PUSH_GATEWAY_WRITE_KEYS: %s\n", why);
        bad++;
    }
    if (s.cfg.threads <= s.cfg.ws_max_clients) {
        fprintf(err,
                "config: ANALYTICS_PUSH_GATEWAY_THREADS: %lld threads cannot serve %lld "
                "WebSocket clients (ANALYTICS_PUSH_GATEWAY_WS_MAX_CLIENTS) and REST too\n",
                s.cfg.threads, s.cfg.ws_max_clients);
        bad++;
    }
    if (gw_site_load(&s.site, s.cfg.journeys_file, s.cfg.persona_model, why, sizeof(why)) != 0) {
        fprintf(err, "config: ANALYTICS_JOURNEYS_FILE: %s\n", why);
        bad++;
    }
    return bad;
}

/* The configured group, or one of this instance alone. */
static const char *gw_group(void)
{
    char host[64] = "host";
    unsigned char r[4] = {0};

    if (s.cfg.svc.group != NULL && s.cfg.svc.group[0] != '\0') {
        return s.cfg.svc.group;
    }
    (void)gethostname(host, sizeof(host) - 1);
    (void)getrandom(r, sizeof(r), 0); /* zeros if it fails: the pid still tells us apart */
    snprintf(s.group, sizeof(s.group), "analytics-push-gateway-%.60s-%ld-%02x%02x%02x%02x", host,
             (long)getpid(), r[0], r[1], r[2], r[3]);
    return s.group;
}

static bool gw_ready_cb(void *arg, char *why, size_t whylen)
{
    (void)arg;
    return s.api != NULL && gw_api_ready(s.api, why, whylen);
}

static int gw_start(void *arg, struct metrics *m, struct stage **stage)
{
    struct hub_options ho;
    struct stage_opts so = {0};
    char err[256];

    (void)arg;
    hub_options_default(&ho);
    ho.queue_max_msgs = (size_t)s.cfg.ws_queue;
    ho.ring_size = (size_t)s.cfg.ws_ring;
    s.hub = hub_new(&ho, err, sizeof(err));
    if (s.hub == NULL) {
        log_error("gateway.start_failed", LOG_STR("error", err));
        return -1;
    }
    struct gw_api_opts o = {
        .listen = s.cfg.listen,
        .threads = (int)s.cfg.threads,
        .request_timeout_ms = (int)s.cfg.request_timeout_ms,
        .tokens = &s.tokens,
        .pg_dsn = s.cfg.svc.pg_dsn,
        .pg_connect_timeout_s = (int)s.cfg.svc.pg_connect_timeout_s,
        .statement_timeout_ms = (int)s.cfg.statement_timeout_ms,
        .max_rows = (int)s.cfg.max_rows,
        .redis_url = s.cfg.svc.redis_url,
        .key_prefix = s.cfg.svc.topic_prefix,
        .prules = s.prules,
        .audiences = s.audiences,
        .cors = s.cors,
        .write_keys = s.keys,
        .rate_limit = (double)s.cfg.rate_limit,
        .rate_burst = (double)s.cfg.rate_burst,
        .ws = {.hub = s.hub,
               .max_clients = (int)s.cfg.ws_max_clients,
               .auth_timeout_ms = (int)s.cfg.ws_auth_timeout_ms,
               .rate = 20,
               .burst = 20},
        .ws_idle_ms = (int)s.cfg.ws_idle_ms,
        .site = &s.site,
        .dashboard_dir = s.cfg.dashboard_dir,
        .metrics = m,
    };
    s.api = gw_api_start(&o, err, sizeof(err));
    if (s.api == NULL) {
        log_error("gateway.start_failed", LOG_STR("error", err));
        return -1;
    }
    service_stage_opts(&s.cfg.svc, &so);
    so.group = s.group_used = gw_group();
    so.metric_prefix = "analytics_gateway";
    so.backend = "postgresql";
    so.metrics = m;
    so.ops.ready = gw_ready_cb;
    s.stream = gw_stream_start(&so, s.cfg.svc.topic_prefix, s.hub, err, sizeof(err));
    if (s.stream == NULL) {
        log_error("gateway.start_failed", LOG_STR("error", err));
        return -1;
    }
    *stage = gw_stream_stage(s.stream);
    gw_api_set_stage(s.api, *stage,
                     kafka_topic_name(s.cfg.svc.topic_prefix, "privacy", s.privacy_topic,
                                      sizeof(s.privacy_topic)));
    return 0;
}

static int gw_serve(void *arg, int admin_port)
{
    (void)arg;
    log_info("gateway.started", LOG_INT("port", gw_api_port(s.api)),
             LOG_INT("admin_port", admin_port), LOG_INT("tokens", (long long)s.tokens.n),
             LOG_STR("group", s.group_used));
    return 0;
}

static void gw_fini(void *arg)
{
    (void)arg;
    gw_api_stop(s.api); /* the WebSocket clients first: they hold hub clients */
    s.api = NULL;
    gw_stream_free(s.stream);
    s.stream = NULL;
    hub_free(s.hub);
    s.hub = NULL;
    prules_free(s.prules);
    audiences_free(s.audiences);
    cors_free(s.cors);
    write_keys_free(s.keys);
    gw_site_fini(&s.site);
}

int main(int argc, char **argv)
{
    struct service svc = {
        .prog = "analytics-push-gateway",
        .summary = GW_SUMMARY,
        .var_prefix = "ANALYTICS_PUSH_GATEWAY",
        .admin_default = "0.0.0.0:9105",
        .uses = SERVICE_PG | SERVICE_REDIS | SERVICE_STAGE,
        .stage = &gw_stage_rows,
        .vars = gw_config_vars,
        .nvars = gw_config_nvars,
        .cfg = &s.cfg,
        .stop_budget_ms = 5000,
        .prepare = gw_prepare,
        .start = gw_start,
        .serve = gw_serve,
        .fini = gw_fini,
        .started_event = "gateway.started",
    };

    return service_main(&svc, argc, argv);
}
