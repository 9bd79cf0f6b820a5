/*
 * Unit tests for one batch of the enricher (services/enricher/batch.c),
 * driven as daemon.c drives it but with Redis replies made here: decoding
 * and dead letters, dedup keys and tokens, the SET NX / GET dedup protocol
 * with the delivered watermarks, session loading, enrichment with sessions,
 * state writes, reject, reset and the capacity bound.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "batch.h"

#include "analytics/redis.h"
#include "analytics/v1/dead_letter.pb-c.h"
#include "analytics/v1/enriched_event.pb-c.h"
#include "analytics/v1/raw_event.pb-c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CAP 8
#define PREFIX "analytics."
#define MIN_MS (60LL * 1000)
#define IDLE_MS (30 * MIN_MS)
#define T0 1767261600000LL /* 2026-01-01 10:00:00 UTC */
#define NOW_MS (T0 + 24 * 60 * MIN_MS)
#define PAGE "https://shop.example/products/1"
#define WM(p) PREFIX "delivered:events.raw:" #p /* a partition's watermark key */

/* ---- fixtures ---- */

/* A Redis made of a few string keys: enough to answer as the server would. */
struct fake_redis {
    char *keys[64];
    char *vals[64];
    size_t n;
};

/* The batch under test and the buffers its events borrow. */
struct fx {
    struct batch b;
    struct session_config sc;
    struct enrich_ctx ctx; /* every database NULL: enrich_event copes */
    struct fake_redis redis;
    uint8_t *payload[64];
    char *key[64];
    size_t nbufs;
};

/* The fields of one raw event; NULL strings stay unset. */
struct raw {
    const char *event_id, *event_type, *fingerprint, *site_id, *session_id, *page_url;
    long long ts_ms;
    uint32_t batch_index;
};

static const struct batch_names test_names = {PREFIX, "events.raw", "analytics-enricher", 65536};

