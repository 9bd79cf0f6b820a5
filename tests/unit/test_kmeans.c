/*
 * Unit tests for k-means++, the silhouette and the adjusted Rand index
 * (common/models/kmeans.c): hand-computed silhouette and ARI cases, four
 * separated blobs recovered whatever the seed, determinism for one seed,
 * chance-level ARI of unrelated labelings, and the bounds refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "analytics/kmeans.h"
#include "analytics/rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void test_hand_cases(void **state)
{
    const double x[] = {0, 1, 10, 11};
    const int lab[] = {0, 0, 1, 1};
    (void)state;

    /* (10.5-1)/10.5 twice and (9.5-1)/9.5 twice, averaged. */
    double want = (2 * (9.5 / 10.5) + 2 * (8.5 / 9.5)) / 4;
    assert_true(fabs(kmeans_silhouette(x, 1, lab, 2, NULL, 4) - want) < 1e-12);
    const int one[] = {0, 0, 0, 0};
    assert_true(isnan(kmeans_silhouette(x, 1, one, 2, NULL, 4))); /* one cluster */
    const size_t idx[] = {0, 2};
    assert_true(fabs(kmeans_silhouette(x, 1, lab, 2, idx, 2)) < 1e-12); /* each alone */

    const int a[] = {0, 0, 1, 1}, b[] = {0, 0, 1, 2}, p[] = {1, 1, 0, 0};
    assert_true(fabs(kmeans_ari(a, b, 4, 3) - 4.0 / 7.0) < 1e-12);
    assert_true(fabs(kmeans_ari(a, a, 4, 2) - 1.0) < 1e-12);
    assert_true(fabs(kmeans_ari(a, p, 4, 2) - 1.0) < 1e-12); /* names of clusters do not matter */
    assert_true(isnan(kmeans_ari(a, b, 1, 3)));
}

/* n rows of 4 blobs in 3-D with their true blob in truth. */
static double *blobs(size_t n, uint64_t *rng, int *truth)
{
    static const double centres[4][3] = {{0, 0, 0}, {10, 0, 0}, {0, 10, 0}, {0, 0, 10}};
    double *x = malloc(n * 3 * sizeof(*x));

    for (size_t i = 0; i < n; i++) {
        int c = (int)rng_below(rng, 4);
        truth[i] = c;
        for (int j = 0; j < 3; j++) {
            /* a sum of uniforms: roughly normal, sd about 1 */
            double s = 0;
            for (int t = 0; t < 12; t++) {
                s += rng_unit(rng);
            }
            x[i * 3 + (size_t)j] = centres[c][j] + (s - 6.0);
        }
    }
    return x;
}

static void test_blobs(void **state)
{
    enum { N = 2000 };
    int truth[N], lab[N];
    (void)state;

    for (uint64_t seed = 1; seed <= 5; seed++) {
        uint64_t rng = seed, fit = seed * 31;
        double *x = blobs(N, &rng, truth);
        struct kmeans_result r;
        assert_int_equal(kmeans_fit(x, N, 3, 4, 3, 100, &fit, &r, lab), 0);
        assert_true(kmeans_ari(truth, lab, N, 4) > 0.99);
        assert_true(kmeans_silhouette(x, 3, lab, 4, NULL, N) > 0.6);
        /* assigning afresh gives the fit's labels */
        int again[N];
        kmeans_assign(r.centroids, r.k, 3, x, N, again);
        assert_memory_equal(again, lab, sizeof(lab));
        kmeans_result_fini(&r);
        free(x);
    }
}

static void test_deterministic_and_bounds(void **state)
{
    enum { N = 500 };
    int truth[N];
    uint64_t rng = 9, s1 = 5, s2 = 5;
    struct kmeans_result a, b;
    (void)state;

    double *x = blobs(N, &rng, truth);
    assert_int_equal(kmeans_fit(x, N, 3, 6, 2, 50, &s1, &a, NULL), 0);
    assert_int_equal(kmeans_fit(x, N, 3, 6, 2, 50, &s2, &b, NULL), 0);
    assert_memory_equal(a.centroids, b.centroids, sizeof(double) * 6 * 3);
    assert_true(a.inertia == b.inertia);
    kmeans_result_fini(&a);
    kmeans_result_fini(&b);
    assert_int_equal(kmeans_fit(x, 3, 3, 4, 1, 10, &s1, &a, NULL), -1); /* k > n */
    assert_int_equal(kmeans_fit(x, N, 0, 4, 1, 10, &s1, &a, NULL), -1);
    assert_int_equal(kmeans_fit(x, N, 3, 0, 1, 10, &s1, &a, NULL), -1);
    assert_int_equal(kmeans_fit(x, N, 3, KMEANS_K_MAX + 1, 1, 10, &s1, &a, NULL), -1);
    kmeans_result_fini(&a);
    /* Every row the same: one centroid there, inertia 0, no crash. */
    double same[30] = {0};
    assert_int_equal(kmeans_fit(same, 10, 3, 3, 1, 10, &s1, &a, NULL), 0);
    assert_true(a.inertia == 0.0);
    kmeans_result_fini(&a);
    /* Unrelated labelings agree only by chance. */
    int u[N], v[N];
    for (size_t i = 0; i < N; i++) {
        u[i] = (int)rng_below(&rng, 8);
        v[i] = (int)rng_below(&rng, 8);
    }
    assert_true(fabs(kmeans_ari(u, v, N, 8)) < 0.05);
    free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hand_cases),
        cmocka_unit_test(test_blobs),
        cmocka_unit_test(test_deterministic_and_bounds),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
