#ifndef JOURNEY_JSESSION_H
#define JOURNEY_JSESSION_H

/*
 * A session's running summary (a row of the sessions table and the
 * SessionSummary of journey updates), built from its events in any order.
 * Pure; the daemon keeps one per open session and persists it.
 *
 * start and end are the earliest and latest event times, duration their
 * difference. The entry page is the earliest page view's normalised URL, the
 * exit page the latest's. Channel and device come from the earliest event.
 * Bounced: at most one page view. Converted: some event that converts
 * (journey.h: a conversion type, or a rule's last stage); revenue is the sum
 * of the conversions' values, in millionths, held between -LLONG_MAX and
 * LLONG_MAX (a sum past them stays there).
 */

#include <stdbool.h>
#include <stdint.h>

/* What the summary takes from one (non-bot) event. Strings borrowed. */
struct jsession_event {
    long long ts_ms;
    bool page_view;
    const char *page_url; /* normalised; "" when none */
    int channel;          /* analytics.v1.Channel value */
    int device_type;      /* analytics.v1.DeviceType value */
    bool conversion;
    long long value_micros; /* the conversion's value in millionths; 0 when none */
};

struct jsession {
    long long start_ms, end_ms;
    long long entry_ms, exit_ms; /* times of the entry and exit page views */
    uint32_t page_views, events;
    char *entry_page, *exit_page; /* owned; NULL until a page view */
    int channel, device_type;
    bool converted;
    long long revenue_micros; /* sum of the conversions' values */
    bool closed;
};

/* Empties s (no events). */
void jsession_init(struct jsession *s);

/* Frees what s owns and empties it. */
void jsession_fini(struct jsession *s);

/* Adds ev to s. An event for a closed session (a late beacon, a retried
 * batch, a client session id used again after a gap) reopens it: the
 * summary is then what it would have been had the event come in time, and
 * the session closes again when it is idle. Returns 0, or -1 when memory
 * runs out (s keeps its old pages then). */
int jsession_add(struct jsession *s, const struct jsession_event *ev);

/* Seconds from start to end. */
long long jsession_duration_s(const struct jsession *s);

/* True for a session of at most one page view. */
bool jsession_bounced(const struct jsession *s);

/* True when s is open, has events, and its latest event is idle_ms or more
 * before now_ms: no event will extend it any more. */
bool jsession_idle(const struct jsession *s, long long now_ms, long long idle_ms);

#endif
