#include "batch.h"

#include "analytics/log.h"
#include "analytics/deadletter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <uuid/uuid.h>

#define BATCH_ARENA_CHUNK (4u << 20)
#define BATCH_ID_POOL 4096 /* random bytes fetched at once for session ids */

/* Random bytes for session ids, refilled by one getrandom() call. */
struct batch_random {
    unsigned char pool[BATCH_ID_POOL];
    size_t pos, len;
};

static _Thread_local struct batch_random batch_rand;

/* Writes a new version 4 UUID to id (37 bytes). */
static void batch_new_uuid(char id[37])
{
    struct batch_random *r = &batch_rand;
    uuid_t u;

    if (r->len - r->pos < sizeof(u)) {
        ssize_t got = getrandom(r->pool, sizeof(r->pool), 0);
        r->len = got > 0 ? (size_t)got : 0;
        r->pos = 0;
    }
    if (r->len - r->pos >= sizeof(u)) {
        memcpy(u, r->pool + r->pos, sizeof(u));
        r->pos += sizeof(u);
        u[6] = (unsigned char)((u[6] & 0x0F) | 0x40);
        u[8] = (unsigned char)((u[8] & 0x3F) | 0x80);
    } else {
        uuid_generate_random(u);
    }
    uuid_unparse_lower(u, id);
}

int batch_init(struct batch *b, size_t cap, const struct batch_names *names)
{
    memset(b, 0, sizeof(*b));
    arena_init(&b->arena, BATCH_ARENA_CHUNK);
    arena_protobuf_allocator(&b->arena, &b->pb);
    b->cap = cap;
    b->names = *names;
    b->ev = calloc(cap, sizeof(*b->ev));
    b->vis = calloc(cap, sizeof(*b->vis));
    b->slots = calloc(2 * cap, sizeof(*b->slots));
    b->cmds.keys = calloc(2 * cap, sizeof(*b->cmds.keys));
    b->cmds.vals = calloc(2 * cap, sizeof(*b->cmds.vals));
    b->cmds.lens = calloc(2 * cap, sizeof(*b->cmds.lens));
    b->cmds.idx = calloc(2 * cap, sizeof(*b->cmds.idx));
    b->cmds.results = calloc(2 * cap, sizeof(*b->cmds.results));
    b->eo = malloc(sizeof(*b->eo));
    b->wm = calloc(cap, sizeof(*b->wm));
    b->parts = calloc(cap, sizeof(*b->parts));
    b->wm_keys = calloc(cap, sizeof(*b->wm_keys));
    if (cap == 0 || b->ev == NULL || b->vis == NULL || b->slots == NULL || b->cmds.keys == NULL ||
        b->cmds.vals == NULL || b->cmds.lens == NULL || b->cmds.idx == NULL ||
        b->cmds.results == NULL || b->eo == NULL || b->wm == NULL || b->wm_keys == NULL ||
        b->parts == NULL) {
        return -1;
    }
    return 0;
}

void batch_fini(struct batch *b)
{
    arena_fini(&b->arena);
    free(b->ev);
    free(b->vis);
    free(b->slots);
    free(b->cmds.keys);
    free(b->cmds.vals);
    free(b->cmds.lens);
    free(b->cmds.idx);
    free(b->cmds.results);
    free(b->eo);
    free(b->wm);
    free(b->wm_keys);
    free(b->parts);
    memset(b, 0, sizeof(*b));
}

void batch_reset(struct batch *b)
{
    arena_reset(&b->arena);
    if (b->slots != NULL) {
        memset(b->slots, 0, 2 * b->cap * sizeof(*b->slots));
    }
    b->n = 0;
    b->nparts = 0;
    b->nvis = 0;
    b->nwm = 0;
    b->cmds.n = 0;
    memset(&b->stats, 0, sizeof(b->stats));
}

bool batch_full(const struct batch *b)
{
    return b->n >= b->cap;
}

/* Records partition among the batch's distinct partitions. Consumed
 * messages come in runs from one partition, so the last one is tried
 * first. */
static void batch_note_partition(struct batch *b, int32_t partition)
{
    if (b->nparts > 0 && b->parts[b->last_part] == partition) {
        return;
    }
    for (size_t i = 0; i < b->nparts; i++) {
        if (b->parts[i] == partition) {
            b->last_part = i;
            return;
        }
    }
    b->last_part = b->nparts;
    b->parts[b->nparts++] = partition;
}

