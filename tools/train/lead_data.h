#ifndef TRAIN_LEAD_DATA_H
#define TRAIN_LEAD_DATA_H

/*
 * The lead model's data: rows of the UCI Online Shoppers CSV mapped to the
 * lead features (lead_features.h) and the label, and the seeded,
 * stratified ways of dividing them (a hold-out, cross-validation folds).
 * Pure apart from memory: no I/O.
 */

#include "analytics/lead_features.h"

#include <stddef.h>
#include <stdint.h>

struct csv;

/* The label's column: TRUE when the session bought. */
#define LEAD_DATA_LABEL "Revenue"

/* The CSV column each feature is read from, in feature order. */
extern const char *const lead_data_columns[LEAD_F_BASE];

/* Rows of features and labels. */
struct lead_data {
    size_t rows;
    float *x; /* rows x LEAD_F_COUNT, row-major, NaN where missing */
    float *y; /* rows labels, 0 or 1; NULL when read without labels */
};

/*
 * Maps every data row of c (read from path, named in messages) to *d, by
 * the columns' names in the header (any order; other columns ignored):
 * numbers as they are, Month as 1..12 ("Jan".."Dec", or the month's full
 * name: the UCI file spells "June"), VisitorType Returning_Visitor 1,
 * New_Visitor 0, Other missing, Weekend TRUE 1 / FALSE 0. With
 * want_label, Revenue TRUE/FALSE is the label; without, no label is read
 * (the column may be absent). Returns 0 (free *d with lead_data_free), or
 * -1 with the reason in err: a missing column, or "<path>: line N: column
 * C: 'v' is not a number" (not a month, ...). Zero rows is not an error
 * here.
 */
int lead_data_from_csv(const struct csv *c, const char *path, int want_label, struct lead_data *d,
                       char *err, size_t errlen);

/* Releases what d holds. Accepts a zeroed struct. */
void lead_data_free(struct lead_data *d);

/* The positives among d's labels (0 without labels). */
size_t lead_data_positives(const struct lead_data *d);

/*
 * A stratified hold-out: in each class (by label y of n rows), the rows
 * are shuffled with seed and the first round(fraction x class size) of
 * them are the hold-out (test[i] = 1); the rest get test[i] = 0. Returns
 * 0, or -1 when memory runs out. fraction in [0, 1].
 */
int lead_data_split(const float *y, size_t n, double fraction, uint64_t seed, unsigned *test);

/*
 * Stratified folds for k-fold cross-validation: in each class the rows
 * are shuffled with seed (a stream other than lead_data_split's) and dealt
 * to folds 0..k-1 in turn, so each fold has its share of both classes.
 * Returns 0, or -1 when memory runs out or k is 0.
 */
int lead_data_folds(const float *y, size_t n, unsigned k, uint64_t seed, unsigned *fold);

/* Copies into *out the rows of d whose group[i] == g (in == 1) or != g
 * (in == 0), in order. Returns 0 (free with lead_data_free) or -1 when
 * memory runs out. */
int lead_data_select(const struct lead_data *d, const unsigned *group, unsigned g, int in,
                     struct lead_data *out);

#endif
