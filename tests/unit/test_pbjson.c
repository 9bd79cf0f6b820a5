/*
 * Unit tests for common/src/pbjson.c: protobuf-c messages <-> JSON through
 * the descriptors. Round trips compare the packed wire bytes, so every field
 * has to survive; error cases check the message names the field, and run
 * under ASan to prove partly built messages are freed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "analytics/pbjson.h"
#include "analytics/utf8.h"
#include "analytics/v1/dead_letter.pb-c.h"
#include "analytics/v1/enriched_event.pb-c.h"
#include "analytics/v1/journey_update.pb-c.h"
#include "analytics/v1/privacy_request.pb-c.h"
#include "analytics/v1/raw_event.pb-c.h"
#include "analytics/v1/score_update.pb-c.h"
#include "analytics/v1/trigger_fired.pb-c.h"

#include "fixture.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ---- */

static cJSON *parse(const char *text)
{
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(text, strlen(text) + 1, &end, 1);

    if (j == NULL) {
        fail_msg("test JSON does not parse: %s", text);
    }
    return j;
}

/* Packs a message into a new buffer (caller frees). */
static uint8_t *pack(const ProtobufCMessage *m, size_t *len)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = malloc(n > 0 ? n : 1);

    assert_non_null(buf);
    *len = protobuf_c_message_pack(m, buf);
    assert_int_equal(*len, n);
    return buf;
}

/* Asserts that two messages have the same wire bytes. */
static void assert_same_wire(const ProtobufCMessage *a, const ProtobufCMessage *b)
{
    size_t la, lb;
    uint8_t *pa = pack(a, &la);
    uint8_t *pb = pack(b, &lb);

    assert_int_equal(la, lb);
    assert_memory_equal(pa, pb, la);
    free(pa);
    free(pb);
}

/* Message -> JSON text -> parsed JSON -> message, checked against the
 * original on the wire. Returns the JSON (caller frees) for more checks. */
static cJSON *round_trip(const ProtobufCMessage *m)
{
    char err[256] = "";
    cJSON *j = pbjson_from_message(m);
    char *text;
    cJSON *again;
    ProtobufCMessage *back;

    assert_non_null(j);
    text = cJSON_PrintUnformatted(j);
    assert_non_null(text);
    again = parse(text);
    back = pbjson_to_message(m->descriptor, again, err, sizeof(err));
    if (back == NULL) {
        fail_msg("pbjson_to_message: %s (json %s)", err, text);
    }
    assert_same_wire(m, back);
    protobuf_c_message_free_unpacked(back, NULL);
    cJSON_Delete(again);
    free(text);
    return j;
}

/* Expects pbjson_to_message(d, text) to fail with an error containing want. */
static void expect_error(const ProtobufCMessageDescriptor *d, const char *text, const char *want)
{
    char err[256] = "";
    cJSON *j = parse(text);
    ProtobufCMessage *m = pbjson_to_message(d, j, err, sizeof(err));

    if (m != NULL) {
        protobuf_c_message_free_unpacked(m, NULL);
        fail_msg("accepted %s", text);
    }
    if (strstr(err, want) == NULL) {
        fail_msg("error for %s is \"%s\", expected it to contain \"%s\"", text, err, want);
    }
    cJSON_Delete(j);
}

static const char *jstr(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

    if (!cJSON_IsString(v)) {
        fail_msg("key %s is not a string", key);
    }
    return v->valuestring;
}

static double jnum(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

    if (!cJSON_IsNumber(v)) {
        fail_msg("key %s is not a number", key);
    }
    return v->valuedouble;
}

/* ---- round trips ---- */

