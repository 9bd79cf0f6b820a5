/*
 * Unit tests for parsing and validating collector input into raw events
 * (services/collector/event*.c): field rules, batches, historical imports, clock skew,
 * consent, the protobuf round trip, ISO-8601 checks (UTF-8: test_utf8.c); the body
 * rules of issue 11 (nesting, NULs, duplicate keys, numbers, event time).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "event.h"
#include "analytics/textcheck.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RECEIVED_MS 1700000000000LL
#define DAY_MS 86400000LL

/* The two required fields, to build events around. */
#define BASE "\"event_type\":\"page_view\",\"fingerprint\":\"fp-1\""
#define EV(extra) "{" BASE "," extra "}"

static const struct event_request test_req = {
    .received_ms = RECEIVED_MS,
    .client_ip = "203.0.113.7",
    .user_agent = "Mozilla/5.0 (X11; Linux x86_64)",
    .origin = "https://shop.example",
    .site_id = "site-1",
    .collector_id = "collector-a",
};

/* Parses json (copied to an exact-size heap buffer, so ASan sees any read
 * past the end) with the given limits. */
static int parse_lim(const char *json, const struct event_limits *lim, struct event_batch *b,
                     char *err, size_t errlen)
{
    size_t len = strlen(json);
    char *copy = malloc(len > 0 ? len : 1);
    int rc;

    assert_non_null(copy);
    memcpy(copy, json, len);
    rc = event_batch_parse(copy, len, lim, &test_req, b, err, errlen);
    free(copy);
    return rc;
}

static int parse(const char *json, struct event_batch *b, char *err, size_t errlen)
{
    struct event_limits lim;

    event_limits_default(&lim);
    return parse_lim(json, &lim, b, err, errlen);
}

/* Expects json to be one event, accepted; returns the batch (caller finis). */
static void parse_one_ok(const char *json, struct event_batch *b)
{
    char err[256] = "";

    if (parse(json, b, err, sizeof(err)) != 0) {
        fail_msg("parse failed for %s: %s", json, err);
    }
    if (b->n_events != 1) {
        fail_msg("event rejected (%s: %s): %s", b->n_rejected ? b->rejected[0].code : "-",
                 b->n_rejected ? b->rejected[0].error : "-", json);
    }
    assert_int_equal(b->n_rejected, 0);
}

static void expect_ok(const char *json)
{
    struct event_batch b;

    parse_one_ok(json, &b);
    event_batch_fini(&b);
}

/* Expects json to be one event, rejected with code and a message holding needle. */
static void expect_rejected(const char *json, const char *code, const char *needle)
{
    struct event_batch b;
    char err[256] = "";

    if (parse(json, &b, err, sizeof(err)) != 0) {
        fail_msg("whole request failed for %s: %s", json, err);
    }
    if (b.n_rejected != 1) {
        fail_msg("expected a rejection (%s) for %s", code, json);
    }
    assert_int_equal(b.n_events, 0);
    assert_int_equal(b.rejected[0].index, 0);
    if (strcmp(b.rejected[0].code, code) != 0) {
        fail_msg("code %s (%s), expected %s, for %s", b.rejected[0].code, b.rejected[0].error, code,
                 json);
    }
    if (needle != NULL && strstr(b.rejected[0].error, needle) == NULL) {
        fail_msg("message \"%s\" lacks \"%s\"", b.rejected[0].error, needle);
    }
    assert_non_null(b.rejected[0].original);
    event_batch_fini(&b);
}

/* Expects the whole request to fail with a message holding needle. */
static void expect_fail(const char *json, size_t len, const char *needle)
{
    struct event_limits lim;
    struct event_batch b;
    char err[256] = "";
    char *copy = malloc(len > 0 ? len : 1);

    assert_non_null(copy);
    memcpy(copy, json, len);
    event_limits_default(&lim);
    assert_int_equal(event_batch_parse(copy, len, &lim, &test_req, &b, err, sizeof(err)), -1);
    free(copy);
    if (strstr(err, needle) == NULL) {
        fail_msg("error \"%s\" lacks \"%s\"", err, needle);
    }
    assert_null(b.events);
    assert_null(b.rejected);
    assert_null(b.priv);
    assert_int_equal(b.n_events + b.n_rejected + b.total, 0);
    event_batch_fini(&b);
}

/* expect_fail on a string literal. */
#define EXPECT_FAIL(lit, needle) expect_fail((lit), sizeof(lit) - 1, (needle))

/* An event whose field holds a string of n copies of c (heap, caller frees).
 * The field comes first, then the required fields it is not. */
static char *event_with_string(const char *field, size_t n, char c)
{
    const char *rest = "\"," BASE "}";
    size_t cap = n + 128;
    char *s = malloc(cap);
    int k;

    assert_non_null(s);
    if (strcmp(field, "event_type") == 0) {
        rest = "\",\"fingerprint\":\"fp-1\"}";
    } else if (strcmp(field, "fingerprint") == 0) {
        rest = "\",\"event_type\":\"page_view\"}";
    }
    k = snprintf(s, cap, "{\"%s\":\"", field);
    memset(s + k, c, n);
    memcpy(s + k + n, rest, strlen(rest) + 1);
    return s;
}

static void expect_string_len(const char *field, size_t ok_len, char c)
{
    char *s = event_with_string(field, ok_len, c);

    expect_ok(s);
    free(s);
    s = event_with_string(field, ok_len + 1, c);
    expect_rejected(s, "too_long", field);
    free(s);
}

/* True when s is a lowercase UUID v4. */
static int is_uuid_v4(const char *s)
{
    if (strlen(s) != 36) {
        return 0;
    }
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-') {
                return 0;
            }
        } else if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
            return 0;
        }
    }
    return s[14] == '4' && strchr("89ab", s[19]) != NULL;
}

/* ---- basics ---- */

static void test_limits_default(void **state)
{
    struct event_limits l;

    (void)state;
    memset(&l, 0xff, sizeof(l));
    event_limits_default(&l);
    assert_int_equal(l.max_batch, 500);
    assert_int_equal(l.max_id_len, 128);
    assert_int_equal(l.max_type_len, 64);
    assert_int_equal(l.max_url_len, 4096);
    assert_int_equal(l.max_string_len, 2048);
    assert_int_equal(l.max_props, 100);
    assert_int_equal(l.max_depth, 5);
    assert_true(l.max_skew_ms == DAY_MS);
}

static void test_minimal_event(void **state)
{
    struct event_batch b;
    const Analytics__V1__RawEvent *e;

    (void)state;
    parse_one_ok("{" BASE "}", &b);
    e = &b.events[0];
    assert_int_equal(b.total, 1);
    assert_false(b.historical);
    assert_int_equal(e->schema_version, 1);
    assert_true(is_uuid_v4(e->event_id));
    assert_true(e->event_id_assigned);
    assert_string_equal(e->event_type, "page_view");
    assert_string_equal(e->fingerprint, "fp-1");
    assert_string_equal(e->user_id, "");
    assert_string_equal(e->session_id, "");
    assert_true(e->client_ts_ms == RECEIVED_MS);
    assert_false(e->client_ts_present);
    assert_true(e->received_ts_ms == RECEIVED_MS);
    assert_true(e->clock_skew_ms == 0);
    assert_false(e->clock_skew_suspect);
    assert_string_equal(e->page_url, "");
    assert_string_equal(e->referrer_url, "");
    assert_string_equal(e->event_data_json, "{}");
    assert_non_null(e->consent);
    assert_false(e->consent->specified);
    assert_false(e->consent->necessary || e->consent->analytics || e->consent->marketing);
    assert_string_equal(e->client_ip, "203.0.113.7");
    assert_string_equal(e->user_agent, "Mozilla/5.0 (X11; Linux x86_64)");
    assert_string_equal(e->origin, "https://shop.example");
    assert_string_equal(e->site_id, "site-1");
    assert_string_equal(e->collector_id, "collector-a");
    assert_false(e->historical);
    assert_int_equal(e->batch_index, 0);
    event_batch_fini(&b);
    assert_null(b.events);
    assert_null(b.priv);
    event_batch_fini(&b); /* a zeroed batch is fine */
}

static void test_null_request_strings(void **state)
{
    static const char json[] = "{" BASE "}";
    struct event_request req = {.received_ms = 5};
    struct event_batch b;
    char err[128];
    const Analytics__V1__RawEvent *e;

    (void)state;
    assert_int_equal(event_batch_parse(json, strlen(json), NULL, &req, &b, err, sizeof(err)), 0);
    assert_int_equal(b.n_events, 1);
    e = &b.events[0];
    assert_non_null(e->client_ip);
    assert_string_equal(e->client_ip, "");
    assert_string_equal(e->user_agent, "");
    assert_string_equal(e->origin, "");
    assert_string_equal(e->site_id, "");
    assert_string_equal(e->collector_id, "");
    assert_true(e->received_ts_ms == 5);
    event_batch_fini(&b);
}

