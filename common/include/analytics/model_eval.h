#ifndef ANALYTICS_MODEL_EVAL_H
#define ANALYTICS_MODEL_EVAL_H

/*
 * The measures a binary classifier is judged by, over n rows of a score
 * (higher means "more likely positive"; a probability for the Brier score)
 * and a label (0 negative, anything else positive). Pure: no I/O, no state.
 * Scores must not be NaN.
 *
 * Undefined answers are NaN, so a caller cannot mistake them for figures:
 * every measure of n = 0 rows; ROC-AUC when all rows are of one class;
 * PR-AUC when there is no positive (with only positives it is 1). F1 is 0
 * when there is no true positive, whatever else (as scikit-learn's
 * zero_division=0).
 */

#include <stddef.h>

/* The figures the trainer prints and the model stores. */
struct model_eval {
    size_t rows;
    size_t positives;
    double roc_auc;
    double pr_auc;
    double accuracy;
    double f1;
    double brier;
    double majority_accuracy;
};

/* The area under the ROC curve, from ranks (the Mann-Whitney U statistic
 * divided by positives x negatives): tied scores share their mean rank, so
 * a tie between a positive and a negative counts one half. NaN when
 * undefined (above) or when memory for the ranking runs out. */
double model_eval_roc_auc(const double score[], const int label[], size_t n);

/* The area under the precision-recall curve as average precision: the sum
 * over distinct score thresholds, from the highest, of (recall gained at
 * the threshold) x (precision at it). Rows with tied scores enter together
 * at one threshold (as scikit-learn's average_precision_score). Not the
 * trapezoidal area, which is optimistic between points. NaN when undefined
 * or when memory runs out. */
double model_eval_pr_auc(const double score[], const int label[], size_t n);

/* The share of rows whose prediction (positive when score >= threshold)
 * matches the label. NaN for n = 0. */
double model_eval_accuracy(const double score[], const int label[], size_t n, double threshold);

/* F1 (harmonic mean of precision and recall) of the prediction score >=
 * threshold. 0 when there is no true positive; NaN for n = 0. */
double model_eval_f1(const double score[], const int label[], size_t n, double threshold);

/* The mean of (score - label)^2, label as 0 or 1. NaN for n = 0. */
double model_eval_brier(const double score[], const int label[], size_t n);

/* The accuracy of always answering the more common class. NaN for n = 0. */
double model_eval_majority_accuracy(const int label[], size_t n);

/* Fills *out with every measure, accuracy and F1 at threshold. Returns 0,
 * or -1 when memory for the ranking runs out (*out then unchanged). */
int model_eval_all(const double score[], const int label[], size_t n, double threshold,
                   struct model_eval *out);

#endif
