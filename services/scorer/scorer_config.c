#include "scorer_config.h"

#include <stddef.h>

#define F(field) offsetof(struct scorer_config, field)

/* Files default to this source tree (the container image sets them). */
const struct config_var scorer_config_vars[] = {
    {"ANALYTICS_SCORER_RULES_FILE", CONFIG_STRING, ANALYTICS_DATA_DIR "/deploy/config/scorer.json",
     0, 0, NULL, "page categories, profile counters and special days (JSON)", F(rules_file), 0},
    {"ANALYTICS_JOURNEYS_FILE", CONFIG_STRING, ANALYTICS_DATA_DIR "/deploy/config/journeys.json", 0,
     0, NULL, "the site's page-view and conversion event types (the journey-builder's file)",
     F(journeys_file), 0},
    {"ANALYTICS_SCORER_LEAD_MODEL", CONFIG_STRING, ANALYTICS_DATA_DIR "/deploy/models/lead.json", 0,
     0, NULL, "the lead model (analytics-train lead); SIGHUP reloads it", F(lead_model), 0},
    {"ANALYTICS_SCORER_CHURN_MODEL", CONFIG_STRING, ANALYTICS_DATA_DIR "/deploy/models/churn.json",
     0, 0, NULL,
     "the churn model (analytics-train bgnbd; the shipped one is the CDNOW fit in days); "
     "reloaded when the file is replaced, and on SIGHUP",
     F(churn_model), 0},
    {"ANALYTICS_SCORER_PERSONA_MODEL", CONFIG_STRING,
     ANALYTICS_DATA_DIR "/deploy/models/personas.json", 0, 0, NULL,
     "the persona model (analytics-train segments; scripts/train-personas made the shipped "
     "one); empty: no personas; SIGHUP reloads it",
     F(persona_model), 0},
    {"ANALYTICS_SCORER_CHURN_BASIS", CONFIG_ENUM, "sessions", 0, 0, "sessions|bookings",
     "what counts as a visitor's transaction for churn: a day with a session, or with a "
     "completed booking",
     F(churn_basis), 0},
    {"ANALYTICS_SCORER_CHURN_HORIZON_DAYS", CONFIG_INT, "30", 1, 3650, NULL,
     "churn_risk is the probability of no transaction in this many days", F(churn_horizon_days), 0},
    {"ANALYTICS_SCORER_CHURN_ALERT", CONFIG_INT, "70", 1, 99, NULL,
     "churn risk in percent at which a silent visitor gets a churn_warning", F(churn_alert_pct), 0},
    {"ANALYTICS_SCORER_LAPSE_DAYS", CONFIG_INT, "90", 4, 3650, NULL,
     "days of silence after which the site counts a visitor as lapsed: the warning comes at "
     "the latest 72 hours before",
     F(lapse_days), 0},
    {"ANALYTICS_SCORER_VISITOR_CACHE", CONFIG_INT, "20000", 1, 10000000, NULL,
     "profiles kept in memory, about 4 KB each (the rest are read back from PostgreSQL)",
     F(visitor_cache), 0},
    {"ANALYTICS_SCORER_PROFILE_TTL_H", CONFIG_INT, "720", 1, 87600, NULL,
     "hours a visitor's hot profile stays in Redis after its last update", F(profile_ttl_h), 0},
    {"ANALYTICS_SCORER_PAGE_STATS_DAYS", CONFIG_INT, "30", 1, 400, NULL,
     "days of site-wide page statistics (bounce, exit, page value) the features read",
     F(page_stats_days), 0},
};

const size_t scorer_config_nvars = sizeof(scorer_config_vars) / sizeof(scorer_config_vars[0]);

const struct service_stage scorer_stage_rows = {
    .group = "analytics-scorer",
    .group_help = "Kafka consumer group; a new group reads events.enriched and journeys from the "
                  "start, and what the database has applied already (scorer_offsets) is skipped",
    .batch = "5000",
    .batch_help = "messages consumed and written in one transaction",
};
