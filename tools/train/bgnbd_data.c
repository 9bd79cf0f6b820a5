/* Transactions into BG/NBD customer summaries. See bgnbd_data.h. */
#include "bgnbd_data.h"

#include "analytics/errbuf.h"
#include "analytics/textcheck.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void bgnbd_data_day_text(long long day, char out[BGNBD_DATA_DAY_LEN])
{
    struct tm tm;
    time_t t = (time_t)(day * 86400);

    if (day < -719528 || day > 2932896 || gmtime_r(&t, &tm) == NULL ||
        strftime(out, BGNBD_DATA_DAY_LEN, "%Y-%m-%d", &tm) == 0) {
        snprintf(out, BGNBD_DATA_DAY_LEN, "?");
    }
}

/* By customer, then day, then input order. */
static int bgnbd_data_obs_cmp(const void *pa, const void *pb)
{
    const struct bgnbd_obs *a = pa, *b = pb;
    int c = strcmp(a->id, b->id);

    if (c != 0) {
        return c;
    }
    if (a->day != b->day) {
        return a->day < b->day ? -1 : 1;
    }
    return a->order < b->order ? -1 : a->order > b->order;
}

/* A customer being put in order. */
struct bgnbd_data_row {
    size_t order;
    char *id;
    struct bgnbd_customer c;
};

static int bgnbd_data_row_cmp(const void *pa, const void *pb)
{
    const struct bgnbd_data_row *a = pa, *b = pb;

    return a->order < b->order ? -1 : a->order > b->order;
}

/* Summarises the customer of obs[0..k) (sorted, all days <= cal_end) into
 * row. Returns the customer-days counted. */
static size_t bgnbd_data_summarise(const struct bgnbd_obs *obs, size_t k, long long cal_end,
                                   double unit_days, struct bgnbd_data_row *row)
{
    size_t days = 1, order = obs[0].order;

    for (size_t j = 1; j < k; j++) {
        days += obs[j].day != obs[j - 1].day;
        order = obs[j].order < order ? obs[j].order : order;
    }
    row->order = order;
    row->c.x = (double)(days - 1);
    row->c.t_x = (double)(obs[k - 1].day - obs[0].day) / unit_days;
    row->c.T = (double)(cal_end - obs[0].day) / unit_days;
    return days;
}

/* Moves the rows into out, in input order. */
static void bgnbd_data_take(struct bgnbd_data_row *rows, size_t n, struct bgnbd_data *out)
{
    qsort(rows, n, sizeof(*rows), bgnbd_data_row_cmp);
    for (size_t i = 0; i < n; i++) {
        out->ids[i] = rows[i].id;
        out->customers[i] = rows[i].c;
        rows[i].id = NULL;
    }
    out->n = n;
}

/* Counts the customers of the sorted obs[0..n). */
static size_t bgnbd_data_count(const struct bgnbd_obs *obs, size_t n)
{
    size_t customers = n > 0;

    for (size_t i = 1; i < n; i++) {
        customers += strcmp(obs[i].id, obs[i - 1].id) != 0;
    }
    return customers;
}

int bgnbd_data_build(struct bgnbd_obs *obs, size_t n, long long cal_end, enum bgnbd_unit unit,
                     struct bgnbd_data *out, char *err, size_t errlen)
{
    struct bgnbd_data_row *rows = NULL;
    size_t kept = 0, customers, i, r = 0;
    int rc = BGNBD_DATA_ERR_NOMEM;

