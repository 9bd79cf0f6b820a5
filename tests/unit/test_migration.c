/* Unit tests for analytics-migrate's logic without a database
 * (tools/migrate): file names, ordering, checksums, error lines, the plan
 * (pending / ahead / changed / out of order), reading a directory, the
 * command line and the status table. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "migrate.h"
#include "migrate_opts.h"
#include "migration.h"
#include "migration_dir.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SUM_A "1111111111111111111111111111111111111111111111111111111111111111"
#define SUM_B "2222222222222222222222222222222222222222222222222222222222222222"
#define SUM_C "3333333333333333333333333333333333333333333333333333333333333333"

/* ---- migration_parse_name ---- */

static void test_parse_name_ok(void **state)
{
    int v = 0;

    (void)state;
    assert_int_equal(migration_parse_name("001_analytics_events.sql", &v), MIGRATION_NAME_OK);
    assert_int_equal(v, 1);
    assert_int_equal(migration_parse_name("12_add-index.sql", &v), MIGRATION_NAME_OK);
    assert_int_equal(v, 12);
    assert_int_equal(migration_parse_name("999999_Max.sql", &v), MIGRATION_NAME_OK);
    assert_int_equal(v, 999999);
}

static void test_parse_name_ignored(void **state)
{
    static const char *const names[] = {
        "README.md", ".001_hidden.sql", "001_a.sql~", "001_a.sql.bak", "sql", ".", "..", ""};
    int v = -1;

    (void)state;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        assert_int_equal(migration_parse_name(names[i], &v), MIGRATION_NAME_IGNORED);
    }
    assert_int_equal(migration_parse_name(NULL, &v), MIGRATION_NAME_IGNORED);
    assert_int_equal(v, -1);
}

static void test_parse_name_bad(void **state)
{
    static const char *const names[] = {"001.sql",       "001_.sql",    "a_001.sql", "000_zero.sql",
                                        "1234567_x.sql", "001_a b.sql", "_x.sql",    "001-a.sql",
                                        "001_a.b.sql",   "x.sql"};
    int v = -1;

    (void)state;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        assert_int_equal(migration_parse_name(names[i], &v), MIGRATION_NAME_BAD);
    }
    assert_int_equal(v, -1);
}

/* ---- lists ---- */

/* Adds (version, name, checksum) to l. */
static void add(struct migration_list *l, int v, const char *file, const char *sum)
{
    assert_non_null(migration_list_add(l, v, file, sum, NULL));
}

static void test_list_sort_find_top(void **state)
{
    struct migration_list l = {0};

    (void)state;
    assert_int_equal(migration_list_top(&l), 0);
    for (int v = 40; v >= 1; v--) { /* past the first growth of the array */
        char name[32];
        snprintf(name, sizeof(name), "%03d_m.sql", v);
        add(&l, v, name, SUM_A);
    }
    migration_list_sort(&l);
    for (size_t i = 0; i < l.n; i++) {
        assert_int_equal(l.items[i].version, (int)i + 1);
    }
    assert_string_equal(migration_list_find(&l, 7)->file, "007_m.sql");
    assert_null(migration_list_find(&l, 41));
    assert_int_equal(migration_list_top(&l), 40);
    assert_int_equal(migration_list_validate(&l, NULL, 0), 0);
    migration_list_fini(&l);
    assert_int_equal(l.n, 0);
    assert_null(l.items);
    migration_list_fini(&l); /* twice is fine */
}

static void test_list_validate_gap_and_repeat(void **state)
{
    struct migration_list l = {0};
    char err[256];

    (void)state;
    add(&l, 1, "001_a.sql", SUM_A);
    add(&l, 3, "003_c.sql", SUM_C);
    assert_int_equal(migration_list_validate(&l, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "003_c.sql: expected migration 2"));
    migration_list_fini(&l);

    add(&l, 1, "001_a.sql", SUM_A);
    add(&l, 1, "1_again.sql", SUM_B);
    assert_int_equal(migration_list_validate(&l, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "same version 1"));
    migration_list_fini(&l);

    add(&l, 2, "002_b.sql", SUM_B);
    assert_int_equal(migration_list_validate(&l, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "expected migration 1"));
    migration_list_fini(&l);
}

/* ---- checksum and lines ---- */

