#ifndef ANALYTICS_BYTEBUF_H
#define ANALYTICS_BYTEBUF_H

/*
 * The one growable byte buffer, with a hard cap (after curl's dynbuf):
 * response bodies, metrics text, COPY rows (analytics/copybuf.h) and URLs
 * built in a caller's array all grow in one.
 *
 * Appends never fail one by one: running out of memory, or past the cap,
 * marks the buffer failed and every later append does nothing, so the
 * caller checks once (bytebuf_failed) when the text is done. The content is
 * NUL-terminated once anything was written.
 */

#include <stdbool.h>
#include <stddef.h>

struct bytebuf {
    char *data; /* len bytes used of cap; owned unless fixed */
    size_t len, cap;
    size_t max;  /* bytes of content at most (the NUL is not counted) */
    bool failed; /* memory ran out or max was reached; the content is cut */
    bool fixed;  /* data is the caller's array of cap bytes: never grown, never freed */
};

/* An empty buffer that grows up to max bytes of content. Allocates nothing
 * until the first append. */
void bytebuf_init(struct bytebuf *b, size_t max);

/* A buffer over the caller's array mem of size bytes (size >= 1): at most
 * size - 1 bytes of content and the NUL; it never allocates. mem is
 * borrowed and holds "" at once. */
void bytebuf_init_fixed(struct bytebuf *b, char *mem, size_t size);

/* Frees what b owns and leaves it empty (as bytebuf_init with the same max). */
void bytebuf_fini(struct bytebuf *b);

/* Empties b, keeping its memory; clears failed. */
void bytebuf_reset(struct bytebuf *b);

/* Cuts b back to its first len bytes (len <= the length now), as they were
 * when it was that long; clears failed. To undo what was appended after a
 * mark taken from b->len. */
void bytebuf_truncate(struct bytebuf *b, size_t len);

/* Makes room for n more bytes and a NUL after them. Returns where they go
 * (write them, then bytebuf_commit), or NULL when b failed. */
char *bytebuf_reserve(struct bytebuf *b, size_t n);

/* Counts n bytes written at what bytebuf_reserve returned (n at most what it
 * reserved) and terminates the content. */
void bytebuf_commit(struct bytebuf *b, size_t n);

/* Appends n bytes of s; a C string; printf-formatted text. */
void bytebuf_add(struct bytebuf *b, const void *s, size_t n);
void bytebuf_addstr(struct bytebuf *b, const char *s);
__attribute__((format(printf, 2, 3))) void bytebuf_printf(struct bytebuf *b, const char *fmt, ...);

/* True when an append failed since the last reset. */
bool bytebuf_failed(const struct bytebuf *b);

/* Hands the content to the caller: returns it ("" when nothing was written;
 * caller frees) and leaves b empty; NULL when b failed, is fixed, or memory
 * ran out (b is then emptied all the same). */
char *bytebuf_take(struct bytebuf *b);

#endif
