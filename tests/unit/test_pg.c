/* Unit tests for the PostgreSQL helpers' pure parts (common/src/pg.c):
 * one-line messages, DSN syntax, the schema decision, and connect failures
 * that need no server. The real server is in tests/integration/test_migrate.sh. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "analytics/log.h"
#include "analytics/pg.h"

#include <string.h>

/* ---- pg_one_line ---- */

static void test_one_line_collapses_and_trims(void **state)
{
    char out[128];

    (void)state;
    pg_one_line("  ERROR:  syntax   error\t at \"x\"  ", out, sizeof(out));
    assert_string_equal(out, "ERROR: syntax error at \"x\"");
}

static void test_one_line_joins_lines(void **state)
{
    char out[256];

    (void)state;
    pg_one_line("connection to server failed: Connection refused\n\tIs the server running?\n", out,
                sizeof(out));
    assert_string_equal(out, "connection to server failed: Connection refused; Is the server "
                             "running?");
    /* A line already punctuated keeps its own punctuation. */
    pg_one_line("first.\nsecond:\nthird\n", out, sizeof(out));
    assert_string_equal(out, "first. second: third");
}

static void test_one_line_truncates(void **state)
{
    char out[8];

    (void)state;
    pg_one_line("abcdefghijkl", out, sizeof(out));
    assert_string_equal(out, "abcdefg");
    /* Never a trailing separator when the next word does not fit. */
    pg_one_line("abcdef\nxyz", out, sizeof(out));
    assert_string_equal(out, "abcdef");
    pg_one_line(NULL, out, sizeof(out));
    assert_string_equal(out, "");
    pg_one_line("x", out, 1);
    assert_string_equal(out, "");
}

/* ---- pg_dsn_check ---- */

static void test_dsn_check(void **state)
{
    char err[256];

    (void)state;
    assert_int_equal(pg_dsn_check(PG_DSN_DEFAULT, err, sizeof(err)), 0);
    assert_int_equal(pg_dsn_check("host=127.0.0.1 port=5432 dbname=analytics", err, sizeof(err)),
                     0);
    assert_int_equal(pg_dsn_check("postgresql://[bad", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "bad DSN"));
    assert_null(strchr(err, '\n'));
    assert_int_equal(pg_dsn_check("host=x nosuchkey=1", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "nosuchkey"));
    assert_int_equal(pg_dsn_check("", err, sizeof(err)), -1);
    assert_int_equal(pg_dsn_check(NULL, err, sizeof(err)), -1);
}

/* ---- pg_schema_compare ---- */

static void test_schema_ok(void **state)
{
    char msg[512];

    (void)state;
    assert_int_equal(pg_schema_compare(true, 3, 3, msg, sizeof(msg)), PG_SCHEMA_OK);
    assert_non_null(strstr(msg, "at 3"));
}

static void test_schema_behind(void **state)
{
    char msg[512];

    (void)state;
    assert_int_equal(pg_schema_compare(true, 2, 3, msg, sizeof(msg)), PG_SCHEMA_BEHIND);
    assert_string_equal(msg, "database schema is at 2, this build needs 3: run analytics-migrate");
    /* An empty schema_migrations is version 0, still behind, not missing. */
    assert_int_equal(pg_schema_compare(true, 0, 3, msg, sizeof(msg)), PG_SCHEMA_BEHIND);
}

static void test_schema_ahead(void **state)
{
    char msg[512];

    (void)state;
    assert_int_equal(pg_schema_compare(true, 5, 3, msg, sizeof(msg)), PG_SCHEMA_AHEAD);
    assert_non_null(strstr(msg, "at 5, ahead"));
    assert_non_null(strstr(msg, "up to 3"));
}

static void test_schema_missing(void **state)
{
    char msg[512];

    (void)state;
    /* The version is meaningless without the table. */
    assert_int_equal(pg_schema_compare(false, 7, 3, msg, sizeof(msg)), PG_SCHEMA_MISSING);
    assert_non_null(strstr(msg, "no schema_migrations table"));
    assert_non_null(strstr(msg, "run analytics-migrate"));
}

/* ---- pg_connect without a server ---- */

static void test_connect_refused(void **state)
{
    char err[512];

    (void)state;
    /* Port 1 on loopback: nothing listens there, so the refusal is immediate. */
    PGconn *c = pg_connect("postgresql://analytics:secret@127.0.0.1:1/analytics", 2, "test", err,
                           sizeof(err));
    assert_null(c);
    assert_non_null(strstr(err, "cannot connect to PostgreSQL"));
    assert_non_null(strstr(err, "127.0.0.1"));
    assert_null(strstr(err, "secret"));
    assert_null(strchr(err, '\n'));
}

static void test_connect_bad_arguments(void **state)
{
    char err[512];

    (void)state;
    assert_null(pg_connect(PG_DSN_DEFAULT, 0, "test", err, sizeof(err)));
    assert_non_null(strstr(err, "timeout"));
    assert_null(pg_connect(PG_DSN_DEFAULT, PG_CONNECT_TIMEOUT_MAX_S + 1, "test", err, sizeof(err)));
    assert_null(pg_connect("postgresql://[bad", 2, "test", err, sizeof(err)));
    assert_non_null(strstr(err, "bad DSN"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_line_collapses_and_trims),
        cmocka_unit_test(test_one_line_joins_lines),
        cmocka_unit_test(test_one_line_truncates),
        cmocka_unit_test(test_dsn_check),
        cmocka_unit_test(test_schema_ok),
        cmocka_unit_test(test_schema_behind),
        cmocka_unit_test(test_schema_ahead),
        cmocka_unit_test(test_schema_missing),
        cmocka_unit_test(test_connect_refused),
        cmocka_unit_test(test_connect_bad_arguments),
    };

    log_init("test_pg", LOG_LEVEL_ERROR);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
