#include "rules.h"

#include "analytics/errbuf.h"
#include "analytics/fileio.h"
#include "analytics/textcheck.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One entry of an events list: an event type, and optionally a top-level
 * event_data string property it must have. */
struct ev_entry {
    char *type;
    char *key;   /* NULL: any event of the type */
    char *value; /* with key */
};

/* A list of strings. */
struct strs {
    char *v[SCORER_RULES_LIST_MAX];
    size_t n;
};

struct scorer_rules {
    struct strs categories[PAGE_CAT_COUNT];
    struct strs pricing_types;
    struct ev_entry events[SCORER_EV_COUNT][SCORER_RULES_LIST_MAX];
    size_t nevents[SCORER_EV_COUNT];
    struct strs depth_props;
    long long special[SCORER_SPECIAL_DAYS_MAX]; /* local day numbers */
    size_t nspecial;
};

static const char *const category_keys[PAGE_CAT_COUNT] = {
    [PAGE_CAT_ADMIN] = "administrative",
    [PAGE_CAT_INFO] = "informational",
    [PAGE_CAT_PRODUCT] = "product_related",
};

static const char *const counter_keys[SCORER_EV_COUNT] = {
    [SCORER_EV_PRICING_VIEW] = "pricing_view",
    [SCORER_EV_BOOKING_STARTED] = "booking_started",
    [SCORER_EV_BOOKING_COMPLETED] = "booking_completed",
    [SCORER_EV_FORM_STARTED] = "form_started",
    [SCORER_EV_RAGE_CLICK] = "rage_click",
    [SCORER_EV_EXIT_INTENT] = "exit_intent",
    [SCORER_EV_SCROLL] = "scroll",
};

/* What a file without the key gets. */
static const char *const default_categories[PAGE_CAT_COUNT][5] = {
    [PAGE_CAT_ADMIN] = {"account", "login", NULL},
    [PAGE_CAT_INFO] = {"contact", "blog", "other", NULL},
    [PAGE_CAT_PRODUCT] = {"home", "service", "pricing", "booking", NULL},
};
static const char *const default_events[SCORER_EV_COUNT][3] = {
    [SCORER_EV_PRICING_VIEW] = {"pricing_viewed", NULL},
    [SCORER_EV_BOOKING_STARTED] = {"booking_started", NULL},
    [SCORER_EV_BOOKING_COMPLETED] = {"booking_completed", NULL},
    [SCORER_EV_FORM_STARTED] = {"form_start", "form_interaction.action=start", NULL},
    [SCORER_EV_RAGE_CLICK] = {"rage_click", NULL},
    [SCORER_EV_EXIT_INTENT] = {"exit_intent", NULL},
    [SCORER_EV_SCROLL] = {"scroll", "scroll_milestone", NULL},
};
static const char *const default_pricing[] = {"pricing", NULL};
static const char *const default_depth[] = {"depth_pct", "percent", "depth", NULL};

static void strs_free(struct strs *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->v[i]);
    }
    s->n = 0;
}

void scorer_rules_free(struct scorer_rules *r)
{
    if (r == NULL) {
        return;
    }
    for (int c = 0; c < PAGE_CAT_COUNT; c++) {
        strs_free(&r->categories[c]);
    }
    strs_free(&r->pricing_types);
    strs_free(&r->depth_props);
    for (int k = 0; k < SCORER_EV_COUNT; k++) {
        for (size_t i = 0; i < r->nevents[k]; i++) {
            free(r->events[k][i].type);
            free(r->events[k][i].key);
            free(r->events[k][i].value);
        }
    }
    free(r);
}

static bool strs_has(const struct strs *s, const char *v)
{
    for (size_t i = 0; v != NULL && i < s->n; i++) {
        if (strcmp(s->v[i], v) == 0) {
            return true;
        }
    }
    return false;
}

