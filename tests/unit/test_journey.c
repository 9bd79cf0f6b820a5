/*
 * Unit tests for the journey-builder's rules (services/journey-builder):
 * conditions (match.c), stage and touchpoint mapping (journey.c) with the
 * shipped deploy/config/journeys.json, and funnels (funnel.c): strict and
 * any-order progress, windows, missing steps counted as inferred,
 * completion, abandonment, and the loaders' errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fixture.h"

#include "funnel.h"
#include "journey.h"
#include "jsession.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MIN_MS 60000LL
#define HOUR_MS 3600000LL
#define T0 1764000000000LL

static char g_config[1024];    /* deploy/config of this source tree */
static struct fixture_tmp g_t; /* g_t.file: the file a test writes */

static int group_setup(void **state)
{
    (void)state;

    snprintf(g_config, sizeof(g_config), "%s/deploy/config", ANALYTICS_TEST_SOURCE_DIR);
    return fixture_tmp_open(&g_t, "test_journey", "rules.json");
}

static int group_teardown(void **state)
{
    (void)state;
    fixture_tmp_close(&g_t);
    return 0;
}

static void write_file(const char *text)
{
    FILE *f = fopen(g_t.file, "w");

    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

static struct match_event ev(const char *type, const char *page, const char *channel)
{
    return (struct match_event){.event_type = type, .page_type = page, .channel = channel};
}

/* ---- journeys ---- */

static void test_shipped_journey_rules(void **state)
{
    char path[1100], err[512] = "";
    const char *tp = NULL;
    (void)state;

    snprintf(path, sizeof(path), "%s/journeys.json", g_config);
    struct journey_rules *r = journey_rules_load(path, err, sizeof(err));
    assert_non_null(r);
    assert_int_equal(journey_stage_count(r), 4);
    assert_string_equal(journey_stage_name(r, 3), "conversion");
    assert_string_equal(journey_stage_name(r, 4), "");

    struct match_event e = ev("page_view", "pricing", "organic_search");
    assert_int_equal(journey_rules_match(r, &e, &tp), 2);
    assert_string_equal(tp, "pricing_page");
    e = ev("page_view", "service", "direct");
    assert_int_equal(journey_rules_match(r, &e, &tp), 1);
    assert_string_equal(tp, "service_page");
    e = ev("booking_completed", "booking", "email");
    assert_int_equal(journey_rules_match(r, &e, &tp), 3);
    e = ev("page_view", "other", "direct"); /* the catch-all page rule */
    assert_int_equal(journey_rules_match(r, &e, &tp), 0);
    assert_string_equal(tp, "other_page");
    e = ev("scroll", "pricing", "direct"); /* not a touchpoint */
    assert_int_equal(journey_rules_match(r, &e, &tp), -1);
    journey_rules_free(r);
    journey_rules_free(NULL);
}

static void test_first_rule_wins_and_lists(void **state)
{
    char err[512] = "";
    const char *tp = NULL;
    (void)state;

    write_file("{\"version\":1,\"stages\":[\"a\",\"b\"],\"rules\":["
               "{\"event_type\":[\"x\",\"y\"],\"channel\":\"email\",\"stage\":\"b\","
               "\"touchpoint\":\"mail\"},"
               "{\"event_type\":\"x\",\"stage\":\"a\",\"touchpoint\":\"any-x\"}]}");
    struct journey_rules *r = journey_rules_load(g_t.file, err, sizeof(err));
    assert_non_null(r);
    struct match_event e = ev("y", "", "email");
    assert_int_equal(journey_rules_match(r, &e, &tp), 1);
    assert_string_equal(tp, "mail");
    e = ev("x", "", "direct");
    assert_int_equal(journey_rules_match(r, &e, &tp), 0);
    assert_string_equal(tp, "any-x");
    e = ev("y", "", "direct");
    assert_int_equal(journey_rules_match(r, &e, &tp), -1);
    journey_rules_free(r);
}

static void test_journey_rules_errors(void **state)
{
    const struct {
        const char *text, *want;
    } cases[] = {
        {"[1]", "not a JSON object"},
        {"{\"version\":2,\"stages\":[\"a\"],\"rules\":[]}", "\"version\" must be 1"},
        {"{\"version\":1,\"stages\":[],\"rules\":[]}", "\"stages\" must list"},
        {"{\"version\":1,\"stages\":[\"a\",\"a\"],\"rules\":[]}", "listed twice"},
        {"{\"version\":1,\"stages\":[\"a\"]}", "\"rules\" must be an array"},
        {"{\"version\":1,\"stages\":[\"a\"],\"rules\":[{\"stage\":\"z\",\"touchpoint\":\"t\"}]}",
         "rules[0]: \"stage\" must be one of"},
        {"{\"version\":1,\"stages\":[\"a\"],\"rules\":[{\"stage\":\"a\"}]}", "\"touchpoint\""},
        {"{\"version\":1,\"stages\":[\"a\"],\"rules\":[{\"stage\":\"a\",\"touchpoint\":\"t\","
         "\"pagetype\":\"x\"}]}",
         "unknown key \"pagetype\""},
        {"{\"version\":1,\"stages\":[\"a\"],\"rules\":[{\"stage\":\"a\",\"touchpoint\":\"t\","
         "\"event_type\":[]}]}",
         "\"event_type\" must be a string or a non-empty array"},
        {"{\"version\":1,\"stages\":[\"a\"],\"rules\":[{\"stage\":\"a\",\"touchpoint\":\"t\","
         "\"channel\":[\"ok\",3]}]}",
         "\"channel\" holds something other"},
        {"{\"version\":1,\"stages\":[\"a\"],\"rules\":[\"x\"]}", "rules[0]: not an object"},
    };
    char err[512];
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        write_file(cases[i].text);
        err[0] = '\0';
        assert_null(journey_rules_load(g_t.file, err, sizeof(err)));
        if (strstr(err, cases[i].want) == NULL || strstr(err, g_t.file) == NULL) {
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err, cases[i].want);
        }
    }
    assert_null(journey_rules_load("/nonexistent/journeys.json", err, sizeof(err)));
    assert_non_null(strstr(err, "No such file"));
}

