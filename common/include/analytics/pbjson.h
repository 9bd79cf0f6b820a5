#ifndef ANALYTICS_PBJSON_H
#define ANALYTICS_PBJSON_H

/*
 * Generic protobuf-c message <-> JSON, driven by the message descriptors, so
 * one piece of code serves every message in proto/analytics/v1.
 *
 * Mapping (both directions):
 *   names            field names exactly as in the .proto (snake_case)
 *   int32/uint32     JSON numbers
 *   int64/uint64     JSON numbers; values beyond +-2^53 are written as raw
 *                    decimal digits (exact in text), and are also accepted
 *                    as decimal strings ("9007199254740993")
 *   float/double     JSON numbers; "NaN", "Infinity", "-Infinity" as strings
 *   bool             true/false
 *   enum             the value's name ("DEVICE_TYPE_MOBILE"); a number for a
 *                    value the descriptor does not know. Input takes either.
 *   string           JSON string (invalid UTF-8 is written as U+FFFD)
 *   bytes            standard base64 with padding (input also takes the URL
 *                    alphabet and missing padding)
 *   message          nested object; an unset (NULL) submessage is omitted
 *   repeated         array
 *   map<K, V>        object; keys as text (protobuf-c stores maps as repeated
 *                    XxxEntry messages with fields key and value)
 *   oneof            only the member that is set
 * Every scalar field is written, default values included, so a reader sees
 * them all. A proto2 optional field is written only when present.
 * On input, JSON null for a field means "leave the default".
 */

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>
#include <protobuf-c/protobuf-c.h>

/* Converts m to a JSON object. Returns a new cJSON tree (caller frees with
 * cJSON_Delete), or NULL when out of memory. */
cJSON *pbjson_from_message(const ProtobufCMessage *m);

/* Builds a message of type d from the JSON object json. Unknown keys, a key
 * given twice, wrong JSON types, out-of-range numbers, unknown enum names and
 * bad base64 are errors. Returns a new message, allocated the way
 * protobuf_c_message_unpack would (each string, bytes buffer, submessage and
 * repeated array its own malloc), so the caller frees it with
 * protobuf_c_message_free_unpacked(m, NULL). Returns NULL on error, with a
 * one-line reason naming the field in err (errlen bytes, may be 0). */
ProtobufCMessage *pbjson_to_message(const ProtobufCMessageDescriptor *d, const cJSON *json,
                                    char *err, size_t errlen);

/* Maps a short type name ("raw", "enriched", "score", "journey", "trigger",
 * "privacy", "deadletter") or a full name ("analytics.v1.RawEvent") to its
 * descriptor. Returns a static descriptor, or NULL when unknown. */
const ProtobufCMessageDescriptor *pbjson_descriptor_for(const char *type_name);

/* The short type names pbjson_descriptor_for knows, "|"-separated, for help
 * texts. Static string. */
const char *pbjson_type_names(void);

/* Encodes len bytes as standard base64 with padding. Returns a new
 * NUL-terminated string (caller frees with free), or NULL when out of memory. */
char *pbjson_base64_encode(const void *data, size_t len);

/* Decodes base64 (standard or URL alphabet, padding optional, no
 * whitespace). Returns 0 with a new buffer in *out (caller frees with free;
 * NULL when *outlen is 0), or -1 when s is not valid base64. */
int pbjson_base64_decode(const char *s, unsigned char **out, size_t *outlen);

#endif
