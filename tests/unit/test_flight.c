/*
 * Unit tests for the in-flight batches (common/src/flight.c): the
 * guard reference, holds, partition coverage, completion in FIFO order, the
 * failed flag, waiting with a timeout and being woken by another thread.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "analytics/flight.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char topic_t[] = "t"; /* flights compare topics by pointer */

static long long mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0) {
    }
}

static int q_setup(void **state)
{
    struct flight_queue *q = calloc(1, sizeof(*q));

    if (q == NULL || flight_queue_init(q) != 0) {
        free(q);
        return -1;
    }
    *state = q;
    return 0;
}

static int q_teardown(void **state)
{
    struct flight_queue *q = *state;

    flight_queue_fini(q);
    free(q);
    return 0;
}

static void test_new(void **state)
{
    struct flight_queue *q = *state;

    q->generation = 7;
    struct flight *f = flight_new(q, 4, 1234);
    assert_non_null(f);
    assert_int_equal(atomic_load(&f->pending), 1);
    assert_false(atomic_load(&f->failed));
    assert_int_equal(f->generation, 7);
    assert_int_equal(f->started_mono_ms, 1234);
    assert_int_equal(f->cap, 4);
    assert_int_equal(f->nparts, 0);
    assert_int_equal(f->messages, 0);
    assert_int_equal(f->consumed, 0);
    assert_null(f->next);
    q->generation = 8;
    assert_int_equal(f->generation, 7); /* a copy, not a reference */
    flight_free(f);
}

static void test_hold_unhold(void **state)
{
    struct flight_queue *q = *state;
    struct flight *f = flight_new(q, 1, 0);

    assert_non_null(f);
    flight_hold(f);
    flight_hold(f);
    flight_hold(f);
    assert_int_equal(atomic_load(&f->pending), 4);
    assert_int_equal(f->messages, 3);
    flight_unhold(f);
    assert_int_equal(atomic_load(&f->pending), 3);
    assert_int_equal(f->messages, 2);
    /* The two held reports and the guard: complete only after all three. */
    flight_delivered(q, f, true);
    flight_seal(q, f);
    assert_int_equal(atomic_load(&f->pending), 1);
    assert_null(flight_queue_pop_done(q));
    flight_delivered(q, f, true);
    assert_int_equal(atomic_load(&f->pending), 0);
    assert_ptr_equal(flight_queue_pop_done(q), f);
    assert_false(atomic_load(&f->failed));
    flight_free(f);
}

static void test_cover(void **state)
{
    struct flight_queue *q = *state;
    struct flight *f = flight_new(q, 2, 0);

    assert_non_null(f);
    assert_int_equal(flight_cover(f, topic_t, 3, 5), 0);
    assert_int_equal(f->parts[0].next_offset, 6);
    assert_int_equal(flight_cover(f, topic_t, 3, 2), 0); /* lower: the max stays */
    assert_int_equal(f->parts[0].next_offset, 6);
    assert_int_equal(flight_cover(f, topic_t, 3, 9), 0);
    assert_int_equal(flight_cover(f, topic_t, 3, 8), 0);
    assert_int_equal(flight_cover(f, topic_t, 0, 0), 0);
    assert_int_equal(f->nparts, 2);
    assert_int_equal(f->parts[0].partition, 3);
    assert_int_equal(f->parts[0].next_offset, 10);
    assert_int_equal(f->parts[1].partition, 0);
    assert_int_equal(f->parts[1].next_offset, 1);
    /* Full: a third partition is refused, the known ones still move. */
    assert_int_equal(flight_cover(f, topic_t, 1, 4), -1);
    assert_int_equal(f->nparts, 2);
    assert_int_equal(flight_cover(f, topic_t, 0, 41), 0);
    assert_int_equal(f->parts[1].next_offset, 42);
    assert_int_equal(flight_cover(f, topic_t, 3, 9000000000LL), 0);
    assert_int_equal(f->parts[0].next_offset, 9000000001LL);
    assert_int_equal(f->consumed, 8); /* every call counts, as daemon.c counts */
    flight_free(f);

    f = flight_new(q, 0, 0);
    assert_non_null(f);
    assert_int_equal(flight_cover(f, topic_t, 0, 1), -1);
    assert_int_equal(f->nparts, 0);
    flight_free(f);
}

/* A sealed flight without messages is complete at once. */
static void test_seal_empty(void **state)
{
    struct flight_queue *q = *state;
    struct flight *f = flight_new(q, 1, 0);

    assert_non_null(f);
    assert_null(flight_queue_pop_done(q));
    flight_seal(q, f);
    assert_int_equal(q->count, 1);
    assert_ptr_equal(q->head, f);
    assert_ptr_equal(q->tail, f);
    assert_int_equal(atomic_load(&f->pending), 0);
    assert_ptr_equal(flight_queue_pop_done(q), f);
    assert_int_equal(q->count, 0);
    assert_null(q->head);
    assert_null(q->tail);
    assert_null(flight_queue_pop_done(q));
    flight_free(f);
}

