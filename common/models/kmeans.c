#include "analytics/kmeans.h"

#include "analytics/rng.h"

#include <float.h>
#include <stdbool.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static double sqdist(const double *a, const double *b, size_t d)
{
    double s = 0;

    for (size_t j = 0; j < d; j++) {
        double t = a[j] - b[j];
        s += t * t;
    }
    return s;
}

int kmeans_nearest(const double *centroids, int k, size_t d, const double *row)
{
    int best = 0;
    double bd = DBL_MAX;

    for (int c = 0; c < k; c++) {
        double dd = sqdist(centroids + (size_t)c * d, row, d);
        if (dd < bd) {
            bd = dd;
            best = c;
        }
    }
    return best;
}

void kmeans_assign(const double *centroids, int k, size_t d, const double *x, size_t n, int *labels)
{
    for (size_t i = 0; i < n; i++) {
        labels[i] = kmeans_nearest(centroids, k, d, x + i * d);
    }
}

/* k-means++: the first centroid a uniform row, each next one a row drawn
 * with probability proportional to its squared distance to the nearest
 * centroid so far. dist (n) is scratch. */
static void kmeans_seed(const double *x, size_t n, size_t d, int k, uint64_t *rng, double *cent,
                        double *dist)
{
    size_t first = (size_t)(rng_unit(rng) * (double)n);

    memcpy(cent, x + (first < n ? first : n - 1) * d, d * sizeof(*cent));
    for (size_t i = 0; i < n; i++) {
        dist[i] = sqdist(x + i * d, cent, d);
    }
    for (int c = 1; c < k; c++) {
        double total = 0;
        for (size_t i = 0; i < n; i++) {
            total += dist[i];
        }
        size_t pick = n - 1;
        double r = rng_unit(rng) * total, acc = 0;
        for (size_t i = 0; i < n && total > 0; i++) {
            acc += dist[i];
            if (acc > r) {
                pick = i;
                break;
            }
        }
        if (total <= 0) { /* every row on a centroid already: any row */
            pick = (size_t)(rng_unit(rng) * (double)(n - 1));
        }
        double *cc = cent + (size_t)c * d;
        memcpy(cc, x + pick * d, d * sizeof(*cc));
        for (size_t i = 0; i < n; i++) {
            double dd = sqdist(x + i * d, cc, d);
            if (dd < dist[i]) {
                dist[i] = dd;
            }
        }
    }
}

/* Recomputes the centroids as their rows' means; an empty cluster takes
 * the row farthest from its current centroid. */
static void kmeans_update(const double *x, size_t n, size_t d, int k, const int *labels,
                          double *cent, size_t *count)
{
    memset(cent, 0, (size_t)k * d * sizeof(*cent));
    memset(count, 0, (size_t)k * sizeof(*count));
    for (size_t i = 0; i < n; i++) {
        double *cc = cent + (size_t)labels[i] * d;
        for (size_t j = 0; j < d; j++) {
            cc[j] += x[i * d + j];
        }
        count[labels[i]]++;
    }
    for (int c = 0; c < k; c++) {
        double *cc = cent + (size_t)c * d;
        if (count[c] == 0) {
            continue;
        }
        for (size_t j = 0; j < d; j++) {
            cc[j] /= (double)count[c];
        }
    }
    for (int c = 0; c < k; c++) {
        if (count[c] != 0) {
            continue;
        }
        size_t far = 0;
        double fd = -1;
        for (size_t i = 0; i < n; i++) {
            double dd = sqdist(x + i * d, cent + (size_t)labels[i] * d, d);
            if (dd > fd) {
                fd = dd;
                far = i;
            }
        }
        memcpy(cent + (size_t)c * d, x + far * d, d * sizeof(*cent));
        count[c] = 1;
    }
}

/* One run from a k-means++ seeding. Returns the inertia. */
static double kmeans_run(const double *x, size_t n, size_t d, int k, int max_iter, uint64_t *rng,
                         double *cent, int *labels, double *dist, size_t *count, int *iters)
{
    double inertia = 0;

    kmeans_seed(x, n, d, k, rng, cent, dist);
    for (size_t i = 0; i < n; i++) {
        labels[i] = -1;
    }
    for (*iters = 0; *iters < max_iter; (*iters)++) {
        bool changed = false;
        for (size_t i = 0; i < n; i++) {
            int c = kmeans_nearest(cent, k, d, x + i * d);
            changed |= c != labels[i];
            labels[i] = c;
        }
        if (!changed) {
            break;
        }
        kmeans_update(x, n, d, k, labels, cent, count);
    }
    for (size_t i = 0; i < n; i++) {
        inertia += sqdist(x + i * d, cent + (size_t)labels[i] * d, d);
    }
    return inertia;
}

