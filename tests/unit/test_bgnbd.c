/*
 * Unit tests for the BG/NBD model (common/models/bgnbd.c, bgnbd_model.c):
 * the likelihood at the paper's CDNOW parameters against closed forms for
 * x = 0, 1, 2, its gradient against finite differences, P(alive), the
 * expected transactions against a quadrature of their definition and a
 * simulation, the churn risk's monotony, the risk crossing, a fit that
 * recovers simulated parameters, the fit's errors, and the model file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "analytics/bgnbd.h"
#include "analytics/bgnbd_model.h"
#include "analytics/rng.h"
#include "fixture.h"

#include <cjson/cJSON.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_integration.h>
#include <gsl/gsl_sf_gamma.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Fader, Hardie & Lee's estimates on the CDNOW sample (weeks). */
static const struct bgnbd_params cdnow = {0.243, 4.414, 0.793, 2.426};

/* Parameter k of p: 0 r, 1 alpha, 2 a, 3 b. */
static double *param(struct bgnbd_params *p, size_t k)
{
    return k == 0 ? &p->r : k == 1 ? &p->alpha : k == 2 ? &p->a : &p->b;
}

/* |got - want| <= tol * max(1, |want|) */
static void assert_close(double got, double want, double tol)
{
    double scale = fabs(want) > 1 ? fabs(want) : 1;

    if (!(fabs(got - want) <= tol * scale)) {
        fail_msg("got %.17g, want %.17g (tolerance %g)", got, want, tol);
    }
}

static void test_ll_closed_forms(void **state)
{
    const struct bgnbd_params *p = &cdnow;
    double r = p->r, al = p->alpha, a = p->a, b = p->b;
    (void)state;

    /* x = 0: alpha^r / (alpha + T)^r */
    struct bgnbd_customer c0 = {0, 0, 38.86};
    assert_close(bgnbd_customer_ll(p, &c0), r * log(al / (al + 38.86)), 1e-13);
    /* x = 1: r alpha^r [b/(a+b) (alpha+T)^-(r+1) + a/(a+b) (alpha+t_x)^-(r+1)] */
    struct bgnbd_customer c1 = {1, 10, 38.86};
    double l1 = r * pow(al, r) *
                (b / (a + b) * pow(al + 38.86, -r - 1) + a / (a + b) * pow(al + 10, -r - 1));
    assert_close(bgnbd_customer_ll(p, &c1), log(l1), 1e-13);
    /* x = 2: r(r+1) alpha^r / ((a+b)(a+b+1)) [b(b+1) (alpha+T)^-(r+2) + a b (alpha+t_x)^-(r+2)] */
    struct bgnbd_customer c2 = {2, 30.43, 38.86};
    double l2 = r * (r + 1) * pow(al, r) / ((a + b) * (a + b + 1)) *
                (b * (b + 1) * pow(al + 38.86, -r - 2) + a * b * pow(al + 30.43, -r - 2));
    assert_close(bgnbd_customer_ll(p, &c2), log(l2), 1e-13);
    /* A frequent buyer stays finite (the logs do not overflow). */
    struct bgnbd_customer c3 = {300, 38, 39};
    assert_true(isfinite(bgnbd_customer_ll(p, &c3)));
    /* The set is the sum. */
    struct bgnbd_customer set[3] = {c0, c1, c2};
    assert_close(bgnbd_ll(p, set, 3), r * log(al / (al + 38.86)) + log(l1) + log(l2), 1e-13);
    assert_true(bgnbd_ll(p, set, 0) == 0);
}