static void test_raw_round_trip(void **state)
{
    (void)state;
    Analytics__V1__RawEvent ev = ANALYTICS__V1__RAW_EVENT__INIT;
    Analytics__V1__Consent consent = ANALYTICS__V1__CONSENT__INIT;
    cJSON *j, *cj;

    ev.schema_version = 1;
    ev.event_id = "e-1";
    ev.event_type = "page_view";
    ev.fingerprint = "fp-\"quoted\"\n\xc3\xa9";
    ev.client_ts_ms = 1700000000123LL;
    ev.client_ts_present = 1;
    ev.received_ts_ms = 1700000000456LL;
    ev.clock_skew_ms = -333;
    ev.page_url = "https://example.com/pricing?x=1";
    ev.event_data_json = "{\"a\":1}";
    consent.specified = 1;
    consent.analytics = 1;
    ev.consent = &consent;
    ev.batch_index = 7;

    j = round_trip(&ev.base);
    assert_int_equal(jnum(j, "schema_version"), 1);
    assert_string_equal(jstr(j, "event_type"), "page_view");
    assert_string_equal(jstr(j, "fingerprint"), "fp-\"quoted\"\n\xc3\xa9");
    assert_true(jnum(j, "client_ts_ms") == 1700000000123.0);
    assert_true(jnum(j, "clock_skew_ms") == -333.0);
    /* every scalar is written, defaults too */
    assert_string_equal(jstr(j, "user_id"), "");
    assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(j, "historical")));
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "client_ts_present")));
    cj = cJSON_GetObjectItemCaseSensitive(j, "consent");
    assert_true(cJSON_IsObject(cj));
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cj, "analytics")));
    assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(cj, "marketing")));
    assert_int_equal(cJSON_GetArraySize(j), 23);
    cJSON_Delete(j);
}

static void test_raw_from_json_text(void **state)
{
    (void)state;
    char err[256] = "";
    cJSON *j = parse("{\"schema_version\":1,\"event_id\":\"abc\",\"event_type\":\"click\","
                     "\"fingerprint\":\"fp1\",\"client_ts_ms\":1700000000000,"
                     "\"consent\":{\"specified\":true,\"marketing\":true},"
                     "\"user_id\":null,\"historical\":false}");
    Analytics__V1__RawEvent *ev = (Analytics__V1__RawEvent *)pbjson_to_message(
        &analytics__v1__raw_event__descriptor, j, err, sizeof(err));

    if (ev == NULL) {
        fail_msg("%s", err);
    }
    assert_string_equal(ev->event_id, "abc");
    assert_string_equal(ev->fingerprint, "fp1");
    assert_string_equal(ev->user_id, ""); /* null keeps the default */
    assert_string_equal(ev->session_id, "");
    assert_true(ev->client_ts_ms == 1700000000000LL);
    assert_non_null(ev->consent);
    assert_true(ev->consent->marketing);
    assert_false(ev->consent->analytics);
    protobuf_c_message_free_unpacked(&ev->base, NULL);
    cJSON_Delete(j);
}

static void test_empty_message(void **state)
{
    (void)state;
    Analytics__V1__EnrichedEvent ev = ANALYTICS__V1__ENRICHED_EVENT__INIT;
    cJSON *j = round_trip(&ev.base);

    /* unset submessages are left out, scalars are not */
    assert_null(cJSON_GetObjectItemCaseSensitive(j, "ua"));
    assert_null(cJSON_GetObjectItemCaseSensitive(j, "consent"));
    assert_int_equal(jnum(j, "event_ts_ms"), 0);
    assert_string_equal(jstr(j, "event_id"), "");
    cJSON_Delete(j);
}

static void test_enriched_nested(void **state)
{
    (void)state;
    Analytics__V1__EnrichedEvent ev = ANALYTICS__V1__ENRICHED_EVENT__INIT;
    Analytics__V1__UserAgentInfo ua = ANALYTICS__V1__USER_AGENT_INFO__INIT;
    Analytics__V1__GeoInfo geo = ANALYTICS__V1__GEO_INFO__INIT;
    Analytics__V1__Campaign camp = ANALYTICS__V1__CAMPAIGN__INIT;
    Analytics__V1__SessionInfo sess = ANALYTICS__V1__SESSION_INFO__INIT;
    cJSON *j, *o;

    ev.schema_version = 1;
    ev.event_id = "e-2";
    ev.event_ts_ms = 1700000001000LL;
    ua.browser_family = "Firefox";
    ua.device_type = ANALYTICS__V1__DEVICE_TYPE__DEVICE_TYPE_MOBILE;
    ev.ua = &ua;
    geo.country_code = "DE";
    geo.ip_truncated = "203.0.113.0";
    ev.geo = &geo;
    camp.channel = ANALYTICS__V1__CHANNEL__CHANNEL_PAID_SEARCH;
    camp.utm_source = "google";
    ev.campaign = &camp;
    sess.session_id = "s-1";
    sess.sequence = 3;
    sess.new_session = 1;
    ev.session = &sess;

    j = round_trip(&ev.base);
    o = cJSON_GetObjectItemCaseSensitive(j, "ua");
    assert_string_equal(jstr(o, "device_type"), "DEVICE_TYPE_MOBILE");
    assert_string_equal(jstr(o, "browser_family"), "Firefox");
    o = cJSON_GetObjectItemCaseSensitive(j, "campaign");
    assert_string_equal(jstr(o, "channel"), "CHANNEL_PAID_SEARCH");
    o = cJSON_GetObjectItemCaseSensitive(j, "session");
    assert_int_equal(jnum(o, "sequence"), 3);
    assert_null(cJSON_GetObjectItemCaseSensitive(j, "page"));
    assert_null(cJSON_GetObjectItemCaseSensitive(j, "bot"));
    cJSON_Delete(j);
}

