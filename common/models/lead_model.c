#include "analytics/lead_model.h"

#include "analytics/errbuf.h"
#include "analytics/fileio.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xgboost/c_api.h>

struct lead_model {
    BoosterHandle booster;
    char version[64];
    char *evaluation; /* NULL when none */
    double cal_a, cal_b;
    /* The one row XGBoost reads, and its array interface (its address is
     * in the text, so the text is made once, at load). */
    float row[LEAD_F_COUNT];
    char row_ai[192];
};

/* XGBoost's in-place prediction of the margin (type 1), and the
 * contributions (type 2) from a DMatrix of the row; the same every call. */
static const char lead_margin_cfg[] =
    "{\"type\":1,\"training\":false,\"iteration_begin\":0,\"iteration_end\":0,"
    "\"strict_shape\":false,\"cache_id\":0,\"missing\":NaN}";
static const char lead_contrib_cfg[] =
    "{\"type\":2,\"training\":false,\"iteration_begin\":0,\"iteration_end\":0,"
    "\"strict_shape\":false}";
static const char lead_dense_cfg[] = "{\"missing\":NaN,\"nthread\":1}";

/* Formats "<name>: <what>: <XGBoost's message, its first line>" into err. */
static void lead_model_xgb_error(char *err, size_t errlen, const char *name, const char *what)
{
    const char *msg = XGBGetLastError();
    const char *nl;

    /* "[time] file:line: message\nStack trace: ...": keep the message. */
    if (msg[0] == '[' && strstr(msg, "] ") != NULL) {
        msg = strstr(msg, "] ") + 2;
    }
    nl = strchr(msg, '\n');
    errbuf_printf(err, errlen, "%s: %s: %.*s", name, what, (int)(nl ? nl - msg : 200), msg);
}

/* Checks that the JSON text at buf is an XGBoost model stamped as ours,
 * before XGBoost's own parser sees it (its messages for foreign input say
 * little). Returns 0 or -1 with the reason in err. */
static int lead_model_precheck(const char *buf, size_t len, const char *name, char *err,
                               size_t errlen)
{
    const char *end = NULL;
    cJSON *doc = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
    const cJSON *learner, *attrs, *format;
    int rc = -1;

    if (doc == NULL) {
        errbuf_printf(err, errlen, "%s: not JSON (malformed at byte %td)", name,
                      end != NULL ? end - buf : (ptrdiff_t)0);
        return -1;
    }
    learner = cJSON_GetObjectItemCaseSensitive(doc, "learner");
    attrs = cJSON_GetObjectItemCaseSensitive(learner, "attributes");
    format = cJSON_GetObjectItemCaseSensitive(attrs, "analytics_format");
    if (!cJSON_IsObject(learner)) {
        errbuf_printf(err, errlen, "%s: not a lead model (JSON, but not an XGBoost model)", name);
    } else if (!cJSON_IsString(format)) {
        errbuf_printf(err, errlen,
                      "%s: not a lead model (an XGBoost model without analytics_format)", name);
    } else if (strcmp(format->valuestring, LEAD_MODEL_FORMAT) != 0) {
        errbuf_printf(err, errlen, "%s: model format '%.40s'; this build reads " LEAD_MODEL_FORMAT,
                      name, format->valuestring);
    } else {
        rc = 0;
    }
    cJSON_Delete(doc);
    return rc;
}

/* The attribute key of the booster, or NULL when it has none. Borrowed
 * until the next XGBoost call. */
static const char *lead_model_attr(BoosterHandle b, const char *key)
{
    const char *out = NULL;
    int found = 0;

    if (XGBoosterGetAttr(b, key, &out, &found) != 0 || !found) {
        return NULL;
    }
    return out;
}

/* Reads the calibration attribute key into *v. Returns 0 or -1. */
static int lead_model_attr_double(BoosterHandle b, const char *key, double *v, const char *name,
                                  char *err, size_t errlen)
{
    const char *s = lead_model_attr(b, key);
    char *end;

    if (s == NULL) {
        errbuf_printf(err, errlen, "%s: no %s attribute", name, key);
        return -1;
    }
    errno = 0;
    *v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !isfinite(*v)) {
        errbuf_printf(err, errlen, "%s: %s is '%.40s', not a finite number", name, key, s);
        return -1;
    }
    return 0;
}