static void test_ll_invalid(void **state)
{
    struct bgnbd_params bad = {0.243, 0, 0.793, 2.426};
    struct bgnbd_customer ok = {1, 2, 3}, set[2] = {{1, 2, 3}, {0, 1, 3}};
    const struct bgnbd_customer nots[] = {
        {0, 1, 3},   /* t_x > 0 with no repeat */
        {2, 4, 3},   /* t_x > T */
        {1.5, 1, 3}, /* x not whole */
        {-1, 0, 3},  {1, -1, 3}, {1, 1, INFINITY}, {NAN, 1, 3},
    };
    (void)state;

    assert_true(isnan(bgnbd_customer_ll(&bad, &ok)));
    bad.alpha = NAN;
    assert_true(isnan(bgnbd_customer_ll(&bad, &ok)));
    for (size_t i = 0; i < sizeof(nots) / sizeof(nots[0]); i++) {
        assert_false(bgnbd_customer_valid(&nots[i]));
        assert_true(isnan(bgnbd_customer_ll(&cdnow, &nots[i])));
        assert_true(isnan(bgnbd_p_alive(&cdnow, &nots[i])));
        assert_true(isnan(bgnbd_churn_risk(&cdnow, &nots[i], 1)));
        assert_true(isnan(bgnbd_expected_transactions(&cdnow, &nots[i], 1)));
    }
    assert_true(isnan(bgnbd_ll(&cdnow, set, 2)));
    assert_true(isnan(bgnbd_expected_transactions(&cdnow, &ok, -1)));
    assert_true(isnan(bgnbd_churn_risk(&cdnow, &ok, NAN)));
}

static void test_gradient(void **state)
{
    struct bgnbd_customer set[] = {{0, 0, 38.86}, {1, 10, 30}, {2, 30.43, 38.86},
                                   {7, 35, 36},   {0, 0, 0},   {3, 0.5, 2}};
    size_t n = sizeof(set) / sizeof(set[0]);
    double g[4];
    (void)state;

    assert_int_equal(bgnbd_ll_gradient(&cdnow, set, n, g), 0);
    for (size_t k = 0; k < 4; k++) {
        struct bgnbd_params hi = cdnow, lo = cdnow;
        double *ph = param(&hi, k), *pl = param(&lo, k), h = *ph * 1e-6;
        *ph += h;
        *pl -= h;
        double fd = (bgnbd_ll(&hi, set, n) - bgnbd_ll(&lo, set, n)) / (2 * h);
        assert_close(g[k], fd, 1e-6);
    }
    struct bgnbd_params bad = {-1, 1, 1, 1};
    assert_int_equal(bgnbd_ll_gradient(&bad, set, n, g), -1);
}

static void test_p_alive(void **state)
{
    double prev = 1;
    (void)state;

    for (int k = 0; k < 27; k++) {
        struct bgnbd_customer c = {0, 0, 7.5 * k};
        assert_true(bgnbd_p_alive(&cdnow, &c) == 1);
    }
    /* 1 / (1 + a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x)) */
    struct bgnbd_customer c = {2, 30.43, 38.86};
    double want = 1 / (1 + cdnow.a / (cdnow.b + 1) *
                               pow((cdnow.alpha + 38.86) / (cdnow.alpha + 30.43), cdnow.r + 2));
    assert_close(bgnbd_p_alive(&cdnow, &c), want, 1e-14);
    /* Falls with silence; a purchase at T means alive likelier than not. */
    for (int k = 0; k < 74; k++) {
        c.T = 30.43 + 5 * k;
        double pa = bgnbd_p_alive(&cdnow, &c);
        assert_true(pa > 0 && pa <= prev);
        prev = pa;
    }
    c.T = c.t_x;
    assert_true(bgnbd_p_alive(&cdnow, &c) > 0.5);
}

