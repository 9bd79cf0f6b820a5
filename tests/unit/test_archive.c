/* Unit tests for the archive rows (services/journey-builder/archive.c): every
 * column's mapping, COPY text escaping, missing submessages, the jsonb
 * escapes, networks, refused events, the buffer, and UTC days. A real
 * PostgreSQL takes the same rows in tests/integration/test_archive_copy.sh. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "archive.h"
#include "fixture.h"

#include "analytics/log.h"

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T_2026_11_25_100000_123 FIXTURE_ENRICHED_TS_MS /* 2026-11-25 10:00:00.123 UTC */

/* ---- helpers ---- */

/* The event every test starts from (tests/support/fixture.c: every
 * submessage set); a test changes what it needs, setup resets it. */
static struct fixture_enriched fx;

static struct copybuf buf;
static char err[256];

static int setup(void **state)
{
    (void)state;
    copybuf_init(&buf);
    fixture_enriched_full(&fx);
    err[0] = '\0';
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    copybuf_fini(&buf);
    return 0;
}

/* The position of column in archive_columns, failing the test when absent. */
static int column_index(const char *column)
{
    const char *p = archive_columns;
    size_t n = strlen(column);

    for (int i = 0;; i++) {
        if (strncmp(p, column, n) == 0 && (p[n] == ',' || p[n] == '\0')) {
            return i;
        }
        p = strchr(p, ',');
        if (p == NULL) {
            fail_msg("no column %s", column);
        }
        p += 2;
    }
}

/* The value of column in the last line of buf (a copy, in static memory). */
static const char *col(const char *column)
{
    static char val[1024];
    int idx = column_index(column);
    const char *line, *p;

    assert_true(buf.buf.len > 0 && buf.buf.data[buf.buf.len - 1] == '\n');
    line = buf.buf.data + buf.buf.len - 1;
    while (line > buf.buf.data && line[-1] != '\n') {
        line--;
    }
    p = line;
    for (int i = 0; i < idx; i++) {
        p = strchr(p, '\t');
        assert_non_null(p);
        p++;
    }
    size_t n = strcspn(p, "\t\n");
    assert_true(n < sizeof(val));
    memcpy(val, p, n);
    val[n] = '\0';
    return val;
}

/* Archives ev into a cleared buf and expects success. */
static void row_ok(void)
{
    copybuf_reset(&buf);
    int rc = archive_row(&buf, &fx.ev, err, sizeof(err));
    if (rc != 0) {
        fail_msg("archive_row: %d %s", rc, err);
    }
}

static size_t count_char(const char *s, size_t n, char c)
{
    size_t k = 0;

    for (size_t i = 0; i < n; i++) {
        k += s[i] == c;
    }
    return k;
}

/* ---- columns and a whole row ---- */

static void test_columns(void **state)
{
    size_t ncols = count_char(archive_columns, strlen(archive_columns), ',') + 1;

    (void)state;
    assert_int_equal(ncols, 50);
    assert_null(strstr(archive_columns, "inserted_at"));
    assert_int_equal(column_index("event_id"), 0);
    assert_int_equal(column_index("schema_version"), 49);
    row_ok();
    assert_int_equal(count_char(buf.buf.data, buf.buf.len, '\t'), ncols - 1);
    assert_int_equal(count_char(buf.buf.data, buf.buf.len, '\n'), 1);
}

static void test_full_row(void **state)
{
    (void)state;
    row_ok();
    assert_string_equal(
        buf.buf.data, "e-1\t2026-11-25 10:00:00.123+00\tpage_view\tfp-1\tu-1\tsite-1\ts-1\t3\tt\t"
                      "idle\tf\tf\t2026-11-25 09:59:59.623+00\t2026-11-25 10:00:00.123+00\t"
                      "2026-11-25 10:00:00.130+00\t-500\tf\t"
                      "https://shop.example/pricing?x=1\thttps://shop.example/pricing\t"
                      "shop.example\t/pricing\tpricing\thttps://www.google.com/search?q=repair\t"
                      "www.google.com\torganic_search\tgoogle\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t"
                      "Firefox\t133.0\tLinux\t\\N\tOther\tdesktop\tf\t\\N\tDE\tgeoipdb\t"
                      "203.0.113.0/24\t{\"k\":\"v\"}\tt\tt\tt\tf\t1\n");
    assert_int_equal(buf.buf.len, strlen(buf.buf.data));
}

