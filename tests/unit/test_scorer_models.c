/*
 * Unit tests for the scorer's models while it runs (services/scorer/
 * models.c): the shipped lead and churn models and a saved persona model
 * load, each into its place; a file that fails leaves the one held as it
 * was; taking a set in moves only what it holds and frees what it
 * replaces; a reload of a configuration with a corrupt lead model loads the
 * others and counts the one that failed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "analytics/log.h"
#include "models.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LEAD ANALYTICS_TEST_SOURCE_DIR "/deploy/models/lead.json"
#define CHURN ANALYTICS_TEST_SOURCE_DIR "/deploy/models/churn.json"

static char g_dir[] = "/tmp/test_scorer_models.XXXXXX";
static char g_bad[sizeof(g_dir) + 16], g_personas[sizeof(g_dir) + 16];

static int setup(void **state)
{
    struct persona_model pm;
    char err[256];
    (void)state;

    log_init("test", LOG_LEVEL_ERROR);
    if (mkdtemp(g_dir) == NULL) {
        return -1;
    }
    snprintf(g_bad, sizeof(g_bad), "%s/bad.json", g_dir);
    snprintf(g_personas, sizeof(g_personas), "%s/personas.json", g_dir);
    FILE *f = fopen(g_bad, "w");
    if (f == NULL || fputs("{\"learner\": ", f) < 0 || fclose(f) != 0) {
        return -1;
    }
    memset(&pm, 0, sizeof(pm));
    pm.k = 2;
    for (int i = 0; i < PERSONA_F_COUNT; i++) {
        pm.sd[i] = 1;
    }
    pm.centroids[1][PERSONA_F_SESSIONS] = 2;
    pm.share[0] = pm.share[1] = 0.5;
    pm.stability_ari = 1;
    pm.profiles = 10;
    persona_name_all(&pm);
    return persona_model_save(&pm, g_personas, err, sizeof(err));
}

static int teardown(void **state)
{
    (void)state;
    unlink(g_bad);
    unlink(g_personas);
    rmdir(g_dir);
    return 0;
}

static void test_load_each(void **state)
{
    struct scorer_models ms = {0};
    char why[512];
    (void)state;

    assert_int_equal(scorer_models_load(&ms, SCORER_MODEL_LEAD, LEAD, why, sizeof(why)), 0);
    assert_non_null(ms.m.lead);
    assert_false(ms.m.have_churn);
    assert_int_equal(scorer_models_load(&ms, SCORER_MODEL_CHURN, CHURN, why, sizeof(why)), 0);
    assert_true(ms.m.have_churn);
    assert_true(ms.churn_stamp.size > 0); /* the file's version, to watch it */
    assert_int_equal(scorer_models_load(&ms, SCORER_MODEL_PERSONAS, g_personas, why, sizeof(why)),
                     0);
    assert_ptr_equal(ms.m.personas, ms.personas);
    assert_int_equal(ms.m.personas->k, 2);

    /* A corrupt or missing file: an error naming it, the model held stays. */
    struct lead_model *held = ms.m.lead;
    assert_int_equal(scorer_models_load(&ms, SCORER_MODEL_LEAD, g_bad, why, sizeof(why)), -1);
    assert_non_null(strstr(why, g_bad));
    assert_ptr_equal(ms.m.lead, held);
    struct bgnbd_model churn = ms.m.churn;
    assert_int_equal(scorer_models_load(&ms, SCORER_MODEL_CHURN, g_bad, why, sizeof(why)), -1);
    assert_memory_equal(&ms.m.churn, &churn, sizeof(churn));
    assert_int_equal(
        scorer_models_load(&ms, SCORER_MODEL_PERSONAS, "/nonexistent", why, sizeof(why)), -1);
    assert_int_equal(ms.m.personas->k, 2);
    assert_string_equal(scorer_models_var(SCORER_MODEL_LEAD), "ANALYTICS_SCORER_LEAD_MODEL");
    assert_string_equal(scorer_models_var(SCORER_MODEL_CHURN), "ANALYTICS_SCORER_CHURN_MODEL");
    scorer_models_fini(&ms);
    assert_null(ms.m.lead);
    assert_null(ms.personas);
}

static void test_take(void **state)
{
    struct scorer_models in_use = {0}, fresh = {0};
    char why[512];
    (void)state;

    assert_int_equal(scorer_models_load(&in_use, SCORER_MODEL_LEAD, LEAD, why, sizeof(why)), 0);
    assert_int_equal(scorer_models_load(&in_use, SCORER_MODEL_CHURN, CHURN, why, sizeof(why)), 0);
    struct lead_model *old_lead = in_use.m.lead;
    /* Nothing held: nothing moves. */
    assert_int_equal(scorer_models_take(&in_use, &fresh), 0);
    assert_ptr_equal(in_use.m.lead, old_lead);
    /* A new lead model alone: the churn model in use stays. */
    assert_int_equal(scorer_models_load(&fresh, SCORER_MODEL_LEAD, LEAD, why, sizeof(why)), 0);
    struct lead_model *new_lead = fresh.m.lead;
    assert_int_equal(scorer_models_take(&in_use, &fresh), 1u << SCORER_MODEL_LEAD);
    assert_ptr_equal(in_use.m.lead, new_lead); /* the old one freed (LeakSanitizer would say) */
    assert_null(fresh.m.lead);
    assert_true(in_use.m.have_churn);
    /* Churn and personas. */
    assert_int_equal(scorer_models_load(&fresh, SCORER_MODEL_CHURN, CHURN, why, sizeof(why)), 0);
    assert_int_equal(
        scorer_models_load(&fresh, SCORER_MODEL_PERSONAS, g_personas, why, sizeof(why)), 0);
    assert_int_equal(scorer_models_take(&in_use, &fresh),
                     (1u << SCORER_MODEL_CHURN) | (1u << SCORER_MODEL_PERSONAS));
    assert_false(fresh.m.have_churn);
    assert_null(fresh.personas);
    assert_null(fresh.m.personas);
    assert_ptr_equal(in_use.m.personas, in_use.personas);
    scorer_models_fini(&fresh);
    scorer_models_fini(&in_use);
}

static void test_reload(void **state)
{
    struct scorer_models ms = {0};
    struct scorer_config c;
    (void)state;

    memset(&c, 0, sizeof(c));
    c.lead_model = g_bad;
    c.churn_model = (char *)CHURN;
    c.persona_model = NULL; /* no personas: not loaded */
    assert_int_equal(scorer_models_reload(&ms, &c), 1);
    assert_null(ms.m.lead);
    assert_true(ms.m.have_churn);
    assert_null(ms.personas);
    scorer_models_fini(&ms);
    c.lead_model = (char *)LEAD;
    c.persona_model = g_personas;
    assert_int_equal(scorer_models_reload(&ms, &c), 0);
    assert_non_null(ms.m.lead);
    assert_non_null(ms.personas);
    scorer_models_fini(&ms);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_each),
        cmocka_unit_test(test_take),
        cmocka_unit_test(test_reload),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
