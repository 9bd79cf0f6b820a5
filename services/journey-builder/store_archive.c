/*
 * The store's archive: a batch's events into analytics_events, once each.
 * Contract in store.h.
 */
#include "store_priv.h"
#include "analytics/errbuf.h"
#include "analytics/log.h"
#include "archive.h"

#include <stdlib.h>
#include <string.h>

/* ---- archiving ---- */

/* The analytics_event_ids rows (event_id, event_time) of events i of
 * [0, n), all of them when skip is NULL, else those with skip[i] false,
 * into st->buf. */
static void store_id_rows(struct store *st, const char *const *ids, const long long *ms, size_t n,
                          const bool *skip)
{
    copybuf_reset(&st->buf);
    for (size_t i = 0; i < n; i++) {
        if (skip == NULL || !skip[i]) {
            copybuf_text(&st->buf, ids[i], false);
            copybuf_ts_ms(&st->buf, ms[i]);
            copybuf_end_row(&st->buf);
        }
    }
}

/* COPYs the ids in st->buf into analytics_event_ids, then the rows
 * data[0..len) into analytics_events. A unique_violation (23505) means an
 * id was there already. */
static int store_archive_copy(struct store *st, const char *data, size_t len)
{
    char sql[4096];
    int rc;

    if (copybuf_failed(&st->buf)) {
        pgsink_set_error(st->sink, "archive events: out of memory");
        return PGSINK_REFUSED;
    }
    if (len == 0) {
        return PGSINK_OK;
    }
    rc = pgsink_copy_in(st->sink, "COPY analytics_event_ids (event_id, event_time) FROM STDIN",
                        copybuf_data(&st->buf), copybuf_len(&st->buf), "archive event ids");
    if (rc == PGSINK_OK) {
        snprintf(sql, sizeof(sql), "COPY analytics_events (%s) FROM STDIN", archive_columns);
        rc = pgsink_copy_in(st->sink, sql, data, len, "archive events");
    }
    return rc;
}

/* True when the last failure was a unique_violation (23505). */
static bool store_duplicate(const struct store *st)
{
    return strcmp(pgsink_sqlstate(st->sink), "23505") == 0;
}

/* Sets dup[i] for the ids of ids[0..n) that analytics_event_ids holds
 * already, and for the repeats of an id within the batch. */
static int store_known_ids(struct store *st, const char *const *ids, size_t n, bool *dup)
{
    const char *arr = pgsink_text_array(st->sink, ids, n);
    PGresult *res = NULL;
    int rc;

    if (arr == NULL || archive_mark_repeats(ids, n, dup) != 0) {
        pgsink_set_error(st->sink, "out of memory");
        return PGSINK_REFUSED;
    }
    const char *params[] = {arr};
    rc = pgsink_query(st->sink,
                      "SELECT x.i FROM unnest($1::text[]) WITH ORDINALITY AS x(id, i)"
                      " JOIN analytics_event_ids e ON e.event_id = x.id",
                      1, params, PGRES_TUPLES_OK, "read archived ids", &res);
    for (int r = 0; rc == PGSINK_OK && r < PQntuples(res); r++) {
        long long i = pgsink_ll(res, r, 0);
        if (i >= 1 && (size_t)i <= n) {
            dup[i - 1] = true;
        }
    }
    PQclear(res);
    return rc;
}

/* The rows of rows[] not marked dup, into st->sub. */
static void store_new_rows(struct store *st, const struct copybuf *rows, const size_t *starts,
                           size_t n, const bool *dup)
{
    copybuf_reset(&st->sub);
    for (size_t i = 0; i < n; i++) {
        size_t end = i + 1 < n ? starts[i + 1] : copybuf_len(rows);
        if (!dup[i]) {
            copybuf_append(&st->sub, copybuf_data(rows) + starts[i], end - starts[i]);
        }
    }
}

/* One row at a time, each in a savepoint: the rows the database refuses
 * are marked REFUSED with the reason, those whose id it holds DUPLICATE,
 * the others archived (NEW). Rows marked dup are DUPLICATE at once. */
