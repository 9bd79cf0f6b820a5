#include "run.h"

#include "analytics/lifecycle.h"
#include "analytics/log.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

long long loadgen_mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void loadgen_pace_init(struct loadgen_pace *p, double rate)
{
    p->start_us = loadgen_mono_us();
    p->rate = rate;
}

void loadgen_pace_wait(const struct loadgen_pace *p, long long done, const atomic_int *stop)
{
    long long due, left;

    if (p->rate <= 0) {
        return;
    }
    due = p->start_us + (long long)((double)done * 1e6 / p->rate);
    while ((left = due - loadgen_mono_us()) > 0 && (stop == NULL || !atomic_load(stop))) {
        long long step = left < 100000 ? left : 100000;
        struct timespec ts = {step / 1000000, (long)(step % 1000000) * 1000};

        nanosleep(&ts, NULL);
    }
}

bool loadgen_signalled(void)
{
    static bool seen;
    int sig;

    if (seen) {
        return true;
    }
    sig = lifecycle_wait(0);
    if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP) {
        log_info("loadgen.stopping", LOG_STR("signal", strsignal(sig)));
        seen = true;
    }
    return seen;
}

cJSON *loadgen_summary_new(const struct loadgen_ctx *c, const char *mode, long long events,
                           double seconds, const struct loadgen_seen *seen)
{
    cJSON *s = cJSON_CreateObject();
    char seed[24];

    snprintf(seed, sizeof(seed), "%llu", (unsigned long long)c->o->params.seed);
    if (s == NULL || cJSON_AddStringToObject(s, "mode", mode) == NULL ||
        cJSON_AddNumberToObject(s, "events", (double)events) == NULL ||
        cJSON_AddNumberToObject(s, "seconds", (double)(long long)(seconds * 1000) / 1000) == NULL ||
        cJSON_AddNumberToObject(s, "events_per_sec",
                                seconds > 0 ? (double)(long long)((double)events / seconds) : 0) ==
            NULL ||
        cJSON_AddNumberToObject(s, "distinct_agents", (double)loadgen_seen_agents(seen)) == NULL ||
        cJSON_AddNumberToObject(s, "visitors", (double)loadgen_seen_visitors(seen)) == NULL ||
        cJSON_AddNumberToObject(s, "population", c->o->params.visitors) == NULL ||
        cJSON_AddRawToObject(s, "seed", seed) == NULL) {
        cJSON_Delete(s);
        return NULL;
    }
    return s;
}

void loadgen_summary_emit(cJSON *summary, bool to_stdout)
{
    char *text = summary != NULL ? cJSON_PrintUnformatted(summary) : NULL;

    if (text == NULL) {
        log_error("loadgen.out_of_memory");
        cJSON_Delete(summary);
        return;
    }
    if (to_stdout) {
        printf("%s\n", text);
        fflush(stdout);
    }
    log_info("loadgen.done", LOG_STR("summary", text));
    free(text);
    cJSON_Delete(summary);
}