static void test_unknown_fields_ignored(void **state)
{
    (void)state;
    expect_ok(EV("\"whatever\":{\"deep\":[1,2,3]},\"x\":null"));
}

/* ---- round trip ---- */

static void test_round_trip(void **state)
{
    static const char json[] =
        "{\"event_id\":\"0b7e-client:1\",\"event_type\":\"add_to_cart\","
        "\"fingerprint\":\"fp \\u00e9\\u6f22\",\"user_id\":\"u-42\",\"session_id\":\"s-9\","
        "\"timestamp\":1699999990000,\"page_url\":\"https://shop.example/p/1?q=a%20b\","
        "\"referrer_url\":\"https://search.example/\",\"event_data\":{ \"sku\" : \"A-1\", "
        "\"qty\": 2, \"price\": 9.5, \"tags\": [\"x\", true, null], \"o\": {\"k\": \"v\"} },"
        "\"consent\":[\"necessary\",\"marketing\"]}";
    struct event_batch b;
    const Analytics__V1__RawEvent *e;
    Analytics__V1__RawEvent *u;
    uint8_t *buf;
    size_t n;

    (void)state;
    parse_one_ok(json, &b);
    e = &b.events[0];
    assert_string_equal(e->event_id, "0b7e-client:1");
    assert_false(e->event_id_assigned);
    assert_string_equal(e->fingerprint, "fp \xc3\xa9\xe6\xbc\xa2");
    assert_true(e->client_ts_present);
    assert_true(e->client_ts_ms == 1699999990000LL);
    assert_true(e->clock_skew_ms == 10000);
    assert_string_equal(e->event_data_json,
                        "{\"sku\":\"A-1\",\"qty\":2,\"price\":9.5,\"tags\":[\"x\",true,null],"
                        "\"o\":{\"k\":\"v\"}}");

    n = analytics__v1__raw_event__get_packed_size(e);
    buf = malloc(n);
    assert_non_null(buf);
    assert_int_equal(analytics__v1__raw_event__pack(e, buf), n);
    u = analytics__v1__raw_event__unpack(NULL, n, buf);
    free(buf);
    assert_non_null(u);
    assert_int_equal(u->schema_version, 1);
    assert_string_equal(u->event_id, "0b7e-client:1");
    assert_false(u->event_id_assigned);
    assert_string_equal(u->event_type, "add_to_cart");
    assert_string_equal(u->fingerprint, e->fingerprint);
    assert_string_equal(u->user_id, "u-42");
    assert_string_equal(u->session_id, "s-9");
    assert_true(u->client_ts_ms == 1699999990000LL);
    assert_true(u->client_ts_present);
    assert_true(u->received_ts_ms == RECEIVED_MS);
    assert_true(u->clock_skew_ms == 10000);
    assert_false(u->clock_skew_suspect);
    assert_string_equal(u->page_url, "https://shop.example/p/1?q=a%20b");
    assert_string_equal(u->referrer_url, "https://search.example/");
    assert_string_equal(u->event_data_json, e->event_data_json);
    assert_non_null(u->consent);
    assert_true(u->consent->specified);
    assert_true(u->consent->necessary);
    assert_false(u->consent->analytics);
    assert_true(u->consent->marketing);
    assert_string_equal(u->client_ip, "203.0.113.7");
    assert_string_equal(u->user_agent, "Mozilla/5.0 (X11; Linux x86_64)");
    assert_false(u->historical);
    assert_string_equal(u->origin, "https://shop.example");
    assert_string_equal(u->site_id, "site-1");
    assert_string_equal(u->collector_id, "collector-a");
    assert_int_equal(u->batch_index, 0);
    analytics__v1__raw_event__free_unpacked(u, NULL);
    event_batch_fini(&b);
}

/* ---- required fields ---- */

static void test_event_type(void **state)
{
    (void)state;
    expect_ok("{\"event_type\":\"a.b_c:d-E9\",\"fingerprint\":\"f\"}");
    expect_rejected("{\"fingerprint\":\"f\"}", "missing_field", "event_type");
    expect_rejected("{\"event_type\":null,\"fingerprint\":\"f\"}", "missing_field", "event_type");
    expect_rejected("{\"event_type\":\"\",\"fingerprint\":\"f\"}", "missing_field", "event_type");
    expect_rejected("{\"event_type\":7,\"fingerprint\":\"f\"}", "invalid_type", "event_type");
    expect_rejected("{\"event_type\":[\"x\"],\"fingerprint\":\"f\"}", "invalid_type", "event_type");
    expect_rejected("{\"event_type\":\"page view\",\"fingerprint\":\"f\"}", "invalid_value",
                    "event_type");
    expect_rejected("{\"event_type\":\"a/b\",\"fingerprint\":\"f\"}", "invalid_value",
                    "event_type");
    expect_rejected("{\"event_type\":\"\\u00e9\",\"fingerprint\":\"f\"}", "invalid_value",
                    "event_type");
    expect_string_len("event_type", 64, 'x');
}

static void test_fingerprint(void **state)
{
    (void)state;
    expect_ok("{\"event_type\":\"t\",\"fingerprint\":\"fp with spaces \\u00e9 \xf0\x9f\x98\x80\"}");
    expect_rejected("{\"event_type\":\"t\"}", "missing_field", "fingerprint");
    expect_rejected("{\"event_type\":\"t\",\"fingerprint\":\"\"}", "missing_field", "fingerprint");
    expect_rejected("{\"event_type\":\"t\",\"fingerprint\":null}", "missing_field", "fingerprint");
    expect_rejected("{\"event_type\":\"t\",\"fingerprint\":12}", "invalid_type", "fingerprint");
    expect_rejected("{\"event_type\":\"t\",\"fingerprint\":{}}", "invalid_type", "fingerprint");
    expect_rejected("{\"event_type\":\"t\",\"fingerprint\":\"a\\tb\"}", "invalid_value",
                    "fingerprint");
    expect_rejected("{\"event_type\":\"t\",\"fingerprint\":\"a\\u007fb\"}", "invalid_value",
                    "fingerprint");
    expect_rejected("{\"event_type\":\"t\",\"fingerprint\":\"a\\u0085b\"}", "invalid_value",
                    "fingerprint");
    expect_string_len("fingerprint", 128, 'f');
}

/* ---- optional fields ---- */

static void test_event_id(void **state)
{
    struct event_batch b;

    (void)state;
    parse_one_ok(EV("\"event_id\":\"6f1c2a9e-0d4b-4c8e-9a57-1f2e3d4c5b6a\""), &b);
    assert_string_equal(b.events[0].event_id, "6f1c2a9e-0d4b-4c8e-9a57-1f2e3d4c5b6a");
    assert_false(b.events[0].event_id_assigned);
    event_batch_fini(&b);

    parse_one_ok(EV("\"event_id\":null"), &b);
    assert_true(b.events[0].event_id_assigned);
    assert_true(is_uuid_v4(b.events[0].event_id));
    event_batch_fini(&b);

    expect_rejected(EV("\"event_id\":\"\""), "invalid_value", "event_id");
    expect_rejected(EV("\"event_id\":42"), "invalid_type", "event_id");
    expect_rejected(EV("\"event_id\":\"a b\""), "invalid_value", "event_id");
    expect_rejected(EV("\"event_id\":\"a{b}\""), "invalid_value", "event_id");
    expect_string_len("event_id", 128, 'a');
}

static void test_user_and_session(void **state)
{
    struct event_batch b;

    (void)state;
    parse_one_ok(EV("\"user_id\":\"user@example.com\",\"session_id\":\"s 1\""), &b);
    assert_string_equal(b.events[0].user_id, "user@example.com");
    assert_string_equal(b.events[0].session_id, "s 1");
    event_batch_fini(&b);

    parse_one_ok(EV("\"user_id\":null,\"session_id\":null"), &b);
    assert_string_equal(b.events[0].user_id, "");
    assert_string_equal(b.events[0].session_id, "");
    event_batch_fini(&b);

    expect_ok(EV("\"user_id\":\"\""));
    expect_rejected(EV("\"user_id\":1"), "invalid_type", "user_id");
    expect_rejected(EV("\"session_id\":true"), "invalid_type", "session_id");
    expect_rejected(EV("\"user_id\":\"a\\nb\""), "invalid_value", "user_id");
    expect_rejected(EV("\"session_id\":\"\\u0001\""), "invalid_value", "session_id");
    expect_string_len("user_id", 128, 'u');
    expect_string_len("session_id", 128, 's');
}

