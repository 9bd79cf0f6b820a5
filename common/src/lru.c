#include "analytics/lru.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* One allocation: the links, then the key bytes, then room for vcap value
 * bytes. */
struct lru_entry {
    struct lru_entry *hnext; /* bucket chain */
    struct lru_entry *prev;  /* towards the most recently used */
    struct lru_entry *next;  /* towards the least recently used */
    uint64_t hash;
    size_t klen, vlen, vcap;
    unsigned char data[];
};

struct lru {
    pthread_mutex_t mu;
    struct lru_entry **buckets;
    size_t nbuckets; /* a power of two */
    size_t count, cap;
    struct lru_entry *head, *tail;
    uint64_t hits, misses;
};

static uint64_t lru_hash(const void *key, size_t len)
{
    const unsigned char *s = key;
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */

    for (size_t i = 0; i < len; i++) {
        h = (h ^ s[i]) * 1099511628211ULL;
    }
    return h;
}

struct lru *lru_new(size_t cap)
{
    struct lru *c = calloc(1, sizeof(*c));

    if (c == NULL) {
        return NULL;
    }
    c->cap = cap;
    c->nbuckets = 16;
    while (c->nbuckets < cap * 2 && c->nbuckets < ((size_t)1 << 30)) {
        c->nbuckets *= 2;
    }
    c->buckets = calloc(c->nbuckets, sizeof(*c->buckets));
    if (c->buckets == NULL || pthread_mutex_init(&c->mu, NULL) != 0) {
        free(c->buckets);
        free(c);
        return NULL;
    }
    return c;
}

/* Frees every entry. Caller holds c->mu (or owns c alone). */
static void lru_drop_all(struct lru *c)
{
    for (struct lru_entry *e = c->head, *next; e != NULL; e = next) {
        next = e->next;
        free(e);
    }
    memset(c->buckets, 0, c->nbuckets * sizeof(*c->buckets));
    c->head = c->tail = NULL;
    c->count = 0;
}

void lru_free(struct lru *c)
{
    if (c == NULL) {
        return;
    }
    lru_drop_all(c);
    pthread_mutex_destroy(&c->mu);
    free(c->buckets);
    free(c);
}

/* Returns the link that points at key's entry (or the NULL ending its
 * bucket's chain). Caller holds c->mu. */
static struct lru_entry **lru_slot(struct lru *c, const void *key, size_t klen, uint64_t h)
{
    struct lru_entry **pp = &c->buckets[h & (c->nbuckets - 1)];

    for (; *pp != NULL; pp = &(*pp)->hnext) {
        const struct lru_entry *e = *pp;
        if (e->hash == h && e->klen == klen && memcmp(e->data, key, klen) == 0) {
            break;
        }
    }
    return pp;
}

static void lru_unlink(struct lru *c, struct lru_entry *e)
{
    if (e->prev != NULL) {
        e->prev->next = e->next;
    } else {
        c->head = e->next;
    }
    if (e->next != NULL) {
        e->next->prev = e->prev;
    } else {
        c->tail = e->prev;
    }
    e->prev = e->next = NULL;
}

static void lru_push_front(struct lru *c, struct lru_entry *e)
{
    e->prev = NULL;
    e->next = c->head;
    if (c->head != NULL) {
        c->head->prev = e;
    }
    c->head = e;
    if (c->tail == NULL) {
        c->tail = e;
    }
}

/* Unlinks the entry *pp points at from its chain and the list, and frees
 * it. Caller holds c->mu. */
static void lru_remove(struct lru *c, struct lru_entry **pp)
{
    struct lru_entry *e = *pp;

    *pp = e->hnext;
    lru_unlink(c, e);
    c->count--;
    free(e);
}

bool lru_get(struct lru *c, const void *key, size_t klen, void *out, size_t outlen, size_t *vlen)
{
    struct lru_entry *e = NULL;

    pthread_mutex_lock(&c->mu);
    if (c->cap > 0) {
        e = *lru_slot(c, key, klen, lru_hash(key, klen));
    }
    if (e != NULL && e->vlen <= outlen) {
        lru_unlink(c, e);
        lru_push_front(c, e);
        memcpy(out, e->data + e->klen, e->vlen);
        if (vlen != NULL) {
            *vlen = e->vlen;
        }
        c->hits++;
    } else {
        e = NULL;
        c->misses++;
    }
    pthread_mutex_unlock(&c->mu);
    return e != NULL;
}

int lru_put(struct lru *c, const void *key, size_t klen, const void *val, size_t vlen)
{
    uint64_t h = lru_hash(key, klen);
    struct lru_entry **pp, *e;
    int rc = 0;

    if (c->cap == 0) {
        return 0;
    }
    pthread_mutex_lock(&c->mu);
    pp = lru_slot(c, key, klen, h);
    e = *pp;
    if (e != NULL && e->vcap < vlen) {
        lru_remove(c, pp); /* the new value does not fit: a new entry */
        e = NULL;
    }
    if (e == NULL) {
        e = malloc(sizeof(*e) + klen + vlen);
        if (e == NULL) {
            rc = -1;
            goto out;
        }
        e->hash = h;
        e->klen = klen;
        e->vcap = vlen;
        memcpy(e->data, key, klen);
        e->hnext = c->buckets[h & (c->nbuckets - 1)];
        c->buckets[h & (c->nbuckets - 1)] = e;
        e->prev = e->next = NULL;
        c->count++;
    } else {
        lru_unlink(c, e);
    }
    e->vlen = vlen;
    memcpy(e->data + klen, val, vlen);
    lru_push_front(c, e);
    if (c->count > c->cap) {
        struct lru_entry *t = c->tail;
        lru_remove(c, lru_slot(c, t->data, t->klen, t->hash));
    }
out:
    pthread_mutex_unlock(&c->mu);
    return rc;
}

void lru_clear(struct lru *c)
{
    pthread_mutex_lock(&c->mu);
    lru_drop_all(c);
    pthread_mutex_unlock(&c->mu);
}

void lru_stats(struct lru *c, uint64_t *hits, uint64_t *misses, size_t *count)
{
    pthread_mutex_lock(&c->mu);
    if (hits != NULL) {
        *hits = c->hits;
    }
    if (misses != NULL) {
        *misses = c->misses;
    }
    if (count != NULL) {
        *count = c->count;
    }
    pthread_mutex_unlock(&c->mu);
}
