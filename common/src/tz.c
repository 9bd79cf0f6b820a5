/* Time zones from TZif files (RFC 8536, versions 1 to 4, with the POSIX
 * rule of the footer) and the proleptic Gregorian calendar; see tz.h. */
#include "analytics/tz.h"

#include "analytics/errbuf.h"
#include "analytics/fileio.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TZ_FILE_MAX ((size_t)1 << 20) /* the largest zone file is ~4 KiB */
#define TZ_NAME_MAX 255
#define TZ_COUNT_MAX 100000
#define TZ_OFFSET_MAX (26L * 3600) /* RFC 8536: |utoff| < 2^31, sane zones < 26 h */

/* A date of a POSIX TZ rule: Jn (1..365, no Feb 29), n (0..365), Mm.w.d. */
struct tz_date {
    char kind; /* 'J', 'N' or 'M' */
    int n, m, w, d;
    long secs; /* local time of day of the change */
};

/* The POSIX TZ string of a TZif footer, for times after the last
 * transition. */
struct tz_rule {
    long std_off; /* seconds east of UTC */
    long dst_off;
    int has_dst;
    struct tz_date start, end;
};

struct tz {
    long long *times; /* transition times, UTC seconds, strictly ascending */
    long *offsets;    /* offsets[i] applies from times[i] */
    size_t count;
    long initial; /* offset before the first transition */
    int has_rule;
    struct tz_rule rule;
};

/* ---- calendar ---------------------------------------------------------- */

