#include "store.h"

#include "analytics/errbuf.h"
#include "analytics/log.h"
#include "analytics/pg.h"
#include "archive.h"
#include "rollup.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STORE_ERR_MAX 512
#define STORE_STATEMENT_TIMEOUT "30s"

struct store {
    char *dsn;
    char *topic;
    const struct apply_ctx *ctx;
    PGconn *conn;
    bool in_tx;
    char err[STORE_ERR_MAX];
    char sqlstate[6];                /* of the last failure; "" when none came */
    struct copybuf buf;              /* rows of the COPY being built */
    struct copybuf arr;              /* array literals */
    struct copybuf sub;              /* the archive rows of a batch not archived yet */
    char cluster[STORE_CLUSTER_MAX]; /* the Kafka cluster's id; "" when not known */
};

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

static int store_cmd(struct store *st, const char *sql, const char *what)
{
    PGresult *res = PQexec(st->conn, sql);
    int rc = store_ok(st, res, PGRES_COMMAND_OK, what);

    if (rc == STORE_OK) {
        PQclear(res);
    }
    return rc;
}

/* Runs sql with text params; returns its result (caller clears) in *out. */
static int store_query(struct store *st, const char *sql, int n, const char *const *params,
                       ExecStatusType want, const char *what, PGresult **out)
{
    PGresult *res = PQexecParams(st->conn, sql, n, NULL, params, NULL, NULL, 0);
    int rc = store_ok(st, res, want, what);

    *out = rc == STORE_OK ? res : NULL;
    return rc;
}

static int store_exec_params(struct store *st, const char *sql, int n, const char *const *params,
                             const char *what)
{
    PGresult *res = NULL;
    int rc = store_query(st, sql, n, params, PGRES_COMMAND_OK, what, &res);

    PQclear(res);
    return rc;
}

/* COPY ... FROM STDIN of data. */
static int store_copy_in(struct store *st, const char *sql, const char *data, size_t len,
                         const char *what)
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
static long long store_ll(const PGresult *res, int r, int c)
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
static const char *store_text_array(struct store *st, const char *const *strs, size_t n)
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
static char *store_int_array(const int64_t *vals, const int32_t *vals32, size_t n)
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

/* ---- partitions and retention ---- */