/* ---- strings ---- */

static void test_empty_and_null_strings_are_null(void **state)
{
    (void)state;
    fx.ev.user_id = "";
    fx.ev.site_id = NULL; /* a hand-built message may leave a string NULL */
    fx.ev.page_url = "";
    fx.page.page_type = "";
    row_ok();
    assert_string_equal(col("user_id"), "\\N");
    assert_string_equal(col("site_id"), "\\N");
    assert_string_equal(col("page_url"), "\\N");
    assert_string_equal(col("page_type"), "\\N");
    assert_string_equal(col("page_path"), "/pricing");
}

static void test_copy_escapes(void **state)
{
    (void)state;
    fx.ev.page_url = "https://x.example/a\tb\\c\nd\re";
    fx.ev.user_id = "\\N"; /* the text, not NULL */
    fx.ev.referrer_url = "\\.";
    fx.page.path = "/caf\xc3\xa9";
    row_ok();
    assert_string_equal(col("page_url"), "https://x.example/a\\tb\\\\c\\nd\\re");
    assert_string_equal(col("user_id"), "\\\\N");
    assert_string_equal(col("referrer_url"), "\\\\.");
    assert_string_equal(col("page_path"), "/caf\xc3\xa9");
    assert_int_equal(count_char(buf.buf.data, buf.buf.len, '\n'), 1);
    assert_int_equal(count_char(buf.buf.data, buf.buf.len, '\r'), 0);
}

static void test_invalid_utf8_refused(void **state)
{
    (void)state;
    fx.ev.page_url = "https://x.example/\xff";
    copybuf_reset(&buf);
    assert_int_equal(archive_row(&buf, &fx.ev, err, sizeof(err)), ARCHIVE_INVALID);
    assert_string_equal(err, "page_url is not valid UTF-8 (byte 18)");
    fixture_enriched_full(&fx);
    fx.ev.event_data_json = "{\"k\":\"\xed\xa0\x80\"}"; /* a surrogate in UTF-8 */
    assert_int_equal(archive_row(&buf, &fx.ev, err, sizeof(err)), ARCHIVE_INVALID);
    assert_non_null(strstr(err, "event_data is not valid UTF-8"));
    assert_int_equal(buf.buf.len, 0);
}

/* ---- times ---- */

static void test_times(void **state)
{
    (void)state;
    fx.ev.event_ts_ms = 1;
    fx.ev.received_ts_ms = 1709251199999LL; /* a leap day's last millisecond */
    fx.ev.client_ts_ms = -1;
    fx.ev.enriched_ts_ms = 253402300799999LL;
    row_ok();
    assert_string_equal(col("event_time"), "1970-01-01 00:00:00.001+00");
    assert_string_equal(col("received_at"), "2024-02-29 23:59:59.999+00");
    assert_string_equal(col("client_time"), "1969-12-31 23:59:59.999+00");
    assert_string_equal(col("enriched_at"), "9999-12-31 23:59:59.999+00");

    fx.ev.client_ts_ms = -2203848000000LL;
    fx.ev.enriched_ts_ms = -62135596800000LL;
    row_ok();
    assert_string_equal(col("client_time"), "1900-03-01 12:00:00.000+00");
    assert_string_equal(col("enriched_at"), "0001-01-01 00:00:00.000+00");
}

static void test_optional_times_null(void **state)
{
    (void)state;
    fx.ev.client_ts_ms = 0;
    fx.ev.enriched_ts_ms = 0;
    row_ok();
    assert_string_equal(col("client_time"), "\\N");
    assert_string_equal(col("enriched_at"), "\\N");
    /* Outside years 1-9999: not written. */
    fx.ev.client_ts_ms = 253402300800000LL;
    fx.ev.enriched_ts_ms = -62135596800001LL;
    row_ok();
    assert_string_equal(col("client_time"), "\\N");
    assert_string_equal(col("enriched_at"), "\\N");
    fx.ev.client_ts_ms = INT64_MIN;
    fx.ev.enriched_ts_ms = INT64_MAX;
    row_ok();
    assert_string_equal(col("client_time"), "\\N");
    assert_string_equal(col("enriched_at"), "\\N");
}