struct batch_event *batch_add(struct batch *b, int32_t partition, int64_t offset, const void *key,
                              size_t key_len, const void *payload, size_t len)
{
    if (b->n >= b->cap) {
        return NULL;
    }
    struct batch_event *e = &b->ev[b->n++];
    memset(e, 0, sizeof(*e));
    e->partition = partition;
    e->offset = offset;
    e->key = key;
    e->key_len = key_len;
    e->payload = payload;
    e->len = len;
    e->visitor = -1;
    batch_note_partition(b, partition);
    return e;
}

static uint64_t batch_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;

    for (; *s != '\0'; s++) {
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    }
    return h;
}

/* Returns the index of the visitor whose state lives at key, adding it.
 * key must be in the arena. */
static long batch_visitor(struct batch *b, char *key)
{
    size_t nslots = 2 * b->cap;
    size_t i = (size_t)(batch_hash(key) % nslots);

    for (; b->slots[i] != 0; i = (i + 1) % nslots) {
        struct batch_visitor *v = &b->vis[b->slots[i] - 1];
        if (strcmp(v->key, key) == 0) {
            return (long)(b->slots[i] - 1);
        }
    }
    struct batch_visitor *v = &b->vis[b->nvis];
    memset(v, 0, sizeof(*v));
    v->key = key;
    b->slots[i] = ++b->nvis;
    return (long)(b->nvis - 1);
}

static void batch_mark_dead(struct batch *b, struct batch_event *e, const char *code,
                            const char *reason)
{
    e->state = BATCH_EV_DEAD;
    e->dead_code = code;
    e->dead_reason = arena_strndup(&b->arena, reason, strlen(reason));
    b->stats.dead++;
}

static bool batch_str_set(const char *s)
{
    return s != NULL && s[0] != '\0';
}

/* Writes the decimal digits of v (>= 0) ending at end (exclusive). Returns
 * where they start. */
static char *batch_digits(long long v, char *end)
{
    unsigned long long u = v < 0 ? 0 : (unsigned long long)v;

    do {
        *--end = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    return end;
}

/* Writes "<partition>:<offset>" to out (48 bytes). */
static void batch_token(int32_t partition, int64_t offset, char *out)
{
    char buf[48];
    char *end = buf + sizeof(buf);
    char *p = batch_digits(offset, end);

    *--p = ':';
    p = batch_digits(partition, p);
    memcpy(out, p, (size_t)(end - p));
    out[end - p] = '\0';
}

const char *batch_delivered_key(const struct batch_names *names, int32_t partition, char *buf,
                                size_t len)
{
    snprintf(buf, len, "%sdelivered:%s:%d", names->key_prefix, names->source_topic, (int)partition);
    return buf;
}

/* Decodes one event. Returns 0, or -1 when memory runs out. */
static int batch_decode_one(struct batch *b, struct batch_event *e)
{
    e->raw = analytics__v1__raw_event__unpack(&b->pb, e->len, e->payload);
    if (e->raw == NULL) {
        batch_mark_dead(b, e, "undecodable", "payload is not a RawEvent protobuf message");
        return 0;
    }
    const Analytics__V1__RawEvent *r = e->raw;
    if (!batch_str_set(r->event_id) || !batch_str_set(r->fingerprint) ||
        !batch_str_set(r->event_type)) {
        batch_mark_dead(b, e, "invalid_event",
                        "raw event without event_id, event_type or fingerprint");
        return 0;
    }
    b->stats.decoded++;
    e->state = BATCH_EV_PENDING;
    char token[48];
    const char *dk[] = {b->names.key_prefix, "dedup:", r->event_id};
    const char *vk[] = {b->names.key_prefix, "session:", r->site_id, ":", r->fingerprint};
    batch_token(e->partition, e->offset, token);
    e->dedup_key = arena_join(&b->arena, dk, 3);
    e->token = arena_strndup(&b->arena, token, strlen(token));
    char *vkey = arena_join(&b->arena, vk, 5);
    if (e->dedup_key == NULL || e->token == NULL || vkey == NULL) {
        return -1;
    }
    e->visitor = batch_visitor(b, vkey);
    return 0;
}

int batch_decode(struct batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        if (batch_decode_one(b, &b->ev[i]) != 0) {
            return -1;
        }
    }
    return 0;
}

/* Starts a command list. */
static struct batch_cmds *batch_cmds_begin(struct batch *b)
{
    b->cmds.n = 0;
    return &b->cmds;
}