/* The shared fixture with every submessage set survives the round trip,
 * each submessage written as an object. */
static void test_enriched_full(void **state)
{
    (void)state;
    struct fixture_enriched fx;
    static const char *const parts[] = {"ua",      "geo", "campaign", "page",
                                        "session", "bot", "consent"};
    cJSON *j;

    fixture_enriched_full(&fx);
    j = round_trip(&fx.ev.base);
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        if (!cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(j, parts[i]))) {
            fail_msg("%s is not an object", parts[i]);
        }
    }
    assert_string_equal(jstr(cJSON_GetObjectItemCaseSensitive(j, "page"), "page_type"), "pricing");
    assert_string_equal(jstr(cJSON_GetObjectItemCaseSensitive(j, "campaign"), "channel"),
                        "CHANNEL_ORGANIC_SEARCH");
    assert_true(jnum(j, "clock_skew_ms") == -500.0);
    cJSON_Delete(j);
}

static void test_score_map_and_repeated(void **state)
{
    (void)state;
    Analytics__V1__ScoreUpdate su = ANALYTICS__V1__SCORE_UPDATE__INIT;
    Analytics__V1__ScoreUpdate__FeaturesEntry f1 =
        ANALYTICS__V1__SCORE_UPDATE__FEATURES_ENTRY__INIT;
    Analytics__V1__ScoreUpdate__FeaturesEntry f2 =
        ANALYTICS__V1__SCORE_UPDATE__FEATURES_ENTRY__INIT;
    Analytics__V1__ScoreUpdate__FeaturesEntry *feats[] = {&f1, &f2};
    char *reasons[] = {"pricing_viewed", "booking_started", "return_visit"};
    cJSON *j, *o, *a;

    su.schema_version = 1;
    su.fingerprint = "fp";
    su.lead_score = 87;
    su.churn_risk = 0.125;
    su.conversion_probability = 0.6;
    su.segment = "price_checker";
    f1.key = "pages_per_session";
    f1.value = 4.5;
    f2.key = "pricing_views";
    f2.value = 2;
    su.n_features = 2;
    su.features = feats;
    su.n_reasons = 3;
    su.reasons = reasons;

    j = round_trip(&su.base);
    o = cJSON_GetObjectItemCaseSensitive(j, "features");
    assert_true(cJSON_IsObject(o));
    assert_true(jnum(o, "pages_per_session") == 4.5);
    assert_true(jnum(o, "pricing_views") == 2.0);
    a = cJSON_GetObjectItemCaseSensitive(j, "reasons");
    assert_true(cJSON_IsArray(a));
    assert_int_equal(cJSON_GetArraySize(a), 3);
    assert_string_equal(cJSON_GetArrayItem(a, 1)->valuestring, "booking_started");
    assert_true(jnum(j, "churn_risk") == 0.125);
    cJSON_Delete(j);

    /* empty map and array are written as {} and [] */
    su.n_features = 0;
    su.features = NULL;
    su.n_reasons = 0;
    su.reasons = NULL;
    j = round_trip(&su.base);
    assert_true(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(j, "features")));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "reasons")), 0);
    cJSON_Delete(j);
}

