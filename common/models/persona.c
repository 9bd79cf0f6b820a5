#include "analytics/persona.h"

#include "analytics/errbuf.h"
#include "analytics/fileio.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PERSONA_FILE_MAX ((size_t)1 << 20)

const char *const persona_feature_names[PERSONA_F_COUNT] = {
    [PERSONA_F_SESSIONS] = "sessions",
    [PERSONA_F_PAGES_PER_SESSION] = "pages_per_session",
    [PERSONA_F_SECONDS_PER_SESSION] = "seconds_per_session",
    [PERSONA_F_PRICING_VIEWS] = "pricing_views",
    [PERSONA_F_BOOKINGS_STARTED] = "bookings_started",
    [PERSONA_F_BOOKINGS_COMPLETED] = "bookings_completed",
    [PERSONA_F_FORMS_STARTED] = "forms_started",
    [PERSONA_F_RAGE_CLICKS] = "rage_clicks",
    [PERSONA_F_EXIT_INTENTS] = "exit_intents",
    [PERSONA_F_DEEPEST_SCROLL] = "deepest_scroll",
    [PERSONA_F_ACTIVE_DAYS] = "active_days",
};

/* How a feature reads in a description. */
static const char *const feature_words[PERSONA_F_COUNT] = {
    [PERSONA_F_SESSIONS] = "sessions",
    [PERSONA_F_PAGES_PER_SESSION] = "pages a session",
    [PERSONA_F_SECONDS_PER_SESSION] = "seconds a session",
    [PERSONA_F_PRICING_VIEWS] = "pricing views",
    [PERSONA_F_BOOKINGS_STARTED] = "bookings started",
    [PERSONA_F_BOOKINGS_COMPLETED] = "bookings completed",
    [PERSONA_F_FORMS_STARTED] = "forms started",
    [PERSONA_F_RAGE_CLICKS] = "rage clicks",
    [PERSONA_F_EXIT_INTENTS] = "exit intents",
    [PERSONA_F_DEEPEST_SCROLL] = "% deepest scroll",
    [PERSONA_F_ACTIVE_DAYS] = "days active",
};

static double nonneg(double v)
{
    return isfinite(v) && v > 0 ? v : 0;
}

void persona_features(const struct persona_input *in, double out[PERSONA_F_COUNT])
{
    double sessions = in->sessions >= 1 ? in->sessions : 1;

    out[PERSONA_F_SESSIONS] = log1p(nonneg(in->sessions));
    out[PERSONA_F_PAGES_PER_SESSION] = log1p(nonneg(in->page_views) / sessions);
    out[PERSONA_F_SECONDS_PER_SESSION] = log1p(nonneg(in->seconds) / sessions);
    out[PERSONA_F_PRICING_VIEWS] = log1p(nonneg(in->pricing_views));
    out[PERSONA_F_BOOKINGS_STARTED] = log1p(nonneg(in->bookings_started));
    out[PERSONA_F_BOOKINGS_COMPLETED] = log1p(nonneg(in->bookings_completed));
    out[PERSONA_F_FORMS_STARTED] = log1p(nonneg(in->forms_started));
    out[PERSONA_F_RAGE_CLICKS] = log1p(nonneg(in->rage_clicks));
    out[PERSONA_F_EXIT_INTENTS] = log1p(nonneg(in->exit_intents));
    out[PERSONA_F_DEEPEST_SCROLL] = fmin(nonneg(in->deepest_scroll), 100.0) / 100.0;
    out[PERSONA_F_ACTIVE_DAYS] = log1p(nonneg(in->active_days));
}

/* A feature's value back in its own unit. */
static double feature_raw(int f, double v)
{
    return f == PERSONA_F_DEEPEST_SCROLL ? v * 100.0 : expm1(v);
}

void persona_standardise(const struct persona_model *m, const double *x, double *z)
{
    for (int f = 0; f < PERSONA_F_COUNT; f++) {
        z[f] = m->sd[f] > 0 ? (x[f] - m->mean[f]) / m->sd[f] : 0.0;
    }
}

int persona_assign(const struct persona_model *m, const double x[PERSONA_F_COUNT])
{
    double z[PERSONA_F_COUNT];

    persona_standardise(m, x, z);
    return kmeans_nearest(&m->centroids[0][0], m->k, PERSONA_F_COUNT, z);
}

/* ---- names ---- */

/* One naming rule: holds when its test does on the centroid's z-scores. */
struct persona_rule {
    const char *name;
    bool (*holds)(const double *z);
};

