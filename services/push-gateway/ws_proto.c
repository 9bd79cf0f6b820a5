/*
 * The WebSocket control protocol: parsing a client's frames and rendering
 * the replies. Contracts and the message forms in ws_proto.h.
 */
#include "ws_proto.h"

#include "analytics/cors.h"
#include "analytics/textcheck.h"
#include "analytics/utf8.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define WS_SEQ_MAX 9007199254740991.0 /* 2^53 - 1 */

static const char *const ws_err_codes[WS_ERR_COUNT] = {
    [WS_OK] = "ok",
    [WS_ERR_BAD_JSON] = "bad_json",
    [WS_ERR_TOO_DEEP] = "too_deep",
    [WS_ERR_TOO_LARGE] = "too_large",
    [WS_ERR_BAD_UTF8] = "bad_utf8",
    [WS_ERR_UNKNOWN_TYPE] = "unknown_type",
    [WS_ERR_BAD_MESSAGE] = "bad_message",
    [WS_ERR_UNKNOWN_CHANNEL] = "unknown_channel",
    [WS_ERR_BAD_FILTER] = "bad_filter",
    [WS_ERR_NOT_AUTHENTICATED] = "not_authenticated",
    [WS_ERR_ALREADY_AUTHENTICATED] = "already_authenticated",
    [WS_ERR_UNAUTHORIZED] = "unauthorized",
    [WS_ERR_TOO_MANY_SUBSCRIPTIONS] = "too_many_subscriptions",
    [WS_ERR_RATE_LIMITED] = "rate_limited",
    [WS_ERR_INTERNAL] = "internal",
};

bool ws_origin_allowed(const struct cors *cors, const char *origin, const char *host)
{
    const char *rest;

    if (origin == NULL) {
        return true;
    }
    if (cors != NULL && cors_check(cors, origin) == CORS_ALLOWED) {
        return true;
    }
    if (strncasecmp(origin, "http://", 7) == 0) {
        rest = origin + 7;
    } else if (strncasecmp(origin, "https://", 8) == 0) {
        rest = origin + 8;
    } else {
        return false; /* "null" (a sandboxed or file: page) and the like */
    }
    return host != NULL && *host != '\0' && strcasecmp(rest, host) == 0;
}

const char *ws_err_code(enum ws_err code)
{
    return (unsigned)code < WS_ERR_COUNT ? ws_err_codes[code] : "internal";
}

void ws_error_set(struct ws_error *err, enum ws_err code, const char *fmt, ...)
{
    va_list ap;

    err->code = code;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
}

/* ---- the flood guard ---- */

void ws_flood_init(struct ws_flood *f, double rate, double burst, long long now_ms)
{
    f->rate = rate;
    f->burst = burst < 1 ? 1 : burst;
    f->tokens = f->burst;
    f->last_ms = now_ms;
}

bool ws_flood_allow(struct ws_flood *f, long long now_ms)
{
    if (f->rate <= 0) {
        return true;
    }
    if (now_ms > f->last_ms) { /* a clock that went back refills nothing */
        f->tokens += (double)(now_ms - f->last_ms) * f->rate / 1000.0;
        if (f->tokens > f->burst) {
            f->tokens = f->burst;
        }
        f->last_ms = now_ms;
    }
    if (f->tokens < 1) {
        return false;
    }
    f->tokens -= 1;
    return true;
}

/* ---- parsing ---- */

/* The member key of obj in *item (NULL when absent). Returns -1 when it is
 * there twice: cJSON would give the first, another reader the last. */
static int ws_get_once(const cJSON *obj, const char *key, const cJSON **item)
{
    *item = NULL;
    for (const cJSON *c = obj->child; c != NULL; c = c->next) {
        if (c->string != NULL && strcmp(c->string, key) == 0) {
            if (*item != NULL) {
                return -1;
            }
            *item = c;
        }
    }
    return 0;
}

/* The member key of obj when it is a string, else NULL with err set. */
static const char *ws_get_string(const cJSON *obj, const char *key, struct ws_error *err)
{
    const cJSON *item;

    if (ws_get_once(obj, key, &item) != 0) {
        ws_error_set(err, WS_ERR_BAD_MESSAGE, "\"%s\" is given twice", key);
        return NULL;
    }
    if (!cJSON_IsString(item) || item->valuestring == NULL) {
        ws_error_set(err, WS_ERR_BAD_MESSAGE, "\"%s\" must be a string", key);
        return NULL;
    }
    return item->valuestring;
}