static void test_churn_risk(void **state)
{
    const struct bgnbd_customer cs[] = {{0, 0, 10}, {2, 30.43, 38.86}, {20, 38, 39}};
    (void)state;

    for (size_t i = 0; i < sizeof(cs) / sizeof(cs[0]); i++) {
        struct bgnbd_customer c = cs[i];
        double pa = bgnbd_p_alive(&cdnow, &c), prev;

        assert_true(bgnbd_churn_risk(&cdnow, &c, 0) == 1);
        /* Falls with the horizon, towards 1 - P(alive). */
        prev = 1;
        for (int k = 0; k < 20; k++) {
            double t = ldexp(1, k), risk = bgnbd_churn_risk(&cdnow, &c, t);
            if (!(t > 64 ? risk <= prev : risk < prev)) {
                fail_msg("customer %zu, t %g: risk %.17g after %.17g", i, t, risk, prev);
            }
            assert_true(risk >= 1 - pa);
            prev = risk;
        }
        assert_close(bgnbd_churn_risk(&cdnow, &c, INFINITY), 1 - pa, 1e-15);
        /* Rises with silence. */
        prev = 0;
        for (int k = 0; k < 34; k++) {
            c.T = cs[i].T + 3 * k;
            double risk = bgnbd_churn_risk(&cdnow, &c, 13);
            assert_true(risk > prev && risk < 1);
            prev = risk;
        }
    }
    /* (1 - P(alive)) + P(alive) ((alpha+T)/(alpha+T+t))^(r+x) */
    struct bgnbd_customer c = {2, 30.43, 38.86};
    double pa = bgnbd_p_alive(&cdnow, &c);
    double want = 1 - pa + pa * pow((cdnow.alpha + 38.86) / (cdnow.alpha + 38.86 + 13), 2.243);
    assert_close(bgnbd_churn_risk(&cdnow, &c, 13), want, 1e-14);
}

/* ---- expected transactions against their definition ---- */

struct integrand {
    const struct bgnbd_params *p;
    double x, T, t;
};

/* (1 - ((alpha+T)/(alpha+T+q t))^(r+x)) / q: an alive customer's expected
 * purchases over t given a drop-out probability q, averaged over lambda's
 * posterior Gamma(r+x, alpha+T). */
static double integrand_at(double q, void *arg)
{
    const struct integrand *in = arg;
    const struct bgnbd_params *p = in->p;

    if (q == 0) {
        return (p->r + in->x) * in->t / (p->alpha + in->T);
    }
    double w = (p->alpha + in->T) / (p->alpha + in->T + q * in->t);
    return -expm1((p->r + in->x) * log(w)) / q;
}

/* P(alive) times the integrand averaged over q's posterior Beta(a, b + x),
 * by QAWS: the weight q^(a-1) (1-q)^(b+x-1) is the Beta density but for
 * its normalising B(a, b + x). */
static double expected_by_quadrature(const struct bgnbd_params *p, const struct bgnbd_customer *c,
                                     double t)
{
    struct integrand in = {p, c->x, c->T, t};
    gsl_integration_workspace *w = gsl_integration_workspace_alloc(1000);
    gsl_integration_qaws_table *tab =
        gsl_integration_qaws_table_alloc(p->a - 1, p->b + c->x - 1, 0, 0);
    gsl_function f = {.function = integrand_at, .params = &in};
    double result = NAN, abserr;

    assert_non_null(w);
    assert_non_null(tab);
    int rc = gsl_integration_qaws(&f, 0, 1, tab, 0, 1e-11, 1000, w, &result, &abserr);
    if (rc != 0) {
        fail_msg("qaws %d for r %g alpha %g a %g b %g, x %g T %g, t %g", rc, p->r, p->alpha, p->a,
                 p->b, c->x, c->T, t);
    }
    gsl_integration_qaws_table_free(tab);
    gsl_integration_workspace_free(w);
    return bgnbd_p_alive(p, c) * result / exp(gsl_sf_lnbeta(p->a, p->b + c->x));
}

static void test_expected_quadrature(void **state)
{
    const struct bgnbd_params ps[] = {
        {0.243, 4.414, 0.793, 2.426},
        {1.5, 20, 2.5, 4},
        {0.5, 3, 1, 2},       /* a = 1: both factors of eq. 10 vanish */
        {0.5, 3, 1.00003, 2}, /* near it */
        {0.7, 5, 0.4, 0.6},   /* a + b = 1: 2F1's pole at c = 0 for x = 0 */
        {0.7, 5, 0.3, 0.5},   /* c < 0 for x = 0 */
    };
    const struct bgnbd_customer cs[] = {
        {0, 0, 0}, {0, 0, 20}, {1, 5, 38}, {5, 30, 39}, {60, 38, 39}};
    const double ts[] = {0.5, 13, 39, 520};
    (void)state;

    for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++) {
        for (size_t j = 0; j < sizeof(cs) / sizeof(cs[0]); j++) {
            for (size_t k = 0; k < sizeof(ts) / sizeof(ts[0]); k++) {
                double got = bgnbd_expected_transactions(&ps[i], &cs[j], ts[k]);
                double want = expected_by_quadrature(&ps[i], &cs[j], ts[k]);
                if (!(fabs(got - want) <= 1e-7 * fmax(1, want))) {
                    fail_msg("params %zu, customer %zu, t %g: %.15g, by quadrature %.15g", i, j,
                             ts[k], got, want);
                }
            }
        }
    }
    struct bgnbd_customer c = {2, 30.43, 38.86};
    assert_true(bgnbd_expected_transactions(&cdnow, &c, 0) == 0);
}