static int strs_add(struct strs *s, const char *v, const char *where, char *err, size_t errlen)
{
    if (s->n == SCORER_RULES_LIST_MAX) {
        errbuf_printf(err, errlen, "%s: more than %d entries", where, SCORER_RULES_LIST_MAX);
        return -1;
    }
    if ((s->v[s->n] = strdup(v)) == NULL) {
        errbuf_printf(err, errlen, "%s: out of memory", where);
        return -1;
    }
    s->n++;
    return 0;
}

/* Fills s from list (an array of distinct non-empty strings), or from the
 * NULL-ended defaults when list is NULL. */
static int strs_load(struct strs *s, const cJSON *list, const char *const *defaults,
                     const char *where, char *err, size_t errlen)
{
    const cJSON *item;

    if (list == NULL) {
        for (size_t i = 0; defaults[i] != NULL; i++) {
            if (strs_add(s, defaults[i], where, err, errlen) != 0) {
                return -1;
            }
        }
        return 0;
    }
    if (!cJSON_IsArray(list)) {
        errbuf_printf(err, errlen, "%s: not an array of strings", where);
        return -1;
    }
    cJSON_ArrayForEach(item, list)
    {
        if (!cJSON_IsString(item) || item->valuestring[0] == '\0') {
            errbuf_printf(err, errlen, "%s[%zu]: not a non-empty string", where, s->n);
            return -1;
        }
        if (strs_has(s, item->valuestring)) {
            errbuf_printf(err, errlen, "%s[%zu]: \"%s\" is listed twice", where, s->n,
                          item->valuestring);
            return -1;
        }
        if (strs_add(s, item->valuestring, where, err, errlen) != 0) {
            return -1;
        }
    }
    return 0;
}

static int load_categories(struct scorer_rules *r, const cJSON *obj, const char *path, char *err,
                           size_t errlen)
{
    char where[600];

    if (obj != NULL && !cJSON_IsObject(obj)) {
        errbuf_printf(err, errlen, "%s: \"page_categories\" must be an object", path);
        return -1;
    }
    snprintf(where, sizeof(where), "%s: page_categories", path);
    if (obj != NULL && fileio_check_keys(obj, category_keys, PAGE_CAT_COUNT, where, err, errlen)) {
        return -1;
    }
    for (int c = 0; c < PAGE_CAT_COUNT; c++) {
        const cJSON *list =
            obj != NULL ? cJSON_GetObjectItemCaseSensitive(obj, category_keys[c]) : NULL;
        snprintf(where, sizeof(where), "%s: page_categories.%s", path, category_keys[c]);
        if (obj != NULL && list == NULL) {
            continue; /* a category the file leaves out has no page types */
        }
        if (strs_load(&r->categories[c], list, default_categories[c], where, err, errlen) != 0) {
            return -1;
        }
    }
    for (int c = 0; c < PAGE_CAT_COUNT; c++) {
        for (size_t i = 0; i < r->categories[c].n; i++) {
            for (int o = c + 1; o < PAGE_CAT_COUNT; o++) {
                if (strs_has(&r->categories[o], r->categories[c].v[i])) {
                    errbuf_printf(err, errlen, "%s: page_categories: \"%s\" is in both %s and %s",
                                  path, r->categories[c].v[i], category_keys[c], category_keys[o]);
                    return -1;
                }
            }
        }
    }
    return 0;
}

/* Parses "type" or "type.key=value" into e. */
static int ev_parse(struct ev_entry *e, const char *s, const char *where, char *err, size_t errlen)
{
    const char *dot = strchr(s, '.'), *eq = dot != NULL ? strchr(dot, '=') : NULL;

    memset(e, 0, sizeof(*e));
    if (dot != NULL && (eq == NULL || dot == s || eq == dot + 1 || eq[1] == '\0')) {
        errbuf_printf(err, errlen, "%s: \"%s\" is not an event type or type.key=value", where, s);
        return -1;
    }
    e->type = dot != NULL ? strndup(s, (size_t)(dot - s)) : strdup(s);
    if (dot != NULL) {
        e->key = strndup(dot + 1, (size_t)(eq - dot - 1));
        e->value = strdup(eq + 1);
    }
    if (e->type == NULL || (dot != NULL && (e->key == NULL || e->value == NULL))) {
        free(e->type);
        free(e->key);
        free(e->value);
        errbuf_printf(err, errlen, "%s: out of memory", where);
        return -1;
    }
    return 0;
}

