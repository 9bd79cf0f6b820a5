/*
 * Unit tests for the request guards of a public HTTP daemon (common/src/:
 * cors.c, write_keys.c and secret.c, ratelimit.c, clientip.c): CORS
 * allow-list, write keys, rate limiter, client IP resolution.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "analytics/clientip.h"
#include "analytics/cors.h"
#include "analytics/ratelimit.h"
#include "analytics/write_keys.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- CORS ---- */

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

/* ---- write keys ---- */

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

/* ---- rate limiter ---- */

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

/* ---- client IP ---- */

static struct proxy_list *pl_ok(const char *spec)
{
    char err[256] = "";
    struct proxy_list *pl = proxy_list_new(spec, err, sizeof(err));

    if (pl == NULL) {
        fail_msg("proxy_list_new(\"%s\"): %s", spec, err);
    }
    return pl;
}

static void assert_resolves(const struct proxy_list *pl, const char *peer, const char *xff,
                            const char *want)
{
    char out[64];

    assert_int_equal(client_ip_resolve(pl, peer, xff, out, sizeof(out)), 0);
    assert_string_equal(out, want);
}

static void test_ip_untrusted_peer(void **state)
{
    (void)state;
    struct proxy_list *pl = pl_ok("10.0.0.1");
    struct proxy_list *none = pl_ok(NULL);

    assert_resolves(pl, "203.0.113.9", "1.2.3.4", "203.0.113.9");
    assert_resolves(none, "10.0.0.1", "1.2.3.4", "10.0.0.1");
    assert_resolves(NULL, "10.0.0.1", "1.2.3.4", "10.0.0.1");
    assert_resolves(pl, "203.0.113.9", NULL, "203.0.113.9");
    proxy_list_free(pl);
    proxy_list_free(none);
}

static void test_ip_trusted_peer(void **state)
{
    (void)state;
    struct proxy_list *pl = pl_ok("10.0.0.1");

    assert_resolves(pl, "10.0.0.1", "1.2.3.4", "1.2.3.4");
    assert_resolves(pl, "10.0.0.1", NULL, "10.0.0.1");
    /* The right-most untrusted wins: spoofed entries on the left are ignored. */
    assert_resolves(pl, "10.0.0.1", "6.6.6.6, 7.7.7.7,  1.2.3.4 ", "1.2.3.4");
    proxy_list_free(pl);
}

static void test_ip_proxy_chain(void **state)
{
    (void)state;
    struct proxy_list *pl = pl_ok("10.0.0.0/8, 192.168.1.1");

    assert_resolves(pl, "10.1.2.3", "6.6.6.6,1.2.3.4,192.168.1.1,10.9.9.9", "1.2.3.4");
    /* All trusted: the left-most. */
    assert_resolves(pl, "10.1.2.3", "10.0.0.5,192.168.1.1,10.9.9.9", "10.0.0.5");
    assert_resolves(pl, "10.1.2.3", "10.0.0.5", "10.0.0.5");
    proxy_list_free(pl);
}

static void test_ip_malformed(void **state)
{
    (void)state;
    struct proxy_list *pl = pl_ok("10.0.0.0/8");
    char out[64];

    /* Malformed entries stop the walk at the last good address. */
    assert_resolves(pl, "10.0.0.1", "garbage", "10.0.0.1");
    assert_resolves(pl, "10.0.0.1", "", "10.0.0.1");
    assert_resolves(pl, "10.0.0.1", " , ", "10.0.0.1");
    assert_resolves(pl, "10.0.0.1", "1.2.3.4,10.0.0.2,unknown", "10.0.0.1");
    assert_resolves(pl, "10.0.0.1", "1.2.3.4,unknown,10.0.0.2", "10.0.0.2");
    assert_resolves(pl, "10.0.0.1", "256.1.1.1", "10.0.0.1");
    /* Empty list elements are skipped, as HTTP says of every list. */
    assert_resolves(pl, "10.0.0.1", "1.2.3.4,,10.0.0.2", "1.2.3.4");
    assert_resolves(pl, "10.0.0.1", "1.2.3.4, ,10.0.0.2,", "1.2.3.4");
    /* A peer that is not an address is an error. */
    assert_int_equal(client_ip_resolve(pl, "localhost", NULL, out, sizeof(out)), -1);
    assert_int_equal(client_ip_resolve(pl, "", NULL, out, sizeof(out)), -1);
    assert_int_equal(client_ip_resolve(pl, NULL, NULL, out, sizeof(out)), -1);
    assert_int_equal(client_ip_resolve(pl, "10.0.0.1:80", NULL, out, sizeof(out)), -1);
    /* Too small an output buffer is an error too. */
    assert_int_equal(client_ip_resolve(pl, "10.0.0.1", "1.2.3.4", out, 4), -1);
    proxy_list_free(pl);
}