/* Simulates a customer alive at time 0 right after a purchase for t: the
 * purchases they make in (0, t]. */
static int simulate_purchases(const struct bgnbd_params *p, double t, uint64_t *rng)
{
    double lambda = gsl_cdf_gamma_Pinv(rng_unit(rng), p->r, 1 / p->alpha);
    double drop = gsl_cdf_beta_Pinv(rng_unit(rng), p->a, p->b), now = 0;
    int n = 0;

    for (;;) {
        now += -log1p(-rng_unit(rng)) / lambda;
        if (!(now <= t)) {
            return n;
        }
        n++;
        if (rng_chance(rng, drop)) {
            return n;
        }
    }
}

static void test_expected_simulated(void **state)
{
    struct bgnbd_customer fresh = {0, 0, 0}; /* eq. 9: E[X(t)] of a new customer */
    uint64_t rng = 20050301;
    double sum = 0, sum2 = 0, t = 39;
    int n = 200000;
    (void)state;

    for (int i = 0; i < n; i++) {
        int k = simulate_purchases(&cdnow, t, &rng);
        sum += k;
        sum2 += (double)k * k;
    }
    double mean = sum / n, se = sqrt((sum2 / n - mean * mean) / n);
    double want = bgnbd_expected_transactions(&cdnow, &fresh, t);
    if (!(fabs(mean - want) < 4 * se)) {
        fail_msg("simulated %g +- %g, eq. 10 gives %g", mean, se, want);
    }
}

static void test_crossing(void **state)
{
    const struct bgnbd_customer cs[] = {{0, 0, 5}, {2, 30.43, 38.86}, {20, 38, 39}};
    const double thresholds[] = {0.5, 0.8, 0.95, 0.999};
    (void)state;

    for (size_t i = 0; i < sizeof(cs) / sizeof(cs[0]); i++) {
        for (size_t k = 0; k < sizeof(thresholds) / sizeof(thresholds[0]); k++) {
            struct bgnbd_customer c = cs[i];
            double th = thresholds[k], h = 4;
            double at = bgnbd_risk_crossing(&cdnow, c.x, c.t_x, c.T, h, th);

            assert_true(isfinite(at) && at >= c.T);
            struct bgnbd_customer then = {c.x, c.t_x, at}, before = {c.x, c.t_x, at - 1e-6};
            assert_true(bgnbd_churn_risk(&cdnow, &then, h) >= th);
            if (at > c.T) {
                assert_close(bgnbd_churn_risk(&cdnow, &then, h), th, 1e-8);
                assert_true(bgnbd_churn_risk(&cdnow, &before, h) < th);
            }
        }
    }
    /* Already at risk: now. Never: INFINITY. Nonsense: NAN. */
    struct bgnbd_customer c = {2, 30.43, 38.86};
    double now_risk = bgnbd_churn_risk(&cdnow, &c, 4);
    assert_true(bgnbd_risk_crossing(&cdnow, 2, 30.43, 38.86, 4, now_risk) == 38.86);
    assert_true(bgnbd_risk_crossing(&cdnow, 2, 30.43, 38.86, 4, 0) == 38.86);
    assert_true(isinf(bgnbd_risk_crossing(&cdnow, 2, 30.43, 38.86, 4, 1)));
    assert_true(isinf(bgnbd_risk_crossing(&cdnow, 0, 0, 1, 1, 1 - 1e-15)));
    assert_true(isnan(bgnbd_risk_crossing(&cdnow, 2, 30.43, 38.86, 0, 0.5)));
    assert_true(isnan(bgnbd_risk_crossing(&cdnow, 2, 40, 38.86, 4, 0.5)));
    assert_true(isnan(bgnbd_risk_crossing(&cdnow, 2, 30, 38.86, 4, NAN)));
}