static int fx_setup_names(void **state, const struct batch_names *names)
{
    struct fx *f = calloc(1, sizeof(*f));
    char err[256] = "";

    if (f == NULL) {
        return -1;
    }
    if (batch_init(&f->b, CAP, names) != 0 ||
        session_config_init(&f->sc, IDLE_MS, "UTC", NULL, err, sizeof(err)) != 0) {
        batch_fini(&f->b);
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int fx_setup(void **state)
{
    return fx_setup_names(state, &test_names);
}

/* Dead letters keep at most 4 bytes of the original. */
static int fx_setup_small_dl(void **state)
{
    static const struct batch_names small = {PREFIX, "events.raw", "analytics-enricher", 4};

    return fx_setup_names(state, &small);
}

static void fx_free_bufs(struct fx *f)
{
    for (size_t i = 0; i < f->nbufs; i++) {
        free(f->payload[i]);
        free(f->key[i]);
        f->payload[i] = NULL;
        f->key[i] = NULL;
    }
    f->nbufs = 0;
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;

    batch_fini(&f->b);
    session_config_fini(&f->sc);
    fx_free_bufs(f);
    for (size_t i = 0; i < f->redis.n; i++) {
        free(f->redis.keys[i]);
        free(f->redis.vals[i]);
    }
    free(f);
    return 0;
}

static char *xstrdup(const char *s)
{
    char *p = strdup(s);

    assert_non_null(p);
    return p;
}

/* Adds a message with these exact payload bytes; key NULL for none. */
static struct batch_event *add_bytes(struct fx *f, int32_t partition, int64_t offset,
                                     const char *key, const void *bytes, size_t len)
{
    assert_true(f->nbufs < 64);
    uint8_t *p = malloc(len > 0 ? len : 1); /* exact size: ASan sees overreads */
    assert_non_null(p);
    memcpy(p, bytes, len);
    f->payload[f->nbufs] = p;
    f->key[f->nbufs] = key != NULL ? xstrdup(key) : NULL;
    const char *k = f->key[f->nbufs];
    f->nbufs++;
    return batch_add(&f->b, partition, offset, k, k != NULL ? strlen(k) : 0, p, len);
}

/* Packs r into a new buffer (caller frees) of *len bytes. */
static uint8_t *pack_raw(const struct raw *r, size_t *len)
{
    Analytics__V1__RawEvent ev = ANALYTICS__V1__RAW_EVENT__INIT;

    ev.schema_version = 1;
    if (r->event_id != NULL) {
        ev.event_id = (char *)r->event_id;
    }
    if (r->event_type != NULL) {
        ev.event_type = (char *)r->event_type;
    }
    if (r->fingerprint != NULL) {
        ev.fingerprint = (char *)r->fingerprint;
    }
    if (r->site_id != NULL) {
        ev.site_id = (char *)r->site_id;
    }
    if (r->session_id != NULL) {
        ev.session_id = (char *)r->session_id;
    }
    if (r->page_url != NULL) {
        ev.page_url = (char *)r->page_url;
    }
    ev.client_ts_ms = r->ts_ms;
    ev.client_ts_present = true;
    ev.received_ts_ms = r->ts_ms;
    ev.event_data_json = "{}";
    ev.user_agent = "Mozilla/5.0 (X11; Linux x86_64)";
    ev.client_ip = "203.0.113.7";
    ev.batch_index = r->batch_index;
    *len = analytics__v1__raw_event__get_packed_size(&ev);
    uint8_t *buf = malloc(*len > 0 ? *len : 1);
    assert_non_null(buf);
    assert_int_equal(analytics__v1__raw_event__pack(&ev, buf), *len);
    return buf;
}

/* Adds r as the message at partition/offset, keyed by its fingerprint as the
 * collector keys it. */
static struct batch_event *add_raw(struct fx *f, int32_t partition, int64_t offset,
                                   const struct raw *r)
{
    size_t len;
    uint8_t *buf = pack_raw(r, &len);
    struct batch_event *e = add_bytes(f, partition, offset, r->fingerprint, buf, len);

    free(buf);
    return e;
}

/* A page view of visitor fp on site s1 at ts_ms. */
static struct batch_event *add_view(struct fx *f, int32_t partition, int64_t offset, const char *id,
                                    const char *fp, long long ts_ms, const char *url)
{
    struct raw r = {id, "page_view", fp, "s1", NULL, url, ts_ms, 0};

    return add_raw(f, partition, offset, &r);
}

static const char *fake_get(const struct fake_redis *r, const char *key)
{
    for (size_t i = 0; i < r->n; i++) {
        if (strcmp(r->keys[i], key) == 0) {
            return r->vals[i];
        }
    }
    return NULL;
}

static void fake_set(struct fake_redis *r, const char *key, const char *val, size_t len)
{
    for (size_t i = 0; i < r->n; i++) {
        if (strcmp(r->keys[i], key) == 0) {
            free(r->vals[i]);
            r->vals[i] = strndup(val, len);
            assert_non_null(r->vals[i]);
            return;
        }
    }
    assert_true(r->n < 64);
    r->keys[r->n] = xstrdup(key);
    r->vals[r->n] = strndup(val, len);
    assert_non_null(r->vals[r->n]);
    r->n++;
}

/* SET key val NX: 1 when set, 0 when the key existed. */
static int fake_set_nx(struct fake_redis *r, const char *key, const char *val)
{
    if (fake_get(r, key) != NULL) {
        return 0;
    }
    fake_set(r, key, val, strlen(val));
    return 1;
}

/* The dedup round trips against the fake Redis, as daemon_dedup, daemon_get
 * and batch_dedup_resolve make them. */
static void run_dedup(struct fx *f)
{
    const struct batch_cmds *c = batch_dedup_cmds(&f->b);

    for (size_t k = 0; k < c->n; k++) {
        c->results[k] = fake_set_nx(&f->redis, c->keys[k], c->vals[k]);
    }
    assert_int_equal(batch_dedup_apply(&f->b), 0);
    c = batch_dedup_check_cmds(&f->b);
    for (size_t k = 0; k < c->n; k++) {
        const char *v = fake_get(&f->redis, c->keys[k]);
        assert_int_equal(
            batch_dedup_checked(&f->b, k, v != NULL ? 1 : 0, v, v != NULL ? strlen(v) : 0), 0);
    }
    batch_dedup_resolve(&f->b);
}

/* The session reads against the fake Redis. */
static void run_session_read(struct fx *f)
{
    const struct batch_cmds *c = batch_session_cmds(&f->b);

    for (size_t k = 0; k < c->n; k++) {
        const char *v = fake_get(&f->redis, c->keys[k]);
        assert_int_equal(
            batch_session_loaded(&f->b, k, v != NULL ? 1 : 0, v, v != NULL ? strlen(v) : 0), 0);
    }
}

/* The session writes into the fake Redis; returns how many. */
static size_t run_session_write(struct fx *f)
{
    const struct batch_cmds *c = batch_session_write_cmds(&f->b);

    for (size_t k = 0; k < c->n; k++) {
        fake_set(&f->redis, c->keys[k], c->vals[k], c->lens[k]);
    }
    return c->n;
}

/* Decode to session write, every reply from the fake Redis. */
static void run_all(struct fx *f)
{
    assert_int_equal(batch_decode(&f->b), 0);
    run_dedup(f);
    run_session_read(f);
    assert_int_equal(batch_enrich(&f->b, &f->ctx, &f->sc, NOW_MS), 0);
    run_session_write(f);
}

/* Sets every result of the last command list to rc. */
static void set_results(const struct batch_cmds *c, int rc)
{
    for (size_t k = 0; k < c->n; k++) {
        c->results[k] = rc;
    }
}

/* Unpacks event e's output as an enriched event (caller frees). */
static Analytics__V1__EnrichedEvent *enriched_of(const struct batch_event *e)
{
    assert_int_equal(e->state, BATCH_EV_NEW);
    assert_non_null(e->out);
    Analytics__V1__EnrichedEvent *ev =
        analytics__v1__enriched_event__unpack(NULL, e->out_len, e->out);
    assert_non_null(ev);
    assert_non_null(ev->session);
    return ev;
}

/* Unpacks event e's output as a dead letter (caller frees). */
static Analytics__V1__DeadLetter *dead_of(const struct batch_event *e)
{
    assert_int_equal(e->state, BATCH_EV_DEAD);
    assert_non_null(e->out);
    Analytics__V1__DeadLetter *dl = analytics__v1__dead_letter__unpack(NULL, e->out_len, e->out);
    assert_non_null(dl);
    return dl;
}

static void expect_session(const struct batch_event *e, const char *id, unsigned seq, int is_new,
                           const char *reason, int client)
{
    Analytics__V1__EnrichedEvent *ev = enriched_of(e);

    if (id != NULL) {
        assert_string_equal(ev->session->session_id, id);
    }
    assert_int_equal(ev->session->sequence, seq);
    assert_int_equal(ev->session->new_session, is_new);
    assert_string_equal(ev->session->start_reason, reason);
    assert_int_equal(ev->session->client_assigned, client);
    analytics__v1__enriched_event__free_unpacked(ev, NULL);
}

/* The session id of event e's enriched output, copied into buf. */
static void session_id_of(const struct batch_event *e, char *buf, size_t len)
{
    Analytics__V1__EnrichedEvent *ev = enriched_of(e);

    snprintf(buf, len, "%s", ev->session->session_id);
    analytics__v1__enriched_event__free_unpacked(ev, NULL);
}

static int is_uuid4(const char *s)
{
    if (strlen(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-') {
        return 0;
    }
    return s[14] == '4' && strchr("89ab", s[19]) != NULL;
}

/* A valid stored state. */
static void make_state(struct session_state *st, const char *id, long long started, long long last,
                       long long seq, const char *campaign)
{
    memset(st, 0, sizeof(*st));
    snprintf(st->session_id, sizeof(st->session_id), "%s", id);
    st->started_ms = started;
    st->last_event_ms = last;
    st->sequence = seq;
    st->start_day = started / 86400000;
    snprintf(st->campaign, sizeof(st->campaign), "%s", campaign);
}

/* ---- decoding ---- */

static void test_decode_keys_tokens_visitors(void **state)
{
    struct fx *f = *state;
    struct batch *b = &f->b;

    add_view(f, 2, 10, "ev-0", "fp-a", T0, PAGE);
    add_view(f, 2, 11, "ev-1", "fp-a", T0 + 1000, PAGE);
    add_view(f, 3, 9000000000LL, "ev-2", "fp-b", T0, PAGE);
    struct raw other_site = {"ev-3", "click", "fp-a", "s2", NULL, PAGE, T0, 0};
    add_raw(f, 0, 0, &other_site);
    assert_int_equal(batch_decode(b), 0);

    assert_int_equal(b->stats.decoded, 4);
    assert_int_equal(b->stats.dead, 0);
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(b->ev[i].state, BATCH_EV_PENDING);
        assert_false(b->ev[i].checking);
        assert_non_null(b->ev[i].raw);
        assert_null(b->ev[i].out);
    }
    assert_string_equal(b->ev[0].dedup_key, PREFIX "dedup:ev-0");
    assert_string_equal(b->ev[2].dedup_key, PREFIX "dedup:ev-2");
    assert_string_equal(b->ev[0].token, "2:10");
    assert_string_equal(b->ev[1].token, "2:11");
    assert_string_equal(b->ev[2].token, "3:9000000000");
    assert_string_equal(b->ev[3].token, "0:0");
    assert_string_equal(b->ev[0].raw->event_id, "ev-0");

    /* One visitor per site and fingerprint. */
    assert_int_equal(b->nvis, 3);
    assert_true(b->ev[0].visitor >= 0);
    assert_int_equal(b->ev[0].visitor, b->ev[1].visitor);
    assert_int_not_equal(b->ev[0].visitor, b->ev[2].visitor);
    assert_int_not_equal(b->ev[0].visitor, b->ev[3].visitor);
    assert_string_equal(b->vis[b->ev[0].visitor].key, PREFIX "session:s1:fp-a");
    assert_string_equal(b->vis[b->ev[2].visitor].key, PREFIX "session:s1:fp-b");
    assert_string_equal(b->vis[b->ev[3].visitor].key, PREFIX "session:s2:fp-a");
}

/* Many visitors fill the hash table to its intended load and each keeps its
 * own index. */
static void test_decode_visitor_table_full(void **state)
{
    struct fx *f = *state;
    char id[32], fp[32];

    for (int i = 0; i < CAP; i++) {
        snprintf(id, sizeof(id), "ev-%d", i);
        snprintf(fp, sizeof(fp), "fp-%d", i % 5);
        add_view(f, 0, i, id, fp, T0, PAGE);
    }
    assert_true(batch_full(&f->b));
    assert_int_equal(batch_decode(&f->b), 0);
    assert_int_equal(f->b.nvis, 5);
    for (int i = 0; i < CAP; i++) {
        snprintf(fp, sizeof(fp), PREFIX "session:s1:fp-%d", i % 5);
        assert_string_equal(f->b.vis[f->b.ev[i].visitor].key, fp);
        assert_int_equal(f->b.ev[i].visitor, f->b.ev[i % 5].visitor);
    }
}

static void test_decode_undecodable(void **state)
{
    struct fx *f = *state;
    struct batch *b = &f->b;
    const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff};
    const uint8_t truncated[] = {0x12, 0x10, 'a', 'b'}; /* event_id of 16 bytes, 2 there */

    add_bytes(f, 1, 5, "fp-x", junk, sizeof(junk));
    add_bytes(f, 1, 6, NULL, truncated, sizeof(truncated));
    add_view(f, 1, 7, "ev-ok", "fp-ok", T0, PAGE);
    assert_int_equal(batch_decode(b), 0);
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(b->ev[i].state, BATCH_EV_DEAD);
        assert_string_equal(b->ev[i].dead_code, "undecodable");
        assert_non_null(b->ev[i].dead_reason);
        assert_null(b->ev[i].raw);
        assert_int_equal(b->ev[i].visitor, -1);
        assert_null(b->ev[i].dedup_key);
    }
    assert_int_equal(b->ev[2].state, BATCH_EV_PENDING);
    assert_int_equal(b->stats.dead, 2);
    assert_int_equal(b->stats.decoded, 1);
    assert_int_equal(b->nvis, 1);
}

