/*
 * The journey-builder's store: errors, statements, the connection, start-up
 * checks, offsets and transactions. Contract in store.h.
 */
#include "store_priv.h"
#include "analytics/errbuf.h"
#include "analytics/log.h"
#include "analytics/pg.h"

#include <stdlib.h>
#include <string.h>

/* The staging tables a transaction fills with COPY before merging them. */
static const char store_staging_sql[] =
    "CREATE TEMP TABLE IF NOT EXISTS jb_sessions (LIKE sessions INCLUDING DEFAULTS) "
    "  ON COMMIT DELETE ROWS;"
    "CREATE TEMP TABLE IF NOT EXISTS jb_spent (event_id text, seconds integer) "
    "  ON COMMIT DELETE ROWS;"
    "CREATE TEMP TABLE IF NOT EXISTS jb_progress (LIKE funnel_progress INCLUDING DEFAULTS) "
    "  ON COMMIT DELETE ROWS;"
    "CREATE TEMP TABLE IF NOT EXISTS jb_rollup (LIKE funnel_daily INCLUDING DEFAULTS) "
    "  ON COMMIT DELETE ROWS;"
    "CREATE TEMP TABLE IF NOT EXISTS jb_reach (funnel text, day date, step smallint,"
    "  channel text, device_type text, fp text, inferred boolean) ON COMMIT DELETE ROWS;";

/* ---- errors ---- */

const char *store_error(const struct store *st)
{
    return st->err;
}

void store_set_error(struct store *st, const char *msg)
{
    snprintf(st->err, sizeof(st->err), "%s", msg);
    st->sqlstate[0] = '\0';
}

/* SQLSTATE classes worth retrying: the connection (08), the server going
 * away or starting (57), resources (53), a serialization failure or a
 * deadlock (40). */
static bool store_transient(const char *sqlstate)
{
    return sqlstate == NULL || strncmp(sqlstate, "08", 2) == 0 || strncmp(sqlstate, "57", 2) == 0 ||
           strncmp(sqlstate, "53", 2) == 0 || strncmp(sqlstate, "40", 2) == 0;
}

/* Records the failure of res (may be NULL) and classifies it. Clears res. */
static int store_fail(struct store *st, PGresult *res, const char *what)
{
    char reason[STORE_ERR_MAX];
    const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    bool down = store_transient(state) || PQstatus(st->conn) != CONNECTION_OK;

    snprintf(st->sqlstate, sizeof(st->sqlstate), "%s", state != NULL ? state : "");
    pg_result_error(res, st->conn, reason, sizeof(reason));
    errbuf_printf(st->err, sizeof(st->err), "%s: %s", what, reason);
    PQclear(res);
    return down ? STORE_DOWN : STORE_REFUSED;
}

/* Checks res succeeded with want (PGRES_COMMAND_OK or PGRES_TUPLES_OK).
 * Returns STORE_OK keeping res, or a failure having cleared it. */
static int store_ok(struct store *st, PGresult *res, ExecStatusType want, const char *what)
{
    if (res != NULL && PQresultStatus(res) == want) {
        return STORE_OK;
    }
    return store_fail(st, res, what);
}

int store_cmd(struct store *st, const char *sql, const char *what)
{
    PGresult *res = PQexec(st->conn, sql);
    int rc = store_ok(st, res, PGRES_COMMAND_OK, what);

    if (rc == STORE_OK) {
        PQclear(res);
    }
    return rc;
}

/* Runs sql with text params; returns its result (caller clears) in *out. */
int store_query(struct store *st, const char *sql, int n, const char *const *params,
                ExecStatusType want, const char *what, PGresult **out)
{
    PGresult *res = PQexecParams(st->conn, sql, n, NULL, params, NULL, NULL, 0);
    int rc = store_ok(st, res, want, what);

    *out = rc == STORE_OK ? res : NULL;
    return rc;
}

