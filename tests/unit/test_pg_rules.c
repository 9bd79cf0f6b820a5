/*
 * Unit tests for the push-gateway's personalisation rules (services/
 * push-gateway/prules.c, pcond.c): the shipped file and what it answers
 * for typical visitors; first match wins, in file order; the default for
 * no profile and for a profile no rule fits; lead score bands at their
 * thresholds; all/any/not; fields read strictly from the Redis hash
 * (missing, empty or unparsable: a false term, never a crash); numbers
 * parsed strictly; and the time of one evaluation over 50 rules (printed).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fixture.h"
#include "prules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NOW_MS 1796140800000LL /* 2026-12-01T16:00:00Z */

static struct prules *load_text(const char *text, char *err, size_t errlen)
{
    struct fixture_tmp t;
    struct prules *r;

    assert_int_equal(fixture_tmp_write(&t, "test_pg_rules", "personalize.json", text), 0);
    r = prules_load(t.file, err, errlen);
    fixture_tmp_close(&t);
    return r;
}

/* Sets the profile from "field=value" pairs, NULL-ended. */
static void profile(struct prules_profile *p, const char *const *pairs)
{
    static char buf[32][128];
    prules_profile_init(p, NOW_MS);
    for (size_t i = 0; pairs[i] != NULL; i++) {
        snprintf(buf[i], sizeof(buf[i]), "%s", pairs[i]);
        char *eq = strchr(buf[i], '=');
        assert_non_null(eq);
        *eq = '\0';
        (void)prules_profile_set(p, buf[i], eq + 1);
    }
}

static void test_shipped_file(void **state)
{
    char err[512] = "";
    struct prules_profile p;
    struct prules_answer a;
    (void)state;

    struct prules *r =
        prules_load(ANALYTICS_TEST_SOURCE_DIR "/deploy/config/personalize.json", err, sizeof(err));
    if (r == NULL) {
        fail_msg("%s", err);
    }
    assert_int_equal(prules_count(r), 8);

    a = prules_eval(r, NULL);
    assert_null(a.rule);
    assert_string_equal(a.id, "welcome");
    assert_string_equal(prules_band_name(a.band), "low");
    assert_non_null(strstr(a.content_json, "\"type\":\"banner\""));

    /* the scorer's hash of a price comparer, as outputs.c writes it */
    profile(&p, (const char *const[]){"lead_score=55", "conversion_probability=0.4100",
                                      "churn_risk=", "persona=price comparer",
                                      "stage=consideration", "sessions=3", "page_views=14",
                                      "pricing_views=4", "bookings_completed=0", "returning=1",
                                      "last_seen_ms=1796137200000", "model_version=lead-1",
                                      "reasons=[\"pricing_views\"]", NULL});
    a = prules_eval(r, &p);
    assert_string_equal(a.rule, "price-comparer-discount");
    assert_string_equal(a.id, "offer-10pct");
    assert_string_equal(prules_band_name(a.band), "medium");
    assert_non_null(strstr(a.content_json, "COMPARE10"));

    /* hot, no booking */
    profile(&p, (const char *const[]){"lead_score=91", "persona=high-intent booker",
                                      "bookings_completed=0", NULL});
    a = prules_eval(r, &p);
    assert_string_equal(a.rule, "hot-lead-booking-nudge");
    assert_int_equal(a.band, PRULES_HOT);

    /* a customer at risk; churn_risk known */
    profile(&p, (const char *const[]){"lead_score=20", "churn_risk=0.8100", "bookings_completed=1",
                                      "persona=loyal booker", NULL});
    assert_string_equal(prules_eval(r, &p).rule, "customer-winback");

    /* returning, seen two hours ago, nothing else fits */
    profile(&p, (const char *const[]){"lead_score=10", "returning=1", "bookings_completed=0",
                                      "last_seen_ms=1796133600000", NULL});
    assert_string_equal(prules_eval(r, &p).rule, "returning-visitor-welcome");

    /* a profile no rule fits gets the default, with its band */
    profile(&p, (const char *const[]){"lead_score=75", "returning=0", NULL});
    a = prules_eval(r, &p);
    assert_null(a.rule);
    assert_string_equal(a.id, "welcome");
    assert_int_equal(a.band, PRULES_HIGH);
    prules_free(r);
}