static int ws_parse_auth(const cJSON *root, struct ws_msg *out, struct ws_error *err)
{
    const char *token = ws_get_string(root, "token", err);
    size_t n;

    if (token == NULL) {
        return -1;
    }
    n = strlen(token);
    if (n == 0 || n > TOKENS_TOKEN_MAX) {
        ws_error_set(err, WS_ERR_BAD_MESSAGE, "the token must be 1..%d bytes", TOKENS_TOKEN_MAX);
        return -1;
    }
    memcpy(out->token, token, n + 1);
    return 0;
}

static int ws_parse_channel(const cJSON *root, struct ws_msg *out, struct ws_error *err)
{
    const char *ch = ws_get_string(root, "channel", err);

    if (ch == NULL) {
        return -1;
    }
    if (hub_channel_parse(ch, strlen(ch), &out->channel) != 0) {
        ws_error_set(err, WS_ERR_UNKNOWN_CHANNEL,
                     "channels are metrics, events, scores, journeys and triggers");
        return -1;
    }
    return 0;
}

/* The filter field named key, or -1. */
static int ws_filter_field(const char *key)
{
    for (int f = 0; f < HUB_FIELDS; f++) {
        if (strcmp(key, hub_field_name((enum hub_field)f)) == 0) {
            return f;
        }
    }
    return -1;
}

/* One filter member into out->filter. */
static int ws_parse_filter_item(const cJSON *item, struct ws_msg *out, struct ws_error *err)
{
    int f = item->string != NULL ? ws_filter_field(item->string) : -1;
    size_t n;

    if (f < 0) {
        ws_error_set(err, WS_ERR_BAD_FILTER,
                     "filter keys are event_type, page_type, country and fingerprint");
        return -1;
    }
    if (out->filter.set[f]) {
        ws_error_set(err, WS_ERR_BAD_FILTER, "filter key %s is given twice",
                     hub_field_name((enum hub_field)f));
        return -1;
    }
    n = cJSON_IsString(item) && item->valuestring != NULL ? strlen(item->valuestring) : 0;
    if (n == 0 || n > HUB_VALUE_MAX) {
        ws_error_set(err, WS_ERR_BAD_FILTER, "filter %s must be a string of 1..%d bytes",
                     hub_field_name((enum hub_field)f), HUB_VALUE_MAX);
        return -1;
    }
    out->filter.set[f] = true;
    memcpy(out->filter.value[f], item->valuestring, n + 1);
    return 0;
}

static int ws_parse_subscribe(const cJSON *root, struct ws_msg *out, struct ws_error *err)
{
    const cJSON *filter;

    if (ws_parse_channel(root, out, err) != 0) {
        return -1;
    }
    if (ws_get_once(root, "filter", &filter) != 0) {
        ws_error_set(err, WS_ERR_BAD_FILTER, "\"filter\" is given twice");
        return -1;
    }
    if (filter == NULL || cJSON_IsNull(filter)) {
        return 0;
    }
    if (!cJSON_IsObject(filter)) {
        ws_error_set(err, WS_ERR_BAD_FILTER, "the filter must be an object");
        return -1;
    }
    for (const cJSON *item = filter->child; item != NULL; item = item->next) {
        if (ws_parse_filter_item(item, out, err) != 0) {
            return -1;
        }
    }
    return 0;
}

/* 16 hex digits into *out. */
static int ws_parse_hex64(const char *s, uint64_t *out)
{
    uint64_t v = 0;

    if (strlen(s) != 16) {
        return -1;
    }
    for (int i = 0; i < 16; i++) {
        char c = s[i];
        unsigned d;

        if (c >= '0' && c <= '9') {
            d = (unsigned)(c - '0');
        } else if (c >= 'a' && c <= 'f') {
            d = (unsigned)(c - 'a' + 10);
        } else if (c >= 'A' && c <= 'F') {
            d = (unsigned)(c - 'A' + 10);
        } else {
            return -1;
        }
        v = v << 4 | d;
    }
    *out = v;
    return 0;
}