/* ---- enums ---- */

static void test_channels(void **state)
{
    static const char *const names[] = {"unknown",     "direct", "internal", "organic_search",
                                        "paid_search", "social", "email",    "referral"};

    (void)state;
    for (int i = 0; i < 8; i++) {
        fx.campaign.channel = (Analytics__V1__Channel)i;
        row_ok();
        assert_string_equal(col("channel"), names[i]);
    }
    fx.campaign.channel = (Analytics__V1__Channel)42; /* from a newer schema */
    row_ok();
    assert_string_equal(col("channel"), "unknown");
    fx.campaign.channel = (Analytics__V1__Channel)-3;
    row_ok();
    assert_string_equal(col("channel"), "unknown");
    fx.ev.campaign = NULL;
    row_ok();
    assert_string_equal(col("channel"), "\\N");
}

static void test_device_types(void **state)
{
    static const char *const names[] = {"unknown", "desktop", "mobile", "tablet", "bot"};

    (void)state;
    for (int i = 0; i < 5; i++) {
        fx.ua.device_type = (Analytics__V1__DeviceType)i;
        row_ok();
        assert_string_equal(col("device_type"), names[i]);
    }
    fx.ua.device_type = (Analytics__V1__DeviceType)9;
    row_ok();
    assert_string_equal(col("device_type"), "unknown");
    fx.ev.ua = NULL;
    row_ok();
    assert_string_equal(col("device_type"), "\\N");
}

/* ---- submessages ---- */

/* Expects value in each column of columns (names separated by spaces). */
static void expect_columns(const char *columns, const char *value)
{
    char name[64];

    for (const char *p = columns; *p != '\0';) {
        size_t n = strcspn(p, " ");
        assert_true(n > 0 && n < sizeof(name));
        memcpy(name, p, n);
        name[n] = '\0';
        if (strcmp(col(name), value) != 0) {
            fail_msg("%s: expected %s, got %s", name, value, col(name));
        }
        p += n + (p[n] == ' ');
    }
}

static void test_missing_submessages(void **state)
{
    (void)state;
    fx.ev.ua = NULL;
    fx.ev.geo = NULL;
    fx.ev.campaign = NULL;
    fx.ev.page = NULL;
    fx.ev.session = NULL;
    fx.ev.bot = NULL;
    fx.ev.consent = NULL;
    fx.ev.event_data_json = "";
    fx.ev.schema_version = 0;
    row_ok();
    expect_columns("session_id session_seq session_start_reason page_url_normalized page_host "
                   "page_path page_type referrer_host channel utm_source utm_medium utm_campaign "
                   "utm_term utm_content gclid fbclid msclkid browser_family browser_version "
                   "os_family os_version device_family device_type bot_reason country_code "
                   "geo_source ip_truncated",
                   "\\N");
    expect_columns("session_new session_client_assigned late is_bot consent_specified "
                   "consent_necessary consent_analytics consent_marketing",
                   "f");
    assert_string_equal(col("event_data"), "{}");
    assert_string_equal(col("schema_version"), "1");
    assert_string_equal(col("page_url"), "https://shop.example/pricing?x=1");
}

static void test_session_bot_consent(void **state)
{
    (void)state;
    fx.session.sequence = 0;
    fx.session.client_assigned = 1;
    fx.session.late = 1;
    fx.session.new_session = 0;
    fx.bot.is_bot = 1;
    fx.bot.reason = "rate";
    fx.consent.specified = 1;
    fx.consent.necessary = 0;
    fx.consent.analytics = 0;
    fx.consent.marketing = 1;
    fx.ev.historical = 1;
    row_ok();
    assert_string_equal(col("session_seq"), "\\N");
    assert_string_equal(col("session_client_assigned"), "t");
    assert_string_equal(col("late"), "t");
    assert_string_equal(col("session_new"), "f");
    assert_string_equal(col("is_bot"), "t");
    assert_string_equal(col("bot_reason"), "rate");
    assert_string_equal(col("consent_necessary"), "f");
    assert_string_equal(col("consent_marketing"), "t");
    assert_string_equal(col("historical"), "t");
    fx.session.sequence = 2147483647u;
    row_ok();
    assert_string_equal(col("session_seq"), "2147483647");
    fx.session.sequence = 2147483648u; /* not an integer */
    row_ok();
    assert_string_equal(col("session_seq"), "\\N");
}

