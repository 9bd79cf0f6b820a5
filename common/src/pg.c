/*
 * PostgreSQL helpers over libpq: connect with a timeout, one-line errors, and
 * the schema version check every daemon makes at start.
 *
 * libpq rules kept here: every PGresult goes through PQclear; PQfinish runs
 * even after a failed connect; PQerrorMessage is copied before the next call.
 */
#include "analytics/pg.h"

#include "analytics/errbuf.h"
#include "analytics/log.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pg_one_line(const char *in, char *out, size_t outlen)
{
    size_t o = 0;
    bool space = false, newline = false;

    if (out == NULL || outlen == 0) {
        return;
    }
    for (; in != NULL && *in != '\0'; in++) {
        if (isspace((unsigned char)*in)) {
            space = o > 0;
            newline = newline || (space && *in == '\n');
            continue;
        }
        /* A line break between sentences becomes "; " unless punctuated. */
        bool semi = newline && strchr(".;:", out[o - 1]) == NULL;
        if (o + (space ? 1 : 0) + (semi ? 1 : 0) + 1 >= outlen) {
            break;
        }
        if (semi) {
            out[o++] = ';';
        }
        if (space) {
            out[o++] = ' ';
        }
        space = newline = false;
        out[o++] = *in;
    }
    out[o] = '\0';
}

int pg_dsn_check(const char *dsn, char *err, size_t errlen)
{
    char *why = NULL;
    char line[512];

    if (dsn == NULL || dsn[0] == '\0') {
        errbuf_printf(err, errlen, "empty DSN");
        return -1;
    }
    PQconninfoOption *opts = PQconninfoParse(dsn, &why);
    if (opts == NULL) {
        pg_one_line(why != NULL ? why : "out of memory", line, sizeof(line));
        errbuf_printf(err, errlen, "bad DSN: %s", line);
        PQfreemem(why);
        return -1;
    }
    PQconninfoFree(opts);
    return 0;
}

/* Logs a server notice: WARNING at warn, NOTICE and below at debug. */
static void pg_notice(void *arg, const PGresult *res)
{
    const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
    char msg[512];

    (void)arg;
    pg_one_line(PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY), msg, sizeof(msg));
    if (sev != NULL && strcmp(sev, "WARNING") == 0) {
        log_warn("pg.notice", LOG_STR("severity", sev), LOG_STR("message", msg));
    } else {
        log_debug("pg.notice", LOG_STR("severity", sev), LOG_STR("message", msg));
    }
}

PGconn *pg_connect(const char *dsn, int timeout_s, const char *app_name, char *err, size_t errlen)
{
    char timeout[16], line[512];

    if (timeout_s < 1 || timeout_s > PG_CONNECT_TIMEOUT_MAX_S) {
        errbuf_printf(err, errlen, "connect timeout %d s is out of range 1-%d", timeout_s,
                      PG_CONNECT_TIMEOUT_MAX_S);
        return NULL;
    }
    if (pg_dsn_check(dsn, err, errlen) != 0) {
        return NULL;
    }
    snprintf(timeout, sizeof(timeout), "%d", timeout_s);
    /* With expand_dbname, the DSN in "dbname" is expanded in place, so its
     * own settings override the defaults listed before it. */
    const char *const keys[] = {"connect_timeout", "fallback_application_name", "client_encoding",
                                "dbname", NULL};
    const char *const vals[] = {timeout, app_name != NULL ? app_name : "analytics", "UTF8", dsn,
                                NULL};
    PGconn *conn = PQconnectdbParams(keys, vals, 1);
    if (conn == NULL) {
        errbuf_printf(err, errlen, "cannot connect to PostgreSQL: out of memory");
        return NULL;
    }
    if (PQstatus(conn) != CONNECTION_OK) {
        pg_one_line(PQerrorMessage(conn), line, sizeof(line));
        errbuf_printf(err, errlen, "cannot connect to PostgreSQL: %s", line);
        PQfinish(conn);
        return NULL;
    }
    PQsetNoticeReceiver(conn, pg_notice, NULL);
    return conn;
}