static int store_archive_each(struct store *st, const struct copybuf *rows, const size_t *starts,
                              size_t n, const char *const *ids, const long long *ms,
                              const bool *dup, enum store_row *status, char (*reasons)[256])
{
    int rc = PGSINK_OK;

    for (size_t i = 0; rc == PGSINK_OK && i < n; i++) {
        size_t end = i + 1 < n ? starts[i + 1] : copybuf_len(rows);
        status[i] = STORE_ROW_DUPLICATE;
        if (dup[i]) {
            continue;
        }
        rc = pgsink_cmd(st->sink, "SAVEPOINT jb_row", "savepoint");
        if (rc != PGSINK_OK) {
            break;
        }
        store_id_rows(st, &ids[i], &ms[i], 1, NULL);
        rc = store_archive_copy(st, copybuf_data(rows) + starts[i], end - starts[i]);
        if (rc == PGSINK_REFUSED) {
            if (!store_duplicate(st)) {
                status[i] = STORE_ROW_REFUSED;
                errbuf_printf(reasons[i], sizeof(reasons[i]), "%s", pgsink_error(st->sink));
            }
            rc = pgsink_cmd(st->sink, "ROLLBACK TO SAVEPOINT jb_row", "rollback to savepoint");
        } else if (rc == PGSINK_OK) {
            status[i] = STORE_ROW_NEW;
            rc = pgsink_cmd(st->sink, "RELEASE SAVEPOINT jb_row", "release savepoint");
        }
    }
    return rc;
}

/* After the fast path met an id archived already: reads which ids are
 * known, archives the others at once, and falls back to one row at a time
 * when that is refused too (a row the database refuses, or a replica
 * archiving the same id meanwhile). Inside savepoint jb_archive. */
static int store_archive_known(struct store *st, const struct copybuf *rows, const size_t *starts,
                               size_t n, const char *const *ids, const long long *ms,
                               enum store_row *status, char (*reasons)[256])
{
    bool *dup = calloc(n, sizeof(*dup));
    int rc = PGSINK_REFUSED;

    if (dup == NULL) {
        pgsink_set_error(st->sink, "out of memory");
        return PGSINK_REFUSED;
    }
    rc = store_known_ids(st, ids, n, dup);
    if (rc == PGSINK_OK) {
        store_new_rows(st, rows, starts, n, dup);
        store_id_rows(st, ids, ms, n, dup);
        rc = copybuf_failed(&st->sub)
                 ? PGSINK_REFUSED
                 : store_archive_copy(st, copybuf_data(&st->sub), copybuf_len(&st->sub));
    }
    if (rc == PGSINK_OK) {
        for (size_t i = 0; i < n; i++) {
            status[i] = dup[i] ? STORE_ROW_DUPLICATE : STORE_ROW_NEW;
        }
        rc = pgsink_cmd(st->sink, "RELEASE SAVEPOINT jb_archive", "release savepoint");
    } else if (rc == PGSINK_REFUSED) {
        log_debug("journey.archive_each", LOG_STR("reason", pgsink_error(st->sink)));
        rc = pgsink_cmd(st->sink, "ROLLBACK TO SAVEPOINT jb_archive", "rollback to savepoint");
        if (rc == PGSINK_OK) {
            rc = store_archive_each(st, rows, starts, n, ids, ms, dup, status, reasons);
        }
    }
    free(dup);
    return rc;
}

int store_archive(struct store *st, const struct copybuf *rows, const size_t *starts, size_t n,
                  const char *const *event_ids, const long long *event_ms, enum store_row *status,
                  char (*reasons)[256])
{
    int rc;

    if (n == 0) {
        return PGSINK_OK;
    }
    rc = pgsink_cmd(st->sink, "SAVEPOINT jb_archive", "savepoint");
    if (rc != PGSINK_OK) {
        return rc;
    }
    store_id_rows(st, event_ids, event_ms, n, NULL);
    rc = store_archive_copy(st, copybuf_data(rows), copybuf_len(rows));
    if (rc == PGSINK_OK) {
        for (size_t i = 0; i < n; i++) {
            status[i] = STORE_ROW_NEW;
        }
        return pgsink_cmd(st->sink, "RELEASE SAVEPOINT jb_archive", "release savepoint");
    }
    if (rc != PGSINK_REFUSED) {
        return rc;
    }
    bool duplicate = store_duplicate(st);
    log_debug("journey.archive_slow_path", LOG_STR("reason", pgsink_error(st->sink)));
    rc = pgsink_cmd(st->sink, "ROLLBACK TO SAVEPOINT jb_archive", "rollback to savepoint");
    if (rc != PGSINK_OK) {
        return rc;
    }
    if (duplicate) {
        return store_archive_known(st, rows, starts, n, event_ids, event_ms, status, reasons);
    }
    bool *none = calloc(n, sizeof(*none));
    if (none == NULL) {
        pgsink_set_error(st->sink, "out of memory");
        return PGSINK_REFUSED;
    }
    rc = store_archive_each(st, rows, starts, n, event_ids, event_ms, none, status, reasons);
    free(none);
    return rc;
}
