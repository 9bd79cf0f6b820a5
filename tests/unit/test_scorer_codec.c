/*
 * Unit tests for the profile's durable form (services/scorer/profile_codec.c):
 * seeded random profiles round-trip to the byte, and damaged states (every
 * field removed or of the wrong type in turn, truncations, another version,
 * deep nesting, too many pages or reasons) are refused with the field named;
 * a state from before the reasons were kept reads as never explained, and a
 * state of version 1 with no churn warning sent.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "analytics/rng.h"
#include "profile_codec.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void random_profile(struct profile *p, uint64_t *rng)
{
    char fp[32];

    snprintf(fp, sizeof(fp), "fp-%u", rng_below(rng, 1000000));
    prof_init(p, fp);
    snprintf(p->user_id, sizeof(p->user_id), "%s", rng_chance(rng, 0.5) ? "user-7" : "");
    snprintf(p->stage, sizeof(p->stage), "%s", rng_chance(rng, 0.5) ? "consideration" : "");
    p->first_seen_ms = 1700000000000LL + rng_below(rng, 1000000000);
    p->last_seen_ms = p->first_seen_ms + rng_below(rng, 100000000);
    p->sessions = (int)rng_below(rng, 500);
    p->events = (int)rng_below(rng, 100000);
    p->page_views = (int)rng_below(rng, 50000);
    p->seconds = rng_below(rng, 4000000);
    p->ntypes = (int)rng_below(rng, PROFILE_TYPES_MAX + 1);
    for (int i = 0; i < p->ntypes; i++) {
        snprintf(p->types[i].type, sizeof(p->types[i].type), "type-%d", i);
        p->types[i].views = (int)rng_below(rng, 1000);
        p->types[i].seconds = rng_below(rng, 100000);
    }
    p->pricing_views = (int)rng_below(rng, 50);
    p->bookings_started = (int)rng_below(rng, 5);
    p->bookings_completed = (int)rng_below(rng, 5);
    p->forms_started = (int)rng_below(rng, 9);
    p->rage_clicks = (int)rng_below(rng, 9);
    p->exit_intents = (int)rng_below(rng, 9);
    p->deepest_scroll = (int)rng_below(rng, 101);
    p->first_channel = (int)rng_below(rng, 8);
    p->first_device = (int)rng_below(rng, 5);
    p->first_visit_day = 19000 + rng_below(rng, 2000);
    p->last_visit_day = p->first_visit_day + rng_below(rng, 300);
    p->visit_days = (int)rng_below(rng, 300);
    p->bots = rng_below(rng, 3);
    p->warned_seen_ms = rng_chance(rng, 0.3) ? p->last_seen_ms : 0;
    struct profile_session *s = &p->cur;
    snprintf(s->id, sizeof(s->id), "session-%u", rng_below(rng, 1u << 30));
    s->start_ms = p->last_seen_ms - rng_below(rng, 100000);
    s->last_ms = p->last_seen_ms;
    s->local_day = p->last_visit_day;
    s->view_ms = s->last_ms - rng_below(rng, 1000);
    s->view_cat = (int)rng_below(rng, PAGE_CAT_COUNT + 1) - 1;
    s->view_type = p->ntypes > 0 ? (int)rng_below(rng, (uint32_t)p->ntypes) : -1;
    for (int c = 0; c < PAGE_CAT_COUNT; c++) {
        s->views[c] = (int)rng_below(rng, 40);
        s->ms[c] = rng_below(rng, 5000000);
    }
    s->page_views = (int)rng_below(rng, 200);
    s->npages = (int)rng_below(rng, PROFILE_PAGES_MAX + 1);
    for (int i = 0; i < s->npages; i++) {
        s->pages[i].hash = rng_next(rng) | 1;
        s->pages[i].views = 1 + (int)rng_below(rng, 9);
        s->pages[i].value_micros = rng_chance(rng, 0.3) ? rng_below(rng, 300000000) : 0;
    }
    s->exit_page = s->npages > 0 ? s->pages[s->npages - 1].hash : 0;
    s->revenue_micros = rng_below(rng, 1000000000);
    s->closed = rng_chance(rng, 0.5);
    if (rng_chance(rng, 0.8)) {
        struct profile_explained *x = &p->explained;
        x->score = (int)rng_below(rng, 101);
        x->persona = (int)rng_below(rng, 9) - 1;
        x->nreasons = (int)rng_below(rng, PROFILE_REASONS_MAX + 1);
        for (int i = 0; i < x->nreasons; i++) {
            snprintf(x->reasons[i], sizeof(x->reasons[i]), "viewed %u pricing pages \"%c\"",
                     rng_below(rng, 100), 'a' + i);
        }
    }
}

static void test_round_trip(void **state)
{
    uint64_t rng = 42;
    (void)state;

    for (int i = 0; i < 2000; i++) {
        struct profile p, q;
        char err[256] = "";
        random_profile(&p, &rng);
        char *text = prof_encode(&p);
        assert_non_null(text);
        if (prof_decode(text, &q, err, sizeof(err)) != 0) {
            fail_msg("profile %d: %s in %s", i, err, text);
        }
        /* Both are zeroed before they are filled, padding included, so their bytes
         * are comparable. */
        if (memcmp(&p, &q, sizeof(p)) != 0) { // NOLINT(bugprone-suspicious-memory-comparison)
            const unsigned char *a = (const void *)&p, *b = (const void *)&q;
            size_t at = 0;
            while (a[at] == b[at]) {
                at++;
            }
            fail_msg("profile %d does not round-trip from byte %zu (cur at %zu): %s", i, at,
                     offsetof(struct profile, cur), text);
        }
        free(text);
    }
}

