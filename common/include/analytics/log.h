#ifndef ANALYTICS_LOG_H
#define ANALYTICS_LOG_H

/*
 * JSON-lines logging on stderr: one object per line, leading keys ts, lvl,
 * svc, event, then typed fields. Thread-safe: each line is one write(2).
 *
 *   log_info("http.listening", LOG_STR("addr", addr), LOG_INT("port", port));
 */

#include <stdbool.h>
#include <stddef.h>

enum log_level { LOG_LEVEL_DEBUG = 0, LOG_LEVEL_INFO, LOG_LEVEL_WARN, LOG_LEVEL_ERROR };

enum log_field_type { LOG_T_END = 0, LOG_T_STR, LOG_T_INT, LOG_T_DBL, LOG_T_BOOL };

#define LOG_STR(k, v) LOG_T_STR, (const char *)(k), (const char *)(v)
#define LOG_INT(k, v) LOG_T_INT, (const char *)(k), (long long)(v)
#define LOG_DBL(k, v) LOG_T_DBL, (const char *)(k), (double)(v)
#define LOG_BOOL(k, v) LOG_T_BOOL, (const char *)(k), (int)(v)

/* Sets the service name written as "svc" and the lowest level written.
 * Call once before any thread logs. svc is borrowed for the process's life. */
void log_init(const char *svc, enum log_level min_level);

/* Parses "debug", "info", "warn" or "error". Returns 0, or -1 when unknown. */
int log_level_parse(const char *s, enum log_level *out);

/* True when lines at lvl are written. */
bool log_enabled(enum log_level lvl);

/* Writes one line. The variadic part is fields made with LOG_STR/LOG_INT/
 * LOG_DBL/LOG_BOOL and terminated by LOG_T_END (the macros below add it).
 * A NULL string value is written as null. Lines over 8 KiB are truncated
 * at a field boundary. */
void log_event(enum log_level lvl, const char *event, ...);

#define log_debug(...) log_event(LOG_LEVEL_DEBUG, __VA_ARGS__, LOG_T_END)
#define log_info(...) log_event(LOG_LEVEL_INFO, __VA_ARGS__, LOG_T_END)
#define log_warn(...) log_event(LOG_LEVEL_WARN, __VA_ARGS__, LOG_T_END)
#define log_error(...) log_event(LOG_LEVEL_ERROR, __VA_ARGS__, LOG_T_END)

/* Appends s to dst (capacity cap, currently len bytes used) as a JSON string
 * body without quotes, escaping what JSON requires. Returns the new length;
 * stops short (never splitting an escape) when the buffer is full. */
size_t log_json_escape(char *dst, size_t len, size_t cap, const char *s);

#endif