int store_exec_params(struct store *st, const char *sql, int n, const char *const *params,
                      const char *what)
{
    PGresult *res = NULL;
    int rc = store_query(st, sql, n, params, PGRES_COMMAND_OK, what, &res);

    PQclear(res);
    return rc;
}

/* COPY ... FROM STDIN of data. */
int store_copy_in(struct store *st, const char *sql, const char *data, size_t len, const char *what)
{
    char reason[STORE_ERR_MAX];

    if (pg_copy_rows(st->conn, sql, data, len, st->sqlstate, reason, sizeof(reason)) == 0) {
        return STORE_OK;
    }
    errbuf_printf(st->err, sizeof(st->err), "%s: %s", what, reason);
    bool down = (st->sqlstate[0] == '\0' && PQstatus(st->conn) != CONNECTION_OK) ||
                (st->sqlstate[0] != '\0' && store_transient(st->sqlstate));
    return down ? STORE_DOWN : STORE_REFUSED;
}

/* A number column, 0 when NULL. */
long long store_ll(const PGresult *res, int r, int c)
{
    return PQgetisnull(res, r, c) ? 0 : strtoll(PQgetvalue(res, r, c), NULL, 10);
}

/* ---- array literals ---- */

static void store_arr_putc(struct store *st, char c)
{
    copybuf_append(&st->arr, &c, 1);
}

/* Builds "{"a","b"}" from strs[0..n) in st->arr; returns it, NUL-ended, or
 * NULL when memory ran out. */
const char *store_text_array(struct store *st, const char *const *strs, size_t n)
{
    copybuf_reset(&st->arr);
    store_arr_putc(st, '{');
    for (size_t i = 0; i < n; i++) {
        if (i > 0) {
            store_arr_putc(st, ',');
        }
        store_arr_putc(st, '"');
        for (const char *p = strs[i]; *p != '\0'; p++) {
            if (*p == '"' || *p == '\\') {
                store_arr_putc(st, '\\');
            }
            store_arr_putc(st, *p);
        }
        store_arr_putc(st, '"');
    }
    store_arr_putc(st, '}');
    store_arr_putc(st, '\0');
    return copybuf_failed(&st->arr) ? NULL : copybuf_data(&st->arr);
}

/* Builds "{1,2,3}" from vals[0..n) into buf (caller frees). */
char *store_int_array(const int64_t *vals, const int32_t *vals32, size_t n)
{
    size_t cap = 3 + n * 21;
    char *buf = malloc(cap), *p = buf;

    if (buf == NULL) {
        return NULL;
    }
    *p++ = '{';
    for (size_t i = 0; i < n; i++) {
        long long v = vals != NULL ? (long long)vals[i] : (long long)vals32[i];
        p += snprintf(p, cap - (size_t)(p - buf), "%s%lld", i > 0 ? "," : "", v);
    }
    *p++ = '}';
    *p = '\0';
    return buf;
}

/* ---- connection ---- */

struct store *store_new(const char *dsn, const char *topic, const struct apply_ctx *c)
{
    struct store *st = calloc(1, sizeof(*st));

    if (st == NULL) {
        return NULL;
    }
    st->dsn = strdup(dsn);
    st->topic = strdup(topic);
    if (st->dsn == NULL || st->topic == NULL) {
        store_free(st);
        return NULL;
    }
    st->ctx = c;
    copybuf_init(&st->buf);
    copybuf_init(&st->arr);
    copybuf_init(&st->sub);
    return st;
}

void store_disconnect(struct store *st)
{
    if (st->conn != NULL) {
        PQfinish(st->conn);
        st->conn = NULL;
    }
    st->in_tx = false;
}

void store_free(struct store *st)
{
    if (st == NULL) {
        return;
    }
    store_disconnect(st);
    copybuf_fini(&st->buf);
    copybuf_fini(&st->arr);
    copybuf_fini(&st->sub);
    free(st->dsn);
    free(st->topic);
    free(st);
}

