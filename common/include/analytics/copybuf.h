#ifndef ANALYTICS_COPYBUF_H
#define ANALYTICS_COPYBUF_H

/*
 * Rows for PostgreSQL's COPY ... FROM STDIN in text format, built in one
 * growable buffer: fields separated by tabs, rows ended by a newline, \N for
 * NULL, and backslash, tab, newline and carriage return escaped in text.
 *
 * The rows grow in a struct bytebuf (analytics/bytebuf.h) capped at
 * COPYBUF_MAX. Appends never fail one by one: running out of memory or past
 * the cap marks the buffer failed (copybuf_failed), and the caller checks
 * once per row or batch.
 */

#include "analytics/bytebuf.h"

#include <stdbool.h>
#include <stddef.h>

/* Bytes of rows one buffer holds at most: one COPY's worth. */
#define COPYBUF_MAX ((size_t)1 << 30)

struct copybuf {
    struct bytebuf buf; /* the text, NUL-terminated once written */
    bool row_open;      /* a field was written on the current row */
};

void copybuf_init(struct copybuf *b);
void copybuf_fini(struct copybuf *b);

/* Empties b (keeps its memory; clears failed). */
void copybuf_reset(struct copybuf *b);

/* The text so far (borrowed; valid until the next append, reset or fini;
 * NULL before anything was written) and its length in bytes. */
const char *copybuf_data(const struct copybuf *b);
size_t copybuf_len(const struct copybuf *b);

/* Cuts b back to its first len bytes (a length it had, at the end of a
 * row), clears failed and leaves no row open: undoes the rows appended
 * after len. */
void copybuf_truncate(struct copybuf *b, size_t len);

/* Starts a field: the tab before all but the first of a row. */
void copybuf_field(struct copybuf *b);

/* Appends s[0..n) to the field begun, with COPY's escapes for backslash,
 * tab, line feed and carriage return; other bytes stand for themselves.
 * Pieces appended one after another make one field. */
void copybuf_escaped(struct copybuf *b, const char *s, size_t n);

/* Appends a text field: NULL (\N) when s is NULL, and also when s is ""
 * and empty_null is true. */
void copybuf_text(struct copybuf *b, const char *s, bool empty_null);

/* Appends NULL. */
void copybuf_null(struct copybuf *b);

/* Appends an integer, a boolean (t or f), a double. */
void copybuf_int(struct copybuf *b, long long v);
void copybuf_bool(struct copybuf *b, bool v);
void copybuf_double(struct copybuf *b, double v);

/* Appends a timestamptz from milliseconds since the epoch, in UTC with
 * milliseconds ("2026-11-25 10:00:00.123+00"). */
void copybuf_ts_ms(struct copybuf *b, long long ms);

/* Appends a field written verbatim, without escaping: the caller vouches
 * that it holds no tab, newline, carriage return or backslash (array
 * literals of numbers, say). */
void copybuf_raw(struct copybuf *b, const char *s, size_t len);

/* Appends n bytes as they are, outside the field structure (to build an
 * array literal or any other text in the buffer). */
void copybuf_append(struct copybuf *b, const char *s, size_t n);

/* Ends the row. */
void copybuf_end_row(struct copybuf *b);

/* Marks b failed, as running out of memory does: for a caller that could
 * not make a value for the row. */
void copybuf_fail(struct copybuf *b);

/* True when memory ran out (or the cap was reached) since the last reset. */
bool copybuf_failed(const struct copybuf *b);

#endif
