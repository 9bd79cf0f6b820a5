/*
 * Unit tests for the push-gateway's WebSocket control protocol
 * (services/push-gateway/ws_proto.c): every message parsed; every error
 * code with its worst input (10,000 levels of nesting, a 1 MB frame,
 * invalid UTF-8 of every kind, unknown channels and filter keys, values too
 * long, keys twice); the session's order (auth first, once); the flood
 * guard against 1,000 subscribes in a burst, and the hub's subscription
 * limit behind it; the replies, rendered exactly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ws_proto.h"

#include "analytics/cors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse(const char *s, struct ws_msg *m, struct ws_error *e)
{
    return ws_proto_parse(s, strlen(s), 0, m, e);
}

static void test_parse_each(void **state)
{
    struct ws_msg m;
    struct ws_error e;
    (void)state;

    assert_int_equal(parse("{\"type\":\"auth\",\"token\":\"0123456789abcdef\"}", &m, &e), 0);
    assert_int_equal(m.type, WS_AUTH);
    assert_string_equal(m.token, "0123456789abcdef");

    assert_int_equal(parse(" {\"type\":\"subscribe\",\"channel\":\"events\"}\r\n", &m, &e), 0);
    assert_int_equal(m.type, WS_SUBSCRIBE);
    assert_int_equal(m.channel, HUB_EVENTS);
    for (int f = 0; f < HUB_FIELDS; f++) {
        assert_false(m.filter.set[f]);
    }
    assert_int_equal(
        parse("{\"type\":\"subscribe\",\"channel\":\"triggers\",\"filter\":null}", &m, &e), 0);
    assert_int_equal(m.channel, HUB_TRIGGERS);
    assert_int_equal(parse("{\"channel\":\"events\",\"filter\":{\"event_type\":\"click\","
                           "\"page_type\":\"product\",\"country\":\"FR\",\"fingerprint\":"
                           "\"f\\u00e9\"},\"type\":\"subscribe\",\"later\":[1,{}]}",
                           &m, &e),
                     0);
    assert_string_equal(m.filter.value[HUB_EVENT_TYPE], "click");
    assert_string_equal(m.filter.value[HUB_PAGE_TYPE], "product");
    assert_string_equal(m.filter.value[HUB_COUNTRY], "FR");
    assert_string_equal(m.filter.value[HUB_FINGERPRINT], "f\xc3\xa9");
    assert_true(m.filter.set[HUB_FINGERPRINT]);

    assert_int_equal(parse("{\"type\":\"unsubscribe\",\"channel\":\"metrics\"}", &m, &e), 0);
    assert_int_equal(m.type, WS_UNSUBSCRIBE);
    assert_int_equal(m.channel, HUB_METRICS);

    assert_int_equal(
        parse("{\"type\":\"resume\",\"instance\":\"00ff00FF12345678\",\"seq\":42}", &m, &e), 0);
    assert_int_equal(m.type, WS_RESUME);
    assert_int_equal(m.instance, 0x00ff00ff12345678ULL);
    assert_int_equal(m.seq, 42);
    assert_int_equal(
        parse("{\"type\":\"resume\",\"instance\":\"ffffffffffffffff\",\"seq\":9007199254740991}",
              &m, &e),
        0);
    assert_int_equal(m.instance, UINT64_MAX);
    assert_int_equal(m.seq, 9007199254740991ULL);

    assert_int_equal(parse("{\"type\":\"ping\"}", &m, &e), 0);
    assert_int_equal(m.type, WS_PING);
}

static void test_errors(void **state)
{
    static char long_token[400], long_value[300];
    static const struct {
        const char *in;
        enum ws_err code;
    } cases[] = {
        {"", WS_ERR_BAD_JSON},
        {"   ", WS_ERR_BAD_JSON},
        {"not json", WS_ERR_BAD_JSON},
        {"{\"type\":\"ping\"", WS_ERR_BAD_JSON},
        {"[{\"type\":\"ping\"}]", WS_ERR_BAD_JSON},
        {"\"ping\"", WS_ERR_BAD_JSON},
        {"{\"type\":\"ping\"} x", WS_ERR_BAD_JSON},
        {"{\"type\":\"ping\"}{}", WS_ERR_BAD_JSON},
        {"{}", WS_ERR_UNKNOWN_TYPE},
        {"{\"type\":\"pong\"}", WS_ERR_UNKNOWN_TYPE},
        {"{\"type\":\"PING\"}", WS_ERR_UNKNOWN_TYPE},
        {"{\"type\":1}", WS_ERR_UNKNOWN_TYPE},
        {"{\"type\":null}", WS_ERR_UNKNOWN_TYPE},
        {"{\"type\":\"ping\",\"type\":\"auth\"}", WS_ERR_BAD_MESSAGE},
        {"{\"type\":\"auth\"}", WS_ERR_BAD_MESSAGE},
        {"{\"type\":\"auth\",\"token\":\"\"}", WS_ERR_BAD_MESSAGE},
        {"{\"type\":\"auth\",\"token\":12345678901234567}", WS_ERR_BAD_MESSAGE},
        {"{\"type\":\"auth\",\"token\":\"a\",\"token\":\"b\"}", WS_ERR_BAD_MESSAGE},
        {"{\"type\":\"subscribe\"}", WS_ERR_BAD_MESSAGE},
        {"{\"type\":\"subscribe\",\"channel\":5}", WS_ERR_BAD_MESSAGE},
        {"{\"type\":\"unsubscribe\"}", WS_ERR_BAD_MESSAGE},
        {"{\"type\":\"resume\",\"seq\":1}", WS_ERR_BAD_MESSAGE},
        {"{\"type\":\"resume\",\"instance\":\"00ff00ff1234567\",\"seq\":1}", WS_ERR_BAD_MESSAGE},
        {"{\"type\":\"resume\",\"instance\":\"00ff00ff123456789\",\"seq\":1}", WS_ERR_BAD_MESSAGE},
        {"{\"type\":\"resume\",\"instance\":\"00ff00ff1234567g\",\"seq\":1}", WS_ERR_BAD_MESSAGE},
        {"{\"type\":\"resume\",\"instance\":\"00ff00ff12345678\"}", WS_ERR_BAD_MESSAGE},
        {"{\"type\":\"resume\",\"instance\":\"00ff00ff12345678\",\"seq\":-1}", WS_ERR_BAD_MESSAGE},
        {"{\"type\":\"resume\",\"instance\":\"00ff00ff12345678\",\"seq\":1.5}", WS_ERR_BAD_MESSAGE},
        {"{\"type\":\"resume\",\"instance\":\"00ff00ff12345678\",\"seq\":9007199254740992}",
         WS_ERR_BAD_MESSAGE},
        {"{\"type\":\"resume\",\"instance\":\"00ff00ff12345678\",\"seq\":1e400}",
         WS_ERR_BAD_MESSAGE},
        {"{\"type\":\"resume\",\"instance\":\"00ff00ff12345678\",\"seq\":\"5\"}",
         WS_ERR_BAD_MESSAGE},
        {"{\"type\":\"resume\",\"instance\":\"00ff00ff12345678\",\"seq\":1,\"seq\":2}",
         WS_ERR_BAD_MESSAGE},
        {"{\"type\":\"subscribe\",\"channel\":\"evnts\"}", WS_ERR_UNKNOWN_CHANNEL},
        {"{\"type\":\"subscribe\",\"channel\":\"EVENTS\"}", WS_ERR_UNKNOWN_CHANNEL},
        {"{\"type\":\"subscribe\",\"channel\":\"\"}", WS_ERR_UNKNOWN_CHANNEL},
        {"{\"type\":\"unsubscribe\",\"channel\":\"events \"}", WS_ERR_UNKNOWN_CHANNEL},
        {"{\"type\":\"subscribe\",\"channel\":\"events\",\"filter\":{\"city\":\"Paris\"}}",
         WS_ERR_BAD_FILTER},
        {"{\"type\":\"subscribe\",\"channel\":\"events\",\"filter\":{\"Country\":\"FR\"}}",
         WS_ERR_BAD_FILTER},
        {"{\"type\":\"subscribe\",\"channel\":\"events\",\"filter\":[\"country\"]}",
         WS_ERR_BAD_FILTER},
        {"{\"type\":\"subscribe\",\"channel\":\"events\",\"filter\":\"country=FR\"}",
         WS_ERR_BAD_FILTER},
        {"{\"type\":\"subscribe\",\"channel\":\"events\",\"filter\":{\"country\":1}}",
         WS_ERR_BAD_FILTER},
        {"{\"type\":\"subscribe\",\"channel\":\"events\",\"filter\":{\"country\":\"\"}}",
         WS_ERR_BAD_FILTER},
        {"{\"type\":\"subscribe\",\"channel\":\"events\",\"filter\":{\"country\":{\"a\":1}}}",
         WS_ERR_BAD_FILTER},
        {"{\"type\":\"subscribe\",\"channel\":\"events\",\"filter\":{\"country\":\"FR\","
         "\"country\":\"DE\"}}",
         WS_ERR_BAD_FILTER},
        {"{\"type\":\"subscribe\",\"channel\":\"events\",\"filter\":{},\"filter\":{}}",
         WS_ERR_BAD_FILTER},
        {"{\"type\":\"ping\",\"x\":[[[]]]}", WS_ERR_TOO_DEEP},
        {"{\"type\":\"subscribe\",\"channel\":\"events\",\"filter\":{\"country\":{\"a\":{}}}}",
         WS_ERR_TOO_DEEP},
        {"{\"type\":\"auth\",\"token\":\"\xc0\xaf\"}", WS_ERR_BAD_UTF8},         /* overlong */
        {"{\"type\":\"auth\",\"token\":\"\xed\xa0\x80\"}", WS_ERR_BAD_UTF8},     /* surrogate */
        {"{\"type\":\"auth\",\"token\":\"\xf4\x90\x80\x80\"}", WS_ERR_BAD_UTF8}, /* > U+10FFFF */
        {"{\"type\":\"auth\",\"token\":\"\x80\"}", WS_ERR_BAD_UTF8},             /* lone tail */
        {"{\"type\":\"auth\",\"token\":\"\xff\"}", WS_ERR_BAD_UTF8},
        {"{\"type\":\"ping\"}\xe2\x82", WS_ERR_BAD_UTF8}, /* cut short at the end */
    };
    struct ws_msg m;
    struct ws_error e;
    char buf[1024];
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        e.code = WS_OK;
        if (parse(cases[i].in, &m, &e) != -1 || e.code != cases[i].code) {
            fail_msg("case %zu (%s): code %s, want %s (%s)", i, cases[i].in, ws_err_code(e.code),
                     ws_err_code(cases[i].code), e.message);
        }
        assert_true(strlen(e.message) > 0);
    }
    /* a token or a value one byte too long */
    memset(long_token, 'a', TOKENS_TOKEN_MAX + 1);
    snprintf(buf, sizeof(buf), "{\"type\":\"auth\",\"token\":\"%s\"}", long_token);
    assert_int_equal(parse(buf, &m, &e), -1);
    assert_int_equal(e.code, WS_ERR_BAD_MESSAGE);
    long_token[TOKENS_TOKEN_MAX] = '\0';
    snprintf(buf, sizeof(buf), "{\"type\":\"auth\",\"token\":\"%s\"}", long_token);
    assert_int_equal(parse(buf, &m, &e), 0);
    memset(long_value, 'v', HUB_VALUE_MAX + 1);
    snprintf(buf, sizeof(buf),
             "{\"type\":\"subscribe\",\"channel\":\"events\",\"filter\":{\"fingerprint\":\"%s\"}}",
             long_value);
    assert_int_equal(parse(buf, &m, &e), -1);
    assert_int_equal(e.code, WS_ERR_BAD_FILTER);
    long_value[HUB_VALUE_MAX] = '\0';
    snprintf(buf, sizeof(buf),
             "{\"type\":\"subscribe\",\"channel\":\"events\",\"filter\":{\"fingerprint\":\"%s\"}}",
             long_value);
    assert_int_equal(parse(buf, &m, &e), 0);
    assert_int_equal(strlen(m.filter.value[HUB_FINGERPRINT]), HUB_VALUE_MAX);

    /* a NUL byte, which a C string would hide */
    static const char nul[] = "{\"type\":\"ping\"}\0";
    assert_int_equal(ws_proto_parse(nul, sizeof(nul) - 1, 0, &m, &e), -1);
    assert_int_equal(e.code, WS_ERR_BAD_JSON);
    static const char nul2[] = "{\"type\":\"auth\",\"token\":\"ab\0cd\"}";
    assert_int_equal(ws_proto_parse(nul2, sizeof(nul2) - 1, 0, &m, &e), -1);
    assert_int_equal(e.code, WS_ERR_BAD_JSON);
    /* the bad byte's offset is told */
    assert_int_equal(parse("{\"type\":\"auth\",\"token\":\"\xc0\xaf\"}", &m, &e), -1);
    assert_non_null(strstr(e.message, "at byte 24"));
}

