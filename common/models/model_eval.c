#include "analytics/model_eval.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

/* One row, for sorting by score. */
struct model_eval_row {
    double score;
    bool pos;
};

/* Ascending by score; a total order even if a NaN slipped in (first). */
static int model_eval_cmp(const void *a, const void *b)
{
    double x = ((const struct model_eval_row *)a)->score;
    double y = ((const struct model_eval_row *)b)->score;

    if (isnan(x) || isnan(y)) {
        return (int)!isnan(x) - (int)!isnan(y);
    }
    return (x > y) - (x < y);
}

/* Returns the rows sorted by ascending score (caller frees), or NULL when
 * memory runs out or n is 0. Counts the positives into *pos. */
static struct model_eval_row *model_eval_sorted(const double score[], const int label[], size_t n,
                                                size_t *pos)
{
    struct model_eval_row *rows;

    *pos = 0;
    if (n == 0) {
        return NULL;
    }
    rows = malloc(n * sizeof(*rows));
    if (rows == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        rows[i].score = score[i];
        rows[i].pos = label[i] != 0;
        *pos += rows[i].pos;
    }
    qsort(rows, n, sizeof(*rows), model_eval_cmp);
    return rows;
}

/* The end of the run of rows tied with rows[i]. */
static size_t model_eval_tie_end(const struct model_eval_row *rows, size_t n, size_t i)
{
    size_t j = i + 1;

    while (j < n && model_eval_cmp(&rows[i], &rows[j]) == 0) {
        j++;
    }
    return j;
}

/* ROC-AUC of rows sorted ascending, pos of them positive. */
static double model_eval_roc_sorted(const struct model_eval_row *rows, size_t n, size_t pos)
{
    double rank_sum = 0.0, npos = (double)pos, nneg = (double)(n - pos);

    if (pos == 0 || pos == n) {
        return NAN;
    }
    for (size_t i = 0; i < n;) {
        size_t j = model_eval_tie_end(rows, n, i), tied_pos = 0;
        /* Ranks i+1..j, their mean (i + 1 + j) / 2. */
        double mid = ((double)i + 1.0 + (double)j) / 2.0;

        for (size_t k = i; k < j; k++) {
            tied_pos += rows[k].pos;
        }
        rank_sum += mid * (double)tied_pos;
        i = j;
    }
    return (rank_sum - npos * (npos + 1.0) / 2.0) / (npos * nneg);
}

/* Average precision of rows sorted ascending, pos of them positive. */
static double model_eval_ap_sorted(const struct model_eval_row *rows, size_t n, size_t pos)
{
    double ap = 0.0;
    size_t tp = 0, seen = 0;

    if (pos == 0) {
        return NAN;
    }
    /* From the highest score down: thresholds at each run of ties. */
    for (size_t end = n; end > 0;) {
        size_t start = end - 1, gained = 0;

        while (start > 0 && model_eval_cmp(&rows[start - 1], &rows[end - 1]) == 0) {
            start--;
        }
        for (size_t k = start; k < end; k++) {
            gained += rows[k].pos;
        }
        tp += gained;
        seen += end - start;
        ap += ((double)gained / (double)pos) * ((double)tp / (double)seen);
        end = start;
    }
    return ap;
}

double model_eval_roc_auc(const double score[], const int label[], size_t n)
{
    size_t pos;
    struct model_eval_row *rows = model_eval_sorted(score, label, n, &pos);
    double auc;

    if (rows == NULL) {
        return NAN;
    }
    auc = model_eval_roc_sorted(rows, n, pos);
    free(rows);
    return auc;
}

double model_eval_pr_auc(const double score[], const int label[], size_t n)
{
    size_t pos;
    struct model_eval_row *rows = model_eval_sorted(score, label, n, &pos);
    double ap;

    if (rows == NULL) {
        return NAN;
    }
    ap = model_eval_ap_sorted(rows, n, pos);
    free(rows);
    return ap;
}

/* The confusion counts of score >= threshold. */
struct model_eval_counts {
    size_t tp, fp, fn, tn;
};

static struct model_eval_counts model_eval_confusion(const double score[], const int label[],
                                                     size_t n, double threshold)
{
    struct model_eval_counts c = {0, 0, 0, 0};

    for (size_t i = 0; i < n; i++) {
        bool predicted = score[i] >= threshold, actual = label[i] != 0;

        c.tp += predicted && actual;
        c.fp += predicted && !actual;
        c.fn += !predicted && actual;
        c.tn += !predicted && !actual;
    }
    return c;
}

double model_eval_accuracy(const double score[], const int label[], size_t n, double threshold)
{
    struct model_eval_counts c = model_eval_confusion(score, label, n, threshold);

    if (n == 0) {
        return NAN;
    }
    return (double)(c.tp + c.tn) / (double)n;
}

double model_eval_f1(const double score[], const int label[], size_t n, double threshold)
{
    struct model_eval_counts c = model_eval_confusion(score, label, n, threshold);

    if (n == 0) {
        return NAN;
    }
    if (c.tp == 0) {
        return 0.0;
    }
    return 2.0 * (double)c.tp / (double)(2 * c.tp + c.fp + c.fn);
}

double model_eval_brier(const double score[], const int label[], size_t n)
{
    double sum = 0.0;

    if (n == 0) {
        return NAN;
    }
    for (size_t i = 0; i < n; i++) {
        double d = score[i] - (label[i] != 0 ? 1.0 : 0.0);
        sum += d * d;
    }
    return sum / (double)n;
}

double model_eval_majority_accuracy(const int label[], size_t n)
{
    size_t pos = 0;

    if (n == 0) {
        return NAN;
    }
    for (size_t i = 0; i < n; i++) {
        pos += label[i] != 0;
    }
    return (double)(pos > n - pos ? pos : n - pos) / (double)n;
}

int model_eval_all(const double score[], const int label[], size_t n, double threshold,
                   struct model_eval *out)
{
    size_t pos = 0;
    struct model_eval_row *rows = model_eval_sorted(score, label, n, &pos);

    if (rows == NULL && n > 0) {
        return -1;
    }
    out->rows = n;
    out->positives = pos;
    out->roc_auc = n > 0 ? model_eval_roc_sorted(rows, n, pos) : NAN;
    out->pr_auc = n > 0 ? model_eval_ap_sorted(rows, n, pos) : NAN;
    out->accuracy = model_eval_accuracy(score, label, n, threshold);
    out->f1 = model_eval_f1(score, label, n, threshold);
    out->brier = model_eval_brier(score, label, n);
    out->majority_accuracy = model_eval_majority_accuracy(label, n);
    free(rows);
    return 0;
}