static const char *const two_rules =
    "{\"version\":1,\"bands\":{\"medium\":40,\"high\":70,\"hot\":85},"
    "\"default\":{\"id\":\"d\"},"
    "\"rules\":["
    "{\"name\":\"first\",\"when\":{\"field\":\"pricing_views\",\"op\":\">=\",\"value\":2},"
    " \"answer\":{\"id\":\"a1\",\"message\":\"m1\",\"content\":{\"k\":[1,2]}}},"
    "{\"name\":\"second\",\"when\":{\"field\":\"pricing_views\",\"op\":\">=\",\"value\":1},"
    " \"answer\":{\"id\":\"a2\"}}]}";

static void test_first_match_and_default(void **state)
{
    char err[512] = "";
    struct prules_profile p;
    struct prules_answer a;
    (void)state;

    struct prules *r = load_text(two_rules, err, sizeof(err));
    if (r == NULL) {
        fail_msg("%s", err);
    }
    profile(&p, (const char *const[]){"pricing_views=5", NULL});
    a = prules_eval(r, &p);
    assert_string_equal(a.rule, "first"); /* both hold: the earlier wins */
    assert_string_equal(a.message, "m1");
    assert_string_equal(a.content_json, "{\"k\":[1,2]}");
    profile(&p, (const char *const[]){"pricing_views=1", NULL});
    a = prules_eval(r, &p);
    assert_string_equal(a.rule, "second");
    assert_string_equal(a.message, "");
    assert_string_equal(a.content_json, "null");
    profile(&p, (const char *const[]){"pricing_views=0", NULL});
    assert_null(prules_eval(r, &p).rule);
    prules_free(r);
}

static void test_bands(void **state)
{
    char err[512] = "";
    (void)state;

    struct prules *r = load_text(two_rules, err, sizeof(err));
    assert_non_null(r);
    assert_int_equal(prules_band_of(r, 0), PRULES_LOW);
    assert_int_equal(prules_band_of(r, 39.99), PRULES_LOW);
    assert_int_equal(prules_band_of(r, 40), PRULES_MEDIUM);
    assert_int_equal(prules_band_of(r, 69), PRULES_MEDIUM);
    assert_int_equal(prules_band_of(r, 70), PRULES_HIGH);
    assert_int_equal(prules_band_of(r, 84.5), PRULES_HIGH);
    assert_int_equal(prules_band_of(r, 85), PRULES_HOT);
    assert_int_equal(prules_band_of(r, 100), PRULES_HOT);
    assert_string_equal(prules_band_name(PRULES_MEDIUM), "medium");
    assert_string_equal(prules_band_name(PRULES_HOT), "hot");
    prules_free(r);
}

/* A file of one rule with condition cond (JSON text). */
static struct prules *one_rule(const char *cond)
{
    char text[2048], err[512] = "";
    snprintf(text, sizeof(text),
             "{\"version\":1,\"bands\":{\"medium\":40,\"high\":70,\"hot\":85},"
             "\"default\":{\"id\":\"d\"},\"rules\":[{\"name\":\"r\",\"when\":%s,"
             "\"answer\":{\"id\":\"yes\"}}]}",
             cond);
    struct prules *r = load_text(text, err, sizeof(err));
    if (r == NULL) {
        fail_msg("%s", err);
    }
    return r;
}

/* Whether the one rule of r holds for the profile pairs. */
static bool holds(const struct prules *r, const char *const *pairs)
{
    struct prules_profile p;
    profile(&p, pairs);
    return prules_eval(r, &p).rule != NULL;
}

