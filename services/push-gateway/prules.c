#include "prules.h"

#include "analytics/errbuf.h"
#include "analytics/fileio.h"
#include "rulefile.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct pcond_field prules_fields[PRULES_F_COUNT] = {
    [PRULES_F_LEAD_SCORE] = {"lead_score", PCOND_NUM, false, false, NULL},
    [PRULES_F_CONVERSION_PROBABILITY] = {"conversion_probability", PCOND_NUM, false, false, NULL},
    [PRULES_F_CHURN_RISK] = {"churn_risk", PCOND_NUM, false, false, NULL},
    [PRULES_F_SESSIONS] = {"sessions", PCOND_NUM, false, false, NULL},
    [PRULES_F_PAGE_VIEWS] = {"page_views", PCOND_NUM, false, false, NULL},
    [PRULES_F_PRICING_VIEWS] = {"pricing_views", PCOND_NUM, false, false, NULL},
    [PRULES_F_BOOKINGS_STARTED] = {"bookings_started", PCOND_NUM, false, false, NULL},
    [PRULES_F_BOOKINGS_COMPLETED] = {"bookings_completed", PCOND_NUM, false, false, NULL},
    [PRULES_F_RETURNING] = {"returning", PCOND_BOOL, false, false, NULL},
    [PRULES_F_SECONDS_SINCE_LAST_SEEN] = {"seconds_since_last_seen", PCOND_NUM, false, false, NULL},
    [PRULES_F_SECONDS_SINCE_FIRST_SEEN] = {"seconds_since_first_seen", PCOND_NUM, false, false,
                                           NULL},
    [PRULES_F_PERSONA] = {"persona", PCOND_TEXT, false, false, NULL},
    [PRULES_F_STAGE] = {"stage", PCOND_TEXT, false, false, NULL},
    [PRULES_F_FIRST_CHANNEL] = {"first_channel", PCOND_TEXT, false, false, NULL},
    [PRULES_F_FIRST_DEVICE] = {"first_device", PCOND_TEXT, false, false, NULL},
    [PRULES_F_LEAD_BAND] = {"lead_band", PCOND_TEXT, false, false, NULL},
};

/* The hash field each profile field is read from; NULL: derived. */
static const char *const hash_names[PRULES_F_COUNT] = {
    [PRULES_F_LEAD_SCORE] = "lead_score",
    [PRULES_F_CONVERSION_PROBABILITY] = "conversion_probability",
    [PRULES_F_CHURN_RISK] = "churn_risk",
    [PRULES_F_SESSIONS] = "sessions",
    [PRULES_F_PAGE_VIEWS] = "page_views",
    [PRULES_F_PRICING_VIEWS] = "pricing_views",
    [PRULES_F_BOOKINGS_STARTED] = "bookings_started",
    [PRULES_F_BOOKINGS_COMPLETED] = "bookings_completed",
    [PRULES_F_RETURNING] = "returning",
    [PRULES_F_SECONDS_SINCE_LAST_SEEN] = "last_seen_ms",
    [PRULES_F_SECONDS_SINCE_FIRST_SEEN] = "first_seen_ms",
    [PRULES_F_PERSONA] = "persona",
    [PRULES_F_STAGE] = "stage",
    [PRULES_F_FIRST_CHANNEL] = "first_channel",
    [PRULES_F_FIRST_DEVICE] = "first_device",
};

static const char *const band_names[] = {"low", "medium", "high", "hot"};

struct prules_ans {
    char id[PRULES_NAME_MAX + 1];
    char *message;
    char *content;
};

struct prules_rule {
    char name[PRULES_NAME_MAX + 1];
    struct pcond *when;
    struct prules_ans ans;
};

struct prules {
    double bands[3]; /* medium, high, hot thresholds */
    struct prules_ans dflt;
    struct prules_rule *rules;
    size_t n;
};

void prules_free(struct prules *r)
{
    if (r == NULL) {
        return;
    }
    for (size_t i = 0; i < r->n; i++) {
        pcond_free(r->rules[i].when);
        free(r->rules[i].ans.message);
        free(r->rules[i].ans.content);
    }
    free(r->rules);
    free(r->dflt.message);
    free(r->dflt.content);
    free(r);
}

size_t prules_count(const struct prules *r)
{
    return r->n;
}

