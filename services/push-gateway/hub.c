/*
 * The WebSocket fan-out core. Contracts, the message forms and the locking
 * in hub.h. Pure logic: no I/O but getrandom for the instance id.
 */
#include "hub.h"

#include "analytics/errbuf.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

/* One published message, shared by the ring and every queue holding it.
 * One allocation: the struct, the text, then the attrs' copies. */
struct hub_msg {
    atomic_size_t refs;
    atomic_size_t *live; /* the hub's count of live messages */
    uint64_t seq;
    enum hub_channel ch;
    const char *attr[HUB_FIELDS]; /* into this allocation, or NULL */
    size_t len;
    char text[];
};

struct hub_sub {
    enum hub_channel ch;
    struct hub_filter f; /* fields not set are zeroed, so equal filters compare equal */
};

struct hub_client {
    struct hub *hub;
    struct hub_client *prev, *next;
    pthread_cond_t cond; /* on hub->lock: work for the writer, or closed */
    struct hub_msg **q;  /* circular, opt.queue_max_msgs slots */
    size_t head, count, bytes;
    struct hub_sub *subs; /* opt.max_subscriptions */
    size_t nsubs;
    bool lag_pending;  /* messages were dropped; notices not all given */
    size_t lag_before; /* queued messages ahead of the notices */
    uint64_t missed[HUB_CHANNELS];
    const char *resync; /* a reason when a resync notice is due */
    uint64_t first_seq; /* of the first message queued for it, 0 none */
    bool taken;         /* its writer took a message */
    bool closed;
    char notice[96]; /* the text of the last notice given; the writer's */
};

struct hub {
    struct hub_options opt;
    pthread_mutex_t lock;
    uint64_t instance;
    uint64_t seq;
    struct hub_msg **ring; /* circular, opt.ring_size slots, oldest at ring_head */
    size_t ring_head, ring_count;
    struct hub_client *clients;
    struct hub_stats st; /* but clients and live, counted apart */
    size_t nclients;
    atomic_size_t live;
};

static const char *const hub_channel_names[HUB_CHANNELS] = {"metrics", "events", "scores",
                                                            "journeys", "triggers"};
static const char *const hub_field_names[HUB_FIELDS] = {"event_type", "page_type", "country",
                                                        "fingerprint"};

void hub_options_default(struct hub_options *o)
{
    o->max_subscriptions = 16;
    o->queue_max_msgs = 256;
    o->queue_max_bytes = (size_t)1024 * 1024;
    o->ring_size = 1024;
    o->max_message = (size_t)64 * 1024;
}

const char *hub_channel_name(enum hub_channel ch)
{
    return (unsigned)ch < HUB_CHANNELS ? hub_channel_names[ch] : "unknown";
}

int hub_channel_parse(const char *s, size_t n, enum hub_channel *out)
{
    for (int i = 0; i < HUB_CHANNELS; i++) {
        if (strlen(hub_channel_names[i]) == n && memcmp(s, hub_channel_names[i], n) == 0) {
            *out = (enum hub_channel)i;
            return 0;
        }
    }
    return -1;
}

const char *hub_field_name(enum hub_field f)
{
    return (unsigned)f < HUB_FIELDS ? hub_field_names[f] : "unknown";
}

void hub_instance_hex(uint64_t instance, char buf[17])
{
    snprintf(buf, 17, "%016" PRIx64, instance);
}

/* ---- messages ---- */

static void hub_msg_ref(struct hub_msg *m)
{
    atomic_fetch_add_explicit(&m->refs, 1, memory_order_relaxed);
}

/* Drops one reference; the last frees m. Lock-free, so writers release
 * outside the hub's lock. */
static void hub_msg_unref(struct hub_msg *m)
{
    if (m != NULL && atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel) == 1) {
        atomic_fetch_sub_explicit(m->live, 1, memory_order_relaxed);
        free(m);
    }
}

/* Allocates a message for data and attrs, its text not yet written (the
 * seq is known only under the lock). Returns it with one reference, or
 * NULL. */