/* 10,000 levels: over the frame limit by default; with a 1 MB limit, the
 * nesting check refuses it before cJSON recurses. */
static void test_deep_and_large(void **state)
{
    enum { LEVELS = 10000 };
    const size_t mb = (size_t)1024 * 1024;
    size_t n = 0;
    char *deep = malloc((size_t)LEVELS * 6 + 64), *big = malloc(mb + 64);
    struct ws_msg m;
    struct ws_error e;
    (void)state;

    assert_non_null(deep);
    assert_non_null(big);
    for (int i = 0; i < LEVELS; i++) {
        n += (size_t)snprintf(deep + n, 6, "{\"a\":"); /* its NUL is written over */
    }
    deep[n++] = '1';
    memset(deep + n, '}', LEVELS);
    n += LEVELS;
    assert_int_equal(ws_proto_parse(deep, n, 0, &m, &e), -1);
    assert_int_equal(e.code, WS_ERR_TOO_LARGE);
    assert_int_equal(ws_proto_parse(deep, n, mb, &m, &e), -1);
    assert_int_equal(e.code, WS_ERR_TOO_DEEP);
    assert_non_null(strstr(e.message, "at byte 15")); /* the fourth '{' */
    memset(deep, '[', LEVELS);
    assert_int_equal(ws_proto_parse(deep, LEVELS, mb, &m, &e), -1);
    assert_int_equal(e.code, WS_ERR_TOO_DEEP);
    /* within the default limit: 4,000 levels of arrays */
    assert_int_equal(ws_proto_parse(deep, 4000, 0, &m, &e), -1);
    assert_int_equal(e.code, WS_ERR_TOO_DEEP);
    /* brackets inside a string are not nesting */
    assert_int_equal(parse("{\"type\":\"auth\",\"token\":\"[[[[{{{{\\\"]]\"}", &m, &e), 0);

    /* 1 MB: a well-formed auth with a huge token, refused on its length */
    n = (size_t)snprintf(big, 64, "{\"type\":\"auth\",\"token\":\"");
    memset(big + n, 'x', mb - n - 2);
    big[mb - 2] = '"';
    big[mb - 1] = '}';
    assert_int_equal(ws_proto_parse(big, mb, 0, &m, &e), -1);
    assert_int_equal(e.code, WS_ERR_TOO_LARGE);
    assert_non_null(strstr(e.message, "4096"));
    /* and exactly at the limit it is parsed (and refused for the token) */
    big[WS_FRAME_MAX - 2] = '"';
    big[WS_FRAME_MAX - 1] = '}';
    assert_int_equal(ws_proto_parse(big, WS_FRAME_MAX, 0, &m, &e), -1);
    assert_int_equal(e.code, WS_ERR_BAD_MESSAGE);
    assert_int_equal(ws_proto_parse(big, WS_FRAME_MAX + 1, 0, &m, &e), -1);
    assert_int_equal(e.code, WS_ERR_TOO_LARGE);
    free(deep);
    free(big);
}

