#ifndef SCORER_OUTPUTS_H
#define SCORER_OUTPUTS_H

/*
 * What a score becomes outside the scorer: the ScoreUpdate on the scores
 * topic (score_update.proto) and the hot profile in Redis, one hash per
 * visitor that the push-gateway reads for personalisation. Pure.
 */

#include <stddef.h>
#include <stdint.h>

#include "profile.h"
#include "score.h"

#define OUTPUTS_HASH_FIELDS 24
#define OUTPUTS_VALUE_MAX 320

/* The ScoreUpdate of r for p, caused by the event cause_event_id at ts_ms,
 * with extra_reason (e.g. "churn_warning"; NULL for none) first among the
 * reasons, packed into a new buffer (*buf, caller frees; *len bytes).
 * Missing features (NaN) are left out of the map. Returns 0, or -1 when
 * memory runs out. */
int outputs_score_update(const struct profile *p, const struct score_result *r,
                         const char *persona_name, const char *cause_event_id, long long ts_ms,
                         const char *extra_reason, uint8_t **buf, size_t *len);

/* The visitor's hot profile: field names and their values as text. */
struct outputs_hash {
    const char *fields[OUTPUTS_HASH_FIELDS];
    const char *values[OUTPUTS_HASH_FIELDS];
    size_t n;
    char text[OUTPUTS_HASH_FIELDS][OUTPUTS_VALUE_MAX];
};

/* Fills h from p and r: lead_score, conversion_probability, churn_risk,
 * persona, stage, sessions, page_views, pricing_views, bookings_completed,
 * returning, last_seen_ms, model_version, reasons (a JSON array). */
void outputs_hash(const struct profile *p, const struct score_result *r, const char *persona_name,
                  struct outputs_hash *h);

#endif
