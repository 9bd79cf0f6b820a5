#include "outputs.h"

#include "analytics/pbenums.h"

#include "analytics/v1/score_update.pb-c.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OUTPUTS_FEATURES_MAX (LEAD_F_COUNT + 2)

int outputs_score_update(const struct profile *p, const struct score_result *r,
                         const char *persona_name, const char *cause_event_id, long long ts_ms,
                         const char *extra_reason, uint8_t **buf, size_t *len)
{
    Analytics__V1__ScoreUpdate u = ANALYTICS__V1__SCORE_UPDATE__INIT;
    Analytics__V1__ScoreUpdate__FeaturesEntry entries[OUTPUTS_FEATURES_MAX];
    Analytics__V1__ScoreUpdate__FeaturesEntry *ep[OUTPUTS_FEATURES_MAX];
    char *reasons[SCORE_REASONS_MAX + 1];
    size_t nf = 0, nr = 0;

    u.schema_version = 1;
    u.cause_event_id = (char *)cause_event_id;
    u.fingerprint = (char *)p->fingerprint;
    u.user_id = (char *)p->user_id;
    u.ts_ms = ts_ms;
    u.lead_score = r->have_lead ? (uint32_t)r->lead_score : 0;
    u.conversion_probability = r->have_lead ? r->probability : 0.0;
    u.churn_risk = r->have_churn ? r->churn_risk : 0.0;
    u.segment = (char *)(persona_name != NULL ? persona_name : "");
    u.model_version = (char *)r->model_version;
    for (int f = 0; f < LEAD_F_COUNT; f++) {
        if (!isnan(r->x[f])) {
            analytics__v1__score_update__features_entry__init(&entries[nf]);
            entries[nf].key = (char *)lead_feature_names[f];
            entries[nf].value = r->x[f];
            ep[nf] = &entries[nf];
            nf++;
        }
    }
    if (r->have_churn) {
        const char *names[] = {"p_alive", "expected_transactions"};
        const double vals[] = {r->p_alive, r->expected};
        for (int i = 0; i < 2; i++) {
            analytics__v1__score_update__features_entry__init(&entries[nf]);
            entries[nf].key = (char *)names[i];
            entries[nf].value = vals[i];
            ep[nf] = &entries[nf];
            nf++;
        }
    }
    u.n_features = nf;
    u.features = ep;
    if (extra_reason != NULL) {
        reasons[nr++] = (char *)extra_reason;
    }
    for (size_t i = 0; i < r->nreasons; i++) {
        reasons[nr++] = (char *)r->reasons[i];
    }
    u.n_reasons = nr;
    u.reasons = reasons;
    *len = analytics__v1__score_update__get_packed_size(&u);
    *buf = malloc(*len > 0 ? *len : 1);
    if (*buf == NULL) {
        return -1;
    }
    analytics__v1__score_update__pack(&u, *buf);
    return 0;
}

static void put(struct outputs_hash *h, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void put(struct outputs_hash *h, const char *field, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(h->text[h->n], OUTPUTS_VALUE_MAX, fmt, ap);
    va_end(ap);
    h->fields[h->n] = field;
    h->values[h->n] = h->text[h->n];
    h->n++;
}

/* The reasons as a JSON array text, cut to fit (whole reasons only). */
static void put_reasons(struct outputs_hash *h, const struct score_result *r)
{
    cJSON *a = cJSON_CreateArray();
    char *text = NULL;

    for (size_t i = 0; a != NULL && i < r->nreasons; i++) {
        cJSON_AddItemToArray(a, cJSON_CreateString(r->reasons[i]));
        char *t = cJSON_PrintUnformatted(a);
        if (t == NULL || strlen(t) >= OUTPUTS_VALUE_MAX) {
            free(t);
            break;
        }
        free(text);
        text = t;
    }
    put(h, "reasons", "%s", text != NULL ? text : "[]");
    free(text);
    cJSON_Delete(a);
}

void outputs_hash(const struct profile *p, const struct score_result *r, const char *persona_name,
                  struct outputs_hash *h)
{
    h->n = 0;
    put(h, "lead_score", "%d", r->have_lead ? r->lead_score : 0);
    put(h, "conversion_probability", "%.4f", r->have_lead ? r->probability : 0.0);
    if (r->have_churn) {
        put(h, "churn_risk", "%.4f", r->churn_risk);
    } else {
        put(h, "churn_risk", "%s", "");
    }
    put(h, "persona", "%s", persona_name != NULL ? persona_name : "");
    put(h, "stage", "%s", p->stage);
    put(h, "sessions", "%d", p->sessions);
    put(h, "page_views", "%d", p->page_views);
    put(h, "pricing_views", "%d", p->pricing_views);
    put(h, "bookings_started", "%d", p->bookings_started);
    put(h, "bookings_completed", "%d", p->bookings_completed);
    put(h, "returning", "%d", p->sessions > 1);
    put(h, "first_seen_ms", "%lld", p->first_seen_ms);
    put(h, "last_seen_ms", "%lld", p->last_seen_ms);
    put(h, "first_channel", "%s", pb_channel_name(p->first_channel));
    put(h, "first_device", "%s", pb_device_name(p->first_device));
    put(h, "model_version", "%s", r->model_version);
    put_reasons(h, r);
}