static void test_decode_invalid_event(void **state)
{
    struct fx *f = *state;
    struct batch *b = &f->b;
    struct raw no_id = {NULL, "page_view", "fp-1", "s1", NULL, PAGE, T0, 0};
    struct raw no_type = {"ev-2", NULL, "fp-2", "s1", NULL, PAGE, T0, 0};
    struct raw no_fp = {"ev-3", "page_view", NULL, "s1", NULL, PAGE, T0, 0};
    struct raw empty_id = {"", "page_view", "fp-4", "s1", NULL, PAGE, T0, 0};

    add_raw(f, 0, 1, &no_id);
    add_raw(f, 0, 2, &no_type);
    add_raw(f, 0, 3, &no_fp);
    add_raw(f, 0, 4, &empty_id);
    add_bytes(f, 0, 5, NULL, "", 0); /* an empty message decodes, with no fields */
    assert_int_equal(batch_decode(b), 0);
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(b->ev[i].state, BATCH_EV_DEAD);
        assert_string_equal(b->ev[i].dead_code, "invalid_event");
        assert_string_equal(b->ev[i].dead_reason,
                            "raw event without event_id, event_type or fingerprint");
        assert_non_null(b->ev[i].raw);
        assert_int_equal(b->ev[i].visitor, -1);
    }
    assert_int_equal(b->stats.dead, 5);
    assert_int_equal(b->stats.decoded, 0);
    assert_int_equal(b->nvis, 0);
    assert_int_equal(batch_dedup_cmds(b)->n, 0);
}

/* ---- dedup ---- */

static void test_dedup_cmds_only_pending(void **state)
{
    struct fx *f = *state;
    struct batch *b = &f->b;
    const uint8_t junk[] = {0xff};

    add_view(f, 0, 10, "ev-a", "fp-a", T0, PAGE);
    add_bytes(f, 0, 11, "fp-x", junk, sizeof(junk));
    add_view(f, 4, 12, "ev-b", "fp-b", T0, PAGE);
    assert_int_equal(batch_decode(b), 0);
    const struct batch_cmds *c = batch_dedup_cmds(b);
    assert_int_equal(c->n, 2);
    assert_int_equal(c->idx[0], 0);
    assert_int_equal(c->idx[1], 2);
    assert_string_equal(c->keys[0], PREFIX "dedup:ev-a");
    assert_string_equal(c->vals[0], "0:10");
    assert_string_equal(c->keys[1], PREFIX "dedup:ev-b");
    assert_string_equal(c->vals[1], "4:12");
    assert_int_equal(c->lens[1], 4);
    assert_int_equal(c->results[0], 0);
}

/* SET NX results 1, 0 and an error reply: the error makes apply fail and
 * leaves the event to be set again; the 0 goes to the GET check. */
static void test_dedup_apply_results(void **state)
{
    struct fx *f = *state;
    struct batch *b = &f->b;

    add_view(f, 0, 1, "ev-1", "fp-a", T0, PAGE);
    add_view(f, 0, 2, "ev-2", "fp-a", T0, PAGE);
    add_view(f, 0, 3, "ev-3", "fp-b", T0, PAGE);
    assert_int_equal(batch_decode(b), 0);
    const struct batch_cmds *c = batch_dedup_cmds(b);
    assert_int_equal(c->n, 3);
    c->results[0] = 1;
    c->results[1] = 0;
    c->results[2] = REDIS_CLIENT_EREPLY;
    assert_int_equal(batch_dedup_apply(b), -1);
    assert_int_equal(b->ev[0].state, BATCH_EV_NEW);
    assert_int_equal(b->ev[1].state, BATCH_EV_PENDING);
    assert_true(b->ev[1].checking);
    assert_int_equal(b->ev[2].state, BATCH_EV_PENDING);
    assert_false(b->ev[2].checking);

    /* The retry sets only the one that failed. */
    c = batch_dedup_cmds(b);
    assert_int_equal(c->n, 1);
    assert_int_equal(c->idx[0], 2);
    assert_string_equal(c->keys[0], PREFIX "dedup:ev-3");
    assert_string_equal(c->vals[0], "0:3");
    c->results[0] = 1;
    assert_int_equal(batch_dedup_apply(b), 0);
    assert_int_equal(b->ev[2].state, BATCH_EV_NEW);

    /* The check GETs only the id that existed, then its partition's
     * watermark. */
    c = batch_dedup_check_cmds(b);
    assert_int_equal(c->n, 2);
    assert_int_equal(c->idx[0], 1);
    assert_string_equal(c->keys[0], PREFIX "dedup:ev-2");
    assert_int_equal(c->idx[1], b->n);
    assert_string_equal(c->keys[1], WM(0));
    assert_int_equal(b->stats.duplicates, 0);

    /* Its own token and no watermark: a retry, new. Nothing is pending
     * afterwards. */
    assert_int_equal(batch_dedup_checked(b, 0, 1, "0:2", 3), 0);
    assert_int_equal(batch_dedup_checked(b, 1, 0, NULL, 0), 0);
    batch_dedup_resolve(b);
    assert_int_equal(b->ev[1].state, BATCH_EV_NEW);
    assert_int_equal(batch_dedup_cmds(b)->n, 0);
    assert_int_equal(batch_dedup_check_cmds(b)->n, 0);
}

