/*
 * Unit tests for the scorer's outputs (services/scorer/outputs.c): the
 * ScoreUpdate unpacks to what was scored (missing features left out, an
 * extra reason first), and the hot profile's fields, reasons cut whole to
 * fit however long they are.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "analytics/v1/score_update.pb-c.h"
#include "outputs.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void scored(struct profile *p, struct score_result *r)
{
    prof_init(p, "fp-o");
    snprintf(p->user_id, sizeof(p->user_id), "u-1");
    snprintf(p->stage, sizeof(p->stage), "consideration");
    p->sessions = 2;
    p->page_views = 9;
    p->last_seen_ms = 1764590400000LL;
    memset(r, 0, sizeof(*r));
    for (int f = 0; f < LEAD_F_COUNT; f++) {
        r->x[f] = (float)f;
    }
    r->x[LEAD_F_PAGE_VALUE] = NAN;
    r->have_lead = true;
    r->probability = 0.8125;
    r->lead_score = 81;
    r->have_churn = true;
    r->churn_risk = 0.25;
    r->p_alive = 0.9;
    r->expected = 1.5;
    r->persona = 3;
    snprintf(r->reasons[0], LEAD_REASON_MAX, "viewed 40 product pages");
    snprintf(r->reasons[1], LEAD_REASON_MAX, "returning visitor");
    r->nreasons = 2;
    snprintf(r->model_version, sizeof(r->model_version), "lead-a+bgnbd-b+personas-c");
}

static void test_score_update(void **state)
{
    struct profile p;
    struct score_result r;
    uint8_t *buf = NULL;
    size_t len = 0;
    (void)state;

    scored(&p, &r);
    assert_int_equal(outputs_score_update(&p, &r, "price comparer", "ev-9", 1764590400123LL,
                                          "churn_warning", &buf, &len),
                     0);
    Analytics__V1__ScoreUpdate *u = analytics__v1__score_update__unpack(NULL, len, buf);
    assert_non_null(u);
    assert_int_equal(u->schema_version, 1);
    assert_string_equal(u->cause_event_id, "ev-9");
    assert_string_equal(u->fingerprint, "fp-o");
    assert_string_equal(u->user_id, "u-1");
    assert_int_equal(u->ts_ms, 1764590400123LL);
    assert_int_equal(u->lead_score, 81);
    assert_true(u->conversion_probability == 0.8125 && u->churn_risk == 0.25);
    assert_string_equal(u->segment, "price comparer");
    assert_string_equal(u->model_version, "lead-a+bgnbd-b+personas-c");
    assert_int_equal(u->n_features, LEAD_F_COUNT - 1 + 2);
    for (size_t i = 0; i < u->n_features; i++) {
        assert_string_not_equal(u->features[i]->key, "page_value");
        assert_false(isnan(u->features[i]->value));
    }
    assert_int_equal(u->n_reasons, 3);
    assert_string_equal(u->reasons[0], "churn_warning");
    assert_string_equal(u->reasons[2], "returning visitor");
    analytics__v1__score_update__free_unpacked(u, NULL);
    free(buf);
}

static void test_hash(void **state)
{
    struct profile p;
    struct score_result r;
    struct outputs_hash h;
    (void)state;

    scored(&p, &r);
    outputs_hash(&p, &r, "price comparer", &h);
    assert_true(h.n <= OUTPUTS_HASH_FIELDS);
    const char *want[][2] = {{"lead_score", "81"},
                             {"conversion_probability", "0.8125"},
                             {"churn_risk", "0.2500"},
                             {"persona", "price comparer"},
                             {"stage", "consideration"},
                             {"returning", "1"},
                             {"last_seen_ms", "1764590400000"},
                             {"reasons", "[\"viewed 40 product pages\",\"returning visitor\"]"}};
    for (size_t w = 0; w < sizeof(want) / sizeof(want[0]); w++) {
        bool found = false;
        for (size_t i = 0; i < h.n; i++) {
            if (strcmp(h.fields[i], want[w][0]) == 0) {
                assert_string_equal(h.values[i], want[w][1]);
                found = true;
            }
        }
        if (!found) {
            fail_msg("no field %s", want[w][0]);
        }
    }
    /* Long reasons: only whole ones that fit, still a JSON array. */
    for (size_t i = 0; i < SCORE_REASONS_MAX; i++) {
        memset(r.reasons[i], 'x', LEAD_REASON_MAX - 1);
        r.reasons[i][LEAD_REASON_MAX - 1] = '\0';
    }
    r.nreasons = SCORE_REASONS_MAX;
    r.have_churn = false;
    outputs_hash(&p, &r, NULL, &h);
    for (size_t i = 0; i < h.n; i++) {
        if (strcmp(h.fields[i], "reasons") == 0) {
            cJSON *a = cJSON_Parse(h.values[i]);
            assert_true(cJSON_IsArray(a));
            assert_true(cJSON_GetArraySize(a) >= 1 && cJSON_GetArraySize(a) < SCORE_REASONS_MAX);
            cJSON_Delete(a);
        }
        if (strcmp(h.fields[i], "churn_risk") == 0 || strcmp(h.fields[i], "persona") == 0) {
            assert_string_equal(h.values[i], "");
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_score_update),
        cmocka_unit_test(test_hash),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
