/*
 * Unit tests for the per-client token bucket (common/src/ratelimit.c): burst then
 * limited, refill, independent keys, eviction at the key bound, long keys,
 * Retry-After, rate 0, and many threads at once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "analytics/ratelimit.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_rl_burst_then_limited(void **state)
{
    (void)state;
    struct ratelimit *rl = ratelimit_new(1.0, 5.0, 100);
    int retry = 0;

    assert_non_null(rl);
    for (int i = 0; i < 5; i++) {
        assert_true(ratelimit_allow(rl, "10.0.0.1", 1, 1000, &retry));
    }
    assert_false(ratelimit_allow(rl, "10.0.0.1", 1, 1000, &retry));
    assert_int_equal(retry, 1);
    assert_false(ratelimit_allow(rl, "10.0.0.1", 1, 1500, &retry));
    ratelimit_free(rl);
}

static void test_rl_refill(void **state)
{
    (void)state;
    struct ratelimit *rl = ratelimit_new(2.0, 4.0, 4096);
    int retry = 0;
    int allowed = 0;

    for (int i = 0; i < 4; i++) {
        assert_true(ratelimit_allow(rl, "k", 1, 0, &retry));
    }
    assert_false(ratelimit_allow(rl, "k", 1, 0, &retry));
    /* 2 tokens/s: one more every 500 ms. */
    assert_false(ratelimit_allow(rl, "k", 1, 499, &retry));
    assert_true(ratelimit_allow(rl, "k", 1, 500, &retry));
    assert_false(ratelimit_allow(rl, "k", 1, 500, &retry));
    /* A long pause refills only up to burst. */
    for (int i = 0; i < 10; i++) {
        allowed += ratelimit_allow(rl, "k", 1, 100000, &retry);
    }
    assert_int_equal(allowed, 4);
    /* Time going backwards neither refills nor drains, and does not move
     * the bucket's clock back. */
    assert_false(ratelimit_allow(rl, "k", 1, 50000, &retry));
    assert_true(ratelimit_allow(rl, "b", 1, 10000, &retry));
    for (int i = 0; i < 3; i++) {
        assert_true(ratelimit_allow(rl, "b", 1, 9000, &retry));
    }
    assert_false(ratelimit_allow(rl, "b", 1, 9000, &retry));
    assert_false(ratelimit_allow(rl, "b", 1, 10000, &retry));
    assert_true(ratelimit_allow(rl, "b", 1, 10500, &retry));
    /* Ten simulated seconds at one request per 100 ms: 2/s get through. */
    allowed = 0;
    for (long long t = 100100; t <= 110000; t += 100) {
        allowed += ratelimit_allow(rl, "k", 1, t, &retry);
    }
    assert_int_equal(allowed, 20);
    ratelimit_free(rl);
}

static void test_rl_keys_independent(void **state)
{
    (void)state;
    struct ratelimit *rl = ratelimit_new(1.0, 2.0, 4096);
    int retry = 0;

    assert_true(ratelimit_allow(rl, "a", 1, 0, &retry));
    assert_true(ratelimit_allow(rl, "a", 1, 0, &retry));
    assert_false(ratelimit_allow(rl, "a", 1, 0, &retry));
    assert_true(ratelimit_allow(rl, "b", 1, 0, &retry));
    assert_true(ratelimit_allow(rl, "b", 1, 0, &retry));
    assert_false(ratelimit_allow(rl, "b", 1, 0, &retry));
    assert_true(ratelimit_allow(rl, "2001:db8::1", 2, 0, &retry));
    assert_false(ratelimit_allow(rl, "a", 1, 0, &retry));
    ratelimit_free(rl);
}

