/*
 * Unit tests for the push-gateway's fan-out core (services/push-gateway/
 * hub.c): the message text; fan-out to 300 clients with filters, one
 * message shared by all; a filter on a field the message lacks; the
 * subscription rules and their limit; a slow client lagging while another
 * gets everything, memory bounded, the lagged notices where the drop was
 * and per channel, the byte cap; resume within the ring, too old, from
 * another instance, ahead, late and too many; wake and timeouts; and 1,000
 * clients taken from by threads while two threads publish and a third
 * adds and removes clients (run under the ASan build too).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "hub.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static struct hub *mkhub(size_t qmsgs, size_t qbytes, size_t ring)
{
    struct hub_options o;
    char err[128];
    struct hub *h;

    hub_options_default(&o);
    o.queue_max_msgs = qmsgs;
    if (qbytes != 0) {
        o.queue_max_bytes = qbytes;
        o.max_message = qbytes < o.max_message ? qbytes : o.max_message;
    }
    o.ring_size = ring;
    h = hub_new(&o, err, sizeof(err));
    assert_non_null(h);
    return h;
}

/* Publishes {"n":seq-to-be} on ch with country and event_type. */
static int64_t pub(struct hub *h, enum hub_channel ch, const char *country, const char *type)
{
    struct hub_attrs a = {{NULL}};
    char data[64];
    int n = snprintf(data, sizeof(data), "{\"n\":%" PRIu64 "}", hub_seq(h) + 1);

    a.v[HUB_COUNTRY] = country;
    a.v[HUB_EVENT_TYPE] = type;
    return hub_publish(h, ch, data, (size_t)n, &a);
}

/* Takes c's next frame without waiting into buf. Returns 1, or 0. */
static int take(struct hub_client *c, char *buf, size_t cap, uint64_t *seq)
{
    struct hub_out out;
    int rc = hub_client_next(c, 0, &out);

    if (rc == 1) {
        assert_true(out.len < cap);
        memcpy(buf, out.text, out.len);
        buf[out.len] = '\0';
        assert_int_equal(strlen(buf), out.len);
        if (seq != NULL) {
            *seq = out.seq;
        }
        hub_out_release(&out);
    }
    return rc;
}

static struct hub_filter filter1(enum hub_field f, const char *v)
{
    struct hub_filter flt;

    memset(&flt, 0, sizeof(flt));
    flt.set[f] = true;
    snprintf(flt.value[f], sizeof(flt.value[f]), "%s", v);
    return flt;
}

static void test_names(void **state)
{
    enum hub_channel ch;
    (void)state;

    for (int i = 0; i < HUB_CHANNELS; i++) {
        const char *n = hub_channel_name((enum hub_channel)i);

        assert_int_equal(hub_channel_parse(n, strlen(n), &ch), 0);
        assert_int_equal(ch, i);
    }
    assert_int_equal(hub_channel_parse("event", 5, &ch), -1);
    assert_int_equal(hub_channel_parse("eventsx", 7, &ch), -1);
    assert_int_equal(hub_channel_parse("events", 5, &ch), -1);
    assert_string_equal(hub_field_name(HUB_FINGERPRINT), "fingerprint");
}

static void test_options_refused(void **state)
{
    struct hub_options o;
    char err[128];
    (void)state;

    hub_options_default(&o);
    o.max_subscriptions = 0;
    assert_null(hub_new(&o, err, sizeof(err)));
    assert_non_null(strstr(err, "max_subscriptions"));
    hub_options_default(&o);
    o.queue_max_msgs = 0;
    assert_null(hub_new(&o, err, sizeof(err)));
    hub_options_default(&o);
    o.queue_max_bytes = o.max_message - 1;
    assert_null(hub_new(&o, err, sizeof(err)));
    assert_non_null(strstr(err, "queue_max_bytes"));
}

