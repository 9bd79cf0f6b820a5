#ifndef ANALYTICS_PERSONA_H
#define ANALYTICS_PERSONA_H

/*
 * The behavioural personas: k-means centroids over standardised profile
 * features, each named in words a marketer reads and described by what sets
 * it apart. analytics-train segments fits them (from user_behavior_profiles
 * or a CSV of its columns); the scorer assigns each profile the nearest.
 *
 * The features are transforms of the profile's counts (persona_features):
 * log(1 + x) of the counts, per session where a visitor's number of
 * sessions would otherwise dominate, the deepest scroll as a fraction.
 */

#include <stddef.h>

#include "analytics/kmeans.h"

enum persona_feature {
    PERSONA_F_SESSIONS,
    PERSONA_F_PAGES_PER_SESSION,
    PERSONA_F_SECONDS_PER_SESSION,
    PERSONA_F_PRICING_VIEWS,
    PERSONA_F_BOOKINGS_STARTED,
    PERSONA_F_BOOKINGS_COMPLETED,
    PERSONA_F_FORMS_STARTED,
    PERSONA_F_RAGE_CLICKS,
    PERSONA_F_EXIT_INTENTS,
    PERSONA_F_DEEPEST_SCROLL,
    PERSONA_F_ACTIVE_DAYS,
    PERSONA_F_COUNT
};

extern const char *const persona_feature_names[PERSONA_F_COUNT];

/* A profile's counts, as user_behavior_profiles holds them. */
struct persona_input {
    double sessions, page_views, seconds, pricing_views, bookings_started, bookings_completed;
    double forms_started, rage_clicks, exit_intents, deepest_scroll; /* scroll in percent */
    double active_days; /* last seen minus first seen, in days */
};

/* The features of in, into out. Pure. */
void persona_features(const struct persona_input *in, double out[PERSONA_F_COUNT]);

#define PERSONA_NAME_MAX 48
#define PERSONA_DESC_MAX 200

struct persona_model {
    int k;
    double mean[PERSONA_F_COUNT], sd[PERSONA_F_COUNT]; /* of the features, for standardising */
    double centroids[KMEANS_K_MAX][PERSONA_F_COUNT];   /* standardised */
    double share[KMEANS_K_MAX];                        /* of the training profiles */
    char names[KMEANS_K_MAX][PERSONA_NAME_MAX];
    char descriptions[KMEANS_K_MAX][PERSONA_DESC_MAX];
    double silhouette;    /* of the chosen k, on the training sample */
    double stability_ari; /* mean ARI over bootstrap refits; NaN when not measured */
    size_t profiles;      /* trained on */
    char version[32];     /* "personas-" + a hash of the centroids */
};

/* Standardises features x (PERSONA_F_COUNT) with m's mean and sd. */
void persona_standardise(const struct persona_model *m, const double *x, double *z);

/* The persona (0..k-1) nearest to the profile's features x. */
int persona_assign(const struct persona_model *m, const double x[PERSONA_F_COUNT]);

/* Names and describes every centroid of m from its standardised centroid,
 * its share and the raw means (m->mean, m->sd set): names are distinct.
 * Sets m->version. Pure. */
void persona_name_all(struct persona_model *m);

/* Writes m as JSON to path (through a temporary file and a rename).
 * Returns 0, or -1 with the reason in err. */
int persona_model_save(const struct persona_model *m, const char *path, char *err, size_t errlen);

/* Reads a model written by persona_model_save. Returns 0, or -1 with the
 * reason in err naming the file and the key. */
int persona_model_load(struct persona_model *m, const char *path, char *err, size_t errlen);

#endif
