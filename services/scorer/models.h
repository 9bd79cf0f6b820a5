#ifndef SCORER_MODELS_H
#define SCORER_MODELS_H

/*
 * What the scorer loads at start: its rules, the site's event types (the
 * journeys file), the site's time zone, and the three models. Every file
 * that fails is reported (config: lines) before exit 78.
 */

#include <stdio.h>

#include "analytics/persona.h"
#include "analytics/site_events.h"
#include "rules.h"
#include "score.h"
#include "scorer_config.h"

struct tz;

struct scorer_resources {
    struct scorer_rules *rules;
    struct site_events site;
    struct tz *tz;
    struct score_models models;
    struct persona_model *personas; /* owned; models.personas points here */
    struct score_opts score;
};

/* Loads everything c names into r. Returns how many variables were bad
 * (said on err as "config: NAME: reason"). Release with
 * scorer_resources_fini whatever the result. */
int scorer_resources_load(struct scorer_resources *r, const struct scorer_config *c, FILE *err);

/* Frees what scorer_resources_load made. */
void scorer_resources_fini(struct scorer_resources *r);

#endif
