/*
 * Unit tests for the lead trainer's pure parts (tools/train/lead_data.c,
 * lead_split.c, lead_train.c): the CSV to feature mapping (columns by
 * name, every value kind, every error naming file, line and column), the
 * stratified hold-out and folds, the split files' bytes, Platt scaling,
 * the model version and the evaluation line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "csv.h"
#include "fixture.h"
#include "lead_data.h"
#include "lead_split.h"
#include "lead_train.h"

#include "analytics/model_eval.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HEADER                                                                                     \
    "Administrative,Administrative_Duration,Informational,Informational_Duration,"                 \
    "ProductRelated,ProductRelated_Duration,BounceRates,ExitRates,PageValues,SpecialDay,Month,"    \
    "OperatingSystems,Browser,Region,TrafficType,VisitorType,Weekend,Revenue"

/* Writes text to path. */
static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Reads path whole into a new string (caller frees). */
static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = calloc(1, 65536);
    size_t n;

    assert_non_null(f);
    assert_non_null(buf);
    n = fread(buf, 1, 65535, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* Maps text as a CSV file; returns lead_data_from_csv's result. */
static int map_text(const char *text, int want_label, struct lead_data *d, char *err, size_t errlen)
{
    struct fixture_tmp t;
    struct csv c;
    int rc;

    assert_int_equal(fixture_tmp_open(&t, "test_lead_data", "data.csv"), 0);
    write_file(t.file, text);
    assert_int_equal(csv_read(&c, t.file, 1 << 20, err, errlen), 0);
    rc = lead_data_from_csv(&c, "data.csv", want_label, d, err, errlen);
    csv_free(&c);
    fixture_tmp_close(&t);
    return rc;
}

static void test_maps_uci_rows(void **state)
{
    struct lead_data d;
    char err[256] = "";
    (void)state;

    assert_int_equal(map_text(HEADER "\r\n"
                                     "1,2.5,3,4,5,60.25,0.02,0.05,12.5,0.4,Feb,1,2,3,4,"
                                     "Returning_Visitor,TRUE,FALSE\r\n"
                                     "0,0,0,0,1,0,0.2,0.2,0,0,June,1,1,1,1,New_Visitor,FALSE,"
                                     "TRUE\r\n"
                                     "0,0,0,0,1,0,0.2,0.2,0,0,Dec,1,1,1,1,Other,FALSE,FALSE\r\n",
                              1, &d, err, sizeof(err)),
                     0);
    assert_int_equal(d.rows, 3);
    const float *x = d.x;
    assert_true(x[LEAD_F_ADMIN_PAGES] == 1.0f && x[LEAD_F_ADMIN_SECONDS] == 2.5f);
    assert_true(x[LEAD_F_INFO_PAGES] == 3.0f && x[LEAD_F_INFO_SECONDS] == 4.0f);
    assert_true(x[LEAD_F_PRODUCT_PAGES] == 5.0f && x[LEAD_F_PRODUCT_SECONDS] == 60.25f);
    assert_true(x[LEAD_F_BOUNCE_RATE] == 0.02f && x[LEAD_F_EXIT_RATE] == 0.05f);
    assert_true(x[LEAD_F_PAGE_VALUE] == 12.5f && x[LEAD_F_SPECIAL_DAY] == 0.4f);
    assert_true(x[LEAD_F_MONTH] == 2.0f && x[LEAD_F_RETURNING] == 1.0f);
    assert_true(x[LEAD_F_WEEKEND] == 1.0f);
    assert_true(d.x[LEAD_F_COUNT + LEAD_F_MONTH] == 6.0f);
    assert_true(d.x[LEAD_F_COUNT + LEAD_F_RETURNING] == 0.0f);
    assert_true(d.x[LEAD_F_COUNT + LEAD_F_WEEKEND] == 0.0f);
    assert_true(d.x[2 * LEAD_F_COUNT + LEAD_F_MONTH] == 12.0f);
    assert_true(isnan(d.x[2 * LEAD_F_COUNT + LEAD_F_RETURNING]));
    assert_true(d.y[0] == 0.0f && d.y[1] == 1.0f && d.y[2] == 0.0f);
    assert_int_equal(lead_data_positives(&d), 1);
    lead_data_free(&d);
}

static void test_columns_by_name(void **state)
{
    struct lead_data d;
    char err[256] = "";
    (void)state;

    /* Reordered, an extra column, the opaque codes and the label absent
     * (not wanted). */
    assert_int_equal(map_text("Weekend,Month,Extra,VisitorType,SpecialDay,PageValues,ExitRates,"
                              "BounceRates,ProductRelated_Duration,ProductRelated,"
                              "Informational_Duration,Informational,Administrative_Duration,"
                              "Administrative\n"
                              "TRUE,Sep,zz,New_Visitor,0,7,0.1,0.01,30,3,0,0,0,2\n",
                              0, &d, err, sizeof(err)),
                     0);
    assert_int_equal(d.rows, 1);
    assert_null(d.y);
    assert_true(d.x[LEAD_F_ADMIN_PAGES] == 2.0f);
    assert_true(d.x[LEAD_F_PRODUCT_PAGES] == 3.0f);
    assert_true(d.x[LEAD_F_PAGE_VALUE] == 7.0f);
    assert_true(d.x[LEAD_F_MONTH] == 9.0f);
    assert_true(d.x[LEAD_F_WEEKEND] == 1.0f);
    assert_int_equal(lead_data_positives(&d), 0);
    lead_data_free(&d);
    /* Header only: no rows, no error here (the command refuses it). */
    assert_int_equal(map_text(HEADER "\n", 1, &d, err, sizeof(err)), 0);
    assert_int_equal(d.rows, 0);
    lead_data_free(&d);
}

static void test_errors_name_the_place(void **state)
{
    static const char row[] = "0,0,0,0,1,0,0.2,0.2,0,0,Feb,1,1,1,1,Returning_Visitor,FALSE,FALSE";
    static const char nolabel[] = "Administrative,Administrative_Duration,Informational,"
                                  "Informational_Duration,ProductRelated,"
                                  "ProductRelated_Duration,BounceRates,ExitRates,PageValues,"
                                  "SpecialDay,Month,VisitorType,Weekend";
    const struct {
        const char *header, *row, *want;
        int want_label;
    } cases[] = {
        {"Administrative,Month", "1,Feb", "data.csv: no column Administrative_Duration", 0},
        {nolabel, "0,0,0,0,1,0,0.2,0.2,0,0,Feb,Returning_Visitor,FALSE",
         "data.csv: no column Revenue", 1},
        {nolabel, "0,0,0,0,1,0,0.2,0.2,0,0,Feb,Returning_Visitor,FALSE", NULL, 0},
        {HEADER, "0,x,0,0,1,0,0.2,0.2,0,0,Feb,1,1,1,1,Returning_Visitor,FALSE,FALSE",
         "data.csv: line 3: column Administrative_Duration: 'x' is not a number", 1},
        {HEADER, "0,0,0,0,,0,0.2,0.2,0,0,Feb,1,1,1,1,Returning_Visitor,FALSE,FALSE",
         "line 3: column ProductRelated: '' is not a number", 1},
        {HEADER, "0,0,0,0,1,0,0.2,0.2,0,0,Feb,1,1,1,1,Returning_Visitor,FALSE,FALSE", NULL, 1},
        {HEADER, "0,0,0,0,1,0,0.2,0.2,nan,0,Feb,1,1,1,1,Returning_Visitor,FALSE,FALSE",
         "column PageValues: 'nan' is not a number", 1},
        {HEADER, "0,0,0,0,1,0,0.2,0.2,1e999,0,Feb,1,1,1,1,Returning_Visitor,FALSE,FALSE",
         "column PageValues: '1e999' is not a number", 1},
        {HEADER, "0,0,0,0,1,0,0.2,0.2,0,0,Febr,1,1,1,1,Returning_Visitor,FALSE,FALSE",
         "column Month: 'Febr' is not a month (Jan..Dec)", 1},
        {HEADER, "0,0,0,0,1,0,0.2,0.2,0,0,Feb,1,1,1,1,Visitor,FALSE,FALSE",
         "column VisitorType: 'Visitor' is not Returning_Visitor, New_Visitor or Other", 1},
        {HEADER, "0,0,0,0,1,0,0.2,0.2,0,0,Feb,1,1,1,1,Returning_Visitor,yes,FALSE",
         "column Weekend: 'yes' is not TRUE or FALSE", 1},
        {HEADER, "0,0,0,0,1,0,0.2,0.2,0,0,Feb,1,1,1,1,Returning_Visitor,FALSE,1",
         "column Revenue: '1' is not TRUE or FALSE", 1},
    };
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char text[1024], err[256] = "";
        struct lead_data d;
        int rc;

        /* The bad row is the file's line 3, after a good one. */
        snprintf(text, sizeof(text), "%s\n%s\n%s\n", cases[i].header,
                 strcmp(cases[i].header, HEADER) == 0 ? row : cases[i].row, cases[i].row);
        rc = map_text(text, cases[i].want_label, &d, err, sizeof(err));
        if (cases[i].want == NULL) {
            assert_int_equal(rc, 0);
            lead_data_free(&d);
            continue;
        }
        assert_int_equal(rc, -1);
        assert_null(d.x);
        if (strstr(err, cases[i].want) == NULL) {
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err, cases[i].want);
        }
    }
}

