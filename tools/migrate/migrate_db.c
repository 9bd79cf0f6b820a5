/* analytics-migrate's database steps. */
#include "migrate_db.h"

#include "analytics/errbuf.h"
#include "analytics/lifecycle.h"
#include "analytics/log.h"
#include "analytics/pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int migrate_db_lock(PGconn *conn, char *err, size_t errlen)
{
    bool got = false;

    if (pg_query_bool(conn, "SELECT pg_try_advisory_lock(" MIGRATE_LOCK_KEY ")", &got, err,
                      errlen) != 0) {
        return -1;
    }
    if (got) {
        return 0;
    }
    log_info("migrate.lock_wait", LOG_STR("reason", "another analytics-migrate holds the lock"));
    return pg_exec(conn, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")", err, errlen);
}

int migrate_db_unlock(PGconn *conn, char *err, size_t errlen)
{
    return pg_exec(conn, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")", err, errlen);
}

int migrate_db_create_table(PGconn *conn, char *err, size_t errlen)
{
    return pg_exec(conn,
                   "CREATE TABLE IF NOT EXISTS " PG_SCHEMA_TABLE " ("
                   " version integer PRIMARY KEY CHECK (version > 0),"
                   " name text NOT NULL,"
                   " checksum text NOT NULL,"
                   " applied_at timestamptz NOT NULL DEFAULT now(),"
                   " execution_ms integer NOT NULL DEFAULT 0)",
                   err, errlen);
}

/* Appends the rows of a schema_migrations query to applied. */
static int migrate_db_rows(const PGresult *res, struct migration_list *applied, char *err,
                           size_t errlen)
{
    for (int i = 0; i < PQntuples(res); i++) {
        int version = (int)strtol(PQgetvalue(res, i, 0), NULL, 10);
        if (migration_list_add(applied, version, PQgetvalue(res, i, 1), PQgetvalue(res, i, 2),
                               PQgetvalue(res, i, 3)) == NULL) {
            errbuf_printf(err, errlen, "out of memory");
            return -1;
        }
    }
    return 0;
}

int migrate_db_read(PGconn *conn, struct migration_list *applied, char *err, size_t errlen)
{
    bool present = false;

    if (pg_table_exists(conn, PG_SCHEMA_TABLE, &present, err, errlen) != 0) {
        return -1;
    }
    if (!present) {
        return 0;
    }
    PGresult *res = PQexec(conn, "SELECT version, name, checksum, to_char(applied_at AT TIME ZONE "
                                 "'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM " PG_SCHEMA_TABLE
                                 " ORDER BY version");
    int rc = -1;
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQnfields(res) != 4) {
        pg_result_error(res, conn, err, errlen);
    } else {
        rc = migrate_db_rows(res, applied, err, errlen) == 0 ? 1 : -1;
    }
    PQclear(res);
    return rc;
}

/* Runs m's SQL inside the open transaction. On failure writes the error
 * with the file's line into err. */
static int migrate_db_run_sql(PGconn *conn, const struct migration *m, char *err, size_t errlen)
{
    char why[1024], at[32] = "";
    PGresult *res = PQexec(conn, m->sql);
    ExecStatusType st = PQresultStatus(res);

    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY) {
        PQclear(res);
        return 0;
    }
    pg_result_error(res, conn, why, sizeof(why));
    const char *pos = res != NULL ? PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION) : NULL;
    if (pos != NULL) {
        snprintf(at, sizeof(at), " at line %d",
                 migration_line_at(m->sql, m->sql_len, strtol(pos, NULL, 10)));
    }
    errbuf_printf(err, errlen, "migration %s failed%s: %s", m->file, at, why);
    PQclear(res);
    return -1;
}

/* Inserts m's record into schema_migrations. */
static int migrate_db_record(PGconn *conn, const struct migration *m, long long ms, char *err,
                             size_t errlen)
{
    char version[16], took[24], why[512];
    const char *params[] = {version, m->file, m->checksum, took};

    snprintf(version, sizeof(version), "%d", m->version);
    snprintf(took, sizeof(took), "%lld", ms);
    PGresult *res =
        PQexecParams(conn,
                     "INSERT INTO " PG_SCHEMA_TABLE " (version, name, checksum, execution_ms)"
                     " VALUES ($1::integer, $2, $3, $4::integer)",
                     4, NULL, params, NULL, NULL, 0);
    int rc = 0;
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        pg_result_error(res, conn, why, sizeof(why));
        errbuf_printf(err, errlen, "recording migration %s failed: %s", m->file, why);
        rc = -1;
    }
    PQclear(res);
    return rc;
}

int migrate_db_apply(PGconn *conn, const struct migration *m, long long *ms, char *err,
                     size_t errlen)
{
    long long t0 = lifecycle_mono_ms();

    if (pg_exec(conn, "BEGIN", err, errlen) != 0) {
        return -1;
    }
    if (migrate_db_run_sql(conn, m, err, errlen) != 0) {
        goto out_rollback;
    }
    if (PQtransactionStatus(conn) != PQTRANS_INTRANS) {
        errbuf_printf(err, errlen,
                      "migration %s ended its transaction itself (COMMIT or ROLLBACK): what ran "
                      "before that is committed but not recorded; remove the statement, undo "
                      "by hand, and run again",
                      m->file);
        goto out_rollback;
    }
    *ms = lifecycle_mono_ms() - t0;
    if (migrate_db_record(conn, m, *ms, err, errlen) != 0 ||
        pg_exec(conn, "COMMIT", err, errlen) != 0) {
        goto out_rollback;
    }
    return 0;
out_rollback:
    if (PQtransactionStatus(conn) != PQTRANS_IDLE) {
        char ignored[256];
        (void)pg_exec(conn, "ROLLBACK", ignored, sizeof(ignored));
    }
    return -1;
}

int migrate_db_ensure_partitions(PGconn *conn, int days_ahead, char *err, size_t errlen)
{
    bool present = false;
    char days[16];
    const char *params[] = {days};

    if (pg_query_bool(conn,
                      "SELECT to_regprocedure('analytics_ensure_partitions(date,integer)') IS NOT "
                      "NULL",
                      &present, err, errlen) != 0) {
        return -1;
    }
    if (!present) {
        return 0;
    }
    snprintf(days, sizeof(days), "%d", days_ahead + 1);
    PGresult *res = PQexecParams(conn,
                                 "SELECT analytics_ensure_partitions("
                                 "(now() AT TIME ZONE 'UTC')::date - 1, $1::integer)",
                                 1, NULL, params, NULL, NULL, 0);
    int created = -1;
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        pg_result_error(res, conn, err, errlen);
    } else {
        created = PQntuples(res);
    }
    PQclear(res);
    return created;
}
