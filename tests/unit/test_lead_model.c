/*
 * Unit tests for the lead model (common/models/lead_model.c): calibration
 * and the 0..100 score; the reasons' order and words; a booster trained
 * here saved, loaded back and predicting as XGBoost's batch prediction
 * does, its contributions adding up to its margin; and every refusal of a
 * file that is not a lead model for these features, naming the file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fixture.h"
#include "lead_data.h"
#include "lead_train.h"

#include "analytics/fileio.h"
#include "analytics/lead_model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xgboost/c_api.h>

#define ROWS 400

/* Synthetic sessions: more product pages and page value, more likely to
 * buy; every fifth visitor of the "Other" kind (missing). */
static void make_data(struct lead_data *d, float *x, float *y)
{
    uint64_t s = 7;

    for (size_t i = 0; i < ROWS; i++) {
        float *r = &x[i * LEAD_F_COUNT];

        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        for (int f = 0; f < LEAD_F_COUNT; f++) {
            r[f] = (float)((s >> (f + 8)) % 10);
        }
        r[LEAD_F_BOUNCE_RATE] /= 20.0f;
        r[LEAD_F_MONTH] += 1.0f;
        r[LEAD_F_RETURNING] = i % 5 == 0 ? NAN : (float)(i % 2);
        r[LEAD_F_WEEKEND] = (float)(i % 3 == 0);
        y[i] = r[LEAD_F_PAGE_VALUE] + r[LEAD_F_PRODUCT_PAGES] / 2.0f > 8.0f ? 1.0f : 0.0f;
        if (i % 17 == 0) {
            y[i] = 1.0f - y[i]; /* some noise */
        }
    }
    d->rows = ROWS;
    d->x = x;
    d->y = y;
}

static const struct lead_params small = {
    .rounds = 20,
    .eta = 0.3,
    .max_depth = 3,
    .min_child_weight = 1.0,
    .subsample = 1.0,
    .colsample_bytree = 1.0,
    .lambda = 1.0,
    .gamma = 0.0,
};

static struct lead_data data;
static float data_x[ROWS * LEAD_F_COUNT], data_y[ROWS];
static void *booster;
static struct fixture_tmp tmp;

