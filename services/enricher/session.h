#ifndef ENRICHER_SESSION_H
#define ENRICHER_SESSION_H

/*
 * Sessionisation (issue 4, "Session"): the pure decision that assigns an
 * event to a visitor's session, and the compact serialisation of the
 * per-visitor state the enricher keeps in Redis. No I/O except loading the
 * time zone once, at configuration time.
 *
 * Rules of session_assign (prev is the visitor's stored state, or NULL):
 *
 *  1. Client id. When the event carries a client session id, it is used
 *     (client_assigned). If it equals prev's id the session continues
 *     (sequence + 1); otherwise it starts at sequence 1 with reason "first"
 *     (no prev) or "client" (prev had another id). Idle, campaign and
 *     midnight do not apply: the client owns its session. late is false.
 *  2. Otherwise a new session starts, with the caller's candidate id, when:
 *       "first"    there is no prev;
 *       "idle"     event_ms - prev->last_event_ms > idle_ms (strictly: a gap
 *                  of exactly idle_ms continues the session);
 *       "campaign" the event's campaign key is not empty and differs from the
 *                  session's (an event without a campaign keeps the session;
 *                  a session that started without one is broken by one);
 *       "midnight" the event's local day (site time zone) is later than the
 *                  local day of prev->last_event_ms.
 *     The checks run in that order; the first that holds is the reason.
 *  3. Out-of-order events (event_ms < prev->last_event_ms, e.g. a late
 *     beacon) never start a session, since an old session cannot be
 *     reopened: they continue the current one (sequence + 1, which counts
 *     events in arrival order) and last_event_ms never moves backwards. They
 *     are flagged late when they are older than started_ms - idle_ms or fall
 *     on an earlier local day than last_event_ms; a slightly out-of-order
 *     event inside the session's span is not late.
 *  4. Continuing: sequence + 1, last_event_ms = max(last_event_ms, event_ms),
 *     started_ms and start_day unchanged; a client session takes the event's
 *     campaign key when it is not empty.
 *
 * A configuration is read-only after session_config_init: decisions from
 * several threads at once are safe.
 */

#include <stdbool.h>
#include <stddef.h>

#include "analytics/tz.h"

/* Bytes of the id fields, NUL included: ids up to 128 bytes (the collector's
 * max_id_len for session_id; a UUID is 36). */
#define SESSION_ID_MAX 129
/* Bytes of the campaign key, NUL included. Longer keys are truncated to
 * SESSION_CAMPAIGN_MAX - 1 bytes, so they are compared on that prefix. */
#define SESSION_CAMPAIGN_MAX 512
/* Upper bound of session_state_encode's output, NUL included. */
#define SESSION_STATE_ENCODED_MAX (SESSION_ID_MAX + SESSION_CAMPAIGN_MAX + 128)
/* Default idle timeout: 30 minutes. */
#define SESSION_IDLE_MS_DEFAULT (30LL * 60 * 1000)
/* Where IANA zone files are read from when no directory is given. */
#define SESSION_ZONEINFO_DIR_DEFAULT TZ_ZONEINFO_DIR_DEFAULT

/* A visitor's session, as stored between events. */
struct session_state {
    char session_id[SESSION_ID_MAX];     /* never empty in a valid state */
    long long started_ms;                /* UTC ms of the session's first event */
    long long last_event_ms;             /* latest event time seen, >= started_ms */
    long long sequence;                  /* events assigned so far, >= 1 */
    long long start_day;                 /* local day number of started_ms */
    char campaign[SESSION_CAMPAIGN_MAX]; /* "source|medium|campaign" or "" */
};

struct tz;

struct session_config {
    long long idle_ms; /* > 0 */
    struct tz *tz;     /* owned (analytics/tz.h); NULL means UTC */
};

/* What session_assign decided for one event. */
struct session_decision {
    char session_id[SESSION_ID_MAX];
    long long sequence;       /* 1-based position in the session */
    bool new_session;         /* this event starts the session */
    bool client_assigned;     /* the id is the client's */
    bool late;                /* out of order beyond the session (rule 3) */
    const char *start_reason; /* "first", "idle", "campaign", "midnight",
                                 "client", or "" when continuing; static */
};

/* Initialises cfg with idle_ms (> 0) and the IANA zone tz_name (e.g.
 * "Europe/London"), read once from zoneinfo_dir/tz_name (TZif, versions 1 to
 * 4; the POSIX rule in the footer answers after the last transition).
 * zoneinfo_dir NULL means SESSION_ZONEINFO_DIR_DEFAULT; tz_name NULL, "" or
 * "UTC" means UTC without reading a file. Never touches TZ or the process's
 * environment. Returns 0, or -1 with the reason in err when idle_ms is not
 * positive, the name is not a zone name (absolute, "..", odd characters), the
 * file is missing or malformed, or on allocation failure (cfg is then
 * unchanged and needs no fini). */
int session_config_init(struct session_config *cfg, long long idle_ms, const char *tz_name,
                        const char *zoneinfo_dir, char *err, size_t errlen);

/* Frees what session_config_init allocated. Accepts a zeroed cfg. */
void session_config_fini(struct session_config *cfg);

/* UTC offset in seconds (east positive) of the site's zone at utc_ms. */
long session_utc_offset(const struct session_config *cfg, long long utc_ms);

/* Local day number (days since 1970-01-01 in the site's zone) of utc_ms:
 * floor((utc_ms / 1000 + offset) / 86400). */
long long session_local_day(const struct session_config *cfg, long long utc_ms);

/* Assigns the event at event_ms (UTC ms) to a session following the rules
 * above. prev: the stored state or NULL (borrowed). campaign_key: NULL or ""
 * for none. client_session_id: NULL or "" when the client sent none.
 * new_id_candidate: a fresh id (UUID) used only when a server session starts;
 * may be NULL when the client sent an id. Writes the state to store to next
 * (may be the same object as prev) and the result to out. Returns 0, or -1
 * (next and out untouched) when an argument is NULL, an id is empty when
 * needed or longer than SESSION_ID_MAX - 1, prev is not a valid state, or
 * cfg->idle_ms is not positive. */
int session_assign(const struct session_config *cfg, const struct session_state *prev,
                   long long event_ms, const char *campaign_key, const char *client_session_id,
                   const char *new_id_candidate, struct session_state *next,
                   struct session_decision *out);

/* Serialises st as versioned text, one Redis string value:
 * "S1 <started_ms> <last_event_ms> <sequence> <start_day> <id_len>:<id>
 * <campaign_len>:<campaign>" (lengths in bytes, so ids and keys may hold
 * spaces or '|'). Writes it NUL-terminated to buf. Returns its length without
 * the NUL, or -1 when st is not valid or len is too small
 * (SESSION_STATE_ENCODED_MAX always suffices). */
int session_state_encode(const struct session_state *st, char *buf, size_t len);

/* Parses the len bytes of buf (no NUL needed) written by
 * session_state_encode into st. Returns 0, or -1 (st unspecified) for
 * another version, truncated or trailing bytes, malformed numbers, lengths
 * out of range, NUL bytes, or a state that is not valid (empty id, sequence
 * < 1, last_event_ms < started_ms). */
int session_state_decode(const char *buf, size_t len, struct session_state *st);

#endif
