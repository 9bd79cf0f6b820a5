/* analytics-loadgen's command line. */
#include "opts.h"

#include "analytics/pbjson.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void loadgen_opts_usage(FILE *out)
{
    fputs("Usage: " LOADGEN_PROG " (--kafka-raw | --http URL | --json | --kinds) [options]\n\n"
          "Synthetic visitors of a repair business's site (home, services, pricing, booking,\n"
          "contact, blog): a population with stable fingerprints, one user agent each (browsers\n"
          "from uap-core's test suite, ~2% crawlers), IPv4 and ~10% IPv6 addresses, visits from\n"
          "direct, search, social, email, paid and referral traffic, page views with clicks,\n"
          "scrolls, form starts, rage clicks, exit intents and a booking funnel. Every human\n"
          "is of one of ten kinds (bouncer, reader, price_comparer, booking_abandoner, booker,\n"
          "repeat_booker, loyal_returner, frustrated, on_the_way_out, contact_seeker) that\n"
          "behave apart. Deterministic for a given --seed.\n\n"
          "Modes (one):\n"
          "  --kafka-raw        produce RawEvent messages to <prefix>events.raw as the collector\n"
          "                     would (key: fingerprint); exit 1 unless every one is delivered\n"
          "  --http URL         POST to the collector (e.g. http://127.0.0.1:8080/api/analytics/\n"
          "                     events): each request carries up to --batch events of one visitor\n"
          "                     with its User-Agent and X-Forwarded-For (set the collector's\n"
          "                     ANALYTICS_COLLECTOR_TRUSTED_PROXIES to believe it); exit 1 unless\n"
          "                     every request got 202 with every event accepted\n"
          "  --json             print raw events as JSON lines (what analytics-enricher\n"
          "                     --enrich-stdin reads); the summary goes to the log only\n"
          "  --kinds            print the population's ground truth as CSV (visitor,\n"
          "                     fingerprint,kind) for --seed and --visitors; no events\n\n"
          "Options:\n"
          "  --count N          events to make (default 100000; unlimited with --duration)\n"
          "  --duration S       stop after S seconds (with --count: whichever comes first)\n"
          "  --rate R           events per second, 0 = as fast as possible (default 0)\n"
          "  --batch B          --http: events per request at most, 1..500 (default 20)\n"
          "  --concurrency C    --http: threads, each with one keep-alive connection (default 4)\n"
          "  --brokers B        --kafka-raw: bootstrap servers (default $ANALYTICS_KAFKA_BROKERS)\n"
          "  --seed N           random seed (default: from the clock; printed in the summary)\n"
          "  --visitors N       population size (default 10000)\n"
          "  --start-ms MS      time of the first visits, ms since the epoch (default now)\n"
          "  --window-s S       first visits spread over S seconds (default 3600)\n"
          "  --site URL         origin of the site's URLs (default https://shop.example)\n"
          "  --agents FILE      uap-core test file to take agents from\n"
          "                     (default " LOADGEN_AGENTS_FILE ")\n"
          "  --help, --version\n\n"
          "At the end --kafka-raw and --http print one JSON line on stdout: events, seconds,\n"
          "events_per_sec, distinct_agents, visitors, seed, and delivered/failed or request\n"
          "statuses and latency percentiles. Exit status: 0 done, 1 failures, 64 bad\n"
          "arguments, 78 bad environment.\n\n",
          out);
}

/* Reports a bad argument. Returns -1. */
__attribute__((format(printf, 1, 2))) static int opts_bad(const char *fmt, ...)
{
    va_list ap;

    fputs(LOADGEN_PROG ": ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs(" (try --help)\n", stderr);
    return -1;
}

/* Parses an integer in lo..hi. Returns 0, or -1 (reported). */
static int opts_int(const char *name, const char *s, long long lo, long long hi, long long *out)
{
    char *end;

    errno = 0;
    *out = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || *out < lo || *out > hi) {
        return opts_bad("%s must be an integer in %lld..%lld, got '%s'", name, lo, hi, s);
    }
    return 0;
}

/* Parses a number in lo..hi. Returns 0, or -1 (reported). */
static int opts_num(const char *name, const char *s, double lo, double hi, double *out)
{
    char *end;

    errno = 0;
    *out = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !isfinite(*out) || *out < lo || *out > hi) {
        return opts_bad("%s must be a number in %g..%g, got '%s'", name, lo, hi, s);
    }
    return 0;
}

static int opts_seed(const char *s, uint64_t *out)
{
    char *end;

    errno = 0;
    *out = strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || s[0] == '-') {
        return opts_bad("--seed must be an unsigned integer, got '%s'", s);
    }
    return 0;
}

static int opts_mode(struct loadgen_opts *o, enum loadgen_mode m)
{
    if (o->mode != LOADGEN_MODE_NONE) {
        return opts_bad("--kafka-raw, --http, --json and --kinds exclude each other");
    }
    o->mode = m;
    return 0;
}