/* Flights come back oldest first and only when complete: a later complete
 * flight waits behind an earlier incomplete one. */
static void test_fifo_order(void **state)
{
    struct flight_queue *q = *state;
    struct flight *f[4];

    for (int i = 0; i < 4; i++) {
        f[i] = flight_new(q, 1, i);
        assert_non_null(f[i]);
    }
    flight_hold(f[0]);
    flight_hold(f[1]);
    flight_hold(f[1]);
    flight_hold(f[2]);
    /* f[3] has no message */
    for (int i = 0; i < 4; i++) {
        flight_seal(q, f[i]);
    }
    assert_int_equal(q->count, 4);
    assert_null(flight_queue_pop_done(q));

    flight_delivered(q, f[2], true); /* f[2] complete, f[0] not */
    assert_int_equal(atomic_load(&f[2]->pending), 0);
    assert_null(flight_queue_pop_done(q));
    flight_delivered(q, f[1], true);
    assert_null(flight_queue_pop_done(q));
    assert_int_equal(q->count, 4);

    flight_delivered(q, f[0], true);
    assert_ptr_equal(flight_queue_pop_done(q), f[0]);
    assert_int_equal(q->count, 3);
    assert_null(flight_queue_pop_done(q)); /* f[1] still has a report due */
    flight_delivered(q, f[1], true);
    assert_ptr_equal(flight_queue_pop_done(q), f[1]);
    assert_ptr_equal(flight_queue_pop_done(q), f[2]);
    assert_ptr_equal(flight_queue_pop_done(q), f[3]);
    assert_null(flight_queue_pop_done(q));
    assert_int_equal(q->count, 0);
    assert_null(q->head);
    assert_null(q->tail);
    for (int i = 0; i < 4; i++) {
        assert_null(f[i]->next);
        assert_int_equal(f[i]->started_mono_ms, i);
        flight_free(f[i]);
    }

    /* The queue works on after being emptied. */
    struct flight *g = flight_new(q, 1, 0);
    assert_non_null(g);
    flight_seal(q, g);
    assert_ptr_equal(flight_queue_pop_done(q), g);
    flight_free(g);
}

static void test_failed(void **state)
{
    struct flight_queue *q = *state;
    struct flight *ok = flight_new(q, 1, 0);
    struct flight *bad = flight_new(q, 1, 0);

    assert_non_null(ok);
    assert_non_null(bad);
    flight_hold(ok);
    flight_hold(bad);
    flight_hold(bad);
    flight_seal(q, ok);
    flight_seal(q, bad);
    flight_delivered(q, bad, false);
    assert_true(atomic_load(&bad->failed));
    flight_delivered(q, bad, true); /* a later success does not clear it */
    assert_true(atomic_load(&bad->failed));
    flight_delivered(q, ok, true);
    struct flight *p = flight_queue_pop_done(q);
    assert_ptr_equal(p, ok);
    assert_false(atomic_load(&p->failed));
    flight_free(p);
    p = flight_queue_pop_done(q);
    assert_ptr_equal(p, bad);
    assert_true(atomic_load(&p->failed));
    assert_int_equal(p->messages, 2);
    flight_free(p);
}

/* Nothing completes: the wait returns after about its timeout. */
static void test_wait_timeout(void **state)
{
    struct flight_queue *q = *state;
    long long t;

    t = mono_ms();
    flight_queue_wait(q, 100); /* empty queue */
    t = mono_ms() - t;
    assert_true(t >= 90);
    assert_true(t < 2000);

    struct flight *f = flight_new(q, 1, 0);
    assert_non_null(f);
    flight_hold(f);
    flight_seal(q, f);
    t = mono_ms();
    flight_queue_wait(q, 150); /* head incomplete */
    t = mono_ms() - t;
    assert_true(t >= 140);
    assert_true(t < 2000);
    t = mono_ms();
    flight_queue_wait(q, 1050); /* whole seconds and milliseconds */
    t = mono_ms() - t;
    assert_true(t >= 1040);
    assert_true(t < 3000);
    assert_null(flight_queue_pop_done(q));

    /* Head complete: no wait at all. */
    flight_delivered(q, f, true);
    t = mono_ms();
    flight_queue_wait(q, 5000);
    assert_true(mono_ms() - t < 1000);
    assert_ptr_equal(flight_queue_pop_done(q), f);
    flight_free(f);
}

struct deliverer {
    struct flight_queue *q;
    struct flight *f;
    long delay_ms;
    int reports;
    bool ok;
};

