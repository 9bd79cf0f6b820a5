#ifndef COLLECTOR_EVENT_H
#define COLLECTOR_EVENT_H

/*
 * Parsing and validation of the collector's JSON input into raw protobuf
 * events. Pure logic: no I/O, no clock (the receive time comes in).
 *
 * Input is one event object, or {"events":[...], "historical": bool}.
 * Field rules (DESIGN.md "An event on the wire"):
 *   event_id      optional string, 1..max_id_len of [A-Za-z0-9._:-]; assigned (UUID v4) when absent
 *   event_type    required string, 1..max_type_len of [A-Za-z0-9._:-]
 *   fingerprint   required string, 1..max_id_len, printable, no control characters
 *   user_id       optional string or null, <= max_id_len
 *   session_id    optional string or null, <= max_id_len
 *   timestamp     optional: integer ms since the epoch, or an ISO-8601 string;
 *                 required when the batch is historical
 *   page_url, referrer_url  optional string or null, <= max_url_len
 *   event_data    optional object: <= max_depth levels, <= max_props keys in
 *                 all, strings <= max_string_len
 *   consent       optional: array of "necessary"/"analytics"/"marketing", or an
 *                 object of those keys to booleans
 * Unknown top-level fields are ignored (but see the rules for the whole body).
 *
 * Rules for the whole body, wherever in it (unknown fields included):
 *   - arrays and objects nest at most max_nesting levels, checked on the raw
 *     text before cJSON (which recurses) sees it: deeper is a whole-request
 *     error "too_deep: ...";
 *   - no string (key or value) holds a NUL, raw or written \u0000;
 *   - no object has the same key twice (after decoding escapes, so
 *     "page_\u0075rl" is "page_url");
 *   - every number fits PostgreSQL's numeric, which jsonb stores: at most
 *     131072 digits before the decimal point and 16383 after, once the
 *     exponent is applied (1e-20000, 1e131072 and 0e-16384 do not fit);
 *     numbers in event_data must also be finite as a double (1e400 is not).
 * A breach inside one event of a batch rejects that event (codes
 * invalid_value, duplicate_key); one outside the events (the batch's own
 * members) fails the whole request, its message starting with the code.
 *
 * Event time (the client's timestamp when historical or within
 * max_skew_ms, else the receive time) must be on a UTC day the store keeps:
 * not before retention_days days before the receive day (code expired), not
 * after future_days days after it (code future): the journey-builder's rule.
 */

#include <stdbool.h>
#include <stddef.h>

#include "analytics/v1/raw_event.pb-c.h"

struct event_limits {
    size_t max_batch;         /* events per request, default 500 */
    size_t max_id_len;        /* event_id, fingerprint, user_id, session_id: 128 */
    size_t max_type_len;      /* event_type: 64 */
    size_t max_url_len;       /* page_url, referrer_url: 4096 */
    size_t max_string_len;    /* any string inside event_data: 2048 */
    size_t max_props;         /* keys in event_data, nested ones included: 100 */
    size_t max_depth;         /* nesting levels of event_data (the object itself is 1): 5 */
    long long max_skew_ms;    /* client clock tolerance before clock_skew_suspect: 24 h */
    size_t max_nesting;       /* array/object levels of the whole body (the body itself is 1):
                                 32; at most EVENT_NESTING_MAX, 0 means EVENT_NESTING_MAX */
    long long retention_days; /* days of events the store keeps: 400; 0 means no bound */
    long long future_days;    /* days ahead of the receive day accepted: 2; < 0 means no bound */
};

/* The hard bound on max_nesting: cJSON, cJSON_Delete and the validators
 * recurse once per level on a worker thread's stack. */
#define EVENT_NESTING_MAX 64

/* Fills l with the defaults above. */
void event_limits_default(struct event_limits *l);

/* What the collector knows about the request. All strings borrowed for the
 * call; the parsed events copy nothing from here (they point to them), so
 * keep them alive until the batch is finished with. NULL means unknown. */
struct event_request {
    long long received_ms;
    const char *client_ip;
    const char *user_agent;
    const char *origin;
    const char *site_id;
    const char *collector_id;
};

struct event_rejection {
    size_t index;     /* position in the batch (0 for a single event) */
    char error[192];  /* e.g. "field 'fingerprint' must be a string" */
    const char *code; /* stable code: invalid_field, missing_field, too_long, ... */
    char *original;   /* the event as compact JSON (heap, owned by the batch) */
    const char
        *fingerprint; /* borrowed from the batch when the event had a string one, else NULL */
};

struct event_batch {
    Analytics__V1__RawEvent *events; /* n_events valid events, in input order */
    size_t n_events;
    struct event_rejection *rejected; /* n_rejected, in input order */
    size_t n_rejected;
    size_t total; /* events in the input */
    bool historical;
    void *priv; /* the parse tree and buffers the events point into */
};

/* Parses and validates body (len bytes, need not be NUL-terminated) into
 * batch. Returns 0 when the body is a well-formed event or batch: bad events
 * are then listed in batch->rejected and the good ones in batch->events.
 * Returns -1 when the whole request is unusable (invalid UTF-8, malformed
 * JSON, nesting beyond max_nesting, a NUL, duplicate key or unstorable
 * number outside the events, not an object, "events" not an array, an
 * empty batch or more than max_batch events), with the reason in err; batch
 * is then empty. When req->received_ms is 0 or less (unknown), the
 * retention and future bounds are not applied.
 * In both cases release with event_batch_fini. The events' strings point
 * into the batch and into req: valid until event_batch_fini. */
int event_batch_parse(const char *body, size_t len, const struct event_limits *lim,
                      const struct event_request *req, struct event_batch *batch, char *err,
                      size_t errlen);

/* Frees everything the batch owns and zeroes it. Accepts a zeroed batch. */
void event_batch_fini(struct event_batch *batch);

#endif