static int setup(void **state)
{
    char err[256];
    (void)state;

    make_data(&data, data_x, data_y);
    if (lead_train_fit(&data, &small, 1, &booster, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    return fixture_tmp_open(&tmp, "test_lead_model", "lead.json");
}

static int teardown(void **state)
{
    (void)state;
    lead_train_free(booster);
    fixture_tmp_close(&tmp);
    return 0;
}

/* The path of another file in the test's directory. */
static const char *tmp_path(const char *name)
{
    static char path[200];

    snprintf(path, sizeof(path), "%s/%s", tmp.dir, name);
    return path;
}

static void write_text(const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    fclose(f);
}

static void test_calibrate_and_score(void **state)
{
    (void)state;
    assert_true(fabs(lead_model_calibrate(1.0, 0.0, 0.0) - 0.5) < 1e-15);
    assert_true(fabs(lead_model_calibrate(2.0, -1.0, 0.5) - 0.5) < 1e-15);
    assert_true(fabs(lead_model_calibrate(1.0, 0.0, log(3.0)) - 0.75) < 1e-15);
    assert_int_equal(lead_model_score(0.004), 0);
    assert_int_equal(lead_model_score(0.005), 1);
    assert_int_equal(lead_model_score(0.424), 42);
    assert_int_equal(lead_model_score(0.995), 100);
    assert_int_equal(lead_model_score(1.5), 100);
    assert_int_equal(lead_model_score(-0.2), 0);
    assert_int_equal(lead_model_score(NAN), 0);
}

static void test_reasons(void **state)
{
    float x[LEAD_F_COUNT] = {0}, c[LEAD_F_COUNT] = {0};
    char out[LEAD_F_COUNT][LEAD_REASON_MAX];
    (void)state;

    x[LEAD_F_PRODUCT_PAGES] = 12;
    c[LEAD_F_PRODUCT_PAGES] = 0.4f;
    x[LEAD_F_PRODUCT_SECONDS] = 480;
    c[LEAD_F_PRODUCT_SECONDS] = 0.2f;
    x[LEAD_F_PAGE_VALUE] = 35.2f;
    c[LEAD_F_PAGE_VALUE] = 1.5f;
    x[LEAD_F_RETURNING] = 1;
    c[LEAD_F_RETURNING] = 0.1f;
    x[LEAD_F_SPECIAL_DAY] = 0.6f;
    c[LEAD_F_SPECIAL_DAY] = 0.05f;
    x[LEAD_F_WEEKEND] = 1;
    c[LEAD_F_WEEKEND] = 0.01f;
    x[LEAD_F_BOUNCE_RATE] = 0.6f;
    c[LEAD_F_BOUNCE_RATE] = -0.8f; /* lowered the score: no reason */
    x[LEAD_F_MONTH] = 11;
    c[LEAD_F_MONTH] = 0.3f;
    x[LEAD_F_INFO_PAGES] = NAN; /* missing: no reason, whatever its share */
    c[LEAD_F_INFO_PAGES] = 2.0f;

    assert_int_equal(lead_model_reasons(x, c, out, LEAD_F_COUNT), 7);
    assert_string_equal(out[0], "pages of high value (page value 35.2)");
    assert_string_equal(out[1], "viewed 12 product pages");
    assert_string_equal(out[2], "visiting in November");
    assert_string_equal(out[3], "spent 8 minutes on product pages");
    assert_string_equal(out[4], "returning visitor");
    assert_string_equal(out[5], "a special day is near");
    assert_string_equal(out[6], "visiting at the weekend");
    /* At most max, the strongest first. */
    assert_int_equal(lead_model_reasons(x, c, out, 2), 2);
    assert_string_equal(out[1], "viewed 12 product pages");
    assert_int_equal(lead_model_reasons(x, c, out, 0), 0);

    /* The other phrasings. */
    memset(c, 0, sizeof(c));
    memset(x, 0, sizeof(x));
    x[LEAD_F_ADMIN_PAGES] = 1;
    c[LEAD_F_ADMIN_PAGES] = 0.9f;
    x[LEAD_F_ADMIN_SECONDS] = 45;
    c[LEAD_F_ADMIN_SECONDS] = 0.8f;
    x[LEAD_F_BOUNCE_RATE] = 0.004f;
    c[LEAD_F_BOUNCE_RATE] = 0.7f;
    x[LEAD_F_EXIT_RATE] = 0.6f;
    c[LEAD_F_EXIT_RATE] = 0.6f;
    x[LEAD_F_RETURNING] = 0;
    c[LEAD_F_RETURNING] = 0.5f;
    x[LEAD_F_MONTH] = 13; /* not a month: no words for it */
    c[LEAD_F_MONTH] = 0.4f;
    x[LEAD_F_INFO_SECONDS] = 1;
    c[LEAD_F_INFO_SECONDS] = 0.3f;
    assert_int_equal(lead_model_reasons(x, c, out, LEAD_F_COUNT), 6);
    assert_string_equal(out[0], "viewed 1 account page");
    assert_string_equal(out[1], "spent 45 seconds on account pages");
    assert_string_equal(out[2], "stayed on the pages it landed on (bounce rate 0.4%)");
    assert_string_equal(out[3], "left from most pages (exit rate 60.0%)");
    assert_string_equal(out[4], "new visitor");
    assert_string_equal(out[5], "spent 1 second on information pages");
    /* Nothing raised it: no reasons. */
    memset(c, 0, sizeof(c));
    assert_int_equal(lead_model_reasons(x, c, out, LEAD_F_COUNT), 0);

    /* The derived features' words; two features that come to the same
     * words give them once. */
    memset(x, 0, sizeof(x));
    x[LEAD_F_PRODUCT_SHARE] = 0.8f;
    c[LEAD_F_PRODUCT_SHARE] = 0.5f;
    x[LEAD_F_ADMIN_SECONDS_EACH] = 42;
    c[LEAD_F_ADMIN_SECONDS_EACH] = 0.4f;
    c[LEAD_F_PAGE_VALUE] = 0.3f;
    c[LEAD_F_VALUE_SEEN] = 0.2f;
    assert_int_equal(lead_model_reasons(x, c, out, LEAD_F_COUNT), 3);
    assert_string_equal(out[0], "80% of the pages seen were products and services");
    assert_string_equal(out[1], "spent 42 seconds a page on account pages");
    assert_string_equal(out[2], "no pages of value seen yet");
    x[LEAD_F_VALUE_SEEN] = 1;
    assert_int_equal(lead_model_reasons(x, c, out, LEAD_F_COUNT), 4);
    assert_string_equal(out[3], "saw pages that came before bookings");
}

/* The derived features from the UCI ones: shares and per-page times
 * missing (NaN) when there is nothing to divide. */
static void test_derive(void **state)
{
    float x[LEAD_F_COUNT] = {0};
    (void)state;

    lead_features_derive(x);
    assert_true(isnan(x[LEAD_F_PRODUCT_SHARE]));
    assert_true(isnan(x[LEAD_F_ADMIN_SECONDS_EACH]));
    assert_true(x[LEAD_F_VALUE_SEEN] == 0.0f);
    x[LEAD_F_ADMIN_PAGES] = 2;
    x[LEAD_F_ADMIN_SECONDS] = 0; /* pages seen for no time: 0, not missing */
    x[LEAD_F_INFO_PAGES] = 1;
    x[LEAD_F_PRODUCT_PAGES] = 5;
    x[LEAD_F_PAGE_VALUE] = 0.01f;
    lead_features_derive(x);
    assert_true(fabsf(x[LEAD_F_PRODUCT_SHARE] - 0.625f) < 1e-6f);
    assert_true(x[LEAD_F_ADMIN_SECONDS_EACH] == 0.0f);
    assert_true(x[LEAD_F_VALUE_SEEN] == 1.0f);
    x[LEAD_F_ADMIN_SECONDS] = 90;
    lead_features_derive(x);
    assert_true(x[LEAD_F_ADMIN_SECONDS_EACH] == 45.0f);
    assert_string_equal(lead_feature_names[LEAD_F_VALUE_SEEN], "value_seen");
}

static void test_save_load_predict(void **state)
{
    struct lead_model_meta meta = {"lead-0123456789ab", 1.25, -0.5, "{\"rows\":10}"};
    char err[256] = "";
    double margin[ROWS];
    struct lead_model *m, *mem;
    (void)state;

    assert_int_equal(lead_model_save(booster, &meta, tmp.file, err, sizeof(err)), 0);
    m = lead_model_load(tmp.file, err, sizeof(err));
    if (m == NULL) {
        fail_msg("%s", err);
    }
    assert_string_equal(lead_model_version(m), "lead-0123456789ab");
    assert_string_equal(lead_model_evaluation(m), "{\"rows\":10}");
    mem = lead_model_from_booster(booster, &meta, err, sizeof(err));
    assert_non_null(mem);
    assert_int_equal(lead_train_margins(booster, &data, 0, margin, err, sizeof(err)), 0);
    for (size_t i = 0; i < ROWS; i++) {
        const float *x = &data.x[i * LEAD_F_COUNT];
        struct lead_prediction p, e, q;
        double sum = 0.0;

        assert_int_equal(lead_model_predict(m, x, &p, err, sizeof(err)), 0);
        assert_int_equal(lead_model_explain(m, x, &e, err, sizeof(err)), 0);
        assert_int_equal(lead_model_predict(mem, x, &q, err, sizeof(err)), 0);
        /* The same margin as XGBoost's batch prediction. */
        assert_true(fabs(p.raw - 1.0 / (1.0 + exp(-margin[i]))) < 1e-6);
        assert_true(fabs(p.probability - lead_model_calibrate(1.25, -0.5, margin[i])) < 1e-6);
        assert_int_equal(p.score, lead_model_score(p.probability));
        assert_true(p.probability == e.probability && p.probability == q.probability);
        for (int f = 0; f < LEAD_F_COUNT; f++) {
            sum += e.contrib[f];
        }
        assert_true(fabs(sum + e.contrib_bias - margin[i]) < 1e-4);
    }
    lead_model_free(mem);
    lead_model_free(m);
    lead_model_free(NULL);
}

static void test_predict_refuses_infinity(void **state)
{
    struct lead_model_meta meta = {"lead-0123456789ab", 1.0, 0.0, NULL};
    float x[LEAD_F_COUNT] = {0};
    struct lead_prediction p;
    char err[256] = "";
    struct lead_model *m = lead_model_from_booster(booster, &meta, err, sizeof(err));
    (void)state;

    assert_non_null(m);
    assert_null(lead_model_evaluation(m));
    x[LEAD_F_PAGE_VALUE] = INFINITY;
    assert_int_equal(lead_model_predict(m, x, &p, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "page_value is infinite"));
    x[LEAD_F_PAGE_VALUE] = NAN; /* missing is fine */
    assert_int_equal(lead_model_predict(m, x, &p, err, sizeof(err)), 0);
    lead_model_free(m);
}

/* Expects loading path to fail with a message holding want. */
static void expect_refused(const char *path, const char *want)
{
    char err[512] = "";
    struct lead_model *m = lead_model_load(path, err, sizeof(err));

    if (m != NULL) {
        lead_model_free(m);
        fail_msg("%s loaded", path);
    }
    if (strstr(err, want) == NULL || strstr(err, path) == NULL) {
        fail_msg("\"%s\" lacks \"%s\" or the path", err, want);
    }
}

/* Writes the saved model's text with from replaced by to, as name. */
static const char *edited(const char *text, const char *from, const char *to, const char *name)
{
    const char *at = strstr(text, from);
    const char *path = tmp_path(name);
    size_t n = strlen(text) + strlen(to) + 1;
    char *out = malloc(n);

    assert_non_null(at);
    assert_non_null(out);
    snprintf(out, n, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
    write_text(path, out, strlen(out));
    free(out);
    return path;
}

static void test_load_refusals(void **state)
{
    struct lead_model_meta meta = {"lead-0123456789ab", 1.0, 0.0, NULL};
    char err[256] = "", *text;
    size_t len = 0;
    const char *p;
    (void)state;

    expect_refused(tmp_path("missing.json"), "No such file");
    p = tmp_path("junk.json");
    write_text(p, "\x01\x02 not json", 11);
    expect_refused(p, "not JSON");
    p = tmp_path("other.json");
    write_text(p, "{\"a\":1}", 7);
    expect_refused(p, "not an XGBoost model");
    /* XGBoost's own model without our stamp. */
    assert_int_equal(lead_model_save(booster, &meta, tmp.file, err, sizeof(err)), 0);
    text = fileio_read(tmp.file, LEAD_MODEL_MAX_BYTES, &len, err, sizeof(err));
    assert_non_null(text);
    p = edited(text, "\"analytics_format\"", "\"other_format\"", "plain.json");
    expect_refused(p, "an XGBoost model without analytics_format");
    p = edited(text, "\"lead/1\"", "\"lead/2\"", "lead2.json");
    expect_refused(p, "model format 'lead/2'");
    p = edited(text, "\"admin_pages\"", "\"adm_pages\"", "names.json");
    expect_refused(p, "feature 1 is 'adm_pages'; this build expects 'admin_pages'");
    p = edited(text, "\"model_version\"", "\"model_versio\"", "noversion.json");
    expect_refused(p, "no usable model_version");
    p = edited(text, "\"calibration_b\"", "\"calibration_c\"", "nocal.json");
    expect_refused(p, "no calibration_b attribute");
    free(text);
    /* A calibration that is not a number. */
    meta.calibration_a = NAN;
    assert_int_equal(lead_model_save(booster, &meta, tmp_path("nan.json"), err, sizeof(err)), 0);
    expect_refused(tmp_path("nan.json"), "calibration_a is 'nan', not a finite number");
    /* Cut short. */
    text = fileio_read(tmp.file, LEAD_MODEL_MAX_BYTES, &len, err, sizeof(err));
    assert_non_null(text);
    write_text(tmp_path("cut.json"), text, len / 2);
    expect_refused(tmp_path("cut.json"), "not JSON");
    free(text);
    const char *names[] = {"missing.json", "junk.json",  "other.json",     "plain.json",
                           "lead2.json",   "names.json", "noversion.json", "nocal.json",
                           "nan.json",     "cut.json"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        unlink(tmp_path(names[i]));
    }
}

static void test_other_feature_count(void **state)
{
    float x[50 * 12], y[50];
    const char *names[12];
    DMatrixHandle d;
    BoosterHandle b;
    const char *p = tmp_path("twelve.json");
    (void)state;

    for (int i = 0; i < 50 * 12; i++) {
        x[i] = (float)(i % 7);
    }
    for (int i = 0; i < 50; i++) {
        y[i] = (float)(i % 2);
    }
    for (int i = 0; i < 12; i++) {
        names[i] = lead_feature_names[i];
    }
    assert_int_equal(XGDMatrixCreateFromMat(x, 50, 12, NAN, &d), 0);
    assert_int_equal(XGDMatrixSetFloatInfo(d, "label", y, 50), 0);
    assert_int_equal(XGBoosterCreate(&d, 1, &b), 0);
    assert_int_equal(XGBoosterSetParam(b, "objective", "binary:logistic"), 0);
    assert_int_equal(XGBoosterSetParam(b, "nthread", "1"), 0);
    assert_int_equal(XGBoosterUpdateOneIter(b, 0, d), 0);
    assert_int_equal(XGBoosterSetAttr(b, "analytics_format", "lead/1"), 0);
    assert_int_equal(XGBoosterSetAttr(b, "model_version", "lead-000000000000"), 0);
    assert_int_equal(XGBoosterSetAttr(b, "calibration_a", "1"), 0);
    assert_int_equal(XGBoosterSetAttr(b, "calibration_b", "0"), 0);
    assert_int_equal(XGBoosterSetStrFeatureInfo(b, "feature_name", names, 12), 0);
    assert_int_equal(XGBoosterSaveModel(b, p), 0);
    XGBoosterFree(b);
    XGDMatrixFree(d);
    char want[96];
    snprintf(want, sizeof(want), "has 12 features (12 named); this build has %d", LEAD_F_COUNT);
    expect_refused(p, want);
    unlink(p);
}

static void test_save_leaves_target_on_failure(void **state)
{
    struct lead_model_meta meta = {"lead-0123456789ab", 1.0, 0.0, NULL};
    char err[256] = "";
    (void)state;

    assert_int_equal(
        lead_model_save(booster, &meta, tmp_path("no/such/dir/lead.json"), err, sizeof(err)), -1);
    assert_non_null(strstr(err, "no/such/dir/lead.json"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_calibrate_and_score),
        cmocka_unit_test(test_reasons),
        cmocka_unit_test(test_derive),
        cmocka_unit_test(test_save_load_predict),
        cmocka_unit_test(test_predict_refuses_infinity),
        cmocka_unit_test(test_load_refusals),
        cmocka_unit_test(test_other_feature_count),
        cmocka_unit_test(test_save_leaves_target_on_failure),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
