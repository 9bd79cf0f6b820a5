/* The site's page-view and conversion event types (see site_events.h). */
#include "analytics/site_events.h"

#include "analytics/errbuf.h"
#include "analytics/fileio.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The default conversion: the booking that analytics-loadgen and the
 * first site's events complete, with its value. */
#define SITE_DEFAULT_CONVERSION "booking_completed"
#define SITE_DEFAULT_VALUE_PROPERTY "value"

bool site_events_is_page_view(const struct site_events *r, const char *event_type)
{
    for (size_t i = 0; i < r->npage_views; i++) {
        if (strcmp(r->page_views[i], event_type != NULL ? event_type : "") == 0) {
            return true;
        }
    }
    return false;
}

const struct site_conversion *site_events_conversion(const struct site_events *r,
                                                     const char *event_type)
{
    for (size_t i = 0; i < r->nconversions; i++) {
        if (strcmp(r->conversions[i].event_type, event_type != NULL ? event_type : "") == 0) {
            return &r->conversions[i];
        }
    }
    return NULL;
}

static int site_add_page_view(struct site_events *r, const char *type, const char *path, char *err,
                              size_t errlen)
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
static int site_load_page_views(struct site_events *r, const cJSON *list, const char *path,
                                char *err, size_t errlen)
{
    const cJSON *t;

    if (list == NULL) {
        return site_add_page_view(r, SITE_PAGE_VIEW, path, err, errlen);
    }
    if (!cJSON_IsArray(list) || cJSON_GetArraySize(list) > SITE_EVENTS_TYPES_MAX) {
        errbuf_printf(err, errlen, "%s: \"page_views\" must be an array of at most %d event types",
                      path, SITE_EVENTS_TYPES_MAX);
        return -1;
    }
    cJSON_ArrayForEach(t, list)
    {
        if (!cJSON_IsString(t) || t->valuestring[0] == '\0') {
            errbuf_printf(err, errlen, "%s: page_views[%zu]: not a non-empty string", path,
                          r->npage_views);
            return -1;
        }
        if (site_events_is_page_view(r, t->valuestring)) {
            errbuf_printf(err, errlen, "%s: page_views[%zu]: \"%s\" is listed twice", path,
                          r->npage_views, t->valuestring);
            return -1;
        }
        if (site_add_page_view(r, t->valuestring, path, err, errlen) != 0) {
            return -1;
        }
    }
    return 0;
}

/* Appends the conversion of type (value_property NULL: none). */
static int site_add_conversion(struct site_events *r, const char *type, const char *prop,
                               const char *where, char *err, size_t errlen)
{
    struct site_conversion *c = &r->conversions[r->nconversions];

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
static int site_load_conversion(struct site_events *r, const cJSON *item, const char *where,
                                char *err, size_t errlen)
{
    static const char *const keys[] = {"event_type", "value_property"};
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(item, "event_type");
    const cJSON *prop = cJSON_GetObjectItemCaseSensitive(item, "value_property");

    if (!cJSON_IsObject(item)) {
        errbuf_printf(err, errlen, "%s: not an object", where);
        return -1;
    }
    if (fileio_check_keys(item, keys, sizeof(keys) / sizeof(keys[0]), where, err, errlen) != 0) {
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
    if (site_events_conversion(r, type->valuestring) != NULL) {
        errbuf_printf(err, errlen, "%s: event type \"%s\" is listed twice", where,
                      type->valuestring);
        return -1;
    }
    return site_add_conversion(r, type->valuestring, prop != NULL ? prop->valuestring : NULL, where,
                               err, errlen);
}

/* "conversions": an array of conversions; booking_completed (value in
 * "value") when absent. */
static int site_load_conversions(struct site_events *r, const cJSON *list, const char *path,
                                 char *err, size_t errlen)
{
    const cJSON *item;
    char where[512];

    if (list == NULL) {
        return site_add_conversion(r, SITE_DEFAULT_CONVERSION, SITE_DEFAULT_VALUE_PROPERTY, path,
                                   err, errlen);
    }
    if (!cJSON_IsArray(list) || cJSON_GetArraySize(list) > SITE_EVENTS_TYPES_MAX) {
        errbuf_printf(err, errlen, "%s: \"conversions\" must be an array of at most %d objects",
                      path, SITE_EVENTS_TYPES_MAX);
        return -1;
    }
    cJSON_ArrayForEach(item, list)
    {
        snprintf(where, sizeof(where), "%s: conversions[%zu]", path, r->nconversions);
        if (site_load_conversion(r, item, where, err, errlen) != 0) {
            return -1;
        }
    }
    return 0;
}

int site_events_load(struct site_events *r, const struct cJSON *root, const char *path, char *err,
                     size_t errlen)
{
    memset(r, 0, sizeof(*r));
    if (site_load_page_views(r, cJSON_GetObjectItemCaseSensitive(root, "page_views"), path, err,
                             errlen) != 0 ||
        site_load_conversions(r, cJSON_GetObjectItemCaseSensitive(root, "conversions"), path, err,
                              errlen) != 0) {
        site_events_fini(r);
        return -1;
    }
    return 0;
}

void site_events_fini(struct site_events *r)
{
    for (size_t i = 0; i < r->npage_views; i++) {
        free(r->page_views[i]);
    }
    for (size_t i = 0; i < r->nconversions; i++) {
        free(r->conversions[i].event_type);
        free(r->conversions[i].value_property);
    }
    memset(r, 0, sizeof(*r));
}

/* True when s is a plain decimal number: digits, sign, point and exponent
 * only (no hex, inf, nan or spaces, which strtod would take). */
static bool site_decimal(const char *s)
{
    return s[0] != '\0' && strspn(s, "0123456789+-.eE") == strlen(s);
}

int site_value_micros(const char *json, const char *prop, long long *micros)
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
    if (v != NULL && cJSON_IsNumber(v)) {
        x = v->valuedouble;
    } else if (v != NULL && cJSON_IsString(v) && site_decimal(v->valuestring)) {
        x = strtod(v->valuestring, &end);
        x = *end == '\0' ? x : NAN;
    }
    cJSON_Delete(root);
    if (!(fabs(x) <= SITE_VALUE_MAX)) { /* NaN too */
        return -1;
    }
    *micros = llround(x * SITE_MICROS);
    return 0;
}
