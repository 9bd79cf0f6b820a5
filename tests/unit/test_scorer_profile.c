/*
 * Unit tests for the scorer's profiles, page statistics and session
 * features (services/scorer/profile.c, pagestats.c, session_features.c):
 * two scripted sessions of one visitor with every feature computed by hand,
 * the page statistics the first leaves, late and repeated events, the
 * bounds (page types, pages per session), and the page table growing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "analytics/site_events.h"
#include "analytics/tz.h"
#include "pagestats.h"
#include "profile.h"
#include "rules.h"
#include "session_features.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static struct scorer_rules *g_rules;

static int setup(void **state)
{
    char err[512];
    (void)state;

    g_rules =
        scorer_rules_load(ANALYTICS_TEST_SOURCE_DIR "/deploy/config/scorer.json", err, sizeof(err));
    return g_rules != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    scorer_rules_free(g_rules);
    return 0;
}

/* Applies one event as the daemon would: a new session closes the last. */
static unsigned play(struct profile *p, struct pagestats *ps, const char *session, long long ts,
                     const char *type, const char *page_type, const char *data)
{
    struct profile_event ev = {
        .event_type = type,
        .session_id = session,
        .ts_ms = ts,
        .local_day = tz_local_day(NULL, ts),
        .page_view = strcmp(type, "page_view") == 0,
        .page_type = page_type,
        .page_hash = page_type != NULL ? prof_page_hash("shop.example", page_type) : 0,
        .channel = 3,
        .device = 1,
    };
    struct profile_page_stats st;

    ev.counters = scorer_rules_classify(g_rules, type, data, &ev.depth);
    ev.is_conversion = strcmp(type, "booking_completed") == 0;
    ev.conversion_micros = ev.is_conversion ? 89 * SITE_MICROS : 0;
    if (prof_starts_session(p, &ev) && prof_close_session(p, &st)) {
        assert_int_equal(features_add_session(ps, &st), 0);
    }
    return prof_apply(p, g_rules, &ev);
}

static void expect_feature(const float *x, enum lead_feature f, double want)
{
    if (isnan(want) ? !isnan(x[f]) : fabs(x[f] - want) > 1e-4) {
        fail_msg("%s: %g, want %g", lead_feature_names[f], (double)x[f], want);
    }
}