/* Reads an answer object {"id", "message"?, "content"?} at where. */
static int load_answer(struct prules_ans *a, const cJSON *j, const char *where, char *err,
                       size_t errlen)
{
    static const char *const keys[] = {"id", "message", "content"};
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "id");
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(j, "message");
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(j, "content");

    if (!cJSON_IsObject(j)) {
        errbuf_printf(err, errlen, "%s: missing or not an object", where);
        return -1;
    }
    if (rulefile_keys(j, keys, 3, where, err, errlen) != 0) {
        return -1;
    }
    if (!cJSON_IsString(id) || !rulefile_name_ok(id->valuestring, PRULES_NAME_MAX)) {
        errbuf_printf(err, errlen,
                      "%s.id: missing, or not 1..%d of letters, digits, '-', '_' and '.'", where,
                      PRULES_NAME_MAX);
        return -1;
    }
    if (msg != NULL && (!cJSON_IsString(msg) || strlen(msg->valuestring) > PRULES_MESSAGE_MAX)) {
        errbuf_printf(err, errlen, "%s.message: not a string of at most %d bytes", where,
                      PRULES_MESSAGE_MAX);
        return -1;
    }
    snprintf(a->id, sizeof(a->id), "%s", id->valuestring);
    a->message = strdup(msg != NULL ? msg->valuestring : "");
    a->content = content != NULL ? cJSON_PrintUnformatted(content) : strdup("null");
    if (a->message == NULL || a->content == NULL) {
        errbuf_printf(err, errlen, "%s: out of memory", where);
        return -1;
    }
    if (strlen(a->content) > PRULES_CONTENT_MAX) {
        errbuf_printf(err, errlen, "%s.content: more than %d bytes", where, PRULES_CONTENT_MAX);
        return -1;
    }
    return 0;
}

static int load_bands(struct prules *r, const cJSON *j, const char *path, char *err, size_t errlen)
{
    static const char *const keys[] = {"medium", "high", "hot"};
    char where[600];

    snprintf(where, sizeof(where), "%s: bands", path);
    if (!cJSON_IsObject(j)) {
        errbuf_printf(err, errlen, "%s: missing or not an object", where);
        return -1;
    }
    if (rulefile_keys(j, keys, 3, where, err, errlen) != 0) {
        return -1;
    }
    for (int i = 0; i < 3; i++) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, keys[i]);
        if (!cJSON_IsNumber(t) || !(t->valuedouble > 0) || t->valuedouble > 100 ||
            (i > 0 && !(t->valuedouble > r->bands[i - 1]))) {
            errbuf_printf(err, errlen,
                          "%s.%s: give medium, high and hot lead scores, rising, in (0, 100]",
                          where, keys[i]);
            return -1;
        }
        r->bands[i] = t->valuedouble;
    }
    return 0;
}

/* Loads rule number i (0-based) from j. */
static int load_rule(struct prules *r, size_t i, const cJSON *j, const char *path, char *err,
                     size_t errlen)
{
    static const char *const keys[] = {"name", "comment", "when", "answer"};
    struct prules_rule *rule = &r->rules[i];
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(j, "name");
    char where[700], at[720];

    snprintf(where, sizeof(where), "%s: rule %zu", path, i + 1);
    if (!cJSON_IsObject(j)) {
        errbuf_printf(err, errlen, "%s: not an object", where);
        return -1;
    }
    if (!cJSON_IsString(name) || !rulefile_name_ok(name->valuestring, PRULES_NAME_MAX)) {
        errbuf_printf(err, errlen,
                      "%s: \"name\" missing, or not 1..%d of letters, digits, '-', '_' and '.'",
                      where, PRULES_NAME_MAX);
        return -1;
    }
    snprintf(rule->name, sizeof(rule->name), "%s", name->valuestring);
    snprintf(where, sizeof(where), "%s: rule %zu \"%s\"", path, i + 1, rule->name);
    for (size_t k = 0; k < i; k++) {
        if (strcmp(r->rules[k].name, rule->name) == 0) {
            errbuf_printf(err, errlen, "%s: the name is rule %zu's too", where, k + 1);
            return -1;
        }
    }
    if (!rulefile_utf8(j)) {
        errbuf_printf(err, errlen, "%s: a string is not valid UTF-8", where);
        return -1;
    }
    if (rulefile_keys(j, keys, 4, where, err, errlen) != 0) {
        return -1;
    }
    snprintf(at, sizeof(at), "%s: when", where);
    rule->when = pcond_parse(cJSON_GetObjectItemCaseSensitive(j, "when"), prules_fields,
                             PRULES_F_COUNT, at, err, errlen);
    if (rule->when == NULL) {
        return -1;
    }
    snprintf(at, sizeof(at), "%s: answer", where);
    return load_answer(&rule->ans, cJSON_GetObjectItemCaseSensitive(j, "answer"), at, err, errlen);
}

