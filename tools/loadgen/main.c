/* analytics-loadgen: synthetic visitors for benchmarks and demos. Wiring only. */
#include "analytics/cli.h"
#include "analytics/config.h"
#include "analytics/lifecycle.h"
#include "analytics/log.h"
#include "opts.h"
#include "run.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

struct loadgen_env {
    char *brokers;
    char *topic_prefix;
    int log_level;
};

static const struct config_var loadgen_vars[] = {
    {"ANALYTICS_KAFKA_BROKERS", CONFIG_STRING, "127.0.0.1:9092", 0, 0, NULL,
     "bootstrap servers for --kafka-raw (--brokers wins)", offsetof(struct loadgen_env, brokers),
     0},
    {"ANALYTICS_TOPIC_PREFIX", CONFIG_STRING, "analytics.", 0, 0, NULL, "prefix of the topic names",
     offsetof(struct loadgen_env, topic_prefix), 0},
    {"ANALYTICS_LOG_LEVEL", CONFIG_ENUM, "info", 0, 0, "debug|info|warn|error",
     "lowest level logged on stderr", offsetof(struct loadgen_env, log_level), 0},
};
#define NVARS (sizeof(loadgen_vars) / sizeof(loadgen_vars[0]))

/* A seed from the clock and the process id, for runs without --seed. */
static uint64_t loadgen_clock_seed(void)
{
    return (uint64_t)loadgen_mono_us() * 6364136223846793005ULL ^ (uint64_t)lifecycle_now_ms() ^
           ((uint64_t)getpid() << 32);
}

static int loadgen_dispatch(const struct loadgen_ctx *c)
{
    switch (c->o->mode) {
    case LOADGEN_MODE_KAFKA:
        return loadgen_run_kafka(c);
    case LOADGEN_MODE_HTTP:
        return loadgen_run_http(c);
    case LOADGEN_MODE_KINDS:
        return loadgen_run_kinds(c);
    default:
        return loadgen_run_json(c);
    }
}

int main(int argc, char **argv)
{
    struct loadgen_opts o;
    struct loadgen_env env = {0};
    struct loadgen_agents *agents = NULL;
    bool seed_set, start_set;
    char err[512];
    int rc;

    switch (loadgen_opts_parse(argc, argv, &o, &seed_set, &start_set)) {
    case LOADGEN_OPTS_HELP:
        loadgen_opts_usage(stdout);
        config_usage(loadgen_vars, NVARS, stdout);
        return 0;
    case LOADGEN_OPTS_VERSION:
        printf(LOADGEN_PROG " %s\n", ANALYTICS_VERSION);
        return 0;
    case LOADGEN_OPTS_RUN:
        break;
    default:
        return CLI_EX_USAGE;
    }
    if (config_load(loadgen_vars, NVARS, &env, environ, stderr) != 0) {
        config_free(loadgen_vars, NVARS, &env);
        return CONFIG_EX_CONFIG;
    }
    log_init(LOADGEN_PROG, (enum log_level)env.log_level);
    if (!seed_set) {
        o.params.seed = loadgen_clock_seed();
    }
    if (!start_set) {
        o.params.start_ms = lifecycle_now_ms();
    }
    rc = 1;
    if (lifecycle_block_signals() == -1) {
        log_error("lifecycle.signals_failed");
        goto out;
    }
    agents = loadgen_agents_load(o.agents_path, err, sizeof(err));
    if (agents == NULL) {
        log_error("loadgen.agents_failed", LOG_STR("error", err));
        goto out;
    }
    rc = loadgen_dispatch(&(struct loadgen_ctx){
        &o, agents, o.brokers != NULL ? o.brokers : env.brokers, env.topic_prefix});
out:
    loadgen_agents_free(agents);
    config_free(loadgen_vars, NVARS, &env);
    return rc;
}
