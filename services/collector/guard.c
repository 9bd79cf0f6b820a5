/*
 * The collector's request guards: CORS allow-list, write keys, per-IP token
 * bucket rate limiting, and client IP resolution through trusted proxies.
 * Contracts in guard.h; this file is pure logic (no I/O, no clock, no log).
 */
#include "guard.h"
#include "analytics/errbuf.h"
#include "analytics/ipaddr.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>

/* ---- shared helpers ---- */

/* True when s is NULL or holds only white space. */
static bool guard_blank(const char *s)
{
    if (s == NULL) {
        return true;
    }
    for (; *s != '\0'; s++) {
        if (!isspace((unsigned char)*s)) {
            return false;
        }
    }
    return true;
}

/* Shrinks [*s, *s + *len) past leading and trailing white space. */
static void guard_trim(const char **s, size_t *len)
{
    while (*len > 0 && isspace((unsigned char)**s)) {
        (*s)++;
        (*len)--;
    }
    while (*len > 0 && isspace((unsigned char)(*s)[*len - 1])) {
        (*len)--;
    }
}

/* Steps through a comma-separated list. *pos starts at the list and becomes
 * NULL after the last item. Returns false when there is no item left;
 * otherwise sets the trimmed item (not NUL-terminated, maybe empty). */
static bool guard_list_next(const char **pos, const char **item, size_t *len)
{
    const char *p = *pos;
    const char *comma;

    if (p == NULL) {
        return false;
    }
    comma = strchr(p, ',');
    *item = p;
    *len = comma != NULL ? (size_t)(comma - p) : strlen(p);
    *pos = comma != NULL ? comma + 1 : NULL;
    guard_trim(item, len);
    return true;
}

/* True when s[0..len) is a decimal port 1..65535. */
static bool guard_port_valid(const char *s, size_t len)
{
    long port = 0;

    if (len == 0 || len > 5) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
        port = port * 10 + (s[i] - '0');
    }
    return port >= 1 && port <= 65535;
}

/* Counts the items of a comma-separated list (commas + 1). */
static size_t guard_list_count(const char *s)
{
    size_t n = 1;

    for (; *s != '\0'; s++) {
        n += *s == ',';
    }
    return n;
}

/* ---- CORS ---- */

struct cors {
    bool any;       /* "*" was listed */
    size_t n;       /* entries in origins */
    char **origins; /* lower-cased, without trailing slash */
    size_t *lens;
};

/* True when s[0..len) is a host name (letters, digits, '-', '.') or an IPv6
 * literal in brackets. */
static bool cors_host_valid(const char *s, size_t len)
{
    if (len == 0) {
        return false;
    }
    if (s[0] == '[') {
        char buf[64];
        unsigned char addr[16];
        if (len < 3 || s[len - 1] != ']' || len - 2 >= sizeof(buf)) {
            return false;
        }
        memcpy(buf, s + 1, len - 2);
        buf[len - 2] = '\0';
        return inet_pton(AF_INET6, buf, addr) == 1;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (!isalnum(ch) && ch != '-' && ch != '.') {
            return false;
        }
    }
    return true;
}

/* True when s[0..len) (trailing slash already removed) is
 * http[s]://host[:port], or the literal "null" origin. */
static bool cors_origin_valid(const char *s, size_t len)
{
    const char *host;
    const char *end = s + len;
    const char *colon;
    size_t scheme_len;

    if (len == 4 && strncasecmp(s, "null", 4) == 0) {
        return true;
    }
    if (len > 7 && strncasecmp(s, "http://", 7) == 0) {
        scheme_len = 7;
    } else if (len > 8 && strncasecmp(s, "https://", 8) == 0) {
        scheme_len = 8;
    } else {
        return false;
    }
    host = s + scheme_len;
    if (*host == '[') {
        colon = memchr(host, ']', (size_t)(end - host));
        if (colon == NULL) {
            return false;
        }
        colon++;
        if (colon != end && *colon != ':') {
            return false;
        }
    } else {
        colon = memchr(host, ':', (size_t)(end - host));
        if (colon == NULL) {
            colon = end;
        }
    }
    if (!cors_host_valid(host, (size_t)(colon - host))) {
        return false;
    }
    return colon == end || guard_port_valid(colon + 1, (size_t)(end - colon - 1));
}

