/*
 * Unit tests for the CORS allow-list (common/src/cors.c): exact origins, case and a
 * trailing slash, ports and schemes, "*", an empty list, the "null" origin
 * and the specs it refuses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "analytics/cors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct cors *cors_ok(const char *list)
{
    char err[256] = "";
    struct cors *c = cors_new(list, err, sizeof(err));

    if (c == NULL) {
        fail_msg("cors_new(\"%s\"): %s", list, err);
    }
    return c;
}

static void test_cors_exact(void **state)
{
    (void)state;
    struct cors *c = cors_ok("https://a.example, http://b.example:8080");

    assert_int_equal(cors_check(c, "https://a.example"), CORS_ALLOWED);
    assert_int_equal(cors_check(c, "http://b.example:8080"), CORS_ALLOWED);
    assert_int_equal(cors_check(c, "https://c.example"), CORS_DENIED);
    assert_int_equal(cors_check(c, "https://a.example.evil"), CORS_DENIED);
    assert_int_equal(cors_check(c, "https://sub.a.example"), CORS_DENIED);
    assert_int_equal(cors_check(c, "https://a.exampl"), CORS_DENIED);
    assert_int_equal(cors_check(c, NULL), CORS_NO_ORIGIN);
    assert_int_equal(cors_check(c, ""), CORS_NO_ORIGIN);
    cors_free(c);
}

static void test_cors_case_and_slash(void **state)
{
    (void)state;
    struct cors *c = cors_ok("HTTPS://A.Example/,https://[::1]:8443");

    assert_int_equal(cors_check(c, "https://a.example"), CORS_ALLOWED);
    assert_int_equal(cors_check(c, "hTTps://a.EXAMPLE"), CORS_ALLOWED);
    assert_int_equal(cors_check(c, "https://a.example/"), CORS_ALLOWED);
    /* Only one trailing slash is ignored, and no path. */
    assert_int_equal(cors_check(c, "https://a.example//"), CORS_DENIED);
    assert_int_equal(cors_check(c, "https://a.example/x"), CORS_DENIED);
    assert_int_equal(cors_check(c, "https://[::1]:8443"), CORS_ALLOWED);
    assert_int_equal(cors_check(c, "/"), CORS_DENIED);
    cors_free(c);
}

static void test_cors_port_and_scheme(void **state)
{
    (void)state;
    struct cors *c = cors_ok("https://a.example,http://b.example:3000");

    assert_int_equal(cors_check(c, "https://a.example:8443"), CORS_DENIED);
    assert_int_equal(cors_check(c, "https://a.example:443"), CORS_DENIED);
    assert_int_equal(cors_check(c, "http://b.example:3001"), CORS_DENIED);
    assert_int_equal(cors_check(c, "http://b.example"), CORS_DENIED);
    assert_int_equal(cors_check(c, "http://a.example"), CORS_DENIED);
    assert_int_equal(cors_check(c, "https://b.example:3000"), CORS_DENIED);
    cors_free(c);
}

static void test_cors_any(void **state)
{
    (void)state;
    struct cors *c = cors_ok(" * ");

    assert_int_equal(cors_check(c, "https://anything.example"), CORS_ALLOWED);
    assert_int_equal(cors_check(c, "null"), CORS_ALLOWED);
    assert_int_equal(cors_check(c, NULL), CORS_NO_ORIGIN);
    cors_free(c);

    c = cors_ok("https://a.example,*");
    assert_int_equal(cors_check(c, "http://other.example"), CORS_ALLOWED);
    cors_free(c);
}

static void test_cors_empty_list(void **state)
{
    (void)state;
    const char *lists[] = {NULL, "", "   "};

    for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
        struct cors *c = cors_ok(lists[i]);
        assert_int_equal(cors_check(c, "https://a.example"), CORS_DENIED);
        assert_int_equal(cors_check(c, "null"), CORS_DENIED);
        assert_int_equal(cors_check(c, NULL), CORS_NO_ORIGIN);
        cors_free(c);
    }
}

static void test_cors_null_origin(void **state)
{
    (void)state;
    struct cors *c = cors_ok("https://a.example");

    /* Sandboxed iframes and file:// pages send the literal "null". */
    assert_int_equal(cors_check(c, "null"), CORS_DENIED);
    assert_int_equal(cors_check(c, "NULL"), CORS_DENIED);
    cors_free(c);

    c = cors_ok("https://a.example,null");
    assert_int_equal(cors_check(c, "null"), CORS_ALLOWED);
    cors_free(c);
}

static void test_cors_bad_spec(void **state)
{
    (void)state;
    const char *bad[] = {
        "a.example",
        "ftp://a.example",
        "https://",
        "https://a.example/path",
        "https://a.example:0",
        "https://a.example:65536",
        "https://a.example:80x",
        "https://a.example:",
        "https://user@a.example",
        "https://a.example?q",
        "https://a b.example",
        "https://[::1",
        "https://[zz]",
        "https://a.example,,https://b.example",
        "https://a.example,",
        "https://a.example,https//b.example",
        "https://a.example//",
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char err[256] = "";
        struct cors *c = cors_new(bad[i], err, sizeof(err));
        if (c != NULL) {
            cors_free(c);
            fail_msg("cors_new accepted \"%s\"", bad[i]);
        }
        assert_true(strlen(err) > 0);
    }
    /* A NULL error buffer is allowed. */
    assert_null(cors_new("nope", NULL, 0));
    cors_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cors_exact),           cmocka_unit_test(test_cors_case_and_slash),
        cmocka_unit_test(test_cors_port_and_scheme), cmocka_unit_test(test_cors_any),
        cmocka_unit_test(test_cors_empty_list),      cmocka_unit_test(test_cors_null_origin),
        cmocka_unit_test(test_cors_bad_spec),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
