/*
 * The BG/NBD model (Fader, Hardie & Lee 2005): likelihood, fit, and what the
 * scorer asks of a fitted model. See analytics/bgnbd.h.
 */
#include "analytics/bgnbd.h"

#include "analytics/errbuf.h"

#include <gsl/gsl_blas.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_multimin.h>
#include <gsl/gsl_sf_gamma.h>
#include <gsl/gsl_sf_hyperg.h>
#include <gsl/gsl_sf_psi.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The fit's limits: log-parameters beyond +-BGNBD_THETA_MAX count as
 * diverged; the objective refuses beyond +-BGNBD_THETA_WALL. */
#define BGNBD_THETA_MAX 20.0
#define BGNBD_THETA_WALL 40.0
#define BGNBD_SIMPLEX_SIZE 1e-4
#define BGNBD_SIMPLEX_ITER_MAX 20000
#define BGNBD_BFGS_ITER_MAX 500
#define BGNBD_NEWTON_ITER_MAX 8
#define BGNBD_NEWTON_H 1e-5
#define BGNBD_GRAD_TOL 1e-6

/* Eq. 10 has removable singularities at a = 1 and, for x = 0, at
 * a + b = 1; within this distance of them it is interpolated (see
 * bgnbd_alive_expected). */
#define BGNBD_NEAR_POLE 1e-4

static pthread_once_t bgnbd_gsl_once = PTHREAD_ONCE_INIT;

static void bgnbd_gsl_quiet_once(void)
{
    gsl_set_error_handler_off();
}

/* Makes GSL's errors return codes instead of aborting (see bgnbd.h). */
static void bgnbd_gsl_quiet(void)
{
    pthread_once(&bgnbd_gsl_once, bgnbd_gsl_quiet_once);
}

bool bgnbd_params_valid(const struct bgnbd_params *p)
{
    return p != NULL && isfinite(p->r) && isfinite(p->alpha) && isfinite(p->a) && isfinite(p->b) &&
           p->r > 0 && p->alpha > 0 && p->a > 0 && p->b > 0;
}

bool bgnbd_customer_valid(const struct bgnbd_customer *c)
{
    return c != NULL && isfinite(c->x) && isfinite(c->t_x) && isfinite(c->T) && c->x >= 0 &&
           c->x == floor(c->x) && c->t_x >= 0 && c->t_x <= c->T && (c->x > 0 || c->t_x == 0);
}

/* log(e^u + e^v) without overflow. */
static double bgnbd_logaddexp(double u, double v)
{
    double hi = u > v ? u : v, lo = u > v ? v : u;

    return hi + log1p(exp(lo - hi));
}

/*
 * The terms of eq. 6 that depend on x only, for given parameters:
 *   L = A1 * (A2 + [x > 0] A3), with
 *   log A1 = lnG(r + x) - lnG(r) + r ln(alpha)
 *   log A2 = lnB(a, b + x) - lnB(a, b) - (r + x) ln(alpha + T)
 *   log A3 = lnB(a + 1, b + x - 1) - lnB(a, b) - (r + x) ln(alpha + t_x)
 * (A2: alive at T after x repeat purchases; A3: dropped out after the last
 * one, at t_x.) The d_ fields are the derivatives with respect to (r,
 * alpha, a, b) of the parts without T or t_x.
 */
struct bgnbd_xterm {
    double a1, b2, b3; /* log A1; log A2 and log A3 without their (r + x) ln(...) */
    double d1r, d2a, d2b, d3a, d3b;
};

/* Fills t for x (lnb_ab = lnB(a, b), psi_* the digammas of r, a + b, b). */
static void bgnbd_xterm_at(const struct bgnbd_params *p, double x, double lnb_ab, double psi_r,
                           double psi_ab, double psi_b, struct bgnbd_xterm *t)
{
    double psi_abx = gsl_sf_psi(p->a + p->b + x), psi_bx = gsl_sf_psi(p->b + x);

    t->a1 = gsl_sf_lngamma(p->r + x) - gsl_sf_lngamma(p->r) + p->r * log(p->alpha);
    t->b2 = gsl_sf_lnbeta(p->a, p->b + x) - lnb_ab;
    t->d1r = gsl_sf_psi(p->r + x) - psi_r + log(p->alpha);
    t->d2a = psi_ab - psi_abx;
    t->d2b = psi_bx - psi_abx - psi_b + psi_ab;
    if (x > 0) {
        t->b3 = gsl_sf_lnbeta(p->a + 1, p->b + x - 1) - lnb_ab;
        t->d3a = 1 / p->a + psi_ab - psi_abx;
        t->d3b = psi_bx - 1 / (p->b + x - 1) - psi_abx - psi_b + psi_ab;
    } else {
        t->b3 = t->d3a = t->d3b = 0;
    }
}

