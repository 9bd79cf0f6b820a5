#include "profile_codec.h"

#include "analytics/errbuf.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The integer fields, by name (one X per field; clang-format does not
 * settle on these lists, so it is kept off them). */
// clang-format off
#define INT_FIELDS(X)                                                                              \
    X(sessions) X(events) X(page_views) X(pricing_views) X(bookings_started)                       \
    X(bookings_completed) X(forms_started) X(rage_clicks) X(exit_intents) X(deepest_scroll)        \
    X(first_channel) X(first_device) X(visit_days) X(booking_days)
#define LL_FIELDS(X)                                                                               \
    X(first_seen_ms) X(last_seen_ms) X(seconds) X(first_visit_day) X(last_visit_day)               \
    X(first_booking_day) X(last_booking_day) X(bots) X(warned_seen_ms)
#define CUR_LL_FIELDS(X) X(start_ms) X(last_ms) X(local_day) X(view_ms)
#define CUR_INT_FIELDS(X) X(view_cat) X(view_type) X(page_views)
// clang-format on

/* A 64-bit hash as a decimal string: JSON numbers are doubles. */
static cJSON *hash_item(uint64_t h)
{
    char buf[24];

    snprintf(buf, sizeof(buf), "%" PRIu64, h);
    return cJSON_CreateString(buf);
}

static bool add_num(cJSON *o, const char *k, double v)
{
    return cJSON_AddItemToObject(o, k, cJSON_CreateNumber(v));
}

static cJSON *encode_session(const struct profile_session *s)
{
    cJSON *o = cJSON_CreateObject(), *pages = cJSON_CreateArray();
    bool ok = o != NULL && pages != NULL && cJSON_AddStringToObject(o, "id", s->id) != NULL;

#define X(f) ok = ok && add_num(o, #f, (double)s->f);
    CUR_LL_FIELDS(X)
    CUR_INT_FIELDS(X)
#undef X
    ok = ok && cJSON_AddItemToObject(o, "views", cJSON_CreateIntArray(s->views, PAGE_CAT_COUNT));
    cJSON *ms = ok ? cJSON_AddArrayToObject(o, "ms") : NULL;
    for (int c = 0; c < PAGE_CAT_COUNT; c++) {
        ok = ok && cJSON_AddItemToArray(ms, cJSON_CreateNumber((double)s->ms[c]));
    }
    for (int i = 0; ok && i < s->npages; i++) {
        cJSON *pg = cJSON_CreateArray();
        ok = pg != NULL && cJSON_AddItemToArray(pages, pg) &&
             cJSON_AddItemToArray(pg, hash_item(s->pages[i].hash)) &&
             cJSON_AddItemToArray(pg, cJSON_CreateNumber(s->pages[i].views)) &&
             cJSON_AddItemToArray(pg, cJSON_CreateNumber((double)s->pages[i].value_micros));
    }
    ok = ok && cJSON_AddItemToObject(o, "pages", pages);
    pages = NULL;
    ok = ok && cJSON_AddItemToObject(o, "exit", hash_item(s->exit_page)) &&
         add_num(o, "revenue", (double)s->revenue_micros) &&
         cJSON_AddBoolToObject(o, "closed", s->closed);
    cJSON_Delete(pages);
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static cJSON *encode_explained(const struct profile_explained *x)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *reasons = o != NULL ? cJSON_AddArrayToObject(o, "reasons") : NULL;
    bool ok = reasons != NULL && add_num(o, "score", x->score) && add_num(o, "persona", x->persona);

    for (int i = 0; ok && i < x->nreasons; i++) {
        ok = cJSON_AddItemToArray(reasons, cJSON_CreateString(x->reasons[i]));
    }
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

char *prof_encode(const struct profile *p)
{
    cJSON *o = cJSON_CreateObject(), *types = cJSON_CreateArray();
    bool ok = o != NULL && types != NULL && add_num(o, "v", PROFILE_CODEC_VERSION) &&
              cJSON_AddStringToObject(o, "fp", p->fingerprint) != NULL &&
              cJSON_AddStringToObject(o, "user_id", p->user_id) != NULL &&
              cJSON_AddStringToObject(o, "stage", p->stage) != NULL;
    char *text = NULL;

#define X(f) ok = ok && add_num(o, #f, (double)p->f);
    INT_FIELDS(X)
    LL_FIELDS(X)
#undef X
    for (int i = 0; ok && i < p->ntypes; i++) {
        cJSON *t = cJSON_CreateArray();
        ok = t != NULL && cJSON_AddItemToArray(types, t) &&
             cJSON_AddItemToArray(t, cJSON_CreateString(p->types[i].type)) &&
             cJSON_AddItemToArray(t, cJSON_CreateNumber(p->types[i].views)) &&
             cJSON_AddItemToArray(t, cJSON_CreateNumber((double)p->types[i].seconds));
    }
    ok = ok && cJSON_AddItemToObject(o, "types", types);
    types = NULL;
    ok = ok && cJSON_AddItemToObject(o, "cur", encode_session(&p->cur));
    ok = ok && cJSON_AddItemToObject(o, "explained", encode_explained(&p->explained));
    if (ok) {
        text = cJSON_PrintUnformatted(o);
    }
    cJSON_Delete(types);
    cJSON_Delete(o);
    return text;
}

/* ---- decoding ---- */

struct dec {
    char *err;
    size_t errlen;
    bool bad;
};

static void dec_fail(struct dec *d, const char *what)
{
    if (!d->bad) {
        errbuf_printf(d->err, d->errlen, "profile state: %s", what);
    }
    d->bad = true;
}

/* A whole number field within [lo, hi]. */
static long long dec_int(struct dec *d, const cJSON *o, const char *k, long long lo, long long hi)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) ||
        v->valuedouble < (double)lo || v->valuedouble > (double)hi) {
        dec_fail(d, k);
        return 0;
    }
    return (long long)v->valuedouble;
}