static void test_message_text(void **state)
{
    struct hub *h = mkhub(16, 0, 16), *other = mkhub(16, 0, 16);
    struct hub_client *c = hub_client_add(h);
    char buf[256], big[300];
    uint64_t seq = 0;
    (void)state;

    assert_int_not_equal(hub_instance(h), hub_instance(other)); /* random: 2^-64 to fail */
    hub_instance_hex(0xabcdefULL, buf);
    assert_string_equal(buf, "0000000000abcdef");
    assert_int_equal(hub_seq(h), 0);
    assert_int_equal(hub_client_subscribe(c, HUB_EVENTS, NULL), 0);
    assert_int_equal(hub_publish(h, HUB_METRICS, "[1]", 3, NULL), 1); /* not subscribed */
    assert_int_equal(hub_publish(h, HUB_EVENTS, "{\"a\":\"x\"}", 9, NULL), 2);
    assert_int_equal(take(c, buf, sizeof(buf), &seq), 1);
    assert_string_equal(buf,
                        "{\"type\":\"message\",\"channel\":\"events\",\"seq\":2,\"data\":{\"a\":"
                        "\"x\"}}");
    assert_int_equal(seq, 2);
    assert_int_equal(take(c, buf, sizeof(buf), NULL), 0);
    assert_int_equal(hub_seq(h), 2);

    /* refused: bad channel, nothing, more than max_message allows */
    assert_int_equal(hub_publish(h, HUB_CHANNELS, "1", 1, NULL), HUB_EINVAL);
    assert_int_equal(hub_publish(h, HUB_EVENTS, "", 0, NULL), HUB_EINVAL);
    memset(big, '1', sizeof(big));
    assert_int_equal(hub_publish(h, HUB_EVENTS, big, 64 * 1024 - HUB_ENVELOPE + 1, NULL),
                     HUB_EINVAL);
    assert_int_equal(hub_seq(h), 2);
    hub_client_remove(c);
    hub_free(h);
    hub_free(other);
}

/* 300 clients: a third take every event, a third country FR, a third
 * country DE clicks; 90 events over FR, DE, US and none, click and view.
 * Each gets exactly its own, in order; all share one copy of each. */
static void test_fanout_filters(void **state)
{
    enum { NC = 300, NE = 90 };
    static const char *countries[] = {"FR", "DE", "US", NULL};
    struct hub *h = mkhub(NE + 1, 0, 16);
    struct hub_client *c[NC];
    struct hub_filter fr = filter1(HUB_COUNTRY, "FR"), de_click = filter1(HUB_COUNTRY, "DE");
    const char *country[NE + 1], *type[NE + 1];
    struct hub_stats st;
    uint64_t want_delivered = 0;
    (void)state;

    de_click.set[HUB_EVENT_TYPE] = true;
    strcpy(de_click.value[HUB_EVENT_TYPE], "click");
    for (int i = 0; i < NC; i++) {
        c[i] = hub_client_add(h);
        assert_non_null(c[i]);
        assert_int_equal(hub_client_subscribe(c[i], HUB_EVENTS,
                                              i % 3 == 0   ? NULL
                                              : i % 3 == 1 ? &fr
                                                           : &de_click),
                         0);
    }
    for (int e = 1; e <= NE; e++) {
        country[e] = countries[e % 4];
        type[e] = e % 2 == 0 ? "click" : "view";
        assert_int_equal(pub(h, HUB_EVENTS, country[e], type[e]), e);
    }
    for (int i = 0; i < NC; i++) {
        for (int e = 1; e <= NE; e++) {
            bool want = i % 3 == 0 ||
                        (i % 3 == 1 && country[e] != NULL && strcmp(country[e], "FR") == 0) ||
                        (i % 3 == 2 && country[e] != NULL && strcmp(country[e], "DE") == 0 &&
                         strcmp(type[e], "click") == 0);
            char buf[256], exp[256];
            uint64_t seq = 0;

            if (!want) {
                continue;
            }
            want_delivered++;
            assert_int_equal(take(c[i], buf, sizeof(buf), &seq), 1);
            assert_int_equal(seq, e);
            snprintf(exp, sizeof(exp),
                     "{\"type\":\"message\",\"channel\":\"events\",\"seq\":%d,\"data\":{\"n\":%d}}",
                     e, e);
            assert_string_equal(buf, exp);
        }
        assert_int_equal(take(c[i], (char[8]){0}, 8, NULL), 0);
    }
    hub_stats(h, &st);
    assert_int_equal(st.clients, NC);
    assert_int_equal(st.published, NE);
    assert_int_equal(st.delivered, want_delivered);
    assert_int_equal(st.dropped, 0);

    /* shared, not copied: two clients hold the same bytes */
    struct hub_out a, b;
    assert_int_equal(pub(h, HUB_EVENTS, "FR", "view"), NE + 1);
    assert_int_equal(hub_client_next(c[0], 0, &a), 1);
    assert_int_equal(hub_client_next(c[1], 0, &b), 1);
    assert_ptr_equal(a.text, b.text);
    hub_stats(h, &st);
    assert_int_equal(st.live, 16); /* the ring's; the two writers hold ring members */
    hub_out_release(&a);
    hub_out_release(&b);
    assert_null(a.text);
    for (int i = 0; i < NC; i++) {
        hub_client_remove(c[i]);
    }
    hub_stats(h, &st);
    assert_int_equal(st.clients, 0);
    assert_int_equal(st.live, 16);
    hub_free(h);
}

