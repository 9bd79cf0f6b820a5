#ifndef ANALYTICS_CORS_H
#define ANALYTICS_CORS_H

/*
 * CORS origin allow-list for a public HTTP daemon: built once from
 * configuration, then only read, so request threads share it. Pure logic.
 */

#include <stdbool.h>
#include <stddef.h>

enum cors_decision {
    CORS_NO_ORIGIN = 0, /* no Origin header: not a cross-origin browser request */
    CORS_ALLOWED = 1,
    CORS_DENIED = 2,
};

struct cors;

/* Builds the allow-list from a comma-separated list of origins
 * ("https://a.example,https://b.example"; "*" allows any origin; empty or
 * NULL allows none). Origins compare case-insensitively, without a trailing
 * slash. Returns a new object (caller frees with cors_free), or NULL with
 * the reason in err (an entry that is not scheme://host[:port]). */
struct cors *cors_new(const char *allowlist, char *err, size_t errlen);

/* Decides for one request's Origin header (NULL when absent). */
enum cors_decision cors_check(const struct cors *c, const char *origin);

void cors_free(struct cors *c);

#endif
