/* Unit tests for the collector's serving of the tracker's files
 * (services/collector/assets.c): names, ETags, gzip (the headers they
 * answer: test_httpcache). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "assets.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static void test_names(void **state)
{
    (void)state;
    assert_true(assets_name_ok("analytics.js"));
    assert_true(assets_name_ok("analytics-fingerprint.js"));
    assert_true(assets_name_ok("analytics-consent-2.js"));
    assert_false(assets_name_ok("analytics-.js"));
    assert_false(assets_name_ok("analytics.js.map"));
    assert_false(assets_name_ok("analytics-x.js.map"));
    assert_false(assets_name_ok("analytics-X.js"));
    assert_false(assets_name_ok("analytics-../x.js"));
    assert_false(assets_name_ok("analytics-a/b.js"));
    assert_false(assets_name_ok("other.js"));
    assert_false(assets_name_ok(""));
}

static void test_etag(void **state)
{
    struct fileio_stamp st = {.dev = 1, .ino = 2, .size = 41979, .mtime_ns = 1800000000123456789LL};
    struct fileio_stamp other = st;
    char a[64], b[64];

    (void)state;
    assets_etag(&st, a, sizeof(a));
    assert_string_equal(a, "\"a3fb-18fae2769b0fcd15\"");
    other.ino = 99; /* another replica's copy of the same file */
    assets_etag(&other, b, sizeof(b));
    assert_string_equal(a, b);
    other.mtime_ns++;
    assets_etag(&other, b, sizeof(b));
    assert_string_not_equal(a, b);
}

static void test_gzip_round_trip(void **state)
{
    size_t n = 200000, zlen = 0;
    char *in = malloc(n);
    char *out = malloc(n);
    char *z;
    z_stream zs;

    (void)state;
    assert_non_null(in);
    assert_non_null(out);
    for (size_t i = 0; i < n; i++) {
        in[i] = (char)("function analytics(){return 42}\n"[i % 32]);
    }
    z = assets_gzip(in, n, &zlen);
    assert_non_null(z);
    assert_true(zlen < n / 10);
    assert_int_equal((unsigned char)z[0], 0x1f); /* the gzip magic */
    assert_int_equal((unsigned char)z[1], 0x8b);
    memset(&zs, 0, sizeof(zs));
    assert_int_equal(inflateInit2(&zs, 15 + 16), Z_OK);
    zs.next_in = (Bytef *)z;
    zs.avail_in = (uInt)zlen;
    zs.next_out = (Bytef *)out;
    zs.avail_out = (uInt)n;
    assert_int_equal(inflate(&zs, Z_FINISH), Z_STREAM_END);
    assert_int_equal(zs.total_out, n);
    assert_memory_equal(in, out, n);
    inflateEnd(&zs);
    free(z);
    z = assets_gzip("", 0, &zlen); /* an empty file is a valid gzip file too */
    assert_non_null(z);
    assert_true(zlen > 0);
    free(z);
    free(in);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_etag),
        cmocka_unit_test(test_gzip_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
