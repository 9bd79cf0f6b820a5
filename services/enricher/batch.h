#ifndef ENRICHER_BATCH_H
#define ENRICHER_BATCH_H

/*
 * One consumed batch of raw events on its way to enriched events: decoding,
 * the dedup and session bookkeeping around the Redis round trips (which the
 * daemon makes), enrichment, and the packed messages to produce. Pure apart
 * from the enrichment lookups: no I/O, so tests drive it without servers.
 *
 * The steps, in order, for one batch:
 *   batch_add ...           the consumed messages (borrowed until reset)
 *   batch_decode            raw protobuf -> events; bad ones become dead letters
 *   batch_dedup_cmds        SET NX of each event id with this attempt's token,
 *   batch_dedup_apply         then the replies; ids that existed are checked:
 *   batch_dedup_check_cmds  GET of those ids, whose value is handed to
 *   batch_dedup_checked       one per reply (our own token = new, else duplicate)
 *   batch_session_cmds      GET of the session state of each visitor,
 *   batch_session_loaded      one per reply
 *   batch_enrich            enrich, assign sessions, pack every output
 *   batch_session_write_cmds  SET PX of each visitor's new state, then
 *   batch_session_remember    those states into the session cache
 * then the daemon produces every event's output (batch_event.out).
 *
 * Session cache: while the daemon owns a partition, it alone writes its
 * visitors' states, so the states it wrote are what Redis holds and need not
 * be read back. batch_session_cmds takes them from the cache (struct batch
 * .sessions, borrowed, NULL for none) and reads only the others; the daemon
 * clears the cache whenever partitions are revoked.
 *
 * Dedup tokens: the value stored under an event id is "<partition>:<offset>"
 * of the raw message that claimed it; another message with the same id finds
 * a different token and is a duplicate. A message that finds its own token
 * is a retry (a lost Redis reply, a crash or a rebalance before its offset
 * was committed): it is a duplicate only when its partition's delivered
 * watermark (batch_delivered_key, raised by the daemon once a batch is
 * acknowledged) is past its offset, i.e. its enriched event was delivered.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "enrich.h"
#include "analytics/lru.h"
#include "session.h"

enum batch_event_state {
    BATCH_EV_PENDING,   /* decoded; dedup not decided yet */
    BATCH_EV_NEW,       /* first sighting: enriched and produced */
    BATCH_EV_DUPLICATE, /* seen within the dedup window: dropped */
    BATCH_EV_DEAD,      /* goes to the dead-letter topic */
};

struct batch_event {
    int32_t partition;
    int64_t offset;
    const void *key; /* the message's, borrowed */
    size_t key_len;
    const void *payload; /* the message's, borrowed */
    size_t len;
    Analytics__V1__RawEvent *raw; /* in the arena; NULL when undecodable */
    enum batch_event_state state;
    bool checking;         /* SET NX found the id: its value is being checked */
    bool own_token;        /* ... and it holds this message's token: a retry */
    const char *dead_code; /* static; for BATCH_EV_DEAD */
    char *dead_reason;     /* in the arena */
    char *dedup_key;       /* in the arena */
    char *token;           /* in the arena */
    long visitor;          /* index of its visitor, or -1 */
    void *out;             /* packed EnrichedEvent or DeadLetter, in the arena */
    size_t out_len;
};

struct batch_visitor {
    char *key; /* Redis key of the session state, in the arena */
    struct session_state st;
    bool have_state; /* st holds a state (loaded or assigned) */
    bool needed;     /* some new event of the batch belongs to it */
    bool dirty;      /* st changed: to be written */
    char *encoded;   /* session_state_encode of st once enriched, in the arena */
    size_t encoded_len;
};

/* The arguments of one pipelined Redis call: n commands (at most twice the
 * batch's capacity), keys[i] (and vals[i], lens[i] for writes) for the
 * batch's item idx[i]. Owned by the batch; valid until the next *_cmds
 * call. */
struct batch_cmds {
    const char **keys;
    const char **vals;
    size_t *lens;
    size_t *idx;
    int *results;
    size_t n;
};

struct batch_names {
    const char *key_prefix;         /* of Redis keys, e.g. "analytics." */
    const char *source_topic;       /* for dead letters */
    const char *service;            /* for dead letters */
    size_t deadletter_original_max; /* bytes of the original kept */
};

/* A partition's delivered watermark, read when a retry is checked. */
struct batch_watermark {
    int32_t partition;
    int64_t next_offset; /* messages before it were delivered */
    bool known;          /* a watermark was stored */
};

struct batch_stats {
    long long decoded, dead, duplicates, enriched, bots, sessions_started, late;
};