/* One customer's log-likelihood from the x terms; adds its gradient with
 * respect to (r, alpha, a, b) to g when g is not NULL. */
static double bgnbd_ll_from(const struct bgnbd_params *p, const struct bgnbd_xterm *t,
                            const struct bgnbd_customer *c, long double *g)
{
    double rx = p->r + c->x, l_T = log(p->alpha + c->T), l_tx = log(p->alpha + c->t_x);
    double la2 = t->b2 - rx * l_T, la3 = t->b3 - rx * l_tx, w2 = 1, w3 = 0, ll;

    if (c->x > 0) {
        ll = t->a1 + bgnbd_logaddexp(la2, la3);
        w2 = 1 / (1 + exp(la3 - la2));
        w3 = 1 - w2;
    } else {
        ll = t->a1 + la2;
    }
    if (g != NULL) {
        g[0] += t->d1r - w2 * l_T - w3 * l_tx;
        g[1] += p->r / p->alpha - w2 * rx / (p->alpha + c->T) - w3 * rx / (p->alpha + c->t_x);
        g[2] += w2 * t->d2a + w3 * t->d3a;
        g[3] += w2 * t->d2b + w3 * t->d3b;
    }
    return ll;
}

/* The x terms of one customer, computed afresh. */
static void bgnbd_xterm_of(const struct bgnbd_params *p, double x, struct bgnbd_xterm *t)
{
    bgnbd_xterm_at(p, x, gsl_sf_lnbeta(p->a, p->b), gsl_sf_psi(p->r), gsl_sf_psi(p->a + p->b),
                   gsl_sf_psi(p->b), t);
}

double bgnbd_customer_ll(const struct bgnbd_params *p, const struct bgnbd_customer *c)
{
    struct bgnbd_xterm t;

    if (!bgnbd_params_valid(p) || !bgnbd_customer_valid(c)) {
        return NAN;
    }
    bgnbd_gsl_quiet();
    bgnbd_xterm_of(p, c->x, &t);
    return bgnbd_ll_from(p, &t, c, NULL);
}

double bgnbd_ll(const struct bgnbd_params *p, const struct bgnbd_customer *c, size_t n)
{
    long double sum = 0;

    for (size_t i = 0; i < n; i++) {
        double ll = bgnbd_customer_ll(p, &c[i]);
        if (isnan(ll)) {
            return NAN;
        }
        sum += ll;
    }
    return (double)sum;
}

int bgnbd_ll_gradient(const struct bgnbd_params *p, const struct bgnbd_customer *c, size_t n,
                      double g[4])
{
    struct bgnbd_xterm t;
    long double sum[4] = {0, 0, 0, 0};

    g[0] = g[1] = g[2] = g[3] = 0;
    if (!bgnbd_params_valid(p)) {
        return -1;
    }
    bgnbd_gsl_quiet();
    for (size_t i = 0; i < n; i++) {
        if (!bgnbd_customer_valid(&c[i])) {
            return -1;
        }
        bgnbd_xterm_of(p, c[i].x, &t);
        bgnbd_ll_from(p, &t, &c[i], sum);
    }
    for (size_t k = 0; k < 4; k++) {
        g[k] = (double)sum[k];
    }
    return 0;
}

/* ---- the fit ---- */

/* What the objective needs: the customers, and the x terms of each
 * distinct x, recomputed at each evaluation (customers share few x). */
struct bgnbd_fit_ctx {
    const struct bgnbd_customer *c;
    size_t n;
    double *xs; /* [nx] the distinct x, ascending */
    size_t nx;
    size_t *xi;             /* [n] customer i's x is xs[xi[i]] */
    struct bgnbd_xterm *xt; /* [nx] */
};

static struct bgnbd_params bgnbd_theta_params(const gsl_vector *theta)
{
    return (struct bgnbd_params){exp(gsl_vector_get(theta, 0)), exp(gsl_vector_get(theta, 1)),
                                 exp(gsl_vector_get(theta, 2)), exp(gsl_vector_get(theta, 3))};
}

