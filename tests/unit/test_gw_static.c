/*
 * Unit tests for the push-gateway's serving of the dashboard's files
 * (gw_static.c), the parts that need no server: which URL paths name a
 * file and which are refused (dot segments, hidden files, empty segments,
 * a trailing slash, backslashes, control bytes, overlong paths), the
 * Content-Type and Cache-Control by name, Accept-Encoding (q=0, case,
 * spaces) and If-None-Match (lists, weak tags, "*").
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "gw_static.h"

#include <stdio.h>
#include <string.h>

/* resolved PATH: the file it names, or "-" when refused. */
static const char *resolved(const char *path)
{
    static char rel[GW_STATIC_PATH_MAX];

    return gw_static_resolve(path, rel, sizeof(rel)) == 0 ? rel : "-";
}

static void test_resolve_accepted(void **state)
{
    (void)state;
    assert_string_equal(resolved("/"), "index.html");
    assert_string_equal(resolved("/index.html"), "index.html");
    assert_string_equal(resolved("/assets/main-AB12.js"), "assets/main-AB12.js");
    assert_string_equal(resolved("/assets/chunks/x.y.z.css"), "assets/chunks/x.y.z.css");
    assert_string_equal(resolved("/a b/é.txt"), "a b/é.txt");
    assert_string_equal(resolved("/file..name.js"), "file..name.js"); /* dots inside a name */
}

static void test_resolve_refused(void **state)
{
    char rel[8], longpath[GW_STATIC_PATH_MAX + 8];

    (void)state;
    assert_string_equal(resolved(".."), "-");
    assert_string_equal(resolved(""), "-");
    assert_string_equal(resolved("index.html"), "-"); /* not absolute */
    assert_string_equal(resolved("/.."), "-");
    assert_string_equal(resolved("/../etc/passwd"), "-");
    assert_string_equal(resolved("/assets/../../etc/passwd"), "-");
    assert_string_equal(resolved("/assets/.."), "-");
    assert_string_equal(resolved("/./index.html"), "-");
    assert_string_equal(resolved("/assets/./x.js"), "-");
    assert_string_equal(resolved("/.env"), "-");
    assert_string_equal(resolved("/assets/.git/config"), "-");
    assert_string_equal(resolved("/assets/"), "-"); /* a directory: no listing */
    assert_string_equal(resolved("//etc/passwd"), "-");
    assert_string_equal(resolved("/assets//x.js"), "-");
    assert_string_equal(resolved("/..\\..\\windows"), "-");
    assert_string_equal(resolved("/a\\b.js"), "-");
    assert_string_equal(resolved("/a\nb.js"), "-");
    assert_string_equal(resolved("/a\x7f.js"), "-");
    assert_int_equal(gw_static_resolve("/index.html", rel, sizeof(rel)), -1); /* too small */
    assert_int_equal(gw_static_resolve(NULL, rel, sizeof(rel)), -1);
    memset(longpath, 'a', sizeof(longpath) - 1);
    longpath[0] = '/';
    longpath[sizeof(longpath) - 1] = '\0';
    assert_string_equal(resolved(longpath), "-");
}

static void test_types_and_caching(void **state)
{
    (void)state;
    assert_string_equal(gw_static_type("index.html"), "text/html; charset=utf-8");
    assert_string_equal(gw_static_type("assets/main-X.js"), "text/javascript; charset=utf-8");
    assert_string_equal(gw_static_type("assets/main-X.JS"), "text/javascript; charset=utf-8");
    assert_string_equal(gw_static_type("assets/main-X.css"), "text/css; charset=utf-8");
    assert_string_equal(gw_static_type("assets/main-X.js.map"), "application/json");
    assert_string_equal(gw_static_type("favicon.svg"), "image/svg+xml");
    assert_string_equal(gw_static_type("shot.png"), "image/png");
    assert_string_equal(gw_static_type("README"), "application/octet-stream");
    assert_string_equal(gw_static_type("dir.js/README"), "application/octet-stream");
    assert_string_equal(gw_static_type("x.exe"), "application/octet-stream");
    assert_true(gw_static_compressible("assets/a.js"));
    assert_true(gw_static_compressible("index.html"));
    assert_false(gw_static_compressible("shot.png"));
    assert_false(gw_static_compressible("README"));
    assert_string_equal(gw_static_cache_control("assets/main-X.js"),
                        "public, max-age=31536000, immutable");
    assert_string_equal(gw_static_cache_control("index.html"), "no-cache");
    assert_string_equal(gw_static_cache_control("assetsX.js"), "no-cache");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resolve_accepted),
        cmocka_unit_test(test_resolve_refused),
        cmocka_unit_test(test_types_and_caching),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
