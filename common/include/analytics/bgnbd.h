#ifndef ANALYTICS_BGNBD_H
#define ANALYTICS_BGNBD_H

/*
 * The BG/NBD churn model (P. S. Fader, B. G. S. Hardie, K. L. Lee, 2005,
 * "Counting your customers the easy way: an alternative to the Pareto/NBD
 * model", Marketing Science 24(2):275-284). While active, a customer buys
 * as a Poisson process of rate lambda; after each repeat purchase they drop
 * out for good with probability p. Across customers lambda ~ Gamma(r,
 * alpha) (alpha a scale in time units) and p ~ Beta(a, b).
 *
 * A customer is summarised by (x, t_x, T): x repeat transactions (those
 * after the first), t_x the time of the last one and T the time from the
 * first transaction to the end of the calibration period, both measured
 * from the first transaction in the model's unit (0 <= t_x <= T; t_x = 0
 * when x = 0).
 *
 * The maths is pure (no I/O, no allocation except in bgnbd_fit; the model
 * file is analytics/bgnbd_model.h) and uses GSL for the special functions and the
 * optimiser. GSL's default error handler aborts the process; the first call
 * of a function here that calls GSL turns it
 * off for the whole process (gsl_set_error_handler_off), so that a numeric
 * failure here is an error return, never an abort. Every function is safe
 * to call from several threads at once.
 */

#include <stdbool.h>
#include <stddef.h>

/* The model's four parameters, all > 0. alpha is in the model's unit. */
struct bgnbd_params {
    double r, alpha, a, b;
};

/* One customer's summary: see above. x is a whole number. */
struct bgnbd_customer {
    double x, t_x, T;
};

/* The time unit t_x, T, alpha and horizons are measured in. */
enum bgnbd_unit { BGNBD_UNIT_DAY, BGNBD_UNIT_WEEK };

/* What a "transaction" was when the model was fitted. */
enum bgnbd_basis { BGNBD_BASIS_TRANSACTIONS, BGNBD_BASIS_SESSIONS, BGNBD_BASIS_BOOKINGS };

/* Error codes of bgnbd_fit and of the model file (analytics/bgnbd_model.h). */
#define BGNBD_ERR_DATA (-1) /* the input cannot be used (reason in err) */
#define BGNBD_ERR_FIT (-2)  /* the optimiser did not converge */
#define BGNBD_ERR_IO (-3)   /* a file could not be read or written */
#define BGNBD_ERR_NOMEM (-4)

/* risk_crossing looks no further than this many units of silence past
 * T_now (274 years of days, 1,923 of weeks). */
#define BGNBD_CROSSING_SPAN_MAX 1e5

/* True when every parameter is finite and > 0. */
bool bgnbd_params_valid(const struct bgnbd_params *p);

/* True when c is a summary the model can take: x a whole number >= 0,
 * 0 <= t_x <= T, all finite, and t_x = 0 when x = 0. */
bool bgnbd_customer_valid(const struct bgnbd_customer *c);

/* The log-likelihood of one customer (eq. 6 of the paper, in logs).
 * Returns NAN when p or c is not valid. */
double bgnbd_customer_ll(const struct bgnbd_params *p, const struct bgnbd_customer *c);

/* The log-likelihood of n customers: the sum of bgnbd_customer_ll. 0 for
 * n = 0; NAN when p or any customer is not valid. */
double bgnbd_ll(const struct bgnbd_params *p, const struct bgnbd_customer *c, size_t n);

/* What bgnbd_fit found. */
struct bgnbd_fit {
    struct bgnbd_params params;
    double log_likelihood; /* at params, over the customers */
    size_t customers;
    int iterations;       /* simplex and BFGS iterations together */
    double gradient_norm; /* of -LL/customers in log-parameters, at the end */
};

