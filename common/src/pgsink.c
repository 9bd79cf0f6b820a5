/*
 * The PostgreSQL connection of an exactly-once consumer: errors and their
 * classes, statements, the connection and its set-up, transactions, and
 * the offsets table. Contract in analytics/pgsink.h.
 */
#include "analytics/pgsink.h"

#include "analytics/bytebuf.h"
#include "analytics/errbuf.h"
#include "analytics/log.h"
#include "analytics/pg.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PGSINK_ERR_MAX 512
#define PGSINK_TABLE_MAX 63                /* PostgreSQL's NAMEDATALEN - 1 */
#define PGSINK_ARRAY_MAX ((size_t)1 << 30) /* bytes of one array literal */
#define PGSINK_SQL_MAX 1024                /* an offsets statement, with the table's name */

struct pgsink {
    char *dsn;
    char *app_name;
    char *table; /* the offsets table */
    PGconn *conn;
    bool in_tx;
    char err[PGSINK_ERR_MAX];
    char sqlstate[6];                 /* of the last failure; "" when none came */
    struct bytebuf arr;               /* the text array literal */
    char cluster[PGSINK_CLUSTER_MAX]; /* the Kafka cluster's id; "" when not known */
    int (*prepare)(struct pgsink *s, void *arg);
    void *prepare_arg;
};

/* ---- errors ---- */

const char *pgsink_error(const struct pgsink *s)
{
    return s->err;
}

const char *pgsink_sqlstate(const struct pgsink *s)
{
    return s->sqlstate;
}

void pgsink_set_error(struct pgsink *s, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(s->err, sizeof(s->err), fmt, ap);
    va_end(ap);
    s->sqlstate[0] = '\0';
}

static bool pgsink_class(const char *sqlstate, const char *cls)
{
    return strncmp(sqlstate, cls, 2) == 0;
}

enum pgsink_fault pgsink_classify(const char *sqlstate, bool connected)
{
    if (sqlstate == NULL || sqlstate[0] == '\0' || !connected || pgsink_class(sqlstate, "08") ||
        pgsink_class(sqlstate, "57") || pgsink_class(sqlstate, "53") ||
        pgsink_class(sqlstate, "40")) {
        return PGSINK_FAULT_TRANSIENT;
    }
    if (pgsink_class(sqlstate, "22") || pgsink_class(sqlstate, "23")) {
        return PGSINK_FAULT_DATA;
    }
    return PGSINK_FAULT_STATEMENT;
}

bool pgsink_refused_by_data(const struct pgsink *s)
{
    return pgsink_classify(s->sqlstate, true) == PGSINK_FAULT_DATA;
}

static bool pgsink_conn_ok(const struct pgsink *s)
{
    return s->conn != NULL && PQstatus(s->conn) == CONNECTION_OK;
}

/* Records the failure of res (may be NULL) and classifies it. Clears res. */
static int pgsink_fail(struct pgsink *s, PGresult *res, const char *what)
{
    char reason[PGSINK_ERR_MAX];
    const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    enum pgsink_fault f = pgsink_classify(state, pgsink_conn_ok(s));

    snprintf(s->sqlstate, sizeof(s->sqlstate), "%s", state != NULL ? state : "");
    pg_result_error(res, s->conn, reason, sizeof(reason));
    errbuf_printf(s->err, sizeof(s->err), "%s: %s", what, reason);
    PQclear(res);
    return f == PGSINK_FAULT_TRANSIENT ? PGSINK_DOWN : PGSINK_REFUSED;
}

/* Checks res succeeded with want. Returns PGSINK_OK keeping res, or a
 * failure having cleared it. */
static int pgsink_ok(struct pgsink *s, PGresult *res, ExecStatusType want, const char *what)
{
    if (res != NULL && PQresultStatus(res) == want) {
        return PGSINK_OK;
    }
    return pgsink_fail(s, res, what);
}