/* The GET check: "=" + token, another token or a prefix of ours ->
 * duplicate at once; missing -> new at once; our own token -> decided by the
 * watermark (none: new); an error reply leaves the event pending and checked
 * again. */
static void test_dedup_checked_values(void **state)
{
    struct fx *f = *state;
    struct batch *b = &f->b;

    add_view(f, 5, 10, "ev-0", "fp-a", T0, PAGE); /* token 5:10 */
    add_view(f, 5, 11, "ev-1", "fp-a", T0, PAGE); /* 5:11 */
    add_view(f, 5, 12, "ev-2", "fp-a", T0, PAGE); /* 5:12 */
    add_view(f, 5, 13, "ev-3", "fp-a", T0, PAGE); /* 5:13 */
    add_view(f, 5, 14, "ev-4", "fp-a", T0, PAGE); /* 5:14 */
    add_view(f, 5, 15, "ev-5", "fp-a", T0, PAGE); /* 5:15 */
    assert_int_equal(batch_decode(b), 0);
    const struct batch_cmds *c = batch_dedup_cmds(b);
    assert_int_equal(c->n, 6);
    set_results(c, 0);
    assert_int_equal(batch_dedup_apply(b), 0);
    assert_int_equal(batch_dedup_cmds(b)->n, 0); /* all being checked */
    c = batch_dedup_check_cmds(b);
    assert_int_equal(c->n, 7);
    for (size_t k = 0; k < 6; k++) {
        assert_int_equal(c->idx[k], k);
    }
    assert_int_equal(c->idx[6], b->n);
    assert_string_equal(c->keys[6], WM(5));
    assert_int_equal(batch_dedup_checked(b, 0, 1, "5:10", 4), 0);
    assert_int_equal(batch_dedup_checked(b, 1, 1, "=5:11", 5), 0);
    assert_int_equal(batch_dedup_checked(b, 2, 1, "7:99", 4), 0);
    assert_int_equal(batch_dedup_checked(b, 3, 0, NULL, 0), 0);
    assert_int_equal(batch_dedup_checked(b, 4, 1, "5:1", 3), 0);
    assert_int_equal(batch_dedup_checked(b, 5, REDIS_CLIENT_EREPLY, NULL, 0), -1);
    assert_int_equal(batch_dedup_checked(b, 6, 0, NULL, 0), 0); /* no watermark */
    assert_int_equal(b->ev[0].state, BATCH_EV_PENDING);         /* until resolved */
    assert_true(b->ev[0].own_token);
    assert_int_equal(b->ev[1].state, BATCH_EV_DUPLICATE);
    assert_int_equal(b->ev[2].state, BATCH_EV_DUPLICATE);
    assert_int_equal(b->ev[3].state, BATCH_EV_NEW);
    assert_int_equal(b->ev[4].state, BATCH_EV_DUPLICATE);
    assert_int_equal(b->ev[5].state, BATCH_EV_PENDING);
    assert_true(b->ev[5].checking);
    batch_dedup_resolve(b);
    assert_int_equal(b->ev[0].state, BATCH_EV_NEW);
    assert_int_equal(b->ev[5].state, BATCH_EV_PENDING); /* its reply is still due */
    assert_int_equal(b->stats.duplicates, 3);

    /* Retried: only the one whose reply was an error, not SET again; its own
     * token with a watermark past it: delivered, a duplicate. */
    assert_int_equal(batch_dedup_cmds(b)->n, 0);
    c = batch_dedup_check_cmds(b);
    assert_int_equal(c->n, 2);
    assert_int_equal(c->idx[0], 5);
    assert_string_equal(c->keys[1], WM(5));
    assert_int_equal(batch_dedup_checked(b, 0, 1, "5:15", 4), 0);
    assert_int_equal(batch_dedup_checked(b, 1, 1, "16", 2), 0);
    batch_dedup_resolve(b);
    assert_int_equal(b->ev[5].state, BATCH_EV_DUPLICATE);
    assert_int_equal(b->stats.duplicates, 4);
    assert_int_equal(batch_dedup_check_cmds(b)->n, 0);
}

/* Retries (own tokens) on three partitions: the watermark decides per
 * partition; one that is missing or does not parse counts as none. */
static void test_dedup_retry_watermarks(void **state)
{
    struct fx *f = *state;
    struct batch *b = &f->b;
    char key[256];

    assert_string_equal(batch_delivered_key(&b->names, 12, key, sizeof(key)), WM(12));
    add_view(f, 1, 7, "ev-a", "fp-a", T0, PAGE); /* below the watermark 8 */
    add_view(f, 1, 8, "ev-b", "fp-a", T0, PAGE); /* at it: not delivered */
    add_view(f, 2, 3, "ev-c", "fp-a", T0, PAGE); /* no watermark */
    add_view(f, 3, 0, "ev-d", "fp-a", T0, PAGE); /* a watermark that does not parse */
    add_view(f, 1, 9, "ev-e", "fp-a", T0, PAGE); /* another message's id */
    assert_int_equal(batch_decode(b), 0);
    const struct batch_cmds *c = batch_dedup_cmds(b);
    for (size_t k = 0; k < c->n; k++) {
        fake_set(&f->redis, c->keys[k], c->vals[k], c->lens[k]);
        c->results[k] = 0; /* every id exists: claimed by an earlier attempt */
    }
    fake_set(&f->redis, PREFIX "dedup:ev-e", "1:2", 3);
    fake_set(&f->redis, WM(1), "8", 1);
    fake_set(&f->redis, WM(3), "12x", 3);
    assert_int_equal(batch_dedup_apply(b), 0);
    c = batch_dedup_check_cmds(b);
    assert_int_equal(c->n, 5 + 3);
    assert_string_equal(c->keys[5], WM(1));
    assert_string_equal(c->keys[6], WM(2));
    assert_string_equal(c->keys[7], WM(3));
    run_dedup(f); /* nothing more to SET; the GETs answered from the fake */
    assert_int_equal(b->ev[0].state, BATCH_EV_DUPLICATE);
    assert_int_equal(b->ev[1].state, BATCH_EV_NEW);
    assert_int_equal(b->ev[2].state, BATCH_EV_NEW);
    assert_int_equal(b->ev[3].state, BATCH_EV_NEW);
    assert_int_equal(b->ev[4].state, BATCH_EV_DUPLICATE);
    assert_int_equal(b->stats.duplicates, 2);
}

/* A full batch whose ids all exist (a replay after a crash) needs one GET
 * per event plus one per partition: more than the batch's capacity, which
 * the command arrays must hold. */
static void test_dedup_check_full_batch(void **state)
{
    struct fx *f = *state;
    struct batch *b = &f->b;
    char id[32];

    for (int i = 0; i < CAP; i++) {
        snprintf(id, sizeof(id), "ev-%d", i);
        add_view(f, i % 2, i, id, "fp-a", T0, PAGE);
    }
    assert_int_equal(batch_decode(b), 0);
    set_results(batch_dedup_cmds(b), 0);
    assert_int_equal(batch_dedup_apply(b), 0);
    const struct batch_cmds *c = batch_dedup_check_cmds(b);
    assert_int_equal(c->n, CAP + 2);
}

