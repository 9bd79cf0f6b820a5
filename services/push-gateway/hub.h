#ifndef PUSH_GATEWAY_HUB_H
#define PUSH_GATEWAY_HUB_H

/*
 * The WebSocket fan-out core: channels, per-client subscriptions with
 * filters, a bounded queue per client, and a ring of recent messages for
 * resume. Pure logic: no sockets, no Kafka, no clock (timeouts are relative).
 *
 * Threads. Publishers (the Kafka consumer thread and the metrics timer) call
 * hub_publish; connection threads add, subscribe, resume, take and remove
 * their own client. One mutex guards the hub (seq, ring, client list, every
 * queue); each client has its own condition variable on that mutex, so a
 * publish wakes only the writers it gave work to. Publish holds the mutex
 * for one pass over the clients (O(clients x subscriptions), no allocation:
 * the message is built once, before the pass, and each queue stores a
 * pointer to it). A message is refcounted: the ring and every queue holding
 * it own one reference, the writer that took it owns one until it releases
 * it, and the last release frees it.
 *
 * Messages, as clients see them (one text frame each):
 *   {"type":"message","channel":"events","seq":N,"data":<data_json>}
 *     seq: one increasing counter per hub, over all channels, from 1; a
 *     client sees gaps (other channels, filters), so gaps mean nothing.
 *   {"type":"lagged","channel":"events","missed":N}
 *     The client's queue was full and N messages of that channel meant for
 *     it were dropped (it alone; others got them). The notice stands where
 *     the first dropped message would have been: after the messages that
 *     were queued when it was dropped, before any queued later. So a client
 *     that re-reads that channel's state by REST on the notice never then
 *     applies updates older than what it read. One notice per channel that
 *     lost messages, in the order of enum hub_channel; messages dropped
 *     until the notices are taken count in them too.
 *   {"type":"resync","reason":"instance"|"ahead"|"too_old"|"late"|"too_many"}
 *     A resume could not be served (see hub_client_resume); it comes before
 *     anything else queued. The client re-reads state by REST.
 *
 * Memory is bounded: live messages <= ring_size + the queues' slots + one
 * per writer, and each queue holds at most queue_max_msgs messages and
 * queue_max_bytes bytes of their text.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum hub_channel {
    HUB_METRICS = 0,
    HUB_EVENTS,
    HUB_SCORES,
    HUB_JOURNEYS,
    HUB_TRIGGERS,
    HUB_CHANNELS /* the count */
};

/* The fields a filter may name, and a published message may carry. */
enum hub_field { HUB_EVENT_TYPE = 0, HUB_PAGE_TYPE, HUB_COUNTRY, HUB_FINGERPRINT, HUB_FIELDS };

#define HUB_VALUE_MAX 128 /* bytes of a filter value; longer attrs never match one */
#define HUB_SUBS_LIMIT 64 /* the most max_subscriptions may be */
#define HUB_ENVELOPE 80   /* bytes, at most, of a message's text around its data */

/* A message's filterable fields; any may be NULL (the message lacks it). */
struct hub_attrs {
    const char *v[HUB_FIELDS];
};

/* Exact match on every field whose set[] is true. A field the message lacks
 * matches nothing. No field set matches every message of the channel. */
struct hub_filter {
    bool set[HUB_FIELDS];
    char value[HUB_FIELDS][HUB_VALUE_MAX + 1];
};

struct hub_options {
    size_t max_subscriptions; /* per client, 1..HUB_SUBS_LIMIT: 16 */
    size_t queue_max_msgs;    /* per client, >= 1: 256 */
    size_t queue_max_bytes;   /* per client, of message text, >= max_message: 1 MiB */
    size_t ring_size;         /* messages kept for resume, 0 turns resume off: 1024 */
    size_t max_message;       /* bytes of a message's text, >= 256: 64 KiB */
};

/* Counters for the daemon's metrics. */
struct hub_stats {
    size_t clients;
    uint64_t published; /* messages accepted by hub_publish */
    uint64_t delivered; /* queue slots filled (a message to 3 clients counts 3) */
    uint64_t dropped;   /* messages dropped for a full queue, over all clients */
    uint64_t lagged;    /* lagged notices given */
    uint64_t resumed;   /* resumes served from the ring */
    uint64_t resyncs;   /* resumes refused */
    size_t live;        /* messages allocated and not yet freed */
};

/* What hub_client_next gives a writer: the text of one frame. */
struct hub_out {
    const char *text; /* borrowed until hub_out_release */
    size_t len;
    uint64_t seq;         /* of a message; 0 for a notice */
    struct hub_msg *held; /* internal: the reference released by hub_out_release */
};

struct hub;
struct hub_client;
struct hub_msg;