/* ---- a site's own page views and conversions ---- */

/* A shop's journeys: its page views are "view", its conversions "purchase"
 * (value in "price") and "signup" (no value). */
#define SHOP_RULES                                                                                 \
    "{\"version\":1,\"stages\":[\"a\",\"b\",\"c\",\"d\"],"                                         \
    "\"page_views\":[\"view\",\"screen\"],"                                                        \
    "\"conversions\":[{\"event_type\":\"purchase\",\"value_property\":\"price\"},"                 \
    "{\"event_type\":\"signup\"},{\"event_type\":\"trial\",\"value_property\":\"v\"}],"            \
    "\"rules\":[{\"event_type\":\"page_view\",\"page_type\":\"product\",\"stage\":\"b\","          \
    "\"touchpoint\":\"product_page\"},"                                                            \
    "{\"event_type\":\"screen\",\"stage\":\"b\",\"touchpoint\":\"app_screen\"},"                   \
    "{\"event_type\":\"cart\",\"stage\":\"c\",\"touchpoint\":\"added_to_cart\"},"                  \
    "{\"event_type\":\"trial\",\"stage\":\"c\",\"touchpoint\":\"trial_started\"},"                 \
    "{\"event_type\":\"checkout_done\",\"stage\":\"d\",\"touchpoint\":\"checkout\"},"              \
    "{\"event_type\":\"page_view\",\"stage\":\"a\",\"touchpoint\":\"other_page\"}]}"

/* Classifies an event of type on page with event_data json under r. */
static struct journey_verdict classify(const struct journey_rules *r, const char *type,
                                       const char *page, const char *json)
{
    struct match_event e = ev(type, page, "direct");
    struct journey_verdict v;

    e.page_view = journey_is_page_view(r, type);
    journey_classify(r, &e, json, &v);
    return v;
}

/* Fails unless v says stage, touchpoint tp, conversion conv and micros;
 * what names the case. */
static void check_verdict(const char *what, const struct journey_verdict *v, int stage,
                          const char *tp, bool conv, long long micros)
{
    bool same_tp = tp == NULL ? v->touchpoint == NULL
                              : v->touchpoint != NULL && strcmp(v->touchpoint, tp) == 0;

    if (v->stage != stage || !same_tp || v->conversion != conv || v->value_micros != micros) {
        fail_msg("%s: stage %d touchpoint %s conversion %d micros %lld", what, v->stage,
                 v->touchpoint != NULL ? v->touchpoint : "NULL", v->conversion, v->value_micros);
    }
}