    memset(out, 0, sizeof(*out));
    if (n == 0) {
        errbuf_printf(err, errlen, "no transactions");
        return BGNBD_DATA_ERR_DATA;
    }
    long long earliest = obs[0].day;
    for (i = 0; i < n; i++) {
        earliest = obs[i].day < earliest ? obs[i].day : earliest;
        if (obs[i].day <= cal_end) {
            obs[kept++] = obs[i];
        }
    }
    out->rows_after = n - kept;
    if (kept == 0) {
        char end_text[BGNBD_DATA_DAY_LEN], first_text[BGNBD_DATA_DAY_LEN];
        bgnbd_data_day_text(cal_end, end_text);
        bgnbd_data_day_text(earliest, first_text);
        errbuf_printf(err, errlen,
                      "every transaction is after the calibration end %s (the earliest is on %s)",
                      end_text, first_text);
        return BGNBD_DATA_ERR_DATA;
    }
    qsort(obs, kept, sizeof(*obs), bgnbd_data_obs_cmp);
    customers = bgnbd_data_count(obs, kept);
    rows = calloc(customers, sizeof(*rows));
    out->ids = calloc(customers, sizeof(*out->ids));
    out->customers = calloc(customers, sizeof(*out->customers));
    if (rows == NULL || out->ids == NULL || out->customers == NULL) {
        goto out_nomem;
    }
    for (i = 0; i < kept; r++) {
        size_t k = 1;
        while (i + k < kept && strcmp(obs[i + k].id, obs[i].id) == 0) {
            k++;
        }
        out->days += bgnbd_data_summarise(obs + i, k, cal_end, bgnbd_unit_days(unit), &rows[r]);
        rows[r].id = strdup(obs[i].id);
        if (rows[r].id == NULL) {
            goto out_nomem;
        }
        i += k;
    }
    bgnbd_data_take(rows, customers, out);
    rc = 0;
    goto out;
out_nomem:
    errbuf_printf(err, errlen, "out of memory");
    for (i = 0; rows != NULL && i < customers; i++) {
        free(rows[i].id);
    }
out:
    free(rows);
    return rc;
}

/* Reads the CSV's rows into obs[0..rows). Returns 0, or
 * BGNBD_DATA_ERR_DATA with the bad field named. */
static int bgnbd_data_csv_rows(const struct csv *c, const char *path, size_t id_col,
                               size_t date_col, struct bgnbd_obs *obs, char *err, size_t errlen)
{
    for (size_t r = 0; r < c->rows; r++) {
        const char *id = csv_cell(c, r, id_col), *date = csv_cell(c, r, date_col);

        if (id[0] == '\0') {
            errbuf_printf(err, errlen, "%s: line %zu: column customer_id: empty", path,
                          csv_line(c, r));
            return BGNBD_DATA_ERR_DATA;
        }
        if (textcheck_date(date, &obs[r].day) != 0) {
            errbuf_printf(err, errlen,
                          "%s: line %zu: column date: \"%.40s\" is not a date (YYYY-MM-DD)", path,
                          csv_line(c, r), date);
            return BGNBD_DATA_ERR_DATA;
        }
        obs[r].id = id;
        obs[r].order = r;
    }
    return 0;
}

int bgnbd_data_from_csv(const struct csv *c, const char *path, long long cal_end,
                        enum bgnbd_unit unit, struct bgnbd_data *out, char *err, size_t errlen)
{
    int id_col = csv_column(c, "customer_id"), date_col = csv_column(c, "date");
    struct bgnbd_obs *obs = NULL;
    char why[256];
    int rc;

    memset(out, 0, sizeof(*out));
    if (id_col < 0 || date_col < 0) {
        errbuf_printf(err, errlen, "%s: line 1: no column \"%s\" in the header", path,
                      id_col < 0 ? "customer_id" : "date");
        return BGNBD_DATA_ERR_DATA;
    }
    if (c->rows == 0) {
        errbuf_printf(err, errlen, "%s: no transactions (only a header)", path);
        return BGNBD_DATA_ERR_DATA;
    }
    obs = calloc(c->rows, sizeof(*obs));
    if (obs == NULL) {
        errbuf_printf(err, errlen, "%s: out of memory", path);
        return BGNBD_DATA_ERR_NOMEM;
    }
    rc = bgnbd_data_csv_rows(c, path, (size_t)id_col, (size_t)date_col, obs, err, errlen);
    if (rc == 0) {
        rc = bgnbd_data_build(obs, c->rows, cal_end, unit, out, why, sizeof(why));
        if (rc != 0) {
            errbuf_printf(err, errlen, "%s: %s", path, why);
        }
    }
    free(obs);
    return rc;
}

void bgnbd_data_fini(struct bgnbd_data *d)
{
    for (size_t i = 0; d->ids != NULL && i < d->n; i++) {
        free(d->ids[i]);
    }
    free(d->ids);
    free(d->customers);
    memset(d, 0, sizeof(*d));
}