static void test_operators(void **state)
{
    static const struct {
        const char *cond;
        const char *pair;
        bool want;
    } cases[] = {
        {"{\"field\":\"lead_score\",\"op\":\"=\",\"value\":50}", "lead_score=50", true},
        {"{\"field\":\"lead_score\",\"op\":\"=\",\"value\":50}", "lead_score=50.0", true},
        {"{\"field\":\"lead_score\",\"op\":\"=\",\"value\":50}", "lead_score=51", false},
        {"{\"field\":\"lead_score\",\"op\":\"!=\",\"value\":50}", "lead_score=51", true},
        {"{\"field\":\"lead_score\",\"op\":\"!=\",\"value\":50}", "lead_score=50", false},
        {"{\"field\":\"lead_score\",\"op\":\"<\",\"value\":50}", "lead_score=49", true},
        {"{\"field\":\"lead_score\",\"op\":\"<\",\"value\":50}", "lead_score=50", false},
        {"{\"field\":\"lead_score\",\"op\":\"<=\",\"value\":50}", "lead_score=50", true},
        {"{\"field\":\"lead_score\",\"op\":\">\",\"value\":50}", "lead_score=50", false},
        {"{\"field\":\"lead_score\",\"op\":\">\",\"value\":50}", "lead_score=50.5", true},
        {"{\"field\":\"lead_score\",\"op\":\">=\",\"value\":50}", "lead_score=50", true},
        {"{\"field\":\"churn_risk\",\"op\":\">=\",\"value\":0.7}", "churn_risk=0.7000", true},
        {"{\"field\":\"churn_risk\",\"op\":\">=\",\"value\":0.7}", "churn_risk=6.9e-1", false},
        {"{\"field\":\"persona\",\"op\":\"=\",\"value\":\"price comparer\"}",
         "persona=price comparer", true},
        {"{\"field\":\"persona\",\"op\":\"=\",\"value\":\"price comparer\"}",
         "persona=Price comparer", false},
        {"{\"field\":\"persona\",\"op\":\"!=\",\"value\":\"x\"}", "persona=y", true},
        {"{\"field\":\"persona\",\"op\":\"in\",\"value\":[\"a\",\"b\",\"c\"]}", "persona=c", true},
        {"{\"field\":\"persona\",\"op\":\"in\",\"value\":[\"a\",\"b\",\"c\"]}", "persona=d", false},
        {"{\"field\":\"stage\",\"op\":\"=\",\"value\":\"interest\"}", "stage=interest", true},
        {"{\"field\":\"first_channel\",\"op\":\"=\",\"value\":\"email\"}", "first_channel=email",
         true},
        {"{\"field\":\"first_device\",\"op\":\"in\",\"value\":[\"mobile\",\"tablet\"]}",
         "first_device=tablet", true},
        {"{\"field\":\"returning\",\"op\":\"=\",\"value\":true}", "returning=1", true},
        {"{\"field\":\"returning\",\"op\":\"=\",\"value\":true}", "returning=0", false},
        {"{\"field\":\"returning\",\"op\":\"!=\",\"value\":true}", "returning=0", true},
        {"{\"field\":\"bookings_started\",\"op\":\">\",\"value\":0}", "bookings_started=2", true},
        /* two hours ago */
        {"{\"field\":\"seconds_since_last_seen\",\"op\":\">=\",\"value\":7200}",
         "last_seen_ms=1796133600000", true},
        {"{\"field\":\"seconds_since_last_seen\",\"op\":\">\",\"value\":7200}",
         "last_seen_ms=1796133600000", false},
        {"{\"field\":\"seconds_since_first_seen\",\"op\":\">=\",\"value\":86400}",
         "first_seen_ms=1796054400000", true},
        /* seen "after now" (clocks): just now */
        {"{\"field\":\"seconds_since_last_seen\",\"op\":\"=\",\"value\":0}",
         "last_seen_ms=1796140900000", true},
        {"{\"field\":\"lead_band\",\"op\":\"=\",\"value\":\"high\"}", "lead_score=70", true},
        {"{\"field\":\"lead_band\",\"op\":\"=\",\"value\":\"high\"}", "lead_score=69", false},
    };
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct prules *r = one_rule(cases[i].cond);
        bool got = holds(r, (const char *const[]){cases[i].pair, NULL});
        if (got != cases[i].want) {
            fail_msg("case %zu: %s with %s gave %d", i, cases[i].cond, cases[i].pair, got);
        }
        prules_free(r);
    }
}

