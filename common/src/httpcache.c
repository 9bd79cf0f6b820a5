#include "analytics/httpcache.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *hc_skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t') {
        p++;
    }
    return p;
}

/* Whether the parameters in p[0..n) give q=0 (a q with no digit above 0). */
static bool hc_q_zero(const char *p, size_t n)
{
    for (const char *semi = memchr(p, ';', n); semi != NULL;
         semi = memchr(semi + 1, ';', (size_t)(p + n - (semi + 1)))) {
        const char *v = hc_skip_ws(semi + 1);
        if ((*v == 'q' || *v == 'Q') && v[1] == '=') {
            return strtod(v + 2, NULL) <= 0.0;
        }
    }
    return false;
}

/* The coding p[0..n) names (up to its parameters): a HTTP_CODING_* bit, -1
 * for "*", 0 for another. */
static int hc_coding(const char *p, size_t n)
{
    const char *semi = memchr(p, ';', n);
    size_t len = semi != NULL ? (size_t)(semi - p) : n;

    while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t')) {
        len--;
    }
    if (len == 4 && strncasecmp(p, "gzip", 4) == 0) {
        return HTTP_CODING_GZIP;
    }
    if (len == 2 && strncasecmp(p, "br", 2) == 0) {
        return HTTP_CODING_BR;
    }
    return len == 1 && *p == '*' ? -1 : 0;
}

int http_accept_codings(const char *h)
{
    int taken = 0, named = 0;
    bool star = false;

    while (h != NULL && *h != '\0') {
        h = hc_skip_ws(h);
        const char *comma = strchr(h, ',');
        size_t n = comma != NULL ? (size_t)(comma - h) : strlen(h);
        int c = hc_coding(h, n);
        bool zero = hc_q_zero(h, n);
        if (c == -1) {
            star = !zero;
        } else if (c != 0) {
            named |= c;
            taken = zero ? taken & ~c : taken | c;
        }
        h = comma != NULL ? comma + 1 : NULL;
    }
    if (star) {
        taken |= (HTTP_CODING_GZIP | HTTP_CODING_BR) & ~named;
    }
    return taken;
}

bool http_etag_match(const char *p, const char *etag)
{
    const char *want = etag[0] == 'W' && etag[1] == '/' ? etag + 2 : etag;
    size_t wn = strlen(want);

    if (p == NULL) {
        return false;
    }
    for (;;) {
        p = hc_skip_ws(p);
        if (*p == '*') {
            return true;
        }
        if (p[0] == 'W' && p[1] == '/') {
            p += 2;
        }
        if (*p != '"') {
            return false;
        }
        const char *end = strchr(p + 1, '"');
        if (end == NULL) {
            return false;
        }
        if ((size_t)(end + 1 - p) == wn && memcmp(p, want, wn) == 0) {
            return true;
        }
        p = hc_skip_ws(end + 1);
        if (*p != ',') {
            return false;
        }
        p++;
    }
}
