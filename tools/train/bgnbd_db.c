/* BG/NBD transactions from the sessions table. See bgnbd_db.h. */
#include "bgnbd_db.h"

#include "analytics/errbuf.h"
#include "analytics/pg.h"

#include <stdlib.h>
#include <string.h>

/* One row per visitor and day of the site's zone ($3, as the scorer counts
 * them) with a (converted, for bookings) human session that started before
 * the end of the calibration-end day; $1 is that day, $2 whether only
 * converted sessions count. Ordered bytewise so the fit sees the customers
 * in the same order every time. */
static const char bgnbd_db_sql[] =
    "SELECT fingerprint, (started_at AT TIME ZONE $3)::date - DATE '1970-01-01'"
    "  FROM sessions"
    " WHERE NOT is_bot AND (converted OR NOT $2::boolean)"
    "   AND started_at < (($1::date + 1)::timestamp AT TIME ZONE $3)"
    " GROUP BY 1, 2"
    " ORDER BY fingerprint COLLATE \"C\", 2";

/* Turns the rows of res into obs. Returns 0, or -1 on a day that is not a
 * number (never, from the query above). */
static int bgnbd_db_rows(const PGresult *res, struct bgnbd_obs *obs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char *end;
        const char *day = PQgetvalue(res, (int)i, 1);

        obs[i].id = PQgetvalue(res, (int)i, 0);
        obs[i].day = strtoll(day, &end, 10);
        obs[i].order = i;
        if (end == day || *end != '\0') {
            return -1;
        }
    }
    return 0;
}

int bgnbd_db_load(PGconn *conn, enum bgnbd_basis basis, long long cal_end, const char *zone,
                  enum bgnbd_unit unit, struct bgnbd_data *out, char *err, size_t errlen)
{
    char day[BGNBD_DATA_DAY_LEN];
    const char *params[3] = {day, basis == BGNBD_BASIS_BOOKINGS ? "true" : "false", zone};
    struct bgnbd_obs *obs = NULL;
    PGresult *res;
    int rc = BGNBD_DB_ERR_QUERY;
    size_t n;

    memset(out, 0, sizeof(*out));
    bgnbd_data_day_text(cal_end, day);
    res = PQexecParams(conn, bgnbd_db_sql, 3, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        pg_result_error(res, conn, err, errlen);
        goto out;
    }
    n = (size_t)PQntuples(res);
    if (n == 0) {
        errbuf_printf(err, errlen, "no %s on or before %s",
                      basis == BGNBD_BASIS_BOOKINGS ? "converted sessions" : "sessions", day);
        rc = BGNBD_DATA_ERR_DATA;
        goto out;
    }
    obs = calloc(n, sizeof(*obs));
    if (obs == NULL) {
        errbuf_printf(err, errlen, "out of memory");
        rc = BGNBD_DATA_ERR_NOMEM;
        goto out;
    }
    if (bgnbd_db_rows(res, obs, n) != 0) {
        errbuf_printf(err, errlen, "the sessions query answered a day that is not a number");
        goto out;
    }
    rc = bgnbd_data_build(obs, n, cal_end, unit, out, err, errlen);
out:
    free(obs);
    PQclear(res);
    return rc;
}