static struct hub_msg *hub_msg_alloc(struct hub *h, enum hub_channel ch, size_t len,
                                     const struct hub_attrs *attrs)
{
    size_t alen[HUB_FIELDS] = {0}, size = sizeof(struct hub_msg) + HUB_ENVELOPE + len;
    struct hub_msg *m;
    char *p;

    for (int f = 0; attrs != NULL && f < HUB_FIELDS; f++) {
        if (attrs->v[f] != NULL) {
            alen[f] = strlen(attrs->v[f]) + 1;
            size += alen[f];
        }
    }
    m = malloc(size);
    if (m == NULL) {
        return NULL;
    }
    atomic_init(&m->refs, 1);
    m->live = &h->live;
    m->ch = ch;
    m->seq = 0;
    m->len = 0;
    p = m->text + HUB_ENVELOPE + len;
    for (int f = 0; f < HUB_FIELDS; f++) {
        m->attr[f] = NULL;
        if (alen[f] > 0) {
            memcpy(p, attrs->v[f], alen[f]);
            m->attr[f] = p;
            p += alen[f];
        }
    }
    atomic_fetch_add_explicit(&h->live, 1, memory_order_relaxed);
    return m;
}

/* Writes m's text for seq around data[0..len). */
static void hub_msg_write(struct hub_msg *m, uint64_t seq, const char *data, size_t len)
{
    int n = snprintf(m->text, HUB_ENVELOPE,
                     "{\"type\":\"message\",\"channel\":\"%s\",\"seq\":%" PRIu64 ",\"data\":",
                     hub_channel_names[m->ch], seq);

    memcpy(m->text + n, data, len);
    m->text[(size_t)n + len] = '}';
    m->text[(size_t)n + len + 1] = '\0';
    m->len = (size_t)n + len + 1;
    m->seq = seq;
}

/* ---- filters ---- */

static bool hub_filter_match(const struct hub_filter *f, const struct hub_msg *m)
{
    for (int i = 0; i < HUB_FIELDS; i++) {
        if (f->set[i] && (m->attr[i] == NULL || strcmp(f->value[i], m->attr[i]) != 0)) {
            return false;
        }
    }
    return true;
}

/* Whether any of c's subscriptions takes m. */
static bool hub_client_wants(const struct hub_client *c, const struct hub_msg *m)
{
    for (size_t i = 0; i < c->nsubs; i++) {
        if (c->subs[i].ch == m->ch && hub_filter_match(&c->subs[i].f, m)) {
            return true;
        }
    }
    return false;
}

/* f copied with the fields not set zeroed (values cut at HUB_VALUE_MAX). */
static void hub_filter_normalise(const struct hub_filter *f, struct hub_filter *out)
{
    memset(out, 0, sizeof(*out));
    for (int i = 0; f != NULL && i < HUB_FIELDS; i++) {
        if (f->set[i]) {
            out->set[i] = true;
            memcpy(out->value[i], f->value[i], strnlen(f->value[i], HUB_VALUE_MAX));
        }
    }
}

/* ---- the hub ---- */

static int hub_options_check(const struct hub_options *o, char *err, size_t errlen)
{
    if (o->max_subscriptions < 1 || o->max_subscriptions > HUB_SUBS_LIMIT) {
        errbuf_printf(err, errlen, "max_subscriptions must be 1..%d", HUB_SUBS_LIMIT);
        return -1;
    }
    if (o->queue_max_msgs < 1) {
        errbuf_printf(err, errlen, "queue_max_msgs must be at least 1");
        return -1;
    }
    if (o->max_message < 256 || o->max_message > SIZE_MAX / 4) {
        errbuf_printf(err, errlen, "max_message must be at least 256 bytes");
        return -1;
    }
    if (o->queue_max_bytes < o->max_message) {
        errbuf_printf(err, errlen, "queue_max_bytes must be at least max_message");
        return -1;
    }
    return 0;
}

struct hub *hub_new(const struct hub_options *opts, char *err, size_t errlen)
{
    struct hub_options def;
    struct hub *h;