/* 100 labels, 20 positive (every fifth). */
static void labels_100(float y[100])
{
    for (int i = 0; i < 100; i++) {
        y[i] = i % 5 == 0 ? 1.0f : 0.0f;
    }
}

static void test_split_is_stratified_and_seeded(void **state)
{
    float y[100];
    unsigned a[100], b[100], c[100];
    size_t pos = 0, neg = 0, differ = 0;
    (void)state;

    labels_100(y);
    assert_int_equal(lead_data_split(y, 100, 0.3, 42, a), 0);
    assert_int_equal(lead_data_split(y, 100, 0.3, 42, b), 0);
    assert_int_equal(lead_data_split(y, 100, 0.3, 43, c), 0);
    for (int i = 0; i < 100; i++) {
        assert_true(a[i] <= 1);
        pos += a[i] && y[i] != 0.0f;
        neg += a[i] && y[i] == 0.0f;
        assert_int_equal(a[i], b[i]);
        differ += a[i] != c[i];
    }
    /* round(0.3 x 20) and round(0.3 x 80). */
    assert_int_equal(pos, 6);
    assert_int_equal(neg, 24);
    assert_true(differ > 0);
    /* round(0.25 x 20) = 5, round(0.25 x 80) = 20; 0 and 1 the extremes. */
    assert_int_equal(lead_data_split(y, 100, 0.25, 1, a), 0);
    pos = 0;
    for (int i = 0; i < 100; i++) {
        pos += a[i];
    }
    assert_int_equal(pos, 25);
    assert_int_equal(lead_data_split(y, 100, 0.0, 1, a), 0);
    assert_int_equal(lead_data_split(y, 100, 1.0, 1, b), 0);
    for (int i = 0; i < 100; i++) {
        assert_int_equal(a[i], 0);
        assert_int_equal(b[i], 1);
    }
    assert_int_equal(lead_data_split(NULL, 0, 0.3, 1, NULL), 0);
}

