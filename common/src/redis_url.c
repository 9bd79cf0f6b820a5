/*
 * A Redis URL read into its parts (redis_url.h): pure, so the client
 * (redis.c) connects from what it gives.
 */
#include "analytics/redis_url.h"

#include "analytics/errbuf.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Value of one hex digit, or -1. */
static int hex_val(char ch)
{
    if (ch >= '0' && ch <= '9') {
        return ch - '0';
    }
    if (ch >= 'a' && ch <= 'f') {
        return ch - 'a' + 10;
    }
    if (ch >= 'A' && ch <= 'F') {
        return ch - 'A' + 10;
    }
    return -1;
}

/* Percent-decodes the n bytes at s into dst (cap bytes, NUL-terminated).
 * Returns 0, or -1 on a bad escape, a decoded NUL or overflow. */
static int url_decode(const char *s, size_t n, char *dst, size_t cap)
{
    size_t o = 0;

    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (ch == '%') {
            int hi = i + 2 < n ? hex_val(s[i + 1]) : -1;
            int lo = hi >= 0 ? hex_val(s[i + 2]) : -1;
            if (lo < 0 || (hi == 0 && lo == 0)) {
                return -1;
            }
            ch = (char)(hi * 16 + lo);
            i += 2;
        }
        if (o + 1 >= cap) {
            return -1;
        }
        dst[o++] = ch;
    }
    dst[o] = '\0';
    return 0;
}

/* Parses the n bytes at s as a decimal in [lo, hi]. Returns 0 or -1. */
static int parse_num(const char *s, size_t n, long lo, long hi, long *out)
{
    char tmp[16];
    char *end = NULL;

    if (n == 0 || n >= sizeof(tmp)) {
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
    }
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    long v = strtol(tmp, &end, 10);
    if (*end != '\0' || v < lo || v > hi) {
        return -1;
    }
    *out = v;
    return 0;
}

/* Parses "[[user]:password@]" from the n bytes of userinfo into c. */
static int parse_userinfo(struct redis_url *c, const char *s, size_t n, char *err, size_t errlen)
{
    const char *colon = memchr(s, ':', n);

    if (colon == NULL) {
        errbuf_printf(err, errlen,
                      "Redis URL: credentials need a ':' (redis://:password@host or "
                      "redis://user:password@host)");
        return -1;
    }
    if (url_decode(s, (size_t)(colon - s), c->user, sizeof(c->user)) == -1) {
        errbuf_printf(err, errlen, "Redis URL: bad user name (escape or length)");
        return -1;
    }
    size_t plen = n - (size_t)(colon - s) - 1;
    if (url_decode(colon + 1, plen, c->pass, sizeof(c->pass)) == -1) {
        errbuf_printf(err, errlen, "Redis URL: bad password (escape or length)");
        return -1;
    }
    c->has_pass = true;
    return 0;
}

/* Parses "host[:port]" or "[v6]:port" from the n bytes at s into c. */
static int parse_hostport(struct redis_url *c, const char *s, size_t n, char *err, size_t errlen)
{
    const char *host = s;
    size_t hlen;
    const char *rest;

    if (n > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', n);
        if (close == NULL) {
            errbuf_printf(err, errlen, "Redis URL: unterminated '[' in host");
            return -1;
        }
        host = s + 1;
        hlen = (size_t)(close - host);
        rest = close + 1;
    } else {
        const char *colon = memchr(s, ':', n);
        hlen = colon != NULL ? (size_t)(colon - s) : n;
        rest = s + hlen;
    }
    if (hlen == 0 || hlen >= sizeof(c->host)) {
        errbuf_printf(err, errlen, "Redis URL: %s host", hlen == 0 ? "empty" : "too long");
        return -1;
    }
    memcpy(c->host, host, hlen);
    c->host[hlen] = '\0';

    size_t rlen = n - (size_t)(rest - s);
    long port = 6379;
    if (rlen > 0 && (rest[0] != ':' || parse_num(rest + 1, rlen - 1, 1, 65535, &port) == -1)) {
        errbuf_printf(err, errlen, "Redis URL: bad port '%.*s' (1-65535)",
                      (int)(rlen > 1 ? rlen - 1 : 0), rest + 1);
        return -1;
    }
    c->port = (int)port;
    return 0;
}

int redis_url_parse(const char *url, struct redis_url *c, char *err, size_t errlen)
{
    static const char scheme[] = "redis://";

    if (url == NULL || strncasecmp(url, scheme, sizeof(scheme) - 1) != 0) {
        errbuf_printf(err, errlen,
                      "Redis URL: must start with redis:// "
                      "(rediss:// and unix sockets are not supported)");
        return -1;
    }
    const char *auth = url + sizeof(scheme) - 1;
    size_t alen = strcspn(auth, "/?#");
    const char *path = auth + alen;
    if (*path == '?' || *path == '#') {
        errbuf_printf(err, errlen, "Redis URL: query and fragment are not supported");
        return -1;
    }

    const char *at = NULL;
    for (size_t i = 0; i < alen; i++) {
        if (auth[i] == '@') {
            at = auth + i;
        }
    }
    if (at != NULL && parse_userinfo(c, auth, (size_t)(at - auth), err, errlen) == -1) {
        return -1;
    }
    const char *hp = at != NULL ? at + 1 : auth;
    if (parse_hostport(c, hp, alen - (size_t)(hp - auth), err, errlen) == -1) {
        return -1;
    }

    long db = 0;
    if (*path == '/' && path[1] != '\0' &&
        parse_num(path + 1, strlen(path + 1), 0, INT_MAX, &db) == -1) {
        errbuf_printf(err, errlen, "Redis URL: bad database '%.32s' (a number)", path + 1);
        return -1;
    }
    c->db = (int)db;
    return 0;
}