    if (opts == NULL) {
        hub_options_default(&def);
        opts = &def;
    }
    if (hub_options_check(opts, err, errlen) != 0) {
        return NULL;
    }
    h = calloc(1, sizeof(*h));
    if (h == NULL) {
        goto out_nomem;
    }
    h->opt = *opts;
    /* random, so a client's seq from another replica or a restart is never
     * taken for one of ours */
    if (getrandom(&h->instance, sizeof(h->instance), 0) != (ssize_t)sizeof(h->instance)) {
        errbuf_printf(err, errlen, "getrandom: %s", strerror(errno));
        free(h);
        return NULL;
    }
    if (opts->ring_size > 0) {
        h->ring = calloc(opts->ring_size, sizeof(struct hub_msg *));
        if (h->ring == NULL) {
            free(h);
            goto out_nomem;
        }
    }
    atomic_init(&h->live, 0);
    pthread_mutex_init(&h->lock, NULL);
    return h;

out_nomem:
    errbuf_printf(err, errlen, "out of memory");
    return NULL;
}

/* Drops c's queue. Under the lock (or alone). */
static void hub_client_drain(struct hub_client *c)
{
    size_t cap = c->hub->opt.queue_max_msgs;

    for (; c->count > 0; c->count--) {
        hub_msg_unref(c->q[c->head]);
        c->q[c->head] = NULL;
        c->head = (c->head + 1) % cap;
    }
    c->bytes = 0;
}

static void hub_client_destroy(struct hub_client *c)
{
    hub_client_drain(c);
    pthread_cond_destroy(&c->cond);
    free(c->subs);
    free(c->q);
    free(c);
}

void hub_free(struct hub *h)
{
    if (h == NULL) {
        return;
    }
    while (h->clients != NULL) {
        struct hub_client *c = h->clients;

        h->clients = c->next;
        hub_client_destroy(c);
    }
    for (size_t i = 0; i < h->ring_count; i++) {
        hub_msg_unref(h->ring[(h->ring_head + i) % h->opt.ring_size]);
    }
    free(h->ring);
    pthread_mutex_destroy(&h->lock);
    free(h);
}

uint64_t hub_instance(const struct hub *h)
{
    return h->instance;
}

uint64_t hub_seq(struct hub *h)
{
    uint64_t seq;

    pthread_mutex_lock(&h->lock);
    seq = h->seq;
    pthread_mutex_unlock(&h->lock);
    return seq;
}

/* Keeps m in the ring (a reference), the oldest leaving when it is full. */
static void hub_ring_push(struct hub *h, struct hub_msg *m)
{
    size_t size = h->opt.ring_size;

    if (size == 0) {
        return;
    }
    hub_msg_ref(m);
    if (h->ring_count == size) {
        hub_msg_unref(h->ring[h->ring_head]);
        h->ring[h->ring_head] = m;
        h->ring_head = (h->ring_head + 1) % size;
    } else {
        h->ring[(h->ring_head + h->ring_count) % size] = m;
        h->ring_count++;
    }
}

/* Queues m for c, or drops it and counts that when c's queue is full. */
static void hub_client_offer(struct hub_client *c, struct hub_msg *m)
{
    struct hub *h = c->hub;
    size_t cap = h->opt.queue_max_msgs;

    if (c->count == cap || c->bytes + m->len > h->opt.queue_max_bytes) {
        if (!c->lag_pending) {
            c->lag_pending = true;
            c->lag_before = c->count; /* the notices go where this one would have */
        }
        c->missed[m->ch]++;
        h->st.dropped++;
        return;
    }
    hub_msg_ref(m);
    c->q[(c->head + c->count) % cap] = m;
    c->count++;
    c->bytes += m->len;
    if (c->first_seq == 0) {
        c->first_seq = m->seq;
    }
    h->st.delivered++;
    if (c->count == 1) {
        pthread_cond_signal(&c->cond); /* a writer waits only on an empty queue */
    }
}