int store_ensure_days(struct store *st, const long long *days, size_t n)
{
    int rc = STORE_OK;

    for (size_t i = 0; rc == STORE_OK && i < n; i++) {
        char day[16];
        archive_day_str(days[i], day, sizeof(day));
        const char *params[] = {day};
        PGresult *res = NULL;
        rc = store_query(st, "SELECT count(*) FROM analytics_ensure_partitions($1::date, 0)", 1,
                         params, PGRES_TUPLES_OK, "ensure partitions", &res);
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
    int rc = store_query(st,
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
    int rc = store_query(st, "SELECT ((now() AT TIME ZONE 'UTC')::date - $1::int)::text", 1, p1,
                         PGRES_TUPLES_OK, "retention cutoff", &res);
    if (rc != STORE_OK) {
        return rc;
    }
    snprintf(cutoff, sizeof(cutoff), "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    const char *params[] = {cutoff};
    rc = store_query(st, "SELECT count(*) FROM analytics_drop_partitions_before($1::date)", 1,
                     params, PGRES_TUPLES_OK, "drop partitions", &res);
    if (rc != STORE_OK) {
        return rc;
    }
    *dropped = (int)strtol(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    for (size_t i = 0; rc == STORE_OK && i < sizeof(deletes) / sizeof(deletes[0]); i++) {
        rc = store_exec_params(st, deletes[i], 1, params, "retention delete");
    }
    return rc;
}

/* ---- reading states back ---- */

#define STORE_MS(col) "(extract(epoch FROM " col ") * 1000)::bigint"

static int store_enum(const char *name, const char *(*name_of)(int), int max)
{
    for (int i = 0; i <= max; i++) {
        if (strcmp(name, name_of(i)) == 0) {
            return i;
        }
    }
    return 0;
}

static const char *store_str(const PGresult *res, int r, int c)
{
    return PQgetisnull(res, r, c) ? NULL : PQgetvalue(res, r, c);
}

/* Parses "{1,2,0}" into out[0..n). Returns 0 when it held exactly n. */
static int store_parse_ms(const char *s, long long *out, int n)
{
    int k = 0;
    char *end;

    if (*s++ != '{') {
        return -1;
    }
    while (*s != '}' && *s != '\0') {
        if (k == n) {
            return -1;
        }
        errno = 0;
        out[k++] = strtoll(s, &end, 10);
        if (end == s || errno != 0) {
            return -1;
        }
        s = *end == ',' ? end + 1 : end;
    }
    return k == n && *s == '}' ? 0 : -1;
}

static int store_funnel_index(const struct funnel_set *fs, const char *name)
{
    for (size_t i = 0; i < fs->n; i++) {
        if (strcmp(fs->funnels[i].name, name) == 0) {
            return (int)i;
        }
    }
    return -1;
}

/* Row r of the journeys query into v. Returns 0 or -1. */
static int store_take_journey(const struct store *st, struct jstate_visitor *v, const PGresult *res,
                              int r)
{
    const char *stage = PQgetvalue(res, r, 2);

    v->seq = (int)store_ll(res, r, 1);
    v->stage = -1;
    for (int i = 0; i < journey_stage_count(st->ctx->rules); i++) {
        if (strcmp(journey_stage_name(st->ctx->rules, i), stage) == 0) {
            v->stage = i;
        }
    }
    if (jstate_visitor_set_tp(v, PQgetvalue(res, r, 3), store_str(res, r, 5),
                              store_ll(res, r, 4)) != 0) {
        return -1;
    }
    v->tp_final = strcmp(PQgetvalue(res, r, 6), "t") != 0; /* its time spent is set */
    return 0;
}

/* Row r of the attempts query into v. An attempt whose funnel changed its
 * steps since is dropped: it cannot be followed any more. */
static int store_take_progress(const struct store *st, struct jstate_visitor *v,
                               const PGresult *res, int r)
{
    int fi = store_funnel_index(st->ctx->funnels, PQgetvalue(res, r, 1));
    struct jstate_funnel *fs;

    if (fi < 0 || (size_t)fi >= v->nfunnels) {
        return 0;
    }
    fs = &v->funnels[fi];
    const struct funnel *f = &st->ctx->funnels->funnels[fi];
    if (store_parse_ms(PQgetvalue(res, r, 6), fs->p.reached_ms, f->nsteps) != 0) {
        funnel_progress_reset(&fs->p);
        return 0;
    }
    fs->p.started_ms = store_ll(res, r, 2);
    fs->day = store_ll(res, r, 3);
    fs->channel = store_enum(PQgetvalue(res, r, 4), apply_channel_name, 7);
    fs->device_type = store_enum(PQgetvalue(res, r, 5), apply_device_name, 4);
    fs->p.inferred = (uint32_t)store_ll(res, r, 7);
    fs->p.furthest = (int)store_ll(res, r, 8) - 1;
    fs->p.abandoned = strcmp(PQgetvalue(res, r, 9), "t") == 0;
    fs->abandon_at_ms = store_ll(res, r, 11);
    fs->abandoned_ms = store_ll(res, r, 12);
    return jstate_set_str(&fs->session_id, store_str(res, r, 10));
}

/* The state a row is about: its first column is the 1-based position, in
 * the array the query was given, of its key (unnest ... WITH ORDINALITY). */
static void *store_row_state(void *const *states, size_t n, const PGresult *res, int r)
{
    long long i = store_ll(res, r, 0);

    return i >= 1 && (size_t)i <= n ? states[i - 1] : NULL;
}

int store_load_visitors(struct store *st, struct jstate_visitor *const *vs, size_t n)
{
    const char **fps = calloc(n + 1, sizeof(*fps));
    PGresult *res = NULL;
    int rc = STORE_REFUSED;

    for (size_t i = 0; fps != NULL && i < n; i++) {
        fps[i] = vs[i]->fingerprint;
    }
    const char *arr = fps != NULL ? store_text_array(st, fps, n) : NULL;
    free(fps);
    if (arr == NULL) {
        store_set_error(st, "out of memory");
        return STORE_REFUSED;
    }
    const char *params[] = {arr};
    rc = store_query(st,
                     "SELECT f.i, j.seq, j.stage, j.event_id, j.ms, j.session_id, j.open"
                     " FROM unnest($1::text[]) WITH ORDINALITY AS f(fp, i) CROSS JOIN LATERAL ("
                     "SELECT seq, stage, event_id, " STORE_MS(
                         "occurred_at") " AS ms, session_id,"
                                        " time_spent_s IS NULL AS open FROM customer_journeys c"
                                        " WHERE c.fingerprint = f.fp ORDER BY seq DESC LIMIT 1) j",
                     1, params, PGRES_TUPLES_OK, "read journeys", &res);
    for (int r = 0; rc == STORE_OK && r < PQntuples(res); r++) {
        struct jstate_visitor *v = store_row_state((void *const *)vs, n, res, r);
        if (v != NULL && store_take_journey(st, v, res, r) != 0) {
            rc = STORE_REFUSED;
        }
    }
    PQclear(res);
    if (rc != STORE_OK) {
        return rc;
    }
    rc = store_query(st,
                     "SELECT f.i, p.funnel, " STORE_MS(
                         "p.started_at") ","
                                         " p.day - DATE '1970-01-01', p.channel, p.device_type, "
                                         "p.reached_ms::text,"
                                         " p.inferred, p.furthest, p.abandoned, "
                                         "p.session_id, " STORE_MS("p.abandon_at") ", " STORE_MS(
                                             "p.abandoned_at") " FROM unnest($1::text[]) WITH "
                                                               "ORDINALITY AS f(fp, "
                                                               "i)"
                                                               " JOIN funnel_progress p ON "
                                                               "p.fingerprint = f.fp",
                     1, params, PGRES_TUPLES_OK, "read funnel progress", &res);
    for (int r = 0; rc == STORE_OK && r < PQntuples(res); r++) {
        struct jstate_visitor *v = store_row_state((void *const *)vs, n, res, r);
        if (v != NULL && store_take_progress(st, v, res, r) != 0) {
            rc = STORE_REFUSED;
        }
    }
    PQclear(res);
    return rc;
}

/* The funnel steps of a session ({"booking": 5}) into s. */
static void store_take_steps(const struct store *st, struct jstate_session *s, const char *json)
{
    cJSON *o = cJSON_Parse(json);
    const cJSON *it;

    cJSON_ArrayForEach(it, o)
    {
        int fi = store_funnel_index(st->ctx->funnels, it->string);
        if (fi >= 0 && (size_t)fi < s->nfunnels && cJSON_IsNumber(it)) {
            s->funnel_steps[fi] = (uint32_t)it->valuedouble;
        }
    }
    cJSON_Delete(o);
}

/* Row r of the sessions query into s. Returns 0 or -1. */
static int store_take_session(const struct store *st, struct jstate_session *s, const PGresult *res,
                              int r)
{
    int rc = 0;

    s->s.start_ms = store_ll(res, r, 4);
    s->s.end_ms = store_ll(res, r, 5);
    s->s.page_views = (uint32_t)store_ll(res, r, 6);
    s->s.events = (uint32_t)store_ll(res, r, 7);
    rc |= jstate_set_str(&s->s.entry_page, store_str(res, r, 8));
    rc |= jstate_set_str(&s->s.exit_page, store_str(res, r, 9));
    s->s.channel = store_enum(PQgetvalue(res, r, 10), apply_channel_name, 7);
    s->s.device_type = store_enum(PQgetvalue(res, r, 15), apply_device_name, 4);
    s->s.converted = strcmp(PQgetvalue(res, r, 17), "t") == 0;
    s->s.closed = strcmp(PQgetvalue(res, r, 18), "t") == 0;
    s->s.entry_ms = store_ll(res, r, 21);
    s->s.exit_ms = store_ll(res, r, 22);
    if (s->s.page_views > 0 && s->s.entry_page == NULL) {
        rc |= jstate_set_str(&s->s.entry_page, "-"); /* never NULL once a page was viewed */
    }
    rc |= jstate_set_str(&s->user_id, store_str(res, r, 2));
    rc |= jstate_set_str(&s->site_id, store_str(res, r, 3));
    rc |= jstate_set_str(&s->referrer_host, store_str(res, r, 11));
    rc |= jstate_set_str(&s->utm_source, store_str(res, r, 12));
    rc |= jstate_set_str(&s->utm_medium, store_str(res, r, 13));
    rc |= jstate_set_str(&s->utm_campaign, store_str(res, r, 14));
    rc |= jstate_set_str(&s->country, store_str(res, r, 16));
    rc |= jstate_set_str(&s->last_event_id, store_str(res, r, 19));
    store_take_steps(st, s, PQgetvalue(res, r, 23));
    s->s.revenue_micros = store_ll(res, r, 24);
    return rc != 0 ? -1 : 0;
}

/* The sessions of the ids in $1 (a text array), f.i the 1-based index of
 * each: the columns store_take_session reads, in its order. */
/* clang-format off */
#define STORE_SESSION_READ                                                                         \
    "SELECT f.i, s.fingerprint, s.user_id, s.site_id,"                                             \
    " " STORE_MS("s.started_at") ", " STORE_MS("s.ended_at") ","                                   \
    " s.page_views, s.events, s.entry_page, s.exit_page, s.channel, s.referrer_host,"              \
    " s.utm_source, s.utm_medium, s.utm_campaign, s.device_type, s.country_code, s.converted,"     \
    " s.closed, s.last_event_id, s.kafka_partition,"                                               \
    " COALESCE(" STORE_MS("s.entry_at") ", 0), COALESCE(" STORE_MS("s.exit_at") ", 0),"            \
    " s.funnel_steps::text, (s.revenue * 1000000)::bigint"                                         \
    " FROM unnest($1::text[]) WITH ORDINALITY AS f(id, i) JOIN sessions s ON s.session_id = f.id"
/* clang-format on */

int store_load_sessions(struct store *st, struct jstate_session *const *ss, size_t n)
{
    const char **ids = calloc(n + 1, sizeof(*ids));
    PGresult *res = NULL;
    int rc;

    for (size_t i = 0; ids != NULL && i < n; i++) {
        ids[i] = ss[i]->session_id;
    }
    const char *arr = ids != NULL ? store_text_array(st, ids, n) : NULL;
    free(ids);
    if (arr == NULL) {
        store_set_error(st, "out of memory");
        return STORE_REFUSED;
    }
    const char *params[] = {arr};
    rc = store_query(st, STORE_SESSION_READ, 1, params, PGRES_TUPLES_OK, "read sessions", &res);
    for (int r = 0; rc == STORE_OK && r < PQntuples(res); r++) {
        struct jstate_session *s = store_row_state((void *const *)ss, n, res, r);
        if (s != NULL && store_take_session(st, s, res, r) != 0) {
            store_set_error(st, "out of memory");
            rc = STORE_REFUSED;
        }
    }
    PQclear(res);
    return rc;
}

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
        store_set_error(st, "archive events: out of memory");
        return STORE_REFUSED;
    }
    if (len == 0) {
        return STORE_OK;
    }
    rc = store_copy_in(st, "COPY analytics_event_ids (event_id, event_time) FROM STDIN",
                       copybuf_data(&st->buf), copybuf_len(&st->buf), "archive event ids");
    if (rc == STORE_OK) {
        snprintf(sql, sizeof(sql), "COPY analytics_events (%s) FROM STDIN", archive_columns);
        rc = store_copy_in(st, sql, data, len, "archive events");
    }
    return rc;
}

/* True when the last failure was a unique_violation (23505). */
static bool store_duplicate(const struct store *st)
{
    return strcmp(st->sqlstate, "23505") == 0;
}

/* Sets dup[i] for the ids of ids[0..n) that analytics_event_ids holds
 * already, and for the repeats of an id within the batch. */
static int store_known_ids(struct store *st, const char *const *ids, size_t n, bool *dup)
{
    const char *arr = store_text_array(st, ids, n);
    PGresult *res = NULL;
    int rc;

    if (arr == NULL || archive_mark_repeats(ids, n, dup) != 0) {
        store_set_error(st, "out of memory");
        return STORE_REFUSED;
    }
    const char *params[] = {arr};
    rc = store_query(st,
                     "SELECT x.i FROM unnest($1::text[]) WITH ORDINALITY AS x(id, i)"
                     " JOIN analytics_event_ids e ON e.event_id = x.id",
                     1, params, PGRES_TUPLES_OK, "read archived ids", &res);
    for (int r = 0; rc == STORE_OK && r < PQntuples(res); r++) {
        long long i = store_ll(res, r, 0);
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
    int rc = STORE_OK;

    for (size_t i = 0; rc == STORE_OK && i < n; i++) {
        size_t end = i + 1 < n ? starts[i + 1] : copybuf_len(rows);
        status[i] = STORE_ROW_DUPLICATE;
        if (dup[i]) {
            continue;
        }
        rc = store_cmd(st, "SAVEPOINT jb_row", "savepoint");
        if (rc != STORE_OK) {
            break;
        }
        store_id_rows(st, &ids[i], &ms[i], 1, NULL);
        rc = store_archive_copy(st, copybuf_data(rows) + starts[i], end - starts[i]);
        if (rc == STORE_REFUSED) {
            if (!store_duplicate(st)) {
                status[i] = STORE_ROW_REFUSED;
                errbuf_printf(reasons[i], sizeof(reasons[i]), "%s", st->err);
            }
            rc = store_cmd(st, "ROLLBACK TO SAVEPOINT jb_row", "rollback to savepoint");
        } else if (rc == STORE_OK) {
            status[i] = STORE_ROW_NEW;
            rc = store_cmd(st, "RELEASE SAVEPOINT jb_row", "release savepoint");
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
    int rc = STORE_REFUSED;

    if (dup == NULL) {
        store_set_error(st, "out of memory");
        return STORE_REFUSED;
    }
    rc = store_known_ids(st, ids, n, dup);
    if (rc == STORE_OK) {
        store_new_rows(st, rows, starts, n, dup);
        store_id_rows(st, ids, ms, n, dup);
        rc = copybuf_failed(&st->sub)
                 ? STORE_REFUSED
                 : store_archive_copy(st, copybuf_data(&st->sub), copybuf_len(&st->sub));
    }
    if (rc == STORE_OK) {
        for (size_t i = 0; i < n; i++) {
            status[i] = dup[i] ? STORE_ROW_DUPLICATE : STORE_ROW_NEW;
        }
        rc = store_cmd(st, "RELEASE SAVEPOINT jb_archive", "release savepoint");
    } else if (rc == STORE_REFUSED) {
        log_debug("journey.archive_each", LOG_STR("reason", st->err));
        rc = store_cmd(st, "ROLLBACK TO SAVEPOINT jb_archive", "rollback to savepoint");
        if (rc == STORE_OK) {
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
        return STORE_OK;
    }
    rc = store_cmd(st, "SAVEPOINT jb_archive", "savepoint");
    if (rc != STORE_OK) {
        return rc;
    }
    store_id_rows(st, event_ids, event_ms, n, NULL);
    rc = store_archive_copy(st, copybuf_data(rows), copybuf_len(rows));
    if (rc == STORE_OK) {
        for (size_t i = 0; i < n; i++) {
            status[i] = STORE_ROW_NEW;
        }
        return store_cmd(st, "RELEASE SAVEPOINT jb_archive", "release savepoint");
    }
    if (rc != STORE_REFUSED) {
        return rc;
    }
    bool duplicate = store_duplicate(st);
    log_debug("journey.archive_slow_path", LOG_STR("reason", st->err));
    rc = store_cmd(st, "ROLLBACK TO SAVEPOINT jb_archive", "rollback to savepoint");
    if (rc != STORE_OK) {
        return rc;
    }
    if (duplicate) {
        return store_archive_known(st, rows, starts, n, event_ids, event_ms, status, reasons);
    }
    bool *none = calloc(n, sizeof(*none));
    if (none == NULL) {
        store_set_error(st, "out of memory");
        return STORE_REFUSED;
    }
    rc = store_archive_each(st, rows, starts, n, event_ids, event_ms, none, status, reasons);
    free(none);
    return rc;
}

/* ---- writing a batch ---- */

/* A date column from days since 1970-01-01. */
static void store_day(struct copybuf *b, long long day)
{
    char buf[32];

    archive_day_str(day, buf, sizeof(buf));
    copybuf_raw(b, buf, strlen(buf));
}

#define STORE_SESSION_COLS                                                                         \
    "session_id, fingerprint, user_id, site_id, started_at, ended_at, duration_s, page_views,"     \
    " events, entry_page, exit_page, channel, referrer_host, utm_source, utm_medium,"              \
    " utm_campaign, device_type, country_code, is_bot, bounced, converted, closed,"                \
    " last_event_id, kafka_partition, entry_at, exit_at, funnel_steps, revenue"

/* A numeric column from millionths (|micros| <= LLONG_MAX: never LLONG_MIN). */
static void store_micros(struct copybuf *b, long long micros)
{
    char buf[48];
    long long m = micros < 0 ? -micros : micros;
    int n = snprintf(buf, sizeof(buf), "%s%lld.%06lld", micros < 0 ? "-" : "", m / JOURNEY_MICROS,
                     m % JOURNEY_MICROS);

    copybuf_raw(b, buf, (size_t)n);
}

/* The session's funnel steps as JSON ({"booking": 5}), or NULL. Caller
 * frees. */
static char *store_steps_json(const struct store *st, const struct jstate_session *s)
{
    cJSON *o = cJSON_CreateObject();
    char *out = NULL;

    for (size_t i = 0; o != NULL && i < s->nfunnels && i < st->ctx->funnels->n; i++) {
        if (s->funnel_steps[i] != 0 && cJSON_AddNumberToObject(o, st->ctx->funnels->funnels[i].name,
                                                               s->funnel_steps[i]) == NULL) {
            cJSON_Delete(o);
            return NULL;
        }
    }
    if (o != NULL) {
        out = cJSON_PrintUnformatted(o);
    }
    cJSON_Delete(o);
    return out;
}

static void store_session_row(const struct store *st, struct copybuf *b,
                              const struct jstate_session *s)
{
    char *steps = store_steps_json(st, s);

    if (steps == NULL) {
        copybuf_fail(b);
        return;
    }
    copybuf_text(b, s->session_id, false);
    copybuf_text(b, s->fingerprint, false);
    copybuf_text(b, s->user_id, true);
    copybuf_text(b, s->site_id, true);
    copybuf_ts_ms(b, s->s.start_ms);
    copybuf_ts_ms(b, s->s.end_ms);
    copybuf_int(b, jsession_duration_s(&s->s));
    copybuf_int(b, s->s.page_views);
    copybuf_int(b, s->s.events);
    copybuf_text(b, s->s.entry_page, true);
    copybuf_text(b, s->s.exit_page, true);
    copybuf_text(b, apply_channel_name(s->s.channel), false);
    copybuf_text(b, s->referrer_host, true);
    copybuf_text(b, s->utm_source, true);
    copybuf_text(b, s->utm_medium, true);
    copybuf_text(b, s->utm_campaign, true);
    copybuf_text(b, apply_device_name(s->s.device_type), false);
    copybuf_text(b, s->country, true);
    copybuf_bool(b, false);
    copybuf_bool(b, jsession_bounced(&s->s));
    copybuf_bool(b, s->s.converted);
    copybuf_bool(b, s->s.closed);
    copybuf_text(b, s->last_event_id, true);
    copybuf_int(b, s->partition);
    if (s->s.entry_page != NULL) {
        copybuf_ts_ms(b, s->s.entry_ms);
        copybuf_ts_ms(b, s->s.exit_ms);
    } else {
        copybuf_null(b);
        copybuf_null(b);
    }
    copybuf_text(b, steps, false);
    store_micros(b, s->s.revenue_micros);
    copybuf_end_row(b);
    free(steps);
}

/* COPYs st->buf into staging table stage (columns cols), then runs merge. */
static int store_stage_merge(struct store *st, const char *stage, const char *cols,
                             const char *merge, const char *what)
{
    char sql[1024];
    int rc;

    if (copybuf_failed(&st->buf)) {
        errbuf_printf(st->err, sizeof(st->err), "%s: out of memory", what);
        return STORE_REFUSED;
    }
    if (copybuf_len(&st->buf) == 0) {
        return STORE_OK;
    }
    snprintf(sql, sizeof(sql), "COPY %s (%s) FROM STDIN", stage, cols);
    rc = store_copy_in(st, sql, copybuf_data(&st->buf), copybuf_len(&st->buf), what);
    if (rc == STORE_OK) {
        rc = store_cmd(st, merge, what);
    }
    if (rc == STORE_OK) {
        snprintf(sql, sizeof(sql), "DELETE FROM %s", stage);
        rc = store_cmd(st, sql, what);
    }
    return rc;
}

static int store_write_sessions(struct store *st, const struct apply_out *o)
{
    copybuf_reset(&st->buf);
    for (size_t i = 0; i < o->nsessions; i++) {
        if (o->sessions[i]->s.events > 0) {
            store_session_row(st, &st->buf, o->sessions[i]);
        }
    }
    return store_stage_merge(
        st, "jb_sessions", STORE_SESSION_COLS,
        "INSERT INTO sessions (" STORE_SESSION_COLS ") SELECT " STORE_SESSION_COLS
        " FROM jb_sessions ON CONFLICT (session_id) DO UPDATE SET"
        " user_id = EXCLUDED.user_id, site_id = EXCLUDED.site_id,"
        " started_at = EXCLUDED.started_at, ended_at = EXCLUDED.ended_at,"
        " duration_s = EXCLUDED.duration_s, page_views = EXCLUDED.page_views,"
        " events = EXCLUDED.events, entry_page = EXCLUDED.entry_page,"
        " exit_page = EXCLUDED.exit_page, channel = EXCLUDED.channel,"
        " referrer_host = EXCLUDED.referrer_host, utm_source = EXCLUDED.utm_source,"
        " utm_medium = EXCLUDED.utm_medium, utm_campaign = EXCLUDED.utm_campaign,"
        " device_type = EXCLUDED.device_type, country_code = EXCLUDED.country_code,"
        " bounced = EXCLUDED.bounced, converted = EXCLUDED.converted, closed = EXCLUDED.closed,"
        " last_event_id = EXCLUDED.last_event_id, kafka_partition = EXCLUDED.kafka_partition,"
        " entry_at = EXCLUDED.entry_at, exit_at = EXCLUDED.exit_at,"
        " funnel_steps = EXCLUDED.funnel_steps, revenue = EXCLUDED.revenue, updated_at = now()",
        "write sessions");
}

static int store_write_journeys(struct store *st, const struct apply_out *o)
{
    struct copybuf *b = &st->buf;

    copybuf_reset(b);
    for (size_t i = 0; i < o->nrows; i++) {
        const struct apply_journey_row *j = &o->rows[i];
        copybuf_text(b, j->event_id, false);
        copybuf_text(b, j->fingerprint, false);
        copybuf_text(b, j->user_id, true);
        copybuf_text(b, j->session_id, true);
        copybuf_int(b, j->seq);
        copybuf_text(b, j->stage, false);
        copybuf_text(b, j->previous_stage, true);
        copybuf_text(b, j->touchpoint, false);
        copybuf_text(b, apply_channel_name(j->channel), false);
        copybuf_text(b, j->page_url, true);
        copybuf_ts_ms(b, j->ts_ms);
        if (j->time_spent_s >= 0) {
            copybuf_int(b, j->time_spent_s);
        } else {
            copybuf_null(b);
        }
        copybuf_end_row(b);
    }
    if (copybuf_failed(b)) {
        errbuf_printf(st->err, sizeof(st->err), "write journeys: out of memory");
        return STORE_REFUSED;
    }
    if (copybuf_len(b) == 0) {
        return STORE_OK;
    }
    return store_copy_in(
        st,
        "COPY customer_journeys (event_id, fingerprint, user_id, session_id, seq,"
        " stage, previous_stage, touchpoint, channel, page_url, occurred_at, time_spent_s)"
        " FROM STDIN",
        copybuf_data(b), copybuf_len(b), "write journeys");
}

static int store_write_spent(struct store *st, const struct apply_out *o)
{
    copybuf_reset(&st->buf);
    for (size_t i = 0; i < o->nspent; i++) {
        copybuf_text(&st->buf, o->spent[i].event_id, false);
        copybuf_int(&st->buf, o->spent[i].seconds);
        copybuf_end_row(&st->buf);
    }
    return store_stage_merge(
        st, "jb_spent", "event_id, seconds",
        "UPDATE customer_journeys c SET time_spent_s = CASE WHEN s.seconds >= 0 THEN s.seconds"
        " ELSE (SELECT GREATEST(0, floor(extract(epoch FROM se.ended_at - c.occurred_at)))::int"
        "       FROM sessions se WHERE se.session_id = c.session_id) END"
        " FROM jb_spent s WHERE c.event_id = s.event_id",
        "write time spent");
}

#define STORE_PROGRESS_COLS                                                                        \
    "fingerprint, funnel, kafka_partition, started_at, day, channel, device_type, reached_ms,"     \
    " inferred, furthest, abandoned, session_id, abandon_at, abandoned_at"

static void store_progress_row(struct copybuf *b, const struct jstate_visitor *v,
                               const struct funnel *f, const struct jstate_funnel *fs)
{
    char arr[FUNNEL_STEPS_MAX * 22 + 4], *p = arr;

    for (int k = 0; k < f->nsteps; k++) {
        p += snprintf(p, sizeof(arr) - (size_t)(p - arr), "%s%lld", k > 0 ? "," : "{",
                      fs->p.reached_ms[k]);
    }
    p += snprintf(p, sizeof(arr) - (size_t)(p - arr), "}");
    copybuf_text(b, v->fingerprint, false);
    copybuf_text(b, f->name, false);
    copybuf_int(b, v->partition);
    copybuf_ts_ms(b, fs->p.started_ms);
    store_day(b, fs->day);
    copybuf_text(b, apply_channel_name(fs->channel), false);
    copybuf_text(b, apply_device_name(fs->device_type), false);
    copybuf_raw(b, arr, (size_t)(p - arr));
    copybuf_int(b, fs->p.inferred);
    copybuf_int(b, fs->p.furthest + 1);
    copybuf_bool(b, fs->p.abandoned);
    copybuf_text(b, fs->session_id, true);
    if (fs->abandon_at_ms != 0) {
        copybuf_ts_ms(b, fs->abandon_at_ms);
    } else {
        copybuf_null(b);
    }
    if (fs->abandoned_ms != 0) {
        copybuf_ts_ms(b, fs->abandoned_ms);
    } else {
        copybuf_null(b);
    }
    copybuf_end_row(b);
}

static int store_write_progress(struct store *st, const struct apply_out *o)
{
    const struct funnel_set *set = st->ctx->funnels;

    copybuf_reset(&st->buf);
    for (size_t i = 0; i < o->nvisitors; i++) {
        const struct jstate_visitor *v = o->visitors[i];
        for (size_t k = 0; k < v->nfunnels && k < set->n; k++) {
            if (v->funnels[k].dirty && v->funnels[k].p.started_ms != 0) {
                store_progress_row(&st->buf, v, &set->funnels[k], &v->funnels[k]);
            }
        }
    }
    return store_stage_merge(
        st, "jb_progress", STORE_PROGRESS_COLS,
        "INSERT INTO funnel_progress (" STORE_PROGRESS_COLS ") SELECT " STORE_PROGRESS_COLS
        " FROM jb_progress ON CONFLICT (fingerprint, funnel) DO UPDATE SET"
        " kafka_partition = EXCLUDED.kafka_partition, started_at = EXCLUDED.started_at,"
        " day = EXCLUDED.day, channel = EXCLUDED.channel, device_type = EXCLUDED.device_type,"
        " reached_ms = EXCLUDED.reached_ms, inferred = EXCLUDED.inferred,"
        " furthest = EXCLUDED.furthest, abandoned = EXCLUDED.abandoned,"
        " session_id = EXCLUDED.session_id, abandon_at = EXCLUDED.abandon_at,"
        " abandoned_at = EXCLUDED.abandoned_at, updated_at = now()",
        "write funnel progress");
}

#define STORE_ROLLUP_COLS                                                                          \
    "funnel, day, step, channel, device_type, attempts, sessions, inferred, abandoned,"            \
    " since_prev_n, since_prev_sum_s, since_prev_hist"

static void store_rollup_row(struct copybuf *b, const struct funnel_set *set,
                             const struct rollup_delta *d)
{
    char arr[ROLLUP_HIST_BUCKETS * 22 + 4], *p = arr;

    for (int k = 0; k < ROLLUP_HIST_BUCKETS; k++) {
        p += snprintf(p, sizeof(arr) - (size_t)(p - arr), "%s%lld", k > 0 ? "," : "{", d->hist[k]);
    }
    p += snprintf(p, sizeof(arr) - (size_t)(p - arr), "}");
    copybuf_text(b, set->funnels[d->key.funnel].name, false);
    store_day(b, d->key.day);
    copybuf_int(b, d->key.step + 1);
    copybuf_text(b, apply_channel_name(d->key.channel), false);
    copybuf_text(b, apply_device_name(d->key.device_type), false);
    copybuf_int(b, d->attempts);
    copybuf_int(b, d->sessions);
    copybuf_int(b, d->inferred);
    copybuf_int(b, d->abandoned);
    copybuf_int(b, d->since_prev_n);
    copybuf_double(b, d->since_prev_sum_s);
    copybuf_raw(b, arr, (size_t)(p - arr));
    copybuf_end_row(b);
}

static int store_write_rollups(struct store *st, const struct apply_out *o)
{
    copybuf_reset(&st->buf);
    for (size_t i = 0; i < o->rollup.n; i++) {
        store_rollup_row(&st->buf, st->ctx->funnels, &o->rollup.d[i]);
    }
    /* An abandonment taken back (apply.h: late events) subtracts from a row
     * an earlier batch counted it in: applied to that row first, as the
     * row proposed by the upsert may not be negative. */
    return store_stage_merge(
        st, "jb_rollup", STORE_ROLLUP_COLS,
        "UPDATE funnel_daily r SET abandoned = r.abandoned + s.abandoned FROM jb_rollup s"
        " WHERE s.abandoned < 0 AND (r.funnel, r.day, r.step, r.channel, r.device_type) ="
        " (s.funnel, s.day, s.step, s.channel, s.device_type);"
        " UPDATE jb_rollup SET abandoned = 0 WHERE abandoned < 0;"
        " INSERT INTO funnel_daily AS r (" STORE_ROLLUP_COLS ") SELECT " STORE_ROLLUP_COLS
        " FROM jb_rollup ON CONFLICT (funnel, day, step, channel, device_type) DO UPDATE SET"
        " attempts = r.attempts + EXCLUDED.attempts, sessions = r.sessions + EXCLUDED.sessions,"
        " inferred = r.inferred + EXCLUDED.inferred, abandoned = r.abandoned + EXCLUDED.abandoned,"
        " since_prev_n = r.since_prev_n + EXCLUDED.since_prev_n,"
        " since_prev_sum_s = r.since_prev_sum_s + EXCLUDED.since_prev_sum_s,"
        " since_prev_hist = funnel_hist_add(r.since_prev_hist, EXCLUDED.since_prev_hist),"
        " updated_at = now()",
        "write funnel rollups");
}

#define STORE_REACH_COLS "funnel, day, step, channel, device_type, fp, inferred"

/* A batch's visitors per rollup row, added to the rows' visitor sets (the
 * rows exist: store_write_rollups ran first), to the per-day sets over
 * every channel and device and to funnel_visitors, in that order. Rows
 * written before migration 008 (no set) take none of them: they count
 * their attempts (see 008_funnel_visitors.sql). */
static const char store_reach_merge_sql[] =
    "UPDATE funnel_daily r SET visitors_hll = hll_union(r.visitors_hll, x.v),"
    " inferred_hll = hll_union(r.inferred_hll, coalesce(x.i, funnel_hll_empty())),"
    " updated_at = now()"
    " FROM (SELECT funnel, day, step, channel, device_type,"
    "   hll_add_agg(hll_hash_text(fp), p.log2m, p.regwidth, p.expthresh, p.sparseon) AS v,"
    "   hll_add_agg(hll_hash_text(fp), p.log2m, p.regwidth, p.expthresh, p.sparseon)"
    "     FILTER (WHERE inferred) AS i"
    "   FROM jb_reach, funnel_hll_params() p GROUP BY 1, 2, 3, 4, 5) x"
    " WHERE r.funnel = x.funnel AND r.day = x.day AND r.step = x.step AND r.channel = x.channel"
    " AND r.device_type = x.device_type AND r.visitors_hll IS NOT NULL;"
    "INSERT INTO funnel_daily_visitors AS r (funnel, day, step, visitors_hll, inferred_hll)"
    " SELECT x.funnel, x.day, x.step,"
    "   hll_add_agg(hll_hash_text(x.fp), p.log2m, p.regwidth, p.expthresh, p.sparseon),"
    "   coalesce(hll_add_agg(hll_hash_text(x.fp), p.log2m, p.regwidth, p.expthresh, p.sparseon)"
    "     FILTER (WHERE x.inferred), funnel_hll_empty())"
    " FROM jb_reach x JOIN funnel_daily d USING (funnel, day, step, channel, device_type),"
    "   funnel_hll_params() p"
    " WHERE d.visitors_hll IS NOT NULL GROUP BY 1, 2, 3"
    " ON CONFLICT (funnel, day, step) DO UPDATE SET"
    " visitors_hll = hll_union(r.visitors_hll, EXCLUDED.visitors_hll),"
    " inferred_hll = hll_union(r.inferred_hll, EXCLUDED.inferred_hll);"
    "INSERT INTO funnel_visitors AS r (funnel, step, day, channel, device_type, visitor, inferred)"
    " SELECT x.funnel, x.step, x.day, x.channel, x.device_type, hashtextextended(x.fp, 0),"
    "   bool_or(x.inferred)"
    " FROM jb_reach x JOIN funnel_daily d USING (funnel, day, step, channel, device_type)"
    " WHERE d.visitors_hll IS NOT NULL GROUP BY 1, 2, 3, 4, 5, 6"
    " ON CONFLICT (funnel, step, day, channel, device_type, visitor) DO UPDATE SET inferred = true"
    " WHERE EXCLUDED.inferred AND NOT r.inferred";

static int store_write_reach(struct store *st, const struct apply_out *o)
{
    const struct funnel_set *set = st->ctx->funnels;
    struct copybuf *b = &st->buf;

    copybuf_reset(b);
    for (size_t i = 0; i < o->nreach; i++) {
        const struct apply_reach *r = &o->reach[i];
        copybuf_text(b, set->funnels[r->key.funnel].name, false);
        store_day(b, r->key.day);
        copybuf_int(b, r->key.step + 1);
        copybuf_text(b, apply_channel_name(r->key.channel), false);
        copybuf_text(b, apply_device_name(r->key.device_type), false);
        copybuf_text(b, r->fingerprint, false);
        copybuf_bool(b, r->inferred);
        copybuf_end_row(b);
    }
    return store_stage_merge(st, "jb_reach", STORE_REACH_COLS, store_reach_merge_sql,
                             "write funnel visitors");
}

int store_write(struct store *st, const struct apply_out *o)
{
    int rc = store_write_sessions(st, o);

    if (rc == STORE_OK) {
        rc = store_write_journeys(st, o);
    }
    if (rc == STORE_OK) {
        rc = store_write_spent(st, o);
    }
    if (rc == STORE_OK) {
        rc = store_write_progress(st, o);
    }
    if (rc == STORE_OK) {
        rc = store_write_rollups(st, o);
    }
    if (rc == STORE_OK) {
        rc = store_write_reach(st, o);
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
        errbuf_printf(st->err, sizeof(st->err), "out of memory");
        return STORE_REFUSED;
    }
    for (size_t i = 0; i < n; i++) {
        d[i].fingerprint = strdup(PQgetvalue(res, (int)i, 0));
        d[i].session_id = NULL;
        if (jstate_set_str(&d[i].session_id, store_str(res, (int)i, 1)) != 0 ||
            d[i].fingerprint == NULL) {
            store_due_free(d, n);
            errbuf_printf(st->err, sizeof(st->err), "out of memory");
            return STORE_REFUSED;
        }
        d[i].partition = (int)store_ll(res, (int)i, 2);
        d[i].close = strcmp(PQgetvalue(res, (int)i, 3), "t") == 0;
    }
    *out = d;
    *nout = n;
    return STORE_OK;
}

int store_find_due(struct store *st, const int32_t *parts, const int64_t *close_before,
                   const int64_t *now, size_t n, size_t limit, struct store_due **out, size_t *nout)
{
    char *a = store_int_array(NULL, parts, n), *b = store_int_array(close_before, NULL, n);
    char *c = store_int_array(now, NULL, n), lim[32];
    PGresult *res = NULL;
    int rc = STORE_REFUSED;

    *out = NULL;
    *nout = 0;
    snprintf(lim, sizeof(lim), "%zu", limit);
    if (a == NULL || b == NULL || c == NULL) {
        errbuf_printf(st->err, sizeof(st->err), "out of memory");
        goto out;
    }
    const char *params[] = {a, b, c, limit > 0 ? lim : NULL}; /* LIMIT NULL: all */
    rc = store_query(
        st,
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
    if (rc == STORE_OK) {
        rc = store_take_due(st, res, out, nout);
    }
    PQclear(res);
out:
    free(a);
    free(b);
    free(c);
    return rc;
}