static void test_map_duplicate_key_last_wins(void **state)
{
    (void)state;
    Analytics__V1__TriggerFired t = ANALYTICS__V1__TRIGGER_FIRED__INIT;
    Analytics__V1__TriggerFired__ParamsEntry p1 = ANALYTICS__V1__TRIGGER_FIRED__PARAMS_ENTRY__INIT;
    Analytics__V1__TriggerFired__ParamsEntry p2 = ANALYTICS__V1__TRIGGER_FIRED__PARAMS_ENTRY__INIT;
    Analytics__V1__TriggerFired__ParamsEntry *params[] = {&p1, &p2};
    cJSON *j, *o;

    p1.key = "template";
    p1.value = "old";
    p2.key = "template";
    p2.value = "new";
    t.n_params = 2;
    t.params = params;
    j = pbjson_from_message(&t.base);
    assert_non_null(j);
    o = cJSON_GetObjectItemCaseSensitive(j, "params");
    assert_int_equal(cJSON_GetArraySize(o), 1);
    assert_string_equal(jstr(o, "template"), "new");
    cJSON_Delete(j);
}

static void test_deadletter_bytes(void **state)
{
    (void)state;
    Analytics__V1__DeadLetter dl = ANALYTICS__V1__DEAD_LETTER__INIT;
    uint8_t original[] = {'{', 0x00, 0xff, 0xfe, '"', 0x80, '}'};
    cJSON *j;

    dl.schema_version = 1;
    dl.source_service = "analytics-collector";
    dl.source_offset = 42;
    dl.source_partition = -1;
    dl.error_code = "invalid_field";
    dl.reason = "field 'fingerprint' must be a string";
    dl.original.data = original;
    dl.original.len = sizeof(original);
    dl.original_truncated = 1;

    j = round_trip(&dl.base);
    assert_string_equal(jstr(j, "original"), "ewD//iKAfQ==");
    assert_int_equal(jnum(j, "source_partition"), -1);
    cJSON_Delete(j);

    /* empty bytes: "" and back */
    dl.original.data = NULL;
    dl.original.len = 0;
    j = round_trip(&dl.base);
    assert_string_equal(jstr(j, "original"), "");
    cJSON_Delete(j);
}

static void test_other_types_round_trip(void **state)
{
    (void)state;
    Analytics__V1__JourneyUpdate ju = ANALYTICS__V1__JOURNEY_UPDATE__INIT;
    Analytics__V1__SessionSummary ss = ANALYTICS__V1__SESSION_SUMMARY__INIT;
    Analytics__V1__PrivacyRequest pr = ANALYTICS__V1__PRIVACY_REQUEST__INIT;
    cJSON *j;

    ju.kind = ANALYTICS__V1__JOURNEY_UPDATE_KIND__JOURNEY_UPDATE_KIND_SESSION_CLOSED;
    ju.stage = "consideration";
    ss.session_id = "s";
    ss.page_views = 5;
    ss.device_type = ANALYTICS__V1__DEVICE_TYPE__DEVICE_TYPE_TABLET;
    ss.bounced = 1;
    ju.session = &ss;
    j = round_trip(&ju.base);
    assert_string_equal(jstr(j, "kind"), "JOURNEY_UPDATE_KIND_SESSION_CLOSED");
    cJSON_Delete(j);

    pr.action = ANALYTICS__V1__PRIVACY_ACTION__PRIVACY_ACTION_ERASE;
    pr.fingerprint = "fp";
    pr.request_id = "r-1";
    j = round_trip(&pr.base);
    assert_string_equal(jstr(j, "action"), "PRIVACY_ACTION_ERASE");
    cJSON_Delete(j);
}

static void test_int64_extremes(void **state)
{
    (void)state;
    Analytics__V1__DeadLetter dl = ANALYTICS__V1__DEAD_LETTER__INIT;
    Analytics__V1__DeadLetter *back;
    char err[256] = "";
    cJSON *j, *in;
    char *text;

    dl.source_offset = INT64_MAX;
    dl.ts_ms = INT64_MIN;
    dl.batch_index = UINT32_MAX;
    dl.source_partition = INT32_MIN;
    j = pbjson_from_message(&dl.base);
    assert_non_null(j);
    text = cJSON_PrintUnformatted(j);
    assert_non_null(strstr(text, "\"source_offset\":9223372036854775807"));
    assert_non_null(strstr(text, "\"ts_ms\":-9223372036854775808"));
    assert_non_null(strstr(text, "\"batch_index\":4294967295"));
    free(text);

    /* the tree itself round-trips exactly */
    back = (Analytics__V1__DeadLetter *)pbjson_to_message(&analytics__v1__dead_letter__descriptor,
                                                          j, err, sizeof(err));
    if (back == NULL) {
        fail_msg("%s", err);
    }
    assert_same_wire(&dl.base, &back->base);
    protobuf_c_message_free_unpacked(&back->base, NULL);
    cJSON_Delete(j);

    /* decimal strings are exact for 64-bit fields */
    in = parse("{\"source_offset\":\"9007199254740993\",\"ts_ms\":\"-5\"}");
    back = (Analytics__V1__DeadLetter *)pbjson_to_message(&analytics__v1__dead_letter__descriptor,
                                                          in, err, sizeof(err));
    if (back == NULL) {
        fail_msg("%s", err);
    }
    assert_true(back->source_offset == 9007199254740993LL);
    assert_true(back->ts_ms == -5);
    protobuf_c_message_free_unpacked(&back->base, NULL);
    cJSON_Delete(in);
}

