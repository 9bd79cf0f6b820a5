#include "analytics/copybuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define COPYBUF_MIN 4096

void copybuf_init(struct copybuf *b)
{
    memset(b, 0, sizeof(*b));
}

void copybuf_fini(struct copybuf *b)
{
    free(b->data);
    copybuf_init(b);
}

void copybuf_reset(struct copybuf *b)
{
    b->len = 0;
    b->failed = false;
    b->row_open = false;
    if (b->data != NULL) {
        b->data[0] = '\0';
    }
}

bool copybuf_failed(const struct copybuf *b)
{
    return b->failed;
}

/* Makes room for n more bytes and the NUL after them. Returns 0, or -1
 * (and marks b failed). */
static int copybuf_reserve(struct copybuf *b, size_t n)
{
    if (b->failed) {
        return -1;
    }
    n++;
    if (b->len + n <= b->cap) {
        return 0;
    }
    size_t cap = b->cap < COPYBUF_MIN ? COPYBUF_MIN : b->cap;
    while (cap < b->len + n) {
        cap *= 2;
    }
    char *p = realloc(b->data, cap);
    if (p == NULL) {
        b->failed = true;
        return -1;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

static void copybuf_put(struct copybuf *b, const char *s, size_t n)
{
    if (copybuf_reserve(b, n) == 0) {
        memcpy(b->data + b->len, s, n);
        b->len += n;
        b->data[b->len] = '\0';
    }
}

void copybuf_append(struct copybuf *b, const char *s, size_t n)
{
    copybuf_put(b, s, n);
}

/* The separator before a field. */
static void copybuf_field(struct copybuf *b)
{
    if (b->row_open) {
        copybuf_put(b, "\t", 1);
    }
    b->row_open = true;
}

void copybuf_null(struct copybuf *b)
{
    copybuf_field(b);
    copybuf_put(b, "\\N", 2);
}

void copybuf_text(struct copybuf *b, const char *s, bool empty_null)
{
    if (s == NULL || (empty_null && s[0] == '\0')) {
        copybuf_null(b);
        return;
    }
    copybuf_field(b);
    size_t n = strlen(s);
    if (copybuf_reserve(b, n * 2) != 0) {
        return;
    }
    char *out = b->data + b->len;
    for (size_t i = 0; i < n; i++) {
        char c = s[i], esc = 0;
        switch (c) {
        case '\\':
            esc = '\\';
            break;
        case '\t':
            esc = 't';
            break;
        case '\n':
            esc = 'n';
            break;
        case '\r':
            esc = 'r';
            break;
        default:
            break;
        }
        if (esc != 0) {
            *out++ = '\\';
            *out++ = esc;
        } else {
            *out++ = c;
        }
    }
    *out = '\0';
    b->len = (size_t)(out - b->data);
}

void copybuf_raw(struct copybuf *b, const char *s, size_t len)
{
    copybuf_field(b);
    copybuf_put(b, s, len);
}

void copybuf_int(struct copybuf *b, long long v)
{
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "%lld", v);

    copybuf_raw(b, buf, (size_t)n);
}

void copybuf_bool(struct copybuf *b, bool v)
{
    copybuf_raw(b, v ? "t" : "f", 1);
}

void copybuf_double(struct copybuf *b, double v)
{
    char buf[64];
    int n = snprintf(buf, sizeof(buf), "%.17g", v);

    copybuf_raw(b, buf, (size_t)n);
}

void copybuf_ts_ms(struct copybuf *b, long long ms)
{
    long long sec = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
    int frac = (int)(ms - sec * 1000);
    time_t t = (time_t)sec;
    struct tm tm;
    char buf[64];

    if (gmtime_r(&t, &tm) == NULL) {
        copybuf_null(b);
        return;
    }
    int n = snprintf(buf, sizeof(buf), "%04d-%02d-%02d %02d:%02d:%02d.%03d+00", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
    copybuf_raw(b, buf, (size_t)n);
}

void copybuf_end_row(struct copybuf *b)
{
    copybuf_put(b, "\n", 1);
    b->row_open = false;
}