static void test_two_sessions_by_hand(void **state)
{
    struct pagestats *ps = pagestats_new();
    struct profile p;
    float x[LEAD_F_COUNT];
    struct page_rates r;
    (void)state;

    assert_non_null(ps);
    prof_init(&p, "fp-1");
    /* Saturday 2026-02-07 10:00 UTC, 7 days before Valentine's Day. */
    long long t0 = tz_days_from_civil(2026, 2, 7) * 86400000LL + 36000000LL;
    assert_true(play(&p, ps, "s1", t0, "page_view", "home", "{}") & PROFILE_NEW_SESSION);
    play(&p, ps, "s1", t0 + 30000, "page_view", "pricing", "{}");
    assert_int_equal(play(&p, ps, "s1", t0 + 40000, "click", NULL, "{}"), PROFILE_COUNTED);
    play(&p, ps, "s1", t0 + 100000, "page_view", "contact", "{}");
    play(&p, ps, "s1", t0 + 110000, "booking_started", NULL, "{}");
    play(&p, ps, "s1", t0 + 115000, "scroll", NULL, "{\"depth_pct\":75}");
    play(&p, ps, "s1", t0 + 130000, "page_view", "booking", "{}");
    play(&p, ps, "s1", t0 + 200000, "booking_completed", NULL, "{\"value\":89}");
    play(&p, ps, "s1", t0 + 260000, "page_view", "home", "{}");

    /* By hand: product pages home, pricing, booking, home; info contact.
     * Seconds: home 30, pricing 70, booking 130 (product: 230); contact 30
     * (info); the last home has none yet. No page has statistics yet. */
    features_build(&p, g_rules, ps, x);
    expect_feature(x, LEAD_F_ADMIN_PAGES, 0);
    expect_feature(x, LEAD_F_ADMIN_SECONDS, 0);
    expect_feature(x, LEAD_F_INFO_PAGES, 1);
    expect_feature(x, LEAD_F_INFO_SECONDS, 30);
    expect_feature(x, LEAD_F_PRODUCT_PAGES, 4);
    expect_feature(x, LEAD_F_PRODUCT_SECONDS, 230);
    /* No page has statistics: each counts the UCI means and no value. */
    expect_feature(x, LEAD_F_BOUNCE_RATE, 0.02219);
    expect_feature(x, LEAD_F_EXIT_RATE, 0.04307);
    expect_feature(x, LEAD_F_PAGE_VALUE, 0.0);
    expect_feature(x, LEAD_F_SPECIAL_DAY, 0.8); /* 7 days before: 1 - 1/7, in steps of 0.2 */
    expect_feature(x, LEAD_F_MONTH, 2);
    expect_feature(x, LEAD_F_RETURNING, 0);
    expect_feature(x, LEAD_F_WEEKEND, 1);
    assert_int_equal(p.events, 9);
    assert_int_equal(p.page_views, 5);
    assert_int_equal(p.pricing_views, 1);
    assert_int_equal(p.bookings_started, 1);
    assert_int_equal(p.bookings_completed, 1);
    assert_int_equal(p.deepest_scroll, 75);
    assert_int_equal(p.seconds, 260);
    assert_int_equal(p.sessions, 1);
    assert_int_equal(p.first_channel, 3);

    /* Sunday: a second session, which closes the first. */
    long long t1 = t0 + 86400000LL;
    play(&p, ps, "s2", t1, "page_view", "home", "{}");
    play(&p, ps, "s2", t1 + 20000, "page_view", "service", "{}");
    /* The first session left: home entrance, exit, 2 views, value 89. */
    assert_true(pagestats_rates(ps, prof_page_hash("shop.example", "home"), &r));
    assert_true(r.bounce == 0.0 && r.exit == 0.5 && r.value == 89.0);
    assert_true(pagestats_rates(ps, prof_page_hash("shop.example", "contact"), &r));
    assert_true(r.exit == 0.0 && r.value == 89.0);
    assert_false(pagestats_rates(ps, prof_page_hash("shop.example", "service"), &r));
    features_build(&p, g_rules, ps, x);
    expect_feature(x, LEAD_F_PRODUCT_PAGES, 2);
    expect_feature(x, LEAD_F_PRODUCT_SECONDS, 20);
    expect_feature(x, LEAD_F_INFO_PAGES, 0);
    /* home known (bounce 0, exit 0.5, value 89), service not (the UCI means) */
    expect_feature(x, LEAD_F_BOUNCE_RATE, (0.0 + 0.02219) / 2);
    expect_feature(x, LEAD_F_EXIT_RATE, (0.5 + 0.04307) / 2);
    expect_feature(x, LEAD_F_PAGE_VALUE, 89.0 / 2);
    expect_feature(x, LEAD_F_SPECIAL_DAY, 1.0); /* 6 days before */
    expect_feature(x, LEAD_F_RETURNING, 1);
    expect_feature(x, LEAD_F_WEEKEND, 1);
    assert_int_equal(p.sessions, 2);
    assert_int_equal(p.visit_days, 2);
    assert_int_equal(p.booking_days, 1);
    pagestats_free(ps);
}