static bool r_loyal_booker(const double *z)
{
    return z[PERSONA_F_BOOKINGS_COMPLETED] > 1.0 && z[PERSONA_F_SESSIONS] > 0.8;
}
static bool r_booker(const double *z)
{
    return z[PERSONA_F_BOOKINGS_COMPLETED] > 1.0;
}
static bool r_abandoner(const double *z)
{
    return z[PERSONA_F_BOOKINGS_STARTED] > 0.8 && z[PERSONA_F_BOOKINGS_COMPLETED] < 0.3;
}
static bool r_price(const double *z)
{
    return z[PERSONA_F_PRICING_VIEWS] > 0.8 && z[PERSONA_F_BOOKINGS_COMPLETED] < 0.5;
}
static bool r_frustrated(const double *z)
{
    return z[PERSONA_F_RAGE_CLICKS] > 1.0;
}
static bool r_leaving(const double *z)
{
    return z[PERSONA_F_EXIT_INTENTS] > 1.0;
}
static bool r_form(const double *z)
{
    return z[PERSONA_F_FORMS_STARTED] > 1.0;
}
static bool r_returner(const double *z)
{
    return z[PERSONA_F_SESSIONS] > 1.0 || z[PERSONA_F_ACTIVE_DAYS] > 1.0;
}
static bool r_bouncer(const double *z)
{
    return z[PERSONA_F_PAGES_PER_SESSION] < -0.7 && z[PERSONA_F_SECONDS_PER_SESSION] < -0.3;
}
static bool r_reader(const double *z)
{
    return z[PERSONA_F_DEEPEST_SCROLL] > 0.8 && z[PERSONA_F_SECONDS_PER_SESSION] > 0.3;
}
static bool r_researcher(const double *z)
{
    return z[PERSONA_F_SECONDS_PER_SESSION] > 0.8;
}
static bool r_browser(const double *z)
{
    return z[PERSONA_F_PAGES_PER_SESSION] > 0.8;
}
static bool r_skimmer(const double *z)
{
    return z[PERSONA_F_DEEPEST_SCROLL] < -0.7;
}
static bool r_any(const double *z)
{
    (void)z;
    return true;
}

static const struct persona_rule persona_rules[] = {
    {"loyal booker", r_loyal_booker},
    {"high-intent booker", r_booker},
    {"booking abandoner", r_abandoner},
    {"price comparer", r_price},
    {"frustrated visitor", r_frustrated},
    {"on the way out", r_leaving},
    {"form starter", r_form},
    {"loyal returner", r_returner},
    {"one-page bouncer", r_bouncer},
    {"deep reader", r_reader},
    {"patient researcher", r_researcher},
    {"wide browser", r_browser},
    {"quick skimmer", r_skimmer},
    {"casual browser", r_any},
};

static bool name_taken(const struct persona_model *m, int upto, const char *name)
{
    for (int c = 0; c < upto; c++) {
        if (strcmp(m->names[c], name) == 0) {
            return true;
        }
    }
    return false;
}

