#ifndef SCORER_MODELS_H
#define SCORER_MODELS_H

/*
 * What the scorer loads at start: its rules, the site's event types (the
 * journeys file), the site's time zone, and the three models. Every file
 * that fails is reported (config: lines) before exit 78. The models are
 * loaded again while it runs (SIGHUP; the churn model also when its file
 * changes): one that fails then is logged and the one in use stays.
 */

#include <stdbool.h>
#include <stdio.h>

#include "analytics/fileio.h"
#include "analytics/persona.h"
#include "analytics/site_events.h"
#include "rules.h"
#include "score.h"
#include "scorer_config.h"

struct tz;

enum scorer_model { SCORER_MODEL_LEAD, SCORER_MODEL_CHURN, SCORER_MODEL_PERSONAS, SCORER_MODELS };

/* Models, each owned: what scoring reads (m: m.lead, m.churn when
 * m.have_churn, m.personas pointing to personas), and the stamp of the
 * churn model's file as it was before it was read. A set of models loaded
 * to replace those in use holds only the new ones (the others NULL, or
 * have_churn false). */
struct scorer_models {
    struct score_models m;
    struct persona_model *personas;
    struct fileio_stamp churn_stamp;
};

/* The variable that names model which's file ("ANALYTICS_SCORER_LEAD_MODEL").
 * Static. */
const char *scorer_models_var(enum scorer_model which);

/* Loads model which from path into ms, freeing the one ms had. Returns 0,
 * or -1 with the reason in why (naming the file), ms unchanged. */
int scorer_models_load(struct scorer_models *ms, enum scorer_model which, const char *path,
                       char *why, size_t whylen);

/* Moves every model from holds into into, freeing those it replaces; from
 * is left empty. Returns the bits (1 << enum scorer_model) of those moved. */
unsigned scorer_models_take(struct scorer_models *into, struct scorer_models *from);

/* Loads again into ms (empty) every model c names (the persona model only
 * when set); each that fails is logged (scorer.reload_failed with its
 * variable, file and reason) and left out. Returns how many failed. */
int scorer_models_reload(struct scorer_models *ms, const struct scorer_config *c);

/* Frees the models ms holds and empties it. */
void scorer_models_fini(struct scorer_models *ms);

struct scorer_resources {
    struct scorer_rules *rules;
    struct site_events site;
    struct tz *tz;
    struct scorer_models models; /* until the daemon takes them */
    struct score_opts score;
};

/* Loads everything c names into r. Returns how many variables were bad
 * (said on err as "config: NAME: reason"). Release with
 * scorer_resources_fini whatever the result. */
int scorer_resources_load(struct scorer_resources *r, const struct scorer_config *c, FILE *err);

/* Frees what scorer_resources_load made (and the models still held). */
void scorer_resources_fini(struct scorer_resources *r);

#endif