static void test_session_order(void **state)
{
    struct ws_session s;
    struct ws_msg m;
    struct ws_error e;
    const char *sub = "{\"type\":\"subscribe\",\"channel\":\"events\"}";
    const char *auth = "{\"type\":\"auth\",\"token\":\"0123456789abcdef\"}";
    (void)state;

    ws_session_init(&s, 0, 0, 0);
    assert_int_equal(ws_session_accept(&s, sub, strlen(sub), 0, &m, &e), -1);
    assert_int_equal(e.code, WS_ERR_NOT_AUTHENTICATED);
    assert_int_equal(ws_session_accept(&s, "{\"type\":\"ping\"}", 15, 0, &m, &e), -1);
    assert_int_equal(e.code, WS_ERR_NOT_AUTHENTICATED);
    /* a malformed frame says what is wrong with it first */
    assert_int_equal(ws_session_accept(&s, "{", 1, 0, &m, &e), -1);
    assert_int_equal(e.code, WS_ERR_BAD_JSON);
    assert_int_equal(ws_session_accept(&s, auth, strlen(auth), 0, &m, &e), 0);
    assert_int_equal(m.type, WS_AUTH);
    assert_int_equal(ws_session_accept(&s, sub, strlen(sub), 0, &m, &e), -1); /* not yet */
    ws_session_authenticated(&s);
    assert_int_equal(ws_session_accept(&s, sub, strlen(sub), 0, &m, &e), 0);
    assert_int_equal(ws_session_accept(&s, auth, strlen(auth), 0, &m, &e), -1);
    assert_int_equal(e.code, WS_ERR_ALREADY_AUTHENTICATED);
}