static int ws_parse_resume(const cJSON *root, struct ws_msg *out, struct ws_error *err)
{
    const char *inst = ws_get_string(root, "instance", err);
    const cJSON *seq;

    if (inst == NULL) {
        return -1;
    }
    if (ws_parse_hex64(inst, &out->instance) != 0) {
        ws_error_set(err, WS_ERR_BAD_MESSAGE, "the instance must be 16 hex digits");
        return -1;
    }
    if (ws_get_once(root, "seq", &seq) != 0 || seq == NULL || !cJSON_IsNumber(seq) ||
        !(seq->valuedouble >= 0 && seq->valuedouble <= WS_SEQ_MAX) ||
        floor(seq->valuedouble) != seq->valuedouble) {
        ws_error_set(err, WS_ERR_BAD_MESSAGE, "the seq must be an integer 0..2^53-1, once");
        return -1;
    }
    out->seq = (uint64_t)seq->valuedouble;
    return 0;
}

static int ws_parse_object(const cJSON *root, struct ws_msg *out, struct ws_error *err)
{
    static const struct {
        const char *name;
        enum ws_type type;
        int (*parse)(const cJSON *, struct ws_msg *, struct ws_error *);
    } types[] = {
        {"auth", WS_AUTH, ws_parse_auth},
        {"subscribe", WS_SUBSCRIBE, ws_parse_subscribe},
        {"unsubscribe", WS_UNSUBSCRIBE, ws_parse_channel},
        {"resume", WS_RESUME, ws_parse_resume},
        {"ping", WS_PING, NULL},
    };
    const cJSON *type;

    if (ws_get_once(root, "type", &type) != 0) {
        ws_error_set(err, WS_ERR_BAD_MESSAGE, "\"type\" is given twice");
        return -1;
    }
    for (size_t i = 0; type != NULL && cJSON_IsString(type) && i < sizeof(types) / sizeof(types[0]);
         i++) {
        if (strcmp(type->valuestring, types[i].name) == 0) {
            out->type = types[i].type;
            return types[i].parse != NULL ? types[i].parse(root, out, err) : 0;
        }
    }
    ws_error_set(err, WS_ERR_UNKNOWN_TYPE,
                 "type must be auth, subscribe, unsubscribe, resume or ping");
    return -1;
}

/* The checks on the raw bytes, before any parser sees them. */
static int ws_check_bytes(const char *buf, size_t len, size_t frame_max, struct ws_error *err)
{
    size_t at = 0;

    if (len > frame_max) {
        ws_error_set(err, WS_ERR_TOO_LARGE, "a control frame is at most %zu bytes", frame_max);
        return -1;
    }
    if (len == 0 || buf == NULL) {
        ws_error_set(err, WS_ERR_BAD_JSON, "an empty frame");
        return -1;
    }
    if (utf8_check(buf, len, &at) != UTF8_VALID) {
        ws_error_set(err, WS_ERR_BAD_UTF8, "invalid UTF-8 at byte %zu", at);
        return -1;
    }
    if (memchr(buf, '\0', len) != NULL) {
        ws_error_set(err, WS_ERR_BAD_JSON, "a NUL byte in the frame");
        return -1;
    }
    /* cJSON recurses per level: bounded here, on the text, first */
    if (textcheck_nesting(buf, len, WS_DEPTH_MAX, &at) != 0) {
        ws_error_set(err, WS_ERR_TOO_DEEP, "nesting deeper than %d levels at byte %zu",
                     WS_DEPTH_MAX, at);
        return -1;
    }
    return 0;
}

/* Whether buf[pos..len) is JSON whitespace only. */
static bool ws_only_space(const char *buf, size_t pos, size_t len)
{
    for (; pos < len; pos++) {
        if (buf[pos] != ' ' && buf[pos] != '\t' && buf[pos] != '\n' && buf[pos] != '\r') {
            return false;
        }
    }
    return true;
}

