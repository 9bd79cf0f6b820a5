/*
 * Unit tests for the classifier measures (common/models/model_eval.c), on
 * cases small enough to work out by hand: ROC-AUC from pairs, average
 * precision threshold by threshold, ties between classes, one class only,
 * no rows at all, and the threshold taken as inclusive.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "analytics/model_eval.h"

#include <math.h>

#define EPS 1e-12
#define N(a) (sizeof(a) / sizeof((a)[0]))

/* cmocka 1.1 compares floats only; doubles here, with the figures shown. */
#define assert_near(got, want, eps) check_near((got), (want), (eps), __LINE__)

static void check_near(double got, double want, double eps, int line)
{
    if (!(fabs(got - want) <= eps)) {
        fail_msg("line %d: got %.17g, want %.17g", line, got, want);
    }
}

/* scikit-learn's documented example: four rows, one positive below a
 * negative. */
static const double s4[] = {0.1, 0.4, 0.35, 0.8};
static const int y4[] = {0, 0, 1, 1};

static void test_simple(void **state)
{
    (void)state;
    /* Pairs (positive above negative): 0.35>0.1, 0.8>0.1, 0.8>0.4; not
     * 0.35>0.4: 3 of 4. */
    assert_near(model_eval_roc_auc(s4, y4, 4), 0.75, EPS);
    /* From the top: 0.8 (recall 1/2, precision 1), 0.4 (no recall),
     * 0.35 (recall 1/2 more, precision 2/3): 1/2 + 1/3. */
    assert_near(model_eval_pr_auc(s4, y4, 4), 0.5 + 1.0 / 3.0, EPS);
    /* At 0.5 only 0.8 is positive: 3 of 4 right; tp 1, fp 0, fn 1. */
    assert_near(model_eval_accuracy(s4, y4, 4, 0.5), 0.75, EPS);
    assert_near(model_eval_f1(s4, y4, 4, 0.5), 2.0 / 3.0, EPS);
    /* (0.01 + 0.16 + 0.4225 + 0.04) / 4 */
    assert_near(model_eval_brier(s4, y4, 4), 0.158125, EPS);
    assert_near(model_eval_majority_accuracy(y4, 4), 0.5, EPS);
}

static void test_ties(void **state)
{
    const double all_tied[] = {0.5, 0.5, 0.5, 0.5};
    const int alt[] = {0, 1, 0, 1};
    const double s[] = {0.2, 0.6, 0.6, 0.9};
    const int y[] = {0, 1, 0, 1};
    (void)state;

    /* All tied: every pair counts a half; one threshold at precision 1/2. */
    assert_near(model_eval_roc_auc(all_tied, alt, 4), 0.5, EPS);
    assert_near(model_eval_pr_auc(all_tied, alt, 4), 0.5, EPS);
    /* 0.9 beats both negatives, 0.6 beats 0.2 and ties 0.6: 3.5 / 4. */
    assert_near(model_eval_roc_auc(s, y, 4), 0.875, EPS);
    /* 0.9: recall 1/2 at precision 1; the tied 0.6s enter together:
     * recall 1/2 more at precision 2/3. */
    assert_near(model_eval_pr_auc(s, y, 4), 0.5 + 1.0 / 3.0, EPS);
    /* The order of tied rows in the input does not matter. */
    const double s2[] = {0.6, 0.9, 0.2, 0.6};
    const int y2[] = {0, 1, 0, 1};
    assert_near(model_eval_roc_auc(s2, y2, 4), 0.875, EPS);
    assert_near(model_eval_pr_auc(s2, y2, 4), 0.5 + 1.0 / 3.0, EPS);
}

