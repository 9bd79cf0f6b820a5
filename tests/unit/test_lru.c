/*
 * Unit tests for the bounded LRU cache (common/src/lru.c): hits and
 * misses, least-recently-used eviction, replacing a value with a longer one,
 * values too long for the caller's buffer, clearing, a disabled cache, and
 * binary keys.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "analytics/lru.h"

#include <stdio.h>
#include <string.h>

static void put_str(struct lru *c, const char *k, const char *v)
{
    assert_int_equal(lru_put(c, k, strlen(k), v, strlen(v) + 1), 0);
}

/* Asserts key k holds v (or is absent when v is NULL). */
static void expect(struct lru *c, const char *k, const char *v)
{
    char buf[64];
    size_t len = 0;
    bool hit = lru_get(c, k, strlen(k), buf, sizeof(buf), &len);

    if (v == NULL) {
        assert_false(hit);
        return;
    }
    assert_true(hit);
    assert_int_equal(len, strlen(v) + 1);
    assert_string_equal(buf, v);
}

static void test_hit_miss_counts(void **state)
{
    uint64_t hits = 9, misses = 9;
    size_t count = 9;
    struct lru *c = lru_new(4);
    (void)state;

    assert_non_null(c);
    expect(c, "a", NULL);
    put_str(c, "a", "one");
    expect(c, "a", "one");
    expect(c, "b", NULL);
    lru_stats(c, &hits, &misses, &count);
    assert_int_equal(hits, 1);
    assert_int_equal(misses, 2);
    assert_int_equal(count, 1);
    lru_stats(c, NULL, NULL, NULL);
    lru_free(c);
}

static void test_evicts_least_recent(void **state)
{
    struct lru *c = lru_new(3);
    size_t count = 0;
    (void)state;

    put_str(c, "a", "1");
    put_str(c, "b", "2");
    put_str(c, "c", "3");
    expect(c, "a", "1"); /* a is now the most recent: b is the oldest */
    put_str(c, "d", "4");
    expect(c, "b", NULL);
    expect(c, "a", "1");
    expect(c, "c", "3");
    expect(c, "d", "4");
    put_str(c, "c", "33"); /* a replace refreshes too: a is the oldest */
    put_str(c, "e", "5");
    expect(c, "a", NULL);
    expect(c, "c", "33");
    lru_stats(c, NULL, NULL, &count);
    assert_int_equal(count, 3);
    lru_free(c);
}

static void test_replace_longer_and_shorter(void **state)
{
    struct lru *c = lru_new(2);
    size_t count = 0;
    (void)state;

    put_str(c, "k", "short");
    put_str(c, "k", "a much longer value than before");
    expect(c, "k", "a much longer value than before");
    put_str(c, "k", "x");
    expect(c, "k", "x");
    lru_stats(c, NULL, NULL, &count);
    assert_int_equal(count, 1);
    lru_free(c);
}

static void test_value_too_long_for_buffer(void **state)
{
    struct lru *c = lru_new(2);
    char small[4];
    char big[32];
    (void)state;

    put_str(c, "k", "twelve bytes");
    assert_false(lru_get(c, "k", 1, small, sizeof(small), NULL));
    assert_true(lru_get(c, "k", 1, big, sizeof(big), NULL));
    assert_string_equal(big, "twelve bytes");
    lru_free(c);
}

static void test_clear(void **state)
{
    struct lru *c = lru_new(8);
    uint64_t hits = 0;
    size_t count = 1;
    (void)state;

    put_str(c, "a", "1");
    put_str(c, "b", "2");
    expect(c, "a", "1");
    lru_clear(c);
    lru_stats(c, &hits, NULL, &count);
    assert_int_equal(count, 0);
    assert_int_equal(hits, 1); /* counters survive a clear */
    expect(c, "a", NULL);
    expect(c, "b", NULL);
    put_str(c, "a", "again");
    expect(c, "a", "again");
    lru_free(c);
}

static void test_disabled(void **state)
{
    struct lru *c = lru_new(0);
    size_t count = 1;
    (void)state;

    assert_non_null(c);
    put_str(c, "a", "1");
    expect(c, "a", NULL);
    lru_stats(c, NULL, NULL, &count);
    assert_int_equal(count, 0);
    lru_free(c);
    lru_free(NULL);
}

static void test_binary_keys_and_many_entries(void **state)
{
    struct lru *c = lru_new(1000);
    const char k1[] = {'a', '\0', 'b'};
    const char k2[] = {'a', '\0', 'c'};
    char key[32], val[32], buf[32];
    size_t count = 0;
    (void)state;

    assert_int_equal(lru_put(c, k1, sizeof(k1), "1", 2), 0);
    assert_int_equal(lru_put(c, k2, sizeof(k2), "2", 2), 0);
    assert_true(lru_get(c, k1, sizeof(k1), buf, sizeof(buf), NULL));
    assert_string_equal(buf, "1");
    assert_true(lru_get(c, k2, sizeof(k2), buf, sizeof(buf), NULL));
    assert_string_equal(buf, "2");
    assert_false(lru_get(c, k1, 1, buf, sizeof(buf), NULL)); /* a prefix is another key */

    for (int i = 0; i < 5000; i++) {
        snprintf(key, sizeof(key), "visitor-%d", i);
        snprintf(val, sizeof(val), "state-%d", i);
        put_str(c, key, val);
    }
    lru_stats(c, NULL, NULL, &count);
    assert_int_equal(count, 1000);
    expect(c, "visitor-3999", NULL);
    expect(c, "visitor-4000", "state-4000");
    expect(c, "visitor-4999", "state-4999");
    lru_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hit_miss_counts),
        cmocka_unit_test(test_evicts_least_recent),
        cmocka_unit_test(test_replace_longer_and_shorter),
        cmocka_unit_test(test_value_too_long_for_buffer),
        cmocka_unit_test(test_clear),
        cmocka_unit_test(test_disabled),
        cmocka_unit_test(test_binary_keys_and_many_entries),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