int kmeans_fit(const double *x, size_t n, size_t d, int k, int restarts, int max_iter,
               uint64_t *rng, struct kmeans_result *out, int *labels)
{
    memset(out, 0, sizeof(*out));
    if (k < 1 || k > KMEANS_K_MAX || (size_t)k > n || d == 0) {
        return -1;
    }
    double *cent = malloc((size_t)k * d * sizeof(*cent));
    double *best = malloc((size_t)k * d * sizeof(*best));
    double *dist = malloc(n * sizeof(*dist));
    size_t *count = malloc((size_t)k * sizeof(*count));
    int *lab = malloc(n * sizeof(*lab));
    int rc = -1;

    if (cent != NULL && best != NULL && dist != NULL && count != NULL && lab != NULL) {
        out->inertia = INFINITY;
        for (int r = 0; r < (restarts > 0 ? restarts : 1); r++) {
            int iters = 0;
            double in = kmeans_run(x, n, d, k, max_iter, rng, cent, lab, dist, count, &iters);
            if (in < out->inertia) {
                out->inertia = in;
                out->iterations = iters;
                memcpy(best, cent, (size_t)k * d * sizeof(*best));
                if (labels != NULL) {
                    memcpy(labels, lab, n * sizeof(*labels));
                }
            }
        }
        out->k = k;
        out->d = d;
        out->centroids = best;
        best = NULL;
        rc = 0;
    }
    free(cent);
    free(best);
    free(dist);
    free(count);
    free(lab);
    return rc;
}

void kmeans_result_fini(struct kmeans_result *r)
{
    free(r->centroids);
    memset(r, 0, sizeof(*r));
}

double kmeans_silhouette(const double *x, size_t d, const int *labels, int k, const size_t *idx,
                         size_t m)
{
    double *sum = calloc((size_t)k, sizeof(*sum));
    size_t *cnt = calloc((size_t)k, sizeof(*cnt));
    double total = 0;
    int used = 0;

    if (sum == NULL || cnt == NULL) {
        free(sum);
        free(cnt);
        return NAN;
    }
    for (size_t a = 0; a < m; a++) {
        cnt[labels[idx != NULL ? idx[a] : a]]++;
    }
    for (int c = 0; c < k; c++) {
        used += cnt[c] > 0;
    }
    for (size_t a = 0; used >= 2 && a < m; a++) {
        size_t ia = idx != NULL ? idx[a] : a;
        int la = labels[ia];
        memset(sum, 0, (size_t)k * sizeof(*sum));
        for (size_t b = 0; b < m; b++) {
            size_t ib = idx != NULL ? idx[b] : b;
            if (ib != ia) {
                sum[labels[ib]] += sqrt(sqdist(x + ia * d, x + ib * d, d));
            }
        }
        if (cnt[la] <= 1) {
            continue; /* alone in its cluster: 0 */
        }
        double ai = sum[la] / (double)(cnt[la] - 1), bi = INFINITY;
        for (int c = 0; c < k; c++) {
            if (c != la && cnt[c] > 0 && sum[c] / (double)cnt[c] < bi) {
                bi = sum[c] / (double)cnt[c];
            }
        }
        double mx = ai > bi ? ai : bi;
        total += mx > 0 ? (bi - ai) / mx : 0;
    }
    free(sum);
    free(cnt);
    return used >= 2 && m > 0 ? total / (double)m : NAN;
}

static double choose2(double v)
{
    return v * (v - 1) / 2;
}

double kmeans_ari(const int *a, const int *b, size_t n, int k)
{
    size_t kk = (size_t)k;
    double *table = calloc(kk * kk, sizeof(*table));
    double *ra = calloc(kk, sizeof(*ra)), *rb = calloc(kk, sizeof(*rb));
    double idx = 0, sa = 0, sb = 0, ari = NAN;

    if (table != NULL && ra != NULL && rb != NULL && n >= 2) {
        for (size_t i = 0; i < n; i++) {
            table[(size_t)a[i] * kk + (size_t)b[i]] += 1;
            ra[a[i]] += 1;
            rb[b[i]] += 1;
        }
        for (size_t i = 0; i < kk * kk; i++) {
            idx += choose2(table[i]);
        }
        for (size_t i = 0; i < kk; i++) {
            sa += choose2(ra[i]);
            sb += choose2(rb[i]);
        }
        double expected = sa * sb / choose2((double)n), maxv = (sa + sb) / 2;
        ari = maxv - expected != 0 ? (idx - expected) / (maxv - expected) : 1.0;
    }
    free(table);
    free(ra);
    free(rb);
    return ari;
}
