#ifndef ENRICHER_ARENA_H
#define ENRICHER_ARENA_H

/*
 * A bump allocator for the memory of one batch: decoded raw events, keys and
 * packed outputs are allocated here and released all at once by arena_reset,
 * which keeps the largest chunk for the next batch. Not thread-safe.
 */

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

struct arena_chunk;

struct arena {
    struct arena_chunk *head; /* newest chunk first */
    size_t chunk_size;        /* bytes of a regular chunk */
    size_t used;              /* bytes handed out since the last reset */
};

/* Initialises a, whose regular chunks hold chunk_size bytes (larger
 * requests get a chunk of their own). Allocates nothing yet. */
void arena_init(struct arena *a, size_t chunk_size);

/* Returns len bytes aligned for any type, valid until arena_reset or
 * arena_fini, or NULL when memory runs out. len 0 gives a valid pointer. */
void *arena_alloc(struct arena *a, size_t len);

/* Returns a copy of the len bytes at s with a NUL after them, or NULL. */
char *arena_strndup(struct arena *a, const char *s, size_t len);

/* Returns the n strings of parts joined into one NUL-terminated string, or
 * NULL. Cheaper than arena_printf on hot paths. */
char *arena_join(struct arena *a, const char *const *parts, size_t n);

/* Returns a NUL-terminated string formatted as printf would, or NULL. */
char *arena_printf(struct arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Releases everything allocated, keeping one regular chunk for reuse. */
void arena_reset(struct arena *a);

/* Frees every chunk. Accepts a zeroed arena. */
void arena_fini(struct arena *a);

/* Fills pa so that protobuf-c allocates from a (its frees do nothing: the
 * memory goes at arena_reset). a is borrowed. */
void arena_protobuf_allocator(struct arena *a, ProtobufCAllocator *pa);

#endif
