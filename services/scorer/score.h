#ifndef SCORER_SCORE_H
#define SCORER_SCORE_H

/*
 * A profile's scores from the three models: the lead score (the calibrated
 * conversion probability of the current session, XGBoost), the churn risk
 * (BG/NBD over the visitor's visit days, or booking days), the persona
 * (the nearest k-means centroid), and the reasons in words. Apart from the
 * models' own code, pure: the clock is an argument.
 */

#include <stdbool.h>
#include <stddef.h>

#include "analytics/bgnbd_model.h"
#include "analytics/lead_model.h"
#include "analytics/persona.h"
#include "pagestats.h"
#include "profile.h"
#include "rules.h"

#define SCORE_REASONS_MAX 5
#define SCORE_VERSION_MAX 128
#define SCORE_WARN_BEFORE_LAPSE_MS (72LL * 3600 * 1000) /* the seed's 72-hour warning */

/* The models in use; any may be missing (NULL, have_churn false). */
struct score_models {
    struct lead_model *lead;
    struct bgnbd_model churn;
    bool have_churn;
    const struct persona_model *personas;
};

struct score_opts {
    bool bookings_basis; /* churn over booking days, not visit days */
    double horizon_days; /* churn_risk is P(no transaction in this many days) */
    double alert;        /* churn risk (0..1) at which a silent visitor is warned */
    long long lapse_ms;  /* silence after which the site counts a visitor as lapsed */
};

struct score_result {
    float x[LEAD_F_COUNT];
    bool have_lead;
    double probability;
    int lead_score;
    bool have_churn; /* false without a model, or with bookings basis and no booking */
    double p_alive, expected, churn_risk;
    int persona; /* -1 none */
    char reasons[SCORE_REASONS_MAX][LEAD_REASON_MAX];
    size_t nreasons;
    char model_version[SCORE_VERSION_MAX]; /* "lead-...+bgnbd-...+personas-..." */
};

/* The BG/NBD summary of p at now_day (the site's local day, fractional)
 * in the model's unit; false when p has no transaction on the basis. */
bool score_customer(const struct score_models *m, const struct score_opts *o,
                    const struct profile *p, double now_day, struct bgnbd_customer *c);

/* Scores p at now_ms (event time) and now_day (its local day, fractional):
 * features, lead (prediction only: reasons are score_explain's), churn,
 * persona, model version. Returns 0, or -1 with the reason in err when the
 * lead model fails (the result's other parts are filled). */
int score_profile(const struct score_models *m, const struct score_opts *o,
                  const struct scorer_rules *r, const struct pagestats *ps, const struct profile *p,
                  double now_day, struct score_result *out, char *err, size_t errlen);

/* Fills out's reasons: the lead model's strongest contributions, then a
 * churn reason when the risk reaches the alert, then the persona. Costs an
 * exact TreeSHAP (lead_model_explain, ~300 us): call it only when the
 * reasons are to be refreshed. Returns 0 or -1 (reason in err). */
int score_explain(const struct score_models *m, const struct score_opts *o, const struct profile *p,
                  double now_day, struct score_result *out, char *err, size_t errlen);

/* What chose a churn warning's moment. */
enum score_warning {
    SCORE_WARN_NONE = 0,
    SCORE_WARN_ALERT, /* the churn risk reaches the alert */
    SCORE_WARN_LAPSE, /* SCORE_WARN_BEFORE_LAPSE_MS before the lapse, which comes first */
};

/* When p's churn warning falls due if p stays silent, in UTC ms: when the
 * churn risk over the horizon reaches the alert, and never later than
 * SCORE_WARN_BEFORE_LAPSE_MS before p would lapse (last seen + lapse); a
 * visitor whose risk is at the alert already when last seen (their last
 * score said so) is warned only before the lapse. utc_offset_ms converts
 * local days back. 0 when there is no churn model or p has no transaction
 * on the basis. *why (may be NULL) says which bound chose the moment. */
long long score_warning_at(const struct score_models *m, const struct score_opts *o,
                           const struct profile *p, long long utc_offset_ms,
                           enum score_warning *why);

#endif