/* ---- X-Forwarded-For lines, entry forms, bounds (issue 11) ---- */

static void expect_join(const char *const *lines, size_t n, size_t outlen, int want_rc,
                        const char *want)
{
    char out[256];

    assert_true(outlen <= sizeof(out));
    memset(out, 'x', sizeof(out));
    assert_int_equal(xff_join(lines, n, out, outlen), want_rc);
    if (strcmp(out, want) != 0) {
        fail_msg("xff_join into %zu bytes: got \"%s\", want \"%s\"", outlen, out, want);
    }
}

static void test_xff_join(void **state)
{
    const char *two[] = {"a, b", "c"};
    const char *proxy[] = {"198.51.100.1", "203.0.113.9"};
    const char *blanks[] = {NULL, "  ", " 1.2.3.4 ", "", "5.6.7.8 "};
    const char *cut[] = {"1.1.1.1, 2.2.2.2, 3.3.3.3", "4.4.4.4"};
    const char *at_comma[] = {"1.1.1.1,2.2.2.2", "3.3.3.3"};
    const char *one_long[] = {"1.1.1.1 2.2.2.2 3.3.3.3 4.4.4.4"};
    const char *spaced[] = {"1.1.1.1,  3.3.3.3 4.4.4.4", "5.5.5.5"};
    char out[8] = "x";

    (void)state;
    expect_join(two, 2, 256, 0, "a, b, c");
    expect_join(proxy, 2, 256, 0, "198.51.100.1, 203.0.113.9");
    expect_join(blanks, 5, 256, 0, "1.2.3.4, 5.6.7.8");
    expect_join(two, 0, 256, 0, "");
    /* Exactly fits: "a, b, c" and its NUL. */
    expect_join(two, 2, 8, 0, "a, b, c");
    /* Too long: the right-most whole entries are kept, never a cut one. */
    expect_join(cut, 2, 20, 1, "3.3.3.3, 4.4.4.4");
    expect_join(cut, 2, 17, 1, "3.3.3.3, 4.4.4.4");
    expect_join(cut, 2, 16, 1, "4.4.4.4");
    expect_join(at_comma, 2, 18, 1, "2.2.2.2, 3.3.3.3");
    expect_join(cut, 2, 8, 1, "4.4.4.4");
    expect_join(cut, 2, 7, 1, "");
    expect_join(one_long, 1, 20, 1, "");
    /* A cut after white space inside garbage does not make an entry of it. */
    expect_join(one_long, 1, 16, 1, "");
    expect_join(spaced, 2, 18, 1, "5.5.5.5");
    expect_join(spaced, 2, 26, 1, "3.3.3.3 4.4.4.4, 5.5.5.5");
    expect_join(cut, 2, 1, 1, "");
    assert_int_equal(xff_join(cut, 2, NULL, 10), -1);
    assert_int_equal(xff_join(cut, 2, out, 0), -1);
    assert_string_equal(out, "x");
}

/* A client sends its own X-Forwarded-For line; the trusted proxy adds
 * another with the address it saw. Only the joined list tells the truth. */
static void test_ip_two_lines(void **state)
{
    struct proxy_list *pl = pl_ok("10.0.0.1");
    const char *lines[] = {"6.6.6.6", "203.0.113.9"};
    const char *three[] = {"6.6.6.6, 7.7.7.7", "", "203.0.113.9, 10.0.0.1"};
    char xff[256];

    (void)state;
    assert_int_equal(xff_join(lines, 2, xff, sizeof(xff)), 0);
    assert_resolves(pl, "10.0.0.1", xff, "203.0.113.9");
    assert_int_equal(xff_join(three, 3, xff, sizeof(xff)), 0);
    assert_resolves(pl, "10.0.0.1", xff, "203.0.113.9");
    proxy_list_free(pl);
}