/* -LL/n at theta (log-parameters), and its gradient in theta into g when
 * g is not NULL. GSL_POSINF beyond the wall or when not finite. */
static double bgnbd_objective(const gsl_vector *theta, struct bgnbd_fit_ctx *ctx, gsl_vector *g)
{
    /* Sums in long double: in double, rounding the running sum of
     * thousands of terms blurs -LL/n at 1e-15, where BFGS finishes. */
    long double sum = 0, grad[4] = {0, 0, 0, 0};
    struct bgnbd_params p = bgnbd_theta_params(theta);

    for (size_t k = 0; k < 4; k++) {
        if (fabs(gsl_vector_get(theta, k)) > BGNBD_THETA_WALL) {
            return GSL_POSINF;
        }
    }
    double lnb_ab = gsl_sf_lnbeta(p.a, p.b), psi_r = gsl_sf_psi(p.r);
    double psi_ab = gsl_sf_psi(p.a + p.b), psi_b = gsl_sf_psi(p.b);
    for (size_t k = 0; k < ctx->nx; k++) {
        bgnbd_xterm_at(&p, ctx->xs[k], lnb_ab, psi_r, psi_ab, psi_b, &ctx->xt[k]);
    }
    for (size_t i = 0; i < ctx->n; i++) {
        sum += bgnbd_ll_from(&p, &ctx->xt[ctx->xi[i]], &ctx->c[i], g != NULL ? grad : NULL);
    }
    double f = (double)(-sum / (long double)ctx->n);
    if (!isfinite(f)) {
        return GSL_POSINF;
    }
    if (g != NULL) {
        /* d/d(log q) = q d/dq */
        double q[4] = {p.r, p.alpha, p.a, p.b};
        for (size_t k = 0; k < 4; k++) {
            gsl_vector_set(g, k, (double)(-grad[k] * q[k] / (long double)ctx->n));
        }
    }
    return f;
}

static double bgnbd_f(const gsl_vector *theta, void *ctx)
{
    return bgnbd_objective(theta, ctx, NULL);
}

static void bgnbd_df(const gsl_vector *theta, void *ctx, gsl_vector *g)
{
    bgnbd_objective(theta, ctx, g);
}

static void bgnbd_fdf(const gsl_vector *theta, void *ctx, double *f, gsl_vector *g)
{
    *f = bgnbd_objective(theta, ctx, g);
}

/* Nelder-Mead from theta until the simplex is small; theta becomes the
 * best point. Returns 0, or -1 when GSL could not run it. */
static int bgnbd_fit_simplex(struct bgnbd_fit_ctx *ctx, gsl_vector *theta, int *iterations)
{
    gsl_multimin_function fn = {.f = bgnbd_f, .n = 4, .params = ctx};
    gsl_multimin_fminimizer *s =
        gsl_multimin_fminimizer_alloc(gsl_multimin_fminimizer_nmsimplex2, 4);
    gsl_vector *step = gsl_vector_alloc(4);
    int rc = -1;

    if (s == NULL || step == NULL) {
        goto out;
    }
    gsl_vector_set_all(step, 1.0);
    if (gsl_multimin_fminimizer_set(s, &fn, theta, step) != GSL_SUCCESS) {
        goto out;
    }
    for (int i = 0; i < BGNBD_SIMPLEX_ITER_MAX; i++) {
        (*iterations)++;
        if (gsl_multimin_fminimizer_iterate(s) != GSL_SUCCESS) {
            break;
        }
        if (gsl_multimin_test_size(gsl_multimin_fminimizer_size(s), BGNBD_SIMPLEX_SIZE) ==
            GSL_SUCCESS) {
            break;
        }
    }
    gsl_vector_memcpy(theta, gsl_multimin_fminimizer_x(s));
    rc = 0;
out:
    gsl_vector_free(step);
    gsl_multimin_fminimizer_free(s);
    return rc;
}

/* BFGS from theta on the analytic gradient until it is tiny or no longer
 * improves; theta becomes the best point. Returns 0, or -1 when GSL could
 * not run it. */