/* ---- statements ---- */

int pgsink_cmd(struct pgsink *s, const char *sql, const char *what)
{
    PGresult *res = PQexec(s->conn, sql);
    int rc = pgsink_ok(s, res, PGRES_COMMAND_OK, what);

    if (rc == PGSINK_OK) {
        PQclear(res);
    }
    return rc;
}

int pgsink_query(struct pgsink *s, const char *sql, int n, const char *const *params,
                 ExecStatusType want, const char *what, PGresult **out)
{
    PGresult *res = PQexecParams(s->conn, sql, n, NULL, params, NULL, NULL, 0);
    int rc = pgsink_ok(s, res, want, what);

    *out = rc == PGSINK_OK ? res : NULL;
    return rc;
}

int pgsink_exec(struct pgsink *s, const char *sql, int n, const char *const *params,
                const char *what)
{
    PGresult *res = NULL;
    int rc = pgsink_query(s, sql, n, params, PGRES_COMMAND_OK, what, &res);

    PQclear(res);
    return rc;
}

int pgsink_copy_in(struct pgsink *s, const char *sql, const char *data, size_t len,
                   const char *what)
{
    char reason[PGSINK_ERR_MAX];

    if (pg_copy_rows(s->conn, sql, data, len, s->sqlstate, reason, sizeof(reason)) == 0) {
        return PGSINK_OK;
    }
    errbuf_printf(s->err, sizeof(s->err), "%s: %s", what, reason);
    /* Without a SQLSTATE the failure was libpq's own (memory, a statement
     * that is no COPY): transient only when the connection went with it.
     * With one, the server's word decides, whatever became of the
     * connection afterwards. */
    if (s->sqlstate[0] == '\0') {
        return pgsink_conn_ok(s) ? PGSINK_REFUSED : PGSINK_DOWN;
    }
    return pgsink_classify(s->sqlstate, true) == PGSINK_FAULT_TRANSIENT ? PGSINK_DOWN
                                                                        : PGSINK_REFUSED;
}

long long pgsink_ll(const PGresult *res, int r, int c)
{
    return PQgetisnull(res, r, c) ? 0 : strtoll(PQgetvalue(res, r, c), NULL, 10);
}

const char *pgsink_str(const PGresult *res, int r, int c)
{
    return PQgetisnull(res, r, c) ? NULL : PQgetvalue(res, r, c);
}

/* ---- array literals ---- */

const char *pgsink_text_array(struct pgsink *s, const char *const *strs, size_t n)
{
    bytebuf_reset(&s->arr);
    bytebuf_add(&s->arr, "{", 1);
    for (size_t i = 0; i < n; i++) {
        bytebuf_add(&s->arr, i > 0 ? ",\"" : "\"", i > 0 ? 2 : 1);
        for (const char *p = strs[i]; *p != '\0'; p++) {
            if (*p == '"' || *p == '\\') {
                bytebuf_add(&s->arr, "\\", 1);
            }
            bytebuf_add(&s->arr, p, 1);
        }
        bytebuf_add(&s->arr, "\"", 1);
    }
    bytebuf_add(&s->arr, "}", 1);
    return bytebuf_failed(&s->arr) ? NULL : s->arr.data;
}

/* {v0,v1,...} of the n values at(vals, i) gives, in a new buffer. */
static char *pgsink_int_array(const void *vals, size_t n, long long (*at)(const void *, size_t))
{
    size_t cap = 3 + n * 21; /* 20 characters of a 64-bit number and a comma each */
    char *buf = malloc(cap), *p = buf;

    if (buf == NULL) {
        return NULL;
    }
    *p++ = '{';
    for (size_t i = 0; i < n; i++) {
        p += snprintf(p, cap - (size_t)(p - buf), "%s%lld", i > 0 ? "," : "", at(vals, i));
    }
    *p++ = '}';
    *p = '\0';
    return buf;
}

