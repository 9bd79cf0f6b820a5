#include "churn_due.h"

#include <stdio.h>

void churn_due_plan(const struct score_models *m, const struct score_opts *o,
                    const struct profile *p, long long utc_offset_ms, struct churn_due *out)
{
    enum score_warning why = SCORE_WARN_NONE;

    *out = (struct churn_due){0, NULL};
    if (p->warned_seen_ms != 0 && p->warned_seen_ms == p->last_seen_ms) {
        return; /* sent for this silence */
    }
    long long at = score_warning_at(m, o, p, utc_offset_ms, &why);
    if (at <= 0 || why == SCORE_WARN_NONE) {
        return;
    }
    out->at_ms = at;
    out->reason = why == SCORE_WARN_ALERT ? "churn_warning" : "lapse_warning";
}

enum churn_due_action churn_due_decide(const struct churn_due *plan, long long clock_ms)
{
    if (plan->at_ms <= 0) {
        return CHURN_DUE_DROP;
    }
    return plan->at_ms > clock_ms ? CHURN_DUE_MOVE : CHURN_DUE_FIRE;
}

void churn_due_mark(struct profile *p)
{
    p->warned_seen_ms = p->last_seen_ms;
}

const char *churn_due_cause(const char *fingerprint, long long at_ms, char *buf, size_t len)
{
    snprintf(buf, len, "churn:%s:%lld", fingerprint, at_ms);
    return buf;
}