static void test_ip_entry_forms(void **state)
{
    struct proxy_list *pl = pl_ok("10.0.0.0/8");
    const char *bad[] = {
        "1.2.3.4:",
        "1.2.3.4:0",
        "1.2.3.4:65536",
        "1.2.3.4:80x",
        "1.2.3.4:-1",
        "[1.2.3.4]",
        "[1.2.3.4]:80",
        "[2001:db8::1",
        "[2001:db8::1]x",
        "[2001:db8::1]:",
        "[2001:db8::1]:99999",
        "fe80::1%",
        "fe80::1%eth0/1",
        "fe80::1%eth 0",
        "fe80::1%abcdefghijklmnopq",
        "1.2.3.4%eth0",
        "[]",
        "[]:80",
        "unknown",
        "_hidden",
        "1.2.3.4 5.6.7.8",
        "2001:db8::1]",
        "::ffff:1.2.3.4:80",
    };

    (void)state;
    assert_resolves(pl, "10.0.0.1", "1.2.3.4:5678", "1.2.3.4");
    assert_resolves(pl, "10.0.0.1", "1.2.3.4:1", "1.2.3.4");
    assert_resolves(pl, "10.0.0.1", "[2001:db8::1]:443", "2001:db8::1");
    assert_resolves(pl, "10.0.0.1", "[2001:db8::1]", "2001:db8::1");
    assert_resolves(pl, "10.0.0.1", "1.2.3.4,[2001:db8::1]", "2001:db8::1");
    assert_resolves(pl, "10.0.0.1", "fe80::1%eth0", "fe80::1");
    assert_resolves(pl, "10.0.0.1", "[fe80::1%25eth0]:80", "fe80::1");
    assert_resolves(pl, "10.0.0.1", "[::ffff:1.2.3.4]:80", "1.2.3.4");
    /* An unbracketed IPv6 address has no port: this is an address. */
    assert_resolves(pl, "10.0.0.1", "2001:db8::1:80", "2001:db8::1:80");
    /* A trusted proxy's entry with a port is still trusted. */
    assert_resolves(pl, "10.0.0.1", "1.2.3.4, 10.0.0.7:3128", "1.2.3.4");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char out[64];
        assert_int_equal(client_ip_resolve(pl, "10.0.0.1", bad[i], out, sizeof(out)), 0);
        if (strcmp(out, "10.0.0.1") != 0) {
            fail_msg("X-Forwarded-For \"%s\": got %s, want the peer", bad[i], out);
        }
    }
    proxy_list_free(pl);
}

/* Appends s to buf[*len..cap), aborting the test when it does not fit. */
static void buf_add(char *buf, size_t cap, size_t *len, const char *s)
{
    size_t n = strlen(s);

    assert_true(*len + n < cap);
    memcpy(buf + *len, s, n + 1);
    *len += n;
}

static void test_ip_huge_xff(void **state)
{
    struct proxy_list *pl = pl_ok("10.0.0.0/8");
    size_t cap = 1 << 20;
    char *big = malloc(cap);
    char item[32];
    char out[64];
    size_t len = 0;

    (void)state;
    assert_non_null(big);
    /* 20,000 spoofed entries before the real client: the walk stops there. */
    big[0] = '\0';
    for (int i = 0; i < 20000; i++) {
        snprintf(item, sizeof(item), "198.51.%d.%d,", (i / 250) % 250, i % 250);
        buf_add(big, cap, &len, item);
    }
    buf_add(big, cap, &len, "203.0.113.9, 10.0.0.2");
    assert_resolves(pl, "10.0.0.1", big, "203.0.113.9");

    /* 20,000 trusted entries: at most CLIENT_IP_MAX_HOPS are walked, and
     * the last one walked is used. */
    len = 0;
    big[0] = '\0';
    for (int i = 20000; i > 0; i--) {
        snprintf(item, sizeof(item), "%s10.0.%d.%d", len > 0 ? "," : "", i / 250, i % 250);
        buf_add(big, cap, &len, item);
    }
    snprintf(item, sizeof(item), "10.0.%d.%d", CLIENT_IP_MAX_HOPS / 250, CLIENT_IP_MAX_HOPS % 250);
    assert_resolves(pl, "10.0.0.1", big, item);

    /* Garbage, commas and blanks by the megabyte are not a client. */
    memset(big, 'x', cap - 1);
    big[cap - 1] = '\0';
    assert_resolves(pl, "10.0.0.1", big, "10.0.0.1");
    memset(big, ',', cap - 1);
    assert_resolves(pl, "10.0.0.1", big, "10.0.0.1");
    memset(big, ' ', cap - 1);
    assert_resolves(pl, "10.0.0.1", big, "10.0.0.1");
    /* One entry far longer than any address. */
    memset(big, '1', cap - 1);
    assert_int_equal(client_ip_resolve(pl, "10.0.0.1", big, out, sizeof(out)), 0);
    assert_string_equal(out, "10.0.0.1");
    free(big);
    proxy_list_free(pl);
}

static void expect_key(const char *ip, unsigned prefix, const char *want)
{
    char out[64] = "x";
    int rc = client_ip_key(ip, prefix, out, sizeof(out));

    if (want == NULL) {
        assert_int_equal(rc, -1);
        assert_string_equal(out, "");
        return;
    }
    assert_int_equal(rc, 0);
    if (strcmp(out, want) != 0) {
        fail_msg("key of %s at /%u: got \"%s\", want \"%s\"", ip, prefix, out, want);
    }
}