static void batch_cmds_add(struct batch_cmds *c, size_t idx, const char *key, const char *val,
                           size_t len)
{
    c->keys[c->n] = key;
    c->vals[c->n] = val;
    c->lens[c->n] = len;
    c->idx[c->n] = idx;
    c->results[c->n] = 0;
    c->n++;
}

const struct batch_cmds *batch_dedup_cmds(struct batch *b)
{
    struct batch_cmds *c = batch_cmds_begin(b);

    for (size_t i = 0; i < b->n; i++) {
        struct batch_event *e = &b->ev[i];
        if (e->state == BATCH_EV_PENDING && !e->checking) {
            batch_cmds_add(c, i, e->dedup_key, e->token, strlen(e->token));
        }
    }
    return c;
}

int batch_dedup_apply(struct batch *b)
{
    const struct batch_cmds *c = &b->cmds;
    int rc = 0;

    for (size_t k = 0; k < c->n; k++) {
        struct batch_event *e = &b->ev[c->idx[k]];
        if (c->results[k] == 1) {
            e->state = BATCH_EV_NEW;
        } else if (c->results[k] == 0) {
            e->checking = true;
        } else {
            rc = -1;
        }
    }
    return rc;
}

/* Returns the index of partition's watermark, adding it. */
static size_t batch_watermark_index(struct batch *b, int32_t partition)
{
    for (size_t w = 0; w < b->nwm; w++) {
        if (b->wm[w].partition == partition) {
            return w;
        }
    }
    b->wm[b->nwm] = (struct batch_watermark){partition, 0, false};
    return b->nwm++;
}

const struct batch_cmds *batch_dedup_check_cmds(struct batch *b)
{
    struct batch_cmds *c = batch_cmds_begin(b);
    char key[512];

    b->nwm = 0;
    for (size_t i = 0; i < b->n; i++) {
        struct batch_event *e = &b->ev[i];
        if (e->state == BATCH_EV_PENDING && e->checking) {
            e->own_token = false;
            batch_cmds_add(c, i, e->dedup_key, NULL, 0);
            batch_watermark_index(b, e->partition);
        }
    }
    for (size_t w = 0; w < b->nwm; w++) {
        batch_delivered_key(&b->names, b->wm[w].partition, key, sizeof(key));
        b->wm_keys[w] = arena_strndup(&b->arena, key, strlen(key));
        if (b->wm_keys[w] == NULL) {
            return NULL;
        }
        batch_cmds_add(c, b->n + w, b->wm_keys[w], NULL, 0);
    }
    return c;
}

/* Takes a watermark's value. */
static void batch_watermark_read(struct batch_watermark *w, int status, const char *val, size_t len)
{
    char num[32];
    char *end = NULL;

    w->known = false;
    if (status == 1 && len > 0 && len < sizeof(num)) {
        memcpy(num, val, len);
        num[len] = '\0';
        long long v = strtoll(num, &end, 10);
        if (*end == '\0' && v >= 0) {
            w->next_offset = v;
            w->known = true;
        }
    }
}

int batch_dedup_checked(struct batch *b, size_t i, int status, const char *val, size_t len)
{
    size_t k = b->cmds.idx[i];

    if (status < 0) {
        return -1;
    }
    if (k >= b->n) {
        batch_watermark_read(&b->wm[k - b->n], status, val, len);
        return 0;
    }
    struct batch_event *e = &b->ev[k];
    if (status == 0) {
        e->checking = false;
        e->state = BATCH_EV_NEW;
    } else if (len == strlen(e->token) && memcmp(val, e->token, len) == 0) {
        e->own_token = true;
    } else {
        e->checking = false;
        e->state = BATCH_EV_DUPLICATE;
        b->stats.duplicates++;
    }
    return 0;
}

void batch_dedup_resolve(struct batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        struct batch_event *e = &b->ev[i];
        if (e->state != BATCH_EV_PENDING || !e->checking || !e->own_token) {
            continue;
        }
        const struct batch_watermark *w = &b->wm[batch_watermark_index(b, e->partition)];
        e->checking = false;
        if (w->known && e->offset < w->next_offset) {
            e->state = BATCH_EV_DUPLICATE;
            b->stats.duplicates++;
        } else {
            e->state = BATCH_EV_NEW;
        }
    }
}