static void test_schema_version(void **state)
{
    (void)state;
    fx.ev.schema_version = 0;
    row_ok();
    assert_string_equal(col("schema_version"), "1");
    fx.ev.schema_version = 2;
    row_ok();
    assert_string_equal(col("schema_version"), "2");
    fx.ev.schema_version = 32767;
    row_ok();
    assert_string_equal(col("schema_version"), "32767");
    fx.ev.schema_version = 32768;
    assert_int_equal(archive_row(&buf, &fx.ev, err, sizeof(err)), ARCHIVE_INVALID);
    assert_non_null(strstr(err, "schema_version"));
}

/* ---- networks ---- */

static void expect_ip(const char *in, const char *out)
{
    fx.geo.ip_truncated = (char *)in;
    row_ok();
    if (strcmp(col("ip_truncated"), out) != 0) {
        fail_msg("ip_truncated %s: expected %s, got %s", in, out, col("ip_truncated"));
    }
}

static void test_ip_truncated(void **state)
{
    (void)state;
    expect_ip("203.0.113.0", "203.0.113.0/24");
    expect_ip("2001:db8:1::", "2001:db8:1::/48");
    /* Masked here too: a full address never becomes a row. */
    expect_ip("203.0.113.77", "203.0.113.0/24");
    expect_ip("2001:db8:1:2::5", "2001:db8:1::/48");
    expect_ip("2001:db8:1:ff00::", "2001:db8:1::/48");
    expect_ip("2001:db8:abcd:ffff::", "2001:db8:abcd::/48");
    expect_ip("::ffff:198.51.100.9", "198.51.100.0/24");
    expect_ip("::", "::/48");
    /* A prefix given: kept when shorter, cut to the limit when longer. */
    expect_ip("10.0.0.0/8", "10.0.0.0/8");
    expect_ip("10.1.2.3/16", "10.1.0.0/16");
    expect_ip("10.1.2.3/32", "10.1.2.0/24");
    expect_ip("2001:db8::/32", "2001:db8::/32");
    expect_ip("2001:db8:1:2::/64", "2001:db8:1::/48");
    /* Not an address: NULL rather than a row PostgreSQL refuses. */
    expect_ip("", "\\N");
    expect_ip("not an ip", "\\N");
    expect_ip("1.2.3", "\\N");
    expect_ip("1.2.3.4/33", "\\N");
    expect_ip("1.2.3.4/", "\\N");
    expect_ip("1.2.3.4/-1", "\\N");
    expect_ip("1.2.3.4/24x", "\\N");
    expect_ip("/24", "\\N");
    expect_ip("2001:db8::/129", "\\N");
    expect_ip("1111:2222:3333:4444:5555:6666:7777:8888:9999", "\\N");
    expect_ip("203.0.113.0\t", "\\N");
}

/* ---- event_data ---- */

static void expect_data(const char *json, const char *copy_text)
{
    fx.ev.event_data_json = (char *)json;
    row_ok();
    if (strcmp(col("event_data"), copy_text) != 0) {
        fail_msg("event_data %s: expected %s, got %s", json, copy_text, col("event_data"));
    }
}

static void test_event_data_escapes(void **state)
{
    (void)state;
    /* JSON escapes are backslashes to COPY: doubled. White space between
     * tokens may be a real tab or line break: escaped. */
    expect_data("{\"k\":\"a\\tb\",\t\"url\":\"c:\\\\d\\n\"}",
                "{\"k\":\"a\\\\tb\",\\t\"url\":\"c:\\\\\\\\d\\\\n\"}");
    expect_data("{\n\"k\":\r\n1}", "{\\n\"k\":\\r\\n1}");
    expect_data("", "{}");
    expect_data("[1,2]", "[1,2]");
}

