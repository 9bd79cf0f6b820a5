#include "analytics/pbjson.h"
#include "analytics/utf8.h"

#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics/v1/dead_letter.pb-c.h"
#include "analytics/v1/enriched_event.pb-c.h"
#include "analytics/v1/journey_update.pb-c.h"
#include "analytics/v1/privacy_request.pb-c.h"
#include "analytics/v1/raw_event.pb-c.h"
#include "analytics/v1/score_update.pb-c.h"
#include "analytics/v1/trigger_fired.pb-c.h"

#define PBJSON_MAX_DEPTH 64
#define PBJSON_EXACT_LIMIT 9007199254740992.0 /* 2^53: larger integers lose digits as doubles */
#define PBJSON_PATH_MAX 256

static const struct {
    const char *name;
    const ProtobufCMessageDescriptor *desc;
} pbjson_types[] = {
    {"raw", &analytics__v1__raw_event__descriptor},
    {"enriched", &analytics__v1__enriched_event__descriptor},
    {"score", &analytics__v1__score_update__descriptor},
    {"journey", &analytics__v1__journey_update__descriptor},
    {"trigger", &analytics__v1__trigger_fired__descriptor},
    {"privacy", &analytics__v1__privacy_request__descriptor},
    {"deadletter", &analytics__v1__dead_letter__descriptor},
};

#define PBJSON_NTYPES (sizeof(pbjson_types) / sizeof(pbjson_types[0]))

const ProtobufCMessageDescriptor *pbjson_descriptor_for(const char *type_name)
{
    if (type_name == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < PBJSON_NTYPES; i++) {
        if (strcmp(type_name, pbjson_types[i].name) == 0 ||
            strcmp(type_name, pbjson_types[i].desc->name) == 0) {
            return pbjson_types[i].desc;
        }
    }
    return NULL;
}

const char *pbjson_type_names(void)
{
    return "raw|enriched|score|journey|trigger|privacy|deadletter";
}

/* ---- base64 and UTF-8 ---------------------------------------------------- */

static const char pbjson_b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *pbjson_base64_encode(const void *data, size_t len)
{
    const unsigned char *in = data;
    size_t outlen = (len + 2) / 3 * 4;
    char *out = malloc(outlen + 1);
    size_t o = 0;

    if (out == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < len; i += 3) {
        unsigned long v = (unsigned long)in[i] << 16;
        size_t left = len - i;

        if (left > 1) {
            v |= (unsigned long)in[i + 1] << 8;
        }
        if (left > 2) {
            v |= in[i + 2];
        }
        out[o++] = pbjson_b64[(v >> 18) & 63];
        out[o++] = pbjson_b64[(v >> 12) & 63];
        out[o++] = left > 1 ? pbjson_b64[(v >> 6) & 63] : '=';
        out[o++] = left > 2 ? pbjson_b64[v & 63] : '=';
    }
    out[o] = '\0';
    return out;
}

/* Returns the 6-bit value of a base64 character (either alphabet), or -1. */
static int pbjson_b64_value(char ch)
{
    if (ch >= 'A' && ch <= 'Z') {
        return ch - 'A';
    }
    if (ch >= 'a' && ch <= 'z') {
        return ch - 'a' + 26;
    }
    if (ch >= '0' && ch <= '9') {
        return ch - '0' + 52;
    }
    if (ch == '+' || ch == '-') {
        return 62;
    }
    if (ch == '/' || ch == '_') {
        return 63;
    }
    return -1;
}

int pbjson_base64_decode(const char *s, unsigned char **out, size_t *outlen)
{
    size_t len = strlen(s);
    size_t n = len;
    unsigned char *buf;
    size_t o = 0;
    unsigned long acc = 0;
    int bits = 0;

    *out = NULL;
    *outlen = 0;
    while (n > 0 && len - n < 2 && s[n - 1] == '=') {
        n--;
    }
    if (n != len && len % 4 != 0) {
        return -1; /* padding only completes a group of four */
    }
    if (n % 4 == 1) {
        return -1;
    }
    if (n == 0) {
        return 0;
    }
    buf = malloc(n / 4 * 3 + 3);
    if (buf == NULL) {
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        int v = pbjson_b64_value(s[i]);

        if (v < 0) {
            free(buf);
            return -1;
        }
        acc = (acc << 6) | (unsigned long)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf[o++] = (unsigned char)((acc >> bits) & 0xff);
        }
    }
    *out = buf;
    *outlen = o;
    return 0;
}