static void test_site_page_views_and_conversions(void **state)
{
    char err[512] = "";
    (void)state;

    write_file(SHOP_RULES);
    struct journey_rules *r = journey_rules_load(g_t.file, err, sizeof(err));
    if (r == NULL) {
        fail_msg("%s", err);
    }
    assert_true(journey_is_page_view(r, "view"));
    assert_true(journey_is_page_view(r, "screen"));
    assert_false(journey_is_page_view(r, "page_view")); /* not listed: not counted */
    assert_false(journey_is_page_view(r, "cart"));
    assert_false(journey_is_page_view(r, NULL));

    const struct {
        const char *type, *page, *json;
        int stage;
        const char *tp;
        bool conv;
        long long micros;
    } cases[] = {
        /* A rule on "page_view" matches the site's page views... */
        {"view", "product", NULL, 1, "product_page", false, 0},
        {"view", "home", "{}", 0, "other_page", false, 0},
        /* ...a rule naming the site's own type matches it... */
        {"screen", "home", NULL, 1, "app_screen", false, 0},
        /* ...and "page_view" itself still matches by name. */
        {"page_view", "product", NULL, 1, "product_page", false, 0},
        {"cart", "product", NULL, 2, "added_to_cart", false, 0},
        /* A conversion no rule matches: a touchpoint at the last stage,
         * named after its type, with its value. */
        {"purchase", "other", "{\"product_id\":7,\"price\":29.99}", 3, "purchase", true, 29990000},
        {"purchase", "other", "{\"price\":\"12.50\",\"currency\":\"USD\"}", 3, "purchase", true,
         12500000},
        {"purchase", "other", "{\"price\":-5}", 3, "purchase", true, -5000000}, /* a refund */
        /* Without a usable value it still converts. */
        {"purchase", "other", "{\"cost\":3}", 3, "purchase", true, 0},
        {"purchase", "other", NULL, 3, "purchase", true, 0},
        {"purchase", "other", "not json", 3, "purchase", true, 0},
        /* A conversion without a value property takes none. */
        {"signup", "", "{\"value\":10,\"price\":10}", 3, "signup", true, 0},
        /* A conversion a rule puts earlier keeps the rule's stage, and converts. */
        {"trial", "", "{\"v\":1.5}", 2, "trial_started", true, 1500000},
        /* An event a rule puts at the last stage converts, as before. */
        {"checkout_done", "", "{\"price\":9}", 3, "checkout", true, 0},
        /* booking_completed is not this shop's conversion. */
        {"booking_completed", "", "{\"value\":9}", -1, NULL, false, 0},
        {"scroll", "product", NULL, -1, NULL, false, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct journey_verdict v = classify(r, cases[i].type, cases[i].page, cases[i].json);
        char what[64];
        snprintf(what, sizeof(what), "case %zu (%s)", i, cases[i].type);
        check_verdict(what, &v, cases[i].stage, cases[i].tp, cases[i].conv, cases[i].micros);
    }
    journey_rules_free(r);
}

/* Without page_views and conversions: today's names; empty lists: none. */
static void test_site_event_defaults(void **state)
{
    char err[512] = "", path[1100];
    (void)state;

    write_file("{\"version\":1,\"stages\":[\"a\",\"z\"],\"rules\":["
               "{\"event_type\":\"page_view\",\"stage\":\"a\",\"touchpoint\":\"page\"}]}");
    struct journey_rules *r = journey_rules_load(g_t.file, err, sizeof(err));
    assert_non_null(r);
    assert_true(journey_is_page_view(r, "page_view"));
    assert_false(journey_is_page_view(r, "view"));
    struct journey_verdict v = classify(r, "page_view", "", NULL);
    check_verdict(__func__, &v, 0, "page", false, 0);
    v = classify(r, "view", "", NULL);
    check_verdict(__func__, &v, -1, NULL, false, 0);
    v = classify(r, "booking_completed", "", "{\"value\":120,\"currency\":\"EUR\"}");
    check_verdict(__func__, &v, 1, "booking_completed", true, 120000000);
    journey_rules_free(r);

    write_file("{\"version\":1,\"stages\":[\"a\",\"z\"],\"page_views\":[],\"conversions\":[],"
               "\"rules\":[{\"event_type\":\"page_view\",\"stage\":\"a\",\"touchpoint\":\"p\"}]}");
    r = journey_rules_load(g_t.file, err, sizeof(err));
    assert_non_null(r);
    assert_false(journey_is_page_view(r, "page_view"));
    v = classify(r, "booking_completed", "", "{\"value\":1}");
    check_verdict(__func__, &v, -1, NULL, false, 0);
    journey_rules_free(r);

    /* The shipped file spells the defaults out. */
    snprintf(path, sizeof(path), "%s/journeys.json", g_config);
    r = journey_rules_load(path, err, sizeof(err));
    assert_non_null(r);
    assert_true(journey_is_page_view(r, "page_view"));
    v = classify(r, "booking_completed", "booking", "{\"value\":89}");
    check_verdict(__func__, &v, 3, "booking_completed", true, 89000000);
    journey_rules_free(r);
}

static void test_value_micros(void **state)
{
    const struct {
        const char *json;
        int rc;
        long long micros;
    } cases[] = {
        {"{\"p\":29.99}", 0, 29990000},
        {"{\"p\":0}", 0, 0},
        {"{\"p\":1e3}", 0, 1000000000},
        {"{\"p\":0.0000004}", 0, 0}, /* below a millionth: rounds to 0 */
        {"{\"p\":0.0000006}", 0, 1},
        {"{\"p\":-0.25}", 0, -250000},
        {"{\"p\":1000000000}", 0, 1000000000LL * 1000000},
        {"{\"p\":1000000000.5}", -1, 0}, /* past SITE_VALUE_MAX */
        {"{\"p\":-2e9}", -1, 0},
        {"{\"p\":\"7.5\"}", 0, 7500000},
        {"{\"p\":\"-1e2\"}", 0, -100000000},
        {"{\"p\":\"\"}", -1, 0},
        {"{\"p\":\"12 EUR\"}", -1, 0},
        {"{\"p\":\" 12\"}", -1, 0},
        {"{\"p\":\"0x10\"}", -1, 0},
        {"{\"p\":\"inf\"}", -1, 0},
        {"{\"p\":\"nan\"}", -1, 0},
        {"{\"p\":\"1e999\"}", -1, 0},
        {"{\"p\":\"1.2.3\"}", -1, 0},
        {"{\"p\":true}", -1, 0},
        {"{\"p\":null}", -1, 0},
        {"{\"p\":{\"amount\":3}}", -1, 0},
        {"{\"p\":[3]}", -1, 0},
        {"{\"P\":3}", -1, 0}, /* names are case-sensitive */
        {"[3]", -1, 0},
        {"3", -1, 0},
        {"{\"p\":3", -1, 0},
        {"", -1, 0},
        {NULL, -1, 0},
    };
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        long long m = 42;
        int rc = site_value_micros(cases[i].json, "p", &m);
        if (rc != cases[i].rc || m != cases[i].micros) {
            fail_msg("case %zu (%s): rc %d micros %lld", i, cases[i].json ? cases[i].json : "NULL",
                     rc, m);
        }
    }
}