static int bgnbd_fit_bfgs(struct bgnbd_fit_ctx *ctx, gsl_vector *theta, int *iterations)
{
    gsl_multimin_function_fdf fn = {
        .f = bgnbd_f, .df = bgnbd_df, .fdf = bgnbd_fdf, .n = 4, .params = ctx};
    gsl_multimin_fdfminimizer *s =
        gsl_multimin_fdfminimizer_alloc(gsl_multimin_fdfminimizer_vector_bfgs2, 4);
    double f0 = bgnbd_f(theta, ctx);
    int rc = -1;

    if (s == NULL || gsl_multimin_fdfminimizer_set(s, &fn, theta, 0.01, 0.1) != GSL_SUCCESS) {
        goto out;
    }
    for (int i = 0; i < BGNBD_BFGS_ITER_MAX; i++) {
        (*iterations)++;
        if (gsl_multimin_fdfminimizer_iterate(s) != GSL_SUCCESS) {
            break;
        }
        if (gsl_multimin_test_gradient(gsl_multimin_fdfminimizer_gradient(s),
                                       BGNBD_GRAD_TOL * 1e-3) == GSL_SUCCESS) {
            break;
        }
    }
    if (gsl_multimin_fdfminimizer_minimum(s) <= f0) {
        gsl_vector_memcpy(theta, gsl_multimin_fdfminimizer_x(s));
    }
    rc = 0;
out:
    gsl_multimin_fdfminimizer_free(s);
    return rc;
}

/* The Hessian of the objective at theta by central differences of its
 * analytic gradient, symmetrised, into h; trial and g are scratch. */
static void bgnbd_hessian(struct bgnbd_fit_ctx *ctx, const gsl_vector *theta, gsl_matrix *h,
                          gsl_vector *trial, gsl_vector *g)
{
    for (size_t k = 0; k < 4; k++) {
        gsl_vector_memcpy(trial, theta);
        gsl_vector_set(trial, k, gsl_vector_get(theta, k) + BGNBD_NEWTON_H);
        bgnbd_objective(trial, ctx, g);
        for (size_t j = 0; j < 4; j++) {
            gsl_matrix_set(h, j, k, gsl_vector_get(g, j));
        }
        gsl_vector_set(trial, k, gsl_vector_get(theta, k) - BGNBD_NEWTON_H);
        bgnbd_objective(trial, ctx, g);
        for (size_t j = 0; j < 4; j++) {
            gsl_matrix_set(h, j, k,
                           (gsl_matrix_get(h, j, k) - gsl_vector_get(g, j)) / (2 * BGNBD_NEWTON_H));
        }
    }
    for (size_t j = 0; j < 4; j++) {
        for (size_t k = j + 1; k < 4; k++) {
            double m = (gsl_matrix_get(h, j, k) + gsl_matrix_get(h, k, j)) / 2;
            gsl_matrix_set(h, j, k, m);
            gsl_matrix_set(h, k, j, m);
        }
    }
}

/* Newton steps on the gradient from theta, each kept only while the
 * gradient shrinks and -LL does not grow: BFGS stops where -LL/n no longer
 * changes in double (a flat ridge in a and b), the gradient still shows the
 * way. Returns 0, or -1 when memory runs out. */
static int bgnbd_fit_newton(struct bgnbd_fit_ctx *ctx, gsl_vector *theta, int *iterations)
{
    gsl_matrix *h = gsl_matrix_alloc(4, 4);
    gsl_vector *g = gsl_vector_alloc(4), *gt = gsl_vector_alloc(4), *trial = gsl_vector_alloc(4);
    gsl_vector *step = gsl_vector_alloc(4);
    gsl_permutation *perm = gsl_permutation_alloc(4);
    int rc = -1, sign;

    if (h == NULL || g == NULL || gt == NULL || trial == NULL || step == NULL || perm == NULL) {
        goto out;
    }
    double f = bgnbd_objective(theta, ctx, g), gnorm = gsl_blas_dnrm2(g);
    for (int i = 0; i < BGNBD_NEWTON_ITER_MAX && isfinite(f) && gnorm > 0; i++) {
        bgnbd_hessian(ctx, theta, h, trial, gt);
        if (gsl_linalg_LU_decomp(h, perm, &sign) != GSL_SUCCESS ||
            gsl_linalg_LU_solve(h, perm, g, step) != GSL_SUCCESS) {
            break;
        }
        gsl_vector_memcpy(trial, theta);
        gsl_vector_sub(trial, step);
        double ft = bgnbd_objective(trial, ctx, gt), gtnorm = gsl_blas_dnrm2(gt);
        if (!isfinite(ft) || !(gtnorm < gnorm) || ft > f + 1e-15 * fabs(f)) {
            break;
        }
        (*iterations)++;
        gsl_vector_memcpy(theta, trial);
        gsl_vector_memcpy(g, gt);
        f = ft;
        gnorm = gtnorm;
    }
    rc = 0;
out:
    gsl_permutation_free(perm);
    gsl_vector_free(step);
    gsl_vector_free(trial);
    gsl_vector_free(gt);
    gsl_vector_free(g);
    gsl_matrix_free(h);
    return rc;
}

