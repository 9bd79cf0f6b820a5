#ifndef SCORER_CONFIG_H
#define SCORER_CONFIG_H

#include <stddef.h>

#include "analytics/config.h"
#include "analytics/service.h"

struct scorer_config {
    struct service_config svc; /* the shared rows: first, so their offsets hold */
    char *rules_file;
    char *journeys_file;
    char *lead_model;
    char *churn_model;
    char *persona_model;
    int churn_basis; /* 0 sessions, 1 bookings */
    long long churn_horizon_days;
    long long churn_alert_pct;
    long long lapse_days;
    long long visitor_cache;
    long long profile_ttl_h;
    long long page_stats_days;
};

#define SCORER_SUMMARY                                                                             \
    "Consumes enriched events and journey updates, keeps one behaviour profile per visitor\n"      \
    "(PostgreSQL user_behavior_profiles, exactly once; hot in Redis), and after each event\n"      \
    "that changes something produces a ScoreUpdate on scores: lead score and conversion\n"         \
    "probability (XGBoost), churn risk (BG/NBD), persona (k-means), reasons. SIGHUP reloads\n"     \
    "the models; a model that fails to load keeps the old one."

extern const struct config_var scorer_config_vars[];
extern const size_t scorer_config_nvars;
extern const struct service_stage scorer_stage_rows;

#endif