/* Returns a JSON string of s, with each byte that is not part of well-formed
 * UTF-8 replaced by U+FFFD. NULL when out of memory. */
static cJSON *pbjson_string_json(const char *s)
{
    size_t len = strlen(s);
    char *clean;
    size_t o = 0;
    cJSON *item;

    if (utf8_valid(s, len)) {
        return cJSON_CreateString(s);
    }
    clean = malloc(len * 3 + 1);
    if (clean == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < len;) {
        size_t k = utf8_sequence(s + i, len - i);

        if (k == 0) {
            memcpy(clean + o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
        } else {
            memcpy(clean + o, s + i, k);
            o += k;
            i += k;
        }
    }
    clean[o] = '\0';
    item = cJSON_CreateString(clean);
    free(clean);
    return item;
}

/* ---- descriptor helpers ------------------------------------------------- */

static void *pbjson_member(const ProtobufCMessage *m, unsigned offset)
{
    return (char *)m + offset;
}

/* Size of one element of a repeated field of type t. */
static size_t pbjson_elt_size(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return sizeof(uint64_t);
    case PROTOBUF_C_TYPE_DOUBLE:
        return sizeof(double);
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_STRING:
        return sizeof(char *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(ProtobufCMessage *);
    default:
        return sizeof(uint32_t); /* 32-bit integers, float, enum */
    }
}

/* True when f (a singular field of m) holds a value to write: a oneof member
 * only when selected, a submessage only when not NULL, a proto2 optional only
 * when present. */
static bool pbjson_field_present(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
    const void *p = pbjson_member(m, f->offset);

    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
        return *(const uint32_t *)pbjson_member(m, f->quantifier_offset) == f->id;
    }
    if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
        return *(void *const *)p != NULL;
    }
    if (f->label != PROTOBUF_C_LABEL_OPTIONAL) {
        return true;
    }
    if (f->type == PROTOBUF_C_TYPE_STRING) {
        const void *s = *(void *const *)p;
        return s != NULL && s != f->default_value;
    }
    return *(const protobuf_c_boolean *)pbjson_member(m, f->quantifier_offset);
}

/* True when f (in message type d) is a map: a repeated field of the implicit
 * entry type "<d>.<FieldInCamelCase>Entry" with fields key = 1, value = 2. */
static bool pbjson_is_map(const ProtobufCMessageDescriptor *d, const ProtobufCFieldDescriptor *f)
{
    const ProtobufCMessageDescriptor *e = f->descriptor;
    char want[PBJSON_PATH_MAX];
    size_t n = 0;
    bool upper = true;
    size_t plen = strlen(d->name);

    if (f->label != PROTOBUF_C_LABEL_REPEATED || f->type != PROTOBUF_C_TYPE_MESSAGE || e == NULL) {
        return false;
    }
    if (e->n_fields != 2 || e->fields[0].id != 1 || e->fields[1].id != 2 ||
        strcmp(e->fields[0].name, "key") != 0 || strcmp(e->fields[1].name, "value") != 0) {
        return false;
    }
    for (const char *s = f->name; *s != '\0' && n + 7 < sizeof(want); s++) {
        if (*s == '_') {
            upper = true;
            continue;
        }
        want[n++] = upper && *s >= 'a' && *s <= 'z' ? (char)(*s - 'a' + 'A') : *s;
        upper = false;
    }
    memcpy(want + n, "Entry", 6);
    return strncmp(e->name, d->name, plen) == 0 && e->name[plen] == '.' &&
           strcmp(e->name + plen + 1, want) == 0;
}

/* ---- message to JSON ---------------------------------------------------- */

static cJSON *pbjson_message_json(const ProtobufCMessage *m);

static cJSON *pbjson_int_json(int64_t v)
{
    char buf[32];

    if ((double)v <= PBJSON_EXACT_LIMIT && (double)v >= -PBJSON_EXACT_LIMIT) {
        return cJSON_CreateNumber((double)v);
    }
    snprintf(buf, sizeof(buf), "%" PRId64, v);
    return cJSON_CreateRaw(buf);
}

static cJSON *pbjson_uint_json(uint64_t v)
{
    char buf[32];

    if ((double)v <= PBJSON_EXACT_LIMIT) {
        return cJSON_CreateNumber((double)v);
    }
    snprintf(buf, sizeof(buf), "%" PRIu64, v);
    return cJSON_CreateRaw(buf);
}