static void test_folds(void **state)
{
    float y[100];
    unsigned fold[100], again[100], split[100];
    size_t pos[5] = {0}, all[5] = {0}, same_as_split = 0;
    (void)state;

    labels_100(y);
    assert_int_equal(lead_data_folds(y, 100, 5, 42, fold), 0);
    assert_int_equal(lead_data_folds(y, 100, 5, 42, again), 0);
    assert_int_equal(lead_data_split(y, 100, 0.2, 42, split), 0);
    for (int i = 0; i < 100; i++) {
        assert_true(fold[i] < 5);
        assert_int_equal(fold[i], again[i]);
        pos[fold[i]] += y[i] != 0.0f;
        all[fold[i]]++;
        same_as_split += (fold[i] == 0) == (split[i] == 1);
    }
    for (int k = 0; k < 5; k++) {
        assert_int_equal(pos[k], 4);
        assert_int_equal(all[k], 20);
    }
    /* Another stream than the split's: fold 0 is not the 20% hold-out. */
    assert_true(same_as_split < 100);
    assert_int_equal(lead_data_folds(y, 100, 0, 42, fold), -1);
}

static void test_select(void **state)
{
    struct lead_data d = {0}, in = {0}, out = {0};
    unsigned group[4] = {1, 0, 1, 2};
    float x[4 * LEAD_F_COUNT], y[4] = {1, 0, 0, 1};
    (void)state;

    for (int i = 0; i < 4 * LEAD_F_COUNT; i++) {
        x[i] = (float)i;
    }
    d.rows = 4;
    d.x = x;
    d.y = y;
    assert_int_equal(lead_data_select(&d, group, 1, 1, &in), 0);
    assert_int_equal(lead_data_select(&d, group, 1, 0, &out), 0);
    assert_int_equal(in.rows, 2);
    assert_int_equal(out.rows, 2);
    assert_true(in.x[0] == 0.0f && in.x[LEAD_F_COUNT] == (float)(2 * LEAD_F_COUNT));
    assert_true(in.y[0] == 1.0f && in.y[1] == 0.0f);
    assert_true(out.x[0] == (float)LEAD_F_COUNT && out.y[1] == 1.0f);
    lead_data_free(&in);
    lead_data_free(&out);
}

