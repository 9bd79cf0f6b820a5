/*
 * Unit tests for the push-gateway's audiences (services/push-gateway/
 * audiences.c, pcond.c's SQL): the shipped file; the exact WHERE clause
 * and parameters of several audiences (numbers, texts, in-lists, booleans,
 * times counted back from now, NULL-able columns, not, nesting); that no
 * value ever reaches the text (quotes, semicolons, comments stay
 * parameters); lookups by name; fields outside the column whitelist and
 * values of the wrong type refused with the audience named.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "audiences.h"
#include "fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOW_MS 1796140800000LL /* 2026-12-01T16:00:00Z */

static struct audiences *load_text(const char *text, char *err, size_t errlen)
{
    struct fixture_tmp t;
    struct audiences *a;

    assert_int_equal(fixture_tmp_write(&t, "test_pg_rules_audiences", "audiences.json", text), 0);
    a = audiences_load(t.file, err, errlen);
    fixture_tmp_close(&t);
    return a;
}

/* A file of one audience "a" with condition cond. */
static struct audiences *one(const char *cond, char *err, size_t errlen)
{
    char text[4096];
    snprintf(text, sizeof(text), "{\"version\":1,\"audiences\":[{\"name\":\"a\",\"when\":%s}]}",
             cond);
    return load_text(text, err, errlen);
}

/* Checks that cond compiles to sql with the NULL-ended params. */
static void expect(const char *cond, const char *sql, const char *const *params)
{
    char err[512] = "";
    struct pcond_sql *out = malloc(sizeof(*out));
    struct audiences *a = one(cond, err, sizeof(err));
    size_t n = 0;

    if (a == NULL) {
        fail_msg("%s: %s", cond, err);
    }
    assert_non_null(out);
    assert_int_equal(audiences_where(a, 0, NOW_MS, out), 0);
    assert_string_equal(out->text, sql);
    while (params[n] != NULL) {
        n++;
    }
    assert_int_equal(out->nparams, n);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(out->params[i], params[i]);
    }
    free(out);
    audiences_free(a);
}

static void test_compiled(void **state)
{
    (void)state;

    /* "lead score > 80 and no booking" */
    expect("{\"all\":[{\"field\":\"lead_score\",\"op\":\">\",\"value\":80},"
           "{\"field\":\"bookings_completed\",\"op\":\"=\",\"value\":0}]}",
           "(lead_score > $1::integer AND bookings_completed = $2::integer)",
           (const char *const[]){"80", "0", NULL});

    /* "price comparers seen in the last 7 days" */
    expect("{\"all\":[{\"any\":[{\"field\":\"segment\",\"op\":\"=\",\"value\":\"price comparer\"},"
           "{\"field\":\"pricing_views\",\"op\":\">=\",\"value\":3}]},"
           "{\"field\":\"last_seen_at\",\"op\":\">=\",\"days_ago\":7}]}",
           "(((segment IS NOT NULL AND segment = $1::text) OR pricing_views >= $2::integer) AND "
           "last_seen_at >= $3::timestamptz)",
           (const char *const[]){"price comparer", "3", "2026-11-24T16:00:00.000Z", NULL});

    /* a fraction of a day, a real column, a boolean, not */
    expect("{\"all\":[{\"field\":\"first_seen_at\",\"op\":\"<\",\"days_ago\":0.5},"
           "{\"field\":\"churn_risk\",\"op\":\">=\",\"value\":0.65},"
           "{\"field\":\"returning_visitor\",\"op\":\"!=\",\"value\":false},"
           "{\"not\":{\"field\":\"journey_stage\",\"op\":\"in\",\"value\":[\"conversion\","
           "\"consideration\"]}}]}",
           "(first_seen_at < $1::timestamptz AND (churn_risk IS NOT NULL AND churn_risk >= "
           "$2::real) AND returning_visitor <> $3::boolean AND NOT (journey_stage IS NOT NULL "
           "AND journey_stage IN ($4::text, $5::text)))",
           (const char *const[]){"2026-12-01T04:00:00.000Z", "0.65", "false", "conversion",
                                 "consideration", NULL});

    /* one term alone; bigint; a negative whole number */
    expect("{\"field\":\"total_time_s\",\"op\":\"<=\",\"value\":3600}",
           "total_time_s <= $1::bigint", (const char *const[]){"3600", NULL});
    expect("{\"not\":{\"field\":\"sessions\",\"op\":\">\",\"value\":-1}}",
           "NOT sessions > $1::integer", (const char *const[]){"-1", NULL});
}

/* Whatever a value holds goes into a parameter as it is. */
static void test_values_never_in_text(void **state)
{
    (void)state;

    expect("{\"field\":\"segment\",\"op\":\"in\",\"value\":[\"x'; DROP TABLE t; --\","
           "\"$1\",\"a\\\"b\",\"\\u00e9t\\u00e9\"]}",
           "(segment IS NOT NULL AND segment IN ($1::text, $2::text, $3::text, $4::text))",
           (const char *const[]){"x'; DROP TABLE t; --", "$1", "a\"b", "\xc3\xa9t\xc3\xa9", NULL});
}