static void test_separation(void **state)
{
    const double s[] = {0.9, 0.8, 0.3, 0.1, 0.2};
    const int y[] = {1, 7, 0, 0, 0}; /* any non-zero label is positive */
    const int rev[] = {0, 0, 1, 1, 1};
    (void)state;

    assert_near(model_eval_roc_auc(s, y, N(s)), 1.0, EPS);
    assert_near(model_eval_pr_auc(s, y, N(s)), 1.0, EPS);
    assert_near(model_eval_roc_auc(s, rev, N(s)), 0.0, EPS);
    /* Reversed: positives at ranks 3, 4, 5 from the top: (1/3)(1/3 + 2/4
     * + 3/5). */
    assert_near(model_eval_pr_auc(s, rev, N(s)), (1.0 / 3.0 + 2.0 / 4.0 + 3.0 / 5.0) / 3.0, EPS);
    /* Threshold is inclusive: 0.3 >= 0.3. */
    assert_near(model_eval_accuracy(s, rev, N(s), 0.3), 0.2, EPS);
    assert_near(model_eval_majority_accuracy(rev, N(rev)), 0.6, EPS);
}

static void test_one_class(void **state)
{
    const double s[] = {0.2, 0.7, 0.4};
    const int ones[] = {1, 1, 1};
    const int zeros[] = {0, 0, 0};
    struct model_eval e;
    (void)state;

    assert_true(isnan(model_eval_roc_auc(s, ones, 3)));
    assert_true(isnan(model_eval_roc_auc(s, zeros, 3)));
    /* Only positives: precision is 1 at every threshold. */
    assert_near(model_eval_pr_auc(s, ones, 3), 1.0, EPS);
    assert_true(isnan(model_eval_pr_auc(s, zeros, 3)));
    /* No positive predicted and none there: no true positive, F1 0. */
    assert_near(model_eval_f1(s, zeros, 3, 0.9), 0.0, EPS);
    assert_near(model_eval_accuracy(s, zeros, 3, 0.9), 1.0, EPS);
    assert_near(model_eval_majority_accuracy(zeros, 3), 1.0, EPS);
    assert_int_equal(model_eval_all(s, zeros, 3, 0.5, &e), 0);
    assert_int_equal(e.rows, 3);
    assert_int_equal(e.positives, 0);
    assert_true(isnan(e.roc_auc));
    assert_true(isnan(e.pr_auc));
    assert_near(e.accuracy, 2.0 / 3.0, EPS);
}

static void test_empty(void **state)
{
    struct model_eval e;
    (void)state;

    assert_true(isnan(model_eval_roc_auc(NULL, NULL, 0)));
    assert_true(isnan(model_eval_pr_auc(NULL, NULL, 0)));
    assert_true(isnan(model_eval_accuracy(NULL, NULL, 0, 0.5)));
    assert_true(isnan(model_eval_f1(NULL, NULL, 0, 0.5)));
    assert_true(isnan(model_eval_brier(NULL, NULL, 0)));
    assert_true(isnan(model_eval_majority_accuracy(NULL, 0)));
    assert_int_equal(model_eval_all(NULL, NULL, 0, 0.5, &e), 0);
    assert_int_equal(e.rows, 0);
    assert_int_equal(e.positives, 0);
    assert_true(isnan(e.roc_auc) && isnan(e.pr_auc) && isnan(e.accuracy) && isnan(e.f1) &&
                isnan(e.brier) && isnan(e.majority_accuracy));
}

static void test_all_matches_parts(void **state)
{
    struct model_eval e;
    (void)state;

    assert_int_equal(model_eval_all(s4, y4, 4, 0.5, &e), 0);
    assert_int_equal(e.rows, 4);
    assert_int_equal(e.positives, 2);
    assert_near(e.roc_auc, 0.75, EPS);
    assert_near(e.pr_auc, 0.5 + 1.0 / 3.0, EPS);
    assert_near(e.accuracy, 0.75, EPS);
    assert_near(e.f1, 2.0 / 3.0, EPS);
    assert_near(e.brier, 0.158125, EPS);
    assert_near(e.majority_accuracy, 0.5, EPS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple),     cmocka_unit_test(test_ties),
        cmocka_unit_test(test_separation), cmocka_unit_test(test_one_class),
        cmocka_unit_test(test_empty),      cmocka_unit_test(test_all_matches_parts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