static void dec_str(struct dec *d, const cJSON *o, const char *k, char *out, size_t cap)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

    if (!cJSON_IsString(v) || strlen(v->valuestring) >= cap) {
        dec_fail(d, k);
        out[0] = '\0';
        return;
    }
    memcpy(out, v->valuestring, strlen(v->valuestring) + 1);
}

static uint64_t dec_hash(struct dec *d, const cJSON *v, const char *what)
{
    char *end = NULL;
    unsigned long long h = 0;

    if (cJSON_IsString(v) && v->valuestring[0] >= '0' && v->valuestring[0] <= '9') {
        h = strtoull(v->valuestring, &end, 10);
    }
    if (end == NULL || *end != '\0') {
        dec_fail(d, what);
    }
    return (uint64_t)h;
}

#define LL_MAX_JSON 9007199254740992LL /* 2^53: what a double holds exactly */

/* A whole number within what a double holds exactly. */
static long long dec_whole(struct dec *d, const cJSON *v, const char *what)
{
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) ||
        fabs(v->valuedouble) > (double)LL_MAX_JSON) {
        dec_fail(d, what);
        return 0;
    }
    return (long long)v->valuedouble;
}

static void dec_pages(struct dec *d, const cJSON *list, struct profile_session *s)
{
    const cJSON *pg;

    if (!cJSON_IsArray(list) || cJSON_GetArraySize(list) > PROFILE_PAGES_MAX) {
        dec_fail(d, "cur.pages");
        return;
    }
    cJSON_ArrayForEach(pg, list)
    {
        struct profile_page *out = &s->pages[s->npages++];
        const cJSON *views = cJSON_GetArrayItem(pg, 1);
        if (!cJSON_IsArray(pg) || cJSON_GetArraySize(pg) != 3 || !cJSON_IsNumber(views)) {
            dec_fail(d, "cur.pages");
            return;
        }
        out->hash = dec_hash(d, cJSON_GetArrayItem(pg, 0), "cur.pages");
        out->views = (int)views->valuedouble;
        out->value_micros = dec_whole(d, cJSON_GetArrayItem(pg, 2), "cur.pages");
    }
}

static void dec_session(struct dec *d, const cJSON *o, struct profile_session *s)
{
    const cJSON *views = cJSON_GetObjectItemCaseSensitive(o, "views");
    const cJSON *ms = cJSON_GetObjectItemCaseSensitive(o, "ms");
    const cJSON *closed = cJSON_GetObjectItemCaseSensitive(o, "closed");

    if (!cJSON_IsObject(o)) {
        dec_fail(d, "cur");
        return;
    }
    dec_str(d, o, "id", s->id, sizeof(s->id));
#define X(f) s->f = dec_int(d, o, #f, -LL_MAX_JSON, LL_MAX_JSON);
    CUR_LL_FIELDS(X)
#undef X
    s->view_cat = (int)dec_int(d, o, "view_cat", PAGE_CAT_NONE, PAGE_CAT_COUNT - 1);
    s->view_type = (int)dec_int(d, o, "view_type", -1, PROFILE_TYPES_MAX - 1);
    s->page_views = (int)dec_int(d, o, "page_views", 0, INT32_MAX);
    if (cJSON_GetArraySize(views) != PAGE_CAT_COUNT || cJSON_GetArraySize(ms) != PAGE_CAT_COUNT) {
        dec_fail(d, "cur.views");
        return;
    }
    for (int c = 0; c < PAGE_CAT_COUNT; c++) {
        s->views[c] = (int)dec_whole(d, cJSON_GetArrayItem(views, c), "cur.views");
        s->ms[c] = dec_whole(d, cJSON_GetArrayItem(ms, c), "cur.ms");
    }
    dec_pages(d, cJSON_GetObjectItemCaseSensitive(o, "pages"), s);
    s->exit_page = dec_hash(d, cJSON_GetObjectItemCaseSensitive(o, "exit"), "cur.exit");
    s->revenue_micros = dec_whole(d, cJSON_GetObjectItemCaseSensitive(o, "revenue"), "cur.revenue");
    if (!cJSON_IsBool(closed)) {
        dec_fail(d, "cur.closed");
    }
    s->closed = cJSON_IsTrue(closed);
}