static long long pgsink_at32(const void *vals, size_t i)
{
    return ((const int32_t *)vals)[i];
}

static long long pgsink_at64(const void *vals, size_t i)
{
    return (long long)((const int64_t *)vals)[i];
}

char *pgsink_int32_array(const int32_t *vals, size_t n)
{
    return pgsink_int_array(vals, n, pgsink_at32);
}

char *pgsink_int64_array(const int64_t *vals, size_t n)
{
    return pgsink_int_array(vals, n, pgsink_at64);
}

/* ---- the connection ---- */

/* A plain lower-case SQL identifier: the offsets table goes into the
 * statements as it is. */
static bool pgsink_table_ok(const char *name)
{
    size_t n = strlen(name);

    if (n == 0 || n > PGSINK_TABLE_MAX || !(name[0] == '_' || (name[0] >= 'a' && name[0] <= 'z'))) {
        return false;
    }
    for (size_t i = 1; i < n; i++) {
        char c = name[i];
        if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) {
            return false;
        }
    }
    return true;
}

struct pgsink *pgsink_new(const char *dsn, const char *app_name, const char *offsets_table)
{
    struct pgsink *s = NULL;

    if (offsets_table == NULL || !pgsink_table_ok(offsets_table)) {
        return NULL;
    }
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        return NULL;
    }
    bytebuf_init(&s->arr, PGSINK_ARRAY_MAX);
    s->dsn = strdup(dsn);
    s->app_name = strdup(app_name);
    s->table = strdup(offsets_table);
    if (s->dsn == NULL || s->app_name == NULL || s->table == NULL) {
        pgsink_free(s);
        return NULL;
    }
    return s;
}

void pgsink_disconnect(struct pgsink *s)
{
    if (s->conn != NULL) {
        PQfinish(s->conn);
        s->conn = NULL;
    }
    s->in_tx = false;
}

void pgsink_free(struct pgsink *s)
{
    if (s == NULL) {
        return;
    }
    pgsink_disconnect(s);
    bytebuf_fini(&s->arr);
    free(s->dsn);
    free(s->app_name);
    free(s->table);
    free(s);
}

void pgsink_on_connect(struct pgsink *s, int (*prepare)(struct pgsink *s, void *arg), void *arg)
{
    s->prepare = prepare;
    s->prepare_arg = arg;
}

bool pgsink_connected(const struct pgsink *s)
{
    return pgsink_conn_ok(s);
}

/* The schema must be the one this build was made for (or newer). */
static int pgsink_schema(struct pgsink *s)
{
    char msg[PGSINK_ERR_MAX];

    switch (pg_schema_check(s->conn, ANALYTICS_SCHEMA_VERSION, msg, sizeof(msg))) {
    case PG_SCHEMA_OK:
        return PGSINK_OK;
    case PG_SCHEMA_AHEAD:
        log_warn("pg.schema_ahead", LOG_STR("reason", msg));
        return PGSINK_OK;
    case PG_SCHEMA_ERROR:
        pgsink_set_error(s, "schema check: %s", msg);
        return PGSINK_DOWN;
    default:
        pgsink_set_error(s, "%s", msg);
        return PGSINK_REFUSED;
    }
}

/* A statement stuck behind a lock (or a hung server) fails after
 * PGSINK_STATEMENT_TIMEOUT_S (57014, retried like an outage) instead of
 * holding the consumer forever. */
static int pgsink_session(struct pgsink *s)
{
    char sql[64];
    int rc = pgsink_cmd(s, "SET TIME ZONE 'UTC'", "set time zone");

    snprintf(sql, sizeof(sql), "SET statement_timeout = '%ds'", PGSINK_STATEMENT_TIMEOUT_S);
    return rc == PGSINK_OK ? pgsink_cmd(s, sql, "set statement timeout") : rc;
}

