#ifndef TRAIN_SEGMENTS_H
#define TRAIN_SEGMENTS_H

/*
 * Fitting the personas (analytics/persona.h) from profiles: standardise
 * the features, cluster with k-means++ for each k in a range, keep the k of
 * the best mean silhouette, name the clusters; and the stability of that
 * clustering, the adjusted Rand index between it and refits on bootstrap
 * samples. Deterministic for a seed. Pure.
 */

#include <stddef.h>
#include <stdint.h>

#include "analytics/persona.h"

#define SEGMENTS_K_MIN 8
#define SEGMENTS_K_MAX 12

struct segments_opts {
    int k_min, k_max; /* the range tried (both included) */
    uint64_t seed;
    size_t sample;  /* rows the silhouette is measured on (a seeded sample) */
    int restarts;   /* k-means++ runs per k; the best is kept */
    int bootstraps; /* refits for the stability; 0: not measured */
};

struct segments_report {
    double silhouette_by_k[SEGMENTS_K_MAX + 1]; /* NaN for k not tried */
    double ari_mean, ari_min;                   /* NaN when not measured */
};

/* Fits m from the features x (n rows of PERSONA_F_COUNT). Returns 0, or
 * -1 with the reason in err (fewer rows than k_max, a bad range, memory). */
int segments_fit(const double *x, size_t n, const struct segments_opts *o, struct persona_model *m,
                 struct segments_report *rep, char *err, size_t errlen);

#endif
