/*
 * The UTF-8 validator. Contracts in analytics/utf8.h.
 */
#include "analytics/utf8.h"

#include <stdint.h>
#include <string.h>

/* The length of the sequence that lead byte c starts (0 when it starts
 * none) and the range the second byte must lie in. */
static size_t utf8_lead(unsigned char c, unsigned char *lo, unsigned char *hi)
{
    *lo = 0x80;
    *hi = 0xBF;
    if (c < 0x80) {
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        return 2;
    }
    if (c >= 0xE0 && c <= 0xEF) {
        *lo = c == 0xE0 ? 0xA0 : 0x80; /* no overlongs */
        *hi = c == 0xED ? 0x9F : 0xBF; /* no surrogates */
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        *lo = c == 0xF0 ? 0x90 : 0x80; /* no overlongs */
        *hi = c == 0xF4 ? 0x8F : 0xBF; /* nothing above U+10FFFF */
        return 4;
    }
    return 0; /* continuation byte, C0/C1 overlongs, F5..FF */
}

/* How many of the have bytes at p (have < need of a sequence of need bytes
 * whose second byte lies in [lo, hi]) are right for it: have when all are. */
static size_t utf8_prefix(const unsigned char *p, size_t have, unsigned char lo, unsigned char hi)
{
    if (have > 1 && (p[1] < lo || p[1] > hi)) {
        return 1;
    }
    for (size_t k = 2; k < have; k++) {
        if ((p[k] & 0xC0) != 0x80) {
            return k;
        }
    }
    return have;
}

size_t utf8_sequence(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    unsigned char lo, hi;
    size_t need;

    if (n == 0) {
        return 0;
    }
    need = utf8_lead(p[0], &lo, &hi);
    if (need == 0 || n < need) {
        return 0;
    }
    return utf8_prefix(p, need, lo, hi) == need ? need : 0;
}

enum utf8_status utf8_check(const char *s, size_t len, size_t *bad_at)
{
    const unsigned char *p = (const unsigned char *)s;
    enum utf8_status st = UTF8_INVALID;
    size_t i = 0;

    while (i < len) {
        unsigned char lo, hi;
        size_t n;

        if (len - i >= 8) {
            uint64_t w;

            memcpy(&w, p + i, sizeof(w));
            if ((w & 0x8080808080808080ULL) == 0) {
                i += 8; /* eight ASCII bytes at once */
                continue;
            }
        }
        n = utf8_lead(p[i], &lo, &hi);
        if (n == 0) {
            goto bad;
        }
        if (len - i < n) {
            if (utf8_prefix(p + i, len - i, lo, hi) == len - i) {
                st = UTF8_TRUNCATED;
            }
            goto bad;
        }
        if (utf8_prefix(p + i, n, lo, hi) != n) {
            goto bad;
        }
        i += n;
    }
    return UTF8_VALID;

bad:
    if (bad_at != NULL) {
        *bad_at = i;
    }
    return st;
}

bool utf8_valid(const char *s, size_t len)
{
    return utf8_check(s, len, NULL) == UTF8_VALID;
}
