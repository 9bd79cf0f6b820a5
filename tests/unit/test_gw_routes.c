/*
 * Unit tests for what the push-gateway's routes share that needs no
 * server: ISO-8601 dates and times as the from= and to= parameters take
 * them (gw_iso8601_ms: every accepted form, offsets, fractions, leap days,
 * and each way a value is refused), and the answer cache (gw_cache.c): a
 * hit within the TTL, a miss after it, a failed computation not kept,
 * keys too long, more keys than slots, and many threads asking for one key
 * at once computing it once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "gw_cache.h"
#include "routes_priv.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static long long ms_of(const char *s)
{
    long long ms = -42;

    assert_int_equal(gw_iso8601_ms(s, &ms), 0);
    return ms;
}

static void test_iso8601_accepted(void **state)
{
    (void)state;
    assert_int_equal(ms_of("1970-01-01"), 0);
    assert_int_equal(ms_of("2026-01-31"), 1769817600000LL);
    assert_int_equal(ms_of("2026-01-31T08:00:00Z"), 1769846400000LL);
    assert_int_equal(ms_of("2026-01-31t08:00:00z"), 1769846400000LL);
    assert_int_equal(ms_of("2026-01-31T08:00Z"), 1769846400000LL);
    assert_int_equal(ms_of("2026-01-31T08:00:00"), 1769846400000LL); /* no zone: UTC */
    assert_int_equal(ms_of("2026-01-31T10:00:00+02:00"), 1769846400000LL);
    assert_int_equal(ms_of("2026-01-31T10:00:00+0200"), 1769846400000LL);
    assert_int_equal(ms_of("2026-01-31T10:00:00 02:00"), 1769846400000LL); /* a decoded '+' */
    assert_int_equal(ms_of("2026-01-31T03:30:00-04:30"), 1769846400000LL);
    assert_int_equal(ms_of("2026-01-31T08:00:00.5Z"), 1769846400500LL);
    assert_int_equal(ms_of("2026-01-31T08:00:00.123456789Z"), 1769846400123LL);
    assert_int_equal(ms_of("2026-01-31T08:00:00,25Z"), 1769846400250LL);
    assert_int_equal(ms_of("2024-02-29"), 1709164800000LL);
    assert_int_equal(ms_of("2000-02-29"), 951782400000LL);
    assert_int_equal(ms_of("9999-12-31T23:59:59Z"), 253402300799000LL);
}

static void test_iso8601_refused(void **state)
{
    static const char *const bad[] = {
        "",
        "2026",
        "2026-01",
        "2026-1-31",
        "26-01-31",
        "2026/01/31",
        "2026-00-10",
        "2026-13-01",
        "2026-01-00",
        "2026-01-32",
        "2026-04-31",
        "2026-02-29",
        "1900-02-29",
        "1969-12-31",
        "2026-01-31T",
        "2026-01-31T8:00Z",
        "2026-01-31T24:00:00Z",
        "2026-01-31T08:60:00Z",
        "2026-01-31T08:00:60Z",
        "2026-01-31T08:00:00.Z",
        "2026-01-31T08:00:00.1234567890Z",
        "2026-01-31T08:00:00+2",
        "2026-01-31T08:00:00+15:00",
        "2026-01-31T08:00:00+02:60",
        "2026-01-31T08:00:00ZZ",
        "2026-01-31T08:00:00Q",
        "2026-01-31 08:00:00",
        "2026-01-31x",
        "yesterday",
        "99999999999999999999",
    };
    long long ms;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (gw_iso8601_ms(bad[i], &ms) != -1) {
            fail_msg("accepted \"%s\"", bad[i]);
        }
    }
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

