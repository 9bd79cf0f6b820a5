#ifndef JOURNEY_ARCHIVE_H
#define JOURNEY_ARCHIVE_H

/*
 * The archive of enriched events: each analytics.v1.EnrichedEvent becomes one
 * row of analytics_events (deploy/sql/001_analytics_events.sql), encoded as a
 * line of COPY's text format so that a batch goes in with one
 *
 *   COPY analytics_events (<archive_columns>) FROM STDIN
 *
 * (the fast path), or, when that fails with unique_violation (23505), with
 * the same bytes copied into a staging table and INSERT ... SELECT ... ON
 * CONFLICT DO NOTHING (the slow path). Pure: no I/O. (The journey-builder's
 * store_archive COPYs the batch's ids into analytics_event_ids first, which
 * is what decides a duplicate there, whatever the event's time.)
 *
 *   struct copybuf buf;
 *   copybuf_init(&buf);
 *   for each event:
 *       rc = archive_row(&buf, ev, err, sizeof(err));
 *       ARCHIVE_INVALID: dead-letter ev (buf is as before the call)
 *       ARCHIVE_NOMEM:   stop, do not dead-letter: nothing is wrong with ev
 *   ensure the partitions of archive_day(ev->event_ts_ms) of every row, then
 *   pg_copy_rows(conn, "COPY analytics_events (...) FROM STDIN", copybuf_data(&buf),
 * copybuf_len(&buf), ...); copybuf_reset(&buf);
 *
 * The mapping, column by column (every column but inserted_at, the server's):
 *  - strings: as they are, an empty (or NULL) one as NULL; every string must
 *    be valid UTF-8 (PostgreSQL would refuse the whole batch otherwise);
 *  - event_id, fingerprint, event_type: required (NOT NULL columns);
 *  - event_time from event_ts_ms (required, > 0), received_at from
 *    received_ts_ms (required, > 0), client_time from client_ts_ms and
 *    enriched_at from enriched_ts_ms (NULL when 0): "YYYY-MM-DD
 *    HH:MM:SS.mmm+00" in UTC. Times must lie in years 1-9999; an optional one
 *    outside them is NULL, a required one makes the event invalid;
 *  - channel: the lower-case name without prefix (organic_search, ...);
 *    CHANNEL_UNKNOWN or a value this build does not know is 'unknown' when
 *    the event has a campaign message, NULL when it has none (nothing was
 *    classified). device_type likewise: desktop, mobile, tablet, bot, and
 *    'unknown' when there is a user agent message, NULL when there is none;
 *  - session_seq from session.sequence, NULL when 0 (unset: the sequence is
 *    1-based) or above 2^31-1 (not an integer);
 *  - ip_truncated: geo.ip_truncated as a network, "203.0.113.0/24" or
 *    "2001:db8:1::/48" (an IPv4-mapped IPv6 address as IPv4). The address is
 *    masked to /24 or /48 here too, so that a full address can never reach
 *    the table; a "/N" already there is kept when shorter. NULL when empty
 *    or not an address;
 *  - event_data from event_data_json, '{}' when empty. jsonb refuses the
 *    escape \u0000 and lone UTF-16 surrogates (\ud800 without its low half):
 *    both become \ufffd, textually (an escaped backslash followed by
 *    "u0000", as in "\\u0000", is text and stays). The JSON is otherwise not
 *    checked: the collector accepted it;
 *  - booleans of a missing submessage (session, bot, consent) are false,
 *    its strings NULL; schema_version is 1 when 0, and must fit a smallint.
 */

#include <stdbool.h>
#include <stddef.h>

#include "analytics/copybuf.h"
#include "analytics/v1/enriched_event.pb-c.h"

/* What archive_row returns. */
enum archive_rc {
    ARCHIVE_OK = 0,
    ARCHIVE_INVALID = -1, /* the event cannot be archived: dead-letter it */
    ARCHIVE_NOMEM = -2,   /* out of memory: the event is fine, retry later */
};

/* The columns archive_row writes, in its order, comma-separated: for
 * "COPY analytics_events (" ... ") FROM STDIN". */
extern const char archive_columns[];

/* Appends ev as one COPY text-format line (columns of archive_columns,
 * tab-separated, ending in '\n') to out. Returns 0, ARCHIVE_INVALID when ev
 * cannot be a row (no event_id, fingerprint or event_type, event_ts_ms or
 * received_ts_ms not > 0 or past 9999, a string that is not UTF-8,
 * schema_version above 32767), or ARCHIVE_NOMEM; on failure the reason is
 * in err and out is as it was before the call. ev is borrowed. */
int archive_row(struct copybuf *out, const Analytics__V1__EnrichedEvent *ev, char *err,
                size_t errlen);

/* The UTC day of ts_ms (milliseconds since the epoch): days since
 * 1970-01-01, rounded down (-1 is 1969-12-31). Pure. */
long long archive_day(long long ts_ms);

/* Writes day (as archive_day gives it) as "YYYY-MM-DD" into buf (len bytes,
 * 11 are enough for years 1-9999; truncated when smaller). Years outside
 * 1-9999 are written as signed astronomical years, which PostgreSQL does
 * not read as dates. Pure. */
void archive_day_str(long long day, char *buf, size_t len);

/* Marks the repeats of a batch: repeat[i] is set true when ids[j] equals
 * ids[i] for some j < i (the first of each id is the one that counts), and
 * left as it was otherwise. ids[0..n) are borrowed, none NULL. Returns 0,
 * or -1 when memory runs out (repeat is then untouched). Pure. */
int archive_mark_repeats(const char *const *ids, size_t n, bool *repeat);

#endif
