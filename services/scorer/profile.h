#ifndef SCORER_PROFILE_H
#define SCORER_PROFILE_H

/*
 * A visitor's behaviour profile, kept per fingerprint and updated by each of
 * their events (pure: prof_apply takes what the daemon read from an
 * enriched event, prof_close_session what a session leaves the site's
 * page statistics).
 *
 * The current session's counts are the lead model's session features (the
 * quantities of the UCI Online Shoppers data): page views and seconds per
 * page category, where time on a page is the time to the session's next
 * page view (the last page of a session has none, as in the data), and the
 * distinct pages viewed, for their bounce and exit rates and page values.
 * Visit days (local days with a session) and booking days are the churn
 * model's transactions.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rules.h"

#define PROFILE_ID_MAX 129         /* ids up to 128 bytes (the collector's bound) */
#define PROFILE_TYPE_MAX 32        /* a page type's bytes, NUL included */
#define PROFILE_TYPES_MAX 16       /* page types counted per visitor; more share "other" */
#define PROFILE_PAGES_MAX 64       /* distinct pages of a session kept; more are not */
#define PROFILE_STAGE_MAX 32       /* a journey stage's bytes */
#define PROFILE_GAP_MAX_MS 1800000 /* a longer time on one page counts as this */
#define PROFILE_REASONS_MAX 5      /* reasons kept (score.h's SCORE_REASONS_MAX) */
#define PROFILE_REASON_MAX 80      /* a reason's bytes, NUL included (LEAD_REASON_MAX) */

/* Page views and seconds of one page type. */
struct profile_type {
    char type[PROFILE_TYPE_MAX];
    int views;
    long long seconds;
};

/* A page viewed in the current session. */
struct profile_page {
    uint64_t hash; /* of the page's host and path (prof_page_hash) */
    int views;     /* its page views in the session */
    long long
        value_micros; /* conversion value of the session after its first view, in millionths */
};

/* The reasons last given for the visitor and what they were given for:
 * they cost a TreeSHAP, so the scorer refreshes them only when the score
 * or the persona moves. Kept with the profile, so a visitor read back
 * from the database is explained when one kept in memory would be. */
struct profile_explained {
    int score;   /* the lead score explained; -1: never */
    int persona; /* the persona then; -1: none */
    int nreasons;
    char reasons[PROFILE_REASONS_MAX][PROFILE_REASON_MAX];
};

/* The current session. */
struct profile_session {
    char id[PROFILE_ID_MAX]; /* "" before the first event */
    long long start_ms, last_ms;
    long long local_day; /* of start_ms, in the site's zone */
    long long view_ms;   /* the last page view: the next one closes its time on page */
    int view_cat;        /* its page category (enum page_category) */
    int view_type;       /* its index in profile.types; -1 none */
    int views[PAGE_CAT_COUNT];
    long long ms[PAGE_CAT_COUNT]; /* time on pages of each category */
    int page_views;               /* all of them, categorised or not */
    struct profile_page pages[PROFILE_PAGES_MAX];
    int npages;
    uint64_t exit_page;       /* the last page viewed */
    long long revenue_micros; /* the session's conversion values, in millionths */
    bool closed;              /* its page statistics were given (prof_close_session) */
};

struct profile {
    char fingerprint[PROFILE_ID_MAX];
    char user_id[PROFILE_ID_MAX];
    long long first_seen_ms, last_seen_ms;
    int sessions, events, page_views;
    long long seconds;
    struct profile_type types[PROFILE_TYPES_MAX];
    int ntypes;
    int pricing_views, bookings_started, bookings_completed, forms_started;
    int rage_clicks, exit_intents;
    int deepest_scroll;                        /* percent, 0..100 */
    int first_channel;                         /* analytics.v1.Channel of the first session */
    int first_device;                          /* analytics.v1.DeviceType of the first event */
    char stage[PROFILE_STAGE_MAX];             /* the journey stage; "" until one is known */
    long long first_visit_day, last_visit_day; /* local days with a session */
    int visit_days;
    long long first_booking_day, last_booking_day; /* local days with a booking completed */
    int booking_days;
    long long bots; /* bot events seen for this fingerprint (counted, never scored) */
    /* The last_seen_ms of the silence a churn warning was sent for (equal to
     * last_seen_ms: sent for this one, none is due until the visitor is
     * seen again); 0 none. */
    long long warned_seen_ms;
    struct profile_session cur;
    struct profile_explained explained;
};

/* What the scorer takes from one enriched event. Strings are borrowed. */
struct profile_event {
    const char *event_type;
    const char *user_id;    /* NULL or "" when none */
    const char *session_id; /* the enricher's */
    bool new_session;
    long long ts_ms;
    long long local_day;         /* of ts_ms in the site's zone */
    bool page_view;              /* one of the site's page-view types (site_events) */
    const char *page_type;       /* the enricher's, NULL when none */
    uint64_t page_hash;          /* prof_page_hash of the page; 0 when none */
    int channel, device;         /* analytics.v1 enums */
    unsigned counters;           /* scorer_rules_classify's bits */
    int depth;                   /* a scroll's depth, -1 none */
    long long conversion_micros; /* a conversion's value in millionths (site_value_micros) */
    bool is_conversion;
};

/* What a closed session leaves the site-wide page statistics: per
 * distinct page one unique page view and its attributed value; the entry
 * page's entrance (and bounce, for a one-page-view session); the exit
 * page's exit. */
struct profile_page_stats {
    const struct profile_page *pages; /* borrowed from the profile */
    int npages;
    uint64_t entry, exit;
    bool bounced;
    int page_views;
};

/* What prof_apply changed. */
enum profile_change {
    PROFILE_COUNTED = 1,     /* counters only (events, a click) */
    PROFILE_FEATURES = 2,    /* the current session's features */
    PROFILE_NEW_SESSION = 4, /* a session started (the previous one, if any, is closed first) */
};

/* A profile for fingerprint with nothing seen yet. */
void prof_init(struct profile *p, const char *fingerprint);

/* The 64-bit FNV-1a hash of host and path (either may be NULL), 0 never. */
uint64_t prof_page_hash(const char *host, const char *path);

/* True when ev starts a session for p (its id differs from the current, or
 * the enricher says so): the caller closes the current one first with
 * prof_close_session. */
bool prof_starts_session(const struct profile *p, const struct profile_event *ev);

/* Applies ev (not a bot's) to p, with r for the page categories and
 * pricing pages. Returns enum profile_change bits. */
unsigned prof_apply(struct profile *p, const struct scorer_rules *r,
                    const struct profile_event *ev);

/* Closes the current session for the page statistics: fills *out (false
 * when there is nothing to give: no session, no page view, or given
 * already). */
bool prof_close_session(struct profile *p, struct profile_page_stats *out);

#endif
