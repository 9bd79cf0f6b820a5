/*
 * Unit tests for the batch arena (services/enricher/arena.c): alignment,
 * string copies, joins and formatting, oversized requests, reset and reuse, fini of
 * a zeroed arena, and protobuf-c unpacking through the arena's allocator.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "arena.h"

#include "analytics/v1/raw_event.pb-c.h"

#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ALIGN alignof(max_align_t)
#define CHUNK 4096

static int aligned(const void *p)
{
    return ((uintptr_t)p % ALIGN) == 0;
}

/* Every allocation, whatever its size, is aligned for max_align_t and
 * writable over its whole length (ASan checks the bounds). */
static void test_alignment(void **state)
{
    struct arena a;
    const size_t sizes[] = {0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 33, 100, 255, 1000, 4095, 5000};
    size_t used = 0;

    (void)state;
    arena_init(&a, CHUNK);
    for (int round = 0; round < 20; round++) {
        for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
            unsigned char *p = arena_alloc(&a, sizes[i]);
            assert_non_null(p);
            assert_true(aligned(p));
            memset(p, 0xA5, sizes[i]);
            used += (sizes[i] + ALIGN - 1) / ALIGN * ALIGN;
        }
    }
    assert_int_equal(a.used, used);
    arena_fini(&a);
    assert_null(a.head);
    assert_int_equal(a.used, 0);
}

/* Consecutive small allocations are distinct, do not overlap, and keep their
 * contents while later ones are made. */
static void test_no_overlap(void **state)
{
    struct arena a;
    unsigned char *p[200];

    (void)state;
    arena_init(&a, CHUNK);
    for (int i = 0; i < 200; i++) {
        p[i] = arena_alloc(&a, 37);
        assert_non_null(p[i]);
        memset(p[i], i, 37);
    }
    for (int i = 0; i < 200; i++) {
        for (int j = 0; j < 37; j++) {
            assert_int_equal(p[i][j], (unsigned char)i);
        }
    }
    arena_fini(&a);
}

static void test_zero_length_and_min_chunk(void **state)
{
    struct arena a;

    (void)state;
    arena_init(&a, 10); /* raised to the 4096-byte minimum */
    assert_int_equal(a.chunk_size, 4096);
    assert_null(a.head);
    void *p = arena_alloc(&a, 0);
    assert_non_null(p);
    assert_true(aligned(p));
    assert_int_equal(a.used, 0);
    arena_fini(&a);
}

/* Lengths whose rounding up to the alignment overflows give NULL. */
static void test_overflowing_length(void **state)
{
    struct arena a;

    (void)state;
    arena_init(&a, CHUNK);
    assert_null(arena_alloc(&a, SIZE_MAX));
    assert_null(arena_alloc(&a, SIZE_MAX - 1));
    assert_null(arena_alloc(&a, SIZE_MAX - (ALIGN - 2)));
    assert_int_equal(a.used, 0);
    arena_fini(&a);
}

/* A length whose chunk header would overflow the malloc size gives NULL,
 * not a tiny block claiming the whole address space. */
static void test_huge_length(void **state)
{
    struct arena a;

    (void)state;
    arena_init(&a, CHUNK);
    assert_null(arena_alloc(&a, SIZE_MAX - (ALIGN - 1)));
    assert_null(arena_alloc(&a, SIZE_MAX - (2 * ALIGN - 1)));
    arena_fini(&a);
}

static void test_strndup(void **state)
{
    struct arena a;
    const char bytes[] = {'a', 'b', '\0', 'c'};

    (void)state;
    arena_init(&a, CHUNK);
    char *s = arena_strndup(&a, "hello world", 5);
    assert_non_null(s);
    assert_true(aligned(s));
    assert_string_equal(s, "hello");
    char *e = arena_strndup(&a, "", 0);
    assert_non_null(e);
    assert_string_equal(e, "");
    /* len bytes are copied as they are, a NUL among them included. */
    char *b = arena_strndup(&a, bytes, sizeof(bytes));
    assert_non_null(b);
    assert_memory_equal(b, bytes, sizeof(bytes));
    assert_int_equal(b[sizeof(bytes)], '\0');
    assert_string_equal(s, "hello"); /* unchanged by later allocations */
    arena_fini(&a);
}

static void test_join(void **state)
{
    struct arena a;
    const char *key[] = {"analytics.", "session:", "s1", ":", "fp-a"};
    const char *empty[] = {"", ""};
    const char *nine[] = {"1", "2", "3", "4", "5", "6", "7", "8", "9"};
    const char *eight[] = {"1", "2", "3", "4", "5", "6", "7", "8"};

    (void)state;
    arena_init(&a, CHUNK);
    char *s = arena_join(&a, key, 5);
    assert_non_null(s);
    assert_true(aligned(s));
    assert_string_equal(s, "analytics.session:s1:fp-a");
    assert_int_equal(a.used, (strlen(s) + 1 + ALIGN - 1) / ALIGN * ALIGN);
    assert_string_equal(arena_join(&a, empty, 2), "");
    assert_string_equal(arena_join(&a, key, 0), "");
    assert_string_equal(arena_join(&a, eight, 8), "12345678");
    assert_null(arena_join(&a, nine, 9)); /* more parts than it takes */

    /* Longer than a chunk. */
    char *big = malloc(3 * CHUNK);
    assert_non_null(big);
    memset(big, 'q', 3 * CHUNK - 1);
    big[3 * CHUNK - 1] = '\0';
    const char *parts[] = {"<", big, ">"};
    char *j = arena_join(&a, parts, 3);
    assert_non_null(j);
    assert_int_equal(strlen(j), 3 * CHUNK + 1);
    assert_int_equal(j[0], '<');
    assert_int_equal(j[3 * CHUNK], '>');
    assert_memory_equal(j + 1, big, 3 * CHUNK - 1);
    assert_string_equal(s, "analytics.session:s1:fp-a");
    free(big);
    arena_fini(&a);
}