/* Checks the booster's features against lead_feature_names. */
static int lead_model_check_features(BoosterHandle b, const char *name, char *err, size_t errlen)
{
    bst_ulong nfeat = 0, nnames = 0;
    const char **names = NULL;

    if (XGBoosterGetNumFeature(b, &nfeat) != 0) {
        lead_model_xgb_error(err, errlen, name, "feature count");
        return -1;
    }
    if (XGBoosterGetStrFeatureInfo(b, "feature_name", &nnames, &names) != 0) {
        lead_model_xgb_error(err, errlen, name, "feature names");
        return -1;
    }
    if (nnames != LEAD_F_COUNT || nfeat != LEAD_F_COUNT) {
        errbuf_printf(err, errlen, "%s: has %lu features (%lu named); this build has %d", name,
                      (unsigned long)nfeat, (unsigned long)nnames, LEAD_F_COUNT);
        return -1;
    }
    for (size_t i = 0; i < LEAD_F_COUNT; i++) {
        if (strcmp(names[i], lead_feature_names[i]) != 0) {
            errbuf_printf(err, errlen, "%s: feature %zu is '%.40s'; this build expects '%s'", name,
                          i + 1, names[i], lead_feature_names[i]);
            return -1;
        }
    }
    return 0;
}

/* Reads our attributes off the loaded booster into m. */
static int lead_model_read_meta(struct lead_model *m, const char *name, char *err, size_t errlen)
{
    const char *s = lead_model_attr(m->booster, "model_version");

    if (s == NULL || s[0] == '\0' || strlen(s) >= sizeof(m->version)) {
        errbuf_printf(err, errlen, "%s: no usable model_version attribute", name);
        return -1;
    }
    memcpy(m->version, s, strlen(s) + 1);
    if (lead_model_attr_double(m->booster, "calibration_a", &m->cal_a, name, err, errlen) != 0 ||
        lead_model_attr_double(m->booster, "calibration_b", &m->cal_b, name, err, errlen) != 0) {
        return -1;
    }
    s = lead_model_attr(m->booster, "evaluation");
    if (s != NULL) {
        m->evaluation = strdup(s);
        if (m->evaluation == NULL) {
            errbuf_printf(err, errlen, "%s: out of memory", name);
            return -1;
        }
    }
    return lead_model_check_features(m->booster, name, err, errlen);
}

struct lead_model *lead_model_load_buffer(const char *buf, size_t len, const char *name, char *err,
                                          size_t errlen)
{
    struct lead_model *m;

    if (lead_model_precheck(buf, len, name, err, errlen) != 0) {
        return NULL;
    }
    m = calloc(1, sizeof(*m));
    if (m == NULL) {
        errbuf_printf(err, errlen, "%s: out of memory", name);
        return NULL;
    }
    if (XGBoosterCreate(NULL, 0, &m->booster) != 0) {
        lead_model_xgb_error(err, errlen, name, "cannot create a booster");
        goto fail;
    }
    if (XGBoosterLoadModelFromBuffer(m->booster, buf, (bst_ulong)len) != 0) {
        lead_model_xgb_error(err, errlen, name, "XGBoost cannot load it");
        goto fail;
    }
    if (lead_model_read_meta(m, name, err, errlen) != 0) {
        goto fail;
    }
    /* One thread: one row at a time, and no OpenMP pool to wake. */
    if (XGBoosterSetParam(m->booster, "nthread", "1") != 0) {
        lead_model_xgb_error(err, errlen, name, "nthread");
        goto fail;
    }
    snprintf(m->row_ai, sizeof(m->row_ai),
             "{\"data\":[%ju,true],\"shape\":[1,%d],\"typestr\":\"<f4\",\"version\":3}",
             (uintmax_t)(uintptr_t)m->row, LEAD_F_COUNT);
    return m;

fail:
    lead_model_free(m);
    return NULL;
}

struct lead_model *lead_model_load(const char *path, char *err, size_t errlen)
{
    size_t len = 0;
    char *buf = fileio_read(path, LEAD_MODEL_MAX_BYTES, &len, err, errlen);
    struct lead_model *m;