bool store_connected(const struct store *st)
{
    return st->conn != NULL && PQstatus(st->conn) == CONNECTION_OK;
}

static int store_prepare(struct store *st);

/* The schema must be the one this build was made for (or newer). */
static int store_schema(struct store *st)
{
    char msg[STORE_ERR_MAX];

    switch (pg_schema_check(st->conn, ANALYTICS_SCHEMA_VERSION, msg, sizeof(msg))) {
    case PG_SCHEMA_OK:
        return STORE_OK;
    case PG_SCHEMA_AHEAD:
        log_warn("pg.schema_ahead", LOG_STR("reason", msg));
        return STORE_OK;
    case PG_SCHEMA_ERROR:
        errbuf_printf(st->err, sizeof(st->err), "schema check: %s", msg);
        return STORE_DOWN;
    default:
        errbuf_printf(st->err, sizeof(st->err), "%s", msg);
        return STORE_REFUSED;
    }
}

int store_connect(struct store *st, int timeout_s)
{
    if (store_connected(st)) {
        return STORE_OK;
    }
    store_disconnect(st);
    st->conn =
        pg_connect(st->dsn, timeout_s, "analytics-journey-builder", st->err, sizeof(st->err));
    if (st->conn == NULL) {
        return STORE_DOWN;
    }
    int rc = store_schema(st);
    if (rc == STORE_OK) {
        rc = store_cmd(st, "SET TIME ZONE 'UTC'", "set time zone");
    }
    /* A statement stuck behind a lock (or a hung server) fails after this
     * (57014, retried like an outage) instead of holding the loop forever. */
    if (rc == STORE_OK) {
        rc = store_cmd(st, "SET statement_timeout = '" STORE_STATEMENT_TIMEOUT "'",
                       "set statement timeout");
    }
    if (rc == STORE_OK) {
        rc = store_cmd(st, store_staging_sql, "create staging tables");
    }
    if (rc == STORE_OK) {
        rc = store_prepare(st);
    }
    if (rc != STORE_OK) {
        store_disconnect(st);
    }
    return rc;
}

/* ---- start-up ---- */

static int store_check_bounds(struct store *st)
{
    char want[1024], *p = want;
    PGresult *res = NULL;
    int rc;

    for (int i = 0; i < ROLLUP_HIST_BUCKETS - 1; i++) {
        p += snprintf(p, sizeof(want) - (size_t)(p - want), "%s%g", i > 0 ? "," : "{",
                      rollup_hist_bounds[i]);
    }
    snprintf(p, sizeof(want) - (size_t)(p - want), "}");
    const char *params[] = {want};
    rc = store_query(st, "SELECT funnel_hist_bounds() = $1::double precision[]", 1, params,
                     PGRES_TUPLES_OK, "funnel_hist_bounds", &res);
    if (rc != STORE_OK) {
        return rc;
    }
    bool same = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    if (!same) {
        errbuf_printf(st->err, sizeof(st->err),
                      "funnel_hist_bounds() in the database differs from this build's buckets");
        return STORE_REFUSED;
    }
    return STORE_OK;
}

