#ifndef JOURNEY_JCHECK_H
#define JOURNEY_JCHECK_H

/*
 * What the journey-builder trusts, decided without I/O (whether the
 * offsets of journey_offsets are this stream's is txparts_judge's, in
 * common):
 *
 *  - jcheck_time: whether an event's time can be kept, judged against the
 *    event stream's own clock (the collector's receive time of the event,
 *    server time) rather than this host's, so a host clock days off does
 *    not dead-letter the stream.
 */

enum jcheck_time {
    JCHECK_TIME_OK = 0,
    JCHECK_TIME_EXPIRED, /* its UTC day is older than the retention */
    JCHECK_TIME_FUTURE,  /* its UTC day is more than future_days ahead */
};

/* The time an event's bounds are judged against: received_ms, the
 * collector's clock when it took the event, when > 0; else stream_ms, the
 * partition's clock (latest event time applied), when > 0; else wall_ms,
 * this host's clock. Pure. */
long long jcheck_reference_ms(long long received_ms, long long stream_ms, long long wall_ms);

/* Judges event_ms (ms since the epoch) against ref_ms by UTC days: older
 * than retention_days before ref's day is EXPIRED, more than future_days
 * after it is FUTURE. Pure. */
enum jcheck_time jcheck_time(long long event_ms, long long ref_ms, int retention_days,
                             int future_days);

/* How far, in seconds, this host's clock (wall_ms) is behind the latest
 * receive time seen (received_ms, server time at the collector): 0 when it
 * is not behind or nothing was received (received_ms <= 0). An event
 * cannot have been received in the future, so a value above a few seconds
 * of clock drift means this host's clock (or the collector's) is wrong.
 * Pure. */
long long jcheck_clock_behind_s(long long received_ms, long long wall_ms);

#endif