struct cors *cors_new(const char *allowlist, char *err, size_t errlen)
{
    struct cors *c = calloc(1, sizeof(*c));
    const char *pos = allowlist;
    const char *item;
    size_t len;
    size_t cap;

    if (c == NULL) {
        errbuf_printf(err, errlen, "out of memory");
        return NULL;
    }
    if (guard_blank(allowlist)) {
        return c;
    }
    cap = guard_list_count(allowlist);
    c->origins = calloc(cap, sizeof(*c->origins));
    c->lens = calloc(cap, sizeof(*c->lens));
    if (c->origins == NULL || c->lens == NULL) {
        errbuf_printf(err, errlen, "out of memory");
        goto out_free;
    }
    while (guard_list_next(&pos, &item, &len)) {
        if (len == 1 && item[0] == '*') {
            c->any = true;
            continue;
        }
        if (len > 0 && item[len - 1] == '/') {
            len--;
        }
        if (!cors_origin_valid(item, len)) {
            errbuf_printf(err, errlen, "CORS origin \"%.*s\" is not scheme://host[:port]",
                          (int)(len > 200 ? 200 : len), item);
            goto out_free;
        }
        c->origins[c->n] = strndup(item, len);
        if (c->origins[c->n] == NULL) {
            errbuf_printf(err, errlen, "out of memory");
            goto out_free;
        }
        for (size_t i = 0; i < len; i++) {
            c->origins[c->n][i] = (char)tolower((unsigned char)c->origins[c->n][i]);
        }
        c->lens[c->n] = len;
        c->n++;
    }
    return c;

out_free:
    cors_free(c);
    return NULL;
}

enum cors_decision cors_check(const struct cors *c, const char *origin)
{
    size_t len;

    if (origin == NULL || origin[0] == '\0') {
        return CORS_NO_ORIGIN;
    }
    if (c == NULL) {
        return CORS_DENIED;
    }
    if (c->any) {
        return CORS_ALLOWED;
    }
    len = strlen(origin);
    if (origin[len - 1] == '/') {
        len--;
    }
    for (size_t i = 0; i < c->n; i++) {
        if (c->lens[i] == len && strncasecmp(c->origins[i], origin, len) == 0) {
            return CORS_ALLOWED;
        }
    }
    return CORS_DENIED;
}

void cors_free(struct cors *c)
{
    if (c == NULL) {
        return;
    }
    for (size_t i = 0; i < c->n; i++) {
        free(c->origins[i]);
    }
    free(c->origins);
    free(c->lens);
    free(c);
}

/* ---- write keys ---- */

struct write_key {
    char *site;
    char *key;
    size_t keylen;
};

struct write_keys {
    size_t n;
    struct write_key *keys;
};

/* Parses one "site:key" or bare "key" item into wk->keys[wk->n]. Returns 0,
 * or -1 with the reason in err (never quoting the key: it is a secret). */
static int write_keys_add(struct write_keys *wk, const char *item, size_t len, char *err,
                          size_t errlen)
{
    const char *colon = memchr(item, ':', len);
    const char *site = "default";
    size_t site_len = strlen(site);
    const char *key = item;
    size_t key_len = len;
    struct write_key *k = &wk->keys[wk->n];

    if (colon != NULL) {
        site = item;
        site_len = (size_t)(colon - item);
        key = colon + 1;
        key_len = len - site_len - 1;
        guard_trim(&site, &site_len);
        guard_trim(&key, &key_len);
    }
    if (site_len == 0) {
        errbuf_printf(err, errlen, "write key entry %zu: empty site", wk->n + 1);
        return -1;
    }
    if (key_len == 0) {
        errbuf_printf(err, errlen, "write key entry %zu: empty key", wk->n + 1);
        return -1;
    }
    for (size_t i = 0; i < wk->n; i++) {
        if (wk->keys[i].keylen == key_len && memcmp(wk->keys[i].key, key, key_len) == 0) {
            errbuf_printf(err, errlen, "write key entry %zu: duplicate of entry %zu", wk->n + 1,
                          i + 1);
            return -1;
        }
    }
    k->site = strndup(site, site_len);
    k->key = strndup(key, key_len);
    if (k->site == NULL || k->key == NULL) {
        free(k->site);
        free(k->key);
        k->site = NULL;
        k->key = NULL;
        errbuf_printf(err, errlen, "out of memory");
        return -1;
    }
    k->keylen = key_len;
    wk->n++;
    return 0;
}

