/* analytics-enricher: raw events become enriched events. Wiring only. */
#include "analytics/cli.h"
#include "analytics/lifecycle.h"
#include "analytics/log.h"
#include "resources.h"

#include <stdio.h>
#include <string.h>

#define EX_DATAERR 65

extern char **environ;

static void enricher_usage(void)
{
    printf("Usage: analytics-enricher [--enrich-stdin] [--help] [--version]\n\n"
           "Enriches raw events: user agent, bot flag, country and truncated IP, channel and\n"
           "campaign, page type. --enrich-stdin reads raw events as JSON lines on stdin and\n"
           "prints enriched ones, with no broker or Redis (sessions and dedup off): for\n"
           "checking rule files. Exit 65 when some line could not be enriched.\n\n");
    config_usage(enricher_config_vars, enricher_config_nvars, stdout);
}

int main(int argc, char **argv)
{
    struct enricher_config cfg = {0};
    struct enricher_resources res = {0};
    struct enrich_ctx ctx;
    long bad;
    int rc = 1;

    if (argc == 2 && strcmp(argv[1], "--help") == 0) {
        enricher_usage();
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "--version") == 0) {
        printf("analytics-enricher %s\n", ANALYTICS_VERSION);
        return 0;
    }
    if (argc != 2 || strcmp(argv[1], "--enrich-stdin") != 0) {
        fprintf(stderr, "analytics-enricher: the Kafka daemon is not built yet; "
                        "use --enrich-stdin (see --help)\n");
        return CLI_EX_USAGE;
    }
    if (config_load(enricher_config_vars, enricher_config_nvars, &cfg, environ, stderr) != 0) {
        rc = CONFIG_EX_CONFIG;
        goto out;
    }
    log_init("analytics-enricher", (enum log_level)cfg.log_level);
    if (enricher_resources_load(&res, &cfg, stderr) != 0) {
        rc = CONFIG_EX_CONFIG;
        goto out;
    }
    ctx = (struct enrich_ctx){res.ua, res.bots, res.geo, res.pages, NULL};
    bad = enricher_stdin_run(&ctx, stdin, stdout);
    rc = bad < 0 ? 1 : (bad > 0 ? EX_DATAERR : 0);
out:
    enricher_resources_fini(&res);
    config_free(enricher_config_vars, enricher_config_nvars, &cfg);
    return rc;
}