/* Delivers reports for d->f after d->delay_ms, as the producer's thread. */
static void *deliver_main(void *arg)
{
    struct deliverer *d = arg;

    if (d->delay_ms > 0) {
        sleep_ms(d->delay_ms);
    }
    for (int i = 0; i < d->reports; i++) {
        flight_delivered(d->q, d->f, d->ok);
    }
    return NULL;
}

/* Waits (in waits of wait_ms) until the head flight pops; returns it. */
static struct flight *wait_pop(struct flight_queue *q, int wait_ms, long long limit_ms)
{
    long long end = mono_ms() + limit_ms;
    struct flight *f;

    while ((f = flight_queue_pop_done(q)) == NULL && mono_ms() < end) {
        flight_queue_wait(q, wait_ms);
    }
    return f;
}

/* Another thread completes the head flight: the wait ends promptly, long
 * before its 10 s timeout. */
static void test_wait_woken_by_thread(void **state)
{
    struct flight_queue *q = *state;
    struct flight *f = flight_new(q, 1, 0);
    pthread_t th;

    assert_non_null(f);
    flight_hold(f);
    flight_seal(q, f);
    struct deliverer d = {q, f, 100, 1, true};
    long long t = mono_ms();
    assert_int_equal(pthread_create(&th, NULL, deliver_main, &d), 0);
    struct flight *got = wait_pop(q, 10000, 30000);
    t = mono_ms() - t;
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_ptr_equal(got, f);
    assert_true(t >= 90);
    assert_true(t < 3000);
    flight_free(got);
}

/* Many reports from several threads at once: every one is counted, the
 * flight completes when the last arrives and one thread's failures stick. */
static void test_concurrent_reports(void **state)
{
    struct flight_queue *q = *state;
    enum { THREADS = 4, EACH = 2000 };
    struct flight *f = flight_new(q, 1, 0);
    struct flight *later = flight_new(q, 1, 0);
    pthread_t th[THREADS];
    struct deliverer d[THREADS];

    assert_non_null(f);
    assert_non_null(later);
    for (int i = 0; i < THREADS * EACH; i++) {
        flight_hold(f);
    }
    flight_hold(later);
    flight_seal(q, f);
    flight_seal(q, later);
    flight_delivered(q, later, true); /* complete, but behind f */
    for (int i = 0; i < THREADS; i++) {
        d[i] = (struct deliverer){q, f, 20, EACH, i != 2}; /* one thread fails all */
        assert_int_equal(pthread_create(&th[i], NULL, deliver_main, &d[i]), 0);
    }
    struct flight *got = wait_pop(q, 5000, 30000);
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
    }
    assert_ptr_equal(got, f);
    assert_int_equal(atomic_load(&f->pending), 0);
    assert_int_equal(f->messages, THREADS * EACH);
    assert_true(atomic_load(&f->failed));
    assert_false(atomic_load(&later->failed));
    assert_ptr_equal(flight_queue_pop_done(q), later);
    flight_free(got);
    flight_free(later);
}

static void test_flight_free(void **state)
{
    struct flight_queue *q = *state;
    struct flight *f = flight_new(q, 3, 0);

    flight_free(NULL);
    assert_non_null(f);
    assert_int_equal(flight_cover(f, topic_t, 0, 1), 0);
    flight_hold(f);
    flight_free(f); /* never sealed, a report still due: freed all the same */
}

/* flight_queue_fini frees the flights still queued, complete or not. */
static void test_fini_with_flights(void **state)
{
    struct flight_queue q;
    struct flight *a, *b;

    (void)state;
    assert_int_equal(flight_queue_init(&q), 0);
    a = flight_new(&q, 1, 0);
    b = flight_new(&q, 1, 0);
    assert_non_null(a);
    assert_non_null(b);
    flight_hold(b);
    flight_seal(&q, a);
    flight_seal(&q, b);
    assert_int_equal(q.count, 2);
    flight_queue_fini(&q); /* ASan reports a leak if either stays */
    assert_null(q.head);
    assert_null(q.tail);
    assert_int_equal(q.count, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_new, q_setup, q_teardown),
        cmocka_unit_test_setup_teardown(test_hold_unhold, q_setup, q_teardown),
        cmocka_unit_test_setup_teardown(test_cover, q_setup, q_teardown),
        cmocka_unit_test_setup_teardown(test_seal_empty, q_setup, q_teardown),
        cmocka_unit_test_setup_teardown(test_fifo_order, q_setup, q_teardown),
        cmocka_unit_test_setup_teardown(test_failed, q_setup, q_teardown),
        cmocka_unit_test_setup_teardown(test_wait_timeout, q_setup, q_teardown),
        cmocka_unit_test_setup_teardown(test_wait_woken_by_thread, q_setup, q_teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_reports, q_setup, q_teardown),
        cmocka_unit_test_setup_teardown(test_flight_free, q_setup, q_teardown),
        cmocka_unit_test(test_fini_with_flights),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
