#ifndef PUSH_GATEWAY_GW_SITE_H
#define PUSH_GATEWAY_GW_SITE_H

/*
 * What the routes need to know about the site, read once at start: its
 * page-view and conversion event types from the journey rules file (the
 * one the journey-builder and the scorer read, ANALYTICS_JOURNEYS_FILE),
 * and the personas' names and descriptions from the persona model (the
 * scorer's ANALYTICS_SCORER_PERSONA_MODEL), in the forms the queries take
 * them as parameters.
 */

#include <stddef.h>

struct gw_site {
    char *page_views;  /* a PostgreSQL text[] literal: {"page_view"} */
    char *conversions; /* idem: {"booking_completed"} */
    char *personas;    /* JSON: [{"name":..,"description":..,"share":..}], [] without a model */
    char *persona_model_version; /* or NULL */
    char *conversion_stage;      /* the last of the journey stages: "conversion" */
};

/* Reads journeys_path (required) and persona_path (NULL or empty: no
 * personas) into s. A persona model that cannot be read is logged
 * (gateway.personas_unavailable) and leaves no personas: the segments
 * route then gives sizes without descriptions. Returns 0, or -1 with the
 * reason in err when the journeys file is missing or malformed (s is then
 * empty). Release with gw_site_fini. */
int gw_site_load(struct gw_site *s, const char *journeys_path, const char *persona_path, char *err,
                 size_t errlen);

/* Frees what gw_site_load made; s is left empty. */
void gw_site_fini(struct gw_site *s);

#endif