/* Loads v's state from the session cache. Returns true on a hit. */
static bool batch_session_cached(struct batch *b, struct batch_visitor *v)
{
    char buf[SESSION_STATE_ENCODED_MAX];
    size_t len = 0;

    if (b->sessions == NULL ||
        !lru_get(b->sessions, v->key, strlen(v->key), buf, sizeof(buf), &len)) {
        return false;
    }
    v->have_state = session_state_decode(buf, len, &v->st) == 0;
    return v->have_state;
}

const struct batch_cmds *batch_session_cmds(struct batch *b)
{
    struct batch_cmds *c = batch_cmds_begin(b);

    for (size_t i = 0; i < b->n; i++) {
        struct batch_event *e = &b->ev[i];
        if (e->state == BATCH_EV_NEW) {
            b->vis[e->visitor].needed = true;
        }
    }
    for (size_t v = 0; v < b->nvis; v++) {
        struct batch_visitor *vis = &b->vis[v];
        if (vis->needed && !vis->have_state && !batch_session_cached(b, vis)) {
            batch_cmds_add(c, v, vis->key, NULL, 0);
        }
    }
    return c;
}

int batch_session_loaded(struct batch *b, size_t i, int status, const char *val, size_t len)
{
    struct batch_visitor *v = &b->vis[b->cmds.idx[i]];

    if (status < 0) {
        return -1;
    }
    if (status == 1) {
        if (session_state_decode(val, len, &v->st) == 0) {
            v->have_state = true;
        } else {
            log_warn("enricher.session_state_invalid", LOG_STR("key", v->key), LOG_INT("len", len));
        }
    }
    return 0;
}

/* The campaign that separates sessions: source|medium|campaign, or the
 * click id when the URL has only that. Empty when neither. A longer key is
 * cut to len - 1 bytes (session.h: compared on that prefix). */
static void batch_campaign_key(const struct classify_result *c, char *buf, size_t len)
{
    int n = 0;

    buf[0] = '\0';
    if (c->utm_source[0] != '\0' || c->utm_medium[0] != '\0' || c->utm_campaign[0] != '\0') {
        n = snprintf(buf, len, "%s|%s|%s", c->utm_source, c->utm_medium, c->utm_campaign);
    } else if (c->gclid[0] != '\0') {
        n = snprintf(buf, len, "gclid:%s", c->gclid);
    } else if (c->msclkid[0] != '\0') {
        n = snprintf(buf, len, "msclkid:%s", c->msclkid);
    } else if (c->fbclid[0] != '\0') {
        n = snprintf(buf, len, "fbclid:%s", c->fbclid);
    }
    if (n < 0) {
        buf[0] = '\0';
    }
}

/* Packs msg into the arena. Returns 0 or -1. */
static int batch_pack(struct batch *b, const ProtobufCMessage *msg, struct batch_event *e)
{
    size_t len = protobuf_c_message_get_packed_size(msg);

    e->out = arena_alloc(&b->arena, len);
    if (e->out == NULL) {
        return -1;
    }
    e->out_len = protobuf_c_message_pack(msg, e->out);
    return 0;
}

/* Assigns e's session from its visitor's state and fills eo's session. */
static int batch_assign_session(struct batch *b, const struct session_config *sc,
                                struct batch_event *e, struct enrich_out *eo)
{
    struct batch_visitor *v = &b->vis[e->visitor];
    struct session_decision d;
    char campaign[SESSION_CAMPAIGN_MAX];
    const char *client = e->raw->session_id;

    batch_campaign_key(&eo->cls, campaign, sizeof(campaign));
    if (session_assign(sc, v->have_state ? &v->st : NULL, eo->ev.event_ts_ms, campaign, client,
                       "pending", &v->st, &d) != 0) {
        return -1;
    }
    if (d.new_session && !d.client_assigned) {
        batch_new_uuid(d.session_id);
        memcpy(v->st.session_id, d.session_id, sizeof(d.session_id));
    }
    v->have_state = true;
    v->dirty = true;
    char *sid = arena_strndup(&b->arena, d.session_id, strlen(d.session_id));
    if (sid == NULL) {
        return -1;
    }
    eo->session.session_id = sid;
    eo->session.sequence = d.sequence > UINT32_MAX ? UINT32_MAX : (uint32_t)d.sequence;
    eo->session.new_session = d.new_session;
    eo->session.client_assigned = d.client_assigned;
    eo->session.start_reason = (char *)d.start_reason;
    eo->session.late = d.late;
    b->stats.sessions_started += d.new_session;
    b->stats.late += d.late;
    return 0;
}