/* A filter on a field the channel's messages lack matches nothing. */
static void test_filter_missing_field(void **state)
{
    struct hub *h = mkhub(16, 0, 16);
    struct hub_client *c = hub_client_add(h);
    struct hub_filter fp = filter1(HUB_FINGERPRINT, "fp-1"), pt = filter1(HUB_PAGE_TYPE, "home");
    struct hub_attrs a = {{NULL}};
    char buf[256];
    uint64_t seq = 0;
    (void)state;

    assert_int_equal(hub_client_subscribe(c, HUB_SCORES, &fp), 0);
    assert_int_equal(hub_client_subscribe(c, HUB_EVENTS, &pt), 0);
    assert_int_equal(hub_publish(h, HUB_SCORES, "1", 1, NULL), 1);
    a.v[HUB_EVENT_TYPE] = "page_view"; /* no page_type */
    assert_int_equal(hub_publish(h, HUB_EVENTS, "2", 1, &a), 2);
    a.v[HUB_FINGERPRINT] = "fp-10"; /* a longer value is no match */
    assert_int_equal(hub_publish(h, HUB_SCORES, "3", 1, &a), 3);
    a.v[HUB_FINGERPRINT] = "fp-1";
    assert_int_equal(hub_publish(h, HUB_SCORES, "4", 1, &a), 4);
    a.v[HUB_PAGE_TYPE] = "home";
    assert_int_equal(hub_publish(h, HUB_EVENTS, "5", 1, &a), 5);
    assert_int_equal(take(c, buf, sizeof(buf), &seq), 1);
    assert_int_equal(seq, 4);
    assert_int_equal(take(c, buf, sizeof(buf), &seq), 1);
    assert_int_equal(seq, 5);
    assert_int_equal(take(c, buf, sizeof(buf), &seq), 0);
    hub_client_remove(c);
    hub_free(h);
}

static void test_subscriptions(void **state)
{
    struct hub_options o;
    struct hub *h;
    struct hub_client *c;
    struct hub_filter f;
    char buf[256], err[64];
    uint64_t seq = 0;
    (void)state;

    hub_options_default(&o);
    o.max_subscriptions = 4;
    h = hub_new(&o, err, sizeof(err));
    assert_non_null(h);
    c = hub_client_add(h);
    f = filter1(HUB_COUNTRY, "FR");
    assert_int_equal(hub_client_subscribe(c, HUB_EVENTS, &f), 0);
    assert_int_equal(hub_client_subscribe(c, HUB_EVENTS, &f), 0);   /* again: nothing new */
    assert_int_equal(hub_client_subscribe(c, HUB_EVENTS, NULL), 0); /* overlaps the first */
    assert_int_equal(pub(h, HUB_EVENTS, "FR", "x"), 1);
    assert_int_equal(take(c, buf, sizeof(buf), &seq), 1); /* once, though two match */
    assert_int_equal(take(c, buf, sizeof(buf), &seq), 0);
    f = filter1(HUB_COUNTRY, "DE");
    assert_int_equal(hub_client_subscribe(c, HUB_EVENTS, &f), 0);
    assert_int_equal(hub_client_subscribe(c, HUB_SCORES, NULL), 0);
    f = filter1(HUB_COUNTRY, "US");
    assert_int_equal(hub_client_subscribe(c, HUB_EVENTS, &f), HUB_ETOOMANY);
    assert_int_equal(hub_client_subscribe(c, HUB_CHANNELS, NULL), HUB_EINVAL);
    struct hub_client *other = hub_client_add(h);
    assert_int_equal(hub_client_subscribe(other, HUB_EVENTS, NULL), 0);
    assert_int_equal(hub_subscribers(h, HUB_EVENTS), 2); /* clients, not subscriptions */
    assert_int_equal(hub_subscribers(h, HUB_SCORES), 1);
    assert_int_equal(hub_subscribers(h, HUB_METRICS), 0);
    hub_client_remove(other);
    assert_int_equal(hub_client_unsubscribe(c, HUB_EVENTS), 3);
    assert_int_equal(hub_client_unsubscribe(c, HUB_EVENTS), 0);
    assert_int_equal(hub_subscribers(h, HUB_EVENTS), 0);
    assert_int_equal(pub(h, HUB_EVENTS, "FR", "x"), 2);
    assert_int_equal(pub(h, HUB_SCORES, NULL, NULL), 3);
    assert_int_equal(take(c, buf, sizeof(buf), &seq), 1);
    assert_int_equal(seq, 3);
    assert_int_equal(hub_client_subscribe(c, HUB_EVENTS, &f), 0); /* room again */
    hub_client_remove(c);
    hub_free(h);
}