static int bgnbd_double_cmp(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;

    return a < b ? -1 : a > b;
}

/* Fills ctx's distinct x and each customer's index into them. Returns 0,
 * or BGNBD_ERR_NOMEM. */
static int bgnbd_fit_index(struct bgnbd_fit_ctx *ctx, char *err, size_t errlen)
{
    ctx->xs = malloc(ctx->n * sizeof(*ctx->xs));
    ctx->xi = malloc(ctx->n * sizeof(*ctx->xi));
    if (ctx->xs == NULL || ctx->xi == NULL) {
        errbuf_printf(err, errlen, "out of memory");
        return BGNBD_ERR_NOMEM;
    }
    for (size_t i = 0; i < ctx->n; i++) {
        ctx->xs[i] = ctx->c[i].x;
    }
    qsort(ctx->xs, ctx->n, sizeof(*ctx->xs), bgnbd_double_cmp);
    ctx->nx = 1;
    for (size_t i = 1; i < ctx->n; i++) {
        if (ctx->xs[i] != ctx->xs[ctx->nx - 1]) {
            ctx->xs[ctx->nx++] = ctx->xs[i];
        }
    }
    for (size_t i = 0; i < ctx->n; i++) {
        const double *at =
            bsearch(&ctx->c[i].x, ctx->xs, ctx->nx, sizeof(*ctx->xs), bgnbd_double_cmp);
        ctx->xi[i] = (size_t)(at - ctx->xs);
    }
    ctx->xt = calloc(ctx->nx, sizeof(*ctx->xt));
    if (ctx->xt == NULL) {
        errbuf_printf(err, errlen, "out of memory");
        return BGNBD_ERR_NOMEM;
    }
    return 0;
}

/* Checks the customers and sets up ctx. Returns 0, BGNBD_ERR_DATA or
 * BGNBD_ERR_NOMEM. */
static int bgnbd_fit_prepare(struct bgnbd_fit_ctx *ctx, const struct bgnbd_customer *c, size_t n,
                             double *sum_x, double *sum_T, char *err, size_t errlen)
{
    *ctx = (struct bgnbd_fit_ctx){.c = c, .n = n};
    *sum_x = *sum_T = 0;
    if (n == 0) {
        errbuf_printf(err, errlen, "no customers to fit");
        return BGNBD_ERR_DATA;
    }
    for (size_t i = 0; i < n; i++) {
        if (!bgnbd_customer_valid(&c[i])) {
            errbuf_printf(err, errlen, "customer %zu: not a summary (x %g, t_x %g, T %g)", i,
                          c[i].x, c[i].t_x, c[i].T);
            return BGNBD_ERR_DATA;
        }
        *sum_x += c[i].x;
        *sum_T += c[i].T;
    }
    if (*sum_x == 0) {
        errbuf_printf(err, errlen,
                      "none of the %zu customers made a repeat transaction: the model has no "
                      "maximum likelihood",
                      n);
        return BGNBD_ERR_DATA;
    }
    return bgnbd_fit_index(ctx, err, errlen);
}

/* Checks where the search ended. Returns 0, or BGNBD_ERR_FIT. */
static int bgnbd_fit_verdict(const gsl_vector *theta, double gnorm, int iterations, char *err,
                             size_t errlen)
{
    static const char *const names[4] = {"r", "alpha", "a", "b"};

    for (size_t k = 0; k < 4; k++) {
        double v = gsl_vector_get(theta, k);
        if (fabs(v) > BGNBD_THETA_MAX) {
            errbuf_printf(err, errlen,
                          "%s ran off to %g: the data cannot pin the model down (too few "
                          "customers or repeat transactions?)",
                          names[k], exp(v));
            return BGNBD_ERR_FIT;
        }
    }
    if (!(gnorm < BGNBD_GRAD_TOL)) {
        errbuf_printf(err, errlen, "the likelihood did not converge in %d iterations (gradient %g)",
                      iterations, gnorm);
        return BGNBD_ERR_FIT;
    }
    return 0;
}