/* Enriches one new event into its packed output. Returns 0, or -1 when
 * memory runs out. */
static int batch_enrich_one(struct batch *b, const struct enrich_ctx *ctx,
                            const struct session_config *sc, long long now_ms,
                            struct batch_event *e)
{
    char why[256];

    if (enrich_event(ctx, e->raw, now_ms, b->eo, why, sizeof(why)) != 0) {
        batch_mark_dead(b, e, "invalid_event", why);
        return 0;
    }
    if (batch_assign_session(b, sc, e, b->eo) != 0) {
        batch_mark_dead(b, e, "invalid_session", "session id longer than 128 bytes");
        return 0;
    }
    b->stats.enriched++;
    b->stats.bots += b->eo->bot.is_bot;
    return batch_pack(b, &b->eo->ev.base, e);
}

static int batch_pack_dead(struct batch *b, long long now_ms, struct batch_event *e)
{
    Analytics__V1__DeadLetter dl;
    const char *fp =
        arena_strndup(&b->arena, e->key != NULL ? e->key : "", e->key != NULL ? e->key_len : 0);

    if (fp == NULL) {
        return -1;
    }
    struct deadletter_src src = {
        .service = b->names.service,
        .topic = b->names.source_topic,
        .partition = e->partition,
        .offset = e->offset,
        .code = e->dead_code,
        .reason = e->dead_reason,
        .cause_event_id = e->raw != NULL ? e->raw->event_id : NULL,
        .fingerprint = fp,
        .original = e->payload,
        .len = e->len,
        .content_type = "application/x-protobuf",
        .ts_ms = now_ms,
        .batch_index = e->raw != NULL ? e->raw->batch_index : 0,
        .original_max = b->names.deadletter_original_max,
    };
    deadletter_init(&dl, &src);
    return batch_pack(b, &dl.base, e);
}

int batch_reject(struct batch *b, size_t i, const char *code, const char *reason, long long now_ms)
{
    struct batch_event *e = &b->ev[i];

    if (e->state == BATCH_EV_NEW) {
        b->stats.enriched--;
    }
    batch_mark_dead(b, e, code, reason);
    return batch_pack_dead(b, now_ms, e);
}

/* Encodes every visitor state that changed. Returns 0 or -1. */
static int batch_encode_states(struct batch *b)
{
    char buf[SESSION_STATE_ENCODED_MAX];

    for (size_t v = 0; v < b->nvis; v++) {
        struct batch_visitor *vis = &b->vis[v];
        if (!vis->dirty) {
            continue;
        }
        int n = session_state_encode(&vis->st, buf, sizeof(buf));
        if (n < 0) {
            vis->dirty = false; /* cannot happen for an assigned state */
            continue;
        }
        vis->encoded = arena_strndup(&b->arena, buf, (size_t)n);
        if (vis->encoded == NULL) {
            return -1;
        }
        vis->encoded_len = (size_t)n;
    }
    return 0;
}

int batch_enrich(struct batch *b, const struct enrich_ctx *ctx, const struct session_config *sc,
                 long long now_ms)
{
    for (size_t i = 0; i < b->n; i++) {
        struct batch_event *e = &b->ev[i];
        int rc = 0;
        if (e->state == BATCH_EV_NEW) {
            rc = batch_enrich_one(b, ctx, sc, now_ms, e);
        }
        if (rc == 0 && e->state == BATCH_EV_DEAD) {
            rc = batch_pack_dead(b, now_ms, e);
        }
        if (rc != 0) {
            return -1;
        }
    }
    return batch_encode_states(b);
}

const struct batch_cmds *batch_session_write_cmds(struct batch *b)
{
    struct batch_cmds *c = batch_cmds_begin(b);

    for (size_t v = 0; v < b->nvis; v++) {
        if (b->vis[v].dirty && b->vis[v].encoded != NULL) {
            batch_cmds_add(c, v, b->vis[v].key, b->vis[v].encoded, b->vis[v].encoded_len);
        }
    }
    return c;
}

void batch_session_remember(struct batch *b)
{
    for (size_t v = 0; b->sessions != NULL && v < b->nvis; v++) {
        const struct batch_visitor *vis = &b->vis[v];
        if (vis->dirty && vis->encoded != NULL) {
            (void)lru_put(b->sessions, vis->key, strlen(vis->key), vis->encoded, vis->encoded_len);
        }
    }
}
