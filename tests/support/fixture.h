/*
 * Test fixtures shared by the unit tests and the integration probes: messages
 * built once, so a test that needs "an event with everything set" does not
 * keep its own copy that drifts from the others.
 */
#ifndef ANALYTICS_TESTS_FIXTURE_H
#define ANALYTICS_TESTS_FIXTURE_H

#include "analytics/v1/enriched_event.pb-c.h"

/* The event time of fixture_enriched_full: 2026-11-25 10:00:00.123 UTC. */
#define FIXTURE_ENRICHED_TS_MS 1795600800123LL

/* An enriched event and the submessages it points to, in one piece of
 * storage the caller owns (a static or a local; nothing to free). */
struct fixture_enriched {
    Analytics__V1__EnrichedEvent ev;
    Analytics__V1__UserAgentInfo ua;
    Analytics__V1__GeoInfo geo;
    Analytics__V1__Campaign campaign;
    Analytics__V1__PageInfo page;
    Analytics__V1__SessionInfo session;
    Analytics__V1__BotInfo bot;
    Analytics__V1__Consent consent;
};

/*
 * Fills f with an event that has every submessage and every top-level field
 * set (values in fixture.c; of the campaign, only channel, referrer_host and
 * utm_source), f->ev pointing at f's submessages. Strings
 * are borrowed string literals: a test may point a field elsewhere, or set a
 * submessage pointer to NULL, and call this again to reset.
 */
void fixture_enriched_full(struct fixture_enriched *f);

/* A private temporary directory for one test program, and the path of one
 * file in it that the tests write (not created here). */
struct fixture_tmp {
    char dir[64];
    char file[128];
};

/* Makes /tmp/<prog>.XXXXXX and sets t->file to <dir>/<file>. Returns 0 or
 * -1 (the directory could not be made). */
int fixture_tmp_open(struct fixture_tmp *t, const char *prog, const char *file);

/* Removes t's file (if written) and directory. */
void fixture_tmp_close(struct fixture_tmp *t);

/* fixture_tmp_open, then text written to t->file. Returns 0 or -1 (the
 * directory made is removed again). */
int fixture_tmp_write(struct fixture_tmp *t, const char *prog, const char *file, const char *text);

/* Appends what fmt makes to buf (cap bytes, *n used). Text that does not
 * fit is a broken test: it says so and aborts. */
__attribute__((format(printf, 4, 5))) void fixture_appendf(char *buf, size_t cap, size_t *n,
                                                           const char *fmt, ...);

#endif
