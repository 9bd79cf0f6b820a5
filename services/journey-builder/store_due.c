/*
 * The store's due work and retention: day partitions ahead, dropping old
 * days, and sessions and attempts falling due. Contract in store.h.
 */
#include "store_priv.h"
#include "archive.h"

#include <stdlib.h>
#include <string.h>

/* ---- partitions and retention ---- */

int store_ensure_days(struct store *st, const long long *days, size_t n)
{
    int rc = PGSINK_OK;

    for (size_t i = 0; rc == PGSINK_OK && i < n; i++) {
        char day[16];
        archive_day_str(days[i], day, sizeof(day));
        const char *params[] = {day};
        PGresult *res = NULL;
        rc = pgsink_query(st->sink, "SELECT count(*) FROM analytics_ensure_partitions($1::date, 0)",
                          1, params, PGRES_TUPLES_OK, "ensure partitions", &res);
        PQclear(res);
    }
    return rc;
}

int store_ensure_ahead(struct store *st, int days_ahead)
{
    char ahead[16];
    PGresult *res = NULL;

    snprintf(ahead, sizeof(ahead), "%d", days_ahead);
    const char *params[] = {ahead};
    int rc = pgsink_query(st->sink,
                          "SELECT count(*) FROM analytics_ensure_partitions("
                          "(now() AT TIME ZONE 'UTC')::date - 1, $1::int + 1)",
                          1, params, PGRES_TUPLES_OK, "ensure partitions ahead", &res);
    PQclear(res);
    return rc;
}

int store_retention(struct store *st, int days, int *dropped)
{
    static const char *const deletes[] = {
        "DELETE FROM analytics_event_ids WHERE event_time < $1::date",
        "DELETE FROM customer_journeys WHERE occurred_at < $1::date",
        "DELETE FROM sessions WHERE started_at < $1::date AND closed",
        "DELETE FROM funnel_progress WHERE started_at < $1::date",
        /* Visitors by hash: funnel_report counts exactly from kept_from on. */
        "DELETE FROM funnel_visitors WHERE day < $1::date",
        "INSERT INTO funnel_visitors_kept (kept_from) VALUES ($1::date) ON CONFLICT (only_row)"
        " DO UPDATE SET kept_from = greatest(funnel_visitors_kept.kept_from, EXCLUDED.kept_from)",
    };
    char cutoff[16], ndays[16];
    PGresult *res = NULL;

    snprintf(ndays, sizeof(ndays), "%d", days);
    const char *p1[] = {ndays};
    int rc = pgsink_query(st->sink, "SELECT ((now() AT TIME ZONE 'UTC')::date - $1::int)::text", 1,
                          p1, PGRES_TUPLES_OK, "retention cutoff", &res);
    if (rc != PGSINK_OK) {
        return rc;
    }
    snprintf(cutoff, sizeof(cutoff), "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    const char *params[] = {cutoff};
    rc = pgsink_query(st->sink, "SELECT count(*) FROM analytics_drop_partitions_before($1::date)",
                      1, params, PGRES_TUPLES_OK, "drop partitions", &res);
    if (rc != PGSINK_OK) {
        return rc;
    }
    *dropped = (int)strtol(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    for (size_t i = 0; rc == PGSINK_OK && i < sizeof(deletes) / sizeof(deletes[0]); i++) {
        rc = pgsink_exec(st->sink, deletes[i], 1, params, "retention delete");
    }
    return rc;
}

/* ---- states falling due ---- */

void store_due_free(struct store_due *d, size_t n)
{
    for (size_t i = 0; d != NULL && i < n; i++) {
        free(d[i].fingerprint);
        free(d[i].session_id);
    }
    free(d);
}

static int store_take_due(struct store *st, const PGresult *res, struct store_due **out,
                          size_t *nout)
{
    size_t n = (size_t)PQntuples(res);
    struct store_due *d = calloc(n > 0 ? n : 1, sizeof(*d));

    if (d == NULL) {
        pgsink_set_error(st->sink, "out of memory");
        return PGSINK_REFUSED;
    }
    for (size_t i = 0; i < n; i++) {
        d[i].fingerprint = strdup(PQgetvalue(res, (int)i, 0));
        d[i].session_id = NULL;
        if (jstate_set_str(&d[i].session_id, pgsink_str(res, (int)i, 1)) != 0 ||
            d[i].fingerprint == NULL) {
            store_due_free(d, n);
            pgsink_set_error(st->sink, "out of memory");
            return PGSINK_REFUSED;
        }
        d[i].partition = (int)pgsink_ll(res, (int)i, 2);
        d[i].close = strcmp(PQgetvalue(res, (int)i, 3), "t") == 0;
    }
    *out = d;
    *nout = n;
    return PGSINK_OK;
}

int store_find_due(struct store *st, const int32_t *parts, const int64_t *close_before,
                   const int64_t *now, size_t n, size_t limit, struct store_due **out, size_t *nout)
{
    char *a = pgsink_int32_array(parts, n), *b = pgsink_int64_array(close_before, n);
    char *c = pgsink_int64_array(now, n), lim[32];
    PGresult *res = NULL;
    int rc = PGSINK_REFUSED;

    *out = NULL;
    *nout = 0;
    snprintf(lim, sizeof(lim), "%zu", limit);
    if (a == NULL || b == NULL || c == NULL) {
        pgsink_set_error(st->sink, "out of memory");
        goto out;
    }
    const char *params[] = {a, b, c, limit > 0 ? lim : NULL}; /* LIMIT NULL: all */
    rc = pgsink_query(
        st->sink,
        "(SELECT s.fingerprint, s.session_id, s.kafka_partition, true FROM sessions s"
        "  JOIN unnest($1::int[], $2::bigint[]) AS x(p, t) ON s.kafka_partition = x.p"
        "  WHERE NOT s.closed AND s.ended_at < to_timestamp(x.t / 1000.0)"
        "  ORDER BY s.ended_at LIMIT $4::int)"
        " UNION ALL"
        " (SELECT f.fingerprint, f.session_id, f.kafka_partition, false FROM funnel_progress f"
        "  JOIN unnest($1::int[], $3::bigint[]) AS x(p, t) ON f.kafka_partition = x.p"
        "  WHERE f.abandon_at IS NOT NULL AND f.abandon_at <= to_timestamp(x.t / 1000.0)"
        "  ORDER BY f.abandon_at LIMIT $4::int)",
        4, params, PGRES_TUPLES_OK, "find due", &res);
    if (rc == PGSINK_OK) {
        rc = store_take_due(st, res, out, nout);
    }
    PQclear(res);
out:
    free(a);
    free(b);
    free(c);
    return rc;
}