static void test_rl_eviction(void **state)
{
    (void)state;
    /* 256 buckets: 64 shards of 4, each its own LRU. */
    struct ratelimit *rl = ratelimit_new(1.0, 1.0, 256);
    char key[64];
    int retry = 0;

    assert_non_null(rl);
    /* Far more keys than buckets: every new key starts full. */
    for (int i = 0; i < 5000; i++) {
        snprintf(key, sizeof(key), "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
        assert_true(ratelimit_allow(rl, key, 1, 0, &retry));
    }
    /* The table keeps working: a key in use stays limited (it is never the
     * least recently used) while new keys churn through the buckets. */
    assert_true(ratelimit_allow(rl, "hot", 1, 0, &retry));
    for (int i = 0; i < 5000; i++) {
        snprintf(key, sizeof(key), "172.16.%d.%d", i >> 8, i & 255);
        assert_true(ratelimit_allow(rl, key, 1, 0, &retry));
        assert_false(ratelimit_allow(rl, "hot", 1, 0, &retry));
    }
    /* A key pushed out comes back with a full bucket. */
    assert_true(ratelimit_allow(rl, "10.0.0.0", 1, 0, &retry));
    ratelimit_free(rl);

    /* max_keys 1 and 0: one bucket, reused. */
    for (size_t max = 0; max <= 1; max++) {
        rl = ratelimit_new(1.0, 1.0, max);
        assert_non_null(rl);
        assert_true(ratelimit_allow(rl, "a", 1, 0, &retry));
        assert_false(ratelimit_allow(rl, "a", 1, 0, &retry));
        assert_true(ratelimit_allow(rl, "b", 1, 0, &retry));
        assert_false(ratelimit_allow(rl, "b", 1, 0, &retry));
        assert_true(ratelimit_allow(rl, "a", 1, 0, &retry)); /* evicted, fresh */
        ratelimit_free(rl);
    }
}

static void test_rl_long_keys(void **state)
{
    (void)state;
    struct ratelimit *rl = ratelimit_new(1.0, 1.0, 4096);
    char a[200];
    char b[200];
    int retry = 0;

    memset(a, 'x', sizeof(a) - 1);
    a[sizeof(a) - 1] = '\0';
    memcpy(b, a, sizeof(b));
    b[150] = 'y'; /* differs past the inline prefix */
    assert_true(ratelimit_allow(rl, a, 1, 0, &retry));
    assert_false(ratelimit_allow(rl, a, 1, 0, &retry));
    assert_true(ratelimit_allow(rl, b, 1, 0, &retry));
    assert_true(ratelimit_allow(rl, NULL, 1, 0, &retry));
    assert_false(ratelimit_allow(rl, "", 1, 0, &retry)); /* NULL is "" */
    ratelimit_free(rl);
}

static void test_rl_retry_after(void **state)
{
    (void)state;
    struct ratelimit *rl = ratelimit_new(0.5, 1.0, 100);
    int retry = 0;

    assert_true(ratelimit_allow(rl, "k", 1, 0, &retry));
    assert_false(ratelimit_allow(rl, "k", 1, 0, &retry));
    assert_int_equal(retry, 2); /* 1 token at 0.5/s */
    assert_false(ratelimit_allow(rl, "k", 1, 1000, &retry));
    assert_int_equal(retry, 1); /* half a token back: 1 s more */
    ratelimit_free(rl);

    rl = ratelimit_new(1.0, 10.0, 100);
    assert_true(ratelimit_allow(rl, "k", 10, 0, &retry));
    assert_false(ratelimit_allow(rl, "k", 3, 0, &retry));
    assert_int_equal(retry, 3);
    assert_false(ratelimit_allow(rl, "k", 3, 2500, &retry));
    assert_int_equal(retry, 1); /* 2.5 there, 0.5 short: rounds up to 1 */
    assert_false(ratelimit_allow(rl, "k", 3, 2500, NULL)); /* NULL retry ok */
    ratelimit_free(rl);

    rl = ratelimit_new(1.0, 10.0, 100);
    assert_true(ratelimit_allow(rl, "k", 10, 0, &retry));
    assert_false(ratelimit_allow(rl, "k", 3, 500, &retry));
    assert_int_equal(retry, 3); /* 2.5 short at 1/s: rounds up */
    ratelimit_free(rl);

    rl = ratelimit_new(100.0, 1.0, 100);
    assert_true(ratelimit_allow(rl, "k", 1, 0, &retry));
    assert_false(ratelimit_allow(rl, "k", 1, 0, &retry));
    assert_int_equal(retry, 1); /* 10 ms, but at least 1 s */
    ratelimit_free(rl);
}

static void test_rl_rate_zero(void **state)
{
    (void)state;
    struct ratelimit *rl = ratelimit_new(0, 0, 0);
    int retry = -7;

    assert_non_null(rl);
    for (int i = 0; i < 10000; i++) {
        assert_true(ratelimit_allow(rl, "k", 1, 0, &retry));
    }
    assert_int_equal(retry, -7);
    ratelimit_free(rl);
    ratelimit_free(NULL);
}

#define RL_THREADS 4
#define RL_STEPS 20000

struct rl_worker {
    struct ratelimit *rl;    /* "shared" and the own keys: no eviction */
    struct ratelimit *churn; /* a new key every step: constant eviction */
    int id;
    long allowed_shared;
    long allowed_own;
};

/* Each step is 1 ms of simulated time: one request on the key all threads
 * share, one on the thread's own key, one on a new key of the churn limiter. */
static void *rl_worker_run(void *arg)
{
    struct rl_worker *w = arg;
    char own[32];
    char churn[32];
    int retry;

    snprintf(own, sizeof(own), "own-%d", w->id);
    for (long long t = 0; t < RL_STEPS; t++) {
        w->allowed_shared += ratelimit_allow(w->rl, "shared", 1, t, &retry);
        w->allowed_own += ratelimit_allow(w->rl, own, 1, t, &retry);
        snprintf(churn, sizeof(churn), "churn-%d-%lld", w->id, t);
        if (!ratelimit_allow(w->churn, churn, 1, t, &retry)) {
            w->allowed_own = -1000000; /* a fresh key must be allowed */
        }
    }
    return NULL;
}

static void test_rl_threads(void **state)
{
    (void)state;
    /* 250 tokens/s, burst 10: 20 s simulated earn 10 + 250 * 19.999. */
    struct ratelimit *rl = ratelimit_new(250.0, 10.0, 512);
    struct ratelimit *churn = ratelimit_new(250.0, 10.0, 100);
    struct rl_worker w[RL_THREADS];
    pthread_t th[RL_THREADS];
    const double expected = 10.0 + 250.0 * (RL_STEPS - 1) / 1000.0;
    long shared = 0;

    assert_non_null(rl);
    assert_non_null(churn);
    for (int i = 0; i < RL_THREADS; i++) {
        w[i] = (struct rl_worker){.rl = rl, .churn = churn, .id = i};
        assert_int_equal(pthread_create(&th[i], NULL, rl_worker_run, &w[i]), 0);
    }
    for (int i = 0; i < RL_THREADS; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        shared += w[i].allowed_shared;
    }
    /* The shared bucket never hands out more than it earned; a thread whose
     * clock lags the others gets no refill, so a little less is fine. */
    assert_true(shared <= (long)expected + 1);
    assert_true(shared >= (long)(expected * 0.95));
    for (int i = 0; i < RL_THREADS; i++) {
        assert_true(w[i].allowed_own >= (long)expected - 1);
        assert_true(w[i].allowed_own <= (long)expected + 1);
    }
    ratelimit_free(rl);
    ratelimit_free(churn);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rl_burst_then_limited), cmocka_unit_test(test_rl_refill),
        cmocka_unit_test(test_rl_keys_independent),   cmocka_unit_test(test_rl_eviction),
        cmocka_unit_test(test_rl_long_keys),          cmocka_unit_test(test_rl_retry_after),
        cmocka_unit_test(test_rl_rate_zero),          cmocka_unit_test(test_rl_threads),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
