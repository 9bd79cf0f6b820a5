/*
 * analytics-devbroker: an in-memory Kafka cluster (librdkafka's mock cluster)
 * with the pipeline topics, for development and tests. Prints its bootstrap
 * string on stdout once the topics exist, then waits for signals.
 */
#include "devbroker.h"

#include "analytics/cli.h"
#include "analytics/config.h"
#include "analytics/lifecycle.h"
#include "analytics/log.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PROG "analytics-devbroker"
#define TOPIC_MAX 249 /* Kafka's limit on a topic name */

struct devbroker_env {
    char *topic_prefix;
    int log_level;
};

static const struct config_var devbroker_vars[] = {
    {"ANALYTICS_TOPIC_PREFIX", CONFIG_STRING, "analytics.", 0, 0, NULL,
     "prefix of the pipeline topics (--topic-prefix wins)",
     offsetof(struct devbroker_env, topic_prefix), 0},
    {"ANALYTICS_LOG_LEVEL", CONFIG_ENUM, "info", 0, 0, "debug|info|warn|error",
     "lowest level logged", offsetof(struct devbroker_env, log_level), 0},
};
#define NVARS (sizeof(devbroker_vars) / sizeof(devbroker_vars[0]))

struct devbroker_opts {
    long brokers;
    long partitions;
    const char *topic_prefix; /* NULL: from the environment */
    const char *bootstrap_file;
    const char *topics; /* comma-separated extra topics, full names */
};

static void usage(FILE *out)
{
    fprintf(out, "Usage: " PROG " [options]\n\n"
                 "An embedded Kafka cluster for development and tests: librdkafka's mock cluster\n"
                 "in a small daemon. Plaintext, listening on 127.0.0.1 on ports the kernel picks.\n"
                 "In memory and bounded: nothing survives a restart, and each partition keeps\n"
                 "only its most recent ~5 MiB / 100k message sets (older ones are dropped and\n"
                 "the low watermark moves up). Not for production.\n\n"
                 "Creates <prefix>events.raw, events.enriched, scores, journeys, triggers,\n"
                 "privacy and deadletter, then prints the bootstrap string (one line) on stdout\n"
                 "and logs devbroker.ready.\n\n"
                 "Options:\n"
                 "  --brokers N            brokers in the cluster, 1..32 (default 1)\n"
                 "  --partitions N         partitions per topic, 1..1000 (default 6)\n"
                 "  --topic-prefix P       topic prefix (default $ANALYTICS_TOPIC_PREFIX or\n"
                 "                         \"analytics.\"; may be empty)\n"
                 "  --topics A,B,...       extra topics to create, full names\n"
                 "  --bootstrap-file PATH  also write the bootstrap string to PATH (atomically,\n"
                 "                         after the topics exist); removed at exit\n"
                 "  --help, --version\n\n"
                 "Signals: SIGUSR1 takes every broker down (connections refused; logs\n"
                 "devbroker.down), SIGUSR2 brings them back (devbroker.up) with the same ports\n"
                 "and data. SIGTERM, SIGINT or SIGHUP stop the cluster and exit 0.\n\n");
    config_usage(devbroker_vars, NVARS, out);
}

/* Parses a decimal in min..max. Returns 0, or -1. */
static int parse_long(const char *s, long min, long max, long *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
        return -1;
    }
    *out = v;
    return 0;
}

/* True when name is a legal Kafka topic name: 1..249 of [A-Za-z0-9._-]. */
static int topic_name_ok(const char *name, size_t len)
{
    if (len == 0 || len > TOPIC_MAX) {
        return 0;
    }
    for (size_t i = 0; i < len; i++) {
        char ch = name[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-')) {
            return 0;
        }
    }
    return 1;
}

/* Parses argv into o. Returns 1 when --help or --version was handled, 0 to
 * run, -1 on a bad argument (reported). */
static int parse_args(int argc, char **argv, struct devbroker_opts *o)
{
    static const struct option longopts[] = {
        {"brokers", required_argument, NULL, 'b'},
        {"partitions", required_argument, NULL, 'p'},
        {"topic-prefix", required_argument, NULL, 'x'},
        {"bootstrap-file", required_argument, NULL, 'f'},
        {"topics", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    int c;

    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 'b':
            if (parse_long(optarg, 1, 32, &o->brokers) == -1) {
                fprintf(stderr, PROG ": --brokers must be 1..32, got '%s'\n", optarg);
                return -1;
            }
            break;
        case 'p':
            if (parse_long(optarg, 1, 1000, &o->partitions) == -1) {
                fprintf(stderr, PROG ": --partitions must be 1..1000, got '%s'\n", optarg);
                return -1;
            }
            break;
        case 'x':
            o->topic_prefix = optarg;
            break;
        case 'f':
            if (optarg[0] == '\0') {
                fprintf(stderr, PROG ": --bootstrap-file needs a path\n");
                return -1;
            }
            o->bootstrap_file = optarg;
            break;
        case 't':
            o->topics = optarg;
            break;
        case 'h':
            usage(stdout);
            return 1;
        case 'V':
            printf(PROG " %s\n", ANALYTICS_VERSION);
            return 1;
        case ':':
            fprintf(stderr, PROG ": %s needs a value (try --help)\n", argv[optind - 1]);
            return -1;
        default:
            fprintf(stderr, PROG ": unknown argument '%s' (try --help)\n", argv[optind - 1]);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, PROG ": unexpected argument '%s' (try --help)\n", argv[optind]);
        return -1;
    }
    return 0;
}