static void test_site_event_errors(void **state)
{
#define HEAD "{\"version\":1,\"stages\":[\"a\"],\"rules\":[],"
    const struct {
        const char *text, *want;
    } cases[] = {
        {"{\"version\":1,\"stages\":[\"a\"],\"rules\":[],\"page_view\":[\"view\"]}",
         ": unknown key \"page_view\""},
        {HEAD "\"page_views\":\"view\"}", "\"page_views\" must be an array of at most 64"},
        {HEAD "\"page_views\":[\"view\",3]}", "page_views[1]: not a non-empty string"},
        {HEAD "\"page_views\":[\"\"]}", "page_views[0]: not a non-empty string"},
        {HEAD "\"page_views\":[\"view\",\"view\"]}", "page_views[1]: \"view\" is listed twice"},
        {HEAD "\"conversions\":{\"event_type\":\"purchase\"}}",
         "\"conversions\" must be an array of at most 64 objects"},
        {HEAD "\"conversions\":[\"purchase\"]}", "conversions[0]: not an object"},
        {HEAD "\"conversions\":[{\"event_type\":\"purchase\",\"value\":\"price\"}]}",
         "conversions[0]: unknown key \"value\""},
        {HEAD "\"conversions\":[{\"value_property\":\"price\"}]}",
         "conversions[0]: \"event_type\" must be a non-empty string"},
        {HEAD "\"conversions\":[{\"event_type\":[\"a\",\"b\"]}]}",
         "conversions[0]: \"event_type\" must be a non-empty string"},
        {HEAD "\"conversions\":[{\"event_type\":\"p\"},{\"event_type\":\"q\","
              "\"value_property\":\"\"}]}",
         "conversions[1]: \"value_property\" must be a non-empty string"},
        {HEAD "\"conversions\":[{\"event_type\":\"p\",\"value_property\":1}]}",
         "conversions[0]: \"value_property\" must be a non-empty string"},
        {HEAD "\"conversions\":[{\"event_type\":\"p\"},{\"event_type\":\"p\"}]}",
         "conversions[1]: event type \"p\" is listed twice"},
    };
#undef HEAD
    char err[512], big[4096];
    size_t n;
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        write_file(cases[i].text);
        err[0] = '\0';
        assert_null(journey_rules_load(g_t.file, err, sizeof(err)));
        if (strstr(err, cases[i].want) == NULL || strncmp(err, g_t.file, strlen(g_t.file)) != 0) {
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err, cases[i].want);
        }
    }
    /* At most SITE_EVENTS_TYPES_MAX page-view types. */
    n = (size_t)snprintf(big, sizeof(big),
                         "{\"version\":1,\"stages\":[\"a\"],\"rules\":[],"
                         "\"page_views\":[");
    for (int i = 0; i <= SITE_EVENTS_TYPES_MAX; i++) {
        n += (size_t)snprintf(big + n, sizeof(big) - n, "%s\"v%d\"", i > 0 ? "," : "", i);
    }
    snprintf(big + n, sizeof(big) - n, "]}");
    write_file(big);
    assert_null(journey_rules_load(g_t.file, err, sizeof(err)));
    assert_non_null(strstr(err, "\"page_views\" must be an array of at most 64 event types"));
}

/* ---- funnels ---- */

/* Loads the funnels of text into s; fails the test on an error. */
static void load_funnels(struct funnel_set *s, const char *text)
{
    char err[512] = "";

    write_file(text);
    if (funnel_set_load(s, g_t.file, err, sizeof(err)) != 0) {
        fail_msg("funnels: %s", err);
    }
}

#define FOUR_STEPS                                                                                 \
    "\"steps\":[{\"name\":\"s1\",\"event_type\":\"a\"},{\"name\":\"s2\",\"event_type\":\"b\"},"    \
    "{\"name\":\"s3\",\"event_type\":\"c\"},{\"name\":\"s4\",\"event_type\":\"d\"}]"

static int advance(const struct funnel *f, struct funnel_progress *p, const char *type,
                   long long ts, struct funnel_hit *hits)
{
    struct match_event e = ev(type, "", "direct");

    return funnel_advance(f, p, &e, ts, hits);
}

static void test_shipped_funnels(void **state)
{
    char path[1100], err[512] = "";
    struct funnel_set s;
    struct funnel_progress p;
    struct funnel_hit hits[FUNNEL_STEPS_MAX];
    (void)state;

    snprintf(path, sizeof(path), "%s/funnels.json", g_config);
    assert_int_equal(funnel_set_load(&s, path, err, sizeof(err)), 0);
    assert_int_equal(s.n, 1);
    const struct funnel *f = &s.funnels[0];
    assert_string_equal(f->name, "booking");
    assert_int_equal(f->nsteps, 4);
    assert_true(f->strict);
    assert_int_equal(f->abandon_from, 2);
    assert_int_equal(f->window_ms, 168 * HOUR_MS);

    funnel_progress_reset(&p);
    struct match_event e = ev("page_view", "service", "direct");
    assert_int_equal(funnel_advance(f, &p, &e, T0, hits), 1);
    e = ev("page_view", "pricing", "direct");
    assert_int_equal(funnel_advance(f, &p, &e, T0 + MIN_MS, hits), 1);
    assert_int_equal(hits[0].step, 1);
    assert_int_equal(hits[0].since_prev_ms, MIN_MS);
    funnel_set_fini(&s);
}

