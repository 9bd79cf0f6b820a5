#include "audiences.h"

#include "analytics/errbuf.h"
#include "analytics/fileio.h"
#include "rulefile.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* user_behavior_profiles (deploy/sql/003_scoring.sql, 010_scorer.sql):
 * name, type, whole, nullable, parameter cast. smallint columns compare
 * with integer parameters (one btree family: their indexes still serve). */
const struct pcond_field audiences_fields[AUDIENCES_FIELDS] = {
    {"lead_score", PCOND_NUM, true, false, "integer"},
    {"churn_risk", PCOND_NUM, false, true, "real"},
    {"conversion_probability", PCOND_NUM, false, true, "real"},
    {"p_alive", PCOND_NUM, false, true, "real"},
    {"expected_visits", PCOND_NUM, false, true, "real"},
    {"sessions", PCOND_NUM, true, false, "integer"},
    {"events", PCOND_NUM, true, false, "integer"},
    {"page_views", PCOND_NUM, true, false, "integer"},
    {"total_time_s", PCOND_NUM, true, false, "bigint"},
    {"pricing_views", PCOND_NUM, true, false, "integer"},
    {"bookings_started", PCOND_NUM, true, false, "integer"},
    {"bookings_completed", PCOND_NUM, true, false, "integer"},
    {"forms_started", PCOND_NUM, true, false, "integer"},
    {"rage_clicks", PCOND_NUM, true, false, "integer"},
    {"exit_intents", PCOND_NUM, true, false, "integer"},
    {"deepest_scroll", PCOND_NUM, true, false, "integer"},
    {"visit_days", PCOND_NUM, true, false, "integer"},
    {"bot_events", PCOND_NUM, true, false, "bigint"},
    {"returning_visitor", PCOND_BOOL, false, false, "boolean"},
    {"segment", PCOND_TEXT, false, true, "text"},
    {"journey_stage", PCOND_TEXT, false, true, "text"},
    {"first_channel", PCOND_TEXT, false, true, "text"},
    {"first_device", PCOND_TEXT, false, true, "text"},
    {"first_seen_at", PCOND_TIME, false, false, "timestamptz"},
    {"last_seen_at", PCOND_TIME, false, false, "timestamptz"},
};

struct audience {
    char name[AUDIENCES_NAME_MAX + 1];
    char *description;
    struct pcond *when;
};

struct audiences {
    struct audience *v;
    size_t n;
};

void audiences_free(struct audiences *a)
{
    if (a == NULL) {
        return;
    }
    for (size_t i = 0; i < a->n; i++) {
        free(a->v[i].description);
        pcond_free(a->v[i].when);
    }
    free(a->v);
    free(a);
}

size_t audiences_count(const struct audiences *a)
{
    return a->n;
}

const char *audiences_name(const struct audiences *a, size_t i)
{
    return a->v[i].name;
}

const char *audiences_description(const struct audiences *a, size_t i)
{
    return a->v[i].description;
}

long audiences_find(const struct audiences *a, const char *name)
{
    for (size_t i = 0; name != NULL && i < a->n; i++) {
        if (strcmp(a->v[i].name, name) == 0) {
            return (long)i;
        }
    }
    return -1;
}

int audiences_where(const struct audiences *a, size_t i, long long now_ms, struct pcond_sql *out)
{
    if (i >= a->n) {
        return -1;
    }
    return pcond_sql(a->v[i].when, audiences_fields, now_ms, out);
}

