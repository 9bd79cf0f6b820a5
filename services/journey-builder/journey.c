#include "journey.h"

#include "analytics/errbuf.h"
#include "analytics/fileio.h"
#include "analytics/site_events.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct journey_rule {
    struct match when;
    int stage;
    char *touchpoint;
};

struct journey_rules {
    char *stages[JOURNEY_STAGES_MAX];
    int nstages;
    struct journey_rule *rules;
    size_t nrules;
    struct site_events site; /* page_views and conversions */
};

void journey_rules_free(struct journey_rules *r)
{
    if (r == NULL) {
        return;
    }
    for (int i = 0; i < r->nstages; i++) {
        free(r->stages[i]);
    }
    for (size_t i = 0; i < r->nrules; i++) {
        match_fini(&r->rules[i].when);
        free(r->rules[i].touchpoint);
    }
    site_events_fini(&r->site);
    free(r->rules);
    free(r);
}

/* Returns the index of stage name, or -1. */
static int journey_stage_index(const struct journey_rules *r, const char *name)
{
    for (int i = 0; i < r->nstages; i++) {
        if (strcmp(r->stages[i], name) == 0) {
            return i;
        }
    }
    return -1;
}

static int journey_load_stages(struct journey_rules *r, const cJSON *stages, const char *path,
                               char *err, size_t errlen)
{
    const cJSON *s;

    if (!cJSON_IsArray(stages) || cJSON_GetArraySize(stages) == 0 ||
        cJSON_GetArraySize(stages) > JOURNEY_STAGES_MAX) {
        errbuf_printf(err, errlen, "%s: \"stages\" must list 1 to %d stage names", path,
                      JOURNEY_STAGES_MAX);
        return -1;
    }
    cJSON_ArrayForEach(s, stages)
    {
        if (!cJSON_IsString(s) || s->valuestring[0] == '\0') {
            errbuf_printf(err, errlen, "%s: a stage name is not a non-empty string", path);
            return -1;
        }
        if (journey_stage_index(r, s->valuestring) >= 0) {
            errbuf_printf(err, errlen, "%s: stage \"%s\" is listed twice", path, s->valuestring);
            return -1;
        }
        if ((r->stages[r->nstages] = strdup(s->valuestring)) == NULL) {
            errbuf_printf(err, errlen, "%s: out of memory", path);
            return -1;
        }
        r->nstages++;
    }
    return 0;
}

static int journey_load_rule(struct journey_rules *r, const cJSON *item, const char *where,
                             char *err, size_t errlen)
{
    struct journey_rule *jr = &r->rules[r->nrules];
    const cJSON *stage = cJSON_GetObjectItemCaseSensitive(item, "stage");
    const cJSON *tp = cJSON_GetObjectItemCaseSensitive(item, "touchpoint");

    if (!cJSON_IsObject(item)) {
        errbuf_printf(err, errlen, "%s: not an object", where);
        return -1;
    }
    static const char *const keys[] = {"event_type", "page_type", "channel", "stage", "touchpoint"};

    if (fileio_check_keys(item, keys, sizeof(keys) / sizeof(keys[0]), where, err, errlen) != 0) {
        return -1;
    }
    if (!cJSON_IsString(stage) || (jr->stage = journey_stage_index(r, stage->valuestring)) < 0) {
        errbuf_printf(err, errlen, "%s: \"stage\" must be one of the listed stages", where);
        return -1;
    }
    if (!cJSON_IsString(tp) || tp->valuestring[0] == '\0') {
        errbuf_printf(err, errlen, "%s: \"touchpoint\" must be a non-empty string", where);
        return -1;
    }
    if (match_parse(item, where, &jr->when, err, errlen) != 0) {
        match_fini(&jr->when);
        return -1;
    }
    if ((jr->touchpoint = strdup(tp->valuestring)) == NULL) {
        match_fini(&jr->when);
        errbuf_printf(err, errlen, "%s: out of memory", where);
        return -1;
    }
    r->nrules++;
    return 0;
}