static void test_strict_in_order(void **state)
{
    struct funnel_set s;
    struct funnel_progress p;
    struct funnel_hit h[FUNNEL_STEPS_MAX];
    (void)state;

    load_funnels(&s, "{\"version\":1,\"funnels\":[{\"name\":\"f\"," FOUR_STEPS "}]}");
    const struct funnel *f = &s.funnels[0];
    funnel_progress_reset(&p);
    assert_int_equal(advance(f, &p, "zzz", T0, h), 0); /* no step: no attempt */
    assert_int_equal(p.started_ms, 0);
    assert_int_equal(advance(f, &p, "a", T0, h), 1);
    assert_true(h[0].new_attempt);
    assert_int_equal(h[0].step, 0);
    assert_int_equal(h[0].since_prev_ms, -1);
    assert_int_equal(advance(f, &p, "a", T0 + 1000, h), 0); /* reached already */
    assert_int_equal(advance(f, &p, "b", T0 + 5000, h), 1);
    assert_false(h[0].new_attempt);
    assert_int_equal(h[0].step, 1);
    assert_int_equal(h[0].since_prev_ms, 5000);
    assert_int_equal(advance(f, &p, "a", T0 + 6000, h), 0); /* backwards: nothing */
    assert_int_equal(advance(f, &p, "c", T0 + 9000, h), 1);
    assert_int_equal(h[0].since_prev_ms, 4000);
    assert_false(funnel_completed(f, &p));
    assert_int_equal(advance(f, &p, "d", T0 + 10000, h), 1);
    assert_true(funnel_completed(f, &p));
    assert_int_equal(p.inferred, 0);
    funnel_set_fini(&s);
}

/* A booking completed with no booking-started before it: the skipped steps
 * count as reached, inferred, with no time between steps. */
static void test_strict_missing_steps_inferred(void **state)
{
    struct funnel_set s;
    struct funnel_progress p;
    struct funnel_hit h[FUNNEL_STEPS_MAX];
    (void)state;

    load_funnels(&s, "{\"version\":1,\"funnels\":[{\"name\":\"f\"," FOUR_STEPS "}]}");
    const struct funnel *f = &s.funnels[0];
    funnel_progress_reset(&p);
    assert_int_equal(advance(f, &p, "a", T0, h), 1);
    assert_int_equal(advance(f, &p, "d", T0 + 60000, h), 3);
    assert_int_equal(h[0].step, 1);
    assert_true(h[0].inferred);
    assert_int_equal(h[1].step, 2);
    assert_true(h[1].inferred);
    assert_int_equal(h[2].step, 3);
    assert_false(h[2].inferred);
    assert_int_equal(h[2].since_prev_ms, -1); /* its previous step was not seen */
    assert_int_equal(p.inferred, (1u << 1) | (1u << 2));
    assert_true(funnel_completed(f, &p));

    /* Straight to the last step with no attempt: every step before it. */
    funnel_progress_reset(&p);
    assert_int_equal(advance(f, &p, "c", T0, h), 3);
    assert_true(h[0].new_attempt);
    assert_true(h[0].inferred);
    assert_false(h[2].inferred);
    assert_int_equal(p.furthest, 2);
    funnel_set_fini(&s);
}

static void test_any_order(void **state)
{
    struct funnel_set s;
    struct funnel_progress p;
    struct funnel_hit h[FUNNEL_STEPS_MAX];
    (void)state;

    load_funnels(&s,
                 "{\"version\":1,\"funnels\":[{\"name\":\"f\",\"order\":\"any\"," FOUR_STEPS "}]}");
    const struct funnel *f = &s.funnels[0];
    funnel_progress_reset(&p);
    assert_int_equal(advance(f, &p, "c", T0, h), 1);
    assert_int_equal(h[0].step, 2);
    assert_false(h[0].inferred);
    assert_true(h[0].new_attempt);
    assert_int_equal(advance(f, &p, "a", T0 + 1000, h), 1);
    assert_int_equal(h[0].step, 0);
    assert_int_equal(advance(f, &p, "b", T0 + 3000, h), 1);
    assert_int_equal(h[0].since_prev_ms, 2000); /* from step 1, whatever the order */
    assert_int_equal(advance(f, &p, "c", T0 + 4000, h), 0);
    assert_false(funnel_completed(f, &p));
    assert_int_equal(advance(f, &p, "d", T0 + 5000, h), 1);
    assert_true(funnel_completed(f, &p));
    assert_int_equal(p.inferred, 0);
    funnel_set_fini(&s);
}

static void test_window_and_new_attempts(void **state)
{
    struct funnel_set s;
    struct funnel_progress p;
    struct funnel_hit h[FUNNEL_STEPS_MAX];
    (void)state;

    load_funnels(&s, "{\"version\":1,\"funnels\":[{\"name\":\"f\",\"window_hours\":1," FOUR_STEPS
                     "}]}");
    const struct funnel *f = &s.funnels[0];
    funnel_progress_reset(&p);
    assert_int_equal(advance(f, &p, "a", T0, h), 1);
    assert_int_equal(advance(f, &p, "b", T0 + HOUR_MS, h), 1); /* at the edge: inside */
    /* Past the window: c alone starts a new attempt, s1 and s2 inferred. */
    assert_int_equal(advance(f, &p, "c", T0 + HOUR_MS + 1, h), 3);
    assert_true(h[0].new_attempt);
    assert_int_equal(p.started_ms, T0 + HOUR_MS + 1);
    /* Expired, and an event that starts nothing keeps the old attempt. */
    funnel_progress_reset(&p);
    assert_int_equal(advance(f, &p, "a", T0, h), 1);
    assert_int_equal(advance(f, &p, "zzz", T0 + 2 * HOUR_MS, h), 0);
    assert_int_equal(p.started_ms, T0);
    /* A completed attempt: the next matching event starts another. */
    assert_int_equal(advance(f, &p, "d", T0 + 10, h), 3);
    assert_true(funnel_completed(f, &p));
    assert_int_equal(advance(f, &p, "a", T0 + 20, h), 1);
    assert_true(h[0].new_attempt);
    assert_int_equal(p.furthest, 0);
    assert_false(funnel_completed(f, &p));
    funnel_set_fini(&s);
}