static void test_urls(void **state)
{
    struct event_batch b;

    (void)state;
    parse_one_ok(EV("\"page_url\":\"https://a.example/x\",\"referrer_url\":null"), &b);
    assert_string_equal(b.events[0].page_url, "https://a.example/x");
    assert_string_equal(b.events[0].referrer_url, "");
    event_batch_fini(&b);

    expect_rejected(EV("\"page_url\":5"), "invalid_type", "page_url");
    expect_rejected(EV("\"referrer_url\":[]"), "invalid_type", "referrer_url");
    expect_rejected(EV("\"page_url\":\"https://a\\r\\n.example\""), "invalid_value", "page_url");
    expect_string_len("page_url", 4096, 'p');
    expect_string_len("referrer_url", 4096, 'r');
}

/* ---- timestamps ---- */

static void expect_ts(const char *json, long long ms)
{
    struct event_batch b;

    parse_one_ok(json, &b);
    assert_true(b.events[0].client_ts_present);
    if (b.events[0].client_ts_ms != ms) {
        fail_msg("client_ts_ms %lld, expected %lld for %s", (long long)b.events[0].client_ts_ms, ms,
                 json);
    }
    event_batch_fini(&b);
}

static void test_timestamp(void **state)
{
    struct event_batch b;

    (void)state;
    expect_ts(EV("\"timestamp\":1700000000123"), 1700000000123LL);
    expect_ts(EV("\"timestamp\":0"), 0);
    expect_ts(EV("\"timestamp\":4102444799999"), 4102444799999LL);
    expect_ts(EV("\"timestamp\":1.7e12"), 1700000000000LL);
    expect_ts(EV("\"timestamp\":\"2023-11-14T22:13:20.123Z\""), 1700000000123LL);
    expect_ts(EV("\"timestamp\":\"2023-11-14 23:13:20+01:00\""), 1700000000000LL);

    parse_one_ok(EV("\"timestamp\":null"), &b);
    assert_false(b.events[0].client_ts_present);
    assert_true(b.events[0].client_ts_ms == RECEIVED_MS);
    event_batch_fini(&b);

    expect_rejected(EV("\"timestamp\":4102444800000"), "invalid_timestamp", "timestamp");
    expect_rejected(EV("\"timestamp\":-1"), "invalid_timestamp", "timestamp");
    expect_rejected(EV("\"timestamp\":1700000000000.5"), "invalid_timestamp", "timestamp");
    expect_rejected(EV("\"timestamp\":1e300"), "invalid_timestamp", "timestamp");
    expect_rejected(EV("\"timestamp\":\"yesterday\""), "invalid_timestamp", "timestamp");
    expect_rejected(EV("\"timestamp\":\"1700000000000\""), "invalid_timestamp", "timestamp");
    expect_rejected(EV("\"timestamp\":\"2100-01-01T00:00:00Z\""), "invalid_timestamp", "timestamp");
    expect_rejected(EV("\"timestamp\":\"1969-12-31T23:59:59Z\""), "invalid_timestamp", "timestamp");
    expect_rejected(EV("\"timestamp\":true"), "invalid_type", "timestamp");
    expect_rejected(EV("\"timestamp\":{}"), "invalid_type", "timestamp");
}

static void test_clock_skew(void **state)
{
    struct event_batch b;
    char json[256];

    (void)state;
    /* exactly the tolerance, both ways: not suspect */
    snprintf(json, sizeof(json), EV("\"timestamp\":%lld"), RECEIVED_MS - DAY_MS);
    parse_one_ok(json, &b);
    assert_true(b.events[0].clock_skew_ms == DAY_MS);
    assert_false(b.events[0].clock_skew_suspect);
    event_batch_fini(&b);
    snprintf(json, sizeof(json), EV("\"timestamp\":%lld"), RECEIVED_MS + DAY_MS);
    parse_one_ok(json, &b);
    assert_true(b.events[0].clock_skew_ms == -DAY_MS);
    assert_false(b.events[0].clock_skew_suspect);
    event_batch_fini(&b);

    /* one millisecond beyond: suspect */
    snprintf(json, sizeof(json), EV("\"timestamp\":%lld"), RECEIVED_MS - DAY_MS - 1);
    parse_one_ok(json, &b);
    assert_true(b.events[0].clock_skew_ms == DAY_MS + 1);
    assert_true(b.events[0].clock_skew_suspect);
    event_batch_fini(&b);
    snprintf(json, sizeof(json), EV("\"timestamp\":%lld"), RECEIVED_MS + DAY_MS + 1);
    parse_one_ok(json, &b);
    assert_true(b.events[0].clock_skew_ms == -DAY_MS - 1);
    assert_true(b.events[0].clock_skew_suspect);
    event_batch_fini(&b);
}

/* ---- historical batches ---- */

static void test_historical_batch(void **state)
{
    static const char json[] = "{\"historical\":true,\"events\":["
                               "{" BASE ",\"timestamp\":1000000000000},"
                               "{" BASE "},"
                               "{" BASE ",\"timestamp\":\"2001-09-09T01:46:40Z\"},"
                               "{" BASE ",\"timestamp\":null}]}";
    struct event_limits nolim; /* 2001 is beyond the retention: that is test_event_age */
    struct event_batch b;
    char err[256];

    (void)state;
    event_limits_default(&nolim);
    nolim.retention_days = 0;
    assert_int_equal(parse_lim(json, &nolim, &b, err, sizeof(err)), 0);
    assert_true(b.historical);
    assert_int_equal(b.total, 4);
    assert_int_equal(b.n_events, 2);
    assert_int_equal(b.n_rejected, 2);
    for (size_t i = 0; i < 2; i++) {
        const Analytics__V1__RawEvent *e = &b.events[i];

        assert_true(e->historical);
        assert_true(e->client_ts_ms == 1000000000000LL);
        assert_true(e->clock_skew_ms == RECEIVED_MS - 1000000000000LL);
        assert_false(e->clock_skew_suspect); /* never for historical */
    }
    assert_int_equal(b.events[0].batch_index, 0);
    assert_int_equal(b.events[1].batch_index, 2);
    assert_int_equal(b.rejected[0].index, 1);
    assert_string_equal(b.rejected[0].code, "missing_field");
    assert_non_null(strstr(b.rejected[0].error, "timestamp"));
    assert_int_equal(b.rejected[1].index, 3);
    event_batch_fini(&b);

    /* not historical: the same old timestamp is suspect */
    assert_int_equal(parse("{\"historical\":false,\"events\":[{" BASE
                           ",\"timestamp\":1000000000000}]}",
                           &b, err, sizeof(err)),
                     0);
    assert_false(b.historical);
    assert_false(b.events[0].historical);
    assert_true(b.events[0].clock_skew_suspect);
    event_batch_fini(&b);

    /* a single event may say it too */
    assert_int_equal(
        parse_lim("{" BASE ",\"historical\":true,\"timestamp\":1}", &nolim, &b, err, sizeof(err)),
        0);
    assert_true(b.historical);
    assert_true(b.events[0].historical);
    event_batch_fini(&b);
    expect_rejected("{" BASE ",\"historical\":true}", "missing_field", "timestamp");

    EXPECT_FAIL("{\"historical\":\"yes\",\"events\":[{" BASE "}]}", "historical");
    EXPECT_FAIL("{\"historical\":1,\"events\":[{" BASE "}]}", "historical");
}

/* ---- event_data ---- */

static void test_event_data(void **state)
{
    struct event_batch b;

    (void)state;
    parse_one_ok(EV("\"event_data\":{ }"), &b);
    assert_string_equal(b.events[0].event_data_json, "{}");
    event_batch_fini(&b);
    parse_one_ok(EV("\"event_data\":null"), &b);
    assert_string_equal(b.events[0].event_data_json, "{}");
    event_batch_fini(&b);
    parse_one_ok(EV("\"event_data\":\n{\"a\" :\t[ 1 , {\"b\":\"c\\\"d\"} ] }"), &b);
    assert_string_equal(b.events[0].event_data_json, "{\"a\":[1,{\"b\":\"c\\\"d\"}]}");
    event_batch_fini(&b);

    expect_rejected(EV("\"event_data\":[]"), "invalid_type", "event_data");
    expect_rejected(EV("\"event_data\":\"{}\""), "invalid_type", "event_data");
    expect_rejected(EV("\"event_data\":3"), "invalid_type", "event_data");
    expect_rejected(EV("\"event_data\":{\"n\":1e400}"), "invalid_value", "event_data");
}

