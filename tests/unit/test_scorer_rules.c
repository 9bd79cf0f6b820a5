/*
 * Unit tests for the scorer's rules (services/scorer/rules.c): the shipped
 * file, defaults when keys are left out, categories and pricing pages, the
 * counters an event counts for (with "type.key=value" entries and scroll
 * depths, event_data malformed or deep), the SpecialDay feature around a
 * date, and every error the loader gives.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "analytics/tz.h"
#include "fixture.h"
#include "rules.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct scorer_rules *load_text(const char *text, char *err, size_t errlen)
{
    struct fixture_tmp t;
    struct scorer_rules *r;
    FILE *f;

    assert_int_equal(fixture_tmp_open(&t, "test_scorer_rules", "scorer.json"), 0);
    f = fopen(t.file, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    r = scorer_rules_load(t.file, err, errlen);
    fixture_tmp_close(&t);
    return r;
}

static void test_shipped_file(void **state)
{
    char err[512] = "";
    int depth = 0;
    (void)state;

    struct scorer_rules *r =
        scorer_rules_load(ANALYTICS_TEST_SOURCE_DIR "/deploy/config/scorer.json", err, sizeof(err));
    if (r == NULL) {
        fail_msg("%s", err);
    }
    assert_int_equal(scorer_rules_category(r, "pricing"), PAGE_CAT_PRODUCT);
    assert_int_equal(scorer_rules_category(r, "contact"), PAGE_CAT_INFO);
    assert_int_equal(scorer_rules_category(r, "account"), PAGE_CAT_ADMIN);
    assert_int_equal(scorer_rules_category(r, "nonsuch"), PAGE_CAT_NONE);
    assert_int_equal(scorer_rules_category(r, NULL), PAGE_CAT_NONE);
    assert_true(scorer_rules_pricing_page(r, "pricing"));
    assert_false(scorer_rules_pricing_page(r, "service"));
    assert_int_equal(scorer_rules_classify(r, "booking_completed", "{}", &depth),
                     1u << SCORER_EV_BOOKING_COMPLETED);
    assert_int_equal(scorer_rules_classify(r, "form_start", NULL, &depth),
                     1u << SCORER_EV_FORM_STARTED);
    assert_int_equal(scorer_rules_classify(r, "form_interaction", "{\"action\":\"start\"}", &depth),
                     1u << SCORER_EV_FORM_STARTED);
    assert_int_equal(scorer_rules_classify(r, "form_interaction", "{\"action\":\"focus\"}", &depth),
                     0);
    assert_int_equal(scorer_rules_classify(r, "form_interaction", "{\"action\":7}", &depth), 0);
    assert_int_equal(scorer_rules_classify(r, "form_interaction", "not json", &depth), 0);
    assert_int_equal(scorer_rules_classify(r, "scroll", "{\"depth_pct\":75}", &depth),
                     1u << SCORER_EV_SCROLL);
    assert_int_equal(depth, 75);
    assert_int_equal(scorer_rules_classify(r, "scroll_milestone", "{\"percent\":250}", &depth),
                     1u << SCORER_EV_SCROLL);
    assert_int_equal(depth, 100);
    assert_int_equal(scorer_rules_classify(r, "scroll", "{\"depth_pct\":\"75\"}", &depth),
                     1u << SCORER_EV_SCROLL);
    assert_int_equal(depth, -1);
    assert_int_equal(scorer_rules_classify(r, "page_view", "{}", &depth), 0);
    assert_int_equal(scorer_rules_classify(r, NULL, NULL, &depth), 0);
    scorer_rules_free(r);
}

static void test_defaults_and_deep_data(void **state)
{
    char err[512] = "";
    char deep[20000];
    int depth = 0;
    size_t n = 0;
    (void)state;

    struct scorer_rules *r = load_text("{\"version\":1}", err, sizeof(err));
    assert_non_null(r);
    assert_int_equal(scorer_rules_category(r, "service"), PAGE_CAT_PRODUCT);
    assert_true(scorer_rules_pricing_page(r, "pricing"));
    assert_int_equal(scorer_rules_classify(r, "rage_click", NULL, &depth),
                     1u << SCORER_EV_RAGE_CLICK);
    /* event_data nested deeper than cJSON takes: no property, no crash. */
    n += (size_t)snprintf(deep, sizeof(deep), "{\"action\":\"start\",\"x\":");
    while (n < sizeof(deep) / 2) {
        deep[n++] = '[';
    }
    deep[n] = '\0';
    assert_int_equal(scorer_rules_classify(r, "form_interaction", deep, &depth), 0);
    scorer_rules_free(r);

    /* A category left out of a file that has the key holds no types. */
    r = load_text("{\"version\":1,\"page_categories\":{\"informational\":[\"blog\"]}}", err,
                  sizeof(err));
    assert_non_null(r);
    assert_int_equal(scorer_rules_category(r, "blog"), PAGE_CAT_INFO);
    assert_int_equal(scorer_rules_category(r, "service"), PAGE_CAT_NONE);
    scorer_rules_free(r);
}