/* ---- the fit ---- */

/* Simulates n customers of p, each observed for T in [26, 78) after their
 * first purchase. */
static struct bgnbd_customer *simulate_customers(const struct bgnbd_params *p, size_t n,
                                                 uint64_t seed)
{
    struct bgnbd_customer *cs = calloc(n, sizeof(*cs));
    uint64_t rng = seed;

    assert_non_null(cs);
    for (size_t i = 0; i < n; i++) {
        double lambda = gsl_cdf_gamma_Pinv(rng_unit(&rng), p->r, 1 / p->alpha);
        double drop = gsl_cdf_beta_Pinv(rng_unit(&rng), p->a, p->b), now = 0;
        struct bgnbd_customer *c = &cs[i];

        c->T = 26 + 52 * rng_unit(&rng);
        for (;;) {
            now += -log1p(-rng_unit(&rng)) / lambda;
            if (!(now <= c->T)) {
                break;
            }
            c->x++;
            c->t_x = now;
            if (rng_chance(&rng, drop)) {
                break;
            }
        }
    }
    return cs;
}

static void test_fit_recovers(void **state)
{
    const struct bgnbd_params truth = {0.8, 6, 1.2, 3.5};
    size_t n = 20000;
    struct bgnbd_customer *cs = simulate_customers(&truth, n, 14);
    struct bgnbd_fit fit, again;
    char err[256] = "";
    (void)state;

    assert_int_equal(bgnbd_fit(cs, n, &fit, err, sizeof(err)), 0);
    /* Tolerances of about three standard errors at this size. */
    assert_close(fit.params.r, truth.r, 0.08 * truth.r);
    assert_close(fit.params.alpha, truth.alpha, 0.12 * truth.alpha);
    assert_close(fit.params.a, truth.a, 0.25 * truth.a);
    assert_close(fit.params.b, truth.b, 0.3 * truth.b);
    assert_true(fit.customers == n && fit.gradient_norm < 1e-6);
    assert_close(fit.log_likelihood, bgnbd_ll(&fit.params, cs, n), 1e-12);
    assert_true(fit.log_likelihood >= bgnbd_ll(&truth, cs, n));
    /* The maximum: no better point nearby. */
    for (size_t k = 0; k < 4; k++) {
        struct bgnbd_params q = fit.params;
        *param(&q, k) *= 1.001;
        assert_true(bgnbd_ll(&q, cs, n) < fit.log_likelihood);
        *param(&q, k) /= 1.001 * 1.001;
        assert_true(bgnbd_ll(&q, cs, n) < fit.log_likelihood);
    }
    /* Deterministic. */
    assert_int_equal(bgnbd_fit(cs, n, &again, err, sizeof(err)), 0);
    assert_memory_equal(&fit.params, &again.params, sizeof(fit.params));
    free(cs);
}

static void test_fit_errors(void **state)
{
    struct bgnbd_customer zeros[3] = {{0, 0, 10}, {0, 0, 5}, {0, 0, 1}};
    struct bgnbd_customer bad[2] = {{1, 2, 3}, {1, 4, 3}};
    struct bgnbd_customer one[1] = {{1, 1, 2}};
    struct bgnbd_fit fit;
    char err[256] = "";
    (void)state;

    assert_int_equal(bgnbd_fit(zeros, 0, &fit, err, sizeof(err)), BGNBD_ERR_DATA);
    assert_string_equal(err, "no customers to fit");
    assert_int_equal(bgnbd_fit(zeros, 3, &fit, err, sizeof(err)), BGNBD_ERR_DATA);
    assert_non_null(strstr(err, "none of the 3 customers made a repeat transaction"));
    assert_int_equal(bgnbd_fit(bad, 2, &fit, err, sizeof(err)), BGNBD_ERR_DATA);
    assert_non_null(strstr(err, "customer 1: not a summary"));
    /* One customer cannot pin four parameters down. */
    assert_int_equal(bgnbd_fit(one, 1, &fit, err, sizeof(err)), BGNBD_ERR_FIT);
    assert_non_null(strstr(err, "ran off"));
}

