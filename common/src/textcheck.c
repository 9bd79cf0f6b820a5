/* Checks on JSON and date text before (or without) parsing it: nesting
 * depth, numbers PostgreSQL's numeric can hold, UTF-8, ISO-8601 times.
 * Pure, no allocation. */
#include "analytics/textcheck.h"

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* PostgreSQL 15 numeric (src/backend/utils/adt/numeric.c): the exponent
 * bound of set_var_from_str, the display scale of 14 bits and a weight of
 * int16 base-10000 digits (below 10^131072), checked by make_result. */

#define TEXTCHECK_PG_EXP_LIMIT 1073741823LL /* INT_MAX / 2: |exponent| must stay below */
#define TEXTCHECK_PG_MAX_MSD 131071LL       /* power of ten of the most significant digit */

/* ---- nesting ---- */

/* The state of textcheck_nesting between bytes. */
struct textcheck_nest {
    size_t depth;
    size_t skip; /* offset of the byte an escape takes, SIZE_MAX for none */
    bool in_string;
};

/* Feeds the byte c at offset i to the nesting state. Only quotes,
 * backslashes and brackets change it. Returns -1 when c opens a level
 * beyond max, else 0. */
static inline int textcheck_nest_byte(struct textcheck_nest *st, char c, size_t i, size_t max)
{
    if (i == st->skip) {
        return 0;
    }
    if (st->in_string) {
        if (c == '\\') {
            st->skip = i + 1;
        } else if (c == '"') {
            st->in_string = false;
        }
    } else if (c == '"') {
        st->in_string = true;
    } else if (c == '{' || c == '[') {
        if (++st->depth > max) {
            return -1;
        }
    } else if ((c == '}' || c == ']') && st->depth > 0) {
        st->depth--;
    }
    return 0;
}

#if defined(__SSE2__)
/* Bit k set when p[k] (of 16) is a quote, a backslash or a bracket. */
static inline unsigned textcheck_specials16(const char *p)
{
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i f = _mm_and_si128(v, _mm_set1_epi8((char)0xDF)); /* { and } fold onto [ and ] */
    __m128i m = _mm_or_si128(
        _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))),
        _mm_or_si128(_mm_cmpeq_epi8(f, _mm_set1_epi8('[')), _mm_cmpeq_epi8(f, _mm_set1_epi8(']'))));

    return (unsigned)_mm_movemask_epi8(m);
}
#endif

int textcheck_nesting(const char *s, size_t len, size_t max, size_t *too_deep_at)
{
    struct textcheck_nest st = {0, SIZE_MAX, false};
    size_t i = 0;

#if defined(__SSE2__)
    /* 16 bytes at a time, visiting only the bytes that matter */
    for (; len - i >= 16; i += 16) {
        for (unsigned m = textcheck_specials16(s + i); m != 0; m &= m - 1) {
            size_t k = i + (size_t)__builtin_ctz(m);

            if (textcheck_nest_byte(&st, s[k], k, max) != 0) {
                i = k;
                goto too_deep;
            }
        }
    }
#endif
    for (; i < len; i++) {
        if (textcheck_nest_byte(&st, s[i], i, max) != 0) {
            goto too_deep;
        }
    }
    return 0;

too_deep:
    if (too_deep_at != NULL) {
        *too_deep_at = i;
    }
    return -1;
}

/* ---- numbers ---- */

/* Reads the decimal digits at s[*i..n) into *v, saturating at limit, and
 * advances *i past them. Returns how many there were. */
static size_t textcheck_read_digits(const char *s, size_t n, size_t *i, long long limit,
                                    long long *v)
{
    size_t start = *i;

    *v = 0;
    while (*i < n && s[*i] >= '0' && s[*i] <= '9') {
        if (*v < limit) {
            *v = *v * 10 + (s[*i] - '0');
        }
        (*i)++;
    }
    if (*v > limit) {
        *v = limit;
    }
    return *i - start;
}

bool textcheck_numeric(const char *s, size_t n)
{
    size_t i = 0, int_start, int_n, frac_n = 0;
    long long msd = LLONG_MIN, e = 0;
    bool neg_exp = false;

    if (i < n && (s[i] == '-' || s[i] == '+')) {
        i++;
    }
    for (int_start = i; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
        if (msd == LLONG_MIN && s[i] != '0') {
            msd = (long long)i; /* made relative below */
        }
    }
    int_n = i - int_start;
    if (msd != LLONG_MIN) {
        msd = (long long)(int_n - 1) - (msd - (long long)int_start);
    }
    if (i < n && s[i] == '.') {
        for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
            frac_n++;
            if (msd == LLONG_MIN && s[i] != '0') {
                msd = -(long long)frac_n;
            }
        }
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) {
            neg_exp = s[i] == '-';
            i++;
        }
        textcheck_read_digits(s, n, &i, TEXTCHECK_PG_EXP_LIMIT, &e);
        if (e >= TEXTCHECK_PG_EXP_LIMIT) {
            return false;
        }
        e = neg_exp ? -e : e;
    }
    if ((long long)frac_n - e > TEXTCHECK_PG_MAX_DSCALE) {
        return false;
    }
    return msd == LLONG_MIN || msd + e <= TEXTCHECK_PG_MAX_MSD;
}

