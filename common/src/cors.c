/*
 * The CORS origin allow-list. Contracts in analytics/cors.h; pure logic.
 */
#include "analytics/cors.h"
#include "analytics/errbuf.h"
#include "analytics/ipaddr.h"
#include "analytics/strlist.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

struct cors {
    bool any;       /* "*" was listed */
    size_t n;       /* entries in origins */
    char **origins; /* lower-cased, without trailing slash */
    size_t *lens;
};

/* True when s[0..len) is a host name (letters, digits, '-', '.') or an IPv6
 * literal in brackets. */
static bool cors_host_valid(const char *s, size_t len)
{
    if (len == 0) {
        return false;
    }
    if (s[0] == '[') {
        char buf[64];
        unsigned char addr[16];
        if (len < 3 || s[len - 1] != ']' || len - 2 >= sizeof(buf)) {
            return false;
        }
        memcpy(buf, s + 1, len - 2);
        buf[len - 2] = '\0';
        return inet_pton(AF_INET6, buf, addr) == 1;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (!isalnum(ch) && ch != '-' && ch != '.') {
            return false;
        }
    }
    return true;
}

/* True when s[0..len) (trailing slash already removed) is
 * http[s]://host[:port], or the literal "null" origin. */
static bool cors_origin_valid(const char *s, size_t len)
{
    const char *host;
    const char *end = s + len;
    const char *colon;
    size_t scheme_len;

    if (len == 4 && strncasecmp(s, "null", 4) == 0) {
        return true;
    }
    if (len > 7 && strncasecmp(s, "http://", 7) == 0) {
        scheme_len = 7;
    } else if (len > 8 && strncasecmp(s, "https://", 8) == 0) {
        scheme_len = 8;
    } else {
        return false;
    }
    host = s + scheme_len;
    if (*host == '[') {
        colon = memchr(host, ']', (size_t)(end - host));
        if (colon == NULL) {
            return false;
        }
        colon++;
        if (colon != end && *colon != ':') {
            return false;
        }
    } else {
        colon = memchr(host, ':', (size_t)(end - host));
        if (colon == NULL) {
            colon = end;
        }
    }
    if (!cors_host_valid(host, (size_t)(colon - host))) {
        return false;
    }
    return colon == end || ipaddr_port_valid(colon + 1, (size_t)(end - colon - 1));
}

struct cors *cors_new(const char *allowlist, char *err, size_t errlen)
{
    struct cors *c = calloc(1, sizeof(*c));
    const char *pos = allowlist;
    const char *item;
    size_t len;
    size_t cap;

    if (c == NULL) {
        errbuf_printf(err, errlen, "out of memory");
        return NULL;
    }
    if (strlist_blank(allowlist)) {
        return c;
    }
    cap = strlist_count(allowlist);
    c->origins = calloc(cap, sizeof(*c->origins));
    c->lens = calloc(cap, sizeof(*c->lens));
    if (c->origins == NULL || c->lens == NULL) {
        errbuf_printf(err, errlen, "out of memory");
        goto out_free;
    }
    while (strlist_next(&pos, &item, &len)) {
        if (len == 1 && item[0] == '*') {
            c->any = true;
            continue;
        }
        if (len > 0 && item[len - 1] == '/') {
            len--;
        }
        if (!cors_origin_valid(item, len)) {
            errbuf_printf(err, errlen, "CORS origin \"%.*s\" is not scheme://host[:port]",
                          (int)(len > 200 ? 200 : len), item);
            goto out_free;
        }
        c->origins[c->n] = strndup(item, len);
        if (c->origins[c->n] == NULL) {
            errbuf_printf(err, errlen, "out of memory");
            goto out_free;
        }
        for (size_t i = 0; i < len; i++) {
            c->origins[c->n][i] = (char)tolower((unsigned char)c->origins[c->n][i]);
        }
        c->lens[c->n] = len;
        c->n++;
    }
    return c;

out_free:
    cors_free(c);
    return NULL;
}

enum cors_decision cors_check(const struct cors *c, const char *origin)
{
    size_t len;

    if (origin == NULL || origin[0] == '\0') {
        return CORS_NO_ORIGIN;
    }
    if (c == NULL) {
        return CORS_DENIED;
    }
    if (c->any) {
        return CORS_ALLOWED;
    }
    len = strlen(origin);
    if (origin[len - 1] == '/') {
        len--;
    }
    for (size_t i = 0; i < c->n; i++) {
        if (c->lens[i] == len && strncasecmp(c->origins[i], origin, len) == 0) {
            return CORS_ALLOWED;
        }
    }
    return CORS_DENIED;
}

void cors_free(struct cors *c)
{
    if (c == NULL) {
        return;
    }
    for (size_t i = 0; i < c->n; i++) {
        free(c->origins[i]);
    }
    free(c->origins);
    free(c->lens);
    free(c);
}