void pg_result_error(const PGresult *res, const PGconn *conn, char *err, size_t errlen)
{
    char primary[512], detail[512], hint[256];

    if (res == NULL || PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) == NULL) {
        pg_one_line(res != NULL ? PQresultErrorMessage(res) : PQerrorMessage(conn), primary,
                    sizeof(primary));
        errbuf_printf(err, errlen, "%s", primary[0] != '\0' ? primary : "unknown libpq error");
        return;
    }
    const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    pg_one_line(PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY), primary, sizeof(primary));
    pg_one_line(PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL), detail, sizeof(detail));
    pg_one_line(PQresultErrorField(res, PG_DIAG_MESSAGE_HINT), hint, sizeof(hint));
    errbuf_printf(err, errlen, "%s: %s%s%s%s%s%s [%s]", sev != NULL ? sev : "ERROR", primary,
                  detail[0] ? ": " : "", detail, hint[0] ? " (" : "", hint, hint[0] ? ")" : "",
                  state != NULL ? state : "?????");
}

int pg_exec(PGconn *conn, const char *sql, char *err, size_t errlen)
{
    PGresult *res = PQexec(conn, sql);
    ExecStatusType st = PQresultStatus(res);
    int rc = 0;

    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        pg_result_error(res, conn, err, errlen);
        rc = -1;
    }
    PQclear(res);
    return rc;
}

/* The most bytes handed to PQputCopyData at once (it takes an int). */
#define PG_COPY_CHUNK (1 << 20)

/* Copies res's SQLSTATE into sqlstate unless that is NULL: "" without one. */
static void pg_sqlstate(const PGresult *res, char sqlstate[6])
{
    const char *s = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

    if (sqlstate != NULL) {
        snprintf(sqlstate, 6, "%s", s != NULL && strlen(s) == 5 ? s : "");
    }
}

/* Sends data[0..len) to a connection in COPY IN, then ends the copy (or
 * aborts it when sending failed). Returns 0, or -1 with the reason in err. */
static int pg_copy_send(PGconn *conn, const char *data, size_t len, char *err, size_t errlen)
{
    char line[512];

    while (len > 0) {
        int n = len > PG_COPY_CHUNK ? PG_COPY_CHUNK : (int)len;
        if (PQputCopyData(conn, data, n) != 1) {
            pg_one_line(PQerrorMessage(conn), line, sizeof(line));
            errbuf_printf(err, errlen, "cannot send COPY data: %s", line);
            PQputCopyEnd(conn, "the client could not send its rows");
            return -1;
        }
        data += n;
        len -= (size_t)n;
    }
    if (PQputCopyEnd(conn, NULL) != 1) {
        pg_one_line(PQerrorMessage(conn), line, sizeof(line));
        errbuf_printf(err, errlen, "cannot end COPY: %s", line);
        return -1;
    }
    return 0;
}

/* Reads the results left after a COPY up to the end of the command. The
 * first error goes into err and sqlstate. Returns 0, or -1 when one failed
 * (or the copy could not be ended: the connection is then still in it). */
static int pg_copy_finish(PGconn *conn, char sqlstate[6], char *err, size_t errlen)
{
    PGresult *res;
    int rc = 0;

    while ((res = PQgetResult(conn)) != NULL) {
        ExecStatusType st = PQresultStatus(res);
        if (st != PGRES_COMMAND_OK && rc == 0) {
            pg_result_error(res, conn, err, errlen);
            pg_sqlstate(res, sqlstate);
            rc = -1;
        }
        PQclear(res);
        if (st == PGRES_COPY_IN) {
            break; /* the end of the copy never reached libpq: more would loop */
        }
        if (st == PGRES_COPY_OUT) {
            char *row;
            while (PQgetCopyData(conn, &row, 0) > 0) {
                PQfreemem(row);
            }
        }
    }
    return rc;
}

int pg_copy_rows(PGconn *conn, const char *copy_sql, const char *data, size_t len, char sqlstate[6],
                 char *err, size_t errlen)
{
    char why[512] = "";
    PGresult *res = PQexec(conn, copy_sql);
    ExecStatusType st = PQresultStatus(res);

    pg_sqlstate(NULL, sqlstate);
    if (st != PGRES_COPY_IN) {
        if (st == PGRES_FATAL_ERROR || res == NULL) {
            pg_result_error(res, conn, err, errlen);
            pg_sqlstate(res, sqlstate);
        } else {
            errbuf_printf(err, errlen, "not a COPY FROM STDIN: %s", PQresStatus(st));
        }
        PQclear(res);
        if (st == PGRES_COPY_OUT) {
            pg_copy_finish(conn, NULL, NULL, 0);
        }
        return -1;
    }
    PQclear(res);
    int sent = pg_copy_send(conn, data, len, why, sizeof(why));
    int done = pg_copy_finish(conn, sqlstate, err, errlen);
    if (sent != 0) {
        errbuf_printf(err, errlen, "%s", why); /* the cause, not the server's echo of the abort */
        return -1;
    }
    return done;
}