/* The features ordered by |z|, strongest first, into order. */
static void strongest(const double *z, int order[PERSONA_F_COUNT])
{
    for (int f = 0; f < PERSONA_F_COUNT; f++) {
        order[f] = f;
    }
    for (int i = 1; i < PERSONA_F_COUNT; i++) {
        for (int j = i; j > 0 && fabs(z[order[j]]) > fabs(z[order[j - 1]]); j--) {
            int t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    }
}

static void describe(struct persona_model *m, int c)
{
    const double *z = m->centroids[c];
    int order[PERSONA_F_COUNT];
    char *out = m->descriptions[c];
    size_t len = 0;

    strongest(z, order);
    len += (size_t)snprintf(out, PERSONA_DESC_MAX, "%.0f%% of visitors:", m->share[c] * 100.0);
    for (int i = 0; i < 3 && len < PERSONA_DESC_MAX; i++) {
        int f = order[i];
        double v = fmax(feature_raw(f, m->mean[f] + z[f] * m->sd[f]), 0.0);
        double avg = fmax(feature_raw(f, m->mean[f]), 0.0);
        if (f == PERSONA_F_DEEPEST_SCROLL) {
            len += (size_t)snprintf(out + len, PERSONA_DESC_MAX - len, "%s %.0f%s (average %.0f%%)",
                                    i > 0 ? "," : "", v, feature_words[f], avg);
        } else {
            len += (size_t)snprintf(out + len, PERSONA_DESC_MAX - len, "%s %.1f %s (average %.1f)",
                                    i > 0 ? "," : "", v, feature_words[f], avg);
        }
    }
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;

    for (size_t i = 0; i < n; i++) {
        h = (h ^ b[i]) * 0x100000001b3ULL;
    }
    return h;
}

void persona_name_all(struct persona_model *m)
{
    uint64_t h = 0xcbf29ce484222325ULL;

    for (int c = 0; c < m->k; c++) {
        const char *name = NULL;
        for (size_t r = 0; r < sizeof(persona_rules) / sizeof(persona_rules[0]); r++) {
            if (persona_rules[r].holds(m->centroids[c]) &&
                !name_taken(m, c, persona_rules[r].name)) {
                name = persona_rules[r].name;
                break;
            }
        }
        if (name != NULL) {
            snprintf(m->names[c], PERSONA_NAME_MAX, "%s", name);
        } else {
            for (int n = 2; n < 100; n++) { /* every rule taken: number the last */
                snprintf(m->names[c], PERSONA_NAME_MAX, "casual browser %d", n);
                if (!name_taken(m, c, m->names[c])) {
                    break;
                }
            }
        }
        describe(m, c);
        h = fnv(h, m->centroids[c], sizeof(m->centroids[c]));
    }
    snprintf(m->version, sizeof(m->version), "personas-%012" PRIx64, h >> 16);
}

/* ---- files ---- */

static cJSON *doubles(const double *v, int n)
{
    return cJSON_CreateDoubleArray(v, n);
}

int persona_model_save(const struct persona_model *m, const char *path, char *err, size_t errlen)
{
    cJSON *o = cJSON_CreateObject(), *list = cJSON_CreateArray();
    char *text = NULL;
    int rc = -1;

    if (o == NULL || list == NULL) {
        goto out;
    }
    cJSON_AddStringToObject(o, "format", "personas/1");
    cJSON_AddStringToObject(o, "model_version", m->version);
    cJSON *names = cJSON_AddArrayToObject(o, "features");
    for (int f2 = 0; f2 < PERSONA_F_COUNT; f2++) {
        cJSON_AddItemToArray(names, cJSON_CreateString(persona_feature_names[f2]));
    }
    cJSON_AddItemToObject(o, "mean", doubles(m->mean, PERSONA_F_COUNT));
    cJSON_AddItemToObject(o, "sd", doubles(m->sd, PERSONA_F_COUNT));
    cJSON_AddNumberToObject(o, "silhouette", m->silhouette);
    if (isfinite(m->stability_ari)) {
        cJSON_AddNumberToObject(o, "stability_ari", m->stability_ari);
    }
    cJSON_AddNumberToObject(o, "profiles", (double)m->profiles);
    for (int c = 0; c < m->k; c++) {
        cJSON *p = cJSON_CreateObject();
        cJSON_AddItemToArray(list, p);
        cJSON_AddStringToObject(p, "name", m->names[c]);
        cJSON_AddStringToObject(p, "description", m->descriptions[c]);
        cJSON_AddNumberToObject(p, "share", m->share[c]);
        cJSON_AddItemToObject(p, "centroid", doubles(m->centroids[c], PERSONA_F_COUNT));
    }
    cJSON_AddItemToObject(o, "personas", list);
    list = NULL;
    text = cJSON_Print(o);
    if (text == NULL) {
        goto out;
    }
    if (fileio_write_atomic(path, text, strlen(text), true, err, errlen) != 0) {
        goto out_text;
    }
    rc = 0;
out:
    if (rc != 0 && err != NULL && err[0] == '\0') {
        errbuf_printf(err, errlen, "%s: out of memory", path);
    }
out_text:
    free(text);
    cJSON_Delete(list);
    cJSON_Delete(o);
    return rc;
}

/* Reads n finite numbers from the array item into out. */
static int read_doubles(const cJSON *item, double *out, int n)
{
    if (!cJSON_IsArray(item) || cJSON_GetArraySize(item) != n) {
        return -1;
    }
    for (int i = 0; i < n; i++) {
        const cJSON *v = cJSON_GetArrayItem(item, i);
        if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) {
            return -1;
        }
        out[i] = v->valuedouble;
    }
    return 0;
}