static int load_events(struct scorer_rules *r, const cJSON *obj, const char *path, char *err,
                       size_t errlen)
{
    char where[600];

    if (obj != NULL && !cJSON_IsObject(obj)) {
        errbuf_printf(err, errlen, "%s: \"events\" must be an object", path);
        return -1;
    }
    snprintf(where, sizeof(where), "%s: events", path);
    if (obj != NULL && fileio_check_keys(obj, counter_keys, SCORER_EV_COUNT, where, err, errlen)) {
        return -1;
    }
    for (int k = 0; k < SCORER_EV_COUNT; k++) {
        struct strs s = {.n = 0};
        const cJSON *list =
            obj != NULL ? cJSON_GetObjectItemCaseSensitive(obj, counter_keys[k]) : NULL;
        snprintf(where, sizeof(where), "%s: events.%s", path, counter_keys[k]);
        int rc = strs_load(&s, list, default_events[k], where, err, errlen);
        for (size_t i = 0; rc == 0 && i < s.n; i++) {
            char at[640];
            snprintf(at, sizeof(at), "%s[%zu]", where, i);
            rc = ev_parse(&r->events[k][r->nevents[k]], s.v[i], at, err, errlen);
            r->nevents[k] += rc == 0;
        }
        strs_free(&s);
        if (rc != 0) {
            return -1;
        }
    }
    return 0;
}

static int load_special(struct scorer_rules *r, const cJSON *list, const char *path, char *err,
                        size_t errlen)
{
    const cJSON *item;

    if (list == NULL) {
        return 0;
    }
    if (!cJSON_IsArray(list) || cJSON_GetArraySize(list) > SCORER_SPECIAL_DAYS_MAX) {
        errbuf_printf(err, errlen, "%s: \"special_days\" must be an array of at most %d dates",
                      path, SCORER_SPECIAL_DAYS_MAX);
        return -1;
    }
    cJSON_ArrayForEach(item, list)
    {
        if (!cJSON_IsString(item) || textcheck_date(item->valuestring, &r->special[r->nspecial])) {
            errbuf_printf(err, errlen, "%s: special_days[%zu]: not a date YYYY-MM-DD", path,
                          r->nspecial);
            return -1;
        }
        r->nspecial++;
    }
    return 0;
}

static int load_doc(struct scorer_rules *r, const cJSON *root, const char *path, char *err,
                    size_t errlen)
{
    static const char *const keys[] = {"version", "page_categories",         "pricing_page_types",
                                       "events",  "scroll_depth_properties", "special_days"};
    const cJSON *version = cJSON_GetObjectItemCaseSensitive(root, "version");
    char where[600];

    if (fileio_check_keys(root, keys, sizeof(keys) / sizeof(keys[0]), path, err, errlen) != 0) {
        return -1;
    }
    if (!cJSON_IsNumber(version) || version->valuedouble != 1) {
        errbuf_printf(err, errlen, "%s: \"version\" must be 1", path);
        return -1;
    }
    if (load_categories(r, cJSON_GetObjectItemCaseSensitive(root, "page_categories"), path, err,
                        errlen) != 0 ||
        load_events(r, cJSON_GetObjectItemCaseSensitive(root, "events"), path, err, errlen) != 0 ||
        load_special(r, cJSON_GetObjectItemCaseSensitive(root, "special_days"), path, err,
                     errlen) != 0) {
        return -1;
    }
    snprintf(where, sizeof(where), "%s: pricing_page_types", path);
    if (strs_load(&r->pricing_types, cJSON_GetObjectItemCaseSensitive(root, "pricing_page_types"),
                  default_pricing, where, err, errlen) != 0) {
        return -1;
    }
    snprintf(where, sizeof(where), "%s: scroll_depth_properties", path);
    return strs_load(&r->depth_props,
                     cJSON_GetObjectItemCaseSensitive(root, "scroll_depth_properties"),
                     default_depth, where, err, errlen);
}