static long long floor_div(long long a, long long b)
{
    long long q = a / b;

    if ((a % b != 0) && ((a < 0) != (b < 0))) {
        q--;
    }
    return q;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static long long days_from_civil(long long y, int m, int d)
{
    long long era, yoe, doy, doe;

    y -= m <= 2;
    era = floor_div(y, 400);
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* Year of a day number (inverse of days_from_civil, year only). */
static long long year_from_days(long long z)
{
    long long era, doe, yoe, doy, mp;

    z += 719468;
    era = floor_div(z, 146097);
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    return yoe + era * 400 + (mp >= 10);
}

static int is_leap(long long y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(long long y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* Day number of a rule date in year y. */
static long long rule_day(const struct tz_date *dt, long long y)
{
    long long first, day;
    int wday;

    if (dt->kind == 'J') {
        return days_from_civil(y, 1, 1) + dt->n - 1 + (is_leap(y) && dt->n >= 60);
    }
    if (dt->kind == 'N') {
        return days_from_civil(y, 1, 1) + dt->n;
    }
    first = days_from_civil(y, dt->m, 1);
    wday = (int)(((first + 4) % 7 + 7) % 7); /* 1970-01-01 was a Thursday */
    day = first + (dt->d - wday + 7) % 7 + (long long)(dt->w - 1) * 7;
    while (day >= first + month_days(y, dt->m)) {
        day -= 7;
    }
    return day;
}

static long rule_offset(const struct tz_rule *r, long long t)
{
    long long y, start, end;
    int dst;

    if (!r->has_dst) {
        return r->std_off;
    }
    y = year_from_days(floor_div(t, 86400));
    start = rule_day(&r->start, y) * 86400 + r->start.secs - r->std_off;
    end = rule_day(&r->end, y) * 86400 + r->end.secs - r->dst_off;
    if (start < end) {
        dst = t >= start && t < end;
    } else {
        dst = !(t >= end && t < start);
    }
    return dst ? r->dst_off : r->std_off;
}

/* ---- POSIX TZ string (TZif footer) ------------------------------------- */

static int parse_uint(const char **p, int max, int *out)
{
    int v = 0;

    if (**p < '0' || **p > '9') {
        return -1;
    }
    while (**p >= '0' && **p <= '9') {
        v = v * 10 + (**p - '0');
        if (v > max) {
            return -1;
        }
        (*p)++;
    }
    *out = v;
    return 0;
}

/* [+-]hh[:mm[:ss]] with hh <= max_h, in seconds. */
static int parse_hms(const char **p, int max_h, long *out)
{
    int sign = 1, h, m = 0, s = 0;

    if (**p == '+' || **p == '-') {
        sign = **p == '-' ? -1 : 1;
        (*p)++;
    }
    if (parse_uint(p, max_h, &h) != 0) {
        return -1;
    }
    if (**p == ':') {
        (*p)++;
        if (parse_uint(p, 59, &m) != 0) {
            return -1;
        }
        if (**p == ':') {
            (*p)++;
            if (parse_uint(p, 59, &s) != 0) {
                return -1;
            }
        }
    }
    *out = sign * ((long)h * 3600 + (long)m * 60 + s);
    return 0;
}

static int parse_zone_abbr(const char **p)
{
    const char *s = *p;

    if (*s == '<') {
        s++;
        while (*s != '\0' && *s != '>') {
            s++;
        }
        if (*s != '>' || s - *p < 4) {
            return -1;
        }
        *p = s + 1;
        return 0;
    }
    while ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z')) {
        s++;
    }
    if (s - *p < 3) {
        return -1;
    }
    *p = s;
    return 0;
}

static int parse_rule_date(const char **p, struct tz_date *dt)
{
    dt->secs = 2L * 3600;
    if (**p == 'M') {
        (*p)++;
        dt->kind = 'M';
        if (parse_uint(p, 12, &dt->m) != 0 || dt->m < 1 || *(*p)++ != '.' ||
            parse_uint(p, 5, &dt->w) != 0 || dt->w < 1 || *(*p)++ != '.' ||
            parse_uint(p, 6, &dt->d) != 0) {
            return -1;
        }
    } else if (**p == 'J') {
        (*p)++;
        dt->kind = 'J';
        if (parse_uint(p, 365, &dt->n) != 0 || dt->n < 1) {
            return -1;
        }
    } else {
        dt->kind = 'N';
        if (parse_uint(p, 365, &dt->n) != 0) {
            return -1;
        }
    }
    if (**p == '/') {
        (*p)++;
        return parse_hms(p, 167, &dt->secs);
    }
    return 0;
}

/* Parses a POSIX TZ string such as "GMT0BST,M3.5.0/1,M10.5.0". Returns 0 or
 * -1. */
static int parse_posix_tz(const char *s, struct tz_rule *r)
{
    long off;

    memset(r, 0, sizeof(*r));
    if (parse_zone_abbr(&s) != 0 || parse_hms(&s, 24, &off) != 0) {
        return -1;
    }
    r->std_off = -off;
    if (*s == '\0') {
        return 0;
    }
    if (parse_zone_abbr(&s) != 0) {
        return -1;
    }
    r->has_dst = 1;
    r->dst_off = r->std_off + 3600;
    if (*s != ',' && *s != '\0') {
        if (parse_hms(&s, 24, &off) != 0) {
            return -1;
        }
        r->dst_off = -off;
    }
    if (*s == '\0') { /* no rule: POSIX leaves it open, tzcode uses the US one */
        s = ",M3.2.0,M11.1.0";
    }
    if (*s++ != ',' || parse_rule_date(&s, &r->start) != 0 || *s++ != ',' ||
        parse_rule_date(&s, &r->end) != 0 || *s != '\0') {
        return -1;
    }
    return 0;
}

/* ---- TZif -------------------------------------------------------------- */

struct tzif_header {
    unsigned long isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
};

static unsigned long be32(const unsigned char *p)
{
    return (unsigned long)p[0] << 24 | (unsigned long)p[1] << 16 | (unsigned long)p[2] << 8 |
           (unsigned long)p[3];
}

static long long be64(const unsigned char *p)
{
    uint64_t v = 0;

    for (int i = 0; i < 8; i++) {
        v = v << 8 | p[i];
    }
    return (long long)v;
}

static int tzif_read_header(const unsigned char *p, size_t len, struct tzif_header *h)
{
    if (len < 44 || memcmp(p, "TZif", 4) != 0) {
        return -1;
    }
    h->isutcnt = be32(p + 20);
    h->isstdcnt = be32(p + 24);
    h->leapcnt = be32(p + 28);
    h->timecnt = be32(p + 32);
    h->typecnt = be32(p + 36);
    h->charcnt = be32(p + 40);
    if (h->typecnt == 0 || h->typecnt > 256 || h->timecnt > TZ_COUNT_MAX ||
        h->leapcnt > TZ_COUNT_MAX || h->charcnt > TZ_COUNT_MAX ||
        (h->isutcnt != 0 && h->isutcnt != h->typecnt) ||
        (h->isstdcnt != 0 && h->isstdcnt != h->typecnt)) {
        return -1;
    }
    return 0;
}

/* Bytes of the data block after a header, with times of tsize bytes. */
static size_t tzif_block_len(const struct tzif_header *h, size_t tsize)
{
    return h->timecnt * tsize + h->timecnt + h->typecnt * 6 + h->charcnt +
           h->leapcnt * (tsize + 4) + h->isstdcnt + h->isutcnt;
}

/* Fills tz's transitions from the data block p (times of tsize bytes). */
static int tzif_read_block(struct tz *tz, const struct tzif_header *h, const unsigned char *p,
                           size_t tsize)
{
    const unsigned char *idx = p + h->timecnt * tsize;
    const unsigned char *types = idx + h->timecnt;
    long offs[256] = {0};

    for (unsigned long i = 0; i < h->typecnt; i++) {
        offs[i] = (long)(int32_t)be32(types + i * 6);
        if (offs[i] < -TZ_OFFSET_MAX || offs[i] > TZ_OFFSET_MAX) {
            return -1;
        }
    }
    tz->initial = offs[0];
    if (h->timecnt == 0) {
        return 0;
    }
    tz->times = calloc(h->timecnt, sizeof(*tz->times));
    tz->offsets = calloc(h->timecnt, sizeof(*tz->offsets));
    if (tz->times == NULL || tz->offsets == NULL) {
        return -1;
    }
    for (unsigned long i = 0; i < h->timecnt; i++) {
        long long t = tsize == 8 ? be64(p + i * 8) : (long long)(int32_t)be32(p + i * 4);

        if (idx[i] >= h->typecnt || (i > 0 && t <= tz->times[i - 1])) {
            return -1;
        }
        tz->times[i] = t;
        tz->offsets[i] = offs[idx[i]];
    }
    tz->count = h->timecnt;
    return 0;
}

/* Parses a TZif file image into tz. Returns 0, or -1 with the reason in err. */
static int tzif_parse(struct tz *tz, const unsigned char *p, size_t len, char *err, size_t errlen)
{
    struct tzif_header h;
    size_t blen;
    const unsigned char *footer, *nl;

    if (tzif_read_header(p, len, &h) != 0) {
        errbuf_printf(err, errlen, "not a TZif file or bad header counts");
        return -1;
    }
    blen = tzif_block_len(&h, 4);
    if (blen > len - 44) {
        errbuf_printf(err, errlen, "truncated TZif data");
        return -1;
    }
    if (p[4] == '\0') { /* version 1: 32-bit data only, no footer */
        if (tzif_read_block(tz, &h, p + 44, 4) != 0) {
            errbuf_printf(err, errlen, "bad TZif transition data");
            return -1;
        }
        return 0;
    }
    p += 44 + blen;
    len -= 44 + blen;
    if (tzif_read_header(p, len, &h) != 0) {
        errbuf_printf(err, errlen, "bad TZif version 2+ header");
        return -1;
    }
    blen = tzif_block_len(&h, 8);
    if (blen > len - 44 || tzif_read_block(tz, &h, p + 44, 8) != 0) {
        errbuf_printf(err, errlen, "truncated or bad TZif version 2+ data");
        return -1;
    }
    footer = p + 44 + blen;
    len -= 44 + blen;
    if (len < 2 || footer[0] != '\n' || (nl = memchr(footer + 1, '\n', len - 1)) == NULL) {
        errbuf_printf(err, errlen, "missing TZif footer");
        return -1;
    }
    if (nl > footer + 1) {
        char rule[128];
        size_t n = (size_t)(nl - footer - 1);

        if (n >= sizeof(rule) || memchr(footer + 1, '\0', n) != NULL) {
            errbuf_printf(err, errlen, "bad TZif footer");
            return -1;
        }
        memcpy(rule, footer + 1, n);
        rule[n] = '\0';
        if (parse_posix_tz(rule, &tz->rule) != 0) {
            errbuf_printf(err, errlen, "unsupported TZ rule \"%s\" in footer", rule);
            return -1;
        }
        tz->has_rule = 1;
    }
    return 0;
}

static int tz_name_valid(const char *name)
{
    size_t n = strlen(name);

    if (n == 0 || n > TZ_NAME_MAX || name[0] == '/' || strstr(name, "..") != NULL) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        char c = name[i];

        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '/' || c == '_' || c == '-' || c == '+' || c == '.')) {
            return 0;
        }
    }
    return 1;
}