/* Decoding text must fail naming want. */
static void expect_refused(const char *text, const char *want)
{
    struct profile q;
    char err[256] = "";

    assert_int_equal(prof_decode(text, &q, err, sizeof(err)), -1);
    if (strstr(err, want) == NULL) {
        fail_msg("\"%s\" lacks \"%s\" (input %.80s)", err, want, text != NULL ? text : "NULL");
    }
}

static void test_damaged(void **state)
{
    uint64_t rng = 7;
    struct profile p;
    (void)state;

    random_profile(&p, &rng);
    p.cur.npages = 3;
    char *text = prof_encode(&p);
    cJSON *doc = cJSON_Parse(text);
    assert_non_null(doc);
    /* Every top-level field missing, then of the wrong type, in turn. */
    const cJSON *item;
    cJSON_ArrayForEach(item, doc)
    {
        cJSON *copy = cJSON_Duplicate(doc, 1);
        cJSON_DeleteItemFromObjectCaseSensitive(copy, item->string);
        char *t = cJSON_PrintUnformatted(copy);
        if (strcmp(item->string, "explained") != 0) { /* optional: see test_before_reasons */
            expect_refused(t, strcmp(item->string, "v") == 0 ? "v" : item->string);
        }
        free(t);
        cJSON_AddItemToObject(copy, item->string, cJSON_CreateObject());
        t = cJSON_PrintUnformatted(copy);
        expect_refused(t, "profile state");
        free(t);
        cJSON_Delete(copy);
    }
    /* Truncated at every length. */
    for (size_t n = 0; n < strlen(text); n += 7) {
        char *t = strndup(text, n);
        struct profile q;
        char err[256];
        assert_int_equal(prof_decode(t, &q, err, sizeof(err)), -1);
        free(t);
    }
    expect_refused(NULL, "not a JSON object");
    expect_refused("[]", "not a JSON object");
    expect_refused("{\"v\":3}", "another version");
    expect_refused("{\"v\":0}", "another version");
    expect_refused("{\"v\":1.5}", "v");
    char *deep = calloc(1, 100001);
    memset(deep, '[', 100000);
    expect_refused(deep, "not a JSON object");
    free(deep);
    /* More pages than a session keeps. */
    cJSON *cur = cJSON_GetObjectItemCaseSensitive(doc, "cur");
    cJSON *pages = cJSON_GetObjectItemCaseSensitive(cur, "pages");
    for (int i = 0; i < PROFILE_PAGES_MAX; i++) {
        cJSON_AddItemToArray(pages, cJSON_Duplicate(cJSON_GetArrayItem(pages, 0), 1));
    }
    char *t = cJSON_PrintUnformatted(doc);
    expect_refused(t, "cur.pages");
    free(t);
    /* A hash that is not a decimal string. */
    cJSON_ReplaceItemInObjectCaseSensitive(cur, "exit", cJSON_CreateString("-1"));
    cJSON_ReplaceItemInObjectCaseSensitive(cur, "pages", cJSON_CreateArray());
    t = cJSON_PrintUnformatted(doc);
    expect_refused(t, "cur.exit");
    free(t);
    /* The reasons: more than kept, too long, not text, a score out of range. */
    cJSON *x = cJSON_GetObjectItemCaseSensitive(doc, "explained");
    cJSON_ReplaceItemInObjectCaseSensitive(cur, "exit", cJSON_CreateString("1"));
    const char *six[] = {"a", "b", "c", "d", "e", "f"};
    cJSON_ReplaceItemInObjectCaseSensitive(x, "reasons", cJSON_CreateStringArray(six, 6));
    t = cJSON_PrintUnformatted(doc);
    expect_refused(t, "explained.reasons");
    free(t);
    char long_reason[PROFILE_REASON_MAX + 1];
    memset(long_reason, 'x', PROFILE_REASON_MAX);
    long_reason[PROFILE_REASON_MAX] = '\0';
    const char *one[] = {long_reason};
    cJSON_ReplaceItemInObjectCaseSensitive(x, "reasons", cJSON_CreateStringArray(one, 1));
    t = cJSON_PrintUnformatted(doc);
    expect_refused(t, "explained.reasons");
    free(t);
    cJSON_ReplaceItemInObjectCaseSensitive(x, "reasons", cJSON_CreateIntArray((int[]){1}, 1));
    t = cJSON_PrintUnformatted(doc);
    expect_refused(t, "explained.reasons");
    free(t);
    cJSON_ReplaceItemInObjectCaseSensitive(x, "reasons", cJSON_CreateArray());
    cJSON_ReplaceItemInObjectCaseSensitive(x, "score", cJSON_CreateNumber(101));
    t = cJSON_PrintUnformatted(doc);
    expect_refused(t, "score");
    free(t);
    cJSON_Delete(doc);
    free(text);
}