/* A missing, empty or unparsable field makes every term on it false, so
 * "not" of such a term is true. */
static void test_missing_and_unparsable(void **state)
{
    static const char *const bad[] = {"lead_score=",     "lead_score= 50", "lead_score=50 ",
                                      "lead_score=0x32", "lead_score=inf", "lead_score=nan",
                                      "lead_score=5e",   "lead_score=.5",  "lead_score=5.",
                                      "lead_score=+5",   "lead_score=--5", "lead_score=50abc",
                                      "lead_score=1e999"};
    (void)state;

    struct prules *ge = one_rule("{\"field\":\"lead_score\",\"op\":\">=\",\"value\":0}");
    struct prules *lt = one_rule("{\"field\":\"lead_score\",\"op\":\"<\",\"value\":0}");
    struct prules *neg = one_rule("{\"not\":{\"field\":\"lead_score\",\"op\":\">=\",\"value\":0}}");
    struct prules *band = one_rule("{\"field\":\"lead_band\",\"op\":\"=\",\"value\":\"low\"}");
    struct prules *ne = one_rule("{\"field\":\"persona\",\"op\":\"!=\",\"value\":\"x\"}");

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *const pairs[] = {bad[i], NULL};
        if (holds(ge, pairs) || holds(lt, pairs) || !holds(neg, pairs) || holds(band, pairs)) {
            fail_msg("%s was taken as a number", bad[i]);
        }
    }
    assert_false(holds(ge, (const char *const[]){NULL}));
    assert_true(holds(neg, (const char *const[]){NULL}));
    assert_false(holds(ne, (const char *const[]){NULL}));
    assert_false(holds(ne, (const char *const[]){"persona=", NULL})); /* "" is no persona */
    assert_true(holds(ne, (const char *const[]){"persona=y", NULL}));

    /* the return codes of prules_profile_set */
    struct prules_profile p;
    prules_profile_init(&p, NOW_MS);
    assert_int_equal(prules_profile_set(&p, "lead_score", "12"), 0);
    assert_int_equal(prules_profile_set(&p, "lead_score", "x"), -1);
    assert_false(p.v.have[PRULES_F_LEAD_SCORE]); /* a bad value unsets an earlier one */
    assert_int_equal(prules_profile_set(&p, "returning", "2"), -1);
    assert_int_equal(prules_profile_set(&p, "model_version", "lead-1"), 1);
    assert_int_equal(prules_profile_set(&p, "lead_band", "hot"), 1); /* derived, not read */
    assert_int_equal(prules_profile_set(&p, "persona", ""), -1);
    assert_int_equal(prules_profile_set(&p, "persona", NULL), -1);
    assert_int_equal(prules_profile_set(&p, "lead_score", NULL), -1);

    prules_free(ge);
    prules_free(lt);
    prules_free(neg);
    prules_free(band);
    prules_free(ne);
}

