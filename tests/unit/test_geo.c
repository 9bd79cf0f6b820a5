/* Unit tests for IP to country and IP truncation (services/enricher/geo.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "geo.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TOR_DIR GEO_TOR_DIR_DEFAULT

static struct geo_db *g_db; /* the real Tor files, loaded once */
static char g_tmp[64];      /* scratch directory for small GeoIP files */

static double now_sec(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int group_setup(void **state)
{
    char err[256] = "";
    double t0 = now_sec();

    (void)state;
    g_db = geo_db_open(TOR_DIR, NULL, err, sizeof(err));
    if (g_db == NULL) {
        fprintf(stderr, "cannot load %s: %s\n", TOR_DIR, err);
        return -1;
    }
    print_message("geo: loaded %zu IPv4 + %zu IPv6 ranges in %.1f ms, %.1f MiB\n",
                  geo_db_count_v4(g_db), geo_db_count_v6(g_db), (now_sec() - t0) * 1e3,
                  (double)geo_db_memory(g_db) / (1024.0 * 1024.0));
    snprintf(g_tmp, sizeof(g_tmp), "/tmp/test_geo.XXXXXX");
    if (mkdtemp(g_tmp) == NULL) {
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    char path[128];

    (void)state;
    geo_db_free(g_db);
    snprintf(path, sizeof(path), "%s/geoip", g_tmp);
    unlink(path);
    snprintf(path, sizeof(path), "%s/geoip6", g_tmp);
    unlink(path);
    snprintf(path, sizeof(path), "%s/bad.mmdb", g_tmp);
    unlink(path);
    rmdir(g_tmp);
    return 0;
}

/* Writes text to g_tmp/name. */
static void write_file(const char *name, const char *text)
{
    char path[128];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", g_tmp, name);
    f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

static void expect_cc(const struct geo_db *db, const char *ip, const char *want)
{
    char cc[3] = "x";
    int rc = geo_lookup(db, ip, cc);

    if (strcmp(cc, want) != 0) {
        fail_msg("%s: got \"%s\", want \"%s\"", ip, cc, want);
    }
    assert_int_equal(rc, want[0] != '\0' ? GEO_SOURCE_GEOIPDB : GEO_SOURCE_NONE);
}

/* ---- lookups against the real files ---- */

static void test_fixed_v4(void **state)
{
    (void)state;
    expect_cc(g_db, "8.8.8.8", "US");
    expect_cc(g_db, "1.1.1.1", "AU");
    expect_cc(g_db, "127.0.0.1", "");
    expect_cc(g_db, "10.1.2.3", "");
    expect_cc(g_db, "192.168.0.1", "");
    expect_cc(g_db, "0.0.0.0", "");
    expect_cc(g_db, "255.255.255.255", "");
    /* 15726992-15726999 is "??" in the file: read as unknown. */
    expect_cc(g_db, "0.239.250.148", "");
}

static void test_fixed_v6(void **state)
{
    (void)state;
    expect_cc(g_db, "2001:4860:4860::8888", "US");
    expect_cc(g_db, "2001:4860::", "US");
    expect_cc(g_db, "::1", "");
    expect_cc(g_db, "fe80::1", "");
    /* 2001::/32 is "??" in the file. */
    expect_cc(g_db, "2001::1", "");
}

static void test_mapped_v4(void **state)
{
    (void)state;
    expect_cc(g_db, "::ffff:8.8.8.8", "US");
    expect_cc(g_db, "::FFFF:1.1.1.1", "AU");
    expect_cc(g_db, "::ffff:127.0.0.1", "");
}

/* Picks every step-th data line of the real file and checks low, low+1 and
 * high resolve to its country ("" for "??"). Returns the number checked. */
static int check_file_v4(size_t step)
{
    FILE *f = fopen(TOR_DIR "/geoip", "r");
    char line[128];
    size_t n = 0;
    int checked = 0;

    assert_non_null(f);
    while (fgets(line, sizeof(line), f) != NULL) {
        unsigned long lo, hi;
        char cc[3], want[3], ip[INET_ADDRSTRLEN];
        uint32_t probes[3];

        if (line[0] == '#' || line[0] == '\n' || n++ % step != 0) {
            continue;
        }
        assert_int_equal(sscanf(line, "%lu,%lu,%2s", &lo, &hi, cc), 3);
        snprintf(want, sizeof(want), "%s", strcmp(cc, "??") == 0 ? "" : cc);
        probes[0] = (uint32_t)lo;
        probes[1] = (uint32_t)(lo < hi ? lo + 1 : lo);
        probes[2] = (uint32_t)hi;
        for (int i = 0; i < 3; i++) {
            uint32_t be = htonl(probes[i]);
            assert_non_null(inet_ntop(AF_INET, &be, ip, sizeof(ip)));
            expect_cc(g_db, ip, want);
        }
        checked++;
    }
    fclose(f);
    return checked;
}

static int check_file_v6(size_t step)
{
    FILE *f = fopen(TOR_DIR "/geoip6", "r");
    char line[256];
    size_t n = 0;
    int checked = 0;

    assert_non_null(f);
    while (fgets(line, sizeof(line), f) != NULL) {
        char *c1, *c2, want[3];

        if (line[0] == '#' || line[0] == '\n' || n++ % step != 0) {
            continue;
        }
        c1 = strchr(line, ',');
        assert_non_null(c1);
        c2 = strchr(c1 + 1, ',');
        assert_non_null(c2);
        *c1 = '\0';
        *c2 = '\0';
        c2[3] = '\0';
        snprintf(want, sizeof(want), "%s", strcmp(c2 + 1, "??") == 0 ? "" : c2 + 1);
        expect_cc(g_db, line, want);
        expect_cc(g_db, c1 + 1, want);
        checked++;
    }
    fclose(f);
    return checked;
}

static void test_ranges_from_file(void **state)
{
    int n4, n6;

    (void)state;
    n4 = check_file_v4(997);
    n6 = check_file_v6(991);
    assert_true(n4 > 300);
    assert_true(n6 > 200);
    print_message("geo: checked %d IPv4 and %d IPv6 ranges from the files\n", n4, n6);
}

static void test_lookup_invalid(void **state)
{
    static const char *const bad[] = {"",        "1.2.3",        "1.2.3.4.5",   "256.1.1.1",
                                      "abc",     " 8.8.8.8",     "8.8.8.8 ",    "1.2.3.4/24",
                                      "2001:::", "fe80::1%eth0", "::ffff:1.2.3"};
    char cc[3] = "x";

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cc[0] = 'x';
        assert_int_equal(geo_lookup(g_db, bad[i], cc), -1);
        assert_string_equal(cc, "");
    }
    assert_int_equal(geo_lookup(g_db, NULL, cc), -1);
    assert_string_equal(geo_source_name(GEO_SOURCE_GEOIPDB), "geoipdb");
    assert_string_equal(geo_source_name(GEO_SOURCE_MMDB), "mmdb");
    assert_string_equal(geo_source_name(GEO_SOURCE_NONE), "");
    assert_string_equal(geo_source_name(-1), "");
}

static void test_lookup_speed(void **state)
{
    static const char *const ips[] = {
        "8.8.8.8",          "1.1.1.1", "81.2.69.160", "203.0.113.9", "2001:4860:4860::8888",
        "2a00:1450:4001::1"};
    const int rounds = 200000;
    char cc[3];
    int found = 0;
    double t0 = now_sec(), dt;

    (void)state;
    for (int i = 0; i < rounds; i++) {
        found += geo_lookup(g_db, ips[i % 6], cc) == GEO_SOURCE_GEOIPDB;
    }
    dt = now_sec() - t0;
    assert_true(found > 0);
    print_message("geo: %.0f ns per lookup (text parse included)\n", dt * 1e9 / rounds);
}

/* ---- small files: format and error paths ---- */

static void test_small_files(void **state)
{
    char err[256] = "";
    struct geo_db *db;

    (void)state;
    /* Comments, blank lines, CRLF, lower-case cc, "??", and out of order. */
    write_file("geoip", "# header\n\n"
                        "3405803776,3405804031,AU\r\n"
                        "167772160,184549375,??\n"
                        "134744064,134744319,us\n"
                        "# trailing comment\n"
                        "16777216,16777471,A1");
    write_file("geoip6", "# v6\n2001:db8::,2001:db8:ffff:ffff:ffff:ffff:ffff:ffff,NL\n"
                         "2001:db8:1::,2001:db8:1:ffff:ffff:ffff:ffff:ffff,??\n");
    db = geo_db_open(g_tmp, NULL, err, sizeof(err));
    if (db == NULL) {
        fail_msg("open: %s", err);
    }
    assert_int_equal(geo_db_count_v4(db), 3);
    assert_int_equal(geo_db_count_v6(db), 1);
    expect_cc(db, "203.0.113.9", "AU");
    expect_cc(db, "203.0.113.0", "AU");
    expect_cc(db, "203.0.113.255", "AU");
    expect_cc(db, "203.0.114.0", "");
    expect_cc(db, "203.0.112.255", "");
    expect_cc(db, "8.8.8.8", "US");
    expect_cc(db, "10.0.0.1", "");
    expect_cc(db, "1.0.0.1", "A1");
    expect_cc(db, "2001:db8:5::1", "NL");
    /* A "??" range inside another is not stored: the outer range answers. */
    expect_cc(db, "2001:db8:1::1", "NL");
    expect_cc(db, "2001:db9::", "");
    geo_db_free(db);

    /* Empty files load as no ranges. */
    write_file("geoip", "");
    write_file("geoip6", "");
    db = geo_db_open(g_tmp, NULL, err, sizeof(err));
    assert_non_null(db);
    expect_cc(db, "8.8.8.8", "");
    expect_cc(db, "::2", "");
    geo_db_free(db);
    geo_db_free(NULL);
}

static void expect_open_error(const char *v4, const char *v6, const char *want)
{
    char err[256] = "";
    struct geo_db *db;

    write_file("geoip", v4);
    write_file("geoip6", v6);
    db = geo_db_open(g_tmp, NULL, err, sizeof(err));
    assert_null(db);
    if (strstr(err, want) == NULL) {
        fail_msg("err \"%s\" lacks \"%s\"", err, want);
    }
}

static void test_malformed_files(void **state)
{
    (void)state;
    expect_open_error("1,2,US\nxyz\n", "", "geoip line 2: malformed range");
    expect_open_error("1,2\n", "", "geoip line 1: malformed");
    expect_open_error("1,2,USA\n", "", "geoip line 1: malformed");
    expect_open_error("5,2,US\n", "", "geoip line 1: malformed");
    expect_open_error("1,4294967296,US\n", "", "geoip line 1: malformed");
    expect_open_error("1,-2,US\n", "", "geoip line 1: malformed");
    expect_open_error("1,2,U\n", "", "geoip line 1: malformed");
    expect_open_error("", "# c\n::1,::2\n", "geoip6 line 2: malformed");
    expect_open_error("", "::1,zz::,US\n", "geoip6 line 1: malformed");
    expect_open_error("", "::5,::2,US\n", "geoip6 line 1: malformed");
    expect_open_error("", "1.2.3.4,::2,US\n", "geoip6 line 1: malformed");
}

static void test_open_errors(void **state)
{
    char err[256] = "";
    char path[128];

    (void)state;
    assert_null(geo_db_open("/nonexistent/geo", NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "/nonexistent/geo/geoip"));
    assert_non_null(strstr(err, "No such file"));

    assert_null(geo_db_open(NULL, NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "neither"));

    /* geoip present, geoip6 missing. */
    write_file("geoip", "1,2,US\n");
    snprintf(path, sizeof(path), "%s/geoip6", g_tmp);
    unlink(path);
    assert_null(geo_db_open(g_tmp, NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "geoip6"));

    /* mmdb: missing, and not a database. */
    err[0] = '\0';
    assert_null(geo_db_open(TOR_DIR, "/nonexistent/x.mmdb", err, sizeof(err)));
    assert_non_null(strstr(err, "/nonexistent/x.mmdb"));
    err[0] = '\0';
    write_file("bad.mmdb", "this is not a MaxMind database\n");
    snprintf(path, sizeof(path), "%s/bad.mmdb", g_tmp);
    assert_null(geo_db_open(NULL, path, err, sizeof(err)));
    assert_non_null(strstr(err, "cannot open mmdb"));
    /* A NULL error buffer is allowed. */
    assert_null(geo_db_open("/nonexistent/geo", NULL, NULL, 0));
}

/* ---- a tiny MaxMind database, written by hand ----
 *
 * IPv4-only, 24-bit records: a chain of 24 nodes following the bits of
 * 8.8.8.0, whose last record points at {"country":{"iso_code":"DE"}}; every
 * other record is "not found". See the MaxMind DB format spec. */

struct mm_buf {
    unsigned char b[1024];
    size_t n;
};

static void mm_put(struct mm_buf *m, const void *p, size_t n)
{
    assert_true(m->n + n <= sizeof(m->b));
    memcpy(m->b + m->n, p, n);
    m->n += n;
}

static void mm_byte(struct mm_buf *m, unsigned v)
{
    unsigned char c = (unsigned char)v;

    mm_put(m, &c, 1);
}

static void mm_str(struct mm_buf *m, const char *s)
{
    size_t n = strlen(s);

    assert_true(n < 29);
    mm_byte(m, 0x40u | (unsigned)n); /* type 2, utf8 string */
    mm_put(m, s, n);
}

static void mm_u16(struct mm_buf *m, const char *key, unsigned v)
{
    mm_str(m, key);
    mm_byte(m, 0xa1); /* type 5, uint16, 1 byte */
    mm_byte(m, v);
}

static void mm_write(const char *path)
{
    static const unsigned char addr[4] = {8, 8, 8, 0};
    const unsigned nodes = 24;
    struct mm_buf m = {{0}, 0};
    FILE *f;

    for (unsigned i = 0; i < nodes; i++) {
        unsigned bit = (addr[i / 8] >> (7 - i % 8)) & 1u;
        unsigned next = i + 1 < nodes ? i + 1 : nodes + 16; /* data offset 0 */
        unsigned rec[2] = {nodes, nodes};
        rec[bit] = next;
        for (int r = 0; r < 2; r++) {
            mm_byte(&m, rec[r] >> 16);
            mm_byte(&m, (rec[r] >> 8) & 0xff);
            mm_byte(&m, rec[r] & 0xff);
        }
    }
    for (int i = 0; i < 16; i++) {
        mm_byte(&m, 0);
    }
    /* data: {"country": {"iso_code": "DE"}} */
    mm_byte(&m, 0xe1);
    mm_str(&m, "country");
    mm_byte(&m, 0xe1);
    mm_str(&m, "iso_code");
    mm_str(&m, "DE");
    /* metadata */
    mm_put(&m, "\xab\xcd\xefMaxMind.com", 14);
    mm_byte(&m, 0xe9);
    mm_str(&m, "node_count");
    mm_byte(&m, 0xc1); /* type 6, uint32 */
    mm_byte(&m, nodes);
    mm_u16(&m, "record_size", 24);
    mm_u16(&m, "ip_version", 4);
    mm_str(&m, "database_type");
    mm_str(&m, "Test-Country");
    mm_str(&m, "languages");
    mm_byte(&m, 0x01); /* extended type 11 (array), 1 element */
    mm_byte(&m, 0x04);
    mm_str(&m, "en");
    mm_u16(&m, "binary_format_major_version", 2);
    mm_u16(&m, "binary_format_minor_version", 0);
    mm_str(&m, "build_epoch");
    mm_byte(&m, 0x01); /* extended type 9 (uint64), 1 byte */
    mm_byte(&m, 0x02);
    mm_byte(&m, 1);
    mm_str(&m, "description");
    mm_byte(&m, 0xe1);
    mm_str(&m, "en");
    mm_str(&m, "test");
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(m.b, 1, m.n, f), m.n);
    assert_int_equal(fclose(f), 0);
}

static void test_mmdb(void **state)
{
    char path[128], err[256] = "", cc[3];
    struct geo_db *db;

    (void)state;
    snprintf(path, sizeof(path), "%s/test.mmdb", g_tmp);
    mm_write(path);
    db = geo_db_open(TOR_DIR, path, err, sizeof(err));
    if (db == NULL) {
        fail_msg("open mmdb: %s", err);
    }
    /* The mmdb answers first (the Tor file says US)... */
    assert_int_equal(geo_lookup(db, "8.8.8.8", cc), GEO_SOURCE_MMDB);
    assert_string_equal(cc, "DE");
    assert_int_equal(geo_lookup(db, "::ffff:8.8.8.200", cc), GEO_SOURCE_MMDB);
    assert_string_equal(cc, "DE");
    /* ...and the Tor ranges answer what it does not know. */
    assert_int_equal(geo_lookup(db, "8.8.9.1", cc), GEO_SOURCE_GEOIPDB);
    assert_string_equal(cc, "US");
    assert_int_equal(geo_lookup(db, "1.1.1.1", cc), GEO_SOURCE_GEOIPDB);
    assert_string_equal(cc, "AU");
    /* IPv6 in an IPv4-only mmdb is not an error. */
    assert_int_equal(geo_lookup(db, "2001:4860::1", cc), GEO_SOURCE_GEOIPDB);
    assert_string_equal(cc, "US");
    assert_int_equal(geo_lookup(db, "nope", cc), -1);
    geo_db_free(db);

    /* mmdb only. */
    db = geo_db_open(NULL, path, err, sizeof(err));
    assert_non_null(db);
    assert_int_equal(geo_db_count_v4(db), 0);
    assert_int_equal(geo_lookup(db, "8.8.8.1", cc), GEO_SOURCE_MMDB);
    assert_string_equal(cc, "DE");
    assert_int_equal(geo_lookup(db, "1.1.1.1", cc), GEO_SOURCE_NONE);
    assert_string_equal(cc, "");
    geo_db_free(db);
    unlink(path);
}

/* ---- truncation ---- */

static void expect_trunc(const char *ip, const char *want)
{
    char out[INET6_ADDRSTRLEN] = "x";
    int rc = geo_truncate(ip, out, sizeof(out));

    if (want == NULL) {
        assert_int_equal(rc, -1);
        assert_string_equal(out, "");
        return;
    }
    assert_int_equal(rc, 0);
    if (strcmp(out, want) != 0) {
        fail_msg("truncate %s: got \"%s\", want \"%s\"", ip, out, want);
    }
}

static void test_truncate(void **state)
{
    char small[8];

    (void)state;
    expect_trunc("203.0.113.7", "203.0.113.0");
    expect_trunc("203.0.113.0", "203.0.113.0");
    expect_trunc("255.255.255.255", "255.255.255.0");
    expect_trunc("0.0.0.1", "0.0.0.0");
    expect_trunc("2001:db8:1:2::5", "2001:db8:1::");
    expect_trunc("2001:0DB8:0001:ffff:ffff:ffff:ffff:ffff", "2001:db8:1::");
    expect_trunc("2001:db8::1", "2001:db8::");
    expect_trunc("::1", "::");
    expect_trunc("::ffff:203.0.113.7", "203.0.113.0");
    expect_trunc("::ffff:cb00:7107", "203.0.113.0");
    expect_trunc("fe80::1%eth0", NULL);
    expect_trunc("203.0.113", NULL);
    expect_trunc("", NULL);
    expect_trunc("hello", NULL);
    expect_trunc(NULL, NULL);
    /* Too small an output buffer is an error, not a truncated address. */
    assert_int_equal(geo_truncate("203.0.113.7", small, sizeof(small)), -1);
    assert_string_equal(small, "");
    assert_int_equal(geo_truncate("203.0.113.7", NULL, 0), -1);
}

/* Every IPv6 form that carries an IPv4 address keeps at most that
 * address's /24 (issue 11): a 6to4 /48 is 2002: plus a whole IPv4 address. */
static void test_truncate_embedded_v4(void **state)
{
    (void)state;
    /* 6to4: 203.0.113.7 is cb00:7107. */
    expect_trunc("2002:cb00:7107::1", "2002:cb00:7100::");
    expect_trunc("2002:cb00:7107:ffff:1:2:3:4", "2002:cb00:7100::");
    expect_trunc("2002:c000:24d:1::", "2002:c000:200::");
    expect_trunc("2002:ffff:ffff:ffff::", "2002:ffff:ff00::");
    /* NAT64's well-known prefix: an IPv4 client, written as IPv4. */
    expect_trunc("64:ff9b::203.0.113.7", "203.0.113.0");
    expect_trunc("64:ff9b::cb00:7107", "203.0.113.0");
    /* Teredo (RFC 4380's example: server 65.54.227.120, client 192.0.2.45
     * inverted in the last 32 bits): the client's IPv4 is past the /48. */
    expect_trunc("2001:0:4136:e378:8000:63bf:3fff:fdd2", "2001:0:4136::");
    /* Local-use NAT64 (64:ff9b:1::/48): whatever it embeds lies past the /48. */
    expect_trunc("64:ff9b:1:cb00:71:700::", "64:ff9b:1::");
    /* Near misses of those prefixes are ordinary IPv6. */
    expect_trunc("2003:cb00:7107::1", "2003:cb00:7107::");
    expect_trunc("2001:1:4136:e378::1", "2001:1:4136::");
}

/* A NAT64 address is looked up by the IPv4 client it carries, as an
 * IPv4-mapped one is. */
static void test_nat64_lookup(void **state)
{
    (void)state;
    expect_cc(g_db, "64:ff9b::8.8.8.8", "US");
    expect_cc(g_db, "64:ff9b::101:101", "AU");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixed_v4),       cmocka_unit_test(test_fixed_v6),
        cmocka_unit_test(test_mapped_v4),      cmocka_unit_test(test_ranges_from_file),
        cmocka_unit_test(test_lookup_invalid), cmocka_unit_test(test_lookup_speed),
        cmocka_unit_test(test_small_files),    cmocka_unit_test(test_malformed_files),
        cmocka_unit_test(test_open_errors),    cmocka_unit_test(test_mmdb),
        cmocka_unit_test(test_truncate),       cmocka_unit_test(test_truncate_embedded_v4),
        cmocka_unit_test(test_nat64_lookup),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
