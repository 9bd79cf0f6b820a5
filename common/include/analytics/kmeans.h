#ifndef ANALYTICS_KMEANS_H
#define ANALYTICS_KMEANS_H

/*
 * k-means with k-means++ seeding (Arthur & Vassilvitskii 2007) on dense
 * rows, the mean silhouette of a clustering (Rousseeuw 1987), and the
 * adjusted Rand index between two clusterings (Hubert & Arabie 1985), for
 * the scorer's personas. Deterministic for a seed (analytics/rng.h). Pure.
 *
 * Rows are n x d doubles, row-major; labels are 0..k-1.
 */

#include <stddef.h>
#include <stdint.h>

#define KMEANS_K_MAX 64

struct kmeans_result {
    int k;
    size_t d;
    double *centroids; /* k x d, owned (kmeans_result_fini) */
    double inertia;    /* the sum of squared distances to the nearest centroid */
    int iterations;
};

/* Clusters x (n rows of d) into k clusters: the best of restarts runs
 * (lowest inertia), each seeded by k-means++ from *rng and iterated
 * (Lloyd) until no label changes or max_iter. labels (n, may be NULL)
 * receives each row's cluster. Returns 0, or -1 when k is not in
 * 1..min(n, KMEANS_K_MAX), d is 0, or memory runs out. An empty cluster
 * is reseeded with the row farthest from its centroid. */
int kmeans_fit(const double *x, size_t n, size_t d, int k, int restarts, int max_iter,
               uint64_t *rng, struct kmeans_result *out, int *labels);

/* Frees the centroids. Accepts a zeroed result. */
void kmeans_result_fini(struct kmeans_result *r);

/* The index of the centroid nearest to row (d values). */
int kmeans_nearest(const double *centroids, int k, size_t d, const double *row);

/* Labels every row of x by its nearest centroid. */
void kmeans_assign(const double *centroids, int k, size_t d, const double *x, size_t n,
                   int *labels);

/* The mean silhouette of the clustering over the rows idx[0..m) of x (all
 * rows when idx is NULL and m is n): for each, (b - a) / max(a, b) with a
 * the mean distance to the others of its cluster and b the least mean
 * distance to another cluster; 0 for a row alone in its cluster. O(m^2 d):
 * give a sample for large n. Returns NaN when fewer than 2 clusters hold
 * rows, or memory runs out. */
double kmeans_silhouette(const double *x, size_t d, const int *labels, int k, const size_t *idx,
                         size_t m);

/* The adjusted Rand index of two labelings of n rows (labels in 0..k-1):
 * 1 for the same partition, about 0 for chance agreement. Returns NaN when
 * memory runs out or n < 2. */
double kmeans_ari(const int *a, const int *b, size_t n, int k);

#endif
