/*
 * Unit tests for trusted proxies and the client IP (common/src/clientip.c): untrusted
 * and trusted peers, proxy chains, malformed and huge X-Forwarded-For,
 * entry forms, IPv6 and CIDR bounds, refused specs, and the rate-limit key
 * that puts an IPv6 /64 in one bucket.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "analytics/clientip.h"
#include "analytics/ratelimit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