int64_t hub_publish(struct hub *h, enum hub_channel ch, const char *data_json, size_t len,
                    const struct hub_attrs *attrs)
{
    struct hub_msg *m;
    uint64_t seq;

    if ((unsigned)ch >= HUB_CHANNELS || data_json == NULL || len == 0 ||
        len > h->opt.max_message - HUB_ENVELOPE) {
        return HUB_EINVAL;
    }
    /* allocated and the attrs copied before the lock; only the text, which
     * needs the seq, is written under it */
    m = hub_msg_alloc(h, ch, len, attrs);
    if (m == NULL) {
        return HUB_ENOMEM;
    }
    pthread_mutex_lock(&h->lock);
    seq = ++h->seq;
    hub_msg_write(m, seq, data_json, len);
    hub_ring_push(h, m);
    for (struct hub_client *c = h->clients; c != NULL; c = c->next) {
        if (hub_client_wants(c, m)) {
            hub_client_offer(c, m);
        }
    }
    h->st.published++;
    pthread_mutex_unlock(&h->lock);
    hub_msg_unref(m);
    return (int64_t)seq;
}

/* ---- clients ---- */

struct hub_client *hub_client_add(struct hub *h)
{
    struct hub_client *c = calloc(1, sizeof(*c));
    pthread_condattr_t attr;

    if (c == NULL) {
        return NULL;
    }
    c->hub = h;
    c->q = calloc(h->opt.queue_max_msgs, sizeof(struct hub_msg *));
    c->subs = calloc(h->opt.max_subscriptions, sizeof(*c->subs));
    if (c->q == NULL || c->subs == NULL) {
        goto out_free;
    }
    /* timeouts on the monotonic clock, so a wall-clock step neither cuts a
     * wait short nor stretches it */
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    if (pthread_cond_init(&c->cond, &attr) != 0) {
        pthread_condattr_destroy(&attr);
        goto out_free;
    }
    pthread_condattr_destroy(&attr);
    pthread_mutex_lock(&h->lock);
    c->next = h->clients;
    if (h->clients != NULL) {
        h->clients->prev = c;
    }
    h->clients = c;
    h->nclients++;
    pthread_mutex_unlock(&h->lock);
    return c;

out_free:
    free(c->subs);
    free(c->q);
    free(c);
    return NULL;
}

void hub_client_remove(struct hub_client *c)
{
    struct hub *h;

    if (c == NULL) {
        return;
    }
    h = c->hub;
    pthread_mutex_lock(&h->lock);
    if (c->prev != NULL) {
        c->prev->next = c->next;
    } else {
        h->clients = c->next;
    }
    if (c->next != NULL) {
        c->next->prev = c->prev;
    }
    h->nclients--;
    hub_client_drain(c);
    pthread_mutex_unlock(&h->lock);
    hub_client_destroy(c);
}

int hub_client_subscribe(struct hub_client *c, enum hub_channel ch, const struct hub_filter *f)
{
    struct hub *h = c->hub;
    struct hub_sub s;
    int rc = 0;

    if ((unsigned)ch >= HUB_CHANNELS) {
        return HUB_EINVAL;
    }
    s.ch = ch;
    hub_filter_normalise(f, &s.f);
    pthread_mutex_lock(&h->lock);
    for (size_t i = 0; i < c->nsubs; i++) {
        if (c->subs[i].ch == ch && memcmp(&c->subs[i].f, &s.f, sizeof(s.f)) == 0) {
            goto out;
        }
    }
    if (c->nsubs == h->opt.max_subscriptions) {
        rc = HUB_ETOOMANY;
        goto out;
    }
    c->subs[c->nsubs++] = s;
out:
    pthread_mutex_unlock(&h->lock);
    return rc;
}

int hub_client_unsubscribe(struct hub_client *c, enum hub_channel ch)
{
    struct hub *h = c->hub;
    size_t kept = 0, was;

    pthread_mutex_lock(&h->lock);
    was = c->nsubs;
    for (size_t i = 0; i < c->nsubs; i++) {
        if (c->subs[i].ch != ch) {
            c->subs[kept++] = c->subs[i];
        }
    }
    c->nsubs = kept;
    pthread_mutex_unlock(&h->lock);
    return (int)(was - kept);
}

void hub_client_wake(struct hub_client *c)
{
    pthread_mutex_lock(&c->hub->lock);
    c->closed = true;
    pthread_cond_signal(&c->cond);
    pthread_mutex_unlock(&c->hub->lock);
}