static void test_late_and_bounce(void **state)
{
    struct pagestats *ps = pagestats_new();
    struct profile p;
    struct profile_page_stats st;
    float x[LEAD_F_COUNT];
    (void)state;

    prof_init(&p, "fp-2");
    assert_false(prof_close_session(&p, &st));                  /* nothing to close */
    long long t0 = tz_days_from_civil(2026, 6, 3) * 86400000LL; /* a Wednesday */
    play(&p, ps, "a", t0 + 60000, "page_view", "blog", "{}");
    /* A late page view (before the last) counts but moves no time. */
    play(&p, ps, "a", t0, "page_view", "blog", "{}");
    features_build(&p, g_rules, ps, x);
    expect_feature(x, LEAD_F_INFO_PAGES, 2);
    expect_feature(x, LEAD_F_INFO_SECONDS, 0);
    expect_feature(x, LEAD_F_WEEKEND, 0);
    expect_feature(x, LEAD_F_SPECIAL_DAY, 0);
    assert_int_equal(p.first_seen_ms, t0);
    assert_true(prof_close_session(&p, &st));
    assert_false(st.bounced);                  /* two page views */
    assert_false(prof_close_session(&p, &st)); /* once only */

    /* One page view: a bounce. A gap beyond the cap counts as the cap. */
    prof_init(&p, "fp-3");
    play(&p, ps, "b", t0, "page_view", "service", "{}");
    assert_true(prof_close_session(&p, &st));
    assert_true(st.bounced);
    assert_int_equal(features_add_session(ps, &st), 0);
    struct page_rates r;
    assert_true(pagestats_rates(ps, prof_page_hash("shop.example", "service"), &r));
    assert_true(r.bounce == 1.0 && r.exit == 1.0 && r.value == 0.0);
    play(&p, ps, "b2", t0 + 10, "page_view", "service", "{}");
    play(&p, ps, "b2", t0 + 10 + 10LL * PROFILE_GAP_MAX_MS, "page_view", "pricing", "{}");
    features_build(&p, g_rules, ps, x);
    expect_feature(x, LEAD_F_PRODUCT_SECONDS, PROFILE_GAP_MAX_MS / 1000.0);
    pagestats_free(ps);
}

static void test_bounds(void **state)
{
    struct pagestats *ps = pagestats_new();
    struct profile p;
    char type[32];
    (void)state;

    prof_init(&p, "fp-4");
    for (int i = 0; i < 3 * PROFILE_TYPES_MAX; i++) {
        snprintf(type, sizeof(type), "type-%d", i);
        play(&p, ps, "s", 1000 + i, "page_view", type, "{}");
    }
    assert_int_equal(p.ntypes, PROFILE_TYPES_MAX);
    assert_string_equal(p.types[PROFILE_TYPES_MAX - 1].type, "other");
    int views = 0;
    for (int i = 0; i < p.ntypes; i++) {
        views += p.types[i].views;
    }
    assert_int_equal(views, 3 * PROFILE_TYPES_MAX);
    assert_int_equal(p.cur.npages, 3 * PROFILE_TYPES_MAX < PROFILE_PAGES_MAX ? 3 * PROFILE_TYPES_MAX
                                                                             : PROFILE_PAGES_MAX);
    /* The page table grows past its first size and keeps every page. */
    for (uint64_t pg = 1; pg <= 5000; pg++) {
        struct page_totals t = {.page_views = (long long)pg, .exits = 1, .unique_views = 1};
        assert_int_equal(pagestats_add(ps, pg * 0x9e3779b97f4a7c15ULL, &t), 0);
    }
    assert_int_equal(pagestats_count(ps), 5000);
    struct page_rates r;
    assert_true(pagestats_rates(ps, 4000 * 0x9e3779b97f4a7c15ULL, &r));
    assert_true(fabs(r.exit - 1.0 / 4000) < 1e-12);
    pagestats_clear(ps);
    assert_int_equal(pagestats_count(ps), 0);
    assert_false(pagestats_rates(ps, 4000 * 0x9e3779b97f4a7c15ULL, &r));
    assert_int_equal(pagestats_add(ps, 0, &(struct page_totals){0}), -1); /* 0 is no page */
    pagestats_free(ps);
    assert_true(prof_page_hash(NULL, NULL) != 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_sessions_by_hand),
        cmocka_unit_test(test_late_and_bounce),
        cmocka_unit_test(test_bounds),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
