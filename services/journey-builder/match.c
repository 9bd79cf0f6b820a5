#include "match.h"

#include "analytics/errbuf.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#define MATCH_EVENT_TYPE 0 /* the index of event_type among the fields */

static const char *const match_field_names[MATCH_FIELDS] = {"event_type", "page_type", "channel"};

/* Appends a copy of s to field f of m. Returns 0 or -1. */
static int match_add(struct match *m, int f, const char *s)
{
    char **v = realloc(m->values[f], (m->n[f] + 1) * sizeof(*v));

    if (v == NULL) {
        return -1;
    }
    m->values[f] = v;
    v[m->n[f]] = strdup(s);
    if (v[m->n[f]] == NULL) {
        return -1;
    }
    m->n[f]++;
    return 0;
}

/* What match_field returns. */
enum match_field_rc {
    MATCH_FIELD_OK = 0,
    MATCH_FIELD_BAD = -1,   /* not a string or array of strings: err says why */
    MATCH_FIELD_NOMEM = -2, /* out of memory */
};

/* Reads field f (a string or an array of strings) from item. Returns an
 * enum match_field_rc. */
static int match_field(const cJSON *item, const char *where, int f, struct match *m, char *err,
                       size_t errlen)
{
    const cJSON *e;

    if (cJSON_IsString(item) && item->valuestring[0] != '\0') {
        return match_add(m, f, item->valuestring) == 0 ? MATCH_FIELD_OK : MATCH_FIELD_NOMEM;
    }
    if (!cJSON_IsArray(item) || cJSON_GetArraySize(item) == 0) {
        errbuf_printf(err, errlen, "%s: \"%s\" must be a string or a non-empty array of strings",
                      where, match_field_names[f]);
        return MATCH_FIELD_BAD;
    }
    cJSON_ArrayForEach(e, item)
    {
        if (!cJSON_IsString(e) || e->valuestring[0] == '\0') {
            errbuf_printf(err, errlen, "%s: \"%s\" holds something other than a non-empty string",
                          where, match_field_names[f]);
            return MATCH_FIELD_BAD;
        }
        if (match_add(m, f, e->valuestring) != 0) {
            return MATCH_FIELD_NOMEM;
        }
    }
    return MATCH_FIELD_OK;
}

int match_parse(const struct cJSON *obj, const char *where, struct match *m, char *err,
                size_t errlen)
{
    memset(m, 0, sizeof(*m));
    for (int f = 0; f < MATCH_FIELDS; f++) {
        const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, match_field_names[f]);
        if (item == NULL) {
            continue;
        }
        int rc = match_field(item, where, f, m, err, errlen);
        if (rc == MATCH_FIELD_NOMEM) {
            errbuf_printf(err, errlen, "%s: out of memory", where);
        }
        if (rc != 0) {
            return -1;
        }
    }
    return 0;
}

/* True when v is one of the n values (or there are none). */
static bool match_one(char *const *values, size_t n, const char *v)
{
    if (n == 0) {
        return true;
    }
    for (size_t i = 0; i < n; i++) {
        if (strcmp(values[i], v != NULL ? v : "") == 0) {
            return true;
        }
    }
    return false;
}

bool match_test(const struct match *m, const struct match_event *ev)
{
    const char *fields[MATCH_FIELDS] = {ev->event_type, ev->page_type, ev->channel};

    for (int f = 0; f < MATCH_FIELDS; f++) {
        if (match_one(m->values[f], m->n[f], fields[f])) {
            continue;
        }
        /* "page_view" stands for any of the site's page-view types */
        if (f != MATCH_EVENT_TYPE || !ev->page_view ||
            !match_one(m->values[f], m->n[f], MATCH_PAGE_VIEW)) {
            return false;
        }
    }
    return true;
}

bool match_is_any(const struct match *m)
{
    for (int f = 0; f < MATCH_FIELDS; f++) {
        if (m->n[f] > 0) {
            return false;
        }
    }
    return true;
}

void match_fini(struct match *m)
{
    for (int f = 0; f < MATCH_FIELDS; f++) {
        for (size_t i = 0; i < m->n[f]; i++) {
            free(m->values[f][i]);
        }
        free(m->values[f]);
        m->values[f] = NULL;
        m->n[f] = 0;
    }
}
