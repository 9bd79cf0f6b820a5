/* Unit tests for the Prometheus metrics registry (common/src/metrics.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "analytics/metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NTHREADS 4
#define PER_THREAD 100000

/* ---- helpers ---- */

/* Returns the line of text that starts with series followed by a space, or
 * NULL. */
static const char *find_line(const char *text, const char *series)
{
    size_t n = strlen(series);

    for (const char *p = text; p != NULL && *p != '\0';) {
        if (strncmp(p, series, n) == 0 && p[n] == ' ') {
            return p;
        }
        p = strchr(p, '\n');
        if (p != NULL) {
            p++;
        }
    }
    return NULL;
}

/* Returns the value of the sample series (name with its {labels}). */
static double sample(const char *text, const char *series)
{
    const char *line = find_line(text, series);
    char *end;
    double v;

    if (line == NULL) {
        fail_msg("no sample %s in:\n%s", series, text);
    }
    v = strtod(line + strlen(series) + 1, &end);
    if (*end != '\n') {
        fail_msg("bad sample line for %s in:\n%s", series, text);
    }
    return v;
}

static size_t count_substr(const char *text, const char *needle)
{
    size_t n = 0;

    for (const char *p = strstr(text, needle); p != NULL; p = strstr(p + 1, needle)) {
        n++;
    }
    return n;
}

/* Renders m, asserting success; caller frees. */
static char *render(const struct metrics *m)
{
    char *text = metrics_render(m);

    assert_non_null(text);
    return text;
}

/* ---- tests ---- */

static void test_empty_registry(void **state)
{
    struct metrics *m = metrics_new();
    char *text;

    (void)state;
    assert_non_null(m);
    text = render(m);
    assert_string_equal(text, "");
    free(text);
    metrics_free(m);
    metrics_free(NULL);
}

static void test_counter(void **state)
{
    struct metrics *m = metrics_new();
    struct metric *c;
    char *text;

    (void)state;
    assert_non_null(m);
    c = metrics_counter(m, "t_requests_total", "Requests received.", NULL);
    assert_non_null(c);
    assert_true(metric_value(c) == 0.0);
    metric_add(c, 1);
    metric_add(c, 2.5);
    assert_true(metric_value(c) == 3.5);

    text = render(m);
    assert_string_equal(text, "# HELP t_requests_total Requests received.\n"
                              "# TYPE t_requests_total counter\n"
                              "t_requests_total 3.5\n");
    free(text);
    metrics_free(m);
}

static void test_gauge(void **state)
{
    struct metrics *m = metrics_new();
    struct metric *g;
    char *text;

    (void)state;
    assert_non_null(m);
    g = metrics_gauge(m, "t_queue_depth", "Items queued.", NULL);
    assert_non_null(g);
    metric_set(g, 7);
    assert_true(metric_value(g) == 7.0);
    metric_add(g, -2);
    assert_true(metric_value(g) == 5.0);
    metric_set(g, -1.25);
    assert_true(metric_value(g) == -1.25);

    text = render(m);
    assert_non_null(strstr(text, "# TYPE t_queue_depth gauge\n"));
    assert_true(sample(text, "t_queue_depth") == -1.25);
    free(text);
    metrics_free(m);
}

static double read_arg(void *arg)
{
    return *(const double *)arg;
}

static void test_gauge_fn(void **state)
{
    struct metrics *m = metrics_new();
    double source = 12;
    struct metric *g;
    char *text;

    (void)state;
    assert_non_null(m);
    g = metrics_gauge_fn(m, "t_pending", "Pending bytes.", "disk=\"a\"", read_arg, &source);
    assert_non_null(g);
    assert_true(metric_value(g) == 12.0);
    /* computed at render time, not at registration */
    source = 99.5;
    assert_true(metric_value(g) == 99.5);
    text = render(m);
    assert_non_null(strstr(text, "# HELP t_pending Pending bytes.\n# TYPE t_pending gauge\n"));
    assert_true(sample(text, "t_pending{disk=\"a\"}") == 99.5);
    free(text);
    metrics_free(m);
}