int pgsink_connect(struct pgsink *s, int timeout_s)
{
    if (pgsink_connected(s)) {
        return PGSINK_OK;
    }
    pgsink_disconnect(s);
    s->sqlstate[0] = '\0';
    s->conn = pg_connect(s->dsn, timeout_s, s->app_name, s->err, sizeof(s->err));
    if (s->conn == NULL) {
        return PGSINK_DOWN;
    }
    int rc = pgsink_schema(s);
    if (rc == PGSINK_OK) {
        rc = pgsink_session(s);
    }
    if (rc == PGSINK_OK && s->prepare != NULL) {
        rc = s->prepare(s, s->prepare_arg);
    }
    if (rc != PGSINK_OK) {
        pgsink_disconnect(s);
    }
    return rc;
}

/* ---- transactions ---- */

int pgsink_begin(struct pgsink *s)
{
    int rc = pgsink_cmd(s, "BEGIN", "begin");

    s->in_tx = rc == PGSINK_OK;
    return rc;
}

int pgsink_commit(struct pgsink *s)
{
    s->in_tx = false;
    return pgsink_cmd(s, "COMMIT", "commit");
}

void pgsink_rollback(struct pgsink *s)
{
    if (!s->in_tx || s->conn == NULL) {
        return;
    }
    s->in_tx = false;
    PGresult *res = PQexec(s->conn, "ROLLBACK");
    if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK) {
        pgsink_disconnect(s);
    }
    PQclear(res);
}

/* ---- the offsets table ---- */

void pgsink_set_cluster(struct pgsink *s, const char *cluster_id)
{
    snprintf(s->cluster, sizeof(s->cluster), "%s", cluster_id != NULL ? cluster_id : "");
}

/* The cluster id as a parameter: NULL (keep the row's) when not known. */
static const char *pgsink_cluster_param(const struct pgsink *s)
{
    return s->cluster[0] != '\0' ? s->cluster : NULL;
}

/* Runs sql, a query of the offsets table taking $1 the topic and $2 the
 * partitions parts[0..n) (an int array), into *res. */
static int pgsink_offsets_query(struct pgsink *s, const char *sql, const char *topic,
                                const int32_t *parts, size_t n, const char *what, PGresult **res)
{
    char *arr = pgsink_int32_array(parts, n);

    *res = NULL;
    if (arr == NULL) {
        pgsink_set_error(s, "out of memory");
        return PGSINK_REFUSED;
    }
    const char *params[] = {topic, arr};
    int rc = pgsink_query(s, sql, 2, params, PGRES_TUPLES_OK, what, res);
    free(arr);
    return rc;
}

int pgsink_offsets_read(struct pgsink *s, const char *topic, const int32_t *parts, size_t n,
                        int64_t *next, int64_t *stream, char (*cluster)[PGSINK_CLUSTER_MAX])
{
    char sql[PGSINK_SQL_MAX];
    PGresult *res = NULL;

    snprintf(sql, sizeof(sql),
             "SELECT kafka_partition, next_offset, stream_ms, coalesce(cluster_id, '')"
             " FROM %s WHERE topic = $1 AND kafka_partition = ANY($2::int[])",
             s->table);
    int rc = pgsink_offsets_query(s, sql, topic, parts, n, "read offsets", &res);
    if (rc != PGSINK_OK) {
        return rc;
    }
    for (size_t i = 0; i < n; i++) {
        next[i] = -1;
        stream[i] = 0;
        cluster[i][0] = '\0';
    }
    for (int r = 0; r < PQntuples(res); r++) {
        long long p = pgsink_ll(res, r, 0);
        for (size_t i = 0; i < n; i++) {
            if (parts[i] == p) {
                next[i] = pgsink_ll(res, r, 1);
                stream[i] = pgsink_ll(res, r, 2);
                snprintf(cluster[i], PGSINK_CLUSTER_MAX, "%s", PQgetvalue(res, r, 3));
            }
        }
    }
    PQclear(res);
    return PGSINK_OK;
}

