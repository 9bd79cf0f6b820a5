/*
 * The per-client token bucket. Contracts in analytics/ratelimit.h; pure logic
 * (no I/O, no clock, no log).
 */
#include "analytics/ratelimit.h"

#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

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