static void test_labels(void **state)
{
    struct metrics *m = metrics_new();
    char *text;

    (void)state;
    assert_non_null(m);
    metric_add(metrics_counter(m, "t_plain_total", "No labels.", NULL), 1);
    metric_add(metrics_counter(m, "t_one_total", "One label.", "status=\"202\""), 2);
    metric_add(metrics_counter(m, "t_two_total", "Two labels.", "a=\"x\",b=\"y\""), 3);
    text = render(m);
    assert_non_null(strstr(text, "\nt_plain_total 1\n"));
    assert_non_null(strstr(text, "\nt_one_total{status=\"202\"} 2\n"));
    assert_non_null(strstr(text, "\nt_two_total{a=\"x\",b=\"y\"} 3\n"));
    assert_null(strstr(text, "t_plain_total{"));
    free(text);
    metrics_free(m);
}

static void test_help_type_once_per_name(void **state)
{
    struct metrics *m = metrics_new();
    char *text;

    (void)state;
    assert_non_null(m);
    metric_add(metrics_counter(m, "t_resp_total", "Responses.", "status=\"200\""), 5);
    metric_add(metrics_counter(m, "t_resp_total", "Responses.", "status=\"500\""), 1);
    metric_add(metrics_counter(m, "t_resp_total", "Responses.", "status=\"503\""), 2);
    metric_set(metrics_gauge(m, "t_up", "Up.", NULL), 1);
    metric_set(metrics_gauge(m, "t_temp", "Temperature.", "room=\"a\""), 20);
    metric_set(metrics_gauge(m, "t_temp", "Temperature.", "room=\"b\""), 21);
    text = render(m);

    assert_int_equal(count_substr(text, "# HELP t_resp_total "), 1);
    assert_int_equal(count_substr(text, "# TYPE t_resp_total counter\n"), 1);
    assert_int_equal(count_substr(text, "# HELP t_up "), 1);
    assert_int_equal(count_substr(text, "# HELP t_temp "), 1);
    assert_int_equal(count_substr(text, "# TYPE t_temp gauge\n"), 1);
    assert_int_equal(count_substr(text, "# HELP "), 3);
    assert_int_equal(count_substr(text, "# TYPE "), 3);
    assert_true(sample(text, "t_resp_total{status=\"200\"}") == 5);
    assert_true(sample(text, "t_resp_total{status=\"500\"}") == 1);
    assert_true(sample(text, "t_resp_total{status=\"503\"}") == 2);
    assert_true(sample(text, "t_temp{room=\"a\"}") == 20);
    assert_true(sample(text, "t_temp{room=\"b\"}") == 21);
    /* HELP/TYPE come before the first sample of their name */
    assert_true(strstr(text, "# TYPE t_resp_total") < strstr(text, "t_resp_total{"));
    assert_true(strstr(text, "# TYPE t_temp") < strstr(text, "t_temp{"));
    free(text);
    metrics_free(m);
}

/* A gauge family: series added after registration, set again in place,
 * rendered under one HELP/TYPE, cleared; nothing while empty. */