int bgnbd_fit(const struct bgnbd_customer *c, size_t n, struct bgnbd_fit *out, char *err,
              size_t errlen)
{
    struct bgnbd_fit_ctx ctx;
    gsl_vector *theta = NULL, *g = NULL;
    double sum_x, sum_T;
    int iterations = 0;
    int rc;

    bgnbd_gsl_quiet();
    rc = bgnbd_fit_prepare(&ctx, c, n, &sum_x, &sum_T, err, errlen);
    if (rc != 0) {
        goto out;
    }
    rc = BGNBD_ERR_NOMEM;
    theta = gsl_vector_alloc(4);
    g = gsl_vector_alloc(4);
    if (theta == NULL || g == NULL) {
        errbuf_printf(err, errlen, "out of memory");
        goto out;
    }
    /* r = a = b = 1, alpha so that r / alpha is the repeat rate. */
    gsl_vector_set(theta, 0, 0);
    gsl_vector_set(theta, 1, log(sum_T > 0 ? sum_T / sum_x : 1));
    gsl_vector_set(theta, 2, 0);
    gsl_vector_set(theta, 3, 0);
    if (bgnbd_fit_simplex(&ctx, theta, &iterations) != 0 ||
        bgnbd_fit_bfgs(&ctx, theta, &iterations) != 0 ||
        bgnbd_fit_newton(&ctx, theta, &iterations) != 0) {
        errbuf_printf(err, errlen, "out of memory");
        goto out;
    }
    rc = BGNBD_ERR_FIT;
    double f = bgnbd_objective(theta, &ctx, g);
    if (!isfinite(f)) {
        errbuf_printf(err, errlen, "the likelihood is not finite where the search ended");
        goto out;
    }
    double gnorm = gsl_blas_dnrm2(g);
    rc = bgnbd_fit_verdict(theta, gnorm, iterations, err, errlen);
    if (rc == 0) {
        *out = (struct bgnbd_fit){.params = bgnbd_theta_params(theta),
                                  .log_likelihood = -f * (double)n,
                                  .customers = n,
                                  .iterations = iterations,
                                  .gradient_norm = gnorm};
    }
out:
    gsl_vector_free(g);
    gsl_vector_free(theta);
    free(ctx.xs);
    free(ctx.xi);
    free(ctx.xt);
    return rc;
}

/* ---- what a fitted model says about one customer ---- */

double bgnbd_p_alive(const struct bgnbd_params *p, const struct bgnbd_customer *c)
{
    if (!bgnbd_params_valid(p) || !bgnbd_customer_valid(c)) {
        return NAN;
    }
    if (c->x == 0) {
        return 1;
    }
    /* 1 / (1 + a / (b + x - 1) * ((alpha + T) / (alpha + t_x))^(r + x)), in logs */
    double lr = log(p->a) - log(p->b + c->x - 1) +
                (p->r + c->x) * (log(p->alpha + c->T) - log(p->alpha + c->t_x));
    return 1 / (1 + exp(lr));
}

/*
 * Eq. 10 without its P(alive) factor: the expected transactions in (T, T+t]
 * of a customer still alive at T,
 *   (a + b + x - 1) / (a - 1) * [1 - w^(r + x) 2F1(r + x, b + x; a + b + x - 1; z)]
 * with z = t / (alpha + T + t) and w = 1 - z = (alpha + T) / (alpha + T + t).
 * As written, 2F1 grows like w^-(r + x) and overflows for a frequent buyer
 * over a long horizon while the product stays below 1; Euler's
 * transformation, 2F1(A, B; C; z) = (1 - z)^(C - A - B) 2F1(C - A, C - B; C; z),
 * gives the same product as
 *   w^(a - 1) 2F1(a + b - 1 - r, a - 1; a + b + x - 1; z),
 * whose 2F1 stays near 1. GSL's 2F1 takes |z| < 1, which holds for a finite t.
 * NAN when GSL fails.
 */
