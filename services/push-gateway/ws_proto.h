#ifndef PUSH_GATEWAY_WS_PROTO_H
#define PUSH_GATEWAY_WS_PROTO_H

/*
 * The WebSocket control protocol of /api/analytics/ws: what a client may
 * send (one JSON object per text frame), parsed by a pure function, and the
 * server's replies, rendered into the caller's buffer. The stream itself
 * (message, lagged, resync) is rendered by hub.c.
 *
 * Client messages (keys not listed are ignored, so newer clients may add
 * some; filter keys are not, since an ignored one would widen the filter):
 *   {"type":"auth","token":"..."}                       first, and only once
 *   {"type":"subscribe","channel":"events","filter":{"country":"FR",...}}
 *       filter optional; keys event_type, page_type, country, fingerprint,
 *       values non-empty strings of at most HUB_VALUE_MAX bytes
 *   {"type":"unsubscribe","channel":"events"}           all of that channel
 *   {"type":"resume","instance":"<16 hex digits>","seq":N}
 *       N an integer 0..2^53-1 (what JSON numbers hold exactly)
 *   {"type":"ping"}
 * Server replies:
 *   {"type":"authenticated","instance":"<16 hex>","seq":<hub's seq now>}
 *   {"type":"subscribed","channel":"events"}
 *   {"type":"unsubscribed","channel":"events"}
 *   {"type":"pong"}
 *   {"type":"error","code":"<stable code>","message":"<for people>"}
 * The error messages never repeat the client's bytes.
 */

#include "hub.h"
#include "tokens.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WS_FRAME_MAX 4096 /* bytes of a control frame, by default */
#define WS_DEPTH_MAX 3    /* nesting: the message, its filter, one spare */
#define WS_REPLY_MAX 256  /* bytes a rendered reply may need, NUL included */

enum ws_type { WS_AUTH = 0, WS_SUBSCRIBE, WS_UNSUBSCRIBE, WS_RESUME, WS_PING };

/* Stable error codes; ws_err_code names them on the wire. */
enum ws_err {
    WS_OK = 0,
    WS_ERR_BAD_JSON,               /* "bad_json": not one JSON object, or a NUL byte */
    WS_ERR_TOO_DEEP,               /* "too_deep": nesting beyond WS_DEPTH_MAX */
    WS_ERR_TOO_LARGE,              /* "too_large": a frame over the limit */
    WS_ERR_BAD_UTF8,               /* "bad_utf8" */
    WS_ERR_UNKNOWN_TYPE,           /* "unknown_type": type missing or not one above */
    WS_ERR_BAD_MESSAGE,            /* "bad_message": a field missing or of the wrong form */
    WS_ERR_UNKNOWN_CHANNEL,        /* "unknown_channel" */
    WS_ERR_BAD_FILTER,             /* "bad_filter": unknown key, twice, bad or long value */
    WS_ERR_NOT_AUTHENTICATED,      /* "not_authenticated": anything before auth */
    WS_ERR_ALREADY_AUTHENTICATED,  /* "already_authenticated": auth twice */
    WS_ERR_UNAUTHORIZED,           /* "unauthorized": a token not known (the daemon's check) */
    WS_ERR_TOO_MANY_SUBSCRIPTIONS, /* "too_many_subscriptions" (hub_client_subscribe) */
    WS_ERR_RATE_LIMITED,           /* "rate_limited": the flood guard */
    WS_ERR_INTERNAL,               /* "internal": out of memory and such */
    WS_ERR_COUNT
};

/* One parsed client message. */
struct ws_msg {
    enum ws_type type;
    char token[TOKENS_TOKEN_MAX + 1]; /* auth */
    enum hub_channel channel;         /* subscribe, unsubscribe */
    struct hub_filter filter;         /* subscribe; no field set without one */
    uint64_t instance, seq;           /* resume */
};

struct ws_error {
    enum ws_err code;
    char message[128];
};

/* A token bucket: at most burst control messages at once, rate a second
 * after that. One per connection, owned by its thread, so no lock (the
 * shared keyed limiter of ratelimit.h locks and may evict a bucket). */
struct ws_flood {
    double rate, burst, tokens;
    long long last_ms;
};

/* A connection's protocol state. */
struct ws_session {
    bool authenticated;
    size_t frame_max; /* WS_FRAME_MAX unless set otherwise */
    struct ws_flood flood;
};

/* The wire name of code ("bad_json", ...), "internal" for one out of range. */
const char *ws_err_code(enum ws_err code);

struct cors;

/* Whether a WebSocket handshake's Origin may connect: none (not a browser),
 * the page's own origin (scheme://HOST where HOST is the request's Host
 * header, compared without case), or one of the CORS allow-list (cors may
 * be NULL: none). A page elsewhere is refused, so a site a signed-in
 * person visits cannot open a stream in their name. */
bool ws_origin_allowed(const struct cors *cors, const char *origin, const char *host);

/* Starts the bucket full at now_ms (monotonic). rate <= 0 turns it off. */
void ws_flood_init(struct ws_flood *f, double rate, double burst, long long now_ms);

/* Takes one token at now_ms. Returns true when allowed. */
bool ws_flood_allow(struct ws_flood *f, long long now_ms);

/* Parses the text frame buf[0..len), at most frame_max bytes (0:
 * WS_FRAME_MAX), into *out. Returns 0, or -1 with err filled. Checks, in
 * order and before cJSON sees the bytes: size, UTF-8, NUL bytes, nesting.
 * Pure; cJSON allocates only for frames that passed those. */
int ws_proto_parse(const char *buf, size_t len, size_t frame_max, struct ws_msg *out,
                   struct ws_error *err);

/* A session for a new connection at now_ms: not authenticated, at most
 * burst control messages at once and rate a second after. */
void ws_session_init(struct ws_session *s, double rate, double burst, long long now_ms);

/* One frame of the session's client at now_ms: the flood guard, then
 * ws_proto_parse, then the order (auth first and once). Returns 0 with
 * *out, or -1 with err. The caller checks an auth's token and then calls
 * ws_session_authenticated. */
int ws_session_accept(struct ws_session *s, const char *buf, size_t len, long long now_ms,
                      struct ws_msg *out, struct ws_error *err);

void ws_session_authenticated(struct ws_session *s);

/* Sets err to code and a message (printf format). */
__attribute__((format(printf, 3, 4))) void ws_error_set(struct ws_error *err, enum ws_err code,
                                                        const char *fmt, ...);

/* The replies, rendered into buf of cap bytes (WS_REPLY_MAX is enough).
 * Each returns the length (NUL not counted), or -1 when cap is too small. */
int ws_render_authenticated(char *buf, size_t cap, uint64_t instance, uint64_t seq);
int ws_render_subscribed(char *buf, size_t cap, enum hub_channel ch);
int ws_render_unsubscribed(char *buf, size_t cap, enum hub_channel ch);
int ws_render_pong(char *buf, size_t cap);
int ws_render_error(char *buf, size_t cap, const struct ws_error *err);

#endif
