#ifndef JOURNEY_FUNNEL_H
#define JOURNEY_FUNNEL_H

/*
 * Funnels (deploy/config/funnels.json) and a visitor's progress through one.
 *
 *   {"version": 1,
 *    "funnels": [{"name": "booking", "order": "strict", "window_hours": 168,
 *                 "abandon_from_step": 3, "abandon_after_minutes": 60,
 *                 "steps": [{"name": "service page", "event_type": "page_view",
 *                            "page_type": "service"}, ...]}]}
 *
 * A visitor's attempt at a funnel starts at the first step it reaches and
 * lasts window_hours; an event after that starts a new attempt. Each step is
 * reached at most once per attempt, and a completed attempt ends it: the
 * next matching event starts another.
 *
 * Strict order: steps count only forwards, and the attempt is complete when
 * its last step is reached. Real data does not log every step (a booking
 * completed with no booking-started event before it), so a later step
 * reached with earlier ones missing counts those as reached too, flagged
 * inferred: a report can say how many arrived at a step without being seen
 * at the one before. Its level (the rollup row it counts in) is the
 * furthest step: row k counts the attempts that reached steps 1..k.
 *
 * Any order: a step counts whenever it is first reached in the attempt,
 * nothing is inferred, and the attempt is complete when every step is
 * reached. Its level is the number of distinct steps reached: row k counts
 * the attempts that reached at least k of the steps, whichever they were,
 * so each attempt counts once at each level 1..its own and no row ever
 * outnumbers the one before it. Its time from the previous step is the
 * time since the previous distinct step reached.
 *
 * Abandonment: an attempt whose level reached abandon_from_step (1-based;
 * in any order: that many distinct steps) and is not complete is abandoned
 * when the visitor's session closes, or abandon_after_minutes after its
 * latest step (0: only at session close).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "match.h"

#define FUNNEL_STEPS_MAX 16
#define FUNNEL_FILE_MAX (1024 * 1024)
#define FUNNEL_NAME_MAX 64

struct funnel_step {
    char *name;
    struct match when;
};

struct funnel {
    char *name;
    struct funnel_step steps[FUNNEL_STEPS_MAX];
    int nsteps;
    bool strict;
    long long window_ms;
    int abandon_from; /* 0-based step index; -1: no abandonment */
    long long abandon_after_ms;
};

struct funnel_set {
    struct funnel *funnels;
    size_t n;
};

/* A visitor's current attempt at one funnel. All zero: none. */
struct funnel_progress {
    long long started_ms;                   /* first step's time; 0: no attempt */
    long long reached_ms[FUNNEL_STEPS_MAX]; /* 0: not reached */
    uint32_t inferred;                      /* bit i: step i inferred */
    int furthest;                           /* highest listed step reached, -1 none */
    bool abandoned;                         /* counted as abandoned already */
};

/* One step an event made a visitor reach. */
struct funnel_hit {
    int step;                /* the listed step reached, 0-based */
    int level;               /* the rollup row it counts in, 0-based (see funnel_level) */
    bool inferred;           /* reached because a later step was */
    bool new_attempt;        /* this hit started the attempt */
    long long since_prev_ms; /* from the previous step, -1 when unknown (inferred) */
};

/* Loads and checks the funnels file at path into s. Returns 0, or -1 with
 * the reason in err naming the file and the funnel (s then needs
 * funnel_set_fini): unreadable, not JSON, another version, a funnel with no
 * or too many steps, no or a duplicate name, a bad order, window or
 * abandonment, an unknown key, a malformed condition. */
int funnel_set_load(struct funnel_set *s, const char *path, char *err, size_t errlen);

/* Frees what s owns. Accepts a zeroed s. */
void funnel_set_fini(struct funnel_set *s);

/* Resets p to no attempt. */
void funnel_progress_reset(struct funnel_progress *p);

/* Applies an event at ts_ms to p: the steps it makes the visitor reach go
 * to hits (room for FUNNEL_STEPS_MAX) in step order. Returns how many. */
int funnel_advance(const struct funnel *f, struct funnel_progress *p, const struct match_event *ev,
                   long long ts_ms, struct funnel_hit *hits);

/* True when p's attempt is complete: strict, its last step reached; any
 * order, every step reached. */
bool funnel_completed(const struct funnel *f, const struct funnel_progress *p);

/* The 0-based rollup row of p's attempt as it stands: strict, the furthest
 * step; any order, the number of distinct steps reached less one. -1 when
 * there is no attempt. */
int funnel_level(const struct funnel *f, const struct funnel_progress *p);

/* The time of the latest step p reached (in an any-order funnel not
 * always the furthest one); 0 when none. */
long long funnel_last_step_ms(const struct funnel *f, const struct funnel_progress *p);

/* True when p's attempt is to be counted abandoned now: not yet counted,
 * its level at abandon_from or past it but not completed, and the session closed or
 * abandon_after passed since its last step by now_ms. The caller then sets
 * p->abandoned. */
bool funnel_abandon_due(const struct funnel *f, const struct funnel_progress *p, long long now_ms,
                        bool session_closed);

#endif