void tz_free(struct tz *tz)
{
    if (tz != NULL) {
        free(tz->times);
        free(tz->offsets);
        free(tz);
    }
}

static struct tz *tz_load(const char *dir, const char *name, char *err, size_t errlen)
{
    char path[1024], why[256] = "";
    char *data;
    size_t len = 0;
    struct tz *tz;
    int n;

    if (!tz_name_valid(name)) {
        errbuf_printf(err, errlen, "time zone \"%s\" is not a zone name", name);
        return NULL;
    }
    n = snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= sizeof(path)) {
        errbuf_printf(err, errlen, "time zone path too long");
        return NULL;
    }
    data = fileio_read(path, TZ_FILE_MAX, &len, why, sizeof(why));
    if (data == NULL) {
        errbuf_printf(err, errlen, "time zone \"%s\": cannot read %s", name, why);
        return NULL;
    }
    tz = calloc(1, sizeof(*tz));
    if (tz == NULL) {
        errbuf_printf(err, errlen, "out of memory");
    } else if (tzif_parse(tz, (const unsigned char *)data, len, why, sizeof(why)) != 0) {
        errbuf_printf(err, errlen, "time zone \"%s\": %s: %s", name, path, why);
        tz_free(tz);
        tz = NULL;
    }
    free(data);
    return tz;
}

