#ifndef TRAIN_LEAD_TRAIN_H
#define TRAIN_LEAD_TRAIN_H

/*
 * Fitting the lead model: XGBoost boosters (binary:logistic, one thread,
 * seeded, so a fit is the same to the byte every time), out-of-fold
 * margins from stratified cross-validation, Platt scaling fitted on them,
 * and the model version hash.
 */

#include <stddef.h>
#include <stdint.h>

struct lead_data;
struct model_eval;

/* The booster's hyperparameters. */
struct lead_params {
    int rounds;
    double eta;
    int max_depth;
    double min_child_weight;
    double subsample;
    double colsample_bytree;
    double lambda; /* L2 on leaf weights */
    double gamma;  /* the least loss reduction to split */
};

/* The ones the shipped model is trained with (lead_train.c says how they
 * were chosen). */
extern const struct lead_params lead_params_chosen;

/* The folds of the cross-validation inside the training rows. */
#define LEAD_TRAIN_FOLDS 5

/* Fits a booster on d's rows (d has labels) with p and seed. Returns 0
 * and the booster in *booster (an XGBoost BoosterHandle; caller frees
 * with lead_train_free), or -1 with the reason in err. */
int lead_train_fit(const struct lead_data *d, const struct lead_params *p, uint64_t seed,
                   void **booster, char *err, size_t errlen);

/* Releases a booster of lead_train_fit. Accepts NULL. */
void lead_train_free(void *booster);

/* The booster's margins (logits) for d's rows into margin[d->rows], using
 * the first `rounds` trees (0: all). Returns 0 or -1 with the reason. */
int lead_train_margins(void *booster, const struct lead_data *d, int rounds, double *margin,
                       char *err, size_t errlen);

/*
 * Out-of-fold margins: d's rows dealt to LEAD_TRAIN_FOLDS stratified folds
 * (seeded), and each fold's margins from a booster fitted on the other
 * folds, into margin[d->rows]; with nrounds > 1, margin holds nrounds
 * columns per row (row-major), after rounds[0], rounds[1], ... trees (for
 * choosing the number of rounds). Returns 0 or -1 with the reason.
 */
int lead_train_oof(const struct lead_data *d, const struct lead_params *p, uint64_t seed,
                   const int *rounds, size_t nrounds, double *margin, char *err, size_t errlen);

/*
 * Platt scaling: the a, b of P(label) = 1 / (1 + exp(-(a * margin + b)))
 * that maximise the likelihood of the n labels y, with Platt's targets
 * ((N+ + 1) / (N+ + 2) for positives, 1 / (N- + 2) for negatives, which
 * keep a perfectly separated set finite), by Newton's method with step
 * halving. Returns 0, or -1 when n is 0 or it does not converge. Pure.
 */
int lead_train_platt(const double *margin, const float *y, size_t n, double *a, double *b);

/* The model version: "lead-" and 12 hex digits of a 64-bit FNV-1a hash
 * (a fingerprint, not a cryptographic hash) of the data file's bytes, the
 * seed, the hold-out fraction (0: none) and p, into out. Pure. */
void lead_train_version(const char *data, size_t len, uint64_t seed, double holdout,
                        const struct lead_params *p, char out[18]);

/* Formats e as one JSON object (the line analytics-train lead prints):
 * rows, positives, then roc_auc, pr_auc, accuracy, f1, brier,
 * majority_accuracy with 6 decimals, null when undefined. Returns 0, or
 * -1 when len is too small. Pure. */
int lead_train_eval_json(const struct model_eval *e, char *buf, size_t len);

#endif
