#ifndef ANALYTICS_WRITE_KEYS_H
#define ANALYTICS_WRITE_KEYS_H

/*
 * Per-site write keys of a public ingest endpoint, compared in constant
 * time (analytics/secret.h). Built once from configuration, then only read,
 * so request threads share the set. Pure logic.
 */

#include <stdbool.h>
#include <stddef.h>

struct write_keys;

/* Builds the key set from "site:key,site2:key2" (a bare "key" gets site
 * "default"). Empty or NULL: keys are off and every request passes. Returns a
 * new object (caller frees with write_keys_free), or NULL with the reason in
 * err. */
struct write_keys *write_keys_new(const char *spec, char *err, size_t errlen);

/* True when at least one key is configured. */
bool write_keys_enabled(const struct write_keys *wk);

/* Compares key (NULL when the request had none) against every configured key
 * in constant time per key. Returns the site id of the match (borrowed from
 * wk), or NULL. When keys are off, returns "" for any key. */
const char *write_keys_match(const struct write_keys *wk, const char *key);

void write_keys_free(struct write_keys *wk);

#endif