static void test_checksum(void **state)
{
    char sum[MIGRATION_CHECKSUM_HEX + 1];

    (void)state;
    assert_int_equal(migration_checksum("abc", 3, sum), 0);
    assert_string_equal(sum, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_int_equal(migration_checksum("", 0, sum), 0);
    assert_string_equal(sum, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void test_line_at(void **state)
{
    const char *sql = "a\nb\nc";
    const char *utf8 = "\xc3\xa9\nx"; /* "é\nx": é is one character of two bytes */

    (void)state;
    assert_int_equal(migration_line_at(sql, 5, 1), 1);
    assert_int_equal(migration_line_at(sql, 5, 2), 1); /* the newline ends line 1 */
    assert_int_equal(migration_line_at(sql, 5, 3), 2);
    assert_int_equal(migration_line_at(sql, 5, 5), 3);
    assert_int_equal(migration_line_at(sql, 5, 100), 3);
    assert_int_equal(migration_line_at(sql, 5, 0), 1);
    assert_int_equal(migration_line_at(utf8, 4, 3), 2);
    assert_int_equal(migration_line_at("", 0, 1), 1);
}

/* ---- the plan ---- */

/* Files 001..003 with checksums A, B, C. */
static void three_files(struct migration_list *files)
{
    add(files, 1, "001_a.sql", SUM_A);
    add(files, 2, "002_b.sql", SUM_B);
    add(files, 3, "003_c.sql", SUM_C);
}

static void test_plan_empty_database(void **state)
{
    struct migration_list files = {0}, applied = {0};
    struct migration_plan plan;

    (void)state;
    three_files(&files);
    migration_plan_make(&files, &applied, "sql", &plan);
    assert_int_equal(plan.verdict, MIGRATION_WORK);
    assert_int_equal(plan.pending, 3);
    assert_int_equal(plan.db_version, 0);
    assert_int_equal(plan.code_version, 3);
    assert_string_equal(plan.problem, "");
    migration_list_fini(&files);
}

static void test_plan_partly_and_fully_applied(void **state)
{
    struct migration_list files = {0}, applied = {0};
    struct migration_plan plan;

    (void)state;
    three_files(&files);
    add(&applied, 1, "001_a.sql", SUM_A);
    migration_plan_make(&files, &applied, "sql", &plan);
    assert_int_equal(plan.verdict, MIGRATION_WORK);
    assert_int_equal(plan.applied, 1);
    assert_int_equal(plan.pending, 2);
    assert_int_equal(migration_file_state(&files.items[0], &applied), MIGRATION_APPLIED);
    assert_int_equal(migration_file_state(&files.items[1], &applied), MIGRATION_PENDING);

    add(&applied, 2, "002_b.sql", SUM_B);
    add(&applied, 3, "003_c.sql", SUM_C);
    migration_plan_make(&files, &applied, "sql", &plan);
    assert_int_equal(plan.verdict, MIGRATION_UP_TO_DATE);
    assert_int_equal(plan.applied, 3);
    assert_int_equal(plan.db_version, 3);
    migration_list_fini(&files);
    migration_list_fini(&applied);
}

static void test_plan_database_ahead(void **state)
{
    struct migration_list files = {0}, applied = {0};
    struct migration_plan plan;

    (void)state;
    three_files(&files);
    add(&applied, 1, "001_a.sql", SUM_A);
    add(&applied, 2, "002_b.sql", SUM_B);
    add(&applied, 3, "003_c.sql", SUM_C);
    add(&applied, 4, "004_future.sql", SUM_A);
    migration_plan_make(&files, &applied, "/x/sql", &plan);
    assert_int_equal(plan.verdict, MIGRATION_REFUSE);
    assert_int_equal(plan.unknown, 1);
    assert_int_equal(plan.db_version, 4);
    assert_non_null(strstr(plan.problem, "database schema is at 4, ahead of the migrations in "
                                         "/x/sql (up to 3)"));
    migration_list_fini(&files);
    migration_list_fini(&applied);
}

static void test_plan_changed_file(void **state)
{
    struct migration_list files = {0}, applied = {0};
    struct migration_plan plan;

    (void)state;
    three_files(&files);
    add(&applied, 1, "001_a.sql", SUM_A);
    add(&applied, 2, "002_b.sql", SUM_C); /* applied from other text */
    migration_plan_make(&files, &applied, "sql", &plan);
    assert_int_equal(plan.verdict, MIGRATION_REFUSE);
    assert_int_equal(plan.changed, 1);
    assert_int_equal(migration_file_state(&files.items[1], &applied), MIGRATION_CHANGED);
    assert_non_null(strstr(plan.problem, "002_b.sql was applied with checksum 333333333333"));
    assert_non_null(strstr(plan.problem, "now has 222222222222"));
    assert_non_null(strstr(plan.problem, "must not be edited"));
    migration_list_fini(&files);
    migration_list_fini(&applied);
}

static void test_plan_renamed_file(void **state)
{
    struct migration_list files = {0}, applied = {0};
    struct migration_plan plan;

    (void)state;
    three_files(&files);
    add(&applied, 1, "001_other.sql", SUM_A);
    migration_plan_make(&files, &applied, "sql", &plan);
    assert_int_equal(plan.verdict, MIGRATION_REFUSE);
    assert_non_null(strstr(plan.problem, "applied as 001_other.sql but sql has 001_a.sql"));
    migration_list_fini(&files);
    migration_list_fini(&applied);
}

static void test_plan_out_of_order(void **state)
{
    struct migration_list files = {0}, applied = {0};
    struct migration_plan plan;

    (void)state;
    three_files(&files);
    add(&applied, 1, "001_a.sql", SUM_A);
    add(&applied, 3, "003_c.sql", SUM_C);
    migration_plan_make(&files, &applied, "sql", &plan);
    assert_int_equal(plan.verdict, MIGRATION_REFUSE);
    assert_non_null(strstr(plan.problem, "002_b.sql is not applied but 3 is"));
    migration_list_fini(&files);
    migration_list_fini(&applied);
}

static void test_plan_ahead_wins_over_changed(void **state)
{
    struct migration_list files = {0}, applied = {0};
    struct migration_plan plan;

    (void)state;
    three_files(&files);
    add(&applied, 1, "001_a.sql", SUM_B);
    add(&applied, 9, "009_z.sql", SUM_A);
    migration_plan_make(&files, &applied, "sql", &plan);
    assert_int_equal(plan.verdict, MIGRATION_REFUSE);
    assert_int_equal(plan.changed, 1);
    assert_int_equal(plan.unknown, 1);
    assert_non_null(strstr(plan.problem, "ahead"));
    migration_list_fini(&files);
    migration_list_fini(&applied);
}

/* ---- reading a directory ---- */

struct tmpdir {
    char path[64];
};

/* Writes len bytes of text to dir/name. */
static void put_file(const char *dir, const char *name, const char *text, size_t len)
{
    char path[256];

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static int tmpdir_setup(void **state)
{
    struct tmpdir *t = calloc(1, sizeof(*t));

    if (t == NULL) {
        return -1;
    }
    snprintf(t->path, sizeof(t->path), "/tmp/test_migration.XXXXXX");
    if (mkdtemp(t->path) == NULL) {
        free(t);
        return -1;
    }
    *state = t;
    return 0;
}

static int tmpdir_teardown(void **state)
{
    struct tmpdir *t = *state;
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->path);
    int rc = system(cmd);
    free(t);
    return rc == 0 ? 0 : -1;
}

static void test_dir_load(void **state)
{
    struct tmpdir *t = *state;
    struct migration_list files = {0};
    char err[512], sum[MIGRATION_CHECKSUM_HEX + 1];

    put_file(t->path, "002_second.sql", "SELECT 2;\n", 10);
    put_file(t->path, "001_first.sql", "SELECT 1;\n", 10);
    put_file(t->path, "README.md", "not a migration", 15);
    assert_int_equal(migration_dir_load(t->path, &files, err, sizeof(err)), 0);
    assert_int_equal(files.n, 2);
    assert_string_equal(files.items[0].file, "001_first.sql");
    assert_string_equal(files.items[0].sql, "SELECT 1;\n");
    assert_int_equal(files.items[0].sql_len, 10);
    assert_int_equal(migration_checksum("SELECT 1;\n", 10, sum), 0);
    assert_string_equal(files.items[0].checksum, sum);
    assert_int_equal(files.items[1].version, 2);
    assert_null(files.items[1].applied_at);
    migration_list_fini(&files);
}

static void test_dir_load_errors(void **state)
{
    struct tmpdir *t = *state;
    struct migration_list files = {0};
    char err[512], path[128];

    assert_int_equal(migration_dir_load(t->path, &files, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "holds no NNN_name.sql file"));

    put_file(t->path, "001_a.sql", "SELECT 1;", 9);
    put_file(t->path, "003_c.sql", "SELECT 3;", 9);
    assert_int_equal(migration_dir_load(t->path, &files, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "expected migration 2"));
    migration_list_fini(&files);

    put_file(t->path, "002_b.sql", "SELECT\0 2;", 10);
    assert_int_equal(migration_dir_load(t->path, &files, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "NUL byte"));
    migration_list_fini(&files);

    put_file(t->path, "002_b.sql", "SELECT 2;", 9);
    put_file(t->path, "004 bad name.sql", "SELECT 4;", 9);
    assert_int_equal(migration_dir_load(t->path, &files, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "004 bad name.sql: a migration is named NNN_name.sql"));
    migration_list_fini(&files);

    snprintf(path, sizeof(path), "%s/nonexistent", t->path);
    assert_int_equal(migration_dir_load(path, &files, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "No such file or directory"));
}

static void test_dir_load_subdirectory_named_like_a_migration(void **state)
{
    struct tmpdir *t = *state;
    struct migration_list files = {0};
    char err[512], path[128];

    snprintf(path, sizeof(path), "%s/001_dir.sql", t->path);
    assert_int_equal(mkdir(path, 0755), 0);
    assert_int_equal(migration_dir_load(t->path, &files, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "not a regular file"));
    migration_list_fini(&files);
}

/* ---- command line ---- */

/* Parses the arguments after the program name. */
static int parse(struct migrate_opts *o, char *err, size_t errlen, int n, ...)
{
    char *argv[8] = {"analytics-migrate"};
    va_list ap;

    va_start(ap, n);
    for (int i = 0; i < n; i++) {
        argv[i + 1] = va_arg(ap, char *);
    }
    va_end(ap);
    return migrate_opts_parse(n + 1, argv, o, err, errlen);
}

static void test_opts(void **state)
{
    struct migrate_opts o;
    char err[256];

    (void)state;
    assert_int_equal(parse(&o, err, sizeof(err), 0), 0);
    assert_int_equal(o.mode, MIGRATE_MODE_APPLY);
    assert_null(o.dir);
    assert_int_equal(parse(&o, err, sizeof(err), 3, "--status", "--dir", "/a"), 0);
    assert_int_equal(o.mode, MIGRATE_MODE_STATUS);
    assert_string_equal(o.dir, "/a");
    assert_int_equal(parse(&o, err, sizeof(err), 2, "--dir=/b", "--check"), 0);
    assert_int_equal(o.mode, MIGRATE_MODE_CHECK);
    assert_string_equal(o.dir, "/b");
    assert_int_equal(parse(&o, err, sizeof(err), 2, "--check", "--check"), 0);
    assert_int_equal(parse(&o, err, sizeof(err), 2, "-h", "--version"), 0);
    assert_true(o.help && o.version);
}

static void test_opts_errors(void **state)
{
    struct migrate_opts o;
    char err[256];

    (void)state;
    assert_int_equal(parse(&o, err, sizeof(err), 2, "--status", "--check"), -1);
    assert_non_null(strstr(err, "exclude each other"));
    assert_int_equal(parse(&o, err, sizeof(err), 1, "--dir"), -1);
    assert_string_equal(err, "--dir needs a directory");
    assert_int_equal(parse(&o, err, sizeof(err), 1, "--dir="), -1);
    assert_int_equal(parse(&o, err, sizeof(err), 2, "--dir", ""), -1);
    assert_int_equal(parse(&o, err, sizeof(err), 1, "--apply"), -1);
    assert_string_equal(err, "unknown argument '--apply'");
}

/* ---- the status table ---- */

static void test_print_status(void **state)
{
    struct migration_list files = {0}, applied = {0};
    struct migration_plan plan;
    char *text = NULL;
    size_t len = 0;

    (void)state;
    three_files(&files);
    assert_non_null(migration_list_add(&applied, 1, "001_a.sql", SUM_A, "2024-05-01T10:00:00Z"));
    assert_non_null(migration_list_add(&applied, 7, "007_new.sql", SUM_A, "2024-05-02T10:00:00Z"));
    migration_plan_make(&files, &applied, "sql", &plan);
    FILE *out = open_memstream(&text, &len);
    assert_non_null(out);
    migrate_print_status(&files, &applied, &plan, "sql", out);
    assert_int_equal(fclose(out), 0);
    assert_non_null(strstr(text, "database schema at 7"));
    assert_non_null(strstr(text, "1  applied  2024-05-01T10:00:00Z  001_a.sql\n"));
    assert_non_null(strstr(text, "2  pending  -                     002_b.sql\n"));
    assert_non_null(strstr(text, "7  unknown  2024-05-02T10:00:00Z  007_new.sql\n"));
    assert_non_null(strstr(text, "refused: database schema is at 7, ahead"));
    free(text);
    migration_list_fini(&files);
    migration_list_fini(&applied);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_name_ok),
        cmocka_unit_test(test_parse_name_ignored),
        cmocka_unit_test(test_parse_name_bad),
        cmocka_unit_test(test_list_sort_find_top),
        cmocka_unit_test(test_list_validate_gap_and_repeat),
        cmocka_unit_test(test_checksum),
        cmocka_unit_test(test_line_at),
        cmocka_unit_test(test_plan_empty_database),
        cmocka_unit_test(test_plan_partly_and_fully_applied),
        cmocka_unit_test(test_plan_database_ahead),
        cmocka_unit_test(test_plan_changed_file),
        cmocka_unit_test(test_plan_renamed_file),
        cmocka_unit_test(test_plan_out_of_order),
        cmocka_unit_test(test_plan_ahead_wins_over_changed),
        cmocka_unit_test_setup_teardown(test_dir_load, tmpdir_setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_dir_load_errors, tmpdir_setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_dir_load_subdirectory_named_like_a_migration,
                                        tmpdir_setup, tmpdir_teardown),
        cmocka_unit_test(test_opts),
        cmocka_unit_test(test_opts_errors),
        cmocka_unit_test(test_print_status),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