/* Checks combinations once every argument is in. */
static int opts_check(struct loadgen_opts *o, bool count_set)
{
    if (o->mode == LOADGEN_MODE_NONE) {
        return opts_bad("one of --kafka-raw, --http URL, --json or --kinds is required");
    }
    if (o->mode == LOADGEN_MODE_HTTP && strncmp(o->url, "http://", 7) != 0 &&
        strncmp(o->url, "https://", 8) != 0) {
        return opts_bad("--http needs an http:// or https:// URL, got '%s'", o->url);
    }
    if (!count_set && o->duration_s > 0) {
        o->count = 0; /* --duration alone: as many as fit */
    }
    if (o->concurrency > (long long)o->params.visitors) {
        o->concurrency = (int)o->params.visitors; /* a thread per shard of visitors */
    }
    return 0;
}

enum {
    O_KAFKA = 256,
    O_HTTP,
    O_JSON,
    O_KINDS,
    O_COUNT,
    O_DURATION,
    O_RATE,
    O_BATCH,
    O_CONC,
    O_BROKERS,
    O_SEED,
    O_VISITORS,
    O_START,
    O_WINDOW,
    O_SITE,
    O_AGENTS,
    O_VERSION
};

/* Handles one option. Returns an enum loadgen_opts_result. */
static int opts_one(struct loadgen_opts *o, int c, const char *arg, bool *count_set)
{
    long long v;
    double d;

    switch (c) {
    case O_KAFKA:
        return opts_mode(o, LOADGEN_MODE_KAFKA);
    case O_JSON:
        return opts_mode(o, LOADGEN_MODE_JSON);
    case O_KINDS:
        return opts_mode(o, LOADGEN_MODE_KINDS);
    case O_HTTP:
        o->url = arg;
        return opts_mode(o, LOADGEN_MODE_HTTP);
    case O_COUNT:
        *count_set = true;
        return opts_int("--count", arg, 1, 1000000000000LL, &o->count);
    case O_DURATION:
        return opts_num("--duration", arg, 0.001, 365 * 86400.0, &o->duration_s);
    case O_RATE:
        return opts_num("--rate", arg, 0, 1e9, &o->rate);
    case O_BATCH:
        if (opts_int("--batch", arg, 1, 500, &v) != 0) {
            return -1;
        }
        o->batch = (int)v;
        return 0;
    case O_CONC:
        if (opts_int("--concurrency", arg, 1, 256, &v) != 0) {
            return -1;
        }
        o->concurrency = (int)v;
        return 0;
    case O_BROKERS:
        o->brokers = arg;
        return 0;
    case O_SEED:
        return opts_seed(arg, &o->params.seed);
    case O_VISITORS:
        if (opts_int("--visitors", arg, 1, 10000000, &v) != 0) {
            return -1;
        }
        o->params.visitors = (uint32_t)v;
        return 0;
    case O_START:
        return opts_int("--start-ms", arg, 0, 253402300799999LL, &o->params.start_ms);
    case O_WINDOW:
        if (opts_num("--window-s", arg, 0, 10 * 365 * 86400.0, &d) != 0) {
            return -1;
        }
        o->params.window_ms = (long long)(d * 1000);
        return 0;
    case O_SITE:
        if (strncmp(arg, "http://", 7) != 0 && strncmp(arg, "https://", 8) != 0) {
            return opts_bad("--site must be an http(s) origin, got '%s'", arg);
        }
        o->params.site = arg;
        return 0;
    case O_AGENTS:
        o->agents_path = arg;
        return 0;
    case 'h':
        return LOADGEN_OPTS_HELP;
    case O_VERSION:
        return LOADGEN_OPTS_VERSION;
    default:
        return opts_bad("unknown argument");
    }
}

int loadgen_opts_parse(int argc, char **argv, struct loadgen_opts *o, bool *seed_set,
                       bool *start_set)
{
    static const struct option longopts[] = {
        {"kafka-raw", no_argument, NULL, O_KAFKA},
        {"http", required_argument, NULL, O_HTTP},
        {"json", no_argument, NULL, O_JSON},
        {"kinds", no_argument, NULL, O_KINDS},
        {"count", required_argument, NULL, O_COUNT},
        {"duration", required_argument, NULL, O_DURATION},
        {"rate", required_argument, NULL, O_RATE},
        {"batch", required_argument, NULL, O_BATCH},
        {"concurrency", required_argument, NULL, O_CONC},
        {"brokers", required_argument, NULL, O_BROKERS},
        {"seed", required_argument, NULL, O_SEED},
        {"visitors", required_argument, NULL, O_VISITORS},
        {"start-ms", required_argument, NULL, O_START},
        {"window-s", required_argument, NULL, O_WINDOW},
        {"site", required_argument, NULL, O_SITE},
        {"agents", required_argument, NULL, O_AGENTS},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, O_VERSION},
        {NULL, 0, NULL, 0},
    };
    bool count_set = false;
    int c, rc;

    *o = (struct loadgen_opts){
        .count = 100000, .batch = 20, .concurrency = 4, .agents_path = LOADGEN_AGENTS_FILE};
    loadgen_params_default(&o->params);
    *seed_set = *start_set = false;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        if (c == ':') {
            return opts_bad("%s needs a value", argv[optind - 1]);
        }
        if (c == '?') {
            return opts_bad("unknown argument '%s'", argv[optind - 1]);
        }
        rc = opts_one(o, c, optarg, &count_set);
        if (rc != 0) {
            return rc;
        }
        *seed_set |= c == O_SEED;
        *start_set |= c == O_START;
    }
    if (optind < argc) {
        return opts_bad("unexpected argument '%s'", argv[optind]);
    }
    return opts_check(o, count_set);
}
