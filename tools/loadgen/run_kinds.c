/* --kinds: the population's ground truth as CSV on stdout (visitor index,
 * fingerprint, kind), no events made, so a persona model trained on the
 * same seed and population can be checked against the kinds. */
#include "run.h"

#include "analytics/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Prints the header and one line per visitor. Returns 0, or -1 when stdout
 * failed (errno set). */
static int kinds_run_print(const struct loadgen_gen *gen)
{
    struct loadgen_visitor_info info;

    if (fputs("visitor,fingerprint,kind\n", stdout) == EOF) {
        return -1;
    }
    for (uint32_t i = 0; i < loadgen_gen_visitors(gen); i++) {
        loadgen_gen_visitor(gen, i, &info);
        if (printf("%u,%s,%s\n", info.visitor, info.fingerprint,
                   loadgen_visitor_kind_name(info.kind)) < 0) {
            return -1;
        }
    }
    return fflush(stdout) == EOF ? -1 : 0;
}

/* Adds the population's visitors by kind, {"<kind>": visitors, ...}, to
 * the summary s as "kinds". Returns 0, or -1 when out of memory. */
static int kinds_run_summary(cJSON *s, const struct loadgen_gen *gen)
{
    cJSON *kinds = cJSON_AddObjectToObject(s, "kinds");
    size_t counts[LOADGEN_VK_COUNT] = {0};
    struct loadgen_visitor_info info;

    for (uint32_t i = 0; i < loadgen_gen_visitors(gen); i++) {
        loadgen_gen_visitor(gen, i, &info);
        counts[info.kind]++;
    }

    for (int k = 0; kinds != NULL && k < LOADGEN_VK_COUNT; k++) {
        if (cJSON_AddNumberToObject(kinds, loadgen_visitor_kind_name((enum loadgen_visitor_kind)k),
                                    (double)counts[k]) == NULL) {
            return -1;
        }
    }
    return kinds != NULL ? 0 : -1;
}

int loadgen_run_kinds(const struct loadgen_ctx *c)
{
    struct loadgen_seen seen = {0}; /* stays empty: no events are made */
    struct loadgen_gen *gen;
    cJSON *summary;
    char err[256];
    long long t0;
    int rc = 0;

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
    errno = 0;
    if (kinds_run_print(gen) != 0 && errno != EPIPE) {
        log_error("loadgen.write_failed", LOG_STR("error", strerror(errno)));
        rc = 1;
    }
    summary = loadgen_summary_new(c, "kinds", 0, (double)(loadgen_mono_us() - t0) / 1e6, &seen);
    if (summary != NULL && kinds_run_summary(summary, gen) != 0) {
        cJSON_Delete(summary);
        summary = NULL;
    }
    loadgen_summary_emit(summary, false);
    loadgen_gen_free(gen);
    loadgen_seen_fini(&seen);
    return rc;
}