/* ---- resume ---- */

/* Puts the ring's messages c wants with last < seq < bound ahead of its
 * queue, newest first so they end in order. Under the lock; the caller
 * checked they fit. */
static void hub_replay(struct hub_client *c, uint64_t last, uint64_t bound)
{
    struct hub *h = c->hub;
    size_t cap = h->opt.queue_max_msgs;

    for (size_t i = h->ring_count; i-- > 0;) {
        struct hub_msg *m = h->ring[(h->ring_head + i) % h->opt.ring_size];

        if (m->seq <= last) {
            break;
        }
        if (m->seq < bound && hub_client_wants(c, m)) {
            hub_msg_ref(m);
            c->head = (c->head + cap - 1) % cap;
            c->q[c->head] = m;
            c->count++;
            c->bytes += m->len;
            if (c->lag_pending) {
                c->lag_before++; /* the notices stay where the drop was */
            }
            c->first_seq = m->seq; /* so a second resume replays none again */
        }
    }
}

/* What c would be replayed after last, up to bound: *n messages, *bytes.
 * Under the lock. */
static void hub_replay_size(const struct hub_client *c, uint64_t last, uint64_t bound, size_t *n,
                            size_t *bytes)
{
    const struct hub *h = c->hub;

    *n = 0;
    *bytes = 0;
    for (size_t i = h->ring_count; i-- > 0;) {
        const struct hub_msg *m = h->ring[(h->ring_head + i) % h->opt.ring_size];

        if (m->seq <= last) {
            break;
        }
        if (m->seq < bound && hub_client_wants(c, m)) {
            (*n)++;
            *bytes += m->len;
        }
    }
}

/* The reason c cannot resume after last, or NULL with what to replay.
 * Under the lock. */
static const char *hub_resume_check(const struct hub_client *c, uint64_t instance, uint64_t last,
                                    uint64_t *bound, size_t *n)
{
    const struct hub *h = c->hub;
    uint64_t oldest;
    size_t bytes;

    *n = 0;
    if (instance != h->instance) {
        return "instance";
    }
    if (last > h->seq) {
        return "ahead";
    }
    /* what was queued for c since it subscribed is not replayed again */
    *bound = c->first_seq != 0 ? c->first_seq : h->seq + 1;
    if (last + 1 >= *bound) {
        return NULL;
    }
    oldest = h->ring_count > 0 ? h->ring[h->ring_head]->seq : h->seq + 1;
    if (last + 1 < oldest) {
        return "too_old";
    }
    hub_replay_size(c, last, *bound, n, &bytes);
    if (*n == 0) {
        return NULL;
    }
    if (c->taken) {
        return "late";
    }
    if (c->count + *n > h->opt.queue_max_msgs || c->bytes + bytes > h->opt.queue_max_bytes) {
        return "too_many";
    }
    return NULL;
}

int hub_client_resume(struct hub_client *c, uint64_t instance, uint64_t last_seq,
                      const char **reason)
{
    struct hub *h = c->hub;
    uint64_t bound = 0;
    size_t n = 0;
    const char *why;

    pthread_mutex_lock(&h->lock);
    why = hub_resume_check(c, instance, last_seq, &bound, &n);
    if (why != NULL) {
        c->resync = why;
        h->st.resyncs++;
        pthread_cond_signal(&c->cond);
    } else {
        if (n > 0) {
            hub_replay(c, last_seq, bound);
            pthread_cond_signal(&c->cond);
        }
        h->st.resumed++;
    }
    pthread_mutex_unlock(&h->lock);
    if (reason != NULL) {
        *reason = why;
    }
    return why != NULL ? -1 : (int)n;
}

/* ---- the writer's side ---- */

/* Fills out with c's notice text. */
static void hub_out_notice(struct hub_client *c, int n, struct hub_out *out)
{
    out->text = c->notice;
    out->len = n > 0 && (size_t)n < sizeof(c->notice) ? (size_t)n : 0;
    out->seq = 0;
    out->held = NULL;
}

