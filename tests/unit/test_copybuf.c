/*
 * Unit tests for COPY text rows (common/src/copybuf.c) and the capped
 * growable buffer under them (common/src/bytebuf.c): fields and rows, the
 * escapes, NULL, numbers and times, undoing rows, the cap, a caller's
 * array, handing the text over.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "analytics/bytebuf.h"
#include "analytics/copybuf.h"

#include <stdlib.h>
#include <string.h>

static void test_fields_and_rows(void **state)
{
    struct copybuf b;

    (void)state;
    copybuf_init(&b);
    assert_null(copybuf_data(&b));
    assert_int_equal(copybuf_len(&b), 0);
    copybuf_text(&b, "a", false);
    copybuf_int(&b, -42);
    copybuf_bool(&b, true);
    copybuf_bool(&b, false);
    copybuf_null(&b);
    copybuf_end_row(&b);
    copybuf_double(&b, 0.5);
    copybuf_raw(&b, "{1,2}", 5);
    copybuf_end_row(&b);
    assert_string_equal(copybuf_data(&b), "a\t-42\tt\tf\t\\N\n0.5\t{1,2}\n");
    assert_int_equal(copybuf_len(&b), strlen(copybuf_data(&b)));
    assert_false(copybuf_failed(&b));
    copybuf_fini(&b);
    assert_null(copybuf_data(&b));
    copybuf_fini(&b); /* twice is fine */
}

static void test_text_escapes_and_null(void **state)
{
    struct copybuf b;

    (void)state;
    copybuf_init(&b);
    copybuf_text(&b, "back\\slash\ttab\nnl\rcr", false);
    copybuf_text(&b, "", false);
    copybuf_text(&b, "", true);
    copybuf_text(&b, NULL, false);
    copybuf_end_row(&b);
    assert_string_equal(copybuf_data(&b), "back\\\\slash\\ttab\\nnl\\rcr\t\t\\N\t\\N\n");
    /* Pieces of one field: escaped each, one tab before the field only. */
    copybuf_reset(&b);
    copybuf_null(&b);
    copybuf_field(&b);
    copybuf_escaped(&b, "x\t", 2);
    copybuf_escaped(&b, "y", 1);
    copybuf_end_row(&b);
    assert_string_equal(copybuf_data(&b), "\\N\tx\\ty\n");
    copybuf_fini(&b);
}

static void test_timestamps(void **state)
{
    struct copybuf b;

    (void)state;
    copybuf_init(&b);
    copybuf_ts_ms(&b, 1764064800123LL); /* 2025-11-25 10:00:00.123 UTC */
    copybuf_ts_ms(&b, 0);
    copybuf_ts_ms(&b, -1); /* a millisecond before the epoch */
    copybuf_end_row(&b);
    assert_string_equal(copybuf_data(&b), "2025-11-25 10:00:00.123+00\t1970-01-01 00:00:00.000+00\t"
                                          "1969-12-31 23:59:59.999+00\n");
    copybuf_fini(&b);
}

static void test_truncate_undoes_rows(void **state)
{
    struct copybuf b;
    size_t mark;

    (void)state;
    copybuf_init(&b);
    copybuf_text(&b, "kept", false);
    copybuf_end_row(&b);
    mark = copybuf_len(&b);
    copybuf_text(&b, "undone", false);
    copybuf_fail(&b);
    assert_true(copybuf_failed(&b));
    copybuf_truncate(&b, mark);
    assert_false(copybuf_failed(&b));
    copybuf_text(&b, "next", false); /* no tab: the undone row left no field open */
    copybuf_end_row(&b);
    assert_string_equal(copybuf_data(&b), "kept\nnext\n");
    copybuf_reset(&b);
    assert_string_equal(copybuf_data(&b), "");
    copybuf_fini(&b);
}

static void test_grows_and_keeps_memory(void **state)
{
    struct copybuf b;
    size_t cap;

    (void)state;
    copybuf_init(&b);
    for (int i = 0; i < 10000; i++) {
        copybuf_int(&b, i % 10);
        copybuf_end_row(&b);
    }
    assert_false(copybuf_failed(&b));
    assert_int_equal(copybuf_len(&b), 20000);
    assert_memory_equal(copybuf_data(&b) + 19998, "9\n", 3);
    cap = b.buf.cap;
    copybuf_reset(&b);
    assert_int_equal(b.buf.cap, cap);
    copybuf_fini(&b);
}

static void test_bytebuf_cap(void **state)
{
    struct bytebuf b;

    (void)state;
    bytebuf_init(&b, 8);
    bytebuf_addstr(&b, "12345678");
    assert_false(bytebuf_failed(&b));
    assert_string_equal(b.data, "12345678");
    bytebuf_addstr(&b, "9"); /* past the cap: failed, and it sticks */
    assert_true(bytebuf_failed(&b));
    bytebuf_addstr(&b, "");
    assert_true(bytebuf_failed(&b));
    assert_string_equal(b.data, "12345678");
    assert_null(bytebuf_take(&b)); /* a failed text is not handed out */
    assert_null(b.data);
    bytebuf_printf(&b, "%d-%s", 7, "x");
    assert_false(bytebuf_failed(&b));
    bytebuf_truncate(&b, 1);
    assert_string_equal(b.data, "7");
    bytebuf_fini(&b);
}

static void test_bytebuf_take(void **state)
{
    struct bytebuf b;
    char *s;

    (void)state;
    bytebuf_init(&b, 1024);
    s = bytebuf_take(&b); /* nothing written: "" all the same */
    assert_non_null(s);
    assert_string_equal(s, "");
    free(s);
    bytebuf_printf(&b, "%s %05.1f", "pi", 3.14159);
    s = bytebuf_take(&b);
    assert_string_equal(s, "pi 003.1");
    free(s);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    bytebuf_fini(&b);
}

static void test_bytebuf_fixed(void **state)
{
    struct bytebuf b;
    char mem[6] = "junk";

    (void)state;
    bytebuf_init_fixed(&b, mem, sizeof(mem));
    assert_string_equal(mem, "");
    bytebuf_add(&b, "abc", 3);
    bytebuf_addstr(&b, "de");
    assert_false(bytebuf_failed(&b));
    assert_string_equal(mem, "abcde");
    bytebuf_addstr(&b, "f"); /* the array is full: failed, nothing moved */
    assert_true(bytebuf_failed(&b));
    assert_ptr_equal(b.data, mem);
    assert_string_equal(mem, "abcde");
    bytebuf_reset(&b);
    bytebuf_printf(&b, "%d", 12345);
    assert_string_equal(mem, "12345");
    bytebuf_printf(&b, "%d", 6);
    assert_true(bytebuf_failed(&b));
    bytebuf_fini(&b); /* frees nothing of the caller's */
    assert_string_equal(mem, "12345");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fields_and_rows),
        cmocka_unit_test(test_text_escapes_and_null),
        cmocka_unit_test(test_timestamps),
        cmocka_unit_test(test_truncate_undoes_rows),
        cmocka_unit_test(test_grows_and_keeps_memory),
        cmocka_unit_test(test_bytebuf_cap),
        cmocka_unit_test(test_bytebuf_take),
        cmocka_unit_test(test_bytebuf_fixed),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