    if (buf == NULL) {
        return NULL;
    }
    m = lead_model_load_buffer(buf, len, path, err, errlen);
    free(buf);
    return m;
}

void lead_model_free(struct lead_model *m)
{
    if (m == NULL) {
        return;
    }
    if (m->booster != NULL) {
        XGBoosterFree(m->booster);
    }
    free(m->evaluation);
    free(m);
}

const char *lead_model_version(const struct lead_model *m)
{
    return m->version;
}

const char *lead_model_evaluation(const struct lead_model *m)
{
    return m->evaluation;
}

double lead_model_calibrate(double a, double b, double margin)
{
    return 1.0 / (1.0 + exp(-(a * margin + b)));
}

int lead_model_score(double probability)
{
    double s = round(100.0 * probability);

    if (!(s > 0.0)) {
        return 0;
    }
    return s >= 100.0 ? 100 : (int)s;
}

/* The number of values of an XGBoost output of dim dimensions. */
static size_t lead_model_size(const bst_ulong *shape, bst_ulong dim)
{
    size_t n = 1;

    for (bst_ulong i = 0; i < dim; i++) {
        n *= (size_t)shape[i];
    }
    return n;
}

/* Copies x into the model's row, refusing infinities. */
static int lead_model_set_row(struct lead_model *m, const float x[LEAD_F_COUNT], char *err,
                              size_t errlen)
{
    for (size_t i = 0; i < LEAD_F_COUNT; i++) {
        if (isinf(x[i])) {
            errbuf_printf(err, errlen, "lead model: feature %s is infinite", lead_feature_names[i]);
            return -1;
        }
    }
    memcpy(m->row, x, sizeof(m->row));
    return 0;
}

int lead_model_predict(struct lead_model *m, const float x[LEAD_F_COUNT],
                       struct lead_prediction *out, char *err, size_t errlen)
{
    const bst_ulong *shape = NULL;
    bst_ulong dim = 0;
    const float *res = NULL;
    double margin;

    if (lead_model_set_row(m, x, err, errlen) != 0) {
        return -1;
    }
    if (XGBoosterPredictFromDense(m->booster, m->row_ai, lead_margin_cfg, NULL, &shape, &dim,
                                  &res) != 0) {
        lead_model_xgb_error(err, errlen, m->version, "predict");
        return -1;
    }
    if (lead_model_size(shape, dim) != 1) {
        errbuf_printf(err, errlen, "%s: predict: %zu values for one row", m->version,
                      lead_model_size(shape, dim));
        return -1;
    }
    margin = (double)res[0];
    out->raw = 1.0 / (1.0 + exp(-margin));
    out->probability = lead_model_calibrate(m->cal_a, m->cal_b, margin);
    out->score = lead_model_score(out->probability);
    return 0;
}

int lead_model_explain(struct lead_model *m, const float x[LEAD_F_COUNT],
                       struct lead_prediction *out, char *err, size_t errlen)
{
    DMatrixHandle d = NULL;
    const bst_ulong *shape = NULL;
    bst_ulong dim = 0;
    const float *res = NULL;
    int rc = -1;

    if (lead_model_predict(m, x, out, err, errlen) != 0) {
        return -1;
    }
    if (XGDMatrixCreateFromDense(m->row_ai, lead_dense_cfg, &d) != 0) {
        lead_model_xgb_error(err, errlen, m->version, "explain: matrix");
        return -1;
    }
    if (XGBoosterPredictFromDMatrix(m->booster, d, lead_contrib_cfg, &shape, &dim, &res) != 0) {
        lead_model_xgb_error(err, errlen, m->version, "explain");
        goto out;
    }
    if (lead_model_size(shape, dim) != LEAD_F_COUNT + 1) {
        errbuf_printf(err, errlen, "%s: explain: %zu contributions for %d features", m->version,
                      lead_model_size(shape, dim), LEAD_F_COUNT);
        goto out;
    }
    memcpy(out->contrib, res, sizeof(out->contrib));
    out->contrib_bias = res[LEAD_F_COUNT];
    rc = 0;
out:
    XGDMatrixFree(d);
    return rc;
}