/* A slow client lags while a fast one gets all 1000; the slow one's queue
 * never holds more than 8, live messages stay within ring + queues, and its
 * notice tells 992 missed, after the 8 it has. */
static void test_slow_client(void **state)
{
    struct hub *h = mkhub(8, 0, 16);
    struct hub_client *fast = hub_client_add(h), *slow = hub_client_add(h);
    struct hub_stats st;
    char buf[256];
    uint64_t seq = 0;
    (void)state;

    hub_client_subscribe(fast, HUB_EVENTS, NULL);
    hub_client_subscribe(slow, HUB_EVENTS, NULL);
    for (uint64_t i = 1; i <= 1000; i++) {
        assert_int_equal(pub(h, HUB_EVENTS, "FR", "v"), (int64_t)i);
        assert_int_equal(take(fast, buf, sizeof(buf), &seq), 1);
        assert_int_equal(seq, i);
        hub_stats(h, &st);
        assert_true(st.live <= 16 + 8);
    }
    hub_stats(h, &st);
    assert_int_equal(st.dropped, 992);
    assert_int_equal(st.delivered, 1008);
    for (uint64_t i = 1; i <= 8; i++) {
        assert_int_equal(take(slow, buf, sizeof(buf), &seq), 1);
        assert_int_equal(seq, i);
    }
    assert_int_equal(take(slow, buf, sizeof(buf), &seq), 1);
    assert_string_equal(buf, "{\"type\":\"lagged\",\"channel\":\"events\",\"missed\":992}");
    assert_int_equal(seq, 0);
    assert_int_equal(take(slow, buf, sizeof(buf), &seq), 0);
    assert_int_equal(pub(h, HUB_EVENTS, "FR", "v"), 1001);
    assert_int_equal(take(slow, buf, sizeof(buf), &seq), 1);
    assert_int_equal(seq, 1001);
    hub_stats(h, &st);
    assert_int_equal(st.lagged, 1);
    hub_client_remove(fast);
    hub_client_remove(slow);
    hub_free(h);
}

/* The notices stand at the gap, one per channel, and count what is
 * dropped until they are taken; what is queued after the gap follows. */
static void test_lagged_position(void **state)
{
    struct hub *h = mkhub(4, 0, 0);
    struct hub_client *c = hub_client_add(h);
    char buf[256];
    uint64_t seq = 0;
    (void)state;

    hub_client_subscribe(c, HUB_EVENTS, NULL);
    hub_client_subscribe(c, HUB_SCORES, NULL);
    for (int i = 1; i <= 4; i++) {
        pub(h, HUB_EVENTS, NULL, NULL);
    }
    pub(h, HUB_EVENTS, NULL, NULL); /* 5 dropped */
    pub(h, HUB_SCORES, NULL, NULL); /* 6 dropped */
    assert_int_equal(take(c, buf, sizeof(buf), &seq), 1);
    assert_int_equal(seq, 1);
    assert_int_equal(take(c, buf, sizeof(buf), &seq), 1);
    assert_int_equal(seq, 2);
    pub(h, HUB_SCORES, NULL, NULL); /* 7 queued, after the gap */
    pub(h, HUB_SCORES, NULL, NULL); /* 8 queued */
    pub(h, HUB_SCORES, NULL, NULL); /* 9 dropped: counted in the pending notice */
    assert_int_equal(take(c, buf, sizeof(buf), &seq), 1);
    assert_int_equal(seq, 3);
    assert_int_equal(take(c, buf, sizeof(buf), &seq), 1);
    assert_int_equal(seq, 4);
    assert_int_equal(take(c, buf, sizeof(buf), &seq), 1);
    assert_string_equal(buf, "{\"type\":\"lagged\",\"channel\":\"events\",\"missed\":1}");
    assert_int_equal(take(c, buf, sizeof(buf), &seq), 1);
    assert_string_equal(buf, "{\"type\":\"lagged\",\"channel\":\"scores\",\"missed\":2}");
    assert_int_equal(take(c, buf, sizeof(buf), &seq), 1);
    assert_int_equal(seq, 7);
    assert_int_equal(take(c, buf, sizeof(buf), &seq), 1);
    assert_int_equal(seq, 8);
    assert_int_equal(take(c, buf, sizeof(buf), &seq), 0);
    hub_client_remove(c);
    hub_free(h);
}