static void test_printf_short(void **state)
{
    struct arena a;

    (void)state;
    arena_init(&a, CHUNK);
    char *s = arena_printf(&a, "%sdedup:%s", "analytics.", "ev-1");
    assert_non_null(s);
    assert_true(aligned(s));
    assert_string_equal(s, "analytics.dedup:ev-1");
    char *t = arena_printf(&a, "%d:%lld", 3, 9000000000LL);
    assert_string_equal(t, "3:9000000000");
    char *e = arena_printf(&a, "%s", "");
    assert_string_equal(e, "");
    arena_fini(&a);
}

/* Results of 255, 256, 257 and 5000 bytes: the 256-byte stack buffer's edge
 * and a result larger than a whole chunk. */
static void test_printf_long(void **state)
{
    struct arena a;
    const size_t lens[] = {255, 256, 257, 300, 5000};
    char *src = malloc(5001);

    (void)state;
    assert_non_null(src);
    for (size_t i = 0; i < 5000; i++) {
        src[i] = (char)('a' + i % 26);
    }
    src[5000] = '\0';
    arena_init(&a, CHUNK);
    for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
        size_t n = lens[k] - 4; /* "<" + ">" + two digits */
        char *s = arena_printf(&a, "<%.*s>%02d", (int)n, src, 42);
        assert_non_null(s);
        assert_true(aligned(s));
        assert_int_equal(strlen(s), lens[k]);
        assert_int_equal(s[0], '<');
        assert_memory_equal(s + 1, src, n);
        assert_string_equal(s + 1 + n, ">42");
    }
    /* The exact 300-byte case of the contract, checked byte for byte. */
    char *want = malloc(301);
    assert_non_null(want);
    memset(want, 'x', 290);
    memcpy(want + 290, "0123456789", 11);
    char *s = arena_printf(&a, "%.*s%s", 290, want, "0123456789");
    assert_non_null(s);
    assert_int_equal(strlen(s), 300);
    assert_string_equal(s, want);
    free(want);
    free(src);
    arena_fini(&a);
}

/* A request larger than the chunk size gets a chunk of its own and regular
 * allocations go on in the current chunk. */
static void test_oversized(void **state)
{
    struct arena a;

    (void)state;
    arena_init(&a, CHUNK);
    unsigned char *p1 = arena_alloc(&a, 16);
    assert_non_null(p1);
    unsigned char *big = arena_alloc(&a, 3 * CHUNK + 5);
    assert_non_null(big);
    assert_true(aligned(big));
    memset(big, 0x5A, 3 * CHUNK + 5);
    /* The half-empty regular chunk keeps filling after the oversized one. */
    unsigned char *p2 = arena_alloc(&a, 16);
    assert_ptr_equal(p2, p1 + 16);
    assert_int_equal(a.used, 16 + (3 * CHUNK + 5 + ALIGN - 1) / ALIGN * ALIGN + 16);
    /* Oversized first thing, then small ones. */
    unsigned char *big2 = arena_alloc(&a, 10 * CHUNK);
    assert_non_null(big2);
    memset(big2, 0x11, 10 * CHUNK);
    for (int i = 0; i < 100; i++) {
        unsigned char *p = arena_alloc(&a, 100);
        assert_non_null(p);
        assert_true(aligned(p));
        memset(p, i, 100);
    }
    assert_int_equal(big[3 * CHUNK + 4], 0x5A);
    assert_int_equal(big2[10 * CHUNK - 1], 0x11);
    arena_fini(&a);
}

/* A request of exactly the chunk size fits a regular chunk. */
static void test_exact_chunk(void **state)
{
    struct arena a;

    (void)state;
    arena_init(&a, CHUNK);
    unsigned char *p = arena_alloc(&a, CHUNK);
    assert_non_null(p);
    memset(p, 1, CHUNK);
    arena_reset(&a);
    assert_non_null(a.head); /* kept: it is a regular chunk */
    assert_ptr_equal(arena_alloc(&a, CHUNK), p);
    arena_fini(&a);
}