struct write_keys *write_keys_new(const char *spec, char *err, size_t errlen)
{
    struct write_keys *wk = calloc(1, sizeof(*wk));
    const char *pos = spec;
    const char *item;
    size_t len;

    if (wk == NULL) {
        errbuf_printf(err, errlen, "out of memory");
        return NULL;
    }
    if (guard_blank(spec)) {
        return wk;
    }
    wk->keys = calloc(guard_list_count(spec), sizeof(*wk->keys));
    if (wk->keys == NULL) {
        errbuf_printf(err, errlen, "out of memory");
        goto out_free;
    }
    while (guard_list_next(&pos, &item, &len)) {
        if (write_keys_add(wk, item, len, err, errlen) != 0) {
            goto out_free;
        }
    }
    return wk;

out_free:
    write_keys_free(wk);
    return NULL;
}

bool write_keys_enabled(const struct write_keys *wk)
{
    return wk != NULL && wk->n > 0;
}

/* Compares the configured key want[0..want_len) with the candidate
 * got[0..got_len) (NUL-terminated) in time that depends only on want_len:
 * every byte of want is compared, past the end of got against its NUL. */
static bool write_keys_equal(const char *want, size_t want_len, const char *got, size_t got_len)
{
    volatile unsigned char acc = 0;

    for (size_t i = 0; i < want_len; i++) {
        size_t j = i < got_len ? i : got_len;
        acc |= (unsigned char)(want[i] ^ got[j]);
    }
    acc |= (unsigned char)(want_len != got_len);
    return acc == 0;
}

const char *write_keys_match(const struct write_keys *wk, const char *key)
{
    size_t found = SIZE_MAX;
    size_t key_len;

    if (!write_keys_enabled(wk)) {
        return "";
    }
    if (key == NULL) {
        return NULL;
    }
    key_len = strlen(key);
    /* No early exit and no branch on the result: which key matched (if
     * any) must not show in the timing. */
    for (size_t i = 0; i < wk->n; i++) {
        size_t eq = write_keys_equal(wk->keys[i].key, wk->keys[i].keylen, key, key_len);
        size_t mask = (size_t)0 - eq;
        found = (found & ~mask) | (i & mask);
    }
    return found == SIZE_MAX ? NULL : wk->keys[found].site;
}

void write_keys_free(struct write_keys *wk)
{
    if (wk == NULL) {
        return;
    }
    for (size_t i = 0; i < wk->n; i++) {
        free(wk->keys[i].site);
        free(wk->keys[i].key);
    }
    free(wk->keys);
    free(wk);
}

/* ---- rate limit ---- */

/*
 * Lock striping: a key hashes to one of up to 64 shards, each with its own
 * mutex, its share of max_keys, a chained hash table and an LRU list (so the
 * least recently used bucket of that shard is reused when it is full). Entry
 * storage grows on demand up to the share. Keys longer than RL_KEY_INLINE - 1
 * bytes (client IPs never are) are told apart by that prefix, their length
 * and a seeded 64-bit hash.
 */

#define RL_SHARDS_MAX 64
#define RL_KEY_INLINE 48
#define RL_NIL UINT32_MAX
#define RL_SHARD_CAP_MAX (UINT32_C(1) << 28)
#define RL_GROW_MIN 16

struct rl_entry {
    uint64_t hash;
    double tokens;
    long long last_ms;
    uint32_t chain;    /* next entry in the same hash bucket */
    uint32_t lru_prev; /* towards the most recently used */
    uint32_t lru_next; /* towards the least recently used */
    uint32_t keylen;   /* full length of the key, saturated */
    char key[RL_KEY_INLINE];
};

struct rl_shard {
    alignas(64) pthread_mutex_t lock;
    struct rl_entry *entries; /* alloc slots, the first used in use */
    uint32_t *heads;          /* mask + 1 chain heads */
    uint32_t mask;
    uint32_t cap; /* this shard's share of max_keys */
    uint32_t alloc;
    uint32_t used;
    uint32_t lru_head; /* most recently used */
    uint32_t lru_tail; /* least recently used */
};