int tz_open(const char *name, const char *zoneinfo_dir, struct tz **out, char *err, size_t errlen)
{
    *out = NULL;
    if (name == NULL || name[0] == '\0' || strcmp(name, "UTC") == 0) {
        return 0;
    }
    *out =
        tz_load(zoneinfo_dir != NULL ? zoneinfo_dir : TZ_ZONEINFO_DIR_DEFAULT, name, err, errlen);
    return *out != NULL ? 0 : -1;
}

long tz_utc_offset(const struct tz *tz, long long utc_ms)
{
    long long t = floor_div(utc_ms, 1000);
    size_t lo = 0, hi;

    if (tz == NULL) {
        return 0;
    }
    if (tz->count == 0 || t < tz->times[0]) {
        return tz->count == 0 && tz->has_rule ? rule_offset(&tz->rule, t) : tz->initial;
    }
    if (t > tz->times[tz->count - 1] && tz->has_rule) {
        return rule_offset(&tz->rule, t);
    }
    hi = tz->count; /* invariant: times[lo] <= t < times[hi] */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;

        if (tz->times[mid] <= t) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    return tz->offsets[lo];
}

long long tz_local_day(const struct tz *tz, long long utc_ms)
{
    return floor_div(floor_div(utc_ms, 1000) + tz_utc_offset(tz, utc_ms), 86400);
}

long long tz_days_from_civil(long long y, int m, int d)
{
    return days_from_civil(y, m, d);
}

void tz_civil_from_days(long long day, long long *y, int *m, int *d)
{
    long long z = day + 719468, era, doe, yoe, doy, mp;

    era = floor_div(z, 146097);
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

int tz_weekday(long long day)
{
    long long w = (day + 4) % 7; /* 1970-01-01 was a Thursday */

    return (int)(w < 0 ? w + 7 : w);
}