static void dec_types(struct dec *d, const cJSON *list, struct profile *p)
{
    const cJSON *t;

    if (!cJSON_IsArray(list) || cJSON_GetArraySize(list) > PROFILE_TYPES_MAX) {
        dec_fail(d, "types");
        return;
    }
    cJSON_ArrayForEach(t, list)
    {
        struct profile_type *out = &p->types[p->ntypes++];
        const cJSON *name = cJSON_GetArrayItem(t, 0);
        if (!cJSON_IsArray(t) || cJSON_GetArraySize(t) != 3 || !cJSON_IsString(name) ||
            strlen(name->valuestring) >= sizeof(out->type)) {
            dec_fail(d, "types");
            return;
        }
        memcpy(out->type, name->valuestring, strlen(name->valuestring) + 1);
        out->views = (int)dec_whole(d, cJSON_GetArrayItem(t, 1), "types");
        out->seconds = dec_whole(d, cJSON_GetArrayItem(t, 2), "types");
    }
}

/* The reasons last given; a state written before they were kept has none
 * (never explained). */
static void dec_explained(struct dec *d, const cJSON *o, struct profile_explained *x)
{
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(o, "reasons"), *r;

    x->score = x->persona = -1;
    if (o == NULL) {
        return;
    }
    if (!cJSON_IsObject(o)) {
        dec_fail(d, "explained");
        return;
    }
    x->score = (int)dec_int(d, o, "score", -1, 100);
    x->persona = (int)dec_int(d, o, "persona", -1, INT32_MAX);
    if (!cJSON_IsArray(list) || cJSON_GetArraySize(list) > PROFILE_REASONS_MAX) {
        dec_fail(d, "explained.reasons");
        return;
    }
    cJSON_ArrayForEach(r, list)
    {
        if (!cJSON_IsString(r) || strlen(r->valuestring) >= PROFILE_REASON_MAX) {
            dec_fail(d, "explained.reasons");
            return;
        }
        memcpy(x->reasons[x->nreasons++], r->valuestring, strlen(r->valuestring) + 1);
    }
}

int prof_decode(const char *json, struct profile *p, char *err, size_t errlen)
{
    struct dec d = {err, errlen, false};
    cJSON *o = json != NULL ? cJSON_Parse(json) : NULL;
    long long v = 0;

    memset(p, 0, sizeof(*p));
    if (!cJSON_IsObject(o)) {
        dec_fail(&d, "not a JSON object");
    } else if ((v = dec_int(&d, o, "v", 0, 1000)) != PROFILE_CODEC_VERSION && v != 1 && !d.bad) {
        dec_fail(&d, "another version");
    } else if (!d.bad) {
        if (v == 1) { /* before the churn warning's mark: none sent */
            cJSON_AddNumberToObject(o, "warned_seen_ms", 0);
        }
        dec_str(&d, o, "fp", p->fingerprint, sizeof(p->fingerprint));
        dec_str(&d, o, "user_id", p->user_id, sizeof(p->user_id));
        dec_str(&d, o, "stage", p->stage, sizeof(p->stage));
#define X(f) p->f = (int)dec_int(&d, o, #f, -1, INT32_MAX);
        INT_FIELDS(X)
#undef X
#define X(f) p->f = dec_int(&d, o, #f, -LL_MAX_JSON, LL_MAX_JSON);
        LL_FIELDS(X)
#undef X
        dec_types(&d, cJSON_GetObjectItemCaseSensitive(o, "types"), p);
        dec_session(&d, cJSON_GetObjectItemCaseSensitive(o, "cur"), &p->cur);
        dec_explained(&d, cJSON_GetObjectItemCaseSensitive(o, "explained"), &p->explained);
    }
    cJSON_Delete(o);
    return d.bad ? -1 : 0;
}