static cJSON *pbjson_double_json(double v)
{
    if (isnan(v)) {
        return cJSON_CreateString("NaN");
    }
    if (isinf(v)) {
        return cJSON_CreateString(v > 0 ? "Infinity" : "-Infinity");
    }
    return cJSON_CreateNumber(v);
}

/* A float widened to double prints with noise ("0.10000000149011612"): use
 * the shortest decimal that reads back as the same float instead. */
static cJSON *pbjson_float_json(float v)
{
    char buf[32];

    if (!isfinite(v)) {
        return pbjson_double_json(v);
    }
    for (int prec = 6; prec <= 9; prec++) {
        snprintf(buf, sizeof(buf), "%.*g", prec, (double)v);
        if (strtof(buf, NULL) == v) {
            break;
        }
    }
    return cJSON_CreateNumber(strtod(buf, NULL));
}

static cJSON *pbjson_enum_json(const ProtobufCFieldDescriptor *f, int v)
{
    const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(f->descriptor, v);

    return ev != NULL ? cJSON_CreateString(ev->name) : cJSON_CreateNumber(v);
}

/* Converts the value of type f->type stored at p. NULL when out of memory. */
static cJSON *pbjson_value_json(const ProtobufCFieldDescriptor *f, const void *p)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        return cJSON_CreateNumber(*(const int32_t *)p);
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        return cJSON_CreateNumber(*(const uint32_t *)p);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        return pbjson_int_json(*(const int64_t *)p);
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return pbjson_uint_json(*(const uint64_t *)p);
    case PROTOBUF_C_TYPE_FLOAT:
        return pbjson_float_json(*(const float *)p);
    case PROTOBUF_C_TYPE_DOUBLE:
        return pbjson_double_json(*(const double *)p);
    case PROTOBUF_C_TYPE_BOOL:
        return cJSON_CreateBool(*(const protobuf_c_boolean *)p);
    case PROTOBUF_C_TYPE_ENUM:
        return pbjson_enum_json(f, *(const int *)p);
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(const char *const *)p;
        return pbjson_string_json(s != NULL ? s : "");
    }
    case PROTOBUF_C_TYPE_BYTES: {
        const ProtobufCBinaryData *b = p;
        char *enc = pbjson_base64_encode(b->data, b->data != NULL ? b->len : 0);
        cJSON *item = enc != NULL ? cJSON_CreateString(enc) : NULL;
        free(enc);
        return item;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *sub = *(const ProtobufCMessage *const *)p;
        return sub != NULL ? pbjson_message_json(sub) : cJSON_CreateObject();
    }
    default:
        break;
    }
    return NULL;
}

static cJSON *pbjson_array_json(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
    size_t n = *(const size_t *)pbjson_member(m, f->quantifier_offset);
    const char *arr = *(const char *const *)pbjson_member(m, f->offset);
    size_t elt = pbjson_elt_size(f->type);
    cJSON *out = cJSON_CreateArray();

    for (size_t i = 0; out != NULL && arr != NULL && i < n; i++) {
        cJSON *v = pbjson_value_json(f, arr + i * elt);

        if (v == NULL || !cJSON_AddItemToArray(out, v)) {
            cJSON_Delete(v);
            cJSON_Delete(out);
            return NULL;
        }
    }
    return out;
}

/* Writes a map key (string, integer or bool) as text into buf. Returns buf,
 * or the string itself for string keys. */
static const char *pbjson_key_text(const ProtobufCFieldDescriptor *kf, const void *p, char *buf,
                                   size_t len)
{
    switch (kf->type) {
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(const char *const *)p;
        return s != NULL ? s : "";
    }
    case PROTOBUF_C_TYPE_BOOL:
        return *(const protobuf_c_boolean *)p ? "true" : "false";
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        snprintf(buf, len, "%" PRId64, *(const int64_t *)p);
        return buf;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        snprintf(buf, len, "%" PRIu64, *(const uint64_t *)p);
        return buf;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        snprintf(buf, len, "%" PRIu32, *(const uint32_t *)p);
        return buf;
    default:
        snprintf(buf, len, "%" PRId32, *(const int32_t *)p);
        return buf;
    }
}

/* A map as an object; a key repeated on the wire keeps its last value, as
 * protobuf's own parsers do. */