/* Error codes (negative), shared by the functions below. */
#define HUB_ENOMEM (-1)
#define HUB_EINVAL (-2)
#define HUB_ETOOMANY (-3) /* max_subscriptions reached */
#define HUB_ECLOSED (-4)  /* hub_client_wake was called */

/* The defaults above. */
void hub_options_default(struct hub_options *o);

/* "metrics", "events", "scores", "journeys", "triggers". */
const char *hub_channel_name(enum hub_channel ch);

/* The channel named s[0..n). Returns 0, or -1 when there is none. */
int hub_channel_parse(const char *s, size_t n, enum hub_channel *out);

/* "event_type", "page_type", "country", "fingerprint". */
const char *hub_field_name(enum hub_field f);

/* Returns a new hub with a random 64-bit instance id (caller frees with
 * hub_free), or NULL with the reason in err: options out of range, no
 * randomness, out of memory. opts NULL means the defaults. */
struct hub *hub_new(const struct hub_options *opts, char *err, size_t errlen);

/* Frees h. Every client should be removed first (their threads must have
 * stopped); any left are freed too. Accepts NULL. */
void hub_free(struct hub *h);

/* The instance id clients are told at authentication, and as 16 lowercase
 * hex digits in buf (at least 17 bytes). */
uint64_t hub_instance(const struct hub *h);
void hub_instance_hex(uint64_t instance, char buf[17]);

/* The seq of the last message published (0 before the first). */
uint64_t hub_seq(struct hub *h);

/* Publishes data_json[0..len) (one JSON value, not checked; copied) on ch with
 * attrs (NULL: none; copied) to every client whose subscriptions match.
 * Never blocks on a client: a full queue drops the message for that client.
 * Returns the message's seq (> 0), HUB_EINVAL for a bad channel, len 0
 * or len over max_message less HUB_ENVELOPE, HUB_ENOMEM. Thread-safe. */
int64_t hub_publish(struct hub *h, enum hub_channel ch, const char *data_json, size_t len,
                    const struct hub_attrs *attrs);

/* Adds a client without subscriptions. Returns it (freed by
 * hub_client_remove), or NULL when out of memory. Thread-safe. */
struct hub_client *hub_client_add(struct hub *h);

/* Unlinks c, drops what it had queued and frees it. No thread may be inside
 * another call on c (wake its writer first and wait for it). Accepts NULL. */
void hub_client_remove(struct hub_client *c);

/* Subscribes c to ch with filter f (NULL or no field set: every message of
 * ch), copied. The same (channel, filter) again changes nothing. Returns 0,
 * HUB_ETOOMANY when c has max_subscriptions, HUB_EINVAL for a bad channel.
 * A message matching several of c's subscriptions is queued once. */
int hub_client_subscribe(struct hub_client *c, enum hub_channel ch, const struct hub_filter *f);

/* Removes every subscription of c to ch. Returns how many there were. */
int hub_client_unsubscribe(struct hub_client *c, enum hub_channel ch);

/* Resumes after last_seq of hub instance: puts the ring's messages with seq
 * > last_seq that match c's subscriptions (so subscribe first) ahead of
 * what c has queued since it subscribed, so they come in seq order. Returns
 * how many (>= 0); or queues a resync notice and returns -1 with *reason (a
 * static string) one of
 *   "instance"  another hub (a restart, or another replica) gave last_seq
 *   "ahead"     last_seq is beyond this hub's seq
 *   "too_old"   some message after last_seq has left the ring
 *   "late"      c's writer already took a newer message, so the missed
 *               ones could only come out of order (resume right after
 *               subscribing: the window is one publish between frames)
 *   "too_many"  the missed messages do not fit c's queue
 * Thread-safe. */
int hub_client_resume(struct hub_client *c, uint64_t instance, uint64_t last_seq,
                      const char **reason);

/* Waits up to timeout_ms (0: no wait, < 0: forever) for c's next frame: a
 * resync notice, a lagged notice at its place, or a message. Returns 1 with
 * *out filled (release it with hub_out_release before the next call), 0 on
 * timeout, HUB_ECLOSED once hub_client_wake was called. One writer per
 * client. */
int hub_client_next(struct hub_client *c, int timeout_ms, struct hub_out *out);

/* Releases what hub_client_next gave. Accepts a zeroed out; clears it. */
void hub_out_release(struct hub_out *out);

/* Makes c's hub_client_next return HUB_ECLOSED, now and from then on (the
 * connection is closing). Thread-safe. */
void hub_client_wake(struct hub_client *c);

/* How many clients have a subscription to ch now (one pass over the
 * clients under the lock). */
size_t hub_subscribers(struct hub *h, enum hub_channel ch);

/* The lifetime counters, read under the hub's lock. */
void hub_stats(struct hub *h, struct hub_stats *out);

#endif
