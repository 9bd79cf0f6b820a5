#ifndef PUSH_GATEWAY_RULEFILE_H
#define PUSH_GATEWAY_RULEFILE_H

/*
 * Reading the rule files an operator edits (personalize.json,
 * audiences.json): the checks every such file gets before and after it is
 * parsed, so a bad edit is refused with a reason that says where, and no
 * file, however made, exhausts the stack or memory. Pure but for reading
 * the file.
 */

#include <stdbool.h>
#include <stddef.h>

struct cJSON;

#define RULEFILE_DEPTH_MAX 32 /* arrays and objects nested, the whole document */

/* Reads and parses the JSON object in the file at path, at most max_bytes.
 * Nesting is checked in a linear pass before parsing, so a document nested
 * 10,000 deep is refused without recursion. Returns the document (caller
 * frees with cJSON_Delete), or NULL with the reason in err: "<path>: <why>",
 * naming the byte (and line:column) where malformed or too deep JSON
 * stops; unreadable, larger than max_bytes, a "\u0000" escape in a string
 * (cJSON would cut the string there), not an object, data after it. */
struct cJSON *rulefile_read(const char *path, size_t max_bytes, char *err, size_t errlen);

/* Checks that every key of the object obj is one of keys[0..n) and that
 * none is given twice. Returns 0, or -1 with "<where>: unknown key \"k\""
 * or "<where>: key \"k\" given twice" in err. */
int rulefile_keys(const struct cJSON *obj, const char *const *keys, size_t n, const char *where,
                  char *err, size_t errlen);

/* True when every key and string value in j (recursively; j is nested at
 * most RULEFILE_DEPTH_MAX deep, as rulefile_read ensures) is well-formed
 * UTF-8. */
bool rulefile_utf8(const struct cJSON *j);

/* True when s is a name: 1..max bytes of ASCII letters, digits, '-', '_'
 * and '.'. */
bool rulefile_name_ok(const char *s, size_t max);

#endif