static cJSON *pbjson_map_json(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
    size_t n = *(const size_t *)pbjson_member(m, f->quantifier_offset);
    ProtobufCMessage *const *entries =
        *(ProtobufCMessage *const *const *)pbjson_member(m, f->offset);
    const ProtobufCMessageDescriptor *e = f->descriptor;
    cJSON *out = cJSON_CreateObject();

    for (size_t i = 0; out != NULL && entries != NULL && i < n; i++) {
        char buf[32];
        const char *key;
        cJSON *v;
        bool ok;

        if (entries[i] == NULL) {
            continue;
        }
        key = pbjson_key_text(&e->fields[0], pbjson_member(entries[i], e->fields[0].offset), buf,
                              sizeof(buf));
        v = pbjson_value_json(&e->fields[1], pbjson_member(entries[i], e->fields[1].offset));
        if (v == NULL) {
            cJSON_Delete(out);
            return NULL;
        }
        if (cJSON_GetObjectItemCaseSensitive(out, key) != NULL) {
            ok = cJSON_ReplaceItemInObjectCaseSensitive(out, key, v);
        } else {
            ok = cJSON_AddItemToObject(out, key, v);
        }
        if (!ok) {
            cJSON_Delete(v);
            cJSON_Delete(out);
            return NULL;
        }
    }
    return out;
}

static cJSON *pbjson_message_json(const ProtobufCMessage *m)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    cJSON *obj = cJSON_CreateObject();

    if (obj == NULL) {
        return NULL;
    }
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        cJSON *v;

        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            v = pbjson_is_map(d, f) ? pbjson_map_json(m, f) : pbjson_array_json(m, f);
        } else if (pbjson_field_present(m, f)) {
            v = pbjson_value_json(f, pbjson_member(m, f->offset));
        } else {
            continue;
        }
        /* Descriptor names are static: the CS variant does not copy them. */
        if (v == NULL || !cJSON_AddItemToObjectCS(obj, f->name, v)) {
            cJSON_Delete(v);
            cJSON_Delete(obj);
            return NULL;
        }
    }
    return obj;
}

cJSON *pbjson_from_message(const ProtobufCMessage *m)
{
    if (m == NULL || m->descriptor == NULL ||
        m->descriptor->magic != PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC) {
        return NULL;
    }
    return pbjson_message_json(m);
}

/* ---- JSON to message ---------------------------------------------------- */

struct pbjson_ctx {
    char *err;
    size_t errlen;
    char path[PBJSON_PATH_MAX]; /* where we are, e.g. "ua.device_type" */
    size_t pathlen;
    int depth;
};