static void test_split_lines(void **state)
{
    const char raw[] = "h\r\na\n\r\nlast";
    size_t n = 0;
    size_t *start = lead_split_lines(raw, strlen(raw), &n);
    (void)state;

    assert_non_null(start);
    assert_int_equal(n, 4);
    assert_int_equal(start[0], 0);
    assert_int_equal(start[1], 3);
    assert_int_equal(start[2], 5);
    assert_int_equal(start[3], 7);
    assert_int_equal(start[4], strlen(raw));
    free(start);
    start = lead_split_lines("", 0, &n);
    assert_non_null(start);
    assert_int_equal(n, 0);
    free(start);
}

static void test_split_files(void **state)
{
    /* A blank line kept out, the last line without its ending, a quoted
     * comma kept as it was. */
    const char raw[] = "a,b\r\n1,\"x,y\"\r\n2,2\r\n\r\n3,3\r\n4,4";
    unsigned test[4] = {1, 0, 0, 1};
    struct fixture_tmp t;
    char err[256] = "", a[160], b[160], *got;
    struct csv c;
    (void)state;

    assert_int_equal(fixture_tmp_open(&t, "test_lead_data", "data.csv"), 0);
    write_file(t.file, raw);
    assert_int_equal(csv_read(&c, t.file, 4096, err, sizeof(err)), 0);
    snprintf(a, sizeof(a), "%s/a.csv", t.dir);
    snprintf(b, sizeof(b), "%s/b.csv", t.dir);
    assert_int_equal(
        lead_split_files("data.csv", raw, strlen(raw), &c, test, a, b, err, sizeof(err)), 0);
    got = read_file(a);
    assert_string_equal(got, "a,b\r\n2,2\r\n3,3\r\n");
    free(got);
    got = read_file(b);
    assert_string_equal(got, "a,b\r\n1,\"x,y\"\r\n4,4\r\n");
    free(got);
    /* Into a directory that does not exist: an error, nothing left. */
    char bad[200];
    snprintf(bad, sizeof(bad), "%s/no/such.csv", t.dir);
    unlink(a);
    assert_int_equal(
        lead_split_files("data.csv", raw, strlen(raw), &c, test, a, bad, err, sizeof(err)),
        LEAD_SPLIT_EIO);
    assert_non_null(strstr(err, "no/such.csv"));
    assert_int_equal(access(a, F_OK), -1);
    csv_free(&c);
    /* A quoted line break: rows are not lines. */
    write_file(t.file, "a,b\n1,\"x\ny\"\n2,2\n");
    assert_int_equal(csv_read(&c, t.file, 4096, err, sizeof(err)), 0);
    assert_int_equal(lead_split_files("data.csv", "a,b\n1,\"x\ny\"\n2,2\n", 16, &c, test, a, b, err,
                                      sizeof(err)),
                     LEAD_SPLIT_ELINE);
    csv_free(&c);
    unlink(b);
    fixture_tmp_close(&t);
}

