#include "funnel.h"

#include "analytics/errbuf.h"
#include "analytics/fileio.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- loading ---- */

static void funnel_fini(struct funnel *f)
{
    free(f->name);
    for (int i = 0; i < f->nsteps; i++) {
        free(f->steps[i].name);
        match_fini(&f->steps[i].when);
    }
    memset(f, 0, sizeof(*f));
}

void funnel_set_fini(struct funnel_set *s)
{
    for (size_t i = 0; i < s->n; i++) {
        funnel_fini(&s->funnels[i]);
    }
    free(s->funnels);
    s->funnels = NULL;
    s->n = 0;
}

/* Reads an optional whole number in [lo, hi] (def when absent). */
static int funnel_number(const cJSON *obj, const char *key, long long lo, long long hi,
                         long long def, long long *out, const char *where, char *err, size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

    if (v == NULL) {
        *out = def;
        return 0;
    }
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) ||
        v->valuedouble < (double)lo || v->valuedouble > (double)hi) {
        errbuf_printf(err, errlen, "%s: \"%s\" must be a whole number from %lld to %lld", where,
                      key, lo, hi);
        return -1;
    }
    *out = (long long)v->valuedouble;
    return 0;
}

static int funnel_load_step(struct funnel *f, const cJSON *item, const char *where, char *err,
                            size_t errlen)
{
    static const char *const keys[] = {"name", "event_type", "page_type", "channel"};
    struct funnel_step *st = &f->steps[f->nsteps];
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(item, "name");

    if (!cJSON_IsObject(item)) {
        errbuf_printf(err, errlen, "%s: not an object", where);
        return -1;
    }
    if (fileio_check_keys(item, keys, sizeof(keys) / sizeof(keys[0]), where, err, errlen) != 0) {
        return -1;
    }
    if (!cJSON_IsString(name) || name->valuestring[0] == '\0') {
        errbuf_printf(err, errlen, "%s: \"name\" must be a non-empty string", where);
        return -1;
    }
    if (match_parse(item, where, &st->when, err, errlen) != 0) {
        match_fini(&st->when);
        return -1;
    }
    if (match_is_any(&st->when)) {
        errbuf_printf(err, errlen, "%s: a step needs an event_type, page_type or channel", where);
        match_fini(&st->when);
        return -1;
    }
    if ((st->name = strdup(name->valuestring)) == NULL) {
        match_fini(&st->when);
        errbuf_printf(err, errlen, "%s: out of memory", where);
        return -1;
    }
    f->nsteps++;
    return 0;
}

static int funnel_load_steps(struct funnel *f, const cJSON *steps, const char *where, char *err,
                             size_t errlen)
{
    const cJSON *item;
    char at[600];

    if (!cJSON_IsArray(steps) || cJSON_GetArraySize(steps) < 2 ||
        cJSON_GetArraySize(steps) > FUNNEL_STEPS_MAX) {
        errbuf_printf(err, errlen, "%s: \"steps\" must list 2 to %d steps", where,
                      FUNNEL_STEPS_MAX);
        return -1;
    }
    cJSON_ArrayForEach(item, steps)
    {
        snprintf(at, sizeof(at), "%s: steps[%d]", where, f->nsteps);
        if (funnel_load_step(f, item, at, err, errlen) != 0) {
            return -1;
        }
    }
    return 0;
}

/* The order, window and abandonment settings of funnel item. */
static int funnel_load_settings(struct funnel *f, const cJSON *item, const char *where, char *err,
                                size_t errlen)
{
    const cJSON *order = cJSON_GetObjectItemCaseSensitive(item, "order");
    long long hours, from, after;

    if (order != NULL && (!cJSON_IsString(order) || (strcmp(order->valuestring, "strict") != 0 &&
                                                     strcmp(order->valuestring, "any") != 0))) {
        errbuf_printf(err, errlen, "%s: \"order\" must be \"strict\" or \"any\"", where);
        return -1;
    }
    f->strict = order == NULL || strcmp(order->valuestring, "strict") == 0;
    if (funnel_number(item, "window_hours", 1, 24 * 366, 24 * 7, &hours, where, err, errlen) != 0 ||
        funnel_number(item, "abandon_from_step", 0, f->nsteps - 1, 0, &from, where, err, errlen) !=
            0 ||
        funnel_number(item, "abandon_after_minutes", 0, 60 * 24 * 366, 0, &after, where, err,
                      errlen) != 0) {
        return -1;
    }
    f->window_ms = hours * 3600000LL;
    f->abandon_from = (int)from - 1; /* 0 (or absent): none */
    f->abandon_after_ms = after * 60000LL;
    return 0;
}

