#ifndef ANALYTICS_TEXTCHECK_H
#define ANALYTICS_TEXTCHECK_H

/*
 * Checks on text before (or without) parsing it, for the collector's JSON
 * input and anyone who reads times: nesting depth, numbers PostgreSQL's
 * numeric holds, ISO-8601 dates and date-times (UTF-8: analytics/utf8.h). Pure: no I/O, no
 * allocation.
 */

#include <stdbool.h>
#include <stddef.h>

#define TEXTCHECK_PG_MAX_DSCALE 16383LL /* digits after the decimal point */

/* Checks that the JSON text s[0..len) nests arrays and objects at most max
 * levels deep, in one linear pass that skips strings (and their escapes);
 * it does not otherwise check the syntax. Returns 0, or -1 with the offset
 * of the first bracket beyond max in *too_deep_at (when not NULL). */
int textcheck_nesting(const char *s, size_t len, size_t max, size_t *too_deep_at);

/* True when the JSON number text s[0..len) (as cJSON reads one: sign,
 * digits, point, exponent) is a value PostgreSQL 15's numeric accepts: an
 * exponent below 2^30 - 1 in magnitude, at most 16383 digits after the
 * decimal point and a most significant digit below 10^131072, once the
 * exponent is applied. */
bool textcheck_numeric(const char *s, size_t len);

/* Parses an ISO-8601 date-time: YYYY-MM-DDTHH:MM:SS with optional fraction
 * (up to 9 digits) and a zone of Z or +-HH:MM (none means UTC); a space may
 * stand for T. Returns 0 with milliseconds since the epoch, or -1. */
int textcheck_iso8601(const char *s, long long *out_ms);

/* Parses an ISO-8601 calendar date, YYYY-MM-DD exactly (nothing after it),
 * checking the day against the month (leap years included). Returns 0 with
 * the days since 1970-01-01 in *out_day, or -1. */
int textcheck_date(const char *s, long long *out_day);

#endif