/* The byte cap drops too, before the count cap is reached. */
static void test_byte_cap(void **state)
{
    struct hub *h = mkhub(100, 256, 0);
    struct hub_client *c = hub_client_add(h);
    char data[120], buf[512];
    uint64_t seq = 0;
    (void)state;

    memset(data, '7', sizeof(data)); /* a number of 120 digits: each text ~170 bytes */
    hub_client_subscribe(c, HUB_METRICS, NULL);
    assert_int_equal(hub_publish(h, HUB_METRICS, data, sizeof(data), NULL), 1);
    assert_int_equal(hub_publish(h, HUB_METRICS, data, sizeof(data), NULL), 2);
    assert_int_equal(take(c, buf, sizeof(buf), &seq), 1);
    assert_int_equal(seq, 1);
    assert_int_equal(take(c, buf, sizeof(buf), &seq), 1);
    assert_string_equal(buf, "{\"type\":\"lagged\",\"channel\":\"metrics\",\"missed\":1}");
    assert_int_equal(take(c, buf, sizeof(buf), &seq), 0);
    hub_client_remove(c);
    hub_free(h);
}

/* A client takes up to seq 10, goes; 20 more; it comes back subscribed the
 * same, one more is published, and it resumes: the FR ones after 10 come
 * first, in order, then the new one, none twice. */
static void test_resume_in_ring(void **state)
{
    struct hub *h = mkhub(64, 0, 64);
    struct hub_client *c = hub_client_add(h);
    struct hub_filter fr = filter1(HUB_COUNTRY, "FR");
    const char *why = "unset";
    char buf[256];
    uint64_t seq, last = 0;
    struct hub_stats st;
    (void)state;

    hub_client_subscribe(c, HUB_EVENTS, &fr);
    for (int i = 1; i <= 10; i++) {
        pub(h, HUB_EVENTS, i % 2 ? "FR" : "DE", "v");
    }
    while (take(c, buf, sizeof(buf), &seq) == 1) {
        last = seq;
    }
    assert_int_equal(last, 9);
    hub_client_remove(c);
    for (int i = 11; i <= 30; i++) {
        pub(h, i % 3 == 0 ? HUB_SCORES : HUB_EVENTS, i % 2 ? "FR" : "DE", "v");
    }
    c = hub_client_add(h);
    hub_client_subscribe(c, HUB_EVENTS, &fr);
    assert_int_equal(pub(h, HUB_EVENTS, "FR", "v"), 31);
    /* FR events in 10..30: the odd ones not a multiple of 3: 11 13 17 19 23 25 29 */
    assert_int_equal(hub_client_resume(c, hub_instance(h), last, &why), 7);
    assert_null(why);
    assert_int_equal(hub_client_resume(c, hub_instance(h), last, &why), 0); /* not twice */
    static const uint64_t want[] = {11, 13, 17, 19, 23, 25, 29, 31};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        assert_int_equal(take(c, buf, sizeof(buf), &seq), 1);
        assert_int_equal(seq, want[i]);
    }
    assert_int_equal(take(c, buf, sizeof(buf), &seq), 0);
    /* nothing missed: fine, and nothing replayed */
    assert_int_equal(hub_client_resume(c, hub_instance(h), 31, &why), 0);
    assert_int_equal(take(c, buf, sizeof(buf), &seq), 0);
    hub_stats(h, &st);
    assert_int_equal(st.resumed, 3);
    assert_int_equal(st.resyncs, 0);
    hub_client_remove(c);
    hub_free(h);
}