/* 1,000 subscribes at once: the burst passes, the rest is rate_limited,
 * tokens come back with time; behind the guard the hub keeps at most
 * max_subscriptions (too_many_subscriptions). */
static void test_flood(void **state)
{
    struct ws_session s;
    struct ws_msg m;
    struct ws_error e;
    struct hub *h = hub_new(NULL, NULL, 0);
    struct hub_client *c = hub_client_add(h);
    char buf[256];
    int ok = 0, limited = 0, too_many = 0;
    (void)state;

    assert_non_null(c);
    ws_session_init(&s, 10, 20, 1000);
    ws_session_authenticated(&s);
    for (int i = 0; i < 1000; i++) {
        int n = snprintf(buf, sizeof(buf),
                         "{\"type\":\"subscribe\",\"channel\":\"events\",\"filter\":{\"country\":"
                         "\"c%d\"}}",
                         i);

        if (ws_session_accept(&s, buf, (size_t)n, 1000, &m, &e) != 0) {
            assert_int_equal(e.code, WS_ERR_RATE_LIMITED);
            limited++;
            continue;
        }
        ok++;
        if (hub_client_subscribe(c, m.channel, &m.filter) == HUB_ETOOMANY) {
            too_many++;
        }
    }
    assert_int_equal(ok, 20);
    assert_int_equal(limited, 980);
    assert_int_equal(too_many, 4); /* 16 kept by default */
    /* 10 a second come back, up to the burst; a clock going back gives none */
    assert_false(ws_flood_allow(&s.flood, 900));
    for (int i = 0; i < 10; i++) {
        assert_true(ws_flood_allow(&s.flood, 2000));
    }
    assert_false(ws_flood_allow(&s.flood, 2000));
    for (int i = 0; i < 20; i++) {
        assert_true(ws_flood_allow(&s.flood, 60000));
    }
    assert_false(ws_flood_allow(&s.flood, 60000));
    /* rate 0: off */
    ws_flood_init(&s.flood, 0, 0, 0);
    for (int i = 0; i < 1000; i++) {
        assert_true(ws_flood_allow(&s.flood, 0));
    }
    hub_client_remove(c);
    hub_free(h);
}