int ws_proto_parse(const char *buf, size_t len, size_t frame_max, struct ws_msg *out,
                   struct ws_error *err)
{
    const char *end = NULL;
    cJSON *root;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    memset(err, 0, sizeof(*err));
    if (ws_check_bytes(buf, len, frame_max == 0 ? WS_FRAME_MAX : frame_max, err) != 0) {
        return -1;
    }
    root = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
    if (root == NULL) {
        ws_error_set(err, WS_ERR_BAD_JSON, "not JSON (at byte %zu)",
                     end != NULL && end >= buf ? (size_t)(end - buf) : (size_t)0);
        return -1;
    }
    if (!ws_only_space(buf, (size_t)(end - buf), len)) {
        ws_error_set(err, WS_ERR_BAD_JSON, "data after the object at byte %zu",
                     (size_t)(end - buf));
    } else if (!cJSON_IsObject(root)) {
        ws_error_set(err, WS_ERR_BAD_JSON, "a message is one JSON object");
    } else {
        rc = ws_parse_object(root, out, err);
    }
    cJSON_Delete(root);
    return rc;
}

/* ---- the session ---- */

void ws_session_init(struct ws_session *s, double rate, double burst, long long now_ms)
{
    s->authenticated = false;
    s->frame_max = WS_FRAME_MAX;
    ws_flood_init(&s->flood, rate, burst, now_ms);
}

int ws_session_accept(struct ws_session *s, const char *buf, size_t len, long long now_ms,
                      struct ws_msg *out, struct ws_error *err)
{
    /* first, so a flood costs a subtraction per frame, not a parse */
    if (!ws_flood_allow(&s->flood, now_ms)) {
        memset(out, 0, sizeof(*out));
        ws_error_set(err, WS_ERR_RATE_LIMITED, "too many control messages; slow down");
        return -1;
    }
    if (ws_proto_parse(buf, len, s->frame_max, out, err) != 0) {
        return -1;
    }
    if (!s->authenticated && out->type != WS_AUTH) {
        ws_error_set(err, WS_ERR_NOT_AUTHENTICATED, "send auth first");
        return -1;
    }
    if (s->authenticated && out->type == WS_AUTH) {
        ws_error_set(err, WS_ERR_ALREADY_AUTHENTICATED, "already authenticated");
        return -1;
    }
    return 0;
}

void ws_session_authenticated(struct ws_session *s)
{
    s->authenticated = true;
}

/* ---- replies ---- */

/* snprintf's result as a render's: the length, or -1 when cut short. */
static int ws_fit(int n, size_t cap)
{
    return n >= 0 && (size_t)n < cap ? n : -1;
}

int ws_render_authenticated(char *buf, size_t cap, uint64_t instance, uint64_t seq)
{
    char hex[17];

    hub_instance_hex(instance, hex);
    return ws_fit(snprintf(buf, cap,
                           "{\"type\":\"authenticated\",\"instance\":\"%s\",\"seq\":%" PRIu64 "}",
                           hex, seq),
                  cap);
}

int ws_render_subscribed(char *buf, size_t cap, enum hub_channel ch)
{
    return ws_fit(
        snprintf(buf, cap, "{\"type\":\"subscribed\",\"channel\":\"%s\"}", hub_channel_name(ch)),
        cap);
}

int ws_render_unsubscribed(char *buf, size_t cap, enum hub_channel ch)
{
    return ws_fit(
        snprintf(buf, cap, "{\"type\":\"unsubscribed\",\"channel\":\"%s\"}", hub_channel_name(ch)),
        cap);
}

int ws_render_pong(char *buf, size_t cap)
{
    return ws_fit(snprintf(buf, cap, "{\"type\":\"pong\"}"), cap);
}

/* The message is ours, but escaped by cJSON all the same: a quote in a
 * future message must not break the frame. */
int ws_render_error(char *buf, size_t cap, const struct ws_error *err)
{
    cJSON *o = cJSON_CreateObject();
    char *text = NULL;
    int rc = -1;

    if (o == NULL || cJSON_AddStringToObject(o, "type", "error") == NULL ||
        cJSON_AddStringToObject(o, "code", ws_err_code(err->code)) == NULL ||
        cJSON_AddStringToObject(o, "message", err->message) == NULL) {
        goto out;
    }
    text = cJSON_PrintUnformatted(o);
    if (text != NULL) {
        rc = ws_fit(snprintf(buf, cap, "%s", text), cap);
    }
out:
    cJSON_free(text);
    cJSON_Delete(o);
    return rc;
}