static void test_event_data_unicode_escapes(void **state)
{
    (void)state;
    /* \u0000: jsonb refuses it; becomes \ufffd (then doubled for COPY). */
    expect_data("{\"k\":\"a\\u0000b\"}", "{\"k\":\"a\\\\ufffdb\"}");
    expect_data("{\"\\u0000\":\"\\u0000\\u0000\"}", "{\"\\\\ufffd\":\"\\\\ufffd\\\\ufffd\"}");
    /* An escaped backslash, then the text u0000: stays. */
    expect_data("{\"k\":\"\\\\u0000\"}", "{\"k\":\"\\\\\\\\u0000\"}");
    /* Escaped backslash, then a real \u0000. */
    expect_data("{\"k\":\"\\\\\\u0000\"}", "{\"k\":\"\\\\\\\\\\\\ufffd\"}");
    /* Other escapes pass. */
    expect_data("{\"k\":\"\\u00e9\\u0001\\\"\"}", "{\"k\":\"\\\\u00e9\\\\u0001\\\\\"\"}");
    /* Surrogates: a pair passes, a lone half becomes \ufffd. */
    expect_data("{\"k\":\"\\ud83d\\ude00\"}", "{\"k\":\"\\\\ud83d\\\\ude00\"}");
    expect_data("{\"k\":\"\\uD83D\\uDE00\"}", "{\"k\":\"\\\\uD83D\\\\uDE00\"}");
    expect_data("{\"k\":\"\\ud83dx\"}", "{\"k\":\"\\\\ufffdx\"}");
    expect_data("{\"k\":\"\\ude00\"}", "{\"k\":\"\\\\ufffd\"}");
    expect_data("{\"k\":\"\\ud83d\\u0000\"}", "{\"k\":\"\\\\ufffd\\\\ufffd\"}");
    expect_data("{\"k\":\"\\ud83d\\ud83d\\ude00\"}", "{\"k\":\"\\\\ufffd\\\\ud83d\\\\ude00\"}");
    /* Malformed or cut short: passed on, and no reading past the end. */
    expect_data("{\"k\":\"\\u00", "{\"k\":\"\\\\u00");
    expect_data("{\"k\":\"\\ud83d\\", "{\"k\":\"\\\\ufffd\\\\");
    expect_data("\\", "\\\\");
    expect_data("\\u", "\\\\u");
}

/* ---- refused events ---- */

static void expect_invalid(const char *why)
{
    size_t len = buf.buf.len;

    assert_int_equal(archive_row(&buf, &fx.ev, err, sizeof(err)), ARCHIVE_INVALID);
    if (strstr(err, why) == NULL) {
        fail_msg("expected \"%s\" in \"%s\"", why, err);
    }
    assert_int_equal(buf.buf.len, len);
    fixture_enriched_full(&fx);
}

static void test_invalid_events(void **state)
{
    (void)state;
    row_ok();
    char *before = strdup(buf.buf.data);
    assert_non_null(before);

    fx.ev.event_id = "";
    expect_invalid("without event_id");
    fx.ev.event_id = NULL;
    expect_invalid("without event_id");
    fx.ev.fingerprint = "";
    expect_invalid("without fingerprint");
    fx.ev.event_type = "";
    expect_invalid("without event_type");
    fx.ev.event_ts_ms = 0;
    expect_invalid("event_ts_ms");
    fx.ev.event_ts_ms = -1;
    expect_invalid("event_ts_ms");
    fx.ev.event_ts_ms = 253402300800000LL;
    expect_invalid("event_ts_ms");
    fx.ev.received_ts_ms = 0;
    expect_invalid("received_ts_ms");
    /* A failure late in the row leaves the earlier row alone. */
    fx.consent.specified = 1;
    fx.geo.source = "\xc3";
    expect_invalid("geo_source is not valid UTF-8");
    assert_string_equal(buf.buf.data, before);
    free(before);
}

/* ---- the buffer ---- */