static void test_render(void **state)
{
    char buf[WS_REPLY_MAX], tiny[8];
    struct ws_error e;
    (void)state;

    int n = ws_render_authenticated(buf, sizeof(buf), 0x0123456789abcdefULL, 77);

    assert_int_equal(n, (int)strlen(buf));
    assert_string_equal(
        buf, "{\"type\":\"authenticated\",\"instance\":\"0123456789abcdef\",\"seq\":77}");
    ws_render_subscribed(buf, sizeof(buf), HUB_JOURNEYS);
    assert_string_equal(buf, "{\"type\":\"subscribed\",\"channel\":\"journeys\"}");
    ws_render_unsubscribed(buf, sizeof(buf), HUB_SCORES);
    assert_string_equal(buf, "{\"type\":\"unsubscribed\",\"channel\":\"scores\"}");
    assert_int_equal(ws_render_pong(buf, sizeof(buf)), 15);
    assert_string_equal(buf, "{\"type\":\"pong\"}");
    ws_error_set(&e, WS_ERR_UNKNOWN_CHANNEL, "no \"%s\" here", "x");
    assert_true(ws_render_error(buf, sizeof(buf), &e) > 0);
    assert_string_equal(
        buf, "{\"type\":\"error\",\"code\":\"unknown_channel\",\"message\":\"no \\\"x\\\" here\"}");
    assert_int_equal(ws_render_pong(tiny, sizeof(tiny)), -1);
    assert_int_equal(ws_render_error(tiny, sizeof(tiny), &e), -1);
    /* every code has its own name; out of range is internal */
    for (int i = 1; i < WS_ERR_COUNT; i++) {
        for (int j = i + 1; j < WS_ERR_COUNT; j++) {
            assert_string_not_equal(ws_err_code((enum ws_err)i), ws_err_code((enum ws_err)j));
        }
    }
    assert_string_equal(ws_err_code(WS_ERR_TOO_MANY_SUBSCRIPTIONS), "too_many_subscriptions");
    assert_string_equal(ws_err_code(WS_ERR_COUNT), "internal");
}

