#ifndef ANALYTICS_FLIGHT_H
#define ANALYTICS_FLIGHT_H

/*
 * Batches whose outputs are awaiting acknowledgement (the broker's delivery
 * reports, or a database commit), in consumption order. A batch's source
 * offsets may be stored only when it and every batch before it are
 * acknowledged, so the queue hands them back in order. The consumer thread
 * owns the queue and the flights; the producer's delivery thread only calls
 * flight_delivered. The stage runtime (stage.h) owns one queue per stage.
 */

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The next offset to consume on one partition once a flight is delivered.
 * topic is borrowed: it must outlive the flight (the stage's own names). */
struct flight_part {
    const char *topic;
    int32_t partition;
    int64_t next_offset;
};

struct flight {
    struct flight *next;
    atomic_int pending;  /* reports still due, + 1 until sealed */
    atomic_bool failed;  /* some message was not delivered */
    unsigned generation; /* of the assignment it was consumed in */
    long long started_mono_ms;
    long long messages; /* produced */
    long long consumed; /* source messages covered */
    size_t nparts, cap;
    struct flight_part parts[];
};

struct flight_queue {
    struct flight *head, *tail;
    size_t count;
    unsigned generation; /* bumped when partitions are revoked */
    pthread_mutex_t mu;  /* with cv: a flight completed */
    pthread_cond_t cv;
};

int flight_queue_init(struct flight_queue *q);

/* Frees f. Accepts NULL. */
void flight_free(struct flight *f);

/* Frees every flight left (their reports must not come any more: the
 * producer is gone or flushed). */
void flight_queue_fini(struct flight_queue *q);

/* Returns a new flight for up to cap partitions in the queue's current
 * generation, or NULL when memory runs out. It holds one guard reference
 * until flight_seal. */
struct flight *flight_new(const struct flight_queue *q, size_t cap, long long now_mono_ms);

/* Counts one message about to be produced (call before the send). */
void flight_hold(struct flight *f);

/* Undoes flight_hold when the send failed locally. */
void flight_unhold(struct flight *f);

/* Records that the source message at offset on topic/partition is covered
 * (topics compare by pointer). Returns 0, or -1 when the flight has no room
 * for another partition. */
int flight_cover(struct flight *f, const char *topic, int32_t partition, int64_t offset);

/* Raises the offset to store for topic/partition to next_offset (the
 * next message to consume) without counting a message. Returns 0 or -1 as
 * flight_cover. */
int flight_advance(struct flight *f, const char *topic, int32_t partition, int64_t next_offset);

/* The delivery report of one message of f (any thread). */
void flight_delivered(struct flight_queue *q, struct flight *f, bool ok);

/* Drops the guard and appends f to q (f is owned by q from then on). */
void flight_seal(struct flight_queue *q, struct flight *f);

/* Pops and returns the oldest flight when it is complete (caller frees it
 * with flight_free), else NULL. */
struct flight *flight_queue_pop_done(struct flight_queue *q);

/* Waits up to timeout_ms for some flight to complete. */
void flight_queue_wait(struct flight_queue *q, int timeout_ms);

#endif