__attribute__((format(printf, 2, 3))) static int pbjson_fail(struct pbjson_ctx *c, const char *fmt,
                                                             ...)
{
    char msg[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (c->errlen > 0) {
        if (c->pathlen > 0) {
            snprintf(c->err, c->errlen, "field '%s': %s", c->path, msg);
        } else {
            snprintf(c->err, c->errlen, "%s", msg);
        }
    }
    return -1;
}

/* Appends ".name" (or "name" at the top) or "[i]" to the path. Returns the
 * old length for pbjson_path_pop. Truncates silently when too long. */
static size_t pbjson_path_push(struct pbjson_ctx *c, const char *name, long index)
{
    size_t old = c->pathlen;
    int n;

    if (name != NULL) {
        n = snprintf(c->path + old, sizeof(c->path) - old, "%s%s", old > 0 ? "." : "", name);
    } else {
        n = snprintf(c->path + old, sizeof(c->path) - old, "[%ld]", index);
    }
    if (n > 0) {
        c->pathlen = old + (size_t)n < sizeof(c->path) ? old + (size_t)n : sizeof(c->path) - 1;
    }
    return old;
}

static void pbjson_path_pop(struct pbjson_ctx *c, size_t old)
{
    c->pathlen = old;
    c->path[old] = '\0';
}

static const char *pbjson_json_type(const cJSON *v)
{
    if (cJSON_IsNull(v)) {
        return "null";
    }
    if (cJSON_IsBool(v)) {
        return "a boolean";
    }
    if (cJSON_IsNumber(v) || cJSON_IsRaw(v)) {
        return "a number";
    }
    if (cJSON_IsString(v)) {
        return "a string";
    }
    if (cJSON_IsArray(v)) {
        return "an array";
    }
    return "an object";
}

/* A JSON string with its text (a hand-built cJSON string may lack it). */
static bool pbjson_is_string(const cJSON *v)
{
    return cJSON_IsString(v) && v->valuestring != NULL;
}

/* Parses decimal text (a raw number or a string) as a signed or unsigned
 * 64-bit integer. Returns 0, or -1 when it is not an integer or out of range. */
static int pbjson_text_int(const char *s, bool is_signed, int64_t *sv, uint64_t *uv)
{
    char *end;

    if (s == NULL || !((*s >= '0' && *s <= '9') || (is_signed && *s == '-'))) {
        return -1;
    }
    errno = 0;
    if (is_signed) {
        *sv = strtoll(s, &end, 10);
    } else {
        *uv = strtoull(s, &end, 10);
    }
    return errno != 0 || end == s || *end != '\0' ? -1 : 0;
}

/* Reads an integer for a field of the given bounds. Takes a JSON number that
 * is integral and in range; for 64-bit fields also decimal text (a string, or
 * a raw item from pbjson_from_message). */
static int pbjson_get_int(struct pbjson_ctx *c, const cJSON *v, bool is_signed, bool wide,
                          int64_t *sv, uint64_t *uv)
{
    if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;

        if (!isfinite(d) || d != trunc(d)) {
            return pbjson_fail(c, "expected an integer");
        }
        if (is_signed) {
            double lo = wide ? -9223372036854775808.0 : INT32_MIN;
            double hi = wide ? 9223372036854775808.0 : (double)INT32_MAX + 1;
            if (d < lo || d >= hi) {
                return pbjson_fail(c, "integer out of range");
            }
            *sv = (int64_t)d;
        } else {
            double hi = wide ? 18446744073709551616.0 : (double)UINT32_MAX + 1;
            if (d < 0 || d >= hi) {
                return pbjson_fail(c, "integer out of range");
            }
            *uv = (uint64_t)d;
        }
        return 0;
    }
    if (wide && (pbjson_is_string(v) || cJSON_IsRaw(v))) {
        if (pbjson_text_int(v->valuestring, is_signed, sv, uv) == -1) {
            return pbjson_fail(c, "expected an integer, got \"%.40s\"", v->valuestring);
        }
        return 0;
    }
    return pbjson_fail(c, "expected an integer, got %s", pbjson_json_type(v));
}

static int pbjson_get_double(struct pbjson_ctx *c, const cJSON *v, bool is_float, double *out)
{
    if (cJSON_IsNumber(v)) {
        *out = v->valuedouble;
        if (is_float && isfinite(*out) && fabs(*out) > FLT_MAX) {
            return pbjson_fail(c, "number out of range for float");
        }
        return 0;
    }
    if (cJSON_IsRaw(v) && v->valuestring != NULL) {
        char *end;

        *out = strtod(v->valuestring, &end);
        if (end != v->valuestring && *end == '\0') {
            return 0;
        }
    }
    if (pbjson_is_string(v)) {
        const char *text = v->valuestring;

        if (strcmp(text, "NaN") == 0) {
            *out = NAN;
            return 0;
        }
        if (strcmp(text, "Infinity") == 0) {
            *out = INFINITY;
            return 0;
        }
        if (strcmp(text, "-Infinity") == 0) {
            *out = -INFINITY;
            return 0;
        }
    }
    return pbjson_fail(c, "expected a number, got %s", pbjson_json_type(v));
}

static int pbjson_get_enum(struct pbjson_ctx *c, const ProtobufCFieldDescriptor *f, const cJSON *v,
                           int *out)
{
    const ProtobufCEnumDescriptor *ed = f->descriptor;

    if (pbjson_is_string(v)) {
        const ProtobufCEnumValue *ev =
            protobuf_c_enum_descriptor_get_value_by_name(ed, v->valuestring);
        if (ev == NULL) {
            return pbjson_fail(c, "unknown %s value \"%.60s\"", ed->name, v->valuestring);
        }
        *out = ev->value;
        return 0;
    }
    if (cJSON_IsNumber(v)) {
        int64_t sv = 0;
        uint64_t uv = 0;

        if (pbjson_get_int(c, v, true, false, &sv, &uv) == -1) {
            return -1;
        }
        *out = (int)sv;
        return 0;
    }
    return pbjson_fail(c, "expected an enum name, got %s", pbjson_json_type(v));
}