/* One event id twice in a batch: Redis answers 1 then 0 to the pipelined SET
 * NX, and the GET returns the first message's token: the second is a
 * duplicate, with no output and no session. */
static void test_same_id_in_batch(void **state)
{
    struct fx *f = *state;
    struct batch *b = &f->b;

    add_view(f, 0, 100, "ev-same", "fp-a", T0, PAGE);
    add_view(f, 0, 101, "ev-other", "fp-b", T0, PAGE);
    add_view(f, 0, 102, "ev-same", "fp-a", T0 + 1000, PAGE);
    run_all(f);
    assert_int_equal(b->ev[0].state, BATCH_EV_NEW);
    assert_int_equal(b->ev[1].state, BATCH_EV_NEW);
    assert_int_equal(b->ev[2].state, BATCH_EV_DUPLICATE);
    assert_null(b->ev[2].out);
    assert_int_equal(b->ev[2].out_len, 0);
    assert_string_equal(fake_get(&f->redis, PREFIX "dedup:ev-same"), "0:100");
    assert_int_equal(b->stats.duplicates, 1);
    assert_int_equal(b->stats.enriched, 2);
    expect_session(&b->ev[0], NULL, 1, 1, "first", 0);
}

/* A replay of the same message (its offset was not committed) finds its own
 * token and goes on while its partition's watermark is not past it; once the
 * daemon raised the watermark after delivery a replay drops it. */
static void test_replay_after_retry_and_delivery(void **state)
{
    struct fx *f = *state;
    struct batch *b = &f->b;

    add_view(f, 1, 7, "ev-r", "fp-a", T0, PAGE);
    run_all(f);
    assert_int_equal(b->ev[0].state, BATCH_EV_NEW);

    batch_reset(b);
    add_view(f, 1, 7, "ev-r", "fp-a", T0, PAGE);
    run_all(f);
    assert_int_equal(b->ev[0].state, BATCH_EV_NEW);
    assert_int_equal(b->stats.duplicates, 0);

    fake_set(&f->redis, WM(1), "7", 1); /* delivered up to offset 6 */
    batch_reset(b);
    add_view(f, 1, 7, "ev-r", "fp-a", T0, PAGE);
    run_all(f);
    assert_int_equal(b->ev[0].state, BATCH_EV_NEW);

    fake_set(&f->redis, WM(1), "8", 1); /* daemon_raise_watermarks */
    batch_reset(b);
    add_view(f, 1, 7, "ev-r", "fp-a", T0, PAGE);
    run_all(f);
    assert_int_equal(b->ev[0].state, BATCH_EV_DUPLICATE);
    assert_int_equal(b->stats.duplicates, 1);
    assert_int_equal(b->stats.enriched, 0);
}

/* ---- sessions ---- */

static void test_session_cmds_one_per_visitor(void **state)
{
    struct fx *f = *state;
    struct batch *b = &f->b;
    const uint8_t junk[] = {0xff};

    add_view(f, 0, 1, "ev-1", "fp-a", T0, PAGE);
    add_view(f, 0, 2, "ev-2", "fp-b", T0, PAGE);
    add_view(f, 0, 3, "ev-3", "fp-a", T0 + 1, PAGE);
    add_view(f, 0, 4, "ev-4", "fp-c", T0, PAGE); /* only a duplicate */
    add_bytes(f, 0, 5, "fp-d", junk, sizeof(junk));
    assert_int_equal(batch_decode(b), 0);
    const struct batch_cmds *c = batch_dedup_cmds(b);
    assert_int_equal(c->n, 4);
    c->results[0] = 1;
    c->results[1] = 1;
    c->results[2] = 1;
    c->results[3] = 0;
    assert_int_equal(batch_dedup_apply(b), 0);
    c = batch_dedup_check_cmds(b);
    assert_int_equal(c->n, 2); /* the id and partition 0's watermark */
    assert_int_equal(batch_dedup_checked(b, 0, 1, "9:9", 3), 0);
    assert_int_equal(batch_dedup_checked(b, 1, 0, NULL, 0), 0);
    batch_dedup_resolve(b);
    assert_int_equal(b->ev[3].state, BATCH_EV_DUPLICATE);

    c = batch_session_cmds(b);
    assert_int_equal(c->n, 2);
    assert_string_equal(c->keys[0], PREFIX "session:s1:fp-a");
    assert_string_equal(c->keys[1], PREFIX "session:s1:fp-b");
    assert_int_equal(c->idx[0], (size_t)b->ev[0].visitor);
    assert_int_equal(c->idx[1], (size_t)b->ev[1].visitor);
    assert_int_equal(b->nvis, 3);
    assert_false(b->vis[b->ev[3].visitor].needed);
}

/* A stored state continues: same id, sequence + 1, and the state written
 * back is the last event's. */
static void test_session_loaded_continues(void **state)
{
    struct fx *f = *state;
    struct batch *b = &f->b;
    struct session_state st, back;
    char enc[SESSION_STATE_ENCODED_MAX];

    make_state(&st, "sess-prev", T0 - 20 * MIN_MS, T0 - 5 * MIN_MS, 4, "");
    int n = session_state_encode(&st, enc, sizeof(enc));
    assert_true(n > 0);

    add_view(f, 0, 1, "ev-1", "fp-a", T0, PAGE);
    add_view(f, 0, 2, "ev-2", "fp-a", T0 + MIN_MS, PAGE);
    assert_int_equal(batch_decode(b), 0);
    set_results(batch_dedup_cmds(b), 1);
    assert_int_equal(batch_dedup_apply(b), 0);
    assert_int_equal(batch_dedup_check_cmds(b)->n, 0);
    const struct batch_cmds *c = batch_session_cmds(b);
    assert_int_equal(c->n, 1);
    assert_int_equal(batch_session_loaded(b, 0, 1, enc, (size_t)n), 0);
    assert_true(b->vis[0].have_state);
    assert_int_equal(batch_session_cmds(b)->n, 0); /* loaded: not read again */
    assert_int_equal(batch_enrich(b, &f->ctx, &f->sc, NOW_MS), 0);
    expect_session(&b->ev[0], "sess-prev", 5, 0, "", 0);
    expect_session(&b->ev[1], "sess-prev", 6, 0, "", 0);
    assert_int_equal(b->stats.sessions_started, 0);

    c = batch_session_write_cmds(b);
    assert_int_equal(c->n, 1);
    assert_string_equal(c->keys[0], PREFIX "session:s1:fp-a");
    assert_int_equal(c->lens[0], strlen(c->vals[0]));
    assert_int_equal(session_state_decode(c->vals[0], c->lens[0], &back), 0);
    assert_string_equal(back.session_id, "sess-prev");
    assert_int_equal(back.sequence, 6);
    assert_int_equal(back.started_ms, T0 - 20 * MIN_MS);
    assert_int_equal(back.last_event_ms, T0 + MIN_MS);
}