struct ratelimit {
    double rate; /* tokens per second; 0 = off */
    double burst;
    uint64_t seed;
    size_t nshards; /* a power of two */
    struct rl_shard *shards;
};

/* Hashes key (seeded FNV-1a, then a 64-bit finaliser) and measures it. */
static uint64_t rl_hash(uint64_t seed, const char *key, size_t *len)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325) ^ seed;
    size_t n = 0;

    for (; key[n] != '\0'; n++) {
        h ^= (unsigned char)key[n];
        h *= UINT64_C(0x100000001b3);
    }
    *len = n;
    h ^= h >> 33;
    h *= UINT64_C(0xff51afd7ed558ccd);
    h ^= h >> 33;
    h *= UINT64_C(0xc4ceb9fe1a85ec53);
    h ^= h >> 33;
    return h;
}

/* Unlinks entry i from the shard's LRU list. */
static void rl_lru_unlink(struct rl_shard *s, uint32_t i)
{
    struct rl_entry *e = &s->entries[i];

    if (e->lru_prev != RL_NIL) {
        s->entries[e->lru_prev].lru_next = e->lru_next;
    } else {
        s->lru_head = e->lru_next;
    }
    if (e->lru_next != RL_NIL) {
        s->entries[e->lru_next].lru_prev = e->lru_prev;
    } else {
        s->lru_tail = e->lru_prev;
    }
}

/* Links entry i at the most recently used end of the LRU list. */
static void rl_lru_push(struct rl_shard *s, uint32_t i)
{
    struct rl_entry *e = &s->entries[i];

    e->lru_prev = RL_NIL;
    e->lru_next = s->lru_head;
    if (s->lru_head != RL_NIL) {
        s->entries[s->lru_head].lru_prev = i;
    } else {
        s->lru_tail = i;
    }
    s->lru_head = i;
}

/* Removes entry i from its hash chain. */
static void rl_chain_unlink(struct rl_shard *s, uint32_t i)
{
    uint32_t *link = &s->heads[s->entries[i].hash & s->mask];

    while (*link != i) {
        link = &s->entries[*link].chain;
    }
    *link = s->entries[i].chain;
}

/* Returns the index of key's entry in s, or RL_NIL. */
static uint32_t rl_find(const struct rl_shard *s, uint64_t h, const char *key, size_t len)
{
    size_t cmp = len < RL_KEY_INLINE - 1 ? len : RL_KEY_INLINE - 1;
    uint32_t keylen = len < UINT32_MAX ? (uint32_t)len : UINT32_MAX;

    for (uint32_t i = s->heads[h & s->mask]; i != RL_NIL; i = s->entries[i].chain) {
        const struct rl_entry *e = &s->entries[i];
        if (e->hash == h && e->keylen == keylen && memcmp(e->key, key, cmp) == 0) {
            return i;
        }
    }
    return RL_NIL;
}

/* Returns a free entry index: a never used slot (growing the storage when
 * it can), else the least recently used entry, unlinked. */
static uint32_t rl_take_slot(struct rl_shard *s)
{
    uint32_t i;

    if (s->used == s->alloc && s->alloc < s->cap) {
        uint32_t n = s->alloc < RL_GROW_MIN ? RL_GROW_MIN : s->alloc * 2;
        struct rl_entry *grown;
        if (n > s->cap) {
            n = s->cap;
        }
        grown = realloc(s->entries, (size_t)n * sizeof(*grown));
        if (grown != NULL) {
            s->entries = grown;
            s->alloc = n;
        }
    }
    if (s->used < s->alloc) {
        return s->used++;
    }
    if (s->used == 0) {
        return RL_NIL; /* out of memory before the first entry */
    }
    i = s->lru_tail;
    rl_lru_unlink(s, i);
    rl_chain_unlink(s, i);
    return i;
}

/* Returns key's entry (a full bucket when new), marked most recently used;
 * NULL when no memory could be had for it. Call with the shard locked. */
