#include "models.h"

#include "analytics/fileio.h"
#include "analytics/log.h"
#include "analytics/tz.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCORER_JOURNEYS_FILE_MAX ((size_t)1 << 20)

/* The site's event types from the journeys file. */
static int load_site(struct scorer_resources *r, const char *path, char *why, size_t whylen)
{
    cJSON *root = fileio_read_json(path, SCORER_JOURNEYS_FILE_MAX, FILEIO_JSON_OBJECT, why, whylen);
    int rc = root != NULL ? site_events_load(&r->site, root, path, why, whylen) : -1;

    cJSON_Delete(root);
    return rc;
}

/* ---- the models ---- */

const char *scorer_models_var(enum scorer_model which)
{
    static const char *const vars[SCORER_MODELS] = {
        [SCORER_MODEL_LEAD] = "ANALYTICS_SCORER_LEAD_MODEL",
        [SCORER_MODEL_CHURN] = "ANALYTICS_SCORER_CHURN_MODEL",
        [SCORER_MODEL_PERSONAS] = "ANALYTICS_SCORER_PERSONA_MODEL",
    };

    return (unsigned)which < SCORER_MODELS ? vars[which] : "";
}

static int load_churn(struct scorer_models *ms, const char *path, char *why, size_t whylen)
{
    struct bgnbd_model churn;
    struct fileio_stamp stamp;

    (void)fileio_stamp(path, &stamp); /* before the read: a change during it is seen next time */
    if (bgnbd_model_read(&churn, path, why, whylen) != 0) {
        return -1;
    }
    ms->m.churn = churn;
    ms->m.have_churn = true;
    ms->churn_stamp = stamp;
    return 0;
}

static int load_personas(struct scorer_models *ms, const char *path, char *why, size_t whylen)
{
    struct persona_model *pm = calloc(1, sizeof(*pm));

    if (pm == NULL) {
        snprintf(why, whylen, "%s: out of memory", path);
        return -1;
    }
    if (persona_model_load(pm, path, why, whylen) != 0) {
        free(pm);
        return -1;
    }
    free(ms->personas);
    ms->personas = pm;
    ms->m.personas = pm;
    return 0;
}

int scorer_models_load(struct scorer_models *ms, enum scorer_model which, const char *path,
                       char *why, size_t whylen)
{
    struct lead_model *lead;

    switch (which) {
    case SCORER_MODEL_LEAD:
        if ((lead = lead_model_load(path, why, whylen)) == NULL) {
            return -1;
        }
        lead_model_free(ms->m.lead);
        ms->m.lead = lead;
        return 0;
    case SCORER_MODEL_CHURN:
        return load_churn(ms, path, why, whylen);
    case SCORER_MODEL_PERSONAS:
        return load_personas(ms, path, why, whylen);
    default:
        snprintf(why, whylen, "no such model");
        return -1;
    }
}

unsigned scorer_models_take(struct scorer_models *into, struct scorer_models *from)
{
    unsigned moved = 0;

    if (from->m.lead != NULL) {
        lead_model_free(into->m.lead);
        into->m.lead = from->m.lead;
        from->m.lead = NULL;
        moved |= 1u << SCORER_MODEL_LEAD;
    }
    if (from->m.have_churn) {
        into->m.churn = from->m.churn;
        into->m.have_churn = true;
        into->churn_stamp = from->churn_stamp;
        from->m.have_churn = false;
        moved |= 1u << SCORER_MODEL_CHURN;
    }
    if (from->personas != NULL) {
        free(into->personas);
        into->personas = from->personas;
        into->m.personas = into->personas;
        from->personas = NULL;
        from->m.personas = NULL;
        moved |= 1u << SCORER_MODEL_PERSONAS;
    }
    return moved;
}

int scorer_models_reload(struct scorer_models *ms, const struct scorer_config *c)
{
    const char *paths[SCORER_MODELS] = {c->lead_model, c->churn_model, c->persona_model};
    char why[512];
    int bad = 0;

    for (int w = 0; w < SCORER_MODELS; w++) {
        if (paths[w] == NULL || paths[w][0] == '\0') {
            continue;
        }
        if (scorer_models_load(ms, (enum scorer_model)w, paths[w], why, sizeof(why)) != 0) {
            log_error("scorer.reload_failed", LOG_STR("variable", scorer_models_var(w)),
                      LOG_STR("path", paths[w]), LOG_STR("error", why),
                      LOG_STR("keeping", "the model in use"));
            bad++;
        }
    }
    return bad;
}

void scorer_models_fini(struct scorer_models *ms)
{
    lead_model_free(ms->m.lead);
    free(ms->personas);
    memset(ms, 0, sizeof(*ms));
}

/* ---- everything at start ---- */

int scorer_resources_load(struct scorer_resources *r, const struct scorer_config *c, FILE *err)
{
    const char *paths[SCORER_MODELS] = {c->lead_model, c->churn_model, c->persona_model};
    char why[512];
    int bad = 0;

    memset(r, 0, sizeof(*r));
    if ((r->rules = scorer_rules_load(c->rules_file, why, sizeof(why))) == NULL) {
        fprintf(err, "config: ANALYTICS_SCORER_RULES_FILE: %s\n", why);
        bad++;
    }
    if (load_site(r, c->journeys_file, why, sizeof(why)) != 0) {
        fprintf(err, "config: ANALYTICS_JOURNEYS_FILE: %s\n", why);
        bad++;
    }
    if (tz_open(c->svc.site_timezone, NULL, &r->tz, why, sizeof(why)) != 0) {
        fprintf(err, "config: ANALYTICS_SITE_TIMEZONE: %s\n", why);
        bad++;
    }
    for (int w = 0; w < SCORER_MODELS; w++) {
        if (w == SCORER_MODEL_PERSONAS && (paths[w] == NULL || paths[w][0] == '\0')) {
            continue; /* no personas */
        }
        if (scorer_models_load(&r->models, (enum scorer_model)w, paths[w], why, sizeof(why)) != 0) {
            fprintf(err, "config: %s: %s\n", scorer_models_var(w), why);
            bad++;
        }
    }
    r->score = (struct score_opts){
        .bookings_basis = c->churn_basis == 1,
        .horizon_days = (double)c->churn_horizon_days,
        .alert = (double)c->churn_alert_pct / 100.0,
        .lapse_ms = c->lapse_days * 86400000LL,
    };
    return bad;
}

void scorer_resources_fini(struct scorer_resources *r)
{
    scorer_rules_free(r->rules);
    site_events_fini(&r->site);
    tz_free(r->tz);
    scorer_models_fini(&r->models);
    memset(r, 0, sizeof(*r));
}