/* The next lagged notice of c, its channel's count cleared. Under the lock,
 * with c->lag_pending and nothing queued ahead of the notices. */
static void hub_next_lagged(struct hub_client *c, struct hub_out *out)
{
    int ch = 0, n;

    while (ch < HUB_CHANNELS && c->missed[ch] == 0) {
        ch++;
    }
    if (ch == HUB_CHANNELS) { /* not reached: a drop counts when it sets lag_pending */
        c->lag_pending = false;
        return;
    }
    n = snprintf(c->notice, sizeof(c->notice),
                 "{\"type\":\"lagged\",\"channel\":\"%s\",\"missed\":%" PRIu64 "}",
                 hub_channel_names[ch], c->missed[ch]);
    c->missed[ch] = 0;
    c->lag_pending = false;
    for (int i = ch + 1; i < HUB_CHANNELS; i++) {
        c->lag_pending = c->lag_pending || c->missed[i] > 0;
    }
    c->hub->st.lagged++;
    hub_out_notice(c, n, out);
}

/* Takes c's next frame into out, if any. Under the lock. Returns 1 or 0. */
static int hub_next_locked(struct hub_client *c, struct hub_out *out)
{
    size_t cap = c->hub->opt.queue_max_msgs;
    struct hub_msg *m;

    if (c->resync != NULL) {
        int n = snprintf(c->notice, sizeof(c->notice), "{\"type\":\"resync\",\"reason\":\"%s\"}",
                         c->resync);

        c->resync = NULL;
        hub_out_notice(c, n, out);
        return 1;
    }
    if (c->lag_pending && c->lag_before == 0) {
        hub_next_lagged(c, out);
        if (out->text != NULL) {
            return 1;
        }
    }
    if (c->count == 0) {
        return 0;
    }
    m = c->q[c->head];
    c->q[c->head] = NULL;
    c->head = (c->head + 1) % cap;
    c->count--;
    c->bytes -= m->len;
    if (c->lag_pending) {
        c->lag_before--;
    }
    c->taken = true;
    out->text = m->text;
    out->len = m->len;
    out->seq = m->seq;
    out->held = m; /* the queue's reference passes to the writer */
    return 1;
}

/* The monotonic time timeout_ms from now. */
static struct timespec hub_deadline(int timeout_ms)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

int hub_client_next(struct hub_client *c, int timeout_ms, struct hub_out *out)
{
    struct hub *h = c->hub;
    struct timespec deadline;
    bool timed_out = false;
    int rc;

    memset(out, 0, sizeof(*out));
    if (timeout_ms > 0) {
        deadline = hub_deadline(timeout_ms);
    }
    pthread_mutex_lock(&h->lock);
    for (;;) {
        if (c->closed) {
            rc = HUB_ECLOSED;
            break;
        }
        rc = hub_next_locked(c, out);
        if (rc != 0 || timeout_ms == 0 || timed_out) {
            break;
        }
        if (timeout_ms < 0) {
            pthread_cond_wait(&c->cond, &h->lock);
        } else if (pthread_cond_timedwait(&c->cond, &h->lock, &deadline) == ETIMEDOUT) {
            timed_out = true; /* one more look, then 0 */
        }
    }
    pthread_mutex_unlock(&h->lock);
    return rc;
}

void hub_out_release(struct hub_out *out)
{
    hub_msg_unref(out->held);
    memset(out, 0, sizeof(*out));
}

size_t hub_subscribers(struct hub *h, enum hub_channel ch)
{
    size_t n = 0;

    pthread_mutex_lock(&h->lock);
    for (const struct hub_client *c = h->clients; c != NULL; c = c->next) {
        for (size_t i = 0; i < c->nsubs; i++) {
            if (c->subs[i].ch == ch) {
                n++;
                break;
            }
        }
    }
    pthread_mutex_unlock(&h->lock);
    return n;
}

void hub_stats(struct hub *h, struct hub_stats *out)
{
    pthread_mutex_lock(&h->lock);
    *out = h->st;
    out->clients = h->nclients;
    pthread_mutex_unlock(&h->lock);
    out->live = atomic_load_explicit(&h->live, memory_order_relaxed);
}
