#include "analytics/log.h"

#include <math.h>
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

/* Appends n bytes when they fit below cap (keeping room for the NUL).
 * Returns true when appended. */
static bool log_put(char *buf, size_t *len, size_t cap, const char *s, size_t n)
{
    if (*len + n >= cap) {
        return false;
    }
    memcpy(buf + *len, s, n);
    *len += n;
    buf[*len] = '\0';
    return true;
}

static bool log_puts(char *buf, size_t *len, size_t cap, const char *s)
{
    return log_put(buf, len, cap, s, strlen(s));
}

/* Formats one value (not a string) into out; non-finite doubles become null. */
static void log_format_scalar(int type, va_list *ap, char *out, size_t outlen)
{
    switch (type) {
    case LOG_T_INT:
        snprintf(out, outlen, "%lld", va_arg(*ap, long long));
        return;
    case LOG_T_DBL: {
        double d = va_arg(*ap, double);
        if (isfinite(d)) {
            snprintf(out, outlen, "%.6g", d);
        } else {
            snprintf(out, outlen, "null");
        }
        return;
    }
    case LOG_T_BOOL:
        snprintf(out, outlen, "%s", va_arg(*ap, int) ? "true" : "false");
        return;
    default:
        snprintf(out, outlen, "null");
        return;
    }
}

/* Appends one field, consuming its value from ap whatever happens. A field
 * that does not fit is left out whole, except a string value, which is cut
 * short. Returns false when nothing more fits. */
static bool log_append_field(char *buf, size_t *len, size_t cap, int type, const char *key,
                             va_list *ap)
{
    size_t start = *len;
    char scalar[64];
    const char *str = NULL;

    if (type == LOG_T_STR) {
        str = va_arg(*ap, const char *);
    } else {
        log_format_scalar(type, ap, scalar, sizeof(scalar));
    }
    if (!log_puts(buf, len, cap, ",\"")) {
        goto out_undo;
    }
    *len = log_json_escape(buf, *len, cap, key);
    if (!log_puts(buf, len, cap, "\":")) {
        goto out_undo;
    }
    if (type != LOG_T_STR || str == NULL) {
        if (log_puts(buf, len, cap, type == LOG_T_STR ? "null" : scalar)) {
            return true;
        }
        goto out_undo;
    }
    if (!log_puts(buf, len, cap, "\"")) {
        goto out_undo;
    }
    *len = log_json_escape(buf, *len, cap - 1, str); /* room for the closing quote */
    if (log_puts(buf, len, cap, "\"")) {
        return true;
    }

out_undo:
    *len = start;
    buf[start] = '\0';
    return false;
}

void log_event(enum log_level lvl, const char *event, ...)
{
    char buf[LOG_LINE_MAX];
    const size_t cap = sizeof(buf) - 2; /* room for "}\n" */
    struct timespec ts;
    struct tm tm;
    size_t len;
    va_list ap;
    int type;
    bool room = true;

    if (!log_enabled(lvl)) {
        return;
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    len = (size_t)snprintf(
        buf, sizeof(buf),
        "{\"ts\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ\",\"lvl\":\"%s\",\"svc\":\"",
        tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
        ts.tv_nsec / 1000000, log_level_names[lvl]);
    /* svc and event are names, not data: each gets at most 256 bytes. */
    len = log_json_escape(buf, len, len + 256, log_svc);
    log_puts(buf, &len, cap, "\",\"event\":\"");
    len = log_json_escape(buf, len, len + 256, event);
    log_puts(buf, &len, cap, "\"");

    va_start(ap, event);
    while ((type = va_arg(ap, int)) != LOG_T_END) {
        const char *key = va_arg(ap, const char *);
        if (room) {
            room = log_append_field(buf, &len, cap, type, key, &ap);
        } else if (type == LOG_T_STR) {
            (void)va_arg(ap, const char *);
        } else {
            char skip[64];
            log_format_scalar(type, &ap, skip, sizeof(skip));
        }
    }
    va_end(ap);
    buf[len++] = '}';
    buf[len++] = '\n';
    (void)!write(STDERR_FILENO, buf, len);
}