struct batch {
    struct arena arena;
    ProtobufCAllocator pb;
    struct batch_event *ev;
    size_t n, cap;
    int32_t *parts;           /* the distinct partitions of ev, nparts of them */
    size_t nparts, last_part; /* parts[last_part]: batch_add's last partition */
    struct batch_visitor *vis;
    size_t nvis;
    size_t *slots; /* visitor hash table: index + 1, 0 empty; 2 * cap slots */
    struct batch_cmds cmds;
    struct batch_watermark *wm; /* nwm entries, cap each */
    size_t nwm;
    char **wm_keys; /* keys for wm, in the arena */
    struct enrich_out *eo;
    struct batch_names names;
    struct batch_stats stats;
    struct lru *sessions; /* session cache (see above), borrowed; may be NULL */
};

/* Initialises b for up to cap events. names' strings are borrowed for b's
 * life. Returns 0, or -1 when memory runs out (b then needs batch_fini). */
int batch_init(struct batch *b, size_t cap, const struct batch_names *names);

/* Frees everything b holds. Accepts a zeroed b. */
void batch_fini(struct batch *b);

/* Empties b for the next batch (keeps its memory). */
void batch_reset(struct batch *b);

bool batch_full(const struct batch *b);

/* Appends one consumed message (key and payload borrowed until
 * batch_reset). Returns the event, or NULL when b is full. */
struct batch_event *batch_add(struct batch *b, int32_t partition, int64_t offset, const void *key,
                              size_t key_len, const void *payload, size_t len);

/* Decodes every event: undecodable payloads and events without an id, type
 * or fingerprint become dead letters; the rest get their dedup key, token and
 * visitor. Returns 0, or -1 when memory runs out. */
int batch_decode(struct batch *b);

/* SET NX arguments (keys, vals) for the pending events. */
const struct batch_cmds *batch_dedup_cmds(struct batch *b);

/* Takes the SET NX results in b's cmds: 1 = new, 0 = the id exists (then
 * checked). Returns 0, or -1 when a result was a Redis error. */
int batch_dedup_apply(struct batch *b);

/* GET arguments (keys) for the ids that existed, followed by the delivered
 * watermarks of their partitions; NULL when memory runs out. */
const struct batch_cmds *batch_dedup_check_cmds(struct batch *b);

/* Takes the reply to item i of batch_dedup_check_cmds (status as
 * redis_value_fn): for an id, a missing key (it expired meanwhile) makes the
 * event new, another message's token a duplicate, its own token a retry
 * decided by batch_dedup_resolve; for a watermark, its value. Returns 0, or
 * -1 for a Redis error reply (the event stays pending). */
int batch_dedup_checked(struct batch *b, size_t i, int status, const char *val, size_t len);

/* Decides the retries once every reply of batch_dedup_check_cmds is in: a
 * duplicate when the partition's watermark is past the offset, else new. */
void batch_dedup_resolve(struct batch *b);

/* Writes the Redis key of partition's delivered watermark to buf:
 * "<key_prefix>delivered:<source_topic>:<partition>". Returns buf. */
const char *batch_delivered_key(const struct batch_names *names, int32_t partition, char *buf,
                                size_t len);

/* GET arguments (keys) of the session state of every visitor with a new
 * event whose state is not in the session cache. */
const struct batch_cmds *batch_session_cmds(struct batch *b);

/* Takes the reply to item i of batch_session_cmds. A value that does not
 * decode is logged (enricher.session_state_invalid) and treated as none.
 * Returns 0, or -1 for a Redis error reply. */
int batch_session_loaded(struct batch *b, size_t i, int status, const char *val, size_t len);

/* Enriches every new event in order (sessions from the loaded states, as
 * session_assign decides), packs it, and packs a dead letter for every dead
 * one; then encodes the visitors' states. now_ms stamps the outputs.
 * Returns 0, or -1 when memory runs out. */
int batch_enrich(struct batch *b, const struct enrich_ctx *ctx, const struct session_config *sc,
                 long long now_ms);

/* Turns event i into a dead letter with code and reason after the broker
 * refused its enriched message (e.g. too large). Returns 0, or -1 when
 * memory runs out. */
int batch_reject(struct batch *b, size_t i, const char *code, const char *reason, long long now_ms);

/* SET PX arguments (keys, vals, lens) of every visitor state that changed. */
const struct batch_cmds *batch_session_write_cmds(struct batch *b);

/* Stores the states batch_session_write_cmds wrote in the session cache
 * (call once Redis accepted them). Out of memory only leaves some out. */
void batch_session_remember(struct batch *b);

#endif