/* Refused resumes queue a resync notice ahead of anything queued. */
static void expect_resync(struct hub *h, uint64_t instance, uint64_t last, const char *reason)
{
    struct hub_client *c = hub_client_add(h);
    const char *why = NULL;
    char buf[256], want[128];
    uint64_t seq = 0;

    hub_client_subscribe(c, HUB_EVENTS, NULL);
    pub(h, HUB_EVENTS, NULL, NULL);
    assert_int_equal(hub_client_resume(c, instance, last, &why), -1);
    assert_non_null(why);
    assert_string_equal(why, reason);
    snprintf(want, sizeof(want), "{\"type\":\"resync\",\"reason\":\"%s\"}", reason);
    assert_int_equal(take(c, buf, sizeof(buf), &seq), 1);
    assert_string_equal(buf, want);
    assert_int_equal(take(c, buf, sizeof(buf), &seq), 1); /* then the stream goes on */
    assert_int_equal(seq, hub_seq(h));
    hub_client_remove(c);
}

static void test_resume_refused(void **state)
{
    struct hub *h = mkhub(64, 0, 4), *other = mkhub(64, 0, 4);
    struct hub_client *c;
    const char *why;
    struct hub_stats st;
    char buf[256];
    uint64_t seq = 0;
    (void)state;

    for (int i = 0; i < 10; i++) {
        pub(h, HUB_EVENTS, NULL, NULL);
    }
    /* the ring holds 7..10; the next publish (in expect_resync) 8..11 */
    expect_resync(h, hub_instance(other), 10, "instance");
    expect_resync(h, hub_instance(h), 2, "too_old");
    expect_resync(h, hub_instance(h), 99, "ahead");
    expect_resync(h, hub_instance(h) ^ 1, hub_seq(h), "instance");
    /* the oldest the ring can serve: after 13 the ring is 11..14 */
    c = hub_client_add(h);
    hub_client_subscribe(c, HUB_EVENTS, NULL);
    assert_int_equal(hub_client_resume(c, hub_instance(h), hub_seq(h) - 4, &why), 4);
    assert_int_equal(hub_client_resume(c, hub_instance(h), hub_seq(h) - 5, &why), -1);
    assert_string_equal(why, "too_old");
    hub_client_remove(c);

    /* late: its writer took a newer one already, so the replay would be out
     * of order */
    c = hub_client_add(h);
    hub_client_subscribe(c, HUB_EVENTS, NULL);
    pub(h, HUB_EVENTS, NULL, NULL);
    assert_int_equal(take(c, buf, sizeof(buf), &seq), 1);
    assert_int_equal(hub_client_resume(c, hub_instance(h), seq - 2, &why), -1);
    assert_string_equal(why, "late");
    hub_client_remove(c);
    hub_stats(h, &st);
    assert_int_equal(st.resyncs, 6);
    hub_free(h);
    hub_free(other);

    /* too many for its queue */
    h = mkhub(2, 0, 16);
    for (int i = 0; i < 10; i++) {
        pub(h, HUB_EVENTS, NULL, NULL);
    }
    expect_resync(h, hub_instance(h), 5, "too_many");
    hub_free(h);
}

struct waiter {
    struct hub_client *c;
    int timeout_ms;
    int rc;
    uint64_t seq;
};

static void *waiter_run(void *arg)
{
    struct waiter *w = arg;
    struct hub_out out;

    w->rc = hub_client_next(w->c, w->timeout_ms, &out);
    w->seq = out.seq;
    hub_out_release(&out);
    return NULL;
}

static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_wait_and_wake(void **state)
{
    struct hub *h = mkhub(8, 0, 8);
    struct hub_client *c = hub_client_add(h);
    struct waiter w = {c, -1, 99, 0};
    struct hub_out out;
    pthread_t t;
    long long t0;
    (void)state;

    hub_client_subscribe(c, HUB_EVENTS, NULL);
    t0 = now_ms();
    assert_int_equal(hub_client_next(c, 50, &out), 0);
    assert_true(now_ms() - t0 >= 49);
    assert_null(out.text);

    /* a publish wakes a writer waiting forever */
    assert_int_equal(pthread_create(&t, NULL, waiter_run, &w), 0);
    struct timespec pause = {0, 20 * 1000000L};
    nanosleep(&pause, NULL);
    pub(h, HUB_EVENTS, NULL, NULL);
    pthread_join(t, NULL);
    assert_int_equal(w.rc, 1);
    assert_int_equal(w.seq, 1);

    /* wake unblocks it, and it stays closed */
    w.rc = 99;
    assert_int_equal(pthread_create(&t, NULL, waiter_run, &w), 0);
    nanosleep(&pause, NULL);
    hub_client_wake(c);
    pthread_join(t, NULL);
    assert_int_equal(w.rc, HUB_ECLOSED);
    pub(h, HUB_EVENTS, NULL, NULL);
    assert_int_equal(hub_client_next(c, 0, &out), HUB_ECLOSED);
    hub_client_remove(c);
    hub_free(h);
}

