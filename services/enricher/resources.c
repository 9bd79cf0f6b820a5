#include "resources.h"

#include "analytics/lifecycle.h"
#include "analytics/log.h"
#include "analytics/pbjson.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int enricher_resources_load(struct enricher_resources *r, const struct enricher_config *cfg,
                            FILE *err)
{
    char why[512];
    int bad = 0;

    memset(r, 0, sizeof(*r));
    if ((r->ua = ua_parser_new(cfg->uap_regexes, (size_t)cfg->ua_cache, why, sizeof(why))) ==
        NULL) {
        fprintf(err, "config: ANALYTICS_UAP_REGEXES: %s\n", why);
        bad++;
    }
    if ((r->bots = bot_detector_new(cfg->bot_patterns, why, sizeof(why))) == NULL) {
        fprintf(err, "config: ANALYTICS_BOT_PATTERNS: %s (run scripts/setup)\n", why);
        bad++;
    }
    if ((r->geo = geo_db_open(cfg->geoip_dir, cfg->geoip_mmdb, why, sizeof(why))) == NULL) {
        fprintf(err, "config: %s: %s\n",
                cfg->geoip_mmdb != NULL ? "ANALYTICS_GEOIP_DIR or ANALYTICS_GEOIP_MMDB"
                                        : "ANALYTICS_GEOIP_DIR",
                why);
        bad++;
    }
    if ((r->pages = page_rules_load(cfg->pages_file, why, sizeof(why))) == NULL) {
        fprintf(err, "config: ANALYTICS_PAGES_FILE: %s\n", why);
        bad++;
    }
    if (session_config_init(&r->sessions, cfg->session_idle_min * 60000, cfg->svc.site_timezone,
                            NULL, why, sizeof(why)) != 0) {
        fprintf(err, "config: ANALYTICS_SITE_TIMEZONE: %s\n", why);
        bad++;
    }
    return bad == 0 ? 0 : -1;
}

void enricher_resources_fini(struct enricher_resources *r)
{
    ua_parser_free(r->ua);
    bot_detector_free(r->bots);
    geo_db_free(r->geo);
    page_rules_free(r->pages);
    session_config_fini(&r->sessions);
    memset(r, 0, sizeof(*r));
}

/* Writes {"line":n,"error":why}. Returns 0 or -1. */
static int enricher_stdin_error(FILE *out, long n, const char *why)
{
    char esc[600];

    log_json_escape(esc, 0, sizeof(esc), why);
    return fprintf(out, "{\"line\":%ld,\"error\":\"%s\"}\n", n, esc) < 0 ? -1 : 0;
}

/* Enriches one JSON line into out. Returns 0, 1 when the line is bad (reason
 * in why), -1 when out of memory. */
static int enricher_stdin_line(const struct enrich_ctx *ctx, const char *line, size_t len,
                               struct enrich_out *eo, char **json, char *why, size_t whylen)
{
    const char *end = NULL;
    cJSON *doc = cJSON_ParseWithLengthOpts(line, len, &end, 0);
    ProtobufCMessage *msg = NULL;
    cJSON *res;
    int rc = 1;

    if (doc == NULL || !cJSON_IsObject(doc)) {
        snprintf(why, whylen, "not a JSON object");
        goto out;
    }
    msg = pbjson_to_message(&analytics__v1__raw_event__descriptor, doc, why, whylen);
    if (msg == NULL) {
        goto out;
    }
    if (enrich_event(ctx, (const Analytics__V1__RawEvent *)msg, lifecycle_now_ms(), eo, why,
                     whylen) != 0) {
        goto out;
    }
    res = pbjson_from_message(&eo->ev.base);
    *json = res != NULL ? cJSON_PrintUnformatted(res) : NULL;
    cJSON_Delete(res);
    rc = *json != NULL ? 0 : -1;
out:
    protobuf_c_message_free_unpacked(msg, NULL);
    cJSON_Delete(doc);
    return rc;
}

long enricher_stdin_run(const struct enrich_ctx *ctx, FILE *in, FILE *out)
{
    struct enrich_out *eo = malloc(sizeof(*eo));
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long n = 0, bad = 0;
    int io = 0;

    if (eo == NULL) {
        return -1;
    }
    while (io == 0 && (len = getline(&line, &cap, in)) != -1) {
        char why[512] = "";
        char *json = NULL;
        int rc;

        n++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) {
            len--;
        }
        if (len == 0) {
            continue;
        }
        rc = enricher_stdin_line(ctx, line, (size_t)len, eo, &json, why, sizeof(why));
        if (rc == 0) {
            io = fprintf(out, "%s\n", json) < 0 ? -1 : 0;
        } else if (rc == 1) {
            bad++;
            io = enricher_stdin_error(out, n, why);
        } else {
            io = -1;
        }
        free(json);
    }
    free(line);
    free(eo);
    if (io != 0 || fflush(out) != 0) {
        return -1;
    }
    return bad;
}

double enricher_ua_hit_ratio(void *ua)
{
    uint64_t hits = 0, misses = 0;

    ua_parser_stats(ua, &hits, &misses);
    return hits + misses > 0 ? (double)hits / (double)(hits + misses) : 0.0;
}

int enricher_stdin_main(const struct enricher_resources *r)
{
    struct enrich_ctx ctx = {r->ua, r->bots, r->geo, r->pages, NULL};
    long bad = enricher_stdin_run(&ctx, stdin, stdout);

    return bad < 0 ? 1 : (bad > 0 ? 65 : 0); /* 65: EX_DATAERR */
}
