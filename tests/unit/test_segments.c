/*
 * Unit tests for the personas (common/models/persona.c) and their fitting
 * (tools/train/segments.c): nine seeded archetypes of visitors are found
 * as nine personas with the names their behaviour earns, stably (ARI of
 * bootstrap refits >= 0.9) and the same for one seed; names are distinct
 * however alike the centroids; the model file round-trips and damaged files
 * are refused naming the key; features of odd counts stay finite.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "analytics/persona.h"
#include "analytics/rng.h"
#include "fixture.h"
#include "segments.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* sessions, pages/session, seconds/session, pricing, started, completed,
 * forms, rage, exits, scroll %, active days */
static const double archetypes[9][11] = {
    {1, 1, 5, 0, 0, 0, 0, 0, 0, 20, 0},    {1, 6, 300, 0, 0, 0, 0, 0, 0, 90, 0},
    {2, 5, 200, 6, 0, 0, 0, 0, 0, 50, 3},  {1, 6, 250, 2, 1, 0, 1, 0, 1, 60, 0},
    {1, 7, 300, 1, 1, 1, 1, 0, 0, 60, 0},  {6, 5, 200, 2, 3, 3, 2, 0, 0, 60, 60},
    {5, 3, 100, 0, 0, 0, 0, 0, 0, 40, 40}, {1, 4, 80, 0, 0, 0, 0, 4, 1, 30, 0},
    {1, 3, 60, 0, 0, 0, 0, 0, 3, 30, 0},
};

static double jitter(uint64_t *rng, double v)
{
    return round(v * (0.6 + 0.8 * rng_unit(rng)));
}

/* n profiles' features, archetype i % 9 each. */
static double *population(size_t n, uint64_t seed)
{
    double *x = malloc(n * PERSONA_F_COUNT * sizeof(*x));
    uint64_t rng = seed;

    for (size_t i = 0; i < n; i++) {
        const double *a = archetypes[i % 9];
        double s = fmax(1, round(a[0] * (0.7 + 0.6 * rng_unit(&rng))));
        struct persona_input in = {
            s,
            jitter(&rng, a[1] * s),
            jitter(&rng, a[2] * s),
            jitter(&rng, a[3]),
            jitter(&rng, a[4]),
            jitter(&rng, a[5]),
            jitter(&rng, a[6]),
            jitter(&rng, a[7]),
            jitter(&rng, a[8]),
            fmin(100, jitter(&rng, a[9])),
            jitter(&rng, a[10]),
        };
        persona_features(&in, x + i * PERSONA_F_COUNT);
    }
    return x;
}

static bool has_name(const struct persona_model *m, const char *name)
{
    for (int c = 0; c < m->k; c++) {
        if (strcmp(m->names[c], name) == 0) {
            return true;
        }
    }
    return false;
}

static void test_archetypes_found(void **state)
{
    struct segments_opts o = {SEGMENTS_K_MIN, SEGMENTS_K_MAX, 42, 2000, 12, 5};
    struct persona_model *m = calloc(2, sizeof(*m));
    struct segments_report rep;
    char err[256] = "";
    (void)state;

    double *x = population(2700, 7);
    assert_int_equal(segments_fit(x, 2700, &o, &m[0], &rep, err, sizeof(err)), 0);
    assert_int_equal(m[0].k, 9);
    if (!(rep.ari_mean >= 0.9 && rep.ari_min >= 0.9)) {
        fail_msg("stability: mean ARI %.3f, least %.3f", rep.ari_mean, rep.ari_min);
    }
    assert_true(m[0].silhouette > 0.5);
    const char *want[] = {"one-page bouncer",  "deep reader",        "price comparer",
                          "booking abandoner", "high-intent booker", "loyal booker",
                          "loyal returner",    "frustrated visitor", "on the way out"};
    for (size_t i = 0; i < 9; i++) {
        if (!has_name(&m[0], want[i])) {
            fail_msg("no persona named \"%s\"", want[i]);
        }
    }
    double total = 0;
    for (int c = 0; c < m[0].k; c++) {
        total += m[0].share[c];
        assert_true(strstr(m[0].descriptions[c], "% of visitors:") != NULL);
    }
    assert_true(fabs(total - 1.0) < 1e-9);
    /* Each archetype's profiles land in one persona, the same one. */
    for (size_t a = 0; a < 9; a++) {
        int first = persona_assign(&m[0], x + a * PERSONA_F_COUNT);
        for (size_t i = a; i < 2700; i += 9) {
            assert_int_equal(persona_assign(&m[0], x + i * PERSONA_F_COUNT), first);
        }
    }
    /* The same seed gives the same model. */
    assert_int_equal(segments_fit(x, 2700, &o, &m[1], &rep, err, sizeof(err)), 0);
    assert_memory_equal(m[0].centroids, m[1].centroids, sizeof(m[0].centroids));
    assert_string_equal(m[0].version, m[1].version);
    free(x);
    free(m);
}

