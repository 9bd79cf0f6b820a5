#include "jcheck.h"

#include "archive.h"

long long jcheck_reference_ms(long long received_ms, long long stream_ms, long long wall_ms)
{
    if (received_ms > 0) {
        return received_ms;
    }
    return stream_ms > 0 ? stream_ms : wall_ms;
}

enum jcheck_time jcheck_time(long long event_ms, long long ref_ms, int retention_days,
                             int future_days)
{
    long long day = archive_day(event_ms), ref = archive_day(ref_ms);

    if (day < ref - retention_days) {
        return JCHECK_TIME_EXPIRED;
    }
    if (day > ref + future_days) {
        return JCHECK_TIME_FUTURE;
    }
    return JCHECK_TIME_OK;
}

long long jcheck_clock_behind_s(long long received_ms, long long wall_ms)
{
    if (received_ms <= 0 || received_ms <= wall_ms) {
        return 0;
    }
    return (received_ms - wall_ms) / 1000;
}
