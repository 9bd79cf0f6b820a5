#include "analytics/event.h"
#include "analytics/textcheck.h"
#include "analytics/errbuf.h"
#include "analytics/utf8.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <uuid/uuid.h>

#define EVENT_TS_MAX_MS 4102444800000LL /* 2100-01-01T00:00:00Z, exclusive */
#define EVENT_UUID_LEN 37               /* 36 characters and the NUL */
#define EVENT_SCAN_LEVELS 3             /* levels the raw-text scanner keeps track of */
#define EVENT_ID_POOL 32                /* random UUIDs fetched per getrandom call */
#define EVENT_DAY_MS 86400000LL
#define EVENT_SMALL_OBJECT 16 /* members compared pairwise for duplicates; more are sorted */

/* The event fields we read; anything else at the top of an event is ignored. */
enum event_field {
    EVENT_F_EVENT_ID,
    EVENT_F_EVENT_TYPE,
    EVENT_F_FINGERPRINT,
    EVENT_F_USER_ID,
    EVENT_F_SESSION_ID,
    EVENT_F_TIMESTAMP,
    EVENT_F_PAGE_URL,
    EVENT_F_REFERRER_URL,
    EVENT_F_EVENT_DATA,
    EVENT_F_CONSENT,
    EVENT_F_COUNT
};

/* clang-format off */
#define EVENT_FIELD(name) {(name), sizeof(name) - 1}
/* clang-format on */

static const struct {
    const char *name;
    size_t len;
} event_field_table[EVENT_F_COUNT] = {
    EVENT_FIELD("event_id"), EVENT_FIELD("event_type"),   EVENT_FIELD("fingerprint"),
    EVENT_FIELD("user_id"),  EVENT_FIELD("session_id"),   EVENT_FIELD("timestamp"),
    EVENT_FIELD("page_url"), EVENT_FIELD("referrer_url"), EVENT_FIELD("event_data"),
    EVENT_FIELD("consent"),
};

/* What the raw-text scanner can find wrong in a string or a number. */
enum event_bad {
    EVENT_BAD_NONE,
    EVENT_BAD_NUL,    /* a \u0000 escape, which cJSON decodes into a NUL that cuts the string */
    EVENT_BAD_NUMBER, /* a number PostgreSQL's numeric refuses */
};

/* Where the raw-text scanner found things in one event (see event_scan). */
struct event_span {
    size_t data_start; /* the first "event_data" object: body[data_start..data_end) */
    size_t data_end;
    size_t data_ord;   /* its position among the event's members */
    bool has_data;     /* data_* are set */
    unsigned char bad; /* the first enum event_bad found in the event */
    size_t bad_ord;    /* the member it was in, SIZE_MAX when not in a member */
};

/* What a batch owns besides the arrays in struct event_batch. */
struct event_priv {
    cJSON *root;                      /* the parse tree the events point into */
    Analytics__V1__Consent *consents; /* one per valid event */
    char **owned;                     /* per input index: cJSON-printed event_data, or NULL */
    struct event_span *spans;         /* per input index, NULL when the scan is unusable */
    char *data_buf;                   /* minified event_data texts, NUL-separated */
    size_t data_cap, data_used;
    char (*ids)[EVENT_UUID_LEN];            /* assigned event ids, allocated on first use */
    size_t n_ids;                           /* used entries of ids */
    unsigned char pool[EVENT_ID_POOL * 16]; /* random bytes for ids */
    size_t pool_len, pool_pos;
    size_t cap_rejected; /* capacity of batch->rejected */
};

/* Why one event was rejected. */
struct event_fail {
    const char *code;
    char msg[sizeof(((struct event_rejection *)0)->error)];
};

/* Everything one call of event_batch_parse works with. */
struct event_ctx {
    const struct event_limits *lim;
    const struct event_request *req;
    const char *body;
    struct event_batch *batch;
    struct event_priv *priv;
};

void event_limits_default(struct event_limits *l)
{
    l->max_batch = 500;
    l->max_id_len = 128;
    l->max_type_len = 64;
    l->max_url_len = 4096;
    l->max_string_len = 2048;
    l->max_props = 100;
    l->max_depth = 5;
    l->max_skew_ms = 86400000LL;
    l->max_nesting = 32;
    l->retention_days = 400;
    l->future_days = 2;
}

/* ---- small helpers ---- */

