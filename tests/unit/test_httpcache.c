/* Unit tests for the static file servers' request headers
 * (common/src/httpcache.c): Accept-Encoding with q values, "*" and case;
 * If-None-Match lists, weak tags, "*" and malformed lists. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "analytics/httpcache.h"

enum { GZ = HTTP_CODING_GZIP, BR = HTTP_CODING_BR };

static void test_accept_codings(void **state)
{
    (void)state;
    assert_int_equal(http_accept_codings(NULL), 0);
    assert_int_equal(http_accept_codings(""), 0);
    assert_int_equal(http_accept_codings("gzip"), GZ);
    assert_int_equal(http_accept_codings("gzip, deflate, br, zstd"), GZ | BR);
    assert_int_equal(http_accept_codings("GZIP;q=0.5 , BR"), GZ | BR);
    assert_int_equal(http_accept_codings("br;q=1.0, GZIP;q=0.5"), GZ | BR);
    assert_int_equal(http_accept_codings("gzip ; q=0.001"), GZ);
    assert_int_equal(http_accept_codings("gzip;q=0, br"), BR);
    assert_int_equal(http_accept_codings("gzip;q=0.000"), 0);
    assert_int_equal(http_accept_codings("br;q=0.0"), 0);
    assert_int_equal(http_accept_codings("identity"), 0);
    assert_int_equal(http_accept_codings("x-gzip, brotli, x-gzip2"), 0);
    /* "*": any coding not named */
    assert_int_equal(http_accept_codings("*"), GZ | BR);
    assert_int_equal(http_accept_codings("deflate, *"), GZ | BR);
    assert_int_equal(http_accept_codings("gzip;q=0, *"), BR);
    assert_int_equal(http_accept_codings("*;q=0"), 0);
    assert_int_equal(http_accept_codings("br, *;q=0"), BR);
}

static void test_etag_match(void **state)
{
    const char *e = "\"a3fb-18fae2769b0fcd15\"";

    (void)state;
    assert_false(http_etag_match(NULL, e));
    assert_false(http_etag_match("", e));
    assert_true(http_etag_match("\"a3fb-18fae2769b0fcd15\"", e));
    assert_true(http_etag_match("*", e));
    assert_true(http_etag_match("W/\"a3fb-18fae2769b0fcd15\"", e)); /* weak comparison */
    assert_true(http_etag_match("W/\"1f\"", "W/\"1f\""));
    assert_true(http_etag_match("\"x\", \"a3fb-18fae2769b0fcd15\"", e));
    assert_true(http_etag_match(" \"x\" ,W/\"a3fb-18fae2769b0fcd15\"", e));
    assert_false(http_etag_match("\"a3fb\"", e));
    assert_false(http_etag_match("\"a3fb-18fae2769b0fcd15-gz\"", e));
    assert_false(http_etag_match("\"a3fb-18fae2769b0fcd15", e));         /* unterminated */
    assert_false(http_etag_match("a3fb-18fae2769b0fcd15", e));           /* not quoted */
    assert_false(http_etag_match("\"x\" \"a3fb-18fae2769b0fcd15\"", e)); /* no comma */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accept_codings),
        cmocka_unit_test(test_etag_match),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
