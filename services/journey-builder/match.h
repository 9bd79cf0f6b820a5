#ifndef JOURNEY_MATCH_H
#define JOURNEY_MATCH_H

/*
 * A condition on an event, as the journey and funnel rule files write it:
 * {"event_type": ..., "page_type": ..., "channel": ...}, each a string or an
 * array of strings, any of which may equal the event's; a field left out
 * matches every event.
 *
 * The event type "page_view" in a condition stands for a page view of the
 * site, whatever the site calls it: it matches an event whose type the
 * journey rules count as a page view (journey.h, "page_views"), as well as
 * an event of type "page_view" itself. A site's own type ("view") written
 * in a condition matches that type as any other does.
 */

#include <stdbool.h>
#include <stddef.h>

#include "analytics/site_events.h"

struct cJSON;

#define MATCH_FIELDS 3                 /* event_type, page_type, channel */
#define MATCH_PAGE_VIEW SITE_PAGE_VIEW /* the event type that stands for any page view */

struct match {
    char **values[MATCH_FIELDS]; /* owned; NULL: any */
    size_t n[MATCH_FIELDS];
};

/* The event fields a match looks at. Borrowed strings, "" when absent.
 * page_view: the event's type is one of the site's page-view types. */
struct match_event {
    const char *event_type;
    const char *page_type;
    const char *channel;
    bool page_view;
};

/* Reads the condition of obj into m (zeroed first). Returns 0, or -1 with
 * the reason in err (a field that is not a string or an array of non-empty
 * strings, out of memory); m then needs match_fini. where prefixes the
 * reason. */
int match_parse(const struct cJSON *obj, const char *where, struct match *m, char *err,
                size_t errlen);

/* True when ev meets every field of m. */
bool match_test(const struct match *m, const struct match_event *ev);

/* True when m has no field: it matches every event. */
bool match_is_any(const struct match *m);

/* Frees what m owns. Accepts a zeroed m. */
void match_fini(struct match *m);

#endif