static int store_define_funnel(struct store *st, const struct funnel *f)
{
    const char *names[FUNNEL_STEPS_MAX];
    char window[32], from[16], after[32];

    for (int i = 0; i < f->nsteps; i++) {
        names[i] = f->steps[i].name;
    }
    const char *steps = store_text_array(st, names, (size_t)f->nsteps);
    if (steps == NULL) {
        errbuf_printf(st->err, sizeof(st->err), "out of memory");
        return STORE_REFUSED;
    }
    snprintf(window, sizeof(window), "%lld", f->window_ms / 3600000);
    snprintf(from, sizeof(from), "%d", f->abandon_from + 1);
    snprintf(after, sizeof(after), "%lld", f->abandon_after_ms / 60000);
    const char *params[] = {f->name, steps, f->strict ? "t" : "f", window, from, after};
    return store_exec_params(
        st,
        "INSERT INTO funnel_definitions AS d (funnel, steps, strict, window_hours,"
        " abandon_from_step, abandon_after_minutes) VALUES ($1, $2, $3, $4, $5, $6)"
        " ON CONFLICT (funnel) DO UPDATE SET steps = EXCLUDED.steps, strict = EXCLUDED.strict,"
        " window_hours = EXCLUDED.window_hours, abandon_from_step = EXCLUDED.abandon_from_step,"
        " abandon_after_minutes = EXCLUDED.abandon_after_minutes, updated_at = now()"
        " WHERE (d.steps, d.strict, d.window_hours, d.abandon_from_step, d.abandon_after_minutes)"
        " IS DISTINCT FROM (EXCLUDED.steps, EXCLUDED.strict, EXCLUDED.window_hours,"
        " EXCLUDED.abandon_from_step, EXCLUDED.abandon_after_minutes)",
        6, params, "funnel_definitions");
}

static int store_prepare(struct store *st)
{
    int rc = store_check_bounds(st);

    for (size_t i = 0; rc == STORE_OK && i < st->ctx->funnels->n; i++) {
        rc = store_define_funnel(st, &st->ctx->funnels->funnels[i]);
    }
    return rc;
}

/* ---- offsets ---- */

int store_offsets(struct store *st, const int32_t *parts, size_t n, int64_t *next, int64_t *stream,
                  char (*cluster)[STORE_CLUSTER_MAX])
{
    char *arr = store_int_array(NULL, parts, n);
    PGresult *res = NULL;
    int rc;

    if (arr == NULL) {
        errbuf_printf(st->err, sizeof(st->err), "out of memory");
        return STORE_REFUSED;
    }
    const char *params[] = {st->topic, arr};
    rc = store_query(st,
                     "SELECT kafka_partition, next_offset, stream_ms, coalesce(cluster_id, '')"
                     " FROM journey_offsets WHERE topic = $1 AND kafka_partition = ANY($2::int[])",
                     2, params, PGRES_TUPLES_OK, "read offsets", &res);
    free(arr);
    if (rc != STORE_OK) {
        return rc;
    }
    for (size_t i = 0; i < n; i++) {
        next[i] = -1;
        stream[i] = 0;
        cluster[i][0] = '\0';
    }
    for (int r = 0; r < PQntuples(res); r++) {
        long p = strtol(PQgetvalue(res, r, 0), NULL, 10);
        for (size_t i = 0; i < n; i++) {
            if (parts[i] == p) {
                next[i] = strtoll(PQgetvalue(res, r, 1), NULL, 10);
                stream[i] = strtoll(PQgetvalue(res, r, 2), NULL, 10);
                snprintf(cluster[i], STORE_CLUSTER_MAX, "%s", PQgetvalue(res, r, 3));
            }
        }
    }
    PQclear(res);
    return STORE_OK;
}

void store_set_cluster(struct store *st, const char *cluster_id)
{
    snprintf(st->cluster, sizeof(st->cluster), "%s", cluster_id != NULL ? cluster_id : "");
}

int store_reset_offset(struct store *st, int32_t part, int64_t from, int64_t to)
{
    char p[16], f[32], t[32];
    PGresult *res = NULL;

    snprintf(p, sizeof(p), "%d", (int)part);
    snprintf(f, sizeof(f), "%lld", (long long)from);
    snprintf(t, sizeof(t), "%lld", (long long)to);
    const char *params[] = {st->topic, p, f, t, st->cluster[0] != '\0' ? st->cluster : NULL};
    int rc = store_query(st,
                         "UPDATE journey_offsets SET next_offset = $4::bigint,"
                         " cluster_id = coalesce($5, cluster_id), updated_at = now()"
                         " WHERE topic = $1 AND kafka_partition = $2::int"
                         " AND next_offset = $3::bigint",
                         5, params, PGRES_COMMAND_OK, "reset offsets", &res);
    if (rc == STORE_OK && strcmp(PQcmdTuples(res), "1") != 0) {
        errbuf_printf(st->err, sizeof(st->err),
                      "partition %d: the database is no longer at offset %lld: another replica"
                      " moved it",
                      (int)part, (long long)from);
        rc = STORE_FENCED;
    }
    PQclear(res);
    return rc;
}