/* Sets our attributes and the feature names on b. */
static int lead_model_stamp(BoosterHandle b, const struct lead_model_meta *meta, char *err,
                            size_t errlen)
{
    const char *names[LEAD_F_COUNT];
    char a[40], c[40];

    for (size_t i = 0; i < LEAD_F_COUNT; i++) {
        names[i] = lead_feature_names[i];
    }
    /* %.17g: the doubles read back exactly. */
    snprintf(a, sizeof(a), "%.17g", meta->calibration_a);
    snprintf(c, sizeof(c), "%.17g", meta->calibration_b);
    if (XGBoosterSetAttr(b, "analytics_format", LEAD_MODEL_FORMAT) != 0 ||
        XGBoosterSetAttr(b, "model_version", meta->version) != 0 ||
        XGBoosterSetAttr(b, "calibration_a", a) != 0 ||
        XGBoosterSetAttr(b, "calibration_b", c) != 0 ||
        XGBoosterSetAttr(b, "evaluation", meta->evaluation) != 0 ||
        XGBoosterSetStrFeatureInfo(b, "feature_name", names, LEAD_F_COUNT) != 0) {
        lead_model_xgb_error(err, errlen, "lead model", "stamp");
        return -1;
    }
    return 0;
}

/* The stamped booster as XGBoost JSON: a new buffer (caller frees), its
 * length in *len; NULL with the reason in err. */
static char *lead_model_json(BoosterHandle b, const struct lead_model_meta *meta, size_t *len,
                             char *err, size_t errlen)
{
    bst_ulong n = 0;
    const char *p = NULL;
    char *copy;

    if (lead_model_stamp(b, meta, err, errlen) != 0) {
        return NULL;
    }
    if (XGBoosterSaveModelToBuffer(b, "{\"format\":\"json\"}", &n, &p) != 0) {
        lead_model_xgb_error(err, errlen, "lead model", "save");
        return NULL;
    }
    copy = malloc((size_t)n + 1);
    if (copy == NULL) {
        errbuf_printf(err, errlen, "lead model: out of memory");
        return NULL;
    }
    memcpy(copy, p, (size_t)n);
    copy[n] = '\0';
    *len = (size_t)n;
    return copy;
}

int lead_model_save(void *booster, const struct lead_model_meta *meta, const char *path, char *err,
                    size_t errlen)
{
    size_t len = 0;
    char *json = lead_model_json(booster, meta, &len, err, errlen);
    int rc;

    if (json == NULL) {
        return -1;
    }
    rc = fileio_write_atomic(path, json, len, false, err, errlen);
    free(json);
    return rc;
}

struct lead_model *lead_model_from_booster(void *booster, const struct lead_model_meta *meta,
                                           char *err, size_t errlen)
{
    size_t len = 0;
    char *json = lead_model_json(booster, meta, &len, err, errlen);
    struct lead_model *m;

    if (json == NULL) {
        return NULL;
    }
    m = lead_model_load_buffer(json, len, "lead model", err, errlen);
    free(json);
    return m;
}

/* "N <what>s" with the singular for 1. */
static void lead_reason_count(char *out, const char *verb, double n, const char *what)
{
    snprintf(out, LEAD_REASON_MAX, "%s %.0f %s%s", verb, n, what, n == 1.0 ? "" : "s");
}

/* "spent N minutes on <what>" (seconds under a minute and a half). */
static void lead_reason_time(char *out, double seconds, const char *what)
{
    if (seconds < 90.0) {
        snprintf(out, LEAD_REASON_MAX, "spent %.0f second%s on %s", seconds,
                 round(seconds) == 1.0 ? "" : "s", what);
    } else {
        snprintf(out, LEAD_REASON_MAX, "spent %.0f minutes on %s", seconds / 60.0, what);
    }
}

/* The words for feature f at value v into out; 0, or -1 when there are
 * none for that value. */
