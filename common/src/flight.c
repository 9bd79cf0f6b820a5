#include "analytics/flight.h"

#include "analytics/lifecycle.h"

#include <stdlib.h>
#include <time.h>

int flight_queue_init(struct flight_queue *q)
{
    q->head = q->tail = NULL;
    q->count = 0;
    q->generation = 0;
    if (pthread_mutex_init(&q->mu, NULL) != 0) {
        return -1;
    }
    pthread_condattr_t attr;
    int rc = pthread_condattr_init(&attr);
    if (rc == 0) {
        rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        rc = rc == 0 ? pthread_cond_init(&q->cv, &attr) : rc;
        pthread_condattr_destroy(&attr);
    }
    if (rc != 0) {
        pthread_mutex_destroy(&q->mu);
        return -1;
    }
    return 0;
}

void flight_free(struct flight *f)
{
    free(f);
}

void flight_queue_fini(struct flight_queue *q)
{
    for (struct flight *f = q->head, *next; f != NULL; f = next) {
        next = f->next;
        flight_free(f);
    }
    q->head = q->tail = NULL;
    q->count = 0;
    pthread_cond_destroy(&q->cv);
    pthread_mutex_destroy(&q->mu);
}

struct flight *flight_new(const struct flight_queue *q, size_t cap, long long now_mono_ms)
{
    struct flight *f = calloc(1, sizeof(*f) + cap * sizeof(f->parts[0]));

    if (f == NULL) {
        return NULL;
    }
    atomic_init(&f->pending, 1);
    atomic_init(&f->failed, false);
    f->generation = q->generation;
    f->started_mono_ms = now_mono_ms;
    f->cap = cap;
    return f;
}

void flight_hold(struct flight *f)
{
    atomic_fetch_add(&f->pending, 1);
    f->messages++;
}

void flight_unhold(struct flight *f)
{
    atomic_fetch_sub(&f->pending, 1);
    f->messages--;
}

int flight_advance(struct flight *f, const char *topic, int32_t partition, int64_t next_offset)
{
    /* Newest first: messages come in runs from one partition. */
    for (size_t i = f->nparts; i-- > 0;) {
        if (f->parts[i].partition == partition && f->parts[i].topic == topic) {
            if (next_offset > f->parts[i].next_offset) {
                f->parts[i].next_offset = next_offset;
            }
            return 0;
        }
    }
    if (f->nparts == f->cap) {
        return -1;
    }
    f->parts[f->nparts++] = (struct flight_part){topic, partition, next_offset};
    return 0;
}

int flight_cover(struct flight *f, const char *topic, int32_t partition, int64_t offset)
{
    f->consumed++;
    return flight_advance(f, topic, partition, offset + 1);
}

/* Drops one reference; the last wakes the consumer thread. */
static void flight_put(struct flight_queue *q, struct flight *f)
{
    if (atomic_fetch_sub(&f->pending, 1) == 1) {
        pthread_mutex_lock(&q->mu);
        pthread_cond_broadcast(&q->cv);
        pthread_mutex_unlock(&q->mu);
    }
}

void flight_delivered(struct flight_queue *q, struct flight *f, bool ok)
{
    if (!ok) {
        atomic_store(&f->failed, true);
    }
    flight_put(q, f);
}

void flight_seal(struct flight_queue *q, struct flight *f)
{
    f->next = NULL;
    if (q->tail != NULL) {
        q->tail->next = f;
    } else {
        q->head = f;
    }
    q->tail = f;
    q->count++;
    flight_put(q, f);
}

struct flight *flight_queue_pop_done(struct flight_queue *q)
{
    struct flight *f = q->head;

    if (f == NULL || atomic_load(&f->pending) != 0) {
        return NULL;
    }
    q->head = f->next;
    if (q->head == NULL) {
        q->tail = NULL;
    }
    q->count--;
    f->next = NULL;
    return f;
}

void flight_queue_wait(struct flight_queue *q, int timeout_ms)
{
    struct timespec ts;

    lifecycle_deadline(CLOCK_MONOTONIC, timeout_ms, &ts); /* the condition variable's clock */
    pthread_mutex_lock(&q->mu);
    if (q->head == NULL || atomic_load(&q->head->pending) != 0) {
        pthread_cond_timedwait(&q->cv, &q->mu, &ts);
    }
    pthread_mutex_unlock(&q->mu);
}
