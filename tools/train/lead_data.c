#include "lead_data.h"

#include "csv.h"

#include "analytics/errbuf.h"
#include "analytics/rng.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

const char *const lead_data_columns[LEAD_F_BASE] = {
    [LEAD_F_ADMIN_PAGES] = "Administrative",
    [LEAD_F_ADMIN_SECONDS] = "Administrative_Duration",
    [LEAD_F_INFO_PAGES] = "Informational",
    [LEAD_F_INFO_SECONDS] = "Informational_Duration",
    [LEAD_F_PRODUCT_PAGES] = "ProductRelated",
    [LEAD_F_PRODUCT_SECONDS] = "ProductRelated_Duration",
    [LEAD_F_BOUNCE_RATE] = "BounceRates",
    [LEAD_F_EXIT_RATE] = "ExitRates",
    [LEAD_F_PAGE_VALUE] = "PageValues",
    [LEAD_F_SPECIAL_DAY] = "SpecialDay",
    [LEAD_F_MONTH] = "Month",
    [LEAD_F_RETURNING] = "VisitorType",
    [LEAD_F_WEEKEND] = "Weekend",
};

/* The streams of the two seeded divisions (rng_mix's second argument,
 * plus the class). */
enum { LEAD_STREAM_SPLIT = 0x100, LEAD_STREAM_FOLDS = 0x200 };

/* A finite decimal number, the whole cell. */
static int lead_parse_number(const char *s, float *out)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (end == s || *end != '\0' || errno == ERANGE || !isfinite(v) || fabs(v) > 3.4e38) {
        return -1;
    }
    *out = (float)v;
    return 0;
}

static int lead_parse_month(const char *s, float *out)
{
    static const char *const names[12] = {"January",   "February", "March",    "April",
                                          "May",       "June",     "July",     "August",
                                          "September", "October",  "November", "December"};

    for (int i = 0; i < 12; i++) {
        if (strcmp(s, names[i]) == 0 || (strlen(s) == 3 && strncmp(s, names[i], 3) == 0)) {
            *out = (float)(i + 1);
            return 0;
        }
    }
    return -1;
}

static int lead_parse_visitor(const char *s, float *out)
{
    if (strcmp(s, "Returning_Visitor") == 0) {
        *out = 1.0f;
    } else if (strcmp(s, "New_Visitor") == 0) {
        *out = 0.0f;
    } else if (strcmp(s, "Other") == 0) {
        *out = NAN;
    } else {
        return -1;
    }
    return 0;
}

static int lead_parse_bool(const char *s, float *out)
{
    if (strcmp(s, "TRUE") == 0) {
        *out = 1.0f;
    } else if (strcmp(s, "FALSE") == 0) {
        *out = 0.0f;
    } else {
        return -1;
    }
    return 0;
}

/* The label's place among the columns read: after the UCI features. */
#define LEAD_DATA_LABEL_COL LEAD_F_BASE

/* Parses cell s of feature f (or the label for f == LEAD_DATA_LABEL_COL).
 * On failure returns -1 and what the cell should have been in *want. */
static int lead_parse_cell(int f, const char *s, float *out, const char **want)
{
    switch (f) {
    case LEAD_F_MONTH:
        *want = "a month (Jan..Dec)";
        return lead_parse_month(s, out);
    case LEAD_F_RETURNING:
        *want = "Returning_Visitor, New_Visitor or Other";
        return lead_parse_visitor(s, out);
    case LEAD_F_WEEKEND:
    case LEAD_DATA_LABEL_COL:
        *want = "TRUE or FALSE";
        return lead_parse_bool(s, out);
    default:
        *want = "a number";
        return lead_parse_number(s, out);
    }
}

/* Finds the columns: col[f] for each UCI feature, col[LEAD_DATA_LABEL_COL]
 * for the label when want_label. */
static int lead_find_columns(const struct csv *c, const char *path, int want_label,
                             int col[LEAD_F_BASE + 1], char *err, size_t errlen)
{
    for (int f = 0; f <= LEAD_DATA_LABEL_COL; f++) {
        const char *name = f < LEAD_F_BASE ? lead_data_columns[f] : LEAD_DATA_LABEL;

        if (f == LEAD_DATA_LABEL_COL && !want_label) {
            col[f] = -1;
            break;
        }
        col[f] = csv_column(c, name);
        if (col[f] < 0) {
            errbuf_printf(err, errlen, "%s: no column %s in the header", path, name);
            return -1;
        }
    }
    return 0;
}