static void test_shipped_file(void **state)
{
    char err[512] = "";
    struct pcond_sql *out = malloc(sizeof(*out));
    (void)state;

    struct audiences *a =
        audiences_load(ANALYTICS_TEST_SOURCE_DIR "/deploy/config/audiences.json", err, sizeof(err));
    if (a == NULL) {
        fail_msg("%s", err);
    }
    assert_non_null(out);
    assert_int_equal(audiences_count(a), 7);
    assert_int_equal(audiences_find(a, "hot-leads-no-booking"), 0);
    assert_int_equal(audiences_find(a, "nonsuch"), -1);
    assert_int_equal(audiences_find(a, NULL), -1);
    assert_string_equal(audiences_description(a, 0), "Lead score over 80 and no booking yet");
    long i = audiences_find(a, "price-comparers-7d");
    assert_true(i >= 0);
    assert_int_equal(audiences_where(a, (size_t)i, NOW_MS, out), 0);
    assert_string_equal(out->params[2], "2026-11-24T16:00:00.000Z");
    for (size_t k = 0; k < audiences_count(a); k++) {
        assert_int_equal(audiences_where(a, k, NOW_MS, out), 0);
        assert_true(out->nparams > 0);
        assert_null(strchr(out->text, '\'')); /* no literal in any clause */
    }
    assert_int_equal(audiences_where(a, audiences_count(a), NOW_MS, out), -1);
    free(out);
    audiences_free(a);
}

static void test_refused(void **state)
{
    static const struct {
        const char *cond, *want;
    } cases[] = {
        /* a personalisation field, not a column */
        {"{\"field\":\"persona\",\"op\":\"=\",\"value\":\"x\"}",
         "audience 1 \"a\": when.field: unknown field \"persona\" (known: lead_score, "},
        {"{\"field\":\"fingerprint\",\"op\":\"=\",\"value\":\"x\"}",
         "unknown field \"fingerprint\""},
        {"{\"field\":\"lead_score; DROP\",\"op\":\"=\",\"value\":1}", "unknown field"},
        {"{\"field\":\"lead_score\",\"op\":\">\",\"value\":80.5}",
         "when.value: lead_score takes a whole number"},
        {"{\"field\":\"churn_risk\",\"op\":\">\",\"value\":\"0.5\"}",
         "when.value: churn_risk takes a number"},
        {"{\"field\":\"last_seen_at\",\"op\":\">=\",\"value\":7}",
         "when: last_seen_at is a time: give \"days_ago\""},
        {"{\"field\":\"last_seen_at\",\"op\":\"=\",\"days_ago\":7}",
         "when.op: \"=\" does not apply to the time field last_seen_at"},
        {"{\"field\":\"last_seen_at\",\"op\":\">=\",\"days_ago\":-1}", "days_ago"},
        {"{\"field\":\"last_seen_at\",\"op\":\">=\",\"days_ago\":100000}", "days_ago"},
        {"{\"field\":\"lead_score\",\"op\":\">=\",\"days_ago\":1}",
         "when.days_ago: lead_score is not a time field"},
        {"{\"field\":\"returning_visitor\",\"op\":\"=\",\"value\":1}",
         "returning_visitor takes true or false"},
        {"{\"field\":\"returning_visitor\",\"op\":\"<\",\"value\":true}",
         "does not apply to the boolean field"},
    };
    char err[512];
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        err[0] = '\0';
        struct audiences *a = one(cases[i].cond, err, sizeof(err));
        if (a != NULL || strstr(err, cases[i].want) == NULL ||
            strstr(err, "audiences.json") == NULL) {
            fail_msg("case %zu: got \"%s\", want \"%s\"", i, err, cases[i].want);
        }
    }
}

/* More parameters than a clause may have are refused at load, naming the
 * audience, so a loaded one always compiles. */
static void test_too_many_params(void **state)
{
    char text[16384], err[512] = "";
    size_t used = 0;
    (void)state;

    fixture_appendf(text, sizeof(text), &used,
                    "{\"version\":1,\"audiences\":[{\"name\":\"big\",\"when\":{\"any\":[");
    for (int t = 0; t < 3; t++) { /* 3 x 32 = 96 parameters */
        fixture_appendf(text, sizeof(text), &used,
                        "%s{\"field\":\"segment\",\"op\":\"in\",\"value\":[", t ? "," : "");
        for (int i = 0; i < PCOND_IN_MAX; i++) {
            fixture_appendf(text, sizeof(text), &used, "%s\"s%d\"", i ? "," : "", i);
        }
        fixture_appendf(text, sizeof(text), &used, "]}");
    }
    fixture_appendf(text, sizeof(text), &used, "]}}]}");
    assert_null(load_text(text, err, sizeof(err)));
    assert_non_null(strstr(err, "audience 1 \"big\": its SQL would pass"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compiled),        cmocka_unit_test(test_values_never_in_text),
        cmocka_unit_test(test_shipped_file),    cmocka_unit_test(test_refused),
        cmocka_unit_test(test_too_many_params),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