static void test_buffer_grows_and_clears(void **state)
{
    char one[2048];

    (void)state;
    row_ok();
    assert_true(buf.buf.len < sizeof(one));
    memcpy(one, buf.buf.data, buf.buf.len + 1);
    size_t len = buf.buf.len;
    for (int i = 1; i < 1000; i++) {
        assert_int_equal(archive_row(&buf, &fx.ev, err, sizeof(err)), 0);
    }
    assert_int_equal(buf.buf.len, 1000 * len);
    assert_true(buf.buf.cap > buf.buf.len);
    assert_memory_equal(buf.buf.data + 999 * len, one, len);
    size_t cap = buf.buf.cap;
    copybuf_reset(&buf);
    assert_int_equal(buf.buf.len, 0);
    assert_int_equal(buf.buf.cap, cap);
    assert_string_equal(buf.buf.data, "");
    copybuf_fini(&buf);
    assert_null(buf.buf.data);
    copybuf_fini(&buf); /* twice is fine */
    copybuf_reset(&buf);
}

/* ---- days ---- */

static void expect_day(long long ts_ms, long long day, const char *str)
{
    char out[16];

    assert_int_equal(archive_day(ts_ms), day);
    archive_day_str(day, out, sizeof(out));
    assert_string_equal(out, str);
}

static void test_days(void **state)
{
    char out[16];

    (void)state;
    expect_day(0, 0, "1970-01-01");
    expect_day(86399999, 0, "1970-01-01");
    expect_day(86400000, 1, "1970-01-02");
    expect_day(-1, -1, "1969-12-31");
    expect_day(-86400000, -1, "1969-12-31");
    expect_day(-86400001, -2, "1969-12-30");
    expect_day(T_2026_11_25_100000_123, 20782, "2026-11-25");
    expect_day(1709251199999LL, 19782, "2024-02-29");
    expect_day(951782400000LL, 11016, "2000-02-29");
    expect_day(-2203848000000LL, -25508, "1900-03-01");
    expect_day(-62135596800000LL, -719162, "0001-01-01");
    expect_day(253402300799999LL, 2932896, "9999-12-31");
    archive_day_str(0, out, 5);
    assert_string_equal(out, "1970");
    archive_day_str(LLONG_MAX, out, sizeof(out));
    assert_string_equal(out, "");
    archive_day_str(0, NULL, 0);
}

/* The first of each id counts; its repeats, wherever they are, are marked. */
static void test_mark_repeats(void **state)
{
    (void)state;
    const char *ids[] = {"b", "a", "b", "c", "a", "b", "d"};
    bool rep[7] = {false};

    assert_int_equal(archive_mark_repeats(ids, 7, rep), 0);
    assert_false(rep[0]);
    assert_false(rep[1]);
    assert_true(rep[2]);
    assert_false(rep[3]);
    assert_true(rep[4]);
    assert_true(rep[5]);
    assert_false(rep[6]);

    /* Marks only: what was marked before stays marked. */
    const char *two[] = {"x", "y"};
    bool pre[2] = {true, false};
    assert_int_equal(archive_mark_repeats(two, 2, pre), 0);
    assert_true(pre[0]);
    assert_false(pre[1]);

    /* Nothing to do for none or one. */
    assert_int_equal(archive_mark_repeats(ids, 0, rep), 0);
    bool one = false;
    assert_int_equal(archive_mark_repeats(ids, 1, &one), 0);
    assert_false(one);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_columns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_row, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_and_null_strings_are_null, setup, teardown),
        cmocka_unit_test_setup_teardown(test_copy_escapes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_utf8_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_times, setup, teardown),
        cmocka_unit_test_setup_teardown(test_optional_times_null, setup, teardown),
        cmocka_unit_test_setup_teardown(test_channels, setup, teardown),
        cmocka_unit_test_setup_teardown(test_device_types, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_submessages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_bot_consent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_schema_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ip_truncated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_event_data_escapes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_event_data_unicode_escapes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_events, setup, teardown),
        cmocka_unit_test_setup_teardown(test_buffer_grows_and_clears, setup, teardown),
        cmocka_unit_test(test_days),
        cmocka_unit_test(test_mark_repeats),
    };

    log_init("test_archive", LOG_LEVEL_ERROR);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
