#ifndef JOURNEY_JSTATE_H
#define JOURNEY_JSTATE_H

/*
 * What the journey-builder keeps per visitor and per session between
 * events: enough to go on exactly where the database says it is, so that a
 * state dropped from memory (evicted, a rebalance, a restart) is read back
 * from PostgreSQL (sessions, customer_journeys, funnel_progress) unchanged.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "funnel.h"
#include "jsession.h"

/* A visitor's attempt at one funnel and where it counts. */
struct jstate_funnel {
    struct funnel_progress p;
    long long day;           /* UTC day of the attempt's start (rollup row) */
    int channel;             /* of its first step: analytics.v1.Channel */
    int device_type;         /* analytics.v1.DeviceType */
    char *session_id;        /* owned; of its latest step, NULL when none */
    long long abandon_at_ms; /* when it counts as abandoned; 0: not due */
    long long abandoned_ms;  /* event time it was counted abandoned at; 0: not */
    bool dirty;              /* changed since written */
};

struct jstate_visitor {
    char *fingerprint; /* owned */
    int partition;     /* Kafka partition of the visitor's events */
    int seq;           /* sequence number of the latest touchpoint; 0: none */
    int stage;         /* stage index of the latest touchpoint; -1: none */
    /* The latest touchpoint (NULL: none) and whether its time spent is
     * final (its session closed): a later event in that session (reopening
     * it) still moves it, one in another session leaves it. */
    char *tp_event_id, *tp_session_id; /* owned */
    long long tp_ms;
    bool tp_final;
    size_t tp_row;                 /* the open touchpoint's row in the batch's apply_out... */
    unsigned tp_gen;               /* ...while this equals its gen */
    size_t tp_spent;               /* its time-spent update in the batch's apply_out... */
    unsigned tp_spent_gen;         /* ...while this equals its gen */
    struct jstate_funnel *funnels; /* owned; one per funnel of the set */
    size_t nfunnels;
    bool listed; /* in the batch's list of visitors to write */
};

struct jstate_session {
    char *session_id, *fingerprint; /* owned */
    char *user_id, *site_id;        /* owned, NULL when none */
    char *referrer_host, *utm_source, *utm_medium, *utm_campaign, *country; /* idem */
    int partition;
    struct jsession s;
    uint32_t *funnel_steps; /* owned; per funnel, bit i: step i reached in the session */
    size_t nfunnels;
    char *last_event_id; /* owned */
    bool listed;         /* in the batch's list of sessions to write */
};

/* Returns a new visitor with no touchpoint and no attempts at nfunnels
 * funnels (caller frees with jstate_visitor_free), or NULL. */
struct jstate_visitor *jstate_visitor_new(const char *fingerprint, int partition, size_t nfunnels);

/* Frees v. Accepts NULL (takes void * to serve as a jcache free function). */
void jstate_visitor_free(void *v);

/* Replaces the open touchpoint of v (event_id NULL: none). Returns 0 or -1. */
int jstate_visitor_set_tp(struct jstate_visitor *v, const char *event_id, const char *session_id,
                          long long ts_ms);

/* Returns a new session without events (caller frees with
 * jstate_session_free), or NULL. */
struct jstate_session *jstate_session_new(const char *session_id, const char *fingerprint,
                                          int partition, size_t nfunnels);

/* Frees s. Accepts NULL. */
void jstate_session_free(void *s);

/* Replaces *slot with a copy of val (NULL or "": NULL). Returns 0 or -1. */
int jstate_set_str(char **slot, const char *val);

#endif