static void test_ip_key(void **state)
{
    char small[8];

    (void)state;
    expect_key("203.0.113.9", 64, "203.0.113.9");
    /* IPv6 by network: one /64 is one client by default. */
    expect_key("2001:db8:1:2::5", 64, "2001:db8:1:2::/64");
    expect_key("2001:db8:1:2:ffff:ffff:ffff:ffff", 64, "2001:db8:1:2::/64");
    expect_key("2001:db8:1:2ff::1", 56, "2001:db8:1:200::/56");
    expect_key("2001:db8:1:2::5", 48, "2001:db8:1::/48");
    expect_key("2001:db8:1:2::5", 128, "2001:db8:1:2::5/128");
    expect_key("2001:db8:1:2::5", 0, "::/0");
    expect_key("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 128,
               "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128");
    expect_key("::1", 64, "::/64");
    /* IPv6 forms of an IPv4 client share that client's IPv4 bucket. */
    expect_key("::ffff:192.0.2.77", 64, "192.0.2.77");
    expect_key("64:ff9b::192.0.2.77", 64, "192.0.2.77");
    expect_key("64:ff9b::c000:24d", 128, "192.0.2.77");
    expect_key("2002:c000:24d::1", 64, "192.0.2.77");
    expect_key("2002:c000:24d:ffff:1:2:3:4", 128, "192.0.2.77");
    /* Teredo: RFC 4380's example client 192.0.2.45, inverted. */
    expect_key("2001:0:4136:e378:8000:63bf:3fff:fdd2", 64, "192.0.2.45");
    /* Near misses of those prefixes are ordinary IPv6. */
    expect_key("2003:c000:24d::1", 64, "2003:c000:24d::/64");
    expect_key("2001:1:4136:e378::1", 64, "2001:1:4136:e378::/64");
    expect_key("64:ff9b:1::c000:24d", 64, "64:ff9b:1::/64");
    /* Errors. */
    expect_key("garbage", 64, NULL);
    expect_key("", 64, NULL);
    expect_key(NULL, 64, NULL);
    expect_key("2001:db8::1", 129, NULL);
    expect_key("1.2.3.4:80", 64, NULL);
    assert_int_equal(client_ip_key("2001:db8::1", 64, small, sizeof(small)), -1);
    assert_string_equal(small, "");
    assert_int_equal(client_ip_key("203.0.113.99", 64, small, sizeof(small)), -1);
    assert_int_equal(client_ip_key("1.2.3.4", 64, NULL, 0), -1);
}

/* Keys from client_ip_key put a whole /64 in one bucket. */
static void test_rl_ipv6_network(void **state)
{
    struct ratelimit *rl = ratelimit_new(1, 3, 1024);
    char key[64], ip[64];
    int retry = 0;
    int allowed = 0;

    (void)state;
    assert_non_null(rl);
    for (int i = 1; i <= 10; i++) {
        snprintf(ip, sizeof(ip), "2001:db8:1:2:%x::%x", i, i);
        assert_int_equal(client_ip_key(ip, 64, key, sizeof(key)), 0);
        allowed += ratelimit_allow(rl, key, 1, 1000, &retry);
    }
    assert_int_equal(allowed, 3);
    assert_int_equal(client_ip_key("2001:db8:1:3::1", 64, key, sizeof(key)), 0);
    assert_true(ratelimit_allow(rl, key, 1, 1000, &retry));
    ratelimit_free(rl);
}

static void test_ip_v6(void **state)
{
    (void)state;
    struct proxy_list *pl = pl_ok("2001:db8:1::/48, ::1");

    assert_resolves(pl, "::1", "2001:DB8:0:0:0:0:0:7", "2001:db8::7");
    assert_resolves(pl, "2001:db8:1:ff::9", "203.0.113.5, 2001:db8:1::2", "203.0.113.5");
    assert_resolves(pl, "2001:db8:2::1", "203.0.113.5", "2001:db8:2::1");
    /* IPv4-mapped peers (dual-stack sockets) come out as IPv4. */
    assert_resolves(pl, "::ffff:198.51.100.7", NULL, "198.51.100.7");
    proxy_list_free(pl);

    pl = pl_ok("::ffff:10.0.0.0/104");
    assert_resolves(pl, "10.1.1.1", "1.2.3.4", "1.2.3.4");
    assert_resolves(pl, "::ffff:10.1.1.1", "1.2.3.4", "1.2.3.4");
    assert_resolves(pl, "11.1.1.1", "1.2.3.4", "11.1.1.1");
    proxy_list_free(pl);
}

