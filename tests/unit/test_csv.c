/*
 * Unit tests for analytics-train's CSV reader (tools/train/csv.c): CRLF and
 * LF, a missing final newline, quoted fields with commas and doubled
 * quotes, blank lines skipped with the file's line numbers kept, and the
 * errors: a row of the wrong width, an unclosed quote, no header, a file
 * over the cap.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "csv.h"
#include "fixture.h"

#include <stdio.h>
#include <string.h>

/* Reads text as a CSV file. Returns csv_read's result. */
static int read_text(const char *text, struct csv *c, char *err, size_t errlen)
{
    struct fixture_tmp t;
    FILE *f;
    int rc;

    assert_int_equal(fixture_tmp_open(&t, "test_csv", "data.csv"), 0);
    f = fopen(t.file, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    rc = csv_read(c, t.file, 4096, err, errlen);
    fixture_tmp_close(&t);
    return rc;
}

static void test_reads_rows(void **state)
{
    struct csv c;
    char err[256] = "";
    (void)state;

    assert_int_equal(
        read_text("a,b,c\r\n1,2,3\r\n\r\n4,\"x,\"\"y\"\"\",\r\n7,8,9", &c, err, sizeof(err)), 0);
    assert_int_equal(c.cols, 3);
    assert_int_equal(c.rows, 3);
    assert_int_equal(csv_column(&c, "b"), 1);
    assert_int_equal(csv_column(&c, "z"), -1);
    assert_string_equal(csv_cell(&c, 0, 2), "3");
    assert_string_equal(csv_cell(&c, 1, 1), "x,\"y\"");
    assert_string_equal(csv_cell(&c, 1, 2), "");
    assert_string_equal(csv_cell(&c, 2, 0), "7");
    assert_int_equal(csv_line(&c, 1), 4);
    assert_int_equal(csv_line(&c, 2), 5);
    csv_free(&c);
}

static void test_errors(void **state)
{
    const struct {
        const char *text, *want;
    } cases[] = {
        {"a,b\n1,2\n3\n", "line 3: has 1 fields, the header 2"},
        {"a,b\n1,\"2\n", "line 2: a quote is not closed"},
        {"", "no header row"},
        {"\na,b\n", "no header row"},
    };
    char big[5000];
    struct csv c;
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char err[256] = "";
        assert_int_equal(read_text(cases[i].text, &c, err, sizeof(err)), -1);
        if (strstr(err, cases[i].want) == NULL) {
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err, cases[i].want);
        }
        assert_null(c.buf);
    }
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    char err[256] = "";
    assert_int_equal(read_text(big, &c, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "larger than 4096 bytes"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reads_rows),
        cmocka_unit_test(test_errors),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