/* The handshake's Origin: none, the page's own (the Host header, without
 * case), or one allowed; anything else refused, including look-alikes. */
static void test_origin(void **state)
{
    char err[128];
    struct cors *c = cors_new("https://shop.example", err, sizeof(err));

    (void)state;
    assert_non_null(c);
    assert_true(ws_origin_allowed(c, NULL, "gw:8090"));
    assert_true(ws_origin_allowed(NULL, NULL, NULL));
    assert_true(ws_origin_allowed(c, "http://gw:8090", "gw:8090"));
    assert_true(ws_origin_allowed(c, "HTTPS://GW:8090", "gw:8090"));
    assert_true(ws_origin_allowed(c, "https://shop.example", "gw:8090"));
    assert_false(ws_origin_allowed(c, "https://evil.example", "gw:8090"));
    assert_false(ws_origin_allowed(c, "http://gw:8091", "gw:8090"));
    assert_false(ws_origin_allowed(c, "http://gw:8090.evil.example", "gw:8090"));
    assert_false(ws_origin_allowed(c, "http://gw", "gw:8090"));
    assert_false(ws_origin_allowed(c, "null", "gw:8090"));
    assert_false(ws_origin_allowed(c, "ws://gw:8090", "gw:8090"));
    assert_false(ws_origin_allowed(c, "http://gw:8090", NULL));
    assert_false(ws_origin_allowed(c, "http://", ""));
    assert_false(ws_origin_allowed(NULL, "https://shop.example", "gw:8090"));
    cors_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_each),     cmocka_unit_test(test_errors),
        cmocka_unit_test(test_deep_and_large), cmocka_unit_test(test_session_order),
        cmocka_unit_test(test_flood),          cmocka_unit_test(test_render),
        cmocka_unit_test(test_origin),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
