#include "arena.h"

#include <stdalign.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_ALIGN alignof(max_align_t)

struct arena_chunk {
    struct arena_chunk *next;
    size_t cap;
    size_t off;
    alignas(max_align_t) unsigned char data[];
};

void arena_init(struct arena *a, size_t chunk_size)
{
    a->head = NULL;
    a->chunk_size = chunk_size < 4096 ? 4096 : chunk_size;
    a->used = 0;
}

/* Adds a chunk of at least len bytes in front. Returns it, or NULL. */
static struct arena_chunk *arena_grow(struct arena *a, size_t len)
{
    size_t cap = len > a->chunk_size ? len : a->chunk_size;
    struct arena_chunk *c = cap <= SIZE_MAX - sizeof(*c) ? malloc(sizeof(*c) + cap) : NULL;

    if (c == NULL) {
        return NULL;
    }
    c->cap = cap;
    c->off = 0;
    if (a->head != NULL && cap > a->chunk_size && a->head->off < a->head->cap / 2) {
        /* An oversized chunk goes second, so the current one keeps filling. */
        c->next = a->head->next;
        a->head->next = c;
    } else {
        c->next = a->head;
        a->head = c;
    }
    return c;
}

void *arena_alloc(struct arena *a, size_t len)
{
    size_t need = (len + ARENA_ALIGN - 1) & ~(ARENA_ALIGN - 1);
    struct arena_chunk *c = a->head;

    if (need < len) {
        return NULL; /* overflow */
    }
    if (c == NULL || c->cap - c->off < need) {
        c = arena_grow(a, need);
        if (c == NULL) {
            return NULL;
        }
    }
    void *p = c->data + c->off;
    c->off += need;
    a->used += need;
    return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t len)
{
    char *p = arena_alloc(a, len + 1);

    if (p != NULL) {
        memcpy(p, s, len);
        p[len] = '\0';
    }
    return p;
}

char *arena_join(struct arena *a, const char *const *parts, size_t n)
{
    size_t lens[8], total = 0;

    if (n > sizeof(lens) / sizeof(lens[0])) {
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        lens[i] = strlen(parts[i]);
        total += lens[i];
    }
    char *p = arena_alloc(a, total + 1);
    if (p == NULL) {
        return NULL;
    }
    char *w = p;
    for (size_t i = 0; i < n; i++) {
        memcpy(w, parts[i], lens[i]);
        w += lens[i];
    }
    *w = '\0';
    return p;
}

char *arena_printf(struct arena *a, const char *fmt, ...)
{
    va_list ap;
    char small[256];

    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0) {
        return NULL;
    }
    if ((size_t)n < sizeof(small)) {
        return arena_strndup(a, small, (size_t)n);
    }
    char *p = arena_alloc(a, (size_t)n + 1);
    if (p != NULL) {
        va_start(ap, fmt);
        vsnprintf(p, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    return p;
}

void arena_reset(struct arena *a)
{
    struct arena_chunk *keep = NULL;

    for (struct arena_chunk *c = a->head, *next; c != NULL; c = next) {
        next = c->next;
        if (keep == NULL && c->cap == a->chunk_size) {
            keep = c;
        } else {
            free(c);
        }
    }
    if (keep != NULL) {
        keep->next = NULL;
        keep->off = 0;
    }
    a->head = keep;
    a->used = 0;
}

void arena_fini(struct arena *a)
{
    for (struct arena_chunk *c = a->head, *next; c != NULL; c = next) {
        next = c->next;
        free(c);
    }
    a->head = NULL;
    a->used = 0;
}

static void *arena_pb_alloc(void *data, size_t size)
{
    return arena_alloc(data, size);
}

static void arena_pb_free(void *data, void *p)
{
    (void)data;
    (void)p;
}

void arena_protobuf_allocator(struct arena *a, ProtobufCAllocator *pa)
{
    pa->alloc = arena_pb_alloc;
    pa->free = arena_pb_free;
    pa->allocator_data = a;
}
