#ifndef ANALYTICS_PG_H
#define ANALYTICS_PG_H

/*
 * PostgreSQL through libpq: connect from a DSN with a connect timeout, turn
 * libpq's errors into one-line reasons, and check at start that the
 * database's schema is the one this build was made for.
 *
 *   char err[512];
 *   PGconn *conn = pg_connect(cfg->pg_dsn, 5, "analytics-scorer", err, sizeof(err));
 *   if (conn == NULL) { log_error("pg.connect_failed", LOG_STR("error", err)); exit 1; }
 *   switch (pg_schema_check(conn, ANALYTICS_SCHEMA_VERSION, err, sizeof(err))) {
 *   case PG_SCHEMA_OK: break;
 *   case PG_SCHEMA_AHEAD: log_warn("pg.schema_ahead", LOG_STR("reason", err)); break;
 *   default: log_error("pg.schema_mismatch", LOG_STR("error", err)); exit 1;
 *   }
 *
 * Daemons refuse to start when the schema is behind or missing (the message
 * says to run analytics-migrate). A schema ahead of the build is a warning
 * for a daemon, so that a rolling upgrade (migrate first, then replace the
 * daemons) keeps the old ones running: migrations add, they do not break
 * what the previous release reads. analytics-migrate itself refuses it.
 *
 * ANALYTICS_SCHEMA_VERSION, the version this build needs, is a compile
 * definition made by CMake from deploy/sql/NNN_name.sql (the highest NNN;
 * the files run 1..N without gaps).
 *
 * libpq rules kept here and expected of callers: PQclear every result; copy
 * PQerrorMessage before the next call on the connection; a PGconn belongs to
 * one thread.
 */

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

#define PG_DSN_DEFAULT "postgresql://analytics@127.0.0.1:5432/analytics"
#define PG_CONNECT_TIMEOUT_DEFAULT_S 5
#define PG_CONNECT_TIMEOUT_MAX_S 600

/* The table analytics-migrate records applied migrations in. */
#define PG_SCHEMA_TABLE "schema_migrations"

enum pg_schema_status {
    PG_SCHEMA_ERROR = -1,  /* could not ask (reason in the message) */
    PG_SCHEMA_OK = 0,      /* the database is at the expected version */
    PG_SCHEMA_BEHIND = 1,  /* migrations are pending: run analytics-migrate */
    PG_SCHEMA_AHEAD = 2,   /* a newer release migrated it */
    PG_SCHEMA_MISSING = 3, /* no schema_migrations table: never migrated */
};

/* Checks the syntax of dsn (a postgresql:// URI or key=value pairs) without
 * connecting. Returns 0, or -1 with the reason in err. */
int pg_dsn_check(const char *dsn, char *err, size_t errlen);

/* Connects to dsn, waiting at most timeout_s seconds (1..600; libpq waits at
 * least 2) unless the DSN sets its own connect_timeout. app_name is the
 * application_name unless the DSN sets one. Notices from the server are
 * logged: WARNING as "pg.notice" at warn, the rest at debug. Returns a new
 * connection (caller frees with PQfinish), or NULL with a one-line reason in
 * err (the DSN itself is never copied there: it may hold a password). */
PGconn *pg_connect(const char *dsn, int timeout_s, const char *app_name, char *err, size_t errlen);

/* Writes the error of res on one line into err: "ERROR: message: detail
 * (hint) [SQLSTATE]". When res is NULL (libpq returns NULL when it ran out
 * of memory or lost the connection), writes conn's error message instead. */
void pg_result_error(const PGresult *res, const PGconn *conn, char *err, size_t errlen);

/* Runs sql, which takes no parameters, and discards its result. Returns 0
 * when it succeeded (a command or a query), or -1 with the reason in err. */
int pg_exec(PGconn *conn, const char *sql, char *err, size_t errlen);

/* Runs copy_sql, a "COPY ... FROM STDIN" (text, CSV or binary, as it says),
 * and sends it data[0..len) (whole lines of that format; no end marker
 * needed), in pieces when large. Returns 0 when the server took every row,
 * or -1 with the reason in err and, when the server gave one, its SQLSTATE
 * in sqlstate ("23505" for unique_violation, the duplicate the caller may
 * want to handle), "" otherwise (connection lost, out of memory, copy_sql
 * not a COPY FROM STDIN: it is run, and what a COPY TO sends is dropped).
 * sqlstate may be NULL; it is "" after a success. Inside a
 * transaction, a failure aborts it, as any failed statement does. The
 * connection is ready for the next command either way, unless it was lost. */
int pg_copy_rows(PGconn *conn, const char *copy_sql, const char *data, size_t len, char sqlstate[6],
                 char *err, size_t errlen);

/* Runs sql, a query answering one boolean (one row, one column), into *out.
 * Returns 0, or -1 with the reason in err. */
int pg_query_bool(PGconn *conn, const char *sql, bool *out, char *err, size_t errlen);

/* Sets *out to whether the table name (resolved through search_path, as the
 * queries that use it will) exists. Returns 0, or -1 with the reason in err. */
int pg_table_exists(PGconn *conn, const char *name, bool *out, char *err, size_t errlen);

/* Reads the schema version: the highest version in schema_migrations, 0
 * when the table is empty. Returns 1 and sets *version when the table is
 * there, 0 when it is missing (*version = 0), or -1 with the reason in err. */
int pg_schema_version(PGconn *conn, int *version, char *err, size_t errlen);

/* The decision of pg_schema_check, without a database: compares db_version
 * (meaningful only when table_present) with expected and writes a message
 * an operator can act on into msg (always set, "" never). Pure. */
enum pg_schema_status pg_schema_compare(bool table_present, int db_version, int expected, char *msg,
                                        size_t msglen);

/* Reads the schema version and compares it with expected, the version the
 * caller's code needs. Returns the status with its message in msg, or
 * PG_SCHEMA_ERROR when the database could not be asked (reason in msg). */
enum pg_schema_status pg_schema_check(PGconn *conn, int expected, char *msg, size_t msglen);

/* Copies in to out (outlen bytes, NUL-terminated, truncated when full) with
 * every run of white space made one space, a line break after a line that
 * does not end in '.', ';' or ':' made "; ", and the ends trimmed: libpq's
 * messages span lines, log fields should not. Pure. */
void pg_one_line(const char *in, char *out, size_t outlen);

#endif