static void test_ip_cidr_bounds(void **state)
{
    (void)state;
    struct proxy_list *pl = pl_ok("0.0.0.0/0");

    /* /0 trusts every IPv4 address, but no IPv6 one. */
    assert_resolves(pl, "203.0.113.1", "1.2.3.4", "1.2.3.4");
    assert_resolves(pl, "203.0.113.1", "5.6.7.8,1.2.3.4", "5.6.7.8");
    assert_resolves(pl, "2001:db8::1", "1.2.3.4", "2001:db8::1");
    proxy_list_free(pl);

    pl = pl_ok("192.0.2.7/32");
    assert_resolves(pl, "192.0.2.7", "1.2.3.4", "1.2.3.4");
    assert_resolves(pl, "192.0.2.6", "1.2.3.4", "192.0.2.6");
    proxy_list_free(pl);

    pl = pl_ok("2001:db8::7/128,::/0");
    assert_resolves(pl, "2001:db8::7", "1.2.3.4", "1.2.3.4");
    assert_resolves(pl, "fe80::1", "1.2.3.4", "1.2.3.4"); /* via ::/0 */
    proxy_list_free(pl);

    pl = pl_ok("192.0.2.0/25");
    assert_resolves(pl, "192.0.2.127", "1.2.3.4", "1.2.3.4");
    assert_resolves(pl, "192.0.2.128", "1.2.3.4", "192.0.2.128");
    proxy_list_free(pl);

    pl = pl_ok("10.1.2.3/8"); /* host bits are ignored */
    assert_resolves(pl, "10.200.0.1", "1.2.3.4", "1.2.3.4");
    proxy_list_free(pl);
}

static void test_ip_bad_spec(void **state)
{
    (void)state;
    const char *bad[] = {
        "10.0.0.0/33",   "::/129",       "10.0.0.0/",    "10.0.0.0/-1",
        "10.0.0.0/ 8",   "10.0.0.0/8x",  "10.0.0.0/8/8", "/8",
        "10.0.0",        "10.0.0.0.0",   "garbage",      "10.0.0.1,",
        "10.0.0.1,,::1", "2001:db8:::1", "10.0.0.1:80",  "::ffff:10.0.0.0/95",
        "10.0.0.0/1000",
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char err[256] = "";
        struct proxy_list *pl = proxy_list_new(bad[i], err, sizeof(err));
        if (pl != NULL) {
            proxy_list_free(pl);
            fail_msg("proxy_list_new accepted \"%s\"", bad[i]);
        }
        assert_true(strlen(err) > 0);
    }
    assert_null(proxy_list_new("nope", NULL, 0));
    proxy_list_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cors_exact),
        cmocka_unit_test(test_cors_case_and_slash),
        cmocka_unit_test(test_cors_port_and_scheme),
        cmocka_unit_test(test_cors_any),
        cmocka_unit_test(test_cors_empty_list),
        cmocka_unit_test(test_cors_null_origin),
        cmocka_unit_test(test_cors_bad_spec),
        cmocka_unit_test(test_write_keys_match),
        cmocka_unit_test(test_write_keys_wrong_and_missing),
        cmocka_unit_test(test_write_keys_off),
        cmocka_unit_test(test_write_keys_bare),
        cmocka_unit_test(test_write_keys_bad_spec),
        cmocka_unit_test(test_rl_burst_then_limited),
        cmocka_unit_test(test_rl_refill),
        cmocka_unit_test(test_rl_keys_independent),
        cmocka_unit_test(test_rl_eviction),
        cmocka_unit_test(test_rl_long_keys),
        cmocka_unit_test(test_rl_retry_after),
        cmocka_unit_test(test_rl_rate_zero),
        cmocka_unit_test(test_rl_threads),
        cmocka_unit_test(test_ip_untrusted_peer),
        cmocka_unit_test(test_ip_trusted_peer),
        cmocka_unit_test(test_ip_proxy_chain),
        cmocka_unit_test(test_ip_malformed),
        cmocka_unit_test(test_xff_join),
        cmocka_unit_test(test_ip_two_lines),
        cmocka_unit_test(test_ip_entry_forms),
        cmocka_unit_test(test_ip_huge_xff),
        cmocka_unit_test(test_ip_key),
        cmocka_unit_test(test_rl_ipv6_network),
        cmocka_unit_test(test_ip_v6),
        cmocka_unit_test(test_ip_cidr_bounds),
        cmocka_unit_test(test_ip_bad_spec),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
