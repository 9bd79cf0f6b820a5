#ifndef ANALYTICS_COPYBUF_H
#define ANALYTICS_COPYBUF_H

/*
 * Rows for PostgreSQL's COPY ... FROM STDIN in text format, built in one
 * growable buffer: fields separated by tabs, rows ended by a newline, \N for
 * NULL, and backslash, tab, newline and carriage return escaped in text.
 *
 * Appends never fail one by one: running out of memory marks the buffer
 * failed (copybuf_failed), and the caller checks once per row or batch.
 */

#include <stdbool.h>
#include <stddef.h>

struct copybuf {
    char *data; /* owned; len bytes used of cap, NUL-terminated once written */
    size_t len, cap;
    bool failed;   /* memory ran out; the content is incomplete */
    bool row_open; /* a field was written on the current row */
};

void copybuf_init(struct copybuf *b);
void copybuf_fini(struct copybuf *b);

/* Empties b (keeps its memory; clears failed). */
void copybuf_reset(struct copybuf *b);

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

/* True when memory ran out since the last reset. */
bool copybuf_failed(const struct copybuf *b);

#endif
