/*
 * The wire format's fields: each one's type, length and characters, the
 * event time and its day, event_data and consent. Contract in event.h.
 */
#include "event_priv.h"
#include "analytics/textcheck.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* clang-format off */
#define EVENT_FIELD(name) {(name), sizeof(name) - 1}
/* clang-format on */

const struct event_field_name event_field_table[EVENT_F_COUNT] = {
    EVENT_FIELD("event_id"), EVENT_FIELD("event_type"),   EVENT_FIELD("fingerprint"),
    EVENT_FIELD("user_id"),  EVENT_FIELD("session_id"),   EVENT_FIELD("timestamp"),
    EVENT_FIELD("page_url"), EVENT_FIELD("referrer_url"), EVENT_FIELD("event_data"),
    EVENT_FIELD("consent"),
};

/* ---- small helpers ---- */

int event_fail(struct event_fail *f, const char *code, const char *fmt, ...)
{
    va_list ap;

    f->code = code;
    va_start(ap, fmt);
    vsnprintf(f->msg, sizeof(f->msg), fmt, ap);
    va_end(ap);
    return -1;
}

/* Returns the event_field named k[0..n), or -1. */
int event_field_index(const char *k, size_t n)
{
    for (int i = 0; i < EVENT_F_COUNT; i++) {
        if (event_field_table[i].len == n && event_field_table[i].name[0] == k[0] &&
            memcmp(event_field_table[i].name, k, n) == 0) {
            return i;
        }
    }
    return -1;
}

/* True when s[0..n) holds only [A-Za-z0-9._:-]. */
static bool event_is_token(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '-')) {
            return false;
        }
    }
    return true;
}

/* True when s[0..n) (valid UTF-8) holds a C0 or C1 control character or DEL. */
static bool event_has_control(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;

    for (size_t i = 0; i < n; i++) {
        if (p[i] < 0x20 || p[i] == 0x7F ||
            (p[i] == 0xC2 && i + 1 < n && p[i + 1] >= 0x80 && p[i + 1] <= 0x9F)) {
            return true;
        }
    }
    return false;
}

/* A protobuf-c string field for s: protobuf-c wants "" rather than NULL. */
char *event_pb_str(const char *s)
{
    return (char *)(s != NULL ? s : protobuf_c_empty_string);
}

/* ---- field validation ---- */

/* Checks the string field it (NULL when absent). On success *out is the
 * string, or NULL when absent or null and not required. Returns 0 or -1. */
int event_check_string(const cJSON *it, enum event_field field, bool required, size_t maxlen,
                       enum event_charset cs, const char **out, struct event_fail *f)
{
    const char *name = event_field_table[field].name;
    size_t n;

    *out = NULL;
    if (it == NULL || cJSON_IsNull(it)) {
        if (required) {
            return event_fail(f, "missing_field", "field '%s' is required", name);
        }
        return 0;
    }
    if (!cJSON_IsString(it) || it->valuestring == NULL) {
        return event_fail(f, "invalid_type", "field '%s' must be a string", name);
    }
    n = strlen(it->valuestring);
    if (n == 0 && (required || field == EVENT_F_EVENT_ID)) {
        return event_fail(f, required ? "missing_field" : "invalid_value",
                          "field '%s' must not be empty", name);
    }
    if (n > maxlen) {
        return event_fail(f, "too_long", "field '%s' is longer than %zu bytes", name, maxlen);
    }
    if (cs == EVENT_CS_TOKEN && !event_is_token(it->valuestring, n)) {
        return event_fail(f, "invalid_value", "field '%s' may only contain A-Z a-z 0-9 . _ : -",
                          name);
    }
    if (cs == EVENT_CS_TEXT && event_has_control(it->valuestring, n)) {
        return event_fail(f, "invalid_value", "field '%s' contains a control character", name);
    }
    *out = it->valuestring;
    return 0;
}