static void test_gauge_family(void **state)
{
    struct metrics *m = metrics_new();
    struct metric *lag;
    char *text;

    (void)state;
    assert_non_null(m);
    lag = metrics_gauge_family(m, "t_lag", "Lag.");
    assert_non_null(lag);
    metric_set(metrics_gauge(m, "t_up", "Up.", NULL), 1);
    text = render(m);
    assert_null(strstr(text, "t_lag"));
    free(text);

    assert_int_equal(metric_family_set(lag, "topic=\"t\",partition=\"0\"", 7), 0);
    assert_int_equal(metric_family_set(lag, "topic=\"t\",partition=\"1\"", 3), 0);
    assert_int_equal(metric_family_set(lag, "topic=\"t\",partition=\"0\"", 0), 0);
    text = render(m);
    assert_int_equal(count_substr(text, "# HELP t_lag Lag.\n# TYPE t_lag gauge\n"), 1);
    assert_int_equal(count_substr(text, "t_lag{"), 2);
    assert_true(sample(text, "t_lag{topic=\"t\",partition=\"0\"}") == 0);
    assert_true(sample(text, "t_lag{topic=\"t\",partition=\"1\"}") == 3);
    assert_true(sample(text, "t_up") == 1);
    free(text);

    metric_family_clear(lag);
    text = render(m);
    assert_null(strstr(text, "t_lag"));
    free(text);
    assert_int_equal(metric_family_set(lag, "partition=\"2\"", 5), 0);
    text = render(m);
    assert_true(sample(text, "t_lag{partition=\"2\"}") == 5);
    free(text);
    metric_family_set(NULL, "x=\"1\"", 1);
    metric_family_clear(NULL);
    metrics_free(m);
}

/* Many series: the family grows past its first allocation. */
static void test_gauge_family_grows(void **state)
{
    struct metrics *m = metrics_new();
    struct metric *f;
    char labels[32], series[48];
    char *text;

    (void)state;
    assert_non_null(m);
    f = metrics_gauge_family(m, "t_many", "Many.");
    for (int i = 0; i < 100; i++) {
        snprintf(labels, sizeof(labels), "partition=\"%d\"", i);
        assert_int_equal(metric_family_set(f, labels, i), 0);
    }
    text = render(m);
    assert_int_equal(count_substr(text, "t_many{"), 100);
    snprintf(series, sizeof(series), "t_many{partition=\"%d\"}", 99);
    assert_true(sample(text, series) == 99);
    free(text);
    metrics_free(m);
}

static void test_histogram(void **state)
{
    static const double bounds[] = {0.1, 1, 10};
    struct metrics *m = metrics_new();
    struct metric *h;
    char *text;

    (void)state;
    assert_non_null(m);
    h = metrics_histogram(m, "t_latency_seconds", "Latency.", NULL, bounds, 3);
    assert_non_null(h);
    metric_observe(h, 0.05);
    metric_observe(h, 0.1); /* on a bound: le is inclusive */
    metric_observe(h, 0.5);
    metric_observe(h, 5);
    metric_observe(h, 100);
    metric_observe(h, 1000);
    text = render(m);

    assert_non_null(strstr(text, "# HELP t_latency_seconds Latency.\n"
                                 "# TYPE t_latency_seconds histogram\n"));
    assert_true(sample(text, "t_latency_seconds_bucket{le=\"0.1\"}") == 2);
    assert_true(sample(text, "t_latency_seconds_bucket{le=\"1\"}") == 3);
    assert_true(sample(text, "t_latency_seconds_bucket{le=\"10\"}") == 4);
    assert_true(sample(text, "t_latency_seconds_bucket{le=\"+Inf\"}") == 6);
    assert_true(sample(text, "t_latency_seconds_count") == 6);
    assert_true(fabs(sample(text, "t_latency_seconds_sum") - 1105.65) < 1e-9);
    /* buckets in ascending order, then _sum and _count */
    assert_true(strstr(text, "le=\"0.1\"") < strstr(text, "le=\"1\""));
    assert_true(strstr(text, "le=\"1\"") < strstr(text, "le=\"10\""));
    assert_true(strstr(text, "le=\"10\"") < strstr(text, "le=\"+Inf\""));
    assert_true(strstr(text, "le=\"+Inf\"") < strstr(text, "t_latency_seconds_sum"));
    assert_true(strstr(text, "t_latency_seconds_sum") < strstr(text, "t_latency_seconds_count"));
    assert_int_equal(count_substr(text, "_bucket{"), 4);
    free(text);
    metrics_free(m);
}