/* Records why an event is rejected; returns -1 so callers can return it. */
static int event_fail(struct event_fail *f, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int event_fail(struct event_fail *f, const char *code, const char *fmt, ...)
{
    va_list ap;

    f->code = code;
    va_start(ap, fmt);
    vsnprintf(f->msg, sizeof(f->msg), fmt, ap);
    va_end(ap);
    return -1;
}

/* Returns the event_field named k[0..n), or -1. */
static int event_field_index(const char *k, size_t n)
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
static char *event_pb_str(const char *s)
{
    return (char *)(s != NULL ? s : protobuf_c_empty_string);
}

/* ---- field validation ---- */

enum event_charset {
    EVENT_CS_TOKEN, /* [A-Za-z0-9._:-] */
    EVENT_CS_TEXT,  /* anything but control characters */
};

/* Checks the string field it (NULL when absent). On success *out is the
 * string, or NULL when absent or null and not required. Returns 0 or -1. */
static int event_check_string(const cJSON *it, enum event_field field, bool required, size_t maxlen,
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
static int event_check_timestamp(const cJSON *it, bool historical, long long *ms,
                                 struct event_fail *f)
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
static bool event_skew_suspect(const struct event_limits *lim, bool historical,
                               long long received_ms, long long client_ms)
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
static int event_check_age(const struct event_limits *lim, bool historical, long long now_ms,
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
static int event_check_event_data(const cJSON *it, const struct event_limits *lim,
                                  struct event_fail *f)
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
static int event_check_consent(const cJSON *it, Analytics__V1__Consent *c, struct event_fail *f)
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

/* ---- duplicate keys ---- */

static int event_key_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The key of member c, "" when it has none. */
static const char *event_key(const cJSON *c)
{
    return c->string != NULL ? c->string : "";
}

/* Finds a key that appears twice among the members of the object obj (keys
 * as cJSON decoded them). Small objects are compared pairwise, larger ones
 * sorted. Returns 1 with the key in *dup (borrowed from the tree), 0 when
 * every key is unique, -1 when out of memory. */
static int event_dup_in_object(const cJSON *obj, const char **dup)
{
    const char **keys;
    size_t n = 0, k = 0;
    int rc = 0;

    for (const cJSON *c = obj->child; c != NULL; c = c->next) {
        n++;
    }
    if (n <= EVENT_SMALL_OBJECT) {
        for (const cJSON *c = obj->child; c != NULL; c = c->next) {
            const char *kc = event_key(c);

            for (const cJSON *d = c->next; d != NULL; d = d->next) {
                const char *kd = event_key(d);

                if (kc[0] == kd[0] && strcmp(kc, kd) == 0) {
                    *dup = event_key(c);
                    return 1;
                }
            }
        }
        return 0;
    }
    keys = malloc(n * sizeof(*keys));
    if (keys == NULL) {
        return -1;
    }
    for (const cJSON *c = obj->child; c != NULL; c = c->next) {
        keys[k++] = event_key(c);
    }
    qsort(keys, n, sizeof(*keys), event_key_cmp);
    for (k = 1; k < n && rc == 0; k++) {
        if (strcmp(keys[k - 1], keys[k]) == 0) {
            *dup = keys[k];
            rc = 1;
        }
    }
    free(keys);
    return rc;
}

/* Looks for a key twice in one object anywhere in node (an object, array or
 * scalar), leaving out the member skip (NULL for none) and what is under it.
 * Recurses once per level: the nesting check bounds the depth before cJSON
 * builds the tree. Returns 1 with the key in *dup, 0 when none, -1 when out
 * of memory. */
static int event_find_dup(const cJSON *node, const cJSON *skip, const char **dup)
{
    int rc = 0;

    if (cJSON_IsObject(node)) {
        rc = event_dup_in_object(node, dup);
    }
    for (const cJSON *c = node->child; c != NULL && rc == 0; c = c->next) {
        if (c != skip && c->child != NULL) {
            rc = event_find_dup(c, NULL, dup);
        }
    }
    return rc;
}

/* ---- the raw-text scanner ----
 *
 * cJSON keeps no positions and rewrites what it prints (numbers go through a
 * double, so 2^53 + 1 loses its last digit). So one linear pass over the raw
 * body, after cJSON has accepted it, finds per event:
 *  - the raw text of its first "event_data" object, which becomes
 *    event_data_json once whitespace is dropped (exact, and faster than
 *    printing the tree);
 *  - the first string holding a \u0000 escape (which cJSON decodes into a NUL
 *    that silently cuts the string short) or number PostgreSQL's numeric
 *    refuses, anywhere in the event, keys included; outside the events such
 *    a string or number is noted for the whole body.
 * Events are found by position: the member of the body that the tree says is
 * "events", then its elements, counted by commas, so escaped keys do not
 * matter. "event_data" is matched by its raw text: a key written with
 * escapes ("\u0065vent_data") is not recognised, and its position is checked
 * against the tree before a span is used, so a mismatch only means falling
 * back to cJSON_PrintUnformatted. */

/* What the scanner found besides the spans. */
struct event_scan_result {
    size_t data_bytes;      /* room the minified event_data texts need: lengths plus one NUL each */
    unsigned char body_bad; /* an enum event_bad outside every event, the first one */
    size_t body_bad_at;     /* its offset in the body */
};

static inline size_t event_number_run_exp(const char *s, size_t n, bool *has_exp);

/* One open container, as the scanner sees it. */
struct event_scan_level {
    bool is_obj;
    bool expect_key;
    size_t idx;      /* element index of an array, member index of an object */
    const char *key; /* an object's current raw key */
    size_t key_len;
};

/* The scanner's state. */
struct event_scanner {
    const char *body;
    size_t ev_level; /* depth of an event object: 1 for a single event, 3 in a batch */
    bool is_batch;
    struct event_scan_level lv[EVENT_SCAN_LEVELS + 1]; /* by depth, 1-based */
    size_t depth;
    bool in_events; /* the depth-2 container is the events array */
    struct event_span *spans;
    size_t total;
    struct event_span *cur; /* the event object being scanned, or NULL */
    size_t data_keys;       /* raw "event_data" keys seen in cur */
    bool capturing;         /* inside cur's event_data object */
    size_t events_ord;      /* member index of "events" in the body (from the tree), or SIZE_MAX */
    struct event_scan_result *out;
};

static bool event_raw_key_is(const struct event_scan_level *l, const char *name, size_t n)
{
    return l->key != NULL && l->key_len == n && memcmp(l->key, name, n) == 0;
}

/* Notes a bad string or number at body offset at: in the event the scanner
 * is inside (the first one found there), else for the whole body. */
static void event_scan_note(struct event_scanner *sc, enum event_bad bad, size_t at)
{
    size_t idx = SIZE_MAX;

    if (!sc->is_batch && sc->depth >= 1) {
        idx = 0;
    } else if (sc->is_batch && sc->in_events && sc->depth >= 2) {
        idx = sc->lv[2].idx;
    }
    if (idx < sc->total) {
        struct event_span *sp = &sc->spans[idx];

        if (sp->bad == EVENT_BAD_NONE) {
            sp->bad = (unsigned char)bad;
            sp->bad_ord = sc->depth >= sc->ev_level ? sc->lv[sc->ev_level].idx : SIZE_MAX;
        }
    } else if (sc->out->body_bad == EVENT_BAD_NONE) {
        sc->out->body_bad = (unsigned char)bad;
        sc->out->body_bad_at = at;
    }
}

/* Notes a string that ends at *p (the closing quote), holds a \u0000 escape
 * when nul, and started at s. */
static void event_scan_string(struct event_scanner *sc, const char *s, const char *p, bool nul)
{
    size_t d = sc->depth;
    struct event_scan_level *l = d >= 1 && d <= EVENT_SCAN_LEVELS ? &sc->lv[d] : NULL;

    if (l != NULL && l->is_obj && l->expect_key) {
        l->key = s;
        l->key_len = (size_t)(p - s);
        l->expect_key = false;
        if (d == sc->ev_level && sc->cur != NULL && event_raw_key_is(l, "event_data", 10)) {
            sc->data_keys++;
        }
    }
    if (nul) {
        event_scan_note(sc, EVENT_BAD_NUL, (size_t)(s - 1 - sc->body));
    }
}

/* Handles '{' or '[' at p. */
static void event_scan_open(struct event_scanner *sc, const char *p)
{
    size_t e = sc->ev_level;
    struct event_scan_level *l;

    if (sc->depth == e && sc->cur != NULL && *p == '{' && sc->data_keys == 1 &&
        event_raw_key_is(&sc->lv[e], "event_data", 10) && !sc->cur->has_data) {
        sc->cur->data_start = (size_t)(p - sc->body);
        sc->cur->data_ord = sc->lv[e].idx;
        sc->capturing = true;
    }
    sc->depth++;
    if (sc->depth > EVENT_SCAN_LEVELS) {
        return;
    }
    l = &sc->lv[sc->depth];
    l->is_obj = *p == '{';
    l->expect_key = l->is_obj;
    l->idx = 0;
    l->key = NULL;
    l->key_len = 0;
    if (sc->depth == 2) {
        sc->in_events = sc->is_batch && *p == '[' && sc->lv[1].idx == sc->events_ord;
    }
    if (sc->depth == e) {
        size_t idx = sc->is_batch ? sc->lv[2].idx : 0;

        sc->cur = NULL;
        if (l->is_obj && (!sc->is_batch || sc->in_events) && idx < sc->total) {
            sc->cur = &sc->spans[idx];
            sc->data_keys = 0;
        }
    }
}

/* Handles '}' or ']' at p. */
static void event_scan_close(struct event_scanner *sc, const char *p)
{
    if (sc->depth == 0) {
        return;
    }
    if (sc->capturing && sc->depth == sc->ev_level + 1) {
        sc->cur->data_end = (size_t)(p + 1 - sc->body);
        sc->cur->has_data = true;
        sc->capturing = false;
        sc->out->data_bytes += sc->cur->data_end - sc->cur->data_start + 1;
    }
    if (sc->depth == sc->ev_level) {
        sc->cur = NULL;
    }
    sc->depth--;
}

/* Scans body (accepted by cJSON, an object on top, whose member at index
 * events_ord is the events array, SIZE_MAX for a single event) into
 * spans[0..total) (zeroed) and *out. */
static void event_scan(const char *body, size_t len, size_t events_ord, struct event_span *spans,
                       size_t total, struct event_scan_result *out)
{
    struct event_scanner sc;
    const char *p = body, *end = body + len;

    memset(&sc, 0, sizeof(sc));
    memset(out, 0, sizeof(*out));
    sc.body = body;
    sc.is_batch = events_ord != SIZE_MAX;
    sc.ev_level = sc.is_batch ? 3 : 1;
    sc.spans = spans;
    sc.total = total;
    sc.events_ord = events_ord;
    sc.out = out;
    while (p < end) {
        char c = *p;

        if (c == '"') {
            const char *s = ++p;
            bool nul = false;

            while (p < end && *p != '"') {
                if (*p == '\\') {
                    if (end - p >= 6 && memcmp(p + 1, "u0000", 5) == 0) {
                        nul = true;
                    }
                    p += end - p >= 2 ? 2 : 1;
                } else {
                    p++;
                }
            }
            event_scan_string(&sc, s, p, nul);
        } else if (c == '{' || c == '[') {
            event_scan_open(&sc, p);
        } else if (c == '}' || c == ']') {
            event_scan_close(&sc, p);
        } else if (c == ',' && sc.depth >= 1 && sc.depth <= EVENT_SCAN_LEVELS) {
            sc.lv[sc.depth].idx++;
            sc.lv[sc.depth].expect_key = sc.lv[sc.depth].is_obj;
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            bool has_exp = false;
            size_t k = event_number_run_exp(p, (size_t)(end - p), &has_exp);

            /* without an exponent, fewer digits than numeric's scale always fit */
            if ((has_exp || k > TEXTCHECK_PG_MAX_DSCALE) && !textcheck_numeric(p, k)) {
                event_scan_note(&sc, EVENT_BAD_NUMBER, (size_t)(p - body));
            }
            p += k - 1;
        }
        p++;
    }
}

/* Length of the run of number characters cJSON collects at s[0..n); sets
 * *has_exp when it holds an e or E. */
static inline size_t event_number_run_exp(const char *s, size_t n, bool *has_exp)
{
    size_t i = 0;

    for (; i < n; i++) {
        char c = s[i];

        if (c == 'e' || c == 'E') {
            *has_exp = true;
        } else if (!((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.')) {
            break;
        }
    }
    return i;
}

/* Length of the run of number characters cJSON collects at s[0..n). */
static size_t event_number_run(const char *s, size_t n)
{
    bool has_exp = false;

    return event_number_run_exp(s, n, &has_exp);
}

/* True when s[0..n) is a number as RFC 8259 writes it (cJSON takes more: +1, .5, 01). */
static bool event_json_number(const char *s, size_t n)
{
    size_t i = 0, k;

    if (i < n && s[i] == '-') {
        i++;
    }
    if (i < n && s[i] == '0') {
        i++;
    } else {
        for (k = i; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
        }
        if (i == k) {
            return false;
        }
    }
    if (i < n && s[i] == '.') {
        for (k = ++i; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
        }
        if (i == k) {
            return false;
        }
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) {
            i++;
        }
        for (k = i; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
        }
        if (i == k) {
            return false;
        }
    }
    return i == n;
}

/* Copies the JSON text in[0..n) to out (room for n + 1) without whitespace
 * and NUL-terminates it. Returns 0, or -1 when the text is not strict JSON
 * (a raw control character in a string, a number such as +1 or .5 that cJSON
 * accepts): then cJSON must print it instead. */
static int event_minify(const char *in, size_t n, char *out)
{
    size_t i = 0, o = 0;

    while (i < n) {
        unsigned char c = (unsigned char)in[i];

        if (c <= ' ') { /* cJSON's whitespace */
            i++;
        } else if (c == '"') {
            out[o++] = in[i++];
            while (i < n && in[i] != '"') {
                if ((unsigned char)in[i] < 0x20) {
                    return -1;
                }
                if (in[i] == '\\' && i + 1 < n) {
                    out[o++] = in[i++];
                }
                out[o++] = in[i++];
            }
            if (i < n) {
                out[o++] = in[i++];
            }
        } else if (c == '-' || c == '+' || c == '.' || (c >= '0' && c <= '9')) {
            size_t k = event_number_run(in + i, n - i);

            if (!event_json_number(in + i, k)) {
                return -1;
            }
            memcpy(out + o, in + i, k);
            o += k;
            i += k;
        } else {
            out[o++] = in[i++];
        }
    }
    out[o] = '\0';
    return 0;
}

/* Returns event_data of the event at index as compact JSON in the batch's
 * memory, or NULL when out of memory. data is a non-empty object at member
 * position data_ord of the event. */
static const char *event_data_json(struct event_ctx *ctx, const cJSON *data, size_t data_ord,
                                   size_t index)
{
    struct event_priv *priv = ctx->priv;
    const struct event_span *sp = priv->spans != NULL ? &priv->spans[index] : NULL;

    if (sp != NULL && sp->has_data && sp->data_ord == data_ord) {
        size_t n = sp->data_end - sp->data_start;

        if (priv->data_buf == NULL) {
            priv->data_buf = malloc(priv->data_cap);
            if (priv->data_buf == NULL) {
                return NULL;
            }
        }
        if (n + 1 <= priv->data_cap - priv->data_used &&
            event_minify(ctx->body + sp->data_start, n, priv->data_buf + priv->data_used) == 0) {
            char *out = priv->data_buf + priv->data_used;

            priv->data_used += strlen(out) + 1;
            return out;
        }
    }
    priv->owned[index] = cJSON_PrintUnformatted(data);
    return priv->owned[index];
}

/* ---- one event ---- */

/* Appends a rejection for the event item at index. Returns 0, or -1 when out of memory. */
static int event_reject(struct event_ctx *ctx, const cJSON *item, size_t index,
                        const struct event_fail *f)
{
    struct event_batch *b = ctx->batch;
    struct event_rejection *r;
    const cJSON *fp;
    char *original;

    if (b->rejected == NULL) {
        size_t cap = b->total - index;

        b->rejected = malloc(cap * sizeof(*b->rejected));
        if (b->rejected == NULL) {
            return -1;
        }
        ctx->priv->cap_rejected = cap;
    }
    if (b->n_rejected >= ctx->priv->cap_rejected) {
        return -1; /* cannot happen: one rejection per remaining event at most */
    }
    original = cJSON_PrintUnformatted(item);
    if (original == NULL) {
        return -1;
    }
    r = &b->rejected[b->n_rejected++];
    r->index = index;
    memcpy(r->error, f->msg, sizeof(r->error));
    r->code = f->code;
    r->original = original;
    r->fingerprint = NULL;
    fp = cJSON_IsObject(item) ? cJSON_GetObjectItemCaseSensitive(item, "fingerprint") : NULL;
    if (fp != NULL && cJSON_IsString(fp)) {
        r->fingerprint = fp->valuestring;
    }
    return 0;
}

/* Fills the batch's pool with random bytes for up to want ids. Returns 0 or -1. */
static int event_fill_pool(struct event_priv *priv, size_t want)
{
    size_t n = (want < EVENT_ID_POOL ? want : EVENT_ID_POOL) * 16, got = 0;

    while (got < n) {
        ssize_t r = getrandom(priv->pool + got, n - got, 0);

        if (r == -1 && errno == EINTR) {
            continue;
        }
        if (r == -1) {
            return -1;
        }
        got += (size_t)r;
    }
    priv->pool_len = n;
    priv->pool_pos = 0;
    return 0;
}

/* Returns a new random (version 4) event id for the event at index, in the
 * batch's memory, or NULL when out of memory. The random bytes come from one
 * getrandom() call per EVENT_ID_POOL ids: libuuid's uuid_generate_random costs
 * three system calls per id and reseeds the process's random(). */
static const char *event_new_id(struct event_ctx *ctx, size_t index)
{
    struct event_priv *priv = ctx->priv;
    uuid_t u = {0};
    char *id;

    if (priv->ids == NULL) {
        priv->ids = malloc((ctx->batch->total - index) * sizeof(*priv->ids));
        if (priv->ids == NULL) {
            return NULL;
        }
    }
    id = priv->ids[priv->n_ids++];
    if (priv->pool_pos < priv->pool_len || event_fill_pool(priv, ctx->batch->total - index) == 0) {
        memcpy(u, priv->pool + priv->pool_pos, sizeof(u));
        priv->pool_pos += sizeof(u);
        u[6] = (unsigned char)((u[6] & 0x0F) | 0x40); /* version 4 */
        u[8] = (unsigned char)((u[8] & 0x3F) | 0x80); /* RFC 4122 variant */
    } else {
        uuid_generate_random(u);
    }
    uuid_unparse_lower(u, id);
    return id;
}

/* The validated fields of one event. */
struct event_fields {
    const char *str[EVENT_F_COUNT]; /* string fields, NULL when absent */
    long long ts_ms;
    bool ts_present;
    const cJSON *data; /* event_data, NULL when absent or null */
    size_t data_ord;   /* its position among the event's members */
    Analytics__V1__Consent consent;
};

/* The key of the member of obj at position ord, or NULL (ord SIZE_MAX or beyond). */
static const char *event_member_name(const cJSON *obj, size_t ord)
{
    const cJSON *c = obj->child;

    for (size_t i = 0; c != NULL && i < ord; i++) {
        c = c->next;
    }
    return ord != SIZE_MAX && c != NULL ? c->string : NULL;
}

/* Rejects the event for what the scanner found bad in it (sp->bad set).
 * Returns -1 with f set. */
static int event_fail_span(const cJSON *obj, const struct event_span *sp, struct event_fail *f)
{
    const char *name = event_member_name(obj, sp->bad_ord);
    char where[64];

    if (name != NULL) {
        snprintf(where, sizeof(where), "field '%.40s'", name);
    } else {
        snprintf(where, sizeof(where), "the event");
    }
    if (sp->bad == EVENT_BAD_NUL) {
        return event_fail(f, "invalid_value", "%s contains a NUL character (\\u0000)", where);
    }
    return event_fail(f, "invalid_value",
                      "%s has a number PostgreSQL's numeric cannot hold (over 131072 digits "
                      "before the point or 16383 after)",
                      where);
}

/* Rejects the event obj when an object in it has a key twice. The caller
 * has matched obj's own keys to the known fields: known_dup is a known field
 * seen twice (or NULL), n_unknown the members that are no known field (a
 * known field never equals one of those). Returns 0, -1 with f set, or -2
 * when out of memory. */
static int event_check_dups(const cJSON *obj, const char *known_dup, size_t n_unknown,
                            struct event_fail *f)
{
    const char *dup = known_dup;
    int rc = dup != NULL ? 1 : n_unknown >= 2 ? event_dup_in_object(obj, &dup) : 0;

    if (rc > 0) {
        return event_fail(f, "duplicate_key", "field '%.40s' appears twice", dup);
    }
    for (const cJSON *c = obj->child; c != NULL && rc == 0; c = c->next) {
        if (c->child != NULL) {
            rc = event_find_dup(c, NULL, &dup);
            if (rc > 0) {
                return event_fail(f, "duplicate_key", "key '%.40s' appears twice in field '%.40s'",
                                  dup, event_key(c));
            }
        }
    }
    return rc < 0 ? -2 : 0;
}

/* Validates the fields of one event object into out. Returns 0, -1 with f
 * set, or -2 when out of memory. */
static int event_check_fields(struct event_ctx *ctx, const cJSON *obj, size_t index,
                              struct event_fields *out, struct event_fail *f)
{
    static const struct {
        enum event_field field;
        bool required;
        enum event_charset cs;
    } strings[] = {
        {EVENT_F_EVENT_TYPE, true, EVENT_CS_TOKEN},   {EVENT_F_FINGERPRINT, true, EVENT_CS_TEXT},
        {EVENT_F_EVENT_ID, false, EVENT_CS_TOKEN},    {EVENT_F_USER_ID, false, EVENT_CS_TEXT},
        {EVENT_F_SESSION_ID, false, EVENT_CS_TEXT},   {EVENT_F_PAGE_URL, false, EVENT_CS_TEXT},
        {EVENT_F_REFERRER_URL, false, EVENT_CS_TEXT},
    };
    const struct event_limits *lim = ctx->lim;
    const struct event_span *sp = ctx->priv->spans != NULL ? &ctx->priv->spans[index] : NULL;
    const cJSON *slot[EVENT_F_COUNT] = {0};
    const char *known_dup = NULL;
    size_t ord = 0, n_unknown = 0;
    int rc;

    for (const cJSON *c = obj->child; c != NULL; c = c->next, ord++) {
        int i = c->string != NULL ? event_field_index(c->string, strlen(c->string)) : -1;

        if (i < 0) {
            n_unknown++;
        } else if (slot[i] == NULL) {
            slot[i] = c;
            if (i == EVENT_F_EVENT_DATA) {
                out->data_ord = ord;
            }
        } else if (known_dup == NULL) {
            known_dup = event_field_table[i].name; /* rejected below */
        }
    }
    if (sp != NULL && sp->bad != EVENT_BAD_NONE) {
        return event_fail_span(obj, sp, f);
    }
    rc = event_check_dups(obj, known_dup, n_unknown, f);
    if (rc != 0) {
        return rc;
    }
    for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
        enum event_field fld = strings[i].field;
        size_t maxlen = lim->max_id_len;

        if (fld == EVENT_F_EVENT_TYPE) {
            maxlen = lim->max_type_len;
        } else if (fld == EVENT_F_PAGE_URL || fld == EVENT_F_REFERRER_URL) {
            maxlen = lim->max_url_len;
        }
        if (event_check_string(slot[fld], fld, strings[i].required, maxlen, strings[i].cs,
                               &out->str[fld], f) != 0) {
            return -1;
        }
    }
    rc = event_check_timestamp(slot[EVENT_F_TIMESTAMP], ctx->batch->historical, &out->ts_ms, f);
    if (rc < 0) {
        return -1;
    }
    out->ts_present = rc == 1;
    if (event_check_age(lim, ctx->batch->historical, ctx->req->received_ms, out->ts_present,
                        out->ts_ms, f) != 0) {
        return -1;
    }
    if (event_check_event_data(slot[EVENT_F_EVENT_DATA], lim, f) != 0) {
        return -1;
    }
    out->data = slot[EVENT_F_EVENT_DATA];
    analytics__v1__consent__init(&out->consent);
    return event_check_consent(slot[EVENT_F_CONSENT], &out->consent, f);
}

/* Fills the next event of the batch from the validated fields. Returns 0, or
 * -1 when out of memory. */
static int event_emit(struct event_ctx *ctx, size_t index, const struct event_fields *in)
{
    struct event_batch *b = ctx->batch;
    struct event_priv *priv = ctx->priv;
    const struct event_request *req = ctx->req;
    Analytics__V1__RawEvent *ev = &b->events[b->n_events];
    Analytics__V1__Consent *consent = &priv->consents[b->n_events];
    const cJSON *data = in->data;
    const char *id = in->str[EVENT_F_EVENT_ID];
    const char *data_json = "{}";

    if (cJSON_IsObject(data) && data->child != NULL) {
        data_json = event_data_json(ctx, data, in->data_ord, index);
        if (data_json == NULL) {
            return -1;
        }
    }
    analytics__v1__raw_event__init(ev);
    if (id == NULL) {
        id = event_new_id(ctx, index);
        if (id == NULL) {
            return -1;
        }
        ev->event_id_assigned = 1;
    }
    *consent = in->consent;
    ev->schema_version = 1;
    ev->event_id = (char *)id;
    ev->event_type = event_pb_str(in->str[EVENT_F_EVENT_TYPE]);
    ev->fingerprint = event_pb_str(in->str[EVENT_F_FINGERPRINT]);
    ev->user_id = event_pb_str(in->str[EVENT_F_USER_ID]);
    ev->session_id = event_pb_str(in->str[EVENT_F_SESSION_ID]);
    ev->received_ts_ms = req->received_ms;
    ev->client_ts_ms = in->ts_present ? in->ts_ms : req->received_ms;
    ev->client_ts_present = in->ts_present;
    ev->clock_skew_ms = ev->received_ts_ms - ev->client_ts_ms;
    ev->clock_skew_suspect =
        event_skew_suspect(ctx->lim, b->historical, ev->received_ts_ms, ev->client_ts_ms);
    ev->page_url = event_pb_str(in->str[EVENT_F_PAGE_URL]);
    ev->referrer_url = event_pb_str(in->str[EVENT_F_REFERRER_URL]);
    ev->event_data_json = (char *)data_json;
    ev->consent = consent;
    ev->client_ip = event_pb_str(req->client_ip);
    ev->user_agent = event_pb_str(req->user_agent);
    ev->historical = b->historical;
    ev->origin = event_pb_str(req->origin);
    ev->site_id = event_pb_str(req->site_id);
    ev->collector_id = event_pb_str(req->collector_id);
    ev->batch_index = (uint32_t)index;
    b->n_events++;
    return 0;
}

/* Validates one event and adds it to the events or the rejections. Returns 0,
 * or -1 when out of memory. */
static int event_parse_one(struct event_ctx *ctx, const cJSON *item, size_t index)
{
    struct event_fields fields;
    struct event_fail f;
    int rc;

    if (!cJSON_IsObject(item)) {
        event_fail(&f, "invalid_type", "event must be a JSON object");
        return event_reject(ctx, item, index, &f);
    }
    memset(&fields, 0, sizeof(fields));
    rc = event_check_fields(ctx, item, index, &fields, &f);
    if (rc == -2) {
        return -1;
    }
    if (rc != 0) {
        return event_reject(ctx, item, index, &f);
    }
    return event_emit(ctx, index, &fields);
}

/* ---- the batch ---- */

/* Allocates the batch's arrays for total events. Returns 0 or -1. */
static int event_batch_alloc(struct event_batch *b, cJSON *root, size_t total)
{
    struct event_priv *priv = calloc(1, sizeof(*priv));

    if (priv == NULL) {
        return -1;
    }
    b->priv = priv;
    b->total = total;
    priv->root = root;
    b->events = malloc(total * sizeof(*b->events));
    priv->consents = malloc(total * sizeof(*priv->consents));
    priv->owned = calloc(total, sizeof(*priv->owned));
    priv->spans = calloc(total, sizeof(*priv->spans));
    if (b->events == NULL || priv->consents == NULL || priv->owned == NULL || priv->spans == NULL) {
        return -1;
    }
    return 0;
}

/* Parses body and checks the request's shape; on success *root is the tree,
 * *events the events array (NULL for a single event) and *total the count.
 * Nesting is bounded on the raw text before cJSON recurses into it; in a
 * batch, a key twice in an object outside the events fails the request. */
static int event_parse_body(const char *body, size_t len, const struct event_limits *lim,
                            cJSON **root_out, cJSON **events_out, bool *historical, size_t *total,
                            char *err, size_t errlen)
{
    const char *end = NULL, *nul, *dup = NULL;
    const cJSON *hist;
    cJSON *root, *events;
    size_t bad = 0, n = 0, pos;
    size_t max_nesting = lim->max_nesting == 0 || lim->max_nesting > EVENT_NESTING_MAX
                             ? EVENT_NESTING_MAX
                             : lim->max_nesting;
    int rc;

    if (len > 0 && body == NULL) {
        errbuf_printf(err, errlen, "no body");
        return -1;
    }
    if (len == 0) {
        errbuf_printf(err, errlen, "empty body");
        return -1;
    }
    if (utf8_check(body, len, &bad) != UTF8_VALID) {
        errbuf_printf(err, errlen, "invalid UTF-8 at byte %zu", bad);
        return -1;
    }
    nul = memchr(body, '\0', len);
    if (nul != NULL) {
        errbuf_printf(err, errlen, "malformed JSON: NUL byte at byte %zu", (size_t)(nul - body));
        return -1;
    }
    if (textcheck_nesting(body, len, max_nesting, &bad) != 0) {
        errbuf_printf(err, errlen,
                      "too_deep: arrays and objects nest deeper than %zu levels at byte %zu",
                      max_nesting, bad);
        return -1;
    }
    root = cJSON_ParseWithLengthOpts(body, len, &end, 0);
    if (root == NULL) {
        pos = end != NULL && end >= body ? (size_t)(end - body) : 0;
        errbuf_printf(err, errlen, "malformed JSON at byte %zu", pos);
        return -1;
    }
    pos = (size_t)(end - body);
    while (pos < len &&
           (body[pos] == ' ' || body[pos] == '\t' || body[pos] == '\n' || body[pos] == '\r')) {
        pos++;
    }
    if (pos < len) {
        errbuf_printf(err, errlen, "malformed JSON: unexpected data after the value at byte %zu",
                      pos);
        goto fail;
    }
    if (!cJSON_IsObject(root)) {
        errbuf_printf(err, errlen, "the body must be a JSON object");
        goto fail;
    }
    events = cJSON_GetObjectItemCaseSensitive(root, "events");
    rc = events != NULL ? event_find_dup(root, events, &dup) : 0;
    if (rc != 0) {
        if (rc > 0) {
            errbuf_printf(err, errlen, "duplicate_key: key '%.40s' appears twice in the batch",
                          dup);
        } else {
            errbuf_printf(err, errlen, "out of memory");
        }
        goto fail;
    }
    hist = cJSON_GetObjectItemCaseSensitive(root, "historical");
    if (hist != NULL && !cJSON_IsBool(hist)) {
        errbuf_printf(err, errlen, "field 'historical' must be a boolean");
        goto fail;
    }
    *historical = cJSON_IsTrue(hist);
    if (events != NULL) {
        if (!cJSON_IsArray(events)) {
            errbuf_printf(err, errlen, "field 'events' must be an array");
            goto fail;
        }
        for (const cJSON *c = events->child; c != NULL && n <= lim->max_batch; c = c->next) {
            n++;
        }
        if (n == 0) {
            errbuf_printf(err, errlen, "field 'events' is empty");
            goto fail;
        }
        if (n > lim->max_batch) {
            errbuf_printf(err, errlen, "more than %zu events in the batch", lim->max_batch);
            goto fail;
        }
    } else {
        n = 1;
    }
    *root_out = root;
    *events_out = events;
    *total = n;
    return 0;

fail:
    cJSON_Delete(root);
    return -1;
}

/* Runs the raw-text scanner over the body and sizes the buffer for the
 * minified event_data texts (allocated on first use). Returns 0, or -1 with
 * the reason in err when a string or number outside the events is bad. */
static int event_scan_body(struct event_ctx *ctx, const cJSON *root, const cJSON *events,
                           size_t len, char *err, size_t errlen)
{
    struct event_priv *priv = ctx->priv;
    struct event_scan_result res;
    size_t events_ord = SIZE_MAX;

    if (events != NULL) {
        events_ord = 0;
        for (const cJSON *c = root->child; c != NULL && c != events; c = c->next) {
            events_ord++;
        }
    }
    event_scan(ctx->body, len, events_ord, priv->spans, ctx->batch->total, &res);
    priv->data_cap = res.data_bytes;
    if (res.body_bad == EVENT_BAD_NUL) {
        errbuf_printf(err, errlen,
                      "invalid_value: a string holds a NUL character (\\u0000) at byte %zu",
                      res.body_bad_at);
        return -1;
    }
    if (res.body_bad == EVENT_BAD_NUMBER) {
        errbuf_printf(err, errlen,
                      "invalid_value: the number at byte %zu does not fit PostgreSQL's numeric "
                      "(over 131072 digits before the point or 16383 after)",
                      res.body_bad_at);
        return -1;
    }
    return 0;
}

int event_batch_parse(const char *body, size_t len, const struct event_limits *lim,
                      const struct event_request *req, struct event_batch *batch, char *err,
                      size_t errlen)
{
    static const struct event_request no_req;
    struct event_limits deflim;
    struct event_ctx ctx;
    cJSON *root = NULL, *events = NULL;
    const cJSON *item;
    bool historical = false;
    size_t total = 0, i;

    memset(batch, 0, sizeof(*batch));
    if (err != NULL && errlen > 0) {
        err[0] = '\0';
    }
    if (lim == NULL) {
        event_limits_default(&deflim);
        lim = &deflim;
    }
    if (event_parse_body(body, len, lim, &root, &events, &historical, &total, err, errlen) != 0) {
        return -1;
    }
    if (event_batch_alloc(batch, root, total) != 0) {
        if (batch->priv == NULL) {
            cJSON_Delete(root);
        }
        goto oom;
    }
    batch->historical = historical;
    ctx.lim = lim;
    ctx.req = req != NULL ? req : &no_req;
    ctx.batch = batch;
    ctx.priv = batch->priv;
    ctx.body = body;
    if (event_scan_body(&ctx, root, events, len, err, errlen) != 0) {
        event_batch_fini(batch);
        return -1;
    }
    item = events != NULL ? events->child : root;
    for (i = 0; i < total && item != NULL; i++, item = item->next) {
        if (event_parse_one(&ctx, item, i) != 0) {
            goto oom;
        }
    }
    return 0;

oom:
    event_batch_fini(batch);
    errbuf_printf(err, errlen, "out of memory");
    return -1;
}

void event_batch_fini(struct event_batch *batch)
{
    struct event_priv *priv;

    if (batch == NULL) {
        return;
    }
    priv = batch->priv;
    for (size_t i = 0; i < batch->n_rejected; i++) {
        cJSON_free(batch->rejected[i].original);
    }
    free(batch->rejected);
    free(batch->events);
    if (priv != NULL) {
        if (priv->owned != NULL) {
            for (size_t i = 0; i < batch->total; i++) {
                cJSON_free(priv->owned[i]);
            }
        }
        free(priv->owned);
        free(priv->consents);
        free(priv->ids);
        free(priv->spans);
        free(priv->data_buf);
        cJSON_Delete(priv->root);
        free(priv);
    }
    memset(batch, 0, sizeof(*batch));
}