/*
 * Maximum likelihood over the n customers. The search is over the
 * logarithms of the four parameters (so they stay positive) and minimises
 * -LL/n, summed in long double. It starts at r = a = b = 1 and alpha =
 * (sum of T) / (sum of x) (so that the mean purchase rate r/alpha is the
 * customers' repeat rate), runs GSL's Nelder-Mead simplex (nmsimplex2,
 * initial steps of 1 in each log-parameter) until the simplex is smaller
 * than 1e-4, polishes with BFGS (vector_bfgs2) on the analytic gradient,
 * then takes Newton steps on that gradient (Hessian by its central
 * differences) while they shrink it: -LL is flat along a ridge in a and b,
 * and the gradient pins the maximum down where -LL's last digits no longer
 * can. Deterministic: the same customers in the same order give the same
 * bits, and another order the same parameters to about 12 digits.
 *
 * Returns 0 with the result in *out, or BGNBD_ERR_DATA (no customers, a
 * customer not valid, no repeat transaction at all: the likelihood then
 * has no maximum) or BGNBD_ERR_FIT (the gradient is not below 1e-6 at the
 * end, or a parameter ran beyond e^+-20: the data cannot pin the model
 * down) or BGNBD_ERR_NOMEM, with the reason in err.
 */
int bgnbd_fit(const struct bgnbd_customer *c, size_t n, struct bgnbd_fit *out, char *err,
              size_t errlen);

/* The gradient of bgnbd_ll with respect to (r, alpha, a, b), into g[4].
 * Returns 0, or -1 when p or a customer is not valid. For tests and
 * diagnostics (bgnbd_fit uses the same expressions). */
int bgnbd_ll_gradient(const struct bgnbd_params *p, const struct bgnbd_customer *c, size_t n,
                      double g[4]);

/* P(alive | x, t_x, T): the chance the customer is still active at T; 1
 * when x = 0 (a customer can only drop out after a repeat purchase). NAN
 * when p or c is not valid. */
double bgnbd_p_alive(const struct bgnbd_params *p, const struct bgnbd_customer *c);

/* The expected number of transactions in (T, T + t] (eq. 10), t >= 0 and
 * finite. NAN when an argument is not valid or GSL's 2F1 fails. */
double bgnbd_expected_transactions(const struct bgnbd_params *p, const struct bgnbd_customer *c,
                                   double t);

/* P(no transaction in (T, T + t] | x, t_x, T), t >= 0: the churn risk over
 * a horizon of t. 1 for t = 0, falling with t towards 1 - P(alive); rising
 * with T for the same x and t_x (silence). NAN when an argument is not
 * valid. The derivation is in bgnbd.c. */
double bgnbd_churn_risk(const struct bgnbd_params *p, const struct bgnbd_customer *c, double t);

/*
 * The smallest T >= T_now at which bgnbd_churn_risk over horizon, for a
 * customer with x repeat transactions, the last at t_x, and none since,
 * reaches threshold: when a scorer should warn if the customer stays
 * silent. The risk rises with T (see bgnbd.c), so this is a bisection on a
 * bracket found by doubling; the answer is within 1e-9 relative (or 1e-9
 * units) above the exact crossing. Returns T_now when the risk already
 * reaches threshold (threshold <= 0 included), INFINITY when it does not
 * within BGNBD_CROSSING_SPAN_MAX units after T_now (threshold >= 1
 * included: the risk tends to 1 but never reaches it), NAN when an
 * argument is not valid (horizon must be > 0).
 */
double bgnbd_risk_crossing(const struct bgnbd_params *p, double x, double t_x, double T_now,
                           double horizon, double threshold);

/* The unit's name ("day", "week") and its length in days. */
const char *bgnbd_unit_name(enum bgnbd_unit u);
double bgnbd_unit_days(enum bgnbd_unit u);

/* Parses "day" or "week". Returns 0, or -1. */
int bgnbd_unit_parse(const char *s, enum bgnbd_unit *out);

/* The basis's name ("transactions", "sessions", "bookings"). */
const char *bgnbd_basis_name(enum bgnbd_basis b);

/* Parses a basis name. Returns 0, or -1. */
int bgnbd_basis_parse(const char *s, enum bgnbd_basis *out);

/* The parameters of p (fitted in unit from) for times measured in unit to:
 * a rate scale changes with the unit (alpha in days is 7 times alpha in
 * weeks); r, a and b do not. */
struct bgnbd_params bgnbd_params_in_unit(const struct bgnbd_params *p, enum bgnbd_unit from,
                                         enum bgnbd_unit to);

#endif