static int pbjson_parse_message(struct pbjson_ctx *c, const ProtobufCMessageDescriptor *d,
                                const cJSON *obj, ProtobufCMessage *m);

/* Stores the JSON value v, of field f's type, at dst (a singular field or an
 * element of a repeated one). Heap values are malloc'd one by one and
 * attached to dst at once, so a failure anywhere leaves the message freeable
 * with protobuf_c_message_free_unpacked. */
static int pbjson_parse_value(struct pbjson_ctx *c, const ProtobufCFieldDescriptor *f,
                              const cJSON *v, void *dst)
{
    int64_t sv = 0;
    uint64_t uv = 0;
    double dv = 0;
    bool is_signed = true, wide = false;

    switch (f->type) {
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        is_signed = false;
        /* fall through */
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        if (pbjson_get_int(c, v, is_signed, false, &sv, &uv) == -1) {
            return -1;
        }
        if (is_signed) {
            *(int32_t *)dst = (int32_t)sv;
        } else {
            *(uint32_t *)dst = (uint32_t)uv;
        }
        return 0;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        is_signed = false;
        /* fall through */
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        wide = true;
        if (pbjson_get_int(c, v, is_signed, wide, &sv, &uv) == -1) {
            return -1;
        }
        if (is_signed) {
            *(int64_t *)dst = sv;
        } else {
            *(uint64_t *)dst = uv;
        }
        return 0;
    case PROTOBUF_C_TYPE_FLOAT:
        if (pbjson_get_double(c, v, true, &dv) == -1) {
            return -1;
        }
        *(float *)dst = (float)dv;
        return 0;
    case PROTOBUF_C_TYPE_DOUBLE:
        if (pbjson_get_double(c, v, false, &dv) == -1) {
            return -1;
        }
        *(double *)dst = dv;
        return 0;
    case PROTOBUF_C_TYPE_BOOL:
        if (!cJSON_IsBool(v)) {
            return pbjson_fail(c, "expected a boolean, got %s", pbjson_json_type(v));
        }
        *(protobuf_c_boolean *)dst = cJSON_IsTrue(v) ? 1 : 0;
        return 0;
    case PROTOBUF_C_TYPE_ENUM:
        return pbjson_get_enum(c, f, v, (int *)dst);
    case PROTOBUF_C_TYPE_STRING: {
        char *s;

        if (!pbjson_is_string(v)) {
            return pbjson_fail(c, "expected a string, got %s", pbjson_json_type(v));
        }
        s = strdup(v->valuestring);
        if (s == NULL) {
            return pbjson_fail(c, "out of memory");
        }
        *(char **)dst = s;
        return 0;
    }
    case PROTOBUF_C_TYPE_BYTES: {
        ProtobufCBinaryData *b = dst;
        unsigned char *data;
        size_t len;

        if (!pbjson_is_string(v)) {
            return pbjson_fail(c, "expected a base64 string, got %s", pbjson_json_type(v));
        }
        if (pbjson_base64_decode(v->valuestring, &data, &len) == -1) {
            return pbjson_fail(c, "invalid base64");
        }
        b->data = data;
        b->len = len;
        return 0;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessageDescriptor *sd = f->descriptor;
        ProtobufCMessage *sub;

        if (!cJSON_IsObject(v)) {
            return pbjson_fail(c, "expected an object, got %s", pbjson_json_type(v));
        }
        if (c->depth >= PBJSON_MAX_DEPTH) {
            return pbjson_fail(c, "nested too deeply");
        }
        sub = malloc(sd->sizeof_message);
        if (sub == NULL) {
            return pbjson_fail(c, "out of memory");
        }
        protobuf_c_message_init(sd, sub);
        *(ProtobufCMessage **)dst = sub;
        c->depth++;
        if (pbjson_parse_message(c, sd, v, sub) == -1) {
            return -1;
        }
        c->depth--;
        return 0;
    }
    default:
        break;
    }
    return pbjson_fail(c, "unsupported field type");
}

