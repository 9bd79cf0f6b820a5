#ifndef LOADGEN_RUN_H
#define LOADGEN_RUN_H

/*
 * The output modes of analytics-loadgen and what they share: options,
 * pacing, stopping on a signal, the summary line.
 */

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "agents.h"
#include "gen.h"
#include "stats.h"

#define LOADGEN_PROG "analytics-loadgen"

enum loadgen_mode {
    LOADGEN_MODE_NONE,
    LOADGEN_MODE_KAFKA,
    LOADGEN_MODE_HTTP,
    LOADGEN_MODE_JSON,
    LOADGEN_MODE_KINDS
};

struct loadgen_opts {
    enum loadgen_mode mode;
    const char *url;         /* --http */
    const char *brokers;     /* --brokers; NULL: from the environment */
    const char *agents_path; /* --agents */
    long long count;         /* events to make; 0: no limit (then duration_s is set) */
    double duration_s;       /* 0: no limit */
    double rate;             /* events per second, 0: as fast as possible */
    int batch;               /* --http: events per request, at most */
    int concurrency;         /* --http: threads */
    struct loadgen_params params;
};

/* What a mode needs besides the options. All borrowed. */
struct loadgen_ctx {
    const struct loadgen_opts *o;
    const struct loadgen_agents *agents;
    const char *brokers;
    const char *topic_prefix;
};

/* Each runs one mode to the end and returns the process's exit status:
 * 0 when everything was delivered (or accepted), 1 otherwise. */
int loadgen_run_kafka(const struct loadgen_ctx *c);
int loadgen_run_http(const struct loadgen_ctx *c);
int loadgen_run_json(const struct loadgen_ctx *c);

/* --kinds: prints the population's visitors (index, fingerprint, kind) as
 * CSV and makes no events. Returns 0, or 1 when stdout failed. */
int loadgen_run_kinds(const struct loadgen_ctx *c);

/* Paces events to a rate: loadgen_pace_wait sleeps until done events are
 * due. A rate of 0 never waits. */
struct loadgen_pace {
    long long start_us;
    double rate;
};

void loadgen_pace_init(struct loadgen_pace *p, double rate);

/* Sleeps until event number done is due, or until *stop is set (checked
 * every 100 ms). */
void loadgen_pace_wait(const struct loadgen_pace *p, long long done, const atomic_int *stop);

/* Microseconds from a fixed point (CLOCK_MONOTONIC). */
long long loadgen_mono_us(void);

/* True after SIGTERM, SIGINT or SIGHUP (the signals must be blocked). Polls
 * without waiting; logs the signal once. */
bool loadgen_signalled(void);

/* Starts a summary with the figures every mode has: mode, events, seconds,
 * events_per_sec, distinct_agents, visitors (seen), population, seed.
 * Returns a new object (caller frees with cJSON_Delete), or NULL. */
cJSON *loadgen_summary_new(const struct loadgen_ctx *c, const char *mode, long long events,
                           double seconds, const struct loadgen_seen *seen);

/* Prints the summary as one line on stdout (when to_stdout) and logs it as
 * loadgen.done on stderr; frees it. */
void loadgen_summary_emit(cJSON *summary, bool to_stdout);

#endif