static void expect_data_json(const char *json, const char *want)
{
    struct event_batch b;

    parse_one_ok(json, &b);
    if (strcmp(b.events[0].event_data_json, want) != 0) {
        fail_msg("event_data_json %s, expected %s, for %s", b.events[0].event_data_json, want,
                 json);
    }
    event_batch_fini(&b);
}

/* event_data_json is the client's text without whitespace, or cJSON's
 * rewriting where that text is not strict JSON or cannot be found raw. */
static void test_event_data_json(void **state)
{
    struct event_batch b;
    char err[256];

    (void)state;
    /* numbers are kept exactly, escapes as written */
    expect_data_json(EV("\"event_data\":{\"order\": 12345678901234567890, \"n\": 9007199254740993,"
                        " \"p\": 59.90, \"e\": -1.5E+3}"),
                     "{\"order\":12345678901234567890,\"n\":9007199254740993,\"p\":59.90,"
                     "\"e\":-1.5E+3}");
    expect_data_json(EV("\"event_data\":{\"s\":\"} {\\\" \\\\\\u00e9 ,\\n\"}"),
                     "{\"s\":\"} {\\\" \\\\\\u00e9 ,\\n\"}");
    expect_data_json(EV("\"event_data\":{\"t\":true,\"f\":false,\"z\":null,\"a\":[ ]}"),
                     "{\"t\":true,\"f\":false,\"z\":null,\"a\":[]}");
    /* fields elsewhere named event_data do not count */
    expect_data_json("{\"other\":{\"event_data\":{\"x\":1}},\"a\":[1,{\"b\":2},3]," BASE
                     ",\"event_data\":{\"y\":2}}",
                     "{\"y\":2}");
    /* a key written with escapes is the key (cJSON prints the data then) */
    expect_data_json(EV("\"event\\u005fdata\":{\"a\":1}"), "{\"a\":1}");
    /* what cJSON accepts but JSON does not is rewritten by cJSON */
    expect_data_json(EV("\"event_data\":{\"n\":01,\"m\":1.}"), "{\"n\":1,\"m\":1}");
    expect_data_json(EV("\"event_data\":{\"s\":\"a\tb\"}"), "{\"s\":\"a\\tb\"}");

    /* in a batch, each event its own; an escaped "events" key still works */
    assert_int_equal(parse("{\"events\":[{" BASE ",\"event_data\":{ \"i\" : 0 }},{" BASE "},{" BASE
                           ",\"event_data\":{\"i\":[2, 2]}}]}",
                           &b, err, sizeof(err)),
                     0);
    assert_int_equal(b.n_events, 3);
    assert_string_equal(b.events[0].event_data_json, "{\"i\":0}");
    assert_string_equal(b.events[1].event_data_json, "{}");
    assert_string_equal(b.events[2].event_data_json, "{\"i\":[2,2]}");
    event_batch_fini(&b);
    /* objects in other top-level arrays are not events */
    assert_int_equal(parse("{\"meta\":[{\"event_data\":{\"z\":9},\"user_id\":[1]}],"
                           "\"events\":[{\"event_data\":{\"a\":1}," BASE "}]}",
                           &b, err, sizeof(err)),
                     0);
    assert_int_equal(b.n_events, 1);
    assert_string_equal(b.events[0].event_data_json, "{\"a\":1}");
    event_batch_fini(&b);
    /* an escaped "events" key is found by position, its events' data raw */
    assert_int_equal(parse("{\"x\":{\"events\":[]},\"\\u0065vents\":[{" BASE
                           ",\"event_data\":{\"i\" : 1}}]}",
                           &b, err, sizeof(err)),
                     0);
    assert_int_equal(b.n_events, 1);
    assert_string_equal(b.events[0].event_data_json, "{\"i\":1}");
    event_batch_fini(&b);
}

static void test_event_data_depth(void **state)
{
    (void)state;
    /* the object itself is level 1, so five levels in all are allowed */
    expect_ok(EV("\"event_data\":{\"a\":{\"b\":{\"c\":{\"d\":1}}}}"));
    expect_ok(EV("\"event_data\":{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":1}}}}}"));
    expect_ok(EV("\"event_data\":{\"a\":[[[[1]]]]}"));
    expect_rejected(EV("\"event_data\":{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{}}}}}}"), "too_deep",
                    "event_data");
    expect_rejected(EV("\"event_data\":{\"a\":[[[[[]]]]]}"), "too_deep", "event_data");
}

/* An event whose event_data holds n properties: k0..k(n-1), or nested ones. */
static char *event_with_props(size_t n, int nested)
{
    size_t cap = 64 + n * 16;
    char *s = malloc(cap);
    size_t len;

    assert_non_null(s);
    len = (size_t)snprintf(s, cap, "{" BASE ",\"event_data\":{");
    if (nested) {
        /* "o":{k1..} and "arr":[...] : the keys "o" and "arr" count, and each element */
        size_t arr = (n - 2) / 2, keys = n - 2 - arr;

        len += (size_t)snprintf(s + len, cap - len, "\"o\":{");
        for (size_t i = 0; i < keys; i++) {
            len += (size_t)snprintf(s + len, cap - len, "%s\"k%zu\":%zu", i ? "," : "", i, i);
        }
        len += (size_t)snprintf(s + len, cap - len, "},\"arr\":[");
        for (size_t i = 0; i < arr; i++) {
            len += (size_t)snprintf(s + len, cap - len, "%s%zu", i ? "," : "", i);
        }
        len += (size_t)snprintf(s + len, cap - len, "]");
    } else {
        for (size_t i = 0; i < n; i++) {
            len += (size_t)snprintf(s + len, cap - len, "%s\"k%zu\":%zu", i ? "," : "", i, i);
        }
    }
    snprintf(s + len, cap - len, "}}");
    return s;
}

static void test_event_data_props(void **state)
{
    char *s;

    (void)state;
    s = event_with_props(100, 0);
    expect_ok(s);
    free(s);
    s = event_with_props(101, 0);
    expect_rejected(s, "too_many_properties", "event_data");
    free(s);
    s = event_with_props(100, 1);
    expect_ok(s);
    free(s);
    s = event_with_props(101, 1);
    expect_rejected(s, "too_many_properties", "event_data");
    free(s);
}

static void test_event_data_strings(void **state)
{
    char *s = malloc(2200);
    size_t k;

    (void)state;
    assert_non_null(s);
    k = (size_t)snprintf(s, 2200, "{" BASE ",\"event_data\":{\"l\":[\"");
    memset(s + k, 'x', 2048);
    memcpy(s + k + 2048, "\"]}}", 5);
    expect_ok(s);
    memcpy(s + k + 2048, "x\"]}}", 6);
    expect_rejected(s, "too_long", "event_data");

    /* keys are strings too */
    k = (size_t)snprintf(s, 2200, "{" BASE ",\"event_data\":{\"");
    memset(s + k, 'k', 2049);
    memcpy(s + k + 2049, "\":1}}", 6);
    expect_rejected(s, "too_long", "event_data");
    free(s);
}

/* ---- consent ---- */

static void expect_consent(const char *json, int nec, int ana, int mar)
{
    struct event_batch b;
    const Analytics__V1__Consent *c;

    parse_one_ok(json, &b);
    c = b.events[0].consent;
    assert_non_null(c);
    assert_true(c->specified);
    assert_int_equal(!!c->necessary, nec);
    assert_int_equal(!!c->analytics, ana);
    assert_int_equal(!!c->marketing, mar);
    event_batch_fini(&b);
}

static void test_consent(void **state)
{
    struct event_batch b;

    (void)state;
    expect_consent(EV("\"consent\":[\"necessary\",\"analytics\"]"), 1, 1, 0);
    expect_consent(EV("\"consent\":[\"marketing\",\"marketing\"]"), 0, 0, 1);
    expect_consent(EV("\"consent\":[]"), 0, 0, 0);
    expect_consent(EV("\"consent\":{\"necessary\":true,\"analytics\":false,\"marketing\":true}"), 1,
                   0, 1);
    expect_consent(EV("\"consent\":{}"), 0, 0, 0);

    parse_one_ok(EV("\"consent\":null"), &b);
    assert_false(b.events[0].consent->specified);
    event_batch_fini(&b);

    expect_rejected(EV("\"consent\":[\"necessary\",\"ads\"]"), "invalid_value", "ads");
    expect_rejected(EV("\"consent\":[\"Necessary\"]"), "invalid_value", "consent");
    expect_rejected(EV("\"consent\":[1]"), "invalid_type", "consent");
    expect_rejected(EV("\"consent\":{\"ads\":true}"), "invalid_value", "ads");
    expect_rejected(EV("\"consent\":{\"analytics\":\"yes\"}"), "invalid_type", "analytics");
    expect_rejected(EV("\"consent\":{\"analytics\":1}"), "invalid_type", "consent");
    expect_rejected(EV("\"consent\":\"all\""), "invalid_type", "consent");
    expect_rejected(EV("\"consent\":true"), "invalid_type", "consent");
}

