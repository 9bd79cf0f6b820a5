#ifndef JOURNEY_JOURNEY_H
#define JOURNEY_JOURNEY_H

/*
 * Journey rules (deploy/config/journeys.json): which events are touchpoints
 * of a visitor's journey, and at which stage.
 *
 *   {"version": 1,
 *    "stages": ["awareness", "interest", "consideration", "conversion"],
 *    "rules": [{"event_type": "booking_completed", "stage": "conversion",
 *               "touchpoint": "booking_completed"},
 *              {"event_type": "page_view", "page_type": "pricing",
 *               "stage": "consideration", "touchpoint": "pricing_page"}, ...]}
 *
 * Stages are ordered, earliest first; the last one is conversion (a session
 * with an event at that stage converted). Rules are tried in order and the
 * first whose condition (match.h) holds gives the event's stage and
 * touchpoint; an event no rule matches (a scroll, say) is not a touchpoint.
 */

#include <stddef.h>

#include "match.h"

#define JOURNEY_STAGES_MAX 8
#define JOURNEY_RULES_FILE_MAX (1024 * 1024)

struct journey_rules;

/* Loads and checks the rules file at path. Returns the rules (caller frees
 * with journey_rules_free), or NULL with the reason in err, naming the file
 * and the rule: unreadable, not JSON, another version, no or duplicate
 * stages, a rule with an unknown stage, no touchpoint, an unknown key or a
 * malformed condition. */
struct journey_rules *journey_rules_load(const char *path, char *err, size_t errlen);

/* Frees r. Accepts NULL. */
void journey_rules_free(struct journey_rules *r);

/* Returns the stage index (0 = earliest) of the first rule ev meets, with
 * its touchpoint in *touchpoint (borrowed from r), or -1 when no rule
 * does. */
int journey_rules_match(const struct journey_rules *r, const struct match_event *ev,
                        const char **touchpoint);

/* Number of stages, and the name of stage i (borrowed; "" out of range). */
int journey_stage_count(const struct journey_rules *r);
const char *journey_stage_name(const struct journey_rules *r, int i);

#endif
