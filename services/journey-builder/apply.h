#ifndef JOURNEY_APPLY_H
#define JOURNEY_APPLY_H

/*
 * What one enriched event, a session closing or an attempt falling due does
 * to a visitor's state, and what it makes the journey-builder write:
 * journey rows, times spent, funnel rollup deltas and journey updates for
 * the journeys topic. Pure: the daemon loads the states, applies a batch,
 * then writes what the apply_out holds in one transaction.
 *
 * A touchpoint's time spent is the time to the visitor's next touchpoint in
 * the same session, or to its session's end when the session closes or the
 * next touchpoint is in another session. When the next touchpoint comes in
 * the same batch, the time goes straight into the row (no update later).
 *
 * Late events: an event for a closed session reopens it (jsession_add), so
 * the summary, the time spent on its last touchpoint and its attempts go
 * on as if the event had come in time; the daemon closes it again when it
 * is idle by the stream's clock (a new SESSION_CLOSED with the summary as
 * it now is). An attempt counted abandoned that such an event moves on (an
 * event in the session it was abandoned with, or one older than the
 * abandonment) is taken back: its abandonment no longer counts, and it may
 * be abandoned again further on. An attempt a visitor takes up again in a
 * later session stays counted abandoned (it was; it was also recovered).
 */

#include "analytics/pbenums.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "analytics/v1/enriched_event.pb-c.h"
#include "funnel.h"
#include "journey.h"
#include "jstate.h"
#include "rollup.h"

struct apply_ctx {
    const struct journey_rules *rules; /* borrowed */
    const struct funnel_set *funnels;  /* borrowed */
};

/* One row of customer_journeys. Strings borrowed from the event and the
 * rules: valid while both are. */
struct apply_journey_row {
    const char *event_id, *fingerprint, *user_id, *session_id;
    int seq;
    const char *stage, *previous_stage, *touchpoint; /* previous_stage NULL: first */
    int channel;
    const char *page_url;
    long long ts_ms;
    long long time_spent_s; /* -1 until known (the next touchpoint in the batch tells) */
};

/* The time spent on a touchpoint, now known. */
struct apply_spent {
    char *event_id;    /* owned */
    long long seconds; /* -1: until the end of its session (known to the database) */
};

/* A journey update to produce: key and payload owned. */
struct apply_msg {
    char *key;
    uint8_t *buf;
    size_t len;
};

/* A visitor reaching a rollup row: what the distinct-visitor counts of
 * funnel_daily are built from. fingerprint is the visitor state's,
 * borrowed: valid while the visitor is listed in the apply_out (until it
 * is reset). */
struct apply_reach {
    struct rollup_key key;
    const char *fingerprint;
    bool inferred; /* reached it without its event logged */
};

struct apply_stats {
    long long touchpoints, stage_changes, funnel_steps, sessions_closed, abandoned;
    long long reopened;         /* closed sessions an event reopened */
    long long abandon_reverted; /* abandonments a late event in time took back */
};

struct apply_out {
    struct apply_journey_row *rows;
    size_t nrows, caprows;
    struct apply_spent *spent;
    size_t nspent, capspent;
    struct rollup rollup;
    struct apply_reach *reach; /* one per step hit, in order */
    size_t nreach, capreach;
    struct apply_msg *msgs;
    size_t nmsgs, capmsgs;
    struct jstate_session **sessions; /* borrowed: sessions to write */
    size_t nsessions, capsessions;
    struct jstate_visitor **visitors; /* borrowed: visitors whose attempts to write */
    size_t nvisitors, capvisitors;
    struct apply_stats stats;
    unsigned gen; /* changes at each reset: tells a visitor's row index stale */
};

void apply_out_init(struct apply_out *o);

/* Frees what o holds. Like apply_out_reset it unmarks the states o lists,
 * so it must run before they are freed. */
void apply_out_fini(struct apply_out *o);

/* Forgets everything o holds; the listed states are unmarked (written to),
 * so reset before freeing any of them. */
void apply_out_reset(struct apply_out *o);

/* Applies ev (not a bot's) to its visitor v and session s (NULL when the
 * event has none). ev is borrowed until o is reset. Returns 0, or -1 when
 * memory runs out (the states are then unusable: drop them). */
int apply_event(const struct apply_ctx *c, struct jstate_visitor *v, struct jstate_session *s,
                const Analytics__V1__EnrichedEvent *ev, struct apply_out *o);

/* Closes s, a session of v: the time spent on its last touchpoint, the
 * attempts whose latest step was in it and are due for abandonment, and a
 * SESSION_CLOSED update. Nothing when already closed. Returns 0 or -1. */
int apply_close_session(const struct apply_ctx *c, struct jstate_visitor *v,
                        struct jstate_session *s, struct apply_out *o);

/* Abandons v's attempts due by now_ms (abandon_at_ms passed). s is the
 * session of their latest step when known (for the update's summary), or
 * NULL. Returns 0 or -1. */
int apply_abandon_due(const struct apply_ctx *c, struct jstate_visitor *v, struct jstate_session *s,
                      long long now_ms, struct apply_out *o);

#endif