/* An HGETALL reply as hiredis gives it: field, value, field, value. */
static void test_profile_hash(void **state)
{
    static const char *const fv[] = {
        "lead_score", "88", "persona", "price comparer",     "churn_risk", "",        "sessions",
        "2x",         NULL, "ignored", "bookings_completed", "0",          "dangling"};
    struct prules_profile p;
    char err[512] = "";
    (void)state;

    assert_int_equal(prules_profile_hash(&p, NOW_MS, fv, sizeof(fv) / sizeof(fv[0])), 2);
    assert_true(p.v.have[PRULES_F_LEAD_SCORE]);
    assert_false(p.v.have[PRULES_F_CHURN_RISK]);
    assert_false(p.v.have[PRULES_F_SESSIONS]);
    assert_string_equal(p.v.text[PRULES_F_PERSONA], "price comparer");
    assert_int_equal(prules_profile_set(&p, NULL, "x"), 1);

    struct prules *r =
        prules_load(ANALYTICS_TEST_SOURCE_DIR "/deploy/config/personalize.json", err, sizeof(err));
    assert_non_null(r);
    struct prules_answer a = prules_eval(r, &p);
    assert_string_equal(a.rule, "hot-lead-booking-nudge"); /* before the price comparers' rule */
    assert_int_equal(a.band, PRULES_HOT);
    assert_int_equal(prules_profile_hash(&p, NOW_MS, fv, 0), 0);
    assert_null(prules_eval(r, &p).rule);
    prules_free(r);
}

static void test_combinators(void **state)
{
    (void)state;
    struct prules *r = one_rule(
        "{\"all\":[{\"field\":\"sessions\",\"op\":\">=\",\"value\":2},"
        "{\"any\":[{\"field\":\"persona\",\"op\":\"=\",\"value\":\"a\"},"
        "{\"not\":{\"field\":\"pricing_views\",\"op\":\"<\",\"value\":3}}]},"
        "{\"not\":{\"any\":[{\"field\":\"stage\",\"op\":\"=\",\"value\":\"conversion\"}]}}]}");

    assert_true(holds(r, (const char *const[]){"sessions=2", "persona=a", NULL}));
    assert_true(holds(r, (const char *const[]){"sessions=2", "pricing_views=3", NULL}));
    /* pricing_views missing: "<3" false, so its not is true */
    assert_true(holds(r, (const char *const[]){"sessions=2", NULL}));
    assert_false(holds(r, (const char *const[]){"sessions=2", "pricing_views=2", NULL}));
    assert_false(holds(r, (const char *const[]){"sessions=1", "persona=a", NULL}));
    assert_false(
        holds(r, (const char *const[]){"sessions=5", "persona=a", "stage=conversion", NULL}));
    prules_free(r);

    /* the deepest nesting allowed works */
    char cond[1024] = "";
    size_t cn = 0;
    for (int i = 0; i < PCOND_DEPTH_MAX; i++) {
        fixture_appendf(cond, sizeof(cond), &cn, "{\"not\":");
    }
    fixture_appendf(cond, sizeof(cond), &cn, "{\"field\":\"sessions\",\"op\":\">\",\"value\":1}");
    for (int i = 0; i < PCOND_DEPTH_MAX; i++) {
        fixture_appendf(cond, sizeof(cond), &cn, "}");
    }
    r = one_rule(cond); /* an even number of nots */
    assert_true(holds(r, (const char *const[]){"sessions=2", NULL}));
    assert_false(holds(r, (const char *const[]){"sessions=1", NULL}));
    prules_free(r);
}

static void test_number(void **state)
{
    double x = 0;
    (void)state;

    assert_int_equal(pcond_number("0", &x), 0);
    assert_int_equal(pcond_number("-12.5e2", &x), 0);
    assert_true(x == -1250);
    assert_int_equal(pcond_number("0.4100", &x), 0);
    assert_true(x == 0.41);
    assert_int_equal(pcond_number("1796140800000", &x), 0);
    assert_true(x == 1796140800000.0);
    assert_int_equal(pcond_number("", &x), -1);
    assert_int_equal(pcond_number(NULL, &x), -1);
    assert_int_equal(pcond_number("-", &x), -1);
    assert_int_equal(pcond_number("1e+", &x), -1);
    assert_int_equal(pcond_number("Infinity", &x), -1);
    assert_int_equal(pcond_number("1\n", &x), -1);
    /* 70 digits: past what a field holds */
    assert_int_equal(
        pcond_number("1234567890123456789012345678901234567890123456789012345678901234567890", &x),
        -1);
}

