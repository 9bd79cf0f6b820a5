/*
 * Unit tests for the scorer's scores (services/scorer/score.c) with the
 * shipped lead model and the paper's CDNOW churn parameters: the churn
 * summary of a profile, risk rising with silence, the warning's moment
 * (the risk reaches the alert then and not a minute before, never later
 * than 72 hours before the lapse), the lead score equal to the model's own
 * prediction of the features, reasons, personas and the model version.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pagestats.h"
#include "profile.h"
#include "rules.h"
#include "score.h"
#include "session_features.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY 86400000LL

static struct score_models g_models;
static struct scorer_rules *g_rules;
static struct pagestats *g_ps;
static struct persona_model g_personas;

static int setup(void **state)
{
    char err[512];
    (void)state;

    g_rules =
        scorer_rules_load(ANALYTICS_TEST_SOURCE_DIR "/deploy/config/scorer.json", err, sizeof(err));
    g_models.lead =
        lead_model_load(ANALYTICS_TEST_SOURCE_DIR "/deploy/models/lead.json", err, sizeof(err));
    g_ps = pagestats_new();
    /* The paper's CDNOW fit, in days. */
    g_models.churn.params = (struct bgnbd_params){0.243, 4.414 * 7.0, 0.793, 2.426};
    g_models.churn.unit = BGNBD_UNIT_DAY;
    snprintf(g_models.churn.model_version, sizeof(g_models.churn.model_version), "bgnbd-test");
    g_models.have_churn = true;
    /* Two personas: few sessions, many sessions. */
    g_personas.k = 2;
    for (int f = 0; f < PERSONA_F_COUNT; f++) {
        g_personas.sd[f] = 1;
    }
    g_personas.centroids[0][PERSONA_F_SESSIONS] = log1p(1.0);
    g_personas.centroids[1][PERSONA_F_SESSIONS] = log1p(20.0);
    snprintf(g_personas.names[0], PERSONA_NAME_MAX, "one-page bouncer");
    snprintf(g_personas.names[1], PERSONA_NAME_MAX, "loyal returner");
    snprintf(g_personas.version, sizeof(g_personas.version), "personas-test");
    g_models.personas = &g_personas;
    return g_rules != NULL && g_models.lead != NULL && g_ps != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    lead_model_free(g_models.lead);
    scorer_rules_free(g_rules);
    pagestats_free(g_ps);
    return 0;
}

static const struct score_opts g_opts = {false, 30.0, 0.7, 90 * DAY};

/* A visitor seen on days 100, 104 and 110 (UTC), last at noon on day 110. */
static void visitor(struct profile *p)
{
    prof_init(p, "fp-s");
    p->sessions = 3;
    p->visit_days = 3;
    p->first_visit_day = 100;
    p->last_visit_day = 110;
    p->first_seen_ms = 100 * DAY + 3600000;
    p->last_seen_ms = 110 * DAY + DAY / 2;
    p->cur.local_day = 110;
}

static double risk_at(const struct profile *p, long long ms)
{
    struct bgnbd_customer c;

    assert_true(score_customer(&g_models, &g_opts, p, (double)ms / DAY, &c));
    return bgnbd_churn_risk(&g_models.churn.params, &c, g_opts.horizon_days);
}

static void test_churn_summary_and_silence(void **state)
{
    struct profile p;
    struct bgnbd_customer c;
    (void)state;

    visitor(&p);
    assert_true(score_customer(&g_models, &g_opts, &p, 111.0, &c));
    assert_true(c.x == 2 && c.t_x == 10 && c.T == 10); /* T from the end of day 100 */
    assert_true(score_customer(&g_models, &g_opts, &p, 131.0, &c));
    assert_true(c.T == 30);
    double before = risk_at(&p, 111 * DAY), later = risk_at(&p, 150 * DAY);
    assert_true(before > 0 && before < later && later < 1);
    /* Bookings basis without a booking: no churn score. */
    struct score_opts bookings = g_opts;
    bookings.bookings_basis = true;
    assert_false(score_customer(&g_models, &bookings, &p, 111.0, &c));
    struct score_models none = g_models;
    none.have_churn = false;
    assert_false(score_customer(&none, &g_opts, &p, 111.0, &c));
    enum score_warning why = SCORE_WARN_ALERT;
    assert_int_equal(score_warning_at(&none, &g_opts, &p, 0, &why), 0);
    assert_int_equal(why, SCORE_WARN_NONE);
}