static void test_histogram_empty(void **state)
{
    static const double bounds[] = {1, 2};
    struct metrics *m = metrics_new();
    char *text;

    (void)state;
    assert_non_null(m);
    assert_non_null(metrics_histogram(m, "t_h", "H.", NULL, bounds, 2));
    text = render(m);
    assert_true(sample(text, "t_h_bucket{le=\"1\"}") == 0);
    assert_true(sample(text, "t_h_bucket{le=\"2\"}") == 0);
    assert_true(sample(text, "t_h_bucket{le=\"+Inf\"}") == 0);
    assert_true(sample(text, "t_h_sum") == 0);
    assert_true(sample(text, "t_h_count") == 0);
    free(text);
    metrics_free(m);
}

static void test_histogram_labels(void **state)
{
    static const double bounds[] = {0.5};
    struct metrics *m = metrics_new();
    struct metric *a;
    struct metric *b;
    char *text;

    (void)state;
    assert_non_null(m);
    a = metrics_histogram(m, "t_dur", "Duration.", "route=\"/a\"", bounds, 1);
    b = metrics_histogram(m, "t_dur", "Duration.", "route=\"/b\"", bounds, 1);
    assert_non_null(a);
    assert_non_null(b);
    metric_observe(a, 0.25);
    metric_observe(b, 0.75);
    metric_observe(b, 0.5);
    text = render(m);
    assert_int_equal(count_substr(text, "# TYPE t_dur histogram\n"), 1);
    assert_true(sample(text, "t_dur_bucket{route=\"/a\",le=\"0.5\"}") == 1);
    assert_true(sample(text, "t_dur_bucket{route=\"/a\",le=\"+Inf\"}") == 1);
    assert_true(sample(text, "t_dur_sum{route=\"/a\"}") == 0.25);
    assert_true(sample(text, "t_dur_count{route=\"/a\"}") == 1);
    assert_true(sample(text, "t_dur_bucket{route=\"/b\",le=\"0.5\"}") == 1);
    assert_true(sample(text, "t_dur_bucket{route=\"/b\",le=\"+Inf\"}") == 2);
    assert_true(sample(text, "t_dur_sum{route=\"/b\"}") == 1.25);
    assert_true(sample(text, "t_dur_count{route=\"/b\"}") == 2);
    free(text);
    metrics_free(m);
}

static void test_histogram_copies_bounds(void **state)
{
    double bounds[] = {1, 2};
    struct metrics *m = metrics_new();
    struct metric *h;
    char *text;

    (void)state;
    assert_non_null(m);
    h = metrics_histogram(m, "t_c", "C.", NULL, bounds, 2);
    assert_non_null(h);
    bounds[0] = 100;
    bounds[1] = 200;
    metric_observe(h, 1.5);
    text = render(m);
    assert_true(sample(text, "t_c_bucket{le=\"1\"}") == 0);
    assert_true(sample(text, "t_c_bucket{le=\"2\"}") == 1);
    free(text);
    metrics_free(m);
}

/* The name is the registry's copy: a daemon builds it from its prefix in a
 * buffer it reuses for the next. */