/* ---- \u0000 ---- */

static void test_nul_escape(void **state)
{
    static const char batch[] = "{\"events\":[{" BASE ",\"user_id\":\"ok\"},"
                                "{" BASE ",\"user_id\":\"ad\\u0000min\"},"
                                "{" BASE ",\"other\":\"x\\u0000y\"},"
                                "{" BASE ",\"event_data\":{\"a\":[{\"b\":\"\\u0000\"}]}}]}";
    struct event_batch b;
    char err[256];

    (void)state;
    expect_rejected("{\"event_type\":\"t\",\"fingerprint\":\"a\\u0000b\"}", "invalid_value",
                    "fingerprint");
    expect_rejected(EV("\"event_data\":{\"k\\u0000\":1}"), "invalid_value", "event_data");
    /* an escaped backslash followed by u0000 is plain text */
    parse_one_ok(EV("\"user_id\":\"a\\\\u0000\""), &b);
    assert_string_equal(b.events[0].user_id, "a\\u0000");
    event_batch_fini(&b);
    /* ignored fields too, and keys, however they are written */
    expect_rejected(EV("\"note\":\"\\u0000\""), "invalid_value", "'note' contains a NUL");
    expect_rejected(EV("\"page_\\u0075rl\":\"https://x/a\\u0000SECRET\""), "invalid_value",
                    "'page_url' contains a NUL");
    expect_rejected(EV("\"x\\u0000y\":1"), "invalid_value", "NUL");
    expect_rejected(EV("\"n\":{\"deep\":[{\"k\\u0000\":1}]}"), "invalid_value",
                    "'n' contains a NUL");

    assert_int_equal(parse(batch, &b, err, sizeof(err)), 0);
    assert_int_equal(b.n_events, 1);
    assert_int_equal(b.events[0].batch_index, 0);
    assert_int_equal(b.n_rejected, 3);
    assert_int_equal(b.rejected[0].index, 1);
    assert_non_null(strstr(b.rejected[0].error, "user_id"));
    assert_int_equal(b.rejected[1].index, 2);
    assert_non_null(strstr(b.rejected[1].error, "'other'"));
    assert_int_equal(b.rejected[2].index, 3);
    assert_non_null(strstr(b.rejected[2].error, "event_data"));
    event_batch_fini(&b);

    /* outside the events, the whole request fails; so does a bare string element */
    EXPECT_FAIL("{\"meta\":\"a\\u0000\",\"events\":[{" BASE "}]}",
                "invalid_value: a string holds a NUL character (\\u0000) at byte 8");
    EXPECT_FAIL("{\"m\\u0000\":1,\"events\":[{" BASE "}]}", "NUL character");
    assert_int_equal(parse("{\"events\":[{" BASE "},\"\\u0000\"]}", &b, err, sizeof(err)), 0);
    assert_int_equal(b.n_events, 1);
    assert_int_equal(b.n_rejected, 1);
    assert_int_equal(b.rejected[0].index, 1);
    event_batch_fini(&b);
}

/* ---- nesting, duplicate keys, numbers, event time (issue 11) ---- */

/* Returns a heap body: prefix, then d copies of open, d of close, then suffix. */
static char *nested_body(const char *prefix, size_t d, const char *open, const char *close,
                         const char *suffix)
{
    size_t lo = strlen(open), lc = strlen(close), lp = strlen(prefix), ls = strlen(suffix);
    char *s = malloc(lp + d * (lo + lc) + ls + 1), *p = s;

    assert_non_null(s);
    memcpy(p, prefix, lp);
    p += lp;
    for (size_t i = 0; i < d; i++, p += lo) {
        memcpy(p, open, lo);
    }
    for (size_t i = 0; i < d; i++, p += lc) {
        memcpy(p, close, lc);
    }
    memcpy(p, suffix, ls + 1);
    return s;
}

/* Expects body (heap) to fail as a whole with needle in the message; frees it. */
static void expect_fail_free(char *body, const char *needle)
{
    expect_fail(body, strlen(body), needle);
    free(body);
}

static void test_nesting_bounded(void **state)
{
    struct event_limits lim;
    struct event_batch b;
    char err[256];
    char *s;

    (void)state;
    /* the body: 700 arrays in an unknown field, crashed cJSON's recursion */
    expect_fail_free(
        nested_body("{\"event_type\":\"a\",\"fingerprint\":\"f\",\"x\":", 700, "[", "]", "}"),
        "too_deep: arrays and objects nest deeper than 32 levels at byte 71");
    /* objects, in event_data, in a batch element that is rejected anyway, very deep */
    expect_fail_free(nested_body("{" BASE ",\"event_data\":", 610, "{\"a\":", "}", "}"),
                     "too_deep");
    expect_fail_free(nested_body("{\"events\":[{" BASE "},{\"x\":", 700, "[", "]", "}]}"),
                     "too_deep");
    expect_fail_free(nested_body("{\"a\":", 200000, "[", "]", "}"), "too_deep");
    expect_fail_free(nested_body("", 100000, "[", "]", ""), "too_deep");
    /* unbalanced or broken text is still bounded, then malformed */
    expect_fail_free(nested_body("{\"a\":", 100, "[", "", "}"), "too_deep");
    s = nested_body("{\"a\":", 20, "[", "", "}");
    expect_fail(s, strlen(s), "malformed JSON");
    free(s);

    /* exactly 32 levels is fine: the body is 1, an unknown field holds 31 */
    s = nested_body("{" BASE ",\"x\":", 31, "[", "]", "}");
    assert_int_equal(parse(s, &b, err, sizeof(err)), 0);
    assert_int_equal(b.n_events, 1);
    event_batch_fini(&b);
    free(s);
    s = nested_body("{" BASE ",\"x\":", 32, "[", "]", "}");
    expect_fail(s, strlen(s), "too_deep");
    free(s);
    /* a batch: wrapper 1, events 2, event 3, so event_data's 5 levels reach 8 */
    assert_int_equal(parse("{\"events\":[{" BASE
                           ",\"event_data\":{\"a\":{\"b\":{\"c\":{\"d\":[1]}}}}}]}",
                           &b, err, sizeof(err)),
                     0);
    assert_int_equal(b.n_events, 1);
    event_batch_fini(&b);

    /* brackets in strings, escaped quotes and backslashes do not count */
    s = nested_body("{" BASE ",\"x\":\"", 100, "[", "}", "\",\"y\":\"\\\"[[[[\\\\\"}");
    assert_int_equal(parse(s, &b, err, sizeof(err)), 0);
    assert_int_equal(b.n_events, 1);
    event_batch_fini(&b);
    free(s);
    assert_int_equal(textcheck_nesting("[\"\\\\\"[[]]]", 11, 3, NULL), 0);
    assert_int_equal(textcheck_nesting("[\"\\\\\"[[[]]]]", 13, 3, NULL), -1);
    assert_int_equal(textcheck_nesting("[\"\\\"[[[[\"]", 11, 1, NULL), 0);
    assert_int_equal(textcheck_nesting("\"[[[", 4, 1, NULL), 0); /* unterminated string */
    {
        size_t at = 0;

        assert_int_equal(textcheck_nesting("{\"a\":[[", 7, 2, &at), -1);
        assert_int_equal(at, 6);
    }

    /* every alignment of an escape against the 16-byte blocks: a backslash
     * at the end of one block takes the first byte of the next */
    for (size_t pad = 0; pad < 40; pad++) {
        char buf[128];
        size_t at = 0;
        int k = snprintf(buf, sizeof(buf), "[\"%.*s\\\"[[\",[[]]]", (int)pad,
                         "........................................");

        assert_int_equal(textcheck_nesting(buf, (size_t)k, 3, NULL), 0);
        assert_int_equal(textcheck_nesting(buf, (size_t)k, 2, &at), -1);
        assert_int_equal(at, (size_t)k - 4); /* the second [ after the string */
        k = snprintf(buf, sizeof(buf), "[\"%.*s\\\\\"[[\",[[]]]", (int)pad,
                     "........................................");
        assert_int_equal(textcheck_nesting(buf, (size_t)k, 2, &at), -1);
        assert_int_equal(at, (size_t)k - 8); /* the string ended before [[: its second [ */
    }

    /* the limit is configurable below the hard bound, never above it */
    event_limits_default(&lim);
    lim.max_nesting = 2;
    assert_int_equal(parse_lim(EV("\"x\":[1]"), &lim, &b, err, sizeof(err)), 0);
    event_batch_fini(&b);
    assert_int_equal(parse_lim(EV("\"x\":[[1]]"), &lim, &b, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "deeper than 2 levels"));
    lim.max_nesting = 100000;
    s = nested_body("{" BASE ",\"x\":", EVENT_NESTING_MAX, "[", "]", "}");
    assert_int_equal(parse_lim(s, &lim, &b, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "deeper than 64 levels"));
    free(s);
}