static void test_reset_reuses(void **state)
{
    struct arena a;

    (void)state;
    arena_init(&a, CHUNK);
    arena_reset(&a); /* nothing allocated yet */
    assert_null(a.head);
    assert_int_equal(a.used, 0);
    unsigned char *first = arena_alloc(&a, 64);
    assert_non_null(first);
    assert_int_equal(a.used, 64);
    arena_reset(&a);
    assert_int_equal(a.used, 0);
    assert_ptr_equal(arena_alloc(&a, 64), first);

    /* Many chunks and oversized ones: reset keeps one regular chunk, frees
     * the rest (ASan reports a leak otherwise) and the arena works on. */
    for (int round = 0; round < 50; round++) {
        for (int i = 0; i < 300; i++) {
            unsigned char *p = arena_alloc(&a, 50);
            assert_non_null(p);
            memset(p, i, 50);
        }
        unsigned char *big = arena_alloc(&a, 2 * CHUNK);
        assert_non_null(big);
        memset(big, round, 2 * CHUNK);
        char want[32];
        snprintf(want, sizeof(want), "round %d", round);
        assert_string_equal(arena_printf(&a, "round %d", round), want);
        arena_reset(&a);
        assert_int_equal(a.used, 0);
        assert_non_null(a.head);
        unsigned char *again = arena_alloc(&a, 16);
        assert_non_null(again);
        arena_reset(&a);
        assert_ptr_equal(arena_alloc(&a, 16), again); /* the kept chunk's start */
        arena_reset(&a);
    }
    arena_fini(&a);
}

static void test_fini_zeroed(void **state)
{
    struct arena zero;
    struct arena a;

    (void)state;
    memset(&zero, 0, sizeof(zero));
    arena_fini(&zero);
    assert_null(zero.head);
    arena_init(&a, CHUNK);
    arena_fini(&a); /* nothing allocated */
    arena_init(&a, CHUNK);
    assert_non_null(arena_alloc(&a, 10));
    arena_fini(&a);
    arena_fini(&a); /* twice: the first left it zeroed */
    assert_null(a.head);
    assert_int_equal(a.used, 0);
}

/* A RawEvent packed with protobuf-c's default allocator unpacks through the
 * arena; its frees do nothing and arena_fini releases everything. */
static void test_protobuf_allocator(void **state)
{
    struct arena a;
    ProtobufCAllocator pa;
    Analytics__V1__RawEvent ev = ANALYTICS__V1__RAW_EVENT__INIT;
    Analytics__V1__Consent consent = ANALYTICS__V1__CONSENT__INIT;

    (void)state;
    ev.schema_version = 1;
    ev.event_id = "0b7e4c1a-2d3f-4e5a-8b6c-7d8e9f0a1b2c";
    ev.event_type = "page_view";
    ev.fingerprint = "fp-123";
    ev.page_url = "https://shop.example/p/1?utm_source=news";
    ev.client_ts_ms = 1700000000123LL;
    ev.batch_index = 7;
    ev.consent = &consent;
    size_t len = analytics__v1__raw_event__get_packed_size(&ev);
    uint8_t *buf = malloc(len);
    assert_non_null(buf);
    assert_int_equal(analytics__v1__raw_event__pack(&ev, buf), len);

    arena_init(&a, CHUNK);
    arena_protobuf_allocator(&a, &pa);
    assert_ptr_equal(pa.allocator_data, &a);
    Analytics__V1__RawEvent *back = analytics__v1__raw_event__unpack(&pa, len, buf);
    assert_non_null(back);
    assert_true(a.used > 0);
    assert_true(aligned(back));
    assert_string_equal(back->event_id, ev.event_id);
    assert_string_equal(back->event_type, "page_view");
    assert_string_equal(back->fingerprint, "fp-123");
    assert_string_equal(back->page_url, ev.page_url);
    assert_string_equal(back->session_id, "");
    assert_int_equal(back->client_ts_ms, 1700000000123LL);
    assert_int_equal(back->batch_index, 7);
    assert_non_null(back->consent);
    size_t used = a.used;
    analytics__v1__raw_event__free_unpacked(back, &pa); /* a no-op */
    assert_int_equal(a.used, used);

    /* Garbage does not unpack; whatever was allocated stays in the arena. */
    const uint8_t junk[] = {0x12, 0x7f, 'x'}; /* field 2, length 127, 1 byte */
    assert_null(analytics__v1__raw_event__unpack(&pa, sizeof(junk), junk));

    /* After a reset the same message unpacks again into reused memory. */
    arena_reset(&a);
    back = analytics__v1__raw_event__unpack(&pa, len, buf);
    assert_non_null(back);
    assert_string_equal(back->fingerprint, "fp-123");
    free(buf);
    arena_fini(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alignment),
        cmocka_unit_test(test_no_overlap),
        cmocka_unit_test(test_zero_length_and_min_chunk),
        cmocka_unit_test(test_overflowing_length),
        cmocka_unit_test(test_huge_length),
        cmocka_unit_test(test_strndup),
        cmocka_unit_test(test_join),
        cmocka_unit_test(test_printf_short),
        cmocka_unit_test(test_printf_long),
        cmocka_unit_test(test_oversized),
        cmocka_unit_test(test_exact_chunk),
        cmocka_unit_test(test_reset_reuses),
        cmocka_unit_test(test_fini_zeroed),
        cmocka_unit_test(test_protobuf_allocator),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
