#include "score.h"

#include "session_features.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define DAY_MS 86400000.0

bool score_customer(const struct score_models *m, const struct score_opts *o,
                    const struct profile *p, double now_day, struct bgnbd_customer *c)
{
    double unit = bgnbd_unit_days(m->churn.unit);
    long long first = o->bookings_basis ? p->first_booking_day : p->first_visit_day;
    long long last = o->bookings_basis ? p->last_booking_day : p->last_visit_day;
    int days = o->bookings_basis ? p->booking_days : p->visit_days;

    if (!m->have_churn || days < 1 || !(unit > 0)) {
        return false;
    }
    /* A transaction counts at the end of its day (as the model was fitted):
     * T runs from the end of the first day to now, never below t_x. */
    c->x = days - 1;
    c->t_x = (double)(last - first) / unit;
    c->T = fmax((now_day - (double)(first + 1)) / unit, c->t_x);
    return true;
}

static void score_churn(const struct score_models *m, const struct score_opts *o,
                        const struct profile *p, double now_day, struct score_result *out)
{
    struct bgnbd_customer c;

    out->have_churn = false;
    if (!score_customer(m, o, p, now_day, &c)) {
        return;
    }
    double h = o->horizon_days / bgnbd_unit_days(m->churn.unit);
    out->p_alive = bgnbd_p_alive(&m->churn.params, &c);
    out->expected = bgnbd_expected_transactions(&m->churn.params, &c, h);
    out->churn_risk = bgnbd_churn_risk(&m->churn.params, &c, h);
    out->have_churn =
        isfinite(out->p_alive) && isfinite(out->churn_risk) && isfinite(out->expected);
}

static void score_version(const struct score_models *m, struct score_result *out)
{
    snprintf(out->model_version, sizeof(out->model_version), "%s+%s+%s",
             m->lead != NULL ? lead_model_version(m->lead) : "nolead",
             m->have_churn ? m->churn.model_version : "nochurn",
             m->personas != NULL ? m->personas->version : "nopersonas");
}

/* The persona model's inputs from the profile's counts. */
static void score_persona_input(const struct profile *p, struct persona_input *in)
{
    *in = (struct persona_input){
        .sessions = p->sessions,
        .page_views = p->page_views,
        .seconds = (double)p->seconds,
        .pricing_views = p->pricing_views,
        .bookings_started = p->bookings_started,
        .bookings_completed = p->bookings_completed,
        .forms_started = p->forms_started,
        .rage_clicks = p->rage_clicks,
        .exit_intents = p->exit_intents,
        .deepest_scroll = p->deepest_scroll,
        .active_days = (double)(p->last_seen_ms - p->first_seen_ms) / DAY_MS,
    };
}

int score_profile(const struct score_models *m, const struct score_opts *o,
                  const struct scorer_rules *r, const struct pagestats *ps, const struct profile *p,
                  double now_day, struct score_result *out, char *err, size_t errlen)
{
    int rc = 0;

    memset(out, 0, sizeof(*out));
    out->persona = -1;
    features_build(p, r, ps, out->x);
    if (m->lead != NULL) {
        struct lead_prediction pred;
        if (lead_model_predict(m->lead, out->x, &pred, err, errlen) == 0) {
            out->have_lead = true;
            out->probability = pred.probability;
            out->lead_score = pred.score;
        } else {
            rc = -1;
        }
    }
    score_churn(m, o, p, now_day, out);
    if (m->personas != NULL) {
        struct persona_input in;
        double f[PERSONA_F_COUNT];
        score_persona_input(p, &in);
        persona_features(&in, f);
        out->persona = persona_assign(m->personas, f);
    }
    score_version(m, out);
    return rc;
}

int score_explain(const struct score_models *m, const struct score_opts *o, const struct profile *p,
                  double now_day, struct score_result *out, char *err, size_t errlen)
{
    size_t n = 0;
    int rc = 0;

    if (m->lead != NULL) {
        struct lead_prediction pred;
        if (lead_model_explain(m->lead, out->x, &pred, err, errlen) == 0) {
            n = lead_model_reasons(out->x, pred.contrib, out->reasons, SCORE_REASONS_MAX - 2);
        } else {
            rc = -1;
        }
    }
    if (out->have_churn && out->churn_risk >= o->alert && n < SCORE_REASONS_MAX) {
        double silent =
            now_day - (double)(o->bookings_basis ? p->last_booking_day : p->last_visit_day) - 1;
        snprintf(out->reasons[n++], LEAD_REASON_MAX, "%s for %.0f days: churn risk %.0f%%",
                 o->bookings_basis ? "no booking" : "not seen", fmax(silent, 0.0),
                 out->churn_risk * 100.0);
    }
    if (m->personas != NULL && out->persona >= 0 && n < SCORE_REASONS_MAX) {
        snprintf(out->reasons[n++], LEAD_REASON_MAX, "behaves like a %s",
                 m->personas->names[out->persona]);
    }
    out->nreasons = n;
    return rc;
}

long long score_warning_at(const struct score_models *m, const struct score_opts *o,
                           const struct profile *p, long long utc_offset_ms,
                           enum score_warning *why)
{
    struct bgnbd_customer c;
    double unit = bgnbd_unit_days(m->churn.unit);
    double last_day = (double)(p->last_seen_ms + utc_offset_ms) / DAY_MS;
    enum score_warning dummy = SCORE_WARN_NONE;

    why = why != NULL ? why : &dummy;
    *why = SCORE_WARN_NONE;
    if (!score_customer(m, o, p, last_day, &c)) {
        return 0;
    }
    long long first = o->bookings_basis ? p->first_booking_day : p->first_visit_day;
    long long latest = p->last_seen_ms + o->lapse_ms - SCORE_WARN_BEFORE_LAPSE_MS;
    double T =
        bgnbd_risk_crossing(&m->churn.params, c.x, c.t_x, c.T, o->horizon_days / unit, o->alert);
    *why = SCORE_WARN_LAPSE;
    if (!isfinite(T) || T <= c.T) {
        return latest; /* never crosses, or high already when last seen: only the lapse */
    }
    /* Back from the model's time to UTC ms: T counts from the end of the first local day. */
    double local_ms = ((double)(first + 1) + T * unit) * DAY_MS;
    long long at = (long long)ceil(local_ms) - utc_offset_ms;
    if (at >= latest) {
        return latest;
    }
    *why = SCORE_WARN_ALERT;
    return at;
}
