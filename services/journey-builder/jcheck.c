#include "jcheck.h"

#include "archive.h"

#include <string.h>

enum jcheck_offsets jcheck_offsets(long long stored_next, const char *stored_cluster,
                                   const char *cluster, long long high)
{
    if (stored_next < 0) {
        return JCHECK_KEEP;
    }
    if (stored_cluster != NULL && stored_cluster[0] != '\0' && cluster != NULL &&
        cluster[0] != '\0' && strcmp(stored_cluster, cluster) != 0) {
        return JCHECK_RESET_CLUSTER;
    }
    if (high >= 0 && stored_next > high) {
        return JCHECK_RESET_BEYOND_END;
    }
    return JCHECK_KEEP;
}

const char *jcheck_offsets_reason(enum jcheck_offsets v)
{
    switch (v) {
    case JCHECK_RESET_CLUSTER:
        return "cluster_changed";
    case JCHECK_RESET_BEYOND_END:
        return "beyond_end";
    default:
        return "";
    }
}

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

long long jcheck_clock_ms(long long stream_ms, long long raised_mono, long long now_mono,
                          bool caught_up)
{
    long long quiet = now_mono - raised_mono;

    return caught_up && quiet > 0 ? stream_ms + quiet : stream_ms;
}

bool jcheck_caught_up(long long applied, long long high)
{
    return high >= 0 && applied >= high;
}