static void test_double_special_values(void **state)
{
    (void)state;
    Analytics__V1__ScoreUpdate su = ANALYTICS__V1__SCORE_UPDATE__INIT;
    cJSON *j;

    su.churn_risk = NAN;
    su.conversion_probability = -INFINITY;
    j = pbjson_from_message(&su.base);
    assert_non_null(j);
    assert_string_equal(jstr(j, "churn_risk"), "NaN");
    assert_string_equal(jstr(j, "conversion_probability"), "-Infinity");
    cJSON_Delete(j);
    su.churn_risk = 0.5;
    j = round_trip(&su.base);
    cJSON_Delete(j);
}

static void test_enum_numbers(void **state)
{
    (void)state;
    Analytics__V1__UserAgentInfo ua = ANALYTICS__V1__USER_AGENT_INFO__INIT;
    Analytics__V1__UserAgentInfo *back;
    char err[256] = "";
    cJSON *j;

    /* a value the descriptor does not know stays a number, both ways */
    ua.device_type = (Analytics__V1__DeviceType)42;
    j = round_trip(&ua.base);
    assert_int_equal(jnum(j, "device_type"), 42);
    cJSON_Delete(j);

    j = parse("{\"device_type\":2}");
    back = (Analytics__V1__UserAgentInfo *)pbjson_to_message(
        &analytics__v1__user_agent_info__descriptor, j, err, sizeof(err));
    assert_non_null(back);
    assert_int_equal(back->device_type, ANALYTICS__V1__DEVICE_TYPE__DEVICE_TYPE_MOBILE);
    protobuf_c_message_free_unpacked(&back->base, NULL);
    cJSON_Delete(j);
}

static void test_invalid_utf8_string(void **state)
{
    (void)state;
    Analytics__V1__BotInfo bot = ANALYTICS__V1__BOT_INFO__INIT;
    cJSON *j;

    bot.reason = "a\xff"
                 "b\xc3";
    j = pbjson_from_message(&bot.base);
    assert_non_null(j);
    assert_string_equal(jstr(j, "reason"), "a\xef\xbf\xbd"
                                           "b\xef\xbf\xbd");
    cJSON_Delete(j);
}

/* ---- errors ---- */

static void test_error_unknown_field(void **state)
{
    (void)state;
    expect_error(&analytics__v1__raw_event__descriptor, "{\"event_id\":\"x\",\"bogus\":1}",
                 "unknown field 'bogus'");
    expect_error(&analytics__v1__enriched_event__descriptor,
                 "{\"event_id\":\"x\",\"ua\":{\"browser_family\":\"F\",\"colour\":\"red\"}}",
                 "unknown field 'ua.colour'");
}

static void test_error_wrong_types(void **state)
{
    (void)state;
    const ProtobufCMessageDescriptor *raw = &analytics__v1__raw_event__descriptor;

    expect_error(raw, "{\"event_id\":5}", "field 'event_id': expected a string, got a number");
    expect_error(raw, "{\"event_id\":\"ok\",\"schema_version\":\"1\"}",
                 "field 'schema_version': expected an integer, got a string");
    expect_error(raw, "{\"historical\":1}", "field 'historical': expected a boolean");
    expect_error(raw, "{\"consent\":[]}", "field 'consent': expected an object, got an array");
    expect_error(raw, "{\"consent\":{\"analytics\":\"yes\"}}",
                 "field 'consent.analytics': expected a boolean, got a string");
    expect_error(raw, "{\"client_ts_ms\":1.5}", "field 'client_ts_ms': expected an integer");
    expect_error(raw, "{\"client_ts_ms\":\"12x\"}", "field 'client_ts_ms': expected an integer");
    expect_error(&analytics__v1__score_update__descriptor, "{\"churn_risk\":\"high\"}",
                 "field 'churn_risk': expected a number, got a string");
}

