#ifndef JOURNEY_DUE_H
#define JOURNEY_DUE_H

/*
 * What falls due while a batch is applied: sessions going idle and attempts
 * reaching their abandonment time, by the stream's clock. The daemon keeps
 * one queue per partition for a batch: the states the database says fall
 * due by the batch's last event, then each state an event changes; before
 * and after each event it takes out what the partition's clock has
 * reached. So a session closes at the same point of the stream whatever
 * batches the stream was cut into. Pure.
 *
 * Items leave in a fixed order: by due time, closings before abandonments,
 * then by key. A state pushed again (its due time moved) leaves once per
 * push; the caller checks it is still due when it takes it out.
 */

#include <stdbool.h>
#include <stddef.h>

enum due_kind {
    DUE_CLOSE = 0,   /* a session: state is a struct jstate_session */
    DUE_ABANDON = 1, /* a visitor's attempts: state is a struct jstate_visitor */
};

struct due_item {
    long long at_ms;
    enum due_kind kind;
    const char *key; /* borrowed from the state: its session id or fingerprint */
    void *state;     /* borrowed */
};

struct due_queue {
    struct due_item *items; /* owned; a binary min-heap of n used of cap */
    size_t n, cap;
};

/* Empties q (no memory). */
void due_init(struct due_queue *q);

/* Frees what q owns and empties it. */
void due_fini(struct due_queue *q);

/* Forgets every item, keeping the memory. */
void due_clear(struct due_queue *q);

/* Adds it (copied). Returns 0, or -1 when memory runs out. */
int due_push(struct due_queue *q, const struct due_item *it);

/* Takes the first item into *out when it is due by clock_ms (at_ms <=
 * clock_ms) and returns true; false when none is. */
bool due_pop(struct due_queue *q, long long clock_ms, struct due_item *out);

#endif
