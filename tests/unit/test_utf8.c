/*
 * Unit tests for the one UTF-8 validator (common/src/utf8.c): what is
 * well-formed, where the first bad byte is, a sequence the end cuts short.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "analytics/utf8.h"

#include <string.h>

static void expect_utf8_ok(const char *s, size_t len)
{
    size_t bad = 999;

    if (utf8_check(s, len, &bad) != UTF8_VALID) {
        fail_msg("rejected at %zu", bad);
    }
}

static void expect_utf8_status(const char *s, size_t len, size_t at, enum utf8_status want)
{
    size_t bad = 999;

    assert_int_equal(utf8_check(s, len, &bad), want);
    assert_int_equal(bad, at);
    assert_false(utf8_valid(s, len));
}

static void expect_utf8_bad(const char *s, size_t len, size_t at)
{
    expect_utf8_status(s, len, at, UTF8_INVALID);
}

/* Well-formed but for the last sequence, which the end cuts short. */
static void expect_utf8_cut(const char *s, size_t len, size_t at)
{
    expect_utf8_status(s, len, at, UTF8_TRUNCATED);
}

static void test_utf8(void **state)
{
    char long_ascii[300];

    (void)state;
    expect_utf8_ok("", 0);
    expect_utf8_ok("plain ascii", 11);
    expect_utf8_ok("\xc3\xa9", 2);         /* U+00E9 */
    expect_utf8_ok("\xc2\x80", 2);         /* U+0080, smallest 2-byte */
    expect_utf8_ok("\xe0\xa0\x80", 3);     /* U+0800, smallest 3-byte */
    expect_utf8_ok("\xed\x9f\xbf", 3);     /* U+D7FF, below the surrogates */
    expect_utf8_ok("\xee\x80\x80", 3);     /* U+E000, above them */
    expect_utf8_ok("\xef\xbf\xbf", 3);     /* U+FFFF */
    expect_utf8_ok("\xf0\x90\x80\x80", 4); /* U+10000 */
    expect_utf8_ok("\xf0\x9f\x98\x80", 4); /* emoji */
    expect_utf8_ok("\xf4\x8f\xbf\xbf", 4); /* U+10FFFF */
    expect_utf8_ok("a\0b", 3);             /* NUL is well-formed UTF-8 */

    expect_utf8_bad("\xc0\x80", 2, 0);         /* overlong NUL */
    expect_utf8_bad("ab\xc1\xbf", 4, 2);       /* overlong */
    expect_utf8_bad("\xe0\x80\x80", 3, 0);     /* overlong 3-byte */
    expect_utf8_bad("\xe0\x9f\xbf", 3, 0);     /* overlong U+07FF */
    expect_utf8_bad("\xf0\x80\x80\x80", 4, 0); /* overlong 4-byte */
    expect_utf8_bad("\xf0\x8f\xbf\xbf", 4, 0); /* overlong U+FFFF */
    expect_utf8_bad("x\xed\xa0\x80", 4, 1);    /* U+D800 */
    expect_utf8_bad("\xed\xbf\xbf", 3, 0);     /* U+DFFF */
    expect_utf8_bad("\xf4\x90\x80\x80", 4, 0); /* U+110000 */
    expect_utf8_bad("\xf5\x80\x80\x80", 4, 0); /* F5 never appears */
    expect_utf8_bad("\xff", 1, 0);
    expect_utf8_bad("\x80", 1, 0);         /* lone continuation */
    expect_utf8_cut("a\xc3", 2, 1);        /* truncated at the end */
    expect_utf8_cut("\xe2\x82", 2, 0);     /* truncated at the end */
    expect_utf8_cut("\xf0\x9f\x98", 3, 0); /* truncated at the end */
    expect_utf8_bad("\xe2\x82\x41", 3, 0); /* truncated mid-text */
    expect_utf8_cut("\xc3\xa9\xc3", 3, 2);

    /* past the 8-byte ASCII fast path */
    memset(long_ascii, 'a', sizeof(long_ascii));
    expect_utf8_ok(long_ascii, sizeof(long_ascii));
    long_ascii[203] = '\xe2';
    expect_utf8_bad(long_ascii, sizeof(long_ascii), 203);
    long_ascii[204] = '\x82';
    long_ascii[205] = '\xac';
    expect_utf8_ok(long_ascii, sizeof(long_ascii));
    long_ascii[299] = '\xc3';
    expect_utf8_cut(long_ascii, sizeof(long_ascii), 299);
    assert_int_equal(utf8_check("\xff", 1, NULL), UTF8_INVALID);
}

/* A cut sequence is TRUNCATED only when what is there could still become
 * one: an overlong, surrogate or too-large start is INVALID at once. */
static void test_utf8_truncated_prefix(void **state)
{
    (void)state;
    expect_utf8_cut("\xe0\xa0", 2, 0);
    expect_utf8_bad("\xe0\x80", 2, 0);     /* overlong, whatever follows */
    expect_utf8_bad("\xed\xa0", 2, 0);     /* a surrogate */
    expect_utf8_bad("\xf4\x90\x80", 3, 0); /* above U+10FFFF */
    expect_utf8_bad("\xf0\x9f\x41", 3, 0); /* not a continuation */
}

static void test_utf8_sequence(void **state)
{
    (void)state;
    assert_int_equal(utf8_sequence("", 0), 0);
    assert_int_equal(utf8_sequence("a", 1), 1);
    assert_int_equal(utf8_sequence("\xc3\xa9x", 3), 2);
    assert_int_equal(utf8_sequence("\xe2\x82\xac", 3), 3);
    assert_int_equal(utf8_sequence("\xf0\x9f\x98\x80", 4), 4);
    assert_int_equal(utf8_sequence("\xf0\x9f\x98", 3), 0); /* cut short */
    assert_int_equal(utf8_sequence("\xc0\xaf", 2), 0);     /* overlong */
    assert_int_equal(utf8_sequence("\x80", 1), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_utf8_truncated_prefix),
        cmocka_unit_test(test_utf8_sequence),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