/* ---- units and the model file ---- */

static void test_units(void **state)
{
    struct bgnbd_params day = bgnbd_params_in_unit(&cdnow, BGNBD_UNIT_WEEK, BGNBD_UNIT_DAY);
    struct bgnbd_customer w = {2, 30.43, 38.86}, d = {2, 30.43 * 7, 38.86 * 7};
    enum bgnbd_unit u;
    enum bgnbd_basis b;
    (void)state;

    assert_close(day.alpha, cdnow.alpha * 7, 1e-15);
    assert_true(day.r == cdnow.r && day.a == cdnow.a && day.b == cdnow.b);
    assert_close(bgnbd_churn_risk(&day, &d, 91), bgnbd_churn_risk(&cdnow, &w, 13), 1e-13);
    assert_close(bgnbd_expected_transactions(&day, &d, 91),
                 bgnbd_expected_transactions(&cdnow, &w, 13), 1e-12);
    struct bgnbd_params back = bgnbd_params_in_unit(&day, BGNBD_UNIT_DAY, BGNBD_UNIT_WEEK);
    assert_close(back.alpha, cdnow.alpha, 1e-15);
    assert_int_equal(bgnbd_unit_parse("week", &u), 0);
    assert_int_equal(u, BGNBD_UNIT_WEEK);
    assert_int_equal(bgnbd_unit_parse("month", &u), -1);
    assert_int_equal(bgnbd_unit_parse(NULL, &u), -1);
    assert_string_equal(bgnbd_unit_name(BGNBD_UNIT_DAY), "day");
    assert_int_equal(bgnbd_basis_parse("bookings", &b), 0);
    assert_int_equal(b, BGNBD_BASIS_BOOKINGS);
    assert_int_equal(bgnbd_basis_parse("visits", &b), -1);
    assert_string_equal(bgnbd_basis_name(BGNBD_BASIS_SESSIONS), "sessions");
}

static struct bgnbd_model sample_model(void)
{
    struct bgnbd_model m = {
        .params = {0.242594414107208, 4.41359973101965, 0.792920697916417, 2.42590202279352},
        .log_likelihood = -9582.42920667388,
        .customers = 2357,
        .unit = BGNBD_UNIT_WEEK,
        .calibration_end = "1997-09-30",
        .basis = BGNBD_BASIS_TRANSACTIONS};

