#ifndef JOURNEY_JOURNEY_H
#define JOURNEY_JOURNEY_H

/*
 * Journey rules (deploy/config/journeys.json): which events are touchpoints
 * of a visitor's journey, and at which stage; which event types are the
 * site's page views and which its conversions.
 *
 *   {"version": 1,
 *    "stages": ["awareness", "interest", "consideration", "conversion"],
 *    "page_views": ["page_view"],
 *    "conversions": [{"event_type": "booking_completed", "value_property": "value"}],
 *    "rules": [{"event_type": "booking_completed", "stage": "conversion",
 *               "touchpoint": "booking_completed"},
 *              {"event_type": "page_view", "page_type": "pricing",
 *               "stage": "consideration", "touchpoint": "pricing_page"}, ...]}
 *
 * Stages are ordered, earliest first; the last one is conversion. Rules are
 * tried in order and the first whose condition (match.h) holds gives the
 * event's stage and touchpoint; an event no rule matches (a scroll, say) is
 * not a touchpoint.
 *
 * page_views (optional, default ["page_view"]): the event types counted as
 * page views (a session's page views, entry and exit pages, bounce). A rule
 * or funnel step written with event_type "page_view" matches every one of
 * them; a rule naming one of the site's own types matches that type.
 *
 * conversions (optional, default [{"event_type": "booking_completed",
 * "value_property": "value"}]): an event of such a type converts its
 * session; its top-level event_data property value_property (optional), a
 * number or a string holding one, adds to the session's revenue (an event
 * without it still converts, with no revenue). A conversion no rule
 * matches is a touchpoint at the last stage, named after its event type.
 * An event a rule puts at the last stage converts its session too. Either
 * list may be empty: [] means none. An unknown key anywhere is an error.
 */
#include <stdbool.h>
#include <stddef.h>

#include "analytics/site_events.h"
#include "match.h"

#define JOURNEY_STAGES_MAX 8
#define JOURNEY_RULES_FILE_MAX (1024 * 1024)

struct journey_rules;

/* What the rules make of one event. */
struct journey_verdict {
    int stage;              /* of the touchpoint; -1: not a touchpoint */
    const char *touchpoint; /* borrowed from the rules; NULL when stage is -1 */
    bool conversion;        /* the event converts its session */
    long long value_micros; /* the conversion's value in millionths; 0 when none */
};

/* Loads and checks the rules file at path. Returns the rules (caller frees
 * with journey_rules_free), or NULL with the reason in err, naming the file
 * and the key or rule: unreadable, not JSON, another version, no or
 * duplicate stages, a rule with an unknown stage, no touchpoint, an unknown
 * key or a malformed condition, page_views or conversions that are not
 * lists of event types (a duplicate, an empty name, a value_property that
 * is not a non-empty string, more than SITE_EVENTS_TYPES_MAX). */
struct journey_rules *journey_rules_load(const char *path, char *err, size_t errlen);

/* Frees r. Accepts NULL. */
void journey_rules_free(struct journey_rules *r);

/* Returns the stage index (0 = earliest) of the first rule ev meets, with
 * its touchpoint in *touchpoint (borrowed from r), or -1 when no rule
 * does. */
int journey_rules_match(const struct journey_rules *r, const struct match_event *ev,
                        const char **touchpoint);

/* True when event_type is one of the site's page-view types. */
bool journey_is_page_view(const struct journey_rules *r, const char *event_type);

/* Classifies ev (its page_view set by journey_is_page_view) with the
 * event's event_data as JSON (NULL or "" when none) into *out: its stage
 * and touchpoint, whether it converts, and its value. Pure. */
void journey_classify(const struct journey_rules *r, const struct match_event *ev,
                      const char *event_data_json, struct journey_verdict *out);

/* Number of stages, and the name of stage i (borrowed; "" out of range). */
int journey_stage_count(const struct journey_rules *r);
const char *journey_stage_name(const struct journey_rules *r, int i);

#endif