static void test_abandonment(void **state)
{
    struct funnel_set s;
    struct funnel_progress p;
    struct funnel_hit h[FUNNEL_STEPS_MAX];
    (void)state;

    load_funnels(&s, "{\"version\":1,\"funnels\":[{\"name\":\"f\",\"abandon_from_step\":3,"
                     "\"abandon_after_minutes\":30," FOUR_STEPS "}]}");
    const struct funnel *f = &s.funnels[0];
    funnel_progress_reset(&p);
    assert_int_equal(advance(f, &p, "a", T0, h), 1);
    assert_int_equal(advance(f, &p, "b", T0 + MIN_MS, h), 1);
    assert_false(funnel_abandon_due(f, &p, T0 + 10 * HOUR_MS, true)); /* before step 3 */
    assert_int_equal(advance(f, &p, "c", T0 + 2 * MIN_MS, h), 1);
    assert_false(funnel_abandon_due(f, &p, T0 + 31 * MIN_MS, false));
    assert_true(funnel_abandon_due(f, &p, T0 + 32 * MIN_MS, false));
    assert_true(funnel_abandon_due(f, &p, T0 + 3 * MIN_MS, true)); /* the session closed */
    p.abandoned = true;
    assert_false(funnel_abandon_due(f, &p, T0 + HOUR_MS, true)); /* counted once */
    p.abandoned = false;
    assert_int_equal(advance(f, &p, "d", T0 + 3 * MIN_MS, h), 1);
    assert_false(funnel_abandon_due(f, &p, T0 + HOUR_MS, true)); /* completed */
    funnel_set_fini(&s);

    /* Without abandon_after_minutes only the session's close counts. */
    load_funnels(&s,
                 "{\"version\":1,\"funnels\":[{\"name\":\"f\",\"abandon_from_step\":1," FOUR_STEPS
                 "}]}");
    f = &s.funnels[0];
    funnel_progress_reset(&p);
    assert_int_equal(advance(f, &p, "a", T0, h), 1);
    assert_false(funnel_abandon_due(f, &p, T0 + 100 * HOUR_MS, false));
    assert_true(funnel_abandon_due(f, &p, T0 + MIN_MS, true));
    funnel_set_fini(&s);

    /* Any order: the time counts from the latest step, not the furthest. */
    load_funnels(&s, "{\"version\":1,\"funnels\":[{\"name\":\"f\",\"order\":\"any\","
                     "\"abandon_from_step\":2,\"abandon_after_minutes\":60," FOUR_STEPS "}]}");
    f = &s.funnels[0];
    funnel_progress_reset(&p);
    assert_int_equal(advance(f, &p, "c", T0, h), 1);
    assert_int_equal(advance(f, &p, "b", T0 + 50 * MIN_MS, h), 1);
    assert_int_equal(funnel_last_step_ms(f, &p), T0 + 50 * MIN_MS);
    assert_false(funnel_abandon_due(f, &p, T0 + 65 * MIN_MS, false));
    assert_true(funnel_abandon_due(f, &p, T0 + 110 * MIN_MS, false));
    funnel_set_fini(&s);

    /* No abandon_from_step: never. */
    load_funnels(&s, "{\"version\":1,\"funnels\":[{\"name\":\"f\"," FOUR_STEPS "}]}");
    funnel_progress_reset(&p);
    assert_int_equal(advance(&s.funnels[0], &p, "c", T0, h), 3);
    assert_false(funnel_abandon_due(&s.funnels[0], &p, T0 + 100 * HOUR_MS, true));
    funnel_set_fini(&s);
}

static void test_page_and_channel_steps(void **state)
{
    struct funnel_set s;
    struct funnel_progress p;
    struct funnel_hit h[FUNNEL_STEPS_MAX];
    (void)state;

    load_funnels(&s, "{\"version\":1,\"funnels\":[{\"name\":\"f\",\"steps\":["
                     "{\"name\":\"paid visit\",\"channel\":[\"paid_search\",\"social\"]},"
                     "{\"name\":\"pricing\",\"event_type\":\"page_view\",\"page_type\":\"pricing\"}"
                     "]}]}");
    const struct funnel *f = &s.funnels[0];
    funnel_progress_reset(&p);
    struct match_event e = ev("page_view", "home", "organic_search");
    assert_int_equal(funnel_advance(f, &p, &e, T0, h), 0);
    e = ev("page_view", "home", "social");
    assert_int_equal(funnel_advance(f, &p, &e, T0, h), 1);
    e = ev("click", "pricing", "social");
    assert_int_equal(funnel_advance(f, &p, &e, T0 + 1, h), 0);
    e = ev("page_view", "pricing", "social");
    assert_int_equal(funnel_advance(f, &p, &e, T0 + 2, h), 1);
    assert_true(funnel_completed(f, &p));
    funnel_set_fini(&s);
}