static double bgnbd_alive_expected_raw(const struct bgnbd_params *p, double x, double T, double t)
{
    gsl_sf_result f;
    double c = p->a + p->b + x - 1, z = t / (p->alpha + T + t);
    double lw = log(p->alpha + T) - log(p->alpha + T + t);

    if (gsl_sf_hyperg_2F1_e(p->a + p->b - 1 - p->r, p->a - 1, c, z, &f) != GSL_SUCCESS ||
        !isfinite(f.val)) {
        return NAN;
    }
    /* 1 - w^(a-1) 2F1, through expm1 when 2F1 > 0 (exact for small t); 2F1
     * can be < 0 when c < 0 (x = 0, a + b < 1). */
    if (f.val > 0) {
        return c / (p->a - 1) * -expm1((p->a - 1) * lw + log(f.val));
    }
    return c / (p->a - 1) * (1 - exp((p->a - 1) * lw) * f.val);
}

/* Linear interpolation at v of g(v0) and g(v1). */
static double bgnbd_lerp(double v, double v0, double g0, double v1, double g1)
{
    return g0 + (v - v0) / (v1 - v0) * (g1 - g0);
}

/* bgnbd_alive_expected_raw, interpolated in b across the pole of 2F1 at
 * c = a + b + x - 1 = 0 (x = 0, a + b = 1), where c / (a - 1) vanishes too
 * and the product is finite. */
static double bgnbd_alive_expected_b(const struct bgnbd_params *p, double x, double T, double t)
{
    double c = p->a + p->b + x - 1;

    if (fabs(c) < BGNBD_NEAR_POLE && p->b - c - BGNBD_NEAR_POLE > 0) {
        struct bgnbd_params lo = *p, hi = *p;
        lo.b = p->b - c - BGNBD_NEAR_POLE;
        hi.b = p->b - c + BGNBD_NEAR_POLE;
        return bgnbd_lerp(p->b, lo.b, bgnbd_alive_expected_raw(&lo, x, T, t), hi.b,
                          bgnbd_alive_expected_raw(&hi, x, T, t));
    }
    return bgnbd_alive_expected_raw(p, x, T, t);
}

/* The same, interpolated in a across a = 1, where both factors of eq. 10
 * vanish (2F1(., 0; .; z) = 1) and their ratio is finite. */
static double bgnbd_alive_expected(const struct bgnbd_params *p, double x, double T, double t)
{
    if (fabs(p->a - 1) < BGNBD_NEAR_POLE) {
        struct bgnbd_params lo = *p, hi = *p;
        lo.a = 1 - BGNBD_NEAR_POLE;
        hi.a = 1 + BGNBD_NEAR_POLE;
        return bgnbd_lerp(p->a, lo.a, bgnbd_alive_expected_b(&lo, x, T, t), hi.a,
                          bgnbd_alive_expected_b(&hi, x, T, t));
    }
    return bgnbd_alive_expected_b(p, x, T, t);
}

double bgnbd_expected_transactions(const struct bgnbd_params *p, const struct bgnbd_customer *c,
                                   double t)
{
    if (!bgnbd_params_valid(p) || !bgnbd_customer_valid(c) || !isfinite(t) || t < 0) {
        return NAN;
    }
    if (t == 0) {
        return 0;
    }
    bgnbd_gsl_quiet();
    return bgnbd_p_alive(p, c) * bgnbd_alive_expected(p, c->x, c->T, t);
}

/*
 * The churn risk over a horizon t: P(no transaction in (T, T + t]).
 *
 * At T the customer is either dropped out, with probability 1 - P(alive),
 * and then surely buys nothing; or alive. An alive customer can only drop
 * out right after a purchase, so "no purchase in (T, T + t]" is the same as
 * "no event of their Poisson process in it": e^(-lambda t) for a given
 * lambda. Given the data and being alive, the likelihood in lambda is
 * lambda^x e^(-lambda T) (x purchases in (0, T], none after the last up to
 * T), so lambda's posterior is Gamma(r + x, alpha + T) (shape, rate) and
 *   E[e^(-lambda t)] = ((alpha + T) / (alpha + T + t))^(r + x).
 * Hence
 *   risk(t) = (1 - P(alive)) + P(alive) ((alpha + T) / (alpha + T + t))^(r + x)
 *           = 1 - P(alive) (1 - w^(r + x)),   w = (alpha + T) / (alpha + T + t),
 * computed as 1 - P(alive) * -expm1((r + x) ln w) to keep small horizons
 * exact. It is 1 for t = 0 and falls with t (a longer window holds more
 * chances to buy), towards 1 - P(alive). With no new transaction it rises
 * with T: P(alive) falls as T grows (x > 0) and w rises towards 1, so
 * P(alive) (1 - w^(r + x)) falls on both counts.
 */