static struct rl_entry *rl_get(struct rl_shard *s, uint64_t h, const char *key, size_t len,
                               double burst, long long now_ms)
{
    uint32_t i = rl_find(s, h, key, len);
    struct rl_entry *e;
    size_t cmp = len < RL_KEY_INLINE - 1 ? len : RL_KEY_INLINE - 1;

    if (i != RL_NIL) {
        if (s->lru_head != i) {
            rl_lru_unlink(s, i);
            rl_lru_push(s, i);
        }
        return &s->entries[i];
    }
    i = rl_take_slot(s);
    if (i == RL_NIL) {
        return NULL;
    }
    e = &s->entries[i];
    e->hash = h;
    e->tokens = burst;
    e->last_ms = now_ms;
    e->keylen = len < UINT32_MAX ? (uint32_t)len : UINT32_MAX;
    memcpy(e->key, key, cmp);
    e->key[cmp] = '\0';
    e->chain = s->heads[h & s->mask];
    s->heads[h & s->mask] = i;
    rl_lru_push(s, i);
    return e;
}

/* Returns a seed for the key hash, so clients cannot aim at one chain. */
static uint64_t rl_seed(const void *salt)
{
    uint64_t seed = 0;

    if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed)) {
        seed = (uint64_t)(uintptr_t)salt * UINT64_C(0x9e3779b97f4a7c15);
    }
    return seed;
}

/* Sets up shard s for cap entries. Returns 0, or -1 when out of memory (s
 * then needs no cleanup). */
static int rl_shard_init(struct rl_shard *s, uint32_t cap)
{
    uint32_t nbuckets = 1;

    while (nbuckets < cap) {
        nbuckets *= 2;
    }
    s->heads = malloc((size_t)nbuckets * sizeof(*s->heads));
    if (s->heads == NULL) {
        return -1;
    }
    if (pthread_mutex_init(&s->lock, NULL) != 0) {
        free(s->heads);
        s->heads = NULL;
        return -1;
    }
    memset(s->heads, 0xff, (size_t)nbuckets * sizeof(*s->heads)); /* all RL_NIL */
    s->mask = nbuckets - 1;
    s->cap = cap;
    s->entries = NULL;
    s->alloc = 0;
    s->used = 0;
    s->lru_head = RL_NIL;
    s->lru_tail = RL_NIL;
    return 0;
}

struct ratelimit *ratelimit_new(double rate, double burst, size_t max_keys)
{
    struct ratelimit *rl = calloc(1, sizeof(*rl));
    size_t nshards = RL_SHARDS_MAX;

    if (rl == NULL) {
        return NULL;
    }
    rl->rate = rate > 0 && isfinite(rate) ? rate : 0;
    rl->burst = burst > 0 ? burst : 0;
    rl->seed = rl_seed(rl);
    if (rl->rate <= 0) {
        return rl; /* off: no table */
    }
    if (max_keys == 0) {
        max_keys = 1;
    }
    while (nshards > 1 && nshards > max_keys) {
        nshards /= 2;
    }
    if (max_keys / nshards >= RL_SHARD_CAP_MAX) {
        goto out_free;
    }
    rl->shards = aligned_alloc(alignof(struct rl_shard), nshards * sizeof(*rl->shards));
    if (rl->shards == NULL) {
        goto out_free;
    }
    for (size_t i = 0; i < nshards; i++) {
        /* Spread max_keys exactly: the first max_keys % nshards get one more. */
        uint32_t cap = (uint32_t)(max_keys / nshards + (i < max_keys % nshards));
        if (rl_shard_init(&rl->shards[i], cap) != 0) {
            goto out_free;
        }
        rl->nshards = i + 1;
    }
    return rl;

out_free:
    ratelimit_free(rl);
    return NULL;
}

bool ratelimit_allow(struct ratelimit *rl, const char *key, double cost, long long now_ms,
                     int *retry_after_s)
{
    struct rl_shard *s;
    struct rl_entry *e;
    size_t len;
    uint64_t h;
    double need = 0;
    bool ok;

    if (rl == NULL || rl->rate <= 0) {
        return true;
    }
    if (key == NULL) {
        key = "";
    }
    if (!(cost > 0)) {
        cost = 0; /* also NaN */
    }
    h = rl_hash(rl->seed, key, &len);
    s = &rl->shards[(h >> 58) & (rl->nshards - 1)];

    pthread_mutex_lock(&s->lock);
    e = rl_get(s, h, key, len, rl->burst, now_ms);
    if (e == NULL) {
        pthread_mutex_unlock(&s->lock);
        return true; /* no memory for even one bucket: fail open */
    }
    if (now_ms > e->last_ms) {
        e->tokens += ((double)now_ms - (double)e->last_ms) * rl->rate / 1000.0;
        if (e->tokens > rl->burst) {
            e->tokens = rl->burst;
        }
        e->last_ms = now_ms;
    }
    ok = e->tokens >= cost;
    if (ok) {
        e->tokens -= cost;
    } else {
        need = cost - e->tokens;
    }
    pthread_mutex_unlock(&s->lock);

    if (!ok && retry_after_s != NULL) {
        double secs = ceil(need / rl->rate);
        *retry_after_s = secs < 1 ? 1 : secs >= INT_MAX ? INT_MAX : (int)secs;
    }
    return ok;
}

