#include "jcache.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct jcache_entry {
    char *key;
    void *val;
    struct jcache_entry *next;          /* in its bucket */
    struct jcache_entry *newer, *older; /* recency list */
};

struct jcache {
    struct jcache_entry **buckets;
    size_t nbuckets, count, cap;
    struct jcache_entry *newest, *oldest;
    void (*free_fn)(void *);
};

static uint64_t jcache_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;

    for (; *s != '\0'; s++) {
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    }
    return h;
}

struct jcache *jcache_new(size_t cap, void (*free_fn)(void *))
{
    struct jcache *c = calloc(1, sizeof(*c));

    if (c == NULL) {
        return NULL;
    }
    c->nbuckets = 1024;
    c->buckets = calloc(c->nbuckets, sizeof(*c->buckets));
    if (c->buckets == NULL) {
        free(c);
        return NULL;
    }
    c->cap = cap;
    c->free_fn = free_fn;
    return c;
}

static void jcache_unlink(struct jcache *c, struct jcache_entry *e)
{
    if (e->newer != NULL) {
        e->newer->older = e->older;
    } else {
        c->newest = e->older;
    }
    if (e->older != NULL) {
        e->older->newer = e->newer;
    } else {
        c->oldest = e->newer;
    }
    e->newer = e->older = NULL;
}

static void jcache_link_newest(struct jcache *c, struct jcache_entry *e)
{
    e->older = c->newest;
    e->newer = NULL;
    if (c->newest != NULL) {
        c->newest->newer = e;
    }
    c->newest = e;
    if (c->oldest == NULL) {
        c->oldest = e;
    }
}

static struct jcache_entry **jcache_find(struct jcache *c, const char *key)
{
    struct jcache_entry **p = &c->buckets[jcache_hash(key) & (c->nbuckets - 1)];

    while (*p != NULL && strcmp((*p)->key, key) != 0) {
        p = &(*p)->next;
    }
    return p;
}

static void jcache_drop(struct jcache *c, struct jcache_entry **slot)
{
    struct jcache_entry *e = *slot;

    *slot = e->next;
    jcache_unlink(c, e);
    c->free_fn(e->val);
    free(e->key);
    free(e);
    c->count--;
}

void *jcache_get(struct jcache *c, const char *key)
{
    struct jcache_entry *e = *jcache_find(c, key);

    if (e == NULL) {
        return NULL;
    }
    jcache_unlink(c, e);
    jcache_link_newest(c, e);
    return e->val;
}

/* Doubles the buckets when the table is fuller than one entry a bucket. */
static void jcache_rehash(struct jcache *c)
{
    size_t n = c->nbuckets * 2;
    struct jcache_entry **b = calloc(n, sizeof(*b));

    if (b == NULL) {
        return; /* longer chains, still correct */
    }
    for (size_t i = 0; i < c->nbuckets; i++) {
        struct jcache_entry *e = c->buckets[i], *next;
        for (; e != NULL; e = next) {
            next = e->next;
            size_t j = jcache_hash(e->key) & (n - 1);
            e->next = b[j];
            b[j] = e;
        }
    }
    free(c->buckets);
    c->buckets = b;
    c->nbuckets = n;
}

int jcache_put(struct jcache *c, const char *key, void *val)
{
    struct jcache_entry **slot = jcache_find(c, key);
    struct jcache_entry *e;

    if (*slot != NULL) {
        e = *slot;
        if (e->val != val) {
            c->free_fn(e->val);
            e->val = val;
        }
        jcache_unlink(c, e);
        jcache_link_newest(c, e);
        return 0;
    }
    e = calloc(1, sizeof(*e));
    if (e == NULL || (e->key = strdup(key)) == NULL) {
        free(e);
        return -1;
    }
    e->val = val;
    *slot = e;
    jcache_link_newest(c, e);
    if (++c->count > c->nbuckets) {
        jcache_rehash(c);
    }
    return 0;
}

void jcache_clear(struct jcache *c)
{
    for (size_t i = 0; i < c->nbuckets; i++) {
        while (c->buckets[i] != NULL) {
            jcache_drop(c, &c->buckets[i]);
        }
    }
}

void jcache_trim(struct jcache *c)
{
    while (c->count > c->cap && c->oldest != NULL) {
        jcache_drop(c, jcache_find(c, c->oldest->key));
    }
}

size_t jcache_count(const struct jcache *c)
{
    return c->count;
}

void jcache_each(struct jcache *c, void (*fn)(void *val, void *arg), void *arg)
{
    for (struct jcache_entry *e = c->newest; e != NULL; e = e->older) {
        fn(e->val, arg);
    }
}

void jcache_free(struct jcache *c)
{
    if (c == NULL) {
        return;
    }
    jcache_clear(c);
    free(c->buckets);
    free(c);
}