/* ---- concurrency: 1,000 clients ---- */

enum { CC_CLIENTS = 1000, CC_TAKERS = 8, CC_BLOCKING = 16, CC_EVENTS = 3000, CC_METRICS = 300 };

struct cc {
    struct hub *h;
    struct hub_client *c[CC_CLIENTS];
    uint64_t got[CC_CLIENTS], missed[CC_CLIENTS], last[CC_CLIENTS];
    atomic_int publishing;
    atomic_int bad;
    int who; /* per taker thread */
};

/* Takes one frame of client i; checks seq rises and counts. Returns rc. */
static int cc_take(struct cc *cc, int i, int timeout_ms)
{
    struct hub_out out;
    int rc = hub_client_next(cc->c[i], timeout_ms, &out);
    unsigned long long n = 0;

    if (rc != 1) {
        return rc;
    }
    if (out.seq == 0) {
        static const char lagged[] = "{\"type\":\"lagged\",";
        const char *p = strstr(out.text, "\"missed\":");
        char *end = NULL;

        n = p != NULL ? strtoull(p + 9, &end, 10) : 0;
        if (strncmp(out.text, lagged, sizeof(lagged) - 1) != 0 || n == 0 || end == NULL ||
            strcmp(end, "}") != 0) {
            atomic_fetch_add(&cc->bad, 1);
        }
        cc->missed[i] += n;
    } else {
        if (out.seq <= cc->last[i] || out.text[out.len - 1] != '}') {
            atomic_fetch_add(&cc->bad, 1);
        }
        cc->last[i] = out.seq;
        cc->got[i]++;
    }
    hub_out_release(&out);
    return rc;
}

struct cc_taker {
    struct cc *cc;
    int first, n;
};

/* Polls its share of clients until the publishers stop and all is taken. */
static void *cc_taker_run(void *arg)
{
    struct cc_taker *t = arg;

    for (;;) {
        int stopped = !atomic_load(&t->cc->publishing), took = 0;

        for (int i = t->first; i < t->first + t->n; i++) {
            took += cc_take(t->cc, i, 0) == 1;
        }
        if (stopped && took == 0) {
            return NULL;
        }
    }
}

/* One writer thread per client, blocking with a timeout, until woken. */
static void *cc_blocking_run(void *arg)
{
    struct cc_taker *t = arg;

    while (cc_take(t->cc, t->first, 10) != HUB_ECLOSED) {
    }
    return NULL;
}

static void *cc_pub_events(void *arg)
{
    struct cc *cc = arg;

    for (int i = 0; i < CC_EVENTS; i++) {
        struct hub_attrs a = {{NULL}};

        a.v[HUB_COUNTRY] = i % 2 ? "FR" : "DE";
        if (hub_publish(cc->h, HUB_EVENTS, "{\"e\":1}", 7, &a) <= 0) {
            atomic_fetch_add(&cc->bad, 1);
        }
    }
    return NULL;
}

static void *cc_pub_metrics(void *arg)
{
    struct cc *cc = arg;

    for (int i = 0; i < CC_METRICS; i++) {
        if (hub_publish(cc->h, HUB_METRICS, "{\"m\":[1,2,3]}", 13, NULL) <= 0) {
            atomic_fetch_add(&cc->bad, 1);
        }
    }
    return NULL;
}

/* Clients come and go while the others are served. */
static void *cc_churn(void *arg)
{
    struct cc *cc = arg;

    for (int i = 0; i < 300; i++) {
        struct hub_client *c = hub_client_add(cc->h);
        struct hub_out out;

        hub_client_subscribe(c, HUB_EVENTS, NULL);
        if (hub_client_next(c, 1, &out) == 1) {
            hub_out_release(&out);
        }
        hub_client_remove(c);
    }
    return NULL;
}