    bgnbd_model_version(&m.params, m.unit, m.model_version);
    return m;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_model_round_trip(void **state)
{
    struct fixture_tmp t;
    struct bgnbd_model m = sample_model(), back;
    char err[512] = "", v2[BGNBD_VERSION_LEN];
    (void)state;

    assert_int_equal(strncmp(m.model_version, "bgnbd-", 6), 0);
    assert_int_equal(strlen(m.model_version), 22);
    bgnbd_model_version(&m.params, m.unit, v2);
    assert_string_equal(m.model_version, v2);
    bgnbd_model_version(&m.params, BGNBD_UNIT_DAY, v2);
    assert_string_not_equal(m.model_version, v2);

    assert_int_equal(fixture_tmp_open(&t, "test_bgnbd", "churn.json"), 0);
    assert_int_equal(bgnbd_model_write(&m, t.file, err, sizeof(err)), 0);
    assert_int_equal(bgnbd_model_read(&back, t.file, err, sizeof(err)), 0);
    assert_close(back.params.r, m.params.r, 1e-14);
    assert_close(back.params.alpha, m.params.alpha, 1e-14);
    assert_close(back.params.a, m.params.a, 1e-14);
    assert_close(back.params.b, m.params.b, 1e-14);
    assert_close(back.log_likelihood, m.log_likelihood, 1e-14);
    assert_true(back.customers == 2357 && back.unit == BGNBD_UNIT_WEEK &&
                back.basis == BGNBD_BASIS_TRANSACTIONS);
    assert_string_equal(back.calibration_end, "1997-09-30");
    assert_string_equal(back.model_version, m.model_version);
    fixture_tmp_close(&t);

    /* A directory that is not there: an I/O error naming the file. */
    assert_int_equal(bgnbd_model_write(&m, "/nonexistent-dir/churn.json", err, sizeof(err)),
                     BGNBD_ERR_IO);
    assert_non_null(strstr(err, "/nonexistent-dir/churn.json: "));
    assert_int_equal(bgnbd_model_read(&back, "/nonexistent-dir/churn.json", err, sizeof(err)),
                     BGNBD_ERR_IO);
}

static void test_model_errors(void **state)
{
    struct fixture_tmp t;
    struct bgnbd_model m = sample_model(), back;
    char good[1024], text[1200], err[512] = "";
    static const struct {
        const char *from, *to, *why;
    } edits[] = {
        {"\"unit\":\"week\"", "\"unit\":\"month\"", "\"unit\" is \"month\": expected day or week"},
        {"\"calibration_end\":\"1997-09-30\"", "\"calibration_end\":\"1997-09-31\"",
         "\"calibration_end\" is \"1997-09-31\": expected YYYY-MM-DD"},
        {"\"basis\":\"transactions\"", "\"basis\":\"visits\"", "\"basis\" is \"visits\""},
        {"\"customers\":2357", "\"customers\":23.5", "\"customers\" must be a whole number"},
        {"\"customers\":2357", "\"customers\":\"2357\"", "\"customers\" must be a number > 0"},
        {"\"r\":0.242594414107208", "\"r\":-0.2", "\"r\" must be a number > 0"},
        {"\"alpha\":4.41359973101965", "\"alfa\":4.41359973101965", "\"alpha\" is missing"},
        {"\"a\":0.792920697916417", "\"a\":0.8", "\"model_version\" is \"bgnbd-"},
        {"\"model_version\":", "\"model_version\":7,\"x\":", "\"model_version\" must be a string"},
        {"}", "}}", "malformed JSON at byte"},
        {"{", "[{", "malformed JSON"},
    };
    (void)state;

    struct cJSON *doc = bgnbd_model_json(&m);
    char *printed = cJSON_PrintUnformatted(doc);
    snprintf(good, sizeof(good), "%s", printed);
    free(printed);
    cJSON_Delete(doc);

    assert_int_equal(fixture_tmp_open(&t, "test_bgnbd", "churn.json"), 0);
    write_text(t.file, good);
    assert_int_equal(bgnbd_model_read(&back, t.file, err, sizeof(err)), 0);
    for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
        const char *at = strstr(good, edits[i].from);
        assert_non_null(at);
        snprintf(text, sizeof(text), "%.*s%s%s", (int)(at - good), good, edits[i].to,
                 at + strlen(edits[i].from));
        write_text(t.file, text);
        assert_int_equal(bgnbd_model_read(&back, t.file, err, sizeof(err)), BGNBD_ERR_DATA);
        if (strstr(err, edits[i].why) == NULL || strstr(err, t.file) != err) {
            fail_msg("edit %zu: %s", i, err);
        }
    }
    write_text(t.file, "[1, 2]");
    assert_int_equal(bgnbd_model_read(&back, t.file, err, sizeof(err)), BGNBD_ERR_DATA);
    assert_non_null(strstr(err, "not a JSON object"));
    fixture_tmp_close(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ll_closed_forms),
        cmocka_unit_test(test_ll_invalid),
        cmocka_unit_test(test_gradient),
        cmocka_unit_test(test_p_alive),
        cmocka_unit_test(test_churn_risk),
        cmocka_unit_test(test_expected_quadrature),
        cmocka_unit_test(test_expected_simulated),
        cmocka_unit_test(test_crossing),
        cmocka_unit_test(test_fit_recovers),
        cmocka_unit_test(test_fit_errors),
        cmocka_unit_test(test_units),
        cmocka_unit_test(test_model_round_trip),
        cmocka_unit_test(test_model_errors),
    };

    gsl_set_error_handler_off(); /* the quadrature's errors are failures, not aborts */
    return cmocka_run_group_tests(tests, NULL, NULL);
}
