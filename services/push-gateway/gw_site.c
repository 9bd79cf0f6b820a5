#include "gw_site.h"

#include "analytics/fileio.h"
#include "analytics/log.h"
#include "analytics/site_events.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GW_SITE_FILE_MAX ((size_t)1 << 20)

/* A PostgreSQL array literal of the n strings of v, each quoted with '"'
 * and '\\' escaped. Returns a new string (caller frees) or NULL. */
static char *gw_site_array(char *const *v, size_t n)
{
    size_t len = 3;
    char *out, *p;

    for (size_t i = 0; i < n; i++) {
        len += 2 * strlen(v[i]) + 3;
    }
    if ((out = malloc(len)) == NULL) {
        return NULL;
    }
    p = out;
    *p++ = '{';
    for (size_t i = 0; i < n; i++) {
        if (i > 0) {
            *p++ = ',';
        }
        *p++ = '"';
        for (const char *c = v[i]; *c != '\0'; c++) {
            if (*c == '"' || *c == '\\') {
                *p++ = '\\';
            }
            *p++ = *c;
        }
        *p++ = '"';
    }
    *p++ = '}';
    *p = '\0';
    return out;
}

/* The event types of the journeys file into s. Returns 0 or -1 (err). */
static int gw_site_events(struct gw_site *s, const char *path, char *err, size_t errlen)
{
    struct site_events ev = {0};
    char *conv[SITE_EVENTS_TYPES_MAX];
    cJSON *root = fileio_read_json(path, GW_SITE_FILE_MAX, FILEIO_JSON_OBJECT, err, errlen);
    int rc = -1;

    if (root == NULL || site_events_load(&ev, root, path, err, errlen) != 0) {
        goto out;
    }
    for (size_t i = 0; i < ev.nconversions; i++) {
        conv[i] = ev.conversions[i].event_type;
    }
    const cJSON *stages = cJSON_GetObjectItemCaseSensitive(root, "stages");
    const cJSON *last =
        cJSON_IsArray(stages) ? cJSON_GetArrayItem(stages, cJSON_GetArraySize(stages) - 1) : NULL;
    s->conversion_stage =
        strdup(last != NULL && cJSON_IsString(last) ? last->valuestring : "conversion");
    s->page_views = gw_site_array(ev.page_views, ev.npage_views);
    s->conversions = gw_site_array(conv, ev.nconversions);
    if (s->page_views == NULL || s->conversions == NULL || s->conversion_stage == NULL) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    rc = 0;
out:
    site_events_fini(&ev);
    cJSON_Delete(root);
    return rc;
}

/* The personas of the model at path as JSON text into s. Returns 0 or -1
 * (err). */
static int gw_site_personas(struct gw_site *s, const char *path, char *err, size_t errlen)
{
    cJSON *root = fileio_read_json(path, GW_SITE_FILE_MAX, FILEIO_JSON_OBJECT, err, errlen);
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, "personas");
    const cJSON *version = cJSON_GetObjectItemCaseSensitive(root, "model_version");
    const cJSON *p;
    cJSON *out = cJSON_CreateArray();
    int rc = -1;

    if (root == NULL) {
        goto out;
    }
    if (!cJSON_IsArray(list)) {
        snprintf(err, errlen, "%s: no \"personas\" list", path);
        goto out;
    }
    cJSON_ArrayForEach(p, list)
    {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(p, "name");
        const cJSON *desc = cJSON_GetObjectItemCaseSensitive(p, "description");
        const cJSON *share = cJSON_GetObjectItemCaseSensitive(p, "share");
        cJSON *o = cJSON_CreateObject();
        if (!cJSON_IsString(name) || name->valuestring[0] == '\0') {
            snprintf(err, errlen, "%s: a persona without a name", path);
            cJSON_Delete(o);
            goto out;
        }
        cJSON_AddItemToArray(out, o);
        cJSON_AddStringToObject(o, "name", name->valuestring);
        if (cJSON_IsString(desc)) {
            cJSON_AddStringToObject(o, "description", desc->valuestring);
        } else {
            cJSON_AddNullToObject(o, "description");
        }
        if (cJSON_IsNumber(share)) {
            cJSON_AddNumberToObject(o, "share", share->valuedouble);
        } else {
            cJSON_AddNullToObject(o, "share");
        }
    }
    s->personas = cJSON_PrintUnformatted(out);
    if (cJSON_IsString(version)) {
        s->persona_model_version = strdup(version->valuestring);
    }
    rc = s->personas != NULL ? 0 : -1;
    if (rc != 0) {
        snprintf(err, errlen, "out of memory");
    }
out:
    cJSON_Delete(out);
    cJSON_Delete(root);
    return rc;
}

int gw_site_load(struct gw_site *s, const char *journeys_path, const char *persona_path, char *err,
                 size_t errlen)
{
    char why[512];

    memset(s, 0, sizeof(*s));
    if (journeys_path == NULL || gw_site_events(s, journeys_path, err, errlen) != 0) {
        if (journeys_path == NULL) {
            snprintf(err, errlen, "no journeys file");
        }
        gw_site_fini(s);
        return -1;
    }
    if (persona_path != NULL && persona_path[0] != '\0' &&
        gw_site_personas(s, persona_path, why, sizeof(why)) != 0) {
        log_warn("gateway.personas_unavailable", LOG_STR("error", why));
        free(s->personas);
        s->personas = NULL;
    }
    if (s->personas == NULL && (s->personas = strdup("[]")) == NULL) {
        snprintf(err, errlen, "out of memory");
        gw_site_fini(s);
        return -1;
    }
    return 0;
}

void gw_site_fini(struct gw_site *s)
{
    free(s->page_views);
    free(s->conversions);
    free(s->personas);
    free(s->persona_model_version);
    free(s->conversion_stage);
    memset(s, 0, sizeof(*s));
}