int lead_data_from_csv(const struct csv *c, const char *path, int want_label, struct lead_data *d,
                       char *err, size_t errlen)
{
    int col[LEAD_F_BASE + 1];
    int last = want_label ? LEAD_DATA_LABEL_COL : LEAD_F_BASE - 1;

    memset(d, 0, sizeof(*d));
    if (lead_find_columns(c, path, want_label, col, err, errlen) != 0) {
        return -1;
    }
    d->x = malloc((c->rows > 0 ? c->rows : 1) * LEAD_F_COUNT * sizeof(*d->x));
    d->y = want_label ? malloc((c->rows > 0 ? c->rows : 1) * sizeof(*d->y)) : NULL;
    if (d->x == NULL || (want_label && d->y == NULL)) {
        errbuf_printf(err, errlen, "%s: out of memory", path);
        goto fail;
    }
    for (size_t r = 0; r < c->rows; r++) {
        for (int f = 0; f <= last; f++) {
            const char *s = csv_cell(c, r, (size_t)col[f]), *want = "";
            float *dst = f < LEAD_F_BASE ? &d->x[r * LEAD_F_COUNT + (size_t)f] : &d->y[r];

            if (lead_parse_cell(f, s, dst, &want) != 0) {
                errbuf_printf(err, errlen, "%s: line %zu: column %s: '%.40s' is not %s", path,
                              csv_line(c, r), c->cells[col[f]], s, want);
                goto fail;
            }
        }
        lead_features_derive(&d->x[r * LEAD_F_COUNT]);
    }
    d->rows = c->rows;
    return 0;

fail:
    lead_data_free(d);
    return -1;
}

void lead_data_free(struct lead_data *d)
{
    free(d->x);
    free(d->y);
    memset(d, 0, sizeof(*d));
}

size_t lead_data_positives(const struct lead_data *d)
{
    size_t pos = 0;

    for (size_t i = 0; d->y != NULL && i < d->rows; i++) {
        pos += d->y[i] != 0.0f;
    }
    return pos;
}

/* The rows of class cls (label y != 0 or == 0) into idx, shuffled by the
 * stream of seed. Returns how many. */
static size_t lead_class_shuffled(const float *y, size_t n, int cls, uint64_t seed, uint64_t stream,
                                  size_t *idx)
{
    uint64_t s = rng_mix(seed, stream + (uint64_t)cls);
    size_t m = 0;

    for (size_t i = 0; i < n; i++) {
        if ((y[i] != 0.0f) == (cls != 0)) {
            idx[m++] = i;
        }
    }
    /* Fisher-Yates, from the end. */
    for (size_t i = m; i > 1; i--) {
        size_t j = rng_below(&s, (uint32_t)i), t = idx[i - 1];

        idx[i - 1] = idx[j];
        idx[j] = t;
    }
    return m;
}

int lead_data_split(const float *y, size_t n, double fraction, uint64_t seed, unsigned *test)
{
    size_t *idx = malloc((n > 0 ? n : 1) * sizeof(*idx));

    if (idx == NULL) {
        return -1;
    }
    for (int cls = 0; cls <= 1; cls++) {
        size_t m = lead_class_shuffled(y, n, cls, seed, LEAD_STREAM_SPLIT, idx);
        size_t cut = (size_t)floor(fraction * (double)m + 0.5);

        for (size_t i = 0; i < m; i++) {
            test[idx[i]] = i < cut ? 1u : 0u;
        }
    }
    free(idx);
    return 0;
}

int lead_data_folds(const float *y, size_t n, unsigned k, uint64_t seed, unsigned *fold)
{
    size_t *idx;

    if (k == 0) {
        return -1;
    }
    idx = malloc((n > 0 ? n : 1) * sizeof(*idx));
    if (idx == NULL) {
        return -1;
    }
    for (int cls = 0; cls <= 1; cls++) {
        size_t m = lead_class_shuffled(y, n, cls, seed, LEAD_STREAM_FOLDS, idx);

        for (size_t i = 0; i < m; i++) {
            fold[idx[i]] = (unsigned)(i % k);
        }
    }
    free(idx);
    return 0;
}

int lead_data_select(const struct lead_data *d, const unsigned *group, unsigned g, int in,
                     struct lead_data *out)
{
    size_t m = 0;

    memset(out, 0, sizeof(*out));
    out->x = malloc((d->rows > 0 ? d->rows : 1) * LEAD_F_COUNT * sizeof(*out->x));
    out->y = d->y != NULL ? malloc((d->rows > 0 ? d->rows : 1) * sizeof(*out->y)) : NULL;
    if (out->x == NULL || (d->y != NULL && out->y == NULL)) {
        lead_data_free(out);
        return -1;
    }
    for (size_t i = 0; i < d->rows; i++) {
        if ((group[i] == g) != (in != 0)) {
            continue;
        }
        memcpy(&out->x[m * LEAD_F_COUNT], &d->x[i * LEAD_F_COUNT], LEAD_F_COUNT * sizeof(float));
        if (d->y != NULL) {
            out->y[m] = d->y[i];
        }
        m++;
    }
    out->rows = m;
    return 0;
}