static void test_error_ranges(void **state)
{
    (void)state;
    const ProtobufCMessageDescriptor *raw = &analytics__v1__raw_event__descriptor;
    const ProtobufCMessageDescriptor *dl = &analytics__v1__dead_letter__descriptor;

    expect_error(raw, "{\"schema_version\":-1}", "field 'schema_version': integer out of range");
    expect_error(raw, "{\"schema_version\":4294967296}", "out of range");
    expect_error(dl, "{\"source_partition\":2147483648}", "field 'source_partition'");
    expect_error(dl, "{\"source_offset\":1e300}", "out of range");
    expect_error(dl, "{\"source_offset\":\"9223372036854775808\"}", "field 'source_offset'");
}

static void test_error_enum_bytes_and_shapes(void **state)
{
    (void)state;
    expect_error(&analytics__v1__user_agent_info__descriptor,
                 "{\"device_type\":\"DEVICE_TYPE_FRIDGE\"}",
                 "field 'device_type': unknown analytics.v1.DeviceType value");
    expect_error(&analytics__v1__user_agent_info__descriptor, "{\"device_type\":true}",
                 "expected an enum name");
    expect_error(&analytics__v1__dead_letter__descriptor, "{\"original\":\"not base64!\"}",
                 "field 'original': invalid base64");
    expect_error(&analytics__v1__dead_letter__descriptor, "{\"original\":\"QUJD=\"}",
                 "invalid base64");
    expect_error(&analytics__v1__score_update__descriptor, "{\"features\":[1,2]}",
                 "field 'features': expected an object (map)");
    expect_error(&analytics__v1__score_update__descriptor, "{\"features\":{\"a\":\"x\"}}",
                 "field 'features.a': expected a number");
    expect_error(&analytics__v1__score_update__descriptor, "{\"reasons\":\"one\"}",
                 "field 'reasons': expected an array");
    expect_error(&analytics__v1__score_update__descriptor, "{\"reasons\":[\"a\",null]}",
                 "field 'reasons[1]': null is not allowed");
    expect_error(&analytics__v1__score_update__descriptor, "{\"reasons\":[\"a\",\"b\",3]}",
                 "field 'reasons[2]': expected a string");
    expect_error(&analytics__v1__raw_event__descriptor, "[]", "expected a JSON object");
    expect_error(&analytics__v1__raw_event__descriptor, "{\"event_id\":\"a\",\"event_id\":\"b\"}",
                 "field 'event_id': given more than once");
    expect_error(&analytics__v1__trigger_fired__descriptor,
                 "{\"params\":{\"k\":\"a\",\"k\":\"b\"}}", "field 'params.k': duplicate map key");
}

/* Failures after strings, submessages, map entries and arrays were already
 * allocated: ASan reports a leak or a bad free if cleanup is wrong. */
static void test_error_after_allocations(void **state)
{
    (void)state;
    expect_error(&analytics__v1__enriched_event__descriptor,
                 "{\"event_id\":\"x\",\"user_id\":\"u\",\"ua\":{\"browser_family\":\"F\"},"
                 "\"geo\":{\"country_code\":\"DE\",\"source\":7}}",
                 "field 'geo.source'");
    expect_error(&analytics__v1__score_update__descriptor,
                 "{\"segment\":\"s\",\"reasons\":[\"a\",\"b\"],"
                 "\"features\":{\"x\":1,\"y\":2,\"z\":false}}",
                 "field 'features.z'");
    expect_error(&analytics__v1__dead_letter__descriptor,
                 "{\"original\":\"QUJD\",\"reason\":\"r\",\"nope\":1}", "unknown field 'nope'");
}

static void test_null_inputs(void **state)
{
    (void)state;
    char err[128] = "";

    assert_null(pbjson_to_message(NULL, NULL, err, sizeof(err)));
    assert_null(pbjson_to_message(&analytics__v1__raw_event__descriptor, NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "expected a JSON object"));
    assert_null(pbjson_from_message(NULL));
    /* errlen 0: no write */
    assert_null(pbjson_to_message(&analytics__v1__raw_event__descriptor, NULL, NULL, 0));
}

/* ---- descriptors, base64, UTF-8 ---- */

