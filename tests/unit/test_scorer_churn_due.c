/*
 * Unit tests for a silent visitor's churn warning (services/scorer/
 * churn_due.c) with the paper's CDNOW parameters in days: the plan is the
 * alert crossing (churn_warning) or the bound 72 hours before the lapse
 * (lapse_warning), none without a churn model or once sent for the
 * silence, and again after the visitor is seen; a scheduled warning the
 * clock reaches is sent, moved when the models in use say later, dropped
 * when none is due; the cause id is the same for the same warning.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "churn_due.h"

#include <string.h>

#define DAY 86400000LL

static struct score_models g_models;
static const struct score_opts g_opts = {false, 30.0, 0.7, 90 * DAY};

static int setup(void **state)
{
    (void)state;
    g_models.churn.params = (struct bgnbd_params){0.243, 4.414 * 7.0, 0.793, 2.426};
    g_models.churn.unit = BGNBD_UNIT_DAY;
    g_models.have_churn = true;
    return 0;
}

/* A visitor seen on days 100, 104 and 110 (UTC), last at noon on day 110. */
static void visitor(struct profile *p)
{
    prof_init(p, "fp-due");
    p->sessions = 3;
    p->visit_days = 3;
    p->first_visit_day = 100;
    p->last_visit_day = 110;
    p->first_seen_ms = 100 * DAY + 3600000;
    p->last_seen_ms = 110 * DAY + DAY / 2;
    p->cur.local_day = 110;
}

static void test_plan(void **state)
{
    struct profile p;
    struct churn_due plan;
    (void)state;

    visitor(&p);
    churn_due_plan(&g_models, &g_opts, &p, 0, &plan);
    assert_int_equal(plan.at_ms, score_warning_at(&g_models, &g_opts, &p, 0, NULL));
    assert_true(plan.at_ms > p.last_seen_ms);
    assert_string_equal(plan.reason, "churn_warning");

    /* The lapse first: the bound 72 hours before it. */
    struct score_opts soon = g_opts;
    soon.lapse_ms = 10 * DAY;
    churn_due_plan(&g_models, &soon, &p, 0, &plan);
    assert_int_equal(plan.at_ms, p.last_seen_ms + 10 * DAY - SCORE_WARN_BEFORE_LAPSE_MS);
    assert_string_equal(plan.reason, "lapse_warning");

    /* No churn model, or no transaction on the basis: none. */
    struct score_models none = g_models;
    none.have_churn = false;
    churn_due_plan(&none, &g_opts, &p, 0, &plan);
    assert_int_equal(plan.at_ms, 0);
    assert_null(plan.reason);
    struct score_opts bookings = g_opts;
    bookings.bookings_basis = true;
    churn_due_plan(&g_models, &bookings, &p, 0, &plan);
    assert_int_equal(plan.at_ms, 0);
}

static void test_once_per_silence(void **state)
{
    struct profile p;
    struct churn_due plan, first;
    (void)state;

    visitor(&p);
    churn_due_plan(&g_models, &g_opts, &p, 0, &first);
    churn_due_mark(&p);
    assert_int_equal(p.warned_seen_ms, p.last_seen_ms);
    churn_due_plan(&g_models, &g_opts, &p, 0, &plan);
    assert_int_equal(plan.at_ms, 0); /* sent for this silence */
    /* Seen again (a later visit day): a new silence, a new warning. */
    p.last_seen_ms += 3 * DAY;
    p.last_visit_day += 3;
    p.visit_days++;
    churn_due_plan(&g_models, &g_opts, &p, 0, &plan);
    assert_true(plan.at_ms > first.at_ms);
    assert_string_equal(plan.reason, "churn_warning");
}

static void test_decide(void **state)
{
    struct churn_due plan = {1000, "churn_warning"}, none = {0, NULL};
    (void)state;

    assert_int_equal(churn_due_decide(&plan, 1000), CHURN_DUE_FIRE);
    assert_int_equal(churn_due_decide(&plan, 5000), CHURN_DUE_FIRE); /* the clock went past */
    assert_int_equal(churn_due_decide(&plan, 999), CHURN_DUE_MOVE);  /* a refit said later */
    assert_int_equal(churn_due_decide(&none, 5000), CHURN_DUE_DROP);
}

static void test_cause(void **state)
{
    char a[CHURN_DUE_CAUSE_MAX], b[CHURN_DUE_CAUSE_MAX];
    char fp[PROFILE_ID_MAX];
    (void)state;

    assert_string_equal(churn_due_cause("fp-1", 1796126400000LL, a, sizeof(a)),
                        "churn:fp-1:1796126400000");
    churn_due_cause("fp-1", 1796126400000LL, b, sizeof(b));
    assert_string_equal(a, b);
    churn_due_cause("fp-1", 1796126400001LL, b, sizeof(b));
    assert_string_not_equal(a, b);
    /* The longest fingerprint fits. */
    memset(fp, 'f', sizeof(fp) - 1);
    fp[sizeof(fp) - 1] = '\0';
    churn_due_cause(fp, -9223372036854775807LL - 1, a, sizeof(a));
    assert_int_equal(strlen(a), 6 + (sizeof(fp) - 1) + 1 + 20);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plan),
        cmocka_unit_test(test_once_per_silence),
        cmocka_unit_test(test_decide),
        cmocka_unit_test(test_cause),
    };

    return cmocka_run_group_tests(tests, setup, NULL);
}