double bgnbd_churn_risk(const struct bgnbd_params *p, const struct bgnbd_customer *c, double t)
{
    if (!bgnbd_params_valid(p) || !bgnbd_customer_valid(c) || !(t >= 0)) {
        return NAN;
    }
    double pa = bgnbd_p_alive(p, c);
    if (isinf(t)) {
        return 1 - pa;
    }
    double lw = log(p->alpha + c->T) - log(p->alpha + c->T + t);
    return 1 - pa * -expm1((p->r + c->x) * lw);
}

double bgnbd_risk_crossing(const struct bgnbd_params *p, double x, double t_x, double T_now,
                           double horizon, double threshold)
{
    struct bgnbd_customer c = {x, t_x, T_now};
    double lo, hi, step;

    if (!bgnbd_params_valid(p) || !bgnbd_customer_valid(&c) || !isfinite(horizon) ||
        !(horizon > 0) || isnan(threshold)) {
        return NAN;
    }
    if (bgnbd_churn_risk(p, &c, horizon) >= threshold) {
        return T_now;
    }
    if (threshold >= 1) {
        return INFINITY;
    }
    /* Bracket [lo, hi] with risk(lo) < threshold <= risk(hi), doubling. */
    lo = T_now;
    step = horizon;
    for (;;) {
        c.T = T_now + step;
        if (bgnbd_churn_risk(p, &c, horizon) >= threshold) {
            hi = c.T;
            break;
        }
        lo = c.T;
        if (step >= BGNBD_CROSSING_SPAN_MAX) {
            return INFINITY;
        }
        step = fmin(step * 2, BGNBD_CROSSING_SPAN_MAX);
    }
    while (hi - lo > 1e-9 * fmax(1, hi)) {
        double mid = lo + (hi - lo) / 2;
        c.T = mid;
        if (bgnbd_churn_risk(p, &c, horizon) >= threshold) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    return hi;
}

/* ---- units and bases ---- */

static const char *const bgnbd_unit_names[] = {
    [BGNBD_UNIT_DAY] = "day", [BGNBD_UNIT_WEEK] = "week"};

static const char *const bgnbd_basis_names[] = {[BGNBD_BASIS_TRANSACTIONS] = "transactions",
                                                [BGNBD_BASIS_SESSIONS] = "sessions",
                                                [BGNBD_BASIS_BOOKINGS] = "bookings"};

const char *bgnbd_unit_name(enum bgnbd_unit u)
{
    return u == BGNBD_UNIT_WEEK ? bgnbd_unit_names[BGNBD_UNIT_WEEK]
                                : bgnbd_unit_names[BGNBD_UNIT_DAY];
}

double bgnbd_unit_days(enum bgnbd_unit u)
{
    return u == BGNBD_UNIT_WEEK ? 7 : 1;
}

int bgnbd_unit_parse(const char *s, enum bgnbd_unit *out)
{
    for (size_t i = 0; s != NULL && i < sizeof(bgnbd_unit_names) / sizeof(bgnbd_unit_names[0]);
         i++) {
        if (strcmp(s, bgnbd_unit_names[i]) == 0) {
            *out = (enum bgnbd_unit)i;
            return 0;
        }
    }
    return -1;
}

const char *bgnbd_basis_name(enum bgnbd_basis b)
{
    return b <= BGNBD_BASIS_BOOKINGS ? bgnbd_basis_names[b]
                                     : bgnbd_basis_names[BGNBD_BASIS_TRANSACTIONS];
}

int bgnbd_basis_parse(const char *s, enum bgnbd_basis *out)
{
    for (size_t i = 0; s != NULL && i < sizeof(bgnbd_basis_names) / sizeof(bgnbd_basis_names[0]);
         i++) {
        if (strcmp(s, bgnbd_basis_names[i]) == 0) {
            *out = (enum bgnbd_basis)i;
            return 0;
        }
    }
    return -1;
}

struct bgnbd_params bgnbd_params_in_unit(const struct bgnbd_params *p, enum bgnbd_unit from,
                                         enum bgnbd_unit to)
{
    struct bgnbd_params q = *p;

    /* lambda per unit "to" is lambda per "from" times days(to) / days(from);
     * a Gamma(r, alpha) rate scaled by k is Gamma(r, alpha / k). */
    q.alpha = p->alpha * bgnbd_unit_days(from) / bgnbd_unit_days(to);
    return q;
}
