/* Unit tests for what the journey-builder trusts (services/journey-builder/
 * jcheck.c): whether an event's time is kept, judged by the stream's clock
 * rather than this host's. Whether journey_offsets belong to the stream
 * the broker has, and the partition's clock sessions close by, are
 * common's txparts_judge and txparts_clock_ms (test_txparts.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "jcheck.h"

#define DAY_MS 86400000LL
#define T_2026_12_01_120000 1796126400000LL /* 2026-12-01 12:00:00 UTC */

static void test_reference(void **state)
{
    (void)state;
    long long host = T_2026_12_01_120000 - 2 * DAY_MS; /* a host clock two days behind */

    /* The collector's receive time first, whatever this host says. */
    assert_int_equal(jcheck_reference_ms(T_2026_12_01_120000, 5, host), T_2026_12_01_120000);
    /* Then the partition's clock, then the host's. */
    assert_int_equal(jcheck_reference_ms(0, T_2026_12_01_120000, host), T_2026_12_01_120000);
    assert_int_equal(jcheck_reference_ms(-1, 0, host), host);
}

static void test_time(void **state)
{
    (void)state;
    long long now = T_2026_12_01_120000;

    assert_int_equal(jcheck_time(now, now, 400, 2), JCHECK_TIME_OK);
    /* Two days ahead by UTC day is kept, three is not. */
    assert_int_equal(jcheck_time(now + 2 * DAY_MS, now, 400, 2), JCHECK_TIME_OK);
    assert_int_equal(jcheck_time(now + 3 * DAY_MS, now, 400, 2), JCHECK_TIME_FUTURE);
    /* The retention's last day is kept, the day before it is not. */
    assert_int_equal(jcheck_time(now - 400 * DAY_MS, now, 400, 2), JCHECK_TIME_OK);
    assert_int_equal(jcheck_time(now - 401 * DAY_MS, now, 400, 2), JCHECK_TIME_EXPIRED);
    assert_int_equal(jcheck_time(now - 3 * DAY_MS, now, 2, 2), JCHECK_TIME_EXPIRED);
}

/* The point of the stream's clock: a host two days off in either direction
 * changes nothing for events received now. Judged by the host's clock, as
 * before, the stream would be dead-lettered (future) or kept too long. */
static void test_skewed_host(void **state)
{
    (void)state;
    long long received = T_2026_12_01_120000;
    long long event = received - 1000;

    for (long long off = -3 * DAY_MS; off <= 3 * DAY_MS; off += DAY_MS / 2) {
        long long ref = jcheck_reference_ms(received, 0, received + off);
        assert_int_equal(jcheck_time(event, ref, 400, 2), JCHECK_TIME_OK);
    }
    /* What the host's clock alone would have said. */
    assert_int_equal(jcheck_time(event, received - 3 * DAY_MS, 400, 2), JCHECK_TIME_FUTURE);
    /* An event far ahead of its own receive time is still refused. */
    long long ref = jcheck_reference_ms(received, 0, received - 3 * DAY_MS);
    assert_int_equal(jcheck_time(received + 5 * DAY_MS, ref, 400, 2), JCHECK_TIME_FUTURE);
}

static void test_clock_behind(void **state)
{
    (void)state;
    long long t = T_2026_12_01_120000;

    assert_int_equal(jcheck_clock_behind_s(0, t), 0);
    assert_int_equal(jcheck_clock_behind_s(t, t), 0);
    assert_int_equal(jcheck_clock_behind_s(t - 3600000, t), 0); /* a backlog: not behind */
    assert_int_equal(jcheck_clock_behind_s(t, t - 2 * DAY_MS), 2 * 86400);
    assert_int_equal(jcheck_clock_behind_s(t + 1500, t), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference),
        cmocka_unit_test(test_time),
        cmocka_unit_test(test_skewed_host),
        cmocka_unit_test(test_clock_behind),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