static int lead_reason_phrase(char *out, enum lead_feature f, double v)
{
    static const char *const months[12] = {"January",   "February", "March",    "April",
                                           "May",       "June",     "July",     "August",
                                           "September", "October",  "November", "December"};

    switch (f) {
    case LEAD_F_ADMIN_PAGES:
        lead_reason_count(out, "viewed", v, "account page");
        return 0;
    case LEAD_F_ADMIN_SECONDS:
        lead_reason_time(out, v, "account pages");
        return 0;
    case LEAD_F_INFO_PAGES:
        lead_reason_count(out, "viewed", v, "information page");
        return 0;
    case LEAD_F_INFO_SECONDS:
        lead_reason_time(out, v, "information pages");
        return 0;
    case LEAD_F_PRODUCT_PAGES:
        lead_reason_count(out, "viewed", v, "product page");
        return 0;
    case LEAD_F_PRODUCT_SECONDS:
        lead_reason_time(out, v, "product pages");
        return 0;
    case LEAD_F_BOUNCE_RATE:
        snprintf(out, LEAD_REASON_MAX, "%s (bounce rate %.1f%%)",
                 v >= 0.5 ? "bounced from most pages" : "stayed on the pages it landed on",
                 100.0 * v);
        return 0;
    case LEAD_F_EXIT_RATE:
        snprintf(out, LEAD_REASON_MAX, "%s (exit rate %.1f%%)",
                 v >= 0.5 ? "left from most pages" : "went on from the pages it saw", 100.0 * v);
        return 0;
    case LEAD_F_PAGE_VALUE:
        if (v > 0.0) {
            snprintf(out, LEAD_REASON_MAX, "pages of high value (page value %.1f)", v);
        } else {
            snprintf(out, LEAD_REASON_MAX, "no pages of value seen yet");
        }
        return 0;
    case LEAD_F_SPECIAL_DAY:
        snprintf(out, LEAD_REASON_MAX, "%s",
                 v > 0.0 ? "a special day is near" : "no special day is near");
        return 0;
    case LEAD_F_MONTH:
        if (!(v >= 1.0 && v <= 12.0)) {
            return -1;
        }
        snprintf(out, LEAD_REASON_MAX, "visiting in %s", months[(int)v - 1]);
        return 0;
    case LEAD_F_RETURNING:
        snprintf(out, LEAD_REASON_MAX, "%s", v != 0.0 ? "returning visitor" : "new visitor");
        return 0;
    case LEAD_F_WEEKEND:
        snprintf(out, LEAD_REASON_MAX, "%s",
                 v != 0.0 ? "visiting at the weekend" : "visiting on a weekday");
        return 0;
    case LEAD_F_PRODUCT_SHARE:
        snprintf(out, LEAD_REASON_MAX, "%.0f%% of the pages seen were products and services",
                 100.0 * v);
        return 0;
    case LEAD_F_ADMIN_SECONDS_EACH:
        snprintf(out, LEAD_REASON_MAX, "spent %.0f seconds a page on account pages", v);
        return 0;
    case LEAD_F_VALUE_SEEN:
        snprintf(out, LEAD_REASON_MAX, "%s",
                 v != 0.0 ? "saw pages that came before bookings" : "no pages of value seen yet");
        return 0;
    case LEAD_F_COUNT:
        break;
    }
    return -1;
}

/* Whether out[n] says what one of out[0..n) says (two features can come to
 * the same words: no page value, nothing of value seen). */
static bool lead_reason_given(char out[][LEAD_REASON_MAX], size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(out[i], out[n]) == 0) {
            return true;
        }
    }
    return false;
}

size_t lead_model_reasons(const float x[LEAD_F_COUNT], const float contrib[LEAD_F_COUNT],
                          char out[][LEAD_REASON_MAX], size_t max)
{
    bool used[LEAD_F_COUNT] = {false};
    size_t n = 0;

    while (n < max) {
        int best = -1;

        /* The strongest positive contribution not yet used; the lower
         * feature first among equals. */
        for (int f = 0; f < LEAD_F_COUNT; f++) {
            if (!used[f] && contrib[f] > 0.0f && !isnan(x[f]) &&
                (best < 0 || contrib[f] > contrib[best])) {
                best = f;
            }
        }
        if (best < 0) {
            break;
        }
        used[best] = true;
        if (lead_reason_phrase(out[n], (enum lead_feature)best, (double)x[best]) == 0 &&
            !lead_reason_given(out, n)) {
            n++;
        }
    }
    return n;
}