/* Creates prefix + each pipeline topic, then each extra topic of the
 * comma-separated list. Returns the number created, or -1 (logged). */
static int create_topics(struct devbroker *b, const char *prefix, const char *extra, int partitions)
{
    char name[TOPIC_MAX + 1];
    char err[512];
    int n = 0;

    for (size_t i = 0; devbroker_pipeline_topics[i] != NULL; i++) {
        int len = snprintf(name, sizeof(name), "%s%s", prefix, devbroker_pipeline_topics[i]);
        /* check_topic_names made sure the names fit */
        if (len < 0 || devbroker_create_topic(b, name, partitions, err, sizeof(err)) == -1) {
            log_error("devbroker.topic_failed", LOG_STR("topic", name), LOG_STR("error", err));
            return -1;
        }
        n++;
    }
    for (const char *p = extra; p != NULL && *p != '\0';) {
        const char *comma = strchr(p, ',');
        size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);

        if (len > 0) {
            memcpy(name, p, len < sizeof(name) ? len : sizeof(name) - 1);
            name[len < sizeof(name) ? len : sizeof(name) - 1] = '\0';
            if (devbroker_create_topic(b, name, partitions, err, sizeof(err)) == -1) {
                log_error("devbroker.topic_failed", LOG_STR("topic", name), LOG_STR("error", err));
                return -1;
            }
            n++;
        }
        p = comma != NULL ? comma + 1 : p + len;
    }
    return n;
}

/* Checks the topic names before anything starts, so bad input is exit 64. */
static int check_topic_names(const char *prefix, const char *extra)
{
    size_t plen = strlen(prefix);

    if (plen > 0 && !topic_name_ok(prefix, plen)) {
        fprintf(stderr, PROG ": --topic-prefix '%s' has characters Kafka does not allow\n", prefix);
        return -1;
    }
    if (plen + strlen("events.enriched") > TOPIC_MAX) {
        fprintf(stderr, PROG ": --topic-prefix is too long\n");
        return -1;
    }
    for (const char *p = extra; p != NULL && *p != '\0';) {
        const char *comma = strchr(p, ',');
        size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);

        if (len > 0 && !topic_name_ok(p, len)) {
            fprintf(stderr, PROG ": --topics: '%.*s' is not a valid topic name\n", (int)len, p);
            return -1;
        }
        p = comma != NULL ? comma + 1 : p + len;
    }
    return 0;
}

/* Waits for signals until told to stop. */
static void run(struct devbroker *b)
{
    for (;;) {
        int sig = lifecycle_wait(1000);

        if (sig == SIGUSR1) {
            if (devbroker_set_up(b, 0) == 0) {
                log_info("devbroker.down", LOG_STR("bootstrap", devbroker_bootstraps(b)));
            }
        } else if (sig == SIGUSR2) {
            if (devbroker_set_up(b, 1) == 0) {
                log_info("devbroker.up", LOG_STR("bootstrap", devbroker_bootstraps(b)));
            }
        } else if (sig != 0) {
            log_info("shutdown.signal", LOG_STR("signal", strsignal(sig)));
            return;
        }
    }
}

int main(int argc, char **argv)
{
    struct devbroker_opts o = {.brokers = 1, .partitions = 6};
    struct devbroker_env env = {0};
    struct devbroker *b = NULL;
    const char *prefix;
    char err[512];
    int rc, ntopics, code = 1;
    bool file_written = false;

    rc = parse_args(argc, argv, &o);
    if (rc != 0) {
        return rc == 1 ? 0 : CLI_EX_USAGE;
    }
    if (config_load(devbroker_vars, NVARS, &env, environ, stderr) != 0) {
        config_free(devbroker_vars, NVARS, &env);
        return CONFIG_EX_CONFIG;
    }
    prefix = o.topic_prefix != NULL ? o.topic_prefix : env.topic_prefix;
    if (check_topic_names(prefix, o.topics) == -1) {
        config_free(devbroker_vars, NVARS, &env);
        return CLI_EX_USAGE;
    }
    log_init(PROG, (enum log_level)env.log_level);
    if (lifecycle_block_signals() == -1) {
        log_error("lifecycle.signals_failed");
        goto out;
    }
    b = devbroker_new((int)o.brokers, err, sizeof(err));
    if (b == NULL) {
        log_error("devbroker.start_failed", LOG_STR("error", err));
        goto out;
    }
    ntopics = create_topics(b, prefix, o.topics, (int)o.partitions);
    if (ntopics < 0) {
        goto out;
    }
    if (o.bootstrap_file != NULL &&
        devbroker_write_file(o.bootstrap_file, devbroker_bootstraps(b), err, sizeof(err)) == -1) {
        log_error("devbroker.bootstrap_file_failed", LOG_STR("error", err));
        goto out;
    }
    file_written = o.bootstrap_file != NULL;
    printf("%s\n", devbroker_bootstraps(b));
    fflush(stdout);
    log_info("devbroker.ready", LOG_STR("bootstrap", devbroker_bootstraps(b)),
             LOG_INT("brokers", o.brokers), LOG_INT("partitions", o.partitions),
             LOG_STR("topic_prefix", prefix), LOG_INT("topics", ntopics),
             LOG_STR("bootstrap_file", o.bootstrap_file));
    run(b);
    code = 0;
out:
    devbroker_free(b);
    b = NULL;
    if (file_written) {
        unlink(o.bootstrap_file); /* the addresses in it are gone */
    }
    config_free(devbroker_vars, NVARS, &env);
    if (code == 0) {
        log_info("shutdown.complete");
    }
    return code;
}