static void test_duplicate_keys(void **state)
{
    struct event_batch b;
    char err[256];
    char big[1024];
    size_t n = 0;

    (void)state;
    /* at the top of an event: known fields, however written, and unknown ones */
    expect_rejected("{\"event_type\":\"a\",\"event_type\":\"b\",\"fingerprint\":\"f\"}",
                    "duplicate_key", "field 'event_type' appears twice");
    expect_rejected(EV("\"page_url\":\"https://x/a\",\"page_\\u0075rl\":\"https://evil/\""),
                    "duplicate_key", "'page_url' appears twice");
    expect_rejected(EV("\"event_data\":{\"a\":1},\"event_data\":{\"b\":2}"), "duplicate_key",
                    "'event_data' appears twice");
    expect_rejected(EV("\"note\":1,\"note\":2"), "duplicate_key", "'note'");
    /* in event_data, at any level, escaped or not */
    expect_rejected(EV("\"event_data\":{\"a\":1,\"a\":2}"), "duplicate_key",
                    "key 'a' appears twice in field 'event_data'");
    expect_rejected(EV("\"event_data\":{\"price\":1,\"pri\\u0063e\":2}"), "duplicate_key",
                    "'price'");
    expect_rejected(EV("\"event_data\":{\"o\":[{\"k\":1,\"k\":2}]}"), "duplicate_key", "'k'");
    /* equal values at different places are fine, and so are different keys */
    expect_ok(EV("\"event_data\":{\"a\":{\"a\":1},\"b\":[{\"a\":1},{\"a\":2}]}"));

    /* a large object is sorted rather than compared pairwise */
    n += (size_t)snprintf(big + n, sizeof(big) - n, "{" BASE ",\"event_data\":{");
    for (int i = 0; i < 40; i++) {
        n += (size_t)snprintf(big + n, sizeof(big) - n, "%s\"k%d\":%d", i ? "," : "", i, i);
    }
    snprintf(big + n, sizeof(big) - n, "}}");
    expect_ok(big);
    snprintf(big + n, sizeof(big) - n, ",\"k17\":0}}");
    expect_rejected(big, "duplicate_key", "key 'k17' appears twice");

    /* in a batch only that event is rejected */
    assert_int_equal(parse("{\"events\":[{" BASE "},{" BASE
                           ",\"event_data\":{\"a\":1,\"a\":1}},{" BASE
                           ",\"fingerprint\":\"other\"}]}",
                           &b, err, sizeof(err)),
                     0);
    assert_int_equal(b.n_events, 1);
    assert_int_equal(b.n_rejected, 2);
    assert_int_equal(b.rejected[0].index, 1);
    assert_string_equal(b.rejected[0].code, "duplicate_key");
    assert_int_equal(b.rejected[1].index, 2);
    assert_string_equal(b.rejected[1].code, "duplicate_key");
    event_batch_fini(&b);
    /* the batch's own members fail the request */
    EXPECT_FAIL("{\"events\":[{" BASE "}],\"events\":[{" BASE "}]}",
                "duplicate_key: key 'events' appears twice in the batch");
    EXPECT_FAIL("{\"\\u0065vents\":[{" BASE "}],\"events\":[{" BASE "}]}",
                "'events' appears twice");
    EXPECT_FAIL("{\"historical\":false,\"events\":[{" BASE "}],\"historical\":true}",
                "'historical' appears twice");
    EXPECT_FAIL("{\"meta\":{\"a\":1,\"a\":2},\"events\":[{" BASE "}]}", "'a' appears twice");
}

static void test_numbers_fit_numeric(void **state)
{
    /* what PostgreSQL 15 answered for '{"n":X}'::jsonb */
    static const char *const fits[] = {
        "0",        "-0",        "1e-16383", "1.5e-16382",     "1e131071",
        "9e131071", "12e131070", "1e-400",   "1E+1000",        "0e999999999",
        "59.90",    "-1.5E+3",   "1e400",    "0.00001e131076", "123456789012345678901234567890",
    };
    static const char *const refused[] = {
        "1e-20000",
        "1e-16384",
        "0e-20000",
        "0e-16384",
        "0.0e-16384",
        "1.5e-16383",
        "1e131072",
        "1e1073741823",
        "0e2000000000",
        "1e-1073741823",
        "0.00001e131077",
        "100e-16385",
        "1e99999999999999999999",
    };
    char buf[140000];

    (void)state;
    for (size_t i = 0; i < sizeof(fits) / sizeof(fits[0]); i++) {
        if (!textcheck_numeric(fits[i], strlen(fits[i]))) {
            fail_msg("%s should fit", fits[i]);
        }
    }
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        if (textcheck_numeric(refused[i], strlen(refused[i]))) {
            fail_msg("%s should not fit", refused[i]);
        }
    }
    /* long digit strings: 131072 digits before the point and 16383 after fit */
    memset(buf, '1', 131073);
    assert_true(textcheck_numeric(buf, 131072));
    assert_false(textcheck_numeric(buf, 131073));
    memcpy(buf, "1.", 2);
    memset(buf + 2, '0', 16384);
    assert_true(textcheck_numeric(buf, 2 + 16383));
    assert_false(textcheck_numeric(buf, 2 + 16384));
}

static void test_numbers_storable(void **state)
{
    struct event_batch b;
    char err[256];
    char *s;

    (void)state;
    /* answered 202, then refused by PostgreSQL: now rejected at once */
    expect_rejected(EV("\"event_data\":{\"n\":1e-20000}"), "invalid_value",
                    "field 'event_data' has a number PostgreSQL's numeric cannot hold");
    expect_rejected(EV("\"event_data\":{\"a\":[1,{\"n\":0e-16384}]}"), "invalid_value", "numeric");
    expect_rejected(EV("\"event_data\":{\"n\":-1.5e-16383}"), "invalid_value", "numeric");
    expect_rejected(EV("\"event_d\\u0061ta\":{\"n\":1e-20000}"), "invalid_value", "numeric");
    expect_rejected(EV("\"extra\":1e131072"), "invalid_value", "field 'extra'");
    /* not finite as a double: refused as before */
    expect_rejected(EV("\"event_data\":{\"n\":1e400}"), "invalid_value", "out of range");
    /* small, exact and odd-but-storable numbers keep their text */
    expect_data_json(EV("\"event_data\":{\"n\":1e-400,\"z\":0e999999999}"),
                     "{\"n\":1e-400,\"z\":0e999999999}");
    /* outside the events, the request fails */
    EXPECT_FAIL("{\"x\":1e-20000,\"events\":[{" BASE "}]}",
                "invalid_value: the number at byte 5 does not fit PostgreSQL's numeric");
    /* in a batch, only that event */
    assert_int_equal(parse("{\"events\":[{" BASE ",\"event_data\":{\"n\":1e-20000}},{" BASE "}]}",
                           &b, err, sizeof(err)),
                     0);
    assert_int_equal(b.n_events, 1);
    assert_int_equal(b.events[0].batch_index, 1);
    assert_int_equal(b.n_rejected, 1);
    assert_int_equal(b.rejected[0].index, 0);
    event_batch_fini(&b);
    /* a digit string beyond numeric's limits is never accepted */
    s = nested_body("{" BASE ",\"event_data\":{\"n\":1.", 16384, "0", "", "}}");
    if (parse(s, &b, err, sizeof(err)) == 0) {
        assert_int_equal(b.n_events, 0);
        event_batch_fini(&b);
    }
    free(s);
}

/* An event of a historical batch (or a live one) at client time ts. */
static int parse_at(bool historical, long long ts, const struct event_limits *lim,
                    struct event_batch *b)
{
    char json[256], err[256];

    snprintf(json, sizeof(json), "{\"historical\":%s,\"events\":[{" BASE ",\"timestamp\":%lld}]}",
             historical ? "true" : "false", ts);
    assert_int_equal(parse_lim(json, lim, b, err, sizeof(err)), 0);
    return b->n_events == 1 ? 0 : -1;
}