/* A state written before the reasons were kept: read, never explained. */
static void test_before_reasons(void **state)
{
    uint64_t rng = 11;
    struct profile p, q;
    char err[256] = "";
    (void)state;

    random_profile(&p, &rng);
    char *text = prof_encode(&p);
    cJSON *doc = cJSON_Parse(text);
    assert_non_null(doc);
    cJSON_DeleteItemFromObjectCaseSensitive(doc, "explained");
    char *t = cJSON_PrintUnformatted(doc);
    if (prof_decode(t, &q, err, sizeof(err)) != 0) {
        fail_msg("%s", err);
    }
    assert_int_equal(q.explained.score, -1);
    assert_int_equal(q.explained.persona, -1);
    assert_int_equal(q.explained.nreasons, 0);
    assert_int_equal(q.events, p.events);
    assert_string_equal(q.cur.id, p.cur.id);
    free(t);
    cJSON_Delete(doc);
    free(text);
}

/* Version 1, from before the churn warning's mark: read with none sent. */
static void test_version_1(void **state)
{
    uint64_t rng = 11;
    struct profile p, q;
    char err[256] = "";
    (void)state;

    random_profile(&p, &rng);
    p.warned_seen_ms = p.last_seen_ms;
    char *text = prof_encode(&p);
    cJSON *doc = cJSON_Parse(text);
    assert_non_null(doc);
    cJSON_DeleteItemFromObjectCaseSensitive(doc, "warned_seen_ms");
    cJSON_ReplaceItemInObjectCaseSensitive(doc, "v", cJSON_CreateNumber(1));
    char *v1 = cJSON_PrintUnformatted(doc);
    assert_int_equal(prof_decode(v1, &q, err, sizeof(err)), 0);
    assert_int_equal(q.warned_seen_ms, 0);
    p.warned_seen_ms = 0;
    assert_memory_equal(&p, &q, sizeof(p));
    free(v1);
    cJSON_Delete(doc);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_damaged),
        cmocka_unit_test(test_before_reasons),
        cmocka_unit_test(test_version_1),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