static void test_warning_moment(void **state)
{
    struct profile p;
    (void)state;

    visitor(&p);
    enum score_warning why = SCORE_WARN_NONE;
    long long at = score_warning_at(&g_models, &g_opts, &p, 0, &why);
    long long latest = p.last_seen_ms + g_opts.lapse_ms - SCORE_WARN_BEFORE_LAPSE_MS;
    assert_true(at > p.last_seen_ms && at < latest); /* the alert comes before the lapse */
    assert_int_equal(why, SCORE_WARN_ALERT);
    if (at < latest) { /* the crossing itself */
        assert_true(risk_at(&p, at) >= g_opts.alert - 1e-6);
        assert_true(risk_at(&p, at - 60000) < g_opts.alert);
    }
    /* An alert the risk never reaches within the lapse: the lapse warning. */
    struct score_opts high = g_opts;
    high.alert = 0.999999;
    assert_int_equal(score_warning_at(&g_models, &high, &p, 0, &why), latest);
    assert_int_equal(why, SCORE_WARN_LAPSE);
    /* A low alert reached at once: only the lapse warning again. */
    struct score_opts low = g_opts;
    low.alert = 0.01;
    assert_int_equal(score_warning_at(&g_models, &low, &p, 0, &why), latest);
    assert_int_equal(why, SCORE_WARN_LAPSE);
    /* A lapse soon after the crossing would be: the bound comes first. */
    struct score_opts soon = g_opts;
    soon.lapse_ms = at - p.last_seen_ms + SCORE_WARN_BEFORE_LAPSE_MS;
    assert_int_equal(score_warning_at(&g_models, &soon, &p, 0, &why), at);
    assert_int_equal(why, SCORE_WARN_LAPSE);
    soon.lapse_ms++;
    assert_int_equal(score_warning_at(&g_models, &soon, &p, 0, &why), at);
    assert_int_equal(why, SCORE_WARN_ALERT);
    /* A site two hours east: the same local moment, two hours earlier in UTC. */
    long long east = score_warning_at(&g_models, &g_opts, &p, 2 * 3600000LL, NULL);
    if (at < latest) {
        assert_true(llabs(east - at) <= 2 * 3600000LL + 1);
    }
}

static void test_lead_reasons_persona(void **state)
{
    struct profile p;
    struct score_result r;
    struct lead_prediction direct;
    char err[256] = "";
    (void)state;

    visitor(&p);
    p.cur.views[PAGE_CAT_PRODUCT] = 40;
    p.cur.ms[PAGE_CAT_PRODUCT] = 1800000;
    p.cur.npages = 1;
    p.cur.pages[0] = (struct profile_page){prof_page_hash("s", "/p"), 3, 0};
    struct page_totals t = {.entrances = 10,
                            .bounces = 0,
                            .page_views = 40,
                            .exits = 2,
                            .unique_views = 10,
                            .value = 600};
    assert_int_equal(pagestats_set(g_ps, prof_page_hash("s", "/p"), &t), 0);
    assert_int_equal(
        score_profile(&g_models, &g_opts, g_rules, g_ps, &p, 111.0, &r, err, sizeof(err)), 0);
    assert_true(r.have_lead && r.have_churn);
    assert_int_equal(lead_model_predict(g_models.lead, r.x, &direct, err, sizeof(err)), 0);
    assert_int_equal(r.lead_score, direct.score);
    assert_true(r.probability == direct.probability);
    assert_true(r.x[LEAD_F_PAGE_VALUE] == 60.0f);
    assert_true(r.lead_score >= 0 && r.lead_score <= 100);
    assert_int_equal(r.persona, 0); /* 3 sessions: nearer 1 than 20 */
    assert_non_null(strstr(r.model_version, lead_model_version(g_models.lead)));
    assert_non_null(strstr(r.model_version, "+bgnbd-test+personas-test"));
    assert_int_equal(score_explain(&g_models, &g_opts, &p, 111.0, &r, err, sizeof(err)), 0);
    assert_true(r.nreasons >= 2);
    assert_string_equal(r.reasons[r.nreasons - 1], "behaves like a one-page bouncer");
    /* Silent for months: a churn reason. */
    assert_int_equal(
        score_profile(&g_models, &g_opts, g_rules, g_ps, &p, 300.0, &r, err, sizeof(err)), 0);
    assert_true(r.churn_risk >= g_opts.alert);
    assert_int_equal(score_explain(&g_models, &g_opts, &p, 300.0, &r, err, sizeof(err)), 0);
    bool churn_reason = false;
    for (size_t i = 0; i < r.nreasons; i++) {
        churn_reason |= strncmp(r.reasons[i], "not seen for 189 days", 21) == 0;
    }
    assert_true(churn_reason);
    /* No models at all: no scores, no crash. */
    struct score_models none = {0};
    assert_int_equal(score_profile(&none, &g_opts, g_rules, g_ps, &p, 111.0, &r, err, sizeof(err)),
                     0);
    assert_false(r.have_lead || r.have_churn);
    assert_int_equal(r.persona, -1);
    assert_string_equal(r.model_version, "nolead+nochurn+nopersonas");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_churn_summary_and_silence),
        cmocka_unit_test(test_warning_moment),
        cmocka_unit_test(test_lead_reasons_persona),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
