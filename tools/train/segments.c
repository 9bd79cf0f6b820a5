#include "segments.h"

#include "analytics/errbuf.h"
#include "analytics/kmeans.h"
#include "analytics/rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Means and standard deviations of the columns; an sd of 0 becomes 1 so
 * a constant column standardises to 0. */
static void segments_scale(const double *x, size_t n, struct persona_model *m)
{
    for (int f = 0; f < PERSONA_F_COUNT; f++) {
        double s = 0, ss = 0;
        for (size_t i = 0; i < n; i++) {
            s += x[i * PERSONA_F_COUNT + (size_t)f];
        }
        m->mean[f] = s / (double)n;
        for (size_t i = 0; i < n; i++) {
            double t = x[i * PERSONA_F_COUNT + (size_t)f] - m->mean[f];
            ss += t * t;
        }
        m->sd[f] = n > 1 ? sqrt(ss / (double)(n - 1)) : 0;
        if (!(m->sd[f] > 1e-12)) {
            m->sd[f] = 1;
        }
    }
}

/* A seeded sample of up to want distinct row indexes (a partial shuffle). */
static size_t *segments_sample(size_t n, size_t want, uint64_t *rng, size_t *m)
{
    size_t *idx = malloc(n * sizeof(*idx));

    if (idx == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        idx[i] = i;
    }
    *m = want < n ? want : n;
    for (size_t i = 0; i < *m; i++) {
        size_t j = i + (size_t)(rng_unit(rng) * (double)(n - i));
        size_t t = idx[i];
        idx[i] = idx[j < n ? j : n - 1];
        idx[j < n ? j : n - 1] = t;
    }
    return idx;
}

/* The ARI of refits on bootstrap samples against labels. */
static int segments_stability(const double *z, size_t n, int k, const int *labels,
                              const struct segments_opts *o, uint64_t *rng,
                              struct segments_report *rep)
{
    double *boot = malloc(n * PERSONA_F_COUNT * sizeof(*boot));
    int *lab = malloc(n * sizeof(*lab));
    double sum = 0;
    int rc = -1;

    rep->ari_min = INFINITY;
    for (int b = 0; boot != NULL && lab != NULL && b < o->bootstraps; b++) {
        struct kmeans_result r;
        for (size_t i = 0; i < n; i++) {
            size_t j = (size_t)(rng_unit(rng) * (double)n);
            memcpy(boot + i * PERSONA_F_COUNT, z + (j < n ? j : n - 1) * PERSONA_F_COUNT,
                   PERSONA_F_COUNT * sizeof(*boot));
        }
        if (kmeans_fit(boot, n, PERSONA_F_COUNT, k, o->restarts, 100, rng, &r, NULL) != 0) {
            goto out;
        }
        kmeans_assign(r.centroids, k, PERSONA_F_COUNT, z, n, lab);
        kmeans_result_fini(&r);
        double ari = kmeans_ari(labels, lab, n, k);
        sum += ari;
        rep->ari_min = fmin(rep->ari_min, ari);
    }
    rep->ari_mean = o->bootstraps > 0 ? sum / o->bootstraps : NAN;
    rc = boot != NULL && lab != NULL ? 0 : -1;
out:
    free(boot);
    free(lab);
    return rc;
}

/* Fits every k of the range; keeps the best silhouette in m (centroids,
 * shares) and its labels. */
static int segments_choose(const double *z, size_t n, const struct segments_opts *o, uint64_t *rng,
                           struct persona_model *m, int *labels, struct segments_report *rep)
{
    size_t ns = 0;
    size_t *idx = segments_sample(n, o->sample, rng, &ns);
    int *lab = malloc(n * sizeof(*lab));
    double best = -INFINITY;
    int rc = -1;

    for (int k = o->k_min; idx != NULL && lab != NULL && k <= o->k_max; k++) {
        struct kmeans_result r;
        if (kmeans_fit(z, n, PERSONA_F_COUNT, k, o->restarts, 100, rng, &r, lab) != 0) {
            goto out;
        }
        double s = kmeans_silhouette(z, PERSONA_F_COUNT, lab, k, idx, ns);
        rep->silhouette_by_k[k] = s;
        if (s > best) {
            best = s;
            m->k = k;
            m->silhouette = s;
            memcpy(&m->centroids[0][0], r.centroids, (size_t)k * PERSONA_F_COUNT * sizeof(double));
            memcpy(labels, lab, n * sizeof(*labels));
        }
        kmeans_result_fini(&r);
    }
    rc = m->k > 0 ? 0 : -1;
out:
    free(idx);
    free(lab);
    return rc;
}

int segments_fit(const double *x, size_t n, const struct segments_opts *o, struct persona_model *m,
                 struct segments_report *rep, char *err, size_t errlen)
{
    uint64_t rng = o->seed;
    double *z = NULL;
    int *labels = NULL;
    int rc = -1;

    memset(m, 0, sizeof(*m));
    for (int k = 0; k <= SEGMENTS_K_MAX; k++) {
        rep->silhouette_by_k[k] = NAN;
    }
    rep->ari_mean = rep->ari_min = m->stability_ari = NAN;
    if (o->k_min < 2 || o->k_max > SEGMENTS_K_MAX || o->k_min > o->k_max) {
        errbuf_printf(err, errlen, "k must be within 2..%d", SEGMENTS_K_MAX);
        return -1;
    }
    if (n < (size_t)o->k_max * 10) {
        errbuf_printf(err, errlen, "%zu profiles: at least %d are needed for k up to %d", n,
                      o->k_max * 10, o->k_max);
        return -1;
    }
    z = malloc(n * PERSONA_F_COUNT * sizeof(*z));
    labels = malloc(n * sizeof(*labels));
    if (z == NULL || labels == NULL) {
        goto oom;
    }
    segments_scale(x, n, m);
    for (size_t i = 0; i < n; i++) {
        persona_standardise(m, x + i * PERSONA_F_COUNT, z + i * PERSONA_F_COUNT);
    }
    if (segments_choose(z, n, o, &rng, m, labels, rep) != 0) {
        goto oom;
    }
    for (size_t i = 0; i < n; i++) {
        m->share[labels[i]] += 1.0 / (double)n;
    }
    m->profiles = n;
    if (o->bootstraps > 0 && segments_stability(z, n, m->k, labels, o, &rng, rep) != 0) {
        goto oom;
    }
    m->stability_ari = rep->ari_mean;
    persona_name_all(m);
    rc = 0;
    goto out;
oom:
    errbuf_printf(err, errlen, "out of memory");
out:
    free(z);
    free(labels);
    return rc;
}
