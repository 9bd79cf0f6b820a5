#ifndef COLLECTOR_EVENT_PRIV_H
#define COLLECTOR_EVENT_PRIV_H

/*
 * What the files of the wire-format parser share (event.c: one event and
 * the batch; event_field.c: the fields; event_scan.c: the raw-text scan,
 * duplicate keys, numbers). Not for anyone else: the contract is event.h.
 */

#include "event.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

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

enum event_charset {
    EVENT_CS_TOKEN, /* [A-Za-z0-9._:-] */
    EVENT_CS_TEXT,  /* anything but control characters */
};

/* The names of the fields, by enum event_field. */
struct event_field_name {
    const char *name;
    size_t len;
};
extern const struct event_field_name event_field_table[EVENT_F_COUNT];

/* What the scanner found besides the spans. */
struct event_scan_result {
    size_t data_bytes;      /* room the minified event_data texts need: lengths plus one NUL each */
    unsigned char body_bad; /* an enum event_bad outside every event, the first one */
    size_t body_bad_at;     /* its offset in the body */
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

/* Records why an event is rejected; returns -1 so callers can return it. */
int event_fail(struct event_fail *f, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Returns the event_field named k[0..n), or -1. */
int event_field_index(const char *k, size_t n);

/* A protobuf-c string field for s: protobuf-c wants "" rather than NULL. */
char *event_pb_str(const char *s);

/* Checks the string field it (NULL when absent). On success *out is the
 * string, or NULL when absent or null and not required. Returns 0 or -1. */
int event_check_string(const cJSON *it, enum event_field field, bool required, size_t maxlen,
                       enum event_charset cs, const char **out, struct event_fail *f);

/* Checks the timestamp field. Returns 1 with *ms when present, 0 when absent
 * (allowed unless historical), -1 when invalid. */
int event_check_timestamp(const cJSON *it, bool historical, long long *ms, struct event_fail *f);

/* True when a live (not historical) event's client time is further from
 * the receive time than the tolerance: it is then kept at the receive time
 * downstream (enrich_event_time). */
bool event_skew_suspect(const struct event_limits *lim, bool historical, long long received_ms,
                        long long client_ms);

/* Checks that the time the event will be stored at (its client time ts_ms
 * when present and believed, else the receive time now_ms) is on a day the
 * store keeps: the journey-builder dead-letters older than retention_days
 * before today as expired and later than future_days after it as future.
 * now_ms <= 0 (unknown) skips the check. Returns 0 or -1 with f set. */
int event_check_age(const struct event_limits *lim, bool historical, long long now_ms,
                    bool ts_present, long long ts_ms, struct event_fail *f);

/* Checks event_data (NULL when absent). Returns 0 or -1. */
int event_check_event_data(const cJSON *it, const struct event_limits *lim, struct event_fail *f);

/* Fills c (already initialised) from consent (NULL when absent). Returns 0 or -1. */
int event_check_consent(const cJSON *it, Analytics__V1__Consent *c, struct event_fail *f);

/* The key of member c, "" when it has none. */
const char *event_key(const cJSON *c);

/* Finds a key that appears twice among the members of the object obj (keys
 * as cJSON decoded them). Small objects are compared pairwise, larger ones
 * sorted. Returns 1 with the key in *dup (borrowed from the tree), 0 when
 * every key is unique, -1 when out of memory. */
int event_dup_in_object(const cJSON *obj, const char **dup);

/* Looks for a key twice in one object anywhere in node (an object, array or
 * scalar), leaving out the member skip (NULL for none) and what is under it.
 * Recurses once per level: the nesting check bounds the depth before cJSON
 * builds the tree. Returns 1 with the key in *dup, 0 when none, -1 when out
 * of memory. */
int event_find_dup(const cJSON *node, const cJSON *skip, const char **dup);

/* Scans body (accepted by cJSON, an object on top, whose member at index
 * events_ord is the events array, SIZE_MAX for a single event) into
 * spans[0..total) (zeroed) and *out. */
void event_scan(const char *body, size_t len, size_t events_ord, struct event_span *spans,
                size_t total, struct event_scan_result *out);

/* Returns event_data of the event at index as compact JSON in the batch's
 * memory, or NULL when out of memory. data is a non-empty object at member
 * position data_ord of the event. */
const char *event_data_json(struct event_ctx *ctx, const cJSON *data, size_t data_ord,
                            size_t index);

#endif
