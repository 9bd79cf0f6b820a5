#include "journey.h"

#include "analytics/errbuf.h"
#include "analytics/fileio.h"

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

struct journey_conversion {
    char *event_type;
    char *value_property; /* NULL: the conversion has no value */
};

struct journey_rules {
    char *stages[JOURNEY_STAGES_MAX];
    int nstages;
    struct journey_rule *rules;
    size_t nrules;
    char *page_views[JOURNEY_TYPES_MAX];
    size_t npage_views;
    struct journey_conversion conversions[JOURNEY_TYPES_MAX];
    size_t nconversions;
};

/* The default conversion: the booking that analytics-loadgen and the
 * first site's events complete, with its value. */
#define JOURNEY_DEFAULT_CONVERSION "booking_completed"
#define JOURNEY_DEFAULT_VALUE_PROPERTY "value"

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
    for (size_t i = 0; i < r->npage_views; i++) {
        free(r->page_views[i]);
    }
    for (size_t i = 0; i < r->nconversions; i++) {
        free(r->conversions[i].event_type);
        free(r->conversions[i].value_property);
    }
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

    if (match_check_keys(item, keys, sizeof(keys) / sizeof(keys[0]), where, err, errlen) != 0) {
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

bool journey_is_page_view(const struct journey_rules *r, const char *event_type)
{
    for (size_t i = 0; i < r->npage_views; i++) {
        if (strcmp(r->page_views[i], event_type != NULL ? event_type : "") == 0) {
            return true;
        }
    }
    return false;
}

/* The conversion of event_type, or NULL when it is none. */
static const struct journey_conversion *journey_conversion_of(const struct journey_rules *r,
                                                              const char *event_type)
{
    for (size_t i = 0; i < r->nconversions; i++) {
        if (strcmp(r->conversions[i].event_type, event_type != NULL ? event_type : "") == 0) {
            return &r->conversions[i];
        }
    }
    return NULL;
}

static int journey_add_page_view(struct journey_rules *r, const char *type, const char *path,
                                 char *err, size_t errlen)
{
    if ((r->page_views[r->npage_views] = strdup(type)) == NULL) {
        errbuf_printf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    r->npage_views++;
    return 0;
}

/* "page_views": an array of distinct event types; ["page_view"] when
 * absent. */
static int journey_load_page_views(struct journey_rules *r, const cJSON *list, const char *path,
                                   char *err, size_t errlen)
{
    const cJSON *t;

    if (list == NULL) {
        return journey_add_page_view(r, MATCH_PAGE_VIEW, path, err, errlen);
    }
    if (!cJSON_IsArray(list) || cJSON_GetArraySize(list) > JOURNEY_TYPES_MAX) {
        errbuf_printf(err, errlen, "%s: \"page_views\" must be an array of at most %d event types",
                      path, JOURNEY_TYPES_MAX);
        return -1;
    }
    cJSON_ArrayForEach(t, list)
    {
        if (!cJSON_IsString(t) || t->valuestring[0] == '\0') {
            errbuf_printf(err, errlen, "%s: page_views[%zu]: not a non-empty string", path,
                          r->npage_views);
            return -1;
        }
        if (journey_is_page_view(r, t->valuestring)) {
            errbuf_printf(err, errlen, "%s: page_views[%zu]: \"%s\" is listed twice", path,
                          r->npage_views, t->valuestring);
            return -1;
        }
        if (journey_add_page_view(r, t->valuestring, path, err, errlen) != 0) {
            return -1;
        }
    }
    return 0;
}

/* Appends the conversion of type (value_property NULL: none). */
static int journey_add_conversion(struct journey_rules *r, const char *type, const char *prop,
                                  const char *where, char *err, size_t errlen)
{
    struct journey_conversion *c = &r->conversions[r->nconversions];

    c->event_type = strdup(type);
    c->value_property = prop != NULL ? strdup(prop) : NULL;
    if (c->event_type == NULL || (prop != NULL && c->value_property == NULL)) {
        free(c->event_type);
        free(c->value_property);
        c->event_type = c->value_property = NULL;
        errbuf_printf(err, errlen, "%s: out of memory", where);
        return -1;
    }
    r->nconversions++;
    return 0;
}

/* One element of "conversions": {"event_type": ..., "value_property": ...}. */
static int journey_load_conversion(struct journey_rules *r, const cJSON *item, const char *where,
                                   char *err, size_t errlen)
{
    static const char *const keys[] = {"event_type", "value_property"};
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(item, "event_type");
    const cJSON *prop = cJSON_GetObjectItemCaseSensitive(item, "value_property");

    if (!cJSON_IsObject(item)) {
        errbuf_printf(err, errlen, "%s: not an object", where);
        return -1;
    }
    if (match_check_keys(item, keys, sizeof(keys) / sizeof(keys[0]), where, err, errlen) != 0) {
        return -1;
    }
    if (!cJSON_IsString(type) || type->valuestring[0] == '\0') {
        errbuf_printf(err, errlen, "%s: \"event_type\" must be a non-empty string", where);
        return -1;
    }
    if (prop != NULL && (!cJSON_IsString(prop) || prop->valuestring[0] == '\0')) {
        errbuf_printf(err, errlen, "%s: \"value_property\" must be a non-empty string", where);
        return -1;
    }
    if (journey_conversion_of(r, type->valuestring) != NULL) {
        errbuf_printf(err, errlen, "%s: event type \"%s\" is listed twice", where,
                      type->valuestring);
        return -1;
    }
    return journey_add_conversion(r, type->valuestring, prop != NULL ? prop->valuestring : NULL,
                                  where, err, errlen);
}

/* "conversions": an array of conversions; booking_completed (value in
 * "value") when absent. */
static int journey_load_conversions(struct journey_rules *r, const cJSON *list, const char *path,
                                    char *err, size_t errlen)
{
    const cJSON *item;
    char where[512];

    if (list == NULL) {
        return journey_add_conversion(r, JOURNEY_DEFAULT_CONVERSION, JOURNEY_DEFAULT_VALUE_PROPERTY,
                                      path, err, errlen);
    }
    if (!cJSON_IsArray(list) || cJSON_GetArraySize(list) > JOURNEY_TYPES_MAX) {
        errbuf_printf(err, errlen, "%s: \"conversions\" must be an array of at most %d objects",
                      path, JOURNEY_TYPES_MAX);
        return -1;
    }
    cJSON_ArrayForEach(item, list)
    {
        snprintf(where, sizeof(where), "%s: conversions[%zu]", path, r->nconversions);
        if (journey_load_conversion(r, item, where, err, errlen) != 0) {
            return -1;
        }
    }
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

    if (match_check_keys(root, keys, sizeof(keys) / sizeof(keys[0]), path, err, errlen) != 0) {
        return -1;
    }
    if (!cJSON_IsNumber(version) || version->valuedouble != 1) {
        errbuf_printf(err, errlen, "%s: \"version\" must be 1", path);
        return -1;
    }
    if (journey_load_stages(r, cJSON_GetObjectItemCaseSensitive(root, "stages"), path, err,
                            errlen) != 0 ||
        journey_load_page_views(r, cJSON_GetObjectItemCaseSensitive(root, "page_views"), path, err,
                                errlen) != 0 ||
        journey_load_conversions(r, cJSON_GetObjectItemCaseSensitive(root, "conversions"), path,
                                 err, errlen) != 0) {
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

/* True when s is a plain decimal number: digits, sign, point and exponent
 * only (no hex, inf, nan or spaces, which strtod would take). */
static bool journey_decimal(const char *s)
{
    return s[0] != '\0' && strspn(s, "0123456789+-.eE") == strlen(s);
}

int journey_value_micros(const char *json, const char *prop, long long *micros)
{
    cJSON *root = NULL;
    const cJSON *v = NULL;
    double x = NAN;
    char *end = NULL;

    *micros = 0;
    if (json != NULL) {
        root = cJSON_ParseWithLengthOpts(json, strlen(json), NULL, 0);
    }
    if (cJSON_IsObject(root)) {
        v = cJSON_GetObjectItemCaseSensitive(root, prop);
    }
    if (cJSON_IsNumber(v)) {
        x = v->valuedouble;
    } else if (cJSON_IsString(v) && journey_decimal(v->valuestring)) {
        x = strtod(v->valuestring, &end);
        x = *end == '\0' ? x : NAN;
    }
    cJSON_Delete(root);
    if (!(fabs(x) <= JOURNEY_VALUE_MAX)) { /* NaN too */
        return -1;
    }
    *micros = llround(x * JOURNEY_MICROS);
    return 0;
}

void journey_classify(const struct journey_rules *r, const struct match_event *ev,
                      const char *event_data_json, struct journey_verdict *out)
{
    const struct journey_conversion *cv = journey_conversion_of(r, ev->event_type);
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
        (void)journey_value_micros(event_data_json, cv->value_property, &out->value_micros);
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