static int build_doc(void *r, const cJSON *root, const char *path, char *err, size_t errlen)
{
    return load_doc(r, root, path, err, errlen);
}

static void drop_doc(void *r)
{
    scorer_rules_free(r);
}

struct scorer_rules *scorer_rules_load(const char *path, char *err, size_t errlen)
{
    return fileio_build_doc(
        fileio_read_json(path, SCORER_RULES_FILE_MAX, FILEIO_JSON_OBJECT, err, errlen),
        sizeof(struct scorer_rules), build_doc, drop_doc, path, err, errlen);
}

enum page_category scorer_rules_category(const struct scorer_rules *r, const char *page_type)
{
    for (int c = 0; c < PAGE_CAT_COUNT; c++) {
        if (strs_has(&r->categories[c], page_type)) {
            return (enum page_category)c;
        }
    }
    return PAGE_CAT_NONE;
}

bool scorer_rules_pricing_page(const struct scorer_rules *r, const char *page_type)
{
    return strs_has(&r->pricing_types, page_type);
}

/* True when the event_data object has the string property key equal to
 * value. */
static bool ev_data_has(const cJSON *data, const char *key, const char *value)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(data, key);

    return cJSON_IsString(v) && strcmp(v->valuestring, value) == 0;
}

/* The scroll depth from the first depth property that is a number. */
static int ev_depth(const struct scorer_rules *r, const cJSON *data)
{
    for (size_t i = 0; i < r->depth_props.n; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(data, r->depth_props.v[i]);
        if (cJSON_IsNumber(v) && isfinite(v->valuedouble)) {
            double d = v->valuedouble < 0 ? 0 : v->valuedouble > 100 ? 100 : v->valuedouble;
            return (int)lround(d);
        }
    }
    return -1;
}

unsigned scorer_rules_classify(const struct scorer_rules *r, const char *event_type,
                               const char *event_data_json, int *depth)
{
    cJSON *data = NULL;
    bool parsed = false;
    unsigned bits = 0;

    *depth = -1;
    if (event_type == NULL) {
        return 0;
    }
    for (int k = 0; k < SCORER_EV_COUNT; k++) {
        for (size_t i = 0; i < r->nevents[k]; i++) {
            const struct ev_entry *e = &r->events[k][i];
            if (strcmp(e->type, event_type) != 0) {
                continue;
            }
            if ((e->key != NULL || k == SCORER_EV_SCROLL) && !parsed) {
                parsed = true;
                if (event_data_json != NULL && event_data_json[0] != '\0') {
                    data = cJSON_Parse(event_data_json);
                }
            }
            if (e->key == NULL || ev_data_has(data, e->key, e->value)) {
                bits |= 1u << k;
                if (k == SCORER_EV_SCROLL) {
                    *depth = ev_depth(r, data);
                }
                break;
            }
        }
    }
    cJSON_Delete(data);
    return bits;
}

double scorer_special_day(const struct scorer_rules *r, long long day)
{
    double best = 0;

    for (size_t i = 0; i < r->nspecial; i++) {
        long long before = r->special[i] - day;
        if (before < 2 || before > 12) {
            continue;
        }
        double x = 1.0 - (double)llabs(before - 6) / (before > 6 ? 7.0 : 5.0);
        double stepped = round(x * 5.0) / 5.0;
        if (stepped > best) {
            best = stepped;
        }
    }
    return best;
}