static void test_concurrent(void **state)
{
    struct cc *cc = calloc(1, sizeof(*cc));
    struct cc_taker tk[CC_TAKERS + CC_BLOCKING];
    pthread_t tt[CC_TAKERS + CC_BLOCKING], pe, pm, ch;
    struct hub_filter fr = filter1(HUB_COUNTRY, "FR");
    struct hub_stats st;
    int per = (CC_CLIENTS - CC_BLOCKING) / CC_TAKERS;
    (void)state;

    assert_non_null(cc);
    cc->h = mkhub(64, 0, 256);
    atomic_init(&cc->publishing, 1);
    atomic_init(&cc->bad, 0);
    for (int i = 0; i < CC_CLIENTS; i++) {
        cc->c[i] = hub_client_add(cc->h);
        hub_client_subscribe(cc->c[i], HUB_METRICS, NULL);
        hub_client_subscribe(cc->c[i], HUB_EVENTS, i % 2 ? &fr : NULL);
    }
    for (int t = 0; t < CC_TAKERS; t++) {
        tk[t] = (struct cc_taker){cc, t * per, per};
        assert_int_equal(pthread_create(&tt[t], NULL, cc_taker_run, &tk[t]), 0);
    }
    for (int b = 0; b < CC_BLOCKING; b++) {
        tk[CC_TAKERS + b] = (struct cc_taker){cc, CC_TAKERS * per + b, 1};
        assert_int_equal(
            pthread_create(&tt[CC_TAKERS + b], NULL, cc_blocking_run, &tk[CC_TAKERS + b]), 0);
    }
    assert_int_equal(pthread_create(&pe, NULL, cc_pub_events, cc), 0);
    assert_int_equal(pthread_create(&pm, NULL, cc_pub_metrics, cc), 0);
    assert_int_equal(pthread_create(&ch, NULL, cc_churn, cc), 0);
    pthread_join(pe, NULL);
    pthread_join(pm, NULL);
    pthread_join(ch, NULL);
    atomic_store(&cc->publishing, 0);
    for (int t = 0; t < CC_TAKERS; t++) {
        pthread_join(tt[t], NULL);
    }
    /* the blocking writers drain, then are woken as on close */
    struct timespec pause = {0, 100 * 1000000L};
    nanosleep(&pause, NULL);
    for (int b = 0; b < CC_BLOCKING; b++) {
        hub_client_wake(cc->c[CC_TAKERS * per + b]);
        pthread_join(tt[CC_TAKERS + b], NULL);
    }
    assert_int_equal(atomic_load(&cc->bad), 0);
    hub_stats(cc->h, &st);
    assert_int_equal(st.published, CC_EVENTS + CC_METRICS);
    assert_int_equal(st.clients, CC_CLIENTS);
    print_message("concurrent: %" PRIu64 " queued, %" PRIu64 " dropped, %" PRIu64
                  " lagged notices\n",
                  st.delivered, st.dropped, st.lagged);
    for (int i = 0; i < CC_CLIENTS; i++) {
        uint64_t want = CC_METRICS + (i % 2 ? CC_EVENTS / 2 : CC_EVENTS);

        /* a blocking writer may be woken with notices still due: at most
         * what its queue holds is unaccounted for */
        if (i >= CC_TAKERS * per) {
            assert_true(cc->got[i] + cc->missed[i] <= want);
            assert_true(cc->got[i] + cc->missed[i] + 64 >= want);
        } else {
            assert_int_equal(cc->got[i] + cc->missed[i], want);
        }
        hub_client_remove(cc->c[i]);
    }
    hub_stats(cc->h, &st);
    assert_int_equal(st.live, 256); /* the ring's only */
    hub_free(cc->h);
    free(cc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_options_refused),
        cmocka_unit_test(test_message_text),
        cmocka_unit_test(test_fanout_filters),
        cmocka_unit_test(test_filter_missing_field),
        cmocka_unit_test(test_subscriptions),
        cmocka_unit_test(test_slow_client),
        cmocka_unit_test(test_lagged_position),
        cmocka_unit_test(test_byte_cap),
        cmocka_unit_test(test_resume_in_ring),
        cmocka_unit_test(test_resume_refused),
        cmocka_unit_test(test_wait_and_wake),
        cmocka_unit_test(test_concurrent),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