static int funnel_load_one(struct funnel_set *s, const cJSON *item, size_t idx, const char *path,
                           char *err, size_t errlen)
{
    static const char *const keys[] = {
        "name", "order", "window_hours", "abandon_from_step", "steps", "abandon_after_minutes"};
    struct funnel *f = &s->funnels[s->n];
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(item, "name");
    char where[560];

    snprintf(where, sizeof(where), "%s: funnels[%zu]", path, idx);
    if (!cJSON_IsObject(item)) {
        errbuf_printf(err, errlen, "%s: not an object", where);
        return -1;
    }
    if (fileio_check_keys(item, keys, sizeof(keys) / sizeof(keys[0]), where, err, errlen) != 0) {
        return -1;
    }
    if (!cJSON_IsString(name) || name->valuestring[0] == '\0' ||
        strlen(name->valuestring) >= FUNNEL_NAME_MAX) {
        errbuf_printf(err, errlen, "%s: \"name\" must be a string of 1 to %d bytes", where,
                      FUNNEL_NAME_MAX - 1);
        return -1;
    }
    for (size_t i = 0; i < s->n; i++) {
        if (strcmp(s->funnels[i].name, name->valuestring) == 0) {
            errbuf_printf(err, errlen, "%s: funnel \"%s\" is defined twice", where,
                          name->valuestring);
            return -1;
        }
    }
    s->n++; /* from here f is freed with the set */
    if ((f->name = strdup(name->valuestring)) == NULL) {
        errbuf_printf(err, errlen, "%s: out of memory", where);
        return -1;
    }
    if (funnel_load_steps(f, cJSON_GetObjectItemCaseSensitive(item, "steps"), where, err, errlen) !=
        0) {
        return -1;
    }
    return funnel_load_settings(f, item, where, err, errlen);
}