/* A value that does not decode is treated as no state: a new session. */
static void test_session_loaded_garbage(void **state)
{
    struct fx *f = *state;
    struct batch *b = &f->b;
    char sid[SESSION_ID_MAX];
    struct session_state back;

    add_view(f, 0, 1, "ev-1", "fp-a", T0, PAGE);
    assert_int_equal(batch_decode(b), 0);
    set_results(batch_dedup_cmds(b), 1);
    assert_int_equal(batch_dedup_apply(b), 0);
    assert_int_equal(batch_session_cmds(b)->n, 1);
    assert_int_equal(batch_session_loaded(b, 0, 1, "garbage", 7), 0);
    assert_false(b->vis[0].have_state);
    assert_int_equal(batch_enrich(b, &f->ctx, &f->sc, NOW_MS), 0);
    expect_session(&b->ev[0], NULL, 1, 1, "first", 0);
    session_id_of(&b->ev[0], sid, sizeof(sid));
    assert_true(is_uuid4(sid));
    assert_int_equal(b->stats.sessions_started, 1);

    const struct batch_cmds *c = batch_session_write_cmds(b);
    assert_int_equal(c->n, 1);
    assert_int_equal(session_state_decode(c->vals[0], c->lens[0], &back), 0);
    assert_string_equal(back.session_id, sid);
    assert_int_equal(back.sequence, 1);
    assert_int_equal(back.started_ms, T0);
}

/* A missing key and an error reply: the error fails the call and the
 * visitor is read again. */
static void test_session_loaded_missing_and_error(void **state)
{
    struct fx *f = *state;
    struct batch *b = &f->b;

    add_view(f, 0, 1, "ev-1", "fp-a", T0, PAGE);
    add_view(f, 0, 2, "ev-2", "fp-b", T0, PAGE);
    assert_int_equal(batch_decode(b), 0);
    set_results(batch_dedup_cmds(b), 1);
    assert_int_equal(batch_dedup_apply(b), 0);
    const struct batch_cmds *c = batch_session_cmds(b);
    assert_int_equal(c->n, 2);
    assert_int_equal(batch_session_loaded(b, 0, 0, NULL, 0), 0);
    assert_int_equal(batch_session_loaded(b, 1, REDIS_CLIENT_EREPLY, NULL, 0), -1);
    assert_false(b->vis[0].have_state);
    assert_false(b->vis[1].have_state);
    c = batch_session_cmds(b);
    assert_int_equal(c->n, 2);
    assert_string_equal(c->keys[1], PREFIX "session:s1:fp-b");
    assert_int_equal(batch_session_loaded(b, 0, 0, NULL, 0), 0);
    assert_int_equal(batch_session_loaded(b, 1, 0, NULL, 0), 0);
    assert_int_equal(batch_enrich(b, &f->ctx, &f->sc, NOW_MS), 0);
    expect_session(&b->ev[0], NULL, 1, 1, "first", 0);
    expect_session(&b->ev[1], NULL, 1, 1, "first", 0);
}

/* ---- enrichment ---- */

/* One visitor through first, continue, idle, campaign and continue; another
 * with a client session id; states written once per visitor. */
static void test_enrich_sessions(void **state)
{
    struct fx *f = *state;
    struct batch *b = &f->b;
    char s0[SESSION_ID_MAX], s2[SESSION_ID_MAX], s3[SESSION_ID_MAX];
    struct session_state back;
    const char *campaign_url = PAGE "?utm_source=news&utm_medium=email";
    struct raw client = {"ev-c1", "page_view", "fp-c", "s1", "client-abc", PAGE, T0, 3};
    struct raw client2 = {"ev-c2",      "page_view", "fp-c",           "s1",
                          "client-abc", PAGE,        T0 + 2 * IDLE_MS, 4};

    add_view(f, 0, 1, "ev-0", "fp-a", T0, PAGE);
    add_view(f, 0, 2, "ev-1", "fp-a", T0 + 10 * MIN_MS, PAGE);
    add_view(f, 0, 3, "ev-2", "fp-a", T0 + 41 * MIN_MS, PAGE); /* idle 31 min */
    add_view(f, 0, 4, "ev-3", "fp-a", T0 + 42 * MIN_MS, campaign_url);
    add_view(f, 0, 5, "ev-4", "fp-a", T0 + 43 * MIN_MS, campaign_url);
    add_raw(f, 0, 6, &client);
    add_raw(f, 0, 7, &client2); /* the client's id outlives idle */
    run_all(f);

    assert_int_equal(b->stats.enriched, 7);
    assert_int_equal(b->stats.dead, 0);
    assert_int_equal(b->stats.sessions_started, 4);
    expect_session(&b->ev[0], NULL, 1, 1, "first", 0);
    session_id_of(&b->ev[0], s0, sizeof(s0));
    assert_true(is_uuid4(s0));
    expect_session(&b->ev[1], s0, 2, 0, "", 0);
    expect_session(&b->ev[2], NULL, 1, 1, "idle", 0);
    session_id_of(&b->ev[2], s2, sizeof(s2));
    assert_true(is_uuid4(s2));
    assert_string_not_equal(s2, s0);
    expect_session(&b->ev[3], NULL, 1, 1, "campaign", 0);
    session_id_of(&b->ev[3], s3, sizeof(s3));
    assert_string_not_equal(s3, s2);
    expect_session(&b->ev[4], s3, 2, 0, "", 0);
    expect_session(&b->ev[5], "client-abc", 1, 1, "first", 1);
    expect_session(&b->ev[6], "client-abc", 2, 0, "", 1);

    /* The rest of the enriched message. */
    Analytics__V1__EnrichedEvent *ev = enriched_of(&b->ev[3]);
    assert_string_equal(ev->event_id, "ev-3");
    assert_string_equal(ev->event_type, "page_view");
    assert_string_equal(ev->fingerprint, "fp-a");
    assert_string_equal(ev->site_id, "s1");
    assert_int_equal(ev->event_ts_ms, T0 + 42 * MIN_MS);
    assert_int_equal(ev->enriched_ts_ms, NOW_MS);
    assert_non_null(ev->campaign);
    assert_string_equal(ev->campaign->utm_source, "news");
    assert_non_null(ev->geo);
    assert_string_equal(ev->geo->ip_truncated, "203.0.113.0");
    assert_false(ev->session->late);
    analytics__v1__enriched_event__free_unpacked(ev, NULL);

    /* Each visitor's last state, once. */
    const struct batch_cmds *c = batch_session_write_cmds(b);
    assert_int_equal(c->n, 2);
    assert_string_equal(c->keys[0], PREFIX "session:s1:fp-a");
    assert_string_equal(c->keys[1], PREFIX "session:s1:fp-c");
    assert_int_equal(session_state_decode(c->vals[0], c->lens[0], &back), 0);
    assert_string_equal(back.session_id, s3);
    assert_int_equal(back.sequence, 2);
    assert_int_equal(back.started_ms, T0 + 42 * MIN_MS);
    assert_int_equal(back.last_event_ms, T0 + 43 * MIN_MS);
    assert_string_equal(back.campaign, "news|email|");
    assert_int_equal(session_state_decode(c->vals[1], c->lens[1], &back), 0);
    assert_string_equal(back.session_id, "client-abc");
    assert_int_equal(back.sequence, 2);
    assert_int_equal(back.last_event_ms, T0 + 2 * IDLE_MS);
}