bool store_refused_by_data(const struct store *st)
{
    return strncmp(st->sqlstate, "22", 2) == 0 || strncmp(st->sqlstate, "23", 2) == 0;
}

int store_fence(struct store *st, const int32_t *parts, const int64_t *expect, size_t n)
{
    char *arr = store_int_array(NULL, parts, n);
    PGresult *res = NULL;
    int rc;

    if (arr == NULL) {
        store_set_error(st, "out of memory");
        return STORE_REFUSED;
    }
    const char *params[] = {st->topic, arr};
    rc = store_query(st,
                     "SELECT kafka_partition, next_offset FROM journey_offsets WHERE topic = $1"
                     " AND kafka_partition = ANY($2::int[]) ORDER BY 1 FOR UPDATE",
                     2, params, PGRES_TUPLES_OK, "lock offsets", &res);
    free(arr);
    for (size_t i = 0; rc == STORE_OK && i < n; i++) {
        long long at = -1; /* no row */
        for (int r = 0; r < PQntuples(res); r++) {
            if (store_ll(res, r, 0) == parts[i]) {
                at = store_ll(res, r, 1);
            }
        }
        if (at != expect[i]) {
            errbuf_printf(st->err, sizeof(st->err),
                          "partition %d: the database is at offset %lld, this replica at %lld:"
                          " another replica took it",
                          (int)parts[i], at, (long long)expect[i]);
            rc = STORE_FENCED;
        }
    }
    PQclear(res);
    return rc;
}

int store_set_offsets(struct store *st, const int32_t *parts, const int64_t *next,
                      const int64_t *stream, size_t n)
{
    char *a = store_int_array(NULL, parts, n), *b = store_int_array(next, NULL, n);
    char *c = store_int_array(stream, NULL, n);
    int rc = STORE_REFUSED;

    if (a == NULL || b == NULL || c == NULL) {
        errbuf_printf(st->err, sizeof(st->err), "out of memory");
    } else {
        const char *params[] = {st->topic, a, b, c, st->cluster[0] != '\0' ? st->cluster : NULL};
        rc = store_exec_params(
            st,
            "INSERT INTO journey_offsets AS o (topic, kafka_partition, next_offset, stream_ms,"
            " cluster_id)"
            " SELECT $1, p, n, s, $5 FROM unnest($2::int[], $3::bigint[], $4::bigint[]) AS x(p, n, "
            "s)"
            " ON CONFLICT (topic, kafka_partition) DO UPDATE SET next_offset = "
            "EXCLUDED.next_offset,"
            " stream_ms = GREATEST(o.stream_ms, EXCLUDED.stream_ms),"
            " cluster_id = coalesce(EXCLUDED.cluster_id, o.cluster_id), updated_at = now()",
            5, params, "write offsets");
    }
    free(a);
    free(b);
    free(c);
    return rc;
}

/* ---- transactions ---- */

int store_begin(struct store *st)
{
    int rc = store_cmd(st, "BEGIN", "begin");

    st->in_tx = rc == STORE_OK;
    return rc;
}

int store_commit(struct store *st)
{
    st->in_tx = false;
    return store_cmd(st, "COMMIT", "commit");
}

void store_rollback(struct store *st)
{
    if (!st->in_tx || st->conn == NULL) {
        return;
    }
    st->in_tx = false;
    PGresult *res = PQexec(st->conn, "ROLLBACK");
    if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK) {
        store_disconnect(st);
    }
    PQclear(res);
}
