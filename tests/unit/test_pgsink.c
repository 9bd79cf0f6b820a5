/*
 * Unit tests for what an exactly-once consumer's PostgreSQL sink decides
 * without a server (common/src/pgsink.c): the classes of a failure, the
 * array literals its statements take, the offsets table's name, and the
 * errors a caller sets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "analytics/pgsink.h"

#include <stdlib.h>
#include <string.h>

static void test_classify(void **state)
{
    (void)state;
    /* No SQLSTATE (no result at all) or no connection: retried. */
    assert_int_equal(pgsink_classify(NULL, true), PGSINK_FAULT_TRANSIENT);
    assert_int_equal(pgsink_classify("", true), PGSINK_FAULT_TRANSIENT);
    assert_int_equal(pgsink_classify("42P01", false), PGSINK_FAULT_TRANSIENT);
    assert_int_equal(pgsink_classify("23505", false), PGSINK_FAULT_TRANSIENT);
    /* The connection, the server going away, resources, conflicts. */
    assert_int_equal(pgsink_classify("08006", true), PGSINK_FAULT_TRANSIENT);
    assert_int_equal(pgsink_classify("57P01", true), PGSINK_FAULT_TRANSIENT);
    assert_int_equal(pgsink_classify("57014", true), PGSINK_FAULT_TRANSIENT); /* timeout */
    assert_int_equal(pgsink_classify("53100", true), PGSINK_FAULT_TRANSIENT);
    assert_int_equal(pgsink_classify("40001", true), PGSINK_FAULT_TRANSIENT);
    assert_int_equal(pgsink_classify("40P01", true), PGSINK_FAULT_TRANSIENT);
    /* The rows. */
    assert_int_equal(pgsink_classify("22P02", true), PGSINK_FAULT_DATA);
    assert_int_equal(pgsink_classify("22001", true), PGSINK_FAULT_DATA);
    assert_int_equal(pgsink_classify("23505", true), PGSINK_FAULT_DATA);
    assert_int_equal(pgsink_classify("23514", true), PGSINK_FAULT_DATA);
    /* The statement: a schema that does not match, syntax, permissions. */
    assert_int_equal(pgsink_classify("42P01", true), PGSINK_FAULT_STATEMENT);
    assert_int_equal(pgsink_classify("42601", true), PGSINK_FAULT_STATEMENT);
    assert_int_equal(pgsink_classify("42501", true), PGSINK_FAULT_STATEMENT);
    assert_int_equal(pgsink_classify("XX000", true), PGSINK_FAULT_STATEMENT);
}

static void test_int_arrays(void **state)
{
    (void)state;
    const int32_t parts[] = {0, 7, 2147483647, -2};
    const int64_t offs[] = {-1, 0, INT64_MAX, INT64_MIN};
    char *a = pgsink_int32_array(parts, 4);
    char *b = pgsink_int64_array(offs, 4);
    char *e = pgsink_int64_array(offs, 0);

    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(e);
    assert_string_equal(a, "{0,7,2147483647,-2}");
    assert_string_equal(b, "{-1,0,9223372036854775807,-9223372036854775808}");
    assert_string_equal(e, "{}");
    free(a);
    free(b);
    free(e);
}

static void test_text_array(void **state)
{
    (void)state;
    struct pgsink *s = pgsink_new("postgresql://127.0.0.1:1/x", "test", "journey_offsets");
    const char *strs[] = {"a", "with \"quotes\"", "back\\slash", ""};

    assert_non_null(s);
    assert_string_equal(pgsink_text_array(s, strs, 4),
                        "{\"a\",\"with \\\"quotes\\\"\",\"back\\\\slash\",\"\"}");
    assert_string_equal(pgsink_text_array(s, strs, 1), "{\"a\"}");
    assert_string_equal(pgsink_text_array(s, strs, 0), "{}");
    pgsink_free(s);
}

/* The offsets table goes into the statements as it is: only plain names. */
static void test_table_names(void **state)
{
    (void)state;
    const char *good[] = {"journey_offsets", "scorer_offsets", "_x", "t2"};
    const char *bad[] = {"",
                         "Journey",
                         "2t",
                         "a-b",
                         "a b",
                         "a;drop table x",
                         "public.t",
                         "\"quoted\"",
                         "a_name_longer_than_sixty_three_characters_which_postgres_would_cut"};

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        struct pgsink *s = pgsink_new("dbname=x", "test", good[i]);
        assert_non_null(s);
        assert_false(pgsink_connected(s));
        pgsink_free(s);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_null(pgsink_new("dbname=x", "test", bad[i]));
    }
    assert_null(pgsink_new("dbname=x", "test", NULL));
    pgsink_free(NULL);
}

/* An error the caller sets is not the data's: it clears the SQLSTATE. */
static void test_set_error(void **state)
{
    (void)state;
    struct pgsink *s = pgsink_new("dbname=x", "test", "journey_offsets");

    assert_non_null(s);
    assert_string_equal(pgsink_error(s), "");
    assert_string_equal(pgsink_sqlstate(s), "");
    pgsink_set_error(s, "partition %d: %s", 3, "out of memory");
    assert_string_equal(pgsink_error(s), "partition 3: out of memory");
    assert_false(pgsink_refused_by_data(s));
    /* Rolling back with no transaction open does nothing, and keeps it. */
    pgsink_rollback(s);
    assert_string_equal(pgsink_error(s), "partition 3: out of memory");
    pgsink_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classify),   cmocka_unit_test(test_int_arrays),
        cmocka_unit_test(test_text_array), cmocka_unit_test(test_table_names),
        cmocka_unit_test(test_set_error),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
