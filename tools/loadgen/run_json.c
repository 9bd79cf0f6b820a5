/* --json: raw events as JSON lines on stdout, in the shape
 * `analytics-enricher --enrich-stdin` reads (RawEvent through pbjson). */
#include "run.h"

#include "analytics/log.h"
#include "analytics/pbjson.h"
#include "raw.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What json_run_write returns. */
enum json_run_rc {
    JSON_RUN_OK = 0,
    JSON_RUN_NOMEM = -1,
    JSON_RUN_WRITE_FAILED = -2, /* stdout failed (errno set) */
};

/* Writes ev as one line. Returns an enum json_run_rc. */
static int json_run_write(const struct loadgen_event *ev, const char *origin)
{
    Analytics__V1__RawEvent m;
    Analytics__V1__Consent consent;
    cJSON *doc;
    char *text;
    int rc = JSON_RUN_OK;

    loadgen_raw_fill(&m, &consent, ev, origin);
    doc = pbjson_from_message(&m.base);
    text = doc != NULL ? cJSON_PrintUnformatted(doc) : NULL;
    if (text == NULL) {
        rc = JSON_RUN_NOMEM;
    } else if (fputs(text, stdout) == EOF || putchar('\n') == EOF) {
        rc = JSON_RUN_WRITE_FAILED;
    }
    free(text);
    cJSON_Delete(doc);
    return rc;
}

/* Makes and prints the events. Returns how many were written; *rc is 0, or
 * -1 on an error (logged). */
static long long json_run_loop(const struct loadgen_ctx *c, struct loadgen_gen *gen,
                               struct loadgen_seen *seen, int *rc)
{
    const struct loadgen_opts *o = c->o;
    struct loadgen_pace pace;
    struct loadgen_event ev;
    long long n = 0;
    long long deadline =
        o->duration_s > 0 ? loadgen_mono_us() + (long long)(o->duration_s * 1e6) : 0;

    *rc = 0;
    loadgen_pace_init(&pace, o->rate);
    while (o->count == 0 || n < o->count) {
        int w;

        if ((n & 1023) == 0 &&
            (loadgen_signalled() || (deadline != 0 && loadgen_mono_us() >= deadline))) {
            break;
        }
        loadgen_pace_wait(&pace, n, NULL);
        loadgen_gen_next(gen, &ev);
        loadgen_seen_add(seen, &ev);
        errno = 0;
        w = json_run_write(&ev, o->params.site);
        if (w == JSON_RUN_WRITE_FAILED) {
            if (errno != EPIPE) { /* a reader that went away (| head) is not our failure */
                log_error("loadgen.write_failed", LOG_STR("error", strerror(errno)));
                *rc = -1;
            }
            break;
        }
        if (w == JSON_RUN_NOMEM) {
            log_error("loadgen.out_of_memory");
            *rc = -1;
            break;
        }
        n++;
    }
    if (fflush(stdout) == EOF && errno != EPIPE) {
        log_error("loadgen.write_failed", LOG_STR("error", strerror(errno)));
        *rc = -1;
    }
    return n;
}

int loadgen_run_json(const struct loadgen_ctx *c)
{
    struct loadgen_seen seen = {0};
    struct loadgen_gen *gen;
    char err[256];
    long long t0, n;
    int rc;

    if (loadgen_seen_init(&seen, loadgen_agents_total(c->agents), c->o->params.visitors) != 0) {
        log_error("loadgen.out_of_memory");
        loadgen_seen_fini(&seen);
        return 1;
    }
    gen = loadgen_gen_new(&c->o->params, c->agents, err, sizeof(err));
    if (gen == NULL) {
        log_error("loadgen.bad_parameters", LOG_STR("error", err));
        loadgen_seen_fini(&seen);
        return 1;
    }
    t0 = loadgen_mono_us();
    n = json_run_loop(c, gen, &seen, &rc);
    loadgen_summary_emit(
        loadgen_summary_new(c, "json", n, (double)(loadgen_mono_us() - t0) / 1e6, &seen), false);
    loadgen_gen_free(gen);
    loadgen_seen_fini(&seen);
    return rc == 0 ? 0 : 1;
}
