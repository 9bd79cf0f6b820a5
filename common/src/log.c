#include "analytics/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 8192

static const char *log_svc = "analytics";
static enum log_level log_min = LOG_LEVEL_INFO;

static const char *const log_level_names[] = {"debug", "info", "warn", "error"};

void log_init(const char *svc, enum log_level min_level)
{
    log_svc = svc;
    log_min = min_level;
}

int log_level_parse(const char *s, enum log_level *out)
{
    for (size_t i = 0; i < sizeof(log_level_names) / sizeof(log_level_names[0]); i++) {
        if (strcmp(s, log_level_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    return -1;
}

bool log_enabled(enum log_level lvl)
{
    return lvl >= log_min;
}

size_t log_json_escape(char *dst, size_t len, size_t cap, const char *s)
{
    static const char hex[] = "0123456789abcdef";

    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[7];
        size_t n;

        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            n = 2;
        } else if (c == '\n') {
            memcpy(esc, "\\n", 2);
            n = 2;
        } else if (c < 0x20) {
            memcpy(esc, "\\u00", 4);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            n = 6;
        } else {
            esc[0] = (char)c;
            n = 1;
        }
        if (len + n >= cap) {
            break;
        }
        memcpy(dst + len, esc, n);
        len += n;
    }
    dst[len] = '\0';
    return len;
}

/* Appends formatted text; returns the new length, unchanged when it won't fit. */
static size_t log_append(char *buf, size_t len, size_t cap, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf + len, cap - len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= cap - len) {
        buf[len] = '\0';
        return len;
    }
    return len + (size_t)n;
}

static size_t log_append_field(char *buf, size_t len, size_t cap, int type, const char *key,
                               va_list *ap)
{
    size_t start = len;

    len = log_append(buf, len, cap, ",\"");
    len = log_json_escape(buf, len, cap, key);
    len = log_append(buf, len, cap, "\":");
    switch (type) {
    case LOG_T_STR: {
        const char *v = va_arg(*ap, const char *);
        if (v == NULL) {
            len = log_append(buf, len, cap, "null");
        } else {
            len = log_append(buf, len, cap, "\"");
            len = log_json_escape(buf, len, cap - 2, v);
            len = log_append(buf, len, cap, "\"");
        }
        break;
    }
    case LOG_T_INT:
        len = log_append(buf, len, cap, "%lld", va_arg(*ap, long long));
        break;
    case LOG_T_DBL:
        len = log_append(buf, len, cap, "%.6g", va_arg(*ap, double));
        break;
    case LOG_T_BOOL:
        len = log_append(buf, len, cap, "%s", va_arg(*ap, int) ? "true" : "false");
        break;
    default:
        break;
    }
    if (len >= cap - 2) {
        buf[start] = '\0';
        return start;
    }
    return len;
}

void log_event(enum log_level lvl, const char *event, ...)
{
    char buf[LOG_LINE_MAX];
    struct timespec ts;
    struct tm tm;
    size_t len = 0;
    va_list ap;
    int type;

    if (!log_enabled(lvl)) {
        return;
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    len = log_append(buf, len, sizeof(buf),
                     "{\"ts\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ\",\"lvl\":\"%s\",\"svc\":\"",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000, log_level_names[lvl]);
    len = log_json_escape(buf, len, sizeof(buf), log_svc);
    len = log_append(buf, len, sizeof(buf), "\",\"event\":\"");
    len = log_json_escape(buf, len, sizeof(buf), event);
    len = log_append(buf, len, sizeof(buf), "\"");

    va_start(ap, event);
    while ((type = va_arg(ap, int)) != LOG_T_END) {
        const char *key = va_arg(ap, const char *);
        len = log_append_field(buf, len, sizeof(buf) - 2, type, key, &ap);
    }
    va_end(ap);
    buf[len++] = '}';
    buf[len++] = '\n';
    (void)!write(STDERR_FILENO, buf, len);
}