/* A map key arrives as object key text: parse it as the key field's type. */
static int pbjson_parse_key(struct pbjson_ctx *c, const ProtobufCFieldDescriptor *kf,
                            const char *text, void *dst)
{
    cJSON tmp;

    memset(&tmp, 0, sizeof(tmp));
    switch (kf->type) {
    case PROTOBUF_C_TYPE_STRING:
        tmp.type = cJSON_String;
        tmp.valuestring = (char *)text;
        break;
    case PROTOBUF_C_TYPE_BOOL:
        if (strcmp(text, "true") != 0 && strcmp(text, "false") != 0) {
            return pbjson_fail(c, "map key must be true or false");
        }
        tmp.type = strcmp(text, "true") == 0 ? cJSON_True : cJSON_False;
        break;
    default: {
        int64_t sv = 0;
        uint64_t uv = 0;
        bool is_signed = kf->type != PROTOBUF_C_TYPE_UINT32 &&
                         kf->type != PROTOBUF_C_TYPE_FIXED32 &&
                         kf->type != PROTOBUF_C_TYPE_UINT64 && kf->type != PROTOBUF_C_TYPE_FIXED64;

        if (pbjson_text_int(text, is_signed, &sv, &uv) == -1) {
            return pbjson_fail(c, "map key must be an integer");
        }
        tmp.type = cJSON_Number;
        tmp.valuedouble = is_signed ? (double)sv : (double)uv;
        if (pbjson_elt_size(kf->type) == 8) {
            /* exact through the raw path: doubles would round */
            tmp.type = cJSON_Raw;
            tmp.valuestring = (char *)text;
        }
        break;
    }
    }
    return pbjson_parse_value(c, kf, &tmp, dst);
}

/* Returns true when an earlier sibling of item has the same key. */
static bool pbjson_duplicate(const cJSON *obj, const cJSON *item)
{
    for (const cJSON *p = obj->child; p != NULL && p != item; p = p->next) {
        if (strcmp(p->string, item->string) == 0) {
            return true;
        }
    }
    return false;
}

static int pbjson_parse_map(struct pbjson_ctx *c, const ProtobufCFieldDescriptor *f, const cJSON *v,
                            ProtobufCMessage *m)
{
    const ProtobufCMessageDescriptor *e = f->descriptor;
    size_t n = (size_t)cJSON_GetArraySize(v);
    ProtobufCMessage **entries;
    size_t i = 0;

    if (!cJSON_IsObject(v)) {
        return pbjson_fail(c, "expected an object (map), got %s", pbjson_json_type(v));
    }
    if (n == 0) {
        return 0;
    }
    entries = calloc(n, sizeof(*entries));
    if (entries == NULL) {
        return pbjson_fail(c, "out of memory");
    }
    *(ProtobufCMessage ***)pbjson_member(m, f->offset) = entries;
    *(size_t *)pbjson_member(m, f->quantifier_offset) = n;
    for (const cJSON *kv = v->child; kv != NULL; kv = kv->next, i++) {
        size_t old;
        ProtobufCMessage *entry;
        int rc = -1;

        if (kv->string == NULL) {
            return pbjson_fail(c, "map member without a key");
        }
        old = pbjson_path_push(c, kv->string, 0);

        entry = malloc(e->sizeof_message);
        if (entry == NULL) {
            return pbjson_fail(c, "out of memory");
        }
        protobuf_c_message_init(e, entry);
        entries[i] = entry;
        if (pbjson_duplicate(v, kv)) {
            rc = pbjson_fail(c, "duplicate map key");
        } else if (pbjson_parse_key(c, &e->fields[0], kv->string,
                                    pbjson_member(entry, e->fields[0].offset)) == 0) {
            rc = cJSON_IsNull(kv) ? 0
                                  : pbjson_parse_value(c, &e->fields[1], kv,
                                                       pbjson_member(entry, e->fields[1].offset));
        }
        if (rc == -1) {
            return -1;
        }
        pbjson_path_pop(c, old);
    }
    return 0;
}

static int pbjson_parse_repeated(struct pbjson_ctx *c, const ProtobufCFieldDescriptor *f,
                                 const cJSON *v, ProtobufCMessage *m)
{
    size_t n = (size_t)cJSON_GetArraySize(v);
    size_t elt = pbjson_elt_size(f->type);
    char *arr;
    long i = 0;

    if (!cJSON_IsArray(v)) {
        return pbjson_fail(c, "expected an array, got %s", pbjson_json_type(v));
    }
    if (n == 0) {
        return 0;
    }
    arr = calloc(n, elt);
    if (arr == NULL) {
        return pbjson_fail(c, "out of memory");
    }
    *(char **)pbjson_member(m, f->offset) = arr;
    *(size_t *)pbjson_member(m, f->quantifier_offset) = n;
    for (const cJSON *item = v->child; item != NULL; item = item->next, i++) {
        size_t old = pbjson_path_push(c, NULL, i);

        if (cJSON_IsNull(item)) {
            return pbjson_fail(c, "null is not allowed in an array");
        }
        if (pbjson_parse_value(c, f, item, arr + (size_t)i * elt) == -1) {
            return -1;
        }
        pbjson_path_pop(c, old);
    }
    return 0;
}