int pgsink_offsets_reset(struct pgsink *s, const char *topic, int32_t part, int64_t from,
                         int64_t to)
{
    char sql[PGSINK_SQL_MAX], p[16], f[32], t[32];
    PGresult *res = NULL;

    snprintf(p, sizeof(p), "%d", (int)part);
    snprintf(f, sizeof(f), "%lld", (long long)from);
    snprintf(t, sizeof(t), "%lld", (long long)to);
    snprintf(sql, sizeof(sql),
             "UPDATE %s SET next_offset = $4::bigint, cluster_id = coalesce($5, cluster_id),"
             " updated_at = now() WHERE topic = $1 AND kafka_partition = $2::int"
             " AND next_offset = $3::bigint",
             s->table);
    const char *params[] = {topic, p, f, t, pgsink_cluster_param(s)};
    int rc = pgsink_query(s, sql, 5, params, PGRES_COMMAND_OK, "reset offsets", &res);
    if (rc == PGSINK_OK && strcmp(PQcmdTuples(res), "1") != 0) {
        pgsink_set_error(s,
                         "partition %d: the database is no longer at offset %lld: another"
                         " replica moved it",
                         (int)part, (long long)from);
        rc = PGSINK_FENCED;
    }
    PQclear(res);
    return rc;
}

int pgsink_offsets_fence(struct pgsink *s, const char *topic, const int32_t *parts,
                         const int64_t *expect, size_t n)
{
    char sql[PGSINK_SQL_MAX];
    PGresult *res = NULL;

    snprintf(sql, sizeof(sql),
             "SELECT kafka_partition, next_offset FROM %s WHERE topic = $1"
             " AND kafka_partition = ANY($2::int[]) ORDER BY 1 FOR UPDATE",
             s->table);
    int rc = pgsink_offsets_query(s, sql, topic, parts, n, "lock offsets", &res);
    for (size_t i = 0; rc == PGSINK_OK && i < n; i++) {
        long long at = -1; /* no row */
        for (int r = 0; r < PQntuples(res); r++) {
            if (pgsink_ll(res, r, 0) == parts[i]) {
                at = pgsink_ll(res, r, 1);
            }
        }
        if (at != expect[i]) {
            pgsink_set_error(s,
                             "partition %d: the database is at offset %lld, this replica at"
                             " %lld: another replica took it",
                             (int)parts[i], at, (long long)expect[i]);
            rc = PGSINK_FENCED;
        }
    }
    PQclear(res);
    return rc;
}

int pgsink_offsets_set(struct pgsink *s, const char *topic, const int32_t *parts,
                       const int64_t *next, const int64_t *stream, size_t n)
{
    char sql[PGSINK_SQL_MAX], *a = pgsink_int32_array(parts, n);
    char *b = pgsink_int64_array(next, n), *c = pgsink_int64_array(stream, n);
    int rc = PGSINK_REFUSED;

    if (a == NULL || b == NULL || c == NULL) {
        pgsink_set_error(s, "out of memory");
        goto out;
    }
    snprintf(sql, sizeof(sql),
             "INSERT INTO %s AS o (topic, kafka_partition, next_offset, stream_ms, cluster_id)"
             " SELECT $1, p, n, s, $5 FROM unnest($2::int[], $3::bigint[], $4::bigint[])"
             " AS x(p, n, s) ON CONFLICT (topic, kafka_partition) DO UPDATE SET"
             " next_offset = EXCLUDED.next_offset,"
             " stream_ms = GREATEST(o.stream_ms, EXCLUDED.stream_ms),"
             " cluster_id = coalesce(EXCLUDED.cluster_id, o.cluster_id), updated_at = now()",
             s->table);
    const char *params[] = {topic, a, b, c, pgsink_cluster_param(s)};
    rc = pgsink_exec(s, sql, 5, params, "write offsets");
out:
    free(a);
    free(b);
    free(c);
    return rc;
}
