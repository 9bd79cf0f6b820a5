#ifndef ANALYTICS_UTF8_H
#define ANALYTICS_UTF8_H

/*
 * The one UTF-8 validator: well-formed UTF-8 as RFC 3629 has it (no
 * overlongs, no surrogates, nothing above U+10FFFF). The collector checks
 * bodies with it, the enricher decoded query values, the journey-builder
 * archive columns, pbjson and dump what they print. Pure: no I/O, no
 * allocation.
 */

#include <stdbool.h>
#include <stddef.h>

enum utf8_status {
    UTF8_VALID = 0,
    UTF8_INVALID = -1,   /* a byte that no well-formed text has there */
    UTF8_TRUNCATED = -2, /* valid, but for a sequence the end cut short */
};

/* Checks s[0..len). Returns UTF8_VALID; UTF8_INVALID with the offset of the
 * first byte of the bad sequence in *bad_at; or UTF8_TRUNCATED when all is
 * well-formed but the last sequence, which the end of s cuts short, with
 * the offset where that sequence starts in *bad_at. bad_at may be NULL. */
enum utf8_status utf8_check(const char *s, size_t len, size_t *bad_at);

/* True when s[0..len) is well-formed UTF-8 (utf8_check gives UTF8_VALID). */
bool utf8_valid(const char *s, size_t len);

/* The length (1 to 4) of the well-formed sequence that starts s[0..n), or 0
 * when there is none (n is 0, or the bytes are not one). */
size_t utf8_sequence(const char *s, size_t n);

#endif
