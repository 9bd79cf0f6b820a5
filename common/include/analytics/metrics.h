#ifndef ANALYTICS_METRICS_H
#define ANALYTICS_METRICS_H

/*
 * Prometheus metrics: counters, gauges and histograms updated lock-free from
 * any thread, rendered in the text exposition format. Register everything at
 * start-up (registration is not thread-safe), then update freely.
 * Series of the same name with different labels must be registered one
 * after another so HELP/TYPE are written once per name.
 */

#include <stddef.h>

struct metrics;
struct metric;

/* Returns a new, empty registry (caller frees with metrics_free), or NULL. */
struct metrics *metrics_new(void);

void metrics_free(struct metrics *m);

/* Registers a counter. labels is the label text without braces
 * ("status=\"202\"") or NULL. The name is copied; help and labels are
 * borrowed: use literals.
 * Returns the metric (owned by the registry), or NULL when out of memory. */
struct metric *metrics_counter(struct metrics *m, const char *name, const char *help,
                               const char *labels);

/* Registers a gauge, as metrics_counter. */
struct metric *metrics_gauge(struct metrics *m, const char *name, const char *help,
                             const char *labels);

/* Registers a gauge whose value fn(arg) computes at render time. */
struct metric *metrics_gauge_fn(struct metrics *m, const char *name, const char *help,
                                const char *labels, double (*fn)(void *arg), void *arg);

/* Registers a family of gauges of one name whose series are added at run
 * time, from any thread, by metric_family_set (one per label text, such as
 * "topic=\"t\",partition=\"0\""), and removed by metric_family_clear.
 * Renders nothing while it has no series. */
struct metric *metrics_gauge_family(struct metrics *m, const char *name, const char *help);

/* Sets the series of family f with the label text labels (copied; added
 * the first time). Accepts NULL. Returns 0, or -1 when out of memory. */
int metric_family_set(struct metric *f, const char *labels, double v);

/* Removes every series of family f. Accepts NULL. */
void metric_family_clear(struct metric *f);

/* Registers a histogram with n ascending upper bounds (copied). */
struct metric *metrics_histogram(struct metrics *m, const char *name, const char *help,
                                 const char *labels, const double *bounds, size_t n);

/* Adds to a counter or gauge. Accepts NULL (no-op). */
void metric_add(struct metric *c, double v);

/* Sets a gauge. Accepts NULL. */
void metric_set(struct metric *g, double v);

/* Reads a counter or gauge. */
double metric_value(const struct metric *c);

/* Records one observation in a histogram. Accepts NULL. */
void metric_observe(struct metric *h, double v);

/* Renders the registry. Returns a new NUL-terminated string (caller frees),
 * or NULL when out of memory. */
char *metrics_render(const struct metrics *m);

/* Default latency bounds in seconds, 100 us .. 10 s. */
extern const double metrics_latency_bounds[];
extern const size_t metrics_latency_bounds_n;

#endif