static double elapsed_ns(const struct timespec *t0, const struct timespec *t1)
{
    return (double)(t1->tv_sec - t0->tv_sec) * 1e9 + (double)(t1->tv_nsec - t0->tv_nsec);
}

/* 50 rules none of which holds, so every evaluation tries them all: the
 * worst case for first-match-wins. */
static void test_speed(void **state)
{
    char *text = malloc(65536), err[512] = "";
    size_t used = 0;
    struct prules_profile p;
    (void)state;

    assert_non_null(text);
    fixture_appendf(text, 65536, &used,
                    "{\"version\":1,\"bands\":{\"medium\":40,\"high\":70,\"hot\":85},"
                    "\"default\":{\"id\":\"d\"},\"rules\":[");
    for (int i = 0; i < 50; i++) {
        fixture_appendf(
            text, 65536, &used,
            "%s{\"name\":\"r%d\",\"when\":{\"all\":["
            "{\"field\":\"lead_score\",\"op\":\">=\",\"value\":%d},"
            "{\"field\":\"persona\",\"op\":\"in\",\"value\":[\"a\",\"b\",\"price comparer\"]},"
            "{\"any\":[{\"field\":\"churn_risk\",\"op\":\"<\",\"value\":0.5},"
            "{\"not\":{\"field\":\"stage\",\"op\":\"=\",\"value\":\"conversion\"}}]},"
            "{\"field\":\"pricing_views\",\"op\":\">\",\"value\":100}]},"
            "\"answer\":{\"id\":\"a%d\",\"content\":{\"n\":%d}}}",
            i > 0 ? "," : "", i, i, i, i);
    }
    fixture_appendf(text, 65536, &used, "]}");
    struct prules *r = load_text(text, err, sizeof(err));
    if (r == NULL) {
        fail_msg("%s", err);
    }
    free(text);

    const char *const f[] = {"lead_score",
                             "conversion_probability",
                             "churn_risk",
                             "persona",
                             "stage",
                             "sessions",
                             "page_views",
                             "pricing_views",
                             "bookings_completed",
                             "returning",
                             "last_seen_ms",
                             "model_version",
                             "reasons"};
    const char *const v[] = {
        "77", "0.6100", "0.2000",        "price comparer", "consideration", "4", "31", "6",
        "0",  "1",      "1796137200000", "lead-1",         "[\"x\",\"y\"]"};
    enum { N = 200000 };
    struct timespec t0, t1;
    size_t defaults = 0;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < N; i++) {
        prules_profile_init(&p, NOW_MS);
        for (size_t k = 0; k < sizeof(f) / sizeof(f[0]); k++) {
            (void)prules_profile_set(&p, f[k], v[k]);
        }
        defaults += prules_eval(r, &p).rule == NULL;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double both = elapsed_ns(&t0, &t1) / N;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < N; i++) {
        defaults += prules_eval(r, &p).rule == NULL;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("prules: 50 rules, none holding: %.0f ns per evaluation with the 13 hash fields "
           "parsed, %.0f ns for the evaluation alone\n",
           both, elapsed_ns(&t0, &t1) / N);
    assert_int_equal(defaults, 2 * N);
    prules_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shipped_file),
        cmocka_unit_test(test_first_match_and_default),
        cmocka_unit_test(test_bands),
        cmocka_unit_test(test_operators),
        cmocka_unit_test(test_missing_and_unparsable),
        cmocka_unit_test(test_profile_hash),
        cmocka_unit_test(test_combinators),
        cmocka_unit_test(test_number),
        cmocka_unit_test(test_speed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