static void test_names_distinct_and_bounds(void **state)
{
    struct persona_model *m = calloc(1, sizeof(*m));
    struct segments_opts o = {SEGMENTS_K_MIN, SEGMENTS_K_MAX, 1, 500, 1, 0};
    struct segments_report rep;
    char err[256] = "";
    (void)state;

    /* Twelve identical centroids still get twelve names. */
    m->k = 12;
    for (int f = 0; f < PERSONA_F_COUNT; f++) {
        m->sd[f] = 1;
    }
    persona_name_all(m);
    for (int a = 0; a < m->k; a++) {
        for (int b = a + 1; b < m->k; b++) {
            assert_string_not_equal(m->names[a], m->names[b]);
        }
    }
    double *x = population(50, 3);
    assert_int_equal(segments_fit(x, 50, &o, m, &rep, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "at least 120"));
    o.k_min = 13;
    assert_int_equal(segments_fit(x, 50, &o, m, &rep, err, sizeof(err)), -1);
    free(x);
    /* Odd counts: negative, NaN, huge; features stay finite. */
    struct persona_input bad = {-1, NAN, INFINITY, 1e300, 0, 0, 0, 0, 0, 500, -3};
    double f[PERSONA_F_COUNT];
    persona_features(&bad, f);
    for (int i = 0; i < PERSONA_F_COUNT; i++) {
        assert_true(isfinite(f[i]));
    }
    assert_true(f[PERSONA_F_DEEPEST_SCROLL] == 1.0);
    free(m);
}

static void write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");

    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static void test_file(void **state)
{
    struct persona_model *m = calloc(2, sizeof(*m));
    struct segments_opts o = {9, 9, 5, 1000, 2, 0};
    struct segments_report rep;
    struct fixture_tmp t;
    char err[256] = "";
    (void)state;

    double *x = population(900, 11);
    assert_int_equal(segments_fit(x, 900, &o, &m[0], &rep, err, sizeof(err)), 0);
    assert_int_equal(fixture_tmp_open(&t, "test_segments", "personas.json"), 0);
    assert_int_equal(persona_model_save(&m[0], t.file, err, sizeof(err)), 0);
    assert_int_equal(persona_model_load(&m[1], t.file, err, sizeof(err)), 0);
    assert_int_equal(m[1].k, 9);
    assert_string_equal(m[1].version, m[0].version);
    for (size_t i = 0; i < 900; i++) {
        assert_int_equal(persona_assign(&m[0], x + i * PERSONA_F_COUNT),
                         persona_assign(&m[1], x + i * PERSONA_F_COUNT));
    }
    for (int c = 0; c < 9; c++) {
        assert_string_equal(m[1].names[c], m[0].names[c]);
    }
    const struct {
        const char *text, *want;
    } cases[] = {
        {"{}", "not a persona model"},
        {"{\"format\":\"personas/1\",\"features\":[]}", "\"features\" must list"},
        {"{\"format\":\"personas/1\",\"features\":[\"sessions\",\"x\",\"x\",\"x\",\"x\",\"x\","
         "\"x\",\"x\",\"x\",\"x\",\"x\"]}",
         "features[1] must be \"pages_per_session\""},
        {"[1]", "not a JSON object"},
        {"{\"format\":", "malformed JSON"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        write_file(t.file, cases[i].text);
        err[0] = '\0';
        assert_int_equal(persona_model_load(&m[1], t.file, err, sizeof(err)), -1);
        if (strstr(err, cases[i].want) == NULL) {
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err, cases[i].want);
        }
    }
    assert_int_equal(persona_model_save(&m[0], "/nonexistent/dir/p.json", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "/nonexistent/dir/p.json: cannot create a file beside it"));
    fixture_tmp_close(&t);
    free(x);
    free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_archetypes_found),
        cmocka_unit_test(test_names_distinct_and_bounds),
        cmocka_unit_test(test_file),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
