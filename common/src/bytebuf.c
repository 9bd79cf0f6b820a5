/*
 * The capped growable byte buffer. Contracts in analytics/bytebuf.h.
 */
#include "analytics/bytebuf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BYTEBUF_MIN 256
#define BYTEBUF_MAX (SIZE_MAX / 4) /* so that doubling the capacity never wraps */

void bytebuf_init(struct bytebuf *b, size_t max)
{
    memset(b, 0, sizeof(*b));
    b->max = max < BYTEBUF_MAX ? max : BYTEBUF_MAX;
}

void bytebuf_init_fixed(struct bytebuf *b, char *mem, size_t size)
{
    memset(b, 0, sizeof(*b));
    b->data = mem;
    b->cap = size;
    b->max = size - 1;
    b->fixed = true;
    mem[0] = '\0';
}

void bytebuf_fini(struct bytebuf *b)
{
    size_t max = b->max;

    if (!b->fixed) {
        free(b->data);
    }
    bytebuf_init(b, max);
}

void bytebuf_reset(struct bytebuf *b)
{
    bytebuf_truncate(b, 0);
}

void bytebuf_truncate(struct bytebuf *b, size_t len)
{
    b->len = len;
    b->failed = false;
    if (b->data != NULL) {
        b->data[len] = '\0';
    }
}

bool bytebuf_failed(const struct bytebuf *b)
{
    return b->failed;
}

char *bytebuf_reserve(struct bytebuf *b, size_t n)
{
    size_t cap;
    char *p;

    if (b->failed || n > b->max - b->len) {
        b->failed = true;
        return NULL;
    }
    if (b->len + n < b->cap) {
        return b->data + b->len;
    }
    if (b->fixed) {
        b->failed = true;
        return NULL;
    }
    cap = b->cap < BYTEBUF_MIN ? BYTEBUF_MIN : b->cap;
    while (cap <= b->len + n) {
        cap *= 2;
    }
    p = realloc(b->data, cap);
    if (p == NULL) {
        b->failed = true;
        return NULL;
    }
    b->data = p;
    b->cap = cap;
    return b->data + b->len;
}

void bytebuf_commit(struct bytebuf *b, size_t n)
{
    b->len += n;
    b->data[b->len] = '\0';
}

void bytebuf_add(struct bytebuf *b, const void *s, size_t n)
{
    char *p = bytebuf_reserve(b, n);

    if (p != NULL) {
        memcpy(p, s, n);
        bytebuf_commit(b, n);
    }
}

void bytebuf_addstr(struct bytebuf *b, const char *s)
{
    bytebuf_add(b, s, strlen(s));
}

void bytebuf_printf(struct bytebuf *b, const char *fmt, ...)
{
    va_list ap;
    char *p;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = true;
        return;
    }
    p = bytebuf_reserve(b, (size_t)n);
    if (p == NULL) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    bytebuf_commit(b, (size_t)n);
}

char *bytebuf_take(struct bytebuf *b)
{
    char *out = NULL;

    if (!b->fixed) {
        if (b->failed) {
            free(b->data);
        } else {
            out = b->data != NULL ? b->data : strdup("");
        }
        b->data = NULL;
    }
    bytebuf_fini(b);
    return out;
}