/* Checks the timestamp field. Returns 1 with *ms when present, 0 when absent
 * (allowed unless historical), -1 when invalid. */
int event_check_timestamp(const cJSON *it, bool historical, long long *ms, struct event_fail *f)
{
    long long v;

    if (it == NULL || cJSON_IsNull(it)) {
        if (historical) {
            return event_fail(f, "missing_field",
                              "field 'timestamp' is required in a historical batch");
        }
        return 0;
    }
    if (cJSON_IsNumber(it)) {
        double d = it->valuedouble;

        if (!(d >= 0 && d < (double)EVENT_TS_MAX_MS)) {
            return event_fail(f, "invalid_timestamp",
                              "field 'timestamp' must be milliseconds from 0 to %lld",
                              EVENT_TS_MAX_MS - 1);
        }
        v = (long long)d;
        if ((double)v != d) {
            return event_fail(f, "invalid_timestamp",
                              "field 'timestamp' must be a whole number of milliseconds");
        }
    } else if (cJSON_IsString(it) && it->valuestring != NULL) {
        if (textcheck_iso8601(it->valuestring, &v) != 0) {
            return event_fail(f, "invalid_timestamp",
                              "field 'timestamp' is not an ISO-8601 date-time");
        }
        if (v < 0 || v >= EVENT_TS_MAX_MS) {
            return event_fail(f, "invalid_timestamp",
                              "field 'timestamp' must be from 1970 to 2099");
        }
    } else {
        return event_fail(f, "invalid_type",
                          "field 'timestamp' must be a number of milliseconds or a string");
    }
    *ms = v;
    return 1;
}

/* True when a live (not historical) event's client time is further from
 * the receive time than the tolerance: it is then kept at the receive time
 * downstream (enrich_event_time). */
bool event_skew_suspect(const struct event_limits *lim, bool historical, long long received_ms,
                        long long client_ms)
{
    long long skew = received_ms - client_ms;

    return !historical && (skew > lim->max_skew_ms || skew < -lim->max_skew_ms);
}

/* The UTC day (days since 1970-01-01) of ms, which is not negative. */
static long long event_day(long long ms)
{
    return ms / EVENT_DAY_MS;
}

/* Checks that the time the event will be stored at (its client time ts_ms
 * when present and believed, else the receive time now_ms) is on a day the
 * store keeps: the journey-builder dead-letters older than retention_days
 * before today as expired and later than future_days after it as future.
 * now_ms <= 0 (unknown) skips the check. Returns 0 or -1 with f set. */
int event_check_age(const struct event_limits *lim, bool historical, long long now_ms,
                    bool ts_present, long long ts_ms, struct event_fail *f)
{
    long long day, today;

    if (now_ms <= 0 || !ts_present || event_skew_suspect(lim, historical, now_ms, ts_ms)) {
        return 0;
    }
    day = event_day(ts_ms);
    today = event_day(now_ms);
    if (lim->retention_days > 0 && day < today - lim->retention_days) {
        return event_fail(f, "expired",
                          "field 'timestamp' is older than the retention period (%lld days)",
                          lim->retention_days);
    }
    if (lim->future_days >= 0 && day > today + lim->future_days) {
        return event_fail(f, "future",
                          "field 'timestamp' is more than %lld days ahead of the server's clock",
                          lim->future_days);
    }
    return 0;
}

/* Checks the members of the event_data container node at nesting level
 * depth; recurses once per level, never beyond lim->max_depth (and the whole
 * body's nesting is bounded before cJSON parsed it). */