/* A step on "page_view" is reached by the site's own page-view type. */
static void test_page_view_steps_of_a_site(void **state)
{
    struct funnel_set s;
    struct funnel_progress p;
    struct funnel_hit hits[FUNNEL_STEPS_MAX];
    (void)state;

    load_funnels(&s,
                 "{\"version\":1,\"funnels\":[{\"name\":\"shop\",\"steps\":["
                 "{\"name\":\"product\",\"event_type\":\"page_view\",\"page_type\":\"product\"},"
                 "{\"name\":\"cart\",\"event_type\":\"cart\"},"
                 "{\"name\":\"bought\",\"event_type\":\"purchase\"}]}]}");
    const struct funnel *f = &s.funnels[0];
    funnel_progress_reset(&p);
    struct match_event e = ev("view", "product", "direct");
    assert_int_equal(funnel_advance(f, &p, &e, T0, hits), 0); /* not counted as a page view */
    e.page_view = true;
    assert_int_equal(funnel_advance(f, &p, &e, T0, hits), 1);
    assert_int_equal(hits[0].step, 0);
    e = ev("cart", "product", "direct");
    e.page_view = true; /* a page-view flag does not make a cart a page_view step */
    assert_int_equal(funnel_advance(f, &p, &e, T0 + MIN_MS, hits), 1);
    assert_int_equal(hits[0].step, 1);
    e = ev("purchase", "checkout", "direct");
    assert_int_equal(funnel_advance(f, &p, &e, T0 + 2 * MIN_MS, hits), 1);
    assert_true(funnel_completed(f, &p));
    funnel_set_fini(&s);
}

static void test_funnel_errors(void **state)
{
    const struct {
        const char *text, *want;
    } cases[] = {
        {"{\"version\":1}", "\"funnels\" must be an array"},
        {"{\"version\":3,\"funnels\":[]}", "\"version\" must be 1"},
        {"{\"version\":1,\"funnels\":[{\"name\":\"f\",\"steps\":[{\"name\":\"s\",\"event_type\":"
         "\"a\"}]}]}",
         "funnels[0]: \"steps\" must list 2 to"},
        {"{\"version\":1,\"funnels\":[{\"steps\":[]}]}", "\"name\" must be a string"},
        {"{\"version\":1,\"funnels\":[{\"name\":\"f\"," FOUR_STEPS "},{\"name\":\"f\"," FOUR_STEPS
         "}]}",
         "funnels[1]: funnel \"f\" is defined twice"},
        {"{\"version\":1,\"funnels\":[{\"name\":\"f\",\"order\":\"loose\"," FOUR_STEPS "}]}",
         "\"order\" must be"},
        {"{\"version\":1,\"funnels\":[{\"name\":\"f\",\"window_hours\":0," FOUR_STEPS "}]}",
         "\"window_hours\" must be a whole number"},
        {"{\"version\":1,\"funnels\":[{\"name\":\"f\",\"window_hours\":1.5," FOUR_STEPS "}]}",
         "\"window_hours\" must be a whole number"},
        {"{\"version\":1,\"funnels\":[{\"name\":\"f\",\"abandon_from_step\":4," FOUR_STEPS "}]}",
         "\"abandon_from_step\" must be a whole number from 0 to 3"},
        {"{\"version\":1,\"funnels\":[{\"name\":\"f\",\"steps\":[{\"name\":\"s\"},{\"name\":\"t\","
         "\"event_type\":\"a\"}]}]}",
         "steps[0]: a step needs"},
        {"{\"version\":1,\"funnels\":[{\"name\":\"f\",\"steps\":[{\"name\":\"s\",\"event_type\":"
         "\"a\",\"typo\":1},{\"name\":\"t\",\"event_type\":\"a\"}]}]}",
         "steps[0]: unknown key \"typo\""},
        {"{\"version\":1,\"funnels\":[{\"name\":\"f\",\"windowhours\":3," FOUR_STEPS "}]}",
         "unknown key \"windowhours\""},
        {"not json", "malformed JSON at byte 0"},
        {"{\"version\":1,\"funnels\":[]} {}", "unexpected data after the JSON at byte 27"},
        {"{\"version\":1,\"funnels\":[7]}", "funnels[0]: not an object"},
        {"{\"version\":1,\"funnels\":[{\"name\":\"f\",\"steps\":[\"a\",\"b\"]}]}",
         "steps[0]: not an object"},
    };
    struct funnel_set s;
    char err[512];
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        write_file(cases[i].text);
        err[0] = '\0';
        assert_int_equal(funnel_set_load(&s, g_t.file, err, sizeof(err)), -1);
        funnel_set_fini(&s);
        if (strstr(err, cases[i].want) == NULL || strstr(err, g_t.file) == NULL) {
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err, cases[i].want);
        }
    }
    assert_int_equal(funnel_set_load(&s, "/nonexistent/funnels.json", err, sizeof(err)), -1);
    funnel_set_fini(&s);
}

/* ---- session summaries ---- */

static struct jsession_event sev(long long ts, bool pv, const char *url, int channel, bool conv)
{
    return (struct jsession_event){.ts_ms = ts,
                                   .page_view = pv,
                                   .page_url = url,
                                   .channel = channel,
                                   .device_type = 1,
                                   .conversion = conv};
}