/* ---- ISO-8601 ---- */

/* Reads exactly n decimal digits at *p into *out and advances; -1 otherwise. */
static int textcheck_digits(const char **p, int n, int *out)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        char c = (*p)[i];

        if (c < '0' || c > '9') {
            return -1;
        }
        v = v * 10 + (c - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

/* Consumes the character c at *p; -1 when it is something else. */
static int textcheck_expect(const char **p, char c)
{
    if (**p != c) {
        return -1;
    }
    (*p)++;
    return 0;
}

static bool textcheck_leap_year(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int textcheck_days_in_month(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    return m == 2 && textcheck_leap_year(y) ? 29 : days[m - 1];
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
 * (H. Hinnant's days_from_civil). */
static long long textcheck_days_from_civil(long long y, int m, int d)
{
    long long era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* Parses [.fraction] at *p: 1..9 digits, kept to the millisecond (truncated). */
static int textcheck_fraction(const char **p, int *ms)
{
    const char *s = *p;
    int n = 0, v = 0;

    *ms = 0;
    if (*s != '.') {
        return 0;
    }
    s++;
    while (*s >= '0' && *s <= '9') {
        if (++n > 9) {
            return -1;
        }
        if (n <= 3) {
            v = v * 10 + (*s - '0');
        }
        s++;
    }
    if (n == 0) {
        return -1;
    }
    for (int k = n; k < 3; k++) {
        v *= 10;
    }
    *ms = v;
    *p = s;
    return 0;
}

/* Parses the zone at *p (Z, +HH:MM, -HH:MM or nothing) into seconds east of UTC. */
static int textcheck_zone(const char **p, int *offset_s)
{
    const char *s = *p;
    int sign, oh, om;

    *offset_s = 0;
    if (*s == 'Z') {
        *p = s + 1;
        return 0;
    }
    if (*s != '+' && *s != '-') {
        return 0;
    }
    sign = *s == '-' ? -1 : 1;
    s++;
    if (textcheck_digits(&s, 2, &oh) != 0 || textcheck_expect(&s, ':') != 0 ||
        textcheck_digits(&s, 2, &om) != 0 || oh > 23 || om > 59) {
        return -1;
    }
    *offset_s = sign * (oh * 3600 + om * 60);
    *p = s;
    return 0;
}

int textcheck_date(const char *s, long long *out_day)
{
    int y, mo, d;

    if (s == NULL || out_day == NULL) {
        return -1;
    }
    if (textcheck_digits(&s, 4, &y) != 0 || textcheck_expect(&s, '-') != 0 ||
        textcheck_digits(&s, 2, &mo) != 0 || textcheck_expect(&s, '-') != 0 ||
        textcheck_digits(&s, 2, &d) != 0 || *s != '\0') {
        return -1;
    }
    if (mo < 1 || mo > 12 || d < 1 || d > textcheck_days_in_month(y, mo)) {
        return -1;
    }
    *out_day = textcheck_days_from_civil(y, mo, d);
    return 0;
}

int textcheck_iso8601(const char *s, long long *out_ms)
{
    int y, mo, d, h, mi, sec, ms, offset_s;
    long long secs;

    if (s == NULL || out_ms == NULL) {
        return -1;
    }
    if (textcheck_digits(&s, 4, &y) != 0 || textcheck_expect(&s, '-') != 0 ||
        textcheck_digits(&s, 2, &mo) != 0 || textcheck_expect(&s, '-') != 0 ||
        textcheck_digits(&s, 2, &d) != 0) {
        return -1;
    }
    if (*s != 'T' && *s != ' ') {
        return -1;
    }
    s++;
    if (textcheck_digits(&s, 2, &h) != 0 || textcheck_expect(&s, ':') != 0 ||
        textcheck_digits(&s, 2, &mi) != 0 || textcheck_expect(&s, ':') != 0 ||
        textcheck_digits(&s, 2, &sec) != 0) {
        return -1;
    }
    if (textcheck_fraction(&s, &ms) != 0 || textcheck_zone(&s, &offset_s) != 0 || *s != '\0') {
        return -1;
    }
    if (mo < 1 || mo > 12 || d < 1 || d > textcheck_days_in_month(y, mo) || h > 23 || mi > 59 ||
        sec > 60) {
        return -1;
    }
    secs = textcheck_days_from_civil(y, mo, d) * 86400LL + h * 3600LL + mi * 60LL + sec - offset_s;
    *out_ms = secs * 1000 + ms;
    return 0;
}