static int event_check_data(const cJSON *node, size_t depth, const struct event_limits *lim,
                            size_t *props, struct event_fail *f)
{
    for (const cJSON *c = node->child; c != NULL; c = c->next) {
        if (++*props > lim->max_props) {
            return event_fail(f, "too_many_properties",
                              "field 'event_data' has more than %zu properties", lim->max_props);
        }
        if (c->string != NULL && strlen(c->string) > lim->max_string_len) {
            return event_fail(f, "too_long", "field 'event_data' has a key longer than %zu bytes",
                              lim->max_string_len);
        }
        if (cJSON_IsString(c) && c->valuestring != NULL &&
            strlen(c->valuestring) > lim->max_string_len) {
            return event_fail(f, "too_long",
                              "field 'event_data' has a string longer than %zu bytes%s%.40s%s",
                              lim->max_string_len, c->string != NULL ? " at key '" : "",
                              c->string != NULL ? c->string : "", c->string != NULL ? "'" : "");
        }
        if (cJSON_IsNumber(c) && !isfinite(c->valuedouble)) {
            return event_fail(f, "invalid_value", "field 'event_data' has a number out of range");
        }
        if (cJSON_IsObject(c) || cJSON_IsArray(c)) {
            if (depth + 1 > lim->max_depth) {
                return event_fail(f, "too_deep", "field 'event_data' nests deeper than %zu levels",
                                  lim->max_depth);
            }
            if (event_check_data(c, depth + 1, lim, props, f) != 0) {
                return -1;
            }
        }
    }
    return 0;
}

/* Checks event_data (NULL when absent). Returns 0 or -1. */
int event_check_event_data(const cJSON *it, const struct event_limits *lim, struct event_fail *f)
{
    size_t props = 0;

    if (it == NULL || cJSON_IsNull(it)) {
        return 0;
    }
    if (!cJSON_IsObject(it)) {
        return event_fail(f, "invalid_type", "field 'event_data' must be an object");
    }
    if (lim->max_depth < 1) {
        return event_fail(f, "too_deep", "field 'event_data' nests deeper than %zu levels",
                          lim->max_depth);
    }
    return event_check_data(it, 1, lim, &props, f);
}

/* Returns the consent flag of c named name, or NULL for an unknown category. */
static protobuf_c_boolean *event_consent_slot(Analytics__V1__Consent *c, const char *name)
{
    if (strcmp(name, "necessary") == 0) {
        return &c->necessary;
    }
    if (strcmp(name, "analytics") == 0) {
        return &c->analytics;
    }
    if (strcmp(name, "marketing") == 0) {
        return &c->marketing;
    }
    return NULL;
}

/* Fills c (already initialised) from consent (NULL when absent). Returns 0 or -1. */
int event_check_consent(const cJSON *it, Analytics__V1__Consent *c, struct event_fail *f)
{
    if (it == NULL || cJSON_IsNull(it)) {
        return 0;
    }
    if (cJSON_IsArray(it)) {
        for (const cJSON *e = it->child; e != NULL; e = e->next) {
            protobuf_c_boolean *slot;

            if (!cJSON_IsString(e) || e->valuestring == NULL) {
                return event_fail(f, "invalid_type",
                                  "field 'consent' must list categories as strings");
            }
            slot = event_consent_slot(c, e->valuestring);
            if (slot == NULL) {
                return event_fail(f, "invalid_value",
                                  "field 'consent' has unknown category '%.40s'", e->valuestring);
            }
            *slot = 1;
        }
    } else if (cJSON_IsObject(it)) {
        for (const cJSON *e = it->child; e != NULL; e = e->next) {
            protobuf_c_boolean *slot = event_consent_slot(c, e->string);

            if (slot == NULL) {
                return event_fail(f, "invalid_value",
                                  "field 'consent' has unknown category '%.40s'", e->string);
            }
            if (!cJSON_IsBool(e)) {
                return event_fail(f, "invalid_type",
                                  "field 'consent' value of '%s' must be a boolean", e->string);
            }
            *slot = cJSON_IsTrue(e) ? 1 : 0;
        }
    } else {
        return event_fail(f, "invalid_type", "field 'consent' must be an array or an object");
    }
    c->specified = 1;
    return 0;
}