static void test_session_summary_in_order(void **state)
{
    struct jsession s;
    (void)state;

    jsession_init(&s);
    assert_false(jsession_idle(&s, T0 + 100 * HOUR_MS, 30 * MIN_MS)); /* no events */
    struct jsession_event e = sev(T0, true, "https://x.test/", 3, false);
    assert_int_equal(jsession_add(&s, &e), 0);
    assert_true(jsession_bounced(&s));
    e = sev(T0 + 1000, false, "", 5, false); /* a click */
    assert_int_equal(jsession_add(&s, &e), 0);
    assert_true(jsession_bounced(&s));
    e = sev(T0 + 65000, true, "https://x.test/pricing", 5, false);
    assert_int_equal(jsession_add(&s, &e), 0);
    e = sev(T0 + 90000, false, "", 5, true);
    assert_int_equal(jsession_add(&s, &e), 0);
    assert_int_equal(s.events, 4);
    assert_int_equal(s.page_views, 2);
    assert_false(jsession_bounced(&s));
    assert_true(s.converted);
    assert_int_equal(s.channel, 3); /* the first event's */
    assert_string_equal(s.entry_page, "https://x.test/");
    assert_string_equal(s.exit_page, "https://x.test/pricing");
    assert_int_equal(jsession_duration_s(&s), 90);
    assert_false(jsession_idle(&s, T0 + 90000 + 30 * MIN_MS - 1, 30 * MIN_MS));
    assert_true(jsession_idle(&s, T0 + 90000 + 30 * MIN_MS, 30 * MIN_MS));
    s.closed = true;
    assert_false(jsession_idle(&s, T0 + 100 * HOUR_MS, 30 * MIN_MS));
    jsession_fini(&s);
    assert_null(s.entry_page);
}

/* Events out of order give the same summary as in order. */
static void test_session_summary_out_of_order(void **state)
{
    struct jsession a, b;
    struct jsession_event evs[] = {
        sev(T0, true, "/a", 2, false),
        sev(T0 + 5000, true, "/b", 4, false),
        sev(T0 + 9000, false, "", 4, false),
        sev(T0 + 12000, true, "/c", 4, false),
    };
    const int order[] = {2, 3, 0, 1};
    (void)state;

    jsession_init(&a);
    jsession_init(&b);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(jsession_add(&a, &evs[i]), 0);
        assert_int_equal(jsession_add(&b, &evs[order[i]]), 0);
    }
    assert_int_equal(a.start_ms, b.start_ms);
    assert_int_equal(a.end_ms, b.end_ms);
    assert_int_equal(b.channel, 2);
    assert_string_equal(b.entry_page, "/a");
    assert_string_equal(b.exit_page, "/c");
    assert_string_equal(a.entry_page, b.entry_page);
    assert_string_equal(a.exit_page, b.exit_page);
    assert_int_equal(jsession_duration_s(&b), 12);
    assert_int_equal(b.page_views, 3);
    assert_false(b.converted);
    jsession_fini(&a);
    jsession_fini(&b);
}

/* Conversions add their values; the sum is held within +-LLONG_MAX. */
static void test_session_revenue(void **state)
{
    struct jsession s;
    (void)state;

    jsession_init(&s);
    struct jsession_event e = sev(T0, true, "/p", 1, false);
    e.value_micros = 5000000; /* not a conversion: no revenue */
    assert_int_equal(jsession_add(&s, &e), 0);
    assert_int_equal(s.revenue_micros, 0);
    e = sev(T0 + 1000, false, "", 1, true);
    e.value_micros = 29990000;
    assert_int_equal(jsession_add(&s, &e), 0);
    e = sev(T0 + 2000, false, "", 1, true);
    e.value_micros = 10000;
    assert_int_equal(jsession_add(&s, &e), 0);
    assert_true(s.converted);
    assert_int_equal(s.revenue_micros, 30000000);
    e.value_micros = LLONG_MAX - 1;
    assert_int_equal(jsession_add(&s, &e), 0);
    assert_int_equal(s.revenue_micros, LLONG_MAX);
    assert_int_equal(jsession_add(&s, &e), 0);
    assert_int_equal(s.revenue_micros, LLONG_MAX);
    e.value_micros = -LLONG_MAX;
    assert_int_equal(jsession_add(&s, &e), 0);
    assert_int_equal(s.revenue_micros, 0);
    assert_int_equal(jsession_add(&s, &e), 0);
    assert_int_equal(jsession_add(&s, &e), 0);
    assert_int_equal(s.revenue_micros, -LLONG_MAX);
    jsession_fini(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shipped_journey_rules),
        cmocka_unit_test(test_first_rule_wins_and_lists),
        cmocka_unit_test(test_journey_rules_errors),
        cmocka_unit_test(test_site_page_views_and_conversions),
        cmocka_unit_test(test_site_event_defaults),
        cmocka_unit_test(test_value_micros),
        cmocka_unit_test(test_site_event_errors),
        cmocka_unit_test(test_shipped_funnels),
        cmocka_unit_test(test_strict_in_order),
        cmocka_unit_test(test_strict_missing_steps_inferred),
        cmocka_unit_test(test_any_order),
        cmocka_unit_test(test_window_and_new_attempts),
        cmocka_unit_test(test_abandonment),
        cmocka_unit_test(test_page_and_channel_steps),
        cmocka_unit_test(test_page_view_steps_of_a_site),
        cmocka_unit_test(test_funnel_errors),
        cmocka_unit_test(test_session_summary_in_order),
        cmocka_unit_test(test_session_summary_out_of_order),
        cmocka_unit_test(test_session_revenue),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