/* Sessions go on across batches through the states written to Redis. */
static void test_sessions_across_batches(void **state)
{
    struct fx *f = *state;
    struct batch *b = &f->b;
    char s0[SESSION_ID_MAX];

    add_view(f, 0, 1, "ev-0", "fp-a", T0, PAGE);
    run_all(f);
    session_id_of(&b->ev[0], s0, sizeof(s0));
    batch_reset(b);
    add_view(f, 0, 2, "ev-1", "fp-a", T0 + 5 * MIN_MS, PAGE);
    run_all(f);
    expect_session(&b->ev[0], s0, 2, 0, "", 0);
    batch_reset(b);
    add_view(f, 0, 3, "ev-2", "fp-a", T0 + 5 * MIN_MS + IDLE_MS + 1, PAGE);
    run_all(f);
    expect_session(&b->ev[0], NULL, 1, 1, "idle", 0);
}

/* With a session cache, states written once are not read back: a cached
 * visitor continues its session even when Redis lost the state, and only
 * the others are read. */
static void test_session_cache(void **state)
{
    struct fx *f = *state;
    struct batch *b = &f->b;
    char s0[SESSION_ID_MAX];
    size_t count = 0;

    b->sessions = lru_new(16);
    assert_non_null(b->sessions);
    add_view(f, 0, 1, "ev-0", "fp-a", T0, PAGE);
    run_all(f);
    session_id_of(&b->ev[0], s0, sizeof(s0));
    lru_stats(b->sessions, NULL, NULL, &count);
    assert_int_equal(count, 0); /* nothing until Redis took the write */
    batch_session_remember(b);
    lru_stats(b->sessions, NULL, NULL, &count);
    assert_int_equal(count, 1);

    batch_reset(b);
    fake_set(&f->redis, PREFIX "session:s1:fp-a", "garbage", 7);
    add_view(f, 0, 2, "ev-1", "fp-a", T0 + MIN_MS, PAGE);
    add_view(f, 0, 3, "ev-2", "fp-b", T0 + MIN_MS, PAGE);
    assert_int_equal(batch_decode(b), 0);
    run_dedup(f);
    const struct batch_cmds *c = batch_session_cmds(b);
    assert_int_equal(c->n, 1);
    assert_string_equal(c->keys[0], PREFIX "session:s1:fp-b");
    run_session_read(f);
    assert_int_equal(batch_enrich(b, &f->ctx, &f->sc, NOW_MS), 0);
    expect_session(&b->ev[0], s0, 2, 0, "", 0);
    expect_session(&b->ev[1], NULL, 1, 1, "first", 0);

    lru_free(b->sessions);
    b->sessions = NULL;
}

/* A client session id longer than the state holds: invalid_session. */
static void test_enrich_invalid_session(void **state)
{
    struct fx *f = *state;
    struct batch *b = &f->b;
    char long_id[SESSION_ID_MAX + 10];

    memset(long_id, 's', sizeof(long_id) - 1);
    long_id[sizeof(long_id) - 1] = '\0';
    struct raw r = {"ev-long", "page_view", "fp-a", "s1", long_id, PAGE, T0, 0};
    add_raw(f, 3, 33, &r);
    run_all(f);
    Analytics__V1__DeadLetter *dl = dead_of(&b->ev[0]);
    assert_string_equal(dl->error_code, "invalid_session");
    assert_string_equal(dl->cause_event_id, "ev-long");
    assert_int_equal(dl->source_offset, 33);
    analytics__v1__dead_letter__free_unpacked(dl, NULL);
    assert_int_equal(b->stats.enriched, 0);
    assert_int_equal(b->stats.dead, 1);
    assert_int_equal(batch_session_write_cmds(b)->n, 0);
}

/* Dead events' outputs are dead letters carrying the source position, the
 * original payload and the message key. */
static void test_enrich_dead_letters(void **state)
{
    struct fx *f = *state;
    struct batch *b = &f->b;
    const uint8_t junk[] = {0xff, 0xfe, 0x00, 0x01, 0x02};
    struct raw no_type = {"ev-nt", NULL, "fp-nt", "s1", NULL, PAGE, T0, 9};
    size_t nt_len;
    uint8_t *nt = pack_raw(&no_type, &nt_len);

    add_bytes(f, 4, 77, "fp-x", junk, sizeof(junk));
    add_bytes(f, 6, 78, "fp-nt", nt, nt_len);
    add_bytes(f, 4, 79, NULL, junk, sizeof(junk));
    add_view(f, 4, 80, "ev-ok", "fp-ok", T0, PAGE);
    run_all(f);

    Analytics__V1__DeadLetter *dl = dead_of(&b->ev[0]);
    assert_int_equal(dl->schema_version, 1);
    assert_string_equal(dl->error_code, "undecodable");
    assert_string_equal(dl->reason, "payload is not a RawEvent protobuf message");
    assert_int_equal(dl->source_partition, 4);
    assert_int_equal(dl->source_offset, 77);
    assert_string_equal(dl->source_topic, "events.raw");
    assert_string_equal(dl->source_service, "analytics-enricher");
    assert_string_equal(dl->original_content_type, "application/x-protobuf");
    assert_int_equal(dl->original.len, sizeof(junk));
    assert_memory_equal(dl->original.data, junk, sizeof(junk));
    assert_false(dl->original_truncated);
    assert_string_equal(dl->fingerprint, "fp-x");
    assert_string_equal(dl->cause_event_id, "");
    assert_int_equal(dl->ts_ms, NOW_MS);
    analytics__v1__dead_letter__free_unpacked(dl, NULL);

    dl = dead_of(&b->ev[1]);
    assert_string_equal(dl->error_code, "invalid_event");
    assert_int_equal(dl->source_partition, 6);
    assert_int_equal(dl->source_offset, 78);
    assert_int_equal(dl->original.len, nt_len);
    assert_memory_equal(dl->original.data, nt, nt_len);
    assert_string_equal(dl->fingerprint, "fp-nt");
    assert_string_equal(dl->cause_event_id, "ev-nt");
    assert_int_equal(dl->batch_index, 9);
    analytics__v1__dead_letter__free_unpacked(dl, NULL);

    dl = dead_of(&b->ev[2]); /* no key */
    assert_string_equal(dl->fingerprint, "");
    assert_int_equal(dl->source_offset, 79);
    analytics__v1__dead_letter__free_unpacked(dl, NULL);

    expect_session(&b->ev[3], NULL, 1, 1, "first", 0);
    assert_int_equal(b->stats.dead, 3);
    assert_int_equal(b->stats.enriched, 1);
    assert_int_equal(batch_session_write_cmds(b)->n, 1);
    free(nt);
}

/* The original is cut to deadletter_original_max bytes. */
static void test_dead_letter_truncated(void **state)
{
    struct fx *f = *state;
    const uint8_t junk[] = {0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0xfa};

    add_bytes(f, 0, 1, "fp-x", junk, sizeof(junk));
    add_bytes(f, 0, 2, "fp-y", junk, 4);
    run_all(f);
    Analytics__V1__DeadLetter *dl = dead_of(&f->b.ev[0]);
    assert_true(dl->original_truncated);
    assert_int_equal(dl->original.len, 4);
    assert_memory_equal(dl->original.data, junk, 4);
    analytics__v1__dead_letter__free_unpacked(dl, NULL);
    dl = dead_of(&f->b.ev[1]);
    assert_false(dl->original_truncated);
    assert_int_equal(dl->original.len, 4);
    analytics__v1__dead_letter__free_unpacked(dl, NULL);
}

