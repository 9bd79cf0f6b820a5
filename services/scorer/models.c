#include "models.h"

#include "analytics/fileio.h"
#include "analytics/tz.h"

#include <cjson/cJSON.h>
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

int scorer_resources_load(struct scorer_resources *r, const struct scorer_config *c, FILE *err)
{
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
    if ((r->models.lead = lead_model_load(c->lead_model, why, sizeof(why))) == NULL) {
        fprintf(err, "config: ANALYTICS_SCORER_LEAD_MODEL: %s\n", why);
        bad++;
    }
    if (bgnbd_model_read(&r->models.churn, c->churn_model, why, sizeof(why)) != 0) {
        fprintf(err, "config: ANALYTICS_SCORER_CHURN_MODEL: %s\n", why);
        bad++;
    } else {
        r->models.have_churn = true;
    }
    if (c->persona_model != NULL && c->persona_model[0] != '\0') {
        r->personas = calloc(1, sizeof(*r->personas));
        if (r->personas == NULL ||
            persona_model_load(r->personas, c->persona_model, why, sizeof(why)) != 0) {
            fprintf(err, "config: ANALYTICS_SCORER_PERSONA_MODEL: %s\n",
                    r->personas == NULL ? "out of memory" : why);
            bad++;
        } else {
            r->models.personas = r->personas;
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
    lead_model_free(r->models.lead);
    free(r->personas);
    memset(r, 0, sizeof(*r));
}