void ratelimit_free(struct ratelimit *rl)
{
    if (rl == NULL) {
        return;
    }
    for (size_t i = 0; i < rl->nshards; i++) {
        pthread_mutex_destroy(&rl->shards[i].lock);
        free(rl->shards[i].entries);
        free(rl->shards[i].heads);
    }
    free(rl->shards);
    free(rl);
}

/* ---- client IP ---- */

struct ip_addr {
    int family;          /* AF_INET or AF_INET6 */
    unsigned char b[16]; /* network order; AF_INET uses the first 4 */
};

struct ip_cidr {
    struct ip_addr net; /* host bits cleared */
    unsigned prefix;
};

struct proxy_list {
    size_t n;
    struct ip_cidr *cidrs;
};

/* Parses s[0..len) as an IPv4 or IPv6 address; an IPv4-mapped IPv6 address
 * becomes IPv4 (and *mapped, when given, is set). Returns false when
 * inet_pton rejects it. */
static bool ip_parse(const char *s, size_t len, struct ip_addr *out, bool *mapped)
{
    static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    char buf[64];

    if (mapped != NULL) {
        *mapped = false;
    }
    if (len == 0 || len >= sizeof(buf)) {
        return false;
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    memset(out, 0, sizeof(*out));
    if (inet_pton(AF_INET, buf, out->b) == 1) {
        out->family = AF_INET;
        return true;
    }
    if (inet_pton(AF_INET6, buf, out->b) != 1) {
        return false;
    }
    out->family = AF_INET6;
    if (memcmp(out->b, v4mapped, sizeof(v4mapped)) == 0) {
        memmove(out->b, out->b + 12, 4);
        memset(out->b + 4, 0, 12);
        out->family = AF_INET;
        if (mapped != NULL) {
            *mapped = true;
        }
    }
    return true;
}

/* True when a lies in c. */
static bool ip_cidr_contains(const struct ip_cidr *c, const struct ip_addr *a)
{
    size_t full = c->prefix / 8;
    unsigned rest = c->prefix % 8;

    if (c->net.family != a->family || memcmp(c->net.b, a->b, full) != 0) {
        return false;
    }
    if (rest == 0) {
        return true;
    }
    unsigned char mask = (unsigned char)(0xffu << (8 - rest));
    return (c->net.b[full] & mask) == (a->b[full] & mask);
}

/* True when a is a trusted proxy. */
static bool proxy_list_trusts(const struct proxy_list *pl, const struct ip_addr *a)
{
    for (size_t i = 0; pl != NULL && i < pl->n; i++) {
        if (ip_cidr_contains(&pl->cidrs[i], a)) {
            return true;
        }
    }
    return false;
}

/* Clears the bits of a from bit prefix on (0..128). */
static void ip_clear_host_bits(struct ip_addr *a, unsigned prefix)
{
    for (unsigned bit = prefix; bit < 128; bit++) {
        a->b[bit / 8] &= (unsigned char)~(0x80u >> (bit % 8));
    }
}

/* Parses a decimal prefix length s[0..len) no greater than max. */
static bool ip_prefix_parse(const char *s, size_t len, unsigned max, unsigned *out)
{
    unsigned v = 0;

    if (len == 0 || len > 3) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v > max) {
        return false;
    }
    *out = v;
    return true;
}