/* Marks a singular field present: the oneof case, or a proto2 has_ flag. */
static void pbjson_mark_present(const ProtobufCFieldDescriptor *f, ProtobufCMessage *m)
{
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
        *(uint32_t *)pbjson_member(m, f->quantifier_offset) = f->id;
    } else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->type != PROTOBUF_C_TYPE_STRING &&
               f->type != PROTOBUF_C_TYPE_MESSAGE) {
        *(protobuf_c_boolean *)pbjson_member(m, f->quantifier_offset) = 1;
    }
}

static int pbjson_parse_field(struct pbjson_ctx *c, const ProtobufCMessageDescriptor *d,
                              const ProtobufCFieldDescriptor *f, const cJSON *v,
                              ProtobufCMessage *m)
{
    if (cJSON_IsNull(v)) {
        return 0; /* null: keep the default */
    }
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
        return pbjson_is_map(d, f) ? pbjson_parse_map(c, f, v, m)
                                   : pbjson_parse_repeated(c, f, v, m);
    }
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
        uint32_t set = *(const uint32_t *)pbjson_member(m, f->quantifier_offset);
        if (set != 0 && set != f->id) {
            const ProtobufCFieldDescriptor *other = protobuf_c_message_descriptor_get_field(d, set);
            return pbjson_fail(c, "only one of a oneof may be set (also got '%s')",
                               other != NULL ? other->name : "?");
        }
    }
    /* Singular strings, bytes and messages start at their static default or
     * NULL; nothing was allocated yet (duplicates are rejected earlier). */
    if (pbjson_parse_value(c, f, v, pbjson_member(m, f->offset)) == -1) {
        return -1;
    }
    pbjson_mark_present(f, m);
    return 0;
}

static int pbjson_parse_message(struct pbjson_ctx *c, const ProtobufCMessageDescriptor *d,
                                const cJSON *obj, ProtobufCMessage *m)
{
    for (const cJSON *item = obj->child; item != NULL; item = item->next) {
        const ProtobufCFieldDescriptor *f;
        size_t old;

        if (item->string == NULL) {
            return pbjson_fail(c, "object member without a name");
        }
        f = protobuf_c_message_descriptor_get_field_by_name(d, item->string);
        old = pbjson_path_push(c, item->string, 0);

        if (f == NULL) {
            if (c->errlen > 0) {
                snprintf(c->err, c->errlen, "unknown field '%s' (not in %s)", c->path, d->name);
            }
            return -1;
        }
        if (pbjson_duplicate(obj, item)) {
            return pbjson_fail(c, "given more than once");
        }
        if (pbjson_parse_field(c, d, f, item, m) == -1) {
            return -1;
        }
        pbjson_path_pop(c, old);
    }
    return 0;
}

ProtobufCMessage *pbjson_to_message(const ProtobufCMessageDescriptor *d, const cJSON *json,
                                    char *err, size_t errlen)
{
    struct pbjson_ctx c;
    ProtobufCMessage *m;

    memset(&c, 0, sizeof(c));
    c.err = err;
    c.errlen = errlen;
    if (errlen > 0) {
        err[0] = '\0';
    }
    if (d == NULL || d->magic != PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC) {
        pbjson_fail(&c, "no message type");
        return NULL;
    }
    if (!cJSON_IsObject(json)) {
        pbjson_fail(&c, "expected a JSON object for %s, got %s", d->name,
                    json != NULL ? pbjson_json_type(json) : "nothing");
        return NULL;
    }
    m = malloc(d->sizeof_message);
    if (m == NULL) {
        pbjson_fail(&c, "out of memory");
        return NULL;
    }
    protobuf_c_message_init(d, m);
    if (pbjson_parse_message(&c, d, json, m) == -1) {
        protobuf_c_message_free_unpacked(m, NULL);
        return NULL;
    }
    return m;
}
