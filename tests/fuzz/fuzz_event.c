/*
 * libFuzzer target for the collector's body parser and event validator
 * (services/collector/event*.c): every input is posted as a body to
 * event_batch_parse, and what it answers is checked for the invariants the
 * collector relies on. Built by tests/CMakeLists.txt with clang
 * -fsanitize=fuzzer,address,undefined when that is available; README.md
 * ("Fuzzing") says how to run it for long.
 *
 * Invariants (a breach aborts, so libFuzzer keeps the input):
 *  - success: every input event is either accepted or rejected, once, in
 *    order; each accepted event has the required fields, a non-empty
 *    event_data_json that cJSON parses back to an object, and packs as
 *    protobuf; each rejection has a code, a message and its original text;
 *  - failure: the batch is empty and err holds a reason;
 *  - a body nested deeper than the limit is never accepted;
 *  - textcheck_nesting (SSE2, 16 bytes at a time) answers as a plain
 *    byte-by-byte walk does, for several limits.
 */
#include "event.h"
#include "analytics/textcheck.h"
#include "analytics/utf8.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_event: invariant broken: %s (%s:%d)\n", #cond, __FILE__,         \
                    __LINE__);                                                                     \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* The nesting check byte by byte, the reference for textcheck_nesting. */
static int fuzz_nesting_ref(const char *s, size_t len, size_t max, size_t *at)
{
    size_t depth = 0;
    bool in_string = false;

    for (size_t i = 0; i < len; i++) {
        char c = s[i];

        if (in_string) {
            if (c == '\\') {
                i++;
            } else if (c == '"') {
                in_string = false;
            }
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            if (++depth > max) {
                *at = i;
                return -1;
            }
        } else if ((c == '}' || c == ']') && depth > 0) {
            depth--;
        }
    }
    return 0;
}

/* Compares textcheck_nesting with the reference on s for a few limits. */
static void fuzz_check_nesting(const char *s, size_t len)
{
    static const size_t limits[] = {1, 2, 3, 7, 16, 17, 32, 64};

    for (size_t k = 0; k < sizeof(limits) / sizeof(limits[0]); k++) {
        size_t at = SIZE_MAX, ref_at = SIZE_MAX;
        int rc = textcheck_nesting(s, len, limits[k], &at);

        FUZZ_CHECK(rc == fuzz_nesting_ref(s, len, limits[k], &ref_at));
        FUZZ_CHECK(at == ref_at);
    }
}

/* Checks one accepted event. */
static void fuzz_check_event(const Analytics__V1__RawEvent *ev, size_t total)
{
    cJSON *data;
    uint8_t *buf;
    size_t n;

    FUZZ_CHECK(ev->event_id != NULL && ev->event_id[0] != '\0');
    FUZZ_CHECK(ev->event_type != NULL && ev->event_type[0] != '\0');
    FUZZ_CHECK(ev->fingerprint != NULL && ev->fingerprint[0] != '\0');
    FUZZ_CHECK(ev->batch_index < total);
    FUZZ_CHECK(ev->event_data_json != NULL && ev->event_data_json[0] == '{');
    FUZZ_CHECK(utf8_valid(ev->event_data_json, strlen(ev->event_data_json)));
    data = cJSON_Parse(ev->event_data_json);
    FUZZ_CHECK(data != NULL && cJSON_IsObject(data));
    cJSON_Delete(data);
    n = protobuf_c_message_get_packed_size(&ev->base);
    buf = malloc(n > 0 ? n : 1);
    FUZZ_CHECK(buf != NULL);
    FUZZ_CHECK(protobuf_c_message_pack(&ev->base, buf) == n);
    free(buf);
}

/* Checks a successful parse. */
static void fuzz_check_batch(const struct event_batch *b)
{
    size_t next_event = 0, next_rej = 0;

    FUZZ_CHECK(b->total >= 1);
    FUZZ_CHECK(b->n_events + b->n_rejected == b->total);
    for (size_t i = 0; i < b->total; i++) {
        bool as_event = next_event < b->n_events && b->events[next_event].batch_index == i;
        bool as_rej = next_rej < b->n_rejected && b->rejected[next_rej].index == i;

        FUZZ_CHECK(as_event != as_rej);
        if (as_event) {
            fuzz_check_event(&b->events[next_event++], b->total);
        } else {
            const struct event_rejection *r = &b->rejected[next_rej++];

            FUZZ_CHECK(r->code != NULL && r->code[0] != '\0');
            FUZZ_CHECK(r->error[0] != '\0');
            FUZZ_CHECK(r->original != NULL);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct event_request req = {
        .received_ms = 1764547200000LL, /* 2025-12-01T00:00:00Z */
        .client_ip = "203.0.113.7",
        .user_agent = "fuzz",
        .collector_id = "fuzz",
    };
    struct event_limits lim;
    struct event_batch b;
    char err[256];
    char *body = malloc(size > 0 ? size : 1); /* exact size: ASan sees any overread */
    int rc;

    if (body == NULL) {
        return 0;
    }
    memcpy(body, data, size);
    event_limits_default(&lim);
    rc = event_batch_parse(body, size, &lim, &req, &b, err, sizeof(err));
    if (rc == 0) {
        FUZZ_CHECK(textcheck_nesting(body, size, lim.max_nesting, NULL) == 0);
        fuzz_check_batch(&b);
    } else {
        FUZZ_CHECK(rc == -1);
        FUZZ_CHECK(err[0] != '\0');
        FUZZ_CHECK(b.events == NULL && b.rejected == NULL && b.priv == NULL);
    }
    event_batch_fini(&b);
    fuzz_check_nesting(body, size);
    /* the helpers on their own, on the same bytes */
    (void)utf8_check(body, size, NULL);
    (void)textcheck_numeric(body, size);
    if (size < 64) {
        char s[64];
        long long ms;

        memcpy(s, data, size);
        s[size] = '\0';
        (void)textcheck_iso8601(s, &ms);
    }
    free(body);
    return 0;
}