/* Parses "addr" or "addr/prefix" from s[0..len) into c. */
static bool ip_cidr_parse(const char *s, size_t len, struct ip_cidr *c)
{
    const char *slash = memchr(s, '/', len);
    size_t addr_len = slash != NULL ? (size_t)(slash - s) : len;
    bool mapped;
    unsigned max;
    unsigned prefix;

    if (!ip_parse(s, addr_len, &c->net, &mapped)) {
        return false;
    }
    max = c->net.family == AF_INET && !mapped ? 32 : 128;
    prefix = max;
    if (slash != NULL && !ip_prefix_parse(slash + 1, len - addr_len - 1, max, &prefix)) {
        return false;
    }
    if (mapped) {
        if (prefix < 96) {
            return false; /* reaches beyond the IPv4-mapped block */
        }
        prefix -= 96;
    }
    c->prefix = prefix;
    ip_clear_host_bits(&c->net, prefix); /* so matching compares whole bytes */
    return true;
}

struct proxy_list *proxy_list_new(const char *spec, char *err, size_t errlen)
{
    struct proxy_list *pl = calloc(1, sizeof(*pl));
    const char *pos = spec;
    const char *item;
    size_t len;

    if (pl == NULL) {
        errbuf_printf(err, errlen, "out of memory");
        return NULL;
    }
    if (guard_blank(spec)) {
        return pl;
    }
    pl->cidrs = calloc(guard_list_count(spec), sizeof(*pl->cidrs));
    if (pl->cidrs == NULL) {
        errbuf_printf(err, errlen, "out of memory");
        goto out_free;
    }
    while (guard_list_next(&pos, &item, &len)) {
        if (!ip_cidr_parse(item, len, &pl->cidrs[pl->n])) {
            errbuf_printf(err, errlen, "trusted proxy \"%.*s\" is not an IP address or CIDR block",
                          (int)(len > 200 ? 200 : len), item);
            goto out_free;
        }
        pl->n++;
    }
    return pl;

out_free:
    proxy_list_free(pl);
    return NULL;
}

/* True when cutting the list v at tail (v < tail) leaves the entry starting
 * at tail whole: only white space lies between a comma and tail. */
static bool xff_cut_clean(const char *v, const char *tail)
{
    const char *p = tail - 1;

    while (p > v && isspace((unsigned char)*p)) {
        p--;
    }
    return *p == ',';
}

int xff_join(const char *const *lines, size_t n, char *out, size_t outlen)
{
    size_t pos; /* the list built so far, right to left, is out[pos..] */
    bool dropped = false;

    if (out == NULL || outlen == 0) {
        return -1;
    }
    pos = outlen - 1;
    out[pos] = '\0';
    for (size_t i = n; i-- > 0 && !dropped;) {
        const char *v = lines[i];
        size_t len = v != NULL ? strlen(v) : 0;
        size_t sep = pos < outlen - 1 ? 2 : 0; /* ", " before what is there */

        guard_trim(&v, &len);
        if (len == 0) {
            continue;
        }
        if (len + sep > pos) {
            /* Keep the whole entries at the end of v that fit, then stop. */
            size_t avail = pos > sep ? pos - sep : 0;
            const char *tail = v + len - avail;
            dropped = true;
            if (!xff_cut_clean(v, tail)) {
                /* The cut is inside an entry: drop up to the next comma. */
                const char *comma = memchr(tail, ',', avail);
                avail = comma != NULL ? avail - (size_t)(comma + 1 - tail) : 0;
                tail = comma != NULL ? comma + 1 : tail;
            }
            len = avail;
            v = tail;
            guard_trim(&v, &len);
            if (len == 0) {
                break;
            }
        }
        pos -= sep;
        memcpy(out + pos, ", ", sep);
        pos -= len;
        memcpy(out + pos, v, len);
    }
    memmove(out, out + pos, outlen - pos);
    return dropped ? 1 : 0;
}

/* Parses an IPv6 address s[0..len), maybe with a zone ("fe80::1%eth0": up
 * to 16 letters, digits, '.', '_' or '-'), which is dropped. */
static bool xff_v6_parse(const char *s, size_t len, struct ip_addr *a)
{
    const char *pct = memchr(s, '%', len);

    if (pct != NULL) {
        size_t zlen = len - (size_t)(pct - s) - 1;
        if (zlen == 0 || zlen > 16) {
            return false;
        }
        for (size_t i = 1; i <= zlen; i++) {
            unsigned char ch = (unsigned char)pct[i];
            if (!isalnum(ch) && ch != '.' && ch != '_' && ch != '-') {
                return false;
            }
        }
        len = (size_t)(pct - s);
    }
    /* Brackets and zones belong to IPv6 only: "[192.0.2.1]" is not an entry. */
    return memchr(s, ':', len) != NULL && ip_parse(s, len, a, NULL);
}