static void test_platt(void **state)
{
    /* 41 margins from -3 to 3, 1000 rows each, positives in proportion
     * sigmoid(2m - 1): the fit finds a = 2, b = -1 (Platt's targets move
     * it by about 1/40000). */
    enum { LEVELS = 41, PER = 1000 };
    double *m = malloc((size_t)LEVELS * PER * sizeof(*m));
    float *y = malloc((size_t)LEVELS * PER * sizeof(*y));
    double a = 0, b = 0;
    (void)state;

    assert_non_null(m);
    assert_non_null(y);
    for (int l = 0; l < LEVELS; l++) {
        double v = -3.0 + 6.0 * l / (LEVELS - 1);
        int pos = (int)lround(PER / (1.0 + exp(-(2.0 * v - 1.0))));

        for (int i = 0; i < PER; i++) {
            m[l * PER + i] = v;
            y[l * PER + i] = i < pos ? 1.0f : 0.0f;
        }
    }
    assert_int_equal(lead_train_platt(m, y, (size_t)LEVELS * PER, &a, &b), 0);
    assert_true(fabs(a - 2.0) < 0.01);
    assert_true(fabs(b + 1.0) < 0.01);
    /* Perfectly separated: Platt's targets keep it finite. */
    const double sm[4] = {-1, -1, 1, 1};
    const float sy[4] = {0, 0, 1, 1};
    assert_int_equal(lead_train_platt(sm, sy, 4, &a, &b), 0);
    assert_true(isfinite(a) && a > 0.0 && isfinite(b));
    assert_int_equal(lead_train_platt(m, y, 0, &a, &b), -1);
    free(m);
    free(y);
}

static void test_version(void **state)
{
    char v1[18], v2[18], v3[18], v4[18];
    struct lead_params p = lead_params_chosen;
    (void)state;

    lead_train_version("abc", 3, 42, 0.3, &p, v1);
    lead_train_version("abc", 3, 42, 0.3, &p, v2);
    lead_train_version("abc", 3, 43, 0.3, &p, v3);
    p.rounds++;
    lead_train_version("abc", 3, 42, 0.3, &p, v4);
    assert_string_equal(v1, v2);
    assert_string_not_equal(v1, v3);
    assert_string_not_equal(v1, v4);
    lead_train_version("abd", 3, 42, 0.3, &lead_params_chosen, v2);
    assert_string_not_equal(v1, v2);
    assert_int_equal(strlen(v1), 17);
    assert_memory_equal(v1, "lead-", 5);
    assert_int_equal(strspn(v1 + 5, "0123456789abcdef"), 12);
}

static void test_eval_json(void **state)
{
    struct model_eval e = {3699, 572, 0.9255, 0.7276, 0.8983, 0.6432, 0.0721, 0.845364};
    char buf[512];
    (void)state;

    assert_int_equal(lead_train_eval_json(&e, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "{\"rows\":3699,\"positives\":572,\"roc_auc\":0.925500,"
                             "\"pr_auc\":0.727600,\"accuracy\":0.898300,\"f1\":0.643200,"
                             "\"brier\":0.072100,\"majority_accuracy\":0.845364}");
    e.roc_auc = NAN;
    e.pr_auc = NAN;
    assert_int_equal(lead_train_eval_json(&e, buf, sizeof(buf)), 0);
    assert_non_null(strstr(buf, "\"roc_auc\":null,\"pr_auc\":null,"));
    assert_int_equal(lead_train_eval_json(&e, buf, 40), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_maps_uci_rows),
        cmocka_unit_test(test_columns_by_name),
        cmocka_unit_test(test_errors_name_the_place),
        cmocka_unit_test(test_split_is_stratified_and_seeded),
        cmocka_unit_test(test_folds),
        cmocka_unit_test(test_select),
        cmocka_unit_test(test_split_lines),
        cmocka_unit_test(test_split_files),
        cmocka_unit_test(test_platt),
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_eval_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