/* Loads audience number i (0-based) from j. */
static int load_one(struct audiences *a, size_t i, const cJSON *j, const char *path, char *err,
                    size_t errlen)
{
    static const char *const keys[] = {"name", "description", "when"};
    struct audience *au = &a->v[i];
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(j, "name");
    const cJSON *desc = cJSON_GetObjectItemCaseSensitive(j, "description");
    struct pcond_sql *probe;
    char where[700], at[720];

    snprintf(where, sizeof(where), "%s: audience %zu", path, i + 1);
    if (!cJSON_IsObject(j)) {
        errbuf_printf(err, errlen, "%s: not an object", where);
        return -1;
    }
    if (!cJSON_IsString(name) || !rulefile_name_ok(name->valuestring, AUDIENCES_NAME_MAX)) {
        errbuf_printf(err, errlen,
                      "%s: \"name\" missing, or not 1..%d of letters, digits, '-', '_' and '.'",
                      where, AUDIENCES_NAME_MAX);
        return -1;
    }
    snprintf(au->name, sizeof(au->name), "%s", name->valuestring);
    snprintf(where, sizeof(where), "%s: audience %zu \"%s\"", path, i + 1, au->name);
    for (size_t k = 0; k < i; k++) {
        if (strcmp(a->v[k].name, au->name) == 0) {
            errbuf_printf(err, errlen, "%s: the name is audience %zu's too", where, k + 1);
            return -1;
        }
    }
    if (!rulefile_utf8(j)) {
        errbuf_printf(err, errlen, "%s: a string is not valid UTF-8", where);
        return -1;
    }
    if (rulefile_keys(j, keys, 3, where, err, errlen) != 0) {
        return -1;
    }
    if (desc != NULL &&
        (!cJSON_IsString(desc) || strlen(desc->valuestring) > AUDIENCES_DESCRIPTION_MAX)) {
        errbuf_printf(err, errlen, "%s: \"description\" is not a string of at most %d bytes", where,
                      AUDIENCES_DESCRIPTION_MAX);
        return -1;
    }
    if ((au->description = strdup(desc != NULL ? desc->valuestring : "")) == NULL) {
        errbuf_printf(err, errlen, "%s: out of memory", where);
        return -1;
    }
    snprintf(at, sizeof(at), "%s: when", where);
    au->when = pcond_parse(cJSON_GetObjectItemCaseSensitive(j, "when"), audiences_fields,
                           AUDIENCES_FIELDS, at, err, errlen);
    if (au->when == NULL) {
        return -1;
    }
    probe = malloc(sizeof(*probe));
    int rc = probe == NULL ? -1 : pcond_sql(au->when, audiences_fields, 0, probe);
    free(probe);
    if (rc != 0) {
        errbuf_printf(err, errlen, "%s: its SQL would pass %d bytes or %d parameters", where,
                      PCOND_SQL_MAX, PCOND_PARAMS_MAX);
        return -1;
    }
    return 0;
}

static int load_doc(struct audiences *a, const cJSON *root, const char *path, char *err,
                    size_t errlen)
{
    static const char *const keys[] = {"version", "comment", "audiences"};
    const cJSON *version = cJSON_GetObjectItemCaseSensitive(root, "version");
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, "audiences");
    const cJSON *item;
    int n;

    if (rulefile_keys(root, keys, 3, path, err, errlen) != 0) {
        return -1;
    }
    if (!cJSON_IsNumber(version) || version->valuedouble != 1) {
        errbuf_printf(err, errlen, "%s: \"version\" must be 1", path);
        return -1;
    }
    n = cJSON_IsArray(list) ? cJSON_GetArraySize(list) : -1;
    if (n < 1 || n > AUDIENCES_MAX) {
        errbuf_printf(err, errlen, "%s: \"audiences\" must be a list of 1..%d audiences%s", path,
                      AUDIENCES_MAX,
                      n == 0  ? " (it is empty)"
                      : n > 0 ? " (it has more)"
                              : "");
        return -1;
    }
    a->v = calloc((size_t)n, sizeof(*a->v));
    if (a->v == NULL) {
        errbuf_printf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    cJSON_ArrayForEach(item, list)
    {
        a->n++; /* counted first: audiences_free frees what a failed one holds */
        if (load_one(a, a->n - 1, item, path, err, errlen) != 0) {
            return -1;
        }
    }
    return 0;
}

static int build_doc(void *a, const cJSON *root, const char *path, char *err, size_t errlen)
{
    return load_doc(a, root, path, err, errlen);
}

static void drop_doc(void *a)
{
    audiences_free(a);
}

struct audiences *audiences_load(const char *path, char *err, size_t errlen)
{
    return fileio_build_doc(rulefile_read(path, AUDIENCES_FILE_MAX, err, errlen),
                            sizeof(struct audiences), build_doc, drop_doc, path, err, errlen);
}
