#include "analytics/metrics.h"
#include "analytics/bytebuf.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define METRICS_TEXT_MAX (64u << 20) /* bytes of one rendering at most */

enum metric_kind { METRIC_COUNTER, METRIC_GAUGE, METRIC_GAUGE_FN, METRIC_HISTOGRAM, METRIC_FAMILY };

/* One series of a gauge family. */
struct metric_series {
    char *labels; /* owned */
    double v;
};

/* The series of a gauge family, under a lock: set on one thread, rendered
 * on another. */
struct metric_family {
    pthread_mutex_t lock;
    struct metric_series *series; /* owned; n used of cap */
    size_t n, cap;
};

/* Values are doubles stored as bits in an atomic so updates need no lock. */
struct metric {
    enum metric_kind kind;
    char *name; /* owned: a copy */
    const char *help;
    const char *labels;
    _Atomic uint64_t bits;
    double (*fn)(void *arg);
    void *arg;
    double *bounds;
    size_t nbounds;
    _Atomic uint64_t *buckets; /* nbounds + 1 (the last is +Inf) */
    _Atomic uint64_t sum_bits;
    struct metric_family *family; /* METRIC_FAMILY only */
    struct metric *next;
};

struct metrics {
    struct metric *head;
    struct metric *tail;
};

const double metrics_latency_bounds[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                         0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
const size_t metrics_latency_bounds_n = sizeof(metrics_latency_bounds) / sizeof(double);

static uint64_t metric_d2b(double v)
{
    uint64_t b;

    memcpy(&b, &v, sizeof(b));
    return b;
}

static double metric_b2d(uint64_t b)
{
    double v;

    memcpy(&v, &b, sizeof(v));
    return v;
}

/* Adds v to a double held as bits, with a compare-and-swap loop. */
static void metric_atomic_add(_Atomic uint64_t *bits, double v)
{
    uint64_t old = atomic_load_explicit(bits, memory_order_relaxed);

    while (!atomic_compare_exchange_weak_explicit(bits, &old, metric_d2b(metric_b2d(old) + v),
                                                  memory_order_relaxed, memory_order_relaxed)) {
    }
}

struct metrics *metrics_new(void)
{
    return calloc(1, sizeof(struct metrics));
}

static void metric_family_free(struct metric_family *f)
{
    if (f == NULL) {
        return;
    }
    for (size_t i = 0; i < f->n; i++) {
        free(f->series[i].labels);
    }
    free(f->series);
    pthread_mutex_destroy(&f->lock);
    free(f);
}

void metrics_free(struct metrics *m)
{
    struct metric *next;

    if (m == NULL) {
        return;
    }
    for (struct metric *it = m->head; it != NULL; it = next) {
        next = it->next;
        free(it->name);
        free(it->bounds);
        free(it->buckets);
        metric_family_free(it->family);
        free(it);
    }
    free(m);
}

static struct metric *metrics_add(struct metrics *m, enum metric_kind kind, const char *name,
                                  const char *help, const char *labels)
{
    struct metric *it = calloc(1, sizeof(*it));

    if (it == NULL || (it->name = strdup(name)) == NULL) {
        free(it);
        return NULL;
    }
    it->kind = kind;
    it->help = help;
    it->labels = labels;
    atomic_init(&it->bits, metric_d2b(0));
    atomic_init(&it->sum_bits, metric_d2b(0));
    if (m->tail != NULL) {
        m->tail->next = it;
    } else {
        m->head = it;
    }
    m->tail = it;
    return it;
}

/* Unlinks and frees it, the last metric added. */
static void metrics_drop_tail(struct metrics *m, struct metric *it)
{
    struct metric *prev = NULL;

    for (struct metric *p = m->head; p != it; p = p->next) {
        prev = p;
    }
    if (prev != NULL) {
        prev->next = NULL;
    } else {
        m->head = NULL;
    }
    m->tail = prev;
    free(it->name);
    free(it->bounds);
    free(it->buckets);
    free(it);
}

struct metric *metrics_counter(struct metrics *m, const char *name, const char *help,
                               const char *labels)
{
    return metrics_add(m, METRIC_COUNTER, name, help, labels);
}

struct metric *metrics_gauge(struct metrics *m, const char *name, const char *help,
                             const char *labels)
{
    return metrics_add(m, METRIC_GAUGE, name, help, labels);
}

struct metric *metrics_gauge_fn(struct metrics *m, const char *name, const char *help,
                                const char *labels, double (*fn)(void *arg), void *arg)
{
    struct metric *it = metrics_add(m, METRIC_GAUGE_FN, name, help, labels);

    if (it != NULL) {
        it->fn = fn;
        it->arg = arg;
    }
    return it;
}

struct metric *metrics_gauge_family(struct metrics *m, const char *name, const char *help)
{
    struct metric *it = metrics_add(m, METRIC_FAMILY, name, help, NULL);

    if (it == NULL) {
        return NULL;
    }
    it->family = calloc(1, sizeof(*it->family));
    if (it->family == NULL || pthread_mutex_init(&it->family->lock, NULL) != 0) {
        free(it->family);
        it->family = NULL;
        metrics_drop_tail(m, it);
        return NULL;
    }
    return it;
}

/* The series of f with label text labels, or NULL. Called locked. */
static struct metric_series *metric_family_find(struct metric_family *f, const char *labels)
{
    for (size_t i = 0; i < f->n; i++) {
        if (strcmp(f->series[i].labels, labels) == 0) {
            return &f->series[i];
        }
    }
    return NULL;
}

/* Adds a series with label text labels. Returns it, or NULL when out of
 * memory. Called locked. */
static struct metric_series *metric_family_add(struct metric_family *f, const char *labels)
{
    if (f->n == f->cap) {
        size_t ncap = f->cap == 0 ? 8 : f->cap * 2;
        struct metric_series *ns = realloc(f->series, ncap * sizeof(*ns));
        if (ns == NULL) {
            return NULL;
        }
        f->series = ns;
        f->cap = ncap;
    }
    struct metric_series *s = &f->series[f->n];
    s->labels = strdup(labels);
    if (s->labels == NULL) {
        return NULL;
    }
    s->v = 0;
    f->n++;
    return s;
}

int metric_family_set(struct metric *f, const char *labels, double v)
{
    struct metric_series *s;

    if (f == NULL || f->family == NULL) {
        return 0;
    }
    pthread_mutex_lock(&f->family->lock);
    s = metric_family_find(f->family, labels);
    if (s == NULL) {
        s = metric_family_add(f->family, labels);
    }
    if (s != NULL) {
        s->v = v;
    }
    pthread_mutex_unlock(&f->family->lock);
    return s != NULL ? 0 : -1;
}

void metric_family_clear(struct metric *f)
{
    if (f == NULL || f->family == NULL) {
        return;
    }
    pthread_mutex_lock(&f->family->lock);
    for (size_t i = 0; i < f->family->n; i++) {
        free(f->family->series[i].labels);
    }
    f->family->n = 0;
    pthread_mutex_unlock(&f->family->lock);
}

struct metric *metrics_histogram(struct metrics *m, const char *name, const char *help,
                                 const char *labels, const double *bounds, size_t n)
{
    struct metric *it = metrics_add(m, METRIC_HISTOGRAM, name, help, labels);

    if (it == NULL) {
        return NULL;
    }
    it->bounds = n <= SIZE_MAX / sizeof(double) - 1 ? malloc(n * sizeof(double)) : NULL;
    it->buckets = it->bounds != NULL ? calloc(n + 1, sizeof(*it->buckets)) : NULL;
    if (it->bounds == NULL || it->buckets == NULL) {
        metrics_drop_tail(m, it);
        return NULL;
    }
    memcpy(it->bounds, bounds, n * sizeof(double));
    it->nbounds = n;
    return it;
}

void metric_add(struct metric *c, double v)
{
    if (c != NULL) {
        metric_atomic_add(&c->bits, v);
    }
}

void metric_set(struct metric *g, double v)
{
    if (g != NULL) {
        atomic_store_explicit(&g->bits, metric_d2b(v), memory_order_relaxed);
    }
}

double metric_value(const struct metric *c)
{
    if (c->kind == METRIC_GAUGE_FN) {
        return c->fn(c->arg);
    }
    return metric_b2d(atomic_load_explicit(&c->bits, memory_order_relaxed));
}

void metric_observe(struct metric *h, double v)
{
    size_t i = 0;

    if (h == NULL || h->buckets == NULL) {
        return;
    }
    while (i < h->nbounds && v > h->bounds[i]) {
        i++;
    }
    atomic_fetch_add_explicit(&h->buckets[i], 1, memory_order_relaxed);
    metric_atomic_add(&h->sum_bits, v);
}

static void metrics_render_value(struct bytebuf *b, const char *name, const char *suffix,
                                 const char *labels, const char *extra, double v)
{
    const char *sep = (labels != NULL && extra != NULL) ? "," : "";
    int open = labels != NULL || extra != NULL;

    bytebuf_printf(b, "%s%s%s%s%s%s%s %.17g\n", name, suffix, open ? "{" : "",
                   labels != NULL ? labels : "", sep, extra != NULL ? extra : "", open ? "}" : "",
                   isfinite(v) ? v : 0.0);
}

/* Writes v as an integer when it is one, else in the shortest %g form that reads back as the same
 * double. */
static void metrics_format_double(double v, char *out, size_t outlen)
{
    if (v == floor(v) && fabs(v) < 1e15) {
        snprintf(out, outlen, "%.0f", v);
        return;
    }
    for (int prec = 6; prec <= 17; prec++) {
        snprintf(out, outlen, "%.*g", prec, v);
        if (strtod(out, NULL) == v) {
            return;
        }
    }
}

static void metrics_render_histogram(struct bytebuf *b, const struct metric *h)
{
    uint64_t cum = 0;
    char le[64];

    for (size_t i = 0; i <= h->nbounds; i++) {
        cum += atomic_load_explicit(&h->buckets[i], memory_order_relaxed);
        if (i < h->nbounds) {
            char num[40];
            metrics_format_double(h->bounds[i], num, sizeof(num));
            snprintf(le, sizeof(le), "le=\"%s\"", num);
        } else {
            snprintf(le, sizeof(le), "le=\"+Inf\"");
        }
        metrics_render_value(b, h->name, "_bucket", h->labels, le, (double)cum);
    }
    metrics_render_value(b, h->name, "_sum", h->labels, NULL,
                         metric_b2d(atomic_load_explicit(&h->sum_bits, memory_order_relaxed)));
    metrics_render_value(b, h->name, "_count", h->labels, NULL, (double)cum);
}

/* Writes the HELP and TYPE lines of it unless the series before were of
 * its name. */
static void metrics_render_header(struct bytebuf *b, const struct metric *it, const char **prev)
{
    static const char *const types[] = {"counter", "gauge", "gauge", "histogram", "gauge"};

    if (*prev == NULL || strcmp(*prev, it->name) != 0) {
        bytebuf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", it->name, it->help, it->name,
                       types[it->kind]);
        *prev = it->name;
    }
}

static void metrics_render_family(struct bytebuf *b, const struct metric *it, const char **prev)
{
    struct metric_family *f = it->family;

    pthread_mutex_lock(&f->lock);
    if (f->n > 0) {
        metrics_render_header(b, it, prev);
    }
    for (size_t i = 0; i < f->n; i++) {
        metrics_render_value(b, it->name, "", f->series[i].labels, NULL, f->series[i].v);
    }
    pthread_mutex_unlock(&f->lock);
}

char *metrics_render(const struct metrics *m)
{
    struct bytebuf b;
    const char *prev = NULL;

    bytebuf_init(&b, METRICS_TEXT_MAX);
    for (const struct metric *it = m->head; it != NULL; it = it->next) {
        if (it->kind == METRIC_FAMILY) {
            metrics_render_family(&b, it, &prev);
            continue;
        }
        metrics_render_header(&b, it, &prev);
        if (it->kind == METRIC_HISTOGRAM) {
            metrics_render_histogram(&b, it);
        } else {
            metrics_render_value(&b, it->name, "", it->labels, NULL, metric_value(it));
        }
    }
    return bytebuf_take(&b);
}