/* The broker refused an enriched message: it becomes a dead letter. */
static void test_reject(void **state)
{
    struct fx *f = *state;
    struct batch *b = &f->b;

    add_view(f, 2, 50, "ev-0", "fp-a", T0, PAGE);
    add_view(f, 2, 51, "ev-1", "fp-b", T0, PAGE);
    run_all(f);
    assert_int_equal(b->stats.enriched, 2);
    const void *payload = b->ev[1].payload;
    size_t len = b->ev[1].len;
    assert_int_equal(
        batch_reject(b, 1, "produce_refused", "Broker: Message size too large", NOW_MS + 5), 0);
    assert_int_equal(b->ev[1].state, BATCH_EV_DEAD);
    assert_int_equal(b->stats.enriched, 1);
    assert_int_equal(b->stats.dead, 1);
    Analytics__V1__DeadLetter *dl = dead_of(&b->ev[1]);
    assert_string_equal(dl->error_code, "produce_refused");
    assert_string_equal(dl->reason, "Broker: Message size too large");
    assert_string_equal(dl->cause_event_id, "ev-1");
    assert_string_equal(dl->fingerprint, "fp-b");
    assert_int_equal(dl->source_partition, 2);
    assert_int_equal(dl->source_offset, 51);
    assert_int_equal(dl->ts_ms, NOW_MS + 5);
    assert_int_equal(dl->original.len, len);
    assert_memory_equal(dl->original.data, payload, len);
    analytics__v1__dead_letter__free_unpacked(dl, NULL);
    expect_session(&b->ev[0], NULL, 1, 1, "first", 0); /* untouched */
}

/* ---- life cycle ---- */

static void test_reset_reuse(void **state)
{
    struct fx *f = *state;
    struct batch *b = &f->b;
    char id[32];

    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < CAP; i++) {
            snprintf(id, sizeof(id), "ev-%d-%d", round, i);
            assert_non_null(add_view(f, 0, round * CAP + i, id, i % 2 ? "fp-a" : "fp-b",
                                     T0 + round * MIN_MS + i, PAGE));
        }
        run_all(f);
        assert_int_equal(b->n, CAP);
        assert_int_equal(b->nvis, 2);
        assert_int_equal(b->stats.enriched, CAP);
        assert_int_equal(b->stats.sessions_started, round == 0 ? 2 : 0);
        assert_true(b->arena.used > 0);
        expect_session(&b->ev[CAP - 1], NULL, (unsigned)(round * CAP / 2 + CAP / 2), 0, "", 0);

        batch_reset(b);
        assert_int_equal(b->n, 0);
        assert_int_equal(b->nvis, 0);
        assert_int_equal(b->cmds.n, 0);
        assert_int_equal(b->arena.used, 0);
        assert_false(batch_full(b));
        assert_int_equal(b->stats.enriched, 0);
        assert_int_equal(b->stats.decoded, 0);
        assert_int_equal(b->stats.sessions_started, 0);
        for (size_t s = 0; s < 2 * CAP; s++) {
            assert_int_equal(b->slots[s], 0);
        }
        assert_int_equal(batch_dedup_cmds(b)->n, 0);
        assert_int_equal(batch_session_cmds(b)->n, 0);
        assert_int_equal(batch_session_write_cmds(b)->n, 0);
        fx_free_bufs(f);
    }
}

static void test_full(void **state)
{
    struct fx *f = *state;
    struct batch *b = &f->b;
    const uint8_t junk[] = {0xff};

    assert_false(batch_full(b));
    for (int i = 0; i < CAP; i++) {
        struct batch_event *e = add_bytes(f, 1, 100 + i, "k", junk, sizeof(junk));
        assert_non_null(e);
        assert_ptr_equal(e, &b->ev[i]);
        assert_int_equal(e->partition, 1);
        assert_int_equal(e->offset, 100 + i);
        assert_int_equal(e->key_len, 1);
        assert_int_equal(e->len, 1);
        assert_int_equal(e->visitor, -1);
        assert_int_equal(e->state, BATCH_EV_PENDING);
        assert_int_equal(batch_full(b), i == CAP - 1);
    }
    assert_null(batch_add(b, 1, 200, NULL, 0, junk, sizeof(junk)));
    assert_null(batch_add(b, 1, 201, NULL, 0, junk, sizeof(junk)));
    assert_int_equal(b->n, CAP);
    assert_true(batch_full(b));
    batch_reset(b);
    assert_false(batch_full(b));
    assert_non_null(batch_add(b, 1, 300, NULL, 0, junk, sizeof(junk)));
}

static void test_distinct_partitions(void **state)
{
    struct fx *f = *state;
    struct batch *b = &f->b;
    const uint8_t junk[] = {0xff};
    const int32_t order[] = {3, 3, 5, 3, 7, 5, 5, 0};

    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        assert_non_null(add_bytes(f, order[i], (int64_t)i, "k", junk, sizeof(junk)));
    }
    assert_int_equal(b->nparts, 4);
    assert_int_equal(b->parts[0], 3);
    assert_int_equal(b->parts[1], 5);
    assert_int_equal(b->parts[2], 7);
    assert_int_equal(b->parts[3], 0);
    batch_reset(b);
    assert_int_equal(b->nparts, 0);
    assert_non_null(add_bytes(f, 9, 1, "k", junk, sizeof(junk)));
    assert_int_equal(b->nparts, 1);
    assert_int_equal(b->parts[0], 9);
}

static void test_init_fini(void **state)
{
    struct batch b, zero;

    (void)state;
    assert_int_equal(batch_init(&b, 0, &test_names), -1);
    batch_fini(&b);
    memset(&zero, 0, sizeof(zero));
    batch_fini(&zero);
    batch_reset(&zero);
    assert_true(batch_full(&zero));
    assert_int_equal(batch_init(&b, 1, &test_names), 0);
    assert_string_equal(b.names.key_prefix, PREFIX);
    assert_int_equal(b.cap, 1);
    batch_fini(&b);
    assert_null(b.ev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_decode_keys_tokens_visitors, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_decode_visitor_table_full, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_decode_undecodable, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_decode_invalid_event, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_dedup_cmds_only_pending, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_dedup_apply_results, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_dedup_checked_values, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_dedup_retry_watermarks, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_dedup_check_full_batch, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_same_id_in_batch, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_replay_after_retry_and_delivery, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_session_cmds_one_per_visitor, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_session_loaded_continues, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_session_loaded_garbage, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_session_loaded_missing_and_error, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_enrich_sessions, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_sessions_across_batches, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_enrich_invalid_session, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_enrich_dead_letters, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_dead_letter_truncated, fx_setup_small_dl, fx_teardown),
        cmocka_unit_test_setup_teardown(test_reject, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_reset_reuse, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_full, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_distinct_partitions, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_session_cache, fx_setup, fx_teardown),
        cmocka_unit_test(test_init_fini),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