/* Checks that res answered one row of one column. Returns 0, or -1 with the
 * reason in err (res is not cleared). */
static int pg_one_value(PGconn *conn, const PGresult *res, char *err, size_t errlen)
{
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        pg_result_error(res, conn, err, errlen);
        return -1;
    }
    if (PQntuples(res) != 1 || PQnfields(res) != 1 || PQgetisnull(res, 0, 0)) {
        errbuf_printf(err, errlen, "expected one value, got %d rows of %d columns", PQntuples(res),
                      PQnfields(res));
        return -1;
    }
    return 0;
}

/* Reads res's one boolean into *out and clears res (takes it). Returns 0,
 * or -1 with the reason in err. */
static int pg_take_bool(PGconn *conn, PGresult *res, bool *out, char *err, size_t errlen)
{
    int rc = pg_one_value(conn, res, err, errlen);

    if (rc == 0) {
        *out = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    }
    PQclear(res);
    return rc;
}

int pg_query_bool(PGconn *conn, const char *sql, bool *out, char *err, size_t errlen)
{
    return pg_take_bool(conn, PQexec(conn, sql), out, err, errlen);
}

int pg_table_exists(PGconn *conn, const char *name, bool *out, char *err, size_t errlen)
{
    const char *params[] = {name};

    return pg_take_bool(
        conn,
        PQexecParams(conn, "SELECT to_regclass($1) IS NOT NULL", 1, NULL, params, NULL, NULL, 0),
        out, err, errlen);
}

int pg_schema_version(PGconn *conn, int *version, char *err, size_t errlen)
{
    bool present = false;

    *version = 0;
    if (pg_table_exists(conn, PG_SCHEMA_TABLE, &present, err, errlen) != 0) {
        return -1;
    }
    if (!present) {
        return 0;
    }
    PGresult *res = PQexec(conn, "SELECT coalesce(max(version), 0) FROM " PG_SCHEMA_TABLE);
    int rc = pg_one_value(conn, res, err, errlen);
    if (rc == 0) {
        *version = (int)strtol(PQgetvalue(res, 0, 0), NULL, 10);
    }
    PQclear(res);
    return rc == 0 ? 1 : -1;
}

enum pg_schema_status pg_schema_compare(bool table_present, int db_version, int expected, char *msg,
                                        size_t msglen)
{
    if (!table_present) {
        errbuf_printf(msg, msglen,
                      "database has no " PG_SCHEMA_TABLE " table (never migrated), this build "
                      "needs schema %d: run analytics-migrate",
                      expected);
        return PG_SCHEMA_MISSING;
    }
    if (db_version < expected) {
        errbuf_printf(msg, msglen,
                      "database schema is at %d, this build needs %d: run analytics-migrate",
                      db_version, expected);
        return PG_SCHEMA_BEHIND;
    }
    if (db_version > expected) {
        errbuf_printf(msg, msglen,
                      "database schema is at %d, ahead of this build, which knows up to %d: a "
                      "newer release migrated it; use that release's binaries and migrations",
                      db_version, expected);
        return PG_SCHEMA_AHEAD;
    }
    errbuf_printf(msg, msglen, "database schema is at %d, as this build needs", db_version);
    return PG_SCHEMA_OK;
}

enum pg_schema_status pg_schema_check(PGconn *conn, int expected, char *msg, size_t msglen)
{
    char why[512];
    int version = 0;
    int present = pg_schema_version(conn, &version, why, sizeof(why));

    if (present < 0) {
        errbuf_printf(msg, msglen, "cannot read the schema version: %s", why);
        return PG_SCHEMA_ERROR;
    }
    return pg_schema_compare(present == 1, version, expected, msg, msglen);
}
