#include "analytics/copybuf.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

void copybuf_init(struct copybuf *b)
{
    bytebuf_init(&b->buf, COPYBUF_MAX);
    b->row_open = false;
}

void copybuf_fini(struct copybuf *b)
{
    bytebuf_fini(&b->buf);
    b->row_open = false;
}

void copybuf_reset(struct copybuf *b)
{
    copybuf_truncate(b, 0);
}

void copybuf_truncate(struct copybuf *b, size_t len)
{
    bytebuf_truncate(&b->buf, len);
    b->row_open = false;
}

const char *copybuf_data(const struct copybuf *b)
{
    return b->buf.data;
}

size_t copybuf_len(const struct copybuf *b)
{
    return b->buf.len;
}

void copybuf_fail(struct copybuf *b)
{
    b->buf.failed = true;
}

bool copybuf_failed(const struct copybuf *b)
{
    return bytebuf_failed(&b->buf);
}

void copybuf_append(struct copybuf *b, const char *s, size_t n)
{
    bytebuf_add(&b->buf, s, n);
}

void copybuf_field(struct copybuf *b)
{
    if (b->row_open) {
        bytebuf_add(&b->buf, "\t", 1);
    }
    b->row_open = true;
}

void copybuf_escaped(struct copybuf *b, const char *s, size_t n)
{
    char *start = bytebuf_reserve(&b->buf, n * 2);
    char *out = start;

    if (out == NULL) {
        return;
    }
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
    bytebuf_commit(&b->buf, (size_t)(out - start));
}

void copybuf_null(struct copybuf *b)
{
    copybuf_field(b);
    copybuf_append(b, "\\N", 2);
}

void copybuf_text(struct copybuf *b, const char *s, bool empty_null)
{
    if (s == NULL || (empty_null && s[0] == '\0')) {
        copybuf_null(b);
        return;
    }
    copybuf_field(b);
    copybuf_escaped(b, s, strlen(s));
}

void copybuf_raw(struct copybuf *b, const char *s, size_t len)
{
    copybuf_field(b);
    copybuf_append(b, s, len);
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
    copybuf_append(b, "\n", 1);
    b->row_open = false;
}