static int load_doc(struct prules *r, const cJSON *root, const char *path, char *err, size_t errlen)
{
    static const char *const keys[] = {"version", "comment", "bands", "default", "rules"};
    const cJSON *version = cJSON_GetObjectItemCaseSensitive(root, "version");
    const cJSON *rules = cJSON_GetObjectItemCaseSensitive(root, "rules");
    const cJSON *item;
    char where[600];
    int n;

    if (rulefile_keys(root, keys, 5, path, err, errlen) != 0) {
        return -1;
    }
    if (!cJSON_IsNumber(version) || version->valuedouble != 1) {
        errbuf_printf(err, errlen, "%s: \"version\" must be 1", path);
        return -1;
    }
    if (load_bands(r, cJSON_GetObjectItemCaseSensitive(root, "bands"), path, err, errlen) != 0) {
        return -1;
    }
    snprintf(where, sizeof(where), "%s: default", path);
    item = cJSON_GetObjectItemCaseSensitive(root, "default");
    if (item != NULL && !rulefile_utf8(item)) {
        errbuf_printf(err, errlen, "%s: a string is not valid UTF-8", where);
        return -1;
    }
    if (load_answer(&r->dflt, item, where, err, errlen) != 0) {
        return -1;
    }
    n = cJSON_IsArray(rules) ? cJSON_GetArraySize(rules) : -1;
    if (n < 1 || n > PRULES_RULES_MAX) {
        errbuf_printf(err, errlen, "%s: \"rules\" must be a list of 1..%d rules%s", path,
                      PRULES_RULES_MAX,
                      n == 0  ? " (it is empty)"
                      : n > 0 ? " (it has more)"
                              : "");
        return -1;
    }
    r->rules = calloc((size_t)n, sizeof(*r->rules));
    if (r->rules == NULL) {
        errbuf_printf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    cJSON_ArrayForEach(item, rules)
    {
        r->n++; /* counted first: prules_free frees what a failed rule holds */
        if (load_rule(r, r->n - 1, item, path, err, errlen) != 0) {
            return -1;
        }
    }
    return 0;
}

static int build_doc(void *r, const cJSON *root, const char *path, char *err, size_t errlen)
{
    return load_doc(r, root, path, err, errlen);
}

static void drop_doc(void *r)
{
    prules_free(r);
}

struct prules *prules_load(const char *path, char *err, size_t errlen)
{
    return fileio_build_doc(rulefile_read(path, PRULES_FILE_MAX, err, errlen),
                            sizeof(struct prules), build_doc, drop_doc, path, err, errlen);
}

void prules_profile_init(struct prules_profile *p, long long now_ms)
{
    memset(p, 0, sizeof(*p));
    p->v.now_ms = now_ms;
}

int prules_profile_set(struct prules_profile *p, const char *field, const char *value)
{
    int f = 0;
    double x;

    if (field == NULL) {
        return 1;
    }
    while (f < PRULES_F_COUNT && (hash_names[f] == NULL || strcmp(hash_names[f], field) != 0)) {
        f++;
    }
    if (f == PRULES_F_COUNT) {
        return 1;
    }
    p->v.have[f] = false;
    if (prules_fields[f].type == PCOND_TEXT) {
        if (value == NULL || value[0] == '\0') {
            return -1;
        }
        p->v.text[f] = value;
    } else if (pcond_number(value, &x) != 0 ||
               (prules_fields[f].type == PCOND_BOOL && x != 0 && x != 1)) {
        return -1;
    } else if (f == PRULES_F_SECONDS_SINCE_LAST_SEEN || f == PRULES_F_SECONDS_SINCE_FIRST_SEEN) {
        double s = ((double)p->v.now_ms - x) / 1000.0;
        p->v.num[f] = s > 0 ? s : 0; /* a clock ahead of ours: just now */
    } else {
        p->v.num[f] = x;
    }
    p->v.have[f] = true;
    return 0;
}

size_t prules_profile_hash(struct prules_profile *p, long long now_ms, const char *const *fv,
                           size_t n)
{
    size_t bad = 0;

    prules_profile_init(p, now_ms);
    for (size_t i = 0; i + 1 < n; i += 2) {
        bad += fv[i] != NULL && prules_profile_set(p, fv[i], fv[i + 1]) < 0;
    }
    return bad;
}

enum prules_band prules_band_of(const struct prules *r, double score)
{
    int b = PRULES_LOW;

    while (b < PRULES_HOT && score >= r->bands[b]) {
        b++;
    }
    return (enum prules_band)b;
}

const char *prules_band_name(enum prules_band b)
{
    return b >= PRULES_LOW && b <= PRULES_HOT ? band_names[b] : "low";
}

struct prules_answer prules_eval(const struct prules *r, const struct prules_profile *p)
{
    struct prules_answer a = {NULL, r->dflt.id, r->dflt.message, r->dflt.content, PRULES_LOW};
    struct pcond_values v;

    if (p == NULL) {
        return a;
    }
    v = p->v;
    if (v.have[PRULES_F_LEAD_SCORE]) {
        a.band = prules_band_of(r, v.num[PRULES_F_LEAD_SCORE]);
        v.text[PRULES_F_LEAD_BAND] = band_names[a.band];
        v.have[PRULES_F_LEAD_BAND] = true;
    }
    for (size_t i = 0; i < r->n; i++) {
        if (pcond_eval(r->rules[i].when, &v)) {
            const struct prules_ans *ans = &r->rules[i].ans;
            a.rule = r->rules[i].name;
            a.id = ans->id;
            a.message = ans->message;
            a.content_json = ans->content;
            break;
        }
    }
    return a;
}