static void test_copies_name(void **state)
{
    char name[32];
    struct metrics *m = metrics_new();
    char *text;

    (void)state;
    assert_non_null(m);
    snprintf(name, sizeof(name), "%s%s", "t_pre", "_a_total");
    metric_add(metrics_counter(m, name, "A.", NULL), 1);
    snprintf(name, sizeof(name), "%s%s", "t_pre", "_b_total");
    metric_add(metrics_gauge(m, name, "B.", NULL), 2);
    memset(name, 'x', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    text = render(m);
    assert_true(sample(text, "t_pre_a_total") == 1);
    assert_true(sample(text, "t_pre_b_total") == 2);
    assert_null(strstr(text, "xxx"));
    free(text);
    metrics_free(m);
}

static void test_latency_bounds(void **state)
{
    struct metrics *m = metrics_new();
    struct metric *h;
    char *text;

    (void)state;
    assert_int_equal(metrics_latency_bounds_n, 16);
    assert_true(metrics_latency_bounds[0] == 0.0001);
    assert_true(metrics_latency_bounds[metrics_latency_bounds_n - 1] == 10);
    for (size_t i = 1; i < metrics_latency_bounds_n; i++) {
        assert_true(metrics_latency_bounds[i - 1] < metrics_latency_bounds[i]);
    }
    assert_non_null(m);
    h = metrics_histogram(m, "t_l", "L.", NULL, metrics_latency_bounds, metrics_latency_bounds_n);
    metric_observe(h, 0.003);
    text = render(m);
    assert_true(sample(text, "t_l_bucket{le=\"0.0001\"}") == 0);
    assert_true(sample(text, "t_l_bucket{le=\"0.00025\"}") == 0);
    assert_true(sample(text, "t_l_bucket{le=\"0.0025\"}") == 0);
    assert_true(sample(text, "t_l_bucket{le=\"0.005\"}") == 1);
    assert_true(sample(text, "t_l_bucket{le=\"2.5\"}") == 1);
    assert_true(sample(text, "t_l_bucket{le=\"10\"}") == 1);
    assert_true(sample(text, "t_l_bucket{le=\"+Inf\"}") == 1);
    assert_int_equal(count_substr(text, "t_l_bucket{"), 17);
    free(text);
    metrics_free(m);
}

static void test_null_safe(void **state)
{
    (void)state;
    metric_add(NULL, 1);
    metric_set(NULL, 1);
    metric_observe(NULL, 1);
}

static void test_render_large(void **state)
{
    static const char *const names[] = {"t_a", "t_b", "t_c", "t_d"};
    struct metrics *m = metrics_new();
    char *text;

    (void)state;
    assert_non_null(m);
    /* well past the renderer's initial 4 KiB buffer */
    for (int i = 0; i < 400; i++) {
        metric_add(metrics_counter(m, names[i / 100], "Many series.", "k=\"some-long-label\""), i);
    }
    text = render(m);
    assert_true(strlen(text) > 4096);
    assert_int_equal(count_substr(text, "# HELP "), 4);
    assert_int_equal(count_substr(text, "{k=\"some-long-label\"} "), 400);
    free(text);
    metrics_free(m);
}

struct worker {
    struct metric *counter;
    struct metric *gauge;
    struct metric *hist;
};

static void *worker_run(void *arg)
{
    const struct worker *w = arg;

    for (int i = 0; i < PER_THREAD; i++) {
        metric_add(w->counter, 1);
        metric_add(w->gauge, 0.5);
        metric_observe(w->hist, (i & 1) ? 0.5 : 2);
    }
    return NULL;
}

static void test_concurrent_adds(void **state)
{
    static const double bounds[] = {1};
    struct metrics *m = metrics_new();
    pthread_t threads[NTHREADS];
    struct worker w;
    char *text;

    (void)state;
    assert_non_null(m);
    w.counter = metrics_counter(m, "t_conc_total", "Concurrent.", NULL);
    w.gauge = metrics_gauge(m, "t_conc_gauge", "Concurrent.", NULL);
    w.hist = metrics_histogram(m, "t_conc_h", "Concurrent.", NULL, bounds, 1);
    assert_non_null(w.counter);
    assert_non_null(w.gauge);
    assert_non_null(w.hist);
    for (int i = 0; i < NTHREADS; i++) {
        assert_int_equal(pthread_create(&threads[i], NULL, worker_run, &w), 0);
    }
    for (int i = 0; i < NTHREADS; i++) {
        assert_int_equal(pthread_join(threads[i], NULL), 0);
    }
    assert_true(metric_value(w.counter) == (double)NTHREADS * PER_THREAD);
    assert_true(metric_value(w.gauge) == (double)NTHREADS * PER_THREAD * 0.5);
    text = render(m);
    assert_true(sample(text, "t_conc_total") == (double)NTHREADS * PER_THREAD);
    assert_true(sample(text, "t_conc_h_bucket{le=\"1\"}") == (double)NTHREADS * PER_THREAD / 2);
    assert_true(sample(text, "t_conc_h_count") == (double)NTHREADS * PER_THREAD);
    assert_true(sample(text, "t_conc_h_sum") == (double)NTHREADS * PER_THREAD / 2 * 2.5);
    free(text);
    metrics_free(m);
}

/* ---- known bugs (skipped) ---- */

/* BUG (metrics.c, metrics_render_histogram): le labels are printed with "%g",
 * six significant digits, so a bound of 1048576 renders as le="1.04858e+06"
 * (1048580, not the bound) and bounds 1000000 and 1000001 both render as
 * le="1e+06", a duplicate series. Expected: the bound's exact value
 * (le="1048576"), e.g. with "%.17g". Remove the skip() once fixed. */
static void test_histogram_large_bounds_exact(void **state)
{
    static const double bounds[] = {1000000, 1000001, 1048576};
    struct metrics *m;
    char *text;

    (void)state;
    m = metrics_new();
    assert_non_null(m);
    metric_observe(metrics_histogram(m, "t_bytes", "B.", NULL, bounds, 3), 1048576);
    text = render(m);
    assert_true(sample(text, "t_bytes_bucket{le=\"1000000\"}") == 0);
    assert_true(sample(text, "t_bytes_bucket{le=\"1000001\"}") == 0);
    assert_true(sample(text, "t_bytes_bucket{le=\"1048576\"}") == 1);
    free(text);
    metrics_free(m);
}

/* BUG (metrics.c, metrics_histogram): when allocating bounds or buckets
 * fails it returns NULL but leaves the half-built histogram linked in the
 * registry with buckets == NULL; metrics_render then reads h->buckets[0]
 * (metrics_render_histogram) and crashes. Expected: the failed histogram is
 * unlinked and freed, render still works. The failure is forced here with a
 * bucket count whose calloc overflows (under ASan this needs
 * ASAN_OPTIONS=allocator_may_return_null=1). Remove the skip() once fixed. */
static void test_histogram_alloc_failure_leaves_registry_usable(void **state)
{
    static const double bounds[] = {1};
    struct metrics *m;
    char *text;

    (void)state;
    m = metrics_new();
    assert_non_null(m);
    metric_add(metrics_counter(m, "t_ok_total", "OK.", NULL), 1);
    assert_null(metrics_histogram(m, "t_huge", "Huge.", NULL, bounds, SIZE_MAX / sizeof(double)));
    text = render(m);
    assert_true(sample(text, "t_ok_total") == 1);
    assert_null(strstr(text, "t_huge"));
    free(text);
    metrics_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_registry),
        cmocka_unit_test(test_counter),
        cmocka_unit_test(test_gauge),
        cmocka_unit_test(test_gauge_fn),
        cmocka_unit_test(test_labels),
        cmocka_unit_test(test_help_type_once_per_name),
        cmocka_unit_test(test_gauge_family),
        cmocka_unit_test(test_gauge_family_grows),
        cmocka_unit_test(test_histogram),
        cmocka_unit_test(test_histogram_empty),
        cmocka_unit_test(test_histogram_labels),
        cmocka_unit_test(test_histogram_copies_bounds),
        cmocka_unit_test(test_copies_name),
        cmocka_unit_test(test_latency_bounds),
        cmocka_unit_test(test_null_safe),
        cmocka_unit_test(test_render_large),
        cmocka_unit_test(test_concurrent_adds),
        cmocka_unit_test(test_histogram_large_bounds_exact),
        cmocka_unit_test(test_histogram_alloc_failure_leaves_registry_usable),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
