#ifndef TRAIN_BGNBD_DATA_H
#define TRAIN_BGNBD_DATA_H

/*
 * Transactions (a customer and a day) turned into the BG/NBD's customer
 * summaries (analytics/bgnbd.h), for a calibration period that ends with
 * the calibration-end day.
 *
 * Time is counted in whole days: every transaction of a day is taken at the
 * end of that day, and the calibration ends at the end of the
 * calibration-end day. A customer's transactions on one day count as one;
 * only days on or before the calibration end count, so a customer whose
 * first transaction is after it is left out. For each customer, with first
 * the day of their first transaction, last that of their latest (up to the
 * calibration end) and k the number of days with a transaction:
 *
 *   x   = k - 1                        (repeat transaction days)
 *   t_x = (last - first) / unit_days   (0 when x = 0)
 *   T   = (calibration_end - first) / unit_days
 *
 * with unit_days 1 (day) or 7 (week). A customer who first bought on the
 * calibration-end day has T = 0. This is how Fader, Hardie and Lee's CDNOW
 * summaries (and BTYD's) are measured: a first purchase on 1997-01-01 and a
 * calibration end of 1997-09-30 give T = 272 days = 38.857 weeks.
 */

#include "analytics/bgnbd.h"
#include "csv.h"

#include <stddef.h>

#define BGNBD_DATA_ERR_DATA (-1) /* bad input: the reason names the file, line, column */
#define BGNBD_DATA_ERR_NOMEM (-2)

/* One transaction. id is borrowed by bgnbd_data_build, which copies it. */
struct bgnbd_obs {
    const char *id;
    long long day; /* days since 1970-01-01 */
    size_t order;  /* its place in the input: customers come out in the order of their first */
};

/* The customers' summaries, in the order their first counted transaction
 * came in the input. */
struct bgnbd_data {
    size_t n;
    char **ids;                       /* [n] customer ids, owned */
    struct bgnbd_customer *customers; /* [n] */
    size_t days;                      /* customer-days counted (sum of x + 1) */
    size_t rows_after;                /* input rows after the calibration end, left out */
};

/* Builds the summaries of the transactions obs[0..n) (reordered in place)
 * for a calibration period ending with day cal_end, in unit. Returns 0, or
 * BGNBD_DATA_ERR_DATA when n is 0 ("no transactions") or every transaction
 * is after cal_end ("every transaction is after the calibration end
 * 1997-01-01 (the earliest is on 1997-01-02)"),
 * or BGNBD_DATA_ERR_NOMEM, with the reason in err. Release with
 * bgnbd_data_fini, whatever the result. */
int bgnbd_data_build(struct bgnbd_obs *obs, size_t n, long long cal_end, enum bgnbd_unit unit,
                     struct bgnbd_data *out, char *err, size_t errlen);

/* The same from a CSV (csv.h) read from path, with columns customer_id and
 * date (YYYY-MM-DD; other columns are ignored). The reasons of
 * BGNBD_DATA_ERR_DATA name the file and, for a bad field, its line and
 * column: "<path>: line 7: column date: \"1997-02-30\" is not a date
 * (YYYY-MM-DD)", "<path>: line 3: column customer_id: empty",
 * "<path>: no column \"date\" in the header", "<path>: no transactions". */
int bgnbd_data_from_csv(const struct csv *c, const char *path, long long cal_end,
                        enum bgnbd_unit unit, struct bgnbd_data *out, char *err, size_t errlen);

/* Releases what bgnbd_data_build made. Accepts a zeroed struct. */
void bgnbd_data_fini(struct bgnbd_data *d);

#define BGNBD_DATA_DAY_LEN 16

/* Writes day (days since 1970-01-01) as YYYY-MM-DD into out ("?" when the
 * year is not 0..9999). */
void bgnbd_data_day_text(long long day, char out[BGNBD_DATA_DAY_LEN]);

#endif