static void test_descriptor_for(void **state)
{
    (void)state;
    assert_ptr_equal(pbjson_descriptor_for("raw"), &analytics__v1__raw_event__descriptor);
    assert_ptr_equal(pbjson_descriptor_for("enriched"), &analytics__v1__enriched_event__descriptor);
    assert_ptr_equal(pbjson_descriptor_for("score"), &analytics__v1__score_update__descriptor);
    assert_ptr_equal(pbjson_descriptor_for("journey"), &analytics__v1__journey_update__descriptor);
    assert_ptr_equal(pbjson_descriptor_for("trigger"), &analytics__v1__trigger_fired__descriptor);
    assert_ptr_equal(pbjson_descriptor_for("privacy"), &analytics__v1__privacy_request__descriptor);
    assert_ptr_equal(pbjson_descriptor_for("deadletter"), &analytics__v1__dead_letter__descriptor);
    assert_ptr_equal(pbjson_descriptor_for("analytics.v1.ScoreUpdate"),
                     &analytics__v1__score_update__descriptor);
    assert_null(pbjson_descriptor_for("bytes"));
    assert_null(pbjson_descriptor_for(""));
    assert_null(pbjson_descriptor_for(NULL));
    assert_non_null(strstr(pbjson_type_names(), "deadletter"));
}

static void test_base64(void **state)
{
    (void)state;
    static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const enc[] = {"",         "Zg==",     "Zm8=",    "Zm9v",
                                      "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};

    for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
        char *e = pbjson_base64_encode(plain[i], strlen(plain[i]));
        unsigned char *d;
        size_t dlen;

        assert_string_equal(e, enc[i]);
        assert_int_equal(pbjson_base64_decode(e, &d, &dlen), 0);
        assert_int_equal(dlen, strlen(plain[i]));
        if (dlen > 0) {
            assert_memory_equal(d, plain[i], dlen);
        }
        free(d);
        free(e);
    }
    {
        unsigned char *d;
        size_t dlen;

        /* URL alphabet, no padding */
        assert_int_equal(pbjson_base64_decode("-_8", &d, &dlen), 0);
        assert_int_equal(dlen, 2);
        assert_int_equal(d[0], 0xfb);
        assert_int_equal(d[1], 0xff);
        free(d);
        assert_int_equal(pbjson_base64_decode("Z", &d, &dlen), -1);
        assert_int_equal(pbjson_base64_decode("Zg=", &d, &dlen), -1);
        assert_int_equal(pbjson_base64_decode("Zg===", &d, &dlen), -1);
        assert_int_equal(pbjson_base64_decode("Z g=", &d, &dlen), -1);
        assert_int_equal(pbjson_base64_decode("=Zg=", &d, &dlen), -1);
    }
}

static void test_utf8(void **state)
{
    (void)state;
    assert_true(utf8_valid("", 0));
    assert_true(utf8_valid("plain", 5));
    assert_true(utf8_valid("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9));
    assert_false(utf8_valid("\xc0\xaf", 2));         /* overlong */
    assert_false(utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
    assert_false(utf8_valid("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
    assert_false(utf8_valid("\xe2\x82", 2));         /* truncated */
    assert_false(utf8_valid("\x80", 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_raw_round_trip),
        cmocka_unit_test(test_raw_from_json_text),
        cmocka_unit_test(test_empty_message),
        cmocka_unit_test(test_enriched_nested),
        cmocka_unit_test(test_enriched_full),
        cmocka_unit_test(test_score_map_and_repeated),
        cmocka_unit_test(test_map_duplicate_key_last_wins),
        cmocka_unit_test(test_deadletter_bytes),
        cmocka_unit_test(test_other_types_round_trip),
        cmocka_unit_test(test_int64_extremes),
        cmocka_unit_test(test_double_special_values),
        cmocka_unit_test(test_enum_numbers),
        cmocka_unit_test(test_invalid_utf8_string),
        cmocka_unit_test(test_error_unknown_field),
        cmocka_unit_test(test_error_wrong_types),
        cmocka_unit_test(test_error_ranges),
        cmocka_unit_test(test_error_enum_bytes_and_shapes),
        cmocka_unit_test(test_error_after_allocations),
        cmocka_unit_test(test_null_inputs),
        cmocka_unit_test(test_descriptor_for),
        cmocka_unit_test(test_base64),
        cmocka_unit_test(test_utf8),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