static int load_persona(struct persona_model *m, const cJSON *p, int c, const char *path, char *err,
                        size_t errlen)
{
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(p, "name");
    const cJSON *desc = cJSON_GetObjectItemCaseSensitive(p, "description");
    const cJSON *share = cJSON_GetObjectItemCaseSensitive(p, "share");

    if (!cJSON_IsString(name) || name->valuestring[0] == '\0' ||
        strlen(name->valuestring) >= PERSONA_NAME_MAX || !cJSON_IsString(desc) ||
        strlen(desc->valuestring) >= PERSONA_DESC_MAX || !cJSON_IsNumber(share) ||
        read_doubles(cJSON_GetObjectItemCaseSensitive(p, "centroid"), m->centroids[c],
                     PERSONA_F_COUNT) != 0) {
        errbuf_printf(err, errlen,
                      "%s: personas[%d]: needs a name, a description, a share and a centroid of "
                      "%d numbers",
                      path, c, PERSONA_F_COUNT);
        return -1;
    }
    snprintf(m->names[c], PERSONA_NAME_MAX, "%s", name->valuestring);
    snprintf(m->descriptions[c], PERSONA_DESC_MAX, "%s", desc->valuestring);
    m->share[c] = share->valuedouble;
    return 0;
}

int persona_model_load(struct persona_model *m, const char *path, char *err, size_t errlen)
{
    cJSON *o = fileio_read_json(path, PERSONA_FILE_MAX, FILEIO_JSON_OBJECT, err, errlen);
    const cJSON *format, *features, *list, *version;
    int rc = -1;

    memset(m, 0, sizeof(*m));
    m->stability_ari = NAN;
    if (o == NULL) {
        return -1;
    }
    format = cJSON_GetObjectItemCaseSensitive(o, "format");
    features = cJSON_GetObjectItemCaseSensitive(o, "features");
    list = cJSON_GetObjectItemCaseSensitive(o, "personas");
    version = cJSON_GetObjectItemCaseSensitive(o, "model_version");
    if (!cJSON_IsString(format) || strcmp(format->valuestring, "personas/1") != 0) {
        errbuf_printf(err, errlen, "%s: not a persona model (\"format\" is not \"personas/1\")",
                      path);
        goto out;
    }
    if (!cJSON_IsArray(features) || cJSON_GetArraySize(features) != PERSONA_F_COUNT) {
        errbuf_printf(err, errlen, "%s: \"features\" must list the %d persona features", path,
                      PERSONA_F_COUNT);
        goto out;
    }
    for (int f = 0; f < PERSONA_F_COUNT; f++) {
        const cJSON *n = cJSON_GetArrayItem(features, f);
        if (!cJSON_IsString(n) || strcmp(n->valuestring, persona_feature_names[f]) != 0) {
            errbuf_printf(err, errlen, "%s: features[%d] must be \"%s\"", path, f,
                          persona_feature_names[f]);
            goto out;
        }
    }
    if (read_doubles(cJSON_GetObjectItemCaseSensitive(o, "mean"), m->mean, PERSONA_F_COUNT) != 0 ||
        read_doubles(cJSON_GetObjectItemCaseSensitive(o, "sd"), m->sd, PERSONA_F_COUNT) != 0) {
        errbuf_printf(err, errlen, "%s: \"mean\" and \"sd\" must be %d numbers each", path,
                      PERSONA_F_COUNT);
        goto out;
    }
    if (!cJSON_IsArray(list) || cJSON_GetArraySize(list) < 1 ||
        cJSON_GetArraySize(list) > KMEANS_K_MAX) {
        errbuf_printf(err, errlen, "%s: \"personas\" must list 1 to %d personas", path,
                      KMEANS_K_MAX);
        goto out;
    }
    m->k = cJSON_GetArraySize(list);
    for (int c = 0; c < m->k; c++) {
        if (load_persona(m, cJSON_GetArrayItem(list, c), c, path, err, errlen) != 0) {
            goto out;
        }
    }
    snprintf(m->version, sizeof(m->version), "%s",
             cJSON_IsString(version) ? version->valuestring : "personas");
    const cJSON *sil = cJSON_GetObjectItemCaseSensitive(o, "silhouette");
    const cJSON *ari = cJSON_GetObjectItemCaseSensitive(o, "stability_ari");
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(o, "profiles");
    m->silhouette = cJSON_IsNumber(sil) ? sil->valuedouble : NAN;
    m->stability_ari = cJSON_IsNumber(ari) ? ari->valuedouble : NAN;
    m->profiles = cJSON_IsNumber(n) && n->valuedouble >= 0 ? (size_t)n->valuedouble : 0;
    rc = 0;
out:
    cJSON_Delete(o);
    return rc;
}
