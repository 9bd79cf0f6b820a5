/*
 * Unit tests for per-site write keys (common/src/write_keys.c, compared through
 * secret.c in constant time): matches, wrong and missing keys, keys off, a
 * bare key, refused specs (whose errors never quote a key).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "analytics/write_keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct write_keys *wk_ok(const char *spec)
{
    char err[256] = "";
    struct write_keys *wk = write_keys_new(spec, err, sizeof(err));

    if (wk == NULL) {
        fail_msg("write_keys_new: %s", err);
    }
    return wk;
}

static void test_write_keys_match(void **state)
{
    (void)state;
    struct write_keys *wk = wk_ok("shop:k-shop-1, blog : k-blog ,shop:k-shop-2");

    assert_true(write_keys_enabled(wk));
    assert_string_equal(write_keys_match(wk, "k-shop-1"), "shop");
    assert_string_equal(write_keys_match(wk, "k-shop-2"), "shop");
    assert_string_equal(write_keys_match(wk, "k-blog"), "blog");
    write_keys_free(wk);
}

static void test_write_keys_wrong_and_missing(void **state)
{
    (void)state;
    struct write_keys *wk = wk_ok("shop:secret");

    assert_null(write_keys_match(wk, NULL));
    assert_null(write_keys_match(wk, ""));
    assert_null(write_keys_match(wk, "secreT"));
    assert_null(write_keys_match(wk, "secre"));   /* prefix */
    assert_null(write_keys_match(wk, "secret1")); /* longer */
    assert_null(write_keys_match(wk, "shop:secret"));
    assert_null(write_keys_match(wk, "shop"));
    write_keys_free(wk);
}

static void test_write_keys_off(void **state)
{
    (void)state;
    const char *specs[] = {NULL, "", "  "};

    for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
        struct write_keys *wk = wk_ok(specs[i]);
        assert_false(write_keys_enabled(wk));
        assert_string_equal(write_keys_match(wk, "anything"), "");
        assert_string_equal(write_keys_match(wk, NULL), "");
        write_keys_free(wk);
    }
    write_keys_free(NULL);
}

static void test_write_keys_bare(void **state)
{
    (void)state;
    struct write_keys *wk = wk_ok("barekey,site2:other");

    assert_string_equal(write_keys_match(wk, "barekey"), "default");
    assert_string_equal(write_keys_match(wk, "other"), "site2");
    assert_null(write_keys_match(wk, "default"));
    write_keys_free(wk);
}

static void test_write_keys_bad_spec(void **state)
{
    (void)state;
    const char *bad[] = {
        "site:",    "site:  ",    ":key",  " :key", "a:k,b:k",
        "k,site:k", "a:k1,,b:k2", "a:k1,", ",a:k1", "a:dup,dup",
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char err[256] = "";
        struct write_keys *wk = write_keys_new(bad[i], err, sizeof(err));
        if (wk != NULL) {
            write_keys_free(wk);
            fail_msg("write_keys_new accepted \"%s\"", bad[i]);
        }
        assert_true(strlen(err) > 0);
    }
    /* The error never quotes the key. */
    char err[256] = "";
    assert_null(write_keys_new("a:topsecret,b:topsecret", err, sizeof(err)));
    assert_null(strstr(err, "topsecret"));
    assert_null(write_keys_new("a:", NULL, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_write_keys_match),
        cmocka_unit_test(test_write_keys_wrong_and_missing),
        cmocka_unit_test(test_write_keys_off),
        cmocka_unit_test(test_write_keys_bare),
        cmocka_unit_test(test_write_keys_bad_spec),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
