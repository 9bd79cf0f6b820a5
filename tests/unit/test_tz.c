/*
 * Unit tests for time zones and the calendar (common/src/tz.c): dates to
 * day numbers and back over four centuries, weekdays, a zone's offsets on
 * both sides of its changes (Europe/London, America/New_York), the local
 * day across midnight, UTC without a file, and the names refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "analytics/tz.h"

#include <string.h>

static void test_civil_round_trip(void **state)
{
    (void)state;
    assert_int_equal(tz_days_from_civil(1970, 1, 1), 0);
    assert_int_equal(tz_days_from_civil(2000, 3, 1), 11017);
    assert_int_equal(tz_days_from_civil(1969, 12, 31), -1);
    for (long long day = -150000; day <= 150000; day += 7) {
        long long y;
        int m, d;
        tz_civil_from_days(day, &y, &m, &d);
        assert_true(m >= 1 && m <= 12 && d >= 1 && d <= 31);
        assert_int_equal(tz_days_from_civil(y, m, d), day);
    }
    long long y;
    int m, d;
    tz_civil_from_days(tz_days_from_civil(2024, 2, 29), &y, &m, &d);
    assert_true(y == 2024 && m == 2 && d == 29);
}

static void test_weekday(void **state)
{
    (void)state;
    assert_int_equal(tz_weekday(0), 4);                                /* Thursday */
    assert_int_equal(tz_weekday(tz_days_from_civil(2026, 12, 1)), 2);  /* Tuesday */
    assert_int_equal(tz_weekday(tz_days_from_civil(2026, 11, 29)), 0); /* Sunday */
    assert_int_equal(tz_weekday(tz_days_from_civil(1969, 12, 27)), 6); /* Saturday */
}

static void test_zone_offsets(void **state)
{
    struct tz *london = NULL, *ny = NULL;
    char err[256] = "";
    (void)state;

    assert_int_equal(tz_open("Europe/London", NULL, &london, err, sizeof(err)), 0);
    assert_int_equal(tz_open("America/New_York", NULL, &ny, err, sizeof(err)), 0);
    /* 2026-03-29 01:00 UTC London goes to BST; 2026-10-25 01:00 UTC back. */
    long long spring = tz_days_from_civil(2026, 3, 29) * 86400000LL + 3600000LL;
    long long autumn = tz_days_from_civil(2026, 10, 25) * 86400000LL + 3600000LL;
    assert_int_equal(tz_utc_offset(london, spring - 1000), 0);
    assert_int_equal(tz_utc_offset(london, spring), 3600);
    assert_int_equal(tz_utc_offset(london, autumn - 1000), 3600);
    assert_int_equal(tz_utc_offset(london, autumn), 0);
    /* 03:30 UTC on 1 Dec is still 30 Nov in New York (UTC-5). */
    long long dec1 = tz_days_from_civil(2026, 12, 1);
    assert_int_equal(tz_local_day(ny, dec1 * 86400000LL + 3 * 3600000LL), dec1 - 1);
    assert_int_equal(tz_local_day(ny, dec1 * 86400000LL + 6 * 3600000LL), dec1);
    /* Far beyond the file's transitions the footer's rule answers. */
    long long july2100 = tz_days_from_civil(2100, 7, 1) * 86400000LL;
    assert_int_equal(tz_utc_offset(ny, july2100), -4 * 3600);
    tz_free(london);
    tz_free(ny);
}

static void test_utc_and_errors(void **state)
{
    struct tz *tz = (struct tz *)1;
    char err[256] = "";
    (void)state;

    assert_int_equal(tz_open("UTC", NULL, &tz, err, sizeof(err)), 0);
    assert_null(tz);
    assert_int_equal(tz_open(NULL, NULL, &tz, err, sizeof(err)), 0);
    assert_int_equal(tz_utc_offset(NULL, 123456789), 0);
    assert_int_equal(tz_local_day(NULL, -1), -1);
    const char *bad[] = {"../etc/passwd", "/etc/passwd", "Europe/Atlantis", "Europe", "a b"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        assert_int_equal(tz_open(bad[i], NULL, &tz, err, sizeof(err)), -1);
        assert_null(tz);
        assert_true(strlen(err) > 0);
    }
    tz_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_civil_round_trip),
        cmocka_unit_test(test_weekday),
        cmocka_unit_test(test_zone_offsets),
        cmocka_unit_test(test_utc_and_errors),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
