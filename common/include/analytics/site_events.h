#ifndef ANALYTICS_SITE_EVENTS_H
#define ANALYTICS_SITE_EVENTS_H

/*
 * The site's own event types, from the journey rules file
 * (deploy/config/journeys.json, ANALYTICS_JOURNEYS_FILE): which are its page
 * views, and which its conversions with the event_data property holding
 * their value. The journey-builder counts sessions, page views and revenue
 * by them; the scorer counts page views and page values the same way.
 *
 *   "page_views": ["page_view"],
 *   "conversions": [{"event_type": "booking_completed", "value_property": "value"}]
 *
 * page_views (optional, default ["page_view"]): distinct non-empty event
 * types. conversions (optional, default booking_completed with "value"):
 * distinct event types, each with an optional value_property. Either may
 * be []: none. At most SITE_EVENTS_TYPES_MAX of each.
 */

#include <stdbool.h>
#include <stddef.h>

struct cJSON;

#define SITE_EVENTS_TYPES_MAX 64
#define SITE_PAGE_VIEW "page_view" /* the default page-view type */
/* The largest conversion value taken, in the event's own unit; a larger
 * one (or NaN) counts as no value. */
#define SITE_VALUE_MAX 1e9
#define SITE_MICROS 1000000 /* values are kept in millionths of a unit */

struct site_conversion {
    char *event_type;
    char *value_property; /* NULL: the conversion has no value */
};

struct site_events {
    char *page_views[SITE_EVENTS_TYPES_MAX];
    size_t npage_views;
    struct site_conversion conversions[SITE_EVENTS_TYPES_MAX];
    size_t nconversions;
};

/* Reads the "page_views" and "conversions" keys of the rules document root
 * (other keys are the caller's) into r. Returns 0, or -1 with the reason in
 * err naming path and the key (r is then empty). Release with
 * site_events_fini. */
int site_events_load(struct site_events *r, const struct cJSON *root, const char *path, char *err,
                     size_t errlen);

/* Frees what site_events_load made; r is left empty. */
void site_events_fini(struct site_events *r);

/* True when event_type (may be NULL) is one of the site's page-view types. */
bool site_events_is_page_view(const struct site_events *r, const char *event_type);

/* The conversion of event_type (may be NULL), or NULL when it is none. */
const struct site_conversion *site_events_conversion(const struct site_events *r,
                                                     const char *event_type);

/* Reads property prop of the JSON object json as a value in millionths
 * into *micros: a finite number, or a string holding one, of at most
 * SITE_VALUE_MAX either side of 0. Returns 0, or -1 when json is not an
 * object or prop is missing or not such a value (*micros is then 0). */
int site_value_micros(const char *json, const char *prop, long long *micros);

#endif