static void expect_at(bool historical, long long ts, const struct event_limits *lim,
                      const char *code)
{
    struct event_batch b;
    int rc = parse_at(historical, ts, lim, &b);

    if (code == NULL && rc != 0) {
        fail_msg("ts %lld rejected: %s", ts, b.rejected[0].error);
    }
    if (code != NULL) {
        if (rc == 0) {
            fail_msg("ts %lld accepted, expected %s", ts, code);
        }
        assert_string_equal(b.rejected[0].code, code);
    }
    event_batch_fini(&b);
}

static void test_event_age(void **state)
{
    const long long today = RECEIVED_MS / DAY_MS * DAY_MS; /* 00:00 UTC of the receive day */
    struct event_limits lim;
    struct event_batch b;

    (void)state;
    event_limits_default(&lim);
    assert_true(lim.retention_days == 400);
    assert_true(lim.future_days == 2);
    /* the journey-builder keeps days from today - 400 to today + 2 */
    expect_at(true, today - 400 * DAY_MS, &lim, NULL);
    expect_at(true, today - 400 * DAY_MS - 1, &lim, "expired");
    expect_at(true, 1000000000000LL, &lim, "expired");
    expect_at(true, today + 3 * DAY_MS - 1, &lim, NULL);
    expect_at(true, today + 3 * DAY_MS, &lim, "future");
    parse_at(true, today + 30 * DAY_MS, &lim, &b);
    assert_non_null(strstr(b.rejected[0].error, "more than 2 days ahead"));
    event_batch_fini(&b);
    parse_at(true, 1, &lim, &b);
    assert_non_null(strstr(b.rejected[0].error, "older than the retention period (400 days)"));
    event_batch_fini(&b);
    /* a live event with a wild clock is kept at the receive time: fine */
    expect_at(false, 1000000000000LL, &lim, NULL);
    expect_at(false, today + 30 * DAY_MS, &lim, NULL);
    /* a live event within the skew tolerance keeps its time, so the bound applies */
    lim.max_skew_ms = 30LL * DAY_MS;
    expect_at(false, today + 29 * DAY_MS, &lim, "future");
    lim.retention_days = 7;
    expect_at(false, today - 10 * DAY_MS, &lim, "expired");
    /* configurable, and off */
    expect_at(true, today - 8 * DAY_MS, &lim, "expired");
    lim.retention_days = 0;
    lim.future_days = -1;
    expect_at(true, 1, &lim, NULL);
    expect_at(true, today + 3000 * DAY_MS, &lim, NULL);
    lim.future_days = 0;
    expect_at(true, today + DAY_MS, &lim, "future");
    /* an unknown receive time (no request) applies no bound */
    {
        static const char json[] = "{\"historical\":true,\"events\":[{" BASE ",\"timestamp\":1}]}";
        char err[256];

        assert_int_equal(
            event_batch_parse(json, sizeof(json) - 1, NULL, NULL, &b, err, sizeof(err)), 0);
        assert_int_equal(b.n_events, 1);
        event_batch_fini(&b);
    }
}

/* ---- batches ---- */

static void test_mixed_batch(void **state)
{
    static const char json[] = "{\"events\":[{" BASE ",\"user_id\":\"a\"},"
                               "42,"
                               "{\"event_type\":\"t\",\"fingerprint\":\"fp-bad\","
                               "\"timestamp\":\"nope\"},"
                               "{\"event_type\":\"t\"},"
                               "{" BASE ",\"user_id\":\"b\"}],\"extra\":1}";
    struct event_batch b;
    char err[256];

    (void)state;
    assert_int_equal(parse(json, &b, err, sizeof(err)), 0);
    assert_int_equal(b.total, 5);
    assert_false(b.historical);
    assert_int_equal(b.n_events, 2);
    assert_string_equal(b.events[0].user_id, "a");
    assert_int_equal(b.events[0].batch_index, 0);
    assert_string_equal(b.events[1].user_id, "b");
    assert_int_equal(b.events[1].batch_index, 4);

    assert_int_equal(b.n_rejected, 3);
    assert_int_equal(b.rejected[0].index, 1);
    assert_string_equal(b.rejected[0].code, "invalid_type");
    assert_string_equal(b.rejected[0].original, "42");
    assert_null(b.rejected[0].fingerprint);
    assert_int_equal(b.rejected[1].index, 2);
    assert_string_equal(b.rejected[1].code, "invalid_timestamp");
    assert_string_equal(b.rejected[1].original,
                        "{\"event_type\":\"t\",\"fingerprint\":\"fp-bad\",\"timestamp\":\"nope\"}");
    assert_string_equal(b.rejected[1].fingerprint, "fp-bad");
    assert_int_equal(b.rejected[2].index, 3);
    assert_string_equal(b.rejected[2].code, "missing_field");
    assert_null(b.rejected[2].fingerprint);
    event_batch_fini(&b);
    assert_int_equal(b.n_events + b.n_rejected + b.total, 0);
}

static void test_all_rejected(void **state)
{
    struct event_batch b;
    char err[256];

    (void)state;
    assert_int_equal(parse("{\"events\":[1,\"x\",null,[]]}", &b, err, sizeof(err)), 0);
    assert_int_equal(b.n_events, 0);
    assert_int_equal(b.n_rejected, 4);
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(b.rejected[i].index, i);
        assert_string_equal(b.rejected[i].code, "invalid_type");
    }
    assert_string_equal(b.rejected[3].original, "[]");
    event_batch_fini(&b);
}

/* A batch of n minimal events, each with an event_id of its index when ids is set. */
static char *batch_of(size_t n, int ids)
{
    size_t cap = 32 + n * 96;
    char *s = malloc(cap);
    size_t len;

    assert_non_null(s);
    len = (size_t)snprintf(s, cap, "{\"events\":[");
    for (size_t i = 0; i < n; i++) {
        if (ids) {
            len += (size_t)snprintf(s + len, cap - len, "%s{" BASE ",\"event_id\":\"id-%zu\"}",
                                    i ? "," : "", i);
        } else {
            len += (size_t)snprintf(s + len, cap - len, "%s{" BASE "}", i ? "," : "");
        }
    }
    snprintf(s + len, cap - len, "]}");
    return s;
}