static int funnel_load_doc(struct funnel_set *s, const cJSON *root, const char *path, char *err,
                           size_t errlen)
{
    const cJSON *version = cJSON_GetObjectItemCaseSensitive(root, "version");
    const cJSON *funnels = cJSON_GetObjectItemCaseSensitive(root, "funnels");
    const cJSON *item;
    size_t idx = 0;

    if (!cJSON_IsNumber(version) || version->valuedouble != 1) {
        errbuf_printf(err, errlen, "%s: \"version\" must be 1", path);
        return -1;
    }
    if (!cJSON_IsArray(funnels)) {
        errbuf_printf(err, errlen, "%s: \"funnels\" must be an array", path);
        return -1;
    }
    s->funnels = calloc((size_t)cJSON_GetArraySize(funnels) + 1, sizeof(*s->funnels));
    if (s->funnels == NULL) {
        errbuf_printf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    cJSON_ArrayForEach(item, funnels)
    {
        if (funnel_load_one(s, item, idx++, path, err, errlen) != 0) {
            return -1;
        }
    }
    return 0;
}

int funnel_set_load(struct funnel_set *s, const char *path, char *err, size_t errlen)
{
    cJSON *root;
    int rc;

    memset(s, 0, sizeof(*s));
    root = fileio_read_json(path, FUNNEL_FILE_MAX, FILEIO_JSON_OBJECT, err, errlen);
    if (root == NULL) {
        return -1;
    }
    rc = funnel_load_doc(s, root, path, err, errlen);
    cJSON_Delete(root);
    return rc;
}

/* ---- progress ---- */

void funnel_progress_reset(struct funnel_progress *p)
{
    memset(p, 0, sizeof(*p));
    p->furthest = -1;
}

/* How many distinct steps p reached. */
static int funnel_reached_count(const struct funnel *f, const struct funnel_progress *p)
{
    int n = 0;

    for (int k = 0; k < f->nsteps; k++) {
        n += p->reached_ms[k] != 0 ? 1 : 0;
    }
    return n;
}

bool funnel_completed(const struct funnel *f, const struct funnel_progress *p)
{
    if (p->started_ms == 0) {
        return false;
    }
    return f->strict ? p->reached_ms[f->nsteps - 1] != 0 : funnel_reached_count(f, p) == f->nsteps;
}

int funnel_level(const struct funnel *f, const struct funnel_progress *p)
{
    if (p->started_ms == 0) {
        return -1;
    }
    return f->strict ? p->furthest : funnel_reached_count(f, p) - 1;
}

/* The step ev should reach: strict, the first matching step after the
 * furthest; any order, the first matching step not reached yet. -1: none. */
static int funnel_target(const struct funnel *f, const struct funnel_progress *p,
                         const struct match_event *ev)
{
    int from = f->strict ? p->furthest + 1 : 0;

    for (int k = from; k < f->nsteps; k++) {
        if (p->reached_ms[k] == 0 && match_test(&f->steps[k].when, ev)) {
            return k;
        }
    }
    return -1;
}

/* The time the step before k was reached, for the time between them: strict,
 * step k - 1 unless it was inferred; any order, the latest step reached so
 * far. 0: none to measure from. */
static long long funnel_prev_ms(const struct funnel *f, const struct funnel_progress *p, int k)
{
    if (!f->strict) {
        return funnel_last_step_ms(f, p);
    }
    return k > 0 && (p->inferred & (1u << (k - 1))) == 0 ? p->reached_ms[k - 1] : 0;
}

/* Marks step k reached at ts and describes it in *hit. */
static void funnel_reach(const struct funnel *f, struct funnel_progress *p, int k, bool inferred,
                         long long ts, struct funnel_hit *hit)
{
    long long prev = funnel_prev_ms(f, p, k);

    p->reached_ms[k] = ts;
    if (inferred) {
        p->inferred |= 1u << k;
    }
    if (k > p->furthest) {
        p->furthest = k;
    }
    hit->step = k;
    hit->level = f->strict ? k : funnel_reached_count(f, p) - 1;
    hit->inferred = inferred;
    hit->new_attempt = false;
    hit->since_prev_ms = -1;
    if (!inferred && prev != 0) {
        hit->since_prev_ms = ts >= prev ? ts - prev : 0;
    }
}

int funnel_advance(const struct funnel *f, struct funnel_progress *p, const struct match_event *ev,
                   long long ts_ms, struct funnel_hit *hits)
{
    int n = 0, k;
    bool fresh = false;

    if (p->started_ms != 0 && (ts_ms - p->started_ms > f->window_ms || funnel_completed(f, p))) {
        struct funnel_progress next;
        funnel_progress_reset(&next);
        if (funnel_target(f, &next, ev) < 0) {
            return 0; /* keep the finished attempt until an event starts another */
        }
        *p = next;
    }
    if ((k = funnel_target(f, p, ev)) < 0) {
        return 0;
    }
    if (p->started_ms == 0) {
        p->started_ms = ts_ms;
        fresh = true;
    }
    /* Strict: the steps skipped on the way count as reached, inferred. */
    for (int j = f->strict ? p->furthest + 1 : k; j < k; j++) {
        funnel_reach(f, p, j, true, ts_ms, &hits[n++]);
    }
    funnel_reach(f, p, k, false, ts_ms, &hits[n++]);
    hits[0].new_attempt = fresh;
    return n;
}

long long funnel_last_step_ms(const struct funnel *f, const struct funnel_progress *p)
{
    long long last = 0;

    for (int k = 0; k < f->nsteps; k++) {
        last = p->reached_ms[k] > last ? p->reached_ms[k] : last;
    }
    return last;
}

bool funnel_abandon_due(const struct funnel *f, const struct funnel_progress *p, long long now_ms,
                        bool session_closed)
{
    if (f->abandon_from < 0 || p->started_ms == 0 || p->abandoned || funnel_completed(f, p) ||
        funnel_level(f, p) < f->abandon_from) {
        return false;
    }
    if (session_closed) {
        return true;
    }
    return f->abandon_after_ms > 0 && now_ms - funnel_last_step_ms(f, p) >= f->abandon_after_ms;
}