static int journey_load_doc(struct journey_rules *r, const cJSON *root, const char *path, char *err,
                            size_t errlen)
{
    const cJSON *version = cJSON_GetObjectItemCaseSensitive(root, "version");
    const cJSON *rules = cJSON_GetObjectItemCaseSensitive(root, "rules");
    static const char *const keys[] = {"version", "stages", "page_views", "conversions", "rules"};
    const cJSON *item;
    char where[512];

    if (fileio_check_keys(root, keys, sizeof(keys) / sizeof(keys[0]), path, err, errlen) != 0) {
        return -1;
    }
    if (!cJSON_IsNumber(version) || version->valuedouble != 1) {
        errbuf_printf(err, errlen, "%s: \"version\" must be 1", path);
        return -1;
    }
    if (journey_load_stages(r, cJSON_GetObjectItemCaseSensitive(root, "stages"), path, err,
                            errlen) != 0 ||
        site_events_load(&r->site, root, path, err, errlen) != 0) {
        return -1;
    }
    if (!cJSON_IsArray(rules)) {
        errbuf_printf(err, errlen, "%s: \"rules\" must be an array", path);
        return -1;
    }
    r->rules = calloc((size_t)cJSON_GetArraySize(rules) + 1, sizeof(*r->rules));
    if (r->rules == NULL) {
        errbuf_printf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    cJSON_ArrayForEach(item, rules)
    {
        snprintf(where, sizeof(where), "%s: rules[%zu]", path, r->nrules);
        if (journey_load_rule(r, item, where, err, errlen) != 0) {
            return -1;
        }
    }
    return 0;
}

struct journey_rules *journey_rules_load(const char *path, char *err, size_t errlen)
{
    struct journey_rules *r = NULL;
    cJSON *root = fileio_read_json(path, JOURNEY_RULES_FILE_MAX, FILEIO_JSON_OBJECT, err, errlen);

    if (root == NULL) {
        return NULL;
    }
    r = calloc(1, sizeof(*r));
    if (r == NULL) {
        errbuf_printf(err, errlen, "%s: out of memory", path);
    } else if (journey_load_doc(r, root, path, err, errlen) != 0) {
        journey_rules_free(r);
        r = NULL;
    }
    cJSON_Delete(root);
    return r;
}

int journey_rules_match(const struct journey_rules *r, const struct match_event *ev,
                        const char **touchpoint)
{
    for (size_t i = 0; i < r->nrules; i++) {
        if (match_test(&r->rules[i].when, ev)) {
            *touchpoint = r->rules[i].touchpoint;
            return r->rules[i].stage;
        }
    }
    return -1;
}

bool journey_is_page_view(const struct journey_rules *r, const char *event_type)
{
    return site_events_is_page_view(&r->site, event_type);
}

void journey_classify(const struct journey_rules *r, const struct match_event *ev,
                      const char *event_data_json, struct journey_verdict *out)
{
    const struct site_conversion *cv = site_events_conversion(&r->site, ev->event_type);
    int last = r->nstages - 1;

    out->touchpoint = NULL;
    out->value_micros = 0;
    out->stage = journey_rules_match(r, ev, &out->touchpoint);
    if (out->stage < 0 && cv != NULL) {
        out->stage = last; /* a conversion is a touchpoint, rule or not */
        out->touchpoint = cv->event_type;
    }
    out->conversion = cv != NULL || (out->stage >= 0 && out->stage == last);
    if (cv != NULL && cv->value_property != NULL) {
        (void)site_value_micros(event_data_json, cv->value_property, &out->value_micros);
    }
}

int journey_stage_count(const struct journey_rules *r)
{
    return r->nstages;
}

const char *journey_stage_name(const struct journey_rules *r, int i)
{
    return i >= 0 && i < r->nstages ? r->stages[i] : "";
}