static void test_max_batch(void **state)
{
    struct event_batch b;
    char err[256];
    char *s;

    (void)state;
    s = batch_of(500, 1);
    assert_int_equal(parse(s, &b, err, sizeof(err)), 0);
    assert_int_equal(b.n_events, 500);
    assert_int_equal(b.total, 500);
    assert_string_equal(b.events[499].event_id, "id-499");
    assert_int_equal(b.events[499].batch_index, 499);
    event_batch_fini(&b);
    free(s);

    s = batch_of(501, 1);
    expect_fail(s, strlen(s), "more than 500");
    free(s);

    /* a smaller limit */
    {
        struct event_limits lim;

        event_limits_default(&lim);
        lim.max_batch = 2;
        s = batch_of(3, 0);
        assert_int_equal(parse_lim(s, &lim, &b, err, sizeof(err)), -1);
        assert_non_null(strstr(err, "more than 2"));
        free(s);
        s = batch_of(2, 0);
        assert_int_equal(parse_lim(s, &lim, &b, err, sizeof(err)), 0);
        assert_int_equal(b.n_events, 2);
        event_batch_fini(&b);
        free(s);
    }
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void test_assigned_ids_distinct(void **state)
{
    struct event_batch b;
    const char *ids[200];
    char err[256];
    char *s = batch_of(200, 0);

    (void)state;
    assert_int_equal(parse(s, &b, err, sizeof(err)), 0);
    free(s);
    assert_int_equal(b.n_events, 200);
    for (size_t i = 0; i < 200; i++) {
        assert_true(b.events[i].event_id_assigned);
        if (!is_uuid_v4(b.events[i].event_id)) {
            fail_msg("not a lowercase UUID v4: %s", b.events[i].event_id);
        }
        ids[i] = b.events[i].event_id;
    }
    qsort(ids, 200, sizeof(ids[0]), cmp_str);
    for (size_t i = 1; i < 200; i++) {
        assert_string_not_equal(ids[i - 1], ids[i]);
    }
    event_batch_fini(&b);
}

/* ---- whole-request failures ---- */

static void test_request_failures(void **state)
{
    static const char bad_utf8[] = "{\"event_type\":\"t\",\"fingerprint\":\"\xc0\xaf\"}";
    static const char nul_body[] = "{\"event_type\":\"t\"}\0 ";
    struct event_batch b;
    char err[256];

    (void)state;
    expect_fail(bad_utf8, strlen(bad_utf8), "invalid UTF-8 at byte 33");
    EXPECT_FAIL("{\"event_type\":", "malformed JSON at byte");
    EXPECT_FAIL("{\"a\":1,}", "malformed JSON at byte 7");
    EXPECT_FAIL("{\"a\":tru}", "malformed JSON at byte");
    EXPECT_FAIL("{\"a\":1} x", "after the value at byte 8");
    EXPECT_FAIL("{\"a\":1}{}", "after the value at byte 7");
    expect_fail(nul_body, sizeof(nul_body) - 1, "NUL byte at byte 18");
    EXPECT_FAIL("", "empty body");
    EXPECT_FAIL("   ", "malformed JSON");
    EXPECT_FAIL("[{\"event_type\":\"t\",\"fingerprint\":\"f\"}]", "JSON object");
    EXPECT_FAIL("\"event\"", "JSON object");
    EXPECT_FAIL("42", "JSON object");
    EXPECT_FAIL("{\"events\":{}}", "'events' must be an array");
    EXPECT_FAIL("{\"events\":null}", "'events' must be an array");
    EXPECT_FAIL("{\"events\":[]}", "'events' is empty");

    /* whitespace around the value is fine */
    assert_int_equal(parse(" \r\n\t{" BASE "} \n", &b, err, sizeof(err)), 0);
    assert_int_equal(b.n_events, 1);
    event_batch_fini(&b);

    /* no room for a message is not a crash */
    assert_int_equal(event_batch_parse("[]", 2, NULL, &test_req, &b, NULL, 0), -1);
    assert_int_equal(event_batch_parse("[]", 2, NULL, &test_req, &b, err, 1), -1);
    assert_string_equal(err, "");
}

/* ---- ISO-8601 ---- */

static long long iso(const char *s)
{
    long long ms = -12345;

    if (textcheck_iso8601(s, &ms) != 0) {
        fail_msg("rejected: %s", s);
    }
    return ms;
}

static void expect_iso_bad(const char *s)
{
    long long ms = 0;

    if (textcheck_iso8601(s, &ms) == 0) {
        fail_msg("accepted: \"%s\" as %lld", s, ms);
    }
}

static void test_iso8601(void **state)
{
    (void)state;
    assert_true(iso("1970-01-01T00:00:00Z") == 0);
    assert_true(iso("1970-01-01T00:00:00") == 0);
    assert_true(iso("1970-01-01 00:00:01") == 1000);
    assert_true(iso("2023-11-14T22:13:20Z") == 1700000000000LL);
    assert_true(iso("2023-11-14T22:13:20.5Z") == 1700000000500LL);
    assert_true(iso("2023-11-14T22:13:20.05Z") == 1700000000050LL);
    assert_true(iso("2023-11-14T22:13:20.123456789Z") == 1700000000123LL);
    assert_true(iso("2023-11-14T22:13:20.999999999") == 1700000000999LL);
    assert_true(iso("2023-11-15T00:13:20+02:00") == 1700000000000LL);
    assert_true(iso("2023-11-14T16:43:20-05:30") == 1700000000000LL);
    assert_true(iso("2023-11-14T22:13:20-00:00") == 1700000000000LL);
    assert_true(iso("2023-11-14T22:13:20.250+00:00") == 1700000000250LL);
    /* leap days */
    assert_true(iso("2024-02-29T00:00:00Z") == 1709164800000LL);
    assert_true(iso("2000-02-29T12:00:00Z") == 951825600000LL);
    /* a leap second rolls into the next minute */
    assert_true(iso("2016-12-31T23:59:60Z") == 1483228800000LL);
    /* before the epoch */
    assert_true(iso("1969-12-31T23:59:59Z") == -1000);
    assert_true(iso("1969-12-31T23:59:59.5Z") == -500);
    assert_true(iso("1900-03-01T00:00:00Z") == -2203891200000LL);
    assert_true(iso("2099-12-31T23:59:59.999Z") == 4102444799999LL);

    expect_iso_bad("2023-02-29T00:00:00Z");
    expect_iso_bad("1900-02-29T00:00:00Z");
    expect_iso_bad("2023-04-31T00:00:00Z");
    expect_iso_bad("2023-13-01T00:00:00Z");
    expect_iso_bad("2023-00-01T00:00:00Z");
    expect_iso_bad("2023-01-00T00:00:00Z");
    expect_iso_bad("2023-01-32T00:00:00Z");
    expect_iso_bad("2023-01-01T24:00:00Z");
    expect_iso_bad("2023-01-01T00:60:00Z");
    expect_iso_bad("2023-01-01T00:00:61Z");
    expect_iso_bad("2023-01-01T00:00:00.Z");
    expect_iso_bad("2023-01-01T00:00:00.1234567890Z");
    expect_iso_bad("2023-01-01T00:00:00+24:00");
    expect_iso_bad("2023-01-01T00:00:00+01:60");
    expect_iso_bad("2023-01-01T00:00:00+0100");
    expect_iso_bad("2023-01-01T00:00:00+01");
    expect_iso_bad("2023-01-01T00:00:00ZZ");
    expect_iso_bad("2023-01-01T00:00:00Z ");
    expect_iso_bad(" 2023-01-01T00:00:00Z");
    expect_iso_bad("2023-01-01t00:00:00Z");
    expect_iso_bad("2023-01-01T00:00");
    expect_iso_bad("2023-01-01");
    expect_iso_bad("2023-1-01T00:00:00Z");
    expect_iso_bad("23-01-01T00:00:00Z");
    expect_iso_bad("2023/01/01T00:00:00Z");
    expect_iso_bad("2023-01-01T0a:00:00Z");
    expect_iso_bad("");
    expect_iso_bad("garbage");
    {
        long long ms = 7;

        assert_int_equal(textcheck_iso8601(NULL, &ms), -1);
        assert_int_equal(textcheck_iso8601("1970-01-01T00:00:00Z", NULL), -1);
        assert_true(ms == 7);
    }
}

/* Compares with timegm over many dates. */
static void test_iso8601_vs_timegm(void **state)
{
    unsigned seed = 12345;

    (void)state;
    for (int i = 0; i < 20000; i++) {
        struct tm tm;
        char s[64];
        long long want;

        memset(&tm, 0, sizeof(tm));
        seed = seed * 1103515245u + 12345u;
        tm.tm_year = (int)(seed % 250) + 1; /* 1901..2150 */
        seed = seed * 1103515245u + 12345u;
        tm.tm_mon = (int)(seed % 12);
        seed = seed * 1103515245u + 12345u;
        tm.tm_mday = (int)(seed % 28) + 1;
        tm.tm_hour = (int)(seed >> 8) % 24;
        tm.tm_min = (int)(seed >> 16) % 60;
        tm.tm_sec = (int)(seed >> 4) % 60;
        want = (long long)timegm(&tm) * 1000;
        snprintf(s, sizeof(s), "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        if (iso(s) != want) {
            fail_msg("%s: %lld, timegm says %lld", s, iso(s), want);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_limits_default),
        cmocka_unit_test(test_minimal_event),
        cmocka_unit_test(test_null_request_strings),
        cmocka_unit_test(test_unknown_fields_ignored),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_event_type),
        cmocka_unit_test(test_fingerprint),
        cmocka_unit_test(test_event_id),
        cmocka_unit_test(test_user_and_session),
        cmocka_unit_test(test_urls),
        cmocka_unit_test(test_timestamp),
        cmocka_unit_test(test_clock_skew),
        cmocka_unit_test(test_historical_batch),
        cmocka_unit_test(test_event_data),
        cmocka_unit_test(test_event_data_json),
        cmocka_unit_test(test_event_data_depth),
        cmocka_unit_test(test_event_data_props),
        cmocka_unit_test(test_event_data_strings),
        cmocka_unit_test(test_consent),
        cmocka_unit_test(test_nul_escape),
        cmocka_unit_test(test_nesting_bounded),
        cmocka_unit_test(test_duplicate_keys),
        cmocka_unit_test(test_numbers_fit_numeric),
        cmocka_unit_test(test_numbers_storable),
        cmocka_unit_test(test_event_age),
        cmocka_unit_test(test_mixed_batch),
        cmocka_unit_test(test_all_rejected),
        cmocka_unit_test(test_max_batch),
        cmocka_unit_test(test_assigned_ids_distinct),
        cmocka_unit_test(test_request_failures),
        cmocka_unit_test(test_iso8601),
        cmocka_unit_test(test_iso8601_vs_timegm),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
