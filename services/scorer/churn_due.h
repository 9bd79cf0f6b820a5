#ifndef SCORER_CHURN_DUE_H
#define SCORER_CHURN_DUE_H

/*
 * A silent visitor's churn warning, decided without I/O: when it falls due
 * and why, what becomes of a scheduled one once the stream's clock reaches
 * it, and the id of the event that caused it.
 *
 * One warning per silence. Its moment is score_warning_at's: the churn
 * risk reaching the alert (reason "churn_warning"), or, when that comes
 * later or never, 72 hours before the visitor would lapse (reason
 * "lapse_warning"). Once sent, none is due until the visitor is seen again
 * (profile.warned_seen_ms). A scheduled time is checked again with the
 * models in use when it comes: a churn model refitted meanwhile moves it
 * later, or sends it at once when it says the moment has passed.
 */

#include <stddef.h>

#include "profile.h"
#include "score.h"

#define CHURN_DUE_CAUSE_MAX (PROFILE_ID_MAX + 32) /* "churn:<fingerprint>:<ms>" */

/* A warning to schedule. */
struct churn_due {
    long long at_ms;    /* UTC ms; 0: none */
    const char *reason; /* "churn_warning" or "lapse_warning" (static); NULL with none */
};

/* The warning p (a visitor seen at least once) is due if silent from now
 * on, with the models m: none without a churn model, without a transaction
 * on the basis, or when one was sent for this silence already.
 * utc_offset_ms is the site zone's offset at p->last_seen_ms. */
void churn_due_plan(const struct score_models *m, const struct score_opts *o,
                    const struct profile *p, long long utc_offset_ms, struct churn_due *out);

enum churn_due_action {
    CHURN_DUE_DROP = 0, /* none is due any more: delete the schedule */
    CHURN_DUE_MOVE,     /* due later than the clock: move the schedule to plan->at_ms */
    CHURN_DUE_FIRE,     /* send it, as of plan->at_ms */
};

/* What to do with a scheduled warning the partition's clock (clock_ms)
 * has reached, given the plan for the visitor now (churn_due_plan). */
enum churn_due_action churn_due_decide(const struct churn_due *plan, long long clock_ms);

/* Marks p warned for its present silence (after a warning is sent). */
void churn_due_mark(struct profile *p);

/* The warning's cause id, "churn:<fingerprint>:<at_ms>", into buf
 * (CHURN_DUE_CAUSE_MAX bytes is always enough): the same warning has the
 * same id, so a replay of it writes no second prediction. Returns buf. */
const char *churn_due_cause(const char *fingerprint, long long at_ms, char *buf, size_t len);

#endif