static void test_special_day(void **state)
{
    char err[512] = "";
    (void)state;

    struct scorer_rules *r =
        load_text("{\"version\":1,\"special_days\":[\"2026-02-14\"]}", err, sizeof(err));
    assert_non_null(r);
    long long v = tz_days_from_civil(2026, 2, 14);
    /* UCI: nonzero from February 2 to 12, 1 on February 8. */
    assert_true(scorer_special_day(r, v - 13) == 0.0);
    assert_true(scorer_special_day(r, v - 12) > 0.0);
    assert_true(scorer_special_day(r, v - 6) == 1.0);
    assert_true(scorer_special_day(r, v - 2) > 0.0);
    assert_true(scorer_special_day(r, v - 1) == 0.0);
    assert_true(scorer_special_day(r, v) == 0.0);
    for (long long d = v - 12; d < v - 6; d++) {
        assert_true(scorer_special_day(r, d) <= scorer_special_day(r, d + 1));
    }
    for (long long d = v - 15; d < v + 3; d++) {
        double x = scorer_special_day(r, d);
        assert_true(x >= 0.0 && x <= 1.0);
        assert_true(fabs(x * 5.0 - round(x * 5.0)) < 1e-9); /* steps of 0.2 */
    }
    scorer_rules_free(r);
}

static void test_errors(void **state)
{
    const struct {
        const char *text, *want;
    } cases[] = {
        {"[]", "not a JSON object"},
        {"{\"version\":2}", "\"version\" must be 1"},
        {"{\"version\":1,\"typo\":1}", "unknown key \"typo\""},
        {"{\"version\":1,\"page_categories\":[]}", "\"page_categories\" must be an object"},
        {"{\"version\":1,\"page_categories\":{\"admin\":[]}}", "unknown key \"admin\""},
        {"{\"version\":1,\"page_categories\":{\"informational\":[\"a\"],\"product_related\":[\"a\"]"
         "}}",
         "\"a\" is in both informational and product_related"},
        {"{\"version\":1,\"page_categories\":{\"informational\":[\"a\",\"a\"]}}",
         "informational[1]: \"a\" is listed twice"},
        {"{\"version\":1,\"page_categories\":{\"informational\":[\"\"]}}",
         "informational[0]: not a non-empty string"},
        {"{\"version\":1,\"events\":{\"scroll\":\"scroll\"}}", "events.scroll: not an array"},
        {"{\"version\":1,\"events\":{\"scroll\":[\"x.y\"]}}",
         "not an event type or type.key=value"},
        {"{\"version\":1,\"events\":{\"scroll\":[\".a=b\"]}}", "not an event type"},
        {"{\"version\":1,\"events\":{\"scroll\":[\"a.b=\"]}}", "not an event type"},
        {"{\"version\":1,\"events\":{\"clicks\":[]}}", "unknown key \"clicks\""},
        {"{\"version\":1,\"special_days\":[\"2026-02-30\"]}", "special_days[0]: not a date"},
        {"{\"version\":1,\"special_days\":[\"26-02-14\"]}", "special_days[0]: not a date"},
        {"{\"version\":1,\"special_days\":[20260214]}", "special_days[0]: not a date"},
        {"{\"version\":1,\"pricing_page_types\":{}}", "pricing_page_types: not an array"},
    };
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char err[512] = "";
        struct scorer_rules *r = load_text(cases[i].text, err, sizeof(err));
        if (r != NULL || strstr(err, cases[i].want) == NULL) {
            scorer_rules_free(r);
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err, cases[i].want);
        }
    }
    /* A list longer than the bound. */
    char big[4096];
    size_t n = (size_t)snprintf(big, sizeof(big), "{\"version\":1,\"pricing_page_types\":[");
    for (int i = 0; i <= SCORER_RULES_LIST_MAX; i++) {
        n += (size_t)snprintf(big + n, sizeof(big) - n, "%s\"t%d\"", i > 0 ? "," : "", i);
    }
    snprintf(big + n, sizeof(big) - n, "]}");
    char err[512] = "";
    assert_null(load_text(big, err, sizeof(err)));
    assert_non_null(strstr(err, "more than 64 entries"));
    assert_null(scorer_rules_load("/nonexistent/scorer.json", err, sizeof(err)));
    assert_non_null(strstr(err, "/nonexistent/scorer.json"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shipped_file),
        cmocka_unit_test(test_defaults_and_deep_data),
        cmocka_unit_test(test_special_day),
        cmocka_unit_test(test_errors),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