/* Parses one X-Forwarded-For entry s[0..len) (trimmed): "v4", "v4:port",
 * "v6", "[v6]" or "[v6]:port", a v6 maybe with a zone. Returns false for
 * anything else. */
static bool xff_entry_parse(const char *s, size_t len, struct ip_addr *a)
{
    const char *end = s + len;
    const char *colon;

    if (len > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', len);
        if (close == NULL) {
            return false;
        }
        if (close + 1 != end &&
            (close[1] != ':' || !guard_port_valid(close + 2, (size_t)(end - close - 2)))) {
            return false;
        }
        return xff_v6_parse(s + 1, (size_t)(close - s - 1), a);
    }
    colon = memchr(s, ':', len);
    if (colon == NULL) {
        return ip_parse(s, len, a, NULL);
    }
    if (memchr(colon + 1, ':', (size_t)(end - colon - 1)) != NULL) {
        return xff_v6_parse(s, len, a); /* two colons or more: IPv6 */
    }
    /* one colon: IPv4 and a port */
    return guard_port_valid(colon + 1, (size_t)(end - colon - 1)) &&
           ip_parse(s, (size_t)(colon - s), a, NULL);
}

int client_ip_resolve(const struct proxy_list *pl, const char *peer, const char *xff, char *out,
                      size_t outlen)
{
    struct ip_addr cur;
    struct ip_addr next;
    const char *end;

    if (out != NULL && outlen > 0) {
        out[0] = '\0';
    }
    if (peer == NULL || !ip_parse(peer, strlen(peer), &cur, NULL)) {
        return -1;
    }
    if (xff != NULL && proxy_list_trusts(pl, &cur)) {
        /* Walk right to left: each hop was added by the one after it. */
        end = xff + strlen(xff);
        for (int hop = 0; hop < CLIENT_IP_MAX_HOPS; hop++) {
            const char *start = end;
            const char *item;
            size_t len;
            while (start > xff && start[-1] != ',') {
                start--;
            }
            item = start;
            len = (size_t)(end - start);
            guard_trim(&item, &len);
            if (len > 0) {
                if (!xff_entry_parse(item, len, &next)) {
                    break; /* malformed: keep the last good address */
                }
                cur = next;
                if (!proxy_list_trusts(pl, &cur)) {
                    break;
                }
            }
            if (start == xff) {
                break;
            }
            end = start - 1; /* the comma */
        }
    }
    if (out == NULL || inet_ntop(cur.family, cur.b, out, (socklen_t)outlen) == NULL) {
        if (out != NULL && outlen > 0) {
            out[0] = '\0';
        }
        return -1; /* out is too small */
    }
    return 0;
}

int client_ip_key(const char *ip, unsigned v6_prefix, char *out, size_t outlen)
{
    struct ip_addr a;
    unsigned char v4[4];
    char text[INET6_ADDRSTRLEN];
    int n;

    if (out == NULL || outlen == 0) {
        return -1;
    }
    out[0] = '\0';
    if (ip == NULL || v6_prefix > 128 || !ip_parse(ip, strlen(ip), &a, NULL)) {
        return -1;
    }
    if (a.family == AF_INET6 && ipaddr_embedded_v4(a.b, v4) != IPADDR_EMBED_NONE) {
        memset(&a, 0, sizeof(a));
        a.family = AF_INET;
        memcpy(a.b, v4, sizeof(v4));
    }
    if (a.family == AF_INET) {
        if (inet_ntop(AF_INET, a.b, out, (socklen_t)outlen) == NULL) {
            out[0] = '\0';
            return -1;
        }
        return 0;
    }
    ip_clear_host_bits(&a, v6_prefix);
    if (inet_ntop(AF_INET6, a.b, text, sizeof(text)) == NULL) {
        return -1;
    }
    n = snprintf(out, outlen, "%s/%u", text, v6_prefix);
    if (n < 0 || (size_t)n >= outlen) {
        out[0] = '\0';
        return -1;
    }
    return 0;
}

void proxy_list_free(struct proxy_list *pl)
{
    if (pl == NULL) {
        return;
    }
    free(pl->cidrs);
    free(pl);
}
