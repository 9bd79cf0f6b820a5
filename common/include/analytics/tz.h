#ifndef ANALYTICS_TZ_H
#define ANALYTICS_TZ_H

/*
 * A site's time zone, read once from its TZif file, never from TZ or the
 * process's environment, and the calendar: the enricher ends sessions at the
 * site's midnight, the scorer takes month and weekend in it.
 */

#include <stddef.h>

#define TZ_ZONEINFO_DIR_DEFAULT "/usr/share/zoneinfo"

/* A zone's UTC offsets (opaque). NULL stands for UTC. */
struct tz;

/* Opens the IANA zone name (e.g. "Europe/London") from zoneinfo_dir/name
 * (NULL: TZ_ZONEINFO_DIR_DEFAULT) into *out (free with tz_free). NULL, ""
 * or "UTC" set *out to NULL (UTC) without reading a file. Returns 0, or -1
 * with the reason in err when the name is not a zone name (absolute, "..",
 * odd characters), the file is missing, unreadable or malformed, or memory
 * ran out. */
int tz_open(const char *name, const char *zoneinfo_dir, struct tz **out, char *err, size_t errlen);

/* Frees tz. Accepts NULL. */
void tz_free(struct tz *tz);

/* UTC offset in seconds (east positive) of the zone at utc_ms. */
long tz_utc_offset(const struct tz *tz, long long utc_ms);

/* Local day number (days since 1970-01-01 in the zone) of utc_ms. */
long long tz_local_day(const struct tz *tz, long long utc_ms);

/* Days since 1970-01-01 of the proleptic Gregorian date y-m-d. */
long long tz_days_from_civil(long long y, int m, int d);

/* The date of day number day. */
void tz_civil_from_days(long long day, long long *y, int *m, int *d);

/* The weekday of day number day: 0 Sunday .. 6 Saturday. */
int tz_weekday(long long day);

#endif