static void test_cache_hit_miss(void **state)
{
    struct gw_cache *c = gw_cache_new(NULL);
    char *text, key[GW_CACHE_KEY_MAX + 8];
    int slot;

    (void)state;
    assert_non_null(c);
    assert_int_equal(gw_cache_get(c, "k", 200, &text, &slot), 1);
    assert_null(text);
    assert_true(slot >= 0);
    gw_cache_put(c, slot, "{\"a\":1}");
    assert_int_equal(gw_cache_get(c, "k", 200, &text, &slot), 0);
    assert_string_equal(text, "{\"a\":1}");
    free(text);
    assert_int_equal(gw_cache_get(c, "other", 200, &text, &slot), 1); /* another key */
    gw_cache_put(c, slot, NULL);                                      /* failed: nothing kept */
    assert_int_equal(gw_cache_get(c, "other", 200, &text, &slot), 1);
    gw_cache_put(c, slot, NULL);
    sleep_ms(250);
    assert_int_equal(gw_cache_get(c, "k", 200, &text, &slot), 1); /* past the TTL */
    gw_cache_put(c, slot, "{\"a\":2}");
    assert_int_equal(gw_cache_get(c, "k", 200, &text, &slot), 0);
    assert_string_equal(text, "{\"a\":2}");
    free(text);

    memset(key, 'x', sizeof(key) - 1); /* too long: computed, never kept */
    key[sizeof(key) - 1] = '\0';
    assert_int_equal(gw_cache_get(c, key, 200, &text, &slot), 1);
    assert_int_equal(slot, -1);
    gw_cache_put(c, slot, "x");
    assert_int_equal(gw_cache_get(c, "", 200, &text, &slot), 1);
    assert_int_equal(slot, -1);
    gw_cache_free(c);
    gw_cache_free(NULL);
}

static void test_cache_many_keys(void **state)
{
    struct gw_cache *c = gw_cache_new(NULL);
    char key[16], *text;
    int slot;

    (void)state;
    for (int i = 0; i < 3 * GW_CACHE_SLOTS; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        assert_int_equal(gw_cache_get(c, key, 10000, &text, &slot), 1);
        assert_true(slot >= 0);
        gw_cache_put(c, slot, key);
    }
    /* The newest GW_CACHE_SLOTS are kept; the oldest made room. */
    snprintf(key, sizeof(key), "k%d", 3 * GW_CACHE_SLOTS - 1);
    assert_int_equal(gw_cache_get(c, key, 10000, &text, &slot), 0);
    assert_string_equal(text, key);
    free(text);
    assert_int_equal(gw_cache_get(c, "k0", 10000, &text, &slot), 1);
    gw_cache_put(c, slot, NULL);
    gw_cache_free(c);
}

struct asker {
    struct gw_cache *c;
    atomic_int *computed;
    char *got;
};

static void *ask(void *arg)
{
    struct asker *a = arg;
    int slot;

    if (gw_cache_get(a->c, "realtime", 5000, &a->got, &slot) == 1) {
        atomic_fetch_add(a->computed, 1);
        sleep_ms(100); /* a slow query: the others wait for it */
        gw_cache_put(a->c, slot, "answer");
        a->got = strdup("answer");
    }
    return NULL;
}

static void test_cache_single_flight(void **state)
{
    enum { N = 16 };
    struct gw_cache *c = gw_cache_new(NULL);
    atomic_int computed = 0;
    struct asker a[N];
    pthread_t t[N];

    (void)state;
    for (int i = 0; i < N; i++) {
        a[i] = (struct asker){c, &computed, NULL};
        assert_int_equal(pthread_create(&t[i], NULL, ask, &a[i]), 0);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        assert_non_null(a[i].got);
        assert_string_equal(a[i].got, "answer");
        free(a[i].got);
    }
    assert_int_equal(atomic_load(&computed), 1);
    gw_cache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_iso8601_accepted),    cmocka_unit_test(test_iso8601_refused),
        cmocka_unit_test(test_cache_hit_miss),      cmocka_unit_test(test_cache_many_keys),
        cmocka_unit_test(test_cache_single_flight),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
